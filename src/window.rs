//! The page-level listeners the client needs while it is active: `online`,
//! `offline`, `pageshow` on window and `visibilitychange` on document. One
//! RAII handle: dropping it removes all four.

use crate::client::{self, Shared};
use std::rc::Weak;
use wasm_bindgen::prelude::*;
use web_sys::{Document, EventTarget, Window};

type Listener = Closure<dyn FnMut(web_sys::Event)>;

pub struct WindowListeners {
    window: Window,
    document: Option<Document>,
    listeners: Vec<(bool, &'static str, Listener)>,
}

/// Whether the browser says it is online (`navigator.onLine`); true outside
/// a window.
pub fn is_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

fn is_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_none_or(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
}

impl WindowListeners {
    /// Attaches the listeners; `None` outside a window (e.g. a worker).
    pub fn attach(weak: &Weak<Shared>) -> Option<WindowListeners> {
        let window = web_sys::window()?;
        let document = window.document();
        let mut me = WindowListeners {
            window,
            document,
            listeners: Vec::new(),
        };
        let w = weak.clone();
        me.add(false, "online", move || {
            client::with(&w, |s, now| s.core.handle_online(now, true))
        });
        let w = weak.clone();
        me.add(false, "offline", move || {
            client::with(&w, |s, now| s.core.handle_online(now, false))
        });
        let w = weak.clone();
        me.add(false, "pageshow", move || {
            client::with(&w, |s, now| s.core.handle_visible(now))
        });
        let w = weak.clone();
        me.add(true, "visibilitychange", move || {
            if is_visible() {
                client::with(&w, |s, now| s.core.handle_visible(now))
            }
        });
        Some(me)
    }

    fn add(&mut self, on_document: bool, event: &'static str, mut f: impl FnMut() + 'static) {
        let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| f());
        if let Some(target) = self.target(on_document) {
            let _ =
                target.add_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
        }
        self.listeners.push((on_document, event, listener));
    }

    fn target(&self, on_document: bool) -> Option<&EventTarget> {
        if on_document {
            self.document.as_ref().map(|d| d.as_ref())
        } else {
            Some(self.window.as_ref())
        }
    }
}

impl Drop for WindowListeners {
    fn drop(&mut self) {
        for (on_document, event, listener) in &self.listeners {
            if let Some(target) = self.target(*on_document) {
                let _ = target
                    .remove_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
            }
        }
    }
}
