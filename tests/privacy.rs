//! The field rule (docs/API.md, "What each role receives"; `scheduling::privacy`),
//! through the real server: a driver never receives an appointment's or a client's notes
//! — not in REST reads, lists, searches or write answers, not in the clients endpoints,
//! not in live events, a `?since=` replay or `initial_data` — while the assigned therapist
//! and the operators do; only operators receive emails; therapists and drivers list only
//! active staff accounts, without contact details.
mod clinic;
mod common;
mod ws_support;

use clinic::*;
use serde_json::{json, Value};
use std::time::Duration;
use ws_support::*;

const WAIT: Duration = Duration::from_secs(10);
const VISIT_NOTE: &str = "Recovering from knee surgery";
const CLIENT_NOTE: &str = "Varicose veins: no deep pressure";
const NEW_CLIENT_NOTE: &str = "Pregnant, second trimester";
/// Every email in the test: the CLI gives staff `<name>@example.org`, the client has one too.
const EMAIL: &str = "example.org";

fn tomorrow() -> String {
    (chrono::Local::now().date_naive() + chrono::Duration::days(1)).format("%Y-%m-%d").to_string()
}

/// What a reader of `role` must not find in `text`, anywhere.
fn forbidden(role: &str) -> &'static [&'static str] {
    match role {
        "driver" => &[VISIT_NOTE, CLIENT_NOTE, NEW_CLIENT_NOTE, EMAIL],
        "therapist" => &[EMAIL],
        _ => &[],
    }
}

fn assert_clean(role: &str, what: &str, v: &Value) {
    let text = v.to_string();
    for f in forbidden(role) {
        assert!(!text.contains(f), "{role} received {f:?} in {what}: {text}");
    }
}

/// Reads messages until one of `kind` about appointment `id`, checking every message on the
/// way (notifications included) against what `role` must not receive.
fn next_about(ws: &mut Ws, role: &str, kind: &str, id: i64) -> Value {
    for _ in 0..50 {
        let v = ws.next_json(WAIT).unwrap_or_else(|e| panic!("{role} waiting for {kind} of {id}: {e:?}"));
        assert_clean(role, &format!("a {} message", v["type"]), &v);
        if v["type"] == kind && v["appointment"]["id"].as_i64() == Some(id) {
            return v;
        }
    }
    panic!("{role}: no {kind} for {id} in 50 messages");
}

/// A clinic whose client has an email and notes (health information).
fn clinic_with_private_client() -> (Clinic, i64) {
    let k = Clinic::new();
    let body = json!({"first_name": "Rosa", "last_name": "Cruz", "phone_number": "0917 555 0199",
        "email": "rosa@example.org", "address": "3 Luna St", "notes": CLIENT_NOTE});
    let (s, c) = k.srv.call("POST", "/api/scheduling/clients/", Some(&k.op), Some(&body));
    assert_eq!(s, 201, "{c}");
    (k, c["id"].as_i64().unwrap())
}

/// Books that client tomorrow with therapist 1 and driver 1, with notes; returns the id.
fn book(k: &Clinic, client: i64) -> i64 {
    let mut body = k.booking(&tomorrow(), "10:00", "11:00");
    body["client"] = json!(client);
    body["notes"] = json!(format!("{VISIT_NOTE}; gate code 4411"));
    let a = k.book(&body);
    assert!(a["notes"].as_str().unwrap().contains(VISIT_NOTE), "the operator's answer keeps everything: {a}");
    a["id"].as_i64().unwrap()
}

