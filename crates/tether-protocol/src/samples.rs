//! Sample server frames for tests of the codec and of any decoder of
//! server frames (the core's `decode`, fuzz seeds): one [`ServerFrame`] of
//! every variant, some several times.

use crate::frames::{
    ErrorCode, GoawayReason, Publication, ServerFrame, ServerInfo, Stats, TopicInfo,
};
use alloc::vec;
use alloc::vec::Vec;
use serde_json::json;

/// The largest integer a JS number holds exactly (2^53 - 1): the samples'
/// extreme ids and offsets.
pub const MAX_SAFE: u64 = (1 << 53) - 1;

/// Every variant, some several times (optional fields both ways, extreme
/// numbers, strings that need escaping).
pub fn server_frames() -> Vec<ServerFrame> {
    let publication = |topic: &str, epoch: &str, offset: u64| {
        ServerFrame::Publication(Publication {
            topic: topic.into(),
            event: format!("{topic}_update"),
            epoch: epoch.into(),
            offset,
            broadcast_id: format!("{topic}_{epoch}_{offset}"),
            timestamp: "2026-11-22T10:00:01.250Z".into(),
            data: json!({"hashrate": 118.2, "id": 9, "type": "x"}),
        })
    };
    vec![
        ServerFrame::ConnectionEstablished {
            protocol: 1,
            client_id: "c_1".into(),
            timestamp: "2026-11-22T10:00:00.000Z".into(),
            heartbeat_interval: 25.0,
            available_topics: vec!["miners".into()],
            server_info: ServerInfo {
                name: "tether-server".into(),
                version: "0.1.0".into(),
                features: vec!["topics".into()],
            },
        },
        ServerFrame::ConnectionEstablished {
            protocol: 1,
            client_id: "c_\u{e9}\"\\".into(),
            timestamp: "t".into(),
            heartbeat_interval: 0.25,
            available_topics: vec![],
            server_info: ServerInfo {
                name: "n".into(),
                version: "v".into(),
                features: vec![],
            },
        },
        publication("miners", "e7", 42),
        publication("t\u{1F600}\n", "", 1),
        publication("m", "e1", MAX_SAFE),
        ServerFrame::Subscribed {
            id: 1,
            topic: "miners".into(),
            epoch: "e7".into(),
            offset: 0,
            recovered: None,
            missed: 0,
        },
        ServerFrame::Subscribed {
            id: MAX_SAFE,
            topic: "m".into(),
            epoch: "e2".into(),
            offset: 17,
            recovered: Some(true),
            missed: 5,
        },
        ServerFrame::Subscribed {
            id: 3,
            topic: "m".into(),
            epoch: "e3".into(),
            offset: 4,
            recovered: Some(false),
            missed: 0,
        },
        ServerFrame::Unsubscribed {
            id: 2,
            topic: "miners".into(),
        },
        ServerFrame::Pong {
            id: 3,
            server_time: "t".into(),
            stats: None,
        },
        ServerFrame::Pong {
            id: 4,
            server_time: "t".into(),
            stats: Some(Stats {
                connections: 1,
                uptime_s: 2,
                messages_in: 3,
                messages_out: 4,
            }),
        },
        ServerFrame::Status {
            id: 4,
            client_id: "c_1".into(),
            connected_at: "t0".into(),
            last_activity: "t1".into(),
            subscriptions: vec!["alerts".into()],
            messages_in: 1,
            messages_out: 2,
        },
        ServerFrame::Topics {
            id: 5,
            topics: vec![TopicInfo {
                name: "alerts".into(),
                description: "Alerts".into(),
                client_publish: false,
            }],
        },
        ServerFrame::Published {
            id: 6,
            epoch: "e1".into(),
            offset: 1,
        },
        ServerFrame::Error {
            id: None,
            code: ErrorCode::UnknownTopic,
            message: "no".into(),
            available_topics: Some(vec!["a".into()]),
        },
        ServerFrame::error(Some(7), ErrorCode::RateLimited, ""),
        ServerFrame::error(Some(8), ErrorCode::BadFrame, "missing field `topic`"),
        ServerFrame::Ping { id: None },
        ServerFrame::Ping { id: Some(11) },
        ServerFrame::Goaway {
            reason: GoawayReason::Shutdown,
            retry_after_ms: 1000,
            spread_ms: 5000,
        },
        ServerFrame::Goaway {
            reason: GoawayReason::Overload,
            retry_after_ms: 0,
            spread_ms: 0,
        },
    ]
}
