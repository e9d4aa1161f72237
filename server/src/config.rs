//! Command line and environment configuration (server-cli.md).
//!
//! Every flag also reads `TETHER_<FLAG>` (upper case, `-` as `_`); a flag
//! given on the command line wins over the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;
use tether_protocol::frames::TopicInfo;

/// Server configuration. [`Config::default`] equals the command line with no
/// flags and no environment.
#[derive(Debug, Clone, PartialEq, Parser)]
#[command(
    name = "tether-server",
    version,
    about = "Tether reference WebSocket server (protocol v1)"
)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "TETHER_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,

    /// JSON list of {"name","description","client_publish"}; replaces the built-in topics.
    #[arg(long, env = "TETHER_TOPICS", value_name = "FILE")]
    pub topics: Option<PathBuf>,

    /// Publish demo data on the built-in topics every second.
    #[arg(long, env = "TETHER_DEMO", value_parser = clap::builder::BoolishValueParser::new())]
    pub demo: bool,

    /// Serve this folder at `/`.
    #[arg(long = "static", env = "TETHER_STATIC", value_name = "DIR")]
    pub static_dir: Option<PathBuf>,

    /// Comma-separated origins allowed to open `/ws` (`*`: any). Default:
    /// an Origin whose host:port equals the Host header; no Origin: allowed.
    #[arg(
        long,
        env = "TETHER_ALLOWED_ORIGINS",
        value_delimiter = ',',
        value_name = "LIST"
    )]
    pub allowed_origins: Vec<String>,

    /// Protocol Ping period in seconds (fractions allowed); a connection
    /// silent for 2.5x this is removed.
    #[arg(long, env = "TETHER_HEARTBEAT_INTERVAL", default_value = "25", value_parser = parse_secs, value_name = "SECS")]
    pub heartbeat_interval: Duration,

    /// A frame waiting longer than this (queued or on the socket)
    /// disconnects the slow consumer.
    #[arg(long, env = "TETHER_SEND_TIMEOUT", default_value = "5", value_parser = parse_secs, value_name = "SECS")]
    pub send_timeout: Duration,

    /// Frames queued per connection; a full queue disconnects the slow consumer.
    #[arg(long, env = "TETHER_SEND_QUEUE", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..), value_name = "N")]
    pub send_queue: u32,

    /// Largest inbound message in bytes; larger ones close with 1009.
    #[arg(long, env = "TETHER_MAX_FRAME_BYTES", default_value_t = 65536, value_parser = clap::value_parser!(u32).range(16..), value_name = "N")]
    pub max_frame_bytes: u32,

    /// Connection limit; over it the upgrade is accepted, then closed 4429.
    #[arg(
        long,
        env = "TETHER_MAX_CONNECTIONS",
        default_value_t = 100_000,
        value_name = "N"
    )]
    pub max_connections: usize,

    /// Connections per client IP still in HTTP (before the WebSocket
    /// upgrade, or between keep-alive requests); a socket over it is closed
    /// at once, before anything is read.
    #[arg(
        long,
        env = "TETHER_MAX_PENDING_PER_IP",
        default_value_t = 256,
        value_parser = clap::value_parser!(u32).range(1..),
        value_name = "N"
    )]
    pub max_pending_per_ip: u32,

    /// A connection must deliver each HTTP request's headers within this
    /// many seconds (silent and slow sockets, idle keep-alive) or is closed.
    #[arg(long, env = "TETHER_HEADER_TIMEOUT", default_value = "10", value_parser = parse_secs, value_name = "SECS")]
    pub header_timeout: Duration,

    /// A `POST /publish` body must arrive within this many seconds, else 408.
    #[arg(long, env = "TETHER_BODY_TIMEOUT", default_value = "10", value_parser = parse_secs, value_name = "SECS")]
    pub body_timeout: Duration,

    /// Connection limit per client IP; over it: accept, then close 4429.
    #[arg(
        long,
        env = "TETHER_MAX_CONNECTIONS_PER_IP",
        default_value_t = 1000,
        value_name = "N"
    )]
    pub max_connections_per_ip: usize,

    /// Inbound frames per second per connection (token bucket holding 2N);
    /// 0 turns the limit off.
    #[arg(
        long,
        env = "TETHER_RATE_LIMIT",
        default_value_t = 100,
        value_name = "N"
    )]
    pub rate_limit: u32,

    /// Publications kept per topic for recovery.
    #[arg(
        long,
        env = "TETHER_HISTORY_SIZE",
        default_value_t = 1000,
        value_name = "N"
    )]
    pub history_size: usize,

    /// Bytes of publications kept per topic (the oldest go first).
    #[arg(
        long,
        env = "TETHER_HISTORY_BYTES",
        default_value_t = 16 * 1024 * 1024,
        value_name = "N"
    )]
    pub history_bytes: usize,

    /// Bytes one recovery may replay; a recovery that would replay more is
    /// answered `recovered: false` (the client reloads instead).
    #[arg(
        long,
        env = "TETHER_REPLAY_BYTES",
        default_value_t = 1024 * 1024,
        value_name = "N"
    )]
    pub replay_bytes: usize,

    /// Age limit of kept publications, enforced when recovering.
    #[arg(long, env = "TETHER_HISTORY_TTL", default_value = "300", value_parser = parse_secs, value_name = "SECS")]
    pub history_ttl: Duration,

    /// When set, `/ws` needs `?token=` holding an HS256 JWT signed with this
    /// secret, with an `exp` claim (optional `sub`, and `topics` restricting
    /// what it may subscribe and publish to). Missing or expired: close
    /// 4401; invalid: close 4503.
    #[arg(
        long,
        env = "TETHER_TOKEN_SECRET",
        value_name = "SECRET",
        hide_env_values = true,
        value_parser = clap::builder::NonEmptyStringValueParser::new()
    )]
    pub token_secret: Option<String>,

    /// Longest token lifetime accepted with `--token-secret`: a token whose
    /// `exp` is further ahead is refused (close 4503).
    #[arg(long, env = "TETHER_MAX_TOKEN_LIFETIME", default_value = "86400", value_parser = parse_secs, value_name = "SECS")]
    pub max_token_lifetime: Duration,

    /// When set, `POST /publish` needs `Authorization: Bearer KEY`.
    #[arg(
        long,
        env = "TETHER_PUBLISH_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub publish_key: Option<String>,

    /// `goaway.retry_after_ms` sent on SIGTERM / Ctrl-C.
    #[arg(
        long,
        env = "TETHER_SHUTDOWN_RETRY_AFTER_MS",
        default_value_t = 1000,
        value_name = "N"
    )]
    pub shutdown_retry_after_ms: u64,

    /// `goaway.spread_ms` sent on SIGTERM / Ctrl-C.
    #[arg(
        long,
        env = "TETHER_SHUTDOWN_SPREAD_MS",
        default_value_t = 5000,
        value_name = "N"
    )]
    pub shutdown_spread_ms: u64,

    /// Handshakes per second the fleet should absorb when this server's
    /// clients come back after a shutdown: `goaway.spread_ms` is at least
    /// connections / N seconds, so 10k clients are spread over 10 s at the
    /// default instead of all arriving within `--shutdown-spread-ms`.
    #[arg(
        long,
        env = "TETHER_RECONNECT_RATE",
        default_value_t = 1000,
        value_parser = clap::value_parser!(u64).range(1..),
        value_name = "N"
    )]
    pub reconnect_rate: u64,

    /// `redis://host:port[/db]`: share topics, offsets and history with
    /// every server using the same Redis (scale-out). Without it the hub is
    /// in memory and nothing external is needed.
    #[arg(long, env = "TETHER_BROKER", value_name = "URL")]
    pub broker: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            topics: None,
            demo: false,
            static_dir: None,
            allowed_origins: Vec::new(),
            heartbeat_interval: Duration::from_secs(25),
            send_timeout: Duration::from_secs(5),
            send_queue: 256,
            max_frame_bytes: 65536,
            max_connections: 100_000,
            max_connections_per_ip: 1000,
            max_pending_per_ip: 256,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            rate_limit: 100,
            history_size: 1000,
            history_bytes: 16 * 1024 * 1024,
            replay_bytes: 1024 * 1024,
            history_ttl: Duration::from_secs(300),
            token_secret: None,
            max_token_lifetime: Duration::from_secs(86400),
            publish_key: None,
            shutdown_retry_after_ms: 1000,
            shutdown_spread_ms: 5000,
            reconnect_rate: 1000,
            broker: None,
        }
    }
}

