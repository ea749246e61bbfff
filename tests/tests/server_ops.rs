//! The operator's view of a real `basalt-server` process: `/metrics` after load (parsed as
//! Prometheus text, every family checked for its type), `/health` and `/ready` (503 naming a
//! database that failed to open), `DELETE /distributed/nodes/{name}`, the loopback default
//! bind, `sd_notify` over `$NOTIFY_SOCKET` (path and abstract), the root-password file under
//! systemd, audit events and the slow-request line in a JSON-only log, and no secret in any
//! log or answer.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::{Duration, Instant};

use basalt_tests::server::{
    encode_path_segment, wait_until, write_config, Client, Launch, ServerProcess, PASSWORD_PREFIX,
};
use serde_json::{json, Value};

const PASSWORD: &str = "ops-root-pw";
const WAIT: Duration = Duration::from_secs(60);

fn start(home: &Path, extra: &[&str]) -> ServerProcess {
    let mut args = vec!["--no-demo", "--node-name", "n1"];
    args.extend_from_slice(extra);
    ServerProcess::start(home, &args, &[("BASALT_ROOT_PASSWORD", PASSWORD)])
}

/// One sample line of the Prometheus text format.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed exposition: family types by name, and every sample.
#[derive(Debug, Default)]
struct Exposition {
    types: BTreeMap<String, String>,
    helps: BTreeMap<String, String>,
    samples: Vec<Sample>,
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = s;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("bad labels: {s}"));
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => panic!("bad escape: {s}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value: {s}"),
            }
        };
        labels.insert(key.trim_start_matches(',').to_string(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    labels
}

fn parse_exposition(text: &str) -> Exposition {
    let mut e = Exposition::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("bad TYPE line: {line}"));
            assert!(e.types.insert(name.into(), kind.into()).is_none(), "TYPE twice for {name}");
        } else if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or_else(|| panic!("bad HELP line: {line}"));
            e.helps.insert(name.into(), help.into());
        } else if line.starts_with('#') {
            continue;
        } else {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad sample: {line}"));
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value: {line}"));
            let (name, labels) = match series.split_once('{') {
                Some((n, l)) => (n.to_string(), parse_labels(l.strip_suffix('}').expect("closing brace"))),
                None => (series.to_string(), BTreeMap::new()),
            };
            e.samples.push(Sample { name, labels, value });
        }
    }
    e
}

impl Exposition {
    /// The family a sample belongs to (a histogram's `_bucket`, `_sum`, `_count` go to it).
    fn family_of(&self, sample: &str) -> Option<&str> {
        if self.types.contains_key(sample) {
            return self.types.get_key_value(sample).map(|(k, _)| k.as_str());
        }
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = sample.strip_suffix(suffix) {
                if self.types.get(base).map(String::as_str) == Some("histogram") {
                    return self.types.get_key_value(base).map(|(k, _)| k.as_str());
                }
            }
        }
        None
    }

    fn assert_type(&self, family: &str, kind: &str) {
        assert_eq!(self.types.get(family).map(String::as_str), Some(kind), "TYPE of {family}");
        assert!(self.helps.contains_key(family), "no HELP for {family}");
        let suffix_ok = match kind {
            "counter" => family.ends_with("_total"),
            "histogram" => family.ends_with("_seconds"),
            _ => !family.ends_with("_total"),
        };
        assert!(suffix_ok, "{family} breaks the naming convention for a {kind}");
        let any = self.samples.iter().any(|s| self.family_of(&s.name) == Some(family));
        assert!(any, "no sample of {family}");
    }

    fn find(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
            .collect()
    }

    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found = self.find(name, labels);
        assert_eq!(found.len(), 1, "{name}{labels:?}: {found:?}");
        found[0].value
    }

    /// Checks one histogram series: buckets ascend and are cumulative, +Inf equals _count.
    fn assert_histogram(&self, family: &str, labels: &[(&str, &str)]) -> f64 {
        let mut buckets: Vec<(f64, f64)> = self
            .find(&format!("{family}_bucket"), labels)
            .iter()
            .map(|s| {
                let le = &s.labels["le"];
                (if le == "+Inf" { f64::INFINITY } else { le.parse().expect("le is a number") }, s.value)
            })
            .collect();
        assert!(buckets.len() >= 2, "{family}{labels:?} has buckets {buckets:?}");
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "not cumulative: {buckets:?}");
        let count = self.value(&format!("{family}_count"), labels);
        assert_eq!(buckets.last().map(|b| (b.0, b.1)), Some((f64::INFINITY, count)), "{family}{labels:?}");
        assert!(self.value(&format!("{family}_sum"), labels) >= 0.0);
        count
    }
}

