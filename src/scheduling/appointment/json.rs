//! The ONE JSON shape of an appointment, assembled by `build` and used for REST
//! answers, event payloads and a socket's `initial_data`, so every client sees the same
//! object: SPEC §4's fields, the read-only `*_details`, `total_price`, `total_duration`,
//! and `allowed_actions_by_role` (what each role's assigned staff may do now, from the
//! transition table). REST answers add the caller's own `allowed_actions` (`for_user`,
//! `with_rest_json`). Everything works on batches (`to_json_many`): a page costs a
//! fixed number of queries whatever its size, and a single appointment is a batch of one.

use super::model::{Appointment, STAMPS};
use crate::events::Audience;
use crate::scheduling::privacy::{self, Object};
use crate::scheduling::validate::money_in;
use crate::scheduling::{clients, services, workflow};
use crate::store::users::{self, User};
use rusqlite::Connection;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The one JSON shape of an appointment (see module doc): a batch of one.
pub fn to_json(conn: &Connection, a: &Appointment) -> rusqlite::Result<Value> {
    Ok(to_json_many(conn, std::slice::from_ref(a))?.pop().expect("one in, one out"))
}

/// The one JSON shape (see module doc) of each of `appts`, in order, whole (as operators
/// receive it), as values (events compare and embed them).
pub fn to_json_many(conn: &Connection, appts: &[Appointment]) -> rusqlite::Result<Vec<Value>> {
    let rel = Related::load(conn, appts, None)?;
    Ok(appts.iter().map(|a| AppointmentJson { a, rel: &rel, allowed: None }.to_value()).collect())
}

/// What an `appointment_deleted` event carries of the appointment that left a view:
/// `{id, date, therapist, therapists, driver}`, with the one shape's meanings
/// (`therapists`: the group's therapists besides the lead) — what the clinic's original
/// frontend reads to find it on its screens. None of these members is withheld from any
/// role (`privacy::RESTRICTED`; a unit test checks), so the event needs no per-recipient copies.
pub fn deleted_stub(a: &Appointment) -> Value {
    json!({
        "id": a.id,
        "date": a.date,
        "therapist": a.therapist_id,
        "therapists": a.extra_therapist_ids(),
        "driver": a.driver_id,
    })
}

/// The REST shape (`to_json` plus the caller's `allowed_actions`): a batch of one.
pub fn for_user(conn: &Connection, a: &Appointment, user: &User) -> rusqlite::Result<Value> {
    with_rest_json(conn, std::slice::from_ref(a), user, |j| j[0].to_value())
}

/// Hands `f` the REST shape of each of `appts` for `user` (without what `user`'s role
/// does not receive), in order, ready to be serialised straight into a response: a page
/// of appointments is written without first building a tree of values for it.
pub fn with_rest_json<R>(
    conn: &Connection,
    appts: &[Appointment],
    user: &User,
    f: impl FnOnce(&[AppointmentJson<'_>]) -> R,
) -> rusqlite::Result<R> {
    let rel = Related::load(conn, appts, Some(&user.role))?;
    let out: Vec<AppointmentJson> =
        appts.iter().map(|a| AppointmentJson { a, rel: &rel, allowed: Some(a.allowed_actions(user)) }).collect();
    Ok(f(&out))
}

/// The REST shape for `user` of `a` from its whole shape `json` (what a write built for
/// its events): `user`'s `allowed_actions` added, and what `user`'s role does not receive
/// taken out, exactly as an event's renderer does for them (`events::withhold`).
pub fn answer_for(json: Value, a: &Appointment, user: &User) -> Value {
    let mut json = json;
    if let Some(obj) = json.as_object_mut() {
        crate::events::withhold(obj, &privacy::appointment_paths(&user.role));
        obj.insert("allowed_actions".into(), json!(a.allowed_actions(user)));
    }
    json
}

/// The rows a batch of appointments' JSON shows besides their own: read in three
/// queries for the whole batch (services, clients, staff), so a page costs the same
/// number of queries whatever its size. Each is serialised once per batch (the same
/// operator or client appears on many appointments of a page), as `reader` (a role;
/// `None`: whole) receives it.
struct Related<'r> {
    reader: Option<&'r str>,
    /// Service id → (price in cents, minutes, its JSON).
    services: HashMap<i64, (i64, i64, Box<RawValue>)>,
    clients: HashMap<i64, Box<RawValue>>,
    users: HashMap<i64, Box<RawValue>>,
    /// Staff id → full name (`pending_acceptances`).
    names: HashMap<i64, String>,
}

/// `allowed_actions_by_role` of an appointment in `status`: it depends on the status
/// alone (`workflow::allowed_for_role`, from the constant table), so each status's JSON
/// is built once per process. A status not in the table (none is stored) gets what
/// `allowed_for_role` answers for it: nothing for every role.
fn by_role(status: &str) -> &'static RawValue {
    fn build(status: &str) -> Box<RawValue> {
        let mut m = Map::new();
        for role in users::ROLES {
            m.insert(role.into(), json!(workflow::allowed_for_role(status, role)));
        }
        raw(&Value::Object(m))
    }
    static KNOWN: OnceLock<Vec<Box<RawValue>>> = OnceLock::new();
    static UNKNOWN: OnceLock<Box<RawValue>> = OnceLock::new();
    let known = KNOWN.get_or_init(|| workflow::STATUSES.iter().map(|s| build(s)).collect());
    match workflow::STATUSES.iter().position(|s| *s == status) {
        Some(i) => &known[i],
        None => UNKNOWN.get_or_init(|| build("")),
    }
}

