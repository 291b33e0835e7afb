//! What one hostile or broken client can make the server hold, over real sockets:
//! body sizes decided before a byte of the body is read, one shared budget for large
//! bodies, a cap of connections per address, chunked bodies, a deadline per response,
//! tokens kept out of the log, and a full disk answered plainly (issue 9).

mod common;
use common::*;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const MIB: usize = 1024 * 1024;

fn post_head(path: &str, token: Option<&str>, len: usize) -> String {
    let auth = token.map(|t| format!("Authorization: Token {t}\r\n")).unwrap_or_default();
    format!("POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {len}\r\n\r\n")
}

/// Issue 9.1: a caller who is not logged in is refused a large body at once (the old
/// server waited for, and buffered, up to 1 MiB of it).
#[test]
fn large_bodies_need_a_login_and_are_refused_before_they_are_read() {
    let srv = Server::start();
    for (path, token, status) in [
        ("/api/auth/login/", None, 413),
        ("/api/scheduling/clients/", None, 401),
        ("/api/scheduling/clients/", Some("0".repeat(64)), 401),
    ] {
        let mut s = srv.connect();
        let started = Instant::now();
        s.write_all(post_head(path, token.as_deref(), MIB).as_bytes()).unwrap();
        let r = read_response(&mut s).expect("an answer before the body");
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert!(started.elapsed() < Duration::from_secs(2), "answered only after {:?}", started.elapsed());
        assert!(r.json()["detail"].as_str().unwrap().ends_with('.'));
    }
    // A logged-in caller may still send up to the limit.
    let op = srv.user("olga", "operator");
    let notes = "n".repeat(3000);
    let body = serde_json::json!({"first_name": "A", "last_name": "B", "phone_number": "+63 900 000 0000", "notes": notes, "pad": "x".repeat(40_000)});
    let (status, v) = srv.call("POST", "/api/scheduling/clients/", Some(&op), Some(&body));
    assert_eq!(status, 201, "{v}");
}

/// Issue 9.1: large bodies share one budget; past it the server answers 503 with
/// Retry-After instead of buffering another megabyte.
#[test]
fn large_bodies_share_one_budget() {
    let srv = Server::start();
    let op = srv.user("olga", "operator");
    let mut stalled = Vec::new();
    let mut refused = 0;
    for i in 0..40u8 {
        let mut s = connect_from([127, 0, 0, 10 + i % 4], srv.addr);
        s.write_all(post_head("/api/scheduling/clients/", Some(&op), MIB).as_bytes()).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        match read_response(&mut s) {
            Some(r) => {
                assert_eq!(r.status, 503, "{}", r.text());
                assert_eq!(r.header("Retry-After"), Some("1"));
                refused += 1;
            }
            None => stalled.push(s), // admitted: the server waits for the body
        }
    }
    // 32 MiB budget at two bytes a body byte: sixteen bodies of 1 MiB.
    assert_eq!((stalled.len(), refused), (16, 24));
    drop(stalled);
    // The budget comes back once those connections are gone.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut s = srv.connect();
        s.write_all(post_head("/api/scheduling/clients/", Some(&op), MIB).as_bytes()).unwrap();
        let _ = s.write_all(&vec![b' '; MIB]);
        let r = read_response(&mut s).unwrap();
        if r.status != 503 {
            assert_eq!(r.status, 400, "a megabyte of spaces is not a JSON object: {}", r.text());
            break;
        }
        assert!(Instant::now() < deadline, "the budget never came back");
    }
}

/// Issue 9.1: a JSON body may not parse into more values than a booking could need.
#[test]
fn json_with_too_many_values_is_refused() {
    let srv = Server::start();
    let op = srv.user("olga", "operator");
    let body = format!("{{\"first_name\":[{}]}}", vec!["0"; 20_000].join(","));
    let r = srv.request("POST", "/api/scheduling/clients/", Some(&op), Some(&body), &[]);
    assert_eq!(r.status, 400);
    assert!(r.json()["detail"].as_str().unwrap().contains("more than 10000 values"), "{}", r.text());
}

