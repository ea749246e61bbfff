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
//! # Crash argument, step by step
//! - Entries reach the open segment with positioned writes past its valid end, then
//!   `fdatasync`; only then does the durable LSN move. A crash before the sync leaves a
//!   prefix of frames and maybe a torn one, which recovery cuts.
//! - Rolling to a new segment: sync the old one first; write the new header into
//!   `<lsn>.wal.tmp`, sync it, rename it to `<lsn>.wal`, sync the directory. A crash leaves
//!   either no new segment or a complete empty one; stray `.tmp` files are removed on open.
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
    /// Start a background thread that leads group commits for [`Wal::submit`]. Without it,
    /// a submitted entry becomes durable only when something else syncs.
    pub sync_thread: bool,
}

impl WalOptions {
    /// Defaults for the log `log_id`: 64 MiB segments, 16 MiB entries, LSNs from 1.
    pub fn new(log_id: LogId) -> WalOptions {
        WalOptions {
            log_id,
            segment_bytes_max: 64 << 20,
            entry_bytes_max: 16 << 20,
            first_lsn: Lsn(1),
            sync_thread: true,
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
    /// The open file.
    pub file: Box<dyn StorageFile>,
    /// Where the next frame goes.
    pub write_offset: u64,
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
    /// Bumped by each truncate or reset, so readers notice.
    truncations: u64,
    /// Wakers of `Durable` futures, with the LSN each waits for.
    waiters: Vec<(Lsn, Waker)>,
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
            truncations: 0,
            waiters: Vec::new(),
            stats: WalStats::default(),
        }
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
    /// Signalled when the durable LSN moves, a leader finishes, or the log fails.
    changed: Condvar,
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
}

impl Durable {
    /// The LSN the entry was given.
    pub fn lsn(&self) -> Lsn {
        self.lsn
    }

    /// Blocks until the entry is durable (leading a group commit if nobody else is).
    pub fn wait(self) -> Result<Lsn> {
        let st = self.shared.lock();
        wait_durable(&self.shared, st, self.lsn)?;
        Ok(self.lsn)
    }
}

impl std::future::Future for Durable {
    type Output = Result<Lsn>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let mut st = self.shared.lock();
        if st.durable_lsn >= self.lsn {
            return std::task::Poll::Ready(Ok(self.lsn));
        }
        if let Err(e) = st.check_usable() {
            return std::task::Poll::Ready(Err(e));
        }
        st.waiters.push((self.lsn, cx.waker().clone()));
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
        let recovered = crate::recovery::recover(storage.as_ref(), &options)?;
        let report = recovered.report.clone();
        let state = State::recovered(recovered);
        let shared = Arc::new(Shared {
            storage,
            options,
            state: Mutex::new(state),
            changed: Condvar::new(),
            work: Condvar::new(),
        });
        let sync_thread = if shared.options.sync_thread {
            let s = shared.clone();
            let handle = std::thread::Builder::new()
                .name("wal-sync".into())
                .spawn(move || sync_thread_main(&s))
                .map_err(|e| Error::io(shared.storage.path_of(""), e))?;
            Some(handle)
        } else {
            None
        };
        Ok((Wal { shared, sync_thread }, report))
    }

    /// Appends one entry and returns its LSN once it is durable.
    pub fn append(&self, kind: Kind, payload: &[u8]) -> Result<Lsn> {
        let mut st = self.shared.lock();
        let lsn = st.next_lsn;
        enqueue(&self.shared, &mut st, lsn, kind, payload)?;
        wait_durable(&self.shared, st, lsn)?;
        Ok(lsn)
    }

    /// Appends one entry without waiting; the returned [`Durable`] resolves once it is
    /// durable. The sync thread (if started) leads the group commit.
    pub fn submit(&self, kind: Kind, payload: &[u8]) -> Result<Durable> {
        let mut st = self.shared.lock();
        let lsn = st.next_lsn;
        enqueue(&self.shared, &mut st, lsn, kind, payload)?;
        if !st.syncing {
            self.shared.work.notify_one();
        }
        Ok(Durable { shared: self.shared.clone(), lsn })
    }

