//! `basalt-tools`: the offline tools and clients around a Basalt node.
//!
//! - `wal-inspect`: read-only inspection of a WAL directory.
//! - `basalt`: the console (SQL and `HA STATUS` against a list of servers, with failover).
//! - `basalt-snapshot`: snapshot files of databases (create, inspect, verify) and restore,
//!   also to a point in time from the WAL archive (`pitr`).
//! - `basalt-import`: GraphML, CSV and OrientDB exports into a database, all or nothing.

pub mod console;
pub mod entries;
pub mod import;
pub mod pitr;
pub mod progress;
pub mod snapshot;
pub mod time;
