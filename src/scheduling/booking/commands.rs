//! The changes themselves, each in the caller's write transaction: create, update
//! (PATCH/PUT), delete, a workflow step, and the server's auto-cancel. Each returns the
//! appointment with its JSON built once (`Written`), the same JSON its events carry.

use super::conflicts::check_conflicts;
use super::events::{emit_update, notify, summary};
use super::fields::{check_staff, keep_unsent_extras, read_fields, read_new_booking, Fields};
use crate::error::{ApiError, ErrorCode};
use crate::events::{Audience, EventDraft, APPOINTMENT_CREATED, APPOINTMENT_DELETED};
use crate::scheduling::appointment::{self, Appointment};
use crate::scheduling::validate::Input;
use crate::scheduling::{clients, operator_only, visibility, workflow};
use crate::store::users::User;
use crate::store::Tx;
use rusqlite::{params, Connection, ToSql};
use serde_json::{json, Map, Value};

/// A written appointment and its one JSON shape (as in its events), built once.
#[derive(Debug, Clone)]
pub struct Written {
    pub appointment: Appointment,
    pub json: Value,
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

fn write_staff(tx: &Tx, id: i64, f: &Fields, keep: &[(i64, Option<String>)]) -> rusqlite::Result<()> {
    // Cached statements: every booking and edit runs these.
    tx.prepare_cached("DELETE FROM appointment_therapists WHERE appointment_id = ?1")?.execute([id])?;
    let mut add = tx.prepare_cached(
        "INSERT INTO appointment_therapists (appointment_id, therapist_id, confirmed_at) VALUES (?1, ?2, ?3)",
    )?;
    for t in &f.therapists {
        let confirmed = keep.iter().find(|k| k.0 == *t).and_then(|k| k.1.clone());
        add.execute(params![id, t, confirmed])?;
    }
    tx.prepare_cached("DELETE FROM appointment_services WHERE appointment_id = ?1")?.execute([id])?;
    let mut add = tx.prepare_cached("INSERT INTO appointment_services (appointment_id, service_id) VALUES (?1, ?2)")?;
    for s in &f.service_ids {
        add.execute(params![id, s])?;
    }
    Ok(())
}

fn reload(conn: &Connection, id: i64) -> Result<Appointment, ApiError> {
    appointment::load(conn, id)?
        .ok_or_else(|| ApiError::internal(format_args!("appointment {id} vanished in its own transaction")))
}

/// POST appointments/: returns the new appointment. `client` may be a new client's
/// fields instead of an id: that client is written here, in the booking's transaction, so
/// a refused booking (bad field, double booking) leaves no client behind. A booking sent
/// without a `location` (absent, null or blank) is at the client's address, new or not.
pub fn create(tx: &mut Tx, who: &User, body: &Map<String, Value>) -> Result<Written, ApiError> {
    operator_only(who)?;
    let (mut f, new_client) = read_new_booking(tx, body)?;
    check_conflicts(tx, None, &f)?;
    let address = match new_client {
        Some(c) => {
            f.client_id = clients::insert(tx, &c)?;
            c.address
        }
        None => clients::get(tx, f.client_id)?.map(|c| c.address).unwrap_or_default(),
    };
    if f.location.is_empty() {
        f.location = address;
    }
    let now = crate::time::now_iso();
    tx.prepare_cached(
        "INSERT INTO appointments (client_id, therapist_id, driver_id, operator_id, date, start_time, end_time, status,
            payment_amount_cents, payment_method, location, notes, pending_since, created_at, updated_at,
            group_size, requires_car, payment_status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9, ?10, ?11, ?12, ?12, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
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
        now,
        f.group_size,
        f.requires_car,
        f.payment_status
    ])?;
    let id = tx.last_insert_rowid();
    write_staff(tx, id, &f, &[])?;
    let a = reload(tx, id)?;
    let j = appointment::to_json(tx, &a)?;
    let audience = visibility::audience(&a);
    let payload = appointment::with_actions_for(tx, &a, &audience, json!({"appointment": j, "created_by": who.id}))?;
    tx.emit(EventDraft { kind: APPOINTMENT_CREATED, appointment_id: Some(id), audience, payload })?;
    notify(
        tx,
        Audience::only(a.assignees()),
        &a,
        "appointment_assigned",
        format!("You were assigned to {}.", summary(&a)),
        &j,
    )?;
    Ok(Written { appointment: a, json: j })
}

