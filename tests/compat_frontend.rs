//! The clinic's original React frontend against this server, REST side: every call is
//! made as that frontend makes it (paths, bodies, headers, a browser's CORS checks), from
//! shared/ROYAL-CARE-COMPAT.md (issue 10, part A). The socket side is `compat_live.rs`.
mod common;
mod compat_support;

use common::*;
use compat_support::*;
use serde_json::{json, Value};

/// A clinic set up through the CLI (staff) and the original's own screens (the rest).
struct Clinic {
    srv: Server,
    therapist: i64,
    therapist2: i64,
    driver: i64,
    driver2: i64,
    client: i64,
    service: i64,
}

fn id_of(srv: &Server, username: &str) -> i64 {
    let (s, v) = Frontend::logged_in(srv, username).get("/auth/profile/").ok();
    assert_eq!(s, 200, "{v}");
    v["id"].as_i64().unwrap()
}

fn clinic() -> Clinic {
    let srv = server();
    for (u, role) in
        [("olga", "operator"), ("tess", "therapist"), ("tina", "therapist"), ("dan", "driver"), ("dora", "driver")]
    {
        srv.add_user(u, role);
    }
    let op = Frontend::logged_in(&srv, "olga");
    let (s, c) = op
        .post(
            "/scheduling/clients/",
            &json!({"first_name": "Maria", "last_name": "Santos", "phone_number": "09171234567",
                    "email": "maria@example.org", "address": "12 Mabini St, Makati", "notes": ""}),
        )
        .ok();
    assert_eq!(s, 201, "{c}");
    let (s, svc) = op
        .post(
            "/scheduling/services/",
            &json!({"name": "Swedish", "description": "Full body", "duration": 60, "price": "1500.00", "is_active": true}),
        )
        .ok();
    assert_eq!(s, 201, "{svc}");
    let driver = id_of(&srv, "dan");
    let (s, d) = op.patch(&format!("/scheduling/staff/{driver}/"), &json!({"motorcycle_plate": "NAB 1234"})).ok();
    assert_eq!(s, 200, "{d}");
    Clinic {
        therapist: id_of(&srv, "tess"),
        therapist2: id_of(&srv, "tina"),
        driver,
        driver2: id_of(&srv, "dora"),
        client: c["id"].as_i64().unwrap(),
        service: svc["id"].as_i64().unwrap(),
        srv,
    }
}

fn today() -> String {
    chrono::Local::now().format("%Y-%m-%d").to_string()
}

fn day(offset: i64) -> String {
    (chrono::Local::now() + chrono::Duration::days(offset)).format("%Y-%m-%d").to_string()
}

impl Clinic {
    /// The booking form's body, as the original sends it.
    fn booking_form(&self, date: &str, start: &str, end: &str, driver: Value) -> Value {
        json!({
            "client": self.client, "services": [self.service], "therapist": self.therapist, "therapists": [],
            "driver": driver, "date": date, "start_time": start, "end_time": end,
            "location": "12 Mabini St, Makati", "notes": "Gate code 4411",
            "group_size": 1, "requires_car": false, "payment_status": "unpaid",
        })
    }

    fn book(&self, op: &Frontend, body: &Value) -> Value {
        let (s, a) = op.post("/scheduling/appointments/", body).ok();
        assert_eq!(s, 201, "{a}");
        a
    }
}

fn act(f: &Frontend, id: i64, action: &str, body: Value) -> (u16, Value) {
    f.post(&format!("/scheduling/appointments/{id}/{action}/"), &body).ok()
}

fn status_after(f: &Frontend, id: i64, action: &str, body: Value) -> String {
    let (s, a) = act(f, id, action, body);
    assert_eq!(s, 200, "{action}: {a}");
    a["status"].as_str().unwrap().to_string()
}

fn patch_status(f: &Frontend, id: i64, body: Value) -> (u16, Value) {
    f.patch(&format!("/scheduling/appointments/{id}/"), &body).ok()
}

