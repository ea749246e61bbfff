//! The byte form of a record's body and the `Record` readers get back.
//!
//! ```text
//! body  = kind:u8  bags_len:uvarint  bags  fields
//! kind  = 0 document | 1 vertex | 2 edge
//! bags  = count:uvarint ( direction:u8 label:str count:uvarint (edge:rid other:rid)* )*
//! fields= count:uvarint ( name:str value )*
//! rid   = cluster:ivarint position:ivarint
//! value = tag:u8 payload      (tags in `Tag`; lists/sets/maps/embedded nest, at most
//!                               MAX_NESTING deep)
//! ```
//! The link bags of a vertex come first with their byte length, so listing neighbours never
//! decodes the fields and reading fields skips the bags in one step. Edges keep their ends
//! as the ordinary link fields `out` and `in`, as OrientDB does.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::codec::{put_bytes, put_ivarint, put_str, put_uvarint, DecodeError, DecodeResult, Reader};
use crate::value::{Document, Rid, Value};

/// How deep lists, maps and embedded documents may nest.
pub const MAX_NESTING: usize = 64;

/// What a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A plain document.
    Document,
    /// A vertex, with link bags.
    Vertex,
    /// An edge, with `out` and `in` links.
    Edge,
}

impl RecordKind {
    fn tag(self) -> u8 {
        match self {
            RecordKind::Document => 0,
            RecordKind::Vertex => 1,
            RecordKind::Edge => 2,
        }
    }

    fn from_tag(t: u8) -> DecodeResult<RecordKind> {
        match t {
            0 => Ok(RecordKind::Document),
            1 => Ok(RecordKind::Vertex),
            2 => Ok(RecordKind::Edge),
            other => Err(DecodeError(format!("unknown record kind {other}"))),
        }
    }
}

/// Direction of an edge as seen from a vertex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// The vertex is the edge's `out` end.
    Out,
    /// The vertex is the edge's `in` end.
    In,
}

impl Direction {
    /// The field-name prefix OrientDB uses: `out_` or `in_`.
    pub fn prefix(self) -> &'static str {
        match self {
            Direction::Out => "out_",
            Direction::In => "in_",
        }
    }

    /// The other direction.
    pub fn reverse(self) -> Direction {
        match self {
            Direction::Out => Direction::In,
            Direction::In => Direction::Out,
        }
    }
}

/// The edges of one label and direction at a vertex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkBag {
    /// Out or in.
    pub direction: Direction,
    /// The edge class (canonical name).
    pub label: String,
    /// (edge, vertex at the other end), in the order the edges were added.
    pub links: Vec<(Rid, Rid)>,
}

impl LinkBag {
    /// The field name OrientDB shows for this bag: `out_<label>` or `in_<label>`.
    pub fn field_name(&self) -> String {
        format!("{}{}", self.direction.prefix(), self.label)
    }
}

/// Value tags on disk. Never renumber: they are a persistent format.
mod tag {
    pub const NULL: u8 = 0;
    pub const FALSE: u8 = 1;
    pub const TRUE: u8 = 2;
    pub const BYTE: u8 = 3;
    pub const SHORT: u8 = 4;
    pub const INT: u8 = 5;
    pub const LONG: u8 = 6;
    pub const FLOAT: u8 = 7;
    pub const DOUBLE: u8 = 8;
    pub const STRING: u8 = 9;
    pub const BINARY: u8 = 10;
    pub const DATETIME: u8 = 11;
    pub const LINK: u8 = 12;
    pub const LIST: u8 = 13;
    pub const SET: u8 = 14;
    pub const MAP: u8 = 15;
    pub const EMBEDDED: u8 = 16;
}

/// Appends a RID.
pub fn put_rid(out: &mut Vec<u8>, rid: Rid) {
    put_ivarint(out, i64::from(rid.cluster));
    put_ivarint(out, rid.position);
}

/// Reads a RID.
pub fn read_rid(r: &mut Reader<'_>) -> DecodeResult<Rid> {
    let c = r.ivarint()?;
    let cluster = i32::try_from(c).map_err(|_| DecodeError(format!("cluster id {c} out of range")))?;
    Ok(Rid { cluster, position: r.ivarint()? })
}

