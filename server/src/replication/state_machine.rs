//! openraft's state machine over the engine.
//!
//! Committed entries are applied by the engine in log order, each once it is durable in
//! the database's WAL. When the log store and the state machine share that WAL (the
//! server), every entry is there already: the log store put it there. A state machine that
//! is given an entry its WAL lacks (one kept apart from its log store, as openraft's
//! conformance suite builds them) logs it first, so the engine can always redo what it
//! applied after a crash.
//!
//! Apply runs on tokio's blocking pool: it takes locks and may write pages, which must not
//! stall the async workers that serve requests.
//!
//! A snapshot is an engine image (`basalt_engine::snapshot_file`) of a checkpoint, written
//! to `<db>/raft-snapshots/` and read back as a file; the newest one is kept.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use basalt_engine::{ApplyOutcome, Database, LogPosition};
use basalt_wal::Lsn;
use openraft::storage::{RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{
    BasicNode, Entry, EntryPayload, LogId, RaftSnapshotBuilder, StorageError, StorageIOError, StoredMembership,
};
use serde::{Deserialize, Serialize};

use super::log_store::{to_wal, write_entries};
use super::{any_error, log_id_at, lsn_of, parse_membership, Reply, TypeConfig};

/// The directory of a database's Raft snapshots.
pub const SNAPSHOT_DIR: &str = "raft-snapshots";

type Membership = StoredMembership<u64, BasicNode>;
type Meta = SnapshotMeta<u64, BasicNode>;

/// The state machine of one database.
#[derive(Debug, Clone)]
pub struct EngineStateMachine {
    /// The engine.
    db: Arc<Database>,
    /// Where snapshots go.
    snapshots: PathBuf,
}

/// What is stored beside a snapshot image: its openraft meta.
#[derive(Debug, Serialize, Deserialize)]
struct StoredMeta {
    /// The meta.
    meta: Meta,
}

impl EngineStateMachine {
    /// The state machine of `db`.
    pub fn new(db: Arc<Database>) -> EngineStateMachine {
        let snapshots = db.dir().join(SNAPSHOT_DIR);
        EngineStateMachine { db, snapshots }
    }

    /// The engine's applied position and membership, as openraft names them.
    pub fn applied(db: &Database) -> Result<(Option<LogId<u64>>, Membership), StorageError<u64>> {
        let position = db.applied_position();
        let membership =
            parse_membership(&db.membership()).map_err(|e| StorageIOError::read_state_machine(any_error(e)))?;
        Ok((log_id_at(position.term, position.index), membership))
    }
}

fn position_of(id: &LogId<u64>) -> LogPosition {
    LogPosition { term: id.leader_id.term, index: lsn_of(id) }
}

/// Logs, in `db`'s WAL, the entries it does not hold yet (see the module docs). A gap
/// (the first missing entry is past the log's next LSN) is allowed only when everything the
/// log holds is applied: then a checkpoint keeps it and the log restarts at the entry.
fn ensure_logged(db: &Database, entries: &[Entry<TypeConfig>]) -> Result<(), String> {
    let st = db.wal().status();
    let missing: Vec<Entry<TypeConfig>> = entries.iter().filter(|e| lsn_of(&e.log_id) > st.last_lsn).cloned().collect();
    let Some(first) = missing.first() else { return Ok(()) };
    let lsn = lsn_of(&first.log_id);
    if lsn > st.last_lsn.next() && st.last_lsn >= st.first_lsn {
        if db.applied_lsn() < st.last_lsn {
            return Err(format!(
                "entry {lsn} is past the log's end ({}) while entries before it are not applied",
                st.last_lsn
            ));
        }
        db.checkpoint().map_err(|e| e.to_string())?;
        db.wal().reset(lsn).map_err(|e| e.to_string())?;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    write_entries(db, &missing, Box::new(move |r| drop(tx.send(r)))).map_err(|e| e.to_string())?;
    match rx.recv() {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the WAL closed before the entries were durable".into()),
    }
}

/// Applies entries in order; one reply per entry.
fn apply_all(db: &Database, entries: &[Entry<TypeConfig>]) -> Result<Vec<Reply>, String> {
    ensure_logged(db, entries)?;
    let mut replies = Vec::with_capacity(entries.len());
    let mut i = 0;
    while i < entries.len() {
        let e = &entries[i];
        let position = position_of(&e.log_id);
        match &e.payload {
            EntryPayload::Normal(_) => {
                let mut batch = Vec::new();
                while let Some(Entry { log_id, payload: EntryPayload::Normal(p) }) = entries.get(i) {
                    batch.push((position_of(log_id), basalt_wal::Kind(p.kind), p.payload.as_slice()));
                    i += 1;
                }
                for outcome in db.apply_committed_batch(&batch).map_err(|e| e.to_string())? {
                    replies.push(Reply(match outcome {
                        ApplyOutcome::Applied => None,
                        ApplyOutcome::Skipped(why) => Some(why),
                    }));
                }
                continue;
            }
            EntryPayload::Blank => db.apply_blank(position).map_err(|e| e.to_string())?,
            EntryPayload::Membership(_) => {
                let (_, bytes) = to_wal(e)?;
                let marker = basalt_engine::MarkerEntry::decode(basalt_engine::entry::MEMBERSHIP_KIND, &bytes)
                    .map_err(|d| d.to_string())?;
                db.apply_membership(position, &marker.membership.unwrap_or_default()).map_err(|e| e.to_string())?;
            }
        }
        replies.push(Reply(None));
        i += 1;
    }
    Ok(replies)
}

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Writes a snapshot image of `db` into `dir`; returns its meta and path.
fn build(db: &Database, dir: &Path) -> Result<(Meta, PathBuf), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let hold = db.hold_checkpoints().map_err(|e| e.to_string())?;
    let record = basalt_engine::checkpoint::read_record(db.dir()).map_err(|e| e.to_string())?;
    debug_assert_eq!(record.lsn, hold.lsn.0);
    let membership = parse_membership(&record.membership)?;
    let last_log_id = log_id_at(record.term, Lsn(record.lsn));
    let snapshot_id = format!("{}-{}-{}", record.term, record.lsn, unix_ms());
    let meta = Meta { last_log_id, last_membership: membership, snapshot_id: snapshot_id.clone() };
    let tmp = dir.join(format!("{snapshot_id}.tmp"));
    let file = std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let name = db.dir().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (_, _, file) =
        basalt_engine::snapshot_file::write_dir(db.dir(), &name, unix_ms(), std::io::BufWriter::new(file))
            .map_err(|e| e.to_string())?;
    drop(hold);
    let file = file.into_inner().map_err(|e| e.to_string())?;
    file.sync_all().map_err(|e| format!("{}: {e}", tmp.display()))?;
    let image = dir.join(format!("{snapshot_id}.bsnap"));
    let meta_json = serde_json::to_vec(&StoredMeta { meta: meta.clone() }).map_err(|e| e.to_string())?;
    let meta_path = dir.join(format!("{snapshot_id}.meta.json"));
    std::fs::write(&meta_path, meta_json).map_err(|e| format!("{}: {e}", meta_path.display()))?;
    std::fs::rename(&tmp, &image).map_err(|e| format!("{}: {e}", image.display()))?;
    remove_older(dir, &snapshot_id);
    Ok((meta, image))
}

/// Removes every snapshot in `dir` but `keep`.
fn remove_older(dir: &Path, keep: &str) {
    let Ok(list) = std::fs::read_dir(dir) else { return };
    for entry in list.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(keep) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The newest complete snapshot in `dir`, if any.
fn newest(dir: &Path) -> Result<Option<(Meta, PathBuf)>, String> {
    let Ok(list) = std::fs::read_dir(dir) else { return Ok(None) };
    let mut best: Option<(Meta, PathBuf)> = None;
    for entry in list.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(".bsnap") else { continue };
        let meta_path = dir.join(format!("{id}.meta.json"));
        let bytes = std::fs::read(&meta_path).map_err(|e| format!("{}: {e}", meta_path.display()))?;
        let stored: StoredMeta = serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", meta_path.display()))?;
        if best.as_ref().is_none_or(|(m, _)| m.last_log_id < stored.meta.last_log_id) {
            best = Some((stored.meta, entry.path()));
        }
    }
    Ok(best)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, String> + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f).await.map_err(|e| format!("the task failed: {e}"))?
}

