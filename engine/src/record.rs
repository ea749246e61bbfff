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

/// The body of `body` with the link (`edge`, `other`) appended to its `direction`/`label`
/// bag (a new bag at the end if it has none), or `None` if that bag already holds `edge`.
///
/// Works on the bytes: the bags section is walked (and checked as [`decode_bags`] would)
/// but not built, and the result is spliced together, so adding an edge to a vertex costs
/// a copy of its body, not a decode and re-encode of every link it has.
pub fn with_link_added(
    body: &[u8],
    direction: Direction,
    label: &str,
    edge: Rid,
    other: Rid,
) -> DecodeResult<Option<Vec<u8>>> {
    let parts = split_body(body)?;
    let bags = parts.bags;
    let dir_byte = match direction {
        Direction::Out => 0,
        Direction::In => 1,
    };
    let mut link = Vec::with_capacity(40);
    put_rid(&mut link, edge);
    let edge_bytes = link.len();
    put_rid(&mut link, other);
    let mut new_bags = Vec::with_capacity(bags.len() + link.len() + label.len() + 8);
    // (where its count starts, where the count ends, the count, where its links end)
    let mut found: Option<(usize, usize, u64, usize)> = None;
    let mut bag_count = 0;
    let mut first_bag_at = 0;
    if !bags.is_empty() {
        let mut r = Reader::new(bags);
        bag_count = r.count(3)?;
        first_bag_at = r.position();
        for _ in 0..bag_count {
            let d = r.u8()?;
            if d > 1 {
                return Err(DecodeError(format!("unknown link direction {d}")));
            }
            let l = r.str()?;
            let count_at = r.position();
            let count = r.count(4)?;
            let count_end = r.position();
            let this = found.is_none() && d == dir_byte && l == label;
            // Links are stepped over, not decoded: stored bags were checked when their
            // record was inserted and are written canonically, so the edge is found by
            // comparing its encoding (`link` starts with it).
            for _ in 0..count {
                let at = r.position();
                let edge_end = varint_end(bags, varint_end(bags, at)?)?;
                let end = varint_end(bags, varint_end(bags, edge_end)?)?;
                if this && bags[at..edge_end] == link[..edge_bytes] {
                    return Ok(None);
                }
                r.take(end - at)?;
            }
            if this {
                found = Some((count_at, count_end, count as u64, r.position()));
            }
        }
        if !r.is_empty() {
            return Err(DecodeError(format!("{} stray bytes after the link bags", r.remaining())));
        }
    }
    match found {
        Some((count_at, count_end, count, links_end)) => {
            new_bags.extend_from_slice(&bags[..count_at]);
            put_uvarint(&mut new_bags, count + 1);
            new_bags.extend_from_slice(&bags[count_end..links_end]);
            new_bags.extend_from_slice(&link);
            new_bags.extend_from_slice(&bags[links_end..]);
        }
        None => {
            put_uvarint(&mut new_bags, bag_count as u64 + 1);
            new_bags.extend_from_slice(&bags[first_bag_at..]);
            new_bags.push(dir_byte);
            put_str(&mut new_bags, label);
            put_uvarint(&mut new_bags, 1);
            new_bags.extend_from_slice(&link);
        }
    }
    let mut out = Vec::with_capacity(body.len() + link.len() + label.len() + 16);
    out.push(parts.kind.tag());
    put_bytes(&mut out, &new_bags);
    out.extend_from_slice(parts.fields);
    Ok(Some(out))
}

