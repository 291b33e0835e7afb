//! Housekeeping on its own thread, every `EVERY`: ending expired sessions (which closes
//! their sockets), cancelling appointments left `pending` too long, pruning the event
//! log, keeping each user's newest notifications only (`notifications_per_user`), and
//! checkpointing the WAL (commits do not: `store` module doc). Failures are logged and
//! retried next round. `stop` wakes the thread and joins it.

use crate::app::App;
use crate::error::ApiError;
use crate::scheduling::{booking, notifications};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the loop runs. Overdue appointments are cancelled at most this late (and
/// before any appointment request); expired tokens' sockets are closed by the hub itself,
/// within a second.
const EVERY: Duration = Duration::from_secs(10);

/// The running maintenance thread.
pub struct Maintenance {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

/// Starts the loop; fails if the thread cannot be started.
pub fn start(app: Arc<App>) -> Result<Maintenance, String> {
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("maintenance".into())
        .spawn(move || loop {
            run_once(&app);
            match stopped.recv_timeout(EVERY) {
                Err(RecvTimeoutError::Timeout) => continue,
                _ => return,
            }
        })
        .map_err(|e| format!("cannot start the maintenance thread: {e}"))?;
    Ok(Maintenance { stop, thread })
}

impl Maintenance {
    /// Ends the loop (a round in progress finishes first) and joins the thread.
    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// One round of housekeeping.
pub fn run_once(app: &App) {
    match app.auth().delete_expired_tokens() {
        Ok(0) => {}
        Ok(n) => log::info!("ended {n} expired session(s)"),
        Err(e) => log::warn!("could not delete expired tokens: {}", e.detail),
    }
    if let Err(e) = auto_cancel_overdue(app) {
        log::warn!("could not cancel overdue appointments: {}", e.detail);
    }
    let before = crate::time::iso_in(-(app.settings.event_retention_hours as i64) * 3600);
    if let Err(e) = app.store.write(|tx| crate::events::prune(tx, &before)) {
        log::warn!("could not prune the event log: {e}");
    }
    let keep = app.settings.notifications_per_user.min(i64::MAX as u64) as i64;
    match app.store.write(|tx| notifications::prune(tx, keep)) {
        Ok(0) => {}
        Ok(n) => log::info!("pruned {n} old notification(s) (each user keeps the newest {keep})"),
        Err(e) => log::warn!("could not prune notifications: {e}"),
    }
    if let Err(e) = app.store.checkpoint_passive() {
        log::warn!("could not checkpoint the database: {e}");
    }
}

/// Cancels appointments left `pending` too long (`auto_cancelled`, with events); run by
/// the loop and before appointment requests. Returns how many.
pub fn auto_cancel_overdue(app: &App) -> Result<usize, ApiError> {
    let timeout = app.settings.pending_timeout();
    let cutoff = crate::time::iso_in(-(timeout.min(i64::MAX as u64 / 2) as i64));
    // A read first: the common case (nothing overdue) takes no write lock.
    let any = app.store.read(|c| booking::any_overdue(c, &cutoff))?;
    if !any {
        return Ok(0);
    }
    let n = app.store.write(|tx| booking::auto_cancel(tx, &cutoff))?;
    if n > 0 {
        log::info!("auto-cancelled {n} appointment(s) left pending for {timeout} s");
    }
    Ok(n)
}
