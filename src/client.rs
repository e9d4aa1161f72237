//! The `Tether` class: owns the core and every browser resource, and moves
//! data between them. The core decides; this file only performs.
//!
//! Re-entrancy rule: no `RefCell` borrow is held while calling into
//! application code (listeners may call back into the client, from any
//! callback, removers and `free()` included). Work is collected under a
//! short borrow, the borrow is released, then JS runs. The client's one
//! closure is a `Fn`, so JS may enter it again while it runs; listeners
//! are called by the outermost [`pump`] only, so they hear every change in
//! order even when a listener's call makes new ones.

use crate::inbox::Inbox;
use crate::js::{self, call_listener, describe, get, object, type_error};
use crate::options::{self, Options};
use crate::socket::Socket;
use crate::subscription::{self, Subscription, Topic};
use crate::window::{self, WindowListeners};
use alloc::borrow::ToOwned;
use alloc::rc::{Rc, Weak};
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use js_sys::{Function, Promise};
use tether_core::{
    Action, Client, Cursor, Dialect, Event, Inbound, RequestKey, SocketId, Timestamp, Verdict,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::CloseEvent;

/// `request()`'s default `timeoutMs`.
const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 10_000;

/// The client state shared by the class and its callbacks.
pub type Shared = RefCell<Inner>;

/// Everything one client owns.
pub struct Inner {
    pub core: Client,
    /// The server URLs (with `sdk=`); attempts rotate through them.
    urls: Vec<String>,
    /// The URL index of the last attempt; `None` before the first.
    url_index: Option<usize>,
    pub protocols: js_sys::Array,
    pub raw: bool,
    token_provider: Option<Function>,
    keys: js::Keys,
    socket: Option<Socket>,
    /// An attempt waiting for the token provider before its socket exists.
    pending_open: Option<SocketId>,
    timer: Timer,
    window: Option<WindowListeners>,
    next_listener: u32,
    status_listeners: Vec<(u32, Function)>,
    message_listeners: Vec<(u32, Function)>,
    /// `on(type)` listeners; the type is kept as a JS string and compared
    /// with `===`, so inbound `type`s are never copied into wasm.
    type_listeners: Vec<(u32, JsValue, Function)>,
    pub topics: Vec<Topic>,
    /// The JS half of the receive path; holds the topics' callbacks.
    pub inbox: Inbox,
    /// Pending `request()` promises: key, resolve, reject.
    requests: Vec<(RequestKey, Function, Function)>,
    /// What listeners are still to hear, in order (see [`pump`]).
    notices: Vec<Notice>,
    /// A [`pump`] up the stack is calling listeners: a nested one (a
    /// listener's API call) leaves the notices to it, so they keep their
    /// order.
    dispatching: bool,
    /// The one Rust closure of the client: every JS callback (socket and
    /// page events, the timer, listener removers, the token promise) calls
    /// it through the inbox with a tag (see [`Route`]), so nothing costs a
    /// closure each. A `Fn`: a callback may run while another one's
    /// listener is running. It holds a `Weak`; dropped last, with the
    /// client, after the inbox let go of it. Only held: JS calls it.
    _callback: Closure<RouteFn>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Removers and late token answers keep their bound functions after
        // `free()`: from now on they do nothing, and never reach the
        // dropped closure.
        self.inbox.detach();
    }
}

/// The client's callback: `(tag, arg, cursor, offset) -> verdict`. Bound
/// callbacks pass `(tag, event)`; the inbox adds the numbers of
/// [`Route::Next`] and reads its verdict (see [`next_verdict`]).
type RouteFn = dyn Fn(f64, JsValue, f64, f64) -> u32;

impl Inner {
    /// A fresh listener id.
    pub fn listener_id(&mut self) -> u32 {
        self.next_listener += 1;
        self.next_listener
    }

    /// A JS function that removes listener `id` when called.
    pub fn remover_for(&self, id: u32) -> Function {
        self.bound(Route::Remove, u64::from(id))
    }

    /// The client's callback bound to `route` and `id` (a socket or listener
    /// id): calling it with `arg` runs [`route`] with them, until the client
    /// is dropped (then it does nothing).
    pub fn bound(&self, route: Route, id: u64) -> Function {
        self.inbox.bind(tag(route, id))
    }

