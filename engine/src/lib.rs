//! `basalt-engine`: the page-based graph store (cluster files, records and RIDs, classes,
//! vertices, edges, indexes, checkpoints, redo from the WAL, and the deterministic
//! `apply(entry)` that replication feeds on every node).
//!
//! Not built yet: this crate is laid out now so the workspace shape is fixed; the engine
//! arrives with its own issue ("Page-based graph store on memory-mapped cluster files").
