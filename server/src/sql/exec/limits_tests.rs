//! Unit tests of the executor's limits through `query::run_streaming`: cancellation and
//! timeouts stop a running query (its loops check the token), the `TIMEOUT` clause, the
//! memory budget (a full sort is refused where ORDER BY ... LIMIT is not), and streaming
//! (rows reach the sink before the query ends, and are not collected).

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::time::{Duration, Instant};

use basalt_engine::{Database, Document, Options, SchemaRequest, Transaction, Value};
use serde_json::Value as Json;

use crate::query::{run_streaming, Access, CancelToken, Params, QueryError, QueryLimits, QueryRequest, RowSink};

/// Records in class `N` (`n` = 0, 1, ...).
const ROWS: i64 = 5_000;
/// A query that runs for minutes: per record, a scan of every record.
const SLOW: &str = "SELECT n FROM N WHERE (SELECT count(*) AS c FROM N WHERE n = $parent.$current.n) > 5";

fn numbers() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
    let mut tx = Transaction::new();
    tx.schema(SchemaRequest::CreateClass { name: "N".into(), superclass: None, is_abstract: false });
    db.commit(&tx).unwrap();
    let mut tx = Transaction::new();
    for i in 0..ROWS {
        tx.create("N", Document::new().with("n", Value::Long(i)).with("pad", Value::String("x".repeat(100))));
    }
    db.commit(&tx).unwrap();
    (dir, db)
}

fn req(text: &str) -> QueryRequest {
    QueryRequest { text: text.into(), params: Params::default(), access: Access::Read, limit: None, transaction: false }
}

fn limits(timeout_ms: Option<u64>, budget: usize) -> QueryLimits {
    QueryLimits {
        timeout: timeout_ms.map(Duration::from_millis),
        memory_budget_bytes: budget,
        ..QueryLimits::default()
    }
}

fn run(db: &Database, text: &str, l: &QueryLimits) -> Result<Vec<Json>, QueryError> {
    let mut rows = Vec::new();
    run_streaming(db, &req(text), l, &CancelToken::new(), &mut rows)?;
    Ok(rows)
}

fn ns(rows: &[Json]) -> Vec<i64> {
    rows.iter().map(|r| r["n"].as_i64().unwrap()).collect()
}

#[test]
fn a_cancelled_query_stops_at_once() {
    let (_dir, db) = numbers();
    let token = CancelToken::new();
    let cancel = token.clone();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        cancel.cancel();
        Instant::now()
    });
    let mut rows = Vec::new();
    let err = run_streaming(&db, &req(SLOW), &limits(None, 1 << 30), &token, &mut rows).unwrap_err();
    let cancelled_at = canceller.join().unwrap();
    assert!(matches!(err, QueryError::Cancelled(_)), "{err}");
    assert!(
        cancelled_at.elapsed() < Duration::from_millis(500),
        "stopped {:?} after the cancel",
        cancelled_at.elapsed()
    );
}

