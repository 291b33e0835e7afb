//! Phones over the internet: the real Caddy (Debian's package) with `tls internal` in
//! front of the real server, both on 127.0.0.1. The test client trusts Caddy's own root
//! certificate, read from Caddy's storage directory. REST goes through `curl` and the
//! `wss://` socket through `openssl s_client` carrying tungstenite's frames: both verify
//! the certificate against that root, and neither needs a TLS crate in our build.
//!
//! The Caddyfile is the shipped deploy/Caddyfile with only test ports, storage and
//! `tls internal` changed (`shipped_caddyfile`).
//!
//! Client addresses are told apart by connecting to Caddy from 127.0.0.2, 127.0.0.3…;
//! Caddy replaces whatever X-Forwarded-For a client sends with the address it saw.

mod clinic;
mod common;
mod ws_support;

use clinic::{today, Clinic};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::client::IntoClientRequest;

/// Caddy on a free port in front of `upstream`, with its storage in a temp dir.
struct Caddy {
    child: Child,
    port: u16,
    root: PathBuf,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Caddy {
    fn start(upstream: std::net::SocketAddr) -> Caddy {
        if Command::new("caddy").arg("version").output().is_err() {
            panic!("Caddy is not installed; install it with: sudo apt-get install -y caddy");
        }
        let dir = tempfile::tempdir().unwrap();
        let (port, http_port) = (free_port(), free_port());
        let storage = dir.path().join("storage");
        let conf = shipped_caddyfile(port, http_port, &storage, upstream);
        let file = dir.path().join("Caddyfile");
        std::fs::write(&file, conf).unwrap();
        let child = Command::new("caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&file)
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let root = storage.join("pki/authorities/local/root.crt");
        let caddy = Caddy { child, port, root, _dir: dir };
        // Ready when a request through it verifies against its root and reaches us.
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            if caddy.root.exists() && caddy.curl("127.0.0.2", "GET", "/health/", None, None, &[]).0 == 200 {
                return caddy;
            }
            assert!(Instant::now() < until, "Caddy did not start serving on {port} within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// One request through Caddy over https from local address `from`; (status, JSON body).
    fn curl(
        &self,
        from: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[&str],
    ) -> (u16, Value) {
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-o", "-", "-w", "\n%{http_code}", "--interface", from, "--cacert"])
            .arg(&self.root)
            .args(["--resolve", &format!("localhost:{}:127.0.0.1", self.port), "-X", method])
            .arg(format!("https://localhost:{}{path}", self.port));
        if let Some(t) = token {
            cmd.args(["-H", &format!("Authorization: Token {t}")]);
        }
        if let Some(b) = body {
            cmd.args(["-H", "Content-Type: application/json", "--data-binary", &b.to_string()]);
        }
        for h in headers {
            cmd.args(["-H", h]);
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), serde_json::from_str(body).unwrap_or(Value::Null))
    }
}

/// deploy/Caddyfile as shipped, changed only where a test must differ from a clinic:
/// test ports, storage in a temp dir, admin API off, no system trust store, the LAN
/// case's `tls internal` on, and the server's port. A shipped file that no longer has
/// these lines fails here.
fn shipped_caddyfile(port: u16, http_port: u16, storage: &Path, upstream: std::net::SocketAddr) -> String {
    let shipped = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/Caddyfile")).unwrap();
    let changes = [
        (
            "\tadmin localhost:2019\n".to_string(),
            format!(
                "\tadmin off\n\tskip_install_trust\n\thttp_port {http_port}\n\thttps_port {port}\n\tstorage file_system {{\n\t\troot {}\n\t}}\n",
                storage.display()
            ),
        ),
        ("care.example.ph {\n".to_string(), format!("localhost:{port} {{\n\tbind 127.0.0.1\n")),
        ("\t# tls internal\n".to_string(), "\ttls internal\n".to_string()),
        ("reverse_proxy 127.0.0.1:8000 {".to_string(), format!("reverse_proxy {upstream} {{")),
    ];
    changes.iter().fold(shipped, |conf, (from, to)| {
        assert!(conf.contains(from.as_str()), "deploy/Caddyfile no longer has {from:?}");
        conf.replacen(from.as_str(), to, 1)
    })
}

impl Drop for Caddy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TLS stream to Caddy made by `openssl s_client`, which verifies Caddy's certificate
/// against `root` (and fails the connection otherwise); bytes pass through its stdio.
struct Tls {
    child: Child,
    to: ChildStdin,
    from: ChildStdout,
}

impl Tls {
    fn connect(port: u16, root: &Path) -> Tls {
        let mut child = Command::new("openssl")
            .args(["s_client", "-quiet", "-verify_return_error", "-verify_hostname", "localhost"])
            .args(["-servername", "localhost", "-connect", &format!("127.0.0.1:{port}"), "-CAfile"])
            .arg(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (to, from) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
        Tls { child, to, from }
    }
}

impl Read for Tls {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.from.read(buf)
    }
}

impl Write for Tls {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.to.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.to.flush()
    }
}

impl Drop for Tls {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn login_body(user: &str, password: &str) -> Value {
    json!({"username": user, "password": password})
}

#[test]
fn login_rest_and_wss_live_updates_work_through_caddy() {
    let c = Clinic::with(&[("ROYAL_CARE_TRUSTED_PROXIES", "127.0.0.1")]);
    let caddy = Caddy::start(c.srv.addr);

    let (s, v) =
        caddy.curl("127.0.0.2", "POST", "/api/auth/login/", None, Some(&login_body("olga", common::PASSWORD)), &[]);
    assert_eq!(s, 200, "{v}");
    let token = v["token"].as_str().unwrap().to_string();

    // The live socket over wss://, through Caddy, from the browser's own origin.
    let url = format!("wss://localhost:{}{}?token={token}", caddy.port, ws_support::WS_PATH);
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("Origin", format!("https://localhost:{}", caddy.port).parse().unwrap());
    let (mut ws, resp) =
        tungstenite::client::client(req, Tls::connect(caddy.port, &caddy.root)).expect("wss handshake");
    assert_eq!(resp.status(), 101);
    let first = next_json(&mut ws);
    assert_eq!(first["type"], "initial_data", "{first}");

    // A booking made through Caddy reaches the socket.
    let (s, made) = caddy.curl(
        "127.0.0.3",
        "POST",
        "/api/scheduling/appointments/",
        Some(&token),
        Some(&c.booking(&today(), "10:00", "11:00")),
        &[],
    );
    assert_eq!(s, 201, "{made}");
    loop {
        let v = next_json(&mut ws);
        if v["type"] == "appointment_created" {
            assert_eq!(v["appointment"]["id"], made["id"]);
            break;
        }
    }

    // Links are built for the client's https origin (Caddy's X-Forwarded-Proto/-Host).
    let (s, page) =
        caddy.curl("127.0.0.2", "GET", "/api/scheduling/appointments/?page_size=1", Some(&token), None, &[]);
    assert_eq!(s, 200, "{page}");
    c.book(&c.booking(&today(), "12:00", "13:00"));
    let (_, page) =
        caddy.curl("127.0.0.2", "GET", "/api/scheduling/appointments/?page_size=1", Some(&token), None, &[]);
    let next = page["next"].as_str().unwrap_or_else(|| panic!("no next link: {page}"));
    assert!(next.starts_with(&format!("https://localhost:{}/", caddy.port)), "{next}\n{}", c.srv.log());
    // Directly from an address that is not a trusted proxy, X-Forwarded-* are not believed.
    let mut direct = common::connect_from([127, 0, 0, 7], c.srv.addr);
    let raw = format!(
        "GET /api/scheduling/appointments/?page_size=1 HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
         Authorization: Token {token}\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n\r\n",
        c.srv.addr
    );
    direct.write_all(raw.as_bytes()).unwrap();
    let direct = common::read_response(&mut direct).unwrap();
    let next = direct.json()["next"].as_str().unwrap().to_string();
    assert!(next.starts_with(&format!("http://{}/", c.srv.addr)), "{next}");

    // The access log names the phone, not Caddy.
    assert!(
        c.srv.wait_log("127.0.0.3 \"POST /api/scheduling/appointments/\" 201", Duration::from_secs(5)),
        "{}",
        c.srv.log()
    );
    let _ = ws.close(None);
}

fn next_json(ws: &mut tungstenite::WebSocket<Tls>) -> Value {
    loop {
        match ws.read().expect("wss read") {
            tungstenite::Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            tungstenite::Message::Close(f) => panic!("socket closed: {f:?}"),
            _ => {}
        }
    }
}

#[test]
fn the_throttle_counts_each_client_behind_caddy_and_ignores_a_direct_clients_forwarded_for() {
    let c = Clinic::with(&[("ROYAL_CARE_TRUSTED_PROXIES", "127.0.0.1")]);
    let caddy = Caddy::start(c.srv.addr);
    // A guesser at 127.0.0.5 tries wrong passwords for many names until throttled; it
    // sends its own X-Forwarded-For each time, which Caddy replaces.
    let mut throttled = false;
    for n in 0..40 {
        let (s, _) = caddy.curl(
            "127.0.0.5",
            "POST",
            "/api/auth/login/",
            None,
            Some(&login_body(&format!("nobody{n}"), "wrong")),
            &[&format!("X-Forwarded-For: 10.9.9.{n}")],
        );
        if s == 429 {
            throttled = true;
            break;
        }
        assert_eq!(s, 401);
    }
    assert!(throttled, "the guesser was never throttled");
    // Another phone, also through Caddy (so also from 127.0.0.1 to the server), logs in.
    let (s, v) =
        caddy.curl("127.0.0.6", "POST", "/api/auth/login/", None, Some(&login_body("olga", common::PASSWORD)), &[]);
    assert_eq!(s, 200, "the throttle counted everyone behind Caddy as one: {v}");

    // A direct client (not a trusted proxy) cannot pick its address with X-Forwarded-For.
    let mut throttled = false;
    for n in 0..40 {
        let body = login_body(&format!("other{n}"), "wrong").to_string();
        let mut s = common::connect_from([127, 0, 0, 7], c.srv.addr);
        let raw = format!(
            "POST /api/auth/login/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Forwarded-For: 10.8.8.{n}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(raw.as_bytes()).unwrap();
        let r = common::read_response(&mut s).unwrap();
        if r.status == 429 {
            throttled = true;
            break;
        }
        assert_eq!(r.status, 401);
    }
    assert!(throttled, "a direct client escaped the throttle by sending X-Forwarded-For");
}

/// Caddy keeps a pool of connections that carry every phone's requests, so the
/// per-address cap must not refuse the trusted proxy; an untrusted address keeps its cap,
/// and the total cap still bounds the proxy.
#[test]
fn the_per_address_cap_does_not_apply_to_the_trusted_proxy() {
    let srv = common::Server::start_with(&[
        ("ROYAL_CARE_TRUSTED_PROXIES", "127.0.0.1"),
        ("ROYAL_CARE_MAX_CONNECTIONS_PER_ADDRESS", "3"),
        ("ROYAL_CARE_MAX_CONNECTIONS", "10"),
    ]);
    let mut held = Vec::new();
    // Each held connection has been answered once, so it is surely counted.
    let mut health = |from: [u8; 4]| {
        let mut s = common::connect_from(from, srv.addr);
        s.write_all(b"GET /health/ HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let r = common::read_response(&mut s).unwrap();
        held.push(s);
        (r.status, r.json()["detail"].as_str().unwrap_or_default().to_string())
    };
    for _ in 0..6 {
        assert_eq!(health([127, 0, 0, 1]).0, 200, "the proxy was capped per address");
    }
    for _ in 0..3 {
        assert_eq!(health([127, 0, 0, 2]).0, 200);
    }
    let (status, detail) = health([127, 0, 0, 2]);
    assert_eq!(
        (status, detail.as_str()),
        (503, "This address has too many connections open; close some, then try again.")
    );
    assert_eq!(health([127, 0, 0, 1]).0, 200, "the tenth connection");
    let (status, detail) = health([127, 0, 0, 1]);
    assert_eq!(status, 503, "the total cap bounds the proxy too: {detail}");
}
