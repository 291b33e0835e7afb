//! Notifications through the real server: stored per user in the change's transaction,
//! one `notification` message per recipient carrying the row's id (none lost in a
//! burst), the original's list shape with `unreadCount`, marking and deleting only one's
//! own, the read state reaching the user's other sockets (and no one else's, live and on
//! resume), and the notifications for a denied rejection and for being taken off a booking.
mod clinic;
mod common;
mod ws_support;

use clinic::*;
use serde_json::{json, Value};
use std::time::Duration;
use ws_support::*;

const WAIT: Duration = Duration::from_secs(10);
const LIST: &str = "/api/scheduling/notifications/";

fn list(k: &Clinic, token: &str, query: &str) -> Value {
    let (s, v) = k.srv.call("GET", &format!("{LIST}{query}"), Some(token), None);
    assert_eq!(s, 200, "{v}");
    v
}

/// The ids in a list answer, newest first.
fn ids(page: &Value) -> Vec<i64> {
    page["results"]["notifications"].as_array().unwrap().iter().map(|n| n["id"].as_i64().unwrap()).collect()
}

fn post(k: &Clinic, token: &str, path: &str) -> (u16, Value) {
    k.srv.call("POST", &format!("{LIST}{path}"), Some(token), None)
}

/// Books therapist 1 (and driver 1) on 2030-01-15 at `hour`:00 for an hour.
fn book_at(k: &Clinic, hour: u32) -> i64 {
    k.book(&k.booking("2030-01-15", &format!("{hour:02}:00"), &format!("{hour:02}:50")))["id"].as_i64().unwrap()
}

/// The next message on `ws`, which must be of `kind`.
fn next_is(ws: &mut Ws, kind: &str) -> Value {
    let m = ws.next_json(WAIT).unwrap_or_else(|e| panic!("waiting for {kind}: {e:?}"));
    assert_eq!(m["type"], kind, "{m}");
    m
}

#[test]
fn a_burst_of_six_changes_stores_six_notifications_and_sends_six_messages_with_their_ids() {
    let k = Clinic::new();
    let (mut tess, first) = open(&k.srv, &k.t1);
    assert_eq!(first["type"], "initial_data");
    let booked: Vec<i64> = (8..14).map(|h| book_at(&k, h)).collect();

    let mut got = Vec::new();
    while got.len() < 6 {
        let m = tess.next_json(WAIT).unwrap_or_else(|e| panic!("after {} notifications: {e:?}", got.len()));
        if m["type"] == "notification" {
            got.push(m);
        }
    }
    let page = list(&k, &k.t1, "");
    let mut stored = ids(&page);
    stored.reverse();
    let sent: Vec<i64> = got.iter().map(|m| m["id"].as_i64().expect("the message carries the id")).collect();
    assert_eq!(sent, stored, "one message per stored row, in order");
    let about: Vec<i64> = got.iter().map(|m| m["data"]["appointment_id"].as_i64().unwrap()).collect();
    assert_eq!(about, booked);
    let seqs: Vec<i64> = got.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let counts: Vec<i64> = got.iter().map(|m| m["unread_count"].as_i64().unwrap()).collect();
    assert_eq!(counts, [1, 2, 3, 4, 5, 6]);
    let m = &got[0];
    assert_eq!((m["user"].as_i64(), m["appointment"].as_i64()), (Some(k.t1_id), Some(booked[0])));
    assert_eq!(
        (m["notification_type"].as_str(), m["title"].as_str()),
        (Some("appointment_assigned"), Some("New assignment"))
    );
    assert_eq!(m["is_read"], false);
    assert_eq!(m["data"]["appointment"]["allowed_actions"], json!(["therapist_confirm", "reject"]));

    // The list: the DRF page with the original's results object, newest first.
    assert_eq!((page["count"].as_i64(), page["total_pages"].as_i64()), (Some(6), Some(1)));
    assert_eq!(page["results"]["unreadCount"], 6);
    let newest = &page["results"]["notifications"][0];
    let mut keys: Vec<&str> = newest.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["appointment", "created_at", "id", "is_read", "message", "notification_type", "title", "user"]);
    assert_eq!(newest["appointment"], booked[5]);
    assert!(newest["message"].as_str().unwrap().contains("2030-01-15 at 13:00"), "{newest}");
    let paged = list(&k, &k.t1, "?page_size=4&page=2");
    assert_eq!((ids(&paged), paged["results"]["unreadCount"].as_i64()), (ids(&page)[4..].to_vec(), Some(6)));
    // The driver has their own six; the other therapist none.
    assert_eq!(list(&k, &k.d1, "")["count"], 6);
    assert_eq!(list(&k, &k.t2, "")["results"], json!({"notifications": [], "unreadCount": 0}));
}

