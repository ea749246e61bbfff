//! The request handlers. Each checks the caller's role, runs engine work on the blocking
//! pool, and answers JSON or the error envelope. SQL answers stream (`query_stream.rs`):
//! the query runs under the request's limits, is cancelled when the client goes away, and a
//! large result goes out in chunks as it is found.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use basalt_engine::convert::is_graph_field;
use basalt_engine::{Document, RecordKind, Rid, Transaction};
use serde_json::{json, Value as Json_};

use super::{ApiError, Caller};
use crate::app::App;
use crate::query::{Access, Params, QueryRequest};
use crate::registry::DbHandle;
use crate::users::Role;

mod query_stream;

type ApiResult = Result<Response, ApiError>;

/// Runs blocking engine work off the async threads.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::internal(format!("request task failed: {e}")))?
}

pub(super) fn parse_json(body: &[u8]) -> Result<Json_, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))
}

pub(super) fn parse_rid(s: &str) -> Result<Rid, ApiError> {
    Rid::parse(s).filter(|r| !r.is_temporary()).ok_or_else(|| {
        ApiError::bad_request(format!("'{s}' is not a record id; write it as cluster:position, e.g. 9:1"))
    })
}

/// Commits through the document API, counted in the database's metrics like SQL commits
/// (latency of the ones that succeed, a count of the refused ones).
pub(super) fn commit(h: &DbHandle, tx: &Transaction) -> Result<basalt_engine::Committed, ApiError> {
    let started = Instant::now();
    match h.db.commit(tx) {
        Ok(c) => {
            h.metrics.commit_latency.observe(started.elapsed());
            Ok(c)
        }
        Err(e) => {
            h.metrics.commit_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Err(e.into())
        }
    }
}

/// [`commit`] for async handlers: awaits the outcome instead of blocking a thread.
async fn commit_async(h: &DbHandle, tx: &Transaction) -> Result<basalt_engine::Committed, ApiError> {
    let started = Instant::now();
    match h.db.submit(tx).await {
        Ok(c) => {
            h.metrics.commit_latency.observe(started.elapsed());
            Ok(c)
        }
        Err(e) => {
            h.metrics.commit_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Err(e.into())
        }
    }
}

pub(super) fn db(app: &App, name: &str) -> Result<Arc<DbHandle>, ApiError> {
    Ok(app.registry.get(name)?)
}

pub(super) fn access_of(role: Role) -> Access {
    match role {
        Role::Reader => Access::Read,
        Role::Writer => Access::Write,
        Role::Admin => Access::Admin,
    }
}

/// `GET /listDatabases`.
pub async fn list_databases(State(app): State<Arc<App>>) -> ApiResult {
    // `databases` stays the list of names OrientDB clients read; `databaseStatus` adds, per
    // database, ONLINE or OFFLINE and why.
    let mut status = serde_json::Map::new();
    for s in app.registry.statuses() {
        status.insert(s.name.clone(), db_status_json(&s));
    }
    Ok(Json(json!({"@type": "d", "@version": 0, "databases": app.registry.names(), "databaseStatus": status}))
        .into_response())
}

/// A database's status for the status pages: `{"status", "reason"?, "appliedLsn"?}`.
fn db_status_json(s: &crate::registry::DbStatus) -> Json_ {
    let mut j = json!({"status": s.status()});
    if let Some(reason) = &s.offline_reason {
        j["reason"] = json!(reason);
        j["reopenAttempts"] = json!(s.reopen_attempts);
    }
    if let Some(lsn) = s.applied_lsn {
        j["appliedLsn"] = json!(lsn);
    }
    j
}