    /// `onmessage` for socket `id`: the inbox, with the socket's tags.
    pub fn message_handler(&self, id: u64) -> Function {
        let next = tag(Route::Next, id);
        self.inbox.handler(tag(Route::Message, id), next)
    }

    fn remove_listener(&mut self, id: u32) {
        self.status_listeners.retain(|(i, _)| *i != id);
        self.message_listeners.retain(|(i, _)| *i != id);
        self.type_listeners.retain(|(i, _, _)| *i != id);
        for topic in &mut self.topics {
            topic.remove_state_listener(id);
        }
    }
}

/// Tells the inbox the core's cursor for `topic` after a frame of it went
/// through the full path.
fn sync_cursor(core: &Client, inbox: &Inbox, topic: &str) {
    if let Some((Cursor(cursor), epoch)) = core.cursor(topic) {
        inbox.sync(topic, cursor, epoch);
    }
}

/// What a bound callback is for: the low [`ROUTE_BITS`] bits of its tag.
#[derive(Clone, Copy)]
pub enum Route {
    /// The timer fired.
    Timer = 0,
    /// A remover was called (id: the listener).
    Remove,
    /// The token provider's promise resolved (id: the socket).
    TokenOk,
    /// The token provider's promise rejected (id: the socket).
    TokenErr,
    /// Socket `open` (id: the socket), and so on.
    Open,
    /// Socket `message`, parsed by the inbox (id: the socket).
    Message,
    /// A publication the inbox matched to a topic's cursor (id: the socket).
    Next,
    /// Socket `close`.
    Close,
    /// Socket `error`.
    Error,
    /// Window `online`.
    Online,
    /// Window `offline`.
    Offline,
    /// Window `pageshow`.
    PageShow,
    /// Document `visibilitychange`.
    Visibility,
}

/// Tag bits taken by the [`Route`]; the id is above them.
const ROUTE_BITS: u32 = 4;

/// The tag of `route` for socket or listener `id`.
fn tag(route: Route, id: u64) -> f64 {
    ((id << ROUTE_BITS) | route as u64) as f64
}

/// [`Route::Next`]'s answer to the inbox (see `inbox.js`).
fn next_verdict(verdict: Verdict) -> u32 {
    match verdict {
        Verdict::Deliver => 1,
        Verdict::Stale => 2,
        _ => 0,
    }
}

/// Every JS callback of a client lands here: `tag` says what happened (and
/// to which socket or listener), `arg` is the event or value; `cursor` and
/// `offset` are [`Route::Next`]'s. Returns [`Route::Next`]'s verdict (0
/// otherwise).
fn route(weak: &Weak<Shared>, tag: f64, arg: JsValue, cursor: f64, offset: f64) -> u32 {
    let tag = tag as u64;
    let id = tag >> ROUTE_BITS;
    let socket = SocketId(id);
    const TIMER: u64 = Route::Timer as u64;
    const REMOVE: u64 = Route::Remove as u64;
    const TOKEN_OK: u64 = Route::TokenOk as u64;
    const TOKEN_ERR: u64 = Route::TokenErr as u64;
    const OPEN: u64 = Route::Open as u64;
    const MESSAGE: u64 = Route::Message as u64;
    const NEXT: u64 = Route::Next as u64;
    const CLOSE: u64 = Route::Close as u64;
    const ERROR: u64 = Route::Error as u64;
    const ONLINE: u64 = Route::Online as u64;
    const OFFLINE: u64 = Route::Offline as u64;
    const PAGE_SHOW: u64 = Route::PageShow as u64;
    const VISIBILITY: u64 = Route::Visibility as u64;
    let kind = tag & ((1 << ROUTE_BITS) - 1);
    match kind {
        TIMER => with(weak, |inner, now| {
            // The timer is spent; `pump` arms the next one.
            inner.timer.handle = None;
            inner.timer.deadline = None;
            inner.core.handle_timeout(now);
        }),
        REMOVE => {
            if let Some(rc) = weak.upgrade() {
                rc.borrow_mut().remove_listener(id as u32);
            }
        }
        TOKEN_OK | TOKEN_ERR => token_settled(weak, socket, kind == TOKEN_OK, arg),
        OPEN => with(weak, |s, now| s.core.handle_socket_open(now, socket)),
        MESSAGE => on_message(weak, socket, arg),
        NEXT => {
            // The inbox checked both: a u32 cursor, a safe integer offset.
            let inbound = Inbound::Next {
                cursor: Cursor(cursor as u32),
                offset: offset as u64,
            };
            let mut verdict = Verdict::Stale;
            with(weak, |s, now| {
                verdict = s.core.handle_frame(now, socket, inbound)
            });
            return next_verdict(verdict);
        }
        CLOSE => {
            let e: CloseEvent = arg.unchecked_into();
            let reason = e.reason();
            with(weak, |s, now| {
                s.core
                    .handle_socket_close(now, socket, e.code(), &reason, e.was_clean())
            });
        }
        // The browser hides the cause of a WebSocket error; `close` follows.
        ERROR => with(weak, |s, now| {
            s.core.handle_socket_error(now, socket, "WebSocket error")
        }),
        ONLINE => with(weak, |s, now| s.core.handle_online(now, true)),
        OFFLINE => with(weak, |s, now| s.core.handle_online(now, false)),
        PAGE_SHOW => with(weak, |s, now| s.core.handle_visible(now)),
        VISIBILITY if window::is_visible() => with(weak, |s, now| s.core.handle_visible(now)),
        _ => {}
    }
    0
}

