//! The meta file: what a Raft log store keeps beside its entries (the vote, the last purged
//! log position, the committed position), in one small file `META` in the log's directory.
//!
//! ```text
//! META (128 bytes):
//!    0  8  magic            b"BASALTMT"
//!    8  2  format version   u16 = 1
//!   10  2  length           u16 = 128
//!   12  4  flags            u32: bit 0 vote present, bit 1 vote committed,
//!                           bit 2 last purged present, bit 3 committed present
//!   16 16  log id           u128, the log this file belongs to
//!   32  8  vote term        u64
//!   40  8  vote node        u64
//!   48  8  purged term      u64
//!   56  8  purged node      u64
//!   64  8  purged LSN       u64
//!   72  8  committed term   u64
//!   80  8  committed node   u64
//!   88  8  committed LSN    u64
//!   96 28  reserved         zero
//!  124  4  CRC32            of bytes 0..124
//! ```
//!
//! Crash argument: the file is never written in place. A new version goes to `META.tmp`,
//! which is fsynced, renamed over `META`, and the directory fsynced. A crash leaves the old
//! `META` (and perhaps a `META.tmp`, removed on open) or the new one, never a mix; the CRC
//! catches anything else, and a `META` that fails it is refused (not ignored: the vote in it
//! is a promise to other nodes). Before the new version is written, every entry appended so
//! far is made durable, so a committed position in `META` is never durable before the entry
//! it names.

use crate::{LogId, Lsn, Term};

/// The name of the meta file in a log directory.
pub const META_FILE_NAME: &str = "META";
/// The name a new meta file is written under before it is renamed into place.
pub const META_TEMP_FILE_NAME: &str = "META.tmp";
/// The eight bytes the meta file starts with.
pub const META_MAGIC: [u8; 8] = *b"BASALTMT";
/// The meta file format version.
pub const META_VERSION: u16 = 1;
/// Size of the meta file in bytes.
pub const META_BYTES: usize = 128;

const FLAG_VOTE: u32 = 1;
const FLAG_VOTE_COMMITTED: u32 = 2;
const FLAG_PURGED: u32 = 4;
const FLAG_COMMITTED: u32 = 8;

/// A Raft vote: the term, the node voted for (or the leader), and whether it is committed
/// (granted by a quorum), as openraft's `Vote` has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Vote {
    /// The term.
    pub term: Term,
    /// The node id.
    pub node: u64,
    /// True once a quorum granted it.
    pub committed: bool,
}

/// A position in the log as Raft names it: the term and leader node that wrote the entry,
/// and its LSN (the Raft index plus one, see [`Lsn::from_raft_index`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogPosition {
    /// The term of the entry.
    pub term: Term,
    /// The leader node that wrote it (openraft's committed leader id keeps it).
    pub node: u64,
    /// The entry's LSN.
    pub lsn: Lsn,
}

/// Everything the meta file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Meta {
    /// The last vote saved.
    pub vote: Option<Vote>,
    /// The last log position purged: entries up to it are gone (or about to be), even if a
    /// segment still holds some of them.
    pub last_purged: Option<LogPosition>,
    /// The last committed position saved.
    pub committed: Option<LogPosition>,
}

/// Why a meta file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaProblem {
    /// Not `META_BYTES` long.
    WrongLength(usize),
    /// Not the meta magic.
    BadMagic,
    /// A version this build does not know.
    UnknownVersion(u16),
    /// The CRC does not match.
    BadChecksum,
    /// It belongs to another log.
    Foreign(LogId),
}

impl std::fmt::Display for MetaProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetaProblem::WrongLength(n) => write!(f, "meta file is {n} bytes, expected {META_BYTES}"),
            MetaProblem::BadMagic => write!(f, "wrong magic bytes: not a Basalt WAL meta file"),
            MetaProblem::UnknownVersion(v) => write!(f, "meta format version {v}, this build reads {META_VERSION}"),
            MetaProblem::BadChecksum => write!(f, "meta file checksum mismatch"),
            MetaProblem::Foreign(id) => write!(f, "meta file belongs to log {id}"),
        }
    }
}

