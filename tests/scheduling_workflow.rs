//! The appointment workflow through the real HTTP API: the happy path with the right role
//! at every step, refusals (403 wrong role, 409 wrong status with the allowed next
//! actions), group confirmation, rejection review, notifications and auto-cancel.
mod clinic;
mod common;
use clinic::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn status(k: &Clinic, id: i64) -> String {
    k.get(&k.op, id).1["status"].as_str().unwrap().to_string()
}

#[test]
fn the_whole_happy_path_with_the_right_role_at_every_step() {
    let k = Clinic::new();
    let a = k.book(&k.booking("2030-01-15", "10:00", "11:00"));
    let id = a["id"].as_i64().unwrap();
    let d2 = k.srv.user("dina", "driver");
    let d2_id = id_of(&k.srv, &d2);
    let steps: Vec<(&str, &str, Value, &str, &str)> = vec![
        (&k.t1, "therapist_confirm", json!({}), "therapist_confirmed", "therapist_confirmed_at"),
        (&k.d1, "driver_confirm", json!({}), "driver_confirmed", "driver_confirmed_at"),
        (&k.op, "start_appointment", json!({}), "in_progress", "started_at"),
        (&k.d1, "start_journey", json!({}), "journey", "journey_started_at"),
        (&k.d1, "arrive_at_location", json!({}), "arrived", "arrived_at"),
        (&k.d1, "drop_off_therapist", json!({}), "dropped_off", "dropped_off_at"),
        (&k.t1, "start_session", json!({}), "session_in_progress", "session_started_at"),
        (&k.t1, "mark_awaiting_payment", json!({}), "awaiting_payment", "awaiting_payment_at"),
        (
            &k.op,
            "mark_payment_received",
            json!({"payment_method": "cash", "payment_amount": "1500.00"}),
            "completed",
            "payment_received_at",
        ),
        (&k.t1, "request_pickup", json!({"pickup_urgency": "urgent"}), "pickup_requested", "pickup_requested_at"),
        (&k.op, "assign_pickup", json!({"driver": d2_id}), "driver_assigned_pickup", "pickup_assigned_at"),
        (&d2, "confirm_pickup", json!({}), "return_journey", "return_journey_at"),
        (&d2, "complete_return_journey", json!({}), "transport_completed", "transport_completed_at"),
    ];
    let mut version = 1;
    for (token, action, body, to, stamp) in steps {
        // The caller's allowed_actions offered exactly this button.
        let (_, before) = k.get(token, id);
        assert!(
            before["allowed_actions"].as_array().unwrap().contains(&json!(action)),
            "{action} not offered: {}",
            before["allowed_actions"]
        );
        let seq = k.last_seq();
        let (s, after) = k.act(token, id, action, body);
        assert_eq!(s, 200, "{action}: {after}");
        assert_eq!(after["status"], to, "{action}");
        assert!(after[stamp].is_string(), "{action} sets {stamp}");
        version += 1;
        assert_eq!(after["version"], version);
        let ev = k.events_after(seq);
        assert_eq!(ev[0].1, "appointment_updated", "{action}");
        if action == "assign_pickup" {
            // The new driver is told; the first driver sees the appointment leave.
            let kinds: Vec<(&str, &str)> = ev.iter().map(|e| (e.1.as_str(), e.4.as_str())).collect();
            assert!(kinds.contains(&("appointment_deleted", &format!(",{},", k.d1_id))), "{kinds:?}");
            assert!(kinds.contains(&("notification", &format!(",{d2_id},"))), "{kinds:?}");
        }
        if action == "request_pickup" {
            let note = ev.iter().find(|e| e.1 == "notification").expect("operators are told");
            // One notification per operator, each to that operator alone.
            let olga = format!(",{},", id_of(&k.srv, &k.op));
            assert_eq!(
                (note.3, note.4.as_str(), note.5["notification_type"].as_str()),
                (false, olga.as_str(), Some("pickup_requested"))
            );
        }
        assert!(ev[0].5["updated_fields"].as_array().unwrap().contains(&json!("status")));
        assert_eq!(ev[0].5["appointment"]["status"], to);
    }
    let (_, done) = k.get(&k.op, id);
    assert_eq!(
        (done["payment_status"].as_str(), done["payment_amount"].as_str(), done["payment_method"].as_str()),
        (Some("paid"), Some("1500.00"), Some("cash"))
    );
    assert_eq!(done["pickup_urgency"], "urgent");
    assert_eq!(done["driver"], d2_id);
    assert_eq!(done["allowed_actions"], json!([]));
    // The first driver left the appointment when the pickup went to another.
    assert_eq!(k.get(&k.d1, id).0, 404);
}

