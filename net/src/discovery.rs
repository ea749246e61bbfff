//! Discovery: how a node learns the addresses of its peers before any link exists.
//!
//! Two ways, chosen by the operator:
//! - **static seeds** (`--seeds host:port,...`): [`parse_seeds`] checks and resolves them;
//!   the membership driver dials each one.
//! - **UDP multicast** (default group [`DEFAULT_GROUP`], port [`DEFAULT_PORT`]): every node
//!   sends an [`Announcement`] of its cluster name, node name and cluster port every
//!   [`MulticastOptions::interval_ms`], and listens for the others' ([`run_multicast`]).
//!
//! An announcement only ever makes a node *dial* an address; the TLS handshake then proves
//! membership. Still, announcements are authenticated so an outsider cannot make members
//! dial where it likes: each carries an HMAC-SHA256 tag under a key derived from the cluster
//! name and secret ([`crate::identity::DISCOVERY_KEY_INFO`]), and a wall-clock timestamp.
//! [`ReplayGuard`] accepts an announcement only if its timestamp is within
//! [`ANNOUNCE_WINDOW_MS`] of the receiver's clock and later than the last one accepted from
//! the same node name, so a recorded announcement cannot be played back. Announcements of
//! another cluster are dropped silently (a LAN may host several clusters).
//!
//! ```text
//! offset  size  field
//! 0       4     magic "BSDA"
//! 4       1     format version (1)
//! 5       2+n   cluster name (u16 LE length, UTF-8)
//! ..      2+n   node name (u16 LE length, UTF-8)
//! ..      2     cluster port u16 LE
//! ..      8     timestamp, ms since the Unix epoch, u64 LE
//! ..      8     nonce u64 LE (random; makes two announcements of one millisecond differ)
//! ..      32    HMAC-SHA256 over every byte before it
//! ```
//!
//! Several nodes on one host: the multicast socket is bound with `SO_REUSEADDR`, so every
//! node on the host hears the group; the cluster port itself moves to the next free one
//! ([`crate::bind_udp`]).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, ToSocketAddrs};
use std::time::Duration;

use ring::hmac;
use tokio::sync::mpsc;

use crate::error::Error;
use crate::identity::{derive_key, DISCOVERY_KEY_INFO};

/// The default multicast group (OrientDB's Hazelcast default).
pub const DEFAULT_GROUP: Ipv4Addr = Ipv4Addr::new(235, 1, 1, 1);
/// The default multicast port.
pub const DEFAULT_PORT: u16 = 2434;
/// How far an announcement's timestamp may be from the receiver's clock.
pub const ANNOUNCE_WINDOW_MS: u64 = 30_000;
/// Largest announcement accepted, in bytes (bounds the receive buffer).
pub const ANNOUNCE_BYTES_MAX: usize = 512;
/// Most node names the replay guard remembers; the oldest is forgotten past it.
pub const REPLAY_NODES_MAX: usize = 1024;
/// Most seeds accepted.
pub const SEEDS_MAX: usize = 64;

const MAGIC: &[u8; 4] = b"BSDA";
const FORMAT_VERSION: u8 = 1;
const TAG_BYTES: usize = 32;
const NAME_BYTES_MAX: usize = 128;

/// What a node multicasts about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// The cluster it belongs to.
    pub cluster_name: String,
    /// Its node name.
    pub node_name: String,
    /// The port its QUIC endpoint listens on (the address is the packet's source).
    pub cluster_port: u16,
    /// When it was sent, ms since the Unix epoch (sender's clock).
    pub timestamp_ms: u64,
    /// Random, per announcement.
    pub nonce: u64,
}

/// Why an announcement was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnnounceError {
    /// Not an announcement at all (magic, version, lengths, UTF-8).
    #[error("not a Basalt announcement: {0}")]
    Malformed(&'static str),
    /// Another cluster's announcement.
    #[error("announcement of cluster {0}")]
    OtherCluster(String),
    /// The tag does not verify: forged, or sent with another secret.
    #[error("announcement of node {0} has a bad signature (forged, or another secret)")]
    BadTag(String),
    /// The timestamp is outside the window, or not later than the last one accepted.
    #[error("announcement of node {node} is stale or replayed (timestamp {timestamp_ms})")]
    Replayed {
        /// The node named.
        node: String,
        /// Its timestamp.
        timestamp_ms: u64,
    },
}

/// The announcements' HMAC key, derived from the cluster name and secret.
#[derive(Clone)]
pub struct AnnounceKey {
    /// The cluster whose announcements this key signs.
    cluster_name: String,
    /// The HMAC key.
    key: hmac::Key,
}

