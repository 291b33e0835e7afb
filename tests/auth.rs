//! Login, tokens and sessions over real sockets (SPEC §4 auth, issue 2 point 4).
mod common;
use common::*;
use rusqlite::Connection;
use serde_json::json;
use sha2::{Digest, Sha512};
use std::time::{Duration, Instant};

fn login_as(srv: &Server, username: &str, password: &str) -> HttpResponse {
    let body = json!({"username": username, "password": password}).to_string();
    srv.request("POST", "/api/auth/login/", None, Some(&body), &[])
}

fn db(srv: &Server) -> Connection {
    Connection::open(&srv.db).unwrap()
}

fn hex_sha512(s: &str) -> String {
    Sha512::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn login_profile_logout_round_trip() {
    let srv = Server::start();
    let token = srv.user("ana", "operator");
    let (s, me) = srv.call("GET", "/api/auth/profile/", Some(&token), None);
    assert_eq!((s, me["username"].as_str(), me["role"].as_str()), (200, Some("ana"), Some("operator")));
    let (s, _) = srv.call("POST", "/api/auth/logout/", Some(&token), None);
    assert_eq!(s, 204);
    let r = srv.request("GET", "/api/auth/profile/", Some(&token), None, &[]);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("WWW-Authenticate"), Some("Token"));
}

#[test]
fn login_answer_has_knox_shape_and_email_works_too() {
    let srv = Server::start();
    srv.add_user("ana", "therapist");
    let r = login_as(&srv, "ana@example.org", PASSWORD);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let token = v["token"].as_str().unwrap();
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    let expiry = v["expiry"].as_str().unwrap();
    assert!(expiry.ends_with('Z') && expiry.contains('T'), "{expiry}");
    for k in
        ["id", "username", "first_name", "last_name", "email", "role", "phone_number", "specialization", "is_active"]
    {
        assert!(v["user"].get(k).is_some(), "user.{k} missing");
    }
    assert!(v["user"].get("password").is_none());
    // The scheme word is case-insensitive.
    let r = srv.raw(format!("GET /api/auth/profile/ HTTP/1.1\r\nAuthorization: tOkEn {token}\r\n\r\n").as_bytes());
    assert_eq!(r.status, 200);
}

#[test]
fn the_user_object_has_what_the_original_frontend_reads_and_no_leaked_field() {
    // The clinic's original React frontend redirects every page to /verify-email unless
    // `user.email_verified` is truthy, and reads the staff fields below.
    let srv = Server::start();
    srv.add_user("ana", "driver");
    let r = login_as(&srv, "ana", PASSWORD);
    assert_eq!(r.status, 200, "{}", r.text());
    let login = r.json();
    let user = &login["user"];
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["two_factor_enabled"], false);
    assert!(user["profile_photo_url"].is_null());
    for k in ["motorcycle_plate", "license_number", "massage_pressure"] {
        assert!(user[k].is_string(), "user.{k}: {user}");
    }
    // The profile is the same object.
    let token = login["token"].as_str().unwrap();
    let (s, me) = srv.call("GET", "/api/auth/profile/", Some(token), None);
    assert_eq!((s, &me), (200, user));
    // The original's leaked fields are never sent.
    for leaked in [
        "password",
        "verification_code",
        "failed_login_attempts",
        "locked_until",
        "is_superuser",
        "is_staff",
        "groups",
        "user_permissions",
        "last_login",
    ] {
        assert!(user.get(leaked).is_none(), "user.{leaked} leaked: {user}");
    }
}

