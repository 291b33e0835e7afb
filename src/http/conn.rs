//! One client connection: read a head, read its body, route, write the answer, and repeat
//! while keep-alive lasts. Every read and write has a deadline, so a slow or silent
//! client costs only its own thread, and only until its deadline passes.

use super::budget::{self, Permit, SMALL_BODY_BYTES};
use super::parse::{parse_head, ChunkError, Chunked, Framing, Head, HeadError};
use super::{Reply, Request, Response, Service};
use crate::config::Settings;
use crate::error::{ApiError, ErrorCode};
use socket2::SockRef;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A whole response must be written within this (not each write call: a client reading
/// a byte at a time would otherwise hold its thread for as long as it likes).
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The kernel's send buffer per connection (Linux doubles it for bookkeeping). Left to
/// itself it grows to 4 MiB per socket, so 2,000 slow readers could pin gigabytes of a
/// Pi's kernel memory; 256 KiB still fills a 20 Mbit/s link at 100 ms round trips.
pub const SEND_BUFFER_BYTES: usize = 256 * 1024;
/// Time for the short answers written on the way out (100 Continue, an error before close).
const SHORT_WRITE: Duration = Duration::from_secs(2);

enum Next<'a> {
    /// A request, the bytes read past it, and its body's share of the budget.
    Request(Box<Request>, Vec<u8>, Option<Permit<'a>>),
    Close,
}

/// Serves `stream` until the client closes, a deadline passes, or the socket is upgraded;
/// `service` answers each request (or takes the upgraded socket over).
pub fn run(service: &impl Service, settings: &Settings, mut stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let _ = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER_BYTES);
    let mut buf: Vec<u8> = Vec::with_capacity(2048);
    let mut first = true;
    let mut armed = Armed::default();
    loop {
        // The permit is held until the answer is written: the body lives that long.
        let (req, _permit) = match next_request(service, settings, &mut stream, &mut armed, &mut buf, peer, first) {
            Next::Request(r, leftover, permit) => {
                // Keep the buffer (and its allocation) unless bytes were read past the request.
                if !leftover.is_empty() {
                    buf = leftover;
                }
                (*r, permit)
            }
            Next::Close => return,
        };
        first = false;
        let started = Instant::now();
        let head_only = req.method() == "HEAD";
        let keep_alive = wants_keep_alive(&req) && !service.is_shutting_down();
        let reply = if head_only {
            let mut get = req.clone();
            get.head.method = "GET".into();
            service.route(&get)
        } else {
            service.route(&req)
        };
        let resp = match reply {
            Reply::Response(r) => r,
            Reply::Upgrade => {
                // Logged with the status the WebSocket layer actually answers (101, 403, 426…).
                let line = AccessLine::of(&req, started);
                // Only bytes read past the request go along, not the buffer's allocation.
                let early = if buf.is_empty() { Vec::new() } else { std::mem::take(&mut buf) };
                service.upgrade(stream, req, early, Box::new(move |status| line.log(status, 0)));
                return;
            }
        };
        let ok = resp.write_to(&mut Deadline::new(&stream, WRITE_TIMEOUT), head_only, keep_alive).is_ok();
        AccessLine::of(&req, started).log(resp.status, resp.body.len());
        if !ok || !keep_alive {
            return;
        }
    }
}

fn wants_keep_alive(req: &Request) -> bool {
    let conn = req.header("connection").unwrap_or("").to_ascii_lowercase();
    if req.head.minor_version == 0 {
        conn.split(',').any(|t| t.trim() == "keep-alive")
    } else {
        !conn.split(',').any(|t| t.trim() == "close")
    }
}

