//! The event log: what changed, in `seq` order, and who may see it. Every change to an
//! appointment appends a row here in its own transaction (`Tx::emit`); the hub
//! broadcasts rows after commit, and a client resuming with `?since=` is replayed rows
//! from this table. `session_revoked` rows are internal: they tell the hub (in this or
//! another process) to close a user's sockets, and are never sent to clients.
//!
//! An event's client message is `{"type", "timestamp", "seq", ...payload}`, built once per
//! event by `Event::message`, however many sockets receive it. An event about an
//! appointment also carries `allowed_actions_for` (`ACTIONS_FOR`): what each recipient may
//! do with it, as REST's `allowed_actions` would say at that moment. That member is never
//! sent; `Event::renderings` gives the operators one shared message (their actions depend
//! only on the status) and each listed staff recipient their own, with the appointment
//! object's `allowed_actions` filled in and the members that recipient does not receive
//! (`WITHHELD_FOR`, decided by `scheduling::privacy`) taken out. Live dispatch and a
//! `?since=` replay both use it, so neither re-reads appointments.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{Map, Value};
use std::collections::HashMap;

pub const APPOINTMENT_CREATED: &str = "appointment_created";
pub const APPOINTMENT_UPDATED: &str = "appointment_updated";
pub const APPOINTMENT_DELETED: &str = "appointment_deleted";
pub const NOTIFICATION: &str = "notification";
/// A user's notifications became read or unread, or were deleted (their other tabs
/// follow): `{"ids", "is_read" (null when deleted), "deleted", "unread_count"}`.
pub const NOTIFICATIONS_CHANGED: &str = "notifications_changed";
/// A staff member's availability changed (slots or usual week), to the operators and
/// that person: `scheduling::availability::slots::emit_changed`.
pub const AVAILABILITY_CHANGED: &str = "availability_changed";
/// Internal: payload `{"user_id", "digests": [..]}` or `{"user_id", "all": true}`.
pub const SESSION_REVOKED: &str = "session_revoked";
/// Payload member of an event about an appointment (see module doc):
/// `{"operators": [...], "<user id>": [...]}`. Stripped from client messages; the
/// recipient's entry becomes `allowed_actions` of the payload's `appointment` (or of
/// `data.appointment`, in a notification).
pub const ACTIONS_FOR: &str = "allowed_actions_for";
/// Payload member of an event about an appointment: what each recipient who is not an
/// operator does not receive, as member paths of the appointment object (`notes`,
/// `client_details.notes`; a path into an array applies to each element):
/// `{"<user id>": [...], "others": [...]}` ("others": any other such recipient). Stripped
/// from client messages; the recipient's paths are removed from the payload's
/// appointment object, and its top-level ones from `updated_fields`. The operators'
/// message keeps every member.
pub const WITHHELD_FOR: &str = "withheld_for";

/// Who may receive an event: all operators and/or the listed users.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    pub operators: bool,
    pub users: Vec<i64>,
}

impl Audience {
    pub fn operators_and(users: impl IntoIterator<Item = i64>) -> Self {
        Audience { operators: true, users: users.into_iter().collect() }
    }

    pub fn only(users: impl IntoIterator<Item = i64>) -> Self {
        Audience { operators: false, users: users.into_iter().collect() }
    }

    /// May a user with this id and role receive it?
    pub fn includes(&self, user_id: i64, is_operator: bool) -> bool {
        (self.operators && is_operator) || self.users.contains(&user_id)
    }

    /// ",3,7," — the stored form, searchable with instr(audience_users, ',3,').
    fn encode(&self) -> String {
        let mut s = String::from(",");
        for u in &self.users {
            s.push_str(&u.to_string());
            s.push(',');
        }
        s
    }

    fn decode(operators: bool, users: &str) -> Self {
        Audience { operators, users: users.split(',').filter_map(|u| u.parse().ok()).collect() }
    }
}

