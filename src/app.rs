//! The running server's shared state, built once at start and shared by every thread
//! through `Arc<App>`: settings, the store, the hub, login state and the connection count.
//! Also the maintenance loop (expired tokens, overdue appointments, old events).

use crate::auth::Logins;
use crate::config::Settings;
use crate::hub::Hub;
use crate::store::Store;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often the maintenance loop runs. Overdue appointments are cancelled at most this
/// late; expired tokens' sockets are closed by the hub itself, within a second.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(10);

pub struct App {
    pub settings: Settings,
    pub store: Arc<Store>,
    pub hub: Arc<Hub>,
    pub logins: Logins,
    /// Open connections (HTTP and WebSocket); bounded by `settings.max_connections`.
    pub connections: AtomicUsize,
    shutting_down: AtomicBool,
}

impl App {
    /// Starts the hub on the store's commit feed, so every commit reaches the sockets;
    /// fails if the hub cannot start.
    pub fn new(settings: Settings, store: Store) -> Result<Arc<App>, String> {
        let store = Arc::new(store);
        let hub = Hub::new(&settings, store.clone())?;
        Ok(Arc::new(App {
            settings,
            store,
            hub,
            logins: Logins::new(),
            connections: AtomicUsize::new(0),
            shutting_down: AtomicBool::new(false),
        }))
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Starts the maintenance loop on its own thread.
    pub fn start_maintenance(self: &Arc<Self>) {
        let app = self.clone();
        let _ = std::thread::Builder::new().name("maintenance".into()).spawn(move || {
            while !app.is_shutting_down() {
                app.maintain();
                std::thread::sleep(MAINTENANCE_EVERY);
            }
        });
    }

    /// One round of housekeeping; failures are logged and retried next round.
    pub fn maintain(&self) {
        match crate::auth::delete_expired_tokens(self) {
            Ok(0) => {}
            Ok(n) => log::info!("ended {n} expired session(s)"),
            Err(e) => log::warn!("could not delete expired tokens: {}", e.detail),
        }
        if let Err(e) = crate::scheduling::auto_cancel_overdue(self) {
            log::warn!("could not cancel overdue appointments: {}", e.detail);
        }
        let before = crate::time::iso_in(-(self.settings.event_retention_hours as i64) * 3600);
        if let Err(e) = self.store.write(|tx| crate::events::prune(tx, &before)) {
            log::warn!("could not prune the event log: {e}");
        }
    }
}
