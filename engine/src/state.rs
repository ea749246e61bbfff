//! The engine's state and `apply`: records in clusters, the schema, the indexes and the
//! digest, changed only by applying log entries in LSN order.
//!
//! `apply` is atomic: every change an entry makes is undone if any of its ops fails (pages
//! from their saved images, indexes from an undo list, schema and digest from copies), and
//! deterministic: it depends only on the state and the entry. A failed entry changes
//! nothing on any node, so it is skipped the same way everywhere.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use basalt_wal::Lsn;

use crate::cluster::Cluster;
use crate::entry::{Op, TxEntry};
use crate::error::{Error, Result};
use crate::index::{Index, Key};
use crate::record::{self, Direction, LinkBag, Record, RecordKind};
use crate::schema::{Schema, SchemaChange, INTERNAL_CLUSTER};
use crate::value::{Document, Rid, RidMap, RidSet, Value};

/// The RID of the schema record.
pub const SCHEMA_RID: Rid = Rid::new(INTERNAL_CLUSTER, 0);

/// The order-independent hash of one record (rid, version, body).
pub fn record_hash(rid: Rid, version: u32, body: &[u8]) -> u128 {
    // The hash of the concatenation (cluster, position, version, body), little-endian.
    // Small records are hashed in one call, which XXH3 defines to give the same value as
    // the streaming state below but without setting that state up (a write hashes two
    // records: the old one out of the digest, the new one in).
    const HEAD: usize = 16;
    let mut buf = [0u8; 256];
    if body.len() <= buf.len() - HEAD {
        buf[..4].copy_from_slice(&rid.cluster.to_le_bytes());
        buf[4..12].copy_from_slice(&rid.position.to_le_bytes());
        buf[12..HEAD].copy_from_slice(&version.to_le_bytes());
        buf[HEAD..HEAD + body.len()].copy_from_slice(body);
        return xxhash_rust::xxh3::xxh3_128(&buf[..HEAD + body.len()]);
    }
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&rid.cluster.to_le_bytes());
    h.update(&rid.position.to_le_bytes());
    h.update(&version.to_le_bytes());
    h.update(body);
    h.digest128()
}

/// What applying one entry must be able to undo beyond pages.
#[derive(Debug, Default)]
struct Undo {
    /// The entry's LSN.
    lsn: u64,
    /// Versions given to records the entry changed (records it created have 1).
    versions: RidMap<u32>,
    /// Records the entry created.
    inserted: RidSet,
    /// Index changes, in order: (index, key, rid, true if it was an insertion).
    index_changes: Vec<(String, Key, Rid, bool)>,
    /// The schema, indexes, class names and dropped clusters before a schema change.
    schema_copy: Option<(Arc<Schema>, BTreeMap<String, Index>)>,
    /// Clusters created by the entry.
    created_clusters: Vec<i32>,
    /// Clusters dropped by the entry.
    dropped_clusters: Vec<i32>,
}

/// A cluster's owning class: its name, record kind and abstractness.
type ClusterClass = (Arc<str>, RecordKind, bool);

/// The whole in-memory state of an open database.
#[derive(Debug)]
pub struct State {
    /// The database directory.
    pub dir: PathBuf,
    /// The database's identity (also the WAL's log id).
    pub database_id: u128,
    /// The last entry applied.
    pub applied_lsn: Lsn,
    /// The LSN of the last checkpoint.
    pub checkpoint_lsn: Lsn,
    /// The schema (shared with read views; copied on change).
    pub schema: Arc<Schema>,
    /// The class name of each cluster, shared with the records read from it.
    class_names: Arc<HashMap<i32, Arc<str>>>,
    /// For each cluster owned by a class: the class's name, record kind and abstractness
    /// (what every insert checks, without walking the schema per record).
    cluster_classes: Arc<HashMap<i32, ClusterClass>>,
    /// Open clusters.
    pub clusters: BTreeMap<i32, Cluster>,
    /// Clusters of dropped classes; their files are deleted after the next checkpoint.
    pub dropped: BTreeMap<i32, Cluster>,
    /// Indexes by lower-case name.
    pub indexes: BTreeMap<String, Index>,
    /// Sum (wrapping) of `record_hash` over every record.
    pub digest: u128,
    /// True for a read view made by [`State::freeze`]: it is never changed.
    frozen: bool,
}

