//! The operators' daily summary (`GET /api/scheduling/appointments/daily_summary/?date=`)
//! through the real server: a day's bookings counted by status, the money received by
//! payment method, the sessions over but unpaid, and per therapist their bookings and
//! revenue — after real workflow steps. Other days are not counted; staff are refused;
//! a bad date is a field error.
mod clinic;
mod common;

use clinic::*;
use serde_json::{json, Value};

const SUMMARY: &str = "/api/scheduling/appointments/daily_summary/";

/// Walks appointment `id` (therapist `t`, driver 1) to `awaiting_payment`.
fn to_awaiting_payment(k: &Clinic, t: &str, id: i64) {
    for (who, action) in [
        (t, "therapist_confirm"),
        (k.d1.as_str(), "driver_confirm"),
        (k.op.as_str(), "start_appointment"),
        (k.d1.as_str(), "start_journey"),
        (k.d1.as_str(), "arrive_at_location"),
        (k.d1.as_str(), "drop_off_therapist"),
        (t, "start_session"),
        (t, "mark_awaiting_payment"),
    ] {
        let (s, a) = k.act(who, id, action, json!({}));
        assert_eq!(s, 200, "{action}: {a}");
    }
}

fn summary(k: &Clinic, token: &str, query: &str) -> (u16, Value) {
    k.srv.call("GET", &format!("{SUMMARY}{query}"), Some(token), None)
}

#[test]
fn a_day_in_numbers_for_operators() {
    let k = Clinic::new();
    let day = today();
    let book = |t: i64, start: &str, end: &str| {
        let mut b = k.booking(&day, start, end);
        b["therapist"] = json!(t);
        k.book(&b)["id"].as_i64().unwrap()
    };
    // Tess: one paid in cash, one cancelled. Toni: one paid by GCash (a discount), one
    // session over and unpaid, one still pending.
    let cash = book(k.t1_id, "08:00:00", "09:00:00");
    to_awaiting_payment(&k, &k.t1, cash);
    let (s, a) =
        k.act(&k.op, cash, "mark_payment_received", json!({"payment_method": "cash", "payment_amount": "1500.00"}));
    assert_eq!((s, a["payment_amount"].as_str()), (200, Some("1500.00")), "{a}");
    let cancelled = book(k.t1_id, "12:00:00", "13:00:00");
    assert_eq!(k.act(&k.op, cancelled, "cancel", json!({})).0, 200);
    let gcash = book(k.t2_id, "09:30:00", "10:30:00");
    to_awaiting_payment(&k, &k.t2, gcash);
    let (s, a) =
        k.act(&k.op, gcash, "mark_payment_received", json!({"payment_method": "gcash", "payment_amount": "1200.00"}));
    assert_eq!(s, 200, "{a}");
    let unpaid = book(k.t2_id, "11:00:00", "12:00:00");
    to_awaiting_payment(&k, &k.t2, unpaid);
    book(k.t2_id, "14:00:00", "15:00:00");
    // Another day's paid booking is not counted.
    let tomorrow = (chrono::Local::now().date_naive() + chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    k.book(&k.booking(&tomorrow, "08:00:00", "09:00:00"));

    let (s, sum) = summary(&k, &k.op, &format!("?date={day}"));
    assert_eq!(s, 200, "{sum}");
    assert_eq!(sum["date"], day);
    assert_eq!(sum["bookings"]["total"], 5, "{sum}");
    let by_status = &sum["bookings"]["by_status"];
    for (status, n) in [("completed", 2), ("awaiting_payment", 1), ("cancelled", 1), ("pending", 1), ("in_progress", 0)]
    {
        assert_eq!(by_status[status], n, "{status}: {sum}");
    }
    assert_eq!(sum["revenue"]["total"], "2700.00", "{sum}");
    assert_eq!(sum["revenue"]["payments"], 2);
    assert_eq!(sum["revenue"]["by_method"]["cash"], "1500.00");
    assert_eq!(sum["revenue"]["by_method"]["gcash"], "1200.00");
    assert_eq!(sum["revenue"]["by_method"]["card"], "0.00");
    assert_eq!(sum["unpaid"], json!({"count": 1, "amount": "1500.00"}), "{sum}");
    let rows = sum["therapists"].as_array().unwrap();
    let row = |id: i64| rows.iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("no row for {id}: {sum}"));
    assert_eq!((row(k.t1_id)["bookings"].as_i64(), row(k.t1_id)["revenue"].as_str()), (Some(1), Some("1500.00")));
    assert_eq!((row(k.t2_id)["bookings"].as_i64(), row(k.t2_id)["revenue"].as_str()), (Some(3), Some("1200.00")));
    assert_eq!(row(k.t1_id)["name"], "tess");

    // No date: the clinic's today.
    assert_eq!(summary(&k, &k.op, "").1, sum);
    // A day without bookings: zeros, not an error.
    let (s, empty) = summary(&k, &k.op, "?date=2001-01-01");
    assert_eq!(s, 200);
    assert_eq!((empty["bookings"]["total"].as_i64(), empty["revenue"]["total"].as_str()), (Some(0), Some("0.00")));
    assert_eq!(empty["therapists"], json!([]));
}

#[test]
fn only_operators_read_it_and_a_bad_date_says_which_field() {
    let k = Clinic::new();
    for staff in [&k.t1, &k.d1] {
        let (s, e) = summary(&k, staff, "");
        assert_eq!((s, e["code"].as_str()), (403, Some("permission_denied")), "{e}");
    }
    let (s, e) = k.srv.call("GET", SUMMARY, None, None);
    assert_eq!(s, 401, "{e}");
    let (s, e) = summary(&k, &k.op, "?date=tomorrow");
    assert_eq!(s, 400, "{e}");
    assert!(e["fields"]["date"][0].as_str().unwrap().contains("YYYY-MM-DD"), "{e}");
}
