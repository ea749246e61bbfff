//! The write path: forming a transaction into a log entry, proposing it, applying committed
//! entries in log order, and telling each committer its outcome by proposal id.
//!
//! # Prepare, then apply committed
//! 1. *Form* (under the forming lock, reading the applied state): decide RIDs, check
//!    versions, unique keys and the schema against the applied state plus the pending
//!    entries (`pending.rs`); give the entry a fresh [`ProposalId`] and the forming term;
//!    register its effects and a one-shot outcome slot under that id; hand the bytes to the
//!    log, still under the lock, so the log takes entries in forming order. Standalone, the
//!    log is the local WAL ([`Database::submit`]); under replication it is whatever the
//!    caller's `propose` does ([`Database::prepare`]).
//! 2. *Apply committed*: entries are applied in log order, each only once it is durable in
//!    the local WAL, by one applier at a time: the local applier thread for entries this
//!    node logged itself, [`Database::apply_committed`] for the replication layer. An entry
//!    whose proposal id is waited for here resolves that waiter; any other (formed on
//!    another node, or abandoned here) just applies.
//!
//! # Outcomes
//! A committer learns `Ok`, a deterministic failure ([`Error::BadEntry`], skipped alike on
//! every node), [`Error::NotCommitted`] (the entry was cut from the log: definitely not
//! applied) or [`Error::OutcomeUnknown`] (it reached the log but its fate is not known here:
//! a WAL failure after submission, a lost leadership, a database gone offline). Never a
//! false `Ok`: outcomes are keyed by proposal id, so an entry written at the index of a
//! truncated one resolves only its own proposal.
//!
//! # Terms and stale entries
//! A new leader forms nothing until it has applied every entry up to the first entry of
//! its own term ([`Database::set_forming_barrier`]). An entry formed in term `t` but placed
//! in the log after an entry of a later term (a proposal that outlived its leadership) was
//! formed against a state that may have changed: it is skipped as stale, deterministically
//! (the rule depends on the log alone), by live apply and by redo alike.
//!
//! # Waiting
//! No thread is parked per waiting commit and nothing polls: each proposal has its own
//! one-shot (`outcome.rs`), a transaction that must wait for a pending entry waits on that
//! entry's own wake-up, and the async [`Pending`] future is what [`Database::commit`] blocks
//! on.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::JoinHandle;

use basalt_wal::{Durable, Lsn};

use crate::db::{lock, random_id, Committed, Core, Database};
use crate::entry::{LogPosition, ProposalId, TxEntry, ENTRY_KIND};
use crate::error::{Error, Result};
use crate::outcome::{self, block_on, Receiver, Sender};
use crate::pending::{Effects, Pending as PendingEffects};
use crate::tx::{form, FormError, Transaction};
use crate::value::Rid;

/// Whether, and in which term, this node forms transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Forming, in this term.
    Open(u64),
    /// A new leadership of `term`: forming waits until `index` is applied.
    Barrier {
        /// The new term.
        term: u64,
        /// The first entry of that term.
        index: Lsn,
    },
    /// Not forming (leadership lost), with why.
    Closed(String),
}

/// A committer waiting for its proposal's outcome.
#[derive(Debug)]
struct Waiter {
    /// Where the outcome goes.
    outcome: Sender<Result<Committed>>,
    /// The transaction's temporary RIDs to real ones.
    rids: BTreeMap<Rid, Rid>,
    /// The entry's index, once the log has told it.
    index: Option<Lsn>,
}

/// What the forming lock guards.
#[derive(Debug)]
pub(crate) struct Forming {
    /// The effects of formed, not yet applied entries.
    pending: PendingEffects,
    /// Whether forming is allowed.
    mode: Mode,
    /// High 64 bits of this open's proposal ids.
    origin: u64,
    /// Proposals formed so far (the low 64 bits of the next id).
    counter: u64,
    /// Committers by proposal.
    waiting: HashMap<ProposalId, Waiter>,
    /// Transactions waiting for a pending proposal to be resolved before forming again.
    watchers: HashMap<ProposalId, Vec<Sender<()>>>,
}

