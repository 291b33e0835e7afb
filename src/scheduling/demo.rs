//! The example database `royal-care.db.example`: demo staff (one operator, three
//! therapists, two drivers, password `demo-pass-1`), clients, services and a day of
//! appointments in several statuses. `build` makes it (`royal-care demo-db FILE`, see
//! docs/API.md); `install` puts a fresh copy at the `serve --demo` database, with the
//! appointments moved so that the day is today. The file is marked `demo` in `meta`, and
//! `install` refuses to overwrite any database that is not.
//!
//! Every stamp is a plausible clinic time of the example's day (booked an hour before,
//! paid five minutes after the end, ...); `install` moves every date and timestamp in the
//! file by one offset, so the day reads the same today. Pending bookings get their
//! auto-cancel clock restarted at install, and the demo's timeout is 12 hours unless set.

use super::workflow;
use crate::auth::password;
use crate::store::users::{self, NewUser};
use crate::store::{migrate, Store};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// The example, as committed (rebuild it with `royal-care demo-db` after a schema change;
/// a test checks it matches the current schema).
pub const EXAMPLE: &[u8] = include_bytes!("../../royal-care.db.example");
pub const DEMO_PASSWORD: &str = "demo-pass-1";

const STAFF: &[(&str, &str, &str, &str, &str)] = &[
    ("operator", "operator", "Olivia", "Reyes", ""),
    ("therapist1", "therapist", "Tomas", "Santos", "Swedish, deep tissue"),
    ("therapist2", "therapist", "Teresa", "Cruz", "Shiatsu"),
    ("therapist3", "therapist", "Tina", "Garcia", "Hot stone, reflexology"),
    ("driver1", "driver", "Daniel", "Bautista", ""),
    ("driver2", "driver", "Diego", "Ramos", ""),
];

const CLIENTS: &[(&str, &str, &str, &str)] = &[
    ("Maria", "Lopez", "+63 917 555 0101", "12 Mabini St, Makati"),
    ("Jose", "Rizal", "+63 917 555 0102", "4 Calle Real, Intramuros"),
    ("Ana", "Villanueva", "+63 917 555 0103", "88 Ortigas Ave, Pasig"),
    ("Carlos", "Mendoza", "+63 917 555 0104", "7 Katipunan Rd, Quezon City"),
    ("Liza", "Aquino", "+63 917 555 0105", "21 Roxas Blvd, Pasay"),
    ("Ramon", "Dela Cruz", "+63 917 555 0106", "3 Sampaguita Ln, Taguig"),
];

/// (name, description, minutes, price in cents)
const SERVICES: &[(&str, &str, i64, i64)] = &[
    ("Swedish Massage", "Relaxing full-body massage", 60, 150_000),
    ("Deep Tissue Massage", "Firm pressure for muscle tension", 90, 200_000),
    ("Shiatsu", "Japanese finger-pressure massage", 60, 180_000),
    ("Hot Stone Therapy", "Heated basalt stones", 90, 250_000),
    ("Foot Reflexology", "Pressure-point foot massage", 30, 80_000),
];

/// The demo staff's usual weeks: (username, weekdays from 0 = Monday, start, end).
const WEEKS: &[(&str, &[u32], &str, &str)] = &[
    ("therapist1", &[0, 1, 2, 3, 4, 5], "08:00:00", "20:00:00"),
    ("therapist2", &[0, 1, 2, 3, 4], "09:00:00", "18:00:00"),
    ("therapist3", &[0, 1, 2, 3, 4, 5, 6], "07:00:00", "22:00:00"),
    ("driver1", &[0, 1, 2, 3, 4, 5], "07:00:00", "21:00:00"),
    ("driver2", &[0, 1, 2, 3, 4, 5, 6], "07:00:00", "22:00:00"),
];

