//! The seams a Raft log store needs: terms, entries readable before they are durable,
//! durability callbacks, truncation that fails pending handles, the meta file, purge to a
//! position, the frame index, and version-1 segments still read (as term 0).

// Test code: a panic is how a helper reports a failure.
#![allow(clippy::unwrap_used)]

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use basalt_wal::format::{self, SegmentHeader, FLAG_BASE, FORMAT_VERSION_V1};
use basalt_wal::meta::{META_FILE_NAME, META_TEMP_FILE_NAME};
use basalt_wal::{
    Error, Kind, LogId, LogPosition, Lsn, MemStorage, Meta, NewEntry, Storage, StorageFile, Term, Vote, Wal, WalOptions,
};

const LOG: LogId = LogId(0x7AF7);

fn opts() -> WalOptions {
    WalOptions::new(LOG)
}

fn open(s: &MemStorage, o: WalOptions) -> Wal {
    Wal::open(Arc::new(s.clone()), o).unwrap().0
}

fn entry(lsn: u64, term: u64, payload: &[u8]) -> NewEntry<'_> {
    NewEntry { lsn: Lsn(lsn), term: Term(term), kind: Kind(1), payload }
}

fn pos(term: u64, lsn: u64) -> LogPosition {
    LogPosition { term: Term(term), node: 1, lsn: Lsn(lsn) }
}

/// A callback that sends its result on a channel.
fn channel_callback() -> (basalt_wal::DurableCallback, mpsc::Receiver<basalt_wal::Result<Lsn>>) {
    let (tx, rx) = mpsc::channel();
    (Box::new(move |r| drop(tx.send(r))), rx)
}

#[test]
fn terms_are_stored_with_entries_and_survive_reopen() {
    let s = MemStorage::new();
    let wal = open(&s, WalOptions { segment_bytes_max: 400, ..opts() });
    let bodies: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; 30]).collect();
    let entries: Vec<NewEntry<'_>> =
        bodies.iter().enumerate().map(|(i, b)| entry(i as u64 + 1, i as u64 / 5, b)).collect();
    wal.write_entries(&entries).unwrap().wait().unwrap();
    let got = wal.submit_with_term(Term(9), Kind(2), b"leader").unwrap().wait().unwrap();
    assert_eq!(got, Lsn(21));
    wal.close().unwrap();
    let wal = open(&s, opts());
    let read: Vec<(u64, u64)> = wal.reader(Lsn(1)).map(|e| e.unwrap()).map(|e| (e.lsn.0, e.term.0)).collect();
    let mut want: Vec<(u64, u64)> = (0..20).map(|i| (i + 1, i / 5)).collect();
    want.push((21, 9));
    assert_eq!(read, want);
    let range = wal.read_range(Lsn(4), Lsn(7)).unwrap();
    assert_eq!(range.iter().map(|e| (e.lsn.0, e.term.0)).collect::<Vec<_>>(), vec![(4, 0), (5, 0), (6, 1)]);
}

/// Writes a version-1 log (as builds before terms wrote it) with `count` entries; returns
/// the storage.
fn version1_log(count: u64) -> MemStorage {
    let s = MemStorage::new();
    let mut bytes =
        SegmentHeader { log_id: LOG, first_lsn: Lsn(1), flags: FLAG_BASE }.encode_version(FORMAT_VERSION_V1).to_vec();
    for i in 1..=count {
        format::encode_frame(&mut bytes, Lsn(i), Kind(3), format!("old {i}").as_bytes());
    }
    s.write_file(&format::segment_file_name(Lsn(1)), &bytes);
    s
}

