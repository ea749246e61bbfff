//! The first run of the real `basalt-server` binary: the home it lays out, how it picks the
//! node name (`BASALT_NODE_NAME`, `--node-name`, a terminal prompt, or generated without a
//! terminal) and keeps it, the root password (`BASALT_ROOT_PASSWORD`, or generated and
//! printed exactly once), the demo database and `--no-demo`; and the README's run command.
//!
//! The prompt is tested through a pseudo-terminal made by `script` (util-linux); without
//! `script` that test says so and passes. The README test runs the README's run command
//! as written (`cargo run` of the debug server, which `cargo test --workspace` has built).

use std::path::Path;
use std::time::Duration;

use basalt_server::config::{read_file_config, CONFIG_FILE, DEFAULT_DB_CONFIG_FILE};
use basalt_tests::server::{server_binary, Client, Launch, ServerProcess, StdinMode, PASSWORD_PREFIX, READY_PREFIX};
use serde_json::Value;

const DEMO: &str = "GratefulDeadConcerts";

fn saved_node_name(home: &Path) -> Option<String> {
    read_file_config(&home.join("config").join(CONFIG_FILE)).expect("basalt.toml parses").node_name
}

fn local_node(client: &Client) -> String {
    let status = client.get("/distributed/status").ok_json();
    status["localNode"].as_str().expect("localNode").to_string()
}

fn password_lines(server: &ServerProcess) -> usize {
    server.stdout_lines().iter().filter(|l| l.starts_with(PASSWORD_PREFIX)).count()
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn is_generated_name(name: &str) -> bool {
    name.len() == 12 && name.starts_with("node") && name[4..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn first_run_with_basalt_node_name_lays_out_the_home_and_prints_the_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut server = ServerProcess::start(&home, &[], &[("BASALT_NODE_NAME", "envnode")]);

    // The home.
    for d in ["config", "databases", "backup"] {
        assert!(home.join(d).is_dir(), "{d}/ missing");
    }
    let config_text = std::fs::read_to_string(home.join("config").join(CONFIG_FILE)).unwrap();
    assert!(config_text.lines().filter(|l| l.starts_with('#')).count() > 10, "the config is commented:\n{config_text}");
    assert!(config_text.contains("# tls_cert"), "the TLS settings are documented:\n{config_text}");
    assert_eq!(saved_node_name(&home).as_deref(), Some("envnode"));
    let default_db: Value =
        serde_json::from_str(&std::fs::read_to_string(home.join("config").join(DEFAULT_DB_CONFIG_FILE)).unwrap())
            .unwrap();
    assert_eq!(default_db["writeQuorum"], "majority", "{default_db}");

    // The generated password: printed once, on stdout, and it works.
    assert_eq!(password_lines(&server), 1, "stdout: {:?}", server.stdout_lines());
    let password = server.generated_password().expect("a generated password").to_string();
    assert!(password.len() >= 16, "{password}");
    assert!(!server.stderr().contains(&password), "the password must not be in the log");
    let reply = server.client().get("/listDatabases");
    assert_eq!(reply.ok_json()["databases"], serde_json::json!([DEMO]));
    server.anonymous().login("root", "not-the-password").get("/listDatabases").assert_error(401);
    assert_eq!(local_node(&server.client()), "envnode");

    // The demo database, with its distributed config copied from the default.
    let song = server.client().get(&format!("/document/{DEMO}/9:1")).ok_json();
    assert_eq!(song["name"], "HEY BO DIDDLEY", "{song}");
    let copied = std::fs::read_to_string(home.join("databases").join(DEMO).join("distributed-config.json")).unwrap();
    let copied: Value = serde_json::from_str(&copied).unwrap();
    assert_eq!(copied, default_db);

    // Stored hashed: no file of the home holds the password.
    for f in files_under(&home) {
        if let Ok(text) = std::fs::read(&f) {
            assert!(!String::from_utf8_lossy(&text).contains(&password), "{} holds the password", f.display());
        }
    }
    assert!(server.terminate().success(), "{}", server.stderr());

    // Second start: nothing asked or printed, same name, same password; the demo is made on
    // the first run only (dropped, it stays dropped).
    let mut again = ServerProcess::start(&home, &[], &[]);
    assert_eq!(password_lines(&again), 0, "stdout: {:?}", again.stdout_lines());
    again.set_root_password(&password);
    assert_eq!(local_node(&again.client()), "envnode");
    assert_eq!(again.client().delete(&format!("/database/{DEMO}")).status, 204);
    assert!(again.terminate().success());
    let mut third = ServerProcess::start(&home, &[], &[]);
    third.set_root_password(&password);
    assert_eq!(third.client().get("/listDatabases").ok_json()["databases"], serde_json::json!([]));
    assert_eq!(saved_node_name(&home).as_deref(), Some("envnode"));
    let text = std::fs::read_to_string(home.join("config").join(CONFIG_FILE)).unwrap();
    assert_eq!(text.matches("node_name").count(), 1, "{text}");
}

#[test]
fn node_name_flag_root_password_env_and_no_demo() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let mut server = ServerProcess::start(
        home,
        &["--node-name", "flagnode", "--no-demo"],
        &[("BASALT_ROOT_PASSWORD", "first-secret")],
    );
    assert_eq!(password_lines(&server), 0, "a password from the environment is not printed");
    assert_eq!(server.generated_password(), None);
    assert_eq!(server.client().get("/listDatabases").ok_json()["databases"], serde_json::json!([]));
    assert_eq!(std::fs::read_dir(home.join("databases")).unwrap().count(), 0, "--no-demo: no database");
    assert_eq!(local_node(&server.client()), "flagnode");
    assert_eq!(saved_node_name(home).as_deref(), Some("flagnode"));
    assert!(!server.stderr().contains("first-secret"));
    assert!(server.terminate().success());

    // BASALT_ROOT_PASSWORD only counts on the first run: later it changes nothing.
    let server = ServerProcess::start(home, &[], &[("BASALT_ROOT_PASSWORD", "second-secret")]);
    server.client().get("/listDatabases").assert_error(401);
    let reply = server.anonymous().login("root", "first-secret").get("/listDatabases");
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(local_node(&server.anonymous().login("root", "first-secret")), "flagnode");
}

#[test]
fn without_a_name_or_a_terminal_a_generated_name_is_saved_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let mut server = ServerProcess::start(home, &["--no-demo"], &[]);
    assert!(!server.stderr().contains("Node name ["), "no prompt without a terminal: {}", server.stderr());
    let name = saved_node_name(home).expect("a generated name is saved");
    assert!(is_generated_name(&name), "{name}");
    assert_eq!(local_node(&server.client()), name);
    let password = server.root_password().unwrap().to_string();
    assert!(server.terminate().success());

    // stdin a pipe this time: still not a terminal, still no prompt; the saved name is kept.
    let mut launch = Launch::new(home).args(&["--no-demo"]);
    launch.stdin = StdinMode::Text(String::new());
    let mut again = launch.start();
    again.set_root_password(&password);
    assert_eq!(local_node(&again.client()), name);
    assert_eq!(saved_node_name(home).as_deref(), Some(name.as_str()));
    assert!(!again.stderr().contains("Node name ["));
}

