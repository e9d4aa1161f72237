//! Client side of the benchmarks (`load`, `soak`): WebSocket connections to
//! `/ws`, `POST /publish` over keep-alive HTTP/1.1, `GET` of `/metrics`,
//! and the few JSON fields read from frames without parsing them whole.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::Res;

/// A client WebSocket.
pub type Ws = WebSocketStream<TcpStream>;

/// Microseconds since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Client WebSocket settings.
pub fn ws_config() -> WebSocketConfig {
    // Small buffers: tungstenite's default read buffer is 128 KiB per
    // connection, too much for 10k in one load generator.
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// Opens a WebSocket to `/ws` and waits for the first frame
/// (`connection_established`).
pub async fn ws_connect(addr: SocketAddr) -> Res<Ws> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    // Closing resets instead of lingering in TIME_WAIT: thousands of
    // connections per section would otherwise use up the loopback ports.
    tcp.set_zero_linger()?;
    ws_handshake(tcp, addr).await
}

/// The upgrade to `/ws` over an already connected `tcp`, then the wait
/// for `connection_established` (other frames before it are errors).
pub async fn ws_handshake(tcp: TcpStream, addr: SocketAddr) -> Res<Ws> {
    let url = format!("ws://{addr}/ws?sdk=tether-bench");
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(url, tcp, Some(ws_config())).await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.contains("connection_established") => return Ok(ws),
            Some(Ok(Message::Text(t))) => return Err(format!("unexpected first frame {t}").into()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => return Err("closed before connection_established".into()),
        }
    }
}

/// `GET path` on a fresh connection (`Connection: close`), at most 5 s:
/// the status and the body.
pub async fn http_get(addr: SocketAddr, path: &str) -> Res<(u16, String)> {
    let get = async {
        let mut s = TcpStream::connect(addr).await?;
        let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await?;
        let mut text = String::new();
        s.read_to_string(&mut text).await?;
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|v| v.parse().ok())
            .ok_or("bad status line")?;
        let body = text
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_owned();
        Res::Ok((status, body))
    };
    timeout(Duration::from_secs(5), get)
        .await
        .map_err(|_| "GET timed out")?
}

/// The value of the sample `name` (the whole series name, labels included,
/// e.g. `tether_dropped_total{reason="slow_consumer"}`) in Prometheus text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
    })
}

/// `tether_messages_out_total` of a server (`GET /metrics`).
pub async fn messages_out(addr: SocketAddr) -> Res<u64> {
    let (_, body) = http_get(addr, "/metrics").await?;
    metric(&body, "tether_messages_out_total")
        .map(|v| v as u64)
        .ok_or_else(|| "no tether_messages_out_total in /metrics".into())
}

/// `"name":"value"` of a JSON text (plain values only).
pub fn str_field<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    let key = format!("\"{name}\":\"");
    let start = text.find(&key)? + key.len();
    let len = text[start..].find('"')?;
    Some(&text[start..start + len])
}

/// `"name":N` of a JSON text.
pub fn num_field(text: &str, name: &str) -> Option<u64> {
    let key = format!("\"{name}\":");
    let rest = &text[text.find(&key)? + key.len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// `POST /publish` over one keep-alive HTTP/1.1 connection.
pub struct Publisher {
    stream: tokio::io::BufReader<TcpStream>,
    buf: Vec<u8>,
}

impl Publisher {
    /// Connects to the server at `addr`.
    pub async fn connect(addr: SocketAddr) -> Res<Publisher> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        tcp.set_zero_linger()?;
        Ok(Publisher {
            stream: tokio::io::BufReader::new(tcp),
            buf: Vec::with_capacity(512),
        })
    }

    /// Publishes `body`; returns the HTTP status.
    pub async fn post(&mut self, body: &str) -> Res<u16> {
        self.buf.clear();
        self.buf.extend_from_slice(
            format!(
                "POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        self.buf.extend_from_slice(body.as_bytes());
        self.stream.get_mut().write_all(&self.buf).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {line:?}"))?;
        let mut len = 0usize;
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                return Err("connection closed".into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse()?;
                }
            }
        }
        let mut body = vec![0; len];
        self.stream.read_exact(&mut body).await?;
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_metrics() {
        let frame = r#"{"type":"publication","topic":"s1","epoch":"e12","offset":42,"data":{}}"#;
        assert_eq!(str_field(frame, "topic"), Some("s1"));
        assert_eq!(str_field(frame, "epoch"), Some("e12"));
        assert_eq!(num_field(frame, "offset"), Some(42));
        assert_eq!(num_field(frame, "nope"), None);
        let text = "# HELP x\ntether_connections 12\n\
                    tether_dropped_total{reason=\"slow_consumer\"} 3\n\
                    tether_connections_accepted_total 99\n";
        assert_eq!(metric(text, "tether_connections"), Some(12.0));
        assert_eq!(
            metric(text, "tether_connections_accepted_total"),
            Some(99.0)
        );
        assert_eq!(
            metric(text, "tether_dropped_total{reason=\"slow_consumer\"}"),
            Some(3.0)
        );
        assert_eq!(metric(text, "tether_stale_disconnects_total"), None);
    }
}
