//! The node's settings: command-line flags, `BASALT_*` environment variables and
//! `<home>/config/basalt.toml`, in that order of precedence, with defaults for the rest.
//! Also the first run: laying out the home directory and choosing the node name.

use std::io::{BufRead, IsTerminal, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::Parser;
use serde::Deserialize;

/// The file holding the node's settings, under `<home>/config/`.
pub const CONFIG_FILE: &str = "basalt.toml";
/// The HTTP bind address when neither `--http-bind`, `BASALT_HTTP_BIND` nor `[http] bind`
/// says: loopback, so a new server is reachable from this machine only.
pub const DEFAULT_HTTP_BIND: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
/// The distributed configuration new databases start from, under `<home>/config/`.
pub const DEFAULT_DB_CONFIG_FILE: &str = "default-distributed-db-config.json";

/// `basalt-server`'s command line.
#[derive(Debug, Clone, Parser, Default)]
#[command(
    name = "basalt-server",
    version,
    about = "Basalt: a replicated graph database that speaks OrientDB's SQL and HTTP API.",
    long_about = "Runs one Basalt node. On the first run it lays out its home directory (config/, databases/, \
backup/), chooses a node name, sets the root password (BASALT_ROOT_PASSWORD, or a generated one printed once) \
and creates the GratefulDeadConcerts demo database. Every flag can also be set in <home>/config/basalt.toml.",
    after_help = "Examples:\n  basalt-server                               # ./basalt-home, HTTP on 2480\n  \
BASALT_ROOT_PASSWORD=secret basalt-server --home /var/lib/basalt --node-name n1\n  \
curl -u root:secret 'http://localhost:2480/query/GratefulDeadConcerts/sql/select%20from%20V/5'"
)]
pub struct Args {
    /// Home directory: config/, databases/, backup/.
    #[arg(long, env = "BASALT_HOME", default_value = "./basalt-home")]
    pub home: PathBuf,
    /// This node's name in the cluster (saved in the config after the first run).
    #[arg(long, env = "BASALT_NODE_NAME")]
    pub node_name: Option<String>,
    /// HTTP port [default: 2480].
    #[arg(long, env = "BASALT_HTTP_PORT")]
    pub http_port: Option<u16>,
    /// Address the HTTP port binds to [default: 127.0.0.1, this machine only; 0.0.0.0 serves
    /// every interface].
    #[arg(long, env = "BASALT_HTTP_BIND")]
    pub http_bind: Option<IpAddr>,
    /// Cluster (QUIC) port; the next free one is used if taken [default: 2434].
    #[arg(long, env = "BASALT_CLUSTER_PORT")]
    pub cluster_port: Option<u16>,
    /// Peers to contact first, HOST:PORT,...
    #[arg(long, env = "BASALT_SEEDS", value_delimiter = ',')]
    pub seeds: Option<Vec<String>>,
    /// master (reads and writes, votes) or replica (reads only).
    #[arg(long, env = "BASALT_ROLE")]
    pub role: Option<Role>,
    /// The cluster's name [default: basalt].
    #[arg(long, env = "BASALT_CLUSTER_NAME")]
    pub cluster_name: Option<String>,
    /// The cluster's shared secret.
    #[arg(long, env = "BASALT_CLUSTER_SECRET", hide_env_values = true)]
    pub cluster_secret: Option<String>,
    /// How peers are found: multicast or seeds.
    #[arg(long, env = "BASALT_DISCOVERY")]
    pub discovery: Option<Discovery>,
    /// Log format: text or json.
    #[arg(long, env = "BASALT_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Do not create the GratefulDeadConcerts demo database on the first run.
    #[arg(long)]
    pub no_demo: bool,
}

/// A node's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads and writes; counts toward the write quorum.
    #[default]
    Master,
    /// Serves reads only.
    Replica,
}

impl Role {
    /// OrientDB's name: MASTER or REPLICA.
    pub fn name(self) -> &'static str {
        match self {
            Role::Master => "MASTER",
            Role::Replica => "REPLICA",
        }
    }
}

