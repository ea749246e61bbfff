//! The WAL's error type: variants a caller can act on, each naming what was wrong.

use std::path::PathBuf;

use crate::{LogId, Lsn};

/// Everything that can go wrong in the WAL.
///
/// Corruption and format errors name the segment file and, where there is one, the byte
/// offset. IO errors keep the `io::Error` itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A frame in a segment failed its checks where no torn tail can be (a sealed segment,
    /// or the middle of the open one).
    #[error("corrupt WAL segment {segment}: at byte offset {offset}: {reason}")]
    Corrupt {
        /// The segment file.
        segment: PathBuf,
        /// Byte offset in that file where the bad frame starts.
        offset: u64,
        /// What check failed.
        reason: String,
    },
    /// A segment file whose header is not a valid Basalt segment header.
    #[error("bad WAL segment header in {segment}: {reason}")]
    BadHeader {
        /// The segment file.
        segment: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A segment that belongs to another log (another database).
    #[error("WAL segment {segment} belongs to log {found}, this log is {expected}; refusing to mix them")]
    ForeignSegment {
        /// The segment file.
        segment: PathBuf,
        /// The log id in its header.
        found: LogId,
        /// The log id expected.
        expected: LogId,
    },
    /// The LSNs do not continue from one segment to the next: a segment is missing, or the
    /// one before lost its end (a truncated sealed segment).
    #[error(
        "gap in WAL LSNs: {segment} should start at LSN {expected} (where {previous} ends) but starts at {found}: \
         a segment is missing or the one before lost its end"
    )]
    Gap {
        /// The segment where the sequence breaks.
        segment: PathBuf,
        /// The segment before it, whose last entry is `expected - 1`.
        previous: PathBuf,
        /// The LSN that should have come next.
        expected: Lsn,
        /// The LSN found instead.
        found: Lsn,
    },
    /// The entries asked for were purged (retention) and are no longer in the log.
    #[error("WAL entries from LSN {0} were purged; the log now starts at a later LSN")]
    Compacted(Lsn),
    /// A caller-supplied LSN does not continue the log.
    #[error("LSN {found} does not continue the log, expected {expected}")]
    OutOfSequence {
        /// The LSN the log expected next.
        expected: Lsn,
        /// The LSN given.
        found: Lsn,
    },
    /// An LSN outside the range the operation accepts.
    #[error("LSN {lsn} is outside the log ({first}..={last})")]
    OutOfRange {
        /// The LSN given.
        lsn: Lsn,
        /// First LSN in the log.
        first: Lsn,
        /// Last LSN in the log.
        last: Lsn,
    },
    /// The log has assigned every LSN it can; reset it to go on.
    #[error("the WAL has used every LSN (the next would be {0}); reset it to start over")]
    LsnExhausted(Lsn),
    /// An entry larger than the configured maximum.
    #[error("WAL entry of {size} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// Bytes given.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The log was truncated after this reader started; entries it returned may be gone.
    #[error("the WAL was truncated while this reader was open; start a new reader")]
    Truncated,
    /// The entry a durability handle or callback waited for was cut by a truncate or reset
    /// before it was reported durable: it is not in the log (another entry may now have its
    /// LSN).
    #[error("WAL entry {lsn} was truncated before it was reported durable")]
    EntryTruncated {
        /// The entry's LSN.
        lsn: Lsn,
    },
    /// An earlier write or sync failed. The state of unsynced data is unknown (a failed
    /// fsync cannot be retried safely), so the log refuses all work until it is reopened.
    #[error("the WAL is unusable after an earlier IO failure ({0}); reopen it to recover")]
    Poisoned(String),
    /// The log was closed.
    #[error("the WAL is closed")]
    Closed,
    /// Another process (or another handle) holds the log's directory.
    #[error("the WAL directory {0} is locked by another process")]
    Locked(PathBuf),
    /// An operating-system IO error.
    #[error("WAL IO error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }
}
