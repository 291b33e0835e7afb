//! Time-bounded fuzzing of what strangers' bytes reach first, with proptest (runs on
//! stable Rust, so CI needs no nightly): the request head parser and its query/path
//! helpers, access-log redaction, the WebSocket handshake check, and the JSON body
//! readers the handlers use. Each target mixes random bytes with structure-aware
//! mutations of valid inputs, and checks properties beyond "no panic": what a success
//! must satisfy, and that every refusal is a 4xx.
//!
//! Each target runs for `FUZZ_SECS` seconds (default 10) and prints how many inputs it
//! tried; `FUZZ_SEED` (a number) replays a run. A longer run:
//! `FUZZ_SECS=600 cargo test --release --test fuzz -- --nocapture`.

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use royal_care::error::ApiError;
use royal_care::http::parse::{
    decode_path, parse_head, query_pairs, redact_target, ChunkError, Chunked, Head, HeadError, MAX_HEAD_BYTES,
};
use royal_care::http::Request;
use royal_care::ws::handshake;
use serde_json::{Map, Value};
use std::cell::Cell;
use std::fmt::Debug;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// The harness: batches of proptest cases until the deadline, then a count.

fn budget() -> Duration {
    let secs = std::env::var("FUZZ_SECS").ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(10.0);
    Duration::from_secs_f64(secs.max(0.1))
}

fn base_seed() -> u64 {
    std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    })
}

/// Runs `check` on each of `corpus` (known-interesting inputs, regressions included),
/// then on generated inputs until the budget is spent. A failure is shrunk to a small
/// input and reported with the seed that reproduces it.
fn fuzz<S: Strategy>(
    name: &str,
    corpus: Vec<S::Value>,
    strategy: S,
    check: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: Debug + Clone,
{
    let seed = base_seed();
    let deadline = Instant::now() + budget();
    for input in corpus {
        if let Err(e) = check(input.clone()) {
            panic!("{name}: corpus input {input:?} failed: {e}");
        }
    }
    let tried = Cell::new(0u64);
    let config = Config {
        cases: 256,
        failure_persistence: None,
        max_shrink_iters: 4096,
        max_shrink_time: 60_000,
        max_global_rejects: 1_000_000,
        ..Config::default()
    };
    let mut batch = 0u64;
    while Instant::now() < deadline {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        bytes[8..16].copy_from_slice(&batch.to_le_bytes());
        let mut runner = TestRunner::new_with_rng(config.clone(), TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
        let result = runner.run(&strategy, |v| {
            tried.set(tried.get() + 1);
            check(v)
        });
        match result {
            Ok(()) => {}
            Err(TestError::Fail(why, input)) => {
                panic!("{name}: FUZZ_SEED={seed} (batch {batch}) found {input:?}: {why}")
            }
            Err(TestError::Abort(why)) => panic!("{name}: aborted: {why}"),
        }
        batch += 1;
    }
    println!("fuzz {name}: {} inputs in {:.1} s (FUZZ_SEED={seed})", tried.get(), budget().as_secs_f64());
}

// ---------------------------------------------------------------------------------------
// Structure-aware mutation of bytes.

#[derive(Debug, Clone)]
enum Mutation {
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Set(Index, u8),
    Duplicate(Index, usize),
    Truncate(Index),
}

/// Bytes that change meaning in heads, paths, queries and JSON.
fn interesting() -> impl Strategy<Value = Vec<u8>> {
    const PIECES: &[&str] = &[
        "\r\n",
        "\n",
        "\r",
        "\0",
        "\r\n\r\n",
        " ",
        "\t",
        ":",
        ",",
        ";",
        "%",
        "%2f",
        "%2F",
        "%2e%2e",
        "%5c",
        "%00",
        "%zz",
        "%e9",
        "%c3%a9",
        "..",
        "/",
        "\\",
        "?",
        "&",
        "=",
        "+",
        "#",
        "token=",
        "%74oken=",
        "%54OKEN=",
        "to%6ben=",
        "_token=",
        "\"",
        "{",
        "}",
        "[",
        "]",
        "\\u0000",
        "\\ud800",
        "1e400",
        "-0",
        "1.005",
        "99999999999999999999",
        "null",
        "true",
        "é",
        "\u{feff}",
        "Upgrade",
        "websocket",
        "bearer",
        "Content-Length: 5",
        "Transfer-Encoding: chunked",
    ];
    prop_oneof![
        3 => proptest::sample::select(PIECES).prop_map(|s| s.as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 1..8),
        1 => Just(vec![0xff, 0xfe]),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), interesting()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => (any::<Index>(), 1usize..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        1 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut buf: Vec<u8>, muts: Vec<Mutation>) -> Vec<u8> {
    for m in muts {
        let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len + 1) };
        let len = buf.len();
        match m {
            Mutation::Insert(i, b) => {
                let p = at(&i, len);
                buf.splice(p..p, b);
            }
            Mutation::Delete(i, n) if len > 0 => {
                let p = i.index(len);
                buf.drain(p..(p + n).min(len));
            }
            Mutation::Set(i, b) if len > 0 => buf[i.index(len)] = b,
            Mutation::Duplicate(i, n) if len > 0 => {
                let p = i.index(len);
                let piece = buf[p..(p + n).min(len)].to_vec();
                buf.splice(p..p, piece);
            }
            Mutation::Truncate(i) => buf.truncate(at(&i, len)),
            _ => {}
        }
    }
    buf
}

fn mutated(base: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (base, proptest::collection::vec(mutation(), 0..6)).prop_map(|(b, m)| apply(b, m))
}

fn to_bytes(s: String) -> Vec<u8> {
    s.into_bytes()
}

// ---------------------------------------------------------------------------------------
// (a) The request head, its path and query.

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9_-]{1,12}",
        1 => proptest::sample::select(vec![
            "..", ".", "%2e%2e", "%2E.", "%2F", "%2f", "%00", "%5c", "%", "%z", "%zz", "%c3%a9", "%ff", "a%20b", "%25",
            "api", "ws", "health", "scheduling", "appointments",
        ])
        .prop_map(str::to_string),
        1 => "[!-~]{0,6}",
    ]
}

