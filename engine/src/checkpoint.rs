//! Checkpoints: writing dirty pages to the cluster files without ever leaving a torn page,
//! and the record of which LSN the files reflect.
//!
//! # Torn-page protection: a double-write file
//! Pages reach the cluster files only here. The dirty pages, sealed with their checksums,
//! are first written together with the new checkpoint record into `doublewrite` and synced;
//! only then are they written to their places in the cluster files, which are synced; then
//! the new `checkpoint` record replaces the old one (temp file, sync, rename, directory
//! sync), and `doublewrite` is removed.
//!
//! Crash argument, by the moment of the crash:
//! - while writing `doublewrite`: its checksum fails on open, it is ignored; the cluster
//!   files were not touched, so they are exactly the old checkpoint's state;
//! - after `doublewrite` was synced: it is complete and newer than `checkpoint`, so opening
//!   writes every page from it again (a page torn in its cluster file is replaced whole)
//!   and installs its checkpoint record: the checkpoint finishes at open;
//! - after the new record is in place: `doublewrite` is not newer, it is deleted.
//!
//! So the cluster files always hold exactly one checkpoint's state, every page intact, and
//! redo from the WAL starts from a known state. We chose this over full-page images in the
//! WAL because the WAL is shipped to peers: page images would be local, node-specific
//! bytes in a replicated log. Its cost is writing each dirty page twice per checkpoint.
//!
//! A damaged double-write file (a complete one, hit by a bad sector or a flipped byte, as
//! opposed to one torn by a crash while it was written) is salvaged page by page: every
//! page carries its own checksum and identity, so each page of the file is either intact,
//! or already in its place in the cluster files (same identity, valid, and newer than the
//! old checkpoint: only this checkpoint can have written it). If every page is accounted
//! for, the checkpoint finishes as usual and redo continues from it. If not, and the
//! cluster files were not touched yet, the old checkpoint still holds and the file is
//! dropped; otherwise open refuses, naming the double-write file and what to do.
//!
//! ```text
//! checkpoint:  magic "BSLTCKPT" | version u16 = 2 | reserved u16 u32 | database id u128
//!              | LSN u64 | term u64 | digest u128 | clusters u32 | (id i32,
//!              record pages u64, position-map pages u64)* | membership length u32
//!              | membership bytes | CRC32 u32 of all before
//!   version 1 (still read): no term (0) and no membership (empty)
//! doublewrite: magic "BSLTDWB1" | record length u32 | checkpoint record | pages u64
//!              | (cluster i32, file u8 (0 records, 1 positions), reserved [3], page u64,
//!                 page bytes)* | CRC32 u32 of all before
//! ```

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::cluster::file_names;
use crate::codec::{DecodeError, DecodeResult, Reader};
use crate::error::{Error, Result};
use crate::page::{self, PAGE_SIZE};
use crate::pagefile::write_pages;
use crate::state::State;

/// File name of the checkpoint record.
pub const CHECKPOINT_FILE: &str = "checkpoint";
/// File name of the double-write file.
pub const DOUBLEWRITE_FILE: &str = "doublewrite";
const CHECKPOINT_MAGIC: [u8; 8] = *b"BSLTCKPT";
const DOUBLEWRITE_MAGIC: [u8; 8] = *b"BSLTDWB1";
const CHECKPOINT_VERSION: u16 = 2;
/// The first record version (no term, no membership); still read.
const CHECKPOINT_VERSION_V1: u16 = 1;
/// The largest membership a record may carry.
pub const MEMBERSHIP_BYTES_MAX: usize = 1 << 20;
/// Bytes of one page entry in the double-write file.
const DOUBLEWRITE_ENTRY_BYTES: usize = 16 + PAGE_SIZE;

/// What the cluster files reflect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRecord {
    /// The database.
    pub database_id: u128,
    /// Every entry up to this LSN is in the files.
    pub lsn: u64,
    /// The term of the entry at `lsn` (0 standalone).
    pub term: u64,
    /// The replication layer's membership as of `lsn` (opaque; empty if none).
    pub membership: Vec<u8>,
    /// The digest at that LSN.
    pub digest: u128,
    /// Each cluster's id and page counts (records file, position map).
    pub clusters: BTreeMap<i32, (u64, u64)>,
}