#[test]
fn basalt_home_sets_the_home_and_bad_node_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("from-env");
    let mut launch = Launch::new(&home).args(&["--no-demo"]).env("BASALT_HOME", home.to_str().unwrap());
    launch.home = None;
    let server = launch.start();
    assert!(home.join("config").join(CONFIG_FILE).is_file());
    assert!(home.join("databases").is_dir() && home.join("backup").is_dir());
    drop(server);

    let other = dir.path().join("bad-name");
    let failure = Launch::new(&other).args(&["--node-name", "no spaces allowed"]).try_start().unwrap_err();
    let status = failure.status.expect("it exits");
    assert!(!status.success(), "{failure}");
    assert!(failure.stderr.contains("no spaces allowed") && failure.stderr.contains("not valid"), "{failure}");
}

#[test]
fn a_first_run_that_failed_or_a_provisioned_config_still_gets_the_demo() {
    // Regression: the first run used to be "no basalt.toml yet", but the file is written
    // before anything can fail, so a first start refused for a bad flag (or stopped at the
    // prompt) left a home whose next start never created the demo database; a config file
    // put in place before the first start had the same effect.
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("typo");
    let failure = Launch::new(&home).args(&["--node-name", "bad name"]).try_start().unwrap_err();
    assert!(failure.status.is_some_and(|s| !s.success()), "{failure}");
    let server = ServerProcess::start(&home, &["--node-name", "good"], &[]);
    assert!(server.generated_password().is_some(), "the root password is made on the real first run");
    assert_eq!(server.client().get("/listDatabases").ok_json()["databases"], serde_json::json!([DEMO]));
    drop(server);

    let provisioned = dir.path().join("provisioned");
    basalt_tests::server::write_config(&provisioned, "node_name = \"prov\"\n\n[http]\nslow_request_ms = 5000\n");
    let server = ServerProcess::start(&provisioned, &[], &[("BASALT_ROOT_PASSWORD", "provisioned-pw")]);
    assert_eq!(server.client().get("/listDatabases").ok_json()["databases"], serde_json::json!([DEMO]));
    assert_eq!(local_node(&server.client()), "prov");
}

