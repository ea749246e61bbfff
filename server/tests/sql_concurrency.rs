//! Concurrent writers through SQL: `UPDATE ... WHERE` re-runs on a version conflict, so
//! increments from several threads are never lost; `COMMIT RETRY` does the same for a
//! transaction.

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use basalt_engine::{Database, Options};
use basalt_server::query::{run, Access, Params, QueryRequest};
use serde_json::Value as Json;

fn sql(db: &Database, text: &str) -> Vec<Json> {
    let req = QueryRequest {
        text: text.into(),
        params: Params::default(),
        access: Access::Admin,
        limit: None,
        transaction: false,
    };
    match run(db, &req) {
        Ok(rows) => rows,
        Err(e) => panic!("{text}: {e}"),
    }
}

#[test]
fn concurrent_updates_lose_no_increment() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
    sql(&db, "CREATE CLASS Counter");
    sql(&db, "INSERT INTO Counter SET name = 'a', n = 0");
    sql(&db, "INSERT INTO Counter SET name = 'b', n = 0");
    const THREADS: usize = 4;
    const EACH: usize = 20;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let db = &db;
            s.spawn(move || {
                for _ in 0..EACH {
                    let rows = sql(db, "UPDATE Counter INCREMENT n = 1 WHERE name = 'a'");
                    assert_eq!(rows[0]["count"], Json::from(1), "thread {t}");
                    sql(db, "BEGIN; UPDATE Counter INCREMENT n = 1 WHERE name = 'b'; COMMIT RETRY 100");
                }
            });
        }
    });
    let rows = sql(&db, "SELECT name, n FROM Counter ORDER BY name");
    assert_eq!(rows[0]["n"], Json::from(THREADS * EACH), "{rows:?}");
    assert_eq!(rows[1]["n"], Json::from(THREADS * EACH), "{rows:?}");
}
