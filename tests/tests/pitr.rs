//! Point-in-time restore and the WAL archive: `basalt-snapshot restore --until LSN` gives
//! exactly the digest the database had at that LSN (recorded through the engine while
//! writing), `--until TIME` the digest after the last transaction committed by then; a gap in
//! the archive after the snapshot, an archive that ends too early and a bound before the
//! snapshot are refused, naming what is missing, with nothing installed; and a purge with the
//! archive on never deletes a segment that is not archived yet, even while archiving fails,
//! and finishes once the archive works again.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use basalt_engine::entry::unix_micros_now;
use basalt_engine::{Database, Document, Lsn, Options, Transaction, Value};
use basalt_tests::server::{run_snapshot as snapshot, snapshot_ok as ok, snapshot_refused as refused};
use basalt_tools::time::format_time_us;
use basalt_wal::{ArchiveEvent, ArchiveOptions, DiskStorage};

const DB: &str = "Pitr";
/// Small segments, so a few hundred commits seal many of them.
const SEGMENT_BYTES: u64 = 16 << 10;

fn archive_options(root: &Path, events: Option<Arc<Mutex<Vec<ArchiveEvent>>>>) -> ArchiveOptions {
    let hook = events.map(|log| {
        let hook: basalt_wal::ArchiveHook = Arc::new(move |e: &ArchiveEvent| log.lock().unwrap().push(e.clone()));
        hook
    });
    ArchiveOptions { hook, retry_initial_ms: 20, retry_max_ms: 200, ..ArchiveOptions::new(root) }
}

fn options(root: &Path) -> Options {
    Options {
        wal_segment_bytes: SEGMENT_BYTES,
        wal_archive: Some(archive_options(root, None)),
        purge_wal_after_checkpoint: true,
        ..Options::default()
    }
}

/// Commits one vertex; returns the LSN and the database's digest right after it.
fn write(db: &Database, n: i64) -> (Lsn, String) {
    let mut tx = Transaction::new();
    tx.create("V", Document::new().with("n", Value::Long(n)).with("pad", Value::String("x".repeat(200))));
    let lsn = db.commit(&tx).unwrap().lsn;
    let snap = db.snapshot();
    assert_eq!(snap.applied_lsn(), lsn);
    (lsn, snap.full_digest().unwrap().hex())
}

