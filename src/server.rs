//! The composition: the one place that knows every part. It accepts connections (one
//! thread each, at most `max_connections`, small stacks), routes each request — a CORS
//! preflight, the live socket's upgrade (`live`), an API route (`api`), or a file of the
//! built-in UI (`web`) — and stops cleanly: stop accepting, close live sockets with 1001,
//! wait for the connections in flight, then stop and join the maintenance and hub threads,
//! and checkpoint the database so its `-wal` is empty.
//!
//! A connection over the bound gets a 503 and is closed at once, so a flood cannot make
//! the server spawn without limit.

use crate::app::{App, ConnSlot, Connections, Refused};
use crate::config::Settings;
use crate::error::ApiError;
use crate::http::budget::{BodyBudget, SMALL_BODY_BYTES};
use crate::http::parse::{Framing, Head};
use crate::http::{self, cors, Reply, Request, Response};
use crate::store::Store;
use std::cell::Cell;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Stack per connection thread. Handlers keep little on the stack; SQLite's deepest
/// paths stay well under this. Only touched pages count toward memory use.
pub const CONN_STACK_BYTES: usize = 256 * 1024;
/// How long shutdown waits for requests in flight.
const DRAIN: Duration = Duration::from_secs(3);

/// Runs the server on `listener` until SIGINT/SIGTERM, then shuts down (module doc).
pub fn run(settings: Settings, store: Store, listener: TcpListener, db: &Path) -> Result<(), String> {
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let app = App::new(settings, store)?;

    let app2 = app.clone();
    ctrlc::set_handler(move || {
        if !app2.is_shutting_down() {
            log::info!("shutting down");
            app2.begin_shutdown();
            // Wake the accept loop, which is blocked in accept().
            let _ = TcpStream::connect_timeout(&local, Duration::from_secs(1));
        }
    })
    .map_err(|e| format!("cannot install the signal handler: {e}"))?;

    let maintenance = crate::maintenance::start(app.clone())?;
    // After the signal handler: "listening" must mean SIGTERM is already handled.
    log_startup(&app, db, local);

    accept_loop(&app, listener);

    app.hub.shutdown();
    if !app.connections.wait_closed(Instant::now() + DRAIN) {
        log::warn!("stopping with {} connection(s) still open", app.connections.count());
    }
    maintenance.stop();
    // Nothing of ours writes any more: move the -wal into the .db, so a copy of the .db
    // file alone (the way people back up) has every commit.
    if let Err(e) = app.store.checkpoint() {
        log::warn!("{e}; the -wal file still holds recent changes, keep it with the database");
    }
    log::info!("stopped");
    Ok(())
}

/// Accepts until the app is shutting down.
fn accept_loop(app: &Arc<App>, listener: TcpListener) {
    for stream in listener.incoming() {
        if app.is_shutting_down() {
            break;
        }
        match stream {
            Ok(s) => accept(app, s),
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                log::warn!("accept failed: {e}");
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn accept(app: &Arc<App>, stream: TcpStream) {
    let Ok(peer) = stream.peer_addr() else { return };
    let slot = match Connections::open(app, peer.ip()) {
        Ok(slot) => slot,
        Err(why) => {
            let e = match why {
                Refused::Full(open) => {
                    log::warn!("refused a connection from {}: {open} connections open already", peer.ip());
                    ApiError::busy()
                }
                Refused::AddressFull(open) => {
                    log::warn!("refused a connection from {}: it has {open} open already", peer.ip());
                    ApiError::busy_because("This address has too many connections open; close some, then try again.")
                }
            };
            http::conn::refuse_busy(stream, e);
            return;
        }
    };
    let app2 = app.clone();
    let spawned = thread::Builder::new().name("conn".into()).stack_size(CONN_STACK_BYTES).spawn(move || {
        let router = Router { app: &app2, slot: Cell::new(Some(slot)) };
        http::conn::run(&router, &app2.settings, stream, peer);
    });
    if let Err(e) = spawned {
        log::warn!("could not start a thread for {}: {e}", peer.ip());
    }
}

/// Routes requests to the parts (module doc). One per connection; it holds the
/// connection's place in the count, which a live socket takes along to its reader.
struct Router<'a> {
    app: &'a Arc<App>,
    slot: Cell<Option<ConnSlot>>,
}

impl http::Service for Router<'_> {
    fn route(&self, req: &Request) -> Reply {
        let app = self.app;
        let origins = &app.settings.allowed_origins;
        if let Some(pre) = cors::preflight(origins, req) {
            return Reply::Response(pre);
        }
        let path = req.path();
        if path == crate::live::PATH {
            return Reply::Upgrade;
        }
        let resp = match crate::api::find(path) {
            Some((route, params)) => crate::api::call(app, req, route, &params),
            None if path.starts_with("/api/") || path.starts_with("/ws/") => crate::api::no_such_path(),
            None => crate::web::route(req).unwrap_or_else(Response::from),
        };
        Reply::Response(cors::decorate(origins, req, resp))
    }

    fn upgrade(&self, stream: TcpStream, req: Request, leftover: Vec<u8>, answered: Box<dyn FnOnce(u16) + Send>) {
        crate::live::serve(self.app, stream, req, leftover, answered, self.slot.take());
    }

    fn is_shutting_down(&self) -> bool {
        self.app.is_shutting_down()
    }

    /// Anyone may send a small body; a larger one only to a route that needs a login,
    /// with a valid token — checked before the body is read, so a caller who is not
    /// logged in can never make the server hold more than `SMALL_BODY_BYTES` of theirs.
    fn body_limit(&self, head: &Head, framing: Framing) -> Result<usize, ApiError> {
        let app = self.app;
        if matches!(framing, Framing::Length(n) if n <= SMALL_BODY_BYTES) {
            return Ok(SMALL_BODY_BYTES);
        }
        match crate::api::find(&head.path) {
            Some((route, _)) if route.needs_auth() => {
                let token = head.token().ok_or_else(ApiError::unauthorized)?;
                app.auth().authenticate_token(token)?;
                Ok(app.settings.max_body_bytes)
            }
            _ => Ok(SMALL_BODY_BYTES),
        }
    }

    fn body_budget(&self) -> &BodyBudget {
        &self.app.bodies
    }
}

fn log_startup(app: &App, db: &Path, local: SocketAddr) {
    let s = &app.settings;
    log::info!("royal-care {}", env!("CARGO_PKG_VERSION"));
    log::info!("database: {}", db.display());
    log::info!("time zone: {} (today is {})", crate::time::zone_name(), crate::time::today());
    if s.demo {
        log::warn!("DEMO MODE: this database is a fresh copy of the example, with demo accounts whose passwords are public (see README). Do not enter real client data.");
    }
    log::info!(
        "token TTL {}s (auto-refresh {}), max {} connections, {} sockets per user, origins: own{}",
        s.token_ttl_secs,
        if s.auto_refresh { "on" } else { "off" },
        s.max_connections,
        s.max_sockets_per_user,
        if s.allowed_origins.is_empty() { String::new() } else { format!(", {}", s.allowed_origins.join(", ")) }
    );
    if !s.trusted_proxies.is_empty() {
        let list: Vec<String> = s.trusted_proxies.iter().map(|n| n.to_string()).collect();
        log::info!("trusted proxies (X-Forwarded-* believed): {}", list.join(", "));
    }
    if s.hashing.password_iterations < crate::config::MIN_PASSWORD_ITERATIONS {
        log::warn!("password hashing is weakened for tests ({} iterations)", s.hashing.password_iterations);
    }
    // Last, so that "listening" means ready (scripts and tests wait for this line).
    log::info!("listening on http://{local}/");
}
