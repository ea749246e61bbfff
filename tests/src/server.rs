//! Runs the real `basalt-server` binary for process tests, and talks HTTP to it.
//!
//! **Which binary.** Cargo hands `CARGO_BIN_EXE_<name>` only to the tests of the package
//! that owns the binary, so the tests here find `basalt-server` beside their own executable
//! (`<target-dir>/<profile>/basalt-server`). To never run a stale binary, the first
//! [`server_binary`] call in a test process runs `cargo build -p basalt-server --bin
//! basalt-server` for the same target dir and profile (a no-op taking well under a second
//! when `cargo test --workspace` has just built every binary; a real build when only
//! `cargo test -p basalt-tests` ran). `BASALT_SERVER_BIN=/path/to/basalt-server` skips the
//! build and runs that binary instead (a release build, say). The build gets the
//! environment minus what cargo sets for test processes: build scripts track some of those
//! variables, and passing them on made every nested build rebuild ring and rustls.
//!
//! **Starting.** [`ServerProcess::start`] spawns the server with stdin from `/dev/null` (no
//! terminal), every inherited `BASALT_*` variable removed, and — unless the arguments say
//! otherwise — `--http-port 0 --http-bind 127.0.0.1`. It reads stdout on a thread and waits
//! (with a deadline, no sleeping) for the one line `basalt-server ready: <scheme>://ADDR:PORT`,
//! which is how a test learns its port without racing anyone for it. stderr (the log) is
//! captured for failure messages. The child is SIGKILLed on drop, so a failing test leaves
//! no server behind.
//!
//! **Talking.** [`Client`] is ureq with HTTP Basic auth that returns every status (4xx and
//! 5xx included) as a [`Reply`] with the body, and fails only when no HTTP answer came.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The line prefix the server prints on stdout once it listens.
pub const READY_PREFIX: &str = "basalt-server ready: ";
/// The line prefix of the generated root password on stdout (first run only).
pub const PASSWORD_PREFIX: &str = "Generated the password of user 'root' (shown only this once; stored hashed): ";
/// How long a start may take by default (a debug build creating the demo takes ~2 s).
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long [`ServerProcess::terminate`] waits for the process to exit.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest time one HTTP request may take before the client gives up.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The `basalt-server` binary to run, built first if needed (see the module doc).
///
/// Panics with cargo's output when the build fails.
pub fn server_binary() -> PathBuf {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BINARY.get_or_init(|| {
        if let Some(p) = std::env::var_os("BASALT_SERVER_BIN") {
            let p = PathBuf::from(p);
            return if p.is_file() { Ok(p) } else { Err(format!("BASALT_SERVER_BIN={} is not a file", p.display())) };
        }
        locate_and_build("basalt-server", "basalt-server")
    }) {
        Ok(p) => p.clone(),
        Err(e) => panic!("cannot get the basalt-server binary: {e}"),
    }
}

/// The `basalt-snapshot` binary (package `basalt-tools`), built first like [`server_binary`].
pub fn snapshot_binary() -> PathBuf {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BINARY.get_or_init(|| locate_and_build("basalt-tools", "basalt-snapshot")) {
        Ok(p) => p.clone(),
        Err(e) => panic!("cannot get the basalt-snapshot binary: {e}"),
    }
}

/// Runs `basalt-snapshot` with `args` (without a `BASALT_PASSWORD` from the environment).
pub fn run_snapshot(args: &[&str]) -> std::process::Output {
    Command::new(snapshot_binary()).args(args).env_remove("BASALT_PASSWORD").output().expect("run basalt-snapshot")
}

/// A `basalt-snapshot` run that must succeed: its standard output.
pub fn snapshot_ok(out: std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "basalt-snapshot failed: {}\n{text}", String::from_utf8_lossy(&out.stderr));
    text
}

