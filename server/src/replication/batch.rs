//! The proposer: how the engine's transactions enter the Raft log, many to one entry.
//!
//! # Why batch
//! openraft 0.9 appends each client write as its own entry and waits for that append to be
//! flushed before it takes the next write (`RaftCore::append_to_log` awaits the flush
//! inside its command loop). One write per fsync would cap a database at about one commit
//! per fsync, however many clients write at once (measured: 3.9k commits/s in process
//! with 64 writers, against 35k/s for the engine on its own WAL).
//!
//! So the proposer keeps at most one batch in flight: while it is on its way to the disk,
//! every transaction formed meanwhile waits in a queue, and the moment the batch is durable
//! (or refused) the whole queue goes out as the next one. Each transaction keeps its own
//! proposal id, term and outcome inside the batch (`basalt_engine::entry::encode_batch`);
//! a batch of one is logged as a plain transaction entry.
//!
//! # Bounds
//! A batch holds at most [`MAX_BATCH_TRANSACTIONS`] transactions and never more bytes than
//! the WAL takes in one entry; a transaction larger than that is refused when proposed
//! (logging it would fail inside openraft, which stops the group). The queue holds at most
//! [`MAX_QUEUED_BYTES`]; past that a proposal is refused as not committed. In practice the
//! queue is bounded sooner by the committers themselves: each waits for its outcome, and
//! the server bounds how many requests run at once.
//!
//! # Locks
//! [`ProposeLog::propose`] runs under the engine's forming lock and takes the queue lock
//! inside it. Releasing a ticket (from the WAL's sync thread, from openraft's core, or from
//! a drop) takes the queue lock alone, and tells the engine about refused proposals only
//! after letting it go, so the two never wait for each other.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};

use basalt_engine::entry::{encode_batch, BATCH_KIND, ENTRY_KIND};
use basalt_engine::{Database, Error as EngineError, ProposalId, ProposeLog, TxEntry};
use basalt_wal::Lsn;

use super::{Proposal, Raft};

/// Most transactions in one batch (one apply pass of the engine).
pub const MAX_BATCH_TRANSACTIONS: usize = 4096;
/// Most bytes of transactions waiting for the next batch.
pub const MAX_QUEUED_BYTES: usize = 256 << 20;

/// The engine's log: openraft, fed in batches (see the module docs).
pub struct RaftProposer {
    /// The queue and what sends it.
    batcher: Arc<Batcher>,
}

impl std::fmt::Debug for RaftProposer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RaftProposer")
    }
}

/// The queue of transactions waiting for the next batch, and the Raft node it goes to.
struct Batcher {
    /// Itself, for the tickets it hands out.
    this: Weak<Batcher>,
    /// The Raft node.
    raft: Raft,
    /// The engine (weak: the engine holds the proposer).
    db: Weak<Database>,
    /// Most payload bytes of one log entry.
    entry_bytes_max: usize,
    /// The queue.
    queue: Mutex<Queue>,
}

/// What waits for the next batch.
#[derive(Default)]
struct Queue {
    /// Encoded transaction entries, in forming order.
    entries: Vec<Vec<u8>>,
    /// Their bytes.
    bytes: usize,
    /// Whether a batch is on its way (sent, neither durable nor refused yet). Never false
    /// while entries wait.
    in_flight: bool,
}

/// One batch's claim on the proposer: released once the batch is durable in the log or
/// refused (or dropped unlogged), which sends the next batch. Releasing twice does nothing.
pub struct BatchTicket {
    /// The proposer.
    batcher: Weak<Batcher>,
    /// Whether it was released.
    released: AtomicBool,
}

impl BatchTicket {
    /// The batch is durable or refused: send the next one.
    pub fn release(&self) {
        if !self.released.swap(true, Ordering::AcqRel) {
            if let Some(b) = self.batcher.upgrade() {
                b.send_next();
            }
        }
    }

    /// Marks it released without sending anything (the send that carried it failed).
    fn disarm(&self) {
        self.released.store(true, Ordering::Release);
    }
}

impl Drop for BatchTicket {
    fn drop(&mut self) {
        self.release();
    }
}

impl std::fmt::Debug for BatchTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BatchTicket(released: {})", self.released.load(Ordering::Relaxed))
    }
}

impl RaftProposer {
    /// The proposer of `db`'s transactions into `raft`.
    pub fn new(raft: Raft, db: &Arc<Database>) -> RaftProposer {
        let entry_bytes_max = db.wal().entry_bytes_max();
        let batcher = Arc::new_cyclic(|this| Batcher {
            this: this.clone(),
            raft,
            db: Arc::downgrade(db),
            entry_bytes_max,
            queue: Mutex::default(),
        });
        RaftProposer { batcher }
    }
}

