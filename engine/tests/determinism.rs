//! Determinism: the same log applied to fresh engines gives the same state.
//!
//! A random workload runs on engine A, first from one thread (recording A's digest at each
//! LSN), then from several threads at once (so the order of the log is decided by A's group
//! commit). A's WAL is then read from LSN 1 and every entry applied, as a replication
//! follower would (`Database::apply_replicated`), to two fresh engines with A's database id:
//! B, and C, which checkpoints after nearly every entry and is reopened (redo) midway. At
//! every LSN, B and C have equal digests, equal to A's where A's is known; at the end all
//! three hold identical records (RID, version, class, bytes), schemas and digests.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::collections::BTreeMap;
use std::sync::Arc;

use basalt_engine::entry::ENTRY_KIND;
use basalt_engine::{
    Database, Document, IndexDef, Lsn, Options, PropertyDef, PropertyType, Record, Rid, SchemaChange, SchemaRequest,
    Transaction, TxEntry, Value,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const VERTEX_CLASSES: [&str; 2] = ["Person", "Place"];
const EDGE_CLASSES: [&str; 2] = ["Knows", "Visits"];

fn setup(db: &Database) {
    let mut tx = Transaction::new();
    for (name, superclass) in [("Person", "V"), ("Place", "V"), ("Knows", "E"), ("Visits", "E"), ("Note", "")] {
        let superclass = (!superclass.is_empty()).then(|| superclass.to_string());
        tx.schema(SchemaRequest::CreateClass { name: name.into(), superclass, is_abstract: false });
    }
    tx.schema(SchemaRequest::Change(SchemaChange::CreateProperty {
        class: "Person".into(),
        property: PropertyDef::new("age", PropertyType::Integer),
    }));
    tx.schema(SchemaRequest::Change(SchemaChange::CreateIndex {
        index: IndexDef {
            name: "Person.name".into(),
            class: "Person".into(),
            fields: vec!["name".into()],
            unique: true,
            kind: "UNIQUE".into(),
        },
    }));
    db.commit(&tx).unwrap();
}

/// Live records of a class, by RID.
fn live(db: &Database, class: &str) -> Vec<Record> {
    db.snapshot().scan(class, true).unwrap().map(|r| r.unwrap()).collect()
}

fn pick<T: Clone>(rng: &mut StdRng, items: &[T]) -> Option<T> {
    (!items.is_empty()).then(|| items[rng.gen_range(0..items.len())].clone())
}

/// One random transaction against the current state of `db` (it may fail: a stale version,
/// a duplicate name).
fn random_tx(db: &Database, rng: &mut StdRng, tag: u64) -> Transaction {
    let vertices = live(db, "V");
    let edges = live(db, "E");
    let notes = live(db, "Note");
    let mut tx = Transaction::new();
    let mut temps: Vec<Rid> = Vec::new();
    for _ in 0..rng.gen_range(1..4) {
        let mut targets: Vec<Rid> = vertices.iter().map(|r| r.rid).collect();
        targets.extend_from_slice(&temps);
        match rng.gen_range(0..100) {
            0..=29 => {
                let class = VERTEX_CLASSES[rng.gen_range(0..2)];
                let mut d = Document::new().with("tag", Value::Long(tag as i64));
                if class == "Person" {
                    d.set("name", Value::String(format!("p{}", rng.gen_range(0..40))));
                    d.set("age", Value::String(rng.gen_range(0..90).to_string()));
                }
                if rng.gen_bool(0.1) {
                    d.set("bio", Value::String("b".repeat(rng.gen_range(3000..9000))));
                }
                temps.push(tx.create(class, d));
            }
            30..=54 => {
                if let (Some(from), Some(to)) = (pick(rng, &targets), pick(rng, &targets)) {
                    let d = Document::new().with("w", Value::Int(rng.gen_range(0..5)));
                    tx.create_edge(EDGE_CLASSES[rng.gen_range(0..2)], from, to, d);
                }
            }
            55..=64 => {
                let d = Document::new().with("text", Value::String(format!("note {tag}")));
                temps.push(tx.create("Note", d));
            }
            65..=79 => {
                let all: Vec<&Record> = vertices.iter().chain(&edges).chain(&notes).collect();
                if let Some(r) = pick(rng, &all) {
                    let mut d = r.fields().unwrap();
                    d.set("touched", Value::Long(tag as i64));
                    let version = rng.gen_bool(0.7).then_some(r.version);
                    tx.update(r.rid, version, d);
                }
            }
            80..=93 => {
                let all: Vec<&Record> = vertices.iter().chain(&edges).chain(&notes).collect();
                if let Some(r) = pick(rng, &all) {
                    tx.delete(r.rid, rng.gen_bool(0.5).then_some(r.version));
                }
            }
            94..=96 => {
                let name = format!("Person.tag{}", rng.gen_range(0..3));
                tx.schema(SchemaRequest::Change(SchemaChange::CreateIndex {
                    index: IndexDef {
                        name,
                        class: "V".into(),
                        fields: vec!["tag".into(), "name".into()],
                        unique: false,
                        kind: "NOTUNIQUE".into(),
                    },
                }));
            }
            _ => {
                let name = format!("Person.tag{}", rng.gen_range(0..3));
                tx.schema(SchemaRequest::Change(SchemaChange::DropIndex { name }));
            }
        }
    }
    tx
}

/// Every record of every cluster the schema names, in RID order.
fn all_records(db: &Database) -> Vec<Record> {
    let snap = db.snapshot();
    let clusters: Vec<i32> = snap.schema().clusters.keys().copied().collect();
    clusters.into_iter().flat_map(|c| snap.scan_cluster(c).map(|r| r.unwrap()).collect::<Vec<_>>()).collect()
}

fn assert_identical(a: &Database, b: &Database, what: &str) {
    let (sa, sb) = (a.snapshot(), b.snapshot());
    assert_eq!(sa.applied_lsn(), sb.applied_lsn(), "{what}: applied LSN");
    assert_eq!(sa.digest(), sb.digest(), "{what}: digest");
    assert_eq!(sb.digest(), sb.full_digest().unwrap(), "{what}: digest recomputed");
    assert_eq!(sa.schema(), sb.schema(), "{what}: schema");
    drop((sa, sb));
    let (ra, rb) = (all_records(a), all_records(b));
    assert_eq!(ra.len(), rb.len(), "{what}: record count");
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!(x, y, "{what}: record {} (RID, version, class, bytes)", x.rid);
    }
}

