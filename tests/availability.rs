//! Availability through the real server (issue 11, item 1 and the booking form's lists):
//! staff slots and who may keep them, bulk create, the usual week with its exceptions,
//! the free-staff lists (schedule and bookings, the double-booking rule), the booking
//! form's reasons, the live `availability_changed` event and refused input.

mod clinic;
mod common;
mod ws_support;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use clinic::Clinic;
use serde_json::{json, Value};
use std::time::Duration as Wait;

const SLOTS: &str = "/api/scheduling/availabilities/";

/// A day far enough ahead that nothing else is booked, as `YYYY-MM-DD`; the first
/// `weekday` on or after 2030-05-01.
fn day(weekday: Weekday) -> NaiveDate {
    let mut d = NaiveDate::from_ymd_opt(2030, 5, 1).unwrap();
    while d.weekday() != weekday {
        d += Duration::days(1);
    }
    d
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn slot(c: &Clinic, token: &str, body: Value) -> Value {
    let (s, v) = c.srv.call("POST", SLOTS, Some(token), Some(&body));
    assert_eq!(s, 201, "{v}");
    v
}

/// The ids `available_<who>/` lists for the window, as `token`.
fn free(c: &Clinic, token: &str, who: &str, query: &str) -> Vec<i64> {
    let (s, v) = c.srv.call("GET", &format!("{SLOTS}available_{who}/?{query}"), Some(token), None);
    assert_eq!(s, 200, "{v}");
    v.as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()).collect()
}

/// `staff_for_slot/`'s entry for `user`.
fn entry(c: &Clinic, query: &str, user: i64) -> Value {
    let (s, v) = c.srv.call("GET", &format!("{SLOTS}staff_for_slot/?{query}"), Some(&c.op), None);
    assert_eq!(s, 200, "{v}");
    v["staff"].as_array().unwrap().iter().find(|p| p["id"] == user).cloned().unwrap_or_else(|| panic!("{user} in {v}"))
}

