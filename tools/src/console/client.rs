//! The HTTP client: Basic auth, TLS options, timeouts, and failover over a list of servers.
//!
//! Promises:
//! - Every request carries HTTP Basic auth when credentials are known.
//! - The client tries the server that last worked first; when a server cannot be reached it tries
//!   the next one in the list, wrapping around once, and remembers the one that answered. A note
//!   for each switch is queued for the user ([`Client::take_notes`]).
//! - An HTTP answer, even an error status, is an answer: it never causes failover.
//! - A failure before the request left this machine (refused, unknown host, connect timeout, TLS
//!   handshake) fails over for every request. A failure after the request may have reached the
//!   server (a reset or a timeout waiting for the answer) fails over only for requests marked
//!   `repeatable` (reads); for a write it is [`ConsoleError::OutcomeUnknown`], because repeating
//!   it elsewhere could apply it twice.
//! - When no server can be reached the error lists each server and why.
//!
//! Not thread-safe by design: the console is one thread; the client is `&mut self` throughout.

use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ureq::tls::{PemItem, RootCerts, TlsConfig};

use super::error::ConsoleError;
use super::json::{self, Json, JsonText};
use super::servers::Server;

/// The largest response body the console reads, in bytes.
pub const RESPONSE_BYTES_MAX: u64 = 1 << 30;

/// How long to wait for a TCP (and TLS) connection by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a request may take in all by default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How server certificates are checked for `https://` servers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Accept any certificate (for test setups with self-signed certificates).
    pub insecure: bool,
    /// Trust the certificates in this PEM file instead of the public web roots.
    pub ca_cert: Option<PathBuf>,
}

/// Connection settings shared by every client the console makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Time allowed to connect to one server.
    pub connect_timeout: Duration,
    /// Time allowed for one request to one server, connecting included.
    pub request_timeout: Duration,
    /// Certificate checking.
    pub tls: TlsOptions,
    /// The query timeout asked of the server (`SET timeout`), sent as `X-Basalt-Timeout-Ms`
    /// (`None`: the server's default).
    pub query_timeout_ms: Option<u64>,
}

/// The header that asks the server for a query timeout.
pub const QUERY_TIMEOUT_HEADER: &str = "X-Basalt-Timeout-Ms";

/// How much longer than a query timeout the console waits for the answer (the server
/// answers with the timeout error right after it fires).
const QUERY_TIMEOUT_MARGIN: Duration = Duration::from_secs(10);

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            tls: TlsOptions::default(),
            query_timeout_ms: None,
        }
    }
}

/// A user name and password for HTTP Basic auth.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password.
        f.debug_struct("Credentials").field("user", &self.user).finish_non_exhaustive()
    }
}

/// An HTTP method the contract uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// DELETE
    Delete,
}

/// One request, independent of the server it goes to.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path, starting with `/`, segments already percent-encoded.
    pub path: String,
    /// A JSON body for POST.
    pub body: Option<Json>,
    /// True if sending it twice does no harm (reads): then it may be repeated on another server
    /// after a connection broke mid-request.
    pub repeatable: bool,
}

/// A successful (2xx) answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The server that answered.
    pub server: Server,
    /// The body; `Json::Null` when it was empty.
    pub body: Json,
    /// How long the request took on the server that answered, network included.
    pub elapsed: Duration,
}

/// Where a failed attempt broke.
enum Failure {
    /// The request never reached the server; safe to try the next one.
    BeforeSend(String),
    /// The request may have reached the server.
    AfterSend(String),
}

/// A client for one list of servers with one set of credentials.
#[derive(Debug)]
pub struct Client {
    /// The HTTP agent (connection pool, TLS and timeout settings).
    agent: ureq::Agent,
    /// The servers in the user's order; never empty.
    servers: Vec<Server>,
    /// Index of the server that worked last, tried first.
    current: usize,
    /// Credentials for Basic auth, if any.
    credentials: Option<Credentials>,
    /// The options the agent was built from, for messages.
    options: ClientOptions,
    /// Messages for the user about failovers, not yet shown.
    notes: Vec<String>,
}