impl std::fmt::Debug for AnnounceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnnounceKey").field("cluster_name", &self.cluster_name).finish_non_exhaustive()
    }
}

impl AnnounceKey {
    /// Derives the key (HKDF, as the CA key, with another `info`).
    pub fn derive(cluster_name: &str, secret: &[u8]) -> Result<Self, Error> {
        let bytes = derive_key(cluster_name, secret, DISCOVERY_KEY_INFO)?;
        Ok(Self { cluster_name: cluster_name.to_owned(), key: hmac::Key::new(hmac::HMAC_SHA256, &bytes) })
    }

    /// Encodes and signs `a`.
    pub fn seal(&self, a: &Announcement) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.push(FORMAT_VERSION);
        put_text(&mut out, &a.cluster_name);
        put_text(&mut out, &a.node_name);
        out.extend_from_slice(&a.cluster_port.to_le_bytes());
        out.extend_from_slice(&a.timestamp_ms.to_le_bytes());
        out.extend_from_slice(&a.nonce.to_le_bytes());
        let tag = hmac::sign(&self.key, &out);
        out.extend_from_slice(tag.as_ref());
        out
    }

    /// Decodes `bytes` and checks that they are this cluster's and correctly signed (the
    /// freshness check is [`ReplayGuard::admit`]'s).
    pub fn open(&self, bytes: &[u8]) -> Result<Announcement, AnnounceError> {
        if bytes.len() > ANNOUNCE_BYTES_MAX || bytes.len() < TAG_BYTES {
            return Err(AnnounceError::Malformed("wrong size"));
        }
        let (body, tag) = bytes.split_at(bytes.len() - TAG_BYTES);
        let mut r = body;
        if take(&mut r, 4)? != MAGIC {
            return Err(AnnounceError::Malformed("bad magic"));
        }
        if take(&mut r, 1)? != [FORMAT_VERSION] {
            return Err(AnnounceError::Malformed("unknown format version"));
        }
        let cluster_name = text(&mut r)?;
        let node_name = text(&mut r)?;
        let cluster_port = u16::from_le_bytes(array(&mut r)?);
        let timestamp_ms = u64::from_le_bytes(array(&mut r)?);
        let nonce = u64::from_le_bytes(array(&mut r)?);
        if !r.is_empty() {
            return Err(AnnounceError::Malformed("trailing bytes"));
        }
        if cluster_name != self.cluster_name {
            return Err(AnnounceError::OtherCluster(cluster_name));
        }
        hmac::verify(&self.key, body, tag).map_err(|_| AnnounceError::BadTag(node_name.clone()))?;
        Ok(Announcement { cluster_name, node_name, cluster_port, timestamp_ms, nonce })
    }
}

fn put_text(out: &mut Vec<u8>, s: &str) {
    let mut end = s.len().min(NAME_BYTES_MAX);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.extend_from_slice(&u16::try_from(end).unwrap_or(0).to_le_bytes());
    out.extend_from_slice(&s.as_bytes()[..end]);
}

fn take<'a>(r: &mut &'a [u8], n: usize) -> Result<&'a [u8], AnnounceError> {
    if r.len() < n {
        return Err(AnnounceError::Malformed("truncated"));
    }
    let (head, tail) = r.split_at(n);
    *r = tail;
    Ok(head)
}

fn array<const N: usize>(r: &mut &[u8]) -> Result<[u8; N], AnnounceError> {
    let mut out = [0u8; N];
    out.copy_from_slice(take(r, N)?);
    Ok(out)
}

fn text(r: &mut &[u8]) -> Result<String, AnnounceError> {
    let len = usize::from(u16::from_le_bytes(array(r)?));
    if len > NAME_BYTES_MAX {
        return Err(AnnounceError::Malformed("name too long"));
    }
    String::from_utf8(take(r, len)?.to_vec()).map_err(|_| AnnounceError::Malformed("name is not UTF-8"))
}

/// Remembers the newest timestamp accepted per node name (at most [`REPLAY_NODES_MAX`]).
#[derive(Debug, Default)]
pub struct ReplayGuard {
    /// Node name to the newest timestamp accepted from it.
    newest: BTreeMap<String, u64>,
}

