//! `GET /server` and `GET /connections[/{db}]` (OrientDB's `OServerCommandGetServer`,
//! `OServerCommandGetConnections`, `OServerInfo.getConnections`): the server's facts and
//! its open HTTP connections, each with its id, client address, the user and database of
//! its last authenticated request, its request count and when it connected and last sent a
//! request (`yyyy-MM-dd HH:mm:ss`, UTC). Admin only, like OrientDB's `server.info` and
//! `server.connections` resources.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use basalt_engine::json::format_datetime;
use serde_json::{json, Value as Json_};

use super::conn::Tracker;
use super::{ApiError, Caller};
use crate::app::App;
use crate::users::Role;

/// The open connections (of one database when `db` is given), as OrientDB lists them.
fn connections_json(tracker: &Tracker, db: Option<&str>) -> Vec<Json_> {
    let mut out = Vec::new();
    for (id, a) in tracker.connections() {
        let u = &a.usage;
        let (user, last_db) = u.last.lock().map(|l| l.clone()).unwrap_or_else(|p| p.into_inner().clone());
        if db.is_some_and(|d| d != last_db) {
            continue;
        }
        let peer = u.peer.lock().map(|p| *p).unwrap_or(None);
        let at = |ms: u64| format_datetime(i64::try_from(ms).unwrap_or(i64::MAX));
        out.push(json!({
            "connectionId": id,
            "remoteAddress": peer.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
            "db": if last_db.is_empty() { "-".to_string() } else { last_db },
            "user": if user.is_empty() { "-".to_string() } else { user },
            "totalRequests": u.requests.load(Ordering::Relaxed),
            "lastCommandOn": at(u.last_request_ms.load(Ordering::Relaxed)),
            "connectedOn": at(u.connected_on_ms.load(Ordering::Relaxed)),
            "protocol": "http",
        }));
    }
    out
}

/// `GET /server`: name, version, node, uptime, databases and `connections`.
pub async fn server_info(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Extension(tracker): Extension<Arc<Tracker>>,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin, "read the server's status")?;
    Ok(Json(json!({
        "name": "basalt", "version": env!("CARGO_PKG_VERSION"), "node": app.settings.node_name,
        "uptimeSeconds": app.started.elapsed().as_secs(), "databases": app.registry.names(),
        "connections": connections_json(&tracker, None),
    }))
    .into_response())
}

/// `GET /connections`.
pub async fn connections(
    Extension(caller): Extension<Caller>,
    Extension(tracker): Extension<Arc<Tracker>>,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin, "list connections")?;
    Ok(Json(json!({"connections": connections_json(&tracker, None)})).into_response())
}

/// `GET /connections/{db}`: the connections whose last request named `db`.
pub async fn connections_of(
    Extension(caller): Extension<Caller>,
    Extension(tracker): Extension<Arc<Tracker>>,
    Path(db): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin, "list connections")?;
    Ok(Json(json!({"connections": connections_json(&tracker, Some(&db))})).into_response())
}
