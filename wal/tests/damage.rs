//! Telling damage from a torn tail in the open segment: every "this can only be X" in
//! recovery, each with its case. Damage that something proves was durable (a later frame
//! written after it was synced, or the meta file's committed position) is refused by open
//! with the segment and offset, and nothing is changed; a torn tail is still cut.

// Test code: a panic is how a helper reports a failure.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use basalt_wal::format::{self, FRAME_HEADER_BYTES_V2, HEADER_BYTES};
use basalt_wal::inspect::inspect;
use basalt_wal::{Error, Kind, LogId, LogPosition, Lsn, MemStorage, Storage, Term, Wal, WalOptions};

const LOG: LogId = LogId(0xDA4A);

fn opts() -> WalOptions {
    WalOptions { sync_thread: false, ..WalOptions::new(LOG) }
}

fn open(s: &MemStorage) -> Wal {
    Wal::open(Arc::new(s.clone()), opts()).unwrap().0
}

/// Every file and its bytes.
fn snapshot(s: &MemStorage) -> Vec<(String, Option<Vec<u8>>)> {
    let mut names = s.list().unwrap();
    names.sort();
    names.into_iter().map(|n| (n.clone(), s.read_file(&n))).collect()
}

/// The open (last) segment's name.
fn open_segment(s: &MemStorage) -> String {
    let mut names: Vec<String> =
        s.list().unwrap().into_iter().filter(|n| format::parse_segment_file_name(n).is_some()).collect();
    names.sort();
    names.pop().unwrap()
}

/// Frame start offsets in a segment's bytes, up to its zeroed tail.
fn frame_starts(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = HEADER_BYTES;
    while at + FRAME_HEADER_BYTES_V2 <= bytes.len() && bytes[at..at + FRAME_HEADER_BYTES_V2].iter().any(|b| *b != 0) {
        out.push(at);
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += FRAME_HEADER_BYTES_V2 + len;
    }
    out
}

/// A log of `count` acknowledged appends (each its own synced batch), then a power loss
/// that keeps everything synced (the preallocated zeros too): what SIGKILL leaves.
fn acknowledged_then_crash(count: u64) -> MemStorage {
    let s = MemStorage::new();
    let wal = open(&s);
    for i in 1..=count {
        wal.append(Kind(1), format!("acknowledged entry {i}").as_bytes()).unwrap();
    }
    s.crash(7);
    drop(wal);
    s
}

fn flip(s: &MemStorage, name: &str, at: usize) {
    let mut bytes = s.read_file(name).unwrap();
    bytes[at] ^= 0x40;
    s.write_file(name, &bytes);
}

/// Opens expecting a refusal naming `segment` and `offset`, with no file changed, and
/// checks `inspect` (what `wal-inspect --verify` reports) names the same.
fn refused_at(s: &MemStorage, segment: &str, offset: u64) -> String {
    let before = snapshot(s);
    let err = Wal::open(Arc::new(s.clone()), opts()).unwrap_err();
    assert_eq!(snapshot(s), before, "a refused open changed files");
    match &err {
        Error::Corrupt { segment: path, offset: at, .. } => {
            assert!(path.ends_with(segment), "{err}");
            assert_eq!(*at, offset, "{err}");
        }
        other => panic!("expected Corrupt, got {other}"),
    }
    let found = inspect(s, |_| {}).unwrap();
    assert!(
        found.problems.iter().any(|p| p.file == segment && p.offset == offset),
        "inspect must report {segment} at {offset}: {:?}",
        found.problems
    );
    err.to_string()
}

#[test]
fn the_issues_case_a_flipped_byte_a_third_into_the_open_segment_is_refused_and_nothing_cut() {
    let s = acknowledged_then_crash(200);
    let name = open_segment(&s);
    let bytes = s.read_file(&name).unwrap();
    let starts = frame_starts(&bytes);
    assert_eq!(starts.len(), 200);
    let end = starts[199] + FRAME_HEADER_BYTES_V2 + 22;
    let third = end / 3;
    flip(&s, &name, third);
    let damaged_frame = *starts.iter().rev().find(|st| **st <= third).unwrap();
    let message = refused_at(&s, &name, damaged_frame as u64);
    assert!(message.contains("damage, not a torn write"), "{message}");
    // Still refused the second time: nothing was cut.
    refused_at(&s, &name, damaged_frame as u64);
}

#[test]
fn a_zeroed_preallocated_tail_is_not_damage() {
    let s = acknowledged_then_crash(20);
    let name = open_segment(&s);
    let bytes = s.read_file(&name).unwrap();
    assert!(bytes.len() > frame_starts(&bytes).last().unwrap() + 100, "the crash left preallocated zeros");
    let (wal, report) = Wal::open(Arc::new(s.clone()), opts()).unwrap();
    assert_eq!(report.torn_tail, None);
    assert_eq!(wal.status().last_lsn, Lsn(20));
}

#[test]
fn zeroed_bytes_among_durable_frames_are_damage() {
    let s = acknowledged_then_crash(20);
    let name = open_segment(&s);
    let mut bytes = s.read_file(&name).unwrap();
    let starts = frame_starts(&bytes);
    bytes[starts[5]..starts[7]].fill(0);
    s.write_file(&name, &bytes);
    refused_at(&s, &name, starts[5] as u64);
}

