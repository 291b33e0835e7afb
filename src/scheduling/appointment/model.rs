//! An appointment as stored: its row, its therapists (lead first, with their
//! confirmations) and services, loaded in batches (`load_many`: three queries whatever
//! the number), and what follows from the row alone (assignees, `allowed_actions`).

use super::super::workflow;
use crate::store::users::User;
use crate::store::{id_list, ROWS_OF_IDS};
use rusqlite::{Connection, Row};
use std::sync::OnceLock;

/// The workflow timestamp columns, in workflow order.
pub const STAMPS: &[&str] = &[
    "therapist_confirmed_at",
    "rejected_at",
    "driver_confirmed_at",
    "started_at",
    "journey_started_at",
    "arrived_at",
    "dropped_off_at",
    "session_started_at",
    "awaiting_payment_at",
    "payment_received_at",
    "pickup_requested_at",
    "pickup_assigned_at",
    "return_journey_at",
    "transport_completed_at",
    "cancelled_at",
];

const COLUMNS: &str = "id, client_id, therapist_id, driver_id, operator_id, date, start_time, end_time, status, \
    payment_status, payment_amount_cents, payment_method, location, notes, rejection_reason, pickup_urgency, \
    cancellation_reason, pending_since, version, created_at, updated_at, group_size, requires_car, pickup_notes, \
    estimated_pickup_time, pickup_rejection_reason";

/// Where `STAMPS` start in a row of `COLUMNS, STAMPS`.
const STAMPS_AT: usize = 26;

#[derive(Debug, Clone)]
pub struct Appointment {
    pub id: i64,
    pub client_id: i64,
    /// The lead therapist.
    pub therapist_id: Option<i64>,
    /// Every assigned therapist (lead first) with when they confirmed.
    pub therapists: Vec<(i64, Option<String>)>,
    pub driver_id: Option<i64>,
    pub operator_id: Option<i64>,
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub status: String,
    pub payment_status: String,
    pub payment_amount_cents: Option<i64>,
    pub payment_method: String,
    pub location: String,
    pub notes: String,
    pub rejection_reason: String,
    pub pickup_urgency: String,
    pub cancellation_reason: String,
    pub pending_since: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    /// How many people the booking is for (1 unless a group).
    pub group_size: i64,
    /// The booking needs a car rather than a motorcycle.
    pub requires_car: bool,
    /// What the therapist told the pickup driver (`request_pickup`).
    pub pickup_notes: String,
    /// When the pickup driver expects to arrive, if known (ISO-8601 UTC).
    pub estimated_pickup_time: Option<String>,
    /// Why the pickup driver handed the pickup back (`reject_pickup`), or "".
    pub pickup_rejection_reason: String,
    /// `STAMPS[i]` → its value.
    pub stamps: Vec<Option<String>>,
    pub service_ids: Vec<i64>,
}

impl Appointment {
    fn from_row(r: &Row) -> rusqlite::Result<Appointment> {
        let mut stamps = Vec::with_capacity(STAMPS.len());
        for i in 0..STAMPS.len() {
            stamps.push(r.get(STAMPS_AT + i)?);
        }
        Ok(Appointment {
            id: r.get(0)?,
            client_id: r.get(1)?,
            therapist_id: r.get(2)?,
            therapists: Vec::new(),
            driver_id: r.get(3)?,
            operator_id: r.get(4)?,
            date: r.get(5)?,
            start_time: r.get(6)?,
            end_time: r.get(7)?,
            status: r.get(8)?,
            payment_status: r.get(9)?,
            payment_amount_cents: r.get(10)?,
            payment_method: r.get(11)?,
            location: r.get(12)?,
            notes: r.get(13)?,
            rejection_reason: r.get(14)?,
            pickup_urgency: r.get(15)?,
            cancellation_reason: r.get(16)?,
            pending_since: r.get(17)?,
            version: r.get(18)?,
            created_at: r.get(19)?,
            updated_at: r.get(20)?,
            group_size: r.get(21)?,
            requires_car: r.get(22)?,
            pickup_notes: r.get(23)?,
            estimated_pickup_time: r.get(24)?,
            pickup_rejection_reason: r.get(25)?,
            stamps,
            service_ids: Vec::new(),
        })
    }

    /// Every therapist id, lead first.
    pub fn therapist_ids(&self) -> Vec<i64> {
        self.therapists.iter().map(|t| t.0).collect()
    }

    /// The therapists besides the lead (`therapists` in the JSON).
    pub fn extra_therapist_ids(&self) -> Vec<i64> {
        self.therapists.iter().map(|t| t.0).filter(|t| Some(*t) != self.therapist_id).collect()
    }

    /// Everyone assigned: therapists and the driver.
    pub fn assignees(&self) -> Vec<i64> {
        let mut v = self.therapist_ids();
        if let Some(d) = self.driver_id {
            if !v.contains(&d) {
                v.push(d);
            }
        }
        v
    }

    pub fn stamp(&self, column: &str) -> Option<&str> {
        STAMPS.iter().position(|s| *s == column).and_then(|i| self.stamps[i].as_deref())
    }

    /// Has this therapist already confirmed?
    pub fn confirmed_by(&self, therapist: i64) -> bool {
        self.therapists.iter().any(|(t, at)| *t == therapist && at.is_some())
    }