/// An event about to be written.
#[derive(Debug, Clone)]
pub struct EventDraft {
    pub kind: &'static str,
    pub appointment_id: Option<i64>,
    pub audience: Audience,
    /// A JSON object: the message's members besides `type`, `timestamp` and `seq`.
    pub payload: Value,
}

/// A committed event.
#[derive(Debug, Clone)]
pub struct Event {
    pub seq: i64,
    pub created_at: String,
    pub kind: String,
    pub appointment_id: Option<i64>,
    pub audience: Audience,
    /// The payload as JSON object text.
    pub payload: String,
}

impl Event {
    /// Internal events steer the server and are never sent to a client.
    pub fn is_internal(&self) -> bool {
        self.kind == SESSION_REVOKED
    }

    /// The client message: `{"type","timestamp","seq", ...payload}`, as JSON text, for
    /// an event that carries no `allowed_actions_for` (else see `renderings`).
    pub fn message(&self) -> String {
        self.with_head(&self.payload)
    }

    /// The client message that `user_id` receives (see `renderings`).
    pub fn message_for(&self, user_id: i64, is_operator: bool) -> String {
        let r = self.renderings();
        r.message(r.key(user_id, is_operator))
    }

    /// The event's client messages, one per `Rendering` (see module doc).
    pub fn renderings(&self) -> Renderings<'_> {
        // Cheap test first: most events carry no per-recipient members.
        let split = if self.payload.contains("\"allowed_actions_for\"") || self.payload.contains("\"withheld_for\"") {
            match serde_json::from_str::<Value>(&self.payload) {
                Ok(Value::Object(mut p)) => {
                    let (actions, withheld) = (p.remove(ACTIONS_FOR), p.remove(WITHHELD_FOR));
                    (actions.is_some() || withheld.is_some()).then(|| {
                        let mut actions = match actions {
                            Some(Value::Object(a)) => a,
                            _ => Map::new(),
                        };
                        let operators = actions.remove("operators");
                        let users = actions.into_iter().filter_map(|(k, v)| Some((k.parse().ok()?, v))).collect();
                        let mut others = None;
                        let mut hidden = HashMap::new();
                        for (k, v) in withheld.and_then(|w| w.as_object().cloned()).unwrap_or_default() {
                            let paths: Vec<String> = v
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|p| p.as_str().map(String::from))
                                .collect();
                            match k.parse() {
                                Ok(u) => {
                                    hidden.insert(u, paths);
                                }
                                Err(_) if k == "others" => others = Some(paths),
                                Err(_) => {}
                            }
                        }
                        Split { payload: p, operators, users, withheld: hidden, others }
                    })
                }
                _ => None,
            }
        } else {
            None
        };
        Renderings { ev: self, split }
    }

    /// `{"type","timestamp","seq"` followed by the members of `payload` (object text).
    fn with_head(&self, payload: &str) -> String {
        let head = format!(
            "{{\"type\":{},\"timestamp\":{},\"seq\":{}",
            Value::String(self.kind.clone()),
            Value::String(self.created_at.clone()),
            self.seq
        );
        // The payload is an object we serialised ourselves: splice its members in.
        // Exactly one brace off each end: the last member may itself end in `}`.
        let outer = payload.trim();
        let inner = outer.strip_prefix('{').and_then(|p| p.strip_suffix('}')).unwrap_or(outer).trim();
        if inner.is_empty() {
            format!("{head}}}")
        } else {
            format!("{head},{inner}}}")
        }
    }

    fn from_row(r: &Row) -> rusqlite::Result<Event> {
        Ok(Event {
            seq: r.get(0)?,
            created_at: r.get(1)?,
            kind: r.get(2)?,
            appointment_id: r.get(3)?,
            audience: Audience::decode(r.get::<_, bool>(4)?, &r.get::<_, String>(5)?),
            payload: r.get(6)?,
        })
    }
}

/// Which of an event's messages a recipient gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rendering {
    /// The one message of an event without per-recipient members (or, for one with them,
    /// the message without `allowed_actions` and without what `others` may not receive,
    /// for a recipient it has no entry for).
    Shared,
    /// The operators' message: one for all of them.
    Operators,
    /// A listed staff recipient's own message.
    User(i64),
}

