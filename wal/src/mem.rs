//! `MemStorage`: an in-memory directory that can crash like a disk.
//!
//! Each file keeps two images: what was written, and what was made durable by the last
//! `sync_data`. The directory likewise keeps its live names and the names made durable by
//! the last `sync_dir`. [`MemStorage::crash`] throws away everything not durable, the way a
//! power loss would: a file created or renamed without a directory sync disappears or comes
//! back under its old name, and unsynced appends survive only as a prefix cut at a block
//! boundary, sometimes followed by a block of zeros (the file grew but its data never made
//! it); overwrites of durable bytes likewise survive up to a block boundary. A seed picks
//! among those outcomes, so a failing case can be replayed.
//!
//! Handles opened before a crash belong to the "process" that died: they fail every call
//! afterwards. So does every `MemStorage` clone except the one `crash` was called on (and
//! clones made from it since), so a dying log cannot create, rename or unlock anything in
//! the directory the next "process" opens.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::storage::{Storage, StorageFile};

/// Block size used to tear unsynced appends on a crash.
const TEAR_BLOCK_BYTES: usize = 512;

/// An in-memory directory with crash simulation; clones share the same directory.
#[derive(Debug, Default)]
pub struct MemStorage {
    /// The directory, shared by all clones.
    fs: Arc<Mutex<MemFs>>,
    /// The crash generation this handle lives in; it works only while that is current.
    generation: AtomicU64,
}

impl Clone for MemStorage {
    fn clone(&self) -> MemStorage {
        MemStorage { fs: self.fs.clone(), generation: AtomicU64::new(self.generation.load(Ordering::SeqCst)) }
    }
}

#[derive(Debug, Default)]
struct MemFs {
    /// Bumped by every crash; handles from an older generation are dead.
    generation: u64,
    /// Next inode number.
    next_id: u64,
    /// File contents by inode.
    files: HashMap<u64, MemFile>,
    /// Names as a running process sees them.
    live: BTreeMap<String, u64>,
    /// Names as they would be after a crash.
    durable: BTreeMap<String, u64>,
    /// True while some handle holds the directory lock.
    locked: bool,
    /// When set, `sync_data` and `write_all_at` fail once this many more calls have passed.
    fail_countdown: Option<u64>,
}

#[derive(Debug, Default, Clone)]
struct MemFile {
    /// What reads see.
    data: Vec<u8>,
    /// What survives a crash.
    synced: Vec<u8>,
}

impl MemStorage {
    /// An empty directory.
    pub fn new() -> MemStorage {
        MemStorage::default()
    }

    fn fs(&self) -> MutexGuard<'_, MemFs> {
        self.fs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The directory, if this handle belongs to the current "process".
    fn live_fs(&self) -> io::Result<MutexGuard<'_, MemFs>> {
        let fs = self.fs();
        if fs.generation != self.generation.load(Ordering::SeqCst) {
            return Err(io::Error::other("storage handle from before a simulated crash"));
        }
        Ok(fs)
    }

    /// Simulates a power loss: keeps only durable state (plus a torn prefix of unsynced
    /// appends, chosen by `seed`), releases the lock, and kills every open handle.
    pub fn crash(&self, seed: u64) {
        let mut fs = self.fs();
        let mut rng = SplitMix(seed);
        fs.generation += 1;
        self.generation.store(fs.generation, Ordering::SeqCst);
        fs.locked = false;
        fs.fail_countdown = None;
        let names = fs.durable.clone();
        let mut files = HashMap::new();
        for id in names.values() {
            if files.contains_key(id) {
                continue;
            }
            let Some(f) = fs.files.get(id) else { continue };
            let data = torn_image(f, &mut rng);
            files.insert(*id, MemFile { synced: data.clone(), data });
        }
        fs.files = files;
        fs.live = names;
    }

    /// Makes the `n`-th write or sync from now (0 = the next) and all later ones fail with
    /// an IO error, until the next crash.
    pub fn fail_after(&self, n: u64) {
        self.fs().fail_countdown = Some(n);
    }

    /// A copy of a file's current (written) contents, for tests that corrupt files.
    pub fn read_file(&self, name: &str) -> Option<Vec<u8>> {
        let fs = self.fs();
        fs.live.get(name).and_then(|id| fs.files.get(id)).map(|f| f.data.clone())
    }

    /// Replaces a file's contents, written and durable alike (a corruption from outside).
    pub fn write_file(&self, name: &str, bytes: &[u8]) {
        let mut fs = self.fs();
        let id = match fs.live.get(name) {
            Some(id) => *id,
            None => {
                let id = fs.next_id;
                fs.next_id += 1;
                fs.live.insert(name.to_string(), id);
                fs.durable.insert(name.to_string(), id);
                id
            }
        };
        fs.files.insert(id, MemFile { data: bytes.to_vec(), synced: bytes.to_vec() });
    }

    fn handle(&self, id: u64, writable: bool) -> Box<dyn StorageFile> {
        let generation = self.generation.load(Ordering::SeqCst);
        Box::new(MemHandle { storage: self.clone(), id, writable, generation })
    }
}

