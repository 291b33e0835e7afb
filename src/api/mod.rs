//! Every HTTP handler, one file per resource, and the ONE table of routes (`ROUTES`),
//! which the router dispatches on and the OpenAPI document (`schema/`, from each route's
//! `doc`) is generated from, so no route can exist that the document lacks. A 405 lists
//! the route's methods in `Allow`. The router checks the method and,
//! for a `Handler::Auth` route, the token: such a handler receives the caller's
//! `Principal` and never authenticates by itself. Handlers read the request, call the
//! rules in `scheduling`/`auth` inside one store transaction, and answer.

pub mod appointments;
pub mod auth;
pub mod availability;
pub mod clients;
pub mod notifications;
pub mod page;
pub mod schema;
pub mod services;
pub mod staff;
pub mod workflow;

use crate::app::App;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::scheduling;
use serde_json::json;

/// What a route's path pattern captured: `{id}` (a positive integer), `{action}` (a
/// workflow action from the transition table) and `{view}` (a named appointment list,
/// `scheduling::views::VIEWS`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Params {
    pub id: i64,
    pub action: Option<&'static scheduling::workflow::Transition>,
    pub view: Option<&'static scheduling::views::View>,
}

type Answer = Result<Response, ApiError>;

/// A route's handler: `Public` ones take anyone; the router authenticates the caller of
/// an `Auth` one first and hands it the `Principal`.
#[derive(Clone, Copy)]
pub enum Handler {
    Public(fn(&App, &Request, &Params) -> Answer),
    Auth(fn(&App, &Request, &Principal, &Params) -> Answer),
}

pub struct Route {
    /// The path, with `{id}` / `{action}` placeholders.
    pub path: &'static str,
    pub methods: &'static [&'static str],
    pub handler: Handler,
    pub tag: &'static str,
    pub summary: &'static str,
    /// What each method takes and answers, for the OpenAPI document (`schema::ops`).
    pub doc: fn(&str) -> schema::Op,
}

impl Route {
    /// Does it need `Authorization: Token`?
    pub fn needs_auth(&self) -> bool {
        matches!(self.handler, Handler::Auth(_))
    }
}

const CRUD_LIST: &[&str] = &["GET", "POST"];
const CRUD_ITEM: &[&str] = &["GET", "PUT", "PATCH", "DELETE"];

