//! The WAL archive: every sealed segment is copied to an archive directory before the log may
//! purge it, so a snapshot plus the archive can bring a database back to any later point
//! (point-in-time restore, `basalt-snapshot restore --until`).
//!
//! # What it promises
//! - **Nothing is purged unarchived.** With an archive configured, [`crate::Wal::purge_before`]
//!   (and so a Raft purge, and an engine checkpoint's purge) deletes only segments whose copy
//!   is in the archive; the others stay, and the purge is finished by the archiver once they
//!   are copied. A reset (after a snapshot is installed) first archives what it can.
//! - **Only final entries are archived.** A segment is copied once it is sealed and all its
//!   entries are final: committed, when the log carries a committed position or a vote (a
//!   Raft log, whose uncommitted tail may still be cut), else durable (a log that is its
//!   owner's alone). So an archived segment is never truncated afterwards.
//! - **A copy is whole or absent.** It is written to `<first-lsn>.wal.tmp` in the archive
//!   directory, `fdatasync`ed, read back and checked frame by frame (every CRC, every LSN), then
//!   renamed to `<first-lsn>.wal` and the directory synced. A crash leaves a stray `.tmp`,
//!   overwritten by the next attempt.
//! - **Failures are loud and retried.** A failed copy is reported through the event hook
//!   ([`ArchiveEvent::Failed`]) and retried with a growing delay; the segment is kept meanwhile.
//!
//! The copying runs on its own thread (`wal-archive`), never on the commit path. The archive
//! directory is a plain directory of segment files in the log's own format: `wal-inspect`
//! reads it, and `basalt-snapshot restore --until` replays from it.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::format::{self, HEADER_BYTES};
use crate::segment;
use crate::storage::{DiskStorage, Storage, StorageFile};
use crate::{LogId, Lsn};

/// Bytes copied per read/write while archiving a segment.
const COPY_CHUNK_BYTES: usize = 1 << 20;
/// How often the archiver looks for work without being woken: a roll wakes it, but the
/// sealed segment's entries may become final (durable, committed) only a little later.
const POLL_MS: u64 = 1_000;

/// What the archiver tells its owner (who logs it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArchiveEvent {
    /// A segment was copied and checked.
    Archived {
        /// The archived file.
        path: PathBuf,
        /// Its first LSN.
        first_lsn: Lsn,
        /// Its last LSN.
        last_lsn: Lsn,
        /// Its size.
        bytes: u64,
    },
    /// A copy failed; the segment is kept and the copy retried after `retry_in_ms`.
    Failed {
        /// The segment that could not be archived.
        first_lsn: Lsn,
        /// Why.
        error: String,
        /// When the next attempt is.
        retry_in_ms: u64,
    },
}

/// Receives [`ArchiveEvent`]s, on the archiver's thread; keep it short.
pub type ArchiveHook = Arc<dyn Fn(&ArchiveEvent) + Send + Sync>;

/// Where and how sealed segments are archived ([`crate::WalOptions::archive`]).
#[derive(Clone)]
pub struct ArchiveOptions {
    /// The directory copies go to (created when needed).
    pub dir: PathBuf,
    /// Told of every copy and every failure.
    pub hook: Option<ArchiveHook>,
    /// The delay before the first retry after a failure; it doubles up to `retry_max_ms`.
    pub retry_initial_ms: u64,
    /// The longest delay between retries.
    pub retry_max_ms: u64,
}

impl ArchiveOptions {
    /// Archives to `dir`, retrying after 1 s, then up to every 60 s.
    pub fn new(dir: impl Into<PathBuf>) -> ArchiveOptions {
        ArchiveOptions { dir: dir.into(), hook: None, retry_initial_ms: 1_000, retry_max_ms: 60_000 }
    }
}

impl fmt::Debug for ArchiveOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArchiveOptions")
            .field("dir", &self.dir)
            .field("hook", &self.hook.is_some())
            .field("retry_initial_ms", &self.retry_initial_ms)
            .field("retry_max_ms", &self.retry_max_ms)
            .finish()
    }
}

/// A sealed segment of the log, as the archiver sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sealed {
    /// Its first LSN (its name).
    pub first_lsn: Lsn,
    /// Its last LSN (the next segment's first, minus one).
    pub last_lsn: Lsn,
    /// Its length.
    pub bytes: u64,
}

/// The archiver's mutable state.
#[derive(Debug, Default)]
struct ArchiveState {
    /// First LSNs of the log's segments whose copy is known to be in the archive.
    archived: BTreeSet<Lsn>,
    /// The highest LSN a purge asked for: a purge held back by unarchived segments is
    /// finished after they are copied.
    purge_wanted: Lsn,
    /// A purge was held back since the thread last retried it.
    purge_held: bool,
    /// Something may be ready to archive.
    work: bool,
    /// The log is closing: the thread ends.
    stop: bool,
}

