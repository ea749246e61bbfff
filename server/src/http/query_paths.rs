//! The longer SQL paths OrientDB accepts (`OServerCommandPostCommand`, `OServerCommandGetQuery`):
//! `POST /command/{db}/{lang}/{text}/{limit}[/{fetchPlan}]` and
//! `GET /query/{db}/{lang}/{text}/{limit}/{fetchPlan}`.
//!
//! As in OrientDB, a non-empty body of `/command` replaces the text of the path (Studio sends
//! `/command/db/sql/-/20` with the SQL in the body), and a negative limit means none.
//!
//! Not done: fetch plans are accepted but not applied; records are answered as with OrientDB's
//! default plan `*:0` (links as RIDs).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;

use super::handlers::{access_of, check_lang, command_body, run_sql};
use super::{ApiError, Caller};
use crate::app::App;
use crate::query::{Access, Params, QueryRequest};

/// A path's limit: a whole number; negative means none.
fn parse_limit(limit: &str) -> Result<Option<usize>, ApiError> {
    let n: i64 =
        limit.trim().parse().map_err(|_| ApiError::bad_request(format!("limit '{limit}' is not a whole number")))?;
    Ok(usize::try_from(n).ok())
}

async fn command_limited(
    app: Arc<App>,
    caller: Caller,
    (name, lang, text, limit): (String, String, String, String),
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_lang(&lang)?;
    let limit = parse_limit(&limit)?;
    let (text, params) = if body.iter().all(u8::is_ascii_whitespace) {
        (text, Params::default())
    } else {
        command_body(&headers, &body)?
    };
    if let Some(st) = crate::sql::exec::backup::parse(&text).map_err(ApiError::bad_request)? {
        return super::export::run_statement(app, caller, name, st).await;
    }
    let req = QueryRequest { text, params, access: access_of(caller.role), limit, transaction: false };
    run_sql(app, &name, &headers, req).await
}

/// `POST /command/{db}/{lang}/{text}/{limit}`.
pub async fn command_with_limit(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(parts): Path<(String, String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    command_limited(app, caller, parts, headers, body).await
}

/// `POST /command/{db}/{lang}/{text}/{limit}/{fetchPlan}` (the plan is not applied).
pub async fn command_with_fetch_plan(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path((name, lang, text, limit, _plan)): Path<(String, String, String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    command_limited(app, caller, (name, lang, text, limit), headers, body).await
}

/// `GET /query/{db}/{lang}/{text}/{limit}/{fetchPlan}` (the plan is not applied).
pub async fn query_with_fetch_plan(
    State(app): State<Arc<App>>,
    Path((name, lang, text, limit, _plan)): Path<(String, String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_lang(&lang)?;
    let limit = parse_limit(&limit)?;
    let req = QueryRequest { text, params: Params::default(), access: Access::Read, limit, transaction: false };
    run_sql(app, &name, &headers, req).await
}
