//! `--broker redis://…`: scale-out over Redis.
//!
//! Several server processes share one Redis. Redis holds, per topic, the
//! truth: the epoch, the offset counter and the kept history. Each process
//! keeps a mirror of every topic's log (the hub in mirror mode) and serves
//! its own clients from it, exactly as the in-memory hub does.
//!
//! Keys of topic `T` (the braces are a Redis Cluster hash tag: one slot per
//! topic):
//! - `tether:{T}:epoch`: the epoch, set (to a random id) when missing. A
//!   missing epoch means the history was lost (Redis flushed or restarted
//!   without persistence), so the counter and history are deleted with it
//!   and offsets restart at 1. Restarting a server process changes nothing.
//! - `tether:{T}:offset`: the latest offset (INCR).
//! - `tether:{T}:log`: a Stream of the last `--history-size` publications,
//!   entry id `<offset>-0`, fields `f` (the frame) and `t` (publish time,
//!   Unix ms, for `--history-ttl`).
//! - channel `tether:{T}:pub`: every publication as
//!   `<epoch> <offset> <t> <frame>`.
//!
//! Publishing is one Lua script ([`PUBLISH_SCRIPT`]): read or create the
//! epoch, INCR the offset, build the frame around the caller's serialized
//! parts, XADD it (bounded) and PUBLISH it, atomically. The frame is
//! serialized once, in Redis; each process parses the short header and
//! queues the same bytes for all its subscribers.
//!
//! Each process has one Redis subscription per topic (all configured topics,
//! on one connection), not one per client. The task that reads it
//! (`run`) applies publications in offset order; a gap (a publication
//! lost on the way) and every (re)connection re-read the topic's
//! [`Snapshot`] and replay what the mirror lacks, or, when the history no
//! longer has it, close the affected subscribers so they resubscribe and
//! get `recovered: false` (see [`Hub::sync`]). A snapshot is the epoch and
//! latest offset ([`HEAD_SCRIPT`], atomic), then the history newest first
//! in pages of [`SNAPSHOT_PAGE`], each with its own timeout, no further
//! than the history's count and bytes (`--history-size`,
//! `--history-bytes`): large kept publications make it take more commands,
//! never one reply too large to arrive in time. While the subscription is
//! down the process keeps its clients, answers 503 on `/healthz` and
//! `POST /publish`, and reconnects
//! with jittered exponential backoff.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script, Value};
use tokio::task::JoinHandle;

use crate::hub::{Hub, Synced};
use crate::log::{new_epoch, Applied, Kept, Retention, Snapshot};

/// Longest wait for one Redis command or connection.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// Period of the PING on the subscription connection (finds a dead link
/// that TCP does not report).
const PING_INTERVAL: Duration = Duration::from_secs(1);
/// First reconnection delay; doubles per failed attempt up to
/// [`MAX_BACKOFF`], each delay jittered to 50–100 %.
const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// Longest reconnection delay.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The start of both scripts (KEYS: epoch, offset, log; ARGV[1]: a new
/// epoch): reads the epoch, or, when it is missing (the history was lost),
/// sets a new one and drops the counter and log of the old.
macro_rules! ensure_epoch {
    () => {
        r#"
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
  redis.call('DEL', KEYS[2], KEYS[3])
end
"#
    };
}

/// Publishes one publication. KEYS: epoch, offset, log. ARGV: a new epoch
/// (used when none exists), history size, channel, topic, frame head
/// (`{"type":"publication","topic":…,"event":…,`), frame tail
/// (`"timestamp":…,"data":…}`), publish time in Unix ms. Returns
/// `{epoch, offset}`.
pub const PUBLISH_SCRIPT: &str = concat!(
    ensure_epoch!(),
    r#"
local offset = redis.call('INCR', KEYS[2])
local frame = ARGV[5] .. '"epoch":' .. cjson.encode(epoch) .. ',"offset":' .. offset
  .. ',"broadcast_id":' .. cjson.encode(ARGV[4] .. '_' .. epoch .. '_' .. offset)
  .. ',' .. ARGV[6]
local size = tonumber(ARGV[2])
if size > 0 then
  redis.call('XADD', KEYS[3], 'MAXLEN', size, offset .. '-0', 'f', frame, 't', ARGV[7])
end
redis.call('PUBLISH', ARGV[3], epoch .. ' ' .. offset .. ' ' .. ARGV[7] .. ' ' .. frame)
return {epoch, offset}
"#
);

