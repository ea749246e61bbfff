//! Framing: typed, versioned messages with a length prefix and a compact binary encoding.
//!
//! ```text
//! offset  size  field
//! 0       4     body_bytes  u32 LE: bytes after this field, 3 ..= FRAME_BODY_BYTES_MAX
//! 4       2     version     u16 LE: the sender's protocol version
//! 6       1     kind        u8: which message (table below)
//! 7       ..    payload     per kind; every integer LE
//!
//! kind  message         payload
//! 0x01  Hello           name_len u16, name (UTF-8)
//! 0x02  HelloAck        name_len u16, name (UTF-8)
//! 0x03  VersionRefused  supported u16, received u16
//! 0x04  Ping            nonce u64
//! 0x05  Pong            nonce u64
//! 0x06  Data            channel u16, bytes (the rest of the body)
//! 0x07  BulkHeader      channel u16, total_bytes u64
//! 0x08  Goodbye         reason_len u16, reason (UTF-8)
//! ```
//!
//! Promises: [`decode`] never panics and never allocates more than the frame bound; every
//! malformed input gets a [`DecodeError`] naming what was wrong. The layouts of `Hello`,
//! `HelloAck` and `VersionRefused` are frozen for every protocol version, so two versions
//! can always tell each other which versions they speak; any other kind from another
//! version is refused with [`DecodeError::UnsupportedVersion`].
//! `Data` and bulk bytes are opaque: this crate never interprets them.

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 1;
/// Largest frame body (after the 4-byte length), in bytes: bounds every read buffer.
pub const FRAME_BODY_BYTES_MAX: usize = 1 << 20;
/// Size of the length prefix.
pub const LENGTH_BYTES: usize = 4;
/// Size of version + kind, present in every body.
const HEADER_BYTES: usize = 3;
/// Longest node name or reason string carried.
pub const TEXT_BYTES_MAX: usize = 1024;

/// One message on a link's control stream or at the head of a bulk stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// First message of the dialling node: who it is.
    Hello {
        /// The dialling node's name.
        node_name: String,
    },
    /// The accepting node's answer to a `Hello` of the same version.
    HelloAck {
        /// The accepting node's name.
        node_name: String,
    },
    /// The answer to a `Hello` of another version; the connection closes after it.
    VersionRefused {
        /// The version the refusing node speaks.
        supported: u16,
        /// The version it received.
        received: u16,
    },
    /// Liveness probe at the application level.
    Ping {
        /// Echoed in the `Pong`.
        nonce: u64,
    },
    /// Answer to a `Ping`.
    Pong {
        /// The `Ping`'s nonce.
        nonce: u64,
    },
    /// Opaque bytes for an upper layer.
    Data {
        /// Which upper-layer channel the bytes belong to.
        channel: u16,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// First frame of a bulk stream; `total_bytes` raw bytes follow it.
    BulkHeader {
        /// Which upper-layer channel the stream belongs to.
        channel: u16,
        /// How many bytes follow.
        total_bytes: u64,
    },
    /// The sender is closing the link, and why.
    Goodbye {
        /// Why, in words.
        reason: String,
    },
}

/// A decoded frame: the sender's version and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The sender's protocol version.
    pub version: u16,
    /// The message.
    pub message: Message,
}

/// What is wrong with a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer bytes than the frame needs.
    #[error("truncated {what}: need {needed} bytes, have {available}")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The length prefix exceeds the bound.
    #[error("frame body of {bytes} bytes exceeds the bound of {max} bytes")]
    TooLarge {
        /// The declared body size.
        bytes: usize,
        /// The bound.
        max: usize,
    },
    /// The length prefix is too small to hold version and kind.
    #[error("frame body of {bytes} bytes is shorter than its 3-byte header")]
    TooShort {
        /// The declared body size.
        bytes: usize,
    },
    /// The kind byte names no message.
    #[error("unknown message kind 0x{0:02x}")]
    UnknownKind(u8),
    /// A message other than the hello exchange from another protocol version.
    #[error("message of kind 0x{kind:02x} in protocol version {theirs}; this node speaks version {ours}")]
    UnsupportedVersion {
        /// The kind byte.
        kind: u8,
        /// The frame's version.
        theirs: u16,
        /// Ours.
        ours: u16,
    },
    /// A text field is not UTF-8.
    #[error("{field} is not valid UTF-8")]
    BadUtf8 {
        /// The field.
        field: &'static str,
    },
    /// A text field exceeds [`TEXT_BYTES_MAX`].
    #[error("{field} of {bytes} bytes exceeds {max} bytes")]
    TextTooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        bytes: usize,
        /// The bound.
        max: usize,
    },
    /// Bytes left after the message's last field.
    #[error("{extra} unexpected bytes after a message of kind 0x{kind:02x}")]
    TrailingBytes {
        /// The kind byte.
        kind: u8,
        /// How many bytes were left.
        extra: usize,
    },
}

