//! Load generator for docs/PERFORMANCE.md. It starts its own `royal-care serve` (the
//! release binary) on 127.0.0.1 with a throw-away database, and measures:
//! start-up time and idle RSS; create → delivered latency with 100 and 1000 subscribers;
//! sockets held at once and the server's RSS; REST `GET appointments/` requests/s with 8
//! keep-alive clients. Each scenario runs `--runs` times on a fresh server; the medians
//! are printed. It only ever connects to the server it started, and every count and
//! duration is bounded.
//!
//! ```text
//! ulimit -n 20000      # the hold scenario needs ~2 fds per socket (server + client)
//! cargo build --release
//! cargo run --release --example loadgen -- --runs 3
//! cargo run --release --example loadgen -- --runs 3 --only latency --subs 100,1000
//! ```

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

const PASSWORD: &str = "loadgen-password-1";
/// Upper bounds, whatever the flags say.
const MAX_SOCKETS: usize = 10_000;
const MAX_EVENTS: usize = 2_000;
const MAX_SECS: u64 = 60;

struct Opts {
    bin: PathBuf,
    runs: usize,
    only: Option<String>,
    subs: Vec<usize>,
    events: usize,
    hold: usize,
    rest_secs: u64,
    rest_clients: usize,
    rest_path: String,
}

fn opts() -> Opts {
    let mut o = Opts {
        bin: PathBuf::from("target/release/royal-care"),
        runs: 3,
        only: None,
        subs: vec![100, 1000],
        events: 200,
        hold: 5000,
        rest_secs: 5,
        rest_clients: 8,
        rest_path: "/api/scheduling/appointments/".into(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--bin" => o.bin = v.into(),
            "--runs" => o.runs = v.parse().expect("--runs N"),
            "--only" => o.only = Some(v),
            "--subs" => o.subs = v.split(',').map(|s| s.parse().expect("--subs 100,1000")).collect(),
            "--events" => o.events = v.parse().expect("--events N"),
            "--hold" => o.hold = v.parse().expect("--hold N"),
            "--rest-secs" => o.rest_secs = v.parse().expect("--rest-secs N"),
            "--rest-clients" => o.rest_clients = v.parse().expect("--rest-clients N"),
            "--rest-path" => o.rest_path = v,
            other => panic!("unknown flag {other}; see the header of examples/loadgen.rs"),
        }
        i += 2;
    }
    o.hold = o.hold.min(MAX_SOCKETS);
    o.events = o.events.min(MAX_EVENTS);
    o.rest_secs = o.rest_secs.min(MAX_SECS);
    o.subs.iter_mut().for_each(|s| *s = (*s).min(MAX_SOCKETS));
    o
}

fn main() {
    let o = opts();
    assert!(o.bin.exists(), "{} is missing: run `cargo build --release` first", o.bin.display());
    let want = |s: &str| o.only.as_deref().is_none_or(|only| only.split(',').any(|x| x == s));
    println!("machine: {} cores; {}", std::thread::available_parallelism().map_or(0, |n| n.get()), cpu_model());
    if want("startup") {
        let mut start = Vec::new();
        let mut idle = Vec::new();
        for _ in 0..o.runs {
            let srv = Srv::start(&o.bin);
            std::thread::sleep(Duration::from_secs(1));
            start.push(srv.startup.as_secs_f64() * 1000.0);
            idle.push(srv.rss_mb());
        }
        println!("startup: {:.1} ms (median of {:?})", median(&start), round(&start));
        println!("idle RSS: {:.1} MB (median of {:?})", median(&idle), round(&idle));
    }
    if want("latency") {
        for &n in &o.subs {
            let mut runs: [Vec<f64>; 4] = Default::default();
            for _ in 0..o.runs {
                let srv = Srv::start(&o.bin);
                for (r, x) in runs.iter_mut().zip(latency(&srv, n, o.events)) {
                    r.push(x);
                }
            }
            let m: Vec<f64> = runs.iter().map(|r| median(r)).collect();
            println!(
                "create -> delivered to all of {n} subscribers, {} creates: p50 {:.2} ms, p99 {:.2} ms \
                 (create's own round trip p50 {:.2} ms, p99 {:.2} ms); medians; p50s {:?}, p99s {:?}",
                o.events,
                m[0],
                m[1],
                m[2],
                m[3],
                round(&runs[0]),
                round(&runs[1])
            );
        }
    }
    if want("hold") {
        let (mut rss, mut secs, mut threads) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..o.runs {
            let srv = Srv::start(&o.bin);
            let (r, s, t) = hold(&srv, o.hold);
            rss.push(r);
            secs.push(s);
            threads.push(t as f64);
        }
        println!(
            "{} sockets held: server RSS {:.1} MB, {:.0} threads, opened in {:.1} s (medians; RSS {:?})",
            o.hold,
            median(&rss),
            median(&threads),
            median(&secs),
            round(&rss)
        );
    }
    if want("rest") {
        let mut rates = Vec::new();
        for _ in 0..o.runs {
            let srv = Srv::start(&o.bin);
            rates.push(rest(&srv, o.rest_clients, o.rest_secs, &o.rest_path));
        }
        println!(
            "REST GET {} with {} keep-alive clients: {:.0} requests/s (median of {:?})",
            o.rest_path,
            o.rest_clients,
            median(&rates),
            round(&rates)
        );
    }
}