async fn open_image(path: PathBuf) -> Result<Box<tokio::fs::File>, StorageError<u64>> {
    let f = tokio::fs::File::open(&path).await;
    Ok(Box::new(f.map_err(|e| StorageIOError::read_snapshot(None, any_error(format!("{}: {e}", path.display()))))?))
}

impl RaftSnapshotBuilder<TypeConfig> for EngineStateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<u64>> {
        let (db, dir) = (self.db.clone(), self.snapshots.clone());
        let (meta, path) =
            blocking(move || build(&db, &dir)).await.map_err(|e| StorageIOError::write_snapshot(None, any_error(e)))?;
        Ok(Snapshot { meta, snapshot: open_image(path).await? })
    }
}

impl RaftStateMachine<TypeConfig> for EngineStateMachine {
    type SnapshotBuilder = EngineStateMachine;

    async fn applied_state(&mut self) -> Result<(Option<LogId<u64>>, Membership), StorageError<u64>> {
        EngineStateMachine::applied(&self.db)
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Reply>, StorageError<u64>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let entries: Vec<Entry<TypeConfig>> = entries.into_iter().collect();
        let Some(last) = entries.last().map(|e| e.log_id) else { return Ok(Vec::new()) };
        let db = self.db.clone();
        blocking(move || apply_all(&db, &entries)).await.map_err(|e| StorageIOError::apply(last, any_error(e)).into())
    }

    async fn get_snapshot_builder(&mut self) -> EngineStateMachine {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<tokio::fs::File>, StorageError<u64>> {
        let path = self.snapshots.join(format!("incoming-{}.part", unix_ms()));
        let io = |e: std::io::Error| StorageIOError::write_snapshot(None, any_error(e));
        tokio::fs::create_dir_all(&self.snapshots).await.map_err(io)?;
        let f = tokio::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path).await;
        Ok(Box::new(f.map_err(io)?))
    }

    async fn install_snapshot(
        &mut self,
        meta: &Meta,
        _snapshot: Box<tokio::fs::File>,
    ) -> Result<(), StorageError<u64>> {
        // Installing an image under a running engine (closing it, swapping its files,
        // reopening it in place) is the snapshot-deploy work of joining nodes; a group of
        // one never receives a snapshot. Refuse loudly rather than pretend.
        Err(StorageIOError::write_snapshot(
            Some(meta.signature()),
            any_error("installing a snapshot received from a leader is not supported yet (snapshot deploy)"),
        )
        .into())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError<u64>> {
        let dir = self.snapshots.clone();
        let found =
            blocking(move || newest(&dir)).await.map_err(|e| StorageIOError::read_snapshot(None, any_error(e)))?;
        match found {
            Some((meta, path)) => Ok(Some(Snapshot { meta, snapshot: open_image(path).await? })),
            None => Ok(None),
        }
    }
}
