//! The databases of a node: everything under `<home>/databases/`, opened at start, created
//! and dropped on request, each with its `distributed-config.json`.
//!
//! **Offline databases.** A database that fails to open, or that an IO failure took offline
//! while it served (the engine refuses all work after a failed write or fsync), is OFFLINE:
//! it stays listed ([`Registry::names`], [`Registry::statuses`], with the reason), requests
//! to it get [`RegistryError::Offline`] (503 with the reason, never 404), and the first
//! failure is logged at ERROR with the engine's message (which names the file). The
//! supervisor ([`supervise`]) closes it and tries to reopen it with exponential backoff:
//! each try first writes and fdatasyncs a probe file in the database directory (so a disk
//! still full, or an fsync still failing, does not bring it back only to fail the next
//! write), then opens it afresh, which re-runs recovery. A reopen is logged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use basalt_engine::{Database, Options};
use tracing::{error, info, warn};

use crate::config::{default_db_config_json, DEFAULT_DB_CONFIG_FILE};
use crate::metrics::DbMetrics;
use crate::replication::{Group, GroupOptions, NO_NODE};

/// A database's distributed configuration file, in its directory.
pub const DB_CONFIG_FILE: &str = "distributed-config.json";

/// An open database and what the node knows of it.
#[derive(Debug)]
pub struct DbHandle {
    /// Its name.
    pub name: String,
    /// The engine.
    pub db: Arc<Database>,
    /// Its counters.
    pub metrics: DbMetrics,
    /// Its replicated log, while it runs (every commit goes through it).
    pub group: Mutex<Option<Group>>,
}

/// How the node's databases join their replicated logs (one Raft group each).
#[derive(Debug, Clone)]
pub struct Replication {
    /// The runtime the groups run on (the registry itself is called from blocking code).
    pub runtime: tokio::runtime::Handle,
    /// This node's id in every group.
    pub node_id: u64,
    /// This node's address, as memberships record it.
    pub address: String,
    /// How long opening a database waits for its group to elect this node and form.
    pub ready_within: Duration,
}

impl Replication {
    /// A node id from a node name: stable across restarts, and never [`NO_NODE`].
    pub fn node_id_of(name: &str) -> u64 {
        let id = xxhash_rust::xxh3::xxh3_64(name.as_bytes());
        if id == NO_NODE {
            id - 1
        } else {
            id
        }
    }
}

impl DbHandle {
    /// Stops the replicated log (blocking until it has); commits are refused from here on.
    fn stop_replication(&self, replication: Option<&Replication>) {
        let group = self.group.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let (Some(g), Some(r)) = (group, replication) {
            r.runtime.block_on(g.shutdown());
        }
    }
}

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No such database.
    #[error("database '{0}' does not exist")]
    NotFound(String),
    /// It exists but is OFFLINE on this node (it failed to open, or an IO failure took it
    /// offline); it is reopened automatically once the cause is gone.
    #[error(
        "database '{name}' is OFFLINE on this node: {reason}; it is reopened automatically once the cause is fixed"
    )]
    Offline {
        /// The database.
        name: String,
        /// Why.
        reason: String,
    },
    /// It exists already.
    #[error("database '{0}' already exists")]
    Exists(String),
    /// Requests kept using it; it was not dropped.
    #[error("database '{0}' is still in use; try again")]
    InUse(String),
    /// A name that is not allowed.
    #[error("'{0}' is not a valid database name (letters, digits, '-' and '_', at most 64)")]
    BadName(String),
    /// The engine refused.
    #[error("database '{name}': {source}")]
    Engine {
        /// The database.
        name: String,
        /// Why.
        #[source]
        source: basalt_engine::Error,
    },
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The size of the probe file a reopen writes and syncs first.
const PROBE_BYTES: usize = 1 << 20;
/// The probe file's name in the database directory (`.tmp`: the engine removes a leftover).
const PROBE_FILE: &str = "reopen-probe.tmp";
/// How often the supervisor looks at the databases.
const SUPERVISE_POLL: Duration = Duration::from_millis(200);
/// How long a reopen waits for requests still holding the failed database.
const RELEASE_WAIT: Duration = Duration::from_secs(5);

/// Whether a database serves, for status pages and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbStatus {
    /// The database.
    pub name: String,
    /// Why it is OFFLINE (None: it is ONLINE).
    pub offline_reason: Option<String>,
    /// When it went offline.
    pub offline_since: Option<SystemTime>,
    /// Tries to reopen it so far, in this offline spell.
    pub reopen_attempts: u32,
    /// Its applied LSN (None while it is closed).
    pub applied_lsn: Option<u64>,
}