/// PATCH / PUT appointments/{id}/.
pub fn update(
    tx: &mut Tx,
    who: &User,
    id: i64,
    body: &Map<String, Value>,
    partial: bool,
    expected: Option<i64>,
) -> Result<Written, ApiError> {
    let before = load_visible(tx, who, id)?;
    operator_only(who)?;
    check_version(&before, expected)?;
    let mut f = read_fields(tx, body, if partial { Some(&before) } else { None })?;
    if !partial {
        keep_unsent_extras(&mut f, body, &before);
    }
    if f == Fields::of(&before) {
        let json = appointment::to_json(tx, &before)?;
        return Ok(Written { appointment: before, json });
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
            therapist_confirmed_at = CASE WHEN ?13 THEN NULL ELSE therapist_confirmed_at END,
            group_size = ?14, requires_car = ?15, payment_status = ?16
         WHERE id = ?1",
        params![id, f.client_id, f.therapist_id, f.driver_id, f.date, f.start_time, f.end_time, f.payment_amount_cents, f.payment_method, f.location, f.notes, now, back_to_pending, f.group_size, f.requires_car, f.payment_status],
    )?;
    write_staff(tx, id, &f, &before.therapists)?;
    let after = reload(tx, id)?;
    let json = emit_update(tx, &before, &after)?;
    Ok(Written { appointment: after, json })
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
        payload: json!({"appointment_id": id, "appointment": appointment::deleted_stub(&a), "deleted_by": who.id, "version": a.version}),
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
) -> Result<Written, ApiError> {
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
        return Err(ApiError::new(ErrorCode::InvalidStatus, why)
            .with_extra("allowed_actions", json!(allowed))
            .with_extra("status", json!(before.status)));
    }
    check_version(&before, expected)?;

    let mut i = Input::new(body);
    // Each input by its name, or else by the first of its aliases the body has (errors
    // name the field as it was sent).
    let key = |input: &workflow::Input| -> &'static str {
        std::iter::once(input.name)
            .chain(input.aliases.iter().copied())
            .find(|k| body.contains_key(*k))
            .unwrap_or(input.name)
    };
    for input in t.inputs {
        if let Some(a) = input.aliases.iter().find(|a| body.contains_key(input.name) && body.contains_key(**a)) {
            i.add(a, format!("Send {} or {a}, not both.", input.name));
        }
        if input.required {
            i.require(key(input));
        }
    }
    // The columns this step sets besides status, version, updated_at and its stamp; an
    // input's value waits in `read` until the outcome is known (`only_when`).
    let mut sets: Vec<(&str, Box<dyn ToSql>)> = Vec::new();
    let mut read: Vec<(Option<&str>, &str, Box<dyn ToSql>)> = Vec::new();
    let mut outcome = t.outcomes[0];
    for input in t.inputs {
        let name = key(input);
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
            read.push((input.only_when, column, v));
        }
    }
    for (only_when, column, v) in read {
        if only_when.is_none() || only_when == outcome.when {
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
            &after,
            "appointment_rejected",
            format!("{} rejected {}: {}", who.full_name(), summary(&after), after.rejection_reason),
            &j,
        )?,
        // Denied: the booking is theirs again and waits for them.
        workflow::Action::ReviewRejection if after.status == Status::Pending.as_str() => notify(
            tx,
            Audience::only(after.therapist_ids()),
            &after,
            "rejection_denied",
            format!("The operator denied the rejection of {}: it is yours again; please confirm it.", summary(&after)),
            &j,
        )?,
        workflow::Action::RequestPickup => notify(
            tx,
            Audience::operators_and([]),
            &after,
            "pickup_requested",
            format!("{} asks to be picked up after {} ({}).", who.full_name(), summary(&after), after.pickup_urgency),
            &j,
        )?,
        workflow::Action::RejectPickup => {
            let reason = &after.pickup_rejection_reason;
            let why = if reason.is_empty() { String::new() } else { format!(" ({reason})") };
            notify(
                tx,
                Audience::operators_and([]),
                &after,
                "pickup_rejected",
                format!("{} cannot pick up after {}{why}; assign another driver.", who.full_name(), summary(&after)),
                &j,
            )?
        }
        _ => {}
    }
    Ok(Written { appointment: after, json: j })
}

/// Is any appointment `pending` since before `cutoff`?
pub fn any_overdue(conn: &Connection, cutoff: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM appointments WHERE status = 'pending' AND pending_since < ?1)")?
        .query_row([cutoff], |r| r.get(0))
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
            &after,
            "appointment_auto_cancelled",
            format!("Nobody confirmed {} in time, so it was cancelled.", summary(&after)),
            &j,
        )?;
    }
    Ok(ids.len())
}
