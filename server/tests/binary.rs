//! The real `tether-server` binary: the `listening on` line, flags and env
//! fallbacks, SIGTERM, and a restart on the same port.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};

use common::*;
use serde_json::json;
use tether_protocol::close::code;

/// A running binary, killed if the test fails before it exits.
struct Proc {
    child: Option<Child>,
    addr: SocketAddr,
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Proc {
    /// Starts the binary and reads the first stdout line.
    async fn start(args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tether-server"));
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .env_remove("RUST_LOG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn tether-server");
        let stdout = child.stdout.take().unwrap();
        let line = tokio::time::timeout(
            WAIT,
            tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                BufReader::new(stdout).read_line(&mut line).map(|_| line)
            }),
        )
        .await
        .expect("no `listening on` line in time")
        .unwrap()
        .unwrap();
        let addr = line
            .trim_end()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("first stdout line was {line:?}"))
            .parse()
            .expect("a socket address");
        Proc {
            child: Some(child),
            addr,
        }
    }

    fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    fn sigterm(&self) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let ok = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(ok.success());
    }

    async fn wait(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            tokio::task::spawn_blocking(move || child.wait()),
        )
        .await
        .expect("exits within 10 s")
        .unwrap()
        .unwrap()
    }
}

#[tokio::test]
async fn real_binary_serves_and_exits_cleanly_on_sigterm() {
    let server = Proc::start(
        &["--listen", "127.0.0.1:0", "--heartbeat-interval", "0.5"],
        &[
            ("TETHER_PUBLISH_KEY", "k1"),
            ("TETHER_SHUTDOWN_SPREAD_MS", "10"),
        ],
    )
    .await;
    assert_ne!(server.addr.port(), 0);
    let mut ws = connect_url(&server.ws_url()).await;
    let welcome = recv(&mut ws).await;
    assert_eq!(welcome["type"], "connection_established");
    assert_eq!(welcome["heartbeat_interval"], 0.5);
    subscribe(&mut ws, 1, "miners").await;

    let body = r#"{"topic":"miners","data":{"h":1}}"#;
    assert_eq!(
        http(server.addr, "POST", "/publish", &[], body).await.0,
        401
    );
    let auth = [("Authorization", "Bearer k1")];
    assert_eq!(
        http(server.addr, "POST", "/publish", &auth, body).await.0,
        200
    );
    assert_eq!(recv(&mut ws).await["data"], json!({"h":1}));

    server.sigterm();
    let goaway = recv(&mut ws).await;
    assert_eq!(goaway["type"], "goaway");
    assert_eq!(goaway["spread_ms"], 10);
    assert_eq!(recv_close(&mut ws).await.0, code::SERVICE_RESTART);
    drop(ws);
    assert!(server.wait().await.success());
}

#[tokio::test]
async fn restart_on_the_same_fixed_port_works_at_once() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let first = Proc::start(&["--listen", &listen], &[]).await;
    assert_eq!(first.addr.port(), port);
    // A live connection, closed by the server, leaves TIME_WAIT behind.
    let mut ws = connect_url(&first.ws_url()).await;
    recv(&mut ws).await;
    first.sigterm();
    assert_eq!(recv_close(&mut ws).await.0, code::SERVICE_RESTART);
    drop(ws);
    assert!(first.wait().await.success());

    // The switch from the environment accepts `1`.
    let second = Proc::start(&["--listen", &listen], &[("TETHER_DEMO", "1")]).await;
    assert_eq!(second.addr.port(), port);
    let mut ws = connect_url(&second.ws_url()).await;
    assert_eq!(recv(&mut ws).await["type"], "connection_established");
    subscribe(&mut ws, 1, "metrics").await;
    let p = recv(&mut ws).await;
    assert_eq!(
        (p["type"].as_str(), p["topic"].as_str()),
        (Some("publication"), Some("metrics"))
    );
}

#[tokio::test]
async fn token_secret_from_the_environment() {
    let secret = "env-secret";
    let server = Proc::start(
        &["--listen", "127.0.0.1:0"],
        &[("TETHER_TOKEN_SECRET", secret)],
    )
    .await;
    let mut ws = connect_url(&server.ws_url()).await;
    assert_eq!(recv_close(&mut ws).await.0, code::TOKEN_EXPIRED);
    let token = jwt(secret, json!({"sub":"env","exp":unix_in(60)}));
    let mut ws = connect_url(&format!("{}?token={token}&sdk=test", server.ws_url())).await;
    assert_eq!(recv(&mut ws).await["type"], "connection_established");
}
