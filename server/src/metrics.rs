//! Counters and the Prometheus text exposition of `/metrics`.
//!
//! Every metric follows Prometheus' conventions: base units (seconds, bytes), `_total` on
//! counters, `_seconds` histograms with cumulative `_bucket{le}`, `_sum` and `_count`, and a
//! `# HELP` and `# TYPE` line before each family. Label sets are bounded: requests are
//! labelled by the route template (`/query/{db}/{lang}/{text}`, never the raw path), a
//! method from a fixed list and the status code; databases by name.
//!
//! Families (an operator alerts on these): `basalt_database_status{database,status}` (1 for
//! the database's status among ONLINE, OFFLINE, SYNCHRONIZING, 0 for the others; a database
//! that failed to open is OFFLINE), `basalt_checkpoint_duration_seconds` and
//! `basalt_checkpoint_failures_total`, `basalt_wal_size_bytes` and `basalt_wal_segments`,
//! `basalt_disk_free_bytes` under the home, `basalt_commit_duration_seconds`,
//! `basalt_http_request_duration_seconds{route,method,status}` (its `_count` counts requests
//! per route; `basalt_http_requests_total{status}` keeps its status-only labels), and the standard
//! `process_*` gauges read from `/proc/self`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the request and commit latency buckets, in seconds.
const LATENCY_BUCKETS_S: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];
/// Upper bounds of the checkpoint duration buckets, in seconds (a checkpoint writes up to
/// thousands of pages and fsyncs them).
const CHECKPOINT_BUCKETS_S: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];
/// The statuses a database can be in, as `basalt_database_status` shows them.
pub const DB_STATUSES: [&str; 3] = ["ONLINE", "OFFLINE", "SYNCHRONIZING"];
/// HTTP methods that get their own label value; any other is counted as `OTHER` (a client
/// inventing methods must not grow the label set).
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// A histogram with fixed buckets.
#[derive(Debug)]
pub struct Histogram {
    /// Upper bounds, in seconds.
    bounds: &'static [f64],
    /// Observations per bucket (non-cumulative), plus one for +Inf.
    counts: Vec<AtomicU64>,
    /// Sum of observations in microseconds.
    sum_us: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram::with_bounds(LATENCY_BUCKETS_S)
    }
}

impl Histogram {
    /// A histogram over these bucket bounds (seconds, ascending).
    pub fn with_bounds(bounds: &'static [f64]) -> Histogram {
        assert!(bounds.windows(2).all(|w| w[0] < w[1]), "bucket bounds must ascend");
        Histogram { bounds, counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(), sum_us: AtomicU64::new(0) }
    }

