//! Byte layouts of segment files: the segment header, the entry frame, and file names.
//!
//! Everything here is pure (no IO), so the same code checks bytes on the write path, in
//! recovery, in readers and in `wal-inspect`. All integers are little-endian. The layouts
//! are drawn again in `docs/formats.md`.
//!
//! ```text
//! segment file = header (64 bytes) frame*
//!
//! header:
//!   0  8  magic            b"BASALTWL"
//!   8  2  format version   u16 = 2 (1 is still read: segments written before terms existed)
//!  10  2  header length    u16 = 64
//!  12  4  flags            u32, bit 0 = BASE (the log starts here; older segments are obsolete)
//!  16 16  log id           u128 (the database the log belongs to)
//!  32  8  first LSN        u64 (also the file name)
//!  40 20  reserved         zero
//!  60  4  CRC32            of bytes 0..60
//!
//! frame, version 2 (every frame of a version-2 segment):
//!   0  4  payload length   u32
//!   4  4  CRC32            of bytes 0..4, 8..33 and the payload
//!   8  8  LSN              u64, exactly one more than the previous frame's; never u64::MAX
//!  16  8  term             u64, the caller's term (Raft) for the entry
//!  24  8  synced LSN       u64, every entry up to this LSN was fsynced before this frame was
//!                          written (the durable LSN when its group-commit batch was taken)
//!  32  1  kind             u8, the caller's tag
//!  33  n  payload
//!
//! frame, version 1 (segments written by older builds; read as term 0, synced LSN unknown):
//!   0  4  payload length   u32
//!   4  4  CRC32            of bytes 0..4, 8..17 and the payload
//!   8  8  LSN              u64
//!  16  1  kind             u8
//!  17  n  payload
//! ```
//!
//! Crash argument: a frame is valid only if its CRC matches, and the CRC covers the length,
//! LSN, term, synced LSN, kind and payload, so a torn write (a prefix of a frame, or a frame
//! followed by stale or zeroed blocks) never reads back as a valid frame, except with the
//! 2^-32 chance of a CRC collision on garbage. The LSN inside the frame must continue the
//! sequence, so a stale but intact frame left behind a truncation is not mistaken for the
//! next entry either (the log also truncates the file before writing over such a region, see
//! `log.rs`).
//!
//! The synced LSN is what tells damage from a torn tail: a batch is written only after the
//! batch before it was fsynced, so a valid frame whose synced LSN is at or past the LSN of an
//! invalid frame before it proves that invalid frame had been made durable. A crash cannot
//! tear durable bytes; something else changed them.
//!
//! Why a frame field and not a separate kind of entry for the term: Raft needs the term of
//! every entry (conflict checks compare `(term, index)` at any position), so a term record
//! per term change would make each lookup search backwards. Eight bytes per frame is cheap
//! beside the 17 already there and the payload; and a new segment version keeps old segments
//! readable without guessing.

use crate::{Kind, LogId, Lsn, Term};

/// The eight bytes every segment file starts with.
pub const SEGMENT_MAGIC: [u8; 8] = *b"BASALTWL";
/// The segment format version this build writes (frames carry a term and a synced LSN).
pub const FORMAT_VERSION: u16 = 2;
/// The older segment format version this build still reads (frames without a term).
pub const FORMAT_VERSION_V1: u16 = 1;
/// Size of the segment header in bytes.
pub const HEADER_BYTES: usize = 64;
/// Size of a version-1 frame header (length, CRC, LSN, kind) in bytes.
pub const FRAME_HEADER_BYTES: usize = 17;
/// Size of a version-2 frame header (length, CRC, LSN, term, synced LSN, kind) in bytes.
pub const FRAME_HEADER_BYTES_V2: usize = 33;
/// The largest frame header of any version.
pub const FRAME_HEADER_BYTES_MAX: usize = FRAME_HEADER_BYTES_V2;
/// The largest payload any frame may declare. A length above it is corruption, not a
/// reason to allocate.
pub const PAYLOAD_BYTES_MAX: u32 = 256 << 20;
/// Header flag: this segment is where the log begins; segments with lower first LSNs are
/// left over from an interrupted `reset` and are deleted on open.
pub const FLAG_BASE: u32 = 1;
/// File name suffix of a segment.
pub const SEGMENT_SUFFIX: &str = ".wal";
/// File name suffix of a segment being created (written, synced, then renamed).
pub const TEMP_SUFFIX: &str = ".wal.tmp";