/// A server started for one measurement, with a fresh database; killed on drop.
struct Srv {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
    startup: Duration,
    token: String,
}

impl Srv {
    fn start(bin: &Path) -> Srv {
        let dir = std::env::temp_dir().join(format!("royal-care-loadgen-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("lg.db");
        let env = |c: &mut Command| {
            c.env("ROYAL_CARE_PASSWORD_ITERATIONS", "1000")
                .env("ROYAL_CARE_INSECURE_FAST_HASHES_FOR_TESTS", "1")
                .env("RUST_LOG", "warn,royal_care::cli::serve=info")
                .env("RUST_LOG_STYLE", "never")
                .arg("--db")
                .arg(&db);
        };
        let t0 = Instant::now();
        let mut cmd = Command::new(bin);
        env(&mut cmd);
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
        Srv { child, addr, dir, startup, token }
    }

    fn status(&self, key: &str) -> f64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        s.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    fn rss_mb(&self) -> f64 {
        self.status("VmRSS:") / 1024.0
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        http(self.addr, method, path, Some(&self.token), body)
    }

    fn socket(&self) -> WebSocket<TcpStream> {
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
    fn fixtures(&self) -> (i64, i64, i64) {
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

    fn create(&self, (client, service, therapist): (i64, i64, i64), i: usize) -> (u16, Value) {
        // Spread over months, days and hours so no two overlap for the one therapist.
        let month = 1 + (i / 280) % 12;
        let day = 1 + (i / 10) % 28;
        let hour = 8 + i % 10;
        let body = json!({
            "client": client, "services": [service], "therapist": therapist,
            "date": format!("2031-{month:02}-{day:02}"), "start_time": format!("{hour:02}:00"), "end_time": format!("{hour:02}:50"),
            "location": "1 Test Street",
        });
        self.call("POST", "/api/scheduling/appointments/", Some(&body))
    }
}

impl Drop for Srv {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `n` subscribers, `events` creates one after the other; each create's latency to every
/// subscriber is measured from just before its request is written. Readers do as little
/// as possible (they share the 2 cores with the server): note the time, pick out `seq`
/// without parsing the JSON. Returns p50/p99 of create -> delivered and of the create's
/// own round trip (201 received), in ms.
fn latency(srv: &Srv, n: usize, events: usize) -> [f64; 4] {
    let fx = srv.fixtures();
    let (tx, rx) = mpsc::channel::<(i64, Instant)>();
    for _ in 0..n {
        let mut ws = srv.socket();
        let tx = tx.clone();
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                while let Ok(m) = ws.read() {
                    let at = Instant::now();
                    if let Message::Text(t) = m {
                        // Event messages begin {"type":"…","timestamp":"…","seq":N
                        if t.starts_with(r#"{"type":"appointment_created""#) {
                            let seq = t.split(r#""seq":"#).nth(1).and_then(|r| r.split(',').next());
                            let _ = tx.send((seq.and_then(|x| x.parse().ok()).unwrap_or(-1), at));
                        }
                    }
                }
            })
            .unwrap();
    }
    drop(tx);
    let mut lat = Vec::with_capacity(n * events);
    let mut ack = Vec::with_capacity(events);
    let cpu0 = (cpu_ms(srv.child.id()), cpu_ms(std::process::id()));
    let mut prev = 0;
    for i in 0..events {
        let t0 = Instant::now();
        let (s, v) = srv.create(fx, i);
        ack.push(t0.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(s, 201, "appointment create: {v}");
        let mut seq = None;
        for _ in 0..n {
            let (got, at) = rx.recv_timeout(Duration::from_secs(10)).expect("a subscriber missed an event");
            assert!(got > prev && *seq.get_or_insert(got) == got, "events out of order");
            lat.push((at - t0).as_secs_f64() * 1000.0);
        }
        prev = seq.unwrap_or(prev);
        // Let the readers settle so creates do not overlap.
        std::thread::sleep(Duration::from_millis(5));
    }
    let (server, own) = (cpu_ms(srv.child.id()) - cpu0.0, cpu_ms(std::process::id()) - cpu0.1);
    println!(
        "  {n} subscribers: CPU per create: server {:.2} ms, load generator {:.2} ms",
        server / events as f64,
        own / events as f64
    );
    lat.sort_by(f64::total_cmp);
    ack.sort_by(f64::total_cmp);
    [pct(&lat, 0.50), pct(&lat, 0.99), pct(&ack, 0.50), pct(&ack, 0.99)]
}

/// Opens `n` sockets (each reads its initial_data) and keeps them; returns the server's
/// RSS (MB), the seconds it took, and its thread count.
fn hold(srv: &Srv, n: usize) -> (f64, f64, usize) {
    let t0 = Instant::now();
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        held.push(srv.socket());
        assert!(t0.elapsed() < Duration::from_secs(MAX_SECS), "opening sockets took too long");
    }
    let secs = t0.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(500));
    let out = (srv.rss_mb(), secs, srv.status("Threads:") as usize);
    if let Ok(p) = std::env::var("LOADGEN_SMAPS") {
        // Diagnostics: where the server's memory is (stacks vs heap).
        let _ = std::fs::copy(format!("/proc/{}/smaps", srv.child.id()), p);
    }
    drop(held);
    out
}

/// `clients` threads each with one keep-alive connection, GET `path` for `secs`.
fn rest(srv: &Srv, clients: usize, secs: u64, path: &str) -> f64 {
    if path.contains("appointments") {
        let fx = srv.fixtures();
        for i in 0..20 {
            assert_eq!(srv.create(fx, i).0, 201);
        }
    }
    let until = Instant::now() + Duration::from_secs(secs);
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (addr, token, path) = (srv.addr, srv.token.clone(), path.to_string());
            std::thread::spawn(move || {
                let s = TcpStream::connect(addr).unwrap();
                s.set_nodelay(true).unwrap();
                let mut w = s.try_clone().unwrap();
                let mut r = BufReader::new(s);
                let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Token {token}\r\n\r\n");
                let mut n = 0u64;
                while Instant::now() < until {
                    w.write_all(req.as_bytes()).unwrap();
                    let (status, _) = read_response(&mut r).expect("connection closed");
                    assert_eq!(status, 200, "GET {path} answered {status}");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let t0 = Instant::now();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    total as f64 / t0.elapsed().as_secs_f64().max(secs as f64)
}

/// One request on a fresh connection; (status, JSON body or Null).
fn http(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
    let Ok(s) = TcpStream::connect(addr) else {
        return (0, Value::Null);
    };
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n", body.len());
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Token {t}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    let mut w = s.try_clone().unwrap();
    w.write_all(req.as_bytes()).unwrap();
    let mut r = BufReader::new(s);
    match read_response(&mut r) {
        Some((status, b)) => (status, serde_json::from_slice(&b).unwrap_or(Value::Null)),
        None => (0, Value::Null),
    }
}

fn read_response(r: &mut BufReader<TcpStream>) -> Option<(u16, Vec<u8>)> {
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

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn round(v: &[f64]) -> Vec<f64> {
    v.iter().map(|x| (x * 100.0).round() / 100.0).collect()
}

/// User + system CPU time of a process so far, in ms (from /proc/PID/stat).
fn cpu_ms(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the ")" that ends the command name; utime and stime are 14 and 15.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    let ticks = f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0);
    ticks * 10.0 // USER_HZ is 100 on Linux
}

fn cpu_model() -> String {
    let s = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    s.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).unwrap_or("?").trim().to_string()
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}
