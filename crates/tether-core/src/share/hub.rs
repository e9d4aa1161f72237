//! The leader tab's side of a shared connection: which tabs hold which
//! topics, so that the one socket carries one wire subscription per topic
//! (subscribed by the first tab, unsubscribed when the last lets go), each
//! publication reaches exactly the tabs holding its topic, and a new
//! leader recovers from the earliest position any tab has seen.

use alloc::vec::Vec;

use crate::share::TabId;
use crate::Position;
use alloc::string::String;

/// What the leader must do on its own client for the hub's tabs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HubAction {
    /// Subscribe to `topic` (the first tab holds it), continuing after
    /// `since` when a tab has seen a position.
    Subscribe {
        /// The topic.
        topic: String,
        /// The earliest position the holding tabs have seen.
        since: Option<Position>,
    },
    /// A tab that joined late has seen less than the subscription recovered
    /// from: ask the server again from `since` (tabs drop what they have).
    Recover {
        /// The topic.
        topic: String,
        /// The earlier position.
        since: Position,
    },
    /// Unsubscribe from `topic`: the last tab let go.
    Unsubscribe {
        /// The topic.
        topic: String,
    },
}

#[derive(Debug)]
struct Held {
    topic: String,
    tabs: Vec<TabId>,
    /// The position the wire subscription recovered from (the earliest
    /// any holding tab reported).
    since: Option<Position>,
}

/// The leader's registry of tabs and topics. Decides; the leader's facade
/// performs [`HubAction`]s on its client and forwards publications to
/// [`Hub::route`]'s tabs.
#[derive(Debug, Default)]
pub struct Hub {
    held: Vec<Held>,
}

impl Hub {
    /// An empty hub (a tab that just became the leader).
    pub fn new() -> Hub {
        Hub::default()
    }

    /// `tab` holds `topic`; `seen` is the last position it delivered (a
    /// tab re-announcing its topics to a new leader). The first holder
    /// subscribes; a later one that has seen less than the subscription
    /// recovered from (same epoch) makes it recover from there.
    pub fn hold(&mut self, tab: TabId, topic: &str, seen: Option<Position>) -> Option<HubAction> {
        match self.held.iter_mut().find(|h| h.topic == topic) {
            Some(h) => {
                if !h.tabs.contains(&tab) {
                    h.tabs.push(tab);
                }
                match (&h.since, seen) {
                    (Some(since), Some(seen))
                        if seen.epoch == since.epoch && seen.offset < since.offset =>
                    {
                        h.since = Some(seen.clone());
                        Some(HubAction::Recover {
                            topic: h.topic.clone(),
                            since: seen,
                        })
                    }
                    _ => None,
                }
            }
            None => {
                self.held.push(Held {
                    topic: String::from(topic),
                    tabs: alloc::vec![tab],
                    since: seen.clone(),
                });
                Some(HubAction::Subscribe {
                    topic: String::from(topic),
                    since: seen,
                })
            }
        }
    }

    /// `tab` no longer holds `topic`; the last holder unsubscribes.
    pub fn release(&mut self, tab: TabId, topic: &str) -> Option<HubAction> {
        let i = self.held.iter().position(|h| h.topic == topic)?;
        let h = self.held.get_mut(i)?;
        h.tabs.retain(|t| *t != tab);
        if !h.tabs.is_empty() {
            return None;
        }
        let h = self.held.remove(i);
        Some(HubAction::Unsubscribe { topic: h.topic })
    }

    /// `tab` is gone (closed, crashed, navigated away): every topic it held
    /// is released.
    pub fn leave(&mut self, tab: TabId) -> Vec<HubAction> {
        let topics: Vec<String> = self
            .held
            .iter()
            .filter(|h| h.tabs.contains(&tab))
            .map(|h| h.topic.clone())
            .collect();
        topics.iter().filter_map(|t| self.release(tab, t)).collect()
    }

    /// The tabs a publication on `topic` goes to, in the order they joined.
    pub fn route(&self, topic: &str) -> &[TabId] {
        self.held
            .iter()
            .find(|h| h.topic == topic)
            .map_or(&[], |h| h.tabs.as_slice())
    }

    /// The topics on the wire, in the order they were first held.
    pub fn topics(&self) -> impl Iterator<Item = &str> {
        self.held.iter().map(|h| h.topic.as_str())
    }
}