/// An event's messages by recipient (`Event::renderings`).
pub struct Renderings<'a> {
    ev: &'a Event,
    split: Option<Split>,
}

/// A payload with `allowed_actions_for` and `withheld_for` taken apart.
struct Split {
    /// The payload without them.
    payload: Map<String, Value>,
    operators: Option<Value>,
    users: HashMap<i64, Value>,
    /// `withheld_for`'s users' paths, and its `others`.
    withheld: HashMap<i64, Vec<String>>,
    others: Option<Vec<String>>,
}

impl Split {
    fn has_entry(&self, user_id: i64) -> bool {
        self.users.contains_key(&user_id) || self.withheld.contains_key(&user_id)
    }
}

impl Renderings<'_> {
    /// Which message a recipient with this id and role gets.
    pub fn key(&self, user_id: i64, is_operator: bool) -> Rendering {
        match &self.split {
            None => Rendering::Shared,
            Some(s) if is_operator && self.ev.audience.operators && s.operators.is_some() => Rendering::Operators,
            Some(s) if s.has_entry(user_id) => Rendering::User(user_id),
            Some(_) => Rendering::Shared,
        }
    }

    /// Every rendering some recipient of the event may get: `Shared` alone for an event
    /// without per-recipient members; for one with them, `Shared` only if some recipient
    /// has no entry.
    pub fn keys(&self) -> Vec<Rendering> {
        let Some(s) = &self.split else {
            return vec![Rendering::Shared];
        };
        let a = &self.ev.audience;
        let mut keys = Vec::new();
        if (a.operators && s.operators.is_none()) || a.users.iter().any(|u| !s.has_entry(*u)) {
            keys.push(Rendering::Shared);
        }
        if s.operators.is_some() {
            keys.push(Rendering::Operators);
        }
        let mut users: Vec<i64> = s.users.keys().chain(s.withheld.keys()).copied().collect();
        users.sort_unstable();
        users.dedup();
        keys.extend(users.into_iter().map(Rendering::User));
        keys
    }

    /// The client message in rendering `r`, as JSON text.
    pub fn message(&self, r: Rendering) -> String {
        let Some(s) = &self.split else {
            return self.ev.message();
        };
        let (actions, withheld) = match r {
            Rendering::Shared => (None, s.others.as_deref()),
            Rendering::Operators => (s.operators.as_ref(), None),
            Rendering::User(u) => (s.users.get(&u), s.withheld.get(&u).or(s.others.as_ref()).map(Vec::as_slice)),
        };
        let mut payload = s.payload.clone();
        if let Some(paths) = withheld {
            if let Some(Value::Array(fields)) = payload.get_mut("updated_fields") {
                fields.retain(|f| !paths.iter().any(|p| f.as_str() == Some(p)));
            }
        }
        if let Some(appt) = appointment_object(&mut payload) {
            if let Some(actions) = actions {
                appt.insert("allowed_actions".into(), actions.clone());
            }
            withhold(appt, withheld.unwrap_or_default());
        }
        self.ev.with_head(&Value::Object(payload).to_string())
    }
}

/// Removes member `paths` (`WITHHELD_FOR`'s form: `notes`, `client_details.notes`; a path
/// into an array applies to each of its objects) from `obj`.
pub fn withhold(obj: &mut Map<String, Value>, paths: &[String]) {
    fn remove(obj: &mut Map<String, Value>, path: &str) {
        let Some((head, rest)) = path.split_once('.') else {
            obj.remove(path);
            return;
        };
        match obj.get_mut(head) {
            Some(Value::Object(inner)) => remove(inner, rest),
            Some(Value::Array(items)) => {
                for inner in items.iter_mut().filter_map(Value::as_object_mut) {
                    remove(inner, rest);
                }
            }
            _ => {}
        }
    }
    for p in paths {
        remove(obj, p);
    }
}

