//! `basalt-import`: loads a GraphML file, or Basalt's two-file CSV format, into a database,
//! with a progress bar. Offline: the database's lock keeps a running server out.

use std::fs::File;
use std::io::{BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use basalt_engine::import::{
    load, CsvEdgeReader, CsvVertexReader, GraphmlReader, ImportError, ImportItem, LoadOptions,
};
use basalt_engine::{Database, Options};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "basalt-import",
    version,
    about = "Loads a graph into a Basalt database: GraphML, or CSV (a vertices file and an edges file).",
    long_about = "Loads a graph into a Basalt database, the way OrientDB's GraphML import did: every vertex \
into V (or the class its row or node names), each edge label an edge class extending E, every property kept. \
Vertices get RIDs in order of first appearance. Run it while no server uses the database (the database's lock \
refuses a second user). CSV format: docs/import-csv.md.",
    after_help = "Examples:\n  basalt-import --home ./basalt-home --database Music --create --graphml graph.xml\n  \
basalt-import --db /tmp/social --create --vertices people.csv --edges knows.csv"
)]
struct Args {
    /// The database directory.
    #[arg(long, conflicts_with_all = ["home", "database"], required_unless_present = "database")]
    db: Option<PathBuf>,
    /// A server home: the database is HOME/databases/DATABASE.
    #[arg(long, requires = "database")]
    home: Option<PathBuf>,
    /// The database name in --home.
    #[arg(long)]
    database: Option<String>,
    /// Create the database (it must not exist).
    #[arg(long)]
    create: bool,
    /// A GraphML file.
    #[arg(long, conflicts_with_all = ["vertices", "edges"], required_unless_present_any = ["vertices", "edges"])]
    graphml: Option<PathBuf>,
    /// A CSV vertices file.
    #[arg(long)]
    vertices: Option<PathBuf>,
    /// A CSV edges file (after the vertices file).
    #[arg(long)]
    edges: Option<PathBuf>,
    /// The class of vertices that name none.
    #[arg(long, default_value = "V")]
    vertex_class: String,
    /// Items per transaction.
    #[arg(long, default_value_t = 20_000)]
    batch: usize,
}

/// Counts the bytes read through it, for the progress bar.
struct Counting<R> {
    inner: R,
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

fn items(args: &Args, read: &Arc<AtomicU64>) -> Result<(Items, u64), String> {
    if let Some(path) = &args.graphml {
        let (r, len) = open_counted(path, read)?;
        return Ok((Box::new(GraphmlReader::new(r, path.display().to_string())), len));
    }
    let mut total = 0;
    let mut chain: Items = Box::new(std::iter::empty());
    if let Some(path) = &args.vertices {
        let (r, len) = open_counted(path, read)?;
        total += len;
        let v = CsvVertexReader::new(r, path.display().to_string()).map_err(|e| e.to_string())?;
        chain = Box::new(chain.chain(v));
    }
    if let Some(path) = &args.edges {
        let (r, len) = open_counted(path, read)?;
        total += len;
        let e = CsvEdgeReader::new(r, path.display().to_string()).map_err(|e| e.to_string())?;
        chain = Box::new(chain.chain(e));
    }
    Ok((chain, total))
}

fn run(args: Args) -> Result<(), String> {
    let dir = match (&args.db, &args.home, &args.database) {
        (Some(d), _, _) => d.clone(),
        (None, Some(h), Some(n)) => h.join("databases").join(n),
        (None, None, Some(n)) => PathBuf::from("basalt-home").join("databases").join(n),
        _ => return Err("name the database with --db DIR, or --home HOME --database NAME".into()),
    };
    let opened =
        if args.create { Database::create(&dir, Options::default()) } else { Database::open(&dir, Options::default()) };
    let (db, _) = opened.map_err(|e| format!("{}: {e}", dir.display()))?;
    let read = Arc::new(AtomicU64::new(0));
    let (items, total) = items(&args, &read)?;
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut last_line = Instant::now();
    let progress = |n: u64| {
        let done = read.load(Ordering::Relaxed);
        let pct = if total > 0 { done as f64 * 100.0 / total as f64 } else { 100.0 };
        if tty {
            let width = 40;
            let filled = ((pct / 100.0) * width as f64) as usize;
            eprint!(
                "\r[{}{}] {pct:5.1}%  {n} items",
                "#".repeat(filled.min(width)),
                " ".repeat(width - filled.min(width))
            );
            let _ = std::io::stderr().flush();
        } else if last_line.elapsed().as_secs() >= 5 {
            eprintln!("{pct:5.1}%  {n} items");
            last_line = Instant::now();
        }
    };
    let report =
        load(&db, items, LoadOptions { vertex_class: args.vertex_class.clone(), batch: args.batch.max(1) }, progress)
            .map_err(|e| e.to_string())?;
    if tty {
        eprintln!();
    }
    db.close().map_err(|e| e.to_string())?;
    println!(
        "imported {} vertices and {} edges into {} in {:.1}s{}",
        report.vertices,
        report.edges,
        dir.display(),
        started.elapsed().as_secs_f64(),
        if report.classes_created.is_empty() {
            String::new()
        } else {
            format!("; created classes {}", report.classes_created.join(", "))
        }
    );
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("basalt-import: {e}");
            ExitCode::FAILURE
        }
    }
}
