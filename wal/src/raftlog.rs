//! The seams a Raft log store needs (openraft 0.9's `RaftLogStorage` with `storage-v2`),
//! without knowing openraft: entries with terms at LSNs the caller decides, durability
//! callbacks, reads that include not-yet-durable entries, and the meta file (vote, last
//! purged position, committed position).
//!
//! # How the openraft calls map here
//! - `append(entries, callback)`: [`Wal::write_entries_notify`]; the callback fires after the
//!   group fsync that covers the last entry.
//! - `try_get_log_entries(range)`: [`Wal::read_range`].
//! - `truncate(log_id)` (delete from `log_id` on): [`Wal::truncate_after`] with the LSN
//!   before it.
//! - `purge(log_id)` (delete up to `log_id`): [`Wal::purge_to`].
//! - `save_vote` / `read_vote`: [`Wal::save_vote`] / [`Wal::meta`].
//! - `save_committed` / `read_committed`: [`Wal::save_committed`] (or the lazy
//!   [`Wal::set_committed`]) / [`Wal::meta`].
//! - `get_log_state`: [`Wal::status`] and [`Wal::meta`] (`last_purged`), plus the term of the
//!   last entry from [`Wal::read_range`].

use crate::error::{Error, Result};
use crate::log::{poison, DurableCallback, NewEntry, Waiting};
use crate::meta::{self, LogPosition, Meta, Vote};
use crate::{Durable, Entry, Lsn, Wal};

