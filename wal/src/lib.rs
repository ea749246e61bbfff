//! `basalt-wal`: the segmented write-ahead log under every Basalt database.
//!
//! # What it owns
//! Segment files named by their first LSN, the framing of entries (length, CRC32, LSN,
//! kind), group commit, recovery of a torn tail, readers from any LSN, truncation of a
//! suffix (log conflicts in replication), purge of a prefix (retention) and reset (a log
//! that restarts after a snapshot). It knows nothing of graphs, networks or consensus: an
//! entry is a kind tag and opaque bytes.
//!
//! # What it promises
//! - **Durability.** [`Wal::append`] returns, and a [`Durable`] future resolves, only after
//!   the entry and every entry before it were written and `fdatasync`ed. A new segment's
//!   name is made durable (directory fsync) before any entry in it is acknowledged.
//! - **Ordering.** LSNs are dense and increase by one; the log on disk is always a prefix of
//!   what was appended. After a crash, recovery keeps the longest valid prefix of the open
//!   segment and cuts the rest, reporting what it cut. Corruption anywhere else (a sealed
//!   segment, a header, a foreign segment, a gap) is an error naming the file and offset,
//!   and nothing is rewritten.
//! - **Concurrency.** A `Wal` is `Send + Sync`; any number of threads append at once and
//!   share fsyncs (group commit). Readers run concurrently with appends and see only
//!   durable entries.
//! - **Failure.** After a failed write or fsync the log is poisoned: every call fails with
//!   [`Error::Poisoned`] until it is reopened, because a failed fsync cannot be retried
//!   safely (the kernel may have dropped the dirty pages).
//!
//! # Not done yet
//! Segments are preallocated (zero-filled ahead of the writes, so an fsync after an append
//! usually records no metadata) but not recycled: every segment is a new file, zero-filled
//! once.
//!
//! The byte formats are in [`format`](mod@format) and `docs/formats.md`.

pub mod archive;
pub mod error;
pub mod format;
mod index;
pub mod inspect;
mod log;
pub mod mem;
pub mod meta;
mod raftlog;
mod reader;
mod recovery;
pub mod segment;
pub mod storage;
mod tail;

pub use archive::{ArchiveEvent, ArchiveHook, ArchiveOptions};
pub use error::{Error, Result};
pub use log::{Durable, DurableCallback, NewEntry, Wal, WalOptions, WalStats, WalStatus};
pub use mem::MemStorage;
pub use meta::{LogPosition, Meta, Vote};
pub use reader::WalReader;
pub use recovery::{RecoveryReport, TornTail};
pub use storage::{DiskStorage, Storage, StorageFile};

/// A log sequence number: the position of an entry in the log. The first entry of a new
/// log has LSN 1; LSN 0 means "no entry".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// "No entry": before the first LSN of a new log.
    pub const ZERO: Lsn = Lsn(0);

    /// One past the last LSN an entry may have: no entry has it, and a log whose next LSN
    /// would be this takes no more entries.
    pub const END: Lsn = Lsn(u64::MAX);

    /// The LSN after this one, saturating at [`Lsn::END`] (so bad bytes on disk can never
    /// make LSN arithmetic overflow).
    pub fn next(self) -> Lsn {
        Lsn(self.0.saturating_add(1))
    }

    /// The LSN before this one (saturating at zero).
    pub fn prev(self) -> Lsn {
        Lsn(self.0.saturating_sub(1))
    }
}

impl Lsn {
    /// The LSN of the entry at Raft log index `index`: `index + 1`. openraft numbers its
    /// first entry 0 while LSN 0 means "no entry", so the mapping is off by one (see
    /// "LSNs and Raft indexes" in the crate docs).
    pub fn from_raft_index(index: u64) -> Lsn {
        Lsn(index.saturating_add(1))
    }

    /// The Raft log index of the entry at this LSN, or `None` for `Lsn::ZERO`.
    pub fn raft_index(self) -> Option<u64> {
        self.0.checked_sub(1)
    }
}

impl std::fmt::Display for Lsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The identity of a log: the database it belongs to. Every segment carries it, so a
/// segment copied from another database's log is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LogId(pub u128);

impl std::fmt::Display for LogId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// The caller's tag for what an entry is. The WAL stores it and never interprets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Kind(pub u8);

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A Raft term, stored with every entry. The WAL never interprets it beyond storing and
/// returning it; entries from segments written before terms were stored read as term 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Term(pub u64);

impl std::fmt::Display for Term {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One entry read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its position.
    pub lsn: Lsn,
    /// The term it was appended with (0 for [`Wal::append`], [`Wal::submit`] and
    /// [`Wal::write_at`], and for entries of version-1 segments).
    pub term: Term,
    /// The caller's tag.
    pub kind: Kind,
    /// The caller's bytes.
    pub payload: Vec<u8>,
}