#[test]
fn version1_segments_open_read_as_term_zero_and_new_entries_go_to_a_new_segment() {
    let s = version1_log(5);
    let before = s.read_file(&format::segment_file_name(Lsn(1))).unwrap();
    let wal = open(&s, opts());
    assert_eq!(wal.status().last_lsn, Lsn(5));
    wal.submit_with_term(Term(4), Kind(1), b"new").unwrap().wait().unwrap();
    wal.close().unwrap();
    // The old segment keeps its bytes (sealed as it was); the new entry is in a v2 segment.
    assert_eq!(s.read_file(&format::segment_file_name(Lsn(1))).unwrap(), before);
    let v2 = s.read_file(&format::segment_file_name(Lsn(6))).expect("a new segment from LSN 6");
    assert_eq!(SegmentHeader::decode_versioned(&v2).unwrap().version, format::FORMAT_VERSION);
    let wal = open(&s, opts());
    let read: Vec<(u64, u64, Vec<u8>)> =
        wal.reader(Lsn(1)).map(|e| e.unwrap()).map(|e| (e.lsn.0, e.term.0, e.payload)).collect();
    assert_eq!(read.len(), 6);
    assert_eq!(read[0], (1, 0, b"old 1".to_vec()));
    assert_eq!(read[5], (6, 4, b"new".to_vec()));
}

#[test]
fn an_empty_version1_segment_is_replaced_by_a_current_one() {
    let s = version1_log(0);
    let wal = open(&s, opts());
    wal.append(Kind(1), b"first").unwrap();
    wal.close().unwrap();
    let bytes = s.read_file(&format::segment_file_name(Lsn(1))).unwrap();
    let h = SegmentHeader::decode_versioned(&bytes).unwrap();
    assert_eq!((h.version, h.header.flags), (format::FORMAT_VERSION, FLAG_BASE));
    let wal = open(&s, opts());
    assert_eq!(wal.reader(Lsn(1)).next().unwrap().unwrap().payload, b"first");
}

#[test]
fn a_truncate_into_a_version1_segment_continues_in_a_current_one() {
    let s = version1_log(8);
    let wal = open(&s, opts());
    wal.append(Kind(1), b"nine").unwrap();
    wal.truncate_after(Lsn(4)).unwrap();
    wal.submit_with_term(Term(2), Kind(1), b"five").unwrap().wait().unwrap();
    wal.close().unwrap();
    let wal = open(&s, opts());
    let read: Vec<(u64, u64)> = wal.reader(Lsn(1)).map(|e| e.unwrap()).map(|e| (e.lsn.0, e.term.0)).collect();
    assert_eq!(read, vec![(1, 0), (2, 0), (3, 0), (4, 0), (5, 2)]);
}

#[test]
fn entries_are_readable_as_soon_as_written_and_durable_readers_wait() {
    let s = MemStorage::new();
    let wal = open(&s, WalOptions { sync_thread: false, ..opts() });
    wal.append(Kind(1), b"durable").unwrap();
    let durable = wal.write_entries(&[entry(2, 1, b"a"), entry(3, 1, b"b")]).unwrap();
    let status = wal.status();
    assert_eq!((status.durable_lsn, status.last_lsn), (Lsn(1), Lsn(3)));
    assert_eq!(status.tail_bytes, 2);
    let got = wal.read_range(Lsn(1), Lsn(10)).unwrap();
    assert_eq!(
        got.iter().map(|e| e.payload.clone()).collect::<Vec<_>>(),
        vec![b"durable".to_vec(), b"a".to_vec(), b"b".to_vec()]
    );
    // The durable-only reader still sees only LSN 1.
    assert_eq!(wal.reader(Lsn(1)).count(), 1);
    assert_eq!(durable.wait().unwrap(), Lsn(3));
    assert_eq!(wal.status().tail_bytes, 0, "durable entries leave the tail");
    assert_eq!(wal.reader(Lsn(1)).count(), 3);
    assert!(matches!(wal.read_range(Lsn(0), Lsn(2)), Err(Error::Compacted(Lsn(0)))));
}

#[test]
fn the_tail_is_bounded_by_waiting_for_a_group_commit() {
    let s = MemStorage::new();
    let wal = open(&s, WalOptions { sync_thread: false, tail_bytes_max: 1000, ..opts() });
    let body = [7u8; 300];
    for i in 1..=20u64 {
        let _pending = wal.write_entries(&[entry(i, 1, &body)]).unwrap();
        let st = wal.status();
        assert!(st.tail_bytes <= 1000, "tail of {} bytes after entry {i}", st.tail_bytes);
    }
    // Nobody called sync: only the bound made entries durable.
    assert!(wal.status().durable_lsn >= Lsn(15), "{:?}", wal.status());
    assert_eq!(wal.read_range(Lsn(1), Lsn(21)).unwrap().len(), 20);
}

