//! `engine_write`: durable single-vertex inserts, each its own transaction, with 1 and 64
//! writer threads, beside a baseline measured in the same run on the same disk (one thread
//! doing `write` + `fdatasync` of 256 bytes on a file opened for appending: what one
//! synced commit at a time can reach without group commit).
//!
//! `insert_vertex_raft` is the same through the database's Raft group of one (the path every
//! server write takes: openraft, the proposer's batches, the state machine), in process.
//!
//! Each commit creates one `Person` (name, age, score) and returns once the entry is fsync'd
//! in the WAL and applied (checkpoints run when enough pages are dirty, and count). The
//! database lives in a temporary directory under `CARGO_TARGET_TMPDIR` (the project's
//! disk). As in `wal_append`, a batch of `iters` commits is split across the threads and
//! timed from their release at a barrier to the last commit's return.

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use basalt_benches::VERTEX_CLASS;
use basalt_engine::{Database, Document, Options, SchemaRequest, Transaction, Value};
use basalt_server::replication::{Group, GroupOptions};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// Writer thread counts measured.
const WRITERS: [usize; 2] = [1, 64];

fn bench_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("engine-write-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("create a temporary directory under CARGO_TARGET_TMPDIR")
}

fn person(thread: u64, i: u64) -> Document {
    Document::new()
        .with("name", Value::String(format!("writer{thread}-{i}")))
        .with("age", Value::Int(18 + (i % 73) as i32))
        .with("score", Value::Double(i as f64 * 0.5))
}

/// `iters` one-vertex commits split across `threads` threads; returns the time they took.
fn run_inserts(db: &Database, threads: usize, iters: u64) -> Duration {
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads as u64)
            .map(|t| {
                let share = iters / threads as u64 + u64::from(t < iters % threads as u64);
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    for i in 0..share {
                        let mut tx = Transaction::new();
                        tx.create(VERTEX_CLASS, person(t, i));
                        db.commit(&tx).expect("durable commit");
                    }
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for h in handles {
            h.join().expect("writer thread");
        }
        start.elapsed()
    })
}

fn engine_write(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine_write");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));

    {
        let dir = bench_dir();
        let mut file =
            OpenOptions::new().create(true).append(true).open(dir.path().join("baseline.dat")).expect("baseline file");
        let payload = [0x5Au8; 256];
        group.bench_function("baseline_write_fdatasync", |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    file.write_all(&payload).expect("baseline write");
                    file.sync_data().expect("baseline fdatasync");
                }
                start.elapsed()
            })
        });
    }

    for threads in WRITERS {
        let dir = bench_dir();
        let db = bench_db(&dir);
        group.bench_with_input(BenchmarkId::new("insert_vertex", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| run_inserts(&db, threads, iters))
        });
        db.close().expect("close the bench db");
    }

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    for threads in WRITERS {
        let dir = bench_dir();
        let db = Arc::new(bench_db(&dir));
        let options = GroupOptions::new(1, "127.0.0.1:0", "bench");
        let raft =
            runtime.block_on(Group::start(db.clone(), options, Duration::from_secs(30))).expect("start the group");
        group.bench_with_input(BenchmarkId::new("insert_vertex_raft", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| run_inserts(&db, threads, iters))
        });
        runtime.block_on(raft.shutdown());
    }
    group.finish();
}

/// A new database with the vertex class.
fn bench_db(dir: &tempfile::TempDir) -> Database {
    let (db, _) = Database::create(dir.path().join("db"), Options::default()).expect("create the bench db");
    let mut tx = Transaction::new();
    tx.schema(SchemaRequest::CreateClass {
        name: VERTEX_CLASS.into(),
        superclass: Some("V".into()),
        is_abstract: false,
    });
    db.commit(&tx).expect("create the vertex class");
    db
}

criterion_group!(benches, engine_write);
criterion_main!(benches);
