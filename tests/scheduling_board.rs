//! The board rule, one rule for two doors: `GET appointments/?board=true` lists exactly
//! what the same user's live socket starts with (`initial_data`), for every role.
mod clinic;
mod common;
mod ws_support;
use clinic::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn day(n: i64) -> String {
    (chrono::Local::now().date_naive() + chrono::Duration::days(n)).format("%Y-%m-%d").to_string()
}

fn ids(list: &[Value]) -> BTreeSet<i64> {
    list.iter().map(|a| a["id"].as_i64().unwrap()).collect()
}

#[test]
fn the_board_filter_lists_what_the_socket_starts_with() {
    let k = Clinic::new();
    let book = |date: String, therapist: i64, driver: Option<i64>| -> i64 {
        let mut b = k.booking(&date, "10:00", "11:00");
        b["therapist"] = json!(therapist);
        b["driver"] = json!(driver);
        k.book(&b)["id"].as_i64().unwrap()
    };
    let waiting_since_yesterday = book(day(-1), k.t1_id, None);
    let paid_yesterday = book(day(-2), k.t1_id, None);
    let today = book(day(0), k.t1_id, Some(k.d1_id));
    let paid_today = book(day(0), k.t2_id, None);
    let later = book(day(3), k.t2_id, None);
    let cancelled = book(day(1), k.t1_id, None);
    // Statuses set in the file, as if the workflow had run.
    let db = rusqlite::Connection::open(&k.srv.db).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    for (id, status) in [(paid_yesterday, "completed"), (paid_today, "completed"), (cancelled, "cancelled")] {
        db.execute("UPDATE appointments SET status = ?2 WHERE id = ?1", (id, status)).unwrap();
    }

    let board = |token: &str| -> BTreeSet<i64> {
        let (s, page) = k.srv.call("GET", "/api/scheduling/appointments/?board=true&page_size=200", Some(token), None);
        assert_eq!(s, 200, "{page}");
        ids(page["results"].as_array().unwrap())
    };
    let socket = |token: &str| -> BTreeSet<i64> {
        let (ws, first) = ws_support::open(&k.srv, token);
        assert_eq!(first["type"], "initial_data");
        ws.close();
        ids(first["appointments"].as_array().unwrap())
    };
    let set = |v: &[i64]| v.iter().copied().collect::<BTreeSet<i64>>();
    assert_eq!(board(&k.op), set(&[today, paid_today, later, cancelled]), "operators: today's and upcoming");
    assert_eq!(board(&k.t1), set(&[waiting_since_yesterday, today]), "therapist 1: own active ones");
    assert_eq!(board(&k.t2), set(&[paid_today, later]), "a session paid today stays until the day ends");
    assert_eq!(board(&k.d1), set(&[today]));
    for token in [&k.op, &k.t1, &k.t2, &k.d1] {
        assert_eq!(board(token), socket(token), "the list and the socket apply the same board rule");
    }

    let (s, e) = k.srv.call("GET", "/api/scheduling/appointments/?board=maybe", Some(&k.op), None);
    assert_eq!((s, e["fields"]["board"][0].as_str().is_some()), (400, true), "{e}");
}
