//! `royal-care check URL --username U`, run as a person would after an install.
mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};

/// Runs `check` with the password in the environment; returns (ok, stdout, stderr).
fn check(url: &str, user: &str, password: &str) -> (bool, String, String) {
    let mut cmd = Command::new(BIN);
    base_env(&mut cmd).env("ROYAL_CARE_PASSWORD", password).args(["check", url, "--username", user]);
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn no_token_shown(text: &str) {
    let hex64 = text.split(|c: char| !c.is_ascii_hexdigit()).any(|w| w.len() >= 64);
    assert!(!hex64, "a token-like string was printed: {text}");
}

#[test]
fn check_passes_against_a_running_server() {
    let srv = Server::start();
    srv.add_user("ana", "operator");
    let (ok, out, err) = check(&format!("http://{}", srv.addr), "ana", PASSWORD);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("handshake: HTTP 101"), "{out}");
    assert!(out.contains("first message: {") && out.contains("initial_data"), "{out}");
    assert!(out.lines().last().unwrap().starts_with("OK: live updates work for ana (operator)"), "{out}");
    no_token_shown(&out);
    no_token_shown(&err);
    // The check logged its session out again.
    assert!(srv.wait_log("ws 1 closed", std::time::Duration::from_secs(5)));
    let n: i64 = rusqlite::Connection::open(&srv.db)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM auth_tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn check_fails_clearly_on_refused_connection_and_bad_login() {
    let free = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (ok, _, err) = check(&format!("http://{free}"), "ana", "x");
    assert!(!ok);
    assert!(err.contains("cannot connect"), "{err}");

    let srv = Server::start();
    srv.add_user("ana", "operator");
    let (ok, out, err) = check(&format!("http://{}/", srv.addr), "ana", "wrong-password");
    assert!(!ok);
    assert!(out.contains("login: HTTP 401"), "{out}");
    assert!(err.contains("login as ana failed"), "{err}");
}

#[test]
fn check_fails_when_the_socket_is_closed_instead_of_initial_data() {
    // A real server whose per-user cap is already used up: the check's socket is closed.
    let srv = Server::start_with(&[("ROYAL_CARE_MAX_SOCKETS_PER_USER", "1")]);
    let token = srv.user("ana", "operator");
    let url = format!("ws://{}/ws/scheduling/appointments/?token={token}", srv.addr);
    let (_held, _) = tungstenite::connect(url).unwrap();
    let (ok, out, err) = check(&format!("http://{}", srv.addr), "ana", PASSWORD);
    assert!(!ok);
    assert!(out.contains("handshake: HTTP 101"), "{out}");
    assert!(err.contains("closed the socket with 1008"), "{err}");
}

/// A scripted peer for the one answer a healthy server never gives a fresh login: a 4001
/// right after the handshake.
#[test]
#[allow(clippy::result_large_err)] // tungstenite's callback signature
fn check_reports_a_4001_close() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        // 1: the login
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        let body = format!(r#"{{"token":"{}","expiry":"x","user":{{"role":"operator"}}}}"#, "ab".repeat(32));
        let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        drop(s);
        // 2: the socket, closed at once with 4001
        let (s, _) = listener.accept().unwrap();
        let mut ws = tungstenite::accept_hdr(s, |_: &_, mut r: tungstenite::handshake::server::Response| {
            r.headers_mut().insert("Sec-WebSocket-Protocol", "bearer".parse().unwrap());
            Ok(r)
        })
        .unwrap();
        let _ = ws.close(Some(tungstenite::protocol::CloseFrame { code: 4001.into(), reason: "invalid token".into() }));
        let _ = ws.flush();
        let _ = ws.read();
        // 3: the logout
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        }
    });
    let (ok, out, err) = check(&format!("http://{addr}"), "ana", "pw");
    assert!(!ok, "{out}");
    assert!(out.contains("handshake: HTTP 101"), "{out}");
    assert!(err.contains("4001") && err.contains("log in again"), "{err}");
}
