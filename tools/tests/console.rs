//! End-to-end tests of the `basalt` console binary against a fake HTTP server.
//!
//! The fake server is a std `TcpListener` on 127.0.0.1:0 served by a thread: it records each
//! request (method, path, headers, body) and answers from a handler with canned JSON, one
//! request per connection. It is bound before the binary starts, so nothing waits or sleeps.
//! A "closed port" is a port that was bound and released: connecting to it is refused.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// One request the fake server received.
#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    /// Header names in lower case.
    headers: Vec<(String, String)>,
    body: String,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// The SQL the request carries: in the JSON body of `/command`, or in the path of `/query`.
    fn sql(&self) -> String {
        match self.path.strip_prefix("/query/") {
            Some(rest) => percent_decode(rest.split('/').nth(2).unwrap()),
            None => self.json()["command"].as_str().unwrap().to_owned(),
        }
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// What the fake server does with a request.
enum Reply {
    /// Answer with this status, extra headers and JSON body (text, so key order is kept).
    Answer(u16, Vec<(&'static str, String)>, String),
    /// Close the connection without answering (the request was received).
    HangUp,
}

fn ok(body: impl ToString) -> Reply {
    Reply::Answer(200, Vec::new(), body.to_string())
}

fn error(status: u16, reason: &str, content: &str) -> Reply {
    let body = json!({"errors": [{"code": status, "reason": reason, "content": content}]});
    Reply::Answer(status, Vec::new(), body.to_string())
}

struct FakeServer {
    port: u16,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeServer {
    fn start(handler: impl Fn(&Recorded) -> Reply + Send + 'static) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                // A client that goes away mid-request only ends that connection.
                let _ = serve(stream, &handler, &log);
            }
        });
        FakeServer { port, requests }
    }

    fn url(&self, db: &str) -> String {
        format!("http://127.0.0.1:{}/{db}", self.port)
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, handler: &impl Fn(&Recorded) -> Reply, log: &Mutex<Vec<Recorded>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_lowercase(), value.trim().to_owned()));
        }
    }
    let length: usize = headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().unwrap_or(0));
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let request = Recorded { method, path, headers, body: String::from_utf8_lossy(&body).into_owned() };
    log.lock().unwrap().push(request.clone());
    let Reply::Answer(status, extra, body) = handler(&request) else {
        return Ok(()); // hang up: dropping the stream closes it
    };
    let mut stream = stream;
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    stream.write_all(format!("{head}\r\n{body}").as_bytes())?;
    stream.flush()
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs the console with `args`, `stdin` as its input, and no BASALT_* variables from the
/// environment.
fn basalt(args: &[&str], stdin: &str) -> Output {
    let history = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_basalt"))
        .args(args)
        .env_remove("BASALT_SERVERS")
        .env_remove("BASALT_USER")
        .env_remove("BASALT_PASSWORD")
        .env("BASALT_HISTORY", history.path().join("history"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(!history.path().join("history").exists(), "no history is written when stdin is not a terminal");
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Records as the server sends them; fields not in alphabetical order, as a server may send them.
const PEOPLE: &str = r##"{"result": [
    {"@type": "d", "@rid": "#12:0", "@version": 1, "@class": "Person", "name": "Ann", "age": 31},
    {"@type": "d", "@rid": "#12:1", "@version": 4, "@class": "Person", "name": "Bob", "tags": ["x", "y"]}
]}"##;

const PEOPLE_TABLE: &str = r#"+---+-------+--------+------+-----+-----------+
| # | @RID  | @CLASS | name | age | tags      |
+---+-------+--------+------+-----+-----------+
| 0 | #12:0 | Person | Ann  | 31  |           |
| 1 | #12:1 | Person | Bob  |     | ["x","y"] |
+---+-------+--------+------+-----+-----------+
"#;

fn ha_status() -> Value {
    json!({"localNode": "n2", "clusterName": "basalt", "nodes": [
        {"name": "n1", "role": "MASTER", "httpAddress": "10.0.0.1:2480", "clusterAddress": "10.0.0.1:2434",
         "reachable": true, "databases": {"demo": {"status": "ONLINE", "appliedLsn": 57}}},
        {"name": "n2", "role": "REPLICA", "httpAddress": "10.0.0.2:2480", "clusterAddress": "10.0.0.2:2434",
         "reachable": true, "databases": {"demo": {"status": "SYNCHRONIZING", "appliedLsn": 40}}}
    ], "databases": {"demo": {"leader": "n1", "writeQuorum": 1}}})
}

const HA_TABLE: &str = "Cluster 'basalt', as seen by node n2 (*):
+--------+---------+---------------+-----------+----------+---------------+-------------+--------+
| NODE   | ROLE    | HTTP          | REACHABLE | DATABASE | STATUS        | APPLIED LSN | LEADER |
+--------+---------+---------------+-----------+----------+---------------+-------------+--------+
| n1     | MASTER  | 10.0.0.1:2480 | true      | demo     | ONLINE        | 57          | yes    |
| n2 (*) | REPLICA | 10.0.0.2:2480 | true      | demo     | SYNCHRONIZING | 40          |        |
+--------+---------+---------------+-----------+----------+---------------+-------------+--------+
Database 'demo': leader n1, write quorum 1
";

/// Answers SQL with `people()`, the status path with `ha_status()`, anything else with `{}`.
fn standard(request: &Recorded) -> Reply {
    match request.path.as_str() {
        "/distributed/status" => ok(ha_status()),
        "/listDatabases" => ok(json!({"@type": "d", "@version": 0, "databases": ["demo", "logs"]})),
        path if ["/command/", "/batch/", "/query/"].iter().any(|p| path.starts_with(p)) => ok(PEOPLE),
        _ => ok(json!({})),
    }
}

/// Checks the summary line and returns the output before it.
fn strip_summary(text: &str, items: usize) -> &str {
    let (before, last) = text.trim_end().rsplit_once('\n').unwrap_or(("", text.trim_end()));
    let prefix = format!("{items} item(s) found. Query executed in ");
    assert!(last.starts_with(&prefix) && last.ends_with(" sec(s)."), "summary line: {last:?}");
    before
}

#[test]
fn one_shot_prints_the_table_and_sends_auth_path_and_body() {
    let server = FakeServer::start(standard);
    let output = basalt(
        &["--server", &server.url("demo"), "--user", "admin", "--password", "s3cret", "-c", "SELECT FROM Person"],
        "",
    );
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(format!("{}\n", strip_summary(&stdout(&output), 2)), PEOPLE_TABLE);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    // A SELECT without LIMIT asks for the default limit and one more row (OrientDB's console).
    assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/query/demo/sql/SELECT%20FROM%20Person/21"));
    assert_eq!(request.header("authorization"), Some("Basic YWRtaW46czNjcmV0")); // admin:s3cret
    assert_eq!(request.header("x-basalt-timeout-ms"), None, "no timeout header unless SET timeout");
}

#[test]
fn one_shot_runs_each_statement_in_order_with_env_credentials() {
    let server = FakeServer::start(standard);
    let mut command = Command::new(env!("CARGO_BIN_EXE_basalt"));
    let output = command
        .args(["-d", "demo", "-c", "SELECT 1; SELECT 'a;b' -- done\n; INSERT INTO V SET a = 1; HA STATUS"])
        .env("BASALT_SERVERS", format!("127.0.0.1:{}", server.port))
        .env("BASALT_PASSWORD", "pw")
        .env_remove("BASALT_USER")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let requests = server.requests();
    let commands: Vec<String> = requests[..3].iter().map(Recorded::sql).collect();
    assert_eq!(commands, ["SELECT 1", "SELECT 'a;b'", "INSERT INTO V SET a = 1"]);
    // A write goes to /command as JSON.
    assert_eq!((requests[2].method.as_str(), requests[2].path.as_str()), ("POST", "/command/demo/sql"));
    assert_eq!(requests[2].header("content-type"), Some("application/json"));
    assert_eq!(requests[2].json(), json!({"command": "INSERT INTO V SET a = 1", "parameters": {}}));
    assert_eq!(requests[3].path, "/distributed/status");
    assert_eq!(requests[0].header("authorization"), Some("Basic cm9vdDpwdw==")); // root:pw
    assert!(stdout(&output).ends_with(HA_TABLE));
}

#[test]
fn json_format_prints_the_answer() {
    let server = FakeServer::start(standard);
    let output = basalt(&["-s", &server.url("demo"), "-p", "x", "--format", "json", "-c", "SELECT FROM Person"], "");
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let printed: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(printed, serde_json::from_str::<Value>(PEOPLE).unwrap());
    // Fields keep the server's order, not alphabetical order.
    let text = stdout(&output);
    assert!(text.find("\"name\"").unwrap() < text.find("\"age\"").unwrap());
    assert!(text.contains("\n  \"result\": [\n"), "pretty-printed: {text}");
}

#[test]
fn an_http_error_prints_the_reason_and_exits_1() {
    let server = FakeServer::start(|_| error(409, "version conflict", "record #12:0 changed; reload it"));
    let output = basalt(&["-s", &server.url("demo"), "-p", "x", "-c", "UPDATE #12:0 SET a = 1; SELECT 2"], "");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output), "Error: version conflict: record #12:0 changed; reload it (HTTP 409)\n");
    assert_eq!(server.requests().len(), 1, "a one-shot run stops at the first failure");
}

