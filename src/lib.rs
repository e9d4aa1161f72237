//! Tether: a realtime WebSocket connection SDK for browser dashboards.
//!
//! This crate is the thin browser shell: it owns the `WebSocket`, one timer
//! and the window listeners, parses frames with the browser's `JSON.parse`,
//! and feeds everything into the sans-IO [`tether_core::Client`], which makes
//! every decision. The JavaScript API is documented in the README and in the
//! generated TypeScript declarations.
#![deny(missing_docs)]

mod client;
mod js;
mod options;
mod socket;
mod subscription;
mod types;
mod window;

pub use client::Tether;
pub use subscription::Subscription;
