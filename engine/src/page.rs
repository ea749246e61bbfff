//! Page layouts: the common page header, file header pages, slotted data pages, overflow
//! pages and position-map pages. Pure functions over `&[u8]` / `&mut [u8]` of `PAGE_SIZE`
//! bytes; no IO here.
//!
//! ```text
//! every page (32-byte header):
//!   0  4  CRC32 of bytes 4..PAGE_SIZE (set when the page is written to its file)
//!   4  1  page kind (1 file header, 2 position map, 3 data, 4 overflow, 5 free)
//!   5  1  page format version = 1
//!   6  2  reserved (zero)
//!   8  8  LSN of the last log entry that changed the page
//!  16  8  page number (the page's own place in its file: a misplaced page is caught)
//!  24  4  cluster id
//!  28  4  reserved (zero)
//!
//! file header page (page 0 of every cluster file):
//!  32  8  magic b"BASALTPG"
//!  40  2  file kind (1 = records .pcl, 2 = position map .cpm)
//!  44  4  page size
//!  48 16  database id (a file of another database is refused)
//!  64  8  .cpm only: next position to allocate
//!  72  8  .cpm only: number of live records
//!
//! data page (slotted):
//!  32  2  slot count
//!  34  2  start of the cell area (cells grow down from the page end)
//!  36  2  fragmented bytes (freed cells inside the cell area)
//!  40  4*n slots: cell offset u16 (0 = empty slot), cell length u16
//!  cell: position u64, version u32, flags u8 (bit 0 overflow), body length u32,
//!        first overflow page u32, then the inline part of the body
//!
//! overflow page:
//!  32  8  next overflow page (0 = last)
//!  40  4  bytes used
//!  48  .. data
//!
//! position map page: 16-byte entries for consecutive positions from 32 on:
//!   state u8 (0 never used, 1 live, 2 deleted), reserved u8, slot u16, page u32,
//!   version u32, reserved u32
//! ```

use crate::codec::{le_u16, le_u32, le_u64, set_u16, set_u32, set_u64};

/// Bytes per page.
pub const PAGE_SIZE: usize = 8192;
/// Bytes of the common header.
pub const HEADER_BYTES: usize = 32;
/// The page format this build writes and reads.
pub const PAGE_FORMAT: u8 = 1;
/// Magic bytes of a file header page.
pub const FILE_MAGIC: [u8; 8] = *b"BASALTPG";

/// What a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    /// Page 0 of a file.
    FileHeader,
    /// Position map entries.
    PositionMap,
    /// Record cells.
    Data,
    /// A piece of a large record.
    Overflow,
    /// Unused, free for reuse.
    Free,
}

impl PageKind {
    /// The byte stored in the header.
    pub fn byte(self) -> u8 {
        match self {
            PageKind::FileHeader => 1,
            PageKind::PositionMap => 2,
            PageKind::Data => 3,
            PageKind::Overflow => 4,
            PageKind::Free => 5,
        }
    }

    /// Decodes the header byte.
    pub fn from_byte(b: u8) -> Option<PageKind> {
        Some(match b {
            1 => PageKind::FileHeader,
            2 => PageKind::PositionMap,
            3 => PageKind::Data,
            4 => PageKind::Overflow,
            5 => PageKind::Free,
            _ => return None,
        })
    }
}

/// The kind of a page.
pub fn kind(p: &[u8]) -> Option<PageKind> {
    PageKind::from_byte(p[4])
}

/// The LSN of the last change to a page.
pub fn lsn(p: &[u8]) -> u64 {
    le_u64(p, 8)
}

/// Sets the page's LSN.
pub fn set_lsn(p: &mut [u8], lsn: u64) {
    set_u64(p, 8, lsn);
}

