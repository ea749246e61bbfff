//! An open database: creating and opening (with recovery), consistent reads, checkpoints.
//! The write path (forming, proposing, applying, outcomes) is in `commit.rs`.
//!
//! A [`Database`] is a handle over a shared core: the local applier thread (see
//! `commit.rs`) holds the core too, and is stopped and joined when the handle is dropped.
//!
//! Lock order: forming → view → local queue; forming → applied; applier → state → view;
//! applier → forming (never while holding the state); applier → applied. The applier
//! changes the working state and then publishes a frozen copy of it as the view
//! (`snapshot.rs` has the design and its costs); readers and forming read the view and hold
//! no lock while they read, so a [`Snapshot`] of any length delays no apply and a long
//! apply delays no reader. Every path that changes the working state publishes before it
//! releases it, and before the applied position moves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};

use basalt_wal::{DiskStorage, LogId, Lsn, RecoveryReport, Storage, Wal, WalOptions};

use crate::checkpoint::{self, Repair};
use crate::cluster::{file_names, Cluster};
use crate::commit::{Applied, ApplierThread, Forming, LocalQueue};
use crate::entry::{
    transactions_of, LogPosition, MarkerEntry, TxEntry, BATCH_KIND, BLANK_KIND, ENTRY_KIND, MEMBERSHIP_KIND,
};
use crate::error::{Error, Result};
use crate::schema::Schema;
use crate::snapshot::{ReadGate, Snapshot, Ticket};
use crate::state::State;
use crate::value::Rid;

/// The WAL's directory inside a database directory.
pub const WAL_DIR: &str = "wal";

/// How a database is opened or created.
#[derive(Debug, Clone)]
pub struct Options {
    /// WAL segment size.
    pub wal_segment_bytes: u64,
    /// Run a checkpoint after a commit once this many pages are dirty (8 KiB each).
    pub checkpoint_dirty_pages: usize,
    /// After a checkpoint, delete WAL segments wholly before it. Replication turns this
    /// off and purges by its own retention.
    pub purge_wal_after_checkpoint: bool,
    /// The id of a database being created (replicas take the origin's); random if `None`.
    pub database_id: Option<u128>,
    /// Open redoes the WAL only up to this index (the replicated log's persisted committed
    /// index: the tail after it may be cut by a new leader). `None`: the committed position
    /// in the WAL's meta file if it has one, else every durable entry (a standalone
    /// database whose log is its own).
    pub committed_index: Option<Lsn>,
    /// Where the WAL's segments live; `None`: the database directory's `wal/` folder.
    /// Tests give a `basalt_wal::MemStorage` to inject IO failures.
    pub wal_storage: Option<Arc<dyn Storage>>,
    /// The WAL archive root (`[wal] archive`): sealed segments of this database are copied
    /// to `<dir>/<database directory name>/` before they may be purged. `None`: no archive.
    pub wal_archive: Option<basalt_wal::ArchiveOptions>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            wal_segment_bytes: 64 << 20,
            checkpoint_dirty_pages: 8192,
            purge_wal_after_checkpoint: true,
            database_id: None,
            committed_index: None,
            wal_storage: None,
            wal_archive: None,
        }
    }
}

/// What opening a database found and did.
#[derive(Debug, Clone, Default)]
pub struct OpenReport {
    /// The LSN the cluster files reflected.
    pub checkpoint_lsn: Lsn,
    /// Entries redone from the WAL after it.
    pub redone_entries: u64,
    /// Entries that could not be applied (skipped on every node alike), with why.
    pub failed_entries: Vec<(Lsn, String)>,
    /// Durable entries after the committed index that were not redone (`committed_index`).
    pub uncommitted_entries: u64,
    /// The log position applied after redo.
    pub applied: LogPosition,
    /// The WAL's recovery report.
    pub wal: RecoveryReport,
    /// What was repaired of an interrupted checkpoint.
    pub repair: Repair,
    /// Records, over all clusters.
    pub records: u64,
}

/// The result of a commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Committed {
    /// The entry's LSN (the applied LSN if the transaction changed nothing).
    pub lsn: Lsn,
    /// Temporary RIDs of created records to their real RIDs.
    pub rids: BTreeMap<Rid, Rid>,
}

