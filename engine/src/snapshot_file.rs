//! The snapshot file: a consistent image of one database's checkpointed files, compressed in
//! checksummed chunks, for backup and restore (`basalt-snapshot`) and for deploying a database
//! to a node that joins (the same bytes travel between nodes).
//!
//! # What it promises
//! - **One LSN.** The files are those of one checkpoint: the cluster files hold exactly that
//!   checkpoint's state (pages change only at checkpoints, see [`crate::checkpoint`]), so the
//!   image is consistent while writes go on, as long as the next checkpoint is held off while
//!   it is read ([`crate::Database::hold_checkpoints`]).
//! - **Streaming.** Writer and reader hold one chunk at a time (at most
//!   [`CHUNK_RAW_BYTES_MAX`] raw), whatever the size of the database.
//! - **Nothing bad goes unnoticed.** The header, every chunk (its fields and its compressed
//!   bytes) and the trailer carry CRC32s; every chunk's decompressed bytes carry another, and
//!   the chunks must cover every file exactly, in order. A reader reports the first bad chunk
//!   by number and file offset, a truncation by how far it got, a newer format by both
//!   versions. The trailer repeats the digest and the totals, so a file cut at a chunk
//!   boundary is caught too. Whoever installs a snapshot writes it aside and moves it into
//!   place only once the reader has reached the trailer (see `basalt-snapshot restore`).
//!
//! # Layout (little-endian; drawn again in `docs/formats.md`)
//! ```text
//! header:  magic "BSLTSNAP" | version u16 = 1 | reserved u16 = 0 | JSON length u32
//!          | JSON (UTF-8, the [`Header`]) | CRC32 u32 of everything before
//! chunk:   tag u8 = 1 | file u32 (index into header.files) | offset u64 | raw length u32
//!          | compressed length u32 | raw CRC32 u32 | CRC32 u32 of the 25 bytes before and
//!          of the compressed bytes | compressed bytes (one zstd frame)
//! trailer: tag u8 = 2 | chunks u64 | raw bytes u64 | compressed bytes u64 | digest u128
//!          | CRC32 u32 of the 41 bytes before
//! ```
//! Chunks come file by file in header order, each file's chunks at increasing, contiguous
//! offsets; an empty file has no chunk.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, CheckpointRecord, CHECKPOINT_FILE};
use crate::cluster::{file_names, Cluster};
use crate::state::State;

/// The file's first eight bytes.
pub const MAGIC: [u8; 8] = *b"BSLTSNAP";
/// The format version this code writes and reads.
pub const VERSION: u16 = 1;
/// Raw bytes per chunk when writing.
pub const CHUNK_RAW_BYTES: usize = 1 << 20;
/// The largest raw chunk a reader accepts (so a damaged length cannot make it allocate more).
pub const CHUNK_RAW_BYTES_MAX: usize = 8 << 20;
/// The largest header JSON a reader accepts.
pub const HEADER_BYTES_MAX: usize = 4 << 20;
/// The zstd level: fast (`zstd -1`), as the image is usually read once.
pub const ZSTD_LEVEL: i32 = 1;

const TAG_CHUNK: u8 = 1;
const TAG_TRAILER: u8 = 2;
const CHUNK_FIELDS_BYTES: usize = 1 + 4 + 8 + 4 + 4 + 4;

/// What a snapshot holds, written first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    /// The database's name where the snapshot was taken.
    pub database: String,
    /// The database's id, 32 hex digits.
    pub database_id: String,
    /// The LSN of the checkpoint the files hold.
    pub lsn: u64,
    /// When the snapshot was taken, milliseconds since the Unix epoch.
    pub created_unix_ms: u64,
    /// The database's digest at that LSN, 32 hex digits.
    pub digest: String,
    /// The files, in the order their chunks follow.
    pub files: Vec<FileEntry>,
    /// Records per class at that LSN (for `inspect`).
    pub classes: BTreeMap<String, u64>,
}

impl Header {
    /// Raw bytes of all files.
    pub fn raw_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// One file of the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Its name inside the database directory (no separators).
    pub name: String,
    /// Its length.
    pub bytes: u64,
}

