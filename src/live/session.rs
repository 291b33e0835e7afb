//! One authenticated socket, from subscription to close.
//!
//! Two threads, and every byte on the wire is written by one of them at a time:
//! - this (the connection's) thread subscribes, sends the start (`initial_data`, or the
//!   replay of a resume) itself, then starts the writer and becomes the **reader**: it
//!   owns a tungstenite `WebSocket` over a read-only handle, and turns what it reads
//!   (heartbeats, pings, a close, an over-size message, a flood) into queued frames or a
//!   close request — it never writes;
//! - the **writer** owns the writing handle: it drains the subscriber's bounded queue
//!   (shared event frames and this socket's own frames), pings, enforces the idle
//!   timeout, and performs the close the hub or the reader asked for.
//!
//! No gap, no duplicate: the socket subscribes first, so live events queue up; then one
//! read transaction yields the snapshot (or the replay) and the log's last `seq` S;
//! the writer then skips queued events with seq <= S.

use crate::app::App;
use crate::auth::Principal;
use crate::events::{self, Event};
use crate::hub::{Close, Out, Queue, Refused, Subscriber, Subscription};
use crate::ws::{frame, CloseCode};
use serde_json::{json, Value};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::WebSocket;

/// Inbound messages (and frames) over this are refused with 1009: clients only send
/// heartbeats, so 64 KiB is generous.
const MAX_INBOUND: usize = 64 * 1024;
/// More than `FLOOD_MESSAGES` messages within `FLOOD_WINDOW` → close 1008. A browser
/// sends a heartbeat every ~25 s; 50 in 10 s is a broken or hostile client.
const FLOOD_MESSAGES: u32 = 50;
const FLOOD_WINDOW: Duration = Duration::from_secs(10);
/// A resume may replay at most this many events; further behind, a fresh
/// `initial_data` is smaller and faster.
const MAX_REPLAY: i64 = 10_000;
/// The reader's buffer: clients send only small heartbeats, and tungstenite zero-fills
/// the whole buffer, so a small one keeps 5,000 idle sockets cheap (it grows for a
/// larger message, up to `MAX_INBOUND`).
const READ_BUFFER: usize = 512;
/// The writer thread's stack: it only moves bytes.
const WRITER_STACK: usize = 128 * 1024;
/// How long a closing socket waits for the client's close reply.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Runs an authenticated socket until it closes.
/// `resume` is the `since` and `epoch` query parameters, if given.
pub fn run(app: &Arc<App>, mut stream: TcpStream, resume: Resume, who: Principal, leftover: Vec<u8>) {
    let user = &who.user;
    let (subscription, rx) =
        match app.hub.subscribe(user.id, user.is_operator(), who.digest.clone(), who.expiry.clone()) {
            Ok(s) => s,
            Err(Refused::TooManyForUser) => {
                log::warn!("refused a socket of user {}: over the per-user limit", user.username);
                let reason = "too many live connections for this user; close other tabs";
                return super::close_now(stream, CloseCode::Policy, reason);
            }
            Err(Refused::ShuttingDown) => {
                return super::close_now(stream, CloseCode::GoingAway, "server shutting down; reconnect shortly")
            }
        };
    let sub = subscription.sub.clone();
    let start = match start_frames(app, &who, sub.id, resume.since, resume.epoch) {
        Ok(s) => s,
        Err(e) => {
            log::error!("could not read the start of a live connection: {e}");
            return super::close_now(stream, CloseCode::ServerError, "server error; try again");
        }
    };
    log::info!("ws {} open: {} ({}), {}", sub.id, user.username, user.role, start.describe);
    for f in &start.frames {
        if stream.write_all(f).is_err() {
            return;
        }
    }
    let (writer_stream, read_stream) = match (stream.try_clone(), stream.try_clone()) {
        (Ok(w), Ok(r)) => (w, r),
        _ => return,
    };
    let link = Arc::new(Link { started: Instant::now(), last_heard_ms: AtomicU64::new(0) });
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let writer = Writer {
        stream: writer_stream,
        rx,
        subscription,
        link: link.clone(),
        done: done_rx,
        sent: start.seq,
        ping_every: Duration::from_secs(app.settings.ws_ping_secs),
        idle: Duration::from_secs(app.settings.ws_idle_secs),
    };
    if let Err(e) =
        std::thread::Builder::new().name("ws-writer".into()).stack_size(WRITER_STACK).spawn(move || writer.run())
    {
        log::warn!("could not start a socket writer: {e}");
        return super::close_now(stream, CloseCode::TryAgain, "server busy; try again");
    }
    let _ = read_stream.set_read_timeout(Some(Duration::from_secs(app.settings.ws_idle_secs)));
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(Some(MAX_INBOUND))
        .max_frame_size(Some(MAX_INBOUND));
    let mut ws = WebSocket::from_partially_read(ReadHalf(read_stream), leftover, Role::Server, Some(config));
    read_loop(&mut ws, &sub, &link);
    drop(done_tx);
}

