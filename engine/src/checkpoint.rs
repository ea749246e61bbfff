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
//! ```text
//! checkpoint:  magic "BSLTCKPT" | version u16 = 1 | reserved u16 u32 | database id u128
//!              | LSN u64 | digest u128 | clusters u32 | (id i32, record pages u64,
//!              position-map pages u64)* | CRC32 u32 of all before
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
use crate::page::PAGE_SIZE;
use crate::pagefile::write_pages;
use crate::state::State;

/// File name of the checkpoint record.
pub const CHECKPOINT_FILE: &str = "checkpoint";
/// File name of the double-write file.
pub const DOUBLEWRITE_FILE: &str = "doublewrite";
const CHECKPOINT_MAGIC: [u8; 8] = *b"BSLTCKPT";
const DOUBLEWRITE_MAGIC: [u8; 8] = *b"BSLTDWB1";
const CHECKPOINT_VERSION: u16 = 1;

/// What the cluster files reflect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRecord {
    /// The database.
    pub database_id: u128,
    /// Every entry up to this LSN is in the files.
    pub lsn: u64,
    /// The digest at that LSN.
    pub digest: u128,
    /// Each cluster's id and page counts (records file, position map).
    pub clusters: BTreeMap<i32, (u64, u64)>,
}

impl CheckpointRecord {
    /// The record's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(64 + 20 * self.clusters.len());
        b.extend_from_slice(&CHECKPOINT_MAGIC);
        b.extend_from_slice(&CHECKPOINT_VERSION.to_le_bytes());
        b.extend_from_slice(&[0u8; 6]);
        b.extend_from_slice(&self.database_id.to_le_bytes());
        b.extend_from_slice(&self.lsn.to_le_bytes());
        b.extend_from_slice(&self.digest.to_le_bytes());
        b.extend_from_slice(&(self.clusters.len() as u32).to_le_bytes());
        for (id, (r, p)) in &self.clusters {
            b.extend_from_slice(&id.to_le_bytes());
            b.extend_from_slice(&r.to_le_bytes());
            b.extend_from_slice(&p.to_le_bytes());
        }
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
        if version != CHECKPOINT_VERSION {
            return Err(DecodeError(format!("checkpoint format {version}, this build reads {CHECKPOINT_VERSION}")));
        }
        r.take(6)?;
        let database_id = u128::from_le_bytes(r.array()?);
        let lsn = r.u64_le()?;
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
        if !r.is_empty() {
            return Err(DecodeError("stray bytes after the cluster list".into()));
        }
        Ok(CheckpointRecord { database_id, lsn, digest, clusters })
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

/// Gathers the dirty pages and the new record (needs only read access to the state).
pub fn plan(state: &State) -> Plan {
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
    let record =
        CheckpointRecord { database_id: state.database_id, lsn: state.applied_lsn.0, digest: state.digest, clusters };
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
    match fs::read(&dw_path) {
        Ok(bytes) => {
            match decode_doublewrite(&bytes) {
                Ok((dw_record, pages)) if dw_record.lsn > record.lsn && dw_record.database_id == record.database_id => {
                    write_to_clusters(dir, &dw_record, &pages)?;
                    write_atomically(dir, CHECKPOINT_FILE, &dw_record.encode())?;
                    repair.pages_rewritten = pages.len();
                    record = dw_record;
                }
                Ok((dw_record, _)) if dw_record.database_id != record.database_id => {
                    repair.ignored_doublewrite = Some("it belongs to another database".into())
                }
                Ok(_) => repair.ignored_doublewrite = Some("not newer than the checkpoint".into()),
                Err(e) => repair.ignored_doublewrite = Some(e.to_string()),
            }
            remove_if_present(&dw_path)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&dw_path, e)),
    }
    Ok((record, repair))
}

/// Removes what interrupted operations left beside the files `record` names: the files of
/// clusters it does not list (a class dropped before the checkpoint, whose files were being
/// deleted) and temporary files. The caller runs this only once the cluster files and the
/// schema were found to agree with `record`: a file a damaged record or schema fails to
/// list may hold data, and a refused open deletes nothing.
pub fn remove_leftovers(dir: &Path, record: &CheckpointRecord, repair: &mut Repair) -> Result<()> {
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
        let r = CheckpointRecord { database_id: 42, lsn: 7, digest: 99, clusters };
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