/// Clears a page and writes a fresh header.
pub fn init(p: &mut [u8], kind: PageKind, page_no: u64, cluster: i32) {
    p.fill(0);
    p[4] = kind.byte();
    p[5] = PAGE_FORMAT;
    set_u64(p, 16, page_no);
    set_u32(p, 24, cluster as u32);
    if kind == PageKind::Data {
        set_cell_area(p, PAGE_SIZE);
    }
}

/// Computes and stores the page checksum (just before the page is written out).
pub fn seal(p: &mut [u8]) {
    let crc = crc32fast::hash(&p[4..]);
    set_u32(p, 0, crc);
}

/// Checks a page read from its file: checksum, format, kind, self-identification.
pub fn check(p: &[u8], page_no: u64, cluster: i32) -> Result<PageKind, String> {
    let stored = le_u32(p, 0);
    if crc32fast::hash(&p[4..]) != stored {
        return Err("page checksum mismatch (torn or corrupt page)".into());
    }
    if p[5] != PAGE_FORMAT {
        return Err(format!("page format {} is not the {PAGE_FORMAT} this build reads", p[5]));
    }
    let k = kind(p).ok_or_else(|| format!("unknown page kind {}", p[4]))?;
    let found_no = le_u64(p, 16);
    if found_no != page_no {
        return Err(format!("page says it is page {found_no}: misplaced page"));
    }
    let found_cluster = le_u32(p, 24) as i32;
    if found_cluster != cluster {
        return Err(format!("page belongs to cluster {found_cluster}, not {cluster}"));
    }
    Ok(k)
}

// ---- file header pages ----

/// Which file of a cluster a header page heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Records: data and overflow pages (`.pcl`).
    Records,
    /// The position map (`.cpm`).
    PositionMap,
}

impl FileKind {
    fn code(self) -> u16 {
        match self {
            FileKind::Records => 1,
            FileKind::PositionMap => 2,
        }
    }
}

/// Writes a file header page.
pub fn init_file_header(p: &mut [u8], file: FileKind, cluster: i32, database_id: u128) {
    init(p, PageKind::FileHeader, 0, cluster);
    p[32..40].copy_from_slice(&FILE_MAGIC);
    set_u16(p, 40, file.code());
    set_u32(p, 44, PAGE_SIZE as u32);
    p[48..64].copy_from_slice(&database_id.to_le_bytes());
}

/// Checks a file header page's identity (after [`check`] passed).
pub fn check_file_header(p: &[u8], file: FileKind, database_id: u128) -> Result<(), String> {
    if p[32..40] != FILE_MAGIC {
        return Err("wrong magic bytes: not a Basalt cluster file".into());
    }
    if le_u16(p, 40) != file.code() {
        return Err(format!("file kind {} where {} was expected", le_u16(p, 40), file.code()));
    }
    if le_u32(p, 44) as usize != PAGE_SIZE {
        return Err(format!("page size {} where this build uses {PAGE_SIZE}", le_u32(p, 44)));
    }
    let mut id = [0u8; 16];
    id.copy_from_slice(&p[48..64]);
    let found = u128::from_le_bytes(id);
    if found != database_id {
        return Err(format!("file belongs to database {found:032x}, not {database_id:032x}"));
    }
    Ok(())
}

/// The `.cpm` header's next position.
pub fn header_next_position(p: &[u8]) -> u64 {
    le_u64(p, 64)
}

/// The `.cpm` header's live-record count.
pub fn header_live_records(p: &[u8]) -> u64 {
    le_u64(p, 72)
}

/// Sets the `.cpm` header's counters.
pub fn set_header_counters(p: &mut [u8], next_position: u64, live_records: u64) {
    set_u64(p, 64, next_position);
    set_u64(p, 72, live_records);
}

// ---- data pages ----

const SLOTS_AT: usize = 40;
const SLOT_BYTES: usize = 4;
/// Bytes of a cell's header.
pub const CELL_HEADER_BYTES: usize = 21;
/// The largest cell a data page can hold (with its slot, on an empty page).
pub const CELL_BYTES_MAX: usize = PAGE_SIZE - SLOTS_AT - SLOT_BYTES;

