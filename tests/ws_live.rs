//! Live updates from real scheduling API calls (SPEC §5): `initial_data` by role, the
//! change messages in SPEC's shapes reaching exactly the users who may see them (a
//! therapist taken off gets `appointment_deleted`), and an exact resume while REST
//! writes go on, with the client away and while it reconnects.
mod clinic;
mod common;
mod ws_support;

use clinic::*;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use ws_support::*;

const SEC: Duration = Duration::from_secs(1);

/// Reads until a message of `kind` about appointment `id`; returns it, and everything
/// read before it.
fn until(ws: &mut Ws, kind: &str, id: i64) -> (Value, Vec<Value>) {
    let mut before = Vec::new();
    loop {
        let v = ws.next_json(10 * SEC).unwrap_or_else(|e| panic!("waiting for {kind} of {id}: {e:?}; got {before:?}"));
        let about =
            v["appointment"]["id"].as_i64().or(v["appointment_id"].as_i64()).or(v["data"]["appointment_id"].as_i64());
        if v["type"] == kind && about == Some(id) {
            return (v, before);
        }
        before.push(v);
    }
}

fn ids(initial: &Value) -> Vec<i64> {
    initial["appointments"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect()
}

#[test]
fn api_changes_reach_exactly_the_users_who_may_see_them() {
    let k = Clinic::new();
    let (mut op, _) = open(&k.srv, &k.op);
    let (mut t1, _) = open(&k.srv, &k.t1);
    let (mut t2, _) = open(&k.srv, &k.t2);
    let (mut d1, _) = open(&k.srv, &k.d1);

    let a = k.book(&k.booking(&today(), "10:00", "11:00"));
    let id = a["id"].as_i64().unwrap();
    let mut last_before = Vec::new();
    for ws in [&mut op, &mut t1, &mut d1] {
        let (v, before) = until(ws, "appointment_created", id);
        last_before = before;
        assert!(v["seq"].as_i64().unwrap() > 0 && v["timestamp"].is_string());
        assert!(v["created_by"].is_i64() || v["created_by"].is_object(), "{v}");
        // The one appointment shape, with what each role may do now.
        assert_eq!(v["appointment"]["status"], "pending");
        assert_eq!(v["appointment"]["allowed_actions_by_role"]["therapist"], json!(["therapist_confirm", "reject"]));
        assert_eq!(v["appointment"]["client_details"]["first_name"], "Maria");
    }
    // The new assignee also gets a notification (d1's list is the last one read).
    let n = match last_before.into_iter().find(|m| m["type"] == "notification") {
        Some(n) => n,
        None => until(&mut d1, "notification", id).0,
    };
    assert_eq!(n["data"]["appointment_id"], id);
    assert!(n["notification_type"].is_string() && n["title"].is_string() && n["message"].is_string());

    // Move it from therapist 1 to therapist 2.
    let path = format!("/api/scheduling/appointments/{id}/");
    let (s, moved) = k.srv.call("PATCH", &path, Some(&k.op), Some(&json!({"therapist": k.t2_id})));
    assert_eq!(s, 200, "{moved}");
    let (v, _) = until(&mut op, "appointment_updated", id);
    assert!(v["updated_fields"].as_array().unwrap().contains(&json!("therapist")), "{v}");
    assert_eq!(v["appointment"]["therapist"], k.t2_id);
    let (gone, _) = until(&mut t1, "appointment_deleted", id);
    assert!(gone["seq"].is_i64() && gone.get("deleted_by").is_some(), "{gone}");
    // What the original frontend reads (`data.appointment.id`), as tess last saw it: who
    // holds it now is no longer her business.
    assert_eq!(
        gone["appointment"],
        json!({"id": id, "date": today(), "therapist": k.t1_id, "therapists": [], "driver": k.d1_id}),
        "{gone}"
    );
    let (v, before) = until(&mut t2, "appointment_updated", id);
    // The version at which it left t1's view, so a later re-assignment can bring it back.
    assert_eq!(gone["version"], v["appointment"]["version"], "{gone}");
    assert!(before.iter().all(|m| m["appointment"]["id"] != id || m["type"] == "notification"), "{before:?}");
    assert_eq!(v["appointment"]["therapist"], k.t2_id);
    until(&mut d1, "appointment_updated", id);

    // initial_data by role: the operator and the assigned staff see it; tess no longer.
    let marker = k.book(&json!({"client": k.client, "services": [k.service], "therapist": k.t1_id,
        "date": today(), "start_time": "15:00", "end_time": "16:00", "location": "x"}));
    let marker = marker["id"].as_i64().unwrap();
    // Tess saw nothing about `id` after it left her view, only her own new booking.
    let (_, before) = until(&mut t1, "appointment_created", marker);
    assert!(before.iter().all(|m| m["appointment"]["id"] != id && m["appointment_id"] != id), "{before:?}");
    let initial = |t: &str| open(&k.srv, t).1;
    assert!(ids(&initial(&k.op)).contains(&id));
    assert!(ids(&initial(&k.t2)).contains(&id));
    assert!(ids(&initial(&k.d1)).contains(&id));
    let tess = ids(&initial(&k.t1));
    assert!(!tess.contains(&id) && tess.contains(&marker), "{tess:?}");

    // Deleting it: everyone who saw it gets appointment_deleted, with the appointment's
    // id, date and staff (the same for every role: nothing in it is withheld).
    let (_, fresh) = open(&k.srv, &k.t2);
    let (epoch, since) = (fresh["epoch"].as_str().unwrap().to_string(), fresh["seq"].as_i64().unwrap());
    assert_eq!(k.srv.call("DELETE", &path, Some(&k.op), None).0, 204);
    let stub = json!({"id": id, "date": today(), "therapist": k.t2_id, "therapists": [], "driver": k.d1_id});
    for ws in [&mut op, &mut t2, &mut d1] {
        let (v, _) = until(ws, "appointment_deleted", id);
        assert_eq!(v["appointment_id"], id);
        assert_eq!(v["appointment"], stub, "{v}");
    }
    // A resume replays it from the log in the same shape.
    let mut again = connect(&k.srv, &format!("token={}&since={since}&epoch={epoch}", k.t2), &[]).unwrap();
    let (v, _) = until(&mut again, "appointment_deleted", id);
    assert_eq!(v["appointment"], stub, "{v}");
}

#[test]
fn resume_is_exact_while_api_writes_go_on() {
    let k = Arc::new(Clinic::new());
    // One appointment tess sees, one she does not; both edited over and over.
    let mine = k.book(&k.booking(&today(), "09:00", "10:00"))["id"].as_i64().unwrap();
    let mut other = k.booking(&today(), "09:00", "10:00");
    other["therapist"] = json!(k.t2_id);
    other["driver"] = json!(null);
    let other = k.book(&other)["id"].as_i64().unwrap();
    let (mut ws, first) = open(&k.srv, &k.t1);
    let epoch = first["epoch"].as_str().unwrap().to_string();
    let start = first["seq"].as_i64().unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (k, stop) = (k.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let id = if i % 2 == 0 { mine } else { other };
                let path = format!("/api/scheduling/appointments/{id}/");
                let (s, v) = k.srv.call("PATCH", &path, Some(&k.op), Some(&json!({"notes": format!("note {i}")})));
                assert_eq!(s, 200, "{v}");
                i += 1;
            }
            i
        })
    };
    let mut seen = Vec::new();
    let mut last = start;
    for round in 0..6 {
        for _ in 0..4 {
            let v = ws.next_json(10 * SEC).unwrap();
            assert_ne!(v["type"], "initial_data", "{v}");
            assert_eq!(v["appointment"]["id"], mine, "tess got someone else's event: {v}");
            last = v["seq"].as_i64().unwrap();
            seen.push(last);
        }
        drop(ws);
        std::thread::sleep(Duration::from_millis(30 + 20 * round));
        ws = connect(&k.srv, &format!("token={}&since={last}&epoch={epoch}", k.t1), &[]).unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    let writes = writer.join().unwrap();
    // Everything tess may see, up to the last write.
    let expected: Vec<i64> = k
        .events_after(start)
        .into_iter()
        .filter(|e| e.2 == Some(mine) && e.1 == "appointment_updated")
        .map(|e| e.0)
        .collect();
    let end = *expected.last().unwrap();
    while last < end {
        let v = ws.next_json(10 * SEC).unwrap();
        last = v["seq"].as_i64().unwrap();
        seen.push(last);
    }
    assert_eq!(seen, expected, "gap, duplicate or disorder");
    assert!(writes > 40, "only {writes} writes");
}
