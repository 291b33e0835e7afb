//! Which browser origins may call the API and open WebSockets: the server's own origin
//! (the built-in UI) and those listed in `ROYAL_CARE_ALLOWED_ORIGINS`. One rule for REST
//! (CORS headers) and WebSocket handshakes (403 for a foreign `Origin`).

use super::{Request, Response};

/// True when the request has no `Origin` (not a browser) or an allowed one.
pub fn origin_allowed(allowed: &[String], req: &Request) -> bool {
    match req.header("origin") {
        None => true,
        Some(origin) => is_allowed(allowed, req, origin),
    }
}

fn is_allowed(allowed: &[String], req: &Request, origin: &str) -> bool {
    if allowed.iter().any(|o| o.eq_ignore_ascii_case(origin)) {
        return true;
    }
    // Same origin: the Origin's host:port is the host the browser asked for — behind a
    // trusted proxy its X-Forwarded-Host, and then the scheme must match too (`http::client`).
    let client = req.client();
    if client.host.is_empty() {
        return false;
    }
    if client.via_proxy {
        return origin.eq_ignore_ascii_case(&client.origin());
    }
    let stripped = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
    matches!(stripped, Some(h) if h.eq_ignore_ascii_case(&client.host))
}

/// The request headers an allowed origin may send: ours (`If-Match`) and every one the
/// clinic's original React frontend (axios) sends or its server allowed, so that frontend
/// works unchanged (axios adds `Cache-Control: no-cache`; a preflight that refused it
/// blocked the login). None of them carries a credential but `Authorization`.
pub const ALLOWED_HEADERS: &str = "Accept, Accept-Encoding, Authorization, Cache-Control, Content-Type, DNT, \
     If-Match, Origin, User-Agent, X-CSRFToken, X-Requested-With";

/// A CORS preflight (`OPTIONS` with `Access-Control-Request-Method`), answered here.
pub fn preflight(allowed: &[String], req: &Request) -> Option<Response> {
    if req.method() != "OPTIONS" || req.header("access-control-request-method").is_none() {
        return None;
    }
    let origin = req.header("origin")?;
    let resp = Response::empty(204).header("Vary", "Origin");
    if !is_allowed(allowed, req, origin) {
        return Some(resp);
    }
    Some(
        resp.header("Access-Control-Allow-Origin", origin)
            .header("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
            .header("Access-Control-Allow-Headers", ALLOWED_HEADERS)
            .header("Access-Control-Max-Age", "600"),
    )
}

/// Adds the CORS headers to an answer for an allowed cross-origin caller.
pub fn decorate(allowed: &[String], req: &Request, resp: Response) -> Response {
    match req.header("origin") {
        Some(origin) if is_allowed(allowed, req, origin) => resp
            .header("Access-Control-Allow-Origin", origin)
            .header("Access-Control-Expose-Headers", "Retry-After, WWW-Authenticate")
            .header("Vary", "Origin"),
        _ => resp,
    }
}
