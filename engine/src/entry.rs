//! Log entries: the logical, deterministic mutations a transaction logs.
//!
//! An entry is what the WAL stores (kind [`ENTRY_KIND`]), what replication ships, and what
//! `apply` executes. RIDs are decided when the entry is formed; applying it on any node
//! gives the same records, versions and RIDs. Versions follow one rule, so entries need not
//! carry them: a record created by the entry has version 1; a record the entry changes in
//! any way (fields or links) gets the version it had before the entry plus one.
//!
//! Every entry formed by this build carries a [`ProposalId`], so the node that formed it can
//! report its outcome by proposal (never by log position: under Raft an uncommitted entry
//! can be cut and a different one written at the same index), and the term of the leader
//! that formed it, so an entry formed in one term but logged in another is recognised as
//! stale and skipped alike on every node.
//!
//! It also carries its commit time: the wall clock (unix microseconds) of the node that formed
//! it, when it formed it. Apply never reads it (it is not part of the deterministic state);
//! it is what a point-in-time restore (`--until TIME`) and `wal-inspect` go by.
//!
//! ```text
//! entry    = format:u8(=3) term:u64le proposal:u128le time:u64le count:uvarint op*
//! entry v2 = format:u8(=2) term:u64le proposal:u128le count:uvarint op*  (still read: time 0)
//! entry v1 = format:u8(=1) count:uvarint op*  (still read: term 0, no proposal, time 0)
//! op    = 1 insert  rid body:bytes
//!       | 2 update  rid fields:bytes           (the fields section; link bags are kept)
//!       | 3 delete  rid
//!       | 4 link-add    vertex:rid dir:u8 label:str edge:rid other:rid
//!       | 5 link-remove vertex:rid dir:u8 label:str edge:rid
//!       | 6 schema  json:bytes                 (a `SchemaChange` as JSON)
//! ```
//!
//! The replication layer also logs entries that are not transactions; the engine applies
//! them too, so its applied log position (and the membership it keeps for the checkpoint)
//! follows every index of the log:
//!
//! ```text
//! membership (kind 2) = format:u8(=1) term:u64le membership:rest   (opaque to the engine)
//! blank      (kind 3) = format:u8(=1) term:u64le                   (a leader's first entry)
//! ```
//!
//! Under replication many transactions can share one log entry, so that they share one
//! append, one fsync and one round trip to the peers (openraft 0.9 waits for each append to
//! be flushed before it takes the next write). Each member keeps its own proposal id, term
//! and outcome; they are applied in order at the batch's index, each on its own (a bad one
//! is skipped alone, the same way on every node):
//!
//! ```text
//! batch (kind 4) = format:u8(=1) count:uvarint (len:uvarint entry)*
//! ```

use crate::codec::{put_bytes, put_str, put_uvarint, DecodeError, DecodeResult, Reader};
use crate::record::{put_rid, read_rid, Direction};
use crate::schema::SchemaChange;
use crate::value::Rid;

/// The WAL kind tag of engine transaction entries.
pub const ENTRY_KIND: basalt_wal::Kind = basalt_wal::Kind(1);
/// The WAL kind tag of membership entries (see [`MarkerEntry`]).
pub const MEMBERSHIP_KIND: basalt_wal::Kind = basalt_wal::Kind(2);
/// The WAL kind tag of blank entries (see [`MarkerEntry`]).
pub const BLANK_KIND: basalt_wal::Kind = basalt_wal::Kind(3);
/// The WAL kind tag of a batch of transaction entries (see [`encode_batch`]).
pub const BATCH_KIND: basalt_wal::Kind = basalt_wal::Kind(4);
/// The entry format this build writes.
const ENTRY_FORMAT: u8 = 3;
/// The format before commit times; still read.
const ENTRY_FORMAT_V2: u8 = 2;
/// The format of batch entries.
const BATCH_FORMAT: u8 = 1;
/// The first entry format, without term or proposal; still read.
const ENTRY_FORMAT_V1: u8 = 1;
/// The format of membership and blank entries.
const MARKER_FORMAT: u8 = 1;

/// A unique id for one proposed entry: the high 64 bits are random per open database, the
/// low 64 a counter, so ids never repeat on a node and collide across nodes with
/// negligible probability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProposalId(pub u128);

impl std::fmt::Display for ProposalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// A position in the replicated log: the term of the leader that wrote the entry and its
/// index (the entry's LSN in the local WAL). Standalone databases use term 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LogPosition {
    /// The term of the entry.
    pub term: u64,
    /// The entry's index (LSN).
    pub index: basalt_wal::Lsn,
}

impl std::fmt::Display for LogPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.term, self.index.0)
    }
}