/// Runs `f` on the client behind `weak` with the current time, then performs
/// whatever the core decided. Used by every browser callback.
pub fn with(weak: &Weak<Shared>, f: impl FnOnce(&mut Inner, Timestamp)) {
    if let Some(rc) = weak.upgrade() {
        f(&mut rc.borrow_mut(), js::now());
        pump(&rc);
    }
}

/// The full receive path, for every inbound frame the inbox did not match
/// by cursor (it parsed it already): the core decodes it
/// ([`tether_core::decode`], reading it through [`js::FrameFields`]) and
/// judges it; then it goes to the app's callbacks.
pub fn on_message(weak: &Weak<Shared>, socket: SocketId, frame: JsValue) {
    let Some(rc) = weak.upgrade() else { return };
    let delivery = {
        let mut guard = rc.borrow_mut();
        let inner = &mut *guard;
        let ty = get(&frame, &inner.keys.type_);
        let publication = inner.judge(socket, &frame, &ty);
        inner.delivery(publication, &ty)
    };
    match delivery {
        Delivery::Nothing => {}
        Delivery::Topic(inbox) => inbox.deliver(&frame),
        Delivery::Callbacks(callbacks) => {
            for callback in &callbacks {
                call_listener(callback, &frame);
            }
        }
        Delivery::Resolve(resolve) => call_listener(&resolve, &frame),
        Delivery::Reject(reject) => {
            let message = js::get_string(&frame, "message").unwrap_or_else(|| "error reply".into());
            let code = js::get_string(&frame, "code");
            call_listener(
                &reject,
                &js::request_error(&message, code.as_deref(), &frame),
            );
        }
    }
    pump(&rc);
}

/// What the app gets from one inbound frame.
enum Delivery {
    Nothing,
    /// A publication: its topic's callbacks, which the inbox holds.
    Topic(Inbox),
    Callbacks(Vec<Function>),
    Resolve(Function),
    Reject(Function),
}

impl Inner {
    /// Decodes `frame` (its `type` is `ty`) and lets the core judge it;
    /// after a frame that may move a topic's cursor, tells the inbox.
    /// Returns the verdict and whether the frame is a publication.
    fn judge(&mut self, socket: SocketId, frame: &JsValue, ty: &JsValue) -> (Verdict, bool) {
        let now = js::now();
        let Inner {
            core,
            keys,
            inbox,
            raw,
            ..
        } = self;
        let dialect = if *raw {
            Dialect::Raw {
                pong_type: keys.raw_pong_type(),
            }
        } else {
            Dialect::Tether
        };
        let fields = js::FrameFields::new(frame, ty, keys);
        tether_core::decode(&fields, dialect, |inbound| {
            let verdict = core.handle_frame(now, socket, inbound);
            match inbound {
                Inbound::Publication { topic, .. } => {
                    sync_cursor(core, inbox, topic);
                    (verdict, true)
                }
                Inbound::Subscribed { topic, .. } => {
                    sync_cursor(core, inbox, topic);
                    (verdict, false)
                }
                _ => (verdict, false),
            }
        })
    }

