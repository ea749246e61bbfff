//! Point-in-time restore: `basalt-snapshot restore FILE --home H --until LSN|TIME [--archive DIR]`.
//!
//! The snapshot is installed into the staging directory as for a plain restore (checked whole
//! before anything else happens); then the archived WAL segments (`[wal] archive`, one folder
//! per database) are read from the snapshot's LSN on, and exactly the entries after it up to
//! the bound are written into the staged database's WAL, which the engine redoes when it
//! opens it, as after a crash. Nothing past the bound is ever written. The database is then
//! checkpointed, its digest recomputed, and only then moved into place.
//!
//! The bound is an LSN (inclusive), or a time: the last transaction whose commit time
//! (`TxEntry::commit_time_us`, the forming node's clock) is at or before it, and every entry
//! before that one. Refused, before anything is installed: a bound before the snapshot, an
//! archive with a gap after the snapshot's LSN (the missing LSN range is named), an archive
//! that ends before an LSN bound, archived segments of another database, a damaged archived
//! segment, and a time bound over entries that carry no commit time (written by a build
//! before commit times).

use std::fs;
use std::path::{Path, PathBuf};

use basalt_engine::entry::{BATCH_KIND, ENTRY_KIND};
use basalt_engine::snapshot_file::Header;
use basalt_engine::{Database, Options};
use basalt_wal::format::{self, HEADER_BYTES};
use basalt_wal::{segment, DiskStorage, Entry, LogId, Lsn, NewEntry, Storage, Wal, WalOptions};
use serde::Serialize;

use crate::time::{format_time_us, Bound};

/// Entries written to the staged WAL per batch (each batch is one group commit).
const REPLAY_BATCH_ENTRIES: usize = 1024;
/// Payload bytes written to the staged WAL per batch, at most (roughly).
const REPLAY_BATCH_BYTES: usize = 16 << 20;

/// What a point-in-time restore did, for the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PitrReport {
    /// The bound asked for.
    pub until: Bound,
    /// The snapshot's LSN, where replay started after.
    pub snapshot_lsn: u64,
    /// The LSN the database was restored to.
    pub restored_lsn: u64,
    /// The commit time of the last transaction replayed (RFC 3339), if any was.
    pub restored_time: Option<String>,
    /// Entries replayed from the archive.
    pub entries_replayed: u64,
    /// The archive folder read.
    pub archive: PathBuf,
    /// Something the operator should know (a time bound past the end of the archive).
    pub note: Option<String>,
}

/// One archived segment file.
#[derive(Debug, Clone)]
struct Archived {
    /// Its first LSN.
    first: Lsn,
    /// Its last LSN (`first - 1` if it holds none).
    last: Lsn,
    /// Its file name.
    name: String,
}

/// The archive folder of database `db` under `dir` (the `[wal] archive` root), or `dir`
/// itself when it holds segments directly.
pub fn archive_folder(dir: &Path, db: &str) -> PathBuf {
    let per_db = dir.join(db);
    if per_db.is_dir() {
        per_db
    } else {
        dir.to_path_buf()
    }
}

/// The `[wal] archive` setting of a home's `config/basalt.toml`, resolved against the home.
pub fn configured_archive(home: &Path) -> Result<Option<PathBuf>, String> {
    let path = home.join("config").join("basalt.toml");
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let table: toml::Table = text.parse().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(table.get("wal").and_then(|w| w.get("archive")).and_then(|a| a.as_str()).map(|a| home.join(a)))
}

/// Lists and checks the archived segments of log `log_id` in `folder`, oldest first. Every
/// segment is read whole (each frame's CRC and LSN): a damaged one is an error naming it.
fn list_archive(folder: &Path, log_id: LogId) -> Result<Vec<Archived>, String> {
    let storage = DiskStorage::existing(folder);
    let names = storage.list().map_err(|e| format!("the WAL archive {}: {e}", folder.display()))?;
    let mut firsts: Vec<(Lsn, String)> =
        names.into_iter().filter_map(|n| format::parse_segment_file_name(&n).map(|l| (l, n))).collect();
    firsts.sort();
    let mut out = Vec::new();
    for (first, name) in firsts {
        let path = folder.join(&name);
        let file = storage.open_read(&name).map_err(|e| format!("{}: {e}", path.display()))?;
        let header = segment::read_header(file.as_ref()).map_err(|e| format!("{}: {e}", path.display()))?;
        let header = header.map_err(|p| format!("{}: bad segment header: {p}", path.display()))?;
        if header.log_id != log_id {
            return Err(format!(
                "{}: belongs to log {}, the snapshot's database is log {log_id}: the archive folder mixes databases \
                 (a database of the same name dropped and created again?); move the other log's segments away",
                path.display(),
                header.log_id
            ));
        }
        let len = file.len().map_err(|e| format!("{}: {e}", path.display()))?;
        let summary =
            segment::scan(file.as_ref(), first, len, |_, _, _| {}).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some((offset, problem)) = summary.problem {
            return Err(format!("{}: damaged archived segment at byte offset {offset}: {problem}", path.display()));
        }
        debug_assert!(summary.valid_end >= HEADER_BYTES as u64);
        out.push(Archived { first, last: summary.last_lsn.unwrap_or(first.prev()), name });
    }
    Ok(out)
}