impl Forming {
    pub(crate) fn new(term: u64) -> Forming {
        Forming {
            pending: PendingEffects::default(),
            mode: Mode::Open(term),
            origin: (random_id() as u64) | 1,
            counter: 0,
            waiting: HashMap::new(),
            watchers: HashMap::new(),
        }
    }

    fn next_id(&mut self) -> ProposalId {
        self.counter += 1;
        ProposalId((u128::from(self.origin) << 64) | u128::from(self.counter))
    }

    /// Forgets a proposal: its effects, and wakes what waited for it. Returns its waiter.
    fn resolve(&mut self, id: ProposalId) -> Option<Waiter> {
        self.pending.forget(id);
        for w in self.watchers.remove(&id).unwrap_or_default() {
            w.send(());
        }
        self.waiting.remove(&id)
    }
}

/// The applied log position, the membership, and who waits for a position.
#[derive(Debug)]
pub(crate) struct Applied {
    /// The last entry applied.
    pub(crate) position: LogPosition,
    /// The membership last applied.
    pub(crate) membership: Vec<u8>,
    /// Waiters for an index to be applied.
    waiters: BTreeMap<Lsn, Vec<Sender<()>>>,
}

impl Applied {
    pub(crate) fn new(position: LogPosition, membership: Vec<u8>) -> Applied {
        Applied { position, membership, waiters: BTreeMap::new() }
    }

    /// A receiver resolved once `index` is applied (at once if it is).
    fn wait_for(&mut self, index: Lsn) -> Receiver<()> {
        let (tx, rx) = outcome::channel();
        if self.position.index >= index {
            tx.send(());
        } else {
            self.waiters.entry(index).or_default().push(tx);
        }
        rx
    }

    fn publish(&mut self, position: LogPosition) {
        assert!(position.index >= self.position.index, "the applied position never goes back");
        self.position = position;
        let later = self.waiters.split_off(&position.index.next());
        for (_, ws) in std::mem::replace(&mut self.waiters, later) {
            for w in ws {
                w.send(());
            }
        }
    }

    /// Wakes every waiter (they look again and find the database offline).
    pub(crate) fn wake_all(&mut self) {
        self.waiters.clear();
    }
}

/// An entry this node logged in its own WAL.
#[derive(Debug)]
struct Queued {
    /// Its LSN.
    lsn: Lsn,
    /// The entry.
    entry: TxEntry,
    /// Its durability handle (taken by the applier while it waits).
    durable: Option<Durable>,
    /// The proposal to resolve when applied (the entry's own, or a local stand-in).
    resolve: Option<ProposalId>,
}

/// Entries this node logged, in LSN order, for the local applier.
#[derive(Debug, Default)]
pub(crate) struct LocalQueue {
    /// The entries.
    entries: VecDeque<Queued>,
    /// Set when the database handle is dropped.
    stop: bool,
}

/// The local applier thread; stopped and joined when dropped.
#[derive(Debug)]
pub(crate) struct ApplierThread {
    /// The core (to signal the stop).
    core: Arc<Core>,
    /// The thread.
    handle: Option<JoinHandle<()>>,
}

impl ApplierThread {
    pub(crate) fn start(core: Arc<Core>) -> Result<ApplierThread> {
        let c = core.clone();
        let handle = std::thread::Builder::new()
            .name("basalt-applier".into())
            .spawn(move || c.local_applier())
            .map_err(|e| Error::io(&core.dir, e))?;
        Ok(ApplierThread { core, handle: Some(handle) })
    }
}

