//! What transactions formed but not yet applied will change, so new transactions can be
//! formed against "the applied state plus the entries already proposed" (DESIGN.md, the
//! write path) while earlier ones wait for their fsync.
//!
//! The guard is conservative: a transaction that would read something a pending entry
//! changes (a record's version or edges, a unique key it frees, the schema) is told to wait
//! until that entry is applied and to form again. Things that commute are not waited for:
//! new positions continue after the pending ones, edges may be added to a vertex another
//! pending entry also links, and a unique key a pending entry takes is a duplicate at once.
//!
//! Entries are known by their [`ProposalId`], not by log position: a formed entry gets its
//! index only when the log takes it, and under Raft that index may later hold another
//! entry. Proposal ids grow with forming order on a node, so the largest is the newest.

use std::collections::{BTreeMap, HashMap};

use crate::entry::ProposalId;
use crate::record::RecordKind;
use crate::value::{Rid, RidMap};

/// A unique-index key: (lower-case index name, encoded normalised key).
pub type UniqueKey = (String, Vec<u8>);

/// What one formed entry will change.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    /// Records whose fields or links change (existing records only).
    pub touched: Vec<Rid>,
    /// Records the entry creates, with their kind.
    pub created: Vec<(Rid, RecordKind)>,
    /// Records the entry deletes.
    pub deleted: Vec<Rid>,
    /// For each cluster with new records: its next position after the entry.
    pub positions: Vec<(i32, u64)>,
    /// Unique keys the entry takes, with the record taking them.
    pub unique_added: Vec<(UniqueKey, Rid)>,
    /// Unique keys the entry frees.
    pub unique_removed: Vec<UniqueKey>,
    /// True if the entry changes the schema.
    pub schema: bool,
}

/// The effects of every formed, not yet applied entry.
#[derive(Debug, Default)]
pub struct Pending {
    /// Effects per entry, to undo when it is applied.
    entries: BTreeMap<ProposalId, Effects>,
    /// Records changed by a pending entry, with the last such entry.
    touched: RidMap<ProposalId>,
    /// Records created by a pending entry.
    created: RidMap<(ProposalId, RecordKind)>,
    /// Records deleted by a pending entry.
    deleted: RidMap<ProposalId>,
    /// Next position per cluster after the pending entries.
    positions: HashMap<i32, (ProposalId, u64)>,
    /// Unique keys taken by pending entries.
    unique_added: HashMap<UniqueKey, (ProposalId, Rid)>,
    /// Unique keys freed by pending entries.
    unique_removed: HashMap<UniqueKey, ProposalId>,
    /// A pending schema change: nothing forms until it is applied.
    barrier: Option<ProposalId>,
}

impl Pending {
    /// True when no entry is pending.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The newest pending entry.
    pub fn last(&self) -> Option<ProposalId> {
        self.entries.keys().next_back().copied()
    }

    /// The pending schema change, if any.
    pub fn barrier(&self) -> Option<ProposalId> {
        self.barrier
    }

    /// The pending entry that changes, creates or deletes `rid`, if any.
    pub fn involving(&self, rid: Rid) -> Option<ProposalId> {
        [self.touched.get(&rid).copied(), self.created.get(&rid).map(|c| c.0), self.deleted.get(&rid).copied()]
            .into_iter()
            .flatten()
            .max()
    }

    /// The pending entry deleting `rid`, if any.
    pub fn deleting(&self, rid: Rid) -> Option<ProposalId> {
        self.deleted.get(&rid).copied()
    }

    /// The kind of a record a pending entry creates.
    pub fn created_kind(&self, rid: Rid) -> Option<RecordKind> {
        self.created.get(&rid).map(|c| c.1)
    }

    /// The next position of a cluster after the pending entries, if they add to it.
    pub fn next_position(&self, cluster: i32) -> Option<u64> {
        self.positions.get(&cluster).map(|p| p.1)
    }

    /// The record a pending entry gives a unique key to.
    pub fn unique_taken(&self, key: &UniqueKey) -> Option<Rid> {
        self.unique_added.get(key).map(|x| x.1)
    }

    /// The pending entry freeing a unique key.
    pub fn unique_freed(&self, key: &UniqueKey) -> Option<ProposalId> {
        self.unique_removed.get(key).copied()
    }

    /// Records a formed entry.
    pub fn register(&mut self, id: ProposalId, effects: Effects) {
        for r in &effects.touched {
            self.touched.insert(*r, id);
        }
        for (r, k) in &effects.created {
            self.created.insert(*r, (id, *k));
        }
        for r in &effects.deleted {
            self.deleted.insert(*r, id);
        }
        for (c, p) in &effects.positions {
            self.positions.insert(*c, (id, *p));
        }
        for (k, r) in &effects.unique_added {
            self.unique_added.insert(k.clone(), (id, *r));
        }
        for k in &effects.unique_removed {
            self.unique_removed.insert(k.clone(), id);
        }
        if effects.schema {
            self.barrier = Some(id);
        }
        self.entries.insert(id, effects);
    }

    /// True if `proposal` is pending.
    pub fn contains(&self, proposal: ProposalId) -> bool {
        self.entries.contains_key(&proposal)
    }

    /// Forgets every entry (they were abandoned).
    pub fn clear(&mut self) {
        *self = Pending::default();
    }

    /// Forgets an entry once it is applied, failed to apply or was abandoned: the applied
    /// state now says what it said. Later entries' marks on the same things stay.
    pub fn forget(&mut self, id: ProposalId) {
        let Some(e) = self.entries.remove(&id) else { return };
        let mine = |l: &ProposalId| *l == id;
        for r in &e.touched {
            if self.touched.get(r).is_some_and(mine) {
                self.touched.remove(r);
            }
        }
        for (r, _) in &e.created {
            if self.created.get(r).is_some_and(|c| c.0 == id) {
                self.created.remove(r);
            }
        }
        for r in &e.deleted {
            if self.deleted.get(r).is_some_and(mine) {
                self.deleted.remove(r);
            }
        }
        for (c, _) in &e.positions {
            if self.positions.get(c).is_some_and(|p| p.0 == id) {
                self.positions.remove(c);
            }
        }
        for (k, _) in &e.unique_added {
            if self.unique_added.get(k).is_some_and(|x| x.0 == id) {
                self.unique_added.remove(k);
            }
        }
        for k in &e.unique_removed {
            if self.unique_removed.get(k).is_some_and(mine) {
                self.unique_removed.remove(k);
            }
        }
        if self.barrier == Some(id) {
            self.barrier = None;
        }
    }
}
