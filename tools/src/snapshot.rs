//! What `basalt-snapshot` does: take a snapshot of a database (offline from a stopped home,
//! or online through a running server), inspect and verify snapshot files, and restore a
//! database from a snapshot file or from a `backup/databases/<db>-<time>/` directory.
//!
//! The format is the engine's [`basalt_engine::snapshot_file`]. Every operation that writes
//! does it aside and moves the result into place only once it is whole and verified: a
//! snapshot file is written to `OUT.partial` and renamed; a restore installs into a hidden
//! directory of the home, opens it as a database and checks its digest, and only then moves
//! an existing database of that name to `<home>/backup/databases/` (never deleting it) and
//! renames the new one into place.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use basalt_engine::snapshot_file::{self, Header, Reader, Totals};
use basalt_engine::{Database, Options};

use crate::progress::Progress;

/// The lock file a running server holds in its home (`basalt-server`'s `basalt.lock`).
pub const HOME_LOCK_FILE: &str = "basalt.lock";

/// What a finished operation reports.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The snapshot's header.
    pub header: Header,
    /// Chunk totals (raw and compressed bytes), where the chunks were read or written.
    pub chunks: u64,
    /// Raw bytes.
    pub raw_bytes: u64,
    /// Compressed bytes of the chunks (the file is a little larger).
    pub compressed_bytes: u64,
    /// Seconds taken.
    pub seconds: f64,
    /// Where the database now is (restore), or the snapshot file (create).
    pub path: PathBuf,
    /// Where a database that was in the way was moved (restore with `--replace`).
    pub moved_to_backup: Option<PathBuf>,
    /// What a point-in-time restore (`--until`) replayed from the WAL archive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pitr: Option<crate::pitr::PitrReport>,
}

impl Report {
    fn new(header: Header, totals: Totals, started: Instant, path: PathBuf) -> Report {
        Report {
            header,
            chunks: totals.chunks,
            raw_bytes: totals.raw_bytes,
            compressed_bytes: totals.compressed_bytes,
            seconds: started.elapsed().as_secs_f64(),
            path,
            moved_to_backup: None,
            pitr: None,
        }
    }
}