#[test]
fn logout_with_the_bearer_scheme_revokes_the_token() {
    // The original frontend logs out with `Authorization: Bearer <token>`; the token must
    // really be revoked (its own server never did).
    let srv = Server::start();
    let token = srv.user("ana", "operator");
    let bearer = format!("Bearer {token}");
    let r = srv.request("GET", "/api/auth/profile/", None, None, &[("Authorization", &bearer)]);
    assert_eq!(r.status, 200, "Bearer is read on every endpoint");
    let r = srv.request("POST", "/api/auth/logout/", None, None, &[("Authorization", &bearer)]);
    assert_eq!(r.status, 204);
    assert_eq!(srv.call("GET", "/api/auth/profile/", Some(&token), None).0, 401);
    let n: i64 = db(&srv).query_row("SELECT COUNT(*) FROM auth_tokens", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn no_plaintext_token_in_any_table_or_log_line() {
    let srv = Server::start();
    let token = srv.user("ana", "operator");
    let _ = srv.request("GET", &format!("/health/?token={token}"), None, None, &[]);
    let (s, _) = srv.call("GET", "/api/auth/profile/", Some(&token), None);
    assert_eq!(s, 200);
    // Knox 5 storage: the digest is the key, token_key the first 15 characters.
    let c = db(&srv);
    let (digest, key): (String, String) =
        c.query_row("SELECT digest, token_key FROM auth_tokens", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!(digest, hex_sha512(&token));
    assert_eq!(key, token[..15]);
    // Every text cell of every table, and the raw file bytes (incl. WAL), lack the token.
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type='table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for t in tables {
        let mut stmt = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..n {
                if let Ok(Some(text)) = row.get::<_, Option<String>>(i) {
                    assert!(!text.contains(&token), "token stored in {t}");
                    assert!(!text.contains(PASSWORD), "password stored in {t}");
                }
            }
        }
    }
    for f in ["royal-care.db", "royal-care.db-wal"] {
        if let Ok(bytes) = std::fs::read(srv.dir.path().join(f)) {
            assert!(!bytes.windows(64).any(|w| w == token.as_bytes()), "token bytes in {f}");
        }
    }
    assert!(srv.wait_log("/health/?token=[redacted]", Duration::from_secs(5)));
    let log = srv.log();
    assert!(!log.contains(&token) && !log.contains(&token[..15]) && !log.contains(PASSWORD), "{log}");
}

#[test]
fn wrong_password_unknown_user_and_inactive_user_all_get_the_same_401() {
    let srv = Server::start();
    srv.add_user("ana", "therapist");
    srv.add_user("ben", "driver");
    let (ok, _, err) = srv.cli(&["user", "deactivate", "ben"], "");
    assert!(ok, "{err}");
    let answers: Vec<HttpResponse> = vec![
        login_as(&srv, "ana", "wrong-password"),
        login_as(&srv, "nobody", PASSWORD),
        login_as(&srv, "ben", PASSWORD),
    ];
    for r in &answers {
        assert_eq!(r.status, 401);
        assert_eq!(r.json()["code"], "INVALID_LOGIN");
        assert_eq!(r.json()["detail"], answers[0].json()["detail"]);
    }
}

/// Unknown usernames cost a full hash too, so timing does not reveal which users exist.
#[test]
fn unknown_users_take_as_long_as_known_ones() {
    // A realistic count so the hash dominates the timing.
    let srv = Server::start_with(&[("ROYAL_CARE_PASSWORD_ITERATIONS", "200000")]);
    let (ok, _, err) = run_cli_env(
        &srv.db,
        &["user", "add", "--username", "ana", "--role", "operator"],
        PASSWORD,
        &[("ROYAL_CARE_PASSWORD_ITERATIONS", "200000")],
    );
    assert!(ok, "{err}");
    let median = |name: &str| {
        let mut t: Vec<Duration> = (0..5)
            .map(|_| {
                let s = Instant::now();
                assert_eq!(login_as(&srv, name, "wrong-password").status, 401);
                s.elapsed()
            })
            .collect();
        t.sort();
        t[2]
    };
    let known = median("ana");
    let unknown = median("nobody-here");
    let ratio = unknown.as_secs_f64() / known.as_secs_f64();
    assert!((0.5..2.0).contains(&ratio), "known {known:?} vs unknown {unknown:?}");
}

/// A command that exits before reading its stdin (here a refused setting, with more
/// input than a pipe holds, so the write always meets the closed pipe) is reported by
/// its exit status and its one-sentence error, never as the test's own broken pipe.
#[test]
fn a_command_that_exits_before_reading_its_password_is_reported_by_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let dbp = dir.path().join("x.db");
    let big = "x".repeat(1 << 20);
    let (ok, _, err) = run_cli_env(
        &dbp,
        &["user", "add", "--username", "ana", "--role", "driver"],
        &big,
        &[("ROYAL_CARE_PASSWORD_ITERATIONS", "1000"), ("ROYAL_CARE_INSECURE_FAST_HASHES_FOR_TESTS", "0")],
    );
    assert!(!ok);
    assert!(err.contains("at least 600000") && err.trim().lines().count() == 1, "{err}");
}

