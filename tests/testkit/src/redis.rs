//! Real `redis-server` processes for the scale-out browser tests: started on
//! a free port with persistence off, killed on request and on exit.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// One running redis-server.
pub struct Redis {
    pub port: u16,
    child: Child,
}

impl Redis {
    /// Starts `redis-server` on `port` and waits until it answers PING.
    pub async fn start(port: u16) -> Result<Redis, String> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start redis-server (Debian package redis-server): {e}"))?;
        let redis = Redis { port, child };
        for _ in 0..200 {
            if redis.ping().await {
                return Ok(redis);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err(format!(
            "redis-server on port {port} did not answer PING within 5 s"
        ))
    }

    async fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        if stream.write_all(b"PING\r\n").await.is_err() {
            return false;
        }
        let mut reply = [0u8; 7];
        matches!(stream.read(&mut reply).await, Ok(n) if reply[..n].starts_with(b"+PONG"))
    }

    /// SIGKILLs it and waits until it is gone.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}
