//! Live updates when what an appointment shows changes (docs/API.md, "Details shown on
//! appointments"): an operator's edit of a client, service or staff member reaches the
//! sockets of everyone who may see the appointments showing it, as `appointment_updated`
//! naming the `*_details` member, without touching the appointment's `version`; a refused
//! edit and appointments no longer on any board get nothing.
mod clinic;
mod common;
mod ws_support;

use clinic::*;
use serde_json::{json, Value};
use std::time::Duration;
use ws_support::*;

const SEC: Duration = Duration::from_secs(1);

/// Reads until a message of `kind` about appointment `id`; returns it and what came before.
fn until(ws: &mut Ws, kind: &str, id: i64) -> (Value, Vec<Value>) {
    let mut before = Vec::new();
    loop {
        let v = ws.next_json(10 * SEC).unwrap_or_else(|e| panic!("waiting for {kind} of {id}: {e:?}; got {before:?}"));
        let about = v["appointment"]["id"].as_i64().or(v["appointment_id"].as_i64());
        if v["type"] == kind && about == Some(id) {
            return (v, before);
        }
        before.push(v);
    }
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

fn days_from_today(n: i64) -> String {
    (chrono::Local::now().date_naive() + chrono::Duration::days(n)).format("%Y-%m-%d").to_string()
}

#[test]
fn a_client_edit_reaches_the_assigned_driver_with_the_new_address() {
    let k = Clinic::new();
    let a = k.book(&k.booking(&today(), "10:00", "11:00"));
    let (mut d1, _) = open(&k.srv, &k.d1);

    let path = format!("/api/scheduling/clients/{}/", k.client);
    let body = json!({"address": "7 Rizal Ave, Makati", "phone_number": "0918 555 0101"});
    let (s, c) = k.srv.call("PATCH", &path, Some(&k.op), Some(&body));
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["address"], "7 Rizal Ave, Makati");

    let (v, _) = until(&mut d1, "appointment_updated", id(&a));
    assert_eq!(v["updated_fields"], json!(["client_details"]));
    assert_eq!(v["appointment"]["client_details"]["address"], "7 Rizal Ave, Makati");
    assert_eq!(v["appointment"]["client_details"]["phone_number"], "0918 555 0101");
    // The one appointment shape, and the appointment itself did not change.
    assert_eq!(v["appointment"]["allowed_actions_by_role"]["driver"], json!(["reject"]));
    assert_eq!(v["appointment"]["version"], a["version"]);
    assert_eq!(v["appointment"]["updated_at"], a["updated_at"]);
    let (_, now) = k.get(&k.op, id(&a));
    assert_eq!(now["version"], a["version"]);
    assert_eq!(now["client_details"]["address"], "7 Rizal Ave, Makati");
}