#[test]
fn unavailable_shows_retry_after_and_missing_credentials_get_a_hint() {
    let server = FakeServer::start(|request| match request.header("authorization") {
        None => error(401, "unauthorized", ""),
        Some(_) => {
            let body = json!({"errors": [{"code": 503, "reason": "quorum not reached", "content": "1 of 2 masters"}]});
            Reply::Answer(503, vec![("Retry-After", "2".into())], body.to_string())
        }
    });
    let output = basalt(&["-s", &server.url("demo"), "-c", "SELECT 1"], "");
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).starts_with("Error: unauthorized: no credentials were sent"), "{}", stderr(&output));
    let output = basalt(&["-s", &server.url("demo"), "-p", "pw", "-c", "INSERT INTO V SET a = 1"], "");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "Error: quorum not reached: 1 of 2 masters (HTTP 503). The server asks to retry after 2 s\n"
    );
}

#[test]
fn fails_over_to_the_next_server() {
    let server = FakeServer::start(standard);
    let dead = closed_port();
    let list = format!("http://127.0.0.1:{dead},127.0.0.1:{}/demo", server.port);
    let output = basalt(&["-s", &list, "-p", "x", "-c", "SELECT FROM Person; INSERT INTO V SET a = 1"], "");
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert!(stdout(&output).starts_with(PEOPLE_TABLE));
    let err = stderr(&output);
    assert_eq!(err.matches("Note:").count(), 1, "the working server is remembered: {err}");
    assert!(err.contains(&format!("http://127.0.0.1:{dead} (connection refused)")), "{err}");
    assert!(err.contains(&format!("now using http://127.0.0.1:{}", server.port)), "{err}");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn all_servers_down_exits_2_naming_each() {
    let (a, b) = (closed_port(), closed_port());
    let list = format!("127.0.0.1:{a},127.0.0.1:{b}");
    let output = basalt(&["-s", &list, "-d", "demo", "-p", "x", "-c", "SELECT 1"], "");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        format!(
            "Error: no server could be reached:\n  http://127.0.0.1:{a}: connection refused\n  http://127.0.0.1:{b}: connection refused\n"
        )
    );
    assert!(stdout(&output).is_empty());
}

