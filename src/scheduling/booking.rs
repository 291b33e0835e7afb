//! Every change to an appointment, each inside one write transaction together with its
//! event rows: create, update, delete, a workflow step, and the server's auto-cancel.
//! The double-booking check runs here, inside the transaction (`BEGIN IMMEDIATE` holds
//! the write lock), so two concurrent requests cannot both take the same slot.
//!
//! Events (SPEC §5): `appointment_created` {appointment, created_by},
//! `appointment_updated` {appointment, updated_fields}, `appointment_deleted`
//! {appointment_id, deleted_by}, all to `visibility::audience`; a user removed from an
//! appointment gets `appointment_deleted` (it left their view); `notification`s go to
//! exactly the users concerned. An edit of a client, service or staff row that
//! appointments show runs through `with_details_events`, which sends those appointments'
//! `appointment_updated` through the same builder (`emit_updated`).

use super::appointment::{self, Appointment};
use super::validate::{Input, MAX_TEXT};
use super::{services, visibility, workflow};
use crate::error::ApiError;
use crate::events::{
    Audience, EventDraft, APPOINTMENT_CREATED, APPOINTMENT_DELETED, APPOINTMENT_UPDATED, NOTIFICATION,
};
use crate::store::users::{self, User};
use crate::store::Tx;
use chrono::NaiveTime;
use rusqlite::{params, Connection, ToSql};
use serde_json::{json, Map, Value};

pub const PAYMENT_METHODS: &[&str] = workflow::PAYMENT_METHOD_VALUES;

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
}

impl Fields {
    fn of(a: &Appointment) -> Fields {
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
    let mut i = Input::new(body);
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
    });
    match i.id("client") {
        Some(Some(c)) => {
            if super::clients::get(conn, c)?.is_none() {
                i.add("client", format!("There is no client {c}."));
            }
            f.client_id = c;
        }
        Some(None) => i.add("client", "This field may not be null."),
        None => {}
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
    let lead = i.id("therapist");
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
    match i.id("driver") {
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
    i.finish()?;
    Ok(f)
}

/// Is `name` in the body, not null and not an empty list?
fn given(body: &Map<String, Value>, name: &str) -> bool {
    match body.get(name) {
        None | Some(Value::Null) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

/// Records a field error unless user `id` exists, is active and has `role`.
fn check_staff(conn: &Connection, i: &mut Input, field: &str, id: i64, role: &str) -> rusqlite::Result<()> {
    match users::get(conn, id)? {
        None => i.add(field, format!("There is no staff member {id}.")),
        Some(u) if u.role != role => i.add(field, format!("{} is a {}, not a {role}.", u.full_name(), u.role)),
        Some(u) if !u.is_active => i.add(field, format!("{} is deactivated.", u.full_name())),
        Some(_) => {}
    }
    Ok(())
}

/// 409 CONFLICT if any of `f`'s staff has another active appointment overlapping it.
pub fn check_conflicts(conn: &Connection, id: Option<i64>, f: &Fields) -> Result<(), ApiError> {
    let inactive: Vec<String> = workflow::INACTIVE.iter().map(|s| format!("'{s}'")).collect();
    let overlap = format!(
        "a.date = ?2 AND a.start_time < ?4 AND a.end_time > ?3 AND a.id != ?5 AND a.status NOT IN ({})",
        inactive.join(", ")
    );
    let self_id = id.unwrap_or(0);
    let mut staff: Vec<(i64, &str)> = f.therapists.iter().map(|t| (*t, "therapist")).collect();
    if let Some(d) = f.driver_id {
        staff.push((d, "driver"));
    }
    for (uid, role) in staff {
        let sql = if role == "driver" {
            format!("SELECT a.id, a.start_time, a.end_time FROM appointments a WHERE a.driver_id = ?1 AND {overlap} ORDER BY a.start_time LIMIT 1")
        } else {
            format!(
                "SELECT a.id, a.start_time, a.end_time FROM appointments a JOIN appointment_therapists t ON t.appointment_id = a.id
                 WHERE t.therapist_id = ?1 AND {overlap} ORDER BY a.start_time LIMIT 1"
            )
        };
        let clash: Option<(i64, String, String)> = {
            let mut st = conn.prepare_cached(&sql)?;
            let mut rows = st.query(params![uid, f.date, f.start_time, f.end_time, self_id])?;
            match rows.next()? {
                Some(r) => Some((r.get(0)?, r.get(1)?, r.get(2)?)),
                None => None,
            }
        };
        if let Some((other, s, e)) = clash {
            let name = users::get(conn, uid)?.map(|u| u.full_name()).unwrap_or_default();
            return Err(ApiError::conflict(format!(
                "The {role} {name} already has appointment {other} from {} to {} that day; choose another time or {role}.",
                &s[..5],
                &e[..5]
            ))
            .with_extra("conflicts", json!([{"user": uid, "role": role, "appointment": other}])));
        }
    }
    Ok(())
}

fn check_version(a: &Appointment, expected: Option<i64>) -> Result<(), ApiError> {
    match expected {
        Some(v) if v != a.version => Err(ApiError::stale().with_extra("version", json!(a.version))),
        _ => Ok(()),
    }
}

/// The appointment if `who` may see it, else 404.
pub fn load_visible(conn: &Connection, who: &User, id: i64) -> Result<Appointment, ApiError> {
    match appointment::load(conn, id)? {
        Some(a) if visibility::can_see(who, &a) => Ok(a),
        _ => Err(ApiError::not_found()),
    }
}

/// 403 for staff who can see the appointment but may not edit it (only operators do).
fn operator_only(who: &User) -> Result<(), ApiError> {
    if who.is_operator() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "Only operators create, edit, cancel and delete appointments; use the workflow actions.",
        ))
    }
}