#[test]
fn login_passes_the_browsers_cors_check_and_the_route_guard() {
    let srv = server();
    srv.add_user("olga", "operator");
    let mut f = Frontend::new(&srv);
    let (s, v) = f.login("olga", PASSWORD).ok();
    assert_eq!(s, 200, "{v}");
    assert!(f.token.as_deref().is_some_and(|t| t.len() == 64));
    assert!(v["expiry"].as_str().is_some_and(|e| e.ends_with('Z')), "{v}");
    // The route guard: without a truthy email_verified every page redirects to /verify-email.
    for user in [&v["user"], &f.get("/auth/profile/").ok().1] {
        assert_eq!(user["email_verified"], true, "{user}");
        assert_eq!(user["role"], "operator");
        for member in
            ["profile_photo_url", "two_factor_enabled", "motorcycle_plate", "license_number", "massage_pressure"]
        {
            assert!(user.get(member).is_some(), "{member} missing from {user}");
        }
        for leaked in [
            "password",
            "verification_code",
            "failed_login_attempts",
            "locked_until",
            "is_superuser",
            "groups",
            "user_permissions",
            "is_staff",
        ] {
            assert!(user.get(leaked).is_none(), "{leaked} must not be sent: {user}");
        }
    }
    // The same login form on an origin the clinic did not allow is stopped by the browser.
    let mut stranger = Frontend { origin: "http://evil.example", ..Frontend::new(&srv) };
    assert!(matches!(stranger.login("olga", PASSWORD), Reply::CorsBlocked(_)));
    // A wrong password is an answer the page can read (not a CORS failure).
    let (s, e) = Frontend::new(&srv).login("olga", "wrong-password").ok();
    assert_eq!((s, e["code"].as_str()), (401, Some("INVALID_LOGIN")), "{e}");
}

#[test]
fn logout_with_bearer_revokes_the_token() {
    let srv = server();
    srv.add_user("tess", "therapist");
    let mut f = Frontend::logged_in(&srv, "tess");
    let token = f.token.clone().unwrap();
    let (s, _) = f.logout().ok();
    assert_eq!(s, 204);
    f.token = Some(token);
    let (s, e) = f.get("/auth/profile/").ok();
    assert_eq!(s, 401, "the original's logout must end the session: {e}");
}

#[test]
fn the_profile_page_edits_the_users_own_details() {
    let srv = server();
    srv.add_user("tess", "therapist");
    let f = Frontend::logged_in(&srv, "tess");
    let edit =
        json!({"first_name": "Teresa", "last_name": "Cruz", "email": "teresa@example.org", "phone_number": "0918"});
    for (method, body) in [("PUT", edit.clone()), ("PATCH", json!({"phone_number": "0919"}))] {
        let (s, me) =
            if method == "PUT" { f.put("/auth/profile/", &body) } else { f.patch("/auth/profile/", &body) }.ok();
        assert_eq!(s, 200, "{method}: {me}");
        assert_eq!(me["first_name"], "Teresa", "{me}");
    }
    let (_, me) = f.get("/auth/profile/").ok();
    assert_eq!((me["email"].as_str(), me["phone_number"].as_str()), (Some("teresa@example.org"), Some("0919")));
    // Nobody makes themselves an operator from the profile page.
    let (s, e) = f.patch("/auth/profile/", &json!({"role": "operator"})).ok();
    assert_eq!(s, 400, "{e}");
    assert_eq!(f.get("/auth/profile/").ok().1["role"], "therapist");
}