/// Issue 9.4: one address cannot take every connection; others are still served.
#[test]
fn one_address_cannot_take_every_connection() {
    let srv = Server::start();
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..300 {
        let mut s = connect_from([127, 0, 0, 1], srv.addr);
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let mut b = [0u8; 1];
        let read = loop {
            match s.read(&mut b) {
                // A stop/continue of this process interrupts the read: not an answer.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                read => break read,
            }
        };
        match read {
            Ok(n) if n <= 1 => refused += 1, // the 503 (or its close)
            _ => held.push(s),
        }
    }
    assert_eq!(held.len(), 250, "the default per-address cap");
    assert_eq!(refused, 50);
    let mut s = connect_from([127, 0, 0, 1], srv.addr);
    s.write_all(b"GET /health/ HTTP/1.1\r\n\r\n").unwrap();
    let r = read_response(&mut s).unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["detail"], "This address has too many connections open; close some, then try again.");
    for _ in 0..20 {
        let mut s = connect_from([127, 0, 0, 2], srv.addr);
        s.write_all(b"GET /health/ HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
        assert_eq!(read_response(&mut s).unwrap().status, 200);
    }
    assert!(srv.log().contains("refused a connection from 127.0.0.1: it has 250 open already"));
}

/// Issue 9.7: chunked bodies are HTTP/1.1, and are read (within the same limits).
#[test]
fn chunked_bodies_are_read() {
    let srv = Server::start();
    srv.add_user("ana", "therapist");
    let json = format!(r#"{{"username":"ana","password":"{PASSWORD}"}}"#);
    let (a, b) = json.split_at(10);
    let wire = format!(
        "POST /api/auth/login/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x};note=1\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    let r = srv.raw(wire.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["token"].as_str().unwrap().len(), 64);

    let gzip = srv.raw(b"POST /api/auth/login/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
    assert_eq!(gzip.status, 501);
    let both =
        srv.raw(b"POST /api/auth/login/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n");
    assert_eq!(both.status, 400);
    assert_eq!(both.json()["detail"], "Bad request: send either Content-Length or Transfer-Encoding, not both.");
    // Over the anonymous limit: 413 as soon as the chunk size says so.
    let big = srv.raw(
        format!("POST /api/auth/login/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n", 20_000).as_bytes(),
    );
    assert_eq!(big.status, 413);
    // A large chunked body to a logged-in route needs the token first.
    let anon = srv.raw(b"POST /api/scheduling/clients/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    assert_eq!(anon.status, 401);
}

/// Issue 9.6: `?%74oken=` is the token to the WebSocket, so the log must redact it too.
#[test]
fn percent_encoded_token_names_are_redacted_in_the_log() {
    let srv = Server::start();
    let token = srv.user("ana", "therapist");
    let mut s = srv.connect();
    write!(
        s,
        "GET /ws/scheduling/appointments/?%74oken={token} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        srv.addr
    )
    .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 101", "the encoded name is accepted as the token");
    assert!(srv.wait_log("%74oken=[redacted]", Duration::from_secs(5)), "{}", srv.log());
    assert!(!srv.log().contains(&token), "the token reached the log");
}

/// Issue 9.9: a reader that takes a byte at a time is cut off when the response's
/// deadline (10 s) passes, not after each write call's: its connection (and thread) is
/// gone within seconds of that, while the reader is still reading.
#[test]
fn slow_readers_are_cut_off_at_the_response_deadline() {
    let srv = Server::start();
    let op = srv.user("olga", "operator");
    let notes = "n".repeat(3900);
    for i in 0..300 {
        let body = serde_json::json!({"first_name": format!("C{i}"), "last_name": "Slow", "phone_number": "+63 900 000 0000", "notes": notes});
        assert_eq!(srv.call("POST", "/api/scheduling/clients/", Some(&op), Some(&body)).0, 201);
    }
    let mut s = connect_with([127, 0, 0, 1], srv.addr, Some(4096));
    write!(
        s,
        "GET /api/scheduling/clients/?page_size=200 HTTP/1.1\r\nAuthorization: Token {op}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let started = Instant::now();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    // ~20 KB/s: the 800 KB answer would take 40 s at this pace.
    let reader = std::thread::spawn(move || {
        let mut got = 0usize;
        let mut buf = [0u8; 1024];
        while !stop2.load(std::sync::atomic::Ordering::SeqCst) && started.elapsed() < Duration::from_secs(60) {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
            std::thread::sleep(Duration::from_millis(50)); // the slow reader itself
        }
        got
    });
    // The server's count of open connections drops back to just the health check.
    let deadline = started + Duration::from_secs(25);
    let freed = loop {
        let mut h = connect_from([127, 0, 0, 2], srv.addr);
        h.write_all(b"GET /health/ HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
        let open = read_response(&mut h).unwrap().json()["connections"].as_u64().unwrap();
        if open == 1 {
            break started.elapsed();
        }
        assert!(Instant::now() < deadline, "the slow reader's connection was still open after 25 s");
        std::thread::sleep(Duration::from_millis(250)); // polling a count; no event to wait on
    };
    assert!(freed < Duration::from_secs(14), "the connection was held for {freed:?}");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let got = reader.join().unwrap();
    assert!(got < 700_000, "the reader got {got} bytes: it was not slow enough to test anything");
}

/// Starts the server on a copy of `srv`'s database inside a tmpfs of `kib` KiB mounted
/// in a private mount namespace (`unshare`), so the test can fill a real disk. `None`
/// when this machine allows no namespaces to an unprivileged user (root always can).
fn on_small_disk(srv: &Server, kib: usize) -> Option<(Server, std::path::PathBuf)> {
    let ok = std::process::Command::new("unshare").args(["-r", "-m", "true"]).status().is_ok_and(|s| s.success());
    let root = std::process::Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !ok {
        assert!(!root, "unshare fails even as root; install util-linux");
        eprintln!("SKIPPED: this machine does not allow user namespaces, so no small disk can be mounted");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("disk");
    std::fs::create_dir(&mnt).unwrap();
    let script = r#"mount -t tmpfs -o size="$3"k tmpfs "$0" && cp "$1" "$0/royal-care.db" && { [ ! -e "$1-wal" ] || cp "$1-wal" "$0/royal-care.db-wal"; } && exec "$2" --db "$0/royal-care.db" serve --addr 127.0.0.1:0"#;
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["-r", "-m", "sh", "-c", script]).arg(&mnt).arg(&srv.db).arg(BIN).arg(kib.to_string());
    base_env(&mut cmd);
    let server = Server::spawn(dir, mnt.join("royal-care.db"), cmd);
    // The tmpfs is visible only inside the server's namespace: reach it through /proc.
    let inside = std::path::PathBuf::from(format!("/proc/{}/root{}", server.child.id(), mnt.display()));
    Some((server, inside))
}

/// Issue 9.9: on a full disk, writes answer 503 with Retry-After and a sentence, change
/// nothing, and `/health/` says so; once there is space again, all is as before.
#[test]
fn a_full_disk_is_answered_plainly_and_shown_in_health() {
    let mut setup = Server::start();
    setup.add_user("olga", "operator");
    setup.terminate();
    let Some((srv, disk)) = on_small_disk(&setup, 4096) else { return };
    let op = srv.login("olga");
    let client =
        |name: &str| serde_json::json!({"first_name": name, "last_name": "Full", "phone_number": "+63 900 000 0000"});
    assert_eq!(srv.call("POST", "/api/scheduling/clients/", Some(&op), Some(&client("Before"))).0, 201);
    let (status, health) = srv.call("GET", "/health/", None, None);
    assert_eq!((status, health["database"].as_str()), (200, Some("ok")));

    // Fill the disk.
    let filler = disk.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    drop(f);

    let r = srv.request("POST", "/api/scheduling/clients/", Some(&op), Some(&client("During").to_string()), &[]);
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("Retry-After"), Some("60"));
    assert_eq!(r.json()["code"], "disk_full");
    assert_eq!(
        r.json()["detail"],
        "The server's disk is full, so nothing was saved; free space on it (or tell the administrator), then try again."
    );
    let health = srv.request("GET", "/health/", None, None, &[]);
    assert_eq!(health.status, 503);
    assert_eq!(
        (health.json()["status"].as_str(), health.json()["database"].as_str()),
        (Some("unhealthy"), Some("disk_full"))
    );
    // Reading still works, and the refused write left nothing behind.
    let (status, list) = srv.call("GET", "/api/scheduling/clients/", Some(&op), None);
    assert_eq!(status, 200);
    let names: Vec<&str> =
        list["results"].as_array().unwrap().iter().map(|c| c["first_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Before"]);

    std::fs::remove_file(&filler).unwrap();
    assert_eq!(srv.call("POST", "/api/scheduling/clients/", Some(&op), Some(&client("After"))).0, 201);
    assert_eq!(srv.call("GET", "/health/", None, None).0, 200);
    assert!(srv.log().contains("the database's disk is full"));
}
