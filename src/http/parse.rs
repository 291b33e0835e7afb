//! Request-head parsing: bytes in, a `Head` or a reason out. Pure (no I/O, no state) so it
//! can be property-tested and fuzzed on its own; `conn` feeds it the bytes read so far.

/// Largest request head we read. Browsers send 1–2 KiB; 16 KiB leaves room for long
/// cookies while bounding what a slow or hostile client makes us buffer.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most header lines in one request.
pub const MAX_HEADERS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub method: String,
    /// The request target as sent, e.g. `/api/x/?a=1`.
    pub target: String,
    /// The target's path, percent-decoded only where that is safe (see `decode_path`).
    pub path: String,
    /// The raw query string after `?`, without the `?`.
    pub query: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// Header names lower-cased; values as sent (trimmed by httparse).
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The token in `Authorization: Token <token>` (scheme case-insensitive), if any.
    /// `Bearer <token>` is read the same way everywhere: the clinic's original frontend
    /// logs out with it, and one rule for every endpoint is simpler than a special case.
    pub fn token(&self) -> Option<&str> {
        let value = self.header("authorization")?.trim();
        let (scheme, rest) = value.split_once(' ')?;
        (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer")).then(|| rest.trim())
    }

    /// How the body is framed: by `Content-Length`, by chunks, or refused (see
    /// docs/SECURITY.md "Requests": both headers at once could smuggle a request).
    pub fn framing(&self) -> Result<Framing, HeadError> {
        let mut lengths = self.headers.iter().filter(|(k, _)| k == "content-length").map(|(_, v)| v.trim());
        let length = match lengths.next() {
            None => None,
            Some(first) => {
                if lengths.any(|v| v != first) || first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(HeadError::Malformed("the Content-Length header is not a single number"));
                }
                // Anything that does not fit is certainly over the limit.
                Some(first.parse().unwrap_or(usize::MAX))
            }
        };
        let codings: Vec<&str> =
            self.headers.iter().filter(|(k, _)| k == "transfer-encoding").map(|(_, v)| v.trim()).collect();
        if codings.is_empty() {
            return Ok(Framing::Length(length.unwrap_or(0)));
        }
        if length.is_some() {
            return Err(HeadError::Malformed("send either Content-Length or Transfer-Encoding, not both"));
        }
        if self.minor_version == 0 {
            return Err(HeadError::Malformed("HTTP/1.0 has no Transfer-Encoding; send a Content-Length"));
        }
        if codings.len() == 1 && codings[0].eq_ignore_ascii_case("chunked") {
            Ok(Framing::Chunked)
        } else {
            Err(HeadError::UnknownCoding)
        }
    }
}

/// How a request's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length` bytes (0 without the header).
    Length(usize),
    /// `Transfer-Encoding: chunked`, decoded by `Chunked`.
    Chunked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// The head is larger than `MAX_HEAD_BYTES` or has too many headers → 431.
    TooLarge,
    /// Not HTTP, or not HTTP we accept → 400.
    Malformed(&'static str),
    /// A transfer coding other than `chunked` → 501.
    UnknownCoding,
}

/// Parses a complete head from the start of `buf`. `Ok(None)`: need more bytes.
/// `Ok(Some((head, n)))`: the head took `n` bytes; the body (if any) starts there.
pub fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let status = match req.parse(buf) {
        Ok(s) => s,
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(_) => return Err(HeadError::Malformed("the request line or a header is not valid HTTP")),
    };
    let n = match status {
        httparse::Status::Partial => {
            return if buf.len() >= MAX_HEAD_BYTES { Err(HeadError::TooLarge) } else { Ok(None) };
        }
        httparse::Status::Complete(n) => n,
    };
    if n > MAX_HEAD_BYTES {
        return Err(HeadError::TooLarge);
    }
    let method = req.method.ok_or(HeadError::Malformed("no method"))?.to_string();
    let target = req.path.ok_or(HeadError::Malformed("no request target"))?.to_string();
    let minor_version = req.version.ok_or(HeadError::Malformed("no HTTP version"))?;
    if !target.starts_with('/') {
        return Err(HeadError::Malformed("the request target must be a path starting with /"));
    }
    let mut out = Vec::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let value = std::str::from_utf8(h.value).map_err(|_| HeadError::Malformed("a header value is not UTF-8"))?;
        out.push((h.name.to_ascii_lowercase(), value.to_string()));
    }
    let (raw_path, query) = match target.split_once('?') {
        Some((p, q)) => (p, q.to_string()),
        None => (target.as_str(), String::new()),
    };
    let path = decode_path(raw_path).ok_or(HeadError::Malformed("the path has a bad percent-escape"))?;
    Ok(Some((Head { method, target: target.clone(), path, query, minor_version, headers: out }, n)))
}

