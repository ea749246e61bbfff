//! Opening a log: check every segment, remove leftovers of interrupted operations, cut the
//! torn tail of the open segment.
//!
//! Nothing is changed on disk until every segment header has been read and found to belong
//! to this log and every sealed segment has been checked, so a foreign, misnamed or damaged
//! segment, or a gap, stops the open with the directory as it was (stray temp files too).
//! Sealed segments are checked frame by frame (their corruption is an error, never cut);
//! only the open segment's tail, which a crash can tear, is cut, and what was cut is
//! reported.

use crate::error::{Error, Result};
use crate::format::{self, SegmentHeader, FLAG_BASE, HEADER_BYTES, TEMP_SUFFIX};
use crate::log::{create_segment, ActiveSegment, SegmentMeta, WalOptions};
use crate::segment;
use crate::storage::Storage;
use crate::{LogId, Lsn};

/// What opening the log found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segments in the log after opening.
    pub segments: usize,
    /// First LSN in the log.
    pub first_lsn: Lsn,
    /// Last LSN in the log (`first_lsn - 1` when it is empty).
    pub last_lsn: Lsn,
    /// True if the log did not exist and was created.
    pub created: bool,
    /// What was cut from the end of the open segment, if anything.
    pub torn_tail: Option<TornTail>,
    /// Half-created segment files (`*.wal.tmp`) that were removed.
    pub removed_temp_files: Vec<String>,
    /// Segments left over from an interrupted reset that were removed.
    pub removed_obsolete_segments: Vec<String>,
}

/// The invalid tail cut from the open segment during recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment file.
    pub segment: String,
    /// Byte offset of the first invalid frame, where the file was cut.
    pub offset: u64,
    /// How many bytes were cut.
    pub bytes_cut: u64,
    /// Why the frame at `offset` was not valid.
    pub reason: String,
}

/// A log as recovery left it, ready to append to.
#[derive(Debug)]
pub(crate) struct Recovered {
    /// Segments, oldest first; the last is open.
    pub segments: Vec<SegmentMeta>,
    /// The LSN the next entry gets.
    pub next_lsn: Lsn,
    /// The open segment, positioned after its last valid frame.
    pub active: ActiveSegment,
    /// What was found.
    pub report: RecoveryReport,
}

/// Opens the segments in `storage`: checks headers, removes leftovers, checks sealed
/// segments, cuts the torn tail of the open one.
pub(crate) fn recover(storage: &dyn Storage, options: &WalOptions) -> Result<Recovered> {
    let mut report = RecoveryReport::default();
    let dir_err = |e| Error::io(storage.path_of(""), e);
    let mut firsts = Vec::new();
    let mut temps = Vec::new();
    for name in storage.list().map_err(dir_err)? {
        if name.ends_with(TEMP_SUFFIX) {
            temps.push(name);
        } else if let Some(lsn) = format::parse_segment_file_name(&name) {
            firsts.push(lsn);
        }
    }
    firsts.sort();
    temps.sort();

    // Check everything first: any bad or foreign header, damaged sealed segment or gap
    // stops the open before a byte is changed.
    let mut headers = Vec::new();
    for first in &firsts {
        headers.push(check_header(storage, options.log_id, *first)?);
    }
    let base = headers.iter().rposition(|h| h.flags & FLAG_BASE != 0).unwrap_or(0);
    let obsolete: Vec<SegmentHeader> = headers.drain(..base).collect();
    let mut segments = Vec::new();
    for pair in headers.windows(2) {
        segments.push(check_sealed(storage, pair[0].first_lsn, pair[1].first_lsn)?);
    }

    // Then finish what a crash interrupted: half-created segments, an interrupted reset.
    for name in temps {
        storage.remove(&name).map_err(|e| Error::io(storage.path_of(&name), e))?;
        report.removed_temp_files.push(name);
    }
    for h in obsolete {
        let name = format::segment_file_name(h.first_lsn);
        storage.remove(&name).map_err(|e| Error::io(storage.path_of(&name), e))?;
        report.removed_obsolete_segments.push(name);
    }
    if !report.removed_temp_files.is_empty() || !report.removed_obsolete_segments.is_empty() {
        storage.sync_dir().map_err(dir_err)?;
    }
    let Some(open) = headers.last() else {
        let active = create_segment(storage, options.log_id, options.first_lsn, FLAG_BASE)?;
        report.created = true;
        let segments = vec![SegmentMeta { first_lsn: options.first_lsn, durable_end: HEADER_BYTES as u64 }];
        return Ok(finish(segments, options.first_lsn, active, report));
    };
    let open_first = open.first_lsn;
    let (active, next_lsn, torn) = recover_open(storage, open_first)?;
    report.torn_tail = torn;
    segments.push(SegmentMeta { first_lsn: open_first, durable_end: active.write_offset });
    Ok(finish(segments, next_lsn, active, report))
}

