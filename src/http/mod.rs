//! HTTP/1.1 on `std::net`, owned by us rather than tiny_http (SPEC §2): bounded heads,
//! bodies and connection counts, a timeout on every socket, and WebSocket upgrades handed
//! over on the raw `TcpStream`.
//!
//! `parse` turns bytes into a request head (a pure function, fuzzed); `conn` runs one
//! keep-alive connection; `server` owns the accept loop and the connection bound;
//! `request`/`response` are the values handlers see; `cors` decides which origins may call.

pub mod conn;
pub mod cors;
pub mod parse;
pub mod request;
pub mod response;
pub mod server;

pub use request::Request;
pub use response::Response;

/// What the router answers for a request.
pub enum Reply {
    Response(Response),
    /// The request asks to become a WebSocket; `conn` hands the socket to `ws`.
    Upgrade,
}