    /// Appends entries whose LSNs were decided elsewhere (a replication follower's log).
    /// Each must continue the log. Nothing is synced: call [`Wal::sync`].
    pub fn write_at(&self, entries: &[(Lsn, Kind, &[u8])]) -> Result<()> {
        let mut st = self.shared.lock();
        for (lsn, kind, payload) in entries {
            if *lsn != st.next_lsn {
                return Err(Error::OutOfSequence { expected: st.next_lsn, found: *lsn });
            }
            enqueue(&self.shared, &mut st, *lsn, *kind, payload)?;
        }
        Ok(())
    }

    /// Makes every entry appended so far durable; returns the durable LSN.
    pub fn sync(&self) -> Result<Lsn> {
        let st = self.shared.lock();
        let last = st.next_lsn.prev();
        wait_durable(&self.shared, st, last)?;
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
        self.sync()?;
        let (st, active) = take_exclusive(&self.shared)?;
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
        let (mut st, active) = take_exclusive(&self.shared)?;
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
        self.sync()?;
        let (st, active) = take_exclusive(&self.shared)?;
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
                wait_durable(&self.shared, st, last).map(|_| ())
            } else {
                Ok(())
            }
        };
        let was_closed = {
            let mut st = self.shared.lock();
            let was_closed = st.closed;
            st.closed = true;
            wake_all(&self.shared, &mut st);
            self.shared.work.notify_all();
            was_closed
        };
        if let Some(t) = self.sync_thread.take() {
            // The thread only exits or loops; a panic in it would be a bug already reported.
            let _ = t.join();
        }
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

/// Encodes one entry into the pending buffer, rolling to a new segment when it is full.
fn enqueue(shared: &Shared, st: &mut State, lsn: Lsn, kind: Kind, payload: &[u8]) -> Result<()> {
    st.check_usable()?;
    let max = shared.options.entry_bytes_max.min(format::PAYLOAD_BYTES_MAX as usize);
    if payload.len() > max {
        return Err(Error::TooLarge { size: payload.len(), max });
    }
    assert_eq!(lsn, st.next_lsn);
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

/// Waits until `lsn` is durable, leading group commits whenever nobody else is.
fn wait_durable<'a>(shared: &'a Shared, mut st: MutexGuard<'a, State>, lsn: Lsn) -> Result<()> {
    loop {
        if st.durable_lsn >= lsn {
            return Ok(());
        }
        if let Some(why) = &st.failed {
            return Err(Error::Poisoned(why.clone()));
        }
        if !st.syncing && st.active.is_some() {
            st = lead_round(shared, st);
            continue;
        }
        if st.closed && !st.syncing {
            return Err(Error::Closed);
        }
        st = shared.changed.wait(st).unwrap_or_else(|p| p.into_inner());
    }
}

/// One group commit: write everything pending, sync, publish. Called with the lock held
/// and `syncing` false; returns with the lock held again.
fn lead_round<'a>(shared: &'a Shared, mut st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
    let Some(mut active) = st.active.take() else { return st };
    st.syncing = true;
    let chunks = std::mem::take(&mut st.pending);
    let target = st.next_lsn.prev();
    drop(st);

    let mut rolled = Vec::new();
    let result = write_chunks(shared, &mut active, chunks, &mut rolled);

    let mut st = shared.lock();
    st.syncing = false;
    match result {
        Ok(written) => {
            for meta in rolled {
                if let Some(last) = st.segments.last_mut() {
                    last.durable_end = meta.1;
                }
                st.segments.push(SegmentMeta { first_lsn: meta.0, durable_end: HEADER_BYTES as u64 });
            }
            if let Some(last) = st.segments.last_mut() {
                last.durable_end = active.write_offset;
            }
            st.active = Some(active);
            st.durable_lsn = target;
            st.stats.bytes_written += written.bytes;
            st.stats.syncs += written.syncs;
            wake_all(shared, &mut st);
            if !st.pending.is_empty() {
                shared.work.notify_one();
            }
            st
        }
        Err(e) => {
            let _ = poison(shared, st, e);
            shared.lock()
        }
    }
}

