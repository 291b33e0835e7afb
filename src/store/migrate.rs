//! Schema migrations, forward-only. `MIGRATIONS[i]` takes the database from
//! `user_version = i` to `i + 1`; each runs in its own transaction. A database newer than
//! this binary is refused rather than guessed at.

use rusqlite::Connection;

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
        tx.execute_batch(sql).map_err(|e| format!("migration {} failed: {e}", i + 1))?;
        if i == 0 {
            new_epoch(&tx).map_err(|e| e.to_string())?;
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
    }
    Ok(())
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
