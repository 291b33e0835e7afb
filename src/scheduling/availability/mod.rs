//! Who is free when: THE rule "is X available from S to E on D" (`check`), which every
//! availability answer uses (`available_therapists/`, `available_drivers/` and the
//! booking form's `staff_for_slot/`). The rows it reads are `slots` (dated slots, the
//! original's `availability` table) and `week` (a person's usual working hours).
//!
//! The rule, in order:
//! 1. Booked: an active appointment overlapping the window holds them — the one
//!    double-booking query (`booking::clash`), so a list never offers someone a booking
//!    would refuse. Reason: "Booked with Maria Santos 10:00–11:00".
//! 2. Each day's plan is its weekday's working hours (one range, or none: a day off) and
//!    its dated slots: an available slot adds hours (extra hours, or the whole day for
//!    someone without a usual week, as in the original), an unavailable one takes them
//!    away (a day off, a doctor's appointment). A range whose start is after its end runs
//!    into the next day. The plans of the day before, the day and the day after are laid
//!    on one line, so a night slot or a window crossing midnight is judged as one stretch.
//! 3. A window touching an unavailable slot is refused ("Marked unavailable 13:00–17:00");
//!    else it must lie inside one stretch of available ranges (adjacent ones join).
//!    Otherwise the reason says what the day holds ("Not working on Sundays", "Available
//!    only 09:00–12:00 that day"), or "No working hours or availability set" for someone
//!    whose schedule was never entered: availability is declared, as in the original.
//!
//! Availability guides the booking form; it does not refuse a booking (the clinic may
//! book someone outside their usual hours by phone); double booking is what refuses.

pub mod slots;
pub mod week;

use super::booking::{clash, Clash};
use super::privacy::{self, Object};
use crate::store::users::{self, User};
use chrono::{Datelike, Duration, NaiveDate};
use rusqlite::Connection;
use serde_json::{json, Value};

const DAY: i32 = 24 * 60;

/// A time window to judge: `date` and `HH:MM:SS` times; `end` before `start` crosses
/// midnight (ends on the next day). `start == end` is refused by the readers.
#[derive(Debug, Clone)]
pub struct Window {
    pub date: NaiveDate,
    pub start: String,
    pub end: String,
}

/// What covers an available window: a dated slot stretch or the week's hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cover {
    /// The date the covering range starts on.
    pub date: NaiveDate,
    pub start_time: String,
    pub end_time: String,
    /// It runs past midnight.
    pub is_cross_day: bool,
}

/// The answer for one person.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// `Some` when available.
    pub cover: Option<Cover>,
    /// One sentence when not available.
    pub reason: Option<String>,
    /// The appointment that holds them, when that is why.
    pub conflict: Option<Clash>,
    /// Why not, as a word a program can act on (`REASON_CODES`).
    pub code: Option<&'static str>,
}

/// `Verdict::code`: booked (a booking overlaps), unavailable (an unavailable slot does),
/// off (nothing that day), outside_hours (the day has hours, not these), no_schedule
/// (no working hours or slots were ever entered).
pub const REASON_CODES: [&str; 5] = ["booked", "unavailable", "off", "outside_hours", "no_schedule"];

impl Verdict {
    pub fn available(&self) -> bool {
        self.cover.is_some()
    }

    fn no(code: &'static str, reason: String) -> Verdict {
        Verdict { cover: None, reason: Some(reason), conflict: None, code: Some(code) }
    }
}

/// `HH:MM:SS` → minutes after midnight.
fn minutes(t: &str) -> i32 {
    let n = |r: std::ops::Range<usize>| t.get(r).and_then(|s| s.parse::<i32>().ok()).unwrap_or(0);
    n(0..2) * 60 + n(3..5)
}

/// Minutes (any day) → `HH:MM:SS`.
fn clock(m: i32) -> String {
    let m = m.rem_euclid(DAY);
    format!("{:02}:{:02}:00", m / 60, m % 60)
}

fn hm(t: &str) -> &str {
    t.get(..5).unwrap_or(t)
}

/// `[start, end)` in minutes from midnight of the day it is placed on (`end` may pass
/// 1440: it crosses midnight).
fn span(start: &str, end: &str) -> (i32, i32) {
    let (s, e) = (minutes(start), minutes(end));
    (s, if e <= s { e + DAY } else { e })
}

/// One range of a day's plan, placed on the window's line.
#[derive(Debug, Clone)]
struct Range {
    from: i32,
    to: i32,
    available: bool,
}

/// A day's plan: its weekday's working hours (if any) and its dated slots, as
/// (start, end, available) ranges.
fn plan(conn: &Connection, user: i64, date: NaiveDate) -> rusqlite::Result<Vec<(String, String, bool)>> {
    let mut p: Vec<(String, String, bool)> = week::hours_on(conn, user, date.weekday().num_days_from_monday())?
        .map(|(s, e)| vec![(s, e, true)])
        .unwrap_or_default();
    let dated = slots::on_date(conn, user, &date.format("%Y-%m-%d").to_string())?;
    p.extend(dated.into_iter().map(|s| (s.start_time, s.end_time, s.is_available)));
    Ok(p)
}

