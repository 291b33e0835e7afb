//! create → delivered latency: N subscribers, creates one after the other.

use crate::server::Srv;
use crate::stats::{cpu_ms, pct};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tungstenite::Message;

/// `n` subscribers, `events` creates one after the other; each create's latency to every
/// subscriber is measured from just before its request is written. Readers do as little
/// as possible (they share the 2 cores with the server): note the time, pick out `seq`
/// without parsing the JSON. Returns p50/p99 of create -> delivered and of the create's
/// own round trip (201 received), in ms.
pub fn latency(srv: &Srv, n: usize, events: usize) -> [f64; 4] {
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
