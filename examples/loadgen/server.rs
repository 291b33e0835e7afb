//! The server under test (started fresh per run, killed on drop) and a minimal HTTP client.

use crate::stats::rand_suffix;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

const PASSWORD: &str = "loadgen-password-1";

/// A server started for one measurement, with a fresh database; killed on drop.
pub struct Srv {
    pub child: Child,
    pub addr: SocketAddr,
    dir: PathBuf,
    pub startup: Duration,
    pub token: String,
    /// The operator's kept-alive connection for creates, as a browser keeps one.
    kept: std::sync::Mutex<Option<BufReader<TcpStream>>>,
}

impl Srv {
    pub fn start(bin: &Path) -> Srv {
        Srv::start_with(bin, &[], &[])
    }

    /// Like `start`, with the server run under `wrap` (a command and its flags, e.g.
    /// valgrind's) and with `settings` (environment variables) added. The child's pid is then the
    /// wrapper's; valgrind runs the server in that same process.
    pub fn start_with(bin: &Path, wrap: &[String], settings: &[(&str, &str)]) -> Srv {
        let dir = std::env::temp_dir().join(format!("royal-care-loadgen-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("lg.db");
        let env = |c: &mut Command| {
            c.env("ROYAL_CARE_PASSWORD_ITERATIONS", "1000")
                .env("ROYAL_CARE_INSECURE_FAST_HASHES_FOR_TESTS", "1")
                .env("RUST_LOG", "warn,royal_care::server=info")
                .env("RUST_LOG_STYLE", "never")
                .arg("--db")
                .arg(&db);
        };
        let t0 = Instant::now();
        let mut cmd = match wrap.split_first() {
            Some((w, flags)) => {
                let mut c = Command::new(w);
                c.args(flags).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        env(&mut cmd);
        cmd.envs(settings.iter().copied());
        cmd.args(["serve", "--addr", "127.0.0.1:0"])
            .env("ROYAL_CARE_MAX_CONNECTIONS", "12000")
            .env("ROYAL_CARE_MAX_CONNECTIONS_PER_ADDRESS", "12000")
            .env("ROYAL_CARE_MAX_SOCKETS_PER_USER", "11000");
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr: SocketAddr = loop {
            let line = lines.next().expect("server exited").unwrap();
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.trim_end_matches('/').parse().unwrap();
            }
        };
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        while http(addr, "GET", "/health/", None, None).0 != 200 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let startup = t0.elapsed();
        for (name, role) in [("op", "operator"), ("th", "therapist")] {
            let mut add = Command::new(bin);
            env(&mut add);
            add.args(["user", "add", "--username", name, "--role", role]);
            let mut p = add.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
            p.stdin.take().unwrap().write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
            assert!(p.wait().unwrap().success(), "user add failed");
        }
        let (s, v) =
            http(addr, "POST", "/api/auth/login/", None, Some(&json!({"username": "op", "password": PASSWORD})));
        assert_eq!(s, 200, "login failed: {v}");
        let token = v["token"].as_str().unwrap().to_string();
        Srv { child, addr, dir, startup, token, kept: Default::default() }
    }

    pub fn status(&self, key: &str) -> f64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        s.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    pub fn rss_mb(&self) -> f64 {
        self.status("VmRSS:") / 1024.0
    }

    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        http(self.addr, method, path, Some(&self.token), body)
    }

    pub fn socket(&self) -> WebSocket<TcpStream> {
        let url = format!("ws://{}/ws/scheduling/appointments/", self.addr);
        let mut req = url.into_client_request().unwrap();
        req.headers_mut().insert("Sec-WebSocket-Protocol", format!("bearer, {}", self.token).parse().unwrap());
        let stream = TcpStream::connect(self.addr).expect("connect (raise the fd limit: ulimit -n 20000)");
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
        let (mut ws, _) = tungstenite::client::client_with_config(req, stream, Some(config)).expect("handshake");
        match ws.read() {
            Ok(Message::Text(t)) if t.contains("initial_data") => ws,
            other => panic!("expected initial_data, got {other:?}"),
        }
    }

    /// A client, a service and the therapist: what an appointment create needs.
    pub fn fixtures(&self) -> (i64, i64, i64) {
        let (s, c) = self.call("POST", "/api/scheduling/clients/", Some(&json!({"first_name": "Load", "last_name": "Gen", "phone_number": "0900000000", "address": "1 Test Street"})));
        assert_eq!(s, 201, "client create: {c}");
        let (s, sv) = self.call(
            "POST",
            "/api/scheduling/services/",
            Some(&json!({"name": "Swedish 60", "duration": 60, "price": "1000.00"})),
        );
        assert_eq!(s, 201, "service create: {sv}");
        let (s, staff) = self.call("GET", "/api/scheduling/staff/?role=therapist", None);
        assert_eq!(s, 200, "staff list: {staff}");
        let list = staff.get("results").unwrap_or(&staff).as_array().cloned().unwrap_or_default();
        let th = list.iter().find(|u| u["username"] == "th").expect("therapist th")["id"].as_i64().unwrap();
        (c["id"].as_i64().unwrap(), sv["id"].as_i64().unwrap(), th)
    }

    pub fn create(&self, (client, service, therapist): (i64, i64, i64), i: usize) -> (u16, Value) {
        // Spread over months, days and hours so no two overlap for the one therapist.
        let month = 1 + (i / 280) % 12;
        let day = 1 + (i / 10) % 28;
        let hour = 8 + i % 10;
        let body = json!({
            "client": client, "services": [service], "therapist": therapist,
            "date": format!("2031-{month:02}-{day:02}"), "start_time": format!("{hour:02}:00"), "end_time": format!("{hour:02}:50"),
            "location": "1 Test Street",
        });
        self.call_kept("POST", "/api/scheduling/appointments/", &body)
    }

    /// One request on the kept-alive connection (opened again if the server closed it).
    fn call_kept(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let mut kept = self.kept.lock().unwrap();
        for _ in 0..2 {
            if kept.is_none() {
                let s = TcpStream::connect(self.addr).unwrap();
                s.set_nodelay(true).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                *kept = Some(BufReader::new(s));
            }
            let r = kept.as_mut().unwrap();
            let req = request(self.addr, method, path, Some(&self.token), &body.to_string(), false);
            if r.get_mut().write_all(req.as_bytes()).is_ok() {
                if let Some((status, b)) = read_response(r) {
                    return (status, serde_json::from_slice(&b).unwrap_or(Value::Null));
                }
            }
            *kept = None;
        }
        (0, Value::Null)
    }
}

impl Drop for Srv {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One request on a fresh connection; (status, JSON body or Null).
pub fn http(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
    let Ok(s) = TcpStream::connect(addr) else {
        return (0, Value::Null);
    };
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = request(addr, method, path, token, &body, true);
    let mut w = s.try_clone().unwrap();
    w.write_all(req.as_bytes()).unwrap();
    let mut r = BufReader::new(s);
    match read_response(&mut r) {
        Some((status, b)) => (status, serde_json::from_slice(&b).unwrap_or(Value::Null)),
        None => (0, Value::Null),
    }
}

/// A request's bytes; `close` asks the server to close the connection after answering.
fn request(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: &str, close: bool) -> String {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{}Content-Type: application/json\r\nContent-Length: {}\r\n",
        if close { "Connection: close\r\n" } else { "" },
        body.len()
    );
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Token {t}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    req
}

pub fn read_response(r: &mut BufReader<TcpStream>) -> Option<(u16, Vec<u8>)> {
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let status = line.split(' ').nth(1)?.parse().ok()?;
    let mut len = 0;
    loop {
        line.clear();
        r.read_line(&mut line).ok()?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some((status, body))
}