/// Appends one value.
pub fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(tag::NULL),
        Value::Bool(false) => out.push(tag::FALSE),
        Value::Bool(true) => out.push(tag::TRUE),
        Value::Byte(b) => {
            out.push(tag::BYTE);
            out.push(*b as u8);
        }
        Value::Short(s) => {
            out.push(tag::SHORT);
            put_ivarint(out, i64::from(*s));
        }
        Value::Int(i) => {
            out.push(tag::INT);
            put_ivarint(out, i64::from(*i));
        }
        Value::Long(l) => {
            out.push(tag::LONG);
            put_ivarint(out, *l);
        }
        Value::Float(f) => {
            out.push(tag::FLOAT);
            out.extend_from_slice(&f.to_le_bytes());
        }
        Value::Double(d) => {
            out.push(tag::DOUBLE);
            out.extend_from_slice(&d.to_le_bytes());
        }
        Value::String(s) => {
            out.push(tag::STRING);
            put_str(out, s);
        }
        Value::Binary(b) => {
            out.push(tag::BINARY);
            put_bytes(out, b);
        }
        Value::DateTime(ms) => {
            out.push(tag::DATETIME);
            put_ivarint(out, *ms);
        }
        Value::Link(r) => {
            out.push(tag::LINK);
            put_rid(out, *r);
        }
        Value::List(items) | Value::Set(items) => {
            out.push(if matches!(v, Value::List(_)) { tag::LIST } else { tag::SET });
            put_uvarint(out, items.len() as u64);
            for item in items {
                put_value(out, item);
            }
        }
        Value::Map(m) => {
            out.push(tag::MAP);
            put_uvarint(out, m.len() as u64);
            for (k, item) in m {
                put_str(out, k);
                put_value(out, item);
            }
        }
        Value::Embedded(d) => {
            out.push(tag::EMBEDDED);
            put_fields(out, d);
        }
    }
}

/// Appends a document's fields: count, then (name, value) pairs.
pub fn put_fields(out: &mut Vec<u8>, d: &Document) {
    put_uvarint(out, d.len() as u64);
    for (name, v) in d.iter() {
        put_str(out, name);
        put_value(out, v);
    }
}

/// Reads one value.
pub fn read_value(r: &mut Reader<'_>, depth: usize) -> DecodeResult<Value> {
    if depth > MAX_NESTING {
        return Err(DecodeError(format!("values nested deeper than {MAX_NESTING}")));
    }
    let at = r.position();
    Ok(match r.u8()? {
        tag::NULL => Value::Null,
        tag::FALSE => Value::Bool(false),
        tag::TRUE => Value::Bool(true),
        tag::BYTE => Value::Byte(r.u8()? as i8),
        tag::SHORT => Value::Short(narrow(r.ivarint()?, "SHORT")?),
        tag::INT => Value::Int(narrow(r.ivarint()?, "INTEGER")?),
        tag::LONG => Value::Long(r.ivarint()?),
        tag::FLOAT => Value::Float(f32::from_le_bytes(r.array()?)),
        tag::DOUBLE => Value::Double(f64::from_le_bytes(r.array()?)),
        tag::STRING => Value::String(r.str()?.to_string()),
        tag::BINARY => Value::Binary(r.bytes()?.to_vec()),
        tag::DATETIME => Value::DateTime(r.ivarint()?),
        tag::LINK => Value::Link(read_rid(r)?),
        t @ (tag::LIST | tag::SET) => {
            let n = r.count(1)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(read_value(r, depth + 1)?);
            }
            if t == tag::LIST {
                Value::List(items)
            } else {
                Value::Set(items)
            }
        }
        tag::MAP => {
            let n = r.count(2)?;
            let mut m = BTreeMap::new();
            for _ in 0..n {
                let k = r.str()?.to_string();
                m.insert(k, read_value(r, depth + 1)?);
            }
            Value::Map(m)
        }
        tag::EMBEDDED => Value::Embedded(read_fields(r, depth + 1)?),
        other => return Err(DecodeError(format!("unknown value tag {other} at offset {at}"))),
    })
}

fn narrow<T: TryFrom<i64>>(v: i64, what: &str) -> DecodeResult<T> {
    T::try_from(v).map_err(|_| DecodeError(format!("{v} does not fit a {what}")))
}

/// Skips one value without building it.
fn skip_value(r: &mut Reader<'_>, depth: usize) -> DecodeResult<()> {
    if depth > MAX_NESTING {
        return Err(DecodeError(format!("values nested deeper than {MAX_NESTING}")));
    }
    match r.u8()? {
        tag::NULL | tag::FALSE | tag::TRUE => {}
        tag::BYTE => {
            r.u8()?;
        }
        tag::SHORT | tag::INT | tag::LONG | tag::DATETIME => {
            r.ivarint()?;
        }
        tag::FLOAT => {
            r.take(4)?;
        }
        tag::DOUBLE => {
            r.take(8)?;
        }
        tag::STRING | tag::BINARY => {
            r.bytes()?;
        }
        tag::LINK => {
            read_rid(r)?;
        }
        tag::LIST | tag::SET => {
            for _ in 0..r.count(1)? {
                skip_value(r, depth + 1)?;
            }
        }
        tag::MAP => {
            for _ in 0..r.count(2)? {
                r.bytes()?;
                skip_value(r, depth + 1)?;
            }
        }
        tag::EMBEDDED => {
            for _ in 0..r.count(2)? {
                r.bytes()?;
                skip_value(r, depth + 1)?;
            }
        }
        other => return Err(DecodeError(format!("unknown value tag {other}"))),
    }
    Ok(())
}