/// How many slots and event rows the database holds.
fn counts(c: &Clinic) -> (i64, i64) {
    let db = rusqlite::Connection::open_with_flags(&c.srv.db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let n = |sql: &str| db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    (n("SELECT COUNT(*) FROM availability") + n("SELECT COUNT(*) FROM working_hours"), n("SELECT COUNT(*) FROM events"))
}

#[test]
fn a_slot_that_starts_after_it_ends_crosses_midnight() {
    let c = Clinic::new();
    let d = day(Weekday::Fri);
    let night = slot(&c, &c.op, json!({"user": c.t1_id, "date": ymd(d), "start_time": "22:00", "end_time": "02:00"}));
    assert_eq!((night["is_cross_day"].as_bool(), night["end_time"].as_str()), (Some(true), Some("02:00:00")));
    // Late evening, across midnight, and the small hours of the next day are inside it.
    let late = format!("date={}&start_time=22:30&end_time=23:30", ymd(d));
    let (_, list) = c.srv.call("GET", &format!("{SLOTS}available_therapists/?{late}"), Some(&c.op), None);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let p = &list[0];
    assert_eq!(p["id"], c.t1_id);
    assert_eq!((p["start_time"].as_str(), p["end_time"].as_str()), (Some("22:00:00"), Some("02:00:00")));
    assert_eq!((p["availability_date"].as_str(), p["is_cross_day"].as_bool()), (Some(ymd(d).as_str()), Some(true)));
    assert_eq!(free(&c, &c.op, "therapists", &format!("date={}&start_time=23:00&end_time=01:00", ymd(d))), [c.t1_id]);
    let next = ymd(d + Duration::days(1));
    let small_hours = free(&c, &c.op, "therapists", &format!("date={next}&start_time=00:30&end_time=01:30"));
    assert_eq!(small_hours, [c.t1_id], "the night slot runs into the next date");
    assert!(free(&c, &c.op, "therapists", &format!("date={next}&start_time=01:30&end_time=02:30")).is_empty());
    assert!(free(&c, &c.op, "therapists", &format!("date={}&start_time=21:00&end_time=22:30", ymd(d))).is_empty());
    // A booking in the small hours of the next date holds a window across midnight.
    c.book(
        &json!({"client": c.client, "therapist": c.t1_id, "date": next, "start_time": "00:30", "end_time": "01:00"}),
    );
    let across = entry(&c, &format!("role=therapist&date={}&start_time=23:00&end_time=01:00", ymd(d)), c.t1_id);
    assert_eq!(across["reason"], "Booked with Maria Lopez 00:30–01:00");
    assert!(free(&c, &c.op, "therapists", &format!("date={next}&start_time=00:30&end_time=01:30")).is_empty());
    assert_eq!(free(&c, &c.op, "therapists", &format!("date={}&start_time=22:30&end_time=23:30", ymd(d))), [c.t1_id]);
    // Nobody without a schedule is offered, and says why.
    let none = entry(&c, &format!("role=therapist&{late}"), c.t2_id);
    assert_eq!(
        (none["available"].as_bool(), none["reason"].as_str()),
        (Some(false), Some("No working hours or availability set"))
    );
}

#[test]
fn staff_keep_only_their_own_slots() {
    let c = Clinic::new();
    let d = ymd(day(Weekday::Mon));
    // A therapist adds their own without naming themselves.
    let own = slot(&c, &c.t1, json!({"date": d, "start_time": "09:00", "end_time": "12:00"}));
    assert_eq!(own["user"], c.t1_id);
    let theirs = slot(&c, &c.op, json!({"user": c.t2_id, "date": d, "start_time": "09:00", "end_time": "12:00"}));
    let before = counts(&c);
    // Naming a colleague is refused; a colleague's slot does not exist for them.
    let (s, v) = c.srv.call(
        "POST",
        SLOTS,
        Some(&c.t1),
        Some(&json!({"user": c.t2_id, "date": d, "start_time": "13:00", "end_time": "14:00"})),
    );
    assert_eq!(s, 403, "{v}");
    let (s, _) = c.srv.call(
        "POST",
        &format!("{SLOTS}bulk_create/"),
        Some(&c.d1),
        Some(&json!({"user_id": c.t1_id, "date": d, "slots": [{"start_time": "13:00", "end_time": "14:00"}]})),
    );
    assert_eq!(s, 403);
    let other = format!("{SLOTS}{}/", theirs["id"]);
    for (method, body) in [("GET", None), ("PATCH", Some(json!({"is_available": false}))), ("DELETE", None)] {
        let (s, v) = c.srv.call(method, &other, Some(&c.t1), body.as_ref());
        assert_eq!(s, 404, "{method}: {v}");
    }
    // Nor may they give their own slot away.
    let mine = format!("{SLOTS}{}/", own["id"]);
    let (s, _) = c.srv.call("PATCH", &mine, Some(&c.t1), Some(&json!({"user": c.t2_id})));
    assert_eq!(s, 403);
    // Nor read or set a colleague's week.
    let week = format!("/api/scheduling/staff/{}/working_hours/", c.t2_id);
    assert_eq!(c.srv.call("GET", &week, Some(&c.t1), None).0, 404);
    assert_eq!(c.srv.call("PUT", &week, Some(&c.t1), Some(&json!({"hours": []}))).0, 404);
    assert_eq!(counts(&c), before, "nothing refused was written");
    // Their own: edit, list (only theirs), delete.
    let (s, v) = c.srv.call("PATCH", &mine, Some(&c.t1), Some(&json!({"end_time": "13:00", "is_available": false})));
    assert_eq!((s, v["end_time"].as_str(), v["is_available"].as_bool()), (200, Some("13:00:00"), Some(false)), "{v}");
    // The list is a plain array, as the original frontend reads it.
    let (_, list) = c.srv.call("GET", SLOTS, Some(&c.t1), None);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["id"], own["id"]);
    let (_, all) = c.srv.call("GET", &format!("{SLOTS}?date={d}"), Some(&c.op), None);
    assert_eq!(all.as_array().map(Vec::len), Some(2), "operators see everyone's");
    let (_, one) = c.srv.call("GET", &format!("{SLOTS}?user={}&date={d}", c.t2_id), Some(&c.op), None);
    assert_eq!(one.as_array().map(Vec::len), Some(1));
    assert_eq!(one[0]["id"], theirs["id"]);
    assert_eq!(c.srv.call("DELETE", &mine, Some(&c.t1), None).0, 204);
    assert_eq!(c.srv.call("GET", &mine, Some(&c.t1), None).0, 404);
    // Operators change anyone's.
    let (s, _) = c.srv.call("PATCH", &other, Some(&c.op), Some(&json!({"start_time": "08:00"})));
    assert_eq!(s, 200);
}

