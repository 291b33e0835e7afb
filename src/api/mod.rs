//! Routing: which handler answers which path, and the wrapping every answer gets (CORS,
//! errors as JSON). Handlers live in one file per area; each checks the caller's role
//! itself, through `auth::authenticate` and the scheduling rules.

pub mod auth;
pub mod schema;

use crate::app::App;
use crate::error::ApiError;
use crate::http::{cors, Reply, Request, Response};
use serde_json::json;
use std::sync::Arc;

pub fn route(app: &Arc<App>, req: &Request) -> Reply {
    if let Some(pre) = cors::preflight(app, req) {
        return Reply::Response(pre);
    }
    let path = req.path();
    if path == crate::ws::PATH {
        return Reply::Upgrade;
    }
    let result = if let Some(rest) = path.strip_prefix("/api/auth/") {
        auth::route(app, req, rest)
    } else if let Some(rest) = path.strip_prefix("/api/scheduling/") {
        crate::scheduling::api::route(app, req, rest)
    } else if path == "/health/" {
        allow(req, &["GET"]).and_then(|_| health(app))
    } else if path == "/api/schema/" {
        allow(req, &["GET"]).map(|_| schema::document())
    } else if path.starts_with("/api/") || path.starts_with("/ws/") {
        Err(ApiError::new(404, "not_found", "There is no such API path; see /api/schema/ for the list."))
    } else {
        crate::web::route(req)
    };
    let resp = result.unwrap_or_else(ApiError::into_response);
    Reply::Response(cors::decorate(app, req, resp))
}

/// 405 unless the request's method is one of `methods`.
pub fn allow(req: &Request, methods: &[&str]) -> Result<(), ApiError> {
    if methods.contains(&req.method()) {
        Ok(())
    } else {
        Err(ApiError::method_not_allowed().with_extra("allowed_methods", json!(methods)))
    }
}

fn health(app: &App) -> Result<Response, ApiError> {
    let (epoch, seq) = app
        .store
        .read(|c| -> rusqlite::Result<_> { Ok((crate::store::migrate::epoch(c)?, crate::events::last_seq(c)?)) })?;
    Ok(Response::json(
        200,
        &json!({
            "status": "healthy",
            "version": env!("CARGO_PKG_VERSION"),
            "database": "ok",
            "epoch": epoch,
            "seq": seq,
            "connections": app.connections.load(std::sync::atomic::Ordering::Relaxed),
            "time": crate::time::now_iso(),
        }),
    ))
}
