//! Starting and stopping against real files (issue 12): a clean stop leaves the whole
//! database in the `.db` file; a `serve` that cannot listen touches no database; a file
//! that is not ours, a missing folder and a damaged schema are refused in one sentence
//! with nothing changed; the database and its side files are the owner's alone (0600).
mod common;
use common::*;
use rusqlite::Connection;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Runs a `serve` that must refuse to start; one that starts anyway is stopped after
/// 20 s, so the test fails instead of hanging.
fn serve(db: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    base_env(&mut cmd).arg("--db").arg(db).arg("serve").args(args);
    let child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output().unwrap()));
    rx.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| {
        let _ = Command::new("kill").arg(pid.to_string()).status();
        panic!("serve {args:?} started on {} instead of refusing", db.display())
    })
}

/// The error of a command that must fail: one sentence, no panic.
fn one_sentence(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert!(!out.status.success(), "it should have failed: {err}");
    assert!(err.starts_with("error: ") && err.lines().count() == 1 && !err.contains("panicked"), "{err}");
    err
}

fn side(db: &Path, ext: &str) -> std::path::PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(ext);
    p.into()
}

#[test]
fn a_clean_stop_leaves_every_user_in_the_db_file_alone() {
    let mut srv = Server::start();
    for name in ["ana", "ben", "cy"] {
        srv.add_user(name, "operator");
    }
    let token = srv.login("ana");
    let body = serde_json::json!({"username": "dee", "role": "driver", "password": "a-good-password-1"});
    let (s, v) = srv.call("POST", "/api/scheduling/staff/", Some(&token), Some(&body));
    assert_eq!(s, 201, "{v}");
    assert!(srv.terminate().success());
    let wal = std::fs::metadata(side(&srv.db, "-wal")).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal, 0, "the -wal still holds changes after a clean stop");
    // A copy of the .db file alone, the way people back up.
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("copy.db");
    std::fs::copy(&srv.db, &copy).unwrap();
    let (ok, out, err) = run_cli(&copy, &["user", "list"], "");
    assert!(ok, "{err}");
    for name in ["ana", "ben", "cy", "dee"] {
        assert!(out.contains(name), "{name} is missing from the copy: {out}");
    }
}

#[test]
fn a_serve_that_cannot_listen_creates_no_database() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    let err = one_sentence(&serve(&db, &["--addr", &addr]));
    assert!(err.contains("stop the other program") && err.contains("--addr"), "{err}");
    assert!(!db.exists(), "a failed bind left a database file");
}

#[test]
fn a_second_demo_that_cannot_listen_keeps_the_running_demos_database() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("royal-care-demo.db");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/royal-care.db.example"), &db).unwrap();
    // The running demo's later work.
    let (ok, _, err) =
        run_cli(&db, &["user", "add", "--username", "made-during-the-demo", "--role", "driver"], PASSWORD);
    assert!(ok, "{err}");
    let before = std::fs::read(&db).unwrap();
    let err = one_sentence(&serve(&db, &["--demo", "--addr", &addr]));
    assert!(err.contains("stop the other program"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), before, "the demo's database was replaced");
}

#[test]
fn bad_addresses_get_their_own_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let err = one_sentence(&serve(&db, &["--addr", "nonsense"]));
    assert!(err.contains("--addr") && err.contains("not an address") && !err.contains("other program"), "{err}");
    // TEST-NET-1: no machine running this test has it.
    let err = one_sentence(&serve(&db, &["--addr", "192.0.2.1:8000"]));
    assert!(err.contains("no such address") && !err.contains("other program"), "{err}");
    assert!(!db.exists());
}

#[test]
fn another_programs_sqlite_file_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.db");
    let c = Connection::open(&other).unwrap();
    c.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('hi');")
        .unwrap();
    drop(c);
    let before = std::fs::read(&other).unwrap();
    let err = one_sentence(&serve(&other, &["--addr", "127.0.0.1:0"]));
    assert!(err.contains("another program's") && err.contains("--db"), "{err}");
    let (ok, _, err) = run_cli(&other, &["user", "add", "--username", "ana", "--role", "operator"], PASSWORD);
    assert!(!ok && err.contains("another program's") && err.trim().lines().count() == 1, "{err}");
    assert_eq!(std::fs::read(&other).unwrap(), before, "the other program's file was changed");
    assert!(!side(&other, "-wal").exists());
    // Nor a file that is no database at all.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "x".repeat(4096)).unwrap();
    let (ok, _, err) = run_cli(&text, &["user", "list"], "");
    assert!(!ok && err.contains("another program's") && err.trim().lines().count() == 1, "{err}");
}

#[test]
fn a_missing_folder_is_named_with_the_flag_or_variable_given() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("no-such-folder").join("royal-care.db");
    let err = one_sentence(&serve(&db, &["--addr", "127.0.0.1:0"]));
    let folder = dir.path().join("no-such-folder");
    assert_eq!(
        err,
        format!("error: the folder {} does not exist; create it or choose another --db.", folder.display())
    );
    let mut cmd = Command::new(BIN);
    base_env(&mut cmd).env("ROYAL_CARE_DB", &db).args(["user", "add", "--username", "ana", "--role", "operator"]);
    let err = one_sentence(&cmd.stdin(Stdio::null()).output().unwrap());
    assert!(err.ends_with("choose another ROYAL_CARE_DB."), "{err}");
    assert!(!folder.exists());
}

#[test]
fn a_damaged_schema_version_is_one_sentence_not_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("royal-care.db");
    let (ok, _, err) = run_cli(&db, &["user", "add", "--username", "ana", "--role", "operator"], PASSWORD);
    assert!(ok, "{err}");
    // Hand-edited back to version 1: version 2's columns are already there.
    Connection::open(&db).unwrap().pragma_update(None, "user_version", 1).unwrap();
    let (ok, _, err) = run_cli(&db, &["user", "list"], "");
    assert!(!ok && err.trim().lines().count() == 1, "{err}");
    assert!(err.contains("restore a backup") && !err.contains("ALTER TABLE") && err.len() < 400, "{err}");
}

#[test]
fn the_database_and_its_side_files_are_the_owners_alone() {
    let srv = Server::start();
    srv.add_user("ana", "operator");
    for p in [srv.db.clone(), side(&srv.db, "-wal"), side(&srv.db, "-shm")] {
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {mode:o}", p.display());
    }
}
