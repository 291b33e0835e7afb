//! `royal-care serve`: open (or, with `--demo`, re-create) the database, start the
//! maintenance loop and the accept loop, and stop cleanly on SIGINT/SIGTERM: stop
//! accepting, close live sockets with 1001, let requests in flight finish.

use crate::app::App;
use crate::config::Settings;
use crate::store::Store;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long shutdown waits for requests in flight.
const DRAIN: Duration = Duration::from_secs(3);

pub fn run(db: Option<PathBuf>, settings: Settings) -> Result<(), String> {
    settings.validate()?;
    let db = db.unwrap_or_else(|| if settings.demo { super::DEFAULT_DEMO_DB.into() } else { super::DEFAULT_DB.into() });
    if settings.demo {
        crate::scheduling::demo::install(&db)?;
    }
    let store = Store::open(&db)?;
    let listener = TcpListener::bind(&settings.addr).map_err(|e| {
        format!("cannot listen on {}: {e}; stop the other program using it or choose another --addr.", settings.addr)
    })?;
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

    app.start_maintenance();
    // After the signal handler: "listening" must mean SIGTERM is already handled.
    log_startup(&app, &db, local);

    crate::http::server::run(app.clone(), listener);

    app.hub.shutdown();
    let until = Instant::now() + DRAIN;
    while app.connections.load(Ordering::SeqCst) > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    log::info!("stopped");
    Ok(())
}

fn log_startup(app: &App, db: &Path, local: std::net::SocketAddr) {
    let s = &app.settings;
    log::info!("royal-care {}", env!("CARGO_PKG_VERSION"));
    log::info!("database: {}", db.display());
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
    if s.hashing.password_iterations < crate::config::MIN_PASSWORD_ITERATIONS {
        log::warn!("password hashing is weakened for tests ({} iterations)", s.hashing.password_iterations);
    }
    // Last, so that "listening" means ready (scripts and tests wait for this line).
    log::info!("listening on http://{local}/");
}
