//! Reading segment files frame by frame: one scanner shared by recovery, readers and
//! `wal-inspect`, so they all agree on what a valid frame is.

use std::io;

use crate::format::{
    self, FrameHeader, HeaderProblem, SegmentHeader, VersionedHeader, FORMAT_VERSION, HEADER_BYTES, PAYLOAD_BYTES_MAX,
};
use crate::storage::StorageFile;
use crate::Lsn;

/// How many bytes a scanner reads from the file at a time.
const READ_CHUNK_BYTES: usize = 1 << 20;

/// Reads a file through a buffer, never past an end the caller sets.
///
/// Bytes past the end may be a write in progress; bytes before it never change (until a
/// truncation, which readers detect separately), so buffered bytes stay valid when the end
/// moves forward.
#[derive(Debug, Default)]
pub struct ChunkReader {
    /// Bytes at or past this offset are never read.
    end: u64,
    /// Buffered bytes.
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    buf_start: u64,
}

impl ChunkReader {
    /// A reader up to (not including) byte `end`.
    pub fn new(end: u64) -> ChunkReader {
        ChunkReader { end, buf: Vec::new(), buf_start: 0 }
    }

    /// Moves the end forward (never back).
    pub fn extend_end(&mut self, end: u64) {
        self.end = self.end.max(end);
    }

    /// The end this reader stops at.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// The `n` bytes at `offset`, or `None` if they reach past the end.
    pub fn get(&mut self, file: &dyn StorageFile, offset: u64, n: usize) -> io::Result<Option<&[u8]>> {
        let Some(stop) = offset.checked_add(n as u64) else { return Ok(None) };
        if stop > self.end {
            return Ok(None);
        }
        let buf_end = self.buf_start + self.buf.len() as u64;
        if offset < self.buf_start || stop > buf_end {
            let want = (n.max(READ_CHUNK_BYTES) as u64).min(self.end - offset) as usize;
            self.buf.resize(want, 0);
            if let Err(e) = file.read_exact_at(&mut self.buf, offset) {
                self.buf.clear();
                return Err(e);
            }
            self.buf_start = offset;
        }
        let at = (offset - self.buf_start) as usize;
        Ok(Some(&self.buf[at..at + n]))
    }
}

/// Why a frame was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameProblem {
    /// Fewer bytes left than a frame header.
    ShortHeader(u64),
    /// The frame header is all zeros: the file was extended but never written there.
    Zeroed,
    /// A declared payload length over the hard maximum.
    TooLong(u32),
    /// The payload runs past the end of the file.
    ShortPayload {
        /// Bytes the frame needs.
        need: u64,
        /// Bytes left in the file.
        have: u64,
    },
    /// The CRC does not match.
    BadChecksum,
    /// The frame's LSN is `Lsn::END`, which no entry may have.
    ReservedLsn,
    /// The frame's LSN does not continue the sequence.
    WrongLsn {
        /// The LSN that should come next.
        expected: Lsn,
        /// The LSN in the frame.
        found: Lsn,
    },
}

impl std::fmt::Display for FrameProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameProblem::ShortHeader(n) => write!(f, "only {n} bytes left, too few for a frame header"),
            FrameProblem::Zeroed => write!(f, "zeroed bytes where a frame header should be"),
            FrameProblem::TooLong(n) => {
                write!(f, "frame declares a payload of {n} bytes, over the maximum of {PAYLOAD_BYTES_MAX}")
            }
            FrameProblem::ShortPayload { need, have } => {
                write!(f, "frame needs {need} bytes but only {have} are left in the file")
            }
            FrameProblem::BadChecksum => write!(f, "frame checksum mismatch"),
            FrameProblem::WrongLsn { expected, found } => write!(f, "frame has LSN {found}, expected {expected}"),
            FrameProblem::ReservedLsn => write!(f, "frame has LSN {}, which no entry may have", crate::Lsn::END),
        }
    }
}

/// What is at an offset of a segment.
#[derive(Debug)]
pub enum Step {
    /// A valid frame; its payload is at `offset + header.header_len()`.
    Frame(FrameHeader),
    /// The clean end of the readable bytes.
    End,
    /// Something that is not a valid frame.
    Problem(FrameProblem),
}

/// Decodes the frame at `offset` of a segment in format `version`, expecting LSN `expected`
/// (or any LSN if `None`).
pub fn frame_at(
    file: &dyn StorageFile,
    reader: &mut ChunkReader,
    offset: u64,
    expected: Option<Lsn>,
    version: u16,
) -> io::Result<Step> {
    let left = reader.end().saturating_sub(offset);
    if left == 0 {
        return Ok(Step::End);
    }
    let head_len = format::frame_header_bytes(version);
    let Some(head) = reader.get(file, offset, head_len)? else {
        return Ok(Step::Problem(FrameProblem::ShortHeader(left)));
    };
    if FrameHeader::is_zeroed(head) {
        return Ok(Step::Problem(FrameProblem::Zeroed));
    }
    let header = FrameHeader::decode_version(head, version);
    if header.payload_len > PAYLOAD_BYTES_MAX {
        return Ok(Step::Problem(FrameProblem::TooLong(header.payload_len)));
    }
    if header.frame_len() > left {
        return Ok(Step::Problem(FrameProblem::ShortPayload { need: header.frame_len(), have: left }));
    }
    let Some(payload) = reader.get(file, offset + header.header_len(), header.payload_len as usize)? else {
        return Ok(Step::Problem(FrameProblem::ShortPayload { need: header.frame_len(), have: left }));
    };
    if !header.matches(payload) {
        return Ok(Step::Problem(FrameProblem::BadChecksum));
    }
    if header.lsn == Lsn::END {
        return Ok(Step::Problem(FrameProblem::ReservedLsn));
    }
    if let Some(expected) = expected {
        if header.lsn != expected {
            return Ok(Step::Problem(FrameProblem::WrongLsn { expected, found: header.lsn }));
        }
    }
    Ok(Step::Frame(header))
}

