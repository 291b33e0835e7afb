//! The event log: what changed, in `seq` order, and who may see it. Every change to an
//! appointment appends a row here in its own transaction (`Tx::emit`); the hub
//! broadcasts rows after commit, and a client resuming with `?since=` is replayed rows
//! from this table. `session_revoked` rows are internal: they tell the hub (in this or
//! another process) to close a user's sockets, and are never sent to clients.
//!
//! An event's client message is `{"type", "timestamp", "seq", ...payload}`, built once per
//! event by `Event::message`, however many sockets receive it.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::Value;

pub const APPOINTMENT_CREATED: &str = "appointment_created";
pub const APPOINTMENT_UPDATED: &str = "appointment_updated";
pub const APPOINTMENT_DELETED: &str = "appointment_deleted";
pub const NOTIFICATION: &str = "notification";
/// Internal: payload `{"user_id", "digests": [..]}` or `{"user_id", "all": true}`.
pub const SESSION_REVOKED: &str = "session_revoked";

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

    /// The client message: `{"type","timestamp","seq", ...payload}`, as JSON text.
    pub fn message(&self) -> String {
        let head = format!(
            "{{\"type\":{},\"timestamp\":{},\"seq\":{}",
            Value::String(self.kind.clone()),
            Value::String(self.created_at.clone()),
            self.seq
        );
        // The payload is an object we serialised ourselves: splice its members in.
        let inner = self.payload.trim().trim_start_matches('{').trim_end_matches('}').trim();
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

    #[test]
    fn audience_round_trips() {
        let a = Audience::operators_and([3, 17]);
        assert_eq!(Audience::decode(true, &a.encode()), a);
        assert!(a.includes(17, false) && a.includes(99, true) && !a.includes(99, false));
    }
}
