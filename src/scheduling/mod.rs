//! The clinic's scheduling rules. (Stub: filled in by issue 3.)

pub mod api;

use crate::app::App;
use crate::error::ApiError;

/// Cancels appointments left `pending` too long; run by the maintenance loop.
pub fn auto_cancel_overdue(_app: &App) -> Result<usize, ApiError> {
    Ok(0)
}

pub mod demo {
    //! The example database. (Stub: issue 3.)
    use std::path::Path;

    /// Builds the example database at `file`.
    pub fn build(_file: &Path) -> Result<(), String> {
        Err("the demo database builder is not available yet.".into())
    }

    /// Puts a fresh copy of the example database at `db` for `serve --demo`.
    pub fn install(_db: &Path) -> Result<(), String> {
        Ok(())
    }
}

/// The appointments a freshly connected socket starts with (`initial_data`): for an
/// operator today's and upcoming ones, for a therapist or driver their own active ones,
/// each in the one appointment JSON shape. (Stub: issue 3.)
pub fn initial_appointments(
    _conn: &rusqlite::Connection,
    _user: &crate::store::users::User,
) -> rusqlite::Result<Vec<serde_json::Value>> {
    Ok(Vec::new())
}
