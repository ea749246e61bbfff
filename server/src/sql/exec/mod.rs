//! The SQL executor: runs parsed statements and scripts against an engine database.
//!
//! Owns: statement dispatch, scripts (`;`-separated statements, blocks, `LET`, `RETURN`,
//! `BEGIN` / `COMMIT [RETRY n]` / `ROLLBACK`, `SLEEP`, `CONSOLE`: `script.rs`), access checks, the commit of write statements with
//! conflict retries, and the JSON of results. The statement families live in the sibling
//! modules: `select` (and its `Pipeline`), `traverse`, `match_`, `write`, `schema`, `plan`
//! (sources, index selection, EXPLAIN), `eval`, `ops`, `functions` (with `functions_stat`, `functions_coll`, `functions_misc` and `datefmt`) and `regex`
//! (expressions), `rows` (what flows between stages).
//!
//! Promises:
//! - **Reads** take one snapshot per statement and drop it before anything commits (a
//!   snapshot holds the state's read lock: committing under it would deadlock).
//! - **Writes** outside a transaction commit per statement. UPDATE and DELETE read what
//!   they change (RID and version) under a snapshot, drop it, and commit with those
//!   versions; a version conflict re-runs the statement, up to [`MAX_CONFLICT_RETRIES`]
//!   times, so `UPDATE ... WHERE` works under concurrent writers.
//! - **Transactions**: between `BEGIN` and `COMMIT` (or for the whole request when it asks
//!   for one, as `/batch` does) writes gather in one engine transaction, committed at
//!   `COMMIT` (`ROLLBACK` drops it). Records created there have temporary RIDs (`#-1:-2`)
//!   that later statements may use (`LET $v = CREATE VERTEX ...; CREATE EDGE FROM $v ...`);
//!   after the commit, results and variables show the real RIDs. Reads inside a
//!   transaction see its own writes (`txview.rs`: loads, class scans, WHERE, `count(*)`,
//!   graph steps), as OrientDB's do; an UPDATE of a record the transaction already updated
//!   builds on that update's fields. `COMMIT RETRY n` re-runs the statements since `BEGIN`
//!   on a conflict.
//! - **Access**: a read-only request runs only read statements; a writer may change
//!   records but not the schema. Everything is checked before anything runs.
//! - **Bounds**: never a panic; subqueries nest at most [`MAX_SUBQUERY_DEPTH`] deep,
//!   evaluation stops before using [`MAX_EXEC_STACK_BYTES`] of stack, intermediate
//!   collections are capped ([`MAX_COLLECTION_ITEMS`]), MATCH recursion by
//!   [`MAX_TRAVERSE_DEPTH`], SLEEP by [`MAX_SLEEP_MS`].
//! - **Limits** (`control.rs`): every loop ticks the query's watch, so a query stops within
//!   milliseconds of its timeout, of a SELECT's `TIMEOUT` clause, or of its cancellation
//!   (the client went away); what it holds (sorts, groups, DISTINCT, subquery results, LET
//!   values, collected results) is charged to its memory budget and it is refused, naming
//!   the budget, when that is exceeded. `ORDER BY ... LIMIT n` keeps n rows (`sort.rs`).
//! - **Streaming**: the last statement of a script, when it is a SELECT outside a
//!   transaction, hands its rows to the caller's sink as it finds them (`tail.rs`): without
//!   ORDER BY or GROUP BY nothing is collected.
//!
//! A script's result is its `RETURN` value, else the result of its last statement (see
//! `script.rs` for what each script statement answers).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use basalt_engine::{Committed, Database, Document, Rid, Transaction, Value};

use crate::query::{Access, CancelToken, QueryError, QueryLimits, QueryRequest, RowSink};
use crate::sql::ast::{Expr, LetValue, RecordAttribute, Statement};
use crate::sql::{parse_script, ParseError};

pub mod backup;
mod control;
mod datefmt;
mod eval;
mod functions;
mod functions_coll;
mod functions_misc;
mod functions_more;
mod functions_path;
mod functions_stat;
mod match_;
mod metadata;
mod ops;
mod plan;
pub mod quick;
mod regex;
mod rows;
mod schema;
mod script;
mod select;
mod sort;
mod tail;
mod traverse;
mod txview;
mod write;

use control::{rows_bytes, value_bytes, Watch};