/// A membership or blank entry: what the engine reads of the log entries that are not
/// transactions. The membership bytes are the replication layer's; the engine only keeps
/// the last ones applied and writes them into its checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerEntry {
    /// The term of the leader that wrote it.
    pub term: u64,
    /// The membership (kind 2); `None` for a blank entry (kind 3).
    pub membership: Option<Vec<u8>>,
}

impl MarkerEntry {
    /// The entry's bytes and WAL kind.
    pub fn encode(&self) -> (basalt_wal::Kind, Vec<u8>) {
        let mut out = Vec::with_capacity(9 + self.membership.as_ref().map_or(0, Vec::len));
        out.push(MARKER_FORMAT);
        out.extend_from_slice(&self.term.to_le_bytes());
        match &self.membership {
            Some(m) => {
                out.extend_from_slice(m);
                (MEMBERSHIP_KIND, out)
            }
            None => (BLANK_KIND, out),
        }
    }

    /// Decodes a membership (kind 2) or blank (kind 3) entry.
    pub fn decode(kind: basalt_wal::Kind, bytes: &[u8]) -> DecodeResult<MarkerEntry> {
        let mut r = Reader::new(bytes);
        let format = r.u8()?;
        if format != MARKER_FORMAT {
            return Err(DecodeError(format!("marker entry format {format}, this build reads {MARKER_FORMAT}")));
        }
        let term = r.u64_le()?;
        let rest = r.take(r.remaining())?;
        match kind {
            MEMBERSHIP_KIND => Ok(MarkerEntry { term, membership: Some(rest.to_vec()) }),
            BLANK_KIND if rest.is_empty() => Ok(MarkerEntry { term, membership: None }),
            BLANK_KIND => Err(DecodeError(format!("{} stray bytes after a blank entry", rest.len()))),
            other => Err(DecodeError(format!("kind {} is not a marker entry", other.0))),
        }
    }
}

/// The payload of a batch entry (WAL kind [`BATCH_KIND`]) holding these encoded
/// transaction entries, in order.
pub fn encode_batch<'a>(members: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let members: Vec<&[u8]> = members.into_iter().collect();
    let mut out = Vec::with_capacity(2 + members.iter().map(|m| m.len() + 3).sum::<usize>());
    out.push(BATCH_FORMAT);
    put_uvarint(&mut out, members.len() as u64);
    for m in members {
        put_bytes(&mut out, m);
    }
    out
}

/// The transaction entries a log entry holds, still encoded: its payload for
/// [`ENTRY_KIND`], each member for [`BATCH_KIND`], none for any other kind (markers).
pub fn transactions_of(kind: basalt_wal::Kind, payload: &[u8]) -> DecodeResult<Vec<&[u8]>> {
    match kind {
        ENTRY_KIND => Ok(vec![payload]),
        BATCH_KIND => {
            let mut r = Reader::new(payload);
            let format = r.u8()?;
            if format != BATCH_FORMAT {
                return Err(DecodeError(format!("batch entry format {format}, this build reads {BATCH_FORMAT}")));
            }
            let n = r.count(1)?;
            let members = (0..n).map(|_| r.bytes()).collect::<DecodeResult<Vec<&[u8]>>>()?;
            if !r.is_empty() {
                return Err(DecodeError(format!("{} stray bytes after a batch of {n} entries", r.remaining())));
            }
            Ok(members)
        }
        _ => Ok(Vec::new()),
    }
}

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
    /// The term of the leader that formed it (0 standalone and in format 1 entries).
    pub term: u64,
    /// Who proposed it (`None` only in format 1 entries).
    pub proposal: Option<ProposalId>,
    /// When it was formed: unix microseconds on the forming node's clock (0: unknown, an
    /// entry of format 1 or 2).
    pub commit_time_us: u64,
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
        let mut out = Vec::with_capacity(96);
        out.push(ENTRY_FORMAT);
        out.extend_from_slice(&self.term.to_le_bytes());
        out.extend_from_slice(&self.proposal.map_or(0, |p| p.0).to_le_bytes());
        out.extend_from_slice(&self.commit_time_us.to_le_bytes());
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
        let (term, proposal, commit_time_us) = match format {
            ENTRY_FORMAT | ENTRY_FORMAT_V2 => {
                let term = r.u64_le()?;
                let id = u128::from_le_bytes(r.array()?);
                let time = if format == ENTRY_FORMAT { r.u64_le()? } else { 0 };
                (term, (id != 0).then_some(ProposalId(id)), time)
            }
            ENTRY_FORMAT_V1 => (0, None, 0),
            other => {
                return Err(DecodeError(format!(
                    "entry format {other}, this build reads {ENTRY_FORMAT_V1} to {ENTRY_FORMAT}"
                )))
            }
        };
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
        Ok(TxEntry { term, proposal, commit_time_us, ops })
    }

    /// The proposal id of an encoded entry, read from its header only (`None` for format 1
    /// entries or bytes that are no entry).
    pub fn proposal_of(bytes: &[u8]) -> Option<ProposalId> {
        if !matches!(bytes.first(), Some(&ENTRY_FORMAT | &ENTRY_FORMAT_V2)) || bytes.len() < 25 {
            return None;
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[9..25]);
        Some(ProposalId(u128::from_le_bytes(id))).filter(|p| p.0 != 0)
    }

    /// The commit time (unix microseconds) of an encoded entry, read from its header only
    /// (`None` for entries of format 1 or 2, which carry none, or bytes that are no entry).
    pub fn commit_time_of(bytes: &[u8]) -> Option<u64> {
        if bytes.first() != Some(&ENTRY_FORMAT) || bytes.len() < 33 {
            return None;
        }
        let mut t = [0u8; 8];
        t.copy_from_slice(&bytes[25..33]);
        Some(u64::from_le_bytes(t)).filter(|t| *t != 0)
    }
}