/// What one round wrote.
struct Written {
    bytes: u64,
    syncs: u64,
}

/// Writes chunks to the active segment, rolling as asked, and syncs. Records each new
/// segment as (first LSN, final length of the segment it sealed) in `rolled`.
fn write_chunks(
    shared: &Shared,
    active: &mut ActiveSegment,
    chunks: Vec<Chunk>,
    rolled: &mut Vec<(Lsn, u64)>,
) -> Result<Written> {
    let storage = shared.storage.as_ref();
    let mut written = Written { bytes: 0, syncs: 0 };
    let mut dirty = false;
    let mut name_of_active = None;
    for chunk in chunks {
        match chunk {
            Chunk::Frames(bytes) => {
                active
                    .file
                    .write_all_at(&bytes, active.write_offset)
                    .map_err(|e| io_err(storage, &name_of_active, e))?;
                active.write_offset += bytes.len() as u64;
                written.bytes += bytes.len() as u64;
                dirty = true;
            }
            Chunk::Roll(first_lsn) => {
                active.file.sync_data().map_err(|e| io_err(storage, &name_of_active, e))?;
                written.syncs += 1;
                let sealed_len = active.write_offset;
                *active = create_segment(storage, shared.options.log_id, first_lsn, 0)?;
                rolled.push((first_lsn, sealed_len));
                name_of_active = Some(format::segment_file_name(first_lsn));
                dirty = false;
            }
        }
    }
    if dirty {
        active.file.sync_data().map_err(|e| io_err(storage, &name_of_active, e))?;
        written.syncs += 1;
    }
    Ok(written)
}

fn io_err(storage: &dyn Storage, name: &Option<String>, e: std::io::Error) -> Error {
    Error::io(storage.path_of(name.as_deref().unwrap_or("active segment")), e)
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
    Ok(ActiveSegment { file, write_offset: HEADER_BYTES as u64 })
}

/// Marks the log failed, wakes everyone, and returns the error for the caller.
fn poison(shared: &Shared, mut st: MutexGuard<'_, State>, e: Error) -> Error {
    let why = e.to_string();
    st.failed = Some(why);
    st.syncing = false;
    wake_all(shared, &mut st);
    e
}

/// Wakes blocked waiters and every future whose LSN is durable (all of them if failed).
fn wake_all(shared: &Shared, st: &mut State) {
    let durable = st.durable_lsn;
    let everyone = st.failed.is_some() || st.closed;
    let waiters = std::mem::take(&mut st.waiters);
    for (lsn, waker) in waiters {
        if everyone || lsn <= durable {
            waker.wake();
        } else {
            st.waiters.push((lsn, waker));
        }
    }
    shared.changed.notify_all();
}

/// Waits until no leader is working, then claims exclusive use of the segments.
fn take_exclusive(shared: &Shared) -> Result<(MutexGuard<'_, State>, Option<ActiveSegment>)> {
    let mut st = shared.lock();
    loop {
        st.check_usable()?;
        if !st.syncing {
            break;
        }
        st = shared.changed.wait(st).unwrap_or_else(|p| p.into_inner());
    }
    st.syncing = true;
    let active = st.active.take();
    Ok((st, active))
}

fn release_exclusive(shared: &Shared, mut st: MutexGuard<'_, State>, active: Option<ActiveSegment>) {
    st.active = active;
    st.syncing = false;
    wake_all(shared, &mut st);
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
    Ok((kept, ActiveSegment { file, write_offset: cut_offset }))
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
        if !st.pending.is_empty() && !st.syncing && st.active.is_some() {
            st = lead_round(shared, st);
            continue;
        }
        st = shared.work.wait(st).unwrap_or_else(|p| p.into_inner());
    }
}