/// How peers are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Discovery {
    /// UDP multicast on the local network.
    Multicast,
    /// Only the configured seeds.
    #[default]
    Seeds,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The config file's contents (every field optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The node name.
    pub node_name: Option<String>,
    /// `[http]`.
    #[serde(default)]
    pub http: HttpSection,
    /// `[cluster]`.
    #[serde(default)]
    pub cluster: ClusterSection,
    /// `[log]`.
    #[serde(default)]
    pub log: LogSection,
    /// `[storage]`.
    #[serde(default)]
    pub storage: StorageSection,
    /// `[query]`.
    #[serde(default)]
    pub query: QuerySection,
    /// `[limits]`.
    #[serde(default)]
    pub limits: Limits,
    /// `[wal]`.
    #[serde(default)]
    pub wal: WalSection,
}

/// `[wal]` of the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalSection {
    /// Where every sealed WAL segment is copied (`<archive>/<db>/`) before it may be purged,
    /// for point-in-time restores; relative to the home. Unset: no archive.
    pub archive: Option<PathBuf>,
}

/// `[http]` of the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// Port.
    pub port: Option<u16>,
    /// Bind address.
    pub bind: Option<IpAddr>,
    /// PEM certificate chain for HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    pub tls_key: Option<PathBuf>,
    /// Largest request body accepted.
    pub max_body_bytes: Option<usize>,
    /// Requests slower than this are logged.
    pub slow_request_ms: Option<u64>,
    /// Browser origins answered with CORS headers (`"*"`: any).
    pub cors_allowed_origins: Option<Vec<String>>,
}

/// `[cluster]` of the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// Cluster name.
    pub name: Option<String>,
    /// QUIC port.
    pub port: Option<u16>,
    /// Seeds.
    pub seeds: Option<Vec<String>>,
    /// Role.
    pub role: Option<Role>,
    /// Discovery.
    pub discovery: Option<Discovery>,
    /// Shared secret.
    pub secret: Option<String>,
    /// Address the cluster port binds to.
    pub bind: Option<IpAddr>,
    /// A member silent this long is reported unreachable.
    pub unreachable_after_ms: Option<u64>,
    /// Multicast group of `discovery = "multicast"`.
    pub multicast_group: Option<std::net::Ipv4Addr>,
    /// Multicast port.
    pub multicast_port: Option<u16>,
}

/// The cluster's tunables, resolved from `[cluster]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterTuning {
    /// Address the cluster port binds to [default: 0.0.0.0].
    pub bind: IpAddr,
    /// A member silent this long is reported unreachable [default: 3000].
    pub unreachable_after_ms: u64,
    /// Multicast group [default: 235.1.1.1].
    pub multicast_group: std::net::Ipv4Addr,
    /// Multicast port [default: 2434].
    pub multicast_port: u16,
}

impl ClusterSection {
    /// The tunables, checked.
    pub fn tuning(&self, path: &Path) -> Result<ClusterTuning, ConfigError> {
        let t = ClusterTuning {
            bind: self.bind.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
            unreachable_after_ms: self.unreachable_after_ms.unwrap_or(3_000),
            multicast_group: self.multicast_group.unwrap_or(basalt_net::discovery::DEFAULT_GROUP),
            multicast_port: self.multicast_port.unwrap_or(basalt_net::discovery::DEFAULT_PORT),
        };
        if !(200..=600_000).contains(&t.unreachable_after_ms) {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: format!("[cluster] unreachable_after_ms = {} must be 200 to 600000", t.unreachable_after_ms),
            });
        }
        if !t.multicast_group.is_multicast() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: format!("[cluster] multicast_group = {} is not a multicast address", t.multicast_group),
            });
        }
        Ok(t)
    }
}

/// `[log]` of the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// Format.
    pub format: Option<LogFormat>,
    /// Filter, e.g. "info" or "basalt_server=debug,info".
    pub level: Option<String>,
}

/// `[storage]` of the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    /// Checkpoint once this many pages are dirty.
    pub checkpoint_dirty_pages: Option<usize>,
    /// Seconds between background checkpoints.
    pub checkpoint_interval_s: Option<u64>,
}

/// `[query]` of the config file: the limits every query runs under.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuerySection {
    /// Default timeout of a query, in milliseconds (0: none).
    pub timeout_ms: Option<u64>,
    /// Largest timeout a request may ask for (0: any).
    pub max_timeout_ms: Option<u64>,
    /// Default memory budget of a query.
    pub memory_budget_bytes: Option<usize>,
    /// Largest memory budget a request may ask for.
    pub max_memory_budget_bytes: Option<usize>,
}

