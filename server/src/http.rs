//! HTTP routes: `GET /ws`, `POST /publish`, `GET /topics/{name}/latest`,
//! `GET /topics/{name}/history`, `GET /healthz`, `GET /metrics`, the `--demo` outage controls
//! (`POST /demo/drop`, `POST /demo/restart`) and the optional static folder
//! at `/`.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::services::ServeDir;

use crate::auth::Grant;
use crate::conn::Peer;
use crate::{AppState, PublishError};

/// Largest `POST /publish` body (it bounds the size of the frames the
/// server sends).
pub const PUBLISH_BODY_LIMIT: usize = 2 * 1024 * 1024;
/// Bytes of `POST /publish` bodies being read at once, across all
/// requests (16 bodies of the largest size): slow or unfinished bodies
/// cannot take more memory than this; over it, 503.
pub const PUBLISH_BODY_BUDGET: usize = 16 * PUBLISH_BODY_LIMIT;

/// The router for `state`. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` (as [`crate::serve`]
/// does) for per-IP connection limits.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/ws", get(ws))
        .route("/publish", post(publish))
        .route("/topics/{name}/latest", get(latest))
        .route("/topics/{name}/history", get(history))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/demo/drop", post(demo_drop))
        .route("/demo/restart", post(demo_restart));
    if let Some(dir) = &state.config().static_dir {
        router = router.fallback_service(ServeDir::new(dir));
    }
    router.with_state(state)
}

/// The peer's IP, when the server was started with connect info.
#[derive(Debug, Clone, Copy)]
pub struct PeerIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

/// Longest `sdk` value kept for logs (longer ones are cut).
const MAX_SDK_LEN: usize = 64;

/// `GET /ws`: checks shutdown and Origin, reads `token` and `sdk` from the
/// query, then upgrades. A token that fails the check does not fail the
/// upgrade: the connection is closed with 4401 or 4503 once open
/// (see [`crate::auth`]).
async fn ws(
    State(state): State<AppState>,
    PeerIp(ip): PeerIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    upgrade: crate::ws::Upgrade,
) -> Response {
    if state.hub().is_shutting_down() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    if state.hub().is_paused() || !state.hub().is_ready() {
        return (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response();
    }
    if let Some(refused) = origin_refusal(&state, &headers, "upgrade") {
        state
            .hub()
            .metrics()
            .refused_upgrade_origin
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return refused;
    }
    let (token, sdk) = upgrade_params(query.as_deref().unwrap_or(""));
    let auth = match state.verifier() {
        Some(verifier) => verifier.verify(token.as_deref()),
        None => Ok(Grant::default()),
    };
    let peer = Peer { ip, sdk, auth };
    upgrade.on_upgrade(move |socket| crate::conn::run(socket, state, peer))
}

/// `token` and `sdk` from an upgrade URL's query. Lenient: a malformed or
/// repeated parameter never fails the upgrade (the first one wins); `sdk`
/// is cut to [`MAX_SDK_LEN`] characters.
fn upgrade_params(query: &str) -> (Option<String>, Option<String>) {
    let mut token = None;
    let mut sdk = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "token" if token.is_none() => token = Some(value.into_owned()),
            "sdk" if sdk.is_none() => sdk = Some(value.chars().take(MAX_SDK_LEN).collect()),
            _ => {}
        }
    }
    (token, sdk)
}

/// Refuses (403) a browser's request from an origin that may not use this
/// server: the WebSocket upgrade, and the state-changing `POST` routes, so
/// a page elsewhere can neither open a socket nor publish (cross-site
/// request forgery: a `text/plain` POST needs no CORS preflight). Requests
/// without `Origin` are not from a browser page, unless `Sec-Fetch-Site`
/// says they come from another site.
fn origin_refusal(state: &AppState, headers: &HeaderMap, what: &str) -> Option<Response> {
    let origin = headers
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site" || v.as_bytes() == b"same-site");
    let allowed = match origin {
        Some(_) => origin_allowed(origin, host, &state.config().allowed_origins),
        None => !cross_site,
    };
    if allowed {
        return None;
    }
    state
        .hub()
        .metrics()
        .refused_origin
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let origin: Option<String> = origin.map(|o| o.chars().take(100).collect());
    tracing::info!(?origin, ?host, "{what} refused: origin not allowed");
    Some(
        (
            StatusCode::FORBIDDEN,
            "origin not allowed: see --allowed-origins",
        )
            .into_response(),
    )
}

