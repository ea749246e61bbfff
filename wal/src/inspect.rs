//! Offline, read-only inspection of a log directory, for `wal-inspect` and tests.
//!
//! Unlike [`crate::Wal::open`], this takes no lock, changes nothing and does not stop at the
//! first problem: it reports every segment and every problem it can see. It is safe on the
//! directory of a running server: the open segment is read up to its length at the moment
//! it is looked at, and an incomplete frame at its end is reported as the open tail (what
//! recovery would cut, or a write still in progress), not as corruption; zeros after it are
//! space the log preallocated. A segment purged while being inspected becomes a note.
//!
//! An invalid frame in the open segment is a problem, not the open tail, when something
//! proves it had been durable, the same two proofs [`crate::Wal::open`] uses to refuse it: a
//! later valid frame whose synced LSN is at or past it, or a committed position in the meta
//! file at or past it. So `--verify` fails exactly where open would refuse, naming the same
//! segment and byte offset.

use std::io;

use crate::format::{self, FrameHeader, FLAG_BASE, FORMAT_VERSION, HEADER_BYTES};
use crate::meta::{self, Meta};
use crate::segment::{self, FrameProblem};
use crate::storage::{Storage, StorageFile};
use crate::{LogId, Lsn};

/// Whether a segment is the last (open) one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentState {
    /// Every segment but the last: complete, never written again.
    Sealed,
    /// The last segment, still appended to.
    Open,
}

impl std::fmt::Display for SegmentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SegmentState::Sealed => "sealed",
            SegmentState::Open => "open",
        })
    }
}

/// The frame a segment's scan stopped at: corruption in a sealed segment, the open tail of
/// the open one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadFrame {
    /// Byte offset of the frame in its file.
    pub offset: u64,
    /// What its header says, if the file holds a whole frame header there (it may be the
    /// damaged part).
    pub header: Option<FrameHeader>,
    /// Whether its CRC matched: `Some(false)` on a checksum mismatch, `Some(true)` when the
    /// frame is intact but out of sequence, `None` when there was no whole frame to check.
    pub crc_ok: Option<bool>,
    /// Why the frame was not accepted.
    pub reason: String,
}

/// One segment as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// File name.
    pub file: String,
    /// First LSN, from the file name.
    pub first_lsn: Lsn,
    /// Last valid LSN, if the segment has entries.
    pub last_lsn: Option<Lsn>,
    /// Number of valid entries.
    pub entries: u64,
    /// File length in bytes.
    pub bytes: u64,
    /// Sealed or open.
    pub state: SegmentState,
    /// Log id from the header, if the header is valid.
    pub log_id: Option<LogId>,
    /// The segment's format version, if the header is valid.
    pub version: Option<u16>,
    /// True if the header carries the BASE flag.
    pub base: bool,
    /// For the open segment: bytes after the last valid frame, and why they are not a frame.
    pub open_tail: Option<(u64, String)>,
    /// For the open segment: zeroed bytes after the last valid frame, space the log
    /// preallocated for its next entries (not a torn tail).
    pub preallocated_bytes: u64,
    /// The frame where the scan stopped before the end of the file (not set for
    /// preallocated zeros).
    pub bad_frame: Option<BadFrame>,
}

/// Something wrong with the log: corruption, a foreign segment, a gap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The segment file.
    pub file: String,
    /// Byte offset in that file (0 for header and naming problems).
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

/// Everything found in a log directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inspection {
    /// Segments, oldest first.
    pub segments: Vec<SegmentInfo>,
    /// Corruption and inconsistencies; empty for a healthy log.
    pub problems: Vec<Problem>,
    /// Notes that are not corruption (leftover temp files, obsolete segments).
    pub notes: Vec<String>,
    /// The meta file, if there is a valid one.
    pub meta: Option<Meta>,
}

/// One entry as seen by [`inspect`]'s visitor.
#[derive(Debug)]
pub struct FrameView<'a> {
    /// Segment file name.
    pub file: &'a str,
    /// Byte offset of the frame in the file.
    pub offset: u64,
    /// The decoded frame header.
    pub header: &'a FrameHeader,
    /// The payload (already checked against the CRC).
    pub payload: &'a [u8],
}

