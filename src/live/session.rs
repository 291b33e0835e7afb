//! One authenticated socket, from subscription to close.
//!
//! Every byte on the wire is written by one thread at a time, whichever holds it
//! (`hub::Outbox`):
//! - this (the connection's) thread subscribes, holds the wire to send the start
//!   (`initial_data`, or the replay of a resume) and what queued meanwhile, releases it,
//!   and becomes the **reader**: it owns a tungstenite `WebSocket` over a read-only
//!   handle, answers heartbeats and pings, pings the client and ends a silent one, and
//!   turns a close, an over-size message or a flood into a close;
//! - with the wire free, the hub's dispatcher writes each event straight into the socket
//!   without waiting, and the reader its own frames; no other thread is woken;
//! - a **writer** thread (`start_writer`) is started only when the kernel did not take a
//!   whole frame, or to perform a close the hub asked for; it writes what queued and
//!   ends once the queue has stayed empty for `LINGER`.
//!
//! Blocking writes go through `wire::Wire` (a small kernel send buffer, a deadline per
//! frame or batch): a client that does not read is closed with 4008 within the deadline
//! (`wire::WRITE_DEADLINE`), its close frame still queued behind what it has not read.
//! A replay is read and written in batches (`REPLAY_BATCH` events, `REPLAY_FLUSH`
//! bytes), so a resumer holds one batch, however far back it resumes.
//!
//! No gap, no duplicate: the socket subscribes first, so live events queue up; then one
//! read transaction yields the snapshot, or, for a resume, the log's last `seq` S and the
//! check that every event after `since` is still in the log; the replay then reads
//! (`since`, S] batch by batch (logged events never change and their seqs have no
//! holes; only pruning removes them, so a seq that does not follow the previous one by
//! one means pruning overtook the replay, and a fresh `initial_data` with `resync`
//! follows). Queued events with seq <= S (or the fresh snapshot's seq) are then skipped.

use super::wire::{deadline_for, Stall, Wire};
use crate::app::App;
use crate::app::ConnSlot;
use crate::auth::Principal;
use crate::events;
use crate::hub::{Close, Next, Refused, Subscriber, Subscription};
use crate::store::users::User;
use crate::ws::{frame, CloseCode};
use rusqlite::Connection;
use serde_json::{json, Value};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tungstenite::error::ProtocolError;
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::WebSocket;

