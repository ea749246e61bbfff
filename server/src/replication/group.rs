//! One running Raft group: a database's replicated log, its leader, and the engine's
//! forming opened and closed as leadership comes and goes.
//!
//! # Starting
//! A database whose log never voted and whose membership lacks this node as a voter (a new
//! database, one written by a build before Raft, one restored from a snapshot or copied
//! from another node) gets a membership written into its log first: this node, alone, as
//! the only voter, at the log's next index. openraft then elects it (at once: the group
//! triggers the election rather than waiting out a timeout), the new leader appends its
//! blank entry, and forming opens once that entry is applied (the engine's forming
//! barrier: a new leader forms nothing against a state older than its own term).
//!
//! # Writing
//! The engine forms each transaction and hands its bytes to the group's
//! [`RaftProposer`], which batches them into log entries
//! without waiting (see [`super::batch`]). The committer's outcome comes from the engine
//! when the committed entry is applied, by proposal id; a write openraft refuses comes back
//! through [`super::RefusalResponder`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use basalt_engine::Database;
use basalt_wal::Lsn;
use openraft::storage::{RaftLogStorage, RaftStateMachine};
use openraft::{BasicNode, Config, Entry, EntryPayload, LogId, Membership, RaftLogReader, ServerState, SnapshotPolicy};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::batch::RaftProposer;
use super::log_store::{write_entries, WalLogStore};
use super::network::NoTransport;
use super::state_machine::EngineStateMachine;
use super::Raft;

/// How a group runs.
#[derive(Debug, Clone)]
pub struct GroupOptions {
    /// This node's id in the group.
    pub node_id: u64,
    /// This node's address, as the membership records it.
    pub address: String,
    /// The database name (for logs).
    pub database: String,
    /// A snapshot (an engine image, then a log purge) after this many entries.
    pub snapshot_every: u64,
    /// Entries kept in the log behind a snapshot (for peers a little behind).
    pub keep_behind_snapshot: u64,
    /// The election timeout range (milliseconds) and the heartbeat interval.
    pub election_ms: (u64, u64),
    /// Heartbeat interval, milliseconds.
    pub heartbeat_ms: u64,
}

impl GroupOptions {
    /// Defaults for a node called `node_id` at `address`, serving `database`.
    pub fn new(node_id: u64, address: impl Into<String>, database: impl Into<String>) -> GroupOptions {
        GroupOptions {
            node_id,
            address: address.into(),
            database: database.into(),
            snapshot_every: 500_000,
            keep_behind_snapshot: 10_000,
            election_ms: (300, 600),
            heartbeat_ms: 100,
        }
    }
}

/// A running group.
pub struct Group {
    /// The Raft node.
    raft: Raft,
    /// The engine.
    db: Arc<Database>,
    /// The term this node forms in and its forming barrier (a Raft index), while it leads.
    forming: watch::Receiver<Option<(u64, u64)>>,
    /// The task that follows leadership.
    watcher: JoinHandle<()>,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group").field("forming", &*self.forming.borrow()).finish_non_exhaustive()
    }
}

impl Group {
    /// Starts the group of `db` (see the module docs) and waits, up to `ready_within`, until
    /// this node leads and forms. A group that did not get there in time still runs (writes
    /// answer "not leader" until it does); the log says so.
    pub async fn start(db: Arc<Database>, options: GroupOptions, ready_within: Duration) -> Result<Group, String> {
        db.leadership_lost("the replicated log has not elected a leader yet");
        let mut log = WalLogStore::new(db.clone());
        let mut sm = EngineStateMachine::new(db.clone());
        bootstrap(&db, &mut log, &mut sm, &options).await?;
        let config = Config {
            cluster_name: options.database.clone(),
            election_timeout_min: options.election_ms.0,
            election_timeout_max: options.election_ms.1,
            heartbeat_interval: options.heartbeat_ms,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(options.snapshot_every),
            max_in_snapshot_log_to_keep: options.keep_behind_snapshot,
            ..Config::default()
        };
        let config = Arc::new(config.validate().map_err(|e| format!("raft config: {e}"))?);
        let raft = Raft::new(options.node_id, config, NoTransport, log, sm)
            .await
            .map_err(|e| format!("the replicated log of '{}' did not start: {e}", options.database))?;
        db.route_commits(Arc::new(RaftProposer::new(raft.clone(), &db)));
        let (forming_tx, forming) = watch::channel(None);
        let watcher = tokio::spawn(follow_leadership(raft.clone(), db.clone(), options.clone(), forming_tx));
        let group = Group { raft, db, forming, watcher };
        if group.voters().as_slice() == [options.node_id] {
            let _ = group.raft.trigger().elect().await;
        }
        if !group.wait_forming(ready_within).await {
            warn!(database = %options.database, waited_ms = ready_within.as_millis() as u64,
                  "the replicated log elected no leader in time; writes are refused until it does");
        }
        Ok(group)
    }

    /// The Raft node.
    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    /// The voters of the current membership.
    pub fn voters(&self) -> Vec<u64> {
        self.raft.metrics().borrow().membership_config.membership().voter_ids().collect()
    }

