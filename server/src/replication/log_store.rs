//! openraft's log storage over the database's WAL.
//!
//! Appends go to [`basalt_wal::Wal::write_entries_notify`]: they are readable at once (the
//! WAL's in-memory tail) and openraft hears they are durable from the WAL's sync thread,
//! after the group fsync that covers them, so many appends share one fsync. The vote and
//! the committed position live in the WAL's meta file, written atomically; the committed
//! position is saved lazily (openraft allows it to lag on disk, never to lead).
//!
//! The engine hears what it must: the index each of its proposals got
//! ([`Database::note_logged`]) and every truncation ([`Database::truncated_after`]), so a
//! committer whose entry is cut is told "not committed", never "ok".

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use basalt_engine::entry::{transactions_of, BATCH_KIND, BLANK_KIND, ENTRY_KIND, MEMBERSHIP_KIND};
use basalt_engine::{Database, MarkerEntry};
use basalt_wal::{Kind, Lsn, NewEntry, Term};
use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{
    AnyError, Entry, EntryPayload, LogId, LogState, RaftLogReader, StorageError, StorageIOError, StoredMembership, Vote,
};

use super::{any_error, log_id_at, lsn_of, parse_membership, Proposal, TypeConfig, NO_NODE};

/// The Raft log of one database: its WAL, reached through the engine that owns it.
#[derive(Clone)]
pub struct WalLogStore {
    /// The database whose WAL this is.
    db: Arc<Database>,
}

impl Debug for WalLogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalLogStore").field("dir", &self.db.dir()).finish_non_exhaustive()
    }
}

impl WalLogStore {
    /// The log store of `db`'s WAL.
    pub fn new(db: Arc<Database>) -> WalLogStore {
        WalLogStore { db }
    }

    /// Entries with Raft index in `[from, until)` (clipped to what the log holds).
    fn read(&self, from: u64, until: u64) -> Result<Vec<Entry<TypeConfig>>, StorageError<u64>> {
        let wal = self.db.wal();
        let purged = wal.meta().last_purged.map_or(Lsn::ZERO, |p| p.lsn);
        let first = Lsn::from_raft_index(from).max(wal.status().first_lsn).max(purged.next());
        let until = Lsn::from_raft_index(until);
        if first >= until {
            return Ok(Vec::new());
        }
        let entries = wal.read_range(first, until).map_err(|e| StorageIOError::read_logs(any_error(e)))?;
        entries.into_iter().map(|e| from_wal(e).map_err(|e| StorageIOError::read_logs(any_error(e)).into())).collect()
    }

    /// The log id of the last entry, if the log holds any.
    fn last_entry_id(&self) -> Result<Option<LogId<u64>>, StorageError<u64>> {
        let st = self.db.wal().status();
        if st.last_lsn < st.first_lsn || st.last_lsn == Lsn::ZERO {
            return Ok(None);
        }
        let last = self.db.wal().read_range(st.last_lsn, st.last_lsn.next());
        let last = last.map_err(|e| StorageIOError::read_logs(any_error(e)))?;
        Ok(last.first().and_then(|e| log_id_at(e.term.0, e.lsn)))
    }

    /// A WAL failure: the database goes offline with it (the WAL refuses everything after
    /// one anyway), and openraft gets it as a storage error.
    fn failed(&self, e: basalt_wal::Error, kind: fn(AnyError) -> StorageIOError<u64>) -> StorageError<u64> {
        kind(any_error(self.db.log_failed(e))).into()
    }

    /// The last purged log id. A log purged before it was a Raft log (a standalone
    /// database's WAL, cut by its own checkpoints) has no purge in its meta file; then the
    /// entry before the first one is taken as purged, with the applied term when the
    /// engine applied it (terms only grow, and such logs are all term 0).
    fn last_purged(&self) -> Option<LogId<u64>> {
        let wal = self.db.wal();
        if let Some(p) = wal.meta().last_purged {
            return log_id_at(p.term.0, p.lsn);
        }
        let before_first = wal.status().first_lsn.prev();
        let applied = self.db.applied_position();
        let term = if applied.index >= before_first { applied.term } else { 0 };
        log_id_at(term, before_first)
    }
}

