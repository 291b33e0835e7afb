//! create → delivered latency: N subscribers, creates one after the other.
//!
//! The subscribers share the server's 2 cores, so they must cost as little as possible
//! or they hide the server's figures: one thread reads all of them, woken by epoll
//! (`mio`) only for sockets with data, reads what each has in one call, and finds the
//! event's `seq` in the frame without parsing the JSON. Every delivery is checked: each
//! subscriber gets each create exactly once, in `seq` order.

use crate::server::Srv;
use crate::stats::{cpu_ms, pct};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// What a latency run measured, in ms (CPU per delivered event in µs).
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub ack_p50: f64,
    pub ack_p99: f64,
    /// Server CPU per create and per delivered event, and the load generator's.
    pub server_ms_per_create: f64,
    pub server_us_per_delivery: f64,
    pub loadgen_ms_per_create: f64,
}

/// `n` subscribers, `events` creates one after the other; each create's latency to every
/// subscriber is measured from just before its request is written until that subscriber
/// has read its `appointment_created`.
pub fn latency(srv: &Srv, n: usize, events: usize) -> Latency {
    let fx = srv.fixtures();
    let mut socks = Vec::with_capacity(n);
    for _ in 0..n {
        // The handshake and initial_data are read blocking; then the bare stream.
        let ws = srv.socket();
        let s = ws.get_ref().try_clone().unwrap();
        drop(ws);
        s.set_nonblocking(true).unwrap();
        socks.push(TcpStream::from_std(s));
    }
    let (tx, rx) = mpsc::channel::<(i64, Vec<Instant>)>();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let reader = std::thread::spawn(move || read_all(socks, tx, &stop2));
    let mut lat = Vec::with_capacity(n * events);
    let mut ack = Vec::with_capacity(events);
    let mut prev = 0;
    let cpu0 = (cpu_ms(srv.child.id()), cpu_ms(std::process::id()));
    for i in 0..events {
        let t0 = Instant::now();
        let (s, v) = srv.create(fx, i);
        ack.push(t0.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(s, 201, "appointment create: {v}");
        let (seq, arrived) = rx.recv_timeout(Duration::from_secs(10)).expect("a subscriber missed an event");
        assert!(seq > prev, "seq {seq} after {prev}");
        prev = seq;
        lat.extend(arrived.iter().map(|at| (*at - t0).as_secs_f64() * 1000.0));
        // Let the server finish (acks, any writer thread) so creates do not overlap.
        std::thread::sleep(Duration::from_millis(5));
    }
    let (server, own) = (cpu_ms(srv.child.id()) - cpu0.0, cpu_ms(std::process::id()) - cpu0.1);
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    lat.sort_by(f64::total_cmp);
    ack.sort_by(f64::total_cmp);
    Latency {
        p50: pct(&lat, 0.50),
        p99: pct(&lat, 0.99),
        ack_p50: pct(&ack, 0.50),
        ack_p99: pct(&ack, 0.99),
        server_ms_per_create: server / events as f64,
        server_us_per_delivery: server * 1000.0 / (events * n) as f64,
        loadgen_ms_per_create: own / events as f64,
    }
}

/// Reads every socket as data arrives until `stop`. Checks that each socket gets each
/// `appointment_created` once and in `seq` order; once every socket has read an event,
/// reports its seq and when each read it (one wake-up of the main thread per event).
fn read_all(mut socks: Vec<TcpStream>, tx: mpsc::Sender<(i64, Vec<Instant>)>, stop: &AtomicBool) {
    let n = socks.len();
    let mut last = vec![0i64; n];
    let mut arrived: std::collections::HashMap<i64, Vec<Instant>> = Default::default();
    let mut poll = Poll::new().unwrap();
    for (i, s) in socks.iter_mut().enumerate() {
        poll.registry().register(s, Token(i), Interest::READABLE).unwrap();
    }
    let mut pending: Vec<Vec<u8>> = vec![Vec::new(); socks.len()];
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 256 * 1024];
    while !stop.load(Ordering::Relaxed) {
        if poll.poll(&mut events, Some(Duration::from_millis(100))).is_err() {
            continue;
        }
        for e in events.iter() {
            let i = e.token().0;
            loop {
                match socks[i].read(&mut buf) {
                    Ok(0) => break,
                    Ok(k) => {
                        let at = Instant::now();
                        pending[i].extend_from_slice(&buf[..k]);
                        // A read shorter than the buffer emptied the socket: no second
                        // read just to hear WouldBlock (a syscall per socket per event).
                        let drained = k < buf.len();
                        for seq in frames(&mut pending[i]) {
                            assert!(seq > last[i], "subscriber {i} got seq {seq} after {}", last[i]);
                            last[i] = seq;
                            let got = arrived.entry(seq).or_default();
                            got.push(at);
                            if got.len() == n {
                                let _ = tx.send((seq, arrived.remove(&seq).unwrap_or_default()));
                            }
                        }
                        if drained {
                            break;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("subscriber {i}: {e}"),
                }
            }
        }
    }
}

/// Takes the complete frames off the front of `buf` (server frames are not masked) and
/// returns the `seq` of each `appointment_created` among them.
fn frames(buf: &mut Vec<u8>) -> Vec<i64> {
    let mut seqs = Vec::new();
    let mut at = 0;
    while buf.len() - at >= 2 {
        let (len, head) = match buf[at + 1] & 0x7f {
            126 if buf.len() - at >= 4 => (u16::from_be_bytes([buf[at + 2], buf[at + 3]]) as usize, 4),
            127 if buf.len() - at >= 10 => (u64::from_be_bytes(buf[at + 2..at + 10].try_into().unwrap()) as usize, 10),
            126 | 127 => break,
            n => (n as usize, 2),
        };
        if buf.len() - at < head + len {
            break;
        }
        let payload = &buf[at + head..at + head + len];
        // Event messages begin {"type":"…","timestamp":"…","seq":N
        if buf[at] & 0x0f == 1 && payload.starts_with(br#"{"type":"appointment_created""#) {
            let text = std::str::from_utf8(payload).unwrap_or("");
            let seq = text.split(r#""seq":"#).nth(1).and_then(|r| r.split(',').next());
            seqs.push(seq.and_then(|x| x.parse().ok()).unwrap_or(-1));
        }
        at += head + len;
    }
    buf.drain(..at);
    seqs
}
