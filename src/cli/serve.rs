//! `royal-care serve`: check the settings, bind the address, take the database's serving
//! lock (`store::lock`), then open (or, with `--demo`, re-create) the database, and hand
//! them to `server::run`. Binding comes first so that a second `serve` that cannot listen
//! changes no file: it creates no database and never replaces the database of a demo
//! that is running; the lock comes before the database is touched, so a second `serve`
//! that can listen elsewhere is refused before it opens (or re-creates) the file.

use crate::config::{named, Settings};
use crate::store::Store;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::PathBuf;

pub fn run(db: Option<PathBuf>, settings: Settings) -> Result<(), String> {
    settings.validate()?;
    // Before anything asks for "today" (the demo's day, then every request).
    crate::time::set_zone(settings.zone()?);
    let db = db.unwrap_or_else(|| if settings.demo { super::DEFAULT_DEMO_DB.into() } else { super::DEFAULT_DB.into() });
    let listener = TcpListener::bind(&settings.addr).map_err(|e| bind_error(&settings.addr, &e))?;
    // Before anything touches the database (even `--demo`'s re-creation): held until `serve` returns.
    let _lock = crate::store::lock::ServingLock::for_serving(&db)?;
    if settings.demo {
        crate::scheduling::demo::install(&db)?;
    }
    let store = Store::open(&db)?;
    crate::server::run(settings, store, listener, &db)
}

/// Why `addr` cannot be listened on, with what to do about that cause (and only that).
fn bind_error(addr: &str, e: &std::io::Error) -> String {
    let flag = named("addr");
    match e.kind() {
        ErrorKind::AddrInUse => format!(
            "cannot listen on {addr}: another program is using it; stop the other program or choose another {flag}."
        ),
        ErrorKind::PermissionDenied => format!(
            "cannot listen on {addr}: permission denied; use a port above 1024, or run as a service with the capability to bind low ports (docs/OPERATIONS.md)."
        ),
        ErrorKind::AddrNotAvailable => format!(
            "cannot listen on {addr}: this machine has no such address; use one of its own addresses, or 0.0.0.0 for all of them, in {flag}."
        ),
        _ if addr.parse::<std::net::SocketAddr>().is_err() => format!(
            "{flag} {addr:?} is not an address to listen on; give an IP address and a port, e.g. 0.0.0.0:8000."
        ),
        _ => format!("cannot listen on {addr}: {e}; check {flag}."),
    }
}

#[cfg(test)]
mod tests {
    use super::bind_error;
    use std::io::{Error, ErrorKind};

    /// Each cause gets its own advice; only a port in use mentions another program.
    /// (Permission denied cannot be provoked in tests that run as root, so it is here.)
    #[test]
    fn each_bind_failure_has_its_own_sentence() {
        let denied = bind_error("0.0.0.0:80", &Error::from(ErrorKind::PermissionDenied));
        assert_eq!(
            denied,
            "cannot listen on 0.0.0.0:80: permission denied; use a port above 1024, or run as a service with the capability to bind low ports (docs/OPERATIONS.md)."
        );
        let in_use = bind_error("0.0.0.0:8000", &Error::from(ErrorKind::AddrInUse));
        assert!(in_use.contains("stop the other program or choose another --addr"), "{in_use}");
        for e in [ErrorKind::PermissionDenied, ErrorKind::AddrNotAvailable, ErrorKind::InvalidInput] {
            assert!(!bind_error("x", &Error::from(e)).contains("other program"), "{e:?}");
        }
    }
}
