//! WebSocket transport (RFC 6455): is a request a valid upgrade, which token does it
//! carry, the `101` answer (`handshake`), frames as bytes (`frame`: built for the
//! server, counted for the client), and every close code in one enum
//! (`close::CloseCode`, documented in docs/LIVE_UPDATES.md). It knows nothing of users,
//! events or rules: `live` runs the live-updates endpoint on top of it, and the hub
//! builds each event's frame once with `frame`.

pub mod close;
pub mod frame;
pub mod handshake;

pub use close::CloseCode;