/// Why a snapshot cannot be read. Every variant names where it stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The first bytes are not a snapshot's.
    #[error("not a Basalt snapshot (the file does not start with {MAGIC:?})")]
    NotASnapshot,
    /// Written by another version of the format.
    #[error("snapshot format version {found}; this build reads version {supported}")]
    Version {
        /// The file's version.
        found: u16,
        /// Ours.
        supported: u16,
    },
    /// The header is damaged or inconsistent.
    #[error("the snapshot header is damaged: {0}")]
    BadHeader(String),
    /// A chunk is damaged or out of place.
    #[error("chunk {chunk} (file '{file}', offset {offset}) is damaged: {what}")]
    Corrupt {
        /// The chunk's number, from 0.
        chunk: u64,
        /// The file it belongs to (as far as known).
        file: String,
        /// Its offset in that file (as far as known).
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// The trailer is damaged or disagrees with what came before.
    #[error("the snapshot trailer is damaged: {0}")]
    BadTrailer(String),
    /// The database directory an image is taken from cannot be read as one.
    #[error("{0}")]
    Database(Box<crate::Error>),
    /// The file ends early.
    #[error("the snapshot is truncated: it ends after {chunks} whole chunks ({what})")]
    Truncated {
        /// Whole chunks read.
        chunks: u64,
        /// What was being read.
        what: String,
    },
}

/// Totals of a written or read snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Chunks.
    pub chunks: u64,
    /// Raw (decompressed) bytes.
    pub raw_bytes: u64,
    /// Compressed bytes of the chunks.
    pub compressed_bytes: u64,
}

/// Writes a snapshot: the header, then each file's bytes in order, then the trailer.
#[derive(Debug)]
pub struct Writer<W: Write> {
    /// Where the bytes go.
    out: W,
    /// The header written.
    header: Header,
    /// The next file to write (index into `header.files`).
    next_file: usize,
    /// So far.
    totals: Totals,
}

impl<W: Write> Writer<W> {
    /// Writes the header.
    pub fn new(mut out: W, header: Header) -> Result<Writer<W>, SnapshotError> {
        let json = serde_json::to_vec(&header).map_err(|e| SnapshotError::BadHeader(e.to_string()))?;
        let mut head = Vec::with_capacity(16 + json.len() + 4);
        head.extend_from_slice(&MAGIC);
        head.extend_from_slice(&VERSION.to_le_bytes());
        head.extend_from_slice(&0u16.to_le_bytes());
        head.extend_from_slice(&(json.len() as u32).to_le_bytes());
        head.extend_from_slice(&json);
        let crc = crc32fast::hash(&head);
        head.extend_from_slice(&crc.to_le_bytes());
        out.write_all(&head)?;
        Ok(Writer { out, header, next_file: 0, totals: Totals::default() })
    }

    /// Writes the next file's bytes, read from `source`, which must yield exactly the length
    /// the header gives.
    pub fn write_file(&mut self, mut source: impl Read) -> Result<(), SnapshotError> {
        let index = self.next_file;
        let Some(entry) = self.header.files.get(index).cloned() else {
            return Err(SnapshotError::BadHeader(format!("only {} files were announced", self.header.files.len())));
        };
        let mut buf = vec![0u8; CHUNK_RAW_BYTES];
        let mut offset = 0u64;
        while offset < entry.bytes {
            let want = (entry.bytes - offset).min(CHUNK_RAW_BYTES as u64) as usize;
            source.read_exact(&mut buf[..want]).map_err(|e| {
                io::Error::new(e.kind(), format!("{}: read {offset} of {} bytes: {e}", entry.name, entry.bytes))
            })?;
            self.write_chunk(index as u32, offset, &buf[..want])?;
            offset += want as u64;
        }
        self.next_file += 1;
        Ok(())
    }

