//! An open database: creating and opening (with recovery), committing transactions through
//! the WAL, consistent reads, checkpoints.
//!
//! # The commit pipeline
//! 1. *Form* (under the forming lock, reading the applied state): decide RIDs, check
//!    versions, unique keys and the schema against the applied state plus the pending
//!    entries; submit the entry to the WAL (which assigns its LSN) and register its effects
//!    as pending. The lock is released before the fsync, so the next transaction forms
//!    while this one waits: many commits share one fsync (group commit).
//! 2. *Wait* until the entry is durable in the WAL.
//! 3. *Apply* every durable entry in LSN order (whoever gets there first applies for the
//!    others), under the state's write lock; then drop the entries from the pending guard
//!    and publish the applied LSN.
//!
//! A replication follower enters at step 1 with an entry already formed elsewhere
//! ([`Database::apply_replicated`]): under the forming lock it writes the entry at its LSN
//! and registers it as a barrier in the pending guard, then goes through steps 2 and 3.
//!
//! Lock order: forming → view → queue; applier → queue; applier → state → view;
//! applier → forming (never while holding the state). The applier changes the working
//! state and then publishes a frozen copy of it as the view (`snapshot.rs` has the design
//! and its costs); readers and forming read the view and hold no lock while they read, so
//! a [`Snapshot`] of any length delays no apply and a long apply delays no reader.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use basalt_wal::{DiskStorage, LogId, Lsn, RecoveryReport, Wal, WalOptions};

use crate::checkpoint::{self, Repair};
use crate::cluster::{file_names, Cluster};
use crate::entry::{TxEntry, ENTRY_KIND};
use crate::error::{Error, Result};
use crate::pending::{Effects, Pending};
use crate::schema::Schema;
use crate::snapshot::{ReadGate, Snapshot, Ticket};
use crate::state::State;
use crate::tx::{form, FormError, Transaction};
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
}