#[test]
fn the_booking_form_finds_its_clients_and_staff_and_books() {
    let k = clinic();
    let op = Frontend::logged_in(&k.srv, "olga");
    // The client dropdown's source.
    let (s, clients) = op.get("/registration/register/client/").ok();
    assert_eq!(s, 200, "{clients}");
    let list = clients.get("results").unwrap_or(&clients).as_array().expect("a list of clients").clone();
    assert!(list.iter().any(|c| c["id"] == k.client && c["first_name"] == "Maria"), "{clients}");
    // Open self-registration was a bug of the original: nothing is created there.
    let (s, _) = op.post("/registration/register/client/", &json!({"first_name": "Eve"})).ok();
    assert!(s == 405 || s == 403, "{s}");
    // Therapist and driver pickers.
    for (role, id) in [("therapist", k.therapist), ("driver", k.driver)] {
        let (s, v) = op.get(&format!("/scheduling/staff/active_staff/?role={role}")).ok();
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["filter"], role, "{v}");
        assert_eq!(v["count"].as_u64(), Some(v["staff"].as_array().unwrap().len() as u64), "{v}");
        assert!(v["staff"].as_array().unwrap().iter().all(|u| u["role"] == role && u["is_active"] == true), "{v}");
        assert!(v["staff"].as_array().unwrap().iter().any(|u| u["id"] == id), "{v}");
    }

    // `driver: ""` is the form's "no driver".
    let a = k.book(&op, &k.booking_form(&today(), "09:30", "10:30", json!("")));
    assert_eq!(a["driver"], Value::Null, "{a}");
    assert_eq!(
        (a["status"].as_str(), a["group_size"].as_i64(), a["requires_car"].as_bool()),
        (Some("pending"), Some(1), Some(false))
    );
    // What the original's screens read beyond our own fields.
    let date = chrono::NaiveDate::parse_from_str(&today(), "%Y-%m-%d").unwrap();
    assert_eq!(a["formatted_date"], date.format("%B %d, %Y").to_string(), "{a}");
    assert_eq!(
        (a["formatted_start_time"].as_str(), a["formatted_end_time"].as_str()),
        (Some("09:30 AM"), Some("10:30 AM"))
    );
    for member in [
        "session_end_time",
        "estimated_pickup_time",
        "pickup_confirmed_at",
        "return_journey_completed_at",
        "both_parties_accepted",
        "pending_acceptances",
        "therapist_accepted",
    ] {
        assert!(a.get(member).is_some(), "{member} missing: {a}");
    }
    assert_eq!(a["both_parties_accepted"], false);
    // With a driver: the details carry the plate the driver dashboard shows.
    let b = k.book(&op, &k.booking_form(&today(), "13:00", "14:00", json!(k.driver)));
    assert_eq!(b["driver_details"]["motorcycle_plate"], "NAB 1234", "{b}");
    // A group booking with `therapists[]` only.
    let mut group = k.booking_form(&day(1), "09:00", "10:00", json!(""));
    group["therapist"] = json!("");
    group["therapists"] = json!([k.therapist, k.therapist2]);
    group["group_size"] = json!(2);
    group["requires_car"] = json!(true);
    let g = k.book(&op, &group);
    assert_eq!((g["group_size"].as_i64(), g["requires_car"].as_bool()), (Some(2), Some(true)), "{g}");
    let mut all: Vec<i64> = g["therapist"].as_i64().into_iter().collect();
    all.extend(g["therapists"].as_array().unwrap().iter().filter_map(Value::as_i64));
    all.sort();
    assert_eq!(all, vec![k.therapist, k.therapist2], "{g}");
    // A double booking is still refused.
    let (s, e) = op.post("/scheduling/appointments/", &k.booking_form(&today(), "13:30", "14:30", json!(""))).ok();
    assert_eq!((s, e["code"].as_str()), (409, Some("CONFLICT")), "{e}");
}

