//! Server-to-client WebSocket frames as bytes (RFC 6455 §5.2). Server frames are never
//! masked, so one event's frame can be built once and written to every socket as is.

/// The largest close reason: a control frame's payload is at most 125 bytes, 2 of
/// which are the code.
const MAX_REASON: usize = 123;

pub fn text(payload: &[u8]) -> Vec<u8> {
    build(0x1, payload)
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
    out
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

    #[test]
    fn close_reason_is_cut_to_fit() {
        let f = close(4001, &"é".repeat(100));
        let (_, len) = parse(&f);
        assert!(len <= 125);
        assert_eq!(&f[2..4], &4001u16.to_be_bytes());
        assert!(std::str::from_utf8(&f[4..]).is_ok());
    }
}
