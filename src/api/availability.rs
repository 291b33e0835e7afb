//! `/api/scheduling/availabilities/…` (the original's paths and shapes) and
//! `staff/{id}/working_hours/`: staff slots (operators anyone's, staff their own), bulk
//! create, who is free in a window (`available_therapists/`, `available_drivers/`), the
//! booking form's list of everyone with why they are not free (`staff_for_slot/`,
//! operators), and a person's usual week. The rules are `scheduling::availability`; each
//! write is one transaction with its `availability_changed` event.

use super::page::{respond_plain, ListQuery, Page};
use crate::app::App;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::scheduling::availability::{self as avail, slots, week, Window};
use crate::scheduling::staff::PRESSURES;
use crate::scheduling::validate::Input;
use crate::scheduling::{operator_only, visibility};
use crate::store::users;
use serde_json::{json, Map, Value};

/// GET (list) / POST (one slot) availabilities/. The list is a plain array, as the
/// original's (its frontend reads `?user=&date=` as one), at most `page::MAX_PLAIN_ROWS`,
/// with `X-Total-Count`.
pub fn collection(app: &App, req: &Request, who: &Principal) -> Result<Response, ApiError> {
    if req.method() == "POST" {
        let body = req.json_object()?;
        let slot = app.store.write(|tx| slots::create(tx, &who.user, &body))?;
        return Ok(Response::json(201, &slot.to_json()));
    }
    let mut q = ListQuery::new("a.date, a.start_time, a.user_id, a.id");
    if !who.user.is_operator() {
        q.cond("a.user_id = :me");
        q.param(":me", who.user.id);
    }
    // An empty filter (`?date=`) is no filter, as in the other lists.
    let mut query = query_map(req);
    query.retain(|_, v| v != "");
    let mut i = Input::new(&query);
    for (name, op) in [("date", "="), ("date_after", ">="), ("date_before", "<=")] {
        if let Some(d) = i.date(name) {
            q.cond(format!("a.date {op} :{name}"));
            q.param(&format!(":{name}"), d.format("%Y-%m-%d").to_string());
        }
    }
    for name in ["user", "user_id"] {
        if let Some(Some(u)) = i.id(name) {
            q.cond(format!("a.user_id = :{name}"));
            q.param(&format!(":{name}"), u);
        }
    }
    q.flag(req, "is_available", "a.is_available");
    q.ordering(
        req,
        &[("date", "a.date"), ("start_time", "a.start_time"), ("user", "a.user_id"), ("id", "a.id")],
        "a.id",
    );
    i.finish()?;
    app.store.read(|conn| {
        let (count, ids) = q.run(conn, "availability a", "a.id", &Page::plain())?;
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            rows.extend(slots::get(conn, id)?.map(|s| s.to_json()));
        }
        respond_plain(count, &rows)
    })
}

/// GET / PUT / PATCH / DELETE availabilities/{id}/ (someone else's slot is a 404 to staff).
pub fn item(app: &App, req: &Request, who: &Principal, id: i64) -> Result<Response, ApiError> {
    match req.method() {
        "GET" | "HEAD" => {
            let slot = app
                .store
                .read(|c| slots::get(c, id))?
                .filter(|s| slots::can_see(&who.user, s))
                .ok_or_else(ApiError::not_found)?;
            Ok(Response::json(200, &slot.to_json()))
        }
        "DELETE" => {
            app.store.write(|tx| slots::delete(tx, &who.user, id))?;
            Ok(Response::no_content())
        }
        m => {
            let body = req.json_object()?;
            let slot = app.store.write(|tx| slots::update(tx, &who.user, id, &body, m == "PATCH"))?;
            Ok(Response::json(200, &slot.to_json()))
        }
    }
}

/// POST availabilities/bulk_create/ → 201 `{created_slots, errors}`.
pub fn bulk_create(app: &App, req: &Request, who: &Principal) -> Result<Response, ApiError> {
    let body = req.json_object()?;
    let (created, errors) = app.store.write(|tx| slots::bulk_create(tx, &who.user, &body))?;
    Ok(Response::json(201, &json!({"created_slots": created, "errors": errors})))
}

/// The query string as a JSON object of strings, for the body readers.
fn query_map(req: &Request) -> Map<String, Value> {
    req.query().into_iter().map(|(k, v)| (k, Value::String(v))).collect()
}