fn write_staff(tx: &Tx, id: i64, f: &Fields, keep: &[(i64, Option<String>)]) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM appointment_therapists WHERE appointment_id = ?1", [id])?;
    for t in &f.therapists {
        let confirmed = keep.iter().find(|k| k.0 == *t).and_then(|k| k.1.clone());
        tx.execute(
            "INSERT INTO appointment_therapists (appointment_id, therapist_id, confirmed_at) VALUES (?1, ?2, ?3)",
            params![id, t, confirmed],
        )?;
    }
    tx.execute("DELETE FROM appointment_services WHERE appointment_id = ?1", [id])?;
    for s in &f.service_ids {
        tx.execute("INSERT INTO appointment_services (appointment_id, service_id) VALUES (?1, ?2)", params![id, s])?;
    }
    Ok(())
}

fn notify(
    tx: &mut Tx,
    audience: Audience,
    appointment_id: i64,
    kind: &str,
    title: &str,
    message: String,
    appt: &Value,
) -> rusqlite::Result<()> {
    if audience.users.is_empty() && !audience.operators {
        return Ok(());
    }
    tx.emit(EventDraft {
        kind: NOTIFICATION,
        appointment_id: Some(appointment_id),
        audience,
        payload: json!({
            "notification_type": kind,
            "title": title,
            "message": message,
            "data": {"appointment_id": appointment_id, "appointment": appt},
        }),
    })?;
    Ok(())
}

fn summary(a: &Appointment) -> String {
    format!("appointment {} on {} at {}", a.id, a.date, &a.start_time[..5])
}

/// The members of two renderings of one appointment that differ, among those `counts`.
fn changed_fields(old: &Value, new: &Value, counts: impl Fn(&str) -> bool) -> Vec<String> {
    let new = new.as_object().expect("object");
    new.iter().filter(|(k, v)| counts(k) && old.get(k.as_str()) != Some(*v)).map(|(k, _)| k.clone()).collect()
}

/// Members computed from other rows (clients, services, users), not the appointment's own.
fn is_shown_detail(key: &str) -> bool {
    key.ends_with("_details") || key.starts_with("total_")
}

/// The one `appointment_updated` event: `json` (the one shape of `a`) to `a`'s audience.
fn emit_updated(tx: &mut Tx, a: &Appointment, json: &Value, updated_fields: &[String]) -> rusqlite::Result<()> {
    tx.emit(EventDraft {
        kind: APPOINTMENT_UPDATED,
        appointment_id: Some(a.id),
        audience: visibility::audience(a),
        payload: json!({"appointment": json, "updated_fields": updated_fields}),
    })?;
    Ok(())
}