/// Reads a topic's epoch and latest offset atomically. KEYS: epoch,
/// offset, log. ARGV: a new epoch (used when none exists). Returns
/// `{epoch, offset}`; the history is then read in pages
/// ([`SNAPSHOT_PAGE`]).
pub const HEAD_SCRIPT: &str = concat!(
    ensure_epoch!(),
    r#"
local offset = tonumber(redis.call('GET', KEYS[2]) or '0')
return {epoch, offset}
"#
);

/// Publications read per command when reading a topic's history (each
/// command has the command timeout, 2 s; with 2 MiB publications a page is
/// 32 MiB).
pub const SNAPSHOT_PAGE: usize = 16;

/// Why a broker operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The broker link is down (the process is reconnecting).
    #[error("the broker is unreachable")]
    Down,
    /// A Redis command failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A Redis command took longer than the command timeout.
    #[error("redis: no answer within {0:?}")]
    Timeout(Duration),
    /// Redis answered something this server did not write.
    #[error("redis: unexpected reply ({0})")]
    Reply(&'static str),
}

/// The broker as the rest of the server sees it: publishing, and the task
/// that keeps the hub's mirror in step. Dropping it stops the task.
#[derive(Debug)]
pub struct Broker {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    client: Client,
    commands: ConnectionManager,
    hub: Arc<Hub>,
    publish: Script,
    head: Script,
    retention: Retention,
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The names of a topic's keys and channel.
struct Keys {
    epoch: String,
    offset: String,
    log: String,
    channel: String,
}

fn keys(topic: &str) -> Keys {
    Keys {
        epoch: format!("tether:{{{topic}}}:epoch"),
        offset: format!("tether:{{{topic}}}:offset"),
        log: format!("tether:{{{topic}}}:log"),
        channel: format!("tether:{{{topic}}}:pub"),
    }
}

impl Broker {
    /// Starts following the broker at `url` for `hub` (in mirror mode).
    /// Needs a tokio runtime. Fails only on a malformed URL: an
    /// unreachable broker is retried in the background.
    pub fn start(url: &str, hub: Arc<Hub>, retention: Retention) -> Result<Self, BrokerError> {
        let client = Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(MAX_BACKOFF);
        let commands = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        hub.metrics().broker_configured.store(true, Relaxed);
        let shared = Arc::new(Shared {
            client,
            commands,
            hub,
            publish: Script::new(PUBLISH_SCRIPT),
            head: Script::new(HEAD_SCRIPT),
            retention,
        });
        let task = tokio::spawn(run(shared.clone()));
        Ok(Broker { shared, task })
    }

    /// Whether the broker link is up.
    pub fn is_up(&self) -> bool {
        self.shared.hub.metrics().broker_up.load(Relaxed)
    }