/// Inbound messages (and frames) over this are refused with 1009: clients only send
/// heartbeats, so 64 KiB is generous.
const MAX_INBOUND: usize = 64 * 1024;
/// More than `FLOOD_FRAMES` frames within `FLOOD_WINDOW` → close 1008. Every frame
/// counts (messages, pings, pongs, close, each fragment): a browser sends a heartbeat
/// and a pong every ~25 s; 50 in 10 s is a broken or hostile client.
const FLOOD_FRAMES: usize = 50;
const FLOOD_WINDOW: Duration = Duration::from_secs(10);
/// A resume may replay at most this many events; further behind, a fresh
/// `initial_data` is smaller and faster.
const MAX_REPLAY: i64 = 10_000;
/// Events read from the log per query during a replay.
const REPLAY_BATCH: usize = 64;
/// Replay frames are written once this many bytes have been framed.
const REPLAY_FLUSH: usize = 64 * 1024;
/// The reader's buffer: clients send only small heartbeats, and tungstenite zero-fills
/// the whole buffer, so a small one keeps 5,000 idle sockets cheap (it grows for a
/// larger message, up to `MAX_INBOUND`).
const READ_BUFFER: usize = 512;
/// The writer's and the reader's stacks: they only move bytes and parse heartbeats.
/// Only the pages touched count toward memory use (a few KiB each).
const WRITER_STACK: usize = 128 * 1024;
const READER_STACK: usize = 128 * 1024;
/// A writer thread whose queue stays empty this long ends; the wire is free again.
const LINGER: Duration = Duration::from_secs(1);
/// The reader waits at most this long for a writer thread to perform a close.
const ENDED_WAIT: Duration = Duration::from_secs(10);
/// How long a closing socket waits for the client's close reply.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Runs an authenticated socket until it closes. `resume` is the `since` and `epoch`
/// query parameters, if given; `leftover` what the HTTP layer read past the upgrade
/// request; `slot` the connection's place in the server's count, which the reader keeps.
pub fn run(
    app: &Arc<App>,
    stream: TcpStream,
    resume: Resume,
    who: Principal,
    (leftover, slot): (Vec<u8>, Option<ConnSlot>),
) {
    let user = &who.user;
    // The hub keeps the socket's one handle for its life; this clone writes the start.
    let Ok(start_stream) = stream.try_clone() else {
        return super::close_now(stream, CloseCode::TryAgain, "server busy; try again");
    };
    let token = (who.digest.clone(), who.expiry.clone());
    let subscription = match app.hub.subscribe(user.id, user.is_operator(), token, stream, start_writer) {
        Ok(s) => s,
        Err(Refused::TooManyForUser) => {
            log::warn!("refused a socket of user {}: over the per-user limit", user.username);
            let reason = "too many live connections for this user; close other tabs";
            return super::close_now(start_stream, CloseCode::Policy, reason);
        }
        Err(Refused::ShuttingDown) => {
            return super::close_now(start_stream, CloseCode::GoingAway, "server shutting down; reconnect shortly")
        }
    };
    let sub = subscription.sub.clone();
    let start = match plan(app, user, sub.id, resume.since, resume.epoch) {
        Ok(s) => s,
        Err(e) => {
            log::error!("could not read the start of a live connection: {e}");
            return super::close_now(start_stream, CloseCode::ServerError, "server error; try again");
        }
    };
    sub.covered_through(start.covers());
    log::info!("ws {} open: {} ({}), {}", sub.id, user.username, user.role, start.describe());
    // This thread holds the wire: the start, then what queued meanwhile, then release.
    let mut wire = Wire::new(start_stream);
    let started = send_start(app, user, &sub, &mut wire, start).map(|seq| sub.covered_through(seq));
    if let Some(ended) = started.err().or_else(|| write_queued(&mut wire, &sub, Duration::ZERO)) {
        // No reader runs yet: drain here what the client still sends.
        return end(&mut wire, &sub, ended, || drain(sub.outbox().stream(), CLOSE_GRACE));
    }
    drop(wire);
    let reader = Reader {
        subscription,
        leftover,
        ping_every: Duration::from_secs(app.settings.ws_ping_secs),
        idle: Duration::from_secs(app.settings.ws_idle_secs),
        _slot: slot,
    };
    // The reader gets a fresh small stack: this thread's has the pages that SQLite and
    // the start touched, which would stay resident for the socket's life. (If no thread
    // can be had, the reader is taken back and runs here.)
    let handoff = Arc::new(std::sync::Mutex::new(Some(reader)));
    let theirs = handoff.clone();
    let take = |h: &std::sync::Mutex<Option<Reader>>| h.lock().unwrap_or_else(|p| p.into_inner()).take();
    let spawned = std::thread::Builder::new()
        .name("ws-reader".into())
        .stack_size(READER_STACK)
        .spawn(move || take(&theirs).into_iter().for_each(Reader::run));
    if spawned.is_err() {
        take(&handoff).into_iter().for_each(Reader::run);
    }
}

/// The reading end of a socket whose start has been sent.
struct Reader {
    /// Dropped when the close has been performed: the socket leaves the hub.
    subscription: Subscription,
    leftover: Vec<u8>,
    ping_every: Duration,
    idle: Duration,
    _slot: Option<ConnSlot>,
}

impl Reader {
    fn run(self) {
        let sub = self.subscription.sub.clone();
        let _ = sub.outbox().stream().set_read_timeout(Some(self.ping_every));
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER)
            .write_buffer_size(0)
            .max_message_size(Some(MAX_INBOUND))
            .max_frame_size(Some(MAX_INBOUND));
        let mut half =
            ReadHalf { sub: sub.clone(), frames: frame::Counter::default(), flood: Flood::new(), flooded: false };
        // What the HTTP layer read past the upgrade request is the first client frames.
        let flooded = half.count(&self.leftover).is_err();
        let mut ws = WebSocket::from_partially_read(half, self.leftover, Role::Server, Some(config));
        let why = if flooded {
            Close::new(CloseCode::Policy, FLOOD_REASON)
        } else {
            let now = Instant::now();
            let mut link = Link { last_heard: now, next_ping: now + self.ping_every, ping_every: self.ping_every };
            read_loop(&mut ws, &sub, &mut link, self.idle)
        };
        finish(&sub, why);
        // Only now, with the close performed, does the socket leave the hub.
        drop(self.subscription);
    }
}