impl Committed {
    /// The real RID of a temporary one (or the RID itself if not temporary).
    pub fn rid(&self, temp: Rid) -> Rid {
        self.rids.get(&temp).copied().unwrap_or(temp)
    }
}

/// Checkpoints held off; see [`Database::hold_checkpoints`].
#[derive(Debug)]
pub struct CheckpointHold<'a> {
    /// The checkpoint lock.
    _guard: MutexGuard<'a, ()>,
    /// The LSN the cluster files hold.
    pub lsn: Lsn,
}

/// An order-independent hash of every record, at an applied LSN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    /// The hash.
    pub value: u128,
    /// The LSN it reflects.
    pub lsn: Lsn,
}

impl Digest {
    /// The hash as 32 hex digits.
    pub fn hex(&self) -> String {
        format!("{:032x}", self.value)
    }
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Entries applied with success.
    pub(crate) commits: AtomicU64,
    /// Entries skipped as bad.
    pub(crate) failed_entries: AtomicU64,
    /// Checkpoints taken.
    pub(crate) checkpoints: AtomicU64,
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Committed transactions since open.
    pub commits: u64,
    /// Entries that failed to apply since open.
    pub failed_entries: u64,
    /// Checkpoints since open.
    pub checkpoints: u64,
    /// WAL fsyncs since open.
    pub wal_syncs: u64,
    /// WAL bytes written since open.
    pub wal_bytes: u64,
    /// Pages changed since the last checkpoint.
    pub dirty_pages: u64,
    /// The applied LSN.
    pub applied_lsn: u64,
    /// The last checkpoint's LSN.
    pub checkpoint_lsn: u64,
}

/// An open database. `Send + Sync`: share it behind an `Arc`.
#[derive(Debug)]
pub struct Database {
    /// The local applier thread; stopped and joined on drop (declared first: it goes first).
    applier_thread: ApplierThread,
    /// Everything the handle and the applier thread share.
    core: Arc<Core>,
}

/// The shared part of an open database (reached through [`Database`]).
#[derive(Debug)]
pub struct Core {
    /// The database directory.
    pub(crate) dir: PathBuf,
    /// Its log.
    pub(crate) wal: Wal,
    /// The working state: changed by the applier, written back by checkpoints.
    pub(crate) state: Mutex<State>,
    /// The published view: a frozen copy of the working state as of the applied position.
    pub(crate) view: RwLock<Arc<State>>,
    /// Read calls in progress, for checkpoints to wait out before writing pages.
    pub(crate) gate: ReadGate,
    /// The pending guard and the proposals awaiting an outcome; its lock serializes forming.
    pub(crate) forming: Mutex<Forming>,
    /// Entries this node logged itself, awaiting durability and apply.
    pub(crate) local: Mutex<LocalQueue>,
    /// Signalled when the local queue gains work or must stop (only the applier waits).
    pub(crate) local_work: Condvar,
    /// Held while applying (and during a checkpoint's writes), so entries apply in order.
    pub(crate) applier: Mutex<()>,
    /// The applied log position and membership, with waiters for positions.
    pub(crate) applied: Mutex<Applied>,
    /// Held by a running checkpoint.
    pub(crate) checkpointing: Mutex<()>,
    /// Set when a fatal error took the database offline.
    pub(crate) offline: Mutex<Option<String>>,
    /// Options.
    pub(crate) options: Options,
    /// Counters.
    pub(crate) counters: Counters,
    /// The log commits go through instead of the local WAL, once one is routed
    /// ([`Database::route_commits`]): the replicated log.
    pub(crate) router: RwLock<Option<Arc<dyn crate::route::ProposeLog>>>,
}

impl std::ops::Deref for Database {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A random 128-bit id from the standard library's per-process random hash keys.
pub(crate) fn random_id() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut out = 0u128;
    for i in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(i);
        h.write_u128(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0),
        );
        h.write_u32(std::process::id());
        out = (out << 64) | u128::from(h.finish());
    }
    out
}

