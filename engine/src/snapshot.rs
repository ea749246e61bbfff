//! Consistent read views of an open database: [`Snapshot`] and the [`Scan`] iterator, and
//! the [`ReadGate`] that lets a checkpoint write pages under readers.
//!
//! # Design: immutable views, copy-on-write pages, swapped by `Arc`
//! The applier owns the one mutable [`State`] (the *working* state, behind a mutex only the
//! applier and the checkpoint take). After each applied batch it publishes a frozen copy
//! ([`State::freeze`]) as the current *view*, an `Arc<State>` that [`crate::Database::snapshot`]
//! clones under a lock held for a pointer copy. A snapshot holds its view and no lock, so:
//! - a read of any length never delays apply: the applier never waits for a reader, only
//!   (at a checkpoint) for reads that are inside one call (see below);
//! - apply never delays a reader: taking a snapshot and reading through it need nothing the
//!   applier holds while it applies, however long one entry takes;
//! - a snapshot sees one applied LSN (its view's) throughout, digest included.
//!
//! A frozen copy shares everything with the working state: overlay pages are `Arc` pages in
//! a persistent page table (`pagefile.rs`), indexes are persistent chunked sets
//! (`index.rs`), the schema and the class tables are `Arc`s. The working state copies what
//! it changes when a view shares it.
//!
//! # Costs
//! - **Per apply batch:** one freeze: O(clusters + indexes) pointer copies and a path
//!   clone per file. Then, per page first changed after a freeze, a copy of the page-table
//!   leaf (128 pointers) and the table's top level (one pointer per 128 pages); the 8 KiB
//!   page copy itself was already made for the entry's rollback image. Per index changed:
//!   the chunk list (one pointer per 256 pairs) and one chunk (≤ 256 pairs).
//! - **Per read:** an `Arc` clone and an uncontended lock for the snapshot; per call, one
//!   [`ReadGate`] ticket (two atomic increments on a counter readers share) and, per page
//!   not in the overlay, one atomic load (is anything kept for this base?).
//! - **Memory held by a long snapshot:** every page version it can see that the working
//!   state has since replaced: its overlay pages (at most the dirty pages at its LSN, which
//!   the checkpoint threshold bounds, `Options::checkpoint_dirty_pages`) plus the pages
//!   checkpoints overwrote while it lived, each copied at most once per base it reads
//!   (bounded by the size of the cluster files). Index chunks and schema versions it
//!   shares are held likewise. There is no separate cap: at the bound (every page of the
//!   files copied once) memory stops growing; a snapshot is meant to live for one query,
//!   and the query timeout bounds that.
//!
//! # Checkpoints under open snapshots
//! A view reads a page from its overlay, else from its file's *base*: the map of the file
//! as of the checkpoint the overlay starts from. A checkpoint writes pages in place under
//! that map, so before it writes, it copies the current bytes of every page it will
//! overwrite into each base some snapshot may still read (`preserve_for_readers`), and
//! those bases serve the copy from then on. Then it flips the [`ReadGate`] and waits for
//! every read call that began before the flip (a call may have chosen the map just before
//! the copy was published); calls after the flip see the copies. Only then are pages
//! written. The checkpoint never waits for a snapshot's life, only for calls in progress.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use basalt_wal::Lsn;

use crate::cluster::Cluster;
use crate::db::Digest;
use crate::error::{Error, Result};
use crate::index::Index;
use crate::record::{Direction, Record};
use crate::schema::Schema;
use crate::state::State;
use crate::value::Rid;

/// A counter on its own cache line.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Padded(AtomicUsize);

/// Read calls in progress, in two phases, so a checkpoint can wait for the calls that began
/// before a point without stopping new ones (sleepable read-copy-update, in miniature).
#[derive(Debug, Default)]
pub struct ReadGate {
    /// The current phase; new calls count themselves in `active[phase % 2]`.
    phase: AtomicUsize,
    /// Calls in progress per phase parity.
    active: [Padded; 2],
    /// Snapshots alive (a checkpoint keeps pages for them only if there are any).
    snapshots: AtomicUsize,
}