#[test]
fn metrics_after_load_have_every_family_with_its_type() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "[storage]\ncheckpoint_interval_s = 1\n");
    let server = start(dir.path(), &[]);
    let c = server.client();
    c.post_empty("/database/opsdb").ok_json();
    let sql = |q: &str| c.send_raw("POST", "/command/opsdb/sql", q.as_bytes(), "text/plain");
    sql("CREATE CLASS Item EXTENDS V").ok_json();
    for i in 0..20 {
        sql(&format!("INSERT INTO Item SET n = {i}")).ok_json();
    }
    let q = encode_path_segment("SELECT count(*) FROM Item");
    c.get(&format!("/query/opsdb/sql/{q}")).ok_json();
    c.get("/no/such/path").assert_error(404);
    // The background loop checkpoints within its 1 s interval.
    let mut text = String::new();
    let checkpointed = wait_until(WAIT, || {
        text = c.get("/metrics").text();
        parse_exposition(&text)
            .find("basalt_checkpoint_duration_seconds_count", &[("database", "opsdb")])
            .first()
            .is_some_and(|s| s.value >= 1.0)
    });
    assert!(checkpointed, "no checkpoint was observed:\n{text}");
    let m = parse_exposition(&text);

    // Every sample belongs to a family with a TYPE, and every TYPE has a HELP.
    for s in &m.samples {
        assert!(m.family_of(&s.name).is_some(), "sample {} has no TYPE", s.name);
    }
    for family in m.types.keys() {
        assert!(m.helps.contains_key(family), "no HELP for {family}");
    }
    let families = [
        ("basalt_database_status", "gauge"),
        ("basalt_checkpoint_duration_seconds", "histogram"),
        ("basalt_checkpoint_failures_total", "counter"),
        ("basalt_checkpoints_total", "counter"),
        ("basalt_wal_size_bytes", "gauge"),
        ("basalt_wal_segments", "gauge"),
        ("basalt_wal_bytes_total", "counter"),
        ("basalt_wal_fsyncs_total", "counter"),
        ("basalt_disk_free_bytes", "gauge"),
        ("basalt_commit_duration_seconds", "histogram"),
        ("basalt_commits_total", "counter"),
        ("basalt_commit_errors_total", "counter"),
        ("basalt_http_request_duration_seconds", "histogram"),
        ("basalt_http_requests_total", "counter"),
        ("basalt_http_slow_requests_total", "counter"),
        ("basalt_http_connections_total", "counter"),
        ("basalt_uptime_seconds", "gauge"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_open_fds", "gauge"),
        ("process_max_fds", "gauge"),
        ("process_cpu_seconds_total", "counter"),
        ("process_start_time_seconds", "gauge"),
    ];
    for (family, kind) in families {
        m.assert_type(family, kind);
    }

    assert_eq!(m.value("basalt_database_status", &[("database", "opsdb"), ("status", "ONLINE")]), 1.0);
    assert_eq!(m.value("basalt_database_status", &[("database", "opsdb"), ("status", "OFFLINE")]), 0.0);
    assert_eq!(m.value("basalt_database_status", &[("database", "opsdb"), ("status", "SYNCHRONIZING")]), 0.0);
    assert!(m.assert_histogram("basalt_checkpoint_duration_seconds", &[("database", "opsdb")]) >= 1.0);
    assert_eq!(m.value("basalt_checkpoint_failures_total", &[("database", "opsdb")]), 0.0);
    assert!(m.value("basalt_wal_size_bytes", &[("database", "opsdb")]) > 0.0);
    assert!(m.value("basalt_wal_segments", &[("database", "opsdb")]) >= 1.0);
    let free = m.find("basalt_disk_free_bytes", &[]);
    assert!(free.len() == 1 && free[0].value > 0.0, "{free:?}");
    let commits = m.assert_histogram("basalt_commit_duration_seconds", &[("database", "opsdb")]);
    assert!(commits >= 21.0, "21 writes committed, the histogram counted {commits}");
    let route = [("route", "/command/{db}/{lang}"), ("method", "POST"), ("status", "200")];
    assert_eq!(m.assert_histogram("basalt_http_request_duration_seconds", &route), 21.0);
    let unmatched = [("route", "unmatched"), ("method", "GET"), ("status", "404")];
    assert_eq!(m.assert_histogram("basalt_http_request_duration_seconds", &unmatched), 1.0);
    assert!(m.value("basalt_http_requests_total", &[("status", "404")]) >= 1.0);
    // Route labels are templates: no database name, no query text, no raw path.
    for s in m.find("basalt_http_request_duration_seconds_count", &[]) {
        let r = &s.labels["route"];
        assert!(r == "unmatched" || (r.starts_with('/') && !r.contains("opsdb") && !r.contains("SELECT")), "{r}");
    }
    assert!(m.value("process_resident_memory_bytes", &[]) > 1e6);
    assert!(m.value("process_open_fds", &[]) >= 3.0);
    assert!(m.value("process_max_fds", &[]) >= m.value("process_open_fds", &[]));
    assert!(m.value("process_cpu_seconds_total", &[]) > 0.0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let started = m.value("process_start_time_seconds", &[]);
    assert!(started <= now + 1.0 && started > now - 600.0, "started {started}, now {now}");
}

#[test]
fn health_and_ready_answer_without_credentials_and_ready_names_offline_databases() {
    let dir = tempfile::tempdir().unwrap();
    // A directory that is no database: it fails to open at start and stays OFFLINE.
    std::fs::create_dir_all(dir.path().join("databases").join("broken")).unwrap();
    let server = start(dir.path(), &[]);
    let anon = server.anonymous();
    let health = anon.get("/health").ok_json();
    assert_eq!(health["status"], "UP");
    let content = anon.get("/ready").assert_error(503);
    assert!(content.contains("'broken' is OFFLINE"), "{content}");
    let m = parse_exposition(&server.client().get("/metrics").text());
    assert_eq!(m.value("basalt_database_status", &[("database", "broken"), ("status", "OFFLINE")]), 1.0);
    assert_eq!(m.value("basalt_database_status", &[("database", "broken"), ("status", "ONLINE")]), 0.0);
    drop(server);

    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    let anon = server.anonymous();
    assert_eq!(anon.get("/ready").ok_json()["status"], "READY");
    server.client().post_empty("/database/live").ok_json();
    let ready = anon.get("/ready").ok_json();
    assert_eq!(ready["databases"], json!({"live": "ONLINE"}));
    // The other routes still need credentials.
    anon.get("/metrics").assert_error(401);
}

#[test]
fn removing_a_server_refuses_the_local_node_and_unknown_names() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    let c = server.client();
    let content = c.delete("/distributed/nodes/n1").assert_error(409);
    assert!(content.contains("'n1' is this node"), "{content}");
    let content = c.delete("/distributed/nodes/n9").assert_error(404);
    assert_eq!(content, "no server named n9 in this cluster");
    server.anonymous().delete("/distributed/nodes/n9").assert_error(401);
    c.post_json("/users", &json!({"name": "rita", "password": "rita-password", "role": "reader"})).ok_json();
    let content = server.anonymous().login("rita", "rita-password").delete("/distributed/nodes/n9").assert_error(403);
    assert!(content.contains("remove servers"), "{content}");
}