/// Longest accepted duration flag (about 11 days): keeps deadline
/// arithmetic far from overflow.
const MAX_SECS: f64 = 1e6;

/// Parses a positive number of seconds, fractions allowed (`0.2`).
fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if secs.is_nan() || secs <= 0.0 || secs > MAX_SECS {
        return Err(format!(
            "`{s}` must be more than 0 and at most {MAX_SECS} seconds"
        ));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| format!("`{s}`: {e}"))
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The `--topics` file could not be read.
    #[error("cannot read topics file {path}: {source}")]
    TopicsRead {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The `--topics` file is not a JSON list of topics.
    #[error("invalid topics file {path}: {message}")]
    TopicsInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The `--broker` URL cannot be used.
    #[error("invalid broker URL {url}: {message}")]
    Broker {
        /// The URL.
        url: String,
        /// What is wrong.
        message: String,
    },
}

/// The built-in topics: the dashboard demo's.
pub fn default_topics() -> Vec<TopicInfo> {
    [
        ("miners", "Per-miner hashrate, temperature and status"),
        ("alerts", "Operational alerts"),
        ("system", "Host CPU, memory and uptime"),
        ("metrics", "Fleet-wide aggregates"),
    ]
    .into_iter()
    .map(|(name, description)| TopicInfo {
        name: name.into(),
        description: description.into(),
        client_publish: false,
    })
    .collect()
}