/// Starts a writer thread for `sub` (the `hub::StartWriter` of live sockets): it holds
/// the wire, writes what is queued, and performs a close if one is asked for.
fn start_writer(sub: Arc<Subscriber>) {
    let sub2 = sub.clone();
    let spawned = std::thread::Builder::new().name("ws-writer".into()).stack_size(WRITER_STACK).spawn(move || {
        let sub = sub2;
        let Ok(stream) = sub.outbox().stream().try_clone() else {
            return abandon(&sub);
        };
        let mut wire = Wire::new(stream);
        if let Some(ended) = write_queued(&mut wire, &sub, LINGER) {
            // The reader collects the client's close reply meanwhile.
            end(&mut wire, &sub, ended, || sub.outbox().wait_reader_done(CLOSE_GRACE));
        }
    });
    if let Err(e) = spawned {
        log::warn!("could not start a socket writer: {e}");
        abandon(&sub);
    }
}

/// No writer could be had for a socket whose wire is held for one: drop the connection
/// (its reader then ends, and the client reconnects with `since`).
fn abandon(sub: &Subscriber) {
    let _ = sub.outbox().stream().shutdown(Shutdown::Both);
    sub.outbox().set_ended();
}

/// Writes what is queued until a close is due (returned: how to end) or the queue has
/// stayed empty for `linger` (`None`: the wire is released).
fn write_queued(wire: &mut Wire, sub: &Arc<Subscriber>, linger: Duration) -> Option<Ended> {
    loop {
        match sub.outbox().next(linger) {
            Next::Write(chunk) => {
                if let Err(e) = write_from(wire, sub, &chunk, chunk.starts_a_frame()) {
                    return Some(e);
                }
            }
            Next::Close { why, rest } => return Some(Ended { why, rest }),
            Next::Released => return None,
        }
    }
}

/// The reader has stopped (`why`, unless a close was asked for first). If no writer
/// holds the wire, this thread performs the close, reading the client's reply; else it
/// reads for a moment (so the close does not reset the connection under unread bytes,
/// which could lose the close frame), tells the writer, and waits for it to finish.
fn finish(sub: &Arc<Subscriber>, why: Close) {
    let stream = sub.outbox().stream();
    if sub.outbox().close_and_hold(why) {
        let ended = Ended::now(sub.closing().unwrap_or_else(gone));
        match stream.try_clone() {
            Ok(s) => end(&mut Wire::new(s), sub, ended, || drain(stream, CLOSE_GRACE)),
            Err(_) => abandon(sub),
        }
        return;
    }
    drain(stream, CLOSE_GRACE);
    sub.outbox().reader_done();
    sub.outbox().wait_ended(ENDED_WAIT);
}

/// `?since=&epoch=` of the upgrade request.
pub struct Resume {
    pub since: Option<String>,
    pub epoch: Option<String>,
}

/// What a new socket is sent first.
enum Start {
    Snapshot(Snapshot),
    /// Every event after `since` up to `last`, which this user may see.
    Replay {
        since: i64,
        last: i64,
    },
}

/// An `initial_data` frame and the log position it reflects.
struct Snapshot {
    frame: Vec<u8>,
    seq: i64,
    resync: bool,
}

impl Start {
    /// The newest seq the start sends or has no business sending.
    fn covers(&self) -> i64 {
        match self {
            Start::Snapshot(s) => s.seq,
            Start::Replay { last, .. } => *last,
        }
    }

    fn describe(&self) -> String {
        match self {
            Start::Snapshot(s) => format!("initial_data at seq {}{}", s.seq, if s.resync { " (resync)" } else { "" }),
            Start::Replay { since, last } => format!("resuming after seq {since}, replaying up to {last}"),
        }
    }
}

