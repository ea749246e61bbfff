//! `basalt-server`: the node (config and first run, databases directory, membership and
//! roles, replication, the query language, the HTTP API, auth, status, logs, metrics). It is
//! the only crate that owns sockets, clocks and tasks.
//!
//! Not built yet: laid out now so the workspace shape is fixed; the `basalt-server` binary
//! arrives with the server issue.
