//! The SQL of every fact in `tests/data/grateful-dead/expected.json` (computed from the
//! GraphML by `expected.py`, independently of Basalt) runs against the graph loaded with the
//! engine's loader, and must give the fact's value.
//!
//! How results are compared: a scalar fact is the single field of the single row; a list of
//! scalars is that field over the rows; objects compare on the row's fields (a fact may carry
//! more, e.g. `distinct_songs` next to `songs`). Rows of GROUP BY queries compare as sets,
//! as `expected.py` says. Numbers compare by value (`337` equals `337.0`).

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::path::PathBuf;

use basalt_engine::import::{load, GraphmlReader, LoadOptions};
use basalt_engine::{Database, Options};
use basalt_server::query::{run, Access, Params, QueryRequest};
use serde_json::Value as Json;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every fact: (path, fact object).
fn facts(path: &str, j: &Json, out: &mut Vec<(String, Json)>) {
    if let Some(o) = j.as_object() {
        if o.contains_key("sql") && o.contains_key("value") {
            out.push((path.to_string(), j.clone()));
            return;
        }
        for (k, v) in o {
            facts(&format!("{path}/{k}"), v, out);
        }
    }
}

/// A result row without OrientDB's `@type` / `@version` of projections.
fn fields(row: &Json) -> serde_json::Map<String, Json> {
    let mut m = row.as_object().cloned().unwrap_or_default();
    m.remove("@type");
    if m.get("@version") == Some(&Json::from(0)) {
        m.remove("@version");
    }
    m
}

fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// The single field of a row, or why not.
fn single(row: &Json) -> Result<Json, String> {
    let f = fields(row);
    if f.len() != 1 {
        return Err(format!("expected one field, got {}", Json::Object(f)));
    }
    Ok(f.into_iter().next().map(|(_, v)| v).unwrap_or(Json::Null))
}

/// Whether a row's fields all agree with an expected object.
fn row_matches(row: &Json, expected: &Json) -> bool {
    let f = fields(row);
    !f.is_empty() && f.iter().all(|(k, v)| expected.get(k).is_some_and(|e| same(v, e)))
}

fn compare(sql: &str, expected: &Json, rows: &[Json]) -> Result<(), String> {
    let as_set = sql.contains("GROUP BY");
    match expected {
        Json::Array(items) => {
            if rows.len() != items.len() {
                return Err(format!(
                    "expected {} rows, got {}: {}",
                    items.len(),
                    rows.len(),
                    Json::from(rows.to_vec())
                ));
            }
            if items.iter().all(|i| i.is_object()) {
                if as_set {
                    let mut left: Vec<&Json> = items.iter().collect();
                    for r in rows {
                        let at = left.iter().position(|e| row_matches(r, e)).ok_or(format!("unexpected row {r}"))?;
                        left.remove(at);
                    }
                } else {
                    for (r, e) in rows.iter().zip(items) {
                        if !row_matches(r, e) {
                            return Err(format!("row {r} does not match {e}"));
                        }
                    }
                }
                return Ok(());
            }
            let mut got: Vec<Json> = rows.iter().map(single).collect::<Result<_, _>>()?;
            let mut want = items.clone();
            if as_set {
                got.sort_by_key(|v| v.to_string());
                want.sort_by_key(|v| v.to_string());
            }
            if !same(&Json::Array(got.clone()), &Json::Array(want.clone())) {
                return Err(format!("expected {}, got {}", Json::Array(want), Json::Array(got)));
            }
            Ok(())
        }
        Json::Object(_) => match rows {
            [r] if row_matches(r, expected) => Ok(()),
            _ => Err(format!("expected one row like {expected}, got {}", Json::from(rows.to_vec()))),
        },
        scalar => match rows {
            [r] => {
                let v = single(r)?;
                if same(&v, scalar) {
                    Ok(())
                } else {
                    Err(format!("expected {scalar}, got {v}"))
                }
            }
            _ => Err(format!("expected one row, got {}", Json::from(rows.to_vec()))),
        },
    }
}

#[test]
fn every_fact_of_expected_json_holds_through_sql() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Database::create(dir.path(), Options::default()).unwrap();
    let file = std::fs::File::open(root().join("data/grateful-dead/graph-example-2.xml")).unwrap();
    let reader = GraphmlReader::new(std::io::BufReader::new(file), "graph-example-2.xml");
    load(&db, reader, LoadOptions { batch: 1000, ..LoadOptions::default() }, |_| {}).unwrap();

    let text = std::fs::read_to_string(root().join("tests/data/grateful-dead/expected.json")).unwrap();
    let expected: Json = serde_json::from_str(&text).unwrap();
    let mut all = Vec::new();
    facts("", &expected, &mut all);
    assert!(all.len() >= 100, "expected.json holds {} facts", all.len());

    let mut failures = Vec::new();
    let mut checked = 0;
    for (path, fact) in &all {
        for key in ["sql", "select_sql"] {
            let Some(sql) = fact.get(key).and_then(|s| s.as_str()) else { continue };
            let req = QueryRequest {
                text: sql.to_string(),
                params: Params::default(),
                access: Access::Read,
                limit: None,
                transaction: false,
            };
            checked += 1;
            let outcome = match run(&db, &req) {
                Ok(rows) => compare(sql, &fact["value"], &rows),
                Err(e) => Err(format!("error: {e}")),
            };
            if let Err(why) = outcome {
                failures.push(format!("{path} ({key}): {sql}\n    {why}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} queries disagree with expected.json:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_comparison_catches_wrong_answers() {
    let row = |j: Json| vec![j];
    let sql = "SELECT count(*) FROM V";
    assert!(compare(sql, &Json::from(6), &row(serde_json::json!({"@type": "d", "@version": 0, "count(*)": 6}))).is_ok());
    assert!(
        compare(sql, &Json::from(5), &row(serde_json::json!({"@type": "d", "@version": 0, "count(*)": 6}))).is_err()
    );
    assert!(compare(
        sql,
        &serde_json::json!(["a", "b"]),
        &[serde_json::json!({"n": "b"}), serde_json::json!({"n": "a"})]
    )
    .is_err());
    let grouped = "SELECT x, count(*) AS c FROM V GROUP BY x";
    let want = serde_json::json!([{"x": null, "c": 1}, {"x": "a", "c": 2}]);
    assert!(compare(grouped, &want, &[serde_json::json!({"x": "a", "c": 2}), serde_json::json!({"x": null, "c": 1})])
        .is_ok());
    assert!(compare(grouped, &want, &[serde_json::json!({"x": "a", "c": 3}), serde_json::json!({"x": null, "c": 1})])
        .is_err());
}
