//! Replication: every write of a database goes through its own Raft log (openraft 0.9),
//! and a standalone server is a group of one voter on the same path.
//!
//! # What lives where
//! - [`log_store`]: openraft's `RaftLogStorage` over the database's WAL (the `wal` crate).
//!   The WAL *is* the Raft log: no second copy of the entries.
//! - [`state_machine`]: openraft's `RaftStateMachine` over the engine: committed entries
//!   are applied by [`basalt_engine::Database::apply_committed_batch`] and friends, and a
//!   snapshot is an engine image ([`basalt_engine::snapshot_file`]).
//! - [`network`]: the RPC client openraft sends votes and entries through. Until the cluster
//!   transport carries it, a node has no peers to reach and every RPC says so.
//! - [`group`]: one running Raft group per database: starting it (and writing the first
//!   membership), routing the engine's commits into it, opening and closing the engine's
//!   forming as leadership comes and goes, and shutting it down.
//!
//! Neither the WAL nor the engine knows openraft; this module translates.
//!
//! # Log ids and LSNs
//! A Raft log index `i` is the entry at WAL LSN `i + 1` ([`basalt_wal::Lsn::from_raft_index`]):
//! openraft's first entry has index 0 and the WAL's first LSN is 1. The term of a log id is
//! the WAL frame's term. With openraft's `single-term-leader` feature (standard Raft) a
//! committed log id is `(term, index)` and nothing else, so the frame holds all of it.
//!
//! # Entries in the WAL
//! | openraft payload | WAL kind | WAL payload |
//! |---|---|---|
//! | `Normal(Proposal)` | [`basalt_engine::entry::ENTRY_KIND`] or [`basalt_engine::entry::BATCH_KIND`] | the engine's transaction entry, or a batch of them (see [`batch`] for why writes are batched) |
//! | `Blank` | [`basalt_engine::entry::BLANK_KIND`] | a [`basalt_engine::MarkerEntry`] without membership |
//! | `Membership(m)` | [`basalt_engine::entry::MEMBERSHIP_KIND`] | a [`basalt_engine::MarkerEntry`] whose bytes are the JSON of the `StoredMembership` (log id and membership) |
//!
//! The engine keeps the last membership bytes it applied and writes them into its
//! checkpoint, so the state machine's `applied_state` answers from the engine alone.
//!
//! # Votes
//! The meta file stores a vote as (term, node, committed); a vote for nobody yet is stored
//! with node [`NO_NODE`], which is therefore never a node id.

// openraft's traits fix the error type (`StorageError`, about 200 bytes); the helpers here
// return it as the traits do.
#![allow(clippy::result_large_err)]

pub mod batch;
pub mod group;
pub mod log_store;
pub mod network;
pub mod state_machine;

use std::fmt;
use std::sync::Arc;

use basalt_engine::{Database, Error as EngineError, ProposalId, TxEntry};
use openraft::raft::responder::Responder;
use openraft::raft::ClientWriteResult;
use openraft::{BasicNode, LogId};
use serde::{Deserialize, Serialize};

pub use group::{Group, GroupOptions};

/// The node id meaning "nobody" in a stored vote.
pub const NO_NODE: u64 = u64::MAX;

openraft::declare_raft_types!(
    /// Basalt's Raft types: a proposal is an engine entry, the reply says whether it applied.
    pub TypeConfig:
        D = Proposal,
        R = Reply,
        NodeId = u64,
        Node = BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = tokio::fs::File,
        Responder = RefusalResponder,
        AsyncRuntime = openraft::TokioRuntime,
);

/// A Raft handle of Basalt's types.
pub type Raft = openraft::Raft<TypeConfig>;

/// What a client proposes: one engine transaction entry, or a batch of them, exactly as
/// the WAL stores it (kind and payload), so the log store neither decodes nor re-encodes.
#[derive(Clone, Serialize, Deserialize)]
pub struct Proposal {
    /// The WAL kind: [`basalt_engine::entry::ENTRY_KIND`] or [`basalt_engine::entry::BATCH_KIND`].
    pub kind: u8,
    /// The payload ([`TxEntry::encode`], or [`basalt_engine::entry::encode_batch`] of several).
    pub payload: Vec<u8>,
    /// Who hears that the entries were turned away before they were logged (local only:
    /// never sent to peers, and taken out by the responder as soon as openraft receives it).
    #[serde(skip)]
    pub refusals: Option<Arc<Database>>,
    /// The proposer's ticket for this batch: released once the batch is durable in the log
    /// or refused, so the next batch goes out (local only; see [`batch`]).
    #[serde(skip)]
    pub ticket: Option<Arc<batch::BatchTicket>>,
}