fn replica(dir: &std::path::Path, id: u128, checkpoint_dirty_pages: usize) -> Database {
    let opts = Options { database_id: Some(id), checkpoint_dirty_pages, ..Options::default() };
    Database::create(dir, opts).unwrap().0
}

#[test]
fn the_same_log_gives_the_same_state_and_rids() {
    let seed: u64 =
        std::env::var("BASALT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| rand::thread_rng().gen());
    println!("determinism: seed {seed} (BASALT_SEED replays it)");
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let a_opts = Options { checkpoint_dirty_pages: 64, purge_wal_after_checkpoint: false, ..Options::default() };
    let (a, _) = Database::create(dirs[0].path(), a_opts).unwrap();
    let a = Arc::new(a);
    setup(&a);

    // One thread: A's digest after each entry is known.
    let mut digests: BTreeMap<Lsn, u128> = BTreeMap::new();
    digests.insert(Lsn(1), a.snapshot().digest().value);
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut committed, mut refused) = (0, 0);
    for tag in 0..300 {
        match a.commit(&random_tx(&a, &mut rng, tag)) {
            Ok(c) => {
                committed += 1;
                let snap = a.snapshot();
                assert_eq!(snap.applied_lsn(), c.lsn);
                digests.insert(c.lsn, snap.digest().value);
            }
            Err(e) => {
                assert!(e.is_deterministic(), "{e}");
                refused += 1;
            }
        }
    }
    // Several threads: the log's order is whatever A's group commit made it.
    std::thread::scope(|s| {
        for t in 0..3u64 {
            let a = a.clone();
            s.spawn(move || {
                let mut rng = StdRng::seed_from_u64(seed ^ (t + 1));
                for tag in 0..60 {
                    let _ = a.commit(&random_tx(&a, &mut rng, 1000 * (t + 1) + tag));
                }
            });
        }
    });
    let last = a.applied_lsn();
    assert!(committed > 100, "the workload commits ({committed} committed, {refused} refused)");

    let b = replica(dirs[1].path(), a.id(), 8192);
    let mut c = Some(replica(dirs[2].path(), a.id(), 1));
    let mut entries = 0;
    for entry in a.wal().reader(Lsn(1)) {
        let entry = entry.unwrap();
        assert_eq!(entry.kind, ENTRY_KIND);
        let tx = TxEntry::decode(&entry.payload).unwrap();
        b.apply_replicated(entry.lsn, &tx).unwrap();
        c.as_ref().unwrap().apply_replicated(entry.lsn, &tx).unwrap();
        entries += 1;
        let (db, dc) = (b.snapshot().digest(), c.as_ref().unwrap().snapshot().digest());
        assert_eq!(db, dc, "B and C at LSN {}", entry.lsn);
        assert_eq!(db.lsn, entry.lsn);
        if let Some(d) = digests.get(&entry.lsn) {
            assert_eq!(db.value, *d, "B and A at LSN {}", entry.lsn);
        }
        if entry.lsn.0 == last.0 / 2 {
            // C goes down without closing and redoes its log.
            drop(c.take());
            let opts = Options { database_id: Some(a.id()), checkpoint_dirty_pages: 1, ..Options::default() };
            c = Some(Database::open(dirs[2].path(), opts).unwrap().0);
        }
    }
    assert_eq!(Lsn(entries), last, "A's log holds every entry from LSN 1");
    let c = c.unwrap();
    assert_identical(&a, &b, "A and B");
    assert_identical(&a, &c, "A and C");
    println!("determinism: {committed} single-thread commits, {refused} refused, {entries} entries replayed");
}
