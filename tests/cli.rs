//! The command line (issue 2, point 5): staff accounts, backup while serving, start-up
//! log, clean stop, and one-sentence errors.
mod common;
use common::*;
use rusqlite::Connection;
use std::process::Command;
use std::time::Duration;

#[test]
fn user_add_list_passwd_and_errors() {
    let srv = Server::start();
    srv.add_user("ana", "operator");
    let (ok, out, _) = srv.cli(&["user", "list"], "");
    assert!(ok && out.contains("ana") && out.contains("operator"), "{out}");
    let (ok, _, err) = srv.cli(&["user", "add", "--username", "ana", "--role", "driver"], PASSWORD);
    assert!(!ok);
    assert!(err.starts_with("error: ") && err.trim().lines().count() == 1 && err.contains("already exists"), "{err}");
    let (ok, _, err) = srv.cli(&["user", "add", "--username", "bo", "--role", "driver"], "123");
    assert!(!ok && err.contains("password") && err.trim().lines().count() == 1, "{err}");
    // The password never comes from argv.
    let (ok, _, err) =
        srv.cli(&["user", "add", "--username", "cy", "--role", "driver", "--password", "a-good-password"], "");
    assert!(!ok, "{err}");
    // passwd: new password works, the old one and old sessions do not.
    let old = srv.login("ana");
    let (ok, _, err) = srv.cli(&["user", "passwd", "ana"], "another-pass-9");
    assert!(ok, "{err}");
    assert_eq!(srv.call("GET", "/api/auth/profile/", Some(&old), None).0, 401);
    let body = serde_json::json!({"username": "ana", "password": "another-pass-9"});
    assert_eq!(srv.call("POST", "/api/auth/login/", None, Some(&body)).0, 200);
    let (ok, _, err) = srv.cli(&["user", "passwd", "nobody"], "another-pass-9");
    assert!(!ok && err.contains("no user named"), "{err}");
}

#[test]
fn deactivate_while_serving_ends_sessions_and_logins() {
    let srv = Server::start();
    let token = srv.user("ben", "driver");
    let (ok, out, err) = srv.cli(&["user", "deactivate", "ben"], "");
    assert!(ok, "{out}{err}");
    assert_eq!(srv.call("GET", "/api/auth/profile/", Some(&token), None).0, 401);
    let body = serde_json::json!({"username": "ben", "password": PASSWORD});
    assert_eq!(srv.call("POST", "/api/auth/login/", None, Some(&body)).0, 401);
    let (_, out, _) = srv.cli(&["user", "list"], "");
    assert!(out.lines().any(|l| l.contains("ben") && l.contains(" no ")), "{out}");
}

#[test]
fn backup_while_serving_is_consistent_and_gets_a_new_epoch() {
    let srv = Server::start();
    srv.add_user("ana", "operator");
    // Keep the server writing (logins insert tokens) while the backup runs.
    let writer = {
        let addr = srv.addr;
        std::thread::spawn(move || {
            for _ in 0..30 {
                let body = format!(r#"{{"username":"ana","password":"{PASSWORD}"}}"#);
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                use std::io::Write;
                write!(
                    s,
                    "POST /api/auth/login/ HTTP/1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
                assert_eq!(read_response(&mut s).unwrap().status, 200);
            }
        })
    };
    let copy = srv.dir.path().join("copy.db");
    let (ok, out, err) = srv.cli(&["backup", copy.to_str().unwrap()], "");
    writer.join().unwrap();
    assert!(ok, "{out}{err}");
    let c = Connection::open(&copy).unwrap();
    let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let users: i64 = c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0)).unwrap();
    assert_eq!(users, 1);
    let epoch_of = |c: &Connection| -> String {
        c.query_row("SELECT value FROM meta WHERE key='epoch'", [], |r| r.get(0)).unwrap()
    };
    assert_ne!(epoch_of(&c), epoch_of(&Connection::open(&srv.db).unwrap()));
    // Never overwrites.
    let (ok, _, err) = srv.cli(&["backup", copy.to_str().unwrap()], "");
    assert!(!ok && err.contains("already exists"), "{err}");
}

#[test]
fn commands_on_a_missing_database_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.db");
    for args in [&["user", "list"][..], &["backup", "/tmp/x.db"], &["user", "deactivate", "x"]] {
        let (ok, _, err) = run_cli(&missing, args, "");
        assert!(!ok);
        assert!(err.starts_with("error: there is no database at") && err.trim().lines().count() == 1, "{err}");
        assert!(!missing.exists(), "a maintenance command must not create a database");
    }
}

#[test]
fn serve_logs_address_and_database_and_stops_cleanly_on_sigterm() {
    let mut srv = Server::start();
    let log = srv.log();
    assert!(log.contains(&format!("listening on http://{}/", srv.addr)));
    assert!(log.contains(&format!("database: {}", srv.db.display())));
    assert!(!log.to_lowercase().contains("demo mode"));
    let status = srv.terminate();
    assert!(status.success(), "{status:?}");
    assert!(srv.wait_log("stopped", Duration::from_secs(5)), "{}", srv.log());
}

#[test]
fn bad_settings_are_one_sentence_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let cases = [
        vec![("ROYAL_CARE_ADDR", busy.local_addr().unwrap().to_string())],
        vec![
            ("ROYAL_CARE_PASSWORD_ITERATIONS", "1000".to_string()),
            ("ROYAL_CARE_INSECURE_FAST_HASHES_FOR_TESTS", "0".to_string()),
        ],
        vec![("ROYAL_CARE_WS_IDLE_SECS", "5".to_string()), ("ROYAL_CARE_WS_PING_SECS", "10".to_string())],
        vec![("ROYAL_CARE_ALLOWED_ORIGINS", "app.clinic.lan".to_string())],
    ];
    for env in cases {
        let mut cmd = Command::new(BIN);
        cmd.arg("--db")
            .arg(&db)
            .arg("serve")
            .env_remove("ROYAL_CARE_PASSWORD_ITERATIONS")
            .env_remove("ROYAL_CARE_INSECURE_FAST_HASHES_FOR_TESTS");
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.trim().lines().last().unwrap_or("");
        assert!(!out.status.success(), "{env:?}");
        assert!(last.starts_with("error: ") && !err.contains("panicked"), "{env:?}: {err}");
    }
}

/// docs/CONFIG.md lists every environment variable that `serve --help` shows.
#[test]
fn config_doc_lists_every_setting() {
    let out = Command::new(BIN).args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/CONFIG.md")).unwrap();
    let vars: Vec<&str> = help.split("env: ").skip(1).map(|rest| rest.split('=').next().unwrap()).collect();
    assert!(vars.len() > 10, "{help}");
    for v in vars {
        assert!(doc.contains(&format!("`{v}`")), "docs/CONFIG.md does not mention {v}");
    }
}
