//! How a SQL answer leaves the server: the query's limits from the server's `[query]`
//! settings and the request's headers, the cancellation when the client goes away, and the
//! result streamed as it is found.
//!
//! - **Limits.** `X-Basalt-Timeout-Ms: n` and `X-Basalt-Memory-Budget-Bytes: n` replace the
//!   server's defaults for one request, up to the server's maximums (a larger value is
//!   refused with 400 naming the maximum).
//! - **Cancellation.** The query runs on the blocking pool with a [`CancelToken`]. A guard
//!   held by the handler's future, then by the response body, cancels it when dropped: when
//!   the client disconnects before the answer starts (hyper drops the future) or while the
//!   body is being sent (hyper drops the body). The query stops at its next check.
//! - **Streaming.** Rows are written as JSON into a buffer in the usual envelope,
//!   `{"result": [...]}`. An answer that stays under [`STREAM_CHUNK_BYTES`] is sent whole with
//!   its status (an error is the usual error envelope). A larger one starts as soon as the
//!   buffer fills: status 200 and a chunked body fed through a channel of
//!   [`STREAM_CHUNKS_IN_FLIGHT`] chunks, so a slow reader slows the query down instead of
//!   growing the server's memory (while it waits to send, the query's timeout still runs).
//! - **A failure after the answer started** (timeout, budget, cancellation, a bad record)
//!   cannot change the status any more: the body is cut off without its closing chunk, and
//!   the client sees a broken response (an incomplete chunked body), never a short but
//!   well-formed one. The error is logged.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::Frame;
use serde_json::Value as Json;
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use super::ApiError;
use crate::config::QuerySettings;
use crate::query::{CancelToken, LimitSource, QueryError, QueryLimits, RowSink};

/// Bytes of result JSON gathered before the answer turns into a stream (and the size of
/// each chunk after that).
pub const STREAM_CHUNK_BYTES: usize = 64 << 10;
/// Chunks on their way between the query and the connection; beyond this the query waits.
pub const STREAM_CHUNKS_IN_FLIGHT: usize = 4;
/// The header that sets one request's timeout, in milliseconds.
pub const TIMEOUT_HEADER: &str = "X-Basalt-Timeout-Ms";
/// The header that sets one request's memory budget, in bytes.
pub const BUDGET_HEADER: &str = "X-Basalt-Memory-Budget-Bytes";

/// A number from a header, if the header is there.
fn header_number(headers: &HeaderMap, name: &str) -> Result<Option<u64>, ApiError> {
    let Some(v) = headers.get(name) else { return Ok(None) };
    v.to_str().ok().and_then(|t| t.trim().parse::<u64>().ok()).map(Some).ok_or_else(|| {
        ApiError::bad_request(format!(
            "the header {name} must be a whole number, not {:?}",
            String::from_utf8_lossy(v.as_bytes())
        ))
    })
}

/// The limits of one request: the server's defaults, or the request's headers within the
/// server's maximums.
pub fn limits(settings: &QuerySettings, headers: &HeaderMap) -> Result<QueryLimits, ApiError> {
    let as_timeout = |ms: u64| (ms > 0).then(|| Duration::from_millis(ms));
    let mut l = QueryLimits {
        timeout: as_timeout(settings.timeout_ms),
        timeout_source: LimitSource::Server,
        memory_budget_bytes: settings.memory_budget_bytes,
        budget_source: LimitSource::Server,
    };
    if let Some(ms) = header_number(headers, TIMEOUT_HEADER)? {
        let max = settings.max_timeout_ms;
        if max != 0 && (ms == 0 || ms > max) {
            return Err(ApiError::bad_request(format!(
                "{TIMEOUT_HEADER}: {ms} is not allowed: give 1 to {max} milliseconds (max_timeout_ms in [query] of \
                 basalt.toml)"
            )));
        }
        l.timeout = as_timeout(ms);
        l.timeout_source = LimitSource::Request;
    }
    if let Some(bytes) = header_number(headers, BUDGET_HEADER)? {
        let max = settings.max_memory_budget_bytes as u64;
        if bytes == 0 || bytes > max {
            return Err(ApiError::bad_request(format!(
                "{BUDGET_HEADER}: {bytes} is not allowed: give 1 to {max} bytes (max_memory_budget_bytes in [query] \
                 of basalt.toml)"
            )));
        }
        l.memory_budget_bytes = bytes as usize;
        l.budget_source = LimitSource::Request;
    }
    Ok(l)
}