/// Percent-decodes a path. A decoded `/`, `\`, NUL or `..` segment would let a path mean
/// something else than it looks like, so those are refused rather than decoded.
pub fn decode_path(raw: &str) -> Option<String> {
    let bytes = percent_decode(raw.as_bytes(), false)?;
    let s = String::from_utf8(bytes).ok()?;
    if s.contains('\0') || s.contains('\\') || s.split('/').any(|seg| seg == "..") {
        return None;
    }
    if raw.to_ascii_lowercase().contains("%2f") {
        return None;
    }
    Some(s)
}

/// Decodes `%XX` (and `+` as space when `plus` is set, as in query strings).
/// `None` for a truncated or non-hex escape.
pub fn percent_decode(input: &[u8], plus: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'%' => {
                let hex = input.get(i + 1..i + 3)?;
                let s = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(s, 16).ok()?);
                i += 3;
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

/// Splits a query string into decoded `(name, value)` pairs; undecodable pairs are dropped.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let k = String::from_utf8(percent_decode(k.as_bytes(), true)?).ok()?;
            let v = String::from_utf8(percent_decode(v.as_bytes(), true)?).ok()?;
            Some((k, v))
        })
        .collect()
}

/// The first value of `name` in `query` that `query_pairs` would give, decoding only
/// that pair (a list request asks for a dozen names; decoding every pair each time
/// cost two allocations per pair per name).
pub fn query_value(query: &str, name: &str) -> Option<String> {
    query.split('&').filter(|p| !p.is_empty()).find_map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        let is_name = if k.bytes().any(|b| b == b'%' || b == b'+') {
            percent_decode(k.as_bytes(), true).is_some_and(|k| k == name.as_bytes())
        } else {
            k == name
        };
        if !is_name {
            return None;
        }
        String::from_utf8(percent_decode(v.as_bytes(), true)?).ok()
    })
}

/// The request target with the value of every query parameter whose name ends in
/// `token` replaced by `[redacted]`, for logs. Names are compared decoded, as the lookup
/// (`query_pairs`) reads them, so `?%74oken=` is redacted too; a name that does not
/// decode has its value redacted as well, since we cannot tell what it says.
pub fn redact_target(target: &str) -> String {
    let Some((path, query)) = target.split_once('?') else { return target.to_string() };
    let parts: Vec<String> = query
        .split('&')
        .map(|p| {
            let (k, _) = p.split_once('=').unwrap_or((p, ""));
            let secret = match percent_decode(k.as_bytes(), true).map(String::from_utf8) {
                Some(Ok(name)) => name.to_ascii_lowercase().ends_with("token"),
                _ => true,
            };
            if secret && p.contains('=') {
                format!("{k}=[redacted]")
            } else {
                p.to_string()
            }
        })
        .collect();
    format!("{path}?{}", parts.join("&"))
}

/// Longest chunk-size line (with extensions) or trailer line we read.
const MAX_CHUNK_LINE: usize = 1024;

/// An incremental decoder of a `Transfer-Encoding: chunked` body (RFC 9112 §7.1),
/// fed bytes as they arrive, so a body sent a byte at a time costs linear work. Strict:
/// lines end in CRLF, sizes are hex, the decoded body stays within `limit`, and
/// trailers (read and dropped) within `MAX_HEAD_BYTES`.
#[derive(Debug)]
pub struct Chunked {
    state: ChunkState,
    line: Vec<u8>,
    body: Vec<u8>,
    limit: usize,
    trailer_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    Size,
    Data(usize),
    DataEnd,
    Trailer,
    Done,
}