fn bad(reason: impl Into<String>) -> Error {
    Error::Invalid(reason.into())
}

impl State {
    /// A state over already opened clusters and schema.
    pub fn new(dir: PathBuf, database_id: u128, schema: Schema, clusters: BTreeMap<i32, Cluster>) -> State {
        let mut s = State {
            dir,
            database_id,
            applied_lsn: Lsn::ZERO,
            checkpoint_lsn: Lsn::ZERO,
            schema: Arc::new(schema),
            class_names: Arc::default(),
            cluster_classes: Arc::default(),
            clusters,
            dropped: BTreeMap::new(),
            indexes: BTreeMap::new(),
            digest: 0,
            frozen: false,
        };
        s.refresh_class_names();
        s
    }

    fn refresh_class_names(&mut self) {
        self.class_names = Arc::new(
            self.schema
                .clusters
                .values()
                .map(|c| (c.id, Arc::from(c.class.as_deref().unwrap_or("")) as Arc<str>))
                .collect(),
        );
        self.cluster_classes = Arc::new(
            self.schema
                .clusters
                .keys()
                .filter_map(|id| {
                    let c = self.schema.class_of_cluster(*id)?;
                    Some((*id, (Arc::from(c.name.as_str()), self.schema.kind_of(&c.name), c.is_abstract)))
                })
                .collect(),
        );
    }

    /// An immutable copy of the state as it is now, for readers: it shares every page,
    /// index node and the schema with this state, so it costs O(clusters + indexes + page
    /// table leaves touched since), and later changes copy what they touch (see the module
    /// docs of `snapshot.rs`). Dropped clusters and free-space maps are left out: a read
    /// view never writes.
    pub fn freeze(&self) -> State {
        State {
            dir: self.dir.clone(),
            database_id: self.database_id,
            applied_lsn: self.applied_lsn,
            checkpoint_lsn: self.checkpoint_lsn,
            schema: Arc::clone(&self.schema),
            class_names: Arc::clone(&self.class_names),
            cluster_classes: Arc::clone(&self.cluster_classes),
            clusters: self.clusters.iter().map(|(id, c)| (*id, c.freeze())).collect(),
            dropped: BTreeMap::new(),
            indexes: self.indexes.clone(),
            digest: self.digest,
            frozen: true,
        }
    }

    /// Before a checkpoint writes the dirty pages: keeps the pages it overwrites for read
    /// views that may still read them (see [`crate::pagefile::PageFile::preserve_for_readers`]).
    /// Returns the pages copied.
    pub fn preserve_for_readers(&mut self, current_read: bool) -> u64 {
        // Dropped clusters are not written, only deleted (a mapped file outlives its name).
        self.clusters.values_mut().map(|c| c.preserve_for_readers(current_read)).sum()
    }

    /// Reads a record.
    pub fn get(&self, rid: Rid) -> Result<Option<Record>> {
        if rid.position < 0 {
            return Ok(None);
        }
        let Some(cluster) = self.clusters.get(&rid.cluster) else { return Ok(None) };
        Ok(cluster.get(rid.position as u64)?.map(|s| Record {
            rid,
            version: s.version,
            class: self.class_names.get(&rid.cluster).cloned().unwrap_or_else(|| Arc::from("")),
            body: s.body,
        }))
    }

    /// The version and body of a record, borrowed from its page when it lies whole in its
    /// cell (no copy): for readers that only look at the bytes.
    pub fn get_ref(&self, rid: Rid) -> Result<Option<(u32, Cow<'_, [u8]>)>> {
        if rid.position < 0 {
            return Ok(None);
        }
        let Some(cluster) = self.clusters.get(&rid.cluster) else { return Ok(None) };
        cluster.get_ref(rid.position as u64)
    }

    /// Reads a record that must exist.
    fn must_get(&self, rid: Rid) -> Result<Record> {
        self.get(rid)?.ok_or_else(|| bad(format!("record {rid} does not exist")))
    }

