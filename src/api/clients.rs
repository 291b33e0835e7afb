//! `/api/scheduling/clients/…`: list (what the caller may see, with the members the
//! caller's role receives: `scheduling::privacy`), create, read, update and delete
//! clients. Only operators write. The row, its rules and its SQL are in
//! `scheduling::clients`.

use super::page::{respond_plain, rows_in_order, ListQuery, Page};
use crate::app::App;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::scheduling::clients::{self, Client};
use crate::scheduling::details::{with_details_events, Shown};
use crate::scheduling::privacy::{self, Object};
use crate::scheduling::{operator_only, visibility};

pub fn collection(app: &App, req: &Request, who: &Principal) -> Result<Response, ApiError> {
    if req.method() == "POST" {
        operator_only(&who.user)?;
        let c = clients::from_body(&req.json_object()?, None)?;
        let id = app.store.write(|tx| clients::insert(tx, &c))?;
        let c = app.store.read(|conn| clients::get(conn, id))?.ok_or_else(ApiError::not_found)?;
        return Ok(Response::json(201, &c.to_json()));
    }
    let page = Page::from_request(req)?;
    let q = list_query(req, who);
    app.store.read(|conn| {
        let found = q.run(conn, "clients c", "c.id", &page)?;
        page.respond_rows(req, conn, found, clients::get, |c: &Client| privacy::client_json(&who.user.role, c))
    })
}

/// GET /api/registration/register/client/ (the clinic's original frontend's client source
/// for its booking form, read as a list): the clients list's rows (what the caller may
/// see, as their role receives them, the same filters) as a plain array, at most
/// `page::MAX_PLAIN_ROWS`, with `X-Total-Count`. Read-only: clients are added with
/// `POST clients/` (operators), never by registering.
pub fn register_list(app: &App, req: &Request, who: &Principal) -> Result<Response, ApiError> {
    let q = list_query(req, who);
    app.store.read(|conn| {
        let (count, ids) = q.run(conn, "clients c", "c.id", &Page::plain())?;
        let rows = rows_in_order(conn, &ids, clients::get_many, |c: &Client| privacy::client_json(&who.user.role, c))?;
        respond_plain(count, &rows)
    })
}

/// The clients list's query: what `who` may see (`visibility::client_sql_filter`), and
/// its filters.
fn list_query(req: &Request, who: &Principal) -> ListQuery {
    let mut q = ListQuery::new("c.last_name, c.first_name, c.id");
    if let Some((f, uid)) = visibility::client_sql_filter(&who.user) {
        q.cond(f);
        q.param(":uid", uid);
    }
    // Only by what the caller receives: a match on a withheld member would reveal it.
    let mut search =
        vec!["c.first_name || ' ' || c.last_name LIKE :search ESCAPE '\\'", "c.phone_number LIKE :search ESCAPE '\\'"];
    if privacy::receives(&who.user.role, Object::Client, "email") {
        search.push("c.email LIKE :search ESCAPE '\\'");
    }
    q.search(req, &format!("({})", search.join(" OR ")));
    q.ordering(
        req,
        &[("first_name", "c.first_name"), ("last_name", "c.last_name"), ("created_at", "c.created_at"), ("id", "c.id")],
        "c.id",
    );
    q
}

pub fn item(app: &App, req: &Request, who: &Principal, id: i64) -> Result<Response, ApiError> {
    let current = app.store.read(|conn| clients::get_filtered(conn, id, visibility::client_sql_filter(&who.user)))?;
    match req.method() {
        "GET" | "HEAD" => Ok(Response::json(200, &privacy::client_json(&who.user.role, &current))),
        "DELETE" => {
            operator_only(&who.user)?;
            app.store.write(|tx| clients::delete(tx, id))?;
            Ok(Response::no_content())
        }
        m => {
            operator_only(&who.user)?;
            let body = req.json_object()?;
            let c = app.store.write(|tx| {
                with_details_events(tx, Shown::Client(id), |tx| clients::update(tx, id, &body, m == "PUT"))
            })?;
            Ok(Response::json(200, &c.to_json()))
        }
    }
}