/// The wall clock now, in unix microseconds (0 if the clock is before 1970): an entry's
/// commit time.
pub fn unix_micros_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> TxEntry {
        TxEntry {
            term: 7,
            proposal: Some(ProposalId(0x0123_4567_89ab_cdef_0011_2233_4455_6677)),
            commit_time_us: 1_796_605_323_123_456,
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
        let bytes = e.encode();
        assert_eq!(TxEntry::decode(&bytes).unwrap(), e);
        assert_eq!(TxEntry::proposal_of(&bytes), e.proposal);
        assert_eq!(TxEntry::commit_time_of(&bytes), Some(e.commit_time_us));
    }

    #[test]
    fn format_2_entries_still_decode_without_a_time() {
        // Format 2, as the build before commit times wrote it: term 7, proposal 5, one delete.
        let mut v2 = vec![2u8];
        v2.extend_from_slice(&7u64.to_le_bytes());
        v2.extend_from_slice(&5u128.to_le_bytes());
        v2.extend_from_slice(&[1, 3]);
        put_rid(&mut v2, Rid::new(9, 4));
        let e = TxEntry::decode(&v2).unwrap();
        let want = TxEntry {
            term: 7,
            proposal: Some(ProposalId(5)),
            commit_time_us: 0,
            ops: vec![Op::Delete { rid: Rid::new(9, 4) }],
        };
        assert_eq!(e, want);
        assert_eq!(TxEntry::proposal_of(&v2), Some(ProposalId(5)));
        assert_eq!(TxEntry::commit_time_of(&v2), None);
        // Re-encoded, it is a format 3 entry with time 0, and reads back the same.
        assert_eq!(TxEntry::decode(&want.encode()).unwrap(), want);
    }

    #[test]
    fn format_1_entries_still_decode() {
        // Format 1, as the first build wrote it: one delete of #9:4.
        let mut v1 = vec![1u8, 1, 3];
        put_rid(&mut v1, Rid::new(9, 4));
        let e = TxEntry::decode(&v1).unwrap();
        assert_eq!(e, TxEntry { ops: vec![Op::Delete { rid: Rid::new(9, 4) }], ..TxEntry::default() });
        assert_eq!(TxEntry::proposal_of(&v1), None);
        assert!(TxEntry::decode(&[3u8, 0]).is_err());
    }

    #[test]
    fn marker_entries_round_trip() {
        for m in
            [MarkerEntry { term: 3, membership: Some(b"{voters}".to_vec()) }, MarkerEntry { term: 9, membership: None }]
        {
            let (kind, bytes) = m.encode();
            assert_eq!(MarkerEntry::decode(kind, &bytes).unwrap(), m);
        }
        assert!(MarkerEntry::decode(BLANK_KIND, &[1, 0, 0, 0, 0, 0, 0, 0, 0, 5]).is_err());
        assert!(MarkerEntry::decode(ENTRY_KIND, &[1, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(MarkerEntry::decode(BLANK_KIND, &[1, 0]).is_err());
    }

    #[test]
    fn batches_round_trip_and_damage_is_an_error() {
        let a = sample().encode();
        let b = TxEntry { term: 4, ..sample() }.encode();
        let batch = encode_batch([a.as_slice(), b.as_slice()]);
        assert_eq!(transactions_of(BATCH_KIND, &batch).unwrap(), vec![a.as_slice(), b.as_slice()]);
        assert_eq!(transactions_of(ENTRY_KIND, &a).unwrap(), vec![a.as_slice()]);
        assert!(transactions_of(BLANK_KIND, &[1, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap().is_empty());
        assert!(transactions_of(BATCH_KIND, &batch[..batch.len() - 1]).is_err(), "a cut batch");
        let mut extra = batch.clone();
        extra.push(0);
        assert!(transactions_of(BATCH_KIND, &extra).is_err(), "stray bytes");
        let mut format = batch;
        format[0] = 9;
        assert!(transactions_of(BATCH_KIND, &format).is_err(), "an unknown format");
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