use eval::{Ctx, Env};
use rows::{resolve_temps, Data, Pending, Res, Row};
use write::{Enrich, Op, Output, Planned};

/// Most items an intermediate collection (`out().out()`, `unionall()`, ...) may hold.
pub const MAX_COLLECTION_ITEMS: usize = 2_000_000;
/// Deepest nesting of subqueries.
pub const MAX_SUBQUERY_DEPTH: usize = 32;
/// Most stack an evaluation may use; a deeper query is an error, not an overflow. Callers
/// need this much free stack on top of their own (threads get 2 MiB by default).
pub const MAX_EXEC_STACK_BYTES: usize = 1024 * 1024;
/// Deepest a MATCH `while:`/`maxDepth:` step walks.
pub const MAX_TRAVERSE_DEPTH: usize = 10_000;
/// Times a write statement is re-run after a version conflict (each after a short random
/// pause that grows with the attempts, so writers contending for one record spread out).
pub const MAX_CONFLICT_RETRIES: u32 = 50;
/// Longest `SLEEP`, in milliseconds.
pub const MAX_SLEEP_MS: i64 = 10_000;

/// The statement's keyword, for messages.
pub fn statement_name(s: &Statement) -> &'static str {
    match s {
        Statement::Select(_) => "SELECT",
        Statement::Traverse(_) => "TRAVERSE",
        Statement::Match(_) => "MATCH",
        Statement::Insert(_) => "INSERT",
        Statement::Update(_) => "UPDATE",
        Statement::Delete(_) => "DELETE",
        Statement::DeleteVertex(_) => "DELETE VERTEX",
        Statement::DeleteEdge(_) => "DELETE EDGE",
        Statement::CreateVertex(_) => "CREATE VERTEX",
        Statement::CreateEdge(_) => "CREATE EDGE",
        Statement::CreateClass(_) => "CREATE CLASS",
        Statement::AlterClass(_) => "ALTER CLASS",
        Statement::DropClass(_) => "DROP CLASS",
        Statement::TruncateClass(_) => "TRUNCATE CLASS",
        Statement::CreateProperty(_) => "CREATE PROPERTY",
        Statement::AlterProperty(_) => "ALTER PROPERTY",
        Statement::DropProperty(_) => "DROP PROPERTY",
        Statement::CreateIndex(_) => "CREATE INDEX",
        Statement::DropIndex(_) => "DROP INDEX",
        Statement::CreateCluster(_) => "CREATE CLUSTER",
        Statement::DropCluster(_) => "DROP CLUSTER",
        Statement::TruncateCluster(_) => "TRUNCATE CLUSTER",
        Statement::Explain(_) => "EXPLAIN",
        Statement::Profile(_) => "PROFILE",
        Statement::Begin => "BEGIN",
        Statement::Commit { .. } => "COMMIT",
        Statement::Rollback => "ROLLBACK",
        Statement::Let { value: LetValue::Statement(inner), .. } => statement_name(inner),
        Statement::Let { .. } => "LET",
        Statement::Return(_) => "RETURN",
        Statement::Sleep(_) => "SLEEP",
        Statement::If(_) => "IF",
        Statement::While(_) => "WHILE",
        Statement::ForEach(_) => "FOREACH",
        Statement::Console(_) => "CONSOLE",
    }
}

/// The error for a text that does not parse: where, what, and what was expected.
fn syntax_error(e: ParseError) -> QueryError {
    let mut text = e.to_string();
    if !e.expected.is_empty() && !e.message.contains("expected") {
        text.push_str(&format!(" (expected {})", e.expected.join(", ")));
    }
    QueryError::Syntax(text)
}

/// Refuses a script containing a statement the caller may not run.
fn check_access(statements: &[Statement], access: Access) -> Res<()> {
    for s in statements {
        let name = statement_name(s);
        if access < Access::Admin && s.is_schema_change() {
            let why = if access == Access::Read { " (and this request may only read)" } else { "" };
            return Err(QueryError::Forbidden(format!("{name} changes the schema; the user needs role admin{why}")));
        }
        if access == Access::Read && !s.is_read_only() {
            return Err(QueryError::Forbidden(format!(
                "{name} changes records, and this request may only read: GET /query runs queries only \
                 (send {name} with POST /command), and the user's role must allow writing"
            )));
        }
    }
    Ok(())
}

