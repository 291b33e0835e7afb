//! Routing: the ONE table of routes (`ROUTES`), which the router dispatches on and the
//! OpenAPI document (`schema.rs`) is generated from, so no route can exist that the
//! document lacks. Also the wrapping every answer gets (CORS, errors as JSON). Handlers
//! live in one file per area; each checks the caller's role itself, through
//! `auth::authenticate` and the scheduling rules.

pub mod auth;
pub mod schema;
pub mod workflow;

use crate::app::App;
use crate::error::ApiError;
use crate::http::{cors, Reply, Request, Response};
use crate::scheduling;
use serde_json::json;
use std::sync::Arc;

/// What a route's path pattern captured: `{id}` (a positive integer) and `{action}` (a
/// workflow action from the transition table).
#[derive(Debug, Default, Clone, Copy)]
pub struct Params {
    pub id: i64,
    pub action: Option<&'static scheduling::workflow::Transition>,
}

pub type Handler = fn(&App, &Request, &Params) -> Result<Response, ApiError>;

pub struct Route {
    /// The path, with `{id}` / `{action}` placeholders.
    pub path: &'static str,
    pub methods: &'static [&'static str],
    pub handler: Handler,
    /// Does it need `Authorization: Token`?
    pub auth: bool,
    pub tag: &'static str,
    pub summary: &'static str,
}

const CRUD_LIST: &[&str] = &["GET", "POST"];
const CRUD_ITEM: &[&str] = &["GET", "PUT", "PATCH", "DELETE"];

pub const ROUTES: &[Route] = &[
    Route {
        path: "/health/",
        methods: &["GET"],
        handler: |a, _, _| health(a),
        auth: false,
        tag: "meta",
        summary: "Is the server up? Database state, event epoch and seq.",
    },
    Route {
        path: "/api/schema/",
        methods: &["GET"],
        handler: |_, _, _| Ok(schema::document()),
        auth: false,
        tag: "meta",
        summary: "This OpenAPI 3 document.",
    },
    Route {
        path: "/api/auth/login/",
        methods: &["POST"],
        handler: |a, r, _| auth::login(a, r),
        auth: false,
        tag: "auth",
        summary: "Log in with username (or email) and password; returns a token shown once.",
    },
    Route {
        path: "/api/auth/logout/",
        methods: &["POST"],
        handler: |a, r, _| auth::logout(a, r),
        auth: true,
        tag: "auth",
        summary: "Revoke this token and close its sockets.",
    },
    Route {
        path: "/api/auth/logoutall/",
        methods: &["POST"],
        handler: |a, r, _| auth::logout_all(a, r),
        auth: true,
        tag: "auth",
        summary: "Revoke all of the user's tokens and close their sockets.",
    },
    Route {
        path: "/api/auth/profile/",
        methods: &["GET"],
        handler: |a, r, _| auth::profile(a, r),
        auth: true,
        tag: "auth",
        summary: "The logged-in user.",
    },
    Route {
        path: "/api/auth/change-password/",
        methods: &["PUT", "POST"],
        handler: |a, r, _| auth::change_password(a, r),
        auth: true,
        tag: "auth",
        summary: "Change the password; ends the user's other sessions.",
    },
    Route {
        path: "/api/scheduling/clients/",
        methods: CRUD_LIST,
        handler: |a, r, _| scheduling::clients::collection(a, r),
        auth: true,
        tag: "clients",
        summary: "List clients (operators: all; others: their appointments' clients) or create one (operators).",
    },
    Route {
        path: "/api/scheduling/clients/{id}/",
        methods: CRUD_ITEM,
        handler: |a, r, p| scheduling::clients::item(a, r, p.id),
        auth: true,
        tag: "clients",
        summary: "Read, update or delete a client.",
    },
    Route {
        path: "/api/scheduling/services/",
        methods: CRUD_LIST,
        handler: |a, r, _| scheduling::services::collection(a, r),
        auth: true,
        tag: "services",
        summary: "List services or create one (operators).",
    },
    Route {
        path: "/api/scheduling/services/{id}/",
        methods: CRUD_ITEM,
        handler: |a, r, p| scheduling::services::item(a, r, p.id),
        auth: true,
        tag: "services",
        summary: "Read, update or delete a service.",
    },
    Route {
        path: "/api/scheduling/staff/",
        methods: CRUD_LIST,
        handler: |a, r, _| scheduling::staff::collection(a, r),
        auth: true,
        tag: "staff",
        summary: "List staff or create an account (operators).",
    },
    Route {
        path: "/api/scheduling/staff/{id}/",
        methods: CRUD_ITEM,
        handler: |a, r, p| scheduling::staff::item(a, r, p.id),
        auth: true,
        tag: "staff",
        summary: "Read or update a staff account; is_active false deactivates and ends its sessions.",
    },
    Route {
        path: "/api/scheduling/appointments/",
        methods: CRUD_LIST,
        handler: |a, r, _| scheduling::api::collection(a, r),
        auth: true,
        tag: "appointments",
        summary: "List the appointments you may see, or book one (operators).",
    },
    Route {
        path: "/api/scheduling/appointments/{id}/",
        methods: CRUD_ITEM,
        handler: |a, r, p| scheduling::api::item(a, r, p.id),
        auth: true,
        tag: "appointments",
        summary: "Read, edit or delete an appointment.",
    },
    Route {
        path: "/api/scheduling/workflow/",
        methods: &["GET"],
        handler: |_, r, _| workflow::table(r),
        auth: false,
        tag: "workflow",
        summary:
            "The workflow as data: statuses (labels, groups) and actions (who, from, to, inputs and their choices).",
    },
    Route {
        path: "/api/scheduling/appointments/{id}/{action}/",
        methods: &["POST"],
        handler: |a, r, p| match p.action {
            Some(t) => scheduling::api::action(a, r, p.id, t),
            None => Err(ApiError::not_found()),
        },
        auth: true,
        tag: "workflow",
        summary: "A workflow step (see the transition table).",
    },
];