/// A `basalt-snapshot` run that must be refused: its standard error.
pub fn snapshot_refused(out: std::process::Output) -> String {
    assert!(!out.status.success(), "basalt-snapshot succeeded: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `basalt-import` binary (package `basalt-tools`), built first like [`server_binary`].
pub fn import_binary() -> PathBuf {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BINARY.get_or_init(|| locate_and_build("basalt-tools", "basalt-import")) {
        Ok(p) => p.clone(),
        Err(e) => panic!("cannot get the basalt-import binary: {e}"),
    }
}

/// The console binary `basalt` (package `basalt-tools`), built first like [`server_binary`].
pub fn console_binary() -> PathBuf {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BINARY.get_or_init(|| locate_and_build("basalt-tools", "basalt")) {
        Ok(p) => p.clone(),
        Err(e) => panic!("cannot get the basalt console binary: {e}"),
    }
}

/// Builds binary `bin` of workspace package `package` for this test's target dir and
/// profile, and returns its path.
fn locate_and_build(package: &str, bin: &str) -> Result<PathBuf, String> {
    // <target-dir>/<profile>/deps/<test-binary>
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("{} is not in <target>/<profile>/deps/", exe.display()))?;
    let mut target_dir = profile_dir.parent().ok_or("the profile directory has no parent")?;
    // With `--target TRIPLE` the layout is <target-dir>/<triple>/<profile>/deps/; cargo
    // marks the real target dir with CACHEDIR.TAG.
    let mut triple = None;
    if !target_dir.join("CACHEDIR.TAG").exists() {
        if let Some(parent) = target_dir.parent().filter(|p| p.join("CACHEDIR.TAG").exists()) {
            triple = target_dir.file_name().map(|t| t.to_os_string());
            target_dir = parent;
        }
    }
    let profile = profile_dir.file_name().and_then(|n| n.to_str()).ok_or("the profile directory has no name")?;
    let binary = profile_dir.join(bin);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("the tests crate has no parent")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    // Drop what cargo set for this test process: build scripts track some of these
    // variables (ring's tracks CARGO_MANIFEST_DIR), so passing them on would make this
    // build and the next plain `cargo build` each rebuild half the dependency tree.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        let set_by_cargo_for_tests = ["CARGO_MANIFEST_", "CARGO_PKG_", "CARGO_BIN_", "CARGO_CRATE_", "CARGO_PRIMARY_"]
            .iter()
            .any(|p| k.starts_with(p))
            || ["CARGO_TARGET_TMPDIR", "CARGO_RUSTC_CURRENT_DIR", "OUT_DIR"].contains(&k.as_ref());
        if set_by_cargo_for_tests {
            cmd.env_remove(k.as_ref());
        }
    }
    cmd.current_dir(workspace).args(["build", "--quiet", "-p", package, "--bin", bin, "--target-dir"]).arg(target_dir);
    if let Some(t) = &triple {
        cmd.arg("--target").arg(t);
    }
    match profile {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("running cargo build: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo build -p {package} --bin {bin} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    if !binary.is_file() {
        return Err(format!("cargo built {bin}, but {} does not exist", binary.display()));
    }
    Ok(binary)
}

/// What stdin the server gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StdinMode {
    /// `/dev/null`: no terminal (the default).
    Null,
    /// A pipe that gets this text right after the spawn and then stays open (not a
    /// terminal; through `script` it becomes terminal input).
    Text(String),
}

/// How to launch a server: the home, flags, environment.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The program (default: [`server_binary`]).
    pub program: Option<PathBuf>,
    /// `--home` given as a flag (None: the test sets it some other way, e.g. `BASALT_HOME`).
    pub home: Option<PathBuf>,
    /// Extra flags.
    pub args: Vec<String>,
    /// Extra environment (every inherited `BASALT_*` variable is removed first).
    pub env: Vec<(String, String)>,
    /// Add `--http-port 0 --http-bind 127.0.0.1` unless the flags or environment set them.
    pub free_port: bool,
    /// stdin.
    pub stdin: StdinMode,
    /// The working directory (default: the test's).
    pub cwd: Option<PathBuf>,
    /// How long to wait for the ready line.
    pub ready_timeout: Duration,
    /// Start it in a process group of its own and signal the whole group (for a shell or
    /// `cargo run` wrapping the server).
    pub own_group: bool,
}

impl Launch {
    /// A server on `home` with the defaults.
    pub fn new(home: &Path) -> Launch {
        Launch {
            program: None,
            home: Some(home.to_path_buf()),
            args: Vec::new(),
            env: Vec::new(),
            free_port: true,
            stdin: StdinMode::Null,
            cwd: None,
            ready_timeout: READY_TIMEOUT,
            own_group: false,
        }
    }

