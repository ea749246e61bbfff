//! Reading OrientDB's export into a database, in three steps over the input (see the parent
//! module): (1) `info`, `clusters`, the `schema` (classes, then their properties), and every
//! record that is not an edge, mapping each exported RID to the new one; (2) the edges,
//! their ends looked up in that map; (3) links inside the records of step 1, rewritten
//! through the map; then the indexes. As `ODatabaseImport.importRecords` does, records
//! get new RIDs and a map from old to new keeps links right.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::scan::Scanner;
use super::values::{field_types, fields_except, link, remap};
use super::{is_system_class, OrientError, Position};
use crate::db::{Database, Options};
use crate::schema::{EDGE_CLASS, VERTEX_CLASS};
use crate::tx::Transaction;
use crate::value::{Rid, Value};

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Records per transaction.
    pub batch: usize,
}

impl Default for ImportOptions {
    fn default() -> ImportOptions {
        ImportOptions { batch: 10_000 }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// The exported database's name (`info.name`).
    pub source_database: Option<String>,
    /// `info.exporter-version`.
    pub exporter_version: Option<i64>,
    /// Records created per class.
    pub records: BTreeMap<String, u64>,
    /// Vertices created.
    pub vertices: u64,
    /// Edges created.
    pub edges: u64,
    /// Plain documents created.
    pub documents: u64,
    /// Classes created.
    pub classes_created: Vec<String>,
    /// Indexes created.
    pub indexes_created: Vec<String>,
    /// What was left out, by reason, with counts.
    pub skipped: BTreeMap<String, u64>,
    /// Links whose target the export does not hold (set to null).
    pub dangling_links: u64,
}

impl ImportReport {
    fn skip(&mut self, why: impl Into<String>) {
        *self.skipped.entry(why.into()).or_default() += 1;
    }
}

type Opener = dyn Fn() -> io::Result<Box<dyn Read>> + Send + Sync;

/// An input that can be read more than once.
#[derive(Clone)]
pub struct Source {
    /// For messages.
    name: String,
    /// Opens it from the start.
    open: Arc<Opener>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").field("name", &self.name).finish()
    }
}

impl Source {
    /// A file (gzip or plain JSON).
    pub fn file(path: impl Into<PathBuf>) -> Source {
        let path: PathBuf = path.into();
        let name = path.display().to_string();
        Source { name, open: Arc::new(move || Ok(Box::new(File::open(&path)?) as Box<dyn Read>)) }
    }

    /// Bytes in memory (an uploaded body).
    pub fn memory(name: impl Into<String>, bytes: Arc<Vec<u8>>) -> Source {
        Source {
            name: name.into(),
            open: Arc::new(move || Ok(Box::new(Cursor::new(SharedBytes(bytes.clone()))) as Box<dyn Read>)),
        }
    }

    fn scanner(&self) -> Result<Scanner, OrientError> {
        let input = (self.open)().map_err(|source| OrientError::Io { what: self.name.clone(), source })?;
        Scanner::new(input, &self.name)
    }
}

/// Shared bytes as `AsRef<[u8]>`, for a `Cursor`.
struct SharedBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Whether `db` holds anything an import would collide with: a record, or a class beyond
/// `V` and `E`.
pub fn holds_data(db: &Database) -> bool {
    let snap = db.snapshot();
    let schema = snap.schema();
    schema.classes.len() > 2
        || schema.classes.values().flat_map(|c| c.clusters.iter()).any(|&c| snap.cluster_count(c) > 0)
}