#[test]
fn callbacks_fire_only_after_the_fsync_that_covers_the_entry() {
    // Without the sync thread nothing syncs until asked: the callback must wait for that.
    let s = MemStorage::new();
    let wal = open(&s, WalOptions { sync_thread: false, ..opts() });
    let (cb, rx) = channel_callback();
    wal.write_entries_notify(&[entry(1, 1, b"x"), entry(2, 1, b"y")], cb).unwrap();
    assert!(rx.try_recv().is_err(), "fired before any fsync");
    let syncs = wal.stats().syncs;
    wal.sync().unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap(), Lsn(2));
    assert!(wal.stats().syncs > syncs);
    // With the sync thread, it fires on its own, and by then the entry is durable.
    let wal = Arc::new({
        drop(wal);
        open(&s, opts())
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    for i in 3..=40u64 {
        let (w, seen) = (wal.clone(), seen.clone());
        let body = i.to_le_bytes();
        let cb: basalt_wal::DurableCallback = Box::new(move |r| {
            let durable = w.status().durable_lsn;
            seen.lock().unwrap().push((r.unwrap(), durable));
        });
        wal.write_entries_notify(&[entry(i, 2, &body)], cb).unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap().len() < 38 {
        assert!(std::time::Instant::now() < deadline, "callbacks did not all fire");
        std::thread::sleep(Duration::from_millis(1));
    }
    for (lsn, durable) in seen.lock().unwrap().iter() {
        assert!(durable >= lsn, "callback for {lsn} ran while only {durable} was durable");
    }
}

#[test]
fn a_truncate_fails_pending_callbacks_and_handles_even_after_the_lsn_is_reused() {
    let s = MemStorage::new();
    let wal = open(&s, WalOptions { sync_thread: false, ..opts() });
    for i in 1..=5 {
        wal.append(Kind(1), &[i]).unwrap();
    }
    let (cb, rx) = channel_callback();
    wal.write_entries_notify(&[entry(6, 1, b"six"), entry(7, 1, b"seven")], cb).unwrap();
    let handle = wal.write_entries(&[entry(8, 1, b"eight")]).unwrap();
    let survivor = wal.submit(Kind(1), b"nine").unwrap();
    wal.truncate_after(Lsn(5)).unwrap();
    let got = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(matches!(got, Err(Error::EntryTruncated { lsn: Lsn(7) })), "{got:?}");
    // A different entry takes LSN 8 and becomes durable: the old handle still says "cut".
    let _pending = wal.write_entries(&[entry(6, 2, b"6"), entry(7, 2, b"7"), entry(8, 2, b"8")]).unwrap();
    wal.sync().unwrap();
    let got = handle.wait();
    assert!(matches!(got, Err(Error::EntryTruncated { lsn: Lsn(8) })), "{got:?}");
    let got = survivor.wait();
    assert!(matches!(got, Err(Error::EntryTruncated { lsn: Lsn(9) })), "{got:?}");
    // Entries a truncate keeps resolve Ok.
    let kept = wal.submit(Kind(1), b"nine again").unwrap();
    wal.truncate_after(Lsn(9)).unwrap();
    assert_eq!(kept.wait().unwrap(), Lsn(9));
}

#[test]
fn a_reset_fails_handles_of_entries_it_discards() {
    let s = MemStorage::new();
    let wal = open(&s, WalOptions { sync_thread: false, ..opts() });
    wal.append(Kind(1), b"1").unwrap();
    let cut = wal.submit(Kind(1), b"2").unwrap();
    let (cb, rx) = channel_callback();
    wal.write_entries_notify(&[entry(3, 1, b"3")], cb).unwrap();
    wal.reset(Lsn(2)).unwrap();
    assert!(matches!(cut.wait(), Err(Error::EntryTruncated { lsn: Lsn(2) })));
    assert!(matches!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), Err(Error::EntryTruncated { lsn: Lsn(3) })));
}