    /// Adds flags.
    pub fn args<S: AsRef<str>>(mut self, args: &[S]) -> Launch {
        self.args.extend(args.iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Launch {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    fn has_flag(&self, flag: &str) -> bool {
        self.args.iter().any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    }

    fn has_env(&self, key: &str) -> bool {
        self.env.iter().any(|(k, _)| k == key)
    }

    fn command(&self) -> Command {
        let program = self.program.clone().unwrap_or_else(server_binary);
        let mut cmd = Command::new(program);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("BASALT_") {
                cmd.env_remove(k);
            }
        }
        if let Some(home) = &self.home {
            cmd.arg("--home").arg(home);
        }
        if self.free_port {
            if !self.has_flag("--http-port") && !self.has_env("BASALT_HTTP_PORT") {
                cmd.args(["--http-port", "0"]);
            }
            if !self.has_flag("--http-bind") && !self.has_env("BASALT_HTTP_BIND") {
                cmd.args(["--http-bind", "127.0.0.1"]);
            }
        }
        cmd.args(&self.args);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        cmd.stdin(match self.stdin {
            StdinMode::Null => Stdio::null(),
            StdinMode::Text(_) => Stdio::piped(),
        });
        if self.own_group {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd
    }

    /// Starts the server and waits for its ready line; panics (with its log) if it does not
    /// come.
    pub fn start(self) -> ServerProcess {
        match self.try_start() {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    /// Starts the server and waits for its ready line; on failure says why, with the exit
    /// status and the log.
    pub fn try_start(self) -> Result<ServerProcess, StartFailure> {
        self.spawn()?.ready()
    }

    /// Spawns the server without waiting for it to get ready (to signal it while it starts,
    /// say); [`Starting::ready`] waits.
    pub fn spawn(self) -> Result<Starting, StartFailure> {
        let password_env = self.env.iter().find(|(k, _)| k == "BASALT_ROOT_PASSWORD").map(|(_, v)| v.clone());
        let mut child = self.command().spawn().map_err(|e| StartFailure {
            status: None,
            stdout: Vec::new(),
            stderr: format!("spawning basalt-server: {e}"),
        })?;
        let out = Output::capture(&mut child);
        let mut stdin = child.stdin.take();
        if let (Some(pipe), StdinMode::Text(text)) = (stdin.as_mut(), &self.stdin) {
            use std::io::Write;
            let _ = pipe.write_all(text.as_bytes()).and_then(|()| pipe.flush());
        }
        let proc = Proc { child, out, stdin, own_group: self.own_group, exited: None };
        Ok(Starting { proc, home: self.home, password_env, ready_timeout: self.ready_timeout })
    }
}

/// A spawned server that has not printed its ready line yet (SIGKILLed when dropped).
#[derive(Debug)]
pub struct Starting {
    /// The process.
    proc: Proc,
    /// The home given with `--home`.
    home: Option<PathBuf>,
    /// `BASALT_ROOT_PASSWORD` as the launch set it.
    password_env: Option<String>,
    /// How long to wait for the ready line.
    ready_timeout: Duration,
}

impl Starting {
    /// The process, to signal it or read its output while it starts.
    pub fn process(&mut self) -> &mut Proc {
        &mut self.proc
    }

    /// Waits for the ready line; on failure says why, with the exit status and the log.
    pub fn ready(mut self) -> Result<ServerProcess, StartFailure> {
        let deadline = Instant::now() + self.ready_timeout;
        let ready = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.proc.out.lines_rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix(READY_PREFIX) {
                        break Ok(url.to_string());
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    break Err(format!("no ready line within {:?}", self.ready_timeout))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break Err("stdout closed before the ready line".into()),
            }
        };
        let parsed = ready.and_then(|url| parse_ready_url(&url).ok_or(format!("cannot parse the address in {url:?}")));
        let (scheme, addr) = match parsed {
            Ok(x) => x,
            Err(why) => {
                // The server exits on its own when it refuses to start; a hung one is killed.
                self.proc.stdin = None;
                let status = self.proc.wait_exit(Duration::from_secs(5)).unwrap_or_else(|| self.proc.kill());
                return Err(StartFailure {
                    status: Some(status),
                    stdout: self.proc.stdout_lines(),
                    stderr: format!("{why}\n{}", self.proc.stderr()),
                });
            }
        };
        let generated =
            self.proc.stdout_lines().iter().find_map(|l| l.strip_prefix(PASSWORD_PREFIX).map(str::to_string));
        let root_password = self.password_env.or_else(|| generated.clone());
        Ok(ServerProcess {
            proc: self.proc,
            home: self.home,
            scheme,
            addr,
            root_password,
            generated_password: generated,
            tls_root_pem: None,
        })
    }
}

/// Parses `http://0.0.0.0:1234` into the scheme and an address to connect to (a wildcard
/// bind address becomes 127.0.0.1).
fn parse_ready_url(url: &str) -> Option<(String, SocketAddr)> {
    let (scheme, rest) = url.split_once("://")?;
    let mut addr: SocketAddr = rest.trim().parse().ok()?;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::IpAddr::from([127, 0, 0, 1]));
    }
    Some((scheme.to_string(), addr))
}

/// SIGKILLs a child (and its process group if it has its own).
fn kill_child(child: &mut Child, own_group: bool) {
    if own_group {
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
    }
    let _ = child.kill();
}

/// Waits for a child to exit, up to `timeout`.
fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => return None,
        }
    }
}