#[test]
fn repeated_failures_are_throttled_per_username_with_retry_after() {
    let srv = Server::start();
    srv.add_user("ana", "operator");
    let mut statuses = vec![];
    for _ in 0..12 {
        statuses.push(login_as(&srv, "ana", "wrong-password").status);
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    let r = login_as(&srv, "ana", PASSWORD);
    assert_eq!(r.status, 429, "even the right password waits while locked");
    assert_eq!(r.json()["code"], "THROTTLED");
    let wait: u64 = r.header("Retry-After").unwrap().parse().unwrap();
    assert!((1..=300).contains(&wait), "{wait}");
    // Another user from the same address is not locked by ana's lock.
    srv.add_user("ben", "driver");
    assert_eq!(login_as(&srv, "ben", PASSWORD).status, 200);
}

#[test]
fn a_known_address_is_not_locked_out_by_failures_elsewhere() {
    // After a successful login from this address, the username lock does not apply here.
    let srv = Server::start();
    srv.add_user("ana", "operator");
    assert_eq!(login_as(&srv, "ana", PASSWORD).status, 200);
    for _ in 0..10 {
        login_as(&srv, "ana", "wrong-password");
    }
    assert_eq!(login_as(&srv, "ana", PASSWORD).status, 200);
}

#[test]
fn repeated_failures_are_throttled_per_address() {
    let srv = Server::start();
    for i in 0..20 {
        assert_eq!(login_as(&srv, &format!("guess{i}"), "x").status, 401);
    }
    let r = login_as(&srv, "guess-next", "x");
    assert_eq!(r.status, 429);
    assert!(r.header("Retry-After").is_some());
}

#[test]
fn logoutall_revokes_every_token_of_the_user_only() {
    let srv = Server::start();
    let a1 = srv.user("ana", "operator");
    let a2 = srv.login("ana");
    let b = srv.user("ben", "driver");
    assert_eq!(srv.call("POST", "/api/auth/logoutall/", Some(&a1), None).0, 204);
    assert_eq!(srv.call("GET", "/api/auth/profile/", Some(&a1), None).0, 401);
    assert_eq!(srv.call("GET", "/api/auth/profile/", Some(&a2), None).0, 401);
    assert_eq!(srv.call("GET", "/api/auth/profile/", Some(&b), None).0, 200);
}

#[test]
fn change_password_checks_the_old_one_and_revokes_other_sessions() {
    let srv = Server::start();
    let a1 = srv.user("ana", "operator");
    let a2 = srv.login("ana");
    let (s, v) = srv.call(
        "PUT",
        "/api/auth/change-password/",
        Some(&a1),
        Some(&json!({"current_password": "nope-nope", "new_password": "brand-new-pass-2"})),
    );
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid")));
    assert!(v["fields"]["current_password"].is_array());
    let (s, v) = srv.call(
        "PUT",
        "/api/auth/change-password/",
        Some(&a1),
        Some(&json!({"current_password": PASSWORD, "new_password": "short"})),
    );
    assert_eq!(s, 400);
    assert!(v["fields"]["new_password"].is_array());
    assert_eq!(srv.call("GET", "/api/auth/profile/", Some(&a2), None).0, 200, "refused changes revoke nothing");
    let (s, _) = srv.call(
        "PUT",
        "/api/auth/change-password/",
        Some(&a1),
        Some(&json!({"current_password": PASSWORD, "new_password": "brand-new-pass-2"})),
    );
    assert_eq!(s, 200);
    assert_eq!(srv.call("GET", "/api/auth/profile/", Some(&a1), None).0, 200, "this session stays");
    assert_eq!(srv.call("GET", "/api/auth/profile/", Some(&a2), None).0, 401, "others end");
    assert_eq!(login_as(&srv, "ana", PASSWORD).status, 401);
    assert_eq!(login_as(&srv, "ana", "brand-new-pass-2").status, 200);
}

#[test]
fn hashes_from_a_django_database_verify_at_their_own_iteration_count() {
    let srv = Server::start();
    srv.add_user("ana", "operator");
    // Django 4.x format, 260,000 iterations (Django 3.2's default), made with hashlib:
    // base64(pbkdf2_hmac('sha256', b'royalcare123', b'Yw3c1Xr1mVhzSaltSalt00', 260000))
    let django = "pbkdf2_sha256$260000$Yw3c1Xr1mVhzSaltSalt00$RY8k6fkeO/cFTIrMJ2Wr1NrUHKbqXF5Q86dNjueEags=";
    db(&srv).execute("UPDATE users SET password = ?1 WHERE username = 'ana'", [django]).unwrap();
    assert_eq!(login_as(&srv, "ana", "royalcare124").status, 401);
    assert_eq!(login_as(&srv, "ana", "royalcare123").status, 200);
}

#[test]
fn new_hashes_use_600000_iterations_unless_the_test_flag_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let dbp = dir.path().join("x.db");
    let add = |extra: &[(&str, &str)]| {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut cmd = Command::new(BIN);
        cmd.env_remove("ROYAL_CARE_PASSWORD_ITERATIONS").env_remove("ROYAL_CARE_INSECURE_FAST_HASHES_FOR_TESTS");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.arg("--db").arg(&dbp).args(["user", "add", "--username", &format!("u{}", extra.len()), "--role", "driver"]);
        let mut c = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        // A refused setting exits before reading stdin: a broken pipe here is expected.
        let _ = c.stdin.take().unwrap().write_all(b"a-good-password\n");
        c.wait_with_output().unwrap()
    };
    assert!(add(&[]).status.success());
    let hash: String = Connection::open(&dbp)
        .unwrap()
        .query_row("SELECT password FROM users WHERE username='u0'", [], |r| r.get(0))
        .unwrap();
    assert!(hash.starts_with("pbkdf2_sha256$600000$"), "{}", &hash[..25]);
    let weak = add(&[("ROYAL_CARE_PASSWORD_ITERATIONS", "1000")]);
    assert!(!weak.status.success());
    let err = String::from_utf8_lossy(&weak.stderr);
    assert!(err.contains("at least 600000") && err.lines().count() == 1, "{err}");
}

