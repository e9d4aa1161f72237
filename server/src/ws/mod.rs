//! The server side of RFC 6455, written for this server's needs: bounded
//! memory per connection (nothing is kept at the size of the largest frame
//! a connection handled), close 1002 on a protocol violation, and frames
//! written straight from the shared publication buffers.
//!
//! [`upgrade`](mod@upgrade) does the handshake, [`read`](mod@read) reads client messages,
//! [`write`](mod@write) writes server frames, [`frame`](mod@frame) holds the header codec both
//! use. No extensions (no compression), no subprotocols.

pub mod frame;
pub mod read;
pub mod upgrade;
pub mod write;

pub use frame::OpCode;
pub use read::{Message, ReadError, Reader};
pub use upgrade::Upgrade;
pub use write::Writer;
