//! The live-updates socket over real TCP with a real WebSocket client (SPEC §5):
//! handshake and tokens (4001, or 403 for a bad ?token=), origins, heartbeats, revocation
//! closes, limits, shutdown.
mod common;
mod ws_support;

use common::*;
use serde_json::json;
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use ws_support::*;

const SEC: Duration = Duration::from_secs(1);

#[test]
fn a_token_opens_the_socket_three_ways_and_is_never_logged() {
    let srv = Server::start();
    let token = srv.user("ana", "operator");

    // ?token= (what existing clients send)
    let (ws, first) = open(&srv, &token);
    assert_eq!(ws.response.status(), 101);
    assert_eq!(first["type"], "initial_data");
    assert!(first["appointments"].is_array(), "{first}");
    assert!(first["seq"].is_i64() && first["timestamp"].is_string() && first["connection_id"].is_string());
    assert_eq!(first["epoch"].as_str().map(str::len), Some(16));
    assert!(first.get("resync").is_none());
    ws.close();

    // Sec-WebSocket-Protocol: bearer, <token> → answered with `bearer` only
    let proto = format!("bearer, {token}");
    let mut ws = connect(&srv, "", &[("Sec-WebSocket-Protocol", &proto)]).unwrap();
    assert_eq!(ws.response.headers().get("sec-websocket-protocol").unwrap(), "bearer");
    assert_eq!(ws.next_json(10 * SEC).unwrap()["type"], "initial_data");
    ws.close();

    // Authorization: Token <token>
    let auth = format!("Token {token}");
    let mut ws = connect(&srv, "", &[("Authorization", &auth)]).unwrap();
    assert_eq!(ws.next_json(10 * SEC).unwrap()["type"], "initial_data");
    ws.close();

    assert!(srv.wait_log("ws 3 open", 5 * SEC));
    let log = srv.log();
    assert!(!log.contains(&token), "token leaked into the log");
    assert!(log.contains("token=[redacted]"));
}

#[test]
fn no_token_or_a_bad_one_by_subprotocol_or_header_is_accepted_then_closed_with_4001() {
    // Our own UI sends the token by subprotocol: a 101 then 4001 lets it tell "log in
    // again" from a network failure. No token at all is answered the same way.
    let srv = Server::start();
    let bad = "a".repeat(64);
    let proto = format!("bearer, {bad}");
    let auth = format!("Token {bad}");
    for headers in [vec![], vec![("Sec-WebSocket-Protocol", proto.as_str())], vec![("Authorization", auth.as_str())]] {
        let mut ws = connect(&srv, "", &headers).expect("handshake must succeed so the browser sees 4001");
        assert_eq!(ws.response.status(), 101);
        let (code, reason, _) = ws.expect_close(5 * SEC);
        assert_eq!(code, 4001, "{headers:?}");
        assert!(!reason.is_empty());
    }
}

/// The HTTP answer to an upgrade with `query`, read raw.
fn upgrade_answer(srv: &Server, query: &str) -> HttpResponse {
    srv.raw(
        format!(
            "GET {WS_PATH}?{query} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            srv.addr
        )
        .as_bytes(),
    )
}

#[test]
fn a_bad_missing_or_revoked_token_by_query_gets_403_before_the_upgrade() {
    // The clinic's original frontend sends ?token= and stops after a few refused
    // handshakes; a 101 then a close would make it reconnect every second forever.
    let srv = Server::start();
    let token = srv.user("ana", "operator");
    let bad = format!("token={}", "a".repeat(64));
    for query in ["token=", "token=null", "token=nonsense", bad.as_str()] {
        let r = upgrade_answer(&srv, query);
        assert_eq!(r.status, 403, "{query}");
        let e = r.json();
        assert_eq!(e["code"], "permission_denied", "{e}");
        assert!(e["detail"].as_str().unwrap().contains("log in again"), "{e}");
    }
    // A good one opens; after logout the same token on reconnect is refused with 403.
    let (ws, first) = open(&srv, &token);
    assert_eq!(first["type"], "initial_data");
    assert_eq!(srv.call("POST", "/api/auth/logout/", Some(&token), None).0, 204);
    ws.close();
    let r = upgrade_answer(&srv, &format!("token={token}"));
    assert_eq!(r.status, 403);
    assert!(srv.wait_log("\"GET /ws/scheduling/appointments/?token=[redacted]\" 403", 5 * SEC), "{}", srv.log());
    assert!(!srv.log().contains(&token), "token leaked into the log");
}

