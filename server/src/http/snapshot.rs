//! `GET /database/{db}/snapshot`: a snapshot file of a live database, streamed as it is read
//! (`basalt-snapshot create --url` saves it; format in `basalt_engine::snapshot_file`).
//!
//! Checkpoints of that database are held off while the image is read, so its cluster files
//! stay one checkpoint's state while writes go on (in memory and in the WAL). The image is
//! produced on a blocking thread into a bounded channel ([`CHANNEL_CHUNKS`] buffers of
//! [`BUFFER_BYTES`]): a slow client slows the reading, nothing piles up, and a client that
//! goes away stops it (its next send fails), releasing the hold. An error after the first
//! byte ends the body with an error, so the connection is cut and the client sees a broken
//! transfer, never a short file that looks whole (the snapshot's trailer makes that sure too).

use std::io::{self, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::Extension;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use super::{ApiError, Caller};
use crate::app::App;
use crate::users::Role;

/// Bytes sent per message.
const BUFFER_BYTES: usize = 1 << 20;
/// Messages in flight between the reading thread and the connection.
pub(super) const CHANNEL_CHUNKS: usize = 4;

/// What the reading thread sends: bytes, or the error that ends the body.
pub(super) type Message = Result<Bytes, io::Error>;

/// `GET /database/{db}/snapshot` (administrators).
pub async fn snapshot(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin, "take a snapshot of a database")?;
    let h = app.registry.get(&name)?;
    let (tx, rx) = mpsc::channel::<Message>(CHANNEL_CHUNKS);
    let (ready_tx, ready_rx) = oneshot::channel::<Result<(), ApiError>>();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let hold = match h.db.hold_checkpoints() {
            Ok(hold) => hold,
            Err(e) => {
                let _ = ready_tx.send(Err(e.into()));
                return;
            }
        };
        let _ = ready_tx.send(Ok(()));
        let created = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let out = ChannelWriter { tx: tx.clone(), buffer: Vec::with_capacity(BUFFER_BYTES) };
        match basalt_engine::snapshot_file::write_dir(h.db.dir(), &h.name, created, out) {
            Ok((header, totals, _)) => info!(
                database = %h.name,
                lsn = header.lsn,
                raw_bytes = totals.raw_bytes,
                compressed_bytes = totals.compressed_bytes,
                ms = started.elapsed().as_millis() as u64,
                "sent a snapshot of the database"
            ),
            Err(e) => {
                warn!(database = %h.name, lsn = hold.lsn.0, error = %e, "a snapshot transfer stopped");
                let _ = tx.blocking_send(Err(io::Error::other(e.to_string())));
            }
        }
        drop(hold);
    });
    match ready_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err(ApiError::internal("the snapshot task ended before it started")),
    }
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.snap\""))
        .body(Body::new(ChannelBody { rx }))
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// Buffers writes and sends them, blocking while the channel is full (also used by
/// `GET /export/{db}`).
pub(super) struct ChannelWriter {
    /// To the connection.
    tx: mpsc::Sender<Message>,
    /// Bytes not sent yet.
    buffer: Vec<u8>,
}

impl ChannelWriter {
    /// A writer into `tx`.
    pub(super) fn new(tx: mpsc::Sender<Message>) -> ChannelWriter {
        ChannelWriter { tx, buffer: Vec::with_capacity(BUFFER_BYTES) }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let bytes = Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(BUFFER_BYTES)));
        self.tx.blocking_send(Ok(bytes)).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= BUFFER_BYTES {
            self.send()?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The response body: whatever the channel yields, until it closes.
pub(super) struct ChannelBody {
    /// From the reading thread.
    pub(super) rx: mpsc::Receiver<Message>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, io::Error>>> {
        self.rx.poll_recv(cx).map(|m| m.map(|r| r.map(http_body::Frame::data)))
    }
}