impl DbStatus {
    /// `ONLINE` or `OFFLINE`, as `/listDatabases` and `/distributed/status` show it.
    pub fn status(&self) -> &'static str {
        if self.offline_reason.is_some() {
            "OFFLINE"
        } else {
            "ONLINE"
        }
    }
}

/// The waits between tries to reopen an offline database.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Backoff {
    /// The wait before try number `attempt + 1`.
    fn after(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// A database that is known but does not serve.
#[derive(Debug)]
struct OfflineDb {
    /// Why (the first failure of this spell).
    reason: String,
    /// When it went offline.
    since: Instant,
    /// The same, as wall-clock time.
    since_wall: SystemTime,
    /// Tries to reopen so far.
    attempts: u32,
    /// When the next try is due.
    next_try: Instant,
    /// A try runs now (drop waits for it).
    busy: bool,
    /// The failed engine instance, until the requests still holding it let go.
    lingering: Option<Arc<DbHandle>>,
}

/// True for names a database may have.
pub fn valid_db_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The node's databases.
#[derive(Debug)]
pub struct Registry {
    /// `<home>/databases`.
    dir: PathBuf,
    /// `<home>/config`.
    config_dir: PathBuf,
    /// Engine options for every database.
    options: Options,
    /// Open databases by name.
    dbs: RwLock<BTreeMap<String, Arc<DbHandle>>>,
    /// Known databases that do not serve, by name (never also in `dbs`).
    offline: Mutex<BTreeMap<String, OfflineDb>>,
    /// The waits between reopen tries.
    backoff: Backoff,
    /// The replicated logs; `None` only in tools and tests that use the engine alone.
    replication: Option<Replication>,
    /// Held while a database is created (so two creates of one name cannot race).
    creating: Mutex<()>,
}

impl Registry {
    /// A registry over `<home>/databases`, with nothing open yet.
    pub fn new(home: &Path, options: Options) -> Registry {
        Registry {
            dir: home.join("databases"),
            config_dir: home.join("config"),
            options,
            dbs: RwLock::new(BTreeMap::new()),
            offline: Mutex::new(BTreeMap::new()),
            backoff: Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(60) },
            replication: None,
            creating: Mutex::new(()),
        }
    }

    /// Runs every database through its own replicated log (a group of one until peers join).
    pub fn with_replication(mut self, replication: Replication) -> Registry {
        self.replication = Some(replication);
        self
    }

    /// Wraps an open engine into a handle, starting its replicated log.
    fn attach(&self, name: &str, db: Database, metrics: DbMetrics) -> Result<Arc<DbHandle>, RegistryError> {
        let db = Arc::new(db);
        let group = match &self.replication {
            None => None,
            Some(r) => {
                let options = GroupOptions::new(r.node_id, r.address.clone(), name);
                let started = r.runtime.block_on(Group::start(db.clone(), options, r.ready_within));
                Some(started.map_err(|e| RegistryError::Engine {
                    name: name.into(),
                    source: basalt_engine::Error::Offline(e),
                })?)
            }
        };
        Ok(Arc::new(DbHandle { name: name.to_string(), db, metrics, group: Mutex::new(group) }))
    }

    /// Once no request holds the handle (waiting up to `limit`; `Err` gives it back if one
    /// still does), stops its replicated log and gives back its engine. `Ok(None)`: the
    /// group's tasks still held the engine after stopping, so it was let go unclosed (the
    /// WAL has every commit).
    fn release(&self, h: Arc<DbHandle>, limit: Duration) -> Result<(Option<Database>, DbMetrics), Arc<DbHandle>> {
        let h = Arc::try_unwrap(wait_for(h, limit))?;
        h.stop_replication(self.replication.as_ref());
        let DbHandle { name, db, metrics, .. } = h;
        // The group's tasks end with its shutdown, and their engine references with them.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Arc::strong_count(&db) > 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        match Arc::try_unwrap(db) {
            Ok(db) => Ok((Some(db), metrics)),
            Err(_) => {
                warn!(database = %name, "the replicated log still held the engine after stopping; not closed cleanly (the WAL has every commit)");
                Ok((None, metrics))
            }
        }
    }

    /// Sets the waits between tries to reopen an offline database.
    pub fn with_backoff(mut self, backoff: Backoff) -> Registry {
        self.backoff = backoff;
        self
    }

    /// Opens every database found on disk. A database that fails to open is logged at
    /// ERROR and listed OFFLINE (the supervisor retries it); the others serve.
    pub fn open_all(&self) -> Result<Vec<(String, String)>, RegistryError> {
        let mut failures = Vec::new();
        let entries =
            std::fs::read_dir(&self.dir).map_err(|source| RegistryError::Io { path: self.dir.clone(), source })?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| valid_db_name(n))
            .collect();
        names.sort();
        for name in names {
            if let Err(e) = self.open(&name, DbMetrics::default()) {
                let reason = e.to_string();
                error!(database = %name, error = %reason, "database failed to open; it is OFFLINE and will be retried");
                self.mark_offline(&name, reason.clone(), None);
                failures.push((name, reason));
            }
        }
        Ok(failures)
    }

    fn db_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Opens one database from disk.
    fn open(&self, name: &str, metrics: DbMetrics) -> Result<Arc<DbHandle>, RegistryError> {
        let dir = self.db_dir(name);
        let started = Instant::now();
        let (db, report) = Database::open(&dir, self.options.clone())
            .map_err(|source| RegistryError::Engine { name: name.into(), source })?;
        self.ensure_db_config(&dir)?;
        info!(
            database = %name,
            records = report.records,
            checkpoint_lsn = report.checkpoint_lsn.0,
            recovered_entries = report.redone_entries,
            failed_entries = report.failed_entries.len(),
            torn_wal_tail = report.wal.torn_tail.is_some(),
            pages_repaired = report.repair.pages_rewritten,
            ms = started.elapsed().as_millis() as u64,
            "database loaded"
        );
        if let Some(t) = &report.wal.torn_tail {
            warn!(database = %name, segment = %t.segment, offset = t.offset, bytes = t.bytes_cut, reason = %t.reason, "cut a torn WAL tail (an unacknowledged write)");
        }
        for (lsn, why) in &report.failed_entries {
            warn!(database = %name, lsn = lsn.0, reason = %why, "log entry skipped on redo (it failed when first applied too)");
        }
        let handle = self.attach(name, db, metrics)?;
        self.write().insert(name.to_string(), handle.clone());
        Ok(handle)
    }

    /// Copies the default distributed configuration into a database on its first load.
    fn ensure_db_config(&self, dir: &Path) -> Result<(), RegistryError> {
        let target = dir.join(DB_CONFIG_FILE);
        if target.exists() {
            return Ok(());
        }
        let source = self.config_dir.join(DEFAULT_DB_CONFIG_FILE);
        let text = match std::fs::read_to_string(&source) {
            Ok(t) => t,
            Err(_) => serde_json::to_string_pretty(&default_db_config_json()).unwrap_or_default(),
        };
        std::fs::write(&target, text).map_err(|source| RegistryError::Io { path: target.clone(), source })
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<DbHandle>>> {
        self.dbs.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<DbHandle>>> {
        self.dbs.read().unwrap_or_else(|p| p.into_inner())
    }

    fn offline(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, OfflineDb>> {
        self.offline.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a database as OFFLINE (keeping the first reason of a spell).
    fn mark_offline(&self, name: &str, reason: String, lingering: Option<Arc<DbHandle>>) {
        let now = Instant::now();
        let mut off = self.offline();
        let entry = off.entry(name.to_string()).or_insert_with(|| OfflineDb {
            reason,
            since: now,
            since_wall: SystemTime::now(),
            attempts: 0,
            next_try: now + self.backoff.after(0),
            busy: false,
            lingering: None,
        });
        if lingering.is_some() {
            entry.lingering = lingering;
        }
    }

    /// Moves an open database whose engine went offline out of service: logs the failure
    /// at ERROR (once: only the caller that removes it logs) and lists it OFFLINE.
    fn take_offline(&self, h: &Arc<DbHandle>, reason: String) {
        let removed = {
            let mut dbs = self.write();
            match dbs.get(&h.name) {
                Some(current) if Arc::ptr_eq(current, h) => dbs.remove(&h.name),
                _ => None,
            }
        };
        if let Some(handle) = removed {
            error!(
                database = %h.name,
                error = %reason,
                "database OFFLINE after an IO failure; requests answer 503 until it is reopened (retried automatically)"
            );
            self.mark_offline(&h.name, reason, Some(handle));
        }
    }

    /// `<home>/databases`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The engine options every database opens with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Opens a database that was just moved into `<home>/databases/` (one built elsewhere).
    pub fn open_new(&self, name: &str) -> Result<Arc<DbHandle>, RegistryError> {
        if !valid_db_name(name) {
            return Err(RegistryError::BadName(name.to_string()));
        }
        if self.read().contains_key(name) || self.offline().contains_key(name) {
            return Err(RegistryError::Exists(name.to_string()));
        }
        self.open(name, DbMetrics::default())
    }

    /// A database that serves: [`RegistryError::Offline`] (with the reason) for one that is
    /// known but offline, [`RegistryError::NotFound`] only for one that does not exist.
    pub fn get(&self, name: &str) -> Result<Arc<DbHandle>, RegistryError> {
        let open = self.read().get(name).cloned();
        if let Some(h) = open {
            return match h.db.offline_reason() {
                None => Ok(h),
                Some(reason) => {
                    self.take_offline(&h, reason.clone());
                    Err(RegistryError::Offline { name: name.to_string(), reason })
                }
            };
        }
        match self.offline().get(name) {
            Some(o) => Err(RegistryError::Offline { name: name.to_string(), reason: o.reason.clone() }),
            None => Err(RegistryError::NotFound(name.to_string())),
        }
    }

    /// Names of every database on this node, ONLINE and OFFLINE, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.read().keys().cloned().collect();
        names.extend(self.offline().keys().cloned());
        names.sort();
        names.dedup();
        names
    }

    /// Every open database (an OFFLINE one that the supervisor has not closed yet too).
    pub fn all(&self) -> Vec<Arc<DbHandle>> {
        self.read().values().cloned().collect()
    }

    /// Every database with its status and, if OFFLINE, why; sorted by name. For status
    /// pages and metrics.
    pub fn statuses(&self) -> Vec<DbStatus> {
        let mut out: Vec<DbStatus> = self
            .all()
            .iter()
            .map(|h| DbStatus {
                name: h.name.clone(),
                offline_reason: h.db.offline_reason(),
                offline_since: None,
                reopen_attempts: 0,
                applied_lsn: Some(h.db.applied_lsn().0),
            })
            .collect();
        for (name, o) in self.offline().iter() {
            out.retain(|s| &s.name != name);
            out.push(DbStatus {
                name: name.clone(),
                offline_reason: Some(o.reason.clone()),
                offline_since: Some(o.since_wall),
                reopen_attempts: o.attempts,
                applied_lsn: None,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Creates a database.
    pub fn create(&self, name: &str) -> Result<Arc<DbHandle>, RegistryError> {
        if !valid_db_name(name) {
            return Err(RegistryError::BadName(name.to_string()));
        }
        let dir = self.db_dir(name);
        // Creates are serialized by their own lock, not the map's: starting the replicated
        // log needs the async workers, and those take the map's lock for every request.
        let _creating = self.creating.lock().unwrap_or_else(|p| p.into_inner());
        if self.read().contains_key(name) || self.offline().contains_key(name) || dir.exists() {
            return Err(RegistryError::Exists(name.to_string()));
        }
        let (db, _) = Database::create(&dir, self.options.clone())
            .map_err(|source| RegistryError::Engine { name: name.into(), source })?;
        self.ensure_db_config(&dir)?;
        info!(database = %name, "database created");
        let handle = self.attach(name, db, DbMetrics::default())?;
        self.write().insert(name.to_string(), handle.clone());
        Ok(handle)
    }

    /// Closes and deletes a database (an OFFLINE one too). Requests already holding it
    /// finish first.
    pub fn drop_db(&self, name: &str) -> Result<(), RegistryError> {
        let offline = {
            let mut off = self.offline();
            match off.get(name) {
                Some(o) if o.busy => return Err(RegistryError::InUse(name.to_string())),
                Some(_) => off.remove(name),
                None => None,
            }
        };
        match offline {
            Some(o) => {
                if let Some(h) = o.lingering {
                    drop(self.release(h, Duration::from_secs(30)));
                }
            }
            None => {
                let handle = self.write().remove(name).ok_or_else(|| RegistryError::NotFound(name.to_string()))?;
                match self.release(handle, Duration::from_secs(30)) {
                    Ok(db) => drop(db),
                    Err(h) => {
                        self.write().insert(name.to_string(), h);
                        return Err(RegistryError::InUse(name.to_string()));
                    }
                }
            }
        }
        let dir = self.db_dir(name);
        std::fs::remove_dir_all(&dir).map_err(|source| RegistryError::Io { path: dir.clone(), source })?;
        info!(database = %name, "database dropped");
        Ok(())
    }

    /// Checkpoints and closes every database (shutdown).
    pub fn close_all(&self) {
        let all: Vec<Arc<DbHandle>> = std::mem::take(&mut *self.write()).into_values().collect();
        for h in all {
            let name = h.name.clone();
            match self.release(h, Duration::from_secs(30)) {
                Ok((Some(db), _)) => match db.close() {
                    Ok(()) => info!(database = %name, "database closed cleanly"),
                    Err(e) => warn!(database = %name, error = %e, "database close failed; the WAL has every commit"),
                },
                Ok((None, _)) => {}
                Err(_) => warn!(database = %name, "database still in use at shutdown; the WAL has every commit"),
            }
        }
        let lingering: Vec<Arc<DbHandle>> = self.offline().values_mut().filter_map(|o| o.lingering.take()).collect();
        drop(lingering);
    }

    /// One supervisor round: takes databases whose engine went offline out of service, and
    /// returns the OFFLINE ones whose next reopen try is due (marked busy).
    fn due_for_reopen(&self) -> Vec<String> {
        for h in self.all() {
            if let Some(reason) = h.db.offline_reason() {
                self.take_offline(&h, reason);
            }
        }
        let now = Instant::now();
        let mut off = self.offline();
        let mut due = Vec::new();
        for (name, o) in off.iter_mut() {
            if !o.busy && o.next_try <= now {
                o.busy = true;
                due.push(name.clone());
            }
        }
        due
    }

    /// One try to reopen an OFFLINE database (blocking: it syncs and runs recovery).
    fn try_reopen(&self, name: &str) {
        let lingering = self.offline().get_mut(name).and_then(|o| o.lingering.take());
        let result = self.reopen(name, lingering);
        let mut off = self.offline();
        let Some(o) = off.get_mut(name) else { return };
        o.busy = false;
        match result {
            Ok(()) => {
                let was = off.remove(name);
                drop(off);
                if let Some(was) = was {
                    warn!(
                        database = %name,
                        offline_ms = was.since.elapsed().as_millis() as u64,
                        attempts = was.attempts + 1,
                        was = %was.reason,
                        "database reopened after its failure (recovery re-run); ONLINE again"
                    );
                }
            }
            Err((why, lingering)) => {
                o.attempts += 1;
                let wait = self.backoff.after(o.attempts);
                o.next_try = Instant::now() + wait;
                o.lingering = lingering;
                warn!(database = %name, attempt = o.attempts, retry_in_ms = wait.as_millis() as u64, error = %why, "database still OFFLINE: reopening failed");
            }
        }
    }

    /// Releases the failed instance, probes the disk, opens the database afresh.
    fn reopen(&self, name: &str, lingering: Option<Arc<DbHandle>>) -> Result<(), (String, Option<Arc<DbHandle>>)> {
        let mut metrics = DbMetrics::default();
        if let Some(h) = lingering {
            match self.release(h, RELEASE_WAIT) {
                // Dropping the failed engine releases its WAL lock and files.
                Ok((_, kept)) => metrics = kept,
                Err(h) => return Err(("requests still hold the failed instance".into(), Some(h))),
            }
        }
        let dir = self.db_dir(name);
        probe(&dir).map_err(|e| (format!("{}: {e}", dir.join(PROBE_FILE).display()), None))?;
        // `open` inserts it into `dbs`; the caller then removes the OFFLINE entry.
        self.open(name, metrics).map(|_| ()).map_err(|e| (e.to_string(), None))
    }
}

/// Writes, fdatasyncs and removes a probe file: a disk still full or an fsync still failing
/// fails here rather than on the next client write.
fn probe(dir: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let path = dir.join(PROBE_FILE);
    let result = (|| {
        let mut f = std::fs::File::create(&path)?;
        f.write_all(&vec![0u8; PROBE_BYTES])?;
        f.sync_data()?;
        std::fs::File::open(dir)?.sync_all()
    })();
    let _ = std::fs::remove_file(&path);
    result
}

/// Watches the databases until `stop` turns true: takes failed ones out of service and
/// reopens OFFLINE ones with backoff (see the module doc).
pub async fn supervise(app: Arc<crate::app::App>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SUPERVISE_POLL) => {}
            _ = stop.changed() => return,
        }
        for name in app.registry.due_for_reopen() {
            let a = app.clone();
            // One at a time: a reopen re-runs recovery, which is heavy.
            let _ = tokio::task::spawn_blocking(move || a.registry.try_reopen(&name)).await;
        }
    }
}

/// Waits up to `limit` until `h` is the last reference.
fn wait_for(h: Arc<DbHandle>, limit: Duration) -> Arc<DbHandle> {
    let deadline = Instant::now() + limit;
    while Arc::strong_count(&h) > 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    h
}
