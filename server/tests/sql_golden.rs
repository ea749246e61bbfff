//! Golden tests of the SQL executor: every `tests/sql/*.sql` script runs, request by request,
//! against a fresh database through `basalt_server::query::run`, and the transcript (each
//! request and its pretty JSON result or error) must equal `tests/sql/*.out`.
//!
//! Script format: requests are separated by blank lines; a request may span lines (a
//! `;`-separated script is one request). Lines starting with `--` before a request are
//! echoed as comments, except directives: `-- access: read|write|admin` (default admin),
//! `-- params: <JSON array or object>`, `-- limit: <n>`, `-- transaction: true`.
//!
//! A mismatch prints a line diff. `UPDATE_GOLDENFILES=1 cargo test --test sql_golden`
//! rewrites the expectations (review the diff before committing them).

#![allow(clippy::unwrap_used)] // Tests fail loudly on any unexpected error.

use std::path::{Path, PathBuf};

use basalt_engine::{Database, Options};
use basalt_server::query::{run, Access, Params, QueryError, QueryRequest};
use serde_json::Value as Json;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sql")
}

/// Replaces values that change from run to run (timings).
fn sanitize(j: &mut Json) {
    match j {
        Json::Object(m) => {
            for (k, v) in m.iter_mut() {
                if k == "elapsedMicros" {
                    *v = Json::String("<elapsed>".into());
                } else {
                    sanitize(v);
                }
            }
        }
        Json::Array(items) => items.iter_mut().for_each(sanitize),
        _ => {}
    }
}

/// Runs one script file and returns its transcript.
fn transcript(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let options = Options { wal_segment_bytes: 1 << 20, ..Options::default() };
    let (db, _) = Database::create(tmp.path().join("db"), options).unwrap();
    let mut out = String::new();
    for block in text.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        let mut access = Access::Admin;
        let mut params = Params::default();
        let mut limit = None;
        let mut transaction = false;
        let mut sql = Vec::new();
        for line in block.lines() {
            let directive = line.strip_prefix("-- ").and_then(|l| l.split_once(": "));
            match directive {
                Some(("access", a)) => {
                    access = match a.trim() {
                        "read" => Access::Read,
                        "write" => Access::Write,
                        _ => Access::Admin,
                    };
                    out.push_str(line);
                    out.push('\n');
                }
                Some(("params", p)) => {
                    params = Params::from_json(Some(&serde_json::from_str(p).unwrap())).unwrap();
                    out.push_str(line);
                    out.push('\n');
                }
                Some(("limit", l)) => {
                    limit = Some(l.trim().parse().unwrap());
                    out.push_str(line);
                    out.push('\n');
                }
                Some(("transaction", t)) => {
                    transaction = t.trim() == "true";
                    out.push_str(line);
                    out.push('\n');
                }
                _ if line.starts_with("--") && sql.is_empty() => {
                    out.push_str(line);
                    out.push('\n');
                }
                _ => sql.push(line),
            }
        }
        if sql.is_empty() {
            out.push('\n');
            continue;
        }
        for l in &sql {
            out.push_str("> ");
            out.push_str(l);
            out.push('\n');
        }
        let req = QueryRequest { text: sql.join("\n"), params, access, limit, transaction };
        match run(&db, &req) {
            Ok(rows) => {
                let mut j = Json::Array(rows);
                sanitize(&mut j);
                out.push_str(&serde_json::to_string_pretty(&j).unwrap());
                out.push('\n');
            }
            Err(e) => {
                let kind = match &e {
                    QueryError::Syntax(_) => "Syntax",
                    QueryError::Invalid(_) => "Invalid",
                    QueryError::Forbidden(_) => "Forbidden",
                    QueryError::Engine(_) => "Engine",
                    QueryError::Timeout(_) => "Timeout",
                    QueryError::Budget(_) => "Budget",
                    QueryError::Cancelled(_) => "Cancelled",
                };
                out.push_str(&format!("! {kind}: {e}\n"));
            }
        }
        out.push('\n');
    }
    out
}

/// A readable line diff (longest common subsequence), `-` expected, `+` actual.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(format!("  {}", a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("+ {}", b[j]));
            j += 1;
        } else {
            out.push(format!("- {}", a[i]));
            i += 1;
        }
    }
    // Only the changed lines with three lines of context.
    let changed: Vec<usize> = out.iter().enumerate().filter(|(_, l)| !l.starts_with("  ")).map(|(k, _)| k).collect();
    let mut shown = String::new();
    let mut last = None;
    for (k, line) in out.iter().enumerate() {
        if changed.iter().any(|c| c.abs_diff(k) <= 3) {
            if last.is_some_and(|l: usize| k > l + 1) {
                shown.push_str("  ...\n");
            }
            shown.push_str(line);
            shown.push('\n');
            last = Some(k);
        }
    }
    shown
}

#[test]
fn golden_scripts() {
    let update = std::env::var("UPDATE_GOLDENFILES").is_ok_and(|v| v == "1");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 13, "expected the golden scripts in {}", dir().display());
    let mut failures = Vec::new();
    for script in &scripts {
        let actual = transcript(script);
        let expected_path = script.with_extension("out");
        if update {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            let name = script.file_name().unwrap().to_string_lossy().to_string();
            eprintln!("=== {name}: transcript differs (- expected, + actual) ===\n{}", diff(&expected, &actual));
            failures.push(name);
        }
    }
    assert!(
        failures.is_empty(),
        "golden transcripts differ: {failures:?}; rerun with UPDATE_GOLDENFILES=1 to accept the new output"
    );
}

#[test]
fn the_diff_shows_changed_lines() {
    let d = diff("a\nb\nc\n", "a\nx\nc\n");
    assert!(d.contains("- b") && d.contains("+ x"), "{d}");
}
