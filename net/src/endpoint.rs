//! A node's QUIC endpoint: dials and accepts links, runs mutual TLS and the hello exchange.
//!
//! The endpoint is built on `quinn::Endpoint::new_with_abstract_socket`, so the same code
//! runs over a real UDP socket ([`udp_socket`]) and over a simulated one (`sim::SimUdp`).
//! All timeouts are `tokio::time` timeouts and quinn's timers run on tokio's clock, so in
//! a paused-clock simulation everything runs in simulated time.
//!
//! Every refusal (not a member, other protocol version) is logged at WARN on the side that
//! sees it, in the words of [`Error`]'s display, and returned to the caller.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::{HandshakeData, QuicClientConfig, QuicServerConfig};
use quinn::{AsyncUdpSocket, ConnectionError, EndpointConfig, TransportConfig, VarInt};

use crate::error::Error;
use crate::frame::{Message, PROTOCOL_VERSION};
use crate::identity::{decode_node_name, encode_node_name, ClusterIdentity};
use crate::link::{read_frame, violation, write_message, write_message_in, Link, BULK_STREAMS_MAX, CLOSE_VERSION};
use crate::tls::{self, Claim};

/// How many ports past the configured one [`bind_udp`] tries before giving up.
pub const PORT_TRIES_MAX: u16 = 16;

/// Tunables of an endpoint.
#[derive(Debug, Clone)]
pub struct EndpointOptions {
    /// A peer silent for this long is declared unreachable and its link closed; detection
    /// takes at most this plus two keep-alive intervals.
    pub idle_timeout_ms: u64,
    /// Keep-alive interval; must be well under the idle timeout.
    pub keep_alive_ms: u64,
    /// Limit on the hello exchange after the TLS handshake.
    pub hello_timeout_ms: u64,
    /// Flow-control window of one stream, in bytes (bounds a bulk stream's buffering).
    pub stream_window_bytes: u32,
}

impl Default for EndpointOptions {
    fn default() -> Self {
        Self { idle_timeout_ms: 5_000, keep_alive_ms: 1_000, hello_timeout_ms: 5_000, stream_window_bytes: 4 << 20 }
    }
}

/// A node's endpoint in the cluster.
#[derive(Debug, Clone)]
pub struct NodeEndpoint {
    /// The QUIC endpoint.
    endpoint: quinn::Endpoint,
    /// Who we are and whom we trust.
    identity: Arc<ClusterIdentity>,
    /// Transport tunables, shared by both directions.
    transport: Arc<TransportConfig>,
    /// Tunables.
    options: EndpointOptions,
}

