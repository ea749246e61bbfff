//! Basalt's cross-crate tests live in `tests/tests/`; the programs they drive (children to
//! SIGKILL, for instance) are the binaries in `tests/src/bin/`.
//! [`engine_crash`] is the workload the engine crash test and its child share.
//! [`wal_crash`] is what the WAL crash test and its child agree on.
//! [`raw_http`] opens raw HTTP/1.1 connections from chosen loopback addresses (abuse tests).
//! [`server`] starts the real `basalt-server` binary for process tests and talks HTTP to it.

pub mod crash;
pub mod engine_crash;
pub mod raw_http;
pub mod server;
pub mod wal_crash;