/// `?since=&epoch=` of the upgrade request.
pub struct Resume {
    pub since: Option<String>,
    pub epoch: Option<String>,
}

/// What a new socket is sent first, and the seq it covers.
struct Start {
    frames: Vec<Vec<u8>>,
    seq: i64,
    describe: String,
}

/// Subscribed already; reads the snapshot or the replay in ONE read transaction. Each
/// appointment carries this user's `allowed_actions`; operators at the same point of the
/// log on the same day share one serialised board (`hub::OperatorSnapshot`).
fn start_frames(
    app: &App,
    who: &Principal,
    id: u64,
    since: Option<String>,
    epoch: Option<String>,
) -> rusqlite::Result<Start> {
    let user = &who.user;
    // Read before the transaction, so the board it reads is at least this current.
    let commits = app.store.commits();
    let today = crate::scheduling::visibility::today();
    app.store.read(|c| {
        let tx = c.unchecked_transaction()?;
        let last = events::last_seq(&tx)?;
        let current_epoch = crate::store::migrate::epoch(&tx)?;
        let first = events::first_seq(&tx)?;
        let resume = since.as_deref().and_then(|s| s.parse::<i64>().ok()).filter(|&s| {
            s >= 0
                && s <= last
                && last - s <= MAX_REPLAY
                && epoch.as_deref().is_none_or(|e| e == current_epoch)
                // Every event after `s` must still be in the log.
                && first.map_or(s == last, |f| s >= f - 1)
        });
        if let Some(s) = resume {
            let evs: Vec<Event> = events::after(&tx, s, MAX_REPLAY as usize)?;
            let frames: Vec<Vec<u8>> = evs
                .iter()
                .filter(|e| e.seq <= last && !e.is_internal() && e.audience.includes(user.id, user.is_operator()))
                .map(|e| frame::text(e.message_for(user.id, user.is_operator()).as_bytes()))
                .collect();
            let describe = format!("resumed after seq {s}, {} events replayed up to {last}", frames.len());
            return Ok(Start { frames, seq: last, describe });
        }
        let board = || crate::scheduling::initial_rest_json(&tx, user, &today);
        let appointments: Arc<str> = if user.is_operator() {
            let key = crate::hub::SnapshotKey { seq: last, commits, day: today.clone() };
            app.hub.operators_board().get_or_build(key, board)?
        } else {
            board()?.into()
        };
        let resync = since.is_some();
        let msg = initial_data(&appointments, id, &current_epoch, resync, last);
        let describe = format!("initial_data at seq {last}{}", if resync { " (resync)" } else { "" });
        Ok(Start { frames: vec![frame::text(msg.as_bytes())], seq: last, describe })
    })
}

/// The `initial_data` message around `appointments` (a JSON array's text), its members in
/// sorted key order as a JSON object's would be.
fn initial_data(appointments: &str, id: u64, epoch: &str, resync: bool, seq: i64) -> String {
    let s = |v: &str| Value::String(v.to_string()).to_string();
    format!(
        "{{\"appointments\":{appointments},\"connection_id\":{},\"epoch\":{},{}\"seq\":{seq},\"timestamp\":{},\"type\":\"initial_data\"}}",
        s(&id.to_string()),
        s(epoch),
        if resync { "\"resync\":true," } else { "" },
        s(&crate::time::now_iso()),
    )
}

/// What both threads of a socket share.
struct Link {
    started: Instant,
    /// When the client was last heard from (any frame), in ms since `started`.
    last_heard_ms: AtomicU64,
}

impl Link {
    fn heard(&self) {
        self.last_heard_ms.store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn last_heard(&self) -> Instant {
        self.started + Duration::from_millis(self.last_heard_ms.load(Ordering::Relaxed))
    }
}

struct Writer {
    stream: TcpStream,
    rx: Queue,
    /// Held while the socket lives; dropping it unregisters the socket from the hub.
    subscription: Subscription,
    link: Arc<Link>,
    /// Disconnected when the reader has finished.
    done: Receiver<()>,
    /// The newest seq this socket has been sent (or has no business seeing).
    sent: i64,
    ping_every: Duration,
    idle: Duration,
}

impl Writer {
    fn run(mut self) {
        let sub = self.subscription.sub.clone();
        let why = self.serve(&sub);
        if why.code.is_sent() {
            // Best effort: a client that stopped reading cannot take it anyway.
            let _ = self.stream.write_all(&frame::close(why.code.code(), &why.reason));
        }
        let _ = self.stream.shutdown(Shutdown::Write);
        // Let the reader collect the client's close reply, then end the connection.
        let _ = self.done.recv_timeout(CLOSE_GRACE);
        let _ = self.stream.shutdown(Shutdown::Both);
        log::info!("ws {} closed: {} {}", sub.id, why.code, why.reason);
    }

