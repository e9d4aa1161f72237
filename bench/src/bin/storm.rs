//! `storm`: a reconnect-storm simulation with the real `tether_core::Client`.
//!
//! N clients (one `tether_core::Client` each, seeds differ) are driven by an
//! event-driven simulated clock (a binary heap of deadlines, microseconds)
//! against a server model:
//!
//! - **before the outage** the server is up and unlimited: every client
//!   connects once, at a random time in the first 55 s, and stays open
//!   (pings are answered after one RTT);
//! - **the outage** starts at t = 60 s: every link closes with 1006 (the
//!   process died); or, for the `goaway*` strategies, the server first sends
//!   `goaway{retry_after_ms, spread_ms}` and closes with 1012 (a planned
//!   restart). For `--outage-s` seconds every attempt fails: the socket
//!   closes 1006 one RTT after the attempt (connection refused);
//! - **after the outage** the server completes at most C handshakes per
//!   second: a handshake reaches the server RTT/2 after the attempt and joins
//!   a FIFO listen backlog that completes one every 1/C s; the client sees
//!   the socket open and `connection_established` RTT/2 later. An attempt
//!   that finds `--backlog` handshakes already waiting is refused (close
//!   1006 one RTT after the attempt), as a full accept queue or an
//!   overloaded load balancer looks to browser code. A handshake whose client
//!   gave up (connect timeout) still costs the server its slot.
//!
//! Reported per strategy: the time from the server's return until 99% of
//! the clients are open again, as a ratio of the ideal N / C; attempts per
//! client (from the outage start, and from the server's return); peak
//! attempts per second (1 s buckets) after the return, as a ratio of C.
//! Writes `storm_summary.{md,csv}`, `storm_N.csv` (per-second arrivals and
//! attempts) and `storm_N.png` (arrivals per second) into `--out`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use tether_bench::{line_chart, Chart, Series, Table};
use tether_core::{Action, Backoff, Client, Config, Inbound, Jitter, SocketId, State, Timestamp};

/// Client clock at simulated time 0 (ms since the epoch).
const BASE_MS: u64 = 1_700_000_000_000;
/// When the outage starts (simulated µs); clients connect before it.
const OUTAGE_AT: u64 = 60_000_000;
/// Clients connect at a random time in [0, SETUP_SPREAD).
const SETUP_SPREAD: u64 = 55_000_000;

#[derive(Parser, Debug)]
#[command(about = "Reconnect-storm simulation with the real tether-core backoff")]
struct Args {
    /// Client counts (one simulation per count and strategy).
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    clients: Vec<usize>,
    /// Handshakes per second the server completes after the outage (C).
    #[arg(long, default_value_t = 1000)]
    capacity: u64,
    /// Outage length T, seconds.
    #[arg(long, default_value_t = 30)]
    outage_s: u64,
    /// Client-server round trip, ms.
    #[arg(long, default_value_t = 50)]
    rtt_ms: u64,
    /// Handshakes that may wait in the server's listen backlog (tether-server
    /// listens with 1024).
    #[arg(long, default_value_t = 1024)]
    backlog: usize,
    /// Strategies: none, equal, full (client backoff jitter after an
    /// unannounced crash), goaway (retry_after = T, spread = N/C),
    /// goaway-defaults (the server's shutdown defaults 1000 / 5000 ms).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "none,equal,full,goaway,goaway-defaults"
    )]
    strategies: Vec<String>,
    /// Backoff step 1, ms (default: tether-core's).
    #[arg(long)]
    initial_ms: Option<u64>,
    /// Backoff cap, ms (default: tether-core's).
    #[arg(long)]
    max_ms: Option<u64>,
    /// Backoff growth factor (default: tether-core's).
    #[arg(long)]
    factor: Option<f64>,
    /// Stop a simulation this long after the server's return, seconds.
    #[arg(long, default_value_t = 900)]
    max_after_s: u64,
    /// Base seed; client i gets a seed derived from it and i.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output folder.
    #[arg(long, default_value = "out/bench")]
    out: PathBuf,
    /// Also copy the chart of this client count to this path (e.g.
    /// docs/storm.png), drawn small.
    #[arg(long)]
    doc_chart: Option<PathBuf>,
    /// The client count charted into --doc-chart.
    #[arg(long, default_value_t = 100_000)]
    doc_chart_clients: usize,
}