impl Client {
    /// A client for `servers` (tried in order); fails if the TLS options are unusable (an
    /// unreadable or empty CA file).
    pub fn new(
        servers: Vec<Server>,
        credentials: Option<Credentials>,
        options: &ClientOptions,
    ) -> Result<Client, ConsoleError> {
        assert!(!servers.is_empty(), "a client needs at least one server");
        Ok(Client {
            agent: agent(options)?,
            servers,
            current: 0,
            credentials,
            options: options.clone(),
            notes: Vec::new(),
        })
    }

    /// Asks the server for this query timeout from now on (`None`: its default); waits for
    /// answers at least that long.
    pub fn set_query_timeout(&mut self, ms: Option<u64>) -> Result<(), ConsoleError> {
        let mut options = self.options.clone();
        options.query_timeout_ms = ms;
        self.agent = agent(&options)?;
        self.options = options;
        Ok(())
    }

    /// The servers, in the user's order.
    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    /// The server tried first (the last one that worked).
    pub fn current_server(&self) -> &Server {
        &self.servers[self.current]
    }

    /// The user name, if credentials are set.
    pub fn user(&self) -> Option<&str> {
        self.credentials.as_ref().map(|c| c.user.as_str())
    }

    /// Failover notes since the last call.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// Sends `request`, failing over between servers as the module doc says.
    pub fn send(&mut self, request: &Request) -> Result<Answer, ConsoleError> {
        let count = self.servers.len();
        let mut failures: Vec<(String, String)> = Vec::new();
        for step in 0..count {
            let index = (self.current + step) % count;
            let server = self.servers[index].clone();
            let started = Instant::now();
            match self.send_to(&server, request) {
                Ok((status, retry_after, text)) => {
                    if !failures.is_empty() {
                        let tried: Vec<String> = failures.iter().map(|(s, why)| format!("{s} ({why})")).collect();
                        self.notes.push(format!("could not reach {}; now using {server}", tried.join(", ")));
                    }
                    self.current = index;
                    let elapsed = started.elapsed();
                    return answer(server, status, retry_after, &text, elapsed);
                }
                Err(Failure::BeforeSend(why)) => failures.push((server.to_string(), why)),
                Err(Failure::AfterSend(why)) if request.repeatable => failures.push((server.to_string(), why)),
                Err(Failure::AfterSend(cause)) => {
                    return Err(ConsoleError::OutcomeUnknown { server: server.to_string(), cause });
                }
            }
        }
        Err(ConsoleError::Unreachable(failures))
    }

    /// `GET path` streamed into `out` (an export or a snapshot), from the first server that
    /// answers; returns that server and the bytes written. A transfer that breaks midway is
    /// an error (the caller discards what it wrote).
    pub fn download(&mut self, path: &str, out: &mut dyn io::Write) -> Result<(Server, u64), ConsoleError> {
        let count = self.servers.len();
        let mut failures: Vec<(String, String)> = Vec::new();
        for step in 0..count {
            let index = (self.current + step) % count;
            let server = self.servers[index].clone();
            let url = format!("{}{path}", server.base_url());
            let mut response = match with_auth(self.agent.get(&url), self.auth()).call() {
                Ok(r) => r,
                Err(e) => {
                    match self.classify(e) {
                        Failure::BeforeSend(why) | Failure::AfterSend(why) => failures.push((server.to_string(), why)),
                    }
                    continue;
                }
            };
            self.current = index;
            let status = response.status().as_u16();
            if status != 200 {
                let text = response.body_mut().read_to_string().unwrap_or_default();
                return Err(http_error(status, None, &text));
            }
            let mut body = response.body_mut().with_config().limit(u64::MAX).reader();
            let copied = io::copy(&mut body, out).map_err(|e| ConsoleError::BadAnswer {
                server: server.to_string(),
                why: format!("the transfer of {path} broke: {e}"),
            })?;
            return Ok((server, copied));
        }
        Err(ConsoleError::Unreachable(failures))
    }