/// One entry of a `--topics` file.
#[derive(Deserialize)]
struct TopicEntry {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    client_publish: bool,
}

/// Reads a `--topics` file: a non-empty JSON list of uniquely named topics.
pub fn load_topics(path: &Path) -> Result<Vec<TopicInfo>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::TopicsRead {
        path: path.to_owned(),
        source,
    })?;
    parse_topics(&text).map_err(|message| ConfigError::TopicsInvalid {
        path: path.to_owned(),
        message,
    })
}

/// Whether `name` is a valid topic name: 1 to 64 characters of
/// `A-Z a-z 0-9 _ - . :`. Keeps names safe in logs, metrics labels and Redis
/// keys, and error replies short.
pub fn valid_topic_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b))
}

fn parse_topics(text: &str) -> Result<Vec<TopicInfo>, String> {
    let entries: Vec<TopicEntry> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if entries.is_empty() {
        return Err("the list is empty".into());
    }
    let mut topics: Vec<TopicInfo> = Vec::with_capacity(entries.len());
    for e in entries {
        if !valid_topic_name(&e.name) {
            let shown: String = e.name.chars().take(64).collect();
            return Err(format!(
                "invalid topic name `{shown}`: use 1-64 characters of A-Z a-z 0-9 _ - . :"
            ));
        }
        if topics.iter().any(|t| t.name == e.name) {
            return Err(format!("topic `{}` is listed twice", e.name));
        }
        topics.push(TopicInfo {
            name: e.name,
            description: e.description,
            client_publish: e.client_publish,
        });
    }
    Ok(topics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_are_validated() {
        for ok in ["miners", "a", "site-1.rack_2:temp", &"x".repeat(64)] {
            assert!(valid_topic_name(ok), "{ok}");
        }
        for bad in [
            "",
            "has space",
            "slash/topic",
            "ünï",
            "{x}",
            &"x".repeat(65),
        ] {
            assert!(!valid_topic_name(bad), "{bad}");
        }
        let err = parse_topics(r#"[{"name":"bad name","description":"","client_publish":false}]"#);
        assert!(err.is_err_and(|e| e.contains("invalid topic name")));
    }

    #[test]
    fn default_matches_empty_command_line() {
        // Only meaningful when no TETHER_* variable is set.
        if std::env::vars().any(|(k, _)| k.starts_with("TETHER_")) {
            return;
        }
        assert_eq!(
            Config::try_parse_from(["tether-server"]).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn flags_parse() {
        let c = Config::try_parse_from([
            "tether-server",
            "--listen",
            "[::1]:0",
            "--heartbeat-interval",
            "0.2",
            "--allowed-origins",
            "http://a.example,https://b.example",
            "--demo",
        ])
        .unwrap();
        assert_eq!(c.listen, "[::1]:0".parse().unwrap());
        assert_eq!(c.heartbeat_interval, Duration::from_millis(200));
        assert_eq!(c.allowed_origins, ["http://a.example", "https://b.example"]);
        assert!(c.demo);
        for bad in ["0", "-1", "x", "NaN", "inf", "1e300"] {
            assert!(
                Config::try_parse_from(["t", "--heartbeat-interval", bad]).is_err(),
                "{bad}"
            );
        }
        assert!(Config::try_parse_from(["t", "--send-queue", "0"]).is_err());
        assert!(Config::try_parse_from(["t", "--token-secret", ""]).is_err());
        let c = Config::try_parse_from(["t", "--token-secret", "k"]).unwrap();
        assert_eq!(c.token_secret.as_deref(), Some("k"));
    }

    #[test]
    fn topics_file_parsing() {
        let t = parse_topics(r#"[{"name":"chat","client_publish":true},{"name":"news"}]"#).unwrap();
        assert_eq!(t.len(), 2);
        assert!(t[0].client_publish);
        assert!(!t[1].client_publish);
        assert!(parse_topics("[]").is_err());
        assert!(parse_topics(r#"[{"name":"a"},{"name":"a"}]"#).is_err());
        assert!(parse_topics(r#"[{"name":""}]"#).is_err());
        assert!(parse_topics(r#"{"name":"a"}"#).is_err());
    }
}
