//! The HTTP API (OrientDB's paths, see DESIGN.md's interface contract): the router, the
//! middleware every request passes (metrics, slow-request and audit log, error envelope,
//! Basic auth, the body deadline), and the accept loop (plain or TLS) with graceful shutdown.
//!
//! What a client may hold is bounded: logins in `login` (a fixed pool of password checks,
//! slowed failures), connections in `conn` (caps, header and idle timeouts), and a
//! request's body must arrive within `body_timeout_ms` (`read_body_in_time`).
//!
//! `/health` and `/ready` are the only routes answered without credentials (probes carry
//! none); they are added after the auth layer, with `/disconnect` (which only forgets a
//! session) and `OPTIONS` (CORS preflights carry no credentials; `cors`). A request with an
//! `OSESSIONID` cookie from `GET /connect/{db}` is authenticated by its session (`session`,
//! `connect`). Before routing, paths are put in the form OrientDB's `checkSyntax` reads
//! (`rest_compat::normalize_request`: no trailing slash, `+` is a space).

mod batch;
mod conn;
mod connect;
mod cors;
mod documents;
mod error;
mod export;
mod handlers;
mod login;
mod observe;
mod ops;
mod query_paths;
mod rest_compat;
mod schema;
mod server_info;
mod session;
mod snapshot;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, warn};

pub use error::{ApiError, OUTCOME_UNKNOWN_CONTENT, OUTCOME_UNKNOWN_REASON};
pub use login::LoginGuard;

use crate::app::App;
use crate::users::Role;

/// How long a TLS handshake may take.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest refused body read (and discarded) so that its sender gets the 413; a larger one
/// has its connection closed unread.
const DRAIN_MAX_BYTES: u64 = 64 << 20;
/// Longest time spent reading a refused body.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The client's address, put in every request's extensions by the connection (for the
/// login throttle and the logs).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// What the authentication middleware needs.
#[derive(Debug, Clone)]
struct AuthState {
    /// The login pool and failure tables.
    login: Arc<LoginGuard>,
    /// The server (its users, for sessions).
    app: Arc<App>,
    /// The HTTP sessions.
    sessions: Arc<session::Sessions>,
}

/// Who is calling, once authenticated.
#[derive(Debug, Clone)]
pub struct Caller {
    /// User name.
    pub user: String,
    /// Role.
    pub role: Role,
}

impl Caller {
    /// Fails with 403 unless the caller has at least `role`.
    pub fn require(&self, role: Role, what: &str) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "user '{}' has role {} and may not {what}; that needs role {}",
                self.user,
                self.role.name(),
                role.name()
            )))
        }
    }
}

/// The router with every route and middleware (and a login pool, session table and
/// connection tracker of its own). Paths are routed as sent: [`serve`] normalizes them
/// first (`rest_compat::normalize_request`).
pub fn router(app: Arc<App>) -> Router {
    let login = Arc::new(LoginGuard::new(app.users.clone(), &app.settings.limits));
    let tracker = Arc::new(conn::Tracker::new(&app.settings.limits));
    router_with(app, login, tracker)
}

