//! Tests of the state-machine seams issue 9 asks for, each of which fails on the LSN-keyed
//! commit path: a truncated uncommitted entry is never reported committed (even when a
//! different entry takes its index), open stops at the committed index (given, or in the
//! WAL's meta file), an IO error in apply takes the database offline and skips nothing, and
//! a new leader forms nothing before the first entry of its term is applied, the
//! checkpoint keeps the applied term and membership, and the members of a batch entry
//! apply (or are skipped) each on its own, live and in redo alike.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use basalt_wal::{Lsn, Term};

use crate::commit::{ApplyOutcome, INJECTED_APPLY_FAULT};
use crate::db::{Database, Options};
use crate::entry::{LogPosition, MarkerEntry, ENTRY_KIND};
use crate::error::Error;
use crate::tx::Transaction;
use crate::value::{Document, Value};

fn vertex(n: i64) -> Transaction {
    let mut tx = Transaction::new();
    tx.create("V", Document::new().with("n", Value::Long(n)));
    tx
}

/// Polls a future once without blocking.
fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
}

/// The `n` fields of every `V`, sorted.
fn numbers(db: &Database) -> Vec<i64> {
    let snap = db.snapshot();
    let mut out: Vec<i64> = snap
        .scan("V", true)
        .unwrap()
        .map(|r| match r.unwrap().field("n").unwrap() {
            Some(Value::Long(n)) => n,
            other => panic!("unexpected n {other:?}"),
        })
        .collect();
    out.sort_unstable();
    out
}

/// A `propose` that writes the entry to the database's WAL at `lsn` (as the Raft log
/// storage does) and keeps its bytes for the later apply.
fn propose_at<'a>(
    db: &'a Database,
    lsn: Lsn,
    keep: &'a Mutex<Vec<u8>>,
) -> impl FnMut(&[u8]) -> crate::error::Result<Option<Lsn>> + Send + 'a {
    move |bytes| {
        db.wal().write_at(&[(lsn, ENTRY_KIND, bytes)])?;
        *keep.lock().unwrap() = bytes.to_vec();
        Ok(Some(lsn))
    }
}

#[test]
fn a_truncated_entry_is_never_reported_committed_when_another_takes_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
    let (first, second) = (vertex(1), vertex(2));
    let (kept1, kept2) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
    let mut p1 = db.prepare(&first, propose_at(&db, Lsn(1), &kept1));
    assert!(poll_once(&mut p1).is_pending(), "formed and proposed, not yet committed");
    assert!(p1.proposal().is_some());

    // A new leader cuts the uncommitted entry; a different one is written at index 1.
    db.wal().truncate_after(Lsn(0)).unwrap();
    db.truncated_after(Lsn(0));
    let mut p2 = db.prepare(&second, propose_at(&db, Lsn(1), &kept2));
    assert!(poll_once(&mut p2).is_pending());
    assert_ne!(p1.proposal(), p2.proposal());
    let bytes = kept2.lock().unwrap().clone();
    let applied = db.apply_committed(LogPosition { term: 0, index: Lsn(1) }, &bytes).unwrap();
    assert_eq!(applied, ApplyOutcome::Applied);

    // Index 1 is applied, but only its own proposal is told "ok".
    match poll_once(&mut p1) {
        Poll::Ready(Err(Error::NotCommitted(why))) => assert!(why.contains("index 1"), "{why}"),
        other => panic!("the cut proposal must be NotCommitted, got {other:?}"),
    }
    match poll_once(&mut p2) {
        Poll::Ready(Ok(c)) => assert_eq!(c.lsn, Lsn(1)),
        other => panic!("the applied proposal must be Ok, got {other:?}"),
    }
    assert_eq!(numbers(&db), vec![2]);
}

#[test]
fn open_redoes_only_up_to_the_committed_index() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
    for n in 1..=5 {
        db.commit(&vertex(n)).unwrap();
    }
    drop(db); // No checkpoint: open must redo from the WAL.

    let given = Options { committed_index: Some(Lsn(3)), ..Options::default() };
    let (db, report) = Database::open(dir.path(), given).unwrap();
    assert_eq!(report.uncommitted_entries, 2);
    assert_eq!(db.applied_lsn(), Lsn(3));
    assert_eq!(numbers(&db), vec![1, 2, 3]);
    // The replicated log's storage records index 4 as committed in the WAL's meta file.
    db.wal().save_committed(basalt_wal::LogPosition { term: Term(0), node: 1, lsn: Lsn(4) }).unwrap();
    drop(db);

    let (db, report) = Database::open(dir.path(), Options::default()).unwrap();
    assert_eq!(report.uncommitted_entries, 1);
    assert_eq!(db.applied_lsn(), Lsn(4));
    assert_eq!(numbers(&db), vec![1, 2, 3, 4]);
}

#[test]
fn an_io_error_in_apply_takes_the_database_offline_and_skips_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
    db.commit(&vertex(1)).unwrap();
    let fault = std::io::Error::other("injected read failure of a cluster page");
    *INJECTED_APPLY_FAULT.lock().unwrap() = Some((db.dir().to_path_buf(), Error::io(dir.path().join("v.pcl"), fault)));
    let err = db.commit(&vertex(2)).unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown(_)), "the committer learns its fate is unknown: {err}");
    let reason = db.offline_reason().expect("the database is offline");
    assert!(reason.contains("injected read failure"), "{reason}");
    assert!(matches!(db.commit(&vertex(3)), Err(Error::Offline(_))));
    assert_eq!(db.applied_lsn(), Lsn(1), "the failed entry was not skipped as applied");
    drop(db);

    // The entry is in the WAL; the fault was this node's, so redo applies it.
    let (db, report) = Database::open(dir.path(), Options::default()).unwrap();
    assert!(report.failed_entries.is_empty(), "{:?}", report.failed_entries);
    assert_eq!(numbers(&db), vec![1, 2]);
}

