//! `basalt-engine`: the page-based graph store under every Basalt database.
//!
//! # What it owns
//! Cluster files of fixed-size pages (memory-mapped for reads), records and their RIDs,
//! classes with single inheritance, vertices and edges with their link bags, indexes, the
//! schema, checkpoints, redo from the WAL, and the deterministic `apply` that replication
//! will feed on every node. It knows nothing of networks or of who leads.
//!
//! # What it promises
//! - **Durability.** A commit returns only after its log entry is fsync'd in the WAL and
//!   applied. Pages change only in memory between checkpoints; a checkpoint writes them
//!   through a double-write file (see [`checkpoint`]), so the cluster files always hold
//!   one checkpoint's state with every page intact, and opening redoes the WAL from there.
//!   Every page carries a checksum and the LSN of its last change; opening verifies all.
//! - **Determinism.** A log entry decides every RID; applying the same entries from the
//!   same state gives the same records, versions and digest on every node. `apply` is all
//!   or nothing: an entry that fails changes nothing, on every node alike.
//! - **Isolation.** A [`Snapshot`] sees one applied LSN. Optimistic version conflicts and
//!   unique-key violations are found when a transaction is formed, before it is logged.
//! - **Concurrency.** A [`Database`] is `Send + Sync`. Many commits share one fsync; reads
//!   run beside them on a frozen view of one applied LSN (copy-on-write pages, see
//!   `snapshot.rs`), hold no lock the applier needs, and never see half an entry.
//!
//! # Not done yet
//! - Indexes live in memory and are rebuilt from the records at open (a scan of the indexed
//!   classes); there are no index pages.
//! - A vertex keeps all its edges inline in its record (spilling to overflow pages), so
//!   adding an edge to a vertex with very many edges rewrites a large record.
//! - A class has one cluster.

pub mod checkpoint;
pub mod cluster;
pub mod codec;
mod commit;
#[cfg(test)]
mod commit_tests;
pub mod convert;
mod db;
pub mod entry;
pub mod error;
pub mod import;
pub mod index;
pub mod json;
mod mmap;
mod outcome;
pub mod page;
mod pagefile;
mod pending;
pub mod record;
mod route;
pub mod schema;
mod snapshot;
pub mod snapshot_file;
mod state;
pub mod tx;
pub mod value;

pub use basalt_wal::Lsn;
pub use commit::{ApplyOutcome, Pending};
pub use db::{CheckpointHold, Committed, Database, Digest, OpenReport, Options, Stats, WAL_DIR};
pub use entry::{LogPosition, MarkerEntry, Op, ProposalId, TxEntry};
pub use error::{Error, Result};
pub use record::{Direction, Record, RecordKind};
pub use route::ProposeLog;
pub use schema::{ClassDef, IndexDef, PropertyDef, PropertyType, Schema, SchemaChange};
pub use snapshot::{Scan, Snapshot};
pub use tx::{SchemaRequest, Transaction};
pub use value::{Document, Rid, Value};
