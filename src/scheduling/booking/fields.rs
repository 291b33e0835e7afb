//! Reading an appointment body: every writable field checked against the database (in
//! the write transaction, so what it checked still holds at commit), every problem
//! reported at once, named by field. A new booking's `client` may be a new client's
//! fields (`read_new_booking`), read by the clients' own rule and named `client.<field>`.

use crate::error::ApiError;
use crate::scheduling::appointment::Appointment;
use crate::scheduling::clients::{self, Client};
use crate::scheduling::services;
use crate::scheduling::validate::{Input, MAX_TEXT};
use crate::store::users;
use chrono::NaiveTime;
use rusqlite::Connection;
use serde_json::{Map, Value};

use crate::scheduling::workflow::{self, PAYMENT_METHOD_VALUES as PAYMENT_METHODS, PAYMENT_STATUSES};

/// The writable fields of an appointment, after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Fields {
    pub client_id: i64,
    pub service_ids: Vec<i64>,
    pub therapist_id: Option<i64>,
    /// Every therapist, lead first.
    pub therapists: Vec<i64>,
    pub driver_id: Option<i64>,
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub payment_amount_cents: Option<i64>,
    pub payment_method: String,
    pub location: String,
    pub notes: String,
    /// How many people the booking is for, at least 1 (`MAX_GROUP_SIZE` at most).
    pub group_size: i64,
    pub requires_car: bool,
    /// One of `workflow::PAYMENT_STATUSES` (an alias such as the original's `unpaid` is
    /// read as ours).
    pub payment_status: String,
}

/// The largest `group_size` a booking may give: more people than a home visit takes.
pub const MAX_GROUP_SIZE: i64 = 50;

impl Fields {
    pub fn of(a: &Appointment) -> Fields {
        Fields {
            client_id: a.client_id,
            service_ids: a.service_ids.clone(),
            therapist_id: a.therapist_id,
            therapists: a.therapist_ids(),
            driver_id: a.driver_id,
            date: a.date.clone(),
            start_time: a.start_time.clone(),
            end_time: a.end_time.clone(),
            payment_amount_cents: a.payment_amount_cents,
            payment_method: a.payment_method.clone(),
            location: a.location.clone(),
            notes: a.notes.clone(),
            group_size: a.group_size,
            requires_car: a.requires_car,
            payment_status: a.payment_status.clone(),
        }
    }
}

/// Reads and checks an appointment body against the database (in the write transaction,
/// so what it checked still holds at commit). `base`: the current appointment for PATCH;
/// `None` for POST and PUT, where client, date, start_time and a therapist are required.
pub fn read_fields(
    conn: &Connection,
    body: &Map<String, Value>,
    base: Option<&Appointment>,
) -> Result<Fields, ApiError> {
    read(conn, body, base, false).map(|(f, _)| f)
}

/// A new booking's body (POST): as `read_fields`, except that `client` may also be a new
/// client's fields (`{first_name, last_name, phone_number, address, …}`, read by the
/// clients' own rule `clients::from_body`, errors named `client.<field>`), returned
/// apart for the caller to write in the booking's transaction. `f.client_id` is then 0.
pub fn read_new_booking(conn: &Connection, body: &Map<String, Value>) -> Result<(Fields, Option<Client>), ApiError> {
    read(conn, body, None, true)
}

