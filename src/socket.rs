//! One browser `WebSocket` as an RAII handle. Its handlers are the client's
//! callback bound to this socket's generation id (see `client::Route`), and
//! for `message` the client's inbox with the same id: they hold no
//! reference to the client, and dropping the handle detaches them, so no
//! event of a replaced socket reaches the client.

use crate::client::{Inner, Route};
use alloc::string::String;
use tether_core::SocketId;
use wasm_bindgen::prelude::*;
use web_sys::WebSocket;

/// A live socket. Dropping it detaches the handlers first, then closes the
/// socket.
pub struct Socket {
    pub id: SocketId,
    ws: WebSocket,
    close_code: u16,
    close_reason: String,
}

impl Socket {
    /// Opens `url` with the client's protocols and routes its events to the
    /// client's callback.
    pub fn open(inner: &Inner, id: SocketId, url: &str) -> Result<Socket, JsValue> {
        let ws = WebSocket::new_with_str_sequence(url, &inner.protocols)?;
        ws.set_binary_type(web_sys::BinaryType::Arraybuffer);
        ws.set_onopen(Some(&inner.bound(Route::Open, id.0)));
        ws.set_onmessage(Some(&inner.message_handler(id.0)));
        ws.set_onclose(Some(&inner.bound(Route::Close, id.0)));
        ws.set_onerror(Some(&inner.bound(Route::Error, id.0)));
        Ok(Socket {
            id,
            ws,
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
