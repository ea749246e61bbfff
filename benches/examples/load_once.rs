//! One bulk load of the bench graph, timed, outside criterion: for profiling (`perf record`,
//! `valgrind --tool=callgrind`) and for a quick figure while changing the engine.
//!
//! `cargo run --release -p basalt-benches --example load_once -- [csv|items] [vertices]`:
//! `csv` loads the standard graph's Basalt-dialect CSV files (prepared as the benches do),
//! `items` the importer's items made in memory, of the standard graph or, given a vertex
//! count, of a smaller one with the same seed and degree (callgrind is ~50x slower).

use std::path::{Path, PathBuf};
use std::time::Instant;

use basalt_benches::{data_base, load_csv, load_items, prepare, GraphSpec};
use basalt_engine::{Database, Options};

fn main() -> Result<(), String> {
    let source = std::env::args().nth(1).unwrap_or_else(|| "csv".to_string());
    let mut spec = GraphSpec::standard();
    if let Some(n) = std::env::args().nth(2) {
        spec.vertices = n.parse().map_err(|e| format!("vertex count {n:?}: {e}"))?;
    }
    let target_tmp = PathBuf::from(std::env::var("CARGO_TARGET_TMPDIR").unwrap_or_else(|_| "target/tmp".into()));
    let csv = match source.as_str() {
        "csv" => Some(prepare(&data_base(Path::new(&target_tmp)), &spec)?.basalt_csv),
        "items" => None,
        other => return Err(format!("unknown source {other:?}: csv or items")),
    };
    std::fs::create_dir_all(&target_tmp).map_err(|e| e.to_string())?;
    let dir = tempfile::Builder::new().prefix("load-once-").tempdir_in(&target_tmp).map_err(|e| e.to_string())?;
    let (db, _) = Database::create(dir.path().join("db"), Options::default()).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let report = match &csv {
        Some((vertices, edges)) => load_csv(&db, vertices, edges)?,
        None => load_items(&db, &spec)?,
    };
    let load = start.elapsed();
    let start = Instant::now();
    db.close().map_err(|e| e.to_string())?;
    println!(
        "{source}: {} vertices, {} edges in {} batches: load {:.2} s ({:.0} edges/s), close {:.2} s",
        report.vertices,
        report.edges,
        report.batches,
        load.as_secs_f64(),
        report.edges as f64 / load.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