    /// Publishes through the broker; returns `(epoch, offset)`. Subscribers
    /// (of every process) get the publication through the broker.
    pub async fn publish(
        &self,
        topic: &str,
        event: Option<String>,
        data: &serde_json::Value,
    ) -> Result<(String, u64), BrokerError> {
        if !self.is_up() {
            return Err(BrokerError::Down);
        }
        let (head, tail) = frame_parts(topic, event, data);
        let k = keys(topic);
        let mut conn = self.shared.commands.clone();
        let mut invocation = self.shared.publish.key(&k.epoch);
        invocation
            .key(&k.offset)
            .key(&k.log)
            .arg(new_epoch())
            .arg(self.shared.retention.count)
            .arg(&k.channel)
            .arg(topic)
            .arg(head)
            .arg(tail)
            .arg(unix_ms());
        let reply: Value = timed(invocation.invoke_async(&mut conn)).await?;
        match reply {
            Value::Array(items) => match items.as_slice() {
                [epoch, Value::Int(offset)] => Ok((string(epoch)?, *offset as u64)),
                _ => Err(BrokerError::Reply("publish: not {epoch, offset}")),
            },
            _ => Err(BrokerError::Reply("publish: not an array")),
        }
    }
}

/// The serialized parts of a publication frame around the fields the
/// broker assigns (`epoch`, `offset`, `broadcast_id`), in the in-memory
/// hub's field order.
fn frame_parts(topic: &str, event: Option<String>, data: &serde_json::Value) -> (String, String) {
    let json = |v: &str| serde_json::Value::from(v).to_string();
    let event = event.unwrap_or_else(|| format!("{topic}_update"));
    let head = format!(
        r#"{{"type":"publication","topic":{},"event":{},"#,
        json(topic),
        json(&event)
    );
    let tail = format!(
        r#""timestamp":{},"data":{}}}"#,
        json(&crate::now_rfc3339()),
        data
    );
    (head, tail)
}

/// Runs a Redis future with [`COMMAND_TIMEOUT`].
async fn timed<T>(
    f: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, BrokerError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, f).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(BrokerError::Timeout(COMMAND_TIMEOUT)),
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn string(v: &Value) -> Result<String, BrokerError> {
    match v {
        Value::BulkString(b) => {
            String::from_utf8(b.clone()).map_err(|_| BrokerError::Reply("not UTF-8"))
        }
        Value::SimpleString(s) => Ok(s.clone()),
        _ => Err(BrokerError::Reply("not a string")),
    }
}

/// Follows the broker until aborted: connect, subscribe, sync every topic,
/// apply publications; on any failure mark the link down and reconnect
/// with backoff.
async fn run(shared: Arc<Shared>) {
    let metrics = || shared.hub.metrics();
    let mut attempt: u32 = 0;
    loop {
        match follow(&shared, &mut attempt).await {
            Ok(()) => tracing::warn!("broker subscription ended; reconnecting"),
            Err(e) => tracing::warn!(error = %e, attempt, "broker unavailable; reconnecting"),
        }
        if metrics().broker_up.swap(false, Relaxed) {
            tracing::warn!("broker link down: /healthz and POST /publish answer 503");
        }
        attempt = attempt.saturating_add(1);
        tokio::time::sleep(backoff(attempt, fastrand::f64())).await;
    }
}

/// The delay before reconnection attempt `attempt` (1, 2, …), given a
/// random number in [0, 1).
fn backoff(attempt: u32, random: f64) -> Duration {
    let exp = MIN_BACKOFF.saturating_mul(1u32 << attempt.min(16).saturating_sub(1));
    exp.min(MAX_BACKOFF).mul_f64(0.5 + random / 2.0)
}

/// One connection's life: returns when the subscription ends or fails.
async fn follow(shared: &Shared, attempt: &mut u32) -> Result<(), BrokerError> {
    let hub = &shared.hub;
    let topics = hub.topic_names();
    let channels: HashMap<String, String> = topics
        .iter()
        .map(|t| (keys(t).channel, t.clone()))
        .collect();
    let mut pubsub = timed(shared.client.get_async_pubsub()).await?;
    let names: Vec<&String> = channels.keys().collect();
    timed(pubsub.subscribe(names)).await?;
    let (mut sink, mut stream) = pubsub.split();
    // Subscribed first, then read: what is published meanwhile waits in
    // the subscription and is applied (or found duplicate) after.
    for topic in &topics {
        resync(shared, topic).await?;
    }
    hub.set_ready();
    hub.metrics().broker_up.store(true, Relaxed);
    hub.metrics().broker_connects.fetch_add(1, Relaxed);
    tracing::info!(topics = topics.len(), "broker link up");
    *attempt = 0;
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            msg = stream.next() => {
                let Some(msg) = msg else { return Ok(()) };
                let Some(topic) = channels.get(msg.get_channel_name()) else { continue };
                match parse_message(msg.get_payload_bytes()) {
                    Some((epoch, kept)) => {
                        if hub.apply(topic, epoch, kept) == Ok(Applied::Gap) {
                            resync(shared, topic).await?;
                        }
                    }
                    None => tracing::warn!(topic, "ignoring a malformed broker message"),
                }
            }
            _ = ping.tick() => {
                timed(sink.ping::<Value>()).await?;
            }
        }
    }
}