    /// `POST path` with raw bytes (an export to import), to the current server only (a
    /// write is not repeated elsewhere).
    pub fn upload(&mut self, path: &str, body: &[u8], content_type: &str) -> Result<Answer, ConsoleError> {
        let server = self.servers[self.current].clone();
        let url = format!("{}{path}", server.base_url());
        let started = Instant::now();
        let result = with_auth(self.agent.post(&url), self.auth()).header("Content-Type", content_type).send(body);
        let mut response = result.map_err(|e| match self.classify(e) {
            Failure::BeforeSend(why) => ConsoleError::Unreachable(vec![(server.to_string(), why)]),
            Failure::AfterSend(cause) => ConsoleError::OutcomeUnknown { server: server.to_string(), cause },
        })?;
        let status = response.status().as_u16();
        let text = response.body_mut().with_config().limit(RESPONSE_BYTES_MAX).read_to_string().unwrap_or_default();
        answer(server, status, None, &text, started.elapsed())
    }

    fn auth(&self) -> Option<String> {
        self.credentials.as_ref().map(|c| format!("Basic {}", base64(&format!("{}:{}", c.user, c.password))))
    }

    /// One attempt on one server: the status, `Retry-After` and body text, or why it failed.
    fn send_to(&self, server: &Server, request: &Request) -> Result<(u16, Option<String>, String), Failure> {
        let url = format!("{}{}", server.base_url(), request.path);
        let auth =
            self.credentials.as_ref().map(|c| format!("Basic {}", base64(&format!("{}:{}", c.user, c.password))));
        let timeout = self.options.query_timeout_ms.map(|ms| ms.to_string());
        let result = match request.method {
            Method::Get => with_headers(self.agent.get(&url), auth, timeout).call(),
            Method::Delete => with_headers(self.agent.delete(&url), auth, timeout).call(),
            Method::Post => {
                let body = request.body.as_ref().map(JsonText::to_compact).unwrap_or_default();
                with_headers(self.agent.post(&url), auth, timeout).header("Content-Type", "application/json").send(body)
            }
        };
        let mut response = result.map_err(|e| self.classify(e))?;
        let status = response.status().as_u16();
        let retry_after =
            response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(|v| v.trim().to_owned());
        let text =
            response.body_mut().with_config().limit(RESPONSE_BYTES_MAX).lossy_utf8(true).read_to_string().map_err(
                |e| match self.classify(e) {
                    // The request was answered, so whatever broke, it broke after sending.
                    Failure::BeforeSend(why) | Failure::AfterSend(why) => Failure::AfterSend(why),
                },
            )?;
        Ok((status, retry_after, text))
    }

    /// Sorts a transport error into before or after sending, with a short description.
    fn classify(&self, error: ureq::Error) -> Failure {
        let connect = seconds(self.options.connect_timeout);
        let request = seconds(self.options.request_timeout);
        match error {
            ureq::Error::Io(e) => match e.kind() {
                io::ErrorKind::ConnectionRefused => Failure::BeforeSend("connection refused".into()),
                io::ErrorKind::AddrNotAvailable
                | io::ErrorKind::NetworkUnreachable
                | io::ErrorKind::HostUnreachable
                | io::ErrorKind::NetworkDown => Failure::BeforeSend(e.to_string()),
                // rustls reports a failed handshake (done while connecting) as invalid data.
                io::ErrorKind::InvalidData => Failure::BeforeSend(tls_hint(format!("TLS handshake failed: {e}"))),
                io::ErrorKind::ConnectionReset => Failure::AfterSend("connection reset".into()),
                io::ErrorKind::UnexpectedEof => Failure::AfterSend("connection closed early".into()),
                _ => Failure::AfterSend(e.to_string()),
            },
            ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
                Failure::BeforeSend(format!("no connection within {connect}"))
            }
            ureq::Error::Timeout(_) => Failure::AfterSend(format!("no answer within {request}")),
            ureq::Error::HostNotFound => Failure::BeforeSend("host not found".into()),
            ureq::Error::ConnectionFailed => Failure::BeforeSend("connection failed".into()),
            e @ (ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_)) => {
                Failure::BeforeSend(tls_hint(format!("TLS: {e}")))
            }
            e @ (ureq::Error::BadUri(_) | ureq::Error::Http(_)) => Failure::BeforeSend(format!("bad request URL: {e}")),
            e => Failure::AfterSend(e.to_string()),
        }
    }
}