    /// A histogram with the checkpoint buckets (up to two minutes).
    pub fn for_checkpoints() -> Histogram {
        Histogram::with_bounds(CHECKPOINT_BUCKETS_S)
    }

    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        let i = self.bounds.iter().position(|b| s <= *b).unwrap_or(self.bounds.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Writes the `_bucket`, `_sum` and `_count` lines; `labels` is empty or ends with `,`.
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0u64;
        for (i, b) in self.bounds.iter().enumerate() {
            cumulative += self.counts[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{b}\"}} {cumulative}");
        }
        cumulative += self.counts[self.bounds.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let trimmed = labels.trim_end_matches(',');
        let braces = if trimmed.is_empty() { String::new() } else { format!("{{{trimmed}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }
}

/// Per-database counters kept by the server (the engine keeps its own too).
#[derive(Debug)]
pub struct DbMetrics {
    /// Commit latency (successful commits).
    pub commit_latency: Histogram,
    /// Commits that failed (conflicts, bad input, ...).
    pub commit_errors: AtomicU64,
    /// Duration of the background checkpoints (successful or not).
    pub checkpoint_latency: Histogram,
    /// Background checkpoints that failed.
    pub checkpoint_failures: AtomicU64,
}

impl Default for DbMetrics {
    fn default() -> DbMetrics {
        DbMetrics {
            commit_latency: Histogram::default(),
            commit_errors: AtomicU64::new(0),
            checkpoint_latency: Histogram::for_checkpoints(),
            checkpoint_failures: AtomicU64::new(0),
        }
    }
}

/// The labels of one request series.
type RouteKey = (String, &'static str, u16);

/// Server-wide counters.
#[derive(Debug, Default)]
pub struct ServerMetrics {
    /// Connections accepted.
    pub connections_total: AtomicU64,
    /// Connections open now.
    pub connections_open: AtomicU64,
    /// Request latency by (route template, method, status).
    requests: Mutex<BTreeMap<RouteKey, Histogram>>,
    /// Requests slower than the slow threshold.
    pub slow_requests: AtomicU64,
}

impl ServerMetrics {
    /// Counts an answered request. `route` is the route template (or `unmatched`), never
    /// the raw path.
    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        let method = METHODS.iter().find(|m| m.eq_ignore_ascii_case(method)).copied().unwrap_or("OTHER");
        let mut map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        map.entry((route.to_string(), method, status)).or_default().observe(took);
    }
}

/// What `/metrics` shows of one open database.
#[derive(Debug)]
pub struct DbSample<'a> {
    /// Name.
    pub name: &'a str,
    /// ONLINE, OFFLINE or SYNCHRONIZING.
    pub status: &'static str,
    /// Engine counters.
    pub stats: basalt_engine::Stats,
    /// Server counters.
    pub metrics: &'a DbMetrics,
    /// Records over all classes.
    pub records: u64,
    /// Bytes of the WAL's segment files on disk.
    pub wal_size_bytes: u64,
    /// WAL segment files.
    pub wal_segments: u64,
}

/// What `/metrics` shows of the node itself.
#[derive(Debug, Default)]
pub struct NodeSample {
    /// Seconds since the server started.
    pub uptime: Duration,
    /// Databases found on disk that failed to open (OFFLINE).
    pub failed_databases: Vec<String>,
    /// The home directory (label of the disk gauges).
    pub home: String,
    /// Bytes free to the server under the home, and the file system's size (None: statvfs
    /// failed).
    pub disk: Option<(u64, u64)>,
    /// The process' own figures.
    pub process: ProcessSample,
}

/// Bytes available to unprivileged users and the total size of the file system holding
/// `path`.
pub fn disk_space(path: &Path) -> Option<(u64, u64)> {
    let s = rustix::fs::statvfs(path).ok()?;
    Some((s.f_bavail.saturating_mul(s.f_frsize), s.f_blocks.saturating_mul(s.f_frsize)))
}

/// The sizes of the files in a WAL directory and how many there are.
pub fn wal_files(dir: &Path) -> (u64, u64) {
    let Ok(entries) = std::fs::read_dir(dir) else { return (0, 0) };
    let files: Vec<u64> =
        entries.filter_map(|e| e.ok()?.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).collect();
    (files.iter().sum(), files.len() as u64)
}

/// The `process_*` figures, from `/proc/self` (absent ones are not shown).
#[derive(Debug, Default, Clone)]
pub struct ProcessSample {
    /// Resident set size.
    pub resident_memory_bytes: Option<u64>,
    /// Virtual memory size.
    pub virtual_memory_bytes: Option<u64>,
    /// User plus system CPU time.
    pub cpu_seconds: Option<f64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// The soft limit on open file descriptors.
    pub max_fds: Option<u64>,
    /// Start time since the Unix epoch, in seconds.
    pub start_time_seconds: Option<f64>,
}

impl ProcessSample {
    /// Reads `/proc/self/{stat,status,fd,limits}` and `/proc/stat`.
    pub fn read() -> ProcessSample {
        let ticks = rustix::param::clock_ticks_per_second().max(1) as f64;
        let stat = std::fs::read_to_string("/proc/self/stat").ok();
        // Fields after the command name (which may hold spaces and parentheses): field 3
        // (state) is index 0, so field N is index N - 3.
        let fields: Vec<u64> = stat
            .as_deref()
            .and_then(|s| s.rsplit_once(')'))
            .map(|(_, rest)| rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect())
            .unwrap_or_default();
        let field = |n: usize| fields.get(n - 3).copied();
        let boot_time = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| s.lines().find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse::<u64>().ok())));
        let rss_kib = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmRSS:").and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
        });
        let open_fds = std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as u64);
        let max_fds = std::fs::read_to_string("/proc/self/limits").ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).and_then(|v| v.parse().ok()))
        });
        ProcessSample {
            resident_memory_bytes: rss_kib.map(|k| k * 1024),
            virtual_memory_bytes: field(23),
            cpu_seconds: match (field(14), field(15)) {
                (Some(u), Some(s)) => Some((u + s) as f64 / ticks),
                _ => None,
            },
            open_fds,
            max_fds,
            start_time_seconds: match (boot_time, field(22)) {
                (Some(b), Some(t)) => Some(b as f64 + t as f64 / ticks),
                _ => None,
            },
        }
    }
}

