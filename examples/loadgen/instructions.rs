//! Instruction counts under callgrind: the server's user-space instructions (`Ir`) per
//! appointment create and per delivered event. Unlike times, they do not depend on the
//! machine's load, so a regression shows as a number. For each subscriber count S a fresh
//! server runs under `valgrind --tool=callgrind`; S sockets are opened (each reads its
//! `initial_data`), warm-up requests run, the counters are zeroed, N creates run one after
//! the other (each read by every subscriber, in seq order, before the next), and the
//! counters are dumped. The server's clock-driven work (the hub's log poll, expiry checks,
//! the maintenance round) runs whatever the requests do, so an idle window as long is
//! counted the same way and subtracted. Per create = net Ir with 0 subscribers / N; per
//! delivered event = (net Ir with S − net Ir with 0) / (N × S). Callgrind counts each
//! thread apart, so the same figure is also given from the threads other than the HTTP
//! request threads (whose create work varies by up to ±0.5 % between runs and would swamp
//! a small S). Kernel work (the TCP of each `write`) is not counted; the latency scenario's
//! CPU time per create covers it.

use crate::server::{http, Srv};
use crate::stats::{median, rand_suffix};
use serde_json::Value;
use std::collections::HashMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

/// Creates before the counted ones (half before the pool warmers, half after): statements
/// prepared on the pooled connections, the allocator's pools grown.
const WARM_UP: usize = 20;
/// Clients reading at once before the count, more than the server pools (8): a read
/// connection opened during the count would add its schema parse (~0.5 M Ir) to one run
/// only (it happened in about one run in three without this).
const POOL_WARMERS: usize = 10;
/// Valgrind runs the server ~50x slower: a read or a dump waits this long at most.
const TIMEOUT: Duration = Duration::from_secs(300);
/// Lets the last create's connection thread and the socket writers finish before the dump.
const SETTLE: Duration = Duration::from_millis(500);

/// One dump: Ir of all threads, and of the HTTP request threads among them.
#[derive(Clone, Copy)]
struct Ir {
    all: u64,
    requests: u64,
}

/// One server's counts: the N creates, an idle window as long (`secs`), and, when
/// asked for, the counted phase's self Ir by function.
struct Count {
    work: Ir,
    idle: Ir,
    secs: f64,
    by_fn: Option<HashMap<String, u64>>,
}

impl Count {
    fn net(&self) -> f64 {
        self.work.all as f64 - self.idle.all as f64
    }

    /// Net Ir outside the request threads: the hub, the socket writers, the accept loop.
    fn net_others(&self) -> f64 {
        self.net() - (self.work.requests as f64 - self.idle.requests as f64)
    }
}

