//! Clients, services and staff through the real HTTP API: who reads and writes what, and
//! the OpenAPI document covering every route.
mod clinic;
mod common;
use clinic::*;
use serde_json::json;

#[test]
fn therapists_and_drivers_see_only_their_appointments_clients() {
    let k = Clinic::new();
    let (s, other) = k.srv.call(
        "POST",
        "/api/scheduling/clients/",
        Some(&k.op),
        Some(&json!({"first_name": "Secret", "phone_number": "0999"})),
    );
    assert_eq!(s, 201);
    let other = other["id"].as_i64().unwrap();
    k.book(&k.booking("2030-01-15", "10:00", "11:00")); // for client Maria, t1 + d1
    for token in [&k.t1, &k.d1] {
        let (s, list) = k.srv.call("GET", "/api/scheduling/clients/", Some(token), None);
        assert_eq!(s, 200);
        assert_eq!(list["count"], 1, "{list}");
        assert_eq!(list["results"][0]["first_name"], "Maria");
        assert_eq!(k.srv.call("GET", &format!("/api/scheduling/clients/{}/", k.client), Some(token), None).0, 200);
        assert_eq!(k.srv.call("GET", &format!("/api/scheduling/clients/{other}/"), Some(token), None).0, 404);
    }
    let (_, list) = k.srv.call("GET", "/api/scheduling/clients/", Some(&k.t2), None);
    assert_eq!(list["count"], 0, "a therapist with no appointments sees no clients");
    let (_, list) = k.srv.call("GET", "/api/scheduling/clients/", Some(&k.op), None);
    assert_eq!(list["count"], 2);
    // Writes are operator-only.
    let (s, _) = k.srv.call("POST", "/api/scheduling/clients/", Some(&k.t1), Some(&json!({"first_name": "X"})));
    assert_eq!(s, 403);
    let (s, _) = k.srv.call(
        "PATCH",
        &format!("/api/scheduling/clients/{}/", k.client),
        Some(&k.t1),
        Some(&json!({"notes": "x"})),
    );
    assert_eq!(s, 403);
    let (s, c) = k.srv.call(
        "PATCH",
        &format!("/api/scheduling/clients/{}/", k.client),
        Some(&k.op),
        Some(&json!({"notes": "dog in yard"})),
    );
    assert_eq!((s, c["notes"].as_str(), c["first_name"].as_str()), (200, Some("dog in yard"), Some("Maria")));
    let (s, e) = k.srv.call(
        "POST",
        "/api/scheduling/clients/",
        Some(&k.op),
        Some(&json!({"last_name": "NoFirst", "email": "nope"})),
    );
    assert_eq!(s, 400);
    assert!(e["fields"]["first_name"].is_array() && e["fields"]["email"].is_array(), "{e}");
    // A client with appointments is kept; one without can go.
    assert_eq!(k.srv.call("DELETE", &format!("/api/scheduling/clients/{}/", k.client), Some(&k.op), None).0, 409);
    assert_eq!(k.srv.call("DELETE", &format!("/api/scheduling/clients/{other}/"), Some(&k.op), None).0, 204);
    // Search.
    let (_, list) = k.srv.call("GET", "/api/scheduling/clients/?search=lop", Some(&k.op), None);
    assert_eq!(list["count"], 1);
}