#[test]
fn the_calendar_and_the_dashboards_lists_answer_in_the_originals_shapes() {
    let k = clinic();
    let op = Frontend::logged_in(&k.srv, "olga");
    let today_a = k.book(&op, &k.booking_form(&today(), "09:00", "10:00", json!(k.driver)));
    let tomorrow_a = k.book(&op, &k.booking_form(&day(1), "09:00", "10:00", json!("")));
    let mut other = k.booking_form(&day(2), "09:00", "10:00", json!(""));
    other["therapist"] = json!(k.therapist2);
    let other_a = k.book(&op, &other);
    let ids = |v: &Value| -> Vec<i64> {
        let list = v.as_array().unwrap_or_else(|| v["results"].as_array().expect("a list or a page"));
        list.iter().map(|a| a["id"].as_i64().unwrap()).collect()
    };

    // The month calendar asks for 1000 a page: clamped, not refused.
    let (s, page) = op.get(&format!("/scheduling/appointments/?page=1&page_size=1000&date={}", today())).ok();
    assert_eq!(s, 200, "{page}");
    assert_eq!(ids(&page), vec![today_a["id"].as_i64().unwrap()]);
    assert!(page["page_size"].as_i64().unwrap() >= 1 && page["count"] == 1, "{page}");
    let (s, page) = op.get("/scheduling/appointments/?page=1&page_size=1000").ok();
    assert_eq!((s, page["count"].as_i64()), (200, Some(3)), "{page}");

    // Plain arrays.
    let (s, v) = op.get("/scheduling/appointments/today/").ok();
    assert_eq!(s, 200);
    assert_eq!(ids(&v), vec![today_a["id"].as_i64().unwrap()], "today/ is a plain array: {v}");
    assert!(v.is_array());
    let (s, v) = op.get("/scheduling/appointments/upcoming/").ok();
    assert_eq!(s, 200);
    assert!(v.is_array(), "{v}");
    assert!(
        ids(&v).contains(&tomorrow_a["id"].as_i64().unwrap()) && ids(&v).contains(&other_a["id"].as_i64().unwrap())
    );
    let (s, v) = op.get(&format!("/scheduling/appointments/by_week/?week_start={}", today())).ok();
    assert_eq!(s, 200);
    assert!(v.is_array(), "{v}");
    assert_eq!(ids(&v).len(), 3, "{v}");
    let (s, e) = op.get("/scheduling/appointments/by_week/?week_start=not-a-date").ok();
    assert_eq!(s, 400, "{e}");

    // Paginated lists, through the one visibility rule.
    for view in ["rejected", "pending", "timeout", "awaiting_payment", "active_sessions", "pickup_requests"] {
        let (s, v) = op.get(&format!("/scheduling/appointments/{view}/")).ok();
        assert_eq!(s, 200, "{view}: {v}");
        assert!(v["results"].is_array() && v["count"].is_i64() && v.get("has_next").is_some(), "{view}: {v}");
    }
    let (_, pending) = op.get("/scheduling/appointments/pending/").ok();
    assert_eq!(pending["count"], 3);
    let tess = Frontend::logged_in(&k.srv, "tess");
    let (_, mine) = tess.get("/scheduling/appointments/pending/").ok();
    assert_eq!(mine["count"], 2, "a therapist sees only their own: {mine}");
    let (_, mine) = tess.get("/scheduling/appointments/upcoming/").ok();
    assert!(!ids(&mine).contains(&other_a["id"].as_i64().unwrap()), "{mine}");
    let (_, dan) = Frontend::logged_in(&k.srv, "dan").get("/scheduling/appointments/today/").ok();
    assert_eq!(ids(&dan), vec![today_a["id"].as_i64().unwrap()]);

    // A rejected one shows under rejected/.
    let id = tomorrow_a["id"].as_i64().unwrap();
    assert_eq!(status_after(&tess, id, "reject", json!({"rejection_reason": "Sick"})), "rejected");
    let (_, v) = op.get("/scheduling/appointments/rejected/").ok();
    assert_eq!(ids(&v), vec![id]);
}

