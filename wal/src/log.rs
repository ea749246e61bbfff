//! The log: opening and recovery, appends with group commit, truncate, purge and reset.
//!
//! # Group commit
//! Appenders encode their frame into a shared pending buffer under one mutex and get their
//! LSN there, so LSN order is buffer order. Whoever then finds no sync in progress becomes
//! the *leader*: it takes the whole pending buffer and the active segment out of the
//! shared state, writes and `fdatasync`s without holding the lock, and publishes the new
//! durable LSN. Appenders arriving meanwhile fill the next buffer, which the next leader
//! writes with one more fsync: under load, one fsync covers many appends. A blocking
//! appender leads on its own thread (no handoff when alone); async submitters are led by a
//! background sync thread. Only the leader touches the active segment file.
//!
//! Each taken buffer is a numbered *batch*. Blocking appenders sleep on one of two condition
//! variables chosen by their batch's parity, so a finished round wakes only the appenders it
//! made durable, not those waiting for the next batch (with 64 appenders a shared condvar
//! woke every one of them each round). A leader that finds the next batch already waiting
//! when it finishes hands leadership to the sync thread, which keeps leading while work
//! keeps arriving, so a busy log has no leader handoff between rounds; without the sync
//! thread one appender of the next batch is woken to lead.
//!
//! Truncate and reset change which LSN comes next, so they first write and sync everything
//! pending, and appenders wait (without taking an LSN) until they are done. A durability
//! handle ([`Durable`], a blocking append, a callback) whose entry the cut removes resolves
//! with [`Error::EntryTruncated`], never `Ok`: the entry is not in the log, and another entry
//! may take its LSN. Callbacks of doomed entries are removed before the pre-cut flush, so the
//! flush cannot report them durable; futures check the cut in progress and the recent cuts
//! (a bounded history; a handle older than it resolves with the error too, "unknown" is never
//! reported as "ok").
//!
//! Every frame records the durable LSN at the moment it was encoded (its *synced LSN*).
//! Recovery uses it to tell damage from a torn tail (see `recovery.rs`).
//!
//! # Crash argument, step by step
//! - Entries reach the open segment with positioned writes past its valid end, then
//!   `fdatasync`; only then does the durable LSN move. A crash before the sync leaves a
//!   prefix of frames and maybe a torn one, which recovery cuts.
//! - Preallocation: when a write passes the end of the file, zeros are written after the
//!   new frames (`WalOptions::preallocate_bytes` of them) and the same `fdatasync` covers
//!   both. Later appends overwrite zeros, so their fsync has no size or allocation to record.
//!   A crash leaves valid frames, then zeros or a torn frame: recovery keeps an all-zero
//!   tail as preallocated space and cuts anything else, so no stale frame ever follows new
//!   ones.
//! - Rolling to a new segment: cut the old one's preallocated zeros and sync it, so it ends
//!   at its last frame; then write the new header into `<lsn>.wal.tmp`, sync it, rename it
//!   to `<lsn>.wal`, sync the directory. A crash leaves either no new segment (the old one
//!   is still open, zeros or not) or a complete empty one after a complete sealed one; stray
//!   `.tmp` files are removed on open.
//! - Close: cut the open segment's preallocated zeros and sync; a crash before leaves zeros,
//!   which recovery accepts.
//! - Truncate: delete later segments newest first, then cut the file and sync; a crash
//!   midway leaves a shorter valid log (a prefix), never a gap.
//! - Purge: delete oldest first and sync the directory; a crash leaves a valid suffix.
//! - Reset: delete segments at or after the new start, create the new first segment with
//!   the BASE flag, then delete the older ones. On open, segments older than the newest
//!   BASE segment are the leftovers of an interrupted reset and are removed.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Waker;
use std::thread::JoinHandle;

use crate::archive::{ArchiveOptions, ArchiveSource, Archiver, Sealed};
use crate::error::{Error, Result};
use crate::format::{self, FrameFields, SegmentHeader, FLAG_BASE, FORMAT_VERSION, HEADER_BYTES};
use crate::index::{FrameIndex, IndexPoint};
use crate::meta::{LogPosition, Meta};
use crate::recovery::{Recovered, RecoveryReport};
use crate::segment;
use crate::storage::{Storage, StorageFile};
use crate::tail::Tail;
use crate::{Entry, Kind, LogId, Lsn, Term};

/// Called once the entry it was registered for is durable (`Ok(lsn)`), or cannot become
/// durable: truncated ([`Error::EntryTruncated`]), log failed or closed. It runs on the
/// thread that finished the group commit (usually the sync thread), outside the log's lock;
/// keep it short (send on a channel, wake a task).
pub type DurableCallback = Box<dyn FnOnce(Result<Lsn>) + Send>;

/// A callback waiting in the state (wrapped so the state can derive `Debug`).
pub(crate) struct Waiting(pub DurableCallback);

impl std::fmt::Debug for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DurableCallback")
    }
}

/// How many recent truncations and resets a [`Durable`] can be checked against.
const CUTS_MAX: usize = 64;

/// How a log is opened or created.
#[derive(Debug, Clone)]
pub struct WalOptions {
    /// The log's identity; an existing log must carry the same one.
    pub log_id: LogId,
    /// A segment is sealed and a new one started once it would grow past this size.
    pub segment_bytes_max: u64,
    /// The largest payload one entry may have.
    pub entry_bytes_max: usize,
    /// The LSN of the first entry of a new, empty log.
    pub first_lsn: Lsn,
    /// Start a background thread that leads group commits for [`Wal::submit`] (and for
    /// blocking appends when many arrive at once). Without it, a submitted entry becomes
    /// durable only when something else syncs.
    pub sync_thread: bool,
    /// Grow the open segment ahead of its writes by this many zeroed bytes at a time, so
    /// the `fdatasync` after an append usually has no file size or block allocation to
    /// record, only data. 0 grows the file with every write. The zeroed tail is cut when
    /// the segment is sealed or the log closed.
    pub preallocate_bytes: u64,
    /// The most payload bytes the in-memory tail (appended, not yet durable, readable) may
    /// hold; an append that would pass it first waits for a group commit.
    pub tail_bytes_max: u64,
    /// Copy every sealed segment here before it may be purged (see `archive.rs`); `None`:
    /// no archive, purges delete what they are asked to.
    pub archive: Option<ArchiveOptions>,
}

impl WalOptions {
    /// Defaults for the log `log_id`: 64 MiB segments, 16 MiB entries, LSNs from 1,
    /// preallocation in steps of 1 MiB.
    pub fn new(log_id: LogId) -> WalOptions {
        WalOptions {
            log_id,
            segment_bytes_max: 64 << 20,
            entry_bytes_max: 16 << 20,
            first_lsn: Lsn(1),
            sync_thread: true,
            preallocate_bytes: 1 << 20,
            tail_bytes_max: 32 << 20,
            archive: None,
        }
    }
}

