//! `royal-care import-django`: the clinic's Django database (its SQLite file, or the JSON
//! of `manage.py dumpdata` from any database) into a NEW royal-care database, with ids
//! kept and logins intact (password hashes and live knox tokens as they are; see
//! docs/MIGRATION.md for every mapping decision). `source` reads either form into one
//! shape, `fields` says what a value means, `rows` maps each table. The file is built
//! under a temporary name beside the target in one transaction and only then linked into
//! place, so a failed import leaves nothing behind and an existing file is never touched.

mod fields;
mod rows;
mod source;

use rusqlite::Connection;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How many rows of one table came across, of how many.
#[derive(Debug, Default, Clone, Copy)]
pub struct Count {
    pub imported: usize,
    pub of: usize,
}

/// What an import did: per table counts and one line per row skipped or changed.
#[derive(Debug, Default)]
pub struct Summary {
    pub source_kind: &'static str,
    pub counts: Vec<(&'static str, Count)>,
    pub notes: Vec<String>,
}

impl Summary {
    pub fn count(&self, table: &str) -> Count {
        self.counts.iter().find(|(t, _)| *t == table).map(|(_, c)| *c).unwrap_or_default()
    }

    /// The report printed after an import (never a hash or a token).
    pub fn render(&self, source: &Path, db: &Path) -> String {
        let mut s = format!("Imported {} ({}) into {}:\n", source.display(), self.source_kind, db.display());
        for (table, c) in &self.counts {
            let _ = writeln!(s, "  {table:<15} {:>6} of {}", c.imported, c.of);
        }
        if self.notes.is_empty() {
            s.push_str("Every row came across unchanged.\n");
        } else {
            let _ = writeln!(s, "Rows skipped or changed ({}):", self.notes.len());
            for n in &self.notes {
                let _ = writeln!(s, "  - {n}");
            }
        }
        s
    }
}

/// Imports `source` into the new file `db`; `token_ttl_secs` is the life given to knox
/// tokens that had no expiry.
pub fn run(source: &Path, db: &Path, token_ttl_secs: u64) -> Result<Summary, String> {
    if db.exists() {
        return Err(format!(
            "{} already exists; the import only writes a new database, so give another --db or move that file away.",
            db.display()
        ));
    }
    if token_ttl_secs == 0 {
        return Err("ROYAL_CARE_TOKEN_TTL_SECS must be above zero.".into());
    }
    let src = source::read(source)?;
    let tmp = temp_beside(db)?;
    let built = build(&src, &tmp, token_ttl_secs);
    let placed = built.and_then(|summary| place(&tmp, db).map(|()| summary));
    if placed.is_err() {
        remove_db_files(&tmp);
    }
    placed
}

/// A fresh name in `db`'s folder (same file system, so the final link is atomic).
fn temp_beside(db: &Path) -> Result<PathBuf, String> {
    let dir = db.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(format!("the folder {} does not exist; create it or give another --db.", dir.display()));
    }
    let name = db.file_name().and_then(|n| n.to_str()).unwrap_or("royal-care.db");
    let tmp = dir.join(format!(".{name}.import-{}.tmp", std::process::id()));
    remove_db_files(&tmp);
    Ok(tmp)
}

fn build(src: &source::Source, tmp: &Path, token_ttl_secs: u64) -> Result<Summary, String> {
    let fail = |e: rusqlite::Error| format!("cannot write the new database {}: {e}", tmp.display());
    let mut conn = Connection::open(tmp).map_err(fail)?;
    crate::store::migrate::migrate(&mut conn)
        .map_err(|e| format!("cannot prepare the new database {}: {e}", tmp.display()))?;
    conn.pragma_update(None, "foreign_keys", true).map_err(fail)?;
    let tx = conn.transaction().map_err(fail)?;
    let mut summary = rows::import_all(&tx, src, token_ttl_secs).map_err(fail)?;
    // A foreign key the mapping missed would surface here, not in the server later.
    let broken: i64 = tx.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).map_err(fail)?;
    if broken > 0 {
        return Err(format!("the import produced {broken} broken reference(s); nothing was written."));
    }
    tx.commit().map_err(fail)?;
    conn.close().map_err(|(_, e)| fail(e))?;
    summary.source_kind = src.kind;
    for table in &src.missing {
        summary.notes.push(format!("the source has no {table} table; nothing imported from it."));
    }
    Ok(summary)
}

/// Puts the finished file at `db` without ever replacing one that appeared meanwhile: a
/// hard link fails if the name is taken.
fn place(tmp: &Path, db: &Path) -> Result<(), String> {
    match std::fs::hard_link(tmp, db) {
        Ok(()) => {
            let _ = std::fs::remove_file(tmp);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(format!("{} appeared while importing; nothing was changed. Give another --db.", db.display()))
        }
        // A file system without hard links: check, then rename.
        Err(_) if !db.exists() => std::fs::rename(tmp, db)
            .map_err(|e| format!("cannot move the new database into place at {}: {e}", db.display())),
        Err(e) => Err(format!("cannot put the new database at {}: {e}", db.display())),
    }
}

fn remove_db_files(path: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}
