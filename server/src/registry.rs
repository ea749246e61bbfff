//! The databases of a node: everything under `<home>/databases/`, opened at start, created
//! and dropped on request, each with its `distributed-config.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use basalt_engine::{Database, Options};
use tracing::{info, warn};

use crate::config::{default_db_config_json, DEFAULT_DB_CONFIG_FILE};
use crate::metrics::DbMetrics;

/// A database's distributed configuration file, in its directory.
pub const DB_CONFIG_FILE: &str = "distributed-config.json";

/// An open database and what the node knows of it.
#[derive(Debug)]
pub struct DbHandle {
    /// Its name.
    pub name: String,
    /// The engine.
    pub db: Database,
    /// Its counters.
    pub metrics: DbMetrics,
}

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No such database.
    #[error("database '{0}' does not exist")]
    NotFound(String),
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
}

impl Registry {
    /// A registry over `<home>/databases`, with nothing open yet.
    pub fn new(home: &Path, options: Options) -> Registry {
        Registry {
            dir: home.join("databases"),
            config_dir: home.join("config"),
            options,
            dbs: RwLock::new(BTreeMap::new()),
        }
    }

    /// Opens every database found on disk. A database that fails to open is logged and
    /// left closed; the others serve.
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
            if let Err(e) = self.open(&name) {
                warn!(database = %name, error = %e, "database failed to open; it stays offline");
                failures.push((name, e.to_string()));
            }
        }
        Ok(failures)
    }

    fn db_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Opens one database from disk.
    fn open(&self, name: &str) -> Result<Arc<DbHandle>, RegistryError> {
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
        let handle = Arc::new(DbHandle { name: name.to_string(), db, metrics: DbMetrics::default() });
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
        if self.read().contains_key(name) {
            return Err(RegistryError::Exists(name.to_string()));
        }
        self.open(name)
    }

    /// An open database.
    pub fn get(&self, name: &str) -> Result<Arc<DbHandle>, RegistryError> {
        self.read().get(name).cloned().ok_or_else(|| RegistryError::NotFound(name.to_string()))
    }

    /// Names of the open databases.
    pub fn names(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    /// Every open database.
    pub fn all(&self) -> Vec<Arc<DbHandle>> {
        self.read().values().cloned().collect()
    }

    /// Creates a database.
    pub fn create(&self, name: &str) -> Result<Arc<DbHandle>, RegistryError> {
        if !valid_db_name(name) {
            return Err(RegistryError::BadName(name.to_string()));
        }
        let dir = self.db_dir(name);
        let mut dbs = self.write();
        if dbs.contains_key(name) || dir.exists() {
            return Err(RegistryError::Exists(name.to_string()));
        }
        let (db, _) = Database::create(&dir, self.options.clone())
            .map_err(|source| RegistryError::Engine { name: name.into(), source })?;
        self.ensure_db_config(&dir)?;
        info!(database = %name, "database created");
        let handle = Arc::new(DbHandle { name: name.to_string(), db, metrics: DbMetrics::default() });
        dbs.insert(name.to_string(), handle.clone());
        Ok(handle)
    }

    /// Closes and deletes a database. Requests already holding it finish first.
    pub fn drop_db(&self, name: &str) -> Result<(), RegistryError> {
        let handle = self.write().remove(name).ok_or_else(|| RegistryError::NotFound(name.to_string()))?;
        match Arc::try_unwrap(wait_for_last(handle)) {
            Ok(h) => drop(h),
            Err(h) => {
                self.write().insert(name.to_string(), h);
                return Err(RegistryError::InUse(name.to_string()));
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
            match Arc::try_unwrap(wait_for_last(h)) {
                Ok(h) => match h.db.close() {
                    Ok(()) => info!(database = %name, "database closed cleanly"),
                    Err(e) => warn!(database = %name, error = %e, "database close failed; the WAL has every commit"),
                },
                Err(_) => warn!(database = %name, "database still in use at shutdown; the WAL has every commit"),
            }
        }
    }
}

/// Waits (bounded: requests in flight finish within seconds) until `h` is the last
/// reference, so closing or dropping a database does not race a request using it.
fn wait_for_last(h: Arc<DbHandle>) -> Arc<DbHandle> {
    for _ in 0..3000 {
        if Arc::strong_count(&h) == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    h
}
