//! Streaming parsers that turn graph files into a stream of neutral [`ImportItem`]s, and
//! OrientDB's JSON database export, written and read whole ([`orientdb`]).
//!
//! Owns: reading GraphML ([`graphml`]) and Basalt's two-file CSV format ([`csv`], described in
//! `docs/import-csv.md`), converting property values to their declared types, and reporting
//! bad input as [`ImportError`]s that name the input, line, byte offset and the offending
//! element, key and value.
//!
//! Promises:
//! - No database work: a parser only reads its input and yields items in file order. The
//!   engine's loader decides classes, RIDs and how to insert them.
//! - Streaming: memory use is bounded by the largest single element (a `<node>` with its
//!   `<data>`, or one CSV row), not by the file, so a multi-gigabyte file is fine.
//! - Each parser is an `Iterator<Item = Result<ImportItem, ImportError>>`. After the first
//!   error it yields nothing more. `position()` reports the input bytes consumed so far, for a
//!   progress bar.
//! - Bad input is an error value, never a panic.
//!
//! Edge endpoints are vertex ids as written in the file. They may name a vertex that appears
//! later in the file, or never: OrientDB's GraphML import creates a vertex at its first
//! appearance, whether as a `<node>` or as an edge endpoint, and the loader should do the same
//! (that order is what decides the RIDs `#9:0`, `#9:1`, ...).
//!
//! Not done: GraphML hyperedges, ports and nested graphs (rejected with an error), and
//! encodings other than UTF-8.

use std::fmt;

pub mod csv;
pub mod graphml;
pub mod load;
pub mod orientdb;

pub use self::csv::{CsvEdgeReader, CsvVertexReader};
pub use self::graphml::GraphmlReader;
pub use self::load::{load, LoadError, LoadOptions, LoadReport};

/// A property value, converted to the type the file declares for it.
#[derive(Debug, Clone, PartialEq)]
pub enum PropValue {
    /// A string (`string`; also every untyped CSV column).
    String(String),
    /// A 32-bit signed integer (`int`).
    Int(i32),
    /// A 64-bit signed integer (`long`).
    Long(i64),
    /// A 32-bit float (`float`).
    Float(f32),
    /// A 64-bit float (`double`).
    Double(f64),
    /// A boolean (`boolean`).
    Bool(bool),
}

impl PropValue {
    /// The type of this value.
    pub fn prop_type(&self) -> PropType {
        match self {
            PropValue::String(_) => PropType::String,
            PropValue::Int(_) => PropType::Int,
            PropValue::Long(_) => PropType::Long,
            PropValue::Float(_) => PropType::Float,
            PropValue::Double(_) => PropType::Double,
            PropValue::Bool(_) => PropType::Bool,
        }
    }
}

/// The declared type of a property: GraphML's `attr.type`, or the `:type` suffix of a CSV
/// column. The names are GraphML's: `string`, `int`, `long`, `float`, `double`, `boolean`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropType {
    /// `string`: the text as written.
    String,
    /// `int`: a decimal `i32`.
    Int,
    /// `long`: a decimal `i64`.
    Long,
    /// `float`: an `f32`.
    Float,
    /// `double`: an `f64`.
    Double,
    /// `boolean`: `true`/`false` (any case) or `1`/`0`.
    Bool,
}

impl PropType {
    /// Every type, in the order the docs list them.
    pub const ALL: [PropType; 6] =
        [PropType::String, PropType::Int, PropType::Long, PropType::Float, PropType::Double, PropType::Bool];

    /// The type named `name` (ASCII case-insensitive), or `None` for an unknown name.
    pub fn from_name(name: &str) -> Option<PropType> {
        PropType::ALL.into_iter().find(|ty| ty.name().eq_ignore_ascii_case(name))
    }

    /// The type's name as files write it (`"boolean"` for [`PropType::Bool`]).
    pub fn name(self) -> &'static str {
        match self {
            PropType::String => "string",
            PropType::Int => "int",
            PropType::Long => "long",
            PropType::Float => "float",
            PropType::Double => "double",
            PropType::Bool => "boolean",
        }
    }

    /// Converts `text` to a value of this type, or `None` if it does not parse. Strings are
    /// kept exactly; other types ignore surrounding whitespace (GraphML values are often
    /// pretty-printed).
    pub fn parse(self, text: &str) -> Option<PropValue> {
        let trimmed = text.trim();
        match self {
            PropType::String => Some(PropValue::String(text.to_owned())),
            PropType::Int => trimmed.parse().ok().map(PropValue::Int),
            PropType::Long => trimmed.parse().ok().map(PropValue::Long),
            PropType::Float => trimmed.parse().ok().map(PropValue::Float),
            PropType::Double => trimmed.parse().ok().map(PropValue::Double),
            PropType::Bool => parse_bool(trimmed).map(PropValue::Bool),
        }
    }
}

