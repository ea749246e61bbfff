//! The console as a person uses it: `basalt` runs in a real terminal (a tmux pane, so a pty
//! with a known size) against a real `basalt-server` holding the demo database, and every
//! OrientDB console command of issue 15 is typed, its output read back from the screen and
//! checked: CONNECT with a `remote:` URL, LIST DATABASES, CLASSES / LIST CLASSES, INFO CLASS,
//! CLUSTERS, INDEXES, INFO, DISPLAY RECORD, DISPLAY RAW RECORD, LOAD RECORD, BROWSE CLASS,
//! BROWSE CLUSTER, SET limit, CONFIG, HA STATUS with its flags, HA REMOVE SERVER; then the
//! default limit and its notice, vertical and CSV output, tables fitted to the terminal width,
//! the pager, tab completion, and the prompt showing an open quote or bracket.
//!
//! Skipped (with a line saying so) when tmux is not installed; `.ci/run` installs it.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use basalt_tests::server::{console_binary, ServerProcess};

const PASSWORD: &str = "console-pty-password";
const DEMO: &str = "GratefulDeadConcerts";
/// The terminal's size.
const COLUMNS: usize = 120;
const ROWS: usize = 80;
/// Longest wait for the screen to show an answer (debug builds, a shared machine).
const WAIT: Duration = Duration::from_secs(30);

/// A tmux server of our own (its socket in the test's directory) running the console in one
/// pane; killed on drop.
struct Terminal {
    socket: PathBuf,
}

