//! A record cluster: a records file (`.pcl`: data and overflow pages) and a position map
//! (`.cpm`: one 16-byte entry per position) addressing records by position.
//!
//! Positions are handed out in order and never reused: the position of a new record is the
//! cluster's `next_position`, so every node applying the same log gives the same RIDs.
//! Where a record's bytes land (page, slot) is decided by the free-space map; that choice is
//! deterministic too, but nothing depends on it beyond this module.
//!
//! The free-space map is derived data: one entry per data page, built from the page headers
//! when the cluster is opened (every page is read then anyway, to verify its checksum) and
//! kept up to date in memory. Persisting it would cost a page write per change for nothing
//! that a scan at open cannot give back.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::Path;

use crate::error::{Error, Result};
use crate::page::{
    self, CellHeader, FileKind, PageKind, PmEntry, PositionState, CELL_BYTES_MAX, CELL_HEADER_BYTES, OVERFLOW_CAPACITY,
};
use crate::pagefile::PageFile;

/// Bodies up to this size are stored whole in their cell; larger ones spill into overflow
/// pages. Half a page keeps at least two records per page.
pub const INLINE_BODY_MAX: usize = 4000;
/// How much of a large body stays in its cell.
const OVERFLOW_INLINE_BYTES: usize = 1024;
/// Data pages with less free space than this are not worth tracking for new cells.
const FSM_MIN_FREE: usize = CELL_HEADER_BYTES + 16;
/// Room a record that grew out of its page looks for in its new page (and a page must keep
/// after being compacted for a growing record): records that grow tend to grow again (a
/// vertex gaining edges), and a page with no slack would be compacted at every change.
const GROWTH_SLACK: usize = page::PAGE_SIZE / 8;
/// The largest record body a cluster accepts.
pub const BODY_BYTES_MAX: usize = 64 << 20;

/// The free-space map of the records file.
#[derive(Debug, Default)]
struct FreeSpace {
    /// (free bytes, page) for data pages with room worth using; best fit = first in range.
    by_room: BTreeSet<(usize, u64)>,
    /// Free bytes per data page, indexed by page number (0 for other kinds).
    room: Vec<usize>,
    /// Pages of kind `Free`, reusable as data or overflow pages.
    free_pages: BTreeSet<u64>,
}

impl FreeSpace {
    fn set(&mut self, n: u64, kind: PageKind, room: usize) {
        let i = n as usize;
        if self.room.len() <= i {
            self.room.resize(i + 1, 0);
        }
        let old = self.room[i];
        if old >= FSM_MIN_FREE {
            self.by_room.remove(&(old, n));
        }
        self.free_pages.remove(&n);
        self.room[i] = 0;
        match kind {
            PageKind::Data => {
                self.room[i] = room;
                if room >= FSM_MIN_FREE {
                    self.by_room.insert((room, n));
                }
            }
            PageKind::Free => {
                self.free_pages.insert(n);
            }
            _ => {}
        }
    }

    fn truncate(&mut self, pages: u64) {
        let stale: Vec<u64> = (pages..self.room.len() as u64).collect();
        for n in stale {
            self.set(n, PageKind::Overflow, 0);
        }
        self.room.truncate(pages as usize);
        self.free_pages.retain(|n| *n < pages);
    }

    fn best_fit(&self, need: usize) -> Option<u64> {
        self.by_room.range((need, 0)..).next().map(|(_, n)| *n)
    }
}

/// One record cluster.
#[derive(Debug)]
pub struct Cluster {
    /// Its id (the first number of its RIDs).
    id: i32,
    /// Data and overflow pages.
    records: PageFile,
    /// Position map.
    positions: PageFile,
    /// Free-space map of `records`.
    fsm: FreeSpace,
}

/// A record read from a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Its version.
    pub version: u32,
    /// Its body bytes.
    pub body: Vec<u8>,
}

/// File names of a cluster's two files.
pub fn file_names(id: i32) -> (String, String) {
    (format!("cluster{id}.pcl"), format!("cluster{id}.cpm"))
}