impl Drop for ApplierThread {
    fn drop(&mut self) {
        lock(&self.core.local).stop = true;
        self.core.local_work.notify_one();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// One entry for the applier.
#[derive(Debug)]
pub(crate) struct Item {
    /// Where it is in the log.
    pub(crate) position: LogPosition,
    /// The entry, or why its bytes do not decode (a bad entry, skipped everywhere).
    pub(crate) entry: std::result::Result<TxEntry, String>,
    /// The proposal to resolve.
    pub(crate) resolve: Option<ProposalId>,
}

/// Why a transaction entry is stale, if it is: formed in an older term than the one the
/// log is in where it was placed. Format 1 entries (no proposal) are never stale.
pub(crate) fn stale(entry: &TxEntry, log_term: u64) -> Option<String> {
    (entry.proposal.is_some() && entry.term < log_term)
        .then(|| format!("stale entry: formed in term {}, logged after term {log_term} began", entry.term))
}

/// What a committed transaction entry did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// It was applied.
    Applied,
    /// It was bad (the same on every node) and changed nothing.
    Skipped(String),
}

/// The caller's log: takes an entry's bytes, returns its index if known.
type Propose<'a> = Box<dyn FnMut(&[u8]) -> Result<Option<Lsn>> + Send + 'a>;

/// Where a formed entry goes.
enum Sink<'a> {
    /// The local WAL.
    Local,
    /// The caller's log (see [`Database::prepare`]).
    Propose(Propose<'a>),
}

/// Where a [`Pending`] is.
enum Stage {
    /// Forming (again).
    Form,
    /// Waiting before forming again.
    Wait(Receiver<()>),
    /// Logged: waiting for the outcome.
    Logged(ProposalId, Receiver<Result<Committed>>),
    /// Resolved.
    Done,
}

/// A transaction on its way through the log: a future of its outcome. Forming happens
/// when it is first polled; dropping it after that does not withdraw the entry.
pub struct Pending<'a> {
    /// The database.
    db: &'a Database,
    /// The transaction.
    tx: &'a Transaction,
    /// Where the entry goes.
    sink: Sink<'a>,
    /// Where it is.
    stage: Stage,
}

impl std::fmt::Debug for Pending<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("proposal", &self.proposal()).finish_non_exhaustive()
    }
}

impl Pending<'_> {
    /// The proposal id, once formed and logged.
    pub fn proposal(&self) -> Option<ProposalId> {
        match &self.stage {
            Stage::Logged(id, _) => Some(*id),
            _ => None,
        }
    }
}

/// What one forming attempt came to.
enum Formed {
    /// Resolved at once (an error, or nothing to log).
    Done(Result<Committed>),
    /// Must wait, then form again.
    Wait(Receiver<()>),
    /// Logged under this proposal.
    Logged(ProposalId, Receiver<Result<Committed>>),
}

impl Future for Pending<'_> {
    type Output = Result<Committed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Committed>> {
        let this = self.get_mut();
        loop {
            match &mut this.stage {
                Stage::Form => {
                    this.stage = match this.db.try_form(this.tx, &mut this.sink) {
                        Formed::Done(r) => {
                            this.stage = Stage::Done;
                            return Poll::Ready(r);
                        }
                        Formed::Wait(rx) => Stage::Wait(rx),
                        Formed::Logged(id, rx) => Stage::Logged(id, rx),
                    }
                }
                Stage::Wait(rx) => match rx.poll_recv(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(_) => this.stage = Stage::Form,
                },
                Stage::Logged(_, rx) => {
                    let r = match rx.poll_recv(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Some(r)) => r,
                        Poll::Ready(None) => Err(Error::OutcomeUnknown(
                            "the database closed before the entry's outcome was known".into(),
                        )),
                    };
                    this.stage = Stage::Done;
                    return Poll::Ready(r);
                }
                Stage::Done => panic!("a resolved Pending was polled again"),
            }
        }
    }
}

impl Database {
    /// Commits a transaction through the local WAL: forms it, logs it, and returns once it
    /// is durable and applied. Blocks this thread; async code awaits [`Database::submit`].
    pub fn commit(&self, tx: &Transaction) -> Result<Committed> {
        block_on(self.submit(tx))
    }

    /// The transaction's way through the log, as a future of its outcome: the local WAL,
    /// or the replicated log once one is routed ([`Database::route_commits`]).
    pub fn submit<'a>(&'a self, tx: &'a Transaction) -> Pending<'a> {
        let sink = match self.router() {
            Some(log) => Sink::Propose(Box::new(move |entry: &[u8]| log.propose(entry))),
            None => Sink::Local,
        };
        Pending { db: self, tx, sink, stage: Stage::Form }
    }

