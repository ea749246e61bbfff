//! Behaviour of the log through its public API: appends, readers, segments, truncate,
//! purge, reset, recovery, and refusals of bad input.

// Test code: a panic is how a helper reports a failure.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use basalt_wal::format::{self, HEADER_BYTES};
use basalt_wal::{DiskStorage, Error, Kind, LogId, Lsn, MemStorage, Storage, Wal, WalOptions};

const LOG: LogId = LogId(0xBA5A17);

fn opts() -> WalOptions {
    WalOptions::new(LOG)
}

fn small_segments() -> WalOptions {
    WalOptions { segment_bytes_max: 300, ..opts() }
}

fn open(storage: &MemStorage, options: WalOptions) -> Wal {
    Wal::open(Arc::new(storage.clone()), options).expect("open").0
}

fn payload(i: u64) -> Vec<u8> {
    format!("entry-{i}-").repeat((i % 7 + 1) as usize).into_bytes()
}

fn read_all(wal: &Wal, from: Lsn) -> Vec<(u64, Vec<u8>)> {
    wal.reader(from).map(|e| e.expect("read")).map(|e| (e.lsn.0, e.payload)).collect()
}

fn segment_names(storage: &MemStorage) -> Vec<String> {
    let mut names: Vec<_> = storage.list().unwrap().into_iter().filter(|n| n.ends_with(".wal")).collect();
    names.sort();
    names
}

#[test]
fn appends_read_back_and_survive_reopen() {
    let s = MemStorage::new();
    let wal = open(&s, opts());
    for i in 1..=10 {
        assert_eq!(wal.append(Kind(i as u8), &payload(i)).unwrap(), Lsn(i));
    }
    let got = read_all(&wal, Lsn(1));
    assert_eq!(got, (1..=10).map(|i| (i, payload(i))).collect::<Vec<_>>());
    assert_eq!(read_all(&wal, Lsn(8)).len(), 3);
    assert_eq!(wal.status().durable_lsn, Lsn(10));
    wal.close().unwrap();

    let (wal, report) = Wal::open(Arc::new(s.clone()), opts()).unwrap();
    assert!(!report.created);
    assert_eq!(report.last_lsn, Lsn(10));
    assert_eq!(report.torn_tail, None);
    assert_eq!(wal.append(Kind(0), b"more").unwrap(), Lsn(11));
    let kinds: Vec<u8> = wal.reader(Lsn(1)).map(|e| e.unwrap().kind.0).collect();
    assert_eq!(kinds[..10], (1..=10).collect::<Vec<u8>>()[..]);
}

#[test]
fn segments_roll_and_readers_cross_them() {
    let s = MemStorage::new();
    let wal = open(&s, small_segments());
    for i in 1..=40 {
        wal.append(Kind(1), &payload(i)).unwrap();
    }
    let names = segment_names(&s);
    assert!(names.len() > 5, "expected many segments, got {names:?}");
    for name in &names {
        let len = s.read_file(name).unwrap().len();
        // A segment exceeds the maximum only when one frame alone is bigger.
        assert!(len <= 300, "{name} has {len} bytes");
    }
    assert_eq!(read_all(&wal, Lsn(1)).len(), 40);
    assert_eq!(read_all(&wal, Lsn(23))[0].0, 23);
    wal.close().unwrap();
    let wal = open(&s, small_segments());
    assert_eq!(read_all(&wal, Lsn(1)), (1..=40).map(|i| (i, payload(i))).collect::<Vec<_>>());
}

#[test]
fn reader_sees_new_entries_after_catching_up() {
    let s = MemStorage::new();
    let wal = open(&s, small_segments());
    wal.append(Kind(1), b"a").unwrap();
    let mut reader = wal.reader(Lsn(1));
    assert_eq!(reader.next().unwrap().unwrap().payload, b"a");
    assert!(reader.next().is_none());
    for i in 0..30 {
        wal.append(Kind(1), &payload(i)).unwrap();
    }
    let caught_up: Vec<_> = reader.by_ref().map(|e| e.unwrap()).collect();
    assert_eq!(caught_up.len(), 30);
    assert_eq!(reader.next_lsn(), Lsn(32));
}