/// Creates a database at `dir` (which must not exist), imports `source` into it and closes
/// it. On any error the directory is removed, so nothing half-imported remains; the caller
/// moves the finished directory where it belongs.
pub fn import_new(
    dir: &Path,
    db_options: Options,
    source: &Source,
    options: &ImportOptions,
    progress: impl FnMut(u64),
) -> Result<ImportReport, OrientError> {
    let (db, _) = Database::create(dir, db_options)
        .map_err(|source| OrientError::Database { context: format!("creating {}", dir.display()), source })?;
    let result = load(&db, source, options, progress);
    let closed = db.close();
    match (result, closed) {
        (Ok(report), Ok(())) => Ok(report),
        (Err(e), _) => {
            let _ = std::fs::remove_dir_all(dir);
            Err(e)
        }
        (Ok(_), Err(source)) => {
            let _ = std::fs::remove_dir_all(dir);
            Err(OrientError::Database { context: format!("closing {}", dir.display()), source })
        }
    }
}

/// Which records a walk over the input creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Vertices and documents (and the schema).
    Nodes,
    /// Edges.
    Edges,
}

/// The import in progress.
struct Importer<'a> {
    /// The target.
    db: &'a Database,
    /// Options.
    options: &'a ImportOptions,
    /// Exported RID to new RID.
    map: HashMap<Rid, Rid>,
    /// New RIDs of records of step 1 holding links (rewritten in step 3).
    fixups: Vec<Rid>,
    /// The open batch and, per record in it, (exported RID, temporary RID, has links).
    tx: Transaction,
    /// See `tx`.
    in_batch: Vec<(Rid, Rid, bool)>,
    /// The `indexes` section, applied at the end.
    indexes: Vec<Json>,
    /// Whether a `schema` section was read.
    schema_seen: bool,
    /// Records seen (both passes), for progress.
    seen: u64,
    /// What was done.
    report: ImportReport,
}

/// Imports `source` into `db` (see the module docs). `db` should be empty: an import adds
/// to what is there. A failure leaves the batches committed before it; [`import_new`] is
/// the all-or-nothing form.
pub fn load(
    db: &Database,
    source: &Source,
    options: &ImportOptions,
    mut progress: impl FnMut(u64),
) -> Result<ImportReport, OrientError> {
    let mut im = Importer {
        db,
        options,
        map: HashMap::new(),
        fixups: Vec::new(),
        tx: Transaction::new(),
        in_batch: Vec::new(),
        indexes: Vec::new(),
        schema_seen: false,
        seen: 0,
        report: ImportReport::default(),
    };
    for pass in [Pass::Nodes, Pass::Edges] {
        let mut sc = source.scanner()?;
        im.walk(&mut sc, pass, &mut progress)?;
        im.flush()?;
    }
    im.rewrite_links()?;
    im.create_indexes()?;
    Ok(im.report)
}

fn invalid(at: &Position, context: impl Into<String>, message: impl Into<String>) -> OrientError {
    OrientError::Invalid { at: at.clone(), context: context.into(), message: message.into() }
}

