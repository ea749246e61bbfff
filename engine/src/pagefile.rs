//! A file of pages: read through a memory map, changed only in memory until a checkpoint.
//!
//! Pages changed since the last checkpoint live in an in-memory overlay ("dirty pages");
//! readers look there first, then in the map. Nothing is written to the file between
//! checkpoints, so the file on disk is always exactly the state of the last checkpoint, the
//! kernel never writes back a half-applied change, and a mapped page never holds a change
//! the WAL lacks. The checkpoint (`checkpoint.rs`) writes the dirty pages through the
//! double-write file, then [`PageFile::finish_checkpoint`] drops the overlay and remaps.
//!
//! # Versions
//! Overlay pages are shared, copy-on-write (`Arc`) pages in a persistent page table, so
//! [`PageFile::freeze`] makes an immutable copy of the file as it is now in O(pages / 128)
//! pointer copies, and a later change copies only the page (and table leaf) it touches.
//! A frozen copy reads its own overlay, then its [`Base`]: the map of the file as of the
//! checkpoint its overlay starts from. Before a checkpoint overwrites pages of the file,
//! [`PageFile::preserve_for_readers`] copies each one's mapped bytes into every base that
//! may still be read (the current one and older ones a reader still holds), so a frozen
//! copy keeps reading exactly its version; the caller then waits out in-flight reads
//! (`snapshot.rs`, `ReadGate`) before writing.
//!
//! While a log entry is applied, the first change to each page saves the page's prior state,
//! so a failed entry is rolled back page by page ([`PageFile::rollback`]).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, Weak};

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

/// One page's bytes.
pub type Page = [u8; PAGE_SIZE];

/// Pages per leaf of the page table.
const LEAF_PAGES: usize = 128;

/// A leaf of the page table: the overlay pages of `LEAF_PAGES` consecutive page numbers.
type Leaf = Vec<Option<Arc<Page>>>;

/// A persistent sparse map from page number to page: cloning it copies one pointer, and a
/// change copies only the leaf it touches (and the top level, when either is shared).
#[derive(Debug, Clone, Default)]
struct PageTable {
    /// Leaves by `page / LEAF_PAGES`; `None` where no page of the leaf is present.
    leaves: Arc<Vec<Option<Arc<Leaf>>>>,
    /// Pages present.
    len: usize,
}

impl PageTable {
    fn split(n: u64) -> (usize, usize) {
        ((n / LEAF_PAGES as u64) as usize, (n % LEAF_PAGES as u64) as usize)
    }

    #[inline]
    fn get(&self, n: u64) -> Option<&Arc<Page>> {
        let (l, i) = Self::split(n);
        self.leaves.get(l)?.as_ref()?[i].as_ref()
    }

    fn contains(&self, n: u64) -> bool {
        self.get(n).is_some()
    }

    /// The slot of page `n`, for changing (copying the shared parts on the way).
    fn slot_mut(&mut self, n: u64) -> &mut Option<Arc<Page>> {
        let (l, i) = Self::split(n);
        let leaves = Arc::make_mut(&mut self.leaves);
        if leaves.len() <= l {
            leaves.resize(l + 1, None);
        }
        let leaf = leaves[l].get_or_insert_with(|| Arc::new(vec![None; LEAF_PAGES]));
        &mut Arc::make_mut(leaf)[i]
    }

    fn insert(&mut self, n: u64, page: Arc<Page>) {
        let slot = self.slot_mut(n);
        let was = slot.replace(page);
        if was.is_none() {
            self.len += 1;
        }
    }

    fn remove(&mut self, n: u64) {
        if self.contains(n) {
            *self.slot_mut(n) = None;
            self.len -= 1;
        }
    }

    /// Present pages, in page order.
    fn iter(&self) -> impl Iterator<Item = (u64, &Arc<Page>)> + '_ {
        self.leaves.iter().enumerate().flat_map(|(l, leaf)| {
            leaf.iter().flat_map(move |leaf| {
                leaf.iter().enumerate().filter_map(move |(i, p)| p.as_ref().map(|p| ((l * LEAF_PAGES + i) as u64, p)))
            })
        })
    }

    /// Drops every page numbered `end` or more.
    fn truncate(&mut self, end: u64) {
        let gone: Vec<u64> = self.iter().map(|(n, _)| n).filter(|n| *n >= end).collect();
        for n in gone {
            self.remove(n);
        }
    }
}