#[test]
fn tokens_refresh_on_use_at_most_once_a_minute() {
    let srv = Server::start();
    let token = srv.user("ana", "operator");
    let expiry = || -> String { db(&srv).query_row("SELECT expiry FROM auth_tokens", [], |r| r.get(0)).unwrap() };
    let first = expiry();
    for _ in 0..5 {
        assert_eq!(srv.call("GET", "/api/auth/profile/", Some(&token), None).0, 200);
    }
    assert_eq!(expiry(), first, "no write for uses within a minute");
    // Pretend the token is older: its expiry is now 10 minutes sooner.
    db(&srv)
        .execute("UPDATE auth_tokens SET expiry = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+35400 seconds')", [])
        .unwrap();
    let aged = expiry();
    assert_eq!(srv.call("GET", "/api/auth/profile/", Some(&token), None).0, 200);
    let renewed = expiry();
    assert!(renewed > aged, "{renewed} should be after {aged}");
    assert!(renewed >= first);
}

#[test]
fn expired_tokens_are_refused_and_deleted() {
    let srv = Server::start();
    let token = srv.user("ana", "operator");
    db(&srv).execute("UPDATE auth_tokens SET expiry = '2000-01-01T00:00:00.000000Z'", []).unwrap();
    assert_eq!(srv.call("GET", "/api/auth/profile/", Some(&token), None).0, 401);
    // The maintenance loop (every 10 s) deletes it and says so.
    assert!(srv.wait_log("ended 1 expired session", Duration::from_secs(25)), "{}", srv.log());
    let n: i64 = db(&srv).query_row("SELECT COUNT(*) FROM auth_tokens", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn calls_without_a_valid_token_get_401() {
    let srv = Server::start();
    for auth in [None, Some("Token short"), Some("Bearer aaaa"), Some(&*format!("Token {}", "0".repeat(64)))] {
        let headers: Vec<(&str, &str)> = auth.map(|a| vec![("Authorization", a)]).unwrap_or_default();
        let r = srv.request("GET", "/api/auth/profile/", None, None, &headers);
        assert_eq!(r.status, 401, "{auth:?}");
        assert_eq!(r.header("WWW-Authenticate"), Some("Token"));
    }
}
