//! Python venvs for the tests that run real Python tools (schemathesis, Django): made
//! under target/ on first use and made again when their pinned, hashed requirements
//! change, so a run after the first installs nothing. Python 3 with venv comes from the
//! machine (`.ci/run` installs Debian's `python3-venv` where it is missing).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The venv `target/tmp/<name>` with `requirements` installed (`pip install
/// --require-hashes`); `what` names it in the failure message. Returns the venv's folder
/// (its programs are in `bin/`).
pub fn python_venv(name: &str, requirements: &Path, what: &str) -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let wanted = std::fs::read(requirements).unwrap_or_else(|e| panic!("{}: {e}", requirements.display()));
    let stamp = venv.join("installed-requirements.txt");
    if venv.join("bin/python").exists() && std::fs::read(&stamp).ok().as_deref() == Some(&wanted[..]) {
        return venv;
    }
    let _ = std::fs::remove_dir_all(&venv);
    let python = std::env::var("ROYAL_CARE_PYTHON").unwrap_or_else(|_| "python3".into());
    let run = |cmd: &mut Command, needs: &str| {
        let out = cmd.stdin(Stdio::null()).output();
        let ok = out.as_ref().is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "This test needs {needs}, and it failed: {}. On Debian: `apt-get install -y python3-venv python3-pip` (or run `bash .ci/run`).",
            match &out {
                Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                Err(e) => format!("could not start {python} ({e})"),
            }
        );
    };
    run(Command::new(&python).args(["-m", "venv"]).arg(&venv), "a Python 3 venv");
    run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "--require-hashes", "-r"])
            .arg(requirements),
        &format!("{what} from PyPI (pip install --require-hashes)"),
    );
    std::fs::write(&stamp, &wanted).unwrap();
    venv
}