/// The archive of one log: options, state, and the thread's wake-up.
#[derive(Debug)]
pub(crate) struct Archiver {
    /// Where and how.
    options: ArchiveOptions,
    /// The state.
    state: Mutex<ArchiveState>,
    /// Wakes the thread.
    wake: Condvar,
    /// Held while copying: one copier at a time (the thread, or a reset archiving first).
    copying: Mutex<()>,
}

impl Archiver {
    pub(crate) fn new(options: ArchiveOptions) -> Archiver {
        Archiver { options, state: Mutex::default(), wake: Condvar::new(), copying: Mutex::new(()) }
    }

    fn lock(&self) -> MutexGuard<'_, ArchiveState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tells the thread to look for work now.
    pub(crate) fn poke(&self) {
        self.lock().work = true;
        self.wake.notify_one();
    }

    /// Ends the thread.
    pub(crate) fn stop(&self) {
        self.lock().stop = true;
        self.wake.notify_all();
    }

    /// True if the segment starting at `first_lsn` may be deleted; otherwise records that a
    /// purge up to `wanted` is to be finished later.
    pub(crate) fn may_delete(&self, first_lsn: Lsn, wanted: Lsn) -> bool {
        let mut st = self.lock();
        if st.archived.contains(&first_lsn) {
            return true;
        }
        st.purge_wanted = st.purge_wanted.max(wanted);
        st.purge_held = true;
        false
    }

    /// The purge to retry, if one was held back since the last call.
    fn take_held_purge(&self) -> Option<Lsn> {
        let mut st = self.lock();
        std::mem::take(&mut st.purge_held).then_some(st.purge_wanted)
    }

    /// Forgets every segment (after a reset: the log starts afresh).
    pub(crate) fn forget_all(&self) {
        self.lock().archived.clear();
    }

    /// Forgets segments the log no longer has.
    pub(crate) fn forget_before(&self, first_lsn: Lsn) {
        let mut st = self.lock();
        st.archived = st.archived.split_off(&first_lsn);
    }

    /// Waits until there is work, the retry delay passed, or the log closes. Returns false
    /// on close.
    fn wait(&self, delay_ms: u64) -> bool {
        let mut st = self.lock();
        if !st.work && !st.stop {
            st = self.wake.wait_timeout(st, Duration::from_millis(delay_ms)).unwrap_or_else(|p| p.into_inner()).0;
        }
        st.work = false;
        !st.stop
    }

    fn event(&self, e: ArchiveEvent) {
        if let Some(hook) = &self.options.hook {
            hook(&e);
        }
    }

    /// Copies every segment in `sealed` whose entries are all at or before `final_lsn` and
    /// whose copy is not in the archive yet. Returns how many were copied; on the first
    /// failure, reports it and returns the error (the rest wait for the retry).
    pub(crate) fn archive(
        &self,
        source: &dyn Storage,
        log_id: LogId,
        sealed: &[Sealed],
        final_lsn: Lsn,
        retry_in_ms: u64,
    ) -> Result<usize> {
        let _one = self.copying.lock().unwrap_or_else(|p| p.into_inner());
        let mut copied = 0;
        for s in sealed.iter().filter(|s| s.last_lsn <= final_lsn) {
            if self.lock().archived.contains(&s.first_lsn) {
                continue;
            }
            if s.last_lsn < s.first_lsn {
                // An empty sealed segment holds nothing to keep.
                self.lock().archived.insert(s.first_lsn);
                continue;
            }
            match copy_segment(source, &self.options.dir, log_id, *s) {
                Ok(fresh) => {
                    self.lock().archived.insert(s.first_lsn);
                    if fresh {
                        copied += 1;
                        self.event(ArchiveEvent::Archived {
                            path: self.options.dir.join(format::segment_file_name(s.first_lsn)),
                            first_lsn: s.first_lsn,
                            last_lsn: s.last_lsn,
                            bytes: s.bytes,
                        });
                    }
                }
                Err(e) => {
                    self.event(ArchiveEvent::Failed { first_lsn: s.first_lsn, error: e.to_string(), retry_in_ms });
                    return Err(e);
                }
            }
        }
        Ok(copied)
    }

    /// The delays between attempts: initial, doubling, capped.
    fn next_delay(&self, failed: bool, previous: u64) -> u64 {
        let o = &self.options;
        match (failed, previous) {
            (false, _) => POLL_MS,
            (true, p) if p == POLL_MS || p == 0 => o.retry_initial_ms.max(1),
            (true, p) => p.saturating_mul(2).min(o.retry_max_ms.max(o.retry_initial_ms).max(1)),
        }
    }
}