/// A row that appointments show in their `*_details`: a client, a service, or a staff
/// member (as therapist, group therapist, driver or operator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Client(i64),
    Service(i64),
    Staff(i64),
}

impl Shown {
    /// SQL on alias `a` with parameter `:id`: the appointments that show this row.
    fn sql(self) -> (&'static str, i64) {
        match self {
            Shown::Client(id) => ("a.client_id = :id", id),
            Shown::Service(id) => (
                "EXISTS (SELECT 1 FROM appointment_services s WHERE s.appointment_id = a.id AND s.service_id = :id)",
                id,
            ),
            Shown::Staff(id) => (
                "(a.therapist_id = :id OR a.driver_id = :id OR a.operator_id = :id OR EXISTS \
                 (SELECT 1 FROM appointment_therapists t WHERE t.appointment_id = a.id AND t.therapist_id = :id))",
                id,
            ),
        }
    }
}

/// The most appointments one client, service or staff edit sends events for (the
/// soonest ones). It keeps one edit's burst well under a socket's queue
/// (`hub::QUEUE_FRAMES`), so an edit cannot get every operator's socket closed as slow.
pub const DETAILS_EVENTS_MAX: usize = 200;

/// Runs `change`, an edit of the row `shown`, and then, in the same transaction, emits
/// `appointment_updated` for every appointment that shows the row and may be on a live
/// board (`appointment::on_a_board`) and whose details did change, with `updated_fields`
/// naming the changed `*_details` / `total_*` members. The appointments' own `version`
/// and `updated_at` stay as they are: the appointment itself did not change, and an
/// operator's edit of it in flight must not become `STALE` because a client moved house.
/// Past `DETAILS_EVENTS_MAX` appointments the later ones get no event (logged); screens
/// show their new details on their next load.
pub fn with_details_events<T, E: From<rusqlite::Error>>(
    tx: &mut Tx,
    shown: Shown,
    change: impl FnOnce(&mut Tx) -> Result<T, E>,
) -> Result<T, E> {
    let (clause, id) = shown.sql();
    let today = appointment::today();
    let order = format!("a.date, a.start_time, a.id LIMIT {}", DETAILS_EVENTS_MAX + 1);
    let mut ids = appointment::ids_where(
        tx,
        &format!("{clause} AND {}", appointment::on_a_board()),
        &order,
        &[(":id", &id), (":today", &today)],
    )?;
    if ids.len() > DETAILS_EVENTS_MAX {
        ids.truncate(DETAILS_EVENTS_MAX);
        log::warn!(
            "{shown:?} changed: more than {DETAILS_EVENTS_MAX} current appointments show it; \
             events went out for the {DETAILS_EVENTS_MAX} soonest, the others show it on their next load"
        );
    }
    let shown_on = appointment::load_many(tx, &ids)?;
    let before = appointment::to_json_many(tx, &shown_on)?;
    let out = change(tx)?;
    let after = appointment::to_json_many(tx, &shown_on)?;
    for ((a, old), new) in shown_on.iter().zip(&before).zip(after) {
        let changed = changed_fields(old, &new, is_shown_detail);
        if !changed.is_empty() {
            emit_updated(tx, a, &new, &changed)?;
        }
    }
    Ok(out)
}

