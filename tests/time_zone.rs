//! The clinic's time zone (`--time-zone`, `ROYAL_CARE_TIME_ZONE`): "today" is the date in
//! that zone, not the machine's. Two zones 25 hours apart (UTC+14 and UTC−11) are never on
//! the same date, and at least one differs from the machine's, whatever the machine runs.
mod clinic;
mod common;
use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use clinic::*;
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::process::Command;

fn date_in(tz: Tz) -> NaiveDate {
    Utc::now().with_timezone(&tz).date_naive()
}

fn ids(v: &Value) -> BTreeSet<i64> {
    let list = v.get("results").unwrap_or(v).as_array().unwrap();
    list.iter().map(|a| a["id"].as_i64().unwrap()).collect()
}

/// Runs `check` with the zone's date, again if the zone's midnight passed meanwhile.
fn on_a_stable_day(tz: Tz, check: impl Fn(NaiveDate) -> bool) {
    for _ in 0..3 {
        let day = date_in(tz);
        let ok = check(day);
        if date_in(tz) == day {
            assert!(ok, "the answers follow {tz}'s date {day}");
            return;
        }
    }
    panic!("{tz}'s date kept changing");
}

#[test]
fn today_and_the_board_follow_the_clinic_zone_not_the_machine() {
    for name in ["Pacific/Kiritimati", "Pacific/Pago_Pago"] {
        let tz: Tz = name.parse().unwrap();
        let k = Clinic::with(&[("ROYAL_CARE_TIME_ZONE", name)]);
        assert!(k.srv.log().contains(&format!("time zone: {name}")), "the zone is logged at start: {}", k.srv.log());
        let iso = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
        on_a_stable_day(tz, |today| {
            let yesterday = today.pred_opt().unwrap();
            let (s, health) = k.srv.call("GET", "/health/", None, None);
            assert_eq!(s, 200);
            assert_eq!(
                (health["today"].as_str(), health["time_zone"].as_str()),
                (Some(iso(today).as_str()), Some(name))
            );
            // One booking on the zone's today, one finished on its yesterday.
            let now = k.book(&k.booking(&iso(today), "10:00", "11:00"))["id"].as_i64().unwrap();
            let before = k.book(&k.booking(&iso(yesterday), "10:00", "11:00"))["id"].as_i64().unwrap();
            let db = rusqlite::Connection::open(&k.srv.db).unwrap();
            db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
            db.execute("UPDATE appointments SET status = 'completed' WHERE id = ?1", [before]).unwrap();
            let (s, list) = k.srv.call("GET", "/api/scheduling/appointments/today/", Some(&k.op), None);
            assert_eq!(s, 200, "{list}");
            let (s, board) = k.srv.call("GET", "/api/scheduling/appointments/?board=true", Some(&k.op), None);
            assert_eq!(s, 200, "{board}");
            let (_, summary) = k.srv.call("GET", "/api/scheduling/appointments/daily_summary/", Some(&k.op), None);
            let fine = ids(&list).contains(&now)
                && !ids(&list).contains(&before)
                && ids(&board).contains(&now)
                && !ids(&board).contains(&before)
                && summary["date"] == json!(iso(today));
            db.execute("DELETE FROM appointments WHERE id IN (?1, ?2)", [now, before]).unwrap();
            fine
        });
    }
}

#[test]
fn an_unknown_zone_is_refused_at_start_with_where_to_find_names() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("royal-care.db");
    let mut cmd = Command::new(BIN);
    base_env(&mut cmd).arg("--db").arg(&db).args(["serve", "--addr", "127.0.0.1:0", "--time-zone", "Mars/Olympus"]);
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("unknown time zone \"Mars/Olympus\"") && err.contains("timedatectl list-timezones"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
    assert!(!db.exists(), "nothing was created");
}
