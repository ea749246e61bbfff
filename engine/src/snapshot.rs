//! Consistent read views of an open database: [`Snapshot`] and the [`Scan`] iterator.

use std::sync::RwLockReadGuard;

use basalt_wal::Lsn;

use crate::cluster::Cluster;
use crate::db::Digest;
use crate::error::{Error, Result};
use crate::index::Index;
use crate::record::{Direction, Record};
use crate::schema::Schema;
use crate::state::State;
use crate::value::Rid;

/// A consistent read view: everything applied up to one LSN, nothing after, for as long as
/// it lives. Commits wait to apply while snapshots are held, so keep them short.
#[derive(Debug)]
pub struct Snapshot<'a> {
    /// The state, read-locked.
    pub(crate) st: RwLockReadGuard<'a, State>,
}

impl<'a> Snapshot<'a> {
    /// Reads a record.
    pub fn get(&self, rid: Rid) -> Result<Option<Record>> {
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
        Ok(Scan { st: &self.st, clusters: self.clusters_of(class, polymorphic)?, at: 0, position: 0 })
    }

    /// Every record of one cluster.
    pub fn scan_cluster(&self, cluster: i32) -> Scan<'_> {
        Scan { st: &self.st, clusters: vec![cluster], at: 0, position: 0 }
    }

    /// Number of records of a class (with subclasses if `polymorphic`).
    pub fn count(&self, class: &str, polymorphic: bool) -> Result<u64> {
        Ok(self
            .clusters_of(class, polymorphic)?
            .iter()
            .filter_map(|id| self.st.clusters.get(id))
            .map(Cluster::live_records)
            .sum())
    }

    /// Records in a cluster.
    pub fn cluster_count(&self, cluster: i32) -> u64 {
        self.st.clusters.get(&cluster).map(Cluster::live_records).unwrap_or(0)
    }

    /// The edges of a vertex with the vertex at each one's other end: in one direction or
    /// both (`None`), for the given edge classes and their subclasses (all if empty).
    pub fn neighbours(&self, rid: Rid, direction: Option<Direction>, labels: &[&str]) -> Result<Vec<(Rid, Rid)>> {
        // Read in place: the vertex is neither copied nor decoded beyond its link bags.
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
