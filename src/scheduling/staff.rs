//! `staff/`: the clinic's accounts by role. Every staff member reads the list (to see who
//! is who on a board); only operators write. `PATCH staff/{id}/ {"is_active": false}`
//! deactivates through `auth::deactivate`, which also ends the user's sessions and
//! closes their sockets. Roles do not change (appointments depend on them); usernames are
//! fixed once created. Passwords are set at creation, and later with `user passwd`.

use super::booking::{self, Shown};
use super::operator_only;
use super::page::{like, ListQuery, Page};
use super::validate::{Input, MAX_SHORT};
use crate::app::App;
use crate::auth::{self, authenticate, password};
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::store::users::{self, NewUser, User, ROLES};
use rusqlite::params;
use serde_json::{Map, Value};

pub fn collection(app: &App, req: &Request) -> Result<Response, ApiError> {
    let who = authenticate(app, req)?;
    if req.method() == "POST" {
        operator_only(&who)?;
        return create(app, &req.json_object()?);
    }
    let page = Page::from_request(req)?;
    let mut q = ListQuery::new("u.role, u.username");
    if let Some(r) = req.query_param("role").filter(|v| !v.is_empty()) {
        if ROLES.contains(&r.as_str()) {
            q.cond("u.role = :role");
            q.param(":role", r);
        } else {
            q.errors.add("role", format!("Must be one of: {}.", ROLES.join(", ")));
        }
    }
    match req.query_param("is_active").as_deref() {
        None | Some("") => {}
        Some("true") | Some("1") => q.cond("u.is_active = 1"),
        Some("false") | Some("0") => q.cond("u.is_active = 0"),
        Some(_) => q.errors.add("is_active", "Must be true or false."),
    }
    if let Some(s) = req.query_param("search").filter(|s| !s.trim().is_empty()) {
        q.cond("(u.username LIKE :search ESCAPE '\\' OR u.first_name || ' ' || u.last_name LIKE :search ESCAPE '\\')");
        q.param(":search", like(s.trim()));
    }
    q.ordering(
        req,
        &[("username", "u.username"), ("last_name", "u.last_name"), ("role", "u.role"), ("id", "u.id")],
        "u.id",
    );
    app.store.read(|conn| {
        let found = q.run(conn, "users u", "u.id", &page)?;
        page.respond_rows(req, conn, found, users::get, users::User::to_json)
    })
}

fn create(app: &App, body: &Map<String, Value>) -> Result<Response, ApiError> {
    let mut i = Input::new(body);
    for f in ["username", "password", "role"] {
        i.require(f);
    }
    let username = i.text("username", MAX_SHORT).unwrap_or_default();
    if !username.is_empty() && !username.chars().all(|c| c.is_alphanumeric() || "@.+-_".contains(c)) {
        i.add("username", "Use letters, digits and @ . + - _ only.");
    }
    let role = i.choice("role", &ROLES).unwrap_or_default();
    let pw = match body.get("password") {
        Some(Value::String(p)) => p.clone(),
        Some(Value::Null) | None => String::new(),
        Some(_) => {
            i.add("password", "Must be a string.");
            String::new()
        }
    };
    if !pw.is_empty() {
        if let Err(e) = auth::check_new_password("password", &username, &pw) {
            for (k, v) in e.fields.map(|f| *f).unwrap_or_default() {
                for m in v.as_array().into_iter().flatten() {
                    i.add(&k, m.as_str().unwrap_or_default());
                }
            }
        }
    }
    let mut u = NewUser { username: username.clone(), role, ..Default::default() };
    profile(&mut i, &mut u.first_name, &mut u.last_name, &mut u.email, &mut u.phone_number, &mut u.specialization);
    i.finish()?;
    if app.store.read(|c| users::by_username(c, &username))?.is_some() {
        return Err(ApiError::field("username", "A user with that username already exists."));
    }
    // Hash before taking the write lock: hashing is slow on purpose.
    let iterations = app.settings.hashing.password_iterations;
    let hash = app.logins.gate.run(|| password::hash(&pw, iterations))?;
    let id = app.store.write(|tx| -> Result<i64, ApiError> {
        if users::by_username(tx, &username)?.is_some() {
            return Err(ApiError::field("username", "A user with that username already exists."));
        }
        Ok(users::insert(tx, &u, &hash)?)
    })?;
    let user = app.store.read(|c| users::get(c, id))?.ok_or_else(ApiError::not_found)?;
    log::info!("staff account {} ({}) created", user.username, user.role);
    Ok(Response::json(201, &user.to_json()))
}

