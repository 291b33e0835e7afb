//! `GET /api/scheduling/workflow/`: the transition table and the statuses as JSON
//! (`scheduling::workflow::to_json`), for clients that build their buttons, forms and
//! filters from it (the web UI does). No login needed: it is the same for everyone and
//! says nothing the OpenAPI document does not (like `/api/schema/`). It never changes
//! while the server runs, so it is built once and revalidated by its ETag.

use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::scheduling::workflow;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

pub fn table(req: &Request) -> Result<Response, ApiError> {
    static BODY: OnceLock<(Vec<u8>, String)> = OnceLock::new();
    let (body, etag) = BODY.get_or_init(|| {
        let body = serde_json::to_vec(&workflow::to_json()).expect("the table serialises");
        let hex: String = Sha256::digest(&body).iter().take(12).map(|b| format!("{b:02x}")).collect();
        (body, format!("\"{hex}\""))
    });
    if req.header("if-none-match").is_some_and(|v| v.split(',').any(|t| t.trim() == etag)) {
        return Ok(Response { status: 304, headers: vec![], body: Default::default() }.header("ETag", etag));
    }
    Ok(Response::json_bytes(200, body.clone()).header("ETag", etag).header("Cache-Control", "no-cache"))
}
