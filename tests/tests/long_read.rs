//! A long read on the real `basalt-server` delays no commit (issue 16's "Long reads" line).
//!
//! One client runs a query that reads for [`read_duration`] (10 s; 60 s with `BASALT_LONG=1`)
//! until its `X-Basalt-Timeout-Ms` stops it. Beside it a second client sends single-record
//! `UPDATE`s over HTTP, one after another, each committed (and fsynced) before it answers.
//! Every update that starts while the read runs is timed; their 99th percentile must stay
//! under [`P99_BOUND`]. When a snapshot held the state's read lock, the first update waited
//! for the whole read, so hardly any update ran during it and its latency was the read's.
//!
//! The test runs its own server on a temporary home and a free port.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use basalt_tests::server::{Client, Reply, ServerProcess};

const PASSWORD: &str = "root-secret";
const DEMO: &str = "GratefulDeadConcerts";
/// A read that runs for minutes on the demo: per vertex, a scan of every edge reading the
/// vertex each edge points to. Its timeout stops it.
const LONG_READ: &str = "SELECT FROM V WHERE (SELECT count(*) AS n FROM E WHERE in.name = $parent.$current.name \
                         AND out.name <> in.name) > 100000";
/// The bound on the 99th percentile of update latency while the read runs.
const P99_BOUND: Duration = Duration::from_millis(50);

/// How long the read runs: 10 s, or the issue's 60 s with `BASALT_LONG=1`.
fn read_duration() -> Duration {
    match std::env::var("BASALT_LONG").as_deref() {
        Ok("1") => Duration::from_secs(60),
        _ => Duration::from_secs(10),
    }
}

fn command(c: &Client, sql: &str, headers: &[(&str, &str)]) -> Reply {
    c.try_request("POST", &format!("/command/{DEMO}/sql"), Some((sql.as_bytes(), "text/plain")), headers)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The `p`-th percentile (0..=100) of sorted `xs`.
fn percentile(xs: &[Duration], p: usize) -> Duration {
    xs[(xs.len() * p / 100).min(xs.len() - 1)]
}

#[test]
fn single_record_updates_beside_a_long_read_stay_fast() {
    let home = tempfile::tempdir().expect("a temporary home");
    let server = ServerProcess::start(home.path(), &["--node-name", "n1"], &[("BASALT_ROOT_PASSWORD", PASSWORD)]);
    let (reader, writer) = (server.client(), server.client());
    let first = command(&writer, "SELECT @rid AS r FROM V LIMIT 1", &[]).ok_json();
    let rid = first["result"][0]["r"].as_str().unwrap_or_else(|| panic!("no @rid in {first}")).to_string();
    let update = |n: usize| {
        let reply = command(&writer, &format!("UPDATE {rid} SET long_read_counter = {n}"), &[]);
        assert_eq!(reply.status, 200, "update {n}: {}", reply.text());
    };
    for n in 0..20 {
        update(n); // warm up: connection, caches
    }

    let duration = read_duration();
    let timeout = duration.as_millis().to_string();
    let reading = AtomicBool::new(true);
    let mut latencies = Vec::new();
    let read_took = std::thread::scope(|s| {
        let read = s.spawn(|| {
            let started = Instant::now();
            let reply = command(&reader, LONG_READ, &[("X-Basalt-Timeout-Ms", &timeout)]);
            let took = started.elapsed();
            reading.store(false, Ordering::SeqCst);
            let content = reply.assert_error(400);
            assert!(content.contains("timeout of"), "the read ended otherwise than by its timeout: {content}");
            took
        });
        let mut n = 20;
        // Every update that starts while the read runs counts, however late it ends.
        while reading.load(Ordering::SeqCst) {
            let t = Instant::now();
            update(n);
            latencies.push(t.elapsed());
            n += 1;
        }
        read.join().unwrap()
    });
    assert!(read_took >= duration, "the read ran only {read_took:?}");
    latencies.sort_unstable();
    assert!(!latencies.is_empty(), "no update started during the read");
    let (p50, p99, max) = (percentile(&latencies, 50), percentile(&latencies, 99), latencies[latencies.len() - 1]);
    eprintln!("{} updates during the read: p50 {p50:?}, p99 {p99:?}, max {max:?}", latencies.len());
    assert!(p99 < P99_BOUND, "p99 update latency {p99:?} beside a {duration:?} read (p50 {p50:?}, max {max:?})");
    // Ten a second at least (a debug build on two shared cores does hundreds).
    let min_updates = duration.as_secs() as usize * 10;
    assert!(latencies.len() >= min_updates, "only {} updates ran during a {duration:?} read", latencies.len());
}
