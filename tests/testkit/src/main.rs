//! `tether-testkit control --server-bin PATH [--listen ADDR]`
//!
//! A control server for browser tests. The page under test cannot start or
//! kill processes, so it asks this tool over HTTP (CORS-open, simple POSTs):
//!
//! - `POST /server/start?name=N[&args=a,b]`: start the real `tether-server`
//!   named N on its own fixed port (chosen on first start, reused on
//!   restart so the client's URL stays valid); answers `{"ws","http"}`
//!   once the server printed `listening on`. The requesting page's Origin
//!   is passed as `--allowed-origins`.
//! - `POST /server/kill?name=N`: SIGKILL it and wait until it is gone.
//! - `POST /server/publish?name=N` with a JSON body: forwards to the
//!   server's `POST /publish` and answers with its status and body.
//!
//! It prints `listening on http://ADDR` first, like the server.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

struct Managed {
    port: u16,
    child: Option<Child>,
}

struct Control {
    server_bin: PathBuf,
    servers: Mutex<HashMap<String, Managed>>,
}

type Shared = Arc<Control>;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    if args.get(1).map(String::as_str) != Some("control") {
        eprintln!("usage: tether-testkit control --server-bin PATH [--listen ADDR]");
        std::process::exit(2);
    }
    let Some(server_bin) = flag("--server-bin") else {
        eprintln!("tether-testkit: --server-bin PATH is required");
        std::process::exit(2);
    };
    let listen = flag("--listen").unwrap_or_else(|| "127.0.0.1:0".into());
    let control = Arc::new(Control {
        server_bin: server_bin.into(),
        servers: Mutex::new(HashMap::new()),
    });
    let app = Router::new()
        .route("/server/start", post(start))
        .route("/server/kill", post(kill))
        .route("/server/publish", post(publish))
        .with_state(control.clone());
    let listener = match TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("tether-testkit: cannot listen on {listen}: {e}");
            std::process::exit(1);
        }
    };
    let addr = listener.local_addr().expect("bound socket has an address");
    println!("listening on http://{addr}");
    let serve = axum::serve(listener, app).with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        r = serve => if let Err(e) = r { eprintln!("tether-testkit: {e}") },
        _ = term.recv() => {}
    }
    // Never leave servers behind.
    for (_, mut m) in control.servers.lock().await.drain() {
        if let Some(mut child) = m.child.take() {
            let _ = child.kill().await;
        }
    }
}

fn reply(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::CONTENT_TYPE, "application/json"),
        ],
        body,
    )
        .into_response()
}

fn error_reply(status: StatusCode, message: String) -> Response {
    // Debug-quoting a string yields a valid JSON string for these messages.
    reply(status, format!("{{\"error\":{message:?}}}"))
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn start(
    State(c): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
) -> Response {
    let name = q.get("name").cloned().unwrap_or_else(|| "default".into());
    let mut servers = c.servers.lock().await;
    let port = match servers.get(&name) {
        Some(m) => m.port,
        None => match free_port() {
            Ok(p) => p,
            Err(e) => return error_reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        },
    };
    if let Some(m) = servers.get_mut(&name) {
        if let Some(mut old) = m.child.take() {
            let _ = old.kill().await;
        }
    }
    let mut cmd = Command::new(&c.server_bin);
    cmd.arg("--listen").arg(format!("127.0.0.1:{port}"));
    // The page under test is served from another port: allow exactly its
    // origin, as an operator would allow their dashboard's.
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        cmd.arg("--allowed-origins").arg(origin);
    }
    if let Some(extra) = q.get("args") {
        cmd.args(extra.split(',').filter(|a| !a.is_empty()));
    }
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            let msg = format!("cannot start {}: {e}", c.server_bin.display());
            return error_reply(StatusCode::INTERNAL_SERVER_ERROR, msg);
        }
    };
    let Some(stdout) = child.stdout.take() else {
        return error_reply(StatusCode::INTERNAL_SERVER_ERROR, "no stdout".into());
    };
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line()).await;
    match first {
        Ok(Ok(Some(line))) if line.starts_with("listening on ") => {}
        other => {
            let _ = child.kill().await;
            let msg = format!("server did not report listening: {other:?}");
            return error_reply(StatusCode::INTERNAL_SERVER_ERROR, msg);
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    servers.insert(
        name,
        Managed {
            port,
            child: Some(child),
        },
    );
    reply(
        StatusCode::OK,
        format!("{{\"ws\":\"ws://127.0.0.1:{port}/ws\",\"http\":\"http://127.0.0.1:{port}\"}}"),
    )
}

async fn kill(State(c): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let name = q.get("name").cloned().unwrap_or_else(|| "default".into());
    let mut servers = c.servers.lock().await;
    let Some(child) = servers.get_mut(&name).and_then(|m| m.child.take()) else {
        return error_reply(StatusCode::NOT_FOUND, "no such running server".into());
    };
    let mut child = child;
    let _ = child.kill().await; // SIGKILL, then waits for exit
    reply(StatusCode::OK, "{\"killed\":true}".into())
}

async fn publish(
    State(c): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    let name = q.get("name").cloned().unwrap_or_else(|| "default".into());
    let port = match c.servers.lock().await.get(&name) {
        Some(m) => m.port,
        None => return error_reply(StatusCode::NOT_FOUND, "no such server".into()),
    };
    match http_post(SocketAddr::from(([127, 0, 0, 1], port)), "/publish", &body).await {
        Ok((status, body)) => reply(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            body,
        ),
        Err(e) => error_reply(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

/// A minimal HTTP/1.1 POST (Connection: close), enough for `/publish`.
async fn http_post(addr: SocketAddr, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}
