//! The clinic's scheduling rules (SPEC §4) and row models; nothing here knows HTTP.
//! `workflow` is the one transition table, `visibility` the one rule of who sees what
//! (and `operator_only`, who may write), `appointment` the one JSON shape; `booking`
//! makes every appointment change (with its events) inside a write transaction;
//! `clients`, `services` and `staff` are the other rows and their writes; `validate`
//! reads request bodies field by field; `demo` builds and installs the example database.

pub mod appointment;
pub mod booking;
pub mod clients;
pub mod demo;
pub mod services;
pub mod staff;
pub mod validate;
pub mod visibility;
pub mod workflow;

pub use visibility::operator_only;

/// The appointments a freshly connected socket starts with (`initial_data`): for an
/// operator today's and upcoming ones, for a therapist or driver their own active ones,
/// each in the one appointment JSON shape.
pub fn initial_appointments(
    conn: &rusqlite::Connection,
    user: &crate::store::users::User,
) -> rusqlite::Result<Vec<serde_json::Value>> {
    appointment::initial(conn, user)
}