    fn write_chunk(&mut self, file: u32, offset: u64, raw: &[u8]) -> Result<(), SnapshotError> {
        let compressed = zstd::bulk::compress(raw, ZSTD_LEVEL)?;
        let mut fields = Vec::with_capacity(CHUNK_FIELDS_BYTES + 4);
        fields.push(TAG_CHUNK);
        fields.extend_from_slice(&file.to_le_bytes());
        fields.extend_from_slice(&offset.to_le_bytes());
        fields.extend_from_slice(&(raw.len() as u32).to_le_bytes());
        fields.extend_from_slice(&(compressed.len() as u32).to_le_bytes());
        fields.extend_from_slice(&crc32fast::hash(raw).to_le_bytes());
        let mut h = crc32fast::Hasher::new();
        h.update(&fields);
        h.update(&compressed);
        fields.extend_from_slice(&h.finalize().to_le_bytes());
        self.out.write_all(&fields)?;
        self.out.write_all(&compressed)?;
        self.totals.chunks += 1;
        self.totals.raw_bytes += raw.len() as u64;
        self.totals.compressed_bytes += compressed.len() as u64;
        Ok(())
    }

    /// Writes the trailer (every announced file must have been written) and returns the
    /// totals and the output.
    pub fn finish(mut self) -> Result<(Totals, W), SnapshotError> {
        if self.next_file != self.header.files.len() {
            return Err(SnapshotError::BadHeader(format!(
                "{} files announced, {} written",
                self.header.files.len(),
                self.next_file
            )));
        }
        let digest = parse_hex_u128(&self.header.digest).map_err(SnapshotError::BadHeader)?;
        let mut t = Vec::with_capacity(45);
        t.push(TAG_TRAILER);
        t.extend_from_slice(&self.totals.chunks.to_le_bytes());
        t.extend_from_slice(&self.totals.raw_bytes.to_le_bytes());
        t.extend_from_slice(&self.totals.compressed_bytes.to_le_bytes());
        t.extend_from_slice(&digest.to_le_bytes());
        let crc = crc32fast::hash(&t);
        t.extend_from_slice(&crc.to_le_bytes());
        self.out.write_all(&t)?;
        self.out.flush()?;
        Ok((self.totals, self.out))
    }
}

/// One verified, decompressed chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Index into the header's files.
    pub file: usize,
    /// Offset in that file.
    pub offset: u64,
    /// The bytes.
    pub data: Vec<u8>,
}

/// Reads and verifies a snapshot chunk by chunk.
#[derive(Debug)]
pub struct Reader<R: Read> {
    /// The source.
    input: R,
    /// The header read.
    header: Header,
    /// The file the next chunk must belong to (or a later one, after empty files).
    file: usize,
    /// The offset it must start at.
    offset: u64,
    /// So far.
    totals: Totals,
    /// Set once the trailer was read and checked.
    done: bool,
}

impl<R: Read> Reader<R> {
    /// Reads and checks the header.
    pub fn new(mut input: R) -> Result<Reader<R>, SnapshotError> {
        let mut head = [0u8; 16];
        read_exact_or(&mut input, &mut head, || SnapshotError::NotASnapshot)?;
        if head[..8] != MAGIC {
            return Err(SnapshotError::NotASnapshot);
        }
        let version = u16::from_le_bytes([head[8], head[9]]);
        if version != VERSION {
            return Err(SnapshotError::Version { found: version, supported: VERSION });
        }
        let len = u32::from_le_bytes([head[12], head[13], head[14], head[15]]) as usize;
        if len > HEADER_BYTES_MAX {
            return Err(SnapshotError::BadHeader(format!("header length {len} is over {HEADER_BYTES_MAX}")));
        }
        let mut json = vec![0u8; len + 4];
        read_exact_or(&mut input, &mut json, || SnapshotError::Truncated { chunks: 0, what: "the header".into() })?;
        let (json, crc) = json.split_at(len);
        let mut h = crc32fast::Hasher::new();
        h.update(&head);
        h.update(json);
        if h.finalize().to_le_bytes() != crc {
            return Err(SnapshotError::BadHeader("checksum mismatch".into()));
        }
        let header: Header = serde_json::from_slice(json).map_err(|e| SnapshotError::BadHeader(e.to_string()))?;
        check_header(&header).map_err(SnapshotError::BadHeader)?;
        Ok(Reader { input, header, file: 0, offset: 0, totals: Totals::default(), done: false })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Totals read so far (all of them once [`Reader::next_chunk`] returned `None`).
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// The next chunk, verified and decompressed; `None` after the trailer, which is checked.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, SnapshotError> {
        if self.done {
            return Ok(None);
        }
        self.skip_finished_files();
        let chunks = self.totals.chunks;
        let mut tag = [0u8; 1];
        read_exact_or(&mut self.input, &mut tag, || SnapshotError::Truncated {
            chunks,
            what: "the next chunk or the trailer".into(),
        })?;
        match tag[0] {
            TAG_CHUNK => self.read_chunk().map(Some),
            TAG_TRAILER => self.read_trailer().map(|()| None),
            other => Err(self.corrupt(format!("unknown tag {other} where a chunk or the trailer starts"))),
        }
    }

