//! The publish path, one per process: in memory ([`Publisher::Local`]: the
//! hub numbers publications) or through a broker ([`Publisher::Broker`],
//! `--broker`: the broker numbers them and the hub mirrors its logs).
//!
//! The app state owns the one [`Publisher`] its configuration chose, so
//! the in-memory publish (and the in-memory history reset) can only be
//! reached through a [`Local`], which exists only without a broker; the
//! callers (`POST /publish`, a client's `publish`, the demo) call
//! [`Publisher::publish`] and never ask which mode runs.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use serde_json::Value;

use crate::broker::{Broker, BrokerError};
use crate::hub::{Hub, TopicError};

/// Where publications go.
#[derive(Debug)]
pub enum Publisher {
    /// In memory: this process assigns offsets and keeps the history.
    Local(Local),
    /// Through the broker, which assigns offsets and keeps the history;
    /// this process's hub mirrors it.
    Broker {
        /// The broker link.
        broker: Broker,
        /// The hub that mirrors it (topic names and counters).
        hub: Arc<Hub>,
    },
}

/// The in-memory publish path: exists only when no broker is configured.
#[derive(Debug)]
pub struct Local {
    hub: Arc<Hub>,
}

impl Local {
    /// The in-memory path for `hub` (which must not be in mirror mode).
    pub(crate) fn new(hub: Arc<Hub>) -> Self {
        Local { hub }
    }

    /// Publishes on a topic: assigns the next offset, keeps it for recovery
    /// and queues it for every subscriber. Returns `(epoch, offset)`.
    pub fn publish(
        &self,
        topic: &str,
        event: Option<String>,
        data: Value,
    ) -> Result<(String, u64), TopicError> {
        self.hub.publish(topic, event, data)
    }

    /// Forgets every topic's history: a new epoch per topic, offsets
    /// restarting at 1 (what an in-memory server's restart loses).
    pub fn reset_history(&self) {
        self.hub.reset_history()
    }
}

impl Publisher {
    /// Publishes on a topic (in memory, or through the broker); returns
    /// `(epoch, offset)`.
    pub async fn publish(
        &self,
        topic: &str,
        event: Option<String>,
        data: Value,
    ) -> Result<(String, u64), PublishError> {
        match self {
            Publisher::Local(local) => Ok(local.publish(topic, event, data)?),
            Publisher::Broker { broker, hub } => {
                if hub.topic_info(topic).is_none() {
                    return Err(TopicError::Unknown(topic.to_owned()).into());
                }
                broker.publish(topic, event, &data).await.map_err(|e| {
                    hub.metrics().dropped_broker_down.fetch_add(1, Relaxed);
                    tracing::warn!(topic, error = %e, "publish failed: broker unavailable");
                    PublishError::Unavailable(e)
                })
            }
        }
    }

    /// The in-memory path, `None` with a broker.
    pub fn local(&self) -> Option<&Local> {
        match self {
            Publisher::Local(local) => Some(local),
            Publisher::Broker { .. } => None,
        }
    }

    /// Whether publishing can succeed now: always in memory; with a broker,
    /// while its link is up.
    pub fn is_healthy(&self) -> bool {
        match self {
            Publisher::Local(_) => true,
            Publisher::Broker { broker, .. } => broker.is_up(),
        }
    }
}

/// Why [`Publisher::publish`] failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// No topic by that name.
    #[error(transparent)]
    Topic(#[from] TopicError),
    /// The broker is unreachable (retry later).
    #[error(transparent)]
    Unavailable(BrokerError),
}
