//! One live socket as the hub sees it: who it belongs to (for the audience check and
//! revocation), its bounded outbound queue, and a "close with this code" slot that the
//! socket's writer thread obeys before sending anything else.

use super::{Shared, CLOSE_SLOW};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

/// Frames waiting to be written to one socket.
///
/// Bound and slow-subscriber policy: at most `QUEUE_FRAMES` frames wait per socket
/// (a frame is an `Arc` of shared bytes, so a full queue costs ~16 KiB, not copies of
/// the messages). When the queue is full the client is not keeping up: the hub never
/// waits for it, it marks the socket to close with 4008, drops what is queued, and the
/// client recovers by reconnecting with `?since=`. So one slow socket never delays the
/// dispatcher or anyone else's events. 1024 covers a burst of a whole day's bookings.
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

/// How a socket should close. Code 1006 means "the connection is gone": send no frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: String,
}

impl Close {
    pub fn new(code: u16, reason: impl Into<String>) -> Close {
        Close { code, reason: reason.into() }
    }
}

pub struct Subscriber {
    pub id: u64,
    pub user_id: i64,
    pub is_operator: bool,
    /// The token's stored digest (never the token), to match `session_revoked`.
    pub digest: String,
    /// The token's expiry as last read; refreshed by the hub's expiry check.
    expiry: Mutex<String>,
    queue: SyncSender<Out>,
    /// Set once; the first reason to close wins.
    closing: Mutex<Option<Close>>,
}

impl Subscriber {
    pub(super) fn new(
        id: u64,
        user_id: i64,
        is_operator: bool,
        digest: String,
        expiry: String,
    ) -> (Arc<Subscriber>, Receiver<Out>) {
        let (queue, rx) = mpsc::sync_channel(QUEUE_FRAMES);
        let s = Subscriber {
            id,
            user_id,
            is_operator,
            digest,
            expiry: Mutex::new(expiry),
            queue,
            closing: Mutex::new(None),
        };
        (Arc::new(s), rx)
    }

    /// Queues an event frame, or closes the socket with 4008 if its queue is full.
    pub fn deliver(&self, seq: i64, frame: &Arc<[u8]>) {
        self.send(Out::Event { seq, frame: frame.clone() });
    }

    /// Queues a frame for this socket alone (same bound and policy as events).
    pub fn send(&self, out: Out) {
        if let Err(TrySendError::Full(_)) = self.queue.try_send(out) {
            self.close(Close::new(CLOSE_SLOW, "too slow to keep up; reconnect with since"));
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
        // If the queue is full the writer is busy and will see the slot after its write.
        let _ = self.queue.try_send(Out::Wake);
    }

    /// The close request, if any.
    pub fn closing(&self) -> Option<Close> {
        self.closing.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn expiry(&self) -> String {
        self.expiry.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(super) fn set_expiry(&self, e: String) {
        *self.expiry.lock().unwrap_or_else(|p| p.into_inner()) = e;
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
