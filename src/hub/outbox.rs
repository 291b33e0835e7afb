//! One live socket's outgoing side, shared by every thread that has a frame for it: the
//! hub's dispatcher (change events), the socket's reader (pings, pongs, heartbeat
//! answers) and, only while one is needed, a writer thread.
//!
//! The common case wakes no thread. A frame for a socket that has nothing queued and no
//! thread writing is written at once by whoever produced it, with a non-blocking send
//! (`MSG_DONTWAIT` on that one call: the reader's blocking reads share the socket, so the
//! socket itself stays blocking). Only when the kernel takes part of a frame or none of
//! it, when a close is asked for, or while another thread holds the wire, is a frame
//! queued; the queue is then drained by a writer thread (`StartWriter`, started for it,
//! gone again once the queue has stayed empty for a moment). One thread at a time holds
//! the wire (`State::held`), so frames never interleave and go out in the order they
//! were produced: events in `seq` order.
//!
//! Slow-client policy (close 4008, reconnect with `since`): the queue holds at most
//! `QUEUE_FRAMES` frames and `QUEUE_BYTES` bytes, and an event that waited `MAX_LAG` in
//! it is not sent; the writer adds a deadline per write (`live::wire`).

use crate::ws::CloseCode;
use socket2::SockRef;
use std::collections::VecDeque;
use std::io;
use std::net::TcpStream;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// At most this many frames and bytes wait per socket. A frame is an `Arc` of bytes
/// every recipient shares, but a slow socket keeps them alive after the others have
/// written them. 1024 frames (~2 MB of typical ~2 KB events) cover a burst of a whole
/// day's bookings or one details edit (`scheduling::details::DETAILS_EVENTS_MAX`).
pub const QUEUE_FRAMES: usize = 1024;
pub const QUEUE_BYTES: usize = 2 * 1024 * 1024;
/// An event that waited this long in a socket's queue: its client is that far behind.
pub const MAX_LAG: Duration = Duration::from_secs(10);

/// How a socket should close. `CloseCode::Gone` means "the connection is gone": send no frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    pub code: CloseCode,
    pub reason: String,
}

impl Close {
    pub fn new(code: CloseCode, reason: impl Into<String>) -> Close {
        Close { code, reason: reason.into() }
    }

    /// 4008: the client does not read fast enough.
    pub fn slow() -> Close {
        Close::new(CloseCode::Slow, "too slow to keep up; reconnect with since")
    }
}

/// A frame waiting in the queue.
enum Queued {
    /// A change event's frame (shared by all its recipients), its `seq`, and when it was
    /// queued, so the writer can tell how far behind the client is.
    /// (`queued` is set when it is queued rather than sent at once.)
    Event { seq: i64, frame: Arc<[u8]>, queued: Option<Instant> },
    /// A frame for this socket alone (ping, pong, heartbeat answer, error).
    Own(Vec<u8>),
}

impl Queued {
    /// Notes when an event was queued (the clock is read only for what waits).
    fn stamped(mut self) -> Queued {
        if let Queued::Event { queued, .. } = &mut self {
            *queued = Some(Instant::now());
        }
        self
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Queued::Event { frame, .. } => frame,
            Queued::Own(f) => f,
        }
    }
}

/// Bytes a writer is to write: a queued frame, or the rest of one the kernel took part of.
pub struct Chunk {
    frame: Frame,
    from: usize,
}

enum Frame {
    Shared(Arc<[u8]>),
    Own(Vec<u8>),
}

impl Chunk {
    /// False for the rest of a frame the kernel took part of.
    pub fn starts_a_frame(&self) -> bool {
        self.from == 0
    }

    /// The event frame shared by all its recipients, if this is one.
    #[cfg(test)]
    pub fn shared(&self) -> Option<Arc<[u8]>> {
        match &self.frame {
            Frame::Shared(f) => Some(f.clone()),
            Frame::Own(_) => None,
        }
    }
}

impl std::ops::Deref for Chunk {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        let all: &[u8] = match &self.frame {
            Frame::Shared(f) => f,
            Frame::Own(f) => f,
        };
        &all[self.from..]
    }
}

/// What the thread holding the wire is to do next (`Outbox::next`).
pub enum Next {
    Write(Chunk),
    /// Perform this close; `rest` is the end of a frame the kernel took only part of
    /// (it goes out first, so the close frame starts where a frame may).
    Close {
        why: Close,
        rest: Vec<u8>,
    },
    /// The queue stayed empty: the wire is free again and the thread no longer holds it.
    Released,
}

/// Whether a producer must start a writer thread (it now holds the wire for it).
#[must_use]
pub(super) enum Started {
    No,
    Writer,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Queued>,
    /// Bytes of the queue's first frame the kernel has already taken.
    head_written: usize,
    bytes: usize,
    /// A thread holds the wire: the session while it sends the start, or a writer.
    held: bool,
    /// Events up to this seq are not sent: the socket's start covered them.
    covered: i64,
    /// Set once; the first reason to close wins.
    closing: Option<Close>,
    /// The reader has stopped reading (a closing writer waits for it: the reader
    /// collects the client's close reply meanwhile).
    reader_done: bool,
    /// The close has been performed; the connection is finished.
    ended: bool,
}

pub struct Outbox {
    /// The socket's one handle while it lives: producers' non-blocking sends, the
    /// reader's reads, and (cloned while they write) the start's and writers' writes.
    stream: TcpStream,
    state: Mutex<State>,
    changed: Condvar,
}

