//! Loading an item stream (from [`super::graphml`] or [`super::csv`]) into a database, the
//! way OrientDB's GraphML import did: every vertex goes into its class (`V` unless the file
//! names one), each edge label becomes an edge class extending `E`, every property is kept.
//!
//! A vertex is created where it first appears, as a node or as an edge endpoint, so the
//! RIDs follow the file (`#9:0`, `#9:1`, ... for OrientDB's GratefulDeadConcerts). A vertex
//! first seen as an endpoint gets its properties when its node comes. Items are committed in
//! batches (one WAL entry each); a failed batch leaves the database with the batches before
//! it, and the error names the item.

use std::collections::{HashMap, HashSet};

use super::{ImportError, ImportItem, PropValue};
use crate::db::Database;
use crate::error::Error;
use crate::schema::{EDGE_CLASS, VERTEX_CLASS};
use crate::tx::{SchemaRequest, Transaction};
use crate::value::{Document, Rid, Value};

/// How to load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The class of vertices whose item names none.
    pub vertex_class: String,
    /// Items per transaction.
    pub batch: usize,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions { vertex_class: VERTEX_CLASS.to_string(), batch: 20_000 }
    }
}

/// What a load did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Vertices created.
    pub vertices: u64,
    /// Edges created.
    pub edges: u64,
    /// Classes created for vertex classes and edge labels.
    pub classes_created: Vec<String>,
    /// Transactions committed.
    pub batches: u64,
}

/// Why a load stopped.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The input is malformed.
    #[error(transparent)]
    Input(#[from] ImportError),
    /// The database refused a batch.
    #[error("loading item {item}: {source}")]
    Database {
        /// Which item (1-based) the failing batch reached.
        item: u64,
        /// The database's error.
        #[source]
        source: Error,
    },
    /// The input contradicts itself.
    #[error("item {item}: {reason}")]
    Invalid {
        /// Which item.
        item: u64,
        /// Why.
        reason: String,
    },
}

/// Converts an import value to a field value.
pub fn to_value(v: PropValue) -> Value {
    match v {
        PropValue::String(s) => Value::String(s),
        PropValue::Int(i) => Value::Int(i),
        PropValue::Long(l) => Value::Long(l),
        PropValue::Float(f) => Value::Float(f),
        PropValue::Double(d) => Value::Double(d),
        PropValue::Bool(b) => Value::Bool(b),
    }
}

fn to_doc(props: Vec<(String, PropValue)>) -> Document {
    props.into_iter().map(|(k, v)| (k, to_value(v))).collect()
}

/// A vertex id of the file: committed (a real RID) or in the open batch (a temporary one).
#[derive(Debug, Clone, Copy)]
struct Placed {
    rid: Rid,
    class_explicit: bool,
}

struct Loader<'a> {
    db: &'a Database,
    options: LoadOptions,
    ids: HashMap<String, Placed>,
    /// File ids created in the open batch (their RIDs are temporary).
    in_batch: Vec<String>,
    /// Vertices created as endpoints whose node has not come yet.
    placeholders: HashSet<String>,
    tx: Transaction,
    items: u64,
    report: LoadReport,
}