/// What a strategy does at the outage.
#[derive(Clone, Debug)]
struct Strategy {
    jitter: Jitter,
    /// `Some((retry_after_ms, spread_ms))`: a planned restart with goaway.
    goaway: Option<(u64, u64)>,
}

fn strategy(name: &str, n: usize, args: &Args) -> Result<Strategy, String> {
    let ideal_ms = (n as u64).saturating_mul(1000) / args.capacity.max(1);
    let (jitter, goaway) = match name {
        "none" => (Jitter::None, None),
        "equal" => (Jitter::Equal, None),
        "full" => (Jitter::Full, None),
        "goaway" => (Jitter::Full, Some((args.outage_s * 1000, ideal_ms))),
        "goaway-defaults" => (Jitter::Full, Some((1000, 5000))),
        other => return Err(format!("unknown strategy {other:?}")),
    };
    Ok(Strategy { jitter, goaway })
}

/// A simulated input to one client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    /// The client's timer (valid only if still the armed one).
    Timer,
    /// The socket closed.
    Closed { socket: u64, code: u16 },
    /// Socket open and `connection_established` arrive.
    Established { socket: u64 },
    /// A pong to ping `id`.
    Pong { socket: u64, id: u64 },
    /// The server's `goaway` frame, followed by close 1012.
    Goaway { socket: u64 },
    /// The server dies (for all clients at once; client index unused).
    Outage,
}

struct Cl {
    c: Client,
    /// The armed timer (client ms), to skip stale heap entries.
    timer: Option<u64>,
    /// The socket the server holds open for this client.
    live: Option<u64>,
    /// Attempts since the outage started / since the server came back.
    attempts: u32,
    attempts_after: u32,
    /// When the client was open again after the outage (µs).
    back_at: Option<u64>,
}

/// The handshake capacity model (see the module docs).
struct Server {
    /// µs per handshake.
    service_us: f64,
    backlog: usize,
    /// Completion times (µs) of queued handshakes.
    queue: VecDeque<f64>,
    last_done: f64,
}

struct Sim<'a> {
    args: &'a Args,
    strat: Strategy,
    n: usize,
    clients: Vec<Cl>,
    heap: BinaryHeap<Reverse<(u64, u64, u32, Ev)>>,
    seq: u64,
    now: u64,
    server: Server,
    rtt_us: u64,
    down_from: u64,
    up_at: u64,
    /// Per second since the outage start: attempts, arrivals (opens).
    attempts: Vec<u64>,
    arrivals: Vec<u64>,
    reconnected: usize,
    events: u64,
}

