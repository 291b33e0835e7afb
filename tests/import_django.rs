//! `royal-care import-django` against REAL Django output: the stand-in of the clinic's
//! project in tests/django (the original's tables, user model, hashers and knox) runs in
//! a venv with Django 5.1, DRF, bcrypt and knox — one venv with knox 4.2 and one with
//! knox 5, since they cannot share one (tests/common/venv.rs; pinned and hashed in
//! tests/django/requirements-knox*.txt). Its `seed` command creates staff with bcrypt and
//! pbkdf2 hashes, real knox tokens, clients, services and appointments (a group booking,
//! a legacy status), availability and a notification; the data is then dumped both ways
//! (the SQLite file itself, and `manage.py dumpdata` JSON, also with
//! `--natural-foreign`), each imported into a new
//! file, and the real server started on it: staff log in with their original passwords
//! (a bcrypt hash is re-hashed to pbkdf2 on the first login), and their original knox
//! tokens open their sessions, list their appointments and can be revoked.
//!
//! The refusals (an existing target, input that is not Django's) need no Python.

mod common;
mod ws_support;

use common::{base_env, Server, BIN};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/django")
}

/// The original's data, made by Django with knox `knox` ("42" or "5").
struct Original {
    dir: tempfile::TempDir,
    sqlite: PathBuf,
    dump: PathBuf,
    /// The same dump with users named by username (`--natural-foreign`).
    natural: PathBuf,
    /// What `manage.py seed` printed: passwords, tokens, ids.
    seed: Value,
}