/// Subscribed already; decides in ONE read transaction between a replay and a snapshot,
/// and reads the snapshot in it. Each appointment carries this user's
/// `allowed_actions`; operators at the same point of the log on the same day share one
/// serialised board (`hub::OperatorSnapshot`).
fn plan(app: &App, user: &User, id: u64, since: Option<String>, epoch: Option<String>) -> rusqlite::Result<Start> {
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
            return Ok(Start::Replay { since: s, last });
        }
        let board = Board { commits, today: &today, seq: last, epoch: &current_epoch };
        Ok(Start::Snapshot(snapshot_in(app, &tx, user, id, since.is_some(), board)?))
    })
}

/// Where in the log, and on which day, a snapshot is read.
struct Board<'a> {
    commits: u64,
    today: &'a str,
    seq: i64,
    epoch: &'a str,
}

/// The `initial_data` frame read in `tx`.
fn snapshot_in(app: &App, tx: &Connection, user: &User, id: u64, resync: bool, b: Board) -> rusqlite::Result<Snapshot> {
    let board = || crate::scheduling::initial_rest_json(tx, user, b.today);
    let appointments: Arc<str> = if user.is_operator() {
        let key = crate::hub::SnapshotKey { seq: b.seq, commits: b.commits, day: b.today.to_string() };
        app.hub.operators_board().get_or_build(key, board)?
    } else {
        board()?.into()
    };
    let msg = initial_data(&appointments, id, b.epoch, resync, b.seq);
    Ok(Snapshot { frame: frame::text(msg.as_bytes()), seq: b.seq, resync })
}

/// A fresh snapshot in its own read transaction (a replay that pruning overtook).
fn fresh_snapshot(app: &App, user: &User, id: u64) -> rusqlite::Result<Snapshot> {
    let commits = app.store.commits();
    let today = crate::scheduling::visibility::today();
    app.store.read(|c| {
        let tx = c.unchecked_transaction()?;
        let (seq, epoch) = (events::last_seq(&tx)?, crate::store::migrate::epoch(&tx)?);
        snapshot_in(app, &tx, user, id, true, Board { commits, today: &today, seq, epoch: &epoch })
    })
}

/// Why sending stopped: how to close, and the unwritten end of a buffer a stalled
/// write was cut in (empty when the stream stopped between frames).
struct Ended {
    why: Close,
    rest: Vec<u8>,
}

impl Ended {
    fn now(why: Close) -> Ended {
        Ended { why, rest: Vec::new() }
    }
}

/// Writes `bytes` (whole frames) within their deadline (`wire::deadline_for`), stopping
/// early if a close is asked for. A stall is this client's 4008, unless another close was
/// asked for first.
fn write_out(wire: &mut Wire, sub: &Arc<Subscriber>, bytes: &[u8]) -> Result<(), Ended> {
    write_from(wire, sub, bytes, true)
}

/// `write_out` for bytes that may begin inside a frame (`frame_start` false): if none of
/// them goes out, they are all the rest that must precede a close frame.
fn write_from(wire: &mut Wire, sub: &Arc<Subscriber>, bytes: &[u8], frame_start: bool) -> Result<(), Ended> {
    wire.write(bytes, deadline_for(bytes.len()), &|| sub.closing().is_some()).map_err(|stall| match stall {
        // A close decided before the connection failed is what happened; else 1006.
        Stall::Gone => Ended::now(sub.closing().unwrap_or_else(gone)),
        Stall::Stopped { written } => {
            sub.close(Close::slow());
            let why = sub.closing().unwrap_or_else(Close::slow);
            let cut = written > 0 || !frame_start;
            Ended { why, rest: if cut { bytes[written..].to_vec() } else { Vec::new() } }
        }
    })
}

/// Sends the start; returns the seq it covers.
fn send_start(app: &App, user: &User, sub: &Arc<Subscriber>, wire: &mut Wire, start: Start) -> Result<i64, Ended> {
    match start {
        Start::Snapshot(s) => write_out(wire, sub, &s.frame).map(|_| s.seq),
        Start::Replay { since, last } => replay(app, user, sub, wire, since, last),
    }
}