/// Whether a request with this `Origin` (None: header absent) may proceed.
///
/// No Origin: allowed (not a browser). With an allow-list: the origin,
/// lower-cased without a trailing slash, must be listed, or the list holds
/// `*`. Without a list: the Origin's host:port must equal the Host header
/// (default ports filled in from the Origin's scheme), and that host must
/// be an IP address or `localhost`: a DNS name could be an attacker's that
/// now resolves to this server (DNS rebinding), so serving under a name
/// needs the name in `--allowed-origins`.
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    let origin = normalize_origin(origin);
    if !allowed.is_empty() {
        return allowed
            .iter()
            .any(|a| a.trim() == "*" || normalize_origin(a) == origin);
    }
    let (Some(host), Some((scheme, authority))) = (host, origin.split_once("://")) else {
        return false;
    };
    let default_port = match scheme {
        "http" => "80",
        "https" => "443",
        _ => return false,
    };
    let host = host.to_ascii_lowercase();
    with_port(authority, default_port) == with_port(&host, default_port)
        && is_address_or_localhost(&host)
}

/// Whether a Host header (`name[:port]`, `[v6][:port]`) names an IP address
/// or `localhost`, which no one else's DNS can point here.
fn is_address_or_localhost(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => {
            return v6
                .split(']')
                .next()
                .is_some_and(|a| a.parse::<IpAddr>().is_ok())
        }
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name == "localhost" || name.ends_with(".localhost") || name.parse::<IpAddr>().is_ok()
}

fn normalize_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// `host` or `host:port` (including `[v6]:port`) as `host:port`.
fn with_port(authority: &str, default_port: &str) -> String {
    let has_port = match authority.rfind(']') {
        Some(end) => authority[end..].contains(':'),
        None => authority.contains(':'),
    };
    if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:{default_port}")
    }
}

/// Body of `POST /publish`.
#[derive(Debug, Deserialize)]
pub struct PublishBody {
    /// The topic to publish on.
    pub topic: String,
    /// The publication's `event` (default: `<topic>_update`).
    #[serde(default)]
    pub event: Option<String>,
    /// The payload (default: `null`).
    #[serde(default)]
    pub data: Value,
}

/// Reads a `POST /publish` body (a JSON object); the error says what is
/// wrong with it.
pub fn parse_publish_body(body: &[u8]) -> Result<PublishBody, String> {
    // serde would also read the struct from an array (`["miners"]`).
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err("bad body: expected a JSON object".into());
    }
    serde_json::from_slice(body).map_err(|e| format!("bad body: {e}"))
}

/// `POST /publish`: `{topic, event?, data?}` -> `{offset, epoch}`; 404 for
/// an unknown topic, 503 while a configured broker is unreachable. The
/// origin and the key are checked before the body is read; the body is
/// read within `--body-timeout`, up to [`PUBLISH_BODY_LIMIT`], and only
/// while the bodies being read fit in [`PUBLISH_BODY_BUDGET`].
async fn publish(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    if let Some(refused) = origin_refusal(&state, &headers, "publish") {
        return refused;
    }
    if let Some(key) = &state.config().publish_key {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), key.as_bytes())) {
            return error(StatusCode::UNAUTHORIZED, "missing or wrong bearer key");
        }
    }
    let body = match read_body(&state, &headers, body).await {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    let body = match parse_publish_body(&body) {
        Ok(body) => body,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    match state.publish(&body.topic, body.event, body.data).await {
        Ok((epoch, offset)) => Json(json!({ "offset": offset, "epoch": epoch })).into_response(),
        Err(PublishError::Topic(e)) => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": e.to_string(), "available_topics": state.hub().topic_names() })),
        )
            .into_response(),
        Err(PublishError::Unavailable(e)) => error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

/// Why a `POST /publish` body was not read.
enum BodyError {
    TooLarge,
    Busy,
    Unreadable,
    Late(Duration),
}

impl IntoResponse for BodyError {
    fn into_response(self) -> Response {
        match self {
            BodyError::TooLarge => error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body is over {PUBLISH_BODY_LIMIT} bytes"),
            ),
            BodyError::Busy => error(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many publish bodies in flight; retry",
            ),
            BodyError::Unreadable => error(StatusCode::BAD_REQUEST, "the body could not be read"),
            BodyError::Late(timeout) => error(
                StatusCode::REQUEST_TIMEOUT,
                &format!("the body did not arrive within {timeout:?}"),
            ),
        }
    }
}

/// Reads a `POST /publish` body, bounded in size, time and, across all
/// requests, in memory.
async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > PUBLISH_BODY_LIMIT) {
        return Err(BodyError::TooLarge);
    }
    // A body of unknown length may grow to the limit: reserve that much.
    let reserve = declared.unwrap_or(PUBLISH_BODY_LIMIT).max(1);
    let Ok(_reserved) = state.body_budget().try_acquire_many(reserve as u32) else {
        return Err(BodyError::Busy);
    };
    let timeout = state.config().body_timeout;
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, PUBLISH_BODY_LIMIT)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) if is_length_limit(&e) => Err(BodyError::TooLarge),
        Ok(Err(_)) => Err(BodyError::Unreadable),
        Err(_) => Err(BodyError::Late(timeout)),
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// `GET /healthz`: 200 `ok`; 503 while a configured broker is unreachable.
async fn healthz(State(state): State<AppState>) -> Response {
    if state.is_healthy() {
        "ok".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "broker unreachable").into_response()
    }
}

