//! What a board needs to show a pending booking's auto-cancel countdown, through the real
//! server: `pending_since` on the appointment while it is pending (restarted by a denied
//! rejection, null in any other status) and `pending_timeout_secs` plus the server's
//! `time` in `GET /health/`.
mod clinic;
mod common;

use clinic::*;
use serde_json::json;

#[test]
fn pending_since_and_the_timeout_give_the_auto_cancel_moment() {
    let k = Clinic::with(&[("ROYAL_CARE_PENDING_TIMEOUT_SECS", "600")]);
    let (s, health) = k.srv.call("GET", "/health/", None, None);
    assert_eq!(s, 200);
    assert_eq!(health["pending_timeout_secs"], 600, "{health}");

    let a = k.book(&k.booking(&today(), "09:00:00", "10:00:00"));
    let since = a["pending_since"].as_str().expect("pending_since while pending").to_string();
    let t0 = chrono::DateTime::parse_from_rfc3339(&since).expect("an ISO timestamp");
    let now = chrono::DateTime::parse_from_rfc3339(health["time"].as_str().unwrap()).unwrap();
    assert!((t0 - now).num_seconds().abs() < 60, "{since} vs {now}");

    let (s, r) = k.act(&k.t1, a["id"].as_i64().unwrap(), "reject", json!({"rejection_reason": "Sick"}));
    assert_eq!(s, 200, "{r}");
    assert!(r["pending_since"].is_null(), "not pending: {r}");
    // A denied rejection: pending again, the clock restarted.
    let (s, r) = k.act(&k.op, a["id"].as_i64().unwrap(), "review_rejection", json!({"decision": "deny"}));
    assert_eq!((s, r["status"].as_str()), (200, Some("pending")), "{r}");
    assert!(r["pending_since"].as_str().unwrap() >= since.as_str(), "{r}");
    // The therapist's copy carries it too (every role may see when it will be cancelled).
    let (_, mine) = k.get(&k.t1, a["id"].as_i64().unwrap());
    assert_eq!(mine["pending_since"], r["pending_since"]);
}