/// Counters for metrics. Monotonic over the life of the handle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalStats {
    /// `fdatasync` calls on segment files.
    pub syncs: u64,
    /// Bytes of frames written.
    pub bytes_written: u64,
    /// Entries appended.
    pub entries_appended: u64,
}

/// A snapshot of the log's positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalStatus {
    /// First LSN still in the log.
    pub first_lsn: Lsn,
    /// Last LSN assigned (durable or not).
    pub last_lsn: Lsn,
    /// Last LSN that is durable.
    pub durable_lsn: Lsn,
    /// Number of segment files.
    pub segments: usize,
    /// Points in the in-memory frame index (bounded: see `index.rs`).
    pub index_points: usize,
    /// Payload bytes in the in-memory tail of entries not yet durable.
    pub tail_bytes: u64,
}

/// A segment the log knows about.
#[derive(Debug, Clone)]
pub(crate) struct SegmentMeta {
    /// LSN of its first frame; also its name.
    pub first_lsn: Lsn,
    /// Offset past its last durable frame. For sealed segments, the file length.
    pub durable_end: u64,
    /// Its format version (how its frames are laid out).
    pub version: u16,
}

/// The segment being appended to. Owned by the state, or by the leader while it writes.
#[derive(Debug)]
pub(crate) struct ActiveSegment {
    /// LSN of its first frame; also its name.
    pub first_lsn: Lsn,
    /// The open file.
    pub file: Box<dyn StorageFile>,
    /// Where the next frame goes.
    pub write_offset: u64,
    /// The file's length: bytes from `write_offset` up to here are zeros (preallocated).
    pub prepared_end: u64,
    /// Its format version; the log only appends to segments of the current one.
    pub version: u16,
}

/// Zeros written to preallocate segment space, a slice at a time.
static ZEROS: [u8; 64 << 10] = [0; 64 << 10];

impl ActiveSegment {
    /// An IO error on this segment, naming its file.
    fn io_err(&self, storage: &dyn Storage, e: std::io::Error) -> Error {
        Error::io(storage.path_of(&format::segment_file_name(self.first_lsn)), e)
    }

    /// Writes `frames` at the write offset; if that grows the file, extends it past them
    /// with `step` zeroed bytes (at most up to `cap`), which the next fsync covers too.
    fn write_frames(&mut self, frames: &[u8], step: u64, cap: u64) -> std::io::Result<()> {
        let end = self.write_offset + frames.len() as u64;
        self.file.write_all_at(frames, self.write_offset)?;
        self.write_offset = end;
        if end > self.prepared_end && step > 0 {
            let target = (end + step).min(cap).max(end);
            let mut at = end;
            while at < target {
                let n = (target - at).min(ZEROS.len() as u64) as usize;
                self.file.write_all_at(&ZEROS[..n], at)?;
                at += n as u64;
            }
            self.prepared_end = target;
        }
        self.prepared_end = self.prepared_end.max(end);
        Ok(())
    }

    /// Cuts the preallocated zeros after the last frame, so the file ends at its last frame
    /// (a sealed segment must: recovery checks it to its end). The caller syncs.
    pub(crate) fn trim(&mut self) -> std::io::Result<()> {
        if self.prepared_end > self.write_offset {
            self.file.set_len(self.write_offset)?;
            self.prepared_end = self.write_offset;
        }
        Ok(())
    }
}

/// Work waiting for the next leader, in log order.
#[derive(Debug)]
enum Chunk {
    /// Encoded frames for the active segment.
    Frames(Vec<u8>),
    /// Seal the active segment and start one whose first LSN is this.
    Roll(Lsn),
}

/// Everything behind the mutex.
#[derive(Debug)]
pub(crate) struct State {
    /// First LSN still in the log.
    pub(crate) first_lsn: Lsn,
    /// LSN the next appended entry gets.
    next_lsn: Lsn,
    /// Every entry up to here is durable.
    durable_lsn: Lsn,
    /// Known segments, oldest first; the last is the active one.
    segments: Vec<SegmentMeta>,
    /// Frames and rolls not yet taken by a leader.
    pending: Vec<Chunk>,
    /// Size the active segment will have once `pending` is written.
    planned_segment_bytes: u64,
    /// The active segment, `None` while a leader holds it.
    active: Option<ActiveSegment>,
    /// True while a leader (or an exclusive operation) works without the lock.
    syncing: bool,
    /// Set after an IO failure; the log refuses all work.
    failed: Option<String>,
    /// Set by `close`.
    closed: bool,
    /// True while a truncate or reset rewrites the log: appenders wait before taking an LSN.
    exclusive: bool,
    /// Threads waiting to start an exclusive operation; leaders start no new round meanwhile,
    /// so a busy log cannot starve a truncate or purge.
    exclusive_wanted: usize,
    /// Number of batches taken by leaders so far; `pending` is batch number `round`.
    round: u64,
    /// Last LSN taken by a leader: durable once that leader's round ends.
    in_flight_lsn: Lsn,
    /// Bumped by each truncate or reset, so readers and waiters notice.
    truncations: u64,
    /// Wakers of `Durable` futures, with the LSN each waits for and the truncation count
    /// when it was submitted.
    waiters: Vec<(Lsn, u64, Waker)>,
    /// Durability callbacks, in LSN order.
    pub(crate) notifies: VecDeque<(Lsn, Waiting)>,
    /// Recent truncations and resets, oldest first: (truncation count after it, last LSN
    /// it kept). At most `CUTS_MAX`.
    cuts: VecDeque<(u64, Lsn)>,
    /// While a truncate or reset is under way, the last LSN it keeps.
    cutting: Option<Lsn>,
    /// Entries appended but not yet durable.
    pub(crate) tail: Tail,
    /// Where frames start, sparse.
    pub(crate) index: FrameIndex,
    /// First LSN of the segment the next appended frame goes to.
    planned_segment: Lsn,
    /// A committed position given to `set_committed`, written with the next meta file.
    pub(crate) committed_pending: Option<LogPosition>,
    /// Counters.
    stats: WalStats,
}

impl State {
    fn recovered(r: Recovered) -> State {
        assert_eq!(r.active.version, FORMAT_VERSION, "recovery leaves a current-format segment to append to");
        State {
            notifies: VecDeque::new(),
            cuts: VecDeque::new(),
            cutting: None,
            tail: Tail::default(),
            index: r.index,
            planned_segment: r.active.first_lsn,
            committed_pending: None,
            first_lsn: r.segments[0].first_lsn,
            next_lsn: r.next_lsn,
            durable_lsn: r.next_lsn.prev(),
            planned_segment_bytes: r.active.write_offset,
            segments: r.segments,
            pending: Vec::new(),
            active: Some(r.active),
            syncing: false,
            failed: None,
            closed: false,
            exclusive: false,
            exclusive_wanted: 0,
            round: 0,
            in_flight_lsn: r.next_lsn.prev(),
            truncations: 0,
            waiters: Vec::new(),
            stats: WalStats::default(),
        }
    }

    /// True if a thread may take the active segment and lead a round now.
    fn may_lead(&self) -> bool {
        !self.syncing && self.active.is_some() && self.exclusive_wanted == 0
    }

