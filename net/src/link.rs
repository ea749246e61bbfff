//! A link: one authenticated QUIC connection to a peer node, with an ordered control stream
//! for small framed messages and separate unidirectional streams for bulk transfers.
//!
//! Promises: a malformed frame closes the whole connection with [`CLOSE_MALFORMED`] and a
//! reason naming the fault; each bulk stream has its own QUIC flow-control window, so a
//! snapshot in flight never blocks control messages; at most [`BULK_STREAMS_MAX`] bulk
//! streams are open per direction at once (QUIC stream credit enforces it).

use std::net::SocketAddr;

use quinn::{Connection, RecvStream, SendStream, VarInt};

use crate::error::Error;
use crate::frame::{self, decode_body, decode_length, DecodeError, Frame, Message, LENGTH_BYTES};

/// Bulk streams one side may have open towards the other at once.
pub const BULK_STREAMS_MAX: u32 = 8;
/// Application close code: normal close.
pub const CLOSE_NORMAL: u32 = 0;
/// Application close code: the peer sent a malformed frame.
pub const CLOSE_MALFORMED: u32 = 1;
/// Application close code: protocol versions differ.
pub const CLOSE_VERSION: u32 = 2;
/// Application close code: a well-formed but out-of-place message.
pub const CLOSE_PROTOCOL: u32 = 3;

/// One authenticated connection to a named peer.
#[derive(Debug)]
pub struct Link {
    /// The QUIC connection.
    conn: Connection,
    /// The peer's verified node name.
    peer_name: String,
    /// Our side of the control stream.
    send: SendStream,
    /// The peer's side of the control stream.
    recv: RecvStream,
}

/// Writes one message as a frame on `send`.
pub(crate) async fn write_message(send: &mut SendStream, addr: SocketAddr, message: &Message) -> Result<(), Error> {
    write_message_in(send, addr, message, frame::PROTOCOL_VERSION).await
}

/// Writes one message as a frame of protocol `version`.
pub(crate) async fn write_message_in(
    send: &mut SendStream,
    addr: SocketAddr,
    message: &Message,
    version: u16,
) -> Result<(), Error> {
    let bytes = frame::encode_with_version(message, version)
        .map_err(|bytes| Error::TooLarge { bytes, max: frame::FRAME_BODY_BYTES_MAX })?;
    send.write_all(&bytes).await.map_err(|source| Error::Write { addr, source })
}

/// Reads one frame from `recv`; a malformed one closes `conn`.
pub(crate) async fn read_frame(conn: &Connection, recv: &mut RecvStream) -> Result<Frame, Error> {
    let addr = conn.remote_address();
    let mut prefix = [0u8; LENGTH_BYTES];
    read_exact(conn, recv, &mut prefix, "length prefix").await?;
    let body_bytes = decode_length(prefix).map_err(|e| malformed(conn, e))?;
    let mut body = vec![0u8; body_bytes];
    read_exact(conn, recv, &mut body, "frame body").await?;
    decode_body(&body).map_err(|e| malformed(conn, e)).inspect_err(|e| tracing::warn!(%addr, "{e}"))
}

async fn read_exact(conn: &Connection, recv: &mut RecvStream, buf: &mut [u8], what: &'static str) -> Result<(), Error> {
    let addr = conn.remote_address();
    match recv.read_exact(buf).await {
        Ok(()) => Ok(()),
        Err(quinn::ReadExactError::FinishedEarly(got)) => {
            Err(malformed(conn, DecodeError::Truncated { what, needed: buf.len(), available: got }))
        }
        Err(quinn::ReadExactError::ReadError(source)) => Err(Error::Read { addr, source }),
    }
}

/// Closes `conn` naming the fault, and returns the error for the caller.
fn malformed(conn: &Connection, source: DecodeError) -> Error {
    let reason = source.to_string();
    conn.close(VarInt::from_u32(CLOSE_MALFORMED), reason.as_bytes());
    Error::Decode { addr: conn.remote_address(), source }
}

