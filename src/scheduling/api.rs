//! `/api/scheduling/…` handlers. (Stub: filled in by issue 3.)

use crate::app::App;
use crate::error::ApiError;
use crate::http::{Request, Response};

pub fn route(app: &App, req: &Request, _rest: &str) -> Result<Response, ApiError> {
    crate::auth::authenticate(app, req)?;
    Err(ApiError::not_found())
}
