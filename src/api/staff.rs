//! `/api/scheduling/staff/…`: every staff member reads the list (to see who is who on a
//! board) — operators every account in full; therapists and drivers the active ones
//! without contact details (`visibility::staff_sql_filter`, `privacy::account_json`);
//! only operators create, edit, deactivate and delete accounts. The rules are in
//! `scheduling::staff`; the password is hashed here, before the write lock is taken,
//! because hashing is slow on purpose.

use super::page::{rows_in_order, ListQuery, Page};
use crate::app::App;
use crate::auth::{password, Principal};
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::scheduling::details::{with_details_events, Shown};
use crate::scheduling::{operator_only, privacy, staff, visibility};
use crate::store::users::{self, ROLES};
use serde_json::json;

pub fn collection(app: &App, req: &Request, who: &Principal) -> Result<Response, ApiError> {
    if req.method() == "POST" {
        operator_only(&who.user)?;
        return create(app, req);
    }
    let page = Page::from_request(req)?;
    let q = list_query(req, who, req.query_param("role"));
    app.store.read(|conn| {
        let found = q.run(conn, "users u", "u.id", &page)?;
        page.respond_rows(req, conn, found, users::get, |u| privacy::account_json(&who.user, u))
    })
}

/// GET staff/active_staff/?role=therapist|driver|operator|all (the clinic's original
/// frontend's staff picker): `{staff, count, filter}` — the active accounts of the role
/// (`filter`: the role asked, or "all"), in the staff list's order and shape for the
/// caller, at most `page::MAX_PLAIN_ROWS`; `count` is how many matched. The staff list's
/// other filters (`search`, `ordering`) apply too.
pub fn active(app: &App, req: &Request, who: &Principal) -> Result<Response, ApiError> {
    let role = req.query_param("role").filter(|r| !r.is_empty() && r != "all");
    let filter = role.clone().unwrap_or_else(|| "all".into());
    let mut q = list_query(req, who, role);
    q.cond("u.is_active = 1");
    app.store.read(|conn| {
        let (count, ids) = q.run(conn, "users u", "u.id", &Page::plain())?;
        let staff = rows_in_order(conn, &ids, users::get_many, |u| privacy::account_json(&who.user, u))?;
        Ok(Response::json(200, &json!({"staff": staff, "count": count, "filter": filter})))
    })
}

/// The staff list's query: what `who` may list (`visibility::staff_sql_filter`), of
/// `role` if given, and the list's filters.
fn list_query(req: &Request, who: &Principal, role: Option<String>) -> ListQuery {
    let mut q = ListQuery::new("u.role, u.username");
    if let Some(f) = visibility::staff_sql_filter(&who.user) {
        q.cond(f);
    }
    if let Some(r) = role.filter(|v| !v.is_empty()) {
        if ROLES.contains(&r.as_str()) {
            q.cond("u.role = :role");
            q.param(":role", r);
        } else {
            q.errors.add("role", format!("Must be one of: {}.", ROLES.join(", ")));
        }
    }
    q.flag(req, "is_active", "u.is_active");
    q.search(
        req,
        "(u.username LIKE :search ESCAPE '\\' OR u.first_name || ' ' || u.last_name LIKE :search ESCAPE '\\')",
    );
    q.ordering(
        req,
        &[("username", "u.username"), ("last_name", "u.last_name"), ("role", "u.role"), ("id", "u.id")],
        "u.id",
    );
    q
}

fn create(app: &App, req: &Request) -> Result<Response, ApiError> {
    let (u, pw) = staff::from_body(&req.json_object()?)?;
    app.store.read(|c| staff::check_username_free(c, &u.username))?;
    let iterations = app.settings.hashing.password_iterations;
    let hash = app.logins.gate.run(|| password::hash(&pw, iterations))?;
    let id = app.store.write(|tx| staff::insert(tx, &u, &hash))?;
    let user = app.store.read(|c| users::get(c, id))?.ok_or_else(ApiError::not_found)?;
    log::info!("staff account {} ({}) created", user.username, user.role);
    Ok(Response::json(201, &user.to_json()))
}

pub fn item(app: &App, req: &Request, who: &Principal, id: i64) -> Result<Response, ApiError> {
    let current = app
        .store
        .read(|c| users::get(c, id))?
        .filter(|u| visibility::can_see_account(&who.user, u))
        .ok_or_else(ApiError::not_found)?;
    match req.method() {
        "GET" | "HEAD" => Ok(Response::json(200, &privacy::account_json(&who.user, &current))),
        "DELETE" => {
            operator_only(&who.user)?;
            app.store.write(|tx| staff::delete(tx, &who.user, id))?;
            Ok(Response::no_content())
        }
        _ => {
            operator_only(&who.user)?;
            let body = req.json_object()?;
            let user = app
                .store
                .write(|tx| with_details_events(tx, Shown::Staff(id), |tx| staff::update(tx, &who.user, id, &body)))?;
            Ok(Response::json(200, &user.to_json()))
        }
    }
}