impl Database {
    /// Creates a database in `dir` (created if missing; it must not hold a database).
    pub fn create(dir: impl AsRef<Path>, options: Options) -> Result<(Database, OpenReport)> {
        let dir = dir.as_ref();
        if dir.join(checkpoint::CHECKPOINT_FILE).exists() {
            return Err(Error::AlreadyExists(dir.to_path_buf()));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        remove_leftovers_of_create(dir)?;
        let database_id = options.database_id.unwrap_or_else(random_id);
        write_initial_checkpoint(dir, database_id)?;
        Database::open(dir, options)
    }

    /// Opens the database in `dir`: finishes an interrupted checkpoint, verifies every page,
    /// rebuilds indexes and redoes the WAL after the checkpoint (up to
    /// [`Options::committed_index`]).
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<(Database, OpenReport)> {
        let dir = dir.as_ref().to_path_buf();
        let first_look = checkpoint::read_record(&dir)?;
        let storage: Arc<dyn Storage> = match &options.wal_storage {
            Some(s) => s.clone(),
            None => Arc::new(DiskStorage::create_dir(dir.join(WAL_DIR)).map_err(|e| Error::io(dir.join(WAL_DIR), e))?),
        };
        check_wal_tail(storage.as_ref(), Lsn(first_look.lsn))?;
        let wal_options = WalOptions {
            segment_bytes_max: options.wal_segment_bytes,
            first_lsn: Lsn(first_look.lsn + 1),
            archive: options.wal_archive.as_ref().map(|a| basalt_wal::ArchiveOptions {
                dir: a.dir.join(dir.file_name().unwrap_or_default()),
                ..a.clone()
            }),
            ..WalOptions::new(LogId(first_look.database_id))
        };
        let (wal, wal_report) = Wal::open(storage, wal_options)?;
        let (record, repair) = checkpoint::recover(&dir)?;
        let mut report =
            OpenReport { checkpoint_lsn: Lsn(record.lsn), wal: wal_report, repair, ..OpenReport::default() };
        let mut st = open_state(&dir, &record, &mut report.repair)?;
        let mut applied = Applied::new(LogPosition { term: record.term, index: Lsn(record.lsn) }, record.membership);
        // The replicated log's persisted committed index bounds redo (the tail after it may
        // be cut by a new leader); a standalone log never records one and redoes everything.
        let committed = options.committed_index.or(wal.meta().committed.map(|c| c.lsn));
        redo(&wal, &mut st, &mut applied, committed, &mut report)?;
        report.records = st.clusters.values().map(Cluster::live_records).sum();
        report.applied = applied.position;
        let view = Arc::new(st.freeze());
        let core = Arc::new(Core {
            dir,
            wal,
            state: Mutex::new(st),
            view: RwLock::new(view),
            gate: ReadGate::default(),
            forming: Mutex::new(Forming::new(applied.position.term)),
            local: Mutex::new(LocalQueue::default()),
            local_work: Condvar::new(),
            applier: Mutex::new(()),
            applied: Mutex::new(applied),
            checkpointing: Mutex::new(()),
            offline: Mutex::new(None),
            options,
            counters: Counters::default(),
            router: RwLock::new(None),
        });
        let applier_thread = ApplierThread::start(core.clone())?;
        Ok((Database { applier_thread, core }, report))
    }

    /// The database directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The database's id (also its WAL's log id).
    pub fn id(&self) -> u128 {
        self.read().database_id
    }

    /// The WAL, for replication and tools.
    pub fn wal(&self) -> &Wal {
        &self.wal
    }

    /// A consistent read view at the current applied LSN. It holds no lock: hold it as long
    /// as a query needs, and commit meanwhile if you like.
    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot::new(&self.gate, || self.current_view())
    }

