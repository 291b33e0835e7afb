//! The Pi kit under deploy/ (issue 12, deliverable 2): the systemd units pass
//! `systemd-analyze verify` (with the binary they name present: this build, copied into
//! place in a rewritten unit), their command lines start the real server and take a real
//! backup, and `install.sh --dry-run` lists every step without doing any.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const UNITS: [&str; 3] = ["royal-care.service", "royal-care-backup.service", "royal-care-backup.timer"];
const INSTALLED_BIN: &str = "/usr/local/bin/royal-care";
const STATE: &str = "/var/lib/royal-care";

fn kit() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(kit().join(name)).unwrap()
}

/// The values of `key=` lines in a unit (or environment) file.
fn values(text: &str, key: &str) -> Vec<String> {
    text.lines().filter_map(|l| l.strip_prefix(&format!("{key}="))).map(str::to_string).collect()
}

#[test]
fn the_units_pass_systemd_analyze_verify() {
    let dir = tempfile::tempdir().unwrap();
    // verify checks that ExecStart's program exists and is executable: a copy of this build.
    let bin = dir.path().join("royal-care");
    std::fs::copy(BIN, &bin).unwrap();
    for u in UNITS {
        std::fs::write(dir.path().join(u), read(u).replace(INSTALLED_BIN, bin.to_str().unwrap())).unwrap();
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(UNITS)
        .current_dir(dir.path())
        .output()
        .expect("systemd-analyze is missing; install Debian's systemd package (apt-get install systemd)");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // Unknown keys and misplaced settings are only warnings (exit 0): none is allowed.
    assert!(out.status.success() && said.trim().is_empty(), "systemd-analyze verify:\n{said}");
}

#[test]
fn the_units_run_as_the_royal_care_user_with_the_hardening_the_docs_promise() {
    for u in ["royal-care.service", "royal-care-backup.service"] {
        let text = read(u);
        for line in [
            "User=royal-care",
            "StateDirectory=royal-care royal-care/backups",
            "StateDirectoryMode=0700",
            "UMask=0077",
            "NoNewPrivileges=yes",
            "CapabilityBoundingSet=",
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "PrivateTmp=yes",
            "PrivateDevices=yes",
            "SystemCallFilter=@system-service",
            "EnvironmentFile=-/etc/royal-care/royal-care.env",
        ] {
            assert!(text.lines().any(|l| l == line), "{u} lacks {line}");
        }
    }
    assert!(read("royal-care-backup.timer").lines().any(|l| l == "Persistent=true"));
}

/// A unit's ExecStart as a command on this build, with the state directory at `state`.
fn exec_start(unit: &str, state: &Path) -> Command {
    let line = values(&read(unit), "ExecStart").pop().unwrap();
    let line = line.replace(STATE, state.to_str().unwrap());
    let mut words = line.split_whitespace();
    assert_eq!(words.next(), Some(INSTALLED_BIN));
    let mut cmd = Command::new(BIN);
    base_env(&mut cmd).args(words);
    cmd
}

#[test]
fn the_units_command_lines_serve_and_back_up_the_database() {
    let state = tempfile::tempdir().unwrap();
    std::fs::create_dir(state.path().join("backups")).unwrap(); // StateDirectory= makes it
    let mut serve = exec_start("royal-care.service", state.path());
    // The environment the unit gives, with the shipped environment file over it, except
    // that the test listens on a free loopback port.
    let unit = read("royal-care.service");
    let env_file = read("royal-care.env");
    for kv in values(&unit, "Environment")
        .into_iter()
        .chain(env_file.lines().filter(|l| l.starts_with("ROYAL_CARE_")).map(str::to_string))
    {
        let (k, v) = kv.split_once('=').unwrap();
        serve.env(k, if k == "ROYAL_CARE_ADDR" { "127.0.0.1:0" } else { v });
    }
    let db = state.path().join("royal-care.db");
    let srv = Server::spawn(tempfile::tempdir().unwrap(), db.clone(), serve);
    srv.add_user("maria", "operator");

    let out = exec_start("royal-care-backup.service", state.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let backups: Vec<_> =
        std::fs::read_dir(state.path().join("backups")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let (_, health) = srv.call("GET", "/health/", None, None);
    assert!(health["last_backup_age_secs"].is_i64(), "{health}");
}

#[test]
fn install_dry_run_lists_every_step_and_installs_the_kit_files() {
    let before = Path::new("/etc/systemd/system/royal-care.service").exists();
    let out = Command::new("sh").arg(kit().join("install.sh")).arg("--dry-run").arg(BIN).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    let steps: Vec<&str> = said.lines().filter_map(|l| l.strip_prefix("+ ")).collect();
    for want in [
        format!("install -m 0755 {BIN} {INSTALLED_BIN}"),
        "useradd --system --user-group --home-dir /var/lib/royal-care --no-create-home --shell /usr/sbin/nologin royal-care".into(),
        "install -d -m 0700 -o royal-care -g royal-care /var/lib/royal-care /var/lib/royal-care/backups".into(),
        "systemctl enable royal-care.service royal-care-backup.timer".into(),
        "systemctl restart royal-care.service".into(),
        "systemctl start royal-care-backup.timer".into(),
    ] {
        assert!(steps.contains(&want.as_str()), "missing step {want}:\n{said}");
    }
    // Every unit of the kit, and the environment file, is installed from deploy/.
    for f in UNITS {
        let want = format!("install -m 0644 {} /etc/systemd/system/{f}", kit().join(f).display());
        assert!(steps.contains(&want.as_str()), "missing {want}:\n{said}");
    }
    assert!(steps.iter().any(|s| s.ends_with("royal-care.env /etc/royal-care/royal-care.env")), "{said}");
    // It tells the person the next command, the one the guide shows.
    assert!(said.contains("sudo -u royal-care royal-care --db /var/lib/royal-care/royal-care.db user add --username maria --role operator"));
    assert_eq!(Path::new("/etc/systemd/system/royal-care.service").exists(), before, "a dry run changes nothing");

    let out = Command::new("sh")
        .arg(kit().join("install.sh"))
        .arg("--dry-run")
        .arg("/nonexistent/royal-care")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.starts_with("error: there is no royal-care binary")
            && err.trim().lines().count() == 1,
        "{err}"
    );
}
