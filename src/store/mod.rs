//! The SQLite file: opening it, migrating it, and the one rule for who writes.
//!
//! **Writes** go through `Store::write`: one connection behind a mutex, each call one
//! `BEGIN IMMEDIATE` transaction. A change and its `events` rows commit together; right
//! after the commit, still holding the writer lock, the events are put on the commit feed
//! (a bounded channel the store owns; its receiver is handed out once, to the hub), so
//! the hub receives them in `seq` order. Putting a batch on the feed never blocks the
//! writer: when the feed is full the batch is dropped, and the hub finds those events in
//! the log instead. Other processes (the CLI's
//! `user deactivate`) write through their own `Store`; `BEGIN IMMEDIATE` plus the busy
//! timeout serialise them with the server, and the hub finds their events in the log.
//! **Reads** go through `Store::read`: a small pool of `query_only` connections that
//! never block the writer (WAL). `Store::read_at` reads in one transaction and says
//! which state of the file it saw (`ReadVersion`), so bytes built from it can be reused
//! while nothing has changed (`derived`).
//!
//! Durability: WAL with `synchronous=FULL`, so a commit that returned has reached the
//! disk and a 2xx answer survives a power cut. A clinic writes little; the cost is
//! about 0.15 ms a commit. This process's commits never checkpoint (copy the WAL into
//! the database file, ~1,000 pages and an fsync, which SQLite otherwise does inside
//! every ~100th commit): the maintenance thread does it every 10 s from a reader
//! (`checkpoint_passive`), so no request waits for it.

pub mod backup;
pub mod derived;
pub mod lock;
pub mod migrate;
pub mod tokens;
pub mod users;

use crate::events::{Event, EventDraft};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// How long a writer waits for another process's write lock before giving up (503).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Read connections kept open for reuse; more are opened under load and closed after.
const POOLED_READERS: usize = 8;

/// Committed batches waiting on the feed (see module doc).
const FEED_BATCHES: usize = 4096;

/// The receiving end of the commit feed: each commit's events, in `seq` order.
pub struct CommitFeed {
    pub events: Receiver<Vec<Event>>,
    /// A sender on the same channel, for its owner to wake its own receiver (an empty
    /// batch) without waiting for a commit.
    waker: SyncSender<Vec<Event>>,
}

impl CommitFeed {
    /// Something that wakes a receiver waiting on `events` with an empty batch.
    pub fn waker(&self) -> FeedWaker {
        FeedWaker(self.waker.clone())
    }
}

/// Wakes the receiver of a `CommitFeed` (see `CommitFeed::waker`).
pub struct FeedWaker(SyncSender<Vec<Event>>);

impl FeedWaker {
    /// Sends an empty batch; never blocks (a full feed wakes its receiver anyway).
    pub fn wake(&self) {
        let _ = self.0.try_send(Vec::new());
    }
}

pub struct Store {
    path: PathBuf,
    /// The only connection that writes in this process. Held for one transaction at a
    /// time; nothing slow (network, hashing) happens while it is held.
    writer: Mutex<Connection>,
    /// Idle read connections, each with its number (`ReadVersion`).
    readers: Mutex<Vec<(u64, Connection)>>,
    /// The number the next read connection opened gets: never reused.
    next_reader: AtomicU64,
    /// Set once the feed's receiver was handed out; until then commits feed nobody.
    feed: OnceLock<SyncSender<Vec<Event>>>,
    /// Transactions this process has committed (see `commits`).
    commits: AtomicU64,
    /// The last write that changed or tried to change something failed for want of disk
    /// space (see `disk_full`).
    disk_full: AtomicBool,
}

/// What a write may fail with: it says whether the disk was full, so the store can
/// report it (`Store::disk_full`) whichever statement hit it.
pub trait WriteError: From<rusqlite::Error> {
    fn is_disk_full(&self) -> bool;
}

impl WriteError for rusqlite::Error {
    fn is_disk_full(&self) -> bool {
        self.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
    }
}

impl WriteError for crate::error::ApiError {
    fn is_disk_full(&self) -> bool {
        self.code == crate::error::ErrorCode::DiskFull
    }
}

/// A write transaction. Derefs to the connection for queries; `emit` appends an event
/// row that commits with the change.
pub struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
    events: Vec<Event>,
}

impl Deref for Tx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.tx
    }
}