fn manage(venv: &Path, db: &Path, args: &[&str]) -> String {
    let out = Command::new(venv.join("bin/python"))
        .arg(project().join("manage.py"))
        .args(args)
        .env("ROYAL_CARE_DJANGO_DB", db)
        // No __pycache__ in the source tree.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run manage.py");
    assert!(out.status.success(), "manage.py {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn original(knox: &str) -> Original {
    let venv = common::venv::python_venv(
        &format!("django-knox{knox}-venv"),
        &project().join(format!("requirements-knox{knox}.txt")),
        "the pinned Django stand-in",
    );
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("db.sqlite3");
    let dump = dir.path().join("dump.json");
    manage(&venv, &sqlite, &["migrate", "-v", "0"]);
    let seed: Value = serde_json::from_str(&manage(&venv, &sqlite, &["seed"])).expect("seed prints JSON");
    let apps = ["dumpdata", "core", "registration", "scheduling", "knox"];
    std::fs::write(&dump, manage(&venv, &sqlite, &[&apps[..], &["--indent", "1"]].concat())).unwrap();
    let natural = dir.path().join("natural.json");
    std::fs::write(&natural, manage(&venv, &sqlite, &[&apps[..], &["--natural-foreign"]].concat())).unwrap();
    Original { dir, sqlite, dump, natural, seed }
}

/// Runs the import; returns (exit ok, stdout, stderr).
fn import(source: &Path, db: &Path) -> (bool, String, String) {
    let mut cmd = Command::new(BIN);
    base_env(&mut cmd).arg("--db").arg(db).arg("import-django").arg(source);
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn stored_password(db: &Path, username: &str) -> String {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row("SELECT password FROM users WHERE username = ?1", [username], |r| r.get(0)).unwrap()
}

fn login(srv: &Server, username: &str, password: &str) -> (u16, Value) {
    srv.call("POST", "/api/auth/login/", None, Some(&json!({"username": username, "password": password})))
}

fn ids_of(page: &Value) -> BTreeSet<i64> {
    page["results"].as_array().expect("a page of results").iter().map(|a| a["id"].as_i64().unwrap()).collect()
}

/// Imports `source` (made by knox `knox`) and checks everything a clinic would notice.
fn check_import(orig: &Original, source: &Path, knox: &str) {
    let seed = &orig.seed;
    let id = |name: &str| seed["ids"][name].as_i64().unwrap_or_else(|| panic!("seed has no id {name}"));
    let token = |name: &str| seed["tokens"][name].as_str().unwrap().to_string();
    let password = |name: &str| seed["passwords"][name].as_str().unwrap().to_string();
    let what = format!("knox {knox}, {}", source.file_name().unwrap().to_string_lossy());

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("royal-care.db");
    let (ok, out, err) = import(source, &db);
    assert!(ok, "{what}: import failed: {err}");
    // The summary: counts per table, a line for each row skipped or changed, no secret.
    for line in [
        "staff                8 of 8",
        "knox tokens          3 of 4",
        "appointments         4 of 4",
        "availability         2 of 2",
        "notifications        1 of 1",
        "user admin (id 2): a superuser without a role; imported as an operator.",
        "user th.argon (id 6): its password hash (argon2) cannot be checked",
        "user dr.nopass (id 7): had no usable password in Django",
        "a knox token of th.cara: expired; skipped",
        "a knox token of dr.dan: had no expiry",
        "legacy status driving_to_location imported as journey",
    ] {
        assert!(out.contains(line), "{what}: the summary lacks {line:?}:\n{out}");
    }
    for secret in ["bcrypt_sha256$", "pbkdf2_sha256$", "argon2$"]
        .into_iter()
        .map(String::from)
        .chain(["op.anna", "th.ben", "dr.dan", "expired"].iter().map(|t| token(t)[..8].to_string()))
    {
        assert!(!out.contains(&secret) && !err.contains(&secret), "{what}: the import printed a secret ({secret})");
    }

    let srv = Server::start_in(dir, db.clone(), &[]);

    // The original tokens open the same people's sessions: knox 4.2's and 5's, one of
    // them made without an expiry; an expired one does not.
    let (op, th, dr) = (token("op.anna"), token("th.ben"), token("dr.dan"));
    let (s, me) = srv.call("GET", "/api/auth/profile/", Some(&op), None);
    assert_eq!(
        (s, me["username"].as_str(), me["role"].as_str()),
        (200, Some("op.anna"), Some("operator")),
        "{what}: {me}"
    );
    let (s, me) = srv.call("GET", "/api/auth/profile/", Some(&th), None);
    assert_eq!(s, 200, "{what}: {me}");
    assert_eq!(
        (me["id"].as_i64(), &me["specialization"], &me["massage_pressure"], &me["phone_number"]),
        (Some(id("th.ben")), &json!("Shiatsu"), &json!("moderate"), &json!("+63 917 555 0101")),
        "{what}"
    );
    let (s, me) = srv.call("GET", "/api/auth/profile/", Some(&dr), None);
    assert_eq!((s, &me["motorcycle_plate"], &me["license_number"]), (200, &json!("ABC 1234"), &json!("N01-23-456789")));
    let (s, _) = srv.call("GET", "/api/auth/profile/", Some(&token("expired")), None);
    assert_eq!(s, 401, "{what}: an expired knox token was accepted");

    // The operator's list: every appointment, ids kept, therapists, services and statuses.
    let (s, page) = srv.call("GET", "/api/scheduling/appointments/?page_size=100", Some(&op), None);
    assert_eq!(s, 200, "{what}: {page}");
    let want: BTreeSet<i64> = ["pending", "group", "legacy", "paid"].iter().map(|n| id(n)).collect();
    assert_eq!(ids_of(&page), want, "{what}");
    let appt = |name: &str| page["results"].as_array().unwrap().iter().find(|a| a["id"] == json!(id(name))).unwrap();
    let therapists = |a: &Value| -> BTreeSet<i64> {
        a["therapist_confirmations"].as_array().unwrap().iter().map(|c| c["therapist"].as_i64().unwrap()).collect()
    };
    let group = appt("group");
    assert_eq!(group["status"], "driver_confirmed", "{what}");
    assert_eq!(group["therapist"], json!(id("th.ben")), "{what}: the lead therapist");
    assert_eq!(therapists(group), BTreeSet::from([id("th.ben"), id("th.cara")]), "{what}: the group's therapists");
    assert_eq!(group["services"], json!([id("swedish"), id("hot_stone")]), "{what}");
    assert_eq!(group["client"], json!(id("client2")), "{what}");
    assert_eq!((&group["payment_status"], &group["payment_amount"]), (&json!("pending"), &json!("500.00")), "{what}");
    assert_eq!(group["total_price"], "2499.99", "{what}: the services' prices in cents");
    assert_eq!(appt("legacy")["status"], "journey", "{what}: a legacy status maps to the nearest");
    assert_eq!(appt("pending")["status"], "pending", "{what}");
    assert_eq!(
        (&appt("paid")["status"], &appt("paid")["payment_status"], &appt("paid")["payment_method"]),
        (&json!("completed"), &json!("paid"), &json!("gcash")),
        "{what}"
    );
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        let (size, car): (i64, bool) = c
            .query_row("SELECT group_size, requires_car FROM appointments WHERE id = ?1", [id("group")], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((size, car), (2, true), "{what}: group size and car");
        let slots: i64 =
            c.query_row("SELECT COUNT(*) FROM availability WHERE start_time > end_time", [], |r| r.get(0)).unwrap();
        assert_eq!(slots, 1, "{what}: the slot across midnight");
    }

    // The same visibility as for our own tokens: a therapist sees only their bookings.
    let (s, page) = srv.call("GET", "/api/scheduling/appointments/?page_size=100", Some(&th), None);
    assert_eq!(s, 200, "{what}: {page}");
    assert_eq!(ids_of(&page), BTreeSet::from([id("pending"), id("group"), id("paid")]), "{what}");

    // Original passwords: bcrypt (re-hashed to our pbkdf2 on the first login) and
    // pbkdf2; a superuser without a role logs in as an operator; inactive staff cannot.
    assert!(stored_password(&db, "op.anna").starts_with("bcrypt_sha256$"));
    let (s, v) = login(&srv, "op.anna", &password("op.anna"));
    assert_eq!(s, 200, "{what}: bcrypt login: {v}");
    assert!(stored_password(&db, "op.anna").starts_with("pbkdf2_sha256$"), "{what}: not re-hashed");
    let (s, v) = login(&srv, "op.anna", &password("op.anna"));
    assert_eq!(s, 200, "{what}: login after the re-hash: {v}");
    let (s, v) = login(&srv, "admin", &password("admin"));
    assert_eq!((s, v["user"]["role"].as_str()), (200, Some("operator")), "{what}: {v}");
    let (s, v) = login(&srv, "th.cara", &password("th.cara"));
    assert_eq!(s, 200, "{what}: pbkdf2 login: {v}");
    let (s, _) = login(&srv, "th.ben", "not-Ben-s-password");
    assert_eq!(s, 401, "{what}: a wrong password was accepted");
    let (s, _) = login(&srv, "th.gone", &password("th.gone"));
    assert_eq!(s, 401, "{what}: an inactive user logged in");

    // The live socket as the original client opens it (`?token=`), with the original token.
    let (mut ws, first) = ws_support::open(&srv, &th);
    assert_eq!(first["type"], "initial_data", "{what}: {first}");
    let live: BTreeSet<i64> =
        first["appointments"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect();
    assert_eq!(live, BTreeSet::from([id("pending"), id("group"), id("paid")]), "{what}");

    // Imported tokens are revoked like ours: logout ends one (and its socket), logoutall
    // all of a user's.
    let (s, _) = srv.call("POST", "/api/auth/logout/", Some(&th), None);
    assert!(s == 200 || s == 204, "{what}: logout {s}");
    assert_eq!(ws.expect_close(std::time::Duration::from_secs(10)).0, 4001, "{what}: the socket outlived its token");
    assert_eq!(srv.call("GET", "/api/auth/profile/", Some(&th), None).0, 401, "{what}: logged out token still works");
    let (s, _) = srv.call("POST", "/api/auth/logoutall/", Some(&dr), None);
    assert!(s == 200 || s == 204, "{what}: logoutall {s}");
    assert_eq!(srv.call("GET", "/api/auth/profile/", Some(&dr), None).0, 401, "{what}: logoutall left a token");
    assert_eq!(srv.call("GET", "/api/auth/profile/", Some(&op), None).0, 200, "{what}: another user's token ended");
    assert!(!srv.log().contains("internal error"), "{what}: the server logged an internal error:\n{}", srv.log());
}

fn import_keeps_logins(knox: &str) {
    let orig = original(knox);
    check_import(&orig, &orig.sqlite, knox);
    check_import(&orig, &orig.dump, knox);
    check_import(&orig, &orig.natural, knox);
    drop(orig.dir);
}

#[test]
fn a_knox_42_clinic_imports_with_logins_and_sessions_intact() {
    import_keeps_logins("42");
}

#[test]
fn a_knox_5_clinic_imports_with_logins_and_sessions_intact() {
    import_keeps_logins("5");
}

/// A minimal dumpdata file: one operator.
fn tiny_dump(dir: &Path) -> PathBuf {
    let p = dir.join("dump.json");
    let dump = json!([{"model": "core.customuser", "pk": 1, "fields": {
        "username": "anna", "role": "operator", "password": "!unusable", "is_active": true}}]);
    std::fs::write(&p, dump.to_string()).unwrap();
    p
}

fn files_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

#[test]
fn importing_over_an_existing_database_is_refused_and_changes_nothing() {
    let srv = Server::start();
    srv.add_user("keeper", "operator");
    let token = srv.login("keeper");
    let src_dir = tempfile::tempdir().unwrap();
    let source = tiny_dump(src_dir.path());
    let before = files_in(srv.dir.path());
    let (ok, out, err) = import(&source, &srv.db);
    assert!(!ok, "imported over an existing database: {out}");
    assert!(err.contains("already exists") && err.lines().count() == 1, "{err}");
    assert_eq!(files_in(srv.dir.path()), before, "the import left files behind");
    // The running server's data is untouched.
    let (s, me) = srv.call("GET", "/api/auth/profile/", Some(&token), None);
    assert_eq!((s, me["username"].as_str()), (200, Some("keeper")));

    // Without --db it writes ./royal-care.db, once.
    let mut cmd = Command::new(BIN);
    base_env(&mut cmd).current_dir(src_dir.path()).arg("import-django").arg(&source);
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("staff                1 of 1"), "{text}");
    assert!(src_dir.path().join("royal-care.db").exists());
    assert!(!cmd.output().unwrap().status.success(), "a second import replaced the first");
}

#[test]
fn input_that_is_not_the_clinics_django_data_gets_one_sentence_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.sqlite3");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, t TEXT)")
        .unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("broken.json", b"[{\"model\": \"core.customuser\", ".to_vec(), "not valid JSON"),
        ("object.json", b"{\"users\": []}".to_vec(), "not a list of records"),
        (
            "auth-only.json",
            br#"[{"model": "auth.group", "pk": 1, "fields": {"name": "x"}}]"#.to_vec(),
            "no core.customuser",
        ),
        ("empty", Vec::new(), "neither a SQLite database nor"),
        ("powershell.json", [&[0xffu8, 0xfe][..], "[\0]\0".as_bytes()].concat(), "UTF-16 text"),
    ];
    for (name, bytes, says) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let target = dir.path().join(format!("{name}.db"));
        let (ok, out, err) = import(&path, &target);
        assert!(!ok, "{name}: accepted: {out}");
        assert!(err.contains(says) && err.trim().lines().count() == 1 && !err.contains("panicked"), "{name}: {err}");
        assert!(!target.exists(), "{name}: a failed import left a database");
    }
    let (ok, _, err) = import(&other, &dir.path().join("x.db"));
    assert!(!ok && err.contains("has no core_customuser table"), "{err}");
    let (ok, _, err) = import(&dir.path().join("missing.json"), &dir.path().join("y.db"));
    assert!(!ok && err.contains("cannot read"), "{err}");
    let leftovers: Vec<String> =
        files_in(dir.path()).into_iter().filter(|f| f.ends_with(".db") || f.contains(".tmp")).collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}