pub const ROUTES: &[Route] = &[
    Route {
        path: "/health/",
        methods: &["GET"],
        handler: Handler::Public(|a, _, _| health(a)),
        tag: "meta",
        summary: "Is the server up? Database state, event epoch and seq.",
        doc: schema::ops::health,
    },
    Route {
        path: "/api/schema/",
        methods: &["GET"],
        handler: Handler::Public(|_, _, _| Ok(schema::document())),
        tag: "meta",
        summary: "This OpenAPI 3 document.",
        doc: schema::ops::schema,
    },
    Route {
        path: "/api/auth/login/",
        methods: &["POST"],
        handler: Handler::Public(|a, r, _| auth::login(a, r)),
        tag: "auth",
        summary: "Log in with username (or email) and password; returns a token shown once.",
        doc: schema::ops::login,
    },
    Route {
        path: "/api/auth/logout/",
        methods: &["POST"],
        handler: Handler::Auth(|a, _, w, _| auth::logout(a, w)),
        tag: "auth",
        summary: "Revoke this token and close its sockets.",
        doc: schema::ops::logout,
    },
    Route {
        path: "/api/auth/logoutall/",
        methods: &["POST"],
        handler: Handler::Auth(|a, _, w, _| auth::logout_all(a, w)),
        tag: "auth",
        summary: "Revoke all of the user's tokens and close their sockets.",
        doc: schema::ops::logout_all,
    },
    Route {
        path: "/api/auth/profile/",
        methods: &["GET", "PUT", "PATCH"],
        handler: Handler::Auth(|a, r, w, _| auth::profile(a, r, w)),
        tag: "auth",
        summary: "The logged-in user; PUT/PATCH their own name, email and phone.",
        doc: schema::ops::profile,
    },
    Route {
        path: "/api/auth/change-password/",
        methods: &["PUT", "POST"],
        handler: Handler::Auth(|a, r, w, _| auth::change_password(a, r, w)),
        tag: "auth",
        summary: "Change the password; ends the user's other sessions.",
        doc: schema::ops::change_password,
    },
    Route {
        path: "/api/scheduling/clients/",
        methods: CRUD_LIST,
        handler: Handler::Auth(|a, r, w, _| clients::collection(a, r, w)),
        tag: "clients",
        summary: "List clients (operators: all; others: their appointments' clients) or create one (operators).",
        doc: schema::ops::clients,
    },
    Route {
        path: "/api/scheduling/clients/{id}/",
        methods: CRUD_ITEM,
        handler: Handler::Auth(|a, r, w, p| clients::item(a, r, w, p.id)),
        tag: "clients",
        summary: "Read, update or delete a client.",
        doc: schema::ops::client,
    },
    Route {
        path: "/api/scheduling/services/",
        methods: CRUD_LIST,
        handler: Handler::Auth(|a, r, w, _| services::collection(a, r, w)),
        tag: "services",
        summary: "List services or create one (operators).",
        doc: schema::ops::services,
    },
    Route {
        path: "/api/scheduling/services/{id}/",
        methods: CRUD_ITEM,
        handler: Handler::Auth(|a, r, w, p| services::item(a, r, w, p.id)),
        tag: "services",
        summary: "Read, update or delete a service.",
        doc: schema::ops::service,
    },
    Route {
        path: "/api/scheduling/staff/",
        methods: CRUD_LIST,
        handler: Handler::Auth(|a, r, w, _| staff::collection(a, r, w)),
        tag: "staff",
        summary: "List staff or create an account (operators).",
        doc: schema::ops::staff_list,
    },
    Route {
        path: "/api/scheduling/staff/active_staff/",
        methods: &["GET"],
        handler: Handler::Auth(|a, r, w, _| staff::active(a, r, w)),
        tag: "staff",
        summary: "The active staff, of one role or all: {staff, count, filter} (the original frontend's staff picker).",
        doc: schema::ops::active_staff,
    },
    Route {
        path: "/api/registration/register/client/",
        methods: &["GET"],
        handler: Handler::Auth(|a, r, w, _| clients::register_list(a, r, w)),
        tag: "clients",
        summary: "The clients you may see as a plain array (the original frontend's booking form); read-only.",
        doc: schema::ops::register_clients,
    },
    Route {
        path: "/api/scheduling/staff/{id}/",
        methods: CRUD_ITEM,
        handler: Handler::Auth(|a, r, w, p| staff::item(a, r, w, p.id)),
        tag: "staff",
        summary: "Read or update a staff account; is_active false deactivates and ends its sessions.",
        doc: schema::ops::staff,
    },
    Route {
        path: "/api/scheduling/availabilities/",
        methods: CRUD_LIST,
        handler: Handler::Auth(|a, r, w, _| availability::collection(a, r, w)),
        tag: "availability",
        summary: "List availability slots (operators: all; staff: their own) or add one.",
        doc: schema::ops::availabilities,
    },
    Route {
        path: "/api/scheduling/availabilities/{id}/",
        methods: CRUD_ITEM,
        handler: Handler::Auth(|a, r, w, p| availability::item(a, r, w, p.id)),
        tag: "availability",
        summary: "Read, change or delete an availability slot (staff: their own).",
        doc: schema::ops::availability,
    },
    Route {
        path: "/api/scheduling/availabilities/bulk_create/",
        methods: &["POST"],
        handler: Handler::Auth(|a, r, w, _| availability::bulk_create(a, r, w)),
        tag: "availability",
        summary: "Add several slots of one person on one date: {created_slots, errors}.",
        doc: schema::ops::bulk_create,
    },
    Route {
        path: "/api/scheduling/availabilities/available_therapists/",
        methods: &["GET"],
        handler: Handler::Auth(|a, r, w, _| availability::available(a, r, w, "therapist")),
        tag: "availability",
        summary: "The therapists free for a whole window (schedule and bookings), as a plain array.",
        doc: |_| schema::ops::available("therapist"),
    },
    Route {
        path: "/api/scheduling/availabilities/available_drivers/",
        methods: &["GET"],
        handler: Handler::Auth(|a, r, w, _| availability::available(a, r, w, "driver")),
        tag: "availability",
        summary: "The drivers free for a whole window (schedule and bookings), as a plain array.",
        doc: |_| schema::ops::available("driver"),
    },
    Route {
        path: "/api/scheduling/availabilities/staff_for_slot/",
        methods: &["GET"],
        handler: Handler::Auth(|a, r, w, _| availability::staff_for_slot(a, r, w)),
        tag: "availability",
        summary: "Every active therapist or driver for a window, free first, with why the others are not (operators).",
        doc: schema::ops::staff_for_slot,
    },
    Route {
        path: "/api/scheduling/staff/{id}/working_hours/",
        methods: &["GET", "PUT"],
        handler: Handler::Auth(|a, r, w, p| availability::working_hours(a, r, w, p.id)),
        tag: "availability",
        summary: "A person's usual week (one range per weekday); PUT replaces it.",
        doc: schema::ops::working_hours,
    },
    Route {
        path: "/api/scheduling/appointments/",
        methods: CRUD_LIST,
        handler: Handler::Auth(|a, r, w, _| appointments::collection(a, r, w)),
        tag: "appointments",
        summary: "List the appointments you may see, or book one (operators).",
        doc: schema::ops::appointments,
    },
    Route {
        path: "/api/scheduling/appointments/{id}/",
        methods: CRUD_ITEM,
        handler: Handler::Auth(|a, r, w, p| appointments::item(a, r, w, p.id)),
        tag: "appointments",
        summary: "Read, edit or delete an appointment.",
        doc: schema::ops::appointment,
    },
    Route {
        // A literal segment: neither an id nor a view's name (`views::VIEWS`).
        path: "/api/scheduling/appointments/daily_summary/",
        methods: &["GET"],
        handler: Handler::Auth(|a, r, w, _| appointments::daily_summary(a, r, w)),
        tag: "appointments",
        summary: "Operators: one day's bookings by status, revenue by payment method, unpaid sessions, per therapist.",
        doc: schema::ops::daily_summary,
    },
    Route {
        // After `appointments/{id}/`: a view's name is never a number.
        path: "/api/scheduling/appointments/{view}/",
        methods: &["GET"],
        handler: Handler::Auth(|a, r, w, p| match p.view {
            Some(v) => appointments::view(a, r, w, v),
            None => Err(ApiError::not_found()),
        }),
        tag: "appointments",
        summary: "A named list of the appointments you may see (scheduling::views).",
        // Each view's own operation is built from its row (`schema::describe`).
        doc: |_| schema::Op::new(),
    },
    Route {
        path: "/api/scheduling/workflow/",
        methods: &["GET"],
        handler: Handler::Public(|_, r, _| workflow::table(r)),
        tag: "workflow",
        summary:
            "The workflow as data: statuses (labels, groups) and actions (who, from, to, inputs and their choices).",
        doc: schema::ops::workflow_table,
    },
    Route {
        path: "/api/scheduling/appointments/{id}/{action}/",
        methods: &["POST"],
        handler: Handler::Auth(|a, r, w, p| match p.action {
            Some(t) => appointments::action(a, r, w, p.id, t),
            None => Err(ApiError::not_found()),
        }),
        tag: "workflow",
        summary: "A workflow step (see the transition table).",
        // Each action's own operation is built from its row (`schema::describe`).
        doc: |_| schema::Op::new(),
    },
    Route {
        path: "/api/scheduling/notifications/",
        methods: &["GET"],
        handler: Handler::Auth(|a, r, w, _| notifications::list(a, r, w)),
        tag: "notifications",
        summary: "Your notifications, newest first: a page whose results are {notifications, unreadCount}.",
        doc: schema::ops::notifications,
    },
    Route {
        path: "/api/scheduling/notifications/mark_all_as_read/",
        methods: &["POST"],
        handler: Handler::Auth(|a, _, w, _| notifications::mark_all(a, w)),
        tag: "notifications",
        summary: "Mark all your notifications read.",
        doc: schema::ops::notifications_mark_all,
    },
    Route {
        path: "/api/scheduling/notifications/delete_all/",
        methods: &["POST", "DELETE"],
        handler: Handler::Auth(|a, _, w, _| notifications::delete(a, w, scheduling::notifications::Which::All)),
        tag: "notifications",
        summary: "Delete all your notifications.",
        doc: schema::ops::notifications_delete,
    },
    Route {
        path: "/api/scheduling/notifications/delete_read/",
        methods: &["POST", "DELETE"],
        handler: Handler::Auth(|a, _, w, _| notifications::delete(a, w, scheduling::notifications::Which::Read)),
        tag: "notifications",
        summary: "Delete your notifications that are read.",
        doc: schema::ops::notifications_delete,
    },
    Route {
        path: "/api/scheduling/notifications/{id}/",
        methods: &["GET", "DELETE"],
        handler: Handler::Auth(|a, r, w, p| notifications::item(a, r, w, p.id)),
        tag: "notifications",
        summary: "One of your notifications; DELETE removes it.",
        doc: schema::ops::notification,
    },
    Route {
        path: "/api/scheduling/notifications/{id}/mark_as_read/",
        methods: &["POST"],
        handler: Handler::Auth(|a, _, w, p| notifications::mark(a, w, p.id, true)),
        tag: "notifications",
        summary: "Mark one of your notifications read.",
        doc: schema::ops::notification_mark,
    },
    Route {
        path: "/api/scheduling/notifications/{id}/mark_as_unread/",
        methods: &["POST"],
        handler: Handler::Auth(|a, _, w, p| notifications::mark(a, w, p.id, false)),
        tag: "notifications",
        summary: "Mark one of your notifications unread.",
        doc: schema::ops::notification_mark,
    },
];

