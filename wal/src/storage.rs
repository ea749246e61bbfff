//! The storage seam: the few file operations the log needs, behind a trait.
//!
//! `DiskStorage` is the real directory on disk. `MemStorage` (in `mem.rs`) keeps files in
//! memory with separate written and durable images, so tests can crash it and see exactly
//! what a power loss would leave. Everything above this module reaches files only through
//! these traits, with explicit offsets (no shared file cursor).

use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A directory of files.
pub trait Storage: Send + Sync + Debug {
    /// The names of the files in the directory, in no particular order.
    fn list(&self) -> io::Result<Vec<String>>;
    /// Opens an existing file for reading and writing.
    fn open(&self, name: &str) -> io::Result<Box<dyn StorageFile>>;
    /// Opens an existing file for reading only.
    fn open_read(&self, name: &str) -> io::Result<Box<dyn StorageFile>>;
    /// Creates a new, empty file; fails if it exists.
    fn create(&self, name: &str) -> io::Result<Box<dyn StorageFile>>;
    /// Renames a file, replacing any file named `to`.
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    /// Removes a file.
    fn remove(&self, name: &str) -> io::Result<()>;
    /// Makes creations, renames and removals in the directory durable.
    fn sync_dir(&self) -> io::Result<()>;
    /// Takes the directory's exclusive lock for this process, or fails with `WouldBlock`.
    fn try_lock(&self) -> io::Result<()>;
    /// Releases the lock taken by `try_lock` (a no-op if it is not held).
    fn unlock(&self);
    /// A path naming `name` in error messages.
    fn path_of(&self, name: &str) -> PathBuf;
}

/// One open file.
// `len` is an IO call returning a Result; an `is_empty` beside it would add nothing.
#[allow(clippy::len_without_is_empty)]
pub trait StorageFile: Send + Sync + Debug {
    /// The file's current length in bytes.
    fn len(&self) -> io::Result<u64>;
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read (0 at the end).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// Writes all of `buf` at `offset`.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Makes the file's data (and its length) durable: `fdatasync`.
    fn sync_data(&self) -> io::Result<()>;
    /// Cuts or extends the file to `len` bytes.
    fn set_len(&self, len: u64) -> io::Result<()>;
}

impl dyn StorageFile + '_ {
    /// Reads exactly `buf.len()` bytes at `offset`, or fails with `UnexpectedEof`.
    pub fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_at(buf, offset) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// A real directory.
#[derive(Debug)]
pub struct DiskStorage {
    /// The directory.
    dir: PathBuf,
    /// The open `LOCK` file while this process holds the directory.
    lock: Mutex<Option<File>>,
}

impl DiskStorage {
    /// Uses `dir`, creating it (and its parents) if missing.
    pub fn create_dir(dir: impl Into<PathBuf>) -> io::Result<DiskStorage> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(DiskStorage::existing(dir))
    }

    /// Uses `dir` as it is, creating nothing (for read-only tools).
    pub fn existing(dir: impl Into<PathBuf>) -> DiskStorage {
        DiskStorage { dir: dir.into(), lock: Mutex::new(None) }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The name of the lock file in a log directory.
pub const LOCK_FILE_NAME: &str = "LOCK";

impl Storage for DiskStorage {
    fn list(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            if let Ok(name) = entry.file_name().into_string() {
                names.push(name);
            }
        }
        Ok(names)
    }

    fn open(&self, name: &str) -> io::Result<Box<dyn StorageFile>> {
        let f = OpenOptions::new().read(true).write(true).open(self.dir.join(name))?;
        Ok(Box::new(DiskFile(f)))
    }

    fn open_read(&self, name: &str) -> io::Result<Box<dyn StorageFile>> {
        Ok(Box::new(DiskFile(File::open(self.dir.join(name))?)))
    }

    fn create(&self, name: &str) -> io::Result<Box<dyn StorageFile>> {
        let f = OpenOptions::new().read(true).write(true).create_new(true).open(self.dir.join(name))?;
        Ok(Box::new(DiskFile(f)))
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        std::fs::rename(self.dir.join(from), self.dir.join(to))
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        std::fs::remove_file(self.dir.join(name))
    }

    fn sync_dir(&self) -> io::Result<()> {
        File::open(&self.dir)?.sync_all()
    }

    fn try_lock(&self) -> io::Result<()> {
        let mut held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        if held.is_some() {
            return Ok(());
        }
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.dir.join(LOCK_FILE_NAME))?;
        match f.try_lock() {
            Ok(()) => {
                *held = Some(f);
                Ok(())
            }
            Err(std::fs::TryLockError::WouldBlock) => Err(io::ErrorKind::WouldBlock.into()),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    fn unlock(&self) {
        // Closing the file releases the lock.
        self.lock.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

#[derive(Debug)]
struct DiskFile(File);

impl StorageFile for DiskFile {
    fn len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        FileExt::read_at(&self.0, buf, offset)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        FileExt::write_all_at(&self.0, buf, offset)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
}