#[test]
fn services_are_read_by_all_staff_and_written_by_operators() {
    let k = Clinic::new();
    let (s, list) = k.srv.call("GET", "/api/scheduling/services/", Some(&k.d1), None);
    assert_eq!((s, list["count"].as_i64()), (200, Some(1)));
    assert_eq!(list["results"][0]["price"], "1500.00");
    assert_eq!(list["results"][0]["duration"], 60);
    let (s, _) = k.srv.call(
        "POST",
        "/api/scheduling/services/",
        Some(&k.t1),
        Some(&json!({"name": "X", "duration": 30, "price": 1})),
    );
    assert_eq!(s, 403);
    let (s, e) = k.srv.call(
        "POST",
        "/api/scheduling/services/",
        Some(&k.op),
        Some(&json!({"name": "", "duration": 0, "price": -5})),
    );
    assert_eq!(s, 400);
    for f in ["name", "duration", "price"] {
        assert!(e["fields"][f].is_array(), "{f}: {e}");
    }
    let (s, svc) = k.srv.call(
        "POST",
        "/api/scheduling/services/",
        Some(&k.op),
        Some(&json!({"name": "Foot", "duration": 30, "price": 800.5})),
    );
    assert_eq!((s, svc["price"].as_str()), (201, Some("800.50")));
    let (_, list) = k.srv.call("GET", "/api/scheduling/services/?is_active=true&ordering=-price", Some(&k.op), None);
    assert_eq!(list["results"][0]["name"], "Swedish");
    k.book(&k.booking("2030-01-15", "10:00", "11:00"));
    let (s, e) = k.srv.call("DELETE", &format!("/api/scheduling/services/{}/", k.service), Some(&k.op), None);
    assert_eq!(s, 409, "{e}");
    assert_eq!(k.srv.call("DELETE", &format!("/api/scheduling/services/{}/", svc["id"]), Some(&k.op), None).0, 204);
}

#[test]
fn staff_are_listed_for_all_and_managed_by_operators() {
    let k = Clinic::new();
    let (s, list) = k.srv.call("GET", "/api/scheduling/staff/?role=therapist", Some(&k.t1), None);
    assert_eq!((s, list["count"].as_i64()), (200, Some(2)));
    assert!(list["results"][0].get("password").is_none());
    // Create, with a password checked like any other.
    let (s, _) = k.srv.call(
        "POST",
        "/api/scheduling/staff/",
        Some(&k.t1),
        Some(&json!({"username": "x", "password": "long-enough-1", "role": "driver"})),
    );
    assert_eq!(s, 403);
    let (s, e) = k.srv.call(
        "POST",
        "/api/scheduling/staff/",
        Some(&k.op),
        Some(&json!({"username": "newbie", "password": "123", "role": "pilot"})),
    );
    assert_eq!(s, 400);
    assert!(e["fields"]["password"].is_array() && e["fields"]["role"].is_array(), "{e}");
    let (s, u) = k.srv.call(
        "POST",
        "/api/scheduling/staff/",
        Some(&k.op),
        Some(&json!({"username": "newbie", "password": "long-enough-1", "role": "driver", "first_name": "New"})),
    );
    assert_eq!((s, u["role"].as_str()), (201, Some("driver")), "{u}");
    let (s, login) =
        k.srv.call("POST", "/api/auth/login/", None, Some(&json!({"username": "newbie", "password": "long-enough-1"})));
    assert_eq!(s, 200);
    let token = login["token"].as_str().unwrap().to_string();
    let (s, _) = k.srv.call(
        "POST",
        "/api/scheduling/staff/",
        Some(&k.op),
        Some(&json!({"username": "NEWBIE", "password": "long-enough-1", "role": "driver"})),
    );
    assert_eq!(s, 400, "usernames are unique, whatever the case");
    // Deactivate: their token stops working at once.
    let path = format!("/api/scheduling/staff/{}/", u["id"]);
    let (s, e) = k.srv.call("PATCH", &path, Some(&k.op), Some(&json!({"role": "operator"})));
    assert_eq!(s, 400, "{e}");
    let (s, u2) = k.srv.call("PATCH", &path, Some(&k.op), Some(&json!({"is_active": false})));
    assert_eq!((s, u2["is_active"].as_bool()), (200, Some(false)));
    assert_eq!(k.srv.call("GET", "/api/auth/profile/", Some(&token), None).0, 401);
    let (s, _) = k.srv.call(
        "PATCH",
        &format!("/api/scheduling/staff/{}/", id_of(&k.srv, &k.op)),
        Some(&k.op),
        Some(&json!({"is_active": false})),
    );
    assert_eq!(s, 400, "an operator cannot lock themselves out");
    // Someone on appointments cannot be deleted; deactivate instead.
    k.book(&k.booking("2030-01-15", "10:00", "11:00"));
    assert_eq!(k.srv.call("DELETE", &format!("/api/scheduling/staff/{}/", k.t1_id), Some(&k.op), None).0, 409);
    assert_eq!(k.srv.call("DELETE", &path, Some(&k.op), None).0, 204);
}

