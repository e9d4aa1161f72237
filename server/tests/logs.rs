//! Log lines of the connection handler: connect and disconnect carry the
//! client id, the live connection count and the reason; the connection's
//! span carries `sub` and `sdk`. A test binary of its own: the subscriber is
//! thread-local, and other tests running in the same process would race
//! with its callsite registration.

mod common;

use std::sync::{Arc, Mutex};

use common::pipe::*;
use common::*;
use tether_server::auth::{Grant, Rejection};
use tether_server::conn::Peer;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

/// Log output captured in memory.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

impl Logs {
    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn line_with(&self, what: &str) -> String {
        let lines = self.lines();
        lines
            .iter()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no log line with {what:?} in {lines:#?}"))
            .clone()
    }
}

/// One runtime thread (the `#[tokio::test]` default), so the thread-local
/// subscriber sees every task.
#[tokio::test]
async fn connects_and_disconnects_are_logged_with_ids_counts_and_reasons() {
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let state = state(config());
    let peer = Peer {
        ip: Some("192.0.2.7".parse().unwrap()),
        sdk: Some("tether-ws/0.1.0".into()),
        auth: Ok(Grant {
            sub: Some("ann".into()),
            topics: None,
            expires: None,
        }),
    };
    let (mut a, task_a) = pipe(&state, peer).await;
    let id_a = recv(&mut a).await["client_id"].as_str().unwrap().to_owned();
    let (mut b, _task_b) = pipe(&state, Peer::anonymous()).await;
    let id_b = recv(&mut b).await["client_id"].as_str().unwrap().to_owned();

    let connected = logs.line_with(&format!("client_id={id_a}"));
    for want in [
        "connected",
        "sub=\"ann\"",
        "sdk=\"tether-ws/0.1.0\"",
        "ip=192.0.2.7",
        "connections=1",
    ] {
        assert!(connected.contains(want), "{want:?} in {connected}");
    }
    let connected_b = logs.line_with(&format!("client_id={id_b}"));
    assert!(connected_b.contains("connections=2"), "{connected_b}");

    a.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    }))
    .await
    .unwrap();
    tokio::time::timeout(WAIT, task_a).await.unwrap().unwrap();
    let gone = logs.line_with("disconnected");
    for want in [
        format!("client_id={id_a}"),
        "reason=\"client_closed\"".into(),
        "client_code=1000".into(),
        "connections=1".into(),
    ] {
        assert!(gone.contains(&want), "{want:?} in {gone}");
    }

    // Refused tokens are logged too, with the reason, and never counted.
    let peer = Peer {
        sdk: Some("probe/1".into()),
        auth: Err(Rejection::Invalid),
        ..Peer::anonymous()
    };
    let (mut c, _task_c) = pipe(&state, peer).await;
    assert!(matches!(next_event(&mut c).await, Event::Close(Some(_))));
    let refused = logs.line_with("connection refused");
    assert!(
        refused.contains("invalid token") && refused.contains("probe/1"),
        "{refused}"
    );
}
