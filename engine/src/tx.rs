//! Transactions: what a client asks for, and the forming step that turns it into a log
//! entry with every RID decided and every rule checked.
//!
//! A [`Transaction`] collects intents and hands out temporary RIDs (`#-1:-2`, `#-1:-3`,
//! ...) for the records it creates, so later intents can link to them. Forming (under the
//! database's forming lock) checks each intent against the applied state, the pending
//! entries (see `pending.rs`) and the intents before it, then writes the ops. Conflicts are
//! found here, before anything is logged; `apply` never sees a conflict.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::codec::put_uvarint;
use crate::convert::{conform, is_graph_field};
use crate::entry::{Op, ProposalId, TxEntry};
use crate::error::Error;
use crate::index::{Index, Key};
use crate::pending::{Effects, Pending, UniqueKey};
use crate::record::{self, Direction, LinkBag, RecordKind};
use crate::schema::{ClassDef, Schema, SchemaChange};
use crate::state::State;
use crate::value::{Document, Rid, RidMap, RidSet, Value};

/// A schema change as a client asks for it (cluster ids are decided when forming).
#[derive(Debug, Clone, PartialEq)]
pub enum SchemaRequest {
    /// A new class.
    CreateClass {
        /// Its name.
        name: String,
        /// Its superclass.
        superclass: Option<String>,
        /// Abstract classes hold no records.
        is_abstract: bool,
    },
    /// Drops a class. A class with records is refused unless `unsafe_drop`, which deletes
    /// its records first (vertices with their edges).
    DropClass {
        /// The class.
        name: String,
        /// Delete the records too.
        unsafe_drop: bool,
    },
    /// Makes a class abstract or concrete (a concrete class gets a cluster).
    SetAbstract {
        /// The class.
        name: String,
        /// The new flag.
        is_abstract: bool,
    },
    /// Any other change, as logged.
    Change(SchemaChange),
}

#[derive(Debug, Clone)]
enum Intent {
    Create { temp: Rid, class: String, fields: Document },
    CreateEdge { temp: Rid, class: String, from: Rid, to: Rid, fields: Document },
    Update { rid: Rid, version: Option<u32>, fields: Document },
    Delete { rid: Rid, version: Option<u32> },
    Schema(SchemaRequest),
}

/// A set of changes committed together, all or nothing.
#[derive(Debug, Clone, Default)]
pub struct Transaction {
    /// What was asked, in order.
    intents: Vec<Intent>,
    /// Temporary ids handed out.
    temps: u32,
}

impl Transaction {
    /// An empty transaction.
    pub fn new() -> Transaction {
        Transaction::default()
    }

    /// True if nothing was asked.
    pub fn is_empty(&self) -> bool {
        self.intents.is_empty()
    }

    /// Number of intents.
    pub fn len(&self) -> usize {
        self.intents.len()
    }

    fn temp(&mut self) -> Rid {
        self.temps += 1;
        Rid::new(-1, -1 - i64::from(self.temps))
    }

    /// Creates a record of `class` (a vertex if the class extends `V`, a document
    /// otherwise). Returns its temporary RID; the real one is in the commit's `rids`.
    pub fn create(&mut self, class: &str, fields: Document) -> Rid {
        let temp = self.temp();
        self.intents.push(Intent::Create { temp, class: class.to_string(), fields });
        temp
    }

    /// Creates an edge of `class` from `from` to `to` (RIDs or temporary RIDs of this
    /// transaction), linking both vertices.
    pub fn create_edge(&mut self, class: &str, from: Rid, to: Rid, fields: Document) -> Rid {
        let temp = self.temp();
        self.intents.push(Intent::CreateEdge { temp, class: class.to_string(), from, to, fields });
        temp
    }

    /// Replaces a record's fields. With `version`, fails with a conflict if the record
    /// changed since that version was read.
    pub fn update(&mut self, rid: Rid, version: Option<u32>, fields: Document) {
        self.intents.push(Intent::Update { rid, version, fields });
    }