    /// Turns the core's verdict into the callbacks or promise to call.
    fn delivery(&mut self, (verdict, publication): (Verdict, bool), ty: &JsValue) -> Delivery {
        match verdict {
            Verdict::Drop | Verdict::Stale => Delivery::Nothing,
            Verdict::Deliver if publication => Delivery::Topic(self.inbox.clone()),
            Verdict::Deliver => Delivery::Callbacks(self.app_callbacks(ty)),
            Verdict::Resolve(key) => self
                .take_request(key)
                .map_or(Delivery::Nothing, |(resolve, _)| Delivery::Resolve(resolve)),
            Verdict::Reject(key) => self
                .take_request(key)
                .map_or(Delivery::Nothing, |(_, reject)| Delivery::Reject(reject)),
        }
    }

    fn take_request(&mut self, key: RequestKey) -> Option<(Function, Function)> {
        let at = self.requests.iter().position(|(k, _, _)| *k == key)?;
        let (_, resolve, reject) = self.requests.remove(at);
        Some((resolve, reject))
    }

    /// `onMessage` listeners, then `on(type)` listeners of this type.
    fn app_callbacks(&self, ty: &JsValue) -> Vec<Function> {
        let all = self.message_listeners.iter().map(|(_, f)| f.clone());
        let typed = self
            .type_listeners
            .iter()
            .filter(|(_, t, _)| t == ty)
            .map(|(_, _, f)| f.clone());
        all.chain(typed).collect()
    }
}

/// Performs the core's actions and dispatches its events until it has
/// nothing more to say, then re-arms the one timer. Actions first: on each
/// open the resubscribe and queued frames go out before status listeners run.
///
/// A pump inside a listener (its API call) performs its actions at once but
/// leaves its notices to the pump that runs the listener: otherwise a later
/// listener of the same event would hear the new state before the old one.
pub fn pump(rc: &Rc<Shared>) {
    loop {
        let action = {
            let mut inner = rc.borrow_mut();
            inner.take_events();
            inner.core.poll_action()
        };
        if let Some(action) = action {
            perform(rc, action);
            continue;
        }
        let notice = {
            let mut inner = rc.borrow_mut();
            if inner.dispatching || inner.notices.is_empty() {
                break;
            }
            inner.dispatching = true;
            inner.notices.remove(0)
        };
        dispatch(rc, notice);
        rc.borrow_mut().dispatching = false;
    }
    let mut inner = rc.borrow_mut();
    let deadline = inner.core.poll_timeout();
    inner.timer.arm(deadline);
}

fn perform(rc: &Rc<Shared>, action: Action) {
    match action {
        Action::Open { socket } => start_attempt(rc, socket),
        Action::Send { socket, text } => {
            let inner = rc.borrow();
            if let Some(s) = inner.socket.as_ref().filter(|s| s.id == socket) {
                s.send(&text);
            }
        }
        Action::Close {
            socket,
            code,
            reason,
        } => {
            let taken = {
                let mut inner = rc.borrow_mut();
                if inner.pending_open == Some(socket) {
                    inner.pending_open = None;
                }
                match &inner.socket {
                    Some(s) if s.id == socket => inner.socket.take(),
                    _ => None,
                }
            };
            if let Some(s) = taken {
                s.close(code, reason);
            }
        }
    }
}

