//! Model-based property test of the engine: random transactions (classes with superclasses,
//! typed properties, unique and not-unique single and composite indexes, vertices, documents,
//! edges with self-loops and parallel edges, updates with right and stale versions, deletes,
//! class drops with and without UNSAFE, several intents per transaction linked by temporary
//! RIDs), clean and unclean reopenings and explicit checkpoints, applied both to a database
//! and to a plain in-memory model.
//!
//! The model knows nothing of pages or logs: a map of records (class, version, fields, link
//! bags), the schema, and index contents derived from the records. It predicts the RID of
//! every new record (positions handed out densely per cluster, never reused), every version
//! (1 when created, one more per transaction that changes a record's fields or links), which
//! transactions fail and with what kind of error, and that a failed transaction changes
//! nothing. After every step the database must agree with it on every record, class counts,
//! index contents and lookups, the schema, the applied LSN, and
//! `snapshot().digest() == snapshot().full_digest()`.
//!
//! 64 cases by default (2 to 15 s in a debug build on a 2-core machine, by disk load);
//! `PROPTEST_CASES=n` runs more, and `--nocapture` prints what the runs exercised (commits,
//! failures by kind, self-loops and parallel edges, reopenings). Failures found so far are
//! kept as named regression tests at the end of the file.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use basalt_engine::index::Key;
use basalt_engine::record::LinkBag;
use basalt_engine::schema::{ClassDef, ClusterDef, Schema};
use basalt_engine::{
    Database, Direction, Document, Error, IndexDef, Options, PropertyDef, PropertyType, RecordKind, Rid, SchemaChange,
    SchemaRequest, Transaction, Value,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// Generated steps. Picks (`usize`) are resolved against the model when the step runs, so
// every step refers to things that exist (or, on purpose, do not).
// ---------------------------------------------------------------------------------------

/// A field value as generated.
#[derive(Debug, Clone)]
enum ValSeed {
    Int(i8),
    Str(u8),
    Null,
    /// A link to a record created earlier in the transaction (or an existing one).
    Link(usize),
}

/// Which record an intent addresses.
#[derive(Debug, Clone)]
enum Target {
    /// A live record (of the kind the intent prefers, if `typed`).
    Live { pick: usize, typed: bool },
    /// A record created earlier in the same transaction (temporary RID; of the kind the
    /// intent prefers, if `typed`).
    Temp { pick: usize, typed: bool },
    /// A record deleted earlier.
    Gone(usize),
    /// A RID that never existed.
    Missing,
}

/// The version an update or delete names.
#[derive(Debug, Clone)]
enum VersionSeed {
    Unchecked,
    Right,
    Stale(bool),
}

#[derive(Debug, Clone)]
enum IntentSeed {
    /// An intent given whole (the setup transaction).
    Fixed(Intent),
    CreateClass {
        name: u8,
        superclass: Option<usize>,
        is_abstract: bool,
    },
    CreateProperty {
        class: usize,
        field: u8,
        ty: u8,
    },
    CreateIndex {
        name: u8,
        class: usize,
        fields: Vec<u8>,
        unique: bool,
    },
    DropIndex {
        pick: usize,
        bogus: bool,
    },
    Create {
        class: usize,
        typed: bool,
        fields: Vec<(u8, ValSeed)>,
    },
    CreateEdge {
        class: usize,
        typed: bool,
        from: Target,
        to: Target,
        fields: Vec<(u8, ValSeed)>,
    },
    Update {
        target: Target,
        version: VersionSeed,
        fields: Vec<(u8, ValSeed)>,
    },
    Delete {
        target: Target,
        version: VersionSeed,
    },
    DropClass {
        class: usize,
        unsafe_drop: bool,
    },
}

#[derive(Debug, Clone)]
enum Step {
    Tx(Vec<IntentSeed>),
    /// `close` and open again.
    Reopen,
    /// Drop without closing and open again (redo from the WAL).
    Crash,
    /// An explicit checkpoint.
    Checkpoint,
}

#[derive(Debug, Clone)]
struct Case {
    checkpoint_dirty_pages: usize,
    wal_segment_bytes: u64,
    steps: Vec<Step>,
}

const CLASS_NAMES: [&str; 8] = ["C0", "C1", "C2", "c1", "Person", "9x", "_u", "C3"];
const INDEX_NAMES: [&str; 4] = ["I0", "I1", "i0", "I2"];
const FIELDS: [&str; 4] = ["a", "b", "k", "in"];
const PROPERTY_TYPES: [PropertyType; 3] = [PropertyType::Integer, PropertyType::Long, PropertyType::String];
const STRINGS: [&str; 5] = ["x", "7", "yy", "-3", " 12 "];

fn val_seed() -> impl Strategy<Value = ValSeed> {
    prop_oneof![
        5 => (-1i8..4).prop_map(ValSeed::Int),
        4 => any::<u8>().prop_map(ValSeed::Str),
        1 => Just(ValSeed::Null),
        1 => any::<usize>().prop_map(ValSeed::Link),
    ]
}

fn fields_seed() -> impl Strategy<Value = Vec<(u8, ValSeed)>> {
    // "in" (the last name) only now and then: it is a graph field for vertices and edges.
    let name = prop_oneof![40 => 0u8..3, 1 => Just(3u8)];
    prop::collection::vec((name, val_seed()), 0..3)
}

/// A target; `temp` weighs picks of records created earlier in the transaction.
fn target(temp: u32) -> impl Strategy<Value = Target> {
    prop_oneof![
        20 => (any::<usize>(), prop::bool::weighted(0.9)).prop_map(|(pick, typed)| Target::Live { pick, typed }),
        temp => (any::<usize>(), prop::bool::weighted(0.9)).prop_map(|(pick, typed)| Target::Temp { pick, typed }),
        1 => any::<usize>().prop_map(Target::Gone),
        1 => Just(Target::Missing),
    ]
}

fn version_seed() -> impl Strategy<Value = VersionSeed> {
    prop_oneof![3 => Just(VersionSeed::Unchecked), 4 => Just(VersionSeed::Right), 1 => any::<bool>().prop_map(VersionSeed::Stale)]
}

fn intent_seed() -> impl Strategy<Value = IntentSeed> {
    prop_oneof![
        3 => (any::<u8>(), prop::option::weighted(0.8, any::<usize>()), prop::bool::weighted(0.15))
            .prop_map(|(name, superclass, is_abstract)| IntentSeed::CreateClass { name, superclass, is_abstract }),
        3 => (any::<usize>(), 0u8..3, 0u8..3)
            .prop_map(|(class, field, ty)| IntentSeed::CreateProperty { class, field, ty }),
        3 => (any::<u8>(), any::<usize>(), prop::collection::vec(0u8..3, 1..3), any::<bool>())
            .prop_map(|(name, class, fields, unique)| IntentSeed::CreateIndex { name, class, fields, unique }),
        1 => (any::<usize>(), prop::bool::weighted(0.2)).prop_map(|(pick, bogus)| IntentSeed::DropIndex { pick, bogus }),
        30 => (any::<usize>(), prop::bool::weighted(0.9), fields_seed())
            .prop_map(|(class, typed, fields)| IntentSeed::Create { class, typed, fields }),
        24 => (any::<usize>(), prop::bool::weighted(0.9), target(6), target(6), fields_seed())
            .prop_map(|(class, typed, from, to, fields)| IntentSeed::CreateEdge { class, typed, from, to, fields }),
        18 => (target(3), version_seed(), fields_seed())
            .prop_map(|(target, version, fields)| IntentSeed::Update { target, version, fields }),
        9 => (target(1), version_seed()).prop_map(|(target, version)| IntentSeed::Delete { target, version }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(class, unsafe_drop)| IntentSeed::DropClass { class, unsafe_drop }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        24 => prop::collection::vec(intent_seed(), 1..5).prop_map(Step::Tx),
        1 => Just(Step::Reopen),
        1 => Just(Step::Crash),
        1 => Just(Step::Checkpoint),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(vec![1usize, 3, 16, 8192]),
        prop::sample::select(vec![16u64 << 10, 64 << 20]),
        prop::collection::vec(step(), 1..40),
    )
        .prop_map(|(checkpoint_dirty_pages, wal_segment_bytes, steps)| Case {
            checkpoint_dirty_pages,
            wal_segment_bytes,
            steps,
        })
}

// ---------------------------------------------------------------------------------------
// The model.
// ---------------------------------------------------------------------------------------

/// The kind of error a transaction fails with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fail {
    NotFound,
    Conflict,
    Duplicate,
    Invalid,
    ClassNotFound,
    ClassExists,
    PropertyExists,
    IndexExists,
    IndexNotFound,
}

fn fail_of(e: &Error) -> Fail {
    match e {
        Error::RecordNotFound(_) => Fail::NotFound,
        Error::Conflict { .. } => Fail::Conflict,
        Error::DuplicateKey { .. } => Fail::Duplicate,
        Error::Invalid(_) => Fail::Invalid,
        Error::ClassNotFound(_) => Fail::ClassNotFound,
        Error::ClassExists(_) => Fail::ClassExists,
        Error::PropertyExists { .. } => Fail::PropertyExists,
        Error::IndexExists(_) => Fail::IndexExists,
        Error::IndexNotFound(_) => Fail::IndexNotFound,
        other => panic!("a transaction failed with an error no model predicts: {other}"),
    }
}

#[derive(Debug, Clone, PartialEq)]
struct MRecord {
    class: String,
    version: u32,
    fields: Document,
    bags: Vec<LinkBag>,
}

#[derive(Debug, Clone)]
struct Model {
    /// The schema as the database must report it.
    schema: Schema,
    /// Live records (the schema record `#0:0` aside).
    records: BTreeMap<Rid, MRecord>,
    /// Records deleted (directly, with a vertex, or with their class).
    gone: BTreeSet<Rid>,
    /// Next position per cluster.
    next_position: BTreeMap<i32, i64>,
    /// Version of the schema record.
    schema_version: u32,
    /// LSN of the last committed transaction.
    lsn: u64,
}

fn lower(s: &str) -> String {
    s.to_lowercase()
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '$')
}

