//! `POST /batch/{db}[/{lang}]`: OrientDB's batch of operations (`OServerCommandPostBatch`):
//! `{"transaction": bool, "operations": [{"type": ..., ...}]}`.
//!
//! - `cmd` (`command`, a string or lines joined with `;`) and `script` (`script`, lines
//!   joined with newlines) run as one SQL script, in one transaction unless
//!   `"transaction": false`.
//! - `c` (create the `record`, which names its `@class`), `u` (replace the fields of the
//!   `record` named by its `@rid`; its `@version`, if given, must be current, else 409) and
//!   `d` (delete the `record` named by its `@rid`) run as one engine transaction: all or
//!   nothing (OrientDB without `"transaction": true` applies them one by one).
//! - The answer is OrientDB's: the last operation's result, `{"result": [...]}` (the record
//!   as stored for `c` and `u`, its RID for `d`, the rows for `cmd` and `script`).
//!
//! Not done: a batch mixing record operations (`c`, `u`, `d`) with `cmd` or `script` is
//! refused with 400 (send them as two batches); temporary RIDs (`#-1:-1`) of one `c` are not
//! resolved in the records of later operations.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use basalt_engine::{Document, RecordKind, Rid, Transaction, Value};
use serde_json::{json, Value as Json_};

use super::handlers::{access_of, blocking, check_lang, commit, db, run_sql, without_bags};
use super::rest_compat::{document_json, parse_body};
use super::{ApiError, Caller};
use crate::app::App;
use crate::query::{Params, QueryRequest};
use crate::records::client_record;
use crate::users::Role;

/// Most operations in one batch.
pub const BATCH_OPERATIONS_MAX: usize = 10_000;

/// One record operation of a batch.
enum RecordOp {
    /// Create a record of a class.
    Create { class: String, fields: Document },
    /// Replace a record's fields.
    Update { rid: Rid, version: Option<u32>, fields: Document },
    /// Delete a record.
    Delete { rid: Rid, version: Option<u32> },
}

/// `POST /batch/{db}`.
pub async fn batch(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    run(app, caller, name, headers, body).await
}

/// `POST /batch/{db}/{lang}` (the language of each operation is in the operation).
pub async fn batch_with_lang(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((name, lang)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_lang(&lang)?;
    run(app, caller, name, headers, body).await
}

async fn run(
    app: Arc<App>,
    caller: Caller,
    name: String,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let j = parse_body(&body)?;
    let ops = j
        .get("operations")
        .and_then(|o| o.as_array())
        .filter(|o| !o.is_empty())
        .ok_or_else(|| ApiError::bad_request("the batch needs a non-empty \"operations\" array"))?;
    if ops.len() > BATCH_OPERATIONS_MAX {
        return Err(ApiError::bad_request(format!(
            "the batch has {} operations; at most {BATCH_OPERATIONS_MAX} are allowed, split it",
            ops.len()
        )));
    }
    let kind = |op: &Json_| op.get("type").and_then(|t| t.as_str()).unwrap_or("").to_string();
    let record_ops = ops.iter().filter(|op| ["c", "u", "d"].contains(&kind(op).as_str())).count();
    if record_ops == ops.len() {
        caller.require(Role::Writer, "write data")?;
        let parsed = ops.iter().enumerate().map(|(i, op)| record_op(i, op)).collect::<Result<Vec<_>, _>>()?;
        return apply_records(app, name, parsed).await;
    }
    if record_ops > 0 {
        return Err(ApiError::bad_request(
            "a batch mixing record operations (c, u, d) with cmd or script is not supported; send them as two batches",
        ));
    }
    let mut script = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        script.push(sql_op(i, op, &kind(op))?);
    }
    let transaction = j.get("transaction").and_then(|t| t.as_bool()).unwrap_or(true);
    let text = script.join(";\n");
    let params = Params::from_json(j.get("parameters")).map_err(ApiError::bad_request)?;
    let req = QueryRequest { text, params, access: access_of(caller.role), limit: None, transaction };
    run_sql(app, &name, &headers, req).await
}

/// The SQL of a `cmd` or `script` operation (`OServerCommandPostBatch.execute`).
fn sql_op(i: usize, op: &Json_, kind: &str) -> Result<String, ApiError> {
    let (field, joiner) = match kind {
        "script" => ("script", ";\n"),
        "cmd" | "command" => ("command", ";"),
        other => {
            return Err(ApiError::bad_request(format!(
                "operation {i}: type '{other}' is not one of c, u, d, cmd, script"
            )))
        }
    };
    let lang = op.get("language").and_then(|l| l.as_str()).unwrap_or("sql");
    check_lang(lang)?;
    let text = match op.get(field) {
        Some(Json_::String(s)) => s.trim().trim_end_matches(';').to_string(),
        Some(Json_::Array(lines)) => {
            let mut parts = Vec::new();
            for l in lines {
                let l = l.as_str().ok_or_else(|| {
                    ApiError::bad_request(format!("operation {i}: \"{field}\" lines must be strings"))
                })?;
                parts.push(l.trim().trim_end_matches(';').to_string());
            }
            parts.join(joiner)
        }
        _ => return Err(ApiError::bad_request(format!("operation {i}: needs a \"{field}\" string or array"))),
    };
    Ok(text)
}

