//! `GET /api/schema/`: the OpenAPI 3 document, generated from `api::ROUTES` (and the
//! workflow table for the action paths), so every route the server answers is in it.

use super::ROUTES;
use crate::http::Response;
use crate::scheduling::workflow;
use serde_json::{json, Map, Value};

/// Every concrete (path, methods) the server routes, with `{action}` expanded from the
/// transition table.
pub fn paths() -> Vec<(String, &'static super::Route)> {
    let mut out = Vec::new();
    for r in ROUTES {
        if r.path.contains("{action}") {
            for t in workflow::actions() {
                out.push((r.path.replace("{action}", t.action), r));
            }
        } else {
            out.push((r.path.to_string(), r));
        }
    }
    out
}

fn operation(r: &super::Route, method: &str, path: &str) -> Value {
    let mut op = json!({
        "tags": [r.tag],
        "summary": r.summary,
        "responses": {
            "200": {"description": "OK"},
            "400": {"description": "Invalid input; `fields` names each problem.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "404": {"description": "Not found, or not visible to you."},
        },
    });
    if method == "POST" && !path.contains("{id}") {
        op["responses"]["201"] = json!({"description": "Created"});
    }
    if method == "DELETE" {
        op["responses"]["204"] = json!({"description": "Deleted"});
    }
    if r.auth {
        op["security"] = json!([{"tokenAuth": []}]);
        op["responses"]["401"] = json!({"description": "Log in first (WWW-Authenticate: Token)."});
        op["responses"]["403"] = json!({"description": "Your role may not do this."});
    } else {
        op["security"] = json!([]);
    }
    if path.contains("appointments/{id}") && method != "GET" {
        op["responses"]["409"] = json!({"description": "STALE (version changed), CONFLICT (double booking) or INVALID_STATUS (with allowed_actions)."});
        op["parameters"] = json!([{"name": "If-Match", "in": "header", "required": false, "schema": {"type": "string"}, "description": "The version you last read, e.g. \"3\"."}]);
    }
    if path.starts_with("/api/scheduling/appointments/{id}/") && path.len() > "/api/scheduling/appointments/{id}/".len()
    {
        let action = path.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
        if let Some(t) = workflow::find(action) {
            let from = t.from.join(", ");
            let to: Vec<&str> = t.outcomes.iter().map(|o| o.to).collect();
            op["summary"] = json!(format!("{}: {} → {} ({})", t.action, from, to.join(" / "), t.who.describe()));
            let mut props = Map::new();
            for f in t.required.iter().chain(t.optional) {
                props.insert((*f).into(), json!({"type": "string"}));
            }
            op["requestBody"] = json!({"required": !t.required.is_empty(), "content": {"application/json": {"schema": {"type": "object", "required": t.required, "properties": props}}}});
        }
    } else if matches!(method, "POST" | "PUT" | "PATCH") {
        op["requestBody"] = json!({"content": {"application/json": {"schema": {"type": "object"}}}});
    }
    if method == "GET" && !path.contains("{id}") && path.starts_with("/api/scheduling/") {
        let mut params = vec![
            json!({"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}),
            json!({"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": super::super::scheduling::page::MAX_PAGE_SIZE}}),
            json!({"name": "search", "in": "query", "schema": {"type": "string"}}),
            json!({"name": "ordering", "in": "query", "schema": {"type": "string"}}),
        ];
        if path.ends_with("appointments/") {
            for n in ["date", "date_after", "date_before", "status", "status__in", "therapist", "driver", "client"] {
                params.push(json!({"name": n, "in": "query", "schema": {"type": "string"}}));
            }
        }
        op["parameters"] = json!(params);
    }
    if path.contains("{id}") {
        let mut ps = op["parameters"].as_array().cloned().unwrap_or_default();
        ps.push(json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}));
        op["parameters"] = json!(ps);
    }
    op
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
    paths_obj.insert(
        crate::ws::PATH.into(),
        json!({"get": {
            "tags": ["live"],
            "summary": "WebSocket of live appointment events (token by ?token=, Sec-WebSocket-Protocol: bearer, <token>, or Authorization).",
            "responses": {"101": {"description": "Switching Protocols"}, "403": {"description": "Origin not allowed."}},
        }}),
    );
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Royal Care", "version": env!("CARGO_PKG_VERSION"), "description": "Scheduling API of a home-service massage clinic. Workflow: docs/WORKFLOW.md."},
        "paths": paths_obj,
        "components": {
            "securitySchemes": {"tokenAuth": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Token <token>"}},
            "schemas": {"Error": {"type": "object", "properties": {"detail": {"type": "string"}, "code": {"type": "string"}, "fields": {"type": "object"}}}},
        },
    })
}

pub fn document() -> Response {
    Response::json(200, &build())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_routed_path_and_method_is_documented() {
        let doc = super::build();
        for (path, r) in super::paths() {
            for m in r.methods {
                assert!(
                    doc["paths"][&path][m.to_lowercase()].is_object(),
                    "{m} {path} missing from the OpenAPI document"
                );
                let (found, _) = super::super::find(&path.replace("{id}", "1")).expect("routable");
                assert_eq!(found.path, r.path);
            }
        }
    }
}