/// Appends to `out` the links of the bags of `body` in `direction` whose label `want`s,
/// bag by bag in stored order, without building the bags (no label strings, no per-bag
/// vectors): this is a traversal step.
pub fn links_into(
    body: &[u8],
    direction: Direction,
    mut want: impl FnMut(&str) -> bool,
    out: &mut Vec<(Rid, Rid)>,
) -> DecodeResult<()> {
    let bags = split_body(body)?.bags;
    if bags.is_empty() {
        return Ok(());
    }
    let dir_byte = match direction {
        Direction::Out => 0,
        Direction::In => 1,
    };
    let mut r = Reader::new(bags);
    for _ in 0..r.count(3)? {
        let d = r.u8()?;
        if d > 1 {
            return Err(DecodeError(format!("unknown link direction {d}")));
        }
        let label = r.str()?;
        let count = r.count(4)?;
        if d == dir_byte && want(label) {
            out.reserve(count);
            for _ in 0..count {
                out.push((read_rid(&mut r)?, read_rid(&mut r)?));
            }
        } else {
            for _ in 0..count {
                let at = r.position();
                let end = (0..4).try_fold(at, |at, _| varint_end(bags, at))?;
                r.take(end - at)?;
            }
        }
    }
    if !r.is_empty() {
        return Err(DecodeError(format!("{} stray bytes after the link bags", r.remaining())));
    }
    Ok(())
}

/// Where the varint starting at `at` ends (one past its last byte).
fn varint_end(bytes: &[u8], at: usize) -> DecodeResult<usize> {
    let tail = bytes.get(at..).unwrap_or_default();
    match tail.iter().take(10).position(|b| b & 0x80 == 0) {
        Some(i) => Ok(at + i + 1),
        None => Err(DecodeError(format!("truncated or overlong varint at offset {at}"))),
    }
}

/// The kind of a body (a document if the kind byte is unreadable; validated bodies never
/// are).
pub fn body_kind(body: &[u8]) -> RecordKind {
    body.first().and_then(|t| RecordKind::from_tag(*t).ok()).unwrap_or(RecordKind::Document)
}

/// For an edge's body: its `out` and `in` vertices.
pub fn edge_ends(body: &[u8]) -> DecodeResult<Option<(Rid, Rid)>> {
    // One pass over the fields for both ends (they come first in every edge this engine
    // writes, so the pass stops after two fields): applying an edge reads them twice.
    let mut r = Reader::new(split_body(body)?.fields);
    let (mut out, mut inn) = (None, None);
    for _ in 0..r.count(2)? {
        // The first field of each name counts, as with `find_field`.
        let end = match r.str()? {
            "out" if out.is_none() => &mut out,
            "in" if inn.is_none() => &mut inn,
            _ => {
                skip_value(&mut r, 0)?;
                continue;
            }
        };
        *end = Some(read_value(&mut r, 0)?.as_rid());
        if out.is_some() && inn.is_some() {
            break;
        }
    }
    Ok(out.flatten().zip(inn.flatten()))
}

/// Checks that a body decodes completely (used on bodies that arrive in log entries).
pub fn validate_body(body: &[u8]) -> DecodeResult<RecordKind> {
    let parts = split_body(body)?;
    decode_bags(parts.bags)?;
    // Checked as `decode_fields` would, without building the document: every insert
    // applied does this.
    let mut r = Reader::new(parts.fields);
    check_fields(&mut r, 0)?;
    if !r.is_empty() {
        return Err(DecodeError(format!("{} stray bytes after the fields", r.remaining())));
    }
    Ok(parts.kind)
}

/// Checks what [`read_fields`] reads, failing exactly where it fails, building nothing.
fn check_fields(r: &mut Reader<'_>, depth: usize) -> DecodeResult<()> {
    let n = r.count(2)?;
    for _ in 0..n {
        r.str()?;
        check_value(r, depth)?;
    }
    Ok(())
}