/// The HTTP agent for `options`: it waits for an answer at least as long as the query
/// timeout it asks for, plus a margin.
fn agent(options: &ClientOptions) -> Result<ureq::Agent, ConsoleError> {
    let query = options.query_timeout_ms.map(|ms| Duration::from_millis(ms) + QUERY_TIMEOUT_MARGIN);
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .timeout_connect(Some(options.connect_timeout))
        .timeout_global(Some(query.map_or(options.request_timeout, |q| q.max(options.request_timeout))))
        .user_agent(format!("basalt-console/{}", env!("CARGO_PKG_VERSION")))
        .tls_config(tls_config(&options.tls)?)
        .build();
    Ok(ureq::Agent::new_with_config(config))
}

/// Adds the Authorization header when there are credentials, and the query timeout header
/// when one is set.
fn with_headers<B>(
    builder: ureq::RequestBuilder<B>,
    auth: Option<String>,
    timeout_ms: Option<String>,
) -> ureq::RequestBuilder<B> {
    let builder = with_auth(builder, auth);
    match timeout_ms {
        Some(ms) => builder.header(QUERY_TIMEOUT_HEADER, ms),
        None => builder,
    }
}

/// Adds the Authorization header when there are credentials.
fn with_auth<B>(builder: ureq::RequestBuilder<B>, auth: Option<String>) -> ureq::RequestBuilder<B> {
    match auth {
        Some(value) => builder.header("Authorization", value),
        None => builder,
    }
}

/// Turns an HTTP answer into an [`Answer`] or a [`ConsoleError::Http`].
fn answer(
    server: Server,
    status: u16,
    retry_after: Option<String>,
    text: &str,
    elapsed: Duration,
) -> Result<Answer, ConsoleError> {
    if !(200..300).contains(&status) {
        return Err(http_error(status, retry_after, text));
    }
    let body = if text.trim().is_empty() {
        Json::Null
    } else {
        json::parse(text).map_err(|e| ConsoleError::BadAnswer {
            server: server.to_string(),
            why: format!("HTTP {status} with a body that is not JSON ({e}): {}", excerpt(text)),
        })?
    };
    Ok(Answer { server, body, elapsed })
}

/// Reads the contract's error envelope `{"errors": [{"code", "reason", "content"}]}`; anything
/// else becomes the status text and an excerpt of the body.
pub fn http_error(status: u16, retry_after: Option<String>, text: &str) -> ConsoleError {
    let first = json::parse(text).ok().and_then(|body| body.get("errors")?.as_array()?.first().cloned());
    let field = |name: &str| first.as_ref().and_then(|e| e.get(name)).map(JsonText::to_cell).unwrap_or_default();
    let (mut reason, content) = match &first {
        Some(_) => (field("reason"), field("content")),
        None => (String::new(), excerpt(text)),
    };
    if reason.is_empty() {
        reason = status_text(status).to_owned();
    }
    ConsoleError::Http { status, reason, content, retry_after }
}

/// The first line of `text`, at most 200 characters, for messages.
fn excerpt(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or("");
    let mut short: String = line.chars().take(200).collect();
    if short.len() < line.len() {
        short.push_str("...");
    }
    short
}

/// A few status texts, for error answers without the envelope.
fn status_text(status: u16) -> &'static str {
    match status {
        400 => "bad request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not found",
        405 => "method not allowed",
        409 => "conflict",
        423 => "locked",
        500 => "internal server error",
        502 => "bad gateway",
        503 => "service unavailable",
        504 => "gateway timeout",
        300..=399 => "redirected (the console does not follow redirects)",
        _ => "HTTP error",
    }
}

/// Adds what to do about certificate errors.
fn tls_hint(message: String) -> String {
    if message.contains("CaUsedAsEndEntity") {
        format!(
            "{message} (the server presents a CA certificate (CA:TRUE) as its own, which is refused even when \
             trusted: give it a certificate with CA:FALSE, self-signed or signed by a CA passed with --ca-cert, \
             or use --insecure to skip checking)"
        )
    } else if message.to_lowercase().contains("certificate") {
        format!("{message} (for a self-signed certificate pass --ca-cert FILE, or --insecure to skip checking)")
    } else {
        message
    }
}