/// Reads the next request. `buf` holds bytes already read past the previous request.
fn next_request<'s>(
    service: &'s impl Service,
    s: &Settings,
    stream: &mut TcpStream,
    armed: &mut Armed,
    buf: &mut Vec<u8>,
    peer: SocketAddr,
    first: bool,
) -> Next<'s> {
    let (head, head_len) = match read_head(s, stream, armed, buf, first) {
        Ok(Some(h)) => h,
        Ok(None) => return Next::Close,
        Err(e) => return fail(stream, e),
    };
    let framing = match head.framing() {
        Ok(f) => f,
        Err(e) => return fail(stream, head_error(e)),
    };
    // Before a byte of the body is read: is this caller allowed a body this large?
    let limit = match service.body_limit(&head, framing) {
        Ok(n) => n.min(s.max_body_bytes),
        Err(e) => return fail(stream, e),
    };
    // The bytes read past the head (usually none); `buf` keeps its allocation for the
    // next request (splitting it off cost an 8 KiB allocation per request).
    let rest = buf[head_len..].to_vec();
    buf.clear();
    let wanted = match framing {
        Framing::Length(len) if len > limit => return fail(stream, ApiError::too_large(limit)),
        Framing::Length(len) => len,
        Framing::Chunked => limit,
    };
    let permit = if wanted > SMALL_BODY_BYTES {
        match service.body_budget().take(budget::cost(wanted)) {
            Some(p) => Some(p),
            None => {
                log::warn!("body budget spent; refused a {wanted}-byte body from {}", peer.ip());
                return fail(stream, ApiError::busy());
            }
        }
    } else {
        None
    };
    let complete = match framing {
        Framing::Length(len) => rest.len() >= len,
        Framing::Chunked => false,
    };
    let expects = head.header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    if wanted > 0 && !complete && expects && write_short(stream, b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
        return Next::Close;
    }
    let deadline = Instant::now() + s.request_timeout();
    let read = match framing {
        Framing::Length(len) => read_length(stream, armed, rest, len, deadline),
        Framing::Chunked => read_chunked(stream, armed, rest, limit, deadline),
    };
    match read {
        Ok(Some((body, leftover))) => {
            Next::Request(Box::new(Request::new(head, body, peer, &s.trusted_proxies)), leftover, permit)
        }
        Ok(None) => Next::Close,
        Err(e) => fail(stream, e),
    }
}

/// Reads until a whole head is in `buf`. `Ok(None)`: the client closed or went quiet
/// between requests, which needs no answer.
fn read_head(
    s: &Settings,
    stream: &mut TcpStream,
    armed: &mut Armed,
    buf: &mut Vec<u8>,
    first: bool,
) -> Result<Option<(Head, usize)>, ApiError> {
    // An idle keep-alive connection may wait `keepalive`; once a request has begun, its
    // head must arrive within `request_timeout` (slow-loris bound).
    let mut deadline = Instant::now() + if first || !buf.is_empty() { s.request_timeout() } else { s.keepalive() };
    let mut idle = !first && buf.is_empty();
    loop {
        if let Some(done) = parse_head(buf).map_err(head_error)? {
            return Ok(Some(done));
        }
        match read_some(stream, armed, buf, deadline) {
            Ok(0) => return Ok(None),
            Ok(_) => {
                if idle {
                    idle = false;
                    deadline = Instant::now() + s.request_timeout();
                }
            }
            Err(e) if is_timeout(&e) && !idle && !buf.is_empty() => {
                return Err(ApiError::new(ErrorCode::Timeout, "The request took too long to arrive; send it again."));
            }
            Err(_) => return Ok(None),
        }
    }
}

fn head_error(e: HeadError) -> ApiError {
    match e {
        HeadError::TooLarge => {
            ApiError::new(ErrorCode::HeadTooLarge, "The request head is too large; send fewer or shorter headers.")
        }
        HeadError::Malformed(why) => ApiError::bad_request(format!("Bad request: {why}.")),
        HeadError::UnknownCoding => ApiError::new(
            ErrorCode::NotImplemented,
            "Only chunked request bodies are supported besides plain ones; send a Content-Length.",
        ),
    }
}

/// A body read: `Ok(Some((body, bytes read past it)))`, `Ok(None)` if the client went
/// away, or the error to answer.
type BodyRead = Result<Option<(Vec<u8>, Vec<u8>)>, ApiError>;

fn body_timeout() -> ApiError {
    ApiError::new(ErrorCode::Timeout, "The request body took too long to arrive; send it again.")
}

/// A `Content-Length` body: `len` bytes, of which `rest` holds the first ones. Returns
/// the body and what was read past it; `Ok(None)` if the client went away.
fn read_length(
    stream: &mut TcpStream,
    armed: &mut Armed,
    mut rest: Vec<u8>,
    len: usize,
    deadline: Instant,
) -> BodyRead {
    // The length is within the limit and paid for: allocate it once, not by doubling.
    rest.reserve_exact(len.saturating_sub(rest.len()));
    while rest.len() < len {
        match read_some(stream, armed, &mut rest, deadline) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) if is_timeout(&e) => return Err(body_timeout()),
            Err(_) => return Ok(None),
        }
    }
    let leftover = rest.split_off(len);
    Ok(Some((rest, leftover)))
}

/// A chunked body of at most `limit` decoded bytes (see `parse::Chunked`).
fn read_chunked(
    stream: &mut TcpStream,
    armed: &mut Armed,
    mut rest: Vec<u8>,
    limit: usize,
    deadline: Instant,
) -> BodyRead {
    let mut chunks = Chunked::new(limit);
    loop {
        let (used, done) = chunks.feed(&rest).map_err(|e| match e {
            ChunkError::TooLarge => ApiError::too_large(limit),
            ChunkError::Malformed(why) => ApiError::bad_request(format!("Bad request: {why}.")),
        })?;
        rest.drain(..used);
        if done {
            return Ok(Some((chunks.into_body(), rest)));
        }
        match read_some(stream, armed, &mut rest, deadline) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) if is_timeout(&e) => return Err(body_timeout()),
            Err(_) => return Ok(None),
        }
    }
}