/// The router, checking logins with `login` and listing the connections of `tracker`.
fn router_with(app: Arc<App>, login: Arc<LoginGuard>, tracker: Arc<conn::Tracker>) -> Router {
    let limits = &app.settings.limits;
    let sessions =
        Arc::new(session::Sessions::new(limits.max_sessions, Duration::from_millis(limits.session_timeout_ms)));
    let auth = AuthState { login, app: app.clone(), sessions: sessions.clone() };
    let routes = Router::new()
        .route("/listDatabases", get(handlers::list_databases))
        .route(
            "/database/{db}",
            post(handlers::create_database).get(handlers::get_database).delete(handlers::drop_database),
        )
        .route("/database/{db}/digest", get(handlers::digest))
        .route("/database/{db}/snapshot", get(snapshot::snapshot))
        .route("/export/{db}", get(export::export))
        .route("/import/{db}", post(export::import))
        .route("/database/{db}/{storage}", post(handlers::create_database_typed))
        .route("/command/{db}/{lang}", post(handlers::command))
        .route("/command/{db}/{lang}/{text}", post(handlers::command_in_path))
        .route("/command/{db}/{lang}/{text}/{limit}", post(query_paths::command_with_limit))
        .route("/command/{db}/{lang}/{text}/{limit}/{plan}", post(query_paths::command_with_fetch_plan))
        .route("/query/{db}/{lang}/{text}", get(handlers::query))
        .route("/query/{db}/{lang}/{text}/{limit}", get(handlers::query_limited))
        .route("/query/{db}/{lang}/{text}/{limit}/{plan}", get(query_paths::query_with_fetch_plan))
        .route("/batch/{db}", post(batch::batch))
        .route("/batch/{db}/{lang}", post(batch::batch_with_lang))
        .route(
            "/document/{db}",
            post(handlers::create_document)
                .put(documents::put_document_by_body)
                .patch(documents::patch_document_by_body),
        )
        .route(
            "/document/{db}/{rid}",
            get(documents::get_document)
                .head(handlers::head_document)
                .put(documents::put_document)
                .patch(documents::patch_document)
                .delete(handlers::delete_document),
        )
        .route("/class/{db}/{class}", get(schema::get_class).post(schema::create_class).delete(schema::drop_class))
        .route("/cluster/{db}/{name}", get(schema::get_cluster))
        .route("/cluster/{db}/{name}/{limit}", get(schema::get_cluster_limited))
        .route("/connect/{db}", get(connect::connect).head(connect::connect))
        .route("/connections", get(server_info::connections))
        .route("/connections/{db}", get(server_info::connections_of))
        .route("/distributed/status", get(handlers::distributed_status))
        .route("/distributed/node", get(handlers::distributed_node))
        .route("/distributed/nodes/{name}", axum::routing::delete(ops::remove_node))
        .route("/metrics", get(ops::metrics))
        .route("/server", get(server_info::server_info))
        .route("/users", get(handlers::list_users).post(handlers::set_user))
        .route("/users/{name}", axum::routing::delete(handlers::delete_user))
        .fallback(handlers::unknown_path)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .route_layer(middleware::from_fn_with_state(app.clone(), read_body_in_time))
        .route_layer(middleware::from_fn_with_state(auth, authenticate))
        .route("/health", get(ops::health))
        .route("/ready", get(ops::ready))
        .route("/disconnect", get(connect::disconnect));
    routes
        .layer(axum::Extension(sessions))
        .layer(axum::Extension(tracker))
        .layer(middleware::from_fn(envelope))
        .layer(middleware::from_fn_with_state(app.clone(), cors::cors))
        .layer(middleware::from_fn_with_state(app.clone(), refuse_large_bodies))
        .layer(middleware::from_fn_with_state(app.clone(), observe::observe))
        .layer(axum::extract::DefaultBodyLimit::max(app.settings.max_body_bytes))
        .with_state(app)
}

/// Checks the session cookie, else HTTP Basic credentials (see [`login`]); puts the
/// [`Caller`] in the request; gives a 401 OrientDB's realm.
async fn authenticate(State(auth): State<AuthState>, req: Request, next: Next) -> Response {
    // Only what the realm of a 401 needs is kept (not the request's headers).
    let path = req.uri().path().to_string();
    let ajax = connect::is_ajax(req.headers());
    let mut resp = authenticated(auth, req, next).await;
    connect::set_realm(&path, ajax, &mut resp);
    resp
}

