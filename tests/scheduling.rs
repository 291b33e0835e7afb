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
    assert_eq!(kinds, ["appointment_updated", "appointment_deleted", "notification", "notification"]);
    assert_eq!(ev[0].4, format!(",{},{},", k.t2_id, k.d1_id));
    assert!(ev[0].5["updated_fields"].as_array().unwrap().contains(&json!("therapist")));
    assert_eq!((ev[1].3, ev[1].4.as_str()), (false, format!(",{},", k.t1_id).as_str()));
    assert_eq!(ev[1].5["appointment_id"], id);
    assert_eq!(ev[1].5["appointment"]["id"], id, "the original frontend reads data.appointment.id");
    assert_eq!(ev[1].5["appointment"]["therapist"], k.t1_id, "as the removed therapist last saw it");
    assert_eq!(
        (ev[2].4.as_str(), ev[2].5["notification_type"].as_str()),
        (format!(",{},", k.t1_id).as_str(), Some("appointment_unassigned"))
    );
    assert_eq!(
        (ev[3].4.as_str(), ev[3].5["notification_type"].as_str()),
        (format!(",{},", k.t2_id).as_str(), Some("appointment_assigned"))
    );
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
    assert_eq!(
        ev[0].5["appointment"],
        json!({"id": id, "date": "2030-01-15", "therapist": k.t2_id, "therapists": [], "driver": k.d1_id})
    );
    assert!(ev[0].5["deleted_by"].is_i64());
    assert!(ev.iter().all(|e| e.0 > s0), "seq increases");
    let (s, _) = k.get(&k.op, id);
    assert_eq!(s, 404);
}

#[test]
fn bad_input_names_fields_and_writes_nothing() {
    let k = Clinic::new();
    let seq = k.last_seq();
    let mut body = k.booking("2030-02-30", "25:00", "10:00");
    body["client"] = json!(999);
    body["services"] = json!([k.service, 777]);
    body["driver"] = json!(k.t2_id); // a therapist is not a driver
    let (s, e) = k.srv.call("POST", "/api/scheduling/appointments/", Some(&k.op), Some(&body));
    assert_eq!((s, e["code"].as_str()), (400, Some("invalid")), "{e}");
    for f in ["date", "start_time", "client", "services", "driver"] {
        assert!(e["fields"][f].is_array(), "no error for {f}: {e}");
    }
    // End before start.
    let (s, e) = k.srv.call(
        "POST",
        "/api/scheduling/appointments/",
        Some(&k.op),
        Some(&k.booking("2030-02-01", "11:00", "10:30")),
    );
    assert_eq!(s, 400);
    assert_eq!(e["fields"]["end_time"][0], "Must be after start_time.");
    // Missing fields.
    let (s, e) = k.srv.call("POST", "/api/scheduling/appointments/", Some(&k.op), Some(&json!({})));
    assert_eq!(s, 400);
    for f in ["client", "date", "start_time", "therapist"] {
        assert!(e["fields"][f].is_array(), "no error for {f}: {e}");
    }
    // An inactive service cannot be booked.
    let (s, _) = k.srv.call(
        "PATCH",
        &format!("/api/scheduling/services/{}/", k.service),
        Some(&k.op),
        Some(&json!({"is_active": false})),
    );
    assert_eq!(s, 200);
    let (s, e) = k.srv.call(
        "POST",
        "/api/scheduling/appointments/",
        Some(&k.op),
        Some(&k.booking("2030-02-01", "10:00", "11:00")),
    );
    assert_eq!(s, 400);
    assert!(e["fields"]["services"][0].as_str().unwrap().contains("no longer offered"), "{e}");
    // Malformed JSON: 400, never 500.
    let r = k.srv.request("POST", "/api/scheduling/appointments/", Some(&k.op), Some("{\"client\": "), &[]);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], "parse_error");
    let r = k.srv.request("POST", "/api/scheduling/appointments/", Some(&k.op), Some("[1,2]"), &[]);
    assert_eq!(r.status, 400);
    // Nothing was written.
    let (_, list) = k.srv.call("GET", "/api/scheduling/appointments/", Some(&k.op), None);
    assert_eq!(list["count"], 0);
    assert_eq!(k.last_seq(), seq, "no event for a refused request");
}