/// (day offset, start, end, client, services, therapists, driver, status)
type DemoAppt =
    (i64, &'static str, &'static str, i64, &'static [i64], &'static [&'static str], Option<&'static str>, &'static str);
const APPOINTMENTS: &[DemoAppt] = &[
    (0, "08:00:00", "09:00:00", 1, &[1], &["therapist1"], Some("driver1"), "transport_completed"),
    (0, "09:30:00", "11:00:00", 2, &[2], &["therapist2"], Some("driver2"), "completed"),
    (0, "10:00:00", "11:00:00", 3, &[3], &["therapist3"], Some("driver1"), "session_in_progress"),
    (0, "12:00:00", "13:00:00", 2, &[5], &["therapist2"], Some("driver1"), "cancelled"),
    (0, "13:00:00", "14:00:00", 4, &[1], &["therapist1"], Some("driver2"), "driver_confirmed"),
    (0, "14:00:00", "15:30:00", 5, &[4], &["therapist2", "therapist3"], Some("driver1"), "therapist_confirmed"),
    (0, "16:00:00", "17:00:00", 6, &[1, 5], &["therapist1"], Some("driver2"), "pending"),
    (0, "17:30:00", "18:30:00", 1, &[3], &["therapist3"], None, "pending"),
    (1, "10:00:00", "11:00:00", 3, &[1], &["therapist1"], Some("driver1"), "pending"),
];

/// The happy path, in order: reaching a status sets the stamps of every step before it.
const HAPPY_PATH: &[&str] = &[
    "therapist_confirm",
    "driver_confirm",
    "start_appointment",
    "start_journey",
    "arrive_at_location",
    "drop_off_therapist",
    "start_session",
    "mark_awaiting_payment",
    "mark_payment_received",
    "request_pickup",
    "assign_pickup",
    "confirm_pickup",
    "complete_return_journey",
];

/// Builds the example database at `file` (which must not exist).
pub fn build(file: &Path) -> Result<(), String> {
    if file.exists() {
        return Err(format!("{} already exists; give a new file name.", file.display()));
    }
    let store = Store::open(file)?;
    let today = crate::time::today();
    let at = |date: NaiveDate, hms: &str| {
        crate::time::at_clinic(date, NaiveTime::parse_from_str(hms, "%H:%M:%S").expect("demo times are valid"))
    };
    let fail = |e: rusqlite::Error| format!("cannot build the demo database: {e}");
    // One hash for all: the password is the same and public, and each hash costs 600,000
    // iterations (as a real install's would).
    let hash = password::hash(DEMO_PASSWORD, crate::config::MIN_PASSWORD_ITERATIONS);
    store
        .write(|tx| -> rusqlite::Result<()> {
            // The clinic opened its books at 06:00 on the example's day.
            let now = crate::time::iso(at(today, "06:00:00"));
            for (username, role, first, last, spec) in STAFF {
                let u = NewUser {
                    username: (*username).into(),
                    email: format!("{username}@demo.royal-care.invalid"),
                    first_name: (*first).into(),
                    last_name: (*last).into(),
                    role: (*role).into(),
                    specialization: (*spec).into(),
                    ..Default::default()
                };
                let id = users::insert(tx, &u, &hash)?;
                tx.execute("UPDATE users SET date_joined = ?2 WHERE id = ?1", params![id, now])?;
            }
            // Their usual weeks, so the booking form has something to say (weekdays, not
            // dates: nothing to move when the day is moved to today).
            for (username, days, start, end) in WEEKS {
                for d in days.iter() {
                    tx.execute(
                        "INSERT INTO working_hours (user_id, weekday, start_time, end_time)
                         SELECT id, ?2, ?3, ?4 FROM users WHERE username = ?1",
                        params![username, d, start, end],
                    )?;
                }
            }
            for (first, last, phone, addr) in CLIENTS {
                tx.execute(
                    "INSERT INTO clients (first_name, last_name, phone_number, email, address, created_at, updated_at) VALUES (?1, ?2, ?3, '', ?4, ?5, ?5)",
                    params![first, last, phone, addr, now],
                )?;
            }
            for (name, desc, minutes, cents) in SERVICES {
                tx.execute("INSERT INTO services (name, description, duration, price_cents) VALUES (?1, ?2, ?3, ?4)", params![name, desc, minutes, cents])?;
            }
            let uid = |tx: &Connection, name: &str| -> rusqlite::Result<i64> { tx.query_row("SELECT id FROM users WHERE username = ?1", [name], |r| r.get(0)) };
            let operator = uid(tx, "operator")?;
            for (offset, start, end, client, svcs, therapists, driver, status) in APPOINTMENTS {
                let date = (today + chrono::Duration::days(*offset)).format("%Y-%m-%d").to_string();
                let lead = uid(tx, therapists[0])?;
                let driver = match driver {
                    Some(d) => Some(uid(tx, d)?),
                    None => None,
                };
                let paid = matches!(*status, "completed" | "pickup_requested" | "driver_assigned_pickup" | "return_journey" | "transport_completed");
                let total: i64 = svcs.iter().map(|s| SERVICES[(*s - 1) as usize].3).sum();
                let (start_at, end_at) = (at(today + Duration::days(*offset), start), at(today + Duration::days(*offset), end));
                // Booked an hour before today's, at noon for a later day's.
                let booked = if *offset == 0 { start_at - Duration::hours(1) } else { at(today, "12:00:00") };
                let stamps = stamps_up_to(status);
                let last = stamps.iter().map(|s| stamp_time(s, booked, start_at, end_at)).max().unwrap_or(booked);
                let (booked_iso, last_iso) = (crate::time::iso(booked), crate::time::iso(last));
                tx.execute(
                    "INSERT INTO appointments (client_id, therapist_id, driver_id, operator_id, date, start_time, end_time, status, payment_status,
                        payment_amount_cents, payment_method, location, pending_since, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, (SELECT address FROM clients WHERE id = ?1), ?12, ?12, ?13)",
                    params![
                        client,
                        lead,
                        driver,
                        operator,
                        date,
                        start,
                        end,
                        status,
                        if paid { "paid" } else { "pending" },
                        paid.then_some(total),
                        if paid { "cash" } else { "" },
                        booked_iso,
                        last_iso
                    ],
                )?;
                let id = tx.last_insert_rowid();
                let confirmed = (*status != "pending")
                    .then(|| crate::time::iso(stamp_time("therapist_confirmed_at", booked, start_at, end_at)));
                for t in therapists.iter() {
                    tx.execute(
                        "INSERT INTO appointment_therapists (appointment_id, therapist_id, confirmed_at) VALUES (?1, ?2, ?3)",
                        params![id, uid(tx, t)?, confirmed],
                    )?;
                }
                for s in svcs.iter() {
                    tx.execute("INSERT INTO appointment_services (appointment_id, service_id) VALUES (?1, ?2)", params![id, s])?;
                }
                for stamp in stamps {
                    let t = crate::time::iso(stamp_time(stamp, booked, start_at, end_at));
                    tx.execute(&format!("UPDATE appointments SET {stamp} = ?2 WHERE id = ?1"), params![id, t])?;
                }
            }
            tx.execute("INSERT INTO meta (key, value) VALUES ('demo', '1')", [])?;
            tx.execute("INSERT INTO meta (key, value) VALUES ('base_date', ?1)", [today.format("%Y-%m-%d").to_string()])?;
            // The instant the example's day began where it was built: `install` moves every
            // timestamp by (today's start here) - (this), so wall-clock times carry over.
            tx.execute("INSERT INTO meta (key, value) VALUES ('base_midnight', ?1)", [crate::time::iso(at(today, "00:00:00"))])?;
            // The example starts with an empty event log: its rows are its initial state.
            tx.execute("DELETE FROM events", [])?;
            tx.execute("DELETE FROM sqlite_sequence WHERE name = 'events'", [])?;
            Ok(())
        })
        .map_err(fail)?;
    drop(store);
    // One self-contained file: no WAL beside it, compacted.
    let c = Connection::open(file).map_err(fail)?;
    c.pragma_update(None, "journal_mode", "DELETE").map_err(fail)?;
    c.execute_batch("VACUUM").map_err(fail)?;
    println!(
        "Wrote the demo database to {}: {} staff (password {DEMO_PASSWORD:?}), {} clients, {} services, {} appointments.",
        file.display(),
        STAFF.len(),
        CLIENTS.len(),
        SERVICES.len(),
        APPOINTMENTS.len()
    );
    Ok(())
}

/// When the example's booking reached `stamp`: the confirmations soon after booking, the
/// trip before `start`, the session at `start`, payment and the way home after `end`.
fn stamp_time(stamp: &str, booked: DateTime<Utc>, start: DateTime<Utc>, end: DateTime<Utc>) -> DateTime<Utc> {
    let m = Duration::minutes;
    match stamp {
        "therapist_confirmed_at" => booked + m(5),
        "driver_confirmed_at" => booked + m(10),
        "cancelled_at" | "rejected_at" => booked + m(30),
        "started_at" => start - m(40),
        "journey_started_at" => start - m(35),
        "arrived_at" => start - m(5),
        "dropped_off_at" => start - m(2),
        "session_started_at" => start,
        "awaiting_payment_at" => end,
        "payment_received_at" => end + m(5),
        "pickup_requested_at" => end + m(10),
        "pickup_assigned_at" => end + m(12),
        "return_journey_at" => end + m(20),
        _ => end + m(50), // transport_completed_at, the last step
    }
}

/// The workflow stamps an appointment that reached `status` along the happy path has.
fn stamps_up_to(status: &str) -> Vec<&'static str> {
    if status == "cancelled" {
        return vec!["cancelled_at"];
    }
    let mut out = Vec::new();
    for action in HAPPY_PATH {
        let Some(t) = workflow::find(action) else {
            continue;
        };
        if t.from.iter().any(|s| s.as_str() == status) {
            break;
        }
        out.extend(t.outcomes[0].stamp);
        if t.outcomes[0].to.as_str() == status {
            break;
        }
    }
    out
}

