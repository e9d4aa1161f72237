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
//! - `POST /server/stop?name=N`: SIGTERM it (graceful shutdown: `goaway`,
//!   close 1012) and wait until it exits; answers `{"exit": CODE}`.
//! - `POST /server/publish?name=N` with a JSON body: forwards to the
//!   server's `POST /publish` and answers with its status and body.
//! - `POST /proxy/start?name=P&server=S`: a fault-injecting TCP proxy (see
//!   [`proxy`]) on its own fixed port in front of the server or echo server
//!   S (a server not started yet gets its port now); answers `{"ws"}`.
//! - `POST /proxy/mode?name=P&mode=pass|blackhole|stall_new`.
//! - `POST /proxy/cut?name=P`: resets every current connection.
//! - `POST /proxy/stats?name=P`: `{"mode","accepted","open"}`.
//! - `POST /echo/start?name=E`: a plain JSON echo WebSocket server (see
//!   [`echo`]); answers `{"ws"}`. `POST /echo/stats?name=E`: its counters.
//! - `POST /file?name=F` with a body: writes it to a private temporary
//!   folder and answers `{"path"}` (for `--topics FILE`).
//! - `POST /kick?name=K`: a server that accepts and closes at once (see
//!   [`kick`]); answers `{"ws","connections"}`.
//!
//! It prints `listening on http://ADDR` first, like the server.

mod echo;
mod kick;
mod proxy;
mod redis;

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
    proxies: Mutex<HashMap<String, proxy::Proxy>>,
    echoes: Mutex<HashMap<String, echo::Echo>>,
    redises: Mutex<HashMap<String, redis::Redis>>,
    /// Where `/file` writes; removed on exit.
    files: PathBuf,
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
        proxies: Mutex::new(HashMap::new()),
        echoes: Mutex::new(HashMap::new()),
        redises: Mutex::new(HashMap::new()),
        files: std::env::temp_dir().join(format!("tether-testkit-{}", std::process::id())),
    });
    let app = Router::new()
        .route("/server/start", post(start))
        .route("/server/kill", post(kill))
        .route("/server/stop", post(stop))
        .route("/server/publish", post(publish))
        .route("/proxy/start", post(proxy_start))
        .route("/proxy/mode", post(proxy_mode))
        .route("/proxy/cut", post(proxy_cut))
        .route("/proxy/stats", post(proxy_stats))
        .route("/echo/start", post(echo_start))
        .route("/echo/stats", post(echo_stats))
        .route("/file", post(write_file))
        .route("/redis/start", post(redis_start))
        .route("/redis/kill", post(redis_kill))
        .route("/kick", post(kick::handle))
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
    // Never leave servers or files behind.
    for (_, mut m) in control.servers.lock().await.drain() {
        if let Some(mut child) = m.child.take() {
            let _ = child.kill().await;
        }
    }
    for (_, redis) in control.redises.lock().await.drain() {
        redis.kill().await;
    }
    let _ = std::fs::remove_dir_all(&control.files);
}

