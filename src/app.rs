//! The running server's shared state, built once at start and shared by every thread
//! through `Arc<App>`: settings, the store, the hub, login state, the open-connection
//! count, the cache of list pages and the shutting-down flag. It holds state only; what runs on it is in
//! `server` (accepting and routing), `api`, `live` and `maintenance`.

use crate::auth::{Auth, Logins};
use crate::config::Settings;
use crate::http::budget::BodyBudget;
use crate::hub::Hub;
use crate::store::derived::DerivedCache;
use crate::store::Store;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

pub struct App {
    pub settings: Settings,
    pub store: Arc<Store>,
    pub hub: Arc<Hub>,
    pub logins: Logins,
    /// Open connections (HTTP and WebSocket); bounded by `settings.max_connections`
    /// and, per client address, by `settings.max_connections_per_address`.
    pub connections: Connections,
    /// The memory all request bodies in flight share (`http::budget`).
    pub bodies: BodyBudget,
    /// Appointment list pages as sent, reused while the database is unchanged
    /// (`store::derived`; `api::appointments`).
    pub list_pages: DerivedCache,
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
            bodies: BodyBudget::default(),
            list_pages: DerivedCache::default(),
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

/// Counts open connections, in all and per client address; each holds a `ConnSlot` for
/// its life. Shutdown waits on the condition variable for the count to reach zero (each
/// connection thread ends by dropping its slot), so it returns the moment the last one
/// is done, without polling.
#[derive(Default)]
pub struct Connections {
    open: Mutex<Open>,
    none_open: Condvar,
}

#[derive(Default)]
struct Open {
    total: usize,
    /// Only addresses with a connection open, so the map is bounded by `total`.
    by_address: HashMap<IpAddr, usize>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `max_connections` are open.
    Full(usize),
    /// This address holds `max_connections_per_address` already.
    AddressFull(usize),
}

/// One open connection; dropping it (however its thread ends) gives the place back.
/// The address is `None` for a trusted proxy's connection (not counted per address).
pub struct ConnSlot(Arc<App>, Option<IpAddr>);

/// The key an address is counted under: IPv4 as it is, IPv6 by its /64, since one
/// machine is usually given a whole /64 and could otherwise take every place.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

impl Connections {
    /// Connections open now.
    pub fn count(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).total
    }

    /// Takes a place for a new connection from `ip`, or says why there is none.
    ///
    /// A trusted proxy's connections count only toward the total: the proxy keeps a pool
    /// of connections and sends any client's request on any of them, so a connection has
    /// no one client to count it under (docs/OPERATIONS.md, "Phones over the internet").
    pub fn open(app: &Arc<App>, ip: IpAddr) -> Result<ConnSlot, Refused> {
        let key = address_key(ip);
        let mut open = app.connections.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.total >= app.settings.max_connections {
            return Err(Refused::Full(open.total));
        }
        if crate::config::is_trusted_proxy(&app.settings.trusted_proxies, ip) {
            open.total += 1;
            return Ok(ConnSlot(app.clone(), None));
        }
        let mine = open.by_address.get(&key).copied().unwrap_or(0);
        if mine >= app.settings.max_connections_per_address {
            return Err(Refused::AddressFull(mine));
        }
        open.total += 1;
        open.by_address.insert(key, mine + 1);
        Ok(ConnSlot(app.clone(), Some(key)))
    }

    /// Waits until no connection is open or `until` passes; true if none is open.
    pub fn wait_closed(&self, until: Instant) -> bool {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        while open.total > 0 {
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
        open.total -= 1;
        if let Some(key) = self.1 {
            if let Some(n) = open.by_address.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    open.by_address.remove(&key);
                }
            }
        }
        if open.total == 0 {
            c.none_open.notify_all();
        }
    }
}
