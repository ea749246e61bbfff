//! CSV reader: Basalt's two-file graph format, streamed row by row into [`ImportItem`]s.
//!
//! A graph is a vertices file and an edges file (either may be used alone). Both are UTF-8
//! (a leading byte-order mark is ignored), comma-separated, with RFC 4180 quoting (`"a, b"`,
//! `"say ""hi"""`, newlines inside quotes), and a header row naming the columns. Every row
//! has as many cells as the header.
//!
//! Vertices file columns:
//! - `id` (required): the vertex id the edges file refers to; never empty.
//! - `class` or `@class` (optional, at most one): the vertex class; an empty cell means the
//!   default (`V`).
//! - any other column is a property.
//!
//! Edges file columns:
//! - `source`, `target` (required): vertex ids; never empty.
//! - `label` (required): the edge label, which becomes its class; never empty.
//! - `id` (optional): the edge's id in the file, for messages; an empty cell means none.
//! - any other column is a property.
//!
//! A property column is `name` (a string) or `name:type` with type `string`, `int`, `long`,
//! `float`, `double` or `boolean` (as in GraphML; `boolean` takes `true`/`false` in any case,
//! or `1`/`0`). So a property name cannot contain `:`. Reserved columns take no type. Header
//! cells are trimmed; data cells are not, except that typed values may have surrounding
//! spaces. An empty cell (`,,` or `,"",`) means the property is absent, so an empty string
//! cannot be stored.
//!
//! Errors name the file, the line (of the row's start) and byte, the vertex or edge id, and the
//! column. After an error the reader yields nothing. `docs/import-csv.md` shows examples.

use std::fs::File;
use std::io::Read;
use std::iter::FusedIterator;
use std::path::Path;

use ::csv::{Position, StringRecord};

use super::{ImportEdge, ImportError, ImportItem, ImportVertex, Location, PropType, PropValue};

/// Reads a vertices file: one [`ImportItem::Vertex`] per row.
pub struct CsvVertexReader<R: Read> {
    /// The rows.
    rows: Rows<R>,
    /// Index of the `id` column.
    id: usize,
    /// Index of the `class`/`@class` column, if any.
    class: Option<usize>,
    /// The property columns.
    props: Vec<PropColumn>,
}

/// Reads an edges file: one [`ImportItem::Edge`] per row.
pub struct CsvEdgeReader<R: Read> {
    /// The rows.
    rows: Rows<R>,
    /// Index of the `id` column, if any.
    id: Option<usize>,
    /// Index of the `source` column.
    source: usize,
    /// Index of the `target` column.
    target: usize,
    /// Index of the `label` column.
    label: usize,
    /// The property columns.
    props: Vec<PropColumn>,
}

/// A property column of the header.
struct PropColumn {
    /// Its index in each row.
    index: usize,
    /// Property name (the header cell without `:type`).
    name: String,
    /// Declared type (`string` when untyped).
    ty: PropType,
}

/// The row stream under either reader.
struct Rows<R: Read> {
    /// The CSV tokenizer.
    csv: ::csv::Reader<R>,
    /// The input's name for messages.
    input: String,
    /// The current row, reused.
    record: StringRecord,
    /// Set after the end of input or the first error.
    done: bool,
}

/// The header split into reserved columns (by canonical name) and properties.
struct Header {
    /// `(canonical name, index)` of each reserved column present.
    reserved: Vec<(&'static str, usize)>,
    /// The property columns.
    props: Vec<PropColumn>,
}

impl Header {
    /// Index of the reserved column `name`, if present.
    fn get(&self, name: &str) -> Option<usize> {
        self.reserved.iter().find(|(n, _)| *n == name).map(|&(_, index)| index)
    }
}

impl CsvVertexReader<File> {
    /// Opens the vertices file at `path` and reads its header.
    pub fn open(path: &Path) -> Result<Self, ImportError> {
        let input = path.display().to_string();
        match File::open(path) {
            Ok(file) => CsvVertexReader::new(file, input),
            Err(source) => Err(ImportError::Io { input, source }),
        }
    }
}

impl<R: Read> CsvVertexReader<R> {
    /// A reader over `input` (called `name` in messages); reads the header now.
    pub fn new(input: R, name: impl Into<String>) -> Result<Self, ImportError> {
        let mut rows = Rows::new(input, name.into());
        let header = rows.header(&[("id", "id"), ("class", "class"), ("@class", "class")])?;
        let id = header.get("id").ok_or_else(|| rows.missing_column("id"))?;
        Ok(CsvVertexReader { id, class: header.get("class"), props: header.props, rows })
    }