fn is_graph_field(name: &str) -> bool {
    name == "out" || name == "in" || name.starts_with("out_") || name.starts_with("in_")
}

/// Conversion to a declared type, for the value kinds this test generates.
fn coerce(v: &Value, ty: PropertyType) -> Option<Value> {
    let int = |v: &Value| -> Option<i64> {
        match v {
            Value::Int(i) => Some(i64::from(*i)),
            Value::Long(l) => Some(*l),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    };
    Some(match (ty, v) {
        (_, Value::Null) => Value::Null,
        (PropertyType::Integer, _) => Value::Int(i32::try_from(int(v)?).ok()?),
        (PropertyType::Long, _) => Value::Long(int(v)?),
        (PropertyType::String, Value::String(_)) => v.clone(),
        (PropertyType::String, Value::Int(i)) => Value::String(i.to_string()),
        (PropertyType::String, Value::Long(i)) => Value::String(i.to_string()),
        (PropertyType::String, Value::Link(r)) => Value::String(r.to_string()),
        _ => return None,
    })
}

/// Index key values, normalised as the engine's keys are (integers of any width alike).
fn key_of(def: &IndexDef, fields: &Document) -> Option<Vec<Value>> {
    let values: Vec<Value> = def
        .fields
        .iter()
        .map(|f| {
            let v = fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(f)).map(|(_, v)| v.clone());
            match v {
                Some(Value::Int(i)) => Value::Long(i64::from(i)),
                Some(v) => v,
                None => Value::Null,
            }
        })
        .collect();
    if values.iter().all(Value::is_null) {
        None
    } else {
        Some(values)
    }
}

impl Model {
    fn new() -> Model {
        Model {
            schema: Schema::initial(),
            records: BTreeMap::new(),
            gone: BTreeSet::new(),
            next_position: BTreeMap::new(),
            schema_version: 1,
            lsn: 0,
        }
    }

    fn class(&self, name: &str) -> Option<&ClassDef> {
        self.schema.classes.get(&lower(name))
    }

    fn is_subclass_of(&self, name: &str, ancestor: &str) -> bool {
        let mut cur = self.class(name);
        while let Some(c) = cur {
            if c.name.eq_ignore_ascii_case(ancestor) {
                return true;
            }
            cur = c.superclass.as_deref().and_then(|s| self.class(s));
        }
        false
    }

    fn kind(&self, class: &str) -> RecordKind {
        if self.is_subclass_of(class, "V") {
            RecordKind::Vertex
        } else if self.is_subclass_of(class, "E") {
            RecordKind::Edge
        } else {
            RecordKind::Document
        }
    }

    /// Every property that applies to a class, by lower-case name (a subclass's own win).
    fn properties_of(&self, class: &str) -> BTreeMap<String, PropertyDef> {
        let mut chain = Vec::new();
        let mut cur = self.class(class);
        while let Some(c) = cur {
            chain.push(c);
            cur = c.superclass.as_deref().and_then(|s| self.class(s));
        }
        let mut out = BTreeMap::new();
        for c in chain.into_iter().rev() {
            for (k, p) in &c.properties {
                out.insert(k.clone(), p.clone());
            }
        }
        out
    }

    /// Classes sorted by lower-case name.
    fn class_names(&self) -> Vec<String> {
        self.schema.classes.values().map(|c| c.name.clone()).collect()
    }

    fn live_of(&self, pred: impl Fn(&Rid, &MRecord) -> bool) -> Vec<Rid> {
        self.records.iter().filter(|(r, m)| pred(r, m)).map(|(r, _)| *r).collect()
    }

    /// Records a class holds, with its subclasses if `polymorphic`.
    fn count(&self, class: &str, polymorphic: bool) -> u64 {
        self.records
            .values()
            .filter(|m| {
                if polymorphic {
                    self.is_subclass_of(&m.class, class)
                } else {
                    m.class.eq_ignore_ascii_case(class)
                }
            })
            .count() as u64
    }

