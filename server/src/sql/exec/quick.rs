//! Quick writes: the statements an async handler may plan on its own task and commit by
//! awaiting the engine, so no thread waits for the log while the write is on its way.
//!
//! A quick write is a request of one `INSERT INTO class` or `CREATE VERTEX`, outside a
//! transaction, whose values are constants (literals and parameters, arrays and maps of
//! them, arithmetic on them), with no `RETURN` projection. Planning one reads only the
//! schema, so it takes microseconds and can run on an async worker. Anything else (a
//! subquery, a field or variable reference, a function call, a script) runs the usual way
//! on the blocking pool, where [`super::run_streaming`] may wait.
//!
//! The answer is built after the commit from the committed state, as
//! [`super::run_streaming`] builds it, so both paths answer alike.

use std::collections::HashMap;

use basalt_engine::{Committed, Database, Rid, Transaction};
use serde_json::Value as Json;

use super::control::Watch;
use super::eval::Env;
use super::write::{self, Op, Output, Planned};
use super::{apply, check_access, committed_output};
use crate::query::{CancelToken, QueryError, QueryLimits, QueryRequest};
use crate::sql::ast::{Expr, InsertBody, InsertTarget, Statement};
use crate::sql::parse_script;

/// A planned quick write: its transaction, and what its answer needs after the commit.
#[derive(Debug)]
pub struct QuickWrite {
    /// The transaction to commit.
    tx: Transaction,
    /// The planned changes (for the answer).
    ops: Vec<Op>,
    /// The temporary RID of each created record, by op.
    temps: Vec<Option<Rid>>,
    /// How many records it writes (the answer when it is a count).
    count: Option<usize>,
}

impl QuickWrite {
    /// The transaction to commit.
    pub fn transaction(&self) -> &Transaction {
        &self.tx
    }

    /// The answer rows once the transaction committed as `c`, read from the committed state.
    pub fn answer(self, db: &Database, req: &QueryRequest, c: &Committed) -> Result<Vec<Json>, QueryError> {
        let output = match self.count {
            Some(n) => Output::Count(n),
            None => Output::Created(None),
        };
        let planned = Planned { ops: self.ops, output };
        let rows = with_env(db, req, |env| committed_output(env, &planned, &self.temps, c))?;
        rows.iter().map(|r| r.to_json()).collect()
    }
}

/// Plans `req` as a quick write, if it is one (`None`: run it the usual way). Planning
/// errors (an unknown class, a wrong role) come back as they would from the usual path.
pub fn plan(db: &Database, req: &QueryRequest) -> Option<Result<QuickWrite, QueryError>> {
    if req.transaction || !starts_like_a_quick_write(&req.text) {
        return None;
    }
    let statements = parse_script(&req.text).ok()?;
    let [statement] = statements.as_slice() else { return None };
    if !is_quick(statement) {
        return None;
    }
    if let Err(e) = check_access(&statements, req.access) {
        return Some(Err(e));
    }
    let planned = with_env(db, req, |env| match statement {
        Statement::Insert(x) => write::insert(env, x),
        Statement::CreateVertex(x) => write::create_vertex(env, x),
        _ => unreachable!("is_quick admits INSERT and CREATE VERTEX only"),
    });
    let planned = match planned {
        Ok(p) => p,
        Err(e) => return Some(Err(e)),
    };
    let count = match planned.output {
        Output::Created(None) => None,
        Output::Count(n) => Some(n),
        // Any other answer is built the usual way.
        _ => return None,
    };
    let mut tx = Transaction::new();
    let temps = apply(&mut tx, &planned.ops);
    Some(Ok(QuickWrite { tx, ops: planned.ops, temps, count }))
}

