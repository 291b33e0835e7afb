//! Each recipient's appointment object on the live socket has that user's own
//! `allowed_actions`, exactly as REST gives them (issue 8, item 4): in live events, in
//! `initial_data` and in a `?since=` replay. Operators share one message; each assigned
//! therapist or driver gets their own.
mod clinic;
mod common;
mod ws_support;

use clinic::*;
use serde_json::{json, Value};
use std::time::Duration;
use ws_support::*;

const SEC: Duration = Duration::from_secs(1);

/// Reads until a message of `kind` about appointment `id` (skipping others).
fn next_about(ws: &mut Ws, kind: &str, id: i64) -> Value {
    loop {
        let v = ws.next_json(10 * SEC).unwrap_or_else(|e| panic!("waiting for {kind} of {id}: {e:?}"));
        assert!(v.get("allowed_actions_for").is_none(), "internal member sent: {v}");
        if v["type"] == kind && v["appointment"]["id"] == id {
            return v;
        }
    }
}

/// What REST says `token`'s user may do with appointment `id`, and the whole object.
fn rest(k: &Clinic, token: &str, id: i64) -> Value {
    let (s, a) = k.get(token, id);
    assert_eq!(s, 200, "{a}");
    a
}

fn actions(a: &Value) -> Vec<String> {
    a["allowed_actions"]
        .as_array()
        .unwrap_or_else(|| panic!("no allowed_actions in {a}"))
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_recipient_gets_its_own_allowed_actions_live_at_start_and_on_resume() {
    let k = Clinic::new();
    let (mut op, _) = open(&k.srv, &k.op);
    let (mut t1, first) = open(&k.srv, &k.t1);
    let (mut t2, _) = open(&k.srv, &k.t2);
    let (mut d1, _) = open(&k.srv, &k.d1);
    let epoch = first["epoch"].as_str().unwrap().to_string();

    // A group booking: tess leads, toni is the second therapist, dan drives.
    let mut b = k.booking(&today(), "10:00", "11:00");
    b["therapists"] = json!([k.t2_id]);
    let id = k.book(&b)["id"].as_i64().unwrap();
    for (ws, token) in [(&mut op, &k.op), (&mut t1, &k.t1), (&mut t2, &k.t2), (&mut d1, &k.d1)] {
        let v = next_about(ws, "appointment_created", id);
        assert_eq!(v["appointment"], rest(&k, token, id), "the created event's object is REST's for this user");
    }
    let before_confirm = k.last_seq();

    // Tess confirms through REST.
    let (s, x) = k.act(&k.t1, id, "therapist_confirm", json!({}));
    assert_eq!((s, x["status"].as_str()), (200, Some("pending")), "{x}");

    let mine = next_about(&mut t1, "appointment_updated", id);
    let toni = next_about(&mut t2, "appointment_updated", id);
    let olga = next_about(&mut op, "appointment_updated", id);
    let dan = next_about(&mut d1, "appointment_updated", id);
    assert!(!actions(&mine["appointment"]).contains(&"therapist_confirm".to_string()), "{mine}");
    assert_eq!(actions(&mine["appointment"]), vec!["reject"]);
    assert!(actions(&toni["appointment"]).contains(&"therapist_confirm".to_string()), "{toni}");
    assert_eq!(actions(&olga["appointment"]), actions(&rest(&k, &k.op, id)));
    assert!(actions(&olga["appointment"]).contains(&"cancel".to_string()), "{olga}");
    for (v, token) in [(&mine, &k.t1), (&toni, &k.t2), (&olga, &k.op), (&dan, &k.d1)] {
        assert_eq!(v["appointment"], rest(&k, token, id), "exactly REST's object for this user");
    }

    // initial_data: each user's own allowed_actions on each appointment.
    for token in [&k.op, &k.t1, &k.t2, &k.d1] {
        let (_, init) = open(&k.srv, token);
        let a = init["appointments"].as_array().unwrap().iter().find(|a| a["id"] == id).expect("on the board").clone();
        assert_eq!(a, rest(&k, token, id), "initial_data object is REST's for this user");
    }

    // A resume from before the confirm replays the update with each user's own actions.
    for (token, confirm) in [(&k.t1, false), (&k.t2, true)] {
        let mut ws = connect(&k.srv, &format!("token={token}&since={before_confirm}&epoch={epoch}"), &[]).unwrap();
        let v = next_about(&mut ws, "appointment_updated", id);
        assert_eq!(actions(&v["appointment"]).contains(&"therapist_confirm".to_string()), confirm, "{v}");
    }
    let mut ws = connect(&k.srv, &format!("token={}&since={before_confirm}&epoch={epoch}", k.op), &[]).unwrap();
    let v = next_about(&mut ws, "appointment_updated", id);
    assert_eq!(actions(&v["appointment"]), actions(&olga["appointment"]));
}

/// Operators at the same point of the log get the same board; a write gives a new one.
#[test]
fn operators_share_the_initial_board_until_a_write() {
    let k = Clinic::new();
    let a = k.book(&k.booking(&today(), "10:00", "11:00"))["id"].as_i64().unwrap();
    let op2 = k.srv.user("omar", "operator");
    let (_, x) = open(&k.srv, &k.op);
    let (_, y) = open(&k.srv, &op2);
    assert_eq!(x["seq"], y["seq"]);
    assert_ne!(x["connection_id"], y["connection_id"]);
    assert_eq!(x["appointments"].to_string(), y["appointments"].to_string());
    assert_eq!(x["appointments"][0]["allowed_actions"], rest(&k, &k.op, a)["allowed_actions"]);
    let b = k.book(&k.booking(&today(), "12:00", "13:00"))["id"].as_i64().unwrap();
    let (_, z) = open(&k.srv, &op2);
    let ids: Vec<i64> = z["appointments"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![a, b], "the write made a new board");
}
