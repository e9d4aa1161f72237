//! The JS half of the receive path (`inbox.js`): parses each inbound frame,
//! keeps each topic's callbacks and the cursor and epoch the core last
//! confirmed, and hands a publication that matches them to the client as
//! two numbers ([`Route::Next`](crate::client::Route)). Everything else
//! reaches the client whole ([`Route::Message`](crate::client::Route)).
//! It also holds the client's one callback for every other JS callback
//! (sockets, page, timer, removers), so dropping the client detaches them
//! all at once.

use js_sys::Function;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/inbox.js")]
extern "C" {
    /// One client's inbox.
    #[derive(Clone)]
    pub type Inbox;
    /// `route(tag, frame, cursor, offset)` is the client's callback.
    #[wasm_bindgen(constructor)]
    pub fn new(route: &Function) -> Inbox;
    /// The client's callback bound to `tag` (`route(tag, arg)`): what every
    /// socket, page, timer and remover callback is.
    #[wasm_bindgen(method)]
    pub fn bind(this: &Inbox, tag: f64) -> Function;
    /// From now on every bound function and handler does nothing (the
    /// client is gone).
    #[wasm_bindgen(method)]
    pub fn detach(this: &Inbox);
    /// The `onmessage` handler of one socket, with its two tags.
    #[wasm_bindgen(method)]
    pub fn handler(this: &Inbox, tag: f64, next_tag: f64) -> Function;
    /// Calls the callbacks of a publication's topic.
    #[wasm_bindgen(method)]
    pub fn deliver(this: &Inbox, frame: &JsValue);
    /// Records the core's cursor and epoch for `topic`.
    #[wasm_bindgen(method)]
    pub fn sync(this: &Inbox, topic: &str, cursor: u32, epoch: &str);
    /// Adds subscription `id`'s callback to `topic`.
    #[wasm_bindgen(method)]
    pub fn add(this: &Inbox, topic: &str, id: u32, callback: &Function);
    /// Removes subscription `id` from `topic` (the topic with its last one).
    #[wasm_bindgen(method)]
    pub fn remove(this: &Inbox, topic: &str, id: u32);
}