/// Escapes a label value (backslash, double quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Renders the Prometheus text format.
pub fn render(server: &ServerMetrics, dbs: &[DbSample<'_>], node: &NodeSample) -> String {
    let mut out = String::new();
    render_process(&mut out, &node.process);
    header(&mut out, "basalt_uptime_seconds", "gauge", "Seconds since the server started.");
    let _ = writeln!(out, "basalt_uptime_seconds {}", node.uptime.as_secs_f64());
    if let Some((free, total)) = node.disk {
        let home = label(&node.home);
        header(&mut out, "basalt_disk_free_bytes", "gauge", "Bytes free to the server on the home's file system.");
        let _ = writeln!(out, "basalt_disk_free_bytes{{path=\"{home}\"}} {free}");
        header(&mut out, "basalt_disk_size_bytes", "gauge", "Size of the home's file system in bytes.");
        let _ = writeln!(out, "basalt_disk_size_bytes{{path=\"{home}\"}} {total}");
    }
    render_http(&mut out, server);
    render_databases(&mut out, dbs, &node.failed_databases);
    out
}

fn render_process(out: &mut String, p: &ProcessSample) {
    let gauges: [(&str, &str, &str, Option<f64>); 6] = [
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            p.resident_memory_bytes.map(|v| v as f64),
        ),
        (
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            p.virtual_memory_bytes.map(|v| v as f64),
        ),
        ("process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.", p.cpu_seconds),
        ("process_open_fds", "gauge", "Number of open file descriptors.", p.open_fds.map(|v| v as f64)),
        ("process_max_fds", "gauge", "Maximum number of open file descriptors.", p.max_fds.map(|v| v as f64)),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since the Unix epoch in seconds.",
            p.start_time_seconds,
        ),
    ];
    for (name, kind, help, value) in gauges {
        if let Some(v) = value {
            header(out, name, kind, help);
            let _ = writeln!(out, "{name} {v}");
        }
    }
}

fn render_http(out: &mut String, server: &ServerMetrics) {
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    header(out, "basalt_http_connections_total", "counter", "HTTP connections accepted.");
    let _ = writeln!(out, "basalt_http_connections_total {}", load(&server.connections_total));
    header(out, "basalt_http_connections_open", "gauge", "HTTP connections open now.");
    let _ = writeln!(out, "basalt_http_connections_open {}", load(&server.connections_open));
    let requests = server.requests.lock().unwrap_or_else(|p| p.into_inner());
    // By status only, as before the route label came: the histogram's `_count` has the
    // per-route counts.
    let mut by_status: BTreeMap<u16, u64> = BTreeMap::new();
    for ((_, _, status), h) in requests.iter() {
        *by_status.entry(*status).or_insert(0) += h.count();
    }
    header(out, "basalt_http_requests_total", "counter", "HTTP requests answered, by status code.");
    for (status, n) in by_status {
        let _ = writeln!(out, "basalt_http_requests_total{{status=\"{status}\"}} {n}");
    }
    header(
        out,
        "basalt_http_request_duration_seconds",
        "histogram",
        "HTTP request latency, by route template, method and status.",
    );
    for ((route, method, status), h) in requests.iter() {
        let labels = format!("route=\"{}\",method=\"{method}\",status=\"{status}\",", label(route));
        h.render(out, "basalt_http_request_duration_seconds", &labels);
    }
    header(out, "basalt_http_slow_requests_total", "counter", "Requests slower than the slow-request threshold.");
    let _ = writeln!(out, "basalt_http_slow_requests_total {}", load(&server.slow_requests));
}