/// `POST /redis/start?name=R`: a real redis-server on a free port;
/// answers `{"url":"redis://127.0.0.1:PORT"}`.
async fn redis_start(
    State(c): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let name = name_of(&q);
    let mut redises = c.redises.lock().await;
    if let Some(old) = redises.remove(&name) {
        old.kill().await;
    }
    let port = match free_port() {
        Ok(p) => p,
        Err(e) => return error_reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    match redis::Redis::start(port).await {
        Ok(r) => {
            redises.insert(name, r);
            reply(
                StatusCode::OK,
                format!("{{\"url\":\"redis://127.0.0.1:{port}\"}}"),
            )
        }
        Err(e) => error_reply(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// `POST /redis/kill?name=R`: SIGKILL.
async fn redis_kill(State(c): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    match c.redises.lock().await.remove(&name_of(&q)) {
        Some(r) => {
            r.kill().await;
            reply(StatusCode::OK, "{\"killed\":true}".into())
        }
        None => error_reply(StatusCode::NOT_FOUND, "no such redis".into()),
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

/// The `name` query parameter, `default` when absent.
fn name_of(q: &HashMap<String, String>) -> String {
    q.get("name").cloned().unwrap_or_else(|| "default".into())
}

fn ws_reply(port: u16) -> Response {
    reply(
        StatusCode::OK,
        format!("{{\"ws\":\"ws://127.0.0.1:{port}/ws\"}}"),
    )
}

/// The fixed port of server `name`, chosen now if it has none yet.
fn server_port(servers: &mut HashMap<String, Managed>, name: &str) -> std::io::Result<u16> {
    if let Some(m) = servers.get(name) {
        return Ok(m.port);
    }
    let port = free_port()?;
    servers.insert(name.to_owned(), Managed { port, child: None });
    Ok(port)
}

async fn start(
    State(c): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
) -> Response {
    let name = name_of(&q);
    let mut servers = c.servers.lock().await;
    let port = match server_port(&mut servers, &name) {
        Ok(p) => p,
        Err(e) => return error_reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
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
        .stderr(Stdio::piped())
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
    let log_tail = child.stderr.take().map(|stderr| forward_log(&name, stderr));
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line()).await;
    match first {
        Ok(Ok(Some(line))) if line.starts_with("listening on ") => {}
        other => {
            // Let a failing server finish its message (e.g. a flag it lacks).
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), child.wait()).await;
            let _ = child.kill().await;
            let tail = match log_tail {
                Some(task) => task.await.unwrap_or_default(),
                None => String::new(),
            };
            let msg = format!("server did not report listening ({other:?}); its stderr: {tail}");
            return error_reply(StatusCode::INTERNAL_SERVER_ERROR, msg);
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    // Listening is not ready: with --broker the server refuses upgrades and
    // publications until it has read Redis; /healthz says when.
    if let Err(e) = until_healthy(port).await {
        let _ = child.kill().await;
        return error_reply(StatusCode::INTERNAL_SERVER_ERROR, e);
    }
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

/// Waits (at most 20 s) until the server on `port` answers `/healthz` 200.
async fn until_healthy(port: u16) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let last = http(addr, "GET", "/healthz", "").await;
        if matches!(last, Ok((200, _))) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "server on port {port} not healthy within 20 s (last: {last:?})"
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Copies the server's stderr to ours, each line prefixed with its name;
/// resolves, once the server closes it, to the last lines (for errors).
fn forward_log(name: &str, stderr: tokio::process::ChildStderr) -> tokio::task::JoinHandle<String> {
    let name = name.to_owned();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut tail = std::collections::VecDeque::new();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[{name}] {line}");
            if tail.len() == 10 {
                tail.pop_front();
            }
            tail.push_back(line);
        }
        Vec::from(tail).join("\n")
    })
}

async fn kill(State(c): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let name = name_of(&q);
    let mut servers = c.servers.lock().await;
    let Some(child) = servers.get_mut(&name).and_then(|m| m.child.take()) else {
        return error_reply(StatusCode::NOT_FOUND, "no such running server".into());
    };
    let mut child = child;
    let _ = child.kill().await; // SIGKILL, then waits for exit
    reply(StatusCode::OK, "{\"killed\":true}".into())
}

/// SIGTERM, then waits (at most 15 s) for the exit: the server's graceful
/// shutdown, as a deploy would do it.
async fn stop(State(c): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let name = name_of(&q);
    let mut servers = c.servers.lock().await;
    let Some(mut child) = servers.get_mut(&name).and_then(|m| m.child.take()) else {
        return error_reply(StatusCode::NOT_FOUND, "no such running server".into());
    };
    let Some(pid) = child.id() else {
        return reply(StatusCode::OK, "{\"exit\":null}".into());
    };
    let sent = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .await;
    if !sent.is_ok_and(|s| s.success()) {
        let _ = child.kill().await;
        return error_reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "kill -TERM failed".into(),
        );
    }
    match tokio::time::timeout(std::time::Duration::from_secs(15), child.wait()).await {
        Ok(Ok(status)) => {
            let code = status.code().map_or("null".into(), |c| c.to_string());
            reply(StatusCode::OK, format!("{{\"exit\":{code}}}"))
        }
        other => {
            let _ = child.kill().await;
            let msg = format!("server did not exit within 15 s of SIGTERM: {other:?}");
            error_reply(StatusCode::INTERNAL_SERVER_ERROR, msg)
        }
    }
}

async fn publish(
    State(c): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    let name = name_of(&q);
    let port = match c.servers.lock().await.get(&name) {
        Some(m) => m.port,
        None => return error_reply(StatusCode::NOT_FOUND, "no such server".into()),
    };
    match http(
        SocketAddr::from(([127, 0, 0, 1], port)),
        "POST",
        "/publish",
        &body,
    )
    .await
    {
        Ok((status, body)) => reply(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            body,
        ),
        Err(e) => error_reply(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

/// A minimal HTTP/1.1 request (Connection: close), enough for `/publish`
/// and `/healthz`.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
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

async fn proxy_start(
    State(c): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let name = name_of(&q);
    let Some(target) = q.get("server") else {
        return error_reply(StatusCode::BAD_REQUEST, "server=NAME is required".into());
    };
    let mut proxies = c.proxies.lock().await;
    if let Some(p) = proxies.get(&name) {
        p.set_mode(proxy::Mode::Pass);
        return ws_reply(p.port);
    }
    let echo_port = c.echoes.lock().await.get(target).map(|e| e.port);
    let port = match echo_port {
        Some(p) => p,
        None => match server_port(&mut *c.servers.lock().await, target) {
            Ok(p) => p,
            Err(e) => return error_reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        },
    };
    match proxy::Proxy::start(SocketAddr::from(([127, 0, 0, 1], port))).await {
        Ok(p) => {
            let response = ws_reply(p.port);
            proxies.insert(name, p);
            response
        }
        Err(e) => error_reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn proxy_mode(State(c): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(mode) = q.get("mode").and_then(|m| proxy::Mode::parse(m)) else {
        let msg = "mode must be pass, blackhole or stall_new".into();
        return error_reply(StatusCode::BAD_REQUEST, msg);
    };
    with_proxy(&c, &q, |p| p.set_mode(mode)).await
}

async fn proxy_cut(State(c): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    with_proxy(&c, &q, proxy::Proxy::cut).await
}

async fn proxy_stats(
    State(c): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    with_proxy(&c, &q, |_| {}).await
}

/// Runs `f` on proxy `name`, then answers its stats.
async fn with_proxy(
    c: &Control,
    q: &HashMap<String, String>,
    f: impl FnOnce(&proxy::Proxy),
) -> Response {
    let proxies = c.proxies.lock().await;
    let Some(p) = proxies.get(&name_of(q)) else {
        return error_reply(StatusCode::NOT_FOUND, "no such proxy".into());
    };
    f(p);
    reply(
        StatusCode::OK,
        format!(
            "{{\"mode\":\"{}\",\"accepted\":{},\"open\":{}}}",
            p.mode_name(),
            p.accepted(),
            p.open()
        ),
    )
}

async fn echo_start(State(c): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut echoes = c.echoes.lock().await;
    let name = name_of(&q);
    if let Some(e) = echoes.get(&name) {
        return ws_reply(e.port);
    }
    match echo::Echo::start().await {
        Ok(e) => {
            let response = ws_reply(e.port);
            echoes.insert(name, e);
            response
        }
        Err(e) => error_reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn echo_stats(State(c): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    match c.echoes.lock().await.get(&name_of(&q)) {
        Some(e) => reply(StatusCode::OK, e.counts_json()),
        None => error_reply(StatusCode::NOT_FOUND, "no such echo server".into()),
    }
}

/// Writes the body to `<private temp dir>/<name>`; the name may not leave
/// the folder.
async fn write_file(
    State(c): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    let name = name_of(&q);
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return error_reply(StatusCode::BAD_REQUEST, "bad file name".into());
    }
    let path = c.files.join(&name);
    // A few bytes on a local disk: blocking briefly is fine here.
    match std::fs::create_dir_all(&c.files).and_then(|()| std::fs::write(&path, body)) {
        Ok(()) => reply(
            StatusCode::OK,
            serde_json::json!({ "path": path }).to_string(),
        ),
        Err(e) => error_reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
