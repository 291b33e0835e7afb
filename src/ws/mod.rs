//! WebSocket transport (RFC 6455): is a request a valid upgrade, which token does it
//! carry, the `101` answer (`handshake`), and server frames built as bytes (`frame`).
//! It knows nothing of users, events or rules: `live` runs the live-updates endpoint on
//! top of it, and the hub builds each event's frame once with `frame`.

pub mod frame;
pub mod handshake;
