//! `wal_append`: durable appends per second with 1, 8 and 64 concurrent appenders
//! (256-byte entries), beside a baseline measured in the same run on the same disk: a loop
//! of 256-byte `write` + `fdatasync` on a file opened for appending.
//!
//! Every measurement is durable (fsync on). The files live in a temporary directory under
//! Cargo's `CARGO_TARGET_TMPDIR` (inside the target directory, so on the project's disk),
//! removed at the end. Each criterion iteration batch does `iters` appends split evenly
//! across the appender threads; the clock runs from the moment all threads are released at
//! a barrier until the last append returns, so thread start-up is not counted.

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use basalt_wal::{DiskStorage, Kind, LogId, Wal, WalOptions};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// Payload size of every entry and of every baseline write.
const ENTRY_BYTES: usize = 256;
/// Appender thread counts measured.
const APPENDERS: [usize; 3] = [1, 8, 64];

fn bench_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("wal-append-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("create a temporary directory under CARGO_TARGET_TMPDIR")
}

/// `iters` durable appends split across `threads` threads; returns the time they took.
fn run_appends(wal: &Wal, threads: usize, iters: u64) -> Duration {
    let payload = [0x5Au8; ENTRY_BYTES];
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads as u64)
            .map(|t| {
                // Spread the remainder so the total is exactly `iters`.
                let share = iters / threads as u64 + u64::from(t < iters % threads as u64);
                let barrier = &barrier;
                let payload = &payload;
                scope.spawn(move || {
                    barrier.wait();
                    for _ in 0..share {
                        wal.append(Kind(1), payload).expect("durable append");
                    }
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for h in handles {
            h.join().expect("appender thread");
        }
        start.elapsed()
    })
}

fn wal_append(c: &mut Criterion) {
    let mut group = c.benchmark_group("wal_append");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));

    // The baseline: what one thread gets from the disk with no log at all.
    {
        let dir = bench_dir();
        let path = dir.path().join("baseline.dat");
        let mut file = OpenOptions::new().create(true).append(true).open(&path).expect("create baseline file");
        let payload = [0x5Au8; ENTRY_BYTES];
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

    for threads in APPENDERS {
        let dir = bench_dir();
        let storage = Arc::new(DiskStorage::create_dir(dir.path()).expect("bench directory"));
        let (wal, _) = Wal::open(storage, WalOptions::new(LogId(0xBE7C4))).expect("open the bench WAL");
        group.bench_with_input(BenchmarkId::new("appenders", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| run_appends(&wal, threads, iters))
        });
        wal.close().expect("close the bench WAL");
    }
    group.finish();
}

criterion_group!(benches, wal_append);
criterion_main!(benches);