#[test]
fn a_write_is_not_repeated_after_the_connection_broke_mid_request() {
    let flaky = FakeServer::start(|_| Reply::HangUp);
    let good = FakeServer::start(standard);
    let list = format!("127.0.0.1:{},127.0.0.1:{}/demo", flaky.port, good.port);
    // A read is repeated on the next server.
    let output = basalt(&["-s", &list, "-p", "x", "-c", "SELECT FROM Person"], "");
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(good.requests().len(), 1);
    // A write is not: it may have been applied.
    let output = basalt(&["-s", &list, "-p", "x", "-c", "INSERT INTO V SET a = 1"], "");
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("may or may not have been applied"), "{}", stderr(&output));
    assert_eq!(good.requests().len(), 1, "the write did not reach the second server");
    assert_eq!(flaky.requests().len(), 2);
}

#[test]
fn begin_commit_is_sent_as_one_batch() {
    let server = FakeServer::start(standard);
    let script = "BEGIN\nINSERT INTO V SET a = 1;\nINSERT INTO V SET b = 'x;y'; -- two\nCOMMIT\n";
    let output = basalt(&["-s", &server.url("demo"), "-p", "x", "-c", script], "");
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!((requests[0].method.as_str(), requests[0].path.as_str()), ("POST", "/batch/demo"));
    assert_eq!(
        requests[0].json(),
        json!({"transaction": true, "operations": [{"type": "script", "language": "sql",
            "script": ["INSERT INTO V SET a = 1", "INSERT INTO V SET b = 'x;y'"]}]})
    );
    // A script that ends inside a transaction sends nothing and fails.
    let output = basalt(&["-s", &server.url("demo"), "-p", "x", "-c", "BEGIN; DELETE VERTEX V"], "");
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("1 statement(s) after BEGIN were not committed"));
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn script_file_with_console_commands() {
    let server = FakeServer::start(standard);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("script.sql");
    let script = format!(
        "-- set up\nCONNECT http://127.0.0.1:{}/demo admin 'two words'\nSET format json\nLIST DATABASES\nselect\n  from Person\n\nEXIT\nSELECT never\n",
        server.port
    );
    std::fs::write(&file, script).unwrap();
    let output = basalt(&["--file", file.to_str().unwrap()], "");
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let requests = server.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/database/demo", "/listDatabases", "/query/demo/sql/select%0A%20%20from%20Person/21"]);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[1].header("authorization"), Some("Basic YWRtaW46dHdvIHdvcmRz")); // admin:two words
    assert_eq!(requests[2].sql(), "select\n  from Person");
    let out = stdout(&output);
    assert!(out.starts_with(&format!("Connected to database 'demo' on http://127.0.0.1:{} as admin.\n", server.port)));
    assert!(out.contains("\"databases\": [\n    \"demo\",\n    \"logs\"\n  ]"), "{out}");
}

