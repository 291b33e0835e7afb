//! The clinic's ORIGINAL React frontend, as it speaks on the wire, for the compatibility
//! suites (`tests/compat_*.rs`). Written from shared/ROYAL-CARE-COMPAT.md, not from our
//! own docs: what the original's axios instance and WebSocket service send, and what a
//! browser does around them (a CORS preflight before every request with `Authorization`,
//! refusing to hand the page an answer without `Access-Control-Allow-Origin`).
//!
//! - REST: `Accept: application/json, text/plain, */*`, `Content-Type: application/json`,
//!   `Cache-Control: no-cache`, `Authorization: Token <knoxToken>` (logout: `Bearer`), from
//!   the frontend's own origin (Vite's `http://localhost:5173`).
//! - Socket: `new WebSocket(VITE_WS_BASE_URL + "?token=" + token)` from that origin;
//!   `{type: "heartbeat"}` answered by `heartbeat_response`; a refused handshake (HTTP
//!   403) is retried at most 5 times, but every `onopen` resets the count, so a server that
//!   answers 101 and then closes is retried forever.
#![allow(dead_code)]

use crate::common::{read_response, HttpResponse, Server};
use serde_json::Value;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;
use tungstenite::client::IntoClientRequest;

/// Where the clinic serves its frontend (Vite's default dev address).
pub const ORIGIN: &str = "http://localhost:5173";
/// What the frontend's `.env` points at: `VITE_API_BASE_URL` = <server>/api,
/// `VITE_WS_BASE_URL` = <server>/ws/scheduling/appointments/.
pub const API: &str = "/api";
pub const WS: &str = "/ws/scheduling/appointments/";
/// How often the original retries a refused handshake.
pub const MAX_RECONNECTS: usize = 5;

/// Starts a server that lets the frontend's origin in, as docs/MIGRATION.md tells a clinic to.
pub fn server() -> Server {
    Server::start_with(&[("ROYAL_CARE_ALLOWED_ORIGINS", ORIGIN)])
}

/// A browser tab running the original frontend against `srv`.
pub struct Frontend<'a> {
    pub srv: &'a Server,
    /// localStorage `knoxToken`.
    pub token: Option<String>,
    pub origin: &'static str,
}

/// What the page's code gets from axios: the answer, or the browser's CORS refusal (a
/// "Network Error" to the page, which the original's login form shows as "Incorrect
/// username or password").
#[derive(Debug)]
pub enum Reply {
    Answer(u16, Value),
    CorsBlocked(String),
}

impl Reply {
    /// The answer, failing the test on a CORS refusal.
    pub fn ok(self) -> (u16, Value) {
        match self {
            Reply::Answer(s, v) => (s, v),
            Reply::CorsBlocked(why) => panic!("the browser blocked the request: {why}"),
        }
    }
}

impl<'a> Frontend<'a> {
    pub fn new(srv: &'a Server) -> Self {
        Frontend { srv, token: None, origin: ORIGIN }
    }

    /// Logged in as `username` through the login form.
    pub fn logged_in(srv: &'a Server, username: &str) -> Self {
        let mut f = Frontend::new(srv);
        let (s, v) = f.login(username, crate::common::PASSWORD).ok();
        assert_eq!(s, 200, "login failed: {v}");
        f
    }

    /// The login form: `POST {API}/auth/login/ {username, password}`; keeps the token.
    pub fn login(&mut self, username: &str, password: &str) -> Reply {
        let body = serde_json::json!({"username": username, "password": password});
        let r = self.send("POST", "/auth/login/", Some(&body), None);
        if let Reply::Answer(200, v) = &r {
            self.token = v["token"].as_str().map(String::from);
        }
        r
    }

    /// The original's logout: `POST {API}/auth/logout/` with `Authorization: Bearer`.
    pub fn logout(&mut self) -> Reply {
        let t = self.token.clone().expect("logged in");
        let r = self.send("POST", "/auth/logout/", None, Some(&format!("Bearer {t}")));
        self.token = None;
        r
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.send("POST", path, Some(body), None)
    }

