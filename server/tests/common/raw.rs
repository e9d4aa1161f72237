//! A WebSocket client written by hand over TCP, for what a well-behaved
//! library cannot do: send frames that break the protocol, send headers
//! slowly, or read without keeping any buffer (so a test that counts the
//! process's heap sees only the server's).

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::WAIT;

/// A TCP connection from `from` (any loopback address: 127.0.0.0/8) to
/// `to`.
pub async fn tcp_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.expect("tcp connect")
}

/// Completes a WebSocket handshake on `tcp`; returns it after the 101.
pub async fn handshake(mut tcp: TcpStream, addr: SocketAddr) -> TcpStream {
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let head = read_until(&mut tcp, b"\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tcp
}

/// Reads byte by byte up to and including `end` (so nothing after it is
/// consumed), within the wait bound.
pub async fn read_until(tcp: &mut TcpStream, end: &[u8]) -> String {
    let mut head = Vec::new();
    while !head.ends_with(end) {
        let b = tokio::time::timeout(WAIT, tcp.read_u8())
            .await
            .expect("a response within the wait bound")
            .expect("a response");
        head.push(b);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Connects and upgrades from 127.0.0.1.
pub async fn connect(addr: SocketAddr) -> TcpStream {
    handshake(tcp_from("127.0.0.1", addr).await, addr).await
}

/// A client frame (masked, with a zero key: the payload goes as is).
pub fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![b0];
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(payload);
    out
}

/// A text frame.
pub fn text(payload: &str) -> Vec<u8> {
    frame(0x81, payload.as_bytes())
}

/// One server frame: (opcode, payload). Panics on a frame the server must
/// never send (masked, fragmented).
pub async fn read_frame(tcp: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let read = async {
        let b0 = tcp.read_u8().await.ok()?;
        let b1 = tcp.read_u8().await.ok()?;
        assert_eq!(b0 & 0xF0, 0x80, "unfragmented, no reserved bits");
        assert_eq!(b1 & 0x80, 0, "server frames are not masked");
        let len = match b1 & 0x7F {
            126 => u64::from(tcp.read_u16().await.ok()?),
            127 => tcp.read_u64().await.ok()?,
            n => u64::from(n),
        };
        let mut payload = vec![0; len as usize];
        tcp.read_exact(&mut payload).await.ok()?;
        Some((b0 & 0x0F, payload))
    };
    tokio::time::timeout(WAIT, read)
        .await
        .expect("a frame or the end within the wait bound")
}

/// The next close frame's code and reason, skipping other frames; `None`
/// if the socket ended first.
pub async fn read_close(tcp: &mut TcpStream) -> Option<(u16, String)> {
    while let Some((op, payload)) = read_frame(tcp).await {
        if op == 0x8 {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            return Some((code, String::from_utf8_lossy(&payload[2..]).into_owned()));
        }
    }
    None
}

/// Reads and discards through a small fixed buffer until `n` bytes
/// arrived (keeps no buffer of the size of what it reads).
pub async fn drain(tcp: &mut TcpStream, n: usize) {
    let mut buf = [0u8; 4096];
    let mut got = 0;
    while got < n {
        let read = tokio::time::timeout(WAIT, tcp.read(&mut buf))
            .await
            .expect("data within the wait bound")
            .expect("read");
        assert!(read > 0, "socket ended after {got} of {n} bytes");
        got += read;
    }
}

/// Whether the server closes `tcp` (EOF or reset) within the wait bound,
/// discarding whatever it sent first.
pub async fn closed_by_server(tcp: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    let wait = async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    };
    tokio::time::timeout(WAIT, wait).await.is_ok()
}
