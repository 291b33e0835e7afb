//! A booking that adds its client on the spot (`POST appointments/` with `client` as a
//! new client's fields), through the real server: the client is written in the booking's
//! transaction, so a refused booking leaves no client; the booking's place defaults to the
//! client's address; only operators may; bad client fields are named `client.<field>`.
mod clinic;
mod common;
use clinic::*;
use serde_json::{json, Value};

fn client_count(k: &Clinic) -> i64 {
    let (s, list) = k.srv.call("GET", "/api/scheduling/clients/", Some(&k.op), None);
    assert_eq!(s, 200, "{list}");
    list["count"].as_i64().unwrap()
}

/// A booking for therapist 1 with a new client (no location given).
fn with_new_client(k: &Clinic, start: &str, end: &str) -> Value {
    let mut b = k.booking("2030-03-02", start, end);
    b.as_object_mut().unwrap().remove("location");
    b["client"] =
        json!({"first_name": "Rosa", "last_name": "Diaz", "phone_number": "0918 555", "address": "7 Rizal Ave"});
    b
}

#[test]
fn a_new_client_is_booked_in_one_request_and_its_address_is_the_place() {
    let k = Clinic::new();
    let before = client_count(&k);
    let a = k.book(&with_new_client(&k, "10:00", "11:00"));
    assert_eq!(a["client_details"]["first_name"], "Rosa");
    assert_eq!(a["client_details"]["phone_number"], "0918 555");
    assert_eq!(a["location"], "7 Rizal Ave", "no location given: the client's address");
    assert_eq!(client_count(&k), before + 1);
    // The client is an ordinary client, found by the search the booking form uses.
    let (_, found) = k.srv.call("GET", "/api/scheduling/clients/?search=0918", Some(&k.op), None);
    assert_eq!(found["count"], 1);
    assert_eq!(found["results"][0]["id"], a["client"]);

    // An existing client's address fills an empty place too; a given place is kept.
    let mut b = k.booking("2030-03-03", "10:00", "11:00");
    b["location"] = json!("");
    assert_eq!(k.book(&b)["location"], "12 Mabini St");
    let mut b = k.booking("2030-03-04", "10:00", "11:00");
    b["location"] = json!("Hotel Luna, room 4");
    b["client"] = json!({"first_name": "Lea", "address": "3 Luna St"});
    assert_eq!(k.book(&b)["location"], "Hotel Luna, room 4");
}

#[test]
fn a_refused_booking_leaves_no_client_behind() {
    let k = Clinic::new();
    k.book(&k.booking("2030-03-02", "10:00", "11:00"));
    let before = client_count(&k);
    // Therapist 1 is busy then: 409, and Rosa was not added.
    let (s, e) =
        k.srv.call("POST", "/api/scheduling/appointments/", Some(&k.op), Some(&with_new_client(&k, "10:30", "11:30")));
    assert_eq!((s, e["code"].as_str()), (409, Some("CONFLICT")), "{e}");
    assert_eq!(client_count(&k), before);
    // A bad booking field: 400, nothing added either.
    let mut bad = with_new_client(&k, "12:00", "13:00");
    bad["driver"] = json!(k.t2_id);
    let (s, e) = k.srv.call("POST", "/api/scheduling/appointments/", Some(&k.op), Some(&bad));
    assert_eq!(s, 400, "{e}");
    assert!(e["fields"]["driver"].is_array(), "{e}");
    assert_eq!(client_count(&k), before);
}

#[test]
fn bad_client_fields_are_named_with_the_booking_fields_and_change_nothing() {
    let k = Clinic::new();
    let before = client_count(&k);
    let mut b = with_new_client(&k, "10:00", "11:00");
    b["client"] = json!({"first_name": "  ", "email": "not-an-email", "id": 5});
    b["start_time"] = json!("25:00");
    let (s, e) = k.srv.call("POST", "/api/scheduling/appointments/", Some(&k.op), Some(&b));
    assert_eq!(s, 400, "{e}");
    let mut named: Vec<&str> = e["fields"].as_object().unwrap().keys().map(String::as_str).collect();
    named.sort();
    assert_eq!(named, ["client.email", "client.first_name", "client.id", "start_time"], "{e}");
    assert!(e["detail"].as_str().unwrap().contains("client.first_name"), "{e}");
    assert_eq!(client_count(&k), before);

    // An edit names clients by id only: a new client is added with a new booking.
    let a = k.book(&k.booking("2030-03-02", "10:00", "11:00"));
    let path = format!("/api/scheduling/appointments/{}/", a["id"]);
    let (s, e) = k.srv.call("PATCH", &path, Some(&k.op), Some(&json!({"client": {"first_name": "Rosa"}})));
    assert_eq!(s, 400, "{e}");
    assert!(e["fields"]["client"].is_array(), "{e}");
    assert_eq!(client_count(&k), before);
}

#[test]
fn only_operators_book_a_new_client() {
    let k = Clinic::new();
    let before = client_count(&k);
    for token in [&k.t1, &k.d1] {
        let (s, e) = k.srv.call(
            "POST",
            "/api/scheduling/appointments/",
            Some(token),
            Some(&with_new_client(&k, "10:00", "11:00")),
        );
        assert_eq!(s, 403, "{e}");
    }
    assert_eq!(client_count(&k), before);
}