    /// Deletes a record: a vertex with all its edges, an edge from both its vertices.
    pub fn delete(&mut self, rid: Rid, version: Option<u32>) {
        self.intents.push(Intent::Delete { rid, version });
    }

    /// Changes the schema.
    pub fn schema(&mut self, request: SchemaRequest) {
        self.intents.push(Intent::Schema(request));
    }
}

/// Why forming stopped.
#[derive(Debug)]
pub enum FormError {
    /// A pending entry changes what this transaction depends on: wait until it is
    /// applied, then form again.
    Retry(ProposalId),
    /// The transaction cannot commit.
    Fail(Error),
}

impl From<Error> for FormError {
    fn from(e: Error) -> FormError {
        FormError::Fail(e)
    }
}

type FormResult<T> = std::result::Result<T, FormError>;

/// A formed transaction, ready to log.
#[derive(Debug)]
pub struct Formed {
    /// The entry.
    pub entry: TxEntry,
    /// Temporary RID to real RID.
    pub rids: BTreeMap<Rid, Rid>,
    /// What it will change, for the pending guard.
    pub effects: Effects,
}

/// What this transaction knows of a record it created or changed.
#[derive(Debug, Clone)]
struct Local {
    /// Its class.
    class: String,
    /// Its kind.
    kind: RecordKind,
    /// Its fields as they will be.
    fields: Document,
    /// Its link bags as they will be (vertices only).
    bags: Vec<LinkBag>,
    /// Index of its Insert op, if this transaction creates it.
    insert_op: Option<usize>,
    /// Its version when read (0 for new records).
    version: u32,
}

struct Former<'a> {
    st: &'a State,
    pending: &'a Pending,
    schema: Schema,
    ops: Vec<Op>,
    temps: BTreeMap<Rid, Rid>,
    positions: HashMap<i32, u64>,
    local: RidMap<Local>,
    deleted: RidSet,
    /// Vertices linked by an edge this transaction creates (their loaded link bags may not
    /// show it: `link` tracks bags only of records already in `local`).
    new_edge_ends: HashSet<Rid>,
    /// Unique indexes created by this transaction, as built from the records it saw then
    /// (the applied state has no such index to check keys against).
    new_indexes: HashMap<String, Index>,
    effects: Effects,
    unique_added: HashMap<UniqueKey, Rid>,
    unique_removed: HashSet<UniqueKey>,
}

/// Forms `tx` against the applied state `st` and the pending entries.
pub fn form(st: &State, pending: &Pending, tx: &Transaction) -> FormResult<Formed> {
    let has_schema = tx.intents.iter().any(|i| matches!(i, Intent::Schema(_)));
    if let Some(b) = pending.barrier() {
        return Err(FormError::Retry(b));
    }
    if has_schema {
        if let Some(last) = pending.last() {
            return Err(FormError::Retry(last));
        }
    }
    let mut f = Former {
        st,
        pending,
        schema: (*st.schema).clone(),
        ops: Vec::new(),
        temps: BTreeMap::new(),
        positions: HashMap::new(),
        local: RidMap::default(),
        deleted: RidSet::default(),
        new_edge_ends: HashSet::new(),
        new_indexes: HashMap::new(),
        effects: Effects { schema: has_schema, ..Effects::default() },
        unique_added: HashMap::new(),
        unique_removed: HashSet::new(),
    };
    for intent in &tx.intents {
        match intent {
            Intent::Create { temp, class, fields } => f.create(*temp, class, fields.clone())?,
            Intent::CreateEdge { temp, class, from, to, fields } => {
                f.create_edge(*temp, class, *from, *to, fields.clone())?
            }
            Intent::Update { rid, version, fields } => f.update(*rid, *version, fields.clone())?,
            Intent::Delete { rid, version } => f.delete(*rid, *version)?,
            Intent::Schema(req) => f.schema_request(req)?,
        }
    }
    let mut positions: Vec<(i32, u64)> = f.positions.iter().map(|(c, p)| (*c, *p)).collect();
    positions.sort_unstable();
    f.effects.positions = positions;
    f.effects.unique_added = f.unique_added.into_iter().collect();
    f.effects.unique_removed = f.unique_removed.into_iter().collect();
    let entry = TxEntry { ops: f.ops, commit_time_us: crate::entry::unix_micros_now(), ..TxEntry::default() };
    Ok(Formed { entry, rids: f.temps, effects: f.effects })
}

