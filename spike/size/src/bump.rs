//! A size-class free-list allocator (the "tiny one you write"): blocks are
//! rounded up to a power of two from 16 bytes; each class keeps a free list;
//! new blocks come from `memory.grow`. Never returns memory to the page and
//! never coalesces: fine for a client whose allocations are small and
//! repeat (frames, topics), wasteful for one large message after another.
#![allow(dead_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;

const CLASSES: usize = 28; // 16 B .. 2 GiB
const PAGE: usize = 65536;

struct State {
    free: [usize; CLASSES],
    top: usize,
    end: usize,
}

struct Cell(UnsafeCell<State>);
// SAFETY: wasm32 without atomics: one thread.
unsafe impl Sync for Cell {}

static STATE: Cell = Cell(UnsafeCell::new(State {
    free: [0; CLASSES],
    top: 0,
    end: 0,
}));

pub struct Bump;

fn class(layout: Layout) -> usize {
    let size = layout.size().max(layout.align()).max(16);
    (usize::BITS - (size - 1).leading_zeros()) as usize - 4
}

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let s = &mut *STATE.0.get();
        let c = class(layout);
        if c >= CLASSES {
            return core::ptr::null_mut();
        }
        let head = s.free[c];
        if head != 0 {
            s.free[c] = *(head as *const usize);
            return head as *mut u8;
        }
        let size = 16usize << c;
        // Power-of-two blocks aligned to their size (up to a page).
        let align = size.min(PAGE);
        let mut at = (s.top + align - 1) & !(align - 1);
        if at == 0 || at + size > s.end {
            let pages = (size + PAGE - 1) / PAGE;
            let old = core::arch::wasm32::memory_grow(0, pages);
            if old == usize::MAX {
                return core::ptr::null_mut();
            }
            if old * PAGE != s.end {
                at = old * PAGE;
            }
            s.end = (old + pages) * PAGE;
        }
        s.top = at + size;
        at as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let s = &mut *STATE.0.get();
        let c = class(layout);
        *(ptr as *mut usize) = s.free[c];
        s.free[c] = ptr as usize;
    }
}
