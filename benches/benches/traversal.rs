//! `traversal`: following link bags on the shared 100k-vertex / 1M-edge graph (10 out-edges
//! per vertex), warm.
//!
//! - `one_hop`: the out-neighbours of 1000 random vertices (via `Snapshot::neighbours`,
//!   `knows` edges), under one snapshot. Target: at least 1 M listings/s on one thread.
//! - `one_hop_query`: the same with a snapshot per listing, returning the count, as a query
//!   (Kuzu: `MATCH (a {id: X})-[:knows]->(b) RETURN count(b)`) would.
//! - `two_hop`: the number of distinct vertices two outgoing hops away from each of 100
//!   random vertices, a snapshot per query (Kuzu: `count(DISTINCT c)`).
//!
//! Every answer is checked against the generator's before timing.

use std::collections::HashSet;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use basalt_benches::{answers, shared, GraphSpec, EDGE_CLASS};
use basalt_engine::{Direction, Rid, Snapshot};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn out_neighbours(snap: &Snapshot<'_>, rid: Rid) -> Vec<(Rid, Rid)> {
    snap.neighbours(rid, Some(Direction::Out), &[EDGE_CLASS]).expect("neighbours")
}

fn two_hop(snap: &Snapshot<'_>, rid: Rid, seen: &mut HashSet<Rid>) -> usize {
    seen.clear();
    for (_, b) in out_neighbours(snap, rid) {
        seen.extend(out_neighbours(snap, b).into_iter().map(|(_, c)| c));
    }
    seen.len()
}

fn traversal(c: &mut Criterion) {
    let (p, db) = shared(Path::new(env!("CARGO_TARGET_TMPDIR"))).expect("the shared bench graph");
    let spec = GraphSpec::standard();
    let expected = answers(&spec);
    let one: Vec<(Rid, usize)> = expected.one_hop.iter().map(|&(i, n)| (p.vertex_rid(i), n)).collect();
    let two: Vec<(Rid, usize)> = expected.two_hop.iter().map(|&(i, n)| (p.vertex_rid(i), n)).collect();
    let mut seen = HashSet::new();
    {
        let snap = db.snapshot();
        for (rid, n) in &one {
            assert_eq!(out_neighbours(&snap, *rid).len(), *n, "1-hop of {rid}");
        }
        for (rid, n) in &two {
            assert_eq!(two_hop(&snap, *rid, &mut seen), *n, "2-hop of {rid}");
        }
    }

    let mut group = c.benchmark_group("traversal");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(one.len() as u64));
    group.bench_function("one_hop", |b| {
        b.iter(|| {
            let snap = db.snapshot();
            for (rid, _) in &one {
                black_box(out_neighbours(&snap, *rid));
            }
        })
    });
    group.bench_function("one_hop_query", |b| {
        b.iter(|| {
            for (rid, _) in &one {
                let snap = db.snapshot();
                black_box(out_neighbours(&snap, *rid).len());
            }
        })
    });
    group.throughput(Throughput::Elements(two.len() as u64));
    group.bench_function("two_hop", |b| {
        b.iter(|| {
            for (rid, _) in &two {
                let snap = db.snapshot();
                black_box(two_hop(&snap, *rid, &mut seen));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, traversal);
criterion_main!(benches);