/// A new page holding a copy of `bytes`.
fn page_copy(bytes: &[u8]) -> Arc<Page> {
    let mut p = Arc::new([0u8; PAGE_SIZE]);
    Arc::make_mut(&mut p).copy_from_slice(bytes);
    p
}

/// The file as of one checkpoint: its map, and copies of the pages later checkpoints
/// overwrote while this base could still be read.
#[derive(Debug)]
pub struct Base {
    /// The map of the file (shared by bases of the same length: checkpoints write in place).
    map: Arc<ReadMap>,
    /// Pages of the file this base covers.
    pages: u64,
    /// Per page, the bytes this base reads instead of the map once a checkpoint overwrote
    /// them; allocated at the first such checkpoint.
    kept: OnceLock<Box<[OnceLock<Arc<Page>>]>>,
}

impl Base {
    fn new(map: Arc<ReadMap>, pages: u64) -> Base {
        Base { map, pages, kept: OnceLock::new() }
    }

    /// Page `n` (< `pages`) as of this base.
    #[inline]
    fn page(&self, n: u64) -> &[u8] {
        if let Some(kept) = self.kept.get() {
            if let Some(p) = kept[n as usize].get() {
                return &p[..];
            }
        }
        self.mapped(n)
    }

    /// Page `n` as the file holds it now.
    #[inline]
    fn mapped(&self, n: u64) -> &[u8] {
        let at = n as usize * PAGE_SIZE;
        &self.map.bytes()[at..at + PAGE_SIZE]
    }

    /// Keeps `page` as this base's page `n` unless it keeps one already; true if kept now.
    fn keep(&self, n: u64, page: &Arc<Page>) -> bool {
        let kept = self.kept.get_or_init(|| (0..self.pages).map(|_| OnceLock::new()).collect());
        kept[n as usize].set(Arc::clone(page)).is_ok()
    }
}

/// Pages saved for rolling back the entry being applied.
#[derive(Debug, Default)]
struct Undo {
    /// True between `begin` and `commit`/`rollback`.
    active: bool,
    /// Page count when the entry began.
    pages_before: u64,
    /// For each page changed: its overlay page before the change (`None`: it was clean).
    saved: PageMap<Option<Arc<Page>>>,
}

/// One cluster file's pages.
#[derive(Debug)]
pub struct PageFile {
    /// The file's path (for errors and for the checkpoint writer).
    path: PathBuf,
    /// The cluster the file belongs to (every page header names it).
    cluster: i32,
    /// The file as of the last checkpoint.
    base: Arc<Base>,
    /// Bases of earlier checkpoints, still held by frozen copies (the working file only).
    older: Vec<Weak<Base>>,
    /// Pages in the file as the engine sees it (disk pages plus new ones in the overlay).
    pages: u64,
    /// Pages changed since the last checkpoint.
    dirty: PageTable,
    /// Rollback state of the entry being applied.
    undo: Undo,
}

