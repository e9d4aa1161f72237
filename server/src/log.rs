//! A topic's log: epoch, latest offset and bounded history, and the rules
//! that answer recovery (`recover`), `rewind` and a broker's publications
//! (`apply`, `sync`).
//!
//! Pure: no clock, no randomness, no locks, no I/O. The time (`Instant`,
//! and the wall-clock timestamp a publication carries) and a new log's
//! epoch are passed in, so the rules are unit-tested here with made-up
//! times, as the client core's are. The hub ([`crate::hub`]) holds one log
//! per topic under that topic's lock and does the fan-out.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use tether_protocol::frames::{Publication, Recover, ServerFrame};

/// A publication kept for recovery.
#[derive(Debug, Clone)]
pub struct Kept {
    /// Its offset.
    pub offset: u64,
    /// When it was published (for `--history-ttl`).
    pub at: Instant,
    /// The publication frame, serialized.
    pub frame: Bytes,
}

/// A topic's log as the broker has it: what [`crate::hub::Hub::sync`]
/// brings the mirror to.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The topic's epoch.
    pub epoch: String,
    /// The latest offset (0: nothing published in this epoch).
    pub offset: u64,
    /// The kept publications, oldest first (contiguous offsets ending at
    /// `offset`, or empty).
    pub history: Vec<Kept>,
}

/// What a topic's history keeps, and how much one recovery may replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Publications kept (`--history-size`).
    pub count: usize,
    /// Bytes of publication frames kept (`--history-bytes`).
    pub bytes: usize,
    /// Age limit (`--history-ttl`).
    pub ttl: Duration,
    /// Bytes one recovery may replay (`--replay-bytes`); a recovery that
    /// would replay more is answered `recovered: false`.
    pub replay_bytes: usize,
}

/// What [`crate::hub::Hub::apply`] did with a publication from the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Next in order: kept and queued for the subscribers.
    Delivered,
    /// Already applied (its offset is not ahead of the mirror's).
    Duplicate,
    /// Publications are missing before it (or it starts a new epoch past
    /// offset 1): nothing was applied; [`crate::hub::Hub::sync`] the topic.
    Gap,
}

/// The answer to a recovery request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Recovery {
    /// No recovery asked.
    NotAsked,
    /// Recovered: these offsets follow.
    Replay(usize),
    /// Not recoverable (too old, ahead, or another epoch).
    Failed,
}

/// What [`MemoryLog::sync`] did to the log.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SyncStep {
    /// Already at the snapshot.
    Unchanged,
    /// Behind it: these publication frames were appended, oldest first
    /// (the subscribers must get them).
    Replayed(Vec<Bytes>),
    /// Replaced by the snapshot, since it could not be reached without a
    /// gap; `lost`: publications missed (0 when unknown: a new epoch).
    Reset {
        /// Publications missed.
        lost: u64,
    },
}

/// A topic's in-memory log: epoch, latest offset and bounded history.
#[derive(Debug)]
pub struct MemoryLog {
    epoch: String,
    offset: u64,
    /// The latest publication, kept even when the history is not.
    latest: Option<Bytes>,
    history: VecDeque<Kept>,
    /// Bytes of the frames in `history`.
    bytes: usize,
    retention: Retention,
}

impl MemoryLog {
    /// An empty log in `epoch` (see [`new_epoch`]).
    pub fn new(epoch: String, retention: Retention) -> Self {
        MemoryLog {
            epoch,
            offset: 0,
            latest: None,
            history: VecDeque::new(),
            bytes: 0,
            retention,
        }
    }

    /// The epoch.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// The latest offset (0: nothing published in this epoch).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The latest publication frame, `None` when nothing was published in
    /// this epoch.
    pub fn latest(&self) -> Option<&Bytes> {
        self.latest.as_ref()
    }

    /// Appends a publication at `at` (its frame's `timestamp`:
    /// `timestamp`); returns its offset and its frame text.
    pub(crate) fn append(
        &mut self,
        topic: &str,
        event: Option<String>,
        data: Value,
        at: Instant,
        timestamp: String,
    ) -> (u64, Bytes) {
        self.offset += 1;
        let frame = ServerFrame::Publication(Publication {
            topic: topic.to_owned(),
            event: event.unwrap_or_else(|| format!("{topic}_update")),
            epoch: self.epoch.clone(),
            offset: self.offset,
            broadcast_id: format!("{topic}_{}_{}", self.epoch, self.offset),
            timestamp,
            data,
        });
        let text = Bytes::from(frame.encode());
        self.latest = Some(text.clone());
        self.keep(Kept {
            offset: self.offset,
            at,
            frame: text.clone(),
        });
        self.expire(at);
        (self.offset, text)
    }

