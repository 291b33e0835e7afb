//! WebSocket frames as bytes (RFC 6455 §5.2). Server-to-client frames are never
//! masked, so one event's frame can be built once and written to every socket as is.
//! `Counter` finds the frames in what a client sends (headers only), so a limit can
//! count every frame: control frames, and fragments of a message that never completes.

/// The largest close reason: a control frame's payload is at most 125 bytes, 2 of
/// which are the code.
const MAX_REASON: usize = 123;

pub fn text(payload: &[u8]) -> Vec<u8> {
    build(0x1, payload)
}

/// Appends a text frame of `payload` to `out` (to write many frames at once).
pub fn append_text(out: &mut Vec<u8>, payload: &[u8]) {
    append(out, 0x1, payload)
}

pub fn ping() -> Vec<u8> {
    build(0x9, &[])
}

/// A pong echoing `payload` (a ping's payload is at most 125 bytes; longer is cut).
pub fn pong(payload: &[u8]) -> Vec<u8> {
    build(0xA, &payload[..payload.len().min(125)])
}

/// A close frame with `code` and `reason` (cut at a character boundary to fit).
pub fn close(code: u16, reason: &str) -> Vec<u8> {
    let mut end = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(&reason.as_bytes()[..end]);
    build(0x8, &payload)
}

fn build(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    append(&mut out, opcode, payload);
    out
}

fn append(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    out.reserve(payload.len() + 10);
    out.push(0x80 | opcode); // FIN, no extensions
    let n = payload.len();
    if n < 126 {
        out.push(n as u8);
    } else if n <= 0xFFFF {
        out.push(126);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(n as u64).to_be_bytes());
    }
    out.extend_from_slice(payload);
}

/// Counts the frames in a byte stream from a client as it is read: it reads each
/// frame's header (2 to 14 bytes) and skips its payload, whatever the opcode. It does
/// not check anything; the WebSocket reader does that on the same bytes.
#[derive(Default)]
pub struct Counter {
    head: [u8; 14],
    have: usize,
    /// Payload bytes of the current frame still to skip.
    skip: u64,
}

impl Counter {
    /// Takes the next bytes of the stream; returns how many frames began in them.
    pub fn feed(&mut self, mut bytes: &[u8]) -> usize {
        let mut frames = 0;
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len() as u64);
                self.skip -= n;
                bytes = &bytes[n as usize..];
                continue;
            }
            self.head[self.have] = bytes[0];
            self.have += 1;
            bytes = &bytes[1..];
            if let Some(payload) = self.header_done() {
                frames += 1;
                self.have = 0;
                self.skip = payload;
            }
        }
        frames
    }

    /// The payload length once the header collected so far is complete.
    fn header_done(&self) -> Option<u64> {
        if self.have < 2 {
            return None;
        }
        let (masked, len7) = (self.head[1] & 0x80 != 0, self.head[1] & 0x7f);
        let ext = match len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let total = 2 + ext + if masked { 4 } else { 0 };
        if self.have < total {
            return None;
        }
        Some(match len7 {
            126 => u16::from_be_bytes([self.head[2], self.head[3]]) as u64,
            127 => u64::from_be_bytes(self.head[2..10].try_into().unwrap()),
            n => n as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use tungstenite::protocol::frame::FrameHeader;

    fn parse(bytes: &[u8]) -> (FrameHeader, usize) {
        let mut c = Cursor::new(bytes);
        let (h, len) = FrameHeader::parse(&mut c).unwrap().unwrap();
        assert_eq!(c.position() as usize + len as usize, bytes.len());
        (h, len as usize)
    }

    #[test]
    fn lengths_of_every_size_class_parse_back() {
        for n in [0, 1, 125, 126, 65_535, 65_536, 200_000] {
            let (h, len) = parse(&text(&vec![b'a'; n]));
            assert!(h.is_final && h.mask.is_none());
            assert_eq!(len, n);
        }
    }

    /// A client frame: masked, any opcode.
    fn client_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut f = build(opcode, payload);
        if !fin {
            f[0] &= 0x7f;
        }
        let at = match f[1] {
            126 => 4,
            127 => 10,
            _ => 2,
        };
        f[1] |= 0x80;
        f.splice(at..at, [9, 8, 7, 6]);
        f
    }

    #[test]
    fn the_counter_finds_every_frame_however_the_bytes_are_cut() {
        let mut stream = Vec::new();
        let sizes = [0, 5, 125, 126, 300, 65_535, 65_536, 70_000];
        for (i, n) in sizes.iter().enumerate() {
            stream.extend(client_frame(if i % 2 == 0 { 0x1 } else { 0xA }, i % 3 != 0, &vec![7; *n]));
        }
        stream.extend(build(0x9, b"unmasked too"));
        for chunk in [1, 2, 3, 13, 1000, stream.len()] {
            let mut c = Counter::default();
            let frames: usize = stream.chunks(chunk).map(|b| c.feed(b)).sum();
            assert_eq!(frames, sizes.len() + 1, "chunks of {chunk}");
            assert_eq!((c.have, c.skip), (0, 0), "ends between frames");
        }
    }

    #[test]
    fn close_reason_is_cut_to_fit() {
        let f = close(4001, &"é".repeat(100));
        let (_, len) = parse(&f);
        assert!(len <= 125);
        assert_eq!(&f[2..4], &4001u16.to_be_bytes());
        assert!(std::str::from_utf8(&f[4..]).is_ok());
    }
}