    /// True if the entry `lsn`, appended when the truncation count was `epoch`, was cut
    /// since (or is being cut now).
    fn was_cut(&self, lsn: Lsn, epoch: u64) -> bool {
        if self.cutting.is_some_and(|keep| lsn > keep) {
            return true;
        }
        if self.truncations == epoch {
            return false;
        }
        let since = self.truncations - epoch;
        if since > self.cuts.len() as u64 {
            return true; // Older than the history: not known to survive, so not "ok".
        }
        self.cuts.iter().filter(|(after, _)| *after > epoch).any(|(_, keep)| lsn > *keep)
    }

    /// The last LSN appended: what a handle for "everything so far" waits for.
    pub(crate) fn next_lsn_for_handles(&self) -> Lsn {
        self.next_lsn.prev()
    }

    /// The truncation count now.
    pub(crate) fn truncations_now(&self) -> u64 {
        self.truncations
    }

    /// The durable LSN now.
    pub(crate) fn durable_now(&self) -> Lsn {
        self.durable_lsn
    }

    /// True while a leader or an exclusive operation works.
    pub(crate) fn is_syncing(&self) -> bool {
        self.syncing
    }

    /// Records a finished truncate or reset that kept entries up to `last_kept`.
    fn record_cut(&mut self, last_kept: Lsn) {
        self.truncations += 1;
        self.cuts.push_back((self.truncations, last_kept));
        if self.cuts.len() > CUTS_MAX {
            self.cuts.pop_front();
        }
        self.cutting = None;
        self.index.cut_after(last_kept);
        self.tail.cut_after(last_kept);
    }

    pub(crate) fn check_usable(&self) -> Result<()> {
        if let Some(why) = &self.failed {
            return Err(Error::Poisoned(why.clone()));
        }
        if self.closed {
            return Err(Error::Closed);
        }
        Ok(())
    }
}

/// What the log's handles share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The directory.
    pub storage: Arc<dyn Storage>,
    /// Options the log was opened with.
    options: WalOptions,
    /// All mutable state.
    state: Mutex<State>,
    /// Signalled when a leader or an exclusive operation finishes, or the log fails.
    changed: Condvar,
    /// Blocking appenders wait here for their batch: index = batch number % 2.
    batch_done: [Condvar; 2],
    /// Signalled when pending work may need the sync thread.
    work: Condvar,
    /// The meta file as last written; held while a new one is written (one at a time).
    pub(crate) meta: Mutex<Meta>,
    /// The archive of sealed segments, if the log has one.
    pub(crate) archive: Option<Archiver>,
}

/// What a reader needs to know about the log at one moment.
#[derive(Debug, Clone)]
pub(crate) struct ReadView {
    /// First LSN in the log.
    pub first_lsn: Lsn,
    /// Last durable LSN.
    pub durable_lsn: Lsn,
    /// Truncation counter.
    pub truncations: u64,
    /// The segment holding `lsn` and its durable end, if the log has one.
    pub segment: Option<SegmentMeta>,
    /// The index point nearest before `lsn` in that segment.
    pub point: Option<IndexPoint>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The options the log was opened with.
    pub(crate) fn options(&self) -> &WalOptions {
        &self.options
    }

    /// The view a reader looking for `lsn` needs.
    pub(crate) fn read_view(&self, lsn: Lsn) -> Result<ReadView> {
        let st = self.lock();
        if let Some(why) = &st.failed {
            return Err(Error::Poisoned(why.clone()));
        }
        let segment = st.segments.iter().rev().find(|s| s.first_lsn <= lsn).cloned();
        let point = segment.as_ref().and_then(|s| st.index.locate(lsn, s.first_lsn));
        Ok(ReadView {
            first_lsn: st.first_lsn,
            durable_lsn: st.durable_lsn,
            truncations: st.truncations,
            segment,
            point,
        })
    }
}

/// A segmented write-ahead log. See the crate docs for its promises.
#[derive(Debug)]
pub struct Wal {
    /// State shared with readers, futures and the sync thread.
    pub(crate) shared: Arc<Shared>,
    /// The background sync thread, if started.
    sync_thread: Option<JoinHandle<()>>,
    /// The archiver thread, if the log has an archive.
    archive_thread: Option<JoinHandle<()>>,
}

/// A submitted entry that becomes durable later. Await it, or call [`Durable::wait`].
#[derive(Debug)]
#[must_use = "an entry is not known to be durable until its Durable resolves"]
pub struct Durable {
    /// The log.
    pub(crate) shared: Arc<Shared>,
    /// The entry's LSN.
    pub(crate) lsn: Lsn,
    /// The log's truncation count when the entry was submitted.
    pub(crate) epoch: u64,
}

impl Durable {
    /// The LSN the entry was given.
    pub fn lsn(&self) -> Lsn {
        self.lsn
    }

    /// Blocks until the entry is durable (leading a group commit if nobody else is).
    ///
    /// If a truncate or reset removed the entry first, this fails with
    /// [`Error::EntryTruncated`] (an entry that survives the cut resolves `Ok`).
    pub fn wait(self) -> Result<Lsn> {
        let st = self.shared.lock();
        wait_durable(&self.shared, st, self.lsn, self.epoch, true)?;
        Ok(self.lsn)
    }
}

impl std::future::Future for Durable {
    type Output = Result<Lsn>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let mut st = self.shared.lock();
        if st.was_cut(self.lsn, self.epoch) {
            return std::task::Poll::Ready(Err(Error::EntryTruncated { lsn: self.lsn }));
        }
        if st.durable_lsn >= self.lsn {
            return std::task::Poll::Ready(Ok(self.lsn));
        }
        if let Err(e) = st.check_usable() {
            return std::task::Poll::Ready(Err(e));
        }
        st.waiters.push((self.lsn, self.epoch, cx.waker().clone()));
        if !st.syncing {
            self.shared.work.notify_one();
        }
        std::task::Poll::Pending
    }
}