/// Runs `f` with an environment over a fresh snapshot, the request's parameters and no
/// script variables, under default limits (a quick write runs for microseconds).
fn with_env<T>(
    db: &Database,
    req: &QueryRequest,
    f: impl FnOnce(&Env<'_>) -> Result<T, QueryError>,
) -> Result<T, QueryError> {
    let watch = Watch::new(&QueryLimits::default(), &CancelToken::new());
    let vars = HashMap::new();
    let snap = db.snapshot();
    let env = Env::new(&snap, &req.params, &vars, &watch);
    f(&env)
}

/// A cheap look at the text before parsing it: `INSERT` or `CREATE VERTEX` first.
fn starts_like_a_quick_write(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    match words.as_slice() {
        [first, ..] if first.eq_ignore_ascii_case("insert") => true,
        [first, second] => first.eq_ignore_ascii_case("create") && second.eq_ignore_ascii_case("vertex"),
        _ => false,
    }
}

/// Whether `s` is a quick write (see the module docs).
fn is_quick(s: &Statement) -> bool {
    match s {
        Statement::Insert(x) => {
            matches!(x.target, InsertTarget::Class(_)) && x.return_expr.is_none() && body_is_constant(&x.body)
        }
        Statement::CreateVertex(x) => x.cluster.is_none() && x.body.as_ref().is_none_or(body_is_constant),
        _ => false,
    }
}

fn body_is_constant(body: &InsertBody) -> bool {
    match body {
        InsertBody::Set(assignments) => assignments.iter().all(|a| is_constant(&a.value)),
        InsertBody::Content(e) => is_constant(e),
        InsertBody::Values { rows, .. } => rows.iter().flatten().all(is_constant),
        InsertBody::FromQuery(_) => false,
    }
}

/// Literals and parameters, and arrays, maps, negations and arithmetic of them; nothing
/// that reads a record, a variable or a function (an unknown kind of expression is not).
fn is_constant(e: &Expr) -> bool {
    match e {
        Expr::Literal(_) | Expr::Parameter(_) => true,
        Expr::Array(items) => items.iter().all(is_constant),
        Expr::Map(entries) => entries.iter().all(|m| is_constant(&m.value)),
        Expr::Negate(inner) => is_constant(inner),
        Expr::Arithmetic { left, right, .. } => is_constant(left) && is_constant(right),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::{Access, Params};

    fn request(text: &str) -> QueryRequest {
        QueryRequest {
            text: text.into(),
            params: Params::default(),
            access: Access::Write,
            limit: None,
            transaction: false,
        }
    }

    #[test]
    fn only_constant_inserts_and_vertices_are_quick() {
        let quick = |text: &str| {
            let statements = parse_script(text).expect("parses");
            starts_like_a_quick_write(text) && statements.len() == 1 && is_quick(&statements[0])
        };
        assert!(quick("CREATE VERTEX V SET name = 'a', n = 1 + 2, tags = ['x', ?]"));
        assert!(quick("insert into V content {\"a\": [1, {\"b\": -2}]}"));
        assert!(quick("INSERT INTO V (a, b) VALUES (1, 2), (3, :p)"));
        assert!(quick("CREATE VERTEX"));
        assert!(!quick("CREATE VERTEX V SET n = (SELECT count(*) FROM V)"), "a subquery");
        assert!(!quick("CREATE VERTEX V SET at = sysdate()"), "a function");
        assert!(!quick("INSERT INTO V SET a = $x"), "a variable");
        assert!(!quick("INSERT INTO V SET a = 1 RETURN @rid"), "a projection");
        assert!(!quick("INSERT INTO V FROM SELECT FROM V"), "from a query");
        assert!(!quick("CREATE EDGE E FROM #9:0 TO #9:1"));
        assert!(!quick("UPDATE V SET a = 1"));
    }

    #[test]
    fn a_quick_write_answers_as_the_usual_path_does() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, _) = Database::create(dir.path(), basalt_engine::Options::default()).expect("create");
        let quick_req = request("CREATE VERTEX V SET name = 'quick'");
        let q = plan(&db, &quick_req).expect("quick").expect("planned");
        let c = db.commit(q.transaction()).expect("commit");
        let quick_rows = q.answer(&db, &quick_req, &c).expect("answer");
        let usual = crate::query::run(&db, &request("CREATE VERTEX V SET name = 'usual'")).expect("usual path");
        assert_eq!(quick_rows.len(), 1);
        let shape = |row: &Json| {
            let mut keys: Vec<String> = row.as_object().expect("an object").keys().cloned().collect();
            keys.sort();
            keys
        };
        assert_eq!(shape(&quick_rows[0]), shape(&usual[0]));
        assert_eq!(quick_rows[0]["name"], "quick");
        assert_eq!(quick_rows[0]["@rid"].as_str().map(|r| r.starts_with('#')), Some(true));
        let reader = QueryRequest { access: Access::Read, ..request("INSERT INTO V SET a = 1") };
        assert!(matches!(plan(&db, &reader), Some(Err(QueryError::Forbidden(_)))), "access is checked");
    }
}
