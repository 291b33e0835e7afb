//! Dated availability slots (the original's `availability` rows): one person, one date, a
//! start and an end (a start after the end crosses midnight), available or not. Unique
//! per (person, date, start, end). Operators keep anyone's slots; a therapist or driver
//! only their own (naming someone else is a 403; someone else's slot is not found). Only
//! therapists and drivers have slots (they are the ones booked). Every change emits one
//! `availability_changed` event to the operators and the person (`emit_changed`), in the
//! change's transaction.

use crate::error::ApiError;
use crate::events::{Audience, EventDraft, AVAILABILITY_CHANGED};
use crate::scheduling::validate::Input;
use crate::store::users::{self, User};
use crate::store::Tx;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Map, Value};

/// The most slots one `bulk_create` takes.
pub const MAX_BULK: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub id: i64,
    pub user_id: i64,
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub is_available: bool,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, user_id, date, start_time, end_time, is_available, created_at, updated_at";

impl Slot {
    fn from_row(r: &Row) -> rusqlite::Result<Slot> {
        Ok(Slot {
            id: r.get(0)?,
            user_id: r.get(1)?,
            date: r.get(2)?,
            start_time: r.get(3)?,
            end_time: r.get(4)?,
            is_available: r.get(5)?,
            created_at: r.get(6)?,
            updated_at: r.get(7)?,
        })
    }

    /// The slot as every answer and event shows it.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "user": self.user_id,
            "date": self.date,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "is_available": self.is_available,
            "is_cross_day": self.start_time > self.end_time,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<Slot>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM availability WHERE id = ?1"))?
        .query_row([id], Slot::from_row)
        .optional()
}

/// `user`'s slots on `date`, earliest first.
pub fn on_date(conn: &Connection, user: i64, date: &str) -> rusqlite::Result<Vec<Slot>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM availability WHERE user_id = ?1 AND date = ?2 ORDER BY start_time, end_time"
    ))?;
    let rows = st.query_map(params![user, date], Slot::from_row)?;
    rows.collect()
}

/// Has `user` any slot at all?
pub fn has_any(conn: &Connection, user: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM availability WHERE user_id = ?1)")?
        .query_row([user], |r| r.get(0))
}

/// May `me` see `slot`? Operators all; others their own.
pub fn can_see(me: &User, slot: &Slot) -> bool {
    me.is_operator() || slot.user_id == me.id
}

/// 403 unless `me` may keep `user`'s schedule (operators anyone's, staff their own).
pub fn may_manage(me: &User, user: i64) -> Result<(), ApiError> {
    if me.is_operator() || me.id == user {
        Ok(())
    } else {
        Err(ApiError::forbidden("You can only set your own availability; ask an operator to change a colleague's."))
    }
}

/// 400 naming `field` unless `user` is a therapist or driver account.
pub fn check_schedulable(conn: &Connection, field: &str, user: i64) -> Result<User, ApiError> {
    match users::get(conn, user)? {
        Some(u) if u.role == "therapist" || u.role == "driver" => Ok(u),
        Some(_) => Err(ApiError::field(field, "Availability is kept for therapists and drivers only.")),
        None => Err(ApiError::field(field, "There is no such staff member; choose one from the staff list.")),
    }
}

/// The times and availability of one slot from `i` (`current` fills what a PATCH leaves
/// out); `None` when a field error was recorded.
fn times(i: &mut Input, current: Option<&Slot>) -> Option<(String, String, bool)> {
    let partial = current.is_some();
    if !partial {
        i.require("start_time");
        i.require("end_time");
    }
    let start = i.time("start_time").or_else(|| current.map(|c| c.start_time.clone()));
    let end = i.time("end_time").or_else(|| current.map(|c| c.end_time.clone()));
    let available = i.boolean("is_available").or(current.map(|c| c.is_available)).unwrap_or(true);
    let (start, end) = (start?, end?);
    if start == end {
        i.add("end_time", "Must differ from start_time (an end before the start crosses midnight).");
        return None;
    }
    Some((start, end, available))
}