impl Message {
    /// The kind byte.
    pub fn kind(&self) -> u8 {
        match self {
            Message::Hello { .. } => 0x01,
            Message::HelloAck { .. } => 0x02,
            Message::VersionRefused { .. } => 0x03,
            Message::Ping { .. } => 0x04,
            Message::Pong { .. } => 0x05,
            Message::Data { .. } => 0x06,
            Message::BulkHeader { .. } => 0x07,
            Message::Goodbye { .. } => 0x08,
        }
    }
}

/// True for the kinds whose layout is the same in every version.
fn version_independent(kind: u8) -> bool {
    matches!(kind, 0x01..=0x03)
}

/// Encodes `message` as a whole frame (length prefix included) in `version`.
/// Text fields longer than [`TEXT_BYTES_MAX`] are cut at a character boundary; a body over
/// the bound returns its size so the caller can refuse it.
pub fn encode_with_version(message: &Message, version: u16) -> Result<Vec<u8>, usize> {
    let mut out = vec![0u8; LENGTH_BYTES];
    out.extend_from_slice(&version.to_le_bytes());
    out.push(message.kind());
    match message {
        Message::Hello { node_name } | Message::HelloAck { node_name } => put_text(&mut out, node_name),
        Message::Goodbye { reason } => put_text(&mut out, reason),
        Message::VersionRefused { supported, received } => {
            out.extend_from_slice(&supported.to_le_bytes());
            out.extend_from_slice(&received.to_le_bytes());
        }
        Message::Ping { nonce } | Message::Pong { nonce } => out.extend_from_slice(&nonce.to_le_bytes()),
        Message::Data { channel, bytes } => {
            out.extend_from_slice(&channel.to_le_bytes());
            out.extend_from_slice(bytes);
        }
        Message::BulkHeader { channel, total_bytes } => {
            out.extend_from_slice(&channel.to_le_bytes());
            out.extend_from_slice(&total_bytes.to_le_bytes());
        }
    }
    let body = out.len() - LENGTH_BYTES;
    if body > FRAME_BODY_BYTES_MAX {
        return Err(body);
    }
    let body_u32 = u32::try_from(body).map_err(|_| body)?;
    out[..LENGTH_BYTES].copy_from_slice(&body_u32.to_le_bytes());
    Ok(out)
}

/// Encodes `message` in [`PROTOCOL_VERSION`].
pub fn encode(message: &Message) -> Result<Vec<u8>, usize> {
    encode_with_version(message, PROTOCOL_VERSION)
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    let mut end = text.len().min(TEXT_BYTES_MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let len = u16::try_from(end).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&text.as_bytes()[..usize::from(len)]);
}

/// Reads the length prefix: the body size that follows, checked against the bound.
pub fn decode_length(prefix: [u8; LENGTH_BYTES]) -> Result<usize, DecodeError> {
    let bytes = usize::try_from(u32::from_le_bytes(prefix)).unwrap_or(usize::MAX);
    if bytes > FRAME_BODY_BYTES_MAX {
        return Err(DecodeError::TooLarge { bytes, max: FRAME_BODY_BYTES_MAX });
    }
    if bytes < HEADER_BYTES {
        return Err(DecodeError::TooShort { bytes });
    }
    Ok(bytes)
}

/// Decodes one whole frame; returns it and the bytes it used.
pub fn decode(input: &[u8]) -> Result<(Frame, usize), DecodeError> {
    let mut r = Reader { buf: input };
    let prefix = r.array::<LENGTH_BYTES>("length prefix")?;
    let body_bytes = decode_length(prefix)?;
    let body = r.take(body_bytes, "frame body")?;
    Ok((decode_body(body)?, LENGTH_BYTES + body_bytes))
}

/// Decodes a frame body (what follows the length prefix).
pub fn decode_body(body: &[u8]) -> Result<Frame, DecodeError> {
    let mut r = Reader { buf: body };
    let version = u16::from_le_bytes(r.array("version")?);
    let kind = r.array::<1>("kind")?[0];
    if !(0x01..=0x08).contains(&kind) {
        return Err(DecodeError::UnknownKind(kind));
    }
    if version != PROTOCOL_VERSION && !version_independent(kind) {
        return Err(DecodeError::UnsupportedVersion { kind, theirs: version, ours: PROTOCOL_VERSION });
    }
    let message = match kind {
        0x01 => Message::Hello { node_name: r.text("node name")? },
        0x02 => Message::HelloAck { node_name: r.text("node name")? },
        0x03 => {
            Message::VersionRefused { supported: r.u16("supported version")?, received: r.u16("received version")? }
        }
        0x04 => Message::Ping { nonce: r.u64("nonce")? },
        0x05 => Message::Pong { nonce: r.u64("nonce")? },
        0x06 => {
            let channel = r.u16("channel")?;
            Message::Data { channel, bytes: std::mem::take(&mut r.buf).to_vec() }
        }
        0x07 => Message::BulkHeader { channel: r.u16("channel")?, total_bytes: r.u64("total bytes")? },
        _ => Message::Goodbye { reason: r.text("reason")? },
    };
    if !r.buf.is_empty() {
        return Err(DecodeError::TrailingBytes { kind, extra: r.buf.len() });
    }
    Ok(Frame { version, message })
}

