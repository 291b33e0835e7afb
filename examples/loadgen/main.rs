//! Load generator for docs/PERFORMANCE.md. It starts its own `royal-care serve` (the
//! release binary) on 127.0.0.1 with a throw-away database, and measures:
//! start-up time and idle RSS; create → delivered latency with 100 and 1000 subscribers;
//! sockets held at once and the server's RSS; REST `GET appointments/` requests/s with 8
//! keep-alive clients; with `--only instructions` (not in the default set), the server's
//! instructions per create and per delivered event under callgrind. Each scenario runs
//! `--runs` times on a fresh server; the medians are printed. It only ever connects to the
//! server it started, and every count and duration is bounded.
//!
//! ```text
//! ulimit -n 20000      # the hold scenario needs ~2 fds per socket (server + client)
//! cargo build --release
//! cargo run --release --example loadgen -- --runs 3
//! cargo run --release --example loadgen -- --runs 3 --only latency --subs 100,1000
//! cargo run --release --example loadgen -- --runs 3 --only latency --pause 300 --warmup 5 --events 50   # each event after a quiet spell
//! cargo run --release --example loadgen -- --runs 3 --only instructions   # needs valgrind
//! cargo run --release --example loadgen -- --runs 5 --only rest --rest-uncached   # every GET misses the page cache
//! ```

mod hold;
mod instructions;
mod latency;
mod rest;
mod server;
mod stats;

use server::Srv;
use stats::{cpu_model, median, round};
use std::path::PathBuf;
use std::time::Duration;

/// Upper bounds, whatever the flags say.
const MAX_SOCKETS: usize = 10_000;
const MAX_EVENTS: usize = 2_000;
pub const MAX_SECS: u64 = 60;

struct Opts {
    bin: PathBuf,
    runs: usize,
    only: Option<String>,
    subs: Vec<usize>,
    events: usize,
    warmup: usize,
    pause_ms: u64,
    hold: usize,
    rest_secs: u64,
    rest_clients: usize,
    rest_path: String,
    instr_creates: usize,
    instr_subs: Vec<usize>,
    instr_top: usize,
    instr_out: Option<PathBuf>,
    rest_uncached: bool,
}

fn opts() -> Opts {
    let mut o = Opts {
        bin: PathBuf::from("target/release/royal-care"),
        runs: 3,
        only: None,
        subs: vec![100, 1000],
        events: 200,
        warmup: 20,
        pause_ms: 5,
        hold: 5000,
        rest_secs: 5,
        rest_clients: 8,
        rest_path: "/api/scheduling/appointments/".into(),
        instr_creates: 50,
        instr_subs: vec![0, 10, 100, 1000],
        instr_top: 15,
        instr_out: None,
        rest_uncached: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--rest-uncached" {
            o.rest_uncached = true;
            i += 1;
            continue;
        }
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--bin" => o.bin = v.into(),
            "--runs" => o.runs = v.parse().expect("--runs N"),
            "--only" => o.only = Some(v),
            "--subs" => o.subs = v.split(',').map(|s| s.parse().expect("--subs 100,1000")).collect(),
            "--events" => o.events = v.parse().expect("--events N"),
            "--warmup" => o.warmup = v.parse().expect("--warmup N"),
            "--pause" => o.pause_ms = v.parse().expect("--pause MS"),
            "--hold" => o.hold = v.parse().expect("--hold N"),
            "--rest-secs" => o.rest_secs = v.parse().expect("--rest-secs N"),
            "--rest-clients" => o.rest_clients = v.parse().expect("--rest-clients N"),
            "--rest-path" => o.rest_path = v,
            "--instr-creates" => o.instr_creates = v.parse().expect("--instr-creates N"),
            "--instr-subs" => o.instr_subs = v.split(',').map(|s| s.parse().expect("--instr-subs 0,10,100")).collect(),
            "--instr-top" => o.instr_top = v.parse().expect("--instr-top N"),
            "--instr-out" => o.instr_out = Some(v.into()),
            other => panic!("unknown flag {other}; see the header of examples/loadgen.rs"),
        }
        i += 2;
    }
    o.hold = o.hold.min(MAX_SOCKETS);
    o.events = o.events.min(MAX_EVENTS);
    // Warm-up and timed creates together stay within the bound (and the fixtures' slots).
    o.warmup = o.warmup.min(MAX_EVENTS - o.events);
    o.pause_ms = o.pause_ms.min(1000);
    o.rest_secs = o.rest_secs.min(MAX_SECS);
    o.subs.iter_mut().for_each(|s| *s = (*s).min(MAX_SOCKETS));
    o.instr_creates = o.instr_creates.clamp(1, MAX_EVENTS);
    o.instr_subs.iter_mut().for_each(|s| *s = (*s).min(MAX_SOCKETS));
    if !o.instr_subs.contains(&0) {
        o.instr_subs.insert(0, 0); // every per-event figure is relative to the 0 count
    }
    o
}

fn main() {
    let o = opts();
    assert!(o.bin.exists(), "{} is missing: run `cargo build --release` first", o.bin.display());
    let want = |s: &str| o.only.as_deref().is_none_or(|only| only.split(',').any(|x| x == s));
    println!("machine: {} cores; {}", std::thread::available_parallelism().map_or(0, |n| n.get()), cpu_model());
    // Only when named: under valgrind it takes minutes.
    if o.only.as_deref().is_some_and(|only| only.split(',').any(|x| x == "instructions")) {
        instructions::report(&o);
    }
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
            let mut runs: [Vec<f64>; 8] = Default::default();
            for _ in 0..o.runs {
                let srv = Srv::start(&o.bin);
                let l = latency::latency(&srv, n, o.warmup, o.events, Duration::from_millis(o.pause_ms));
                let got = [
                    l.p50,
                    l.p99,
                    l.ack_p50,
                    l.ack_p99,
                    l.server_ms_per_create,
                    l.server_us_per_delivery,
                    l.loadgen_ms_per_create,
                    l.warmup_p99,
                ];
                for (r, x) in runs.iter_mut().zip(got) {
                    r.push(x);
                }
            }
            let m: Vec<f64> = runs.iter().map(|r| median(r)).collect();
            println!(
                "create -> delivered to all of {n} subscribers, {} creates {} ms apart: p50 {:.2} ms, p99 {:.2} ms \
                 (create's own round trip p50 {:.2} ms, p99 {:.2} ms); medians; p50s {:?}, p99s {:?}",
                o.events,
                o.pause_ms,
                m[0],
                m[1],
                m[2],
                m[3],
                round(&runs[0]),
                round(&runs[1])
            );
            println!(
                "  CPU: server {:.2} ms per create, {:.1} µs per delivered event; load generator {:.2} ms per create \
                 (medians; server per delivery {:?})",
                m[4],
                m[5],
                m[6],
                round(&runs[5])
            );
            println!(
                "  the {} warm-up creates before them, checked but not timed above: p99 {:.2} ms (median; {:?})",
                o.warmup,
                m[7],
                round(&runs[7])
            );
        }
    }
    if want("hold") {
        let (mut rss, mut secs, mut threads) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..o.runs {
            let srv = Srv::start(&o.bin);
            let (r, s, t) = hold::hold(&srv, o.hold);
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
            rates.push(rest::rest(&srv, o.rest_clients, o.rest_secs, &o.rest_path, o.rest_uncached));
        }
        println!(
            "REST GET {}{} with {} keep-alive clients: {:.0} requests/s (median of {:?})",
            o.rest_path,
            if o.rest_uncached { " (each query unique: the page cache always misses)" } else { "" },
            o.rest_clients,
            median(&rates),
            round(&rates)
        );
    }
}