impl ProposeLog for RaftProposer {
    fn propose(&self, entry: &[u8]) -> basalt_engine::Result<Option<Lsn>> {
        let b = &self.batcher;
        if entry.len() > b.entry_bytes_max {
            return Err(EngineError::Invalid(format!(
                "transaction too large: its entry is {} bytes, the log takes at most {}",
                entry.len(),
                b.entry_bytes_max
            )));
        }
        let mut q = b.lock();
        if q.in_flight {
            if q.bytes + entry.len() > MAX_QUEUED_BYTES {
                return Err(EngineError::NotCommitted(format!(
                    "the replicated log is behind: {} bytes of writes already wait for it",
                    q.bytes
                )));
            }
            q.bytes += entry.len();
            q.entries.push(entry.to_vec());
            return Ok(None);
        }
        // Nothing in flight, so nothing queued: this entry is the batch.
        q.in_flight = true;
        let (sent, ticket) = b.send(vec![entry.to_vec()]);
        if sent.is_err() {
            q.in_flight = false;
        }
        drop(q);
        // Dropped with the queue unlocked: if openraft already let go of its copies, this
        // last one releases the ticket, which takes the queue lock.
        drop(ticket);
        sent.map(|()| None)
    }
}

impl Batcher {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands `members` to openraft as one entry. Returns whether it took them, and a handle
    /// on the batch's ticket that the caller drops once it holds no lock.
    fn send(&self, members: Vec<Vec<u8>>) -> (basalt_engine::Result<()>, Arc<BatchTicket>) {
        let ticket = Arc::new(BatchTicket { batcher: self.this.clone(), released: AtomicBool::new(false) });
        let (kind, payload) = match <[Vec<u8>; 1]>::try_from(members) {
            Ok([one]) => (ENTRY_KIND, one),
            Err(members) => (BATCH_KIND, encode_batch(members.iter().map(Vec::as_slice))),
        };
        let proposal = Proposal { kind: kind.0, payload, refusals: self.db.upgrade(), ticket: Some(ticket.clone()) };
        // openraft's API channel is unbounded: the send completes on the first poll.
        let mut send = pin!(self.raft.client_write_ff(proposal));
        let sent = match send.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(Ok(_)) => Ok(()),
            Poll::Ready(Err(fatal)) => Err(EngineError::NotCommitted(format!("the replicated log stopped: {fatal}"))),
            // Only the stopped-core path awaits anything.
            Poll::Pending => Err(EngineError::NotCommitted("the replicated log is stopping".into())),
        };
        if sent.is_err() {
            ticket.disarm();
        }
        (sent, ticket)
    }

    /// The batch in flight is done: sends everything queued as the next batch (up to the
    /// bounds; the rest waits for that one), or notes that nothing is in flight.
    fn send_next(&self) {
        let mut q = self.lock();
        if q.entries.is_empty() {
            q.in_flight = false;
            return;
        }
        let n = self.batch_len(&q.entries);
        let members: Vec<Vec<u8>> = q.entries.drain(..n).collect();
        q.bytes -= members.iter().map(Vec::len).sum::<usize>();
        let ids: Vec<ProposalId> = members.iter().filter_map(|m| TxEntry::proposal_of(m)).collect();
        let (sent, ticket) = self.send(members);
        let refused = match sent {
            Ok(()) => None,
            Err(e) => {
                // The log is gone: nothing queued will get in. Everything queued was
                // accepted by `propose` already, so the engine hears of each refusal.
                q.in_flight = false;
                q.bytes = 0;
                let rest = std::mem::take(&mut q.entries);
                Some((ids.into_iter().chain(rest.iter().filter_map(|m| TxEntry::proposal_of(m))).collect(), e))
            }
        };
        drop(q);
        drop(ticket);
        if let Some((ids, e)) = refused {
            self.refuse(ids, &e);
        }
    }

    /// How many of the queued entries the next batch takes: at least one, then as many as
    /// fit in one log entry and the count bound.
    fn batch_len(&self, queued: &[Vec<u8>]) -> usize {
        // The batch header: a format byte and the count (a uvarint, at most 10 bytes).
        let mut bytes = 11;
        let mut n = 0;
        for e in queued.iter().take(MAX_BATCH_TRANSACTIONS) {
            // Each member: a uvarint length (at most 10 bytes) and the bytes.
            let size = e.len() + 10;
            if n > 0 && bytes + size > self.entry_bytes_max {
                break;
            }
            bytes += size;
            n += 1;
        }
        n.max(1)
    }

    /// Tells the engine that these proposals were turned away.
    fn refuse(&self, ids: Vec<ProposalId>, why: &EngineError) {
        let Some(db) = self.db.upgrade() else { return };
        for id in ids {
            db.proposal_refused(id, EngineError::NotCommitted(why.to_string()));
        }
    }
}
