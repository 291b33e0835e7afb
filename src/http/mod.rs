//! HTTP/1.1 on `std::net`, owned by us rather than tiny_http (SPEC §2): bounded heads,
//! bodies and connection counts, a timeout on every socket, and WebSocket upgrades handed
//! over on the raw `TcpStream`. This is transport only: it knows no route and no rule.
//! The layer above implements `Service` (the server composition) and is called for
//! each request.
//!
//! `parse` turns bytes into a request head (a pure function, fuzzed); `conn` runs one
//! keep-alive connection; `budget` bounds the body bytes all connections hold at once;
//! `request`/`response` are the values handlers see; `client` is who asked, as seen
//! through a trusted proxy; `cors` decides which origins may call.

pub mod budget;
pub mod client;
pub mod conn;
pub mod cors;
pub mod parse;
pub mod request;
pub mod response;

pub use request::Request;
pub use response::Response;

use std::net::TcpStream;

/// What the service answers for a request.
pub enum Reply {
    Response(Response),
    /// The request asks to become a WebSocket; `conn` hands the socket to `Service::upgrade`.
    Upgrade,
}

/// What a connection needs from the layer above it.
pub trait Service {
    /// The answer to `req` (HEAD arrives as GET; `conn` drops the body).
    fn route(&self, req: &Request) -> Reply;
    /// Takes over the socket of a request answered with `Reply::Upgrade`. `leftover` is
    /// what was read past the request; `answered` is told the status given, for the log.
    fn upgrade(&self, stream: TcpStream, req: Request, leftover: Vec<u8>, answered: Box<dyn FnOnce(u16) + Send>);
    /// No more keep-alive once the server is stopping.
    fn is_shutting_down(&self) -> bool;
    /// The largest body this request may have, decided from its head before any of the
    /// body is read, or the answer to give instead (e.g. 401 for a large body without a
    /// valid token). `conn` caps it at `max_body_bytes`.
    fn body_limit(&self, head: &parse::Head, framing: parse::Framing) -> Result<usize, crate::error::ApiError>;
    /// The one budget all connections' large bodies share.
    fn body_budget(&self) -> &budget::BodyBudget;
}
