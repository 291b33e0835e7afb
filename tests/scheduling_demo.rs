//! The example database: it matches the current schema, `demo-db` rebuilds it, and
//! `serve --demo` starts from a fresh copy with the day moved to today.
mod clinic;
mod common;
use common::*;
use rusqlite::Connection;
use serde_json::json;
use std::process::Command;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/royal-care.db.example");

/// (user_version, every schema object's SQL) of a database file.
fn schema_of(path: &std::path::Path) -> (i64, Vec<String>) {
    let c = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let v: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    let mut st = c
        .prepare("SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_master ORDER BY type, name")
        .unwrap();
    let sql = st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    (v, sql)
}

#[test]
fn the_committed_example_matches_the_current_schema() {
    // A database the current binary creates is the reference.
    let srv = Server::start();
    let fresh = schema_of(&srv.db);
    let example = schema_of(std::path::Path::new(EXAMPLE));
    assert_eq!(
        example.0, fresh.0,
        "royal-care.db.example has an old user_version; rebuild it (docs/API.md, Demo database)"
    );
    assert_eq!(example.1, fresh.1, "royal-care.db.example has an old schema; rebuild it (docs/API.md, Demo database)");
    let c = Connection::open_with_flags(EXAMPLE, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let demo: String = c.query_row("SELECT value FROM meta WHERE key = 'demo'", [], |r| r.get(0)).unwrap();
    assert_eq!(demo, "1");
    let roles: Vec<(String, i64)> = c
        .prepare("SELECT role, COUNT(*) FROM users GROUP BY role ORDER BY role")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(roles, [("driver".to_string(), 2), ("operator".to_string(), 1), ("therapist".to_string(), 3)]);
    let statuses: i64 = c.query_row("SELECT COUNT(DISTINCT status) FROM appointments", [], |r| r.get(0)).unwrap();
    assert!(statuses >= 5, "a day in several statuses");
    let weeks: i64 = c.query_row("SELECT COUNT(DISTINCT user_id) FROM working_hours", [], |r| r.get(0)).unwrap();
    assert_eq!(weeks, 5, "every therapist and driver has a usual week (the booking form shows who is free)");
}

#[test]
fn demo_db_builds_an_example_like_the_committed_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("example.db");
    let (ok, out, err) = run_cli(&file, &["demo-db", file.to_str().unwrap()], "");
    assert!(ok, "{out} {err}");
    assert_eq!(schema_of(&file), schema_of(std::path::Path::new(EXAMPLE)));
    let (ok, _, err) = run_cli(&file, &["demo-db", file.to_str().unwrap()], "");
    assert!(!ok && err.contains("already exists"), "{err}");
}