/// The editable profile fields, kept when absent.
fn profile(
    i: &mut Input,
    first: &mut String,
    last: &mut String,
    email: &mut String,
    phone: &mut String,
    spec: &mut String,
) {
    for (name, slot) in [
        ("first_name", first),
        ("last_name", last),
        ("email", email),
        ("phone_number", phone),
        ("specialization", spec),
    ] {
        if let Some(v) = i.text(name, MAX_SHORT) {
            if name == "email" && !v.is_empty() && !v.contains('@') {
                i.add("email", "Enter a valid email address.");
            }
            *slot = v;
        }
    }
}

pub fn item(app: &App, req: &Request, id: i64) -> Result<Response, ApiError> {
    let who = authenticate(app, req)?;
    let current = app.store.read(|c| users::get(c, id))?.ok_or_else(ApiError::not_found)?;
    match req.method() {
        "GET" | "HEAD" => Ok(Response::json(200, &current.to_json())),
        "DELETE" => {
            operator_only(&who)?;
            if id == who.user.id {
                return Err(ApiError::forbidden("You cannot delete your own account."));
            }
            app.store.write(|tx| -> Result<(), ApiError> {
                let used: i64 = tx.query_row(
                    "SELECT (SELECT COUNT(*) FROM appointments WHERE therapist_id = ?1 OR driver_id = ?1 OR operator_id = ?1)
                          + (SELECT COUNT(*) FROM appointment_therapists WHERE therapist_id = ?1)",
                    [id],
                    |r| r.get(0),
                )?;
                if used > 0 {
                    return Err(ApiError::conflict("This account appears on appointments; deactivate it instead (PATCH is_active false)."));
                }
                auth::revoke(tx, id, None)?;
                tx.execute("DELETE FROM users WHERE id = ?1", [id])?;
                Ok(())
            })?;
            Ok(Response::no_content())
        }
        _ => {
            operator_only(&who)?;
            update(app, &who.user, id, &req.json_object()?)
        }
    }
}

fn update(app: &App, me: &User, id: i64, body: &Map<String, Value>) -> Result<Response, ApiError> {
    let user = app.store.write(|tx| -> Result<User, ApiError> {
        // Read inside the write transaction: a PATCH keeps what it does not name as it is
        // now, not as first read, so two operators editing different fields both keep theirs.
        let mut u = users::get(tx, id)?.ok_or_else(ApiError::not_found)?;
        let mut i = Input::new(body);
        if body.get("role").is_some_and(|r| r.as_str() != Some(u.role.as_str())) {
            i.add("role", "A role cannot change; create a new account for the new role.");
        }
        if body.get("username").is_some_and(|r| r.as_str() != Some(u.username.as_str())) {
            i.add("username", "A username cannot change.");
        }
        if body.contains_key("password") {
            i.add("password", "Set passwords with `royal-care user passwd`, or the user's own change-password.");
        }
        profile(&mut i, &mut u.first_name, &mut u.last_name, &mut u.email, &mut u.phone_number, &mut u.specialization);
        let active = i.boolean("is_active");
        if active == Some(false) && u.id == me.id {
            i.add("is_active", "You cannot deactivate your own account.");
        }
        i.finish()?;
        // Appointments show staff (name, phone, is_active) in their *_details.
        booking::with_details_events(tx, Shown::Staff(id), |tx| -> rusqlite::Result<()> {
            tx.execute(
                "UPDATE users SET first_name = ?2, last_name = ?3, email = ?4, phone_number = ?5, specialization = ?6 WHERE id = ?1",
                params![id, u.first_name, u.last_name, u.email, u.phone_number, u.specialization],
            )?;
            match active {
                Some(false) if u.is_active => auth::deactivate(tx, id)?,
                Some(true) if !u.is_active => {
                    users::set_active(tx, id, true)?;
                }
                _ => {}
            }
            Ok(())
        })?;
        users::get(tx, id)?.ok_or_else(ApiError::not_found)
    })?;
    Ok(Response::json(200, &user.to_json()))
}