/// The read timeout last set on a connection's socket (`None`: not known), so that it is
/// set only when it must shrink: a `setsockopt` per request otherwise.
#[derive(Default)]
struct Armed(Option<Duration>);

/// Reads what is available into `buf`, waiting at most until `deadline`. The socket's
/// read timeout is lowered to the time left when it is longer (a read must not outlast
/// the deadline), and left alone when it is shorter: such a read may only wake up early,
/// and then it waits again for the rest of the time.
fn read_some(stream: &mut TcpStream, armed: &mut Armed, buf: &mut Vec<u8>, deadline: Instant) -> io::Result<usize> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        if armed.0.is_none_or(|t| t > left) {
            armed.0 = None;
            stream.set_read_timeout(Some(left))?;
            armed.0 = Some(left);
        }
        // Into the heap buffer, not a stack array: stack pages stay resident in the thread of
        // every long-lived WebSocket (measured: 5,000 sockets 199.9 MB → 195.4 MB RSS).
        let start = buf.len();
        buf.resize(start + 8192, 0);
        let read = stream.read(&mut buf[start..]);
        buf.truncate(start + *read.as_ref().unwrap_or(&0));
        match read {
            // Woken by a timeout shorter than the time left: wait out the rest.
            Err(e) if is_timeout(&e) && Instant::now() < deadline => armed.0 = None,
            // A signal (SIGTERM's handler) interrupts a read on a socket with a timeout
            // even with SA_RESTART; that is not the client going away.
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            read => return read,
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Answers an unreadable request with `e` and ends the connection: after a bad head or
/// an unread body we no longer know where the next request would start.
fn fail<'a>(stream: &mut TcpStream, e: ApiError) -> Next<'a> {
    let status = e.status();
    let _ = Response::from(e).write_to(&mut Deadline::new(stream, SHORT_WRITE), false, false);
    log::info!(target: "royal_care::access", "- \"-\" {status} (unreadable request)");
    Next::Close
}

/// One access-log line: who asked for what, and (in `log`) the answer. The target is
/// redacted here, so a `?token=` never reaches the log.
pub struct AccessLine {
    peer: std::net::IpAddr,
    method: String,
    target: String,
    started: Instant,
}

impl AccessLine {
    fn of(req: &Request, started: Instant) -> Self {
        AccessLine {
            peer: req.client().ip,
            method: req.method().to_string(),
            target: super::parse::redact_target(&req.head.target),
            started,
        }
    }

    pub fn log(&self, status: u16, bytes: usize) {
        log::info!(
            target: "royal_care::access",
            "{} \"{} {}\" {} {}B {:.1}ms",
            self.peer,
            self.method,
            self.target,
            status,
            bytes,
            self.started.elapsed().as_secs_f64() * 1000.0
        );
    }
}

/// A 503 for a connection over a limit, written without blocking the accept loop.
pub fn refuse_busy(stream: TcpStream, e: ApiError) {
    let _ = Response::from(e).write_to(&mut Deadline::new(&stream, Duration::from_millis(200)), false, false);
}

fn write_short(stream: &TcpStream, bytes: &[u8]) -> io::Result<()> {
    Deadline::new(stream, SHORT_WRITE).write_all(bytes)
}

/// A writer that must be done by a deadline: each write may block only for the time
/// left, so a slow reader cannot stretch one answer past it.
pub struct Deadline<'a> {
    stream: &'a TcpStream,
    until: Instant,
}

impl<'a> Deadline<'a> {
    pub fn new(stream: &'a TcpStream, within: Duration) -> Self {
        Deadline { stream, until: Instant::now() + within }
    }
}

impl Deadline<'_> {
    /// Sets the socket's write timeout to the time left.
    fn arm(&self) -> io::Result<()> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        self.stream.set_write_timeout(Some(left))
    }
}

impl Write for Deadline<'_> {
    // Each write is first tried without waiting (`MSG_DONTWAIT` on that call only): an
    // answer that fits in the send buffer, as nearly all do, then needs no write timeout
    // (a `setsockopt` per answer). Only when the kernel takes nothing is the timeout set
    // to the time left and the write made to wait.
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match SockRef::from(self.stream).send_with_flags(bytes, libc::MSG_DONTWAIT) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            done => return done,
        }
        self.arm()?;
        let mut s = self.stream;
        s.write(bytes)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match SockRef::from(self.stream).send_vectored_with_flags(bufs, libc::MSG_DONTWAIT) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            done => return done,
        }
        self.arm()?;
        let mut s = self.stream;
        s.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
