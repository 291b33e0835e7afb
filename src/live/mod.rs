//! The live-updates endpoint, `/ws/scheduling/appointments/`, on the HTTP port: the
//! WebSocket transport (`crate::ws`) put to work for a user.
//!
//! The server composition hands over the raw `TcpStream` of an upgrade request. Here: check the
//! upgrade (`handshake`), refuse a foreign `Origin` with 403 before upgrading, check the
//! token, answer 101, and then either close at once with 4001 (no or bad token: a
//! browser can tell "log in again" from a network failure, which a refused handshake
//! would not show) or run the session (`session`), whose writes are bounded in kernel
//! buffer and time (`wire`). A bad (or empty) token given by `?token=` is refused with 403
//! before the upgrade instead: the clinic's original frontend sends it that way, gives up
//! after a few refused handshakes, and would reconnect forever after a 101 and a close.
//! Frames the server writes are built by `crate::ws::frame`; close codes are
//! `crate::ws::CloseCode`, documented in docs/LIVE_UPDATES.md.

mod session;
mod wire;

use crate::app::{App, ConnSlot};
use crate::error::ApiError;
use crate::http::{cors, Request, Response};
use crate::ws::{frame, handshake, CloseCode};
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::Duration;

pub const PATH: &str = "/ws/scheduling/appointments/";

/// The handshake's answer and an at-once close are written with this socket timeout;
/// a session's writes have a deadline each (`wire::WRITE_DEADLINE`).
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves an upgrade request on `stream`. `answered` is told the HTTP status given to the
/// handshake (101, or the refusal), for the access log. `slot` is the connection's place
/// in the server's count, kept while the socket lives.
pub fn serve(
    app: &Arc<App>,
    mut stream: TcpStream,
    req: Request,
    leftover: Vec<u8>,
    answered: Box<dyn FnOnce(u16) + Send>,
    slot: Option<ConnSlot>,
) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    wire::bound_send_buffer(&stream);
    let up = match handshake::check(&req) {
        Ok(up) => up,
        Err(resp) => {
            answered(resp.status);
            let _ = resp.write_to(&mut stream, false, false);
            return;
        }
    };
    if !cors::origin_allowed(&app.settings.allowed_origins, &req) {
        log::warn!("refused a WebSocket from {} with a foreign Origin", req.client().ip);
        let e = ApiError::forbidden(
            "This web origin may not open live updates; ask the administrator to add it to ROYAL_CARE_ALLOWED_ORIGINS.",
        );
        answered(403);
        let _ = Response::from(e).write_to(&mut stream, false, false);
        return;
    }
    if app.is_shutting_down() {
        answered(503);
        let _ = Response::from(ApiError::busy()).write_to(&mut stream, false, false);
        return;
    }
    let who = up.token.as_deref().map(|t| app.auth().authenticate_token(t));
    let refused = match &who {
        None => true,
        Some(Err(e)) => e.status() == 401,
        Some(Ok(_)) => false,
    };
    if up.by_query && refused {
        answered(403);
        let e = ApiError::forbidden("This login is not valid (any more); log in again.");
        let _ = Response::from(e).write_to(&mut stream, false, false);
        return;
    }
    answered(101);
    if stream.write_all(&handshake::accepted(&up)).is_err() {
        return;
    }
    // The request is not needed any more; do not keep it for the socket's life.
    let resume = session::Resume { since: req.query_param("since"), epoch: req.query_param("epoch") };
    drop(req);
    match who {
        Some(Ok(p)) => session::run(app, stream, resume, p, (leftover, slot)),
        Some(Err(e)) if e.status() == 401 => {
            close_now(stream, CloseCode::Auth, "invalid or expired token; log in again")
        }
        Some(Err(_)) => close_now(stream, CloseCode::TryAgain, "server busy; try again"),
        None => close_now(stream, CloseCode::Auth, "no token; log in first"),
    }
}

/// Sends a close frame right after the handshake and ends the connection. Nothing was
/// registered for this socket.
fn close_now(mut stream: TcpStream, code: CloseCode, reason: &str) {
    let _ = stream.write_all(&frame::close(code.code(), reason));
    let _ = stream.shutdown(Shutdown::Write);
    session::drain(&stream, Duration::from_secs(1));
}