/// 400 on `start_time` if `user` already has this slot (other than `except`).
fn check_unique(conn: &Connection, user: i64, date: &str, start: &str, end: &str, except: i64) -> Result<(), ApiError> {
    let taken: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM availability WHERE user_id = ?1 AND date = ?2 AND start_time = ?3 AND end_time = ?4 AND id != ?5)",
        params![user, date, start, end, except],
        |r| r.get(0),
    )?;
    if taken {
        return Err(ApiError::field(
            "start_time",
            "This person already has a slot with these times that day; edit it instead.",
        ));
    }
    Ok(())
}

/// The person a body names (`user`, or `user_id` as `bulk_create` calls it); a therapist
/// or driver may leave it out for themselves.
fn person(i: &mut Input, me: &User, current: Option<&Slot>, usual: &str) -> Option<i64> {
    let other = if usual == "user" { "user_id" } else { "user" };
    let name = if i.has(other) && !i.has(usual) { other } else { usual };
    match i.id(name) {
        Some(Some(u)) => Some(u),
        Some(None) | None if current.is_some() => current.map(|c| c.user_id),
        _ if !me.is_operator() && !i.has(name) => Some(me.id),
        Some(None) => {
            i.add(name, "Choose the therapist or driver.");
            None
        }
        None => {
            if !i.has(name) {
                i.add(name, "This field is required.");
            }
            None
        }
    }
}

fn insert(tx: &Tx, user: i64, date: &str, start: &str, end: &str, available: bool) -> Result<Slot, ApiError> {
    let now = crate::time::now_iso();
    tx.execute(
        "INSERT INTO availability (user_id, date, start_time, end_time, is_available, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![user, date, start, end, available, now],
    )?;
    get(tx, tx.last_insert_rowid())?.ok_or_else(ApiError::not_found)
}

/// POST availabilities/: one slot.
pub fn create(tx: &mut Tx, me: &User, body: &Map<String, Value>) -> Result<Slot, ApiError> {
    let mut i = Input::new(body);
    let user = person(&mut i, me, None, "user");
    if let Some(u) = user {
        may_manage(me, u)?;
    }
    i.require("date");
    let date = i.date("date");
    let t = times(&mut i, None);
    i.finish()?;
    let (user, date, (start, end, available)) =
        (user.unwrap_or(me.id), date.unwrap_or_default(), t.unwrap_or_default());
    let date = date.format("%Y-%m-%d").to_string();
    check_schedulable(tx, "user", user)?;
    check_unique(tx, user, &date, &start, &end, 0)?;
    let slot = insert(tx, user, &date, &start, &end, available)?;
    emit_changed(tx, me, &[user], "created", vec![slot.to_json()])?;
    Ok(slot)
}

/// PUT/PATCH availabilities/{id}/ (`partial` for PATCH). The slot must be visible to `me`.
pub fn update(tx: &mut Tx, me: &User, id: i64, body: &Map<String, Value>, partial: bool) -> Result<Slot, ApiError> {
    let cur = get(tx, id)?.filter(|s| can_see(me, s)).ok_or_else(ApiError::not_found)?;
    let mut i = Input::new(body);
    let user = person(&mut i, me, Some(&cur), "user").unwrap_or(cur.user_id);
    may_manage(me, user)?;
    if !partial {
        i.require("date");
    }
    let date = i.date("date").map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_else(|| cur.date.clone());
    let t = times(&mut i, if partial { Some(&cur) } else { None });
    i.finish()?;
    let (start, end, available) = t.unwrap_or_default();
    if user != cur.user_id {
        check_schedulable(tx, "user", user)?;
    }
    check_unique(tx, user, &date, &start, &end, id)?;
    tx.execute(
        "UPDATE availability SET user_id = ?2, date = ?3, start_time = ?4, end_time = ?5, is_available = ?6, updated_at = ?7
         WHERE id = ?1",
        params![id, user, date, start, end, available, crate::time::now_iso()],
    )?;
    let slot = get(tx, id)?.ok_or_else(ApiError::not_found)?;
    let mut people = vec![cur.user_id];
    if user != cur.user_id {
        people.push(user);
    }
    emit_changed(tx, me, &people, "updated", vec![cur.to_json(), slot.to_json()])?;
    Ok(slot)
}