/// Reads the events after `since` up to `last` in batches and writes those this user
/// may see as it goes; at most one batch and `REPLAY_FLUSH` bytes of frames are held.
fn replay(app: &App, user: &User, sub: &Arc<Subscriber>, wire: &mut Wire, since: i64, last: i64) -> Result<i64, Ended> {
    let failed = |e: rusqlite::Error| {
        log::error!("could not read the events a live connection missed: {e}");
        Ended::now(Close::new(CloseCode::ServerError, "server error; try again"))
    };
    let (mut after, mut replayed) = (since, 0usize);
    let mut out = Vec::new();
    while after < last {
        if let Some(why) = sub.closing() {
            return Err(Ended::now(why));
        }
        let evs = app.store.read(|c| events::after(c, after, REPLAY_BATCH)).map_err(failed)?;
        if evs.is_empty() {
            return resync(app, user, sub, wire, &out, after);
        }
        for e in evs.iter().take_while(|e| e.seq <= last) {
            if e.seq != after + 1 {
                return resync(app, user, sub, wire, &out, after);
            }
            after = e.seq;
            if !e.is_internal() && e.audience.includes(user.id, user.is_operator()) {
                frame::append_text(&mut out, e.message_for(user.id, user.is_operator()).as_bytes());
                replayed += 1;
                if out.len() >= REPLAY_FLUSH {
                    write_out(wire, sub, &out)?;
                    out.clear();
                }
            }
        }
    }
    write_out(wire, sub, &out)?;
    log::debug!("ws {} replayed {replayed} events after seq {since} up to {last}", sub.id);
    Ok(last)
}

/// Events after `after` are missing (pruning overtook the replay): what is framed in
/// `out` goes out, then a fresh `initial_data` with `resync`; returns its seq.
fn resync(
    app: &App,
    user: &User,
    sub: &Arc<Subscriber>,
    wire: &mut Wire,
    out: &[u8],
    after: i64,
) -> Result<i64, Ended> {
    write_out(wire, sub, out)?;
    log::info!("ws {} replay: events after seq {after} were pruned meanwhile; sending initial_data", sub.id);
    let s = fresh_snapshot(app, user, sub.id).map_err(|e| {
        log::error!("could not read the start of a live connection: {e}");
        Ended::now(Close::new(CloseCode::ServerError, "server error; try again"))
    })?;
    write_out(wire, sub, &s.frame)?;
    Ok(s.seq)
}