impl CheckpointRecord {
    /// The record's bytes.
    pub fn encode(&self) -> Vec<u8> {
        assert!(self.membership.len() <= MEMBERSHIP_BYTES_MAX, "membership of {} bytes", self.membership.len());
        let mut b = Vec::with_capacity(80 + 20 * self.clusters.len() + self.membership.len());
        b.extend_from_slice(&CHECKPOINT_MAGIC);
        b.extend_from_slice(&CHECKPOINT_VERSION.to_le_bytes());
        b.extend_from_slice(&[0u8; 6]);
        b.extend_from_slice(&self.database_id.to_le_bytes());
        b.extend_from_slice(&self.lsn.to_le_bytes());
        b.extend_from_slice(&self.term.to_le_bytes());
        b.extend_from_slice(&self.digest.to_le_bytes());
        b.extend_from_slice(&(self.clusters.len() as u32).to_le_bytes());
        for (id, (r, p)) in &self.clusters {
            b.extend_from_slice(&id.to_le_bytes());
            b.extend_from_slice(&r.to_le_bytes());
            b.extend_from_slice(&p.to_le_bytes());
        }
        b.extend_from_slice(&(self.membership.len() as u32).to_le_bytes());
        b.extend_from_slice(&self.membership);
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and checks a record.
    pub fn decode(bytes: &[u8]) -> DecodeResult<CheckpointRecord> {
        if bytes.len() < 4 {
            return Err(DecodeError(format!("{} bytes is too short for a checkpoint record", bytes.len())));
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        let mut c = [0u8; 4];
        c.copy_from_slice(crc);
        if crc32fast::hash(body) != u32::from_le_bytes(c) {
            return Err(DecodeError("checksum mismatch".into()));
        }
        let mut r = Reader::new(body);
        if r.array::<8>()? != CHECKPOINT_MAGIC {
            return Err(DecodeError("wrong magic bytes: not a Basalt checkpoint record".into()));
        }
        let version = u16::from_le_bytes(r.array()?);
        if version != CHECKPOINT_VERSION && version != CHECKPOINT_VERSION_V1 {
            return Err(DecodeError(format!(
                "checkpoint format {version}, this build reads {CHECKPOINT_VERSION_V1} and {CHECKPOINT_VERSION}"
            )));
        }
        r.take(6)?;
        let database_id = u128::from_le_bytes(r.array()?);
        let lsn = r.u64_le()?;
        let term = if version == CHECKPOINT_VERSION { r.u64_le()? } else { 0 };
        let digest = u128::from_le_bytes(r.array()?);
        let n = r.u32_le()? as usize;
        if n > r.remaining() / 20 {
            return Err(DecodeError(format!("{n} clusters do not fit the record")));
        }
        let mut clusters = BTreeMap::new();
        for _ in 0..n {
            let id = i32::from_le_bytes(r.array()?);
            clusters.insert(id, (r.u64_le()?, r.u64_le()?));
        }
        let mut membership = Vec::new();
        if version == CHECKPOINT_VERSION {
            let len = r.u32_le()? as usize;
            if len > MEMBERSHIP_BYTES_MAX {
                return Err(DecodeError(format!("a membership of {len} bytes is over {MEMBERSHIP_BYTES_MAX}")));
            }
            membership = r.take(len)?.to_vec();
        }
        if !r.is_empty() {
            return Err(DecodeError("stray bytes after the cluster list".into()));
        }
        Ok(CheckpointRecord { database_id, lsn, term, membership, digest, clusters })
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir, e))
}

/// Replaces `name` in `dir` durably: temp file, sync, rename, directory sync.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f =
        OpenOptions::new().write(true).create(true).truncate(true).open(&tmp).map_err(|e| Error::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
    f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, dir.join(name)).map_err(|e| Error::io(dir.join(name), e))?;
    sync_dir(dir)
}