fn read(
    conn: &Connection,
    body: &Map<String, Value>,
    base: Option<&Appointment>,
    new_client_allowed: bool,
) -> Result<(Fields, Option<Client>), ApiError> {
    let mut i = Input::new(body);
    let mut new_client = None;
    if base.is_none() {
        i.require("client");
        i.require("date");
        i.require("start_time");
        if !given(body, "therapist") && !given(body, "therapists") {
            i.add("therapist", "Assign a therapist (therapist, or therapists for a group).");
        }
        if !given(body, "end_time") && !given(body, "services") {
            i.add("end_time", "Give end_time, or services so it can be computed.");
        }
    }
    if body.contains_key("status") {
        i.add("status", "Change the status with the workflow actions, e.g. POST appointments/{id}/cancel/.");
    }
    let old = base.map(Fields::of);
    let mut f = old.clone().unwrap_or(Fields {
        client_id: 0,
        service_ids: Vec::new(),
        therapist_id: None,
        therapists: Vec::new(),
        driver_id: None,
        date: String::new(),
        start_time: String::new(),
        end_time: String::new(),
        payment_amount_cents: None,
        payment_method: String::new(),
        location: String::new(),
        notes: String::new(),
        group_size: 1,
        requires_car: false,
        payment_status: PAYMENT_STATUSES[0].value.to_string(),
    });
    match body.get("client") {
        Some(Value::Object(o)) if new_client_allowed => new_client = read_client(&mut i, o),
        Some(Value::Object(_)) => i.add(
            "client",
            "Send the client's id; a new client is added with POST clients/ or together with a new booking.",
        ),
        _ => read_client_id(conn, &mut i, &mut f)?,
    }
    if let Some(list) = i.ids("services") {
        for s in &list {
            let already = old.as_ref().is_some_and(|o| o.service_ids.contains(s));
            match services::get(conn, *s)? {
                None => i.add("services", format!("There is no service {s}.")),
                Some(svc) if !svc.is_active && !already => {
                    i.add("services", format!("The service \"{}\" is no longer offered.", svc.name))
                }
                Some(_) => {}
            }
        }
        f.service_ids = list;
    }
    let lead = i.id_or_blank("therapist");
    let extras = i.ids("therapists");
    if lead.is_some() || extras.is_some() {
        let lead = lead.unwrap_or(f.therapist_id);
        let mut extras =
            extras.unwrap_or_else(|| f.therapists.iter().copied().filter(|t| Some(*t) != f.therapist_id).collect());
        extras.retain(|t| Some(*t) != lead);
        let mut all: Vec<i64> = lead.into_iter().collect();
        all.extend(extras);
        // A group without a named lead: the first one leads.
        f.therapist_id = lead.or_else(|| all.first().copied());
        for t in &all {
            let already = old.as_ref().is_some_and(|o| o.therapists.contains(t));
            if !already {
                check_staff(conn, &mut i, if Some(*t) == lead { "therapist" } else { "therapists" }, *t, "therapist")?;
            }
        }
        if all.is_empty() {
            i.add("therapist", "An appointment needs at least one therapist.");
        }
        f.therapists = all;
    }
    match i.id_or_blank("driver") {
        Some(Some(d)) => {
            if old.as_ref().and_then(|o| o.driver_id) != Some(d) {
                check_staff(conn, &mut i, "driver", d, "driver")?;
            }
            f.driver_id = Some(d);
        }
        Some(None) => f.driver_id = None,
        None => {}
    }
    if let Some(d) = i.date("date") {
        f.date = d.format("%Y-%m-%d").to_string();
    }
    if let Some(t) = i.time("start_time") {
        f.start_time = t;
    }
    if let Some(t) = i.time("end_time") {
        f.end_time = t;
    } else if base.is_none() && !f.start_time.is_empty() && i.errors.is_empty() {
        // No end_time: the services' total duration from start_time.
        let mut minutes = 0;
        for s in &f.service_ids {
            minutes += services::get(conn, *s)?.map_or(0, |s| s.duration);
        }
        let start = NaiveTime::parse_from_str(&f.start_time, "%H:%M:%S").expect("validated");
        let (end, wrapped) = start.overflowing_add_signed(chrono::Duration::minutes(minutes));
        if wrapped != 0 {
            i.add("end_time", "The services run past midnight; give an earlier start_time.");
        }
        f.end_time = end.format("%H:%M:%S").to_string();
    }
    if !f.start_time.is_empty() && !f.end_time.is_empty() && f.end_time <= f.start_time {
        i.add("end_time", "Must be after start_time.");
    }
    if let Some(m) = i.money("payment_amount") {
        f.payment_amount_cents = m;
    }
    match body.get("payment_method") {
        None => {}
        Some(Value::Null) => f.payment_method.clear(),
        Some(Value::String(m)) if m.is_empty() => f.payment_method.clear(),
        Some(_) => {
            if let Some(m) = i.choice("payment_method", PAYMENT_METHODS) {
                f.payment_method = m;
            }
        }
    }
    if let Some(v) = i.text("location", MAX_TEXT) {
        f.location = v;
    }
    if let Some(v) = i.text("notes", MAX_TEXT) {
        f.notes = v;
    }
    if let Some(n) = i.positive_int("group_size", MAX_GROUP_SIZE) {
        f.group_size = n;
    }
    if let Some(b) = i.boolean("requires_car") {
        f.requires_car = b;
    }
    if let Some(v) = i.text("payment_status", MAX_TEXT) {
        match workflow::payment_status(&v) {
            Some(ours) => f.payment_status = ours.to_string(),
            None => i.add("payment_status", format!("Must be one of: {}.", payment_status_names().join(", "))),
        }
    }
    i.finish()?;
    Ok((f, new_client))
}

