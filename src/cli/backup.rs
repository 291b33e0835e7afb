//! `royal-care backup DEST [--keep N]` and `royal-care restore FILE`. DEST an existing
//! directory: the copy is `DEST/royal-care-YYYYMMDD-HHMMSS.db` (UTC) and `--keep N`
//! deletes the oldest such files beyond N; DEST anything else: the copy is that file,
//! which must not exist (the form cron lines of earlier versions use). Restore takes
//! the serving lock, so it refuses while a server serves the database and no server
//! starts halfway through. The copying and checking live in `store::backup`.

use crate::store::backup;
use crate::store::lock::{shown, LockError, ServingLock};
use std::path::Path;

pub fn run(db: &Path, dest: &Path, keep: Option<usize>) -> Result<(), String> {
    if keep == Some(0) {
        return Err("--keep 0 would delete the backup just written; give --keep 1 or more.".into());
    }
    let store = super::open_existing(db)?;
    let now = chrono::Utc::now();
    if !dest.is_dir() {
        if keep.is_some() {
            return Err(format!(
                "--keep rotates backups in a directory, and {} is not one; create it (mkdir -p) or leave out --keep.",
                dest.display()
            ));
        }
        store.backup_to(dest, now)?;
        println!("Backed up {} to {}.", db.display(), dest.display());
        return Ok(());
    }
    let file = dest.join(backup::timestamped_name(now));
    store.backup_to(&file, now).map_err(|e| {
        if e.contains("already exists") {
            format!("{} already exists (one backup a second); run it again in a second.", file.display())
        } else {
            e
        }
    })?;
    println!("Backed up {} to {}.", db.display(), file.display());
    if let Some(keep) = keep {
        for old in backup::rotate(dest, keep)? {
            println!("Deleted the old backup {old} (keeping the newest {keep}).");
        }
    }
    Ok(())
}

pub fn restore(db: &Path, file: &Path) -> Result<(), String> {
    let _lock = ServingLock::try_acquire(db).map_err(|e| match e {
        LockError::Held(pid) => format!(
            "a royal-care server is serving {}{}; stop it first (sudo systemctl stop royal-care), then restore.",
            shown(db),
            pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
        ),
        LockError::Io(e) => format!("{e}; check that the database's directory exists and this user may write to it."),
    })?;
    let kept = backup::restore(file, db, chrono::Utc::now())?;
    match kept {
        Some(k) => println!(
            "Restored {} into {}; the previous database is kept as {}.",
            file.display(),
            db.display(),
            k.display()
        ),
        None => println!("Restored {} into {}.", file.display(), db.display()),
    }
    println!("Start the server again; connected browsers reload their data.");
    Ok(())
}
