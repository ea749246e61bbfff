//! `basalt-net`: the cluster transport. QUIC endpoints (quinn + rustls with ring) with
//! mutual TLS always on, framing of typed, versioned messages, bulk streams for log
//! batches and snapshots, discovery and membership (who is in the cluster and reachable).
//! Beyond its own membership views it moves bytes and never interprets them: no graph or
//! Raft type appears here, and other `Data`/bulk payloads are opaque.
//!
//! # Identity scheme
//!
//! Sharing the cluster name and the cluster secret is all an operator does (as with
//! OrientDB's Hazelcast group name and password). From them every node derives the same
//! **cluster CA**: an Ed25519 key whose seed is HKDF-SHA256(salt = cluster name,
//! input = secret, info = `basalt cluster ca v1`), with a fixed subject naming the cluster.
//! Each node makes its own random Ed25519 key at start and a certificate for it, signed by
//! the cluster CA, naming the node (see [`identity`]). Every QUIC connection runs TLS 1.3
//! with both certificates verified against the cluster CA; a peer with another cluster name
//! or another secret has a CA with an unrelated key, so its certificate does not verify and
//! the handshake is refused. Both sides log `refused node X at ADDR: not a member of
//! cluster C`.
//!
//! # Threat model
//!
//! Defended against, by anyone on the network who does not know the secret:
//! - joining the cluster, or posing as a member (a certificate needs the CA key);
//! - reading or altering traffic between members (TLS 1.3, keys never leave a node);
//! - redirecting members with forged discovery announcements (announcements carry an
//!   HMAC under a key derived from the secret, with a timestamp window against replay).
//!
//! What an outsider who completes the TCP-less QUIC handshake attempt does learn: the
//! certificate of the one node it dialled (that node's name and the cluster name; the
//! cluster name is also in every announcement), and our node name in the SNI when we dial
//! it. It learns no other member, no message, no data: no application stream is opened
//! before both certificates verify, and the server sends no CA hints.
//!
//! Not defended against:
//! - a holder of the secret: every member can issue certificates for any name, so members
//!   trust each other fully; a leaked secret means re-keying the whole cluster;
//! - offline guessing of a weak secret: a node certificate (seen by anyone who dials a
//!   node) holds the CA's public key, which an attacker can test secret guesses against.
//!   Use a long random secret; fewer than [`identity::SECRET_BYTES_MIN`] bytes is refused;
//! - denial of service (floods, dropped packets), and traffic analysis.
//! - revocation: there is none; removing a node means changing the secret.
//!
//! # Not done yet
//!
//! Operator-supplied CA files (the secret-derived CA is the only scheme so far).
//!
//! # Membership
//!
//! [`membership`] is the member table and the views nodes gossip (plain data, no I/O);
//! [`gossip`] drives it over links; [`discovery`] finds first addresses (seeds, multicast).
//! Views travel as opaque `Data` on their own channel, so the framing is unchanged.

pub mod discovery;
pub mod endpoint;
pub mod error;
pub mod frame;
pub mod gossip;
pub mod identity;
pub mod link;
pub mod membership;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
pub mod tls;

pub use endpoint::{bind_udp, udp_socket, EndpointOptions, NodeEndpoint};
pub use error::Error;
pub use frame::{Message, PROTOCOL_VERSION};
pub use gossip::{Gossip, GossipOptions, Status};
pub use identity::ClusterIdentity;
pub use link::{BulkReceiver, BulkSender, Link, LinkReceiver, LinkSender};
pub use membership::{Event, Member, MemberInfo, Members, Reach, Role};