/// Why a chunked body cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    /// The decoded body would pass the limit → 413.
    TooLarge,
    /// Not valid chunked framing → 400.
    Malformed(&'static str),
}

impl Chunked {
    pub fn new(limit: usize) -> Self {
        Chunked { state: ChunkState::Size, line: Vec::new(), body: Vec::new(), limit, trailer_bytes: 0 }
    }

    /// Decodes from `input`; returns how many bytes it used and whether the body is
    /// complete (then the rest of `input` belongs to the next request).
    pub fn feed(&mut self, input: &[u8]) -> Result<(usize, bool), ChunkError> {
        let mut i = 0;
        while i < input.len() && self.state != ChunkState::Done {
            if let ChunkState::Data(left) = self.state {
                let take = left.min(input.len() - i);
                self.body.extend_from_slice(&input[i..i + take]);
                i += take;
                self.state = if take == left { ChunkState::DataEnd } else { ChunkState::Data(left - take) };
                continue;
            }
            let Some(line) = self.take_line(input, &mut i)? else { break };
            self.state = match self.state {
                ChunkState::Size => {
                    let size = line.split(|b| *b == b';').next().unwrap_or_default();
                    let size = parse_chunk_size(size)?;
                    if size == 0 {
                        ChunkState::Trailer
                    } else if size > self.limit.saturating_sub(self.body.len()) as u64 {
                        return Err(ChunkError::TooLarge);
                    } else {
                        // Within `limit`, so it fits a usize.
                        ChunkState::Data(size as usize)
                    }
                }
                ChunkState::DataEnd if line.is_empty() => ChunkState::Size,
                ChunkState::DataEnd => return Err(ChunkError::Malformed("a chunk is longer than its size says")),
                ChunkState::Trailer if line.is_empty() => ChunkState::Done,
                ChunkState::Trailer => {
                    self.trailer_bytes += line.len();
                    if self.trailer_bytes > MAX_HEAD_BYTES {
                        return Err(ChunkError::Malformed("the trailer fields are too large"));
                    }
                    ChunkState::Trailer
                }
                ChunkState::Data(_) | ChunkState::Done => unreachable!("handled above"),
            };
        }
        Ok((i, self.state == ChunkState::Done))
    }

    /// The decoded body, once `feed` said it is complete.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// A whole CRLF-terminated line (without the CRLF) from `input` at `*i`, or `None`
    /// when it has not all arrived yet (what did is kept for the next call).
    fn take_line(&mut self, input: &[u8], i: &mut usize) -> Result<Option<Vec<u8>>, ChunkError> {
        let rest = &input[*i..];
        let end = rest.iter().position(|b| *b == b'\n');
        let part = &rest[..end.map_or(rest.len(), |e| e + 1)];
        if self.line.len() + part.len() > MAX_CHUNK_LINE {
            return Err(ChunkError::Malformed("a chunk-size or trailer line is too long"));
        }
        self.line.extend_from_slice(part);
        *i += part.len();
        if end.is_none() {
            return Ok(None);
        }
        let mut line = std::mem::take(&mut self.line);
        if line.len() < 2 || line[line.len() - 2] != b'\r' {
            return Err(ChunkError::Malformed("chunk lines must end in CRLF"));
        }
        line.truncate(line.len() - 2);
        Ok(Some(line))
    }
}

