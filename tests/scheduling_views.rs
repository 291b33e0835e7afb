//! What the clinic's original React frontend reads, through the real server: the named
//! appointment lists (`appointments/today/`, `upcoming/`, `by_week/` as plain arrays;
//! `pending/`, `rejected/`, `timeout/`, `awaiting_payment/`, `active_sessions/`,
//! `pickup_requests/` as pages), each its workflow group through the one visibility
//! rule and composing with the main list's filters; the staff picker
//! (`staff/active_staff/`) and the booking form's client list
//! (`registration/register/client/`, read-only); and a booking's extras
//! (`group_size`, `requires_car`, `payment_status`, `pickup_notes`).
mod clinic;
mod common;

use clinic::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn day(offset: i64) -> String {
    (chrono::Local::now().date_naive() + chrono::Duration::days(offset)).format("%Y-%m-%d").to_string()
}

fn id(a: &Value) -> i64 {
    a["id"].as_i64().unwrap()
}

/// GET a plain-array view as `token`: (ids in order, X-Total-Count).
fn plain(k: &Clinic, token: &str, path: &str) -> (Vec<i64>, i64) {
    let r = k.srv.request("GET", &format!("/api/scheduling/appointments/{path}"), Some(token), None, &[]);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    let list = r.json();
    let ids: Vec<i64> =
        list.as_array().unwrap_or_else(|| panic!("{path}: not an array: {list}")).iter().map(id).collect();
    let total = r.header("x-total-count").expect("X-Total-Count").parse().unwrap();
    (ids, total)
}

/// GET a paginated view as `token`: (ids on the page, count).
fn paged(k: &Clinic, token: &str, path: &str) -> (Vec<i64>, i64) {
    let (s, page) = k.srv.call("GET", &format!("/api/scheduling/appointments/{path}"), Some(token), None);
    assert_eq!(s, 200, "{path}: {page}");
    let ids =
        page["results"].as_array().unwrap_or_else(|| panic!("{path}: not a page: {page}")).iter().map(id).collect();
    (ids, page["count"].as_i64().unwrap())
}

fn steps(k: &Clinic, id: i64, steps: &[(&str, &str)]) {
    for (who, action) in steps {
        let token = match *who {
            "op" => &k.op,
            "t1" => &k.t1,
            "d1" => &k.d1,
            _ => unreachable!(),
        };
        let (s, v) = k.act(token, id, action, json!({}));
        assert_eq!(s, 200, "{action}: {v}");
    }
}

const TO_SESSION: &[(&str, &str)] = &[
    ("t1", "therapist_confirm"),
    ("d1", "driver_confirm"),
    ("op", "start_appointment"),
    ("d1", "start_journey"),
    ("d1", "arrive_at_location"),
    ("d1", "drop_off_therapist"),
    ("t1", "start_session"),
    ("t1", "mark_awaiting_payment"),
];