/// Number of slots (used or empty).
pub fn slot_count(p: &[u8]) -> u16 {
    le_u16(p, 32)
}

fn cell_area(p: &[u8]) -> usize {
    match le_u16(p, 34) {
        0 => PAGE_SIZE, // An empty page: the area starts at the very end.
        v => v as usize,
    }
}

fn fragmented(p: &[u8]) -> usize {
    le_u16(p, 36) as usize
}

fn slot(p: &[u8], s: u16) -> (usize, usize) {
    let at = SLOTS_AT + SLOT_BYTES * s as usize;
    (le_u16(p, at) as usize, le_u16(p, at + 2) as usize)
}

fn set_slot(p: &mut [u8], s: u16, offset: usize, len: usize) {
    let at = SLOTS_AT + SLOT_BYTES * s as usize;
    set_u16(p, at, offset as u16);
    set_u16(p, at + 2, len as u16);
}

fn set_cell_area(p: &mut [u8], v: usize) {
    // PAGE_SIZE itself does not fit a u16 when pages are 64 KiB; 0 stands for it.
    set_u16(p, 34, if v >= PAGE_SIZE { 0 } else { v as u16 });
}

/// Bytes available for one more cell, counting the slot it may need and fragmented space
/// that compaction would recover.
pub fn free_space(p: &[u8]) -> usize {
    let slots = slot_count(p);
    let dir_end = SLOTS_AT + SLOT_BYTES * slots as usize + if has_empty_slot(p) { 0 } else { SLOT_BYTES };
    (cell_area(p) + fragmented(p)).saturating_sub(dir_end)
}

/// True if a slot is empty (offset 0). Branch-free over the directory so that it
/// vectorizes: it runs for every cell placed, and pages of records that are never
/// deleted have no empty slot, so the whole directory is always read.
fn has_empty_slot(p: &[u8]) -> bool {
    let dir_end = (SLOTS_AT + SLOT_BYTES * slot_count(p) as usize).min(p.len());
    p[SLOTS_AT.min(dir_end)..dir_end].chunks_exact(SLOT_BYTES).fold(false, |any, s| any | (s[0] | s[1] == 0))
}

/// The cell in a slot, if the slot is used and well-formed.
pub fn cell(p: &[u8], s: u16) -> Option<&[u8]> {
    if s >= slot_count(p) {
        return None;
    }
    let (off, len) = slot(p, s);
    if off == 0 || off < SLOTS_AT || off + len > PAGE_SIZE || len < CELL_HEADER_BYTES {
        return None;
    }
    Some(&p[off..off + len])
}

/// Rewrites the cells contiguously at the end of the page (slot numbers unchanged).
fn compact(p: &mut [u8]) {
    // The cells are packed, in slot order, into a scratch page on the stack, then copied
    // back in one piece: no allocation and no sorting, and the page is read whole before it
    // is overwritten, so overlapping cells (never written by this code) cannot corrupt each
    // other. Growing records make bulk loads compact pages often.
    let mut packed = [0u8; PAGE_SIZE];
    let mut end = PAGE_SIZE;
    let dir_end = SLOTS_AT + SLOT_BYTES * slot_count(p) as usize;
    for s in 0..slot_count(p) {
        let Some(len) = cell(p, s).map(<[u8]>::len) else { continue };
        if end < dir_end + len {
            break; // Only overlapping cells could not all fit; the rest stay where they were.
        }
        let off = slot(p, s).0;
        end -= len;
        packed[end..end + len].copy_from_slice(&p[off..off + len]);
        set_slot(p, s, end, len);
    }
    p[end..PAGE_SIZE].copy_from_slice(&packed[end..]);
    set_cell_area(p, end);
    set_u16(p, 36, 0);
}

