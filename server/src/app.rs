//! The node: settings, home lock, users, databases and the HTTP server, from start to a
//! clean stop.
//!
//! Start: resolve settings (first run: lay out the home, choose the node name), lock the
//! home (a second server on it is refused, naming the running PID), load users (first run:
//! the root user), open every database, create the demo, listen. Stop (SIGTERM/SIGINT):
//! stop accepting, let requests in flight finish (their commits complete), checkpoint and
//! close every database, release the home.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use basalt_engine::Options;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::config::{self, Args, Settings};
use crate::metrics::ServerMetrics;
use crate::registry::Registry;
use crate::users::{generate_password, Role, Users};

/// The lock file in the home directory (holds the running server's PID).
pub const LOCK_FILE: &str = "basalt.lock";
/// How often the background loop looks for databases to checkpoint.
const CHECKPOINT_POLL: Duration = Duration::from_millis(500);
/// How long requests in flight may take to finish at shutdown.
const DRAIN: Duration = Duration::from_secs(30);

/// Everything a request handler can reach.
#[derive(Debug)]
pub struct App {
    /// Resolved settings.
    pub settings: Settings,
    /// The databases.
    pub registry: Registry,
    /// The users.
    pub users: Arc<Users>,
    /// Server counters.
    pub metrics: ServerMetrics,
    /// When the server started.
    pub started: Instant,
    /// The HTTP address actually bound.
    pub http_addr: SocketAddr,
    /// The cluster membership (`None`: standalone, no cluster secret).
    pub cluster: Option<crate::cluster::ClusterNode>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// Another server runs on this home.
    #[error("another basalt-server (PID {pid}) is running with home {home}; stop it first or use another --home")]
    Locked {
        /// Its PID.
        pid: String,
        /// The home.
        home: PathBuf,
    },
    /// Anything else, with its message.
    #[error("{0}")]
    Other(String),
}

/// Holds the home's lock file for the life of the server.
#[derive(Debug)]
pub struct HomeLock {
    /// The locked file (the lock is released when it closes).
    _file: File,
}