async fn authenticated(auth: AuthState, mut req: Request, next: Next) -> Response {
    let basic = basic_credentials(req.headers());
    let from_session =
        connect::session_caller(&auth.app, &auth.sessions, &req, basic.as_ref().map(|(u, _)| u.as_str()));
    let caller = match (from_session, basic) {
        (Err(e), _) => return e.into_response(),
        (Ok(Some(caller)), _) => caller,
        (Ok(None), None) => {
            return ApiError::unauthorized("send HTTP Basic credentials (e.g. curl -u root:PASSWORD)").into_response()
        }
        (Ok(None), Some((user, password))) => {
            let address = req.extensions().get::<PeerAddr>().map(|p| p.0.ip());
            match auth.login.login(address, &user, &password).await {
                Ok(role) => Caller { user, role },
                Err(e) => return e.into_response(),
            }
        }
    };
    if let Some(activity) = req.extensions().get::<Arc<conn::Activity>>() {
        activity.usage.note(&caller.user, session::path_database(req.uri().path()).as_deref());
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// Reads the whole body (at most `max_body_bytes`) within `body_timeout_ms` before the
/// handler runs, so a body sent a byte at a time, or a chunked body never ended, cannot hold
/// a request (and its connection) forever: 408 and the connection closes. Runs after
/// authentication, so only a logged-in client makes the server buffer a body.
async fn read_body_in_time(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    use hyper::body::Body as _;
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let max = app.settings.max_body_bytes;
    let timeout = Duration::from_millis(app.settings.limits.body_timeout_ms);
    let (parts, mut body) = req.into_parts();
    let read = async {
        let mut buf = Vec::new();
        while let Some(frame) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await {
            let frame = frame.map_err(|e| ApiError::bad_request(format!("the request body could not be read: {e}")))?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > max {
                    return Err(ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "Payload Too Large",
                        format!("the request body is larger than max_body_bytes = {max} in [http] of basalt.toml"),
                    ));
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(buf)
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(buf)) => next.run(Request::from_parts(parts, axum::body::Body::from(buf))).await,
        Ok(Err(e)) => close_after(e.into_response()),
        Err(_) => close_after(
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "Request timeout",
                format!(
                    "the request body did not arrive within body_timeout_ms = {} in [limits] of basalt.toml",
                    timeout.as_millis()
                ),
            )
            .into_response(),
        ),
    }
}

/// Marks an answer as the connection's last.
fn close_after(mut resp: Response) -> Response {
    resp.headers_mut().insert(header::CONNECTION, axum::http::HeaderValue::from_static("close"));
    resp
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = basalt_engine::json::base64_decode(encoded.trim())?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Turns any error answer that is not already the JSON envelope (axum's own rejections:
/// 413 body too large, 405, ...) into the envelope.
async fn envelope(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.is_success() || status.is_redirection() || is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 << 10).await.unwrap_or_else(|_| Bytes::new());
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let reason = parts.status.canonical_reason().unwrap_or("Error").to_string();
    let content = if text.is_empty() { reason.clone() } else { text };
    let content = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!("{content}: the request body is larger than max_body_bytes in [http] of basalt.toml")
    } else {
        content
    };
    let mut e = ApiError::new(status, reason, content).into_response();
    for (k, v) in parts.headers.iter() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            e.headers_mut().insert(k.clone(), v.clone());
        }
    }
    e
}

/// Refuses a request whose `Content-Length` is over `max_body_bytes` before any handler runs,
/// with the 413 envelope. The body is read and discarded first (bounded by
/// [`DRAIN_MAX_BYTES`] and [`DRAIN_TIMEOUT`]): most clients write the whole body before they
/// read the answer, and a server closing its socket on unread bytes makes the kernel reset
/// the connection, so they saw "connection reset" or "broken pipe" instead of the 413. A
/// client that sent `Expect: 100-continue` has not sent the body and gets the answer at once.
/// (Chunked bodies without a length are still cut by axum's limit in the extractor.)
async fn refuse_large_bodies(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let max = app.settings.max_body_bytes as u64;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let Some(length) = declared.filter(|n| *n > max) else {
        return next.run(req).await;
    };
    let expects_continue =
        req.headers().get(header::EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if !expects_continue && length <= DRAIN_MAX_BYTES {
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, discard(req.into_body())).await;
    }
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Payload Too Large",
        format!("the request body has {length} bytes, more than max_body_bytes = {max} in [http] of basalt.toml"),
    )
    .into_response()
}