/// The query limits, resolved from `[query]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuerySettings {
    /// Default timeout, in milliseconds (0: none).
    pub timeout_ms: u64,
    /// Largest timeout a request may ask for (0: any).
    pub max_timeout_ms: u64,
    /// Default memory budget.
    pub memory_budget_bytes: usize,
    /// Largest memory budget a request may ask for.
    pub max_memory_budget_bytes: usize,
}

impl Default for QuerySettings {
    fn default() -> QuerySettings {
        QuerySettings {
            timeout_ms: crate::query::DEFAULT_TIMEOUT_MS,
            max_timeout_ms: 600_000,
            memory_budget_bytes: crate::query::DEFAULT_MEMORY_BUDGET_BYTES,
            max_memory_budget_bytes: 1 << 30,
        }
    }
}

impl QuerySection {
    /// The settings, checked: budgets above zero, defaults within their maximums.
    pub fn resolve(&self, path: &Path) -> Result<QuerySettings, ConfigError> {
        let d = QuerySettings::default();
        let q = QuerySettings {
            timeout_ms: self.timeout_ms.unwrap_or(d.timeout_ms),
            max_timeout_ms: self.max_timeout_ms.unwrap_or(d.max_timeout_ms),
            memory_budget_bytes: self.memory_budget_bytes.unwrap_or(d.memory_budget_bytes),
            max_memory_budget_bytes: self.max_memory_budget_bytes.unwrap_or(d.max_memory_budget_bytes),
        };
        let invalid = |message: String| ConfigError::Invalid { path: path.to_path_buf(), message };
        if q.max_timeout_ms != 0 && (q.timeout_ms == 0 || q.timeout_ms > q.max_timeout_ms) {
            return Err(invalid(format!(
                "[query] timeout_ms = {} must be between 1 and max_timeout_ms = {} (or set max_timeout_ms = 0)",
                q.timeout_ms, q.max_timeout_ms
            )));
        }
        if q.memory_budget_bytes == 0 || q.memory_budget_bytes > q.max_memory_budget_bytes {
            return Err(invalid(format!(
                "[query] memory_budget_bytes = {} must be between 1 and max_memory_budget_bytes = {}",
                q.memory_budget_bytes, q.max_memory_budget_bytes
            )));
        }
        Ok(q)
    }
}

/// Everything the node runs with, resolved. Its `Debug` form hides the cluster secret.
#[derive(Clone)]
pub struct Settings {
    /// Home directory.
    pub home: PathBuf,
    /// Node name.
    pub node_name: String,
    /// HTTP bind address.
    pub http_bind: IpAddr,
    /// HTTP port (0: any free port).
    pub http_port: u16,
    /// HTTPS certificate and key.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Slow request threshold.
    pub slow_request_ms: u64,
    /// Browser origins answered with CORS headers (`"*"`: any; empty: no CORS headers).
    pub cors_allowed_origins: Vec<String>,
    /// Cluster name.
    pub cluster_name: String,
    /// Cluster port.
    pub cluster_port: u16,
    /// Seeds.
    pub seeds: Vec<String>,
    /// Role.
    pub role: Role,
    /// Discovery.
    pub discovery: Discovery,
    /// Shared secret.
    pub cluster_secret: Option<String>,
    /// `[cluster]` tunables (bind, unreachable timeout, multicast group).
    pub cluster: ClusterTuning,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter.
    pub log_level: String,
    /// Checkpoint threshold.
    pub checkpoint_dirty_pages: usize,
    /// Background checkpoint period.
    pub checkpoint_interval_s: u64,
    /// Query limits (`[query]`).
    pub query: QuerySettings,
    /// True on the very first run in this home (no config file yet; the server sets it again
    /// once it knows whether the root user exists).
    pub first_run: bool,
    /// Create the demo database on the first run.
    pub demo: bool,
    /// `[limits]`: what clients may hold, and how offline databases are retried.
    pub limits: Limits,
    /// `[wal] archive`, resolved against the home: the WAL archive root, if any.
    pub wal_archive: Option<PathBuf>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("home", &self.home)
            .field("node_name", &self.node_name)
            .field("http_bind", &self.http_bind)
            .field("http_port", &self.http_port)
            .field("tls", &self.tls)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("slow_request_ms", &self.slow_request_ms)
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field("cluster_name", &self.cluster_name)
            .field("cluster_port", &self.cluster_port)
            .field("seeds", &self.seeds)
            .field("role", &self.role)
            .field("discovery", &self.discovery)
            .field("cluster_secret", &self.cluster_secret.as_ref().map(|_| "<hidden>"))
            .field("cluster", &self.cluster)
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field("checkpoint_dirty_pages", &self.checkpoint_dirty_pages)
            .field("checkpoint_interval_s", &self.checkpoint_interval_s)
            .field("first_run", &self.first_run)
            .field("demo", &self.demo)
            .field("query", &self.query)
            .field("limits", &self.limits)
            .field("wal_archive", &self.wal_archive)
            .finish()
    }
}

