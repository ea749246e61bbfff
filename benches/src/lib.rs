//! Shared pieces of Basalt's criterion benchmarks (`benches/benches/`, one file per subsystem):
//! a synthetic social graph made from a fixed seed, loaded into a Basalt database or written
//! as CSV files for the peers, with sample query ids and their expected answers.
//!
//! The graph ([`GraphSpec::standard`]): 100,000 `Person` vertices (`name` string, `age`
//! int, `score` double) and 1,000,000 `knows` edges (`weight` int), exactly 10 out-edges per
//! vertex with uniformly random targets (no self-loops; repeated pairs may occur). Edges are
//! listed by source vertex, the order a dump would have. Everything derives from one seed
//! through SplitMix64, written here so the graph never changes with a dependency's version.
//!
//! Promises: the same [`GraphSpec`] gives the same vertices, edges, CSV bytes, sample ids and
//! answers on every run; vertex `i` of the spec is RID `#<Person cluster>:i` once loaded
//! (the loader creates vertices in file order, before any edge); answers are computed from
//! the spec itself, never from Basalt, so they check Basalt and the peers alike.
//!
//! [`prepare`] builds the shared data once per spec under `<target>/bench-data/<seed>/` (a
//! database, the CSV files of both dialects and `queries.json`) and leaves a marker file, so
//! later bench processes reuse it. Two bench processes preparing at the same time would race;
//! the benches are run one after the other.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use basalt_engine::import::{self, CsvEdgeReader, CsvVertexReader, ImportEdge, ImportItem, ImportVertex, PropValue};
use basalt_engine::{Database, Options, Rid};

/// The seed of the standard graph.
pub const SEED: u64 = 0x00BA_5A17;
/// The vertex class.
pub const VERTEX_CLASS: &str = "Person";
/// The edge class.
pub const EDGE_CLASS: &str = "knows";
/// Sample vertices for point lookups and 1-hop queries.
pub const LOOKUP_SAMPLES: usize = 1000;
/// Sample vertices for 2-hop queries.
pub const TWO_HOP_SAMPLES: usize = 100;
/// Items per transaction when loading.
pub const LOAD_BATCH: usize = 20_000;
/// Written into the marker file; change it when the data layout changes.
const DATA_FORMAT: &str = "basalt-bench-data 1";

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for test data.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (multiply-shift; the bias is below 2^-40 for the sizes used here).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The shape and seed of a synthetic graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphSpec {
    /// Everything random derives from it.
    pub seed: u64,
    /// Number of vertices.
    pub vertices: u64,
    /// Out-edges per vertex.
    pub out_degree: u64,
}

/// One vertex's properties.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    /// `name`: a first name and the vertex number, e.g. `Ada-42`.
    pub name: String,
    /// `age`: 18..=90.
    pub age: i32,
    /// `score`: in [0, 100).
    pub score: f64,
}

/// One edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Knows {
    /// The source vertex number.
    pub source: u64,
    /// The target vertex number.
    pub target: u64,
    /// `weight`: 1..=100.
    pub weight: i32,
}

const FIRST_NAMES: [&str; 16] = [
    "Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace", "John", "Ken", "Leslie", "Margaret",
    "Niklaus", "Radia", "Tony", "Xavier",
];

impl GraphSpec {
    /// The graph of the engine issue: 100k vertices, 1M edges, seed [`SEED`].
    pub fn standard() -> GraphSpec {
        GraphSpec { seed: SEED, vertices: 100_000, out_degree: 10 }
    }

    /// Number of edges.
    pub fn edges(&self) -> u64 {
        self.vertices * self.out_degree
    }

    /// The vertices' properties, in vertex order.
    pub fn people(&self) -> impl Iterator<Item = Person> {
        let mut rng = SplitMix64::new(self.seed ^ 0x5EED_0001);
        (0..self.vertices).map(move |i| Person {
            name: format!("{}-{i}", FIRST_NAMES[rng.below(FIRST_NAMES.len() as u64) as usize]),
            age: 18 + rng.below(73) as i32,
            score: (rng.unit() * 100_000.0).floor() / 1000.0,
        })
    }

    /// The edges, by source vertex.
    pub fn knows(&self) -> impl Iterator<Item = Knows> {
        let mut rng = SplitMix64::new(self.seed ^ 0x5EED_0002);
        let (n, d) = (self.vertices, self.out_degree);
        (0..n * d).map(move |e| {
            let source = e / d;
            // Uniform over the other n-1 vertices.
            let mut target = rng.below(n - 1);
            if target >= source {
                target += 1;
            }
            Knows { source, target, weight: 1 + rng.below(100) as i32 }
        })
    }

