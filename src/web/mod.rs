//! The built-in web UI: static files from `web/`, embedded in the binary so the server
//! works offline with nothing else installed. (Stub: filled in by issue 5.)

use crate::error::ApiError;
use crate::http::{Request, Response};

pub fn route(req: &Request) -> Result<Response, ApiError> {
    crate::api::allow(req, &["GET"])?;
    match req.path() {
        "/" => Ok(Response::new(
            200,
            "text/html; charset=utf-8",
            b"<!doctype html><title>Royal Care</title><p>Royal Care is running.".to_vec(),
        )),
        _ => Err(ApiError::not_found()),
    }
}