    fn skip_finished_files(&mut self) {
        while self.header.files.get(self.file).is_some_and(|f| self.offset >= f.bytes) {
            self.file += 1;
            self.offset = 0;
        }
    }

    fn corrupt(&self, what: String) -> SnapshotError {
        let file = self.header.files.get(self.file).map(|f| f.name.clone()).unwrap_or_default();
        SnapshotError::Corrupt { chunk: self.totals.chunks, file, offset: self.offset, what }
    }

    fn read_chunk(&mut self) -> Result<Chunk, SnapshotError> {
        let chunks = self.totals.chunks;
        let truncated = || SnapshotError::Truncated { chunks, what: format!("chunk {chunks}") };
        let mut f = [0u8; CHUNK_FIELDS_BYTES - 1 + 4];
        read_exact_or(&mut self.input, &mut f, truncated)?;
        let file = u32::from_le_bytes([f[0], f[1], f[2], f[3]]) as usize;
        let offset = u64::from_le_bytes([f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11]]);
        let raw_len = u32::from_le_bytes([f[12], f[13], f[14], f[15]]) as usize;
        let zlen = u32::from_le_bytes([f[16], f[17], f[18], f[19]]) as usize;
        let raw_crc = u32::from_le_bytes([f[20], f[21], f[22], f[23]]);
        let crc = u32::from_le_bytes([f[24], f[25], f[26], f[27]]);
        // Lengths are checked before they size anything: a damaged one is refused, not obeyed.
        if raw_len == 0 || raw_len > CHUNK_RAW_BYTES_MAX || zlen > zstd::zstd_safe::compress_bound(raw_len) {
            return Err(self.corrupt(format!("implausible lengths: {raw_len} raw, {zlen} compressed")));
        }
        let mut compressed = vec![0u8; zlen];
        read_exact_or(&mut self.input, &mut compressed, truncated)?;
        let mut h = crc32fast::Hasher::new();
        h.update(&[TAG_CHUNK]);
        h.update(&f[..24]);
        h.update(&compressed);
        if h.finalize() != crc {
            return Err(self.corrupt("checksum mismatch".into()));
        }
        if file != self.file || offset != self.offset {
            let expected = self.header.files.get(self.file).map(|f| f.name.as_str()).unwrap_or("(none)");
            return Err(self.corrupt(format!(
                "out of place: it says file {file} offset {offset}, the next bytes are file {} ('{expected}') offset {}",
                self.file, self.offset
            )));
        }
        let remaining = self.header.files[self.file].bytes - self.offset;
        if raw_len as u64 > remaining {
            return Err(self.corrupt(format!("{raw_len} bytes where the file has {remaining} left")));
        }
        let data = zstd::bulk::decompress(&compressed, raw_len)
            .map_err(|e| self.corrupt(format!("does not decompress: {e}")))?;
        if data.len() != raw_len || crc32fast::hash(&data) != raw_crc {
            return Err(self.corrupt("the decompressed bytes do not match their checksum".into()));
        }
        let chunk = Chunk { file: self.file, offset: self.offset, data };
        self.offset += raw_len as u64;
        self.totals.chunks += 1;
        self.totals.raw_bytes += raw_len as u64;
        self.totals.compressed_bytes += zlen as u64;
        Ok(chunk)
    }

    fn read_trailer(&mut self) -> Result<(), SnapshotError> {
        let chunks = self.totals.chunks;
        let mut t = [0u8; 44];
        read_exact_or(&mut self.input, &mut t, || SnapshotError::Truncated { chunks, what: "the trailer".into() })?;
        let mut h = crc32fast::Hasher::new();
        h.update(&[TAG_TRAILER]);
        h.update(&t[..40]);
        if h.finalize().to_le_bytes() != t[40..44] {
            return Err(SnapshotError::BadTrailer("checksum mismatch".into()));
        }
        let word = |i: usize| u64::from_le_bytes(t[i..i + 8].try_into().unwrap_or([0; 8]));
        let told = Totals { chunks: word(0), raw_bytes: word(8), compressed_bytes: word(16) };
        if told != self.totals {
            return Err(SnapshotError::BadTrailer(format!(
                "it counts {told:?}, the chunks read make {:?}",
                self.totals
            )));
        }
        if self.file < self.header.files.len() {
            let f = &self.header.files[self.file];
            return Err(SnapshotError::BadTrailer(format!(
                "it comes after {} of {} bytes of '{}'",
                self.offset, f.bytes, f.name
            )));
        }
        let digest = u128::from_le_bytes(t[24..40].try_into().unwrap_or([0; 16]));
        if format!("{digest:032x}") != self.header.digest {
            return Err(SnapshotError::BadTrailer(format!(
                "its digest {digest:032x} is not the header's {}",
                self.header.digest
            )));
        }
        let mut rest = [0u8; 1];
        if self.input.read(&mut rest)? != 0 {
            return Err(SnapshotError::BadTrailer("bytes follow the trailer".into()));
        }
        self.done = true;
        Ok(())
    }
}