impl Importer<'_> {
    fn commit(&self, tx: &Transaction, context: impl FnOnce() -> String) -> Result<crate::Committed, OrientError> {
        self.db.commit(tx).map_err(|source| OrientError::Database { context: context(), source })
    }

    /// One walk over the whole input.
    fn walk(&mut self, sc: &mut Scanner, pass: Pass, progress: &mut impl FnMut(u64)) -> Result<(), OrientError> {
        sc.expect(b'{', "at the start of the export")?;
        if sc.skip_ws()? == Some(b'}') {
            return Err(sc.syntax("the export is an empty object"));
        }
        loop {
            let tag = sc.key("in the export object")?;
            let inside = format!("in section \"{tag}\"");
            match (tag.as_str(), pass) {
                ("records", _) => self.records(sc, pass, progress)?,
                ("info", Pass::Nodes) => self.info(&sc.value::<Json>(&inside)?),
                ("schema", Pass::Nodes) => {
                    let at = sc.position();
                    let schema = sc.value::<Json>(&inside)?;
                    self.schema(&schema, &at)?;
                }
                ("indexes", Pass::Nodes) => match sc.value::<Json>(&inside)? {
                    Json::Array(a) => self.indexes = a,
                    _ => return Err(sc.syntax("section \"indexes\" is not an array")),
                },
                ("manualIndexes", Pass::Nodes) => {
                    sc.capture(&inside)?;
                    self.report.skip("manual indexes (not supported)");
                }
                ("info" | "clusters" | "schema" | "indexes" | "manualIndexes" | "brokenRids", _) => {
                    sc.capture(&inside)?;
                }
                _ => return Err(sc.syntax(format!("unknown section \"{tag}\" (ODatabaseImport refuses it too)"))),
            }
            if !sc.next_member(b'}', "in the export object")? {
                break;
            }
        }
        sc.finish()
    }

    fn info(&mut self, info: &Json) {
        self.report.source_database = info.get("name").and_then(Json::as_str).map(str::to_string);
        self.report.exporter_version = info.get("exporter-version").and_then(Json::as_i64);
    }

    fn records(&mut self, sc: &mut Scanner, pass: Pass, progress: &mut impl FnMut(u64)) -> Result<(), OrientError> {
        sc.expect(b'[', "at the start of section \"records\"")?;
        if sc.skip_ws()? == Some(b']') {
            sc.expect(b']', "")?;
            return Ok(());
        }
        let mut n = 0u64;
        loop {
            let at = sc.position();
            let inside = format!("in record {} of section \"records\"", n + 1);
            let record = sc.value::<Json>(&inside)?;
            let Json::Object(o) = record else { return Err(invalid(&at, inside, "a record is not a JSON object")) };
            self.record(&o, &at, pass)?;
            n += 1;
            self.seen += 1;
            if self.seen.is_multiple_of(4096) {
                progress(self.seen);
            }
            if !sc.next_member(b']', "in section \"records\"")? {
                return Ok(());
            }
        }
    }

    /// One record: created if this pass creates its kind.
    fn record(&mut self, o: &Map<String, Json>, at: &Position, pass: Pass) -> Result<(), OrientError> {
        let rid_text = o.get("@rid").and_then(Json::as_str).unwrap_or("?");
        let class = o.get("@class").and_then(Json::as_str);
        let context = format!("record {rid_text} (class {})", class.unwrap_or("none"));
        if o.get("@type").and_then(Json::as_str).is_some_and(|t| t != "d") {
            if pass == Pass::Nodes {
                self.report.skip("blob records (@type b)");
            }
            return Ok(());
        }
        let Some(class) = class else {
            if pass == Pass::Nodes {
                self.report.skip("records without a class (OrientDB's internal records)");
            }
            return Ok(());
        };
        if is_system_class(class) {
            if pass == Pass::Nodes {
                self.report.skip(format!("records of OrientDB's class {class}"));
            }
            return Ok(());
        }
        let old = link(rid_text).ok_or_else(|| invalid(at, &context, "its @rid is missing or not a RID"))?;
        let (known, is_edge, canonical) = {
            let snap = self.db.snapshot();
            let schema = snap.schema();
            match schema.class(class) {
                Some(c) => (true, schema.is_subclass_of(class, EDGE_CLASS), c.name.clone()),
                None => (false, false, String::new()),
            }
        };
        if !known {
            let hint = if self.schema_seen {
                "the schema section does not declare it"
            } else {
                "no schema section came before the records"
            };
            return Err(invalid(at, &context, format!("unknown class '{class}': {hint}")));
        }
        match (pass, is_edge) {
            (Pass::Nodes, false) => self.create_node(o, old, &canonical, at, &context),
            (Pass::Edges, true) => self.create_edge(o, old, &canonical, at, &context),
            _ => Ok(()),
        }
    }

    fn create_node(
        &mut self,
        o: &Map<String, Json>,
        old: Rid,
        class: &str,
        at: &Position,
        context: &str,
    ) -> Result<(), OrientError> {
        let is_vertex = self.db.snapshot().schema().is_subclass_of(class, VERTEX_CLASS);
        let types = field_types(o);
        let bag = |k: &str| {
            is_vertex
                && (k.starts_with("out_") || k.starts_with("in_"))
                && (types.get(k) == Some(&'g') || o.get(k).is_some_and(Json::is_array))
        };
        let fields = fields_except(o, bag).map_err(|m| invalid(at, context, m))?;
        let links = fields.iter().any(|(_, v)| super::values::has_link(v));
        let temp = self.tx.create(class, fields);
        self.in_batch.push((old, temp, links));
        *self.report.records.entry(class.to_string()).or_default() += 1;
        if is_vertex {
            self.report.vertices += 1;
        } else {
            self.report.documents += 1;
        }
        self.flush_if_full()
    }

    fn create_edge(
        &mut self,
        o: &Map<String, Json>,
        old: Rid,
        class: &str,
        at: &Position,
        context: &str,
    ) -> Result<(), OrientError> {
        let end = |name: &str| -> Result<Rid, OrientError> {
            let text = o.get(name).and_then(Json::as_str);
            let rid =
                text.and_then(link).ok_or_else(|| invalid(at, context, format!("the edge has no '{name}' link")))?;
            self.map.get(&rid).copied().ok_or_else(|| {
                invalid(at, context, format!("its '{name}' end {rid} is not a vertex of the export (a broken edge)"))
            })
        };
        let (from, to) = (end("out")?, end("in")?);
        let mut fields = fields_except(o, |k| k == "out" || k == "in").map_err(|m| invalid(at, context, m))?;
        for (_, v) in fields.iter_mut() {
            self.report.dangling_links += remap_or_null(v, &self.map);
        }
        let temp = self.tx.create_edge(class, from, to, fields);
        self.in_batch.push((old, temp, false));
        *self.report.records.entry(class.to_string()).or_default() += 1;
        self.report.edges += 1;
        self.flush_if_full()
    }

    fn flush_if_full(&mut self) -> Result<(), OrientError> {
        if self.in_batch.len() >= self.options.batch.max(1) {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), OrientError> {
        if self.tx.is_empty() {
            return Ok(());
        }
        let tx = std::mem::take(&mut self.tx);
        let first = self.in_batch.first().map(|b| b.0.to_string()).unwrap_or_default();
        let committed = self.commit(&tx, || format!("importing the batch of records from {first}"))?;
        for (old, temp, links) in self.in_batch.drain(..) {
            let new = committed.rid(temp);
            self.map.insert(old, new);
            if links {
                self.fixups.push(new);
            }
        }
        Ok(())
    }

    /// Step 3: links in vertices and documents, exported RIDs until now, become new ones.
    fn rewrite_links(&mut self) -> Result<(), OrientError> {
        let fixups = std::mem::take(&mut self.fixups);
        for chunk in fixups.chunks(self.options.batch.max(1)) {
            let mut tx = Transaction::new();
            {
                let snap = self.db.snapshot();
                for &rid in chunk {
                    let context = || format!("rewriting the links of {rid}");
                    let record =
                        snap.get(rid).map_err(|source| OrientError::Database { context: context(), source })?;
                    let Some(record) = record else { continue };
                    let mut fields = record.fields().map_err(|e| OrientError::Database {
                        context: context(),
                        source: crate::Error::corrupt(self.db.dir(), None, e.to_string()),
                    })?;
                    for (_, v) in fields.iter_mut() {
                        self.report.dangling_links += remap_or_null(v, &self.map);
                    }
                    tx.update(rid, None, fields);
                }
            }
            self.commit(&tx, || "rewriting links".to_string())?;
        }
        Ok(())
    }
}

/// Rewrites links through `map`; a link with no entry becomes null. Returns how many did.
fn remap_or_null(v: &mut Value, map: &HashMap<Rid, Rid>) -> u64 {
    remap(v, &|r| map.get(&r).copied())
}

mod schema;
