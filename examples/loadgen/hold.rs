//! Sockets held at once: the server's RSS and threads.

use crate::server::Srv;
use crate::MAX_SECS;
use std::time::{Duration, Instant};

/// Opens `n` sockets (each reads its initial_data) and keeps them; returns the server's
/// RSS (MB), the seconds it took, and its thread count.
pub fn hold(srv: &Srv, n: usize) -> (f64, f64, usize) {
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