/// Cancels the query when dropped.
struct CancelOnDrop(CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// How the answer starts.
enum Head {
    /// The query finished within the first chunk: the whole body.
    Whole(Vec<u8>),
    /// The query failed before anything was sent.
    Failed(ApiError),
    /// The body streams through the channel.
    Streaming,
}

/// One message of a streamed body.
enum Chunk {
    /// Body bytes.
    Data(Bytes),
    /// The body is complete.
    End,
    /// The query failed: cut the body off.
    Failed,
}

/// Writes rows into the envelope, then into the channel once the answer streams.
struct BodySink {
    /// Bytes not sent yet.
    buf: Vec<u8>,
    /// No row written yet (no comma before the next).
    first: bool,
    /// Where the start of the answer goes (taken once it streams).
    head: Option<oneshot::Sender<Head>>,
    /// The streamed body.
    tx: mpsc::Sender<Chunk>,
    /// The runtime, to wait for room in the channel from the blocking thread.
    rt: tokio::runtime::Handle,
    /// When the query's timeout passes (waiting for a slow reader counts).
    deadline: Option<tokio::time::Instant>,
    /// The timeout, for the message.
    timeout: Option<Duration>,
}

impl BodySink {
    /// Sends what is buffered as one chunk, starting the stream if it has not started.
    fn flush(&mut self) -> Result<(), QueryError> {
        if let Some(head) = self.head.take() {
            if head.send(Head::Streaming).is_err() {
                return Err(gone());
            }
        }
        let bytes = Bytes::from(std::mem::take(&mut self.buf));
        self.send(Chunk::Data(bytes))
    }

    /// Puts a chunk in the channel, waiting for room (backpressure) until the deadline.
    fn send(&self, c: Chunk) -> Result<(), QueryError> {
        let sent = match self.deadline {
            Some(d) => self.rt.block_on(async { tokio::time::timeout_at(d, self.tx.send(c)).await }),
            None => Ok(self.rt.block_on(self.tx.send(c))),
        };
        match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(gone()),
            Err(_) => Err(QueryError::Timeout(format!(
                "the answer was not read within the query's timeout of {} ms; read it faster, or raise the \
                 header X-Basalt-Timeout-Ms",
                self.timeout.map(|t| t.as_millis()).unwrap_or(0)
            ))),
        }
    }

    /// Ends the answer after the query: the last bytes, or the failure.
    fn finish(mut self, result: Result<(), QueryError>) {
        match (result, self.head.take()) {
            (Ok(()), Some(head)) => {
                self.buf.extend_from_slice(b"]}");
                let _ = head.send(Head::Whole(std::mem::take(&mut self.buf)));
            }
            (Err(e), Some(head)) => {
                let _ = head.send(Head::Failed(e.into()));
            }
            (Ok(()), None) => {
                self.buf.extend_from_slice(b"]}");
                let bytes = Bytes::from(std::mem::take(&mut self.buf));
                if self.send(Chunk::Data(bytes)).and_then(|()| self.send(Chunk::End)).is_err() {
                    let _ = self.tx.try_send(Chunk::Failed);
                }
            }
            (Err(e), None) => {
                if !matches!(e, QueryError::Cancelled(_)) {
                    warn!(error = %e, "a query failed after its answer started streaming; the body was cut off");
                }
                let _ = self.tx.try_send(Chunk::Failed);
            }
        }
    }
}

/// The error when the client went away.
fn gone() -> QueryError {
    QueryError::Cancelled("the query was cancelled: its client went away".into())
}

impl RowSink for BodySink {
    fn row(&mut self, row: Json) -> Result<(), QueryError> {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        serde_json::to_writer(&mut self.buf, &row)
            .map_err(|e| QueryError::Invalid(format!("a result row cannot be written as JSON: {e}")))?;
        if self.buf.len() >= STREAM_CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }
}

/// The streamed body: chunks from the query; an error if it ends without [`Chunk::End`].
struct ResultStream {
    /// The chunks.
    rx: mpsc::Receiver<Chunk>,
    /// Ended (cleanly or not).
    done: bool,
    /// Cancels the query if the body is dropped first (the client went away).
    _cancel: CancelOnDrop,
}

impl HttpBody for ResultStream {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        let cut = || std::io::Error::other("the query failed after its answer started; the answer is incomplete");
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Chunk::Data(b))) => Poll::Ready(Some(Ok(Frame::data(b)))),
            Poll::Ready(Some(Chunk::End)) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Chunk::Failed) | None) => {
                self.done = true;
                Poll::Ready(Some(Err(cut())))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A JSON response.
fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.into()).into_response()
}

/// The answer of rows known at once (a quick write's), in the usual envelope.
pub fn rows_answer(rows: &[Json]) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(&serde_json::json!({ "result": rows }))
        .map_err(|e| ApiError::internal(format!("a result row cannot be written as JSON: {e}")))?;
    Ok(json_response(StatusCode::OK, body))
}

/// Runs `query` on the blocking pool under `limits`, with a token cancelled when the client
/// goes away, and answers its rows as `{"result": [...]}` (streamed when large).
pub async fn answer<F>(limits: QueryLimits, query: F) -> Result<Response, ApiError>
where
    F: FnOnce(&QueryLimits, &CancelToken, &mut dyn RowSink) -> Result<(), QueryError> + Send + 'static,
{
    let cancel = CancelToken::new();
    let guard = CancelOnDrop(cancel.clone());
    let (head_tx, head_rx) = oneshot::channel();
    let (tx, rx) = mpsc::channel(STREAM_CHUNKS_IN_FLIGHT);
    let rt = tokio::runtime::Handle::current();
    let deadline = limits.timeout.map(|t| tokio::time::Instant::now() + t);
    tokio::task::spawn_blocking(move || {
        let mut sink = BodySink {
            buf: b"{\"result\":[".to_vec(),
            first: true,
            head: Some(head_tx),
            tx,
            rt,
            deadline,
            timeout: limits.timeout,
        };
        let result = query(&limits, &cancel, &mut sink);
        sink.finish(result);
    });
    match head_rx.await {
        Ok(Head::Whole(body)) => Ok(json_response(StatusCode::OK, body)),
        Ok(Head::Failed(e)) => Err(e),
        Ok(Head::Streaming) => {
            let body = ResultStream { rx, done: false, _cancel: guard };
            Ok(json_response(StatusCode::OK, Body::new(body)))
        }
        Err(_) => Err(ApiError::internal("the query's task ended without an answer")),
    }
}
