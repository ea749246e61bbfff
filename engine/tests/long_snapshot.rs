//! A snapshot of any length delays no commit, and sees its own LSN throughout.
//!
//! The test holds one snapshot open and walks it one record at a time; between two steps a
//! writer thread commits a single-record update (with a checkpoint after each, so
//! pages the snapshot reads are overwritten on disk under it). Each commit must finish
//! within [`COMMIT_BOUND`] while the snapshot stays open — when snapshots held a lock the
//! applier needs, the first commit never finished. Steps are handed over on channels with
//! timeouts: nothing sleeps and hopes.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use basalt_engine::{Database, Document, Options, Rid, SchemaRequest, Transaction, Value};

/// Records in the class the snapshot walks.
const RECORDS: i64 = 300;
/// Longest one single-record commit may take while the snapshot is open (a debug build on
/// a shared machine; a blocked commit never finishes at all).
const COMMIT_BOUND: Duration = Duration::from_secs(5);

fn value(db_rec: &basalt_engine::Record) -> i64 {
    match db_rec.field("value").unwrap() {
        Some(Value::Long(n)) => n,
        other => panic!("expected a LONG, found {other:?}"),
    }
}

fn setup(db: &Database) -> Vec<Rid> {
    let mut tx = Transaction::new();
    tx.schema(SchemaRequest::CreateClass { name: "Item".into(), superclass: None, is_abstract: false });
    db.commit(&tx).unwrap();
    let mut tx = Transaction::new();
    let temps: Vec<Rid> = (0..RECORDS)
        .map(|i| tx.create("Item", Document::new().with("i", Value::Long(i)).with("value", Value::Long(0))))
        .collect();
    let c = db.commit(&tx).unwrap();
    db.checkpoint().unwrap();
    temps.iter().map(|t| c.rid(*t)).collect()
}

/// One single-record update: `value` of `rid` set to `to`.
fn update(db: &Database, rid: Rid, to: i64) {
    let r = db.snapshot().get(rid).unwrap().unwrap();
    let mut d = r.fields().unwrap();
    d.set("value", Value::Long(to));
    let mut tx = Transaction::new();
    tx.update(rid, Some(r.version), d);
    db.commit(&tx).unwrap();
}

#[test]
fn commits_go_on_beside_an_open_snapshot_that_keeps_its_lsn() {
    let dir = tempfile::tempdir().unwrap();
    // Checkpoint after every commit, so the snapshot reads pages overwritten under it.
    let options = Options { checkpoint_dirty_pages: 1, ..Options::default() };
    let (db, _) = Database::create(dir.path(), options).unwrap();
    let rids = setup(&db);
    let checkpoints_before = db.stats().checkpoints;

    let snap = db.snapshot();
    let lsn = snap.applied_lsn();
    let digest = snap.digest();
    let (go_tx, go_rx) = mpsc::channel::<Rid>();
    let (done_tx, done_rx) = mpsc::channel::<Duration>();
    std::thread::scope(|s| {
        let db = &db;
        s.spawn(move || {
            // Updates every record the reader has just passed, one commit each.
            while let Ok(rid) = go_rx.recv() {
                let t = Instant::now();
                update(db, rid, 1);
                if done_tx.send(t.elapsed()).is_err() {
                    return;
                }
            }
        });
        let mut seen = 0;
        for r in snap.scan("Item", false).unwrap() {
            let r = r.unwrap();
            assert_eq!(value(&r), 0, "the snapshot saw a later update of {}", r.rid);
            seen += 1;
            go_tx.send(r.rid).unwrap();
            let took = done_rx
                .recv_timeout(COMMIT_BOUND)
                .unwrap_or_else(|_| panic!("a commit beside the open snapshot took over {COMMIT_BOUND:?}"));
            assert!(took < COMMIT_BOUND, "a commit took {took:?}");
            // The record just updated and committed is still as of the snapshot's LSN.
            assert_eq!(value(&snap.get(r.rid).unwrap().unwrap()), 0);
        }
        assert_eq!(seen, RECORDS);
        drop(go_tx);
    });

    assert!(db.stats().checkpoints > checkpoints_before + 10, "too few checkpoints ran under the snapshot");
    assert_eq!(db.applied_lsn().0, lsn.0 + RECORDS as u64);
    // The old snapshot still holds its LSN, pages included; a new one sees every update.
    assert_eq!(snap.applied_lsn(), lsn);
    assert_eq!(snap.full_digest().unwrap(), digest);
    assert!(rids.iter().all(|rid| value(&snap.get(*rid).unwrap().unwrap()) == 0));
    let now = db.snapshot();
    assert!(rids.iter().all(|rid| value(&now.get(*rid).unwrap().unwrap()) == 1));
    assert_eq!(now.full_digest().unwrap(), now.digest());
    assert_ne!(now.digest().value, digest.value);
}