/// What a file looks like after a crash.
///
/// Unsynced changes past the first byte that differs from the durable image survive as a
/// prefix cut at a block boundary: written blocks before the cut, the old (durable) bytes
/// after it. Where the file grew, a cut inside the new part may leave a block of zeros (the
/// size reached the disk, the data did not). An unsynced shrink is lost entirely.
fn torn_image(f: &MemFile, rng: &mut SplitMix) -> Vec<u8> {
    if f.data.len() < f.synced.len() || f.data == f.synced {
        return f.synced.clone();
    }
    // Cut points: the first changed byte, every block boundary after it, the end.
    let start = f.data.iter().zip(&f.synced).take_while(|(a, b)| a == b).count();
    let mut cuts = vec![start];
    let mut b = (start / TEAR_BLOCK_BYTES + 1) * TEAR_BLOCK_BYTES;
    while b < f.data.len() {
        cuts.push(b);
        b += TEAR_BLOCK_BYTES;
    }
    cuts.push(f.data.len());
    let cut = cuts[(rng.next() % cuts.len() as u64) as usize];
    let mut image = f.data[..cut].to_vec();
    if cut < f.synced.len() {
        image.extend_from_slice(&f.synced[cut..]);
    } else if cut < f.data.len() && rng.next().is_multiple_of(4) {
        // The file grew but the block's data never reached the disk.
        let zeros = TEAR_BLOCK_BYTES.min(f.data.len() - cut);
        image.resize(cut + zeros, 0);
    }
    image
}

impl Storage for MemStorage {
    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.live_fs()?.live.keys().cloned().collect())
    }

    fn open(&self, name: &str) -> io::Result<Box<dyn StorageFile>> {
        let id = *self.live_fs()?.live.get(name).ok_or(io::ErrorKind::NotFound)?;
        Ok(self.handle(id, true))
    }

    fn open_read(&self, name: &str) -> io::Result<Box<dyn StorageFile>> {
        let id = *self.live_fs()?.live.get(name).ok_or(io::ErrorKind::NotFound)?;
        Ok(self.handle(id, false))
    }

    fn create(&self, name: &str) -> io::Result<Box<dyn StorageFile>> {
        let id = {
            let mut fs = self.live_fs()?;
            if fs.live.contains_key(name) {
                return Err(io::ErrorKind::AlreadyExists.into());
            }
            let id = fs.next_id;
            fs.next_id += 1;
            fs.files.insert(id, MemFile::default());
            fs.live.insert(name.to_string(), id);
            id
        };
        Ok(self.handle(id, true))
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let mut fs = self.live_fs()?;
        let id = fs.live.remove(from).ok_or(io::ErrorKind::NotFound)?;
        fs.live.insert(to.to_string(), id);
        Ok(())
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        self.live_fs()?.live.remove(name).map(|_| ()).ok_or_else(|| io::ErrorKind::NotFound.into())
    }

    fn sync_dir(&self) -> io::Result<()> {
        let mut fs = self.live_fs()?;
        fs.durable = fs.live.clone();
        Ok(())
    }

    fn try_lock(&self) -> io::Result<()> {
        let mut fs = self.live_fs()?;
        if fs.locked {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        fs.locked = true;
        Ok(())
    }

    fn unlock(&self) {
        // A dead "process" holds no lock any more (the crash released it).
        if let Ok(mut fs) = self.live_fs() {
            fs.locked = false;
        }
    }

    fn path_of(&self, name: &str) -> PathBuf {
        PathBuf::from("mem").join(name)
    }
}

#[derive(Debug)]
struct MemHandle {
    storage: MemStorage,
    id: u64,
    writable: bool,
    generation: u64,
}