/// Runs the scenario for every `--instr-subs` count, `--runs` times each, and prints.
pub fn report(o: &crate::Opts) {
    let n = o.instr_creates;
    let version = Command::new("valgrind").arg("--version").output().map(|o| o.stdout);
    let version = String::from_utf8_lossy(&version.expect("valgrind is not installed (apt-get install valgrind)"))
        .trim()
        .to_string();
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("instructions: {version}; `loadgen {}`", args.join(" "));
    println!(
        "  server: valgrind --tool=callgrind {} serve; {n} creates counted per run; Ir = user-space \
         instructions of the server (no kernel work); idle windows subtracted",
        o.bin.display()
    );
    // The listings compare S = 100 (if measured; else the largest S) with S = 0.
    let top_s = if o.instr_subs.contains(&100) { 100 } else { *o.instr_subs.iter().max().unwrap() };
    let counts: Vec<Vec<Count>> = o
        .instr_subs
        .iter()
        .map(|&s| {
            (0..o.runs)
                .map(|r| {
                    let listed = o.instr_top > 0 && (s == top_s || s == 0) && r == 0;
                    count(&o.bin, s, n, listed, o.instr_out.as_deref())
                })
                .collect()
        })
        .collect();
    let med = |runs: &[Count], f: fn(&Count) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
    let zero = &counts[o.instr_subs.iter().position(|&s| s == 0).unwrap()];
    let (base, base_others) = (med(zero, Count::net), med(zero, Count::net_others));
    for (&s, runs) in o.instr_subs.iter().zip(&counts) {
        let per_create: Vec<String> = runs.iter().map(|c| thousands(c.net() / n as f64)).collect();
        let idle = med(runs, |c| c.idle.all as f64 / c.work.all as f64 * 100.0);
        let mut line = format!(
            "  {s} subscribers: {} Ir per create (runs {}; request threads {}; idle {idle:.1} % of a {:.0} s window)",
            thousands(med(runs, Count::net) / n as f64),
            per_create.join(" / "),
            thousands((med(runs, Count::net) - med(runs, Count::net_others)) / n as f64),
            med(runs, |c| c.secs),
        );
        if s > 0 {
            let per = |total: f64, base: f64| thousands((total - base) / (n * s) as f64);
            let others: Vec<String> = runs.iter().zip(zero).map(|(c, z)| per(c.net_others(), z.net_others())).collect();
            line += &format!(
                "; per delivered event {} Ir (all threads), {} Ir (other than request threads; runs {})",
                per(med(runs, Count::net), base),
                per(med(runs, Count::net_others), base_others),
                others.join(" / ")
            );
        }
        println!("{line}");
    }
    // The per-event figure above spreads the work done once per event that has listeners
    // (rendering its frames; skipped when nobody listens) over S; the cost of one more
    // delivery is the slope between the two largest S.
    let mut sizes: Vec<(usize, f64)> = o
        .instr_subs
        .iter()
        .zip(&counts)
        .filter(|(s, _)| **s > 0)
        .map(|(&s, runs)| (s, med(runs, Count::net)))
        .collect();
    sizes.sort_by_key(|x| x.0);
    if let [.., (s1, ir1), (s2, ir2)] = sizes[..] {
        let slope = (ir2 - ir1) / (n * (s2 - s1)) as f64;
        let fixed = (ir1 - base) / n as f64 - slope * s1 as f64;
        println!(
            "  one more delivery: {} Ir (slope from {s1} to {s2} subscribers); once per event with listeners: {} Ir",
            thousands(slope),
            thousands(fixed)
        );
    }
    let listed = |s: usize| counts[o.instr_subs.iter().position(|&x| x == s).unwrap()][0].by_fn.as_ref();
    if let (Some(z), Some(t)) = (listed(0), listed(top_s)) {
        println!("  top functions by self Ir per create, 0 subscribers (callgrind_annotate, first run):");
        print_top(z.iter().map(|(f, &ir)| (f, ir as f64 / n as f64)), o.instr_top);
        if top_s > 0 {
            println!("  top functions by self Ir per delivered event, {top_s} subscribers − 0 (first runs):");
            let d = t.iter().map(|(f, &ir)| (f, (ir as f64 - *z.get(f).unwrap_or(&0) as f64) / (n * top_s) as f64));
            print_top(d, o.instr_top);
        }
    }
}

fn print_top<'a>(items: impl Iterator<Item = (&'a String, f64)>, k: usize) {
    let mut v: Vec<_> = items.collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (f, ir) in v.into_iter().take(k) {
        println!("    {:>11}  {f}", thousands(ir));
    }
}