/// The WAL kind and payload of an entry.
pub fn to_wal(entry: &Entry<TypeConfig>) -> Result<(Kind, Vec<u8>), String> {
    let term = entry.log_id.leader_id.term;
    Ok(match &entry.payload {
        EntryPayload::Normal(p) => (Kind(p.kind), p.payload.clone()),
        EntryPayload::Blank => MarkerEntry { term, membership: None }.encode(),
        EntryPayload::Membership(m) => {
            let stored = StoredMembership::new(Some(entry.log_id), m.clone());
            let json = serde_json::to_vec(&stored).map_err(|e| format!("membership does not encode: {e}"))?;
            MarkerEntry { term, membership: Some(json) }.encode()
        }
    })
}

/// The openraft entry of a WAL entry.
pub fn from_wal(e: basalt_wal::Entry) -> Result<Entry<TypeConfig>, String> {
    let Some(log_id) = log_id_at(e.term.0, e.lsn) else { return Err("an entry at LSN 0".into()) };
    let payload = match e.kind {
        ENTRY_KIND | BATCH_KIND => EntryPayload::Normal(Proposal::logged(e.kind, e.payload)),
        BLANK_KIND => EntryPayload::Blank,
        MEMBERSHIP_KIND => {
            let marker = MarkerEntry::decode(e.kind, &e.payload).map_err(|d| format!("entry {}: {d}", e.lsn))?;
            let bytes = marker.membership.unwrap_or_default();
            let stored = parse_membership(&bytes).map_err(|d| format!("entry {}: {d}", e.lsn))?;
            EntryPayload::Membership(stored.membership().clone())
        }
        other => return Err(format!("entry {}: unknown WAL kind {}", e.lsn, other.0)),
    };
    Ok(Entry { log_id, payload })
}

/// Why entries could not be written.
#[derive(Debug)]
pub enum WriteFailed {
    /// An entry does not encode (its membership).
    Encode(String),
    /// The WAL refused or failed.
    Wal(basalt_wal::Error),
}

impl std::fmt::Display for WriteFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteFailed::Encode(e) => f.write_str(e),
            WriteFailed::Wal(e) => write!(f, "{e}"),
        }
    }
}

/// Writes entries into `db`'s WAL at their LSNs; `notify` hears when they are durable. An
/// empty log takes its first entry wherever that entry says the log starts.
pub fn write_entries(
    db: &Database,
    entries: &[Entry<TypeConfig>],
    notify: basalt_wal::DurableCallback,
) -> Result<(), WriteFailed> {
    let forms: Vec<(Lsn, Term, Kind, Vec<u8>)> = entries
        .iter()
        .map(|e| to_wal(e).map(|(kind, bytes)| (lsn_of(&e.log_id), Term(e.log_id.leader_id.term), kind, bytes)))
        .collect::<Result<_, _>>()
        .map_err(WriteFailed::Encode)?;
    let wal = db.wal();
    if let Some((lsn, ..)) = forms.first() {
        let st = wal.status();
        if st.last_lsn < st.first_lsn && *lsn != st.first_lsn {
            wal.reset(*lsn).map_err(WriteFailed::Wal)?;
        }
    }
    let new: Vec<NewEntry<'_>> = forms
        .iter()
        .map(|(lsn, term, kind, bytes)| NewEntry { lsn: *lsn, term: *term, kind: *kind, payload: bytes })
        .collect();
    wal.write_entries_notify(&new, notify).map_err(WriteFailed::Wal)?;
    for (lsn, _, kind, bytes) in &forms {
        for tx in transactions_of(*kind, bytes).unwrap_or_default() {
            db.note_logged(*lsn, tx);
        }
    }
    Ok(())
}