/// A non-loopback address of this machine (the source address of a route outwards; no
/// packet is sent), or None on a machine without one.
fn non_loopback_address() -> Option<IpAddr> {
    let s = UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("198.51.100.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

fn reachable(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_secs(5)).is_ok()
}

#[test]
fn http_binds_to_loopback_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let mut launch = Launch::new(dir.path()).args(&["--no-demo", "--node-name", "n1", "--http-port", "0"]);
    launch.free_port = false;
    let server = launch.env("BASALT_ROOT_PASSWORD", PASSWORD).start();
    let ready = server.stdout_lines().into_iter().find(|l| l.starts_with("basalt-server ready: ")).unwrap();
    assert!(ready.starts_with("basalt-server ready: http://127.0.0.1:"), "{ready}");
    let screen = server.stdout_lines().join("\n");
    assert!(screen.contains("--http-bind 0.0.0.0"), "the first screen says how to open up: {screen}");
    assert!(screen.contains("console: basalt --server 127.0.0.1:"), "{screen}");
    assert!(screen.contains("curl -u root:PASSWORD 'http://127.0.0.1:"), "{screen}");
    assert!(screen.contains("README.md"), "{screen}");
    assert!(!screen.contains(PASSWORD), "{screen}");
    let port = server.addr().port();
    assert!(reachable(SocketAddr::from(([127, 0, 0, 1], port))));
    let outside = non_loopback_address();
    if let Some(ip) = outside {
        assert!(!reachable(SocketAddr::new(ip, port)), "a default server answers on {ip}");
    }
    drop(server);

    let mut launch = Launch::new(dir.path()).args(&["--http-bind", "0.0.0.0", "--http-port", "0"]);
    launch.free_port = false;
    let mut server = launch.start();
    server.set_root_password(PASSWORD);
    let port = server.addr().port();
    let screen = server.stdout_lines().join("\n");
    assert!(!screen.contains("--http-bind 0.0.0.0"), "no opening-up hint when open: {screen}");
    assert!(!screen.contains("Next steps"), "next steps are for the first run: {screen}");
    if let Some(ip) = outside {
        assert!(reachable(SocketAddr::new(ip, port)), "--http-bind 0.0.0.0 does not answer on {ip}");
        let reply = Client::new(&format!("http://{}", SocketAddr::new(ip, port))).get("/health");
        assert_eq!(reply.status, 200);
    }
}