#[test]
fn bulk_create_makes_the_good_slots_and_reports_the_rest() {
    let c = Clinic::new();
    let d = ymd(day(Weekday::Tue));
    let body = json!({"user_id": c.t1_id, "date": d, "slots": [
        {"start_time": "08:00", "end_time": "10:00", "is_available": true},
        {"start_time": "11:00", "end_time": "11:00"},
        {"start_time": "9am", "end_time": "12:00"},
        {"start_time": "08:00", "end_time": "10:00"},
        {"start_time": "13:00", "end_time": "17:00", "is_available": false},
    ]});
    let (s, v) = c.srv.call("POST", &format!("{SLOTS}bulk_create/"), Some(&c.op), Some(&body));
    assert_eq!(s, 201, "{v}");
    let created = v["created_slots"].as_array().unwrap();
    assert_eq!(created.len(), 2);
    assert_eq!(
        (created[1]["start_time"].as_str(), created[1]["is_available"].as_bool()),
        (Some("13:00:00"), Some(false))
    );
    let errors = v["errors"].as_array().unwrap();
    let at: Vec<i64> = errors.iter().map(|e| e["index"].as_i64().unwrap()).collect();
    assert_eq!(at, [1, 2, 3]);
    assert!(errors[0]["fields"]["end_time"].is_array(), "{v}");
    assert!(errors[1]["fields"]["start_time"].is_array(), "{v}");
    assert!(errors[2]["fields"]["start_time"][0].as_str().unwrap().contains("already has a slot"), "{v}");
    // Nothing good in it: a 400, nothing written.
    let before = counts(&c);
    let (s, v) = c.srv.call(
        "POST",
        &format!("{SLOTS}bulk_create/"),
        Some(&c.op),
        Some(&json!({"user_id": c.t1_id, "date": d, "slots": [{"start_time": "08:00", "end_time": "10:00"}]})),
    );
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["errors"][0]["index"], 0);
    for (bad, field) in [
        (
            json!({"user_id": c.t1_id, "date": "2030-02-30", "slots": [{"start_time": "06:00", "end_time": "07:00"}]}),
            "date",
        ),
        (json!({"user_id": c.t1_id, "date": d, "slots": []}), "slots"),
        (json!({"date": d, "slots": [{"start_time": "06:00", "end_time": "07:00"}]}), "user_id"),
        (
            json!({"user_id": c.client + 999, "date": d, "slots": [{"start_time": "06:00", "end_time": "07:00"}]}),
            "user_id",
        ),
    ] {
        let (s, v) = c.srv.call("POST", &format!("{SLOTS}bulk_create/"), Some(&c.op), Some(&bad));
        assert_eq!(s, 400, "{bad}: {v}");
        assert!(v["fields"][field].is_array(), "{field}: {v}");
    }
    assert_eq!(counts(&c), before);
}