#[test]
fn a_new_leader_forms_nothing_before_the_first_entry_of_its_term_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
    db.leadership_lost("a test election");
    let tx = vertex(7);
    let kept = Mutex::new(Vec::new());
    match poll_once(&mut db.prepare(&tx, propose_at(&db, Lsn(2), &kept))) {
        Poll::Ready(Err(Error::NotLeader(_))) => {}
        other => panic!("a follower forms nothing, got {other:?}"),
    }

    db.set_forming_barrier(1, Lsn(1));
    let mut pending = db.prepare(&tx, propose_at(&db, Lsn(2), &kept));
    assert!(poll_once(&mut pending).is_pending());
    assert!(kept.lock().unwrap().is_empty(), "formed before the barrier entry was applied");
    let (kind, blank) = MarkerEntry { term: 1, membership: None }.encode();
    db.wal().write_at(&[(Lsn(1), kind, &blank)]).unwrap();
    db.apply_blank(LogPosition { term: 1, index: Lsn(1) }).unwrap();

    assert!(poll_once(&mut pending).is_pending(), "formed and proposed once the barrier applied");
    let bytes = kept.lock().unwrap().clone();
    assert!(!bytes.is_empty());
    db.apply_committed(LogPosition { term: 1, index: Lsn(2) }, &bytes).unwrap();
    match poll_once(&mut pending) {
        Poll::Ready(Ok(c)) => assert_eq!(c.lsn, Lsn(2)),
        other => panic!("expected Ok, got {other:?}"),
    }
    assert_eq!(db.applied_position(), LogPosition { term: 1, index: Lsn(2) });
    assert_eq!(numbers(&db), vec![7]);
}

#[test]
fn the_checkpoint_keeps_the_applied_term_and_membership_across_open() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
    let membership = b"voters: {1}".to_vec();
    let (kind, bytes) = MarkerEntry { term: 3, membership: Some(membership.clone()) }.encode();
    db.wal().write_at(&[(Lsn(1), kind, &bytes)]).unwrap();
    db.apply_membership(LogPosition { term: 3, index: Lsn(1) }, &membership).unwrap();
    assert_eq!(db.checkpoint().unwrap(), Lsn(1));
    db.close().unwrap();
    // Nothing is left to redo: term and membership come from the checkpoint record.
    std::fs::remove_dir_all(dir.path().join(crate::db::WAL_DIR)).unwrap();
    let (db, report) = Database::open(dir.path(), Options::default()).unwrap();
    assert_eq!(report.redone_entries, 0);
    assert_eq!(db.applied_position(), LogPosition { term: 3, index: Lsn(1) });
    assert_eq!(db.membership(), membership);
}

#[test]
fn a_batch_entry_applies_each_member_alone_and_redo_does_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
    let (first, second) = (vertex(1), vertex(2));
    let (kept1, kept2) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
    // A log that only takes the bytes: the index comes with the committed entry.
    let keep = |kept: &Mutex<Vec<u8>>, bytes: &[u8]| {
        *kept.lock().unwrap() = bytes.to_vec();
        Ok(None)
    };
    let mut p1 = db.prepare(&first, |b: &[u8]| keep(&kept1, b));
    let mut p2 = db.prepare(&second, |b: &[u8]| keep(&kept2, b));
    assert!(poll_once(&mut p1).is_pending() && poll_once(&mut p2).is_pending());
    let (b1, b2) = (kept1.lock().unwrap().clone(), kept2.lock().unwrap().clone());
    // A member that fails the same way everywhere (it deletes a record that does not exist)
    // sits between them: it alone is skipped.
    let bad = crate::entry::TxEntry {
        term: 0,
        proposal: None,
        commit_time_us: 0,
        ops: vec![crate::entry::Op::Delete { rid: crate::value::Rid::new(9, 999_999) }],
    }
    .encode();
    let batch = crate::entry::encode_batch([b1.as_slice(), bad.as_slice(), b2.as_slice()]);
    let next = db.applied_lsn().next();
    db.wal().write_at(&[(next, crate::entry::BATCH_KIND, &batch)]).unwrap();
    let outcome = db.apply_committed_batch(&[(LogPosition { term: 0, index: next }, crate::entry::BATCH_KIND, &batch)]);
    match outcome.unwrap().as_slice() {
        [ApplyOutcome::Skipped(why)] => assert!(!why.is_empty()),
        other => panic!("the batch's outcome: {other:?}"),
    }
    for p in [&mut p1, &mut p2] {
        match poll_once(p) {
            Poll::Ready(Ok(c)) => assert_eq!(c.lsn, next, "both members committed at the batch's index"),
            other => panic!("a member's outcome: {other:?}"),
        }
    }
    assert_eq!(numbers(&db), vec![1, 2]);
    drop((p1, p2));
    drop(db); // No checkpoint: open must redo the batch.

    let (db, report) = Database::open(dir.path(), Options::default()).unwrap();
    assert_eq!(numbers(&db), vec![1, 2]);
    assert_eq!(db.applied_lsn(), next);
    assert!(
        matches!(report.failed_entries.as_slice(), [(lsn, _)] if *lsn == next),
        "redo skips the same member: {:?}",
        report.failed_entries
    );
}