/// Asks the token provider (if any), then opens the socket. The provider
/// runs with no borrow held: it is application code.
fn start_attempt(rc: &Rc<Shared>, socket: SocketId) {
    let provider = {
        let mut inner = rc.borrow_mut();
        inner.pending_open = Some(socket);
        inner.token_provider.clone()
    };
    let Some(provider) = provider else {
        return open_socket(rc, socket, None);
    };
    let token = match provider.call0(&JsValue::UNDEFINED) {
        Ok(token) => token,
        Err(e) => return fail_attempt(rc, socket, &described("tokenProvider threw: ", &e)),
    };
    if let Some(token) = token.as_string() {
        return open_socket(rc, socket, Some(token));
    }
    let Ok(promise) = token.dyn_into::<Promise>() else {
        return fail_attempt(
            rc,
            socket,
            "tokenProvider must return a string or a Promise of one",
        );
    };
    // The bound callbacks are plain JS functions: an answer that never comes
    // costs nothing, and a late one is ignored (`pending_open` moved on, or
    // the client was freed).
    let (ok, err) = {
        let inner = rc.borrow();
        let ok = inner.bound(Route::TokenOk, socket.0);
        (ok, inner.bound(Route::TokenErr, socket.0))
    };
    js::then(&promise, &ok, &err);
}

/// The token provider's promise settled: open the socket with the token, or
/// fail the attempt.
fn token_settled(weak: &Weak<Shared>, socket: SocketId, resolved: bool, value: JsValue) {
    let Some(rc) = weak.upgrade() else { return };
    match value.as_string() {
        Some(token) if resolved => open_socket(&rc, socket, Some(token)),
        None if resolved => fail_attempt(&rc, socket, "tokenProvider must resolve to a string"),
        _ => fail_attempt(&rc, socket, &described("tokenProvider rejected: ", &value)),
    }
    pump(&rc);
}

fn open_socket(rc: &Rc<Shared>, socket: SocketId, token: Option<String>) {
    let mut inner = rc.borrow_mut();
    // The attempt may have been cancelled (timeout, close) while waiting.
    if inner.pending_open != Some(socket) {
        return;
    }
    inner.pending_open = None;
    // Every attempt after the first follows a failure, a lost link or a
    // goaway: move on to the next instance.
    let index = inner.url_index.map_or(0, |i| (i + 1) % inner.urls.len());
    inner.url_index = Some(index);
    let base = &inner.urls[index];
    let url = match token {
        Some(t) => {
            let mut url = base.clone();
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str("token=");
            url.push_str(&String::from(js_sys::encode_uri_component(&t)));
            url
        }
        None => base.clone(),
    };
    match Socket::open(&inner, socket, &url) {
        Ok(s) => inner.socket = Some(s),
        Err(e) => {
            drop(inner);
            fail_attempt(rc, socket, &describe(&e));
        }
    }
}

/// `prefix` followed by the text of a thrown value.
fn described(prefix: &str, thrown: &JsValue) -> String {
    let mut text = prefix.to_owned();
    text.push_str(&describe(thrown));
    text
}

/// An attempt that never got a socket fails like a socket that never opened.
fn fail_attempt(rc: &Rc<Shared>, socket: SocketId, message: &str) {
    let mut inner = rc.borrow_mut();
    if inner.pending_open == Some(socket) {
        inner.pending_open = None;
    }
    let now = js::now();
    inner.core.handle_socket_error(now, socket, message);
    inner.core.handle_socket_close(
        now,
        socket,
        tether_protocol::close::code::ABNORMAL,
        "",
        false,
    );
}

/// What listeners are to hear, taken from the core's events as soon as
/// the input that made them is done (so a status is the one of that
/// moment, even when a listener's call changes it before its turn).
enum Notice {
    Status(JsValue),
    /// A topic's `onState` event.
    Subscription(String, JsValue),
    RequestFailed(RequestKey, tether_core::RequestError),
}

impl Inner {
    /// Moves the core's events into [`Inner::notices`].
    fn take_events(&mut self) {
        while let Some(event) = self.core.poll_event() {
            let notice = match event {
                Event::Status => Notice::Status(status_object(&self.core)),
                Event::Subscription {
                    topic,
                    state,
                    recovered,
                    missed,
                    error,
                } => {
                    let event = subscription::event_object(
                        state.as_str(),
                        recovered,
                        missed,
                        error.as_deref(),
                    );
                    Notice::Subscription(topic, event)
                }
                Event::RequestFailed { key, error } => Notice::RequestFailed(key, error),
            };
            self.notices.push(notice);
        }
    }
}

