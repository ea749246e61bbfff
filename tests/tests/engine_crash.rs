//! Crash test of the engine: a child process (`engine-crash-child`) commits transactions from
//! several threads (group commit, checkpoints every few commits) and is SIGKILLed at a
//! random moment, sometimes right after it starts (while it opens and recovers). After each
//! kill the database is opened here, and:
//! - the applied transactions (the `Log` documents, in log order) extend those found after
//!   the previous round; each thread's are a gapless prefix `0, 1, 2, ...` of what it
//!   committed and include every transaction the child acknowledged, at the LSN it was
//!   acknowledged with (unacknowledged ones may be there too: durable, but the child was
//!   killed before it acknowledged them);
//! - nothing is half applied: each thread's counter equals its number of `Log` documents,
//!   the digest equals the one recomputed from every record, and digest and applied LSN
//!   equal those of a model database into which exactly the applied transactions were
//!   replayed, in log order (`basalt_tests::engine_crash` makes each one depend only on its
//!   thread's records, so the replay reproduces every record, version and RID);
//! - the database takes one more transaction, then is closed (or, every other round,
//!   dropped without closing, so the child's next open redoes the log).
//!
//! 200 rounds by default; `BASALT_CRASH_ROUNDS=n` runs more. `BASALT_CRASH_SEED=s` replays
//! the kill delays of a run (the seed is printed with every failure). With `--nocapture`
//! the test prints one line of totals: how many rounds finished an interrupted checkpoint
//! from the double-write file, ignored a torn one, or cut a torn WAL tail.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use basalt_engine::{Database, Record};
use basalt_tests::crash::{run_child, Ack};
use basalt_tests::engine_crash::{self, TEST_THREAD};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How long the child may take to open the database before the round fails.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The model: a database into which the applied transactions are replayed in log order.
struct Model {
    /// The model database.
    db: Database,
    /// Transactions replayed so far, as (thread, counter), in log order.
    history: Vec<(u64, u64)>,
}

impl Model {
    fn replay(&mut self, t: u64, c: u64) -> Result<(), String> {
        engine_crash::commit(&self.db, t, c).map_err(|e| format!("model: {e}"))?;
        self.history.push((t, c));
        Ok(())
    }
}

/// What the checks after one round saw of recovery.
#[derive(Default)]
struct Recovery {
    doublewrite_finished: bool,
    doublewrite_ignored: bool,
    wal_torn_tail: bool,
    redone: u64,
}

/// Every record of every cluster, in RID order.
fn all_records(db: &Database) -> Result<Vec<Record>, String> {
    let snap = db.snapshot();
    let mut out = Vec::new();
    for id in snap.schema().clusters.keys() {
        for r in snap.scan_cluster(*id) {
            out.push(r.map_err(|e| e.to_string())?);
        }
    }
    Ok(out)
}

/// Names the first record that differs between the database and the model.
fn first_difference(db: &Database, model: &Database) -> String {
    let (Ok(a), Ok(b)) = (all_records(db), all_records(model)) else { return "records unreadable".into() };
    for (x, y) in a.iter().zip(&b) {
        if x != y {
            return format!("first difference: database has {x:?}, the model {y:?}");
        }
    }
    format!("the database has {} records, the model {}", a.len(), b.len())
}

/// Checks the database against the model, which must hold the same transactions.
fn same_as_model(db: &Database, model: &Model) -> Result<(), String> {
    let (d, m) = (db.snapshot().digest(), model.db.snapshot().digest());
    if d != m {
        return Err(format!(
            "digest {} at LSN {} differs from the model's {} at LSN {}: {}",
            d.hex(),
            d.lsn,
            m.hex(),
            m.lsn,
            first_difference(db, &model.db)
        ));
    }
    Ok(())
}