    /// Prepares a transaction for a log this engine does not own (the replicated log):
    /// forms it and calls `propose` with the entry's bytes, under the forming lock (so the
    /// log receives entries in forming order; `propose` must only enqueue, never wait for
    /// apply). `propose` returns the entry's index if it already knows it (else tell it
    /// later with [`Database::note_logged`]), or an error if the log refused the entry
    /// (then nothing was logged, and that error is the outcome). The outcome arrives when
    /// the replication layer hands the committed entry to [`Database::apply_committed`].
    pub fn prepare<'a>(
        &'a self,
        tx: &'a Transaction,
        propose: impl FnMut(&[u8]) -> Result<Option<Lsn>> + Send + 'a,
    ) -> Pending<'a> {
        Pending { db: self, tx, sink: Sink::Propose(Box::new(propose)), stage: Stage::Form }
    }

    /// The log turned the entry of proposal `id` away without logging it (this node does not lead, the log
    /// stopped): its committer gets `error` and its effects are forgotten. An entry whose
    /// outcome is already known (applied, or cut by [`Database::truncated_after`]) is left
    /// alone, so a late refusal never overrides the truth.
    pub fn proposal_refused(&self, id: ProposalId, error: Error) {
        let mut f = lock(&self.forming);
        if let Some(w) = f.resolve(id) {
            w.outcome.send(Err(error));
        }
    }

    /// Records the index the log gave a proposed entry (for [`Database::truncated_after`]).
    pub fn note_logged(&self, index: Lsn, entry: &[u8]) {
        let Some(id) = TxEntry::proposal_of(entry) else { return };
        if let Some(w) = lock(&self.forming).waiting.get_mut(&id) {
            w.index = Some(index);
        }
    }

    /// A new leadership of `term` whose first entry is at `first_index`: from now on
    /// entries are formed in `term`, but only once every entry up to `first_index` is
    /// applied (until then forming waits).
    pub fn set_forming_barrier(&self, term: u64, first_index: Lsn) {
        lock(&self.forming).mode = Mode::Barrier { term, index: first_index };
    }

    /// This node no longer leads: nothing forms until [`Database::set_forming_barrier`],
    /// and every pending proposal is abandoned with [`Error::OutcomeUnknown`] (a new leader
    /// may still commit it).
    pub fn leadership_lost(&self, why: &str) {
        lock(&self.forming).mode = Mode::Closed(why.to_string());
        self.abandon_all(|| Error::OutcomeUnknown(format!("leadership lost ({why}); the entry may still commit")));
    }

    /// The log was cut after `index`. Proposals known to be there are
    /// [`Error::NotCommitted`]; proposals whose index is not known are
    /// [`Error::OutcomeUnknown`]; their effects are abandoned.
    pub fn truncated_after(&self, index: Lsn) {
        assert!(index >= self.applied_lsn(), "the log is never cut below the applied index");
        let mut f = lock(&self.forming);
        let doomed: Vec<(ProposalId, Option<Lsn>)> =
            f.waiting.iter().filter(|(_, w)| w.index.is_none_or(|i| i > index)).map(|(id, w)| (*id, w.index)).collect();
        for (id, at) in doomed {
            if let Some(w) = f.resolve(id) {
                w.outcome.send(Err(match at {
                    Some(at) => Error::NotCommitted(format!("its entry at index {at} was cut from the log")),
                    None => Error::OutcomeUnknown(format!("the log was cut after index {index}")),
                }));
            }
        }
        lock(&self.local).entries.retain(|q| q.lsn <= index);
        drop(f);
        self.local_work.notify_one();
    }

    /// Applies a committed transaction entry from the replicated log at `position` (which
    /// must follow the applied position), once it is durable in the local WAL. Returns
    /// whether it applied or was skipped as bad; an IO or corruption error takes the
    /// database offline and is returned.
    pub fn apply_committed(&self, position: LogPosition, entry: &[u8]) -> Result<ApplyOutcome> {
        let decoded = TxEntry::decode(entry).map_err(|e| format!("the entry does not decode: {e}"));
        let resolve = decoded.as_ref().ok().and_then(|e| e.proposal);
        let outcome = {
            let _applier = lock(&self.applier);
            self.check_next(position)?;
            self.apply_items(vec![Item { position, entry: decoded, resolve }])?
        };
        self.maybe_checkpoint();
        Ok(match outcome.into_iter().next().flatten() {
            Some(why) => ApplyOutcome::Skipped(why),
            None => ApplyOutcome::Applied,
        })
    }

    /// Applies a committed membership entry: the applied position moves to `position` and
    /// `membership` (opaque) is kept for the next checkpoint.
    pub fn apply_membership(&self, position: LogPosition, membership: &[u8]) -> Result<()> {
        self.apply_marker(position, Some(membership))
    }

    /// Applies a committed entry that changes no data (a leader's blank entry).
    pub fn apply_blank(&self, position: LogPosition) -> Result<()> {
        self.apply_marker(position, None)
    }

    fn apply_marker(&self, position: LogPosition, membership: Option<&[u8]>) -> Result<()> {
        let _applier = lock(&self.applier);
        self.check_next(position)?;
        {
            let mut st = self.write();
            st.applied_lsn = position.index;
            self.publish(&st);
        }
        let mut a = lock(&self.applied);
        if let Some(m) = membership {
            a.membership = m.to_vec();
        }
        a.publish(position);
        Ok(())
    }

    /// Applies an entry decided elsewhere, as a replication follower does: appends it to the
    /// local WAL at `lsn` (which must be the next LSN of the log), makes it durable, and
    /// applies it after every entry before it. Its term is the one it was formed in.
    ///
    /// An entry that cannot be applied fails with [`Error::BadEntry`], as on every node: it
    /// is consumed and changes nothing. An `lsn` that does not continue the log, or an entry
    /// too large for it, is [`Error::Invalid`] and changes nothing; an IO failure takes the
    /// database offline.
    pub fn apply_replicated(&self, lsn: Lsn, entry: &TxEntry) -> Result<()> {
        self.check_online()?;
        let rx = {
            let mut f = lock(&self.forming);
            let payload = entry.encode();
            match self.wal.write_at(&[(lsn, ENTRY_KIND, &payload)]) {
                Ok(()) => {}
                Err(e @ (basalt_wal::Error::OutOfSequence { .. } | basalt_wal::Error::TooLarge { .. })) => {
                    return Err(Error::Invalid(format!("replicated entry {lsn}: {e}")))
                }
                Err(e) => return Err(self.go_offline(e.into())),
            }
            // A barrier in the pending guard: local transactions form only after it applied.
            let id = f.next_id();
            f.pending.register(id, Effects { schema: true, ..Effects::default() });
            let (tx, rx) = outcome::channel();
            f.waiting.insert(id, Waiter { outcome: tx, rids: BTreeMap::new(), index: Some(lsn) });
            lock(&self.local).entries.push_back(Queued { lsn, entry: entry.clone(), durable: None, resolve: Some(id) });
            rx
        };
        if let Err(e) = self.wal.sync() {
            return Err(self.go_offline(e.into()));
        }
        self.local_work.notify_one();
        match block_on(rx) {
            Some(r) => r.map(|_| ()),
            None => Err(Error::OutcomeUnknown("the database closed before the entry was applied".into())),
        }
    }

    /// Waits until `lsn` is applied.
    pub fn wait_applied(&self, lsn: Lsn) -> Result<()> {
        loop {
            self.check_online()?;
            let rx = lock(&self.applied).wait_for(lsn);
            if rx.is_done() || block_on(rx).is_some() {
                return Ok(());
            }
        }
    }
}