/// Why a server did not get ready.
#[derive(Debug)]
pub struct StartFailure {
    /// Its exit status, if it exited.
    pub status: Option<ExitStatus>,
    /// What it printed on stdout.
    pub stdout: Vec<String>,
    /// What it printed on stderr, after a line saying what the harness saw.
    pub stderr: String,
}

impl std::fmt::Display for StartFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "basalt-server did not get ready (exit status: {:?})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            self.stdout.join("\n"),
            self.stderr
        )
    }
}

/// The reader threads of a child's stdout and stderr.
#[derive(Debug)]
struct Output {
    /// Every stdout line so far.
    stdout: Arc<Mutex<Vec<String>>>,
    /// stderr so far.
    stderr: Arc<Mutex<String>>,
    /// stdout lines as they come (for the ready line).
    lines_rx: mpsc::Receiver<String>,
    /// The reader threads (joined once the child has exited).
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Output {
    fn capture(child: &mut Child) -> Output {
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, lines_rx) = mpsc::channel();
        let mut threads = Vec::new();
        if let Some(pipe) = child.stdout.take() {
            let lines = stdout.clone();
            threads.push(std::thread::spawn(move || {
                let mut reader = BufReader::new(pipe);
                let mut line = String::new();
                while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
                    let l = line.trim_end_matches(['\n', '\r']).to_string();
                    lock(&lines).push(l.clone());
                    let _ = tx.send(l);
                    line.clear();
                }
            }));
        }
        if let Some(mut pipe) = child.stderr.take() {
            let text = stderr.clone();
            threads.push(std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    lock(&text).push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }));
        }
        Output { stdout, stderr, lines_rx, threads: Mutex::new(threads) }
    }

    fn stdout_lines(&self) -> Vec<String> {
        lock(&self.stdout).clone()
    }

    fn stderr_text(&self) -> String {
        lock(&self.stderr).clone()
    }

    /// Waits for the pipes to close (call once the child has exited).
    fn join(&self) {
        for t in std::mem::take(&mut *lock(&self.threads)) {
            let _ = t.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A child process with its output captured (SIGKILLed when dropped).
#[derive(Debug)]
pub struct Proc {
    /// The process.
    child: Child,
    /// Its output.
    out: Output,
    /// Its stdin, kept open while it runs (when the launch gave it text).
    stdin: Option<std::process::ChildStdin>,
    /// It runs in a process group of its own: signals go to the group.
    own_group: bool,
    /// The exit status, once it exited.
    exited: Option<ExitStatus>,
}

impl Proc {
    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every stdout line so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.out.stdout_lines()
    }

    /// The log (stderr) so far.
    pub fn stderr(&self) -> String {
        self.out.stderr_text()
    }

    /// Waits until the log contains `needle`; false after `timeout`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.stderr().contains(needle))
    }

    /// SIGKILL, then waits for the exit. The pipes are drained, so [`stderr`](Self::stderr)
    /// is complete afterwards.
    pub fn kill(&mut self) -> ExitStatus {
        if let Some(s) = self.exited {
            return s;
        }
        kill_child(&mut self.child, self.own_group);
        let status = self.child.wait().unwrap_or_else(|e| panic!("waiting for the child: {e}"));
        self.out.join();
        self.exited = Some(status);
        status
    }

    /// Waits up to `timeout` for the process to exit by itself (None: still running).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if let Some(s) = self.exited {
            return Some(s);
        }
        let status = wait_timeout(&mut self.child, timeout)?;
        self.out.join();
        self.exited = Some(status);
        Some(status)
    }

    /// Sends `signal` (a name `kill` knows: TERM, INT, ...) without waiting.
    pub fn signal(&self, signal: &str) {
        let target = if self.own_group { format!("-{}", self.pid()) } else { self.pid().to_string() };
        let status = Command::new("kill")
            .args([format!("-{signal}"), "--".to_string(), target])
            .status()
            .unwrap_or_else(|e| panic!("running kill: {e}"));
        assert!(status.success(), "kill -{signal} {} failed: {status}", self.pid());
    }

    /// Sends `signal` and waits (up to `timeout`) for the exit; panics with the log if the
    /// process does not exit in time (it is SIGKILLed first).
    pub fn signal_and_wait(&mut self, signal: &str, timeout: Duration) -> ExitStatus {
        if let Some(s) = self.exited {
            return s;
        }
        self.signal(signal);
        match self.wait_exit(timeout) {
            Some(status) => status,
            None => {
                self.kill();
                panic!("the process did not exit within {timeout:?} of SIG{signal}; its log:\n{}", self.stderr());
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exited.is_none() {
            kill_child(&mut self.child, self.own_group);
            let _ = self.child.wait();
        }
    }
}

/// A running `basalt-server` (SIGKILLed when dropped).
#[derive(Debug)]
pub struct ServerProcess {
    /// The process.
    proc: Proc,
    /// The home given with `--home`.
    home: Option<PathBuf>,
    /// `http` or `https`.
    scheme: String,
    /// The address to connect to.
    addr: SocketAddr,
    /// The root password: `BASALT_ROOT_PASSWORD` if the launch set it, else the generated one.
    root_password: Option<String>,
    /// The password the server printed, if it printed one.
    generated_password: Option<String>,
    /// The certificate clients trust (HTTPS).
    tls_root_pem: Option<Vec<u8>>,
}

impl ServerProcess {
    /// Starts `basalt-server --home HOME ARGS` with `env`, on a free port, and waits until it
    /// is ready (see [`Launch`] for the details and more options).
    pub fn start(home: &Path, args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        let mut launch = Launch::new(home).args(args);
        for (k, v) in env {
            launch = launch.env(k, v);
        }
        launch.start()
    }

    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// The home it was given with `--home`.
    pub fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }

    /// The address it listens on (127.0.0.1 for a wildcard bind).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (or `https://localhost:PORT`: certificates name hosts).
    pub fn base_url(&self) -> String {
        if self.scheme == "https" {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("{}://{}", self.scheme, self.addr)
        }
    }

    /// `http` or `https`, from the ready line.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The root password the harness knows (from the launch's `BASALT_ROOT_PASSWORD`, or as
    /// the server printed it).
    pub fn root_password(&self) -> Option<&str> {
        self.root_password.as_deref()
    }

    /// Tells the harness the root password (for a restart, where nothing prints it).
    pub fn set_root_password(&mut self, password: &str) {
        self.root_password = Some(password.to_string());
    }

    /// The password the server printed on stdout, if it printed one.
    pub fn generated_password(&self) -> Option<&str> {
        self.generated_password.as_deref()
    }

    /// Makes [`client`](Self::client) trust this PEM certificate (HTTPS).
    pub fn trust_pem(&mut self, pem: &[u8]) {
        self.tls_root_pem = Some(pem.to_vec());
    }

    /// A client logged in as root.
    pub fn client(&self) -> Client {
        let c = self.anonymous();
        match &self.root_password {
            Some(p) => c.login("root", p),
            None => panic!("the root password is not known to the harness; call set_root_password"),
        }
    }

    /// A client without credentials.
    pub fn anonymous(&self) -> Client {
        match &self.tls_root_pem {
            Some(pem) => Client::with_tls_root(&self.base_url(), pem),
            None => Client::new(&self.base_url()),
        }
    }

    /// Every stdout line so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.proc.stdout_lines()
    }

    /// The log (stderr) so far.
    pub fn stderr(&self) -> String {
        self.proc.stderr()
    }

    /// Waits until the log contains `needle`; false after `timeout`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        self.proc.wait_for_log(needle, timeout)
    }

    /// SIGKILL, then waits for the exit (the log is complete afterwards).
    pub fn kill(&mut self) -> ExitStatus {
        self.proc.kill()
    }

    /// SIGTERM, then waits (up to [`EXIT_TIMEOUT`]) for the exit; panics with the log if the
    /// server does not exit in time (it is SIGKILLed first).
    pub fn terminate(&mut self) -> ExitStatus {
        self.proc.signal_and_wait("TERM", EXIT_TIMEOUT)
    }

    /// Sends `signal` (a name `kill` knows: TERM, INT, ...) and waits for the exit.
    pub fn signal_and_wait(&mut self, signal: &str, timeout: Duration) -> ExitStatus {
        self.proc.signal_and_wait(signal, timeout)
    }

    /// Waits up to `timeout` for the process to exit by itself (None: still running).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.proc.wait_exit(timeout)
    }

    /// Sends `signal` without waiting.
    pub fn signal(&self, signal: &str) {
        self.proc.signal(signal)
    }
}

