//! The one place with `unsafe`: read-only memory maps of cluster files.
//!
//! # Why this is sound here
//! A map is only ever read. The bytes under it change in exactly one way: a checkpoint
//! `pwrite`s pages into the file. A page being written at that moment is always a dirty
//! page, and while a page is dirty every reader reads the in-memory copy, never the map
//! (see `pagefile.rs`); the copy is dropped, under the exclusive state lock, only after the
//! write finished. So no reader ever observes a page while it changes. The file is never
//! truncated while mapped (files are only grown; dropped clusters are unmapped before their
//! files are deleted), and the database directory is locked against other processes.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;

/// A read-only view of the first `len` bytes of a file.
#[derive(Debug, Default)]
pub struct ReadMap {
    /// The map; `None` for an empty view.
    map: Option<memmap2::Mmap>,
}

impl ReadMap {
    /// Maps the first `len` bytes of `file` (which must be at least that long).
    pub fn new(file: &File, len: u64) -> io::Result<ReadMap> {
        if len == 0 {
            return Ok(ReadMap { map: None });
        }
        let len = usize::try_from(len).map_err(|_| io::Error::other("file too large to map"))?;
        // SAFETY: see the module docs: mapped bytes never change while they can be read.
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(file)? };
        Ok(ReadMap { map: Some(map) })
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}