/// A problem with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ConfigError + '_ {
    move |source| ConfigError::Io { path: path.to_path_buf(), source }
}

/// The commented config file written on the first run.
fn default_config_text() -> String {
    "# Basalt server configuration.\n\
# Command-line flags and BASALT_* environment variables override what is set here.\n\
# The node name is asked (or generated) on the first run and saved here.\n\
\n\
[http]\n\
# port = 2480\n\
# Only this machine can connect by default; \"0.0.0.0\" serves every interface.\n\
# bind = \"127.0.0.1\"\n\
# HTTPS: both a PEM certificate chain and its PEM private key.\n\
# tls_cert = \"/etc/basalt/cert.pem\"\n\
# tls_key = \"/etc/basalt/key.pem\"\n\
# Requests with a larger body are refused with 413.\n\
# max_body_bytes = 16777216\n\
# Requests slower than this are logged as slow.\n\
# slow_request_ms = 1000\n\
# Browser pages from these origins may call the API (CORS); \"*\" allows any.\n\
# cors_allowed_origins = [\"https://studio.example.com\"]\n\
\n\
[cluster]\n\
# name = \"basalt\"\n\
# port = 2434\n\
# role = \"master\"          # or \"replica\": read-only, not part of the write quorum\n\
# discovery = \"seeds\"      # or \"multicast\"\n\
# seeds = [\"10.0.0.2:2434\", \"10.0.0.3:2434\"]\n\
# secret = \"change me\"     # or BASALT_CLUSTER_SECRET; without one the node runs standalone\n\
# bind = \"0.0.0.0\"         # address of the cluster port\n\
# unreachable_after_ms = 3000   # a member silent this long is reported unreachable\n\
# multicast_group = \"235.1.1.1\"\n\
# multicast_port = 2434\n\
\n\
[log]\n\
# format = \"text\"          # or \"json\"\n\
# level = \"info\"\n\
\n\
[storage]\n\
# Write changed pages to the cluster files once this many 8 KiB pages are dirty...\n\
# checkpoint_dirty_pages = 8192\n\
# ...or at least this often.\n\
# checkpoint_interval_s = 60\n\
\n\
[wal]\n\
# Copy every sealed WAL segment to <archive>/<db>/ before it may be purged, for restores to a\n\
# point in time (basalt-snapshot restore --until). Relative paths are inside the home.\n\
# archive = \"/var/lib/basalt-archive\"\n\
\n\
[query]\n\
# A query running longer is stopped (0: no limit). A request may ask for another timeout with\n\
# the header X-Basalt-Timeout-Ms (the console: SET timeout <ms>), up to max_timeout_ms.\n\
# timeout_ms = 30000\n\
# max_timeout_ms = 600000\n\
# What one query may hold at once (sorts, groups, DISTINCT, subqueries, LET values, results);\n\
# a request may ask for another with X-Basalt-Memory-Budget-Bytes, up to the maximum.\n\
# memory_budget_bytes = 268435456\n\
# max_memory_budget_bytes = 1073741824\n"
        .to_string()
}

/// OrientDB's default distributed database configuration.
pub fn default_db_config_json() -> serde_json::Value {
    serde_json::json!({
        "autoDeploy": true,
        "readQuorum": 1,
        "writeQuorum": "majority",
        "executionMode": "undefined",
        "readYourWrites": true,
        "newNodeStrategy": "static",
        "servers": { "*": "master" },
        "clusters": {
            "internal": { "servers": [] },
            "*": { "servers": ["<NEW_NODE>"] }
        }
    })
}

/// Reads the config file (absent: defaults).
pub fn read_file_config(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileConfig::default()),
        Err(e) => return Err(ConfigError::Io { path: path.to_path_buf(), source: e }),
    };
    toml::from_str(&text).map_err(|e| ConfigError::Invalid { path: path.to_path_buf(), message: e.to_string() })
}

