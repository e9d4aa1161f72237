//! The bodies of Tether's fuzz targets, as plain functions of `&[u8]`, so
//! they build and run on stable: `fuzz/` wraps each in a `fuzz_target!`
//! for `cargo fuzz` (nightly), and `tests/smoke.rs` runs the committed
//! corpus and seeded pseudo-random inputs through them in the test command.
//!
//! Each function panics when an input breaks a property; see
//! docs/FUZZING.md for the properties, the commands and the results.
//!
//! - [`decode_client`]: the server's frame decoder
//!   (`tether_protocol::frames::decode_client`) and its error replies.
//! - [`publish_body`]: the `POST /publish` body parser
//!   (`tether_server::http::parse_publish_body`).
//! - [`core_events`]: the sans-IO client core driven by an arbitrary
//!   sequence of app calls, socket events, frames and clock moves.
#![forbid(unsafe_code)]

mod checks;
mod core;
mod decode;
mod json;
mod publish;

pub use checks::{Checks, CHECKS, ERROR_REPLY_MAX_BYTES};
pub use core::{core_events, core_events_with, describe_core_input};
pub use decode::{decode_client, decode_client_with};
pub use publish::{publish_body, publish_body_with};