/// Reads a document's fields.
pub fn read_fields(r: &mut Reader<'_>, depth: usize) -> DecodeResult<Document> {
    let n = r.count(2)?;
    let mut d = Document::new();
    for _ in 0..n {
        let name = r.str()?.to_string();
        let v = read_value(r, depth)?;
        d.set(name, v);
    }
    Ok(d)
}

/// Encodes a whole body.
pub fn encode_body(kind: RecordKind, bags: &[LinkBag], fields: &Document) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(kind.tag());
    let bag_bytes = encode_bags(bags);
    put_bytes(&mut out, &bag_bytes);
    put_fields(&mut out, fields);
    out
}

fn encode_bags(bags: &[LinkBag]) -> Vec<u8> {
    if bags.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    put_uvarint(&mut out, bags.len() as u64);
    for bag in bags {
        out.push(match bag.direction {
            Direction::Out => 0,
            Direction::In => 1,
        });
        put_str(&mut out, &bag.label);
        put_uvarint(&mut out, bag.links.len() as u64);
        for (edge, other) in &bag.links {
            put_rid(&mut out, *edge);
            put_rid(&mut out, *other);
        }
    }
    out
}

/// The parts of a body, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct BodyParts<'a> {
    /// The record kind.
    pub kind: RecordKind,
    /// The encoded bags (empty when the record has none).
    pub bags: &'a [u8],
    /// The encoded fields.
    pub fields: &'a [u8],
}

/// Splits a body into kind, bags and fields without decoding them.
pub fn split_body(body: &[u8]) -> DecodeResult<BodyParts<'_>> {
    let mut r = Reader::new(body);
    let kind = RecordKind::from_tag(r.u8()?)?;
    let bags = r.bytes()?;
    let fields = &body[r.position()..];
    Ok(BodyParts { kind, bags, fields })
}

/// Decodes the bags section.
pub fn decode_bags(bytes: &[u8]) -> DecodeResult<Vec<LinkBag>> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let mut r = Reader::new(bytes);
    let n = r.count(3)?;
    let mut bags = Vec::with_capacity(n);
    for _ in 0..n {
        let direction = match r.u8()? {
            0 => Direction::Out,
            1 => Direction::In,
            other => return Err(DecodeError(format!("unknown link direction {other}"))),
        };
        let label = r.str()?.to_string();
        let count = r.count(4)?;
        let mut links = Vec::with_capacity(count);
        for _ in 0..count {
            links.push((read_rid(&mut r)?, read_rid(&mut r)?));
        }
        bags.push(LinkBag { direction, label, links });
    }
    if !r.is_empty() {
        return Err(DecodeError(format!("{} stray bytes after the link bags", r.remaining())));
    }
    Ok(bags)
}

/// Decodes the fields section.
pub fn decode_fields(bytes: &[u8]) -> DecodeResult<Document> {
    let mut r = Reader::new(bytes);
    let d = read_fields(&mut r, 0)?;
    if !r.is_empty() {
        return Err(DecodeError(format!("{} stray bytes after the fields", r.remaining())));
    }
    Ok(d)
}

/// Finds one field in the fields section without decoding the others.
pub fn find_field(bytes: &[u8], name: &str) -> DecodeResult<Option<Value>> {
    let mut r = Reader::new(bytes);
    let n = r.count(2)?;
    for _ in 0..n {
        let field = r.str()?;
        if field == name {
            return read_value(&mut r, 0).map(Some);
        }
        skip_value(&mut r, 0)?;
    }
    Ok(None)
}

/// Replaces the fields of a body, keeping its kind and bags.
pub fn with_fields(body: &[u8], fields: &Document) -> DecodeResult<Vec<u8>> {
    let parts = split_body(body)?;
    let mut out = Vec::with_capacity(body.len());
    out.push(parts.kind.tag());
    put_bytes(&mut out, parts.bags);
    put_fields(&mut out, fields);
    Ok(out)
}

/// Replaces the bags of a body, keeping its kind and fields.
pub fn with_bags(body: &[u8], bags: &[LinkBag]) -> DecodeResult<Vec<u8>> {
    let parts = split_body(body)?;
    let mut out = Vec::with_capacity(body.len() + 32);
    out.push(parts.kind.tag());
    put_bytes(&mut out, &encode_bags(bags));
    out.extend_from_slice(parts.fields);
    Ok(out)
}

