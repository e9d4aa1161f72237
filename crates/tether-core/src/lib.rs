//! Sans-IO Tether client: the state machine, backoff, heartbeat deadlines,
//! subscriptions with recovery positions and the send queue.
//!
//! The core never touches a socket, a timer or a clock. The shell (the wasm
//! crate, or a test) drives it:
//!
//! - **inputs** are `handle_*(now, ...)` calls on [`Client`]: socket opened,
//!   frame received (parsed by the shell, decoded here: [`decode`] reads it
//!   through the shell's [`Fields`]), socket closed, timer fired,
//!   online/offline, visible;
//!   plus the app's calls (`connect`, `subscribe`, `send`, `close`, ...);
//! - **outputs** are polled after every input: [`Client::poll_action`] (open,
//!   write to or close a socket), [`Client::poll_event`] (status changed,
//!   subscription state changed) and [`Client::poll_timeout`] (the one next
//!   deadline: the shell keeps exactly one timer armed for it).
//!
//! Time is a [`Timestamp`] argument (ms of a monotonic clock: the browser
//! shell gives `performance.now()`), randomness comes from a seed given to
//! [`Client::new`]. Every socket has a
//! [`SocketId`]; events from a socket the core has let go of are ignored.
//!
//! The crate is `no_std` (it needs only `alloc`) and formats nothing, so the
//! wasm SDK links no `core::fmt` for it.
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;

mod client;
mod config;
mod decode;
mod page;
mod phase;
pub mod share;
mod timers;

pub use client::{
    Action, Client, CloseInfo, Cursor, Event, Inbound, RequestError, RequestKey, State, Status,
    SubState, Verdict,
};
pub use config::{
    Backoff, Config, Heartbeat, Jitter, Mode, QueueLimits, DEFAULT_HEARTBEAT_INTERVAL_MS,
};
pub use decode::{decode, Dialect, Field, Fields, FrameType};
pub use page::PageEvent;
pub use tether_protocol::client::Position;

/// A point in time: milliseconds of a monotonic clock, as given by the
/// shell (`performance.now()` in the browser; any origin). Not wall-clock
/// time: every deadline is one of these, and a wall clock can be moved by
/// the user or NTP. The core only compares and offsets them; the shell
/// turns the status's times into epoch ms for the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// This time plus `ms` (saturating).
    pub fn add_ms(self, ms: u64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to `self`, 0 when `earlier` is later.
    pub fn saturating_diff(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// The generation id of one socket. Each [`Action::Open`] carries a fresh,
/// larger id; the shell passes it back with every event of that socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SocketId(pub u64);