/// An HTTP answer: status, headers and body, whatever the status.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Headers (names in lower case).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics (showing the body) if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("status {}: body is not JSON ({e}): {}", self.status, self.text()))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Asserts the status and that the body is OrientDB's error envelope with that code;
    /// returns the envelope's `content`.
    pub fn assert_error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "expected status {status}, got {}: {}", self.status, self.text());
        let j = self.json();
        let errors = j["errors"].as_array().unwrap_or_else(|| panic!("no \"errors\" array: {j}"));
        assert_eq!(errors.len(), 1, "{j}");
        assert_eq!(errors[0]["code"], Value::from(status), "{j}");
        let reason = errors[0]["reason"].as_str().unwrap_or_else(|| panic!("no reason: {j}"));
        assert!(!reason.is_empty(), "{j}");
        let content = errors[0]["content"].as_str().unwrap_or_else(|| panic!("no content: {j}"));
        assert!(!content.is_empty(), "{j}");
        content.to_string()
    }

    /// Asserts a 2xx status; returns the body as JSON (Null for an empty body).
    pub fn ok_json(&self) -> Value {
        assert!((200..300).contains(&self.status), "expected 2xx, got {}: {}", self.status, self.text());
        if self.body.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }
}

/// A small HTTP client for the server's API.
#[derive(Debug, Clone)]
pub struct Client {
    /// The connection pool.
    agent: ureq::Agent,
    /// `http://host:port`.
    base: String,
    /// The `Authorization` header value, if logged in.
    auth: Option<String>,
}

