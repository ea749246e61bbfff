//! `wal-crash-child DIR ROUND [THREADS]`: the process `tests/tests/wal_crash.rs` kills
//! with SIGKILL.
//!
//! Opens (and so recovers) the WAL in `DIR`, prints `ready <last LSN>`, then runs `THREADS`
//! threads (default 8) that append entries with group commit. After each `append` returns,
//! that is once the entry is durable, the thread prints `ack <lsn> <thread> <counter>` on
//! stdout and flushes: the test holds the log to every entry it saw acknowledged. Payloads
//! are `payload(ROUND, thread, counter)`, which the test recomputes to check contents.
//!
//! It appends until killed, until stdout is closed (the test is gone), or for at most
//! `RUN_SECONDS_MAX`. Exit status 2 for bad arguments, 3 for a WAL error.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use basalt_tests::wal_crash::{payload, LOG, SEGMENT_BYTES_MAX};
use basalt_wal::{DiskStorage, Kind, Wal, WalOptions};

/// A child the test forgot still stops, and does not fill the disk.
const RUN_SECONDS_MAX: u64 = 60;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (dir, round, threads) = match parse(&args) {
        Some(parsed) => parsed,
        None => {
            eprintln!("usage: wal-crash-child DIR ROUND [THREADS]");
            return ExitCode::from(2);
        }
    };
    let storage = match DiskStorage::create_dir(dir) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("wal-crash-child: cannot create {dir}: {e}");
            return ExitCode::from(3);
        }
    };
    let options = WalOptions { segment_bytes_max: SEGMENT_BYTES_MAX, ..WalOptions::new(LOG) };
    let (wal, report) = match Wal::open(storage, options) {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("wal-crash-child: open: {e}");
            return ExitCode::from(3);
        }
    };
    if !say(&format!("ready {}", report.last_lsn)) {
        return ExitCode::SUCCESS;
    }
    let deadline = Instant::now() + Duration::from_secs(RUN_SECONDS_MAX);
    let wal = &wal;
    let failed = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads).map(|t| scope.spawn(move || append_loop(wal, round, t, deadline))).collect();
        handles.into_iter().any(|h| h.join().unwrap_or(true))
    });
    if failed {
        return ExitCode::from(3);
    }
    ExitCode::SUCCESS
}

fn parse(args: &[String]) -> Option<(&str, u64, u64)> {
    let dir = args.get(1)?;
    let round = args.get(2)?.parse().ok()?;
    let threads = match args.get(3) {
        Some(t) => t.parse().ok().filter(|t| *t > 0)?,
        None => 8,
    };
    Some((dir, round, threads))
}

/// Appends and acknowledges until the deadline or a closed stdout; true on a WAL error.
fn append_loop(wal: &Wal, round: u64, thread: u64, deadline: Instant) -> bool {
    let mut counter = 0;
    while Instant::now() < deadline {
        let lsn = match wal.append(Kind(thread as u8), &payload(round, thread, counter)) {
            Ok(lsn) => lsn,
            Err(e) => {
                eprintln!("wal-crash-child: thread {thread}: append {counter}: {e}");
                return true;
            }
        };
        if !say(&format!("ack {lsn} {thread} {counter}")) {
            return false;
        }
        counter += 1;
    }
    false
}

/// Prints one line and flushes it; false if stdout is gone.
fn say(line: &str) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
}