/// The decoded header of a segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// The log this segment belongs to.
    pub log_id: LogId,
    /// LSN of the first frame the segment holds (or will hold).
    pub first_lsn: Lsn,
    /// Header flags (`FLAG_BASE`).
    pub flags: u32,
}

/// A segment header with its format version, as [`SegmentHeader::decode_versioned`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionedHeader {
    /// The header.
    pub header: SegmentHeader,
    /// The segment's format version: how its frames are laid out.
    pub version: u16,
}

/// Why a segment header was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderProblem {
    /// Fewer than `HEADER_BYTES` bytes.
    Short(usize),
    /// The magic bytes are not `SEGMENT_MAGIC`.
    BadMagic,
    /// A format version this build does not know.
    UnknownVersion(u16),
    /// The header CRC does not match.
    BadChecksum,
}

impl std::fmt::Display for HeaderProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderProblem::Short(n) => {
                write!(f, "file is {n} bytes, shorter than a segment header ({HEADER_BYTES} bytes)")
            }
            HeaderProblem::BadMagic => write!(f, "wrong magic bytes: not a Basalt WAL segment"),
            HeaderProblem::UnknownVersion(v) => {
                write!(
                    f,
                    "segment format version {v}, this build reads versions {FORMAT_VERSION_V1} and {FORMAT_VERSION}"
                )
            }
            HeaderProblem::BadChecksum => write!(f, "segment header checksum mismatch"),
        }
    }
}

impl SegmentHeader {
    /// Encodes the header into its 64 bytes, in the current format version.
    pub fn encode(&self) -> [u8; HEADER_BYTES] {
        self.encode_version(FORMAT_VERSION)
    }