/// The last LSN of the contiguous archive from its first segment, and its first LSN.
fn archived_range(folder: &Path) -> Option<(Lsn, Lsn)> {
    if !folder.is_dir() {
        return None;
    }
    let inspection = basalt_wal::inspect::inspect(&DiskStorage::existing(folder), |_| {}).unwrap();
    assert!(inspection.problems.is_empty(), "{:?}", inspection.problems);
    let first = inspection.segments.first()?.first_lsn;
    Some((first, inspection.segments.iter().filter_map(|s| s.last_lsn).max()?))
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A database written in two phases around an offline snapshot, archived as it goes.
struct Scenario {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    archive: PathBuf,
    snap: PathBuf,
    snapshot_lsn: Lsn,
    /// The digest right after each commit of the second phase.
    digests: BTreeMap<Lsn, String>,
    /// A commit time taken between two commits: (time, the last LSN committed before it).
    time_mark: (u64, Lsn),
    /// A time taken before the last commit of the first phase.
    before_snapshot: u64,
    /// The last LSN the archive holds.
    archived_last: Lsn,
    /// A time after the last write.
    end_time: u64,
}

fn scenario() -> Scenario {
    let tmp = tempfile::tempdir().unwrap();
    let (home, archive, snap) = (tmp.path().join("home"), tmp.path().join("archive"), tmp.path().join("pitr.snap"));
    let dir = home.join("databases").join(DB);
    let (db, _) = Database::create(&dir, options(&archive)).unwrap();
    let mut before_snapshot = 0;
    for n in 0..100 {
        if n == 99 {
            before_snapshot = unix_micros_now();
            wait_for("the clock to move", Duration::from_secs(5), || unix_micros_now() > before_snapshot);
        }
        write(&db, n);
    }
    db.close().unwrap();
    ok(snapshot(&["create", "--quiet", "--home", p(&home), "--db", DB, p(&snap)]));
    let (db, _) = Database::open(&dir, options(&archive)).unwrap();
    let snapshot_lsn = db.snapshot().applied_lsn();
    let mut digests = BTreeMap::new();
    let mut time_mark = (0, Lsn::ZERO);
    for n in 100..400 {
        let (lsn, digest) = write(&db, n);
        digests.insert(lsn, digest);
        if n == 250 {
            // Every entry up to `lsn` was formed before this time, every later one after it.
            let t = unix_micros_now();
            wait_for("the clock to move", Duration::from_secs(5), || unix_micros_now() > t);
            time_mark = (t, lsn);
        }
    }
    let end_time = unix_micros_now();
    db.checkpoint().unwrap();
    db.wal().archive_now().unwrap();
    db.close().unwrap();
    let (_, archived_last) = archived_range(&archive.join(DB)).unwrap();
    assert!(archived_last > time_mark.1, "the archive reaches past the time mark: {archived_last}");
    Scenario {
        _tmp: tmp,
        home,
        archive,
        snap,
        snapshot_lsn,
        digests,
        time_mark,
        before_snapshot,
        archived_last,
        end_time,
    }
}

/// The digest and applied LSN of database `name` in `home`, opened through the engine.
fn digest_in(home: &Path, name: &str) -> (String, Lsn) {
    let (db, _) = Database::open(home.join("databases").join(name), Options::default()).unwrap();
    let snap = db.snapshot();
    let out = (snap.full_digest().unwrap().hex(), snap.applied_lsn());
    drop(snap);
    db.close().unwrap();
    out
}

#[test]
fn restore_until_an_lsn_or_a_time_gives_the_digest_the_database_had_then() {
    let s = scenario();
    let target = home_for(&s, "b");
    // An LSN in the middle of the second phase.
    let lsn = Lsn(s.snapshot_lsn.0 + 120);
    assert!(lsn <= s.archived_last);
    let out = ok(snapshot(&[
        "restore",
        "--quiet",
        "--json",
        p(&s.snap),
        "--home",
        p(&target),
        "--as",
        "AtLsn",
        "--until",
        &lsn.0.to_string(),
        "--archive",
        p(&s.archive),
    ]));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["pitr"]["restoredLsn"], lsn.0, "{report}");
    assert_eq!(report["pitr"]["entriesReplayed"], lsn.0 - s.snapshot_lsn.0, "{report}");
    assert_eq!(report["header"]["digest"].as_str(), Some(s.digests[&lsn].as_str()), "{report}");
    assert_eq!(digest_in(&target, "AtLsn"), (s.digests[&lsn].clone(), lsn));

    // The last LSN the archive holds, and the snapshot's own LSN (nothing to replay).
    let out = ok(snapshot(&[
        "restore",
        "--quiet",
        p(&s.snap),
        "--home",
        p(&target),
        "--as",
        "AtEnd",
        "--until",
        &s.archived_last.0.to_string(),
        "--archive",
        p(&s.archive),
    ]));
    assert!(out.contains(&format!("at LSN {}", s.archived_last.0)), "{out}");
    assert_eq!(digest_in(&target, "AtEnd"), (s.digests[&s.archived_last].clone(), s.archived_last));
    ok(snapshot(&[
        "restore",
        "--quiet",
        p(&s.snap),
        "--home",
        p(&target),
        "--as",
        "AtSnap",
        "--until",
        &s.snapshot_lsn.0.to_string(),
        "--archive",
        p(&s.archive),
    ]));
    assert_eq!(digest_in(&target, "AtSnap").1, s.snapshot_lsn);

    // A time: the last transaction committed at or before it, in RFC 3339 and in the plain
    // form (which has whole seconds only, so it is checked against its own bound below).
    let (t, last_before) = s.time_mark;
    let out = ok(snapshot(&[
        "restore",
        "--quiet",
        "--json",
        p(&s.snap),
        "--home",
        p(&target),
        "--as",
        "AtTime",
        "--until",
        &format_time_us(t),
        "--archive",
        p(&s.archive),
    ]));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["pitr"]["restoredLsn"], last_before.0, "{report}");
    assert_eq!(digest_in(&target, "AtTime"), (s.digests[&last_before].clone(), last_before));
    // The plain form, whole seconds in UTC: the second after the last write is past every
    // entry, so the restore reaches the end of the archive and says so.
    let plain = format_time_us((s.end_time / 1_000_000 + 1) * 1_000_000).replace('T', " ");
    let out = ok(snapshot(&[
        "restore",
        "--quiet",
        "--json",
        p(&s.snap),
        "--home",
        p(&target),
        "--as",
        "AtSecond",
        "--until",
        &plain[..19],
        "--archive",
        p(&s.archive),
    ]));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["pitr"]["restoredLsn"], s.archived_last.0, "{report}");
    assert!(report["pitr"]["note"].as_str().unwrap().contains("the archive ends at LSN"), "{report}");
    assert_eq!(digest_in(&target, "AtSecond"), (s.digests[&s.archived_last].clone(), s.archived_last));
}

fn home_for(s: &Scenario, name: &str) -> PathBuf {
    let home = s.home.parent().unwrap().join(name);
    std::fs::create_dir_all(&home).unwrap();
    home
}