impl Cluster {
    /// A new, empty cluster held in memory until the next checkpoint writes its files.
    pub fn create(dir: &Path, id: i32, database_id: u128, lsn: u64) -> Cluster {
        let (pcl, cpm) = file_names(id);
        let mut records = PageFile::new_in_memory(dir.join(pcl), id);
        let mut positions = PageFile::new_in_memory(dir.join(cpm), id);
        for (file, kind) in [(&mut records, FileKind::Records), (&mut positions, FileKind::PositionMap)] {
            let n = file.allocate();
            let p = file.page_mut(n);
            page::init_file_header(p, kind, id, database_id);
            page::set_lsn(p, lsn);
        }
        Cluster { id, records, positions, fsm: FreeSpace::default() }
    }

    /// Opens a cluster's files, verifying every page, and builds the free-space map.
    pub fn open(dir: &Path, id: i32, database_id: u128, pages: (u64, u64), checkpoint_lsn: u64) -> Result<Cluster> {
        let (pcl, cpm) = file_names(id);
        let records = PageFile::open(dir.join(pcl), id, pages.0)?;
        let positions = PageFile::open(dir.join(cpm), id, pages.1)?;
        let mut fsm = FreeSpace::default();
        let lsn_ok = |p: &[u8]| {
            if page::lsn(p) > checkpoint_lsn {
                Err(format!("page LSN {} is past the checkpoint LSN {checkpoint_lsn}", page::lsn(p)))
            } else {
                Ok(())
            }
        };
        records.verify(|n, p| {
            lsn_ok(p)?;
            match page::kind(p) {
                Some(PageKind::FileHeader) if n == 0 => page::check_file_header(p, FileKind::Records, database_id),
                Some(k @ (PageKind::Data | PageKind::Overflow | PageKind::Free)) if n > 0 => {
                    fsm.set(n, k, if k == PageKind::Data { page::free_space(p) } else { 0 });
                    Ok(())
                }
                other => Err(format!("unexpected page kind {other:?} in a records file")),
            }
        })?;
        positions.verify(|n, p| {
            lsn_ok(p)?;
            match page::kind(p) {
                Some(PageKind::FileHeader) if n == 0 => page::check_file_header(p, FileKind::PositionMap, database_id),
                Some(PageKind::PositionMap) if n > 0 => Ok(()),
                other => Err(format!("unexpected page kind {other:?} in a position map")),
            }
        })?;
        let c = Cluster { id, records, positions, fsm };
        let needed = c.next_position().div_ceil(page::PM_ENTRIES_PER_PAGE) + 1;
        if c.positions.pages() < needed {
            return Err(Error::corrupt(
                c.positions.path(),
                None,
                format!(
                    "next position {} needs {needed} pages, the file has {}",
                    c.next_position(),
                    c.positions.pages()
                ),
            ));
        }
        Ok(c)
    }

    /// An immutable copy of the cluster as it is now, for a read view: it shares every page
    /// and has no free-space map (it is never written).
    pub(crate) fn freeze(&self) -> Cluster {
        Cluster {
            id: self.id,
            records: self.records.freeze(),
            positions: self.positions.freeze(),
            fsm: FreeSpace::default(),
        }
    }

    /// Before a checkpoint writes this cluster's dirty pages: see
    /// [`PageFile::preserve_for_readers`]. Returns the pages copied.
    pub(crate) fn preserve_for_readers(&mut self, current_read: bool) -> u64 {
        self.records.preserve_for_readers(current_read) + self.positions.preserve_for_readers(current_read)
    }

    /// Pages kept for readers by checkpoints, in both files (see [`PageFile::kept_pages`]).
    #[cfg(test)]
    pub(crate) fn kept_pages(&self) -> usize {
        self.records.kept_pages() + self.positions.kept_pages()
    }

    /// Weak pointers to the overlay pages of both files.
    #[cfg(test)]
    pub(crate) fn overlay_weaks(&self) -> Vec<std::sync::Weak<crate::pagefile::Page>> {
        let mut w = self.records.overlay_weaks();
        w.extend(self.positions.overlay_weaks());
        w
    }

    /// The cluster id.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// Page counts of (records, position map), as a checkpoint records them.
    pub fn page_counts(&self) -> (u64, u64) {
        (self.records.pages(), self.positions.pages())
    }