/// `GET /topics/{name}/latest`: the topic's latest publication frame (200),
/// 204 when nothing was published in the current epoch, 404 for an
/// unknown topic. Public like `/healthz`, except under `--token-secret`:
/// then it needs `Authorization: Bearer <token>` with the rules of the
/// upgrade's `?token=` (401 when missing, expired or invalid; 403 for a
/// topic outside the token's `topics` claim).
async fn latest(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = topic_read_refusal(&state, &headers, &name) {
        return refused;
    }
    match state.hub().latest(&name) {
        Ok(Some(frame)) => ([(header::CONTENT_TYPE, "application/json")], frame).into_response(),
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(StatusCode::NOT_FOUND, &e.to_string()),
    }
}

/// With `--token-secret`, reading a topic over HTTP needs a bearer token
/// that grants it (the upgrade's rules): 401 or 403, else `None`.
fn topic_read_refusal(state: &AppState, headers: &HeaderMap, name: &str) -> Option<Response> {
    let verifier = state.verifier()?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match verifier.verify(token) {
        Ok(grant) if grant.allows(name) => None,
        Ok(_) => Some(error(
            StatusCode::FORBIDDEN,
            &format!("the token does not grant topic `{name}`"),
        )),
        Err(rejection) => Some(error(StatusCode::UNAUTHORIZED, &rejection.to_string())),
    }
}

/// `GET /topics/{name}/history?limit=N`: the topic's epoch, latest offset
/// and up to N (default [`HISTORY_DEFAULT_LIMIT`]) of its latest kept
/// publications, oldest first, exactly the frames subscribers got, within
/// `--replay-bytes` (as a `rewind`). For loading a page, then subscribing
/// with `since` the returned position. Same auth as `latest`.
async fn history(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = topic_read_refusal(&state, &headers, &name) {
        return refused;
    }
    let limit = match query_param(query.as_deref(), "limit") {
        None => HISTORY_DEFAULT_LIMIT,
        Some(v) => match v.parse::<u64>() {
            Ok(n) => n,
            Err(_) => return error(StatusCode::BAD_REQUEST, "limit must be a whole number >= 0"),
        },
    };
    match state.hub().history(&name, limit) {
        Ok((epoch, offset, frames)) => {
            let mut body = format!(
                "{{\"epoch\":{},\"offset\":{offset},\"publications\":[",
                Value::String(epoch)
            )
            .into_bytes();
            for (i, frame) in frames.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(frame);
            }
            body.extend_from_slice(b"]}");
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Err(e) => error(StatusCode::NOT_FOUND, &e.to_string()),
    }
}

/// The first value of query parameter `key` (decoded), if any.
fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// `limit` of `GET /topics/{name}/history` when none is given.
pub const HISTORY_DEFAULT_LIMIT: u64 = 100;

/// Default of `POST /demo/restart?down_ms=`.
const DEMO_RESTART_DOWN_MS: u64 = 3000;
/// Largest accepted `down_ms`.
const DEMO_RESTART_MAX_DOWN_MS: u64 = 60_000;

/// `POST /demo/drop` (`--demo` only, else 404): closes every WebSocket
/// with 1011, as a network failure or crash would, so clients reconnect and
/// recover. Answers `{"closed": N}`.
async fn demo_drop(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.config().demo {
        return error(StatusCode::NOT_FOUND, "demo controls need --demo");
    }
    if let Some(refused) = origin_refusal(&state, &headers, "demo control") {
        return refused;
    }
    let closed = state.hub().close_all(
        tether_protocol::close::code::INTERNAL_ERROR,
        "simulated outage",
    );
    tracing::info!(closed, "demo: dropped every connection");
    Json(json!({ "closed": closed })).into_response()
}