impl PageFile {
    /// A file that exists only in memory until the next checkpoint writes it.
    pub fn new_in_memory(path: PathBuf, cluster: i32) -> PageFile {
        PageFile {
            path,
            cluster,
            base: Arc::new(Base::new(Arc::new(ReadMap::default()), 0)),
            older: Vec::new(),
            pages: 0,
            dirty: PageTable::default(),
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
        Ok(PageFile {
            path,
            cluster,
            base: Arc::new(Base::new(Arc::new(map), pages)),
            older: Vec::new(),
            pages,
            dirty: PageTable::default(),
            undo: Undo::default(),
        })
    }

    /// An immutable copy of the file as it is now, sharing every page (for a read view).
    pub fn freeze(&self) -> PageFile {
        assert!(!self.undo.active, "a file frozen in the middle of an apply");
        PageFile {
            path: self.path.clone(),
            cluster: self.cluster,
            base: Arc::clone(&self.base),
            older: Vec::new(),
            pages: self.pages,
            dirty: self.dirty.clone(),
            undo: Undo::default(),
        }
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
        self.dirty.len
    }

    /// A page's bytes. The page must exist.
    #[inline]
    pub fn page(&self, n: u64) -> &[u8] {
        assert!(n < self.pages, "page {n} of {} read past the end ({} pages)", self.path.display(), self.pages);
        if self.dirty.len != 0 {
            if let Some(p) = self.dirty.get(n) {
                return &p[..];
            }
        }
        assert!(n < self.base.pages, "page {n} of {} is neither dirty nor on disk", self.path.display());
        self.base.page(n)
    }

    /// A page for changing; copies it into the overlay (saving its prior state while an
    /// entry is being applied). A page shared with a frozen copy is copied first.
    pub fn page_mut(&mut self, n: u64) -> &mut [u8] {
        assert!(n < self.pages, "page {n} of {} written past the end", self.path.display());
        if self.undo.active && n < self.undo.pages_before && !self.undo.saved.contains_key(&n) {
            let prior = self.dirty.get(n).cloned();
            self.undo.saved.insert(n, prior);
        }
        if !self.dirty.contains(n) {
            let copy = page_copy(self.base.page(n));
            self.dirty.insert(n, copy);
        }
        match self.dirty.slot_mut(n) {
            Some(p) => &mut Arc::make_mut(p)[..],
            None => unreachable!("inserted above"),
        }
    }

    /// Adds a zeroed page at the end and returns its number.
    pub fn allocate(&mut self) -> u64 {
        let n = self.pages;
        self.pages += 1;
        self.dirty.insert(n, Arc::new([0u8; PAGE_SIZE]));
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
                Some(p) => self.dirty.insert(n, p),
                None => self.dirty.remove(n),
            }
        }
        let before = self.undo.pages_before;
        self.dirty.truncate(before);
        self.pages = before;
        self.undo.active = false;
        touched.sort_unstable();
        touched
    }

    /// Copies of the dirty pages, sealed with their checksums, in page order: what the
    /// checkpoint writes.
    pub fn sealed_dirty_pages(&self) -> Vec<(u64, Box<[u8]>)> {
        self.dirty
            .iter()
            .map(|(n, p)| {
                let mut copy: Box<[u8]> = p[..].into();
                page::seal(&mut copy);
                (n, copy)
            })
            .collect()
    }

    /// Before a checkpoint writes the dirty pages into the file: keeps the file's current
    /// bytes of each dirty page that is on disk in every base a frozen copy may still read,
    /// so those copies go on seeing their version. The current base is kept into only when
    /// `current_read` (a reader may hold a copy frozen before some of these pages became
    /// dirty). Returns the pages copied.
    pub fn preserve_for_readers(&mut self, current_read: bool) -> u64 {
        self.older.retain(|b| b.strong_count() > 0);
        let older: Vec<Arc<Base>> = self.older.iter().filter_map(Weak::upgrade).collect();
        let mut copied = 0;
        if !current_read && older.is_empty() {
            return 0;
        }
        for (n, _) in self.dirty.iter() {
            if n >= self.base.pages {
                continue;
            }
            let bytes = page_copy(self.base.mapped(n));
            copied += 1;
            if current_read {
                self.base.keep(n, &bytes);
            }
            for b in older.iter().filter(|b| n < b.pages) {
                b.keep(n, &bytes);
            }
        }
        copied
    }

    /// After a checkpoint wrote every dirty page to the file: drop the overlay and start a
    /// new base mapping the file at its new length. Frozen copies keep the old base.
    pub fn finish_checkpoint(&mut self) -> Result<()> {
        assert!(!self.undo.active, "checkpoint during an apply");
        let map = if self.pages != self.base.pages || self.base.map.bytes().is_empty() {
            let file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
            let map = ReadMap::new(&file, self.pages * PAGE_SIZE as u64).map_err(|e| Error::io(&self.path, e))?;
            Arc::new(map)
        } else {
            Arc::clone(&self.base.map)
        };
        let old = std::mem::replace(&mut self.base, Arc::new(Base::new(map, self.pages)));
        if Arc::strong_count(&old) > 1 {
            self.older.push(Arc::downgrade(&old));
        }
        self.dirty = PageTable::default();
        Ok(())
    }

    /// Pages kept for readers by the current base and the older ones still alive.
    #[cfg(test)]
    pub(crate) fn kept_pages(&self) -> usize {
        let count = |b: &Base| b.kept.get().map_or(0, |k| k.iter().filter(|p| p.get().is_some()).count());
        count(&self.base) + self.older.iter().filter_map(Weak::upgrade).map(|b| count(&b)).sum::<usize>()
    }

    /// A weak pointer to every overlay page, to see when they are freed.
    #[cfg(test)]
    pub(crate) fn overlay_weaks(&self) -> Vec<Weak<Page>> {
        self.dirty.iter().map(|(_, p)| Arc::downgrade(p)).collect()
    }

    /// Checks every page on disk with `check` (page number, bytes), stopping at the first
    /// failure with an error naming the file and page.
    pub fn verify(&self, mut check: impl FnMut(u64, &[u8]) -> Result<(), String>) -> Result<()> {
        for n in 0..self.base.pages {
            let p = self.base.mapped(n);
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
