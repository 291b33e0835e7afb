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
                out.push((r.path.replace("{action}", t.action.as_str()), r));
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
    let schema = if r.path == "/api/scheduling/workflow/" { Some("Workflow") } else { schema_for(r.tag) };
    if let Some(schema) = schema {
        let one = json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}});
        let listing = method == "GET" && !path.contains("{id}");
        op["responses"]["200"]["content"] = if listing {
            json!({"application/json": {"schema": {"allOf": [{"$ref": "#/components/schemas/Page"}, {"type": "object", "properties": {"results": {"type": "array", "items": {"$ref": format!("#/components/schemas/{schema}")}}}}]}}})
        } else {
            one.clone()
        };
        if method == "POST" && !path.contains("{id}") {
            op["responses"]["201"] = json!({"description": "Created", "content": one});
        }
    }
    if method == "DELETE" {
        op["responses"]["204"] = json!({"description": "Deleted"});
    }
    if r.needs_auth() {
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
            let from: Vec<&str> = t.from.iter().map(|s| s.as_str()).collect();
            let to: Vec<&str> = t.targets().iter().map(|s| s.as_str()).collect();
            op["summary"] =
                json!(format!("{}: {} → {} ({})", t.action, from.join(", "), to.join(" / "), t.who.describe()));
            let mut props = Map::new();
            for i in t.inputs {
                props.insert(i.name.into(), i.openapi());
            }
            let required: Vec<&str> = t.required().collect();
            op["requestBody"] = json!({"required": !required.is_empty(), "content": {"application/json": {"schema": {"type": "object", "required": required, "properties": props}}}});
        }
    } else if matches!(method, "POST" | "PUT" | "PATCH") {
        op["requestBody"] = json!({"content": {"application/json": {"schema": {"type": "object"}}}});
    }
    if method == "GET" && !path.contains("{id}") && path.starts_with("/api/scheduling/") && schema != Some("Workflow") {
        let mut params = vec![
            json!({"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}),
            json!({"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": super::page::MAX_PAGE_SIZE}}),
            json!({"name": "search", "in": "query", "schema": {"type": "string"}}),
            json!({"name": "ordering", "in": "query", "schema": {"type": "string"}}),
        ];
        if path.ends_with("appointments/") {
            for n in
                ["date", "date_after", "date_before", "status", "status__in", "therapist", "driver", "client", "board"]
            {
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

/// The component schema a route tag answers with.
fn schema_for(tag: &str) -> Option<&'static str> {
    match tag {
        "appointments" | "workflow" => Some("Appointment"),
        "clients" => Some("Client"),
        "services" => Some("Service"),
        "staff" => Some("User"),
        _ => None,
    }
}

fn object(props: &[(&str, &str)]) -> Value {
    let mut m = Map::new();
    for (name, ty) in props {
        let schema = match *ty {
            "money" => {
                json!({"type": "string", "example": "1500.00", "description": "two decimals; a number is accepted on input"})
            }
            "date" => json!({"type": "string", "format": "date"}),
            "time" => json!({"type": "string", "example": "10:00:00", "description": "HH:MM or HH:MM:SS on input"}),
            "datetime" => json!({"type": "string", "format": "date-time", "nullable": true}),
            "ids" => json!({"type": "array", "items": {"type": "integer"}}),
            "id" => json!({"type": "integer", "nullable": true}),
            "objects" => json!({"type": "array", "items": {"type": "object"}}),
            "object" => json!({"type": "object", "nullable": true}),
            "actions" => {
                json!({"type": "array", "items": {"type": "string", "enum": workflow::actions().map(|t| t.action.as_str()).collect::<Vec<_>>()}})
            }
            "status" => json!({"type": "string", "enum": workflow::STATUSES}),
            other => json!({"type": other}),
        };
        m.insert((*name).into(), schema);
    }
    json!({"type": "object", "properties": m})
}

fn schemas() -> Value {
    let mut appt = vec![
        ("id", "integer"),
        ("client", "integer"),
        ("services", "ids"),
        ("therapist", "id"),
        ("therapists", "ids"),
        ("driver", "id"),
        ("operator", "id"),
        ("date", "date"),
        ("start_time", "time"),
        ("end_time", "time"),
        ("status", "status"),
        ("payment_status", "string"),
        ("payment_amount", "money"),
        ("payment_method", "string"),
        ("location", "string"),
        ("notes", "string"),
        ("rejection_reason", "string"),
        ("pickup_urgency", "string"),
        ("cancellation_reason", "string"),
        ("version", "integer"),
        ("created_at", "datetime"),
        ("updated_at", "datetime"),
        ("client_details", "object"),
        ("therapist_details", "object"),
        ("therapists_details", "objects"),
        ("driver_details", "object"),
        ("operator_details", "object"),
        ("services_details", "objects"),
        ("total_price", "money"),
        ("total_duration", "integer"),
        ("therapist_confirmations", "objects"),
        ("allowed_actions_by_role", "object"),
        ("allowed_actions", "actions"),
    ];
    appt.extend(crate::scheduling::appointment::STAMPS.iter().map(|s| (*s, "datetime")));
    json!({
        "Error": object(&[("detail", "string"), ("code", "string"), ("fields", "object"), ("allowed_actions", "actions")]),
        "Page": object(&[("count", "integer"), ("total_pages", "integer"), ("current_page", "integer"), ("page_size", "integer"),
            ("next", "string"), ("previous", "string"), ("has_next", "boolean"), ("has_previous", "boolean")]),
        "Appointment": object(&appt),
        "Workflow": {
            "type": "object",
            "description": "Statuses in workflow order {name, label, tone, labels_by_role, active, finished, cancellable, on_staff_board, leaves_staff_board_after_its_day}; actions {name, label, title, danger, note, who, who_label, roles, rest, from, to, outcomes [{to, when, stamp}], per_therapist, inputs [{name, label, required, kind (text|money|choice|staff), max_length, multiline, choices [{value, label}], role, default, hint, prefill}], required, optional, shows}; roles {name, label}; stamps {name, label}. See docs/WORKFLOW.md.",
            "properties": {
                "statuses": {"type": "array", "items": {"type": "object"}},
                "actions": {"type": "array", "items": {"type": "object"}},
                "roles": {"type": "array", "items": {"type": "object"}},
                "stamps": {"type": "array", "items": {"type": "object"}},
            },
        },
        "Client": object(&[("id", "integer"), ("first_name", "string"), ("last_name", "string"), ("phone_number", "string"),
            ("email", "string"), ("address", "string"), ("notes", "string"), ("created_at", "datetime"), ("updated_at", "datetime")]),
        "Service": object(&[("id", "integer"), ("name", "string"), ("description", "string"), ("duration", "integer"),
            ("price", "money"), ("is_active", "boolean")]),
        "User": object(&[("id", "integer"), ("username", "string"), ("first_name", "string"), ("last_name", "string"),
            ("email", "string"), ("role", "string"), ("phone_number", "string"), ("specialization", "string"), ("is_active", "boolean")]),
    })
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
        crate::live::PATH.into(),
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
            "schemas": schemas(),
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
