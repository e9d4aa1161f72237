//! Writes server frames to a socket, keeping no buffer between batches.
//!
//! Small frames are gathered into one staging buffer and written with one
//! call; a frame larger than [`STAGE_LIMIT`] goes out as its header and its
//! (shared) payload in one vectored write, without a copy. After every
//! flush the staging buffer is given back, so an idle connection holds no
//! write buffer, whatever it sent before. (tungstenite keeps its write
//! buffer at the size of the largest frame a connection ever sent: one
//! 2 MiB publication to many subscribers used to cost each of them 2 MiB.)

use std::io::{self, IoSlice};

use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::frame::{self, OpCode};

/// Frames up to this size are copied into the staging buffer; larger ones
/// are written from where they are.
pub const STAGE_LIMIT: usize = 4 * 1024;

/// Writes frames to `io` (the server side: frames are not masked).
#[derive(Debug)]
pub struct Writer<W> {
    io: W,
    staged: Vec<u8>,
}

impl<W: AsyncWrite + Unpin> Writer<W> {
    /// A writer over `io`.
    pub fn new(io: W) -> Self {
        Writer {
            io,
            staged: Vec::new(),
        }
    }

    /// Sends one unfragmented frame: staged until [`Writer::flush`] when
    /// small, else written now (after what is staged).
    pub async fn send(&mut self, opcode: OpCode, payload: &[u8]) -> io::Result<()> {
        if payload.len() <= STAGE_LIMIT {
            if self.staged.len() + payload.len() > STAGE_LIMIT {
                self.write_staged().await?;
            }
            frame::write_header(&mut self.staged, opcode, payload.len());
            self.staged.extend_from_slice(payload);
            return Ok(());
        }
        frame::write_header(&mut self.staged, opcode, payload.len());
        let mut slices = [IoSlice::new(&self.staged), IoSlice::new(payload)];
        let mut slices = &mut slices[..];
        while !slices.is_empty() {
            let n = self.io.write_vectored(slices).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut slices, n);
        }
        self.staged.clear();
        Ok(())
    }

    /// A close frame with `code` and `reason` (cut to fit).
    pub async fn send_close(&mut self, code: u16, reason: &str) -> io::Result<()> {
        self.send(OpCode::Close, &frame::close_payload(code, reason))
            .await
    }

    /// Writes what is staged, flushes the socket and releases the staging
    /// buffer.
    pub async fn flush(&mut self) -> io::Result<()> {
        self.write_staged().await?;
        self.staged = Vec::new();
        self.io.flush().await
    }

    /// Shuts the socket's sending side (after a close frame).
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.io.shutdown().await
    }

    async fn write_staged(&mut self) -> io::Result<()> {
        self.io.write_all(&self.staged).await?;
        self.staged.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn small_frames_are_batched_large_ones_written_whole() {
        let (tx, mut rx) = tokio::io::duplex(1 << 20);
        let mut w = Writer::new(tx);
        let large = vec![b'L'; STAGE_LIMIT + 1];
        w.send(OpCode::Text, b"a").await.unwrap();
        w.send(OpCode::Ping, b"").await.unwrap();
        w.send(OpCode::Text, &large).await.unwrap();
        w.send_close(1000, "bye").await.unwrap();
        w.flush().await.unwrap();
        assert_eq!(w.staged.capacity(), 0, "released after the flush");
        drop(w);
        let mut got = Vec::new();
        rx.read_to_end(&mut got).await.unwrap();
        let mut want = vec![0x81, 1, b'a', 0x89, 0, 0x81, 126];
        want.extend_from_slice(&((STAGE_LIMIT + 1) as u16).to_be_bytes());
        want.extend_from_slice(&large);
        want.extend_from_slice(&[0x88, 5, 0x03, 0xE8, b'b', b'y', b'e']);
        assert_eq!(got, want);
    }
}