/// Ends the connection: the close frame if the code has one (with `Wire::close`'s room
/// for it), then `wait_for_reply` (the client's close reply is read meanwhile), then the
/// connection is shut; logged with the code, whether or not its frame could be sent.
fn end(wire: &mut Wire, sub: &Subscriber, ended: Ended, wait_for_reply: impl FnOnce()) {
    let Ended { why, rest } = ended;
    let mut note = "";
    if why.code.is_sent() && !wire.close(&rest, &frame::close(why.code.code(), &why.reason)) {
        note = " (the client does not read; its connection was dropped without the close frame)";
    }
    wire.shutdown(Shutdown::Write);
    wait_for_reply();
    wire.shutdown(Shutdown::Both);
    sub.outbox().set_ended();
    log::info!("ws {} closed: {} {}{note}", sub.id, why.code, why.reason);
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

/// The reader's clock: when the client was last heard from and when to ping it next.
struct Link {
    last_heard: Instant,
    next_ping: Instant,
    ping_every: Duration,
}

fn gone() -> Close {
    Close::new(CloseCode::Gone, "connection lost")
}

const FLOOD_REASON: &str = "too many messages; slow down";

/// The reader's view of the socket: reads from the stream, counting every frame that
/// begins in what it reads (a read fails once they are a flood); writes (tungstenite's
/// automatic pong and close replies) are discarded, since the writer thread sends
/// those itself and must be the only one writing.
struct ReadHalf {
    /// Read through the hub's handle of the socket (`Outbox::stream`).
    sub: Arc<Subscriber>,
    frames: frame::Counter,
    flood: Flood,
    /// The reads failed because of a flood.
    flooded: bool,
}

impl ReadHalf {
    fn count(&mut self, bytes: &[u8]) -> io::Result<()> {
        let frames = self.frames.feed(bytes);
        if frames > 0 && self.flood.hit(frames) {
            self.flooded = true;
            return Err(io::Error::other("message flood"));
        }
        Ok(())
    }
}

impl Read for ReadHalf {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.flooded {
            return Err(io::Error::other("message flood"));
        }
        let n = self.sub.outbox().stream().read(buf)?;
        self.count(&buf[..n])?;
        Ok(n)
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

/// Reads client messages until the socket is to close; returns why. Pings the client
/// every `ping_every` and ends a client silent for `idle`.
fn read_loop(ws: &mut WebSocket<ReadHalf>, sub: &Arc<Subscriber>, link: &mut Link, idle: Duration) -> Close {
    use tungstenite::{Error, Message};
    loop {
        let msg = match ws.read() {
            Ok(m) => m,
            Err(Error::Io(_)) if ws.get_ref().flooded => return Close::new(CloseCode::Policy, FLOOD_REASON),
            // (A signal may interrupt a read: that is not the client's doing.)
            Err(Error::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) =>
            {
                if let Some(why) = sub.closing() {
                    return why;
                }
                let now = Instant::now();
                let idle_at = link.last_heard + idle;
                if now >= idle_at {
                    return Close::new(CloseCode::GoingAway, "no answer from the client; reconnect");
                }
                if now >= link.next_ping {
                    sub.send(frame::ping());
                    link.next_ping = now + link.ping_every;
                }
                let wait = link.next_ping.min(idle_at).saturating_duration_since(now);
                let _ = sub.outbox().stream().set_read_timeout(Some(wait.max(Duration::from_millis(1))));
                continue;
            }
            // The TCP connection ended without a close frame: 1006, not a protocol error.
            Err(Error::ConnectionClosed | Error::AlreadyClosed)
            | Err(Error::Protocol(ProtocolError::ResetWithoutClosingHandshake)) => return gone(),
            Err(Error::Capacity(_)) => return Close::new(CloseCode::TooBig, "message too big; the limit is 64 KiB"),
            Err(Error::Utf8(_)) => return Close::new(CloseCode::InvalidData, "text message is not valid UTF-8"),
            Err(Error::Protocol(_)) => return Close::new(CloseCode::Protocol, "WebSocket protocol error"),
            Err(_) => return gone(),
        };
        link.last_heard = Instant::now();
        match msg {
            Message::Text(t) => sub.send(answer(&t)),
            Message::Binary(_) => sub.send(error("Binary messages are not supported; send JSON text.")),
            Message::Ping(p) => sub.send(frame::pong(&p)),
            // The client closes: answer with a normal close.
            Message::Close(_) => return Close::new(CloseCode::Normal, ""),
            Message::Pong(_) | Message::Frame(_) => {}
        }
    }
}

/// Reads and discards until EOF or `limit`.
pub(super) fn drain(stream: &TcpStream, limit: Duration) {
    let mut stream = stream;
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

/// Counts client frames in a fixed window.
struct Flood {
    since: Instant,
    count: usize,
}

impl Flood {
    fn new() -> Flood {
        Flood { since: Instant::now(), count: 0 }
    }

    /// Counts `n` frames; true when over the limit.
    fn hit(&mut self, n: usize) -> bool {
        if self.since.elapsed() > FLOOD_WINDOW {
            self.since = Instant::now();
            self.count = 0;
        }
        self.count += n;
        self.count > FLOOD_FRAMES
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

    fn start_frames(app: &App, who: &Principal, id: u64, since: Option<String>, epoch: Option<String>) -> Start {
        plan(app, &who.user, id, since, epoch).unwrap()
    }

    fn appointments(start: &Start) -> Value {
        let Start::Snapshot(s) = start else { panic!("not a snapshot") };
        let f = &s.frame;
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
        let first = start_frames(&app, &a, 1, None, None);
        let cached = app.hub.operators_board().get_or_build(board_key(), || Err(rusqlite::Error::InvalidQuery));
        let cached = cached.expect("the first operator's board is cached");
        let second = start_frames(&app, &b, 2, None, None);
        let again = app.hub.operators_board().get_or_build(board_key(), || Err(rusqlite::Error::InvalidQuery));
        assert!(Arc::ptr_eq(&cached, &again.unwrap()), "the second operator reused it");
        assert_eq!(appointments(&first), appointments(&second));
        assert_eq!(appointments(&first)[0]["allowed_actions"], json!(["cancel"]));
        // The therapist's own board has her own actions, not the operators'.
        let hers = start_frames(&app, &t, 3, None, None);
        assert_eq!(appointments(&hers)[0]["allowed_actions"], json!(["therapist_confirm", "reject"]));

        book("22:00", "22:30");
        let stale = app.hub.operators_board().get_or_build(board_key(), || Err(rusqlite::Error::InvalidQuery));
        assert!(stale.is_err(), "a write invalidates the board");
        let third = start_frames(&app, &b, 4, None, None);
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

    /// `n` operator events; returns their seqs.
    fn events(app: &App, n: usize) -> Vec<i64> {
        use crate::events::{Audience, EventDraft, APPOINTMENT_UPDATED};
        let draft = |i: usize| EventDraft {
            kind: APPOINTMENT_UPDATED,
            appointment_id: Some(i as i64),
            audience: Audience::operators_and([]),
            payload: json!({"appointment": {"id": i, "notes": "x".repeat(900)}, "updated_fields": ["notes"]}),
        };
        app.store.write(|tx| (0..n).map(|i| tx.emit(draft(i))).collect::<rusqlite::Result<Vec<i64>>>()).unwrap()
    }

    /// Runs `replay` to a local peer that reads everything; returns the seq it
    /// covers and the messages the peer got.
    fn replay_to_peer(app: &App, who: &Principal, since: i64, last: i64) -> (i64, Vec<Value>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (server, _) = l.accept().unwrap();
        let reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            (&peer).read_to_end(&mut bytes).unwrap();
            bytes
        });
        let token = (who.digest.clone(), who.expiry.clone());
        let subscription =
            app.hub.subscribe(who.user.id, true, token, server.try_clone().unwrap(), start_writer).unwrap();
        let mut wire = Wire::new(server);
        let covered = replay(app, &who.user, &subscription.sub, &mut wire, since, last).ok().expect("replay failed");
        wire.shutdown(Shutdown::Both);
        drop(wire);
        let bytes = reader.join().unwrap();
        let mut msgs = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let (len, head) = match bytes[i + 1] {
                126 => (u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize, 4),
                127 => (u64::from_be_bytes(bytes[i + 2..i + 10].try_into().unwrap()) as usize, 10),
                n => (n as usize, 2),
            };
            msgs.push(serde_json::from_slice(&bytes[i + head..i + head + len]).unwrap());
            i += head + len;
        }
        (covered, msgs)
    }

    /// Many batches, every event once and in order, and no more than up to `last`.
    #[test]
    fn a_replay_sends_every_event_in_order_across_batches() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::new(Settings::default(), Store::open(&dir.path().join("t.db")).unwrap()).unwrap();
        let op = principal(&app, "olga", "operator");
        let seqs = events(&app, 5 * REPLAY_BATCH + 7);
        let (since, last) = (seqs[2], seqs[seqs.len() - 3]);
        let (covered, msgs) = replay_to_peer(&app, &op, since, last);
        assert_eq!(covered, last);
        let got: Vec<i64> = msgs.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
        assert_eq!(got, seqs[3..seqs.len() - 2].to_vec());
        assert!(msgs.iter().all(|m| m["type"] == "appointment_updated"));
    }

    /// Pruning that overtakes a replay (events after `since` gone since the plan was
    /// made): what was sent stands, and an `initial_data` with `resync` follows. (Here
    /// a middle range goes, so the check must not only look at a batch's first event.)
    #[test]
    fn a_replay_overtaken_by_pruning_ends_with_a_resync() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::new(Settings::default(), Store::open(&dir.path().join("t.db")).unwrap()).unwrap();
        let op = principal(&app, "olga", "operator");
        let seqs = events(&app, 3 * REPLAY_BATCH);
        let cut = seqs[REPLAY_BATCH + 10];
        app.store.write(|tx| tx.execute("DELETE FROM events WHERE seq > ?1 AND seq <= ?2", [seqs[5], cut])).unwrap();
        let last = *seqs.last().unwrap();
        let (covered, msgs) = replay_to_peer(&app, &op, seqs[0], last);
        let got: Vec<i64> =
            msgs.iter().filter_map(|m| m["seq"].as_i64().filter(|_| m["type"] != "initial_data")).collect();
        assert_eq!(got, seqs[1..=5].to_vec(), "the events still there before the gap");
        let end = msgs.last().unwrap();
        assert_eq!((end["type"].as_str(), end["resync"].as_bool()), (Some("initial_data"), Some(true)), "{end}");
        assert_eq!((covered, end["seq"].as_i64()), (last, Some(last)));
    }
}
