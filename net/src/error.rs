//! The crate's one error type: each variant is something a caller can act on.

use std::io;
use std::net::SocketAddr;

use crate::frame::DecodeError;

/// Everything that can go wrong moving bytes between nodes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The cluster identity could not be built (bad name, short secret, bad certificate).
    #[error("cluster identity: {0}")]
    Identity(String),
    /// TLS configuration failed.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The peer failed mutual authentication, or refused ours: it is not in our cluster.
    #[error("refused node {peer} at {addr}: not a member of cluster {cluster}")]
    NotAMember {
        /// The name the peer claimed (unverified), or `unknown`.
        peer: String,
        /// The peer's address.
        addr: SocketAddr,
        /// Our cluster's name.
        cluster: String,
    },
    /// The peer speaks another protocol version.
    #[error("refused node {peer} at {addr}: it speaks protocol version {theirs}, this node speaks version {ours}")]
    VersionMismatch {
        /// The peer's node name.
        peer: String,
        /// The peer's address.
        addr: SocketAddr,
        /// Our protocol version.
        ours: u16,
        /// The peer's protocol version.
        theirs: u16,
    },
    /// A frame from the peer was malformed; the connection has been closed.
    #[error("malformed frame from {addr}: {source}; connection closed")]
    Decode {
        /// The peer's address.
        addr: SocketAddr,
        /// What was wrong.
        source: DecodeError,
    },
    /// The peer sent a well-formed message that makes no sense at this point.
    #[error("protocol violation by {addr}: {what}; connection closed")]
    Protocol {
        /// The peer's address.
        addr: SocketAddr,
        /// What it did.
        what: String,
    },
    /// A message to send is larger than the frame bound.
    #[error("message of {bytes} bytes exceeds the frame bound of {max} bytes")]
    TooLarge {
        /// The encoded size.
        bytes: usize,
        /// The bound.
        max: usize,
    },
    /// Starting a connection failed (bad address, endpoint stopping).
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The address dialled.
        addr: SocketAddr,
        /// Why.
        source: quinn::ConnectError,
    },
    /// The connection was lost or closed (idle timeout, peer closed, reset).
    #[error("connection to {addr} lost: {source}")]
    Connection {
        /// The peer's address.
        addr: SocketAddr,
        /// Why.
        source: quinn::ConnectionError,
    },
    /// A stream failed while writing.
    #[error("writing to {addr}: {source}")]
    Write {
        /// The peer's address.
        addr: SocketAddr,
        /// Why.
        source: quinn::WriteError,
    },
    /// A stream failed while reading.
    #[error("reading from {addr}: {source}")]
    Read {
        /// The peer's address.
        addr: SocketAddr,
        /// Why.
        source: quinn::ReadError,
    },
    /// A step did not finish in time.
    #[error("{what} did not finish within {timeout_ms} ms")]
    Timeout {
        /// The step.
        what: &'static str,
        /// The limit.
        timeout_ms: u64,
    },
    /// Every port in the fallback range was taken.
    #[error("no free port in {first}..={last} on {ip}")]
    NoFreePort {
        /// The address bound.
        ip: std::net::IpAddr,
        /// The first port tried.
        first: u16,
        /// The last port tried.
        last: u16,
    },
    /// The endpoint was closed.
    #[error("the endpoint is closed")]
    EndpointClosed,
    /// A socket operation failed.
    #[error("socket: {0}")]
    Io(#[from] io::Error),
}
