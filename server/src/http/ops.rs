//! Operator endpoints: `GET /health` (liveness) and `GET /ready` (readiness), both without
//! credentials as etcd and Kubernetes probes expect; `GET /metrics` (Prometheus text); and
//! `DELETE /distributed/nodes/{name}` (the console's `HA REMOVE SERVER`).
//!
//! Readiness is "every database this node has is ONLINE": a database that is OFFLINE (its
//! engine stopped after a write failure) or failed to open at start makes `/ready` answer 503
//! naming it, so a load balancer stops sending traffic the node cannot serve. `/health` only
//! says the process answers HTTP.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;

use super::{ApiError, Caller};
use crate::app::App;
use crate::metrics::{DbSample, NodeSample, ProcessSample};
use crate::users::Role;

type ApiResult = Result<Response, ApiError>;

/// Each database's status on this node (ONLINE, or OFFLINE: failed to open or stopped by
/// an IO error), by name, as the registry keeps it.
pub fn database_statuses(app: &App) -> Vec<(String, &'static str)> {
    app.registry
        .statuses()
        .into_iter()
        .map(|s| {
            let st = s.status();
            (s.name, st)
        })
        .collect()
}

/// `GET /health`: 200 while the process serves HTTP.
pub async fn health() -> Response {
    Json(json!({"health": "true", "status": "UP"})).into_response()
}

/// `GET /ready`: 200 when every database is ONLINE, else 503 naming the others.
pub async fn ready(State(app): State<Arc<App>>) -> ApiResult {
    let statuses = database_statuses(&app);
    let not_ready: Vec<String> =
        statuses.iter().filter(|(_, s)| *s != "ONLINE").map(|(n, s)| format!("'{n}' is {s}")).collect();
    if !not_ready.is_empty() {
        return Err(ApiError::unavailable(format!(
            "not ready: database {}; see the server log for why",
            not_ready.join(", database ")
        )));
    }
    let dbs: serde_json::Map<String, serde_json::Value> = statuses.into_iter().map(|(n, s)| (n, json!(s))).collect();
    Ok(Json(json!({"status": "READY", "databases": dbs})).into_response())
}

/// `DELETE /distributed/nodes/{name}` (admin): removes a server from the cluster's member
/// set and from the databases' distributed configs (this node cannot remove itself).
pub async fn remove_node(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> ApiResult {
    caller.require(Role::Admin, "remove servers from the cluster")?;
    if name == app.settings.node_name {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!(
                "'{name}' is this node (the local node); a server cannot remove itself from the cluster: \
                 stop it, or ask another member to remove it"
            ),
        ));
    }
    // --- cluster membership (issue 10)
    let Some(cluster) = &app.cluster else {
        return Err(ApiError::not_found(format!("no server named {name} in this cluster")));
    };
    let dirs = app.registry.names().into_iter().map(|db| app.registry.dir().join(db)).collect();
    match cluster.remove(&name, dirs).await {
        Ok(event) => {
            tracing::info!(by = %caller.user, "{}", event.describe());
            let members = cluster.status().members.len() + 1;
            Ok(Json(json!({"removed": name, "nodesConfigured": members})).into_response())
        }
        Err(e @ basalt_net::membership::RemoveError::Local(_)) => {
            Err(ApiError::new(StatusCode::CONFLICT, "Conflict", e.to_string()))
        }
        Err(e) => Err(ApiError::not_found(e.to_string())),
    }
}

/// `GET /metrics`.
pub async fn metrics(State(app): State<Arc<App>>) -> ApiResult {
    let app2 = app.clone();
    let text = tokio::task::spawn_blocking(move || render_metrics(&app2))
        .await
        .map_err(|e| ApiError::internal(format!("metrics task failed: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response())
}

fn render_metrics(app: &App) -> String {
    let handles = app.registry.all();
    let samples: Vec<DbSample<'_>> = handles
        .iter()
        .map(|h| {
            let stats = h.db.stats();
            let records = {
                let snap = h.db.snapshot();
                snap.schema().clusters.keys().map(|id| snap.cluster_count(*id)).sum()
            };
            let (wal_size_bytes, _) = crate::metrics::wal_files(&h.db.dir().join(basalt_engine::WAL_DIR));
            DbSample {
                name: &h.name,
                status: if h.db.offline_reason().is_some() { "OFFLINE" } else { "ONLINE" },
                stats,
                metrics: &h.metrics,
                records,
                wal_size_bytes,
                wal_segments: h.db.wal().status().segments as u64,
            }
        })
        .collect();
    let open: Vec<&str> = samples.iter().map(|s| s.name).collect();
    let node = NodeSample {
        uptime: app.started.elapsed(),
        failed_databases: app
            .registry
            .statuses()
            .into_iter()
            .map(|s| s.name)
            .filter(|n| !open.contains(&n.as_str()))
            .collect(),
        home: app.settings.home.display().to_string(),
        disk: crate::metrics::disk_space(&app.settings.home),
        process: ProcessSample::read(),
    };
    crate::metrics::render(&app.metrics, &samples, &node)
}