    fn covered(&self, def: &IndexDef) -> Vec<(Rid, &MRecord)> {
        self.records.iter().filter(|(_, m)| self.is_subclass_of(&m.class, &def.class)).map(|(r, m)| (*r, m)).collect()
    }

    /// Index contents derived from the records: (debug form of the key, rid).
    fn index_entries(&self, def: &IndexDef) -> BTreeSet<(String, Rid)> {
        self.covered(def)
            .into_iter()
            .filter_map(|(r, m)| key_of(def, &m.fields).map(|k| (format!("{k:?}"), r)))
            .collect()
    }

    /// True if some unique index holds one key for two records.
    fn has_duplicate(&self, def: &IndexDef) -> bool {
        let mut seen = BTreeSet::new();
        self.index_entries(def).into_iter().any(|(k, _)| !seen.insert(k))
    }

    fn unique_ok(&self) -> Result<(), Fail> {
        for def in self.schema.indexes.values().filter(|d| d.unique) {
            if self.has_duplicate(def) {
                return Err(Fail::Duplicate);
            }
        }
        Ok(())
    }
}

/// A transaction being simulated against a copy of the model.
struct Sim {
    m: Model,
    /// Temporary RID to real RID.
    temps: BTreeMap<Rid, Rid>,
    /// Temporary RIDs handed out, in order (with the kind of what they name).
    temp_list: Vec<Rid>,
    created: BTreeSet<Rid>,
    /// Existing records whose fields or links changed.
    touched: BTreeSet<Rid>,
    /// Vertices linked by an edge created in this transaction.
    new_edge_ends: BTreeSet<Rid>,
    schema_changed: bool,
}

impl Sim {
    fn new(m: &Model) -> Sim {
        Sim {
            m: m.clone(),
            temps: BTreeMap::new(),
            temp_list: Vec::new(),
            created: BTreeSet::new(),
            touched: BTreeSet::new(),
            new_edge_ends: BTreeSet::new(),
            schema_changed: false,
        }
    }

    fn next_temp(&mut self) -> Rid {
        let t = Rid::new(-1, -2 - self.temp_list.len() as i64);
        self.temp_list.push(t);
        t
    }

    fn resolve(&self, rid: Rid) -> Rid {
        if rid.is_temporary() {
            self.temps[&rid]
        } else {
            rid
        }
    }

