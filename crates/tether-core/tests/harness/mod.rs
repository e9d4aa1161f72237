//! A fake shell: a plain-number clock, one "socket" slot, and logs of every
//! action and event the core produced. Keeps the scenario tests short.
#![allow(dead_code)]

use tether_core::{
    Action, Backoff, Client, Config, Event, Inbound, Jitter, SocketId, State, SubState, Timestamp,
    Verdict,
};

/// Start time: far from 0 so "time 0" bugs show.
pub const T0: u64 = 1_700_000_000_000;

pub struct Shell {
    pub c: Client,
    pub now: u64,
    /// The socket the core last opened and has not closed.
    pub socket: Option<SocketId>,
    pub opens: Vec<(u64, SocketId)>,
    pub sent: Vec<(SocketId, String)>,
    pub closes: Vec<(SocketId, u16, String)>,
    pub events: Vec<Event>,
}

/// Deterministic config: no jitter, so delays are exact.
pub fn config() -> Config {
    Config {
        backoff: Backoff {
            jitter: Jitter::None,
            ..Backoff::default()
        },
        ..Config::default()
    }
}

impl Shell {
    pub fn new(config: Config) -> Self {
        Self::with(config, true)
    }

    pub fn with(config: Config, online: bool) -> Self {
        Self::starting_at(config, online, T0)
    }

    /// A shell whose clock starts at `start` (the browser's
    /// `performance.now()` starts near 0).
    pub fn starting_at(config: Config, online: bool, start: u64) -> Self {
        let mut s = Shell {
            c: Client::new(config, Timestamp(start), 42, online),
            now: start,
            socket: None,
            opens: Vec::new(),
            sent: Vec::new(),
            closes: Vec::new(),
            events: Vec::new(),
        };
        s.pump();
        s
    }

    pub fn t(&self) -> Timestamp {
        Timestamp(self.now)
    }

    /// Elapsed ms since T0.
    pub fn el(&self) -> u64 {
        self.now - T0
    }

    pub fn state(&self) -> State {
        self.c.state()
    }

    pub fn attempt(&self) -> u32 {
        self.c.status().attempt
    }

    /// Drains actions and events into the logs.
    pub fn pump(&mut self) {
        while let Some(a) = self.c.poll_action() {
            match a {
                Action::Open { socket } => {
                    if let Some(old) = self.socket {
                        assert!(socket.0 > old.0, "socket ids increase");
                    }
                    self.opens.push((self.now, socket));
                    self.socket = Some(socket);
                }
                Action::Send { socket, text } => {
                    assert_eq!(Some(socket), self.socket, "send on the live socket");
                    self.sent.push((socket, text));
                }
                Action::Close {
                    socket,
                    code,
                    reason,
                } => {
                    assert_ne!(code, 1005);
                    if self.socket == Some(socket) {
                        self.socket = None;
                    }
                    self.closes.push((socket, code, reason));
                }
            }
        }
        while let Some(e) = self.c.poll_event() {
            self.events.push(e);
        }
    }

    /// Moves the clock by `ms`, firing the timer on time for every deadline
    /// in between (an accurate browser timer).
    pub fn advance(&mut self, ms: u64) {
        let target = self.now + ms;
        for _ in 0..100_000 {
            self.pump();
            match self.c.poll_timeout() {
                Some(t) if t.0 <= target => {
                    self.now = self.now.max(t.0);
                    self.c.handle_timeout(Timestamp(self.now));
                }
                _ => {
                    self.now = target;
                    self.pump();
                    return;
                }
            }
        }
        panic!("timer loop does not advance");
    }

    /// Jumps the clock without firing timers, then fires once (a late timer).
    pub fn late_timer(&mut self, ms: u64) {
        self.now += ms;
        self.c.handle_timeout(self.t());
        self.pump();
    }

    /// Runs until the next Action::Open (at most `max_ms`); panics if none.
    pub fn until_open_action(&mut self, max_ms: u64) -> SocketId {
        let before = self.opens.len();
        let deadline = self.now + max_ms;
        while self.opens.len() == before {
            let next = self.c.poll_timeout().expect("a timer is armed").0;
            assert!(next <= deadline, "no attempt within {max_ms} ms");
            self.advance(next - self.now);
        }
        self.opens.last().unwrap().1
    }

    pub fn sock(&self) -> SocketId {
        self.socket.expect("a live socket")
    }

    pub fn connect(&mut self) {
        self.c.connect(self.t());
        self.pump();
    }

    pub fn socket_open(&mut self) {
        let s = self.sock();
        self.c.handle_socket_open(self.t(), s);
        self.pump();
    }

    pub fn frame(&mut self, f: Inbound<'_>) -> Verdict {
        let s = self.sock();
        let v = self.c.handle_frame(self.t(), s, f);
        self.pump();
        v
    }

    /// Socket open + `connection_established`.
    pub fn establish(&mut self) {
        self.establish_hb(None);
    }

    pub fn establish_hb(&mut self, heartbeat_interval_ms: Option<u64>) {
        self.socket_open();
        self.frame(Inbound::Established {
            client_id: "c_1",
            heartbeat_interval_ms,
        });
        assert_eq!(self.state(), State::Open);
    }

    /// The server (or the network) closes the live socket.
    pub fn server_close(&mut self, code: u16, reason: &str) {
        let s = self.sock();
        self.socket = None;
        self.c
            .handle_socket_close(self.t(), s, code, reason, code != 1006);
        self.pump();
    }

    /// Frames sent on `socket`.
    pub fn sent_on(&self, socket: SocketId) -> Vec<&str> {
        self.sent
            .iter()
            .filter(|(s, _)| *s == socket)
            .map(|(_, t)| t.as_str())
            .collect()
    }

    /// Drains the sent log.
    pub fn take_sent(&mut self) -> Vec<String> {
        self.sent.drain(..).map(|(_, t)| t).collect()
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Subscription events for `topic`, as states.
    pub fn sub_states(&self, topic: &str) -> Vec<SubState> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Subscription {
                    topic: t, state, ..
                } if t == topic => Some(*state),
                _ => None,
            })
            .collect()
    }

    pub fn next_retry_in(&self) -> Option<u64> {
        self.c.status().next_retry_at.map(|t| t.0 - self.now)
    }
}

/// Pulls `"id":N` out of a frame this crate wrote.
pub fn id_of(frame: &str) -> u64 {
    let rest = &frame[frame.find("\"id\":").expect("an id") + 5..];
    let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap();
    rest[..end].parse().unwrap()
}

pub fn is_type(frame: &str, ty: &str) -> bool {
    frame.starts_with(&format!("{{\"type\":\"{ty}\""))
}
