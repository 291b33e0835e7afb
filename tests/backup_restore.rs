//! Backups that restore (issue 12, deliverable 3), through the real binary on a real
//! database: `backup DIR --keep N` with timestamped names and rotation, `/health/`'s
//! `last_backup_age_secs`, `restore` refusing under a running server and refusing files
//! that are not sound royal-care databases, and a socket that resumes against the
//! restored database getting a fresh `initial_data` (`resync`) with the restored data.
//! Also the serving lock (point A): one server per database, released by kill -9.

mod clinic;
mod common;
mod ws_support;

use clinic::{today, Clinic};
use common::*;
use std::path::Path;
use std::time::Duration;

fn backups_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

fn ids(initial: &serde_json::Value) -> Vec<i64> {
    initial["appointments"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect()
}

#[test]
fn a_restored_backup_resumes_sockets_with_a_new_epoch_and_the_restored_data() {
    let mut c = Clinic::new();
    let kept = c.book(&c.booking(&today(), "10:00", "11:00"))["id"].as_i64().unwrap();
    let (_, health) = c.srv.call("GET", "/health/", None, None);
    assert_eq!(health["last_backup_age_secs"], serde_json::Value::Null, "{health}");

    let backups = c.srv.dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let (ok, out, err) = c.srv.cli(&["backup", backups.to_str().unwrap(), "--keep", "14"], "");
    assert!(ok, "{out}{err}");
    let names = backups_in(&backups);
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].starts_with("royal-care-") && names[0].ends_with(".db") && names[0].len() == 29, "{names:?}");
    // Recorded in the database by the backup process; the server reports it.
    let (_, health) = c.srv.call("GET", "/health/", None, None);
    let age = health["last_backup_age_secs"].as_i64().unwrap_or_else(|| panic!("{health}"));
    assert!((0..60).contains(&age), "{health}");

    // Work after the backup, which the restore will undo; a socket follows it.
    let later = c.book(&c.booking(&today(), "12:00", "13:00"))["id"].as_i64().unwrap();
    let (_, before) = c.srv.call("GET", "/health/", None, None);
    let (old_epoch, old_seq) = (before["epoch"].as_str().unwrap().to_string(), before["seq"].as_i64().unwrap());
    let (ws, first) = ws_support::open(&c.srv, &c.op);
    assert!(ids(&first).contains(&later));

    // Not under a running server: refused, nothing changed.
    let backup = backups.join(&names[0]);
    let (ok, _, err) = c.srv.cli(&["restore", backup.to_str().unwrap()], "");
    assert!(!ok, "{err}");
    assert!(err.contains("is serving") && err.contains("stop it first") && err.trim().lines().count() == 1, "{err}");
    assert_eq!(c.get(&c.op, later).0, 200);

    drop(ws);
    assert!(c.srv.terminate().success());
    let (ok, out, err) = c.srv.cli(&["restore", backup.to_str().unwrap()], "");
    assert!(ok, "{out}{err}");
    let set_aside: Vec<String> =
        backups_in(c.srv.dir.path()).into_iter().filter(|n| n.starts_with("royal-care.db.before-restore-")).collect();
    assert_eq!(set_aside.len(), 1, "the old database is kept: {out}");
    assert!(out.contains(&set_aside[0]), "{out}");
    // The kept file is the whole old database, WAL included.
    let old = rusqlite::Connection::open(c.srv.dir.path().join(&set_aside[0])).unwrap();
    let n: i64 = old.query_row("SELECT COUNT(*) FROM appointments WHERE id = ?1", [later], |r| r.get(0)).unwrap();
    assert_eq!(n, 1);

    let srv = Server::start_in(tempfile::tempdir().unwrap(), c.srv.db.clone(), &[]);
    let mut ws = ws_support::connect(&srv, &format!("token={}&since={old_seq}&epoch={old_epoch}", c.op), &[]).unwrap();
    let first = ws.next_json(Duration::from_secs(10)).unwrap();
    assert_eq!((first["type"].as_str(), first["resync"].as_bool()), (Some("initial_data"), Some(true)), "{first}");
    assert_ne!(first["epoch"], old_epoch.as_str());
    let backup_epoch: String = rusqlite::Connection::open(&backup)
        .unwrap()
        .query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| r.get(0))
        .unwrap();
    assert_ne!(first["epoch"], backup_epoch.as_str(), "each restore is a new history");
    assert_eq!(ids(&first), vec![kept], "{first}");
    let (_, health) = srv.call("GET", "/health/", None, None);
    assert_eq!(health["epoch"], first["epoch"]);
    assert!(health["last_backup_age_secs"].as_i64().is_some(), "{health}");
}

