//! What `basalt-import` does: load a GraphML file, Basalt's CSV pair, or OrientDB's JSON
//! export into a database, offline (a stopped home or a database directory) or online
//! (through a running server's `POST /import/{db}`).
//!
//! # What it promises
//! - **Never a silent second copy.** Loading into a database that already holds records (or
//!   classes beyond `V` and `E`) is refused unless `--append` is given; an OrientDB export
//!   only ever goes into an empty or new database.
//! - **All or nothing.** The load runs on a copy aside: a new database is built in
//!   `.<name>.importing` next to where it belongs, an existing one is first copied there, and
//!   only a load that finished and closed cleanly is moved into place (the old directory is
//!   then removed). A failed or interrupted load leaves the database as it was and no new
//!   directory behind (a leftover `.importing` directory of a killed run is removed by the
//!   next run).
//! - **No server underneath.** With `--home`, the home's lock is held throughout, so a
//!   server cannot start on it meanwhile; a running server is named and refused.

use std::fs::{self, File};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use basalt_engine::import::orientdb::{self, ImportOptions, Source};
use basalt_engine::import::{
    load, CsvEdgeReader, CsvVertexReader, GraphmlReader, ImportError, ImportItem, LoadOptions,
};
use basalt_engine::{Database, Options};

use crate::progress::Progress;

/// What to load.
#[derive(Debug, Clone)]
pub enum Input {
    /// A GraphML file.
    Graphml(PathBuf),
    /// Basalt's CSV format: a vertices file and/or an edges file.
    Csv {
        /// The vertices file.
        vertices: Option<PathBuf>,
        /// The edges file.
        edges: Option<PathBuf>,
    },
    /// OrientDB's export (`.json.gz` or `.json`).
    OrientDb(PathBuf),
}

/// How to load offline.
#[derive(Debug, Clone)]
pub struct Offline {
    /// The database directory.
    pub dir: PathBuf,
    /// The server home it is in, if known (its lock is held while loading).
    pub home: Option<PathBuf>,
    /// Create the database (it must not exist).
    pub create: bool,
    /// Add to a database that holds records.
    pub append: bool,
    /// The class of vertices that name none (GraphML and CSV).
    pub vertex_class: String,
    /// Items per transaction.
    pub batch: usize,
    /// No progress output.
    pub quiet: bool,
}

/// What a load did, for the summary line and `--json`.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Where the database is.
    pub database: PathBuf,
    /// Vertices created.
    pub vertices: u64,
    /// Edges created.
    pub edges: u64,
    /// Plain documents created (OrientDB exports).
    pub documents: u64,
    /// Classes created.
    pub classes_created: Vec<String>,
    /// Seconds taken.
    pub seconds: f64,
    /// What an OrientDB import left out, by reason.
    pub skipped: std::collections::BTreeMap<String, u64>,
}