impl Wal {
    /// Writes entries at the LSNs they carry (each must continue the log; all are checked
    /// first, none is written on an error). They are readable when this returns; the
    /// [`Durable`] resolves once the last one is durable (the sync thread leads the group
    /// commit). With no entries it stands for the last entry already appended.
    pub fn write_entries(&self, entries: &[NewEntry<'_>]) -> Result<Durable> {
        let st = self.enqueue_all(entries)?;
        let lsn = st.next_lsn_for_handles();
        let epoch = st.truncations_now();
        if !st.is_syncing() {
            self.wake_sync_thread();
        }
        drop(st);
        Ok(Durable { shared: self.shared.clone(), lsn, epoch })
    }

    /// [`Wal::write_entries`] with a callback instead of a future: `notify` is called once,
    /// with `Ok(last LSN)` after the group fsync that covers the last entry, or with an
    /// error if that cannot happen (truncated first, log failed or closed). No thread waits
    /// for it: the thread that finishes the fsync calls it. Needs the sync thread
    /// (`WalOptions::sync_thread`, the default), or something else that syncs.
    pub fn write_entries_notify(&self, entries: &[NewEntry<'_>], notify: DurableCallback) -> Result<()> {
        let mut st = self.enqueue_all(entries)?;
        let lsn = st.next_lsn_for_handles();
        if st.durable_now() >= lsn {
            drop(st);
            notify(Ok(lsn));
            return Ok(());
        }
        st.notifies.push_back((lsn, Waiting(notify)));
        if !st.is_syncing() {
            self.wake_sync_thread();
        }
        Ok(())
    }

    /// The entries with `from <= LSN < until` that the log holds, durable or not (entries
    /// appended but not yet durable come from the in-memory tail). The range is clipped to
    /// the last entry; fails with [`Error::Compacted`] if `from` was purged, and with
    /// [`Error::Truncated`] if a truncate or reset ran while reading. The caller bounds the
    /// range (a Raft store reads a batch of entries at a time).
    pub fn read_range(&self, from: Lsn, until: Lsn) -> Result<Vec<Entry>> {
        let (durable, truncations, mut tail) = {
            let st = self.shared.lock();
            st.check_usable()?;
            if from < st.first_lsn {
                return Err(Error::Compacted(from));
            }
            let durable = st.durable_now();
            (durable, st.truncations_now(), st.tail.copy_range(from.max(durable.next()), until))
        };
        let mut out = Vec::new();
        if from <= durable && from < until {
            for entry in self.reader(from) {
                let entry = entry?;
                if entry.lsn >= until || entry.lsn > durable {
                    break;
                }
                out.push(entry);
            }
        }
        if self.shared.lock().truncations_now() != truncations {
            return Err(Error::Truncated);
        }
        out.append(&mut tail);
        Ok(out)
    }

    /// The meta file's contents as last written (plus nothing pending).
    pub fn meta(&self) -> Meta {
        *self.shared.meta.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Saves the vote durably (after everything appended so far is durable).
    pub fn save_vote(&self, vote: Vote) -> Result<()> {
        self.update_meta(|m| m.vote = Some(vote))
    }

    /// Saves the committed position durably: every entry appended so far is made durable
    /// first, so the file never names a committed entry that is not on disk.
    pub fn save_committed(&self, committed: LogPosition) -> Result<()> {
        self.check_committed(committed)?;
        self.update_meta(|m| m.committed = Some(committed))
    }

    /// Records the committed position in memory only; it is written with the next meta
    /// file (a vote, a purge, [`Wal::save_committed`], or close). openraft allows a
    /// committed position that lags on disk; it never allows one ahead of the entries.
    pub fn set_committed(&self, committed: LogPosition) -> Result<()> {
        self.check_committed(committed)?;
        self.shared.lock().committed_pending = Some(committed);
        Ok(())
    }

    /// Purges the log up to and including `upto` (a Raft purge after a snapshot): the meta
    /// file records it first, then whole segments before it are deleted. If `upto` is at or
    /// past the last entry, the log is reset so the next entry is `upto.lsn + 1`. A crash
    /// between the two steps is finished on the next open.
    pub fn purge_to(&self, upto: LogPosition) -> Result<()> {
        self.update_meta(|m| {
            if m.last_purged.is_none_or(|p| p.lsn < upto.lsn) {
                m.last_purged = Some(upto);
            }
        })?;
        self.finish_interrupted_purge()
    }

    /// Makes the log agree with the meta file's last purged position.
    pub(crate) fn finish_interrupted_purge(&self) -> Result<()> {
        let Some(purged) = self.meta().last_purged else { return Ok(()) };
        let status = self.status();
        if purged.lsn > status.last_lsn {
            self.reset(purged.lsn.next())
        } else if purged.lsn >= status.first_lsn {
            self.purge_before(purged.lsn.next()).map(|_| ())
        } else {
            Ok(())
        }
    }

    /// Writes the meta file if a lazily set committed position is not in it yet.
    pub(crate) fn write_pending_meta(&self) -> Result<()> {
        let pending = self.shared.lock().committed_pending;
        if pending.is_none() || pending == self.meta().committed {
            return Ok(());
        }
        self.update_meta(|_| {})
    }

    fn check_committed(&self, committed: LogPosition) -> Result<()> {
        let st = self.shared.lock();
        let last = st.next_lsn_for_handles();
        if committed.lsn > last {
            return Err(Error::OutOfRange { lsn: committed.lsn, first: st.first_lsn, last });
        }
        Ok(())
    }

    /// Applies `change` to the meta file and writes it: one writer at a time; everything
    /// appended before the call is synced first (ordering), and a pending committed position
    /// goes with it. A failed write poisons the log (a failed fsync cannot be retried).
    fn update_meta(&self, change: impl FnOnce(&mut Meta)) -> Result<()> {
        let mut saved = self.shared.meta.lock().unwrap_or_else(|p| p.into_inner());
        self.sync()?;
        let mut next = *saved;
        if let Some(c) = self.shared.lock().committed_pending.take() {
            if next.committed.is_none_or(|old| old.lsn <= c.lsn) {
                next.committed = Some(c);
            }
        }
        change(&mut next);
        let storage = self.shared.storage.as_ref();
        if let Err(e) = meta::write_meta(storage, self.shared.options().log_id, &next) {
            return Err(poison(&self.shared, self.shared.lock(), e));
        }
        *saved = next;
        Ok(())
    }
}
