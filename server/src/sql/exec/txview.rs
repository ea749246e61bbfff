//! What an open transaction has written, as its own later reads see it (read-your-writes).
//!
//! OrientDB's reads inside a transaction see the transaction's own changes: its
//! `OTransactionOptimistic` answers loads of records it created, changed or deleted, and
//! class scans add the records it created (`core/.../db/document/ODatabaseDocumentAbstract
//! .java`, `browseClass` / `load` consult `currentTx`; `OScriptExecutionTest
//! .testAssignOnEdgeCreate` reads edges created in the same script). Here the executor
//! keeps, beside the engine transaction it fills, a [`TxView`]: every record the
//! transaction touches, as it will be after the commit (or `None` once deleted), built with
//! the engine's own body encoding, so the rest of the executor reads it like a stored record.
//!
//! Promises:
//! - `Env::load` answers the view's version of a record first (records created in the
//!   transaction keep their temporary RIDs `#-1:-n` and version 0 until the commit);
//! - a class scan skips deleted records, answers changed ones as changed, and then adds the
//!   records created in the class or a subclass, in creation order; a class the transaction
//!   touched is scanned whole, not through an index (its index does not hold the
//!   transaction's keys yet);
//! - graph steps (`out()`, `in()`, `both()`, `outE()`...) follow the edges the transaction
//!   created, from and to committed records and records of the transaction, and skip edges it
//!   deleted; `count(*)` of a class counts created and deleted records;
//! - not covered: cluster targets (`FROM cluster:x`) see changes and deletions but not
//!   records created in the transaction (their cluster is decided at the commit), and
//!   classes created in the transaction are not scanned before the commit.

use std::collections::HashMap;
use std::sync::Arc;

use basalt_engine::record::{encode_body, with_fields, with_link_added};
use basalt_engine::{Direction, Record, RecordKind, Rid, Snapshot};

use super::eval::{decode_error, Env};
use super::rows::Res;
use super::write::Op;

/// The records an open transaction touched, as it leaves them.
#[derive(Debug, Default)]
pub(crate) struct TxView {
    /// Each touched record: its new version (`None`: deleted).
    records: HashMap<Rid, Option<Record>>,
    /// Records created, in order: their temporary RIDs.
    created: Vec<Rid>,
    /// Deleted records by class, for counts.
    deleted: Vec<(Rid, Arc<str>)>,
    /// Classes whose records the transaction created, changed or deleted.
    touched: Vec<Arc<str>>,
}

impl TxView {
    /// Whether the transaction touched no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The view's version of a record: `Some(None)` when it was deleted, `None` when the
    /// transaction did not touch it.
    pub fn get(&self, rid: Rid) -> Option<Option<&Record>> {
        self.records.get(&rid).map(Option::as_ref)
    }

    /// Whether the transaction touched records of `class` or of a subclass of it.
    pub fn touches(&self, snap: &Snapshot<'_>, class: &str) -> bool {
        self.touched.iter().any(|c| snap.schema().is_subclass_of(c, class))
    }

    /// Records created in `class` or its subclasses, in creation order.
    pub fn created_in<'a>(&'a self, snap: &'a Snapshot<'_>, class: &'a str) -> impl Iterator<Item = &'a Record> {
        self.created
            .iter()
            .filter_map(|r| self.records.get(r).and_then(Option::as_ref))
            .filter(move |r| snap.schema().is_subclass_of(&r.class, class))
    }

    /// Records of `class` (polymorphic) created minus deleted: what a count adds.
    pub fn count_delta(&self, snap: &Snapshot<'_>, class: &str) -> i64 {
        let created = self.created_in(snap, class).count() as i64;
        let deleted =
            self.deleted.iter().filter(|(r, c)| !r.is_temporary() && snap.schema().is_subclass_of(c, class)).count()
                as i64;
        created - deleted
    }