#[test]
fn the_whole_trip_as_the_original_dashboards_drive_it() {
    let k = clinic();
    let op = Frontend::logged_in(&k.srv, "olga");
    let tess = Frontend::logged_in(&k.srv, "tess");
    let dan = Frontend::logged_in(&k.srv, "dan");
    let dora = Frontend::logged_in(&k.srv, "dora");
    let a = k.book(&op, &k.booking_form(&today(), "09:00", "10:00", json!(k.driver)));
    let id = a["id"].as_i64().unwrap();

    assert_eq!(status_after(&tess, id, "therapist_confirm", json!({})), "therapist_confirmed");
    // The driver dashboard PATCHes statuses; each maps onto the one legal action.
    let (s, v) = patch_status(&dan, id, json!({"status": "driver_confirmed"}));
    assert_eq!((s, v["status"].as_str()), (200, Some("driver_confirmed")), "{v}");
    assert_eq!(v["both_parties_accepted"], true, "{v}");
    assert_eq!(status_after(&op, id, "start_appointment", json!({})), "in_progress");
    // `arrived` is not the next step from in_progress: refused with what may come next.
    let (s, e) = patch_status(&dan, id, json!({"status": "arrived"}));
    assert_eq!(s, 409, "{e}");
    assert!(e.to_string().contains("start_journey"), "the refusal names the allowed step: {e}");
    assert_eq!(status_after(&dan, id, "start_journey", json!({})), "journey");
    for to in ["arrived", "dropped_off"] {
        let (s, v) = patch_status(&dan, id, json!({"status": to}));
        assert_eq!((s, v["status"].as_str()), (200, Some(to)), "{v}");
    }
    // Nobody sets any status they like.
    for (who, to) in [(&tess, "completed"), (&dan, "completed"), (&dora, "session_in_progress")] {
        let (s, e) = patch_status(who, id, json!({"status": to}));
        assert!(matches!(s, 403 | 404 | 409), "{to}: {s} {e}");
    }
    assert_eq!(status_after(&tess, id, "start_session", json!({})), "session_in_progress");
    assert_eq!(status_after(&tess, id, "complete", json!({})), "awaiting_payment");
    let (_, v) = op.get(&format!("/scheduling/appointments/{id}/")).ok();
    assert!(v["session_end_time"].is_string(), "{v}");
    // mark_completed with the receipt fields the original's payment dialog adds.
    let (s, v) = act(
        &op,
        id,
        "mark_completed",
        json!({"payment_method": "cash", "payment_amount": 1500, "receipt_number": "OR-0042", "notes": "paid in full"}),
    );
    assert_eq!(
        (s, v["status"].as_str(), v["payment_amount"].as_str()),
        (200, Some("completed"), Some("1500.00")),
        "{v}"
    );
    assert_eq!(
        status_after(&tess, id, "request_pickup", json!({"pickup_urgency": "urgent", "pickup_notes": "At the lobby"})),
        "pickup_requested"
    );
    // The operator's pickup assignment is a PATCH too.
    let (s, v) = patch_status(
        &op,
        id,
        json!({"status": "driver_assigned_pickup", "driver": k.driver2, "notes": "Dora picks up"}),
    );
    assert_eq!(
        (s, v["status"].as_str(), v["driver"].as_i64()),
        (200, Some("driver_assigned_pickup"), Some(k.driver2)),
        "{v}"
    );
    // The driver cannot make it: back to the operator.
    assert_eq!(status_after(&dora, id, "reject_pickup", json!({"reason": "Flat tyre"})), "pickup_requested");
    let (s, v) = patch_status(&op, id, json!({"status": "driver_assigned_pickup", "driver": k.driver}));
    assert_eq!((s, v["driver"].as_i64()), (200, Some(k.driver)), "{v}");
    assert_eq!(status_after(&dan, id, "confirm_pickup", json!({})), "return_journey");
    assert_eq!(status_after(&dan, id, "complete_return_journey", json!({})), "transport_completed");
    let (_, v) = op.get(&format!("/scheduling/appointments/{id}/")).ok();
    assert!(v["pickup_confirmed_at"].is_string() && v["return_journey_completed_at"].is_string(), "{v}");
}

#[test]
fn the_accept_and_deny_buttons_review_a_rejection() {
    let k = clinic();
    let op = Frontend::logged_in(&k.srv, "olga");
    let tess = Frontend::logged_in(&k.srv, "tess");
    let id = k.book(&op, &k.booking_form(&day(1), "09:00", "10:00", json!("")))["id"].as_i64().unwrap();
    assert_eq!(status_after(&tess, id, "reject", json!({"rejection_reason": "Too far"})), "rejected");
    assert_eq!(
        status_after(&op, id, "review_rejection", json!({"action": "deny", "reason": "Nobody else is free"})),
        "pending"
    );
    assert_eq!(status_after(&tess, id, "reject", json!({"rejection_reason": "Still too far"})), "rejected");
    let (s, e) = act(&op, id, "review_rejection", json!({"action": "maybe"}));
    assert_eq!(s, 400, "{e}");
    assert_eq!(
        status_after(&op, id, "review_rejection", json!({"action": "accept", "reason": "Rebooking"})),
        "cancelled"
    );
    // The therapist cannot review their own rejection.
    let id = k.book(&op, &k.booking_form(&day(2), "09:00", "10:00", json!("")))["id"].as_i64().unwrap();
    assert_eq!(status_after(&tess, id, "reject", json!({"rejection_reason": "No"})), "rejected");
    let (s, _) = act(&tess, id, "review_rejection", json!({"action": "deny"}));
    assert_eq!(s, 403);
    // Cancel from the operator's board.
    assert_eq!(status_after(&op, id, "cancel", json!({})), "cancelled");
}