/// Starts `bin` under callgrind with `subs` subscribers and counts `creates` creates.
/// `listed`: also sum the counted phase's self Ir by function. `keep`: leave the dumps
/// in a new folder there instead of removing them.
fn count(bin: &Path, subs: usize, creates: usize, listed: bool, keep: Option<&Path>) -> Count {
    let name = format!("royal-care-callgrind-{subs}-{}-{}", std::process::id(), rand_suffix());
    let out = keep.map_or_else(std::env::temp_dir, Path::to_path_buf).join(name);
    std::fs::create_dir_all(&out).unwrap();
    let _cleanup = keep.is_none().then(|| RemoveOnDrop(out.clone()));
    let file = out.join("callgrind.out");
    let wrap = [
        "valgrind".into(),
        "--tool=callgrind".into(),
        format!("--callgrind-out-file={}", file.display()),
        // Two threads per socket today; valgrind's default limit is 500.
        format!("--max-threads={}", 2 * subs + 100),
        // One file per thread slot: the request threads' share can be told apart.
        "--separate-threads=yes".into(),
    ];
    // No pings or idle closes: they come by the clock, not per event.
    let srv = Srv::start_with(bin, &wrap, &[("ROYAL_CARE_WS_PING_SECS", "3600"), ("ROYAL_CARE_WS_IDLE_SECS", "7200")]);
    let fx = srv.fixtures();
    let mut socks: Vec<WebSocket<TcpStream>> = (0..subs).map(|_| srv.socket()).collect();
    for ws in &mut socks {
        ws.get_mut().set_read_timeout(Some(TIMEOUT)).unwrap();
    }
    let mut last = 0;
    for i in 0..WARM_UP / 2 {
        last = create_and_deliver(&srv, fx, i, &mut socks, last);
    }
    // Long reads at once (pages of appointments): the pool of read connections reaches
    // its full size here rather than in one run's count.
    std::thread::scope(|sc| {
        for _ in 0..POOL_WARMERS {
            sc.spawn(|| {
                for _ in 0..5 {
                    assert_eq!(srv.call("GET", "/api/scheduling/appointments/", None).0, 200, "list");
                }
            });
        }
    });
    for i in WARM_UP / 2..WARM_UP {
        last = create_and_deliver(&srv, fx, i, &mut socks, last);
    }
    control(&srv, "zero");
    let t0 = Instant::now();
    for i in WARM_UP..WARM_UP + creates {
        last = create_and_deliver(&srv, fx, i, &mut socks, last);
    }
    std::thread::sleep(SETTLE);
    let work = dump(&srv, &file, 1);
    let secs = t0.elapsed().as_secs_f64();
    control(&srv, "zero");
    std::thread::sleep(Duration::from_secs_f64(secs));
    let idle = dump(&srv, &file, 2);
    drop(socks);
    drop(srv);
    let by_fn = listed.then(|| by_function(&parts(&file, 1)));
    if keep.is_some() {
        println!("  callgrind dumps of {subs} subscribers kept: {}.1-* counted, .2-* idle", file.display());
    }
    Count { work, idle, secs, by_fn }
}

/// One create; every subscriber then reads its `appointment_created` (other frames are
/// skipped): the created appointment, the same seq for all, after `last`. Returns the seq.
fn create_and_deliver(srv: &Srv, fx: (i64, i64, i64), i: usize, socks: &mut [WebSocket<TcpStream>], last: i64) -> i64 {
    let (s, v) = srv.create(fx, i);
    assert_eq!(s, 201, "appointment create: {v}");
    let id = v["id"].as_i64().expect("created id");
    let mut seq = None;
    for ws in socks.iter_mut() {
        let ev = loop {
            match ws.read() {
                Ok(Message::Text(t)) => {
                    let m: Value = serde_json::from_str(&t).expect("event JSON");
                    if m["type"] == "appointment_created" {
                        break m;
                    }
                }
                Ok(_) => {}
                Err(e) => panic!("a subscriber missed create {i}: {e}"),
            }
        };
        assert_eq!(ev["appointment"]["id"].as_i64(), Some(id), "a subscriber got another create first");
        let got = ev["seq"].as_i64().expect("seq");
        assert!(got > last && *seq.get_or_insert(got) == got, "events out of order");
    }
    seq.unwrap_or(last)
}

