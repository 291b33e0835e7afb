//! How the hub delivers (issue 13): an event reaches sockets that keep up without a
//! thread per socket (the dispatcher writes into each socket itself; a live socket costs
//! one reader thread); a client reading slowly through a tiny receive buffer, whose
//! frames the kernel takes only in part, still gets every event whole and in order (the
//! rest goes through a writer thread started for it).
mod clinic;
mod common;
mod ws_support;

use common::*;
use royal_care::events::{Audience, EventDraft, APPOINTMENT_UPDATED};
use serde_json::{json, Value};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tungstenite::client::IntoClientRequest;
use ws_support::*;

const SEC: Duration = Duration::from_secs(1);

/// The server process's thread count.
fn threads(srv: &Server) -> usize {
    let s = std::fs::read_to_string(format!("/proc/{}/status", srv.child.id())).unwrap();
    let line = s.lines().find(|l| l.starts_with("Threads:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Waits (bounded) until the server runs at most `n` threads; returns the count.
fn settles_to(srv: &Server, n: usize) -> usize {
    let until = Instant::now() + 10 * SEC;
    loop {
        let t = threads(srv);
        if t <= n || Instant::now() > until {
            return t;
        }
        // Threads ending send no event to wait for: look again shortly.
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The thread count once it has stopped changing (the connection threads of the
/// requests before have ended), within 5 s.
fn steady(srv: &Server) -> usize {
    let until = Instant::now() + 5 * SEC;
    let (mut last, mut same) = (threads(srv), 0);
    while same < 200 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(1));
        let t = threads(srv);
        same = if t == last { same + 1 } else { 0 };
        last = t;
    }
    last
}

/// 40 operator sockets that read: each costs one thread (its reader), and 20 changes
/// reach all of them in order without starting a thread per socket (the design before
/// had a writer thread per socket, woken for every event: 2 threads per socket).
#[test]
fn events_reach_sockets_that_keep_up_without_a_thread_each() {
    const SOCKETS: usize = 40;
    let k = clinic::Clinic::with(&[("ROYAL_CARE_MAX_SOCKETS_PER_USER", "100")]);
    let srv = &k.srv;
    let a = k.book(&k.booking(&clinic::today(), "10:00", "11:00"));
    let path = format!("/api/scheduling/appointments/{}/", a["id"]);
    let idle = steady(srv);
    let mut socks: Vec<Ws> = (0..SOCKETS).map(|_| open(srv, &k.op).0).collect();
    let open_threads = settles_to(srv, idle + SOCKETS);
    assert!(open_threads <= idle + SOCKETS + 2, "{open_threads} threads for {SOCKETS} sockets (idle: {idle})");
    let mut most = 0;
    for i in 0..20 {
        let (s, v) = srv.call("PATCH", &path, Some(&k.op), Some(&json!({"notes": format!("change {i}")})));
        assert_eq!(s, 200, "{v}");
        most = most.max(threads(srv));
        for ws in socks.iter_mut() {
            let m = ws.next_json(10 * SEC).expect("a socket missed a change");
            assert_eq!(m["appointment"]["notes"], format!("change {i}"), "{m}");
        }
    }
    // A writer may start now and then for a socket whose buffer was full for a moment.
    assert!(most <= open_threads + 5, "{most} threads while delivering to {SOCKETS} sockets ({open_threads} before)");
}

/// Opens an operator socket whose kernel receive buffer is tiny, so the server's
/// non-blocking writes of a burst are taken only in part.
fn open_small_window(srv: &Server, token: &str) -> Ws {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&srv.addr.into()).unwrap();
    let stream: TcpStream = sock.into();
    stream.set_read_timeout(Some(10 * SEC)).unwrap();
    let req = format!("ws://{}{WS_PATH}?token={token}", srv.addr).into_client_request().unwrap();
    let (ws, response) = tungstenite::client::client(req, stream).expect("handshake failed");
    let mut ws = Ws { ws, response };
    assert_eq!(ws.next_json(10 * SEC).unwrap()["type"], "initial_data");
    ws
}

/// A burst of 300 ~3 KB events (written by another process, as the CLI does, so the
/// hub sends them back to back) to a client reading slowly through a 4 KiB window:
/// every event arrives whole, once, in seq order, and the socket stays open.
#[test]
fn a_slow_reader_gets_every_frame_of_a_burst_whole_and_in_order() {
    let srv = Server::start();
    let token = srv.user("olga", "operator");
    let mut ws = open_small_window(&srv, &token);
    let pad = "p".repeat(3000);
    let drafts: Vec<EventDraft> = (0..300)
        .map(|i| EventDraft {
            kind: APPOINTMENT_UPDATED,
            appointment_id: Some(i),
            audience: Audience::operators_and([]),
            payload: json!({"appointment": {"id": i, "notes": format!("{i}:{pad}")}, "updated_fields": ["notes"]}),
        })
        .collect();
    let seqs = inject(&srv, drafts);
    let mut got: Vec<(i64, Value)> = Vec::new();
    while got.len() < seqs.len() {
        let m = ws.next_json(10 * SEC).unwrap_or_else(|e| panic!("after {} events: {e:?}", got.len()));
        got.push((m["seq"].as_i64().unwrap(), m["appointment"]["notes"].clone()));
        if got.len().is_multiple_of(25) {
            // The reader is slow: the server's writes back up meanwhile.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let want: Vec<(i64, Value)> =
        seqs.iter().enumerate().map(|(i, &s)| (s, Value::String(format!("{i}:{pad}")))).collect();
    assert!(got == want, "the events arrived out of order, twice or damaged");
    ws.ws.send(tungstenite::Message::Text(r#"{"type":"heartbeat"}"#.into())).unwrap();
    assert_eq!(ws.next_json(10 * SEC).unwrap()["type"], "heartbeat_response", "the socket is still open");
}