    /// Bytes of input consumed so far (for progress).
    pub fn position(&self) -> u64 {
        self.rows.csv.position().byte()
    }

    /// Reads the next row as a vertex.
    fn advance(&mut self) -> Result<Option<ImportItem>, ImportError> {
        let Some(at) = self.rows.next_row()? else { return Ok(None) };
        let record = &self.rows.record;
        let id = cell(record, self.id);
        if id.is_empty() {
            return Err(self.rows.invalid(at, "the id cell is empty".to_owned()));
        }
        let item = format!("vertex {id:?}");
        let class = self.class.map(|index| cell(record, index)).filter(|class| !class.is_empty());
        let props = self.rows.props(&self.props, &item, at)?;
        Ok(Some(ImportItem::Vertex(ImportVertex { id: id.to_owned(), class: class.map(str::to_owned), props })))
    }
}

impl CsvEdgeReader<File> {
    /// Opens the edges file at `path` and reads its header.
    pub fn open(path: &Path) -> Result<Self, ImportError> {
        let input = path.display().to_string();
        match File::open(path) {
            Ok(file) => CsvEdgeReader::new(file, input),
            Err(source) => Err(ImportError::Io { input, source }),
        }
    }
}

impl<R: Read> CsvEdgeReader<R> {
    /// A reader over `input` (called `name` in messages); reads the header now.
    pub fn new(input: R, name: impl Into<String>) -> Result<Self, ImportError> {
        let mut rows = Rows::new(input, name.into());
        let reserved = [("id", "id"), ("source", "source"), ("target", "target"), ("label", "label")];
        let header = rows.header(&reserved)?;
        let source = header.get("source").ok_or_else(|| rows.missing_column("source"))?;
        let target = header.get("target").ok_or_else(|| rows.missing_column("target"))?;
        let label = header.get("label").ok_or_else(|| rows.missing_column("label"))?;
        Ok(CsvEdgeReader { id: header.get("id"), source, target, label, props: header.props, rows })
    }

    /// Bytes of input consumed so far (for progress).
    pub fn position(&self) -> u64 {
        self.rows.csv.position().byte()
    }

    /// Reads the next row as an edge.
    fn advance(&mut self) -> Result<Option<ImportItem>, ImportError> {
        let Some(at) = self.rows.next_row()? else { return Ok(None) };
        let record = &self.rows.record;
        let id = self.id.map(|index| cell(record, index)).filter(|id| !id.is_empty());
        let item = match id {
            Some(id) => format!("edge {id:?}"),
            None => "edge".to_owned(),
        };
        let source = cell(record, self.source);
        let target = cell(record, self.target);
        let label = cell(record, self.label);
        for (column, value) in [("source", source), ("target", target), ("label", label)] {
            if value.is_empty() {
                return Err(self.rows.invalid(at, format!("{item}: the {column} cell is empty")));
            }
        }
        let edge = ImportEdge {
            id: id.map(str::to_owned),
            label: label.to_owned(),
            source: source.to_owned(),
            target: target.to_owned(),
            props: self.rows.props(&self.props, &item, at)?,
        };
        Ok(Some(ImportItem::Edge(edge)))
    }
}

impl<R: Read> Rows<R> {
    /// Rows of `input`, which starts with a header.
    fn new(input: R, name: String) -> Self {
        let csv = ::csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(input);
        Rows { csv, input: name, record: StringRecord::new(), done: false }
    }