impl Core {
    /// The applied position must be followed by `position`, and the entry there must be
    /// durable in the local WAL (syncing if needed). Called under the applier lock.
    pub(crate) fn check_next(&self, position: LogPosition) -> Result<()> {
        self.check_online()?;
        let applied = lock(&self.applied).position;
        // The next entry follows the applied one, or, when the log restarts past it (a
        // purge or reset beyond the applied index: nothing between is in the log to apply),
        // is the log's first entry.
        let follows = position.index == applied.index.next()
            || (position.index > applied.index && self.wal.status().first_lsn == position.index);
        if !follows || position.term < applied.term {
            return Err(Error::Invalid(format!("log position {position} does not follow the applied {applied}")));
        }
        if self.wal.status().durable_lsn < position.index {
            self.wal.sync().map_err(|e| self.go_offline(e.into()))?;
        }
        if self.wal.status().durable_lsn < position.index {
            return Err(Error::Invalid(format!("entry {position} is not in the local WAL")));
        }
        Ok(())
    }

    /// One attempt at forming `tx` and handing it to `sink`.
    fn try_form(&self, tx: &crate::tx::Transaction, sink: &mut Sink<'_>) -> Formed {
        if let Err(e) = self.check_online() {
            return Formed::Done(Err(e));
        }
        let mut f = lock(&self.forming);
        let term = match f.mode.clone() {
            Mode::Open(term) => term,
            Mode::Closed(why) => return Formed::Done(Err(Error::NotLeader(why))),
            Mode::Barrier { term, index } => {
                let rx = lock(&self.applied).wait_for(index);
                if !rx.is_done() {
                    return Formed::Wait(rx);
                }
                f.mode = Mode::Open(term);
                term
            }
        };
        let formed = {
            let st = self.read();
            form(&st, &f.pending, tx)
        };
        let mut formed = match formed {
            Ok(formed) => formed,
            Err(FormError::Fail(e)) => return Formed::Done(Err(e)),
            Err(FormError::Retry(id)) => {
                let (s, r) = outcome::channel();
                if f.pending.contains(id) {
                    f.watchers.entry(id).or_default().push(s);
                } else {
                    s.send(());
                }
                return Formed::Wait(r);
            }
        };
        if formed.entry.ops.is_empty() {
            drop(f);
            return Formed::Done(Ok(Committed { lsn: self.applied_lsn_now(), rids: formed.rids }));
        }
        let id = f.next_id();
        formed.entry.proposal = Some(id);
        formed.entry.term = term;
        let bytes = formed.entry.encode();
        f.pending.register(id, formed.effects);
        let (s, r) = outcome::channel();
        f.waiting.insert(id, Waiter { outcome: s, rids: formed.rids, index: None });
        // A local WAL that fails before taking the entry takes the database offline.
        let mut wal_failed = false;
        let logged = match sink {
            Sink::Local => match self.wal.submit(ENTRY_KIND, &bytes) {
                Ok(durable) => {
                    let lsn = durable.lsn();
                    let queued = Queued { lsn, entry: formed.entry, durable: Some(durable), resolve: Some(id) };
                    let mut q = lock(&self.local);
                    let wake = q.entries.is_empty();
                    q.entries.push_back(queued);
                    drop(q);
                    if wake {
                        self.local_work.notify_one();
                    }
                    Ok(Some(lsn))
                }
                Err(e @ basalt_wal::Error::TooLarge { .. }) => {
                    Err(Error::Invalid(format!("transaction too large: {e}")))
                }
                // Refused before it was submitted: definitely not logged.
                Err(e) => {
                    wal_failed = true;
                    Err(Error::Wal(e))
                }
            },
            Sink::Propose(propose) => propose(&bytes),
        };
        match logged {
            Ok(index) => {
                if let Some(w) = f.waiting.get_mut(&id) {
                    w.index = index;
                }
                Formed::Logged(id, r)
            }
            Err(e) => {
                f.resolve(id);
                drop(f);
                Formed::Done(Err(if wal_failed { self.go_offline(e) } else { e }))
            }
        }
    }