/// Runs SQL (one statement or a script) under `limits` and `cancel`, handing its result
/// rows as JSON to `sink` in order.
pub fn run_streaming(
    db: &Database,
    req: &QueryRequest,
    limits: &QueryLimits,
    cancel: &CancelToken,
    sink: &mut dyn RowSink,
) -> Result<(), QueryError> {
    let statements = parse_script(&req.text).map_err(syntax_error)?;
    check_access(&statements, req.access)?;
    let watch = Watch::new(limits, cancel);
    let mut script = Script {
        db,
        req,
        vars: HashMap::new(),
        statement_vars: HashSet::new(),
        tx: None,
        retries: HashMap::new(),
        watch: &watch,
        vars_bytes: 0,
    };
    let mut emit = |row: &Row| -> Res<()> { sink.row(row.to_json()?) };
    script.run(&statements, &mut emit)
}

/// A transaction opened by BEGIN.
struct OpenTx {
    tx: Transaction,
    /// Where BEGIN was (`usize::MAX`: opened for the whole request).
    begin_at: usize,
    /// The block BEGIN is in (its statements' address), for COMMIT RETRY.
    begin_block: usize,
    /// Whether it changes the schema.
    schema_changed: bool,
    /// The fields of records it updates, as they will be.
    updates: HashMap<Rid, Document>,
    /// What it wrote, as its own reads see it.
    view: txview::TxView,
}

struct Script<'a> {
    db: &'a Database,
    req: &'a QueryRequest,
    vars: HashMap<String, Value>,
    /// Variables set by `LET $x = <statement>`: `RETURN $x` answers their rows.
    statement_vars: HashSet<String>,
    tx: Option<OpenTx>,
    /// Retries left per COMMIT RETRY statement (by block and position).
    retries: HashMap<(usize, usize), u32>,
    /// The request's cancellation, deadline and memory budget.
    watch: &'a Watch,
    /// Estimated bytes of the script variables (charged to the budget).
    vars_bytes: usize,
}