impl Tx<'_> {
    /// Appends an event to the log in this transaction; returns its `seq`.
    pub fn emit(&mut self, draft: EventDraft) -> rusqlite::Result<i64> {
        let ev = crate::events::append(&self.tx, draft)?;
        let seq = ev.seq;
        self.events.push(ev);
        Ok(seq)
    }
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    /// A new file is created readable by its owner only (0600; SQLite gives its `-wal`
    /// and `-shm` the same mode): it holds password hashes and clients' addresses. A
    /// file that is another program's database is refused before anything is written.
    pub fn open(path: &Path) -> Result<Store, String> {
        let ctx = |e: rusqlite::Error| format!("cannot open the database at {}: {e}", path.display());
        create_private(path)?;
        let mut writer = Connection::open(path).map_err(ctx)?;
        migrate::check_ours(&writer, path)?;
        configure(&writer).map_err(ctx)?;
        writer.pragma_update(None, "wal_autocheckpoint", 0).map_err(ctx)?;
        migrate::migrate(&mut writer).map_err(|e| format!("cannot prepare the database at {}: {e}", path.display()))?;
        Ok(Store {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            next_reader: AtomicU64::new(0),
            feed: OnceLock::new(),
            commits: AtomicU64::new(0),
            disk_full: AtomicBool::new(false),
        })
    }

    /// Copies everything in the `-wal` into the database file and empties the `-wal`
    /// (clean shutdown), so that the `.db` file alone holds every commit.
    pub fn checkpoint(&self) -> Result<(), String> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let busy: i64 = conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .map_err(|e| format!("cannot checkpoint the database: {e}"))?;
        if busy != 0 {
            return Err("cannot checkpoint the database: another process is reading it".into());
        }
        Ok(())
    }

    /// Copies what the `-wal` holds into the database file as far as no reader still
    /// needs it, without blocking writers (the WAL then starts over at the next commit).
    pub fn checkpoint_passive(&self) -> rusqlite::Result<()> {
        self.read(|c| c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The commit feed's receiving end (see module doc). Handed out once: a second call
    /// is an error, since two receivers would each get only some of the batches.
    pub fn commit_feed(&self) -> Result<CommitFeed, String> {
        let (tx, rx) = mpsc::sync_channel(FEED_BATCHES);
        self.feed.set(tx.clone()).map_err(|_| "the store's commit feed was already taken".to_string())?;
        Ok(CommitFeed { events: rx, waker: tx })
    }

    /// How many write transactions this process has committed: read before a read
    /// transaction, a cache of what it reads is current while this and the log's last
    /// seq stay the same (`hub::OperatorSnapshot`).
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::SeqCst)
    }

    /// Did the last write that changed rows, or failed, fail because the disk is full?
    /// Stays true until a write that changes something succeeds (`/health/` reports it).
    pub fn disk_full(&self) -> bool {
        self.disk_full.load(Ordering::SeqCst)
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction; commits if it returns `Ok`, rolls
    /// back otherwise, so a refused request writes nothing.
    pub fn write<T, E: WriteError>(&self, f: impl FnOnce(&mut Tx) -> Result<T, E>) -> Result<T, E> {
        // A panic inside `f` rolled its transaction back when it unwound, so the
        // connection is still sound: take the lock even if poisoned.
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let changes_before = conn.total_changes();
        let attempt = (|| -> Result<(T, Vec<Event>), E> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut t = Tx { tx, events: Vec::new() };
            let out = f(&mut t)?;
            let Tx { tx, events } = t;
            tx.commit()?;
            Ok((out, events))
        })();
        let (out, events) = match attempt {
            Ok(done) => done,
            Err(e) => {
                if e.is_disk_full() {
                    self.disk_full.store(true, Ordering::SeqCst);
                }
                return Err(e);
            }
        };
        // A commit that changed nothing proves nothing about free space.
        if conn.total_changes() != changes_before {
            self.disk_full.store(false, Ordering::SeqCst);
        }
        self.commits.fetch_add(1, Ordering::SeqCst);
        if !events.is_empty() {
            if let Some(feed) = self.feed.get() {
                match feed.try_send(events) {
                    Ok(()) | Err(TrySendError::Disconnected(_)) => {}
                    Err(TrySendError::Full(_)) => log::debug!("commit feed full; the hub will read the log"),
                }
            }
        }
        Ok(out)
    }

    /// Runs `f` on a read-only connection from the pool.
    pub fn read<T, E: From<rusqlite::Error>>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E> {
        self.read_on(|_, conn| f(conn))
    }

    /// Runs `f` in one read transaction and hands it the `ReadVersion` of what it sees.
    pub fn read_at<T, E: From<rusqlite::Error>>(
        &self,
        f: impl FnOnce(&Connection, ReadVersion) -> Result<T, E>,
    ) -> Result<T, E> {
        self.read_on(|reader, conn| {
            let tx = conn.unchecked_transaction()?;
            // Starts the read transaction, so it is the version of what `f` reads.
            let data: i64 = tx.prepare_cached("PRAGMA data_version")?.query_row([], |r| r.get(0))?;
            let out = f(&tx, ReadVersion { reader, data })?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// Runs `f` with a pooled read connection and its number.
    fn read_on<T, E: From<rusqlite::Error>>(&self, f: impl FnOnce(u64, &Connection) -> Result<T, E>) -> Result<T, E> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let (reader, conn) = match pooled {
            Some(c) => c,
            None => (self.next_reader.fetch_add(1, Ordering::Relaxed), self.open_reader()?),
        };
        let out = f(reader, &conn);
        let mut pool = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < POOLED_READERS {
            pool.push((reader, conn));
        }
        out
    }

    fn open_reader(&self) -> rusqlite::Result<Connection> {
        let c = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&c)?;
        c.pragma_update(None, "query_only", true)?;
        Ok(c)
    }

    /// A consistent copy of the whole database at `dest` (which must not exist), taken
    /// while the server runs, with a new event-stream epoch (see `backup`).
    pub fn backup_to(&self, dest: &Path, at: chrono::DateTime<chrono::Utc>) -> Result<(), String> {
        backup::write_copy(&self.path, dest, at)
    }
}