    /// Have all its therapists confirmed (`therapist_accepted`)?
    pub fn therapists_accepted(&self) -> bool {
        !self.therapists.is_empty() && self.therapists.iter().all(|t| t.1.is_some())
    }

    /// Have the therapists confirmed and, if a driver is assigned, the driver too
    /// (`both_parties_accepted`)? Without a driver there is nobody else to wait for.
    pub fn all_accepted(&self) -> bool {
        self.therapists_accepted() && (self.driver_id.is_none() || self.stamp("driver_confirmed_at").is_some())
    }

    /// Who still has to confirm, as (user id, role), therapists (lead first) then the
    /// driver (`pending_acceptances`): only while the booking is being accepted
    /// (`Status::is_before_start`); a cancelled, rejected or started one waits for nobody.
    pub fn pending_acceptances(&self) -> Vec<(i64, &'static str)> {
        if !workflow::Status::parse(&self.status).is_some_and(workflow::Status::is_before_start) {
            return Vec::new();
        }
        let mut v: Vec<(i64, &'static str)> =
            self.therapists.iter().filter(|t| t.1.is_none()).map(|t| (t.0, "therapist")).collect();
        if let Some(d) = self.driver_id.filter(|_| self.stamp("driver_confirmed_at").is_none()) {
            v.push((d, "driver"));
        }
        v
    }

    /// The actions `user` may take on this appointment now (the REST `allowed_actions`),
    /// by the table's rule (`workflow::allowed`).
    pub fn allowed_actions(&self, user: &User) -> Vec<&'static str> {
        let on = workflow::Assignment {
            therapist: self.therapists.iter().any(|t| t.0 == user.id),
            driver: self.driver_id == Some(user.id),
            confirmed: self.confirmed_by(user.id),
        };
        workflow::allowed(&self.status, &user.role, on)
    }
}

/// Loads one appointment with its therapists and services (a batch of one).
pub fn load(conn: &Connection, id: i64) -> rusqlite::Result<Option<Appointment>> {
    Ok(load_many(conn, &[id])?.pop())
}

/// Loads appointments in the order of `ids`, with their therapists (lead first) and
/// services: three queries whatever the number. Ids that do not exist are left out.
pub fn load_many(conn: &Connection, ids: &[i64]) -> rusqlite::Result<Vec<Appointment>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = id_list(ids.iter().copied());
    // The three statements' text, built once (it only names constants).
    static SQL: OnceLock<[String; 3]> = OnceLock::new();
    let [sql, therapists, services] = SQL.get_or_init(|| {
        [
            format!("SELECT {COLUMNS}, {} FROM {ROWS_OF_IDS} CROSS JOIN appointments ON id = wanted", STAMPS.join(", ")),
            format!(
                "SELECT appointment_id, therapist_id, confirmed_at FROM {ROWS_OF_IDS}
                     CROSS JOIN appointment_therapists ON appointment_id = wanted"
            ),
            format!(
                "SELECT appointment_id, service_id FROM {ROWS_OF_IDS} CROSS JOIN appointment_services ON appointment_id = wanted"
            ),
        ]
    });
    let mut rows: Vec<Option<Appointment>> = {
        let mut st = conn.prepare_cached(sql)?;
        let mut rows = Vec::with_capacity(ids.len());
        for a in st.query_map([&list], Appointment::from_row)? {
            rows.push(Some(a?));
        }
        rows
    };
    // Id → index in `rows`, searched by halves: a page is a few dozen rows, for which
    // a `HashMap` (SipHash, moving each ~1 KB row in and out) cost more than the search.
    let mut index: Vec<(i64, usize)> =
        rows.iter().enumerate().flat_map(|(i, a)| a.as_ref().map(|a| (a.id, i))).collect();
    index.sort_unstable();
    let at = |id: i64| index.binary_search_by_key(&id, |e| e.0).ok().map(|k| index[k].1);
    let mut st = conn.prepare_cached(therapists)?;
    let mut q = st.query([&list])?;
    while let Some(r) = q.next()? {
        if let Some(a) = at(r.get(0)?).and_then(|i| rows[i].as_mut()) {
            a.therapists.push((r.get(1)?, r.get(2)?));
        }
    }
    let mut st = conn.prepare_cached(services)?;
    let mut q = st.query([&list])?;
    while let Some(r) = q.next()? {
        if let Some(a) = at(r.get(0)?).and_then(|i| rows[i].as_mut()) {
            a.service_ids.push(r.get(1)?);
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for id in ids {
        // `take`: an id asked for twice is answered once, as before.
        if let Some(mut a) = at(*id).and_then(|i| rows[i].take()) {
            // Lead first, then by id; services by id.
            let lead = a.therapist_id;
            a.therapists.sort_unstable_by_key(|t| (Some(t.0) != lead, t.0));
            a.service_ids.sort_unstable();
            out.push(a);
        }
    }
    Ok(out)
}

/// Ids of appointments matching a `WHERE` clause (on alias `a`) with named params.
pub fn ids_where(
    conn: &Connection,
    clause: &str,
    order: &str,
    params: &[(&str, &dyn rusqlite::ToSql)],
) -> rusqlite::Result<Vec<i64>> {
    let sql = format!("SELECT a.id FROM appointments a WHERE {clause} ORDER BY {order}");
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(params, |r| r.get(0))?;
    rows.collect()
}