/// Closes `conn` because of an out-of-place message.
pub(crate) fn violation(conn: &Connection, what: String) -> Error {
    conn.close(VarInt::from_u32(CLOSE_PROTOCOL), what.as_bytes());
    Error::Protocol { addr: conn.remote_address(), what }
}

impl Link {
    pub(crate) fn new(conn: Connection, peer_name: String, send: SendStream, recv: RecvStream) -> Self {
        Self { conn, peer_name, send, recv }
    }

    /// The peer's node name, proven by its certificate.
    pub fn peer_name(&self) -> &str {
        &self.peer_name
    }

    /// The peer's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.conn.remote_address()
    }

    /// The current round-trip estimate of the QUIC path.
    pub fn rtt(&self) -> std::time::Duration {
        self.conn.rtt()
    }

    /// Sends one message on the control stream.
    pub async fn send(&mut self, message: &Message) -> Result<(), Error> {
        write_message(&mut self.send, self.conn.remote_address(), message).await
    }

    /// Receives the next control message. Hello messages after the handshake are a
    /// protocol violation and close the connection.
    pub async fn recv(&mut self) -> Result<Message, Error> {
        let frame = read_frame(&self.conn, &mut self.recv).await?;
        control_message(&self.conn, frame)
    }

    /// Writes raw bytes on the control stream: for tests of the peer's decoder only.
    #[doc(hidden)]
    pub async fn send_raw_for_tests(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let addr = self.conn.remote_address();
        self.send.write_all(bytes).await.map_err(|source| Error::Write { addr, source })
    }

    /// Opens a bulk stream of `total_bytes` bytes for `channel`.
    pub async fn open_bulk(&self, channel: u16, total_bytes: u64) -> Result<BulkSender, Error> {
        let addr = self.conn.remote_address();
        let mut send = self.conn.open_uni().await.map_err(|source| Error::Connection { addr, source })?;
        write_message(&mut send, addr, &Message::BulkHeader { channel, total_bytes }).await?;
        Ok(BulkSender { send, addr, remaining: total_bytes })
    }

    /// Waits for the peer's next bulk stream.
    pub async fn accept_bulk(&self) -> Result<BulkReceiver, Error> {
        let addr = self.conn.remote_address();
        let mut recv = self.conn.accept_uni().await.map_err(|source| Error::Connection { addr, source })?;
        match read_frame(&self.conn, &mut recv).await?.message {
            Message::BulkHeader { channel, total_bytes } => {
                Ok(BulkReceiver { recv, conn: self.conn.clone(), channel, remaining: total_bytes })
            }
            other => {
                Err(violation(&self.conn, format!("bulk stream opened with a message of kind 0x{:02x}", other.kind())))
            }
        }
    }

    /// Resolves when the connection ends (idle timeout, close, reset) with the reason.
    pub async fn closed(&self) -> Error {
        Error::Connection { addr: self.conn.remote_address(), source: self.conn.closed().await }
    }

    /// Splits the link into its sending and receiving halves, so one task can wait for the
    /// next message while another sends (each half's calls are not cancel-safe on their own).
    pub fn split(self) -> (LinkSender, LinkReceiver) {
        let Link { conn, peer_name, send, recv } = self;
        (LinkSender { conn: conn.clone(), send }, LinkReceiver { conn, peer_name, recv })
    }

    /// Closes the link, telling the peer why.
    pub async fn close(mut self, reason: &str) {
        let _ = self.send(&Message::Goodbye { reason: reason.to_owned() }).await;
        let _ = self.send.finish();
        self.conn.close(VarInt::from_u32(CLOSE_NORMAL), reason.as_bytes());
    }
}

/// The sending end of one bulk stream.
#[derive(Debug)]
pub struct BulkSender {
    /// The QUIC stream.
    send: SendStream,
    /// The peer's address.
    addr: SocketAddr,
    /// Bytes still promised by the header.
    remaining: u64,
}