    /// Out-adjacency lists, for computing answers.
    pub fn adjacency(&self) -> Vec<Vec<u32>> {
        let mut adj = vec![Vec::with_capacity(self.out_degree as usize); self.vertices as usize];
        for k in self.knows() {
            adj[k.source as usize].push(k.target as u32);
        }
        adj
    }

    /// `count` vertex numbers drawn (with repetition) from a stream seeded by the spec and
    /// `stream`.
    pub fn sample(&self, stream: u64, count: usize) -> Vec<u64> {
        let mut rng = SplitMix64::new(self.seed ^ stream.wrapping_mul(0x9E37_79B9));
        (0..count).map(|_| rng.below(self.vertices)).collect()
    }

    /// The sample for point lookups and 1-hop queries.
    pub fn lookup_ids(&self) -> Vec<u64> {
        self.sample(1, LOOKUP_SAMPLES)
    }

    /// The sample for 2-hop queries.
    pub fn two_hop_ids(&self) -> Vec<u64> {
        self.sample(2, TWO_HOP_SAMPLES)
    }

    /// The whole graph as the importer's items: vertices (class `Person`), then edges. The
    /// vertex id of vertex `i` is `i` in decimal.
    pub fn items(&self) -> impl Iterator<Item = Result<ImportItem, import::ImportError>> {
        let vertices = self.people().enumerate().map(|(i, p)| {
            Ok(ImportItem::Vertex(ImportVertex {
                id: i.to_string(),
                class: Some(VERTEX_CLASS.to_string()),
                props: vec![
                    ("name".to_string(), PropValue::String(p.name)),
                    ("age".to_string(), PropValue::Int(p.age)),
                    ("score".to_string(), PropValue::Double(p.score)),
                ],
            }))
        });
        let edges = self.knows().map(|k| {
            Ok(ImportItem::Edge(ImportEdge {
                id: None,
                label: EDGE_CLASS.to_string(),
                source: k.source.to_string(),
                target: k.target.to_string(),
                props: vec![("weight".to_string(), PropValue::Int(k.weight))],
            }))
        });
        vertices.chain(edges)
    }
}

/// 2-hop answer: distinct vertices reached by exactly two outgoing hops (the start vertex
/// included if a path returns to it), as Cypher's `count(DISTINCT c)` counts them.
pub fn two_hop_size(adj: &[Vec<u32>], start: usize, seen: &mut HashSet<u32>) -> usize {
    seen.clear();
    for &b in &adj[start] {
        seen.extend(adj[b as usize].iter().copied());
    }
    seen.len()
}

/// Which system a CSV file is laid out for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvDialect {
    /// Basalt's importer (`docs/import-csv.md`): typed columns, a `label` column.
    Basalt,
    /// Kuzu's `COPY FROM`: columns in table order, no types, no label.
    Kuzu,
}

/// Writes the graph as `vertices.csv` and `edges.csv` in `dir`; returns their paths.
pub fn write_csv(spec: &GraphSpec, dir: &Path, dialect: CsvDialect) -> std::io::Result<(PathBuf, PathBuf)> {
    fs::create_dir_all(dir)?;
    let (vpath, epath) = (dir.join("vertices.csv"), dir.join("edges.csv"));
    let mut v = BufWriter::new(File::create(&vpath)?);
    let mut e = BufWriter::new(File::create(&epath)?);
    match dialect {
        CsvDialect::Basalt => {
            writeln!(v, "id,name,age:int,score:double")?;
            writeln!(e, "source,target,label,weight:int")?;
        }
        CsvDialect::Kuzu => {
            writeln!(v, "id,name,age,score")?;
            writeln!(e, "source,target,weight")?;
        }
    }
    // Names are letters, digits and '-': no quoting needed.
    for (i, p) in spec.people().enumerate() {
        writeln!(v, "{i},{},{},{}", p.name, p.age, p.score)?;
    }
    for k in spec.knows() {
        match dialect {
            CsvDialect::Basalt => writeln!(e, "{},{},{EDGE_CLASS},{}", k.source, k.target, k.weight)?,
            CsvDialect::Kuzu => writeln!(e, "{},{},{}", k.source, k.target, k.weight)?,
        }
    }
    v.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    e.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok((vpath, epath))
}

/// Loader options for the graph: unnamed vertices go to `Person`.
pub fn load_options() -> import::LoadOptions {
    import::LoadOptions { vertex_class: VERTEX_CLASS.to_string(), batch: LOAD_BATCH }
}

/// Loads the graph from the importer's items (no parsing) into `db`.
pub fn load_items(db: &Database, spec: &GraphSpec) -> Result<import::LoadReport, String> {
    import::load(db, spec.items(), load_options(), |_| {}).map_err(|e| format!("loading the graph: {e}"))
}

