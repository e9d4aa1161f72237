//! The numbers that cross the facade <-> wasm boundary on the receive path
//! (every other value crosses as named JSON fields or strings). Defined
//! here once; the facade reads them by name at load (export `contract`),
//! never as bare numbers.

/// Declares the codes and [`JSON`], the same table as one JSON object.
macro_rules! codes {
    ($(#[$d0:meta])* $first:ident = $v0:literal $(, $(#[$d:meta])* $name:ident = $v:literal)* $(,)?) => {
        $(#[$d0])* pub const $first: u32 = $v0;
        $($(#[$d])* pub const $name: u32 = $v;)*
        /// Every code by name: `{"DROP":0,...}`.
        pub const JSON: &str = concat!(
            "{\"", stringify!($first), "\":", stringify!($v0),
            $(",\"", stringify!($name), "\":", stringify!($v),)*
            "}"
        );
    };
}

codes! {
    /// What `message` / `next` return: do nothing with the frame.
    DROP = 0,
    /// Call the callbacks of the publication's topic.
    TOPIC = 1,
    /// Call the app's `onMessage` and `on(type)` listeners.
    APP = 2,
    /// Resolve request `verdict >> KEY_SHIFT` with the frame.
    RESOLVE = 3,
    /// Reject request `verdict >> KEY_SHIFT` with the (`error`) frame.
    REJECT = 4,
    /// (`next` only) the cursor is stale: send the frame's text to `message`.
    STALE = 5,
    /// The request id sits above this many bits of the verdict kind.
    KEY_SHIFT = 3,
    /// The verdict kind is `verdict & KIND_MASK`.
    KIND_MASK = 7,
    /// `page(c, event)`: the page goes into the back/forward cache (`pagehide`, persisted).
    PAGE_CACHED = 0,
    /// Back from the back/forward cache (`pageshow`, persisted).
    PAGE_RESTORED = 1,
    /// Page Lifecycle `resume`.
    PAGE_RESUMED = 2,
    /// `navigator.connection` `change`.
    PAGE_NETWORK_CHANGED = 3,
    /// `visibilitychange` to visible, or `pageshow` not from the cache.
    PAGE_VISIBLE = 4,
    /// `visibilitychange` to hidden.
    PAGE_HIDDEN = 5,
}

/// The page events by code (`PAGE_*`, in [`tether_core::PageEvent`]'s order).
pub const PAGE_EVENTS: [tether_core::PageEvent; 6] = {
    use tether_core::PageEvent::*;
    [Cached, Restored, Resumed, NetworkChanged, Visible, Hidden]
};
