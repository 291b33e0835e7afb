//! The HTTP side of opening a socket: is this a valid upgrade request, which token does
//! it carry, and the `101 Switching Protocols` answer. Tokens are accepted, in order of
//! preference, from `Sec-WebSocket-Protocol: bearer, <token>` (kept out of URLs and
//! logs; answered with `bearer` only), `Authorization: Token <token>` (non-browser
//! clients) and `?token=` (what existing clients send; redacted in the access log; a bad
//! one is refused before the upgrade, `Upgrade::by_query`).

use crate::error::{ApiError, ErrorCode};
use crate::http::{Request, Response};

/// A request that may be upgraded.
pub struct Upgrade {
    accept: String,
    /// The client offered the `bearer` subprotocol, so the answer names it.
    bearer: bool,
    pub token: Option<String>,
    /// The token is the one given by `?token=` (perhaps empty), not by subprotocol or
    /// header: such a client is told a bad token before the upgrade (see `live`).
    pub by_query: bool,
}

/// Checks the upgrade headers; the error is the HTTP answer to send instead.
pub fn check(req: &Request) -> Result<Upgrade, Response> {
    if req.method() != "GET" {
        return Err(Response::from(ApiError::method_not_allowed()).header("Allow", "GET"));
    }
    let has_token = |name: &str, token: &str| {
        req.header(name).is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if !has_token("upgrade", "websocket") || !has_token("connection", "upgrade") {
        let e =
            ApiError::new(ErrorCode::UpgradeRequired, "This address is a WebSocket; connect with a WebSocket client.");
        return Err(Response::from(e).header("Upgrade", "websocket").header("Connection", "Upgrade"));
    }
    if req.header("sec-websocket-version").map(str::trim) != Some("13") {
        let e = ApiError::new(ErrorCode::UpgradeRequired, "Only WebSocket version 13 is supported; update the client.");
        return Err(Response::from(e).header("Sec-WebSocket-Version", "13"));
    }
    let Some(key) = req.header("sec-websocket-key").map(str::trim).filter(|k| !k.is_empty()) else {
        return Err(ApiError::bad_request("The Sec-WebSocket-Key header is missing.").into());
    };
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let (bearer, from_protocol) = protocol_token(req);
    let from_client = from_protocol.or_else(|| req.token().map(str::to_string));
    let by_query = from_client.is_none() && req.query_param("token").is_some();
    let token = from_client.or_else(|| req.query_param("token")).filter(|t| !t.is_empty());
    Ok(Upgrade { accept, bearer, token, by_query })
}

/// `Sec-WebSocket-Protocol: bearer, <token>` → (offered bearer, the token).
fn protocol_token(req: &Request) -> (bool, Option<String>) {
    let Some(v) = req.header("sec-websocket-protocol") else {
        return (false, None);
    };
    let parts: Vec<&str> = v.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
    match parts.iter().position(|p| p.eq_ignore_ascii_case("bearer")) {
        Some(i) => (true, parts.iter().enumerate().find(|(j, _)| *j != i).map(|(_, t)| t.to_string())),
        None => (false, None),
    }
}

/// The `101 Switching Protocols` head.
pub fn accepted(up: &Upgrade) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        up.accept
    );
    if up.bearer {
        head.push_str("Sec-WebSocket-Protocol: bearer\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}
