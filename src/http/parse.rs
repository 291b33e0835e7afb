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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// The head is larger than `MAX_HEAD_BYTES` or has too many headers → 431.
    TooLarge,
    /// Not HTTP, or not HTTP we accept → 400.
    Malformed(&'static str),
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

/// The request target with every `token=` query value replaced by `[redacted]`, for logs.
pub fn redact_target(target: &str) -> String {
    let Some((path, query)) = target.split_once('?') else { return target.to_string() };
    let parts: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("token") || k.to_ascii_lowercase().ends_with("token") => {
                format!("{k}=[redacted]")
            }
            _ => p.to_string(),
        })
        .collect();
    format!("{path}?{}", parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

        /// Redaction never lets the token value through.
        #[test]
        fn redaction_hides_token(tok in "[0-9a-f]{64}", pre in "[a-z]{0,5}=[0-9]{0,3}") {
            let t = format!("/ws/?{pre}&token={tok}");
            prop_assert!(!redact_target(&t).contains(&tok));
        }
    }
}
