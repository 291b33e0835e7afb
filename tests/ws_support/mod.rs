//! A real WebSocket client (tungstenite over a real TCP socket) for the live-update
//! tests, and a way to write event rows from another process the way the CLI does.
#![allow(dead_code)]

use crate::common::Server;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::Response;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

pub const WS_PATH: &str = "/ws/scheduling/appointments/";

pub struct Ws {
    pub ws: WebSocket<TcpStream>,
    pub response: Response,
}

/// What a read ended with when it was not a text message.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Closed(u16, String),
    /// The connection ended without a close frame (or the read failed).
    Dropped(String),
    Timeout,
}

/// Opens a socket with `query` (e.g. "token=…&since=3") and extra headers.
pub fn connect(srv: &Server, query: &str, headers: &[(&str, &str)]) -> Result<Ws, tungstenite::Error> {
    let url = format!("ws://{}{WS_PATH}{}{query}", srv.addr, if query.is_empty() { "" } else { "?" });
    let mut req = url.into_client_request()?;
    for (k, v) in headers {
        req.headers_mut().insert(tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    let stream = TcpStream::connect(srv.addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (ws, response) = tungstenite::client::client(req, stream).map_err(|e| match e {
        tungstenite::HandshakeError::Failure(e) => e,
        tungstenite::HandshakeError::Interrupted(_) => panic!("handshake interrupted"),
    })?;
    Ok(Ws { ws, response })
}

/// Opens a socket with `?token=` and returns it with its first message.
pub fn open(srv: &Server, token: &str) -> (Ws, Value) {
    let mut ws = connect(srv, &format!("token={token}"), &[]).expect("handshake failed");
    let first = ws.next_json(Duration::from_secs(10)).expect("no first message");
    (ws, first)
}

impl Ws {
    /// The next text message as JSON, or how the socket ended.
    pub fn next_json(&mut self, timeout: Duration) -> Result<Value, Ended> {
        let until = Instant::now() + timeout;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Ended::Timeout);
            }
            self.ws.get_mut().set_read_timeout(Some(left)).unwrap();
            match self.ws.read() {
                Ok(Message::Text(t)) => return Ok(serde_json::from_str(&t).expect("server sent invalid JSON")),
                Ok(Message::Close(f)) => {
                    let (code, reason) =
                        f.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((1005, String::new()));
                    // Complete the close handshake.
                    let _ = self.ws.flush();
                    return Err(Ended::Closed(code, reason));
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
                {
                    return Err(Ended::Timeout)
                }
                // A read with a timeout is interrupted when this process is stopped and
                // continued (or frozen and thawed); nothing was consumed, so read again.
                Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Ended::Dropped(e.to_string())),
            }
        }
    }

    /// Reads (skipping messages) until the socket closes; returns the close code and when.
    pub fn expect_close(&mut self, timeout: Duration) -> (u16, String, Instant) {
        loop {
            match self.next_json(timeout) {
                Ok(_) => {}
                Err(Ended::Closed(c, r)) => return (c, r, Instant::now()),
                Err(e) => panic!("expected a close frame, got {e:?}"),
            }
        }
    }

    pub fn send_text(&mut self, text: &str) {
        self.ws.send(Message::Text(text.into())).unwrap();
    }

    /// Reads messages until one of `kind` arrives.
    pub fn next_of(&mut self, kind: &str, timeout: Duration) -> Value {
        let until = Instant::now() + timeout;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.next_json(left) {
                Ok(v) if v["type"] == kind => return v,
                Ok(_) => {}
                Err(e) => panic!("waiting for {kind}: {e:?}"),
            }
        }
    }

    pub fn close(mut self) {
        let _ = self.ws.close(Some(tungstenite::protocol::CloseFrame { code: CloseCode::Normal, reason: "".into() }));
        let _ = self.ws.flush();
    }
}

/// The id of the user holding `token`.
pub fn user_id(srv: &Server, token: &str) -> i64 {
    let (s, v) = srv.call("GET", "/api/auth/profile/", Some(token), None);
    assert_eq!(s, 200);
    v["id"].as_i64().unwrap()
}

/// Writes event rows into the server's database from this (another) process, the way
/// the CLI does; the server's hub finds them in the log. Returns their seqs.
pub fn inject(srv: &Server, drafts: Vec<royal_care::events::EventDraft>) -> Vec<i64> {
    let store = royal_care::store::Store::open(&srv.db).unwrap();
    store.write(|tx| -> rusqlite::Result<Vec<i64>> { drafts.into_iter().map(|d| tx.emit(d)).collect() }).unwrap()
}

/// A raw TCP socket upgraded with `?token=`; returns once the 101 head has been read,
/// for tests that send or read frames byte by byte.
pub fn raw_upgrade(srv: &Server, token: &str) -> TcpStream {
    let mut s = srv.connect();
    let head = format!(
        "GET {WS_PATH}?token={token} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        srv.addr
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut b = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => got.push(b[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            r => panic!("no 101: {r:?} after {:?}", String::from_utf8_lossy(&got)),
        }
    }
    assert!(got.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&got));
    s
}

/// Writes 10,000 `appointment_updated` events of ~1.4 KB each (the size issue 9
/// measured) for operators, 500 a transaction the way the CLI writes; a socket of
/// `token`'s reads each batch (so the hub has dispatched it) before the next is written.
/// Returns the stream's epoch and the events' seqs.
pub fn fill_log(srv: &Server, token: &str) -> (String, Vec<i64>) {
    let (mut ws, first) = open(srv, token);
    let epoch = first["epoch"].as_str().unwrap().to_string();
    let pad = "x".repeat(1200);
    let mut seqs = Vec::new();
    for batch in 0..20 {
        let drafts = (0..500)
            .map(|i| royal_care::events::EventDraft {
                kind: royal_care::events::APPOINTMENT_UPDATED,
                appointment_id: Some(batch * 500 + i),
                audience: royal_care::events::Audience::operators_and([]),
                payload: serde_json::json!({"appointment": {"id": i, "notes": pad}, "updated_fields": ["notes"]}),
            })
            .collect();
        let injected = inject(srv, drafts);
        let last = *injected.last().unwrap();
        seqs.extend(injected);
        while ws.next_json(Duration::from_secs(20)).expect("the hub did not dispatch the events")["seq"] != last {}
    }
    ws.close();
    (epoch, seqs)
}

/// An `appointment_updated` draft for appointment `id` seen by `audience`.
pub fn updated(id: i64, audience: royal_care::events::Audience) -> royal_care::events::EventDraft {
    royal_care::events::EventDraft {
        kind: royal_care::events::APPOINTMENT_UPDATED,
        appointment_id: Some(id),
        audience,
        payload: serde_json::json!({"appointment": {"id": id}, "updated_fields": ["notes"]}),
    }
}