/// Inspects every segment in `storage`, calling `visit` for each valid frame in log order.
pub fn inspect(storage: &dyn Storage, mut visit: impl FnMut(FrameView<'_>)) -> io::Result<Inspection> {
    let mut out = Inspection::default();
    let mut firsts = Vec::new();
    let mut names = storage.list()?;
    names.sort();
    out.meta = inspect_meta(storage, &mut out.problems)?;
    let committed = out.meta.and_then(|m| m.committed).map_or(Lsn::ZERO, |c| c.lsn);
    for name in names {
        if name == meta::META_TEMP_FILE_NAME {
            out.notes.push(format!("{name}: half-written meta file (removed when the log is next opened)"));
        } else if name.ends_with(format::TEMP_SUFFIX) {
            out.notes.push(format!("{name}: half-created segment (removed when the log is next opened)"));
        } else if let Some(lsn) = format::parse_segment_file_name(&name) {
            firsts.push(lsn);
        }
    }
    firsts.sort();
    let mut log_id: Option<LogId> = None;
    let mut expected_next: Option<(Lsn, String)> = None;
    for (i, first) in firsts.iter().enumerate() {
        let state = if i + 1 == firsts.len() { SegmentState::Open } else { SegmentState::Sealed };
        let scanned = inspect_segment(storage, *first, state, committed, &mut out.problems, &mut visit).map_err(|e| {
            // Keep the kind (NotFound is checked below), name the file.
            io::Error::new(e.kind(), format!("{}: {e}", format::segment_file_name(*first)))
        });
        let info = match scanned {
            Ok(info) => info,
            // A running server purged it between the listing and now.
            Err(e) if e.kind() == io::ErrorKind::NotFound && i + 1 < firsts.len() => {
                let name = format::segment_file_name(*first);
                out.notes.push(format!("{name}: removed while being inspected (purged by a running server?)"));
                expected_next = None;
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(id) = info.log_id {
            match log_id {
                None => log_id = Some(id),
                Some(seen) if seen != id => out.problems.push(Problem {
                    file: info.file.clone(),
                    offset: 0,
                    reason: format!("belongs to log {id}, the segments before it to log {seen}"),
                }),
                Some(_) => {}
            }
        }
        if info.base && i > 0 {
            out.notes.push(format!("{}: the log restarts here; older segments are obsolete", info.file));
        } else if let Some((expected, previous)) = &expected_next {
            if *expected != info.first_lsn {
                out.problems.push(Problem {
                    file: info.file.clone(),
                    offset: 0,
                    reason: format!(
                        "gap in LSNs: the segment should start at LSN {expected} (where {previous} ends) but starts \
                         at {}: a segment is missing or {previous} lost its end",
                        info.first_lsn
                    ),
                });
            }
        }
        expected_next = Some((info.last_lsn.map_or(info.first_lsn, Lsn::next), info.file.clone()));
        out.segments.push(info);
    }
    Ok(out)
}

/// Reads the meta file, if any: `Some` if valid, a problem if not.
fn inspect_meta(storage: &dyn Storage, problems: &mut Vec<Problem>) -> io::Result<Option<Meta>> {
    let file = match storage.open_read(meta::META_FILE_NAME) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = file.len()?;
    let mut bytes = vec![0u8; len.min(meta::META_BYTES as u64 + 1) as usize];
    file.read_exact_at(&mut bytes, 0)?;
    // The tool does not know the log id; the file's own is checked against the segments'.
    let id = bytes.get(16..32).and_then(|b| b.try_into().ok()).map_or(LogId(0), |b| LogId(u128::from_le_bytes(b)));
    match Meta::decode(&bytes, id) {
        Ok(m) => Ok(Some(m)),
        Err(p) => {
            problems.push(Problem { file: meta::META_FILE_NAME.to_string(), offset: 0, reason: p.to_string() });
            Ok(None)
        }
    }
}

fn inspect_segment(
    storage: &dyn Storage,
    first: Lsn,
    state: SegmentState,
    committed: Lsn,
    problems: &mut Vec<Problem>,
    visit: &mut impl FnMut(FrameView<'_>),
) -> io::Result<SegmentInfo> {
    let file_name = format::segment_file_name(first);
    let file = storage.open_read(&file_name)?;
    let bytes = file.len()?;
    let mut info = SegmentInfo {
        file: file_name.clone(),
        first_lsn: first,
        last_lsn: None,
        entries: 0,
        bytes,
        state,
        log_id: None,
        version: None,
        base: false,
        open_tail: None,
        preallocated_bytes: 0,
        bad_frame: None,
    };
    let (header, version) = match segment::read_versioned_header(file.as_ref())? {
        Ok(v) => (v.header, v.version),
        Err(p) => {
            problems.push(Problem { file: file_name, offset: 0, reason: format!("bad segment header: {p}") });
            return Ok(info);
        }
    };
    info.log_id = Some(header.log_id);
    info.version = Some(version);
    info.base = header.flags & FLAG_BASE != 0;
    if header.first_lsn != first {
        problems.push(Problem {
            file: file_name.clone(),
            offset: 0,
            reason: format!("header says first LSN {}, the file name says {first}", header.first_lsn),
        });
        return Ok(info);
    }
    let summary = segment::scan(file.as_ref(), first, bytes, |offset, h, payload| {
        visit(FrameView { file: &file_name, offset, header: h, payload })
    })?;
    info.entries = summary.entries;
    info.last_lsn = summary.last_lsn;
    if let Some((offset, problem)) = summary.problem {
        let preallocated = state == SegmentState::Open && segment::is_zeroed(file.as_ref(), offset, bytes)?;
        if !preallocated {
            info.bad_frame = Some(bad_frame(file.as_ref(), offset, bytes, &problem, version)?);
        }
        let expected = summary.last_lsn.map_or(first, Lsn::next);
        match state {
            SegmentState::Sealed => problems.push(Problem { file: file_name, offset, reason: problem.to_string() }),
            SegmentState::Open if preallocated => {
                info.preallocated_bytes = bytes - offset;
            }
            SegmentState::Open => {
                let proof = if version == FORMAT_VERSION {
                    segment::find_sync_proof(file.as_ref(), offset + 1, bytes, expected)?
                } else {
                    None
                };
                if let Some((at, h)) = proof {
                    problems.push(Problem {
                        file: file_name,
                        offset,
                        reason: format!(
                            "frame for LSN {expected}: {problem}; the valid frame at byte offset {at} (LSN {}) was                              written after LSN {} was synced, so this is damage, not a torn write",
                            h.lsn, h.synced_lsn
                        ),
                    });
                } else if committed >= expected {
                    problems.push(Problem {
                        file: file_name,
                        offset,
                        reason: format!(
                            "frame for LSN {expected}: {problem}; the meta file records LSN {committed} as                              committed, so this is damage, not a torn write"
                        ),
                    });
                }
                info.open_tail = Some((bytes - offset, format!("at byte offset {offset}: {problem}")))
            }
        }
    }
    debug_assert!(summary.valid_end >= HEADER_BYTES as u64);
    Ok(info)
}

/// Describes the frame at `offset`, which the scan refused for `problem`.
fn bad_frame(
    file: &dyn StorageFile,
    offset: u64,
    len: u64,
    problem: &FrameProblem,
    version: u16,
) -> io::Result<BadFrame> {
    let mut header = None;
    let head_len = format::frame_header_bytes(version);
    if len.saturating_sub(offset) >= head_len as u64 {
        let mut bytes = vec![0u8; head_len];
        file.read_exact_at(&mut bytes, offset)?;
        header = Some(FrameHeader::decode_version(&bytes, version));
    }
    let crc_ok = match problem {
        FrameProblem::BadChecksum => Some(false),
        FrameProblem::WrongLsn { .. } | FrameProblem::ReservedLsn => Some(true),
        _ => None,
    };
    Ok(BadFrame { offset, header, crc_ok, reason: problem.to_string() })
}