fn agent_config() -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .max_idle_connections_per_host(16)
}

impl Client {
    /// A client of `base` (e.g. `http://127.0.0.1:2480`) without credentials.
    pub fn new(base: &str) -> Client {
        Client { agent: agent_config().build().into(), base: base.trim_end_matches('/').to_string(), auth: None }
    }

    /// A client of an HTTPS `base` that trusts only the given PEM certificate.
    pub fn with_tls_root(base: &str, pem: &[u8]) -> Client {
        let cert = ureq::tls::Certificate::from_pem(pem).unwrap_or_else(|e| panic!("bad PEM certificate: {e}"));
        let tls =
            ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![cert]))).build();
        Client {
            agent: agent_config().tls_config(tls).build().into(),
            base: base.trim_end_matches('/').to_string(),
            auth: None,
        }
    }

    /// The same server, as `user`.
    pub fn login(&self, user: &str, password: &str) -> Client {
        let token = basalt_engine::json::base64_encode(format!("{user}:{password}").as_bytes());
        Client { auth: Some(format!("Basic {token}")), ..self.clone() }
    }

    /// The same server, without credentials.
    pub fn logout(&self) -> Client {
        Client { auth: None, ..self.clone() }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends a request; `Err` only when no HTTP answer came (refused, reset, timeout, TLS).
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        body: Option<(&[u8], &str)>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, String> {
        let mut req = ureq::http::Request::builder().method(method).uri(format!("{}{path}", self.base));
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        if let Some((_, ct)) = body {
            req = req.header("Content-Type", ct);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let bytes = body.map(|(b, _)| b.to_vec()).unwrap_or_default();
        let req = req.body(bytes).map_err(|e| format!("building {method} {path}: {e}"))?;
        let resp = self.agent.run(req).map_err(|e| format!("{method} {path}: {e}"))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = if method == "HEAD" {
            Vec::new()
        } else {
            resp.into_body()
                .into_with_config()
                .limit(256 << 20)
                .read_to_vec()
                .map_err(|e| format!("{method} {path}: reading the body: {e}"))?
        };
        Ok(Reply { status, headers, body })
    }

    /// Sends a request; panics if no HTTP answer came.
    pub fn request(&self, method: &str, path: &str, body: Option<(&[u8], &str)>) -> Reply {
        self.try_request(method, path, body, &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    /// GET.
    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, None)
    }

    /// HEAD.
    pub fn head(&self, path: &str) -> Reply {
        self.request("HEAD", path, None)
    }

    /// DELETE.
    pub fn delete(&self, path: &str) -> Reply {
        self.request("DELETE", path, None)
    }

    /// POST without a body.
    pub fn post_empty(&self, path: &str) -> Reply {
        self.request("POST", path, None)
    }

    /// POST a JSON body.
    pub fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.request("POST", path, Some((body.to_string().as_bytes(), "application/json")))
    }

    /// PUT a JSON body.
    pub fn put_json(&self, path: &str, body: &Value) -> Reply {
        self.request("PUT", path, Some((body.to_string().as_bytes(), "application/json")))
    }

    /// PATCH a JSON body.
    pub fn patch_json(&self, path: &str, body: &Value) -> Reply {
        self.request("PATCH", path, Some((body.to_string().as_bytes(), "application/json")))
    }

    /// Sends raw bytes with a content type.
    pub fn send_raw(&self, method: &str, path: &str, body: &[u8], content_type: &str) -> Reply {
        self.request(method, path, Some((body, content_type)))
    }
}