fn parse_chunk_size(hex: &[u8]) -> Result<u64, ChunkError> {
    if hex.is_empty() || !hex.iter().all(u8::is_ascii_hexdigit) {
        return Err(ChunkError::Malformed("a chunk size is not a hexadecimal number"));
    }
    // Leading zeros are allowed; more than 15 significant digits is over any limit.
    let digits = std::str::from_utf8(hex).unwrap_or("0").trim_start_matches('0');
    if digits.len() > 15 {
        return Err(ChunkError::TooLarge);
    }
    Ok(u64::from_str_radix(if digits.is_empty() { "0" } else { digits }, 16).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `query_value` finds what a search of `query_pairs` finds, decoding less.
    #[test]
    fn a_query_value_is_the_first_decodable_pair_of_that_name() {
        let queries = [
            "",
            "page=2",
            "page=2&page=3",
            "pa%67e=4&page=5",
            "page=%FF&page=6",
            "p%FFge=1&page=7",
            "page&x=1",
            "=1&page=%2",
            "page=%20a+b&n=0-1",
            "search=a%26b&&page_size=50",
            "pa+ge=1&pa%20ge=2",
        ];
        for q in queries {
            for name in ["page", "x", "search", "page_size", "pa ge", "n", ""] {
                let want = query_pairs(q).into_iter().find(|(k, _)| k == name).map(|(_, v)| v);
                assert_eq!(query_value(q, name), want, "{q:?} {name:?}");
            }
        }
    }

    #[test]
    fn parses_a_simple_get() {
        let buf = b"GET /api/x/?a=1&b=%20 HTTP/1.1\r\nHost: h\r\nX-Y: z\r\n\r\nBODY";
        let (h, n) = parse_head(buf).unwrap().unwrap();
        assert_eq!(h.method, "GET");
        assert_eq!(h.path, "/api/x/");
        assert_eq!(h.query, "a=1&b=%20");
        assert_eq!(h.header("x-y"), Some("z"));
        assert_eq!(&buf[n..], b"BODY");
        assert_eq!(query_pairs(&h.query), vec![("a".into(), "1".into()), ("b".into(), " ".into())]);
    }

    #[test]
    fn partial_then_too_large() {
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\nHost: h\r\n"), Ok(None));
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.resize(MAX_HEAD_BYTES + 10, b'a');
        assert_eq!(parse_head(&big), Err(HeadError::TooLarge));
    }

    #[test]
    fn refuses_path_tricks() {
        for t in ["/a/%2e%2e/b", "/a/../b", "/a%2Fb", "/a%00", "/a%zz", "http://evil/"] {
            let req = format!("GET {t} HTTP/1.1\r\n\r\n");
            assert!(matches!(parse_head(req.as_bytes()), Err(HeadError::Malformed(_))), "{t}");
        }
    }

    #[test]
    fn redacts_tokens() {
        assert_eq!(redact_target("/ws/?since=3&token=abc&x=1"), "/ws/?since=3&token=[redacted]&x=1");
        assert_eq!(redact_target("/ws/?TOKEN=abc"), "/ws/?TOKEN=[redacted]");
        assert_eq!(redact_target("/plain/"), "/plain/");
    }

    /// Issue 9.6: the lookup decodes names, so the redaction must too.
    #[test]
    fn redacts_percent_encoded_token_names() {
        assert_eq!(redact_target("/ws/?%74oken=abc"), "/ws/?%74oken=[redacted]");
        assert_eq!(redact_target("/ws/?t%6Fken=abc&since=1"), "/ws/?t%6Fken=[redacted]&since=1");
        assert_eq!(redact_target("/ws/?%zz=abc"), "/ws/?%zz=[redacted]");
        assert_eq!(redact_target("/ws/?since=1"), "/ws/?since=1");
    }

    fn head(text: &str) -> Head {
        parse_head(text.as_bytes()).unwrap().unwrap().0
    }

    #[test]
    fn framing_of_bodies() {
        assert_eq!(head("POST / HTTP/1.1\r\n\r\n").framing(), Ok(Framing::Length(0)));
        assert_eq!(head("POST / HTTP/1.1\r\ncontent-length: 12\r\n\r\n").framing(), Ok(Framing::Length(12)));
        assert_eq!(head("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n").framing(), Ok(Framing::Chunked));
        assert_eq!(head("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n").framing(), Err(HeadError::UnknownCoding));
        let both = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
        assert!(matches!(head(both).framing(), Err(HeadError::Malformed(_))));
        let old = "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(matches!(head(old).framing(), Err(HeadError::Malformed(_))));
        let twice = "POST / HTTP/1.1\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\n";
        assert!(matches!(head(twice).framing(), Err(HeadError::Malformed(_))));
    }

    #[test]
    fn decodes_chunked_bodies() {
        let wire = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
        let mut c = Chunked::new(100);
        assert_eq!(c.feed(wire), Ok((wire.len() - 4, true)));
        assert_eq!(c.into_body(), b"Wikipedia");
        // Byte by byte: the same answer.
        let mut c = Chunked::new(100);
        let mut used = 0;
        for (n, b) in wire.iter().enumerate() {
            let (u, done) = c.feed(std::slice::from_ref(b)).unwrap();
            used += u;
            if done {
                assert_eq!(n + 1, wire.len() - 4);
                break;
            }
        }
        assert_eq!(used, wire.len() - 4);
        assert_eq!(c.into_body(), b"Wikipedia");
    }

    #[test]
    fn refuses_bad_chunks() {
        assert_eq!(Chunked::new(8).feed(b"9\r\n"), Err(ChunkError::TooLarge));
        assert_eq!(Chunked::new(8).feed(b"4\r\nabcd\r\n5\r\n"), Err(ChunkError::TooLarge));
        assert_eq!(Chunked::new(8).feed(b"ffffffffffffffffffff\r\n"), Err(ChunkError::TooLarge));
        for bad in [&b"x\r\n"[..], b"4\nabcd", b"2\r\nabc\r\n", b"-1\r\n", b"\r\n"] {
            assert!(matches!(Chunked::new(8).feed(bad), Err(ChunkError::Malformed(_))), "{bad:?}");
        }
        assert!(matches!(Chunked::new(8).feed(&[b'1'; 2000]), Err(ChunkError::Malformed(_))));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any bytes: no panic, and a complete head never claims more bytes than given.
        #[test]
        fn never_panics(buf in proptest::collection::vec(any::<u8>(), 0..4096)) {
            if let Ok(Some((_, n))) = parse_head(&buf) {
                prop_assert!(n <= buf.len());
            }
        }

        /// A head cut anywhere is "need more", never an error or a wrong parse.
        #[test]
        fn any_prefix_is_partial(cut in 0usize..60, name in "[a-z]{1,10}", value in "[ -~]{0,20}") {
            let full = format!("POST /p/?q=1 HTTP/1.1\r\n{name}: {value}\r\ncontent-length: 0\r\n\r\n");
            let cut = cut.min(full.len() - 1);
            prop_assert_eq!(parse_head(&full.as_bytes()[..cut]), Ok(None));
            let (h, n) = parse_head(full.as_bytes()).unwrap().unwrap();
            prop_assert_eq!(n, full.len());
            prop_assert_eq!(h.header(&name), Some(value.trim()));
        }

        /// Redaction never lets through a value the lookup would take as the token.
        #[test]
        fn redaction_hides_token(tok in "[0-9a-f]{64}", pre in "[a-z]{0,5}=[0-9]{0,3}", enc in 0usize..5) {
            let name = ["token", "%74oken", "TOKEN", "tok%65n", "%54%4f%4b%45%4e"][enc];
            let t = format!("/ws/?{pre}&{name}={tok}");
            prop_assert!(!redact_target(&t).contains(&tok));
        }

        /// Any split of a valid chunked body decodes to the same bytes.
        #[test]
        fn chunked_any_split(body in proptest::collection::vec(any::<u8>(), 0..300), size in 1usize..50, cut in 0usize..400) {
            let mut wire = Vec::new();
            for part in body.chunks(size) {
                wire.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
                wire.extend_from_slice(part);
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(b"0\r\n\r\n");
            let cut = cut.min(wire.len());
            let mut c = Chunked::new(300);
            let (a, done_a) = c.feed(&wire[..cut]).unwrap();
            prop_assert_eq!(a, cut);
            let (b, done) = if done_a { (0, true) } else { c.feed(&wire[cut..]).unwrap() };
            prop_assert!(done);
            prop_assert_eq!(a + b, wire.len());
            prop_assert_eq!(c.into_body(), body);
        }
    }
}