impl Outbox {
    /// The thread that creates it holds the wire (to send the socket's start).
    pub(super) fn new(stream: TcpStream) -> Outbox {
        Outbox { stream, state: Mutex::new(State { held: true, ..State::default() }), changed: Condvar::new() }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The socket, for the session's reader (and writers, to clone).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    pub(super) fn deliver(&self, seq: i64, frame: &Arc<[u8]>) -> Started {
        let mut st = self.lock();
        if seq <= st.covered {
            return Started::No;
        }
        self.put(&mut st, Queued::Event { seq, frame: frame.clone(), queued: None })
    }

    pub(super) fn send(&self, frame: Vec<u8>) -> Started {
        let mut st = self.lock();
        self.put(&mut st, Queued::Own(frame))
    }

    /// Writes `q` at once if the wire is free and the kernel takes it all; else queues
    /// it (or what the kernel did not take) for a writer.
    fn put(&self, st: &mut State, q: Queued) -> Started {
        if st.closing.is_some() {
            return Started::No; // a closing socket is written nothing more
        }
        if !st.held {
            match send_now(&self.stream, q.bytes()) {
                Ok(n) if n == q.bytes().len() => return Started::No,
                Ok(n) => {
                    st.head_written = n;
                    st.bytes = q.bytes().len();
                    st.queue.push_back(q.stamped());
                }
                // The writer finds the connection gone and logs it.
                Err(_) => st.closing = Some(Close::new(CloseCode::Gone, "connection lost")),
            }
            st.held = true;
            return Started::Writer;
        }
        let n = q.bytes().len();
        if st.queue.len() >= QUEUE_FRAMES || st.bytes + n > QUEUE_BYTES {
            self.close_locked(st, Close::slow());
        } else {
            st.bytes += n;
            st.queue.push_back(q.stamped());
            self.changed.notify_all();
        }
        Started::No
    }

    /// Asks for a close (the first request wins); a writer performs it.
    pub(super) fn close(&self, why: Close) -> Started {
        let mut st = self.lock();
        if st.closing.is_some() {
            return Started::No;
        }
        self.close_locked(&mut st, why);
        if st.held {
            return Started::No;
        }
        st.held = true;
        Started::Writer
    }

    fn close_locked(&self, st: &mut State, why: Close) {
        if st.closing.is_none() {
            st.closing = Some(why);
        }
        self.changed.notify_all();
    }

    /// Like `close`, for the socket's own reader: true if the caller now holds the wire
    /// and is to perform the close itself (no writer thread is running).
    pub fn close_and_hold(&self, why: Close) -> bool {
        let mut st = self.lock();
        self.close_locked(&mut st, why);
        !std::mem::replace(&mut st.held, true)
    }

    pub fn closing(&self) -> Option<Close> {
        self.lock().closing.clone()
    }

    pub fn covered_through(&self, seq: i64) {
        let mut st = self.lock();
        st.covered = st.covered.max(seq);
    }

    /// For the thread holding the wire: the next bytes to write, the close to perform,
    /// or, once the queue has stayed empty for `linger`, `Released` (the wire is free
    /// again; producers write directly).
    pub fn next(&self, linger: Duration) -> Next {
        let until = Instant::now() + linger;
        let mut st = self.lock();
        loop {
            if let Some(why) = st.closing.clone() {
                let rest = match (st.head_written, st.queue.front()) {
                    (n, Some(q)) if n > 0 => q.bytes()[n..].to_vec(),
                    _ => Vec::new(),
                };
                return Next::Close { why, rest };
            }
            if let Some(q) = st.queue.pop_front() {
                st.bytes -= q.bytes().len();
                let from = std::mem::take(&mut st.head_written);
                // (A frame the kernel took part of is finished whatever it holds.)
                let frame = match q {
                    Queued::Event { seq, .. } if from == 0 && seq <= st.covered => continue,
                    Queued::Event { queued: Some(at), .. } if from == 0 && at.elapsed() > MAX_LAG => {
                        self.close_locked(&mut st, Close::slow());
                        continue;
                    }
                    Queued::Event { frame, .. } => Frame::Shared(frame),
                    Queued::Own(f) => Frame::Own(f),
                };
                return Next::Write(Chunk { frame, from });
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                st.held = false;
                return Next::Released;
            }
            st = self.changed.wait_timeout(st, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// The reader has stopped reading.
    pub fn reader_done(&self) {
        self.lock().reader_done = true;
        self.changed.notify_all();
    }

    /// Waits up to `limit` for the reader to stop (a closing writer's grace for the
    /// client's close reply).
    pub fn wait_reader_done(&self, limit: Duration) {
        self.wait_for(limit, |st| st.reader_done);
    }

    /// The close has been performed.
    pub fn set_ended(&self) {
        self.lock().ended = true;
        self.changed.notify_all();
    }

    /// Waits up to `limit` for the close to be performed.
    pub fn wait_ended(&self, limit: Duration) {
        self.wait_for(limit, |st| st.ended);
    }

    fn wait_for(&self, limit: Duration, done: impl Fn(&State) -> bool) {
        let st = self.lock();
        let _ = self.changed.wait_timeout_while(st, limit, |st| !done(st));
    }

    #[cfg(test)]
    pub(super) fn queued(&self) -> (usize, usize) {
        let st = self.lock();
        (st.queue.len(), st.bytes)
    }
}

/// One non-blocking send: the bytes the kernel took (0 when its buffer is full), or an
/// error if the connection failed.
fn send_now(stream: &TcpStream, bytes: &[u8]) -> io::Result<usize> {
    loop {
        match SockRef::from(stream).send_with_flags(bytes, libc::MSG_DONTWAIT) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
            r => return r,
        }
    }
}
