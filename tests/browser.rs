//! Runs the browser tests in `tests/browser/` (Node's test runner driving Debian's headless
//! Chromium through playwright-core) against this build's binary, so that the README's
//! `cargo test` runs them too. A missing browser or Node package is a failure with the
//! command that installs it, never a silent skip. The Node packages are installed here on
//! first run, or when one is missing (`npm ci`); Chromium comes from Debian (`.ci/run` installs it).

use std::path::Path;
use std::process::Command;

#[test]
fn web_ui_in_headless_chromium() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let chromium = std::env::var("ROYAL_CARE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "The browser tests need Chromium at {chromium}: install it with `apt-get update && apt-get install -y chromium` (or run `bash .ci/run`)."
    );
    // A fresh clone has no node_modules, and an older one may lack a package added since:
    // fetch the pinned packages (package-lock.json) from the npm registry, so the README's
    // `cargo test` works without a separate step.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("package.json")).expect("tests/browser/package.json")).unwrap();
    let pinned = manifest["devDependencies"].as_object().expect("devDependencies").keys();
    let missing = pinned.into_iter().any(|p| !dir.join("node_modules").join(p).join("package.json").exists());
    if missing {
        let npm = Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir).output();
        let ok = npm.as_ref().is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "The browser tests need Node and playwright-core, and `npm ci --prefix tests/browser` failed: {}",
            match &npm {
                Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                Err(e) => format!("could not start npm ({e}); install Node.js 20 or newer"),
            }
        );
    }
    let out = Command::new("node")
        // A test that hangs fails after 3 minutes, and a failed test that left a relay or
        // browser open does not keep node from exiting.
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec", "--test-timeout=180000", "--test-force-exit"])
        .current_dir(&dir)
        .env("ROYAL_CARE_BIN", env!("CARGO_BIN_EXE_royal-care"))
        .env("ROYAL_CARE_CHROMIUM", &chromium)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("The browser tests need Node.js 20 or newer (`apt-get install -y nodejs npm`): could not start `node`: {e}."));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Shown by cargo on failure, or with `cargo test --test browser -- --nocapture`.
    println!("{stdout}\n{stderr}");
    assert!(out.status.success(), "browser tests failed (output above); screenshots are in tests/browser/screenshots/");
    let passed = stdout
        .lines()
        .filter_map(|l| l.trim_start_matches(['ℹ', '#', ' ']).strip_prefix("pass ")?.trim().parse::<u32>().ok())
        .next_back()
        .unwrap_or(0);
    assert!(passed > 0, "the browser test runner ran no test");
}
