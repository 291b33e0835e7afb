//! `royal-care serve`: check the settings, take the database's serving lock
//! (`store::lock`), open (or, with `--demo`, re-create) the
//! database, bind the address, and hand all three to `server::run`.

use crate::config::Settings;
use crate::store::Store;
use std::net::TcpListener;
use std::path::PathBuf;

pub fn run(db: Option<PathBuf>, settings: Settings) -> Result<(), String> {
    settings.validate()?;
    // Before anything asks for "today" (the demo's day, then every request).
    crate::time::set_zone(settings.zone()?);
    let db = db.unwrap_or_else(|| if settings.demo { super::DEFAULT_DEMO_DB.into() } else { super::DEFAULT_DB.into() });
    // Before anything touches the file (even `--demo`'s re-creation): held until `serve` returns.
    let _lock = crate::store::lock::ServingLock::for_serving(&db)?;
    if settings.demo {
        crate::scheduling::demo::install(&db)?;
    }
    let store = Store::open(&db)?;
    let listener = TcpListener::bind(&settings.addr).map_err(|e| {
        format!("cannot listen on {}: {e}; stop the other program using it or choose another --addr.", settings.addr)
    })?;
    crate::server::run(settings, store, listener, &db)
}
