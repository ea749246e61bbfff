//! Reads run concurrently with writes and see a consistent committed state.
//!
//! Writer threads commit transactions that each keep invariants only a whole transaction
//! keeps: a pair of documents updated together always holds equal values; a total counter
//! equals the number of `Log` documents; every edge is linked from both its ends, so the
//! number of edges equals the sum of out-degrees and of in-degrees. Reader threads take
//! snapshots meanwhile and check every invariant in each, plus that the applied LSN never
//! goes back and (now and then) that the incremental digest equals the recomputed one. A
//! half-applied transaction seen by any reader fails the test.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use basalt_engine::{Database, Direction, Document, Error, Options, Rid, SchemaRequest, Snapshot, Transaction, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const WRITERS: u64 = 4;
const READERS: u64 = 3;
const COMMITS_PER_WRITER: u64 = 120;
const PAIRS: i64 = 6;
/// Attempts of one transaction before the test gives up (conflicts are retried).
const ATTEMPTS_MAX: u32 = 10_000;

fn long(v: Option<Value>) -> i64 {
    match v {
        Some(Value::Long(n)) => n,
        other => panic!("expected a LONG, found {other:?}"),
    }
}

fn setup(db: &Database) -> (Vec<(Rid, Rid)>, Rid) {
    let mut tx = Transaction::new();
    for (name, superclass) in [("Pair", None), ("Log", None), ("Total", None), ("Node", Some("V")), ("Link", Some("E"))]
    {
        let superclass = superclass.map(str::to_string);
        tx.schema(SchemaRequest::CreateClass { name: name.into(), superclass, is_abstract: false });
    }
    db.commit(&tx).unwrap();
    let mut tx = Transaction::new();
    let pairs: Vec<(Rid, Rid)> = (0..PAIRS)
        .map(|i| {
            let d = Document::new().with("i", Value::Long(i)).with("value", Value::Long(0));
            (tx.create("Pair", d.clone()), tx.create("Pair", d))
        })
        .collect();
    let total = tx.create("Total", Document::new().with("n", Value::Long(0)));
    let c = db.commit(&tx).unwrap();
    (pairs.iter().map(|(a, b)| (c.rid(*a), c.rid(*b))).collect(), c.rid(total))
}

/// One writer transaction, formed from a fresh snapshot: a pair update, a log document with
/// the total, and a graph change.
fn writer_tx(db: &Database, rng: &mut StdRng, pairs: &[(Rid, Rid)], total: Rid, me: u64) -> Transaction {
    let snap = db.snapshot();
    let mut tx = Transaction::new();
    let (a, b) = pairs[rng.gen_range(0..pairs.len())];
    let (ra, rb) = (snap.get(a).unwrap().unwrap(), snap.get(b).unwrap().unwrap());
    let value = long(ra.field("value").unwrap()) + 1;
    for r in [&ra, &rb] {
        let mut d = r.fields().unwrap();
        d.set("value", Value::Long(value));
        tx.update(r.rid, Some(r.version), d);
    }
    let t = snap.get(total).unwrap().unwrap();
    tx.update(total, Some(t.version), Document::new().with("n", Value::Long(long(t.field("n").unwrap()) + 1)));
    tx.create("Log", Document::new().with("writer", Value::Long(me as i64)));

    let nodes: Vec<Rid> = snap.scan("Node", false).unwrap().map(|r| r.unwrap().rid).collect();
    let links: Vec<Rid> = snap.scan("Link", false).unwrap().map(|r| r.unwrap().rid).collect();
    match rng.gen_range(0..10) {
        0..=3 => {
            let v = tx.create("Node", Document::new().with("by", Value::Long(me as i64)));
            if let Some(other) = nodes.get(rng.gen_range(0..nodes.len().max(1))) {
                tx.create_edge("Link", v, *other, Document::new());
                tx.create_edge("Link", *other, v, Document::new());
            }
        }
        4..=6 if !nodes.is_empty() => {
            let (x, y) = (nodes[rng.gen_range(0..nodes.len())], nodes[rng.gen_range(0..nodes.len())]);
            tx.create_edge("Link", x, y, Document::new());
        }
        7 | 8 if !links.is_empty() => tx.delete(links[rng.gen_range(0..links.len())], None),
        _ if nodes.len() > 10 => tx.delete(nodes[rng.gen_range(0..nodes.len())], None),
        _ => {}
    }
    tx
}

