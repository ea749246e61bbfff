//! OrientDB's export and import over HTTP, and the statements that write or read server-side
//! files: `GET /export/{db}`, `POST /import/{db}`, and `BACKUP DATABASE`, `EXPORT DATABASE`,
//! `IMPORT DATABASE` sent to `/command/{db}/sql` (recognised by `sql::exec::backup`, which
//! also says where their paths land). All need the administrator role.
//!
//! - `GET /export/{db}` streams the gzipped export (`basalt_engine::import::orientdb`) of one
//!   frozen view of the database as it is written, through a bounded channel (the same as
//!   `GET /database/{db}/snapshot`): nothing is built whole in memory, a slow client slows
//!   the writer, and an error after the first byte cuts the connection (a gzip stream without
//!   its trailer never looks whole). As OrientDB's `OServerCommandGetExportDatabase`:
//!   `application/x-gzip`, `attachment; filename=<db>.gz`.
//! - `POST /import/{db}`: the body is the export (gzip or plain JSON, at most
//!   `max_body_bytes` of `[http]`, the same bound as every body); a larger export is imported
//!   with `IMPORT DATABASE` from a file of the server, or offline with `basalt-import`. The
//!   database must be empty or absent (then it is created).
//! - An import never shows a half-imported database: it loads into a hidden staging
//!   directory of `<home>/databases/` and only a complete, closed import replaces the empty
//!   target (which is dropped) under the same name. A failed one removes its staging
//!   directory; one at a time runs on a node ([`IMPORT_LOCK`]), and at most
//!   [`FILE_JOBS_MAX`] exports and backups.
//! - A backup or export file is written to `<path>.tmp`, synced, and renamed, so a file at
//!   the final path is always whole; an existing file is never overwritten.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path as FsPath, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use basalt_engine::import::orientdb::{self, ImportOptions, ImportReport, OrientError, Source};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use super::snapshot::{ChannelBody, ChannelWriter, Message, CHANNEL_CHUNKS};
use super::{ApiError, Caller};
use crate::app::App;
use crate::registry::{valid_db_name, DbHandle, RegistryError};
use crate::sql::exec::backup::{self, Kind, Statement};
use crate::users::Role;

/// Held while an import runs: one at a time per node, so two imports cannot both find a
/// database empty and both replace it.
static IMPORT_LOCK: Mutex<()> = Mutex::new(());
/// Exports and backups running (streams and files).
static FILE_JOBS: AtomicUsize = AtomicUsize::new(0);
/// At most this many exports and backups at once; more get 503 and `Retry-After`.
pub const FILE_JOBS_MAX: usize = 2;

/// A slot among [`FILE_JOBS_MAX`], released on drop.
struct FileJob;

impl FileJob {
    fn take() -> Result<FileJob, ApiError> {
        let taken =
            FILE_JOBS.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < FILE_JOBS_MAX).then_some(n + 1));
        match taken {
            Ok(_) => Ok(FileJob),
            Err(_) => Err(ApiError::busy(
                format!("{FILE_JOBS_MAX} exports or backups are already running on this node; try again"),
                5,
            )),
        }
    }
}

impl Drop for FileJob {
    fn drop(&mut self) {
        FILE_JOBS.fetch_sub(1, Ordering::SeqCst);
    }
}

fn now_unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// An import or export failure as the API's error: the input's faults are the client's
/// (400), the engine's map as everywhere.
fn orient_error(e: OrientError) -> ApiError {
    match e {
        OrientError::Database { context, source } => {
            let mut err = ApiError::from(source);
            err.content = format!("{context}: {}", err.content);
            err
        }
        OrientError::Io { ref source, .. } if source.kind() != std::io::ErrorKind::NotFound => {
            ApiError::internal(e.to_string())
        }
        other => ApiError::bad_request(other.to_string()),
    }
}

/// `GET /export/{db}`.
pub async fn export(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin, "export a database")?;
    let h = app.registry.get(&name)?;
    let job = FileJob::take()?;
    let (tx, rx) = mpsc::channel::<Message>(CHANNEL_CHUNKS);
    tokio::task::spawn_blocking(move || {
        let _job = job;
        let started = Instant::now();
        let snap = h.db.snapshot();
        let mut out = ChannelWriter::new(tx.clone());
        let written = orientdb::export_gz(&snap, &h.name, &mut out, |_| {}).and_then(|(report, out)| {
            out.flush().map_err(|source| OrientError::Io { what: "the export stream".into(), source })?;
            Ok(report)
        });
        match written {
            Ok(r) => {
                info!(database = %h.name, lsn = r.lsn, records = r.records, ms = started.elapsed().as_millis() as u64, "sent an export of the database")
            }
            Err(e) => {
                warn!(database = %h.name, error = %e, "an export transfer stopped");
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/x-gzip")
        .header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.gz\""))
        .body(Body::new(ChannelBody { rx }))
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// `POST /import/{db}`.
pub async fn import(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin, "import a database")?;
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "send the export (gzip or JSON) as the request body, e.g. curl --data-binary @db.json.gz",
        ));
    }
    let source = Source::memory(format!("the request body of POST /import/{name}"), Arc::new(body.to_vec()));
    let report = blocking(move || import_source(&app, &name, &source, true)).await?;
    let text = "Database imported correctly";
    Ok(Json(json!({"responseText": text, "report": report})).into_response())
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    let (tx, rx) = oneshot::channel();
    tokio::task::spawn_blocking(move || {
        let _ = tx.send(f());
    });
    rx.await.map_err(|_| ApiError::internal("the task ended without an answer"))?
}

