//! Reading and changing one record over REST, as OrientDB's document commands do:
//! `GET /document/{db}/{rid}`, `PUT /document/{db}[/{rid}][?updateMode=full|partial]` and
//! `PATCH /document/{db}[/{rid}]` (`OServerCommandGetDocument`, `OServerCommandPutDocument`,
//! `OServerCommandPatchDocument`).
//!
//! - The record to change is the path's RID, else the body's `@rid`.
//! - `PUT` replaces the fields (the fields the body leaves out are removed) unless
//!   `updateMode=partial` is given as a query parameter or header; `PATCH` always merges.
//!   Either way the answer is the whole record as stored afterwards, with an `ETag` of its
//!   version.
//! - The version to check is the body's `@version`, or the `If-Match` header; without one
//!   the write is not checked. A stale version answers 409 and changes nothing.
//! - A `PUT` that changes nothing writes nothing (OrientDB saves only a dirty document).
//! - A vertex's `out_*` / `in_*` lists echoed back by a client are ignored: edges change
//!   through the edge API.
//! - Bodies may be OrientDB's relaxed JSON and may carry `@fieldTypes` (`rest_compat`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use basalt_engine::{Document, Rid, Transaction};
use serde_json::Value as Json_;

use super::handlers::{blocking, commit, db, parse_rid, without_bags};
use super::rest_compat::{document_json, record_from_body};
use super::{ApiError, Caller};
use crate::app::App;
use crate::users::Role;

/// How a `PUT` treats the fields the body leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// They are removed.
    Full,
    /// They are kept.
    Partial,
}

/// The query string of `PUT /document`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct UpdateParams {
    /// `full` (the default) or `partial`.
    #[serde(rename = "updateMode")]
    update_mode: Option<String>,
}

/// `updateMode` from the query string or the header (`OServerCommandPutDocument.execute`).
fn mode_of(params: &UpdateParams, headers: &HeaderMap) -> Mode {
    let header = headers.get("updateMode").and_then(|v| v.to_str().ok());
    let partial = [params.update_mode.as_deref(), header].iter().flatten().any(|m| m.eq_ignore_ascii_case("partial"));
    if partial {
        Mode::Partial
    } else {
        Mode::Full
    }
}

/// The version to check: `If-Match`, else the body's `@version`.
fn version_of(headers: &HeaderMap, body_version: Option<u32>) -> Result<Option<u32>, ApiError> {
    match headers.get(header::IF_MATCH) {
        None => Ok(body_version),
        Some(v) => {
            let text = v.to_str().unwrap_or("").trim().trim_matches('"');
            text.parse::<u32>().map(Some).map_err(|_| {
                ApiError::bad_request(format!("If-Match: '{text}' is not a record version (a whole number)"))
            })
        }
    }
}

/// A JSON answer with the record's version as its `ETag`.
fn with_etag(j: Json_) -> Response {
    let version = j.get("@version").and_then(|v| v.as_u64());
    let mut resp = Json(j).into_response();
    if let Some(v) = version.and_then(|v| HeaderValue::from_str(&v.to_string()).ok()) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// Applies one update and answers the record as stored.
async fn update(
    app: Arc<App>,
    caller: Caller,
    name: String,
    path_rid: Option<String>,
    headers: HeaderMap,
    body: Bytes,
    mode: Mode,
) -> Result<Response, ApiError> {
    caller.require(Role::Writer, "write data")?;
    let (rec, body_rid) = record_from_body(&body)?;
    let rid: Rid = match (path_rid, body_rid) {
        (Some(p), _) => parse_rid(&p)?,
        (None, Some(r)) => r,
        (None, None) => {
            return Err(ApiError::bad_request(
                "say which record to change: /document/{db}/{cluster}:{position}, or \"@rid\" in the body",
            ))
        }
    };
    let version = version_of(&headers, rec.version)?;
    let h = db(&app, &name)?;
    let j = blocking(move || {
        let (kind, current) = {
            let snap = h.db.snapshot();
            let r = snap.get(rid)?.ok_or_else(|| ApiError::not_found(format!("record {rid} was not found")))?;
            (r.kind(), r.fields().map_err(|e| ApiError::internal(format!("record {rid}: {e}")))?)
        };
        let given = without_bags(rec.fields, kind);
        let merged = merge(&current, given, mode);
        if merged != current {
            let mut tx = Transaction::new();
            tx.update(rid, version, merged);
            commit(&h, &tx)?;
        }
        let r = h.db.snapshot().get(rid)?.ok_or_else(|| ApiError::not_found(format!("record {rid} was not found")))?;
        document_json(&r)
    })
    .await?;
    Ok(with_etag(j))
}

/// The fields after an update: the given ones over the current ones (partial), or the
/// given ones only, in the current order where they were there before (full).
fn merge(current: &Document, given: Document, mode: Mode) -> Document {
    let mut out = match mode {
        Mode::Partial => current.clone(),
        Mode::Full => {
            let keep: Vec<&str> = current.names().filter(|n| given.get(n).is_some()).collect();
            let mut d = Document::new();
            for n in keep {
                if let Some(v) = current.get(n) {
                    d.set(n, v.clone());
                }
            }
            d
        }
    };
    for (k, v) in given.into_fields() {
        out.set(k, v);
    }
    out
}

/// `PUT /document/{db}/{rid}`.
pub async fn put_document(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((name, rid)): Path<(String, String)>,
    Query(params): Query<UpdateParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mode = mode_of(&params, &headers);
    update(app, caller, name, Some(rid), headers, body, mode).await
}

/// `PUT /document/{db}`: the record is the body's `@rid`.
pub async fn put_document_by_body(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    Query(params): Query<UpdateParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mode = mode_of(&params, &headers);
    update(app, caller, name, None, headers, body, mode).await
}

/// `PATCH /document/{db}/{rid}`: sets the given fields, keeps the others.
pub async fn patch_document(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((name, rid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    update(app, caller, name, Some(rid), headers, body, Mode::Partial).await
}

/// `PATCH /document/{db}`: the record is the body's `@rid`.
pub async fn patch_document_by_body(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    update(app, caller, name, None, headers, body, Mode::Partial).await
}

/// `GET /document/{db}/{rid}`: the record with its `@fieldTypes` and an `ETag`.
pub async fn get_document(
    State(app): State<Arc<App>>,
    Path((name, rid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let rid = parse_rid(&rid)?;
    let h = db(&app, &name)?;
    let j = blocking(move || {
        let r = h.db.snapshot().get(rid)?.ok_or_else(|| ApiError::not_found(format!("record {rid} not found")))?;
        document_json(&r)
    })
    .await?;
    Ok(with_etag(j))
}

#[cfg(test)]
mod tests {
    use super::*;
    use basalt_engine::Value;

    #[test]
    fn full_replaces_and_partial_merges() {
        let current = Document::new().with("name", Value::String("Jay".into())).with("age", Value::Int(0));
        let given = Document::new().with("age", Value::Int(1));
        let partial = merge(&current, given.clone(), Mode::Partial);
        assert_eq!(partial, Document::new().with("name", Value::String("Jay".into())).with("age", Value::Int(1)));
        assert_eq!(merge(&current, given, Mode::Full), Document::new().with("age", Value::Int(1)));
    }
}