impl Wal {
    /// Opens the log in `storage`, creating it if the directory holds no segments, and runs
    /// recovery. Takes the directory's lock for as long as the `Wal` lives.
    pub fn open(storage: Arc<dyn Storage>, options: WalOptions) -> Result<(Wal, RecoveryReport)> {
        assert!(options.segment_bytes_max > HEADER_BYTES as u64);
        storage.try_lock().map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock => Error::Locked(storage.path_of("")),
            _ => Error::io(storage.path_of(crate::storage::LOCK_FILE_NAME), e),
        })?;
        let recovered = match crate::recovery::recover(storage.as_ref(), &options) {
            Ok(r) => r,
            Err(e) => {
                // A refused open leaves the directory as it found it, lock included.
                storage.unlock();
                return Err(e);
            }
        };
        let report = recovered.report.clone();
        let meta = recovered.meta;
        let options_archive = options.archive.clone();
        let state = State::recovered(recovered);
        let shared = Arc::new(Shared {
            storage,
            options,
            state: Mutex::new(state),
            changed: Condvar::new(),
            batch_done: [Condvar::new(), Condvar::new()],
            work: Condvar::new(),
            meta: Mutex::new(meta),
            archive: options_archive.map(Archiver::new),
        });
        let sync_thread = if shared.options.sync_thread {
            let s = shared.clone();
            let spawned = std::thread::Builder::new().name("wal-sync".into()).spawn(move || sync_thread_main(&s));
            match spawned {
                Ok(handle) => Some(handle),
                Err(e) => {
                    shared.storage.unlock();
                    return Err(Error::io(shared.storage.path_of(""), e));
                }
            }
        } else {
            None
        };
        let mut wal = Wal { shared, sync_thread, archive_thread: None };
        wal.archive_thread = spawn_archiver(&wal.shared)?;
        wal.finish_interrupted_purge()?;
        Ok((wal, report))
    }

    /// Appends one entry and returns its LSN once it is durable.
    ///
    /// Fails with [`Error::EntryTruncated`] if a concurrent truncate or reset cut it first.
    pub fn append(&self, kind: Kind, payload: &[u8]) -> Result<Lsn> {
        let mut st = lock_for_append(&self.shared, payload.len() as u64)?;
        let lsn = st.next_lsn;
        enqueue(&self.shared, &mut st, NewEntry { lsn, term: Term(0), kind, payload })?;
        let epoch = st.truncations;
        wait_durable(&self.shared, st, lsn, epoch, true)?;
        Ok(lsn)
    }

    /// Appends one entry without waiting; the returned [`Durable`] resolves once it is
    /// durable. The sync thread (if started) leads the group commit.
    pub fn submit(&self, kind: Kind, payload: &[u8]) -> Result<Durable> {
        self.submit_with_term(Term(0), kind, payload)
    }

    /// [`Wal::submit`] with the entry's term (a Raft leader appending its own entry). The
    /// entry is readable (see [`Wal::read_range`]) as soon as this returns.
    pub fn submit_with_term(&self, term: Term, kind: Kind, payload: &[u8]) -> Result<Durable> {
        let mut st = lock_for_append(&self.shared, payload.len() as u64)?;
        let lsn = st.next_lsn;
        enqueue(&self.shared, &mut st, NewEntry { lsn, term, kind, payload })?;
        if !st.syncing {
            self.shared.work.notify_one();
        }
        Ok(Durable { shared: self.shared.clone(), lsn, epoch: st.truncations })
    }

    /// Appends entries whose LSNs were decided elsewhere (a replication follower's log).
    /// Each must continue the log. All are checked first: on an error none is written.
    /// Nothing is synced: call [`Wal::sync`].
    pub fn write_at(&self, entries: &[(Lsn, Kind, &[u8])]) -> Result<()> {
        let entries: Vec<NewEntry<'_>> = entries
            .iter()
            .map(|(lsn, kind, payload)| NewEntry { lsn: *lsn, term: Term(0), kind: *kind, payload })
            .collect();
        let st = self.enqueue_all(&entries)?;
        drop(st);
        Ok(())
    }

    /// Checks and enqueues `entries` (none on an error); returns with the lock held.
    pub(crate) fn enqueue_all(&self, entries: &[NewEntry<'_>]) -> Result<MutexGuard<'_, State>> {
        let bytes = entries.iter().map(|e| e.payload.len() as u64).sum();
        let mut st = lock_for_append(&self.shared, bytes)?;
        let max = entry_bytes_max(&self.shared.options);
        let mut expected = st.next_lsn;
        for e in entries {
            if e.lsn != expected {
                return Err(Error::OutOfSequence { expected, found: e.lsn });
            }
            if e.payload.len() > max {
                return Err(Error::TooLarge { size: e.payload.len(), max });
            }
            if expected == Lsn::END {
                return Err(Error::LsnExhausted(expected));
            }
            expected = expected.next();
        }
        for e in entries {
            enqueue(&self.shared, &mut st, *e)?;
        }
        Ok(st)
    }

    /// Makes every entry appended so far durable; returns the last LSN appended before the
    /// call (which a concurrent truncate may since have cut).
    pub fn sync(&self) -> Result<Lsn> {
        let st = self.shared.lock();
        let last = st.next_lsn.prev();
        let epoch = st.truncations;
        wait_durable(&self.shared, st, last, epoch, false)?;
        Ok(last)
    }

    /// Tells the sync thread there may be work.
    pub(crate) fn wake_sync_thread(&self) {
        self.shared.work.notify_one();
    }

    /// The largest entry payload the log takes (larger ones are [`Error::TooLarge`]).
    pub fn entry_bytes_max(&self) -> usize {
        entry_bytes_max(&self.shared.options)
    }

    /// The log's positions now.
    pub fn status(&self) -> WalStatus {
        let st = self.shared.lock();
        WalStatus {
            first_lsn: st.first_lsn,
            last_lsn: st.next_lsn.prev(),
            durable_lsn: st.durable_lsn,
            segments: st.segments.len(),
            index_points: st.index.len(),
            tail_bytes: st.tail.bytes(),
        }
    }

    /// Counters since the log was opened.
    pub fn stats(&self) -> WalStats {
        self.shared.lock().stats
    }

    /// The log's identity.
    pub fn log_id(&self) -> LogId {
        self.shared.options.log_id
    }

    /// A reader of durable entries from `from` on.
    pub fn reader(&self, from: Lsn) -> crate::WalReader {
        crate::WalReader::new(self.shared.clone(), from)
    }

    /// Removes every entry after `last_kept`. Entries appended but not yet durable are made
    /// durable first, then cut; their durability handles and callbacks resolve with
    /// [`Error::EntryTruncated`]. Open readers fail with [`Error::Truncated`].
    pub fn truncate_after(&self, last_kept: Lsn) -> Result<()> {
        let (st, active) = take_exclusive(&self.shared, Exclusive::Rewrite, Some(last_kept))?;
        let last = st.next_lsn.prev();
        if last_kept >= last {
            release_exclusive(&self.shared, st, active);
            return Ok(());
        }
        if last_kept < st.first_lsn.prev() {
            let first = st.first_lsn;
            release_exclusive(&self.shared, st, active);
            return Err(Error::OutOfRange { lsn: last_kept, first, last });
        }
        let segments = st.segments.clone();
        drop(st);
        let storage = self.shared.storage.as_ref();
        let result = truncate_segments(storage, &segments, last_kept).and_then(|(mut kept, active)| {
            let active = crate::recovery::upgrade_active(
                storage,
                self.shared.options.log_id,
                active,
                &mut kept,
                last_kept.next(),
            )?;
            Ok((kept, active))
        });
        let mut st = self.shared.lock();
        match result {
            Ok((kept, new_active)) => {
                st.segments = kept;
                st.next_lsn = last_kept.next();
                st.durable_lsn = last_kept;
                st.in_flight_lsn = last_kept;
                st.planned_segment_bytes = new_active.write_offset;
                st.planned_segment = new_active.first_lsn;
                st.record_cut(last_kept);
                release_exclusive(&self.shared, st, Some(new_active));
                Ok(())
            }
            Err(e) => Err(poison(&self.shared, st, e)),
        }
    }

    /// Deletes whole segments all of whose entries are before `lsn`. The active segment is
    /// never deleted, so the log may keep some entries before `lsn`. Returns the log's first
    /// LSN afterwards.
    ///
    /// With an archive, only segments already archived are deleted; the rest stay, and the
    /// archiver finishes the purge once it has copied them.
    pub fn purge_before(&self, lsn: Lsn) -> Result<Lsn> {
        purge_segments(&self.shared, lsn)
    }

    /// Archives now every sealed segment whose entries are final and that is not archived
    /// yet (the archiver thread does this on its own; tools and tests call it to wait).
    /// Returns how many segments were copied; without an archive, 0.
    pub fn archive_now(&self) -> Result<usize> {
        archive_ready(&self.shared)
    }

    /// Discards the whole log; the next entry will have LSN `next_lsn` (after a snapshot
    /// was installed up to `next_lsn - 1`). Open readers fail with [`Error::Truncated`];
    /// durability handles of entries at or after `next_lsn` resolve with
    /// [`Error::EntryTruncated`].
    ///
    /// With an archive, the sealed segments whose entries are final are archived first; if
    /// that fails, the reset fails and the log is unchanged.
    pub fn reset(&self, next_lsn: Lsn) -> Result<()> {
        assert!(next_lsn > Lsn::ZERO);
        archive_ready(&self.shared)?;
        let (st, active) = take_exclusive(&self.shared, Exclusive::Rewrite, Some(next_lsn.prev()))?;
        let segments = st.segments.clone();
        drop(st);
        drop(active);
        let result = reset_segments(self.shared.storage.as_ref(), &self.shared.options, &segments, next_lsn);
        let mut st = self.shared.lock();
        match result {
            Ok(new_active) => {
                st.segments = vec![SegmentMeta {
                    first_lsn: next_lsn,
                    durable_end: new_active.write_offset,
                    version: new_active.version,
                }];
                st.first_lsn = next_lsn;
                st.next_lsn = next_lsn;
                st.durable_lsn = next_lsn.prev();
                st.in_flight_lsn = next_lsn.prev();
                st.planned_segment_bytes = new_active.write_offset;
                st.planned_segment = next_lsn;
                st.index.clear();
                st.record_cut(next_lsn.prev());
                if let Some(a) = &self.shared.archive {
                    a.forget_all();
                }
                release_exclusive(&self.shared, st, Some(new_active));
                Ok(())
            }
            Err(e) => Err(poison(&self.shared, st, e)),
        }
    }

    /// Syncs what is pending, stops the sync thread and closes the log. Dropping the `Wal`
    /// does the same, ignoring errors.
    pub fn close(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        let result = {
            let st = self.shared.lock();
            if st.failed.is_none() && !st.closed {
                let last = st.next_lsn.prev();
                let epoch = st.truncations;
                wait_durable(&self.shared, st, last, epoch, false).map(|_| ())
            } else {
                Ok(())
            }
        };
        let result = result.and_then(|()| self.write_pending_meta());
        let (was_closed, active) = {
            let mut st = self.shared.lock();
            while st.syncing && st.failed.is_none() {
                st = self.shared.changed.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            let was_closed = st.closed;
            st.closed = true;
            let active = if result.is_ok() && !was_closed && st.failed.is_none() { st.active.take() } else { None };
            wake_all(&self.shared, &mut st);
            self.shared.work.notify_all();
            let orphans = std::mem::take(&mut st.notifies);
            drop(st);
            fire(orphans, |_| Error::Closed);
            (was_closed, active)
        };
        if let Some(t) = self.sync_thread.take() {
            // The thread only exits or loops; a panic in it would be a bug already reported.
            let _ = t.join();
        }
        if let Some(a) = &self.shared.archive {
            a.stop();
        }
        if let Some(t) = self.archive_thread.take() {
            let _ = t.join();
        }
        // A closed log ends at its last frame: no preallocated zeros for tools to explain.
        let result = match active {
            Some(mut active) if active.prepared_end > active.write_offset => {
                let storage = self.shared.storage.as_ref();
                let trimmed = active.trim().and_then(|()| active.file.sync_data());
                result.and(trimmed.map_err(|e| active.io_err(storage, e)))
            }
            _ => result,
        };
        if !was_closed {
            self.shared.storage.unlock();
        }
        result
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// The largest payload an entry may have under `options`.
fn entry_bytes_max(options: &WalOptions) -> usize {
    options.entry_bytes_max.min(format::PAYLOAD_BYTES_MAX as usize)
}

/// Locks the state for an append of `bytes` payload bytes, first waiting while a truncate
/// or reset rewrites the log (an LSN taken meanwhile would not continue the log they leave),
/// and while the in-memory tail has no room for them (leading a group commit if nobody is).
fn lock_for_append(shared: &Shared, bytes: u64) -> Result<MutexGuard<'_, State>> {
    let mut st = shared.lock();
    loop {
        st.check_usable()?;
        let full = !st.tail.is_empty() && st.tail.bytes() + bytes > shared.options.tail_bytes_max;
        if !st.exclusive && !full {
            return Ok(st);
        }
        if !st.exclusive && st.may_lead() && !st.pending.is_empty() {
            st = lead_round(shared, st, false);
            continue;
        }
        st = shared.changed.wait(st).unwrap_or_else(|p| p.into_inner());
    }
}

/// One entry to write at an LSN the caller decided (a Raft follower, or a leader through
/// [`Wal::write_entries`]).
#[derive(Debug, Clone, Copy)]
pub struct NewEntry<'a> {
    /// Its LSN: the next one the log expects.
    pub lsn: Lsn,
    /// Its term.
    pub term: Term,
    /// The caller's tag.
    pub kind: Kind,
    /// The caller's bytes.
    pub payload: &'a [u8],
}

/// Encodes one entry into the pending buffer, rolling to a new segment when it is full, and
/// keeps a copy in the tail so it is readable at once.
fn enqueue(shared: &Shared, st: &mut State, e: NewEntry<'_>) -> Result<()> {
    let NewEntry { lsn, term, kind, payload } = e;
    st.check_usable()?;
    let max = entry_bytes_max(&shared.options);
    if payload.len() > max {
        return Err(Error::TooLarge { size: payload.len(), max });
    }
    assert!(!st.exclusive, "appends wait while the log is rewritten");
    assert_eq!(lsn, st.next_lsn);
    if lsn == Lsn::END {
        return Err(Error::LsnExhausted(lsn));
    }
    let frame_len = format::frame_len_v2(payload.len());
    let segment_has_frames = st.planned_segment_bytes > HEADER_BYTES as u64;
    if segment_has_frames && st.planned_segment_bytes + frame_len > shared.options.segment_bytes_max {
        st.pending.push(Chunk::Roll(lsn));
        st.planned_segment_bytes = HEADER_BYTES as u64;
        st.planned_segment = lsn;
    }
    if !matches!(st.pending.last(), Some(Chunk::Frames(_))) {
        st.pending.push(Chunk::Frames(Vec::new()));
    }
    let fields = FrameFields { lsn, term, synced_lsn: st.durable_lsn, kind };
    if let Some(Chunk::Frames(buf)) = st.pending.last_mut() {
        format::encode_frame_v2(buf, fields, payload);
    }
    let (segment, offset) = (st.planned_segment, st.planned_segment_bytes);
    st.index.note(lsn, segment, offset);
    st.tail.push(Entry { lsn, term, kind, payload: payload.to_vec() });
    st.planned_segment_bytes += frame_len;
    st.next_lsn = lsn.next();
    st.stats.entries_appended += 1;
    Ok(())
}

/// Waits until `lsn` is durable, leading group commits whenever nobody else is. `epoch` is
/// the truncation count when `lsn` was appended. With `strict` (a durability handle), an
/// entry a truncate or reset cut fails with `EntryTruncated`; without (`sync`, close), a
/// moved truncation count ends the wait (everything before the cut was synced first).
fn wait_durable<'a>(
    shared: &'a Shared,
    mut st: MutexGuard<'a, State>,
    lsn: Lsn,
    epoch: u64,
    strict: bool,
) -> Result<()> {
    loop {
        if strict && st.was_cut(lsn, epoch) {
            return Err(Error::EntryTruncated { lsn });
        }
        if st.durable_lsn >= lsn || (!strict && st.truncations != epoch) {
            return Ok(());
        }
        if let Some(why) = &st.failed {
            return Err(Error::Poisoned(why.clone()));
        }
        assert!(lsn < st.next_lsn, "waiting for LSN {lsn}, which was never assigned");
        if st.may_lead() {
            st = lead_round(shared, st, false);
            continue;
        }
        if st.closed && !st.syncing {
            return Err(Error::Closed);
        }
        // Still pending: the batch the next leader takes; else the one being written.
        let batch = if lsn > st.in_flight_lsn { st.round } else { st.round.wrapping_sub(1) };
        st = batch_condvar(shared, batch).wait(st).unwrap_or_else(|p| p.into_inner());
    }
}

/// The condvar the appenders of batch `batch` sleep on.
fn batch_condvar(shared: &Shared, batch: u64) -> &Condvar {
    &shared.batch_done[(batch % 2) as usize]
}

/// Group commit: write everything pending, sync, publish. Called with the lock held and
/// `may_lead` true; returns with the lock held again.
///
/// With `keep_leading` (the sync thread), it goes on with the next batch while one is
/// waiting, and wakes the appenders of a finished batch only once the next batch's frames
/// are written, just before its fsync: waking dozens of threads first would let them take
/// the CPU from the leader right when the disk is idle.
fn lead_round<'a>(shared: &'a Shared, mut st: MutexGuard<'a, State>, keep_leading: bool) -> MutexGuard<'a, State> {
    // A batch made durable whose blocked appenders are not woken yet, and its callbacks.
    let mut unannounced: Option<u64> = None;
    let mut ready: Vec<(Lsn, Waiting)> = Vec::new();
    loop {
        let Some(mut active) = st.active.take() else { break };
        st.syncing = true;
        let batch = st.round;
        st.round += 1;
        let chunks = std::mem::take(&mut st.pending);
        let target = st.next_lsn.prev();
        st.in_flight_lsn = target;
        drop(st);

        let mut rolled = Vec::new();
        let mut announce = || {
            if let Some(done) = unannounced.take() {
                batch_condvar(shared, done).notify_all();
            }
            // After the wake-ups: a callback may block on a thread those wake.
            for (lsn, callback) in ready.drain(..) {
                (callback.0)(Ok(lsn));
            }
        };
        let result = write_chunks(shared, &mut active, chunks, &mut rolled, &mut announce);
        announce();

        st = shared.lock();
        st.syncing = false;
        let written = match result {
            Ok(written) => written,
            Err(e) => {
                let _ = poison(shared, st, e);
                return shared.lock();
            }
        };
        if let (Some(a), false) = (&shared.archive, rolled.is_empty()) {
            a.poke();
        }
        for (first_lsn, sealed_len) in rolled {
            if let Some(last) = st.segments.last_mut() {
                last.durable_end = sealed_len;
            }
            st.segments.push(SegmentMeta { first_lsn, durable_end: HEADER_BYTES as u64, version: FORMAT_VERSION });
        }
        if let Some(last) = st.segments.last_mut() {
            last.durable_end = active.write_offset;
        }
        st.active = Some(active);
        st.durable_lsn = target;
        st.tail.release_through(target);
        while st.notifies.front().is_some_and(|(lsn, _)| *lsn <= target) {
            ready.extend(st.notifies.pop_front());
        }
        st.stats.bytes_written += written.bytes;
        st.stats.syncs += written.syncs;
        wake_futures(&mut st);
        shared.changed.notify_all();
        unannounced = Some(batch);
        let go_on = keep_leading && !st.pending.is_empty() && st.may_lead() && st.check_usable().is_ok();
        if !go_on {
            break;
        }
    }
    if let Some(done) = unannounced {
        batch_condvar(shared, done).notify_all();
    }
    if !st.pending.is_empty() {
        hand_off(shared, &st);
    }
    if !ready.is_empty() {
        // Callbacks run outside the lock; every caller re-checks the state after a round.
        drop(st);
        for (lsn, callback) in ready {
            (callback.0)(Ok(lsn));
        }
        st = shared.lock();
    }
    st
}

/// Finds a leader for the batch that is waiting: the sync thread if there is one (it keeps
/// leading while work keeps coming, with no handoff between rounds), else one of the
/// batch's own appenders.
fn hand_off(shared: &Shared, st: &State) {
    if shared.options.sync_thread {
        shared.work.notify_one();
    } else {
        batch_condvar(shared, st.round).notify_one();
    }
}

/// What one round wrote.
struct Written {
    bytes: u64,
    syncs: u64,
}

/// Writes chunks to the active segment, rolling as asked, and syncs. Records each new
/// segment as (first LSN, final length of the segment it sealed) in `rolled`.
/// `before_sync` runs once the first frames are written, before the first fsync.
fn write_chunks(
    shared: &Shared,
    active: &mut ActiveSegment,
    chunks: Vec<Chunk>,
    rolled: &mut Vec<(Lsn, u64)>,
    before_sync: &mut dyn FnMut(),
) -> Result<Written> {
    let storage = shared.storage.as_ref();
    let mut written = Written { bytes: 0, syncs: 0 };
    let mut dirty = false;
    for chunk in chunks {
        match chunk {
            Chunk::Frames(bytes) => {
                let options = &shared.options;
                active
                    .write_frames(&bytes, options.preallocate_bytes, options.segment_bytes_max)
                    .map_err(|e| active.io_err(storage, e))?;
                written.bytes += bytes.len() as u64;
                dirty = true;
            }
            Chunk::Roll(first_lsn) => {
                // Seal: the file must end at its last frame, durably, before the next
                // segment exists (recovery treats every segment but the last as complete).
                active.trim().map_err(|e| active.io_err(storage, e))?;
                before_sync();
                active.file.sync_data().map_err(|e| active.io_err(storage, e))?;
                written.syncs += 1;
                let sealed_len = active.write_offset;
                *active = create_segment(storage, shared.options.log_id, first_lsn, 0)?;
                rolled.push((first_lsn, sealed_len));
                dirty = false;
            }
        }
    }
    if dirty {
        before_sync();
        active.file.sync_data().map_err(|e| active.io_err(storage, e))?;
        written.syncs += 1;
    }
    Ok(written)
}

/// Creates a segment durably: header into a temp file, sync, rename, sync the directory.
pub(crate) fn create_segment(
    storage: &dyn Storage,
    log_id: LogId,
    first_lsn: Lsn,
    flags: u32,
) -> Result<ActiveSegment> {
    let tmp = format::temp_file_name(first_lsn);
    let name = format::segment_file_name(first_lsn);
    let header = SegmentHeader { log_id, first_lsn, flags }.encode();
    let file = storage.create(&tmp).map_err(|e| Error::io(storage.path_of(&tmp), e))?;
    file.write_all_at(&header, 0).map_err(|e| Error::io(storage.path_of(&tmp), e))?;
    file.sync_data().map_err(|e| Error::io(storage.path_of(&tmp), e))?;
    storage.rename(&tmp, &name).map_err(|e| Error::io(storage.path_of(&name), e))?;
    storage.sync_dir().map_err(|e| Error::io(storage.path_of(""), e))?;
    Ok(ActiveSegment {
        first_lsn,
        file,
        write_offset: HEADER_BYTES as u64,
        prepared_end: HEADER_BYTES as u64,
        version: FORMAT_VERSION,
    })
}

/// Marks the log failed, wakes everyone, fails every callback, and returns the error for
/// the caller.
pub(crate) fn poison(shared: &Shared, mut st: MutexGuard<'_, State>, e: Error) -> Error {
    let why = e.to_string();
    st.failed = Some(why.clone());
    st.syncing = false;
    st.exclusive = false;
    st.cutting = None;
    wake_all(shared, &mut st);
    let orphans = std::mem::take(&mut st.notifies);
    drop(st);
    fire(orphans, |_| Error::Poisoned(why.clone()));
    e
}

/// Calls each callback with the error `why` makes for its LSN.
pub(crate) fn fire(callbacks: impl IntoIterator<Item = (Lsn, Waiting)>, why: impl Fn(Lsn) -> Error) {
    for (lsn, callback) in callbacks {
        (callback.0)(Err(why(lsn)));
    }
}

/// Wakes every future whose entry is durable (all of them if the log failed or closed, and
/// those from before a truncation).
fn wake_futures(st: &mut State) {
    let durable = st.durable_lsn;
    let truncations = st.truncations;
    let everyone = st.failed.is_some() || st.closed;
    let cutting = st.cutting;
    let waiters = std::mem::take(&mut st.waiters);
    for (lsn, epoch, waker) in waiters {
        if everyone || lsn <= durable || epoch != truncations || cutting.is_some_and(|keep| lsn > keep) {
            waker.wake();
        } else {
            st.waiters.push((lsn, epoch, waker));
        }
    }
}

/// Wakes futures as [`wake_futures`] does, and every blocked thread so it looks again.
fn wake_all(shared: &Shared, st: &mut State) {
    wake_futures(st);
    for cv in &shared.batch_done {
        cv.notify_all();
    }
    shared.changed.notify_all();
}

/// What an exclusive operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exclusive {
    /// Truncate or reset: everything pending is written and synced first, and appenders
    /// wait until the operation ends.
    Rewrite,
    /// Purge: no LSN changes, so appends may queue meanwhile.
    KeepAppending,
}