    /// Recomputes the digest from every record (to check the incremental one).
    pub fn full_digest(&self) -> Result<u128> {
        let mut d = 0u128;
        for (id, c) in &self.clusters {
            let mut pos = 0;
            while let Some(p) = c.next_live(pos)? {
                if let Some(r) = c.get(p)? {
                    d = d.wrapping_add(record_hash(Rid::new(*id, p as i64), r.version, &r.body));
                }
                pos = p + 1;
            }
        }
        Ok(d)
    }

    /// Builds every index of the schema from the records.
    pub fn rebuild_indexes(&mut self) -> Result<()> {
        let defs: Vec<_> = self.schema.indexes.values().cloned().collect();
        self.indexes.clear();
        for def in defs {
            let idx = self.build_index(def)?;
            self.indexes.insert(idx.def.name.to_lowercase(), idx);
        }
        Ok(())
    }

    /// Fails as building the index would (a duplicate key in a unique index).
    pub fn check_index_buildable(&self, def: &crate::schema::IndexDef) -> Result<()> {
        self.build_index(def.clone()).map(|_| ())
    }

    fn build_index(&self, def: crate::schema::IndexDef) -> Result<Index> {
        let mut idx = Index::new(def);
        let classes: Vec<Vec<i32>> =
            self.schema.with_subclasses(&idx.def.class).iter().map(|c| c.clusters.clone()).collect();
        for id in classes.into_iter().flatten() {
            let Some(c) = self.clusters.get(&id) else { continue };
            let mut pos = 0;
            while let Some(p) = c.next_live(pos)? {
                pos = p + 1;
                let Some(r) = c.get(p)? else { continue };
                let rid = Rid::new(id, p as i64);
                // A stored record that does not decode is damage in its file, not bad input.
                let fields = record::split_body(&r.body)
                    .and_then(|b| record::decode_fields(b.fields))
                    .map_err(|e| Error::corrupt(c.files()[0].path(), None, format!("record {rid}: {e}")))?;
                if let Some(k) = Index::key_of(&idx.def, &fields) {
                    if let Err(existing) = idx.insert(k.clone(), rid) {
                        return Err(Error::DuplicateKey { index: idx.def.name.clone(), key: k.render(), existing });
                    }
                }
            }
        }
        Ok(idx)
    }

    /// Applies one entry atomically. On error nothing changed (and `applied_lsn` is still
    /// advanced by the caller: the entry is consumed either way).
    pub fn apply(&mut self, lsn: Lsn, entry: &TxEntry) -> Result<()> {
        assert!(!self.frozen, "an entry applied to a read view");
        let mut undo = Undo { lsn: lsn.0, ..Undo::default() };
        if entry.ops.iter().any(|o| matches!(o, Op::Schema(_))) {
            undo.schema_copy = Some((self.schema.clone(), self.indexes.clone()));
        }
        let digest_before = self.digest;
        for c in self.clusters.values_mut() {
            c.begin();
        }
        let mut result = Ok(());
        for (i, op) in entry.ops.iter().enumerate() {
            if let Err(e) = self.apply_op(&mut undo, op) {
                // Only a failure the entry itself causes is the same on every node; an IO
                // error or a corrupt page is this node's, and is returned as it is.
                result = Err(if e.is_deterministic() {
                    Error::BadEntry { lsn, reason: format!("op {} of {}: {e}", i + 1, entry.ops.len()) }
                } else {
                    e
                });
                break;
            }
        }
        match result {
            Ok(()) => {
                for c in self.clusters.values_mut().chain(self.dropped.values_mut()) {
                    c.commit();
                }
                Ok(())
            }
            Err(e) => {
                self.rollback(undo, digest_before);
                Err(e)
            }
        }
    }

