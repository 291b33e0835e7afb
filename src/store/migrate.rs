//! Schema migrations, forward-only. `MIGRATIONS[i]` takes the database from
//! `user_version = i` to `i + 1`; each runs in its own transaction. A database newer than
//! this binary is refused rather than guessed at, and so is a database that is not ours
//! (`check_ours`). A failing step is reported as one sentence, never the schema's text.

use rusqlite::Connection;
use std::path::Path;

/// Version 1 is `schema.sql`, 2 `schema_v2.sql`. Append later steps; never edit a released one.
const MIGRATIONS: &[&str] = &[include_str!("../../schema.sql"), include_str!("../../schema_v2.sql")];

pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

pub fn migrate(conn: &mut Connection) -> Result<(), String> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| e.to_string())?;
    if version > current_version() {
        return Err(format!(
            "it was made by a newer royal-care (schema {version}, this one knows {}); upgrade royal-care",
            current_version()
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(|e| e.to_string())?;
        tx.execute_batch(sql).map_err(|e| {
            format!(
                "its schema (version {version}) does not match its tables ({}); it is damaged or was changed by hand: restore a backup",
                short(&e)
            )
        })?;
        if i == 0 {
            new_epoch(&tx).map_err(|e| e.to_string())?;
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Refuses a file that is not a royal-care database and not new: another application's
/// SQLite file (tables, but no `meta` table of ours), or no SQLite file at all. Runs
/// before anything is written, so the refused file is left exactly as it was.
pub fn check_ours(conn: &Connection, path: &Path) -> Result<(), String> {
    let look = || -> rusqlite::Result<(i64, i64, bool)> {
        let version = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let (tables, meta) = conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(name = 'meta'), 0) FROM sqlite_schema WHERE type = 'table'",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? > 0)),
        )?;
        Ok((version, tables, meta))
    };
    let not_ours = || {
        format!(
            "{} is another program's file, not a royal-care database; nothing in it was changed: choose another {}.",
            path.display(),
            crate::config::named("db")
        )
    };
    match look() {
        Ok((0, 0, _)) => Ok(()),
        Ok((_, _, true)) => Ok(()),
        Ok(_) => Err(not_ours()),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => Err(not_ours()),
        Err(e) => Err(format!("cannot read the database at {}: {}", path.display(), short(&e))),
    }
}

/// SQLite's message alone: never the SQL it came from (a whole schema file).
fn short(e: &rusqlite::Error) -> String {
    let msg = match e {
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        other => other.to_string(),
    };
    msg.lines().next().unwrap_or("").to_string()
}

/// Gives the database's event stream a new random id (at creation and in every backup).
pub fn new_epoch(conn: &Connection) -> rusqlite::Result<()> {
    use rand::RngCore;
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let epoch: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('epoch', ?1)", [epoch])?;
    Ok(())
}

/// The current epoch of the database's event stream.
pub fn epoch(conn: &Connection) -> rusqlite::Result<String> {
    conn.query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| r.get(0))
}