/// Loads the graph from Basalt-dialect CSV files into `db`, as `basalt import` would.
pub fn load_csv(db: &Database, vertices: &Path, edges: &Path) -> Result<import::LoadReport, String> {
    let v = CsvVertexReader::open(vertices).map_err(|e| e.to_string())?;
    let e = CsvEdgeReader::open(edges).map_err(|e| e.to_string())?;
    import::load(db, v.chain(e), load_options(), |_| {}).map_err(|e| format!("loading the CSV graph: {e}"))
}

/// The shared data of a spec, ready on disk.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The spec.
    pub spec: GraphSpec,
    /// `<target>/bench-data/<seed>`.
    pub root: PathBuf,
    /// The loaded, checkpointed database (open it read-only in spirit: benches must not
    /// change it).
    pub db_dir: PathBuf,
    /// Basalt-dialect CSV files (vertices, edges).
    pub basalt_csv: (PathBuf, PathBuf),
    /// Kuzu-dialect CSV files (vertices, edges).
    pub kuzu_csv: (PathBuf, PathBuf),
    /// The cluster of `Person`.
    pub vertex_cluster: i32,
}

impl Prepared {
    /// The RID of vertex `i`.
    pub fn vertex_rid(&self, i: u64) -> Rid {
        Rid::new(self.vertex_cluster, i as i64)
    }

    /// Opens the shared database.
    pub fn open(&self) -> Result<Database, String> {
        Database::open(&self.db_dir, Options::default())
            .map(|(db, _)| db)
            .map_err(|e| format!("opening {}: {e}", self.db_dir.display()))
    }
}

/// Where shared bench data lives: `BASALT_BENCH_DATA` if set, else `<target>/bench-data`
/// next to Cargo's `CARGO_TARGET_TMPDIR` (`<target>/tmp`).
pub fn data_base(target_tmpdir: &Path) -> PathBuf {
    match std::env::var_os("BASALT_BENCH_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => target_tmpdir.parent().unwrap_or(target_tmpdir).join("bench-data"),
    }
}

fn marker(spec: &GraphSpec) -> String {
    format!("{DATA_FORMAT} seed={:x} vertices={} out_degree={}\n", spec.seed, spec.vertices, spec.out_degree)
}

/// Makes sure the shared data of `spec` exists in `<base>/<seed in hex>` (building it if the
/// marker is missing or stale, which takes a bulk load) and checks the database against the
/// spec.
pub fn prepare(base: &Path, spec: &GraphSpec) -> Result<Prepared, String> {
    let root = base.join(format!("{:x}", spec.seed));
    let io = |what: &str, e: std::io::Error| format!("{what} under {}: {e}", root.display());
    let mut p = Prepared {
        spec: *spec,
        db_dir: root.join("db"),
        basalt_csv: (root.join("basalt/vertices.csv"), root.join("basalt/edges.csv")),
        kuzu_csv: (root.join("kuzu/vertices.csv"), root.join("kuzu/edges.csv")),
        vertex_cluster: 0,
        root: root.clone(),
    };
    let marker_path = root.join("READY");
    let ready = fs::read_to_string(&marker_path).is_ok_and(|m| m == marker(spec));
    if !ready {
        eprintln!("bench data: building {} (one bulk load; reused by later runs)", root.display());
        if root.exists() {
            fs::remove_dir_all(&root).map_err(|e| io("removing stale data", e))?;
        }
        fs::create_dir_all(&root).map_err(|e| io("creating", e))?;
        write_csv(spec, &root.join("basalt"), CsvDialect::Basalt).map_err(|e| io("writing CSV", e))?;
        write_csv(spec, &root.join("kuzu"), CsvDialect::Kuzu).map_err(|e| io("writing CSV", e))?;
        write_queries(spec, &root.join("queries.json")).map_err(|e| io("writing queries.json", e))?;
        let (db, _) = Database::create(&p.db_dir, Options::default()).map_err(|e| format!("creating db: {e}"))?;
        load_items(&db, spec)?;
        db.close().map_err(|e| format!("closing the loaded db: {e}"))?;
    }
    let db = p.open()?;
    p.vertex_cluster = check_loaded(&db, spec)?;
    if !ready {
        fs::write(&marker_path, marker(spec)).map_err(|e| io("writing the marker", e))?;
    }
    Ok(p)
}

/// The standard graph's shared data, prepared under `data_base(target_tmpdir)`, and its
/// database opened.
pub fn shared(target_tmpdir: &Path) -> Result<(Prepared, Database), String> {
    let p = prepare(&data_base(target_tmpdir), &GraphSpec::standard())?;
    let db = p.open()?;
    Ok((p, db))
}

