//! Readers: iterate durable entries from any LSN, across segments, while appends go on.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::format;
use crate::log::Shared;
use crate::segment::{self, ChunkReader, Step};
use crate::storage::StorageFile;
use crate::{Entry, Lsn};

/// An iterator over durable entries, starting at an LSN.
///
/// It yields entries up to the durable LSN at the time of each call, then `None`; call
/// `next` again later to get entries made durable since. It fails with
/// [`Error::Compacted`] if the entries it needs were purged, and with [`Error::Truncated`]
/// once the log is truncated or reset under it (entries it returned may be gone).
#[derive(Debug)]
pub struct WalReader {
    /// The log.
    shared: Arc<Shared>,
    /// The LSN `next` returns.
    next_lsn: Lsn,
    /// The log's truncation counter when this reader first looked.
    truncations: Option<u64>,
    /// The segment being read.
    current: Option<OpenSegment>,
    /// Set after an error; the reader then only repeats it as `None`.
    finished: bool,
}

#[derive(Debug)]
struct OpenSegment {
    /// The segment's first LSN.
    first_lsn: Lsn,
    /// Its format version.
    version: u16,
    /// The file.
    file: Box<dyn StorageFile>,
    /// Offset of the frame holding `next_lsn`.
    offset: u64,
    /// Read-ahead buffer.
    chunks: ChunkReader,
}

impl WalReader {
    pub(crate) fn new(shared: Arc<Shared>, from: Lsn) -> WalReader {
        WalReader { shared, next_lsn: from, truncations: None, current: None, finished: false }
    }

    /// The LSN of the entry `next` would return.
    pub fn next_lsn(&self) -> Lsn {
        self.next_lsn
    }

    fn read_next(&mut self) -> Result<Option<Entry>> {
        let view = self.shared.read_view(self.next_lsn)?;
        match self.truncations {
            None => self.truncations = Some(view.truncations),
            Some(t) if t != view.truncations => return Err(Error::Truncated),
            Some(_) => {}
        }
        if self.next_lsn < view.first_lsn {
            return Err(Error::Compacted(self.next_lsn));
        }
        if self.next_lsn > view.durable_lsn {
            return Ok(None);
        }
        let Some(meta) = view.segment else { return Err(Error::Compacted(self.next_lsn)) };
        let reopen = match &self.current {
            None => true,
            // The entry is in a later segment than the one open.
            Some(cur) => cur.first_lsn != meta.first_lsn,
        };
        if reopen {
            // Start at the index point nearest before the LSN, not at the header.
            let start = view.point.filter(|p| p.lsn <= self.next_lsn).map_or(format::HEADER_BYTES as u64, |p| p.offset);
            self.current = Some(self.open_segment(&meta, start)?);
        }
        let storage = self.shared.storage.clone();
        let Some(cur) = self.current.as_mut() else { return Ok(None) };
        cur.chunks.extend_end(meta.durable_end);
        let name = format::segment_file_name(cur.first_lsn);
        loop {
            let step = segment::frame_at(cur.file.as_ref(), &mut cur.chunks, cur.offset, None, cur.version)
                .map_err(|e| Error::io(storage.path_of(&name), e))?;
            let header = match step {
                Step::Frame(h) => h,
                Step::End => {
                    return Err(Error::Corrupt {
                        segment: storage.path_of(&name),
                        offset: cur.offset,
                        reason: format!("segment ends before durable LSN {}", self.next_lsn),
                    })
                }
                Step::Problem(p) => {
                    return Err(Error::Corrupt {
                        segment: storage.path_of(&name),
                        offset: cur.offset,
                        reason: p.to_string(),
                    })
                }
            };
            let payload_at = cur.offset + header.header_len();
            cur.offset += header.frame_len();
            if header.lsn < self.next_lsn {
                continue; // Skipping forward to the start LSN.
            }
            if header.lsn != self.next_lsn {
                return Err(Error::Corrupt {
                    segment: storage.path_of(&name),
                    offset: payload_at - header.header_len(),
                    reason: format!("frame has LSN {}, expected {}", header.lsn, self.next_lsn),
                });
            }
            let payload = cur
                .chunks
                .get(cur.file.as_ref(), payload_at, header.payload_len as usize)
                .map_err(|e| Error::io(storage.path_of(&name), e))?
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            self.next_lsn = header.lsn.next();
            return Ok(Some(Entry { lsn: header.lsn, term: header.term, kind: header.kind, payload }));
        }
    }

    fn open_segment(&self, meta: &crate::log::SegmentMeta, start: u64) -> Result<OpenSegment> {
        let (first_lsn, durable_end, version) = (meta.first_lsn, meta.durable_end, meta.version);
        let name = format::segment_file_name(first_lsn);
        let file = match self.shared.storage.open_read(&name) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::Compacted(self.next_lsn)),
            Err(e) => return Err(Error::io(self.shared.storage.path_of(&name), e)),
        };
        Ok(OpenSegment { first_lsn, version, file, offset: start, chunks: ChunkReader::new(durable_end) })
    }
}

impl Iterator for WalReader {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        if self.finished {
            return None;
        }
        match self.read_next() {
            Ok(entry) => entry.map(Ok),
            Err(e) => {
                self.finished = true;
                Some(Err(e))
            }
        }
    }
}
