//! `/api/scheduling/appointments/…`: read the request, call `booking` inside one
//! `store.write` (change + events commit together), answer in the one appointment shape
//! plus the caller's `allowed_actions`. Routing itself is the table in `crate::api`.
//! Before reading or changing appointments, overdue `pending` ones are cancelled, so no
//! caller ever sees (or confirms) an appointment the server should already have cancelled.

use super::page::{respond_plain_raw, ListQuery, Page};
use crate::app::App;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::maintenance::auto_cancel_overdue;
use crate::scheduling::appointment::{self, Appointment};
use crate::scheduling::privacy::{self, Object};
use crate::scheduling::validate::{expected_version, parse_date, parse_id};
use crate::scheduling::views::{self, Days, Shape, View};
use crate::scheduling::{booking, summary, visibility, workflow};
use serde_json::{Map, Value};

/// One appointment for the caller, with its version as the `ETag`.
fn answer(app: &App, who: &Principal, status: u16, a: &Appointment) -> Result<Response, ApiError> {
    let v = app.store.read(|c| appointment::for_user(c, a, &who.user))?;
    Ok(Response::json(status, &v).header("ETag", &format!("\"{}\"", a.version)))
}

/// A written appointment for the caller: the JSON the write built (the one its events
/// carry), as the caller receives it (`appointment::answer_for`); nothing is read again.
fn written(who: &Principal, status: u16, w: booking::Written) -> Response {
    let v = appointment::answer_for(w.json, &w.appointment, &who.user);
    Response::json(status, &v).header("ETag", &format!("\"{}\"", w.appointment.version))
}

/// The body as an object; an action without fields may send no body at all.
fn body_or_empty(req: &Request) -> Result<Map<String, Value>, ApiError> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        Ok(Map::new())
    } else {
        req.json_object()
    }
}

pub fn collection(app: &App, req: &Request, who: &Principal) -> Result<Response, ApiError> {
    auto_cancel_overdue(app)?;
    if req.method() == "POST" {
        let body = req.json_object()?;
        let w = app.store.write(|tx| booking::create(tx, &who.user, &body))?;
        let location = format!("/api/scheduling/appointments/{}/", w.appointment.id);
        return Ok(written(who, 201, w).header("Location", &location));
    }
    let page = Page::from_request(req)?;
    let q = list_query(req, who)?;
    respond_list(app, req, who, q, Some(page))
}

/// GET appointments/<view>/ (`scheduling::views`): the main list's query (visibility and
/// every filter) plus the view's conditions; a page, or a plain array as the original
/// answered (`page::MAX_PLAIN_ROWS` at most, with `X-Total-Count`).
pub fn view(app: &App, req: &Request, who: &Principal, v: &'static View) -> Result<Response, ApiError> {
    auto_cancel_overdue(app)?;
    let page = match v.shape {
        Shape::Page => Some(Page::from_request(req)?),
        Shape::Plain => None,
    };
    let mut q = list_query(req, who)?;
    let today = crate::time::today();
    let mut week_start = views::monday_of(today);
    if v.days == Days::Week {
        if let Some(w) = req.query_param("week_start").filter(|w| !w.is_empty()) {
            match parse_date(&w) {
                Some(d) => week_start = d,
                None => q.errors.add("week_start", "Must be a date as YYYY-MM-DD (the first of the 7 days)."),
            }
        }
    }
    for (cond, params) in v.sql(today, week_start) {
        q.cond(cond);
        for (name, value) in params {
            q.param(name, value);
        }
    }
    respond_list(app, req, who, q, page)
}

