//! REST throughput: keep-alive clients GET one path in a loop. The clients share the
//! server's cores, so each does as little as it can: one fixed request, one reusable
//! read buffer, the status and `Content-Length` picked out of the head, and the body
//! skipped without being copied or parsed. The CPU time of both processes is reported
//! per request, so the generator's share of the cores can be seen.
//!
//! `--rest-uncached` adds `n=<thread>-<count>` to each request's query: the server
//! ignores a parameter it does not know, but its page cache (`App::list_pages`) is keyed
//! by the whole query, so every request misses it and builds its page, as the first
//! read after any write does.

use crate::server::Srv;
use crate::stats::cpu_ms;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// `clients` threads each with one keep-alive connection, GET `path` for `secs`.
/// With `uncached`, each request's query is unique (see the header).
/// Returns requests/s; prints the CPU time per request of the server and of the generator.
pub fn rest(srv: &Srv, clients: usize, secs: u64, path: &str, uncached: bool) -> f64 {
    if path.contains("appointments") {
        let fx = srv.fixtures();
        for i in 0..20 {
            assert_eq!(srv.create(fx, i).0, 201);
        }
    }
    let cpu0 = (cpu_ms(srv.child.id()), cpu_ms(std::process::id()));
    let t0 = Instant::now();
    let until = t0 + Duration::from_secs(secs);
    let threads: Vec<_> = (0..clients)
        .map(|t| {
            let (addr, token, path) = (srv.addr, srv.token.clone(), path.to_string());
            std::thread::spawn(move || {
                let s = TcpStream::connect(addr).unwrap();
                s.set_nodelay(true).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                let rest = format!(" HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Token {token}\r\n\r\n");
                let sep = if path.contains('?') { '&' } else { '?' };
                let mut req = format!("GET {path}{rest}");
                let mut conn = Conn { s, buf: vec![0; 256 * 1024], start: 0, end: 0 };
                let mut n = 0u64;
                while Instant::now() < until {
                    if uncached {
                        use std::fmt::Write as _;
                        req.clear();
                        let _ = write!(req, "GET {path}{sep}n={t}-{n}{rest}");
                    }
                    conn.s.write_all(req.as_bytes()).unwrap();
                    let status = conn.answer().expect("connection closed");
                    assert_eq!(status, 200, "GET {path} answered {status}");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let elapsed = t0.elapsed().as_secs_f64();
    let (server, own) = (cpu_ms(srv.child.id()) - cpu0.0, cpu_ms(std::process::id()) - cpu0.1);
    let per = |ms: f64| ms * 1000.0 / total.max(1) as f64;
    println!(
        "  {total} requests in {elapsed:.1} s: CPU per request: server {:.1} µs, load generator {:.1} µs",
        per(server),
        per(own)
    );
    total as f64 / elapsed.max(secs as f64)
}

/// One keep-alive connection's read side: `buf[start..end]` is read but not yet used.
struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Conn {
    /// Reads one response; returns its status. The body is skipped, not copied.
    fn answer(&mut self) -> Option<u16> {
        let head_end = loop {
            if let Some(i) = self.buf[self.start..self.end].windows(4).position(|w| w == b"\r\n\r\n") {
                break self.start + i + 4;
            }
            self.fill()?;
        };
        let head = &self.buf[self.start..head_end];
        let status = std::str::from_utf8(head.get(9..12)?).ok()?.parse().ok()?;
        let mut len = 0usize;
        for line in head.split(|b| *b == b'\n') {
            if line.len() > 15 && line[..15].eq_ignore_ascii_case(b"content-length:") {
                len = std::str::from_utf8(&line[15..]).ok()?.trim().parse().ok()?;
            }
        }
        self.start = head_end;
        // Skip the body: what is buffered, then read (into the same buffer) past the rest.
        let mut left = len;
        loop {
            let have = (self.end - self.start).min(left);
            self.start += have;
            left -= have;
            if left == 0 {
                return Some(status);
            }
            self.fill()?;
        }
    }

    /// Reads more into the buffer (moving what is unread to its front first).
    fn fill(&mut self) -> Option<()> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        }
        match self.s.read(&mut self.buf[self.end..]) {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                self.end += n;
                Some(())
            }
        }
    }
}