/// Checks every invariant in one snapshot; returns its LSN.
fn check(snap: &Snapshot<'_>, pairs: &[(Rid, Rid)], total: Rid, full_digest: bool) -> u64 {
    for (a, b) in pairs {
        let (ra, rb) = (snap.get(*a).unwrap().unwrap(), snap.get(*b).unwrap().unwrap());
        let (va, vb) = (long(ra.field("value").unwrap()), long(rb.field("value").unwrap()));
        assert_eq!(va, vb, "pair {a} {b} half updated at LSN {}", snap.applied_lsn());
        assert_eq!(ra.version, rb.version, "pair {a} {b} versions at LSN {}", snap.applied_lsn());
    }
    let n = long(snap.get(total).unwrap().unwrap().field("n").unwrap());
    assert_eq!(n as u64, snap.count("Log", false).unwrap(), "total vs log documents at LSN {}", snap.applied_lsn());

    let edges = snap.count("E", true).unwrap();
    let (mut outs, mut ins) = (0u64, 0u64);
    let mut linked: BTreeMap<Rid, u32> = BTreeMap::new();
    for v in snap.scan("Node", false).unwrap() {
        let v = v.unwrap();
        for (dir, count) in [(Direction::Out, &mut outs), (Direction::In, &mut ins)] {
            for (edge, other) in snap.neighbours(v.rid, Some(dir), &[]).unwrap() {
                *count += 1;
                *linked.entry(edge).or_default() += 1;
                let e = snap.get(edge).unwrap().unwrap_or_else(|| panic!("{} links a missing edge {edge}", v.rid));
                let ends = e.edge_ends().unwrap().unwrap();
                let expected = if dir == Direction::Out { (v.rid, other) } else { (other, v.rid) };
                assert_eq!(ends, expected, "edge {edge} as linked from {}", v.rid);
            }
        }
    }
    assert_eq!(outs, edges, "out-degrees vs edges at LSN {}", snap.applied_lsn());
    assert_eq!(ins, edges, "in-degrees vs edges at LSN {}", snap.applied_lsn());
    assert!(linked.values().all(|n| *n == 2), "every edge is linked from both ends");
    if full_digest {
        assert_eq!(snap.digest(), snap.full_digest().unwrap());
    }
    snap.applied_lsn().0
}

#[test]
fn readers_see_only_whole_transactions_while_writers_commit() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options { checkpoint_dirty_pages: 32, ..Options::default() }).unwrap();
    let (pairs, total) = setup(&db);
    let seed: u64 = rand::thread_rng().gen();
    let done = AtomicBool::new(false);
    let (snapshots, conflicts) = (AtomicU64::new(0), AtomicU64::new(0));
    let started = Instant::now();
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|me| {
                let (db, pairs, conflicts) = (&db, &pairs, &conflicts);
                s.spawn(move || {
                    let mut rng = StdRng::seed_from_u64(seed ^ me);
                    for _ in 0..COMMITS_PER_WRITER {
                        let mut attempts = 0;
                        loop {
                            attempts += 1;
                            assert!(attempts < ATTEMPTS_MAX, "writer {me} cannot commit (seed {seed})");
                            match db.commit(&writer_tx(db, &mut rng, pairs, total, me)) {
                                Ok(_) => break,
                                Err(Error::Conflict { .. } | Error::RecordNotFound(_)) => {
                                    conflicts.fetch_add(1, Ordering::Relaxed);
                                }
                                Err(e) => panic!("writer {me}: {e} (seed {seed})"),
                            }
                        }
                    }
                })
            })
            .collect();
        for r in 0..READERS {
            let (db, pairs, done, snapshots) = (&db, &pairs, &done, &snapshots);
            s.spawn(move || {
                let mut last = 0;
                let mut i = 0u64;
                while !done.load(Ordering::Acquire) {
                    let lsn = check(&db.snapshot(), pairs, total, (i + r).is_multiple_of(16));
                    assert!(lsn >= last, "reader {r}: LSN went back from {last} to {lsn}");
                    last = lsn;
                    i += 1;
                    snapshots.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Release);
    });
    let snap = db.snapshot();
    check(&snap, &pairs, total, true);
    let n = long(snap.get(total).unwrap().unwrap().field("n").unwrap()) as u64;
    assert_eq!(n, WRITERS * COMMITS_PER_WRITER, "every commit counted once");
    let snapshots = snapshots.load(Ordering::Relaxed);
    assert!(snapshots > READERS * 10, "readers ran beside the writers ({snapshots} snapshots)");
    println!(
        "concurrency: {} commits, {} conflicts retried, {snapshots} snapshots checked in {:?} (seed {seed})",
        n,
        conflicts.load(Ordering::Relaxed),
        started.elapsed()
    );
}