/// Runs the server under `script`, which gives it a pseudo-terminal, typing `input`.
/// Returns None (after saying why) if `script` is not installed.
fn start_on_a_terminal(home: &Path, input: &str) -> Option<ServerProcess> {
    let have_script = std::process::Command::new("script")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have_script {
        eprintln!("SKIPPED: `script` (util-linux) is not installed, so the terminal prompt is not tested");
        return None;
    }
    let command = format!(
        "exec '{}' --home '{}' --http-port 0 --http-bind 127.0.0.1 --no-demo",
        server_binary().display(),
        home.display()
    );
    let mut launch = Launch::new(home).args(&["-qfc", &command, "/dev/null"]);
    launch.program = Some("script".into());
    launch.home = None;
    launch.free_port = false;
    launch.stdin = StdinMode::Text(input.to_string());
    Some(launch.start())
}

/// Stops a server started under `script`: SIGTERM to the PID in the home's lock file.
fn stop_terminal_server(mut script: ServerProcess, home: &Path) -> String {
    let pid = std::fs::read_to_string(home.join(basalt_server::app::LOCK_FILE)).expect("the lock file holds the PID");
    let status = std::process::Command::new("kill").args(["-TERM", pid.trim()]).status().expect("running kill");
    assert!(status.success());
    let exited = script.wait_exit(Duration::from_secs(60));
    assert!(exited.is_some(), "the server under script did not stop: {}", script.stdout_lines().join("\n"));
    script.stdout_lines().join("\n")
}

#[test]
fn on_a_terminal_the_node_name_is_asked_once() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("typed");
    // A bad answer is explained and asked again; a good one is kept.
    let Some(server) = start_on_a_terminal(&home, "bad name\nptynode\n") else { return };
    assert_eq!(local_node(&server.client()), "ptynode");
    let password = server.generated_password().expect("password printed on the terminal").to_string();
    let output = stop_terminal_server(server, &home);
    assert_eq!(output.matches("Node name [BLANK=auto generate it]:").count(), 2, "{output}");
    assert!(output.contains("'bad name' is not a valid node name"), "{output}");
    assert_eq!(saved_node_name(&home).as_deref(), Some("ptynode"));

    // Never asked again, even on a terminal.
    let mut again = start_on_a_terminal(&home, "").expect("script is there");
    again.set_root_password(&password);
    assert_eq!(local_node(&again.client()), "ptynode");
    let output = stop_terminal_server(again, &home);
    assert!(!output.contains("Node name ["), "{output}");

    // A blank answer generates a name.
    let blank = dir.path().join("blank");
    let server = start_on_a_terminal(&blank, "\n").expect("script is there");
    let name = local_node(&server.client());
    assert!(is_generated_name(&name), "{name}");
    stop_terminal_server(server, &blank);
    assert_eq!(saved_node_name(&blank), Some(name));
}

/// The lines of the README's shell code blocks, without a leading `$ `.
fn readme_code_lines(readme: &str) -> Vec<String> {
    let mut in_code = false;
    let mut lines = Vec::new();
    for line in readme.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_code = !in_code;
        } else if in_code {
            lines.push(t.strip_prefix("$ ").unwrap_or(t).to_string());
        }
    }
    lines
}

/// The run command of the README: the first code line that runs `basalt-server` (directly
/// or through `cargo run`).
fn readme_run_command(readme: &str) -> Option<String> {
    readme_code_lines(readme)
        .into_iter()
        .find(|l| l.contains("basalt-server") && !l.starts_with('#') && !l.starts_with("curl"))
}

/// The path and query of the README's first `curl` of `/query/`, e.g.
/// `/query/GratefulDeadConcerts/sql/SELECT...` from `curl -u root:root 'http://localhost:2480/query/...'`.
fn readme_query_path(readme: &str) -> Option<String> {
    let line = readme_code_lines(readme).into_iter().find(|l| l.starts_with("curl") && l.contains("/query/"))?;
    let url = line.split(['\'', '"']).find(|part| part.contains("/query/"))?;
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme.find('/').map(|i| after_scheme[i..].to_string())
}

