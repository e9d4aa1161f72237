//! A fault-injecting TCP proxy in front of one server, for link faults that
//! a killed process cannot produce: a half-open link, a handshake that
//! never completes, an abrupt reset.
//!
//! One task accepts; one task per accepted connection pumps bytes both ways.
//! Every task watches one `watch` channel holding the proxy's [`Link`]: its
//! [`Mode`] and a count of cuts. Nothing is parsed: the proxy knows TCP only.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy does with bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward both ways.
    Pass,
    /// Forward nothing, either way, on existing connections, while keeping
    /// them open (bytes wait in the kernel buffers, like packets a dead
    /// route swallows): a half-open link. New connections are held like
    /// [`Mode::StallNew`].
    Blackhole,
    /// Existing connections pass; new ones are accepted but never connected
    /// upstream, so a WebSocket handshake never gets an answer.
    StallNew,
}

impl Mode {
    /// Parses `pass`, `blackhole` or `stall_new`.
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "pass" => Some(Mode::Pass),
            "blackhole" => Some(Mode::Blackhole),
            "stall_new" => Some(Mode::StallNew),
            _ => None,
        }
    }
}

/// The state every connection task watches.
#[derive(Debug, Clone, Copy)]
struct Link {
    mode: Mode,
    /// Incremented by every cut; a task resets its connection when it sees
    /// a value other than the one it was born with.
    cuts: u64,
}

/// One running proxy. Dropping it stops accepting; connection tasks end on
/// their own when the watch channel closes.
pub struct Proxy {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    link: watch::Sender<Link>,
    accepted: Arc<AtomicU64>,
    accept_task: JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let (link, _) = watch::channel(Link {
            mode: Mode::Pass,
            cuts: 0,
        });
        let accepted = Arc::new(AtomicU64::new(0));
        let accept_task = tokio::spawn(accept_loop(
            listener,
            upstream,
            link.clone(),
            accepted.clone(),
        ));
        Ok(Proxy {
            port,
            link,
            accepted,
            accept_task,
        })
    }

    /// Switches the mode for existing and new connections.
    pub fn set_mode(&self, mode: Mode) {
        self.link.send_modify(|l| l.mode = mode);
    }

    /// Resets every current connection (RST on both sides, no FIN).
    pub fn cut(&self) {
        self.link.send_modify(|l| l.cuts += 1);
    }

    /// The mode as its query-string name.
    pub fn mode_name(&self) -> &'static str {
        match self.link.borrow().mode {
            Mode::Pass => "pass",
            Mode::Blackhole => "blackhole",
            Mode::StallNew => "stall_new",
        }
    }

    /// TCP connections accepted so far (every WebSocket attempt is one).
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Connection tasks still running.
    pub fn open(&self) -> usize {
        // Each task holds one receiver.
        self.link.receiver_count()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    link: watch::Sender<Link>,
    accepted: Arc<AtomicU64>,
) {
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(e) => {
                eprintln!("tether-testkit proxy: accept failed: {e}");
                continue;
            }
        };
        accepted.fetch_add(1, Ordering::Relaxed);
        let _ = client.set_nodelay(true);
        tokio::spawn(connection(client, upstream, link.subscribe()));
    }
}

/// One client connection, from accept to close or reset.
async fn connection(client: TcpStream, upstream: SocketAddr, mut link: watch::Receiver<Link>) {
    let born = *link.borrow_and_update();
    if born.mode != Mode::Pass {
        return hold(client, link, born.cuts).await;
    }
    let mut client = client;
    let mut server = match TcpStream::connect(upstream).await {
        Ok(server) => server,
        // Nothing listens upstream: refuse the client the same abrupt way.
        Err(_) => return reset(client),
    };
    let _ = server.set_nodelay(true);
    match pump(&mut client, &mut server, &mut link, born.cuts).await {
        End::Closed => {}
        End::Cut => {
            reset(client);
            reset(server);
        }
    }
}

enum End {
    /// One side closed or failed: both are dropped normally.
    Closed,
    /// A cut was asked for.
    Cut,
}

/// Forwards bytes both ways while the mode is not `Blackhole`.
async fn pump(
    client: &mut TcpStream,
    server: &mut TcpStream,
    link: &mut watch::Receiver<Link>,
    cuts: u64,
) -> End {
    let (mut client_buf, mut server_buf) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    let (mut from_client, mut to_client) = client.split();
    let (mut from_server, mut to_server) = server.split();
    loop {
        let flowing = link.borrow().mode != Mode::Blackhole;
        tokio::select! {
            changed = link.changed() => {
                if changed.is_err() || link.borrow().cuts != cuts {
                    return End::Cut;
                }
            }
            n = read_some(&mut from_client, &mut client_buf), if flowing => {
                let Some(n) = n else { return End::Closed };
                if to_server.write_all(&client_buf[..n]).await.is_err() {
                    return End::Closed;
                }
            }
            n = read_some(&mut from_server, &mut server_buf), if flowing => {
                let Some(n) = n else { return End::Closed };
                if to_client.write_all(&server_buf[..n]).await.is_err() {
                    return End::Closed;
                }
            }
        }
    }
}

/// A read that maps EOF and errors to `None`.
async fn read_some(stream: &mut (impl AsyncRead + Unpin), buf: &mut [u8]) -> Option<usize> {
    match stream.read(buf).await {
        Ok(0) | Err(_) => None,
        Ok(n) => Some(n),
    }
}

/// Keeps a connection accepted but unanswered (never forwarded, whatever
/// the mode becomes) until the client leaves or a cut resets it.
async fn hold(mut client: TcpStream, mut link: watch::Receiver<Link>, cuts: u64) {
    let mut sink = vec![0u8; 4096];
    loop {
        tokio::select! {
            changed = link.changed() => {
                if changed.is_err() || link.borrow().cuts != cuts {
                    return reset(client);
                }
            }
            n = read_some(&mut client, &mut sink) => {
                if n.is_none() {
                    return;
                }
            }
        }
    }
}

/// Closes with SO_LINGER 0: the kernel sends RST instead of FIN.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}
