//! `subscribe()` and the `Subscription` class. Many `subscribe()` calls on
//! one topic share one wire subscription in the core; the shell keeps each
//! call's callback and state listeners here.

use crate::client::{pump, Shared};
use crate::js::{self, call_listener, object, type_error};
use alloc::rc::{Rc, Weak};
use alloc::string::String;
use alloc::vec::Vec;
use js_sys::Function;
use tether_core::SubState;
use wasm_bindgen::prelude::*;

/// One topic with at least one live `Subscription`.
pub struct Topic {
    pub name: String,
    handles: Vec<Handle>,
}

/// One `subscribe()` call; its publication callback is in the inbox.
struct Handle {
    id: u32,
    state_listeners: Vec<(u32, Function)>,
}

impl Topic {
    /// Every `onState` listener of every subscription on this topic.
    pub fn state_listeners(&self) -> Vec<Function> {
        let listeners = self.handles.iter().flat_map(|h| &h.state_listeners);
        listeners.map(|(_, f)| f.clone()).collect()
    }

    /// Removes an `onState` listener, wherever it is.
    pub fn remove_state_listener(&mut self, id: u32) {
        for handle in &mut self.handles {
            handle.state_listeners.retain(|(i, _)| *i != id);
        }
    }
}

/// The object `onState` listeners receive.
pub fn event_object(
    state: &str,
    recovered: Option<bool>,
    missed: u64,
    error: Option<&str>,
) -> JsValue {
    object(&[
        ("state", JsValue::from_str(state)),
        ("recovered", recovered.map_or(JsValue::NULL, JsValue::from)),
        ("missed", JsValue::from_f64(missed as f64)),
        ("error", js::string_or_null(error)),
    ])
}

/// `Tether.subscribe(topic, callback, opts)`.
pub fn subscribe(
    rc: &Rc<Shared>,
    topic: JsValue,
    callback: Function,
    opts: &JsValue,
) -> Result<Subscription, JsValue> {
    let topic = topic
        .as_string()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| type_error("topic must be a non-empty string"))?;
    let recover = match js::get(opts, &"recover".into()) {
        v if v.is_undefined() => true,
        v => v
            .as_bool()
            .ok_or_else(|| type_error("opts.recover must be a boolean"))?,
    };
    let id = {
        let mut inner = rc.borrow_mut();
        if inner.raw {
            return Err(js::error(
                "subscribe() is not available in raw mode: use on(type)",
            ));
        }
        let id = inner.listener_id();
        inner.inbox.add(&topic, id, &callback);
        let handle = Handle {
            id,
            state_listeners: Vec::new(),
        };
        match inner.topics.iter_mut().find(|t| t.name == topic) {
            Some(existing) => existing.handles.push(handle),
            None => {
                inner.topics.push(Topic {
                    name: topic.clone(),
                    handles: alloc::vec![handle],
                });
                inner.core.subscribe(js::now(), &topic, recover);
            }
        }
        id
    };
    pump(rc);
    Ok(Subscription {
        rc: Rc::downgrade(rc),
        topic,
        id,
    })
}

/// One `subscribe()` call. Publications reach its callback until
/// `unsubscribe()`; it survives reconnects.
#[wasm_bindgen]
pub struct Subscription {
    rc: Weak<Shared>,
    topic: String,
    id: u32,
}

#[wasm_bindgen]
impl Subscription {
    /// The topic name.
    #[wasm_bindgen(getter)]
    pub fn topic(&self) -> String {
        self.topic.clone()
    }

    /// `"pending" | "subscribed" | "unsubscribed" | "failed"`.
    #[wasm_bindgen(getter, unchecked_return_type = "SubscriptionState")]
    pub fn state(&self) -> JsValue {
        let Some(rc) = self.rc.upgrade() else {
            return JsValue::from_str(SubState::Unsubscribed.as_str());
        };
        let inner = rc.borrow();
        let live = inner
            .topics
            .iter()
            .any(|t| t.name == self.topic && t.handles.iter().any(|h| h.id == self.id));
        let state = match live {
            true => inner
                .core
                .subscription(&self.topic)
                .unwrap_or(SubState::Pending),
            false => SubState::Unsubscribed,
        };
        JsValue::from_str(state.as_str())
    }

    /// Stops this subscription. The wire unsubscribe goes when the last
    /// subscription on the topic is gone. Calling it twice is harmless.
    pub fn unsubscribe(&self) {
        let Some(rc) = self.rc.upgrade() else { return };
        let listeners = {
            let mut inner = rc.borrow_mut();
            let Some(pos) = inner.topics.iter().position(|t| t.name == self.topic) else {
                return;
            };
            let topic = &mut inner.topics[pos];
            let Some(at) = topic.handles.iter().position(|h| h.id == self.id) else {
                return;
            };
            let handle = topic.handles.remove(at);
            inner.inbox.remove(&self.topic, self.id);
            if inner.topics[pos].handles.is_empty() {
                inner.topics.remove(pos);
                inner.core.unsubscribe(js::now(), &self.topic);
            }
            handle.state_listeners
        };
        let event = event_object(SubState::Unsubscribed.as_str(), None, 0, None);
        for (_, listener) in &listeners {
            call_listener(listener, &event);
        }
        pump(&rc);
    }

    /// Calls `callback({state, recovered, missed, error})` after each
    /// (re)subscribe and on every state change; returns a remover.
    #[wasm_bindgen(js_name = onState, unchecked_return_type = "Remover")]
    pub fn on_state(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: SubscriptionEvent) => void")]
        callback: Function,
    ) -> Function {
        let Some(rc) = self.rc.upgrade() else {
            return js::noop();
        };
        let mut inner = rc.borrow_mut();
        let id = inner.listener_id();
        let handle = inner
            .topics
            .iter_mut()
            .filter(|t| t.name == self.topic)
            .flat_map(|t| t.handles.iter_mut())
            .find(|h| h.id == self.id);
        if let Some(handle) = handle {
            handle.state_listeners.push((id, callback));
        }
        inner.remover_for(id)
    }
}