/// Opens the database after a kill and checks it (see the module docs).
fn check_round(dir: &Path, model: &mut Model, acks: &[Ack], close: bool) -> Result<Recovery, String> {
    let (db, report) = Database::open(dir, engine_crash::options()).map_err(|e| format!("open: {e}"))?;
    if !report.failed_entries.is_empty() {
        return Err(format!("redo failed entries: {:?}", report.failed_entries));
    }
    let recovery = Recovery {
        doublewrite_finished: report.repair.pages_rewritten > 0,
        doublewrite_ignored: report.repair.ignored_doublewrite.is_some(),
        wal_torn_tail: report.wal.torn_tail.is_some(),
        redone: report.redone_entries,
    };
    let applied = {
        let snap = db.snapshot();
        let (d, full) = (snap.digest(), snap.full_digest().map_err(|e| e.to_string())?);
        if d != full {
            return Err(format!("the digest {} is not the recomputed {}", d.hex(), full.hex()));
        }
        let applied = engine_crash::applied(&snap)?;
        let known = model.history.len();
        if applied.len() < known || applied[..known] != model.history[..] {
            return Err(format!("the {known} transactions applied before this round are not all there, in order"));
        }
        let mut per_thread: BTreeMap<u64, u64> = BTreeMap::new();
        for (t, c) in &applied {
            let next = per_thread.entry(*t).or_default();
            if c != next {
                return Err(format!("thread {t}: transaction {c} applied where {next} was next"));
            }
            *next += 1;
        }
        for t in 0..=TEST_THREAD {
            let n = per_thread.get(&t).copied().unwrap_or(0);
            let counter = engine_crash::counter(&snap, t)?;
            if counter != n {
                return Err(format!("thread {t}: counter says {counter} transactions, the log documents {n}"));
            }
        }
        for (lsn, t, c) in acks {
            if *c >= per_thread.get(t).copied().unwrap_or(0) {
                return Err(format!("acknowledged transaction {c} of thread {t} (LSN {lsn}) is missing"));
            }
            // LSN 1 is the setup; then one entry per transaction, in log order.
            let logged = usize::try_from(*lsn).ok().and_then(|l| l.checked_sub(2)).and_then(|i| applied.get(i));
            if logged != Some(&(*t, *c)) {
                return Err(format!("LSN {lsn} was acknowledged for ({t}, {c}) but holds {logged:?}"));
            }
        }
        if snap.applied_lsn().0 != 1 + applied.len() as u64 {
            return Err(format!("applied LSN {} after {} transactions", snap.applied_lsn(), applied.len()));
        }
        applied
    };
    for (t, c) in &applied[model.history.len()..] {
        model.replay(*t, *c)?;
    }
    same_as_model(&db, model)?;

    // The database takes writes.
    let c = engine_crash::counter(&db.snapshot(), TEST_THREAD)?;
    engine_crash::commit(&db, TEST_THREAD, c).map_err(|e| format!("the database refuses a write: {e}"))?;
    model.replay(TEST_THREAD, c)?;
    same_as_model(&db, model)?;
    if close {
        db.close().map_err(|e| format!("close: {e}"))?;
    }
    Ok(recovery)
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(value.parse().unwrap_or_else(|_| panic!("{name}={value:?} is not a number")))
}

#[test]
fn acknowledged_transactions_survive_sigkill_whole() {
    let rounds = env_u64("BASALT_CRASH_ROUNDS").unwrap_or(200);
    let seed = env_u64("BASALT_CRASH_SEED").unwrap_or_else(|| rand::thread_rng().gen());
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let model_dir = tempfile::tempdir().expect("tempdir");

    let (db, _) = Database::create(dir.path(), engine_crash::options()).expect("create the database");
    engine_crash::setup(&db).expect("setup");
    db.close().expect("close");
    let (model_db, _) = Database::create(model_dir.path(), basalt_engine::Options::default()).expect("create model");
    engine_crash::setup(&model_db).expect("model setup");
    let mut model = Model { db: model_db, history: Vec::new() };

    let (mut early_kills, mut acked, mut finished, mut ignored, mut torn, mut redone) = (0u64, 0, 0, 0, 0, 0);
    let started = std::time::Instant::now();
    for round in 0..rounds {
        let early = rng.gen_ratio(1, 8);
        let delay = Duration::from_millis(if early { rng.gen_range(0..=3) } else { rng.gen_range(1..=30) });
        let close = rng.gen_bool(0.5);
        let fail = |what: String| -> ! {
            panic!(
                "round {round} (kill after {delay:?}{}), replay with BASALT_CRASH_SEED={seed}: {what}",
                if early { " from spawn" } else { "" }
            )
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_engine-crash-child"));
        child.arg(dir.path());
        let run = run_child(child, early, delay, READY_TIMEOUT).unwrap_or_else(|e| fail(e));
        let recovery = check_round(dir.path(), &mut model, &run.acks, close).unwrap_or_else(|e| fail(e));
        early_kills += u64::from(run.killed_early);
        acked += run.acks.len() as u64;
        finished += u64::from(recovery.doublewrite_finished);
        ignored += u64::from(recovery.doublewrite_ignored);
        torn += u64::from(recovery.wal_torn_tail);
        redone += recovery.redone;
    }
    println!(
        "engine_crash: {rounds} rounds in {:.1?} (seed {seed}): {acked} acknowledged transactions, {} applied; \
         {finished} rounds finished an interrupted checkpoint, {ignored} ignored a torn double-write file, \
         {torn} cut a torn WAL tail; {redone} entries redone; {early_kills} kills before the child was ready",
        started.elapsed(),
        model.history.len()
    );
}
