//! `sql_traversal`: the overhead of SQL over the engine API, on the Grateful Dead graph
//! (`data/grateful-dead/graph-example-2.xml`, 809 vertices, 8049 edges), warm.
//!
//! - `sql_two_hop`: `SELECT out('followed_by').out('followed_by').asSet().size() FROM #9:164`
//!   through `basalt_server::query::run` (parse, plan, evaluate, JSON), the distinct vertices
//!   two `followed_by` hops from DARK STAR.
//! - `engine_two_hop`: the same traversal with `Snapshot::neighbours` into a `HashSet`, a
//!   snapshot per query.
//!
//! Both answers are checked (251, from `tests/data/grateful-dead/expected.json`) before
//! timing. The ratio of the two times is the SQL layer's overhead on a 1,565-path query; the
//! bench also prints it measured with the two queries alternating, which a busy machine
//! skews less than two separate timings.

use std::collections::HashSet;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use basalt_engine::import::{load, GraphmlReader, LoadOptions};
use basalt_engine::{Database, Direction, Options, Rid};
use basalt_server::query::{run, Access, Params, QueryRequest};
use criterion::{criterion_group, criterion_main, Criterion};

const DARK_STAR: Rid = Rid::new(9, 164);
const EXPECTED: u64 = 251;
/// Rounds of the interleaved ratio measurement.
const RATIO_ROUNDS: u32 = 5000;
const SQL: &str = "SELECT out('followed_by').out('followed_by').asSet().size() FROM #9:164";

fn engine_two_hop(db: &Database) -> usize {
    let snap = db.snapshot();
    let mut seen = HashSet::new();
    for (_, b) in snap.neighbours(DARK_STAR, Some(Direction::Out), &["followed_by"]).expect("neighbours") {
        for (_, c) in snap.neighbours(b, Some(Direction::Out), &["followed_by"]).expect("neighbours") {
            seen.insert(c);
        }
    }
    seen.len()
}

fn sql_two_hop(db: &Database, req: &QueryRequest) -> u64 {
    let rows = run(db, req).expect("the query runs");
    rows[0].as_object().and_then(|o| o.values().rev().find_map(|v| v.as_u64())).expect("a count")
}

fn sql_traversal(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (db, _) = Database::create(dir.path(), Options::default()).expect("a database");
    let file = std::fs::File::open(root.join("data/grateful-dead/graph-example-2.xml")).expect("the GraphML");
    let reader = GraphmlReader::new(std::io::BufReader::new(file), "graph-example-2.xml");
    load(&db, reader, LoadOptions { batch: 1000, ..LoadOptions::default() }, |_| {}).expect("the graph loads");
    let req = QueryRequest {
        text: SQL.to_string(),
        params: Params::default(),
        access: Access::Read,
        limit: None,
        transaction: false,
    };
    assert_eq!(engine_two_hop(&db) as u64, EXPECTED);
    assert_eq!(sql_two_hop(&db, &req), EXPECTED);

    let mut group = c.benchmark_group("sql_traversal");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("engine_two_hop", |b| b.iter(|| black_box(engine_two_hop(&db))));
    group.bench_function("sql_two_hop", |b| b.iter(|| black_box(sql_two_hop(&db, &req))));
    group.finish();

    // Criterion times the two one after the other; on a busy machine the load drifts between
    // them. Alternating the two queries gives a ratio both sides of which saw the same load.
    let (mut engine, mut sql) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..RATIO_ROUNDS {
        let t = Instant::now();
        black_box(engine_two_hop(&db));
        engine += t.elapsed();
        let t = Instant::now();
        black_box(sql_two_hop(&db, &req));
        sql += t.elapsed();
    }
    let per = |d: Duration| d.as_secs_f64() * 1e6 / RATIO_ROUNDS as f64;
    println!(
        "sql_traversal: interleaved over {RATIO_ROUNDS} rounds: engine {:.1} µs, SQL {:.1} µs, SQL/engine = {:.2}",
        per(engine),
        per(sql),
        sql.as_secs_f64() / engine.as_secs_f64()
    );
}

criterion_group!(benches, sql_traversal);
criterion_main!(benches);