impl Terminal {
    fn start(dir: &Path, command: &str, env: &[(&str, &str)]) -> Terminal {
        let socket = dir.join("tmux.sock");
        let mut tmux = Command::new("tmux");
        tmux.arg("-S").arg(&socket).args(["-f", "/dev/null", "new-session", "-d"]);
        tmux.args(["-x", &COLUMNS.to_string(), "-y", &ROWS.to_string()]);
        for (k, v) in env {
            tmux.args(["-e", &format!("{k}={v}")]);
        }
        let status = tmux.arg(command).status().unwrap();
        assert!(status.success(), "tmux new-session failed: {status}");
        let t = Terminal { socket };
        t.tmux(&["set-option", "-g", "history-limit", "20000"]);
        t
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").arg("-S").arg(&self.socket).args(args).output().unwrap();
        assert!(out.status.success(), "tmux {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `text` literally, then Enter.
    fn line(&self, text: &str) {
        // tmux reads an argument's trailing ';' as a command separator: send it as a byte.
        let (body, semicolon) = match text.strip_suffix(';') {
            Some(body) => (body, true),
            None => (text, false),
        };
        if !body.is_empty() {
            self.tmux(&["send-keys", "-l", body]);
        }
        if semicolon {
            self.tmux(&["send-keys", "-H", "3b"]);
        }
        self.tmux(&["send-keys", "Enter"]);
    }

    /// Everything the pane has shown, scrollback included, wrapped lines joined.
    /// (The pane's empty rows below the cursor are left out.)
    fn screen(&self) -> String {
        let text = self.tmux(&["capture-pane", "-p", "-J", "-S", "-20000"]);
        text.trim_end().to_string()
    }

    /// The screen from the `n`-th last prompt on (the output of the last command typed).
    fn since_prompt(&self, from: usize) -> String {
        let screen = self.screen();
        let lines: Vec<&str> = screen.lines().collect();
        lines[from.min(lines.len())..].join("\n")
    }

    fn line_count(&self) -> usize {
        self.screen().lines().count()
    }

    /// Waits until the screen since line `from` contains every one of `needles`, and returns it.
    fn wait_for(&self, from: usize, needles: &[&str]) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.since_prompt(from);
            if needles.iter().all(|n| text.contains(n)) {
                return text;
            }
            assert!(Instant::now() < deadline, "the screen never showed {needles:?}; it shows:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types a command and waits until its output shows all of `needles` and a fresh
    /// prompt follows it; returns the output.
    fn run(&self, command: &str, needles: &[&str]) -> String {
        let from = self.line_count().saturating_sub(1);
        self.line(command);
        let mut all = needles.to_vec();
        all.push(command);
        // (SQL ends with ';' at a terminal, as the console's banner says.)
        let text = self.wait_for(from, &all);
        // The answer is complete once the prompt is back after the command.
        let deadline = Instant::now() + WAIT;
        let mut text = text;
        while !text.trim_end().ends_with('>') {
            assert!(Instant::now() < deadline, "no prompt after {command:?}:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
            text = self.since_prompt(from);
        }
        text
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux").arg("-S").arg(&self.socket).arg("kill-server").status();
    }
}

fn have_tmux() -> bool {
    Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success())
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[test]
fn every_orientdb_console_command_through_a_terminal() {
    if !have_tmux() {
        eprintln!("console_pty: tmux is not installed; skipped (.ci/run installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server =
        ServerProcess::start(&dir.path().join("home"), &["--node-name", "n1"], &[("BASALT_ROOT_PASSWORD", PASSWORD)]);
    let addr = server.addr();
    let paged = dir.path().join("paged.txt");
    let console = format!("{}; echo console-exit=$?; sleep 600", shell_quote(&console_binary().display().to_string()));
    let pager = format!("cat > {}", shell_quote(&paged.display().to_string()));
    let history = dir.path().join("history");
    let t = Terminal::start(
        dir.path(),
        &console,
        &[("PAGER", &pager), ("BASALT_HISTORY", &history.display().to_string()), ("TERM", "xterm")],
    );
    t.wait_for(0, &["orientdb>"]);

    // CONNECT with OrientDB's remote: URL form.
    let out = t.run(
        &format!("CONNECT remote:{addr}/{DEMO} root {PASSWORD}"),
        &[&format!("Connected to database '{DEMO}'"), &format!("orientdb {{db={DEMO}}}>")],
    );
    assert!(!out.contains("rror"), "{out}");
    let out = t.run("LIST DATABASES", &["Found 1 database(s)", DEMO]);
    assert!(out.contains(&format!("* {DEMO}")), "{out}");

    // Schema: the demo's classes and clusters with the GraphML's counts (809 vertices,
    // 7047 followed_by, 501 sung_by, 501 written_by).
    for command in ["CLASSES", "LIST CLASSES"] {
        let out = t.run(command, &["followed_by", "TOTAL"]);
        for (class, count) in [("V", "809"), ("followed_by", "7047"), ("sung_by", "501"), ("written_by", "501")] {
            let row =
                out.lines().find(|l| l.starts_with(&format!("| {class} "))).unwrap_or_else(|| panic!("{class}: {out}"));
            assert!(row.contains(count), "{class} should count {count}: {row}");
        }
    }
    let out = t.run("INFO CLASS followed_by", &["CLASS 'followed_by'", "Records"]);
    assert!(out.contains("7047") && out.contains("[E]"), "{out}");
    let out = t.run("CLUSTERS", &["CLUSTERS", "TOTAL"]);
    assert!(out.lines().any(|l| l.starts_with("| v ") && l.contains("809")), "{out}");
    t.run("INDEXES", &["INDEXES", "TOTAL"]);
    let out = t.run("INFO", &["DATABASE PROPERTIES", "ONLINE"]);
    assert!(out.contains(DEMO), "{out}");

    // The default limit of 20 and OrientDB's notice; the table fits the terminal.
    let out = t.run("SELECT FROM V;", &["LIMIT EXCEEDED", "20 item(s) found"]);
    let table: Vec<&str> = out.lines().filter(|l| l.starts_with('|') || l.starts_with('+')).collect();
    assert!(!table.is_empty(), "{out}");
    for l in &table {
        assert!(l.chars().count() <= COLUMNS, "a table line wider than the {COLUMNS}-column terminal: {l}");
    }
    assert!(out.contains("| BERTHA "), "{out}");

    // Records of the last result, and records by id.
    let out = t.run("DISPLAY RECORD 1", &["DOCUMENT @class:V @rid:#9:1"]);
    assert!(out.contains("HEY BO DIDDLEY") && out.contains("cover"), "{out}");
    let out = t.run("DISPLAY RAW RECORD 1", &["Raw record content"]);
    assert!(out.contains("\"@rid\":\"#9:1\""), "{out}");
    let out = t.run("LOAD RECORD #9:3", &["DOCUMENT @class:V @rid:#9:3"]);
    assert!(out.contains("NOT FADE AWAY"), "{out}");
    t.run("SET limit 3", &[]);
    let out = t.run("BROWSE CLASS V", &["3 item(s) found", "LIMIT EXCEEDED"]);
    assert!(out.contains("(limit=3)"), "{out}");
    let out = t.run("BROWSE CLUSTER followed_by", &["3 item(s) found"]);
    assert!(out.contains("#11:0"), "{out}");

    // The server and the cluster.
    let out = t.run("CONFIG", &["REMOTE SERVER CONFIGURATION"]);
    assert!(out.contains("| node ") && out.contains("n1"), "{out}");
    assert!(!out.contains(PASSWORD), "no secret in CONFIG: {out}");
    let out = t.run("HA STATUS -servers -db -latency", &["SERVERS", "DATABASE", "REPLICATION LATENCY"]);
    assert!(out.contains("n1(*)") && out.contains("MASTER") && out.contains("ONLINE"), "{out}");
    let out = t.run("HA STATUS -servers", &["SERVERS"]);
    assert!(!out.contains("REPLICATION LATENCY"), "only the servers asked for: {out}");
    let out = t.run("HA REMOVE SERVER n9", &["no server named n9"]);
    assert!(out.contains("404"), "{out}");
    t.run("HA REMOVE SERVER n1", &["'n1' is this node"]);

    // Output modes.
    t.run("SET format vertical", &[]);
    let out = t.run("SELECT name FROM V WHERE name = 'BERTHA';", &["1 item(s) found"]);
    assert!(out.lines().any(|l| l.contains("name") && l.contains("BERTHA") && !l.starts_with('|')), "{out}");
    t.run("SET format csv", &[]);
    let out = t.run("SELECT name, performances FROM V WHERE name = 'BERTHA';", &["BERTHA,394"]);
    assert!(out.lines().any(|l| l.trim() == "name,performances"), "{out}");
    assert!(out.lines().any(|l| l.trim() == "BERTHA,394"), "{out}");
    t.run("SET format table", &[]);

    // The pager: a result taller than the terminal goes to $PAGER.
    t.run("SET limit -1", &[]);
    t.run("SELECT name FROM V;", &[]);
    let deadline = Instant::now() + WAIT;
    while !std::fs::read_to_string(&paged).is_ok_and(|p| p.contains("809 item(s) found")) {
        assert!(Instant::now() < deadline, "the 809-row result never reached the pager");
        std::thread::sleep(Duration::from_millis(50));
    }
    let paged_text = std::fs::read_to_string(&paged).unwrap();
    assert!(paged_text.contains("HEY BO DIDDLEY") && paged_text.contains("Garcia"), "{paged_text}");

    // Tab completion of a keyword, a class and a property (completion knows the schema's
    // declared properties; the demo declares none, so one is declared first).
    t.run("CREATE PROPERTY V.performances INTEGER;", &[]);
    let from = t.line_count().saturating_sub(1);
    t.tmux(&["send-keys", "-l", "SELE"]);
    t.tmux(&["send-keys", "Tab"]);
    t.tmux(&["send-keys", "-l", " perf"]);
    t.tmux(&["send-keys", "Tab"]);
    t.tmux(&["send-keys", "-l", " FROM followe"]);
    t.tmux(&["send-keys", "Tab"]);
    t.wait_for(from, &["SELECT performances FROM followed_by"]);
    t.tmux(&["send-keys", "C-u"]);

    // The prompt shows what is open.
    let from = t.line_count().saturating_sub(1);
    t.line("SELECT 'an open");
    // Right-aligned under the main prompt: as wide as it, ending in "> " (trimmed here).
    let prompt_width = format!("orientdb {{db={DEMO}}}> ").len();
    let open = |c: char| format!("\n{c:>w$}>", w = prompt_width - 2);
    t.wait_for(from, &[&open('\'')]);
    t.line("quote' AS q FROM V WHERE (1 = 1");
    t.wait_for(from, &[&open('(')]);
    t.line(") LIMIT 1;");
    t.wait_for(from, &["1 item(s) found"]);
    let from = t.line_count().saturating_sub(1);
    t.line("EXIT");
    t.wait_for(from, &["console-exit=0"]);
    drop(server);
}