fn range_of(range: impl RangeBounds<u64>) -> (u64, u64) {
    let from = match range.start_bound() {
        Bound::Included(i) => *i,
        Bound::Excluded(i) => i.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let until = match range.end_bound() {
        Bound::Included(i) => i.saturating_add(1),
        Bound::Excluded(i) => *i,
        Bound::Unbounded => u64::MAX - 1,
    };
    (from, until)
}

impl RaftLogReader<TypeConfig> for WalLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<u64>> {
        let (from, until) = range_of(range);
        self.read(from, until)
    }
}

impl RaftLogStorage<TypeConfig> for WalLogStore {
    type LogReader = WalLogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<u64>> {
        let last_purged_log_id = self.last_purged();
        let last_log_id = self.last_entry_id()?.or(last_purged_log_id);
        Ok(LogState { last_purged_log_id, last_log_id })
    }

    async fn get_log_reader(&mut self) -> WalLogStore {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<(), StorageError<u64>> {
        let v = basalt_wal::Vote {
            term: Term(vote.leader_id.term),
            node: vote.leader_id.voted_for.unwrap_or(NO_NODE),
            committed: vote.committed,
        };
        self.db.wal().save_vote(v).map_err(|e| self.failed(e, StorageIOError::write_vote))
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, StorageError<u64>> {
        Ok(self.db.wal().meta().vote.map(|v| {
            let node = (v.node != NO_NODE).then_some(v.node);
            let mut vote = Vote::new(v.term.0, 0);
            vote.leader_id.voted_for = node;
            vote.committed = v.committed;
            vote
        }))
    }

    async fn save_committed(&mut self, committed: Option<LogId<u64>>) -> Result<(), StorageError<u64>> {
        let Some(c) = committed else { return Ok(()) };
        let position = basalt_wal::LogPosition { term: Term(c.leader_id.term), node: 0, lsn: lsn_of(&c) };
        self.db.wal().set_committed(position).map_err(|e| self.failed(e, StorageIOError::write))
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<u64>>, StorageError<u64>> {
        Ok(self.db.wal().meta().committed.and_then(|c| log_id_at(c.term.0, c.lsn)))
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError<u64>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let entries: Vec<Entry<TypeConfig>> = entries.into_iter().collect();
        // The proposer's batches in this append: released once it is durable (or failed),
        // so the next batch, gathered meanwhile, goes out (dropping them releases too).
        let tickets: Vec<_> = entries
            .iter()
            .filter_map(|e| match &e.payload {
                EntryPayload::Normal(p) => p.ticket.clone(),
                _ => None,
            })
            .collect();
        let db = self.db.clone();
        let notify: basalt_wal::DurableCallback = Box::new(move |r: basalt_wal::Result<Lsn>| {
            let r = r.map(|_| ()).map_err(|e| match e {
                // Cut by a truncation before it was durable: openraft asked for that.
                basalt_wal::Error::EntryTruncated { .. } => io::Error::other(e.to_string()),
                e => io::Error::other(db.log_failed(e).to_string()),
            });
            tickets.iter().for_each(|t| t.release());
            callback.log_io_completed(r);
        });
        write_entries(&self.db, &entries, notify).map_err(|e| match e {
            WriteFailed::Wal(e @ (basalt_wal::Error::OutOfSequence { .. } | basalt_wal::Error::TooLarge { .. })) => {
                StorageIOError::write_logs(any_error(e)).into()
            }
            WriteFailed::Wal(e) => self.failed(e, StorageIOError::write_logs),
            WriteFailed::Encode(e) => StorageIOError::write_logs(any_error(e)).into(),
        })
    }

    async fn truncate(&mut self, log_id: LogId<u64>) -> Result<(), StorageError<u64>> {
        let last_kept = lsn_of(&log_id).prev();
        self.db.wal().truncate_after(last_kept).map_err(|e| self.failed(e, StorageIOError::write_logs))?;
        self.db.truncated_after(last_kept);
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId<u64>) -> Result<(), StorageError<u64>> {
        let upto = basalt_wal::LogPosition { term: Term(log_id.leader_id.term), node: 0, lsn: lsn_of(&log_id) };
        self.db.wal().purge_to(upto).map_err(|e| self.failed(e, StorageIOError::write_logs))
    }
}