/// A cursor over untrusted bytes; every read is bounds-checked.
struct Reader<'a> {
    /// What is left to read.
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Truncated { what, needed: n, available: self.buf.len() });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn text(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let len = usize::from(self.u16(field)?);
        if len > TEXT_BYTES_MAX {
            return Err(DecodeError::TextTooLong { field, bytes: len, max: TEXT_BYTES_MAX });
        }
        let bytes = self.take(len, field)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::BadUtf8 { field })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn message() -> impl Strategy<Value = Message> {
        prop_oneof![
            "[a-z_.0-9-]{0,64}".prop_map(|node_name| Message::Hello { node_name }),
            "\\PC{0,40}".prop_map(|node_name| Message::HelloAck { node_name }),
            (any::<u16>(), any::<u16>())
                .prop_map(|(supported, received)| Message::VersionRefused { supported, received }),
            any::<u64>().prop_map(|nonce| Message::Ping { nonce }),
            any::<u64>().prop_map(|nonce| Message::Pong { nonce }),
            (any::<u16>(), proptest::collection::vec(any::<u8>(), 0..2048))
                .prop_map(|(channel, bytes)| Message::Data { channel, bytes }),
            (any::<u16>(), any::<u64>())
                .prop_map(|(channel, total_bytes)| Message::BulkHeader { channel, total_bytes }),
            "\\PC{0,80}".prop_map(|reason| Message::Goodbye { reason }),
        ]
    }

    proptest! {
        #[test]
        fn messages_round_trip(m in message()) {
            let bytes = encode(&m).unwrap();
            let (frame, used) = decode(&bytes).unwrap();
            prop_assert_eq!(used, bytes.len());
            prop_assert_eq!(frame, Frame { version: PROTOCOL_VERSION, message: m });
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_errors_name_the_fault(input in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Err(e) = decode(&input) {
                prop_assert!(!e.to_string().is_empty());
            }
        }

        #[test]
        fn every_truncation_of_a_valid_frame_is_an_error(m in message(), cut in any::<prop::sample::Index>()) {
            let bytes = encode(&m).unwrap();
            let cut = cut.index(bytes.len());
            let err = decode(&bytes[..cut]).unwrap_err();
            let is_truncated = matches!(err, DecodeError::Truncated { .. });
            prop_assert!(is_truncated, "{}", err);
        }

        #[test]
        fn mutated_frames_never_panic(m in message(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut bytes = encode(&m).unwrap();
            let at = at.index(bytes.len());
            bytes[at] = byte;
            let _ = decode(&bytes);
        }
    }

    #[test]
    fn a_huge_length_prefix_is_refused_before_reading() {
        let err = decode(&[0xff, 0xff, 0xff, 0x7f]).unwrap_err();
        assert_eq!(err, DecodeError::TooLarge { bytes: 0x7fff_ffff, max: FRAME_BODY_BYTES_MAX });
        assert!(err.to_string().contains("exceeds the bound"), "{err}");
    }

    #[test]
    fn another_version_can_still_say_hello_but_nothing_else() {
        let hello = encode_with_version(&Message::Hello { node_name: "n".into() }, 9).unwrap();
        assert_eq!(decode(&hello).unwrap().0.version, 9);
        let ping = encode_with_version(&Message::Ping { nonce: 1 }, 9).unwrap();
        let err = decode(&ping).unwrap_err();
        assert_eq!(err.to_string(), "message of kind 0x04 in protocol version 9; this node speaks version 1");
    }

    #[test]
    fn unknown_kinds_bad_text_and_trailing_bytes_are_named() {
        assert_eq!(decode(&[3, 0, 0, 0, 1, 0, 0x09]).unwrap_err(), DecodeError::UnknownKind(9));
        let short = decode(&[5, 0, 0, 0, 1, 0, 1, 0]).unwrap_err();
        assert!(short.to_string().starts_with("truncated frame body"), "{short}");
        let bad = [6, 0, 0, 0, 1, 0, 1, 1, 0, 0xff];
        assert_eq!(decode(&bad).unwrap_err(), DecodeError::BadUtf8 { field: "node name" });
        let trailing = [12, 0, 0, 0, 1, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 7];
        assert_eq!(decode(&trailing).unwrap_err(), DecodeError::TrailingBytes { kind: 4, extra: 1 });
    }

    #[test]
    fn an_oversized_message_is_refused_at_encode() {
        let m = Message::Data { channel: 0, bytes: vec![0; FRAME_BODY_BYTES_MAX] };
        assert_eq!(encode(&m), Err(FRAME_BODY_BYTES_MAX + 5));
    }
}