/// Reads a topic's snapshot and brings the mirror to it.
async fn resync(shared: &Shared, topic: &str) -> Result<(), BrokerError> {
    let snapshot = read_snapshot(shared, topic).await?;
    let (epoch, offset) = (snapshot.epoch.clone(), snapshot.offset);
    match shared.hub.sync(topic, snapshot) {
        Ok(Synced::Unchanged) | Err(_) => {}
        Ok(Synced::Replayed(n)) => {
            tracing::info!(
                topic,
                epoch,
                offset,
                replayed = n,
                "caught up from the broker"
            )
        }
        Ok(Synced::Reset { closed, lost }) => tracing::info!(
            topic,
            epoch,
            offset,
            closed,
            lost,
            "mirror reset from the broker; subscribers closed to recover"
        ),
    }
    Ok(())
}

/// Reads a topic's epoch, latest offset and history (newest first, in
/// pages, as far as the history's count and bytes go).
async fn read_snapshot(shared: &Shared, topic: &str) -> Result<Snapshot, BrokerError> {
    let k = keys(topic);
    let mut conn = shared.commands.clone();
    let mut invocation = shared.head.key(&k.epoch);
    invocation.key(&k.offset).key(&k.log).arg(new_epoch());
    let reply: Value = timed(invocation.invoke_async(&mut conn)).await?;
    let Value::Array(items) = reply else {
        return Err(BrokerError::Reply("snapshot: not an array"));
    };
    let [epoch, Value::Int(offset)] = items.as_slice() else {
        return Err(BrokerError::Reply("snapshot: not {epoch, offset}"));
    };
    let epoch = string(epoch)?;
    let offset = *offset as u64;
    let now_ms = unix_ms();
    let now = Instant::now();
    let Retention { count, bytes, .. } = shared.retention;
    let mut history = Vec::new();
    let mut kept_bytes = 0;
    // Entries at or below `offset` (later ones are applied from the
    // subscription), newest first.
    let mut end = format!("{offset}-0");
    while offset > 0 && history.len() < count && kept_bytes < bytes {
        let want = SNAPSHOT_PAGE.min(count - history.len());
        let mut page = redis::cmd("XREVRANGE");
        page.arg(&k.log).arg(&end).arg("-").arg("COUNT").arg(want);
        let Value::Array(entries) = timed(page.query_async::<Value>(&mut conn)).await? else {
            return Err(BrokerError::Reply("snapshot: a page is not an array"));
        };
        for entry in &entries {
            let kept = parse_entry(entry, now_ms, now)?;
            kept_bytes += kept.frame.len();
            end = format!("({}-0", kept.offset);
            history.push(kept);
        }
        if entries.len() < want {
            break;
        }
    }
    // Read in pages, so check the history was not lost and restarted
    // meanwhile (its entries would be of another epoch).
    let mut get = redis::cmd("GET");
    get.arg(&k.epoch);
    let now_epoch: Option<String> = timed(get.query_async(&mut conn)).await?;
    if now_epoch.as_deref() != Some(epoch.as_str()) {
        return Err(BrokerError::Reply(
            "snapshot: the epoch changed while reading",
        ));
    }
    history.reverse();
    // Keep only a contiguous run ending at the latest offset.
    let contiguous = history.last().is_some_and(|k| k.offset == offset)
        && history.windows(2).all(|w| w[1].offset == w[0].offset + 1);
    if !contiguous {
        history.clear();
    }
    Ok(Snapshot {
        epoch,
        offset,
        history,
    })
}