    fn resolve_fields(&self, d: &Document) -> Document {
        d.iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::Link(r) => Value::Link(self.resolve(*r)),
                    other => other.clone(),
                };
                (k.to_string(), v)
            })
            .collect()
    }

    fn conform(&self, class: &str, fields: Document) -> Result<Document, Fail> {
        let props = self.m.properties_of(class);
        let mut out = Document::new();
        for (name, v) in fields.into_fields() {
            match props.get(&lower(&name)) {
                Some(p) => out.set(name, coerce(&v, p.ty).ok_or(Fail::Invalid)?),
                None => out.set(name, v),
            }
        }
        Ok(out)
    }

    fn alloc(&mut self, cluster: i32) -> Rid {
        let next = self.m.next_position.entry(cluster).or_insert(0);
        let rid = Rid::new(cluster, *next);
        *next += 1;
        rid
    }

    fn touch(&mut self, rid: Rid) {
        if !self.created.contains(&rid) {
            self.touched.insert(rid);
        }
    }

    fn concrete(&self, class: &str) -> Result<ClassDef, Fail> {
        let c = self.m.class(class).ok_or(Fail::ClassNotFound)?.clone();
        if c.is_abstract || c.clusters.is_empty() {
            return Err(Fail::Invalid);
        }
        Ok(c)
    }

    fn create(&mut self, temp: Rid, class: &str, fields: &Document) -> Result<(), Fail> {
        let c = self.concrete(class)?;
        let kind = self.m.kind(&c.name);
        if kind == RecordKind::Edge {
            return Err(Fail::Invalid);
        }
        let fields = self.resolve_fields(fields);
        if kind == RecordKind::Vertex && fields.names().any(is_graph_field) {
            return Err(Fail::Invalid);
        }
        let fields = self.conform(&c.name, fields)?;
        let rid = self.alloc(c.clusters[0]);
        self.m.records.insert(rid, MRecord { class: c.name.clone(), version: 1, fields, bags: Vec::new() });
        self.created.insert(rid);
        self.temps.insert(temp, rid);
        self.m.unique_ok()
    }

    fn vertex(&self, rid: Rid) -> Result<(), Fail> {
        let r = self.m.records.get(&rid).ok_or(Fail::NotFound)?;
        if self.m.kind(&r.class) != RecordKind::Vertex {
            return Err(Fail::Invalid);
        }
        Ok(())
    }

    fn link(&mut self, vertex: Rid, direction: Direction, label: &str, edge: Rid, other: Rid) {
        let r = self.m.records.get_mut(&vertex).unwrap();
        match r.bags.iter_mut().find(|b| b.direction == direction && b.label == label) {
            Some(b) => b.links.push((edge, other)),
            None => r.bags.push(LinkBag { direction, label: label.to_string(), links: vec![(edge, other)] }),
        }
        self.touch(vertex);
    }

    fn unlink(&mut self, vertex: Rid, direction: Direction, label: &str, edge: Rid) {
        let r = self.m.records.get_mut(&vertex).unwrap();
        let i = r.bags.iter().position(|b| b.direction == direction && b.label.eq_ignore_ascii_case(label)).unwrap();
        r.bags[i].links.retain(|(e, _)| *e != edge);
        if r.bags[i].links.is_empty() {
            r.bags.remove(i);
        }
        self.touch(vertex);
    }

    fn create_edge(&mut self, temp: Rid, class: &str, from: Rid, to: Rid, fields: &Document) -> Result<(), Fail> {
        let c = self.concrete(class)?;
        if self.m.kind(&c.name) != RecordKind::Edge {
            return Err(Fail::Invalid);
        }
        let (from, to) = (self.resolve(from), self.resolve(to));
        self.vertex(from)?;
        self.vertex(to)?;
        let user = self.resolve_fields(fields);
        if user.names().any(is_graph_field) {
            return Err(Fail::Invalid);
        }
        let mut all = Document::new().with("out", Value::Link(from)).with("in", Value::Link(to));
        for (k, v) in user.into_fields() {
            all.set(k, v);
        }
        let all = self.conform(&c.name, all)?;
        let rid = self.alloc(c.clusters[0]);
        self.m.records.insert(rid, MRecord { class: c.name.clone(), version: 1, fields: all, bags: Vec::new() });
        self.created.insert(rid);
        self.temps.insert(temp, rid);
        self.m.unique_ok()?;
        self.link(from, Direction::Out, &c.name, rid, to);
        self.link(to, Direction::In, &c.name, rid, from);
        self.new_edge_ends.insert(from);
        self.new_edge_ends.insert(to);
        Ok(())
    }

    fn checked(&self, rid: Rid, version: Option<u32>) -> Result<MRecord, Fail> {
        let r = self.m.records.get(&rid).ok_or(Fail::NotFound)?.clone();
        if let Some(v) = version {
            if !self.created.contains(&rid) && v != r.version {
                return Err(Fail::Conflict);
            }
        }
        Ok(r)
    }

    fn update(&mut self, rid: Rid, version: Option<u32>, fields: &Document) -> Result<(), Fail> {
        let rid = self.resolve(rid);
        let old = self.checked(rid, version)?;
        let fields = self.resolve_fields(fields);
        let kind = self.m.kind(&old.class);
        let new = if kind == RecordKind::Edge {
            for end in ["out", "in"] {
                if let (Some(n), Some(o)) = (fields.get(end), old.fields.get(end)) {
                    if n.as_rid() != o.as_rid() {
                        return Err(Fail::Invalid);
                    }
                }
            }
            let mut with_ends = Document::new();
            for end in ["out", "in"] {
                if let Some(v) = old.fields.get(end) {
                    with_ends.set(end, v.clone());
                }
            }
            for (k, v) in fields.into_fields() {
                if k != "out" && k != "in" {
                    with_ends.set(k, v);
                }
            }
            with_ends
        } else {
            if kind == RecordKind::Vertex && fields.names().any(is_graph_field) {
                return Err(Fail::Invalid);
            }
            fields
        };
        let new = self.conform(&old.class, new)?;
        self.m.records.get_mut(&rid).unwrap().fields = new;
        self.touch(rid);
        self.m.unique_ok()
    }

    fn remove(&mut self, rid: Rid) {
        self.m.records.remove(&rid);
        self.m.gone.insert(rid);
    }

    fn delete_edge(&mut self, edge: Rid) {
        let e = self.m.records[&edge].clone();
        let end = |n: &str| e.fields.get(n).and_then(Value::as_rid).unwrap();
        for (v, dir) in [(end("out"), Direction::Out), (end("in"), Direction::In)] {
            if self.m.records.contains_key(&v) {
                self.unlink(v, dir, &e.class, edge);
            }
        }
        self.remove(edge);
    }

    fn delete(&mut self, rid: Rid, version: Option<u32>) -> Result<(), Fail> {
        let rid = self.resolve(rid);
        let r = self.checked(rid, version)?;
        if self.created.contains(&rid) {
            return Err(Fail::Invalid);
        }
        match self.m.kind(&r.class) {
            RecordKind::Vertex => {
                if self.new_edge_ends.contains(&rid) {
                    return Err(Fail::Invalid);
                }
                let edges: Vec<Rid> = r.bags.iter().flat_map(|b| b.links.iter().map(|(e, _)| *e)).collect();
                for e in edges {
                    if self.m.records.contains_key(&e) {
                        self.delete_edge(e);
                    }
                }
                self.remove(rid);
            }
            RecordKind::Edge => self.delete_edge(rid),
            RecordKind::Document => self.remove(rid),
        }
        Ok(())
    }

    /// Records of a class (with subclasses) as this transaction sees them, by class order
    /// (the class, then subclasses by name) then position.
    fn records_of(&self, class: &str) -> Vec<Rid> {
        let Some(c) = self.m.class(class) else { return Vec::new() };
        let mut classes = vec![c.name.clone()];
        let mut subs: Vec<String> = self
            .m
            .schema
            .classes
            .values()
            .filter(|x| x.name != c.name && self.m.is_subclass_of(&x.name, &c.name))
            .map(|x| x.name.clone())
            .collect();
        subs.sort();
        classes.extend(subs);
        classes.iter().flat_map(|cl| self.m.live_of(|_, m| m.class == *cl)).collect()
    }

    fn schema(&mut self, req: &SchemaRequest) -> Result<(), Fail> {
        self.schema_changed = true;
        match req {
            SchemaRequest::CreateClass { name, superclass, is_abstract } => {
                if !valid_name(name) {
                    return Err(Fail::Invalid);
                }
                if self.m.class(name).is_some() {
                    return Err(Fail::ClassExists);
                }
                let superclass = match superclass {
                    Some(s) => Some(self.m.class(s).ok_or(Fail::ClassNotFound)?.name.clone()),
                    None => None,
                };
                let s = &mut self.m.schema;
                let clusters = if *is_abstract {
                    Vec::new()
                } else {
                    let id = s.next_cluster_id;
                    s.next_cluster_id += 1;
                    s.clusters.insert(id, ClusterDef { id, name: lower(name), class: Some(name.clone()) });
                    vec![id]
                };
                s.classes.insert(
                    lower(name),
                    ClassDef {
                        name: name.clone(),
                        superclass,
                        is_abstract: *is_abstract,
                        strict: false,
                        clusters,
                        properties: BTreeMap::new(),
                    },
                );
                Ok(())
            }
            SchemaRequest::Change(SchemaChange::CreateProperty { class, property }) => {
                let Some(c) = self.m.class(class).cloned() else { return Err(Fail::ClassNotFound) };
                for rid in self.records_of(&c.name) {
                    let f = &self.m.records[&rid].fields;
                    if let Some((_, v)) = f.iter().find(|(n, _)| n.eq_ignore_ascii_case(&property.name)) {
                        if coerce(v, property.ty).is_none() {
                            return Err(Fail::Invalid);
                        }
                    }
                }
                if c.properties.contains_key(&lower(&property.name)) {
                    return Err(Fail::PropertyExists);
                }
                let c = self.m.schema.classes.get_mut(&lower(class)).unwrap();
                c.properties.insert(lower(&property.name), property.clone());
                Ok(())
            }
            SchemaRequest::Change(SchemaChange::CreateIndex { index }) => {
                if self.m.schema.indexes.contains_key(&lower(&index.name)) {
                    return Err(Fail::IndexExists);
                }
                let class = self.m.class(&index.class).ok_or(Fail::ClassNotFound)?.name.clone();
                let def = IndexDef { class, ..index.clone() };
                if def.unique && self.m.has_duplicate(&def) {
                    return Err(Fail::Duplicate);
                }
                self.m.schema.indexes.insert(lower(&index.name), def);
                Ok(())
            }
            SchemaRequest::Change(SchemaChange::DropIndex { name }) => {
                self.m.schema.indexes.remove(&lower(name)).map(|_| ()).ok_or(Fail::IndexNotFound)
            }
            SchemaRequest::DropClass { name, unsafe_drop } => {
                let c = self.m.class(name).ok_or(Fail::ClassNotFound)?.clone();
                let rids = self.m.live_of(|r, _| c.clusters.contains(&r.cluster));
                if !rids.is_empty() && !unsafe_drop {
                    return Err(Fail::Invalid);
                }
                for rid in rids {
                    if self.m.records.contains_key(&rid) {
                        self.delete(rid, None)?;
                    }
                }
                if ["V", "E"].iter().any(|b| b.eq_ignore_ascii_case(&c.name)) {
                    return Err(Fail::Invalid);
                }
                if self
                    .m
                    .schema
                    .classes
                    .values()
                    .any(|x| x.superclass.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(&c.name)))
                {
                    return Err(Fail::Invalid);
                }
                let s = &mut self.m.schema;
                s.classes.remove(&lower(&c.name));
                for id in &c.clusters {
                    s.clusters.remove(id);
                }
                s.indexes.retain(|_, i| !i.class.eq_ignore_ascii_case(&c.name));
                Ok(())
            }
            other => panic!("the test does not generate {other:?}"),
        }
    }

    /// The model after the transaction committed.
    fn commit(mut self) -> Model {
        for rid in &self.touched {
            if let Some(r) = self.m.records.get_mut(rid) {
                r.version += 1;
            }
        }
        if self.schema_changed {
            self.m.schema_version += 1;
        }
        self.m.lsn += 1;
        self.m
    }
}