    /// Adds what a statement asked of the transaction (`temps`: the temporary RID of each
    /// created record, as the engine transaction handed them out).
    pub fn apply(&mut self, snap: &Snapshot<'_>, ops: &[Op], temps: &[Option<Rid>]) -> Res<()> {
        for (op, temp) in ops.iter().zip(temps) {
            match (op, temp) {
                (Op::Create { class, fields }, Some(t)) => {
                    let kind = snap.schema().kind_of(class);
                    self.insert_new(*t, class, encode_body(kind, &[], fields));
                }
                (Op::CreateEdge { class, from, to, fields }, Some(t)) => {
                    let mut f = basalt_engine::Document::new()
                        .with("out", basalt_engine::Value::Link(*from))
                        .with("in", basalt_engine::Value::Link(*to));
                    fields.iter().for_each(|(k, v)| f.set(k, v.clone()));
                    self.insert_new(*t, class, encode_body(RecordKind::Edge, &[], &f));
                    self.link(snap, *from, Direction::Out, class, *t, *to)?;
                    self.link(snap, *to, Direction::In, class, *t, *from)?;
                }
                (Op::Update { rid, fields, .. }, _) => {
                    let Some(mut r) = self.current(snap, *rid)? else { continue };
                    r.body = with_fields(&r.body, fields).map_err(|e| decode_error(*rid, e))?;
                    self.touch(&r.class);
                    self.records.insert(*rid, Some(r));
                }
                (Op::Delete { rid, .. }, _) => {
                    if let Some(r) = self.current(snap, *rid)? {
                        self.touch(&r.class);
                        self.deleted.push((*rid, r.class.clone()));
                    }
                    self.records.insert(*rid, None);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The record as the view has it now (the snapshot's when untouched).
    fn current(&self, snap: &Snapshot<'_>, rid: Rid) -> Res<Option<Record>> {
        match self.records.get(&rid) {
            Some(r) => Ok(r.clone()),
            None if rid.is_temporary() => Ok(None),
            None => Ok(snap.get(rid)?),
        }
    }

    fn insert_new(&mut self, temp: Rid, class: &str, body: Vec<u8>) {
        let class: Arc<str> = Arc::from(class);
        self.touch(&class);
        self.records.insert(temp, Some(Record { rid: temp, version: 0, class, body }));
        self.created.push(temp);
    }

    /// Adds an edge to a vertex's link bag in the view.
    fn link(
        &mut self,
        snap: &Snapshot<'_>,
        vertex: Rid,
        dir: Direction,
        label: &str,
        edge: Rid,
        other: Rid,
    ) -> Res<()> {
        let Some(mut v) = self.current(snap, vertex)? else { return Ok(()) };
        if let Some(body) = with_link_added(&v.body, dir, label, edge, other).map_err(|e| decode_error(vertex, e))? {
            v.body = body;
        }
        self.records.insert(vertex, Some(v));
        Ok(())
    }

    fn touch(&mut self, class: &Arc<str>) {
        if !self.touched.iter().any(|c| c == class) {
            self.touched.push(class.clone());
        }
    }
}

impl Env<'_> {
    /// The edges of a vertex and the vertices at their other ends, as the open transaction
    /// leaves them (its new edges in, its deleted edges out).
    pub fn neighbours(&self, rid: Rid, dir: Option<Direction>, labels: &[&str]) -> Res<Vec<(Rid, Rid)>> {
        let Some(view) = self.tx_view.filter(|v| !v.is_empty()) else {
            if rid.is_temporary() {
                return Ok(Vec::new());
            }
            return Ok(self.snap.neighbours(rid, dir, labels)?);
        };
        let mut out = Vec::new();
        match view.get(rid) {
            None if rid.is_temporary() => {}
            None => out = self.snap.neighbours(rid, dir, labels)?,
            Some(None) => {}
            Some(Some(r)) => {
                let schema = self.snap.schema();
                let want = |l: &str| labels.is_empty() || labels.iter().any(|x| schema.is_subclass_of(l, x));
                for d in [Direction::Out, Direction::In] {
                    if dir.is_none_or(|x| x == d) {
                        basalt_engine::record::links_into(&r.body, d, want, &mut out)
                            .map_err(|e| decode_error(rid, e))?;
                    }
                }
            }
        }
        out.retain(|(edge, other)| !matches!(view.get(*edge), Some(None)) && !matches!(view.get(*other), Some(None)));
        Ok(out)
    }
}