/// Checks counts and a sample of vertices against the spec; returns `Person`'s cluster.
fn check_loaded(db: &Database, spec: &GraphSpec) -> Result<i32, String> {
    let snap = db.snapshot();
    let count = |class: &str| snap.count(class, false).map_err(|e| format!("counting {class}: {e}"));
    if count(VERTEX_CLASS)? != spec.vertices || count(EDGE_CLASS)? != spec.edges() {
        return Err(format!("the loaded database does not hold the spec's graph: {spec:?}"));
    }
    let clusters = snap.clusters_of(VERTEX_CLASS, false).map_err(|e| e.to_string())?;
    let [cluster] = clusters[..] else { return Err(format!("{VERTEX_CLASS} has clusters {clusters:?}")) };
    let people: Vec<Person> = spec.people().collect();
    for i in spec.sample(3, 50) {
        let rid = Rid::new(cluster, i as i64);
        let r = snap.get(rid).map_err(|e| e.to_string())?.ok_or(format!("vertex {rid} is missing"))?;
        let name = r.field("name").map_err(|e| e.to_string())?;
        if name.as_ref().and_then(|v| v.as_str()) != Some(people[i as usize].name.as_str()) {
            return Err(format!("vertex {rid} has name {name:?}, the spec says {}", people[i as usize].name));
        }
    }
    Ok(cluster)
}

/// Expected answers for the sample queries.
#[derive(Debug, Clone)]
pub struct Answers {
    /// (vertex, its name) for each lookup id.
    pub lookups: Vec<(u64, String)>,
    /// (vertex, out-degree) for each lookup id.
    pub one_hop: Vec<(u64, usize)>,
    /// (vertex, 2-hop distinct size) for each 2-hop id.
    pub two_hop: Vec<(u64, usize)>,
    /// Sum of `age` over every vertex (the class-scan check).
    pub age_sum: i64,
}

/// Computes the answers from the spec.
pub fn answers(spec: &GraphSpec) -> Answers {
    let people: Vec<Person> = spec.people().collect();
    let adj = spec.adjacency();
    let ids = spec.lookup_ids();
    let mut seen = HashSet::new();
    Answers {
        lookups: ids.iter().map(|&i| (i, people[i as usize].name.clone())).collect(),
        one_hop: ids.iter().map(|&i| (i, adj[i as usize].len())).collect(),
        two_hop: spec.two_hop_ids().iter().map(|&i| (i, two_hop_size(&adj, i as usize, &mut seen))).collect(),
        age_sum: people.iter().map(|p| i64::from(p.age)).sum(),
    }
}

/// Writes the sample queries and answers as JSON for the peer scripts.
fn write_queries(spec: &GraphSpec, path: &Path) -> std::io::Result<()> {
    let a = answers(spec);
    let pairs =
        |v: &[(u64, usize)]| v.iter().map(|(i, n)| serde_json::json!({"id": i, "count": n})).collect::<Vec<_>>();
    let json = serde_json::json!({
        "seed": format!("{:x}", spec.seed),
        "vertices": spec.vertices,
        "edges": spec.edges(),
        "lookup": a.lookups.iter().map(|(i, n)| serde_json::json!({"id": i, "name": n})).collect::<Vec<_>>(),
        "one_hop": pairs(&a.one_hop),
        "two_hop": pairs(&a.two_hop),
        "age_sum": a.age_sum,
    });
    fs::write(path, serde_json::to_vec_pretty(&json)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_graph_is_deterministic_and_has_its_shape() {
        let spec = GraphSpec { seed: 7, vertices: 1000, out_degree: 10 };
        let a: Vec<Knows> = spec.knows().collect();
        assert_eq!(a, spec.knows().collect::<Vec<_>>());
        assert_eq!(a.len() as u64, spec.edges());
        assert!(a.iter().all(|k| k.source != k.target && k.target < 1000 && (1..=100).contains(&k.weight)));
        let people: Vec<Person> = spec.people().collect();
        assert!(people.iter().all(|p| (18..=90).contains(&p.age) && (0.0..100.0).contains(&p.score)));
        assert_ne!(spec.knows().next(), GraphSpec { seed: 8, ..spec }.knows().next());
    }

    #[test]
    fn a_small_graph_loads_with_the_promised_rids_and_answers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = GraphSpec { seed: 3, vertices: 300, out_degree: 4 };
        let p = prepare(dir.path(), &spec).expect("prepare");
        let db = p.open().expect("open");
        let snap = db.snapshot();
        let a = answers(&spec);
        for (i, n) in &a.one_hop {
            let got = snap.neighbours(p.vertex_rid(*i), Some(basalt_engine::Direction::Out), &[EDGE_CLASS]).unwrap();
            assert_eq!(got.len(), *n);
        }
        drop(snap);
        drop(db);
        // The second call reuses the data (the marker is there).
        let again = prepare(dir.path(), &spec).expect("prepare again");
        assert_eq!(again.vertex_cluster, p.vertex_cluster);
    }
}