/// Emits `appointment_updated` (and `appointment_deleted` to anyone who lost sight of it,
/// a notification to anyone newly assigned) after `before` became `after`.
fn emit_update(tx: &mut Tx, before: &Appointment, after: &Appointment) -> rusqlite::Result<Value> {
    let old_json = appointment::to_json(tx, before)?;
    let new_json = appointment::to_json(tx, after)?;
    let changed = changed_fields(&old_json, &new_json, |k| {
        !(is_shown_detail(k) || k == "allowed_actions_by_role" || k == "updated_at" || k == "version")
    });
    emit_updated(tx, after, &new_json, &changed)?;
    let (was, now) = (before.assignees(), after.assignees());
    let removed: Vec<i64> = was.iter().copied().filter(|u| !now.contains(u)).collect();
    if !removed.is_empty() {
        tx.emit(EventDraft {
            kind: APPOINTMENT_DELETED,
            appointment_id: Some(after.id),
            audience: Audience::only(removed),
            // `version`: a copy newer than this (re-assigned later) comes back into view.
            payload: json!({"appointment_id": after.id, "deleted_by": Value::Null, "reason": "unassigned", "version": after.version}),
        })?;
    }
    let added: Vec<i64> = now.iter().copied().filter(|u| !was.contains(u)).collect();
    notify(
        tx,
        Audience::only(added),
        after.id,
        "appointment_assigned",
        "New assignment",
        format!("You were assigned to {}.", summary(after)),
        &new_json,
    )?;
    Ok(new_json)
}

fn reload(conn: &Connection, id: i64) -> Result<Appointment, ApiError> {
    appointment::load(conn, id)?
        .ok_or_else(|| ApiError::internal(format_args!("appointment {id} vanished in its own transaction")))
}

/// POST appointments/: returns the new appointment.
pub fn create(tx: &mut Tx, who: &User, body: &Map<String, Value>) -> Result<Appointment, ApiError> {
    operator_only(who)?;
    let f = read_fields(tx, body, None)?;
    check_conflicts(tx, None, &f)?;
    let now = crate::time::now_iso();
    tx.execute(
        "INSERT INTO appointments (client_id, therapist_id, driver_id, operator_id, date, start_time, end_time, status,
            payment_amount_cents, payment_method, location, notes, pending_since, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9, ?10, ?11, ?12, ?12, ?12)",
        params![
            f.client_id,
            f.therapist_id,
            f.driver_id,
            who.id,
            f.date,
            f.start_time,
            f.end_time,
            f.payment_amount_cents,
            f.payment_method,
            f.location,
            f.notes,
            now
        ],
    )?;
    let id = tx.last_insert_rowid();
    write_staff(tx, id, &f, &[])?;
    let a = reload(tx, id)?;
    let j = appointment::to_json(tx, &a)?;
    tx.emit(EventDraft {
        kind: APPOINTMENT_CREATED,
        appointment_id: Some(id),
        audience: visibility::audience(&a),
        payload: json!({"appointment": j, "created_by": who.id}),
    })?;
    notify(
        tx,
        Audience::only(a.assignees()),
        id,
        "appointment_assigned",
        "New assignment",
        format!("You were assigned to {}.", summary(&a)),
        &j,
    )?;
    Ok(a)
}

/// PATCH / PUT appointments/{id}/.
pub fn update(
    tx: &mut Tx,
    who: &User,
    id: i64,
    body: &Map<String, Value>,
    partial: bool,
    expected: Option<i64>,
) -> Result<Appointment, ApiError> {
    let before = load_visible(tx, who, id)?;
    operator_only(who)?;
    check_version(&before, expected)?;
    let f = read_fields(tx, body, if partial { Some(&before) } else { None })?;
    if f == Fields::of(&before) {
        return Ok(before);
    }
    if workflow::is_active(&before.status) {
        check_conflicts(tx, Some(id), &f)?;
    }
    // A new therapist on an appointment waiting for (or past) confirmation must confirm
    // too: a `therapist_confirmed` appointment goes back to `pending`.
    let now = crate::time::now_iso();
    let new_therapist = f.therapists.iter().any(|t| !before.therapists.iter().any(|b| b.0 == *t));
    let back_to_pending = new_therapist && before.status == "therapist_confirmed";
    tx.execute(
        "UPDATE appointments SET client_id = ?2, therapist_id = ?3, driver_id = ?4, date = ?5, start_time = ?6, end_time = ?7,
            payment_amount_cents = ?8, payment_method = ?9, location = ?10, notes = ?11, version = version + 1, updated_at = ?12,
            status = CASE WHEN ?13 THEN 'pending' ELSE status END,
            pending_since = CASE WHEN ?13 THEN ?12 ELSE pending_since END,
            therapist_confirmed_at = CASE WHEN ?13 THEN NULL ELSE therapist_confirmed_at END
         WHERE id = ?1",
        params![id, f.client_id, f.therapist_id, f.driver_id, f.date, f.start_time, f.end_time, f.payment_amount_cents, f.payment_method, f.location, f.notes, now, back_to_pending],
    )?;
    write_staff(tx, id, &f, &before.therapists)?;
    let after = reload(tx, id)?;
    emit_update(tx, &before, &after)?;
    Ok(after)
}