    /// Reads and checks the header. `reserved` maps each reserved column name to its
    /// canonical name (`@class` to `class`).
    fn header(&mut self, reserved: &[(&str, &'static str)]) -> Result<Header, ImportError> {
        let at = Position::new();
        let cells = match self.csv.headers() {
            Ok(cells) => cells.clone(),
            Err(source) => return Err(self.csv_error(source)),
        };
        if cells.is_empty() {
            return Err(self.invalid(at, "the file is empty: the first line must be a header".to_owned()));
        }
        let mut header = Header { reserved: Vec::new(), props: Vec::new() };
        let mut names: Vec<&str> = Vec::new();
        for (index, raw) in cells.iter().enumerate() {
            let raw = raw.trim();
            let (name, ty) = match raw.rsplit_once(':') {
                Some((name, ty)) => (name.trim(), Some(ty.trim())),
                None => (raw, None),
            };
            if name.is_empty() {
                return Err(self.invalid(at, format!("header column {} ({raw:?}) has no name", index + 1)));
            }
            let canonical = reserved.iter().find(|(n, _)| *n == name).map(|&(_, canonical)| canonical);
            let key = canonical.unwrap_or(name);
            if names.contains(&key) {
                return Err(self.invalid(at, format!("header column {raw:?}: column {key:?} appears twice")));
            }
            names.push(key);
            match (canonical, ty) {
                (Some(_), Some(_)) => {
                    return Err(self.invalid(at, format!("header column {raw:?}: the {name} column takes no type")));
                }
                (Some(canonical), None) => header.reserved.push((canonical, index)),
                (None, None) => header.props.push(PropColumn { index, name: name.to_owned(), ty: PropType::String }),
                (None, Some(ty_name)) => {
                    let Some(ty) = PropType::from_name(ty_name) else {
                        let message = format!(
                            "header column {raw:?}: unknown type {ty_name:?} \
                             (expected string, int, long, float, double or boolean)"
                        );
                        return Err(self.invalid(at, message));
                    };
                    header.props.push(PropColumn { index, name: name.to_owned(), ty });
                }
            }
        }
        Ok(header)
    }

    /// Reads the next row into `record`; returns where it starts, or `None` at the end.
    fn next_row(&mut self) -> Result<Option<Position>, ImportError> {
        match self.csv.read_record(&mut self.record) {
            Ok(true) => Ok(Some(self.record.position().cloned().unwrap_or_else(|| self.csv.position().clone()))),
            Ok(false) => Ok(None),
            Err(source) => Err(self.csv_error(source)),
        }
    }

    /// Converts the current row's property cells; empty cells are absent properties.
    fn props(&self, columns: &[PropColumn], item: &str, at: Position) -> Result<Vec<(String, PropValue)>, ImportError> {
        let mut props = Vec::new();
        for column in columns {
            let text = cell(&self.record, column.index);
            if text.is_empty() {
                continue;
            }
            let Some(value) = column.ty.parse(text) else {
                return Err(ImportError::BadValue {
                    at: self.location(&at),
                    item: item.to_owned(),
                    key: column.name.clone(),
                    ty: column.ty,
                    value: text.to_owned(),
                });
            };
            props.push((column.name.clone(), value));
        }
        Ok(props)
    }

    /// `position` as a [`Location`] in this input.
    fn location(&self, position: &Position) -> Location {
        // The header is record 0 at line 1; csv counts lines from 1.
        Location { input: self.input.clone(), line: position.line().max(1), byte: position.byte() }
    }

    /// An [`ImportError::Invalid`] at `position`.
    fn invalid(&self, position: Position, message: String) -> ImportError {
        ImportError::Invalid { at: self.location(&position), message }
    }

    /// An [`ImportError::MissingColumn`] for the header.
    fn missing_column(&self, column: &str) -> ImportError {
        ImportError::MissingColumn { at: self.location(&Position::new()), column: column.to_owned() }
    }

    /// The CSV reader's error, placed where it says or where reading stopped.
    fn csv_error(&self, source: ::csv::Error) -> ImportError {
        let position = source.position().cloned().unwrap_or_else(|| self.csv.position().clone());
        ImportError::Csv { at: self.location(&position), source }
    }
}

/// The cell at `index` (rows have as many cells as the header; `""` if not, defensively).
fn cell(record: &StringRecord, index: usize) -> &str {
    record.get(index).unwrap_or("")
}

/// Shared `Iterator::next` of both readers: yields until the end or the first error.
fn next_item(
    done: &mut bool,
    result: Result<Option<ImportItem>, ImportError>,
) -> Option<Result<ImportItem, ImportError>> {
    match result {
        Ok(Some(item)) => Some(Ok(item)),
        Ok(None) => {
            *done = true;
            None
        }
        Err(error) => {
            *done = true;
            Some(Err(error))
        }
    }
}

impl<R: Read> Iterator for CsvVertexReader<R> {
    type Item = Result<ImportItem, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rows.done {
            return None;
        }
        let result = self.advance();
        next_item(&mut self.rows.done, result)
    }
}

impl<R: Read> FusedIterator for CsvVertexReader<R> {}

impl<R: Read> Iterator for CsvEdgeReader<R> {
    type Item = Result<ImportItem, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rows.done {
            return None;
        }
        let result = self.advance();
        next_item(&mut self.rows.done, result)
    }
}

impl<R: Read> FusedIterator for CsvEdgeReader<R> {}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vertices(text: &str) -> Result<Vec<ImportItem>, ImportError> {
        CsvVertexReader::new(text.as_bytes(), "vertices.csv")?.collect()
    }

