//! Records' contents: RIDs, typed values and documents, with the total order that indexes
//! and `ORDER BY` use.
//!
//! A [`Document`] keeps its fields in insertion order (as OrientDB does), so the same
//! sequence of changes always produces the same bytes and the same digest.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

/// A record id, `#cluster:position`. Positions are allocated in order within a cluster and
/// never reused, so a RID is stable for the life of the record and identical on every node.
/// Negative values are temporary ids inside a transaction that has not committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rid {
    /// The cluster.
    pub cluster: i32,
    /// The position in the cluster.
    pub position: i64,
}

impl Rid {
    /// A RID.
    pub const fn new(cluster: i32, position: i64) -> Rid {
        Rid { cluster, position }
    }

    /// True for a temporary id handed out inside a transaction.
    pub fn is_temporary(&self) -> bool {
        self.cluster < 0 || self.position < 0
    }

    /// Parses `#12:3` or `12:3`.
    pub fn parse(s: &str) -> Option<Rid> {
        let s = s.trim();
        let s = s.strip_prefix('#').unwrap_or(s);
        let (c, p) = s.split_once(':')?;
        let valid = |t: &str| {
            let digits = t.strip_prefix('-').unwrap_or(t);
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        };
        if !valid(c) || !valid(p) {
            return None;
        }
        Some(Rid { cluster: c.parse().ok()?, position: p.parse().ok()? })
    }
}

impl fmt::Display for Rid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}:{}", self.cluster, self.position)
    }
}

/// A fast hasher for RIDs: the engine's per-transaction and per-entry maps are keyed by
/// RIDs and probed several times per record written, where SipHash (the standard default,
/// built to resist chosen keys) costs more than the rest of the probe. RIDs are allocated
/// in order by the engine itself, so chosen collisions are not a concern there.
#[derive(Debug, Default, Clone, Copy)]
pub struct RidHasher(u64);

impl RidHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(23) ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl Hasher for RidHasher {
    fn finish(&self) -> u64 {
        // Fold the well-mixed high bits down: the table indexes by the low ones.
        let h = self.0;
        h ^ (h >> 29) ^ (h >> 47)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_i32(&mut self, n: i32) {
        self.add(u64::from(n as u32));
    }

    fn write_i64(&mut self, n: i64) {
        self.add(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
}

/// A hash map keyed by RIDs, with [`RidHasher`].
pub type RidMap<V> = HashMap<Rid, V, BuildHasherDefault<RidHasher>>;
/// A hash set of RIDs, with [`RidHasher`].
pub type RidSet = HashSet<Rid, BuildHasherDefault<RidHasher>>;

/// A typed value stored in a record field.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value.
    Null,
    /// true/false.
    Bool(bool),
    /// 8-bit integer.
    Byte(i8),
    /// 16-bit integer.
    Short(i16),
    /// 32-bit integer (OrientDB's INTEGER).
    Int(i32),
    /// 64-bit integer.
    Long(i64),
    /// 32-bit float.
    Float(f32),
    /// 64-bit float.
    Double(f64),
    /// UTF-8 text.
    String(String),
    /// Bytes.
    Binary(Vec<u8>),
    /// Milliseconds since 1970-01-01 UTC.
    DateTime(i64),
    /// A link to another record.
    Link(Rid),
    /// An ordered list (embedded or of links).
    List(Vec<Value>),
    /// A set; kept in insertion order without duplicates.
    Set(Vec<Value>),
    /// A map from strings to values.
    Map(BTreeMap<String, Value>),
    /// An embedded document (no RID of its own).
    Embedded(Document),
}

impl Value {
    /// The type's name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "BOOLEAN",
            Value::Byte(_) => "BYTE",
            Value::Short(_) => "SHORT",
            Value::Int(_) => "INTEGER",
            Value::Long(_) => "LONG",
            Value::Float(_) => "FLOAT",
            Value::Double(_) => "DOUBLE",
            Value::String(_) => "STRING",
            Value::Binary(_) => "BINARY",
            Value::DateTime(_) => "DATETIME",
            Value::Link(_) => "LINK",
            Value::List(_) => "EMBEDDEDLIST",
            Value::Set(_) => "EMBEDDEDSET",
            Value::Map(_) => "EMBEDDEDMAP",
            Value::Embedded(_) => "EMBEDDED",
        }
    }