/// `?date=&start_time=&end_time=` as a window (400 naming each bad or missing one).
fn window(i: &mut Input) -> Option<Window> {
    for f in ["date", "start_time", "end_time"] {
        i.require(f);
    }
    let (date, start, end) = (i.date("date"), i.time("start_time"), i.time("end_time"));
    if start.is_some() && start == end {
        i.add("end_time", "Must differ from start_time (an end before the start crosses midnight).");
        return None;
    }
    Some(Window { date: date?, start: start?, end: end? })
}

/// GET availabilities/available_therapists/ or available_drivers/ (`role`): the active
/// staff of the role free for the whole window (`availability::check`), as a plain array
/// in the original's shape, with the optional `specialization` (a part of it, any case)
/// and `massage_pressure` filters for therapists.
pub fn available(app: &App, req: &Request, who: &Principal, role: &str) -> Result<Response, ApiError> {
    let query = query_map(req);
    let mut i = Input::new(&query);
    let w = window(&mut i);
    let spec = i.text("specialization", crate::scheduling::validate::MAX_SHORT).unwrap_or_default().to_lowercase();
    let pressure = match query.get("massage_pressure").and_then(Value::as_str) {
        None | Some("") => None,
        Some(_) => i.choice("massage_pressure", &PRESSURES[1..]),
    };
    i.finish()?;
    let w = w.ok_or_else(|| ApiError::field("date", "Send date, start_time and end_time."))?;
    let list = app.store.read(|c| avail::verdicts(c, role, &w, None))?;
    let out: Vec<Value> = list
        .iter()
        .filter(|(u, _)| spec.is_empty() || u.specialization.to_lowercase().contains(&spec))
        .filter(|(u, _)| pressure.as_ref().is_none_or(|p| &u.massage_pressure == p))
        .filter_map(|(u, v)| v.cover.as_ref().map(|c| avail::available_json(&who.user, u, c)))
        .collect();
    Ok(Response::json(200, &Value::Array(out)))
}

/// GET availabilities/staff_for_slot/?role=&date=&start_time=&end_time=[&appointment=]
/// (operators; the booking form): every active therapist or driver, free ones first,
/// each with `available` and, when not, `reason` and `conflict`. `appointment` is the one
/// being edited: it does not hold its own people.
pub fn staff_for_slot(app: &App, req: &Request, who: &Principal) -> Result<Response, ApiError> {
    operator_only(&who.user)?;
    let query = query_map(req);
    let mut i = Input::new(&query);
    i.require("role");
    let role = i.choice("role", &["therapist", "driver"]);
    let w = window(&mut i);
    let exclude = match query.get("appointment").and_then(Value::as_str) {
        None | Some("") => None,
        Some(_) => i.id("appointment").flatten(),
    };
    i.finish()?;
    let (Some(role), Some(w)) = (role, w) else {
        return Err(ApiError::field("role", "Send role, date, start_time and end_time."));
    };
    let mut list = app.store.read(|c| avail::verdicts(c, &role, &w, exclude))?;
    // Free first; the order within each group stays by name.
    list.sort_by_key(|(_, v)| !v.available());
    let staff: Vec<Value> = list.iter().map(|(u, v)| avail::slot_json(u, v)).collect();
    Ok(Response::json(
        200,
        &json!({
            "role": role,
            "date": w.date.format("%Y-%m-%d").to_string(),
            "start_time": w.start,
            "end_time": w.end,
            "staff": staff,
        }),
    ))
}

/// GET / PUT staff/{id}/working_hours/: a person's usual week (operators anyone's, staff
/// their own; someone else's is a 404 to staff, as their slots are).
pub fn working_hours(app: &App, req: &Request, who: &Principal, id: i64) -> Result<Response, ApiError> {
    let target = app
        .store
        .read(|c| users::get(c, id))?
        .filter(|u| visibility::can_see_account(&who.user, u))
        .filter(|u| who.user.is_operator() || u.id == who.user.id)
        .ok_or_else(ApiError::not_found)?;
    if req.method() == "PUT" {
        let body = req.json_object()?;
        let week = app.store.write(|tx| week::set(tx, &who.user, target.id, &body))?;
        return Ok(Response::json(200, &week));
    }
    Ok(Response::json(200, &app.store.read(|c| week::to_json(c, target.id))?))
}