#[test]
fn the_repl_reads_piped_stdin() {
    let server = FakeServer::start(standard);
    let input = "SELECT FROM Person;\nha status\nselect\nfrom Person\n\nBOGUS STATEMENT;\nlist databases\nexit\nSELECT never;\n";
    let output = basalt(&["-s", &server.url("demo"), "-p", "x"], input);
    // Whatever is not a console command goes to the server as SQL (BOGUS too); nothing after
    // EXIT runs.
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/query/demo/sql/SELECT%20FROM%20Person/21",
            "/distributed/status",
            "/query/demo/sql/select%0Afrom%20Person/21",
            "/command/demo/sql",
            "/listDatabases"
        ]
    );
    let out = stdout(&output);
    assert!(out.starts_with(PEOPLE_TABLE), "no banner or prompt when stdin is piped: {out}");
    assert!(out.contains(HA_TABLE));
    assert!(out.ends_with("Found 2 database(s):\n  * demo\n  * logs\n"), "{out}");
    assert_eq!(stderr(&output), "");
}

#[test]
fn the_repl_keeps_going_after_errors_and_reports_them_in_the_exit_code() {
    let server = FakeServer::start(|request| {
        if request.sql().contains("bad") {
            error(400, "syntax error", "at 'bad'")
        } else {
            ok(PEOPLE)
        }
    });
    let output = basalt(&["-s", &server.url("demo"), "-p", "x"], "SELECT bad;\nSELECT FROM Person\n");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output), "Error: syntax error: at 'bad' (HTTP 400)\n");
    assert_eq!(server.requests().len(), 2, "the statement left at the end of input runs too");
    assert!(stdout(&output).starts_with(PEOPLE_TABLE));
}

