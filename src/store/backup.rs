//! Backups and restores of the database file. A backup is a consistent copy (`VACUUM
//! INTO`, safe while the server writes) written under a temporary name and renamed into
//! place, so a half-written copy never looks like a backup. Backups into a directory get
//! timestamped names (`royal-care-YYYYMMDD-HHMMSS.db`, UTC, so names sort as times) and
//! rotation deletes only files of exactly that shape. The time of the last backup is kept
//! in the source database's `meta` table (`last_backup_at`), written through SQLite's lock
//! so the `backup` command may run in another process while the server serves.
//! A restore checks the file (integrity, ours, not newer than this binary), keeps the old
//! database as `<db>.before-restore-<time>`, and gives the restored one a new epoch so
//! live clients resync instead of trusting sequence numbers of another history.

use super::{configure, migrate};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// The `meta` key holding the time of the last backup (ISO, see `time`).
const LAST_BACKUP: &str = "last_backup_at";

/// The file name a backup taken at `at` gets inside a backup directory.
pub fn timestamped_name(at: DateTime<Utc>) -> String {
    format!("royal-care-{}.db", at.format("%Y%m%d-%H%M%S"))
}

/// Is `name` one of ours in a backup directory (the only files rotation may delete)?
pub fn is_timestamped_name(name: &str) -> bool {
    let Some(stamp) = name.strip_prefix("royal-care-").and_then(|r| r.strip_suffix(".db")) else { return false };
    let b = stamp.as_bytes();
    b.len() == 15 && b[8] == b'-' && b.iter().enumerate().all(|(i, c)| i == 8 || c.is_ascii_digit())
}

/// `<path><suffix>` (e.g. `x.db` + `-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Writes a consistent copy of the database at `src` to `dest` (which must not exist)
/// with a new epoch, records `at` as the last backup in both, and returns nothing.
pub fn write_copy(src: &Path, dest: &Path, at: DateTime<Utc>) -> Result<(), String> {
    if dest.exists() {
        return Err(format!("{} already exists; choose a new file name.", dest.display()));
    }
    let name = dest
        .file_name()
        .ok_or_else(|| format!("{} is not a file name; give a file or a directory.", dest.display()))?;
    let partial = dest.with_file_name(format!(".{}.partial", name.to_string_lossy()));
    let _ = std::fs::remove_file(&partial);
    let partial_str = partial.to_str().ok_or("the backup path is not valid UTF-8; choose another.")?;
    let fail = |e: rusqlite::Error| {
        let _ = std::fs::remove_file(&partial);
        format!("cannot write the backup to {}: {e}", dest.display())
    };
    let stamp = crate::time::iso(at);
    // Not a pooled reader: those are query_only, which VACUUM INTO refuses.
    let source = Connection::open(src).and_then(|c| configure(&c).map(|_| c)).map_err(fail)?;
    source.execute("VACUUM INTO ?1", [partial_str]).map_err(fail)?;
    {
        let copy = Connection::open(&partial).map_err(fail)?;
        migrate::new_epoch(&copy).map_err(fail)?;
        record(&copy, &stamp).map_err(fail)?;
    }
    // It holds password hashes: only the owner may read it, whatever the caller's umask.
    private(&partial).map_err(|e| format!("cannot write the backup to {}: {e}", dest.display()))?;
    std::fs::rename(&partial, dest).map_err(|e| format!("cannot write the backup to {}: {e}", dest.display()))?;
    // The copy exists; recording it in the source is what `/health/` reports.
    record(&source, &stamp)
        .map_err(|e| format!("the backup is written, but recording it in {} failed: {e}", src.display()))
}

#[cfg(unix)]
fn private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn private(_: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Gives `new` the owner and mode of `old`, so a restore run as root (by mistake, instead
/// of as the service's user) leaves a database the service can still open. Best effort:
/// an unprivileged caller cannot chown to someone else and owns both files anyway.
#[cfg(unix)]
fn same_owner(old: &Path, new: &Path) {
    use std::os::unix::fs::MetadataExt;
    if let Ok(m) = std::fs::metadata(old) {
        let _ = std::os::unix::fs::chown(new, Some(m.uid()), Some(m.gid()));
        let _ = std::fs::set_permissions(new, m.permissions());
    }
}

#[cfg(not(unix))]
fn same_owner(_: &Path, _: &Path) {}

fn record(c: &Connection, stamp: &str) -> rusqlite::Result<()> {
    c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", [LAST_BACKUP, stamp]).map(|_| ())
}

/// When the database was last backed up (`None`: never, or before this was recorded).
pub fn last_backup(c: &Connection) -> rusqlite::Result<Option<DateTime<Utc>>> {
    use rusqlite::OptionalExtension;
    let v: Option<String> =
        c.query_row("SELECT value FROM meta WHERE key = ?1", [LAST_BACKUP], |r| r.get(0)).optional()?;
    Ok(v.as_deref().and_then(crate::time::parse_iso))
}

/// Deletes the oldest timestamped backups in `dir` beyond the newest `keep`; returns
/// the names deleted. Other files in the directory are never touched.
pub fn rotate(dir: &Path, keep: usize) -> Result<Vec<String>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut ours: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_timestamped_name(n))
        .collect();
    ours.sort();
    let excess = ours.len().saturating_sub(keep);
    let old: Vec<String> = ours.drain(..excess).collect();
    for name in &old {
        std::fs::remove_file(dir.join(name)).map_err(|e| format!("cannot delete the old backup {name}: {e}"))?;
    }
    Ok(old)
}