    /// The position the next new record gets.
    pub fn next_position(&self) -> u64 {
        page::header_next_position(self.positions.page(0))
    }

    /// Records currently live.
    pub fn live_records(&self) -> u64 {
        page::header_live_records(self.positions.page(0))
    }

    /// Number of dirty pages in both files.
    pub fn dirty_pages(&self) -> usize {
        self.records.dirty_count() + self.positions.dirty_count()
    }

    /// The two files.
    pub fn files(&self) -> [&PageFile; 2] {
        [&self.records, &self.positions]
    }

    /// The two files, mutably.
    pub fn files_mut(&mut self) -> [&mut PageFile; 2] {
        [&mut self.records, &mut self.positions]
    }

    fn corrupt_pm(&self, page: u64, reason: String) -> Error {
        Error::corrupt(self.positions.path(), Some(page), reason)
    }

    fn corrupt_rec(&self, page: u64, reason: String) -> Error {
        Error::corrupt(self.records.path(), Some(page), reason)
    }

    /// The position-map entry of `position` (`Unused` past the end).
    pub fn entry(&self, position: u64) -> Result<PmEntry> {
        if position >= self.next_position() {
            return Ok(PmEntry { state: PositionState::Unused, page: 0, slot: 0, version: 0 });
        }
        let (pn, at) = page::pm_location(position);
        let p = self.positions.page(pn);
        page::read_pm(p, at).ok_or_else(|| self.corrupt_pm(pn, format!("bad entry state for position {position}")))
    }

    fn set_entry(&mut self, position: u64, e: &PmEntry, lsn: u64) {
        let (pn, at) = page::pm_location(position);
        while self.positions.pages() <= pn {
            let n = self.positions.allocate();
            page::init(self.positions.page_mut(n), PageKind::PositionMap, n, self.id);
        }
        let p = self.positions.page_mut(pn);
        page::write_pm(p, at, e);
        page::set_lsn(p, lsn);
    }

    fn set_counters(&mut self, next_position: u64, live: u64, lsn: u64) {
        let p = self.positions.page_mut(0);
        page::set_header_counters(p, next_position, live);
        page::set_lsn(p, lsn);
    }

    /// Reads the record at `position`, if live.
    #[inline]
    pub fn get(&self, position: u64) -> Result<Option<StoredRecord>> {
        Ok(self.get_ref(position)?.map(|(version, body)| StoredRecord { version, body: body.into_owned() }))
    }

    /// The version and body of the record at `position`, if live, without copying the body
    /// when it lies whole in its cell (the common case): the hot read paths (link-bag
    /// updates, neighbour listing, kind checks) only look at the bytes.
    #[inline]
    pub fn get_ref(&self, position: u64) -> Result<Option<(u32, Cow<'_, [u8]>)>> {
        let e = self.entry(position)?;
        if e.state != PositionState::Live {
            return Ok(None);
        }
        let body = self.read_body(position, &e)?;
        Ok(Some((e.version, body)))
    }