pub(super) fn database_info(h: &DbHandle) -> Result<Json_, ApiError> {
    let snap = h.db.snapshot();
    let schema = snap.schema();
    // Each class as OrientDB's exportClass writes it; `strictMode` stays for Basalt's console.
    let mut classes = super::schema::classes_json(&snap)?;
    for c in &mut classes {
        c["strictMode"] = c["strictmode"].clone();
    }
    let clusters: Vec<Json_> = schema
        .clusters
        .values()
        .map(|c| json!({"id": c.id, "name": c.name, "class": c.class, "records": snap.cluster_count(c.id)}))
        .collect();
    let indexes: Vec<Json_> = schema
        .indexes
        .values()
        .map(|i| {
            let size = snap.index(&i.name).map(|x| x.len()).unwrap_or(0);
            json!({"name": i.name, "class": i.class, "fields": i.fields, "type": i.kind, "unique": i.unique, "size": size})
        })
        .collect();
    let stats = h.db.stats();
    Ok(json!({
        "server": {"version": env!("CARGO_PKG_VERSION"), "osName": std::env::consts::OS, "osArch": std::env::consts::ARCH},
        "name": h.name, "status": if h.db.offline_reason().is_some() { "OFFLINE" } else { "ONLINE" },
        "appliedLsn": snap.applied_lsn().0, "checkpointLsn": stats.checkpoint_lsn,
        "classes": classes, "clusters": clusters, "indexes": indexes,
    }))
}

/// `POST /database/{db}`. A body `{"adminPassword": "..."}` (OrientDB's
/// `OServerCommandPostDatabase`) also gives the user `admin` (role admin) that password:
/// a new user is created, an existing `admin` must already have that password (else 409).
/// Both are checked before the database is created, so a refusal creates nothing.
pub async fn create_database(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    caller.require(Role::Admin, "create databases")?;
    let admin_password = admin_password_of(&body)?;
    let app2 = app.clone();
    let info = blocking(move || {
        let new_admin = match &admin_password {
            Some(pw) => check_admin_password(&app2, pw)?,
            None => false,
        };
        let h = app2.registry.create(&name)?;
        if let (true, Some(pw)) = (new_admin, &admin_password) {
            app2.users.set("admin", pw, Role::Admin).map_err(|e| ApiError::bad_request(e.to_string()))?;
        }
        database_info(&h)
    })
    .await?;
    Ok((StatusCode::OK, Json(info)).into_response())
}

/// The `adminPassword` of a create-database body, if any.
fn admin_password_of(body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let j = super::rest_compat::parse_body(body)?;
    match j.get("adminPassword") {
        None | Some(Json_::Null) => Ok(None),
        Some(Json_::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ApiError::bad_request(format!("\"adminPassword\" must be a string, not {other}"))),
    }
}

/// Whether user `admin` must be created with `password` (true), or exists with it (false);
/// refuses a password the user table would refuse, and an existing `admin` with another one.
fn check_admin_password(app: &App, password: &str) -> Result<bool, ApiError> {
    if app.users.list().iter().any(|(n, _)| n == "admin") {
        return match app.users.authenticate("admin", password) {
            Some(_) => Ok(false),
            None => Err(ApiError::new(
                StatusCode::CONFLICT,
                "User exists",
                "user 'admin' exists with another password; leave out \"adminPassword\", or change it with POST /users",
            )),
        };
    }
    let min = app.users.min_password_length();
    let chars = password.chars().count();
    if chars < min {
        return Err(ApiError::bad_request(format!(
            "adminPassword has {chars} characters; it needs at least {min} (min_password_length in [limits] of basalt.toml)"
        )));
    }
    Ok(true)
}