#[test]
fn the_free_lists_leave_out_whoever_is_booked_until_the_booking_is_cancelled() {
    let c = Clinic::new();
    let d = ymd(day(Weekday::Wed));
    for u in [c.t1_id, c.t2_id, c.d1_id] {
        slot(&c, &c.op, json!({"user": u, "date": d, "start_time": "08:00", "end_time": "18:00"}));
    }
    let window = |s: &str, e: &str| format!("date={d}&start_time={s}&end_time={e}");
    assert_eq!(free(&c, &c.op, "therapists", &window("10:30", "11:30")), [c.t1_id, c.t2_id]);
    let a = c.book(&c.booking(&d, "10:00", "11:00"));
    assert_eq!(free(&c, &c.op, "therapists", &window("10:30", "11:30")), [c.t2_id]);
    assert!(free(&c, &c.op, "drivers", &window("10:30", "11:30")).is_empty());
    // Touching is free, as for double booking.
    assert_eq!(free(&c, &c.op, "therapists", &window("11:00", "12:00")), [c.t1_id, c.t2_id]);
    assert_eq!(free(&c, &c.op, "drivers", &window("09:00", "10:00")), [c.d1_id]);
    // The booking form names the client and the booking.
    let t1 = entry(&c, &format!("role=therapist&{}", window("10:30", "11:30")), c.t1_id);
    assert_eq!(t1["reason"], "Booked with Maria Lopez 10:00–11:00");
    assert_eq!(t1["reason_code"], "booked");
    assert_eq!(t1["conflict"]["appointment"], a["id"]);
    assert_eq!(t1["conflict"]["client_name"], "Maria Lopez");
    let (_, all) = c.srv.call(
        "GET",
        &format!("{SLOTS}staff_for_slot/?role=therapist&{}", window("10:30", "11:30")),
        Some(&c.op),
        None,
    );
    let order: Vec<(i64, bool)> = all["staff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_i64().unwrap(), p["available"].as_bool().unwrap()))
        .collect();
    assert_eq!(order, [(c.t2_id, true), (c.t1_id, false)], "free first");
    // Editing that booking: it does not hold its own people.
    let editing = entry(&c, &format!("role=therapist&{}&appointment={}", window("10:30", "11:30"), a["id"]), c.t1_id);
    assert_eq!((editing["available"].as_bool(), &editing["reason"]), (Some(true), &Value::Null));
    // Only operators ask the booking form's question.
    let (s, _) = c.srv.call(
        "GET",
        &format!("{SLOTS}staff_for_slot/?role=therapist&{}", window("10:30", "11:30")),
        Some(&c.t1),
        None,
    );
    assert_eq!(s, 403);
    // Cancelled, they are free again.
    let (s, v) = c.act(&c.op, a["id"].as_i64().unwrap(), "cancel", json!({}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(free(&c, &c.op, "therapists", &window("10:30", "11:30")), [c.t1_id, c.t2_id]);
    assert_eq!(free(&c, &c.op, "drivers", &window("10:30", "11:30")), [c.d1_id]);
}

#[test]
fn the_free_lists_filter_and_follow_the_privacy_rule() {
    let c = Clinic::new();
    let d = ymd(day(Weekday::Thu));
    for (u, spec, pressure) in [(c.t1_id, "Shiatsu, sports", "hard"), (c.t2_id, "Swedish", "soft")] {
        let (s, v) = c.srv.call(
            "PATCH",
            &format!("/api/scheduling/staff/{u}/"),
            Some(&c.op),
            Some(&json!({"specialization": spec, "massage_pressure": pressure})),
        );
        assert_eq!(s, 200, "{v}");
    }
    let (s, _) = c.srv.call(
        "PATCH",
        &format!("/api/scheduling/staff/{}/", c.d1_id),
        Some(&c.op),
        Some(&json!({"motorcycle_plate": "ABC 123"})),
    );
    assert_eq!(s, 200);
    for u in [c.t1_id, c.t2_id, c.d1_id] {
        slot(&c, &c.op, json!({"user": u, "date": d, "start_time": "08:00", "end_time": "18:00"}));
    }
    let w = format!("date={d}&start_time=09:00&end_time=10:00");
    assert_eq!(free(&c, &c.op, "therapists", &format!("{w}&specialization=SHIATSU")), [c.t1_id]);
    assert_eq!(free(&c, &c.op, "therapists", &format!("{w}&massage_pressure=soft")), [c.t2_id]);
    assert!(free(&c, &c.op, "therapists", &format!("{w}&specialization=swedish&massage_pressure=hard")).is_empty());
    // Only operators receive emails; drivers come with their plate.
    let (_, op_view) = c.srv.call("GET", &format!("{SLOTS}available_therapists/?{w}"), Some(&c.op), None);
    assert!(op_view[0]["email"].as_str().unwrap().contains('@'));
    assert_eq!(op_view[0]["specialization"], "Shiatsu, sports");
    let (_, t_view) = c.srv.call("GET", &format!("{SLOTS}available_therapists/?{w}"), Some(&c.t2), None);
    assert!(t_view[0].get("email").is_none() && t_view[0]["massage_pressure"] == "hard", "{t_view}");
    let (_, drivers) = c.srv.call("GET", &format!("{SLOTS}available_drivers/?{w}"), Some(&c.op), None);
    assert_eq!(drivers[0]["motorcycle_plate"], "ABC 123");
    assert!(drivers[0].get("specialization").is_none());
    // Bad filters and windows are 400s naming them.
    for (q, fields) in [
        (format!("{w}&massage_pressure=firm"), vec!["massage_pressure"]),
        (String::new(), vec!["date", "start_time", "end_time"]),
        (format!("date={d}&start_time=25:00&end_time=10:00"), vec!["start_time"]),
        (format!("date={d}&start_time=10:00&end_time=10:00"), vec!["end_time"]),
    ] {
        let (s, v) = c.srv.call("GET", &format!("{SLOTS}available_therapists/?{q}"), Some(&c.op), None);
        assert_eq!(s, 400, "{q}: {v}");
        for f in fields {
            assert!(v["fields"][f].is_array(), "{q}: {f} in {v}");
        }
    }
}

#[test]
fn the_usual_week_with_a_day_off_and_extra_hours() {
    let c = Clinic::new();
    let week = format!("/api/scheduling/staff/{}/working_hours/", c.t1_id);
    let mon_to_sat: Vec<Value> =
        (0..6).map(|d| json!({"weekday": d, "start_time": "09:00", "end_time": "18:00"})).collect();
    // A therapist sets their own week.
    let (s, v) = c.srv.call("PUT", &week, Some(&c.t1), Some(&json!({"hours": mon_to_sat})));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["hours"].as_array().unwrap().len(), 6);
    assert_eq!(v["hours"][0]["day"], "Monday");
    let (mon, sun) = (day(Weekday::Mon), day(Weekday::Sun));
    let w = |d: NaiveDate, s: &str, e: &str| format!("date={}&start_time={s}&end_time={e}", ymd(d));
    let (_, list) =
        c.srv.call("GET", &format!("{SLOTS}available_therapists/?{}", w(mon, "10:00", "11:00")), Some(&c.op), None);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!((list[0]["id"].as_i64(), list[0]["start_time"].as_str()), (Some(c.t1_id), Some("09:00:00")));
    let why =
        |q: String| entry(&c, &format!("role=therapist&{q}"), c.t1_id)["reason"].as_str().unwrap_or("").to_string();
    assert_eq!(why(w(sun, "10:00", "11:00")), "Not working on Sundays");
    let code = |q: String| entry(&c, &format!("role=therapist&{q}"), c.t1_id)["reason_code"].clone();
    assert_eq!(code(w(sun, "10:00", "11:00")), "off");
    assert_eq!(code(w(mon, "17:30", "18:30")), "outside_hours");
    assert_eq!(code(w(mon, "10:00", "11:00")), Value::Null);
    assert_eq!(why(w(mon, "17:30", "18:30")), "Available only 09:00–18:00 that day");
    // Exceptions: that Monday afternoon off, and two extra hours that Sunday.
    let next_mon = mon + Duration::days(7);
    slot(
        &c,
        &c.op,
        json!({"user": c.t1_id, "date": ymd(mon), "start_time": "13:00", "end_time": "17:00", "is_available": false}),
    );
    slot(&c, &c.t1, json!({"date": ymd(sun), "start_time": "10:00", "end_time": "12:00"}));
    assert_eq!(why(w(mon, "14:00", "15:00")), "Marked unavailable 13:00–17:00");
    assert_eq!(code(w(mon, "14:00", "15:00")), "unavailable");
    assert_eq!(free(&c, &c.op, "therapists", &w(mon, "10:00", "11:00")), [c.t1_id], "the morning stays");
    assert_eq!(free(&c, &c.op, "therapists", &w(next_mon, "14:00", "15:00")), [c.t1_id], "only that Monday");
    assert_eq!(free(&c, &c.op, "therapists", &w(sun, "10:00", "11:00")), [c.t1_id]);
    assert_eq!(why(w(sun, "11:00", "13:00")), "Available only 10:00–12:00 that day");
    // Extra hours next to the usual ones join them.
    slot(&c, &c.op, json!({"user": c.t1_id, "date": ymd(next_mon), "start_time": "18:00", "end_time": "20:00"}));
    assert_eq!(free(&c, &c.op, "therapists", &w(next_mon, "17:00", "19:00")), [c.t1_id]);
    // An empty week clears it; the operator reads it.
    let (s, v) = c.srv.call("PUT", &week, Some(&c.op), Some(&json!({"hours": []})));
    assert_eq!((s, v["hours"].as_array().map(Vec::len)), (200, Some(0)));
    assert!(free(&c, &c.op, "therapists", &w(next_mon + Duration::days(7), "10:00", "11:00")).is_empty());
}

#[test]
fn changes_reach_the_operators_and_the_person_live_and_nobody_else() {
    let c = Clinic::new();
    let d = ymd(day(Weekday::Fri));
    let (mut op, initial) = ws_support::open(&c.srv, &c.op);
    let (since, epoch) = (initial["seq"].as_i64().unwrap(), initial["epoch"].as_str().unwrap().to_string());
    let (mut t1, _) = ws_support::open(&c.srv, &c.t1);
    let (mut t2, _) = ws_support::open(&c.srv, &c.t2);
    let made = slot(&c, &c.t1, json!({"date": d, "start_time": "09:00", "end_time": "12:00"}));
    for ws in [&mut op, &mut t1] {
        let ev = ws.next_of("availability_changed", Wait::from_secs(5));
        assert_eq!((ev["user_id"].as_i64(), ev["action"].as_str()), (Some(c.t1_id), Some("created")));
        assert_eq!(ev["availability"][0]["id"], made["id"]);
        assert!(ev["seq"].as_i64().unwrap() > 0);
    }
    // The operator sets t1's week: t1 hears of it too.
    let hours = json!({"hours": [{"weekday": 0, "start_time": "09:00", "end_time": "17:00"}]});
    let (s, _) =
        c.srv.call("PUT", &format!("/api/scheduling/staff/{}/working_hours/", c.t1_id), Some(&c.op), Some(&hours));
    assert_eq!(s, 200);
    let ev = t1.next_of("availability_changed", Wait::from_secs(5));
    assert_eq!(
        (ev["action"].as_str(), ev["working_hours"]["hours"][0]["end_time"].as_str()),
        (Some("working_hours"), Some("17:00:00"))
    );
    assert_eq!(op.next_of("availability_changed", Wait::from_secs(5))["action"], "working_hours");
    // t2's own change is the first thing t2 receives: t1's two went past them.
    slot(&c, &c.t2, json!({"date": d, "start_time": "09:00", "end_time": "12:00"}));
    let first = t2.next_json(Wait::from_secs(5)).unwrap();
    assert_eq!(
        (first["type"].as_str(), first["user_id"].as_i64()),
        (Some("availability_changed"), Some(c.t2_id)),
        "{first}"
    );
    assert_eq!(op.next_of("availability_changed", Wait::from_secs(5))["user_id"], c.t2_id);
    // A socket resuming from before them is replayed what it may see, in order.
    let mut again = ws_support::connect(&c.srv, &format!("token={}&since={since}&epoch={epoch}", c.t2), &[]).unwrap();
    let replayed = again.next_of("availability_changed", Wait::from_secs(5));
    assert_eq!(replayed["user_id"], c.t2_id, "t1's changes are not replayed to t2 either");
    let mut t1_again =
        ws_support::connect(&c.srv, &format!("token={}&since={since}&epoch={epoch}", c.t1), &[]).unwrap();
    let actions: Vec<Value> =
        (0..2).map(|_| t1_again.next_of("availability_changed", Wait::from_secs(5))["action"].clone()).collect();
    assert_eq!(actions, [json!("created"), json!("working_hours")]);
}

#[test]
fn bad_input_is_a_400_naming_the_fields_and_changes_nothing() {
    let c = Clinic::new();
    let d = ymd(day(Weekday::Mon));
    slot(&c, &c.op, json!({"user": c.t1_id, "date": d, "start_time": "09:00", "end_time": "12:00"}));
    let before = counts(&c);
    let op_id = clinic::id_of(&c.srv, &c.op);
    for (body, fields) in [
        (json!({"user": c.t1_id}), vec!["date", "start_time", "end_time"]),
        (
            json!({"user": c.t1_id, "date": "05/01/2030", "start_time": "9", "end_time": "24:00"}),
            vec!["date", "start_time", "end_time"],
        ),
        (json!({"user": c.t1_id, "date": d, "start_time": "10:00", "end_time": "10:00"}), vec!["end_time"]),
        (json!({"user": c.t1_id, "date": d, "start_time": "09:00", "end_time": "12:00"}), vec!["start_time"]),
        (
            json!({"user": c.t1_id, "date": d, "start_time": "13:00", "end_time": "14:00", "is_available": "yes"}),
            vec!["is_available"],
        ),
        (json!({"date": d, "start_time": "13:00", "end_time": "14:00"}), vec!["user"]),
        (json!({"user": op_id, "date": d, "start_time": "13:00", "end_time": "14:00"}), vec!["user"]),
        (json!({"user": 999_999, "date": d, "start_time": "13:00", "end_time": "14:00"}), vec!["user"]),
    ] {
        let (s, v) = c.srv.call("POST", SLOTS, Some(&c.op), Some(&body));
        assert_eq!(s, 400, "{body}: {v}");
        assert_eq!(v["code"], "invalid");
        for f in fields {
            assert!(v["fields"][f].is_array(), "{body}: {f} in {v}");
        }
    }
    let week = format!("/api/scheduling/staff/{}/working_hours/", c.t1_id);
    for body in [
        json!({"hours": [{"weekday": 7, "start_time": "09:00", "end_time": "17:00"}]}),
        json!({"hours": [{"weekday": 1, "start_time": "09:00", "end_time": "17:00"}, {"weekday": 1, "start_time": "18:00", "end_time": "19:00"}]}),
        json!({"hours": "Mon-Sat"}),
        json!({}),
    ] {
        let (s, v) = c.srv.call("PUT", &week, Some(&c.op), Some(&body));
        assert_eq!(s, 400, "{body}: {v}");
        assert!(v["fields"]["hours"][0].as_str().is_some(), "{v}");
    }
    assert_eq!(counts(&c), before, "no slot, hours or event was written");
}
