//! `GET /api/schema/`: the OpenAPI 3.1 document, generated from `api::ROUTES` (each
//! route's `doc` says what it takes and answers, `ops`), the workflow table (one path
//! per action, its body from the action's inputs), the request readers' kinds (`kinds`)
//! and the answer shapes (`shapes`), so every route the server answers is in it.
//! What every operation shares is added here: the token and 401 for `Auth` routes,
//! 400 (an unreadable path or query, or what the handler reads), 413 where a body is
//! read, 404 for `{id}`, 503 everywhere.
//! `tests/schema.rs` checks the document against a running server, and
//! `tests/schemathesis.rs` lets schemathesis try it.

pub mod kinds;
pub mod ops;
pub mod shapes;

use super::{Route, ROUTES};
use crate::http::Response;
use crate::scheduling::{views, workflow};
use serde_json::{json, Map, Value};

/// One success (or 304) answer of an operation.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub description: &'static str,
    pub schema: Option<Value>,
    pub headers: Option<Value>,
}

impl Resp {
    pub fn json(status: u16, description: &'static str, schema: Value) -> Resp {
        Resp { status, description, schema: Some(schema), headers: None }
    }

    pub fn empty(status: u16, description: &'static str) -> Resp {
        Resp { status, description, schema: None, headers: None }
    }

    pub fn headers(mut self, h: Value) -> Resp {
        self.headers = Some(h);
        self
    }
}

/// What one operation takes and answers (besides what `operation` adds to all).
#[derive(Debug, Clone, Default)]
pub struct Op {
    pub body: Option<Value>,
    pub body_required: bool,
    pub params: Vec<Value>,
    pub ok: Vec<Resp>,
    /// Error statuses it can answer besides the shared ones.
    pub errors: Vec<u16>,
}

impl Op {
    pub fn new() -> Op {
        Op::default()
    }

    pub fn body(mut self, schema: Value) -> Op {
        self.body = Some(schema);
        self.body_required = true;
        self
    }

    /// A body that may be left out (an action without required inputs).
    pub fn optional_body(mut self, schema: Value) -> Op {
        self.body = Some(schema);
        self.body_required = false;
        self
    }

    pub fn param(mut self, p: Value) -> Op {
        self.params.push(p);
        self
    }

    pub fn params(mut self, ps: Vec<Value>) -> Op {
        self.params.extend(ps);
        self
    }

    pub fn ok(mut self, r: Resp) -> Op {
        self.ok.push(r);
        self
    }

    pub fn errors(mut self, statuses: &[u16]) -> Op {
        self.errors.extend_from_slice(statuses);
        self
    }
}

fn error_description(status: u16) -> &'static str {
    match status {
        400 => "The body, a parameter or a header is not valid: parse_error, or invalid with `fields` naming each problem.",
        401 => "Not logged in, or the token is not valid (any more).",
        403 => "Your role may not do this (workflow refusals carry `allowed_actions`).",
        404 => "Not found, or not visible to you (never 403 for that); also a page past the last.",
        405 => "Not a method of this path (`Allow` lists them).",
        409 => "CONFLICT (double booking, with `conflicts`; or still in use), STALE (with the current `version`) or INVALID_STATUS (with `allowed_actions`).",
        413 => "The body is over the size limit.",
        426 => "Not a WebSocket upgrade.",
        429 => "Too many attempts; wait Retry-After seconds.",
        503 => "Busy (the database, the password hashing, the body budget or every connection slot), or the disk is full; retry after Retry-After seconds.",
        _ => "An error.",
    }
}

/// The answer object of an error `status`: the error shape with the codes it can have,
/// and the headers sent with it.
pub fn error_response(status: u16, description: &str) -> Value {
    let schema = json!({"allOf": [shapes::r("Error"), {"properties": {"code": {"enum": shapes::codes_for(status)}}}]});
    let mut resp = json!({"description": description, "content": {"application/json": {"schema": schema}}});
    match status {
        401 => {
            resp["headers"] =
                json!({"WWW-Authenticate": {"required": true, "schema": {"type": "string", "enum": ["Token"]}}})
        }
        429 | 503 => {
            resp["headers"] = json!({"Retry-After": {"required": true, "schema": {"type": "integer", "minimum": 1}, "description": "seconds"}})
        }
        405 => resp["headers"] = json!({"Allow": {"required": true, "schema": {"type": "string"}}}),
        _ => {}
    }
    resp
}

/// Every concrete (path, route) the server routes, with `{action}` expanded from the
/// transition table (each action's name and its aliases) and `{view}` from the named
/// appointment lists.
pub fn paths() -> Vec<(String, &'static Route)> {
    let mut out = Vec::new();
    for r in ROUTES {
        if r.path.contains("{action}") {
            for name in workflow::actions().flat_map(|t| t.names()) {
                out.push((r.path.replace("{action}", name), r));
            }
        } else if r.path.contains("{view}") {
            for v in views::VIEWS {
                out.push((r.path.replace("{view}", v.name), r));
            }
        } else {
            out.push((r.path.to_string(), r));
        }
    }
    out
}