fn param_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(vec![
            "token", "TOKEN", "Token", "%74oken", "%74%6F%6B%65%6E", "%54OKEN", "to%6ben", "tok%65n", "access_token",
            "my+token", "%2Btoken", "_token", "token%00", "tokens", "since", "board", "search", "page", "x",
        ])
        .prop_map(str::to_string),
        1 => "[a-z0-9%+_.]{1,10}",
    ]
}

/// A token-like secret: easy to spot in an output, never produced by anything else here.
fn secret() -> impl Strategy<Value = String> {
    "S[0-9a-f]{24}"
}

fn param_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => secret(),
        // The same secret, partly percent-encoded.
        1 => secret().prop_map(|s| format!("%53{}", &s[1..])),
        2 => "[a-z0-9%+=]{0,12}",
    ]
}

fn query() -> impl Strategy<Value = String> {
    proptest::collection::vec((param_name(), proptest::option::weighted(0.9, param_value())), 0..6).prop_map(|ps| {
        ps.into_iter()
            .map(|(n, v)| match v {
                Some(v) => format!("{n}={v}"),
                None => n,
            })
            .collect::<Vec<_>>()
            .join("&")
    })
}

fn target() -> impl Strategy<Value = String> {
    (proptest::collection::vec(segment(), 0..5), proptest::option::of(query()), any::<bool>()).prop_map(
        |(segs, q, slash)| {
            let mut t = format!("/{}", segs.join("/"));
            if slash && !t.ends_with('/') {
                t.push('/');
            }
            if let Some(q) = q {
                t.push('?');
                t.push_str(&q);
            }
            t
        },
    )
}

fn header_line() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        3 => proptest::sample::select(vec![
            "Host", "Content-Length", "Content-Type", "Connection", "Upgrade", "Authorization", "Origin",
            "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol", "Transfer-Encoding", "If-Match",
            "X-Forwarded-For", "Cookie",
        ])
        .prop_map(str::to_string),
        1 => "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,16}",
    ];
    let value = prop_oneof![
        3 => "[ -~]{0,40}",
        1 => proptest::sample::select(vec!["0", "5", "-1", "99999999999999999999", "chunked", "websocket", "Upgrade", "13", "Token abc"])
            .prop_map(str::to_string),
        1 => ".{0,20}",
    ];
    (name, value).prop_map(|(n, v)| format!("{n}: {v}"))
}

fn valid_head() -> impl Strategy<Value = Vec<u8>> {
    let method = prop_oneof![
        4 => proptest::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]).prop_map(str::to_string),
        1 => "[A-Za-z]{1,8}",
    ];
    (method, target(), 0u8..=1, proptest::collection::vec(header_line(), 0..8), any::<bool>(), "[ -~]{0,16}").prop_map(
        |(m, t, v, hs, lf, body)| {
            let nl = if lf { "\n" } else { "\r\n" };
            let mut s = format!("{m} {t} HTTP/1.{v}{nl}");
            for h in hs {
                s.push_str(&h);
                s.push_str(nl);
            }
            s.push_str(nl);
            s.push_str(&body);
            s.into_bytes()
        },
    )
}

fn head_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..2048),
        1 => "[ -~\r\n\t]{0,400}".prop_map(to_bytes),
        5 => mutated(valid_head()),
    ]
}

/// What the parser promises about a decoded path (SECURITY.md "Requests").
fn path_is_safe(path: &str) -> bool {
    !path.contains('\0') && !path.contains('\\') && !path.split('/').any(|s| s == "..")
}