/// Stores a cell, returning its slot, or `None` if the page has no room.
pub fn insert_cell(p: &mut [u8], data: &[u8]) -> Option<u16> {
    assert!(data.len() >= CELL_HEADER_BYTES && data.len() <= CELL_BYTES_MAX);
    if free_space(p) < data.len() {
        return None;
    }
    let slots = slot_count(p);
    let s = if has_empty_slot(p) { (0..slots).find(|s| slot(p, *s).0 == 0).unwrap_or(slots) } else { slots };
    let dir_end = SLOTS_AT + SLOT_BYTES * (slots.max(s + 1)) as usize;
    if cell_area(p) < dir_end + data.len() {
        compact(p);
    }
    let start = cell_area(p) - data.len();
    assert!(start >= dir_end, "free_space promised room");
    p[start..start + data.len()].copy_from_slice(data);
    if s == slots {
        set_u16(p, 32, slots + 1);
    }
    set_slot(p, s, start, data.len());
    set_cell_area(p, start);
    Some(s)
}

/// Frees a slot's cell.
pub fn remove_cell(p: &mut [u8], s: u16) {
    let (off, len) = slot(p, s);
    if off == 0 {
        return;
    }
    set_slot(p, s, 0, 0);
    if off == cell_area(p) {
        set_cell_area(p, off + len);
    } else {
        let f = fragmented(p) + len;
        set_u16(p, 36, f as u16);
    }
    // Trailing empty slots are dropped so the directory does not only grow.
    let mut n = slot_count(p);
    while n > 0 && slot(p, n - 1).0 == 0 {
        n -= 1;
    }
    set_u16(p, 32, n);
    if n == 0 {
        set_cell_area(p, PAGE_SIZE);
        set_u16(p, 36, 0);
    }
}

/// Replaces a slot's cell in place if the page can hold the new one; false otherwise (the
/// old cell is then still there). A larger cell that fits only once the page is compacted
/// is placed only if at least `slack` bytes stay free after it: a page nearly full of
/// growing records would otherwise be compacted for every few bytes one of them grows.
pub fn replace_cell(p: &mut [u8], s: u16, data: &[u8], slack: usize) -> bool {
    let (off, len) = slot(p, s);
    assert!(off != 0, "replacing an empty slot");
    if data.len() <= len {
        p[off..off + data.len()].copy_from_slice(data);
        set_slot(p, s, off, data.len());
        let f = fragmented(p) + (len - data.len());
        set_u16(p, 36, f as u16);
        return true;
    }
    // Room if the old cell's bytes are counted free.
    let dir_end = SLOTS_AT + SLOT_BYTES * slot_count(p) as usize;
    let room = cell_area(p) + fragmented(p) + len;
    if room < dir_end + data.len() {
        return false;
    }
    // The gap between the slots and the cells once the old cell is freed.
    let gap_end = if off == cell_area(p) { off + len } else { cell_area(p) };
    let in_gap = gap_end >= dir_end + data.len();
    if !in_gap && room < dir_end + data.len() + slack {
        return false;
    }
    set_slot(p, s, 0, 0);
    if off == cell_area(p) {
        set_cell_area(p, off + len);
    } else {
        let f = fragmented(p) + len;
        set_u16(p, 36, f as u16);
    }
    // Compact only when the gap between the slots and the cells is too small: a record
    // that grows by a few bytes per change (a vertex gaining edges) would otherwise
    // rewrite its whole page every time.
    if cell_area(p) < dir_end + data.len() {
        compact(p);
    }
    let start = cell_area(p) - data.len();
    p[start..start + data.len()].copy_from_slice(data);
    set_slot(p, s, start, data.len());
    set_cell_area(p, start);
    true
}

/// True when the data page holds no cells.
pub fn is_empty_data(p: &[u8]) -> bool {
    slot_count(p) == 0
}

