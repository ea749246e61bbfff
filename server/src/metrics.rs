//! Counters and the Prometheus text exposition of `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS_S: [f64; 14] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// A latency histogram with fixed buckets.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations at or below each bound (non-cumulative), plus one for +Inf.
    counts: [AtomicU64; BUCKETS_S.len() + 1],
    /// Sum of observations in microseconds.
    sum_us: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        let i = BUCKETS_S.iter().position(|b| s <= *b).unwrap_or(BUCKETS_S.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0u64;
        for (i, b) in BUCKETS_S.iter().enumerate() {
            cumulative += self.counts[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{b}\"}} {cumulative}");
        }
        cumulative += self.counts[BUCKETS_S.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let trimmed = labels.trim_end_matches(',');
        let braces = if trimmed.is_empty() { String::new() } else { format!("{{{trimmed}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }
}

/// Per-database counters kept by the server (the engine keeps its own too).
#[derive(Debug, Default)]
pub struct DbMetrics {
    /// Commit latency (successful commits).
    pub commit_latency: Histogram,
    /// Commits that failed (conflicts, bad input, ...).
    pub commit_errors: AtomicU64,
}

/// Server-wide counters.
#[derive(Debug, Default)]
pub struct ServerMetrics {
    /// Connections accepted.
    pub connections_total: AtomicU64,
    /// Connections open now.
    pub connections_open: AtomicU64,
    /// Requests answered, by status code.
    requests: Mutex<BTreeMap<u16, u64>>,
    /// Request latency.
    pub request_latency: Histogram,
    /// Requests slower than the slow threshold.
    pub slow_requests: AtomicU64,
}

impl ServerMetrics {
    /// Counts an answered request.
    pub fn request(&self, status: u16, took: Duration) {
        *self.requests.lock().unwrap_or_else(|p| p.into_inner()).entry(status).or_insert(0) += 1;
        self.request_latency.observe(took);
    }
}

/// What `/metrics` shows of one database.
#[derive(Debug)]
pub struct DbSample<'a> {
    /// Name.
    pub name: &'a str,
    /// Engine counters.
    pub stats: basalt_engine::Stats,
    /// Server counters.
    pub metrics: &'a DbMetrics,
    /// Records over all classes.
    pub records: u64,
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Renders the Prometheus text format.
pub fn render(server: &ServerMetrics, dbs: &[DbSample<'_>], uptime: Duration) -> String {
    let mut out = String::new();
    header(&mut out, "basalt_uptime_seconds", "gauge", "Seconds since the server started.");
    let _ = writeln!(out, "basalt_uptime_seconds {}", uptime.as_secs_f64());
    header(&mut out, "basalt_http_connections_total", "counter", "HTTP connections accepted.");
    let _ = writeln!(out, "basalt_http_connections_total {}", server.connections_total.load(Ordering::Relaxed));
    header(&mut out, "basalt_http_connections_open", "gauge", "HTTP connections open now.");
    let _ = writeln!(out, "basalt_http_connections_open {}", server.connections_open.load(Ordering::Relaxed));
    header(&mut out, "basalt_http_requests_total", "counter", "HTTP requests answered, by status code.");
    for (status, n) in server.requests.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        let _ = writeln!(out, "basalt_http_requests_total{{status=\"{status}\"}} {n}");
    }
    header(&mut out, "basalt_http_request_duration_seconds", "histogram", "HTTP request latency.");
    server.request_latency.render(&mut out, "basalt_http_request_duration_seconds", "");
    header(&mut out, "basalt_http_slow_requests_total", "counter", "Requests slower than the slow-request threshold.");
    let _ = writeln!(out, "basalt_http_slow_requests_total {}", server.slow_requests.load(Ordering::Relaxed));

    type Getter = fn(&DbSample<'_>) -> u64;
    let per_db: [(&str, &str, &str, Getter); 7] = [
        ("basalt_commits_total", "counter", "Transactions committed.", |d| d.stats.commits),
        ("basalt_commit_errors_total", "counter", "Commits refused (conflicts, bad input).", |d| {
            d.metrics.commit_errors.load(Ordering::Relaxed)
        }),
        ("basalt_wal_fsyncs_total", "counter", "fdatasync calls on WAL segments.", |d| d.stats.wal_syncs),
        ("basalt_wal_bytes_total", "counter", "Bytes written to the WAL.", |d| d.stats.wal_bytes),
        ("basalt_checkpoints_total", "counter", "Checkpoints written.", |d| d.stats.checkpoints),
        ("basalt_applied_lsn", "gauge", "Last applied log sequence number.", |d| d.stats.applied_lsn),
        ("basalt_records", "gauge", "Records stored.", |d| d.records),
    ];
    for (name, kind, help, f) in per_db {
        header(&mut out, name, kind, help);
        for d in dbs {
            let _ = writeln!(out, "{name}{{database=\"{}\"}} {}", d.name, f(d));
        }
    }
    header(&mut out, "basalt_commit_duration_seconds", "histogram", "Commit latency: form, fsync, apply.");
    for d in dbs {
        d.metrics.commit_latency.render(
            &mut out,
            "basalt_commit_duration_seconds",
            &format!("database=\"{}\",", d.name),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_rendered() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(50));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(10));
        let mut out = String::new();
        h.render(&mut out, "x", "");
        assert!(out.contains("x_bucket{le=\"0.0001\"} 1"), "{out}");
        assert!(out.contains("x_bucket{le=\"0.005\"} 2"), "{out}");
        assert!(out.contains("x_bucket{le=\"+Inf\"} 3"), "{out}");
        assert!(out.contains("x_count 3"), "{out}");
    }
}