// ---------------------------------------------------------------------------------------
// Running a case.
// ---------------------------------------------------------------------------------------

/// An intent resolved to concrete names and RIDs.
#[derive(Debug, Clone)]
enum Intent {
    Schema(SchemaRequest),
    Create { class: String, fields: Document },
    CreateEdge { class: String, from: Rid, to: Rid, fields: Document },
    Update { rid: Rid, version: Option<u32>, fields: Document },
    Delete { rid: Rid, version: Option<u32> },
}

fn pick<T: Clone>(items: &[T], i: usize) -> Option<T> {
    if items.is_empty() {
        None
    } else {
        Some(items[i % items.len()].clone())
    }
}

fn value(sim: &Sim, seed: &ValSeed) -> Value {
    match seed {
        ValSeed::Int(i) => Value::Int(i32::from(*i)),
        ValSeed::Str(s) => Value::String(STRINGS[*s as usize % STRINGS.len()].to_string()),
        ValSeed::Null => Value::Null,
        ValSeed::Link(i) => Value::Link(
            pick(&sim.temp_list, *i)
                .or_else(|| pick(&sim.m.records.keys().copied().collect::<Vec<_>>(), *i))
                .unwrap_or(Rid::new(9, 0)),
        ),
    }
}

fn document(sim: &Sim, seeds: &[(u8, ValSeed)]) -> Document {
    seeds.iter().map(|(n, v)| (FIELDS[*n as usize % FIELDS.len()].to_string(), value(sim, v))).collect()
}

/// Resolves a target to a RID to hand the engine (temporary or real). `want` narrows live
/// picks to records of one kind.
fn target_rid(sim: &Sim, t: &Target, want: Option<RecordKind>) -> Rid {
    match t {
        Target::Live { pick: i, typed } => {
            let typed = *typed && want.is_some();
            let live = sim.m.live_of(|_, m| !typed || Some(sim.m.kind(&m.class)) == want);
            pick(&live, *i).unwrap_or(Rid::new(9, 999_999))
        }
        Target::Temp { pick: i, typed } => {
            let typed = *typed && want.is_some();
            let fits = |t: &&Rid| {
                !typed || sim.temps.get(t).and_then(|r| sim.m.records.get(r)).map(|m| sim.m.kind(&m.class)) == want
            };
            let temps: Vec<Rid> = sim.temp_list.iter().filter(fits).copied().collect();
            match pick(&temps, *i) {
                Some(t) => t,
                None => target_rid(sim, &Target::Live { pick: *i, typed: true }, want),
            }
        }
        Target::Gone(i) => pick(&sim.m.gone.iter().copied().collect::<Vec<_>>(), *i).unwrap_or(Rid::new(9, 888_888)),
        Target::Missing => Rid::new(9, 777_777),
    }
}

fn version_of(sim: &Sim, rid: Rid, seed: &VersionSeed) -> Option<u32> {
    let current = sim.m.records.get(&sim.resolve_or_self(rid)).map(|r| r.version).unwrap_or(1);
    match seed {
        VersionSeed::Unchecked => None,
        VersionSeed::Right => Some(current),
        VersionSeed::Stale(up) => Some(if *up { current + 1 } else { current.saturating_sub(1) }),
    }
}

impl Sim {
    fn resolve_or_self(&self, rid: Rid) -> Rid {
        self.temps.get(&rid).copied().unwrap_or(rid)
    }
}

/// Picks a class: among those suiting the intent if `typed`, else among all.
fn class_pick(sim: &Sim, i: usize, typed: bool, fit: impl Fn(&ClassDef) -> bool) -> String {
    let all: Vec<&ClassDef> = sim.m.schema.classes.values().collect();
    let fitting: Vec<String> = all.iter().filter(|c| fit(c)).map(|c| c.name.clone()).collect();
    if typed && !fitting.is_empty() {
        return fitting[i % fitting.len()].clone();
    }
    let names = sim.m.class_names();
    names[i % names.len()].clone()
}

fn resolve_intent(sim: &mut Sim, seed: &IntentSeed) -> Intent {
    match seed {
        IntentSeed::Fixed(intent) => intent.clone(),
        IntentSeed::CreateClass { name, superclass, is_abstract } => {
            let superclass = superclass.map(|i| {
                if i % 10 == 9 {
                    "Nope".to_string()
                } else {
                    let names = sim.m.class_names();
                    names[i % names.len()].clone()
                }
            });
            Intent::Schema(SchemaRequest::CreateClass {
                name: CLASS_NAMES[*name as usize % CLASS_NAMES.len()].to_string(),
                superclass,
                is_abstract: *is_abstract,
            })
        }
        IntentSeed::CreateProperty { class, field, ty } => {
            let class = class_pick(sim, *class, false, |_| true);
            Intent::Schema(SchemaRequest::Change(SchemaChange::CreateProperty {
                class,
                property: PropertyDef::new(FIELDS[*field as usize % 3], PROPERTY_TYPES[*ty as usize % 3]),
            }))
        }
        IntentSeed::CreateIndex { name, class, fields, unique } => {
            let class = class_pick(sim, *class, false, |_| true);
            Intent::Schema(SchemaRequest::Change(SchemaChange::CreateIndex {
                index: IndexDef {
                    name: INDEX_NAMES[*name as usize % INDEX_NAMES.len()].to_string(),
                    class,
                    fields: fields.iter().map(|f| FIELDS[*f as usize % 3].to_string()).collect(),
                    unique: *unique,
                    kind: if *unique { "UNIQUE" } else { "NOTUNIQUE" }.to_string(),
                },
            }))
        }
        IntentSeed::DropIndex { pick: i, bogus } => {
            let names: Vec<String> = sim.m.schema.indexes.values().map(|d| d.name.clone()).collect();
            let name = if *bogus { None } else { pick(&names, *i) };
            Intent::Schema(SchemaRequest::Change(SchemaChange::DropIndex { name: name.unwrap_or("Nope".into()) }))
        }
        IntentSeed::Create { class, typed, fields } => {
            let class = class_pick(sim, *class, *typed, |c| !c.is_abstract && sim.m.kind(&c.name) != RecordKind::Edge);
            Intent::Create { class, fields: document(sim, fields) }
        }
        IntentSeed::CreateEdge { class, typed, from, to, fields } => {
            let class = class_pick(sim, *class, *typed, |c| !c.is_abstract && sim.m.kind(&c.name) == RecordKind::Edge);
            let from = target_rid(sim, from, Some(RecordKind::Vertex));
            let to = target_rid(sim, to, Some(RecordKind::Vertex));
            Intent::CreateEdge { class, from, to, fields: document(sim, fields) }
        }
        IntentSeed::Update { target, version, fields } => {
            let rid = target_rid(sim, target, None);
            Intent::Update { rid, version: version_of(sim, rid, version), fields: document(sim, fields) }
        }
        IntentSeed::Delete { target, version } => {
            let rid = target_rid(sim, target, None);
            Intent::Delete { rid, version: version_of(sim, rid, version) }
        }
        IntentSeed::DropClass { class, unsafe_drop } => {
            let name = class_pick(sim, *class, true, |c| !["v", "e"].contains(&lower(&c.name).as_str()));
            Intent::Schema(SchemaRequest::DropClass { name, unsafe_drop: *unsafe_drop })
        }
    }
}