/// A cell's fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellHeader {
    /// The record's position (cross-checked with the position map).
    pub position: u64,
    /// The record's version.
    pub version: u32,
    /// True when the body continues in overflow pages.
    pub overflow: bool,
    /// Total body length.
    pub body_len: u32,
    /// First overflow page, if `overflow`.
    pub first_overflow: u32,
}

/// Builds a cell: header then the inline part of the body.
pub fn encode_cell(h: &CellHeader, inline: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(CELL_HEADER_BYTES + inline.len());
    c.extend_from_slice(&h.position.to_le_bytes());
    c.extend_from_slice(&h.version.to_le_bytes());
    c.push(u8::from(h.overflow));
    c.extend_from_slice(&h.body_len.to_le_bytes());
    c.extend_from_slice(&h.first_overflow.to_le_bytes());
    c.extend_from_slice(inline);
    c
}

/// Decodes a cell's header; the inline body follows at `CELL_HEADER_BYTES`.
pub fn decode_cell(c: &[u8]) -> CellHeader {
    CellHeader {
        position: le_u64(c, 0),
        version: le_u32(c, 8),
        overflow: c[12] & 1 != 0,
        body_len: le_u32(c, 13),
        first_overflow: le_u32(c, 17),
    }
}

// ---- overflow pages ----

const OVERFLOW_DATA_AT: usize = 48;
/// Body bytes one overflow page carries.
pub const OVERFLOW_CAPACITY: usize = PAGE_SIZE - OVERFLOW_DATA_AT;

/// Fills an overflow page (already initialised) with a chunk and the next pointer.
pub fn write_overflow(p: &mut [u8], next: u32, chunk: &[u8]) {
    assert!(chunk.len() <= OVERFLOW_CAPACITY);
    set_u64(p, 32, u64::from(next));
    set_u32(p, 40, chunk.len() as u32);
    p[OVERFLOW_DATA_AT..OVERFLOW_DATA_AT + chunk.len()].copy_from_slice(chunk);
}

/// The next page and the chunk of an overflow page, if its length field is sane.
pub fn read_overflow(p: &[u8]) -> Option<(u32, &[u8])> {
    let next = u32::try_from(le_u64(p, 32)).ok()?;
    let used = le_u32(p, 40) as usize;
    if used > OVERFLOW_CAPACITY {
        return None;
    }
    Some((next, &p[OVERFLOW_DATA_AT..OVERFLOW_DATA_AT + used]))
}

// ---- position map pages ----

/// Bytes of one position-map entry.
pub const PM_ENTRY_BYTES: usize = 16;
/// Entries per position-map page.
pub const PM_ENTRIES_PER_PAGE: u64 = ((PAGE_SIZE - HEADER_BYTES) / PM_ENTRY_BYTES) as u64;

/// State of a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionState {
    /// Never allocated.
    Unused,
    /// Holds a record.
    Live,
    /// The record was deleted; the position is never reused.
    Deleted,
}

/// One position-map entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PmEntry {
    /// Its state.
    pub state: PositionState,
    /// Data page of the record's cell.
    pub page: u32,
    /// Slot in that page.
    pub slot: u16,
    /// The record's version (kept for deleted records too).
    pub version: u32,
}

/// The page of the `.cpm` file and the offset in it of a position's entry.
pub fn pm_location(position: u64) -> (u64, usize) {
    let page = 1 + position / PM_ENTRIES_PER_PAGE;
    let at = HEADER_BYTES + PM_ENTRY_BYTES * (position % PM_ENTRIES_PER_PAGE) as usize;
    (page, at)
}

/// Reads an entry; `None` if its state byte is not a known state.
pub fn read_pm(p: &[u8], at: usize) -> Option<PmEntry> {
    let state = match p[at] {
        0 => PositionState::Unused,
        1 => PositionState::Live,
        2 => PositionState::Deleted,
        _ => return None,
    };
    Some(PmEntry { state, slot: le_u16(p, at + 2), page: le_u32(p, at + 4), version: le_u32(p, at + 8) })
}