/// Reads and checks the header of a segment file.
pub fn read_header(file: &dyn StorageFile) -> io::Result<Result<SegmentHeader, HeaderProblem>> {
    Ok(read_versioned_header(file)?.map(|v| v.header))
}

/// Reads and checks the header of a segment file, keeping its format version.
pub fn read_versioned_header(file: &dyn StorageFile) -> io::Result<Result<VersionedHeader, HeaderProblem>> {
    let len = file.len()?;
    let n = (len.min(HEADER_BYTES as u64)) as usize;
    let mut bytes = vec![0u8; n];
    file.read_exact_at(&mut bytes, 0)?;
    Ok(SegmentHeader::decode_versioned(&bytes))
}

/// The summary of one pass over a segment's frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSummary {
    /// Number of valid frames.
    pub entries: u64,
    /// LSN of the last valid frame, if any.
    pub last_lsn: Option<Lsn>,
    /// Offset just past the last valid frame.
    pub valid_end: u64,
    /// The first invalid frame, if the scan stopped before the end: (offset, problem).
    pub problem: Option<(u64, FrameProblem)>,
}

/// Walks every frame of a segment from its header to `end`, calling `visit` with each valid
/// frame's offset, header and payload; stops at the first invalid frame. The frame layout
/// comes from the segment's header (the current version if the header cannot be read: the
/// caller checks headers separately).
pub fn scan(
    file: &dyn StorageFile,
    first_lsn: Lsn,
    end: u64,
    visit: impl FnMut(u64, &FrameHeader, &[u8]),
) -> io::Result<ScanSummary> {
    let version = read_versioned_header(file)?.map_or(FORMAT_VERSION, |v| v.version);
    scan_from(file, version, HEADER_BYTES as u64, first_lsn, end, visit)
}

/// Walks the frames of a segment in format `version` from `offset` (where the frame with LSN
/// `expected` starts) to `end`, as [`scan`] does.
pub fn scan_from(
    file: &dyn StorageFile,
    version: u16,
    mut offset: u64,
    mut expected: Lsn,
    end: u64,
    mut visit: impl FnMut(u64, &FrameHeader, &[u8]),
) -> io::Result<ScanSummary> {
    let mut reader = ChunkReader::new(end);
    let mut summary = ScanSummary { entries: 0, last_lsn: None, valid_end: offset, problem: None };
    loop {
        match frame_at(file, &mut reader, offset, Some(expected), version)? {
            Step::End => return Ok(summary),
            Step::Problem(p) => {
                summary.problem = Some((offset, p));
                return Ok(summary);
            }
            Step::Frame(h) => {
                let payload = reader.get(file, offset + h.header_len(), h.payload_len as usize)?.unwrap_or(&[]);
                visit(offset, &h, payload);
                offset += h.frame_len();
                summary.entries += 1;
                summary.last_lsn = Some(h.lsn);
                summary.valid_end = offset;
                expected = h.lsn.next();
            }
        }
    }
}

/// True if every byte of `file` in `from..to` is zero: preallocated space, not a frame.
pub fn is_zeroed(file: &dyn StorageFile, from: u64, to: u64) -> io::Result<bool> {
    let mut buf = vec![0u8; READ_CHUNK_BYTES.min(to.saturating_sub(from) as usize)];
    let mut at = from;
    while at < to {
        let n = (to - at).min(buf.len() as u64) as usize;
        file.read_exact_at(&mut buf[..n], at)?;
        if buf[..n].iter().any(|b| *b != 0) {
            return Ok(false);
        }
        at += n as u64;
    }
    Ok(true)
}

/// Looks in `from..end` of a version-2 segment for a valid frame that proves the entry at
/// LSN `lsn` had been made durable: one with a later LSN whose synced LSN is at or past
/// `lsn` (it was encoded after `lsn` was fsynced). Every byte offset is tried, because the
/// damaged frame's length cannot be trusted; cheap checks on the LSN fields come before the
/// CRC, so garbage costs little. Returns the offset and header of the first such frame.
pub fn find_sync_proof(
    file: &dyn StorageFile,
    from: u64,
    end: u64,
    lsn: Lsn,
) -> io::Result<Option<(u64, FrameHeader)>> {
    let head_len = format::FRAME_HEADER_BYTES_V2;
    let mut reader = ChunkReader::new(end);
    // Every frame is at least a header long, so LSNs past this cannot fit in the range.
    let lsn_reach = end.saturating_sub(from) / head_len as u64 + 1;
    let mut at = from;
    while at + head_len as u64 <= end {
        let Some(head) = reader.get(file, at, head_len)? else { break };
        let h = FrameHeader::decode_version(head, FORMAT_VERSION);
        let plausible = h.lsn > lsn
            && h.lsn.0 - lsn.0 <= lsn_reach
            && h.synced_lsn >= lsn
            && h.synced_lsn < h.lsn
            && u64::from(h.payload_len) <= end - at - head_len as u64;
        if plausible {
            let payload = reader.get(file, at + head_len as u64, h.payload_len as usize)?;
            if payload.is_some_and(|p| h.matches(p)) {
                return Ok(Some((at, h)));
            }
        }
        at += 1;
    }
    Ok(None)
}