/// Lays out a new home: config/ (with the commented config and the default distributed
/// database config), databases/, backup/. Returns true if this is the first run.
pub fn prepare_home(home: &Path) -> Result<bool, ConfigError> {
    let config_dir = home.join("config");
    let config_path = config_dir.join(CONFIG_FILE);
    let first_run = !config_path.exists();
    for dir in [config_dir.clone(), home.join("databases"), home.join("backup")] {
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    }
    let db_config = config_dir.join(DEFAULT_DB_CONFIG_FILE);
    if !db_config.exists() {
        let text = serde_json::to_string_pretty(&default_db_config_json()).unwrap_or_default();
        std::fs::write(&db_config, text + "\n").map_err(io_err(&db_config))?;
    }
    if first_run {
        std::fs::write(&config_path, default_config_text()).map_err(io_err(&config_path))?;
    }
    Ok(first_run)
}

/// A generated node name: `node` and 8 hex digits.
pub fn generate_node_name() -> String {
    format!("node{:08x}", rand::random::<u32>())
}

/// True for names a node may have: letters, digits, `-`, `_`, `.`; 1 to 64 characters.
pub fn valid_node_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

/// Asks for the node name on a terminal (blank: generate one).
fn prompt_node_name() -> std::io::Result<String> {
    let stdin = std::io::stdin();
    loop {
        eprint!("Node name [BLANK=auto generate it]: ");
        std::io::stderr().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            return Ok(generate_node_name());
        }
        let name = line.trim();
        if name.is_empty() {
            return Ok(generate_node_name());
        }
        if valid_node_name(name) {
            return Ok(name.to_string());
        }
        eprintln!("'{name}' is not a valid node name: use letters, digits, '-', '_' or '.' (at most 64).");
    }
}

/// Saves `node_name` in the config file, keeping its comments.
pub fn save_node_name(config_path: &Path, name: &str) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(config_path).map_err(io_err(config_path))?;
    let line = format!("node_name = \"{name}\"");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    match lines.iter().position(|l| l.trim_start().starts_with("node_name")) {
        Some(i) => lines[i] = line,
        None => {
            // Top-level keys must come before the first [section].
            let at = lines.iter().position(|l| l.trim_start().starts_with('[')).unwrap_or(lines.len());
            lines.insert(at, line);
            lines.insert(at + 1, String::new());
        }
    }
    let tmp = config_path.with_extension("toml.tmp");
    std::fs::write(&tmp, lines.join("\n") + "\n").map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, config_path).map_err(io_err(config_path))
}

/// Resolves the settings from flags, environment and file; runs the first-run steps that
/// need no database (home layout, node name).
pub fn resolve(args: &Args) -> Result<Settings, ConfigError> {
    let home = args.home.clone();
    let first_run = prepare_home(&home)?;
    let config_path = home.join("config").join(CONFIG_FILE);
    let file = read_file_config(&config_path)?;
    let node_name = match (&args.node_name, &file.node_name) {
        (Some(n), _) => n.clone(),
        (None, Some(n)) => n.clone(),
        (None, None) if std::io::stdin().is_terminal() => prompt_node_name().map_err(io_err(&config_path))?,
        (None, None) => generate_node_name(),
    };
    if !valid_node_name(&node_name) {
        return Err(ConfigError::Invalid {
            path: config_path,
            message: format!("node name '{node_name}' is not valid: use letters, digits, '-', '_' or '.' (at most 64)"),
        });
    }
    if file.node_name.is_none() {
        save_node_name(&config_path, &node_name)?;
    }
    let tls = match (&file.http.tls_cert, &file.http.tls_key) {
        (Some(c), Some(k)) => Some((c.clone(), k.clone())),
        (None, None) => None,
        _ => {
            return Err(ConfigError::Invalid {
                path: config_path,
                message: "[http] needs both tls_cert and tls_key for HTTPS".into(),
            })
        }
    };
    let cluster_tuning = file.cluster.tuning(&config_path)?;
    // An absolute path stays as it is (`join` replaces the base).
    let wal_archive = file.wal.archive.as_ref().map(|a| home.join(a));
    Ok(Settings {
        home,
        node_name,
        http_bind: args.http_bind.or(file.http.bind).unwrap_or(DEFAULT_HTTP_BIND),
        http_port: args.http_port.or(file.http.port).unwrap_or(2480),
        tls,
        max_body_bytes: file.http.max_body_bytes.unwrap_or(16 << 20),
        slow_request_ms: file.http.slow_request_ms.unwrap_or(1000),
        cors_allowed_origins: file.http.cors_allowed_origins.clone().unwrap_or_default(),
        cluster_name: args.cluster_name.clone().or(file.cluster.name).unwrap_or_else(|| "basalt".into()),
        cluster_port: args.cluster_port.or(file.cluster.port).unwrap_or(2434),
        seeds: args.seeds.clone().or(file.cluster.seeds).unwrap_or_default(),
        role: args.role.or(file.cluster.role).unwrap_or_default(),
        discovery: args.discovery.or(file.cluster.discovery).unwrap_or_default(),
        cluster: cluster_tuning,
        cluster_secret: args.cluster_secret.clone().or(file.cluster.secret),
        log_format: args.log_format.or(file.log.format).unwrap_or_default(),
        log_level: file.log.level.unwrap_or_else(|| "info".into()),
        checkpoint_dirty_pages: file.storage.checkpoint_dirty_pages.unwrap_or(8192),
        checkpoint_interval_s: file.storage.checkpoint_interval_s.unwrap_or(60),
        query: file.query.resolve(&config_path)?,
        first_run,
        demo: !args.no_demo,
        limits: file.limits.checked().map_err(|message| ConfigError::Invalid { path: config_path.clone(), message })?,
        wal_archive,
    })
}

