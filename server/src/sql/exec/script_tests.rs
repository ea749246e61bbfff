//! Unit tests of the script runner's bounds (`script.rs`): loops stop at the query's
//! timeout, at a cancellation, and at the memory budget, with errors naming the loop and
//! where it is; SLEEP is cut short by the deadline and by a cancellation.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::time::{Duration, Instant};

use basalt_engine::{Database, Options};
use serde_json::Value as Json;

use crate::query::{run_streaming, Access, CancelToken, Params, QueryError, QueryLimits, QueryRequest};

fn db() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
    (dir, db)
}

fn req(text: &str) -> QueryRequest {
    QueryRequest {
        text: text.into(),
        params: Params::default(),
        access: Access::Admin,
        limit: None,
        transaction: false,
    }
}

fn limits(timeout_ms: Option<u64>, budget: usize) -> QueryLimits {
    QueryLimits {
        timeout: timeout_ms.map(Duration::from_millis),
        memory_budget_bytes: budget,
        ..QueryLimits::default()
    }
}

fn run(db: &Database, text: &str, l: &QueryLimits, cancel: &CancelToken) -> Result<Vec<Json>, QueryError> {
    let mut rows = Vec::new();
    run_streaming(db, &req(text), l, cancel, &mut rows)?;
    Ok(rows)
}

#[test]
fn an_endless_while_stops_at_the_timeout_naming_the_loop() {
    let (_dir, db) = db();
    for script in ["WHILE (true) {}", "LET $i = 0;\nWHILE (true) { LET $i = $i + 1; }"] {
        let started = Instant::now();
        let err = run(&db, script, &limits(Some(200), 1 << 20), &CancelToken::new()).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5), "stopped after {:?}", started.elapsed());
        let text = err.to_string();
        assert!(matches!(err, QueryError::Timeout(_)), "{text}");
        assert!(text.contains("WHILE at line") && text.contains("timeout of 200 ms"), "{text}");
    }
}

#[test]
fn an_endless_while_stops_when_its_client_goes_away() {
    let (_dir, db) = db();
    let token = CancelToken::new();
    let cancel = token.clone();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        cancel.cancel();
    });
    let err = run(&db, "WHILE (1 = 1) { SELECT 1 }", &limits(None, 1 << 20), &token).unwrap_err();
    canceller.join().unwrap();
    assert!(matches!(err, QueryError::Cancelled(_)), "{err}");
    assert!(err.to_string().contains("WHILE at line 1, column 1"), "{err}");
}

#[test]
fn a_loop_that_grows_a_variable_stops_at_the_budget() {
    let (_dir, db) = db();
    let script = "LET $s = 'x';\nWHILE (true) { LET $s = $s + $s; }";
    let err = run(&db, script, &limits(Some(30_000), 1 << 20), &CancelToken::new()).unwrap_err();
    assert!(matches!(err, QueryError::Budget(_)), "{err}");
    assert!(err.to_string().contains("WHILE at line 2, column 1"), "{err}");
}

#[test]
fn a_foreach_over_a_long_list_stops_at_the_timeout() {
    let (_dir, db) = db();
    let script = "FOREACH ($x IN [1, 2, 3]) { WHILE (true) {} }";
    let err = run(&db, script, &limits(Some(100), 1 << 20), &CancelToken::new()).unwrap_err();
    assert!(matches!(err, QueryError::Timeout(_)), "{err}");
    assert!(err.to_string().contains("FOREACH at line 1, column 1: WHILE at line 1"), "{err}");
}

#[test]
fn sleep_is_cut_short_by_the_timeout_and_by_a_cancellation() {
    let (_dir, db) = db();
    let started = Instant::now();
    let err = run(&db, "SLEEP 5000", &limits(Some(100), 1 << 20), &CancelToken::new()).unwrap_err();
    assert!(matches!(err, QueryError::Timeout(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3), "slept {:?}", started.elapsed());
    let token = CancelToken::new();
    token.cancel();
    let err = run(&db, "SLEEP 5000", &limits(None, 1 << 20), &token).unwrap_err();
    assert!(matches!(err, QueryError::Cancelled(_)), "{err}");
    // A short sleep answers OrientDB's row after at least its time.
    let started = Instant::now();
    let rows = run(&db, "SLEEP 30", &limits(Some(10_000), 1 << 20), &CancelToken::new()).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(30));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["operation"], "sleep");
    assert_eq!(rows[0]["millis"], 30);
}

#[test]
fn a_commit_inside_an_if_commits_the_transaction_begun_outside() {
    // BEGIN at the top and COMMIT inside an IF: one transaction across blocks, and the
    // row is OrientDB's (a conflict there would fail: RETRY re-runs only within a block).
    let (_dir, db) = db();
    run(&db, "CREATE CLASS C", &limits(None, 1 << 20), &CancelToken::new()).unwrap();
    let rows = run(
        &db,
        "BEGIN; INSERT INTO C SET a = 1; IF (true) { COMMIT RETRY 3 }",
        &limits(None, 1 << 20),
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["operation"], "commit");
    let rows = run(&db, "SELECT count(*) AS n FROM C", &limits(None, 1 << 20), &CancelToken::new()).unwrap();
    assert_eq!(rows[0]["n"], 1);
}

