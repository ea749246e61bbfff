//! Indexes: ordered maps from keys to records, unique or not, kept in memory.
//!
//! Indexes are derived data (DESIGN.md: never shipped, every node maintains its own). They
//! are updated by every applied entry and built from the records when the database opens or
//! the index is created, so a missing or damaged index can never be served: there is no
//! index file to lose. The price is a scan of the indexed classes at open.
//!
//! The pairs live in a persistent sorted set (`Entries`: sorted chunks of at most
//! `CHUNK_MAX` pairs behind `Arc`s), so a read view's copy of an index costs one pointer and
//! a change copies only the chunk it touches and the chunk list: O(n / CHUNK_MAX + CHUNK_MAX)
//! when a reader shares the index, in place otherwise.
//!
//! Keys are normalised so that equal numbers are equal keys whatever their width (an
//! INTEGER 3 and a LONG 3 are the same key). A record whose key properties are all missing
//! or null is not indexed, so a unique index allows any number of records without the key.

use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;

use crate::schema::IndexDef;
use crate::value::{Document, Rid, Value};

/// An index key: one value per indexed property.
#[derive(Debug, Clone)]
pub struct Key(pub Vec<Value>);

impl Key {
    /// A key from values, normalised.
    pub fn new(values: Vec<Value>) -> Key {
        Key(values.into_iter().map(normalize).collect())
    }

    /// The key as text, for messages.
    pub fn render(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(|v| crate::json::to_json(v).to_string()).collect();
        if parts.len() == 1 {
            parts[0].clone()
        } else {
            format!("[{}]", parts.join(", "))
        }
    }

    /// True if this key starts with `prefix`.
    pub fn starts_with(&self, prefix: &[Value]) -> bool {
        prefix.len() <= self.0.len() && prefix.iter().zip(&self.0).all(|(a, b)| a.total_cmp(b) == Ordering::Equal)
    }
}

/// Narrows numbers to one representation per value.
pub fn normalize(v: Value) -> Value {
    match v {
        Value::Byte(_) | Value::Short(_) | Value::Int(_) => Value::Long(v.as_i64().unwrap_or_default()),
        Value::Float(f) => normalize(Value::Double(f64::from(f))),
        Value::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e15 => Value::Long(d as i64),
        other => other,
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> Ordering {
        for (a, b) in self.0.iter().zip(&other.0) {
            let o = a.total_cmp(b);
            if o != Ordering::Equal {
                return o;
            }
        }
        self.0.len().cmp(&other.0.len())
    }
}

const RID_MIN: Rid = Rid { cluster: i32::MIN, position: i64::MIN };
const RID_MAX: Rid = Rid { cluster: i32::MAX, position: i64::MAX };

/// Pairs per chunk of [`Entries`] at most (a full chunk is split in two).
const CHUNK_MAX: usize = 256;

/// A (key, record) pair.
type Pair = (Key, Rid);

/// A persistent sorted set of pairs: non-empty sorted chunks, each holding pairs below the
/// first pair of the next. Cloning copies one pointer; changes copy what is shared.
#[derive(Debug, Clone, Default)]
struct Entries {
    /// The chunks, in order.
    chunks: Arc<Vec<Arc<Vec<Pair>>>>,
    /// Pairs in all chunks.
    len: usize,
}

impl Entries {
    /// The chunk that holds `x` or would: the last whose first pair is not above it.
    fn chunk_of(&self, x: &Pair) -> usize {
        self.chunks.partition_point(|c| c[0] <= *x).saturating_sub(1)
    }

    fn insert(&mut self, x: Pair) -> bool {
        if self.chunks.is_empty() {
            Arc::make_mut(&mut self.chunks).push(Arc::new(vec![x]));
            self.len = 1;
            return true;
        }
        let ci = self.chunk_of(&x);
        let Err(at) = self.chunks[ci].binary_search(&x) else { return false };
        let chunks = Arc::make_mut(&mut self.chunks);
        let chunk = Arc::make_mut(&mut chunks[ci]);
        chunk.insert(at, x);
        if chunk.len() > CHUNK_MAX {
            let upper = chunk.split_off(chunk.len() / 2);
            chunks.insert(ci + 1, Arc::new(upper));
        }
        self.len += 1;
        true
    }

    fn remove(&mut self, x: &Pair) -> bool {
        if self.chunks.is_empty() {
            return false;
        }
        let ci = self.chunk_of(x);
        let Ok(at) = self.chunks[ci].binary_search(x) else { return false };
        let chunks = Arc::make_mut(&mut self.chunks);
        let chunk = Arc::make_mut(&mut chunks[ci]);
        chunk.remove(at);
        if chunk.is_empty() {
            chunks.remove(ci);
        }
        self.len -= 1;
        true
    }

    /// Pairs from `start` on, in order.
    fn from(&self, start: Bound<&Pair>) -> impl Iterator<Item = &Pair> + '_ {
        let (ci, at) = match start {
            _ if self.chunks.is_empty() => (0, 0),
            Bound::Unbounded => (0, 0),
            Bound::Included(x) => {
                let ci = self.chunk_of(x);
                (ci, self.chunks[ci].partition_point(|p| p < x))
            }
            Bound::Excluded(x) => {
                let ci = self.chunk_of(x);
                (ci, self.chunks[ci].partition_point(|p| p <= x))
            }
        };
        self.chunks.iter().skip(ci).enumerate().flat_map(move |(j, c)| c[if j == 0 { at } else { 0 }..].iter())
    }
}