#[test]
fn end_time_defaults_to_the_services_duration_and_money_accepts_numbers() {
    let k = Clinic::new();
    let mut body = k.booking("2030-03-01", "09:15", "10:00");
    body.as_object_mut().unwrap().remove("end_time");
    body["payment_amount"] = json!(1500);
    let a = k.book(&body);
    assert_eq!(a["end_time"], "10:15:00");
    assert_eq!(a["payment_amount"], "1500.00");
    let (s, e) = k.srv.call(
        "PATCH",
        &format!("/api/scheduling/appointments/{}/", a["id"]),
        Some(&k.op),
        Some(&json!({"payment_amount": "12.345"})),
    );
    assert_eq!(s, 400);
    assert!(e["fields"]["payment_amount"].is_array());
    let (s, e) = k.srv.call(
        "PATCH",
        &format!("/api/scheduling/appointments/{}/", a["id"]),
        Some(&k.op),
        Some(&json!({"status": "completed"})),
    );
    // A status moves only by a workflow step: from pending, nobody's step leads to completed.
    assert_eq!((s, e["code"].as_str()), (409, Some("INVALID_STATUS")), "{e}");
    assert_eq!(e["allowed_actions"], json!(["cancel"]));
    let (s, e) = k.srv.call(
        "PUT",
        &format!("/api/scheduling/appointments/{}/", a["id"]),
        Some(&k.op),
        Some(&json!({"client": k.client, "therapist": k.t1_id, "date": "2030-01-01", "start_time": "10:00",
                     "end_time": "11:00", "status": "completed"})),
    );
    assert_eq!((s, e["fields"]["status"].is_array()), (400, true), "a PUT never names a status: {e}");
}

#[test]
fn double_booking_is_refused_for_therapists_groups_and_drivers() {
    let k = Clinic::new();
    let a = k.book(&k.booking("2030-04-01", "10:00", "11:00"));
    // Same therapist, overlapping.
    let (s, e) = k.srv.call(
        "POST",
        "/api/scheduling/appointments/",
        Some(&k.op),
        Some(&k.booking("2030-04-01", "10:30", "11:30")),
    );
    assert_eq!((s, e["code"].as_str()), (409, Some("CONFLICT")), "{e}");
    // Named as the operator knows them: the person and the client they are with, not ids.
    assert_eq!(e["detail"], "tess is with Maria Lopez 10:00–11:00; choose another time or another therapist.");
    // Touching is fine.
    let mut b = k.booking("2030-04-01", "11:00", "12:00");
    b["driver"] = json!(null);
    k.book(&b);
    // As one of a group.
    let mut g = k.booking("2030-04-01", "10:45", "11:00");
    g["therapist"] = json!(k.t2_id);
    g["therapists"] = json!([k.t1_id]);
    g["driver"] = json!(null);
    let (s, e) = k.srv.call("POST", "/api/scheduling/appointments/", Some(&k.op), Some(&g));
    assert_eq!(s, 409, "{e}");
    // The driver.
    let mut d = k.booking("2030-04-01", "10:15", "10:45");
    d["therapist"] = json!(k.t2_id);
    let (s, e) = k.srv.call("POST", "/api/scheduling/appointments/", Some(&k.op), Some(&d));
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["conflicts"][0]["role"], "driver");
    // An edit into a clash is refused too.
    d["start_time"] = json!("12:00");
    d["end_time"] = json!("13:00");
    let c = k.book(&d);
    let (s, _) = k.srv.call(
        "PATCH",
        &format!("/api/scheduling/appointments/{}/", c["id"]),
        Some(&k.op),
        Some(&json!({"start_time": "10:30"})),
    );
    assert_eq!(s, 409);
    // A cancelled appointment frees the slot.
    let (s, _) = k.act(&k.op, a["id"].as_i64().unwrap(), "cancel", json!({}));
    assert_eq!(s, 200);
    k.book(&k.booking("2030-04-01", "10:30", "11:00"));
}

