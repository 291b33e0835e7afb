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
    /// p99 of the untimed warm-up creates, so the cold start is not hidden.
    pub warmup_p99: f64,
}

/// `n` subscribers, `warmup` and then `events` creates one after the other; each create's
/// latency to every subscriber is measured from just before its request is written until
/// that subscriber has read its `appointment_created`. The warm-up creates are checked like
/// the rest and reported apart: at 1,000 sockets the first ~15 events after the sockets
/// open are the slow ones in every run, and a clinic's tabs stay open for hours.
pub fn latency(srv: &Srv, n: usize, warmup: usize, events: usize, pause: Duration) -> Latency {
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
    let mut cold = Vec::with_capacity(n * warmup);
    let mut prev = 0;
    let mut cpu0 = (0.0, 0.0);
    for i in 0..warmup + events {
        if i == warmup {
            cpu0 = (cpu_ms(srv.child.id()), cpu_ms(std::process::id()));
        }
        let t0 = Instant::now();
        let (s, v) = srv.create(fx, i);
        let took = t0.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(s, 201, "appointment create: {v}");
        let (seq, arrived) = rx.recv_timeout(Duration::from_secs(10)).expect("a subscriber missed an event");
        assert!(seq > prev, "seq {seq} after {prev}");
        prev = seq;
        let ms = arrived.iter().map(|at| (*at - t0).as_secs_f64() * 1000.0);
        if i < warmup {
            cold.extend(ms);
        } else {
            ack.push(took);
            lat.extend(ms);
        }
        // Let the server finish (acks, any writer thread) so creates do not overlap; a
        // long pause (`--pause 300`) makes every event arrive after a quiet spell, as a
        // clinic's do.
        std::thread::sleep(pause);
    }
    let (server, own) = (cpu_ms(srv.child.id()) - cpu0.0, cpu_ms(std::process::id()) - cpu0.1);
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    lat.sort_by(f64::total_cmp);
    ack.sort_by(f64::total_cmp);
    cold.sort_by(f64::total_cmp);
    Latency {
        p50: pct(&lat, 0.50),
        p99: pct(&lat, 0.99),
        ack_p50: pct(&ack, 0.50),
        ack_p99: pct(&ack, 0.99),
        server_ms_per_create: server / events as f64,
        server_us_per_delivery: server * 1000.0 / (events * n) as f64,
        loadgen_ms_per_create: own / events as f64,
        warmup_p99: if cold.is_empty() { 0.0 } else { pct(&cold, 0.99) },
    }
}

/// Reads every socket as data arrives until `stop`. Checks that each socket gets each
/// `appointment_created` once and in `seq` order; once every socket has read an event,
/// reports its seq and when each read it (one wake-up of the main thread per event).
fn read_all(mut socks: Vec<TcpStream>, tx: mpsc::Sender<(i64, Vec<Instant>)>, stop: &AtomicBool) {
    let n = socks.len();
    let mut last = vec![0i64; n];
    let mut poll = Poll::new().unwrap();
    for (i, s) in socks.iter_mut().enumerate() {
        poll.registry().register(s, Token(i), Interest::READABLE).unwrap();
    }
    let mut pending: Vec<Vec<u8>> = vec![Vec::new(); socks.len()];
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 256 * 1024];
    // Creates run one after the other, so at most a couple of events are in flight.
    let mut arrived: Vec<(i64, Vec<Instant>)> = Vec::new();
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
                        // A read shorter than the buffer emptied the socket: no second
                        // read just to hear WouldBlock (a syscall per socket per event).
                        let drained = k < buf.len();
                        let mut got = |seq: i64| {
                            assert!(seq > last[i], "subscriber {i} got seq {seq} after {}", last[i]);
                            last[i] = seq;
                            let at_seq = match arrived.iter().position(|(s, _)| *s == seq) {
                                Some(p) => p,
                                None => {
                                    arrived.push((seq, Vec::with_capacity(n)));
                                    arrived.len() - 1
                                }
                            };
                            arrived[at_seq].1.push(at);
                            if arrived[at_seq].1.len() == n {
                                let (seq, times) = arrived.swap_remove(at_seq);
                                let _ = tx.send((seq, times));
                            }
                        };
                        // Frames are parsed where they were read; only a frame cut by
                        // the read's end is copied aside for the next read.
                        if pending[i].is_empty() {
                            let used = frames(&buf[..k], &mut got);
                            pending[i].extend_from_slice(&buf[used..k]);
                        } else {
                            pending[i].extend_from_slice(&buf[..k]);
                            let used = frames(&pending[i], &mut got);
                            pending[i].drain(..used);
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

/// Calls `got` with the `seq` of each `appointment_created` among the complete frames
/// at the front of `buf` (server frames are not masked); returns the bytes they took.
fn frames(buf: &[u8], got: &mut impl FnMut(i64)) -> usize {
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
        if buf[at] & 0x0f == 1 && payload.starts_with(br#"{"type":"appointment_created""#) {
            got(seq_of(payload));
        }
        at += head + len;
    }
    at
}

/// The `seq` of an event message, which begins {"type":"…","timestamp":"…","seq":N —
/// looked for in its first bytes only, not across the whole appointment. -1 (which fails
/// the order check) when it is missing.
fn seq_of(payload: &[u8]) -> i64 {
    const KEY: &[u8] = br#""seq":"#;
    let head = &payload[..payload.len().min(120)];
    let Some(p) = head.windows(KEY.len()).position(|w| w == KEY) else { return -1 };
    let digits = payload[p + KEY.len()..].iter().take_while(|b| b.is_ascii_digit());
    digits.fold(0i64, |n, d| n * 10 + i64::from(d - b'0'))
}