/// Sends callgrind the monitor command `what` ("zero", "dump") and waits until it is done.
/// `--max-invoke-ms=0`: vgdb must not force the command in with ptrace while every thread
/// is blocked in a system call; that interrupts the calls, and a socket's read ending with
/// EINTR closes the socket. The command runs at the server's next own wake-up instead (the
/// hub's log poll, every 250 ms today); if none comes within a second, a `/health/`
/// request wakes it (so its cost then falls in both windows alike).
fn control(srv: &Srv, what: &str) {
    let mut vgdb = Command::new("vgdb")
        .args([format!("--pid={}", srv.child.id()).as_str(), "--max-invoke-ms=0", what])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("vgdb (comes with valgrind)");
    let t0 = Instant::now();
    let mut poke = t0 + Duration::from_secs(1);
    loop {
        if let Some(status) = vgdb.try_wait().unwrap() {
            assert!(status.success(), "vgdb {what}: {status}");
            return;
        }
        if t0.elapsed() > TIMEOUT {
            let _ = vgdb.kill();
            panic!("vgdb {what}: no answer in {TIMEOUT:?}");
        }
        if Instant::now() >= poke {
            http(srv.addr, "GET", "/health/", None, None);
            poke += Duration::from_secs(1);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Requests dump number `n` and returns its Ir: all threads, and the request threads
/// (the thread slots whose dump holds `http::conn::read_head`, which only a connection's
/// own thread runs — a create's, or a subscriber's before its upgrade; `conn::run` itself
/// may be inlined). Valgrind reuses a slot once its thread has ended.
fn dump(srv: &Srv, file: &Path, n: usize) -> Ir {
    control(srv, "dump");
    let mut ir = Ir { all: 0, requests: 0 };
    for path in parts(file, n) {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\ntotals:"), "incomplete callgrind dump {}", path.display());
        let total = summary(&text).unwrap_or_else(|| panic!("no summary line in {}", path.display()));
        ir.all += total;
        if text.contains("royal_care::http::conn::read_head\n") || text.contains("royal_care::http::conn::run\n") {
            ir.requests += total;
        }
    }
    assert!(ir.all > 0, "empty callgrind dump {n}");
    ir
}

/// With `--separate-threads=yes`, callgrind writes dump n of `--callgrind-out-file=F`
/// to F.n-01, F.n-02, … (one per thread slot).
fn parts(file: &Path, n: usize) -> Vec<PathBuf> {
    let prefix = format!("{}.{n}-", file.file_name().unwrap().to_string_lossy());
    let mut v: Vec<PathBuf> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|f| f.to_string_lossy().starts_with(&prefix)))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no callgrind dump {}{n}-*", file.display());
    v
}

/// The `summary:` line of a dump: every Ir counted since the zero. (Its `totals:` line is
/// larger: it adds the `calls=0` records described at `by_function`.)
fn summary(text: &str) -> Option<u64> {
    text.lines().find_map(|l| l.strip_prefix("summary:")).and_then(|v| v.trim().parse().ok())
}

/// Self Ir by function over all threads, from callgrind_annotate. Calls made before the
/// zero and still running at it (a thread's `clone` → `start_thread` → …) are written as
/// `calls=0` with their inclusive cost since the zero; callgrind_annotate 3.19 adds that
/// to the caller's self cost (`clone` then shows ~99 %), so the copy it reads leaves
/// those records out. Their callees' own costs remain.
fn by_function(paths: &[PathBuf]) -> HashMap<String, u64> {
    let mut sum = HashMap::new();
    for path in paths {
        let text = std::fs::read_to_string(path).unwrap();
        if summary(&text) == Some(0) {
            continue;
        }
        let mut kept = String::with_capacity(text.len());
        let mut lines = text.lines();
        while let Some(l) = lines.next() {
            if l.starts_with("calls=0 ") {
                lines.next(); // the call's cost line
                continue;
            }
            kept.push_str(l);
            kept.push('\n');
        }
        let copy = PathBuf::from(format!("{}.self", path.display()));
        std::fs::write(&copy, kept).unwrap();
        let out = Command::new("callgrind_annotate")
            .arg("--threshold=100")
            .arg(&copy)
            .output()
            .expect("callgrind_annotate (comes with valgrind)");
        let _ = std::fs::remove_file(&copy);
        // After the "Ir  file:function" header: "1,234 (5.6%)  file:function [object]".
        let text = String::from_utf8_lossy(&out.stdout);
        for l in text.split("file:function").nth(1).unwrap_or("").lines() {
            let Some((ir, rest)) = l.trim_start().split_once(' ') else { continue };
            let (Ok(ir), Some((_, name))) = (ir.replace(',', "").parse::<u64>(), rest.split_once(")  ")) else {
                continue;
            };
            *sum.entry(short_name(name)).or_insert(0) += ir;
        }
    }
    sum
}

/// "???:f [/path/to/royal-care]" → "f [royal-care]"; "./malloc/malloc.c:f [/…/libc.so.6]"
/// → "malloc.c:f [libc.so.6]": the same name whichever binary or path was measured.
fn short_name(name: &str) -> String {
    let name = name.trim();
    let (f, obj) = name.rsplit_once(" [").map_or((name, ""), |(f, o)| (f, o.trim_end_matches(']')));
    let f = f.strip_prefix("???:").unwrap_or(f);
    let f = match f.split_once(':') {
        Some((file, func)) if file.contains('/') => format!("{}:{func}", file.rsplit('/').next().unwrap_or(file)),
        _ => f.to_string(),
    };
    match obj.rsplit('/').next() {
        Some(o) if !o.is_empty() => format!("{f} [{o}]"),
        _ => f,
    }
}

/// 2915665.4 → "2,915,665".
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < -0.5 {
        out.insert(0, '-');
    }
    out
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