/// The appointment object of a payload: `appointment`, or a notification's `data.appointment`.
fn appointment_object(p: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
    if p.get("appointment").is_some_and(Value::is_object) {
        return p.get_mut("appointment")?.as_object_mut();
    }
    p.get_mut("data")?.get_mut("appointment")?.as_object_mut()
}

const COLUMNS: &str = "seq, created_at, kind, appointment_id, audience_operators, audience_users, payload";

/// Appends `draft` to the log (call through `Tx::emit`, inside the change's transaction).
pub fn append(conn: &Connection, draft: EventDraft) -> rusqlite::Result<Event> {
    let created_at = crate::time::now_iso();
    let payload = draft.payload.to_string();
    let mut stmt = conn.prepare_cached(
        "INSERT INTO events (created_at, kind, appointment_id, audience_operators, audience_users, payload)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    stmt.execute(params![
        created_at,
        draft.kind,
        draft.appointment_id,
        draft.audience.operators,
        draft.audience.encode(),
        payload
    ])?;
    Ok(Event {
        seq: conn.last_insert_rowid(),
        created_at,
        kind: draft.kind.to_string(),
        appointment_id: draft.appointment_id,
        audience: draft.audience,
        payload,
    })
}

/// Events after `after_seq`, oldest first, at most `limit` (all kinds, all audiences).
pub fn after(conn: &Connection, after_seq: i64, limit: usize) -> rusqlite::Result<Vec<Event>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2"))?;
    let rows = stmt.query_map(params![after_seq, limit as i64], Event::from_row)?;
    rows.collect()
}

/// The newest `seq` in the log (0 when empty).
pub fn last_seq(conn: &Connection) -> rusqlite::Result<i64> {
    // sqlite_sequence keeps AUTOINCREMENT's high-water mark even after pruning.
    let s: Option<i64> =
        conn.query_row("SELECT seq FROM sqlite_sequence WHERE name = 'events'", [], |r| r.get(0)).optional()?;
    Ok(s.unwrap_or(0))
}

/// The oldest `seq` still in the log, if any.
pub fn first_seq(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.query_row("SELECT MIN(seq) FROM events", [], |r| r.get(0))
}