#[test]
fn a_timeout_stops_the_query_naming_it() {
    let (_dir, db) = numbers();
    let started = Instant::now();
    let err = run(&db, SLOW, &limits(Some(200), 1 << 30)).unwrap_err();
    assert!(matches!(err, QueryError::Timeout(_)), "{err}");
    assert!(err.to_string().contains("timeout of 200 ms"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2), "stopped after {:?}", started.elapsed());
    // SLEEP is cut short too.
    let started = Instant::now();
    let err = run(&db, "SLEEP 5000; SELECT 1 AS x", &limits(Some(100), 1 << 30)).unwrap_err();
    assert!(matches!(err, QueryError::Timeout(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn the_timeout_clause_fails_or_returns_what_it_found() {
    let (_dir, db) = numbers();
    let none = limits(None, 1 << 30);
    let err = run(&db, &format!("{SLOW} TIMEOUT 100"), &none).unwrap_err();
    assert!(err.to_string().contains("TIMEOUT 100"), "{err}");
    let err = run(&db, &format!("{SLOW} TIMEOUT 100 EXCEPTION"), &none).unwrap_err();
    assert!(matches!(err, QueryError::Timeout(_)), "{err}");
    // RETURN: the rows found by then (none pass this WHERE), sorted as asked.
    let started = Instant::now();
    assert!(run(&db, &format!("{SLOW} TIMEOUT 100 RETURN"), &none).unwrap().is_empty());
    assert!(started.elapsed() < Duration::from_secs(2));
    let slow_ones = "SELECT n FROM N WHERE (SELECT count(*) AS c FROM N WHERE n = $parent.$current.n) = 1 \
                     ORDER BY n DESC TIMEOUT 1500 RETURN";
    let found = ns(&run(&db, slow_ones, &none).unwrap());
    assert!(!found.is_empty() && found.len() < ROWS as usize, "{} rows", found.len());
    let mut sorted = found.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(found, sorted, "what was found is still sorted");
    // A clause that does not fire changes nothing.
    assert_eq!(run(&db, "SELECT count(*) AS c FROM N TIMEOUT 60000", &none).unwrap()[0]["c"], ROWS);
}

#[test]
fn the_budget_refuses_a_full_sort_but_not_order_by_limit() {
    let (_dir, db) = numbers();
    let small = limits(None, 256 << 10);
    let err = run(&db, "SELECT n, pad FROM N ORDER BY n", &small).unwrap_err();
    assert!(matches!(err, QueryError::Budget(_)), "{err}");
    assert!(err.to_string().contains("budget of 262144 bytes"), "{err}");
    let top = run(&db, "SELECT n, pad FROM N ORDER BY n DESC LIMIT 3", &small).unwrap();
    assert_eq!(ns(&top), vec![ROWS - 1, ROWS - 2, ROWS - 3]);
    let page = run(&db, "SELECT n, pad FROM N ORDER BY n SKIP 100 LIMIT 2", &small).unwrap();
    assert_eq!(ns(&page), vec![100, 101]);
    // Groups, DISTINCT and subquery results count too.
    assert!(matches!(run(&db, "SELECT pad, n FROM N GROUP BY n", &small), Err(QueryError::Budget(_))));
    assert!(matches!(run(&db, "SELECT DISTINCT n, pad FROM N", &small), Err(QueryError::Budget(_))));
    let sub = "SELECT n FROM N WHERE n IN (SELECT n FROM (SELECT n, pad FROM N)) LIMIT 1";
    assert!(matches!(run(&db, sub, &small), Err(QueryError::Budget(_))));
    // The same queries fit a larger budget, and ORDER BY ... LIMIT agrees with the full sort.
    let big = limits(None, 64 << 20);
    let all = ns(&run(&db, "SELECT n FROM N ORDER BY n DESC", &big).unwrap());
    assert_eq!(&all[..3], &ns(&top)[..]);
    assert_eq!(run(&db, "SELECT DISTINCT n, pad FROM N", &big).unwrap().len(), ROWS as usize);
}

#[test]
fn aggregates_that_keep_values_count_against_the_budget() {
    let (_dir, db) = numbers();
    let small = limits(None, 256 << 10);
    // Each keeps every row's 100-byte pad: 500 kB over 5000 rows.
    for f in [
        "median(pad)",
        "mode(pad)",
        "percentile(pad, 0.5)",
        "unionAll(pad)",
        "intersect(pad)",
        "symmetricDifference(pad)",
    ] {
        let err = run(&db, &format!("SELECT {f} AS x FROM N"), &small).unwrap_err();
        assert!(matches!(err, QueryError::Budget(_)), "{f}: {err}");
    }
    // variance keeps running sums only: n = 0..4999 has population variance (N^2 - 1) / 12.
    let v = run(&db, "SELECT variance(n) AS v, median(n) AS m FROM N", &limits(None, 64 << 20)).unwrap();
    let expected = ((ROWS * ROWS - 1) as f64) / 12.0;
    assert!((v[0]["v"].as_f64().unwrap() - expected).abs() < 1e-6, "{}", v[0]);
    // Position 0.5 * 5001 = 2500.5: halfway between the 2500th and 2501st values.
    assert_eq!(v[0]["m"].as_f64().unwrap(), 2499.5);
    assert!(run(&db, "SELECT variance(n) AS v FROM N", &small).is_ok());
}

/// A sink that hangs up after `n` rows.
struct HangUp {
    /// Rows taken.
    got: usize,
    /// Rows to take.
    n: usize,
}

impl RowSink for HangUp {
    fn row(&mut self, _: Json) -> Result<(), QueryError> {
        self.got += 1;
        if self.got >= self.n {
            return Err(QueryError::Cancelled("gone".into()));
        }
        Ok(())
    }
}

#[test]
fn a_select_streams_its_rows_without_collecting_them() {
    let (_dir, db) = numbers();
    // A result far larger than the budget: it is not held, so it is not refused.
    let tiny = limits(None, 64 << 10);
    let rows = run(&db, "SELECT n, pad FROM N", &tiny).unwrap();
    assert_eq!(ns(&rows), (0..ROWS).collect::<Vec<_>>());
    // The sink sees rows as they come: a sink that fails stops the query there.
    let mut sink = HangUp { got: 0, n: 10 };
    let err = run_streaming(&db, &req(SLOW.replace("> 5", "> 0").as_str()), &tiny, &CancelToken::new(), &mut sink);
    assert!(matches!(err, Err(QueryError::Cancelled(_))));
    assert_eq!(sink.got, 10);
}