/// Writes the record of a new database (no double-write needed: nothing to tear yet).
pub fn write_record(dir: &Path, record: &CheckpointRecord) -> Result<()> {
    write_atomically(dir, CHECKPOINT_FILE, &record.encode())
}

/// Reads the checkpoint record.
pub fn read_record(dir: &Path) -> Result<CheckpointRecord> {
    let path = dir.join(CHECKPOINT_FILE);
    let bytes = fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NoDatabase(dir.to_path_buf()),
        _ => Error::io(&path, e),
    })?;
    CheckpointRecord::decode(&bytes).map_err(|e| Error::corrupt(&path, None, e.to_string()))
}

/// A page to write: cluster, file (0 records, 1 positions), page number, sealed bytes.
type PageWrite = (i32, u8, u64, Box<[u8]>);
/// Page writes grouped by (cluster, file).
type WritesPerFile<'a> = BTreeMap<(i32, u8), Vec<(u64, &'a [u8])>>;

/// What a checkpoint writes, gathered from the state.
#[derive(Debug)]
pub struct Plan {
    /// The new record.
    pub record: CheckpointRecord,
    /// Sealed dirty pages.
    pages: Vec<PageWrite>,
    /// Clusters whose files go away once the record is durable.
    dropped: Vec<i32>,
}

/// Gathers the dirty pages and the new record (needs only read access to the state);
/// `term` and `membership` are those of the applied position.
pub fn plan(state: &State, term: u64, membership: Vec<u8>) -> Plan {
    let mut pages = Vec::new();
    let mut clusters = BTreeMap::new();
    for (id, c) in &state.clusters {
        clusters.insert(*id, c.page_counts());
        for (file_no, file) in c.files().iter().enumerate() {
            for (n, bytes) in file.sealed_dirty_pages() {
                pages.push((*id, file_no as u8, n, bytes));
            }
        }
    }
    let record = CheckpointRecord {
        database_id: state.database_id,
        lsn: state.applied_lsn.0,
        term,
        membership,
        digest: state.digest,
        clusters,
    };
    Plan { record, pages, dropped: state.dropped.keys().copied().collect() }
}

