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
use crate::records::{client_record, record_json};
use crate::registry::DbHandle;
use crate::users::Role;

mod query_stream;

type ApiResult = Result<Response, ApiError>;

/// Runs blocking engine work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::internal(format!("request task failed: {e}")))?
}

fn parse_json(body: &[u8]) -> Result<Json_, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))
}

fn parse_rid(s: &str) -> Result<Rid, ApiError> {
    Rid::parse(s).filter(|r| !r.is_temporary()).ok_or_else(|| {
        ApiError::bad_request(format!("'{s}' is not a record id; write it as cluster:position, e.g. 9:1"))
    })
}

/// Commits through the document API, counted in the database's metrics like SQL commits
/// (latency of the ones that succeed, a count of the refused ones).
fn commit(h: &DbHandle, tx: &Transaction) -> Result<basalt_engine::Committed, ApiError> {
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

fn db(app: &App, name: &str) -> Result<Arc<DbHandle>, ApiError> {
    Ok(app.registry.get(name)?)
}

fn access_of(role: Role) -> Access {
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

fn database_info(h: &DbHandle) -> Result<Json_, ApiError> {
    let snap = h.db.snapshot();
    let schema = snap.schema();
    let mut classes = Vec::new();
    for c in schema.classes.values() {
        let props: Vec<Json_> = c
            .properties
            .values()
            .map(|p| {
                json!({"name": p.name, "type": p.ty.name(), "linkedClass": p.linked_class,
                       "linkedType": p.linked_type.map(|t| t.name()), "mandatory": p.mandatory,
                       "notNull": p.not_null, "readonly": p.readonly})
            })
            .collect();
        classes.push(json!({
            "name": c.name, "superClass": c.superclass, "abstract": c.is_abstract, "strictMode": c.strict,
            "clusters": c.clusters, "defaultCluster": c.clusters.first(), "records": snap.count(&c.name, false)?,
            "properties": props,
        }));
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
        "name": h.name, "status": if h.db.offline_reason().is_some() { "OFFLINE" } else { "ONLINE" },
        "appliedLsn": snap.applied_lsn().0, "checkpointLsn": stats.checkpoint_lsn,
        "classes": classes, "clusters": clusters, "indexes": indexes,
    }))
}

/// `POST /database/{db}`.
pub async fn create_database(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> ApiResult {
    caller.require(Role::Admin, "create databases")?;
    let app2 = app.clone();
    let info = blocking(move || {
        let h = app2.registry.create(&name)?;
        database_info(&h)
    })
    .await?;
    Ok((StatusCode::OK, Json(info)).into_response())
}

/// `POST /database/{db}/{storage}` (OrientDB's `plocal`; `memory` is stored like plocal).
pub async fn create_database_typed(
    state: State<Arc<App>>,
    caller: Extension<Caller>,
    Path((name, storage)): Path<(String, String)>,
) -> ApiResult {
    if !["plocal", "memory", "local"].contains(&storage.to_lowercase().as_str()) {
        return Err(ApiError::bad_request(format!("unknown storage type '{storage}'; use plocal")));
    }
    create_database(state, caller, Path(name)).await
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
fn command_body(headers: &HeaderMap, body: &[u8]) -> Result<(String, Params), ApiError> {
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

fn check_lang(lang: &str) -> Result<(), ApiError> {
    if lang.eq_ignore_ascii_case("sql") {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!("language '{lang}' is not supported; use sql")))
    }
}

async fn run_sql(app: Arc<App>, name: &str, headers: &HeaderMap, req: QueryRequest) -> ApiResult {
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

/// `POST /batch/{db}`: OrientDB's batch of operations, run as one transaction.
pub async fn batch(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let j = parse_json(&body)?;
    let ops = j
        .get("operations")
        .and_then(|o| o.as_array())
        .ok_or_else(|| ApiError::bad_request("the batch needs an \"operations\" array"))?;
    let transaction = j.get("transaction").and_then(|t| t.as_bool()).unwrap_or(true);
    let mut script = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let kind = op.get("type").and_then(|t| t.as_str()).unwrap_or("");
        match kind {
            "script" | "cmd" | "command" => {
                let lang = op.get("language").and_then(|l| l.as_str()).unwrap_or("sql");
                check_lang(lang)?;
                let field = if kind == "script" { "script" } else { "command" };
                match op.get(field) {
                    Some(Json_::String(s)) => script.push(s.clone()),
                    Some(Json_::Array(lines)) => {
                        for l in lines {
                            let l = l.as_str().ok_or_else(|| {
                                ApiError::bad_request(format!("operation {i}: \"{field}\" lines must be strings"))
                            })?;
                            script.push(l.to_string());
                        }
                    }
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "operation {i}: needs a \"{field}\" string or array"
                        )))
                    }
                }
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "operation {i}: type '{other}' is not supported in a batch; use \"script\" or \"cmd\" with SQL"
                )))
            }
        }
    }
    let text = script.iter().map(|s| s.trim().trim_end_matches(';').to_string()).collect::<Vec<_>>().join(";\n");
    let params = Params::from_json(j.get("parameters")).map_err(ApiError::bad_request)?;
    let req = QueryRequest { text, params, access: access_of(caller.role), limit: None, transaction };
    run_sql(app, &name, &headers, req).await
}

