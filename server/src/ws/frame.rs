//! RFC 6455 frame headers, both directions, as pure functions: what the
//! reader checks about a client's frame before it reads the payload, and
//! the header the writer puts before a server frame.

/// A frame's opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    /// The next fragment of a message.
    Continuation,
    /// A text message (or its first fragment).
    Text,
    /// A binary message (or its first fragment).
    Binary,
    /// Close.
    Close,
    /// Ping.
    Ping,
    /// Pong.
    Pong,
}

impl OpCode {
    fn from_bits(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Close, Ping and Pong: at most 125 bytes, never fragmented.
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// A client frame's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Last fragment of its message.
    pub fin: bool,
    /// What the frame carries.
    pub opcode: OpCode,
    /// The masking key (client frames are always masked).
    pub mask: [u8; 4],
    /// Payload length.
    pub len: u64,
}

/// A header that breaks the protocol (answered with close 1002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// RSV1-3 set: no extension was negotiated.
    #[error("reserved bits set")]
    Reserved,
    /// An opcode RFC 6455 does not define.
    #[error("unknown opcode")]
    UnknownOpCode,
    /// Clients must mask every frame.
    #[error("unmasked client frame")]
    Unmasked,
    /// A control frame that is fragmented or longer than 125 bytes.
    #[error("invalid control frame")]
    BadControl,
    /// A 64-bit length with the most significant bit set.
    #[error("invalid length")]
    BadLength,
}

/// The longest header: 2 bytes, 8 of extended length, 4 of mask.
pub const MAX_HEADER: usize = 14;

/// Reads a client frame header from the start of `buf`: `Ok(None)` when
/// `buf` does not hold all of it yet, else the header and its length in
/// bytes.
pub fn parse_header(buf: &[u8]) -> Result<Option<(Header, usize)>, HeaderError> {
    let [b0, b1, rest @ ..] = buf else {
        return Ok(None);
    };
    if b0 & 0x70 != 0 {
        return Err(HeaderError::Reserved);
    }
    let fin = b0 & 0x80 != 0;
    let opcode = OpCode::from_bits(b0 & 0x0F).ok_or(HeaderError::UnknownOpCode)?;
    if b1 & 0x80 == 0 {
        return Err(HeaderError::Unmasked);
    }
    let (len, ext) = match b1 & 0x7F {
        126 => match rest {
            [a, b, ..] => (u64::from(u16::from_be_bytes([*a, *b])), 2),
            _ => return Ok(None),
        },
        127 => match rest.first_chunk::<8>() {
            Some(bytes) => (u64::from_be_bytes(*bytes), 8),
            None => return Ok(None),
        },
        n => (u64::from(n), 0),
    };
    if len >> 63 != 0 {
        return Err(HeaderError::BadLength);
    }
    if opcode.is_control() && (!fin || len > 125) {
        return Err(HeaderError::BadControl);
    }
    let Some(mask) = rest.get(ext..ext + 4) else {
        return Ok(None);
    };
    let mask = [mask[0], mask[1], mask[2], mask[3]];
    Ok(Some((
        Header {
            fin,
            opcode,
            mask,
            len,
        },
        2 + ext + 4,
    )))
}

/// Unmasks `payload`, whose first byte is byte `offset` of the frame's
/// payload (a payload arrives in pieces).
pub fn unmask(payload: &mut [u8], mask: [u8; 4], offset: u64) {
    let shift = (offset % 4) as usize;
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= mask[(shift + i) % 4];
    }
}

/// Appends the header of an unmasked, unfragmented server frame carrying
/// `len` payload bytes.
pub fn write_header(out: &mut Vec<u8>, opcode: OpCode, len: usize) {
    out.push(0x80 | opcode.bits());
    match len {
        0..=125 => out.push(len as u8),
        126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
}

/// A close frame's payload, read: `None` for an empty one.
pub type ClosePayload = Option<(u16, String)>;

/// Why a close payload is invalid (answered with close 1002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CloseError {
    /// One byte: a code needs two.
    #[error("truncated close code")]
    Truncated,
    /// A code no endpoint may send (RFC 6455, 7.4).
    #[error("invalid close code")]
    BadCode,
    /// A reason that is not UTF-8.
    #[error("close reason is not UTF-8")]
    BadReason,
}

/// Reads a close frame's payload: empty, or a code and a UTF-8 reason.
pub fn parse_close(payload: &[u8]) -> Result<ClosePayload, CloseError> {
    match payload {
        [] => Ok(None),
        [_] => Err(CloseError::Truncated),
        [a, b, reason @ ..] => {
            let code = u16::from_be_bytes([*a, *b]);
            if !sendable_close_code(code) {
                return Err(CloseError::BadCode);
            }
            let reason = std::str::from_utf8(reason).map_err(|_| CloseError::BadReason)?;
            Ok(Some((code, reason.to_owned())))
        }
    }
}