/// Writes an entry.
pub fn write_pm(p: &mut [u8], at: usize, e: &PmEntry) {
    p[at] = match e.state {
        PositionState::Unused => 0,
        PositionState::Live => 1,
        PositionState::Deleted => 2,
    };
    p[at + 1] = 0;
    set_u16(p, at + 2, e.slot);
    set_u32(p, at + 4, e.page);
    set_u32(p, at + 8, e.version);
    set_u32(p, at + 12, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell_of(n: usize, tagbyte: u8) -> Vec<u8> {
        let h = CellHeader { position: n as u64, version: 1, overflow: false, body_len: n as u32, first_overflow: 0 };
        encode_cell(&h, &vec![tagbyte; n])
    }

    #[test]
    fn slotted_page_inserts_removes_compacts_and_replaces() {
        let mut p = vec![0u8; PAGE_SIZE];
        init(&mut p, PageKind::Data, 3, 9);
        let full = free_space(&p);
        let a = insert_cell(&mut p, &cell_of(1000, 1)).unwrap();
        let b = insert_cell(&mut p, &cell_of(2000, 2)).unwrap();
        let c = insert_cell(&mut p, &cell_of(3000, 3)).unwrap();
        assert_eq!((a, b, c), (0, 1, 2));
        remove_cell(&mut p, b);
        // The freed middle cell is fragmented space; a large cell needs compaction.
        let d = insert_cell(&mut p, &cell_of(3500, 4)).unwrap();
        assert_eq!(d, 1, "the empty slot is reused");
        assert_eq!(cell(&p, a).unwrap()[CELL_HEADER_BYTES], 1);
        assert_eq!(cell(&p, c).unwrap()[CELL_HEADER_BYTES], 3);
        assert_eq!(cell(&p, d).unwrap().len(), CELL_HEADER_BYTES + 3500);
        assert!(insert_cell(&mut p, &cell_of(2000, 5)).is_none(), "no room left");
        assert!(replace_cell(&mut p, a, &cell_of(10, 6), 0));
        assert_eq!(cell(&p, a).unwrap().len(), CELL_HEADER_BYTES + 10);
        assert!(!replace_cell(&mut p, a, &cell_of(1500, 7), 2000), "compacting would leave too little room");
        assert!(replace_cell(&mut p, a, &cell_of(1500, 7), 0), "grows into recovered space");
        assert!(!replace_cell(&mut p, a, &cell_of(6000, 8), 0));
        assert_eq!(cell(&p, a).unwrap()[CELL_HEADER_BYTES], 7, "a refused replace keeps the old cell");
        for s in [a, c, d] {
            remove_cell(&mut p, s);
        }
        assert!(is_empty_data(&p));
        assert_eq!(free_space(&p), full);
    }

    #[test]
    fn checks_catch_flips_and_misplaced_pages() {
        let mut p = vec![0u8; PAGE_SIZE];
        init(&mut p, PageKind::Data, 7, 9);
        insert_cell(&mut p, &cell_of(10, 1)).unwrap();
        seal(&mut p);
        assert_eq!(check(&p, 7, 9), Ok(PageKind::Data));
        assert!(check(&p, 8, 9).unwrap_err().contains("misplaced"));
        assert!(check(&p, 7, 10).is_err());
        p[5000] ^= 0x10;
        assert!(check(&p, 7, 9).unwrap_err().contains("checksum"));
    }

    #[test]
    fn position_map_locations() {
        assert_eq!(pm_location(0), (1, HEADER_BYTES));
        assert_eq!(pm_location(PM_ENTRIES_PER_PAGE), (2, HEADER_BYTES));
        let mut p = vec![0u8; PAGE_SIZE];
        let e = PmEntry { state: PositionState::Live, page: 77, slot: 5, version: 3 };
        let (_, at) = pm_location(12);
        write_pm(&mut p, at, &e);
        assert_eq!(read_pm(&p, at), Some(e));
    }
}
