//! Opening a log: check every segment and the meta file, remove leftovers of interrupted
//! operations, cut the torn tail of the open segment, and refuse damage that is not one.
//!
//! Nothing is changed on disk until every segment header has been read and found to belong
//! to this log, every sealed segment has been checked, the meta file has been read, and the
//! open segment's end has been judged. So a foreign, misnamed or damaged segment, a gap, a
//! bad meta file, or damage in the open segment stops the open with the directory as it was
//! (stray temp files too).
//!
//! # Torn tail or damage
//! A crash can only tear what was never synced: the frames of the last group-commit batch
//! (or batches) being written. Each version-2 frame records the LSN that was durable when it
//! was encoded, and a batch is written only after the batch before it was synced. So when
//! the open segment's scan stops at an invalid frame for LSN `e`, recovery searches the rest
//! of the file for a valid frame whose synced LSN is at or past `e`; finding one proves `e`
//! was durable, so this is damage, and open refuses with [`Error::Corrupt`] naming the
//! segment, the offset of the invalid frame and the proving frame, cutting nothing. The meta
//! file's committed position is a second proof (it is written only after what it names was
//! synced). Without a proof, the bytes from `e` on are a torn tail and are cut, as before.
//! The limit: damage to the last batch when nothing was written after it, and the meta file
//! does not name it committed, cannot be told from a torn write and is cut.
//!
//! Zeros from the last valid frame to the end of the file are preallocated space, kept.

use crate::error::{Error, Result};
use crate::format::{self, VersionedHeader, FLAG_BASE, FORMAT_VERSION, HEADER_BYTES, TEMP_SUFFIX};
use crate::index::FrameIndex;
use crate::log::{create_segment, ActiveSegment, SegmentMeta, WalOptions};
use crate::meta::{self, Meta};
use crate::segment;
use crate::storage::{Storage, StorageFile};
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
    /// The open segment, positioned after its last valid frame, in the current format.
    pub active: ActiveSegment,
    /// Frame offsets of every segment.
    pub index: FrameIndex,
    /// The meta file (default if there is none).
    pub meta: Meta,
    /// What was found.
    pub report: RecoveryReport,
}

/// What recovery decided about the open segment before changing anything.
struct OpenPlan {
    /// The open file.
    file: Box<dyn StorageFile>,
    /// Offset past the last valid frame.
    valid_end: u64,
    /// The file's length once the plan is carried out.
    prepared_end: u64,
    /// The LSN after the last valid frame.
    next_lsn: Lsn,
    /// The torn tail to cut.
    torn: Option<TornTail>,
}

/// Opens the segments in `storage`: checks headers, the meta file and sealed segments,
/// judges the open segment's end, then removes leftovers and cuts a torn tail.
pub(crate) fn recover(storage: &dyn Storage, options: &WalOptions) -> Result<Recovered> {
    let mut report = RecoveryReport::default();
    let dir_err = |e| Error::io(storage.path_of(""), e);
    let mut firsts = Vec::new();
    let mut temps = Vec::new();
    let mut meta_temp = false;
    for name in storage.list().map_err(dir_err)? {
        if name.ends_with(TEMP_SUFFIX) {
            temps.push(name);
        } else if name == meta::META_TEMP_FILE_NAME {
            meta_temp = true;
        } else if let Some(lsn) = format::parse_segment_file_name(&name) {
            firsts.push(lsn);
        }
    }
    firsts.sort();
    temps.sort();

    // Check everything first: any bad or foreign header, damaged sealed segment, gap, bad
    // meta file or damage in the open segment stops the open before a byte is changed.
    let meta = meta::read_meta(storage, options.log_id)?;
    let mut headers = Vec::new();
    for first in &firsts {
        headers.push(check_header(storage, options.log_id, *first)?);
    }
    let base = headers.iter().rposition(|h| h.header.flags & FLAG_BASE != 0).unwrap_or(0);
    let obsolete: Vec<VersionedHeader> = headers.drain(..base).collect();
    let mut index = FrameIndex::default();
    let mut segments = Vec::new();
    for pair in headers.windows(2) {
        segments.push(check_sealed(storage, &pair[0], pair[1].header.first_lsn, &mut index)?);
    }
    let committed = meta.committed.map_or(Lsn::ZERO, |c| c.lsn);
    let plan = match headers.last() {
        Some(open) => Some((*open, plan_open(storage, open, committed, &mut index)?)),
        None => None,
    };

    // Then finish what a crash interrupted: half-created files, an interrupted reset.
    for name in temps {
        storage.remove(&name).map_err(|e| Error::io(storage.path_of(&name), e))?;
        report.removed_temp_files.push(name);
    }
    if meta_temp {
        let name = meta::META_TEMP_FILE_NAME;
        storage.remove(name).map_err(|e| Error::io(storage.path_of(name), e))?;
        report.removed_temp_files.push(name.to_string());
    }
    for h in obsolete {
        let name = format::segment_file_name(h.header.first_lsn);
        storage.remove(&name).map_err(|e| Error::io(storage.path_of(&name), e))?;
        report.removed_obsolete_segments.push(name);
    }
    if !report.removed_temp_files.is_empty() || !report.removed_obsolete_segments.is_empty() {
        storage.sync_dir().map_err(dir_err)?;
    }
    let Some((open, plan)) = plan else {
        let active = create_segment(storage, options.log_id, options.first_lsn, FLAG_BASE)?;
        report.created = true;
        let first = options.first_lsn;
        let segments =
            vec![SegmentMeta { first_lsn: first, durable_end: HEADER_BYTES as u64, version: FORMAT_VERSION }];
        return Ok(finish(segments, first, active, index, meta, report));
    };
    let open_first = open.header.first_lsn;
    let next_lsn = plan.next_lsn;
    let active = carry_out(storage, open, plan, &mut report)?;
    segments.push(SegmentMeta { first_lsn: open_first, durable_end: active.write_offset, version: open.version });
    let active = upgrade_active(storage, options.log_id, active, &mut segments, next_lsn)?;
    Ok(finish(segments, next_lsn, active, index, meta, report))
}

