//! An appointment as stored, and its ONE JSON shape, assembled by `build` and used for
//! REST answers, event payloads and a socket's `initial_data`, so every client sees the
//! same object: SPEC §4's fields, the read-only `*_details`, `total_price`,
//! `total_duration`, and `allowed_actions_by_role` (what each role's assigned staff may do
//! now, from the transition table). REST answers add the caller's own `allowed_actions`
//! (`for_user`, `with_rest_json`). Everything works on batches (`load_many`,
//! `to_json_many`): a page costs a fixed number of queries whatever its size, and a
//! single appointment is a batch of one.

use super::validate::money;
use super::{clients, services, visibility, workflow};
use crate::store::id_list;
use crate::store::users::{self, User};
use rusqlite::{Connection, Row};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
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
    cancellation_reason, pending_since, version, created_at, updated_at";

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
    /// `STAMPS[i]` → its value.
    pub stamps: Vec<Option<String>>,
    pub service_ids: Vec<i64>,
}

impl Appointment {
    fn from_row(r: &Row) -> rusqlite::Result<Appointment> {
        let mut stamps = Vec::with_capacity(STAMPS.len());
        for i in 0..STAMPS.len() {
            stamps.push(r.get(21 + i)?);
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

    /// The actions `user` may take on this appointment now (the REST `allowed_actions`).
    pub fn allowed_actions(&self, user: &User) -> Vec<&'static str> {
        if !visibility::can_see(user, self) {
            return Vec::new();
        }
        let is_therapist = self.therapists.iter().any(|t| t.0 == user.id);
        let is_driver = self.driver_id == Some(user.id);
        let Some(status) = workflow::Status::parse(&self.status) else {
            return Vec::new();
        };
        workflow::actions()
            .filter(|t| t.from.contains(&status) && t.who.allows_role(&user.role))
            .filter(|t| match t.who {
                workflow::Who::Operator => true,
                workflow::Who::Therapist => is_therapist,
                workflow::Who::Driver => is_driver,
                workflow::Who::TherapistOrDriver => is_therapist || is_driver,
                workflow::Who::Server => false,
            })
            .filter(|t| !(t.per_therapist && self.confirmed_by(user.id)))
            .map(|t| t.action.as_str())
            .collect()
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
    let sql = format!(
        "SELECT {COLUMNS}, {} FROM appointments WHERE id IN (SELECT value FROM json_each(?1))",
        STAMPS.join(", ")
    );
    let mut by_id: HashMap<i64, Appointment> = {
        let mut st = conn.prepare_cached(&sql)?;
        let rows = st.query_map([&list], Appointment::from_row)?;
        rows.map(|a| a.map(|a| (a.id, a))).collect::<Result<_, _>>()?
    };
    let mut st = conn.prepare_cached(
        "SELECT appointment_id, therapist_id, confirmed_at FROM appointment_therapists
         WHERE appointment_id IN (SELECT value FROM json_each(?1)) ORDER BY appointment_id, therapist_id",
    )?;
    let mut rows = st.query([&list])?;
    while let Some(r) = rows.next()? {
        if let Some(a) = by_id.get_mut(&r.get(0)?) {
            a.therapists.push((r.get(1)?, r.get(2)?));
        }
    }
    let mut st = conn.prepare_cached(
        "SELECT appointment_id, service_id FROM appointment_services
         WHERE appointment_id IN (SELECT value FROM json_each(?1)) ORDER BY appointment_id, service_id",
    )?;
    let mut rows = st.query([&list])?;
    while let Some(r) = rows.next()? {
        if let Some(a) = by_id.get_mut(&r.get(0)?) {
            a.service_ids.push(r.get(1)?);
        }
    }
    let mut out = Vec::with_capacity(by_id.len());
    for id in ids {
        if let Some(mut a) = by_id.remove(id) {
            // Lead first, then by id (a stable sort keeps the id order).
            let lead = a.therapist_id;
            a.therapists.sort_by_key(|t| Some(t.0) != lead);
            out.push(a);
        }
    }
    Ok(out)
}

/// The one JSON shape of an appointment (see module doc): a batch of one.
pub fn to_json(conn: &Connection, a: &Appointment) -> rusqlite::Result<Value> {
    Ok(to_json_many(conn, std::slice::from_ref(a))?.pop().expect("one in, one out"))
}

/// The one JSON shape (see module doc) of each of `appts`, in order, as values (events
/// compare and embed them).
pub fn to_json_many(conn: &Connection, appts: &[Appointment]) -> rusqlite::Result<Vec<Value>> {
    let rel = Related::load(conn, appts)?;
    Ok(appts.iter().map(|a| build(a, &rel, None).to_value()).collect())
}

/// The REST shape (`to_json` plus the caller's `allowed_actions`): a batch of one.
pub fn for_user(conn: &Connection, a: &Appointment, user: &User) -> rusqlite::Result<Value> {
    with_rest_json(conn, std::slice::from_ref(a), user, |j| j[0].to_value())
}

/// Hands `f` the REST shape of each of `appts` for `user`, in order, ready to be
/// serialised straight into a response: a page of appointments is written without
/// first building a tree of values for it.
pub fn with_rest_json<R>(
    conn: &Connection,
    appts: &[Appointment],
    user: &User,
    f: impl FnOnce(&[AppointmentJson<'_>]) -> R,
) -> rusqlite::Result<R> {
    let rel = Related::load(conn, appts)?;
    let out: Vec<AppointmentJson> = appts.iter().map(|a| build(a, &rel, Some(a.allowed_actions(user)))).collect();
    Ok(f(&out))
}

/// The rows a batch of appointments' JSON shows besides their own: read in three
/// queries for the whole batch (services, clients, staff), so a page costs the same
/// number of queries whatever its size. Each is serialised once per batch (the same
/// operator or client appears on many appointments of a page).
struct Related {
    /// Service id → (price in cents, minutes, its JSON).
    services: HashMap<i64, (i64, i64, Box<RawValue>)>,
    clients: HashMap<i64, Box<RawValue>>,
    users: HashMap<i64, Box<RawValue>>,
    /// Status → `allowed_actions_by_role`.
    by_role: HashMap<String, Box<RawValue>>,
}

fn raw(v: &Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(v).expect("a JSON value serialises")
}

impl Related {
    fn load(conn: &Connection, appts: &[Appointment]) -> rusqlite::Result<Related> {
        let services = services::get_many(conn, appts.iter().flat_map(|a| a.service_ids.iter().copied()))?
            .into_iter()
            .map(|(id, s)| (id, (s.price_cents, s.duration, raw(&s.to_json()))))
            .collect();
        let clients = clients::get_many(conn, appts.iter().map(|a| a.client_id))?
            .into_iter()
            .map(|(id, c)| (id, raw(&c.to_json())))
            .collect();
        let staff = appts.iter().flat_map(|a| {
            a.therapists.iter().map(|t| t.0).chain([a.therapist_id, a.driver_id, a.operator_id].into_iter().flatten())
        });
        let users = users::get_many(conn, staff)?.into_iter().map(|(id, u)| (id, raw(&u.to_json()))).collect();
        let mut by_role = HashMap::new();
        for a in appts {
            by_role.entry(a.status.clone()).or_insert_with(|| {
                let mut m = Map::new();
                for role in users::ROLES {
                    m.insert(role.into(), json!(workflow::allowed_for_role(&a.status, role)));
                }
                raw(&Value::Object(m))
            });
        }
        Ok(Related { services, clients, users, by_role })
    }
}

/// The one place the appointment object is assembled (see module doc): its members,
/// borrowed from the loaded rows, in sorted key order. `allowed` is the caller's
/// `allowed_actions` (REST only).
fn build<'a>(a: &'a Appointment, rel: &'a Related, allowed: Option<Vec<&'static str>>) -> AppointmentJson<'a> {
    use Field::*;
    let mut services_details = Vec::new();
    let (mut total_price, mut total_duration) = (0i64, 0i64);
    for (price, minutes, json) in a.service_ids.iter().filter_map(|sid| rel.services.get(sid)) {
        total_price += price;
        total_duration += minutes;
        services_details.push(Some(&**json));
    }
    let extras = a.extra_therapist_ids();
    let user = |id: Option<i64>| Json(id.and_then(|id| rel.users.get(&id)).map(|u| &**u));
    let mut m = vec![
        ("id", Int(a.id)),
        ("client", Int(a.client_id)),
        ("services", Ids(a.service_ids.clone())),
        ("therapist", OptInt(a.therapist_id)),
        ("driver", OptInt(a.driver_id)),
        ("operator", OptInt(a.operator_id)),
        ("date", Str(&a.date)),
        ("start_time", Str(&a.start_time)),
        ("end_time", Str(&a.end_time)),
        ("status", Str(&a.status)),
        ("payment_status", Str(&a.payment_status)),
        ("payment_amount", OptText(a.payment_amount_cents.map(money))),
        ("payment_method", Str(&a.payment_method)),
        ("location", Str(&a.location)),
        ("notes", Str(&a.notes)),
        ("rejection_reason", Str(&a.rejection_reason)),
        ("pickup_urgency", Str(&a.pickup_urgency)),
        ("cancellation_reason", Str(&a.cancellation_reason)),
        ("version", Int(a.version)),
        ("created_at", Str(&a.created_at)),
        ("updated_at", Str(&a.updated_at)),
        ("therapist_confirmations", Confirmations(&a.therapists)),
        ("client_details", Json(rel.clients.get(&a.client_id).map(|c| &**c))),
        ("therapist_details", user(a.therapist_id)),
        ("therapists_details", JsonList(extras.iter().map(|t| rel.users.get(t).map(|u| &**u)).collect())),
        ("therapists", Ids(extras)),
        ("driver_details", user(a.driver_id)),
        ("operator_details", user(a.operator_id)),
        ("services_details", JsonList(services_details)),
        ("total_price", Text(money(total_price))),
        ("total_duration", Int(total_duration)),
        ("allowed_actions_by_role", Json(rel.by_role.get(&a.status).map(|r| &**r))),
    ];
    for (i, col) in STAMPS.iter().enumerate() {
        m.push((col, OptStr(a.stamps[i].as_deref())));
    }
    m.push(("allowed_actions", Actions(allowed)));
    // Written in sorted key order, as a `Value` object's are, so REST bytes and event
    // payloads agree. The keys are the same for every appointment, so the order is
    // worked out once.
    static ORDER: OnceLock<Vec<usize>> = OnceLock::new();
    let order = ORDER.get_or_init(|| {
        let mut o: Vec<usize> = (0..m.len()).collect();
        o.sort_by_key(|i| m[*i].0);
        o
    });
    AppointmentJson { members: m, order }
}

/// One appointment's JSON object, serialisable directly (REST pages) or as a `Value`.
pub struct AppointmentJson<'a> {
    members: Vec<(&'static str, Field<'a>)>,
    /// `members`' indices in key order.
    order: &'static [usize],
}

impl AppointmentJson<'_> {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("an appointment has string keys only")
    }
}

