//! A file of pages: read through a memory map, changed only in memory until a checkpoint.
//!
//! Pages changed since the last checkpoint live in an in-memory overlay ("dirty pages");
//! readers look there first, then in the map. Nothing is written to the file between
//! checkpoints, so the file on disk is always exactly the state of the last checkpoint, the
//! kernel never writes back a half-applied change, and a mapped page never holds a change
//! the WAL lacks. The checkpoint (`checkpoint.rs`) writes the dirty pages through the
//! double-write file, then [`PageFile::finish_checkpoint`] drops the overlay and remaps.
//!
//! While a log entry is applied, the first change to each page saves the page's prior state,
//! so a failed entry is rolled back page by page ([`PageFile::rollback`]).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::mmap::ReadMap;
use crate::page::{self, PAGE_SIZE};

/// A hasher for page numbers: they are already well spread, one multiply suffices.
#[derive(Default)]
pub struct PageHasher(u64);

impl Hasher for PageHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by page number.
pub type PageMap<V> = HashMap<u64, V, BuildHasherDefault<PageHasher>>;

/// Pages saved for rolling back the entry being applied.
#[derive(Debug, Default)]
struct Undo {
    /// True between `begin` and `commit`/`rollback`.
    active: bool,
    /// Page count when the entry began.
    pages_before: u64,
    /// For each page changed: its overlay copy before the change (`None`: it was clean).
    saved: PageMap<Option<Box<[u8]>>>,
}

/// One cluster file's pages.
#[derive(Debug)]
pub struct PageFile {
    /// The file's path (for errors and for the checkpoint writer).
    path: PathBuf,
    /// The cluster the file belongs to (every page header names it).
    cluster: i32,
    /// The map of the pages on disk.
    map: ReadMap,
    /// Pages in the file on disk (all mapped).
    disk_pages: u64,
    /// Pages in the file as the engine sees it (disk pages plus new ones in the overlay).
    pages: u64,
    /// Pages changed since the last checkpoint.
    dirty: PageMap<Box<[u8]>>,
    /// Rollback state of the entry being applied.
    undo: Undo,
}

impl PageFile {
    /// A file that exists only in memory until the next checkpoint writes it.
    pub fn new_in_memory(path: PathBuf, cluster: i32) -> PageFile {
        PageFile {
            path,
            cluster,
            map: ReadMap::default(),
            disk_pages: 0,
            pages: 0,
            dirty: PageMap::default(),
            undo: Undo::default(),
        }
    }