#[test]
fn serve_demo_serves_todays_appointments_to_the_demo_operator() {
    let srv = Server::start_with(&[("ROYAL_CARE_DEMO", "1")]);
    assert!(srv.log().contains("DEMO MODE"));
    // The demo's copy is the owner's alone, like every database file.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&srv.db).unwrap().permissions().mode() & 0o777, 0o600);
    let (s, login) =
        srv.call("POST", "/api/auth/login/", None, Some(&json!({"username": "operator", "password": "demo-pass-1"})));
    assert_eq!(s, 200, "{login}");
    let token = login["token"].as_str().unwrap();
    let (s, list) =
        srv.call("GET", &format!("/api/scheduling/appointments/?date={}", clinic::today()), Some(token), None);
    assert_eq!(s, 200);
    assert!(list["count"].as_i64().unwrap() >= 8, "{list}");
    let pending = list["results"].as_array().unwrap().iter().filter(|a| a["status"] == "pending").count();
    assert!(pending >= 1, "pending ones are not auto-cancelled at start");
    // A therapist sees only their own.
    let (_, login) =
        srv.call("POST", "/api/auth/login/", None, Some(&json!({"username": "therapist1", "password": "demo-pass-1"})));
    let (_, mine) = srv.call("GET", "/api/scheduling/appointments/", login["token"].as_str(), None);
    let t1 = login["user"]["id"].clone();
    assert!(mine["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["therapist"] == t1 || a["therapists"].as_array().unwrap().contains(&t1)));
}

#[test]
fn serve_demo_refuses_to_replace_a_real_database() {
    let mut srv = Server::start();
    srv.add_user("maria", "operator");
    srv.terminate();
    let mut cmd = Command::new(BIN);
    base_env(&mut cmd).arg("--db").arg(&srv.db).args(["serve", "--demo", "--addr", "127.0.0.1:0"]);
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a demo database"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (ok, users, _) = srv.cli(&["user", "list"], "");
    assert!(ok && users.contains("maria"), "the real database is untouched");
}

/// (`table.column`, value) pairs.
type Found = Vec<(String, String)>;

/// Every ISO timestamp and every date in every column of every table of `db` but `meta`.
fn dated_values(db: &std::path::Path) -> (Found, Found) {
    let c = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'meta'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let (mut stamps, mut dates) = (Vec::new(), Vec::new());
    for t in tables {
        let mut st = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let names: Vec<String> = st.column_names().into_iter().map(String::from).collect();
        let mut rows = st.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for (i, n) in names.iter().enumerate() {
                if let Ok(Some(v)) = row.get::<_, Option<String>>(i) {
                    let at = format!("{t}.{n}");
                    if v.len() == 27 && v.ends_with('Z') && v.as_bytes()[10] == b'T' {
                        stamps.push((at, v));
                    } else if v.len() == 10 && chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d").is_ok() {
                        dates.push((at, v));
                    }
                }
            }
        }
    }
    (stamps, dates)
}

#[test]
fn serve_demo_moves_every_timestamp_to_the_clinics_today_and_keeps_pending_ones_alive() {
    // A zone far from the machine's, so a shift by whole days alone would not do.
    let zone = "Pacific/Kiritimati";
    let tz: chrono_tz::Tz = zone.parse().unwrap();
    let srv = Server::start_with(&[("ROYAL_CARE_DEMO", "1"), ("ROYAL_CARE_TIME_ZONE", zone)]);
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let (stamps, dates) = dated_values(&srv.db);
    assert!(stamps.len() > 50, "{stamps:?}");
    for (at, v) in &stamps {
        let local = chrono::DateTime::parse_from_rfc3339(v).unwrap().with_timezone(&tz);
        assert_eq!(local.date_naive(), today, "{at} = {v} is on the clinic's today");
    }
    let tomorrow = today.succ_opt().unwrap();
    for (at, v) in &dates {
        assert!(*v == today.to_string() || *v == tomorrow.to_string(), "{at} = {v}");
    }
    // The stamps read as the day went: the 09:30-11:00 booking was paid at 11:05 clinic time,
    // after its session started at 09:30.
    let c = Connection::open_with_flags(&srv.db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let (started, paid): (String, String) = c
        .query_row(
            "SELECT session_started_at, payment_received_at FROM appointments WHERE start_time = '09:30:00'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let clock =
        |v: &str| chrono::DateTime::parse_from_rfc3339(v).unwrap().with_timezone(&tz).format("%H:%M").to_string();
    assert_eq!((clock(&started), clock(&paid)), ("09:30".into(), "11:05".into()));
    // Pending bookings wait 12 hours in a demo (a day of showing it), their clock from start.
    let (_, health) = srv.call("GET", "/health/", None, None);
    assert_eq!(health["pending_timeout_secs"], 12 * 3600, "{health}");
    let since: Vec<String> = c
        .prepare("SELECT pending_since FROM appointments WHERE status = 'pending'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let started_at = chrono::Utc::now() - chrono::Duration::minutes(1);
    assert!(
        since.len() >= 3 && since.iter().all(|s| chrono::DateTime::parse_from_rfc3339(s).unwrap() > started_at),
        "{since:?}"
    );
    // A timeout the presenter sets is kept.
    let set = Server::start_with(&[("ROYAL_CARE_DEMO", "1"), ("ROYAL_CARE_PENDING_TIMEOUT_MINS", "45")]);
    let (_, health) = set.call("GET", "/health/", None, None);
    assert_eq!(health["pending_timeout_secs"], 45 * 60);
}
