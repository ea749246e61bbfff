//! `basalt-server`: the node. It owns configuration and the first run, the databases
//! directory, users and roles, the query language, the HTTP API, status, logs, metrics, and
//! cluster membership and discovery glue (`cluster`; replication comes with its own issue).
//! It is the only crate that owns sockets, clocks and tasks.
//!
//! Engine calls block (they fsync), so handlers run them on tokio's blocking pool; the
//! async threads only move bytes.

pub mod app;
pub mod cluster;
pub mod config;
pub mod demo;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod query;
pub mod records;
pub mod registry;
pub mod replication;
pub mod sql;
pub mod systemd;
pub mod users;
