//! The running server's shared state, built once at start and shared by every thread
//! through `Arc<App>`: settings, the store, the hub, login state, the open-connection
//! count and the shutting-down flag. It holds state only; what runs on it is in
//! `server` (accepting and routing), `api`, `live` and `maintenance`.

use crate::auth::{Auth, Logins};
use crate::config::Settings;
use crate::hub::Hub;
use crate::store::Store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

pub struct App {
    pub settings: Settings,
    pub store: Arc<Store>,
    pub hub: Arc<Hub>,
    pub logins: Logins,
    /// Open connections (HTTP and WebSocket); bounded by `settings.max_connections`.
    pub connections: Connections,
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
            connections: Connections::default(),
            shutting_down: AtomicBool::new(false),
        }))
    }

    /// The token and login operations, over this app's store, settings and login state.
    pub fn auth(&self) -> Auth<'_> {
        Auth { store: &self.store, settings: &self.settings, logins: &self.logins }
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }
}

/// Counts open connections; each holds a `ConnSlot` for its life. Shutdown waits on the
/// condition variable for the count to reach zero (each connection thread ends by
/// dropping its slot), so it returns the moment the last one is done, without polling.
#[derive(Default)]
pub struct Connections {
    open: Mutex<usize>,
    none_open: Condvar,
}

/// One open connection; dropping it (however its thread ends) gives the place back.
pub struct ConnSlot(Arc<App>);

impl Connections {
    /// Connections open now.
    pub fn count(&self) -> usize {
        *self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a place for a new connection, or `None` (with the count) when `max` are open.
    pub fn open(app: &Arc<App>) -> Result<ConnSlot, usize> {
        let c = &app.connections;
        let mut open = c.open.lock().unwrap_or_else(|p| p.into_inner());
        if *open >= app.settings.max_connections {
            return Err(*open);
        }
        *open += 1;
        Ok(ConnSlot(app.clone()))
    }

    /// Waits until no connection is open or `until` passes; true if none is open.
    pub fn wait_closed(&self, until: Instant) -> bool {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        while *open > 0 {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            open = self.none_open.wait_timeout(open, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        true
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let c = &self.0.connections;
        let mut open = c.open.lock().unwrap_or_else(|p| p.into_inner());
        *open -= 1;
        if *open == 0 {
            c.none_open.notify_all();
        }
    }
}