#[test]
fn concurrent_appenders_get_dense_lsns_and_share_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(DiskStorage::create_dir(dir.path()).unwrap());
    let (wal, _) = Wal::open(storage, WalOptions { segment_bytes_max: 64 << 10, ..opts() }).unwrap();
    let threads = 8;
    let per_thread = 200;
    let mut lsns = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let wal = &wal;
                scope.spawn(move || {
                    (0..per_thread)
                        .map(|i| {
                            let body = format!("t{t}-i{i}");
                            (wal.append(Kind(t as u8), body.as_bytes()).unwrap(), body)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect::<Vec<_>>()
    });
    lsns.sort();
    let expected: Vec<Lsn> = (1..=(threads * per_thread) as u64).map(Lsn).collect();
    assert_eq!(lsns.iter().map(|x| x.0).collect::<Vec<_>>(), expected);
    for entry in wal.reader(Lsn(1)) {
        let entry = entry.unwrap();
        let (_, body) = &lsns[(entry.lsn.0 - 1) as usize];
        assert_eq!(entry.payload, body.as_bytes());
    }
    let stats = wal.stats();
    assert_eq!(stats.entries_appended, (threads * per_thread) as u64);
    assert!(stats.syncs >= 1);
}

/// Runs a future to completion on this thread.
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park_timeout(std::time::Duration::from_millis(100));
    }
}

#[test]
fn submitted_entries_resolve_once_durable() {
    let s = MemStorage::new();
    let wal = open(&s, opts());
    let pending: Vec<_> = (0..50).map(|i| wal.submit(Kind(2), &payload(i)).unwrap()).collect();
    let lsns: Vec<Lsn> = pending.into_iter().map(|d| block_on(d).unwrap()).collect();
    assert_eq!(lsns, (1..=50).map(Lsn).collect::<Vec<_>>());
    assert!(wal.status().durable_lsn >= Lsn(50));
    let d = wal.submit(Kind(2), b"x").unwrap();
    assert_eq!(d.wait().unwrap(), Lsn(51));
}

#[test]
fn write_at_requires_the_next_lsn_and_sync_makes_it_durable() {
    let s = MemStorage::new();
    let wal = open(&s, WalOptions { sync_thread: false, ..opts() });
    wal.write_at(&[(Lsn(1), Kind(1), b"a"), (Lsn(2), Kind(1), b"b")]).unwrap();
    assert_eq!(wal.status().durable_lsn, Lsn(0));
    assert!(wal.reader(Lsn(1)).next().is_none(), "readers see only durable entries");
    let err = wal.write_at(&[(Lsn(5), Kind(1), b"c")]).unwrap_err();
    assert!(matches!(err, Error::OutOfSequence { expected: Lsn(3), found: Lsn(5) }), "{err}");
    assert_eq!(wal.sync().unwrap(), Lsn(2));
    assert_eq!(read_all(&wal, Lsn(1)).len(), 2);
}

#[test]
fn truncate_after_cuts_within_and_across_segments() {
    let s = MemStorage::new();
    let wal = open(&s, small_segments());
    for i in 1..=40 {
        wal.append(Kind(1), &payload(i)).unwrap();
    }
    let mut reader = wal.reader(Lsn(1));
    assert!(reader.next().is_some());
    wal.truncate_after(Lsn(25)).unwrap();
    assert!(matches!(reader.next(), Some(Err(Error::Truncated))));
    assert_eq!(wal.status().last_lsn, Lsn(25));
    assert_eq!(wal.append(Kind(9), b"after-cut").unwrap(), Lsn(26));
    let got = read_all(&wal, Lsn(1));
    assert_eq!(got.len(), 26);
    assert_eq!(got[25].1, b"after-cut");

    // Cut exactly at a segment's first LSN: that segment goes away whole.
    let firsts: Vec<u64> = segment_names(&s).iter().map(|n| format::parse_segment_file_name(n).unwrap().0).collect();
    let boundary = firsts[2];
    wal.truncate_after(Lsn(boundary - 1)).unwrap();
    assert_eq!(segment_names(&s).len(), 2);
    assert_eq!(wal.append(Kind(1), b"z").unwrap(), Lsn(boundary));
    wal.close().unwrap();
    let wal = open(&s, small_segments());
    assert_eq!(wal.status().last_lsn, Lsn(boundary));

    // Truncating everything leaves an empty log that continues from the same place.
    wal.truncate_after(Lsn(0)).unwrap();
    assert_eq!(wal.status().last_lsn, Lsn(0));
    assert_eq!(wal.append(Kind(1), b"again").unwrap(), Lsn(1));
    assert!(matches!(wal.truncate_after(Lsn(5)), Ok(())), "cutting past the end changes nothing");
}