    /// The working state, for tests that look at what it holds.
    #[cfg(test)]
    pub(crate) fn working(&self) -> MutexGuard<'_, State> {
        self.write()
    }

    /// Why the database is offline, if it is.
    pub fn offline_reason(&self) -> Option<String> {
        lock(&self.offline).clone()
    }

    /// The applied LSN.
    pub fn applied_lsn(&self) -> Lsn {
        lock(&self.applied).position.index
    }

    /// The log position of the last entry applied (what the checkpoint records).
    pub fn applied_position(&self) -> LogPosition {
        lock(&self.applied).position
    }

    /// The membership last applied (opaque bytes of the replication layer; empty if none).
    pub fn membership(&self) -> Vec<u8> {
        lock(&self.applied).membership.clone()
    }

    /// Writes every change applied so far to the cluster files; returns the checkpoint LSN.
    pub fn checkpoint(&self) -> Result<Lsn> {
        let guard = lock(&self.checkpointing);
        self.checkpoint_locked(&guard)
    }

    /// Takes a checkpoint, then holds off every other one for as long as the returned hold
    /// lives: the cluster files stay exactly that checkpoint's state (pages reach them only at
    /// checkpoints) while commits go on in memory and in the WAL. This is what a snapshot image
    /// is read under ([`crate::snapshot_file`]); keep it short, since changed pages accumulate
    /// in memory meanwhile (automatic checkpoints are skipped, not queued).
    pub fn hold_checkpoints(&self) -> Result<CheckpointHold<'_>> {
        let guard = lock(&self.checkpointing);
        let lsn = self.checkpoint_locked(&guard)?;
        Ok(CheckpointHold { _guard: guard, lsn })
    }

    /// Counters and positions, for metrics.
    pub fn stats(&self) -> Stats {
        let wal = self.wal.stats();
        let st = self.read();
        Stats {
            commits: self.counters.commits.load(AtomicOrdering::Relaxed),
            failed_entries: self.counters.failed_entries.load(AtomicOrdering::Relaxed),
            checkpoints: self.counters.checkpoints.load(AtomicOrdering::Relaxed),
            wal_syncs: wal.syncs,
            wal_bytes: wal.bytes_written,
            dirty_pages: st.dirty_pages() as u64,
            applied_lsn: st.applied_lsn.0,
            checkpoint_lsn: st.checkpoint_lsn.0,
        }
    }

    /// Checkpoints and closes. Dropping without closing loses nothing (the WAL has every
    /// commit) but leaves more to redo at the next open.
    pub fn close(self) -> Result<()> {
        self.checkpoint()?;
        let Database { applier_thread, core } = self;
        drop(applier_thread);
        match Arc::try_unwrap(core) {
            Ok(core) => core.wal.close()?,
            // Only the applier thread shares the core, and it has been joined.
            Err(_) => unreachable!("the core is shared after the applier thread stopped"),
        }
        Ok(())
    }
}

