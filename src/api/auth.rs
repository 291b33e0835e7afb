//! `/api/auth/…`: login, logout, logoutall, profile (read, and edit your own name, email
//! and phone), change-password, with Knox's request and response shapes. The rules are in
//! `crate::auth` and `scheduling::staff`; this file reads the request and shapes the answer.

use crate::app::App;
use crate::auth::Principal;
use crate::error::{ApiError, FieldErrors};
use crate::http::{Request, Response};
use crate::scheduling::details::{with_details_events, Shown};
use crate::scheduling::staff;
use serde_json::{json, Map, Value};

pub fn logout(app: &App, who: &Principal) -> Result<Response, ApiError> {
    app.auth().logout(who)?;
    Ok(Response::no_content())
}

pub fn logout_all(app: &App, who: &Principal) -> Result<Response, ApiError> {
    app.auth().logout_all(who)?;
    Ok(Response::no_content())
}

/// `GET` the logged-in user; `PUT`/`PATCH` their own name, email and phone
/// (`scheduling::staff::update_own`; both keep what the body does not name), with the
/// same events as an operator's edit, so appointments showing them refresh.
pub fn profile(app: &App, req: &Request, who: &Principal) -> Result<Response, ApiError> {
    if matches!(req.method(), "GET" | "HEAD") {
        return Ok(Response::json(200, &who.user.to_json()));
    }
    let body = req.json_object()?;
    let me = &who.user;
    let user =
        app.store.write(|tx| with_details_events(tx, Shown::Staff(me.id), |tx| staff::update_own(tx, me, &body)))?;
    Ok(Response::json(200, &user.to_json()))
}

/// The string members `names` of a JSON body, all required.
pub fn required_strings<'a>(body: &'a Map<String, Value>, names: &[&str]) -> Result<Vec<&'a str>, ApiError> {
    let mut errors = FieldErrors::default();
    let mut out = Vec::new();
    for n in names {
        match body.get(*n) {
            Some(Value::String(s)) if !s.is_empty() => out.push(s.as_str()),
            Some(Value::String(_)) | None | Some(Value::Null) => errors.add(n, "This field is required."),
            Some(_) => errors.add(n, "Must be a string."),
        }
    }
    errors.check()?;
    Ok(out)
}

pub fn login(app: &App, req: &Request) -> Result<Response, ApiError> {
    let body = req.json_object()?;
    let v = required_strings(&body, &["username", "password"])?;
    let grant = app.auth().login(v[0], v[1], req.client().ip)?;
    Ok(Response::json(200, &json!({"token": grant.token, "expiry": grant.expiry, "user": grant.user.to_json()}))
        .header("Cache-Control", "no-store"))
}

pub fn change_password(app: &App, req: &Request, who: &Principal) -> Result<Response, ApiError> {
    let body = req.json_object()?;
    let v = required_strings(&body, &["current_password", "new_password"])?;
    app.auth().change_password(who, v[0], v[1], req.client().ip)?;
    Ok(Response::json(200, &json!({"detail": "Password changed; your other sessions were logged out."})))
}
