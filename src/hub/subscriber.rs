//! One live socket as the hub sees it: who it belongs to (for the audience check and
//! revocation) and its outgoing side (`outbox`: written directly when it can be, queued
//! for a writer thread when not, bounded, with the close request that the writer obeys
//! before sending anything else).

use super::outbox::{Close, Outbox, Started};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Starts a writer thread for a socket whose queue needs one. The live session supplies
/// it (the hub does not know how a socket is written with deadlines and closed).
pub type StartWriter = fn(Arc<Subscriber>);

pub struct Subscriber {
    pub id: u64,
    pub user_id: i64,
    pub is_operator: bool,
    /// The token's stored digest (never the token), to match `session_revoked`.
    pub digest: String,
    outbox: Outbox,
    start_writer: StartWriter,
    /// A close was asked for: a cheap check for the hub's hot path.
    closed: AtomicBool,
}

impl Subscriber {
    /// The caller holds the wire (to send the socket's start) until `Outbox::next`
    /// releases it.
    pub(super) fn new(
        id: u64,
        user_id: i64,
        is_operator: bool,
        digest: String,
        stream: TcpStream,
        start_writer: StartWriter,
    ) -> Arc<Subscriber> {
        let outbox = Outbox::new(stream);
        Arc::new(Subscriber { id, user_id, is_operator, digest, outbox, start_writer, closed: AtomicBool::new(false) })
    }

    /// Sends an event frame now, or queues it; closes the socket with 4008 if its queue
    /// is full.
    pub fn deliver(self: &Arc<Self>, seq: i64, frame: &Arc<[u8]>) {
        if !self.closed.load(Ordering::Acquire) {
            let started = self.outbox.deliver(seq, frame);
            self.started(started);
        }
    }

    /// Sends a frame for this socket alone (same bounds and policy as events).
    pub fn send(self: &Arc<Self>, frame: Vec<u8>) {
        if !self.closed.load(Ordering::Acquire) {
            let started = self.outbox.send(frame);
            self.started(started);
        }
    }

    /// Asks the socket to close (the first request wins).
    pub fn close(self: &Arc<Self>, why: Close) {
        self.closed.store(true, Ordering::Release);
        let started = self.outbox.close(why);
        self.started(started);
    }

    fn started(self: &Arc<Self>, s: Started) {
        if let Started::Writer = s {
            if self.outbox.closing().is_some() {
                self.closed.store(true, Ordering::Release);
            }
            (self.start_writer)(self.clone());
        }
    }

    /// The socket's outgoing side, for the session's threads.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The socket's start covers the events up to `seq`: do not send them.
    pub fn covered_through(&self, seq: i64) {
        self.outbox.covered_through(seq);
    }

    /// The close request, if any.
    pub fn closing(&self) -> Option<Close> {
        self.outbox.closing()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::outbox::{Next, QUEUE_BYTES};
    use super::*;
    use crate::ws::CloseCode;
    use std::net::TcpListener;
    use std::time::Duration;

    /// A connected socket pair: (the server's end, the peer's).
    pub(in crate::hub) fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        (l.accept().unwrap().0, c)
    }

    /// A `StartWriter` for tests that hold the wire themselves.
    pub(in crate::hub) fn no_writer(_: Arc<Subscriber>) {
        panic!("no writer is started while the test holds the wire");
    }

    fn frame(len: usize) -> Arc<[u8]> {
        vec![b'x'; len].into()
    }

    /// Big frames fill the byte bound long before the frame count: 4008, and nothing
    /// more is queued for a closing socket.
    #[test]
    fn the_queue_is_bounded_in_bytes_too() {
        let (server, _peer) = pair();
        let s = Subscriber::new(1, 1, true, "d".into(), server, no_writer);
        let big = frame(64 * 1024);
        let fits = QUEUE_BYTES / big.len();
        for seq in 0..fits as i64 {
            s.deliver(seq + 1, &big);
        }
        assert_eq!(s.closing(), None, "{fits} frames of 64 KiB fit");
        s.deliver(fits as i64 + 1, &big);
        assert_eq!(s.closing().map(|c| c.code), Some(CloseCode::Slow));
        s.deliver(fits as i64 + 2, &frame(10));
        assert_eq!(s.outbox.queued(), (fits, fits * big.len()), "nothing was queued after the close");
    }

    /// Events the socket's start covers are not sent at all, also those queued before
    /// the start knew what it covers.
    #[test]
    fn covered_events_are_not_sent() {
        let (server, _peer) = pair();
        let s = Subscriber::new(1, 1, true, "d".into(), server, no_writer);
        for seq in 1..=3 {
            s.deliver(seq, &frame(10));
        }
        s.covered_through(5);
        for seq in 4..=6 {
            s.deliver(seq, &frame(10));
        }
        assert_eq!(s.outbox.queued().0, 4, "1-3 queued before the start was known, 6 after");
        let Next::Write(chunk) = s.outbox.next(Duration::ZERO) else { panic!("nothing to write") };
        assert_eq!(chunk.len(), 10);
        assert!(matches!(s.outbox.next(Duration::ZERO), Next::Released));
        assert_eq!(s.outbox.queued(), (0, 0));
    }
}
