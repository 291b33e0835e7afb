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

#[test]
fn the_last_active_operator_cannot_be_deactivated_and_user_activate_brings_one_back() {
    let srv = Server::start();
    srv.add_user("ana", "operator");
    srv.add_user("ben", "driver");
    let (ok, _, err) = srv.cli(&["user", "deactivate", "ana"], "");
    assert!(!ok, "the only operator was deactivated");
    assert_eq!(
        err.trim(),
        "error: cannot deactivate ana: this is the last active operator; activate or add another operator first."
    );
    assert_eq!(srv.call("GET", "/api/auth/profile/", Some(&srv.login("ana")), None).0, 200, "ana still works");
    // With a second operator, one of them may go; then the other is the last.
    srv.add_user("cy", "operator");
    let (ok, _, err) = srv.cli(&["user", "deactivate", "ana"], "");
    assert!(ok, "{err}");
    let (ok, _, err) = srv.cli(&["user", "deactivate", "cy"], "");
    assert!(!ok && err.contains("last active operator"), "{err}");
    // Other roles are not counted and not limited.
    let (ok, _, err) = srv.cli(&["user", "deactivate", "ben"], "");
    assert!(ok, "{err}");
    // activate: ana logs in again with her old password.
    let (ok, out, err) = srv.cli(&["user", "activate", "ana"], "");
    assert!(ok && out.contains("Activated ana"), "{out}{err}");
    let token = srv.login("ana");
    let (_, out, _) = srv.cli(&["user", "list"], "");
    assert!(out.lines().any(|l| l.contains("ana") && l.contains(" yes ")), "{out}");
    // The API keeps the same rule: ana may now deactivate cy (two operators).
    let (_, staff) = srv.call("GET", "/api/scheduling/staff/", Some(&token), None);
    let list = staff.as_array().or(staff["results"].as_array()).unwrap().clone();
    let cy = list.iter().find(|u| u["username"] == "cy").unwrap()["id"].as_i64().unwrap();
    let (s, v) = srv.call(
        "PATCH",
        &format!("/api/scheduling/staff/{cy}/"),
        Some(&token),
        Some(&serde_json::json!({"is_active": false})),
    );
    assert_eq!(s, 200, "{v}");
    let (ok, _, err) = srv.cli(&["user", "deactivate", "ana"], "");
    assert!(!ok && err.contains("last active operator"), "{err}");
    let (ok, _, err) = srv.cli(&["user", "activate", "nobody"], "");
    assert!(!ok && err.contains("no user named"), "{err}");
}

/// SPEC §3: an error in use is one clear sentence on stderr, saying where help is.
#[test]
fn usage_errors_are_one_sentence() {
    let cases: [(&[&str], &str); 5] = [
        (&["user", "add", "--username", "x"], "`royal-care user add --help`"),
        (&["user", "add", "--username", "x", "--role", "boss"], "`royal-care user add --help`"),
        (&["--db", "x.db", "serve", "--no-such-flag"], "`royal-care serve --help`"),
        (&["frobnicate"], "`royal-care --help`"),
        (&[], "`royal-care --help`"),
    ];
    for (args, hint) in cases {
        let out = Command::new(BIN).args(args).env_remove("ROYAL_CARE_DB").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: ") && err.trim().ends_with(&format!("see {hint}.")), "{args:?}: {err}");
    }
    // Help itself is still the full text, on stdout.
    let out = Command::new(BIN).args(["user", "add", "--help"]).output().unwrap();
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).lines().count() > 5);
}

/// An error names the setting the way the person gave it: the flag, or the variable.
#[test]
fn setting_errors_name_the_flag_or_the_variable_that_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = Command::new(BIN);
        cmd.arg("--db")
            .arg(&db)
            .args(args)
            .env_remove("ROYAL_CARE_PASSWORD_ITERATIONS")
            .env_remove("ROYAL_CARE_INSECURE_FAST_HASHES_FOR_TESTS");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.stdin(std::process::Stdio::null()).output().unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).trim().to_string()
    };
    let err = run(&["serve", "--password-iterations", "1000"], &[]);
    assert!(err.starts_with("error: --password-iterations must be at least 600000"), "{err}");
    let err = run(&["serve"], &[("ROYAL_CARE_PASSWORD_ITERATIONS", "1000")]);
    assert!(err.starts_with("error: ROYAL_CARE_PASSWORD_ITERATIONS must be at least"), "{err}");
    let err = run(&["serve", "--ws-idle-secs", "5", "--ws-ping-secs", "10"], &[]);
    assert_eq!(err, "error: --ws-idle-secs must be longer than --ws-ping-secs.");
    assert!(!db.exists());
}

/// The README's test command is what CI runs, and CI installs only system packages: the
/// browser harness fetches its own npm packages, so a fresh clone passes the same way.
#[test]
fn ci_runs_the_readmes_test_command_verbatim_after_system_packages_only() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let section = readme.split("## Run the tests").nth(1).unwrap();
    let block = section.split("```sh\n").nth(1).unwrap().split("```").next().unwrap();
    let command = block.trim();
    assert_eq!(command.lines().count(), 1, "the README's test command is one line: {block}");
    let ci = std::fs::read_to_string(format!("{root}/.ci/run")).unwrap();
    let steps: Vec<&str> =
        ci.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("echo")).collect();
    assert_eq!(steps.last(), Some(&command), "CI's last step must be the README's test command");
    for step in &steps[..steps.len() - 1] {
        assert!(!step.contains("npm ci") && !step.contains("npm install"), "CI installs npm packages itself: {step}");
        assert!(!step.starts_with("cargo test"), "CI runs tests other than the README's command: {step}");
    }
}