#[test]
fn purge_drops_old_segments_and_readers_say_compacted() {
    let s = MemStorage::new();
    let wal = open(&s, small_segments());
    for i in 1..=40 {
        wal.append(Kind(1), &payload(i)).unwrap();
    }
    let before = segment_names(&s).len();
    let first = wal.purge_before(Lsn(20)).unwrap();
    assert!(first <= Lsn(20) && first > Lsn(1), "first = {first}");
    assert!(segment_names(&s).len() < before);
    assert!(matches!(wal.reader(Lsn(1)).next(), Some(Err(Error::Compacted(Lsn(1))))));
    assert_eq!(read_all(&wal, first).len() as u64, 40 - first.0 + 1);
    // The active segment is never purged.
    assert!(wal.purge_before(Lsn(1000)).unwrap() <= Lsn(40));
    assert!(!segment_names(&s).is_empty());
    wal.close().unwrap();
    let wal = open(&s, small_segments());
    assert_eq!(wal.status().last_lsn, Lsn(40));
}

#[test]
fn reset_starts_the_log_over_and_survives_reopen() {
    let s = MemStorage::new();
    let wal = open(&s, small_segments());
    for i in 1..=30 {
        wal.append(Kind(1), &payload(i)).unwrap();
    }
    wal.reset(Lsn(1000)).unwrap();
    assert_eq!(segment_names(&s), vec![format::segment_file_name(Lsn(1000))]);
    assert_eq!(wal.append(Kind(1), b"x").unwrap(), Lsn(1000));
    wal.close().unwrap();
    let wal = open(&s, small_segments());
    assert_eq!(wal.status().first_lsn, Lsn(1000));
    assert_eq!(read_all(&wal, Lsn(1000)), vec![(1000, b"x".to_vec())]);
}

#[test]
fn an_interrupted_reset_is_finished_on_open() {
    // Old segments next to a newer BASE segment: what a crash in the middle of reset leaves.
    let s = MemStorage::new();
    let wal = open(&s, small_segments());
    for i in 1..=30 {
        wal.append(Kind(1), &payload(i)).unwrap();
    }
    wal.close().unwrap();
    let header = format::SegmentHeader { log_id: LOG, first_lsn: Lsn(500), flags: format::FLAG_BASE }.encode();
    s.write_file(&format::segment_file_name(Lsn(500)), &header);
    let (wal, report) = Wal::open(Arc::new(s.clone()), small_segments()).unwrap();
    assert!(!report.removed_obsolete_segments.is_empty());
    assert_eq!(segment_names(&s), vec![format::segment_file_name(Lsn(500))]);
    assert_eq!(wal.append(Kind(1), b"y").unwrap(), Lsn(500));
}

#[test]
fn a_torn_tail_is_cut_and_reported() {
    let s = MemStorage::new();
    let wal = open(&s, opts());
    for i in 1..=5 {
        wal.append(Kind(1), &payload(i)).unwrap();
    }
    wal.close().unwrap();
    let name = format::segment_file_name(Lsn(1));
    let mut bytes = s.read_file(&name).unwrap();
    let good_len = bytes.len() as u64;
    // Half a frame: a header promising 100 bytes followed by 10.
    let mut frame = Vec::new();
    format::encode_frame(&mut frame, Lsn(6), Kind(1), &[7u8; 100]);
    bytes.extend_from_slice(&frame[..27]);
    s.write_file(&name, &bytes);

    let (wal, report) = Wal::open(Arc::new(s.clone()), opts()).unwrap();
    let torn = report.torn_tail.expect("a torn tail is reported");
    assert_eq!(torn.offset, good_len);
    assert_eq!(torn.bytes_cut, 27);
    assert_eq!(torn.segment, name);
    assert_eq!(s.read_file(&name).unwrap().len() as u64, good_len);
    assert_eq!(wal.append(Kind(1), b"next").unwrap(), Lsn(6));
    assert_eq!(read_all(&wal, Lsn(1)).len(), 6);
}

#[test]
fn a_temp_segment_left_by_a_crash_is_removed() {
    let s = MemStorage::new();
    open(&s, opts()).close().unwrap();
    s.write_file(&format::temp_file_name(Lsn(9)), b"partial");
    let (_wal, report) = Wal::open(Arc::new(s.clone()), opts()).unwrap();
    assert_eq!(report.removed_temp_files, vec![format::temp_file_name(Lsn(9))]);
    assert!(s.read_file(&format::temp_file_name(Lsn(9))).is_none());
}