/// Receives notifications until one contains `want`; returns every one received.
fn recv_until(sock: &UnixDatagram, want: &str, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        sock.set_read_timeout(Some(deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1))))
            .unwrap();
        match sock.recv(&mut buf) {
            Ok(n) => {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                let done = msg.lines().any(|l| l == want);
                got.push(msg);
                if done {
                    return got;
                }
            }
            Err(_) => break,
        }
    }
    panic!("no {want} within {timeout:?}; got {got:?}");
}

fn notify_run(socket_env: &str, sock: &UnixDatagram, home: &Path) {
    let launch = Launch::new(home).args(&["--no-demo", "--node-name", "n1"]).env("NOTIFY_SOCKET", socket_env);
    let mut server = launch.start();
    let before = recv_until(sock, "READY=1", WAIT);
    assert!(before.iter().any(|m| m.contains("STATUS=recovered")), "{before:?}");
    // READY=1 comes when HTTP answers.
    assert_eq!(server.anonymous().get("/health").status, 200);

    // Under systemd the generated password is not printed (stdout is the journal) but in a
    // file only the service user can read.
    assert!(server.stdout_lines().iter().all(|l| !l.starts_with(PASSWORD_PREFIX)), "{:?}", server.stdout_lines());
    let file = home.join("config").join("root-password");
    let meta = std::fs::metadata(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let password = std::fs::read_to_string(&file).unwrap().trim().to_string();
    assert!(password.len() >= 12, "{password:?}");
    assert!(server.stderr().contains("root-password"), "the log says where it is: {}", server.stderr());
    assert!(!server.stderr().contains(&password), "the password is in the log");
    assert!(!server.stdout_lines().join("\n").contains(&password), "the password is on stdout");
    server.set_root_password(&password);
    server.client().get("/listDatabases").ok_json();

    server.signal("TERM");
    recv_until(sock, "STOPPING=1", WAIT);
    assert!(server.wait_exit(WAIT).is_some_and(|s| s.success()));
}

#[test]
fn sd_notify_sends_ready_then_stopping_and_the_password_goes_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    notify_run(path.to_str().unwrap(), &sock, &dir.path().join("home"));

    use std::os::linux::net::SocketAddrExt;
    let name = format!("basalt-ops-test-{}-{}", std::process::id(), rand::random::<u32>());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let sock = UnixDatagram::bind_addr(&addr).unwrap();
    notify_run(&format!("@{name}"), &sock, &dir.path().join("home2"));
}

/// Every line of `text` as a JSON object (panics naming a line that is not one).
fn json_lines(text: &str, stream: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{stream} line is not JSON ({e}): {l}"));
            assert!(v.is_object() && v["timestamp"].is_string() && v["level"].is_string(), "{stream}: {l}");
            v
        })
        .collect()
}

fn audit<'a>(lines: &'a [Value], event: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["target"] == "audit" && l["event"] == event).collect()
}

