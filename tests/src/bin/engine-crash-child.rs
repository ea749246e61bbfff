//! `engine-crash-child DIR`: the process `tests/tests/engine_crash.rs` kills with SIGKILL.
//!
//! Opens (and so recovers) the database in `DIR` (which the test created), prints `ready`,
//! then runs `THREADS` threads, each committing its next transactions of the shared workload
//! (`basalt_tests::engine_crash`), continuing from its counter in the database. After each
//! `commit` returns, that is once the transaction is durable and applied, the thread prints
//! `ack <lsn> <thread> <counter>` on stdout and flushes: the test holds the database to every
//! transaction it saw acknowledged. Checkpoints run every few commits, so kills also land in
//! them.
//!
//! It commits until killed, until stdout is closed (the test is gone), or for at most
//! `RUN_SECONDS_MAX`. Exit status 2 for bad arguments, 3 for an engine error.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use basalt_engine::Database;
use basalt_tests::engine_crash::{self, THREADS};

/// A child the test forgot still stops, and does not fill the disk.
const RUN_SECONDS_MAX: u64 = 60;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1).filter(|_| args.len() == 2) else {
        eprintln!("usage: engine-crash-child DIR");
        return ExitCode::from(2);
    };
    let db = match Database::open(dir, engine_crash::options()) {
        Ok((db, _)) => db,
        Err(e) => {
            eprintln!("engine-crash-child: open {dir}: {e}");
            return ExitCode::from(3);
        }
    };
    let mut starts = Vec::new();
    {
        let snap = db.snapshot();
        for t in 0..THREADS {
            match engine_crash::counter(&snap, t) {
                Ok(c) => starts.push(c),
                Err(e) => {
                    eprintln!("engine-crash-child: {e}");
                    return ExitCode::from(3);
                }
            }
        }
    }
    if !say("ready") {
        return ExitCode::SUCCESS;
    }
    let deadline = Instant::now() + Duration::from_secs(RUN_SECONDS_MAX);
    let db = &db;
    let failed = std::thread::scope(|scope| {
        let handles: Vec<_> = starts
            .iter()
            .enumerate()
            .map(|(t, start)| scope.spawn(move || commit_loop(db, t as u64, *start, deadline)))
            .collect();
        handles.into_iter().any(|h| h.join().unwrap_or(true))
    });
    if failed {
        return ExitCode::from(3);
    }
    ExitCode::SUCCESS
}

/// Commits and acknowledges until the deadline or a closed stdout; true on an engine error.
fn commit_loop(db: &Database, thread: u64, start: u64, deadline: Instant) -> bool {
    let mut counter = start;
    while Instant::now() < deadline {
        let lsn = match engine_crash::commit(db, thread, counter) {
            Ok(lsn) => lsn,
            Err(e) => {
                eprintln!("engine-crash-child: {e}");
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