    fn applied_lsn_now(&self) -> Lsn {
        lock(&self.applied).position.index
    }

    /// Applies entries in order (the caller holds the applier lock); resolves their
    /// proposals and publishes the applied position. Returns each applied entry's failure
    /// (`None`: it applied). A local error (IO, corruption) stops the batch, takes the
    /// database offline and is returned; the entries not applied stay unapplied.
    pub(crate) fn apply_items(&self, items: Vec<Item>) -> Result<Vec<Option<String>>> {
        self.check_online()?;
        let mut failures = Vec::with_capacity(items.len());
        let mut local_error = None;
        let mut term = lock(&self.applied).position.term;
        {
            let mut st = self.write();
            for item in &items {
                let result = match &item.entry {
                    Err(why) => Err(why.clone()),
                    Ok(entry) => match stale(entry, term) {
                        Some(why) => Err(why),
                        None => match fault_hook(&self.dir) {
                            Some(e) => Err(e),
                            None => st.apply(item.position.index, entry),
                        }
                        .or_else(|e| match e {
                            Error::BadEntry { reason, .. } => Err(reason),
                            e if e.is_deterministic() => Err(e.to_string()),
                            e => {
                                local_error = Some(e);
                                Ok(())
                            }
                        }),
                    },
                };
                if local_error.is_some() {
                    break;
                }
                failures.push(result.err());
                st.applied_lsn = item.position.index;
                term = term.max(item.position.term);
            }
            // Readers see the batch from here on (State::apply undoes a failed entry's
            // changes, so the view never holds half an entry).
            self.publish(&st);
        }
        let done = &items[..failures.len()];
        // Published before the outcomes go out: a committer that returns sees its entry in
        // the applied position too.
        if let Some(last) = done.last() {
            lock(&self.applied).publish(LogPosition { term, index: last.position.index });
        }
        {
            let mut f = lock(&self.forming);
            for (item, failure) in done.iter().zip(&failures) {
                let Some(w) = item.resolve.and_then(|id| f.resolve(id)) else { continue };
                let lsn = item.position.index;
                w.outcome.send(match failure {
                    None => Ok(Committed { lsn, rids: w.rids }),
                    Some(reason) => Err(Error::BadEntry { lsn, reason: reason.clone() }),
                });
            }
        }
        let skipped = failures.iter().filter(|f| f.is_some()).count() as u64;
        self.counters.commits.fetch_add(failures.len() as u64 - skipped, AtomicOrdering::Relaxed);
        self.counters.failed_entries.fetch_add(skipped, AtomicOrdering::Relaxed);
        match local_error {
            Some(e) => Err(self.go_offline(e)),
            None => Ok(failures),
        }
    }