impl From<crate::Error> for SnapshotError {
    fn from(e: crate::Error) -> SnapshotError {
        SnapshotError::Database(Box::new(e))
    }
}

/// What [`describe`] finds: the checkpoint record, the files, records per class.
pub type Described = (CheckpointRecord, Vec<FileEntry>, BTreeMap<String, u64>);

/// The files of a database directory's last checkpoint (the checkpoint record first, then
/// each cluster's records file and position map) and its record count per class, read from
/// those files alone (every page is verified on the way). The directory must not change
/// meanwhile: a stopped database, or one whose checkpoints are held off
/// ([`crate::Database::hold_checkpoints`]).
pub fn describe(dir: &Path) -> Result<Described, SnapshotError> {
    let record = checkpoint::read_record(dir)?;
    let mut names = vec![CHECKPOINT_FILE.to_string()];
    let mut clusters = BTreeMap::new();
    for (id, pages) in &record.clusters {
        let (pcl, cpm) = file_names(*id);
        names.push(pcl);
        names.push(cpm);
        clusters.insert(*id, Cluster::open(dir, *id, record.database_id, *pages, record.lsn)?);
    }
    let mut files = Vec::with_capacity(names.len());
    for name in names {
        let path = dir.join(&name);
        let bytes =
            fs::metadata(&path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?.len();
        files.push(FileEntry { name, bytes });
    }
    let schema = State::load_schema(dir, &clusters)?;
    let mut classes = BTreeMap::new();
    for class in schema.classes.values() {
        let n = class.clusters.iter().filter_map(|id| clusters.get(id)).map(Cluster::live_records).sum();
        classes.insert(class.name.clone(), n);
    }
    Ok((record, files, classes))
}

/// Writes the image of the database directory `dir` (see [`describe`] for what it must
/// be), naming the database `database`.
pub fn write_dir<W: Write>(
    dir: &Path,
    database: &str,
    created_unix_ms: u64,
    out: W,
) -> Result<(Header, Totals, W), SnapshotError> {
    let (record, files, classes) = describe(dir)?;
    let header = Header {
        database: database.to_string(),
        database_id: format!("{:032x}", record.database_id),
        lsn: record.lsn,
        created_unix_ms,
        digest: format!("{:032x}", record.digest),
        files,
        classes,
    };
    let mut w = Writer::new(out, header.clone())?;
    for f in &header.files {
        let path = dir.join(&f.name);
        let file = File::open(&path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        w.write_file(file.take(f.bytes))?;
    }
    let (totals, out) = w.finish()?;
    Ok((header, totals, out))
}

/// Writes every file of a snapshot into `dir` (created; it must not exist), verifying every
/// chunk and the trailer, and syncs the files and the directory. On any error the
/// directory is removed: a partial image is never left where it could be taken for a
/// database. `progress` is called with the raw bytes written so far.
pub fn install<R: Read>(
    reader: &mut Reader<R>,
    dir: &Path,
    mut progress: impl FnMut(u64),
) -> Result<(), SnapshotError> {
    if dir.exists() {
        return Err(SnapshotError::Io(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} already exists", dir.display()),
        )));
    }
    let result = install_into(reader, dir, &mut progress);
    if result.is_err() {
        let _ = fs::remove_dir_all(dir);
    }
    result
}