impl Meta {
    /// Encodes the meta file of log `log_id`.
    pub fn encode(&self, log_id: LogId) -> [u8; META_BYTES] {
        let mut b = [0u8; META_BYTES];
        let mut flags = 0;
        b[0..8].copy_from_slice(&META_MAGIC);
        b[8..10].copy_from_slice(&META_VERSION.to_le_bytes());
        b[10..12].copy_from_slice(&(META_BYTES as u16).to_le_bytes());
        b[16..32].copy_from_slice(&log_id.0.to_le_bytes());
        if let Some(v) = self.vote {
            flags |= FLAG_VOTE | if v.committed { FLAG_VOTE_COMMITTED } else { 0 };
            put_u64(&mut b, 32, v.term.0);
            put_u64(&mut b, 40, v.node);
        }
        if let Some(p) = self.last_purged {
            flags |= FLAG_PURGED;
            put_position(&mut b, 48, p);
        }
        if let Some(p) = self.committed {
            flags |= FLAG_COMMITTED;
            put_position(&mut b, 72, p);
        }
        b[12..16].copy_from_slice(&flags.to_le_bytes());
        let crc = crc32fast::hash(&b[..124]);
        b[124..128].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and checks the meta file of log `log_id`.
    pub fn decode(bytes: &[u8], log_id: LogId) -> Result<Meta, MetaProblem> {
        if bytes.len() != META_BYTES {
            return Err(MetaProblem::WrongLength(bytes.len()));
        }
        if bytes[0..8] != META_MAGIC {
            return Err(MetaProblem::BadMagic);
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version != META_VERSION {
            return Err(MetaProblem::UnknownVersion(version));
        }
        if crc32fast::hash(&bytes[..124]) != get_u32(bytes, 124) {
            return Err(MetaProblem::BadChecksum);
        }
        let found = LogId(u128::from_le_bytes(bytes[16..32].try_into().unwrap_or([0; 16])));
        if found != log_id {
            return Err(MetaProblem::Foreign(found));
        }
        let flags = get_u32(bytes, 12);
        let vote = (flags & FLAG_VOTE != 0).then(|| Vote {
            term: Term(get_u64(bytes, 32)),
            node: get_u64(bytes, 40),
            committed: flags & FLAG_VOTE_COMMITTED != 0,
        });
        let last_purged = (flags & FLAG_PURGED != 0).then(|| get_position(bytes, 48));
        let committed = (flags & FLAG_COMMITTED != 0).then(|| get_position(bytes, 72));
        Ok(Meta { vote, last_purged, committed })
    }
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn put_position(b: &mut [u8], at: usize, p: LogPosition) {
    put_u64(b, at, p.term.0);
    put_u64(b, at + 8, p.node);
    put_u64(b, at + 16, p.lsn.0);
}

fn get_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn get_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn get_position(b: &[u8], at: usize) -> LogPosition {
    LogPosition { term: Term(get_u64(b, at)), node: get_u64(b, at + 8), lsn: Lsn(get_u64(b, at + 16)) }
}

/// Reads the meta file of log `log_id` in `storage`; a log without one has the default.
pub(crate) fn read_meta(storage: &dyn crate::Storage, log_id: LogId) -> crate::Result<Meta> {
    let path = storage.path_of(META_FILE_NAME);
    let file = match storage.open_read(META_FILE_NAME) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Meta::default()),
        Err(e) => return Err(crate::Error::io(path, e)),
    };
    let len = file.len().map_err(|e| crate::Error::io(path.clone(), e))?;
    let mut bytes = vec![0u8; len.min(META_BYTES as u64 + 1) as usize];
    file.read_exact_at(&mut bytes, 0).map_err(|e| crate::Error::io(path.clone(), e))?;
    Meta::decode(&bytes, log_id).map_err(|p| crate::Error::Corrupt { segment: path, offset: 0, reason: p.to_string() })
}

/// Replaces the meta file: `META.tmp` written and fsynced, renamed over `META`, directory
/// fsynced. The caller has made every appended entry durable first.
pub(crate) fn write_meta(storage: &dyn crate::Storage, log_id: LogId, meta: &Meta) -> crate::Result<()> {
    let tmp = META_TEMP_FILE_NAME;
    let io = |name: &str, e| crate::Error::io(storage.path_of(name), e);
    match storage.remove(tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(tmp, e)),
    }
    let file = storage.create(tmp).map_err(|e| io(tmp, e))?;
    file.write_all_at(&meta.encode(log_id), 0).map_err(|e| io(tmp, e))?;
    file.sync_data().map_err(|e| io(tmp, e))?;
    storage.rename(tmp, META_FILE_NAME).map_err(|e| io(META_FILE_NAME, e))?;
    storage.sync_dir().map_err(|e| io("", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trips_and_refuses_damage() {
        let m = Meta {
            vote: Some(Vote { term: Term(7), node: 3, committed: true }),
            last_purged: Some(LogPosition { term: Term(2), node: 1, lsn: Lsn(40) }),
            committed: Some(LogPosition { term: Term(7), node: 3, lsn: Lsn(99) }),
        };
        let b = m.encode(LogId(5));
        assert_eq!(Meta::decode(&b, LogId(5)), Ok(m));
        assert_eq!(Meta::decode(&Meta::default().encode(LogId(5)), LogId(5)), Ok(Meta::default()));
        assert_eq!(Meta::decode(&b, LogId(6)), Err(MetaProblem::Foreign(LogId(5))));
        assert_eq!(Meta::decode(&b[..100], LogId(5)), Err(MetaProblem::WrongLength(100)));
        for i in 0..META_BYTES {
            let mut bad = b;
            bad[i] ^= 0x10;
            assert!(Meta::decode(&bad, LogId(5)).is_err(), "a flip at byte {i} went unnoticed");
        }
    }
}
