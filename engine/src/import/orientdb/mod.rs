//! OrientDB's database export format (`EXPORT DATABASE` / `IMPORT DATABASE`): a gzipped JSON
//! object, written by [`export`] and read by [`load`], so that a real OrientDB database can
//! move into Basalt and a Basalt database can go back.
//!
//! # What was followed
//! The layout is that of OrientDB's `ODatabaseExport` (core/src/main/java/com/orientechnologies/
//! orient/core/db/tool/ODatabaseExport.java, exporter version 13) and what `ODatabaseImport`
//! (same folder) accepts: one object with the sections `info`, `clusters`, `schema`,
//! `records`, `brokenRids`, `indexes` and (only when there are some) `manualIndexes`, in that
//! order. Each record is written as `ORecordSerializerJSON` writes it with the format
//! `rid,version,class,type,attribSameRow,keepTypes,alwaysFetchEmbedded,dateAsLong`
//! (`ORecordAbstract.BASE_FORMAT` plus `dateAsLong`): `@type`, `@rid`, `@version`, `@class`,
//! the fields, then `@fieldTypes`, a `name=c,...` list whose letters are those of
//! `OJSONFetchContext.manageTypes` and `OFieldTypesString.getType` (`l` long, `s` short,
//! `b` byte or binary, `f` float, `d` double, `t`/`a` datetime/date as milliseconds, `c`
//! decimal, `x` link, `z` link list, `n` link set, `m` link map, `e` embedded set, `g` link
//! bag). `docs/formats.md` has the whole picture.
//!
//! # What it promises
//! - **Streaming.** The writer holds one record at a time. The reader holds one record at a
//!   time (at most [`RECORD_BYTES_MAX`]) plus a map from each exported RID to its new RID
//!   (about 40 bytes per record): it reads the input twice (vertices and documents first,
//!   then edges, whose ends must be known), so the caller hands it a way to reopen it.
//! - **Gzip or plain.** Input starting with gzip's magic is decompressed; anything else is
//!   read as JSON. A damaged or truncated gzip stream, malformed JSON, a record that does not
//!   fit the schema or an edge whose end is missing is an error naming the input, the
//!   section, the record and the byte and line where it was found.
//! - **New RIDs.** Records get the RIDs Basalt gives them; links, edge ends and link bags are
//!   rewritten through the map (as `ODatabaseImport` does without `-preserveClusterIDs`).
//!   Link bags of vertices are not imported as fields: they are rebuilt from the edges.
//! - **Nothing half-done is left to the caller's users.** [`load`] commits in batches; a
//!   caller that must not expose a partial import loads into a fresh database aside and
//!   moves it into place only when [`load`] returned `Ok` ([`import_new`] does exactly that).
//!
//! # Not done
//! - OrientDB's own classes (users, roles, functions, sequences, schedules, geometry
//!   shapes, see [`SYSTEM_CLASSES`]) and records without a class are skipped and counted:
//!   Basalt keeps users in its server, not in the database.
//! - Blobs (`@type` `b`), manual indexes, full-text and spatial indexes, custom fields,
//!   collations, min/max/regexp/default of properties, and classes with several
//!   superclasses beyond the first are skipped (counted in the report's `skipped`).
//! - Lightweight edges (vertices linked directly in `out_*` bags, no edge record) are not
//!   turned into edges.
//! - Types inside lists and maps are not recorded by the format (only a field's own type
//!   is), so a long or a datetime nested in a list comes back as a plain number, and a
//!   decimal (`c`) becomes a double.

use std::fmt;
use std::io;

mod export;
mod load;
mod scan;
mod values;

pub use self::export::{export, export_gz, ExportReport};
pub use self::load::{holds_data, import_new, load, ImportOptions, ImportReport, Source};

/// The exporter version written in `info` (`ODatabaseExport.EXPORTER_VERSION`).
pub const EXPORTER_VERSION: i64 = 13;
/// The largest single record (or schema section) the reader accepts, in JSON bytes.
pub const RECORD_BYTES_MAX: usize = 64 << 20;
/// gzip's first two bytes (RFC 1952).
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Classes OrientDB creates for itself; their records are not user data. From OrientDB's
/// `OSecurityShared`, `OFunctionLibraryImpl`, `OSequenceLibraryImpl`, `OSchedulerImpl`, the
/// spatial module's shape classes, and `ODatabaseImport.EXPORT_IMPORT_CLASS_NAME`.
pub const SYSTEM_CLASSES: &[&str] = &[
    "OUser",
    "ORole",
    "OIdentity",
    "ORestricted",
    "OSecurityPolicy",
    "OFunction",
    "OSequence",
    "OSchedule",
    "OTriggered",
    "OShape",
    "OPoint",
    "OMultiPoint",
    "OLineString",
    "OMultiLineString",
    "OPolygon",
    "OMultiPolygon",
    "ORectangle",
    "OGeometryCollection",
    "___exportImportRIDMap",
];

/// Whether `class` is one of OrientDB's own.
pub fn is_system_class(class: &str) -> bool {
    SYSTEM_CLASSES.iter().any(|c| c.eq_ignore_ascii_case(class))
}

/// Where in the (decompressed) input something was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The input's name (its path, or what the caller called it).
    pub input: String,
    /// 1-based line of the JSON text.
    pub line: u64,
    /// 0-based byte offset in the JSON text (after decompression).
    pub byte: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: line {} (byte {} of the JSON)", self.input, self.line, self.byte)
    }
}

/// Why an export or import failed. Every variant says where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OrientError {
    /// Reading or writing failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being read or written (a path, "the export stream", ...).
        what: String,
        /// Why.
        source: io::Error,
    },
    /// The gzip stream is damaged or cut short.
    #[error("{at}: the gzip stream is damaged or truncated (after {compressed_bytes} compressed bytes): {source}")]
    Gzip {
        /// How far the JSON got.
        at: Position,
        /// Compressed bytes read when it failed.
        compressed_bytes: u64,
        /// What the decompressor said.
        source: io::Error,
    },
    /// The JSON is malformed or ends early.
    #[error("{at}: {message}")]
    Syntax {
        /// Where.
        at: Position,
        /// What is wrong.
        message: String,
    },
    /// A well-formed part that Basalt cannot take (a record of an unknown class, an edge whose
    /// end is missing, a bad RID, ...).
    #[error("{at}: {context}: {message}")]
    Invalid {
        /// Where.
        at: Position,
        /// The section and record, e.g. `record #12:4 (class Person)`.
        context: String,
        /// What is wrong.
        message: String,
    },
    /// The database refused a change.
    #[error("{context}: {source}")]
    Database {
        /// What was being done.
        context: String,
        /// The engine's error.
        source: crate::Error,
    },
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests;