    /// Opens and maps an existing file that must hold exactly `pages` pages.
    pub fn open(path: PathBuf, cluster: i32, pages: u64) -> Result<PageFile> {
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        let expected = pages * PAGE_SIZE as u64;
        if len != expected {
            return Err(Error::corrupt(
                &path,
                None,
                format!(
                    "file is {len} bytes, the checkpoint says {pages} pages ({expected} bytes){}",
                    if len % PAGE_SIZE as u64 != 0 { ": truncated or torn" } else { "" }
                ),
            ));
        }
        let map = ReadMap::new(&file, len).map_err(|e| Error::io(&path, e))?;
        Ok(PageFile { path, cluster, map, disk_pages: pages, pages, dirty: PageMap::default(), undo: Undo::default() })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Pages in the file (including pages not yet written).
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// Number of dirty pages.
    pub fn dirty_count(&self) -> usize {
        self.dirty.len()
    }

    /// A page's bytes. The page must exist.
    pub fn page(&self, n: u64) -> &[u8] {
        assert!(n < self.pages, "page {n} of {} read past the end ({} pages)", self.path.display(), self.pages);
        if !self.dirty.is_empty() {
            if let Some(p) = self.dirty.get(&n) {
                return p;
            }
        }
        let at = n as usize * PAGE_SIZE;
        &self.map.bytes()[at..at + PAGE_SIZE]
    }

    /// A page for changing; copies it into the overlay (saving its prior state while an
    /// entry is being applied).
    pub fn page_mut(&mut self, n: u64) -> &mut [u8] {
        assert!(n < self.pages, "page {n} of {} written past the end", self.path.display());
        if self.undo.active && n < self.undo.pages_before && !self.undo.saved.contains_key(&n) {
            let prior = self.dirty.get(&n).cloned();
            self.undo.saved.insert(n, prior);
        }
        if !self.dirty.contains_key(&n) {
            let at = n as usize * PAGE_SIZE;
            let copy: Box<[u8]> = self.map.bytes()[at..at + PAGE_SIZE].into();
            self.dirty.insert(n, copy);
        }
        match self.dirty.get_mut(&n) {
            Some(p) => p,
            None => unreachable!("inserted above"),
        }
    }

    /// Adds a zeroed page at the end and returns its number.
    pub fn allocate(&mut self) -> u64 {
        let n = self.pages;
        self.pages += 1;
        self.dirty.insert(n, vec![0u8; PAGE_SIZE].into_boxed_slice());
        n
    }

    /// Starts recording prior page states for a rollback.
    pub fn begin(&mut self) {
        self.undo.active = true;
        self.undo.pages_before = self.pages;
        self.undo.saved.clear();
    }

    /// Forgets the recorded states: the entry is applied.
    pub fn commit(&mut self) {
        self.undo.active = false;
        self.undo.saved.clear();
    }

    /// Puts every page back as it was at `begin`; returns the pages that changed (for the
    /// caller's derived structures).
    pub fn rollback(&mut self) -> Vec<u64> {
        let mut touched: Vec<u64> = self.undo.saved.keys().copied().collect();
        for (n, prior) in self.undo.saved.drain() {
            match prior {
                Some(p) => {
                    self.dirty.insert(n, p);
                }
                None => {
                    self.dirty.remove(&n);
                }
            }
        }
        let before = self.undo.pages_before;
        self.dirty.retain(|n, _| *n < before);
        self.pages = before;
        self.undo.active = false;
        touched.sort_unstable();
        touched
    }

    /// Copies of the dirty pages, sealed with their checksums, in page order: what the
    /// checkpoint writes.
    pub fn sealed_dirty_pages(&self) -> Vec<(u64, Box<[u8]>)> {
        let mut out: Vec<(u64, Box<[u8]>)> = self
            .dirty
            .iter()
            .map(|(n, p)| {
                let mut copy = p.clone();
                page::seal(&mut copy);
                (*n, copy)
            })
            .collect();
        out.sort_unstable_by_key(|(n, _)| *n);
        out
    }

    /// After a checkpoint wrote every dirty page to the file: drop the overlay and map the
    /// file at its new length.
    pub fn finish_checkpoint(&mut self) -> Result<()> {
        assert!(!self.undo.active, "checkpoint during an apply");
        if self.pages != self.disk_pages || self.map.bytes().is_empty() {
            let file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
            self.map = ReadMap::new(&file, self.pages * PAGE_SIZE as u64).map_err(|e| Error::io(&self.path, e))?;
            self.disk_pages = self.pages;
        }
        self.dirty.clear();
        Ok(())
    }

    /// Checks every page on disk with `check` (page number, bytes), stopping at the first
    /// failure with an error naming the file and page.
    pub fn verify(&self, mut check: impl FnMut(u64, &[u8]) -> Result<(), String>) -> Result<()> {
        for n in 0..self.disk_pages {
            let at = n as usize * PAGE_SIZE;
            let p = &self.map.bytes()[at..at + PAGE_SIZE];
            let kind = page::check(p, n, self.cluster).map_err(|r| Error::corrupt(&self.path, Some(n), r))?;
            if n == 0 && kind != page::PageKind::FileHeader {
                return Err(Error::corrupt(&self.path, Some(0), "page 0 is not a file header"));
            }
            check(n, p).map_err(|r| Error::corrupt(&self.path, Some(n), r))?;
        }
        Ok(())
    }
}

/// Writes pages into a cluster file (creating it if needed) at a checkpoint, extends it to
/// `pages` pages, and syncs it. Used by the checkpoint and by double-write replay.
pub fn write_pages(path: &Path, pages: u64, writes: &[(u64, &[u8])]) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let len = pages * PAGE_SIZE as u64;
    if file.metadata().map_err(|e| Error::io(path, e))?.len() < len {
        file.set_len(len).map_err(|e| Error::io(path, e))?;
    }
    for (n, bytes) in writes {
        assert_eq!(bytes.len(), PAGE_SIZE);
        assert!(*n < pages, "writing page {n} past the end of {}", path.display());
        file.write_all_at(bytes, n * PAGE_SIZE as u64).map_err(|e| Error::io(path, e))?;
    }
    file.sync_all().map_err(|e| Error::io(path, e))?;
    Ok(())
}