/// Calls the listeners of `notice` (those registered now).
fn dispatch(rc: &Rc<Shared>, notice: Notice) {
    let inner = rc.borrow();
    let (arg, listeners) = match notice {
        Notice::Status(status) => (
            status,
            inner
                .status_listeners
                .iter()
                .map(|(_, f)| f.clone())
                .collect(),
        ),
        Notice::Subscription(topic, event) => {
            let listeners = inner
                .topics
                .iter()
                .find(|t| t.name == topic)
                .map(Topic::state_listeners)
                .unwrap_or_default();
            (event, listeners)
        }
        Notice::RequestFailed(key, error) => {
            drop(inner);
            let reject = rc.borrow_mut().take_request(key);
            if let Some((_, reject)) = reject {
                let message = error.message();
                let error = js::request_error(message, Some(error.code()), &JsValue::NULL);
                call_listener(&reject, &error);
            }
            return;
        }
    };
    drop(inner);
    for listener in &listeners {
        call_listener(listener, &arg);
    }
}

/// The `status` snapshot object of js-api.md. The core's times are on the
/// monotonic clock; the app gets epoch ms, as of now (a moved page clock
/// moves them along).
fn status_object(core: &Client) -> JsValue {
    let s = core.status();
    let epoch = js::epoch_offset();
    let last_close = s.last_close.map_or(JsValue::NULL, |c| {
        object(&[
            ("code", JsValue::from(c.code)),
            ("reason", JsValue::from_str(&c.reason)),
            ("wasClean", JsValue::from(c.was_clean)),
        ])
    });
    object(&[
        ("state", JsValue::from_str(s.state.as_str())),
        ("attempt", JsValue::from(s.attempt)),
        (
            "nextRetryAt",
            s.next_retry_at
                .map_or(JsValue::NULL, |t| JsValue::from_f64(t.0 as f64 + epoch)),
        ),
        ("lastClose", last_close),
        ("lastError", js::string_or_null(s.last_error)),
        ("rttMs", js::number_or_null(s.rtt_ms)),
        ("clientId", js::string_or_null(s.client_id)),
        ("queued", JsValue::from_f64(s.queued as f64)),
        ("since", JsValue::from_f64(s.since.0 as f64 + epoch)),
    ])
}

/// The single browser timer, armed at the core's next deadline.
struct Timer {
    /// The client's callback bound to [`Route::Timer`].
    callback: Option<Function>,
    handle: Option<JsValue>,
    deadline: Option<Timestamp>,
}

impl Timer {
    fn arm(&mut self, deadline: Option<Timestamp>) {
        if deadline == self.deadline && (deadline.is_none() || self.handle.is_some()) {
            return;
        }
        self.cancel();
        self.deadline = deadline;
        let (Some(at), Some(callback)) = (deadline, &self.callback) else {
            return;
        };
        // Browsers fire a timeout > 2^31-1 ms at once; the core re-arms anyway.
        let delay = at.0.saturating_sub(js::now().0).min(i32::MAX as u64);
        self.handle = Some(js::set_timeout(callback, delay as f64));
    }

