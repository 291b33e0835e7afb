//! The clinic's original React frontend against this server, socket side: its
//! `?token=` socket from its own origin, its heartbeat, the members its `onmessage`
//! handlers read, and its reconnect rule (a refused handshake is retried at most 5
//! times; a 101 resets the count). Written from shared/ROYAL-CARE-COMPAT.md (issue 10).
mod common;
mod compat_support;

use common::*;
use compat_support::*;
use serde_json::{json, Value};
use std::time::Duration;

fn today() -> String {
    chrono::Local::now().format("%Y-%m-%d").to_string()
}

/// Staff and one client and service, set up through the original's screens.
fn setup(srv: &Server) -> (Frontend<'_>, i64, i64, i64, i64) {
    for (u, role) in [("olga", "operator"), ("tess", "therapist"), ("dan", "driver")] {
        srv.add_user(u, role);
    }
    let op = Frontend::logged_in(srv, "olga");
    let id_of = |u: &str| Frontend::logged_in(srv, u).get("/auth/profile/").ok().1["id"].as_i64().unwrap();
    let (therapist, driver) = (id_of("tess"), id_of("dan"));
    let (_, c) = op.post("/scheduling/clients/", &json!({"first_name": "Maria", "last_name": "Santos"})).ok();
    let (_, s) = op.post("/scheduling/services/", &json!({"name": "Swedish", "duration": 60, "price": 1500})).ok();
    (op, therapist, driver, c["id"].as_i64().unwrap(), s["id"].as_i64().unwrap())
}

/// The members the original's handlers read from an event's appointment.
fn assert_readable(kind: &str, appt: &Value, id: i64, therapist: i64, driver: Value) {
    assert_eq!(appt["id"], id, "{kind}: {appt}");
    assert_eq!(appt["date"], today(), "{kind}: {appt}");
    assert_eq!(appt["therapist"], therapist, "{kind}: {appt}");
    assert!(appt["therapists"].is_array(), "{kind}: {appt}");
    assert_eq!(appt["driver"], driver, "{kind}: {appt}");
}

#[test]
fn the_originals_socket_opens_with_its_token_and_gets_every_change_it_reads() {
    let srv = server();
    let (op, therapist, driver, client, service) = setup(&srv);
    let tess = Frontend::logged_in(&srv, "tess");
    let mut op_ws = op.open_socket().expect("the operator's socket opens");
    let mut tess_ws = tess.open_socket().expect("the therapist's socket opens");
    for ws in [&mut op_ws, &mut tess_ws] {
        let first = ws.next_of("initial_data");
        assert!(first["appointments"].is_array(), "{first}");
        // The original's heartbeat every 30 s expects this answer.
        ws.send(&json!({"type": "heartbeat"}));
        assert_eq!(ws.next_of("heartbeat_response")["type"], "heartbeat_response");
    }

    let body = json!({"client": client, "services": [service], "therapist": therapist, "driver": "",
        "date": today(), "start_time": "15:00", "end_time": "16:00", "location": "Makati", "notes": ""});
    let (s, a) = op.post("/scheduling/appointments/", &body).ok();
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_i64().unwrap();
    for ws in [&mut op_ws, &mut tess_ws] {
        let ev = ws.next_of("appointment_created");
        assert_readable("appointment_created", &ev["appointment"], id, therapist, Value::Null);
    }

    let (s, a) = op.patch(&format!("/scheduling/appointments/{id}/"), &json!({"driver": driver})).ok();
    assert_eq!(s, 200, "{a}");
    for ws in [&mut op_ws, &mut tess_ws] {
        let ev = ws.next_of("appointment_updated");
        assert_readable("appointment_updated", &ev["appointment"], id, therapist, json!(driver));
    }

    let (s, _) = op.delete(&format!("/scheduling/appointments/{id}/")).ok();
    assert_eq!(s, 204);
    for ws in [&mut op_ws, &mut tess_ws] {
        let ev = ws.next_of("appointment_deleted");
        // The original reads `data.appointment.id` (and throws without it).
        assert_readable("appointment_deleted", &ev["appointment"], id, therapist, json!(driver));
        assert_eq!(ev["appointment_id"], id);
    }
}

#[test]
fn a_bad_or_revoked_token_is_refused_before_the_upgrade_so_the_original_stops_retrying() {
    let srv = server();
    let (_op, ..) = setup(&srv);
    // Nonsense, a well-formed unknown token and no token: each try gets 403, so the
    // original's 5 retries end (101 + close would reset its count on every onopen).
    for token in ["nonsense", &"a".repeat(64), ""] {
        for attempt in 0..MAX_RECONNECTS {
            assert_eq!(open_socket(&srv, token, ORIGIN).err(), Some(403), "{token:?}, try {attempt}");
        }
    }

    // Logged in: the socket opens; the original's logout (Bearer) closes it, and its
    // reconnects with the revoked token are refused before the upgrade.
    let mut tess = Frontend::logged_in(&srv, "tess");
    let token = tess.token.clone().unwrap();
    let mut ws = tess.open_socket().expect("opens with a live token");
    ws.next_of("initial_data");
    let (s, _) = tess.logout().ok();
    assert_eq!(s, 204);
    let ended = loop {
        match ws.next(Duration::from_secs(5)) {
            Some(Ok(_)) => {}
            other => break other,
        }
    };
    assert_eq!(ended, Some(Err(4001)), "logout closes the open socket at once");
    for attempt in 0..MAX_RECONNECTS {
        assert_eq!(open_socket(&srv, &token, ORIGIN).err(), Some(403), "reconnect {attempt} with a revoked token");
    }
    // Another web origin may not open the socket at all, even with a live token.
    let dan = Frontend::logged_in(&srv, "dan");
    assert_eq!(open_socket(&srv, dan.token.as_deref().unwrap(), "http://evil.example").err(), Some(403));
    assert!(!srv.log().contains(&token), "a token reached the log");
}

#[test]
fn a_therapist_removed_from_a_booking_gets_a_deleted_event_the_original_can_read() {
    let srv = server();
    let (op, therapist, _driver, client, service) = setup(&srv);
    srv.add_user("tina", "therapist");
    let tina = Frontend::logged_in(&srv, "tina");
    let tina_id = tina.get("/auth/profile/").ok().1["id"].as_i64().unwrap();
    let body = json!({"client": client, "services": [service], "therapist": therapist, "driver": "",
        "date": today(), "start_time": "17:00", "end_time": "18:00", "location": "Makati"});
    let (_, a) = op.post("/scheduling/appointments/", &body).ok();
    let id = a["id"].as_i64().unwrap();
    let mut tess_ws = Frontend::logged_in(&srv, "tess").open_socket().unwrap();
    let first = tess_ws.next_of("initial_data");
    assert!(first["appointments"].as_array().unwrap().iter().any(|a| a["id"] == id), "{first}");
    let (s, v) = op.patch(&format!("/scheduling/appointments/{id}/"), &json!({"therapist": tina_id})).ok();
    assert_eq!(s, 200, "{v}");
    let ev = tess_ws.next_of("appointment_deleted");
    assert_eq!(ev["appointment"]["id"], id, "{ev}");
    assert_eq!(ev["appointment_id"], id, "{ev}");
}