fn raw(v: &Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(v).expect("a JSON value serialises")
}

impl<'r> Related<'r> {
    fn load(conn: &Connection, appts: &[Appointment], reader: Option<&'r str>) -> rusqlite::Result<Related<'r>> {
        let shown = |object: Object, v: Value| match reader {
            Some(role) => privacy::strip(role, object, v),
            None => v,
        };
        let services = services::get_many(conn, appts.iter().flat_map(|a| a.service_ids.iter().copied()))?
            .into_iter()
            .map(|(id, s)| (id, (s.price_cents, s.duration, raw(&s.to_json()))))
            .collect();
        let clients = clients::get_many(conn, appts.iter().map(|a| a.client_id))?
            .into_iter()
            .map(|(id, c)| (id, raw(&shown(Object::Client, c.to_json()))))
            .collect();
        let staff = appts.iter().flat_map(|a| {
            a.therapists.iter().map(|t| t.0).chain([a.therapist_id, a.driver_id, a.operator_id].into_iter().flatten())
        });
        let staff = users::get_many(conn, staff)?;
        let names = staff.iter().map(|(id, u)| (*id, u.full_name())).collect();
        let users = staff.into_iter().map(|(id, u)| (id, raw(&shown(Object::Colleague, u.to_json())))).collect();
        Ok(Related { reader, services, clients, users, names })
    }
}

/// The one place the appointment object is assembled (see module doc): its members,
/// borrowed from the loaded rows, into `m` (emptied first; a page reuses one for all its
/// appointments, ~4 KB that were allocated per appointment), and the order they are
/// written in (`write_json`); what `rel`'s reader does not receive is `Withheld`.
/// `allowed` is the caller's `allowed_actions` (REST only).
fn build<'a>(
    a: &'a Appointment,
    rel: &'a Related,
    allowed: Option<&'a [&'static str]>,
    m: &mut Vec<(&'static str, Field<'a>)>,
) -> &'static [(usize, Box<[u8]>)] {
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
    m.clear();
    m.reserve(80);
    m.extend([
        ("id", Int(a.id)),
        ("client", Int(a.client_id)),
        ("services", Ids(Cow::Borrowed(&a.service_ids))),
        ("therapist", OptInt(a.therapist_id)),
        ("driver", OptInt(a.driver_id)),
        ("operator", OptInt(a.operator_id)),
        ("date", Str(&a.date)),
        ("start_time", Str(&a.start_time)),
        ("end_time", Str(&a.end_time)),
        ("status", Str(&a.status)),
        ("payment_status", Str(&a.payment_status)),
        ("payment_amount", a.payment_amount_cents.map_or(Field::OptStr(None), amount)),
        ("payment_method", Str(&a.payment_method)),
        ("location", Str(&a.location)),
        ("notes", Str(&a.notes)),
        ("rejection_reason", Str(&a.rejection_reason)),
        ("pickup_urgency", Str(&a.pickup_urgency)),
        ("cancellation_reason", Str(&a.cancellation_reason)),
        // When the auto-cancel clock started (while `pending` only): with the server's
        // `pending_timeout_secs` (/health/) a board shows how long is left.
        ("pending_since", OptStr(a.pending_since.as_deref().filter(|_| a.status == "pending"))),
        ("version", Int(a.version)),
        ("created_at", Str(&a.created_at)),
        ("updated_at", Str(&a.updated_at)),
        ("therapist_confirmations", Confirmations(&a.therapists)),
        ("client_details", Json(rel.clients.get(&a.client_id).map(|c| &**c))),
        ("therapist_details", user(a.therapist_id)),
        ("therapists_details", JsonList(extras.iter().map(|t| rel.users.get(t).map(|u| &**u)).collect())),
        ("therapists", Ids(Cow::Owned(extras))),
        ("driver_details", user(a.driver_id)),
        ("operator_details", user(a.operator_id)),
        ("services_details", JsonList(services_details)),
        ("total_price", amount(total_price)),
        ("total_duration", Int(total_duration)),
        ("allowed_actions_by_role", Json(Some(by_role(&a.status)))),
        // What the clinic's original frontend reads besides (docs/API.md, "Members for
        // the original frontend"): the booking's extras, workflow moments under the
        // original's names, who has accepted, and the date and times as its screens print them.
        ("group_size", Int(a.group_size)),
        ("requires_car", Bool(a.requires_car)),
        ("pickup_notes", Str(&a.pickup_notes)),
        ("pickup_rejection_reason", Str(&a.pickup_rejection_reason)),
        ("estimated_pickup_time", OptStr(a.estimated_pickup_time.as_deref())),
        ("session_end_time", OptStr(a.stamp("awaiting_payment_at"))),
        ("pickup_confirmed_at", OptStr(a.stamp("return_journey_at"))),
        ("return_journey_completed_at", OptStr(a.stamp("transport_completed_at"))),
        ("therapist_accepted", Bool(a.therapists_accepted())),
        ("both_parties_accepted", Bool(a.all_accepted())),
        (
            "pending_acceptances",
            Acceptances(
                a.pending_acceptances()
                    .into_iter()
                    .map(|(id, role)| (id, role, rel.names.get(&id).map_or("", String::as_str)))
                    .collect(),
            ),
        ),
        ("formatted_date", formatted(&a.date, "%Y-%m-%d", "%B %d, %Y")),
        ("formatted_start_time", formatted(&a.start_time, "%H:%M:%S", "%I:%M %p")),
        ("formatted_end_time", formatted(&a.end_time, "%H:%M:%S", "%I:%M %p")),
    ]);
    for (i, col) in STAMPS.iter().enumerate() {
        m.push((col, OptStr(a.stamps[i].as_deref())));
    }
    m.push(("allowed_actions", Actions(allowed)));
    if let Some(role) = rel.reader {
        for member in privacy::withheld(role, Object::Appointment) {
            if let Some(slot) = m.iter_mut().find(|(k, _)| *k == member) {
                slot.1 = Withheld;
            }
        }
    }
    // Written in sorted key order, as a `Value` object's are, so REST bytes and event
    // payloads agree. The keys are the same for every appointment, so the order is
    // worked out once.
    static ORDER: OnceLock<Vec<(usize, Box<[u8]>)>> = OnceLock::new();
    let order = ORDER.get_or_init(|| {
        // `write_json` writes the keys as they are: they must need no escaping.
        assert!(m.iter().all(|(k, _)| k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        let mut o: Vec<usize> = (0..m.len()).collect();
        o.sort_by_key(|i| m[*i].0);
        o.into_iter().map(|i| (i, format!(",\"{}\":", m[i].0).into_bytes().into_boxed_slice())).collect()
    });
    order
}

/// An amount of money as the API writes it (`validate::money_in`), kept inline.
fn amount(cents: i64) -> Field<'static> {
    Field::Short(Short::new(&[money_in(cents, &mut [0; 24])]).expect("an amount takes at most 21 bytes"))
}