#[test]
fn the_meta_file_is_saved_durably_after_pending_appends_and_read_back() {
    let s = MemStorage::new();
    let wal = open(&s, WalOptions { sync_thread: false, ..opts() });
    assert_eq!(wal.meta(), Meta::default());
    let _pending = wal.write_entries(&[entry(1, 1, b"a"), entry(2, 1, b"b")]).unwrap();
    assert_eq!(wal.status().durable_lsn, Lsn(0));
    wal.save_committed(pos(1, 2)).unwrap();
    // The committed position is never durable before the entry it names.
    assert_eq!(wal.status().durable_lsn, Lsn(2));
    let vote = Vote { term: Term(3), node: 2, committed: true };
    wal.save_vote(vote).unwrap();
    assert!(matches!(wal.save_committed(pos(1, 3)), Err(Error::OutOfRange { .. })));
    // A power loss right now keeps both the entries and the meta file.
    s.crash(1);
    drop(wal);
    let wal = open(&s, opts());
    assert_eq!(wal.meta(), Meta { vote: Some(vote), last_purged: None, committed: Some(pos(1, 2)) });
    assert_eq!(wal.status().last_lsn, Lsn(2));
    // A lazily set committed position is written with the next meta file (here: close).
    wal.append(Kind(1), b"c").unwrap();
    wal.set_committed(pos(1, 3)).unwrap();
    assert_eq!(wal.meta().committed, Some(pos(1, 2)));
    wal.close().unwrap();
    let wal = open(&s, opts());
    assert_eq!(wal.meta().committed, Some(pos(1, 3)));
}

#[test]
fn a_damaged_meta_file_is_refused_and_a_half_written_one_removed() {
    let s = MemStorage::new();
    let wal = open(&s, opts());
    wal.save_vote(Vote { term: Term(1), node: 1, committed: false }).unwrap();
    wal.close().unwrap();
    s.write_file(META_TEMP_FILE_NAME, b"half");
    let (wal, report) = Wal::open(Arc::new(s.clone()), opts()).unwrap();
    assert!(report.removed_temp_files.contains(&META_TEMP_FILE_NAME.to_string()));
    assert!(s.read_file(META_TEMP_FILE_NAME).is_none());
    wal.close().unwrap();
    let mut bytes = s.read_file(META_FILE_NAME).unwrap();
    bytes[35] ^= 1;
    s.write_file(META_FILE_NAME, &bytes);
    let err = Wal::open(Arc::new(s.clone()), opts()).unwrap_err();
    assert!(matches!(&err, Error::Corrupt { segment, offset: 0, .. } if segment.ends_with(META_FILE_NAME)), "{err}");
    assert_eq!(s.read_file(META_FILE_NAME).unwrap(), bytes, "nothing rewritten");
}

#[test]
fn purge_to_records_the_position_and_drops_or_resets() {
    let s = MemStorage::new();
    let wal = open(&s, WalOptions { segment_bytes_max: 300, ..opts() });
    for i in 1..=30u64 {
        wal.append(Kind(1), &i.to_le_bytes()).unwrap();
    }
    wal.purge_to(pos(1, 20)).unwrap();
    assert_eq!(wal.meta().last_purged, Some(pos(1, 20)));
    assert!(wal.status().first_lsn > Lsn(1) && wal.status().first_lsn <= Lsn(21));
    // Past the end (a snapshot newer than the log): the log continues after it.
    wal.purge_to(pos(2, 50)).unwrap();
    let st = wal.status();
    assert_eq!((st.first_lsn, st.last_lsn), (Lsn(51), Lsn(50)));
    assert_eq!(wal.append(Kind(1), b"after").unwrap(), Lsn(51));
}

#[test]
fn an_interrupted_purge_is_finished_on_open() {
    // The meta file names a purge past the end, but the crash came before the reset.
    let s = MemStorage::new();
    let wal = open(&s, opts());
    for i in 1..=5u64 {
        wal.append(Kind(1), &i.to_le_bytes()).unwrap();
    }
    wal.close().unwrap();
    let meta = Meta { last_purged: Some(pos(3, 40)), ..Meta::default() };
    s.write_file(META_FILE_NAME, &meta.encode(LOG));
    let wal = open(&s, opts());
    assert_eq!(wal.status().first_lsn, Lsn(41));
    assert_eq!(wal.append(Kind(1), b"x").unwrap(), Lsn(41));
}

