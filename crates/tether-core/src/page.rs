//! What the page and the device do to a client besides its socket: the
//! back/forward cache, frozen and hidden tabs, sleep, network changes
//! (README "Tabs, sleep and the back/forward cache"). The shell reports
//! them; [`crate::Client::handle_page`] decides. Sleep has no event: the
//! monotonic clock jumps, and every deadline observed later than its own
//! budget is a liveness check, not a verdict (`Client::handle_timeout`).

/// A page or device event the shell saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PageEvent {
    /// `pagehide` with `persisted`: the page goes into the back/forward
    /// cache. The link is closed cleanly (an open WebSocket keeps a page out
    /// of the cache) and nothing is scheduled; subscriptions, listeners and
    /// the queue stay.
    Cached,
    /// `pageshow` with `persisted`: back from the cache; connects at once and
    /// recovers every subscription.
    Restored,
    /// Page Lifecycle `resume` (after `freeze`): the frozen time does not
    /// count against the link; its liveness is checked at once.
    Resumed,
    /// `navigator.connection` `change` (and `online` while open): a link
    /// that survived is kept, a dead one found within the heartbeat timeout.
    NetworkChanged,
    /// `visibilitychange` to visible, or `pageshow` not from the cache: a
    /// ping at once when open (timers were likely throttled).
    Visible,
    /// `visibilitychange` to hidden: pings at `heartbeat.hidden_interval_ms`
    /// when set.
    Hidden,
}
