//! CORS: `OPTIONS` on any path answers a preflight without credentials, as OrientDB's
//! `OServerCommandOptions` does (204 with `Access-Control-Allow-Methods: POST, GET, PUT,
//! DELETE, OPTIONS`, `Access-Control-Max-Age: 1728000` and `Access-Control-Allow-Headers:
//! if-modified-since, content-type, authorization, x-requested-with`, plus PATCH and HEAD,
//! which Basalt also serves). Every answer to a request whose `Origin` is one of
//! `cors_allowed_origins` in `[http]` of basalt.toml (`"*"`: any origin) carries
//! `Access-Control-Allow-Origin: <that origin>`, `Access-Control-Allow-Credentials: true`
//! and `Vary: Origin` (what OrientDB's sample `network.http.additionalResponseHeaders` sets).
//! Without the setting no `Access-Control-Allow-Origin` is sent, so browsers keep other
//! sites' pages away from the API.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::App;

/// Methods a preflight allows.
pub const ALLOW_METHODS: &str = "POST, GET, PUT, DELETE, OPTIONS, PATCH, HEAD";
/// Headers a preflight allows.
pub const ALLOW_HEADERS: &str =
    "if-modified-since, content-type, authorization, x-requested-with, if-match, updatemode";
/// How long a browser may cache a preflight, in seconds (OrientDB's).
pub const MAX_AGE_S: &str = "1728000";

/// The origin to allow for a request, if its `Origin` is configured.
fn allowed_origin(allowed: &[String], origin: Option<&HeaderValue>) -> Option<HeaderValue> {
    let origin = origin?;
    let text = origin.to_str().ok()?;
    allowed.iter().any(|a| a == "*" || a.eq_ignore_ascii_case(text)).then(|| origin.clone())
}

/// Answers `OPTIONS`, and adds the CORS headers to every answer.
pub async fn cors(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let origin = allowed_origin(&app.settings.cors_allowed_origins, req.headers().get(header::ORIGIN));
    let mut resp = if req.method() == Method::OPTIONS {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE_S));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOW_HEADERS));
        r
    } else {
        next.run(req).await
    };
    if let Some(o) = origin {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_configured_origins_are_allowed() {
        let o = HeaderValue::from_static("https://a.example");
        assert_eq!(allowed_origin(&["https://a.example".into()], Some(&o)), Some(o.clone()));
        assert_eq!(allowed_origin(&["*".into()], Some(&o)), Some(o.clone()));
        assert_eq!(allowed_origin(&["https://b.example".into()], Some(&o)), None);
        assert_eq!(allowed_origin(&[], Some(&o)), None);
        assert_eq!(allowed_origin(&["*".into()], None), None);
    }
}
