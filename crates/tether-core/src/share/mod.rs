//! Sharing one connection across the tabs of a browser (issue 15), as
//! sans-IO state: the leader tab's [`Hub`] decides what its one client
//! subscribes to and which tabs each publication goes to; every tab's
//! [`Member`] decides what to deliver, so that a leader handoff (the
//! leader tab closed, crashed, frozen) loses and repeats nothing within the
//! server's history. Electing the leader (Web Locks) and carrying messages
//! between tabs (BroadcastChannel) are the facade's to perform.

mod hub;
mod member;

pub use hub::{Hub, HubAction};
pub use member::Member;

/// A tab, as the tabs sharing a connection name each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TabId(pub u32);