/// Adds an intent to the engine's transaction and to the simulation.
fn add(tx: &mut Transaction, sim: &mut Sim, intent: &Intent) -> Result<(), Fail> {
    match intent {
        Intent::Schema(req) => {
            tx.schema(req.clone());
            sim.schema(req)
        }
        Intent::Create { class, fields } => {
            let temp = sim.next_temp();
            assert_eq!(tx.create(class, fields.clone()), temp, "temporary RIDs are handed out in order");
            sim.create(temp, class, fields)
        }
        Intent::CreateEdge { class, from, to, fields } => {
            let temp = sim.next_temp();
            assert_eq!(tx.create_edge(class, *from, *to, fields.clone()), temp);
            sim.create_edge(temp, class, *from, *to, fields)
        }
        Intent::Update { rid, version, fields } => {
            tx.update(*rid, *version, fields.clone());
            sim.update(*rid, *version, fields)
        }
        Intent::Delete { rid, version } => {
            tx.delete(*rid, *version);
            sim.delete(*rid, *version)
        }
    }
}

/// Runs one transaction on both sides; returns the new model and how the transaction ended.
fn run_tx(db: &Database, model: &Model, seeds: &[IntentSeed]) -> (Model, Result<(), Fail>) {
    let mut tx = Transaction::new();
    let mut sim = Sim::new(model);
    let mut expected = Ok(());
    let mut intents = Vec::new();
    for seed in seeds {
        let intent = resolve_intent(&mut sim, seed);
        intents.push(intent.clone());
        if let Err(f) = add(&mut tx, &mut sim, &intent) {
            let what = format!("{intent:?}");
            let what = what.split([' ', '(']).next().unwrap_or_default().to_string();
            note(|s| *s.failed_intents.entry(format!("{what} {f:?}")).or_default() += 1);
            expected = Err(f);
            break;
        }
    }
    let got = db.commit(&tx);
    let outcome = expected;
    let m = match (expected, got) {
        (Ok(()), Ok(c)) => {
            assert_eq!(c.lsn.0, model.lsn + 1, "each committed transaction takes the next LSN");
            assert_eq!(c.rids, sim.temps, "real RIDs of the created records");
            let m = sim.commit();
            note(|s| {
                s.committed += 1;
                s.records_created += c.rids.len() as u64;
                s.max_live_records = s.max_live_records.max(m.records.len());
                for (rid, r) in m.records.range(Rid::new(0, 0)..) {
                    let ends =
                        (r.fields.get("out").and_then(Value::as_rid), r.fields.get("in").and_then(Value::as_rid));
                    if c.rids.values().any(|x| x == rid) && m.kind(&r.class) == RecordKind::Edge {
                        s.edges += 1;
                        s.self_loops += u64::from(ends.0 == ends.1);
                        let parallel = m.records.iter().any(|(other, o)| {
                            other != rid
                                && o.fields.get("out") == r.fields.get("out")
                                && o.fields.get("in") == r.fields.get("in")
                        });
                        s.parallel_edges += u64::from(parallel);
                    }
                }
            });
            m
        }
        (Err(f), Err(e)) => {
            assert_eq!(f, fail_of(&e), "{intents:?} failed as predicted, but with another error: {e}");
            note(|s| *s.failed.entry(format!("{f:?}")).or_default() += 1);
            model.clone()
        }
        (Ok(()), Err(e)) => panic!("the model commits {intents:?}, the database refused: {e}"),
        (Err(f), Ok(c)) => panic!("the model refuses {intents:?} with {f:?}, the database committed at {}", c.lsn),
    };
    (m, outcome)
}