/// A read call in progress; leaves the gate when dropped.
#[derive(Debug)]
pub struct Ticket<'a> {
    /// The gate.
    gate: &'a ReadGate,
    /// The phase counted in.
    phase: usize,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.gate.active[self.phase % 2].0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl ReadGate {
    /// Enters for one read call.
    #[inline]
    pub fn enter(&self) -> Ticket<'_> {
        loop {
            let phase = self.phase.load(Ordering::SeqCst);
            self.active[phase % 2].0.fetch_add(1, Ordering::SeqCst);
            if self.phase.load(Ordering::SeqCst) == phase {
                return Ticket { gate: self, phase };
            }
            self.active[phase % 2].0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Waits until every call that entered before now has left. Calls entering after this
    /// began see everything published before it. One caller at a time (the checkpoint
    /// lock), and never from inside a call.
    pub fn synchronize(&self) {
        let old = self.phase.fetch_add(1, Ordering::SeqCst);
        let mut spins = 0u32;
        while self.active[old % 2].0.load(Ordering::SeqCst) != 0 {
            // Calls are short (one record, one listing): spin briefly, then sleep.
            spins += 1;
            if spins < 100 {
                std::hint::spin_loop();
            } else {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
    }

    /// True while any snapshot is alive.
    pub fn snapshots_alive(&self) -> bool {
        self.snapshots.load(Ordering::SeqCst) > 0
    }
}

/// A consistent read view: everything applied up to one LSN, nothing after, for as long as
/// it lives. It holds no lock: commits apply meanwhile, and a checkpoint keeps for it the
/// pages it overwrites (see the module docs for what that costs).
#[derive(Debug)]
pub struct Snapshot<'a> {
    /// The frozen state this view reads.
    st: Arc<State>,
    /// The database's read gate.
    gate: &'a ReadGate,
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        self.gate.snapshots.fetch_sub(1, Ordering::SeqCst);
    }
}

impl<'a> Snapshot<'a> {
    /// A snapshot of the view `view` returns. The snapshot counts itself alive before it
    /// takes the view: a checkpoint that saw no snapshot alive then only ever has to keep
    /// pages for views published after it took the state, which hold every page it writes.
    pub(crate) fn new(gate: &'a ReadGate, view: impl FnOnce() -> Arc<State>) -> Snapshot<'a> {
        gate.snapshots.fetch_add(1, Ordering::SeqCst);
        Snapshot { st: view(), gate }
    }

    /// The frozen state this snapshot reads, for tests.
    #[cfg(test)]
    pub(crate) fn view(&self) -> &Arc<State> {
        &self.st
    }

    /// Reads a record.
    pub fn get(&self, rid: Rid) -> Result<Option<Record>> {
        let _in = self.gate.enter();
        self.st.get(rid)
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.st.schema
    }

    /// The LSN this view reflects.
    pub fn applied_lsn(&self) -> Lsn {
        self.st.applied_lsn
    }

    /// The digest at this view's LSN.
    pub fn digest(&self) -> Digest {
        Digest { value: self.st.digest, lsn: self.st.applied_lsn }
    }

    /// Recomputes the digest from every record (slow; for checks).
    pub fn full_digest(&self) -> Result<Digest> {
        let _in = self.gate.enter();
        Ok(Digest { value: self.st.full_digest()?, lsn: self.st.applied_lsn })
    }

    /// The clusters of a class (and of its subclasses if `polymorphic`), in order.
    pub fn clusters_of(&self, class: &str, polymorphic: bool) -> Result<Vec<i32>> {
        let schema = &self.st.schema;
        let c = schema.class_or_err(class)?;
        let classes = if polymorphic { schema.with_subclasses(&c.name) } else { vec![c] };
        Ok(classes.iter().flat_map(|c| c.clusters.iter().copied()).collect())
    }

    /// Every record of a class (with its subclasses if `polymorphic`), by cluster then
    /// position.
    pub fn scan(&self, class: &str, polymorphic: bool) -> Result<Scan<'_>> {
        Ok(Scan { st: &self.st, gate: self.gate, clusters: self.clusters_of(class, polymorphic)?, at: 0, position: 0 })
    }

    /// Every record of one cluster.
    pub fn scan_cluster(&self, cluster: i32) -> Scan<'_> {
        Scan { st: &self.st, gate: self.gate, clusters: vec![cluster], at: 0, position: 0 }
    }

    /// Number of records of a class (with subclasses if `polymorphic`).
    pub fn count(&self, class: &str, polymorphic: bool) -> Result<u64> {
        let _in = self.gate.enter();
        Ok(self
            .clusters_of(class, polymorphic)?
            .iter()
            .filter_map(|id| self.st.clusters.get(id))
            .map(Cluster::live_records)
            .sum())
    }

    /// Records in a cluster.
    pub fn cluster_count(&self, cluster: i32) -> u64 {
        let _in = self.gate.enter();
        self.st.clusters.get(&cluster).map(Cluster::live_records).unwrap_or(0)
    }

    /// The edges of a vertex with the vertex at each one's other end: in one direction or
    /// both (`None`), for the given edge classes and their subclasses (all if empty).
    pub fn neighbours(&self, rid: Rid, direction: Option<Direction>, labels: &[&str]) -> Result<Vec<(Rid, Rid)>> {
        // Read in place: the vertex is neither copied nor decoded beyond its link bags.
        let _in = self.gate.enter();
        let Some((_, body)) = self.st.get_ref(rid)? else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for dir in [Direction::Out, Direction::In] {
            if direction.is_some_and(|d| d != dir) {
                continue;
            }
            let want =
                |label: &str| labels.is_empty() || labels.iter().any(|l| self.st.schema.is_subclass_of(label, l));
            crate::record::links_into(&body, dir, want, &mut out)
                .map_err(|e| Error::corrupt(&self.st.dir, None, format!("vertex {rid}: {e}")))?;
        }
        Ok(out)
    }

    /// An index by name.
    pub fn index(&self, name: &str) -> Option<&Index> {
        self.st.indexes.get(&name.to_lowercase())
    }

    /// The indexes covering a class.
    pub fn indexes_of(&self, class: &str) -> Vec<&Index> {
        self.st.schema.indexes_of(class).iter().filter_map(|d| self.index(&d.name)).collect()
    }
}