    /// True for `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as an i64 if it is an integer of any width.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Byte(v) => Some(i64::from(*v)),
            Value::Short(v) => Some(i64::from(*v)),
            Value::Int(v) => Some(i64::from(*v)),
            Value::Long(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as an f64 if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(v) => Some(f64::from(*v)),
            Value::Double(v) => Some(*v),
            other => other.as_i64().map(|v| v as f64),
        }
    }

    /// The value as text if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a RID if it is a link.
    pub fn as_rid(&self) -> Option<Rid> {
        match self {
            Value::Link(r) => Some(*r),
            _ => None,
        }
    }

    /// True for numeric variants.
    pub fn is_number(&self) -> bool {
        self.as_f64().is_some() && !matches!(self, Value::DateTime(_))
    }

    /// Rank of the type in the total order: values of different kinds sort by kind first.
    fn kind_rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Byte(_) | Value::Short(_) | Value::Int(_) | Value::Long(_) | Value::Float(_) | Value::Double(_) => 2,
            Value::DateTime(_) => 3,
            Value::String(_) => 4,
            Value::Binary(_) => 5,
            Value::Link(_) => 6,
            Value::List(_) | Value::Set(_) => 7,
            Value::Map(_) => 8,
            Value::Embedded(_) => 9,
        }
    }

    /// A total order over all values: by kind (null < boolean < number < datetime < string
    /// < binary < link < list < map < embedded), numbers compared by value whatever their
    /// width, floats by `total_cmp`. Indexes and `ORDER BY` use it.
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        let (ra, rb) = (self.kind_rank(), other.kind_rank());
        if ra != rb {
            return ra.cmp(&rb);
        }
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::DateTime(a), Value::DateTime(b)) => a.cmp(b),
            (Value::String(a), Value::String(b)) => a.cmp(b),
            (Value::Binary(a), Value::Binary(b)) => a.cmp(b),
            (Value::Link(a), Value::Link(b)) => a.cmp(b),
            (Value::List(a) | Value::Set(a), Value::List(b) | Value::Set(b)) => cmp_slices(a, b),
            (Value::Map(a), Value::Map(b)) => {
                let ka: Vec<_> = a.iter().collect();
                let kb: Vec<_> = b.iter().collect();
                for ((xk, xv), (yk, yv)) in ka.iter().zip(kb.iter()) {
                    let o = xk.cmp(yk).then_with(|| xv.total_cmp(yv));
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                ka.len().cmp(&kb.len())
            }
            (Value::Embedded(a), Value::Embedded(b)) => {
                for ((xk, xv), (yk, yv)) in a.iter().zip(b.iter()) {
                    let o = xk.cmp(yk).then_with(|| xv.total_cmp(yv));
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.len().cmp(&b.len())
            }
            (a, b) => cmp_numbers(a, b),
        }
    }

    /// Equality as queries see it: numbers equal by value across widths.
    pub fn loose_eq(&self, other: &Value) -> bool {
        self.total_cmp(other) == Ordering::Equal
    }
}

fn cmp_slices(a: &[Value], b: &[Value]) -> Ordering {
    for (x, y) in a.iter().zip(b.iter()) {
        let o = x.total_cmp(y);
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

fn cmp_numbers(a: &Value, b: &Value) -> Ordering {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => {
            let x = a.as_f64().unwrap_or(f64::NAN);
            let y = b.as_f64().unwrap_or(f64::NAN);
            x.total_cmp(&y)
        }
    }
}

/// A document: named fields in insertion order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    /// The fields, names unique.
    fields: Vec<(String, Value)>,
}

impl Document {
    /// An empty document.
    pub fn new() -> Document {
        Document::default()
    }

    /// The value of a field.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// A mutable reference to a field's value.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.fields.iter_mut().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Sets a field, replacing its value in place or appending it.
    pub fn set(&mut self, name: impl Into<String>, value: Value) {
        let name = name.into();
        match self.fields.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((name, value)),
        }
    }

    /// Builder form of [`Document::set`].
    pub fn with(mut self, name: impl Into<String>, value: Value) -> Document {
        self.set(name, value);
        self
    }

    /// Removes a field, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.fields.iter().position(|(n, _)| n == name)?;
        Some(self.fields.remove(i).1)
    }

    /// The fields in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// Mutable access to the fields in order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Value)> {
        self.fields.iter_mut().map(|(n, v)| (n.as_str(), v))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True without fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The field names in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(n, _)| n.as_str())
    }

    /// Consumes the document into its fields.
    pub fn into_fields(self) -> Vec<(String, Value)> {
        self.fields
    }
}

impl FromIterator<(String, Value)> for Document {
    fn from_iter<T: IntoIterator<Item = (String, Value)>>(iter: T) -> Document {
        let mut d = Document::new();
        for (k, v) in iter {
            d.set(k, v);
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rids_parse_and_print() {
        assert_eq!(Rid::parse("#9:1"), Some(Rid::new(9, 1)));
        assert_eq!(Rid::parse("12:0"), Some(Rid::new(12, 0)));
        assert_eq!(Rid::parse("#-1:-2"), Some(Rid::new(-1, -2)));
        assert_eq!(Rid::parse("#9:x"), None);
        assert_eq!(Rid::parse("#9"), None);
        assert_eq!(Rid::parse("#:1"), None);
        assert_eq!(Rid::new(9, 1).to_string(), "#9:1");
    }

    #[test]
    fn numbers_compare_across_widths() {
        assert_eq!(Value::Int(3).total_cmp(&Value::Long(3)), Ordering::Equal);
        assert_eq!(Value::Int(3).total_cmp(&Value::Double(3.5)), Ordering::Less);
        assert_eq!(Value::Null.total_cmp(&Value::Int(-5)), Ordering::Less);
        assert_eq!(Value::String("a".into()).total_cmp(&Value::Int(9)), Ordering::Greater);
        assert!(Value::Long(i64::MAX).total_cmp(&Value::Long(i64::MAX - 1)) == Ordering::Greater);
    }

    #[test]
    fn documents_keep_order_and_replace_in_place() {
        let mut d = Document::new().with("b", Value::Int(1)).with("a", Value::Int(2));
        d.set("b", Value::Int(3));
        assert_eq!(d.names().collect::<Vec<_>>(), vec!["b", "a"]);
        assert_eq!(d.get("b"), Some(&Value::Int(3)));
        assert_eq!(d.remove("b"), Some(Value::Int(3)));
        assert_eq!(d.len(), 1);
    }
}
