//! Process-wide counters and their Prometheus text rendering (`GET /metrics`).

use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::hub::Hub;

/// Counters updated by the hub and the connection tasks.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Frames received from clients (text and binary).
    pub messages_in: AtomicU64,
    /// Frames written to clients.
    pub messages_out: AtomicU64,
    /// Outbound frames lost because a connection's queue was full or a
    /// frame waited longer than `--send-timeout`.
    pub dropped_slow_consumer: AtomicU64,
    /// Inbound frames dropped by the rate limit.
    pub dropped_rate_limited: AtomicU64,
    /// Connections closed as slow consumers.
    pub slow_consumer_disconnects: AtomicU64,
    /// Connections removed because nothing arrived for 2.5 heartbeats.
    pub stale_disconnects: AtomicU64,
    /// Upgrades closed 4429 by a connection limit
    /// (`tether_refused_connections_total{reason="limit"}`).
    pub refused_limit: AtomicU64,
    /// Sockets over `--max-pending-per-ip` closed at once
    /// (`{reason="pending_per_ip"}`).
    pub refused_pending: AtomicU64,
    /// Upgrades refused (403) for their origin (`{reason="origin"}`).
    pub refused_upgrade_origin: AtomicU64,
    /// Browser requests refused (403) for their origin: upgrades, publishes,
    /// demo controls.
    pub refused_origin: AtomicU64,
    /// Upgrades accepted then closed 4401 or 4503 by the token check.
    pub auth_rejections: AtomicU64,
    /// Connections registered (welcomed).
    pub connections_accepted: AtomicU64,
    /// Whether a broker is configured (`--broker`).
    pub broker_configured: AtomicBool,
    /// Whether the broker link is up (publish and subscription).
    pub broker_up: AtomicBool,
    /// Broker (re)connections that completed.
    pub broker_connects: AtomicU64,
    /// Publications refused because the broker was unreachable.
    pub dropped_broker_down: AtomicU64,
    /// Publications local subscribers missed that the broker no longer
    /// kept (counted per subscriber; those connections were closed).
    pub dropped_broker_gap: AtomicU64,
}

/// Renders the Prometheus text exposition format.
pub fn render(hub: &Hub) -> String {
    let m = hub.metrics();
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP tether_connections Open WebSocket connections.\n\
         # TYPE tether_connections gauge\n\
         tether_connections {}",
        hub.connection_count()
    );
    out.push_str(
        "# HELP tether_subscriptions Subscribed connections per topic.\n\
         # TYPE tether_subscriptions gauge\n",
    );
    for (topic, n) in hub.subscription_counts() {
        let _ = writeln!(
            out,
            "tether_subscriptions{{topic=\"{}\"}} {n}",
            escape_label(&topic)
        );
    }
    out.push_str(
        "# HELP tether_subscribes_total Successful subscribe requests per topic.\n\
         # TYPE tether_subscribes_total counter\n",
    );
    for (topic, n) in hub.subscribe_counts() {
        let _ = writeln!(
            out,
            "tether_subscribes_total{{topic=\"{}\"}} {n}",
            escape_label(&topic)
        );
    }
    let counters = [
        (
            "tether_connections_accepted_total",
            "Connections registered and welcomed.",
            get(&m.connections_accepted),
        ),
        (
            "tether_messages_in_total",
            "Frames received from clients.",
            get(&m.messages_in),
        ),
        (
            "tether_messages_out_total",
            "Frames sent to clients.",
            get(&m.messages_out),
        ),
        (
            "tether_slow_consumer_disconnects_total",
            "Connections closed because they did not keep up.",
            get(&m.slow_consumer_disconnects),
        ),
        (
            "tether_stale_disconnects_total",
            "Connections removed after 2.5 silent heartbeat intervals.",
            get(&m.stale_disconnects),
        ),
        (
            "tether_refused_origin_total",
            "Browser requests refused with 403 for their origin.",
            get(&m.refused_origin),
        ),
        (
            "tether_auth_rejections_total",
            "Upgrades closed with 4401 or 4503 by the token check.",
            get(&m.auth_rejections),
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP tether_refused_connections_total Connections refused, by reason: limit (upgrades closed 4429), pending_per_ip (sockets over --max-pending-per-ip closed at once), origin (upgrades answered 403).\n\
         # TYPE tether_refused_connections_total counter\n\
         tether_refused_connections_total{{reason=\"limit\"}} {}\n\
         tether_refused_connections_total{{reason=\"pending_per_ip\"}} {}\n\
         tether_refused_connections_total{{reason=\"origin\"}} {}",
        get(&m.refused_limit),
        get(&m.refused_pending),
        get(&m.refused_upgrade_origin),
    );
    let _ = writeln!(
        out,
        "# HELP tether_dropped_total Frames dropped, by reason.\n\
         # TYPE tether_dropped_total counter\n\
         tether_dropped_total{{reason=\"slow_consumer\"}} {}\n\
         tether_dropped_total{{reason=\"rate_limited\"}} {}",
        get(&m.dropped_slow_consumer),
        get(&m.dropped_rate_limited),
    );
    if m.broker_configured.load(Ordering::Relaxed) {
        let _ = writeln!(
            out,
            "tether_dropped_total{{reason=\"broker_down\"}} {}\n\
             tether_dropped_total{{reason=\"broker_gap\"}} {}\n\
             # HELP tether_broker_up Whether the broker link is up.\n\
             # TYPE tether_broker_up gauge\n\
             tether_broker_up {}\n\
             # HELP tether_broker_connects_total Broker (re)connections that completed.\n\
             # TYPE tether_broker_connects_total counter\n\
             tether_broker_connects_total {}",
            get(&m.dropped_broker_down),
            get(&m.dropped_broker_gap),
            u8::from(m.broker_up.load(Ordering::Relaxed)),
            get(&m.broker_connects),
        );
    }
    out
}

/// Escapes a Prometheus label value.
fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
