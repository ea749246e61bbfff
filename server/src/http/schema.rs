//! The schema over REST, in the shape of OrientDB's `OServerCommandGetDatabase.exportClass`:
//! `GET|POST|DELETE /class/{db}/{class}` (`OServerCommandGetClass`, `OServerCommandPostClass`,
//! `OServerCommandDeleteClass`), `GET /cluster/{db}/{name}[/{limit}]`
//! (`OServerCommandGetCluster`), and the per-class export `GET /database/{db}` uses.
//!
//! - `POST /class` answers 201 with the number of classes; an existing class is 409.
//! - `DELETE /class` answers 204; a class that still has records is refused (409, as the
//!   engine refuses it without UNSAFE) and nothing changes.
//! - `GET /cluster` browses at most `limit` records (default 20, 0: all), as OrientDB's.
//! - Property attributes Basalt does not have (`min`, `max`, `regexp`, `defaultValue`) are
//!   exported as `null`, `collate` as `"default"`; `alias` (short name) is `null`;
//!   `clusterSelection` is `"round-robin"` in name only (records go to a class's first
//!   cluster).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use basalt_engine::tx::SchemaRequest;
use basalt_engine::{Snapshot, Transaction};
use serde_json::{json, Value as Json_};

use super::handlers::{blocking, commit, db};
use super::rest_compat::document_json;
use super::{ApiError, Caller};
use crate::app::App;
use crate::users::Role;

/// Records `GET /cluster` answers when no limit is given (OrientDB's default).
pub const CLUSTER_BROWSE_DEFAULT: usize = 20;
/// Most records `GET /cluster` answers, whatever the limit asked.
pub const CLUSTER_BROWSE_MAX: usize = 10_000;

/// One class as OrientDB exports it.
pub fn class_json(snap: &Snapshot, c: &basalt_engine::schema::ClassDef) -> Result<Json_, ApiError> {
    let schema = snap.schema();
    let props: Vec<Json_> = c
        .properties
        .values()
        .map(|p| {
            let mut j = json!({"name": p.name});
            if let Some(lc) = &p.linked_class {
                j["linkedClass"] = json!(lc);
            }
            if let Some(lt) = p.linked_type {
                j["linkedType"] = json!(lt.name());
            }
            j["type"] = json!(p.ty.name());
            j["mandatory"] = json!(p.mandatory);
            j["readonly"] = json!(p.readonly);
            j["notNull"] = json!(p.not_null);
            j["min"] = Json_::Null;
            j["max"] = Json_::Null;
            j["regexp"] = Json_::Null;
            j["collate"] = json!("default");
            j["defaultValue"] = Json_::Null;
            j
        })
        .collect();
    let indexes: Vec<Json_> = schema
        .indexes
        .values()
        .filter(|i| i.class.eq_ignore_ascii_case(&c.name))
        .map(|i| json!({"name": i.name, "type": i.kind, "fields": i.fields}))
        .collect();
    let mut j = json!({
        "name": c.name,
        "superClass": c.superclass.clone().unwrap_or_default(),
        "superClasses": c.superclass.iter().collect::<Vec<_>>(),
        "alias": Json_::Null,
        "abstract": c.is_abstract,
        "strictmode": c.strict,
        "clusters": c.clusters,
        "defaultCluster": c.clusters.first().copied().unwrap_or(-1),
        "clusterSelection": "round-robin",
        "records": snap.count(&c.name, true)?,
    });
    if !props.is_empty() {
        j["properties"] = Json_::Array(props);
    }
    if !indexes.is_empty() {
        j["indexes"] = Json_::Array(indexes);
    }
    Ok(j)
}

/// Every class, sorted by name, as `GET /database/{db}` lists them.
pub fn classes_json(snap: &Snapshot) -> Result<Vec<Json_>, ApiError> {
    let mut classes: Vec<_> = snap.schema().classes.values().collect();
    classes.sort_by(|a, b| a.name.cmp(&b.name));
    classes.into_iter().map(|c| class_json(snap, c)).collect()
}

/// `GET /class/{db}/{class}`: 404 if there is no such class.
pub async fn get_class(
    State(app): State<Arc<App>>,
    Path((name, class)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let h = db(&app, &name)?;
    let j = blocking(move || {
        let snap = h.db.snapshot();
        let c = snap.schema().class(&class).ok_or_else(|| ApiError::not_found(format!("class '{class}' not found")))?;
        class_json(&snap, c)
    })
    .await?;
    Ok(Json(j).into_response())
}

/// `POST /class/{db}/{class}`: creates the class; answers 201 and the number of classes.
pub async fn create_class(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((name, class)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin, "change the schema")?;
    let h = db(&app, &name)?;
    let count = blocking(move || {
        if h.db.snapshot().schema().class(&class).is_some() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "Already exists",
                format!("class '{class}' already exists"),
            ));
        }
        let mut tx = Transaction::new();
        tx.schema(SchemaRequest::CreateClass { name: class, superclass: None, is_abstract: false });
        commit(&h, &tx)?;
        Ok(h.db.snapshot().schema().classes.len())
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!(count))).into_response())
}

/// `DELETE /class/{db}/{class}`: drops an empty class; 204.
pub async fn drop_class(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((name, class)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin, "change the schema")?;
    let h = db(&app, &name)?;
    blocking(move || {
        let records = {
            let snap = h.db.snapshot();
            snap.schema().class(&class).ok_or_else(|| ApiError::not_found(format!("class '{class}' not found")))?;
            snap.count(&class, false)?
        };
        if records > 0 {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "Class not empty",
                format!("class '{class}' has {records} records; delete them first, or run DROP CLASS {class} UNSAFE"),
            ));
        }
        let mut tx = Transaction::new();
        tx.schema(SchemaRequest::DropClass { name: class, unsafe_drop: false });
        commit(&h, &tx)?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn browse(app: Arc<App>, name: String, cluster: String, limit: Option<String>) -> Result<Response, ApiError> {
    let limit = match limit {
        None => CLUSTER_BROWSE_DEFAULT,
        Some(l) => {
            let n: i64 = l.parse().map_err(|_| ApiError::bad_request(format!("limit '{l}' is not a whole number")))?;
            if n <= 0 {
                CLUSTER_BROWSE_MAX
            } else {
                (n as u64).min(CLUSTER_BROWSE_MAX as u64) as usize
            }
        }
    };
    let h = db(&app, &name)?;
    let rows = blocking(move || {
        let snap = h.db.snapshot();
        let id = snap
            .schema()
            .clusters
            .values()
            .find(|c| c.name.eq_ignore_ascii_case(&cluster))
            .map(|c| c.id)
            .ok_or_else(|| ApiError::not_found(format!("cluster '{cluster}' not found")))?;
        let mut rows = Vec::new();
        for r in snap.scan_cluster(id).take(limit) {
            rows.push(document_json(&r?)?);
        }
        Ok(rows)
    })
    .await?;
    Ok(Json(json!({"result": rows})).into_response())
}

/// `GET /cluster/{db}/{name}`: the cluster's first 20 records.
pub async fn get_cluster(
    State(app): State<Arc<App>>,
    Path((name, cluster)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    browse(app, name, cluster, None).await
}

/// `GET /cluster/{db}/{name}/{limit}`.
pub async fn get_cluster_limited(
    State(app): State<Arc<App>>,
    Path((name, cluster, limit)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    browse(app, name, cluster, Some(limit)).await
}