/// `value` (a date or a time stored as `stored`) written as `shown` (`chrono` format),
/// e.g. "December 05, 2026" or "09:30 AM"; as stored if it does not read (an old row).
fn formatted(value: &str, stored: &str, shown: &str) -> Field<'static> {
    match formatted_text(value, stored, shown) {
        Ok(short) => Field::Short(short),
        Err(text) => Field::Text(text),
    }
}

/// `formatted`'s text: the two stored forms every row has inline (`Short`, no
/// allocation: three per appointment of a page), anything else as a `String`.
fn formatted_text(value: &str, stored: &str, shown: &str) -> Result<Short, String> {
    // The two forms every row has, written by hand: chrono's format strings cost ~3,000
    // instructions each, three times per appointment of a page. A unit test checks the
    // bytes against chrono's; anything else takes chrono's way below.
    let fast = match (stored, shown) {
        ("%Y-%m-%d", "%B %d, %Y") => long_date(value),
        ("%H:%M:%S", "%I:%M %p") => clock_time(value),
        _ => None,
    };
    if let Some(text) = fast {
        return Ok(text);
    }
    let parsed = if stored.contains("%Y") {
        chrono::NaiveDate::parse_from_str(value, stored).map(|d| d.format(shown).to_string())
    } else {
        chrono::NaiveTime::parse_from_str(value, stored).map(|t| t.format(shown).to_string())
    };
    Err(parsed.unwrap_or_else(|_| value.to_string()))
}