/// `POST /demo/restart[?down_ms=N]` (`--demo` only, else 404): simulates a
/// crash and restart. New connections are refused for `down_ms` (default
/// 3000): upgrades get HTTP 503, one already upgraded is closed 1013. Every
/// connection is closed 1012 and, with the in-memory hub, the history is
/// lost (new epoch per topic, offsets restart at 1), so recovering clients
/// get `recovered: false`. With `--broker` the history lives in the broker
/// and survives, as it would for a real restart of one instance. Answers
/// `{"closed": N, "down_ms": N}`.
async fn demo_restart(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if !state.config().demo {
        return error(StatusCode::NOT_FOUND, "demo controls need --demo");
    }
    if let Some(refused) = origin_refusal(&state, &headers, "demo control") {
        return refused;
    }
    let down_ms = match query_param(query.as_deref(), "down_ms").map(|v| v.parse::<u64>()) {
        None => DEMO_RESTART_DOWN_MS,
        Some(Ok(ms)) if ms <= DEMO_RESTART_MAX_DOWN_MS => ms,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("down_ms must be 0..={DEMO_RESTART_MAX_DOWN_MS}"),
            )
        }
    };
    let hub = state.hub();
    // Refuse first, so no client gets back in before the close reaches
    // it; close before the reset, so nothing of the new epoch reaches a
    // connection being closed (nothing queued after a close is sent).
    hub.pause(Duration::from_millis(down_ms));
    let closed = hub.close_all(
        tether_protocol::close::code::SERVICE_RESTART,
        "simulated restart",
    );
    if let Some(local) = state.local() {
        local.reset_history();
    }
    tracing::info!(closed, down_ms, "demo: simulated restart");
    Json(json!({ "closed": closed, "down_ms": down_ms })).into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Compares secrets without an early exit on the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `GET /metrics`: Prometheus text format.
async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::metrics::render(state.hub()),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrade_params_are_lenient() {
        assert_eq!(upgrade_params(""), (None, None));
        assert_eq!(
            upgrade_params("token=a.b%2Ec&sdk=tether-ws%2F0.1.0"),
            (Some("a.b.c".into()), Some("tether-ws/0.1.0".into()))
        );
        assert_eq!(
            upgrade_params("sdk=1&sdk=2&token&x=%zz&token=late"),
            (Some(String::new()), Some("1".into()))
        );
        let (_, sdk) = upgrade_params(&format!("sdk={}", "é".repeat(500)));
        assert_eq!(sdk.unwrap().chars().count(), MAX_SDK_LEN);
    }

    #[test]
    fn origin_rules() {
        let none: &[String] = &[];
        assert!(origin_allowed(None, Some("x:1"), none));
        assert!(origin_allowed(
            Some("http://localhost:8787"),
            Some("localhost:8787"),
            none
        ));
        assert!(origin_allowed(
            Some("HTTP://LocalHost/"),
            Some("localhost"),
            none
        ));
        assert!(origin_allowed(
            Some("https://192.0.2.1"),
            Some("192.0.2.1:443"),
            none
        ));
        assert!(origin_allowed(
            Some("http://app.localhost:3000"),
            Some("app.localhost:3000"),
            none
        ));
        // A DNS name may be an attacker's rebound to this server.
        assert!(!origin_allowed(
            Some("http://evil.example:8787"),
            Some("evil.example:8787"),
            none
        ));
        assert!(origin_allowed(
            Some("http://[::1]:9"),
            Some("[::1]:9"),
            none
        ));
        assert!(!origin_allowed(
            Some("http://evil.example"),
            Some("example.com"),
            none
        ));
        assert!(!origin_allowed(
            Some("http://localhost:1"),
            Some("localhost:2"),
            none
        ));
        assert!(!origin_allowed(Some("null"), Some("localhost"), none));
        assert!(!origin_allowed(Some("http://a"), None, none));

        let list = ["https://App.example/".to_owned(), "http://b:3".to_owned()];
        assert!(origin_allowed(
            Some("https://app.example"),
            Some("zzz"),
            &list
        ));
        assert!(origin_allowed(Some("http://b:3"), None, &list));
        assert!(!origin_allowed(Some("http://b:4"), Some("b:4"), &list));
        assert!(origin_allowed(Some("http://any"), None, &["*".to_owned()]));
    }
}