// --- [limits]: bounds on what clients may hold (logins, connections) and the retry of
// offline databases. One self-contained block; every knob has a default.

/// `[limits]` of the config file, and the resolved values (every field has a default).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// A client must send a request's headers within this long (from the connection's
    /// start, or from the first byte of a later request).
    pub header_timeout_ms: u64,
    /// A request's whole body must arrive within this long once its headers did.
    pub body_timeout_ms: u64,
    /// An idle keep-alive connection (no request in flight) is closed after this long.
    pub idle_timeout_ms: u64,
    /// Most open HTTP connections; lowered at start to what the open-file limit allows.
    pub max_connections: usize,
    /// Most open HTTP connections from one client address.
    pub max_connections_per_address: usize,
    /// Password checks running at once (0: one per core).
    pub login_workers: usize,
    /// Password checks waiting for a worker; more are refused with 503.
    pub login_queue: usize,
    /// Failed logins per client address and per user name that are not slowed down.
    pub login_free_failures: u32,
    /// The delay after the first slowed failure; each further failure doubles it.
    pub login_delay_base_ms: u64,
    /// The longest delay between two login attempts of one address or user name.
    pub login_delay_max_ms: u64,
    /// Logins that would wait longer than this are refused at once with 429.
    pub login_wait_max_ms: u64,
    /// Failure counts are forgotten after this long without a failure.
    pub login_forget_ms: u64,
    /// Shortest password for new users and changed passwords.
    pub min_password_length: usize,
    /// First wait before reopening an offline database; doubles after each failed try.
    pub reopen_backoff_initial_ms: u64,
    /// Longest wait between two tries to reopen an offline database.
    pub reopen_backoff_max_ms: u64,
    /// Most HTTP sessions (`GET /connect/{db}`) held; past it the least recently used goes.
    pub max_sessions: usize,
    /// An HTTP session unused this long expires (OrientDB's `network.http.sessionExpireTimeout`).
    pub session_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout_ms: 10_000,
            body_timeout_ms: 60_000,
            idle_timeout_ms: 60_000,
            max_connections: 4096,
            max_connections_per_address: 256,
            login_workers: 0,
            login_queue: 32,
            login_free_failures: 5,
            login_delay_base_ms: 100,
            login_delay_max_ms: 10_000,
            login_wait_max_ms: 2_000,
            login_forget_ms: 15 * 60_000,
            min_password_length: 8,
            reopen_backoff_initial_ms: 1_000,
            reopen_backoff_max_ms: 60_000,
            max_sessions: 1024,
            session_timeout_ms: 900_000,
        }
    }
}

