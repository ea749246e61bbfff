//! What the HTTP API hands the query language: the text, its parameters, what the caller's
//! role allows, and the result shape. [`run`] hands it to the SQL executor (`sql::exec`).

use std::collections::BTreeMap;

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
}

/// Runs SQL (one statement or a `;`-separated script) against a database and answers the
/// result rows as OrientDB's JSON. See [`crate::sql::exec`] for the semantics.
pub fn run(db: &basalt_engine::Database, req: &QueryRequest) -> Result<Vec<Json>, QueryError> {
    crate::sql::exec::run(db, req)
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
