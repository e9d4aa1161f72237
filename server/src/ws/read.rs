//! Reads client messages from a socket with bounded memory.
//!
//! A connection holds only a small fixed read buffer between messages. A
//! message's payload goes into a buffer of its exact size (never more than
//! the message limit, checked from the header before anything is
//! allocated), which the caller owns and drops: a large message costs its
//! size while it is handled, and nothing afterwards. (tungstenite keeps
//! its buffers at the size of the largest frame a connection ever handled.)
//!
//! [`Reader::poll_next`] keeps all its state in the reader, so it is
//! cancel-safe: a `select!` may drop a pending read and poll again later.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

use super::frame::{self, ClosePayload, Header, OpCode};

/// A message from the client. Pings are for the caller to answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message (valid UTF-8).
    Text(String),
    /// A binary message (its payload is not kept: the protocol has no use
    /// for one).
    Binary,
    /// A ping with its payload (at most 125 bytes), to echo in a pong.
    Ping(Vec<u8>),
    /// A pong.
    Pong,
    /// A close frame: its code and reason, if any.
    Close(ClosePayload),
}

/// Why reading stopped with an error; each has the close code to send.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A message over the size limit.
    #[error("message over {0} bytes")]
    TooLarge(usize),
    /// A text message that is not UTF-8.
    #[error("text message is not UTF-8")]
    InvalidUtf8,
    /// A frame that breaks RFC 6455.
    #[error("protocol violation: {0}")]
    Protocol(&'static str),
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl ReadError {
    /// The close code that answers this error (`None`: the socket failed,
    /// nothing can be sent).
    pub fn close_code(&self) -> Option<u16> {
        use tether_protocol::close::code;
        match self {
            ReadError::TooLarge(_) => Some(code::TOO_LARGE),
            ReadError::InvalidUtf8 => Some(code::INVALID_PAYLOAD),
            ReadError::Protocol(_) => Some(code::PROTOCOL_ERROR),
            ReadError::Io(_) => None,
        }
    }
}

impl From<frame::HeaderError> for ReadError {
    fn from(e: frame::HeaderError) -> Self {
        ReadError::Protocol(match e {
            frame::HeaderError::Reserved => "reserved bits set",
            frame::HeaderError::UnknownOpCode => "unknown opcode",
            frame::HeaderError::Unmasked => "unmasked client frame",
            frame::HeaderError::BadControl => "fragmented or oversized control frame",
            frame::HeaderError::BadLength => "invalid frame length",
        })
    }
}

/// The frame being read: its header and how much of its payload arrived.
#[derive(Debug)]
struct Frame {
    header: Header,
    /// Payload bytes read so far.
    read: usize,
    /// Where the payload goes in the message buffer (data frames), or the
    /// payload itself (control frames).
    base: usize,
    control: Vec<u8>,
}

/// A (possibly fragmented) data message being assembled.
#[derive(Debug)]
struct Partial {
    text: bool,
    data: Vec<u8>,
}

/// Reads [`Message`]s from `io` (the server side: client frames are masked).
#[derive(Debug)]
pub struct Reader<R> {
    io: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    // Boxed: they exist only while a message is being read, and the
    // reader lives inline in every idle connection's future.
    frame: Option<Box<Frame>>,
    message: Option<Box<Partial>>,
    max_message: usize,
}

impl<R: AsyncRead + Unpin> Reader<R> {
    /// A reader with a `buffer`-byte read buffer (at least a header's worth),
    /// refusing messages over `max_message` bytes.
    pub fn new(io: R, buffer: usize, max_message: usize) -> Self {
        Reader {
            io,
            buf: vec![0; buffer.max(frame::MAX_HEADER)].into_boxed_slice(),
            start: 0,
            end: 0,
            frame: None,
            message: None,
            max_message,
        }
    }

    /// The next message; `None` when the socket ends. After an error the
    /// reader must not be used again.
    pub async fn next(&mut self) -> Option<Result<Message, ReadError>> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Polls for the next message (cancel-safe: the state is kept here).
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, ReadError>>> {
        loop {
            if self.frame.is_none() {
                match frame::parse_header(&self.buf[self.start..self.end]) {
                    Ok(Some((header, used))) => {
                        self.start += used;
                        if let Err(e) = self.begin(header) {
                            return Poll::Ready(Some(Err(e)));
                        }
                    }
                    Ok(None) => {
                        if ready!(self.fill(cx))? == 0 {
                            return Poll::Ready(None);
                        }
                        continue;
                    }
                    Err(e) => return Poll::Ready(Some(Err(e.into()))),
                }
            }
            let Some(f) = self.frame.as_mut() else {
                continue;
            };
            let len = f.header.len as usize;
            if f.read < len {
                let dest = match &mut self.message {
                    Some(m) if !f.header.opcode.is_control() => &mut m.data,
                    _ => &mut f.control,
                };
                let dest = &mut dest[f.base + f.read..f.base + len];
                let buffered = self.end - self.start;
                let n = if buffered > 0 {
                    let n = buffered.min(dest.len());
                    dest[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
                    self.start += n;
                    n
                } else if dest.len() >= self.buf.len() {
                    // Large payloads are read straight into their buffer.
                    let mut rb = ReadBuf::new(dest);
                    ready!(Pin::new(&mut self.io).poll_read(cx, &mut rb))?;
                    let n = rb.filled().len();
                    if n == 0 {
                        return Poll::Ready(None);
                    }
                    n
                } else {
                    if ready!(self.fill(cx))? == 0 {
                        return Poll::Ready(None);
                    }
                    continue;
                };
                frame::unmask(&mut dest[..n], f.header.mask, f.read as u64);
                f.read += n;
                if f.read < len {
                    continue;
                }
            }
            let Some(f) = self.frame.take() else {
                continue;
            };
            let message = match f.header.opcode {
                OpCode::Ping => Message::Ping(f.control),
                OpCode::Pong => Message::Pong,
                OpCode::Close => match frame::parse_close(&f.control) {
                    Ok(payload) => Message::Close(payload),
                    Err(e) => {
                        return Poll::Ready(Some(Err(ReadError::Protocol(match e {
                            frame::CloseError::Truncated => "truncated close code",
                            frame::CloseError::BadCode => "invalid close code",
                            frame::CloseError::BadReason => "close reason is not UTF-8",
                        }))))
                    }
                },
                _ if !f.header.fin => continue,
                _ => match self.message.take().map(|m| *m) {
                    Some(Partial { text: true, data }) => match String::from_utf8(data) {
                        Ok(text) => Message::Text(text),
                        Err(_) => return Poll::Ready(Some(Err(ReadError::InvalidUtf8))),
                    },
                    _ => Message::Binary,
                },
            };
            return Poll::Ready(Some(Ok(message)));
        }
    }

    /// Checks a new frame's header against the message state and the size
    /// limit, and makes room for its payload.
    fn begin(&mut self, header: Header) -> Result<(), ReadError> {
        let len = usize::try_from(header.len).unwrap_or(usize::MAX);
        let mut base = 0;
        let mut control = Vec::new();
        match header.opcode {
            OpCode::Close | OpCode::Ping | OpCode::Pong => control = vec![0; len],
            OpCode::Text | OpCode::Binary => {
                if self.message.is_some() {
                    return Err(ReadError::Protocol("new message inside a fragmented one"));
                }
                if len > self.max_message {
                    return Err(ReadError::TooLarge(self.max_message));
                }
                self.message = Some(Box::new(Partial {
                    text: header.opcode == OpCode::Text,
                    data: vec![0; len],
                }));
            }
            OpCode::Continuation => {
                let Some(m) = &mut self.message else {
                    return Err(ReadError::Protocol("continuation without a message"));
                };
                if len > self.max_message - m.data.len() {
                    return Err(ReadError::TooLarge(self.max_message));
                }
                base = m.data.len();
                m.data.resize(base + len, 0);
            }
        }
        self.frame = Some(Box::new(Frame {
            header,
            read: 0,
            base,
            control,
        }));
        Ok(())
    }

    /// Reads more into the read buffer (after the bytes still unparsed);
    /// returns how many arrived (0: the socket ended).
    fn fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        }
        let mut rb = ReadBuf::new(&mut self.buf[self.end..]);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut rb))?;
        let n = rb.filled().len();
        self.end += n;
        Poll::Ready(Ok(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame: masked with a fixed key.
    fn client_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x37, 0xFA, 0x21, 0x3D];
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
        out.extend_from_slice(&mask);
        let mut body = payload.to_vec();
        frame::unmask(&mut body, mask, 0);
        out.extend_from_slice(&body);
        out
    }

    /// Reads every message of `bytes`, fed `chunk` bytes at a time.
    async fn read_all(bytes: Vec<u8>, chunk: usize, max: usize) -> Vec<Result<Message, String>> {
        let (mut tx, rx) = tokio::io::duplex(chunk.max(1));
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for piece in bytes.chunks(chunk.max(1)) {
                if tx.write_all(piece).await.is_err() {
                    break;
                }
            }
        });
        let mut reader = Reader::new(rx, 16, max);
        let mut out = Vec::new();
        while let Some(m) = reader.next().await {
            let stop = m.is_err();
            out.push(m.map_err(|e| e.to_string()));
            if stop {
                break;
            }
        }
        writer.abort();
        out
    }

    #[tokio::test]
    async fn messages_arrive_whole_whatever_the_chunking() {
        let big = "x".repeat(70_000);
        let mut bytes = client_frame(0x81, b"hello");
        bytes.extend(client_frame(0x89, b"p"));
        bytes.extend(client_frame(0x01, b"frag"));
        bytes.extend(client_frame(0x8A, b""));
        bytes.extend(client_frame(0x00, "mént".as_bytes()));
        bytes.extend(client_frame(0x80, b"ed"));
        bytes.extend(client_frame(0x82, &[1, 2, 3]));
        bytes.extend(client_frame(0x81, big.as_bytes()));
        bytes.extend(client_frame(0x88, &[0x03, 0xE8, b'b', b'y', b'e']));
        for chunk in [1, 3, 7, 64, 100_000] {
            let mut got = read_all(bytes.clone(), chunk, 100_000).await;
            assert!(got[5] == Ok(Message::Text(big.clone())), "chunk {chunk}");
            got[5] = Ok(Message::Text("big".into()));
            assert_eq!(
                got,
                vec![
                    Ok(Message::Text("hello".into())),
                    Ok(Message::Ping(b"p".to_vec())),
                    Ok(Message::Pong),
                    Ok(Message::Text("fragménted".into())),
                    Ok(Message::Binary),
                    Ok(Message::Text("big".into())),
                    Ok(Message::Close(Some((1000, "bye".into())))),
                ],
                "chunk {chunk}"
            );
        }
    }

    #[tokio::test]
    async fn limits_and_violations_are_errors() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (client_frame(0x81, &[b'a'; 101]), "message over 100 bytes"),
            (
                [
                    client_frame(0x01, &[b'a'; 60]),
                    client_frame(0x80, &[b'a'; 60]),
                ]
                .concat(),
                "message over 100 bytes",
            ),
            (
                client_frame(0x81, &[0xFF, 0xFE]),
                "text message is not UTF-8",
            ),
            (
                client_frame(0x80, b"x"),
                "protocol violation: continuation without a message",
            ),
            (
                [client_frame(0x01, b"a"), client_frame(0x81, b"b")].concat(),
                "protocol violation: new message inside a fragmented one",
            ),
            (
                client_frame(0x88, &[0x03, 0xED]),
                "protocol violation: invalid close code",
            ),
            (
                vec![0x81, 0x01, b'a'],
                "protocol violation: unmasked client frame",
            ),
        ];
        for (bytes, want) in cases {
            let got = read_all(bytes, 5, 100).await;
            assert_eq!(got.last(), Some(&Err(want.to_owned())), "{want}");
        }
    }

    /// A frame's declared length is checked before its payload is read or
    /// any room is made for it.
    #[tokio::test]
    async fn an_oversized_header_fails_before_its_payload() {
        let mut header = vec![0x82, 0x80 | 127];
        header.extend_from_slice(&(1u64 << 40).to_be_bytes());
        header.extend_from_slice(&[0; 4]);
        let got = read_all(header, 64, 1 << 16).await;
        assert_eq!(got, vec![Err("message over 65536 bytes".to_owned())]);
    }

    /// Between messages only the fixed read buffer is held.
    #[tokio::test]
    async fn nothing_large_is_kept_after_a_large_message() {
        let (mut tx, rx) = tokio::io::duplex(1 << 20);
        let mut reader = Reader::new(rx, 256, 1 << 20);
        use tokio::io::AsyncWriteExt;
        tx.write_all(&client_frame(0x81, &[b'z'; 500_000]))
            .await
            .unwrap();
        let Some(Ok(Message::Text(t))) = reader.next().await else {
            panic!("no message")
        };
        assert_eq!(t.len(), 500_000);
        assert!(reader.frame.is_none() && reader.message.is_none());
        assert_eq!(reader.buf.len(), 256);
    }
}