/// The route matching `path`, with what it captured. Nothing is allocated: each route's
/// literal start (up to its first placeholder) is compared byte by byte, which is where
/// most routes differ from `path`; only a route with placeholders whose start matches
/// is walked segment by segment. (Collecting every pattern's segments into a `Vec` cost
/// ~37,000 instructions per request, most of it for routes that could never match.)
pub fn find(path: &str) -> Option<(&'static Route, Params)> {
    'routes: for r in ROUTES {
        let (want, got) = (r.path.as_bytes(), path.as_bytes());
        let literal = want.iter().position(|b| *b == b'{').unwrap_or(want.len());
        if got.len() < literal || want[..literal] != got[..literal] {
            continue;
        }
        if literal == want.len() {
            if got.len() == literal {
                return Some((r, Params::default()));
            }
            continue;
        }
        let mut p = Params::default();
        let (mut pat, mut segs) = (r.path.split('/'), path.split('/'));
        loop {
            let (want, got) = match (pat.next(), segs.next()) {
                (None, None) => return Some((r, p)),
                (Some(want), Some(got)) => (want, got),
                _ => continue 'routes,
            };
            match want {
                "{id}" => match got.parse::<i64>() {
                    Ok(n) if n > 0 && !got.starts_with('+') => p.id = n,
                    _ => continue 'routes,
                },
                "{action}" => match scheduling::workflow::find(got) {
                    Some(t) => p.action = Some(t),
                    None => continue 'routes,
                },
                "{view}" => match scheduling::views::find(got) {
                    Some(v) => p.view = Some(v),
                    None => continue 'routes,
                },
                lit if lit == got => {}
                _ => continue 'routes,
            }
        }
    }
    None
}