/// Builds a closed log with several segments and returns its storage.
fn several_segments() -> MemStorage {
    let s = MemStorage::new();
    let wal = open(&s, small_segments());
    for i in 1..=30 {
        wal.append(Kind(1), &payload(i)).unwrap();
    }
    wal.close().unwrap();
    s
}

/// Opens, expecting an error; checks that no file changed.
fn open_fails(s: &MemStorage) -> Error {
    let before: Vec<_> = segment_names(s).iter().map(|n| (n.clone(), s.read_file(n))).collect();
    let err = Wal::open(Arc::new(s.clone()), small_segments()).expect_err("open must fail");
    let after: Vec<_> = segment_names(s).iter().map(|n| (n.clone(), s.read_file(n))).collect();
    assert_eq!(before, after, "a refused open must not rewrite anything");
    err
}

#[test]
fn a_flipped_byte_in_a_sealed_segment_is_an_error_naming_file_and_offset() {
    let s = several_segments();
    let name = segment_names(&s)[1].clone();
    let mut bytes = s.read_file(&name).unwrap();
    bytes[HEADER_BYTES + 20] ^= 0x40;
    s.write_file(&name, &bytes);
    match open_fails(&s) {
        Error::Corrupt { segment, offset, .. } => {
            assert!(segment.ends_with(&name), "{segment:?}");
            assert_eq!(offset, HEADER_BYTES as u64);
        }
        other => panic!("expected Corrupt, got {other}"),
    }
}

#[test]
fn bad_headers_are_refused_naming_the_file() {
    type Damage = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, Damage)> = vec![
        ("wrong magic", Box::new(|b: &mut Vec<u8>| b[0] = b'X')),
        ("unknown version", Box::new(|b: &mut Vec<u8>| b[8] = 99)),
        ("zero-length", Box::new(|b: &mut Vec<u8>| b.clear())),
        ("truncated header", Box::new(|b: &mut Vec<u8>| b.truncate(HEADER_BYTES / 2))),
    ];
    for (what, damage) in cases {
        let s = several_segments();
        let name = segment_names(&s)[2].clone();
        let mut bytes = s.read_file(&name).unwrap();
        damage(&mut bytes);
        s.write_file(&name, &bytes);
        match open_fails(&s) {
            Error::BadHeader { segment, reason } => {
                assert!(segment.ends_with(&name), "{what}: {segment:?}");
                assert!(!reason.is_empty());
            }
            other => panic!("{what}: expected BadHeader, got {other}"),
        }
    }
}

#[test]
fn another_logs_segment_is_refused() {
    let s = several_segments();
    let err = match Wal::open(Arc::new(s.clone()), WalOptions { log_id: LogId(7), ..small_segments() }) {
        Err(e) => e,
        Ok(_) => panic!("opened a log with the wrong id"),
    };
    assert!(matches!(err, Error::ForeignSegment { found: LOG, expected: LogId(7), .. }), "{err}");
    assert!(err.to_string().contains(".wal"), "{err}");
}

#[test]
fn a_missing_middle_segment_is_a_gap() {
    let s = several_segments();
    let names = segment_names(&s);
    s.remove(&names[2]).unwrap();
    match open_fails(&s) {
        Error::Gap { segment, .. } => assert!(segment.ends_with(&names[3]), "{segment:?}"),
        other => panic!("expected Gap, got {other}"),
    }
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = Wal::open(Arc::new(DiskStorage::create_dir(dir.path()).unwrap()), opts()).unwrap().0;
    let err = Wal::open(Arc::new(DiskStorage::create_dir(dir.path()).unwrap()), opts()).unwrap_err();
    assert!(matches!(err, Error::Locked(_)), "{err}");
    drop(a);
    assert!(Wal::open(Arc::new(DiskStorage::create_dir(dir.path()).unwrap()), opts()).is_ok());
}