    /// Mirror mode: applies a publication the broker numbered, in order:
    /// keeps it when it is the next offset of this epoch, or the first of a
    /// new epoch.
    pub(crate) fn apply(&mut self, epoch: &str, kept: Kept, now: Instant) -> Applied {
        if epoch == self.epoch {
            if kept.offset <= self.offset {
                return Applied::Duplicate;
            }
            if kept.offset > self.offset + 1 {
                return Applied::Gap;
            }
        } else if kept.offset == 1 {
            // The broker lost the history (e.g. it was flushed) while this
            // process was following it live: nothing was missed, the
            // subscribers see the new epoch on the next publication.
            self.reset(
                Snapshot {
                    epoch: epoch.to_owned(),
                    offset: 0,
                    history: Vec::new(),
                },
                now,
            );
        } else {
            return Applied::Gap;
        }
        self.push(kept, now);
        Applied::Delivered
    }

    /// Mirror mode: brings the log to the broker's `snapshot`: appends what
    /// it lacks when the snapshot still has all of it, else replaces it.
    pub(crate) fn sync(&mut self, snapshot: Snapshot, now: Instant) -> SyncStep {
        if snapshot.epoch == self.epoch && snapshot.offset == self.offset {
            SyncStep::Unchanged
        } else if snapshot.epoch == self.epoch
            && snapshot.offset > self.offset
            && snapshot
                .history
                .first()
                .is_some_and(|k| k.offset <= self.offset + 1)
        {
            let from = self.offset;
            let mut frames = Vec::new();
            for kept in snapshot.history.into_iter().filter(|k| k.offset > from) {
                frames.push(kept.frame.clone());
                self.push(kept, now);
            }
            SyncStep::Replayed(frames)
        } else {
            let lost = if snapshot.epoch == self.epoch {
                snapshot.offset.saturating_sub(self.offset)
            } else {
                0
            };
            self.reset(snapshot, now);
            SyncStep::Reset { lost }
        }
    }

    /// Keeps a publication the broker numbered (the next offset).
    fn push(&mut self, kept: Kept, now: Instant) {
        self.offset = kept.offset;
        self.latest = Some(kept.frame.clone());
        self.keep(kept);
        self.expire(now);
    }

    /// Adds a publication to the history, then drops the oldest ones until
    /// the history is within its count and bytes.
    fn keep(&mut self, kept: Kept) {
        self.bytes += kept.frame.len();
        self.history.push_back(kept);
        while self.history.len() > self.retention.count || self.bytes > self.retention.bytes {
            self.drop_oldest();
        }
    }

    fn drop_oldest(&mut self) {
        if let Some(old) = self.history.pop_front() {
            self.bytes -= old.frame.len();
        }
    }

    /// Replaces the log by a broker snapshot.
    fn reset(&mut self, snapshot: Snapshot, now: Instant) {
        self.epoch = snapshot.epoch;
        self.offset = snapshot.offset;
        self.latest = snapshot
            .history
            .last()
            .filter(|k| k.offset == snapshot.offset)
            .map(|k| k.frame.clone());
        self.history.clear();
        self.bytes = 0;
        for kept in snapshot.history {
            self.keep(kept);
        }
        self.expire(now);
    }

    /// Drops kept publications older than the TTL.
    fn expire(&mut self, now: Instant) {
        while self
            .history
            .front()
            .is_some_and(|k| now.saturating_duration_since(k.at) > self.retention.ttl)
        {
            self.drop_oldest();
        }
    }

    /// Decides a recovery request and counts what would be replayed.
    pub(crate) fn recover(&mut self, from: Option<&Recover>, now: Instant) -> Recovery {
        let Some(pos) = from else {
            return Recovery::NotAsked;
        };
        if pos.epoch != self.epoch || pos.offset > self.offset {
            return Recovery::Failed;
        }
        if pos.offset == self.offset {
            return Recovery::Replay(0);
        }
        self.expire(now);
        match self.history.front() {
            // Offsets are contiguous: everything after `pos` is kept iff the
            // oldest kept one is at most `pos + 1`.
            Some(oldest) if oldest.offset <= pos.offset + 1 => {
                let n = (self.offset - pos.offset) as usize;
                let bytes: usize = self
                    .history
                    .iter()
                    .rev()
                    .take(n)
                    .map(|k| k.frame.len())
                    .sum();
                if bytes > self.retention.replay_bytes {
                    return Recovery::Failed;
                }
                Recovery::Replay(n)
            }
            _ => Recovery::Failed,
        }
    }