fn check_path_and_query(raw_path: &str, query: &str) -> Result<(), TestCaseError> {
    if let Some(p) = decode_path(raw_path) {
        prop_assert!(path_is_safe(&p), "decode_path({raw_path:?}) = {p:?}");
        prop_assert!(!raw_path.to_ascii_lowercase().contains("%2f"), "an encoded / was decoded in {raw_path:?}");
        if !raw_path.contains('%') {
            prop_assert_eq!(&p, raw_path);
        }
    }
    let pairs = query_pairs(query);
    prop_assert!(pairs.len() <= query.split('&').filter(|p| !p.is_empty()).count());
    if !query.contains('%') && !query.contains('+') {
        for (k, v) in &pairs {
            prop_assert!(query.contains(k.as_str()) && query.contains(v.as_str()), "{k:?}={v:?} not in {query:?}");
        }
    }
    Ok(())
}

fn check_head(buf: Vec<u8>) -> Result<(), TestCaseError> {
    match parse_head(&buf) {
        Ok(Some((h, n))) => {
            prop_assert!(n <= buf.len() && n <= MAX_HEAD_BYTES, "n = {n} of {}", buf.len());
            prop_assert_eq!(buf[n - 1], b'\n', "a head ends with its blank line");
            prop_assert!(h.target.starts_with('/'));
            prop_assert!(h.minor_version <= 1);
            let (raw_path, q) = h.target.split_once('?').unwrap_or((&h.target, ""));
            prop_assert_eq!(&h.query, q);
            prop_assert_eq!(decode_path(raw_path), Some(h.path.clone()));
            prop_assert!(path_is_safe(&h.path), "unsafe path {:?}", h.path);
            for (k, v) in &h.headers {
                prop_assert!(!k.is_empty() && *k == k.to_ascii_lowercase() && !k.contains(':'), "header name {k:?}");
                prop_assert!(!v.contains('\r') && !v.contains('\n'), "header value {v:?}");
            }
            // The head alone parses the same, and any shorter prefix asks for more.
            prop_assert_eq!(parse_head(&buf[..n]), Ok(Some((h.clone(), n))));
            prop_assert_eq!(parse_head(&buf[..n - 1]), Ok(None));
            check_path_and_query(raw_path, &h.query)?;
            // How the body is framed is decided without panicking, and refusals are 4xx/501.
            match h.framing() {
                Ok(_) | Err(HeadError::UnknownCoding) => {}
                Err(HeadError::Malformed(why)) => prop_assert!(!why.is_empty()),
                Err(HeadError::TooLarge) => prop_assert!(false, "framing cannot be too large"),
            }
        }
        // Needing more bytes is only allowed below the head limit.
        Ok(None) => prop_assert!(buf.len() < MAX_HEAD_BYTES),
        // conn answers 431 for TooLarge and 400 "Bad request: {why}." for Malformed.
        Err(HeadError::TooLarge) => {}
        Err(HeadError::UnknownCoding) => prop_assert!(false, "parse_head does not judge transfer codings"),
        Err(HeadError::Malformed(why)) => {
            prop_assert!(!why.is_empty() && !why.ends_with('.') && why.chars().next().is_some_and(char::is_lowercase))
        }
    }
    // The helpers alone, on whatever text the input holds.
    let text = String::from_utf8_lossy(&buf);
    let (p, q) = text.split_once('?').unwrap_or((&text, ""));
    check_path_and_query(p, q)
}

#[test]
fn fuzz_request_head() {
    let corpus: Vec<Vec<u8>> = [
        b"GET / HTTP/1.1\r\n\r\n".as_slice(),
        b"GET /a/%2e%2e/b HTTP/1.1\r\n\r\n",
        b"GET /a%2Fb HTTP/1.1\r\n\r\n",
        b"GET /%c3%a9/?q=%zz&token=abc HTTP/1.0\n\n",
        b"POST /api/auth/login/ HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
        b"GET http://evil/ HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: \xff\r\n\r\n",
        b"",
        b"\r\n\r\n",
    ]
    .iter()
    .map(|s| s.to_vec())
    .chain([vec![b'a'; MAX_HEAD_BYTES + 1], [b"GET / HTTP/1.1\r\n".as_slice(), &b"X: y\r\n".repeat(70)].concat()])
    .collect();
    fuzz("request head", corpus, head_bytes(), check_head);
}

// ---------------------------------------------------------------------------------------
// Access-log redaction.

fn tokenish(decoded_name: &str) -> bool {
    decoded_name.to_lowercase().ends_with("token")
}

/// The one pair a single `name=value` query part decodes to, if it decodes.
fn decode_part(part: &str) -> Option<(String, String)> {
    let mut pairs = query_pairs(part);
    (pairs.len() == 1).then(|| pairs.remove(0))
}