#[test]
fn backups_into_a_directory_rotate_and_leave_other_files_alone() {
    let srv = Server::start();
    srv.add_user("ana", "operator");
    let dir = srv.dir.path().join("backups");
    std::fs::create_dir(&dir).unwrap();
    // Older timestamped backups and a file of the clinic's own.
    for name in ["royal-care-20240101-030000.db", "royal-care-20240102-030000.db", "royal-care-20240103-030000.db"] {
        std::fs::write(dir.join(name), b"old").unwrap();
    }
    std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
    let (ok, out, err) = srv.cli(&["backup", dir.to_str().unwrap(), "--keep", "2"], "");
    assert!(ok, "{out}{err}");
    let names = backups_in(&dir);
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(names[0], "notes.txt");
    assert_eq!(names[1], "royal-care-20240103-030000.db");
    assert!(out.contains("Deleted the old backup royal-care-20240101-030000.db"), "{out}");
    // A second run the same day works (today's first run failed: issue 12).
    std::thread::sleep(Duration::from_millis(1100)); // names have one-second resolution
    let (ok, out, err) = srv.cli(&["backup", dir.to_str().unwrap(), "--keep", "2"], "");
    assert!(ok, "{out}{err}");
    let names = backups_in(&dir);
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names[1..].iter().all(|n| n.starts_with("royal-care-2") && !n.contains("2024")), "{names:?}");
    for n in &names[1..] {
        let c = rusqlite::Connection::open(dir.join(n)).unwrap();
        let users: i64 = c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0)).unwrap();
        assert_eq!(users, 1);
    }
    assert!(!names.iter().any(|n| n.ends_with(".partial")));

    // --keep needs a directory; a plain file name still works without it.
    let file = srv.dir.path().join("one.db");
    let (ok, _, err) = srv.cli(&["backup", file.to_str().unwrap(), "--keep", "2"], "");
    assert!(!ok && err.contains("is not one") && err.trim().lines().count() == 1, "{err}");
    assert!(!file.exists());
    let (ok, _, err) = srv.cli(&["backup", dir.to_str().unwrap(), "--keep", "0"], "");
    assert!(!ok && err.contains("--keep 1 or more"), "{err}");
}

#[test]
fn restore_refuses_files_that_are_not_sound_royal_care_databases() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("royal-care.db");
    let srv = Server::start_in(tempfile::tempdir().unwrap(), db.clone(), &[]);
    srv.add_user("bea", "operator");
    drop(srv);

    let foreign = dir.path().join("other.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![7u8; 8192]).unwrap();
    let newer = dir.path().join("newer.db");
    let (ok, _, err) = run_cli(&db, &["backup", newer.to_str().unwrap()], "");
    assert!(ok, "{err}");
    rusqlite::Connection::open(&newer).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let missing = dir.path().join("missing.db");
    let before = std::fs::read(&db).unwrap();
    for (file, says) in [
        (&foreign, "is not a royal-care database"),
        (&garbage, "is not a royal-care database"),
        (&newer, "newer royal-care"),
        (&missing, "there is no backup file"),
    ] {
        let (ok, _, err) = run_cli(&db, &["restore", file.to_str().unwrap()], "");
        assert!(!ok && err.contains(says) && err.trim().lines().count() == 1, "{}: {err}", file.display());
    }
    assert!(std::fs::read(&db).unwrap() == before, "a refused restore changes nothing");
    assert!(!backups_in(dir.path()).iter().any(|n| n.contains("before-restore") || n.contains("restoring")));
}

#[test]
fn a_second_server_on_one_database_is_refused_until_the_first_is_gone() {
    let mut first = Server::start();
    first.add_user("ana", "operator");
    let mut cmd = std::process::Command::new(BIN);
    base_env(&mut cmd).arg("--db").arg(&first.db).args(["serve", "--addr", "127.0.0.1:0"]);
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    let want = format!(
        "error: another royal-care is already serving {} (pid {}); stop it first or choose another --db.",
        first.db.display(),
        first.child.id()
    );
    assert_eq!(err.trim(), want);
    // The first keeps serving.
    assert_eq!(first.call("GET", "/health/", None, None).0, 200);
    first.login("ana");

    // kill -9 leaves no lock behind.
    first.kill9();
    let again = Server::start_in(tempfile::tempdir().unwrap(), first.db.clone(), &[]);
    again.login("ana");
}

#[test]
fn a_second_demo_server_does_not_replace_the_running_demos_database() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("royal-care-demo.db");
    let demo = Server::start_in(tempfile::tempdir().unwrap(), db.clone(), &[("ROYAL_CARE_DEMO", "1")]);
    let inode = std::fs::metadata(&db).unwrap().ino();
    let mut cmd = std::process::Command::new(BIN);
    base_env(&mut cmd).arg("--db").arg(&db).args(["serve", "--demo", "--addr", "127.0.0.1:0"]);
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("another royal-care is already serving"), "{err}");
    // `--demo` re-creates the file; refused before that, the running demo keeps its own.
    assert_eq!(std::fs::metadata(&db).unwrap().ino(), inode);
    assert_eq!(demo.call("GET", "/health/", None, None).0, 200);
}

#[test]
fn backups_and_restored_databases_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mut srv = Server::start();
    srv.add_user("ana", "operator");
    let copy = srv.dir.path().join("copy.db");
    let (ok, _, err) = srv.cli(&["backup", copy.to_str().unwrap()], "");
    assert!(ok, "{err}");
    assert_eq!(std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777, 0o600);
    srv.terminate();
    std::fs::set_permissions(&srv.db, std::fs::Permissions::from_mode(0o640)).unwrap();
    let (ok, _, err) = srv.cli(&["restore", copy.to_str().unwrap()], "");
    assert!(ok, "{err}");
    assert_eq!(std::fs::metadata(&srv.db).unwrap().permissions().mode() & 0o777, 0o640, "the old file's mode is kept");
}