/// Runs an appointment list query and answers `page` of it, or (`None`) a plain array.
/// A page is answered from `App::list_pages` when a read of the same database state
/// (`store::ReadVersion`) built it for the same key (`page_key`); see docs/PERFORMANCE.md.
fn respond_list(app: &App, req: &Request, who: &Principal, q: ListQuery, page: Option<Page>) -> Answer {
    let read = page.unwrap_or_else(Page::plain);
    let key = page.map(|_| page_key(req, who));
    // One read transaction: the count, the page and its related rows come from the
    // same snapshot (and the WAL read lock is taken once, not per query).
    app.store.read_at(|snapshot, version| -> Result<_, ApiError> {
        if let Some(bytes) = key.as_deref().and_then(|k| app.list_pages.get(version, k)) {
            return Ok(Response::shared(200, "application/json", bytes));
        }
        let (count, ids) = q.run(snapshot, "appointments a", "a.id", &read)?;
        let appts = appointment::load_many(snapshot, &ids)?;
        let answer = appointment::with_rest_json(snapshot, &appts, &who.user, |out| match page {
            Some(page) => page.respond_raw(req, count, |buf| appointment::write_list(out, buf)),
            None => {
                let mut buf = Vec::new();
                appointment::write_list(out, &mut buf);
                Ok(respond_plain_raw(count, buf))
            }
        })??;
        if let Some(key) = key.filter(|_| answer.status == 200) {
            app.list_pages.put(version, key, answer.body.clone());
        }
        Ok(answer)
    })
}

/// Everything a page's bytes depend on besides the database's content: the caller
/// (visibility, what their role receives, their `allowed_actions`), the path and query
/// (the view, filters, order, page), the scheme and host its `next`/`previous` links
/// name, and the clinic's day (boards and day views).
fn page_key(req: &Request, who: &Principal) -> String {
    let c = req.client();
    format!(
        "{} {} {} {}://{} {}?{}",
        who.user.id,
        who.user.role,
        crate::time::today(),
        c.scheme,
        c.host,
        req.path(),
        req.head.query
    )
}

type Answer = Result<Response, ApiError>;

/// The list filters of SPEC §4 over what the caller may see.
fn list_query(req: &Request, who: &Principal) -> Result<ListQuery, ApiError> {
    let mut q = ListQuery::new("a.date, a.start_time, a.id");
    if let Some((f, uid)) = visibility::sql_filter(&who.user) {
        q.cond(f);
        q.param(":uid", uid);
    }
    // `?board=true`: only what the caller's live board holds (the socket's `initial_data`).
    match req.query_param("board").as_deref() {
        None | Some("" | "0" | "false") => {}
        Some("1" | "true") => {
            q.cond(visibility::board_sql(&who.user));
            q.param(":today", visibility::today());
        }
        Some(_) => q.errors.add("board", "Must be true (only what is on your live board) or false."),
    }
    for (name, op) in [("date", "="), ("date_after", ">="), ("date_before", "<=")] {
        if let Some(v) = req.query_param(name).filter(|v| !v.is_empty()) {
            match parse_date(&v) {
                Some(d) => {
                    q.cond(format!("a.date {op} :{name}"));
                    q.param(&format!(":{name}"), d.format("%Y-%m-%d").to_string());
                }
                None => q.errors.add(name, "Must be a date as YYYY-MM-DD."),
            }
        }
    }
    let mut statuses: Vec<String> = Vec::new();
    if let Some(s) = req.query_param("status").filter(|v| !v.is_empty()) {
        statuses.push(s);
    }
    if let Some(s) = req.query_param("status__in").filter(|v| !v.is_empty()) {
        statuses.extend(s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()));
    }
    if !statuses.is_empty() {
        if let Some(bad) = statuses.iter().find(|s| !workflow::STATUSES.contains(&s.as_str())) {
            q.errors.add(
                if req.query_param("status").as_deref() == Some(bad) { "status" } else { "status__in" },
                format!("Unknown status {bad:?}; use one of: {}.", workflow::STATUSES.join(", ")),
            );
        } else {
            // Only names from the fixed list reach the SQL text.
            let list: Vec<String> = statuses.iter().map(|s| format!("'{s}'")).collect();
            q.cond(format!("a.status IN ({})", list.join(", ")));
        }
    }
    for (name, cond) in [
        ("therapist", "EXISTS (SELECT 1 FROM appointment_therapists ft WHERE ft.appointment_id = a.id AND ft.therapist_id = :therapist)"),
        ("driver", "a.driver_id = :driver"),
        ("client", "a.client_id = :client"),
    ] {
        if let Some(v) = req.query_param(name).filter(|v| !v.is_empty()) {
            match parse_id(&Value::String(v)) {
                Some(id) => {
                    q.cond(cond);
                    q.param(&format!(":{name}"), id);
                }
                None => q.errors.add(name, "Must be an id."),
            }
        }
    }
    // Only by what the caller receives: a match on withheld notes would reveal them.
    let notes = if privacy::receives(&who.user.role, Object::Appointment, "notes") {
        " OR a.notes LIKE :search ESCAPE '\\'"
    } else {
        ""
    };
    q.search(
        req,
        &format!(
            "(a.location LIKE :search ESCAPE '\\'{notes} OR EXISTS (SELECT 1 FROM clients c WHERE c.id = a.client_id
              AND (c.first_name || ' ' || c.last_name LIKE :search ESCAPE '\\' OR c.phone_number LIKE :search ESCAPE '\\')))"
        ),
    );
    q.ordering(
        req,
        &[
            ("date", "a.date"),
            ("start_time", "a.start_time"),
            ("end_time", "a.end_time"),
            ("status", "a.status"),
            ("created_at", "a.created_at"),
            ("updated_at", "a.updated_at"),
            ("id", "a.id"),
        ],
        "a.id",
    );
    Ok(q)
}

