//! Crash test of the WAL: a child process (`wal-crash-child`) appends from 8 threads with
//! group commit and is SIGKILLed at a random moment, sometimes right after it starts (while
//! it recovers the log). After each kill the log is reopened here and must hold every
//! append the child acknowledged, intact, with dense LSNs; every other entry must be one
//! the child wrote, each thread's entries a gapless prefix of what it appended. Then one
//! more entry is appended (the log still accepts appends), older segments are purged, and
//! the log is closed for the next round.
//!
//! 200 rounds by default; `BASALT_CRASH_ROUNDS=n` runs more. `BASALT_CRASH_SEED=s` replays
//! the kill delays of a run (the seed is printed with every failure). With `--nocapture`
//! the test prints one line of totals, among them how many rounds recovered a torn tail.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use basalt_tests::crash::{run_child, Ack};
use basalt_tests::wal_crash::{parse_payload, payload, LOG, SEGMENT_BYTES_MAX};
use basalt_wal::{DiskStorage, Kind, Lsn, Wal, WalOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Appending threads in the child.
const CHILD_THREADS: u64 = 8;
/// How long the child may take to open the log before the round fails.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Kind of the entries this test appends between rounds.
const PARENT_KIND: Kind = Kind(200);

fn options() -> WalOptions {
    WalOptions { segment_bytes_max: SEGMENT_BYTES_MAX, ..WalOptions::new(LOG) }
}

fn open(dir: &Path) -> Result<(Wal, basalt_wal::RecoveryReport), String> {
    let storage = DiskStorage::create_dir(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    Wal::open(Arc::new(storage), options()).map_err(|e| format!("open: {e}"))
}

/// What the checks after one round found.
struct Checked {
    /// LSN of the entry this test appended after the round.
    parent_lsn: u64,
    /// Whether recovery cut a torn tail.
    torn_tail: bool,
    /// Entries of the round found in the log.
    entries: u64,
}

/// Reopens the log after round `round` and checks it; `parent_lsn` is the entry appended
/// after the previous round.
fn check_round(dir: &Path, round: u64, parent_lsn: u64, acks: &[Ack]) -> Result<Checked, String> {
    let (wal, report) = open(dir)?;
    let last = wal.status().last_lsn.0;
    let max_ack = acks.iter().map(|a| a.0).max().unwrap_or(0);
    if last < max_ack.max(parent_lsn) {
        return Err(format!("log ends at LSN {last}, but LSN {} was acknowledged", max_ack.max(parent_lsn)));
    }
    // Read from the previous parent entry: it and everything after it.
    let mut found: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    let mut next_counter: BTreeMap<u64, u64> = BTreeMap::new();
    let mut expected_lsn = parent_lsn;
    for entry in wal.reader(Lsn(parent_lsn)) {
        let entry = entry.map_err(|e| format!("read at LSN {expected_lsn}: {e}"))?;
        if entry.lsn.0 != expected_lsn {
            return Err(format!("LSNs not dense: got {} where {expected_lsn} was next", entry.lsn));
        }
        expected_lsn += 1;
        if entry.lsn.0 == parent_lsn {
            if entry.kind != PARENT_KIND || entry.payload != parent_payload(round) {
                return Err(format!("the entry appended before round {round} (LSN {parent_lsn}) is not intact"));
            }
            continue;
        }
        let Some((r, t, c)) = parse_payload(&entry.payload) else {
            return Err(format!("LSN {}: not a payload the child writes", entry.lsn));
        };
        if r != round || entry.kind != Kind(t as u8) || entry.payload != payload(r, t, c) {
            return Err(format!("LSN {}: payload or kind does not match round {r} thread {t} counter {c}", entry.lsn));
        }
        // A thread appends one entry at a time, so its entries form a gapless prefix.
        let next = next_counter.entry(t).or_insert(0);
        if c != *next {
            return Err(format!("LSN {}: thread {t} counter {c}, expected counter {next}", entry.lsn));
        }
        *next += 1;
        found.insert(entry.lsn.0, (t, c));
    }
    if expected_lsn != last + 1 {
        return Err(format!("the reader stopped at LSN {expected_lsn}, the log ends at {last}"));
    }
    for (lsn, t, c) in acks {
        if found.get(lsn) != Some(&(*t, *c)) {
            return Err(format!("acknowledged LSN {lsn} (thread {t} counter {c}) is {:?} in the log", found.get(lsn)));
        }
    }
    let new_parent = wal
        .append(PARENT_KIND, &parent_payload(round + 1))
        .map_err(|e| format!("the log refuses a new append: {e}"))?;
    if new_parent.0 != last + 1 {
        return Err(format!("new append got LSN {new_parent}, expected {}", last + 1));
    }
    // Keep the log small: recovery checks every sealed segment on each open.
    wal.purge_before(Lsn(parent_lsn)).map_err(|e| format!("purge: {e}"))?;
    wal.close().map_err(|e| format!("close: {e}"))?;
    Ok(Checked { parent_lsn: new_parent.0, torn_tail: report.torn_tail.is_some(), entries: found.len() as u64 })
}

fn parent_payload(round: u64) -> Vec<u8> {
    format!("appended by the test before round {round}").into_bytes()
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(value.parse().unwrap_or_else(|_| panic!("{name}={value:?} is not a number")))
}

#[test]
fn acknowledged_appends_survive_sigkill() {
    let rounds = env_u64("BASALT_CRASH_ROUNDS").unwrap_or(200);
    let seed = env_u64("BASALT_CRASH_SEED").unwrap_or_else(|| rand::thread_rng().gen());
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("tempdir");

    let (wal, _) = open(dir.path()).expect("create the log");
    let mut parent_lsn = wal.append(PARENT_KIND, &parent_payload(0)).expect("first append").0;
    wal.close().expect("close");

    let (mut torn, mut early_kills, mut acked, mut entries) = (0u64, 0u64, 0u64, 0u64);
    for round in 0..rounds {
        let early = rng.gen_ratio(1, 8);
        let delay = Duration::from_millis(if early { rng.gen_range(0..=2) } else { rng.gen_range(2..=32) });
        let fail = |what: String| -> ! {
            panic!(
                "round {round} (kill after {delay:?}{}), replay with BASALT_CRASH_SEED={seed}: {what}",
                if early { " from spawn" } else { "" }
            )
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_wal-crash-child"));
        child.arg(dir.path()).arg(round.to_string()).arg(CHILD_THREADS.to_string());
        let run = run_child(child, early, delay, READY_TIMEOUT).unwrap_or_else(|e| fail(e));
        let checked = check_round(dir.path(), round, parent_lsn, &run.acks).unwrap_or_else(|e| fail(e));
        parent_lsn = checked.parent_lsn;
        torn += u64::from(checked.torn_tail);
        early_kills += u64::from(run.killed_early);
        acked += run.acks.len() as u64;
        entries += checked.entries;
    }
    println!(
        "wal_crash: {rounds} rounds (seed {seed}): {acked} acknowledged appends, {entries} entries found, \
         {torn} rounds recovered a torn tail, {early_kills} kills before the child was ready"
    );
}
