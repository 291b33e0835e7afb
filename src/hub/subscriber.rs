//! One live socket as the hub sees it: who it belongs to (for the audience check and
//! revocation), its outbound queue bounded in frames and bytes, and a "close with this
//! code" slot that the socket's writer thread obeys before sending anything else.

use super::Shared;
use crate::ws::CloseCode;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Frames waiting to be written to one socket.
///
/// Bound and slow-subscriber policy: at most `QUEUE_FRAMES` frames and `QUEUE_BYTES`
/// bytes wait per socket (a frame is an `Arc` of shared bytes, so the bytes are mostly
/// those every recipient shares, but a slow socket keeps them alive after the others
/// have written them). When either bound is reached the client is not keeping up: the
/// hub never waits for it, it marks the socket to close with 4008, queues nothing more
/// for it, and the client recovers by reconnecting with `?since=`. So one slow socket
/// never delays the dispatcher or anyone else's events. 1024 frames (~2 MB of typical
/// ~2 KB events) cover a burst of a whole day's bookings or one details edit
/// (`scheduling::details::DETAILS_EVENTS_MAX`). The writer adds the time bounds: a frame
/// that waited `MAX_LAG` (`live::session`) or a write past its deadline (`live::wire`)
/// also means 4008.
///
/// The bound is a counter beside an unbounded `mpsc::channel` rather than a
/// `sync_channel(1024)`: the latter allocates all 1024 slots up front (~40 KiB per socket,
/// 200 MB for 5,000 sockets), the former grows in small blocks only while frames wait.
pub const QUEUE_FRAMES: usize = 1024;
pub const QUEUE_BYTES: usize = 2 * 1024 * 1024;

/// What a socket's writer thread is handed.
pub enum Out {
    /// A change event's frame (shared by all its recipients), its `seq`, so a writer
    /// can skip what it already sent in `initial_data` or a replay, and when it was
    /// queued, so the writer can tell how far behind the client is.
    Event { seq: i64, frame: Arc<[u8]>, queued: Instant },
    /// A frame for this socket alone (heartbeat answer, error, pong).
    Frame(Vec<u8>),
    /// Nothing to send: look at the close slot.
    Wake,
}

impl Out {
    fn bytes(&self) -> usize {
        match self {
            Out::Event { frame, .. } => frame.len(),
            Out::Frame(f) => f.len(),
            Out::Wake => 0,
        }
    }
}

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

/// Frames and bytes in a socket's queue now (see `QUEUE_FRAMES`).
#[derive(Default)]
struct Counts {
    frames: AtomicUsize,
    bytes: AtomicUsize,
}

pub struct Subscriber {
    pub id: u64,
    pub user_id: i64,
    pub is_operator: bool,
    /// The token's stored digest (never the token), to match `session_revoked`.
    pub digest: String,
    queue: Sender<Out>,
    queued: Arc<Counts>,
    /// Set once; the first reason to close wins.
    closing: Mutex<Option<Close>>,
    /// `closing` is set: a cheap check for the hub's hot path.
    closed: AtomicBool,
    /// Events up to this seq are not queued: the socket's start (snapshot or replay)
    /// covers them. Saves the queue when the hub is catching up on a burst.
    covered: AtomicI64,
}

impl Subscriber {
    pub(super) fn new(id: u64, user_id: i64, is_operator: bool, digest: String) -> (Arc<Subscriber>, Queue) {
        let (queue, rx) = mpsc::channel();
        let queued = Arc::new(Counts::default());
        let s = Subscriber {
            id,
            user_id,
            is_operator,
            digest,
            queue,
            queued: queued.clone(),
            closing: Mutex::new(None),
            closed: AtomicBool::new(false),
            covered: AtomicI64::new(0),
        };
        (Arc::new(s), Queue { rx, queued })
    }

    /// Queues an event frame, or closes the socket with 4008 if its queue is full.
    pub fn deliver(&self, seq: i64, frame: &Arc<[u8]>) {
        if seq <= self.covered.load(Ordering::Acquire) {
            return;
        }
        self.send(Out::Event { seq, frame: frame.clone(), queued: Instant::now() });
    }

