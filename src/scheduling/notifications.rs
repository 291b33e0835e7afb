//! A user's notifications: what they were told and may have missed. A notification is a
//! row per recipient (`notifications`), written by `send` in the transaction of the
//! change that causes it, together with one `notification` event per recipient carrying
//! the row's `id` (see `send` for why one event each). Reading, marking and deleting
//! touch only the caller's own rows (another user's id is "not found") and emit
//! `notifications_changed` to that user alone, so their other tabs follow. Titles come
//! from one table by type (`KINDS`); the maintenance thread bounds each user's list
//! (`prune`, to the setting `notifications_per_user`, default 500).

use crate::error::ApiError;
use crate::events::{Audience, EventDraft, NOTIFICATION, NOTIFICATIONS_CHANGED};
use crate::scheduling::appointment::{self, Appointment};
use crate::store::Tx;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Value};

/// Every type this server sends, with its title. Imported rows may carry the original's
/// other types; their title is the type in words (`title`).
pub const KINDS: &[(&str, &str)] = &[
    ("appointment_assigned", "New assignment"),
    ("appointment_unassigned", "Taken off a booking"),
    ("appointment_rejected", "Appointment rejected"),
    ("rejection_denied", "Rejection denied"),
    ("pickup_requested", "Pickup requested"),
    ("pickup_rejected", "Pickup driver cannot go"),
    ("appointment_auto_cancelled", "Appointment cancelled automatically"),
];

/// The title of a notification of type `kind`.
pub fn title(kind: &str) -> String {
    match KINDS.iter().find(|k| k.0 == kind) {
        Some((_, t)) => (*t).to_string(),
        None => {
            let words = kind.replace('_', " ");
            let mut c = words.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_else(|| "Notification".into())
        }
    }
}

/// One stored notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: i64,
    pub user_id: i64,
    pub appointment_id: Option<i64>,
    pub kind: String,
    pub message: String,
    pub is_read: bool,
    pub created_at: String,
}

const COLUMNS: &str = "id, user_id, appointment_id, notification_type, message, is_read, created_at";

impl Notification {
    fn from_row(r: &Row) -> rusqlite::Result<Notification> {
        Ok(Notification {
            id: r.get(0)?,
            user_id: r.get(1)?,
            appointment_id: r.get(2)?,
            kind: r.get(3)?,
            message: r.get(4)?,
            is_read: r.get(5)?,
            created_at: r.get(6)?,
        })
    }

    /// The one JSON shape (REST and, with `data` and `unread_count`, the socket message).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "user": self.user_id,
            "appointment": self.appointment_id,
            "notification_type": self.kind,
            "title": title(&self.kind),
            "message": self.message,
            "is_read": self.is_read,
            "created_at": self.created_at,
        })
    }
}

/// What a notification is about, for its event's `data`.
pub enum About<'a> {
    /// An appointment the recipient sees: its JSON (the one shape), with each
    /// recipient's `allowed_actions` filled in and what their role does not receive left
    /// out, as in every event about it.
    Visible(&'a Appointment, &'a Value),
    /// An appointment the recipient no longer sees: `appointment::deleted_stub` of it as
    /// they last saw it (no member of it is withheld from anyone).
    Left(&'a Appointment),
}

