//! Appointments through the real HTTP API (SPEC §4): booking, the one JSON shape,
//! visibility, validation, double booking, versions, pagination and the event rows.
mod clinic;
mod common;
use clinic::*;
use serde_json::json;

#[test]
fn operator_books_and_assigned_staff_see_it_in_the_one_shape() {
    let k = Clinic::new();
    let a = k.book(&k.booking("2030-01-15", "10:00", "11:00"));
    let id = a["id"].as_i64().unwrap();
    assert_eq!(a["status"], "pending");
    assert_eq!(a["start_time"], "10:00:00");
    assert_eq!(a["end_time"], "11:00:00");
    assert_eq!(a["version"], 1);
    assert_eq!(a["total_price"], "1500.00");
    assert_eq!(a["total_duration"], 60);
    assert_eq!(a["client_details"]["first_name"], "Maria");
    assert_eq!(a["therapist_details"]["username"], "tess");
    assert_eq!(a["driver_details"]["username"], "dan");
    assert_eq!(a["services_details"][0]["price"], "1500.00");
    assert_eq!(a["allowed_actions"], json!(["cancel"]));
    assert_eq!(a["allowed_actions_by_role"]["therapist"], json!(["therapist_confirm", "reject"]));
    assert!(a.get("therapist_confirmed_at").is_some());

    // The assigned therapist and driver see it, with their own allowed actions.
    let (s, seen) = k.get(&k.t1, id);
    assert_eq!(s, 200);
    assert_eq!(seen["allowed_actions"], json!(["therapist_confirm", "reject"]));
    let (s, seen) = k.get(&k.d1, id);
    assert_eq!((s, seen["allowed_actions"].clone()), (200, json!(["reject"])));
    // The other therapist does not: 404, not 403, and not in their list.
    let (s, _) = k.get(&k.t2, id);
    assert_eq!(s, 404);
    let (_, list) = k.srv.call("GET", "/api/scheduling/appointments/", Some(&k.t2), None);
    assert_eq!(list["count"], 0);
    let (_, list) = k.srv.call("GET", "/api/scheduling/appointments/", Some(&k.t1), None);
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["id"], id);

    // Therapists and drivers may not book, edit or delete.
    let (s, _) = k.srv.call(
        "POST",
        "/api/scheduling/appointments/",
        Some(&k.t1),
        Some(&k.booking("2030-01-16", "10:00", "11:00")),
    );
    assert_eq!(s, 403);
    let (s, _) =
        k.srv.call("PATCH", &format!("/api/scheduling/appointments/{id}/"), Some(&k.t1), Some(&json!({"notes": "x"})));
    assert_eq!(s, 403);
    let (s, _) =
        k.srv.call("PATCH", &format!("/api/scheduling/appointments/{id}/"), Some(&k.t2), Some(&json!({"notes": "x"})));
    assert_eq!(s, 404);
}

#[test]
fn every_change_writes_an_event_row_with_its_audience() {
    let k = Clinic::new();
    let before = k.last_seq();
    let a = k.book(&k.booking("2030-01-15", "10:00", "11:00"));
    let id = a["id"].as_i64().unwrap();
    let ev = k.events_after(before);
    assert_eq!(ev[0].1, "appointment_created");
    assert_eq!(ev[0].2, Some(id));
    assert!(ev[0].3, "operators see it");
    assert_eq!(ev[0].4, format!(",{},{},", k.t1_id, k.d1_id));
    assert_eq!(ev[0].5["appointment"]["id"], id);
    assert_eq!(ev[0].5["appointment"]["client_details"]["first_name"], "Maria");
    assert!(ev[0].5["appointment"]["allowed_actions_by_role"].is_object());
    assert!(ev[0].5["created_by"].is_i64());
    assert_eq!(ev[1].1, "notification");
    assert!(!ev[1].3);
    assert_eq!(ev[1].5["notification_type"], "appointment_assigned");

    // Swapping the therapist: the new one is told, the old one sees it leave.
    let s0 = k.last_seq();
    let (s, b) = k.srv.call(
        "PATCH",
        &format!("/api/scheduling/appointments/{id}/"),
        Some(&k.op),
        Some(&json!({"therapist": k.t2_id, "version": 1})),
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["version"], 2);
    let ev = k.events_after(s0);
    let kinds: Vec<&str> = ev.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(kinds, ["appointment_updated", "appointment_deleted", "notification"]);
    assert_eq!(ev[0].4, format!(",{},{},", k.t2_id, k.d1_id));
    assert!(ev[0].5["updated_fields"].as_array().unwrap().contains(&json!("therapist")));
    assert_eq!((ev[1].3, ev[1].4.as_str()), (false, format!(",{},", k.t1_id).as_str()));
    assert_eq!(ev[1].5["appointment_id"], id);
    assert_eq!(ev[2].4, format!(",{},", k.t2_id));
    let (s, _) = k.get(&k.t1, id);
    assert_eq!(s, 404, "the old therapist no longer sees it");

    // Delete.
    let s0 = k.last_seq();
    let (s, _) = k.srv.call("DELETE", &format!("/api/scheduling/appointments/{id}/"), Some(&k.op), None);
    assert_eq!(s, 204);
    let ev = k.events_after(s0);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].1, "appointment_deleted");
    assert_eq!(ev[0].5["appointment_id"], id);
    assert!(ev[0].5["deleted_by"].is_i64());
    assert!(ev.iter().all(|e| e.0 > s0), "seq increases");
    let (s, _) = k.get(&k.op, id);
    assert_eq!(s, 404);
}