/// Reads a body to its end, keeping nothing.
async fn discard(mut body: axum::body::Body) {
    use hyper::body::Body as _;
    while let Some(frame) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await {
        if frame.is_err() {
            break;
        }
    }
}

/// Loads the HTTPS certificate chain and key.
pub fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("{}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate found", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key do not work together: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Accepts connections until `shutdown` turns true, then lets open connections finish
/// their requests (up to `drain`) and returns. Connections are capped and timed (see
/// `conn`); a failing `accept` (EMFILE) backs off.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
    drain: Duration,
) {
    let login = Arc::new(LoginGuard::new(app.users.clone(), &app.settings.limits));
    let tracker = Arc::new(conn::Tracker::new(&app.settings.limits));
    let router = router_with(app.clone(), login, tracker.clone());
    let mut backoff = conn::AcceptBackoff::default();
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        let wait = backoff.failed(&e);
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = shutdown.changed() => break,
                        }
                        continue;
                    }
                };
                backoff.succeeded();
                let slot = match tracker.admit(peer.ip()) {
                    Ok(slot) => slot,
                    Err(why) => {
                        tracker.refuse(stream, tls.is_none(), why);
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let timeouts = tracker.timeouts();
                conns.spawn(connection(app.clone(), router.clone(), stream, peer, tls.clone(), shutdown.clone(), slot, timeouts));
            }
            _ = shutdown.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let deadline = tokio::time::sleep(drain);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            next = conns.join_next() => if next.is_none() { break },
            _ = &mut deadline => {
                warn!(open = conns.len(), "connections still open after the drain period; closing them");
                conns.abort_all();
                break;
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn connection(
    app: Arc<App>,
    router: Router,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: watch::Receiver<bool>,
    slot: conn::Slot,
    timeouts: conn::Timeouts,
) {
    app.metrics.connections_total.fetch_add(1, Ordering::Relaxed);
    app.metrics.connections_open.fetch_add(1, Ordering::Relaxed);
    let activity = slot.activity.clone();
    if let Ok(mut p) = activity.usage.peer.lock() {
        *p = Some(peer);
    }
    let stream = conn::Watched::new(stream, activity.clone());
    let service = Tracked { router, activity: activity.clone(), peer };
    match tls {
        Some(acceptor) => match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(s)) => serve_conn(service, TokioIo::new(s), shutdown, &activity, timeouts, peer).await,
            Ok(Err(e)) => debug!(%peer, error = %e, "TLS handshake failed"),
            Err(_) => debug!(%peer, "TLS handshake timed out"),
        },
        None => serve_conn(service, TokioIo::new(stream), shutdown, &activity, timeouts, peer).await,
    }
    drop(slot);
    app.metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
}

/// The router as a hyper service that tags requests with the client's address and counts
/// them in flight on their connection.
#[derive(Clone)]
struct Tracked {
    /// The router.
    router: Router,
    /// The connection's activity.
    activity: Arc<conn::Activity>,
    /// The client's address.
    peer: SocketAddr,
}

impl hyper::service::Service<Request<hyper::body::Incoming>> for Tracked {
    type Response = Response;
    type Error = Infallible;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, mut req: Request<hyper::body::Incoming>) -> Self::Future {
        use tower::ServiceExt;
        req.extensions_mut().insert(PeerAddr(self.peer));
        req.extensions_mut().insert(self.activity.clone());
        rest_compat::normalize_request(&mut req);
        let in_flight = self.activity.begin();
        let fut = self.router.clone().oneshot(req.map(axum::body::Body::new));
        Box::pin(async move {
            let resp = fut.await;
            drop(in_flight);
            resp
        })
    }
}

async fn serve_conn<I>(
    service: Tracked,
    io: I,
    mut shutdown: watch::Receiver<bool>,
    activity: &conn::Activity,
    timeouts: conn::Timeouts,
    peer: SocketAddr,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                debug!(error = %e, "connection ended with an error");
            }
        }
        why = conn::watchdog(activity, timeouts) => {
            debug!(%peer, ?why, "connection closed by the server");
        }
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
