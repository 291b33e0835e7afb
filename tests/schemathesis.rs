//! schemathesis (PyPI, pinned with hashes in tests/schemathesis/requirements.txt) against
//! the server's own `/api/schema/`: a real server on the demo data, every check
//! (`--checks all`) on every operation, a bounded number of examples per operation. The
//! run passes only with no 5xx, no answer outside the document (status, headers, body
//! shape) and no schema-valid request refused or schema-invalid one accepted, apart from
//! the few documented exceptions in tests/schemathesis/schemathesis.toml. The venv is
//! made on first run (as tests/browser.rs does `npm ci`), under target/, and made
//! again when the requirements change (tests/common/venv.rs).
//!
//! Three runs, their tokens all taken before any fuzzing (the login throttle would refuse
//! a fresh login after the fuzzed wrong passwords): a demo therapist (answers shaped for
//! staff, and their refusals), then an operator, both trying everything but logout and
//! logoutall, which would end their own token; last, a second token of the operator
//! tries just those two. The WebSocket address is left out: its handshake is HTTP only
//! as far as its refusals go, and tests/ws*.rs cover it.
//!
//! `ROYAL_CARE_SCHEMATHESIS_EXAMPLES` (default 20) and `ROYAL_CARE_SCHEMATHESIS_SEED`
//! (default a fixed one, so CI runs repeat; `random` for a fresh one) change the run.

mod common;

use common::Server;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The most one schemathesis run may take before the test kills it and fails.
const RUN_LIMIT: Duration = Duration::from_secs(900);
/// The fixed seed of a default run.
const SEED: &str = "20261202";

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis")
}

/// The venv with the pinned schemathesis, made (or remade) when its requirements changed.
fn schemathesis() -> PathBuf {
    common::venv::python_venv("schemathesis-venv", &here().join("requirements.txt"), "the pinned schemathesis")
        .join("bin/schemathesis")
}

struct Run {
    ok: bool,
    output: String,
    took: Duration,
}

/// One schemathesis run against `srv` as `token`, killed if it outlives `RUN_LIMIT`.
fn run(bin: &Path, srv: &Server, token: &str, filters: &[&str]) -> Run {
    let examples = std::env::var("ROYAL_CARE_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "20".into());
    let seed = std::env::var("ROYAL_CARE_SCHEMATHESIS_SEED").unwrap_or_else(|_| SEED.into());
    let mut cmd = Command::new(bin);
    cmd.arg("--config-file")
        .arg(here().join("schemathesis.toml"))
        .arg("run")
        .arg(format!("http://{}/api/schema/", srv.addr))
        .args(["--checks", "all", "--max-examples", &examples, "--request-timeout", "10", "--no-color"])
        .args(["--generation-database", "none", "--header"])
        .arg(format!("Authorization: Token {token}"))
        .args(filters);
    if seed != "random" {
        cmd.args(["--seed", &seed]);
    }
    // Its files (reports, caches) go to the server's temp dir, not the work tree.
    let mut child = cmd
        .current_dir(srv.dir.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start schemathesis");
    let started = Instant::now();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        let _ = tx.send((0, s));
    });
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        let _ = tx2.send((1, s));
    });
    let mut parts = [String::new(), String::new()];
    for _ in 0..2 {
        match rx.recv_timeout(RUN_LIMIT.saturating_sub(started.elapsed())) {
            Ok((i, s)) => parts[i] = s,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("schemathesis ran over {RUN_LIMIT:?}; killed");
            }
        }
    }
    let status = child.wait().unwrap();
    Run { ok: status.success(), output: format!("{}\n{}", parts[0], parts[1]), took: started.elapsed() }
}

/// The summary's "Test cases:" figure line, e.g. "2104 generated, 2104 passed, 50 skipped".
fn figures(output: &str) -> String {
    let lines: Vec<&str> = output.lines().map(str::trim).collect();
    let cases = lines.iter().position(|l| *l == "Test cases:").and_then(|i| lines.get(i + 1)).unwrap_or(&"?");
    let tested = lines.iter().find(|l| l.starts_with("Tested:")).unwrap_or(&"Tested: ?");
    format!("{tested} operations; test cases: {cases}")
}

#[test]
fn schemathesis_finds_nothing_in_the_documented_api() {
    let bin = schemathesis();
    let srv = Server::start_with(&[("ROYAL_CARE_DEMO", "1")]);
    srv.add_user("fuzz-operator", "operator");
    // Every token first: the fuzzed wrong passwords get later logins throttled.
    let operator = srv.login("fuzz-operator");
    let for_logouts = srv.login("fuzz-operator");
    let (s, v) = srv.call(
        "POST",
        "/api/auth/login/",
        None,
        Some(&serde_json::json!({"username": "therapist1", "password": "demo-pass-1"})),
    );
    assert_eq!(s, 200, "{v}");
    let therapist = v["token"].as_str().unwrap().to_string();

    let but_logouts: &[&str] = &[
        "--exclude-path",
        "/api/auth/logout/",
        "--exclude-path",
        "/api/auth/logoutall/",
        "--exclude-path",
        "/ws/scheduling/appointments/",
    ];
    let mut figures_line = Vec::new();
    // The therapist first: the operator's run may deactivate the demo staff.
    for (who, token, filters) in [
        ("a therapist", &therapist, but_logouts),
        ("an operator", &operator, but_logouts),
        (
            "logout and logoutall",
            &for_logouts,
            &["--include-path", "/api/auth/logout/", "--include-path", "/api/auth/logoutall/"][..],
        ),
    ] {
        let r = run(&bin, &srv, token, filters);
        println!("{}", r.output);
        assert!(r.ok, "schemathesis found problems as {who} (its report is above)");
        figures_line.push(format!("{who}: {} in {:.0?}", figures(&r.output), r.took));
    }
    assert!(!srv.log().contains("internal error"), "the server logged an internal error:\n{}", srv.log());
    println!("schemathesis: {}", figures_line.join("; "));
}
