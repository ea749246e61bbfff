//! `GET /connect/{db}` and `GET /disconnect` (OrientDB's `OServerCommandGetConnect`,
//! `OServerCommandGetDisconnect`) over the session table of `session`, and the realm of a
//! 401 (`ODefaultSecuritySystem.getAuthenticationHeader`): `Basic realm="OrientDB db-<db>"`
//! on a path naming a database, `Basic realm="OrientDB Server"` elsewhere, and no
//! `WWW-Authenticate` at all for a request with `X-Requested-With: XMLHttpRequest`, so a
//! browser page does not pop up a login dialog (`sendAuthorizationRequest`).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;

use super::session::{self, Sessions};
use super::{ApiError, Caller};
use crate::app::App;

/// `GET /connect/{db}`: opens a session of the caller on `db`; 204 with its cookie.
pub async fn connect(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Extension(sessions): Extension<Arc<Sessions>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    app.registry.get(&name)?;
    let id = sessions.create(&caller, &name, Instant::now());
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(&id)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store"));
    Ok(resp)
}

/// `GET /disconnect`: forgets the request's session; 401 "Logged out", the cookie set to
/// OrientDB's logged-out marker, and the connection closed.
pub async fn disconnect(Extension(sessions): Extension<Arc<Sessions>>, headers: HeaderMap) -> Response {
    if let Some(id) = session::cookie(&headers) {
        sessions.remove(&id);
    }
    let mut resp = ApiError::unauthorized("Logged out").into_response();
    let h = resp.headers_mut();
    h.remove(header::WWW_AUTHENTICATE);
    h.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&session::set_cookie(session::LOGGED_OUT))
            .unwrap_or(HeaderValue::from_static("OSESSIONID=-")),
    );
    h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// Sets the realm of a 401 answer to `req`'s (see the module doc).
pub fn set_realm(req_path: &str, ajax: bool, resp: &mut Response) {
    if resp.status() != StatusCode::UNAUTHORIZED {
        return;
    }
    let h = resp.headers_mut();
    h.remove(header::WWW_AUTHENTICATE);
    if ajax {
        return;
    }
    let realm = match session::path_database(req_path) {
        Some(db) => format!("Basic realm=\"OrientDB db-{}\"", db.replace(['"', '\\'], "")),
        None => "Basic realm=\"OrientDB Server\"".to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&realm) {
        h.insert(header::WWW_AUTHENTICATE, v);
    }
}

/// Whether the request says it comes from a script (`X-Requested-With: XMLHttpRequest`):
/// then a 401 carries no `WWW-Authenticate`, so the browser shows no login dialog.
pub fn is_ajax(headers: &HeaderMap) -> bool {
    headers.get("X-Requested-With").and_then(|v| v.to_str().ok()) == Some("XMLHttpRequest")
}

/// The caller a request's session cookie stands for, if it carries one that is valid for
/// the database its path names (and no Basic credentials of another user). A session used
/// on another database is removed and the request refused with 401.
pub fn session_caller(
    app: &App,
    sessions: &Sessions,
    req: &Request,
    basic_user: Option<&str>,
) -> Result<Option<Caller>, ApiError> {
    let Some(id) = session::cookie(req.headers()) else { return Ok(None) };
    let Some(db) = session::path_database(req.uri().path()) else { return Ok(None) };
    if basic_user.is_some_and(|u| sessions.user_of(&id).is_some_and(|s| s != u)) {
        // OrientDB: a change of user on the same connection invalidates the session.
        sessions.remove(&id);
        return Ok(None);
    }
    match sessions.caller(&id, &db, Instant::now()) {
        Ok(c) => {
            // The user's role now; a removed user's session ends.
            let role = app.users.list().into_iter().find(|(n, _)| *n == c.user).map(|(_, r)| r);
            match role {
                Some(role) => Ok(Some(Caller { user: c.user, role })),
                None => {
                    sessions.remove(&id);
                    Ok(None)
                }
            }
        }
        Err(session::Refused::Unknown) => Ok(None),
        Err(session::Refused::OtherDatabase(other)) => Err(ApiError::unauthorized(format!(
            "this session was opened on database '{other}', not '{db}'; it is closed now: connect again with GET /connect/{db}"
        ))),
    }
}