#[test]
fn named_lists_hold_their_workflow_group_for_those_who_may_see_it() {
    let k = Clinic::new();
    let (today, tomorrow, later) = (day(0), day(1), day(8));
    // Today: one under way, one still pending, one awaiting payment, one waiting for pickup.
    let started = id(&k.book(&k.booking(&today, "09:00", "10:00")));
    steps(&k, started, &[("t1", "therapist_confirm"), ("d1", "driver_confirm"), ("op", "start_appointment")]);
    let waiting = id(&k.book(&k.booking(&today, "11:00", "12:00")));
    let unpaid = id(&k.book(&k.booking(&today, "14:00", "15:00")));
    steps(&k, unpaid, TO_SESSION);
    let pickup = id(&k.book(&k.booking(&today, "16:00", "17:00")));
    steps(&k, pickup, TO_SESSION);
    let (s, v) =
        k.act(&k.op, pickup, "mark_payment_received", json!({"payment_method": "cash", "payment_amount": 1500}));
    assert_eq!(s, 200, "{v}");
    let (s, v) = k.act(&k.t1, pickup, "request_pickup", json!({"pickup_urgency": "urgent", "pickup_notes": "Gate B"}));
    assert_eq!((s, &v["pickup_notes"], &v["status"]), (200, &json!("Gate B"), &json!("pickup_requested")), "{v}");
    // Tomorrow: one pending for tess, one rejected by toni; in a week: one cancelled.
    let soon = id(&k.book(&k.booking(&tomorrow, "10:00", "11:00")));
    let mut toni = k.booking(&tomorrow, "10:00", "11:00");
    toni["therapist"] = json!(k.t2_id);
    toni["driver"] = json!(null);
    let rejected = id(&k.book(&toni));
    let (s, v) = k.act(&k.t2, rejected, "reject", json!({"rejection_reason": "Too far"}));
    assert_eq!(s, 200, "{v}");
    let cancelled = id(&k.book(&k.booking(&later, "10:00", "11:00")));
    steps(&k, cancelled, &[("op", "cancel")]);

    // The operator sees every one, each in its list.
    assert_eq!(plain(&k, &k.op, "today/"), (vec![started, waiting, unpaid, pickup], 4));
    assert_eq!(plain(&k, &k.op, "upcoming/"), (vec![soon], 1), "no rejected or cancelled one");
    let week = plain(&k, &k.op, &format!("by_week/?week_start={today}")).0;
    assert_eq!(week, [started, waiting, unpaid, pickup, soon, rejected], "7 days from today");
    assert_eq!(plain(&k, &k.op, &format!("by_week/?week_start={later}")).0, [cancelled]);
    assert!(plain(&k, &k.op, "by_week/").0.contains(&started), "this week, from its Monday");
    assert_eq!(paged(&k, &k.op, "pending/"), (vec![waiting, soon], 2));
    assert_eq!(paged(&k, &k.op, "rejected/"), (vec![rejected], 1));
    assert_eq!(paged(&k, &k.op, "active_sessions/"), (vec![started], 1));
    assert_eq!(paged(&k, &k.op, "awaiting_payment/"), (vec![unpaid], 1));
    assert_eq!(paged(&k, &k.op, "pickup_requests/"), (vec![pickup], 1));
    assert_eq!(paged(&k, &k.op, "timeout/"), (vec![], 0));

    // The main list's filters compose with a view; they never widen it.
    assert_eq!(plain(&k, &k.op, "today/?status=pending").0, [waiting]);
    assert_eq!(plain(&k, &k.op, "today/?ordering=-start_time").0, [pickup, unpaid, waiting, started]);
    assert_eq!(paged(&k, &k.op, &format!("pending/?date={tomorrow}")).0, [soon]);
    assert_eq!(paged(&k, &k.op, "pending/?page_size=1&page=2").0, [soon]);
    assert_eq!(paged(&k, &k.op, &format!("rejected/?date={today}")).0, Vec::<i64>::new());

    // Therapists and drivers: only what the visibility rule lets them see.
    assert_eq!(plain(&k, &k.t2, "today/"), (vec![], 0));
    assert_eq!(plain(&k, &k.t2, "upcoming/").0, Vec::<i64>::new());
    assert_eq!(paged(&k, &k.t2, "rejected/").0, [rejected]);
    assert_eq!(paged(&k, &k.t2, "pending/").0, Vec::<i64>::new());
    assert_eq!(plain(&k, &k.t1, "upcoming/").0, [soon]);
    assert_eq!(paged(&k, &k.t1, "rejected/").0, Vec::<i64>::new());
    assert_eq!(paged(&k, &k.d1, "pickup_requests/").0, [pickup]);
    assert_eq!(plain(&k, &k.d1, &format!("by_week/?week_start={today}")).0, [started, waiting, unpaid, pickup, soon]);

    // A bad week_start is a 400 naming it; the views are read-only; other names are no path.
    let (s, e) = k.srv.call("GET", "/api/scheduling/appointments/by_week/?week_start=soon", Some(&k.op), None);
    assert_eq!(s, 400);
    assert!(e["fields"]["week_start"].is_array(), "{e}");
    let r = k.srv.request("POST", "/api/scheduling/appointments/today/", Some(&k.op), Some("{}"), &[]);
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    assert_eq!(k.srv.call("GET", "/api/scheduling/appointments/yesterday/", Some(&k.op), None).0, 404);
    assert_eq!(k.srv.call("GET", "/api/scheduling/appointments/today/", None, None).0, 401);
}