/// Writers race for the keys of a unique index (creating, re-keying and deleting records
/// with keys from a small pool) while transactions form against entries not yet applied:
/// no key is ever held twice, each failure is a duplicate key, a conflict or a record
/// deleted meanwhile (never an entry that fails to apply), and readers never see a key twice.
#[test]
fn unique_keys_hold_under_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
    let mut tx = Transaction::new();
    tx.schema(SchemaRequest::CreateClass { name: "Account".into(), superclass: None, is_abstract: false });
    tx.schema(SchemaRequest::Change(basalt_engine::SchemaChange::CreateIndex {
        index: basalt_engine::IndexDef {
            name: "Account.key".into(),
            class: "Account".into(),
            fields: vec!["key".into()],
            unique: true,
            kind: "UNIQUE".into(),
        },
    }));
    db.commit(&tx).unwrap();
    let seed: u64 = rand::thread_rng().gen();
    let done = AtomicBool::new(false);
    let outcomes: std::sync::Mutex<BTreeMap<String, u64>> = std::sync::Mutex::new(BTreeMap::new());
    let keys_of = |snap: &Snapshot<'_>| -> Vec<i64> {
        snap.scan("Account", false)
            .unwrap()
            .filter_map(|r| match r.unwrap().field("key").unwrap() {
                Some(Value::Long(k)) => Some(k),
                _ => None,
            })
            .collect()
    };
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|me| {
                let (db, outcomes) = (&db, &outcomes);
                s.spawn(move || {
                    let mut rng = StdRng::seed_from_u64(seed ^ me);
                    for _ in 0..150 {
                        let accounts: Vec<(Rid, u32)> = {
                            let snap = db.snapshot();
                            snap.scan("Account", false)
                                .unwrap()
                                .map(|r| r.unwrap())
                                .map(|r| (r.rid, r.version))
                                .collect()
                        };
                        let mut tx = Transaction::new();
                        let key = |rng: &mut StdRng| Document::new().with("key", Value::Long(rng.gen_range(0..24)));
                        match rng.gen_range(0..10) {
                            0..=2 => {
                                tx.create("Account", key(&mut rng));
                            }
                            3..=5 if !accounts.is_empty() => {
                                let (rid, v) = accounts[rng.gen_range(0..accounts.len())];
                                tx.update(rid, Some(v), key(&mut rng));
                                if rng.gen_bool(0.5) {
                                    tx.create("Account", key(&mut rng));
                                }
                            }
                            _ if !accounts.is_empty() => {
                                let (rid, _) = accounts[rng.gen_range(0..accounts.len())];
                                tx.delete(rid, None);
                                if rng.gen_bool(0.5) {
                                    tx.create("Account", key(&mut rng));
                                }
                            }
                            _ => continue,
                        }
                        let outcome = match db.commit(&tx) {
                            Ok(_) => "committed".to_string(),
                            Err(Error::DuplicateKey { .. }) => "duplicate".into(),
                            Err(Error::Conflict { .. }) => "conflict".into(),
                            Err(Error::RecordNotFound(_)) => "deleted meanwhile".into(),
                            Err(e) => panic!("writer {me}: {e} (seed {seed})"),
                        };
                        *outcomes.lock().unwrap().entry(outcome).or_default() += 1;
                    }
                })
            })
            .collect();
        let (db, done) = (&db, &done);
        s.spawn(move || {
            while !done.load(Ordering::Acquire) {
                let mut keys = keys_of(&db.snapshot());
                let n = keys.len();
                keys.sort_unstable();
                keys.dedup();
                assert_eq!(keys.len(), n, "a key held twice (seed {seed})");
            }
        });
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Release);
    });
    let snap = db.snapshot();
    let mut keys = keys_of(&snap);
    let n = keys.len();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), n, "a key held twice");
    assert_eq!(snap.index("Account.key").unwrap().len(), n, "the index holds every record once");
    let outcomes = outcomes.into_inner().unwrap();
    assert!(outcomes.get("committed").copied().unwrap_or(0) > 100, "{outcomes:?}");
    assert!(outcomes.get("duplicate").copied().unwrap_or(0) > 0, "keys were contended: {outcomes:?}");
    println!("concurrency: unique keys: {outcomes:?} (seed {seed})");
}
