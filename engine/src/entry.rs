//! Log entries: the logical, deterministic mutations a transaction logs.
//!
//! An entry is what the WAL stores (kind [`ENTRY_KIND`]), what replication ships, and what
//! `apply` executes. RIDs are decided when the entry is formed; applying it on any node
//! gives the same records, versions and RIDs. Versions follow one rule, so entries need not
//! carry them: a record created by the entry has version 1; a record the entry changes in
//! any way (fields or links) gets the version it had before the entry plus one.
//!
//! ```text
//! entry = format:u8(=1) count:uvarint op*
//! op    = 1 insert  rid body:bytes
//!       | 2 update  rid fields:bytes           (the fields section; link bags are kept)
//!       | 3 delete  rid
//!       | 4 link-add    vertex:rid dir:u8 label:str edge:rid other:rid
//!       | 5 link-remove vertex:rid dir:u8 label:str edge:rid
//!       | 6 schema  json:bytes                 (a `SchemaChange` as JSON)
//! ```

use crate::codec::{put_bytes, put_str, put_uvarint, DecodeError, DecodeResult, Reader};
use crate::record::{put_rid, read_rid, Direction};
use crate::schema::SchemaChange;
use crate::value::Rid;

/// The WAL kind tag of engine transaction entries.
pub const ENTRY_KIND: basalt_wal::Kind = basalt_wal::Kind(1);
/// The entry format this build writes.
const ENTRY_FORMAT: u8 = 1;

/// One mutation.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// A new record at `rid`, which must be its cluster's next position.
    Insert {
        /// Where.
        rid: Rid,
        /// Its whole body (see `record.rs`).
        body: Vec<u8>,
    },
    /// New fields for an existing record; its link bags stay.
    Update {
        /// Which record.
        rid: Rid,
        /// The encoded fields section.
        fields: Vec<u8>,
    },
    /// Deletes a record. A vertex must have no edges left, an edge must be unlinked from
    /// both ends, by earlier ops of the same entry.
    Delete {
        /// Which record.
        rid: Rid,
    },
    /// Adds an edge to a vertex's link bag.
    LinkAdd {
        /// The vertex.
        vertex: Rid,
        /// Which bag: out or in.
        direction: Direction,
        /// The edge class.
        label: String,
        /// The edge.
        edge: Rid,
        /// The vertex at the edge's other end.
        other: Rid,
    },
    /// Removes an edge from a vertex's link bag.
    LinkRemove {
        /// The vertex.
        vertex: Rid,
        /// Which bag.
        direction: Direction,
        /// The edge class.
        label: String,
        /// The edge.
        edge: Rid,
    },
    /// A schema change.
    Schema(SchemaChange),
}

/// A transaction as logged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TxEntry {
    /// The mutations, applied in order.
    pub ops: Vec<Op>,
}

fn dir_byte(d: Direction) -> u8 {
    match d {
        Direction::Out => 0,
        Direction::In => 1,
    }
}

fn read_dir(r: &mut Reader<'_>) -> DecodeResult<Direction> {
    match r.u8()? {
        0 => Ok(Direction::Out),
        1 => Ok(Direction::In),
        other => Err(DecodeError(format!("unknown direction {other}"))),
    }
}