pub fn item(app: &App, req: &Request, who: &Principal, id: i64) -> Result<Response, ApiError> {
    auto_cancel_overdue(app)?;
    let if_match = req.header("if-match");
    match req.method() {
        "GET" | "HEAD" => {
            let a = app.store.read(|c| booking::load_visible(c, &who.user, id))?;
            answer(app, who, 200, &a)
        }
        "DELETE" => {
            let expected = expected_version(if_match, None)?;
            app.store.write(|tx| booking::delete(tx, &who.user, id, expected))?;
            Ok(Response::no_content())
        }
        m => {
            let body = req.json_object()?;
            let expected = expected_version(if_match, Some(&body))?;
            // A PATCH naming a status is the one workflow step leading there (how the
            // clinic's original frontend moves appointments); a PUT may not name one.
            let w = if m == "PATCH" && body.contains_key("status") {
                app.store.write(|tx| booking::patch_status(tx, &who.user, id, &body, expected))?
            } else {
                app.store.write(|tx| booking::update(tx, &who.user, id, &body, m == "PATCH", expected))?
            };
            Ok(written(who, 200, w))
        }
    }
}

/// GET appointments/daily_summary/?date= (operators): `scheduling::summary::daily`.
pub fn daily_summary(app: &App, req: &Request, who: &Principal) -> Result<Response, ApiError> {
    visibility::operator_only(&who.user)
        .map_err(|_| ApiError::forbidden("Only operators may read the daily summary; ask an operator."))?;
    auto_cancel_overdue(app)?;
    let date = match req.query_param("date").filter(|d| !d.is_empty()) {
        None => crate::time::today(),
        Some(d) => parse_date(&d).ok_or_else(|| ApiError::field("date", "Must be a date as YYYY-MM-DD."))?,
    };
    let date = date.format("%Y-%m-%d").to_string();
    let v = app.store.read(|c| summary::daily(c, &date))?;
    Ok(Response::json(200, &v))
}

/// POST appointments/{id}/<action>/ for an action of the transition table.
pub fn action(
    app: &App,
    req: &Request,
    who: &Principal,
    id: i64,
    t: &'static workflow::Transition,
) -> Result<Response, ApiError> {
    auto_cancel_overdue(app)?;
    let body = body_or_empty(req)?;
    let expected = expected_version(req.header("if-match"), Some(&body))?;
    let w = app.store.write(|tx| booking::step(tx, &who.user, id, t, &body, expected))?;
    Ok(written(who, 200, w))
}