/// Codes a peer may put in a close frame: the defined 1000-1003 and
/// 1007-1014, and the registered and private ranges 3000-4999 (1004-1006
/// and 1015 are reserved for reporting, never sent).
pub fn sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The payload of a close frame the server sends: the code and the reason,
/// cut to fit in a control frame (125 bytes) at a character boundary.
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = Vec::with_capacity(2 + end);
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(&reason.as_bytes()[..end]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(b0: u8, len_bytes: &[u8]) -> Vec<u8> {
        let mut v = vec![b0];
        v.extend_from_slice(len_bytes);
        v[1] |= 0x80;
        v.extend_from_slice(&[1, 2, 3, 4]);
        v
    }

    #[test]
    fn headers_parse_in_all_three_length_forms() {
        let h = masked(0x81, &[5]);
        let (header, used) = parse_header(&h).unwrap().unwrap();
        assert_eq!(used, 6);
        assert_eq!(
            header,
            Header {
                fin: true,
                opcode: OpCode::Text,
                mask: [1, 2, 3, 4],
                len: 5
            }
        );
        let h = masked(0x02, &[126, 0x01, 0x00]);
        let (header, used) = parse_header(&h).unwrap().unwrap();
        assert_eq!(
            (header.fin, header.opcode, header.len, used),
            (false, OpCode::Binary, 256, 8)
        );
        let h = masked(0x80, &[127, 0, 0, 0, 0, 0, 1, 0, 0]);
        let (header, used) = parse_header(&h).unwrap().unwrap();
        assert_eq!(
            (header.opcode, header.len, used),
            (OpCode::Continuation, 65536, 14)
        );
    }

    #[test]
    fn partial_headers_ask_for_more() {
        let h = masked(0x81, &[127, 0, 0, 0, 0, 0, 1, 0, 0]);
        for n in 0..h.len() {
            assert_eq!(parse_header(&h[..n]), Ok(None), "{n} bytes");
        }
    }

    #[test]
    fn protocol_violations_are_errors() {
        use HeaderError::*;
        let cases: [(&[u8], HeaderError); 6] = [
            (&[0xC1, 0x85], Reserved),
            (&[0x83, 0x85], UnknownOpCode),
            (&[0x81, 0x05], Unmasked),
            (&[0x09, 0x80], BadControl),
            (&[0x89, 0xFE, 0, 126], BadControl),
            (&[0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0], BadLength),
        ];
        for (bytes, want) in cases {
            assert_eq!(parse_header(bytes), Err(want), "{bytes:x?}");
        }
    }

    #[test]
    fn unmask_works_in_pieces() {
        let mask = [0xA, 0xB, 0xC, 0xD];
        let plain = b"hello, world".to_vec();
        let mut whole = plain.clone();
        unmask(&mut whole, mask, 0);
        let (a, b) = whole.split_at_mut(5);
        unmask(a, mask, 0);
        unmask(b, mask, 5);
        assert_eq!(whole, plain);
    }

    #[test]
    fn server_headers() {
        for (len, want) in [
            (0, vec![0x81, 0]),
            (125, vec![0x81, 125]),
            (126, vec![0x81, 126, 0, 126]),
            (65535, vec![0x81, 126, 0xFF, 0xFF]),
            (65536, vec![0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
        ] {
            let mut out = Vec::new();
            write_header(&mut out, OpCode::Text, len);
            assert_eq!(out, want, "{len}");
        }
    }

    #[test]
    fn close_payloads() {
        assert_eq!(parse_close(&[]), Ok(None));
        assert_eq!(parse_close(&[3]), Err(CloseError::Truncated));
        assert_eq!(
            parse_close(&[0x03, 0xE8, b'o', b'k']),
            Ok(Some((1000, "ok".into())))
        );
        for bad in [0u16, 999, 1004, 1005, 1006, 1015, 2999, 5000] {
            let p = bad.to_be_bytes();
            assert_eq!(parse_close(&p), Err(CloseError::BadCode), "{bad}");
        }
        assert_eq!(parse_close(&[0x03, 0xE8, 0xFF]), Err(CloseError::BadReason));
        let long = "é".repeat(100);
        let p = close_payload(4000, &long);
        assert!(p.len() <= 125);
        assert_eq!(parse_close(&p).unwrap().unwrap().1, "é".repeat(61));
    }
}