impl ReplayGuard {
    /// Accepts `a` if it is fresh at `now_ms` (wall clock) and newer than the last one from
    /// the same node.
    pub fn admit(&mut self, a: &Announcement, now_ms: u64) -> Result<(), AnnounceError> {
        let stale = a.timestamp_ms.abs_diff(now_ms) > ANNOUNCE_WINDOW_MS;
        let replayed = self.newest.get(&a.node_name).is_some_and(|&t| a.timestamp_ms <= t);
        if stale || replayed {
            return Err(AnnounceError::Replayed { node: a.node_name.clone(), timestamp_ms: a.timestamp_ms });
        }
        if self.newest.len() >= REPLAY_NODES_MAX && !self.newest.contains_key(&a.node_name) {
            // Forget the node heard from longest ago; it can only replay inside the window.
            if let Some(oldest) = self.newest.iter().min_by_key(|(_, &t)| t).map(|(n, _)| n.clone()) {
                self.newest.remove(&oldest);
            }
        }
        self.newest.insert(a.node_name.clone(), a.timestamp_ms);
        Ok(())
    }
}

/// Checks and resolves `host:port` seeds; an error names the seed that is wrong.
pub fn parse_seeds(seeds: &[String]) -> Result<Vec<SocketAddr>, String> {
    if seeds.len() > SEEDS_MAX {
        return Err(format!("{} seeds given; at most {SEEDS_MAX} are accepted", seeds.len()));
    }
    let mut out = Vec::new();
    for seed in seeds.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if seed.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok()).is_none() {
            return Err(format!("seed '{seed}' is not HOST:PORT"));
        }
        let addrs = seed.to_socket_addrs().map_err(|e| format!("seed '{seed}' does not resolve: {e}"))?;
        let first = addrs.into_iter().next().ok_or_else(|| format!("seed '{seed}' resolves to no address"))?;
        if !out.contains(&first) {
            out.push(first);
        }
    }
    Ok(out)
}

/// Where and how often to multicast.
#[derive(Debug, Clone)]
pub struct MulticastOptions {
    /// The group.
    pub group: Ipv4Addr,
    /// The UDP port of the group.
    pub port: u16,
    /// Time between two announcements.
    pub interval_ms: u64,
    /// Multicast TTL (1: this network segment only).
    pub ttl: u32,
}

impl Default for MulticastOptions {
    fn default() -> Self {
        Self { group: DEFAULT_GROUP, port: DEFAULT_PORT, interval_ms: 1_000, ttl: 1 }
    }
}

/// The group socket: bound to the group's port on every address with `SO_REUSEADDR`, so
/// every node of a host can hear the group, and joined to it. Bind it *before* the cluster
/// port: a cluster port equal to the group's port then moves to the next free one.
pub fn bind_multicast(options: &MulticastOptions) -> Result<std::net::UdpSocket, Error> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, options.port)).into())?;
    socket.join_multicast_v4(&options.group, &Ipv4Addr::UNSPECIFIED)?;
    socket.set_multicast_loop_v4(true)?;
    socket.set_multicast_ttl_v4(options.ttl)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// The wall clock in ms since the Unix epoch (announcement timestamps only; every timer
/// is tokio's).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Announces `node_name` (listening on `cluster_port`) on the group every interval, and
/// sends the cluster address of every other node heard, once per announcement, to `found`.
/// Runs until `found` is closed. Dropped announcements are logged at DEBUG (another
/// cluster) or WARN (forged, replayed).
pub async fn run_multicast(
    socket: std::net::UdpSocket,
    options: MulticastOptions,
    key: AnnounceKey,
    node_name: String,
    cluster_port: u16,
    found: mpsc::Sender<SocketAddr>,
) -> Result<(), Error> {
    let socket = tokio::net::UdpSocket::from_std(socket)?;
    let group = SocketAddr::V4(SocketAddrV4::new(options.group, options.port));
    let mut tick = tokio::time::interval(Duration::from_millis(options.interval_ms.max(1)));
    let mut guard = ReplayGuard::default();
    let mut buf = vec![0u8; ANNOUNCE_BYTES_MAX + 1];
    let mut send_failures = 0u32;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let a = Announcement {
                    cluster_name: key.cluster_name.clone(),
                    node_name: node_name.clone(),
                    cluster_port,
                    timestamp_ms: unix_ms(),
                    nonce: rand_nonce(),
                };
                if let Err(e) = socket.send_to(&key.seal(&a), group).await {
                    // Logged once, then every 60 failures: a host without a multicast route
                    // would otherwise log every second.
                    if send_failures.is_multiple_of(60) {
                        tracing::warn!("cannot announce this node on multicast group {group}: {e}");
                    }
                    send_failures = send_failures.saturating_add(1);
                }
            }
            got = socket.recv_from(&mut buf) => {
                let (n, from) = got?;
                if let Some(addr) = heard(&key, &mut guard, &node_name, &buf[..n], from) {
                    if found.send(addr).await.is_err() {
                        return Ok(());
                    }
                }
            }
            _ = found.closed() => return Ok(()),
        }
    }
}