#[test]
fn the_readme_run_command_serves_the_demo_database() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let readme_path = std::env::var_os("BASALT_README").map(Into::into).unwrap_or(workspace.join("README.md"));
    let readme = std::fs::read_to_string(&readme_path)
        .unwrap_or_else(|e| panic!("{}: {e} (the README's run command is what this test runs)", readme_path.display()));
    let command = readme_run_command(&readme)
        .unwrap_or_else(|| panic!("{} has no code block line running basalt-server", readme_path.display()));
    // As written, in the workspace root; only the home and the port are moved aside (by
    // environment, which the command's own flags would override) so the test touches
    // neither ./basalt-home nor port 2480.
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut launch = Launch::new(&home)
        .args(&["-c", &command])
        .env("BASALT_HOME", home.to_str().unwrap())
        .env("BASALT_HTTP_PORT", "0")
        .env("BASALT_HTTP_BIND", "127.0.0.1");
    launch.program = Some("sh".into());
    launch.home = None;
    launch.free_port = false;
    launch.cwd = Some(workspace);
    launch.own_group = true;
    launch.ready_timeout = Duration::from_secs(1200);
    let mut server = launch.start();
    if let Some(p) = command.split_whitespace().find_map(|w| w.strip_prefix("BASALT_ROOT_PASSWORD=")) {
        server.set_root_password(p.trim_matches(['\'', '"']));
    }
    assert!(server.root_password().is_some(), "neither printed nor in the command: {:?}", server.stdout_lines());
    let client = server.client();
    let song = client.get(&format!("/document/{DEMO}/9:1")).ok_json();
    assert_eq!(song["name"], "HEY BO DIDDLEY", "{song}");

    // The README's query, as written (five most performed songs).
    let path = readme_query_path(&readme).unwrap_or_else(|| panic!("{} has no curl of /query/", readme_path.display()));
    let reply = client.get(&path);
    assert!(
        !(reply.status == 400 && reply.text().contains("not built yet")),
        "the document API works; the SQL query waits for the SQL executor (server/src/sql): {}",
        reply.text()
    );
    let rows = reply.ok_json();
    let got: Vec<(String, i64)> = rows["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{rows}"))
        .iter()
        .map(|r| (r["name"].as_str().unwrap_or("").to_string(), r["performances"].as_i64().unwrap_or(-1)))
        .collect();
    let want = [("DRUMS", 1386), ("ME AND MY UNCLE", 616), ("SUGAR MAGNOLIA", 594), ("THE OTHER ONE", 583)];
    assert_eq!(got.len(), 5, "{rows}");
    for (i, (name, n)) in want.iter().enumerate() {
        assert_eq!((got[i].0.as_str(), got[i].1), (*name, *n), "{rows}");
    }
    assert_eq!(got[4], ("PLAYING IN THE BAND".to_string(), 582), "{rows}");

    // "Stop it with Ctrl-C": SIGINT to the server (the shell around it would die of its own
    // SIGINT; it ends with the server's status when only the server gets it).
    let pid = std::fs::read_to_string(home.join(basalt_server::app::LOCK_FILE)).expect("the lock file holds the PID");
    let kill = std::process::Command::new("kill").args(["-INT", pid.trim()]).status().expect("running kill");
    assert!(kill.success());
    let status = server.wait_exit(Duration::from_secs(60)).expect("the server stops on SIGINT");
    assert!(status.success(), "{status}: {}", server.stderr());
    assert!(server.stderr().contains("database closed cleanly"), "{}", server.stderr());
}

#[test]
fn the_readme_command_is_found_in_a_code_block() {
    let text = "# Basalt\n\nRun:\n\n```sh\n$ BASALT_ROOT_PASSWORD=x cargo run --release --bin basalt-server\n```\n\n\
                ```sh\ncurl -u root:x http://localhost:2480/listDatabases\n```\n";
    assert_eq!(
        readme_run_command(text).as_deref(),
        Some("BASALT_ROOT_PASSWORD=x cargo run --release --bin basalt-server")
    );
    assert_eq!(readme_run_command("no code"), None);
    assert_eq!(readme_query_path(text).as_deref(), None, "that curl is not a query");
    let text = "```sh\ncurl -u root:root 'http://localhost:2480/query/G/sql/SELECT%201/5'\n```\n";
    assert_eq!(readme_query_path(text).as_deref(), Some("/query/G/sql/SELECT%201/5"));
    assert!(READY_PREFIX.ends_with(": "));
}