/// Deletes events older than `before` (an ISO timestamp); returns how many.
pub fn prune(conn: &Connection, before: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM events WHERE created_at < ?1", [before])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_splices_payload() {
        let ev = Event {
            seq: 7,
            created_at: "t".into(),
            kind: APPOINTMENT_DELETED.into(),
            appointment_id: Some(3),
            audience: Audience::default(),
            payload: r#"{"appointment_id":3,"deleted_by":1}"#.into(),
        };
        let v: Value = serde_json::from_str(&ev.message()).unwrap();
        assert_eq!(v["type"], "appointment_deleted");
        assert_eq!(v["seq"], 7);
        assert_eq!(v["appointment_id"], 3);
        let empty = Event { payload: "{}".into(), ..ev };
        let v: Value = serde_json::from_str(&empty.message()).unwrap();
        assert_eq!(v["seq"], 7);
    }

    /// Operators share one message, each listed staff member gets their own, and nobody
    /// sees `allowed_actions_for`.
    #[test]
    fn per_recipient_actions_fill_in_allowed_actions() {
        let payload = serde_json::json!({
            "appointment": {"id": 3, "status": "pending"},
            "updated_fields": ["status"],
            ACTIONS_FOR: {"operators": ["cancel"], "5": ["reject"], "6": ["therapist_confirm", "reject"]},
        });
        let ev = Event {
            seq: 9,
            created_at: "t".into(),
            kind: APPOINTMENT_UPDATED.into(),
            appointment_id: Some(3),
            audience: Audience::operators_and([5, 6]),
            payload: payload.to_string(),
        };
        let r = ev.renderings();
        assert_eq!(r.key(1, true), Rendering::Operators);
        assert_eq!(r.key(5, false), Rendering::User(5));
        assert_eq!(r.key(7, false), Rendering::Shared);
        assert_eq!(r.keys().len(), 3, "everyone in the audience has an entry: no shared message");
        let msg = |u: i64, op: bool| -> Value { serde_json::from_str(&ev.message_for(u, op)).unwrap() };
        assert_eq!(msg(1, true)["appointment"]["allowed_actions"], serde_json::json!(["cancel"]));
        assert_eq!(msg(5, false)["appointment"]["allowed_actions"], serde_json::json!(["reject"]));
        assert_eq!(msg(6, false)["appointment"]["allowed_actions"], serde_json::json!(["therapist_confirm", "reject"]));
        for m in [msg(1, true), msg(5, false), msg(7, false)] {
            assert!(m.get(ACTIONS_FOR).is_none(), "{m}");
            assert_eq!((m["seq"].as_i64(), m["updated_fields"][0].as_str()), (Some(9), Some("status")));
        }
        assert!(msg(7, false)["appointment"].get("allowed_actions").is_none());
        // A notification's appointment is `data.appointment`.
        let n = Event {
            kind: NOTIFICATION.into(),
            payload: serde_json::json!({"data": {"appointment": {"id": 3}}, ACTIONS_FOR: {"5": ["reject"]}})
                .to_string(),
            ..ev.clone()
        };
        let v: Value = serde_json::from_str(&n.message_for(5, false)).unwrap();
        assert_eq!(v["data"]["appointment"]["allowed_actions"], serde_json::json!(["reject"]));
        // Without the member, one message for all, as before.
        let plain = Event { payload: r#"{"appointment":{"id":3}}"#.into(), ..ev };
        assert_eq!(plain.renderings().keys(), vec![Rendering::Shared]);
        assert_eq!(plain.message_for(5, false), plain.message());
    }

    /// A recipient's withheld paths leave their message (nested, in arrays, and in
    /// `updated_fields`); operators keep everything; a recipient without an entry gets
    /// `others`.
    #[test]
    fn withheld_members_leave_only_their_recipients_messages() {
        let payload = serde_json::json!({
            "appointment": {"id": 3, "notes": "n", "client_details": {"notes": "c", "phone_number": "p"},
                "therapists_details": [{"email": "e", "id": 1}, {"email": "f", "id": 2}]},
            "updated_fields": ["notes", "location"],
            ACTIONS_FOR: {"operators": [], "5": []},
            WITHHELD_FOR: {"5": ["notes", "client_details.notes", "therapists_details.email"], "others": ["notes"]},
        });
        let ev = Event {
            seq: 4,
            created_at: "t".into(),
            kind: APPOINTMENT_UPDATED.into(),
            appointment_id: Some(3),
            audience: Audience::operators_and([5, 6]),
            payload: payload.to_string(),
        };
        let msg = |u: i64, op: bool| -> Value { serde_json::from_str(&ev.message_for(u, op)).unwrap() };
        let op = msg(1, true);
        assert_eq!(op["appointment"]["client_details"]["notes"], "c");
        assert_eq!(op["updated_fields"], serde_json::json!(["notes", "location"]));
        assert!(op.get(WITHHELD_FOR).is_none());
        let five = msg(5, false);
        assert_eq!(
            five["appointment"],
            serde_json::json!({"id": 3, "client_details": {"phone_number": "p"}, "allowed_actions": [],
                "therapists_details": [{"id": 1}, {"id": 2}]})
        );
        assert_eq!(five["updated_fields"], serde_json::json!(["location"]));
        let six = msg(6, false);
        assert!(six["appointment"].get("notes").is_none() && six["appointment"]["client_details"]["notes"] == "c");
        assert_eq!(ev.renderings().keys(), vec![Rendering::Shared, Rendering::Operators, Rendering::User(5)]);
    }

    #[test]
    fn audience_round_trips() {
        let a = Audience::operators_and([3, 17]);
        assert_eq!(Audience::decode(true, &a.encode()), a);
        assert!(a.includes(17, false) && a.includes(99, true) && !a.includes(99, false));
    }
}