#[test]
fn marking_and_deleting_change_only_your_own_and_reach_your_other_tabs_only() {
    let k = Clinic::new();
    for h in 8..11 {
        book_at(&k, h);
    }
    let all = ids(&list(&k, &k.t1, ""));
    let (newest, middle, oldest) = (all[0], all[1], all[2]);
    let (mut tab_a, _) = open(&k.srv, &k.t1);
    let (mut tab_b, _) = open(&k.srv, &k.t1);
    let (mut toni, _) = open(&k.srv, &k.t2);
    let (mut olga, _) = open(&k.srv, &k.op);
    let seq_before = k.last_seq();

    // Another user's id is not found, whatever they try; nothing changes.
    for (m, p) in [("GET", ""), ("POST", "mark_as_read/"), ("POST", "mark_as_unread/"), ("DELETE", "")] {
        let (s, e) = k.srv.call(m, &format!("{LIST}{newest}/{p}"), Some(&k.t2), None);
        assert_eq!(s, 404, "{m} {p}: {e}");
        assert!(e["detail"].as_str().unwrap().contains("no notification with this id"), "{e}");
    }
    assert_eq!(list(&k, &k.t1, "")["results"]["unreadCount"], 3);

    // Read in one tab: both tabs are told, with the new count.
    let (s, n) = post(&k, &k.t1, &format!("{newest}/mark_as_read/"));
    assert_eq!((s, n["id"].as_i64(), n["is_read"].as_bool()), (200, Some(newest), Some(true)), "{n}");
    for tab in [&mut tab_a, &mut tab_b] {
        let c = next_is(tab, "notifications_changed");
        assert_eq!(c["ids"], json!([newest]));
        assert_eq!(
            (c["is_read"].as_bool(), c["deleted"].as_bool(), c["unread_count"].as_i64()),
            (Some(true), Some(false), Some(2))
        );
    }
    // Already read: no change, no message (the next one is the unread below).
    assert_eq!(post(&k, &k.t1, &format!("{newest}/mark_as_read/")).0, 200);
    let (s, n) = post(&k, &k.t1, &format!("{middle}/mark_as_unread/"));
    assert_eq!((s, n["is_read"].as_bool()), (200, Some(false)));
    let (s, n) = post(&k, &k.t1, &format!("{newest}/mark_as_unread/"));
    assert_eq!((s, n["is_read"].as_bool()), (200, Some(false)));
    let c = next_is(&mut tab_b, "notifications_changed");
    assert_eq!(
        (c["ids"].clone(), c["is_read"].as_bool(), c["unread_count"].as_i64()),
        (json!([newest]), Some(false), Some(3))
    );

    // All read.
    let (s, r) = post(&k, &k.t1, "mark_all_as_read/");
    assert_eq!((s, r), (200, json!({"updated": 3, "unreadCount": 0})));
    let c = next_is(&mut tab_b, "notifications_changed");
    assert_eq!((c["ids"].clone(), c["unread_count"].as_i64()), (json!([oldest, middle, newest]), Some(0)));
    assert_eq!(ids(&list(&k, &k.t1, "?is_read=false")), Vec::<i64>::new());
    assert_eq!(post(&k, &k.t1, "mark_all_as_read/").1, json!({"updated": 0, "unreadCount": 0}));

    // Deletes: one unread again; delete_read (DELETE) leaves it; delete_all (POST) the rest.
    post(&k, &k.t1, &format!("{oldest}/mark_as_unread/"));
    let (s, r) = k.srv.call("DELETE", &format!("{LIST}delete_read/"), Some(&k.t1), None);
    assert_eq!((s, r), (200, json!({"deleted": 2, "unreadCount": 1})));
    assert_eq!(ids(&list(&k, &k.t1, "")), [oldest]);
    let (s, _) = k.srv.call("DELETE", &format!("{LIST}{oldest}/"), Some(&k.t1), None);
    assert_eq!(s, 204);
    let (s, _) = k.srv.call("GET", &format!("{LIST}{oldest}/"), Some(&k.t1), None);
    assert_eq!(s, 404);
    book_at(&k, 12);
    let (s, r) = post(&k, &k.t1, "delete_all/");
    assert_eq!((s, r), (200, json!({"deleted": 1, "unreadCount": 0})));
    assert_eq!(list(&k, &k.t1, "")["count"], 0);
    let mut kinds = Vec::new();
    loop {
        let m = tab_a.next_json(WAIT).unwrap();
        if m["type"] == "notifications_changed" && m["deleted"] == true {
            kinds.push((m["ids"].as_array().unwrap().len(), m["unread_count"].as_i64().unwrap()));
            if kinds.len() == 3 {
                break;
            }
        }
    }
    assert_eq!(kinds, [(2, 1), (1, 0), (1, 0)]);

    // Nobody else heard of any of it: toni and olga receive nothing about it up to the
    // next booking of toni (their sockets get messages in seq order).
    let sentinel = k.book(&json!({"client": k.client, "services": [k.service], "therapist": k.t2_id,
        "date": "2030-01-16", "start_time": "10:00", "end_time": "11:00"}))["id"]
        .clone();
    for ws in [&mut toni, &mut olga] {
        loop {
            let m = ws.next_json(WAIT).unwrap();
            assert_ne!(m["type"], "notifications_changed", "{m}");
            if m["type"] == "appointment_created" && m["appointment"]["id"] == sentinel {
                break;
            }
        }
    }

    // Resuming with `?since=` replays the same changes from the log to tess only.
    let mut resumed = connect(&k.srv, &format!("token={}&since={seq_before}", k.t1), &[]).unwrap();
    let m = next_is(&mut resumed, "notifications_changed");
    assert_eq!((m["ids"].clone(), m["is_read"].as_bool()), (json!([newest]), Some(true)));
}