#[test]
fn damage_in_the_last_frame_of_a_batch_is_refused_when_a_later_batch_follows() {
    let s = MemStorage::new();
    let wal = open(&s);
    wal.append(Kind(1), b"one").unwrap();
    wal.write_at(&[(Lsn(2), Kind(1), b"two"), (Lsn(3), Kind(1), b"three"), (Lsn(4), Kind(1), b"four")]).unwrap();
    wal.sync().unwrap();
    wal.append(Kind(1), b"five").unwrap();
    s.crash(3);
    drop(wal);
    let name = open_segment(&s);
    let starts = frame_starts(&s.read_file(&name).unwrap());
    flip(&s, &name, starts[3] + FRAME_HEADER_BYTES_V2);
    refused_at(&s, &name, starts[3] as u64);
}

#[test]
fn damage_inside_the_last_batch_is_cut_as_a_torn_tail() {
    // Frames of one batch were encoded before any of them was synced, so a valid frame after
    // a bad one in the same batch proves nothing: a power loss can keep a later page of a
    // batch and lose an earlier one. This is the torn tail of a crash mid-batch, recovered
    // as before.
    let s = MemStorage::new();
    let wal = open(&s);
    wal.append(Kind(1), b"one").unwrap();
    let batch: Vec<Vec<u8>> = (2..=6u8).map(|i| vec![i; 40]).collect();
    let entries: Vec<(Lsn, Kind, &[u8])> =
        batch.iter().enumerate().map(|(i, b)| (Lsn(i as u64 + 2), Kind(1), &b[..])).collect();
    wal.write_at(&entries).unwrap();
    wal.sync().unwrap();
    s.crash(5);
    drop(wal);
    let name = open_segment(&s);
    let starts = frame_starts(&s.read_file(&name).unwrap());
    flip(&s, &name, starts[2] + FRAME_HEADER_BYTES_V2 + 1);
    let (wal, report) = Wal::open(Arc::new(s.clone()), opts()).unwrap();
    let torn = report.torn_tail.expect("a torn tail");
    assert_eq!((torn.segment.as_str(), torn.offset), (name.as_str(), starts[2] as u64));
    assert_eq!(wal.status().last_lsn, Lsn(2));
    assert_eq!(wal.append(Kind(1), b"again").unwrap(), Lsn(3));
}

#[test]
fn damage_to_the_very_last_frame_is_cut_unless_the_meta_file_names_it_committed() {
    for committed in [false, true] {
        let s = MemStorage::new();
        let wal = open(&s);
        for i in 1..=5u8 {
            wal.append(Kind(1), &[i; 10]).unwrap();
        }
        if committed {
            wal.save_committed(LogPosition { term: Term(1), node: 1, lsn: Lsn(5) }).unwrap();
        }
        s.crash(9);
        drop(wal);
        let name = open_segment(&s);
        let starts = frame_starts(&s.read_file(&name).unwrap());
        flip(&s, &name, starts[4] + FRAME_HEADER_BYTES_V2 + 2);
        if committed {
            let message = refused_at(&s, &name, starts[4] as u64);
            assert!(message.contains("committed"), "{message}");
        } else {
            let (wal, report) = Wal::open(Arc::new(s.clone()), opts()).unwrap();
            assert_eq!(report.torn_tail.map(|t| t.offset), Some(starts[4] as u64));
            assert_eq!(wal.status().last_lsn, Lsn(4));
        }
    }
}

#[test]
fn a_torn_write_of_a_crash_mid_batch_still_recovers() {
    // Unsynced batches, then a power loss under many seeds: a prefix survives, torn frames are
    // cut, never refused (nothing after a torn frame was synced after it).
    for seed in 0..100 {
        let s = MemStorage::new();
        let wal = open(&s);
        for i in 1..=3u8 {
            wal.append(Kind(1), &[i; 300]).unwrap();
        }
        let big: Vec<Vec<u8>> = (0..6u8).map(|i| vec![i; 200 + 150 * i as usize]).collect();
        let entries: Vec<(Lsn, Kind, &[u8])> =
            big.iter().enumerate().map(|(i, b)| (Lsn(i as u64 + 4), Kind(2), &b[..])).collect();
        wal.write_at(&entries).unwrap();
        wal.write_at(&[(Lsn(10), Kind(2), &[9u8; 700][..])]).unwrap();
        s.crash(seed);
        drop(wal);
        let (wal, _) = Wal::open(Arc::new(s.clone()), opts()).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(wal.status().last_lsn >= Lsn(3), "seed {seed}: acknowledged entries lost");
    }
}

#[test]
fn damage_in_a_sealed_segment_is_refused() {
    let s = MemStorage::new();
    let wal = Wal::open(Arc::new(s.clone()), WalOptions { segment_bytes_max: 300, ..opts() }).unwrap().0;
    for i in 1..=30u8 {
        wal.append(Kind(1), &[i; 20]).unwrap();
    }
    wal.close().unwrap();
    let first = format::segment_file_name(Lsn(1));
    flip(&s, &first, HEADER_BYTES + FRAME_HEADER_BYTES_V2 + 3);
    refused_at(&s, &first, HEADER_BYTES as u64);
}
