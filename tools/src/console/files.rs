//! The console's `BACKUP DATABASE`, `EXPORT DATABASE`, `IMPORT DATABASE` and `RESTORE
//! DATABASE`, as OrientDB's console has them: the file is the console's (a path on the
//! machine the console runs on), not the server's.
//!
//! - `EXPORT DATABASE <file>` downloads `GET /export/{db}` (OrientDB's gzipped JSON export;
//!   `.gz` is appended unless the name ends with it, as `ODatabaseExport` does).
//! - `BACKUP DATABASE <file>` downloads `GET /database/{db}/snapshot` (the `basalt-snapshot`
//!   format) and reads it back whole, checking every checksum, before saying it is done.
//! - `IMPORT DATABASE <file>` uploads an export to `POST /import/{db}`: the current database
//!   must be empty (the server refuses one with records), and the server bounds the body
//!   by its `max_body_bytes`; a larger export goes in with `basalt-import`.
//! - `RESTORE DATABASE <file>` cannot run through a server: a snapshot is installed into a
//!   stopped server's home. It says so, with the `basalt-snapshot restore` command to run.
//!
//! Downloads are written to `<file>.tmp` and renamed once complete; an existing file is never
//! overwritten, and a broken transfer leaves no file.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::client::encode_segment;
use super::error::ConsoleError;
use super::json::JsonText;
use super::session::Session;

/// The largest export `IMPORT DATABASE` reads to upload (the server's own bound is usually
/// lower); beyond it, `basalt-import` is the tool.
pub const UPLOAD_BYTES_MAX: u64 = 1 << 30;

fn local(path: &Path, e: std::io::Error) -> ConsoleError {
    ConsoleError::Usage(format!("{}: {e}", path.display()))
}

impl Session {
    fn download_to(&mut self, server_path: &str, file: &Path) -> Result<u64, ConsoleError> {
        if file.exists() {
            return Err(ConsoleError::Usage(format!(
                "{} exists; choose another name or delete it first",
                file.display()
            )));
        }
        let tmp = PathBuf::from(format!("{}.tmp", file.display()));
        let mut out = BufWriter::new(File::create(&tmp).map_err(|e| local(&tmp, e))?);
        let client = self.client.as_mut().ok_or_else(|| ConsoleError::Usage("not connected: CONNECT first".into()))?;
        let result = client.download(server_path, &mut out).and_then(|(_, n)| {
            let file = out.into_inner().map_err(|e| local(&tmp, e.into_error()))?;
            file.sync_all().map_err(|e| local(&tmp, e))?;
            Ok(n)
        });
        match result {
            Ok(n) => {
                fs::rename(&tmp, file).map_err(|e| local(file, e))?;
                Ok(n)
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    /// `EXPORT DATABASE <file>`.
    pub(super) fn export_database(&mut self, file: &str) -> Result<(), ConsoleError> {
        let db = self.require_database()?;
        let path = if file.ends_with(".gz") { PathBuf::from(file) } else { PathBuf::from(format!("{file}.gz")) };
        let bytes = self.download_to(&format!("/export/{}", encode_segment(&db)), &path)?;
        self.print(&format!("Database '{db}' exported to {} ({bytes} bytes, gzipped JSON).\n", path.display()))
    }

    /// `BACKUP DATABASE <file>`.
    pub(super) fn backup_database(&mut self, file: &str) -> Result<(), ConsoleError> {
        let db = self.require_database()?;
        let path = PathBuf::from(file);
        let bytes = self.download_to(&format!("/database/{}/snapshot", encode_segment(&db)), &path)?;
        let (header, _) = crate::snapshot::read_through(&path).map_err(|e| {
            let _ = fs::remove_file(&path);
            ConsoleError::Usage(format!("the backup of '{db}' is incomplete or damaged ({e}); nothing was kept"))
        })?;
        self.print(&format!(
            "Database '{db}' backed up to {} ({bytes} bytes, LSN {}, digest {}).\n",
            path.display(),
            header.lsn,
            header.digest
        ))
    }

    /// `IMPORT DATABASE <file>`.
    pub(super) fn import_database(&mut self, file: &str) -> Result<(), ConsoleError> {
        let db = self.require_database()?;
        let path = Path::new(file);
        let len = fs::metadata(path).map_err(|e| local(path, e))?.len();
        if len > UPLOAD_BYTES_MAX {
            return Err(ConsoleError::Usage(format!(
                "{} has {len} bytes, more than the console uploads ({UPLOAD_BYTES_MAX}); import it offline with basalt-import --orientdb",
                path.display()
            )));
        }
        let body = fs::read(path).map_err(|e| local(path, e))?;
        let client = self.client.as_mut().ok_or_else(|| ConsoleError::Usage("not connected: CONNECT first".into()))?;
        let answer = client.upload(&format!("/import/{}", encode_segment(&db)), &body, "application/octet-stream")?;
        let report = answer.body.get("report").cloned();
        let field = |name: &str| report.as_ref().and_then(|r| r.get(name)).map(JsonText::to_cell).unwrap_or_default();
        self.refresh_vocabulary();
        self.print(&format!(
            "Database '{db}' imported from {}: {} vertices, {} edges, {} documents.\n",
            path.display(),
            field("vertices"),
            field("edges"),
            field("documents")
        ))
    }

    /// `RESTORE DATABASE <file>`: explains how, since it cannot run through a server.
    pub(super) fn restore_database(&mut self, file: &str) -> Result<(), ConsoleError> {
        let db = self.database.clone().unwrap_or_else(|| "<name>".into());
        Err(ConsoleError::Usage(format!(
            "RESTORE DATABASE cannot run through a running server: a snapshot is installed into a stopped server's home. \
             Stop the server, then run: basalt-snapshot restore {file} --home <server home> --as {db} [--replace] \
             (--replace moves the existing database to <home>/backup/databases/ first); then start the server again"
        )))
    }
}