/// No value of a parameter whose decoded name ends in `token` (any case; percent-encoded
/// names included, since that is how the server reads them) reaches the log line, neither
/// as sent nor decoded. The path is logged unchanged.
fn check_redaction(target: String) -> Result<(), TestCaseError> {
    let out = redact_target(&target);
    let Some((path, query)) = target.split_once('?') else {
        prop_assert_eq!(out, target);
        return Ok(());
    };
    prop_assert!(out.starts_with(&format!("{path}?")), "path changed: {out:?}");
    let (mut secrets, mut rest) = (Vec::new(), format!("{path}?"));
    for part in query.split('&') {
        match (decode_part(part), part.split_once('=')) {
            (Some((name, value)), Some((raw_name, raw))) if tokenish(&name) && !value.is_empty() => {
                // Names are logged; only the value is secret.
                rest.push_str(raw_name);
                secrets.push((raw.to_string(), value));
            }
            _ => rest.push_str(part),
        }
        rest.push('&');
    }
    let out_query = out.split_once('?').map_or("", |(_, q)| q);
    for (raw, value) in &secrets {
        // As sent: checked for token-like values (no separator, so the value cannot be
        // pieced together from what is logged around it) that appear nowhere else.
        let token_like = raw.len() >= 8 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'%');
        if token_like && !rest.contains(raw.as_str()) && !"[redacted]".contains(raw.as_str()) {
            prop_assert!(!out.contains(raw.as_str()), "{raw:?} leaked in {out:?}");
        }
        for (name, v) in query_pairs(out_query) {
            prop_assert!(!(tokenish(&name) && v == *value && v != "[redacted]"), "{name}={v:?} leaked in {out:?}");
        }
    }
    Ok(())
}

fn redaction_input() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => target(),
        2 => mutated(target().prop_map(to_bytes)).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        1 => "[ -~]{0,120}",
        1 => ".{0,60}",
    ]
}

#[test]
fn fuzz_redact_target() {
    let secret = "S0123456789abcdef01234567";
    let corpus: Vec<String> = [
        "/ws/?token=S",
        "/ws/?since=3&token=S&x=1",
        "/ws/?TOKEN=S",
        "/ws/?access_token=S",
        // Issue 9 item 6: the server decodes `%74oken` to `token`, so the log must hide it too.
        "/ws/?%74oken=S",
        "/ws/?%74%6F%6B%65%6E=S",
        "/ws/?to%6Ben=S",
        "/ws/?token=S&token=S",
        "/plain/",
        "/ws/?",
        "/ws/?&&=&token",
    ]
    .iter()
    .map(|t| t.replace('S', secret))
    .collect();
    fuzz("access-log redaction", corpus, redaction_input(), check_redaction);
}

// ---------------------------------------------------------------------------------------
// (a') Chunked request bodies.

/// A chunked body (valid, or with bytes flipped), a limit, and where to split it.
fn chunked_input() -> impl Strategy<Value = (Vec<u8>, usize, Vec<Index>)> {
    let valid = (proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..40), 0..8), any::<bool>())
        .prop_map(|(chunks, trailer)| {
            let mut wire = Vec::new();
            for c in chunks {
                wire.extend_from_slice(format!("{:X};x=y\r\n", c.len()).as_bytes());
                wire.extend_from_slice(&c);
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(if trailer { b"0\r\nX-T: 1\r\n\r\nNEXT" } else { b"0\r\n\r\n" });
            wire
        });
    let mutated =
        (valid.clone(), proptest::collection::vec((any::<Index>(), any::<u8>()), 1..4)).prop_map(|(mut w, flips)| {
            for (at, b) in flips {
                if !w.is_empty() {
                    let i = at.index(w.len());
                    w[i] = b;
                }
            }
            w
        });
    let bytes = proptest::collection::vec(any::<u8>(), 0..400);
    (prop_oneof![valid, mutated, bytes], 0usize..300, proptest::collection::vec(any::<Index>(), 0..4))
}

/// Feeds `wire` in the pieces `cuts` makes; the outcome and the bytes used.
fn decode_in_pieces(wire: &[u8], limit: usize, cuts: &[usize]) -> Result<(Vec<u8>, usize), ChunkError> {
    let mut c = Chunked::new(limit);
    let mut used = 0;
    for &to in cuts.iter().chain(std::iter::once(&wire.len())) {
        // Until it is done, the decoder takes every byte it is given.
        let (n, done) = c.feed(&wire[used..to])?;
        used += n;
        if done {
            return Ok((c.into_body(), used));
        }
    }
    Err(ChunkError::Malformed("incomplete"))
}

fn check_chunked((wire, limit, cuts): (Vec<u8>, usize, Vec<Index>)) -> Result<(), TestCaseError> {
    let whole = decode_in_pieces(&wire, limit, &[]);
    let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
    cuts.sort_unstable();
    let pieces = decode_in_pieces(&wire, limit, &cuts);
    prop_assert_eq!(&whole, &pieces, "the same bytes split differently decode differently");
    if let Ok((body, used)) = whole {
        prop_assert!(body.len() <= limit && used <= wire.len());
        prop_assert!(body.len() < used, "the framing costs at least the last chunk");
    }
    Ok(())
}

#[test]
fn fuzz_chunked_bodies() {
    let corpus = vec![
        (b"4\r\nWiki\r\n0\r\n\r\n".to_vec(), 10, vec![]),
        (b"ffffffffffffffffffffffff\r\n".to_vec(), 10, vec![]),
        (b"0\r\n\r\n".to_vec(), 0, vec![]),
    ];
    fuzz("chunked bodies", corpus, chunked_input(), check_chunked);
}