/// Reads a `c`, `u` or `d` operation.
fn record_op(i: usize, op: &Json_) -> Result<RecordOp, ApiError> {
    let record =
        op.get("record").ok_or_else(|| ApiError::bad_request(format!("operation {i}: needs a \"record\" object")))?;
    let rec = client_record(record).map_err(|e| ApiError::bad_request(format!("operation {i}: {e}")))?;
    let rid = || -> Result<Rid, ApiError> {
        record
            .get("@rid")
            .and_then(|r| r.as_str())
            .and_then(Rid::parse)
            .filter(|r| !r.is_temporary())
            .ok_or_else(|| ApiError::bad_request(format!("operation {i}: the record needs its \"@rid\"")))
    };
    let mut fields = rec.fields;
    if let Some(types) = record.get("@fieldTypes").and_then(|t| t.as_str()) {
        super::rest_compat::apply_field_types(&mut fields, types)
            .map_err(|e| ApiError::bad_request(format!("operation {i}: {e}")))?;
    }
    Ok(match op.get("type").and_then(|t| t.as_str()) {
        Some("c") => RecordOp::Create {
            class: rec
                .class
                .ok_or_else(|| ApiError::bad_request(format!("operation {i}: the record needs an \"@class\"")))?,
            fields,
        },
        Some("u") => RecordOp::Update { rid: rid()?, version: rec.version, fields },
        _ => RecordOp::Delete { rid: rid()?, version: rec.version },
    })
}

/// What the last operation answers, once committed.
enum Last {
    /// A record (temporary RID for a created one).
    Record(Rid),
    /// A deleted record's RID.
    Deleted(Rid),
}

async fn apply_records(app: Arc<App>, name: String, ops: Vec<RecordOp>) -> Result<Response, ApiError> {
    let h = db(&app, &name)?;
    let j = blocking(move || {
        let mut tx = Transaction::new();
        let mut last = None;
        {
            let snap = h.db.snapshot();
            for op in ops {
                last = Some(match op {
                    RecordOp::Create { class, fields } => {
                        snap.schema().class_or_err(&class)?;
                        let kind = snap.schema().kind_of(&class);
                        Last::Record(create(&mut tx, &class, kind, fields)?)
                    }
                    RecordOp::Update { rid, version, fields } => {
                        let r =
                            snap.get(rid)?.ok_or_else(|| ApiError::not_found(format!("record {rid} was not found")))?;
                        tx.update(rid, version, without_bags(fields, r.kind()));
                        Last::Record(rid)
                    }
                    RecordOp::Delete { rid, version } => {
                        tx.delete(rid, version);
                        Last::Deleted(rid)
                    }
                });
            }
        }
        let c = commit(&h, &tx)?;
        let row = match last {
            Some(Last::Record(rid)) => {
                let rid = if rid.is_temporary() { c.rid(rid) } else { rid };
                let r =
                    h.db.snapshot()
                        .get(rid)?
                        .ok_or_else(|| ApiError::not_found(format!("record {rid} was not found")))?;
                document_json(&r)?
            }
            Some(Last::Deleted(rid)) => json!(rid.to_string()),
            None => Json_::Null,
        };
        Ok(json!({"result": [row]}))
    })
    .await?;
    Ok(Json(j).into_response())
}

/// Adds a create to `tx` (an edge needs `out` and `in`); answers the temporary RID.
fn create(tx: &mut Transaction, class: &str, kind: RecordKind, mut fields: Document) -> Result<Rid, ApiError> {
    if kind != RecordKind::Edge {
        return Ok(tx.create(class, without_bags(fields, kind)));
    }
    let mut end = |n: &str| {
        fields
            .remove(n)
            .and_then(|v| match v {
                Value::String(s) => Rid::parse(&s),
                Value::Link(r) => Some(r),
                _ => None,
            })
            .ok_or_else(|| ApiError::bad_request(format!("an edge needs \"{n}\": the RID of its {n} vertex")))
    };
    let (out, inn) = (end("out")?, end("in")?);
    Ok(tx.create_edge(class, out, inn, fields))
}