    fn edges(text: &str) -> Result<Vec<ImportItem>, ImportError> {
        CsvEdgeReader::new(text.as_bytes(), "edges.csv")?.collect()
    }

    fn message(result: Result<Vec<ImportItem>, ImportError>) -> String {
        match result {
            Ok(items) => panic!("expected an error, got {items:?}"),
            Err(error) => error.to_string(),
        }
    }

    fn vertex(id: &str, class: Option<&str>, props: &[(&str, PropValue)]) -> ImportItem {
        ImportItem::Vertex(ImportVertex {
            id: id.to_owned(),
            class: class.map(str::to_owned),
            props: props.iter().map(|(name, value)| (name.to_string(), value.clone())).collect(),
        })
    }

    #[test]
    fn reads_vertices_with_quoting_types_classes_and_empty_cells() {
        let text = "\u{feff}id, @class ,name,performances:int,big:LONG,ratio:float,score:double,ok:boolean\r\n\
                    1,song,\"HEY, BO \"\"DIDDLEY\"\"\",5,9000000000,0.5,-1e3,true\r\n\
                    2,,\"two\nlines\",,,,,\r\n\
                    3,artist, spaced , 7 ,,,, 0\r\n";
        let items = vertices(text).unwrap();
        assert_eq!(
            items,
            vec![
                vertex(
                    "1",
                    Some("song"),
                    &[
                        ("name", PropValue::String("HEY, BO \"DIDDLEY\"".into())),
                        ("performances", PropValue::Int(5)),
                        ("big", PropValue::Long(9_000_000_000)),
                        ("ratio", PropValue::Float(0.5)),
                        ("score", PropValue::Double(-1000.0)),
                        ("ok", PropValue::Bool(true)),
                    ]
                ),
                vertex("2", None, &[("name", PropValue::String("two\nlines".into()))]),
                vertex(
                    "3",
                    Some("artist"),
                    &[
                        ("name", PropValue::String(" spaced ".into())),
                        ("performances", PropValue::Int(7)),
                        ("ok", PropValue::Bool(false)),
                    ]
                ),
            ]
        );
    }

    #[test]
    fn reads_edges_with_and_without_ids() {
        let text = "source,target,label,weight:int,id,note\n1,2,followed_by,3,e0,\n2,1,sung_by,,,\"a,b\"\n";
        let items = edges(text).unwrap();
        let expected = vec![
            ImportItem::Edge(ImportEdge {
                id: Some("e0".into()),
                label: "followed_by".into(),
                source: "1".into(),
                target: "2".into(),
                props: vec![("weight".into(), PropValue::Int(3))],
            }),
            ImportItem::Edge(ImportEdge {
                id: None,
                label: "sung_by".into(),
                source: "2".into(),
                target: "1".into(),
                props: vec![("note".into(), PropValue::String("a,b".into()))],
            }),
        ];
        assert_eq!(items, expected);
    }