    /// Resolves every waiting proposal with `error()` and forgets all pending effects.
    pub(crate) fn abandon_all(&self, error: impl Fn() -> Error) {
        let mut f = lock(&self.forming);
        let ids: Vec<ProposalId> = f.waiting.keys().copied().collect();
        for id in ids {
            if let Some(w) = f.resolve(id) {
                w.outcome.send(Err(error()));
            }
        }
        f.pending.clear();
        f.watchers.clear();
    }

    /// The local applier: waits for the oldest entry this node logged to be durable, then
    /// applies every durable one, in LSN order. It never leads a WAL sync (the WAL's sync
    /// thread does), so syncing the next batch overlaps applying this one.
    fn local_applier(&self) {
        loop {
            let durable = {
                let mut q = lock(&self.local);
                loop {
                    if q.stop {
                        return;
                    }
                    match q.entries.front_mut() {
                        None => {}
                        Some(front) if front.durable.is_some() => break front.durable.take(),
                        Some(front) if self.wal.status().durable_lsn >= front.lsn => break None,
                        Some(_) => {}
                    }
                    q = self.local_work.wait(q).unwrap_or_else(|p| p.into_inner());
                }
            };
            let waited = durable.map_or(Ok(Lsn::ZERO), block_on);
            let durable_lsn = self.wal.status().durable_lsn;
            let batch: Vec<Item> = {
                let mut q = lock(&self.local);
                let n = q.entries.iter().take_while(|e| e.lsn <= durable_lsn).count();
                q.entries
                    .drain(..n)
                    .map(|e| Item {
                        position: LogPosition { term: e.entry.term, index: e.lsn },
                        entry: Ok(e.entry),
                        resolve: e.resolve,
                    })
                    .collect()
            };
            if !batch.is_empty() {
                let _applier = lock(&self.applier);
                let _ = self.apply_items(batch);
            }
            if let Err(e) = waited {
                // Logged but maybe not durable: it may come back after a restart.
                lock(&self.local).entries.clear();
                self.go_offline(Error::Wal(e));
                continue;
            }
            self.maybe_checkpoint();
        }
    }
}

/// A fault injected into the next apply, for tests of the offline path.
#[cfg(test)]
pub(crate) static INJECTED_APPLY_FAULT: std::sync::Mutex<Option<(std::path::PathBuf, Error)>> =
    std::sync::Mutex::new(None);

#[cfg(test)]
fn fault_hook(dir: &std::path::Path) -> Option<Error> {
    let mut slot = INJECTED_APPLY_FAULT.lock().unwrap_or_else(|p| p.into_inner());
    if slot.as_ref().is_some_and(|(d, _)| d == dir) {
        return slot.take().map(|(_, e)| e);
    }
    None
}

#[cfg(not(test))]
fn fault_hook(_dir: &std::path::Path) -> Option<Error> {
    None
}