    /// Sends until a close is asked for or the connection fails; returns how to close.
    fn serve(&mut self, sub: &Subscriber) -> Close {
        let mut next_ping = Instant::now() + self.ping_every;
        loop {
            if let Some(why) = sub.closing() {
                return why;
            }
            let now = Instant::now();
            let idle_at = self.link.last_heard() + self.idle;
            if now >= idle_at {
                return Close::new(CloseCode::GoingAway, "no answer from the client; reconnect");
            }
            if now >= next_ping {
                if self.write(&frame::ping()).is_err() {
                    return gone();
                }
                next_ping = now + self.ping_every;
                continue;
            }
            let frame = match self.rx.recv_timeout(next_ping.min(idle_at) - now) {
                Ok(Out::Event { seq, frame }) => {
                    if seq <= self.sent {
                        continue; // covered by initial_data or the replay
                    }
                    self.sent = seq;
                    self.write(&frame)
                }
                Ok(Out::Frame(f)) => self.write(&f),
                Ok(Out::Wake) | Err(RecvTimeoutError::Timeout) => Ok(()),
                Err(RecvTimeoutError::Disconnected) => return gone(),
            };
            if frame.is_err() {
                return gone();
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }
}

fn gone() -> Close {
    Close::new(CloseCode::Gone, "connection lost")
}

/// The reader's view of the socket: reads from the stream; writes (tungstenite's
/// automatic pong and close replies) are discarded, since the writer thread sends
/// those itself and must be the only one writing.
struct ReadHalf(TcpStream);

impl Read for ReadHalf {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for ReadHalf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads client messages until the socket closes.
fn read_loop(ws: &mut WebSocket<ReadHalf>, sub: &Subscriber, link: &Link) {
    use tungstenite::{Error, Message};
    let mut flood = Flood { since: Instant::now(), count: 0 };
    loop {
        let msg = match ws.read() {
            Ok(m) => m,
            Err(Error::Io(e)) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                if sub.closing().is_some() {
                    return;
                }
                continue; // the writer decides when silence is too long
            }
            Err(Error::ConnectionClosed | Error::AlreadyClosed) => return sub.close(gone()),
            Err(Error::Capacity(_)) => {
                return close_and_drain(ws, sub, CloseCode::TooBig, "message too big; the limit is 64 KiB")
            }
            Err(Error::Utf8(_)) => {
                return close_and_drain(ws, sub, CloseCode::InvalidData, "text message is not valid UTF-8")
            }
            Err(Error::Protocol(_)) => {
                return close_and_drain(ws, sub, CloseCode::Protocol, "WebSocket protocol error")
            }
            Err(_) => return sub.close(gone()),
        };
        link.heard();
        if matches!(msg, Message::Text(_) | Message::Binary(_) | Message::Ping(_)) && flood.hit() {
            return close_and_drain(ws, sub, CloseCode::Policy, "too many messages; slow down");
        }
        match msg {
            Message::Text(t) => sub.send(Out::Frame(answer(&t))),
            Message::Binary(_) => sub.send(Out::Frame(error("Binary messages are not supported; send JSON text."))),
            Message::Ping(p) => sub.send(Out::Frame(frame::pong(&p))),
            // The client closes: answer with a normal close; tungstenite reports
            // ConnectionClosed on the next read.
            Message::Close(_) => sub.close(Close::new(CloseCode::Normal, "")),
            Message::Pong(_) | Message::Frame(_) => {}
        }
    }
}

/// Asks the writer to close with `code`, then reads and drops what the client still
/// sends for a moment, so the close does not reset the connection under unread bytes
/// (which could lose the close frame on the way to the client).
fn close_and_drain(ws: &mut WebSocket<ReadHalf>, sub: &Subscriber, code: CloseCode, reason: &str) {
    sub.close(Close::new(code, reason));
    drain(&mut ws.get_mut().0, Duration::from_secs(1));
}

/// Reads and discards until EOF or `limit`.
pub(super) fn drain(stream: &mut TcpStream, limit: Duration) {
    let until = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Counts client messages in a fixed window.
struct Flood {
    since: Instant,
    count: u32,
}

impl Flood {
    /// Counts one message; true when over the limit.
    fn hit(&mut self) -> bool {
        if self.since.elapsed() > FLOOD_WINDOW {
            self.since = Instant::now();
            self.count = 0;
        }
        self.count += 1;
        self.count > FLOOD_MESSAGES
    }
}

/// The answer to a client text message: `heartbeat` → `heartbeat_response`, anything
/// else → `error`.
fn answer(text: &str) -> Vec<u8> {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    match v.get("type").and_then(Value::as_str) {
        Some("heartbeat") => {
            let msg = json!({"type": "heartbeat_response", "timestamp": crate::time::now_iso()});
            frame::text(msg.to_string().as_bytes())
        }
        Some(_) => error("Unknown message type; the server only accepts {\"type\": \"heartbeat\"}."),
        None => error("Messages must be JSON objects with a \"type\", e.g. {\"type\": \"heartbeat\"}."),
    }
}

fn error(message: &str) -> Vec<u8> {
    let msg = json!({"type": "error", "timestamp": crate::time::now_iso(), "message": message});
    frame::text(msg.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::store::Store;

    fn principal(app: &App, name: &str, role: &str) -> Principal {
        let user = crate::scheduling::booking::fixture::user(&app.store, name, role);
        Principal { user, digest: format!("d-{name}"), expiry: "2999-01-01T00:00:00Z".into() }
    }

    fn appointments(start: &Start) -> Value {
        let f = &start.frames[0];
        let header = match f[1] {
            126 => 4,
            127 => 10,
            _ => 2,
        };
        let v: Value = serde_json::from_slice(&f[header..]).unwrap();
        assert_eq!(v["type"], "initial_data");
        v["appointments"].clone()
    }

    /// Two operators at the same seq share the board's bytes; a write makes a new one.
    #[test]
    fn operators_share_one_cached_board_until_a_write() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::new(Settings::default(), Store::open(&dir.path().join("t.db")).unwrap()).unwrap();
        let (a, b) = (principal(&app, "olga", "operator"), principal(&app, "omar", "operator"));
        let t = principal(&app, "tess", "therapist");
        app.store
            .write(|tx| {
                tx.execute("INSERT INTO clients (first_name, created_at, updated_at) VALUES ('M', 'x', 'x')", [])
            })
            .unwrap();
        let book = |start: &str, end: &str| {
            let body = json!({"client": 1, "therapist": t.user.id, "date": crate::scheduling::visibility::today(),
                "start_time": start, "end_time": end});
            app.store.write(|tx| crate::scheduling::booking::create(tx, &a.user, body.as_object().unwrap())).unwrap();
        };
        book("21:00", "21:30");
        let board_key = || crate::hub::SnapshotKey {
            seq: app.store.read(events::last_seq).unwrap(),
            commits: app.store.commits(),
            day: crate::scheduling::visibility::today(),
        };
        let first = start_frames(&app, &a, 1, None, None).unwrap();
        let cached = app.hub.operators_board().get_or_build(board_key(), || Err(rusqlite::Error::InvalidQuery));
        let cached = cached.expect("the first operator's board is cached");
        let second = start_frames(&app, &b, 2, None, None).unwrap();
        let again = app.hub.operators_board().get_or_build(board_key(), || Err(rusqlite::Error::InvalidQuery));
        assert!(Arc::ptr_eq(&cached, &again.unwrap()), "the second operator reused it");
        assert_eq!(appointments(&first), appointments(&second));
        assert_eq!(appointments(&first)[0]["allowed_actions"], json!(["cancel"]));
        // The therapist's own board has her own actions, not the operators'.
        let hers = start_frames(&app, &t, 3, None, None).unwrap();
        assert_eq!(appointments(&hers)[0]["allowed_actions"], json!(["therapist_confirm", "reject"]));

        book("22:00", "22:30");
        let stale = app.hub.operators_board().get_or_build(board_key(), || Err(rusqlite::Error::InvalidQuery));
        assert!(stale.is_err(), "a write invalidates the board");
        let third = start_frames(&app, &b, 4, None, None).unwrap();
        assert_eq!(appointments(&third).as_array().unwrap().len(), 2);
    }

    /// The hand-built message is the JSON object the socket sent before.
    #[test]
    fn initial_data_has_the_same_members_as_before() {
        let v: Value = serde_json::from_str(&initial_data("[{\"id\":1}]", 7, "ep", true, 12)).unwrap();
        assert_eq!(v["appointments"], json!([{"id": 1}]));
        assert_eq!((v["connection_id"].as_str(), v["epoch"].as_str()), (Some("7"), Some("ep")));
        assert_eq!(
            (v["seq"].as_i64(), v["resync"].as_bool(), v["type"].as_str()),
            (Some(12), Some(true), Some("initial_data"))
        );
        assert!(v["timestamp"].is_string());
        let v: Value = serde_json::from_str(&initial_data("[]", 7, "ep", false, 0)).unwrap();
        assert!(v.get("resync").is_none());
        assert_eq!(v.as_object().unwrap().len(), 6);
    }
}
