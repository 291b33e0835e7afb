//! Test harness shared by the integration tests: starts the real `royal-care` binary on a
//! free port with a fresh database file in a temp dir, keeps its log, and talks to it
//! over real sockets. Nothing here mocks the server.
#![allow(dead_code)]

pub mod venv;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_royal-care");
/// Test accounts' password hashing: fast, and allowed only through the explicit test flag.
pub const TEST_ITERATIONS: &str = "1000";
pub const PASSWORD: &str = "correct-horse-1";

/// Appended to a server's log when its stderr closes (the process has ended).
const STDERR_CLOSED: &str = "[the server's stderr closed: the process has ended]\n";

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    log: Arc<Mutex<String>>,
    log_lines: Arc<Mutex<mpsc::Receiver<String>>>,
}

/// The environment every test command gets (fast hashes, quiet colours).
pub fn base_env(cmd: &mut Command) -> &mut Command {
    cmd.env("ROYAL_CARE_PASSWORD_ITERATIONS", TEST_ITERATIONS)
        .env("ROYAL_CARE_INSECURE_FAST_HASHES_FOR_TESTS", "1")
        .env("RUST_LOG", "info")
        .env("RUST_LOG_STYLE", "never")
        .env_remove("ROYAL_CARE_DB")
}

impl Server {
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    /// Starts a server with extra `ROYAL_CARE_*` settings, e.g. `[("ROYAL_CARE_MAX_BODY_BYTES", "100")]`.
    pub fn start_with(env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("royal-care.db");
        Self::start_in(dir, db, env)
    }

    /// Starts a server on an existing database file (e.g. after a kill -9).
    pub fn start_in(dir: tempfile::TempDir, db: PathBuf, env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(BIN);
        base_env(&mut cmd).arg("--db").arg(&db).args(["serve", "--addr", "127.0.0.1:0"]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self::spawn(dir, db, cmd)
    }

    /// Runs `cmd`, which must start the server (directly or through a wrapper that
    /// `exec`s it), and waits for it to listen.
    pub fn spawn(dir: tempfile::TempDir, db: PathBuf, mut cmd: Command) -> Server {
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                log2.lock().unwrap().push_str(&line);
                log2.lock().unwrap().push('\n');
                let _ = tx.send(line);
            }
            log2.lock().unwrap().push_str(STDERR_CLOSED);
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.split("listening on http://").nth(1) {
                        break rest.trim_end_matches('/').parse().unwrap();
                    }
                }
                Err(_) => panic!("server did not start; log:\n{}", log.lock().unwrap()),
            }
        };
        Server { child, addr, dir, db, log, log_lines: Arc::new(Mutex::new(rx)) }
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until a log line containing `needle` appears (after those already read).
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        if self.log().contains(needle) {
            return true;
        }
        let rx = self.log_lines.lock().unwrap();
        let deadline = Instant::now() + timeout;
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(l) if l.contains(needle) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    }

    /// Waits until `needle` has appeared in `n` log lines in all.
    pub fn wait_log_count(&self, needle: &str, n: usize, within: Duration) -> bool {
        let until = Instant::now() + within;
        loop {
            if self.log().matches(needle).count() >= n {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            self.wait_log(needle, Duration::from_millis(100));
        }
    }

    /// Runs the binary's CLI on this server's database; returns (exit ok, stdout, stderr).
    pub fn cli(&self, args: &[&str], stdin: &str) -> (bool, String, String) {
        run_cli(&self.db, args, stdin)
    }

    /// Adds a user through the CLI (the way an administrator does); returns nothing.
    pub fn add_user(&self, username: &str, role: &str) {
        let (ok, out, err) = self.cli(
            &["user", "add", "--username", username, "--role", role, "--email", &format!("{username}@example.org")],
            PASSWORD,
        );
        assert!(ok, "user add failed: {out} {err}");
    }

    /// Logs in with `PASSWORD`; returns the token.
    pub fn login(&self, username: &str) -> String {
        let (s, v) = self.call(
            "POST",
            "/api/auth/login/",
            None,
            Some(&serde_json::json!({"username": username, "password": PASSWORD})),
        );
        assert_eq!(s, 200, "login failed: {v}");
        v["token"].as_str().unwrap().to_string()
    }

    /// Adds a user and logs them in; returns the token.
    pub fn user(&self, username: &str, role: &str) -> String {
        self.add_user(username, role);
        self.login(username)
    }

    /// One JSON request on a fresh connection; returns (status, body as JSON or Null).
    pub fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
        let r = self.request(method, path, token, body.map(|b| b.to_string()).as_deref(), &[]);
        (r.status, r.json())
    }

    /// One request with extra headers on a fresh connection.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> HttpResponse {
        let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", self.addr);
        if let Some(t) = token {
            raw.push_str(&format!("Authorization: Token {t}\r\n"));
        }
        for (k, v) in headers {
            raw.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(b) = body {
            raw.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}", b.len()));
        } else {
            raw.push_str("\r\n");
        }
        self.raw(raw.as_bytes())
    }

    /// Sends raw bytes on a fresh connection and reads the whole answer.
    pub fn raw(&self, bytes: &[u8]) -> HttpResponse {
        let mut s = self.connect();
        s.write_all(bytes).unwrap();
        let sent = Instant::now();
        read_response_or_why(&mut s).unwrap_or_else(|why| {
            let first = String::from_utf8_lossy(bytes.split(|&b| b == b'\r').next().unwrap_or_default()).into_owned();
            let waited = sent.elapsed().as_secs_f64();
            // Either way, let the log settle (a panic's line may still be in the pipe):
            // until stderr closes, or nothing new for 300 ms, at most 5 s.
            let deadline = Instant::now() + Duration::from_secs(5);
            let (mut seen, mut quiet_since) = (self.log().len(), Instant::now());
            while !self.log().ends_with(STDERR_CLOSED)
                && quiet_since.elapsed() < Duration::from_millis(300)
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(10));
                if self.log().len() != seen {
                    (seen, quiet_since) = (self.log().len(), Instant::now());
                }
            }
            let ended = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
                .map_or(true, |st| st.split(") ").nth(1).is_some_and(|rest| rest.starts_with('Z')));
            panic!(
                "no HTTP response to {first} ({why} after {waited:.1} s; the server process {}); the server's log:\n{}",
                if ended { "has ended" } else { "is still running" },
                self.log()
            )
        })
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s
    }

    /// SIGKILL, no chance to flush anything.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for exit; returns the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        unsafe_kill(self.child.id(), "TERM");
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unsafe_kill(pid: u32, sig: &str) {
    let _ = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status();
}

