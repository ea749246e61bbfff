//! The outermost middleware: it times and counts every request by route template, method
//! and status, logs slow requests with what an operator needs to find their cause (the
//! statement, truncated; the user; the client address; the database), and writes the
//! audit events.
//!
//! **Audit events** are `tracing` events with `target: "audit"` and an `event` field naming
//! what happened, plus `user` (who asked, as their credentials name them), `client` (their
//! address) and the event's own fields. Every writer of audit events (the login guard's
//! `login_failed` too) uses this form, so `BASALT_LOG=audit=info` or a filter on
//! `target == "audit"` in the JSON log selects them all. The events written here:
//! `user_set` (`name`, `role`), `user_deleted` (`name`), `database_created` (`database`),
//! `database_dropped` (`database`), and `access_denied` (a role refusal: `method`, `route`,
//! `database`). They are decided from the route and the answer, so they are written only
//! for what actually happened (a refused or failed change writes no change event). No
//! password or secret is ever a field.

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::{Frame, SizeHint};
use tracing::{debug, info, warn};

use super::{basic_credentials, PeerAddr};
use crate::app::App;

/// The route label of requests that matched no route.
const UNMATCHED: &str = "unmatched";
/// Bytes of a request body kept to name its statement in the log (the body itself streams
/// on to the handler untouched).
const CAPTURE_BYTES: usize = 4096;
/// Characters of a statement shown in the slow-request line.
const STATEMENT_CHARS: usize = 200;

/// Times, counts and logs one request.
pub async fn observe(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let path = req.uri().path().to_string();
    let user = basic_credentials(req.headers()).map(|(u, _)| u);
    let client = req.extensions().get::<PeerAddr>().map(|c| c.0.to_string());
    let params = route.as_deref().map(|r| path_params(r, &path)).unwrap_or_default();
    let captured = Arc::new(Mutex::new(Vec::new()));
    let body_matters = matches!(route.as_deref(), Some("/command/{db}/{lang}" | "/batch/{db}" | "/users"));
    let req = if body_matters {
        let (parts, body) = req.into_parts();
        Request::from_parts(parts, Body::new(Capture { inner: body, seen: captured.clone() }))
    } else {
        req
    };
    let resp = next.run(req).await;
    let took = started.elapsed();
    let status = resp.status();
    let route_label = route.as_deref().unwrap_or(UNMATCHED);
    app.metrics.request(route_label, method.as_str(), status.as_u16(), took);
    let seen = captured.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let ctx = Seen {
        method: &method,
        route: route_label,
        status,
        user: user.as_deref().unwrap_or("-"),
        client: client.as_deref().unwrap_or("-"),
        params: &params,
        body: &seen,
    };
    audit(&ctx);
    let database = param(&params, "db").unwrap_or("-");
    let ms = took.as_millis() as u64;
    if ms >= app.settings.slow_request_ms {
        app.metrics.slow_requests.fetch_add(1, Ordering::Relaxed);
        let statement = statement(&ctx).unwrap_or_else(|| "-".into());
        warn!(
            %method, route = route_label, status = status.as_u16(), ms, user = ctx.user, client = ctx.client,
            database, statement, "slow request"
        );
    } else {
        debug!(%method, route = route_label, status = status.as_u16(), us = took.as_micros() as u64, "request");
    }
    resp
}

/// What the log lines of one request are made from.
struct Seen<'a> {
    /// Its method.
    method: &'a Method,
    /// Its route template (or [`UNMATCHED`]).
    route: &'a str,
    /// The answer's status.
    status: StatusCode,
    /// The user its credentials name (`-`: none).
    user: &'a str,
    /// The client address (`-`: unknown).
    client: &'a str,
    /// The path parameters, by the template's names, decoded.
    params: &'a [(String, String)],
    /// The first [`CAPTURE_BYTES`] of its body, for the routes whose body names what they do.
    body: &'a [u8],
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Writes the audit event of a request, if it is one.
fn audit(s: &Seen<'_>) {
    let (user, client) = (s.user, s.client);
    if s.status == StatusCode::FORBIDDEN {
        let database = param(s.params, "db").unwrap_or("-");
        warn!(target: "audit", event = "access_denied", user, client, method = %s.method, route = s.route, database, "role refused the request");
        return;
    }
    if !s.status.is_success() {
        return;
    }
    let name = param(s.params, "name").unwrap_or("-");
    match (s.method, s.route) {
        (&Method::POST, "/users") => {
            let body: serde_json::Value = serde_json::from_slice(s.body).unwrap_or_default();
            let name = body.get("name").and_then(|v| v.as_str()).unwrap_or("-");
            let role = body.get("role").and_then(|v| v.as_str()).unwrap_or("-");
            info!(target: "audit", event = "user_set", user, client, name, role, "user added or changed");
        }
        (&Method::DELETE, "/users/{name}") => {
            info!(target: "audit", event = "user_deleted", user, client, name, "user deleted");
        }
        (&Method::POST, "/database/{db}" | "/database/{db}/{storage}") => {
            let database = param(s.params, "db").unwrap_or("-");
            info!(target: "audit", event = "database_created", user, client, database, "database created");
        }
        (&Method::DELETE, "/database/{db}") => {
            let database = param(s.params, "db").unwrap_or("-");
            info!(target: "audit", event = "database_dropped", user, client, database, "database dropped");
        }
        _ => {}
    }
}