/// The route's own description of `method` on `path` (an action path: from its row).
fn describe(r: &Route, method: &str, path: &str) -> (Op, String) {
    if r.path.contains("{action}") {
        let action = path.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
        let t = workflow::find(action).expect("an action path names a REST action");
        let from: Vec<&str> = t.from.iter().map(|s| s.as_str()).collect();
        let to: Vec<&str> = t.targets().iter().map(|s| s.as_str()).collect();
        let mut summary = format!("{}: {} → {} ({})", t.action, from.join(", "), to.join(" / "), t.who.describe());
        if action != t.action.as_str() {
            summary = format!("{action}, the clinic's original name for {summary}");
        }
        (ops::action(t), summary)
    } else if r.path.contains("{view}") {
        let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
        let v = views::find(name).expect("a view path names a view");
        (ops::view(v), v.doc.to_string())
    } else {
        ((r.doc)(method), r.summary.to_string())
    }
}

fn operation(r: &Route, method: &str, path: &str) -> Value {
    let (op, summary) = describe(r, method, path);
    let mut responses = Map::new();
    for ok in &op.ok {
        let mut o = json!({"description": ok.description});
        if let Some(s) = &ok.schema {
            o["content"] = json!({"application/json": {"schema": s}});
        }
        if let Some(h) = &ok.headers {
            o["headers"] = h.clone();
        }
        responses.insert(ok.status.to_string(), o);
    }
    // 400 for every operation: a path or query with a bad percent-escape is refused
    // before any handler, besides what each handler reads.
    let mut errors = op.errors.clone();
    errors.push(400);
    if op.body.is_some() {
        errors.push(413);
    }
    if r.needs_auth() {
        errors.push(401);
    }
    if path.contains("{id}") {
        errors.push(404);
    }
    errors.push(503);
    errors.sort_unstable();
    errors.dedup();
    for s in errors {
        responses.insert(s.to_string(), error_response(s, error_description(s)));
    }
    let id = format!("{}_{}", method.to_lowercase(), path.trim_matches('/').replace(['/', '{', '}'], "_"));
    let mut o = json!({
        "operationId": id.replace("__", "_").trim_end_matches('_'),
        "tags": [r.tag],
        "summary": summary,
        "responses": responses,
        "security": if r.needs_auth() { json!([{"tokenAuth": []}]) } else { json!([]) },
    });
    let mut params = op.params.clone();
    if path.contains("{id}") {
        params.insert(
            0,
            json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1, "maximum": kinds::MAX_ID}}),
        );
    }
    if !params.is_empty() {
        o["parameters"] = json!(params);
    }
    if let Some(b) = &op.body {
        o["requestBody"] = json!({"required": op.body_required, "content": {"application/json": {"schema": b}}});
    }
    o
}

pub fn build() -> Value {
    let mut paths_obj = Map::new();
    for (path, r) in paths() {
        let mut item = Map::new();
        for m in r.methods {
            item.insert(m.to_lowercase(), operation(r, m, &path));
        }
        paths_obj.insert(path, Value::Object(item));
    }
    paths_obj.insert(crate::live::PATH.into(), ops::live());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Royal Care",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Scheduling API of a home-service massage clinic. Workflow: docs/WORKFLOW.md; formats, roles and errors: docs/API.md. Any request may also get 400 (an unreadable head), 408 (too slow), 413/431 (too large), 501 (Transfer-Encoding) or 503 (every connection slot taken) before it reaches an operation.",
        },
        "paths": paths_obj,
        "components": {
            "securitySchemes": {"tokenAuth": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Token <token> (Bearer <token> is read too)"}},
            "schemas": shapes::components(),
        },
    })
}

pub fn document() -> Response {
    static BODY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let body = BODY.get_or_init(|| serde_json::to_vec(&build()).expect("the document serialises"));
    Response::json_bytes(200, body.clone())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_routed_path_and_method_is_documented() {
        let doc = super::build();
        for (path, r) in super::paths() {
            for m in r.methods {
                let op = &doc["paths"][&path][m.to_lowercase()];
                assert!(op.is_object(), "{m} {path} missing from the OpenAPI document");
                assert!(
                    op["responses"].as_object().unwrap().keys().any(|s| s.starts_with('2')),
                    "{m} {path}: no success"
                );
                if r.needs_auth() {
                    assert!(op["responses"]["401"].is_object(), "{m} {path}: no 401");
                }
                let (found, _) = super::super::find(&path.replace("{id}", "1")).expect("routable");
                assert_eq!(found.path, r.path);
            }
        }
        let ids: Vec<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|p| p.as_object().unwrap().values().filter_map(|o| o["operationId"].as_str()))
            .collect();
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "operation ids are unique");
    }

    #[test]
    fn every_error_status_has_its_codes() {
        for s in [400, 401, 403, 404, 405, 409, 413, 426, 429, 503] {
            assert!(!super::shapes::codes_for(s).is_empty(), "{s}");
        }
        assert_eq!(super::shapes::codes_for(409), ["CONFLICT", "STALE", "INVALID_STATUS"]);
    }
}