#[test]
fn help_explains_with_examples() {
    let output = basalt(&["--help"], "");
    assert_eq!(output.status.code(), Some(0));
    let help = stdout(&output);
    for needle in ["Examples:", "--server", "BASALT_PASSWORD", "HA STATUS", "--insecure", "--ca-cert", "Exit codes"] {
        assert!(help.contains(needle), "--help lacks {needle}: {help}");
    }
}

#[test]
fn bad_command_lines_are_explained() {
    let output = basalt(&["-s", "host:notaport", "-c", "SELECT 1"], "");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("--server: 'host:notaport': 'notaport' is not a port number"),
        "{}",
        stderr(&output)
    );
    let output = basalt(&["-d", "demo", "-c", "SELECT 1"], "");
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("--db needs a server"));
    let output = basalt(&["-s", "localhost", "--ca-cert", "/nonexistent/ca.pem", "-c", "SELECT 1"], "");
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("cannot read the CA certificate file /nonexistent/ca.pem"));
}

#[test]
fn database_commands_and_info() {
    let server = FakeServer::start(standard);
    let base = format!("http://127.0.0.1:{}", server.port);
    let input = format!(
        "CREATE DATABASE newdb\nINFO\nDROP DATABASE\nINFO\nCREATE DATABASE {base}/other admin pw plocal\nSELECT 1;\n"
    );
    let output = basalt(&["-s", &base, "-p", "x"], &input);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let requests = server.requests();
    let calls: Vec<String> = requests.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(
        calls,
        [
            "POST /database/newdb",
            "GET /database/newdb",
            "DELETE /database/newdb",
            "POST /database/other/plocal",
            "GET /query/other/sql/SELECT%201/21"
        ]
    );
    assert_eq!(requests[0].header("authorization"), Some("Basic cm9vdDp4")); // root:x
    assert_eq!(requests[3].header("authorization"), Some("Basic YWRtaW46cHc=")); // admin:pw
    assert_eq!(requests[4].header("authorization"), Some("Basic YWRtaW46cHc="), "the new login is kept");
    let out = stdout(&output);
    assert!(out.starts_with(&format!("Database 'newdb' created on {base}; now using it.\n")), "{out}");
    assert!(out.contains(&format!("Servers:  {base} (in use)\nUser:     root\nDatabase: newdb\n")), "{out}");
    assert!(out.contains(&format!("Database 'newdb' dropped on {base}.\n")), "{out}");
    assert!(out.contains("Database: (none)\n"), "{out}");
}

#[test]
fn set_timeout_sends_the_query_timeout_header() {
    let server = FakeServer::start(standard);
    let output = basalt(
        &[
            "-s",
            &server.url("demo"),
            "-p",
            "x",
            "-c",
            "SELECT 1; SET timeout 2500; SELECT 2; SET timeout default; SELECT 3",
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let sent: Vec<Option<String>> = server
        .requests()
        .iter()
        // SELECTs without LIMIT go as GET /query/... (the default limit), others as POST.
        .filter(|r| r.path.starts_with("/query/") || r.path.starts_with("/command/"))
        .map(|r| r.header("x-basalt-timeout-ms").map(str::to_string))
        .collect();
    assert_eq!(sent, [None, Some("2500".to_string()), None]);
}