/// An iterator over the records of some clusters.
#[derive(Debug)]
pub struct Scan<'a> {
    /// The state.
    st: &'a State,
    /// The database's read gate.
    gate: &'a ReadGate,
    /// Clusters to visit.
    clusters: Vec<i32>,
    /// Index into `clusters`.
    at: usize,
    /// Next position to look at.
    position: u64,
}

impl Iterator for Scan<'_> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        let _in = self.gate.enter();
        while let Some(id) = self.clusters.get(self.at).copied() {
            let Some(c) = self.st.clusters.get(&id) else {
                self.at += 1;
                continue;
            };
            match c.next_live(self.position) {
                Ok(Some(p)) => {
                    self.position = p + 1;
                    return Some(self.st.get(Rid::new(id, p as i64)).and_then(|r| {
                        r.ok_or_else(|| Error::corrupt(&self.st.dir, None, format!("record #{id}:{p} vanished")))
                    }));
                }
                Ok(None) => {
                    self.at += 1;
                    self.position = 0;
                }
                Err(e) => {
                    self.at = self.clusters.len();
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

    use std::sync::{Arc, Weak};

    use crate::{Database, Document, Options, Rid, SchemaRequest, Transaction, Value};

    /// Creates class `Item` with `n` documents `{i, value: 0}`; returns their RIDs.
    fn items(db: &Database, n: i64) -> Vec<Rid> {
        let mut tx = Transaction::new();
        tx.schema(SchemaRequest::CreateClass { name: "Item".into(), superclass: None, is_abstract: false });
        db.commit(&tx).unwrap();
        let mut tx = Transaction::new();
        let temps: Vec<Rid> = (0..n)
            .map(|i| tx.create("Item", Document::new().with("i", Value::Long(i)).with("value", Value::Long(0))))
            .collect();
        let c = db.commit(&tx).unwrap();
        temps.iter().map(|t| c.rid(*t)).collect()
    }

    /// Sets `value` of each record in `rids`, one commit each.
    fn set_all(db: &Database, rids: &[Rid], value: i64) {
        for rid in rids {
            let r = db.snapshot().get(*rid).unwrap().unwrap();
            let mut d = r.fields().unwrap();
            d.set("value", Value::Long(value));
            let mut tx = Transaction::new();
            tx.update(*rid, Some(r.version), d);
            db.commit(&tx).unwrap();
        }
    }

    fn kept_pages(db: &Database) -> usize {
        db.working().clusters.values().map(|c| c.kept_pages()).sum()
    }

    /// A snapshot keeps every page version it can read (overlay pages the applier replaced,
    /// on-disk pages a checkpoint overwrote) and frees them all when it goes.
    #[test]
    fn old_page_versions_are_freed_with_the_last_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
        let rids = items(&db, 400);
        db.checkpoint().unwrap();
        // Some pages changed since the checkpoint (in the overlay), the rest only on disk.
        set_all(&db, &rids[..40], 0);

        let snap = db.snapshot();
        let digest = snap.digest();
        let view: Weak<_> = Arc::downgrade(snap.view());
        let overlay: Vec<_> = snap.view().clusters.values().flat_map(|c| c.overlay_weaks()).collect();
        assert!(!overlay.is_empty(), "the snapshot shares no overlay page");

        set_all(&db, &rids, 1);
        db.checkpoint().unwrap();
        assert!(kept_pages(&db) > 0, "the checkpoint kept no page for the open snapshot");
        set_all(&db, &rids[..10], 2);
        db.checkpoint().unwrap();

        // It still reads its own version, from pages the checkpoints overwrote on disk.
        assert_eq!(snap.full_digest().unwrap(), digest);
        for rid in &rids {
            assert_eq!(snap.get(*rid).unwrap().unwrap().field("value").unwrap(), Some(Value::Long(0)));
        }
        assert!(overlay.iter().all(|w| w.upgrade().is_some()), "a page the snapshot reads was freed");

        drop(snap);
        assert!(view.upgrade().is_none(), "the view outlived its last snapshot");
        assert!(overlay.iter().all(|w| w.upgrade().is_none()), "an old overlay page outlived its snapshot");
        assert_eq!(kept_pages(&db), 0, "kept pages outlived the snapshot");
        // Without snapshots a checkpoint keeps nothing.
        set_all(&db, &rids[..10], 3);
        db.checkpoint().unwrap();
        assert_eq!(kept_pages(&db), 0);
        assert_eq!(db.snapshot().get(rids[0]).unwrap().unwrap().field("value").unwrap(), Some(Value::Long(3)));
    }
}
