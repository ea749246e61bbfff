//! The WAL archive seam: sealed segments are copied only once their entries are final (in a
//! Raft log, committed: a vote with no committed position archives nothing), copies are
//! whole and checked, and a purge deletes only what is archived.

// Test code: a panic is how a helper reports a failure.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use basalt_wal::inspect::inspect;
use basalt_wal::{
    ArchiveOptions, DiskStorage, Kind, LogId, LogPosition, Lsn, MemStorage, NewEntry, Term, Vote, Wal, WalOptions,
};

const LOG: LogId = LogId(0xA7C4);

fn options(archive: &std::path::Path) -> WalOptions {
    WalOptions {
        segment_bytes_max: 400,
        sync_thread: true,
        archive: Some(ArchiveOptions { retry_initial_ms: 10, ..ArchiveOptions::new(archive) }),
        ..WalOptions::new(LOG)
    }
}

/// The archived segments' (first, last) LSNs, checked sound.
fn archived(dir: &std::path::Path) -> Vec<(Lsn, Option<Lsn>)> {
    if !dir.is_dir() {
        return Vec::new();
    }
    let found = inspect(&DiskStorage::existing(dir), |_| {}).unwrap();
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    found.segments.iter().map(|s| (s.first_lsn, s.last_lsn)).collect()
}

#[test]
fn a_raft_log_archives_only_committed_segments_and_purges_only_archived_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let s = MemStorage::new();
    let (wal, _) = Wal::open(Arc::new(s.clone()), options(tmp.path())).unwrap();
    wal.save_vote(Vote { term: Term(1), node: 1, committed: true }).unwrap();
    let payload = [7u8; 40];
    for lsn in 1..=40 {
        let e = NewEntry { lsn: Lsn(lsn), term: Term(1), kind: Kind(1), payload: &payload };
        wal.write_entries(&[e]).unwrap().wait().unwrap();
    }
    assert!(wal.status().segments > 4, "{:?}", wal.status());
    // Voted, nothing committed: no entry is final, nothing is archived or purged.
    assert_eq!(wal.archive_now().unwrap(), 0);
    assert!(archived(tmp.path()).is_empty());
    assert_eq!(wal.purge_before(Lsn(30)).unwrap(), Lsn(1));

    // Committed up to 20: exactly the sealed segments ending at or before 20.
    wal.set_committed(LogPosition { term: Term(1), node: 1, lsn: Lsn(20) }).unwrap();
    wal.archive_now().unwrap(); // (or the archiver thread did it first)
    let copies = archived(tmp.path());
    assert_eq!(copies[0].0, Lsn(1));
    let last = copies.iter().filter_map(|c| c.1).max().unwrap();
    assert!(last <= Lsn(20), "{copies:?}");
    for w in copies.windows(2) {
        assert_eq!(w[0].1.unwrap().next(), w[1].0, "the archive has no gap: {copies:?}");
    }
    // A purge to 30 stops at the first segment not archived.
    let first = wal.purge_before(Lsn(30)).unwrap();
    assert_eq!(first, last.next(), "purged exactly the archived segments");
    wal.close().unwrap();
}