    fn rollback(&mut self, undo: Undo, digest_before: u128) {
        for id in &undo.created_clusters {
            self.clusters.remove(id);
        }
        for id in &undo.dropped_clusters {
            if let Some(c) = self.dropped.remove(id) {
                self.clusters.insert(*id, c);
            }
        }
        for c in self.clusters.values_mut() {
            c.rollback();
        }
        match undo.schema_copy {
            Some((schema, indexes)) => {
                self.schema = schema;
                self.indexes = indexes;
                self.refresh_class_names();
            }
            None => {
                for (name, key, rid, inserted) in undo.index_changes.into_iter().rev() {
                    if let Some(idx) = self.indexes.get_mut(&name) {
                        if inserted {
                            idx.remove(&key, rid);
                        } else {
                            // Re-inserting what was there cannot conflict.
                            let _ = idx.insert(key, rid);
                        }
                    }
                }
            }
        }
        self.digest = digest_before;
    }

    fn version_for(undo: &mut Undo, rid: Rid, current: u32) -> u32 {
        if undo.inserted.contains(&rid) {
            return 1;
        }
        *undo.versions.entry(rid).or_insert(current.wrapping_add(1))
    }

    fn apply_op(&mut self, undo: &mut Undo, op: &Op) -> Result<()> {
        match op {
            Op::Insert { rid, body } => self.op_insert(undo, *rid, body),
            Op::Update { rid, fields } => self.op_update(undo, *rid, fields),
            Op::Delete { rid } => self.op_delete(undo, *rid),
            Op::LinkAdd { vertex, direction, label, edge, other } => {
                self.op_link_add(undo, *vertex, *direction, label, *edge, *other)
            }
            Op::LinkRemove { vertex, direction, label, edge } => {
                self.op_link_remove(undo, *vertex, *direction, label, *edge)
            }
            Op::Schema(change) => self.op_schema(undo, change),
        }
    }

    /// Writes a record's new body and version, keeping the digest up to date. `old_hash` is
    /// the [`record_hash`] of the record being replaced (`None`: a new record), taken by the
    /// caller while it still had the old bytes.
    fn write(&mut self, undo: &mut Undo, old_hash: Option<u128>, rid: Rid, body: &[u8], version: u32) -> Result<()> {
        let lsn = undo.lsn;
        let cluster = self.clusters.get_mut(&rid.cluster).ok_or_else(|| bad(format!("no cluster {}", rid.cluster)))?;
        match old_hash {
            Some(h) => {
                cluster.update(rid.position as u64, version, body, lsn)?;
                self.digest = self.digest.wrapping_sub(h);
            }
            None => cluster.insert(rid.position as u64, body, lsn)?,
        }
        self.digest = self.digest.wrapping_add(record_hash(rid, version, body));
        Ok(())
    }