/// Waits until no leader is working, then claims exclusive use of the segments. For a
/// rewrite, appenders are stopped first and everything they queued is written and synced.
/// `cut` is the last LSN a rewrite keeps: callbacks of later entries fail with
/// `EntryTruncated` before that flush (so it cannot report them durable), and futures see
/// the cut in progress.
fn take_exclusive(
    shared: &Shared,
    kind: Exclusive,
    cut: Option<Lsn>,
) -> Result<(MutexGuard<'_, State>, Option<ActiveSegment>)> {
    let mut st = shared.lock();
    st.exclusive_wanted += 1;
    // Set once this thread holds `exclusive` (a rewrite): from then on no new LSN is taken,
    // so the pending work flushed below only shrinks.
    let mut claimed = false;
    loop {
        if let Err(e) = st.check_usable() {
            st.exclusive_wanted -= 1;
            if claimed {
                st.exclusive = false;
            }
            wake_all(shared, &mut st);
            return Err(e);
        }
        // One rewrite at a time; a purge waits for it too, so it never sees a half-cut log.
        if st.syncing || (st.exclusive && !claimed) {
            st = shared.changed.wait(st).unwrap_or_else(|p| p.into_inner());
            continue;
        }
        if kind == Exclusive::Rewrite {
            st.exclusive = true;
            if !claimed {
                claimed = true;
                // Only a cut that will happen dooms anything (an out-of-range one is refused).
                if let Some(keep) = cut.filter(|keep| *keep >= st.first_lsn.prev() && *keep < st.next_lsn.prev()) {
                    st.cutting = Some(keep);
                    let mut doomed = Vec::new();
                    while st.notifies.back().is_some_and(|(lsn, _)| *lsn > keep) {
                        doomed.extend(st.notifies.pop_back());
                    }
                    wake_futures(&mut st);
                    drop(st);
                    fire(doomed, |lsn| Error::EntryTruncated { lsn });
                    st = shared.lock();
                    continue;
                }
            }
            if !st.pending.is_empty() && st.active.is_some() {
                st = lead_round(shared, st, false);
                continue;
            }
        }
        break;
    }
    st.exclusive_wanted -= 1;
    st.syncing = true;
    let active = st.active.take();
    Ok((st, active))
}

