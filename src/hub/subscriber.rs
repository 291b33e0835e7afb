//! One live socket as the hub sees it: who it belongs to (for the audience check and
//! revocation), its bounded outbound queue, and a "close with this code" slot that the
//! socket's writer thread obeys before sending anything else.

use super::Shared;
use crate::ws::CloseCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Frames waiting to be written to one socket.
///
/// Bound and slow-subscriber policy: at most `QUEUE_FRAMES` frames wait per socket
/// (a frame is an `Arc` of shared bytes, so a full queue costs ~16 KiB, not copies of
/// the messages). When the queue is full the client is not keeping up: the hub never
/// waits for it, it marks the socket to close with 4008, drops what is queued, and the
/// client recovers by reconnecting with `?since=`. So one slow socket never delays the
/// dispatcher or anyone else's events. 1024 covers a burst of a whole day's bookings.
///
/// The bound is a counter beside an unbounded `mpsc::channel` rather than a
/// `sync_channel(1024)`: the latter allocates all 1024 slots up front (~40 KiB per socket,
/// 200 MB for 5,000 sockets), the former grows in small blocks only while frames wait.
pub const QUEUE_FRAMES: usize = 1024;

/// What a socket's writer thread is handed.
pub enum Out {
    /// A change event's frame (shared by all its recipients) and its `seq`, so a writer
    /// can skip what it already sent in `initial_data` or a replay.
    Event { seq: i64, frame: Arc<[u8]> },
    /// A frame for this socket alone (heartbeat answer, error, pong).
    Frame(Vec<u8>),
    /// Nothing to send: look at the close slot.
    Wake,
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
}

pub struct Subscriber {
    pub id: u64,
    pub user_id: i64,
    pub is_operator: bool,
    /// The token's stored digest (never the token), to match `session_revoked`.
    pub digest: String,
    queue: Sender<Out>,
    /// Frames in `queue` now (see `QUEUE_FRAMES`).
    queued: Arc<AtomicUsize>,
    /// Set once; the first reason to close wins.
    closing: Mutex<Option<Close>>,
}

impl Subscriber {
    pub(super) fn new(id: u64, user_id: i64, is_operator: bool, digest: String) -> (Arc<Subscriber>, Queue) {
        let (queue, rx) = mpsc::channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let s =
            Subscriber { id, user_id, is_operator, digest, queue, queued: queued.clone(), closing: Mutex::new(None) };
        (Arc::new(s), Queue { rx, queued })
    }

    /// Queues an event frame, or closes the socket with 4008 if its queue is full.
    pub fn deliver(&self, seq: i64, frame: &Arc<[u8]>) {
        self.send(Out::Event { seq, frame: frame.clone() });
    }

    /// Queues a frame for this socket alone (same bound and policy as events).
    pub fn send(&self, out: Out) {
        if self.queued.fetch_add(1, Ordering::AcqRel) >= QUEUE_FRAMES {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            self.close(Close::new(CloseCode::Slow, "too slow to keep up; reconnect with since"));
        } else if self.queue.send(out).is_err() {
            self.queued.fetch_sub(1, Ordering::AcqRel); // the writer is gone
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
        }
        // Not counted against the bound: at most one per socket, and it must get through.
        self.queued.fetch_add(1, Ordering::AcqRel);
        if self.queue.send(Out::Wake).is_err() {
            self.queued.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// The close request, if any.
    pub fn closing(&self) -> Option<Close> {
        self.closing.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The receiving end of a subscriber's queue, owned by the socket's writer.
pub struct Queue {
    rx: Receiver<Out>,
    queued: Arc<AtomicUsize>,
}

impl Queue {
    pub fn recv_timeout(&self, wait: Duration) -> Result<Out, RecvTimeoutError> {
        let out = self.rx.recv_timeout(wait)?;
        self.queued.fetch_sub(1, Ordering::AcqRel);
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