fn invalid(msg: impl Into<String>) -> FormError {
    FormError::Fail(Error::Invalid(msg.into()))
}

fn unique_key(index: &str, key: &Key) -> UniqueKey {
    let mut b = Vec::new();
    put_uvarint(&mut b, key.0.len() as u64);
    for v in &key.0 {
        record::put_value(&mut b, v);
    }
    (index.to_lowercase(), b)
}

impl Former<'_> {
    fn resolve(&self, rid: Rid) -> FormResult<Rid> {
        if rid.is_temporary() {
            self.temps
                .get(&rid)
                .copied()
                .ok_or_else(|| invalid(format!("{rid} is not a record created earlier in this transaction")))
        } else {
            Ok(rid)
        }
    }

    fn resolve_value(&self, v: Value) -> FormResult<Value> {
        Ok(match v {
            Value::Link(r) => Value::Link(self.resolve(r)?),
            Value::List(items) => {
                Value::List(items.into_iter().map(|i| self.resolve_value(i)).collect::<FormResult<_>>()?)
            }
            Value::Set(items) => {
                Value::Set(items.into_iter().map(|i| self.resolve_value(i)).collect::<FormResult<_>>()?)
            }
            Value::Map(m) => {
                Value::Map(m.into_iter().map(|(k, i)| Ok((k, self.resolve_value(i)?))).collect::<FormResult<_>>()?)
            }
            Value::Embedded(d) => Value::Embedded(self.resolve_fields(d)?),
            other => other,
        })
    }

    fn resolve_fields(&self, d: Document) -> FormResult<Document> {
        d.into_fields().into_iter().map(|(k, v)| Ok((k, self.resolve_value(v)?))).collect()
    }

    fn concrete_class(&self, name: &str) -> FormResult<ClassDef> {
        let c = self.schema.class_or_err(name)?.clone();
        if c.is_abstract || c.clusters.is_empty() {
            return Err(invalid(format!("class '{}' is abstract: it cannot hold records", c.name)));
        }
        Ok(c)
    }

    fn next_rid(&mut self, cluster: i32) -> Rid {
        let st_next = self.st.clusters.get(&cluster).map(|c| c.next_position()).unwrap_or(0);
        let base = self.pending.next_position(cluster).unwrap_or(st_next).max(st_next);
        let next = self.positions.entry(cluster).or_insert(base);
        let rid = Rid::new(cluster, *next as i64);
        *next += 1;
        rid
    }

    /// Checks and records the unique keys a record takes and frees.
    fn check_unique(
        &mut self,
        class: &str,
        rid: Rid,
        old: Option<&Document>,
        new: Option<&Document>,
    ) -> FormResult<()> {
        let defs: Vec<_> = self.schema.indexes_of(class).into_iter().cloned().collect();
        for def in defs.iter().filter(|d| d.unique) {
            let ok = old.and_then(|d| Index::key_of(def, d));
            let nk = new.and_then(|d| Index::key_of(def, d));
            if ok == nk {
                continue;
            }
            if let Some(k) = &ok {
                let uk = unique_key(&def.name, k);
                if self.unique_added.get(&uk) == Some(&rid) {
                    self.unique_added.remove(&uk);
                } else {
                    self.unique_removed.insert(uk);
                }
            }
            let Some(k) = nk else { continue };
            let uk = unique_key(&def.name, &k);
            let dup = |existing: Rid| Error::DuplicateKey { index: def.name.clone(), key: k.render(), existing };
            if let Some(other) = self.unique_added.get(&uk) {
                if *other != rid {
                    return Err(FormError::Fail(dup(*other)));
                }
            }
            if let Some(other) = self.pending.unique_taken(&uk) {
                if other != rid {
                    return Err(FormError::Fail(dup(other)));
                }
            }
            let name = def.name.to_lowercase();
            let index = self.new_indexes.get(&name).or_else(|| self.st.indexes.get(&name));
            let applied = index.map(|i| i.get(&k)).unwrap_or_default();
            if let Some(other) = applied.into_iter().find(|r| *r != rid) {
                if let Some(lsn) = self.pending.unique_freed(&uk) {
                    return Err(FormError::Retry(lsn));
                }
                if !self.unique_removed.contains(&uk) {
                    return Err(FormError::Fail(dup(other)));
                }
            }
            self.unique_removed.remove(&uk);
            self.unique_added.insert(uk, rid);
        }
        Ok(())
    }

    fn check_fields_for(&self, kind: RecordKind, fields: &Document) -> FormResult<()> {
        if kind == RecordKind::Vertex || kind == RecordKind::Edge {
            if let Some(name) = fields.names().find(|n| is_graph_field(n)) {
                return Err(invalid(format!(
                    "field '{name}' is managed by the graph (edges are created with CREATE EDGE, not as fields)"
                )));
            }
        }
        Ok(())
    }

    fn create(&mut self, temp: Rid, class: &str, fields: Document) -> FormResult<()> {
        let c = self.concrete_class(class)?;
        let kind = self.schema.kind_of(&c.name);
        if kind == RecordKind::Edge {
            return Err(invalid(format!(
                "'{}' is an edge class: create edges with CREATE EDGE ... FROM ... TO",
                c.name
            )));
        }
        let fields = self.resolve_fields(fields)?;
        self.check_fields_for(kind, &fields)?;
        let fields = conform(&self.schema, &c.name, fields, None)?;
        let rid = self.next_rid(c.clusters[0]);
        self.check_unique(&c.name, rid, None, Some(&fields))?;
        let body = record::encode_body(kind, &[], &fields);
        self.local.insert(
            rid,
            Local {
                class: c.name.clone(),
                kind,
                fields,
                bags: Vec::new(),
                insert_op: Some(self.ops.len()),
                version: 0,
            },
        );
        self.ops.push(Op::Insert { rid, body });
        self.temps.insert(temp, rid);
        self.effects.created.push((rid, kind));
        Ok(())
    }

    /// The current state of a record for this transaction, reading it if needed. `exact`
    /// asks for its precise version and edges: a pending entry changing it means waiting.
    fn load(&mut self, rid: Rid, exact: bool) -> FormResult<Option<Local>> {
        if self.deleted.contains(&rid) {
            return Ok(None);
        }
        if let Some(l) = self.local.get(&rid) {
            return Ok(Some(l.clone()));
        }
        if let Some(lsn) = self.pending.deleting(rid) {
            return Err(FormError::Retry(lsn));
        }
        if exact {
            if let Some(lsn) = self.pending.involving(rid) {
                return Err(FormError::Retry(lsn));
            }
        } else if let Some(kind) = self.pending.created_kind(rid) {
            // Created by a pending entry: it exists; only its kind matters here.
            let class = self.schema.class_of_cluster(rid.cluster).map(|c| c.name.clone()).unwrap_or_default();
            return Ok(Some(Local {
                class,
                kind,
                fields: Document::new(),
                bags: Vec::new(),
                insert_op: None,
                version: 1,
            }));
        }
        let Some(r) = self.st.get(rid)? else { return Ok(None) };
        let fields = r.fields().map_err(|e| Error::Invalid(format!("record {rid}: {e}")))?;
        let bags = r.bags().map_err(|e| Error::Invalid(format!("record {rid}: {e}")))?;
        let kind = r.kind();
        Ok(Some(Local { class: r.class.to_string(), kind, fields, bags, insert_op: None, version: r.version }))
    }

    /// Checks that `rid` is a vertex that exists (or will, once pending entries apply).
    /// Reads only the record's kind: edge creation in bulk must not decode whole vertices.
    fn vertex(&mut self, rid: Rid, role: &str) -> FormResult<()> {
        if self.deleted.contains(&rid) {
            return Err(FormError::Fail(Error::RecordNotFound(rid)));
        }
        let kind = if let Some(l) = self.local.get(&rid) {
            Some(l.kind)
        } else if let Some(lsn) = self.pending.deleting(rid) {
            return Err(FormError::Retry(lsn));
        } else if let Some(k) = self.pending.created_kind(rid) {
            Some(k)
        } else {
            // In place: only the kind byte is needed, not a copy of the vertex.
            self.st.get_ref(rid)?.map(|(_, body)| record::body_kind(&body))
        };
        match kind {
            Some(RecordKind::Vertex) => Ok(()),
            Some(_) => {
                let class = self.schema.class_of_cluster(rid.cluster).map(|c| c.name.clone()).unwrap_or_default();
                Err(invalid(format!("the {role} of an edge must be a vertex; {rid} is a record of class '{class}'")))
            }
            None => Err(FormError::Fail(Error::RecordNotFound(rid))),
        }
    }

    fn create_edge(&mut self, temp: Rid, class: &str, from: Rid, to: Rid, fields: Document) -> FormResult<()> {
        let c = self.concrete_class(class)?;
        if self.schema.kind_of(&c.name) != RecordKind::Edge {
            return Err(invalid(format!("'{}' is not an edge class (edge classes extend E)", c.name)));
        }
        let (from, to) = (self.resolve(from)?, self.resolve(to)?);
        self.vertex(from, "FROM end")?;
        self.vertex(to, "TO end")?;
        let user = self.resolve_fields(fields)?;
        self.check_fields_for(RecordKind::Edge, &user)?;
        let mut fields = Document::new().with("out", Value::Link(from)).with("in", Value::Link(to));
        for (k, v) in user.into_fields() {
            fields.set(k, v);
        }
        let fields = conform(&self.schema, &c.name, fields, None)?;
        let rid = self.next_rid(c.clusters[0]);
        self.check_unique(&c.name, rid, None, Some(&fields))?;
        let body = record::encode_body(RecordKind::Edge, &[], &fields);
        self.local.insert(
            rid,
            Local {
                class: c.name.clone(),
                kind: RecordKind::Edge,
                fields,
                bags: Vec::new(),
                insert_op: Some(self.ops.len()),
                version: 0,
            },
        );
        self.ops.push(Op::Insert { rid, body });
        self.temps.insert(temp, rid);
        self.effects.created.push((rid, RecordKind::Edge));
        self.link(from, Direction::Out, &c.name, rid, to, true);
        self.link(to, Direction::In, &c.name, rid, from, true);
        self.new_edge_ends.insert(from);
        self.new_edge_ends.insert(to);
        Ok(())
    }

    /// Emits a link op and keeps the local view of the vertex's bags (if it has one).
    fn link(&mut self, vertex: Rid, direction: Direction, label: &str, edge: Rid, other: Rid, add: bool) {
        if add {
            self.ops.push(Op::LinkAdd { vertex, direction, label: label.to_string(), edge, other });
        } else {
            self.ops.push(Op::LinkRemove { vertex, direction, label: label.to_string(), edge });
        }
        if let Some(l) = self.local.get_mut(&vertex) {
            match l.bags.iter_mut().find(|b| b.direction == direction && b.label == label) {
                Some(b) if add => b.links.push((edge, other)),
                Some(b) => b.links.retain(|(e, _)| *e != edge),
                None if add => l.bags.push(LinkBag { direction, label: label.to_string(), links: vec![(edge, other)] }),
                None => {}
            }
        }
        if self.local.get(&vertex).is_none_or(|l| l.insert_op.is_none()) {
            self.effects.touched.push(vertex);
        }
    }

    fn checked(&mut self, rid: Rid, version: Option<u32>) -> FormResult<Local> {
        if rid.cluster == crate::schema::INTERNAL_CLUSTER {
            return Err(invalid(format!(
                "{rid} is in the internal cluster (it holds the schema); change it with schema statements"
            )));
        }
        let Some(l) = self.load(rid, true)? else { return Err(FormError::Fail(Error::RecordNotFound(rid))) };
        if let Some(v) = version {
            if l.insert_op.is_none() && v != l.version {
                return Err(FormError::Fail(Error::Conflict { rid, expected: v, found: l.version }));
            }
        }
        Ok(l)
    }

    fn update(&mut self, rid: Rid, version: Option<u32>, fields: Document) -> FormResult<()> {
        let rid = self.resolve(rid)?;
        let l = self.checked(rid, version)?;
        let mut fields = self.resolve_fields(fields)?;
        if l.kind == RecordKind::Edge {
            for end in ["out", "in"] {
                match (fields.get(end), l.fields.get(end)) {
                    (Some(new), Some(old)) if new.as_rid() != old.as_rid() => {
                        return Err(invalid(format!(
                            "edge {rid}: its '{end}' end cannot change; delete it and create another"
                        )))
                    }
                    _ => {}
                }
            }
            let mut with_ends = Document::new();
            for end in ["out", "in"] {
                if let Some(v) = l.fields.get(end) {
                    with_ends.set(end, v.clone());
                }
            }
            for (k, v) in fields.into_fields() {
                if k != "out" && k != "in" {
                    with_ends.set(k, v);
                }
            }
            fields = with_ends;
        } else {
            self.check_fields_for(l.kind, &fields)?;
        }
        let fields = conform(&self.schema, &l.class, fields, Some(&l.fields))?;
        self.check_unique(&l.class, rid, Some(&l.fields), Some(&fields))?;
        // A record created by this transaction gets its new fields in its insert, unless an
        // op since could free a unique key or change the schema (an update, a delete, a
        // schema change): applied that early, the new fields could clash with a key freed,
        // or an index dropped, only later in the entry. Then an update op follows instead.
        let rewrite = l.insert_op.filter(|i| {
            self.ops[i + 1..]
                .iter()
                .all(|op| matches!(op, Op::Insert { .. } | Op::LinkAdd { .. } | Op::LinkRemove { .. }))
        });
        match rewrite {
            Some(i) => {
                // Links made since are LinkAdd ops of their own: the insert carries none.
                self.ops[i] = Op::Insert { rid, body: record::encode_body(l.kind, &[], &fields) };
            }
            None => {
                let mut bytes = Vec::new();
                record::put_fields(&mut bytes, &fields);
                self.ops.push(Op::Update { rid, fields: bytes });
                if l.insert_op.is_none() {
                    self.effects.touched.push(rid);
                }
            }
        }
        let mut l = l;
        l.fields = fields;
        self.local.insert(rid, l);
        Ok(())
    }

    fn delete(&mut self, rid: Rid, version: Option<u32>) -> FormResult<()> {
        let rid = self.resolve(rid)?;
        let l = self.checked(rid, version)?;
        if l.insert_op.is_some() {
            return Err(invalid(format!("{rid} was created in this transaction; it cannot be deleted in it too")));
        }
        if rid == crate::state::SCHEMA_RID {
            return Err(invalid("the schema record cannot be deleted"));
        }
        match l.kind {
            RecordKind::Vertex => {
                // Its new edge would have to go too, but a record cannot be created and
                // deleted in one transaction. Checked here: the loaded bags may lack it, and
                // the entry would then fail at apply ("still has edges").
                if self.new_edge_ends.contains(&rid) {
                    return Err(invalid(format!(
                        "vertex {rid} has an edge created in this transaction; it cannot be deleted in it too"
                    )));
                }
                self.local.insert(rid, l.clone());
                for bag in &l.bags {
                    for (edge, _) in &bag.links {
                        if !self.deleted.contains(edge) {
                            self.delete_edge(*edge)?;
                        }
                    }
                }
            }
            RecordKind::Edge => {
                self.local.insert(rid, l.clone());
                self.delete_edge(rid)?;
                return Ok(());
            }
            RecordKind::Document => {}
        }
        self.check_unique(&l.class, rid, Some(&l.fields), None)?;
        self.ops.push(Op::Delete { rid });
        self.deleted.insert(rid);
        self.local.remove(&rid);
        self.effects.deleted.push(rid);
        Ok(())
    }

    fn delete_edge(&mut self, edge: Rid) -> FormResult<()> {
        let Some(l) = self.load(edge, false)? else { return Err(FormError::Fail(Error::RecordNotFound(edge))) };
        if l.insert_op.is_some() {
            return Err(invalid(format!(
                "edge {edge} was created in this transaction; it cannot be deleted in it too"
            )));
        }
        let l = match self.pending.involving(edge) {
            Some(lsn) => return Err(FormError::Retry(lsn)),
            None => l,
        };
        let end = |name: &str| l.fields.get(name).and_then(Value::as_rid);
        let (Some(out), Some(inn)) = (end("out"), end("in")) else {
            return Err(invalid(format!("edge {edge} has no out/in ends")));
        };
        for (v, dir) in [(out, Direction::Out), (inn, Direction::In)] {
            // A vertex deleted earlier in this transaction already dropped its links.
            if !self.deleted.contains(&v) && self.load(v, false)?.is_some() {
                self.link(v, dir, &l.class, edge, Rid::default(), false);
            }
        }
        self.check_unique(&l.class, edge, Some(&l.fields), None)?;
        self.ops.push(Op::Delete { rid: edge });
        self.deleted.insert(edge);
        self.local.remove(&edge);
        self.effects.deleted.push(edge);
        Ok(())
    }

    fn schema_request(&mut self, req: &SchemaRequest) -> FormResult<()> {
        let change = match req {
            SchemaRequest::CreateClass { name, superclass, is_abstract } => SchemaChange::CreateClass {
                name: name.clone(),
                superclass: superclass.clone(),
                is_abstract: *is_abstract,
                cluster: (!is_abstract).then_some(self.schema.next_cluster_id),
            },
            SchemaRequest::SetAbstract { name, is_abstract } => {
                let c = self.schema.class_or_err(name)?;
                let cluster = (!is_abstract && c.clusters.is_empty()).then_some(self.schema.next_cluster_id);
                SchemaChange::SetAbstract { name: c.name.clone(), is_abstract: *is_abstract, cluster }
            }
            SchemaRequest::DropClass { name, unsafe_drop } => {
                self.drop_class_records(name, *unsafe_drop)?;
                SchemaChange::DropClass { name: name.clone() }
            }
            SchemaRequest::Change(c) => c.clone(),
        };
        if let SchemaChange::CreateIndex { index } = &change {
            // The records as this transaction sees them (its own earlier changes included)
            // must fit a unique index, and later intents are checked against them.
            let mut probe = self.schema.clone();
            probe.apply(&change)?;
            let def = probe.index(&index.name).cloned().ok_or_else(|| Error::IndexNotFound(index.name.clone()))?;
            if def.unique {
                self.build_new_index(&probe, def)?;
            }
        }
        if let SchemaChange::AlterProperty { class, property } | SchemaChange::CreateProperty { class, property } =
            &change
        {
            self.check_existing_values(class, property)?;
        }
        self.schema.apply(&change)?;
        self.ops.push(Op::Schema(change));
        Ok(())
    }

    /// The live records of some clusters as this transaction sees them: the applied ones
    /// it has not deleted, then the ones it created; by cluster, then position. (Schema
    /// changes form with no entry pending, so the applied state is exact here.)
    fn live_rids(&self, clusters: &[i32]) -> FormResult<Vec<Rid>> {
        let mut out = Vec::new();
        for id in clusters {
            if let Some(cl) = self.st.clusters.get(id) {
                let mut pos = 0;
                while let Some(at) = cl.next_live(pos)? {
                    pos = at + 1;
                    let rid = Rid::new(*id, at as i64);
                    if !self.deleted.contains(&rid) {
                        out.push(rid);
                    }
                }
            }
            let mut created: Vec<Rid> =
                self.local.iter().filter(|(r, l)| r.cluster == *id && l.insert_op.is_some()).map(|(r, _)| *r).collect();
            created.sort_unstable();
            out.extend(created);
        }
        Ok(out)
    }

    /// A live record's fields as this transaction sees them.
    fn current_fields(&self, rid: Rid) -> FormResult<Document> {
        if let Some(l) = self.local.get(&rid) {
            return Ok(l.fields.clone());
        }
        let r = self.st.get(rid)?.ok_or(Error::RecordNotFound(rid))?;
        Ok(r.fields().map_err(|e| Error::Invalid(format!("record {rid}: {e}")))?)
    }

    /// Builds a unique index this transaction creates from the records it sees, failing on
    /// a duplicate key, and keeps it for checking the keys of later intents.
    fn build_new_index(&mut self, schema: &Schema, def: crate::schema::IndexDef) -> FormResult<()> {
        let name = def.name.to_lowercase();
        let mut idx = Index::new(def);
        for class in schema.with_subclasses(&idx.def.class) {
            for rid in self.live_rids(&class.clusters)? {
                let Some(k) = Index::key_of(&idx.def, &self.current_fields(rid)?) else { continue };
                if let Err(existing) = idx.insert(k.clone(), rid) {
                    let e = Error::DuplicateKey { index: idx.def.name.clone(), key: k.render(), existing };
                    return Err(FormError::Fail(e));
                }
            }
        }
        // Keys noted for an index of the same name dropped earlier in this transaction.
        self.unique_added.retain(|(n, _), _| *n != name);
        self.unique_removed.retain(|(n, _)| *n != name);
        self.new_indexes.insert(name, idx);
        Ok(())
    }

    /// A new or changed property must fit the values records already hold (including those
    /// this transaction created or changed before).
    fn check_existing_values(&self, class: &str, p: &crate::schema::PropertyDef) -> FormResult<()> {
        let Some(c) = self.schema.class(class) else { return Ok(()) };
        for sub in self.schema.with_subclasses(&c.name) {
            for rid in self.live_rids(&sub.clusters)? {
                let fields = self.current_fields(rid)?;
                let v = fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(&p.name)).map(|(_, v)| v.clone());
                match v {
                    None if p.mandatory => {
                        return Err(invalid(format!("record {rid} has no '{}', which would be mandatory", p.name)))
                    }
                    Some(v) => {
                        if p.not_null && v.is_null() {
                            return Err(invalid(format!(
                                "record {rid} has a null '{}', which would be not-null",
                                p.name
                            )));
                        }
                        crate::convert::coerce(v, p.ty, p.linked_type)
                            .map_err(|why| invalid(format!("record {rid}: '{}': {why}", p.name)))?;
                    }
                    None => {}
                }
            }
        }
        Ok(())
    }

    fn drop_class_records(&mut self, name: &str, unsafe_drop: bool) -> FormResult<()> {
        let c = self.schema.class_or_err(name)?.clone();
        let rids = self.live_rids(&c.clusters)?;
        if rids.is_empty() {
            return Ok(());
        }
        if !unsafe_drop {
            return Err(invalid(format!(
                "class '{}' has {} records; delete them first or use DROP CLASS {} UNSAFE",
                c.name,
                rids.len(),
                c.name
            )));
        }
        for rid in rids {
            if !self.deleted.contains(&rid) {
                self.delete(rid, None)?;
            }
        }
        Ok(())
    }
}
