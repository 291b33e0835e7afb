//! WebSocket bytes at the transport level: server frames (`frame`) and close codes
//! (`close`). Both the hub (which builds each event's frame once) and the socket code
//! (`ws`) use them; this module imports nothing from the rest of the crate, so the hub
//! does not depend on `ws`.

pub mod close;
pub mod frame;

pub use close::CloseCode;
