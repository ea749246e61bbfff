//! `page_read`: reading records by RID and scanning a class, on the shared 100k-vertex /
//! 1M-edge graph (see the crate docs), warm (the sample's pages are cached after the first
//! pass, as they are for the peer).
//!
//! - `get_by_rid`: 1000 point reads of random vertices under one snapshot (the raw engine
//!   API: the body bytes, nothing decoded). Target: at least 2 M/s on one thread.
//! - `get_decode`: the same, decoding every field into a `Document`.
//! - `lookup_query`: what a query does per lookup: take a snapshot, read the vertex, decode
//!   its fields, return `name`. This is the figure to set beside Kuzu's point lookup.
//! - `class_scan`: every `Person` record, bodies not decoded.
//! - `class_scan_age_sum`: every `Person`, summing `age` (Kuzu: `RETURN sum(p.age)`).
//!
//! Throughput is in elements (reads, or records scanned) per second.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use basalt_benches::{answers, shared, GraphSpec, VERTEX_CLASS};
use basalt_engine::Value;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn page_read(c: &mut Criterion) {
    let (p, db) = shared(Path::new(env!("CARGO_TARGET_TMPDIR"))).expect("the shared bench graph");
    let spec = GraphSpec::standard();
    let expected = answers(&spec);
    let rids: Vec<_> = spec.lookup_ids().iter().map(|&i| p.vertex_rid(i)).collect();
    {
        // The answers first: a fast wrong read is no figure.
        let snap = db.snapshot();
        for ((_, name), rid) in expected.lookups.iter().zip(&rids) {
            let r = snap.get(*rid).expect("read").expect("vertex exists");
            assert_eq!(r.field("name").expect("decode"), Some(Value::String(name.clone())), "vertex {rid}");
        }
    }

    let mut group = c.benchmark_group("page_read");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(rids.len() as u64));
    group.bench_function("get_by_rid", |b| {
        b.iter(|| {
            let snap = db.snapshot();
            for rid in &rids {
                let r = snap.get(*rid).expect("read");
                black_box(r.map(|r| r.body.len()));
            }
        })
    });
    group.bench_function("get_decode", |b| {
        b.iter(|| {
            let snap = db.snapshot();
            for rid in &rids {
                let r = snap.get(*rid).expect("read").expect("vertex exists");
                black_box(r.fields().expect("decode"));
            }
        })
    });
    group.bench_function("lookup_query", |b| {
        b.iter(|| {
            for rid in &rids {
                let snap = db.snapshot();
                let r = snap.get(*rid).expect("read").expect("vertex exists");
                let mut fields = r.fields().expect("decode");
                black_box(fields.remove("name"));
            }
        })
    });

    group.throughput(Throughput::Elements(spec.vertices));
    group.bench_function("class_scan", |b| {
        b.iter(|| {
            let snap = db.snapshot();
            let (mut n, mut bytes) = (0u64, 0usize);
            for r in snap.scan(VERTEX_CLASS, false).expect("scan") {
                n += 1;
                bytes += r.expect("record").body.len();
            }
            assert_eq!(n, spec.vertices);
            black_box(bytes);
        })
    });
    group.bench_function("class_scan_age_sum", |b| {
        b.iter(|| {
            let snap = db.snapshot();
            let mut sum = 0i64;
            for r in snap.scan(VERTEX_CLASS, false).expect("scan") {
                let age = r.expect("record").field("age").expect("decode");
                sum += age.and_then(|v| v.as_i64()).unwrap_or(0);
            }
            assert_eq!(sum, expected.age_sum);
        })
    });
    group.finish();
}

criterion_group!(benches, page_read);
criterion_main!(benches);