/// DELETE availabilities/{id}/.
pub fn delete(tx: &mut Tx, me: &User, id: i64) -> Result<(), ApiError> {
    let cur = get(tx, id)?.filter(|s| can_see(me, s)).ok_or_else(ApiError::not_found)?;
    tx.execute("DELETE FROM availability WHERE id = ?1", [id])?;
    emit_changed(tx, me, &[cur.user_id], "deleted", vec![cur.to_json()])?;
    Ok(())
}

/// POST availabilities/bulk_create/ `{user_id, date, slots: [{start_time, end_time,
/// is_available}]}`: each valid slot is created; each invalid one is reported in
/// `errors` as `{index, start_time, end_time, fields}` (index from 0) and skipped. A bad
/// `user_id`, `date` or `slots` list, or no slot created at all, is a 400 and writes
/// nothing. Answers (created slots, errors).
pub fn bulk_create(tx: &mut Tx, me: &User, body: &Map<String, Value>) -> Result<(Vec<Value>, Vec<Value>), ApiError> {
    let mut i = Input::new(body);
    let user = person(&mut i, me, None, "user_id");
    if let Some(u) = user {
        may_manage(me, u)?;
    }
    i.require("date");
    let date = i.date("date");
    let list = match body.get("slots") {
        Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_BULK => Some(a),
        Some(Value::Array(a)) if a.len() > MAX_BULK => {
            i.add("slots", format!("Send at most {MAX_BULK} slots at once."));
            None
        }
        _ => {
            i.add("slots", "Must be a list of slots, each {start_time, end_time, is_available}.");
            None
        }
    };
    i.finish()?;
    let (Some(user), Some(date), Some(list)) = (user, date, list) else {
        return Err(ApiError::field("slots", "Send user_id, date and slots."));
    };
    let date = date.format("%Y-%m-%d").to_string();
    check_schedulable(tx, "user_id", user)?;
    let (mut created, mut errors) = (Vec::new(), Vec::new());
    for (index, item) in list.iter().enumerate() {
        let empty = Map::new();
        let obj = item.as_object();
        let mut si = Input::new(obj.unwrap_or(&empty));
        if obj.is_none() {
            si.add("slot", "Must be an object {start_time, end_time, is_available}.");
        }
        let t = times(&mut si, None);
        let mut fields = si.errors.into_error().fields.map(|f| *f).unwrap_or_default();
        if let Some((start, end, available)) = t.filter(|_| fields.is_empty()) {
            match check_unique(tx, user, &date, &start, &end, 0) {
                Ok(()) => {
                    created.push(insert(tx, user, &date, &start, &end, available)?.to_json());
                    continue;
                }
                Err(e) => fields = field_errors(e),
            }
        }
        errors.push(json!({
            "index": index,
            "start_time": item.get("start_time").cloned().unwrap_or(Value::Null),
            "end_time": item.get("end_time").cloned().unwrap_or(Value::Null),
            "fields": fields,
        }));
    }
    if created.is_empty() {
        return Err(ApiError::field("slots", "No slot could be created; correct the slots listed in errors.")
            .with_extra("errors", Value::Array(errors)));
    }
    emit_changed(tx, me, &[user], "created", created.clone())?;
    Ok((created, errors))
}

fn field_errors(e: ApiError) -> Map<String, Value> {
    e.fields.map(|f| *f).unwrap_or_default()
}

/// Appends `availability_changed` `{user_id, users, action, availability, working_hours,
/// changed_by}` for the operators and `people` (whose schedule changed):
/// `action` is created | updated | deleted | working_hours; `availability` the slots
/// concerned (an update: before and after); `working_hours` the new week when it changed.
pub fn emit_changed(
    tx: &mut Tx,
    me: &User,
    people: &[i64],
    action: &str,
    availability: Vec<Value>,
) -> rusqlite::Result<i64> {
    emit(tx, me, people, action, availability, Value::Null)
}

pub(super) fn emit(
    tx: &mut Tx,
    me: &User,
    people: &[i64],
    action: &str,
    availability: Vec<Value>,
    week: Value,
) -> rusqlite::Result<i64> {
    tx.emit(EventDraft {
        kind: AVAILABILITY_CHANGED,
        appointment_id: None,
        audience: Audience::operators_and(people.iter().copied()),
        payload: json!({
            "user_id": people[0],
            "users": people,
            "action": action,
            "availability": availability,
            "working_hours": week,
            "changed_by": me.id,
        }),
    })
}