fn finish(
    segments: Vec<SegmentMeta>,
    next_lsn: Lsn,
    active: ActiveSegment,
    index: FrameIndex,
    meta: Meta,
    mut report: RecoveryReport,
) -> Recovered {
    report.segments = segments.len();
    report.first_lsn = segments[0].first_lsn;
    report.last_lsn = next_lsn.prev();
    Recovered { segments, next_lsn, active, index, meta, report }
}

/// Reads a segment's header and checks it belongs here and matches its name.
fn check_header(storage: &dyn Storage, log_id: LogId, first: Lsn) -> Result<VersionedHeader> {
    let name = format::segment_file_name(first);
    let path = storage.path_of(&name);
    let file = storage.open_read(&name).map_err(|e| Error::io(path.clone(), e))?;
    let versioned = segment::read_versioned_header(file.as_ref())
        .map_err(|e| Error::io(path.clone(), e))?
        .map_err(|p| Error::BadHeader { segment: path.clone(), reason: p.to_string() })?;
    let header = versioned.header;
    if header.log_id != log_id {
        return Err(Error::ForeignSegment { segment: path, found: header.log_id, expected: log_id });
    }
    if header.first_lsn != first {
        return Err(Error::BadHeader {
            segment: path,
            reason: format!("header says first LSN {}, the file name says {first}", header.first_lsn),
        });
    }
    Ok(versioned)
}

/// Checks every frame of a sealed segment, and that the next segment continues it; notes
/// its frames in the index.
fn check_sealed(
    storage: &dyn Storage,
    h: &VersionedHeader,
    next_first: Lsn,
    index: &mut FrameIndex,
) -> Result<SegmentMeta> {
    let first = h.header.first_lsn;
    let name = format::segment_file_name(first);
    let path = storage.path_of(&name);
    let file = storage.open_read(&name).map_err(|e| Error::io(path.clone(), e))?;
    let len = file.len().map_err(|e| Error::io(path.clone(), e))?;
    let summary = segment::scan_from(file.as_ref(), h.version, HEADER_BYTES as u64, first, len, |offset, f, _| {
        index.note(f.lsn, first, offset)
    })
    .map_err(|e| Error::io(path.clone(), e))?;
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
    Ok(SegmentMeta { first_lsn: first, durable_end: len, version: h.version })
}