    fn cancel(&mut self) {
        if let Some(handle) = self.handle.take() {
            js::clear_timeout(&handle);
        }
        self.deadline = None;
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl Tether {
    /// Attaches the page listeners (released again by `close()`), runs
    /// `start` on the core, and performs what it decided.
    fn activate(&self, start: fn(&mut Client, Timestamp)) {
        {
            let mut inner = self.rc.borrow_mut();
            if inner.window.is_none() {
                inner.window = WindowListeners::attach(&inner);
            }
            start(&mut inner.core, js::now());
        }
        pump(&self.rc);
    }
}

/// A Tether client: one resilient connection to a Tether (or plain JSON)
/// WebSocket server. See the README for every option, state and event.
#[wasm_bindgen]
pub struct Tether {
    rc: Rc<Shared>,
}

#[wasm_bindgen]
impl Tether {
    /// Creates a client for `url` (`ws://` or `wss://`). Throws a `TypeError`
    /// naming the option when an option is wrong. Connects at once unless
    /// `autoConnect` is false.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "string | string[]")] url: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "TetherOptions")] options: Option<JsValue>,
    ) -> Result<Tether, JsValue> {
        let Options {
            mut urls,
            config,
            auto_connect,
            protocols,
            token_provider,
            raw_pong_type,
        } = options::parse(&url, &options.unwrap_or(JsValue::UNDEFINED))?;
        let raw = config.mode == tether_core::Mode::Raw;
        if !raw {
            // Names the client in the server's logs (protocol `sdk` parameter).
            for url in &mut urls {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str(concat!("sdk=tether-ws%2F", env!("CARGO_PKG_VERSION")));
            }
        }
        let seed = (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64;
        let core = Client::new(config, js::now(), seed, window::is_online());
        let rc = Rc::new_cyclic(|weak: &Weak<Shared>| {
            let w = weak.clone();
            let callback = Closure::<RouteFn>::new(move |tag, arg, cursor, offset| {
                route(&w, tag, arg, cursor, offset)
            });
            let inbox = Inbox::new(callback.as_ref().unchecked_ref());
            RefCell::new(Inner {
                core,
                urls,
                url_index: None,
                protocols,
                token_provider,
                raw,
                keys: js::Keys::new(raw_pong_type),
                socket: None,
                pending_open: None,
                timer: Timer {
                    callback: None,
                    handle: None,
                    deadline: None,
                },
                window: None,
                next_listener: 0,
                status_listeners: Vec::new(),
                message_listeners: Vec::new(),
                type_listeners: Vec::new(),
                topics: Vec::new(),
                inbox,
                requests: Vec::new(),
                notices: Vec::new(),
                dispatching: false,
                _callback: callback,
            })
        });
        {
            let mut inner = rc.borrow_mut();
            inner.timer.callback = Some(inner.bound(Route::Timer, 0));
        }
        let client = Tether { rc };
        if auto_connect {
            client.connect();
        }
        Ok(client)
    }

    /// `"idle" | "connecting" | "open" | "reconnecting" | "offline" | "closed" | "failed"`.
    #[wasm_bindgen(getter, unchecked_return_type = "State")]
    pub fn state(&self) -> JsValue {
        JsValue::from_str(self.rc.borrow().core.state().as_str())
    }

    /// A snapshot of the connection status (see the README).
    #[wasm_bindgen(getter, unchecked_return_type = "Status")]
    pub fn status(&self) -> JsValue {
        status_object(&self.rc.borrow().core)
    }

    /// Calls `callback(status)` on every status change; returns a remover.
    #[wasm_bindgen(js_name = onStatus, unchecked_return_type = "Remover")]
    pub fn on_status(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(status: Status) => void")] callback: Function,
    ) -> Function {
        let mut inner = self.rc.borrow_mut();
        let id = inner.listener_id();
        inner.status_listeners.push((id, callback));
        inner.remover_for(id)
    }

    /// Calls `callback(message)` for every inbound application message;
    /// returns a remover.
    #[wasm_bindgen(js_name = onMessage, unchecked_return_type = "Remover")]
    pub fn on_message(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(message: unknown) => void")] callback: Function,
    ) -> Function {
        let mut inner = self.rc.borrow_mut();
        let id = inner.listener_id();
        inner.message_listeners.push((id, callback));
        inner.remover_for(id)
    }

    /// Calls `callback(message)` for inbound messages whose `type` equals
    /// `type`; returns a remover.
    #[wasm_bindgen(unchecked_return_type = "Remover")]
    pub fn on(
        &self,
        r#type: String,
        #[wasm_bindgen(unchecked_param_type = "(message: Frame) => void")] callback: Function,
    ) -> Function {
        let mut inner = self.rc.borrow_mut();
        let id = inner.listener_id();
        inner
            .type_listeners
            .push((id, JsValue::from_str(&r#type), callback));
        inner.remover_for(id)
    }

    /// Subscribes `callback` to `topic`; the subscription survives reconnects.
    pub fn subscribe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] topic: JsValue,
        #[wasm_bindgen(unchecked_param_type = "(publication: Publication) => void")]
        callback: Function,
        #[wasm_bindgen(unchecked_optional_param_type = "SubscribeOptions")] opts: Option<JsValue>,
    ) -> Result<Subscription, JsValue> {
        subscription::subscribe(
            &self.rc,
            topic,
            callback,
            &opts.unwrap_or(JsValue::UNDEFINED),
        )
    }

    /// Sends `msg` (an object is JSON-encoded) now when open, else queues it.
    /// Returns false when it was dropped (queue full, closed or failed).
    pub fn send(
        &self,
        #[wasm_bindgen(unchecked_param_type = "object | string")] msg: JsValue,
    ) -> Result<bool, JsValue> {
        let text = match msg.as_string() {
            Some(text) => text,
            None => js::json_stringify(&msg)
                .ok()
                .and_then(|t| t.as_string())
                .ok_or_else(|| type_error("send() takes a string or a JSON-serialisable value"))?,
        };
        let sent = self.rc.borrow_mut().core.send(js::now(), text);
        pump(&self.rc);
        Ok(sent)
    }

    /// Sends `msg` (a JSON object) with a fresh `id` and resolves with the
    /// reply frame of that id. Rejects with an `Error` (with `code`, and
    /// `reply` for an error frame) on an `error` reply, after
    /// `opts.timeoutMs` (default 10000), when the link carrying it drops, or
    /// on `close()`. Waits in the send queue while not open.
    #[wasm_bindgen(unchecked_return_type = "Promise<Frame>")]
    pub fn request(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ type: string; [field: string]: unknown }")]
        msg: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestOptions")] opts: Option<JsValue>,
    ) -> Result<Promise, JsValue> {
        if !msg.is_object() || msg.is_function() || js_sys::Array::is_array(&msg) {
            return Err(type_error("request() takes a JSON object"));
        }
        let timeout = js::get(&opts.unwrap_or(JsValue::UNDEFINED), &"timeoutMs".into());
        let timeout_ms = match timeout.as_f64() {
            _ if timeout.is_undefined() => DEFAULT_REQUEST_TIMEOUT_MS,
            Some(ms) if ms.is_finite() && ms > 0.0 => ms as u64,
            _ => {
                return Err(type_error(
                    "opts.timeoutMs must be a finite number of milliseconds > 0",
                ))
            }
        };
        // The id is the client's: a copy without the app's.
        let copy = js_sys::Object::assign(&js_sys::Object::new(), msg.unchecked_ref());
        let _ = js_sys::Reflect::delete_property(&copy, &"id".into());
        let body = js::json_stringify(&copy)
            .ok()
            .and_then(|t| t.as_string())
            .ok_or_else(|| type_error("request() takes a JSON-serialisable object"))?;
        let mut settle = None;
        let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
        let (resolve, reject) = settle.ok_or_else(|| js::error("Promise executor did not run"))?;
        let result = self
            .rc
            .borrow_mut()
            .core
            .request(js::now(), body, timeout_ms);
        match result {
            Ok(key) => self.rc.borrow_mut().requests.push((key, resolve, reject)),
            Err(e) => call_listener(
                &reject,
                &js::request_error(e.message(), Some(e.code()), &JsValue::NULL),
            ),
        }
        pump(&self.rc);
        Ok(promise)
    }

    /// Starts a client made with `autoConnect: false`, or restarts one after
    /// `close()` or `failed`.
    pub fn connect(&self) {
        self.activate(Client::connect);
    }

    /// Drops the current link, if any, and connects at once.
    pub fn reconnect(&self) {
        self.activate(Client::reconnect);
    }

    /// Closes for good: no reconnect; timers and page listeners released.
    /// Listeners and subscriptions stay for a later `connect()`.
    pub fn close(&self, code: Option<u16>, reason: Option<String>) -> Result<(), JsValue> {
        let code = code.unwrap_or(tether_protocol::close::code::NORMAL);
        if code != 1000 && !(3000..=4999).contains(&code) {
            return Err(type_error("close code must be 1000 or in 3000-4999"));
        }
        let window = {
            let mut inner = self.rc.borrow_mut();
            inner
                .core
                .close(js::now(), code, reason.as_deref().unwrap_or(""));
            inner.window.take()
        };
        drop(window);
        pump(&self.rc);
        Ok(())
    }
}