#[test]
fn an_io_failure_poisons_the_log_until_reopened() {
    let s = MemStorage::new();
    let wal = open(&s, opts());
    wal.append(Kind(1), b"kept").unwrap();
    s.fail_after(0);
    let err = wal.append(Kind(1), b"lost").unwrap_err();
    assert!(matches!(err, Error::Io { .. }) || matches!(err, Error::Poisoned(_)), "{err}");
    let err = wal.append(Kind(1), b"refused").unwrap_err();
    assert!(matches!(err, Error::Poisoned(_)), "{err}");
    drop(wal);
    s.crash(3);
    let wal = open(&s, opts());
    assert_eq!(read_all(&wal, Lsn(1))[0], (1, b"kept".to_vec()));
}

#[test]
fn oversized_entries_are_refused() {
    let s = MemStorage::new();
    let wal = open(&s, WalOptions { entry_bytes_max: 10, ..opts() });
    let err = wal.append(Kind(1), &[0u8; 11]).unwrap_err();
    assert!(matches!(err, Error::TooLarge { size: 11, max: 10 }), "{err}");
    assert_eq!(wal.append(Kind(1), &[0u8; 10]).unwrap(), Lsn(1));
}

/// Runs `f` on a thread and fails the test if it does not finish within `secs` seconds
/// (a hang is the bug these tests catch; the stuck thread is left behind).
fn within<T: Send + 'static>(secs: u64, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs)).unwrap_or_else(|_| panic!("{what}: did not finish"))
}

#[test]
fn a_durable_entry_cut_by_truncate_resolves_with_an_error() {
    // The entry was written by the truncate (which syncs first), then cut; waiting on it
    // afterwards must return, not spin waiting for an LSN the log no longer has, and must not
    // say "ok": the entry is not in the log (before, this returned Ok(11)).
    let s = MemStorage::new();
    let wal = Arc::new(open(&s, WalOptions { sync_thread: false, ..opts() }));
    for i in 1..=10 {
        wal.append(Kind(1), &payload(i)).unwrap();
    }
    let pending = wal.submit(Kind(1), b"cut").unwrap();
    assert_eq!(pending.lsn(), Lsn(11));
    wal.truncate_after(Lsn(5)).unwrap();
    let waited = within(10, "Durable::wait after truncate", move || pending.wait());
    assert!(matches!(waited, Err(Error::EntryTruncated { lsn: Lsn(11) })), "{waited:?}");
    let w = wal.clone();
    assert_eq!(within(10, "sync after truncate", move || w.sync()).unwrap(), Lsn(5));
    assert_eq!(wal.append(Kind(1), b"next").unwrap(), Lsn(6));
}

/// A storage whose `set_len` (called by truncate) can be held until released, so a test can
/// act while a truncate is half done.
#[derive(Debug, Clone)]
struct GatedStorage {
    inner: MemStorage,
    gate: Arc<(std::sync::Mutex<Gate>, std::sync::Condvar)>,
}

#[derive(Debug, Default)]
struct Gate {
    armed: bool,
    entered: bool,
    released: bool,
}

#[derive(Debug)]
struct GatedFile {
    inner: Box<dyn basalt_wal::StorageFile>,
    gate: Arc<(std::sync::Mutex<Gate>, std::sync::Condvar)>,
}

impl basalt_wal::StorageFile for GatedFile {
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        self.inner.write_all_at(buf, offset)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.inner.sync_data()
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        let (lock, cv) = &*self.gate;
        let mut g = lock.lock().unwrap();
        if g.armed {
            g.entered = true;
            cv.notify_all();
            while !g.released {
                g = cv.wait(g).unwrap();
            }
        }
        drop(g);
        self.inner.set_len(len)
    }
}