/// `3 s`, `0.5 s`.
fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0} s")
    } else {
        format!("{secs} s")
    }
}

/// The TLS settings for the agent.
fn tls_config(options: &TlsOptions) -> Result<TlsConfig, ConsoleError> {
    let mut builder = TlsConfig::builder();
    if options.insecure {
        builder = builder.disable_verification(true);
    }
    if let Some(path) = &options.ca_cert {
        let pem = std::fs::read(path)
            .map_err(|e| ConsoleError::Usage(format!("cannot read the CA certificate file {}: {e}", path.display())))?;
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(PemItem::Certificate(cert)) => certs.push(cert),
                Ok(_) => {}
                Err(e) => {
                    return Err(ConsoleError::Usage(format!("{} is not a valid PEM file: {e}", path.display())));
                }
            }
        }
        if certs.is_empty() {
            return Err(ConsoleError::Usage(format!("no certificate found in {} (expected PEM)", path.display())));
        }
        builder = builder.root_certs(RootCerts::new_with_certs(&certs));
    }
    Ok(builder.build())
}

/// Percent-encodes one path segment (a database name).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Standard base64 with padding (RFC 4648), for the Basic auth header.
pub fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, encoded) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")]
        {
            assert_eq!(base64(plain), encoded);
        }
        assert_eq!(base64("root:s3cr\u{e9}t"), "cm9vdDpzM2Nyw6l0");
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(encode_segment("demo_db-1.x~"), "demo_db-1.x~");
        assert_eq!(encode_segment("a b/c?é"), "a%20b%2Fc%3F%C3%A9");
    }

    #[test]
    fn error_envelopes_and_other_bodies() {
        let envelope = r#"{"errors":[{"code":404,"reason":"database not found","content":"no database 'x'"}]}"#;
        assert_eq!(
            http_error(404, None, envelope),
            ConsoleError::Http {
                status: 404,
                reason: "database not found".into(),
                content: "no database 'x'".into(),
                retry_after: None
            }
        );
        let ConsoleError::Http { reason, content, retry_after, .. } =
            http_error(503, Some("3".into()), "<html>busy</html>\nmore")
        else {
            panic!("not an HTTP error")
        };
        assert_eq!(
            (reason.as_str(), content.as_str(), retry_after.as_deref()),
            ("service unavailable", "<html>busy</html>", Some("3"))
        );
        let ConsoleError::Http { reason, content, .. } = http_error(418, None, "") else { panic!() };
        assert_eq!((reason.as_str(), content.as_str()), ("HTTP error", ""));
    }

    #[test]
    fn bad_ca_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let options = TlsOptions { insecure: false, ca_cert: Some(missing) };
        assert!(tls_config(&options).unwrap_err().to_string().contains("cannot read the CA certificate file"));
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not pem at all\n").unwrap();
        let options = TlsOptions { insecure: false, ca_cert: Some(empty) };
        assert!(tls_config(&options).unwrap_err().to_string().contains("no certificate found"));
    }

    #[test]
    fn unreachable_servers_are_all_named() {
        // Two ports that were just free: nothing listens, so connecting is refused.
        let ports: Vec<u16> =
            (0..2).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()).collect();
        let servers: Vec<Server> = ports
            .iter()
            .map(|&port| Server { scheme: super::super::servers::Scheme::Http, host: "127.0.0.1".into(), port })
            .collect();
        let mut client = Client::new(servers, None, &ClientOptions::default()).unwrap();
        let request = Request { method: Method::Get, path: "/listDatabases".into(), body: None, repeatable: false };
        let ConsoleError::Unreachable(attempts) = client.send(&request).unwrap_err() else { panic!("not unreachable") };
        assert_eq!(attempts.len(), 2);
        for ((server, why), port) in attempts.iter().zip(&ports) {
            assert_eq!(server, &format!("http://127.0.0.1:{port}"));
            assert_eq!(why, "connection refused");
        }
    }
}
