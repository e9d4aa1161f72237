//! Where the client is in its lifecycle, as a type: each phase carries the
//! data that exists only in it, so there is no open state without a link,
//! no retry number while idle, no ping bookkeeping while connecting. The
//! public [`State`] is derived from it, never stored beside it.

use crate::client::State;
use crate::{SocketId, Timestamp};

/// The client's phase (the deadlines that belong to it are in
/// [`crate::timers::Timers`]).
#[derive(Debug)]
// A plain tag, in `State`'s order, so `state()` is the tag itself (the
// default layout hides the tag in a niche of `Open`'s data).
#[repr(u8)]
pub(crate) enum Phase {
    /// Made with `autoConnect: false` (or back online with nothing wanted).
    Idle,
    /// An attempt: the socket is opening, or waiting for
    /// `connection_established`.
    Connecting {
        link: Link,
        /// The retry number of this attempt (0 = the first).
        retry: u32,
        /// The socket's `open` event came.
        opened: bool,
    },
    /// Established.
    Open {
        link: Link,
        /// The retry number of the attempt that opened (judged when the
        /// link ends: unless it lived `stable_after_ms`, it failed).
        retry: u32,
        /// When it was established.
        since: Timestamp,
        /// The ping period.
        interval_ms: u64,
        /// The last unanswered ping, for `rtt_ms`: its id (`None` in raw
        /// mode) and send time.
        ping: Option<(Option<u64>, Timestamp)>,
    },
    /// Waiting for the retry timer before retry `retry`.
    Reconnecting { retry: u32 },
    /// The browser is offline.
    Offline,
    /// Closed by the app.
    Closed,
    /// Gave up; `attempt` is what the status showed then.
    Failed { attempt: u32 },
}

impl Phase {
    /// The public state.
    pub(crate) fn state(&self) -> State {
        match self {
            Phase::Idle => State::Idle,
            Phase::Connecting { .. } => State::Connecting,
            Phase::Open { .. } => State::Open,
            Phase::Reconnecting { .. } => State::Reconnecting,
            Phase::Offline => State::Offline,
            Phase::Closed => State::Closed,
            Phase::Failed { .. } => State::Failed,
        }
    }

    /// The status's `attempt`: the retry number while connecting or waiting
    /// for it, 0 once open.
    pub(crate) fn attempt(&self) -> u32 {
        match self {
            Phase::Connecting { retry, .. } | Phase::Reconnecting { retry } => *retry,
            Phase::Failed { attempt } => *attempt,
            _ => 0,
        }
    }

    /// The current link, while connecting or open.
    pub(crate) fn link(&self) -> Option<&Link> {
        match self {
            Phase::Connecting { link, .. } | Phase::Open { link, .. } => Some(link),
            _ => None,
        }
    }

    /// Whether `socket` is the current link's (generation check).
    pub(crate) fn is_current(&self, socket: SocketId) -> bool {
        self.link().is_some_and(|l| l.socket == socket)
    }

    /// The open link.
    pub(crate) fn open_link(&mut self) -> Option<&mut Link> {
        match self {
            Phase::Open { link, .. } => Some(link),
            _ => None,
        }
    }
}

/// The current socket.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Link {
    pub(crate) socket: SocketId,
    /// Request ids are per connection, from 1.
    pub(crate) next_id: u64,
}

impl Link {
    pub(crate) fn new(socket: SocketId) -> Link {
        Link { socket, next_id: 1 }
    }

    pub(crate) fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }
}
