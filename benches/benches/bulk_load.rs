//! `bulk_load`: loading the whole 100k-vertex / 1M-edge graph into a fresh database.
//!
//! - `csv`: from the Basalt-dialect CSV files (parse + load, `import::load` in batches of
//!   20,000 items, one durable transaction each), the input Kuzu's `COPY FROM` gets.
//!   Target: under 10 s.
//! - `items`: the same load from the importer's items made in memory (no parsing), to tell
//!   parsing from storing.
//!
//! The clock covers the load only: creating the empty database before and closing it
//! (a final checkpoint) after are not counted; every batch is durable in the WAL when the
//! load returns. Throughput is in edges per second. Few samples: one load takes seconds.

use std::path::Path;
use std::time::{Duration, Instant};

use basalt_benches::{data_base, load_csv, load_items, prepare, GraphSpec};
use basalt_engine::{Database, Options};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};

/// Runs `iters` loads, each into a new database; returns the time spent loading.
fn timed_loads(iters: u64, load: impl Fn(&Database)) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let dir = tempfile::Builder::new()
            .prefix("bulk-load-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("a temporary directory under CARGO_TARGET_TMPDIR");
        let (db, _) = Database::create(dir.path().join("db"), Options::default()).expect("create the db");
        let start = Instant::now();
        load(&db);
        total += start.elapsed();
        drop(db);
    }
    total
}

fn bulk_load(c: &mut Criterion) {
    let spec = GraphSpec::standard();
    let p = prepare(&data_base(Path::new(env!("CARGO_TARGET_TMPDIR"))), &spec).expect("the shared bench data");
    let mut group = c.benchmark_group("bulk_load");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(40));
    group.throughput(Throughput::Elements(spec.edges()));
    let check = |r: basalt_engine::import::LoadReport| {
        assert_eq!((r.vertices, r.edges), (spec.vertices, spec.edges()), "the whole graph loaded");
    };
    group.bench_function("csv", |b| {
        b.iter_custom(|iters| {
            timed_loads(iters, |db| check(load_csv(db, &p.basalt_csv.0, &p.basalt_csv.1).expect("load the CSV")))
        })
    });
    group.bench_function("items", |b| {
        b.iter_custom(|iters| timed_loads(iters, |db| check(load_items(db, &spec).expect("load the items"))))
    });
    group.finish();
}

criterion_group!(benches, bulk_load);
criterion_main!(benches);