/// DELETE appointments/{id}/.
pub fn delete(tx: &mut Tx, who: &User, id: i64, expected: Option<i64>) -> Result<(), ApiError> {
    let a = load_visible(tx, who, id)?;
    operator_only(who)?;
    check_version(&a, expected)?;
    tx.emit(EventDraft {
        kind: APPOINTMENT_DELETED,
        appointment_id: Some(id),
        audience: visibility::audience(&a),
        payload: json!({"appointment_id": id, "deleted_by": who.id, "version": a.version}),
    })?;
    tx.execute("DELETE FROM appointments WHERE id = ?1", [id])?;
    Ok(())
}

/// POST appointments/{id}/<action>/: one step of the transition table. Each of the row's
/// inputs is read by its declared kind and written to its target column (or picks the
/// outcome); nothing here knows a particular action's fields.
pub fn step(
    tx: &mut Tx,
    who: &User,
    id: i64,
    t: &workflow::Transition,
    body: &Map<String, Value>,
    expected: Option<i64>,
) -> Result<Appointment, ApiError> {
    use workflow::{Kind, Status, Target};
    let before = load_visible(tx, who, id)?;
    let allowed = before.allowed_actions(who);
    let action = t.action.as_str();
    if !t.who.allows_role(&who.role) {
        return Err(ApiError::forbidden(format!(
            "Only the {} may do {}; see allowed_actions for what you may do.",
            t.who.describe(),
            action
        ))
        .with_extra("allowed_actions", json!(allowed)));
    }
    let from = Status::parse(&before.status);
    if !from.is_some_and(|s| t.from.contains(&s)) || !allowed.contains(&action) {
        let why = if t.per_therapist && before.confirmed_by(who.id) {
            "You have already confirmed; the other therapists of the group still have to.".to_string()
        } else {
            format!(
                "The appointment is {}, so it cannot {} now; {}.",
                before.status.replace('_', " "),
                action.replace('_', " "),
                if allowed.is_empty() {
                    "there is nothing for you to do on it".to_string()
                } else {
                    format!("you may: {}", allowed.join(", "))
                }
            )
        };
        return Err(ApiError::new(409, "INVALID_STATUS", why)
            .with_extra("allowed_actions", json!(allowed))
            .with_extra("status", json!(before.status)));
    }
    check_version(&before, expected)?;

    let mut i = Input::new(body);
    for r in t.required() {
        i.require(r);
    }
    // The columns this step sets besides status, version, updated_at and its stamp.
    let mut sets: Vec<(&str, Box<dyn ToSql>)> = Vec::new();
    let mut outcome = t.outcomes[0];
    for input in t.inputs {
        let name = input.name;
        let value: Option<Box<dyn ToSql>> = match input.kind {
            _ if !input.required && !i.has(name) => input.default.map(|d| Box::new(d) as Box<dyn ToSql>),
            Kind::Text { max, .. } => i.text(name, max).map(|v| Box::new(v) as Box<dyn ToSql>),
            Kind::Money => i.money(name).flatten().map(|c| Box::new(c) as Box<dyn ToSql>),
            Kind::Choice(_) => {
                let v = i.choice(name, &input.kind.values());
                if let (Some(v), Target::Outcome) = (&v, input.target) {
                    outcome =
                        *t.outcomes.iter().find(|o| o.when == Some(v.as_str())).expect("an outcome for every choice");
                }
                v.map(|v| Box::new(v) as Box<dyn ToSql>)
            }
            Kind::Staff(role) => match i.id(name).flatten() {
                Some(d) => {
                    check_staff(tx, &mut i, name, d, role)?;
                    Some(Box::new(d))
                }
                None => None,
            },
        };
        if let (Some(v), Target::Column(column)) = (value, input.target) {
            sets.push((column, v));
        }
    }
    for (column, v) in t.sets {
        sets.push((column, Box::new(*v)));
    }
    i.finish()?;

    let now = crate::time::now_iso();
    let mut to = outcome.to;
    if t.per_therapist {
        tx.execute(
            "UPDATE appointment_therapists SET confirmed_at = ?3 WHERE appointment_id = ?1 AND therapist_id = ?2",
            params![id, who.id, now],
        )?;
        let waiting: i64 = tx.query_row(
            "SELECT COUNT(*) FROM appointment_therapists WHERE appointment_id = ?1 AND confirmed_at IS NULL",
            [id],
            |r| r.get(0),
        )?;
        if waiting > 0 {
            to = from.expect("checked above"); // the group is not complete yet
        }
    }
    if to == Status::Pending && from != Some(Status::Pending) {
        // Pending again (a denied rejection): the auto-cancel clock restarts.
        sets.push(("pending_since", Box::new(now.clone())));
    }
    if let Some(stamp) = outcome.stamp.filter(|_| to == outcome.to) {
        sets.push((stamp, Box::new(now.clone())));
    }
    sets.push(("status", Box::new(to.as_str())));
    sets.push(("updated_at", Box::new(now)));
    let assignments: Vec<String> = sets.iter().enumerate().map(|(n, (c, _))| format!("{c} = ?{}", n + 2)).collect();
    let sql = format!("UPDATE appointments SET {}, version = version + 1 WHERE id = ?1", assignments.join(", "));
    let mut values: Vec<&dyn ToSql> = vec![&id];
    values.extend(sets.iter().map(|(_, v)| v.as_ref()));
    tx.execute(&sql, values.as_slice())?;

    let after = reload(tx, id)?;
    if workflow::is_active(&after.status) && !workflow::is_active(&before.status) {
        check_conflicts(tx, Some(id), &Fields::of(&after))?;
    }
    let j = emit_update(tx, &before, &after)?;
    match t.action {
        workflow::Action::Reject => notify(
            tx,
            Audience::operators_and([]),
            id,
            "appointment_rejected",
            "Appointment rejected",
            format!("{} rejected {}: {}", who.full_name(), summary(&after), after.rejection_reason),
            &j,
        )?,
        workflow::Action::RequestPickup => notify(
            tx,
            Audience::operators_and([]),
            id,
            "pickup_requested",
            "Pickup requested",
            format!("{} asks to be picked up after {} ({}).", who.full_name(), summary(&after), after.pickup_urgency),
            &j,
        )?,
        _ => {}
    }
    Ok(after)
}

