//! One browser `WebSocket` and the four closures attached to it, as one RAII
//! handle. The closures hold a `Weak` to the client and the socket's
//! generation id, never an `Rc`: dropping the handle frees everything.

use crate::client::{self, Shared};
use std::rc::Weak;
use tether_core::SocketId;
use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

type Handler<E> = Closure<dyn FnMut(E)>;

/// A live socket. Dropping it detaches the handlers first (so no event of a
/// replaced socket reaches the client), then closes the socket.
pub struct Socket {
    pub id: SocketId,
    ws: WebSocket,
    _on_open: Handler<Event>,
    _on_message: Handler<MessageEvent>,
    _on_close: Handler<CloseEvent>,
    _on_error: Handler<Event>,
    close_code: u16,
    close_reason: String,
}

impl Socket {
    /// Opens `url` and routes its events to the client behind `weak`.
    pub fn open(
        weak: Weak<Shared>,
        id: SocketId,
        url: &str,
        protocols: &js_sys::Array,
    ) -> Result<Socket, JsValue> {
        let ws = WebSocket::new_with_str_sequence(url, protocols)?;
        ws.set_binary_type(web_sys::BinaryType::Arraybuffer);

        let w = weak.clone();
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            client::with(&w, |shared, now| shared.core.handle_socket_open(now, id));
        });
        let w = weak.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            client::on_message(&w, id, e.data());
        });
        let w = weak.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            let reason = e.reason();
            client::with(&w, |shared, now| {
                shared
                    .core
                    .handle_socket_close(now, id, e.code(), &reason, e.was_clean())
            });
        });
        let w = weak;
        let on_error = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            // The browser hides the cause of a WebSocket error; `close` follows.
            client::with(&w, |shared, now| {
                shared.core.handle_socket_error(now, id, "WebSocket error")
            });
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Socket {
            id,
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
            _on_error: on_error,
            close_code: tether_protocol::close::code::NORMAL,
            close_reason: String::new(),
        })
    }

    /// Sends one text frame. The core only asks for this while the socket is
    /// open, so a failure here means the link just died; `close` follows.
    pub fn send(&self, text: &str) {
        let _ = self.ws.send_with_str(text);
    }

    /// Closes with `code` and `reason` (and drops the handle).
    pub fn close(mut self, code: u16, reason: String) {
        self.close_code = code;
        self.close_reason = reason;
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        // 1005 is reserved: the browser throws if asked to send it.
        let code = match self.close_code {
            1000 | 3000..=4999 => self.close_code,
            _ => tether_protocol::close::code::NORMAL,
        };
        let _ = self.ws.close_with_code_and_reason(code, &self.close_reason);
    }
}