/// The cluster address an announcement of `bytes` from `from` gives, if it is acceptable.
fn heard(key: &AnnounceKey, guard: &mut ReplayGuard, me: &str, bytes: &[u8], from: SocketAddr) -> Option<SocketAddr> {
    let a = match key.open(bytes).and_then(|a| guard.admit(&a, unix_ms()).map(|()| a)) {
        Ok(a) => a,
        Err(e @ (AnnounceError::OtherCluster(_) | AnnounceError::Malformed(_))) => {
            tracing::debug!(%from, "ignored a multicast packet: {e}");
            return None;
        }
        Err(e) => {
            tracing::warn!(%from, "ignored a multicast announcement: {e}");
            return None;
        }
    };
    if a.node_name == me {
        return None;
    }
    Some(SocketAddr::new(from.ip(), a.cluster_port))
}

/// A nonce from the OS RNG (announcements only; never in simulated code).
fn rand_nonce() -> u64 {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 8];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(cluster: &str, secret: &str) -> AnnounceKey {
        AnnounceKey::derive(cluster, secret.as_bytes()).unwrap()
    }

    fn sample(ts: u64) -> Announcement {
        Announcement {
            cluster_name: "prod".into(),
            node_name: "n1".into(),
            cluster_port: 2434,
            timestamp_ms: ts,
            nonce: 9,
        }
    }

    #[test]
    fn an_announcement_round_trips_and_a_forgery_is_refused() {
        let k = key("prod", "a long shared secret");
        let a = sample(1_000_000);
        let bytes = k.seal(&a);
        assert_eq!(k.open(&bytes).unwrap(), a);
        // Same cluster name, wrong secret: the tag fails.
        let forged = key("prod", "a guessed wrong secret").seal(&Announcement { cluster_port: 6666, ..a.clone() });
        assert_eq!(k.open(&forged).unwrap_err(), AnnounceError::BadTag("n1".into()));
        // A flipped port byte in a genuine announcement: the tag fails.
        let mut tampered = bytes.clone();
        let at = bytes.len() - TAG_BYTES - 17;
        tampered[at] ^= 1;
        assert!(matches!(k.open(&tampered), Err(AnnounceError::BadTag(_))));
        let other = key("staging", "a long shared secret").seal(&Announcement { cluster_name: "staging".into(), ..a });
        assert_eq!(k.open(&other).unwrap_err(), AnnounceError::OtherCluster("staging".into()));
    }

    #[test]
    fn replays_and_stale_announcements_are_refused() {
        let mut g = ReplayGuard::default();
        let now = 10_000_000;
        g.admit(&sample(now), now).unwrap();
        assert!(matches!(g.admit(&sample(now), now + 5), Err(AnnounceError::Replayed { .. })), "replayed");
        g.admit(&sample(now + 1000), now + 1000).unwrap();
        let old = sample(now - ANNOUNCE_WINDOW_MS - 1);
        let mut fresh_guard = ReplayGuard::default();
        assert!(fresh_guard.admit(&old, now).is_err(), "outside the window");
    }

    #[test]
    fn the_replay_guard_is_bounded() {
        let mut g = ReplayGuard::default();
        for i in 0..(REPLAY_NODES_MAX as u64 + 10) {
            let a = Announcement { node_name: format!("n{i}"), ..sample(1000 + i) };
            g.admit(&a, 1000 + i).unwrap();
        }
        assert_eq!(g.newest.len(), REPLAY_NODES_MAX);
        assert!(!g.newest.contains_key("n0"), "the oldest is forgotten");
    }

    #[test]
    fn seeds_are_checked() {
        assert_eq!(
            parse_seeds(&["127.0.0.1:2434".into(), " 127.0.0.1:2434".into()]).unwrap(),
            vec!["127.0.0.1:2434".parse().unwrap()]
        );
        assert!(parse_seeds(&["127.0.0.1".into()]).unwrap_err().contains("not HOST:PORT"));
        assert!(parse_seeds(&["127.0.0.1:99999".into()]).unwrap_err().contains("not HOST:PORT"));
        let many: Vec<String> = (0..=SEEDS_MAX).map(|i| format!("127.0.0.1:{}", 1000 + i)).collect();
        assert!(parse_seeds(&many).unwrap_err().contains("at most"));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = key("prod", "a long shared secret").open(&bytes);
        }
    }
}