/// The three readers of an appointment: its driver, its therapist, an operator.
fn readers(k: &Clinic) -> [(&str, &'static str); 3] {
    [(&k.d1, "driver"), (&k.t1, "therapist"), (&k.op, "operator")]
}

#[test]
fn live_events_and_their_replay_give_the_driver_no_notes_and_the_therapist_and_operators_all() {
    let (k, client) = clinic_with_private_client();
    let (mut op_ws, _) = open(&k.srv, &k.op);
    let (mut t_ws, _) = open(&k.srv, &k.t1);
    let (mut d_ws, first) = open(&k.srv, &k.d1);
    let (since, epoch) = (first["seq"].as_i64().unwrap(), first["epoch"].as_str().unwrap().to_string());
    let id = book(&k, client);

    // Created (and the driver's assignment notification, checked on the way).
    let d = next_about(&mut d_ws, "driver", "appointment_created", id);
    assert!(d["appointment"].get("notes").is_none() && d["appointment"]["client_details"].get("notes").is_none());
    // What the driver's work needs is all there.
    let cd = &d["appointment"]["client_details"];
    assert_eq!((cd["first_name"].as_str(), cd["phone_number"].as_str()), (Some("Rosa"), Some("0917 555 0199")));
    assert_eq!(
        (cd["address"].as_str(), d["appointment"]["location"].as_str()),
        (Some("3 Luna St"), Some("12 Mabini St"))
    );
    assert!(d["appointment"]["therapist_details"]["phone_number"].is_string(), "{d}");
    let t = next_about(&mut t_ws, "therapist", "appointment_created", id);
    assert!(t["appointment"]["notes"].as_str().unwrap().contains(VISIT_NOTE), "{t}");
    assert_eq!(t["appointment"]["client_details"]["notes"], CLIENT_NOTE);
    let o = next_about(&mut op_ws, "operator", "appointment_created", id);
    assert_eq!(o["appointment"]["client_details"]["email"], "rosa@example.org");
    assert!(o["appointment"]["driver_details"]["email"].as_str().unwrap().ends_with(EMAIL));

    // Updated: the notes, then the client's notes (a details event).
    let patch = json!({"notes": format!("{VISIT_NOTE}; left knee")});
    let (s, v) = k.srv.call("PATCH", &format!("/api/scheduling/appointments/{id}/"), Some(&k.op), Some(&patch));
    assert_eq!(s, 200, "{v}");
    let d = next_about(&mut d_ws, "driver", "appointment_updated", id);
    assert_eq!(d["updated_fields"], json!([]), "the driver is not even told the notes changed: {d}");
    let t = next_about(&mut t_ws, "therapist", "appointment_updated", id);
    assert_eq!(t["updated_fields"], json!(["notes"]));
    assert_eq!(t["appointment"]["notes"], "Recovering from knee surgery; left knee");
    let o = next_about(&mut op_ws, "operator", "appointment_updated", id);
    assert_eq!(o["appointment"]["notes"], "Recovering from knee surgery; left knee");
    let new_notes = json!({"notes": NEW_CLIENT_NOTE});
    let (s, v) = k.srv.call("PATCH", &format!("/api/scheduling/clients/{client}/"), Some(&k.op), Some(&new_notes));
    assert_eq!(s, 200, "{v}");
    next_about(&mut d_ws, "driver", "appointment_updated", id);
    let t = next_about(&mut t_ws, "therapist", "appointment_updated", id);
    assert_eq!(t["appointment"]["client_details"]["notes"], NEW_CLIENT_NOTE);

    // A `?since=` replay of all of it.
    let mut replay = connect(&k.srv, &format!("token={}&since={since}&epoch={epoch}", k.d1), &[]).unwrap();
    let created = next_about(&mut replay, "driver", "appointment_created", id);
    assert_eq!(created["appointment"]["client_details"]["first_name"], "Rosa");
    for _ in 0..2 {
        next_about(&mut replay, "driver", "appointment_updated", id);
    }
}

#[test]
fn rest_reads_lists_searches_and_write_answers_give_the_driver_no_notes() {
    let (k, client) = clinic_with_private_client();
    let id = book(&k, client);
    // A write's answer: the driver's own workflow step.
    let (s, v) = k.act(&k.t1, id, "therapist_confirm", json!({}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["client_details"]["notes"], CLIENT_NOTE, "the therapist's answer has the notes");
    let (s, v) = k.act(&k.d1, id, "driver_confirm", json!({}));
    assert_eq!((s, v["status"].as_str()), (200, Some("driver_confirmed")), "{v}");
    assert_clean("driver", "the driver_confirm answer", &v);
    assert_eq!(v["client_details"]["address"], "3 Luna St");

    for (token, role) in readers(&k) {
        let (s, one) = k.get(token, id);
        assert_eq!(s, 200);
        assert_clean(role, "GET appointments/{id}/", &one);
        assert_eq!(one.get("notes").is_some(), role != "driver", "{role}: {one}");
        assert_eq!(one["client_details"].get("notes").is_some(), role != "driver", "{role}: {one}");
        assert_eq!(one["client_details"].get("email").is_some(), role == "operator", "{role}: {one}");
        assert_eq!(one["driver_details"].get("email").is_some(), role == "operator", "{role}: {one}");
        for path in ["/api/scheduling/appointments/", "/api/scheduling/appointments/?board=1"] {
            let (s, list) = k.srv.call("GET", path, Some(token), None);
            assert_eq!((s, list["count"].as_i64()), (200, Some(1)), "{role} {path}: {list}");
            assert_eq!(list["results"][0], one, "{role}: a list gives what a read gives");
        }
        let (_, found) = k.srv.call("GET", "/api/scheduling/appointments/?search=knee", Some(token), None);
        assert_eq!(found["count"], if role == "driver" { 0 } else { 1 }, "{role} searching the notes: {found}");
    }
}

#[test]
fn the_clients_endpoints_give_the_driver_no_notes_and_only_operators_emails() {
    let (k, client) = clinic_with_private_client();
    book(&k, client);
    for (token, role) in readers(&k) {
        let (s, c) = k.srv.call("GET", &format!("/api/scheduling/clients/{client}/"), Some(token), None);
        assert_eq!(s, 200);
        assert_clean(role, "GET clients/{id}/", &c);
        assert_eq!(c.get("notes").is_some(), role != "driver", "{role}: {c}");
        assert_eq!(c.get("email").is_some(), role == "operator", "{role}: {c}");
        assert_eq!((c["first_name"].as_str(), c["address"].as_str()), (Some("Rosa"), Some("3 Luna St")));
        assert_eq!(c["phone_number"], "0917 555 0199");
        let (_, cs) = k.srv.call("GET", "/api/scheduling/clients/", Some(token), None);
        assert_clean(role, "GET clients/", &cs);
        assert!(cs["results"].as_array().unwrap().iter().any(|c| c["id"] == json!(client)), "{role}: {cs}");
        let (_, by_email) = k.srv.call("GET", "/api/scheduling/clients/?search=rosa@", Some(token), None);
        assert_eq!(by_email["count"], if role == "operator" { 1 } else { 0 }, "{role} searching emails: {by_email}");
    }
}

#[test]
fn initial_data_gives_the_driver_no_notes_and_the_therapist_all() {
    let (k, client) = clinic_with_private_client();
    let id = book(&k, client);
    for (token, role) in readers(&k) {
        let (ws, initial) = open(&k.srv, token);
        assert_eq!(initial["type"], "initial_data");
        assert_clean(role, "initial_data", &initial);
        let mine = initial["appointments"].as_array().unwrap().iter().find(|x| x["id"] == json!(id)).cloned();
        let mine = mine.unwrap_or_else(|| panic!("{role}: not on the board: {initial}"));
        assert_eq!(mine.get("notes").is_some(), role != "driver", "{role}: {mine}");
        assert_eq!(mine["client_details"]["notes"].as_str(), (role != "driver").then_some(CLIENT_NOTE), "{role}");
        let (_, rest) = k.get(token, id);
        assert_eq!(mine, rest, "{role}: initial_data gives what REST gives");
        ws.close();
    }
}

#[test]
fn therapists_and_drivers_list_active_staff_without_contact_details() {
    let k = Clinic::new();
    k.srv.add_user("gone", "therapist");
    let gone = k.srv.login("gone");
    let gone_id = id_of(&k.srv, &gone);
    let (s, v) = k.srv.call(
        "PATCH",
        &format!("/api/scheduling/staff/{gone_id}/"),
        Some(&k.op),
        Some(&json!({"is_active": false})),
    );
    assert_eq!(s, 200, "{v}");

    let list = |token: &str| -> Vec<Value> {
        let (s, v) = k.srv.call("GET", "/api/scheduling/staff/?page_size=200", Some(token), None);
        assert_eq!(s, 200, "{v}");
        v["results"].as_array().unwrap().clone()
    };
    let all = list(&k.op);
    assert_eq!(all.len(), 5, "operators see every account: {all:?}");
    assert!(all.iter().any(|u| u["id"] == json!(gone_id) && u["is_active"] == false));
    assert!(all
        .iter()
        .all(|u| u["email"].as_str().is_some_and(|e| e.ends_with(EMAIL)) && u.get("phone_number").is_some()));
    let (s, g) = k.srv.call("GET", &format!("/api/scheduling/staff/{gone_id}/"), Some(&k.op), None);
    assert_eq!((s, g["email"].as_str()), (200, Some("gone@example.org")));

    for (token, me) in [(&k.t1, k.t1_id), (&k.d1, k.d1_id)] {
        let seen = list(token);
        let ids: Vec<i64> = seen.iter().map(|u| u["id"].as_i64().unwrap()).collect();
        assert_eq!(ids.len(), 4, "the four active accounts: {seen:?}");
        assert!(!ids.contains(&gone_id), "an inactive account listed: {seen:?}");
        for u in seen.iter().filter(|u| u["id"] != json!(me)) {
            assert!(u.get("email").is_none() && u.get("phone_number").is_none(), "contact details listed: {u}");
            assert!(u["role"].is_string() && u["first_name"].is_string() && u["id"].is_i64(), "{u}");
        }
        let (_, inactive) = k.srv.call("GET", "/api/scheduling/staff/?is_active=false", Some(token), None);
        assert_eq!(inactive["count"], 0, "{inactive}");
        let (s, _) = k.srv.call("GET", &format!("/api/scheduling/staff/{gone_id}/"), Some(token), None);
        assert_eq!(s, 404, "an inactive account is not there for staff");
        let (s, other) = k.srv.call("GET", &format!("/api/scheduling/staff/{}/", k.t2_id), Some(token), None);
        assert_eq!(s, 200);
        assert!(other.get("email").is_none(), "{other}");
        let (s, own) = k.srv.call("GET", &format!("/api/scheduling/staff/{me}/"), Some(token), None);
        assert_eq!(s, 200);
        assert!(own["email"].as_str().is_some_and(|e| e.ends_with(EMAIL)), "your own account in full: {own}");
    }
}