/// The route matching `path`, with what it captured.
pub fn find(path: &str) -> Option<(&'static Route, Params)> {
    let segs: Vec<&str> = path.split('/').collect();
    'routes: for r in ROUTES {
        let pat: Vec<&str> = r.path.split('/').collect();
        if pat.len() != segs.len() {
            continue;
        }
        let mut p = Params::default();
        for (want, got) in pat.iter().zip(&segs) {
            match *want {
                "{id}" => match got.parse::<i64>() {
                    Ok(n) if n > 0 && !got.starts_with('+') => p.id = n,
                    _ => continue 'routes,
                },
                "{action}" => match scheduling::workflow::find(got) {
                    Some(t) => p.action = Some(t),
                    None => continue 'routes,
                },
                lit if lit == *got => {}
                _ => continue 'routes,
            }
        }
        return Some((r, p));
    }
    None
}

pub fn route(app: &Arc<App>, req: &Request) -> Reply {
    if let Some(pre) = cors::preflight(app, req) {
        return Reply::Response(pre);
    }
    let path = req.path();
    if path == crate::ws::PATH {
        return Reply::Upgrade;
    }
    let result = match find(path) {
        Some((r, p)) => allow(req, r.methods).and_then(|_| (r.handler)(app, req, &p)),
        None if path.starts_with("/api/") || path.starts_with("/ws/") => {
            Err(ApiError::new(404, "not_found", "There is no such API path; see /api/schema/ for the list."))
        }
        None => crate::web::route(req),
    };
    let resp = result.unwrap_or_else(ApiError::into_response);
    Reply::Response(cors::decorate(app, req, resp))
}

/// 405 unless the request's method is one of `methods` (HEAD counts as GET).
pub fn allow(req: &Request, methods: &[&str]) -> Result<(), ApiError> {
    let m = if req.method() == "HEAD" { "GET" } else { req.method() };
    if methods.contains(&m) {
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
