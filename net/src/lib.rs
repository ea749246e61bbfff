//! `basalt-net`: QUIC endpoints (quinn + rustls, mutual TLS with the cluster's CA), framing
//! of messages and of snapshot/WAL streams, and discovery. It moves bytes and never
//! interprets them.
//!
//! Not built yet: laid out now so the workspace shape is fixed; it arrives with the cluster
//! transport issue.