#[test]
fn a_foreign_origin_gets_403_and_the_own_origin_is_allowed() {
    let srv = Server::start_with(&[("ROYAL_CARE_ALLOWED_ORIGINS", "http://app.clinic.example:3000")]);
    let token = srv.user("ana", "operator");
    let upgrade = |origin: &str| {
        format!(
            "GET {WS_PATH}?token={token} HTTP/1.1\r\nHost: {}\r\nOrigin: {origin}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            srv.addr
        )
    };
    let r = srv.raw(upgrade("http://evil.example").as_bytes());
    assert_eq!(r.status, 403);
    for ok in [format!("http://{}", srv.addr), "http://app.clinic.example:3000".to_string()] {
        let mut s = srv.connect();
        s.write_all(upgrade(&ok).as_bytes()).unwrap();
        let r = read_response(&mut s).unwrap();
        assert_eq!(r.status, 101, "{ok}");
        assert_eq!(r.header("Sec-WebSocket-Accept"), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    }
}

#[test]
fn a_plain_get_of_the_socket_path_gets_426() {
    let srv = Server::start();
    let r = srv.request("GET", WS_PATH, None, None, &[]);
    assert_eq!(r.status, 426);
    assert_eq!(r.header("Upgrade"), Some("websocket"));
}

#[test]
fn heartbeats_are_answered_and_bad_messages_get_an_error() {
    let srv = Server::start();
    let token = srv.user("ana", "operator");
    let (mut ws, _) = open(&srv, &token);
    ws.send_text(&json!({"type": "heartbeat"}).to_string());
    let v = ws.next_json(5 * SEC).unwrap();
    assert_eq!(v["type"], "heartbeat_response");
    assert!(v["timestamp"].is_string());
    ws.send_text("not json");
    let v = ws.next_json(5 * SEC).unwrap();
    assert_eq!(v["type"], "error");
    assert!(v["message"].as_str().unwrap().contains("heartbeat"));
    ws.send_text(&json!({"type": "subscribe"}).to_string());
    assert_eq!(ws.next_json(5 * SEC).unwrap()["type"], "error");
}

/// Asserts the socket closes with 4001 within a second of `since`.
fn closes_4001_within_a_second(ws: &mut Ws, since: Instant) {
    let (code, _, at) = ws.expect_close(5 * SEC);
    assert_eq!(code, 4001);
    let took = at - since;
    assert!(took < SEC, "took {took:?}");
}

fn still_open(ws: &mut Ws) {
    ws.send_text(r#"{"type":"heartbeat"}"#);
    assert_eq!(ws.next_json(5 * SEC).unwrap()["type"], "heartbeat_response");
}

#[test]
fn logout_and_logoutall_close_exactly_the_affected_sockets() {
    let srv = Server::start();
    let t1 = srv.user("ana", "operator");
    let t2 = srv.login("ana");
    let other = srv.user("ben", "therapist");
    let (mut a1, _) = open(&srv, &t1);
    let (mut a2, _) = open(&srv, &t2);
    let (mut b, _) = open(&srv, &other);

    let t = Instant::now();
    assert_eq!(srv.call("POST", "/api/auth/logout/", Some(&t1), None).0, 204);
    closes_4001_within_a_second(&mut a1, t);
    still_open(&mut a2);

    let t3 = srv.login("ana");
    let (mut a3, _) = open(&srv, &t3);
    let t = Instant::now();
    assert_eq!(srv.call("POST", "/api/auth/logoutall/", Some(&t2), None).0, 204);
    closes_4001_within_a_second(&mut a2, t);
    closes_4001_within_a_second(&mut a3, t);
    still_open(&mut b);
}

#[test]
fn a_password_change_closes_the_other_sessions_sockets() {
    let srv = Server::start();
    let keep = srv.user("ana", "operator");
    let other = srv.login("ana");
    let (mut k, _) = open(&srv, &keep);
    let (mut o, _) = open(&srv, &other);
    let body = json!({"current_password": PASSWORD, "new_password": "another-horse-2"});
    let t = Instant::now();
    assert_eq!(srv.call("PUT", "/api/auth/change-password/", Some(&keep), Some(&body)).0, 200);
    closes_4001_within_a_second(&mut o, t);
    still_open(&mut k);
}

#[test]
fn deactivation_from_the_cli_closes_sockets_within_a_second() {
    let srv = Server::start();
    let token = srv.user("ben", "therapist");
    let (mut ws, _) = open(&srv, &token);
    let (ok, _, err) = srv.cli(&["user", "deactivate", "ben"], "");
    assert!(ok, "{err}");
    // Measured from the CLI's exit: the other process has committed by then.
    closes_4001_within_a_second(&mut ws, Instant::now());
    // And the token no longer opens a socket: by ?token= it is refused before the
    // upgrade, by subprotocol it is closed with 4001.
    assert_eq!(upgrade_answer(&srv, &format!("token={token}")).status, 403);
    let proto = format!("bearer, {token}");
    let mut again = connect(&srv, "", &[("Sec-WebSocket-Protocol", &proto)]).unwrap();
    assert_eq!(again.expect_close(5 * SEC).0, 4001);
}

#[test]
fn an_expired_token_closes_its_socket() {
    let srv = Server::start_with(&[("ROYAL_CARE_TOKEN_TTL_SECS", "2"), ("ROYAL_CARE_AUTO_REFRESH", "false")]);
    let token = srv.user("ana", "operator");
    let (mut ws, _) = open(&srv, &token);
    let expiry = Instant::now() + 2 * SEC;
    let (code, reason, at) = ws.expect_close(10 * SEC);
    assert_eq!(code, 4001);
    assert!(reason.contains("expired"), "{reason}");
    assert!(at < expiry + 2 * SEC, "closed {:?} after expiry", at - expiry);
}

#[test]
fn the_server_pings_and_closes_a_silent_client() {
    let srv = Server::start_with(&[("ROYAL_CARE_WS_PING_SECS", "1"), ("ROYAL_CARE_WS_IDLE_SECS", "3")]);
    let token = srv.user("ana", "operator");

    // A live client (tungstenite answers pings while it reads) stays open past the idle time.
    let (mut alive, _) = open(&srv, &token);
    assert_eq!(alive.next_json(5 * SEC), Err(ws_support::Ended::Timeout));
    still_open(&mut alive);

    // A client that never answers: raw bytes show pings, then a close, then EOF.
    // Timed from before the upgrade: the server's idle clock starts when it accepts it.
    let started = Instant::now();
    let mut s = ws_support::raw_upgrade(&srv, &token);
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes).unwrap();
    let took = started.elapsed();
    assert!(took >= 3 * SEC && took < 6 * SEC, "closed after {took:?}");
    let pings = bytes.windows(2).filter(|w| w == &[0x89, 0x00]).count();
    assert!(pings >= 2, "saw {pings} pings");
    let close = bytes.windows(4).any(|w| w[0] == 0x88 && u16::from_be_bytes([w[2], w[3]]) == 1001);
    assert!(close, "no 1001 close frame");
}

#[test]
fn an_oversized_message_is_closed_with_1009() {
    let srv = Server::start();
    let token = srv.user("ana", "operator");
    let (mut ws, _) = open(&srv, &token);
    ws.send_text(&"x".repeat(65 * 1024));
    assert_eq!(ws.expect_close(5 * SEC).0, 1009);
    // A message just under the limit is fine.
    let (mut ok, _) = open(&srv, &token);
    ok.send_text(&format!(r#"{{"type":"heartbeat","pad":"{}"}}"#, "x".repeat(60 * 1024)));
    assert_eq!(ok.next_json(5 * SEC).unwrap()["type"], "heartbeat_response");
}

#[test]
fn a_message_flood_is_closed_with_1008() {
    let srv = Server::start();
    let token = srv.user("ana", "operator");
    let (mut ws, _) = open(&srv, &token);
    for _ in 0..60 {
        ws.send_text(r#"{"type":"heartbeat"}"#);
    }
    let (code, reason, _) = ws.expect_close(5 * SEC);
    assert_eq!(code, 1008);
    assert!(reason.contains("too many"), "{reason}");
}

#[test]
fn the_per_user_socket_cap_refuses_one_more() {
    let srv = Server::start_with(&[("ROYAL_CARE_MAX_SOCKETS_PER_USER", "2")]);
    let token = srv.user("ana", "operator");
    let other = srv.user("ben", "driver");
    let (_a, _) = open(&srv, &token);
    let (b, _) = open(&srv, &token);
    let mut c = connect(&srv, &format!("token={token}"), &[]).unwrap();
    let (code, reason, _) = c.expect_close(5 * SEC);
    assert_eq!(code, 1008);
    assert!(reason.contains("too many"), "{reason}");
    // Another user is not affected, and closing one frees a place.
    let (_d, first) = open(&srv, &other);
    assert_eq!(first["type"], "initial_data");
    b.close();
    let deadline = Instant::now() + 5 * SEC;
    loop {
        let mut e = connect(&srv, &format!("token={token}"), &[]).unwrap();
        match e.next_json(5 * SEC) {
            Ok(v) => {
                assert_eq!(v["type"], "initial_data");
                break;
            }
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("no place freed: {e:?}"),
        }
    }
}

#[test]
fn shutdown_closes_sockets_with_1001() {
    let mut srv = Server::start();
    let token = srv.user("ana", "operator");
    let (mut ws, _) = open(&srv, &token);
    let pid = srv.child.id();
    std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    let (code, _, _) = ws.expect_close(5 * SEC);
    assert_eq!(code, 1001);
    assert!(srv.child.wait().unwrap().success());
}
