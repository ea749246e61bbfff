//! The in-memory tail: entries appended but not yet durable, so they can be read as soon as
//! the append returns (a Raft leader replicates, and a follower acknowledges, before the
//! local fsync ends).
//!
//! Bounded by `WalOptions::tail_bytes_max`: an append that would grow it past the bound first
//! waits for a group commit (backpressure), unless the tail is empty. Entries leave the tail
//! once durable; from then on readers get them from the segment files.

use std::collections::VecDeque;

use crate::{Entry, Lsn};

/// Entries not yet durable, in LSN order.
#[derive(Debug, Default)]
pub(crate) struct Tail {
    /// The entries, LSNs dense and increasing.
    entries: VecDeque<Entry>,
    /// Sum of their payload sizes.
    bytes: u64,
}

impl Tail {
    /// Adds the next entry.
    pub fn push(&mut self, entry: Entry) {
        if let Some(last) = self.entries.back() {
            assert_eq!(entry.lsn, last.lsn.next(), "the tail's LSNs are dense");
        }
        self.bytes += entry.payload.len() as u64;
        self.entries.push_back(entry);
    }

    /// Drops the entries up to `durable` (now readable from the segments).
    pub fn release_through(&mut self, durable: Lsn) {
        while self.entries.front().is_some_and(|e| e.lsn <= durable) {
            if let Some(e) = self.entries.pop_front() {
                self.bytes -= e.payload.len() as u64;
            }
        }
    }

    /// Drops the entries after `last_kept`.
    pub fn cut_after(&mut self, last_kept: Lsn) {
        while self.entries.back().is_some_and(|e| e.lsn > last_kept) {
            if let Some(e) = self.entries.pop_back() {
                self.bytes -= e.payload.len() as u64;
            }
        }
    }

    /// Copies of the entries with `from <= lsn < until`.
    pub fn copy_range(&self, from: Lsn, until: Lsn) -> Vec<Entry> {
        self.entries.iter().filter(|e| e.lsn >= from && e.lsn < until).cloned().collect()
    }

    /// Payload bytes held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// True if it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