/// The digits of `s` (all ASCII digits) as a number.
fn digits(s: &[u8]) -> Option<u32> {
    s.iter().try_fold(0u32, |n, b| b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0')))
}

/// "2026-12-05" as "December 05, 2026" (`%Y-%m-%d` → `%B %d, %Y`); `None` unless the
/// value is exactly that form with a real date and a four-digit year.
fn long_date(value: &str) -> Option<Short> {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let b = value.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&b[..4])?, digits(&b[5..7])?, digits(&b[8..])?);
    chrono::NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d).filter(|_| y >= 1000)?;
    Short::new(&[MONTHS[m as usize - 1], " ", &value[8..], ", ", &value[..4]])
}

/// "13:05:00" as "01:05 PM" (`%H:%M:%S` → `%I:%M %p`); `None` unless the value is
/// exactly that form with a real time (not a leap second).
fn clock_time(value: &str) -> Option<Short> {
    let b = value.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (digits(&b[..2])?, digits(&b[3..5])?, digits(&b[6..])?);
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    let h12 = if h % 12 == 0 { 12 } else { h % 12 };
    let hh = [b'0' + (h12 / 10) as u8, b'0' + (h12 % 10) as u8];
    let hh = std::str::from_utf8(&hh).expect("two digits");
    Short::new(&[hh, ":", &value[3..5], if h < 12 { " AM" } else { " PM" }])
}

/// A short text kept inline (at most `Short::MAX` bytes): a formatted date or time.
#[derive(Clone, Copy)]
pub struct Short {
    len: u8,
    bytes: [u8; Short::MAX],
}

impl Short {
    const MAX: usize = 24;

    /// `parts` joined, if they fit.
    fn new(parts: &[&str]) -> Option<Short> {
        let mut s = Short { len: 0, bytes: [0; Short::MAX] };
        for p in parts {
            let at = usize::from(s.len);
            s.bytes.get_mut(at..at + p.len())?.copy_from_slice(p.as_bytes());
            s.len += p.len() as u8;
        }
        Some(s)
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).expect("joined from whole strs")
    }
}

/// One appointment's JSON object: written straight into a response (`write_json`,
/// REST pages) or read back as a `Value` (events, which compare and embed it).
pub struct AppointmentJson<'a> {
    a: &'a Appointment,
    rel: &'a Related<'a>,
    /// The caller's `allowed_actions` (REST only).
    allowed: Option<Vec<&'static str>>,
}

/// Members as `build` assembles them.
type Members<'a> = Vec<(&'static str, Field<'a>)>;

impl AppointmentJson<'_> {
    /// Appends the object's JSON text to `out`: members in sorted key order (as a
    /// `Value` object's are, so REST bytes and event payloads agree), compact, strings
    /// escaped exactly as `serde_json` escapes them. The one encoder of the shape; a
    /// page is written without a tree of values or serde's per-member dispatch (keys
    /// need no escaping, and most strings none either).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        self.write_with(&mut Vec::new(), out);
    }

    /// `write_json` with `m` as `build`'s place for the members.
    fn write_with<'s>(&'s self, m: &mut Members<'s>, out: &mut Vec<u8>) {
        let order = build(self.a, self.rel, self.allowed.as_deref(), m);
        let start = out.len();
        for (i, key) in order {
            let v = &m[*i].1;
            // `allowed_actions` is per caller: only REST answers have it.
            if matches!(v, Field::Actions(None) | Field::Withheld) {
                continue;
            }
            out.extend_from_slice(key);
            v.write_json(out);
        }
        if out.len() == start {
            out.extend_from_slice(b"{}");
        } else {
            out[start] = b'{';
            out.push(b'}');
        }
    }

    pub fn to_value(&self) -> Value {
        let mut out = Vec::with_capacity(4096);
        self.write_json(&mut out);
        serde_json::from_slice(&out).expect("an appointment's JSON reads back")
    }
}

