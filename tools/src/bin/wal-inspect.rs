//! `wal-inspect PATH`: read-only inspection of a Basalt WAL directory (or of a database
//! directory: its `wal/` is read and its checkpoint's LSN marked).
//!
//! Prints a table of the segments (file, first and last LSN, entries, bytes, sealed or
//! open, notes), then notes and problems. `--records` lists the entries and what each does
//! (decoded by `basalt_tools::entries`, with each transaction's commit time), `--from` and
//! `--to` (or `--until`) restrict the range by LSN or by commit time, `--verify` turns problems into exit status 1, `--json` prints
//! one JSON document instead of text.
//!
//! It goes through `basalt_wal::inspect` only: no lock, no writes, so it is safe on the
//! directory of a running server (an entry being written shows as the open tail, a segment
//! purged meanwhile as a note). Exit status: 0 done (and, with `--verify`, no problem);
//! 1 `--verify` found a problem; 2 bad usage, or the path cannot be read or is not a WAL
//! directory. Output names segment files, never the directory, and holds no times, so it
//! can be compared between runs.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use basalt_tools::time::Bound;
use basalt_wal::format;
use basalt_wal::inspect::{inspect, FrameView, Inspection, SegmentInfo, SegmentState};
use basalt_wal::{DiskStorage, Lsn, Storage};
use clap::Parser;
use serde::Serialize;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "wal-inspect",
    version,
    about = "Inspect a Basalt write-ahead log directory (read-only).",
    long_about = "Inspect a Basalt write-ahead log directory: its segment files, their LSN ranges and \
                  entry counts, and any corruption.\n\n\
                  Read-only: takes no lock and changes nothing, so it is safe on the directory of a \
                  running server. The last (open) segment may end in an incomplete entry (a write in \
                  progress, or what the next open of the log cuts after a crash) or in preallocated \
                  zeros; both are notes, not corruption. Anything wrong elsewhere (a damaged sealed \
                  segment, a bad header, another log's segment, a gap in LSNs) is a problem. Problems \
                  are always looked for over the whole log, whatever --from and --to say.",
    after_help = "Exit status: 0 done (with --verify: no problem found); 1 --verify found a problem; \
                  2 bad usage, or PATH cannot be read or is not a WAL directory."
)]
struct Args {
    /// The WAL directory (a database's `wal/` folder, holding `<20-digit LSN>.wal` segment
    /// files), or the database directory itself.
    path: PathBuf,
    /// Also list the entries: LSN, kind, payload size, CRC check, segment file, byte offset,
    /// and what each does (operations, RIDs, record kinds, sizes, schema changes, marks).
    /// The frame where a segment's scan stopped (corruption, or the open tail) is listed too,
    /// marked as not an entry.
    #[arg(long)]
    records: bool,
    /// Only show entries (and segments holding entries) from this LSN on, or committed at or
    /// after this time (RFC 3339, or 'YYYY-MM-DD HH:MM:SS' in UTC; with a time, only
    /// transactions are shown: other entries carry no time).
    #[arg(long, value_name = "LSN|TIME")]
    from: Option<Bound>,
    /// Only show entries (and segments holding entries) up to this LSN, or committed at or
    /// before this time.
    #[arg(long, visible_alias = "until", value_name = "LSN|TIME")]
    to: Option<Bound>,
    /// Check the whole log and exit 1 if anything is wrong, printing each problem as
    /// `<segment file>: byte offset <n>: <reason>`. Instead of the table, prints the problems
    /// and notes, or one line saying the log is sound.
    #[arg(long)]
    verify: bool,
    /// Print one JSON document (segments, records if asked, problems, notes) instead of text.
    #[arg(long)]
    json: bool,
}

/// A failure of the tool itself (exit status 2).
#[derive(Debug)]
struct ToolError(String);