fn render_databases(out: &mut String, dbs: &[DbSample<'_>], failed: &[String]) {
    header(
        out,
        "basalt_database_status",
        "gauge",
        "1 for the database's status on this node (ONLINE, OFFLINE, SYNCHRONIZING), 0 for the others.",
    );
    let statuses = dbs.iter().map(|d| (d.name, d.status)).chain(failed.iter().map(|n| (n.as_str(), "OFFLINE")));
    for (name, status) in statuses {
        for s in DB_STATUSES {
            let _ = writeln!(
                out,
                "basalt_database_status{{database=\"{}\",status=\"{s}\"}} {}",
                label(name),
                u8::from(s == status)
            );
        }
    }
    type Getter = fn(&DbSample<'_>) -> u64;
    let per_db: [(&str, &str, &str, Getter); 10] = [
        ("basalt_commits_total", "counter", "Transactions committed.", |d| d.stats.commits),
        ("basalt_commit_errors_total", "counter", "Commits refused (conflicts, bad input).", |d| {
            d.metrics.commit_errors.load(Ordering::Relaxed)
        }),
        ("basalt_wal_fsyncs_total", "counter", "fdatasync calls on WAL segments.", |d| d.stats.wal_syncs),
        ("basalt_wal_bytes_total", "counter", "Bytes written to the WAL.", |d| d.stats.wal_bytes),
        ("basalt_wal_size_bytes", "gauge", "Bytes of WAL segment files on disk.", |d| d.wal_size_bytes),
        ("basalt_wal_segments", "gauge", "WAL segment files on disk.", |d| d.wal_segments),
        ("basalt_checkpoints_total", "counter", "Checkpoints written.", |d| d.stats.checkpoints),
        ("basalt_checkpoint_failures_total", "counter", "Background checkpoints that failed.", |d| {
            d.metrics.checkpoint_failures.load(Ordering::Relaxed)
        }),
        ("basalt_applied_lsn", "gauge", "Last applied log sequence number.", |d| d.stats.applied_lsn),
        ("basalt_records", "gauge", "Records stored.", |d| d.records),
    ];
    for (name, kind, help, f) in per_db {
        header(out, name, kind, help);
        for d in dbs {
            let _ = writeln!(out, "{name}{{database=\"{}\"}} {}", label(d.name), f(d));
        }
    }
    let histograms: [(&str, &str, HistogramOf); 2] = [
        ("basalt_commit_duration_seconds", "Commit latency: form, fsync, apply.", |m| &m.commit_latency),
        ("basalt_checkpoint_duration_seconds", "Background checkpoint duration.", |m| &m.checkpoint_latency),
    ];
    for (name, help, f) in histograms {
        header(out, name, "histogram", help);
        for d in dbs {
            f(d.metrics).render(out, name, &format!("database=\"{}\",", label(d.name)));
        }
    }
}

/// Picks one of a database's histograms.
type HistogramOf = fn(&DbMetrics) -> &Histogram;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_rendered() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(50));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(100));
        let mut out = String::new();
        h.render(&mut out, "x", "");
        assert!(out.contains("x_bucket{le=\"0.0001\"} 1"), "{out}");
        assert!(out.contains("x_bucket{le=\"0.005\"} 2"), "{out}");
        assert!(out.contains("x_bucket{le=\"+Inf\"} 3"), "{out}");
        assert!(out.contains("x_count 3"), "{out}");
        assert_eq!(h.count(), 3);
    }

    #[test]
    fn unknown_methods_share_one_label_value() {
        let m = ServerMetrics::default();
        m.request("/x", "BREW", 404, Duration::from_millis(1));
        m.request("/x", "WHEN", 404, Duration::from_millis(1));
        m.request("/x", "get", 200, Duration::from_millis(1));
        let mut out = String::new();
        render_http(&mut out, &m);
        assert!(out.contains("_count{route=\"/x\",method=\"OTHER\",status=\"404\"} 2"), "{out}");
        assert!(out.contains("_count{route=\"/x\",method=\"GET\",status=\"200\"} 1"), "{out}");
        assert!(out.contains("basalt_http_requests_total{status=\"404\"} 2"), "{out}");
    }

    #[test]
    fn process_figures_are_read_from_proc() {
        let p = ProcessSample::read();
        assert!(p.resident_memory_bytes.is_some_and(|v| v > 0), "{p:?}");
        assert!(p.open_fds.is_some_and(|v| v > 0), "{p:?}");
        assert!(p.max_fds.is_some_and(|v| v >= p.open_fds.unwrap_or(0)), "{p:?}");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
        let start = p.start_time_seconds.unwrap();
        assert!(start <= now + 1.0 && start > now - 86400.0 * 365.0, "start {start}, now {now}");
        assert!(p.cpu_seconds.is_some(), "{p:?}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