/// `client` as an existing client's id.
fn read_client_id(conn: &Connection, i: &mut Input, f: &mut Fields) -> rusqlite::Result<()> {
    match i.id("client") {
        Some(Some(c)) => {
            if clients::get(conn, c)?.is_none() {
                i.add("client", format!("There is no client {c}."));
            }
            f.client_id = c;
        }
        Some(None) => i.add("client", "This field may not be null."),
        None => {}
    }
    Ok(())
}

/// `client` as a new client's fields: the clients' own rule, its errors as `client.<field>`.
fn read_client(i: &mut Input, o: &Map<String, Value>) -> Option<Client> {
    if o.contains_key("id") {
        i.add("client.id", "To book an existing client send its id as client; an object adds a new client.");
    }
    match clients::from_body(o, None) {
        Ok(c) => Some(c),
        Err(e) => {
            match &e.fields {
                Some(fields) => {
                    for (name, msgs) in fields.iter() {
                        for m in msgs.as_array().into_iter().flatten() {
                            i.add(&format!("client.{name}"), m.as_str().unwrap_or_default());
                        }
                    }
                }
                None => i.add("client", e.detail),
            }
            None
        }
    }
}

/// After a PUT (`read_fields` without a base): `group_size`, `requires_car` and
/// `payment_status` not in `body` stay as in `before`. A PUT replaces the booking's
/// fields, but these are extras a form may not show (the original frontend's edit form
/// leaves them out, and Django kept what a PUT did not name): a PUT must not undo a payment.
pub fn keep_unsent_extras(f: &mut Fields, body: &Map<String, Value>, before: &Appointment) {
    if !body.contains_key("group_size") {
        f.group_size = before.group_size;
    }
    if !body.contains_key("requires_car") {
        f.requires_car = before.requires_car;
    }
    if !body.contains_key("payment_status") {
        f.payment_status = before.payment_status.clone();
    }
}

/// Every `payment_status` a body may give: ours, then the original's aliases.
pub fn payment_status_names() -> Vec<&'static str> {
    PAYMENT_STATUSES.iter().map(|c| c.value).chain(workflow::PAYMENT_STATUS_ALIASES.iter().map(|a| a.0)).collect()
}