#[test]
fn raft_indexes_are_lsns_minus_one() {
    assert_eq!(Lsn::from_raft_index(0), Lsn(1));
    assert_eq!(Lsn(1).raft_index(), Some(0));
    assert_eq!(Lsn::ZERO.raft_index(), None);
}

/// A storage that records the offsets its segment files are read at.
#[derive(Debug)]
struct Recording {
    inner: MemStorage,
    reads: Arc<Mutex<Vec<u64>>>,
}

#[derive(Debug)]
struct RecordingFile {
    inner: Box<dyn StorageFile>,
    reads: Arc<Mutex<Vec<u64>>>,
}

impl StorageFile for RecordingFile {
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        self.reads.lock().unwrap().push(offset);
        self.inner.read_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        self.inner.write_all_at(buf, offset)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.inner.sync_data()
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.inner.set_len(len)
    }
}

impl Storage for Recording {
    fn list(&self) -> std::io::Result<Vec<String>> {
        self.inner.list()
    }
    fn open(&self, name: &str) -> std::io::Result<Box<dyn StorageFile>> {
        Ok(Box::new(RecordingFile { inner: self.inner.open(name)?, reads: self.reads.clone() }))
    }
    fn open_read(&self, name: &str) -> std::io::Result<Box<dyn StorageFile>> {
        Ok(Box::new(RecordingFile { inner: self.inner.open_read(name)?, reads: self.reads.clone() }))
    }
    fn create(&self, name: &str) -> std::io::Result<Box<dyn StorageFile>> {
        self.inner.create(name)
    }
    fn rename(&self, from: &str, to: &str) -> std::io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove(&self, name: &str) -> std::io::Result<()> {
        self.inner.remove(name)
    }
    fn sync_dir(&self) -> std::io::Result<()> {
        self.inner.sync_dir()
    }
    fn try_lock(&self) -> std::io::Result<()> {
        self.inner.try_lock()
    }
    fn unlock(&self) {
        self.inner.unlock()
    }
    fn path_of(&self, name: &str) -> std::path::PathBuf {
        self.inner.path_of(name)
    }
}

#[test]
fn reads_seek_through_the_bounded_index_instead_of_rescanning_from_the_header() {
    let reads = Arc::new(Mutex::new(Vec::new()));
    let storage = Arc::new(Recording { inner: MemStorage::new(), reads: reads.clone() });
    let segment_bytes_max = 1 << 20;
    for reopen in [false, true] {
        let (wal, _) = Wal::open(storage.clone(), WalOptions { segment_bytes_max, ..opts() }).unwrap();
        if !reopen {
            let body = [1u8; 100];
            let entries: Vec<NewEntry<'_>> = (1..=20_000u64).map(|i| entry(i, 1, &body)).collect();
            wal.write_entries(&entries).unwrap().wait().unwrap();
        }
        let st = wal.status();
        let bound = st.segments as u64 * (segment_bytes_max / (16 << 10) + 1);
        assert!(st.index_points as u64 <= bound, "{} index points over the bound {bound}", st.index_points);
        assert!(st.index_points > 10, "the index was {}rebuilt: {st:?}", if reopen { "not " } else { "" });
        reads.lock().unwrap().clear();
        let e = wal.reader(Lsn(19_990)).next().unwrap().unwrap();
        assert_eq!(e.lsn, Lsn(19_990));
        let lowest = reads.lock().unwrap().iter().copied().min().unwrap();
        // Where the entry's frame starts: segments hold whole frames of equal size. The read
        // starts within one stride (16 KiB) before it, never at the header.
        let frame = format::frame_len_v2(100);
        let per_segment = (segment_bytes_max - format::HEADER_BYTES as u64) / frame;
        let at = format::HEADER_BYTES as u64 + ((19_990 - 1) % per_segment) * frame;
        assert!(lowest + (16 << 10) >= at && lowest <= at, "read from {lowest}, the frame is at {at}, reopen={reopen}");
        wal.close().unwrap();
    }
}