    /// Queues a frame for this socket alone (same bounds and policy as events). A
    /// closing socket takes nothing more: it will not be written.
    pub fn send(&self, out: Out) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        let n = out.bytes();
        let frames = self.queued.frames.fetch_add(1, Ordering::AcqRel);
        let bytes = self.queued.bytes.fetch_add(n, Ordering::AcqRel);
        if frames >= QUEUE_FRAMES || bytes + n > QUEUE_BYTES {
            self.queued.frames.fetch_sub(1, Ordering::AcqRel);
            self.queued.bytes.fetch_sub(n, Ordering::AcqRel);
            self.close(Close::slow());
        } else if self.queue.send(out).is_err() {
            // The writer is gone.
            self.queued.frames.fetch_sub(1, Ordering::AcqRel);
            self.queued.bytes.fetch_sub(n, Ordering::AcqRel);
        }
    }

    /// Asks the socket to close (the first request wins) and wakes its writer.
    pub fn close(&self, why: Close) {
        {
            let mut c = self.closing.lock().unwrap_or_else(|p| p.into_inner());
            if c.is_some() {
                return;
            }
            *c = Some(why);
            self.closed.store(true, Ordering::Release);
        }
        // Not counted against the bound: at most one per socket, and it must get through.
        self.queued.frames.fetch_add(1, Ordering::AcqRel);
        if self.queue.send(Out::Wake).is_err() {
            self.queued.frames.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// The socket's start covers the events up to `seq`: do not queue them.
    pub fn covered_through(&self, seq: i64) {
        self.covered.fetch_max(seq, Ordering::AcqRel);
    }

    /// The close request, if any.
    pub fn closing(&self) -> Option<Close> {
        if !self.closed.load(Ordering::Acquire) {
            return None;
        }
        self.closing.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The receiving end of a subscriber's queue, owned by the socket's writer.
pub struct Queue {
    rx: Receiver<Out>,
    queued: Arc<Counts>,
}

impl Queue {
    pub fn recv_timeout(&self, wait: Duration) -> Result<Out, RecvTimeoutError> {
        let out = self.rx.recv_timeout(wait)?;
        self.queued.frames.fetch_sub(1, Ordering::AcqRel);
        self.queued.bytes.fetch_sub(out.bytes(), Ordering::AcqRel);
        Ok(out)
    }
}

/// A registered subscriber; unregisters it when dropped.
pub struct Subscription {
    pub(super) shared: Arc<Shared>,
    pub sub: Arc<Subscriber>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.shared.remove(&self.sub);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: usize) -> Arc<[u8]> {
        vec![b'x'; len].into()
    }

    /// Big frames fill the byte bound long before the frame count: 4008, and nothing
    /// more is queued for a closing socket.
    #[test]
    fn the_queue_is_bounded_in_bytes_too() {
        let (s, q) = Subscriber::new(1, 1, true, "d".into());
        let big = frame(64 * 1024);
        let fits = QUEUE_BYTES / big.len();
        for seq in 0..fits as i64 {
            s.deliver(seq + 1, &big);
        }
        assert_eq!(s.closing(), None, "{fits} frames of 64 KiB fit");
        s.deliver(fits as i64 + 1, &big);
        assert_eq!(s.closing().map(|c| c.code), Some(CloseCode::Slow));
        s.deliver(fits as i64 + 2, &frame(10));
        let mut got = 0;
        while let Ok(out) = q.recv_timeout(Duration::from_millis(10)) {
            got += matches!(out, Out::Event { .. }) as usize;
        }
        assert_eq!(got, fits, "nothing was queued after the close");
        assert_eq!((s.queued.frames.load(Ordering::Acquire), s.queued.bytes.load(Ordering::Acquire)), (0, 0));
    }

    /// Events the socket's start covers are not queued at all.
    #[test]
    fn covered_events_are_not_queued() {
        let (s, q) = Subscriber::new(1, 1, true, "d".into());
        s.covered_through(5);
        for seq in 1..=6 {
            s.deliver(seq, &frame(10));
        }
        match q.recv_timeout(Duration::from_millis(10)) {
            Ok(Out::Event { seq, .. }) => assert_eq!(seq, 6),
            _ => panic!("no event 6"),
        }
        assert!(q.recv_timeout(Duration::from_millis(10)).is_err());
    }
}
