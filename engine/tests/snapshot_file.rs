//! Snapshot images of a live database: taken while commits go on, they hold exactly one
//! checkpoint's state, and an installed image opens as that database.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use basalt_engine::snapshot_file::{self, Reader, SnapshotError};
use basalt_engine::{Database, Document, Options, Transaction, Value};

fn vertex(db: &Database, n: i64) {
    let mut tx = Transaction::new();
    tx.create("V", Document::new().with("n", Value::Long(n)));
    db.commit(&tx).unwrap();
}

#[test]
fn an_image_taken_during_commits_opens_as_the_database_at_its_lsn() {
    let src = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(src.path(), Options::default()).unwrap();
    let db = Arc::new(db);
    for n in 0..200 {
        vertex(&db, n);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 1000;
            while !stop.load(Ordering::Relaxed) {
                vertex(&db, n);
                n += 1;
            }
            n - 1000
        })
    };
    // Let the writer get going, then take the image while it commits.
    while db.applied_lsn().0 < 230 {
        std::thread::yield_now();
    }
    let (header, totals, image) = {
        let hold = db.hold_checkpoints().unwrap();
        let out = snapshot_file::write_dir(src.path(), "src", 5, Vec::new()).unwrap();
        assert_eq!(out.0.lsn, hold.lsn.0, "the image holds the held checkpoint");
        out
    };
    stop.store(true, Ordering::Relaxed);
    let more = writer.join().unwrap();
    assert!(more > 0);
    assert!(db.applied_lsn().0 > header.lsn || more < 3, "commits went on past the image");
    assert_eq!(totals.raw_bytes, header.raw_bytes());
    assert!(totals.compressed_bytes < totals.raw_bytes);
    let vertices_in_image = header.classes["V"];
    assert!(vertices_in_image >= 230, "{vertices_in_image}");

    let dst = tempfile::tempdir().unwrap();
    let dir = dst.path().join("restored");
    let mut reader = Reader::new(&image[..]).unwrap();
    snapshot_file::install(&mut reader, &dir, |_| {}).unwrap();
    let (copy, report) = Database::open(&dir, Options::default()).unwrap();
    assert_eq!(report.redone_entries, 0, "an image needs no redo");
    let snap = copy.snapshot();
    assert_eq!(snap.applied_lsn().0, header.lsn);
    assert_eq!(snap.full_digest().unwrap().hex(), header.digest);
    assert_eq!(snap.count("V", false).unwrap(), vertices_in_image);
    assert_eq!(format!("{:032x}", copy.id()), header.database_id);
    drop(snap);
    // The copy is a working database: it takes commits after the image's LSN.
    vertex(&copy, -1);
    assert_eq!(copy.applied_lsn().0, header.lsn + 1);
}

#[test]
fn a_damaged_image_installs_nothing() {
    let src = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(src.path(), Options::default()).unwrap();
    for n in 0..50 {
        vertex(&db, n);
    }
    db.checkpoint().unwrap();
    let (_, _, image) = snapshot_file::write_dir(src.path(), "src", 5, Vec::new()).unwrap();
    let dst = tempfile::tempdir().unwrap();
    for at in [image.len() / 3, image.len() / 2, image.len() - 10] {
        let mut bad = image.clone();
        bad[at] ^= 0x10;
        let dir = dst.path().join(format!("at{at}"));
        let result = Reader::new(&bad[..]).and_then(|mut r| snapshot_file::install(&mut r, &dir, |_| {}));
        assert!(result.is_err(), "damage at {at} went unnoticed");
        assert!(!dir.exists(), "a partial install was left at {}", dir.display());
    }
    let dir = dst.path().join("truncated");
    let mut r = Reader::new(&image[..image.len() - 30]).unwrap();
    let err = snapshot_file::install(&mut r, &dir, |_| {}).unwrap_err();
    assert!(matches!(err, SnapshotError::Truncated { .. } | SnapshotError::Corrupt { .. }), "{err}");
    assert!(!dir.exists());
}
