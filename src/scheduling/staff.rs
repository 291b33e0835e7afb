//! Staff accounts as the scheduling rules see them: reading a new account from a request
//! body, what an edit may change, and when an account may be deleted. The row itself is
//! `store::users`. Roles do not change (appointments depend on them); usernames are fixed
//! once created; users edit their own name, email and phone (`update_own`);
//! `is_active: false` deactivates through `auth::deactivate`, which also
//! ends the user's sessions and closes their sockets. Passwords are set at creation, and
//! later with `user passwd`. The HTTP side is `api::staff`.

use super::validate::{Input, MAX_SHORT};
use crate::auth;
use crate::error::ApiError;
use crate::store::users::{self, NewUser, User, ROLES};
use crate::store::Tx;
use rusqlite::params;
use serde_json::{Map, Value};

/// The editable profile fields of a new account (`NewUser`) or an existing one (`User`),
/// each kept when absent from the body.
macro_rules! profile_fields {
    ($u:expr) => {
        [
            ("first_name", &mut $u.first_name),
            ("last_name", &mut $u.last_name),
            ("email", &mut $u.email),
            ("phone_number", &mut $u.phone_number),
            ("specialization", &mut $u.specialization),
            ("massage_pressure", &mut $u.massage_pressure),
            ("license_number", &mut $u.license_number),
            ("motorcycle_plate", &mut $u.motorcycle_plate),
        ]
    };
}

/// A new account from a POST body: the user and the password to hash (checked against
/// Django's basic rules). Whether the username is free is checked on insert.
pub fn from_body(body: &Map<String, Value>) -> Result<(NewUser, String), ApiError> {
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
    let mut u = NewUser { username, role, ..Default::default() };
    profile(&mut i, profile_fields!(u));
    i.finish()?;
    Ok((u, pw))
}

fn username_taken() -> ApiError {
    ApiError::field("username", "A user with that username already exists.")
}

/// 400 if the username is taken (a quick check before the slow hash).
pub fn check_username_free(conn: &rusqlite::Connection, username: &str) -> Result<(), ApiError> {
    match users::by_username(conn, username)? {
        Some(_) => Err(username_taken()),
        None => Ok(()),
    }
}

/// Adds the account with its password hash; returns its id.
pub fn insert(tx: &Tx, u: &NewUser, hash: &str) -> Result<i64, ApiError> {
    check_username_free(tx, &u.username)?;
    Ok(users::insert(tx, u, hash)?)
}

/// Deletes account `id` unless it is `me` or appears on appointments (then deactivate).
pub fn delete(tx: &mut Tx, me: &User, id: i64) -> Result<(), ApiError> {
    if id == me.id {
        return Err(ApiError::forbidden("You cannot delete your own account."));
    }
    let used: i64 = tx.query_row(
        "SELECT (SELECT COUNT(*) FROM appointments WHERE therapist_id = ?1 OR driver_id = ?1 OR operator_id = ?1)
              + (SELECT COUNT(*) FROM appointment_therapists WHERE therapist_id = ?1)",
        [id],
        |r| r.get(0),
    )?;
    if used > 0 {
        return Err(ApiError::conflict(
            "This account appears on appointments; deactivate it instead (PATCH is_active false).",
        ));
    }
    auth::revoke(tx, id, None)?;
    tx.execute("DELETE FROM users WHERE id = ?1", [id])?;
    Ok(())
}

/// The pressures a therapist may prefer ("" for none), as the original's choices.
pub const PRESSURES: [&str; 4] = ["", "soft", "moderate", "hard"];

fn profile<const N: usize>(i: &mut Input, fields: [(&str, &mut String); N]) {
    for (name, slot) in fields {
        if let Some(v) = i.text(name, MAX_SHORT) {
            if name == "email" && !v.is_empty() && !v.contains('@') {
                i.add("email", "Enter a valid email address.");
            }
            if name == "massage_pressure" && !PRESSURES.contains(&v.as_str()) {
                i.add("massage_pressure", "Choose soft, moderate or hard (or leave it empty).");
            }
            *slot = v;
        }
    }
}

