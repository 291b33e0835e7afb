//! The events a change of an appointment emits, built in one place each: the one
//! `appointment_updated` (`emit_updated`), the diff that names `updated_fields`, the
//! `appointment_deleted` for users who lost sight of it, and `notification`s (stored
//! per recipient by `scheduling::notifications`).

use crate::events::{Audience, EventDraft, APPOINTMENT_DELETED, APPOINTMENT_UPDATED};
use crate::scheduling::appointment::{self, Appointment};
use crate::scheduling::notifications::{self, About};
use crate::scheduling::visibility;
use crate::store::Tx;
use serde_json::{json, Value};

/// Notifies `audience` (stored rows and one event each; `notifications::send`) about
/// `a`, whose JSON (the one shape) is `appt`.
pub(super) fn notify(
    tx: &mut Tx,
    audience: Audience,
    a: &Appointment,
    kind: &'static str,
    message: String,
    appt: &Value,
) -> rusqlite::Result<()> {
    notifications::send(tx, &audience, kind, About::Visible(a, appt), &message)?;
    Ok(())
}

pub(super) fn summary(a: &Appointment) -> String {
    format!("appointment {} on {} at {}", a.id, a.date, &a.start_time[..5])
}

/// The members of two renderings of one appointment that differ, among those `counts`.
pub(crate) fn changed_fields(old: &Value, new: &Value, counts: impl Fn(&str) -> bool) -> Vec<String> {
    let new = new.as_object().expect("object");
    new.iter().filter(|(k, v)| counts(k) && old.get(k.as_str()) != Some(*v)).map(|(k, _)| k.clone()).collect()
}

/// Members computed from other rows (clients, services, users), not the appointment's own.
pub(crate) fn is_shown_detail(key: &str) -> bool {
    key.ends_with("_details") || key.starts_with("total_")
}

/// The one `appointment_updated` event: `json` (the one shape of `a`) to `a`'s audience.
pub(crate) fn emit_updated(
    tx: &mut Tx,
    a: &Appointment,
    json: &Value,
    updated_fields: &[String],
) -> rusqlite::Result<()> {
    let audience = visibility::audience(a);
    let payload = json!({"appointment": json, "updated_fields": updated_fields});
    let payload = appointment::with_actions_for(tx, a, &audience, payload)?;
    tx.emit(EventDraft { kind: APPOINTMENT_UPDATED, appointment_id: Some(a.id), audience, payload })?;
    Ok(())
}

/// Emits `appointment_updated` (and `appointment_deleted` to anyone who lost sight of it,
/// a notification to anyone newly assigned) after `before` became `after`.
pub(super) fn emit_update(tx: &mut Tx, before: &Appointment, after: &Appointment) -> rusqlite::Result<Value> {
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
            audience: Audience::only(removed.clone()),
            // `version`: a copy newer than this (re-assigned later) comes back into view.
            // `appointment` as they last saw it: who holds it now is no longer their business.
            payload: json!({"appointment_id": after.id, "appointment": appointment::deleted_stub(before),
                "deleted_by": Value::Null, "reason": "unassigned", "version": after.version}),
        })?;
        // Told, too: the appointment just vanished from their list.
        notifications::send(
            tx,
            &Audience::only(removed),
            "appointment_unassigned",
            About::Left(before),
            &format!("You were taken off {}; it is no longer on your list.", summary(before)),
        )?;
    }
    let added: Vec<i64> = now.iter().copied().filter(|u| !was.contains(u)).collect();
    notify(
        tx,
        Audience::only(added),
        after,
        "appointment_assigned",
        format!("You were assigned to {}.", summary(after)),
        &new_json,
    )?;
    Ok(new_json)
}
