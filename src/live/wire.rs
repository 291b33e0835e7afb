//! The writing end of a live socket, bounded so that a client that stops reading holds
//! neither a thread nor much memory: a small kernel send buffer (`SEND_BUFFER`; Linux
//! would otherwise grow it to megabytes for a peer that never reads), a deadline for
//! the whole of each frame or batch (`WRITE_DEADLINE`; a socket timeout alone is per
//! `write` call, so a client reading a trickle could hold one frame's write for ever),
//! and a last close frame to such a client with room made for it (`Wire::close`).

use socket2::SockRef;
use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// The kernel send buffer asked for (Linux doubles it, so 128 KiB). A client on the
/// clinic's network empties it in milliseconds; a client that does not read fills it,
/// and then its writes stall and meet the deadline instead of piling up in the kernel.
pub const SEND_BUFFER: usize = 64 * 1024;
/// A frame, or a batch of a replay, not written in this time (plus `MIN_RATE`'s time
/// for its size, see `deadline_for`): the client is not reading, and is closed with
/// 4008 (it reconnects with `since`; nothing is lost).
pub const WRITE_DEADLINE: Duration = Duration::from_secs(5);
/// The slowest reader still served, in bytes per second, so a large `initial_data`
/// reaches a phone on a poor connection.
pub const MIN_RATE: usize = 32 * 1024;
/// The close frame to a client that stopped reading gets this long; then the
/// connection is dropped.
pub const CLOSE_DEADLINE: Duration = Duration::from_secs(1);
/// A stalled write looks this often whether it should stop (a close was asked for).
const SLICE: Duration = Duration::from_millis(200);
/// Most extra send buffer made for the end of a cut frame and the close frame.
const MAX_ROOM: usize = 256 * 1024;

/// Why a write did not complete.
#[derive(Debug, PartialEq, Eq)]
pub enum Stall {
    /// The connection failed (reset, broken pipe).
    Gone,
    /// The deadline passed, or `stop` said so, after `written` bytes.
    Stopped { written: usize },
}

pub struct Wire {
    stream: TcpStream,
    /// The socket's write timeout as last set here (not to set it per write).
    timeout: Option<Duration>,
}

impl Wire {
    /// The stream's send buffer is bounded at once (it may have been a clone of a
    /// stream already bounded by `bound_send_buffer`; that is harmless).
    pub fn new(stream: TcpStream) -> Wire {
        bound_send_buffer(&stream);
        Wire { stream, timeout: None }
    }

    /// Writes all of `bytes` within `limit`, stopping early when `stop()` turns true.
    pub fn write(&mut self, bytes: &[u8], limit: Duration, stop: &dyn Fn() -> bool) -> Result<(), Stall> {
        let deadline = Instant::now() + limit;
        let mut written = 0;
        while written < bytes.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || stop() {
                return Err(Stall::Stopped { written });
            }
            if self.set_timeout(left.min(SLICE)).is_err() {
                return Err(Stall::Gone);
            }
            match self.stream.write(&bytes[written..]) {
                Ok(0) => return Err(Stall::Gone),
                Ok(n) => written += n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => return Err(Stall::Gone),
            }
        }
        Ok(())
    }

    /// Writes the close frame `close` after `rest`, the unwritten end of a buffer a
    /// stalled write was cut in (empty if none), so that the close frame starts where a
    /// frame may. A client that stopped reading has left the send buffer full, so it is
    /// first grown by what these need: the close frame then waits in the kernel, and
    /// the client reads it after what came before, whenever it reads again. Within
    /// `CLOSE_DEADLINE`; returns whether the close frame went out.
    pub fn close(&mut self, rest: &[u8], close: &[u8]) -> bool {
        // The kernel may hold up to its buffer plus one more packet (64 KiB on loopback)
        // already, so the room is counted from twice the buffer.
        let room = (rest.len() + close.len()).min(MAX_ROOM) + 16 * 1024;
        let _ = SockRef::from(&self.stream).set_send_buffer_size(2 * SEND_BUFFER + room);
        let deadline = Instant::now() + CLOSE_DEADLINE;
        let never = || false;
        self.write(rest, CLOSE_DEADLINE, &never).is_ok()
            && self.write(close, deadline.saturating_duration_since(Instant::now()), &never).is_ok()
    }

    pub fn shutdown(&self, how: Shutdown) {
        let _ = self.stream.shutdown(how);
    }

    fn set_timeout(&mut self, t: Duration) -> io::Result<()> {
        if self.timeout != Some(t) {
            self.stream.set_write_timeout(Some(t))?;
            self.timeout = Some(t);
        }
        Ok(())
    }
}

/// The time `len` bytes get: `WRITE_DEADLINE`, plus their time at `MIN_RATE`.
pub fn deadline_for(len: usize) -> Duration {
    WRITE_DEADLINE + Duration::from_millis((len as u64).saturating_mul(1000) / MIN_RATE as u64)
}

/// Bounds the kernel send buffer of a socket's connection (see `SEND_BUFFER`).
pub fn bound_send_buffer(stream: &TcpStream) {
    if let Err(e) = SockRef::from(stream).set_send_buffer_size(SEND_BUFFER) {
        log::debug!("could not bound a socket's send buffer: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        (s, c)
    }

    /// A peer that never reads: the write stops at the deadline, not before, and
    /// having written little more than the kernel buffers hold.
    #[test]
    fn a_write_to_a_peer_that_does_not_read_stops_at_the_deadline() {
        let (s, _peer) = pair();
        let mut w = Wire::new(s);
        let big = vec![b'x'; 64 * 1024 * 1024];
        let t = Instant::now();
        let Err(Stall::Stopped { written }) = w.write(&big, Duration::from_millis(600), &|| false) else {
            panic!("the write finished");
        };
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(600) && took < Duration::from_secs(2), "{took:?}");
        assert!(written > 0 && written < 16 * 1024 * 1024, "{written} bytes went into the kernel");
    }

    /// `stop` ends a stalled write within a slice.
    #[test]
    fn stop_ends_a_stalled_write() {
        let (s, _peer) = pair();
        let mut w = Wire::new(s);
        let big = vec![b'x'; 64 * 1024 * 1024];
        let t = Instant::now();
        let r = w.write(&big, Duration::from_secs(30), &|| t.elapsed() > Duration::from_millis(300));
        assert!(matches!(r, Err(Stall::Stopped { .. })), "{r:?}");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }

    /// After a stall the rest of the cut buffer and the close frame still go out, and
    /// the peer, reading at last, gets every byte in order.
    #[test]
    fn the_close_after_a_stall_reaches_a_peer_that_reads_later() {
        let (s, mut peer) = pair();
        let mut w = Wire::new(s);
        let data: Vec<u8> = (0..8 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let Err(Stall::Stopped { written }) = w.write(&data, Duration::from_millis(300), &|| false) else {
            panic!("the write finished");
        };
        let rest_len = 1000.min(data.len() - written);
        assert!(w.close(&data[written..written + rest_len], b"CLOSE"));
        w.shutdown(Shutdown::Write);
        let mut got = Vec::new();
        peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        peer.read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), written + rest_len + 5);
        assert_eq!(&got[..written + rest_len], &data[..written + rest_len]);
        assert!(got.ends_with(b"CLOSE"));
    }
}