/// The archived segments that hold `from..=to`, in order, or the first LSN range missing.
/// `to = None`: as far as the archive reaches without a gap (never an error).
fn chain(segments: &[Archived], from: Lsn, to: Option<Lsn>) -> Result<Vec<Archived>, (Lsn, Option<Lsn>)> {
    let mut out = Vec::new();
    let mut next = from;
    for s in segments {
        if s.last < next {
            continue; // Wholly before what is needed (or empty).
        }
        if to.is_some_and(|t| next > t) {
            break;
        }
        if s.first > next {
            if to.is_none() {
                break; // Open-ended: the caller decides whether the gap matters.
            }
            return Err((next, Some(s.first.prev())));
        }
        out.push(s.clone());
        next = s.last.next();
    }
    match to {
        Some(t) if next <= t => Err((next, None)),
        _ => Ok(out),
    }
}

/// Reads the entries of `segments` with `from <= LSN <= to`, in order, calling `visit` for
/// each; `visit` returns false to stop.
fn read_entries(
    folder: &Path,
    segments: &[Archived],
    from: Lsn,
    to: Lsn,
    mut visit: impl FnMut(Entry) -> Result<bool, String>,
) -> Result<(), String> {
    let storage = DiskStorage::existing(folder);
    for s in segments {
        let path = folder.join(&s.name);
        let file = storage.open_read(&s.name).map_err(|e| format!("{}: {e}", path.display()))?;
        let len = file.len().map_err(|e| format!("{}: {e}", path.display()))?;
        // One segment's entries at a time: bounded by the segment size.
        let mut entries = Vec::new();
        segment::scan(file.as_ref(), s.first, len, |_, h, payload| {
            if h.lsn >= from && h.lsn <= to {
                entries.push(Entry { lsn: h.lsn, term: h.term, kind: h.kind, payload: payload.to_vec() });
            }
        })
        .map_err(|e| format!("{}: {e}", path.display()))?;
        for e in entries {
            if !visit(e)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

fn gap_message(folder: &Path, snapshot_lsn: u64, missing: (Lsn, Option<Lsn>), bound: &str) -> String {
    match missing {
        (from, Some(to)) => format!(
            "the WAL archive {} has a gap: LSNs {from}..={to} are missing (needed to go from the snapshot's LSN \
             {snapshot_lsn} to {bound}); nothing was restored. Find those segments (another node's archive, the \
             server's own wal/ folder), or restore from a snapshot taken after LSN {to}",
            folder.display()
        ),
        (from, None) => format!(
            "the WAL archive {} ends at LSN {}: LSNs from {from} on, needed to reach {bound}, are not archived (yet: \
             the server archives a segment once it is sealed and committed); nothing was restored",
            folder.display(),
            from.prev()
        ),
    }
}

/// Resolves the bound to the LSN to restore to, with the commit time of the last
/// transaction up to it, and a note if the archive may not hold everything before a time.
fn resolve(
    folder: &Path,
    segments: &[Archived],
    header: &Header,
    until: Bound,
) -> Result<(Lsn, Option<u64>, Option<String>), String> {
    let snap = Lsn(header.lsn);
    match until {
        Bound::Lsn(l) if l < snap.0 => Err(format!(
            "--until LSN {l} is before the snapshot's LSN {}: restore from an older snapshot (nothing was restored)",
            snap.0
        )),
        Bound::Lsn(l) => {
            chain(segments, snap.next(), Some(Lsn(l)))
                .map_err(|m| gap_message(folder, snap.0, m, &format!("LSN {l}")))?;
            Ok((Lsn(l), None, None))
        }
        Bound::TimeUs(t) => resolve_time(folder, segments, header, t),
    }
}

fn resolve_time(
    folder: &Path,
    segments: &[Archived],
    header: &Header,
    t: u64,
) -> Result<(Lsn, Option<u64>, Option<String>), String> {
    let snap = Lsn(header.lsn);
    let when = format_time_us(t);
    // The snapshot's own last transaction, if the archive still holds it, must not be after t.
    let holding = segments.iter().filter(|s| s.first <= snap && snap <= s.last).cloned().collect::<Vec<_>>();
    let mut snap_time = None;
    read_entries(folder, &holding, Lsn(1), snap, |e| {
        if e.kind == ENTRY_KIND || e.kind == BATCH_KIND {
            snap_time = crate::entries::commit_time(e.kind.0, &e.payload).or(snap_time);
        }
        Ok(true)
    })?;
    let created_us = header.created_unix_ms.saturating_mul(1000);
    match snap_time {
        Some(st) if st > t => {
            return Err(format!(
                "--until {when} is before the snapshot: its LSN {} was committed at {}; restore from an older snapshot \
                 (nothing was restored)",
                snap.0,
                format_time_us(st)
            ))
        }
        None if t < created_us => {
            return Err(format!(
                "--until {when} is before the snapshot was taken ({}), and the archive no longer holds its last entry \
                 to tell when that was committed: restore from an older snapshot, or give an LSN (nothing was restored)",
                format_time_us(created_us)
            ))
        }
        _ => {}
    }
    let reach = chain(segments, snap.next(), None).map_err(|m| gap_message(folder, snap.0, m, &when))?;
    let mut last = (snap, snap_time);
    let mut passed = false;
    read_entries(folder, &reach, snap.next(), Lsn::END, |e| {
        if e.kind != ENTRY_KIND && e.kind != BATCH_KIND {
            return Ok(true);
        }
        match crate::entries::commit_time(e.kind.0, &e.payload) {
            None => Err(format!(
                "entry {} in the archive has no commit time (written by a build before commit times): restore \
                 --until an LSN instead (wal-inspect --records lists the entries)",
                e.lsn
            )),
            Some(ct) if ct <= t => {
                last = (e.lsn, Some(ct));
                Ok(true)
            }
            Some(_) => {
                passed = true;
                Ok(false)
            }
        }
    })?;
    // A gap right after the archive's end is only known once an entry after `t` is seen.
    let end = reach.last().map_or(snap, |s| s.last);
    let note = (!passed).then(|| {
        format!(
            "the archive ends at LSN {end} before any entry committed after {when}: later entries committed by then, \
             if any, were not archived yet and are not restored"
        )
    });
    if let (false, Some(next)) = (passed, segments.iter().find(|s| s.first > end.next())) {
        return Err(gap_message(folder, snap.0, (end.next(), Some(next.first.prev())), &when));
    }
    Ok((last.0, last.1, note))
}

/// Replays archived entries after the snapshot's LSN up to `until` into the database staged
/// in `dir` (installed from the snapshot, closed), then opens it (the engine redoes them),
/// checkpoints it and updates `header` to the new LSN and digest. Shows its progress on
/// standard error unless `quiet`.
pub fn replay_into(
    dir: &Path,
    header: &mut Header,
    archive: &Path,
    until: Bound,
    quiet: bool,
) -> Result<PitrReport, String> {
    let log_id = LogId(basalt_engine::snapshot_file::parse_hex_u128(&header.database_id)?);
    let folder = archive_folder(archive, &header.database);
    if !folder.is_dir() {
        return Err(format!("the WAL archive {} does not exist or is not a directory", folder.display()));
    }
    let segments = list_archive(&folder, log_id)?;
    let (to, restored_time, note) = resolve(&folder, &segments, header, until)?;
    let snap = Lsn(header.lsn);
    let needed = if to > snap { chain(&segments, snap.next(), Some(to)).unwrap_or_default() } else { Vec::new() };
    let replayed = write_entries(dir, log_id, &folder, &needed, snap, to, quiet)?;
    if !quiet && replayed > 0 {
        eprintln!("redoing {replayed} archived entries (LSN {} to {to}) into the restored database", snap.next());
    }
    let (db, _) = Database::open(dir, Options::default())
        .map_err(|e| format!("the restored database does not open after replaying the archive: {e}"))?;
    let applied = db.snapshot().applied_lsn();
    if applied != to {
        return Err(format!("replaying the archive reached LSN {applied}, not LSN {to}: nothing was restored"));
    }
    db.checkpoint().map_err(|e| format!("checkpointing the restored database: {e}"))?;
    let digest = db.snapshot().full_digest().map_err(|e| format!("the restored records cannot be read: {e}"))?;
    {
        let snap_view = db.snapshot();
        for class in snap_view.schema().classes.values() {
            header.classes.insert(class.name.clone(), snap_view.count(&class.name, false).unwrap_or(0));
        }
    }
    db.close().map_err(|e| e.to_string())?;
    header.lsn = to.0;
    header.digest = digest.hex();
    Ok(PitrReport {
        until,
        snapshot_lsn: snap.0,
        restored_lsn: to.0,
        restored_time: restored_time.map(format_time_us),
        entries_replayed: replayed,
        archive: folder,
        note,
    })
}

/// Writes the archived entries `snap+1..=to` into the staged database's WAL, with their terms
/// and kinds, in batches; returns how many.
fn write_entries(
    dir: &Path,
    log_id: LogId,
    folder: &Path,
    needed: &[Archived],
    snap: Lsn,
    to: Lsn,
    quiet: bool,
) -> Result<u64, String> {
    if to <= snap {
        return Ok(0);
    }
    let expected = to.0 - snap.0;
    let mut progress = crate::progress::Progress::count("replaying the WAL archive", expected, "entries", quiet);
    let wal_dir = dir.join(basalt_engine::WAL_DIR);
    let storage = DiskStorage::create_dir(&wal_dir).map_err(|e| format!("{}: {e}", wal_dir.display()))?;
    let options = WalOptions { first_lsn: snap.next(), ..WalOptions::new(log_id) };
    let (wal, _) = Wal::open(std::sync::Arc::new(storage), options).map_err(|e| e.to_string())?;
    let last = wal.status().last_lsn;
    if last != snap {
        return Err(format!("the restored database's log ends at LSN {last}, not at the snapshot's LSN {snap}"));
    }
    let mut batch: Vec<Entry> = Vec::new();
    let mut bytes = 0usize;
    let mut written = 0u64;
    let mut flush = |batch: &mut Vec<Entry>, written: &mut u64| -> Result<(), String> {
        let entries: Vec<NewEntry<'_>> =
            batch.iter().map(|e| NewEntry { lsn: e.lsn, term: e.term, kind: e.kind, payload: &e.payload }).collect();
        wal.write_entries(&entries).and_then(|d| d.wait()).map_err(|e| format!("writing the replayed entries: {e}"))?;
        *written += batch.len() as u64;
        batch.clear();
        progress.set(*written);
        Ok(())
    };
    read_entries(folder, needed, snap.next(), to, |e| {
        bytes += e.payload.len();
        batch.push(e);
        if batch.len() >= REPLAY_BATCH_ENTRIES || bytes >= REPLAY_BATCH_BYTES {
            flush(&mut batch, &mut written)?;
            bytes = 0;
        }
        Ok(true)
    })?;
    if !batch.is_empty() {
        flush(&mut batch, &mut written)?;
    }
    progress.finish();
    wal.close().map_err(|e| e.to_string())?;
    if written != expected {
        return Err(format!("the archive gave {written} entries where LSNs {}..={to} are {expected}", snap.next()));
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(first: u64, last: u64) -> Archived {
        Archived { first: Lsn(first), last: Lsn(last), name: format::segment_file_name(Lsn(first)) }
    }

    #[test]
    fn chains_name_the_missing_range() {
        let segs = [seg(1, 10), seg(11, 20), seg(31, 40)];
        assert_eq!(chain(&segs, Lsn(5), Some(Lsn(20))).unwrap().len(), 2);
        assert_eq!(chain(&segs, Lsn(12), Some(Lsn(15))).unwrap().len(), 1);
        assert_eq!(chain(&segs, Lsn(5), Some(Lsn(35))).unwrap_err(), (Lsn(21), Some(Lsn(30))));
        assert_eq!(chain(&segs, Lsn(31), Some(Lsn(45))).unwrap_err(), (Lsn(41), None));
        assert_eq!(chain(&segs[1..], Lsn(3), Some(Lsn(12))).unwrap_err(), (Lsn(3), Some(Lsn(10))));
        // Open-ended: as far as it reaches.
        assert_eq!(chain(&segs, Lsn(1), None).unwrap().len(), 2);
        assert!(chain(&segs, Lsn(21), Some(Lsn(20))).unwrap().is_empty());
    }
}