#[test]
fn appointments_nobody_answered_in_time_are_in_timeout() {
    let k = Clinic::with(&[("ROYAL_CARE_PENDING_TIMEOUT_SECS", "1")]);
    let a = id(&k.book(&k.booking(&day(2), "10:00", "11:00")));
    assert_eq!(paged(&k, &k.op, "pending/").0, [a]);
    // Every list request cancels what is overdue first, so the list shows it at once.
    let deadline = Instant::now() + Duration::from_secs(15);
    while paged(&k, &k.op, "timeout/").0 != [a] {
        assert!(Instant::now() < deadline, "not in timeout/");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(paged(&k, &k.t1, "timeout/").0, [a]);
    assert_eq!(paged(&k, &k.t2, "timeout/").0, Vec::<i64>::new());
    assert_eq!(paged(&k, &k.op, "pending/").0, Vec::<i64>::new());
}

#[test]
fn the_staff_picker_lists_active_staff_as_each_role_may_see_them() {
    let k = Clinic::new();
    let tina = {
        let t = k.srv.user("tina", "therapist");
        id_of(&k.srv, &t)
    };
    let staff = |path: &str| format!("/api/scheduling/staff/{path}");
    let (s, v) = k.srv.call(
        "PATCH",
        &staff(&format!("{}/", k.d1_id)),
        Some(&k.op),
        Some(&json!({"motorcycle_plate": "NCR 1234"})),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = k.srv.call("PATCH", &staff(&format!("{tina}/")), Some(&k.op), Some(&json!({"is_active": false})));
    assert_eq!(s, 200, "{v}");

    let names = |v: &Value| -> Vec<String> {
        v["staff"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_string()).collect()
    };
    let (s, all) = k.srv.call("GET", &staff("active_staff/"), Some(&k.op), None);
    assert_eq!(s, 200, "{all}");
    assert_eq!((&all["filter"], &all["count"]), (&json!("all"), &json!(4)), "{all}");
    assert_eq!(names(&all), ["dan", "olga", "tess", "toni"], "no deactivated account");
    let (_, therapists) = k.srv.call("GET", &staff("active_staff/?role=therapist"), Some(&k.op), None);
    assert_eq!(
        (names(&therapists), &therapists["filter"], &therapists["count"]),
        (vec!["tess".into(), "toni".into()], &json!("therapist"), &json!(2))
    );
    let (_, everyone) = k.srv.call("GET", &staff("active_staff/?role=all"), Some(&k.op), None);
    assert_eq!((names(&everyone).len(), &everyone["filter"]), (4, &json!("all")));
    assert!(all["staff"][0]["email"].is_string(), "operators get contact details");

    // A therapist gets the accounts as the staff list shows them: no contact details.
    let (s, drivers) = k.srv.call("GET", &staff("active_staff/?role=driver"), Some(&k.t1), None);
    assert_eq!(s, 200, "{drivers}");
    let dan = &drivers["staff"][0];
    assert_eq!((&dan["username"], &dan["motorcycle_plate"]), (&json!("dan"), &json!("NCR 1234")));
    assert!(dan.get("email").is_none() && dan.get("phone_number").is_none(), "{dan}");
    let (s, e) = k.srv.call("GET", &staff("active_staff/?role=manager"), Some(&k.op), None);
    assert_eq!(s, 400);
    assert!(e["fields"]["role"].is_array(), "{e}");
    // `active_staff` is not a staff id.
    assert_eq!(k.srv.call("PATCH", &staff("active_staff/"), Some(&k.op), Some(&json!({}))).0, 405);

    // The driver's plate is on the appointments they drive, for the therapist and driver.
    let a = id(&k.book(&k.booking(&day(1), "10:00", "11:00")));
    for token in [&k.op, &k.t1, &k.d1] {
        let (_, v) = k.get(token, a);
        assert_eq!(v["driver_details"]["motorcycle_plate"], "NCR 1234", "{v}");
    }
}

#[test]
fn the_booking_forms_client_list_is_read_only_and_follows_visibility() {
    let k = Clinic::new();
    let path = "/api/registration/register/client/";
    let (s, jose) = k.srv.call(
        "POST",
        "/api/scheduling/clients/",
        Some(&k.op),
        Some(&json!({"first_name": "Jose", "last_name": "Abad", "email": "jose@example.org"})),
    );
    assert_eq!(s, 201, "{jose}");
    let list = |token: &str, query: &str| -> (Vec<Value>, String) {
        let r = k.srv.request("GET", &format!("{path}{query}"), Some(token), None, &[]);
        assert_eq!(r.status, 200, "{}", r.text());
        (r.json().as_array().expect("a plain array").clone(), r.header("x-total-count").unwrap().to_string())
    };
    let (all, total) = list(&k.op, "");
    let firsts: Vec<&str> = all.iter().map(|c| c["first_name"].as_str().unwrap()).collect();
    assert_eq!((firsts, total.as_str()), (vec!["Jose", "Maria"], "2"), "by last name");
    assert_eq!(all[0]["email"], "jose@example.org");
    assert_eq!(list(&k.op, "?search=mari").0.len(), 1);

    // A therapist: only clients of appointments they can see, without emails.
    assert!(list(&k.t1, "").0.is_empty());
    k.book(&k.booking(&day(1), "10:00", "11:00"));
    let (mine, _) = list(&k.t1, "");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["first_name"], "Maria");
    assert!(mine[0].get("email").is_none());
    assert!(list(&k.t2, "").0.is_empty());

    // Registering a client here is refused and creates nothing (open registration was a bug).
    let r = k.srv.request("POST", path, Some(&k.op), Some(&json!({"first_name": "Eve"}).to_string()), &[]);
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    let r = k.srv.request("POST", path, None, Some(&json!({"first_name": "Eve"}).to_string()), &[]);
    assert!(r.status == 401 || r.status == 405, "{}", r.status);
    let (_, page) = k.srv.call("GET", "/api/scheduling/clients/?search=Eve", Some(&k.op), None);
    assert_eq!(page["count"], 0);
}

#[test]
fn a_booking_takes_group_size_car_and_payment_status() {
    let k = Clinic::new();
    let mut body = k.booking(&day(3), "10:00", "11:00");
    body["group_size"] = json!(3);
    body["requires_car"] = json!(true);
    body["payment_status"] = json!("unpaid");
    let a = k.book(&body);
    assert_eq!(
        (&a["group_size"], &a["requires_car"], &a["payment_status"]),
        (&json!(3), &json!(true), &json!("pending"))
    );
    assert_eq!((&a["formatted_start_time"], &a["formatted_end_time"]), (&json!("10:00 AM"), &json!("11:00 AM")));
    let plain = k.book(&k.booking(&day(3), "12:00", "13:00"));
    assert_eq!(
        (&plain["group_size"], &plain["requires_car"], &plain["payment_status"]),
        (&json!(1), &json!(false), &json!("pending"))
    );

    // Bad values: a 400 naming each, and nothing written.
    let before = k.last_seq();
    let mut bad = k.booking(&day(3), "14:00", "15:00");
    bad["group_size"] = json!(0);
    bad["requires_car"] = json!("yes");
    bad["payment_status"] = json!("free");
    let (s, e) = k.srv.call("POST", "/api/scheduling/appointments/", Some(&k.op), Some(&bad));
    assert_eq!(s, 400, "{e}");
    let mut named: Vec<&String> = e["fields"].as_object().unwrap().keys().collect();
    named.sort();
    assert_eq!(named, ["group_size", "payment_status", "requires_car"]);
    assert_eq!(k.last_seq(), before);

    // An edit: the change is named in the event.
    let aid = id(&a);
    let (s, v) = k.srv.call(
        "PATCH",
        &format!("/api/scheduling/appointments/{aid}/"),
        Some(&k.op),
        Some(&json!({"payment_status": "partial", "group_size": 2})),
    );
    assert_eq!(
        (s, &v["payment_status"], &v["group_size"], &v["requires_car"]),
        (200, &json!("partial"), &json!(2), &json!(true)),
        "{v}"
    );
    let ev = k.events_after(before);
    let fields = &ev.iter().find(|e| e.1 == "appointment_updated").unwrap().5["updated_fields"];
    assert!(
        fields.as_array().unwrap().contains(&json!("payment_status"))
            && fields.as_array().unwrap().contains(&json!("group_size")),
        "{fields}"
    );
    // A PUT of the booking that leaves them out (the original's edit form) keeps them.
    let mut put = k.booking(&day(3), "10:00", "11:30");
    put["version"] = v["version"].clone();
    let (s, v) = k.srv.call("PUT", &format!("/api/scheduling/appointments/{aid}/"), Some(&k.op), Some(&put));
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (&v["end_time"], &v["payment_status"], &v["group_size"], &v["requires_car"]),
        (&json!("11:30:00"), &json!("partial"), &json!(2), &json!(true))
    );
    // A therapist may not set them.
    let (s, _) = k.srv.call(
        "PATCH",
        &format!("/api/scheduling/appointments/{aid}/"),
        Some(&k.t1),
        Some(&json!({"payment_status": "paid"})),
    );
    assert_eq!(s, 403);
}