const WEEKDAYS: [&str; 7] = ["Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"];

/// THE rule (see the module doc): is `user` free for `w`? `exclude` is the appointment
/// being edited (it never holds its own people).
pub fn check(conn: &Connection, user: &User, w: &Window, exclude: Option<i64>) -> rusqlite::Result<Verdict> {
    let (ws, we) = span(&w.start, &w.end);
    let date = w.date.format("%Y-%m-%d").to_string();
    // 1. Booked (a window past midnight is asked of both days).
    let first_end = if we >= DAY { "24:00:00".to_string() } else { w.end.clone() };
    let mut parts = vec![(date.clone(), w.start.clone(), first_end)];
    if we > DAY {
        parts.push(((w.date + Duration::days(1)).format("%Y-%m-%d").to_string(), "00:00:00".into(), clock(we)));
    }
    for (d, s, e) in parts {
        if let Some(c) = clash(conn, user.id, &user.role, &d, &s, &e, exclude)? {
            let who =
                if c.client_name.is_empty() { format!("appointment {}", c.appointment) } else { c.client_name.clone() };
            let reason = format!("Booked with {who} {}–{}", hm(&c.start_time), hm(&c.end_time));
            return Ok(Verdict { cover: None, reason: Some(reason), conflict: Some(c), code: Some("booked") });
        }
    }
    // 2. The plans of the day before, the day and the day after, on one line.
    let mut ranges = Vec::new();
    let mut any_plan = false;
    for offset in [-1i64, 0, 1] {
        let p = plan(conn, user.id, w.date + Duration::days(offset))?;
        any_plan |= !p.is_empty();
        for (s, e, available) in p {
            let (from, to) = span(&s, &e);
            let shift = offset as i32 * DAY;
            ranges.push(Range { from: from + shift, to: to + shift, available });
        }
    }
    // 3. Unavailable first, then one stretch of available ranges.
    if let Some(r) = ranges.iter().find(|r| !r.available && r.from < we && r.to > ws) {
        return Ok(Verdict::no(
            "unavailable",
            format!("Marked unavailable {}–{}", hm(&clock(r.from)), hm(&clock(r.to))),
        ));
    }
    let mut open: Vec<(i32, i32)> = ranges.iter().filter(|r| r.available).map(|r| (r.from, r.to)).collect();
    open.sort_unstable();
    let mut joined: Vec<(i32, i32)> = Vec::new();
    for (f, t) in open {
        match joined.last_mut() {
            Some(last) if f <= last.1 => last.1 = last.1.max(t),
            _ => joined.push((f, t)),
        }
    }
    if let Some(&(f, t)) = joined.iter().find(|(f, t)| *f <= ws && *t >= we) {
        let day = w.date + Duration::days(f.div_euclid(DAY) as i64);
        return Ok(Verdict {
            cover: Some(Cover {
                date: day,
                start_time: clock(f),
                end_time: clock(t),
                is_cross_day: t > (f.div_euclid(DAY) + 1) * DAY,
            }),
            reason: None,
            conflict: None,
            code: None,
        });
    }
    if !any_plan && !week::has_any(conn, user.id)? && !slots::has_any(conn, user.id)? {
        return Ok(Verdict::no("no_schedule", "No working hours or availability set".into()));
    }
    // What the day itself holds, in words.
    let that_day: Vec<String> = joined
        .iter()
        .filter(|(f, t)| *f < DAY && *t > 0)
        .map(|(f, t)| format!("{}–{}", hm(&clock(*f)), hm(&clock(*t))))
        .collect();
    let weekday = w.date.weekday().num_days_from_monday();
    Ok(if that_day.is_empty() {
        if week::hours_on(conn, user.id, weekday)?.is_none() && week::has_any(conn, user.id)? {
            Verdict::no("off", format!("Not working on {}", WEEKDAYS[weekday as usize]))
        } else {
            Verdict::no("off", format!("Not available on {date}"))
        }
    } else {
        Verdict::no("outside_hours", format!("Available only {} that day", that_day.join(", ")))
    })
}

/// Every active staff member of `role` (therapist or driver), by name, with `check`'s
/// verdict for `w`.
pub fn verdicts(
    conn: &Connection,
    role: &str,
    w: &Window,
    exclude: Option<i64>,
) -> rusqlite::Result<Vec<(User, Verdict)>> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM users WHERE role = ?1 AND is_active = 1 ORDER BY first_name, last_name, username, id",
    )?;
    let ids = st.query_map([role], |r| r.get::<_, i64>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(u) = users::get(conn, id)? {
            let v = check(conn, &u, w, exclude)?;
            out.push((u, v));
        }
    }
    Ok(out)
}