/// `path: error`, for messages.
fn at(path: &Path) -> impl Fn(io::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

fn now_unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Holds a home's lock, so no server starts on it while we change it; refuses when a
/// server runs there, naming its PID.
#[derive(Debug)]
pub struct HomeLock {
    /// The locked file.
    _file: File,
}

/// Locks `home` (which must exist) the way `basalt-server` does.
pub fn lock_home(home: &Path) -> Result<HomeLock, String> {
    if !home.is_dir() {
        return Err(format!("{}: no such server home", home.display()));
    }
    let path = home.join(HOME_LOCK_FILE);
    let mut file =
        fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(at(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(HomeLock { _file: file }),
        Err(fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            Err(format!(
                "a server (PID {}) is running on {}: stop it first, or take the snapshot online with --url",
                pid.trim(),
                home.display()
            ))
        }
        Err(fs::TryLockError::Error(e)) => Err(format!("{}: {e}", path.display())),
    }
}

/// Counts bytes written through it.
struct Counting<W> {
    inner: W,
    written: u64,
    progress: Progress,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        self.progress.set(self.written);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a file through `fill` to `out.partial`, syncs it, and renames it to `out`.
fn write_aside<T>(
    out: &Path,
    fill: impl FnOnce(BufWriter<File>) -> Result<(T, BufWriter<File>), String>,
) -> Result<T, String> {
    let partial = PathBuf::from(format!("{}.partial", out.display()));
    let file = File::create(&partial).map_err(at(&partial))?;
    let result = fill(BufWriter::with_capacity(1 << 20, file)).and_then(|(t, w)| {
        let file = w.into_inner().map_err(|e| format!("{}: {}", partial.display(), e.error()))?;
        file.sync_all().map_err(at(&partial))?;
        Ok(t)
    });
    let t = match result {
        Ok(t) => t,
        Err(e) => {
            let _ = fs::remove_file(&partial);
            return Err(e);
        }
    };
    fs::rename(&partial, out).map_err(at(out))?;
    sync_parent(out)?;
    Ok(t)
}

fn sync_parent(path: &Path) -> Result<(), String> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent).and_then(|d| d.sync_all()).map_err(at(parent))
}

/// `create --home H --db D OUT`: a snapshot of a database of a stopped home. The database
/// is opened (redoing its WAL) and checkpointed, then its files are written out.
pub fn create_offline(home: &Path, db: &str, out: &Path, quiet: bool) -> Result<Report, String> {
    let started = Instant::now();
    let _lock = lock_home(home)?;
    let dir = home.join("databases").join(db);
    if !dir.is_dir() {
        return Err(format!("{}: no database '{db}' in this home", dir.display()));
    }
    let options = Options { purge_wal_after_checkpoint: false, ..Options::default() };
    let (database, _) = Database::open(&dir, options).map_err(|e| format!("{}: {e}", dir.display()))?;
    database.checkpoint().map_err(|e| format!("{}: {e}", dir.display()))?;
    let (_, files, _) = snapshot_file::describe(&dir).map_err(|e| e.to_string())?;
    let total: u64 = files.iter().map(|f| f.bytes).sum();
    let (header, totals) = write_aside(out, |w| {
        let counting = Counting { inner: w, written: 0, progress: Progress::bytes("snapshot", total, quiet) };
        let (header, totals, counting) =
            snapshot_file::write_dir(&dir, db, now_unix_ms(), counting).map_err(|e| e.to_string())?;
        counting.progress.finish();
        Ok(((header, totals), counting.inner))
    })?;
    database.close().map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(Report::new(header, totals, started, out.to_path_buf()))
}

/// `create --url ... OUT`: a snapshot taken by a running server (`GET /database/{db}/snapshot`),
/// saved, then read back whole to check it.
pub fn create_online(
    url: &str,
    user: &str,
    password: &str,
    db: &str,
    out: &Path,
    quiet: bool,
) -> Result<Report, String> {
    let started = Instant::now();
    let url = format!("{}/database/{db}/snapshot", url.trim_end_matches('/'));
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let auth = format!("Basic {}", crate::console::client::base64(&format!("{user}:{password}")));
    let mut response = agent.get(&url).header("Authorization", &auth).call().map_err(|e| format!("{url}: {e}"))?;
    let status = response.status().as_u16();
    if status != 200 {
        let body = response.body_mut().read_to_string().unwrap_or_default();
        return Err(format!("{url}: the server answered {status}: {}", body.trim()));
    }
    let mut body = response.body_mut().with_config().limit(u64::MAX).reader();
    write_aside(out, |mut w| {
        let mut progress = Progress::bytes("download", 0, quiet);
        let mut buf = vec![0u8; 1 << 20];
        let mut done = 0u64;
        loop {
            let n = body.read(&mut buf).map_err(|e| format!("{url}: the transfer broke after {done} bytes: {e}"))?;
            if n == 0 {
                break;
            }
            w.write_all(&buf[..n]).map_err(at(out))?;
            done += n as u64;
            progress.set(done);
        }
        progress.finish();
        Ok(((), w))
    })?;
    // A server that failed mid-way ends the body early: reading it back finds that.
    let (header, totals) = read_through(out).map_err(|e| {
        let _ = fs::remove_file(out);
        format!("the snapshot from {url} is incomplete or damaged ({e}); nothing was kept")
    })?;
    Ok(Report::new(header, totals, started, out.to_path_buf()))
}

/// Reads every chunk of a snapshot file, checking every checksum.
pub fn read_through(path: &Path) -> Result<(Header, Totals), String> {
    let file = File::open(path).map_err(at(path))?;
    let mut reader = Reader::new(BufReader::with_capacity(1 << 20, file)).map_err(|e| e.to_string())?;
    while reader.next_chunk().map_err(|e| e.to_string())?.is_some() {}
    Ok((reader.header().clone(), reader.totals()))
}

/// `inspect FILE`: the header, and the file's size as the compressed size.
pub fn inspect(path: &Path) -> Result<Report, String> {
    let started = Instant::now();
    let file = File::open(path).map_err(at(path))?;
    let size = file.metadata().map_err(at(path))?.len();
    let reader = Reader::new(BufReader::new(file)).map_err(|e| format!("{}: {e}", path.display()))?;
    let header = reader.header().clone();
    let totals = Totals { chunks: 0, raw_bytes: header.raw_bytes(), compressed_bytes: size };
    Ok(Report::new(header, totals, started, path.to_path_buf()))
}

/// Installs a snapshot file into `dir`, then opens it as a database and checks its LSN and
/// full digest against the header. Returns the header and totals.
fn install_checked(path: &Path, dir: &Path, quiet: bool) -> Result<(Header, Totals), String> {
    let file = File::open(path).map_err(at(path))?;
    let mut reader =
        Reader::new(BufReader::with_capacity(1 << 20, file)).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut progress = Progress::bytes("verify", reader.header().raw_bytes(), quiet);
    snapshot_file::install(&mut reader, dir, |n| progress.set(n)).map_err(|e| format!("{}: {e}", path.display()))?;
    progress.finish();
    let header = reader.header().clone();
    check_opens_as(dir, &header)?;
    Ok((header, reader.totals()))
}

/// Opens `dir` as a database and compares it with the header.
fn check_opens_as(dir: &Path, header: &Header) -> Result<(), String> {
    let (db, _) = Database::open(dir, Options::default())
        .map_err(|e| format!("the snapshot's files do not open as a database: {e}"))?;
    let snap = db.snapshot();
    let digest = snap.full_digest().map_err(|e| format!("the snapshot's records cannot be read: {e}"))?;
    if snap.applied_lsn().0 != header.lsn || digest.hex() != header.digest {
        return Err(format!(
            "the snapshot's records do not match its header: LSN {} digest {} where the header says LSN {} digest {}",
            snap.applied_lsn(),
            digest.hex(),
            header.lsn,
            header.digest
        ));
    }
    drop(snap);
    db.close().map_err(|e| e.to_string())
}

/// `verify FILE`: every checksum, full decompression, and the digest recomputed from the
/// records after installing the files into a scratch directory (removed afterwards).
pub fn verify(path: &Path, scratch: &Path, quiet: bool) -> Result<Report, String> {
    let started = Instant::now();
    let dir = scratch.join(format!(".basalt-snapshot-verify-{}", std::process::id()));
    let result = install_checked(path, &dir, quiet);
    let _ = fs::remove_dir_all(&dir);
    let (header, totals) = result?;
    Ok(Report::new(header, totals, started, path.to_path_buf()))
}

/// What to restore from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A snapshot file.
    File,
    /// A database directory (as a re-sync leaves it in `backup/databases/`).
    Directory,
}