fn ms_of(us: u64) -> Timestamp {
    Timestamp(BASE_MS + us / 1000)
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `"id":N` of a frame the core wrote.
fn frame_id(text: &str) -> Option<u64> {
    let rest = &text[text.find("\"id\":")? + 5..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

impl<'a> Sim<'a> {
    fn new(args: &'a Args, strat: Strategy, n: usize) -> Sim<'a> {
        let defaults = Backoff::default();
        let config = Config {
            backoff: Backoff {
                jitter: strat.jitter,
                initial_ms: args.initial_ms.unwrap_or(defaults.initial_ms),
                max_ms: args.max_ms.unwrap_or(defaults.max_ms),
                factor: args.factor.unwrap_or(defaults.factor),
                ..defaults
            },
            ..Config::default()
        };
        let clients = (0..n)
            .map(|i| Cl {
                c: Client::new(
                    config.clone(),
                    ms_of(0),
                    splitmix(args.seed ^ splitmix(i as u64)),
                    true,
                ),
                timer: None,
                live: None,
                attempts: 0,
                attempts_after: 0,
                back_at: None,
            })
            .collect();
        let down_from = OUTAGE_AT;
        let up_at = OUTAGE_AT + args.outage_s * 1_000_000;
        Sim {
            args,
            strat,
            n,
            clients,
            heap: BinaryHeap::new(),
            seq: 0,
            now: 0,
            server: Server {
                service_us: 1e6 / args.capacity.max(1) as f64,
                backlog: args.backlog,
                queue: VecDeque::new(),
                last_done: 0.0,
            },
            rtt_us: args.rtt_ms * 1000,
            down_from,
            up_at,
            attempts: Vec::new(),
            arrivals: Vec::new(),
            reconnected: 0,
            events: 0,
        }
    }

    fn push(&mut self, at: u64, client: u32, ev: Ev) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, client, ev)));
    }

    fn bump(v: &mut Vec<u64>, sec: usize) {
        if v.len() <= sec {
            v.resize(sec + 1, 0);
        }
        v[sec] += 1;
    }

    /// The server's answer to an attempt made now on `socket`.
    fn attempt(&mut self, i: u32, socket: u64) {
        let now = self.now;
        let arrive = now + self.rtt_us / 2;
        if arrive < self.down_from {
            // Before the outage: up and unlimited.
            self.push(now + self.rtt_us, i, Ev::Established { socket });
            return;
        }
        if arrive < self.up_at {
            self.push(now + self.rtt_us, i, Ev::Closed { socket, code: 1006 });
            return;
        }
        let s = &mut self.server;
        let arrive = arrive as f64;
        while s.queue.front().is_some_and(|&d| d <= arrive) {
            s.queue.pop_front();
        }
        if s.queue.len() >= s.backlog {
            self.push(now + self.rtt_us, i, Ev::Closed { socket, code: 1006 });
            return;
        }
        let done = s.last_done.max(arrive) + s.service_us;
        s.last_done = done;
        s.queue.push_back(done);
        let at = done as u64 + self.rtt_us / 2;
        self.push(at, i, Ev::Established { socket });
    }

    /// Performs the client's actions and re-arms its timer.
    fn pump(&mut self, i: u32) {
        let now = self.now;
        while let Some(a) = self.clients[i as usize].c.poll_action() {
            match a {
                Action::Open { socket } => {
                    if now >= self.down_from {
                        let cl = &mut self.clients[i as usize];
                        cl.attempts += 1;
                        let sec = ((now - self.down_from) / 1_000_000) as usize;
                        Self::bump(&mut self.attempts, sec);
                        if now >= self.up_at {
                            self.clients[i as usize].attempts_after += 1;
                        }
                    }
                    self.attempt(i, socket.0);
                }
                Action::Send { socket, text } => {
                    // Only pings are sent (no subscriptions): answer them.
                    let up = now < self.down_from || now >= self.up_at;
                    if up && self.clients[i as usize].live == Some(socket.0) {
                        if let Some(id) = frame_id(&text) {
                            self.push(
                                now + self.rtt_us,
                                i,
                                Ev::Pong {
                                    socket: socket.0,
                                    id,
                                },
                            );
                        }
                    }
                }
                Action::Close { socket, .. } => {
                    let cl = &mut self.clients[i as usize];
                    if cl.live == Some(socket.0) {
                        cl.live = None;
                    }
                }
            }
        }
        let cl = &mut self.clients[i as usize];
        while cl.c.poll_event().is_some() {}
        let next = cl.c.poll_timeout().map(|t| t.0);
        if next != cl.timer {
            cl.timer = next;
            if let Some(t) = next {
                let at = (t.saturating_sub(BASE_MS) * 1000).max(now);
                self.push(at, i, Ev::Timer);
            }
        }
    }

    fn outage(&mut self) {
        for i in 0..self.n as u32 {
            let Some(socket) = self.clients[i as usize].live else {
                continue;
            };
            match self.strat.goaway {
                None => self.push(self.now, i, Ev::Closed { socket, code: 1006 }),
                Some(_) => self.push(self.now, i, Ev::Goaway { socket }),
            }
        }
    }

    fn handle(&mut self, i: u32, ev: Ev) {
        let now = self.now;
        let t = ms_of(now);
        match ev {
            Ev::Outage => {
                self.outage();
                return;
            }
            Ev::Timer => {
                let cl = &mut self.clients[i as usize];
                let armed = cl.timer.map(|ms| ms.saturating_sub(BASE_MS) * 1000);
                if armed.is_none_or(|a| a > now) {
                    return;
                }
                cl.timer = None;
                cl.c.handle_timeout(t);
            }
            Ev::Closed { socket, code } => {
                let cl = &mut self.clients[i as usize];
                if cl.live == Some(socket) {
                    cl.live = None;
                }
                cl.c.handle_socket_close(t, SocketId(socket), code, "", code != 1006);
            }
            Ev::Established { socket } => {
                let cl = &mut self.clients[i as usize];
                let was_open = cl.c.state() == State::Open;
                cl.c.handle_socket_open(t, SocketId(socket));
                cl.c.handle_frame(
                    t,
                    SocketId(socket),
                    Inbound::Established {
                        client_id: "c",
                        heartbeat_interval_ms: Some(25_000),
                    },
                );
                if cl.c.state() == State::Open && !was_open {
                    cl.live = Some(socket);
                    if now >= self.down_from {
                        let sec = ((now - self.down_from) / 1_000_000) as usize;
                        Self::bump(&mut self.arrivals, sec);
                        if cl.back_at.is_none() {
                            cl.back_at = Some(now);
                            self.reconnected += 1;
                        }
                    }
                } else {
                    // The client let this socket go (timed out): the server
                    // side closes too.
                    cl.live = cl.live.filter(|&s| s != socket);
                }
            }
            Ev::Pong { socket, id } => {
                let cl = &mut self.clients[i as usize];
                if cl.live == Some(socket) {
                    cl.c.handle_frame(t, SocketId(socket), Inbound::Pong { id: Some(id) });
                }
            }
            Ev::Goaway { socket } => {
                let (retry_after_ms, spread_ms) = self.strat.goaway.unwrap_or((0, 0));
                let cl = &mut self.clients[i as usize];
                cl.c.handle_frame(
                    t,
                    SocketId(socket),
                    Inbound::Goaway {
                        retry_after_ms,
                        spread_ms,
                    },
                );
                self.push(now + 1000, i, Ev::Closed { socket, code: 1012 });
            }
        }
        self.pump(i);
    }

    fn run(&mut self) -> Outcome {
        let started = Instant::now();
        // Setup: every client connects once, at a random time.
        for i in 0..self.n as u32 {
            let at = splitmix(self.args.seed.wrapping_add(0x5eed) ^ splitmix(u64::from(i)))
                % SETUP_SPREAD;
            self.push(at, i, Ev::Timer);
            self.clients[i as usize].timer = Some(BASE_MS + at / 1000);
        }
        // The first Timer of each client connects it (see below).
        let mut connected = vec![false; self.n];
        self.push(OUTAGE_AT, u32::MAX, Ev::Outage);
        let end = self.up_at + self.args.max_after_s * 1_000_000;
        while let Some(Reverse((at, _, i, ev))) = self.heap.pop() {
            if at > end || self.reconnected == self.n {
                break;
            }
            self.now = at;
            self.events += 1;
            if i != u32::MAX && !connected[i as usize] {
                connected[i as usize] = true;
                let cl = &mut self.clients[i as usize];
                cl.timer = None;
                cl.c.connect(ms_of(at));
                self.pump(i);
                continue;
            }
            self.handle(i, ev);
        }
        let mut back: Vec<f64> = self
            .clients
            .iter()
            .filter_map(|c| c.back_at)
            .map(|t| t.saturating_sub(self.up_at) as f64 / 1e6)
            .collect();
        back.sort_by(f64::total_cmp);
        let need = (self.n as f64 * 0.99).ceil() as usize;
        let t99 = back.get(need.saturating_sub(1)).copied();
        let ideal = self.n as f64 / self.args.capacity as f64;
        let n = self.n as f64;
        let up_sec = (self.up_at - self.down_from) as usize / 1_000_000;
        Outcome {
            t99_s: t99,
            ideal_s: ideal,
            attempts_per_client: self
                .clients
                .iter()
                .map(|c| f64::from(c.attempts))
                .sum::<f64>()
                / n,
            attempts_after_per_client: self
                .clients
                .iter()
                .map(|c| f64::from(c.attempts_after))
                .sum::<f64>()
                / n,
            peak_after: self
                .attempts
                .iter()
                .skip(up_sec)
                .copied()
                .max()
                .unwrap_or(0),
            peak_all: self.attempts.iter().copied().max().unwrap_or(0),
            attempts: std::mem::take(&mut self.attempts),
            arrivals: std::mem::take(&mut self.arrivals),
            reconnected: self.reconnected,
            events: self.events,
            wall_s: started.elapsed().as_secs_f64(),
        }
    }
}

