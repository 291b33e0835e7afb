//! Password guessing under concurrency, from outside: hundreds of wrong passwords sent at
//! once over real sockets get no more password checks than the throttle's limits (every
//! attempt reserves its place before it hashes), for logins and for change-password.
//! What the server hashed is seen from outside: every answer that is not 429 ran a hash.

mod common;

use common::{read_response, run_cli_env, HttpResponse, Server, PASSWORD};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// The server's limits (src/auth/throttle.rs), stated here as the contract under test.
const USER_LIMIT: usize = 10;
const ADDR_LIMIT: usize = 20;
const FLOOD: usize = 300;

/// Adds a user whose stored hash is slow to check (100,000 iterations), so that hundreds
/// of guesses really are in flight at once, as against a real 600,000-iteration hash.
fn add_slow_user(srv: &Server, username: &str) {
    let email = format!("{username}@example.org");
    let args = ["user", "add", "--username", username, "--role", "operator", "--email", &email];
    let (ok, _, err) = run_cli_env(&srv.db, &args, PASSWORD, &[("ROYAL_CARE_PASSWORD_ITERATIONS", "100000")]);
    assert!(ok, "user add failed: {err}");
}

fn request(srv: &Server, method: &str, path: &str, token: Option<&str>, body: &serde_json::Value) -> Vec<u8> {
    let body = body.to_string();
    let auth = token.map(|t| format!("Authorization: Token {t}\r\n")).unwrap_or_default();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        srv.addr,
        body.len()
    )
    .into_bytes()
}

/// Sends `raw` on `n` connections at once (one thread each, released together) and
/// returns every answer. Bounded: each socket times out, the whole flood must end in 90 s.
fn flood(srv: &Server, n: usize, raw: Vec<u8>) -> Vec<HttpResponse> {
    let start = Arc::new(Barrier::new(n));
    let raw = Arc::new(raw);
    let began = Instant::now();
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (start, raw, addr) = (start.clone(), raw.clone(), srv.addr);
            std::thread::spawn(move || {
                start.wait();
                let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(20)).ok()?;
                s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
                s.write_all(&raw).ok()?;
                read_response(&mut s)
            })
        })
        .collect();
    let answers: Vec<HttpResponse> =
        threads.into_iter().map(|t| t.join().unwrap().expect("every attempt gets an answer")).collect();
    assert!(began.elapsed() < Duration::from_secs(90), "the flood took {:?}", began.elapsed());
    answers
}

/// Every answer is `ok_status` (a hash ran) or 429 with `Retry-After` and a sentence;
/// returns how many hashes ran.
fn hashes_run(answers: &[HttpResponse], ok_status: u16, sentence: &str) -> usize {
    let mut tally = std::collections::BTreeMap::<u16, usize>::new();
    for r in answers {
        *tally.entry(r.status).or_default() += 1;
        if r.status == 429 {
            let wait: u64 = r.header("Retry-After").expect("429 has Retry-After").parse().unwrap();
            assert!((1..=600).contains(&wait), "Retry-After {wait}");
            let detail = r.json()["detail"].as_str().unwrap_or_default().to_string();
            assert!(detail.starts_with(sentence) && detail.ends_with('.'), "{detail}");
        }
    }
    eprintln!("answers by status: {tally:?}");
    // A 503 means a check waited over 10 s for the hash gate: more hashes than the limit.
    assert!(tally.keys().all(|s| *s == ok_status || *s == 429), "answers by status: {tally:?}");
    tally.get(&ok_status).copied().unwrap_or(0)
}

fn login_body(password: &str) -> serde_json::Value {
    json!({"username": "ana", "password": password})
}

#[test]
fn concurrent_wrong_passwords_for_one_user_run_at_most_the_user_limit_of_hashes() {
    let srv = Server::start();
    add_slow_user(&srv, "ana");
    let raw = request(&srv, "POST", "/api/auth/login/", None, &login_body("wrong-password"));
    let answers = flood(&srv, FLOOD, raw);
    let ran = hashes_run(&answers, 401, "Too many failed logins; try again in ");
    // This address never logged in as ana, so the per-username limit applies.
    assert!((1..=USER_LIMIT).contains(&ran), "{ran} of {FLOOD} wrong passwords were checked");
    // ana is now locked for new devices, even with the right password.
    let r = srv.request("POST", "/api/auth/login/", None, Some(&login_body(PASSWORD).to_string()), &[]);
    assert_eq!(r.status, 429);
}

#[test]
fn from_a_known_address_concurrent_wrong_passwords_run_at_most_the_address_limit() {
    let srv = Server::start();
    add_slow_user(&srv, "ana");
    // This address logged in as ana: the per-username limit does not apply here, the
    // per-address one still does.
    assert_eq!(srv.login("ana").len(), 64);
    let raw = request(&srv, "POST", "/api/auth/login/", None, &login_body("wrong-password"));
    let answers = flood(&srv, FLOOD, raw);
    let ran = hashes_run(&answers, 401, "Too many failed logins; try again in ");
    assert!((1..=ADDR_LIMIT).contains(&ran), "{ran} of {FLOOD} wrong passwords were checked");
}

fn change_body(current: &str) -> serde_json::Value {
    json!({"current_password": current, "new_password": "brand-new-pass-2"})
}

#[test]
fn concurrent_wrong_current_passwords_in_change_password_are_throttled_per_user() {
    let srv = Server::start();
    add_slow_user(&srv, "ana");
    let token = srv.login("ana");
    let raw = request(&srv, "PUT", "/api/auth/change-password/", Some(&token), &change_body("not-my-password"));
    let answers = flood(&srv, 100, raw);
    let ran = hashes_run(&answers, 400, "Too many wrong current passwords; try again in ");
    assert!((1..=USER_LIMIT).contains(&ran), "{ran} of 100 wrong current passwords were checked");
    for r in answers.iter().filter(|r| r.status == 400) {
        assert!(r.json()["fields"]["current_password"].is_array(), "{}", r.text());
    }
    // Locked: even the right current password waits, and the password is unchanged.
    let (s, v) = srv.call("PUT", "/api/auth/change-password/", Some(&token), Some(&change_body(PASSWORD)));
    assert_eq!((s, v["code"].as_str()), (429, Some("THROTTLED")));
    // Another user from the same address is not locked by ana's failures.
    srv.add_user("ben", "driver");
    let ben = srv.login("ben");
    let (s, _) = srv.call("PUT", "/api/auth/change-password/", Some(&ben), Some(&change_body(PASSWORD)));
    assert_eq!(s, 200);
}

#[test]
fn wrong_current_passwords_in_change_password_are_throttled_per_address() {
    let srv = Server::start();
    let tokens: Vec<String> = ["ana", "ben", "cy"].iter().map(|u| srv.user(u, "operator")).collect();
    // 8 wrong each stays under the per-user limit; the address reaches its 20 first.
    let mut statuses = Vec::new();
    for t in &tokens {
        for _ in 0..8 {
            statuses.push(srv.call("PUT", "/api/auth/change-password/", Some(t), Some(&change_body("nope-nope"))).0);
        }
    }
    assert_eq!(&statuses[..ADDR_LIMIT], &[400; ADDR_LIMIT]);
    assert_eq!(&statuses[ADDR_LIMIT..], &[429; 24 - ADDR_LIMIT]);
}