/// Answers `req` for route `r`: 405 for another method, 401 for an `Auth` route
/// without a valid token, else whatever the handler says.
pub fn call(app: &App, req: &Request, r: &Route, p: &Params) -> Response {
    let answer = req.allow(r.methods).and_then(|_| match r.handler {
        Handler::Public(h) => h(app, req, p),
        Handler::Auth(h) => authenticate(app, req).and_then(|who| h(app, req, &who, p)),
    });
    answer.unwrap_or_else(|e| {
        let not_allowed = e.code == crate::error::ErrorCode::MethodNotAllowed;
        let resp = Response::from(e);
        // RFC 9110: a 405 lists the methods the path takes (HEAD goes with GET).
        if not_allowed {
            let mut allow: Vec<&str> = r.methods.to_vec();
            if allow.contains(&"GET") {
                allow.insert(1, "HEAD");
            }
            resp.header("Allow", &allow.join(", "))
        } else {
            resp
        }
    })
}

/// The caller of a request: 401 without a valid `Authorization: Token`.
pub fn authenticate(app: &App, req: &Request) -> Result<Principal, ApiError> {
    let token = req.token().ok_or_else(ApiError::unauthorized)?;
    app.auth().authenticate_token(token)
}

/// The 404 for a path under `/api/` that no route matches.
pub fn no_such_path() -> Response {
    ApiError::new(crate::error::ErrorCode::NotFound, "There is no such API path; see /api/schema/ for the list.").into()
}