impl Proposal {
    /// A proposal of entries read back from the WAL (no refusal target, no ticket).
    pub fn logged(kind: basalt_wal::Kind, payload: Vec<u8>) -> Proposal {
        Proposal { kind: kind.0, payload, refusals: None, ticket: None }
    }

    /// The encoded transaction entries it carries (none if the payload does not decode:
    /// then the engine skips it as a bad entry, the same way on every node).
    pub fn transactions(&self) -> Vec<&[u8]> {
        basalt_engine::entry::transactions_of(basalt_wal::Kind(self.kind), &self.payload).unwrap_or_default()
    }

    /// The proposal ids of the transactions it carries.
    pub fn proposal_ids(&self) -> Vec<ProposalId> {
        self.transactions().into_iter().filter_map(TxEntry::proposal_of).collect()
    }
}

impl fmt::Debug for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proposal({} transactions, {} bytes)", self.transactions().len(), self.payload.len())
    }
}

impl fmt::Display for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// What applying one entry did: `None` applied, `Some(why)` skipped as a bad entry (the same
/// on every node).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Reply(pub Option<String>);

/// The responder of a client write. Success needs no answer here (the engine resolves each
/// committer when it applies the entry, by proposal id); a refusal (this node does not
/// lead, the entry was cut) is passed to the engine for every transaction of the batch,
/// which ignores it where the outcome is already known, and releases the batch's ticket.
pub struct RefusalResponder {
    /// The engine to tell.
    db: Option<Arc<Database>>,
    /// The proposals of the batch.
    proposals: Vec<ProposalId>,
    /// The batch's ticket.
    ticket: Option<Arc<batch::BatchTicket>>,
}

impl Responder<TypeConfig> for RefusalResponder {
    type Receiver = ();

    fn from_app_data(mut app_data: Proposal) -> (Proposal, Self, ()) {
        let db = app_data.refusals.take();
        let proposals = if db.is_some() { app_data.proposal_ids() } else { Vec::new() };
        let ticket = app_data.ticket.clone();
        (app_data, RefusalResponder { db, proposals, ticket }, ())
    }

    fn send(self, result: ClientWriteResult<TypeConfig>) {
        let Err(e) = result else { return };
        if let Some(db) = self.db {
            // ForwardToLeader: never logged here, or cut from the log (then `truncated_after`
            // resolved it first and this is ignored). Either way not applied by this write.
            let why = format!("the replicated log refused the write: {e}");
            for id in self.proposals {
                db.proposal_refused(id, EngineError::NotLeader(why.clone()));
            }
        }
        if let Some(t) = self.ticket {
            t.release();
        }
    }
}

/// An openraft error source from anything displayable.
pub(crate) fn any_error(e: impl std::fmt::Display) -> openraft::AnyError {
    openraft::AnyError::error(e.to_string())
}

/// The membership bytes the engine keeps (the JSON of a `StoredMembership`; empty: none).
pub(crate) fn parse_membership(bytes: &[u8]) -> Result<openraft::StoredMembership<u64, BasicNode>, String> {
    if bytes.is_empty() {
        return Ok(openraft::StoredMembership::default());
    }
    serde_json::from_slice(bytes).map_err(|e| format!("stored membership: {e}"))
}

/// The log id of the entry at `lsn` written in `term` (`None` for LSN 0: no entry).
pub fn log_id_at(term: u64, lsn: basalt_wal::Lsn) -> Option<LogId<u64>> {
    lsn.raft_index().map(|index| LogId::new(openraft::CommittedLeaderId::new(term, 0), index))
}

/// The WAL LSN of a log id.
pub fn lsn_of(id: &LogId<u64>) -> basalt_wal::Lsn {
    basalt_wal::Lsn::from_raft_index(id.index)
}