impl Script<'_> {
    /// Runs the statements, handing the result rows to `out`.
    fn run(&mut self, statements: &[Statement], out: &mut dyn FnMut(&Row) -> Res<()>) -> Res<()> {
        let implicit = self.req.transaction && !statements.iter().any(|s| matches!(s, Statement::Begin));
        if implicit {
            self.begin(usize::MAX, 0);
        }
        let mut result: Vec<Row> = Vec::new();
        if self.block(statements, &mut result, Some(out))? == script::Flow::Streamed {
            return Ok(());
        }
        if let Some(open) = self.tx.take() {
            if open.begin_at != usize::MAX && !open.tx.is_empty() {
                return Err(QueryError::Invalid(
                    "the script ends inside a transaction (BEGIN without COMMIT or ROLLBACK); nothing was committed"
                        .into(),
                ));
            }
            if open.begin_at != usize::MAX {
                // BEGIN and nothing to commit (`BEGIN` on its own): its row is the answer.
                for row in &result {
                    out(row)?;
                }
                return Ok(());
            }
            let c = self.db.commit(&open.tx)?;
            // Committed: nothing after this may answer the request as failed by a timeout.
            self.watch.pause(true);
            self.committed(&c, &mut result)?;
        }
        // No ticks here: the result may be a committed write's, which must not be answered
        // as timed out; the sink stops when the client goes away.
        for row in &result {
            out(row)?;
        }
        Ok(())
    }

    /// Sets a script variable, charging its size to the budget.
    fn set_var(&mut self, name: &str, v: Value) -> Res<()> {
        let bytes = value_bytes(&v);
        if let Some(old) = self.vars.insert(name.to_string(), v) {
            self.vars_bytes = self.vars_bytes.saturating_sub(value_bytes(&old));
        }
        self.vars_bytes += bytes;
        self.watch.charge(bytes)
    }

    /// After a statement: the query holds its variables and `result`, nothing else (what a
    /// finished statement charged and dropped is forgotten).
    fn settle(&self, result: &[Row]) {
        self.watch.settle(self.vars_bytes + rows_bytes(result));
    }

    /// SLEEP, cut short (with the error) when the query is cancelled or times out.
    fn sleep(&self, total: Duration) -> Res<()> {
        let until = Instant::now() + total;
        loop {
            self.watch.check()?;
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            std::thread::sleep(left.min(Duration::from_millis(10)));
        }
    }

    fn begin(&mut self, at: usize, block: usize) {
        self.tx = Some(OpenTx {
            tx: Transaction::new(),
            begin_at: at,
            begin_block: block,
            schema_changed: false,
            updates: HashMap::new(),
            view: txview::TxView::default(),
        });
    }

    /// After a commit: temporary RIDs become real in the variables and the result, and
    /// records written in the transaction are read back.
    fn committed(&mut self, c: &Committed, result: &mut Vec<Row>) -> Res<()> {
        let map = |r: Rid| c.rid(r);
        for v in self.vars.values_mut() {
            resolve_temps(v, &map);
        }
        let snap = self.db.snapshot();
        let mut out = Vec::with_capacity(result.len());
        for row in result.drain(..) {
            match &row.data {
                Data::Pending(p) => {
                    if let Some(r) = snap.get(c.rid(p.rid))? {
                        out.push(Row::record(r));
                    }
                }
                Data::Doc(d) => {
                    let mut v = Value::Embedded((**d).clone());
                    resolve_temps(&mut v, &map);
                    let Value::Embedded(d) = v else { continue };
                    out.push(Row::doc(d));
                }
                Data::Value(v) => {
                    let mut v = v.clone();
                    resolve_temps(&mut v, &map);
                    // A record returned by RETURN inside the transaction: show it as stored.
                    match v.as_rid().map(|r| snap.get(r)).transpose()?.flatten() {
                        Some(r) => out.push(Row::record(r)),
                        None => out.push(Row::value(v)),
                    }
                }
                Data::Record(r) => {
                    // Read through the transaction's view: show it as committed.
                    if let Some(r) = snap.get(c.rid(r.rid))? {
                        out.push(Row::record(r));
                    }
                }
                _ => out.push(row),
            }
        }
        *result = out;
        Ok(())
    }

    /// Runs `f` with an environment over a fresh snapshot (dropped before returning).
    fn with_env<T>(&self, f: impl FnOnce(&Env<'_>) -> Res<T>) -> Res<T> {
        let snap = self.db.snapshot();
        let mut env = Env::new(&snap, &self.req.params, &self.vars, self.watch);
        env.tx_schema_changed = self.tx.as_ref().is_some_and(|t| t.schema_changed);
        env.tx_updates = self.tx.as_ref().map(|t| &t.updates);
        env.tx_view = self.tx.as_ref().map(|t| &t.view);
        f(&env)
    }

    /// Runs one statement (not a script line).
    fn statement(&mut self, s: &Statement, default_limit: Option<usize>) -> Res<Vec<Row>> {
        match s {
            Statement::Select(_) | Statement::Traverse(_) | Statement::Match(_) | Statement::Explain(_) => {
                self.with_env(|env| run_read(env, None, s, default_limit))
            }
            Statement::Profile(inner) => {
                let plan = self.with_env(|env| plan::explain(env, inner))?;
                let started = Instant::now();
                let rows = self.statement(inner, default_limit)?;
                let mut d = plan;
                d.set("operation", Value::String("profile".into()));
                d.set("actualRows", rows::int_value(rows.len() as i64));
                d.set("elapsedMicros", Value::Long(started.elapsed().as_micros() as i64));
                Ok(vec![Row::doc(d)])
            }
            Statement::Insert(x) => self.write(&|env| write::insert(env, x)),
            Statement::CreateVertex(x) => self.write(&|env| write::create_vertex(env, x)),
            Statement::CreateEdge(x) => self.write(&|env| write::create_edge(env, x)),
            Statement::Update(x) => self.write(&|env| write::update(env, x)),
            Statement::Delete(x) => self.write(&|env| write::delete(env, x)),
            Statement::DeleteVertex(x) => self.write(&|env| write::delete_vertex(env, x)),
            Statement::DeleteEdge(x) => self.write(&|env| write::delete_edge(env, x)),
            Statement::CreateClass(_)
            | Statement::AlterClass(_)
            | Statement::DropClass(_)
            | Statement::TruncateClass(_)
            | Statement::CreateProperty(_)
            | Statement::AlterProperty(_)
            | Statement::DropProperty(_)
            | Statement::CreateIndex(_)
            | Statement::DropIndex(_)
            | Statement::CreateCluster(_)
            | Statement::DropCluster(_)
            | Statement::TruncateCluster(_) => self.write(&|env| schema::plan(env, s)),
            Statement::Begin
            | Statement::Commit { .. }
            | Statement::Rollback
            | Statement::Let { .. }
            | Statement::Return(_)
            | Statement::Sleep(_)
            | Statement::If(_)
            | Statement::While(_)
            | Statement::ForEach(_)
            | Statement::Console(_) => {
                Err(QueryError::Invalid(format!("{} is a script statement; it cannot be nested", statement_name(s))))
            }
        }
    }

    /// Plans a write under a snapshot, then commits it (retrying on a version conflict) or
    /// adds it to the open transaction.
    fn write(&mut self, plan: &dyn Fn(&Env<'_>) -> Res<Planned>) -> Res<Vec<Row>> {
        let mut attempt = 0;
        loop {
            let planned = self.with_env(plan)?;
            if let Some(open) = &mut self.tx {
                let temps = apply(&mut open.tx, &planned.ops);
                let snap = self.db.snapshot();
                open.view.apply(&snap, &planned.ops, &temps)?;
                drop(snap);
                open.schema_changed |= planned.ops.iter().any(|o| matches!(o, Op::Schema(_)));
                for op in &planned.ops {
                    match op {
                        Op::Update { rid, fields, .. } => {
                            open.updates.insert(*rid, fields.clone());
                        }
                        Op::Delete { rid, .. } => {
                            open.updates.remove(rid);
                        }
                        _ => {}
                    }
                }
                return self.with_env(|env| pending_output(env, &planned, &temps));
            }
            let mut tx = Transaction::new();
            let temps = apply(&mut tx, &planned.ops);
            match self.db.commit(&tx) {
                Ok(c) => {
                    // Committed: its answer is built with the checks paused.
                    self.watch.pause(true);
                    let answer = self.with_env(|env| committed_output(env, &planned, &temps, &c));
                    self.watch.pause(false);
                    return answer;
                }
                Err(basalt_engine::Error::Conflict { .. }) if attempt < MAX_CONFLICT_RETRIES => {
                    attempt += 1;
                    backoff(attempt);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// A random pause of up to `attempt` milliseconds (at most 8) before retrying after a
/// version conflict.
fn backoff(attempt: u32) {
    let ms = rand::random::<u64>() % (u64::from(attempt.min(8)) + 1);
    if ms > 0 {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// Adds planned operations to a transaction; the temporary RID of each created record.
fn apply(tx: &mut Transaction, ops: &[Op]) -> Vec<Option<Rid>> {
    ops.iter()
        .map(|op| match op {
            Op::Create { class, fields } => Some(tx.create(class, fields.clone())),
            Op::CreateEdge { class, from, to, fields } => Some(tx.create_edge(class, *from, *to, fields.clone())),
            Op::Update { rid, version, fields, .. } => {
                tx.update(*rid, Some(*version), fields.clone());
                None
            }
            Op::Delete { rid, version } => {
                tx.delete(*rid, Some(*version));
                None
            }
            Op::Schema(req) => {
                tx.schema(req.clone());
                None
            }
        })
        .collect()
}

/// A row as `RETURN expr` of INSERT / UPDATE shows it: the row itself for `@this` or no
/// projection, else `{alias: value}`.
pub(crate) fn returned_row(env: &Env<'_>, row: &Row, projection: Option<&Expr>) -> Res<Row> {
    match projection {
        None | Some(Expr::Attribute(RecordAttribute::This)) => Ok(row.clone()),
        Some(e) => {
            let v = eval::eval(env, &Ctx::default().with_row(row), e)?;
            let mut d = Document::new();
            d.set(select::default_alias(e), v);
            Ok(Row::doc(d))
        }
    }
}

fn count_row(n: usize) -> Row {
    Row::doc(Document::new().with("count", rows::int_value(n as i64)))
}

/// The answer of a write added to an open transaction.
fn pending_output(env: &Env<'_>, planned: &Planned, temps: &[Option<Rid>]) -> Res<Vec<Row>> {
    let pending = |op: &Op, temp: Option<Rid>| -> Option<Row> {
        let p = match (op, temp) {
            (Op::Create { class, fields }, Some(t)) => Pending { rid: t, class: class.clone(), fields: fields.clone() },
            (Op::CreateEdge { class, fields, from, to }, Some(t)) => {
                let mut f = Document::new().with("out", Value::Link(*from)).with("in", Value::Link(*to));
                fields.iter().for_each(|(k, v)| f.set(k, v.clone()));
                Pending { rid: t, class: class.clone(), fields: f }
            }
            (Op::Update { rid, class, fields, .. }, _) => {
                Pending { rid: *rid, class: class.clone(), fields: fields.clone() }
            }
            _ => return None,
        };
        Some(Row { data: Data::Pending(std::rc::Rc::new(p)), depth: None })
    };
    match &planned.output {
        Output::Created(proj) | Output::After(proj) => {
            let mut out = Vec::new();
            for (op, t) in planned.ops.iter().zip(temps) {
                let wanted = match &planned.output {
                    Output::Created(_) => t.is_some(),
                    _ => matches!(op, Op::Update { .. } | Op::Create { .. }),
                };
                if let (true, Some(row)) = (wanted, pending(op, *t)) {
                    out.push(returned_row(env, &row, proj.as_ref())?);
                }
            }
            Ok(out)
        }
        Output::Count(n) => Ok(vec![count_row(*n)]),
        Output::Rows(rows) => Ok(rows.clone()),
        Output::Describe(d, _) => Ok(vec![Row::doc(d.clone())]),
    }
}

/// The answer of a committed write, read back from the committed state.
fn committed_output(env: &Env<'_>, planned: &Planned, temps: &[Option<Rid>], c: &Committed) -> Res<Vec<Row>> {
    match &planned.output {
        Output::Created(proj) | Output::After(proj) => {
            let mut out = Vec::new();
            for (op, t) in planned.ops.iter().zip(temps) {
                let rid = match (&planned.output, op, t) {
                    (Output::Created(_), _, Some(t)) => c.rid(*t),
                    (Output::After(_), Op::Update { rid, .. }, _) => *rid,
                    (Output::After(_), Op::Create { .. }, Some(t)) => c.rid(*t),
                    _ => continue,
                };
                if let Some(r) = env.load(rid)? {
                    out.push(returned_row(env, &Row::record(r), proj.as_ref())?);
                }
            }
            Ok(out)
        }
        Output::Count(n) => Ok(vec![count_row(*n)]),
        Output::Rows(rows) => Ok(rows.clone()),
        Output::Describe(d, enrich) => {
            let mut d = d.clone();
            match enrich {
                Enrich::None => {}
                Enrich::ClusterOf(class) => {
                    if let Some(id) = env.snap.schema().class(class).and_then(|c| c.clusters.first()) {
                        d.set("clusterId", Value::Int(*id));
                    }
                }
                Enrich::IndexSize(name) => {
                    if let Some(i) = env.snap.index(name) {
                        d.set("entries", rows::int_value(i.len() as i64));
                    }
                }
            }
            Ok(vec![Row::doc(d)])
        }
    }
}

/// Runs a read statement (SELECT, TRAVERSE, MATCH, EXPLAIN; PROFILE of a read) with the
/// environment's snapshot; `parent` is the enclosing query's row for subqueries.
pub(crate) fn run_read(
    env: &Env<'_>,
    parent: Option<&Ctx<'_>>,
    s: &Statement,
    default_limit: Option<usize>,
) -> Res<Vec<Row>> {
    match s {
        Statement::Select(sel) => select::select(env, parent, sel, default_limit),
        Statement::Traverse(t) => traverse::traverse(env, parent, t, default_limit),
        Statement::Match(m) => match_::run_match(env, parent, m, default_limit),
        Statement::Explain(inner) => Ok(vec![Row::doc(plan::explain(env, inner)?)]),
        Statement::Profile(inner) if inner.is_read_only() => {
            let started = Instant::now();
            let rows = run_read(env, parent, inner, default_limit)?;
            let mut d = plan::explain(env, inner)?;
            d.set("operation", Value::String("profile".into()));
            d.set("actualRows", rows::int_value(rows.len() as i64));
            d.set("elapsedMicros", Value::Long(started.elapsed().as_micros() as i64));
            Ok(vec![Row::doc(d)])
        }
        other => Err(QueryError::Invalid(format!(
            "{} cannot be used as a subquery or a source: only SELECT, TRAVERSE and MATCH can",
            statement_name(other)
        ))),
    }
}

#[cfg(test)]
mod limits_tests;
#[cfg(test)]
mod script_tests;
#[cfg(test)]
mod tests;
