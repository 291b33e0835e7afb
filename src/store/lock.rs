//! The serving lock: one royal-care process serves a database at a time. `serve` (and
//! `restore`, which must not run under a server) hold an exclusive `flock` on `<db>.lock`
//! for their whole life. The kernel drops it when the process ends in any way, kill -9
//! and power cut included, so a stale lock never blocks a restart; `flock` works on the
//! Pi's local ext4. A separate file, not the database itself: `restore` renames the
//! database away and must keep holding the lock while it does.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Held while alive; dropping it (or the process ending) releases the lock.
#[derive(Debug)]
pub struct ServingLock {
    _file: File,
}

/// Why the lock could not be taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it; the pid it wrote, if readable.
    Held(Option<u32>),
    /// The lock file could not be created or locked (missing directory, permissions).
    Io(String),
}

/// The lock file of the database at `db`: `<db>.lock` beside it.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl ServingLock {
    /// Takes the lock of `db` without waiting, and writes this process's id into it (so
    /// the refusal can name the process that holds it).
    pub fn try_acquire(db: &Path) -> Result<ServingLock, LockError> {
        let path = lock_path(db);
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut file = opts.open(&path).map_err(|e| LockError::Io(format!("cannot create {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Held(text.trim().parse().ok()));
            }
            Err(TryLockError::Error(e)) => return Err(LockError::Io(format!("cannot lock {}: {e}", path.display()))),
        }
        // Best effort: the pid only improves the message; the lock is what counts.
        let _ = file.set_len(0);
        let _ = file.seek(SeekFrom::Start(0));
        let _ = write!(file, "{}", std::process::id());
        let _ = file.flush();
        Ok(ServingLock { _file: file })
    }

    /// `try_acquire` for `serve`, with the refusal as the one sentence a person sees.
    pub fn for_serving(db: &Path) -> Result<ServingLock, String> {
        super::check_folder(db)?;
        Self::try_acquire(db).map_err(|e| match e {
            LockError::Held(pid) => format!(
                "another royal-care is already serving {}{}; stop it first or choose another --db.",
                shown(db),
                pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
            ),
            LockError::Io(e) => {
                format!("{e}; check that the database's directory exists and this user may write to it.")
            }
        })
    }
}

/// The database's path as a person finds it: absolute when it can be made so.
pub fn shown(db: &Path) -> String {
    std::path::absolute(db).unwrap_or_else(|_| db.to_path_buf()).display().to_string()
}
