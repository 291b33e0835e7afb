//! A person's usual week (beyond the original): at most one range of working hours per
//! weekday (0 = Monday … 6 = Sunday), e.g. Monday to Saturday 09:00–18:00; a weekday
//! without a range is a day off. A range whose start is after its end crosses midnight.
//! Dated slots (`slots`) are the exceptions: an unavailable slot takes hours away (a day
//! off), an available one adds them (extra hours). The week is set whole (`PUT staff/{id}/working_hours/`), by an
//! operator for anyone or by a therapist or driver for themselves, and the change is one
//! `availability_changed` event (`action: "working_hours"`).

use super::slots::{self, check_schedulable, may_manage};
use crate::error::ApiError;
use crate::scheduling::validate::{whole_number, Input};
use crate::store::users::User;
use crate::store::Tx;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Map, Value};

pub const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// `user`'s hours on `weekday` (0 = Monday), if they work that day.
pub fn hours_on(conn: &Connection, user: i64, weekday: u32) -> rusqlite::Result<Option<(String, String)>> {
    conn.prepare_cached("SELECT start_time, end_time FROM working_hours WHERE user_id = ?1 AND weekday = ?2")?
        .query_row(params![user, weekday], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

/// Has `user` a usual week at all?
pub fn has_any(conn: &Connection, user: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM working_hours WHERE user_id = ?1)")?
        .query_row([user], |r| r.get(0))
}

/// `{user, hours: [{weekday, day, start_time, end_time, is_cross_day}]}`, Monday first.
pub fn to_json(conn: &Connection, user: i64) -> rusqlite::Result<Value> {
    let mut st = conn.prepare_cached(
        "SELECT weekday, start_time, end_time FROM working_hours WHERE user_id = ?1 ORDER BY weekday",
    )?;
    let hours = st
        .query_map([user], |r| {
            let (d, s, e): (usize, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            Ok(json!({"weekday": d, "day": DAYS[d.min(6)], "is_cross_day": s > e, "start_time": s, "end_time": e}))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(json!({"user": user, "hours": hours}))
}

/// PUT staff/{id}/working_hours/ `{hours: [{weekday, start_time, end_time}]}`: replaces
/// `user`'s week (an empty list clears it). Answers the week as it is now.
pub fn set(tx: &mut Tx, me: &User, user: i64, body: &Map<String, Value>) -> Result<Value, ApiError> {
    may_manage(me, user)?;
    let mut i = Input::new(body);
    let mut rows: Vec<(i64, String, String)> = Vec::new();
    match body.get("hours") {
        Some(Value::Array(list)) if list.len() <= 7 => {
            for (n, item) in list.iter().enumerate() {
                let Some(obj) = item.as_object() else {
                    i.add("hours", format!("Item {}: must be {{weekday, start_time, end_time}}.", n + 1));
                    continue;
                };
                let mut one = Input::new(obj);
                one.require("start_time");
                one.require("end_time");
                let (s, e) = (one.time("start_time"), one.time("end_time"));
                let day = obj.get("weekday").and_then(whole_number).filter(|d| (0..7).contains(d));
                if day.is_none() {
                    one.add("weekday", "Must be a whole number from 0 (Monday) to 6 (Sunday).");
                }
                if s.is_some() && s == e {
                    one.add("end_time", "Must differ from start_time (an end before the start crosses midnight).");
                }
                if let Some(d) = day.filter(|d| rows.iter().any(|r| r.0 == *d)) {
                    one.add("weekday", format!("{} is listed twice; give one range per day.", DAYS[d as usize]));
                }
                let errs = one.errors.into_error().fields.map(|f| *f).unwrap_or_default();
                for (field, msgs) in errs {
                    for m in msgs.as_array().into_iter().flatten() {
                        i.add("hours", format!("Item {}, {field}: {}", n + 1, m.as_str().unwrap_or_default()));
                    }
                }
                if let (Some(d), Some(s), Some(e)) = (day, s, e) {
                    rows.push((d, s, e));
                }
            }
        }
        Some(Value::Array(_)) => i.add("hours", "Give at most one range for each of the 7 weekdays."),
        _ => i.add("hours", "Must be a list of {weekday, start_time, end_time} (0 = Monday); [] clears the week."),
    }
    i.finish()?;
    check_schedulable(tx, "user", user)?;
    tx.execute("DELETE FROM working_hours WHERE user_id = ?1", [user])?;
    for (d, s, e) in &rows {
        tx.execute(
            "INSERT INTO working_hours (user_id, weekday, start_time, end_time) VALUES (?1, ?2, ?3, ?4)",
            params![user, d, s, e],
        )?;
    }
    let week = to_json(tx, user)?;
    slots::emit(tx, me, &[user], "working_hours", Vec::new(), week.clone())?;
    Ok(week)
}
