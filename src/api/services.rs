//! `/api/scheduling/services/…`: every staff member reads the services; operators create,
//! update and delete them. The row and its SQL are in `scheduling::services`.

use super::page::{ListQuery, Page};
use crate::app::App;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::scheduling::details::{with_details_events, Shown};
use crate::scheduling::operator_only;
use crate::scheduling::services::{self, Service};

pub fn collection(app: &App, req: &Request, who: &Principal) -> Result<Response, ApiError> {
    if req.method() == "POST" {
        operator_only(&who.user)?;
        let s = services::from_body(&req.json_object()?, None)?;
        let id = app.store.write(|tx| services::insert(tx, &s))?;
        let s = app.store.read(|c| services::get(c, id))?.ok_or_else(ApiError::not_found)?;
        return Ok(Response::json(201, &s.to_json()));
    }
    let page = Page::from_request(req)?;
    let mut q = ListQuery::new("s.name, s.id");
    q.flag(req, "is_active", "s.is_active");
    q.search(req, "s.name LIKE :search ESCAPE '\\'");
    q.ordering(
        req,
        &[("name", "s.name"), ("price", "s.price_cents"), ("duration", "s.duration"), ("id", "s.id")],
        "s.id",
    );
    app.store.read(|conn| {
        let found = q.run(conn, "services s", "s.id", &page)?;
        page.respond_rows(req, conn, found, services::get, Service::to_json)
    })
}

pub fn item(app: &App, req: &Request, who: &Principal, id: i64) -> Result<Response, ApiError> {
    let current = app.store.read(|c| services::get(c, id))?.ok_or_else(ApiError::not_found)?;
    match req.method() {
        "GET" | "HEAD" => Ok(Response::json(200, &current.to_json())),
        "DELETE" => {
            operator_only(&who.user)?;
            app.store.write(|tx| services::delete(tx, id))?;
            Ok(Response::no_content())
        }
        m => {
            operator_only(&who.user)?;
            let body = req.json_object()?;
            let s = app.store.write(|tx| {
                with_details_events(tx, Shown::Service(id), |tx| services::update(tx, id, &body, m == "PUT"))
            })?;
            Ok(Response::json(200, &s.to_json()))
        }
    }
}
