//! The SDK's wasm module: `tether_core` behind raw `extern "C"` imports
//! and exports, no wasm-bindgen (docs/DESIGN.md, "The SDK"). The facade
//! (`js/src/`, TypeScript) owns the API; this module owns every decision
//! (through the core) and asks the glue (`js/src/wasm.ts`) to perform:
//! open, write to and close sockets, arm the one timer per client, deliver
//! notices to listeners.
//!
//! On wasm32 with the `small` feature (the shipped build, `build_sdk`)
//! the crate is `no_std` with a panic handler that traps (no `core::fmt`
//! is linked) and lol_alloc; without it (checks of the whole workspace,
//! where another crate's std may be linked anyway) std's. Natively it links
//! std, so its
//! tests (the options, the notices, the shell over a recording host) run
//! with `cargo test -p tether-ws`.
#![cfg_attr(all(target_arch = "wasm32", not(test)), no_std)]
#![deny(missing_docs)]

extern crate alloc;
// Without `small`, std brings the panic handler and the allocator.
#[cfg(all(target_arch = "wasm32", not(test), not(feature = "small")))]
extern crate std;

pub mod contract;
mod exports;
pub mod frame;
// Natively only the tests drive the shell (the exports are wasm32 only).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod host;
pub mod notice;
pub mod options;
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod shell;
mod slots;
pub mod subject;
// Over the recording host, which exists natively only.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod shell_tests;

/// A panic traps (the JS caller sees `RuntimeError: unreachable`), with no
/// message formatting linked in. Nothing here is meant to panic.
#[cfg(all(target_arch = "wasm32", not(test), feature = "small"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// A free-list allocator of a few hundred bytes of code (dlmalloc: +2 KB
/// gzip, docs/spikes/size.md). One thread: no atomics.
#[cfg(all(target_arch = "wasm32", not(test), feature = "small"))]
#[global_allocator]
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    // SAFETY: built without the `atomics` target feature: one thread.
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

/// For a call the facade never makes (a freed client's status, options
/// that are not an object): trap on wasm, panic in native tests.
pub(crate) fn fail<T>() -> T {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::unreachable()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        panic!("tether-ws: a call the facade never makes")
    }
}