impl Core {
    /// The published view, for one short read (a checkpoint waits for it to be dropped
    /// before it writes pages: never hold it across a commit or a checkpoint).
    pub(crate) fn read(&self) -> ViewGuard<'_> {
        let ticket = self.gate.enter();
        ViewGuard { st: self.current_view(), _ticket: ticket }
    }

    /// The working state (the applier's and the checkpoint's).
    pub(crate) fn write(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn current_view(&self) -> Arc<State> {
        Arc::clone(&self.view.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Publishes a frozen copy of the working state as the view readers get.
    pub(crate) fn publish(&self, st: &State) {
        let view = Arc::new(st.freeze());
        let old = std::mem::replace(&mut *self.view.write().unwrap_or_else(|p| p.into_inner()), view);
        // The old view may be the last holder of many page versions: free them unlocked.
        drop(old);
    }

    pub(crate) fn check_online(&self) -> Result<()> {
        match lock(&self.offline).clone() {
            Some(why) => Err(Error::Offline(why)),
            None => Ok(()),
        }
    }

    /// Takes the database offline after a fatal error, and returns that error. Every
    /// waiter is woken: committers whose entries were logged learn their outcome is
    /// unknown; everyone else finds the database offline.
    pub(crate) fn go_offline(&self, e: Error) -> Error {
        {
            let mut off = lock(&self.offline);
            if off.is_none() {
                *off = Some(e.to_string());
            }
        }
        self.abandon_all(|| {
            Error::OutcomeUnknown(format!("the database went offline before the entry was applied: {e}"))
        });
        lock(&self.applied).wake_all();
        e
    }

    pub(crate) fn maybe_checkpoint(&self) {
        let dirty = self.read().dirty_pages();
        if dirty < self.options.checkpoint_dirty_pages {
            return;
        }
        if let Ok(guard) = self.checkpointing.try_lock() {
            // A failure took the database offline already; the committers' writes stand.
            let _ = self.checkpoint_locked(&guard);
        }
    }

    pub(crate) fn checkpoint_locked(&self, _proof: &MutexGuard<'_, ()>) -> Result<Lsn> {
        self.check_online()?;
        let applier = lock(&self.applier);
        let mut st = self.write();
        let (position, membership) = {
            let a = lock(&self.applied);
            (a.position, a.membership.clone())
        };
        assert_eq!(position.index, st.applied_lsn, "the applied position and the state agree");
        let plan = checkpoint::plan(&st, position.term, membership);
        // Snapshots read pages the write below overwrites in the mapped files: keep copies
        // for them, then wait out reads that may have chosen the map before the copies.
        st.preserve_for_readers(self.gate.snapshots_alive());
        self.gate.synchronize();
        if let Err(e) = checkpoint::write(&self.dir, &plan) {
            drop(st);
            return Err(self.go_offline(e));
        }
        let lsn = Lsn(plan.record.lsn);
        for c in st.clusters.values_mut() {
            if let Err(e) = c.finish_checkpoint() {
                drop(st);
                return Err(self.go_offline(e));
            }
        }
        st.dropped.clear();
        st.checkpoint_lsn = lsn;
        self.publish(&st);
        drop(st);
        drop(applier);
        self.counters.checkpoints.fetch_add(1, AtomicOrdering::Relaxed);
        if self.options.purge_wal_after_checkpoint {
            self.wal.purge_before(lsn.next()).map_err(|e| self.go_offline(e.into()))?;
        }
        Ok(lsn)
    }
}

/// Writes the checkpoint of a new, empty database (the state every database starts from).
fn write_initial_checkpoint(dir: &Path, database_id: u128) -> Result<()> {
    let mut clusters = BTreeMap::new();
    let schema = Schema::initial();
    for id in schema.clusters.keys() {
        clusters.insert(*id, Cluster::create(dir, *id, database_id, 0));
    }
    let mut st = State::new(dir.to_path_buf(), database_id, schema, clusters);
    st.initialize()?;
    let plan = checkpoint::plan(&st, 0, Vec::new());
    checkpoint::write(dir, &plan)
}

/// Opens the cluster files a checkpoint record names, checks them against the schema,
/// and builds the state at that checkpoint (indexes included).
fn open_state(dir: &Path, record: &checkpoint::CheckpointRecord, repair: &mut Repair) -> Result<State> {
    let mut clusters = BTreeMap::new();
    for (id, pages) in &record.clusters {
        let c = Cluster::open(dir, *id, record.database_id, *pages, record.lsn);
        clusters.insert(*id, c.map_err(|e| checkpoint::explain_damaged_doublewrite(dir, repair, e))?);
    }
    let schema = State::load_schema(dir, &clusters)?;
    for id in schema.clusters.keys() {
        if !clusters.contains_key(id) {
            let (pcl, _) = file_names(*id);
            return Err(Error::corrupt(
                dir.join(pcl),
                None,
                format!("the schema names cluster {id}, but the checkpoint has no such cluster file"),
            ));
        }
    }
    checkpoint::remove_leftovers(dir, record, repair)?;
    let mut st = State::new(dir.to_path_buf(), record.database_id, schema, clusters);
    st.applied_lsn = Lsn(record.lsn);
    st.checkpoint_lsn = Lsn(record.lsn);
    st.digest = record.digest;
    st.rebuild_indexes().map_err(|e| match e {
        // Stored records breaking a unique index: damage, not a client's duplicate.
        Error::DuplicateKey { index, key, existing } => Error::corrupt(
            dir.join(file_names(existing.cluster).0),
            None,
            format!("unique index '{index}' holds key {key} for record {existing} and another"),
        ),
        other => other,
    })?;
    Ok(st)
}

/// Removes what an interrupted `create` may have left (there is no checkpoint record, so
/// nothing here is a database yet).
fn remove_leftovers_of_create(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        let ours = (name.starts_with("cluster") && (name.ends_with(".pcl") || name.ends_with(".cpm")))
            || name == checkpoint::DOUBLEWRITE_FILE
            || name.ends_with(".tmp");
        if ours {
            std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
        } else if name == WAL_DIR {
            std::fs::remove_dir_all(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
        }
    }
    Ok(())
}

/// Refuses a WAL whose open segment is damaged among the entries the checkpoint holds.
///
/// WAL recovery cuts the open segment at its first invalid frame, taking it for the torn
/// tail of an interrupted write. But every entry up to the checkpoint's LSN was durable
/// before the checkpoint was taken, so an invalid frame among them is damage, and cutting
/// there would also discard the entries after it that redo needs. Checked before the WAL is
/// opened, so nothing is cut; the error names the segment and the frame's offset.
fn check_wal_tail(storage: &dyn Storage, checkpoint_lsn: Lsn) -> Result<()> {
    use basalt_wal::format::{parse_segment_file_name, segment_file_name};
    use basalt_wal::segment;
    let names = match storage.list() {
        Ok(names) => names,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(storage.path_of(""), e)),
    };
    let Some(first) = names.iter().filter_map(|n| parse_segment_file_name(n)).max() else { return Ok(()) };
    let name = segment_file_name(first);
    let path = storage.path_of(&name);
    let io = |e| Error::io(&path, e);
    let file = storage.open_read(&name).map_err(io)?;
    let len = file.len().map_err(io)?;
    let summary = segment::scan(file.as_ref(), first, len, |_, _, _| {}).map_err(io)?;
    let Some((offset, problem)) = summary.problem else { return Ok(()) };
    let last = summary.last_lsn.unwrap_or(first.prev());
    if last >= checkpoint_lsn || segment::is_zeroed(file.as_ref(), offset, len).map_err(io)? {
        return Ok(());
    }
    Err(Error::corrupt(
        &path,
        None,
        format!(
            "frame at byte offset {offset}: {problem}; the entries up to LSN {checkpoint_lsn} are in the \
             checkpoint, so they were durable: this is damage, not a torn write"
        ),
    ))
}

/// Checks that the WAL continues the checkpoint; returns the first LSN to redo, or `None`
/// if the log is empty behind a newer checkpoint (then it was reset to continue after it).
fn redo_start(wal: &Wal, st: &State) -> Result<Option<Lsn>> {
    let status = wal.status();
    let from = st.applied_lsn.next();
    if status.last_lsn < st.applied_lsn {
        if status.first_lsn > status.last_lsn {
            // An empty log behind a newer checkpoint (a restored snapshot): continue after it.
            wal.reset(from)?;
            return Ok(None);
        }
        return Err(Error::corrupt(
            st.dir.join(WAL_DIR),
            None,
            format!("the WAL ends at LSN {} but the checkpoint is at {}", status.last_lsn, st.applied_lsn),
        ));
    }
    if status.first_lsn > from && status.last_lsn >= from {
        return Err(Error::corrupt(
            st.dir.join(WAL_DIR),
            None,
            format!(
                "the WAL starts at LSN {} but entries from {from} are needed after the checkpoint",
                status.first_lsn
            ),
        ));
    }
    Ok(Some(from))
}

/// Redoes the WAL after the checkpoint, up to `committed` if given.
///
/// Terms follow the log: a transaction entry carries the term it was formed in, membership
/// and blank entries the term of the leader that wrote them. A transaction formed in a
/// term older than the log's current one is stale (see `commit.rs`) and is skipped, here
/// exactly as when it was first applied.
fn redo(
    wal: &Wal,
    st: &mut State,
    applied: &mut Applied,
    committed: Option<Lsn>,
    report: &mut OpenReport,
) -> Result<()> {
    let Some(from) = redo_start(wal, st)? else { return Ok(()) };
    let last = wal.status().last_lsn;
    let until = committed.map_or(last, |c| c.min(last));
    if let Some(c) = committed {
        if c > last {
            return Err(Error::corrupt(
                st.dir.join(WAL_DIR),
                None,
                format!("entries up to index {c} are committed, but the WAL ends at LSN {last}"),
            ));
        }
        report.uncommitted_entries = last.0.saturating_sub(c.max(st.applied_lsn).0);
    }
    let wal_dir = st.dir.join(WAL_DIR);
    let corrupt = |lsn: Lsn, e: crate::codec::DecodeError| {
        Error::corrupt(&wal_dir, None, format!("log entry {lsn} cannot be decoded: {e}"))
    };
    for entry in wal.reader(from) {
        let entry = entry?;
        if entry.lsn > until {
            break;
        }
        let mut term = applied.position.term;
        match entry.kind {
            ENTRY_KIND | BATCH_KIND => {
                // Bytes that do not decode refuse the open: they may be a format of a newer
                // build, which other nodes apply, so skipping them here could diverge.
                let members = transactions_of(entry.kind, &entry.payload).map_err(|e| corrupt(entry.lsn, e))?;
                for member in members {
                    let tx = TxEntry::decode(member).map_err(|e| corrupt(entry.lsn, e))?;
                    let result = match crate::commit::stale(&tx, term) {
                        Some(why) => Err(why),
                        None => match st.apply(entry.lsn, &tx) {
                            Ok(()) => Ok(()),
                            Err(Error::BadEntry { reason, .. }) => Err(reason),
                            Err(e) if e.is_deterministic() => Err(e.to_string()),
                            // A local failure (IO, a corrupt page): refuse to open, skip nothing.
                            Err(e) => return Err(e),
                        },
                    };
                    if let Err(why) = result {
                        report.failed_entries.push((entry.lsn, why));
                    }
                    term = term.max(tx.term);
                }
                report.redone_entries += 1;
            }
            MEMBERSHIP_KIND | BLANK_KIND => {
                let marker = MarkerEntry::decode(entry.kind, &entry.payload).map_err(|e| corrupt(entry.lsn, e))?;
                term = term.max(marker.term);
                if let Some(m) = marker.membership {
                    applied.membership = m;
                }
            }
            _ => {}
        }
        st.applied_lsn = entry.lsn;
        applied.position = LogPosition { term, index: entry.lsn };
    }
    Ok(())
}

/// The published view held for one short read, with its gate ticket.
pub(crate) struct ViewGuard<'a> {
    /// The view.
    st: Arc<State>,
    /// Keeps a checkpoint from writing pages while this read may be in the map.
    _ticket: Ticket<'a>,
}