struct Outcome {
    t99_s: Option<f64>,
    ideal_s: f64,
    attempts_per_client: f64,
    attempts_after_per_client: f64,
    peak_after: u64,
    peak_all: u64,
    attempts: Vec<u64>,
    arrivals: Vec<u64>,
    reconnected: usize,
    events: u64,
    wall_s: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out)?;
    let d = Backoff::default();
    let backoff = format!(
        "initial {} ms, max {} ms, factor {}",
        args.initial_ms.unwrap_or(d.initial_ms),
        args.max_ms.unwrap_or(d.max_ms),
        args.factor.unwrap_or(d.factor)
    );
    println!(
        "storm: C = {}/s, T = {} s, RTT = {} ms, backlog = {}, backoff {backoff}",
        args.capacity, args.outage_s, args.rtt_ms, args.backlog
    );
    let mut summary = Table::new(&[
        "N",
        "strategy",
        "t99 after return (s)",
        "ideal N/C (s)",
        "t99 / ideal",
        "attempts/client",
        "attempts/client after return",
        "peak attempts/s after return",
        "peak / C",
        "peak attempts/s overall",
        "reconnected",
        "sim wall (s)",
    ]);
    for &n in &args.clients {
        let mut series = Vec::new();
        let mut per_sec: Vec<(String, Vec<u64>, Vec<u64>)> = Vec::new();
        for name in &args.strategies {
            let strat = strategy(name, n, &args)?;
            let label = match strat.goaway {
                Some((a, s)) => format!("{name} ({a}+{s} ms)"),
                None => format!("{name} jitter"),
            };
            let mut sim = Sim::new(&args, strat, n);
            let o = sim.run();
            let t99 = o.t99_s.map_or("never".to_owned(), |t| format!("{t:.1}"));
            let ratio = o
                .t99_s
                .map_or("-".to_owned(), |t| format!("{:.2}", t / o.ideal_s));
            summary.row(vec![
                n.to_string(),
                name.clone(),
                t99,
                format!("{:.1}", o.ideal_s),
                ratio,
                format!("{:.2}", o.attempts_per_client),
                format!("{:.2}", o.attempts_after_per_client),
                o.peak_after.to_string(),
                format!("{:.2}", o.peak_after as f64 / args.capacity as f64),
                o.peak_all.to_string(),
                format!("{:.2}%", 100.0 * o.reconnected as f64 / n as f64),
                format!("{:.1}", o.wall_s),
            ]);
            eprintln!("  N={n} {name}: {} events in {:.1} s", o.events, o.wall_s);
            series.push(Series {
                label,
                points: o
                    .arrivals
                    .iter()
                    .enumerate()
                    .map(|(s, &a)| (s as f64 + 0.5, a as f64))
                    .collect(),
            });
            per_sec.push((name.clone(), o.arrivals, o.attempts));
        }
        // Per-second CSV: t, then arrivals and attempts per strategy.
        let mut header = vec!["t_s".to_owned()];
        for (name, _, _) in &per_sec {
            header.push(format!("{name}_arrivals"));
            header.push(format!("{name}_attempts"));
        }
        let mut csv = Table::new(&header);
        let len = per_sec
            .iter()
            .map(|(_, a, b)| a.len().max(b.len()))
            .max()
            .unwrap_or(0);
        for s in 0..len {
            let mut row = vec![s.to_string()];
            for (_, arr, att) in &per_sec {
                row.push(arr.get(s).copied().unwrap_or(0).to_string());
                row.push(att.get(s).copied().unwrap_or(0).to_string());
            }
            csv.row(row);
        }
        std::fs::write(args.out.join(format!("storm_{n}.csv")), csv.csv())?;
        let title = format!(
            "Reconnect storm: N = {n}, C = {}/s, outage {} s (arrivals per second)",
            args.capacity, args.outage_s
        );
        let chart = Chart {
            title: &title,
            x_label: "seconds since the outage started",
            y_label: "connections opened per second",
            size: (1000, 560),
            reference: Some((args.capacity as f64, "capacity C")),
            markers: vec![args.outage_s as f64],
            // The outage, twice the ideal recovery, and a margin: a
            // strategy still going then is cut (its row says so).
            x_max: Some(args.outage_s as f64 + 2.0 * n as f64 / args.capacity as f64 + 20.0),
        };
        line_chart(&args.out.join(format!("storm_{n}.png")), &chart, &series)?;
        if n == args.doc_chart_clients {
            if let Some(path) = &args.doc_chart {
                let small = Chart {
                    size: (720, 400),
                    ..chart.clone()
                };
                line_chart(path, &small, &series)?;
            }
        }
    }
    let md = summary.markdown();
    println!("\n{md}");
    std::fs::write(
        args.out.join("storm_summary.md"),
        format!(
            "C = {}/s, T = {} s, RTT = {} ms, backlog = {}, backoff {backoff}\n\n{md}",
            args.capacity, args.outage_s, args.rtt_ms, args.backlog
        ),
    )?;
    std::fs::write(args.out.join("storm_summary.csv"), summary.csv())?;
    Ok(())
}