/// One person of `available_therapists/` or `available_drivers/` (the original's shape),
/// as `viewer` receives it (the staff list's rule: only operators get the email).
pub fn available_json(viewer: &User, u: &User, cover: &Cover) -> Value {
    let mut v = json!({
        "id": u.id,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "email": u.email,
        "role": u.role,
        "start_time": cover.start_time,
        "end_time": cover.end_time,
        "is_available": true,
        "availability_date": cover.date.format("%Y-%m-%d").to_string(),
        "is_cross_day": cover.is_cross_day,
    });
    if u.role == "driver" {
        v["motorcycle_plate"] = json!(u.motorcycle_plate);
    } else {
        v["specialization"] = json!(u.specialization);
        v["massage_pressure"] = json!(u.massage_pressure);
    }
    privacy::strip(&viewer.role, Object::Account, v)
}

/// One person of `staff_for_slot/` (operators only): who, `available`, and when not,
/// `reason` (one sentence), `reason_code` (`REASON_CODES`) and the `conflict`
/// (`{appointment, client_name, start_time, end_time}` or null).
pub fn slot_json(u: &User, v: &Verdict) -> Value {
    json!({
        "id": u.id,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "role": u.role,
        "specialization": u.specialization,
        "massage_pressure": u.massage_pressure,
        "motorcycle_plate": u.motorcycle_plate,
        "available": v.available(),
        "reason": v.reason,
        "reason_code": v.code,
        "conflict": v.conflict.as_ref().map(|c| json!({
            "appointment": c.appointment,
            "client_name": c.client_name,
            "start_time": c.start_time,
            "end_time": c.end_time,
        })),
        "available_from": v.cover.as_ref().map(|c| c.start_time.clone()),
        "available_until": v.cover.as_ref().map(|c| c.end_time.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::booking::fixture::clinic;
    use serde_json::json;

    fn window(date: &str, start: &str, end: &str) -> Window {
        Window { date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(), start: start.into(), end: end.into() }
    }

    /// The rule's order: a booking first, then an unavailable slot, then the joined hours.
    #[test]
    fn booked_beats_unavailable_beats_hours_and_adjacent_hours_join() {
        let c = clinic();
        let t = c.t[0].clone();
        // 2030-05-06 is a Monday: usual hours 09–13, an extra slot 13–15, off 14:30–15.
        c.store
            .write(|tx| {
                tx.execute("INSERT INTO working_hours VALUES (?1, 0, '09:00:00', '13:00:00')", [t.id])?;
                for (s, e, a) in [("13:00:00", "15:00:00", 1), ("14:30:00", "15:00:00", 0)] {
                    tx.execute(
                        "INSERT INTO availability (user_id, date, start_time, end_time, is_available, created_at, updated_at)
                         VALUES (?1, '2030-05-06', ?2, ?3, ?4, 'x', 'x')",
                        rusqlite::params![t.id, s, e, a],
                    )?;
                }
                Ok::<_, rusqlite::Error>(())
            })
            .unwrap();
        let ask = |s: &str, e: &str| c.store.read(|conn| check(conn, &t, &window("2030-05-06", s, e), None)).unwrap();
        let free = ask("12:00:00", "14:00:00");
        assert_eq!(free.cover.map(|c| (c.start_time, c.end_time)), Some(("09:00:00".into(), "15:00:00".into())));
        assert_eq!(ask("14:00:00", "15:00:00").code, Some("unavailable"));
        assert_eq!(ask("08:00:00", "10:00:00").reason.as_deref(), Some("Available only 09:00–15:00 that day"));
        let a = c.book(json!({"therapist": t.id, "date": "2030-05-06", "start_time": "14:00", "end_time": "15:00"}));
        let booked = ask("14:30:00", "15:00:00");
        assert_eq!((booked.code, booked.conflict.map(|c| c.appointment)), (Some("booked"), Some(a.id)));
        assert_eq!(ask("14:30:00", "15:00:00").reason.as_deref(), Some("Booked with Maria 14:00–15:00"));
        // The booking being edited does not hold its own therapist.
        let editing = c.store.read(|conn| check(conn, &t, &window("2030-05-06", "14:30:00", "15:00:00"), Some(a.id)));
        assert_eq!(editing.unwrap().code, Some("unavailable"));
    }

    #[test]
    fn spans_cross_midnight_and_clocks_wrap() {
        assert_eq!(span("22:00:00", "02:00:00"), (1320, 1560));
        assert_eq!(span("09:00:00", "18:00:00"), (540, 1080));
        assert_eq!(clock(1560), "02:00:00");
        assert_eq!(clock(-60), "23:00:00");
    }
}