fn encode_doublewrite(record: &[u8], pages: &[PageWrite]) -> Vec<u8> {
    let mut b = Vec::with_capacity(32 + record.len() + pages.len() * (PAGE_SIZE + 16));
    b.extend_from_slice(&DOUBLEWRITE_MAGIC);
    b.extend_from_slice(&(record.len() as u32).to_le_bytes());
    b.extend_from_slice(record);
    b.extend_from_slice(&(pages.len() as u64).to_le_bytes());
    for (cluster, file, n, bytes) in pages {
        b.extend_from_slice(&cluster.to_le_bytes());
        b.push(*file);
        b.extend_from_slice(&[0u8; 3]);
        b.extend_from_slice(&n.to_le_bytes());
        b.extend_from_slice(bytes);
    }
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

fn decode_doublewrite(bytes: &[u8]) -> DecodeResult<(CheckpointRecord, Vec<PageWrite>)> {
    if bytes.len() < 4 {
        return Err(DecodeError("too short".into()));
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let mut c = [0u8; 4];
    c.copy_from_slice(crc);
    if crc32fast::hash(body) != u32::from_le_bytes(c) {
        return Err(DecodeError("checksum mismatch (an interrupted checkpoint)".into()));
    }
    let mut r = Reader::new(body);
    if r.array::<8>()? != DOUBLEWRITE_MAGIC {
        return Err(DecodeError("wrong magic bytes".into()));
    }
    let len = r.u32_le()? as usize;
    let record = CheckpointRecord::decode(r.take(len)?)?;
    let n = r.u64_le()?;
    let mut pages = Vec::new();
    for _ in 0..n {
        let cluster = i32::from_le_bytes(r.array()?);
        let file = r.u8()?;
        r.take(3)?;
        let page = r.u64_le()?;
        let bytes: Box<[u8]> = r.take(PAGE_SIZE)?.into();
        if file > 1 {
            return Err(DecodeError(format!("unknown file number {file}")));
        }
        pages.push((cluster, file, page, bytes));
    }
    if !r.is_empty() {
        return Err(DecodeError("stray bytes".into()));
    }
    Ok((record, pages))
}

/// Writes pages into their cluster files: grouped per file, each file extended to its page
/// count and synced.
fn write_to_clusters(dir: &Path, record: &CheckpointRecord, pages: &[PageWrite]) -> Result<()> {
    let mut per_file: WritesPerFile<'_> = BTreeMap::new();
    for (cluster, file, n, bytes) in pages {
        per_file.entry((*cluster, *file)).or_default().push((*n, bytes));
    }
    for ((cluster, file), writes) in per_file {
        let Some(counts) = record.clusters.get(&cluster) else { continue };
        let (pcl, cpm) = file_names(cluster);
        let (name, count) = if file == 0 { (pcl, counts.0) } else { (cpm, counts.1) };
        write_pages(&dir.join(name), count, &writes)?;
    }
    sync_dir(dir)
}

/// Runs a planned checkpoint's IO. The caller holds off applies meanwhile and afterwards
/// calls `finish` on the state.
pub fn write(dir: &Path, plan: &Plan) -> Result<()> {
    let record = plan.record.encode();
    if !plan.pages.is_empty() {
        let dw = encode_doublewrite(&record, &plan.pages);
        let path = dir.join(DOUBLEWRITE_FILE);
        let mut f =
            OpenOptions::new().write(true).create(true).truncate(true).open(&path).map_err(|e| Error::io(&path, e))?;
        f.write_all(&dw).map_err(|e| Error::io(&path, e))?;
        f.sync_all().map_err(|e| Error::io(&path, e))?;
        sync_dir(dir)?;
        write_to_clusters(dir, &plan.record, &plan.pages)?;
    }
    write_atomically(dir, CHECKPOINT_FILE, &record)?;
    remove_if_present(&dir.join(DOUBLEWRITE_FILE))?;
    for id in &plan.dropped {
        let (pcl, cpm) = file_names(*id);
        remove_if_present(&dir.join(pcl))?;
        remove_if_present(&dir.join(cpm))?;
    }
    sync_dir(dir)
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// What opening found of an interrupted checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repair {
    /// Pages rewritten from the double-write file (an interrupted checkpoint finished).
    pub pages_rewritten: usize,
    /// A double-write file that was ignored, and why.
    pub ignored_doublewrite: Option<String>,
    /// A damaged double-write file whose checkpoint was still finished, page by page: what
    /// was damaged and how every page was accounted for.
    pub salvaged_doublewrite: Option<String>,
    /// A damaged double-write file that could not be salvaged, and why: harmless if the
    /// cluster files were not touched yet (they are checked next), fatal otherwise.
    pub unsalvageable_doublewrite: Option<String>,
    /// Files left by interrupted operations that were removed.
    pub removed_files: Vec<String>,
}

/// Brings the files to one checkpoint's state: finishes an interrupted checkpoint from the
/// double-write file. Returns the record the files now reflect. Leftovers of interrupted
/// operations are removed later, by [`remove_leftovers`].
pub fn recover(dir: &Path) -> Result<(CheckpointRecord, Repair)> {
    let mut record = read_record(dir)?;
    let mut repair = Repair::default();
    let dw_path = dir.join(DOUBLEWRITE_FILE);
    let bytes = match fs::read(&dw_path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((record, repair)),
        Err(e) => return Err(Error::io(&dw_path, e)),
    };
    let finish = |dw_record: &CheckpointRecord, pages: &[PageWrite]| -> Result<()> {
        write_to_clusters(dir, dw_record, pages)?;
        write_atomically(dir, CHECKPOINT_FILE, &dw_record.encode())
    };
    match decode_doublewrite(&bytes) {
        Ok((dw_record, pages)) if dw_record.lsn > record.lsn && dw_record.database_id == record.database_id => {
            finish(&dw_record, &pages)?;
            repair.pages_rewritten = pages.len();
            record = dw_record;
        }
        Ok((dw_record, _)) if dw_record.database_id != record.database_id => {
            repair.ignored_doublewrite = Some("it belongs to another database".into())
        }
        Ok(_) => repair.ignored_doublewrite = Some("not newer than the checkpoint".into()),
        Err(damage) => match salvage(dir, &record, &bytes) {
            Ok((dw_record, pages, in_place)) => {
                finish(&dw_record, &pages)?;
                repair.pages_rewritten = pages.len();
                repair.salvaged_doublewrite =
                    Some(format!("{damage}; {in_place} damaged pages were already in place, the rest intact"));
                record = dw_record;
            }
            Err(why) => {
                // Torn while it was written (the cluster files are untouched: it is
                // dropped once they verify), or damaged after the cluster files were
                // touched (then open refuses and the file stays for the operator).
                repair.ignored_doublewrite = Some(damage.to_string());
                repair.unsalvageable_doublewrite = Some(format!("{damage}: {why}"));
                return Ok((record, repair));
            }
        },
    }
    remove_if_present(&dw_path)?;
    Ok((record, repair))
}

/// The cluster file and page a double-write entry's page belongs to, read from the page
/// itself: (cluster, file (0 records, 1 positions), page number).
fn page_identity(page: &[u8]) -> (i32, u8, u64) {
    let page_no = crate::codec::le_u64(page, 16);
    let cluster = crate::codec::le_u32(page, 24) as i32;
    let file = match page::kind(page) {
        Some(page::PageKind::PositionMap) => 1,
        Some(page::PageKind::FileHeader) if crate::codec::le_u16(page, 40) == 2 => 1,
        _ => 0,
    };
    (cluster, file, page_no)
}

/// Recovers an interrupted checkpoint from a damaged double-write file, page by page (see
/// the module docs). Returns the new record, the intact pages to write, and how many
/// damaged pages were found already in place; or why that is not possible.
fn salvage(
    dir: &Path,
    old: &CheckpointRecord,
    bytes: &[u8],
) -> std::result::Result<(CheckpointRecord, Vec<PageWrite>, usize), String> {
    let mut r = Reader::new(bytes);
    let head = |e: DecodeError| format!("its header is unreadable: {e}");
    if r.array::<8>().map_err(head)? != DOUBLEWRITE_MAGIC {
        return Err("wrong magic bytes".into());
    }
    let len = r.u32_le().map_err(head)? as usize;
    let record = CheckpointRecord::decode(r.take(len).map_err(head)?).map_err(|e| format!("its record: {e}"))?;
    if record.database_id != old.database_id || record.lsn <= old.lsn {
        return Err("its record is not a newer checkpoint of this database".into());
    }
    let n = r.u64_le().map_err(head)?;
    if (r.remaining() as u64).checked_sub(4) != n.checked_mul(DOUBLEWRITE_ENTRY_BYTES as u64) {
        return Err(format!("{} bytes do not hold the {n} pages it announces", r.remaining()));
    }
    let mut pages = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut in_place = 0;
    for i in 0..n {
        let entry = r.take(DOUBLEWRITE_ENTRY_BYTES).map_err(head)?;
        let cluster = i32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
        let (file, page_no) = (entry[4], u64::from_le_bytes(entry[8..16].try_into().unwrap_or_default()));
        let bytes = &entry[16..];
        let id = (cluster, file, page_no);
        let count = record.clusters.get(&cluster).map(|c| if file == 0 { c.0 } else { c.1 });
        if file > 1 || count.is_none_or(|c| page_no >= c) || page_identity(bytes) != id || !seen.insert(id) {
            return Err(format!("page entry {i} names no page of the checkpoint it belongs to"));
        }
        if page::check(bytes, page_no, cluster).is_ok() {
            pages.push((cluster, file, page_no, Box::<[u8]>::from(bytes)));
            continue;
        }
        // Damaged here: it must already be in its place, written by this very checkpoint.
        let (pcl, cpm) = file_names(cluster);
        let path = dir.join(if file == 0 { pcl } else { cpm });
        let mut found = vec![0u8; PAGE_SIZE];
        let placed = File::open(&path)
            .and_then(|f| std::os::unix::fs::FileExt::read_exact_at(&f, &mut found, page_no * PAGE_SIZE as u64))
            .is_ok()
            && page::check(&found, page_no, cluster).is_ok()
            && page::lsn(&found) > old.lsn
            && page::lsn(&found) <= record.lsn;
        if !placed {
            return Err(format!(
                "page {page_no} of {} is damaged there and not yet in its place",
                path.file_name().map(|f| f.to_string_lossy()).unwrap_or_default()
            ));
        }
        in_place += 1;
    }
    Ok((record, pages, in_place))
}

/// The error to give when the cluster files do not match the checkpoint after a damaged
/// double-write file could not be salvaged: the interrupted checkpoint had begun rewriting
/// them, so they hold neither checkpoint's state. Names the double-write file and what to
/// do; nothing is deleted. Any other error passes through.
pub fn explain_damaged_doublewrite(dir: &Path, repair: &Repair, e: Error) -> Error {
    let Some(why) = &repair.unsalvageable_doublewrite else { return e };
    Error::corrupt(
        dir.join(DOUBLEWRITE_FILE),
        None,
        format!(
            "the double-write file of an interrupted checkpoint is damaged ({why}), and that checkpoint \
             had already begun rewriting the cluster files ({e}), so they hold neither checkpoint's state. \
             Nothing was changed. Restore the database from a backup (in a cluster: remove it and let it \
             resync from a peer); keep the double-write file for diagnosis"
        ),
    )
}

/// Removes what interrupted operations left beside the files `record` names: the files of
/// clusters it does not list (a class dropped before the checkpoint, whose files were being
/// deleted) and temporary files. The caller runs this only once the cluster files and the
/// schema were found to agree with `record`: a file a damaged record or schema fails to
/// list may hold data, and a refused open deletes nothing.
pub fn remove_leftovers(dir: &Path, record: &CheckpointRecord, repair: &mut Repair) -> Result<()> {
    if repair.unsalvageable_doublewrite.is_some() {
        // The cluster files verified against the old checkpoint: the damaged double-write
        // file never reached them.
        remove_if_present(&dir.join(DOUBLEWRITE_FILE))?;
        repair.removed_files.push(DOUBLEWRITE_FILE.to_string());
    }
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        let orphan = match cluster_id_of(&name) {
            Some(id) => !record.clusters.contains_key(&id),
            None => name.ends_with(".tmp"),
        };
        if orphan {
            remove_if_present(&entry.path())?;
            repair.removed_files.push(name);
        }
    }
    repair.removed_files.sort();
    if !repair.removed_files.is_empty() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// The cluster id named by a cluster file name.
fn cluster_id_of(name: &str) -> Option<i32> {
    let stem = name.strip_suffix(".pcl").or_else(|| name.strip_suffix(".cpm"))?;
    stem.strip_prefix("cluster")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_catch_damage() {
        let mut clusters = BTreeMap::new();
        clusters.insert(0, (2, 2));
        clusters.insert(9, (100, 3));
        let r = CheckpointRecord { database_id: 42, lsn: 7, term: 3, membership: b"m".to_vec(), digest: 99, clusters };
        let b = r.encode();
        assert_eq!(CheckpointRecord::decode(&b).unwrap(), r);
        for i in 0..b.len() {
            let mut d = b.clone();
            d[i] ^= 1;
            assert!(CheckpointRecord::decode(&d).is_err(), "flip at {i}");
        }
        assert!(CheckpointRecord::decode(&b[..b.len() - 1]).is_err());
    }

    #[test]
    fn cluster_file_names_are_recognised() {
        assert_eq!(cluster_id_of("cluster9.pcl"), Some(9));
        assert_eq!(cluster_id_of("cluster12.cpm"), Some(12));
        assert_eq!(cluster_id_of("checkpoint"), None);
    }
}