    pub fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send("PATCH", path, Some(body), None)
    }

    pub fn put(&self, path: &str, body: &Value) -> Reply {
        self.send("PUT", path, Some(body), None)
    }

    pub fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, None, None)
    }

    /// One axios request to `{API}{path}`, with the browser's preflight first.
    fn send(&self, method: &str, path: &str, body: Option<&Value>, authorization: Option<&str>) -> Reply {
        let auth = authorization.map(String::from).or_else(|| self.token.as_ref().map(|t| format!("Token {t}")));
        let url = format!("{API}{path}");
        // The headers the page sets that are not CORS-safelisted, as Chrome lists them.
        let mut asked = vec!["cache-control"];
        if auth.is_some() {
            asked.insert(0, "authorization");
        }
        if body.is_some() {
            asked.push("content-type");
        }
        let pre = self.srv.request(
            "OPTIONS",
            &url,
            None,
            None,
            &[
                ("Origin", self.origin),
                ("Access-Control-Request-Method", method),
                ("Access-Control-Request-Headers", &asked.join(",")),
            ],
        );
        if let Some(why) = preflight_refusal(&pre, self.origin, method, &asked) {
            return Reply::CorsBlocked(why);
        }
        let mut headers = vec![
            ("Accept", "application/json, text/plain, */*"),
            ("Cache-Control", "no-cache"),
            ("Origin", self.origin),
            ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"),
        ];
        if let Some(a) = &auth {
            headers.push(("Authorization", a));
        }
        let body = body.map(|b| b.to_string());
        let r = self.srv.request(method, &url, None, body.as_deref(), &headers);
        match r.header("access-control-allow-origin") {
            Some(o) if o == self.origin || o == "*" => Reply::Answer(r.status, r.json()),
            other => Reply::CorsBlocked(format!("{method} {url}: Access-Control-Allow-Origin {other:?}")),
        }
    }

    /// The original's socket: `?token=` from the frontend's origin. `Ok` after a 101 with
    /// the open socket; `Err(status)` when the handshake is refused.
    pub fn open_socket(&self) -> Result<Socket, u16> {
        open_socket(self.srv, self.token.as_deref().unwrap_or(""), self.origin)
    }
}

/// Why a browser would refuse to send the real request after this preflight answer, if it would.
fn preflight_refusal(pre: &HttpResponse, origin: &str, method: &str, asked: &[&str]) -> Option<String> {
    if !(200..300).contains(&pre.status) {
        return Some(format!("preflight answered {}", pre.status));
    }
    match pre.header("access-control-allow-origin") {
        Some(o) if o == origin || o == "*" => {}
        other => return Some(format!("preflight Access-Control-Allow-Origin {other:?}")),
    }
    let list = |name: &str| -> Vec<String> {
        pre.header(name).unwrap_or("").split(',').map(|s| s.trim().to_ascii_lowercase()).collect()
    };
    let methods = list("access-control-allow-methods");
    // GET, HEAD and POST are always allowed once the origin is.
    if !["GET", "HEAD", "POST"].contains(&method) && !methods.iter().any(|m| m == "*" || m.eq_ignore_ascii_case(method))
    {
        return Some(format!("preflight does not allow {method}: {methods:?}"));
    }
    let headers = list("access-control-allow-headers");
    for h in asked {
        if !headers.iter().any(|a| a == h || (a == "*" && *h != "authorization")) {
            return Some(format!("preflight does not allow the request header {h}: {headers:?}"));
        }
    }
    None
}

/// The original's socket after a 101.
pub struct Socket {
    pub ws: tungstenite::WebSocket<TcpStream>,
}

/// `new WebSocket(WS + "?token=" + token)` from `origin`.
pub fn open_socket(srv: &Server, token: &str, origin: &str) -> Result<Socket, u16> {
    let url = format!("ws://{}{WS}?token={token}", srv.addr);
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("Origin", origin.parse().unwrap());
    let stream = TcpStream::connect(srv.addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    match tungstenite::client::client(req, stream) {
        Ok((ws, _)) => Ok(Socket { ws }),
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => Err(resp.status().as_u16()),
        Err(e) => panic!("the handshake failed without an HTTP answer: {e}"),
    }
}

impl Socket {
    /// The next message (JSON), or `Err(close code)` when the server closes; `None` after
    /// `timeout` with nothing.
    pub fn next(&mut self, timeout: Duration) -> Option<Result<Value, u16>> {
        self.ws.get_mut().set_read_timeout(Some(timeout)).unwrap();
        loop {
            match self.ws.read() {
                Ok(tungstenite::Message::Text(t)) => return Some(Ok(serde_json::from_str(&t).unwrap())),
                Ok(tungstenite::Message::Close(f)) => {
                    let _ = self.ws.flush();
                    return Some(Err(f.map_or(1005, |f| u16::from(f.code))));
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
                {
                    return None
                }
                Err(_) => return Some(Err(1006)),
            }
        }
    }

    /// Reads until a message of `kind` (what the original's `onmessage` switch handles).
    pub fn next_of(&mut self, kind: &str) -> Value {
        loop {
            match self.next(Duration::from_secs(10)) {
                Some(Ok(v)) if v["type"] == kind => return v,
                Some(Ok(_)) => {}
                other => panic!("waiting for {kind}: {other:?}"),
            }
        }
    }

    pub fn send(&mut self, v: &Value) {
        self.ws.send(tungstenite::Message::Text(v.to_string().into())).unwrap();
        self.ws.flush().unwrap();
    }
}

/// The raw request the original's axios sends, for what `Frontend` cannot express.
pub fn raw(srv: &Server, head: &str) -> HttpResponse {
    let mut s = srv.connect();
    s.write_all(head.as_bytes()).unwrap();
    read_response(&mut s).expect("an answer")
}