    #[test]
    fn bad_value_names_file_line_id_and_column() {
        let text = "id,name,performances:int\n1,A,5\n2,\"multi\nline\",many\n";
        let error = message(vertices(text));
        assert!(error.starts_with("vertices.csv:3 (byte 31): vertex \"2\":"), "{error}");
        assert!(error.contains("\"performances\"") && error.contains("\"many\"") && error.contains("int"), "{error}");
        let error = message(edges("source,target,label,w:double\na,b,x,1.5\na,b,x,heavy\n"));
        assert!(error.starts_with("edges.csv:3 ") && error.contains("edge:") && error.contains("\"w\""), "{error}");
    }

    #[test]
    fn header_and_row_errors_are_clear() {
        let vertex_cases = [
            ("", "the file is empty"),
            ("name,age\n1,2\n", "no \"id\" column"),
            ("id,age:integer\n", "unknown type \"integer\""),
            ("id:int,name\n", "the id column takes no type"),
            ("id,name,name:int\n", "column \"name\" appears twice"),
            ("id,class,@class\n", "column \"class\" appears twice"),
            ("id,:int\n", "has no name"),
            ("id,name\n1,a\n,b\n", "vertices.csv:3 (byte 12): the id cell is empty"),
            ("id,name\n1,a\n2\n", "vertices.csv:3 (byte 12): malformed CSV"),
        ];
        for (text, expected) in vertex_cases {
            let error = message(vertices(text));
            assert!(error.contains(expected), "{text:?}: {error:?} lacks {expected:?}");
            assert!(error.starts_with("vertices.csv:"), "{error}");
        }
        let edge_cases = [
            ("source,target\n", "no \"label\" column"),
            ("target,label\n", "no \"source\" column"),
            ("source,label\n", "no \"target\" column"),
            ("source,target,label\n1,,x\n", "edges.csv:2 (byte 20): edge: the target cell is empty"),
            ("id,source,target,label\ne9,1,2,\n", "edge \"e9\": the label cell is empty"),
        ];
        for (text, expected) in edge_cases {
            let error = message(edges(text));
            assert!(error.contains(expected), "{text:?}: {error:?} lacks {expected:?}");
        }
        let invalid_utf8: &[u8] = b"id,name\n1,\xff\n";
        let result: Result<Vec<_>, _> = CsvVertexReader::new(invalid_utf8, "bin.csv").unwrap().collect();
        assert!(matches!(result, Err(ImportError::Csv { ref at, .. }) if at.line == 2), "{result:?}");
    }

    #[test]
    fn iteration_stops_after_an_error_and_position_advances() {
        let text = "id,n:int\n1,1\n2,x\n3,3\n";
        let mut reader = CsvVertexReader::new(text.as_bytes(), "v.csv").unwrap();
        assert!(matches!(reader.next(), Some(Ok(_))));
        let after_first = reader.position();
        assert!(after_first > 0 && after_first < text.len() as u64);
        assert!(matches!(reader.next(), Some(Err(ImportError::BadValue { .. }))));
        assert!(reader.next().is_none());
        let mut reader = CsvEdgeReader::new(&b"source,target,label\n1,2,x\n"[..], "e.csv").unwrap();
        assert_eq!(reader.by_ref().count(), 1);
        assert_eq!(reader.position(), 26);
    }

    #[test]
    fn the_example_in_docs_import_csv_md_parses() {
        let vertices_csv = "id,class,name,performances:int,live:boolean\n1,song,\"HEY BO DIDDLEY\",5,true\n\
                            2,song,\"SUGAR MAGNOLIA, REPRISE\",,false\n340,artist,Bo_Diddley,,\n";
        let edges_csv = "source,target,label,weight:int\n1,2,followed_by,1\n1,340,sung_by,\n";
        let items = vertices(vertices_csv).unwrap();
        assert_eq!(
            items[1],
            vertex(
                "2",
                Some("song"),
                &[("name", PropValue::String("SUGAR MAGNOLIA, REPRISE".into())), ("live", PropValue::Bool(false)),]
            )
        );
        assert_eq!(items[2], vertex("340", Some("artist"), &[("name", PropValue::String("Bo_Diddley".into()))]));
        let items = edges(edges_csv).unwrap();
        assert!(matches!(&items[1], ImportItem::Edge(e) if e.label == "sung_by" && e.props.is_empty()));
        let error = message(vertices("id,age:integer\n"));
        assert_eq!(
            error,
            "vertices.csv:1 (byte 0): header column \"age:integer\": unknown type \"integer\" \
                           (expected string, int, long, float, double or boolean)"
        );
        assert_eq!(message(vertices("name\n")), "vertices.csv:1 (byte 0): the header has no \"id\" column");
    }