#[test]
fn every_routed_path_is_in_the_openapi_document_and_answers() {
    let k = Clinic::new();
    let (s, doc) = k.srv.call("GET", "/api/schema/", None, None);
    assert_eq!(s, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/health/",
        "/api/auth/login/",
        "/api/scheduling/clients/{id}/",
        "/api/scheduling/staff/",
        "/api/scheduling/appointments/{id}/therapist_confirm/",
        "/api/scheduling/appointments/{id}/complete_return_journey/",
        "/ws/scheduling/appointments/",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    // Every documented operation is routed: never the "no such path" 404 or a 405.
    let appt = k.book(&k.booking("2030-01-15", "10:00", "11:00"));
    let id = appt["id"].as_i64().unwrap();
    // The documented shapes are the real ones.
    let props = doc["components"]["schemas"]["Appointment"]["properties"].as_object().unwrap();
    for key in appt.as_object().unwrap().keys() {
        assert!(props.contains_key(key), "Appointment.{key} is not documented");
    }
    for (schema, path) in [("Client", "clients"), ("Service", "services"), ("User", "staff")] {
        let (_, list) = k.srv.call("GET", &format!("/api/scheduling/{path}/"), Some(&k.op), None);
        let props = doc["components"]["schemas"][schema]["properties"].as_object().unwrap();
        for key in list["results"][0].as_object().unwrap().keys() {
            assert!(props.contains_key(key), "{schema}.{key} is not documented");
        }
    }
    for (path, item) in paths {
        if path.starts_with("/ws/") {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{id}", &id.to_string());
            let r = k.srv.request(&method.to_uppercase(), &concrete, Some(&k.t2), Some("{}"), &[]);
            assert_ne!(r.status, 405, "{method} {path}");
            assert!(!r.text().contains("no such API path"), "{method} {path} is documented but not routed");
        }
    }
    // And a method the document does not list is refused.
    let r = k.srv.request("DELETE", "/api/scheduling/appointments/", Some(&k.op), None, &[]);
    assert_eq!(r.status, 405);
    assert!(!paths["/api/scheduling/appointments/"].as_object().unwrap().contains_key("delete"));
}

#[test]
fn numbers_are_read_as_written() {
    // JSON Schema (and DRF) read 90.0 as the integer 90; so does every integer field here.
    let k = Clinic::new();
    let (s, svc) = k.srv.call(
        "POST",
        "/api/scheduling/services/",
        Some(&k.op),
        Some(&json!({"name": "Long", "duration": 90.0, "price": 1})),
    );
    assert_eq!(s, 201, "{svc}");
    assert_eq!(svc["duration"], 90);
    let (s, v) = k.srv.call(
        "POST",
        "/api/scheduling/services/",
        Some(&k.op),
        Some(&json!({"name": "Odd", "duration": 90.5, "price": 1})),
    );
    assert_eq!(s, 400, "{v}");
    // A price of 1e-9 has more than two decimals: refused, never rounded to 0.00.
    let (s, v) = k.srv.call(
        "POST",
        "/api/scheduling/services/",
        Some(&k.op),
        Some(&json!({"name": "Tiny", "duration": 30, "price": 1e-9})),
    );
    assert_eq!((s, v["fields"]["price"].is_array()), (400, true), "{v}");
    let a = k.book(&json!({"client": k.client as f64, "therapist": k.t1_id as f64, "date": "2030-01-15",
        "start_time": "10:00", "end_time": "11:00"}));
    assert_eq!(a["therapist"], k.t1_id);
}
