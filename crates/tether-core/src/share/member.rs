//! One tab's side of a shared connection (the leader tab is a member too):
//! what it holds, the last position it delivered per topic, and the one
//! rule that makes a leader handoff lose and repeat nothing: a publication
//! at or before the last one delivered in the same epoch is a duplicate
//! (a new leader recovers from the earliest position any tab saw, so the
//! others get some twice).

use alloc::string::String;
use alloc::vec::Vec;

use crate::Position;

#[derive(Debug)]
struct Topic {
    name: String,
    /// The last publication delivered here.
    seen: Option<Position>,
}

/// A tab's topics and positions.
#[derive(Debug, Default)]
pub struct Member {
    topics: Vec<Topic>,
}

impl Member {
    /// A tab with no topic yet.
    pub fn new() -> Member {
        Member::default()
    }

    /// The tab holds `topic` (its first local subscription there), from
    /// `since` if the app gave a saved position.
    pub fn hold(&mut self, topic: &str, since: Option<Position>) {
        if !self.topics.iter().any(|t| t.name == topic) {
            self.topics.push(Topic {
                name: String::from(topic),
                seen: since,
            });
        }
    }

    /// The tab's last local subscription on `topic` went.
    pub fn release(&mut self, topic: &str) {
        self.topics.retain(|t| t.name != topic);
    }

    /// A publication the leader forwarded: whether to deliver it (a topic
    /// held, and not a duplicate). Records it as seen.
    pub fn accept(&mut self, topic: &str, epoch: &str, offset: u64) -> bool {
        let Some(t) = self.topics.iter_mut().find(|t| t.name == topic) else {
            return false;
        };
        if let Some(seen) = &mut t.seen {
            if seen.epoch == epoch {
                if offset <= seen.offset {
                    return false;
                }
                seen.offset = offset;
                return true;
            }
        }
        t.seen = Some(Position {
            epoch: String::from(epoch),
            offset,
        });
        true
    }

    /// What to tell a new leader: each topic held, with the last position
    /// delivered (`Hub::hold`).
    pub fn announce(&self) -> impl Iterator<Item = (&str, Option<&Position>)> {
        self.topics
            .iter()
            .map(|t| (t.name.as_str(), t.seen.as_ref()))
    }
}
