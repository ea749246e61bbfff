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
//! pending, and appenders wait (without taking an LSN) until they are done. Everything
//! appended before a truncate was durable before the cut; a waiter that finds the log
//! truncated since it appended (the truncation counter moved) therefore returns success.
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

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Waker;
use std::thread::JoinHandle;

use crate::error::{Error, Result};
use crate::format::{self, SegmentHeader, FLAG_BASE, HEADER_BYTES};
use crate::recovery::{Recovered, RecoveryReport};
use crate::segment;
use crate::storage::{Storage, StorageFile};
use crate::{Kind, LogId, Lsn};

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
}

/// A segment the log knows about.
#[derive(Debug, Clone)]
pub(crate) struct SegmentMeta {
    /// LSN of its first frame; also its name.
    pub first_lsn: Lsn,
    /// Offset past its last durable frame. For sealed segments, the file length.
    pub durable_end: u64,
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
    fn trim(&mut self) -> std::io::Result<()> {
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
struct State {
    /// First LSN still in the log.
    first_lsn: Lsn,
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
    /// Counters.
    stats: WalStats,
}

impl State {
    fn recovered(r: Recovered) -> State {
        State {
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

    fn check_usable(&self) -> Result<()> {
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
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The view a reader looking for `lsn` needs.
    pub(crate) fn read_view(&self, lsn: Lsn) -> Result<ReadView> {
        let st = self.lock();
        if let Some(why) = &st.failed {
            return Err(Error::Poisoned(why.clone()));
        }
        let segment = st.segments.iter().rev().find(|s| s.first_lsn <= lsn).cloned();
        Ok(ReadView { first_lsn: st.first_lsn, durable_lsn: st.durable_lsn, truncations: st.truncations, segment })
    }
}

/// A segmented write-ahead log. See the crate docs for its promises.
#[derive(Debug)]
pub struct Wal {
    /// State shared with readers, futures and the sync thread.
    shared: Arc<Shared>,
    /// The background sync thread, if started.
    sync_thread: Option<JoinHandle<()>>,
}

/// A submitted entry that becomes durable later. Await it, or call [`Durable::wait`].
#[derive(Debug)]
#[must_use = "an entry is not known to be durable until its Durable resolves"]
pub struct Durable {
    /// The log.
    shared: Arc<Shared>,
    /// The entry's LSN.
    lsn: Lsn,
    /// The log's truncation count when the entry was submitted.
    epoch: u64,
}

impl Durable {
    /// The LSN the entry was given.
    pub fn lsn(&self) -> Lsn {
        self.lsn
    }

    /// Blocks until the entry is durable (leading a group commit if nobody else is).
    ///
    /// If the log was truncated or reset after the entry was submitted, the entry was made
    /// durable before the cut, and this returns its LSN even if the cut removed it.
    pub fn wait(self) -> Result<Lsn> {
        let st = self.shared.lock();
        wait_durable(&self.shared, st, self.lsn, self.epoch)?;
        Ok(self.lsn)
    }
}

impl std::future::Future for Durable {
    type Output = Result<Lsn>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let mut st = self.shared.lock();
        if st.durable_lsn >= self.lsn || st.truncations != self.epoch {
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
        let state = State::recovered(recovered);
        let shared = Arc::new(Shared {
            storage,
            options,
            state: Mutex::new(state),
            changed: Condvar::new(),
            batch_done: [Condvar::new(), Condvar::new()],
            work: Condvar::new(),
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
        Ok((Wal { shared, sync_thread }, report))
    }

    /// Appends one entry and returns its LSN once it is durable.
    pub fn append(&self, kind: Kind, payload: &[u8]) -> Result<Lsn> {
        let mut st = lock_for_append(&self.shared)?;
        let lsn = st.next_lsn;
        enqueue(&self.shared, &mut st, lsn, kind, payload)?;
        let epoch = st.truncations;
        wait_durable(&self.shared, st, lsn, epoch)?;
        Ok(lsn)
    }

    /// Appends one entry without waiting; the returned [`Durable`] resolves once it is
    /// durable. The sync thread (if started) leads the group commit.
    pub fn submit(&self, kind: Kind, payload: &[u8]) -> Result<Durable> {
        let mut st = lock_for_append(&self.shared)?;
        let lsn = st.next_lsn;
        enqueue(&self.shared, &mut st, lsn, kind, payload)?;
        if !st.syncing {
            self.shared.work.notify_one();
        }
        Ok(Durable { shared: self.shared.clone(), lsn, epoch: st.truncations })
    }

    /// Appends entries whose LSNs were decided elsewhere (a replication follower's log).
    /// Each must continue the log. All are checked first: on an error none is written.
    /// Nothing is synced: call [`Wal::sync`].
    pub fn write_at(&self, entries: &[(Lsn, Kind, &[u8])]) -> Result<()> {
        let mut st = lock_for_append(&self.shared)?;
        let max = entry_bytes_max(&self.shared.options);
        let mut expected = st.next_lsn;
        for (lsn, _, payload) in entries {
            if *lsn != expected {
                return Err(Error::OutOfSequence { expected, found: *lsn });
            }
            if payload.len() > max {
                return Err(Error::TooLarge { size: payload.len(), max });
            }
            if expected == Lsn::END {
                return Err(Error::LsnExhausted(expected));
            }
            expected = expected.next();
        }
        for (lsn, kind, payload) in entries {
            enqueue(&self.shared, &mut st, *lsn, *kind, payload)?;
        }
        Ok(())
    }

    /// Makes every entry appended so far durable; returns the last LSN appended before the
    /// call (which a concurrent truncate may since have cut).
    pub fn sync(&self) -> Result<Lsn> {
        let st = self.shared.lock();
        let last = st.next_lsn.prev();
        let epoch = st.truncations;
        wait_durable(&self.shared, st, last, epoch)?;
        Ok(last)
    }

    /// The log's positions now.
    pub fn status(&self) -> WalStatus {
        let st = self.shared.lock();
        WalStatus {
            first_lsn: st.first_lsn,
            last_lsn: st.next_lsn.prev(),
            durable_lsn: st.durable_lsn,
            segments: st.segments.len(),
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
    /// durable first, then cut. Open readers fail with [`Error::Truncated`].
    pub fn truncate_after(&self, last_kept: Lsn) -> Result<()> {
        let (st, active) = take_exclusive(&self.shared, Exclusive::Rewrite)?;
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
        let result = truncate_segments(self.shared.storage.as_ref(), &segments, last_kept);
        let mut st = self.shared.lock();
        match result {
            Ok((kept, new_active)) => {
                st.segments = kept;
                st.next_lsn = last_kept.next();
                st.durable_lsn = last_kept;
                st.in_flight_lsn = last_kept;
                st.planned_segment_bytes = new_active.write_offset;
                st.truncations += 1;
                release_exclusive(&self.shared, st, Some(new_active));
                Ok(())
            }
            Err(e) => Err(poison(&self.shared, st, e)),
        }
    }

    /// Deletes whole segments all of whose entries are before `lsn`. The active segment is
    /// never deleted, so the log may keep some entries before `lsn`. Returns the log's first
    /// LSN afterwards.
    pub fn purge_before(&self, lsn: Lsn) -> Result<Lsn> {
        // Exclusive, so a concurrent truncate or reset never resurrects purged segments.
        // Appends may still queue meanwhile: a purge changes no LSN.
        let (mut st, active) = take_exclusive(&self.shared, Exclusive::KeepAppending)?;
        let mut doomed = Vec::new();
        while st.segments.len() > 1 && st.segments[1].first_lsn <= lsn {
            doomed.push(st.segments.remove(0));
        }
        st.first_lsn = st.segments[0].first_lsn;
        let first = st.first_lsn;
        drop(st);
        let result = remove_segments(self.shared.storage.as_ref(), doomed.iter());
        let st = self.shared.lock();
        match result {
            Ok(()) => {
                release_exclusive(&self.shared, st, active);
                Ok(first)
            }
            Err(e) => Err(poison(&self.shared, st, e)),
        }
    }

    /// Discards the whole log; the next entry will have LSN `next_lsn` (after a snapshot
    /// was installed up to `next_lsn - 1`). Open readers fail with [`Error::Truncated`].
    pub fn reset(&self, next_lsn: Lsn) -> Result<()> {
        assert!(next_lsn > Lsn::ZERO);
        let (st, active) = take_exclusive(&self.shared, Exclusive::Rewrite)?;
        let segments = st.segments.clone();
        drop(st);
        drop(active);
        let result = reset_segments(self.shared.storage.as_ref(), &self.shared.options, &segments, next_lsn);
        let mut st = self.shared.lock();
        match result {
            Ok(new_active) => {
                st.segments = vec![SegmentMeta { first_lsn: next_lsn, durable_end: new_active.write_offset }];
                st.first_lsn = next_lsn;
                st.next_lsn = next_lsn;
                st.durable_lsn = next_lsn.prev();
                st.in_flight_lsn = next_lsn.prev();
                st.planned_segment_bytes = new_active.write_offset;
                st.truncations += 1;
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
                wait_durable(&self.shared, st, last, epoch).map(|_| ())
            } else {
                Ok(())
            }
        };
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
            (was_closed, active)
        };
        if let Some(t) = self.sync_thread.take() {
            // The thread only exits or loops; a panic in it would be a bug already reported.
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

/// Locks the state for an append, first waiting while a truncate or reset rewrites the log
/// (an LSN taken meanwhile would not continue the log they leave).
fn lock_for_append(shared: &Shared) -> Result<MutexGuard<'_, State>> {
    let mut st = shared.lock();
    while st.exclusive {
        st.check_usable()?;
        st = shared.changed.wait(st).unwrap_or_else(|p| p.into_inner());
    }
    Ok(st)
}

/// Encodes one entry into the pending buffer, rolling to a new segment when it is full.
fn enqueue(shared: &Shared, st: &mut State, lsn: Lsn, kind: Kind, payload: &[u8]) -> Result<()> {
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
    let frame_len = format::frame_len(payload.len());
    let segment_has_frames = st.planned_segment_bytes > HEADER_BYTES as u64;
    if segment_has_frames && st.planned_segment_bytes + frame_len > shared.options.segment_bytes_max {
        st.pending.push(Chunk::Roll(lsn));
        st.planned_segment_bytes = HEADER_BYTES as u64;
    }
    if !matches!(st.pending.last(), Some(Chunk::Frames(_))) {
        st.pending.push(Chunk::Frames(Vec::new()));
    }
    if let Some(Chunk::Frames(buf)) = st.pending.last_mut() {
        format::encode_frame(buf, lsn, kind, payload);
    }
    st.planned_segment_bytes += frame_len;
    st.next_lsn = lsn.next();
    st.stats.entries_appended += 1;
    Ok(())
}

/// Waits until `lsn` is durable, leading group commits whenever nobody else is. `epoch` is
/// the truncation count when `lsn` was appended: once it moves, `lsn` was made durable
/// before the cut (truncate and reset sync everything pending first), so the wait is over
/// even though the durable LSN may now be lower.
fn wait_durable<'a>(shared: &'a Shared, mut st: MutexGuard<'a, State>, lsn: Lsn, epoch: u64) -> Result<()> {
    loop {
        if st.durable_lsn >= lsn || st.truncations != epoch {
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
    // A batch made durable whose blocked appenders are not woken yet.
    let mut unannounced: Option<u64> = None;
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
        for (first_lsn, sealed_len) in rolled {
            if let Some(last) = st.segments.last_mut() {
                last.durable_end = sealed_len;
            }
            st.segments.push(SegmentMeta { first_lsn, durable_end: HEADER_BYTES as u64 });
        }
        if let Some(last) = st.segments.last_mut() {
            last.durable_end = active.write_offset;
        }
        st.active = Some(active);
        st.durable_lsn = target;
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
    Ok(ActiveSegment { first_lsn, file, write_offset: HEADER_BYTES as u64, prepared_end: HEADER_BYTES as u64 })
}

/// Marks the log failed, wakes everyone, and returns the error for the caller.
fn poison(shared: &Shared, mut st: MutexGuard<'_, State>, e: Error) -> Error {
    let why = e.to_string();
    st.failed = Some(why);
    st.syncing = false;
    st.exclusive = false;
    wake_all(shared, &mut st);
    e
}

/// Wakes every future whose entry is durable (all of them if the log failed or closed, and
/// those from before a truncation).
fn wake_futures(st: &mut State) {
    let durable = st.durable_lsn;
    let truncations = st.truncations;
    let everyone = st.failed.is_some() || st.closed;
    let waiters = std::mem::take(&mut st.waiters);
    for (lsn, epoch, waker) in waiters {
        if everyone || lsn <= durable || epoch != truncations {
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
fn take_exclusive(shared: &Shared, kind: Exclusive) -> Result<(MutexGuard<'_, State>, Option<ActiveSegment>)> {
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
            claimed = true;
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
    Ok((kept, ActiveSegment { first_lsn: target.first_lsn, file, write_offset: cut_offset, prepared_end: cut_offset }))
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
