//! SPIKE (issue 12): the smallest wasm module that owns a browser
//! `WebSocket` and one timer, decodes inbound frames without serde and runs
//! `tether_core::Client`, exposed to JS through one of three binding styles
//! (features `web`, `bindgen`, `raw`). Throwaway code for measuring size;
//! not tested, not shipped.
#![no_std]

extern crate alloc;
#[cfg(feature = "std-panic")]
extern crate std;

mod bump;
#[cfg(not(feature = "floor"))]
mod decode;
#[cfg(feature = "floor")]
mod floor;
#[cfg(not(feature = "floor"))]
mod shell;

#[cfg(feature = "bindgen")]
mod host_bindgen;
#[cfg(feature = "bindgen")]
use host_bindgen as host;
#[cfg(feature = "raw")]
mod host_raw;
#[cfg(feature = "raw")]
use host_raw as host;
#[cfg(feature = "web")]
mod host_web;
#[cfg(feature = "web")]
use host_web as host;

/// Stable stand-in for `panic_immediate_abort`: a panic traps, nothing is
/// formatted, so no `core::fmt` is linked.
#[cfg(not(feature = "std-panic"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(all(feature = "alloc-lol", not(feature = "std-panic")))]
#[global_allocator]
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    // SAFETY: built without the atomics target feature: one thread.
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

#[cfg(all(feature = "alloc-dl", not(feature = "std-panic")))]
#[global_allocator]
static ALLOC: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

#[cfg(not(any(feature = "alloc-lol", feature = "alloc-dl", feature = "std-panic")))]
#[global_allocator]
static ALLOC: bump::Bump = bump::Bump;
