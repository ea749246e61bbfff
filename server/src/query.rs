//! What the HTTP API hands the query language: the text, its parameters, what the caller's
//! role allows, and the result shape; the limits a query runs under ([`QueryLimits`]: its
//! timeout and memory budget) and the token that cancels it ([`CancelToken`]). [`run`] and
//! [`run_streaming`] hand it to the SQL executor (`sql::exec`).
//!
//! Promises: a query stops within about a second of its timeout or of its token being
//! cancelled (every loop of the executor checks both), and it is refused, naming the
//! budget, once what it holds (sorts, groups, DISTINCT sets, subquery results, LET values,
//! collected results) is estimated above its memory budget.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use basalt_engine::json::from_json;
use basalt_engine::Value;
use serde_json::Value as Json;

/// What a statement may do, from the endpoint and the caller's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Reads only (`GET /query`, or a reader's `/command`).
    Read,
    /// Reads and changes data.
    Write,
    /// Everything, schema included.
    Admin,
}

/// Statement parameters: positional (`?`) and named (`:name`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    /// `?` parameters, in order.
    pub positional: Vec<Value>,
    /// `:name` parameters.
    pub named: BTreeMap<String, Value>,
}

impl Params {
    /// Reads OrientDB's `"parameters"`: an array (positional) or an object (named; keys
    /// that are numbers are positional, as OrientDB's clients send them).
    pub fn from_json(j: Option<&Json>) -> Result<Params, String> {
        let mut p = Params::default();
        match j {
            None | Some(Json::Null) => {}
            Some(Json::Array(items)) => p.positional = items.iter().map(from_json).collect(),
            Some(Json::Object(o)) => {
                let mut numbered = BTreeMap::new();
                for (k, v) in o {
                    match k.parse::<usize>() {
                        Ok(i) => {
                            numbered.insert(i, from_json(v));
                        }
                        Err(_) => {
                            p.named.insert(k.clone(), from_json(v));
                        }
                    }
                }
                for (expected, (i, v)) in numbered.into_iter().enumerate() {
                    if i != expected {
                        return Err(format!("positional parameter {expected} is missing (found {i})"));
                    }
                    p.positional.push(v);
                }
            }
            Some(other) => return Err(format!("\"parameters\" must be an array or an object, not {other}")),
        }
        Ok(p)
    }
}

/// One request to run SQL.
#[derive(Debug, Clone)]
pub struct QueryRequest {
    /// The SQL: one statement or a script.
    pub text: String,
    /// Its parameters.
    pub params: Params,
    /// What it may do.
    pub access: Access,
    /// Most result rows (`None`: all).
    pub limit: Option<usize>,
    /// Run every statement as one transaction (`/batch`).
    pub transaction: bool,
}

/// Where a limit of a query was set, for the message that tells how to raise it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitSource {
    /// The server's default (`[query]` of `basalt.toml`).
    Server,
    /// The request (an `X-Basalt-*` header; the console's `SET`).
    Request,
}

/// The limits one query runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Longest the query may run (`None`: no limit).
    pub timeout: Option<Duration>,
    /// Who set the timeout.
    pub timeout_source: LimitSource,
    /// Most bytes (estimated) the query may hold at once.
    pub memory_budget_bytes: usize,
    /// Who set the budget.
    pub budget_source: LimitSource,
}

/// The default timeout of a query: 30 s.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// The default memory budget of a query: 256 MiB.
pub const DEFAULT_MEMORY_BUDGET_BYTES: usize = 256 << 20;

impl Default for QueryLimits {
    fn default() -> QueryLimits {
        QueryLimits {
            timeout: Some(Duration::from_millis(DEFAULT_TIMEOUT_MS)),
            timeout_source: LimitSource::Server,
            memory_budget_bytes: DEFAULT_MEMORY_BUDGET_BYTES,
            budget_source: LimitSource::Server,
        }
    }
}

/// Cancels a running query from another thread (the HTTP handler whose client went
/// away). Clones share one flag.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not cancelled yet.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Asks the query to stop; it does at its next check.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The text does not parse: where and what was expected.
    #[error("{0}")]
    Syntax(String),
    /// A statement names something that does not exist or uses a wrong type.
    #[error("{0}")]
    Invalid(String),
    /// The caller's role does not allow the statement.
    #[error("{0}")]
    Forbidden(String),
    /// The engine refused (conflict, duplicate key, missing record, offline, ...).
    #[error(transparent)]
    Engine(#[from] basalt_engine::Error),
    /// The query ran past its timeout and was stopped: which timeout, how to raise it.
    #[error("{0}")]
    Timeout(String),
    /// The query needed more memory than its budget: the budget, how to raise it.
    #[error("{0}")]
    Budget(String),
    /// The query was cancelled (its client went away).
    #[error("{0}")]
    Cancelled(String),
}

/// Where [`run_streaming`] sends the result rows, one JSON object at a time, in order.
pub trait RowSink {
    /// Takes one row; an error (the client went away) stops the query.
    fn row(&mut self, row: Json) -> Result<(), QueryError>;
}

impl RowSink for Vec<Json> {
    fn row(&mut self, row: Json) -> Result<(), QueryError> {
        self.push(row);
        Ok(())
    }
}

/// Runs SQL like [`run`], under `limits` and `cancel`, handing each result row to `sink` as
/// it is produced: a SELECT without ORDER BY or GROUP BY (the last statement of a script,
/// outside a transaction) streams its rows without collecting them.
pub fn run_streaming(
    db: &basalt_engine::Database,
    req: &QueryRequest,
    limits: &QueryLimits,
    cancel: &CancelToken,
    sink: &mut dyn RowSink,
) -> Result<(), QueryError> {
    crate::sql::exec::run_streaming(db, req, limits, cancel, sink)
}

/// Runs SQL (one statement or a `;`-separated script) against a database and answers the
/// result rows as OrientDB's JSON, under the default [`QueryLimits`]. See
/// [`crate::sql::exec`] for the semantics.
pub fn run(db: &basalt_engine::Database, req: &QueryRequest) -> Result<Vec<Json>, QueryError> {
    let mut rows = Vec::new();
    run_streaming(db, req, &QueryLimits::default(), &CancelToken::new(), &mut rows)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_from_orientdb_json() {
        let p = Params::from_json(Some(&serde_json::json!({"0": "a", "1": 2, "name": true}))).unwrap();
        assert_eq!(p.positional, vec![Value::String("a".into()), Value::Int(2)]);
        assert_eq!(p.named.get("name"), Some(&Value::Bool(true)));
        assert!(Params::from_json(Some(&serde_json::json!({"1": "a"}))).is_err());
        assert_eq!(Params::from_json(Some(&serde_json::json!([1]))).unwrap().positional, vec![Value::Int(1)]);
        assert!(Params::from_json(Some(&serde_json::json!("x"))).is_err());
    }
}