pub fn run_cli(db: &Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    run_cli_env(db, args, stdin, &[])
}

/// As `run_cli`, with extra environment variables. `stdin` (plus a newline) is written
/// while the command runs; a command may exit before it reads stdin (a refused setting,
/// a user who already exists), and then the write fails with a broken pipe: that is not
/// the test's failure, the command's exit status and stderr (returned) say what happened.
/// Any other write error fails the test.
pub fn run_cli_env(db: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(BIN);
    base_env(&mut cmd).arg("--db").arg(db).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let line = format!("{stdin}\n");
    // Written on its own thread: a large input must not block reading the command's
    // output (wait_with_output below drains stdout and stderr).
    let writer = std::thread::spawn(move || match input.write_all(line.as_bytes()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => panic!("cannot write the command's stdin: {e}"),
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into()
    }
}

/// Reads one response (head + Content-Length body) from `s`. `None` if the connection
/// closed before a status line.
pub fn read_response(s: &mut impl Read) -> Option<HttpResponse> {
    read_response_or_why(s).ok()
}

/// As `read_response`; when there is none, says why (closed, reset, timed out, garbled).
pub fn read_response_or_why(s: &mut impl Read) -> Result<HttpResponse, String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            Ok(_) => return Err(format!("the connection closed after {} bytes", buf.len())),
            // Not the server's doing: a read with a timeout (ours has one) is interrupted
            // when this process is stopped and continued, or frozen and thawed, even with
            // no signal handler; `Read` says to try again (`read_exact` below does).
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("{} after {} bytes", e.kind(), buf.len())),
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let mut lines = head.split("\r\n");
    let garbled = || format!("a garbled head: {head:?}");
    let status: u16 =
        lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).ok_or_else(garbled)?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))).collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).map_err(|e| format!("the body was cut short ({})", e.kind()))?;
    Ok(HttpResponse { status, headers, body })
}

/// A wrong login (401) sent on a fresh connection to `srv` without its body's last byte:
/// the server's connection thread, and a reader of the answer, wait in a read for it.
/// Returns the connection and the byte to send.
pub fn login_but_its_last_byte(srv: &Server) -> (TcpStream, u8) {
    let body = r#"{"username": "nobody", "password": "not-a-password"}"#;
    let head = format!(
        "POST /api/auth/login/ HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        srv.addr,
        body.len()
    );
    let mut s = srv.connect();
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body.as_bytes()[..body.len() - 1]).unwrap();
    (s, body.as_bytes()[body.len() - 1])
}

/// Stops process `pid` (SIGSTOP) and continues it once `/proc/…/stat` at `stat` shows it
/// stopped: a SIGCONT sent while the stop is still pending would cancel it. Linux then
/// interrupts the process's socket reads that have a timeout, even with no signal handler.
pub fn stop_and_continue(pid: u32, stat: &Path) {
    let script = r#"kill -STOP "$0" && until grep -q ') T' "$1"; do :; done && kill -CONT "$0""#;
    let done = Command::new("sh").args(["-c", script, &pid.to_string()]).arg(stat).status().unwrap();
    assert!(done.success(), "could not stop and continue process {pid}");
}

/// A connection to `to` from the loopback address `from` (any of 127.0.0.0/8), so a test
/// can be several client machines at once.
pub fn connect_from(from: [u8; 4], to: SocketAddr) -> TcpStream {
    connect_with(from, to, None)
}

/// As `connect_from`, with the receive buffer set before connecting (a slow phone).
pub fn connect_with(from: [u8; 4], to: SocketAddr, recv_buffer: Option<usize>) -> TcpStream {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    if let Some(n) = recv_buffer {
        s.set_recv_buffer_size(n).unwrap();
    }
    s.bind(&SocketAddr::from((from, 0)).into()).unwrap();
    s.connect_timeout(&to.into(), Duration::from_secs(5)).unwrap();
    let s: TcpStream = s.into();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// The server's resident memory now and at its peak (VmRSS, VmHWM), in bytes.
pub fn memory_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = |key: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(key)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}