// ---------------------------------------------------------------------------------------
// (b) The WebSocket handshake check.

fn peer() -> std::net::SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}

fn request_from(head: Head, body: Vec<u8>) -> Request {
    Request::new(head, body, peer(), &[])
}

fn head_with(method: &str, target: &str, headers: Vec<(String, String)>) -> Head {
    let (raw_path, query) = target.split_once('?').unwrap_or((target, ""));
    Head {
        method: method.to_string(),
        target: target.to_string(),
        path: decode_path(raw_path).unwrap_or_else(|| raw_path.to_string()),
        query: query.to_string(),
        minor_version: 1,
        headers,
    }
}

#[derive(Debug, Clone)]
enum WsInput {
    /// A head built directly (any strings, as a handler could be given).
    Head(Head),
    /// Bytes that go through the real parser first.
    Bytes(Vec<u8>),
}

fn ws_token() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[0-9a-f]{64}", 1 => "[!-+.-~]{1,20}", 1 => Just(String::new())]
}

fn opt<T: Debug + Clone>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    proptest::option::weighted(0.8, s)
}

fn pick(items: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(items).prop_map(str::to_string)
}

fn ws_head() -> impl Strategy<Value = Head> {
    let method = prop_oneof![6 => Just("GET".to_string()), 1 => pick(&["POST", "get", "HEAD", "OPTIONS", ""])];
    let upgrade = opt(prop_oneof![
        4 => Just("websocket".to_string()),
        1 => pick(&["WebSocket", "h2c, websocket", " websocket ,", "websocketx", "", ","]),
        1 => ".{0,12}",
    ]);
    let connection = opt(prop_oneof![
        4 => Just("Upgrade".to_string()),
        1 => pick(&["keep-alive, Upgrade", "upgrade,", "close", "Upgrade, close", ""]),
        1 => ".{0,12}",
    ]);
    let version = opt(prop_oneof![4 => Just("13".to_string()), 1 => pick(&[" 13 ", "8", "13, 8", "", "013"])]);
    let key = opt(prop_oneof![
        4 => Just("dGhlIHNhbXBsZSBub25jZQ==".to_string()),
        1 => pick(&["", "   ", "x"]),
        1 => ".{0,30}",
    ]);
    let protocol = opt((
        pick(&["bearer, {}", "{}, bearer", "bearer", "bearer,,", "x, y", "BEARER , {}", ",bearer,{},z"]),
        ws_token(),
    )
        .prop_map(|(p, t)| p.replace("{}", &t)));
    let auth = opt((pick(&["Token {}", "token  {} ", "Bearer {}", "Token", "TOKEN {}"]), ws_token())
        .prop_map(|(p, t)| p.replace("{}", &t)));
    let query =
        opt((pick(&["token={}", "%74oken={}", "token=", "since=3&token={}", "token={}&token=other"]), ws_token())
            .prop_map(|(p, t)| p.replace("{}", &t)));
    let extra = proptest::collection::vec(("[a-z-]{1,12}", ".{0,20}"), 0..3);
    (method, upgrade, connection, version, key, protocol, auth, query, extra, any::<bool>()).prop_map(
        |(m, up, conn, ver, key, proto, auth, q, extra, dup)| {
            let mut hs: Vec<(String, String)> = Vec::new();
            for (name, v) in [
                ("upgrade", up),
                ("connection", conn),
                ("sec-websocket-version", ver),
                ("sec-websocket-key", key),
                ("sec-websocket-protocol", proto),
                ("authorization", auth),
            ] {
                if let Some(v) = v {
                    hs.push((name.to_string(), v));
                }
            }
            hs.extend(extra);
            if dup && !hs.is_empty() {
                // A repeated header: only the first counts.
                let first = hs[0].clone();
                hs.push((first.0, "junk".into()));
            }
            let target = match q {
                Some(q) => format!("/ws/?{q}"),
                None => "/ws/".to_string(),
            };
            head_with(&m, &target, hs)
        },
    )
}