/// Locks the home and writes our PID into the lock file.
pub fn lock_home(home: &Path) -> Result<HomeLock, StartError> {
    let path = home.join(LOCK_FILE);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| StartError::Other(format!("{}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = if pid.trim().is_empty() { "unknown".to_string() } else { pid.trim().to_string() };
            return Err(StartError::Locked { pid, home: home.to_path_buf() });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(StartError::Other(format!("{}: {e}", path.display()))),
    }
    let write = |f: &mut File| -> std::io::Result<()> {
        f.set_len(0)?;
        f.rewind()?;
        writeln!(f, "{}", std::process::id())?;
        f.sync_all()
    };
    write(&mut file).map_err(|e| StartError::Other(format!("{}: {e}", path.display())))?;
    Ok(HomeLock { _file: file })
}

pub use crate::logging::init_logging;

/// The file the generated root password is written to under systemd, under
/// `<home>/config/`.
pub const ROOT_PASSWORD_FILE: &str = "root-password";

/// First run: the root user, with `BASALT_ROOT_PASSWORD` or a generated password shown
/// once. Under systemd (stdout is the journal) the generated password is never printed: it
/// goes to `<home>/config/root-password`, mode 0600, and the log says only where it is.
fn ensure_root(users: &Users, settings: &Settings) -> Result<(), StartError> {
    if !users.is_empty() {
        return Ok(());
    }
    let (password, generated) = match std::env::var("BASALT_ROOT_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (generate_password(), true),
    };
    let set_root = |password: &str| {
        users.set("root", password, Role::Admin).map_err(|e| {
            let source = if generated { "the generated root password" } else { "BASALT_ROOT_PASSWORD" };
            StartError::Other(format!("{source}: {e}"))
        })
    };
    if generated && crate::systemd::output_goes_to_journal() {
        let path = settings.home.join("config").join(ROOT_PASSWORD_FILE);
        write_private(&path, &format!("{password}\n"))
            .map_err(|e| StartError::Other(format!("writing the root password to {}: {e}", path.display())))?;
        set_root(&password)?;
        info!(
            path = %path.display(),
            "root user created with a generated password, written to {} (mode 0600, readable only by this \
             service's user; it is not in the journal). Read it, store it elsewhere, then delete the file",
            path.display()
        );
        return Ok(());
    }
    set_root(&password)?;
    if generated {
        let mut fields = serde_json::Map::new();
        fields.insert("user".into(), "root".into());
        fields.insert("password".into(), password.clone().into());
        crate::logging::screen(
            settings.log_format,
            &format!("Generated the password of user 'root' (shown only this once; stored hashed): {password}"),
            "generated the password of user 'root' (shown only this once; stored hashed)",
            fields,
        );
        info!("root user created with a generated password (printed on standard output)");
    } else {
        info!("root user created with the password from BASALT_ROOT_PASSWORD");
    }
    Ok(())
}

/// Writes a file only its owner can read (created 0600; an existing one is truncated and
/// set to 0600 before the secret goes in).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// Runs the server until SIGTERM or SIGINT. Returns the process exit code.
pub fn run(args: Args) -> i32 {
    let settings = match config::resolve(&args) {
        Ok(s) => s,
        Err(e) => {
            // The log is not set up yet; keep a JSON log JSON (the flag or the environment
            // said so; a bad config file cannot).
            init_logging(args.log_format.unwrap_or_default(), "info");
            error!("basalt-server: {e}");
            return 2;
        }
    };
    init_logging(settings.log_format, &settings.log_level);
    match start(settings) {
        Ok(()) => 0,
        Err(e) => {
            error!("basalt-server: {e}");
            1
        }
    }
}

fn start(mut settings: Settings) -> Result<(), StartError> {
    let _lock = lock_home(&settings.home)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("basalt-http")
        .build()
        .map_err(|e| StartError::Other(format!("starting the runtime: {e}")))?;
    // Watched from here on, before the long start steps (opening databases, loading the
    // demo): a stop asked for meanwhile waits for the step to finish and ends cleanly,
    // instead of the default action killing the process halfway through the demo load.
    let mut signals = {
        let _context = runtime.enter();
        StopSignals::watch()
    };
    let users = Users::load(&settings.home.join("config")).map_err(|e| StartError::Other(e.to_string()))?;
    let users = Arc::new(users.with_min_password_length(settings.limits.min_password_length));
    // The first run is the one that creates the root user. A missing basalt.toml does not
    // tell: the file is written before anything can fail (a bad flag, a stop at the node
    // name prompt), and it may be provisioned before the first start; either way the next
    // start would never have made the demo database.
    let first_run = users.is_empty();
    settings.first_run = first_run;
    info!(
        node = %settings.node_name,
        home = %settings.home.display(),
        first_run,
        role = settings.role.name(),
        version = env!("CARGO_PKG_VERSION"),
        "basalt-server starting"
    );
    // The background loop checkpoints at the configured threshold, off the commit path; a
    // commit only runs one itself (paying its latency) if the loop fell far behind.
    // The WAL is each database's Raft log: openraft purges it after its snapshots, so the
    // engine's own checkpoints must not.
    let options = Options {
        checkpoint_dirty_pages: settings.checkpoint_dirty_pages * 2,
        purge_wal_after_checkpoint: false,
        wal_archive: settings.wal_archive.as_ref().map(|dir| wal_archive_options(dir)),
        ..Options::default()
    };
    let backoff = crate::registry::Backoff {
        initial: Duration::from_millis(settings.limits.reopen_backoff_initial_ms),
        max: Duration::from_millis(settings.limits.reopen_backoff_max_ms),
    };
    let replication = crate::registry::Replication {
        runtime: runtime.handle().clone(),
        node_id: crate::registry::Replication::node_id_of(&settings.node_name),
        address: format!("{}:{}", settings.http_bind, settings.cluster_port),
        ready_within: Duration::from_secs(30),
    };
    let registry = Registry::new(&settings.home, options).with_backoff(backoff).with_replication(replication);
    crate::systemd::notify("STATUS=opening databases (recovery)");
    let failed = registry.open_all().map_err(|e| StartError::Other(e.to_string()))?;
    crate::systemd::notify(&format!(
        "STATUS=recovered: {} databases open, {} failed to open",
        registry.names().len().saturating_sub(failed.len()),
        failed.len()
    ));
    // The demo before the root user: a first start killed while loading it leaves no user,
    // so the next start is a first run again and loads the demo again.
    if first_run && settings.demo {
        if let Err(e) = crate::demo::create_demo(&registry) {
            warn!(error = %e, "the demo database could not be created");
        }
    }
    ensure_root(&users, &settings)?;
    let result = if runtime.block_on(signals.pending()) {
        info!("stop requested while starting: not listening");
        registry.close_all();
        info!("basalt-server stopped");
        Ok(())
    } else {
        runtime.block_on(serve_until_signal(settings, registry, users, signals))
    };
    runtime.shutdown_timeout(Duration::from_secs(5));
    result
}

async fn serve_until_signal(
    settings: Settings,
    registry: Registry,
    users: Arc<Users>,
    mut signals: StopSignals,
) -> Result<(), StartError> {
    let addr = SocketAddr::new(settings.http_bind, settings.http_port);
    let listener =
        TcpListener::bind(addr).await.map_err(|e| StartError::Other(format!("cannot listen on HTTP {addr}: {e}")))?;
    let http_addr = listener.local_addr().map_err(|e| StartError::Other(e.to_string()))?;
    let tls = match &settings.tls {
        Some((cert, key)) => Some(crate::http::tls_acceptor(cert, key).map_err(StartError::Other)?),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    // --- cluster membership (issue 10): bind the cluster port, start discovery and gossip.
    let cluster = crate::cluster::start(&settings, advertised_http(&settings, http_addr))
        .await
        .map_err(|e| StartError::Other(format!("cluster: {e}")))?;
    let app = Arc::new(App {
        settings,
        registry,
        users,
        metrics: ServerMetrics::default(),
        started: Instant::now(),
        http_addr,
        cluster,
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let checkpoints = tokio::spawn(checkpoint_loop(app.clone(), stop_rx.clone()));
    let supervisor = tokio::spawn(crate::registry::supervise(app.clone(), stop_rx.clone()));
    let offline: Vec<String> =
        app.registry.statuses().into_iter().filter(|s| s.offline_reason.is_some()).map(|s| s.name).collect();
    info!(address = %http_addr, %scheme, databases = ?app.registry.names(), offline = ?offline, "listening");
    let server = tokio::spawn(crate::http::serve(app.clone(), listener, tls, stop_rx, DRAIN));
    first_screen(&app, scheme);
    crate::systemd::notify(&format!("READY=1\nSTATUS=serving {scheme}://{http_addr}"));
    signals.recv().await;
    crate::systemd::notify("STOPPING=1\nSTATUS=stopping: finishing requests, checkpointing");
    info!("shutdown requested: finishing requests in flight");
    let _ = stop_tx.send(true);
    let _ = server.await;
    let _ = checkpoints.await;
    let _ = supervisor.await;
    if let Some(cluster) = &app.cluster {
        cluster.stop().await;
    }
    let app2 = app.clone();
    let _ = tokio::task::spawn_blocking(move || app2.registry.close_all()).await;
    info!("basalt-server stopped");
    Ok(())
}

/// This node's HTTP `host:port` as other members show it (the bound address, or the host
/// name when bound to every address).
fn advertised_http(settings: &Settings, http_addr: SocketAddr) -> String {
    if !http_addr.ip().is_unspecified() {
        return http_addr.to_string();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    let host = if host.is_empty() { settings.node_name.clone() } else { host };
    format!("{host}:{}", http_addr.port())
}

/// What to do next: how to open a loopback-only server up, and on the first run the console
/// and curl commands and the docs; then the ready line scripts wait for (`basalt-server
/// ready: URL`). Never a password.
fn first_screen(app: &App, scheme: &str) {
    let url = format!("{scheme}://{}", app.http_addr);
    let format = app.settings.log_format;
    let fields = |pairs: &[(&str, String)]| pairs.iter().map(|(k, v)| (k.to_string(), v.clone().into())).collect();
    if app.http_addr.ip().is_loopback() {
        let hint = "HTTP listens on this machine only; to serve other machines start with --http-bind 0.0.0.0 \
                    (or BASALT_HTTP_BIND, or bind under [http] in config/basalt.toml), with HTTPS (README, \"TLS\")";
        crate::logging::screen(format, &format!("{hint}."), hint, fields(&[("bind", app.http_addr.ip().to_string())]));
    }
    if app.settings.first_run {
        let db = app.registry.names().into_iter().next().unwrap_or_else(|| "DB".into());
        let host = if app.http_addr.ip().is_unspecified() {
            format!("localhost:{}", app.http_addr.port())
        } else {
            app.http_addr.to_string()
        };
        let console = format!("basalt --server {host} --user root --password PASSWORD --db {db}");
        let curl = format!("curl -u root:PASSWORD '{scheme}://{host}/query/{db}/sql/select%20from%20V/5'");
        let probe = format!("curl {scheme}://{host}/ready");
        let docs = "README.md: \"Using it\", \"Running as a service\"".to_string();
        let text =
            format!("Next steps:\n  console: {console}\n  query:   {curl}\n  probe:   {probe}\n  docs:    {docs}");
        let pairs = [("console", console), ("query", curl), ("probe", probe), ("docs", docs)];
        crate::logging::screen(format, &text, "next steps", fields(&pairs));
    }
    // Last: once a script sees it, the whole screen has been written.
    crate::logging::screen(
        format,
        &format!("basalt-server ready: {url}"),
        "basalt-server ready",
        fields(&[("url", url.clone())]),
    );
}

/// SIGTERM and SIGINT, the requests to stop.
struct StopSignals {
    /// SIGTERM (None if it could not be watched).
    term: Option<tokio::signal::unix::Signal>,
    /// SIGINT (None if it could not be watched).
    int: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    /// Starts watching both (inside the runtime's context). From here on they no longer kill
    /// the process; they are delivered to [`recv`](Self::recv).
    fn watch() -> StopSignals {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate()).map_err(|e| warn!(error = %e, "cannot watch SIGTERM")).ok();
        let int = signal(SignalKind::interrupt()).map_err(|e| warn!(error = %e, "cannot watch SIGINT")).ok();
        StopSignals { term, int }
    }

    /// Waits for either signal (forever if neither could be watched) and logs which came.
    async fn recv(&mut self) {
        async fn one(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        let StopSignals { term, int } = self;
        tokio::select! {
            _ = one(term) => info!("SIGTERM received"),
            _ = one(int) => info!("SIGINT received"),
        }
    }

    /// True if a signal came since [`watch`](Self::watch) (without waiting).
    async fn pending(&mut self) -> bool {
        tokio::select! {
            biased;
            _ = self.recv() => true,
            _ = std::future::ready(()) => false,
        }
    }
}

/// Checkpoints a database once it has `checkpoint_dirty_pages` dirty pages, or any at all
/// and `checkpoint_interval_s` passed since its last checkpoint.
async fn checkpoint_loop(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let interval = Duration::from_secs(app.settings.checkpoint_interval_s.max(1));
    let threshold = app.settings.checkpoint_dirty_pages as u64;
    let mut last: std::collections::HashMap<String, Instant> = std::collections::HashMap::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(CHECKPOINT_POLL) => {}
            _ = stop.changed() => return,
        }
        for h in app.registry.all() {
            let dirty = h.db.stats().dirty_pages;
            let since = last.entry(h.name.clone()).or_insert_with(Instant::now).elapsed();
            if dirty == 0 || (dirty < threshold && since < interval) {
                continue;
            }
            let name = h.name.clone();
            let started = Instant::now();
            let h2 = h.clone();
            let res = tokio::task::spawn_blocking(move || h2.db.checkpoint()).await;
            h.metrics.checkpoint_latency.observe(started.elapsed());
            last.insert(name.clone(), Instant::now());
            let ms = started.elapsed().as_millis() as u64;
            match res {
                Ok(Ok(lsn)) => tracing::debug!(database = %name, lsn = lsn.0, dirty_pages = dirty, ms, "checkpoint"),
                Ok(Err(e)) => {
                    h.metrics.checkpoint_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    error!(database = %name, error = %e, ms, "checkpoint failed; database OFFLINE on this node")
                }
                Err(e) => {
                    h.metrics.checkpoint_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    error!(database = %name, error = %e, "checkpoint task failed")
                }
            }
        }
    }
}

/// `[wal] archive`: where the WAL of each database is archived, and the hook that logs each
/// copy (info) and each failure (error: the segment is kept and the copy retried).
fn wal_archive_options(dir: &std::path::Path) -> basalt_wal::ArchiveOptions {
    let hook: basalt_wal::ArchiveHook = Arc::new(|event: &basalt_wal::ArchiveEvent| match event {
        basalt_wal::ArchiveEvent::Archived { path, first_lsn, last_lsn, bytes } => {
            info!(path = %path.display(), first_lsn = first_lsn.0, last_lsn = last_lsn.0, bytes, "WAL segment archived")
        }
        basalt_wal::ArchiveEvent::Failed { first_lsn, error, retry_in_ms } => tracing::error!(
            first_lsn = first_lsn.0,
            error = %error,
            retry_in_ms,
            "WAL ARCHIVE FAILED: the segment is kept (not purged) and the copy retried; fix the archive directory"
        ),
        other => info!(event = ?other, "WAL archive"),
    });
    basalt_wal::ArchiveOptions { hook: Some(hook), ..basalt_wal::ArchiveOptions::new(dir) }
}
