//! Basalt's cross-crate tests live in `tests/tests/`; the programs they drive (children to
//! SIGKILL, for instance) are the binaries in `tests/src/bin/`.
//! [`engine_crash`] is the workload the engine crash test and its child share.
//! [`wal_crash`] is what the WAL crash test and its child agree on.
//! [`server`] starts the real `basalt-server` binary for process tests and talks HTTP to it.

pub mod crash;
pub mod engine_crash;
pub mod server;
pub mod wal_crash;