/// Applies a PATCH/PUT body to account `id`, edited by `me`; returns the account. (Run
/// it inside `details::with_details_events`: appointments show staff — name, phone,
/// is_active — in their `*_details`.)
pub fn update(tx: &mut Tx, me: &User, id: i64, body: &Map<String, Value>) -> Result<User, ApiError> {
    {
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
        profile(&mut i, profile_fields!(u));
        let active = i.boolean("is_active");
        if active == Some(false) && u.id == me.id {
            i.add("is_active", "You cannot deactivate your own account.");
        }
        i.finish()?;
        tx.execute(
            "UPDATE users SET first_name = ?2, last_name = ?3, email = ?4, phone_number = ?5, specialization = ?6,
                              massage_pressure = ?7, license_number = ?8, motorcycle_plate = ?9 WHERE id = ?1",
            params![
                id,
                u.first_name,
                u.last_name,
                u.email,
                u.phone_number,
                u.specialization,
                u.massage_pressure,
                u.license_number,
                u.motorcycle_plate
            ],
        )?;
        match active {
            Some(false) if u.is_active => auth::deactivate(tx, id)?,
            Some(true) if !u.is_active => {
                users::set_active(tx, id, true)?;
            }
            _ => {}
        }
        users::get(tx, id)?.ok_or_else(ApiError::not_found)
    }
}

/// What a user may change of their own account (`PUT`/`PATCH /api/auth/profile/`): their
/// name, email and phone, checked as an operator's edit checks them. The rest of the
/// account is the clinic's to set (role, username, active, a therapist's specialization
/// and pressure, a driver's licence and plate): naming one with another value than it has
/// is a 400 naming the field, so a client that sends back the object it read is fine.
/// Members that are not part of the account (`id`, `email_verified`, …) are ignored.
/// (Run it inside `details::with_details_events`, as `update`.)
pub fn update_own(tx: &mut Tx, me: &User, body: &Map<String, Value>) -> Result<User, ApiError> {
    let mut u = users::get(tx, me.id)?.ok_or_else(ApiError::not_found)?;
    let mut i = Input::new(body);
    let fixed: [(&str, Value); 7] = [
        ("role", Value::from(u.role.as_str())),
        ("username", Value::from(u.username.as_str())),
        ("is_active", Value::from(u.is_active)),
        ("specialization", Value::from(u.specialization.as_str())),
        ("massage_pressure", Value::from(u.massage_pressure.as_str())),
        ("license_number", Value::from(u.license_number.as_str())),
        ("motorcycle_plate", Value::from(u.motorcycle_plate.as_str())),
    ];
    for (name, current) in fixed {
        if body.get(name).is_some_and(|v| *v != current && !(v.is_null() && current.as_str() == Some(""))) {
            i.add(name, "Only an operator can change this; ask one (your profile edits name, email and phone).");
        }
    }
    if body.contains_key("password") {
        i.add("password", "Change your password with POST /api/auth/change-password/.");
    }
    profile(
        &mut i,
        [
            ("first_name", &mut u.first_name),
            ("last_name", &mut u.last_name),
            ("email", &mut u.email),
            ("phone_number", &mut u.phone_number),
        ],
    );
    i.finish()?;
    tx.execute(
        "UPDATE users SET first_name = ?2, last_name = ?3, email = ?4, phone_number = ?5 WHERE id = ?1",
        params![u.id, u.first_name, u.last_name, u.email, u.phone_number],
    )?;
    users::get(tx, u.id)?.ok_or_else(ApiError::not_found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::booking::fixture::user;
    use crate::store::Store;
    use serde_json::json;

    /// The staff PATCH goes through `auth::deactivate`'s rule: when the editing operator
    /// was deactivated by someone else just after their request was authenticated, the
    /// other, last active operator is not deactivated.
    #[test]
    fn a_patch_cannot_deactivate_the_last_active_operator() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let ana = user(&store, "ana", "operator");
        let ben = user(&store, "ben", "operator");
        store.write(|tx| users::set_active(tx, ben.id, false)).unwrap();
        let body = json!({"is_active": false});
        let e = store.write(|tx| update(tx, &ben, ana.id, body.as_object().unwrap())).unwrap_err();
        let why = &e.fields.as_ref().unwrap()["is_active"][0];
        assert!(why.as_str().unwrap().contains("last active operator"), "{why}");
        assert!(store.read(|c| users::get(c, ana.id)).unwrap().unwrap().is_active);
    }
}