/// Runs `script` while another thread keeps updating record `k = 1` of class `C`, so that
/// every commit of a transaction that read it conflicts; answers the script's result.
fn against_a_busy_writer(db: &Database, script: &str) -> Result<Vec<Json>, QueryError> {
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut writes = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                run(db, "UPDATE C SET n = n + 1 WHERE k = 1", &limits(None, 1 << 20), &CancelToken::new()).unwrap();
                writes += 1;
            }
            writes
        });
        let result = run(db, script, &limits(Some(30_000), 1 << 20), &CancelToken::new());
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(writer.join().unwrap() > 0);
        result
    })
}

fn busy_db() -> (tempfile::TempDir, Database) {
    let (dir, db) = db();
    let setup = "CREATE CLASS C; CREATE CLASS Log; INSERT INTO C SET k = 1, n = 0";
    run(&db, setup, &limits(None, 1 << 20), &CancelToken::new()).unwrap();
    (dir, db)
}

/// A transaction that reads record k = 1, waits long enough for the writer to change it,
/// and writes it: its commit conflicts on every attempt.
const CONFLICTING: &str = "LET $attempts = 0;\nBEGIN;\nLET $attempts = $attempts + 1;\n\
    UPDATE C SET n = -1 WHERE k = 1;\nINSERT INTO Log SET what = 'tx';\nSLEEP 300;\n";

#[test]
fn commit_retry_else_continue_runs_the_else_and_goes_on() {
    // OScriptExecutionTest.testCommitRetryWithFailureScriptAndContinue: the ELSE block's
    // insert is kept, the transaction's is not, and the script goes on after the COMMIT.
    let (_dir, db) = busy_db();
    let script = format!(
        "{CONFLICTING}COMMIT RETRY 2 ELSE {{ INSERT INTO Log SET what = 'else'; }} AND CONTINUE;\n\
         LET $log = SELECT what FROM Log;\nRETURN [$attempts, $log.what]"
    );
    let rows = against_a_busy_writer(&db, &script).unwrap();
    // RetryStep: 2 attempts in all, counted in a variable that the retry does not reset.
    assert_eq!(rows[0]["value"], serde_json::json!([2, ["else"]]), "{rows:?}");
}

#[test]
fn commit_retry_else_fail_runs_the_else_then_fails_with_the_conflict() {
    // testCommitRetryWithFailureScriptAndFail / ...Fail2 (no AND: FAIL) / testCommitRetryWithFailure.
    for tail in
        ["ELSE { INSERT INTO Log SET what = 'else'; } AND FAIL", "ELSE { INSERT INTO Log SET what = 'else'; }", ""]
    {
        let (_dir, db) = busy_db();
        let script = format!("{CONFLICTING}COMMIT RETRY 2 {tail};\nSELECT 'not reached' AS x");
        let err = against_a_busy_writer(&db, &script).unwrap_err();
        assert!(matches!(err, QueryError::Engine(basalt_engine::Error::Conflict { .. })), "{tail}: {err}");
        let log = run(&db, "SELECT what FROM Log", &limits(None, 1 << 20), &CancelToken::new()).unwrap();
        let expected = if tail.is_empty() {
            serde_json::json!([])
        } else {
            serde_json::json!([{"@type": "d", "@version": 0, "what": "else"}])
        };
        assert_eq!(Json::Array(log), expected, "{tail}");
    }
}

#[test]
fn commit_retry_else_continue_alone_goes_on() {
    // testCommitRetryWithFailureAndContinue: ELSE CONTINUE, then the next statement runs.
    let (_dir, db) = busy_db();
    let script = format!("{CONFLICTING}COMMIT RETRY 1 ELSE CONTINUE;\nINSERT INTO Log SET what = 'after'");
    against_a_busy_writer(&db, &script).unwrap();
    let log = run(&db, "SELECT what FROM Log", &limits(None, 1 << 20), &CancelToken::new()).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["what"], "after");
}

#[test]
fn the_deepest_blocks_the_parser_accepts_run_in_a_small_stack() {
    // Queries run on threads with 2 MiB of stack (tokio's blocking pool): nested blocks, as
    // deep as the parser takes them, must run there without overflowing.
    let (_dir, db) = db();
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let mut deepest = 0;
            for n in [10, 50, 100, 150, 200, 250] {
                let script = format!("{}RETURN {n}{}", "IF (true) { ".repeat(n), " }".repeat(n));
                if crate::sql::parse_script(&script).is_err() {
                    break;
                }
                let rows = run(&db, &script, &limits(Some(10_000), 1 << 20), &CancelToken::new()).unwrap();
                assert_eq!(rows[0]["value"], n);
                deepest = n;
            }
            deepest
        })
        .unwrap();
    let deepest = handle.join().expect("no stack overflow");
    assert!(deepest >= 50, "only {deepest} nested blocks parse");
}