fn is_demo(db: &Path) -> bool {
    let Ok(c) = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return false;
    };
    let v: Option<String> =
        c.query_row("SELECT value FROM meta WHERE key = 'demo'", [], |r| r.get(0)).optional().ok().flatten();
    v.as_deref() == Some("1")
}

/// Puts a fresh copy of the example database at `db` for `serve --demo`, its
/// appointments moved so the example's day is today, with a new event-stream epoch.
/// Refuses to overwrite a database that is not a demo one.
pub fn install(db: &Path) -> Result<(), String> {
    install_from(EXAMPLE, db)
}

fn install_from(example: &[u8], db: &Path) -> Result<(), String> {
    if example.is_empty() {
        return Err(
            "this build has no example database; run `royal-care demo-db royal-care.db.example` and rebuild.".into()
        );
    }
    if db.exists() && !is_demo(db) {
        return Err(format!(
            "{} is not a demo database, and --demo would replace it; give --db a new file name for the demo.",
            db.display()
        ));
    }
    let side = |ext: &str| {
        let mut p = db.as_os_str().to_owned();
        p.push(ext);
        std::path::PathBuf::from(p)
    };
    for p in [db.to_path_buf(), side("-wal"), side("-shm")] {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove the old demo file {}: {e}", p.display())),
        }
    }
    // Owner-only like every database file (`store::create_private`), then the example's bytes.
    crate::store::create_private(db)?;
    std::fs::write(db, example).map_err(|e| format!("cannot write the demo database to {}: {e}", db.display()))?;
    let fail = |e: rusqlite::Error| format!("cannot prepare the demo database at {}: {e}", db.display());
    let c = Connection::open(db).map_err(fail)?;
    let meta = |key: &str| -> Result<String, String> {
        c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .map_err(|e| format!("the example database lacks its {key}; rebuild it with `royal-care demo-db` ({e})."))
    };
    let base = NaiveDate::parse_from_str(&meta("base_date")?, "%Y-%m-%d")
        .map_err(|e| format!("the example database's base date is broken: {e}"))?;
    let base_midnight = crate::time::parse_iso(&meta("base_midnight")?)
        .ok_or("the example database's base_midnight is broken; rebuild it with `royal-care demo-db`.")?;
    let today = crate::time::today();
    let days = (today - base).num_days();
    let secs = (crate::time::at_clinic(today, NaiveTime::MIN) - base_midnight).num_seconds();
    shift_everything(&c, days, secs).map_err(fail)?;
    // Pending ones wait for an answer from now on (their clock restarted), so the demo is
    // not cancelled under the presenter; `Settings::pending_timeout` gives them 12 hours.
    c.execute("UPDATE appointments SET pending_since = ?1 WHERE status = 'pending'", [crate::time::now_iso()])
        .map_err(fail)?;
    c.execute("UPDATE meta SET value = ?1 WHERE key = 'base_date'", [today.format("%Y-%m-%d").to_string()])
        .map_err(fail)?;
    c.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'base_midnight'",
        [crate::time::iso(crate::time::at_clinic(today, NaiveTime::MIN))],
    )
    .map_err(fail)?;
    migrate::new_epoch(&c).map_err(fail)?;
    Ok(())
}

