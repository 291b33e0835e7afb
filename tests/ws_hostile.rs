//! The live socket under hostile or broken clients (issue 9): resumers from far back that
//! never read hold a bounded amount of server memory each; never-reading sockets are
//! closed with 4008 within a bounded time while a fast client keeps its latency; every
//! inbound frame, pongs and empty fragments included, counts toward the flood limit; a
//! dropped TCP connection is logged as 1006, a real protocol error as 1002.
mod clinic;
mod common;
mod ws_support;

use common::*;
use royal_care::events::Audience;
use serde_json::json;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tungstenite::Message;
use ws_support::*;

const SEC: Duration = Duration::from_secs(1);

/// The server process's resident memory, in KiB.
fn rss_kib(srv: &Server) -> u64 {
    memory_of(srv.child.id()).0 / 1024
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// Resumers from 10,000 events back that never read: each holds little memory, and the
/// write deadline closes them. A client that does read gets every event, in order.
#[test]
fn never_reading_resumers_hold_a_bounded_amount_of_memory_each() {
    const SOCKETS: usize = 30;
    let srv = Server::start_with(&[("ROYAL_CARE_MAX_SOCKETS_PER_USER", "100")]);
    let op = srv.user("olga", "operator");
    let (epoch, seqs) = fill_log(&srv, &op);
    let last = *seqs.last().unwrap();
    let since = last - 10_000;
    let query = format!("token={op}&since={since}&epoch={epoch}");

    // A reading client gets exactly the 10,000 events in order, then live ones.
    let mut ws = connect(&srv, &query, &[]).unwrap();
    let mut got = Vec::with_capacity(10_000);
    while got.last() != Some(&last) {
        let v = ws.next_json(20 * SEC).unwrap_or_else(|e| panic!("after {} events: {e:?}", got.len()));
        got.push(v["seq"].as_i64().unwrap());
    }
    assert_eq!(got, seqs, "the replay must be every event after since, in order");
    let live = inject(&srv, vec![updated(-1, Audience::operators_and([]))])[0];
    assert_eq!(ws.next_json(10 * SEC).unwrap()["seq"], live, "no gap or duplicate after the replay");
    ws.close();

    // The never-reading ones resume as far back as a resume may go.
    let since = live - 10_000;
    let query = format!("token={op}&since={since}&epoch={epoch}");
    let before = rss_kib(&srv);
    let opened = count(&srv.log(), &format!("after seq {since}"));
    let idle: Vec<Ws> = (0..SOCKETS).map(|_| connect(&srv, &query, &[]).unwrap()).collect();
    assert!(
        srv.wait_log_count(&format!("after seq {since}"), opened + SOCKETS, 30 * SEC),
        "not every resumer opened; log:\n{}",
        srv.log()
    );
    // The peak while the replays are under way.
    let mut peak = rss_kib(&srv);
    let until = Instant::now() + 2 * SEC;
    while Instant::now() < until {
        peak = peak.max(rss_kib(&srv));
        std::thread::sleep(Duration::from_millis(20));
    }
    let per_socket = peak.saturating_sub(before) / SOCKETS as u64;
    eprintln!("RSS before {before} KiB, peak {peak} KiB: {per_socket} KiB per never-reading resumer");
    assert!(per_socket < 2048, "{per_socket} KiB per never-reading resumer (limit 2 MiB)");
    // The write deadline ends them.
    assert!(
        srv.wait_log_count("closed: 4008", SOCKETS, 30 * SEC),
        "never-reading resumers were not closed with 4008; log:\n{}",
        srv.log()
    );
    drop(idle);
}

/// p-th percentile (0..=100) of `xs`, sorted in place.
fn percentile(xs: &mut [Duration], p: usize) -> Duration {
    xs.sort();
    xs[((xs.len() - 1) * p) / 100]
}

/// 60 operator sockets that never read, and one that reads, while appointments change:
/// each slow one is closed with 4008 (seen by the client when it reads at last, and in
/// the log) within a bounded time, and the fast one gets every event quickly.
#[test]
fn never_reading_sockets_are_closed_with_4008_and_the_fast_client_keeps_up() {
    const SLOW: usize = 60;
    let k = clinic::Clinic::with(&[("ROYAL_CARE_MAX_SOCKETS_PER_USER", "100")]);
    let srv = &k.srv;
    let a = k.book(&k.booking(&clinic::today(), "10:00", "11:00"));
    let id = a["id"].as_i64().unwrap();
    let (mut fast, _) = open(srv, &k.op);
    let mut slow: Vec<(Ws, String)> = Vec::new();
    for _ in 0..SLOW {
        let (ws, first) = open(srv, &k.op);
        assert_eq!(first["type"], "initial_data");
        slow.push((ws, first["connection_id"].as_str().unwrap().to_string()));
    }
    // The fast reader reports when each change (its index is in the notes) arrived.
    let (tx, rx) = mpsc::channel::<(usize, Instant)>();
    let reader = std::thread::spawn(move || {
        while let Ok(v) = fast.next_json(30 * SEC) {
            if v["type"] != "appointment_updated" {
                continue;
            }
            let notes = v["appointment"]["notes"].as_str().unwrap_or("");
            let Some(i) = notes.split(':').next().and_then(|n| n.parse().ok()) else { continue };
            if tx.send((i, Instant::now())).is_err() {
                break;
            }
        }
    });
    // ~4 KB notes: each change is a ~6 KB frame to all 61 sockets, about 100 a second.
    let pad = "n".repeat(3900);
    let path = format!("/api/scheduling/appointments/{id}/");
    let started = Instant::now();
    let mut sent_at = Vec::new();
    let mut first_close = None;
    let mut all_closed = None;
    // Until every slow socket is closed, then 50 changes more (bounded in count and time).
    let mut after_all = 0;
    while sent_at.len() < 3000 && started.elapsed() < 40 * SEC && after_all < 50 {
        let i = sent_at.len();
        sent_at.push(Instant::now());
        let (s, v) = srv.call("PATCH", &path, Some(&k.op), Some(&json!({"notes": format!("{i}:{pad}")})));
        assert_eq!(s, 200, "{v}");
        let closed = count(&srv.log(), "closed: 4008");
        if closed > 0 && first_close.is_none() {
            first_close = Some(started.elapsed());
        }
        if closed >= SLOW && all_closed.is_none() {
            all_closed = Some(started.elapsed());
        }
        if all_closed.is_some() {
            after_all += 1;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let sent = sent_at.len();
    let mut arrived: HashMap<usize, Instant> = HashMap::new();
    let mut order = Vec::new();
    while arrived.len() < sent {
        let (i, at) = rx.recv_timeout(30 * SEC).expect("the fast reader stopped receiving");
        order.push(i);
        arrived.insert(i, at);
    }
    drop(rx);
    assert_eq!(order, (0..sent).collect::<Vec<_>>(), "the fast client got every change, in order");
    let mut latency: Vec<Duration> = (0..sent).map(|i| arrived[&i] - sent_at[i]).collect();
    let (p50, p99) = (percentile(&mut latency, 50), percentile(&mut latency, 99));
    let max = *latency.last().unwrap();
    eprintln!(
        "{sent} changes in {:?}; first 4008 after {first_close:?}, all {SLOW} after {all_closed:?}; \
         fast client latency p50 {p50:?} p99 {p99:?} max {max:?}",
        started.elapsed()
    );
    let log = srv.log();
    assert!(all_closed.is_some(), "{} of {SLOW} slow sockets logged 4008; log:\n{log}", count(&log, "closed: 4008"));
    assert_eq!(count(&log, "closed: 1006"), 0, "a slow socket ended as 1006; log:\n{log}");
    assert!(p99 < Duration::from_millis(100), "fast client p99 {p99:?}");
    // Each slow client, reading at last, finds what was buffered and then the 4008.
    let mut codes = HashMap::new();
    for (mut ws, id) in slow {
        let mut n = 0;
        let code = loop {
            match ws.next_json(10 * SEC) {
                Ok(_) => n += 1,
                Err(Ended::Closed(c, _)) => break c.to_string(),
                Err(e) => break format!("{e:?}"),
            }
        };
        if code != "4008" {
            let lines: Vec<&str> = log.lines().filter(|l| l.contains(&format!("ws {id} "))).collect();
            eprintln!("ws {id}: {code} after {n} messages; {lines:?}");
        }
        *codes.entry(code).or_insert(0) += 1;
    }
    assert_eq!(codes, HashMap::from([("4008".to_string(), SLOW)]), "what the slow clients saw");
    drop(reader);
}

/// Unsolicited pongs count toward the flood limit like any other frame.
#[test]
fn a_pong_flood_is_closed_with_1008() {
    let srv = Server::start();
    let token = srv.user("ana", "operator");
    let (mut ws, _) = open(&srv, &token);
    for _ in 0..60 {
        ws.ws.send(Message::Pong(Vec::new().into())).unwrap();
    }
    let (code, reason, _) = ws.expect_close(5 * SEC);
    assert_eq!(code, 1008, "{reason}");
    assert!(srv.wait_log("closed: 1008", 5 * SEC));
}

/// A masked client frame with no payload.
fn empty_frame(first_byte: u8) -> [u8; 6] {
    [first_byte, 0x80, 1, 2, 3, 4]
}

/// Reads what the server sends until EOF (bounded) and returns the close code it sent.
fn close_code_of(s: &mut TcpStream) -> Option<u16> {
    s.set_read_timeout(Some(5 * SEC)).unwrap();
    let mut bytes = Vec::new();
    let _ = s.read_to_end(&mut bytes);
    // Walk the server's (unmasked) frames.
    let mut i = 0;
    while i + 2 <= bytes.len() {
        let (op, len7) = (bytes[i] & 0x0f, (bytes[i + 1] & 0x7f) as usize);
        let (len, head) = match len7 {
            126 => (u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize, 4),
            127 => (u64::from_be_bytes(bytes[i + 2..i + 10].try_into().unwrap()) as usize, 10),
            n => (n, 2),
        };
        if op == 0x8 {
            return Some(u16::from_be_bytes([bytes[i + head], bytes[i + head + 1]]));
        }
        i += head + len;
    }
    None
}

/// Empty continuation fragments never finish a message, so counting messages would
/// never see them: every frame counts.
#[test]
fn a_flood_of_empty_fragments_is_closed_with_1008() {
    let srv = Server::start();
    let token = srv.user("ana", "operator");
    let mut s = raw_upgrade(&srv, &token);
    s.write_all(&empty_frame(0x01)).unwrap(); // text, not final
    for _ in 0..200 {
        if s.write_all(&empty_frame(0x00)).is_err() {
            break; // closed already
        }
    }
    assert_eq!(close_code_of(&mut s), Some(1008));
    assert!(srv.wait_log("closed: 1008", 5 * SEC));
}

/// A TCP connection dropped without a close frame (EOF, or a reset) is 1006 in the log;
/// an unmasked client frame is a real protocol error, 1002.
#[test]
fn a_dropped_connection_is_logged_as_1006_and_a_protocol_error_as_1002() {
    let srv = Server::start();
    let token = srv.user("ana", "operator");
    let id_of = |first: &serde_json::Value| first["connection_id"].as_str().unwrap().to_string();

    let (ws, first) = open(&srv, &token);
    drop(ws); // EOF, no close frame
    let line = format!("ws {} closed: 1006", id_of(&first));
    assert!(srv.wait_log(&line, 10 * SEC), "no `{line}`; log:\n{}", srv.log());

    let (ws, first) = open(&srv, &token);
    socket2::SockRef::from(ws.ws.get_ref()).set_linger(Some(Duration::ZERO)).unwrap();
    drop(ws); // RST
    let line = format!("ws {} closed: 1006", id_of(&first));
    assert!(srv.wait_log(&line, 10 * SEC), "no `{line}`; log:\n{}", srv.log());

    let mut s = raw_upgrade(&srv, &token);
    s.write_all(&[0x81, 0x02, b'h', b'i']).unwrap(); // a text frame without a mask
    assert_eq!(close_code_of(&mut s), Some(1002));
    assert!(srv.wait_log("closed: 1002", 5 * SEC));
    assert_eq!(count(&srv.log(), "closed: 1002"), 1, "{}", srv.log());
}