/// 200 `healthy` while the server can read and write; 503 `unhealthy` with
/// `"database": "disk_full"` after a write failed for want of disk space (until a write
/// succeeds again), so a monitor notices before the staff do. `last_backup_age_secs`:
/// seconds since `royal-care backup` last copied this database (from any process), or
/// null if it never did.
fn health(app: &App) -> Result<Response, ApiError> {
    let (epoch, seq, last_backup) = app.store.read(|c| -> rusqlite::Result<_> {
        Ok((crate::store::migrate::epoch(c)?, crate::events::last_seq(c)?, crate::store::backup::last_backup(c)?))
    })?;
    // Never negative: a clock set back after a backup reads as "just now".
    let backup_age = last_backup.map(|t| (chrono::Utc::now() - t).num_seconds().max(0));
    let full = app.store.disk_full();
    let mut resp = Response::json(
        if full { 503 } else { 200 },
        &json!({
            "status": if full { "unhealthy" } else { "healthy" },
            "version": env!("CARGO_PKG_VERSION"),
            "database": if full { "disk_full" } else { "ok" },
            "epoch": epoch,
            "seq": seq,
            "connections": app.connections.count(),
            "time": crate::time::now_iso(),
            // The clinic's day and zone (--time-zone): a browser elsewhere, or on a phone
            // set to another zone, shows the clinic's "Today", not its own.
            "today": crate::time::today().format("%Y-%m-%d").to_string(),
            "time_zone": crate::time::zone_name(),
            // With `time`, what a board needs to count down a pending booking's minutes.
            "pending_timeout_secs": app.settings.pending_timeout(),
            // A monitor alerts when this grows past a day or two (or stays null).
            "last_backup_age_secs": backup_age,
        }),
    );
    if full {
        resp = resp.header("Retry-After", "60");
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `find` against the table itself: every route's own path (placeholders filled)
    /// finds that route, and near misses find nothing or the route they really name.
    #[test]
    fn find_matches_whole_segments_only() {
        let action = scheduling::workflow::actions().next().expect("an action").action.as_str();
        let view = scheduling::views::VIEWS[0].name;
        for r in ROUTES {
            let path = r.path.replace("{id}", "12").replace("{action}", action).replace("{view}", view);
            let (found, p) = find(&path).unwrap_or_else(|| panic!("{path} finds no route"));
            assert_eq!(found.path, r.path, "{path}");
            if r.path.contains("{id}") {
                assert_eq!(p.id, 12);
            }
            assert!(find(&format!("{path}x")).is_none_or(|(f, _)| f.path != r.path), "{path}x");
            assert!(find(&path[..path.len() - 1]).is_none(), "{path} without its last slash");
        }
        let item = |path: &str| find(path).map(|(r, p)| (r.path, p.id));
        assert_eq!(item("/api/scheduling/clients/7/"), Some(("/api/scheduling/clients/{id}/", 7)));
        for bad in [
            "/api/scheduling/clients/0/",
            "/api/scheduling/clients/+7/",
            "/api/scheduling/clients/-7/",
            "/api/scheduling/clients//",
            "/api/scheduling/client/7/",
            "/api/scheduling/clients/7/x/",
            "",
        ] {
            assert_eq!(item(bad), None, "{bad:?}");
        }
        assert_eq!(item("/api/scheduling/appointments/"), Some(("/api/scheduling/appointments/", 0)));
        assert_eq!(
            item(&format!("/api/scheduling/appointments/{view}/")).map(|r| r.0),
            Some("/api/scheduling/appointments/{view}/")
        );
        assert_eq!(item("/api/scheduling/appointments/nosuchview/"), None);
    }
}