#[test]
fn json_logs_are_only_json_with_audit_events_and_slow_request_details() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "[http]\nslow_request_ms = 0\n");
    let launch = Launch::new(dir.path()).args(&["--no-demo", "--node-name", "n1", "--log-format", "json"]);
    let mut starting = launch.spawn().unwrap_or_else(|e| panic!("{e}"));
    let proc = starting.process();
    let screen = |p: &basalt_tests::server::Proc| json_lines(&p.stdout_lines().join("\n"), "stdout");
    let up = wait_until(WAIT, || screen(proc).iter().any(|l| l["message"] == "basalt-server ready"));
    assert!(up, "no ready event: {:?}\n{}", proc.stdout_lines(), proc.stderr());
    let lines = screen(proc);
    let url =
        lines.iter().find(|l| l["message"] == "basalt-server ready").unwrap()["url"].as_str().unwrap().to_string();
    let banner = lines.iter().find(|l| l["password"].is_string()).expect("the first-run banner event");
    let root_pw = banner["password"].as_str().unwrap().to_string();
    assert_eq!(banner["user"], "root");
    assert!(lines.iter().any(|l| l["message"] == "next steps" && l["console"].is_string()), "{lines:?}");

    let root = Client::new(&url).login("root", &root_pw);
    root.post_json("/users", &json!({"name": "alice", "password": "alice-pw-XYZ", "role": "reader"})).ok_json();
    root.post_empty("/database/auditdb").ok_json();
    let alice = root.login("alice", "alice-pw-XYZ");
    alice.post_empty("/database/other").assert_error(403);
    root.send_raw("POST", "/command/auditdb/sql", b"SELECT FROM V WHERE 1 = 1", "text/plain").ok_json();
    root.delete("/database/auditdb").ok_json();
    root.delete("/users/alice").ok_json();
    proc.signal_and_wait("TERM", WAIT);

    let out = proc.stdout_lines().join("\n");
    let err = proc.stderr();
    json_lines(&out, "stdout");
    let log = json_lines(&err, "stderr");
    for secret in ["alice-pw-XYZ", root_pw.as_str()] {
        assert!(!err.contains(secret), "a password is in the log");
    }
    let set = audit(&log, "user_set");
    assert!(set.iter().any(|e| e["user"] == "root" && e["name"] == "alice" && e["role"] == "reader"), "{set:?}");
    assert!(set.iter().all(|e| e["client"].as_str().is_some_and(|c| c.starts_with("127.0.0.1:"))), "{set:?}");
    assert_eq!(audit(&log, "database_created")[0]["database"], "auditdb");
    assert_eq!(audit(&log, "database_dropped")[0]["database"], "auditdb");
    assert_eq!(audit(&log, "user_deleted")[0]["name"], "alice");
    let denied = audit(&log, "access_denied");
    assert!(denied.iter().any(|e| e["user"] == "alice" && e["route"] == "/database/{db}"), "{denied:?}");

    let slow = log
        .iter()
        .find(|l| l["message"] == "slow request" && l["route"] == "/command/{db}/{lang}")
        .unwrap_or_else(|| panic!("no slow-request line for the command:\n{err}"));
    assert_eq!(slow["statement"], "SELECT FROM V WHERE 1 = 1");
    assert_eq!(slow["user"], "root");
    assert_eq!(slow["database"], "auditdb");
    assert!(slow["client"].as_str().is_some_and(|c| c.starts_with("127.0.0.1:")), "{slow}");
    assert!(slow["ms"].is_u64(), "{slow}");
    let listening = log.iter().find(|l| l["message"] == "listening").expect("the listening line");
    assert!(listening["databases"].is_array(), "lists are arrays: {listening}");
    assert!(listening["offline"].is_array(), "lists are arrays: {listening}");
}

#[test]
fn no_secret_in_any_log_or_answer() {
    let dir = tempfile::tempdir().unwrap();
    let cluster_secret = "cluster-s3cret-QWERTY";
    let root_secret = "root-s3cret-ASDFGH";
    let launch = Launch::new(dir.path())
        .args(&["--no-demo", "--node-name", "n1", "--cluster-secret", cluster_secret])
        .env("BASALT_ROOT_PASSWORD", root_secret)
        .env("BASALT_LOG", "debug");
    let mut server = launch.start();
    let c = server.client();
    let mut answers = Vec::new();
    for path in ["/server", "/distributed/status", "/distributed/node", "/metrics", "/ready", "/health", "/users"] {
        let reply = c.get(path);
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        answers.push((path, reply.text()));
    }
    answers.push(("wrong login", server.anonymous().login("root", "wrong-s3cret-ZXCV").get("/server").text()));
    server.terminate();
    let stdout = server.stdout_lines().join("\n");
    let log = server.stderr();
    assert!(log.contains("basalt-server stopped"), "the log is complete: {log}");
    for secret in [cluster_secret, root_secret, "wrong-s3cret-ZXCV"] {
        assert!(!log.contains(secret), "{secret} is in the log");
        assert!(!stdout.contains(secret), "{secret} is on stdout");
        for (path, body) in &answers {
            assert!(!body.contains(secret), "{secret} is in the answer of {path}");
        }
    }
}
