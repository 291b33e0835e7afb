//! One client connection: read a head, read its body, route, write the answer, and repeat
//! while keep-alive lasts. Every read and write has a deadline, so a slow or silent
//! client costs only its own thread, and only until its deadline passes.

use super::parse::{parse_head, HeadError};
use super::{Reply, Request, Response, Service};
use crate::config::Settings;
use crate::error::{ApiError, ErrorCode};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Writes of a response must finish within this; a client that does not read is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

enum Next {
    Request(Box<Request>, Vec<u8>),
    Close,
}

/// Serves `stream` until the client closes, a deadline passes, or the socket is upgraded;
/// `service` answers each request (or takes the upgraded socket over).
pub fn run(service: &impl Service, settings: &Settings, mut stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let mut buf: Vec<u8> = Vec::with_capacity(2048);
    let mut first = true;
    loop {
        let req = match next_request(settings, &mut stream, &mut buf, peer, first) {
            Next::Request(r, leftover) => {
                buf = leftover;
                *r
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
                service.upgrade(stream, req, std::mem::take(&mut buf), Box::new(move |status| line.log(status, 0)));
                return;
            }
        };
        let ok = resp.write_to(&mut stream, head_only, keep_alive).is_ok();
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
fn next_request(s: &Settings, stream: &mut TcpStream, buf: &mut Vec<u8>, peer: SocketAddr, first: bool) -> Next {
    // An idle keep-alive connection may wait `keepalive`; once a request has begun, its
    // head must arrive within `request_timeout` (slow-loris bound).
    let mut deadline = Instant::now() + if first || !buf.is_empty() { s.request_timeout() } else { s.keepalive() };
    let mut idle = !first && buf.is_empty();
    let (head, head_len) = loop {
        match parse_head(buf) {
            Ok(Some(done)) => break done,
            Ok(None) => {}
            Err(HeadError::TooLarge) => {
                return fail(
                    stream,
                    ApiError::new(
                        ErrorCode::HeadTooLarge,
                        "The request head is too large; send fewer or shorter headers.",
                    ),
                );
            }
            Err(HeadError::Malformed(why)) => {
                return fail(stream, ApiError::bad_request(format!("Bad request: {why}.")));
            }
        }
        match read_some(stream, buf, deadline) {
            Ok(0) => return Next::Close,
            Ok(_) => {
                if idle {
                    idle = false;
                    deadline = Instant::now() + s.request_timeout();
                }
            }
            Err(e) if is_timeout(&e) && !idle && !buf.is_empty() => {
                return fail(
                    stream,
                    ApiError::new(ErrorCode::Timeout, "The request took too long to arrive; send it again."),
                );
            }
            Err(_) => return Next::Close,
        }
    };
    if head.header("transfer-encoding").is_some() {
        return fail(
            stream,
            ApiError::new(
                ErrorCode::NotImplemented,
                "Chunked request bodies are not supported; send a Content-Length.",
            ),
        );
    }
    let len = match content_length(&head) {
        Ok(n) => n,
        Err(e) => return fail(stream, e),
    };
    if len > s.max_body_bytes {
        return fail(stream, ApiError::too_large(s.max_body_bytes));
    }
    let mut rest = buf.split_off(head_len);
    if len > 0 && rest.len() < len {
        let expects = head.header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
        if expects && stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
            return Next::Close;
        }
        let deadline = Instant::now() + s.request_timeout();
        while rest.len() < len {
            match read_some(stream, &mut rest, deadline) {
                Ok(0) => return Next::Close,
                Ok(_) => {}
                Err(e) if is_timeout(&e) => {
                    return fail(
                        stream,
                        ApiError::new(ErrorCode::Timeout, "The request body took too long to arrive; send it again."),
                    );
                }
                Err(_) => return Next::Close,
            }
        }
    }
    let leftover = rest.split_off(len);
    Next::Request(Box::new(Request { head, body: rest, peer }), leftover)
}

fn content_length(head: &super::parse::Head) -> Result<usize, ApiError> {
    let mut values = head.headers.iter().filter(|(k, _)| k == "content-length").map(|(_, v)| v.trim());
    let Some(first) = values.next() else { return Ok(0) };
    if values.any(|v| v != first) || first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request("The Content-Length header is not a single number."));
    }
    // Anything that does not fit is certainly over the limit.
    Ok(first.parse().unwrap_or(usize::MAX))
}

/// Reads what is available into `buf`, waiting at most until `deadline`.
fn read_some(stream: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> std::io::Result<usize> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(ErrorKind::TimedOut.into());
    }
    stream.set_read_timeout(Some(left))?;
    // Into the heap buffer, not a stack array: stack pages stay resident in the thread of
    // every long-lived WebSocket (measured: 5,000 sockets 199.9 MB → 195.4 MB RSS).
    let start = buf.len();
    buf.resize(start + 8192, 0);
    let read = stream.read(&mut buf[start..]);
    buf.truncate(start + *read.as_ref().unwrap_or(&0));
    read
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Answers an unreadable request with `e` and ends the connection: after a bad head or
/// an unread body we no longer know where the next request would start.
fn fail(stream: &mut TcpStream, e: ApiError) -> Next {
    let status = e.status();
    let _ = Response::from(e).write_to(stream, false, false);
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
            peer: req.peer.ip(),
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

/// A 503 for a connection over the limit, written without blocking the accept loop.
pub fn refuse_busy(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
    let _ = Response::from(ApiError::busy()).write_to(&mut stream, false, false);
}