/// Runs a recognised statement against database `name`.
pub async fn run_statement(app: Arc<App>, caller: Caller, name: String, st: Statement) -> Result<Response, ApiError> {
    caller.require(Role::Admin, &format!("run {}", st.kind.words()))?;
    let path = backup::resolve(&app.settings.home, st.kind, &st.path).map_err(ApiError::bad_request)?;
    // The handle is not held across an import: that replaces the database, which waits for
    // every holder to let go.
    let row = blocking(move || match st.kind {
        Kind::Backup => {
            let h: Arc<DbHandle> = app.registry.get(&name)?;
            backup_to(&h, &path)
        }
        Kind::Export => {
            let h: Arc<DbHandle> = app.registry.get(&name)?;
            export_to(&h, &path)
        }
        Kind::Import => {
            let report = import_source(&app, &name, &Source::file(&path), false)?;
            Ok(json!({"operation": "import database", "path": path.display().to_string(), "report": report}))
        }
    })
    .await?;
    Ok(Json(json!({"result": [row]})).into_response())
}

/// Writes through `fill` to `<path>.tmp`, syncs, and renames it to `path` (refusing an
/// existing `path`).
fn write_aside<T>(
    path: &FsPath,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    if path.exists() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!("{} exists; choose another name or delete it first", path.display()),
        ));
    }
    let io = |e: std::io::Error| ApiError::internal(format!("{}: {e}", path.display()));
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io)?;
    }
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    let result = (|| {
        let mut out = BufWriter::new(File::create(&tmp).map_err(io)?);
        let value = fill(&mut out)?;
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        fs::rename(&tmp, path).map_err(io)?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// `BACKUP DATABASE`: a snapshot file, as `basalt-snapshot create` writes.
fn backup_to(h: &DbHandle, path: &FsPath) -> Result<serde_json::Value, ApiError> {
    let _job = FileJob::take()?;
    let hold = h.db.hold_checkpoints()?;
    let (header, totals) = write_aside(path, |out| {
        let (header, totals, _) = basalt_engine::snapshot_file::write_dir(h.db.dir(), &h.name, now_unix_ms(), out)
            .map_err(|e| ApiError::internal(format!("backing up database '{}': {e}", h.name)))?;
        Ok((header, totals))
    })?;
    drop(hold);
    info!(database = %h.name, path = %path.display(), lsn = header.lsn, "backed up the database");
    Ok(json!({
        "operation": "backup database",
        "path": path.display().to_string(),
        "lsn": header.lsn,
        "digest": header.digest,
        "rawBytes": totals.raw_bytes,
        "compressedBytes": totals.compressed_bytes,
    }))
}

/// `EXPORT DATABASE`: OrientDB's gzipped JSON export.
fn export_to(h: &DbHandle, path: &FsPath) -> Result<serde_json::Value, ApiError> {
    let _job = FileJob::take()?;
    let report = write_aside(path, |out| {
        let snap = h.db.snapshot();
        orientdb::export_gz(&snap, &h.name, out, |_| {}).map(|(r, _)| r).map_err(orient_error)
    })?;
    info!(database = %h.name, path = %path.display(), records = report.records, "exported the database");
    Ok(json!({
        "operation": "export database",
        "path": path.display().to_string(),
        "lsn": report.lsn,
        "records": report.records,
        "classes": report.classes,
        "indexes": report.indexes,
    }))
}

/// Imports `source` as database `name` (see the module docs). `may_create`: a database of
/// that name need not exist.
fn import_source(app: &App, name: &str, source: &Source, may_create: bool) -> Result<ImportReport, ApiError> {
    let _one = IMPORT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let exists = ensure_importable(app, name, may_create)?;
    let databases = app.registry.dir();
    remove_leftover_staging(databases, name);
    let staging = databases.join(format!(".import-{name}-{}", now_unix_ms()));
    let started = Instant::now();
    let report =
        orientdb::import_new(&staging, app.registry.options().clone(), source, &ImportOptions::default(), |_| {})
            .map_err(orient_error)?;
    let installed = (|| {
        if exists {
            ensure_importable(app, name, may_create)?;
            app.registry.drop_db(name)?;
        }
        let target = databases.join(name);
        fs::rename(&staging, &target).map_err(|e| ApiError::internal(format!("{}: {e}", target.display())))?;
        app.registry.open_new(name)?;
        Ok::<(), ApiError>(())
    })();
    if let Err(e) = installed {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    info!(database = %name, vertices = report.vertices, edges = report.edges, documents = report.documents, ms = started.elapsed().as_millis() as u64, "imported a database");
    Ok(report)
}

/// Whether `name` exists (and is empty); refuses one that holds data.
fn ensure_importable(app: &App, name: &str, may_create: bool) -> Result<bool, ApiError> {
    match app.registry.get(name) {
        Ok(h) if orientdb::holds_data(&h.db) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!(
                "database '{name}' already holds records or classes; an import goes into an empty or a new database (drop it, or import under another name)"
            ),
        )),
        Ok(_) => Ok(true),
        Err(RegistryError::NotFound(_)) if may_create => {
            if valid_db_name(name) {
                Ok(false)
            } else {
                Err(RegistryError::BadName(name.to_string()).into())
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes staging directories an interrupted import of `name` left (a crash mid-import).
fn remove_leftover_staging(databases: &FsPath, name: &str) {
    let prefix = format!(".import-{name}-");
    if let Ok(entries) = fs::read_dir(databases) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}