impl Limits {
    /// The limits, or what is wrong with them.
    pub fn checked(self) -> Result<Limits, String> {
        let positive = [
            ("header_timeout_ms", self.header_timeout_ms),
            ("body_timeout_ms", self.body_timeout_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
            ("max_connections", self.max_connections as u64),
            ("max_connections_per_address", self.max_connections_per_address as u64),
            ("login_queue", self.login_queue as u64),
            ("min_password_length", self.min_password_length as u64),
            ("reopen_backoff_initial_ms", self.reopen_backoff_initial_ms),
            ("max_sessions", self.max_sessions as u64),
            ("session_timeout_ms", self.session_timeout_ms),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("[limits] {name} must be at least 1"));
        }
        if self.reopen_backoff_max_ms < self.reopen_backoff_initial_ms {
            return Err("[limits] reopen_backoff_max_ms must be at least reopen_backoff_initial_ms".into());
        }
        Ok(self)
    }
}

// --- end of [limits]

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wal_archive_is_read_and_resolved_against_the_home() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let path = dir.path().join(CONFIG_FILE);
        assert!(read_file_config(&path).unwrap().wal.archive.is_none(), "off by default");
        std::fs::write(&path, "node_name = \"n1\"\n[wal]\narchive = \"archive\"\n").unwrap();
        assert_eq!(read_file_config(&path).unwrap().wal.archive, Some(PathBuf::from("archive")));
        std::fs::create_dir_all(home.join("config")).unwrap();
        std::fs::copy(&path, home.join("config").join(CONFIG_FILE)).unwrap();
        let args = <Args as clap::Parser>::parse_from(["basalt-server", "--home", home.to_str().unwrap()]);
        assert_eq!(resolve(&args).unwrap().wal_archive, Some(home.join("archive")));
        std::fs::write(&path, "[wal]\nretain = 3\n").unwrap();
        assert!(read_file_config(&path).is_err(), "unknown [wal] keys are refused");
    }

    #[test]
    fn the_default_config_parses_and_the_node_name_is_saved_once() {
        let dir = tempfile::tempdir().unwrap();
        assert!(prepare_home(dir.path()).unwrap());
        assert!(!prepare_home(dir.path()).unwrap(), "second run is not the first");
        let path = dir.path().join("config").join(CONFIG_FILE);
        let cfg = read_file_config(&path).unwrap();
        assert!(cfg.node_name.is_none());
        save_node_name(&path, "n1").unwrap();
        assert_eq!(read_file_config(&path).unwrap().node_name.as_deref(), Some("n1"));
        save_node_name(&path, "n2").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("node_name").count(), 1);
        assert!(text.contains("# Basalt server configuration."), "comments are kept");
        assert_eq!(read_file_config(&path).unwrap().node_name.as_deref(), Some("n2"));
    }

    #[test]
    fn bad_config_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.toml");
        std::fs::write(&path, "[http]\nport = \"x\"\n").unwrap();
        let err = read_file_config(&path).unwrap_err().to_string();
        assert!(err.contains("b.toml"), "{err}");
        std::fs::write(&path, "[htp]\n").unwrap();
        assert!(read_file_config(&path).is_err(), "unknown sections are refused");
    }

    #[test]
    fn query_limits_come_from_the_query_section_and_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.toml");
        std::fs::write(&path, "[query]\ntimeout_ms = 5000\nmemory_budget_bytes = 1048576\n").unwrap();
        let q = read_file_config(&path).unwrap().query.resolve(&path).unwrap();
        assert_eq!((q.timeout_ms, q.memory_budget_bytes), (5000, 1 << 20));
        assert_eq!(q.max_timeout_ms, QuerySettings::default().max_timeout_ms);
        assert_eq!(QuerySection::default().resolve(&path).unwrap(), QuerySettings::default());
        for bad in ["timeout_ms = 700000", "memory_budget_bytes = 0", "max_memory_budget_bytes = 10"] {
            std::fs::write(&path, format!("[query]\n{bad}\n")).unwrap();
            let err = read_file_config(&path).unwrap().query.resolve(&path).unwrap_err().to_string();
            assert!(err.contains("[query]") && err.contains("q.toml"), "{bad}: {err}");
        }
        // The commented defaults of a new home parse to the same settings.
        assert!(default_config_text().contains("[query]"));
    }

    #[test]
    fn node_names() {
        assert!(valid_node_name("n1"));
        assert!(valid_node_name(&generate_node_name()));
        assert!(!valid_node_name("a b"));
        assert!(!valid_node_name(""));
    }
}