impl fmt::Display for PropType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// XML Schema's boolean lexical space (`true`, `false`, `1`, `0`), plus any letter case,
/// since Java's writers are not consistent about it.
fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") || text == "1" {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") || text == "0" {
        Some(false)
    } else {
        None
    }
}

/// A vertex read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportVertex {
    /// The vertex id as written in the file (GraphML `<node id>`, CSV `id`); edges refer to it.
    pub id: String,
    /// The vertex class the file asks for (GraphML `labelV` data key, CSV `class`/`@class`),
    /// or `None` for the loader's default (`V`).
    pub class: Option<String>,
    /// Properties in file order, each name at most once.
    pub props: Vec<(String, PropValue)>,
}

/// An edge read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportEdge {
    /// The edge id as written in the file, if it has one. Only for messages and mapping;
    /// nothing refers to it.
    pub id: Option<String>,
    /// The edge label, which becomes the edge class (GraphML `label` attribute or `labelE` data
    /// key, CSV `label`). Never empty.
    pub label: String,
    /// Id of the vertex the edge goes out of.
    pub source: String,
    /// Id of the vertex the edge goes into.
    pub target: String,
    /// Properties in file order, each name at most once.
    pub props: Vec<(String, PropValue)>,
}

/// One thing to insert, in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportItem {
    /// A vertex declaration with its properties.
    Vertex(ImportVertex),
    /// An edge between two vertex ids.
    Edge(ImportEdge),
}

/// Where in an input something was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The input's name: its path when opened from a file, else what the caller named it.
    pub input: String,
    /// 1-based line number.
    pub line: u64,
    /// 0-based byte offset from the start of the input.
    pub byte: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} (byte {})", self.input, self.line, self.byte)
    }
}

/// Why an input could not be parsed. Every variant but `Io` says where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The input could not be opened or read.
    #[error("cannot read {input}: {source}")]
    Io {
        /// The input's name.
        input: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The input is not well-formed XML (this includes I/O errors while reading it).
    #[error("{at}: malformed XML: {source}")]
    Xml {
        /// Start of the markup that failed.
        at: Location,
        /// What the XML reader reported.
        source: quick_xml::Error,
    },
    /// The input is not well-formed CSV: bad UTF-8, a row with the wrong number of fields, or
    /// an I/O error while reading it.
    #[error("{at}: malformed CSV: {source}")]
    Csv {
        /// The row that failed.
        at: Location,
        /// What the CSV reader reported.
        source: ::csv::Error,
    },
    /// A value does not parse as its declared type.
    #[error("{at}: {item}: value {value:?} of {key:?} is not a valid {ty}")]
    BadValue {
        /// Where the value is (its `<data>` element, or its CSV row).
        at: Location,
        /// The element holding it, e.g. `node "12"`, `edge "7"`, `key "weight" <default>`.
        item: String,
        /// The property (GraphML key id, CSV column name).
        key: String,
        /// The declared type.
        ty: PropType,
        /// The text as written.
        value: String,
    },
    /// A GraphML `<data key>` names a key that no `<key>` declares.
    #[error("{at}: {item}: data key {key:?} is not declared by any <key> element")]
    UnknownKey {
        /// Where the `<data>` element starts.
        at: Location,
        /// The element holding it, e.g. `node "12"`.
        item: String,
        /// The undeclared key id.
        key: String,
    },
    /// A GraphML element lacks a required attribute.
    #[error("{at}: {element} has no {attribute:?} attribute")]
    MissingAttribute {
        /// Where the element starts.
        at: Location,
        /// The element, e.g. `<edge id="5">`.
        element: String,
        /// The attribute that is missing.
        attribute: String,
    },
    /// A CSV header lacks a required column.
    #[error("{at}: the header has no {column:?} column")]
    MissingColumn {
        /// Where the header is.
        at: Location,
        /// The column that is missing.
        column: String,
    },
    /// The input ends before an open element is closed.
    #[error("{at}: input ends inside {inside}")]
    Truncated {
        /// Where the input ends.
        at: Location,
        /// The innermost open element and where it was opened.
        inside: String,
    },
    /// Anything else the format does not allow (a duplicate key, an unknown type name, an
    /// empty id, a nested graph, ...).
    #[error("{at}: {message}")]
    Invalid {
        /// Where the problem is.
        at: Location,
        /// What is wrong and, where useful, what to do.
        message: String,
    },
}

impl ImportError {
    /// Where the error is, if it has a position (every variant but `Io`).
    pub fn location(&self) -> Option<&Location> {
        match self {
            ImportError::Io { .. } => None,
            ImportError::Xml { at, .. }
            | ImportError::Csv { at, .. }
            | ImportError::BadValue { at, .. }
            | ImportError::UnknownKey { at, .. }
            | ImportError::MissingAttribute { at, .. }
            | ImportError::MissingColumn { at, .. }
            | ImportError::Truncated { at, .. }
            | ImportError::Invalid { at, .. } => Some(at),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests;