impl Storage for GatedStorage {
    fn list(&self) -> std::io::Result<Vec<String>> {
        self.inner.list()
    }
    fn open(&self, name: &str) -> std::io::Result<Box<dyn basalt_wal::StorageFile>> {
        Ok(Box::new(GatedFile { inner: self.inner.open(name)?, gate: self.gate.clone() }))
    }
    fn open_read(&self, name: &str) -> std::io::Result<Box<dyn basalt_wal::StorageFile>> {
        self.inner.open_read(name)
    }
    fn create(&self, name: &str) -> std::io::Result<Box<dyn basalt_wal::StorageFile>> {
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
fn an_append_racing_a_truncate_continues_the_cut_log() {
    let s = MemStorage::new();
    let gated = GatedStorage { inner: s.clone(), gate: Default::default() };
    let wal = Arc::new(Wal::open(Arc::new(gated.clone()), opts()).unwrap().0);
    for i in 1..=10 {
        wal.append(Kind(1), &payload(i)).unwrap();
    }
    gated.gate.0.lock().unwrap().armed = true;
    let w = wal.clone();
    let truncating = std::thread::spawn(move || w.truncate_after(Lsn(5)));
    {
        let (lock, cv) = &*gated.gate;
        let g = lock.lock().unwrap();
        let (g, timeout) = cv.wait_timeout_while(g, std::time::Duration::from_secs(10), |g| !g.entered).unwrap();
        assert!(!timeout.timed_out() && g.entered, "truncate never reached set_len");
    }
    // An append arriving while the truncate is half done.
    let w = wal.clone();
    let appending = std::thread::spawn(move || w.append(Kind(2), b"racing"));
    // Give it the chance to enqueue (the old code let it, with the LSN before the cut).
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(300);
    while wal.status().last_lsn == Lsn(10) && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    {
        let (lock, cv) = &*gated.gate;
        let mut g = lock.lock().unwrap();
        g.armed = false;
        g.released = true;
        cv.notify_all();
    }
    within(10, "truncate", move || truncating.join().unwrap()).unwrap();
    let lsn = within(10, "append racing the truncate", move || appending.join().unwrap()).unwrap();
    assert_eq!(lsn, Lsn(6), "the racing append continues the cut log");
    let mut expected: Vec<_> = (1..=5).map(|i| (i, payload(i))).collect();
    expected.push((6, b"racing".to_vec()));
    assert_eq!(read_all(&wal, Lsn(1)), expected);
    drop(wal);
    let wal = open(&s, opts());
    assert_eq!(read_all(&wal, Lsn(1)), expected);
}

#[test]
fn a_refused_open_leaves_the_directory_unlocked() {
    let s = several_segments();
    let name = segment_names(&s)[1].clone();
    let good = s.read_file(&name).unwrap();
    let mut bad = good.clone();
    bad[HEADER_BYTES + 20] ^= 0x40;
    s.write_file(&name, &bad);
    assert!(matches!(open_fails(&s), Error::Corrupt { .. }));
    s.write_file(&name, &good);
    let wal = Wal::open(Arc::new(s.clone()), small_segments()).expect("open after the damage is repaired");
    assert_eq!(wal.0.status().last_lsn, Lsn(30));
}

#[test]
fn a_refused_open_removes_no_temp_or_obsolete_file() {
    // Leftovers of an interrupted roll and an interrupted reset, next to a damaged sealed
    // segment: the open must fail with the directory exactly as it was.
    let s = several_segments();
    let names = segment_names(&s);
    let mut bad = s.read_file(&names[1]).unwrap();
    bad[HEADER_BYTES + 3] ^= 0x01;
    s.write_file(&names[1], &bad);
    let temp = format::temp_file_name(Lsn(999));
    s.write_file(&temp, b"half");
    let obsolete = format::segment_file_name(Lsn(0));
    s.write_file(&obsolete, &format::SegmentHeader { log_id: LOG, first_lsn: Lsn(0), flags: 0 }.encode());
    let mut before = s.list().unwrap();
    before.sort();
    let err = Wal::open(Arc::new(s.clone()), small_segments()).expect_err("a damaged sealed segment");
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    let mut after = s.list().unwrap();
    after.sort();
    assert_eq!(before, after);
}

#[test]
fn concurrent_appends_truncates_and_purges_stay_consistent() {
    // Appenders (blocking and submitted), a truncating and purging thread, all at once:
    // nothing hangs, LSNs stay dense, each thread's entries stay in its order, and a
    // reopened log reads back the same.
    for sync_thread in [true, false] {
        let s = MemStorage::new();
        let options = WalOptions { sync_thread, ..small_segments() };
        let wal = Arc::new(open(&s, options.clone()));
        let w = wal.clone();
        let stats = within(60, "appends, truncates and purges", move || {
            // The appenders go on until the truncates and purges are done, so every one of
            // those runs among appends.
            let admin_done = std::sync::atomic::AtomicBool::new(false);
            std::thread::scope(|scope| {
                for t in 0..6u8 {
                    let (w, admin_done) = (&w, &admin_done);
                    scope.spawn(move || {
                        let mut i = 0u32;
                        while (i < 200 || !admin_done.load(std::sync::atomic::Ordering::SeqCst)) && i < 1_000_000 {
                            let body = [&[t][..], &i.to_le_bytes()[..]].concat();
                            // A concurrent truncate may cut the entry: that is an error, never Ok.
                            let done = if i.is_multiple_of(3) {
                                w.submit(Kind(t), &body).unwrap().wait()
                            } else {
                                w.append(Kind(t), &body)
                            };
                            match done {
                                Ok(_) | Err(Error::EntryTruncated { .. }) => {}
                                Err(e) => panic!("append failed: {e}"),
                            }
                            i += 1;
                        }
                    });
                }
                let (w, admin_done) = (&w, &admin_done);
                scope.spawn(move || {
                    for round in 0..60u64 {
                        let status = w.status();
                        if round.is_multiple_of(2) {
                            let cut = status.first_lsn.0.max(status.last_lsn.0.saturating_sub(3));
                            w.truncate_after(Lsn(cut)).unwrap();
                        } else {
                            w.purge_before(Lsn(status.last_lsn.0.saturating_sub(20))).unwrap();
                        }
                    }
                    admin_done.store(true, std::sync::atomic::Ordering::SeqCst);
                });
            });
            w.stats()
        });
        assert!(stats.entries_appended >= 1200, "{stats:?}");
        let check = |wal: &Wal| {
            let first = wal.status().first_lsn;
            let mut last_seen = [None::<u32>; 6];
            let mut next = first.0;
            for e in wal.reader(first) {
                let e = e.unwrap();
                assert_eq!(e.lsn.0, next, "dense LSNs");
                next += 1;
                let t = e.payload[0] as usize;
                assert_eq!(e.kind, Kind(t as u8));
                let i = u32::from_le_bytes(e.payload[1..5].try_into().unwrap());
                assert!(last_seen[t].is_none_or(|p| p < i), "thread {t}: {i} after {:?}", last_seen[t]);
                last_seen[t] = Some(i);
            }
            assert_eq!(next, wal.status().last_lsn.0 + 1);
            read_all(wal, first)
        };
        let before = check(&wal);
        drop(wal);
        let wal = open(&s, options);
        assert_eq!(check(&wal), before, "sync thread {sync_thread}: the reopened log differs");
    }
}

#[test]
fn a_segment_at_the_last_possible_lsn_does_not_panic() {
    // Crafted bytes: a valid segment and frame at LSN u64::MAX. Opening or inspecting it
    // must give an answer, not an arithmetic overflow.
    let s = MemStorage::new();
    let first = Lsn(u64::MAX);
    let mut bytes = format::SegmentHeader { log_id: LOG, first_lsn: first, flags: format::FLAG_BASE }.encode().to_vec();
    format::encode_frame(&mut bytes, first, Kind(1), b"last");
    s.write_file(&format::segment_file_name(first), &bytes);
    let inspection = basalt_wal::inspect::inspect(&s, |_| {}).unwrap();
    assert_eq!(inspection.segments.len(), 1);
    match Wal::open(Arc::new(s.clone()), opts()) {
        Ok((wal, _)) => {
            let err = wal.append(Kind(1), b"one too many").unwrap_err();
            assert!(matches!(err, Error::LsnExhausted(Lsn::END)), "{err}");
        }
        Err(e) => assert!(e.to_string().contains(&format::segment_file_name(first)), "{e}"),
    }
}

#[test]
fn a_write_failure_names_the_segment_file() {
    let s = MemStorage::new();
    let wal = open(&s, WalOptions { sync_thread: false, ..opts() });
    wal.append(Kind(1), b"kept").unwrap();
    s.fail_after(0);
    let err = wal.append(Kind(1), b"lost").unwrap_err();
    assert!(err.to_string().contains(&format::segment_file_name(Lsn(1))), "{err}");
}

#[test]
fn write_at_checks_the_whole_batch_before_writing_any() {
    let s = MemStorage::new();
    let wal = open(&s, WalOptions { entry_bytes_max: 10, sync_thread: false, ..opts() });
    let too_big = [0u8; 11];
    let err = wal.write_at(&[(Lsn(1), Kind(1), b"fine"), (Lsn(2), Kind(1), &too_big)]).unwrap_err();
    assert!(matches!(err, Error::TooLarge { size: 11, max: 10 }), "{err}");
    assert_eq!(wal.status().last_lsn, Lsn(0), "nothing of the refused batch was taken");
    wal.write_at(&[(Lsn(1), Kind(1), b"fine")]).unwrap();
    assert_eq!(wal.sync().unwrap(), Lsn(1));
}