/// `GET /document/{db}/{rid}`.
pub async fn get_document(State(app): State<Arc<App>>, Path((name, rid)): Path<(String, String)>) -> ApiResult {
    let rid = parse_rid(&rid)?;
    let h = db(&app, &name)?;
    let j = blocking(move || {
        let r = h.db.snapshot().get(rid)?.ok_or_else(|| ApiError::not_found(format!("record {rid} not found")))?;
        record_json(&r).map_err(ApiError::internal)
    })
    .await?;
    Ok(Json(j).into_response())
}

/// `HEAD /document/{db}/{rid}`.
pub async fn head_document(State(app): State<Arc<App>>, Path((name, rid)): Path<(String, String)>) -> ApiResult {
    let rid = parse_rid(&rid)?;
    let h = db(&app, &name)?;
    let found = blocking(move || Ok(h.db.snapshot().get(rid)?.is_some())).await?;
    Ok(if found { StatusCode::NO_CONTENT } else { StatusCode::NOT_FOUND }.into_response())
}

/// Drops the fields a client echoes back from a record it read: a vertex's link bags.
fn without_bags(mut d: Document, kind: RecordKind) -> Document {
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
    let rec = client_record(&parse_json(&body)?).map_err(ApiError::bad_request)?;
    let class = rec.class.ok_or_else(|| ApiError::bad_request("the record needs an \"@class\""))?;
    let h = db(&app, &name)?;
    let j = blocking(move || {
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
        let c = commit(&h, &tx)?;
        let r = h.db.snapshot().get(c.rid(temp))?.ok_or_else(|| ApiError::internal("the created record is missing"))?;
        record_json(&r).map_err(ApiError::internal)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(j)).into_response())
}

async fn update_document(
    app: Arc<App>,
    caller: Caller,
    name: String,
    rid: String,
    body: Bytes,
    merge: bool,
) -> ApiResult {
    caller.require(Role::Writer, "write data")?;
    let rid = parse_rid(&rid)?;
    let rec = client_record(&parse_json(&body)?).map_err(ApiError::bad_request)?;
    let h = db(&app, &name)?;
    let j = blocking(move || {
        let (kind, current) = {
            let snap = h.db.snapshot();
            let r = snap.get(rid)?.ok_or_else(|| ApiError::not_found(format!("record {rid} not found")))?;
            (r.kind(), r.fields().map_err(|e| ApiError::internal(e.to_string()))?)
        };
        let mut fields = if merge { current } else { Document::new() };
        for (k, v) in without_bags(rec.fields, kind).into_fields() {
            fields.set(k, v);
        }
        let mut tx = Transaction::new();
        tx.update(rid, rec.version, fields);
        commit(&h, &tx)?;
        let r = h.db.snapshot().get(rid)?.ok_or_else(|| ApiError::not_found(format!("record {rid} not found")))?;
        record_json(&r).map_err(ApiError::internal)
    })
    .await?;
    Ok(Json(j).into_response())
}

/// `PUT /document/{db}/{rid}`: replaces the fields (`@version` checks for conflicts).
pub async fn put_document(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((name, rid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    update_document(app, caller, name, rid, body, false).await
}

/// `PATCH /document/{db}/{rid}`: sets the given fields, keeps the others.
pub async fn patch_document(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((name, rid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    update_document(app, caller, name, rid, body, true).await
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

/// `GET /server`.
pub async fn server_info(State(app): State<Arc<App>>) -> ApiResult {
    Ok(Json(json!({
        "name": "basalt", "version": env!("CARGO_PKG_VERSION"), "node": app.settings.node_name,
        "uptimeSeconds": app.started.elapsed().as_secs(), "databases": app.registry.names(),
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