impl Default for Options {
    fn default() -> Options {
        Options {
            wal_segment_bytes: 64 << 20,
            checkpoint_dirty_pages: 8192,
            purge_wal_after_checkpoint: true,
            database_id: None,
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
struct Counters {
    commits: AtomicU64,
    failed_entries: AtomicU64,
    checkpoints: AtomicU64,
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

/// Formed entries waiting to be applied, and the outcome of applied ones.
#[derive(Debug, Default)]
struct Queue {
    /// Entries by LSN.
    entries: BTreeMap<Lsn, TxEntry>,
    /// Why an applied entry failed (absent: it succeeded), until its committer reads it.
    failures: HashMap<Lsn, String>,
}

/// An open database. `Send + Sync`: share it behind an `Arc`.
#[derive(Debug)]
pub struct Database {
    /// The database directory.
    dir: PathBuf,
    /// Its log.
    wal: Wal,
    /// The working state: changed by the applier, written back by checkpoints.
    state: Mutex<State>,
    /// The published view: a frozen copy of the working state as of the applied LSN.
    view: RwLock<Arc<State>>,
    /// Read calls in progress, for checkpoints to wait out before writing pages.
    gate: ReadGate,
    /// The pending guard; its lock serializes forming.
    forming: Mutex<Pending>,
    /// Formed entries awaiting apply.
    queue: Mutex<Queue>,
    /// Held while applying (and during a checkpoint's writes), so entries apply in order.
    applier: Mutex<()>,
    /// The LSN up to which entries are applied and forgotten by the pending guard.
    published: Mutex<Lsn>,
    /// Signalled when `published` moves or the database goes offline.
    published_changed: Condvar,
    /// Held by a running checkpoint.
    checkpointing: Mutex<()>,
    /// Set when a fatal error took the database offline.
    offline: Mutex<Option<String>>,
    /// Options.
    options: Options,
    /// Counters.
    counters: Counters,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A random 128-bit id from the standard library's per-process random hash keys.
fn random_id() -> u128 {
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
        let mut clusters = BTreeMap::new();
        let schema = Schema::initial();
        for id in schema.clusters.keys() {
            clusters.insert(*id, Cluster::create(dir, *id, database_id, 0));
        }
        let mut st = State::new(dir.to_path_buf(), database_id, schema, clusters);
        st.initialize()?;
        let plan = checkpoint::plan(&st);
        checkpoint::write(dir, &plan)?;
        Database::open(dir, options)
    }

    /// Opens the database in `dir`: finishes an interrupted checkpoint, verifies every page,
    /// rebuilds indexes and redoes the WAL after the checkpoint.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<(Database, OpenReport)> {
        let dir = dir.as_ref().to_path_buf();
        let first_look = checkpoint::read_record(&dir)?;
        check_wal_tail(&dir.join(WAL_DIR), Lsn(first_look.lsn))?;
        let storage =
            Arc::new(DiskStorage::create_dir(dir.join(WAL_DIR)).map_err(|e| Error::io(dir.join(WAL_DIR), e))?);
        let wal_options = WalOptions {
            segment_bytes_max: options.wal_segment_bytes,
            first_lsn: Lsn(first_look.lsn + 1),
            ..WalOptions::new(LogId(first_look.database_id))
        };
        let (wal, wal_report) = Wal::open(storage, wal_options)?;
        let (record, repair) = checkpoint::recover(&dir)?;
        let mut report =
            OpenReport { checkpoint_lsn: Lsn(record.lsn), wal: wal_report, repair, ..OpenReport::default() };

        let mut clusters = BTreeMap::new();
        for (id, pages) in &record.clusters {
            clusters.insert(*id, Cluster::open(&dir, *id, record.database_id, *pages, record.lsn)?);
        }
        let schema = State::load_schema(&dir, &clusters)?;
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
        checkpoint::remove_leftovers(&dir, &record, &mut report.repair)?;
        let mut st = State::new(dir.clone(), record.database_id, schema, clusters);
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
        redo(&wal, &mut st, &mut report)?;
        report.records = st.clusters.values().map(Cluster::live_records).sum();
        let applied = st.applied_lsn;
        let view = Arc::new(st.freeze());
        let db = Database {
            dir,
            wal,
            state: Mutex::new(st),
            view: RwLock::new(view),
            gate: ReadGate::default(),
            forming: Mutex::new(Pending::default()),
            queue: Mutex::new(Queue::default()),
            applier: Mutex::new(()),
            published: Mutex::new(applied),
            published_changed: Condvar::new(),
            checkpointing: Mutex::new(()),
            offline: Mutex::new(None),
            options,
            counters: Counters::default(),
        };
        Ok((db, report))
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

    /// The working state, for tests that look at what it holds.
    #[cfg(test)]
    pub(crate) fn working(&self) -> MutexGuard<'_, State> {
        self.write()
    }

    /// The published view, for one short read (a checkpoint waits for it to be dropped
    /// before it writes pages: never hold it across a commit or a checkpoint).
    fn read(&self) -> ViewGuard<'_> {
        let ticket = self.gate.enter();
        ViewGuard { st: self.current_view(), _ticket: ticket }
    }

    /// The working state (the applier's and checkpoint's).
    fn write(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn current_view(&self) -> Arc<State> {
        Arc::clone(&self.view.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Publishes a frozen copy of the working state as the view readers get.
    fn publish(&self, st: &State) {
        let view = Arc::new(st.freeze());
        let old = std::mem::replace(&mut *self.view.write().unwrap_or_else(|p| p.into_inner()), view);
        // The old view may be the last holder of many page versions: free them unlocked.
        drop(old);
    }

    /// A consistent read view at the current applied LSN. It holds no lock: hold it as long
    /// as a query needs, and commit meanwhile if you like.
    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot::new(&self.gate, || self.current_view())
    }

    /// Why the database is offline, if it is.
    pub fn offline_reason(&self) -> Option<String> {
        lock(&self.offline).clone()
    }

    fn check_online(&self) -> Result<()> {
        match self.offline_reason() {
            Some(why) => Err(Error::Offline(why)),
            None => Ok(()),
        }
    }

    /// Takes the database offline after a fatal error, and returns that error.
    fn go_offline(&self, e: Error) -> Error {
        let mut off = lock(&self.offline);
        if off.is_none() {
            *off = Some(e.to_string());
        }
        drop(off);
        self.published_changed.notify_all();
        e
    }

    /// Commits a transaction: forms it, logs it, waits until it is durable and applied.
    pub fn commit(&self, tx: &Transaction) -> Result<Committed> {
        self.check_online()?;
        if tx.is_empty() {
            return Ok(Committed { lsn: self.applied_lsn(), rids: BTreeMap::new() });
        }
        loop {
            let (lsn, rids, durable) = {
                let mut pending = lock(&self.forming);
                let formed = {
                    let st = self.read();
                    form(&st, &pending, tx)
                };
                let formed = match formed {
                    Ok(f) => f,
                    Err(FormError::Retry(after)) => {
                        drop(pending);
                        self.wait_applied(after)?;
                        continue;
                    }
                    Err(FormError::Fail(e)) => return Err(e),
                };
                if formed.entry.ops.is_empty() {
                    return Ok(Committed { lsn: self.applied_lsn(), rids: formed.rids });
                }
                let durable = match self.wal.submit(ENTRY_KIND, &formed.entry.encode()) {
                    Ok(d) => d,
                    Err(e @ basalt_wal::Error::TooLarge { .. }) => {
                        return Err(Error::Invalid(format!("transaction too large: {e}")))
                    }
                    Err(e) => return Err(self.go_offline(e.into())),
                };
                let lsn = durable.lsn();
                pending.register(lsn, formed.effects);
                lock(&self.queue).entries.insert(lsn, formed.entry);
                (lsn, formed.rids, durable)
            };
            if let Err(e) = durable.wait() {
                return Err(self.go_offline(e.into()));
            }
            self.wait_applied(lsn)?;
            let failure = lock(&self.queue).failures.remove(&lsn);
            self.maybe_checkpoint();
            return match failure {
                Some(reason) => Err(Error::BadEntry { lsn, reason }),
                None => {
                    self.counters.commits.fetch_add(1, AtomicOrdering::Relaxed);
                    Ok(Committed { lsn, rids })
                }
            };
        }
    }

    /// Applies an entry decided elsewhere, as a replication follower does: appends it to the
    /// local WAL at `lsn` (which must be the next LSN of the log), makes it durable, and
    /// applies it, in that order, so a page never holds a change the local WAL lacks.
    ///
    /// Follows the commit pipeline's locks: the entry is written and queued under the forming
    /// lock (so local commits cannot take its LSN) and registered as a barrier in the pending
    /// guard, so a local transaction forming meanwhile waits until it is applied rather than
    /// checking against a state it is about to change; then it is synced and applied with the
    /// other durable entries.
    ///
    /// An entry that cannot be applied fails with [`Error::BadEntry`], as on every node: it
    /// is consumed (the applied LSN moves past it) and changes nothing, so the follower goes
    /// on with the next one. An `lsn` that does not continue the log, or an entry too large
    /// for it, is [`Error::Invalid`] and changes nothing; an IO failure takes the database
    /// offline.
    pub fn apply_replicated(&self, lsn: Lsn, entry: &TxEntry) -> Result<()> {
        self.check_online()?;
        {
            let mut pending = lock(&self.forming);
            let payload = entry.encode();
            match self.wal.write_at(&[(lsn, ENTRY_KIND, &payload)]) {
                Ok(()) => {}
                Err(e @ (basalt_wal::Error::OutOfSequence { .. } | basalt_wal::Error::TooLarge { .. })) => {
                    return Err(Error::Invalid(format!("replicated entry {lsn}: {e}")))
                }
                Err(e) => return Err(self.go_offline(e.into())),
            }
            pending.register(lsn, Effects { schema: true, ..Effects::default() });
            lock(&self.queue).entries.insert(lsn, entry.clone());
        }
        if let Err(e) = self.wal.sync() {
            return Err(self.go_offline(e.into()));
        }
        self.wait_applied(lsn)?;
        let failure = lock(&self.queue).failures.remove(&lsn);
        self.maybe_checkpoint();
        match failure {
            Some(reason) => Err(Error::BadEntry { lsn, reason }),
            None => Ok(()),
        }
    }

    /// Applies every queued entry that is durable, in LSN order.
    fn apply_durable(&self) {
        let _applier = lock(&self.applier);
        let durable = self.wal.status().durable_lsn;
        let batch: Vec<(Lsn, TxEntry)> = {
            let mut q = lock(&self.queue);
            let mut batch = Vec::new();
            while q.entries.first_key_value().is_some_and(|(l, _)| *l <= durable) {
                if let Some(e) = q.entries.pop_first() {
                    batch.push(e);
                }
            }
            batch
        };
        let Some(last) = batch.last().map(|(l, _)| *l) else { return };
        let mut failures = Vec::new();
        {
            let mut st = self.write();
            for (lsn, entry) in &batch {
                if let Err(e) = st.apply(*lsn, entry) {
                    let reason = match e {
                        Error::BadEntry { reason, .. } => reason,
                        other => other.to_string(),
                    };
                    failures.push((*lsn, reason));
                }
                st.applied_lsn = *lsn;
            }
            self.publish(&st);
        }
        {
            let mut pending = lock(&self.forming);
            for (lsn, _) in &batch {
                pending.applied(*lsn);
            }
        }
        if !failures.is_empty() {
            self.counters.failed_entries.fetch_add(failures.len() as u64, AtomicOrdering::Relaxed);
            lock(&self.queue).failures.extend(failures);
        }
        *lock(&self.published) = last;
        self.published_changed.notify_all();
    }

    /// Waits until `lsn` is applied (applying durable entries itself if needed).
    pub fn wait_applied(&self, lsn: Lsn) -> Result<()> {
        loop {
            if *lock(&self.published) >= lsn {
                return Ok(());
            }
            self.check_online()?;
            if self.wal.status().durable_lsn >= lsn {
                self.apply_durable();
                continue;
            }
            let g = lock(&self.published);
            if *g >= lsn {
                return Ok(());
            }
            let _ = self.published_changed.wait_timeout(g, Duration::from_millis(5)).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The applied LSN.
    pub fn applied_lsn(&self) -> Lsn {
        *lock(&self.published)
    }

    fn maybe_checkpoint(&self) {
        let dirty = self.read().dirty_pages();
        if dirty < self.options.checkpoint_dirty_pages {
            return;
        }
        if let Ok(guard) = self.checkpointing.try_lock() {
            // A failure took the database offline already; the committer's write stands.
            let _ = self.checkpoint_locked(&guard);
        }
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

    fn checkpoint_locked(&self, _proof: &MutexGuard<'_, ()>) -> Result<Lsn> {
        self.check_online()?;
        let applier = lock(&self.applier);
        let mut st = self.write();
        let plan = checkpoint::plan(&st);
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
        self.wal.close()?;
        Ok(())
    }
}

/// The published view held for one short read, with its gate ticket.
struct ViewGuard<'a> {
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
fn check_wal_tail(wal_dir: &Path, checkpoint_lsn: Lsn) -> Result<()> {
    use basalt_wal::format::{parse_segment_file_name, segment_file_name};
    use basalt_wal::segment;
    use basalt_wal::Storage;
    let storage = DiskStorage::existing(wal_dir);
    let names = match storage.list() {
        Ok(names) => names,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(wal_dir, e)),
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

/// Redoes the WAL after the checkpoint.
fn redo(wal: &Wal, st: &mut State, report: &mut OpenReport) -> Result<()> {
    let status = wal.status();
    let from = st.applied_lsn.next();
    if status.last_lsn < st.applied_lsn {
        if status.first_lsn > status.last_lsn {
            // An empty log behind a newer checkpoint (a restored snapshot): continue after it.
            wal.reset(from)?;
            return Ok(());
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
    for entry in wal.reader(from) {
        let entry = entry?;
        if entry.kind == ENTRY_KIND {
            let tx = TxEntry::decode(&entry.payload).map_err(|e| {
                Error::corrupt(st.dir.join(WAL_DIR), None, format!("log entry {} cannot be decoded: {e}", entry.lsn))
            })?;
            if let Err(e) = st.apply(entry.lsn, &tx) {
                report.failed_entries.push((entry.lsn, e.to_string()));
            }
            report.redone_entries += 1;
        }
        st.applied_lsn = entry.lsn;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Op;
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
        let bad = TxEntry { ops: vec![Op::Delete { rid: Rid::new(9, 99) }] };
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
