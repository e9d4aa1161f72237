//! Tether: a realtime WebSocket connection SDK for browser dashboards.
//!
//! This crate is the thin browser shell: it owns the `WebSocket`, one timer
//! and the window listeners, and feeds everything into the sans-IO
//! [`tether_core::Client`], which makes every decision. Inbound frames are
//! parsed and routed by a few lines of JS (`src/inbox.js`), so a publication
//! crosses into wasm as two numbers. The JavaScript API is documented in the README and in the
//! generated TypeScript declarations.
//!
//! The crate is `no_std`. Normal builds (tests included) link `std` for its
//! panic handler and allocator; the shipped release build enables the
//! `small` feature instead (`wasm-pack build ... -- --features small`): a
//! panic handler that traps and a tiny allocator, so no panic message,
//! `core::fmt` or dlmalloc ends up in the wasm. Nothing in the SDK is meant
//! to panic either way.
#![no_std]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(not(all(feature = "small", target_arch = "wasm32")))]
extern crate std;

mod client;
mod inbox;
mod js;
mod options;
mod socket;
mod subscription;
mod types;
mod window;

pub use client::Tether;
pub use subscription::Subscription;

/// Release (`small`) builds: a panic traps (the JS caller sees a
/// `RuntimeError: unreachable`), with no message formatting linked in.
#[cfg(all(feature = "small", target_arch = "wasm32"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Release (`small`) builds: a free-list allocator of a few hundred bytes of
/// code instead of dlmalloc. wasm is single-threaded here (no atomics).
#[cfg(all(feature = "small", target_arch = "wasm32"))]
#[global_allocator]
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    // SAFETY: the SDK is built without the `atomics` target feature, so the
    // module never runs on more than one thread.
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