/// Writes `<home>/config/basalt.toml` before the server's first start (the server keeps a
/// config file it finds and only adds the node name to it).
pub fn write_config(home: &Path, text: &str) {
    let dir = home.join("config");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let path = dir.join("basalt.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Waits until `cond` holds, checking every few milliseconds; false after `timeout`.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Percent-encodes a URL path segment (for SQL in `/query/{db}/sql/{text}`).
pub fn encode_path_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A field of `/proc/PID/status` in kB (`VmHWM`, `VmRSS`, `RssAnon`, ...); panics if the
/// process or the field is missing.
pub fn proc_status_kb(pid: u32, field: &str) -> u64 {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|rest| rest.strip_prefix(':')))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{path} has no {field}"))
}

/// CPU time a process used so far (user + system, from `/proc/PID/stat`), in clock ticks
/// ([`clock_ticks_per_second`] a second).
pub fn cpu_ticks(pid: u32) -> u64 {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or_else(|| panic!("{path}: no ')' in {text}"));
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime field 14, stime field 15.
    let field = |n: usize| -> u64 {
        fields.get(n - 3).and_then(|f| f.parse().ok()).unwrap_or_else(|| panic!("{path}: field {n} in {text}"))
    };
    field(14) + field(15)
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`; 100 if that cannot run).
pub fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(100)
}

/// Samples a process's CPU time over `window` once `settle` has passed: the ticks used in
/// the window (to show that a stopped query no longer uses the CPU).
pub fn cpu_ticks_during(pid: u32, settle: Duration, window: Duration) -> u64 {
    std::thread::sleep(settle);
    let before = cpu_ticks(pid);
    std::thread::sleep(window);
    cpu_ticks(pid) - before
}

/// Watches a process's `/proc/PID/status` field on a thread until [`PeakWatch::stop`]:
/// the highest value seen (for `RssAnon`, which has no high-water mark of its own).
#[derive(Debug)]
pub struct PeakWatch {
    /// Tells the thread to stop.
    stop: Arc<std::sync::atomic::AtomicBool>,
    /// The sampling thread; answers the peak.
    thread: Option<JoinHandle<u64>>,
}

impl PeakWatch {
    /// Samples `field` of `pid` every 10 ms.
    pub fn start(pid: u32, field: &'static str) -> PeakWatch {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(proc_status_kb(pid, field));
                std::thread::sleep(Duration::from_millis(10));
            }
            peak.max(proc_status_kb(pid, field))
        });
        PeakWatch { stop, thread: Some(thread) }
    }

    /// Stops sampling; the peak in kB.
    pub fn stop(mut self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.take().map(|t| t.join().unwrap_or_else(|_| panic!("the sampling thread panicked"))).unwrap_or(0)
    }
}

/// Sends a raw HTTP/1.1 request on a fresh connection and returns the open socket without
/// reading the answer (to hang up on the server mid-request).
pub fn send_raw_request(addr: SocketAddr, head_lines: &[String], body: &[u8]) -> std::net::TcpStream {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    let mut req = String::new();
    for l in head_lines {
        req.push_str(l);
        req.push_str("\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(req.as_bytes()).and_then(|()| s.write_all(body)).unwrap_or_else(|e| panic!("sending: {e}"));
    s
}