    /// How many of the latest kept publications a `rewind: n` replays: at
    /// most `n`, and no more than `--replay-bytes` of frames.
    pub(crate) fn rewind(&mut self, n: u64, now: Instant) -> usize {
        self.expire(now);
        let mut bytes = 0;
        self.history
            .iter()
            .rev()
            .take(usize::try_from(n).unwrap_or(usize::MAX))
            .take_while(|k| {
                bytes += k.frame.len();
                bytes <= self.retention.replay_bytes
            })
            .count()
    }

    /// The last `n` kept frames, oldest first.
    pub(crate) fn last(&self, n: usize) -> impl Iterator<Item = Bytes> + '_ {
        self.history
            .iter()
            .skip(self.history.len().saturating_sub(n))
            .map(|k| k.frame.clone())
    }
}

/// A new random epoch (`e` + 8 hex digits).
pub fn new_epoch() -> String {
    format!("e{:08x}", fastrand::u32(..))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TS: &str = "2026-11-22T10:00:00.000Z";

    fn retention(count: usize) -> Retention {
        Retention {
            count,
            bytes: usize::MAX,
            ttl: Duration::from_secs(60),
            replay_bytes: usize::MAX,
        }
    }

    fn log(count: usize) -> MemoryLog {
        MemoryLog::new("e1".into(), retention(count))
    }

    fn pos(log: &MemoryLog, offset: u64) -> Recover {
        Recover {
            epoch: log.epoch.clone(),
            offset,
        }
    }

    /// Appends a `null` publication on `t` at `at`.
    fn publish(l: &mut MemoryLog, at: Instant) -> u64 {
        l.append("t", None, Value::Null, at, TS.into()).0
    }

    /// A publication from the broker: offset `offset`, frame `f<offset>`.
    fn kept(offset: u64, at: Instant) -> Kept {
        Kept {
            offset,
            at,
            frame: Bytes::from(format!("f{offset}")),
        }
    }

    fn offsets(frames: impl Iterator<Item = Bytes>) -> Vec<String> {
        frames
            .map(|f| String::from_utf8(f.to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn offsets_start_at_one_and_frames_have_the_wire_fields() {
        let mut l = log(10);
        let now = Instant::now();
        let (o1, f1) = l.append("miners", None, serde_json::json!({"x":1}), now, TS.into());
        let (o2, _) = l.append("miners", Some("boom".into()), Value::Null, now, TS.into());
        assert_eq!((o1, o2), (1, 2));
        let v: Value = serde_json::from_slice(&f1).unwrap();
        assert_eq!(v["type"], "publication");
        assert_eq!(v["event"], "miners_update");
        assert_eq!(v["epoch"], "e1");
        assert_eq!(v["offset"], 1);
        assert_eq!(v["broadcast_id"], "miners_e1_1");
        assert_eq!(v["timestamp"], TS);
        assert_eq!(v["data"]["x"], 1);
    }

    #[test]
    fn recovery_rules() {
        let mut l = log(3);
        let now = Instant::now();
        assert_eq!(l.recover(None, now), Recovery::NotAsked);
        assert_eq!(l.recover(Some(&pos(&l, 0)), now), Recovery::Replay(0));
        for _ in 0..5 {
            publish(&mut l, now);
        }
        // Kept: 3, 4, 5.
        assert_eq!(l.recover(Some(&pos(&l, 5)), now), Recovery::Replay(0));
        assert_eq!(l.recover(Some(&pos(&l, 2)), now), Recovery::Replay(3));
        assert_eq!(l.recover(Some(&pos(&l, 1)), now), Recovery::Failed);
        assert_eq!(l.recover(Some(&pos(&l, 6)), now), Recovery::Failed);
        let other = Recover {
            epoch: "other".into(),
            offset: 4,
        };
        assert_eq!(l.recover(Some(&other), now), Recovery::Failed);
        let replay: Vec<u64> = l
            .last(2)
            .map(|f| {
                serde_json::from_slice::<Value>(&f).unwrap()["offset"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(replay, [4, 5]);
    }

    #[test]
    fn recovery_respects_ttl() {
        let mut l = MemoryLog::new(
            "e1".into(),
            Retention {
                ttl: Duration::from_secs(1),
                ..retention(10)
            },
        );
        let t0 = Instant::now();
        publish(&mut l, t0);
        publish(&mut l, t0);
        // At exactly the TTL a publication is still kept.
        assert_eq!(
            l.recover(Some(&pos(&l, 0)), t0 + Duration::from_secs(1)),
            Recovery::Replay(2)
        );
        let later = t0 + Duration::from_secs(5);
        assert_eq!(l.recover(Some(&pos(&l, 1)), later), Recovery::Failed);
        // Being up to date needs no history.
        assert_eq!(l.recover(Some(&pos(&l, 2)), later), Recovery::Replay(0));
    }

    /// Expiry happens on every append too, with the time it is given.
    #[test]
    fn appending_expires_by_the_time_passed_in() {
        let mut l = MemoryLog::new(
            "e1".into(),
            Retention {
                ttl: Duration::from_secs(1),
                ..retention(10)
            },
        );
        let t0 = Instant::now();
        publish(&mut l, t0);
        publish(&mut l, t0 + Duration::from_millis(500));
        assert_eq!(l.history.len(), 2);
        publish(&mut l, t0 + Duration::from_millis(1200));
        assert_eq!(l.history.len(), 2, "offset 1 expired, 2 and 3 kept");
        assert_eq!(l.history.front().map(|k| k.offset), Some(2));
    }

    /// The history keeps at most `bytes` of frames, dropping the oldest;
    /// a recovery that would replay more than `replay_bytes` fails.
    #[test]
    fn history_and_replay_are_bounded_in_bytes() {
        let now = Instant::now();
        let frame_len = |l: &mut MemoryLog| {
            l.append("t", None, Value::String("x".repeat(1000)), now, TS.into())
                .1
                .len()
        };
        let one = frame_len(&mut log(1));
        let mut l = MemoryLog::new(
            "e1".into(),
            Retention {
                bytes: 3 * one,
                replay_bytes: 2 * one,
                ..retention(100)
            },
        );
        for _ in 0..5 {
            assert_eq!(frame_len(&mut l), one);
        }
        assert_eq!(l.history.len(), 3, "kept: 3, 4, 5");
        assert_eq!(l.bytes, 3 * one);
        assert_eq!(l.recover(Some(&pos(&l, 3)), now), Recovery::Replay(2));
        assert_eq!(
            l.recover(Some(&pos(&l, 2)), now),
            Recovery::Failed,
            "3 frames: over the replay cap"
        );
        assert_eq!(
            l.recover(Some(&pos(&l, 1)), now),
            Recovery::Failed,
            "no longer kept"
        );
        // One publication over the byte cap is not kept at all; the latest
        // still is.
        let mut l = MemoryLog::new(
            "e1".into(),
            Retention {
                bytes: one - 1,
                ..retention(100)
            },
        );
        frame_len(&mut l);
        assert!(l.history.is_empty() && l.latest.is_some());
        assert_eq!(l.bytes, 0);
    }

    #[test]
    fn zero_history_never_replays() {
        let mut l = log(0);
        let now = Instant::now();
        publish(&mut l, now);
        assert_eq!(l.recover(Some(&pos(&l, 0)), now), Recovery::Failed);
    }

    /// `rewind: n` replays the latest n kept, fewer when the replay cap or
    /// the TTL says so.
    #[test]
    fn rewind_is_bounded_by_count_bytes_and_age() {
        let t0 = Instant::now();
        let mut l = MemoryLog::new(
            "e1".into(),
            Retention {
                ttl: Duration::from_secs(10),
                ..retention(3)
            },
        );
        assert_eq!(l.rewind(5, t0), 0, "nothing published");
        for s in 0..5 {
            publish(&mut l, t0 + Duration::from_secs(s));
        }
        // Kept: 3, 4, 5 (published at 2 s, 3 s, 4 s).
        assert_eq!(l.rewind(2, t0 + Duration::from_secs(4)), 2);
        assert_eq!(l.rewind(u64::MAX, t0 + Duration::from_secs(4)), 3);
        assert_eq!(l.rewind(0, t0 + Duration::from_secs(4)), 0);
        // At 13 s the one published at 2 s is older than the TTL.
        assert_eq!(l.rewind(u64::MAX, t0 + Duration::from_secs(13)), 2);
        let one = l.latest.as_ref().unwrap().len();
        l.retention.replay_bytes = one + one / 2;
        assert_eq!(l.rewind(u64::MAX, t0 + Duration::from_secs(13)), 1);
    }

    #[test]
    fn apply_takes_the_next_offset_only() {
        let t0 = Instant::now();
        let mut l = log(10);
        assert_eq!(l.apply("e1", kept(1, t0), t0), Applied::Delivered);
        assert_eq!(l.apply("e1", kept(2, t0), t0), Applied::Delivered);
        assert_eq!(l.apply("e1", kept(2, t0), t0), Applied::Duplicate);
        assert_eq!(l.apply("e1", kept(1, t0), t0), Applied::Duplicate);
        assert_eq!(l.apply("e1", kept(4, t0), t0), Applied::Gap);
        assert_eq!(l.offset(), 2, "a gap applies nothing");
        assert_eq!(offsets(l.last(10)), ["f1", "f2"]);
        assert_eq!(l.latest().cloned(), Some(Bytes::from("f2")));
    }

    /// A new epoch is followed live only from its offset 1 (the broker lost
    /// its history while this process followed it); past 1 it is a gap.
    #[test]
    fn apply_follows_a_new_epoch_from_offset_one() {
        let t0 = Instant::now();
        let mut l = log(10);
        l.apply("e1", kept(1, t0), t0);
        assert_eq!(l.apply("e2", kept(2, t0), t0), Applied::Gap);
        assert_eq!(l.epoch(), "e1");
        assert_eq!(l.apply("e2", kept(1, t0), t0), Applied::Delivered);
        assert_eq!((l.epoch(), l.offset()), ("e2", 1));
        assert_eq!(offsets(l.last(10)), ["f1"]);
        assert_eq!(l.recover(Some(&pos(&l, 0)), t0), Recovery::Replay(1));
    }

    #[test]
    fn sync_replays_what_the_snapshot_still_has() {
        let t0 = Instant::now();
        let mut l = log(10);
        l.apply("e1", kept(1, t0), t0);
        let snapshot = |offset: u64, from: u64| Snapshot {
            epoch: "e1".into(),
            offset,
            history: (from..=offset).map(|o| kept(o, t0)).collect(),
        };
        assert_eq!(l.sync(snapshot(1, 1), t0), SyncStep::Unchanged);
        assert_eq!(
            l.sync(snapshot(4, 2), t0),
            SyncStep::Replayed(vec!["f2".into(), "f3".into(), "f4".into()])
        );
        assert_eq!(offsets(l.last(10)), ["f1", "f2", "f3", "f4"]);
        // Offsets 5 and 6 are no longer kept by the broker: a reset, and
        // the log is the snapshot's.
        assert_eq!(l.sync(snapshot(9, 7), t0), SyncStep::Reset { lost: 5 });
        assert_eq!(l.offset(), 9);
        assert_eq!(offsets(l.last(10)), ["f7", "f8", "f9"]);
        assert_eq!(l.latest().cloned(), Some(Bytes::from("f9")));
    }

    #[test]
    fn sync_to_another_epoch_resets_with_an_unknown_loss() {
        let t0 = Instant::now();
        let mut l = log(10);
        l.apply("e1", kept(1, t0), t0);
        let step = l.sync(
            Snapshot {
                epoch: "e2".into(),
                offset: 3,
                history: vec![kept(2, t0)],
            },
            t0,
        );
        assert_eq!(step, SyncStep::Reset { lost: 0 });
        assert_eq!((l.epoch(), l.offset()), ("e2", 3));
        // The snapshot's history does not reach its offset: no latest.
        assert_eq!(l.latest(), None);
        assert_eq!(offsets(l.last(10)), ["f2"]);
    }

    /// A snapshot's publications older than the TTL are not kept.
    #[test]
    fn sync_expires_by_the_time_passed_in() {
        let t0 = Instant::now();
        let mut l = MemoryLog::new(
            "e1".into(),
            Retention {
                ttl: Duration::from_secs(1),
                ..retention(10)
            },
        );
        let step = l.sync(
            Snapshot {
                epoch: "e2".into(),
                offset: 2,
                history: vec![kept(1, t0), kept(2, t0 + Duration::from_secs(2))],
            },
            t0 + Duration::from_secs(2),
        );
        assert_eq!(step, SyncStep::Reset { lost: 0 });
        assert_eq!(offsets(l.last(10)), ["f2"]);
    }
}
