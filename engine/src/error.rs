//! The engine's error type: variants a caller can act on, each naming what was wrong.

use std::path::PathBuf;

use crate::value::Rid;
use basalt_wal::Lsn;

/// Everything that can go wrong in the engine.
///
/// Two families matter to callers: *deterministic* errors (bad input, conflicts, schema
/// violations) are answered to the client and change nothing; *fatal* errors (IO, corruption)
/// take the database offline on this node. [`Error::is_deterministic`] tells them apart.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system IO error on a file of the database.
    #[error("IO error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A file of the database failed its checks. The database refuses to open.
    #[error("corrupt database file {file}{}: {reason}", page.map(|p| format!(", page {p}")).unwrap_or_default())]
    Corrupt {
        /// The file.
        file: PathBuf,
        /// The page number, when the problem is in one page.
        page: Option<u64>,
        /// What check failed.
        reason: String,
    },
    /// The write-ahead log failed.
    #[error(transparent)]
    Wal(#[from] basalt_wal::Error),
    /// The database was taken offline by an earlier fatal error.
    #[error("database is offline after an earlier failure: {0}")]
    Offline(String),
    /// The database directory does not hold a database.
    #[error("no database at {0}")]
    NoDatabase(PathBuf),
    /// A database already exists where one was to be created.
    #[error("a database already exists at {0}")]
    AlreadyExists(PathBuf),
    /// No record with this RID.
    #[error("record {0} not found")]
    RecordNotFound(Rid),
    /// A class that does not exist.
    #[error("class '{0}' not found")]
    ClassNotFound(String),
    /// A class that already exists.
    #[error("class '{0}' already exists")]
    ClassExists(String),
    /// A property that does not exist.
    #[error("property '{class}.{property}' not found")]
    PropertyNotFound {
        /// The class.
        class: String,
        /// The property.
        property: String,
    },
    /// A property that already exists.
    #[error("property '{class}.{property}' already exists")]
    PropertyExists {
        /// The class.
        class: String,
        /// The property.
        property: String,
    },
    /// An index that does not exist.
    #[error("index '{0}' not found")]
    IndexNotFound(String),
    /// An index that already exists.
    #[error("index '{0}' already exists")]
    IndexExists(String),
    /// Optimistic concurrency: the record changed since the caller read it.
    #[error("record {rid} was modified concurrently: expected version {expected}, found {found}")]
    Conflict {
        /// The record.
        rid: Rid,
        /// The version the caller based its change on.
        expected: u32,
        /// The version the record has now.
        found: u32,
    },
    /// A unique index already holds this key for another record.
    #[error("duplicate key {key} in unique index '{index}': already used by record {existing}")]
    DuplicateKey {
        /// The index.
        index: String,
        /// The key, rendered.
        key: String,
        /// The record that holds it.
        existing: Rid,
    },
    /// A change that breaks the schema or the graph's rules (wrong type, missing mandatory
    /// property, an edge to a non-vertex, ...).
    #[error("{0}")]
    Invalid(String),
    /// The transaction was definitely not applied and never will be: its entry was cut from
    /// the log before it was committed, or the log refused it. Safe to retry.
    #[error("not committed: {0}")]
    NotCommitted(String),
    /// The transaction's entry reached the log, but what became of it is not known here: it
    /// may have been applied, or may be applied later (after a restart, or by a new leader).
    /// Read before retrying.
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(String),
    /// This node does not form transactions now (it does not lead the database, or a new
    /// leadership is still applying the entries of earlier terms). Nothing was logged.
    #[error("not accepting writes here: {0}")]
    NotLeader(String),
    /// A log entry that cannot be applied; the entry changed nothing.
    #[error("log entry {lsn} cannot be applied: {reason}")]
    BadEntry {
        /// The entry's LSN.
        lsn: Lsn,
        /// Why.
        reason: String,
    },
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }

    pub(crate) fn corrupt(file: impl Into<PathBuf>, page: Option<u64>, reason: impl Into<String>) -> Error {
        Error::Corrupt { file: file.into(), page, reason: reason.into() }
    }

    /// True for errors that depend only on the request and the database state (bad input,
    /// conflicts, schema rules): every node would answer the same, and nothing changed. False
    /// for IO and corruption, which are local to this node.
    pub fn is_deterministic(&self) -> bool {
        !matches!(
            self,
            Error::Io { .. }
                | Error::Corrupt { .. }
                | Error::Wal(_)
                | Error::Offline(_)
                | Error::NoDatabase(_)
                | Error::NotCommitted(_)
                | Error::OutcomeUnknown(_)
                | Error::NotLeader(_)
        )
    }
}