impl TxEntry {
    /// The entry's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.push(ENTRY_FORMAT);
        put_uvarint(&mut out, self.ops.len() as u64);
        for op in &self.ops {
            match op {
                Op::Insert { rid, body } => {
                    out.push(1);
                    put_rid(&mut out, *rid);
                    put_bytes(&mut out, body);
                }
                Op::Update { rid, fields } => {
                    out.push(2);
                    put_rid(&mut out, *rid);
                    put_bytes(&mut out, fields);
                }
                Op::Delete { rid } => {
                    out.push(3);
                    put_rid(&mut out, *rid);
                }
                Op::LinkAdd { vertex, direction, label, edge, other } => {
                    out.push(4);
                    put_rid(&mut out, *vertex);
                    out.push(dir_byte(*direction));
                    put_str(&mut out, label);
                    put_rid(&mut out, *edge);
                    put_rid(&mut out, *other);
                }
                Op::LinkRemove { vertex, direction, label, edge } => {
                    out.push(5);
                    put_rid(&mut out, *vertex);
                    out.push(dir_byte(*direction));
                    put_str(&mut out, label);
                    put_rid(&mut out, *edge);
                }
                Op::Schema(change) => {
                    out.push(6);
                    // Serializing a plain enum of strings, bools and numbers cannot fail.
                    let json = serde_json::to_vec(change).unwrap_or_default();
                    put_bytes(&mut out, &json);
                }
            }
        }
        out
    }

    /// Decodes an entry; any malformed byte is an error, never a panic.
    pub fn decode(bytes: &[u8]) -> DecodeResult<TxEntry> {
        let mut r = Reader::new(bytes);
        let format = r.u8()?;
        if format != ENTRY_FORMAT {
            return Err(DecodeError(format!("entry format {format}, this build reads {ENTRY_FORMAT}")));
        }
        let n = r.count(3)?;
        let mut ops = Vec::with_capacity(n);
        for _ in 0..n {
            let at = r.position();
            ops.push(match r.u8()? {
                1 => Op::Insert { rid: read_rid(&mut r)?, body: r.bytes()?.to_vec() },
                2 => Op::Update { rid: read_rid(&mut r)?, fields: r.bytes()?.to_vec() },
                3 => Op::Delete { rid: read_rid(&mut r)? },
                4 => Op::LinkAdd {
                    vertex: read_rid(&mut r)?,
                    direction: read_dir(&mut r)?,
                    label: r.str()?.to_string(),
                    edge: read_rid(&mut r)?,
                    other: read_rid(&mut r)?,
                },
                5 => Op::LinkRemove {
                    vertex: read_rid(&mut r)?,
                    direction: read_dir(&mut r)?,
                    label: r.str()?.to_string(),
                    edge: read_rid(&mut r)?,
                },
                6 => {
                    let json = r.bytes()?;
                    Op::Schema(
                        serde_json::from_slice(json)
                            .map_err(|e| DecodeError(format!("bad schema change at offset {at}: {e}")))?,
                    )
                }
                other => return Err(DecodeError(format!("unknown op tag {other} at offset {at}"))),
            });
        }
        if !r.is_empty() {
            return Err(DecodeError(format!("{} stray bytes after the last op", r.remaining())));
        }
        Ok(TxEntry { ops })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> TxEntry {
        TxEntry {
            ops: vec![
                Op::Insert { rid: Rid::new(9, 0), body: vec![1, 0, 0] },
                Op::Update { rid: Rid::new(9, 1), fields: vec![0] },
                Op::LinkAdd {
                    vertex: Rid::new(9, 0),
                    direction: Direction::Out,
                    label: "knows".into(),
                    edge: Rid::new(11, 0),
                    other: Rid::new(9, 1),
                },
                Op::LinkRemove {
                    vertex: Rid::new(9, 1),
                    direction: Direction::In,
                    label: "knows".into(),
                    edge: Rid::new(11, 0),
                },
                Op::Delete { rid: Rid::new(11, 0) },
                Op::Schema(SchemaChange::DropIndex { name: "x".into() }),
            ],
        }
    }

    #[test]
    fn entries_round_trip() {
        let e = sample();
        assert_eq!(TxEntry::decode(&e.encode()).unwrap(), e);
    }

    proptest! {
        #[test]
        fn damaged_entries_are_errors_not_panics(at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
            let mut b = sample().encode();
            let i = at.index(b.len());
            b[i] = byte;
            let _ = TxEntry::decode(&b);
            let c = cut.index(b.len());
            let _ = TxEntry::decode(&b[..c]);
        }
    }
}