/// One index.
#[derive(Debug, Clone)]
pub struct Index {
    /// Its definition.
    pub def: IndexDef,
    /// (key, record) pairs.
    entries: Entries,
}

impl Index {
    /// An empty index.
    pub fn new(def: IndexDef) -> Index {
        Index { def, entries: Entries::default() }
    }

    /// The key of a record's fields for this index, or `None` if every part is missing.
    pub fn key_of(def: &IndexDef, fields: &Document) -> Option<Key> {
        let values: Vec<Value> = def
            .fields
            .iter()
            .map(|f| {
                fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(f)).map(|(_, v)| v.clone()).unwrap_or(Value::Null)
            })
            .collect();
        if values.iter().all(Value::is_null) {
            None
        } else {
            Some(Key::new(values))
        }
    }

    /// Adds a pair. For a unique index holding the key for another record, nothing changes
    /// and that record is returned.
    pub fn insert(&mut self, key: Key, rid: Rid) -> Result<(), Rid> {
        if self.def.unique {
            if let Some(existing) = self.get(&key).into_iter().find(|r| *r != rid) {
                return Err(existing);
            }
        }
        self.entries.insert((key, rid));
        Ok(())
    }

    /// Removes a pair; true if it was there.
    pub fn remove(&mut self, key: &Key, rid: Rid) -> bool {
        self.entries.remove(&(key.clone(), rid))
    }

    /// The records holding exactly `key`.
    pub fn get(&self, key: &Key) -> Vec<Rid> {
        let start = (key.clone(), RID_MIN);
        self.entries.from(Bound::Included(&start)).take_while(|(k, _)| k == key).map(|(_, r)| *r).collect()
    }

    /// The records whose key starts with `prefix` (all of a composite key, or its first parts).
    pub fn get_prefix(&self, prefix: &[Value]) -> Vec<Rid> {
        let start = Key::new(prefix.to_vec());
        let prefix: Vec<Value> = start.0.clone();
        let start = (start, RID_MIN);
        self.entries
            .from(Bound::Included(&start))
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(_, r)| *r)
            .collect()
    }

    /// Pairs with keys between two bounds, in key order. For composite keys the bounds
    /// compare with the first parts.
    pub fn range(&self, lo: Bound<Key>, hi: Bound<Key>) -> impl Iterator<Item = (&Key, Rid)> + '_ {
        let start = match lo {
            Bound::Included(k) => Bound::Included((k, RID_MIN)),
            Bound::Excluded(k) => Bound::Excluded((k, RID_MAX)),
            Bound::Unbounded => Bound::Unbounded,
        };
        let hi_key = hi;
        let start: Bound<&Pair> = match &start {
            Bound::Included(x) => Bound::Included(x),
            Bound::Excluded(x) => Bound::Excluded(x),
            Bound::Unbounded => Bound::Unbounded,
        };
        self.entries
            .from(start)
            .take_while(move |(k, _)| match &hi_key {
                Bound::Included(h) => cmp_prefix(k, h) != Ordering::Greater,
                Bound::Excluded(h) => cmp_prefix(k, h) == Ordering::Less,
                Bound::Unbounded => true,
            })
            .map(|(k, r)| (k, *r))
    }

    /// Every pair in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, Rid)> + '_ {
        self.entries.from(Bound::Unbounded).map(|(k, r)| (k, *r))
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.entries.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.len == 0
    }
}

/// Compares a key with a bound on its first parts.
fn cmp_prefix(k: &Key, bound: &Key) -> Ordering {
    for (a, b) in k.0.iter().zip(&bound.0) {
        let o = a.total_cmp(b);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(unique: bool) -> IndexDef {
        IndexDef { name: "i".into(), class: "V".into(), fields: vec!["n".into()], unique, kind: "X".into() }
    }

    #[test]
    fn unique_indexes_refuse_a_second_record_per_key() {
        let mut i = Index::new(def(true));
        let k = Index::key_of(&i.def, &Document::new().with("n", Value::Int(3))).unwrap();
        i.insert(k.clone(), Rid::new(9, 1)).unwrap();
        let k2 = Index::key_of(&i.def, &Document::new().with("N", Value::Long(3))).unwrap();
        assert_eq!(i.insert(k2.clone(), Rid::new(9, 2)), Err(Rid::new(9, 1)));
        assert!(i.insert(k2, Rid::new(9, 1)).is_ok(), "the same record again is fine");
        assert_eq!(Index::key_of(&i.def, &Document::new()), None);
    }

    #[test]
    fn ranges_and_lookups() {
        let mut i = Index::new(def(false));
        for n in 0..10 {
            i.insert(Key::new(vec![Value::Int(n % 5)]), Rid::new(9, i64::from(n))).unwrap();
        }
        assert_eq!(i.get(&Key::new(vec![Value::Int(2)])), vec![Rid::new(9, 2), Rid::new(9, 7)]);
        let r: Vec<Rid> = i
            .range(Bound::Excluded(Key::new(vec![Value::Int(1)])), Bound::Included(Key::new(vec![Value::Double(3.0)])))
            .map(|(_, r)| r)
            .collect();
        assert_eq!(r, vec![Rid::new(9, 2), Rid::new(9, 7), Rid::new(9, 3), Rid::new(9, 8)]);
        assert_eq!(i.get_prefix(&[Value::Long(4)]).len(), 2);
    }
}