impl std::ops::Deref for ViewGuard<'_> {
    type Target = State;

    fn deref(&self) -> &State {
        &self.st
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Op;
    use crate::tx::Transaction;
    use crate::value::{Document, Value};

    #[test]
    fn replicated_entries_apply_as_on_the_origin() {
        let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (a, _) = Database::create(a_dir.path(), Options::default()).unwrap();
        let follower = Options { database_id: Some(a.id()), ..Options::default() };
        let (b, _) = Database::create(b_dir.path(), follower.clone()).unwrap();
        let mut tx = Transaction::new();
        let v = tx.create("V", Document::new().with("n", Value::Int(1)));
        tx.create_edge("E", v, v, Document::new());
        let v = a.commit(&tx).unwrap().rid(v);
        for e in a.wal().reader(Lsn(1)) {
            let e = e.unwrap();
            b.apply_replicated(e.lsn, &TxEntry::decode(&e.payload).unwrap()).unwrap();
        }
        assert_eq!(b.snapshot().digest(), a.snapshot().digest());
        assert_eq!(b.snapshot().get(v).unwrap(), a.snapshot().get(v).unwrap());

        // An LSN that does not continue the log is refused, and nothing changes.
        let err = b.apply_replicated(Lsn(5), &TxEntry::default()).unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{err}");
        assert!(b.offline_reason().is_none());
        assert_eq!(b.applied_lsn(), Lsn(1));

        // An entry that cannot apply is consumed and changes nothing, as on the origin.
        let digest = b.snapshot().digest().value;
        let bad = TxEntry { ops: vec![Op::Delete { rid: Rid::new(9, 99) }], ..TxEntry::default() };
        assert!(matches!(b.apply_replicated(Lsn(2), &bad), Err(Error::BadEntry { .. })));
        assert_eq!(b.applied_lsn(), Lsn(2));
        assert_eq!(b.snapshot().digest().value, digest);

        // Local commits continue after the replicated entries, and redo gives the same state.
        let mut tx = Transaction::new();
        tx.create("V", Document::new());
        assert_eq!(b.commit(&tx).unwrap().lsn, Lsn(3));
        let digest = b.snapshot().digest();
        drop(b);
        let (b, report) = Database::open(b_dir.path(), follower).unwrap();
        assert_eq!(b.snapshot().digest(), digest);
        assert_eq!(report.failed_entries.len(), 1);
        assert_eq!(report.failed_entries[0].0, Lsn(2));
    }
}