    /// True while this node leads and forms.
    pub fn is_forming(&self) -> bool {
        self.forming.borrow().is_some()
    }

    /// Waits up to `limit` until this node forms and has applied everything up to its
    /// forming barrier (so a read served afterwards sees every write acknowledged before a
    /// restart); true if it got there.
    pub async fn wait_forming(&self, limit: Duration) -> bool {
        let mut rx = self.forming.clone();
        let ready = async {
            let barrier = match rx.wait_for(|f| f.is_some()).await {
                Ok(f) => f.map_or(0, |(_, b)| b),
                Err(_) => return false,
            };
            self.raft.wait(None).applied_index_at_least(Some(barrier), "forming barrier applied").await.is_ok()
        };
        tokio::time::timeout(limit, ready).await.unwrap_or(false)
    }

    /// Stops the group: forming closes (waiting committers learn their outcome is unknown),
    /// then Raft stops.
    pub async fn shutdown(self) {
        self.db.leadership_lost("the server is stopping");
        self.watcher.abort();
        if let Err(e) = self.raft.shutdown().await {
            warn!(error = %e, "the replicated log did not stop cleanly");
        }
    }
}

/// Writes the first membership (this node, the only voter) when this log never voted and
/// its latest membership (in the log, else the state machine's) does not have this node as
/// a voter: a new database, one written before Raft, or one restored or copied from another
/// node's home.
async fn bootstrap(
    db: &Database,
    log: &mut WalLogStore,
    sm: &mut EngineStateMachine,
    options: &GroupOptions,
) -> Result<(), String> {
    if log.read_vote().await.map_err(|e| e.to_string())?.is_some() {
        // This log took part in an election here: its membership stands.
        return Ok(());
    }
    let (applied, membership) = sm.applied_state().await.map_err(|e| e.to_string())?;
    let state = log.get_log_state().await.map_err(|e| e.to_string())?;
    let from = applied.map_or(0, |a| a.index + 1);
    let tail = log.try_get_log_entries(from..).await.map_err(|e| e.to_string())?;
    let latest = tail
        .iter()
        .rev()
        .find_map(|e| match &e.payload {
            EntryPayload::Membership(m) => Some(m.voter_ids().collect::<Vec<u64>>()),
            _ => None,
        })
        .unwrap_or_else(|| membership.membership().voter_ids().collect());
    if latest.contains(&options.node_id) {
        return Ok(());
    }
    if !latest.is_empty() {
        // No vote was ever cast here, yet the image names other voters: a database restored
        // from a snapshot or copied from another node's home. Standalone, this node takes it
        // over as its only voter (a cluster's copy will join through the leader instead).
        warn!(database = %options.database, voters = ?latest, node = options.node_id,
              "the database's membership names other nodes and this log never voted: taking it over as the only voter");
    }
    let last = state.last_log_id.max(applied);
    let log_id = LogId::new(
        openraft::CommittedLeaderId::new(last.map_or(0, |l| l.leader_id.term), 0),
        last.map_or(0, |l| l.index + 1),
    );
    let nodes = BTreeMap::from([(options.node_id, BasicNode { addr: options.address.clone() })]);
    let membership = Membership::new(vec![BTreeSet::from([options.node_id])], nodes);
    let entry = Entry { log_id, payload: EntryPayload::Membership(membership) };
    let (tx, rx) = tokio::sync::oneshot::channel();
    write_entries(db, &[entry], Box::new(move |r| drop(tx.send(r)))).map_err(|e| e.to_string())?;
    rx.await.map_err(|_| "the WAL closed".to_string())?.map_err(|e| e.to_string())?;
    info!(database = %options.database, node = options.node_id, index = log_id.index,
          "replicated log initialised: this node is its only voter");
    Ok(())
}

/// Opens forming when this node becomes leader and closes it when it stops leading.
///
/// The barrier is the last log index when leadership is seen: by Raft's leader
/// completeness the leader's log holds every committed entry, so once everything up to that
/// index is applied the state forms against includes them all (and whatever of its own
/// term came before). openraft may resume leadership at startup in the same term, without
/// a new entry, so "the first entry of the term" is not always appended here; the last
/// index is always known, and never earlier than that entry.
async fn follow_leadership(
    raft: Raft,
    db: Arc<Database>,
    options: GroupOptions,
    forming: watch::Sender<Option<(u64, u64)>>,
) {
    let mut metrics = raft.metrics();
    loop {
        let (leads, term, last) = {
            let m = metrics.borrow_and_update();
            (
                m.state == ServerState::Leader && m.current_leader == Some(options.node_id),
                m.current_term,
                m.last_log_index,
            )
        };
        let current = *forming.borrow();
        if leads && current.map(|(t, _)| t) != Some(term) {
            let barrier = last.unwrap_or(0);
            db.set_forming_barrier(term, Lsn::from_raft_index(barrier));
            forming.send_replace(Some((term, barrier)));
            info!(database = %options.database, term, barrier, "this node leads the replicated log");
        } else if !leads && current.is_some() {
            db.leadership_lost(&format!("this node no longer leads (term {term})"));
            forming.send_replace(None);
            warn!(database = %options.database, term, "this node no longer leads the replicated log");
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}