fn install_into<R: Read>(
    reader: &mut Reader<R>,
    dir: &Path,
    progress: &mut impl FnMut(u64),
) -> Result<(), SnapshotError> {
    let at = |p: &Path, e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", p.display()));
    fs::create_dir_all(dir).map_err(|e| at(dir, e))?;
    let names: Vec<String> = reader.header().files.iter().map(|f| f.name.clone()).collect();
    for name in &names {
        // Every file exists, empty ones included.
        let path = dir.join(name);
        File::create(&path).map_err(|e| at(&path, e))?;
    }
    let mut open: Option<(usize, File)> = None;
    let mut written = 0u64;
    while let Some(chunk) = reader.next_chunk()? {
        if open.as_ref().is_none_or(|(i, _)| *i != chunk.file) {
            if let Some((i, f)) = open.take() {
                f.sync_all().map_err(|e| at(&dir.join(&names[i]), e))?;
            }
            let path = dir.join(&names[chunk.file]);
            let f = fs::OpenOptions::new().append(true).open(&path).map_err(|e| at(&path, e))?;
            open = Some((chunk.file, f));
        }
        if let Some((i, f)) = open.as_mut() {
            f.write_all(&chunk.data).map_err(|e| at(&dir.join(&names[*i]), e))?;
        }
        written += chunk.data.len() as u64;
        progress(written);
    }
    if let Some((i, f)) = open.take() {
        f.sync_all().map_err(|e| at(&dir.join(&names[i]), e))?;
    }
    for name in &names {
        let path = dir.join(name);
        File::open(&path).and_then(|f| f.sync_all()).map_err(|e| at(&path, e))?;
    }
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| at(dir, e))?;
    Ok(())
}

/// `read_exact`, mapping an early end to `early()`.
fn read_exact_or(
    input: &mut impl Read,
    buf: &mut [u8],
    early: impl FnOnce() -> SnapshotError,
) -> Result<(), SnapshotError> {
    match input.read_exact(buf) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(early()),
        Err(e) => Err(SnapshotError::Io(e)),
    }
}

/// Names must be plain file names, so an install never writes outside its directory.
fn check_header(h: &Header) -> Result<(), String> {
    parse_hex_u128(&h.digest)?;
    parse_hex_u128(&h.database_id)?;
    let mut seen = std::collections::BTreeSet::new();
    for f in &h.files {
        let plain = !f.name.is_empty()
            && f.name != "."
            && f.name != ".."
            && !f.name.contains(['/', '\\', '\0'])
            && !f.name.starts_with('.');
        if !plain {
            return Err(format!("file name {:?} is not a plain file name", f.name));
        }
        if !seen.insert(f.name.as_str()) {
            return Err(format!("file name {:?} appears twice", f.name));
        }
    }
    Ok(())
}