/// Which state of the database file a read transaction saw (`Store::read_at`): two
/// reads with equal versions saw the same content. It is the read connection's number
/// and SQLite's `PRAGMA data_version` on it, which changes whenever any other
/// connection, in this process or another (`royal-care user …` on the same file),
/// has committed since that connection last looked; our read connections never write.
/// Versions of different connections are never equal, whatever the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadVersion {
    reader: u64,
    data: i64,
}

impl ReadVersion {
    /// Do both come from the same read connection (so comparing them means something)?
    pub fn same_reader(&self, other: &ReadVersion) -> bool {
        self.reader == other.reader
    }
}

/// The rows of the ids in `?1` (an `id_list`), as SQL: `SELECT … FROM {ROWS_OF_IDS}
/// CROSS JOIN <table> ON <id column> = wanted`. A loop over the list with a key lookup
/// each, unlike `IN (SELECT value FROM json_each(?1))`, which first builds a temporary
/// b-tree of the ids (pages allocated and zeroed: ~20,000 instructions a query). In
/// the list's order; the list has each id once, so each row comes once.
pub const ROWS_OF_IDS: &str = "(SELECT value AS wanted FROM json_each(?1))";

/// Ids as one bound parameter for `IN (SELECT value FROM json_each(?1))`: a JSON array,
/// so a query over any number of ids is one cached statement, not one per row or per
/// list length. Each id once (`IN` ignores repeats; a page names its operator forty times).
pub fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = String::with_capacity(2 + ids.len() * 8);
    out.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Not `write!`: through `fmt` an id cost ~150 instructions, four lists a page.
        out.push_str(itoa::Buffer::new().format(*id));
    }
    out.push(']');
    out
}

/// One sentence when the folder of the database at `path` is missing, rather than
/// SQLite's "unable to open" or a lock file's "No such file or directory".
pub(crate) fn check_folder(path: &Path) -> Result<(), String> {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    match folder.filter(|f| !f.is_dir()) {
        Some(folder) => Err(format!(
            "the folder {} does not exist; create it or choose another {}.",
            folder.display(),
            crate::config::named("db")
        )),
        None => Ok(()),
    }
}

/// Creates the database file, if there is none, with mode 0600 (see `Store::open`); says
/// so in one sentence when its folder is missing (`check_folder`).
pub(crate) fn create_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    check_folder(path)?;
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!("cannot create the database at {}: {e}", path.display())),
    }
}

/// The per-connection settings every connection gets (see module doc for why).
fn configure(c: &Connection) -> rusqlite::Result<()> {
    c.busy_timeout(BUSY_TIMEOUT)?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "FULL")?;
    c.pragma_update(None, "foreign_keys", true)?;
    c.set_prepared_statement_cache_capacity(64);
    // Plans that do not depend on bound values: without this SQLite (built with STAT4)
    // compiles a cached statement again each time a value it looked at changes, e.g. a
    // list's `LIMIT :limit OFFSET :offset` on every request (~50,000 instructions). We
    // keep no statistics (no ANALYZE) and search with `%term%`, so no plan is lost.
    c.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Store;

    /// The WAL's frames: (in the log, copied into the database file).
    fn wal_frames(store: &Store) -> (i64, i64) {
        store.read(|c| c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(1)?, r.get(2)?)))).unwrap()
    }

    /// A burst of commits is not interrupted by a checkpoint (SQLite's automatic one
    /// would have run at 1,000 pages); `checkpoint_passive` copies the WAL in, and the
    /// next commits start it over instead of growing it.
    #[test]
    fn commits_leave_the_checkpoint_to_the_maintenance_thread() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        store.write(|tx| tx.execute("CREATE TABLE t (x BLOB)", [])).unwrap();
        for _ in 0..600 {
            store.write(|tx| tx.execute("INSERT INTO t VALUES (zeroblob(16000))", [])).unwrap();
        }
        let wal = || std::fs::metadata(dir.path().join("t.db-wal")).unwrap().len();
        let grown = wal();
        assert!(grown > 2_000 * 4096, "the WAL was checkpointed during the commits: {grown} bytes");
        store.checkpoint_passive().unwrap();
        let (log, copied) = wal_frames(&store);
        assert_eq!(log, copied, "every frame is in the database file");
        for _ in 0..10 {
            store.write(|tx| tx.execute("INSERT INTO t VALUES (zeroblob(16000))", [])).unwrap();
        }
        assert_eq!(wal(), grown, "the WAL started over instead of growing");
    }

    #[test]
    fn an_id_list_is_each_id_once_in_order_as_json() {
        assert_eq!(super::id_list([]), "[]");
        assert_eq!(
            super::id_list([7, 3, 7, 0, -12, i64::MIN, i64::MAX, 10]),
            format!("[{},-12,0,3,7,10,{}]", i64::MIN, i64::MAX)
        );
    }
}
