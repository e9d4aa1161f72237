//! A connection's send queue ([`Outbox`]) and what goes in it.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::task::{Poll, Waker};
use std::time::Instant;

use bytes::Bytes;

use crate::lock;

/// One item of a connection's send queue.
#[derive(Debug)]
pub enum Outbound {
    /// One text frame (shared: publications are serialized once).
    Text(Bytes),
    /// Frames that must go out back to back (`subscribed` + replay). Counts
    /// as one queue slot.
    Batch(Vec<Bytes>),
    /// A protocol-level Ping.
    Ping,
    /// The answer to the client's Ping, with its payload.
    Pong(Vec<u8>),
    /// A close frame; the writer stops after it.
    Close(u16, String),
}

/// A queued item and when it was queued (for `--send-timeout`).
#[derive(Debug)]
pub struct Queued {
    /// What to send.
    pub item: Outbound,
    /// When it was queued.
    pub at: Instant,
}

/// Why [`Outbox::push`] did not queue an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// The queue holds `--send-queue` items.
    Full,
    /// The connection's writer is gone.
    Closed,
}

/// A connection's send queue: bounded, never waits, and holds no memory
/// while empty (an idle connection costs no queue storage; a preallocated
/// channel block would cost about 2 KiB per connection).
///
/// Many producers (the hub under its topic locks, the connection's reader)
/// and one consumer (the writer task). The producers' order is the order
/// of [`Outbox::push`] calls, which the hub's locks make meaningful.
///
/// The writer's waker lives under the same lock as the items (rather than
/// in a `Notify` with a lock of its own): a fan-out to 10k connections
/// takes one lock per connection, not two, and no wake-up can be missed.
#[derive(Debug)]
pub struct Outbox {
    state: Mutex<OutboxState>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct OutboxState {
    items: VecDeque<Queued>,
    closed: bool,
    /// The writer, when it waits for an item.
    writer: Option<Waker>,
}

impl Outbox {
    /// An empty queue of at most `capacity` items (at least 1).
    pub fn new(capacity: usize) -> Self {
        Outbox {
            state: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    /// Queues an item without waiting, and wakes the writer.
    pub fn push(&self, item: Queued) -> Result<(), Rejected> {
        let writer = {
            let mut state = lock(&self.state);
            if state.closed {
                return Err(Rejected::Closed);
            }
            if state.items.len() >= self.capacity {
                return Err(Rejected::Full);
            }
            state.items.push_back(item);
            state.writer.take()
        };
        if let Some(writer) = writer {
            writer.wake();
        }
        Ok(())
    }

    /// The next item, if one is waiting.
    pub fn try_pop(&self) -> Option<Queued> {
        lock(&self.state).pop()
    }

    /// The next item, waiting for one; `None` once closed. For the one
    /// consumer.
    pub async fn pop(&self) -> Option<Queued> {
        std::future::poll_fn(|cx| {
            let mut state = lock(&self.state);
            if let Some(item) = state.pop() {
                return Poll::Ready(Some(item));
            }
            if state.closed {
                return Poll::Ready(None);
            }
            match &mut state.writer {
                Some(waker) => waker.clone_from(cx.waker()),
                none => *none = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await
    }

    /// Drops the queued items, refuses later ones and ends [`Outbox::pop`].
    pub fn close(&self) {
        let writer = {
            let mut state = lock(&self.state);
            state.closed = true;
            state.items = VecDeque::new();
            state.writer.take()
        };
        if let Some(writer) = writer {
            writer.wake();
        }
    }
}

impl OutboxState {
    fn pop(&mut self) -> Option<Queued> {
        let item = self.items.pop_front();
        if self.items.is_empty() && self.items.capacity() > 0 {
            // Give the storage back: most connections are idle most of
            // the time.
            self.items = VecDeque::new();
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn queued(n: u8) -> Queued {
        Queued {
            item: Outbound::Text(Bytes::from(n.to_string())),
            at: Instant::now(),
        }
    }

    fn text(q: Option<Queued>) -> String {
        match q.map(|q| q.item) {
            Some(Outbound::Text(t)) => String::from_utf8(t.to_vec()).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn outbox_is_bounded_ordered_and_empty_when_idle() {
        let o = Outbox::new(2);
        assert_eq!(o.push(queued(1)), Ok(()));
        assert_eq!(o.push(queued(2)), Ok(()));
        assert_eq!(o.push(queued(3)), Err(Rejected::Full));
        assert_eq!(text(o.try_pop()), "1");
        assert_eq!(o.push(queued(4)), Ok(()));
        assert_eq!(text(o.try_pop()), "2");
        assert_eq!(text(o.try_pop()), "4");
        assert!(o.try_pop().is_none());
        // Drained: the storage was given back.
        assert_eq!(lock(&o.state).items.capacity(), 0);
        o.close();
        assert_eq!(o.push(queued(5)), Err(Rejected::Closed));
    }

    #[tokio::test]
    async fn outbox_wakes_its_consumer_and_ends_on_close() {
        let o = Arc::new(Outbox::new(8));
        let consumer = {
            let o = o.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(q) = o.pop().await {
                    got.push(text(Some(q)));
                }
                got
            })
        };
        for n in 1..=3 {
            o.push(queued(n)).unwrap();
            tokio::task::yield_now().await;
        }
        // Once the consumer has taken everything, closing ends it.
        let seen = {
            while !lock(&o.state).items.is_empty() {
                tokio::task::yield_now().await;
            }
            o.close();
            consumer.await.unwrap()
        };
        assert_eq!(seen, ["1", "2", "3"]);
    }
}