    /// Updates the indexes covering `class` for a record going from `old` to `new` fields.
    fn reindex(
        &mut self,
        undo: &mut Undo,
        class: &str,
        rid: Rid,
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<()> {
        let names: Vec<String> = self.schema.indexes_of(class).iter().map(|d| d.name.to_lowercase()).collect();
        if names.is_empty() {
            return Ok(());
        }
        let decode = |b: Option<&[u8]>| -> Result<Option<Document>> {
            b.map(|b| record::split_body(b).and_then(|p| record::decode_fields(p.fields)))
                .transpose()
                .map_err(|e| bad(format!("record {rid}: {e}")))
        };
        let (old, new) = (decode(old)?, decode(new)?);
        for name in names {
            let Some(idx) = self.indexes.get_mut(&name) else { continue };
            let ok = old.as_ref().and_then(|d| Index::key_of(&idx.def, d));
            let nk = new.as_ref().and_then(|d| Index::key_of(&idx.def, d));
            if ok == nk {
                continue;
            }
            if let Some(k) = ok {
                if idx.remove(&k, rid) {
                    undo.index_changes.push((name.clone(), k, rid, false));
                }
            }
            if let Some(k) = nk {
                idx.insert(k.clone(), rid).map_err(|existing| Error::DuplicateKey {
                    index: idx.def.name.clone(),
                    key: k.render(),
                    existing,
                })?;
                undo.index_changes.push((name.clone(), k, rid, true));
            }
        }
        Ok(())
    }

    fn op_insert(&mut self, undo: &mut Undo, rid: Rid, body: &[u8]) -> Result<()> {
        let (class, holds, is_abstract) = self
            .cluster_classes
            .get(&rid.cluster)
            .cloned()
            .ok_or_else(|| bad(format!("cluster {} belongs to no class", rid.cluster)))?;
        if is_abstract {
            return Err(bad(format!("class '{class}' is abstract")));
        }
        let kind = record::validate_body(body).map_err(|e| bad(format!("record {rid}: {e}")))?;
        if kind != holds {
            return Err(bad(format!("record {rid} is a {kind:?} but class '{class}' holds {holds:?}s")));
        }
        if rid.position < 0 {
            return Err(bad(format!("record {rid} has a temporary id")));
        }
        self.write(undo, None, rid, body, 1)?;
        undo.inserted.insert(rid);
        self.reindex(undo, &class, rid, None, Some(body))
    }

    fn op_update(&mut self, undo: &mut Undo, rid: Rid, fields: &[u8]) -> Result<()> {
        let old = self.must_get(rid)?;
        let new_fields = record::decode_fields(fields).map_err(|e| bad(format!("record {rid}: {e}")))?;
        let parts = record::split_body(&old.body).map_err(|e| bad(format!("record {rid}: {e}")))?;
        if parts.kind == RecordKind::Edge {
            let old_fields = record::decode_fields(parts.fields).map_err(|e| bad(format!("record {rid}: {e}")))?;
            for end in ["out", "in"] {
                if old_fields.get(end) != new_fields.get(end) {
                    return Err(bad(format!("edge {rid}: its '{end}' end cannot change")));
                }
            }
        }
        let body = record::with_fields(&old.body, &new_fields).map_err(|e| bad(format!("record {rid}: {e}")))?;
        let version = Self::version_for(undo, rid, old.version);
        self.write(undo, Some(record_hash(rid, old.version, &old.body)), rid, &body, version)?;
        let class = old.class.to_string();
        self.reindex(undo, &class, rid, Some(&old.body), Some(&body))
    }

    fn op_delete(&mut self, undo: &mut Undo, rid: Rid) -> Result<()> {
        if rid == SCHEMA_RID {
            return Err(bad("the schema record cannot be deleted"));
        }
        let old = self.must_get(rid)?;
        match old.kind() {
            RecordKind::Vertex => {
                let bags = old.bags().map_err(|e| bad(format!("vertex {rid}: {e}")))?;
                if bags.iter().any(|b| !b.links.is_empty()) {
                    return Err(bad(format!("vertex {rid} still has edges")));
                }
            }
            RecordKind::Edge => {
                let (out, inn) = old.edge_ends().map_err(|e| bad(format!("edge {rid}: {e}")))?.unwrap_or_default();
                for (v, dir) in [(out, Direction::Out), (inn, Direction::In)] {
                    if let Some(vr) = self.get(v)? {
                        let linked = vr
                            .bags()
                            .map_err(|e| bad(format!("vertex {v}: {e}")))?
                            .iter()
                            .any(|b| b.direction == dir && b.links.iter().any(|(e, _)| *e == rid));
                        if linked {
                            return Err(bad(format!("edge {rid} is still linked from vertex {v}")));
                        }
                    }
                }
            }
            RecordKind::Document => {}
        }
        let cluster = self.clusters.get_mut(&rid.cluster).ok_or_else(|| bad(format!("no cluster {}", rid.cluster)))?;
        cluster.delete(rid.position as u64, undo.lsn)?;
        self.digest = self.digest.wrapping_sub(record_hash(rid, old.version, &old.body));
        let class = old.class.to_string();
        self.reindex(undo, &class, rid, Some(&old.body), None)
    }

    fn vertex_bags(&self, rid: Rid) -> Result<(Record, Vec<LinkBag>)> {
        let v = self.must_get(rid)?;
        if v.kind() != RecordKind::Vertex {
            return Err(bad(format!("record {rid} is not a vertex")));
        }
        let bags = v.bags().map_err(|e| bad(format!("vertex {rid}: {e}")))?;
        Ok((v, bags))
    }

    fn op_link_add(
        &mut self,
        undo: &mut Undo,
        vertex: Rid,
        dir: Direction,
        label: &str,
        edge: Rid,
        other: Rid,
    ) -> Result<()> {
        // Both records are read in place (no copies, no decoded bags): a bulk load applies
        // two of these per edge.
        let class = self.class_names.get(&edge.cluster).cloned().unwrap_or_else(|| Arc::from(""));
        {
            let (_, e) = self.get_ref(edge)?.ok_or_else(|| bad(format!("record {edge} does not exist")))?;
            if record::body_kind(&e) != RecordKind::Edge || !class.eq_ignore_ascii_case(label) {
                return Err(bad(format!("record {edge} is not an edge of class '{label}'")));
            }
            let (out, inn) = record::edge_ends(&e).map_err(|x| bad(format!("edge {edge}: {x}")))?.unwrap_or_default();
            let expected = match dir {
                Direction::Out => (vertex, other),
                Direction::In => (other, vertex),
            };
            if (out, inn) != expected {
                return Err(bad(format!("edge {edge} goes {out} -> {inn}, not as linked from {vertex}")));
            }
        }
        let (version, old_hash, body) = {
            let (version, v) = self.get_ref(vertex)?.ok_or_else(|| bad(format!("record {vertex} does not exist")))?;
            if record::body_kind(&v) != RecordKind::Vertex {
                return Err(bad(format!("record {vertex} is not a vertex")));
            }
            let body = record::with_link_added(&v, dir, &class, edge, other)
                .map_err(|e| bad(format!("vertex {vertex}: {e}")))?
                .ok_or_else(|| bad(format!("vertex {vertex} already links edge {edge}")))?;
            (version, record_hash(vertex, version, &v), body)
        };
        let version = Self::version_for(undo, vertex, version);
        self.write(undo, Some(old_hash), vertex, &body, version)
    }

    fn op_link_remove(&mut self, undo: &mut Undo, vertex: Rid, dir: Direction, label: &str, edge: Rid) -> Result<()> {
        let (v, mut bags) = self.vertex_bags(vertex)?;
        let i = bags
            .iter()
            .position(|b| b.direction == dir && b.label.eq_ignore_ascii_case(label))
            .ok_or_else(|| bad(format!("vertex {vertex} has no {}{label} links", dir.prefix())))?;
        let before = bags[i].links.len();
        bags[i].links.retain(|(x, _)| *x != edge);
        if bags[i].links.len() == before {
            return Err(bad(format!("vertex {vertex} does not link edge {edge}")));
        }
        if bags[i].links.is_empty() {
            bags.remove(i);
        }
        self.rewrite_bags(undo, v, &bags)
    }

    fn rewrite_bags(&mut self, undo: &mut Undo, v: Record, bags: &[LinkBag]) -> Result<()> {
        let body = record::with_bags(&v.body, bags).map_err(|e| bad(format!("vertex {}: {e}", v.rid)))?;
        let version = Self::version_for(undo, v.rid, v.version);
        self.write(undo, Some(record_hash(v.rid, v.version, &v.body)), v.rid, &body, version)
    }

    fn op_schema(&mut self, undo: &mut Undo, change: &SchemaChange) -> Result<()> {
        // Checks that need the records, before the schema changes.
        match change {
            SchemaChange::DropClass { name } => {
                let class = self.schema.class_or_err(name)?;
                for id in &class.clusters {
                    if self.clusters.get(id).is_some_and(|c| c.live_records() > 0) {
                        return Err(bad(format!("class '{}' still has records", class.name)));
                    }
                }
            }
            SchemaChange::RenameClass { name, .. } => {
                let class = self.schema.class_or_err(name)?;
                let has_records =
                    class.clusters.iter().any(|id| self.clusters.get(id).is_some_and(|c| c.live_records() > 0));
                if self.schema.kind_of(name) == RecordKind::Edge && has_records {
                    return Err(bad(format!(
                        "edge class '{}' has edges; its name is in every vertex that links them",
                        class.name
                    )));
                }
            }
            _ => {}
        }
        let clusters_before: HashSet<i32> = self.schema.clusters.keys().copied().collect();
        Arc::make_mut(&mut self.schema).apply(change)?;
        let clusters_after: HashSet<i32> = self.schema.clusters.keys().copied().collect();
        let mut created: Vec<i32> = clusters_after.difference(&clusters_before).copied().collect();
        created.sort_unstable();
        for id in created {
            let c = Cluster::create(&self.dir, id, self.database_id, undo.lsn);
            self.clusters.insert(id, c);
            undo.created_clusters.push(id);
        }
        let mut gone: Vec<i32> = clusters_before.difference(&clusters_after).copied().collect();
        gone.sort_unstable();
        for id in gone {
            if let Some(c) = self.clusters.remove(&id) {
                self.dropped.insert(id, c);
                undo.dropped_clusters.push(id);
            }
        }
        self.refresh_class_names();
        match change {
            SchemaChange::CreateIndex { index } => {
                let def =
                    self.schema.index(&index.name).cloned().ok_or_else(|| Error::IndexNotFound(index.name.clone()))?;
                let idx = self.build_index(def)?;
                self.indexes.insert(index.name.to_lowercase(), idx);
            }
            SchemaChange::DropIndex { name } => {
                self.indexes.remove(&name.to_lowercase());
            }
            SchemaChange::DropClass { .. } => {
                let live: HashSet<String> = self.schema.indexes.keys().cloned().collect();
                self.indexes.retain(|k, _| live.contains(k));
            }
            _ => {}
        }
        self.write_schema_record(undo)
    }

    /// Stores the schema in `#0:0`.
    fn write_schema_record(&mut self, undo: &mut Undo) -> Result<()> {
        let json = serde_json::to_string(&*self.schema).map_err(|e| bad(format!("schema: {e}")))?;
        let fields = Document::new().with("schema", Value::String(json));
        let body = record::encode_body(RecordKind::Document, &[], &fields);
        let old = self.get(SCHEMA_RID)?;
        let version = match &old {
            Some(o) => Self::version_for(undo, SCHEMA_RID, o.version),
            None => 1,
        };
        let old_hash = old.map(|o| record_hash(SCHEMA_RID, o.version, &o.body));
        self.write(undo, old_hash, SCHEMA_RID, &body, version)
    }

    /// Creates the internal records of a new database (the schema record).
    pub fn initialize(&mut self) -> Result<()> {
        let mut undo = Undo::default();
        self.write_schema_record(&mut undo)
    }

    /// Reads the schema from `#0:0`.
    pub fn load_schema(dir: &Path, clusters: &BTreeMap<i32, Cluster>) -> Result<Schema> {
        // The schema record is stored data: anything wrong with it is damage in its file.
        let file = dir.join(crate::cluster::file_names(INTERNAL_CLUSTER).0);
        let corrupt = |reason: String| Error::corrupt(&file, None, reason);
        let internal = clusters
            .get(&INTERNAL_CLUSTER)
            .ok_or_else(|| corrupt("the checkpoint lists no internal cluster".into()))?;
        let stored = internal.get(0)?.ok_or_else(|| corrupt("the schema record #0:0 is missing".into()))?;
        let parts = record::split_body(&stored.body).map_err(|e| corrupt(format!("schema record: {e}")))?;
        let json = record::find_field(parts.fields, "schema")
            .map_err(|e| corrupt(format!("schema record: {e}")))?
            .and_then(|v| v.as_str().map(str::to_string))
            .ok_or_else(|| corrupt("the schema record has no schema".into()))?;
        serde_json::from_str(&json).map_err(|e| corrupt(format!("schema record: {e}")))
    }

    /// Number of dirty pages over all clusters.
    pub fn dirty_pages(&self) -> usize {
        self.clusters.values().chain(self.dropped.values()).map(Cluster::dirty_pages).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_hashes_do_not_depend_on_the_body_size_path() {
        // Digests are persisted and compared across nodes: the one-call path for small
        // bodies must give exactly the streaming hash of the same bytes.
        for len in [0usize, 1, 16, 128, 239, 240, 241, 255, 256, 300, 5000] {
            let body: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let rid = Rid::new(12, 345_678 + len as i64);
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            h.update(&rid.cluster.to_le_bytes());
            h.update(&rid.position.to_le_bytes());
            h.update(&9u32.to_le_bytes());
            h.update(&body);
            assert_eq!(record_hash(rid, 9, &body), h.digest128(), "body of {len} bytes");
        }
    }
}