/// Checks that `file` is a sound royal-care database this binary can open; the error
/// is the sentence a person sees.
pub fn check_restorable(file: &Path) -> Result<(), String> {
    if !file.is_file() {
        return Err(format!(
            "there is no backup file at {}; give the path of a royal-care-….db backup.",
            file.display()
        ));
    }
    let not_ours =
        || format!("{} is not a royal-care database; give the path of a royal-care-….db backup.", file.display());
    let c = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|_| not_ours())?;
    let damaged = || format!("{} is damaged (its integrity check failed); restore another backup.", file.display());
    let version: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|_| not_ours())?;
    let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|_| damaged())?;
    if check != "ok" {
        return Err(damaged());
    }
    if version < 1 || migrate::epoch(&c).is_err() || c.prepare("SELECT 1 FROM appointments LIMIT 1").is_err() {
        return Err(not_ours());
    }
    if version > migrate::current_version() {
        return Err(format!(
            "{} was made by a newer royal-care (schema {version}, this one knows {}); upgrade royal-care before restoring it.",
            file.display(),
            migrate::current_version()
        ));
    }
    Ok(())
}

/// Replaces the database at `db` with a copy of `file` (checked first), keeping the old
/// one as `<db>.before-restore-<time>`; returns that path (`None` when there was no
/// database yet). The caller holds the serving lock, so no server has the file open.
pub fn restore(file: &Path, db: &Path, at: DateTime<Utc>) -> Result<Option<PathBuf>, String> {
    check_restorable(file)?;
    let incoming = with_suffix(db, ".restoring");
    let _ = std::fs::remove_file(&incoming);
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        let _ = std::fs::remove_file(with_suffix(db, ".restoring"));
        format!("cannot {what}: {e}; the database at {} is unchanged.", db.display())
    };
    let src =
        Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| fail("read the backup", &e))?;
    let incoming_str = incoming.to_str().ok_or("the database path is not valid UTF-8; choose another.")?;
    src.execute("VACUUM INTO ?1", [incoming_str]).map_err(|e| fail("copy the backup", &e))?;
    {
        let mut copy = Connection::open(&incoming).map_err(|e| fail("open the copy", &e))?;
        migrate::migrate(&mut copy).map_err(|e| fail("bring the copy to this version", &e))?;
        // Another history than the one clients followed, and maybe restored before.
        migrate::new_epoch(&copy).map_err(|e| fail("give the copy a new epoch", &e))?;
    }
    let _ = private(&incoming);
    same_owner(db, &incoming);
    let kept = if db.exists() {
        // Fold a WAL left by a killed server into the file, so the kept copy is whole.
        let old = Connection::open(db).map_err(|e| fail("open the current database", &e))?;
        old.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| fail("checkpoint the current database", &e))?;
        drop(old);
        let kept = with_suffix(db, &format!(".before-restore-{}", at.format("%Y%m%d-%H%M%S")));
        std::fs::rename(db, &kept).map_err(|e| fail("set the current database aside", &e))?;
        for side in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(with_suffix(db, side));
        }
        Some(kept)
    } else {
        None
    };
    std::fs::rename(&incoming, db)
        .map_err(|e| format!("cannot move the restored copy into place: {e}; it is at {}.", incoming.display()))?;
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_timestamped_names_are_rotated() {
        let at = DateTime::parse_from_rfc3339("2026-12-05T09:01:02Z").unwrap().with_timezone(&Utc);
        assert_eq!(timestamped_name(at), "royal-care-20261205-090102.db");
        assert!(is_timestamped_name("royal-care-20261205-090102.db"));
        for other in [
            "royal-care.db",
            "royal-care-20261205.db",
            "royal-care-20261205-090102.db-wal",
            "x-20261205-090102.db",
            "royal-care-2026120a-090102.db",
        ] {
            assert!(!is_timestamped_name(other), "{other}");
        }
    }
}