fn release_exclusive(shared: &Shared, mut st: MutexGuard<'_, State>, active: Option<ActiveSegment>) {
    st.active = active;
    st.syncing = false;
    st.exclusive = false;
    st.cutting = None;
    wake_all(shared, &mut st);
    if !st.pending.is_empty() {
        hand_off(shared, &st);
    }
}

/// Removes the files of `segments` in the order given, then syncs the directory.
fn remove_segments<'a>(storage: &dyn Storage, segments: impl Iterator<Item = &'a SegmentMeta>) -> Result<()> {
    let mut any = false;
    for seg in segments {
        let name = format::segment_file_name(seg.first_lsn);
        storage.remove(&name).map_err(|e| Error::io(storage.path_of(&name), e))?;
        any = true;
    }
    if any {
        storage.sync_dir().map_err(|e| Error::io(storage.path_of(""), e))?;
    }
    Ok(())
}

/// Cuts the log after `last_kept`; returns the remaining segments and the new active one.
fn truncate_segments(
    storage: &dyn Storage,
    segments: &[SegmentMeta],
    last_kept: Lsn,
) -> Result<(Vec<SegmentMeta>, ActiveSegment)> {
    let cut = last_kept.next();
    // The segment that will hold the new end: the last one starting at or before `cut`,
    // except that a segment starting exactly at `cut` goes away whole unless it is the first.
    let mut keep = segments.iter().rposition(|s| s.first_lsn <= cut).unwrap_or(0);
    if keep > 0 && segments[keep].first_lsn == cut {
        keep -= 1;
    }
    remove_segments(storage, segments[keep + 1..].iter().rev())?;
    let target = &segments[keep];
    let name = format::segment_file_name(target.first_lsn);
    let file = storage.open(&name).map_err(|e| Error::io(storage.path_of(&name), e))?;
    let mut cut_offset = HEADER_BYTES as u64;
    let summary = segment::scan(file.as_ref(), target.first_lsn, target.durable_end, |offset, h, _| {
        if h.lsn <= last_kept {
            cut_offset = offset + h.frame_len();
        }
    })
    .map_err(|e| Error::io(storage.path_of(&name), e))?;
    if let Some((offset, problem)) = summary.problem {
        return Err(Error::Corrupt { segment: storage.path_of(&name), offset, reason: problem.to_string() });
    }
    file.set_len(cut_offset).map_err(|e| Error::io(storage.path_of(&name), e))?;
    file.sync_data().map_err(|e| Error::io(storage.path_of(&name), e))?;
    let mut kept = segments[..=keep].to_vec();
    if let Some(last) = kept.last_mut() {
        last.durable_end = cut_offset;
    }
    let active = ActiveSegment {
        first_lsn: target.first_lsn,
        file,
        write_offset: cut_offset,
        prepared_end: cut_offset,
        version: target.version,
    };
    Ok((kept, active))
}