#[test]
fn a_denied_rejection_and_being_taken_off_a_booking_are_notified() {
    let k = Clinic::new();
    // Every active operator gets their own row; an inactive one none.
    let ops2 = k.srv.user("omar", "operator");
    let gone = k.srv.user("olive", "operator");
    let gone_id = id_of(&k.srv, &gone);
    let (s, _) = k.srv.call(
        "PATCH",
        &format!("/api/scheduling/staff/{gone_id}/"),
        Some(&k.op),
        Some(&json!({"is_active": false})),
    );
    assert_eq!(s, 200);
    let id = book_at(&k, 10);
    let (mut tess, _) = open(&k.srv, &k.t1);
    let (mut omar, _) = open(&k.srv, &ops2);

    assert_eq!(k.act(&k.t1, id, "reject", json!({"rejection_reason": "I am sick"})).0, 200);
    let m = omar.next_of("notification", WAIT);
    assert_eq!(
        (m["notification_type"].as_str(), m["user"].as_i64()),
        (Some("appointment_rejected"), Some(id_of(&k.srv, &ops2)))
    );
    assert!(m["data"]["appointment"]["allowed_actions"].as_array().unwrap().contains(&json!("review_rejection")));
    assert_eq!(list(&k, &ops2, "")["results"]["notifications"][0]["id"], m["id"]);
    assert_eq!(list(&k, &k.op, "")["results"]["notifications"][0]["notification_type"], "appointment_rejected");
    let c = rusqlite::Connection::open(&k.srv.db).unwrap();
    let per_op: i64 = c
        .query_row(
            "SELECT COUNT(DISTINCT user_id) FROM notifications WHERE notification_type = 'appointment_rejected' AND appointment_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(per_op, 2, "olga and omar, not the inactive olive");

    // Denied: tess is told, and may confirm again.
    assert_eq!(k.act(&k.op, id, "review_rejection", json!({"decision": "deny"})).0, 200);
    let m = tess.next_of("notification", WAIT);
    assert_eq!(
        (m["notification_type"].as_str(), m["title"].as_str()),
        (Some("rejection_denied"), Some("Rejection denied"))
    );
    assert_eq!(m["data"]["appointment"]["status"], "pending");
    assert_eq!(m["data"]["appointment"]["allowed_actions"], json!(["therapist_confirm", "reject"]));
    assert_eq!(list(&k, &k.t1, "")["results"]["notifications"][0]["id"], m["id"]);

    // Taken off: tess is told (with the appointment as she last saw it), toni assigned.
    let (s, b) = k.srv.call(
        "PATCH",
        &format!("/api/scheduling/appointments/{id}/"),
        Some(&k.op),
        Some(&json!({"therapist": k.t2_id})),
    );
    assert_eq!(s, 200, "{b}");
    let m = tess.next_of("notification", WAIT);
    assert_eq!(m["notification_type"], "appointment_unassigned");
    assert_eq!(
        m["data"]["appointment"],
        json!({"id": id, "date": "2030-01-15", "therapist": k.t1_id, "therapists": [], "driver": k.d1_id})
    );
    assert!(m["message"].as_str().unwrap().contains("no longer on your list"), "{m}");
    let mine = list(&k, &k.t1, "");
    assert_eq!(
        (mine["results"]["notifications"][0]["id"].clone(), mine["results"]["unreadCount"].as_i64()),
        (m["id"].clone(), Some(3))
    );
    assert_eq!(list(&k, &k.t2, "")["results"]["notifications"][0]["notification_type"], "appointment_assigned");
}

#[test]
fn a_refused_change_leaves_no_notification() {
    let k = Clinic::new();
    book_at(&k, 10);
    let other = k.book(&json!({"client": k.client, "services": [k.service], "therapist": k.t2_id,
        "date": "2030-01-15", "start_time": "10:00", "end_time": "10:50"}))["id"]
        .as_i64()
        .unwrap();
    let before = list(&k, &k.t1, "");
    let seq = k.last_seq();
    // Giving tess a booking at the time she already has one: 409, and she hears nothing.
    let (s, e) = k.srv.call(
        "PATCH",
        &format!("/api/scheduling/appointments/{other}/"),
        Some(&k.op),
        Some(&json!({"therapist": k.t1_id})),
    );
    assert_eq!(s, 409, "{e}");
    assert_eq!(list(&k, &k.t1, ""), before);
    assert_eq!(k.events_after(seq), Vec::new(), "no event either");
    let c = rusqlite::Connection::open(&k.srv.db).unwrap();
    let about: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM notifications WHERE appointment_id = ?1 AND user_id = ?2",
            [other, k.t1_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(about, 0);
}

#[test]
fn each_user_keeps_only_their_newest_notifications() {
    let k = Clinic::with(&[("ROYAL_CARE_NOTIFICATIONS_PER_USER", "3")]);
    for h in 8..13 {
        book_at(&k, h);
    }
    let newest: Vec<i64> = ids(&list(&k, &k.t1, ""))[..3].to_vec();
    // The maintenance thread prunes every 10 s; a round may fall between the bookings,
    // so wait for rounds until tess is down to 3.
    let mut rounds = 0;
    while list(&k, &k.t1, "")["count"] != 3 {
        rounds += 1;
        assert!(
            k.srv.wait_log_count("old notification(s)", rounds, Duration::from_secs(25)),
            "no pruning round: {}",
            k.srv.log()
        );
    }
    assert_eq!(ids(&list(&k, &k.t1, "")), newest, "the newest three are kept");
    assert_eq!(list(&k, &k.t1, "")["results"]["unreadCount"], 3);
    assert_eq!(list(&k, &k.d1, "")["count"], 3, "the driver's list too");
}