/// `appts` as a JSON array (`AppointmentJson::write_json` each), appended to `out`.
pub fn write_list(appts: &[AppointmentJson], out: &mut Vec<u8>) {
    out.reserve(appts.len() * 4096);
    out.push(b'[');
    let mut m = Vec::new();
    for (i, a) in appts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        a.write_with(&mut m, out);
    }
    out.push(b']');
}

/// A member of `AppointmentJson`, borrowed from the loaded rows where it can be.
pub enum Field<'a> {
    Int(i64),
    Bool(bool),
    OptInt(Option<i64>),
    Str(&'a str),
    OptStr(Option<&'a str>),
    Text(String),
    Short(Short),
    Ids(Cow<'a, [i64]>),
    Json(Option<&'a RawValue>),
    JsonList(Vec<Option<&'a RawValue>>),
    /// (therapist, confirmed at): `[{"confirmed_at": …, "therapist": …}]`.
    Confirmations(&'a [(i64, Option<String>)]),
    Actions(Option<&'a [&'static str]>),
    /// Who has yet to confirm: (user id, role, full name): `[{"id", "name", "role"}]`.
    Acceptances(Vec<(i64, &'static str, &'a str)>),
    /// Not for this reader (`privacy`): left out.
    Withheld,
}

impl Field<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Field::Int(v) => write_int(out, *v),
            Field::Bool(v) => out.extend_from_slice(if *v { b"true" } else { b"false" }),
            Field::OptInt(v) => write_opt(out, *v, write_int),
            Field::Str(v) => write_str(out, v),
            Field::OptStr(v) => write_opt(out, *v, write_str),
            Field::Text(v) => write_str(out, v),
            Field::Short(v) => write_str(out, v.as_str()),
            Field::Ids(v) => write_seq(out, v, |out, id| write_int(out, *id)),
            Field::Json(v) => write_raw(out, *v),
            Field::JsonList(v) => write_seq(out, v, |out, r| write_raw(out, *r)),
            Field::Confirmations(v) => write_seq(out, v, |out, (t, at)| {
                out.extend_from_slice(b"{\"confirmed_at\":");
                write_opt(out, at.as_deref(), write_str);
                out.extend_from_slice(b",\"therapist\":");
                write_int(out, *t);
                out.push(b'}');
            }),
            Field::Actions(Some(v)) => write_seq(out, v, |out, a| write_str(out, a)),
            Field::Acceptances(v) => write_seq(out, v, |out, (id, role, name)| {
                out.extend_from_slice(b"{\"id\":");
                write_int(out, *id);
                out.extend_from_slice(b",\"name\":");
                write_str(out, name);
                out.extend_from_slice(b",\"role\":");
                write_str(out, role);
                out.push(b'}');
            }),
            Field::Actions(None) | Field::Withheld => write_null(out),
        }
    }
}

fn write_null(out: &mut Vec<u8>) {
    out.extend_from_slice(b"null");
}

fn write_opt<T>(out: &mut Vec<u8>, v: Option<T>, write: impl FnOnce(&mut Vec<u8>, T)) {
    match v {
        Some(v) => write(out, v),
        None => write_null(out),
    }
}

fn write_int(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// A JSON string, escaped as `serde_json` escapes it (only `"`, `\\` and control
/// characters): most need no escape and are copied whole; the rest go through serde_json.
fn write_str(out: &mut Vec<u8>, s: &str) {
    // Without short-circuiting, so the compiler checks many bytes at a time.
    let plain = s.bytes().fold(true, |ok, b| ok & (b >= 0x20) & (b != b'"') & (b != b'\\'));
    if plain {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, s).expect("a string writes to a Vec");
    }
}

fn write_raw(out: &mut Vec<u8>, v: Option<&RawValue>) {
    write_opt(out, v, |out, r| out.extend_from_slice(r.get().as_bytes()));
}

fn write_seq<T>(out: &mut Vec<u8>, items: &[T], each: impl Fn(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        each(out, item);
    }
    out.push(b']');
}

/// What each recipient of an event about `a` may do with it now: the event's
/// `allowed_actions_for` (`events::ACTIONS_FOR`), `{"operators": [...]}` when `audience`
/// has the operators and `"<user id>": [...]` for each listed user, each exactly the
/// REST `allowed_actions` (`Appointment::allowed_actions`) of that user; and what each
/// listed user's role does not receive, `withheld_for` (`events::WITHHELD_FOR`), with
/// the least any role receives for `others`.
fn for_recipients(conn: &Connection, a: &Appointment, audience: &Audience) -> rusqlite::Result<(Value, Value)> {
    let (mut actions, mut withheld) = (Map::new(), Map::new());
    if audience.operators {
        // Operators' actions depend on the status alone (an operator is never assigned).
        actions.insert("operators".into(), json!(workflow::allowed_for_role(&a.status, "operator")));
    }
    for (id, u) in users::get_many(conn, audience.users.iter().copied())? {
        actions.insert(id.to_string(), json!(a.allowed_actions(&u)));
        if !u.is_operator() {
            withheld.insert(id.to_string(), json!(privacy::appointment_paths(&u.role)));
        }
    }
    withheld.insert("others".into(), json!(privacy::appointment_paths("")));
    Ok((Value::Object(actions), Value::Object(withheld)))
}

/// `payload` (an object) of an event about `a` to `audience`, with its per-recipient
/// members added: `allowed_actions_for` and `withheld_for` (see `for_recipients`).
pub fn with_actions_for(
    conn: &Connection,
    a: &Appointment,
    audience: &Audience,
    payload: Value,
) -> rusqlite::Result<Value> {
    let mut payload = payload;
    let (actions, withheld) = for_recipients(conn, a, audience)?;
    payload[crate::events::ACTIONS_FOR] = actions;
    payload[crate::events::WITHHELD_FOR] = withheld;
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::appointment::{load, load_many};
    use crate::scheduling::booking::fixture::user;
    use crate::store::Store;
    use rusqlite::Connection;
    use serde_json::json;

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
                store
                    .write(|tx| crate::scheduling::booking::create(tx, &op, body.as_object().unwrap()))
                    .unwrap()
                    .appointment
                    .id
            })
            .collect();

        let conn = Connection::open(&path).unwrap();
        conn.trace_v2(rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT, Some(count_statement));
        let page = |n: usize| -> (usize, Vec<String>) {
            STATEMENTS.with(|c| c.set(0));
            let appts = load_many(&conn, &ids[..n]).unwrap();
            let each = |j: &[AppointmentJson]| {
                j.iter()
                    .map(|a| {
                        let mut out = Vec::new();
                        a.write_json(&mut out);
                        String::from_utf8(out).unwrap()
                    })
                    .collect()
            };
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

    /// The members the clinic's original frontend reads, through the one builder: the
    /// booking's extras, who has yet to accept as the confirmations come in, and the
    /// date and times as its screens print them.
    #[test]
    fn the_original_frontends_members_follow_the_confirmations() {
        use crate::scheduling::booking::{self, fixture::clinic};
        use crate::scheduling::workflow::{row, Action};
        let c = clinic();
        let (t1, t2, d) = (&c.t[0], &c.t[1], &c.d[0]);
        let a = c.book(json!({"therapist": t1.id, "therapists": [t2.id], "driver": d.id, "date": "2030-12-05",
            "start_time": "09:30", "end_time": "13:05", "group_size": 2, "requires_car": true, "payment_status": "unpaid"}));
        let json_of = |id: i64| c.store.read(|conn| to_json(conn, &load(conn, id)?.unwrap())).unwrap();
        let j = json_of(a.id);
        assert_eq!(
            (&j["formatted_date"], &j["formatted_start_time"], &j["formatted_end_time"]),
            (&json!("December 05, 2030"), &json!("09:30 AM"), &json!("01:05 PM"))
        );
        assert_eq!(
            (&j["group_size"], &j["requires_car"], &j["payment_status"]),
            (&json!(2), &json!(true), &json!("pending"))
        );
        assert_eq!(j["pickup_notes"], "");
        assert!(j["session_end_time"].is_null() && j["estimated_pickup_time"].is_null());
        let waiting = |j: &Value| -> Vec<(i64, String, String)> {
            j["pending_acceptances"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (p["id"].as_i64().unwrap(), p["role"].as_str().unwrap().into(), p["name"].as_str().unwrap().into())
                })
                .collect()
        };
        let entry = |u: &User, role: &str| (u.id, role.to_string(), u.full_name());
        assert_eq!(waiting(&j), [entry(t1, "therapist"), entry(t2, "therapist"), entry(d, "driver")]);
        assert_eq!((&j["therapist_accepted"], &j["both_parties_accepted"]), (&json!(false), &json!(false)));

        let act = |id: i64, who: &User, action: Action| {
            c.store.write(|tx| booking::step(tx, who, id, row(action), &Map::new(), None)).unwrap();
        };
        act(a.id, t1, Action::TherapistConfirm);
        assert_eq!(waiting(&json_of(a.id)), [entry(t2, "therapist"), entry(d, "driver")]);
        act(a.id, t2, Action::TherapistConfirm);
        let j = json_of(a.id);
        assert_eq!(waiting(&j), [entry(d, "driver")]);
        assert_eq!((&j["therapist_accepted"], &j["both_parties_accepted"]), (&json!(true), &json!(false)));
        act(a.id, d, Action::DriverConfirm);
        let j = json_of(a.id);
        assert!(waiting(&j).is_empty());
        assert_eq!((&j["therapist_accepted"], &j["both_parties_accepted"]), (&json!(true), &json!(true)));

        // Without a driver, the therapists' confirmations are enough.
        let b = c.book(json!({"therapist": t1.id, "date": "2030-12-06", "start_time": "10:00", "end_time": "11:00"}));
        act(b.id, t1, Action::TherapistConfirm);
        let j = json_of(b.id);
        assert_eq!((&j["both_parties_accepted"], &j["pending_acceptances"]), (&json!(true), &json!([])));
        // A cancelled booking waits for nobody, though nobody confirmed it.
        let e = c.book(json!({"therapist": t2.id, "date": "2030-12-07", "start_time": "10:00", "end_time": "11:00"}));
        assert_eq!(waiting(&json_of(e.id)).len(), 1);
        act(e.id, &c.operator, Action::Cancel);
        let j = json_of(e.id);
        assert_eq!((&j["therapist_accepted"], &j["pending_acceptances"]), (&json!(false), &json!([])));
    }

    /// `write_json` escapes strings exactly as serde_json does: its bytes are those of
    /// the `Value` it reads back as, written by serde_json, for text with quotes,
    /// backslashes, control characters and non-ASCII letters.
    #[test]
    fn the_written_json_is_serde_jsons_bytes_for_any_text() {
        use crate::scheduling::booking::fixture::clinic;
        let c = clinic();
        let nasty = "Say \"hi\" \\ back\nline\ttab\u{1}\u{1f}\u{7f} é 漢 😀 \u{2028} </script>";
        let a = c
            .book(json!({"therapist": c.t[0].id, "date": "2030-12-05", "start_time": "10:00", "end_time": "11:00",
            "notes": nasty, "location": nasty}));
        let (bytes, value) = c
            .store
            .read(|conn| {
                with_rest_json(conn, std::slice::from_ref(&a), &c.operator, |j| {
                    let mut out = Vec::new();
                    j[0].write_json(&mut out);
                    (out, j[0].to_value())
                })
            })
            .unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), serde_json::to_string(&value).unwrap());
        assert_eq!((&value["notes"], &value["location"]), (&json!(nasty), &json!(nasty)));
    }

    /// The hand-written date and time forms give exactly chrono's bytes, and anything
    /// that is not exactly the stored form still goes chrono's way.
    #[test]
    fn the_formatted_dates_and_times_are_chronos() {
        let chrono_way = |value: &str, stored: &str, shown: &str| {
            let parsed = if stored.contains("%Y") {
                chrono::NaiveDate::parse_from_str(value, stored).map(|d| d.format(shown).to_string())
            } else {
                chrono::NaiveTime::parse_from_str(value, stored).map(|t| t.format(shown).to_string())
            };
            parsed.unwrap_or_else(|_| value.to_string())
        };
        // Through the member as it is written, inline (`Short`) or not.
        let shown = |value: &str, stored: &str, shown: &str| -> String {
            let mut out = Vec::new();
            formatted(value, stored, shown).write_json(&mut out);
            serde_json::from_slice(&out).expect("a JSON string")
        };
        let mut times: Vec<String> = Vec::new();
        for h in 0..25 {
            for m in (0..61).step_by(1) {
                times.push(format!("{h:02}:{m:02}:{:02}", (h * 7 + m) % 62));
            }
        }
        times.extend(["9:30:00", "09:30", "09:30:00.5", "aa:bb:cc", "", "23:59:60", "+1:00:00"].map(String::from));
        for t in &times {
            assert_eq!(shown(t, "%H:%M:%S", "%I:%M %p"), chrono_way(t, "%H:%M:%S", "%I:%M %p"), "{t}");
        }
        let mut dates: Vec<String> = Vec::new();
        let mut d = chrono::NaiveDate::from_ymd_opt(2023, 12, 25).unwrap();
        for _ in 0..800 {
            dates.push(d.format("%Y-%m-%d").to_string());
            d = d.succ_opt().unwrap();
        }
        dates.extend(
            [
                "2026-02-29",
                "2024-02-30",
                "2026-13-01",
                "2026-00-10",
                "2026-1-5",
                "0999-01-01",
                "0000-01-01",
                "12026-01-01",
                "2026/01/05",
                "",
                "x",
            ]
            .map(String::from),
        );
        for d in &dates {
            assert_eq!(shown(d, "%Y-%m-%d", "%B %d, %Y"), chrono_way(d, "%Y-%m-%d", "%B %d, %Y"), "{d}");
        }
        assert_eq!(shown("2026-12-05", "%Y-%m-%d", "%B %d, %Y"), "December 05, 2026");
        assert_eq!(shown("00:05:00", "%H:%M:%S", "%I:%M %p"), "12:05 AM");
        assert_eq!(shown("12:00:00", "%H:%M:%S", "%I:%M %p"), "12:00 PM");
    }

    /// `appointment_deleted`'s `appointment` holds nothing any role is not to receive, so
    /// one copy of the event serves every recipient.
    #[test]
    fn the_deleted_stub_is_for_everyone() {
        use crate::scheduling::booking::fixture::clinic;
        let c = clinic();
        let a = c.book(json!({"therapist": c.t[0].id, "therapists": [c.t[1].id], "driver": c.d[0].id,
            "date": "2030-12-05", "start_time": "10:00", "end_time": "11:00", "notes": "knee"}));
        let stub = deleted_stub(&a);
        assert_eq!(
            stub,
            json!({"id": a.id, "date": "2030-12-05", "therapist": c.t[0].id, "therapists": [c.t[1].id], "driver": c.d[0].id})
        );
        for role in ["operator", "therapist", "driver", ""] {
            for path in privacy::appointment_paths(role) {
                assert!(stub.get(path.split('.').next().unwrap()).is_none(), "{role}: {path}");
            }
        }
    }

    /// REST, a write's answer and every event give each reader the same object: the
    /// whole one minus what their role does not receive (`privacy`), plus their actions.
    #[test]
    fn every_way_out_gives_a_reader_the_same_object_without_what_their_role_does_not_receive() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let op = user(&store, "op", "operator");
        let (t1, t2, d) =
            (user(&store, "t1", "therapist"), user(&store, "t2", "therapist"), user(&store, "d", "driver"));
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO clients (first_name, email, notes, created_at, updated_at)
                     VALUES ('Maria', 'maria@example.org', 'Varicose veins: no deep pressure on the legs.', 'x', 'x')",
                    [],
                )?;
                tx.execute("UPDATE users SET email = username || '@clinic.example'", [])
            })
            .unwrap();
        let date = (crate::time::today() + chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
        let body = json!({"client": 1, "therapist": t1.id, "therapists": [t2.id], "driver": d.id, "date": date,
            "start_time": "10:00", "end_time": "11:00", "notes": "Recovering from knee surgery."});
        let w = store.write(|tx| crate::scheduling::booking::create(tx, &op, body.as_object().unwrap())).unwrap();
        let created = store.read(|c| crate::events::after(c, 0, 10)).unwrap();
        let created = created.iter().find(|e| e.kind == crate::events::APPOINTMENT_CREATED).unwrap();
        let a = store.read(|c| load(c, w.appointment.id)).unwrap().unwrap();
        for reader in [&op, &t1, &t2, &d] {
            let rest = store.read(|c| for_user(c, &a, reader)).unwrap();
            assert_eq!(rest, answer_for(w.json.clone(), &a, reader), "{}: REST read and write answer", reader.username);
            let ev: Value = serde_json::from_str(&created.message_for(reader.id, reader.is_operator())).unwrap();
            assert_eq!(ev["appointment"], rest, "{}: event and REST", reader.username);
            let text = rest.to_string();
            assert_eq!(text.contains("knee surgery"), reader.role != "driver", "{}: {text}", reader.username);
            assert_eq!(text.contains("Varicose"), reader.role != "driver", "{}: {text}", reader.username);
            assert_eq!(text.contains('@'), reader.is_operator(), "{}: {text}", reader.username);
            // Everything else is there: the phone, address and names a driver needs.
            assert_eq!(rest["client_details"]["first_name"], "Maria");
            assert!(rest["therapists_details"][0]["phone_number"].is_string());
        }
        // Anyone in an audience without an entry of their own gets the least.
        let shared: Value = serde_json::from_str(&created.message_for(999, false)).unwrap();
        assert!(shared["appointment"].get("notes").is_none() && !shared.to_string().contains('@'), "{shared}");
    }
}