/// A 32-hex-digit value.
pub fn parse_hex_u128(s: &str) -> Result<u128, String> {
    if s.len() != 32 {
        return Err(format!("{s:?} is not 32 hex digits"));
    }
    u128::from_str_radix(s, 16).map_err(|_| format!("{s:?} is not 32 hex digits"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn header(files: &[(&str, u64)]) -> Header {
        Header {
            database: "db".into(),
            database_id: format!("{:032x}", 7u128),
            lsn: 42,
            created_unix_ms: 1,
            digest: format!("{:032x}", 0xabcdu128),
            files: files.iter().map(|(n, b)| FileEntry { name: (*n).into(), bytes: *b }).collect(),
            classes: BTreeMap::new(),
        }
    }

    fn bytes(n: usize, seed: u8) -> Vec<u8> {
        (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ ((i / 4096) as u8)).collect()
    }

    fn write(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let h = header(&files.iter().map(|(n, b)| (*n, b.len() as u64)).collect::<Vec<_>>());
        let mut w = Writer::new(Vec::new(), h).unwrap();
        for (_, b) in files {
            w.write_file(&b[..]).unwrap();
        }
        w.finish().unwrap().1
    }

    fn read_all(image: &[u8]) -> Result<Vec<Vec<u8>>, SnapshotError> {
        let mut r = Reader::new(image)?;
        let mut out: Vec<Vec<u8>> = r.header().files.iter().map(|_| Vec::new()).collect();
        while let Some(c) = r.next_chunk()? {
            assert_eq!(out[c.file].len() as u64, c.offset);
            out[c.file].extend_from_slice(&c.data);
        }
        Ok(out)
    }

    #[test]
    fn round_trip_with_empty_and_multi_chunk_files() {
        let files = vec![
            ("checkpoint", bytes(100, 1)),
            ("empty", Vec::new()),
            ("cluster9.pcl", bytes(CHUNK_RAW_BYTES * 2 + 123, 2)),
        ];
        let image = write(&files);
        let got = read_all(&image).unwrap();
        assert_eq!(got, files.iter().map(|(_, b)| b.clone()).collect::<Vec<_>>());
    }

    #[test]
    fn every_flipped_byte_and_every_truncation_is_refused() {
        let files = vec![("a", bytes(5000, 3)), ("b", bytes(3000, 4))];
        let image = write(&files);
        for i in 0..image.len() {
            let mut bad = image.clone();
            bad[i] ^= 0x40;
            assert!(read_all(&bad).is_err(), "a flipped byte at {i} of {} went unnoticed", image.len());
        }
        for len in 0..image.len() {
            assert!(read_all(&image[..len]).is_err(), "truncation to {len} went unnoticed");
        }
        let mut longer = image.clone();
        longer.push(0);
        assert!(matches!(read_all(&longer), Err(SnapshotError::BadTrailer(_))));
    }

    #[test]
    fn errors_name_the_chunk_and_the_version() {
        let files = vec![("a", bytes(CHUNK_RAW_BYTES + 10, 5))];
        let image = write(&files);
        // Damage the second chunk's compressed bytes: find it after the first.
        let mut r = Reader::new(&image[..]).unwrap();
        r.next_chunk().unwrap();
        let header_and_first = image.len() - r.input.len();
        let mut bad = image.clone();
        bad[header_and_first + CHUNK_FIELDS_BYTES + 4 + 2] ^= 1;
        match read_all(&bad) {
            Err(SnapshotError::Corrupt { chunk, file, offset, .. }) => {
                assert_eq!((chunk, file.as_str(), offset), (1, "a", CHUNK_RAW_BYTES as u64));
            }
            other => panic!("{other:?}"),
        }
        let mut newer = image.clone();
        newer[8] = 9;
        assert!(matches!(read_all(&newer), Err(SnapshotError::Version { found: 9, supported: VERSION })));
        assert!(matches!(read_all(b"not a snapshot at all"), Err(SnapshotError::NotASnapshot)));
    }

    #[test]
    fn unsafe_file_names_are_refused() {
        for name in ["../x", "a/b", ".hidden", "", ".."] {
            let mut w = Writer::new(Vec::new(), header(&[(name, 0)])).unwrap();
            w.write_file(&b""[..]).unwrap();
            let image = w.finish().unwrap().1;
            assert!(matches!(Reader::new(&image[..]), Err(SnapshotError::BadHeader(_))), "{name:?}");
        }
    }
}
