//! Rows that appointments show in their `*_details` (a client, a service, a staff
//! member): an edit of one sends `appointment_updated` for the appointments showing it,
//! through the same builder as any other update (`booking::emit_updated`).

use super::appointment;
use super::booking::{changed_fields, emit_updated, is_shown_detail};
use super::visibility;
use crate::store::Tx;

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
/// board (`visibility::on_a_board`) and whose details did change, with `updated_fields`
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
    let today = visibility::today();
    let order = format!("a.date, a.start_time, a.id LIMIT {}", DETAILS_EVENTS_MAX + 1);
    let mut ids = appointment::ids_where(
        tx,
        &format!("{clause} AND {}", visibility::on_a_board()),
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
