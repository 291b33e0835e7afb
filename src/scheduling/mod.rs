//! The clinic's scheduling rules (SPEC §4). `workflow` is the one transition table,
//! `visibility` the one rule of who sees what, `appointment` the one JSON shape;
//! `booking` makes every change (with its events) inside a write transaction; `api`,
//! `clients`, `services` and `staff` are the HTTP handlers; `validate` and `page` read
//! requests and shape lists; `demo` builds and installs the example database.

pub mod api;
pub mod appointment;
pub mod booking;
pub mod clients;
pub mod demo;
pub mod page;
pub mod services;
pub mod staff;
pub mod validate;
pub mod visibility;
pub mod workflow;

use crate::app::App;
use crate::auth::Principal;
use crate::error::ApiError;

/// 403 unless the caller is an operator (writes to clients, services and staff).
pub fn operator_only(who: &Principal) -> Result<(), ApiError> {
    if who.user.is_operator() {
        Ok(())
    } else {
        Err(ApiError::forbidden("Only operators may change this; ask an operator."))
    }
}

/// Cancels appointments left `pending` too long (`auto_cancelled`, with events); run by
/// the maintenance loop and before appointment requests. Returns how many.
pub fn auto_cancel_overdue(app: &App) -> Result<usize, ApiError> {
    let timeout = app.settings.pending_timeout_secs.unwrap_or(app.settings.pending_timeout_mins * 60);
    let cutoff = crate::time::iso_in(-(timeout.min(i64::MAX as u64 / 2) as i64));
    // A read first: the common case (nothing overdue) takes no write lock.
    let any: bool = app.store.read(|c| {
        c.prepare_cached("SELECT EXISTS (SELECT 1 FROM appointments WHERE status = 'pending' AND pending_since < ?1)")?
            .query_row([&cutoff], |r| r.get(0))
    })?;
    if !any {
        return Ok(0);
    }
    let n = app.store.write(|tx| booking::auto_cancel(tx, &cutoff))?;
    if n > 0 {
        log::info!("auto-cancelled {n} appointment(s) left pending for {timeout} s");
    }
    Ok(n)
}

/// The appointments a freshly connected socket starts with (`initial_data`): for an
/// operator today's and upcoming ones, for a therapist or driver their own active ones,
/// each in the one appointment JSON shape.
pub fn initial_appointments(
    conn: &rusqlite::Connection,
    user: &crate::store::users::User,
) -> rusqlite::Result<Vec<serde_json::Value>> {
    appointment::initial(conn, user)
}