/// Loads items into `db`, calling `progress` after each batch with the items loaded so far.
pub fn load(
    db: &Database,
    items: impl Iterator<Item = Result<ImportItem, ImportError>>,
    options: LoadOptions,
    mut progress: impl FnMut(u64),
) -> Result<LoadReport, LoadError> {
    let mut l = Loader {
        db,
        options,
        ids: HashMap::new(),
        in_batch: Vec::new(),
        placeholders: HashSet::new(),
        tx: Transaction::new(),
        items: 0,
        report: LoadReport::default(),
    };
    for item in items {
        l.items += 1;
        match item? {
            ImportItem::Vertex(v) => {
                let class = v.class.clone().unwrap_or_else(|| l.options.vertex_class.clone());
                l.ensure_class(&class, VERTEX_CLASS)?;
                l.vertex(&v.id, &class, v.class.is_some(), to_doc(v.props))?;
            }
            ImportItem::Edge(e) => {
                l.ensure_class(&e.label, EDGE_CLASS)?;
                let vclass = l.options.vertex_class.clone();
                let from = l.endpoint(&e.source, &vclass)?;
                let to = l.endpoint(&e.target, &vclass)?;
                l.tx.create_edge(&e.label, from, to, to_doc(e.props));
                l.report.edges += 1;
            }
        }
        if l.tx.len() >= l.options.batch {
            l.flush()?;
            progress(l.items);
        }
    }
    l.flush()?;
    progress(l.items);
    Ok(l.report)
}

impl Loader<'_> {
    fn flush(&mut self) -> Result<(), LoadError> {
        if self.tx.is_empty() {
            return Ok(());
        }
        let tx = std::mem::take(&mut self.tx);
        let committed = self.db.commit(&tx).map_err(|source| LoadError::Database { item: self.items, source })?;
        for id in self.in_batch.drain(..) {
            if let Some(p) = self.ids.get_mut(&id) {
                p.rid = committed.rid(p.rid);
            }
        }
        self.report.batches += 1;
        Ok(())
    }

    /// Creates `class` extending `base` if the database lacks it (committing the open batch
    /// first: a schema change waits for no one).
    fn ensure_class(&mut self, class: &str, base: &str) -> Result<(), LoadError> {
        let exists = {
            let snap = self.db.snapshot();
            match snap.schema().class(class) {
                Some(_) => {
                    let ok = snap.schema().is_subclass_of(class, base);
                    if !ok {
                        return Err(LoadError::Invalid {
                            item: self.items,
                            reason: format!("class '{class}' exists but does not extend {base}"),
                        });
                    }
                    true
                }
                None => false,
            }
        };
        if exists {
            return Ok(());
        }
        self.flush()?;
        let mut tx = Transaction::new();
        tx.schema(SchemaRequest::CreateClass {
            name: class.to_string(),
            superclass: Some(base.into()),
            is_abstract: false,
        });
        self.db.commit(&tx).map_err(|source| LoadError::Database { item: self.items, source })?;
        self.report.classes_created.push(class.to_string());
        Ok(())
    }

    fn vertex(&mut self, id: &str, class: &str, explicit: bool, fields: Document) -> Result<(), LoadError> {
        if self.placeholders.remove(id) {
            let Some(p) = self.ids.get(id).copied() else { return Ok(()) };
            if explicit && !p.class_explicit && !class.eq_ignore_ascii_case(&self.options.vertex_class) {
                return Err(LoadError::Invalid {
                    item: self.items,
                    reason: format!(
                        "vertex '{id}' was first named by an edge (and created in class {}) before its node declared class '{class}'; put nodes before the edges that use them",
                        self.options.vertex_class
                    ),
                });
            }
            self.tx.update(p.rid, None, fields);
            return Ok(());
        }
        if self.ids.contains_key(id) {
            return Err(LoadError::Invalid { item: self.items, reason: format!("vertex id '{id}' appears twice") });
        }
        let rid = self.tx.create(class, fields);
        self.ids.insert(id.to_string(), Placed { rid, class_explicit: explicit });
        self.in_batch.push(id.to_string());
        self.report.vertices += 1;
        Ok(())
    }

    fn endpoint(&mut self, id: &str, class: &str) -> Result<Rid, LoadError> {
        if let Some(p) = self.ids.get(id) {
            return Ok(p.rid);
        }
        let rid = self.tx.create(class, Document::new());
        self.ids.insert(id.to_string(), Placed { rid, class_explicit: false });
        self.in_batch.push(id.to_string());
        self.placeholders.insert(id.to_string());
        self.report.vertices += 1;
        Ok(rid)
    }
}