#[test]
fn twenty_concurrent_bookings_of_one_slot_give_exactly_one_201() {
    let k = Clinic::new();
    let body = k.booking("2030-05-01", "10:00", "11:00").to_string();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..20)
            .map(|_| {
                s.spawn(|| k.srv.request("POST", "/api/scheduling/appointments/", Some(&k.op), Some(&body), &[]).status)
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19, "{statuses:?}");
    let (_, list) = k.srv.call("GET", "/api/scheduling/appointments/", Some(&k.op), None);
    assert_eq!(list["count"], 1);
}

#[test]
fn stale_versions_are_refused() {
    let k = Clinic::new();
    let a = k.book(&k.booking("2030-06-01", "10:00", "11:00"));
    let path = format!("/api/scheduling/appointments/{}/", a["id"]);
    let (s, b) = k.srv.call("PATCH", &path, Some(&k.op), Some(&json!({"notes": "gate code 1234", "version": 1})));
    assert_eq!((s, b["version"].as_i64()), (200, Some(2)));
    let (s, e) = k.srv.call("PATCH", &path, Some(&k.op), Some(&json!({"notes": "lost", "version": 1})));
    assert_eq!((s, e["code"].as_str()), (409, Some("STALE")));
    let r = k.srv.request("PATCH", &path, Some(&k.op), Some(r#"{"notes": "lost"}"#), &[("If-Match", "\"1\"")]);
    assert_eq!((r.status, r.json()["code"].as_str()), (409, Some("STALE")));
    let r = k.srv.request("POST", &format!("{path}cancel/"), Some(&k.op), Some("{}"), &[("If-Match", "\"1\"")]);
    assert_eq!(r.status, 409);
    let r = k.srv.request("DELETE", &path, Some(&k.op), None, &[("If-Match", "\"1\"")]);
    assert_eq!(r.status, 409);
    let r = k.srv.request("GET", &path, Some(&k.op), None, &[]);
    assert_eq!(r.header("ETag"), Some("\"2\""));
    assert_eq!(r.json()["notes"], "gate code 1234");
    // Only the ETag as sent (weak or not) or the bare number: not a looser spelling of it.
    for loose in ["+2", "W/W/\"2\"", "\"\"2\"\"", "W/2"] {
        let r = k.srv.request("PATCH", &path, Some(&k.op), Some(r#"{"notes": "x"}"#), &[("If-Match", loose)]);
        assert_eq!((r.status, r.json()["code"].as_str()), (400, Some("parse_error")), "If-Match: {loose}");
    }
    let r = k.srv.request("PATCH", &path, Some(&k.op), Some(r#"{"notes": "ok"}"#), &[("If-Match", "W/\"2\"")]);
    assert_eq!(r.status, 200);
}

#[test]
fn lists_filter_order_and_paginate() {
    let k = Clinic::new();
    for (i, day) in ["2030-07-01", "2030-07-02", "2030-07-03"].iter().enumerate() {
        for h in 0..3 {
            let mut b = k.booking(day, &format!("{:02}:00", 8 + h * 2), &format!("{:02}:00", 9 + h * 2));
            if i == 2 {
                b["therapist"] = json!(k.t2_id);
                b["driver"] = json!(null);
            }
            k.book(&b);
        }
    }
    let (s, p) = k.srv.call("GET", "/api/scheduling/appointments/?page_size=4", Some(&k.op), None);
    assert_eq!(s, 200);
    assert_eq!(
        (p["count"].as_i64(), p["total_pages"].as_i64(), p["current_page"].as_i64(), p["page_size"].as_i64()),
        (Some(9), Some(3), Some(1), Some(4))
    );
    assert_eq!((p["has_next"].as_bool(), p["has_previous"].as_bool()), (Some(true), Some(false)));
    assert!(p["next"].as_str().unwrap().ends_with("/api/scheduling/appointments/?page_size=4&page=2"), "{}", p["next"]);
    assert!(p["previous"].is_null());
    assert_eq!(p["results"].as_array().unwrap().len(), 4);
    let (_, p3) = k.srv.call("GET", "/api/scheduling/appointments/?page_size=4&page=3", Some(&k.op), None);
    assert_eq!((p3["results"].as_array().unwrap().len(), p3["has_next"].as_bool()), (1, Some(false)));
    let (s, _) = k.srv.call("GET", "/api/scheduling/appointments/?page=4&page_size=4", Some(&k.op), None);
    assert_eq!(s, 404);
    // Over the maximum is read as the maximum (the clinic's original calendar asks for
    // 1000); the answer says the size used. Not a number, or under 1, is still a 400.
    for big in ["201", "1000", "99999999999999999999999"] {
        let (s, p) = k.srv.call("GET", &format!("/api/scheduling/appointments/?page_size={big}"), Some(&k.op), None);
        assert_eq!((s, p["page_size"].as_i64(), p["results"].as_array().map(Vec::len)), (200, Some(200), Some(9)));
    }
    for bad in ["0", "-5", "ten", "1.5"] {
        let (s, e) = k.srv.call("GET", &format!("/api/scheduling/appointments/?page_size={bad}"), Some(&k.op), None);
        assert_eq!((s, &e["fields"]["page_size"].is_array()), (400, &true), "{bad}: {e}");
    }
    // Filters.
    let count = |q: &str| {
        k.srv.call("GET", &format!("/api/scheduling/appointments/?{q}"), Some(&k.op), None).1["count"].as_i64().unwrap()
    };
    assert_eq!(count("date=2030-07-02"), 3);
    assert_eq!(count("date_after=2030-07-02"), 6);
    assert_eq!(count("date_before=2030-07-01"), 3);
    assert_eq!(count(&format!("therapist={}", k.t2_id)), 3);
    assert_eq!(count(&format!("driver={}", k.d1_id)), 6);
    assert_eq!(count("status=pending"), 9);
    assert_eq!(count("status__in=cancelled,completed"), 0);
    assert_eq!(count("search=maria"), 9);
    assert_eq!(count("search=nobody"), 0);
    let (s, e) = k.srv.call("GET", "/api/scheduling/appointments/?status=nonsense", Some(&k.op), None);
    assert_eq!(s, 400, "{e}");
    let (_, p) = k.srv.call("GET", "/api/scheduling/appointments/?ordering=-date,-start_time", Some(&k.op), None);
    assert_eq!(p["results"][0]["date"], "2030-07-03");
    assert_eq!(p["results"][0]["start_time"], "12:00:00");
    let (s, _) = k.srv.call("GET", "/api/scheduling/appointments/?ordering=password", Some(&k.op), None);
    assert_eq!(s, 400);
    // A therapist's list is only theirs, whatever the filter says.
    let (_, p) = k.srv.call("GET", &format!("/api/scheduling/appointments/?therapist={}", k.t2_id), Some(&k.t1), None);
    assert_eq!(p["count"], 0);
}

#[test]
fn put_replaces_the_writable_fields() {
    let k = Clinic::new();
    let a = k.book(&k.booking("2030-08-01", "10:00", "11:00"));
    let path = format!("/api/scheduling/appointments/{}/", a["id"]);
    let (s, e) = k.srv.call("PUT", &path, Some(&k.op), Some(&json!({"notes": "only this"})));
    assert_eq!(s, 400, "PUT needs the whole appointment: {e}");
    let mut full = k.booking("2030-08-02", "14:00", "15:30");
    full["driver"] = json!(null);
    full["notes"] = json!("moved");
    let (s, b) = k.srv.call("PUT", &path, Some(&k.op), Some(&full));
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (b["date"].as_str(), b["end_time"].as_str(), b["notes"].as_str()),
        (Some("2030-08-02"), Some("15:30:00"), Some("moved"))
    );
    assert!(b["driver"].is_null());
    assert_eq!(k.get(&k.d1, a["id"].as_i64().unwrap()).0, 404, "the removed driver no longer sees it");
}

#[test]
fn an_empty_driver_or_therapist_means_none() {
    // The clinic's original booking form sends `driver: ""` (and `therapist: ""` for a
    // group booked by `therapists`) when the select is left empty.
    let k = Clinic::new();
    let mut b = k.booking("2030-08-01", "10:00", "11:00");
    b["driver"] = json!("");
    let a = k.book(&b);
    assert!(a["driver"].is_null(), "{a}");
    let mut group = k.booking("2030-08-02", "10:00", "11:00");
    group["therapist"] = json!("");
    group["therapists"] = json!([k.t2_id, k.t1_id]);
    let g = k.book(&group);
    assert_eq!((g["therapist"].as_i64(), &g["therapists"]), (Some(k.t2_id), &json!([k.t1_id])), "{g}");
    // PATCH driver "" takes the driver off.
    let path = format!("/api/scheduling/appointments/{}/", g["id"]);
    let (s, v) = k.srv.call("PATCH", &path, Some(&k.op), Some(&json!({"driver": ""})));
    assert_eq!((s, v["driver"].is_null()), (200, true), "{v}");
    // No therapist at all is still refused, naming the field.
    let mut none = k.booking("2030-08-03", "10:00", "11:00");
    none["therapist"] = json!("");
    let (s, e) = k.srv.call("POST", "/api/scheduling/appointments/", Some(&k.op), Some(&none));
    assert_eq!(s, 400, "{e}");
    assert!(e["fields"]["therapist"].is_array(), "{e}");
}

/// A page of appointments may be answered from the bytes an earlier read of the same
/// database state built (`App::list_pages`): every kind of write shows in the very next
/// GET (a booking, an edit, a workflow step, a client, staff or service edit shown in
/// an appointment, and a write by another process on the same file), and callers who
/// see different things, or ask differently, never get each other's page.
#[test]
fn list_pages_show_every_write_at_once_and_give_each_caller_their_own() {
    let k = Clinic::new();
    let get = |token: &str, query: &str| -> serde_json::Value {
        let (s, v) = k.srv.call("GET", &format!("/api/scheduling/appointments/{query}"), Some(token), None);
        assert_eq!(s, 200, "{v}");
        v
    };
    // The page, asked for twice: the second answer may come from the kept bytes.
    let page = |token: &str| {
        let first = get(token, "");
        assert_eq!(get(token, ""), first);
        first
    };
    let first = |token: &str| page(token)["results"][0].clone();
    let ids = |token: &str| -> Vec<i64> {
        page(token)["results"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect()
    };

    let a1 = k.book(&k.booking("2030-03-01", "10:00", "11:00"));
    let id1 = a1["id"].as_i64().unwrap();
    assert_eq!(ids(&k.op), [id1]);
    let mut other = k.booking("2030-03-02", "10:00", "11:00");
    other["therapist"] = json!(k.t2_id);
    other["driver"] = serde_json::Value::Null;
    let id2 = k.book(&other)["id"].as_i64().unwrap();
    assert_eq!(ids(&k.op), [id1, id2], "a booking");

    let path = format!("/api/scheduling/appointments/{id1}/");
    let (s, _) = k.srv.call("PATCH", &path, Some(&k.op), Some(&json!({"notes": "Bring the oil"})));
    assert_eq!(s, 200);
    assert_eq!(first(&k.op)["notes"], "Bring the oil", "an edit");
    assert!(first(&k.op)["therapist_confirmed_at"].is_null());
    assert_eq!(first(&k.t1)["allowed_actions"], json!(["therapist_confirm", "reject"]));
    let (s, _) = k.act(&k.t1, id1, "therapist_confirm", json!({}));
    assert_eq!(s, 200);
    assert!(first(&k.op)["therapist_confirmed_at"].is_string(), "a workflow step");
    assert_ne!(first(&k.t1)["allowed_actions"], json!(["therapist_confirm", "reject"]));

    let (s, _) = k.srv.call(
        "PATCH",
        &format!("/api/scheduling/clients/{}/", k.client),
        Some(&k.op),
        Some(&json!({"first_name": "Mariana"})),
    );
    assert_eq!(s, 200);
    assert_eq!(first(&k.op)["client_details"]["first_name"], "Mariana", "a client edit");
    let staff = format!("/api/scheduling/staff/{}/", k.t1_id);
    let (s, _) = k.srv.call("PATCH", &staff, Some(&k.op), Some(&json!({"first_name": "Tessa"})));
    assert_eq!(s, 200);
    assert_eq!(first(&k.op)["therapist_details"]["first_name"], "Tessa", "a staff edit");
    let (s, _) = k.srv.call("PATCH", "/api/auth/profile/", Some(&k.t1), Some(&json!({"phone_number": "0917 555"})));
    assert_eq!(s, 200);
    assert_eq!(first(&k.op)["therapist_details"]["phone_number"], "0917 555", "a staff member's own edit");
    let (s, _) = k.srv.call(
        "PATCH",
        &format!("/api/scheduling/services/{}/", k.service),
        Some(&k.op),
        Some(&json!({"price": "1800.00"})),
    );
    assert_eq!(s, 200);
    assert_eq!(first(&k.op)["total_price"], "1800.00", "a service edit");

    // Another process writing the same file (as `royal-care user …` does) is seen too.
    let outside = rusqlite::Connection::open(&k.srv.db).unwrap();
    outside.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    outside.execute("UPDATE clients SET last_name = 'Written elsewhere'", []).unwrap();
    assert_eq!(first(&k.op)["client_details"]["last_name"], "Written elsewhere", "another process's write");

    // Each caller their own page, asked in turns: what they may see, what their role
    // receives, their own actions.
    for _ in 0..2 {
        assert_eq!(ids(&k.t1), [id1]);
        assert_eq!(ids(&k.t2), [id2]);
        assert_eq!(ids(&k.d1), [id1]);
        assert_eq!(ids(&k.op), [id1, id2]);
    }
    assert_eq!(first(&k.op)["notes"], "Bring the oil");
    assert!(first(&k.d1).get("notes").is_none(), "a driver does not receive notes");
    assert_eq!(first(&k.op)["allowed_actions"], json!(["cancel"]));
    assert_ne!(first(&k.t2)["allowed_actions"], first(&k.op)["allowed_actions"]);

    // Another query, another page; another host, other links.
    let one = get(&k.op, "?page_size=1");
    assert_eq!((one["count"].clone(), one["results"].as_array().unwrap().len()), (json!(2), 1));
    assert_eq!(get(&k.op, "?page_size=1&page=2")["results"][0]["id"], id2);
    for host in ["a.example", "b.example", "a.example"] {
        let r = k.srv.raw(
            format!(
                "GET /api/scheduling/appointments/?page_size=1 HTTP/1.1\r\nHost: {host}\r\nAuthorization: Token {}\r\nConnection: close\r\n\r\n",
                k.op
            )
            .as_bytes(),
        );
        assert_eq!(r.json()["next"], format!("http://{host}/api/scheduling/appointments/?page_size=1&page=2"));
    }
}