fn ws_bytes() -> impl Strategy<Value = Vec<u8>> {
    ws_head().prop_map(|h| {
        let mut s = format!("{} {} HTTP/1.1\r\nHost: x\r\n", h.method, h.target);
        for (k, v) in &h.headers {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        s.push_str("\r\n");
        s.into_bytes()
    })
}

fn ws_input() -> impl Strategy<Value = WsInput> {
    prop_oneof![
        3 => ws_head().prop_map(WsInput::Head),
        2 => mutated(ws_bytes()).prop_map(WsInput::Bytes),
        1 => proptest::collection::vec(any::<u8>(), 0..256).prop_map(WsInput::Bytes),
    ]
}

/// Does a comma-separated header hold `token` (any case)?
fn lists(req: &Request, name: &str, token: &str) -> bool {
    req.header(name).is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// The token the handshake should pick, by docs/LIVE_UPDATES.md's order of preference:
/// `Sec-WebSocket-Protocol: bearer, <token>`, then `Authorization: Token`, then `?token=`.
fn expected_token(req: &Request) -> (bool, Option<String>) {
    let parts: Vec<&str> = req
        .header("sec-websocket-protocol")
        .map(|v| v.split(',').map(str::trim).filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let bearer = parts.iter().position(|p| p.eq_ignore_ascii_case("bearer"));
    let from_protocol =
        bearer.and_then(|i| parts.iter().enumerate().find(|(j, _)| *j != i).map(|(_, t)| t.to_string()));
    let token = from_protocol
        .or_else(|| req.token().map(str::to_string))
        .or_else(|| req.query_param("token"))
        .filter(|t| !t.is_empty());
    (bearer.is_some(), token)
}

fn check_ws(input: WsInput) -> Result<(), TestCaseError> {
    let req = match input {
        WsInput::Head(h) => request_from(h, vec![]),
        WsInput::Bytes(b) => match parse_head(&b) {
            Ok(Some((h, _))) => request_from(h, vec![]),
            _ => return Ok(()),
        },
    };
    match handshake::check(&req) {
        Err(resp) => {
            prop_assert!((400..500).contains(&resp.status), "refused with {}", resp.status);
            if req.method() != "GET" {
                prop_assert_eq!(resp.status, 405);
            }
        }
        Ok(up) => {
            prop_assert_eq!(req.method(), "GET");
            prop_assert!(lists(&req, "upgrade", "websocket") && lists(&req, "connection", "upgrade"));
            prop_assert_eq!(req.header("sec-websocket-version").map(str::trim), Some("13"));
            let key = req.header("sec-websocket-key").map(str::trim).unwrap_or_default();
            prop_assert!(!key.is_empty());
            let (bearer, token) = expected_token(&req);
            prop_assert_eq!(&up.token, &token);
            // The 101 head is valid HTTP with exactly the expected headers: no token, no
            // echo of anything the client sent but the derived accept key.
            let bytes = handshake::accepted(&up);
            let mut hs = [httparse::EMPTY_HEADER; 8];
            let mut resp = httparse::Response::new(&mut hs);
            prop_assert_eq!(resp.parse(&bytes), Ok(httparse::Status::Complete(bytes.len())));
            prop_assert_eq!(resp.code, Some(101));
            let got: Vec<(String, String)> = resp
                .headers
                .iter()
                .map(|h| (h.name.to_string(), String::from_utf8_lossy(h.value).into_owned()))
                .collect();
            let mut want = vec![
                ("Upgrade".to_string(), "websocket".to_string()),
                ("Connection".to_string(), "Upgrade".to_string()),
                ("Sec-WebSocket-Accept".to_string(), tungstenite::handshake::derive_accept_key(key.as_bytes())),
            ];
            if bearer {
                want.push(("Sec-WebSocket-Protocol".to_string(), "bearer".to_string()));
            }
            prop_assert_eq!(got, want);
        }
    }
    Ok(())
}

#[test]
fn fuzz_ws_handshake() {
    let good = |extra: &[(&str, &str)], target: &str| {
        let mut hs: Vec<(String, String)> = [
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        hs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        WsInput::Head(head_with("GET", target, hs))
    };
    let corpus = vec![
        good(&[], "/ws/"),
        good(&[("sec-websocket-protocol", "bearer, abc")], "/ws/?token=zzz"),
        good(&[("sec-websocket-protocol", "bearer")], "/ws/?token="),
        good(&[("authorization", "Token abc")], "/ws/?%74oken=zzz"),
        good(&[("sec-websocket-key", "")], "/ws/"),
        WsInput::Head(head_with("POST", "/ws/", vec![])),
        WsInput::Bytes(b"GET /ws/ HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".to_vec()),
    ];
    fuzz("websocket handshake", corpus, ws_input(), check_ws);
}

// ---------------------------------------------------------------------------------------
// (c) JSON bodies and the readers the handlers use.

/// Every member name some handler reads, so generated bodies reach the field checks.
const FIELDS: &[&str] = &[
    "username",
    "password",
    "current_password",
    "new_password",
    "client",
    "date",
    "start_time",
    "end_time",
    "services",
    "therapist",
    "therapists",
    "driver",
    "payment_amount",
    "payment_method",
    "location",
    "notes",
    "status",
    "version",
    "first_name",
    "last_name",
    "phone_number",
    "email",
    "address",
    "name",
    "description",
    "duration",
    "price",
    "is_active",
    "role",
    "specialization",
];

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => (-3i64..60).prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        1 => (0u32..100_000, 0u32..1000).prop_map(|(a, b)| serde_json::json!(f64::from(a) + f64::from(b) / 1000.0)),
        2 => pick(&[
            "2025-03-04", "2025-02-30", "0000-01-01", "2025-3-4", "10:00", "10:00:00", "23:59:59", "24:00", "9:00",
            "10:00:60", "1500", "1500.00", "1500.005", "-1", " 12.5 ", "1e3", "cash", "gcash", "operator", "therapist",
            "driver", "admin", "a@b", "", " ", "1", "0", "-0", "99999999999999999999",
        ])
        .prop_map(Value::from),
        2 => ".{0,24}".prop_map(Value::from),
        1 => (0usize..4200).prop_map(|n| Value::from("x".repeat(n))),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec((json_key(), inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![4 => proptest::sample::select(FIELDS).prop_map(str::to_string), 1 => ".{0,8}"]
}

fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::vec((json_key(), json_value()), 0..14).prop_map(|kv| kv.into_iter().collect())
}

fn seed_bodies() -> Vec<Vec<u8>> {
    [
        r#"{"username": "operator", "password": "demo-pass-1"}"#,
        r#"{"current_password": "a", "new_password": "brand-new-pass-2"}"#,
        r#"{"client": 1, "date": "2025-03-04", "start_time": "10:00", "services": [1, 5], "therapist": 2, "driver": 5, "payment_amount": "1500.00", "payment_method": "cash"}"#,
        r#"{"client": "1", "date": "2025-03-04", "start_time": "23:30", "services": [2, 4], "therapists": [2, 3]}"#,
        r#"{"first_name": "Ana", "email": "a@b", "notes": null}"#,
        r#"{"name": "Massage", "duration": 60, "price": 1500}"#,
        r#"{"username": "new_user", "password": "long-enough-1", "role": "driver"}"#,
        r#"{"version": 3}"#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

fn json_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..256),
        1 => "[ -~\t\r\n]{0,200}".prop_map(to_bytes),
        4 => mutated(json_object().prop_map(|m| serde_json::to_vec(&m).unwrap())),
        3 => mutated(proptest::sample::select(seed_bodies())),
        1 => (1usize..3000, any::<bool>()).prop_map(|(n, obj)| {
            // Deep nesting, inside an object or not.
            let inner = format!("{}{}", "[".repeat(n), "]".repeat(n));
            if obj { format!(r#"{{"notes": {inner}}}"#).into_bytes() } else { inner.into_bytes() }
        }),
    ]
}

fn is_refusal(e: &ApiError) -> bool {
    (400..500).contains(&e.status()) && e.detail.ends_with('.')
}

/// The demo database (clients, services, staff, appointments), for the readers that check
/// ids against the database. Read only.
struct Db {
    _dir: tempfile::TempDir,
    store: royal_care::store::Store,
}

fn demo_db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.db");
    std::fs::write(&path, royal_care::scheduling::demo::EXAMPLE).unwrap();
    let store = royal_care::store::Store::open(&path).unwrap();
    Db { _dir: dir, store }
}

fn check_json(db: &Db, body: Vec<u8>) -> Result<(), TestCaseError> {
    use royal_care::scheduling::{booking, clients, services, staff, validate};
    let req = request_from(head_with("POST", "/api/x/", vec![]), body);
    let parsed = serde_json::from_slice::<Value>(&req.body);
    match req.json::<Value>() {
        Ok(v) => prop_assert_eq!(Some(&v), parsed.as_ref().ok()),
        Err(e) => prop_assert!(parsed.is_err() && is_refusal(&e), "{} {}", e.status(), e.detail),
    }
    let m = match req.json_object() {
        Ok(m) => {
            prop_assert!(matches!(&parsed, Ok(Value::Object(p)) if *p == m));
            m
        }
        Err(e) => {
            prop_assert!(!matches!(&parsed, Ok(Value::Object(_))));
            prop_assert!(is_refusal(&e), "{} {}", e.status(), e.detail);
            return Ok(());
        }
    };
    // Login and change-password bodies.
    for names in [["username", "password"], ["current_password", "new_password"]] {
        match royal_care::api::auth::required_strings(&m, &names) {
            Ok(v) => {
                for (n, got) in names.iter().zip(v) {
                    prop_assert!(!got.is_empty() && m.get(*n).and_then(Value::as_str) == Some(got));
                }
            }
            Err(e) => prop_assert!(is_refusal(&e) && e.fields.is_some()),
        }
    }
    match clients::from_body(&m, None) {
        Ok(c) => prop_assert!(!c.first_name.is_empty() && (c.email.is_empty() || c.email.contains('@'))),
        Err(e) => prop_assert!(is_refusal(&e), "{} {}", e.status(), e.detail),
    }
    match services::from_body(&m, None) {
        Ok(s) => prop_assert!(!s.name.is_empty() && s.duration > 0 && s.price_cents >= 0),
        Err(e) => prop_assert!(is_refusal(&e), "{} {}", e.status(), e.detail),
    }
    match staff::from_body(&m) {
        Ok((u, pw)) => prop_assert!(!u.username.is_empty() && pw.chars().count() >= 8),
        Err(e) => prop_assert!(is_refusal(&e), "{} {}", e.status(), e.detail),
    }
    if let Err(e) = validate::expected_version(None, Some(&m)) {
        prop_assert!(is_refusal(&e), "{} {}", e.status(), e.detail);
    }
    // Appointment create (no base) and edit (base: demo appointment 1).
    let outcome = db.store.read(|c| -> Result<_, ApiError> {
        let op = royal_care::store::users::by_username(c, "operator")?.expect("demo operator");
        let base = booking::load_visible(c, &op, 1)?;
        Ok((booking::read_fields(c, &m, None), booking::read_fields(c, &m, Some(&base))))
    });
    let (create, edit) = outcome.map_err(|e| TestCaseError::fail(format!("database: {}", e.detail)))?;
    for r in [create, edit] {
        match r {
            Ok(f) => {
                prop_assert!(f.client_id > 0 && !f.therapists.is_empty());
                prop_assert_eq!(f.therapist_id, f.therapists.first().copied());
                prop_assert!(validate::parse_date(&f.date).is_some());
                prop_assert!(f.start_time < f.end_time, "{} .. {}", f.start_time, f.end_time);
            }
            Err(e) => prop_assert!(is_refusal(&e), "{} {}", e.status(), e.detail),
        }
    }
    Ok(())
}

#[test]
fn fuzz_json_bodies() {
    let db = demo_db();
    let mut corpus = seed_bodies();
    corpus.extend(
        [
            "",
            " ",
            "null",
            "[]",
            "{",
            "{\"a\":1e400}",
            "{\"payment_amount\": 1e300}",
            "{\"duration\": 1e20, \"price\": -0.0}",
            "{\"services\": [1, 1]}",
            "{\"client\": 99999999999999999999}",
            "\u{feff}{}",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec()),
    );
    corpus.push(format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes());
    fuzz("json bodies", corpus, json_bytes(), |b| check_json(&db, b));
}

// ---------------------------------------------------------------------------------------
// (f) Forwarded headers: who the client is (`http::client`).

/// One X-Forwarded-For entry: trusted, untrusted, ports and brackets, or junk.
fn hop() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("127.0.0.1".to_string()),
        Just("10.1.2.3".to_string()),
        Just("203.0.113.7".to_string()),
        Just("[2001:db8::1]:443".to_string()),
        Just("198.51.100.9:5000".to_string()),
        Just("::ffff:10.0.0.9".to_string()),
        "[ -~]{0,12}",
    ]
}

type Forwarded = (bool, Vec<Vec<String>>, Option<String>, Option<String>);

fn check_forwarded((from_proxy, lists, proto, host): Forwarded) -> Result<(), TestCaseError> {
    let mut headers: Vec<(String, String)> = vec![("host".into(), "clinic:8000".into())];
    for l in &lists {
        headers.push(("x-forwarded-for".into(), l.join(", ")));
    }
    headers.extend(proto.map(|p| ("x-forwarded-proto".to_string(), p)));
    headers.extend(host.map(|h| ("x-forwarded-host".to_string(), h)));
    let peer: std::net::SocketAddr = if from_proxy { "127.0.0.1:40000" } else { "192.0.2.50:40000" }.parse().unwrap();
    let trusted: Vec<royal_care::config::ProxyNet> = vec!["127.0.0.1".parse().unwrap(), "10.0.0.0/8".parse().unwrap()];
    let req = Request::new(head_with("GET", "/", headers), Vec::new(), peer, &trusted);
    let c = req.client();
    prop_assert!(c.scheme == "http" || c.scheme == "https");
    prop_assert!(!c.host.is_empty() && !c.host.contains([' ', '/', ',']), "host {:?}", c.host);
    if !from_proxy {
        // Nothing a direct client sends changes who it is.
        prop_assert_eq!(c.ip, peer.ip());
        prop_assert_eq!((c.scheme, c.host.as_str()), ("http", "clinic:8000"));
        return Ok(());
    }
    // Through the proxy, the client is the proxy or an address the headers name.
    let parse = |h: &str| {
        let h = h.trim();
        h.parse::<std::net::IpAddr>().ok().or_else(|| h.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
    };
    let named = lists.iter().flatten().flat_map(|h| h.split(',')).filter_map(parse).any(|ip| ip.to_canonical() == c.ip);
    prop_assert!(c.ip == peer.ip() || named, "{} from {:?}", c.ip, lists);
    Ok(())
}

#[test]
fn fuzz_forwarded_headers() {
    let corpus: Vec<Forwarded> = vec![
        (true, vec![vec!["203.0.113.7".into()]], Some("https".into()), Some("care.example.ph".into())),
        (false, vec![vec!["203.0.113.7".into()]], Some("https".into()), Some("evil".into())),
        (true, vec![vec!["junk".into(), "10.1.2.3".into()]], None, Some("a b".into())),
    ];
    let strategy = (
        any::<bool>(),
        proptest::collection::vec(proptest::collection::vec(hop(), 0..4), 0..3),
        proptest::option::of(prop_oneof![Just("https".to_string()), Just("http, https".to_string()), "[ -~]{0,8}"]),
        proptest::option::of("[ -~]{0,16}"),
    );
    fuzz("forwarded headers", corpus, strategy, check_forwarded);
}