/// Checks what [`read_value`] reads, failing exactly where it fails, building nothing.
fn check_value(r: &mut Reader<'_>, depth: usize) -> DecodeResult<()> {
    if depth > MAX_NESTING {
        return Err(DecodeError(format!("values nested deeper than {MAX_NESTING}")));
    }
    let at = r.position();
    match r.u8()? {
        tag::NULL | tag::FALSE | tag::TRUE => {}
        tag::BYTE => {
            r.u8()?;
        }
        tag::SHORT => {
            narrow::<i16>(r.ivarint()?, "SHORT")?;
        }
        tag::INT => {
            narrow::<i32>(r.ivarint()?, "INTEGER")?;
        }
        tag::LONG | tag::DATETIME => {
            r.ivarint()?;
        }
        tag::FLOAT => {
            r.array::<4>()?;
        }
        tag::DOUBLE => {
            r.array::<8>()?;
        }
        tag::STRING => {
            r.str()?;
        }
        tag::BINARY => {
            r.bytes()?;
        }
        tag::LINK => {
            read_rid(r)?;
        }
        tag::LIST | tag::SET => {
            for _ in 0..r.count(1)? {
                check_value(r, depth + 1)?;
            }
        }
        tag::MAP => {
            for _ in 0..r.count(2)? {
                r.str()?;
                check_value(r, depth + 1)?;
            }
        }
        tag::EMBEDDED => check_fields(r, depth + 1)?,
        other => return Err(DecodeError(format!("unknown value tag {other} at offset {at}"))),
    }
    Ok(())
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
        edge_ends(&self.body)
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

    /// What `validate_body` promises: to accept exactly the bodies that decode.
    fn decodes(body: &[u8]) -> bool {
        split_body(body).is_ok_and(|p| decode_bags(p.bags).is_ok() && decode_fields(p.fields).is_ok())
    }

    #[test]
    fn links_are_added_in_place_as_decoding_would_add_them() {
        let (bags, fields) = sample();
        let (e, o) = (Rid::new(11, 300), Rid::new(9, -7));
        for start in [vec![], bags.clone()] {
            let body = encode_body(RecordKind::Vertex, &start, &fields);
            for (dir, label) in [(Direction::Out, "followed_by"), (Direction::In, "followed_by"), (Direction::Out, "x")]
            {
                let got = with_link_added(&body, dir, label, e, o).unwrap().unwrap();
                let mut want = start.clone();
                match want.iter_mut().find(|b| b.direction == dir && b.label == label) {
                    Some(b) => b.links.push((e, o)),
                    None => want.push(LinkBag { direction: dir, label: label.into(), links: vec![(e, o)] }),
                }
                assert_eq!(got, encode_body(RecordKind::Vertex, &want, &fields), "{dir:?} {label}");
                assert_eq!(with_link_added(&got, dir, label, e, Rid::new(1, 1)).unwrap(), None, "already linked");
            }
        }
        let linked = start_edge(&bags);
        let body = encode_body(RecordKind::Vertex, &bags, &fields);
        assert_eq!(with_link_added(&body, Direction::Out, "followed_by", linked, o).unwrap(), None);
        assert!(with_link_added(&body, Direction::In, "followed_by", linked, o).unwrap().is_some(), "other bag");
    }

    #[test]
    fn links_are_listed_as_decoded_bags_list_them() {
        let (mut bags, fields) = sample();
        bags.push(LinkBag {
            direction: Direction::In,
            label: "x".into(),
            links: vec![(Rid::new(1, 2), Rid::new(3, 4))],
        });
        bags.push(LinkBag {
            direction: Direction::Out,
            label: "y".into(),
            links: vec![(Rid::new(5, 6), Rid::new(7, 8))],
        });
        let body = encode_body(RecordKind::Vertex, &bags, &fields);
        for dir in [Direction::Out, Direction::In] {
            for only in [None, Some("y")] {
                let mut got = Vec::new();
                links_into(&body, dir, |l| only.is_none_or(|o| o == l), &mut got).unwrap();
                let want: Vec<(Rid, Rid)> = bags
                    .iter()
                    .filter(|b| b.direction == dir && only.is_none_or(|o| o == b.label))
                    .flat_map(|b| b.links.iter().copied())
                    .collect();
                assert_eq!(got, want, "{dir:?} {only:?}");
            }
        }
    }

    fn start_edge(bags: &[LinkBag]) -> Rid {
        bags[0].links[0].0
    }

    proptest! {
        #[test]
        fn validation_accepts_exactly_what_decodes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(validate_body(&bytes).is_ok(), decodes(&bytes));
        }

        #[test]
        fn validation_of_damaged_bodies_matches_decoding(at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let (bags, fields) = sample();
            let mut body = encode_body(RecordKind::Vertex, &bags, &fields);
            let i = at.index(body.len());
            body[i] = byte;
            prop_assert_eq!(validate_body(&body).is_ok(), decodes(&body));
        }

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