/// Writes a notification of type `kind` for everyone in `to` (operators: every active
/// operator) and one `notification` event per recipient. Returns the new ids.
///
/// Why one event per recipient rather than one event rendered per recipient: the
/// message must carry the recipient's own row id, so no two recipients — not even two
/// operators — could share a frame anyway; an event with a single recipient keeps the
/// hub's rule (each event's frames built once) without teaching `events::Renderings` a
/// third per-recipient member, and a `?since=` replay returns exactly the user's own rows.
pub fn send(tx: &mut Tx, to: &Audience, kind: &'static str, about: About, message: &str) -> rusqlite::Result<Vec<i64>> {
    let operators: Vec<i64> = if to.operators {
        let mut st = tx.prepare_cached("SELECT id FROM users WHERE role = 'operator' AND is_active = 1 ORDER BY id")?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    let mut users: Vec<i64> = Vec::new();
    for u in to.users.iter().copied().chain(operators) {
        if !users.contains(&u) {
            users.push(u);
        }
    }
    let a = match about {
        About::Visible(a, _) | About::Left(a) => a,
    };
    let now = crate::time::now_iso();
    let mut ids = Vec::with_capacity(users.len());
    for user in users {
        tx.prepare_cached(
            "INSERT INTO notifications (user_id, appointment_id, notification_type, message, is_read, created_at)
             VALUES (?1, ?2, ?3, ?4, 0, ?5)",
        )?
        .execute(params![user, a.id, kind, message, now])?;
        let n = Notification {
            id: tx.last_insert_rowid(),
            user_id: user,
            appointment_id: Some(a.id),
            kind: kind.to_string(),
            message: message.to_string(),
            is_read: false,
            created_at: now.clone(),
        };
        let mut payload = n.to_json();
        payload["unread_count"] = unread_count(tx, user)?.into();
        let audience = Audience::only([user]);
        let payload = match about {
            About::Visible(a, j) => {
                payload["data"] = json!({"appointment_id": a.id, "appointment": j});
                // The recipient's `allowed_actions` and withheld members (events.rs).
                appointment::with_actions_for(tx, a, &audience, payload)?
            }
            About::Left(a) => {
                payload["data"] = json!({"appointment_id": a.id, "appointment": appointment::deleted_stub(a)});
                payload
            }
        };
        tx.emit(EventDraft { kind: NOTIFICATION, appointment_id: Some(a.id), audience, payload })?;
        ids.push(n.id);
    }
    Ok(ids)
}

pub fn unread_count(conn: &Connection, user_id: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT COUNT(*) FROM notifications WHERE user_id = ?1 AND is_read = 0")?
        .query_row([user_id], |r| r.get(0))
}

/// `user_id`'s notification `id`, or 404 (also for another user's).
pub fn get_own(conn: &Connection, user_id: i64, id: i64) -> Result<Notification, ApiError> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM notifications WHERE id = ?1 AND user_id = ?2"))?
        .query_row(params![id, user_id], Notification::from_row)
        .optional()?
        .ok_or_else(|| {
            ApiError::new(crate::error::ErrorCode::NotFound, "You have no notification with this id; reload the list.")
        })
}

/// Notifications by id (a page's rows), in one query.
pub fn get_many(conn: &Connection, ids: Vec<i64>) -> rusqlite::Result<std::collections::HashMap<i64, Notification>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE id IN (SELECT value FROM json_each(?1))"
    ))?;
    let rows = st.query_map([crate::store::id_list(ids)], Notification::from_row)?;
    rows.map(|r| r.map(|n| (n.id, n))).collect()
}

/// Tells `user_id`'s sockets that `ids` became read (`Some(true)`), unread
/// (`Some(false)`) or were deleted (`None`), with their unread count now.
fn changed(tx: &mut Tx, user_id: i64, ids: &[i64], is_read: Option<bool>) -> rusqlite::Result<i64> {
    let unread = unread_count(tx, user_id)?;
    if !ids.is_empty() {
        tx.emit(EventDraft {
            kind: NOTIFICATIONS_CHANGED,
            appointment_id: None,
            audience: Audience::only([user_id]),
            payload: json!({"ids": ids, "is_read": is_read, "deleted": is_read.is_none(), "unread_count": unread}),
        })?;
    }
    Ok(unread)
}

/// Marks the caller's notification `id` read or unread; an event only if it changed.
pub fn mark(tx: &mut Tx, user_id: i64, id: i64, read: bool) -> Result<Notification, ApiError> {
    let mut n = get_own(tx, user_id, id)?;
    if n.is_read != read {
        tx.execute("UPDATE notifications SET is_read = ?2 WHERE id = ?1", params![id, read])?;
        n.is_read = read;
        changed(tx, user_id, &[id], Some(read))?;
    }
    Ok(n)
}

/// Marks all the caller's notifications read; returns (how many changed, unread now).
pub fn mark_all_read(tx: &mut Tx, user_id: i64) -> rusqlite::Result<(usize, i64)> {
    let ids = ids_where(tx, user_id, "is_read = 0")?;
    tx.execute("UPDATE notifications SET is_read = 1 WHERE user_id = ?1 AND is_read = 0", [user_id])?;
    Ok((ids.len(), changed(tx, user_id, &ids, Some(true))?))
}