    /// Reads the body of a live entry, checking the cell against the entry.
    fn read_body(&self, position: u64, e: &PmEntry) -> Result<Cow<'_, [u8]>> {
        let pn = u64::from(e.page);
        if pn == 0 || pn >= self.records.pages() {
            return Err(
                self.corrupt_pm(page::pm_location(position).0, format!("position {position} points to page {pn}"))
            );
        }
        let p = self.records.page(pn);
        let c = page::cell(p, e.slot).ok_or_else(|| self.corrupt_rec(pn, format!("no cell in slot {}", e.slot)))?;
        let h = page::decode_cell(c);
        if h.position != position {
            return Err(self.corrupt_rec(pn, format!("slot {} holds position {}, not {position}", e.slot, h.position)));
        }
        let inline = &c[CELL_HEADER_BYTES..];
        let total = h.body_len as usize;
        if !h.overflow {
            if inline.len() != total {
                return Err(self.corrupt_rec(pn, format!("cell of position {position} has a bad length")));
            }
            return Ok(Cow::Borrowed(inline));
        }
        if total > BODY_BYTES_MAX || inline.len() > total {
            return Err(self.corrupt_rec(pn, format!("cell of position {position} declares {total} bytes")));
        }
        let mut body = Vec::with_capacity(total);
        body.extend_from_slice(inline);
        let mut next = u64::from(h.first_overflow);
        while body.len() < total {
            if next == 0 || next >= self.records.pages() {
                return Err(
                    self.corrupt_rec(pn, format!("overflow chain of position {position} breaks at page {next}"))
                );
            }
            let op = self.records.page(next);
            if page::kind(op) != Some(PageKind::Overflow) {
                return Err(self
                    .corrupt_rec(next, format!("overflow chain of position {position} reaches a non-overflow page")));
            }
            let (n, chunk) =
                page::read_overflow(op).ok_or_else(|| self.corrupt_rec(next, "bad overflow length".to_string()))?;
            if body.len() + chunk.len() > total {
                return Err(self.corrupt_rec(next, format!("overflow chain of position {position} is too long")));
            }
            body.extend_from_slice(chunk);
            next = u64::from(n);
        }
        Ok(Cow::Owned(body))
    }

    /// Takes a page for new use: the lowest free page, else a new one at the end.
    fn take_page(&mut self, kind: PageKind, lsn: u64) -> u64 {
        let n = match self.fsm.free_pages.iter().next().copied() {
            Some(n) => n,
            None => self.records.allocate(),
        };
        let p = self.records.page_mut(n);
        page::init(p, kind, n, self.id);
        page::set_lsn(p, lsn);
        let room = if kind == PageKind::Data { page::free_space(p) } else { 0 };
        self.fsm.set(n, kind, room);
        n
    }

    /// Writes the overflow pages of a large body; returns the first page.
    fn write_overflow(&mut self, rest: &[u8], lsn: u64) -> u32 {
        let chunks: Vec<&[u8]> = rest.chunks(OVERFLOW_CAPACITY).collect();
        let pages: Vec<u64> = chunks.iter().map(|_| self.take_page(PageKind::Overflow, lsn)).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let next = pages.get(i + 1).copied().unwrap_or(0) as u32;
            page::write_overflow(self.records.page_mut(pages[i]), next, chunk);
        }
        pages[0] as u32
    }

    /// Frees the overflow chain that starts at `first`.
    fn free_overflow(&mut self, first: u32, lsn: u64) -> Result<()> {
        let mut next = u64::from(first);
        let mut guard = 0u64;
        while next != 0 {
            guard += 1;
            if next >= self.records.pages() || guard > self.records.pages() {
                return Err(self.corrupt_rec(next, "overflow chain points outside the file or loops".into()));
            }
            let p = self.records.page(next);
            let (n, _) = page::read_overflow(p).ok_or_else(|| self.corrupt_rec(next, "bad overflow page".into()))?;
            let pm = self.records.page_mut(next);
            page::init(pm, PageKind::Free, next, self.id);
            page::set_lsn(pm, lsn);
            self.fsm.set(next, PageKind::Free, 0);
            next = u64::from(n);
        }
        Ok(())
    }

    /// Builds the cell for a body (writing overflow pages if it is large).
    fn make_cell(&mut self, position: u64, version: u32, body: &[u8], lsn: u64) -> Vec<u8> {
        assert!(body.len() <= BODY_BYTES_MAX);
        let mut h = CellHeader { position, version, overflow: false, body_len: body.len() as u32, first_overflow: 0 };
        if body.len() <= INLINE_BODY_MAX {
            return page::encode_cell(&h, body);
        }
        h.overflow = true;
        h.first_overflow = self.write_overflow(&body[OVERFLOW_INLINE_BYTES..], lsn);
        page::encode_cell(&h, &body[..OVERFLOW_INLINE_BYTES])
    }

    /// Places a cell in the best-fitting data page with `slack` bytes to spare (or a new
    /// page); returns (page, slot).
    fn place_cell(&mut self, cell: &[u8], slack: usize, lsn: u64) -> (u64, u16) {
        assert!(cell.len() <= CELL_BYTES_MAX);
        let pn = match self.fsm.best_fit(cell.len() + slack) {
            Some(n) => n,
            None => self.take_page(PageKind::Data, lsn),
        };
        let p = self.records.page_mut(pn);
        let slot = match page::insert_cell(p, cell) {
            Some(s) => s,
            None => unreachable!("the free-space map promised room"),
        };
        page::set_lsn(p, lsn);
        let room = page::free_space(p);
        self.fsm.set(pn, PageKind::Data, room);
        (pn, slot)
    }

    /// Stores a new record at `position`, which must be the next position.
    pub fn insert(&mut self, position: u64, body: &[u8], lsn: u64) -> Result<()> {
        let next = self.next_position();
        if position != next {
            return Err(Error::Invalid(format!(
                "cluster {} would put a new record at position {position}, its next position is {next}",
                self.id
            )));
        }
        let cell = self.make_cell(position, 1, body, lsn);
        let (pn, slot) = self.place_cell(&cell, 0, lsn);
        self.set_entry(position, &PmEntry { state: PositionState::Live, page: pn as u32, slot, version: 1 }, lsn);
        let live = self.live_records();
        self.set_counters(next + 1, live + 1, lsn);
        Ok(())
    }

    /// Replaces a live record's body and version.
    pub fn update(&mut self, position: u64, version: u32, body: &[u8], lsn: u64) -> Result<()> {
        let e = self.entry(position)?;
        if e.state != PositionState::Live {
            return Err(Error::Invalid(format!("record #{}:{position} does not exist", self.id)));
        }
        let pn = u64::from(e.page);
        self.release_overflow_of(pn, e.slot, lsn)?;
        let cell = self.make_cell(position, version, body, lsn);
        let p = self.records.page_mut(pn);
        let (page, slot) = if page::replace_cell(p, e.slot, &cell, GROWTH_SLACK) {
            page::set_lsn(p, lsn);
            let room = page::free_space(p);
            self.fsm.set(pn, PageKind::Data, room);
            (pn, e.slot)
        } else {
            self.remove_cell_at(pn, e.slot, lsn);
            self.place_cell(&cell, GROWTH_SLACK, lsn)
        };
        self.set_entry(position, &PmEntry { state: PositionState::Live, page: page as u32, slot, version }, lsn);
        Ok(())
    }

    /// Deletes a live record; its position stays taken (a tombstone keeps the version).
    pub fn delete(&mut self, position: u64, lsn: u64) -> Result<()> {
        let e = self.entry(position)?;
        if e.state != PositionState::Live {
            return Err(Error::Invalid(format!("record #{}:{position} does not exist", self.id)));
        }
        let pn = u64::from(e.page);
        self.release_overflow_of(pn, e.slot, lsn)?;
        self.remove_cell_at(pn, e.slot, lsn);
        self.set_entry(position, &PmEntry { state: PositionState::Deleted, page: 0, slot: 0, version: e.version }, lsn);
        let (next, live) = (self.next_position(), self.live_records());
        self.set_counters(next, live.saturating_sub(1), lsn);
        Ok(())
    }

    fn release_overflow_of(&mut self, pn: u64, slot: u16, lsn: u64) -> Result<()> {
        let p = self.records.page(pn);
        let c = page::cell(p, slot).ok_or_else(|| self.corrupt_rec(pn, format!("no cell in slot {slot}")))?;
        let h = page::decode_cell(c);
        if h.overflow {
            self.free_overflow(h.first_overflow, lsn)?;
        }
        Ok(())
    }

    fn remove_cell_at(&mut self, pn: u64, slot: u16, lsn: u64) {
        let p = self.records.page_mut(pn);
        page::remove_cell(p, slot);
        page::set_lsn(p, lsn);
        let room = page::free_space(p);
        self.fsm.set(pn, PageKind::Data, room);
    }

    /// The next live position at or after `from`, if any.
    pub fn next_live(&self, from: u64) -> Result<Option<u64>> {
        let end = self.next_position();
        let mut pos = from;
        while pos < end {
            let (pn, _) = page::pm_location(pos);
            let p = self.positions.page(pn);
            let page_end = ((pn - 1) + 1) * page::PM_ENTRIES_PER_PAGE;
            while pos < end.min(page_end) {
                let (_, at) = page::pm_location(pos);
                match page::read_pm(p, at) {
                    Some(e) if e.state == PositionState::Live => return Ok(Some(pos)),
                    Some(_) => pos += 1,
                    None => return Err(self.corrupt_pm(pn, format!("bad entry state for position {pos}"))),
                }
            }
        }
        Ok(None)
    }

    /// Starts recording page states for rolling back the entry being applied.
    pub fn begin(&mut self) {
        self.records.begin();
        self.positions.begin();
    }

    /// The entry applied: forget the rollback states.
    pub fn commit(&mut self) {
        self.records.commit();
        self.positions.commit();
    }

    /// Puts both files back as they were at `begin` and repairs the free-space map.
    pub fn rollback(&mut self) {
        let touched = self.records.rollback();
        self.positions.rollback();
        self.fsm.truncate(self.records.pages());
        for n in touched {
            let p = self.records.page(n);
            let kind = page::kind(p).unwrap_or(PageKind::Overflow);
            let room = if kind == PageKind::Data { page::free_space(p) } else { 0 };
            self.fsm.set(n, kind, room);
        }
        // Pages allocated during the entry and then dropped may still be listed.
        let pages = self.records.pages();
        self.fsm.truncate(pages);
    }

    /// After a checkpoint wrote the dirty pages.
    pub fn finish_checkpoint(&mut self) -> Result<()> {
        self.records.finish_checkpoint()?;
        self.positions.finish_checkpoint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(n: usize, seed: u8) -> Vec<u8> {
        (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    }

    #[test]
    fn records_of_all_sizes_round_trip_and_roll_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Cluster::create(dir.path(), 9, 1, 0);
        let sizes = [0usize, 10, 3999, 4000, 4001, 9000, 30_000, 100];
        for (i, n) in sizes.iter().enumerate() {
            c.insert(i as u64, &body(*n, i as u8), 1).unwrap();
        }
        for (i, n) in sizes.iter().enumerate() {
            assert_eq!(c.get(i as u64).unwrap().unwrap().body, body(*n, i as u8), "size {n}");
        }
        assert!(c.insert(100, b"x", 2).is_err(), "positions are dense");
        c.update(1, 2, &body(20_000, 7), 2).unwrap();
        c.update(5, 2, &body(5, 8), 2).unwrap();
        c.delete(6, 3).unwrap();
        assert_eq!(c.get(1).unwrap().unwrap().body, body(20_000, 7));
        assert_eq!(c.get(1).unwrap().unwrap().version, 2);
        assert_eq!(c.get(5).unwrap().unwrap().body, body(5, 8));
        assert_eq!(c.get(6).unwrap(), None);
        assert_eq!(c.live_records(), sizes.len() as u64 - 1);
        assert_eq!(c.next_live(6).unwrap(), Some(7));

        c.begin();
        c.insert(8, &body(50_000, 1), 4).unwrap();
        c.update(0, 2, &body(7000, 2), 4).unwrap();
        c.delete(7, 4).unwrap();
        c.rollback();
        assert_eq!(c.next_position(), 8);
        assert_eq!(c.get(0).unwrap().unwrap().body, body(0, 0));
        assert_eq!(c.get(7).unwrap().unwrap().body, body(100, 7));
        // The space map was repaired: new records still fit and read back.
        c.begin();
        c.insert(8, &body(9000, 3), 5).unwrap();
        c.commit();
        assert_eq!(c.get(8).unwrap().unwrap().body, body(9000, 3));
    }

    #[test]
    fn freed_overflow_pages_are_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Cluster::create(dir.path(), 3, 1, 0);
        c.insert(0, &body(40_000, 1), 1).unwrap();
        let pages = c.page_counts().0;
        c.update(0, 2, &body(10, 1), 2).unwrap();
        c.insert(1, &body(40_000, 2), 3).unwrap();
        assert_eq!(c.page_counts().0, pages, "the freed overflow pages were taken again");
        assert_eq!(c.get(1).unwrap().unwrap().body, body(40_000, 2));
    }
}