    /// Encodes the header with format version `version` (tests write version-1 segments,
    /// as older builds did, with this).
    pub fn encode_version(&self, version: u16) -> [u8; HEADER_BYTES] {
        let mut b = [0u8; HEADER_BYTES];
        b[0..8].copy_from_slice(&SEGMENT_MAGIC);
        b[8..10].copy_from_slice(&version.to_le_bytes());
        b[10..12].copy_from_slice(&(HEADER_BYTES as u16).to_le_bytes());
        b[12..16].copy_from_slice(&self.flags.to_le_bytes());
        b[16..32].copy_from_slice(&self.log_id.0.to_le_bytes());
        b[32..40].copy_from_slice(&self.first_lsn.0.to_le_bytes());
        let crc = crc32fast::hash(&b[0..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and checks a header from the first bytes of a segment file.
    pub fn decode(bytes: &[u8]) -> Result<SegmentHeader, HeaderProblem> {
        Self::decode_versioned(bytes).map(|v| v.header)
    }

    /// Decodes and checks a header, keeping its format version.
    pub fn decode_versioned(bytes: &[u8]) -> Result<VersionedHeader, HeaderProblem> {
        if bytes.len() < HEADER_BYTES {
            return Err(HeaderProblem::Short(bytes.len()));
        }
        if bytes[0..8] != SEGMENT_MAGIC {
            return Err(HeaderProblem::BadMagic);
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version != FORMAT_VERSION && version != FORMAT_VERSION_V1 {
            return Err(HeaderProblem::UnknownVersion(version));
        }
        let stored_crc = read_u32(bytes, 60);
        if crc32fast::hash(&bytes[0..60]) != stored_crc {
            return Err(HeaderProblem::BadChecksum);
        }
        let header = SegmentHeader {
            flags: read_u32(bytes, 12),
            log_id: LogId(read_u128(bytes, 16)),
            first_lsn: Lsn(read_u64(bytes, 32)),
        };
        Ok(VersionedHeader { header, version })
    }
}

/// The fixed part of a frame, decoded but not yet checked against its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length in bytes.
    pub payload_len: u32,
    /// Stored CRC32.
    pub crc: u32,
    /// LSN of the entry.
    pub lsn: Lsn,
    /// The caller's kind tag.
    pub kind: Kind,
    /// The entry's term (0 in a version-1 frame).
    pub term: Term,
    /// Every entry up to this LSN was durable when the frame was written (`Lsn::ZERO` in a
    /// version-1 frame, which does not record it).
    pub synced_lsn: Lsn,
    /// The frame layout: [`FORMAT_VERSION`] or [`FORMAT_VERSION_V1`].
    pub version: u16,
}

impl FrameHeader {
    /// Decodes the first `FRAME_HEADER_BYTES` of `bytes` as a version-1 frame header.
    pub fn decode(bytes: &[u8; FRAME_HEADER_BYTES]) -> FrameHeader {
        FrameHeader {
            payload_len: read_u32(bytes, 0),
            crc: read_u32(bytes, 4),
            lsn: Lsn(read_u64(bytes, 8)),
            kind: Kind(bytes[16]),
            term: Term(0),
            synced_lsn: Lsn::ZERO,
            version: FORMAT_VERSION_V1,
        }
    }

    /// Decodes a version-2 frame header.
    pub fn decode_v2(bytes: &[u8; FRAME_HEADER_BYTES_V2]) -> FrameHeader {
        FrameHeader {
            payload_len: read_u32(bytes, 0),
            crc: read_u32(bytes, 4),
            lsn: Lsn(read_u64(bytes, 8)),
            term: Term(read_u64(bytes, 16)),
            synced_lsn: Lsn(read_u64(bytes, 24)),
            kind: Kind(bytes[32]),
            version: FORMAT_VERSION,
        }
    }

    /// Decodes a frame header of segment format `version` from the first
    /// [`frame_header_bytes`]`(version)` bytes of `bytes` (the caller checks there are enough).
    pub fn decode_version(bytes: &[u8], version: u16) -> FrameHeader {
        if version == FORMAT_VERSION_V1 {
            let mut b = [0u8; FRAME_HEADER_BYTES];
            b.copy_from_slice(&bytes[..FRAME_HEADER_BYTES]);
            FrameHeader::decode(&b)
        } else {
            let mut b = [0u8; FRAME_HEADER_BYTES_V2];
            b.copy_from_slice(&bytes[..FRAME_HEADER_BYTES_V2]);
            FrameHeader::decode_v2(&b)
        }
    }

    /// Bytes of this frame's header.
    pub fn header_len(&self) -> u64 {
        frame_header_bytes(self.version) as u64
    }

    /// Total bytes of the frame, header included.
    pub fn frame_len(&self) -> u64 {
        self.header_len() + u64::from(self.payload_len)
    }

    /// True if `payload` is the payload this header's CRC was computed over.
    pub fn matches(&self, payload: &[u8]) -> bool {
        payload.len() == self.payload_len as usize && self.computed_crc(payload) == self.crc
    }

    fn computed_crc(&self, payload: &[u8]) -> u32 {
        let mut h = crc32fast::Hasher::new();
        h.update(&self.payload_len.to_le_bytes());
        h.update(&self.lsn.0.to_le_bytes());
        if self.version != FORMAT_VERSION_V1 {
            h.update(&self.term.0.to_le_bytes());
            h.update(&self.synced_lsn.0.to_le_bytes());
        }
        h.update(&[self.kind.0]);
        h.update(payload);
        h.finalize()
    }

    /// True when all header bytes were zero: the unwritten end of a file, not a frame.
    pub fn is_zeroed(bytes: &[u8]) -> bool {
        bytes.iter().all(|b| *b == 0)
    }
}

/// Size of a frame header in segment format `version`.
pub fn frame_header_bytes(version: u16) -> usize {
    if version == FORMAT_VERSION_V1 {
        FRAME_HEADER_BYTES
    } else {
        FRAME_HEADER_BYTES_V2
    }
}

/// Appends one encoded version-1 frame to `out` (the layout older builds wrote; tests use
/// it to build such segments).
///
/// The caller has checked `payload.len() <= PAYLOAD_BYTES_MAX`.
pub fn encode_frame(out: &mut Vec<u8>, lsn: Lsn, kind: Kind, payload: &[u8]) {
    assert!(payload.len() <= PAYLOAD_BYTES_MAX as usize);
    let len = payload.len() as u32;
    let h = FrameHeader {
        payload_len: len,
        crc: 0,
        lsn,
        kind,
        term: Term(0),
        synced_lsn: Lsn::ZERO,
        version: FORMAT_VERSION_V1,
    };
    out.reserve(FRAME_HEADER_BYTES + payload.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&h.computed_crc(payload).to_le_bytes());
    out.extend_from_slice(&lsn.0.to_le_bytes());
    out.push(kind.0);
    out.extend_from_slice(payload);
}

/// What a version-2 frame records besides its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameFields {
    /// The entry's LSN.
    pub lsn: Lsn,
    /// The entry's term.
    pub term: Term,
    /// The durable LSN when the frame's batch was taken.
    pub synced_lsn: Lsn,
    /// The caller's tag.
    pub kind: Kind,
}

/// Appends one encoded version-2 frame to `out`.
///
/// The caller has checked `payload.len() <= PAYLOAD_BYTES_MAX`.
pub fn encode_frame_v2(out: &mut Vec<u8>, f: FrameFields, payload: &[u8]) {
    assert!(payload.len() <= PAYLOAD_BYTES_MAX as usize);
    assert!(f.synced_lsn < f.lsn, "a frame's synced LSN is before its own");
    let len = payload.len() as u32;
    let h = FrameHeader {
        payload_len: len,
        crc: 0,
        lsn: f.lsn,
        kind: f.kind,
        term: f.term,
        synced_lsn: f.synced_lsn,
        version: FORMAT_VERSION,
    };
    out.reserve(FRAME_HEADER_BYTES_V2 + payload.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&h.computed_crc(payload).to_le_bytes());
    out.extend_from_slice(&f.lsn.0.to_le_bytes());
    out.extend_from_slice(&f.term.0.to_le_bytes());
    out.extend_from_slice(&f.synced_lsn.0.to_le_bytes());
    out.push(f.kind.0);
    out.extend_from_slice(payload);
}

/// Size of the version-2 frame that holds a payload of `payload_len` bytes.
pub fn frame_len_v2(payload_len: usize) -> u64 {
    (FRAME_HEADER_BYTES_V2 + payload_len) as u64
}

/// Size of the version-1 frame that holds a payload of `payload_len` bytes.
pub fn frame_len(payload_len: usize) -> u64 {
    (FRAME_HEADER_BYTES + payload_len) as u64
}

/// The file name of the segment whose first LSN is `first_lsn`.
pub fn segment_file_name(first_lsn: Lsn) -> String {
    format!("{:020}{SEGMENT_SUFFIX}", first_lsn.0)
}

/// The name under which a segment is written before it is renamed into place.
pub fn temp_file_name(first_lsn: Lsn) -> String {
    format!("{:020}{TEMP_SUFFIX}", first_lsn.0)
}

/// The first LSN named by a segment file name, or `None` if the name is not a segment's.
pub fn parse_segment_file_name(name: &str) -> Option<Lsn> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(Lsn)
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn read_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn read_u128(b: &[u8], at: usize) -> u128 {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[at..at + 16]);
    u128::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn header_round_trip_and_refusals() {
        let h = SegmentHeader { log_id: LogId(0xfeed), first_lsn: Lsn(42), flags: FLAG_BASE };
        let bytes = h.encode();
        assert_eq!(SegmentHeader::decode(&bytes), Ok(h));
        assert_eq!(SegmentHeader::decode(&bytes[..10]), Err(HeaderProblem::Short(10)));
        let mut bad = bytes;
        bad[0] = b'X';
        assert_eq!(SegmentHeader::decode(&bad), Err(HeaderProblem::BadMagic));
        let mut bad = bytes;
        bad[8] = 9;
        assert_eq!(SegmentHeader::decode(&bad), Err(HeaderProblem::UnknownVersion(9)));
        let v1 = h.encode_version(FORMAT_VERSION_V1);
        assert_eq!(SegmentHeader::decode_versioned(&v1), Ok(VersionedHeader { header: h, version: FORMAT_VERSION_V1 }));
        assert_eq!(SegmentHeader::decode_versioned(&bytes).map(|v| v.version), Ok(FORMAT_VERSION));
        let mut bad = bytes;
        bad[33] ^= 1;
        assert_eq!(SegmentHeader::decode(&bad), Err(HeaderProblem::BadChecksum));
    }

    #[test]
    fn file_names() {
        assert_eq!(segment_file_name(Lsn(7)), "00000000000000000007.wal");
        assert_eq!(parse_segment_file_name("00000000000000000007.wal"), Some(Lsn(7)));
        assert_eq!(parse_segment_file_name("7.wal"), None);
        assert_eq!(parse_segment_file_name("00000000000000000007.wal.tmp"), None);
        assert_eq!(parse_segment_file_name("0000000000000000000x.wal"), None);
    }

    proptest! {
        #[test]
        fn frame_round_trip(lsn in any::<u64>(), kind in any::<u8>(), payload in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut out = Vec::new();
            encode_frame(&mut out, Lsn(lsn), Kind(kind), &payload);
            prop_assert_eq!(out.len() as u64, frame_len(payload.len()));
            let mut head = [0u8; FRAME_HEADER_BYTES];
            head.copy_from_slice(&out[..FRAME_HEADER_BYTES]);
            let h = FrameHeader::decode(&head);
            prop_assert_eq!(h.lsn, Lsn(lsn));
            prop_assert_eq!(h.kind, Kind(kind));
            prop_assert!(h.matches(&out[FRAME_HEADER_BYTES..]));
        }

        #[test]
        fn any_single_flip_is_caught(payload in proptest::collection::vec(any::<u8>(), 1..100), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let mut out = Vec::new();
            encode_frame(&mut out, Lsn(5), Kind(1), &payload);
            let i = at.index(out.len());
            out[i] ^= 1 << bit;
            let mut head = [0u8; FRAME_HEADER_BYTES];
            head.copy_from_slice(&out[..FRAME_HEADER_BYTES]);
            let h = FrameHeader::decode(&head);
            let ok = h.payload_len as usize == out.len() - FRAME_HEADER_BYTES
                && h.lsn == Lsn(5)
                && h.matches(&out[FRAME_HEADER_BYTES..]);
            prop_assert!(!ok);
        }

        #[test]
        fn v2_frame_round_trip_and_any_flip_is_caught(term in any::<u64>(), payload in proptest::collection::vec(any::<u8>(), 1..200), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let fields = FrameFields { lsn: Lsn(9), term: Term(term), synced_lsn: Lsn(7), kind: Kind(3) };
            let mut out = Vec::new();
            encode_frame_v2(&mut out, fields, &payload);
            prop_assert_eq!(out.len() as u64, frame_len_v2(payload.len()));
            let h = FrameHeader::decode_version(&out, FORMAT_VERSION);
            prop_assert_eq!((h.lsn, h.term, h.synced_lsn, h.kind), (Lsn(9), Term(term), Lsn(7), Kind(3)));
            prop_assert!(h.matches(&out[FRAME_HEADER_BYTES_V2..]));
            let i = at.index(out.len());
            out[i] ^= 1 << bit;
            let h = FrameHeader::decode_version(&out, FORMAT_VERSION);
            let ok = h.payload_len as usize == out.len() - FRAME_HEADER_BYTES_V2
                && h.lsn == Lsn(9)
                && h.matches(&out[FRAME_HEADER_BYTES_V2..]);
            prop_assert!(!ok);
        }
    }
}