/// Replaces all segments by one empty BASE segment starting at `next_lsn`.
fn reset_segments(
    storage: &dyn Storage,
    options: &WalOptions,
    segments: &[SegmentMeta],
    next_lsn: Lsn,
) -> Result<ActiveSegment> {
    remove_segments(storage, segments.iter().rev().filter(|s| s.first_lsn >= next_lsn))?;
    let active = create_segment(storage, options.log_id, next_lsn, FLAG_BASE)?;
    remove_segments(storage, segments.iter().filter(|s| s.first_lsn < next_lsn))?;
    Ok(active)
}

/// The background leader for submitted entries.
fn sync_thread_main(shared: &Shared) {
    let mut st = shared.lock();
    loop {
        if st.closed || st.failed.is_some() {
            return;
        }
        if !st.pending.is_empty() && st.may_lead() {
            st = lead_round(shared, st, true);
            continue;
        }
        st = shared.work.wait(st).unwrap_or_else(|p| p.into_inner());
    }
}

/// Deletes whole segments before `lsn` (see [`Wal::purge_before`]); with an archive, only
/// archived ones, oldest first, stopping at the first that is not.
fn purge_segments(shared: &Shared, lsn: Lsn) -> Result<Lsn> {
    // Exclusive, so a concurrent truncate or reset never resurrects purged segments.
    // Appends may still queue meanwhile: a purge changes no LSN.
    let (mut st, active) = take_exclusive(shared, Exclusive::KeepAppending, None)?;
    let mut doomed = Vec::new();
    while st.segments.len() > 1 && st.segments[1].first_lsn <= lsn {
        if let Some(a) = &shared.archive {
            if !a.may_delete(st.segments[0].first_lsn, lsn) {
                break;
            }
        }
        doomed.push(st.segments.remove(0));
    }
    st.first_lsn = st.segments[0].first_lsn;
    let first = st.first_lsn;
    st.index.drop_segments_before(first);
    drop(st);
    let result = remove_segments(shared.storage.as_ref(), doomed.iter());
    if let Some(a) = &shared.archive {
        a.forget_before(first);
    }
    let st = shared.lock();
    match result {
        Ok(()) => {
            release_exclusive(shared, st, active);
            Ok(first)
        }
        Err(e) => Err(poison(shared, st, e)),
    }
}