/// What the archiver thread needs from the log, so this module does not reach into its
/// state: the sealed segments and the final LSN, a purge, and the source directory.
pub(crate) trait ArchiveSource: Send + Sync {
    /// The log's segment directory.
    fn storage(&self) -> &dyn Storage;
    /// The log's id.
    fn log_id(&self) -> LogId;
    /// The sealed segments and the last final LSN, or `None` once the log is closed or failed.
    fn sealed_and_final(&self) -> Option<(Vec<Sealed>, Lsn)>;
    /// Deletes segments before `lsn` that are archived.
    fn purge_before(&self, lsn: Lsn) -> Result<Lsn>;
}

/// The `wal-archive` thread: archive what is ready, finish held-back purges, retry failures.
pub(crate) fn thread_main(archiver: &Archiver, source: &dyn ArchiveSource) {
    let mut delay = 0;
    let mut failing = false;
    loop {
        if !archiver.wait(delay) {
            return;
        }
        let Some((sealed, final_lsn)) = source.sealed_and_final() else { return };
        let retry = archiver.next_delay(true, if failing { delay } else { 0 });
        match archiver.archive(source.storage(), source.log_id(), &sealed, final_lsn, retry) {
            Ok(_) => {
                failing = false;
                delay = archiver.next_delay(false, delay);
                if let Some(lsn) = archiver.take_held_purge() {
                    // Still held back (entries not final yet): marked held again, retried
                    // on the next round. A failure poisons the log like any purge.
                    let _ = source.purge_before(lsn);
                }
            }
            Err(_) => {
                failing = true;
                delay = retry;
            }
        }
    }
}

/// Copies one sealed segment into `dir` (aside, synced, checked, renamed). Returns false if
/// an equal copy (same log, same length) was already there.
fn copy_segment(source: &dyn Storage, dir: &std::path::Path, log_id: LogId, s: Sealed) -> Result<bool> {
    let name = format::segment_file_name(s.first_lsn);
    let archive = DiskStorage::create_dir(dir).map_err(|e| Error::io(dir, e))?;
    if already_archived(&archive, &name, log_id, s.bytes).map_err(|e| Error::io(dir.join(&name), e))? {
        return Ok(false);
    }
    let tmp = format::temp_file_name(s.first_lsn);
    let tmp_path = dir.join(&tmp);
    let _ = archive.remove(&tmp);
    let from = source.open_read(&name).map_err(|e| Error::io(source.path_of(&name), e))?;
    let to = archive.create(&tmp).map_err(|e| Error::io(&tmp_path, e))?;
    let mut buf = vec![0u8; COPY_CHUNK_BYTES];
    let mut at = 0u64;
    while at < s.bytes {
        let n = (s.bytes - at).min(buf.len() as u64) as usize;
        from.read_exact_at(&mut buf[..n], at).map_err(|e| Error::io(source.path_of(&name), e))?;
        to.write_all_at(&buf[..n], at).map_err(|e| Error::io(&tmp_path, e))?;
        at += n as u64;
    }
    to.sync_data().map_err(|e| Error::io(&tmp_path, e))?;
    check_copy(to.as_ref(), s).map_err(|why| Error::Corrupt {
        segment: tmp_path.clone(),
        offset: why.0,
        reason: why.1,
    })?;
    drop(to);
    archive.rename(&tmp, &name).map_err(|e| Error::io(dir.join(&name), e))?;
    archive.sync_dir().map_err(|e| Error::io(dir, e))?;
    Ok(true)
}

/// True if `name` is in the archive with this log's id and the expected length.
fn already_archived(archive: &DiskStorage, name: &str, log_id: LogId, bytes: u64) -> io::Result<bool> {
    let file = match archive.open_read(name) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if file.len()? != bytes {
        return Ok(false);
    }
    Ok(matches!(segment::read_header(file.as_ref())?, Ok(h) if h.log_id == log_id))
}

/// Reads the copy back: every frame valid, exactly the LSNs the segment holds.
fn check_copy(file: &dyn StorageFile, s: Sealed) -> std::result::Result<(), (u64, String)> {
    let summary = segment::scan(file, s.first_lsn, s.bytes, |_, _, _| {}).map_err(|e| (0, e.to_string()))?;
    if let Some((offset, problem)) = summary.problem {
        return Err((offset, format!("the archived copy does not read back: {problem}")));
    }
    if summary.last_lsn != Some(s.last_lsn) || summary.valid_end < HEADER_BYTES as u64 {
        return Err((
            summary.valid_end,
            format!("the archived copy ends at LSN {:?}, the segment at {}", summary.last_lsn, s.last_lsn),
        ));
    }
    Ok(())
}