/// Scans the open segment and judges what follows its last valid frame: preallocated zeros
/// (kept), a torn tail (to cut), or damage (an error: see the module docs). Changes nothing.
fn plan_open(storage: &dyn Storage, h: &VersionedHeader, committed: Lsn, index: &mut FrameIndex) -> Result<OpenPlan> {
    let first = h.header.first_lsn;
    let name = format::segment_file_name(first);
    let path = storage.path_of(&name);
    let file = storage.open(&name).map_err(|e| Error::io(path.clone(), e))?;
    let len = file.len().map_err(|e| Error::io(path.clone(), e))?;
    let summary = segment::scan_from(file.as_ref(), h.version, HEADER_BYTES as u64, first, len, |offset, f, _| {
        index.note(f.lsn, first, offset)
    })
    .map_err(|e| Error::io(path.clone(), e))?;
    let next_lsn = summary.last_lsn.map_or(first, Lsn::next);
    let mut plan =
        OpenPlan { file, valid_end: summary.valid_end, prepared_end: summary.valid_end, next_lsn, torn: None };
    let Some((offset, problem)) = summary.problem else { return Ok(plan) };
    let io = |e| Error::io(path.clone(), e);
    if segment::is_zeroed(plan.file.as_ref(), offset, len).map_err(io)? {
        plan.prepared_end = len;
        return Ok(plan);
    }
    if h.version == FORMAT_VERSION {
        if let Some((at, proof)) =
            segment::find_sync_proof(plan.file.as_ref(), offset + 1, len, next_lsn).map_err(io)?
        {
            return Err(Error::Corrupt {
                segment: path,
                offset,
                reason: format!(
                    "frame for LSN {next_lsn}: {problem}; but the valid frame at byte offset {at} (LSN {}) was written \
                     after every entry up to LSN {} had been synced, so this frame was durable: this is damage, not a \
                     torn write, and nothing was cut",
                    proof.lsn, proof.synced_lsn
                ),
            });
        }
    }
    if committed >= next_lsn {
        return Err(Error::Corrupt {
            segment: path,
            offset,
            reason: format!(
                "frame for LSN {next_lsn}: {problem}; but the meta file records LSN {committed} as committed, so this \
                 frame was durable: this is damage, not a torn write, and nothing was cut"
            ),
        });
    }
    plan.torn = Some(TornTail { segment: name, offset, bytes_cut: len - offset, reason: problem.to_string() });
    Ok(plan)
}

/// Cuts the torn tail the plan found and syncs the open segment (what a crashed process left
/// in the page cache is made durable before anyone relies on it).
fn carry_out(
    storage: &dyn Storage,
    open: VersionedHeader,
    plan: OpenPlan,
    report: &mut RecoveryReport,
) -> Result<ActiveSegment> {
    let path = storage.path_of(&format::segment_file_name(open.header.first_lsn));
    if let Some(torn) = &plan.torn {
        plan.file.set_len(torn.offset).map_err(|e| Error::io(path.clone(), e))?;
    }
    plan.file.sync_data().map_err(|e| Error::io(path.clone(), e))?;
    report.torn_tail = plan.torn;
    Ok(ActiveSegment {
        first_lsn: open.header.first_lsn,
        file: plan.file,
        write_offset: plan.valid_end,
        prepared_end: plan.prepared_end,
        version: open.version,
    })
}

/// Makes sure the log appends to a current-format segment. A version-1 active segment
/// (written by an older build, or left active by a truncate) with frames is sealed like a
/// roll (zeros cut, synced) and a new segment starts at `next_lsn`; an empty one is replaced
/// by an empty current-format segment of the same name and flags (temp file, sync, rename
/// over it, directory sync: a crash leaves one or the other).
pub(crate) fn upgrade_active(
    storage: &dyn Storage,
    log_id: LogId,
    mut active: ActiveSegment,
    segments: &mut Vec<SegmentMeta>,
    next_lsn: Lsn,
) -> Result<ActiveSegment> {
    if active.version == FORMAT_VERSION {
        return Ok(active);
    }
    let name = format::segment_file_name(active.first_lsn);
    let io = |e| Error::io(storage.path_of(&name), e);
    if active.write_offset > HEADER_BYTES as u64 {
        active.trim().map_err(io)?;
        active.file.sync_data().map_err(io)?;
        if let Some(last) = segments.last_mut() {
            last.durable_end = active.write_offset;
        }
        let new = create_segment(storage, log_id, next_lsn, 0)?;
        segments.push(SegmentMeta { first_lsn: next_lsn, durable_end: HEADER_BYTES as u64, version: FORMAT_VERSION });
        return Ok(new);
    }
    let header = segment::read_header(active.file.as_ref())
        .map_err(io)?
        .map_err(|p| Error::BadHeader { segment: storage.path_of(&name), reason: p.to_string() })?;
    let first = active.first_lsn;
    drop(active);
    let new = create_segment(storage, log_id, first, header.flags)?;
    if let Some(last) = segments.last_mut() {
        last.version = FORMAT_VERSION;
    }
    Ok(new)
}