/// Counts the bytes read through it, for the progress bar.
struct Counting<R> {
    /// The input.
    inner: R,
    /// Bytes read so far.
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn open_counted(path: &Path, read: &Arc<AtomicU64>) -> Result<(BufReader<Counting<File>>, u64), String> {
    let f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((BufReader::new(Counting { inner: f, read: read.clone() }), len))
}

type Items = Box<dyn Iterator<Item = Result<ImportItem, ImportError>>>;

fn items(input: &Input, read: &Arc<AtomicU64>) -> Result<(Items, u64), String> {
    match input {
        Input::Graphml(path) => {
            let (r, len) = open_counted(path, read)?;
            Ok((Box::new(GraphmlReader::new(r, path.display().to_string())), len))
        }
        Input::Csv { vertices, edges } => {
            let mut total = 0;
            let mut chain: Items = Box::new(std::iter::empty());
            if let Some(path) = vertices {
                let (r, len) = open_counted(path, read)?;
                total += len;
                let v = CsvVertexReader::new(r, path.display().to_string()).map_err(|e| e.to_string())?;
                chain = Box::new(chain.chain(v));
            }
            if let Some(path) = edges {
                let (r, len) = open_counted(path, read)?;
                total += len;
                let e = CsvEdgeReader::new(r, path.display().to_string()).map_err(|e| e.to_string())?;
                chain = Box::new(chain.chain(e));
            }
            Ok((chain, total))
        }
        Input::OrientDb(_) => Err("an OrientDB export is not an item stream".into()),
    }
}

/// The staging directory beside `dir`: `.<name>.importing`.
fn staging_of(dir: &Path) -> Result<PathBuf, String> {
    let name = dir.file_name().ok_or_else(|| format!("{}: not a database directory", dir.display()))?;
    Ok(dir.with_file_name(format!(".{}.importing", name.to_string_lossy())))
}

/// Loads offline (see the module docs).
pub fn offline(input: &Input, o: &Offline) -> Result<Report, String> {
    let started = Instant::now();
    let _lock = match &o.home {
        Some(home) => Some(
            crate::snapshot::lock_home(home)
                .map_err(|e| e.replace("take the snapshot online with --url", "import online with --url"))?,
        ),
        None => None,
    };
    let staging = staging_of(&o.dir)?;
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(|e| format!("{}: {e}", staging.display()))?;
    }
    let exists = o.dir.exists();
    match (o.create, exists) {
        (true, true) => {
            return Err(format!("{}: the database exists; leave out --create to add to it", o.dir.display()))
        }
        (false, false) => return Err(format!("{}: no such database; add --create to create it", o.dir.display())),
        (false, true) => {
            refuse_if_holds_data(input, o)?;
            crate::snapshot::copy_tree(&o.dir, &staging)?;
        }
        (true, false) => {}
    }
    let result = load_into(input, o, &staging);
    match result {
        Ok(mut report) => {
            install(&staging, &o.dir)?;
            report.database = o.dir.clone();
            report.seconds = started.elapsed().as_secs_f64();
            Ok(report)
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            let kept = if exists { "the database is as it was" } else { "no database was created" };
            Err(format!("{e}\nnothing was imported: {kept}"))
        }
    }
}

/// Refuses a database that holds data, unless `--append` (never for an OrientDB export).
fn refuse_if_holds_data(input: &Input, o: &Offline) -> Result<(), String> {
    let (db, _) = Database::open(&o.dir, Options::default()).map_err(|e| format!("{}: {e}", o.dir.display()))?;
    let full = orientdb::holds_data(&db);
    let records: u64 = {
        let snap = db.snapshot();
        let schema = snap.schema();
        schema.classes.values().flat_map(|c| c.clusters.iter()).map(|&c| snap.cluster_count(c)).sum()
    };
    db.close().map_err(|e| format!("{}: {e}", o.dir.display()))?;
    if !full {
        return Ok(());
    }
    if matches!(input, Input::OrientDb(_)) {
        return Err(format!(
            "{}: the database already holds {records} records; an OrientDB export goes into an empty or new database (use --create with a new name)",
            o.dir.display()
        ));
    }
    if !o.append {
        return Err(format!(
            "{}: the database already holds {records} records; importing again would add a second copy. Give --append to add to it anyway, or --create with a new name",
            o.dir.display()
        ));
    }
    Ok(())
}

/// Loads `input` into the database at `dir` (created if absent), closing it.
fn load_into(input: &Input, o: &Offline, dir: &Path) -> Result<Report, String> {
    if let Input::OrientDb(path) = input {
        fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut progress = Progress::records("import", o.quiet);
        let source = Source::file(path);
        let options = ImportOptions { batch: o.batch.max(1) };
        let r = if dir.exists() {
            let (db, _) = Database::open(dir, Options::default()).map_err(|e| format!("{}: {e}", dir.display()))?;
            let r = orientdb::load(&db, &source, &options, |n| progress.set(n)).map_err(|e| e.to_string());
            db.close().map_err(|e| e.to_string())?;
            r?
        } else {
            orientdb::import_new(dir, Options::default(), &source, &options, |n| progress.set(n))
                .map_err(|e| e.to_string())?
        };
        progress.finish();
        return Ok(Report {
            vertices: r.vertices,
            edges: r.edges,
            documents: r.documents,
            classes_created: r.classes_created,
            skipped: r.skipped,
            ..Report::default()
        });
    }
    let opened =
        if dir.exists() { Database::open(dir, Options::default()) } else { Database::create(dir, Options::default()) };
    let (db, _) = opened.map_err(|e| format!("{}: {e}", dir.display()))?;
    let read = Arc::new(AtomicU64::new(0));
    let loaded = items(input, &read).and_then(|(items, total)| {
        let mut progress = Progress::bytes("import", total, o.quiet);
        let options = LoadOptions { vertex_class: o.vertex_class.clone(), batch: o.batch.max(1) };
        let r = load(&db, items, options, |_| progress.set(read.load(Ordering::Relaxed))).map_err(|e| e.to_string());
        progress.finish();
        r
    });
    let closed = db.close().map_err(|e| e.to_string());
    let r = loaded?;
    closed?;
    Ok(Report { vertices: r.vertices, edges: r.edges, classes_created: r.classes_created, ..Report::default() })
}