/// One stream entry: `[id, [field, value, …]]`.
fn parse_entry(entry: &Value, now_ms: u64, now: Instant) -> Result<Kept, BrokerError> {
    let Value::Array(parts) = entry else {
        return Err(BrokerError::Reply("entry: not an array"));
    };
    let [id, Value::Array(fields)] = parts.as_slice() else {
        return Err(BrokerError::Reply("entry: not [id, fields]"));
    };
    let id = string(id)?;
    let offset = id
        .split_once('-')
        .and_then(|(ms, _)| ms.parse::<u64>().ok())
        .ok_or(BrokerError::Reply("entry: bad id"))?;
    let mut frame = None;
    let mut t = None;
    for pair in fields.chunks(2) {
        if let [name, value] = pair {
            match string(name)?.as_str() {
                "f" => frame = Some(string(value)?),
                "t" => t = string(value)?.parse::<u64>().ok(),
                _ => {}
            }
        }
    }
    let frame = frame.ok_or(BrokerError::Reply("entry: no frame"))?;
    Ok(Kept {
        offset,
        at: published_at(t.unwrap_or(now_ms), now_ms, now),
        frame: Bytes::from(frame),
    })
}

/// The `Instant` of a publication made at Unix ms `t` (clamped to now for a
/// clock ahead of ours).
fn published_at(t: u64, now_ms: u64, now: Instant) -> Instant {
    let age = Duration::from_millis(now_ms.saturating_sub(t));
    now.checked_sub(age).unwrap_or(now)
}

/// A channel message: `<epoch> <offset> <t> <frame>`.
fn parse_message(payload: &[u8]) -> Option<(&str, Kept)> {
    let text = std::str::from_utf8(payload).ok()?;
    let mut parts = text.splitn(4, ' ');
    let epoch = parts.next()?;
    let offset = parts.next()?.parse().ok()?;
    let t = parts.next()?.parse().ok()?;
    let frame = parts.next()?;
    let now_ms = unix_ms();
    Some((
        epoch,
        Kept {
            offset,
            at: published_at(t, now_ms, Instant::now()),
            frame: Bytes::from(frame.to_owned()),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        assert_eq!(backoff(1, 0.999_999).as_millis(), 49);
        assert_eq!(backoff(1, 0.0), MIN_BACKOFF / 2);
        assert_eq!(backoff(2, 0.0), MIN_BACKOFF);
        assert_eq!(backoff(30, 0.0), MAX_BACKOFF / 2);
        assert!(backoff(u32::MAX, 0.999) <= MAX_BACKOFF);
    }

    #[test]
    fn frame_parts_wrap_the_broker_fields_into_the_wire_frame() {
        let (head, tail) = frame_parts("t\"x", None, &serde_json::json!({"a":[1.5]}));
        // What the script builds around them.
        let frame = format!(r#"{head}"epoch":"e1","offset":7,"broadcast_id":"t\"x_e1_7",{tail}"#);
        let v: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(v["type"], "publication");
        assert_eq!(v["topic"], "t\"x");
        assert_eq!(v["event"], "t\"x_update");
        assert_eq!(v["offset"], 7);
        assert_eq!(v["data"]["a"][0], 1.5);
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn messages_parse() {
        let (epoch, kept) = parse_message(b"e1 42 0 {\"x\": 1 2}").unwrap();
        assert_eq!((epoch, kept.offset), ("e1", 42));
        assert_eq!(&kept.frame[..], b"{\"x\": 1 2}");
        assert!(parse_message(b"e1 x 0 {}").is_none());
        assert!(parse_message(b"e1 1 0").is_none());
        assert!(parse_message(&[0xff, b' ', b'1']).is_none());
    }
}