/// Checks that a body decodes completely (used on bodies that arrive in log entries).
pub fn validate_body(body: &[u8]) -> DecodeResult<RecordKind> {
    let parts = split_body(body)?;
    decode_bags(parts.bags)?;
    decode_fields(parts.fields)?;
    Ok(parts.kind)
}

/// A record as readers get it: its identity, version, class and body bytes. Fields are
/// decoded on demand.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Its RID.
    pub rid: Rid,
    /// Its version: 1 when created, one more after each transaction that changed it.
    pub version: u32,
    /// Its class.
    pub class: Arc<str>,
    /// The encoded body (see the module docs).
    pub body: Vec<u8>,
}

impl Record {
    /// Document, vertex or edge.
    pub fn kind(&self) -> RecordKind {
        split_body(&self.body).map(|p| p.kind).unwrap_or(RecordKind::Document)
    }

    /// All fields (without the link bags).
    pub fn fields(&self) -> DecodeResult<Document> {
        decode_fields(split_body(&self.body)?.fields)
    }

    /// One field, decoding only what it must.
    pub fn field(&self, name: &str) -> DecodeResult<Option<Value>> {
        find_field(split_body(&self.body)?.fields, name)
    }

    /// The link bags (vertices only; empty otherwise).
    pub fn bags(&self) -> DecodeResult<Vec<LinkBag>> {
        decode_bags(split_body(&self.body)?.bags)
    }

    /// For an edge: its `out` and `in` vertices.
    pub fn edge_ends(&self) -> DecodeResult<Option<(Rid, Rid)>> {
        let out = self.field("out")?.and_then(|v| v.as_rid());
        let inn = self.field("in")?.and_then(|v| v.as_rid());
        Ok(out.zip(inn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> (Vec<LinkBag>, Document) {
        let bags = vec![LinkBag {
            direction: Direction::Out,
            label: "followed_by".into(),
            links: vec![(Rid::new(11, 0), Rid::new(9, 2)), (Rid::new(11, 1), Rid::new(9, 3))],
        }];
        let mut m = BTreeMap::new();
        m.insert("k".to_string(), Value::List(vec![Value::Int(1), Value::Null]));
        let fields = Document::new()
            .with("name", Value::String("HEY BO DIDDLEY".into()))
            .with("performances", Value::Int(5))
            .with("weights", Value::Map(m))
            .with("when", Value::DateTime(-86_400_000))
            .with("inner", Value::Embedded(Document::new().with("x", Value::Double(1.5))));
        (bags, fields)
    }

    #[test]
    fn bodies_round_trip_and_fields_are_found_lazily() {
        let (bags, fields) = sample();
        let body = encode_body(RecordKind::Vertex, &bags, &fields);
        let parts = split_body(&body).unwrap();
        assert_eq!(parts.kind, RecordKind::Vertex);
        assert_eq!(decode_bags(parts.bags).unwrap(), bags);
        assert_eq!(decode_fields(parts.fields).unwrap(), fields);
        assert_eq!(find_field(parts.fields, "performances").unwrap(), Some(Value::Int(5)));
        assert_eq!(find_field(parts.fields, "inner").unwrap(), fields.get("inner").cloned());
        assert_eq!(find_field(parts.fields, "missing").unwrap(), None);

        let replaced = with_fields(&body, &Document::new().with("a", Value::Bool(true))).unwrap();
        assert_eq!(decode_bags(split_body(&replaced).unwrap().bags).unwrap(), bags);
        let rebagged = with_bags(&body, &[]).unwrap();
        assert_eq!(decode_fields(split_body(&rebagged).unwrap().fields).unwrap(), fields);
        assert!(decode_bags(split_body(&rebagged).unwrap().bags).unwrap().is_empty());
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let mut v = Value::Null;
        for _ in 0..(MAX_NESTING + 5) {
            v = Value::List(vec![v]);
        }
        let body = encode_body(RecordKind::Document, &[], &Document::new().with("deep", v));
        assert!(validate_body(&body).is_err());
    }

    proptest! {
        #[test]
        fn garbage_bodies_are_errors_not_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = validate_body(&bytes);
            if let Ok(p) = split_body(&bytes) {
                let _ = find_field(p.fields, "x");
            }
        }

        #[test]
        fn flips_never_panic(at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let (bags, fields) = sample();
            let mut body = encode_body(RecordKind::Vertex, &bags, &fields);
            let i = at.index(body.len());
            body[i] ^= 1 << bit;
            let _ = validate_body(&body);
        }
    }
}