impl BulkSender {
    /// Writes the next bytes; waits while the peer's flow-control window is full.
    pub async fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let n = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if n > self.remaining {
            return Err(Error::TooLarge {
                bytes: bytes.len(),
                max: usize::try_from(self.remaining).unwrap_or(usize::MAX),
            });
        }
        self.send.write_all(bytes).await.map_err(|source| Error::Write { addr: self.addr, source })?;
        self.remaining -= n;
        Ok(())
    }

    /// Ends the stream once every promised byte is written, and waits until the peer has
    /// received them all.
    pub async fn finish(mut self) -> Result<(), Error> {
        assert_eq!(self.remaining, 0, "a bulk stream finished before its promised bytes were written");
        let _ = self.send.finish();
        let _ = self.send.stopped().await;
        Ok(())
    }
}

/// The receiving end of one bulk stream.
#[derive(Debug)]
pub struct BulkReceiver {
    /// The QUIC stream.
    recv: RecvStream,
    /// The connection, to close it on a violation.
    conn: Connection,
    /// The upper-layer channel named in the header.
    pub channel: u16,
    /// Bytes the header promised that have not arrived yet.
    remaining: u64,
}

impl BulkReceiver {
    /// Bytes still to come.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Reads the next bytes into `buf`; `Ok(0)` once every promised byte has arrived.
    /// A stream that ends early or carries more than promised closes the connection.
    pub async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let addr = self.conn.remote_address();
        let cap = usize::try_from(self.remaining).unwrap_or(usize::MAX).min(buf.len());
        if cap == 0 {
            return Ok(0);
        }
        match self.recv.read(&mut buf[..cap]).await.map_err(|source| Error::Read { addr, source })? {
            Some(n) => {
                self.remaining -= u64::try_from(n).unwrap_or(u64::MAX);
                Ok(n)
            }
            None => Err(violation(&self.conn, format!("bulk stream ended {} bytes short", self.remaining))),
        }
    }
}

/// The sending half of a [`Link`].
#[derive(Debug)]
pub struct LinkSender {
    /// The QUIC connection.
    conn: Connection,
    /// Our side of the control stream.
    send: SendStream,
}

impl LinkSender {
    /// Sends one message on the control stream.
    pub async fn send(&mut self, message: &Message) -> Result<(), Error> {
        write_message(&mut self.send, self.conn.remote_address(), message).await
    }

    /// Closes the link, telling the peer why.
    pub async fn close(mut self, reason: &str) {
        let _ = self.send(&Message::Goodbye { reason: reason.to_owned() }).await;
        let _ = self.send.finish();
        self.conn.close(VarInt::from_u32(CLOSE_NORMAL), reason.as_bytes());
    }
}

/// The receiving half of a [`Link`].
#[derive(Debug)]
pub struct LinkReceiver {
    /// The QUIC connection.
    conn: Connection,
    /// The peer's verified node name.
    peer_name: String,
    /// The peer's side of the control stream.
    recv: RecvStream,
}

impl LinkReceiver {
    /// The peer's node name, proven by its certificate.
    pub fn peer_name(&self) -> &str {
        &self.peer_name
    }

    /// The peer's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.conn.remote_address()
    }

    /// Receives the next control message, as [`Link::recv`].
    pub async fn recv(&mut self) -> Result<Message, Error> {
        let frame = read_frame(&self.conn, &mut self.recv).await?;
        control_message(&self.conn, frame)
    }
}

/// A control-stream message, or a violation for kinds that belong elsewhere.
fn control_message(conn: &Connection, frame: Frame) -> Result<Message, Error> {
    match frame.message {
        Message::Hello { .. }
        | Message::HelloAck { .. }
        | Message::VersionRefused { .. }
        | Message::BulkHeader { .. } => Err(violation(
            conn,
            format!("unexpected message of kind 0x{:02x} on the control stream", frame.message.kind()),
        )),
        message => Ok(message),
    }
}