/// Moves every date (`YYYY-MM-DD`) by `days` and every stored timestamp by `secs`, in
/// every column of every table but `meta`: found by their shape rather than listed, so a
/// column added later moves too. Times of day (`09:30:00`) and weekdays stay.
fn shift_everything(c: &Connection, days: i64, secs: i64) -> rusqlite::Result<()> {
    const DATE: &str = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]";
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'meta'")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for table in tables {
        let columns: Vec<String> = c
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for col in columns {
            c.execute(
                &format!("UPDATE \"{table}\" SET \"{col}\" = date(\"{col}\", ?1) WHERE \"{col}\" GLOB '{DATE}'"),
                [format!("{days:+} days")],
            )?;
            // strftime keeps whole seconds; the fraction and `Z` are carried over as text.
            c.execute(
                &format!(
                    "UPDATE \"{table}\" SET \"{col}\" = strftime('%Y-%m-%dT%H:%M:%S', \"{col}\", ?1) || substr(\"{col}\", 20)
                     WHERE \"{col}\" GLOB '{DATE}T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*Z'"
                ),
                [format!("{secs:+} seconds")],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_moves_the_example_day_to_today_and_renews_the_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let ex = dir.path().join("ex.db");
        build(&ex).unwrap();
        // Pretend the example was built three days ago.
        let c = Connection::open(&ex).unwrap();
        shift_everything(&c, -3, -3 * 86_400).unwrap();
        c.execute_batch(
            "UPDATE meta SET value = date(value, '-3 days') WHERE key = 'base_date';
             UPDATE meta SET value = strftime('%Y-%m-%dT%H:%M:%S', value, '-3 days') || substr(value, 20) WHERE key = 'base_midnight';",
        )
        .unwrap();
        let built: String = c.query_row("SELECT created_at FROM appointments WHERE id = 1", [], |r| r.get(0)).unwrap();
        let old_epoch = migrate::epoch(&c).unwrap();
        drop(c);
        let bytes = std::fs::read(&ex).unwrap();
        let db = dir.path().join("demo.db");
        install_from(&bytes, &db).unwrap();
        install_from(&bytes, &db).unwrap(); // a demo database may be replaced
        let c = Connection::open(&db).unwrap();
        let today = crate::time::today().format("%Y-%m-%d").to_string();
        let on_today: i64 =
            c.query_row("SELECT COUNT(*) FROM appointments WHERE date = ?1", [&today], |r| r.get(0)).unwrap();
        assert_eq!(on_today, APPOINTMENTS.iter().filter(|a| a.0 == 0).count() as i64);
        // The timestamps moved by the same three days, the fraction and `Z` kept.
        let moved: String = c.query_row("SELECT created_at FROM appointments WHERE id = 1", [], |r| r.get(0)).unwrap();
        let back = crate::time::parse_iso(&moved).unwrap() - crate::time::parse_iso(&built).unwrap();
        assert_eq!((back.num_seconds(), moved.len()), (3 * 86_400, built.len()));
        assert_ne!(migrate::epoch(&c).unwrap(), old_epoch);
        // A real database is never replaced.
        let real = dir.path().join("real.db");
        drop(Store::open(&real).unwrap());
        assert!(install_from(&bytes, &real).unwrap_err().contains("not a demo database"));
    }
}