/// Binds a UDP socket on `ip`, starting at `port` and moving to the next port while one
/// is taken (at most [`PORT_TRIES_MAX`] tries); port 0 picks any free port. Logs the port
/// taken when it is not the one asked for.
pub fn bind_udp(ip: IpAddr, port: u16) -> Result<std::net::UdpSocket, Error> {
    if port == 0 {
        return Ok(std::net::UdpSocket::bind((ip, 0))?);
    }
    let last = port.saturating_add(PORT_TRIES_MAX - 1);
    for candidate in port..=last {
        match std::net::UdpSocket::bind((ip, candidate)) {
            Ok(socket) => {
                if candidate != port {
                    tracing::warn!("cluster port {port} is taken on {ip}; this node took port {candidate}");
                }
                return Ok(socket);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(Error::Io(e)),
        }
    }
    Err(Error::NoFreePort { ip, first: port, last })
}

/// Wraps a real UDP socket for [`NodeEndpoint::new`]. Needs a tokio runtime.
pub fn udp_socket(socket: std::net::UdpSocket) -> Result<Arc<dyn AsyncUdpSocket>, Error> {
    use quinn::Runtime;
    Ok(quinn::TokioRuntime.wrap_udp_socket(socket)?)
}

fn transport_config(options: &EndpointOptions) -> Result<TransportConfig, Error> {
    let idle = VarInt::from_u64(options.idle_timeout_ms)
        .map_err(|_| Error::Identity(format!("idle timeout {} ms is too large", options.idle_timeout_ms)))?;
    let mut t = TransportConfig::default();
    t.max_idle_timeout(Some(idle.into()));
    t.keep_alive_interval(Some(Duration::from_millis(options.keep_alive_ms)));
    // One control stream, opened by the dialler; bulk streams are unidirectional.
    t.max_concurrent_bidi_streams(VarInt::from_u32(1));
    t.max_concurrent_uni_streams(VarInt::from_u32(BULK_STREAMS_MAX));
    t.stream_receive_window(VarInt::from_u32(options.stream_window_bytes));
    t.receive_window(VarInt::from_u32(options.stream_window_bytes.saturating_mul(2)));
    t.send_window(u64::from(options.stream_window_bytes) * 2);
    // MTU discovery searches up to the largest UDP payload: on loopback and jumbo-frame
    // networks bulk streams then need far fewer packets (and encryptions); on a 1500-byte
    // path the failed probes cost nothing and the size stays at what the path carries.
    let mut mtu = quinn::MtuDiscoveryConfig::default();
    mtu.upper_bound(u16::MAX);
    t.mtu_discovery_config(Some(mtu));
    Ok(t)
}

/// True when a handshake failed on certificates: one side is not in the other's cluster.
fn is_auth_failure(e: &ConnectionError) -> bool {
    let crypto = |code: u64| (0x100..0x200).contains(&code);
    match e {
        ConnectionError::TransportError(t) => crypto(u64::from(t.code)),
        ConnectionError::ConnectionClosed(c) => crypto(u64::from(c.error_code)),
        _ => false,
    }
}

impl NodeEndpoint {
    /// An endpoint on `socket` that both dials and accepts.
    pub fn new(
        identity: ClusterIdentity,
        options: EndpointOptions,
        socket: Arc<dyn AsyncUdpSocket>,
    ) -> Result<Self, Error> {
        let identity = Arc::new(identity);
        let transport = Arc::new(transport_config(&options)?);
        let mut this = Self {
            endpoint: quinn::Endpoint::new_with_abstract_socket(
                EndpointConfig::default(),
                None,
                socket,
                Arc::new(quinn::TokioRuntime),
            )?,
            identity,
            transport,
            options,
        };
        let server = this.server_config(Claim::default())?;
        this.endpoint.set_server_config(Some(server));
        this.endpoint.set_default_client_config(this.client_config(Claim::default())?);
        Ok(this)
    }

    /// The address the endpoint listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        Ok(self.endpoint.local_addr()?)
    }

    /// This node's name.
    pub fn node_name(&self) -> &str {
        &self.identity.node_name
    }

    /// The cluster's name.
    pub fn cluster_name(&self) -> &str {
        &self.identity.cluster_name
    }

    fn server_config(&self, claim: Claim) -> Result<quinn::ServerConfig, Error> {
        let crypto = QuicServerConfig::try_from(tls::server_config(&self.identity, claim)?)
            .map_err(|e| Error::Identity(format!("QUIC server crypto: {e}")))?;
        let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
        config.transport_config(self.transport.clone());
        Ok(config)
    }

    fn client_config(&self, claim: Claim) -> Result<quinn::ClientConfig, Error> {
        let crypto = QuicClientConfig::try_from(tls::client_config(&self.identity, claim)?)
            .map_err(|e| Error::Identity(format!("QUIC client crypto: {e}")))?;
        let mut config = quinn::ClientConfig::new(Arc::new(crypto));
        config.transport_config(self.transport.clone());
        Ok(config)
    }

    fn refused(&self, peer: String, addr: SocketAddr) -> Error {
        let e = Error::NotAMember { peer, addr, cluster: self.identity.cluster_name.clone() };
        tracing::warn!("{e}");
        e
    }

    fn hello_timeout(&self) -> Error {
        Error::Timeout { what: "the hello exchange", timeout_ms: self.options.hello_timeout_ms }
    }

    /// Dials `addr`, authenticates both ways and exchanges hellos.
    pub async fn connect(&self, addr: SocketAddr) -> Result<Link, Error> {
        self.connect_speaking(addr, PROTOCOL_VERSION).await
    }

    /// [`Self::connect`], saying hello in another protocol `version`: for tests of the
    /// version refusal (a rolling upgrade) only.
    #[doc(hidden)]
    pub async fn connect_speaking(&self, addr: SocketAddr, version: u16) -> Result<Link, Error> {
        let claim = Claim::default();
        let config = self.client_config(claim.clone())?;
        // The SNI carries our own (encoded) name so that a node refusing us can say whom it
        // refused even when we abort first; nodes are dialled by address, not by name.
        let sni = encode_node_name(&self.identity.node_name);
        let connecting =
            self.endpoint.connect_with(config, addr, &sni).map_err(|source| Error::Connect { addr, source })?;
        let conn = match connecting.await {
            Ok(conn) => conn,
            Err(e) if is_auth_failure(&e) => return Err(self.refused(claim.name_or_unknown(), addr)),
            Err(source) => return Err(Error::Connection { addr, source }),
        };
        let limit = Duration::from_millis(self.options.hello_timeout_ms);
        let exchange = async {
            let (mut send, mut recv) = conn.open_bi().await.map_err(|source| Error::Connection { addr, source })?;
            let hello = Message::Hello { node_name: self.identity.node_name.clone() };
            write_message_in(&mut send, addr, &hello, version).await?;
            let frame = read_frame(&conn, &mut recv).await?;
            Ok::<_, Error>((send, recv, frame))
        };
        let (send, recv, frame) = tokio::time::timeout(limit, exchange).await.map_err(|_| self.hello_timeout())??;
        let peer = claim.name_or_unknown();
        match frame.message {
            Message::HelloAck { .. } if frame.version == PROTOCOL_VERSION => Ok(Link::new(conn, peer, send, recv)),
            Message::VersionRefused { supported, received } => {
                let e = Error::VersionMismatch { peer, addr, ours: received, theirs: supported };
                tracing::warn!("{e}");
                conn.close(VarInt::from_u32(CLOSE_VERSION), e.to_string().as_bytes());
                Err(e)
            }
            other => Err(violation(
                &conn,
                format!("expected a hello answer, got kind 0x{:02x} in version {}", other.kind(), frame.version),
            )),
        }
    }

    /// Waits for the next incoming connection and authenticates it. `None` once the
    /// endpoint is closed. A refused peer yields `Some(Err(..))`; keep accepting.
    pub async fn accept(&self) -> Option<Result<Link, Error>> {
        let incoming = self.endpoint.accept().await?;
        Some(self.accept_incoming(incoming).await)
    }

    async fn accept_incoming(&self, incoming: quinn::Incoming) -> Result<Link, Error> {
        let addr = incoming.remote_address();
        let claim = Claim::default();
        let mut connecting = incoming
            .accept_with(Arc::new(self.server_config(claim.clone())?))
            .map_err(|source| Error::Connection { addr, source })?;
        let sni_name = match connecting.handshake_data().await {
            Ok(data) => {
                data.downcast::<HandshakeData>().ok().and_then(|d| d.server_name).and_then(|s| decode_node_name(&s))
            }
            Err(_) => None,
        };
        let conn = match connecting.await {
            Ok(conn) => conn,
            Err(e) if is_auth_failure(&e) => {
                let peer = claim.name_or_unknown();
                let peer = if peer == "unknown" { sni_name.unwrap_or(peer) } else { peer };
                return Err(self.refused(peer, addr));
            }
            Err(source) => return Err(Error::Connection { addr, source }),
        };
        let peer = claim.name_or_unknown();
        let limit = Duration::from_millis(self.options.hello_timeout_ms);
        let exchange = async {
            let (send, mut recv) = conn.accept_bi().await.map_err(|source| Error::Connection { addr, source })?;
            let frame = read_frame(&conn, &mut recv).await?;
            Ok::<_, Error>((send, recv, frame))
        };
        let (mut send, recv, frame) =
            tokio::time::timeout(limit, exchange).await.map_err(|_| self.hello_timeout())??;
        match frame.message {
            Message::Hello { .. } if frame.version == PROTOCOL_VERSION => {
                write_message(&mut send, addr, &Message::HelloAck { node_name: self.identity.node_name.clone() })
                    .await?;
                Ok(Link::new(conn, peer, send, recv))
            }
            Message::Hello { .. } => {
                let e = Error::VersionMismatch { peer, addr, ours: PROTOCOL_VERSION, theirs: frame.version };
                tracing::warn!("{e}");
                let refusal = Message::VersionRefused { supported: PROTOCOL_VERSION, received: frame.version };
                let _ = write_message(&mut send, addr, &refusal).await;
                let _ = send.finish();
                // Closing at once could drop the refusal; the peer closes after reading it,
                // and the idle timeout bounds how long we wait.
                let _ = tokio::time::timeout(limit, conn.closed()).await;
                Err(e)
            }
            other => Err(violation(&conn, format!("expected a hello, got kind 0x{:02x}", other.kind()))),
        }
    }

    /// Stops accepting and closes every link.
    pub fn close(&self) {
        self.endpoint.close(VarInt::from_u32(0), b"node stopping");
    }

    /// Waits until every connection has been closed.
    pub async fn wait_idle(&self) {
        self.endpoint.wait_idle().await;
    }
}