impl From<io::Error> for ToolError {
    fn from(e: io::Error) -> ToolError {
        ToolError(format!("writing the output: {e}"))
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut out = io::stdout().lock();
    match run(&args, &mut out) {
        Ok(code) => code,
        Err(ToolError(message)) => {
            let _ = out.flush();
            eprintln!("wal-inspect: {message}");
            ExitCode::from(2)
        }
    }
}

/// The range asked for, inclusive: LSNs, and commit times if a bound is a time.
#[derive(Debug, Clone, Copy)]
struct Range {
    from: u64,
    to: u64,
    /// Commit times (unix microseconds), when `--from` or `--to` is a time.
    times: Option<(u64, u64)>,
}

impl Range {
    fn of(from: Option<Bound>, to: Option<Bound>) -> Range {
        let lsn = |b: Option<Bound>, none: u64| match b {
            Some(Bound::Lsn(l)) => l,
            _ => none,
        };
        let time = |b: Option<Bound>| match b {
            Some(Bound::TimeUs(t)) => Some(t),
            _ => None,
        };
        let times = match (time(from), time(to)) {
            (None, None) => None,
            (f, t) => Some((f.unwrap_or(0), t.unwrap_or(u64::MAX))),
        };
        Range { from: lsn(from, 0), to: lsn(to, u64::MAX), times }
    }

    fn contains(&self, lsn: u64) -> bool {
        self.from <= lsn && lsn <= self.to
    }

    /// True if an entry at `lsn` with this commit time is in the range.
    fn admits(&self, lsn: u64, time: Option<u64>) -> bool {
        self.contains(lsn)
            && match (self.times, time) {
                (None, _) => true,
                (Some((from, to)), Some(t)) => from <= t && t <= to,
                (Some(_), None) => false,
            }
    }