/// Compares every observable fact of the database with the model.
fn check(db: &Database, m: &Model) {
    let snap = db.snapshot();
    assert_eq!(snap.digest(), snap.full_digest().unwrap(), "incremental digest equals recomputed one");
    assert_eq!(snap.applied_lsn().0, m.lsn, "applied LSN");
    assert_eq!(snap.schema(), &m.schema, "schema");
    let schema_record = snap.get(Rid::new(0, 0)).unwrap().unwrap();
    assert_eq!(schema_record.version, m.schema_version, "schema record version");

    for id in m.schema.clusters.keys().filter(|id| **id != 0) {
        let found: Vec<Rid> = snap.scan_cluster(*id).map(|r| r.unwrap().rid).collect();
        let expected: Vec<Rid> = m.records.range(Rid::new(*id, 0)..Rid::new(*id + 1, 0)).map(|(r, _)| *r).collect();
        assert_eq!(found, expected, "records of cluster {id}");
    }
    for (rid, mr) in &m.records {
        let r = snap.get(*rid).unwrap().unwrap_or_else(|| panic!("record {rid} is missing"));
        assert_eq!(r.version, mr.version, "version of {rid}");
        assert_eq!(&*r.class, mr.class, "class of {rid}");
        assert_eq!(r.fields().unwrap(), mr.fields, "fields of {rid}");
        assert_eq!(r.bags().unwrap(), mr.bags, "link bags of {rid}");
        if m.kind(&mr.class) == RecordKind::Vertex {
            let mut expected: Vec<(Rid, Rid)> = Vec::new();
            for dir in [Direction::Out, Direction::In] {
                for b in mr.bags.iter().filter(|b| b.direction == dir) {
                    expected.extend_from_slice(&b.links);
                }
            }
            assert_eq!(snap.neighbours(*rid, None, &[]).unwrap(), expected, "neighbours of {rid}");
            let outs: Vec<(Rid, Rid)> = mr
                .bags
                .iter()
                .filter(|b| b.direction == Direction::Out)
                .flat_map(|b| b.links.iter().copied())
                .collect();
            assert_eq!(snap.neighbours(*rid, Some(Direction::Out), &["E"]).unwrap(), outs, "out-neighbours of {rid}");
            for label in m.schema.classes.values().filter(|c| m.kind(&c.name) == RecordKind::Edge) {
                for dir in [Direction::Out, Direction::In] {
                    let expected: Vec<(Rid, Rid)> = mr
                        .bags
                        .iter()
                        .filter(|b| b.direction == dir && m.is_subclass_of(&b.label, &label.name))
                        .flat_map(|b| b.links.iter().copied())
                        .collect();
                    let found = snap.neighbours(*rid, Some(dir), &[&label.name]).unwrap();
                    assert_eq!(found, expected, "{dir:?} neighbours of {rid} by {}", label.name);
                }
            }
        }
    }
    for rid in &m.gone {
        assert!(snap.get(*rid).unwrap().is_none(), "deleted record {rid} is still there");
    }
    for c in m.schema.classes.values() {
        assert_eq!(snap.count(&c.name, false).unwrap(), m.count(&c.name, false), "count of {}", c.name);
        assert_eq!(snap.count(&c.name, true).unwrap(), m.count(&c.name, true), "polymorphic count of {}", c.name);
    }
    assert_eq!(
        snap.indexes_of("V").len(),
        m.schema.indexes.values().filter(|d| m.is_subclass_of("V", &d.class)).count()
    );
    for def in m.schema.indexes.values() {
        let idx = snap.index(&def.name).unwrap_or_else(|| panic!("index {} is missing", def.name));
        assert_eq!(&idx.def, def, "definition of index {}", def.name);
        let found: BTreeSet<(String, Rid)> = idx.iter().map(|(k, r)| (format!("{:?}", k.0), r)).collect();
        let expected = m.index_entries(def);
        assert_eq!(found, expected, "contents of index {}", def.name);
        let mut by_key: BTreeMap<String, (Vec<Value>, Vec<Rid>)> = BTreeMap::new();
        for (rid, mr) in m.covered(def) {
            if let Some(k) = key_of(def, &mr.fields) {
                by_key.entry(format!("{k:?}")).or_insert_with(|| (k, Vec::new())).1.push(rid);
            }
        }
        for (k, rids) in by_key.into_values() {
            assert_eq!(idx.get(&Key::new(k.clone())), rids, "lookup of {k:?} in index {}", def.name);
        }
    }
}

fn options(case: &Case) -> Options {
    Options {
        checkpoint_dirty_pages: case.checkpoint_dirty_pages,
        wal_segment_bytes: case.wal_segment_bytes,
        ..Options::default()
    }
}

fn reopen(dir: &Path, opts: &Options) -> Database {
    let (db, report) = Database::open(dir, opts.clone()).unwrap();
    assert!(report.failed_entries.is_empty(), "redo failed entries: {:?}", report.failed_entries);
    db
}

/// Classes, indexes, records and an edge to start from, so short runs reach the
/// interesting cases: C0 (vertex class, unique index on `k`), C2 (edge class), Person
/// (document class, composite not-unique index on `a, b`).
fn setup() -> Vec<IntentSeed> {
    let f = IntentSeed::Fixed;
    let class = |name: &str, superclass: Option<&str>| {
        f(Intent::Schema(SchemaRequest::CreateClass {
            name: name.into(),
            superclass: superclass.map(Into::into),
            is_abstract: false,
        }))
    };
    let index = |name: &str, class: &str, fields: &[&str], unique: bool| {
        f(Intent::Schema(SchemaRequest::Change(SchemaChange::CreateIndex {
            index: IndexDef {
                name: name.into(),
                class: class.into(),
                fields: fields.iter().map(|x| x.to_string()).collect(),
                unique,
                kind: if unique { "UNIQUE" } else { "NOTUNIQUE" }.into(),
            },
        })))
    };
    let create = |class: &str, fields: &[(&str, Value)]| {
        f(Intent::Create {
            class: class.into(),
            fields: fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        })
    };
    let x = Value::String("x".into());
    vec![
        class("C0", Some("V")),
        class("C2", Some("E")),
        class("Person", None),
        index("I0", "C0", &["k"], true),
        index("I1", "Person", &["a", "b"], false),
        create("C0", &[("k", Value::Int(0))]),
        create("C0", &[("k", Value::Int(1))]),
        create("C0", &[("k", Value::Int(2)), ("a", x.clone())]),
        create("V", &[("a", Value::Int(1))]),
        create("Person", &[("a", Value::Int(1)), ("b", x.clone())]),
        create("Person", &[("a", Value::Int(1)), ("b", x)]),
        f(Intent::CreateEdge {
            class: "C2".into(),
            from: Rid::new(-1, -2),
            to: Rid::new(-1, -3),
            fields: Document::new(),
        }),
    ]
}

/// Runs a case, checking the database against the model after every step and after two
/// final reopenings; returns how each transaction ended.
fn run(case: &Case) -> Vec<Result<(), Fail>> {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(case);
    let (db, _) = Database::create(dir.path(), opts.clone()).unwrap();
    let mut db = Some(db);
    let (mut model, setup_outcome) = run_tx(db.as_ref().unwrap(), &Model::new(), &setup());
    assert_eq!(setup_outcome, Ok(()), "the setup transaction commits");
    let mut outcomes = Vec::new();
    for step in &case.steps {
        let d = db.take().unwrap();
        let d = match step {
            Step::Tx(seeds) => {
                let outcome;
                (model, outcome) = run_tx(&d, &model, seeds);
                outcomes.push(outcome);
                d
            }
            Step::Reopen => {
                note(|s| s.reopens += 1);
                d.close().unwrap();
                reopen(dir.path(), &opts)
            }
            Step::Crash => {
                note(|s| s.reopens += 1);
                drop(d);
                reopen(dir.path(), &opts)
            }
            Step::Checkpoint => {
                note(|s| s.checkpoints += 1);
                assert_eq!(d.checkpoint().unwrap().0, model.lsn);
                d
            }
        };
        check(&d, &model);
        db = Some(d);
    }
    let d = db.take().unwrap();
    drop(d);
    let d = reopen(dir.path(), &opts);
    check(&d, &model);
    d.close().unwrap();
    let d = reopen(dir.path(), &opts);
    check(&d, &model);
    outcomes
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
}

/// What the runs exercised, printed at the end (`--nocapture`) to show the generator reaches
/// the interesting cases.
#[derive(Debug, Default)]
struct Stats {
    committed: u64,
    failed: BTreeMap<String, u64>,
    failed_intents: BTreeMap<String, u64>,
    records_created: u64,
    max_live_records: usize,
    edges: u64,
    self_loops: u64,
    parallel_edges: u64,
    reopens: u64,
    checkpoints: u64,
}

static STATS: std::sync::Mutex<Option<Stats>> = std::sync::Mutex::new(None);

fn note(f: impl FnOnce(&mut Stats)) {
    let mut g = STATS.lock().unwrap_or_else(|p| p.into_inner());
    f(g.get_or_insert_with(Stats::default));
}