impl Serialize for AppointmentJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (k, v) in self.order.iter().map(|i| &self.members[*i]) {
            // `allowed_actions` is per caller: only REST answers have it.
            if !matches!(v, Field::Actions(None)) {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

/// A member of `AppointmentJson`, borrowed from the loaded rows where it can be.
pub enum Field<'a> {
    Int(i64),
    OptInt(Option<i64>),
    Str(&'a str),
    OptStr(Option<&'a str>),
    Text(String),
    OptText(Option<String>),
    Ids(Vec<i64>),
    Json(Option<&'a RawValue>),
    JsonList(Vec<Option<&'a RawValue>>),
    Confirmations(&'a [(i64, Option<String>)]),
    Actions(Option<Vec<&'static str>>),
}

impl Serialize for Field<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Int(v) => v.serialize(s),
            Field::OptInt(v) => v.serialize(s),
            Field::Str(v) => v.serialize(s),
            Field::OptStr(v) => v.serialize(s),
            Field::Text(v) => v.serialize(s),
            Field::OptText(v) => v.serialize(s),
            Field::Ids(v) => v.serialize(s),
            Field::Json(v) => v.serialize(s),
            Field::JsonList(v) => v.serialize(s),
            Field::Confirmations(v) => {
                s.collect_seq(v.iter().map(|(t, at)| Confirmation { confirmed_at: at, therapist: *t }))
            }
            Field::Actions(v) => v.serialize(s),
        }
    }
}

/// One of `therapist_confirmations` (members in sorted order, as in a `Value`).
#[derive(serde::Serialize)]
struct Confirmation<'a> {
    confirmed_at: &'a Option<String>,
    therapist: i64,
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

/// On an operator's board (SQL on alias `a`, parameter `:today`): today's and upcoming.
pub const OPERATOR_BOARD: &str = "a.date >= :today";

/// On a therapist's or driver's board (SQL on alias `a`, parameter `:today`): their
/// active ones (a finished, paid session from an earlier day is no longer there).
pub fn staff_board() -> String {
    let inactive: Vec<String> = workflow::INACTIVE.iter().map(|s| format!("'{s}'")).collect();
    format!("(a.status NOT IN ({}) AND (a.status != 'completed' OR a.date >= :today))", inactive.join(", "))
}

/// Appointments that may be on somebody's live board (SQL on alias `a`, parameter
/// `:today`): the union of what `initial` gives operators and staff, so events about
/// changed details reach every screen that holds the appointment.
pub fn on_a_board() -> String {
    format!("({OPERATOR_BOARD} OR {})", staff_board())
}

/// Today's date as the boards' `:today`.
pub fn today() -> String {
    crate::time::today().format("%Y-%m-%d").to_string()
}

/// What a socket starts with (`initial_data`): operators get today's and upcoming
/// appointments; therapists and drivers their own active ones.
pub fn initial(conn: &Connection, user: &User) -> rusqlite::Result<Vec<Value>> {
    let today = today();
    let ids = match visibility::sql_filter(user) {
        None => ids_where(conn, OPERATOR_BOARD, "a.date, a.start_time, a.id", &[(":today", &today)])?,
        Some((filter, uid)) => {
            let clause = format!("{filter} AND {}", staff_board());
            ids_where(conn, &clause, "a.date, a.start_time, a.id", &[(":uid", &uid), (":today", &today)])?
        }
    };
    to_json_many(conn, &load_many(conn, &ids)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::users::NewUser;
    use crate::store::Store;
    use serde_json::json;

    fn user(store: &Store, name: &str, role: &str) -> User {
        let u = NewUser { username: name.into(), role: role.into(), ..Default::default() };
        let id = store.write(|tx| users::insert(tx, &u, "x")).unwrap();
        store.read(|c| users::get(c, id)).unwrap().unwrap()
    }

    #[test]
    fn initial_data_is_todays_and_upcoming_for_operators_and_own_active_for_staff() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let op = user(&store, "op", "operator");
        let t1 = user(&store, "t1", "therapist");
        let t2 = user(&store, "t2", "therapist");
        let d1 = user(&store, "d1", "driver");
        store
            .write(|tx| {
                tx.execute("INSERT INTO clients (first_name, created_at, updated_at) VALUES ('Maria', 'x', 'x')", [])
            })
            .unwrap();
        let day = |n: i64| (crate::time::today() + chrono::Duration::days(n)).format("%Y-%m-%d").to_string();
        let book = |date: String, t: i64, d: Option<i64>| {
            let body = json!({"client": 1, "therapist": t, "driver": d, "date": date, "start_time": "10:00", "end_time": "11:00"});
            store.write(|tx| super::super::booking::create(tx, &op, body.as_object().unwrap())).unwrap().id
        };
        let past = book(day(-1), t1.id, None);
        let today = book(day(0), t1.id, Some(d1.id));
        let later = book(day(3), t2.id, None);
        let cancelled = book(day(1), t1.id, None);
        store
            .write(|tx| tx.execute("UPDATE appointments SET status = 'cancelled' WHERE id = ?1", [cancelled]))
            .unwrap();

        let ids = |u: &User| -> Vec<i64> {
            store.read(|c| initial(c, u)).unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect()
        };
        assert_eq!(ids(&op), vec![today, cancelled, later]);
        // t1's past pending one is still active (it waits for an answer); the cancelled one is not.
        assert_eq!(ids(&t1), vec![past, today]);
        assert_eq!(ids(&t2), vec![later]);
        assert_eq!(ids(&d1), vec![today]);
        let one = store.read(|c| initial(c, &d1)).unwrap().remove(0);
        assert_eq!(one["allowed_actions_by_role"]["driver"], json!(["reject"]));
        assert!(one.get("allowed_actions").is_none(), "events and initial data are not per caller");
        assert_eq!(one["client_details"]["first_name"], "Maria");
    }

    thread_local! {
        static STATEMENTS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    fn count_statement(_: rusqlite::trace::TraceEvent) {
        STATEMENTS.with(|n| n.set(n.get() + 1));
    }

    #[test]
    fn a_page_of_appointments_costs_the_same_few_queries_whatever_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = Store::open(&path).unwrap();
        let op = user(&store, "op", "operator");
        let ts: Vec<User> = (0..3).map(|i| user(&store, &format!("t{i}"), "therapist")).collect();
        let d = user(&store, "d", "driver");
        store
            .write(|tx| {
                tx.execute("INSERT INTO clients (first_name, created_at, updated_at) VALUES ('Maria', 'x', 'x')", [])?;
                tx.execute("INSERT INTO clients (first_name, created_at, updated_at) VALUES ('Jose', 'x', 'x')", [])?;
                tx.execute("INSERT INTO services (name, duration, price_cents) VALUES ('Swedish', 60, 50000)", [])?;
                tx.execute("INSERT INTO services (name, duration, price_cents) VALUES ('Foot', 30, 25000)", [])
            })
            .unwrap();
        let ids: Vec<i64> = (0..50i64)
            .map(|i| {
                let date = (crate::time::today() + chrono::Duration::days(i + 1)).format("%Y-%m-%d").to_string();
                // A mix of group bookings, drivers, clients and services, so rows could get mixed up.
                let body = json!({
                    "client": 1 + i % 2, "therapist": ts[(i % 3) as usize].id,
                    "therapists": if i % 4 == 0 { json!([ts[((i + 1) % 3) as usize].id]) } else { json!([]) },
                    "driver": if i % 2 == 0 { Some(d.id) } else { None },
                    "services": if i % 3 == 0 { json!([1, 2]) } else { json!([2]) },
                    "date": date, "start_time": "10:00",
                });
                store.write(|tx| super::super::booking::create(tx, &op, body.as_object().unwrap())).unwrap().id
            })
            .collect();

        let conn = Connection::open(&path).unwrap();
        conn.trace_v2(rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT, Some(count_statement));
        let page = |n: usize| -> (usize, Vec<String>) {
            STATEMENTS.with(|c| c.set(0));
            let appts = load_many(&conn, &ids[..n]).unwrap();
            let each = |j: &[AppointmentJson]| j.iter().map(|a| serde_json::to_string(a).unwrap()).collect();
            let bodies = with_rest_json(&conn, &appts, &op, each).unwrap();
            (STATEMENTS.with(|c| c.get()), bodies)
        };
        let (five, _) = page(5);
        let (fifty, bodies) = page(50);
        assert!(five > 0, "the trace hook counts statements");
        assert_eq!(five, fifty, "a page of 50 must cost no more statements than a page of 5");
        assert!(fifty <= 6, "a page costs {fifty} statements");

        // The batch gives each appointment what it gives alone, and the REST bytes are the
        // event shape's bytes (members in the same order) plus `allowed_actions`.
        let batch: Vec<Value> = bodies.iter().map(|b| serde_json::from_str(b).unwrap()).collect();
        let values = to_json_many(&conn, &load_many(&conn, &ids).unwrap()).unwrap();
        for (((id, rest), bytes), value) in ids.iter().zip(&batch).zip(&bodies).zip(&values) {
            let alone = to_json(&conn, &load(&conn, *id).unwrap().unwrap()).unwrap();
            assert_eq!(value, &alone);
            let mut with_actions = alone.clone();
            with_actions["allowed_actions"] = rest["allowed_actions"].clone();
            assert_eq!(bytes, &serde_json::to_string(&with_actions).unwrap());
        }
        assert_eq!(batch[0]["therapists"], json!([ts[1].id]));
        assert_eq!(batch[0]["total_price"], "750.00");
        assert_eq!(batch[1]["driver_details"], Value::Null);
        assert_eq!(batch[1]["client_details"]["first_name"], "Jose");
    }
}