    /// A property value of the round-trip schema, or absent.
    type Row =
        (String, Option<String>, Option<String>, Option<i32>, Option<i64>, Option<f32>, Option<f64>, Option<bool>);

    /// Writes rows with the `csv` writer (which quotes as needed) under a typed header.
    fn write_vertices(rows: &[Row]) -> Vec<u8> {
        let mut writer = ::csv::Writer::from_writer(Vec::new());
        writer.write_record(["id", "@class", "text", "i:int", "l:long", "f:float", "d:double", "b:boolean"]).unwrap();
        fn cell<T: ToString>(value: &Option<T>) -> String {
            value.as_ref().map(T::to_string).unwrap_or_default()
        }
        for (id, class, text, i, l, f, d, b) in rows {
            let cells = [id.clone(), cell(class), cell(text), cell(i), cell(l), cell(f), cell(d), cell(b)];
            writer.write_record(&cells).unwrap();
        }
        writer.into_inner().unwrap()
    }

    fn expected_vertex(row: &Row) -> ImportItem {
        let (id, class, text, i, l, f, d, b) = row.clone();
        let props = [
            text.map(|v| ("text", PropValue::String(v))),
            i.map(|v| ("i", PropValue::Int(v))),
            l.map(|v| ("l", PropValue::Long(v))),
            f.map(|v| ("f", PropValue::Float(v))),
            d.map(|v| ("d", PropValue::Double(v))),
            b.map(|v| ("b", PropValue::Bool(v))),
        ];
        let props = props.into_iter().flatten().map(|(name, value)| (name.to_string(), value)).collect();
        ImportItem::Vertex(ImportVertex { id, class, props })
    }

    fn non_empty_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[^\u{0}]{1,12}",
            Just("a,b".to_string()),
            Just("say \"hi\"".to_string()),
            Just("two\r\nlines".to_string()),
            Just(" padded ".to_string()),
        ]
    }

    fn row() -> impl Strategy<Value = Row> {
        let finite_f32 = any::<f32>().prop_filter("finite", |v| v.is_finite());
        let finite_f64 = any::<f64>().prop_filter("finite", |v| v.is_finite());
        (
            non_empty_text(),
            proptest::option::of(non_empty_text()),
            proptest::option::of(non_empty_text()),
            proptest::option::of(any::<i32>()),
            proptest::option::of(any::<i64>()),
            proptest::option::of(finite_f32),
            proptest::option::of(finite_f64),
            proptest::option::of(any::<bool>()),
        )
    }

    proptest! {
        #[test]
        fn vertices_round_trip_through_csv(rows in proptest::collection::vec(row(), 0..20)) {
            let bytes = write_vertices(&rows);
            let items: Vec<ImportItem> = CsvVertexReader::new(bytes.as_slice(), "rt.csv")
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let expected: Vec<ImportItem> = rows.iter().map(expected_vertex).collect();
            prop_assert_eq!(items, expected);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut with_header = b"id,class,n:int,x:boolean\n".to_vec();
            with_header.extend_from_slice(&bytes);
            for input in [bytes.as_slice(), with_header.as_slice()] {
                if let Ok(reader) = CsvVertexReader::new(input, "fuzz") {
                    prop_assert!(reader.take(1000).filter(Result::is_err).count() <= 1);
                }
                if let Ok(reader) = CsvEdgeReader::new(input, "fuzz") {
                    prop_assert!(reader.take(1000).filter(Result::is_err).count() <= 1);
                }
            }
        }
    }
}