    /// True if the segment holds an entry in the range, or (when it holds none) starts in it.
    fn overlaps(&self, seg: &SegmentInfo) -> bool {
        let first = seg.first_lsn.0;
        let last = seg.last_lsn.map_or(first, |l| l.0);
        first <= self.to && last >= self.from
    }
}

fn run(args: &Args, out: &mut dyn Write) -> Result<ExitCode, ToolError> {
    let mut range = Range::of(args.from, args.to);
    if range.from > range.to || range.times.is_some_and(|(f, t)| f > t) {
        let text = |b: Option<Bound>| match b {
            Some(Bound::Lsn(l)) => l.to_string(),
            Some(Bound::TimeUs(t)) => basalt_tools::time::format_time_us(t),
            None => "-".to_string(),
        };
        let (from, to) = (text(args.from), text(args.to));
        return Err(ToolError(format!("--from {from} is after --to {to}: the range is empty")));
    }
    let (wal_dir, checkpoint) = wal_dir_of(&args.path);
    let storage = open_dir(&wal_dir)?;
    let mut records = Vec::new();
    let mut matched: Option<(u64, u64)> = None;
    let inspection = inspect(&storage, |frame| {
        let lsn = frame.header.lsn.0;
        let time = range.times.and(basalt_tools::entries::commit_time(frame.header.kind.0, frame.payload));
        if range.admits(lsn, time) {
            matched = Some(matched.map_or((lsn, lsn), |(f, t)| (f.min(lsn), t.max(lsn))));
            if args.records {
                records.push(Record::entry(&frame));
            }
        }
    })
    .map_err(|e| ToolError(format!("{}: {e}", args.path.display())))?;
    if range.times.is_some() {
        // Segments are shown by the LSNs of the entries the times admitted.
        (range.from, range.to) = matched.unwrap_or((1, 0));
    }
    let mut report = Report::new(&inspection, args.records.then_some(records), range);
    if let Some(c) = checkpoint {
        report.notes.push(format!(
            "the database's checkpoint is at LSN {} (term {}): entries up to it are in its cluster files, later ones are redone at open",
            c.lsn, c.term
        ));
        for r in report.records.iter_mut().flatten() {
            if r.lsn == Some(c.lsn) && r.not_an_entry.is_none() {
                r.what = Some(format!("{} [checkpoint]", r.what.take().unwrap_or_default()).trim_start().to_string());
            }
        }
    }
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &report).map_err(|e| ToolError(format!("writing JSON: {e}")))?;
        writeln!(out)?;
    } else if args.verify {
        write_verdict(out, &report)?;
        if let Some(records) = &report.records {
            writeln!(out)?;
            write_records(out, records)?;
        }
    } else {
        write_table(out, &report)?;
        if let Some(records) = &report.records {
            writeln!(out)?;
            write_records(out, records)?;
        }
        writeln!(out)?;
        write_notes_and_problems(out, &report)?;
    }
    out.flush()?;
    if args.verify && !report.problems.is_empty() {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The WAL directory for `path`: its `wal/` when `path` is a database directory (one with a
/// `checkpoint` file and a `wal/` folder), with that database's checkpoint record; else
/// `path` itself.
fn wal_dir_of(path: &Path) -> (PathBuf, Option<basalt_engine::checkpoint::CheckpointRecord>) {
    let wal = path.join(basalt_engine::WAL_DIR);
    if wal.is_dir() && path.join(basalt_engine::checkpoint::CHECKPOINT_FILE).is_file() {
        return (wal, basalt_engine::checkpoint::read_record(path).ok());
    }
    (path.to_path_buf(), None)
}

/// Checks that `path` is a readable directory holding a WAL, and returns it as storage.
fn open_dir(path: &Path) -> Result<DiskStorage, ToolError> {
    let meta = std::fs::metadata(path).map_err(|e| ToolError(format!("cannot read {}: {e}", path.display())))?;
    if !meta.is_dir() {
        return Err(ToolError(format!(
            "{} is not a directory; give the WAL directory (a database's wal/ folder)",
            path.display()
        )));
    }
    let storage = DiskStorage::existing(path);
    let names = storage.list().map_err(|e| ToolError(format!("cannot list {}: {e}", path.display())))?;
    let is_wal = names.iter().any(|n| format::parse_segment_file_name(n).is_some() || n.ends_with(format::TEMP_SUFFIX));
    if !is_wal {
        return Err(ToolError(format!(
            "{} is not a WAL directory: it holds no segment files (<20-digit LSN>{})",
            path.display(),
            format::SEGMENT_SUFFIX
        )));
    }
    Ok(storage)
}

/// Everything printed, text or JSON.
#[derive(Debug, Serialize)]
struct Report {
    /// True when no problem was found.
    ok: bool,
    /// The log id of the first segment with a readable header.
    log_id: Option<String>,
    /// Totals over the segments shown.
    summary: Summary,
    /// Segments, oldest first (those holding entries in the range).
    segments: Vec<SegmentRow>,
    /// Entries, with `--records`.
    #[serde(skip_serializing_if = "Option::is_none")]
    records: Option<Vec<Record>>,
    /// Corruption and inconsistencies, over the whole log whatever the range.
    problems: Vec<ProblemRow>,
    /// Things worth knowing that are not corruption.
    notes: Vec<String>,
}

/// Totals.
#[derive(Debug, Serialize)]
struct Summary {
    /// Number of segments shown.
    segments: usize,
    /// Entries in them.
    entries: u64,
    /// Bytes of their files.
    bytes: u64,
    /// Lowest LSN in them, if any entry.
    first_lsn: Option<u64>,
    /// Highest LSN in them, if any entry.
    last_lsn: Option<u64>,
}

/// One segment.
#[derive(Debug, Serialize)]
struct SegmentRow {
    /// File name.
    file: String,
    /// First LSN (from the file name).
    first_lsn: u64,
    /// Last valid LSN, if it has entries.
    last_lsn: Option<u64>,
    /// Valid entries.
    entries: u64,
    /// File length.
    bytes: u64,
    /// "sealed" or "open".
    state: String,
    /// Log id in the header, if readable.
    log_id: Option<String>,
    /// The header's BASE flag: the log starts here.
    base: bool,
    /// Zeroed bytes at the end of the open segment, preallocated by the log.
    preallocated_bytes: u64,
    /// Short remarks for the table.
    notes: Vec<String>,
}

/// One entry, or the frame where a segment's scan stopped.
#[derive(Debug, Serialize)]
struct Record {
    /// The LSN in the frame header (`None` when the file holds no whole header there).
    lsn: Option<u64>,
    /// The kind tag.
    kind: Option<u8>,
    /// Payload size in bytes, as the header declares it.
    size: Option<u32>,
    /// "ok", "bad", or "-" when there was no whole frame to check.
    crc: &'static str,
    /// Segment file.
    segment: String,
    /// Byte offset of the frame in the file.
    offset: u64,
    /// For a frame that is not an entry: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    not_an_entry: Option<String>,
    /// What the entry does (engine transactions, membership and blank marks), decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    what: Option<String>,
    /// A transaction's commit time (RFC 3339, UTC), if it carries one.
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<String>,
    /// The same, in unix microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    time_us: Option<u64>,
}

impl Record {
    fn entry(frame: &FrameView<'_>) -> Record {
        let time_us = basalt_tools::entries::commit_time(frame.header.kind.0, frame.payload);
        Record {
            lsn: Some(frame.header.lsn.0),
            kind: Some(frame.header.kind.0),
            size: Some(frame.header.payload_len),
            crc: "ok",
            segment: frame.file.to_string(),
            offset: frame.offset,
            not_an_entry: None,
            what: basalt_tools::entries::describe(frame.header.kind.0, frame.payload),
            time: time_us.map(basalt_tools::time::format_time_us),
            time_us,
        }
    }
}

/// One problem.
#[derive(Debug, Serialize)]
struct ProblemRow {
    /// Segment file.
    file: String,
    /// Byte offset in it.
    offset: u64,
    /// What is wrong.
    reason: String,
}

impl Report {
    fn new(inspection: &Inspection, records: Option<Vec<Record>>, range: Range) -> Report {
        let shown: Vec<&SegmentInfo> = inspection.segments.iter().filter(|s| range.overlaps(s)).collect();
        let mut notes = inspection.notes.clone();
        for seg in &inspection.segments {
            if let (Some(bad), SegmentState::Open) = (&seg.bad_frame, seg.state) {
                notes.push(format!(
                    "{}: open tail of {} bytes at byte offset {}: {} (a write in progress, or what the next \
                     open of the log cuts)",
                    seg.file,
                    seg.bytes - bad.offset,
                    bad.offset,
                    bad.reason
                ));
            }
        }
        let records = records.map(|mut records| {
            records.extend(shown.iter().filter_map(|seg| stopped_frame(seg)));
            records.sort_by_key(|r| (r.segment.clone(), r.offset));
            records
        });
        let entries: u64 = shown.iter().map(|s| s.entries).sum();
        let summary = Summary {
            segments: shown.len(),
            entries,
            bytes: shown.iter().map(|s| s.bytes).sum(),
            first_lsn: shown.iter().find(|s| s.entries > 0).map(|s| s.first_lsn.0),
            last_lsn: shown.iter().filter_map(|s| s.last_lsn).map(|l| l.0).max(),
        };
        Report {
            ok: inspection.problems.is_empty(),
            log_id: inspection.segments.iter().find_map(|s| s.log_id).map(|id| id.to_string()),
            summary,
            segments: shown.iter().map(|s| segment_row(s)).collect(),
            records,
            problems: inspection
                .problems
                .iter()
                .map(|p| ProblemRow { file: p.file.clone(), offset: p.offset, reason: p.reason.clone() })
                .collect(),
            notes,
        }
    }
}

/// The frame a segment's scan stopped at, as a record marked "not an entry".
fn stopped_frame(seg: &SegmentInfo) -> Option<Record> {
    let bad = seg.bad_frame.as_ref()?;
    let crc = match bad.crc_ok {
        Some(true) => "ok",
        Some(false) => "bad",
        None => "-",
    };
    Some(Record {
        lsn: bad.header.map(|h| h.lsn.0),
        kind: bad.header.map(|h| h.kind.0),
        size: bad.header.map(|h| h.payload_len),
        crc,
        segment: seg.file.clone(),
        offset: bad.offset,
        not_an_entry: Some(bad.reason.clone()),
        what: None,
        time: None,
        time_us: None,
    })
}

fn segment_row(seg: &SegmentInfo) -> SegmentRow {
    let mut notes = Vec::new();
    if seg.base {
        notes.push("base".to_string());
    }
    if seg.log_id.is_none() {
        notes.push("bad header".to_string());
    }
    if seg.preallocated_bytes > 0 {
        notes.push(format!("{} bytes preallocated", seg.preallocated_bytes));
    }
    if let Some(bad) = &seg.bad_frame {
        match seg.state {
            SegmentState::Open => notes.push(format!("open tail at byte offset {}", bad.offset)),
            SegmentState::Sealed => notes.push(format!("CORRUPT at byte offset {}", bad.offset)),
        }
    }
    SegmentRow {
        file: seg.file.clone(),
        first_lsn: seg.first_lsn.0,
        last_lsn: seg.last_lsn.map(|l: Lsn| l.0),
        entries: seg.entries,
        bytes: seg.bytes,
        state: seg.state.to_string(),
        log_id: seg.log_id.map(|id| id.to_string()),
        base: seg.base,
        preallocated_bytes: seg.preallocated_bytes,
        notes,
    }
}

fn opt(v: Option<impl ToString>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn write_summary_line(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let s = &report.summary;
    let lsns = match (s.first_lsn, s.last_lsn) {
        (Some(first), Some(last)) => format!("LSNs {first}..={last}"),
        _ => "no entries".to_string(),
    };
    writeln!(
        out,
        "log {}: {} segments, {} entries, {}, {} bytes",
        report.log_id.as_deref().unwrap_or("(no readable header)"),
        s.segments,
        s.entries,
        lsns,
        s.bytes
    )
}

fn write_table(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    write_summary_line(out, report)?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<24}  {:>10}  {:>10}  {:>8}  {:>10}  {:<6}  NOTES",
        "FILE", "FIRST LSN", "LAST LSN", "ENTRIES", "BYTES", "STATE"
    )?;
    for seg in &report.segments {
        let line = format!(
            "{:<24}  {:>10}  {:>10}  {:>8}  {:>10}  {:<6}  {}",
            seg.file,
            seg.first_lsn,
            opt(seg.last_lsn),
            seg.entries,
            seg.bytes,
            seg.state,
            seg.notes.join(", ")
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn write_records(out: &mut dyn Write, records: &[Record]) -> io::Result<()> {
    writeln!(out, "{:>10}  {:>4}  {:>8}  {:<3}  {:<24}  {:>10}", "LSN", "KIND", "SIZE", "CRC", "SEGMENT", "OFFSET")?;
    for r in records {
        let line = format!(
            "{:>10}  {:>4}  {:>8}  {:<3}  {:<24}  {:>10}  {}",
            opt(r.lsn),
            opt(r.kind),
            opt(r.size),
            r.crc,
            r.segment,
            r.offset,
            match (&r.not_an_entry, &r.what) {
                (Some(why), _) => format!("not an entry: {why}"),
                (None, Some(what)) => what.clone(),
                (None, None) => String::new(),
            }
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn write_notes_and_problems(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    if !report.notes.is_empty() {
        writeln!(out, "notes:")?;
        for note in &report.notes {
            writeln!(out, "  {note}")?;
        }
    }
    if report.problems.is_empty() {
        writeln!(out, "problems: none")
    } else {
        writeln!(out, "problems:")?;
        for p in &report.problems {
            writeln!(out, "  {}: byte offset {}: {}", p.file, p.offset, p.reason)?;
        }
        Ok(())
    }
}

/// `--verify`: each problem on its own line, notes marked as such, or one line saying all is well.
fn write_verdict(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    for p in &report.problems {
        writeln!(out, "{}: byte offset {}: {}", p.file, p.offset, p.reason)?;
    }
    for note in &report.notes {
        writeln!(out, "note: {note}")?;
    }
    if report.problems.is_empty() {
        write!(out, "ok: ")?;
        write_summary_line(out, report)
    } else {
        writeln!(out, "FAILED: {} problem(s) found", report.problems.len())
    }
}