/// `restore FILE|BACKUP_DIR --home H [--as NAME] [--replace]`.
pub fn restore(source: &Path, home: &Path, name: Option<&str>, replace: bool, quiet: bool) -> Result<Report, String> {
    restore_until(source, home, name, replace, quiet, None)
}

/// A point-in-time restore's bound and WAL archive (the `[wal] archive` root, or the
/// database's own folder in it).
#[derive(Debug, Clone)]
pub struct Until {
    /// Up to which LSN or time.
    pub bound: crate::time::Bound,
    /// The archive; `None`: the home's `[wal] archive` setting.
    pub archive: Option<PathBuf>,
}

/// `restore ... [--until LSN|TIME [--archive DIR]]`: a restore, then (with `until`) the
/// archived WAL replayed up to the bound (see `crate::pitr`), all before anything is moved
/// into place.
pub fn restore_until(
    source: &Path,
    home: &Path,
    name: Option<&str>,
    replace: bool,
    quiet: bool,
    until: Option<Until>,
) -> Result<Report, String> {
    let started = Instant::now();
    let kind = if source.is_dir() { Source::Directory } else { Source::File };
    let _lock = lock_home(home)?;
    let databases = home.join("databases");
    fs::create_dir_all(&databases).map_err(at(&databases))?;
    let name = match (name, kind) {
        (Some(n), _) => n.to_string(),
        (None, Source::File) => inspect(source)?.header.database,
        (None, Source::Directory) => backup_dir_database_name(source)?,
    };
    if !valid_db_name(&name) {
        return Err(format!("'{name}' is not a valid database name (letters, digits, '-' and '_'; at most 64)"));
    }
    let target = databases.join(&name);
    if target.exists() && !replace {
        return Err(format!(
            "database '{name}' exists in {}: give --replace to move it to backup/databases/ and restore in its place, \
             or --as NAME to restore beside it",
            home.display()
        ));
    }
    let archive = match &until {
        Some(Until { archive: Some(a), .. }) => Some(a.clone()),
        Some(Until { archive: None, .. }) => Some(crate::pitr::configured_archive(home)?.ok_or_else(|| {
            format!("give --archive DIR: {} sets no [wal] archive in config/basalt.toml", home.display())
        })?),
        None => None,
    };
    let staging = databases.join(format!(".restore-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let mut pitr = None;
    let staged = match kind {
        Source::File => install_checked(source, &staging, quiet),
        Source::Directory => stage_directory(source, &staging, &name),
    }
    .and_then(|(mut header, totals)| {
        if let (Some(u), Some(a)) = (&until, &archive) {
            pitr = Some(crate::pitr::replay_into(&staging, &mut header, a, u.bound, quiet)?);
        }
        Ok((header, totals))
    });
    let (mut header, totals) = match staged {
        Ok(s) => s,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    header.database = name.clone();
    let moved = if target.exists() { Some(move_to_backup(home, &name, &target)?) } else { None };
    fs::rename(&staging, &target).map_err(at(&target))?;
    File::open(&databases).and_then(|d| d.sync_all()).map_err(at(&databases))?;
    let mut report = Report::new(header, totals, started, target);
    report.moved_to_backup = moved;
    report.pitr = pitr;
    Ok(report)
}

/// `GratefulDeadConcerts` from `.../GratefulDeadConcerts-20261207T010203Z`.
fn backup_dir_database_name(dir: &Path) -> Result<String, String> {
    let base = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    match base.rsplit_once('-') {
        Some((name, stamp)) if !name.is_empty() && stamp.chars().next().is_some_and(|c| c.is_ascii_digit()) => {
            Ok(name.to_string())
        }
        _ => Err(format!("{}: name the database with --as NAME (the directory is not NAME-TIME)", dir.display())),
    }
}

/// Copies a database directory (its files and its `wal/`) into `staging`, opens it there
/// (recovery runs on the copy, never on the source) and checks it reads whole.
fn stage_directory(source: &Path, staging: &Path, name: &str) -> Result<(Header, Totals), String> {
    if !source.join(basalt_engine::checkpoint::CHECKPOINT_FILE).is_file() {
        return Err(format!("{}: not a database directory (it has no checkpoint file)", source.display()));
    }
    let raw = copy_tree(source, staging)?;
    let (db, _) =
        Database::open(staging, Options::default()).map_err(|e| format!("{}: does not open: {e}", source.display()))?;
    let snap = db.snapshot();
    let digest = snap.full_digest().map_err(|e| format!("{}: records cannot be read: {e}", source.display()))?;
    let mut classes = std::collections::BTreeMap::new();
    for class in snap.schema().classes.values() {
        classes.insert(class.name.clone(), snap.count(&class.name, false).unwrap_or(0));
    }
    let header = Header {
        database: name.to_string(),
        database_id: format!("{:032x}", db.id()),
        lsn: snap.applied_lsn().0,
        created_unix_ms: now_unix_ms(),
        digest: digest.hex(),
        files: Vec::new(),
        classes,
    };
    drop(snap);
    db.close().map_err(|e| e.to_string())?;
    Ok((header, Totals { chunks: 0, raw_bytes: raw, compressed_bytes: 0 }))
}

/// Copies files and subdirectories (one level of them, as a database has: `wal/`), syncing
/// each file and directory; returns the bytes copied.
pub fn copy_tree(from: &Path, to: &Path) -> Result<u64, String> {
    fs::create_dir_all(to).map_err(at(to))?;
    let mut bytes = 0;
    for entry in fs::read_dir(from).map_err(at(from))? {
        let entry = entry.map_err(at(from))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(at(&src))?;
        if kind.is_dir() {
            bytes += copy_tree(&src, &dst)?;
        } else if kind.is_file() {
            bytes += fs::copy(&src, &dst).map_err(at(&src))?;
            File::open(&dst).and_then(|f| f.sync_all()).map_err(at(&dst))?;
        }
    }
    File::open(to).and_then(|d| d.sync_all()).map_err(at(to))?;
    Ok(bytes)
}

/// Moves `<home>/databases/<name>` to `<home>/backup/databases/<name>-<time>/`.
fn move_to_backup(home: &Path, name: &str, dir: &Path) -> Result<PathBuf, String> {
    let backups = home.join("backup").join("databases");
    fs::create_dir_all(&backups).map_err(at(&backups))?;
    let mut target = backups.join(format!("{name}-{}", utc_stamp(SystemTime::now())));
    let mut n = 1;
    while target.exists() {
        target = backups.join(format!("{name}-{}-{n}", utc_stamp(SystemTime::now())));
        n += 1;
    }
    fs::rename(dir, &target).map_err(|e| format!("moving {} to {}: {e}", dir.display(), target.display()))?;
    File::open(&backups).and_then(|d| d.sync_all()).map_err(at(&backups))?;
    Ok(target)
}

/// `20261207T010203Z`.
pub fn utc_stamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's
/// published algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The server's rule for database names.
fn valid_db_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_and_names() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101T000000Z");
        assert_eq!(utc_stamp(UNIX_EPOCH + std::time::Duration::from_secs(1_796_605_323)), "20261207T010203Z");
        assert_eq!(
            backup_dir_database_name(Path::new("/h/backup/databases/Grateful-Dead-20261207T010203Z")),
            Ok("Grateful-Dead".to_string())
        );
        assert!(backup_dir_database_name(Path::new("/x/copy")).is_err());
    }
}