#[test]
fn wrong_role_is_403_and_wrong_status_is_409_with_the_allowed_actions() {
    let k = Clinic::new();
    let id = k.book(&k.booking("2030-01-15", "10:00", "11:00"))["id"].as_i64().unwrap();
    let (s, e) = k.act(&k.d1, id, "therapist_confirm", json!({}));
    assert_eq!(s, 403, "{e}");
    assert_eq!(e["allowed_actions"], json!(["reject"]));
    let (s, e) = k.act(&k.op, id, "therapist_confirm", json!({}));
    assert_eq!(s, 403, "{e}");
    let (s, e) = k.act(&k.t1, id, "start_session", json!({}));
    assert_eq!((s, e["code"].as_str()), (409, Some("INVALID_STATUS")), "{e}");
    assert_eq!(e["allowed_actions"], json!(["therapist_confirm", "reject"]));
    assert!(e["detail"].as_str().unwrap().contains("therapist_confirm"), "{e}");
    // Someone not assigned: 404, whatever the action.
    let (s, _) = k.act(&k.t2, id, "therapist_confirm", json!({}));
    assert_eq!(s, 404);
    // Unknown action: 404; GET on an action: 405.
    let (s, _) = k.act(&k.op, id, "teleport", json!({}));
    assert_eq!(s, 404);
    let (s, _) = k.srv.call("GET", &format!("/api/scheduling/appointments/{id}/cancel/"), Some(&k.op), None);
    assert_eq!(s, 405);
    // Required fields.
    let (s, e) = k.act(&k.t1, id, "reject", json!({}));
    assert_eq!(s, 400);
    assert!(e["fields"]["rejection_reason"].is_array(), "{e}");
    assert_eq!(status(&k, id), "pending", "a refused step changes nothing");
    // An action without fields may come with no body at all.
    let r =
        k.srv.request("POST", &format!("/api/scheduling/appointments/{id}/therapist_confirm/"), Some(&k.t1), None, &[]);
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn a_group_is_confirmed_when_every_therapist_has_confirmed() {
    let k = Clinic::new();
    let mut b = k.booking("2030-01-15", "10:00", "11:00");
    b["therapists"] = json!([k.t2_id]);
    let a = k.book(&b);
    let id = a["id"].as_i64().unwrap();
    assert_eq!(a["therapists"], json!([k.t2_id]));
    assert_eq!(a["therapists_details"][0]["username"], "toni");
    assert_eq!(k.get(&k.t2, id).0, 200, "the group's second therapist sees it");
    let (s, x) = k.act(&k.t1, id, "therapist_confirm", json!({}));
    assert_eq!((s, x["status"].as_str()), (200, Some("pending")));
    assert_eq!(x["allowed_actions"], json!(["reject"]), "nothing left to confirm for t1");
    let (s, e) = k.act(&k.t1, id, "therapist_confirm", json!({}));
    assert_eq!(s, 409, "{e}");
    let (s, x) = k.act(&k.t2, id, "therapist_confirm", json!({}));
    assert_eq!((s, x["status"].as_str()), (200, Some("therapist_confirmed")));
    assert!(x["therapist_confirmations"].as_array().unwrap().iter().all(|c| c["confirmed_at"].is_string()));
}

#[test]
fn rejection_goes_to_the_operators_for_review() {
    let k = Clinic::new();
    let id = k.book(&k.booking("2030-01-15", "10:00", "11:00"))["id"].as_i64().unwrap();
    let seq = k.last_seq();
    let (s, x) = k.act(&k.t1, id, "reject", json!({"rejection_reason": "I am sick"}));
    assert_eq!((s, x["status"].as_str(), x["rejection_reason"].as_str()), (200, Some("rejected"), Some("I am sick")));
    let ev = k.events_after(seq);
    let note = ev.iter().find(|e| e.1 == "notification").expect("a notification");
    assert!(!note.3 && note.4 == format!(",{},", id_of(&k.srv, &k.op)), "to the operator only: {:?}", note);
    assert_eq!(note.5["notification_type"], "appointment_rejected");
    // Deny: back to pending.
    let (s, e) = k.act(&k.op, id, "review_rejection", json!({"decision": "maybe"}));
    assert_eq!(s, 400, "{e}");
    let (s, x) = k.act(&k.op, id, "review_rejection", json!({"decision": "deny"}));
    assert_eq!((s, x["status"].as_str()), (200, Some("pending")));
    // Accept: cancelled.
    k.act(&k.t1, id, "reject", json!({"rejection_reason": "still sick"}));
    let (s, x) = k.act(&k.op, id, "review_rejection", json!({"decision": "accept"}));
    assert_eq!((s, x["status"].as_str()), (200, Some("cancelled")));
    assert!(x["cancelled_at"].is_string());
}

#[test]
fn overdue_pending_appointments_are_cancelled_by_the_server() {
    let k = Clinic::with(&[("ROYAL_CARE_PENDING_TIMEOUT_SECS", "1")]);
    let a = k.book(&k.booking("2030-01-15", "10:00", "11:00"));
    let id = a["id"].as_i64().unwrap();
    let confirmed = k.book(&k.booking("2030-01-15", "12:00", "13:00"))["id"].as_i64().unwrap();
    assert_eq!(k.act(&k.t1, confirmed, "therapist_confirm", json!({})).0, 200);
    let seq = k.last_seq();
    // The maintenance loop runs every 10 s; a request after the deadline sees it at once.
    let deadline = Instant::now() + Duration::from_secs(15);
    while status(&k, id) != "auto_cancelled" {
        assert!(Instant::now() < deadline, "not auto-cancelled");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(status(&k, confirmed), "therapist_confirmed", "only pending ones");
    let (_, x) = k.get(&k.t1, id);
    assert!(x["cancelled_at"].is_string());
    assert_eq!(x["allowed_actions"], json!([]));
    let ev = k.events_after(seq);
    assert_eq!(ev[0].1, "appointment_updated");
    assert_eq!(ev[0].5["appointment"]["status"], "auto_cancelled");
    let note = ev.iter().find(|e| e.1 == "notification").expect("notification");
    assert_eq!(note.5["notification_type"], "appointment_auto_cancelled");
    // One per recipient: the operator, the therapist and the driver, each alone.
    let notes: Vec<&str> = ev.iter().filter(|e| e.1 == "notification").map(|e| e.4.as_str()).collect();
    let olga = id_of(&k.srv, &k.op);
    assert_eq!(notes, [format!(",{},", k.t1_id), format!(",{},", k.d1_id), format!(",{olga},")]);
    // Too late to confirm.
    let (s, _) = k.act(&k.t1, id, "therapist_confirm", json!({}));
    assert_eq!(s, 409);
}

#[test]
fn the_workflow_table_is_published_with_every_action_its_inputs_and_the_status_groups() {
    let k = Clinic::new();
    // No login needed, like /api/schema/.
    let r = k.srv.request("GET", "/api/scheduling/workflow/", None, None, &[]);
    assert_eq!(r.status, 200);
    let etag = r.header("etag").expect("an ETag").to_string();
    let t = r.json();
    assert_eq!(k.srv.request("GET", "/api/scheduling/workflow/", None, None, &[("If-None-Match", &etag)]).status, 304);

    // Every action the API routes (from the OpenAPI document) is in the table.
    let (_, schema) = k.srv.call("GET", "/api/schema/", None, None);
    let actions = t["actions"].as_array().unwrap();
    let action = |name: &str| actions.iter().find(|a| a["name"] == name).unwrap_or_else(|| panic!("{name} missing"));
    let prefix = "/api/scheduling/appointments/{id}/";
    let routed: Vec<String> = schema["paths"]
        .as_object()
        .unwrap()
        .keys()
        .filter_map(|p| p.strip_prefix(prefix).map(|a| a.trim_end_matches('/').to_string()))
        .filter(|a| !a.is_empty())
        .collect();
    // 17 actions, and the clinic's original names for two of them.
    assert_eq!(routed.len(), 19, "{routed:?}");
    let by_name = |name: &str| {
        actions
            .iter()
            .find(|a| a["name"] == name || a["aliases"].as_array().unwrap().contains(&json!(name)))
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(by_name("mark_completed")["name"], "mark_payment_received");
    assert_eq!(by_name("complete")["name"], "mark_awaiting_payment");
    for a in &routed {
        let row = by_name(a);
        assert_eq!(row["rest"], true);
        assert!(row["label"].as_str().is_some_and(|l| !l.is_empty()), "{a} label");
        assert!(!row["from"].as_array().unwrap().is_empty() && !row["to"].as_array().unwrap().is_empty(), "{a}");
        // The OpenAPI request body lists the same inputs.
        let body =
            &schema["paths"][format!("{prefix}{a}/")]["post"]["requestBody"]["content"]["application/json"]["schema"];
        // Inputs are read by their name or an alias (`action` for `decision`).
        let names: Vec<&str> = row["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|i| {
                std::iter::once(&i["name"]).chain(i["aliases"].as_array().unwrap()).map(|n| n.as_str().unwrap())
            })
            .collect();
        // Besides the inputs, every action takes the `version` you last read.
        let mut documented: Vec<&str> =
            body["properties"].as_object().unwrap().keys().map(|s| s.as_str()).filter(|k| *k != "version").collect();
        documented.sort();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(documented, sorted, "{a}");
    }
    assert_eq!(action("auto_cancel")["rest"], false);
    assert_eq!(action("auto_cancel")["roles"], json!([]));

    // Each input: name, whether required, kind, and choices where it has them.
    let inputs = |a: &str| -> Vec<(String, bool, String, Vec<String>)> {
        action(a)["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let choices = i["choices"]
                    .as_array()
                    .map_or(Vec::new(), |c| c.iter().map(|c| c["value"].as_str().unwrap().to_string()).collect());
                for c in i["choices"].as_array().into_iter().flatten() {
                    assert!(c["label"].as_str().is_some_and(|l| !l.is_empty()), "{a} choice label");
                }
                assert!(i["label"].as_str().is_some_and(|l| !l.is_empty()), "{a} input label");
                (i["name"].as_str().unwrap().into(), i["required"] == true, i["kind"].as_str().unwrap().into(), choices)
            })
            .collect()
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(inputs("reject"), vec![("rejection_reason".into(), true, "text".into(), vec![])]);
    assert_eq!(action("reject")["inputs"][0]["max_length"], 4000);
    assert_eq!(
        inputs("review_rejection"),
        vec![
            ("decision".into(), true, "choice".into(), s(&["accept", "deny"])),
            ("reason".into(), false, "text".into(), vec![])
        ]
    );
    assert_eq!(action("review_rejection")["inputs"][0]["aliases"], json!(["action"]));
    assert_eq!(action("review_rejection")["inputs"][1]["only_when"], "accept");
    assert_eq!(inputs("reject_pickup"), vec![("reason".into(), false, "text".into(), vec![])]);
    assert_eq!(
        (action("reject_pickup")["from"].clone(), action("reject_pickup")["to"].clone()),
        (json!(["driver_assigned_pickup"]), json!(["pickup_requested"]))
    );
    assert_eq!(
        action("review_rejection")["outcomes"],
        json!([
            {"to": "cancelled", "when": {"decision": "accept"}, "stamp": "cancelled_at"},
            {"to": "pending", "when": {"decision": "deny"}, "stamp": null},
        ])
    );
    assert_eq!(
        inputs("mark_payment_received"),
        vec![
            (
                "payment_method".into(),
                true,
                "choice".into(),
                s(&["cash", "card", "gcash", "maya", "bank_transfer", "other"])
            ),
            ("payment_amount".into(), true, "money".into(), vec![]),
        ]
    );
    assert_eq!(
        inputs("request_pickup"),
        vec![
            ("pickup_urgency".into(), false, "choice".into(), s(&["normal", "urgent"])),
            ("pickup_notes".into(), false, "text".into(), vec![]),
        ]
    );
    assert_eq!(action("request_pickup")["inputs"][0]["default"], "normal");
    assert_eq!(inputs("assign_pickup"), vec![("driver".into(), true, "staff".into(), vec![])]);
    assert_eq!(action("assign_pickup")["inputs"][0]["role"], "driver");
    assert_eq!(inputs("cancel"), vec![("reason".into(), false, "text".into(), vec![])]);
    for a in ["therapist_confirm", "driver_confirm", "start_appointment", "complete_return_journey"] {
        assert!(inputs(a).is_empty(), "{a}");
    }
    assert_eq!(action("therapist_confirm")["per_therapist"], true);
    assert_eq!(action("cancel")["roles"], json!(["operator"]));
    assert_eq!(action("reject")["roles"], json!(["therapist", "driver"]));

    // The statuses in workflow order, with their groups.
    let statuses = t["statuses"].as_array().unwrap();
    assert_eq!(statuses.len(), 17);
    assert_eq!(statuses[0]["name"], "pending");
    let group = |g: &str| -> Vec<&str> {
        statuses.iter().filter(|s| s[g] == true).map(|s| s["name"].as_str().unwrap()).collect()
    };
    assert_eq!(group("finished"), ["completed", "transport_completed", "cancelled", "auto_cancelled"]);
    let inactive: Vec<&str> =
        statuses.iter().filter(|s| s["active"] == false).map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(inactive, ["rejected", "transport_completed", "cancelled", "auto_cancelled"]);
    let cancellable = group("cancellable");
    assert_eq!((cancellable.len(), cancellable.last()), (10, Some(&"awaiting_payment")));
    assert_eq!(action("cancel")["from"], json!(cancellable));
    assert_eq!(group("leaves_staff_board_after_its_day"), ["completed"]);
    assert_eq!(group("awaits_therapist"), ["pending"]);
    for st in statuses {
        assert!(st["label"].is_string() && st["tone"].is_string(), "{st}");
        assert_eq!(st["on_staff_board"], st["active"]);
    }
    assert_eq!(statuses[0]["labels_by_role"]["therapist"], "Needs your answer");
    let roles: Vec<&str> = t["roles"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(roles, ["operator", "therapist", "driver"]);

    // What an appointment offers each role is what the table says for its status.
    let a = k.book(&k.booking("2030-01-15", "10:00", "11:00"));
    for role in roles {
        let expected: Vec<&Value> = actions
            .iter()
            .filter(|x| x["from"].as_array().unwrap().contains(&json!("pending")))
            .filter(|x| x["roles"].as_array().unwrap().contains(&json!(role)))
            .map(|x| &x["name"])
            .collect();
        assert_eq!(a["allowed_actions_by_role"][role].as_array().unwrap().iter().collect::<Vec<_>>(), expected);
    }
}

#[test]
fn board_filter_lists_what_the_live_board_holds() {
    let k = Clinic::new();
    let today = chrono::Local::now().date_naive();
    let day = |n: i64| (today + chrono::Duration::days(n)).format("%Y-%m-%d").to_string();
    let past = k.book(&k.booking(&day(-1), "10:00", "11:00"))["id"].as_i64().unwrap();
    let upcoming = k.book(&k.booking(&day(1), "10:00", "11:00"))["id"].as_i64().unwrap();
    let cancelled = k.book(&k.booking(&day(2), "10:00", "11:00"))["id"].as_i64().unwrap();
    assert_eq!(k.act(&k.op, cancelled, "cancel", json!({})).0, 200);
    let ids = |token: &str, q: &str| -> Vec<i64> {
        let (s, page) = k.srv.call("GET", &format!("/api/scheduling/appointments/{q}"), Some(token), None);
        assert_eq!(s, 200, "{page}");
        page["results"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect()
    };
    // Operators: today's and upcoming; staff: their active ones, whatever the day.
    assert_eq!(ids(&k.op, "?board=1"), vec![upcoming, cancelled]);
    assert_eq!(ids(&k.t1, "?board=1"), vec![past, upcoming]);
    assert_eq!(ids(&k.t2, "?board=1"), Vec::<i64>::new());
    assert_eq!(ids(&k.t1, "?board=0").len(), 3);
    let (s, e) = k.srv.call("GET", "/api/scheduling/appointments/?board=yes", Some(&k.op), None);
    assert_eq!(s, 400);
    assert!(e["fields"]["board"].is_array(), "{e}");
}

/// PATCH appointments/{id}/ as `token`.
fn patch(k: &Clinic, token: &str, id: i64, body: Value) -> (u16, Value) {
    k.srv.call("PATCH", &format!("/api/scheduling/appointments/{id}/"), Some(token), Some(&body))
}

#[test]
fn the_original_frontend_moves_an_appointment_with_its_own_names_and_patches() {
    // How the clinic's original React frontend drives the workflow: its driver dashboard
    // PATCHes statuses, its therapist "complete" and operator "mark_completed", its
    // operator assigns the pickup by PATCH. Each is the ONE legal step of the table.
    let k = Clinic::new();
    let id = k.book(&k.booking("2030-01-15", "10:00", "11:00"))["id"].as_i64().unwrap();
    let d2 = k.srv.user("dina", "driver");
    let d2_id = id_of(&k.srv, &d2);
    assert_eq!(k.act(&k.t1, id, "therapist_confirm", json!({})).0, 200);

    let (s, x) = patch(&k, &k.d1, id, json!({"status": "driver_confirmed"}));
    assert_eq!((s, x["status"].as_str()), (200, Some("driver_confirmed")), "{x}");
    assert!(x["driver_confirmed_at"].is_string(), "the step's timestamp");
    assert_eq!(k.act(&k.op, id, "start_appointment", json!({})).0, 200);

    // `arrived` from `in_progress` is not one step: refused, nothing chained, nothing changed.
    let seq = k.last_seq();
    let (s, e) = patch(&k, &k.d1, id, json!({"status": "arrived"}));
    assert_eq!((s, e["code"].as_str()), (409, Some("INVALID_STATUS")), "{e}");
    assert_eq!((e["allowed_actions"].clone(), e["status"].as_str()), (json!(["start_journey"]), Some("in_progress")));
    assert!(e["detail"].as_str().unwrap().contains("start_journey"), "{e}");
    assert!(k.events_after(seq).is_empty(), "a refused PATCH writes nothing");
    assert_eq!(k.act(&k.d1, id, "start_journey", json!({})).0, 200);
    for to in ["arrived", "dropped_off"] {
        let (s, x) = patch(&k, &k.d1, id, json!({"status": to}));
        assert_eq!((s, x["status"].as_str()), (200, Some(to)), "{x}");
    }
    // Never "any role may set any status".
    for (who, to) in [(&k.d1, "completed"), (&k.t1, "completed"), (&k.d1, "cancelled"), (&k.t1, "dropped_off")] {
        let (s, e) = patch(&k, who, id, json!({"status": to}));
        assert_eq!(s, 409, "{to}: {e}");
        assert!(e["allowed_actions"].is_array(), "{e}");
    }
    let (s, e) = patch(&k, &k.d1, id, json!({"status": "teleported"}));
    assert_eq!((s, e["fields"]["status"].is_array()), (400, true), "{e}");

    assert_eq!(k.act(&k.t1, id, "start_session", json!({})).0, 200);
    // The therapist's `complete/` is mark_awaiting_payment, and only where the table allows it.
    let (s, x) = k.act(&k.t1, id, "complete", json!({}));
    assert_eq!((s, x["status"].as_str()), (200, Some("awaiting_payment")), "{x}");
    assert!(x["awaiting_payment_at"].is_string());
    let (s, e) = k.act(&k.t1, id, "complete", json!({}));
    assert_eq!((s, e["code"].as_str()), (409, Some("INVALID_STATUS")), "{e}");
    // `mark_completed` is mark_payment_received; the receipt fields it sends are ignored.
    let receipt = json!({"payment_method": "gcash", "payment_amount": 1500, "receipt_number": "R-1", "notes": "tip"});
    let (s, e) = k.act(&k.t1, id, "mark_completed", receipt.clone());
    assert_eq!(s, 403, "operators only: {e}");
    let (s, x) = k.act(&k.op, id, "mark_completed", receipt);
    assert_eq!((s, x["status"].as_str(), x["payment_status"].as_str()), (200, Some("completed"), Some("paid")), "{x}");
    assert_eq!((x["payment_amount"].as_str(), x["notes"].as_str()), (Some("1500.00"), Some("")));

    assert_eq!(k.act(&k.t1, id, "request_pickup", json!({})).0, 200);
    // The operator assigns the pickup by PATCH {status, driver, notes}: assign_pickup with
    // its driver input, the notes as an edit, in one transaction.
    let body = json!({"status": "driver_assigned_pickup", "driver": d2_id, "notes": "Gate 4"});
    let (s, x) = patch(&k, &k.op, id, body);
    assert_eq!(
        (s, x["status"].as_str(), x["driver"].as_i64()),
        (200, Some("driver_assigned_pickup"), Some(d2_id)),
        "{x}"
    );
    assert!(x["pickup_assigned_at"].is_string());
    assert_eq!(x["notes"], "Gate 4");

    // The pickup driver cannot go: back to the operator, who is told why.
    let (s, e) = k.act(&k.d1, id, "reject_pickup", json!({"reason": "x"}));
    assert_eq!(s, 404, "the first driver left the appointment when the pickup was assigned: {e}");
    let seq = k.last_seq();
    let (s, x) = k.act(&d2, id, "reject_pickup", json!({"reason": "Flat tyre"}));
    assert_eq!((s, x["status"].as_str()), (200, Some("pickup_requested")), "{x}");
    let ev = k.events_after(seq);
    let note = ev.iter().find(|e| e.1 == "notification").expect("operators are told");
    let olga = format!(",{},", id_of(&k.srv, &k.op));
    assert_eq!(
        (note.3, note.4.as_str(), note.5["notification_type"].as_str()),
        (false, olga.as_str(), Some("pickup_rejected"))
    );
    assert!(note.5["message"].as_str().unwrap().contains("Flat tyre"), "{}", note.5);
    let c = rusqlite::Connection::open(&k.srv.db).unwrap();
    let kept: String =
        c.query_row("SELECT pickup_rejection_reason FROM appointments WHERE id = ?1", [id], |r| r.get(0)).unwrap();
    assert_eq!(kept, "Flat tyre");
    // And the operator assigns someone else.
    let (s, x) = patch(&k, &k.op, id, json!({"status": "driver_assigned_pickup", "driver": k.d1_id}));
    assert_eq!((s, x["driver"].as_i64()), (200, Some(k.d1_id)), "{x}");
    // A driver's PATCH may not carry an edit: refused whole, the step too.
    let (s, e) = patch(&k, &k.d1, id, json!({"status": "return_journey", "notes": "on my way"}));
    assert_eq!(s, 403, "{e}");
    assert_eq!(status(&k, id), "driver_assigned_pickup");
    let (s, x) = patch(&k, &k.d1, id, json!({"status": "return_journey"}));
    assert_eq!((s, x["status"].as_str()), (200, Some("return_journey")), "{x}");
    assert_eq!(k.get(&k.op, id).1["notes"], "Gate 4");
}

#[test]
fn review_rejection_takes_the_original_action_and_reason() {
    // The clinic's Accept/Deny buttons send {action, reason}.
    let k = Clinic::new();
    let id = k.book(&k.booking("2030-01-15", "10:00", "11:00"))["id"].as_i64().unwrap();
    assert_eq!(k.act(&k.t1, id, "reject", json!({"rejection_reason": "I am sick"})).0, 200);
    let (s, e) = k.act(&k.op, id, "review_rejection", json!({"action": "maybe"}));
    assert_eq!((s, e["fields"]["action"].is_array()), (400, true), "the error names the field as sent: {e}");
    let (s, e) = k.act(&k.op, id, "review_rejection", json!({"action": "deny", "decision": "deny"}));
    assert_eq!(s, 400, "one of the two names: {e}");
    let (s, x) = k.act(&k.op, id, "review_rejection", json!({"action": "deny", "reason": "Nobody else is free"}));
    assert_eq!((s, x["status"].as_str(), x["cancellation_reason"].as_str()), (200, Some("pending"), Some("")), "{x}");
    assert_eq!(k.act(&k.t1, id, "reject", json!({"rejection_reason": "Still sick"})).0, 200);
    // A PATCH to `cancelled` is ambiguous here (cancel or review_rejection): refused.
    let (s, e) = patch(&k, &k.op, id, json!({"status": "cancelled"}));
    assert_eq!(s, 409, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("review_rejection"), "{e}");
    let (s, x) = k.act(&k.op, id, "review_rejection", json!({"action": "accept", "reason": "Therapist is sick"}));
    assert_eq!((s, x["status"].as_str()), (200, Some("cancelled")), "{x}");
    assert_eq!(x["cancellation_reason"], "Therapist is sick");
    // A denial by PATCH {status: "pending"} is review_rejection with decision deny.
    let id2 = k.book(&k.booking("2030-01-16", "10:00", "11:00"))["id"].as_i64().unwrap();
    assert_eq!(k.act(&k.t1, id2, "reject", json!({"rejection_reason": "No"})).0, 200);
    let (s, x) = patch(&k, &k.op, id2, json!({"status": "pending"}));
    assert_eq!((s, x["status"].as_str()), (200, Some("pending")), "{x}");
}
