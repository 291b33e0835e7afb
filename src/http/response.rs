//! A response value and how it is written on the wire. Every response carries
//! `Content-Length` (no chunking), and the security headers every page should have.

use crate::error::ApiError;
use std::io::{self, IoSlice, Write};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Shared, so a body kept for reuse (`store::derived`) is sent without a copy.
    pub body: Arc<Vec<u8>>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self::shared(status, content_type, Arc::new(body))
    }

    /// A body that is also kept elsewhere (e.g. a page in `App::list_pages`).
    pub fn shared(status: u16, content_type: &str, body: Arc<Vec<u8>>) -> Self {
        Response { status, headers: vec![("Content-Type".into(), content_type.into())], body }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::new(status, "application/json", serde_json::to_vec(value).unwrap_or_default())
    }

    /// A JSON body that was serialised elsewhere (e.g. once for many readers).
    pub fn json_bytes(status: u16, body: Vec<u8>) -> Self {
        Self::new(status, "application/json", body)
    }

    pub fn empty(status: u16) -> Self {
        Response { status, headers: vec![], body: Arc::default() }
    }

    pub fn no_content() -> Self {
        Response { status: 204, headers: vec![], body: Arc::default() }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
    }

    /// Writes status line, headers and (unless `head_only`) the body with one vectored
    /// write (`writev`), so a response is usually one syscall and the body, often tens
    /// of kilobytes, is not first copied behind the head.
    pub fn write_to(&self, w: &mut impl Write, head_only: bool, keep_alive: bool) -> io::Result<()> {
        let mut out = Vec::with_capacity(256);
        write!(out, "HTTP/1.1 {} {}\r\n", self.status, reason(self.status))?;
        for (k, v) in &self.headers {
            // Header values come from our own code; strip CR/LF anyway so none can split.
            let v: String = v.chars().filter(|c| *c != '\r' && *c != '\n').collect();
            write!(out, "{k}: {v}\r\n")?;
        }
        if !self.has_header("X-Content-Type-Options") {
            out.extend_from_slice(b"X-Content-Type-Options: nosniff\r\n");
        }
        if !(100..200).contains(&self.status) && self.status != 204 {
            write!(out, "Content-Length: {}\r\n", self.body.len())?;
        }
        out.extend_from_slice(if keep_alive {
            b"Connection: keep-alive\r\n\r\n"
        } else {
            b"Connection: close\r\n\r\n"
        });
        let body: &[u8] = if head_only { &[] } else { &self.body };
        let mut parts = [IoSlice::new(&out), IoSlice::new(body)];
        let mut left = &mut parts[..];
        while !left.is_empty() {
            match w.write_vectored(left) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut left, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        w.flush()
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}

/// The one place an `ApiError` becomes an HTTP answer.
impl From<ApiError> for Response {
    fn from(e: ApiError) -> Response {
        let status = e.status();
        let mut r = Response::json(status, &e.body());
        if status == 401 {
            r = r.header("WWW-Authenticate", "Token");
        }
        if let Some(s) = e.retry_after {
            r = r.header("Retry-After", &s.to_string());
        }
        r
    }
}