/// Moves the finished `staging` to `dir`, replacing (and then removing) what was there.
fn install(staging: &Path, dir: &Path) -> Result<(), String> {
    let old =
        dir.with_file_name(format!(".{}.replaced", dir.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
    let _ = fs::remove_dir_all(&old);
    if dir.exists() {
        fs::rename(dir, &old).map_err(|e| format!("moving {} aside: {e}", dir.display()))?;
    }
    if let Err(e) = fs::rename(staging, dir) {
        if old.exists() {
            let _ = fs::rename(&old, dir);
        }
        return Err(format!("moving the import into {}: {e}", dir.display()));
    }
    if let Some(parent) = dir.parent() {
        let _ = File::open(parent).and_then(|d| d.sync_all());
    }
    let _ = fs::remove_dir_all(&old);
    Ok(())
}

/// Uploads `input` to a running server (`POST /import/{db}`), which creates the database
/// or fills an empty one; returns the server's answer. An OrientDB export is sent as it is,
/// a GraphML or CSV input is first turned into one ([`graph_as_export`]).
pub fn online(
    url: &str,
    user: &str,
    password: &str,
    db: &str,
    input: &Input,
    vertex_class: &str,
) -> Result<serde_json::Value, String> {
    let body = match input {
        Input::OrientDb(file) => fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?,
        other => graph_as_export(other, vertex_class)?,
    };
    let url = format!("{}/import/{db}", url.trim_end_matches('/'));
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let auth = format!("Basic {}", crate::console::client::base64(&format!("{user}:{password}")));
    let mut response = agent
        .post(&url)
        .header("Authorization", &auth)
        .header("Content-Type", "application/octet-stream")
        .send(&body[..])
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    if status != 200 {
        return Err(format!("{url}: the server answered {status}: {}", text.trim()));
    }
    serde_json::from_str(&text).map_err(|e| format!("{url}: the answer is not JSON: {e}"))
}

/// The largest graph file `--url` converts (it is turned into an export in memory, and the
/// server bounds the body by `max_body_bytes` anyway).
pub const ONLINE_INPUT_BYTES_MAX: u64 = 256 << 20;

/// Turns a GraphML or CSV input into OrientDB's export (plain JSON), as the server's
/// `POST /import/{db}` takes it: a class per vertex class (extending `V`) and per edge label
/// (extending `E`), vertices in order of first appearance (as an edge end too, as the
/// offline loader does), then the edges.
pub fn graph_as_export(input: &Input, vertex_class: &str) -> Result<Vec<u8>, String> {
    use basalt_engine::import::PropValue;
    use serde_json::{json, Map, Value as Json};
    use std::collections::HashMap;

    let read = Arc::new(AtomicU64::new(0));
    let (items, total) = items(input, &read)?;
    if total > ONLINE_INPUT_BYTES_MAX {
        return Err(format!(
            "the input has {total} bytes, more than --url converts ({ONLINE_INPUT_BYTES_MAX}); import it offline"
        ));
    }
    let mut classes: Vec<(String, &str)> = Vec::new();
    let mut vertices: Vec<(String, Vec<(String, PropValue)>)> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut edges = Vec::new();
    let class_index = |name: &str, base: &'static str, classes: &mut Vec<(String, &str)>| -> usize {
        match classes.iter().position(|(c, _)| c == name) {
            Some(i) => i,
            None => {
                classes.push((name.to_string(), base));
                classes.len() - 1
            }
        }
    };
    for item in items {
        match item.map_err(|e| e.to_string())? {
            ImportItem::Vertex(v) => {
                let class = v.class.unwrap_or_else(|| vertex_class.to_string());
                class_index(&class, "V", &mut classes);
                match by_id.get(&v.id) {
                    Some(&i) => vertices[i] = (class, v.props),
                    None => {
                        by_id.insert(v.id.clone(), vertices.len());
                        vertices.push((class, v.props));
                    }
                }
            }
            ImportItem::Edge(e) => {
                class_index(&e.label, "E", &mut classes);
                for end in [&e.source, &e.target] {
                    if !by_id.contains_key(end) {
                        by_id.insert(end.clone(), vertices.len());
                        vertices.push((vertex_class.to_string(), Vec::new()));
                    }
                }
                edges.push(e);
            }
        }
    }
    let cluster = |class: &str| 100 + classes.iter().position(|(c, _)| c == class).unwrap_or(0) as i64;
    let props = |m: &mut Map<String, Json>, props: Vec<(String, PropValue)>| {
        let mut types = Vec::new();
        for (k, v) in props {
            let (j, t) = match v {
                PropValue::String(s) => (json!(s), None),
                PropValue::Int(i) => (json!(i), None),
                PropValue::Long(l) => (json!(l), Some('l')),
                PropValue::Float(f) => (json!(f), Some('f')),
                PropValue::Double(d) => (json!(d), Some('d')),
                PropValue::Bool(b) => (json!(b), None),
            };
            if let Some(t) = t {
                types.push(format!("{k}={t}"));
            }
            m.insert(k, j);
        }
        types
    };
    let mut positions: HashMap<i64, i64> = HashMap::new();
    let mut rid_of = |class: &str| {
        let c = cluster(class);
        let p = positions.entry(c).or_insert(0);
        *p += 1;
        format!("#{c}:{}", *p - 1)
    };
    let mut records = Vec::new();
    let mut vertex_rids = Vec::new();
    for (class, p) in vertices {
        let rid = rid_of(&class);
        let mut m = Map::new();
        m.insert("@type".into(), json!("d"));
        m.insert("@rid".into(), json!(rid));
        m.insert("@version".into(), json!(1));
        m.insert("@class".into(), json!(class));
        let types = props(&mut m, p);
        if !types.is_empty() {
            m.insert("@fieldTypes".into(), json!(types.join(",")));
        }
        vertex_rids.push(rid);
        records.push(Json::Object(m));
    }
    for e in edges {
        let (from, to) = (&vertex_rids[by_id[&e.source]], &vertex_rids[by_id[&e.target]]);
        let mut m = Map::new();
        m.insert("@type".into(), json!("d"));
        m.insert("@rid".into(), json!(rid_of(&e.label)));
        m.insert("@version".into(), json!(1));
        m.insert("@class".into(), json!(e.label));
        m.insert("out".into(), json!(from));
        m.insert("in".into(), json!(to));
        let mut types = vec!["out=x".to_string(), "in=x".to_string()];
        types.extend(props(&mut m, e.props));
        m.insert("@fieldTypes".into(), json!(types.join(",")));
        records.push(Json::Object(m));
    }
    let classes: Vec<Json> = classes
        .iter()
        .filter(|(c, _)| !c.eq_ignore_ascii_case("V") && !c.eq_ignore_ascii_case("E"))
        .map(|(c, base)| json!({"name": c, "default-cluster-id": cluster(c), "cluster-ids": [cluster(c)], "super-classes": [base]}))
        .collect();
    let export = json!({
        "info": {"name": "basalt-import", "exporter-version": orientdb::EXPORTER_VERSION},
        "schema": {"version": 1, "classes": classes},
        "records": records,
    });
    // Plain JSON: the server takes it as well as gzip.
    serde_json::to_vec(&export).map_err(|e| e.to_string())
}