/// Is `name` in the body, not null, not `""` and not an empty list?
fn given(body: &Map<String, Value>, name: &str) -> bool {
    match body.get(name) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

/// Records a field error unless user `id` exists, is active and has `role`.
pub(super) fn check_staff(conn: &Connection, i: &mut Input, field: &str, id: i64, role: &str) -> rusqlite::Result<()> {
    match users::get(conn, id)? {
        None => i.add(field, format!("There is no staff member {id}.")),
        Some(u) if u.role != role => i.add(field, format!("{} is a {}, not a {role}.", u.full_name(), u.role)),
        Some(u) if !u.is_active => i.add(field, format!("{} is deactivated.", u.full_name())),
        Some(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fixture::clinic;
    use super::*;
    use serde_json::json;

    /// The field names an error names (none when the body reads).
    fn problems(c: &super::super::fixture::Clinic, body: Value, base: Option<&Appointment>) -> Vec<String> {
        let body = body.as_object().unwrap().clone();
        match c.store.read(|conn| read_fields(conn, &body, base)) {
            Ok(_) => vec![],
            Err(e) => e.fields.map(|f| f.keys().cloned().collect()).unwrap_or_default(),
        }
    }

    fn read(c: &super::super::fixture::Clinic, body: Value, base: Option<&Appointment>) -> Fields {
        let body = body.as_object().unwrap().clone();
        c.store.read(|conn| read_fields(conn, &body, base)).expect("valid body")
    }

    #[test]
    fn a_new_booking_names_every_missing_field_at_once() {
        let c = clinic();
        assert_eq!(problems(&c, json!({}), None), ["client", "date", "end_time", "start_time", "therapist"]);
        let p = problems(
            &c,
            json!({"client": 1, "therapist": c.t[0].id, "date": "2030-05-01", "start_time": "10:00", "end_time": "11:00", "status": "completed"}),
            None,
        );
        assert_eq!(p, ["status"], "the status moves only with the workflow actions");
    }

    #[test]
    fn references_must_exist_be_active_and_have_the_right_role() {
        let c = clinic();
        let ok = json!({"client": 1, "therapist": c.t[0].id, "date": "2030-05-01", "start_time": "10:00", "end_time": "11:00"});
        let with = |k: &str, v: Value| {
            let mut b = ok.clone();
            b[k] = v;
            b
        };
        assert_eq!(problems(&c, ok.clone(), None), Vec::<String>::new());
        assert_eq!(problems(&c, with("client", json!(99)), None), ["client"]);
        assert_eq!(problems(&c, with("services", json!([99])), None), ["services"]);
        assert_eq!(problems(&c, with("services", json!([2])), None), ["services"], "no longer offered");
        assert_eq!(problems(&c, with("therapist", json!(c.d[0].id)), None), ["therapist"], "a driver is no therapist");
        assert_eq!(problems(&c, with("driver", json!(c.t[1].id)), None), ["driver"]);
        c.store.write(|tx| users::set_active(tx, c.d[1].id, false)).unwrap();
        assert_eq!(problems(&c, with("driver", json!(c.d[1].id)), None), ["driver"], "deactivated");
        assert_eq!(problems(&c, with("payment_method", json!("bitcoin")), None), ["payment_method"]);
        assert_eq!(problems(&c, with("end_time", json!("09:00")), None), ["end_time"], "before the start");
        assert_eq!(problems(&c, with("date", json!("2030-02-30")), None), ["date"]);
    }

    #[test]
    fn the_end_follows_the_services_unless_given() {
        let c = clinic();
        let body =
            json!({"client": 1, "therapist": c.t[0].id, "date": "2030-05-01", "start_time": "10:00", "services": [1]});
        assert_eq!(read(&c, body.clone(), None).end_time, "11:00:00");
        let mut late = body.clone();
        late["start_time"] = json!("23:30");
        assert_eq!(problems(&c, late, None), ["end_time"], "past midnight");
        let mut given = body;
        given["end_time"] = json!("10:30");
        assert_eq!(read(&c, given, None).end_time, "10:30:00");
    }

    #[test]
    fn a_group_has_one_lead_and_no_duplicates() {
        let c = clinic();
        let (t1, t2, t3) = (c.t[0].id, c.t[1].id, c.t[2].id);
        let base = json!({"client": 1, "date": "2030-05-01", "start_time": "10:00", "end_time": "11:00"});
        let mut no_lead = base.clone();
        no_lead["therapists"] = json!([t2, t3]);
        let f = read(&c, no_lead, None);
        assert_eq!((f.therapist_id, f.therapists.clone()), (Some(t2), vec![t2, t3]), "the first one leads");
        let mut lead_twice = base;
        lead_twice["therapist"] = json!(t1);
        lead_twice["therapists"] = json!([t1, t2]);
        let f = read(&c, lead_twice, None);
        assert_eq!((f.therapist_id, f.therapists), (Some(t1), vec![t1, t2]));
    }

    #[test]
    fn a_patch_keeps_what_it_does_not_name() {
        let c = clinic();
        let a = c.book(json!({"therapist": c.t[0].id, "therapists": [c.t[1].id], "driver": c.d[0].id, "services": [1],
            "date": "2030-05-01", "start_time": "10:00", "location": "Makati"}));
        // The service is withdrawn after booking: the appointment may keep it.
        c.store.write(|tx| tx.execute("UPDATE services SET is_active = 0 WHERE id = 1", [])).unwrap();
        let f = read(&c, json!({"notes": "gate code 12", "services": [1]}), Some(&a));
        assert_eq!(f.notes, "gate code 12");
        assert_eq!(Fields { notes: String::new(), ..f }, Fields::of(&a));
        assert_eq!(read(&c, json!({"driver": null}), Some(&a)).driver_id, None);
        assert_eq!(read(&c, json!({"payment_amount": "12.50"}), Some(&a)).payment_amount_cents, Some(1250));
    }
}
