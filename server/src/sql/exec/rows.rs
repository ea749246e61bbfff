//! What flows between the executor's stages: [`Row`]s (a stored record, a projected
//! document, a record created in an open transaction, a MATCH binding set, or a bare value),
//! their JSON form, and the conversions between rows and values.
//!
//! Inside expressions a stored record is always a `Value::Link`, a projected row a
//! `Value::Embedded`: loading happens where a field is read, so nothing is decoded that no one
//! reads.

use std::cmp::Ordering;
use std::rc::Rc;

use basalt_engine::json::to_json;
use basalt_engine::{Document, Record, Rid, Value};
use serde_json::{Map, Value as Json};

use crate::query::QueryError;

/// Results of the executor.
pub(crate) type Res<T> = Result<T, QueryError>;

/// A record created or changed inside an open transaction (not committed yet): what the
/// statement asked for, with its temporary (or real) RID.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    /// The temporary RID (created records) or the real one (updated records).
    pub rid: Rid,
    /// The class.
    pub class: String,
    /// The fields as the transaction will write them.
    pub fields: Document,
}

/// The content of a row.
#[derive(Debug, Clone)]
pub(crate) enum Data {
    /// A stored record.
    Record(Rc<Record>),
    /// A projection: named values in projection order (`@rid` only when projected).
    Doc(Rc<Document>),
    /// A record of an open transaction.
    Pending(Rc<Pending>),
    /// One MATCH result: every alias (named and generated) with its record or null.
    Match(Rc<Vec<(String, Value)>>),
    /// A bare value (`RETURN 1`, `expand()` of non-records).
    Value(Value),
}

/// One result row, with the traversal depth when TRAVERSE produced it (`$depth`).
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// The content.
    pub data: Data,
    /// Depth at which TRAVERSE reached the record.
    pub depth: Option<u32>,
}

impl Row {
    /// A row of a stored record.
    pub fn record(r: Record) -> Row {
        Row { data: Data::Record(Rc::new(r)), depth: None }
    }

    /// A projected row.
    pub fn doc(d: Document) -> Row {
        Row { data: Data::Doc(Rc::new(d)), depth: None }
    }

    /// A bare value row.
    pub fn value(v: Value) -> Row {
        Row { data: Data::Value(v), depth: None }
    }

    /// The record id behind the row, if any: a record's, a pending record's, a projected
    /// `@rid`, or a link value's.
    pub fn rid(&self) -> Option<Rid> {
        match &self.data {
            Data::Record(r) => Some(r.rid),
            Data::Pending(p) => Some(p.rid),
            Data::Doc(d) => d.get("@rid").and_then(Value::as_rid),
            Data::Value(Value::Link(r)) => Some(*r),
            Data::Match(_) | Data::Value(_) => None,
        }
    }

    /// The row as a value: records as links, projections as embedded documents.
    pub fn to_value(&self) -> Value {
        match &self.data {
            Data::Record(r) => Value::Link(r.rid),
            Data::Pending(p) => Value::Link(p.rid),
            Data::Doc(d) => Value::Embedded((**d).clone()),
            Data::Match(b) => Value::Embedded(b.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            Data::Value(v) => v.clone(),
        }
    }

    /// The row as OrientDB's JSON.
    pub fn to_json(&self) -> Res<Json> {
        match &self.data {
            Data::Record(r) => crate::records::record_json(r).map_err(QueryError::Invalid),
            Data::Pending(p) => {
                let mut m = Map::new();
                m.insert("@type".into(), Json::from("d"));
                m.insert("@rid".into(), Json::from(p.rid.to_string()));
                m.insert("@version".into(), Json::from(0));
                m.insert("@class".into(), Json::from(p.class.clone()));
                for (k, v) in p.fields.iter() {
                    m.insert(k.to_string(), to_json(v));
                }
                Ok(Json::Object(m))
            }
            Data::Doc(d) => Ok(projection_json(d.iter())),
            Data::Match(b) => Ok(projection_json(b.iter().map(|(k, v)| (k.as_str(), v)))),
            Data::Value(v) => Ok(projection_json(std::iter::once(("value", v)))),
        }
    }
}

/// A projection as JSON: `@type` and `@version` first (OrientDB's shape for documents
/// without identity), then the values in order.
fn projection_json<'a>(fields: impl Iterator<Item = (&'a str, &'a Value)>) -> Json {
    let mut m = Map::new();
    m.insert("@type".into(), Json::from("d"));
    m.insert("@version".into(), Json::from(0));
    for (k, v) in fields {
        m.insert(k.to_string(), to_json(v));
    }
    Json::Object(m)
}

/// A value with the total order of [`Value::total_cmp`], for sorting, sets and group keys.
#[derive(Debug, Clone)]
pub(crate) struct OrdValue(pub Value);

impl PartialEq for OrdValue {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for OrdValue {}

impl PartialOrd for OrdValue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrdValue {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Keeps the first of equal values, in order.
pub(crate) fn dedup_values(items: Vec<Value>) -> Vec<Value> {
    if items.iter().all(|v| matches!(v, Value::Link(_))) {
        // Records (the common case: `out().out().asSet()`): hash their RIDs.
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        return items.into_iter().filter(|v| v.as_rid().is_some_and(|r| seen.insert(r))).collect();
    }
    let mut seen = std::collections::BTreeSet::new();
    items.into_iter().filter(|v| seen.insert(OrdValue(v.clone()))).collect()
}

/// Replaces temporary RIDs in a value by the RIDs a commit gave them.
pub(crate) fn resolve_temps(v: &mut Value, map: &dyn Fn(Rid) -> Rid) {
    match v {
        Value::Link(r) => *r = map(*r),
        Value::List(items) | Value::Set(items) => items.iter_mut().for_each(|i| resolve_temps(i, map)),
        Value::Map(m) => m.values_mut().for_each(|i| resolve_temps(i, map)),
        Value::Embedded(d) => d.iter_mut().for_each(|(_, i)| resolve_temps(i, map)),
        _ => {}
    }
}

/// True for a value a condition accepts: `true` (OrientDB treats everything else as false).
pub(crate) fn truthy(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

/// An integer value as OrientDB types it: INTEGER when it fits, else LONG.
pub(crate) fn int_value(i: i64) -> Value {
    i32::try_from(i).map(Value::Int).unwrap_or(Value::Long(i))
}

/// Short text of a value for messages.
pub(crate) fn show(v: &Value) -> String {
    let s = to_json(v).to_string();
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}