#[test]
fn a_service_rename_reaches_the_assigned_therapist() {
    let k = Clinic::new();
    let a = k.book(&k.booking(&days_from_today(2), "10:00", "11:00"));
    let (mut t1, _) = open(&k.srv, &k.t1);

    let path = format!("/api/scheduling/services/{}/", k.service);
    let (s, svc) = k.srv.call("PATCH", &path, Some(&k.op), Some(&json!({"name": "Swedish (90 min)", "price": 1800})));
    assert_eq!(s, 200, "{svc}");

    let (v, _) = until(&mut t1, "appointment_updated", id(&a));
    let mut fields: Vec<&str> = v["updated_fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["services_details", "total_price"]);
    assert_eq!(v["appointment"]["services_details"][0]["name"], "Swedish (90 min)");
    assert_eq!(v["appointment"]["total_price"], "1800.00");
    assert_eq!(v["appointment"]["version"], a["version"]);
}

#[test]
fn a_staff_name_change_reaches_the_operators_socket() {
    let k = Clinic::new();
    let a = k.book(&k.booking(&today(), "10:00", "11:00"));
    let (mut op, _) = open(&k.srv, &k.op);

    let path = format!("/api/scheduling/staff/{}/", k.d1_id);
    let (s, u) =
        k.srv.call("PATCH", &path, Some(&k.op), Some(&json!({"first_name": "Danilo", "phone_number": "0919"})));
    assert_eq!(s, 200, "{u}");

    let (v, _) = until(&mut op, "appointment_updated", id(&a));
    assert_eq!(v["updated_fields"], json!(["driver_details"]));
    assert_eq!(v["appointment"]["driver_details"]["first_name"], "Danilo");
    assert_eq!(v["appointment"]["driver_details"]["phone_number"], "0919");

    // Deactivating the driver from the command line (another process) reaches it too.
    let (ok, out, err) = k.srv.cli(&["user", "deactivate", "dan"], "");
    assert!(ok, "{out} {err}");
    let (v, _) = until(&mut op, "appointment_updated", id(&a));
    assert_eq!(v["updated_fields"], json!(["driver_details"]));
    assert_eq!(v["appointment"]["driver_details"]["is_active"], false);
}

#[test]
fn a_therapists_own_profile_edit_reaches_the_operators_socket() {
    // PUT /api/auth/profile/ (the clinic's original frontend): the user's own name, email
    // and phone, with the same event as an operator's edit of the account.
    let k = Clinic::new();
    let a = k.book(&k.booking(&today(), "10:00", "11:00"));
    let (mut op, _) = open(&k.srv, &k.op);

    let body =
        json!({"first_name": "Teresa", "last_name": "Cruz", "email": "teresa@example.org", "phone_number": "0917 1"});
    let (s, me) = k.srv.call("PUT", "/api/auth/profile/", Some(&k.t1), Some(&body));
    assert_eq!(s, 200, "{me}");
    assert_eq!((me["first_name"].as_str(), me["email"].as_str()), (Some("Teresa"), Some("teresa@example.org")));
    let (v, _) = until(&mut op, "appointment_updated", id(&a));
    assert_eq!(v["updated_fields"], json!(["therapist_details"]));
    assert_eq!(v["appointment"]["therapist_details"]["last_name"], "Cruz");
    assert_eq!(v["appointment"]["therapist_details"]["phone_number"], "0917 1");

    // PATCH keeps what it does not name; the object read back may be sent as it is.
    let (s, me) = k.srv.call("PATCH", "/api/auth/profile/", Some(&k.t1), Some(&json!({"phone_number": "0917 2"})));
    assert_eq!((s, me["first_name"].as_str(), me["phone_number"].as_str()), (200, Some("Teresa"), Some("0917 2")));
    let (s, again) = k.srv.call("PUT", "/api/auth/profile/", Some(&k.t1), Some(&me));
    assert_eq!((s, &again), (200, &me));

    // What only an operator may change: 400 naming the field, and nothing changes.
    for (field, value) in [
        ("role", json!("operator")),
        ("username", json!("boss")),
        ("is_active", json!(false)),
        ("massage_pressure", json!("hard")),
        ("email", json!("not-an-address")),
    ] {
        let body = json!({"first_name": "Changed", field: value});
        let (s, e) = k.srv.call("PATCH", "/api/auth/profile/", Some(&k.t1), Some(&body));
        assert_eq!(s, 400, "{field}: {e}");
        assert!(e["fields"][field].is_array(), "{field}: {e}");
    }
    let (_, me) = k.srv.call("GET", "/api/auth/profile/", Some(&k.t1), None);
    assert_eq!((me["first_name"].as_str(), me["role"].as_str()), (Some("Teresa"), Some("therapist")));
}

#[test]
fn a_client_edit_sends_nothing_to_a_therapist_who_cannot_see_that_clients_appointments() {
    let k = Clinic::new();
    let maria = k.book(&k.booking(&today(), "10:00", "11:00"));
    let (s, other) = k.srv.call(
        "POST",
        "/api/scheduling/clients/",
        Some(&k.op),
        Some(&json!({"first_name": "Jose", "address": "3 Luna St"})),
    );
    assert_eq!(s, 201, "{other}");
    let jose = k.book(&json!({"client": id(&other), "therapist": k.t2_id, "date": today(),
                              "start_time": "14:00", "end_time": "15:00"}));
    let (mut t2, first) = open(&k.srv, &k.t2);
    assert_eq!(first["appointments"].as_array().unwrap().iter().map(id).collect::<Vec<_>>(), vec![id(&jose)]);

    let maria_path = format!("/api/scheduling/clients/{}/", k.client);
    let (s, _) = k.srv.call("PATCH", &maria_path, Some(&k.op), Some(&json!({"address": "9 Secret Rd"})));
    assert_eq!(s, 200);
    // Then an edit toni may see: events arrive in seq order, so anything about
    // Maria's appointment would have come before this one.
    let jose_path = format!("/api/scheduling/clients/{}/", id(&other));
    let (s, _) = k.srv.call("PATCH", &jose_path, Some(&k.op), Some(&json!({"address": "4 Luna St"})));
    assert_eq!(s, 200);
    let (v, before) = until(&mut t2, "appointment_updated", id(&jose));
    assert_eq!(v["appointment"]["client_details"]["address"], "4 Luna St");
    assert!(before.is_empty(), "toni got messages about others' appointments: {before:?}");
    let raw = serde_json::to_string(&before).unwrap() + &v.to_string();
    assert!(!raw.contains("9 Secret Rd"), "{raw}");
    let _ = maria;
}

#[test]
fn a_refused_client_edit_emits_nothing_and_changes_nothing() {
    let k = Clinic::new();
    k.book(&k.booking(&today(), "10:00", "11:00"));
    let seq = k.last_seq();
    let path = format!("/api/scheduling/clients/{}/", k.client);

    let (s, e) =
        k.srv.call("PATCH", &path, Some(&k.op), Some(&json!({"address": "1 New St", "email": "not an address"})));
    assert_eq!(s, 400, "{e}");
    assert!(e["fields"]["email"].is_array(), "{e}");
    let (s, e) = k.srv.call("PATCH", &path, Some(&k.t1), Some(&json!({"address": "1 New St"})));
    assert_eq!(s, 403, "{e}");

    assert_eq!(k.events_after(seq), vec![], "a refused edit wrote events");
    let (_, c) = k.srv.call("GET", &path, Some(&k.op), None);
    assert_eq!(c["address"], "12 Mabini St");
}

#[test]
fn only_appointments_still_on_a_board_get_events() {
    let k = Clinic::new();
    let live = k.book(&k.booking(&days_from_today(1), "10:00", "11:00"));
    // Yesterday's, cancelled: on nobody's board any more.
    let done = k.book(&k.booking(&days_from_today(-1), "10:00", "11:00"));
    let (s, _) = k.act(&k.op, id(&done), "cancel", json!({"reason": "client away"}));
    assert_eq!(s, 200);
    // Yesterday's and still pending: on the therapist's and driver's boards.
    let stale = k.book(&k.booking(&days_from_today(-1), "12:00", "13:00"));
    let seq = k.last_seq();

    let path = format!("/api/scheduling/clients/{}/", k.client);
    let (s, _) = k.srv.call("PATCH", &path, Some(&k.op), Some(&json!({"last_name": "Lopez-Cruz"})));
    assert_eq!(s, 200);
    let evs = k.events_after(seq);
    let about: Vec<(String, Option<i64>)> = evs.iter().map(|e| (e.1.clone(), e.2)).collect();
    let upd = "appointment_updated".to_string();
    assert_eq!(about, vec![(upd.clone(), Some(id(&stale))), (upd, Some(id(&live)))]);
    // The usual audience: operators plus the assigned therapist and driver.
    for e in &evs {
        assert!(e.3, "operators see it");
        assert_eq!(e.4, format!(",{},{},", k.t1_id, k.d1_id));
        assert_eq!(e.5["appointment"]["client_details"]["last_name"], "Lopez-Cruz");
    }

    // Saving the same values again changes nothing anyone sees: no events.
    let seq = k.last_seq();
    let path = format!("/api/scheduling/services/{}/", k.service);
    let (s, _) = k.srv.call("PATCH", &path, Some(&k.op), Some(&json!({"name": "Swedish"})));
    assert_eq!(s, 200);
    assert_eq!(k.events_after(seq), vec![]);
}