/// The statement a request runs, truncated to [`STATEMENT_CHARS`]: from the path
/// (`/query`, `/command/.../{text}`) or the body (`/command`, `/batch`).
fn statement(s: &Seen<'_>) -> Option<String> {
    let text = match param(s.params, "text") {
        Some(t) => t.to_string(),
        None if s.route == "/command/{db}/{lang}" || s.route == "/batch/{db}" => statement_of_body(s.body)?,
        None => return None,
    };
    Some(truncate(text.trim(), STATEMENT_CHARS))
}

/// The SQL in a `/command` or `/batch` body: the text itself, `command` of a JSON body, or
/// the scripts and commands of a batch's operations. A body cut at [`CAPTURE_BYTES`] that no
/// longer parses shows as its raw beginning.
fn statement_of_body(body: &[u8]) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    let Ok(j) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Some(String::from_utf8_lossy(body).into_owned());
    };
    if let Some(c) = j.get("command").and_then(|c| c.as_str()) {
        return Some(c.to_string());
    }
    let ops = j.get("operations").and_then(|o| o.as_array())?;
    let mut parts = Vec::new();
    for op in ops {
        for field in ["script", "command"] {
            match op.get(field) {
                Some(serde_json::Value::String(t)) => parts.push(t.clone()),
                Some(serde_json::Value::Array(lines)) => {
                    parts.extend(lines.iter().filter_map(|l| l.as_str()).map(str::to_string))
                }
                _ => {}
            }
        }
    }
    Some(parts.join("; "))
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// The values of a route template's `{name}` segments in `path`, percent-decoded.
pub fn path_params(template: &str, path: &str) -> Vec<(String, String)> {
    template
        .split('/')
        .zip(path.split('/'))
        .filter_map(|(t, p)| {
            let name = t.strip_prefix('{')?.strip_suffix('}')?;
            Some((name.to_string(), percent_decode(p)))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A request body that keeps a copy of its first [`CAPTURE_BYTES`] as they stream past.
struct Capture {
    /// The real body.
    inner: Body,
    /// The bytes seen so far (at most [`CAPTURE_BYTES`]).
    seen: Arc<Mutex<Vec<u8>>>,
}

impl hyper::body::Body for Capture {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
                let room = CAPTURE_BYTES.saturating_sub(seen.len());
                seen.extend_from_slice(&data[..room.min(data.len())]);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_are_named_by_the_template_and_decoded() {
        let p = path_params("/query/{db}/{lang}/{text}/{limit}", "/query/demo/sql/select%20from%20V/5");
        assert_eq!(param(&p, "db"), Some("demo"));
        assert_eq!(param(&p, "text"), Some("select from V"));
        assert_eq!(param(&p, "limit"), Some("5"));
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }

    #[test]
    fn statements_come_from_bodies_and_are_truncated() {
        assert_eq!(statement_of_body(b"select 1").as_deref(), Some("select 1"));
        assert_eq!(statement_of_body(br#"{"command": "select 2"}"#).as_deref(), Some("select 2"));
        let batch = br#"{"operations": [{"type": "script", "script": ["a", "b"]}, {"type": "cmd", "command": "c"}]}"#;
        assert_eq!(statement_of_body(batch).as_deref(), Some("a; b; c"));
        assert_eq!(truncate("héllo", 2), "hé...");
        assert_eq!(truncate("hi", 2), "hi");
    }
}