/// Which of the caller's notifications a delete takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    All,
    Read,
    One(i64),
}

/// Deletes the caller's notifications `which`; returns (how many, unread now). `One`
/// of an id that is not theirs is 404.
pub fn delete(tx: &mut Tx, user_id: i64, which: Which) -> Result<(usize, i64), ApiError> {
    let ids = match which {
        Which::All => ids_where(tx, user_id, "1")?,
        Which::Read => ids_where(tx, user_id, "is_read = 1")?,
        Which::One(id) => vec![get_own(tx, user_id, id)?.id],
    };
    tx.execute(
        "DELETE FROM notifications WHERE user_id = ?1 AND id IN (SELECT value FROM json_each(?2))",
        params![user_id, crate::store::id_list(ids.iter().copied())],
    )?;
    Ok((ids.len(), changed(tx, user_id, &ids, None)?))
}

fn ids_where(conn: &Connection, user_id: i64, cond: &str) -> rusqlite::Result<Vec<i64>> {
    let mut st =
        conn.prepare_cached(&format!("SELECT id FROM notifications WHERE user_id = ?1 AND {cond} ORDER BY id"))?;
    let rows = st.query_map([user_id], |r| r.get(0))?;
    rows.collect()
}

/// Keeps each user's newest `keep` notifications and deletes the rest; returns how many
/// went. No event: the rows pruned are far below any page a client shows, and a client
/// reloading the list gets the count right.
pub fn prune(tx: &Tx, keep: i64) -> rusqlite::Result<usize> {
    let over: Vec<i64> = {
        let mut st = tx.prepare_cached(
            "SELECT user_id FROM notifications GROUP BY user_id HAVING COUNT(*) > ?1 ORDER BY user_id",
        )?;
        let rows = st.query_map([keep], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut gone = 0;
    for user in over {
        gone += tx.execute(
            "DELETE FROM notifications WHERE user_id = ?1 AND id NOT IN
                (SELECT id FROM notifications WHERE user_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2)",
            params![user, keep],
        )?;
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::booking::fixture::clinic;
    use serde_json::json;

    #[test]
    fn titles_come_from_the_table_or_the_type_in_words() {
        assert_eq!(title("rejection_denied"), "Rejection denied");
        assert_eq!(title("appointment_reminder"), "Appointment reminder");
        assert_eq!(title(""), "Notification");
    }

    /// Pruning keeps each user's newest rows (by time, then id) and no one else's.
    #[test]
    fn prune_keeps_the_newest_per_user() {
        let k = clinic();
        let a = k.book(json!({"therapist": k.t[0].id, "driver": k.d[0].id, "services": [1], "date": "2030-12-05",
            "start_time": "10:00", "end_time": "11:00"}));
        let (t, d) = (k.t[0].id, k.d[0].id);
        k.store
            .write(|tx| -> rusqlite::Result<()> {
                tx.execute("DELETE FROM notifications", [])?;
                for i in 0..7 {
                    let at = format!("2030-01-01T00:00:{i:02}Z");
                    for u in [t, d] {
                        tx.execute(
                            "INSERT INTO notifications (user_id, appointment_id, notification_type, message, created_at)
                             VALUES (?1, ?2, 'x', ?3, ?4)",
                            params![u, a.id, format!("m{i}"), at],
                        )?;
                    }
                }
                Ok(())
            })
            .unwrap();
        // d's rows only 2: under the limit, untouched.
        k.store.write(|tx| tx.execute("DELETE FROM notifications WHERE user_id = ?1 AND message < 'm5'", [d])).unwrap();
        let gone = k.store.write(|tx| prune(tx, 3)).unwrap();
        assert_eq!(gone, 4);
        let left = |u: i64| -> Vec<String> {
            k.store
                .read(|c| -> rusqlite::Result<Vec<String>> {
                    let mut st = c.prepare("SELECT message FROM notifications WHERE user_id = ?1 ORDER BY id")?;
                    let rows = st.query_map([u], |r| r.get(0))?;
                    rows.collect()
                })
                .unwrap()
        };
        assert_eq!(left(t), ["m4", "m5", "m6"]);
        assert_eq!(left(d), ["m5", "m6"]);
    }
}
