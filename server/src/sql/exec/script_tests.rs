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