/// `POST /database/{db}/{storage}` (OrientDB's `plocal`; `memory` is stored like plocal).
pub async fn create_database_typed(
    state: State<Arc<App>>,
    caller: Extension<Caller>,
    Path((name, storage)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    if !["plocal", "memory", "local"].contains(&storage.to_lowercase().as_str()) {
        return Err(ApiError::bad_request(format!("unknown storage type '{storage}'; use plocal")));
    }
    create_database(state, caller, Path(name), body).await
}

/// `GET /database/{db}`.
pub async fn get_database(State(app): State<Arc<App>>, Path(name): Path<String>) -> ApiResult {
    let h = db(&app, &name)?;
    let info = blocking(move || database_info(&h)).await?;
    Ok(Json(info).into_response())
}

/// `DELETE /database/{db}`.
pub async fn drop_database(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> ApiResult {
    caller.require(Role::Admin, "drop databases")?;
    let app2 = app.clone();
    blocking(move || Ok(app2.registry.drop_db(&name)?)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /database/{db}/digest`.
pub async fn digest(State(app): State<Arc<App>>, Path(name): Path<String>) -> ApiResult {
    let h = db(&app, &name)?;
    let d = blocking(move || Ok(h.db.snapshot().digest())).await?;
    Ok(Json(json!({"digest": d.hex(), "lsn": d.lsn.0})).into_response())
}

/// Reads `/command`'s body: SQL text, or `{"command": ..., "parameters": ...}`.
pub(super) fn command_body(headers: &HeaderMap, body: &[u8]) -> Result<(String, Params), ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
        || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if !is_json {
        let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("the command is not UTF-8 text"))?;
        return Ok((text.to_string(), Params::default()));
    }
    let j = parse_json(body)?;
    let command = j
        .get("command")
        .and_then(|c| c.as_str())
        .ok_or_else(|| ApiError::bad_request("the JSON body needs a \"command\" string"))?;
    let params = Params::from_json(j.get("parameters")).map_err(ApiError::bad_request)?;
    Ok((command.to_string(), params))
}

pub(super) fn check_lang(lang: &str) -> Result<(), ApiError> {
    if lang.eq_ignore_ascii_case("sql") {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!("language '{lang}' is not supported; use sql")))
    }
}

pub(super) async fn run_sql(app: Arc<App>, name: &str, headers: &HeaderMap, req: QueryRequest) -> ApiResult {
    let h = db(&app, name)?;
    let limits = query_stream::limits(&app.settings.query, headers)?;
    let started = Instant::now();
    let writes = req.access > Access::Read;
    if writes {
        if let Some(planned) = crate::sql::exec::quick::plan(&h.db, &req) {
            if let Some(answer) = quick_write(&h, &req, planned, started).await {
                return answer;
            }
        }
    }
    query_stream::answer(limits, move |limits, cancel, sink| {
        let r = crate::query::run_streaming(&h.db, &req, limits, cancel, sink);
        if writes {
            match &r {
                Ok(_) => h.metrics.commit_latency.observe(started.elapsed()),
                Err(_) => {
                    h.metrics.commit_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
        r
    })
    .await
}

/// Commits a quick write (`sql::exec::quick`) on this task: it was planned here, and its
/// outcome is awaited, so no thread waits while the entry is on its way through the log.
/// `None` when it must run the usual way after all (a version conflict, which the usual
/// path retries).
async fn quick_write(
    h: &DbHandle,
    req: &QueryRequest,
    planned: Result<crate::sql::exec::quick::QuickWrite, crate::query::QueryError>,
    started: Instant,
) -> Option<ApiResult> {
    let failed = |e: ApiError| {
        h.metrics.commit_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(Err(e))
    };
    let planned = match planned {
        Ok(p) => p,
        Err(e) => return failed(e.into()),
    };
    let committed = match h.db.submit(planned.transaction()).await {
        Ok(c) => c,
        Err(basalt_engine::Error::Conflict { .. }) => return None,
        Err(e) => return failed(e.into()),
    };
    h.metrics.commit_latency.observe(started.elapsed());
    Some(
        planned
            .answer(&h.db, req, &committed)
            .map_err(ApiError::from)
            .and_then(|rows| query_stream::rows_answer(&rows)),
    )
}

/// `POST /command/{db}/sql`.
pub async fn command(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((name, lang)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    check_lang(&lang)?;
    let (text, params) = command_body(&headers, &body)?;
    if let Some(st) = crate::sql::exec::backup::parse(&text).map_err(ApiError::bad_request)? {
        return super::export::run_statement(app, caller, name, st).await;
    }
    let req = QueryRequest { text, params, access: access_of(caller.role), limit: None, transaction: false };
    run_sql(app, &name, &headers, req).await
}

/// `POST /command/{db}/sql/{text}`: the command in the path.
pub async fn command_in_path(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((name, lang, text)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    check_lang(&lang)?;
    if let Some(st) = crate::sql::exec::backup::parse(&text).map_err(ApiError::bad_request)? {
        return super::export::run_statement(app, caller, name, st).await;
    }
    let req = QueryRequest {
        text,
        params: Params::default(),
        access: access_of(caller.role),
        limit: None,
        transaction: false,
    };
    run_sql(app, &name, &headers, req).await
}

/// `GET /query/{db}/sql/{text}`: read-only, at most 20 rows.
pub async fn query(
    State(app): State<Arc<App>>,
    Path((name, lang, text)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    check_lang(&lang)?;
    let req =
        QueryRequest { text, params: Params::default(), access: Access::Read, limit: Some(20), transaction: false };
    run_sql(app, &name, &headers, req).await
}

/// `GET /query/{db}/sql/{text}/{limit}`: read-only; `-1` means no limit.
pub async fn query_limited(
    State(app): State<Arc<App>>,
    Path((name, lang, text, limit)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    check_lang(&lang)?;
    let limit: i64 = limit.parse().map_err(|_| ApiError::bad_request(format!("limit '{limit}' is not a number")))?;
    let limit = if limit < 0 { None } else { Some(limit as usize) };
    let req = QueryRequest { text, params: Params::default(), access: Access::Read, limit, transaction: false };
    run_sql(app, &name, &headers, req).await
}

/// `HEAD /document/{db}/{rid}`.
pub async fn head_document(State(app): State<Arc<App>>, Path((name, rid)): Path<(String, String)>) -> ApiResult {
    let rid = parse_rid(&rid)?;
    let h = db(&app, &name)?;
    let found = blocking(move || Ok(h.db.snapshot().get(rid)?.is_some())).await?;
    Ok(if found { StatusCode::NO_CONTENT } else { StatusCode::NOT_FOUND }.into_response())
}

/// Drops the fields a client echoes back from a record it read: a vertex's link bags.
pub(super) fn without_bags(mut d: Document, kind: RecordKind) -> Document {
    if kind == RecordKind::Vertex {
        let names: Vec<String> = d.names().filter(|n| is_graph_field(n)).map(str::to_string).collect();
        for n in names {
            d.remove(&n);
        }
    }
    d
}

/// `POST /document/{db}`: creates a record (an edge if its class extends E: give `out` and
/// `in`).
pub async fn create_document(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    caller.require(Role::Writer, "write data")?;
    let (rec, _) = super::rest_compat::record_from_body(&body)?;
    let class = rec.class.ok_or_else(|| ApiError::bad_request("the record needs an \"@class\""))?;
    let h = db(&app, &name)?;
    // Built, committed and read back on this task: forming reads only the schema, and the
    // commit is awaited, so no thread waits while the entry goes through the log.
    let kind = {
        let snap = h.db.snapshot();
        snap.schema().class_or_err(&class)?;
        snap.schema().kind_of(&class)
    };
    let mut tx = Transaction::new();
    let temp = if kind == RecordKind::Edge {
        let mut fields = rec.fields;
        let end = |f: &mut Document, n: &str| {
            f.remove(n)
                .and_then(|v| match v {
                    basalt_engine::Value::String(s) => Rid::parse(&s),
                    basalt_engine::Value::Link(r) => Some(r),
                    _ => None,
                })
                .ok_or_else(|| ApiError::bad_request(format!("an edge needs \"{n}\": the RID of its {n} vertex")))
        };
        let (out, inn) = (end(&mut fields, "out")?, end(&mut fields, "in")?);
        tx.create_edge(&class, out, inn, fields)
    } else {
        tx.create(&class, without_bags(rec.fields, kind))
    };
    let c = commit_async(&h, &tx).await?;
    let r = h.db.snapshot().get(c.rid(temp))?.ok_or_else(|| ApiError::internal("the created record is missing"))?;
    let j = super::rest_compat::document_json(&r)?;
    Ok((StatusCode::CREATED, Json(j)).into_response())
}

/// `DELETE /document/{db}/{rid}`: a vertex goes with its edges.
pub async fn delete_document(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((name, rid)): Path<(String, String)>,
) -> ApiResult {
    caller.require(Role::Writer, "write data")?;
    let rid = parse_rid(&rid)?;
    let h = db(&app, &name)?;
    blocking(move || {
        let mut tx = Transaction::new();
        tx.delete(rid, None);
        commit(&h, &tx)?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The host other machines can reach this node by: the bound address, or the host name
/// when the server listens on every interface (0.0.0.0 reaches nothing from elsewhere).
fn advertised_host(app: &App) -> String {
    let ip = app.http_addr.ip();
    if !ip.is_unspecified() {
        return ip.to_string();
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

fn node_json(app: &App) -> Json_ {
    let mut dbs = serde_json::Map::new();
    for s in app.registry.statuses() {
        dbs.insert(s.name.clone(), db_status_json(&s));
    }
    json!({
        "name": app.settings.node_name,
        "role": app.settings.role.name(),
        "httpAddress": format!("{}:{}", advertised_host(app), app.http_addr.port()),
        "clusterAddress": format!("{}:{}", advertised_host(app), crate::cluster::views::cluster_port(app)),
        "reachable": true,
        "databases": dbs,
    })
}

/// `GET /distributed/status`: this node's view of the cluster (members and reachability
/// from `crate::cluster`).
pub async fn distributed_status(State(app): State<Arc<App>>) -> ApiResult {
    // --- cluster membership (issue 10): the members and databases come from crate::cluster.
    let mut nodes = vec![node_json(&app)];
    nodes.extend(crate::cluster::views::remote_nodes(&app));
    Ok(Json(json!({
        "localNode": app.settings.node_name,
        "clusterName": app.settings.cluster_name,
        "nodes": nodes,
        "databases": crate::cluster::views::databases(&app),
    }))
    .into_response())
}

/// `GET /distributed/node`: the same facts in the shape OrientDB's agent used.
pub async fn distributed_node(State(app): State<Arc<App>>) -> ApiResult {
    let node = node_json(&app);
    let mut members = vec![json!({
        "id": app.settings.node_name, "name": app.settings.node_name, "status": "ONLINE",
        "role": app.settings.role.name(), "listeners": [{"protocol": "ONetworkProtocolHttpDb", "listen": node["httpAddress"]}],
        "databases": app.registry.names(),
    })];
    members.extend(crate::cluster::views::remote_members(&app));
    Ok(Json(json!({
        "localId": app.settings.node_name,
        "localName": app.settings.node_name,
        "members": members,
    }))
    .into_response())
}

/// `GET /users` (admin).
pub async fn list_users(State(app): State<Arc<App>>, Extension(caller): Extension<Caller>) -> ApiResult {
    caller.require(Role::Admin, "list users")?;
    let users: Vec<Json_> = app.users.list().into_iter().map(|(n, r)| json!({"name": n, "role": r.name()})).collect();
    Ok(Json(json!({"users": users})).into_response())
}

/// `POST /users` (admin): `{"name", "password", "role"}` adds or replaces a user.
pub async fn set_user(State(app): State<Arc<App>>, Extension(caller): Extension<Caller>, body: Bytes) -> ApiResult {
    caller.require(Role::Admin, "manage users")?;
    let j = parse_json(&body)?;
    let field = |n: &str| {
        j.get(n)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| ApiError::bad_request(format!("\"{n}\" is missing")))
    };
    let (name, password, role) = (field("name")?, field("password")?, field("role")?);
    let role = Role::parse(&role)
        .ok_or_else(|| ApiError::bad_request(format!("role '{role}': use reader, writer or admin")))?;
    // As with deleting yourself: an admin demoting themselves could leave no admin at all.
    if name == caller.user && role < Role::Admin {
        return Err(ApiError::bad_request(
            "you cannot take the admin role from the user you are logged in as; ask another admin",
        ));
    }
    let users = app.users.clone();
    let n = name.clone();
    blocking(move || users.set(&n, &password, role).map_err(|e| ApiError::bad_request(e.to_string()))).await?;
    Ok((StatusCode::CREATED, Json(json!({"name": name, "role": role.name()}))).into_response())
}

/// `DELETE /users/{name}` (admin).
pub async fn delete_user(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> ApiResult {
    caller.require(Role::Admin, "manage users")?;
    if name == caller.user {
        return Err(ApiError::bad_request("you cannot delete the user you are logged in as"));
    }
    let users = app.users.clone();
    blocking(move || {
        users.remove(&name).map_err(|e| match e {
            crate::users::UserError::NotFound(_) => ApiError::not_found(e.to_string()),
            other => ApiError::internal(other.to_string()),
        })
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Any path not in the API.
pub async fn unknown_path(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no such path: {}; see the HTTP API in the README", uri.path()))
}

/// A known path with the wrong method.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}