/// Cancels appointments `pending` since before `cutoff`; returns how many.
pub fn auto_cancel(tx: &mut Tx, cutoff: &str) -> rusqlite::Result<usize> {
    let ids: Vec<i64> = {
        let mut st = tx.prepare_cached(
            "SELECT id FROM appointments WHERE status = 'pending' AND pending_since < ?1 ORDER BY id",
        )?;
        let rows = st.query_map([cutoff], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let o = workflow::row(workflow::AUTO_CANCEL).outcomes[0];
    for id in &ids {
        let Some(before) = appointment::load(tx, *id)? else {
            continue;
        };
        let now = crate::time::now_iso();
        tx.execute(
            &format!(
                "UPDATE appointments SET status = ?2, {} = ?3, updated_at = ?3, version = version + 1 WHERE id = ?1",
                o.stamp.unwrap_or("updated_at")
            ),
            params![id, o.to.as_str(), now],
        )?;
        let Some(after) = appointment::load(tx, *id)? else {
            continue;
        };
        let j = emit_update(tx, &before, &after)?;
        notify(
            tx,
            Audience::operators_and(after.assignees()),
            *id,
            "appointment_auto_cancelled",
            "Appointment cancelled automatically",
            format!("Nobody confirmed {} in time, so it was cancelled.", summary(&after)),
            &j,
        )?;
    }
    Ok(ids.len())
}