#[test]
fn a_gap_an_early_end_and_a_bound_before_the_snapshot_are_refused() {
    let s = scenario();
    let target = home_for(&s, "c");
    let databases = target.join("databases");
    let restore = |until: &str, archive: &Path| {
        snapshot(&["restore", "--quiet", p(&s.snap), "--home", p(&target), "--until", until, "--archive", p(archive)])
    };
    let nothing_installed = || {
        let left: Vec<_> =
            std::fs::read_dir(&databases).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
        assert!(left.is_empty(), "nothing may be left behind: {left:?}");
    };

    // A gap: remove an archived segment after the snapshot's LSN.
    let gappy = s.home.parent().unwrap().join("gappy");
    basalt_tools::snapshot::copy_tree(&s.archive.join(DB), &gappy.join(DB)).unwrap();
    let inspection = basalt_wal::inspect::inspect(&DiskStorage::existing(gappy.join(DB)), |_| {}).unwrap();
    let victim = inspection
        .segments
        .iter()
        .find(|seg| seg.first_lsn > s.snapshot_lsn.next() && seg.last_lsn.is_some_and(|l| l < s.archived_last))
        .unwrap()
        .clone();
    std::fs::remove_file(gappy.join(DB).join(&victim.file)).unwrap();
    let err = refused(restore(&s.archived_last.0.to_string(), &gappy));
    let range = format!("LSNs {}..={} are missing", victim.first_lsn, victim.last_lsn.unwrap());
    assert!(err.contains(&range), "the missing range is named ({range}): {err}");
    nothing_installed();
    // A bound before the gap still restores from the same archive.
    let before_gap = victim.first_lsn.prev();
    if before_gap > s.snapshot_lsn {
        ok(restore(&before_gap.0.to_string(), &gappy));
        assert_eq!(digest_in(&target, DB), (s.digests[&before_gap].clone(), before_gap));
        std::fs::remove_dir_all(databases.join(DB)).unwrap();
    }

    // Past the end of the archive.
    let err = refused(restore(&(s.archived_last.0 + 50).to_string(), &s.archive));
    assert!(err.contains(&format!("ends at LSN {}", s.archived_last.0)), "{err}");
    nothing_installed();

    // Before the snapshot, as an LSN and as a time.
    let err = refused(restore(&(s.snapshot_lsn.0 - 1).to_string(), &s.archive));
    assert!(err.contains(&format!("before the snapshot's LSN {}", s.snapshot_lsn.0)), "{err}");
    let err = refused(restore(&format_time_us(s.before_snapshot), &s.archive));
    assert!(err.contains("is before the snapshot"), "{err}");
    nothing_installed();

    // Not a bound at all.
    let err = refused(restore("last tuesday", &s.archive));
    assert!(err.contains("is not a time"), "{err}");
}

#[test]
fn a_purge_never_deletes_a_segment_that_is_not_archived() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, root) = (tmp.path().join("databases").join(DB), tmp.path().join("archive"));
    let folder = root.join(DB);
    // The archive folder cannot be created: a file is in the way.
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(&folder, b"not a directory").unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let options = Options { wal_archive: Some(archive_options(&root, Some(events.clone()))), ..options(&root) };
    let (db, _) = Database::create(&dir, options).unwrap();
    let mut last = Lsn::ZERO;
    for n in 0..300 {
        last = write(&db, n).0;
    }
    assert!(db.wal().status().segments > 4, "{:?}", db.wal().status());
    assert!(db.wal().archive_now().is_err(), "archiving cannot work yet");
    db.checkpoint().unwrap();
    // The checkpoint asked for a purge; nothing unarchived went.
    assert_eq!(db.wal().status().first_lsn, Lsn(1), "{:?}", db.wal().status());
    wait_for("a failure to be reported", Duration::from_secs(10), || {
        events.lock().unwrap().iter().any(|e| matches!(e, ArchiveEvent::Failed { .. }))
    });
    assert_eq!(db.wal().status().first_lsn, Lsn(1));

    // Once the archive works, the archiver copies everything sealed and finishes the purge.
    std::fs::remove_file(&folder).unwrap();
    wait_for("the held-back purge to finish", Duration::from_secs(20), || db.wal().status().first_lsn > Lsn(1));
    let status = db.wal().status();
    let (first, archived_last) = archived_range(&folder).unwrap();
    assert_eq!(first, Lsn(1), "the archive starts at the log's first entry");
    assert!(archived_last >= status.first_lsn.prev(), "no LSN is in neither place: {archived_last} {status:?}");
    assert!(events.lock().unwrap().iter().any(|e| matches!(e, ArchiveEvent::Archived { first_lsn: Lsn(1), .. })));

    // More purges later: the log moves on, the archive stays unbroken from LSN 1 and
    // reaches the log's first entry.
    let purged_to = status.first_lsn;
    for n in 300..600 {
        last = write(&db, n).0;
    }
    db.checkpoint().unwrap();
    wait_for("the next purge", Duration::from_secs(20), || db.wal().status().first_lsn > purged_to);
    let status = db.wal().status();
    let (first, archived_last) = archived_range(&folder).unwrap();
    assert_eq!(first, Lsn(1));
    assert!(archived_last.next() >= status.first_lsn, "no LSN is in neither place: {archived_last} {status:?}");
    assert_eq!(status.last_lsn, last, "{status:?}");
    db.close().unwrap();
}