impl Shared {
    /// The sealed segments, oldest first (all but the active one).
    fn sealed(st: &State) -> Vec<Sealed> {
        st.segments
            .windows(2)
            .map(|w| Sealed { first_lsn: w[0].first_lsn, last_lsn: w[1].first_lsn.prev(), bytes: w[0].durable_end })
            .collect()
    }

    /// The last LSN no truncation can remove: the committed position of a Raft log (none
    /// yet, if it has voted but recorded no commit), else the durable LSN.
    fn final_lsn(&self, st: &State, meta: &Meta) -> Lsn {
        let committed = [meta.committed, st.committed_pending].into_iter().flatten().map(|c| c.lsn).max();
        match committed {
            Some(c) => c.min(st.durable_lsn),
            None if meta.vote.is_some() => Lsn::ZERO,
            None => st.durable_lsn,
        }
    }
}

impl ArchiveSource for Arc<Shared> {
    fn storage(&self) -> &dyn Storage {
        self.storage.as_ref()
    }

    fn log_id(&self) -> LogId {
        self.options.log_id
    }

    fn sealed_and_final(&self) -> Option<(Vec<Sealed>, Lsn)> {
        // Meta before state: `update_meta` holds the meta lock while it syncs.
        let meta = *self.meta.lock().unwrap_or_else(|p| p.into_inner());
        let st = self.lock();
        if st.check_usable().is_err() {
            return None;
        }
        Some((Shared::sealed(&st), self.final_lsn(&st, &meta)))
    }

    fn purge_before(&self, lsn: Lsn) -> Result<Lsn> {
        purge_segments(self, lsn)
    }
}

/// Archives what is ready now, on the caller's thread (see [`Wal::archive_now`]).
fn archive_ready(shared: &Arc<Shared>) -> Result<usize> {
    let Some(a) = &shared.archive else { return Ok(0) };
    let Some((sealed, final_lsn)) = shared.sealed_and_final() else { return Ok(0) };
    a.archive(shared.storage.as_ref(), shared.options.log_id, &sealed, final_lsn, 0)
}

/// Starts the `wal-archive` thread if the log has an archive.
fn spawn_archiver(shared: &Arc<Shared>) -> Result<Option<JoinHandle<()>>> {
    if shared.archive.is_none() {
        return Ok(None);
    }
    let s = shared.clone();
    let spawned = std::thread::Builder::new().name("wal-archive".into()).spawn(move || {
        if let Some(a) = &s.archive {
            crate::archive::thread_main(a, &s);
        }
    });
    match spawned {
        Ok(h) => Ok(Some(h)),
        Err(e) => Err(Error::io(shared.storage.path_of(""), e)),
    }
}
