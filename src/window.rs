//! The page-level listeners the client needs while it is active: `online`,
//! `offline`, `pageshow` on window and `visibilitychange` on document. One
//! RAII handle: dropping it removes all four. The listeners are the client's
//! callback bound to a route (see `client::Route`).

use crate::client::{Inner, Route};
use alloc::vec::Vec;
use js_sys::Function;
use web_sys::{Document, EventTarget, Window};

pub struct WindowListeners {
    window: Window,
    document: Option<Document>,
    listeners: Vec<(bool, &'static str, Function)>,
}

/// Whether the browser says it is online (`navigator.onLine`); true outside
/// a window.
pub fn is_online() -> bool {
    crate::js::window().is_none_or(|w| w.navigator().on_line())
}

/// Whether the page is visible; true outside a window.
pub fn is_visible() -> bool {
    crate::js::window()
        .and_then(|w| w.document())
        .is_none_or(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
}

impl WindowListeners {
    /// Attaches the listeners; `None` outside a window (e.g. a worker).
    pub fn attach(inner: &Inner) -> Option<WindowListeners> {
        let window = crate::js::window()?;
        let document = window.document();
        let mut me = WindowListeners {
            window,
            document,
            listeners: Vec::new(),
        };
        me.add(false, "online", inner.bound(Route::Online, 0));
        me.add(false, "offline", inner.bound(Route::Offline, 0));
        me.add(false, "pageshow", inner.bound(Route::PageShow, 0));
        me.add(true, "visibilitychange", inner.bound(Route::Visibility, 0));
        Some(me)
    }

    fn add(&mut self, on_document: bool, event: &'static str, listener: Function) {
        if let Some(target) = self.target(on_document) {
            let _ = target.add_event_listener_with_callback(event, &listener);
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
                let _ = target.remove_event_listener_with_callback(event, listener);
            }
        }
    }
}