fn finish(segments: Vec<SegmentMeta>, next_lsn: Lsn, active: ActiveSegment, mut report: RecoveryReport) -> Recovered {
    report.segments = segments.len();
    report.first_lsn = segments[0].first_lsn;
    report.last_lsn = next_lsn.prev();
    Recovered { segments, next_lsn, active, report }
}

/// Reads a segment's header and checks it belongs here and matches its name.
fn check_header(storage: &dyn Storage, log_id: LogId, first: Lsn) -> Result<SegmentHeader> {
    let name = format::segment_file_name(first);
    let path = storage.path_of(&name);
    let file = storage.open_read(&name).map_err(|e| Error::io(path.clone(), e))?;
    let header = segment::read_header(file.as_ref())
        .map_err(|e| Error::io(path.clone(), e))?
        .map_err(|p| Error::BadHeader { segment: path.clone(), reason: p.to_string() })?;
    if header.log_id != log_id {
        return Err(Error::ForeignSegment { segment: path, found: header.log_id, expected: log_id });
    }
    if header.first_lsn != first {
        return Err(Error::BadHeader {
            segment: path,
            reason: format!("header says first LSN {}, the file name says {first}", header.first_lsn),
        });
    }
    Ok(header)
}

/// Checks every frame of a sealed segment, and that the next segment continues it.
fn check_sealed(storage: &dyn Storage, first: Lsn, next_first: Lsn) -> Result<SegmentMeta> {
    let name = format::segment_file_name(first);
    let path = storage.path_of(&name);
    let file = storage.open_read(&name).map_err(|e| Error::io(path.clone(), e))?;
    let len = file.len().map_err(|e| Error::io(path.clone(), e))?;
    let summary = segment::scan(file.as_ref(), first, len, |_, _, _| {}).map_err(|e| Error::io(path.clone(), e))?;
    if let Some((offset, problem)) = summary.problem {
        return Err(Error::Corrupt { segment: path, offset, reason: problem.to_string() });
    }
    let expected_next = summary.last_lsn.map_or(first, Lsn::next);
    if expected_next != next_first {
        return Err(Error::Gap {
            segment: storage.path_of(&format::segment_file_name(next_first)),
            previous: path,
            expected: expected_next,
            found: next_first,
        });
    }
    Ok(SegmentMeta { first_lsn: first, durable_end: len })
}

/// Scans the open segment, cuts it after its last valid frame, and syncs it (what a crashed
/// process left in the page cache is made durable before anyone relies on it).
///
/// Zeros from the last valid frame to the end of the file are preallocated space (see
/// `WalOptions::preallocate_bytes`), not a torn tail: they are kept, and not reported.
/// Anything else after the last valid frame is cut, so no stale frame can ever follow new
/// ones.
fn recover_open(storage: &dyn Storage, first: Lsn) -> Result<(ActiveSegment, Lsn, Option<TornTail>)> {
    let name = format::segment_file_name(first);
    let path = storage.path_of(&name);
    let file = storage.open(&name).map_err(|e| Error::io(path.clone(), e))?;
    let len = file.len().map_err(|e| Error::io(path.clone(), e))?;
    let summary = segment::scan(file.as_ref(), first, len, |_, _, _| {}).map_err(|e| Error::io(path.clone(), e))?;
    let mut torn = None;
    let mut prepared_end = summary.valid_end;
    if let Some((offset, problem)) = summary.problem {
        let zeros = segment::is_zeroed(file.as_ref(), offset, len).map_err(|e| Error::io(path.clone(), e))?;
        if zeros {
            prepared_end = len;
        } else {
            torn =
                Some(TornTail { segment: name.clone(), offset, bytes_cut: len - offset, reason: problem.to_string() });
            file.set_len(offset).map_err(|e| Error::io(path.clone(), e))?;
        }
    }
    file.sync_data().map_err(|e| Error::io(path.clone(), e))?;
    let next_lsn = summary.last_lsn.map_or(first, Lsn::next);
    Ok((ActiveSegment { first_lsn: first, file, write_offset: summary.valid_end, prepared_end }, next_lsn, torn))
}
