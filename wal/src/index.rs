//! The frame index: where frames start, so a read seeks close to its LSN instead of
//! rescanning a segment from its header.
//!
//! The index is sparse and bounded: it holds the first frame of every segment and then a
//! frame at least [`INDEX_STRIDE_BYTES`] after the last one it holds in the same segment. So
//! a segment of `segment_bytes_max` bytes has at most
//! `segment_bytes_max / INDEX_STRIDE_BYTES + 1` points, and a read scans at most one stride
//! (plus one frame) before its entry. It lives in memory only: recovery rebuilds it while it checks the segments, and appends extend
//! it as they place frames (before the frames are durable; readers only look up durable LSNs,
//! and the point for a durable LSN is a durable frame at or before it).

use crate::Lsn;

/// The minimum distance in bytes between two index points of one segment.
pub(crate) const INDEX_STRIDE_BYTES: u64 = 16 << 10;

/// Where one frame starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexPoint {
    /// The frame's LSN.
    pub lsn: Lsn,
    /// First LSN (name) of the segment holding it.
    pub segment: Lsn,
    /// Byte offset of the frame in that segment.
    pub offset: u64,
}

/// The sparse index of every segment, in LSN order.
#[derive(Debug, Default)]
pub(crate) struct FrameIndex {
    /// Points, LSNs strictly increasing.
    points: Vec<IndexPoint>,
}

impl FrameIndex {
    /// Records that the frame `lsn` starts at `offset` in `segment`, if it is the first frame
    /// of its segment or a stride past the last point.
    pub fn note(&mut self, lsn: Lsn, segment: Lsn, offset: u64) {
        if let Some(last) = self.points.last() {
            assert!(lsn > last.lsn, "index points are noted in LSN order");
            if last.segment == segment && offset < last.offset + INDEX_STRIDE_BYTES {
                return;
            }
        }
        self.points.push(IndexPoint { lsn, segment, offset });
    }

    /// The last point at or before `lsn` in `segment`, if any.
    pub fn locate(&self, lsn: Lsn, segment: Lsn) -> Option<IndexPoint> {
        let at = self.points.partition_point(|p| p.lsn <= lsn);
        let p = *self.points.get(at.checked_sub(1)?)?;
        (p.segment == segment).then_some(p)
    }

    /// Forgets points after `last_kept` (a truncate).
    pub fn cut_after(&mut self, last_kept: Lsn) {
        let keep = self.points.partition_point(|p| p.lsn <= last_kept);
        self.points.truncate(keep);
    }

    /// Forgets points of segments starting before `first` (a purge).
    pub fn drop_segments_before(&mut self, first: Lsn) {
        let drop = self.points.partition_point(|p| p.segment < first);
        self.points.drain(..drop);
    }

    /// Forgets everything (a reset).
    pub fn clear(&mut self) {
        self.points.clear();
    }

    /// Number of points held.
    pub fn len(&self) -> usize {
        self.points.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_sparse_and_found_per_segment() {
        let mut ix = FrameIndex::default();
        // 100-byte frames from offset 64 in segment 1, LSNs 1..=1000.
        for i in 0..1000u64 {
            ix.note(Lsn(1 + i), Lsn(1), 64 + i * 100);
        }
        let bound = (64 + 1000 * 100) / INDEX_STRIDE_BYTES + 1;
        assert!(ix.len() as u64 <= bound, "{} points over the bound {bound}", ix.len());
        let p = ix.locate(Lsn(500), Lsn(1)).expect("a point");
        assert!(p.lsn <= Lsn(500) && 64 + (500 - 1) * 100 - p.offset < INDEX_STRIDE_BYTES + 100);
        ix.note(Lsn(1001), Lsn(1001), 64);
        assert_eq!(ix.locate(Lsn(1001), Lsn(1001)).map(|p| p.offset), Some(64));
        assert_eq!(ix.locate(Lsn(1000), Lsn(1001)), None, "a point of another segment is no use");
        ix.cut_after(Lsn(1000));
        assert_eq!(ix.locate(Lsn(1001), Lsn(1001)), None);
        ix.drop_segments_before(Lsn(1001));
        assert_eq!(ix.len(), 0);
    }
}
