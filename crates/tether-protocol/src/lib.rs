//! Tether wire protocol, version 1.
//!
//! Shared by the browser SDK and the reference server. Two layers:
//! - [`close`] and [`client`]: always built, no dependencies. The close-code
//!   policy and the small encoders the SDK needs for the frames it writes.
//! - `frames` (feature `serde`, on by default): serde types for every frame
//!   in both directions and a codec with clear errors. The SDK leaves it off
//!   to stay small: it parses inbound JSON on the JS side.
//!
//! Without `serde` the crate is `no_std` (it needs only `alloc`), and its
//! encoders avoid `core::fmt`, so the SDK's wasm links no formatting code.
#![cfg_attr(not(any(feature = "serde", test)), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub mod client;
pub mod close;
#[cfg(feature = "serde")]
pub mod frames;
#[cfg(feature = "serde")]
pub mod samples;

/// The protocol version this crate speaks (`connection_established.protocol`).
pub const PROTOCOL_VERSION: u32 = 1;
