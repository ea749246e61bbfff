//! The error envelope every failure answers with, OrientDB's:
//! `{"errors": [{"code": <status>, "reason": "<short>", "content": "<what to do>"}]}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::registry::RegistryError;

/// The reason of a 504 for a write whose fate is unknown.
pub const OUTCOME_UNKNOWN_REASON: &str = "outcome unknown";
/// What a client should do about a 504 "outcome unknown".
pub const OUTCOME_UNKNOWN_CONTENT: &str = "the write may have been applied; read before retrying";

/// A failed request: status, a short reason and what to do about it.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A short reason.
    pub reason: String,
    /// The details: what was wrong and what to do.
    pub content: String,
    /// Seconds after which a retry may succeed (503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, reason and content.
    pub fn new(status: StatusCode, reason: impl Into<String>, content: impl Into<String>) -> ApiError {
        ApiError { status, reason: reason.into(), content: content.into(), retry_after: None }
    }

    /// 400.
    pub fn bad_request(content: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "Bad request", content)
    }

    /// 401.
    pub fn unauthorized(content: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", content)
    }

    /// 403.
    pub fn forbidden(content: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "Forbidden", content)
    }

    /// 404.
    pub fn not_found(content: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "Not found", content)
    }

    /// 503 with Retry-After.
    pub fn unavailable(content: impl Into<String>) -> ApiError {
        ApiError {
            retry_after: Some(5),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable", content)
        }
    }

    /// 429 with Retry-After: this client must wait before trying again.
    pub fn too_many_requests(content: impl Into<String>, retry_after_s: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after_s.max(1)),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too many requests", content)
        }
    }

    /// 503 with Retry-After after `retry_after_s` seconds.
    pub fn busy(content: impl Into<String>, retry_after_s: u64) -> ApiError {
        ApiError { retry_after: Some(retry_after_s.max(1)), ..ApiError::unavailable(content) }
    }

    /// 504 "outcome unknown": an IO failure struck while a write was on its way to disk, so
    /// it may or may not have been applied (DESIGN.md: never a false "ok", never a false
    /// failure). `detail` says what failed.
    pub fn outcome_unknown(detail: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            OUTCOME_UNKNOWN_REASON,
            format!("{OUTCOME_UNKNOWN_CONTENT} ({detail})"),
        )
    }

    /// 500: only for bugs.
    pub fn internal(content: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error", content)
    }

    /// The envelope body.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"errors": [{"code": self.status.as_u16(), "reason": self.reason, "content": self.content}]})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(self.body())).into_response();
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"basalt\""));
        }
        r
    }
}

impl From<basalt_engine::Error> for ApiError {
    fn from(e: basalt_engine::Error) -> ApiError {
        use basalt_engine::Error as E;
        let content = e.to_string();
        match e {
            E::RecordNotFound(_) => ApiError::not_found(content),
            E::ClassNotFound(_) | E::PropertyNotFound { .. } | E::IndexNotFound(_) | E::Invalid(_) => {
                ApiError::bad_request(content)
            }
            E::ClassExists(_) | E::PropertyExists { .. } | E::IndexExists(_) => {
                ApiError::new(StatusCode::CONFLICT, "Already exists", content)
            }
            E::Conflict { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "Version conflict",
                format!("{content}; read the record again and retry"),
            ),
            E::DuplicateKey { .. } => ApiError::new(StatusCode::CONFLICT, "Duplicate key", content),
            E::Offline(_) | E::Io { .. } | E::Corrupt { .. } | E::Wal(_) => {
                ApiError::unavailable(format!("the database is not available on this node: {content}"))
            }
            // Logged, then the WAL failed (or the log was cut) before its fate was known.
            E::OutcomeUnknown(detail) => ApiError::outcome_unknown(detail),
            // Definitely not applied: safe to retry.
            E::NotCommitted(_) => ApiError::unavailable(format!("{content}; it was not applied, retry it")),
            E::NotLeader(_) => ApiError::unavailable(format!("{content}; nothing was written")),
            E::NoDatabase(_) => ApiError::not_found(content),
            E::AlreadyExists(_) => ApiError::new(StatusCode::CONFLICT, "Already exists", content),
            E::BadEntry { .. } => ApiError::internal(content),
            _ => ApiError::internal(content),
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> ApiError {
        let content = e.to_string();
        match e {
            RegistryError::NotFound(_) => ApiError::not_found(content),
            RegistryError::Offline { .. } => ApiError::unavailable(content),
            RegistryError::Exists(_) => ApiError::new(StatusCode::CONFLICT, "Database exists", content),
            RegistryError::BadName(_) => ApiError::bad_request(content),
            RegistryError::InUse(_) => ApiError::new(StatusCode::LOCKED, "Locked", content),
            RegistryError::Engine { source, .. } => {
                let mut a = ApiError::from(source);
                a.content = content;
                a
            }
            RegistryError::Io { .. } => ApiError::unavailable(content),
        }
    }
}

impl From<crate::query::QueryError> for ApiError {
    fn from(e: crate::query::QueryError) -> ApiError {
        use crate::query::QueryError as Q;
        match e {
            Q::Syntax(m) => ApiError::new(StatusCode::BAD_REQUEST, "SQL syntax error", m),
            Q::Invalid(m) => ApiError::bad_request(m),
            Q::Forbidden(m) => ApiError::forbidden(m),
            Q::Engine(e) => ApiError::from(e),
            // A client error: the query, as sent, needs more time or memory than allowed.
            Q::Timeout(m) => ApiError::new(StatusCode::BAD_REQUEST, "Query timeout", m),
            Q::Budget(m) => ApiError::new(StatusCode::BAD_REQUEST, "Query memory budget exceeded", m),
            // Nobody reads this answer: the client went away.
            Q::Cancelled(m) => ApiError::new(StatusCode::BAD_REQUEST, "Query cancelled", m),
        }
    }
}