impl MemHandle {
    /// The file, if this handle is still alive.
    fn with<T>(&self, f: impl FnOnce(&mut MemFs, u64) -> io::Result<T>) -> io::Result<T> {
        let mut fs = self.storage.fs();
        if fs.generation != self.generation {
            return Err(io::Error::other("handle from before a simulated crash"));
        }
        f(&mut fs, self.id)
    }

    fn check_writable(&self) -> io::Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::PermissionDenied, "file opened read-only"))
        }
    }
}

fn injected_failure(fs: &mut MemFs) -> io::Result<()> {
    match fs.fail_countdown {
        Some(0) => Err(io::Error::other("injected IO failure")),
        Some(n) => {
            fs.fail_countdown = Some(n - 1);
            Ok(())
        }
        None => Ok(()),
    }
}

fn file(fs: &mut MemFs, id: u64) -> io::Result<&mut MemFile> {
    fs.files.get_mut(&id).ok_or_else(|| io::ErrorKind::NotFound.into())
}

impl StorageFile for MemHandle {
    fn len(&self) -> io::Result<u64> {
        self.with(|fs, id| Ok(file(fs, id)?.data.len() as u64))
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.with(|fs, id| {
            let data = &file(fs, id)?.data;
            let Ok(start) = usize::try_from(offset) else { return Ok(0) };
            if start >= data.len() {
                return Ok(0);
            }
            let n = buf.len().min(data.len() - start);
            buf[..n].copy_from_slice(&data[start..start + n]);
            Ok(n)
        })
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.check_writable()?;
        self.with(|fs, id| {
            injected_failure(fs)?;
            let data = &mut file(fs, id)?.data;
            let start = usize::try_from(offset).map_err(|_| io::Error::other("offset too large"))?;
            if data.len() < start + buf.len() {
                data.resize(start + buf.len(), 0);
            }
            data[start..start + buf.len()].copy_from_slice(buf);
            Ok(())
        })
    }

    fn sync_data(&self) -> io::Result<()> {
        self.with(|fs, id| {
            injected_failure(fs)?;
            let f = file(fs, id)?;
            f.synced = f.data.clone();
            Ok(())
        })
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.check_writable()?;
        self.with(|fs, id| {
            let len = usize::try_from(len).map_err(|_| io::Error::other("length too large"))?;
            file(fs, id)?.data.resize(len, 0);
            Ok(())
        })
    }
}

/// A small seeded generator (SplitMix64), enough to pick crash outcomes reproducibly.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsynced_file_vanishes_and_synced_data_survives() {
        let s = MemStorage::new();
        let f = s.create("a").unwrap();
        f.write_all_at(b"hello", 0).unwrap();
        f.sync_data().unwrap();
        s.crash(1);
        assert!(s.list().unwrap().is_empty(), "a file never made durable in the directory is gone");

        let f = s.create("b").unwrap();
        f.write_all_at(b"hello", 0).unwrap();
        f.sync_data().unwrap();
        s.sync_dir().unwrap();
        f.write_all_at(&[7u8; 2000], 5).unwrap();
        s.crash(2);
        let data = s.read_file("b").unwrap();
        assert!(data.starts_with(b"hello"));
        assert!(data.len() <= 2005);
        assert!(f.len().is_err(), "handles from before the crash are dead");
    }

    #[test]
    fn clones_from_before_a_crash_are_dead() {
        let s = MemStorage::new();
        let old = s.clone();
        old.try_lock().unwrap();
        s.crash(0);
        assert!(old.create("x").is_err(), "a dead process cannot create files");
        assert!(old.list().is_err());
        s.try_lock().unwrap();
        old.unlock();
        assert!(s.clone().try_lock().is_err(), "a dead process cannot release the new lock");
        assert!(s.clone().create("y").is_ok(), "clones made after the crash work");
    }

    #[test]
    fn torn_tails_vary_with_the_seed() {
        let mut lens = std::collections::BTreeSet::new();
        for seed in 0..64 {
            let s = MemStorage::new();
            let f = s.create("x").unwrap();
            s.sync_dir().unwrap();
            f.write_all_at(&[1u8; 3000], 0).unwrap();
            s.crash(seed);
            lens.insert(s.read_file("x").unwrap().len());
        }
        assert!(lens.len() > 3, "crashes should leave different prefixes: {lens:?}");
        assert!(lens.contains(&0));
    }
}