#[test]
fn engine_agrees_with_the_model() {
    let config = ProptestConfig {
        cases: cases(),
        max_shrink_iters: 2000,
        // Failures found are kept as the named regression tests at the end of this file.
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&case(), |c| {
        run(&c);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    note(|s| println!("model: {s:?}"));
}

// ---------------------------------------------------------------------------------------
// Regressions: cases the model found, each once a bug (see the engine's fixes). After the
// setup: C0 vertices #11:0 (k 0), #11:1 (k 1), #11:2 (k 2); V vertex #9:0 (a 1); Person
// documents #13:0 and #13:1 (a 1, b "x"); C2 edge #12:0 from #11:0 to #11:1.
// ---------------------------------------------------------------------------------------

fn fixed(txs: Vec<Vec<Intent>>) -> Vec<Result<(), Fail>> {
    let steps = txs.into_iter().map(|t| Step::Tx(t.into_iter().map(IntentSeed::Fixed).collect())).collect();
    run(&Case { checkpoint_dirty_pages: 3, wal_segment_bytes: 16 << 10, steps })
}

fn doc(pairs: &[(&str, Value)]) -> Document {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn create(class: &str, fields: &[(&str, Value)]) -> Intent {
    Intent::Create { class: class.into(), fields: doc(fields) }
}

fn edge(from: Rid, to: Rid) -> Intent {
    Intent::CreateEdge { class: "C2".into(), from, to, fields: Document::new() }
}

fn delete(rid: Rid) -> Intent {
    Intent::Delete { rid, version: None }
}

fn schema(change: SchemaChange) -> Intent {
    Intent::Schema(SchemaRequest::Change(change))
}

fn unique_index(name: &str, class: &str, field: &str) -> Intent {
    schema(SchemaChange::CreateIndex {
        index: IndexDef {
            name: name.into(),
            class: class.into(),
            fields: vec![field.into()],
            unique: true,
            kind: "UNIQUE".into(),
        },
    })
}

/// Was: the vertex's loaded link bags lacked the new edge, so the entry was logged and then
/// failed to apply ("vertex still has edges").
#[test]
fn deleting_a_vertex_linked_by_an_edge_of_the_same_transaction_is_refused_before_logging() {
    let (v1, v2) = (Rid::new(11, 1), Rid::new(11, 2));
    let outcomes = fixed(vec![
        vec![edge(v2, v2), delete(v2)],
        vec![create("C0", &[]), edge(v1, Rid::new(-1, -2)), delete(v1)],
        vec![edge(v1, v2), delete(Rid::new(11, 0))],
    ]);
    assert_eq!(outcomes, vec![Err(Fail::Invalid), Err(Fail::Invalid), Ok(())]);
}

/// Was: DROP CLASS listed only applied records, so records created earlier in the
/// transaction were missed (the entry then failed to apply) and records deleted earlier
/// still counted.
#[test]
fn dropping_a_class_sees_the_records_of_the_same_transaction() {
    let drop = |unsafe_drop| Intent::Schema(SchemaRequest::DropClass { name: "Person".into(), unsafe_drop });
    let outcomes = fixed(vec![
        vec![create("Person", &[]), drop(true)],
        vec![create("Person", &[]), drop(false)],
        vec![delete(Rid::new(13, 0)), delete(Rid::new(13, 1)), drop(false)],
    ]);
    assert_eq!(outcomes, vec![Err(Fail::Invalid), Err(Fail::Invalid), Ok(())]);
}

/// Was: a new property was checked against applied records only.
#[test]
fn a_new_property_must_fit_the_records_of_the_same_transaction() {
    let property = |class: &str, name: &str, ty| {
        schema(SchemaChange::CreateProperty { class: class.into(), property: PropertyDef::new(name, ty) })
    };
    let new_class =
        Intent::Schema(SchemaRequest::CreateClass { name: "C1".into(), superclass: None, is_abstract: false });
    let x = Value::String("x".into());
    let outcomes = fixed(vec![
        vec![
            Intent::Update { rid: Rid::new(11, 0), version: None, fields: doc(&[("b", x.clone())]) },
            property("C0", "b", PropertyType::Integer),
        ],
        vec![new_class.clone(), create("C1", &[("b", x.clone())]), property("C1", "b", PropertyType::Long)],
        vec![delete(Rid::new(11, 2)), property("V", "a", PropertyType::Integer)],
        vec![new_class, create("C1", &[("b", Value::String("7".into()))]), property("C1", "b", PropertyType::Long)],
    ]);
    assert_eq!(outcomes, vec![Err(Fail::Invalid), Err(Fail::Invalid), Ok(()), Ok(())]);
}

/// Was: a new unique index was checked against applied records only, and records created
/// after it in the same transaction were not checked against the records it covers: the
/// entry was logged and failed to apply.
#[test]
fn a_new_unique_index_sees_the_changes_of_the_same_transaction() {
    let new_class =
        Intent::Schema(SchemaRequest::CreateClass { name: "C1".into(), superclass: None, is_abstract: false });
    let one = Value::Int(1);
    let outcomes = fixed(vec![
        vec![unique_index("I2", "Person", "a")],
        vec![
            Intent::Update { rid: Rid::new(13, 1), version: None, fields: doc(&[("a", Value::Int(2))]) },
            unique_index("I2", "Person", "a"),
        ],
        vec![create("Person", &[("a", Value::Int(2))])],
        vec![
            new_class,
            create("C1", &[("k", one.clone())]),
            unique_index("I3", "C1", "k"),
            create("C1", &[("k", one.clone())]),
        ],
        vec![unique_index("I4", "V", "a"), create("V", &[("a", one.clone())])],
        vec![unique_index("I4", "V", "a"), delete(Rid::new(9, 0)), create("V", &[("a", one)])],
    ]);
    assert_eq!(
        outcomes,
        vec![Err(Fail::Duplicate), Ok(()), Err(Fail::Duplicate), Err(Fail::Duplicate), Err(Fail::Duplicate), Ok(())]
    );
}

/// Was: updating a record created earlier in the transaction rewrote its insert, so its new
/// fields were applied before ops logged between the two (an index dropped, a key freed by
/// an update or a delete): the entry failed to apply with a duplicate key.
#[test]
fn a_record_updated_after_its_creation_keeps_the_order_of_the_transaction() {
    let new = Rid::new(-1, -2);
    let update = |rid: Rid, k: i32| Intent::Update { rid, version: None, fields: doc(&[("k", Value::Int(k))]) };
    let drop_index = schema(SchemaChange::DropIndex { name: "I0".into() });
    let outcomes = fixed(vec![
        vec![create("C0", &[("k", Value::Int(5))]), update(Rid::new(11, 1), 3), update(new, 1)],
        vec![create("C0", &[("k", Value::Int(6))]), delete(Rid::new(11, 0)), update(new, 0)],
        vec![create("C0", &[]), drop_index, update(new, 2)],
    ]);
    assert_eq!(outcomes, vec![Ok(()), Ok(()), Ok(())]);
}
