//! The script runner: statements in order, blocks (`IF`, `WHILE`, `FOREACH`), `LET`,
//! `RETURN`, `BEGIN` / `COMMIT [RETRY n]` / `ROLLBACK`, `SLEEP` and `CONSOLE`, as OrientDB's
//! script executor runs them (`core/.../sql/executor/OScriptExecutionPlan.java`,
//! `executeUntilReturn`; `IfStep.java`, `parser/WhileStep.java`, `ForEachStep.java`).
//!
//! Promises (each with the OrientDB source it follows):
//! - **The result** of a script is the result of its last statement, or of the `RETURN` that
//!   ended it (`OScriptExecutionPlan.executeUntilReturn`). An `IF` answers what the last
//!   statement of its body answered, or nothing when the condition is false (`IfStep`);
//!   `WHILE` and `FOREACH` answer nothing unless a `RETURN` inside ends the script
//!   (`WhileStep.internalStart`, `ForEachStep.internalStart`). `LET` answers nothing
//!   (`OLetStatement.executeSimple`).
//! - **Rows of the script statements**: `BEGIN` `{operation: "begin"}`
//!   (`OBeginStatement.executeSimple`), `COMMIT` `{operation: "commit"}`
//!   (`OCommitStatement.executeSimple`), `ROLLBACK` `{operation: "rollback"}`
//!   (`ORollbackStatement.executeSimple`), `SLEEP n` `{operation: "sleep", result: "OK",
//!   millis: n}` (`OSleepStatement.executeSimple`), `CONSOLE.level msg` `{operation:
//!   "console", level, message}` (`OConsoleStatement.executeSimple`; the levels `log`,
//!   `output`, `error`, `warn`, `debug`, anything else is an error).
//! - **RETURN** (`OReturnStatement.executeSimple`): a variable set by `LET $x = <statement>`
//!   answers that statement's rows (OrientDB keeps them as a result set); a record link
//!   answers the record; a document answers itself; any other value, lists included,
//!   answers `{"value": v}`; `RETURN` alone answers `{"value": null}`.
//! - **Variables** live in one map for the whole script: a `LET` inside a block is seen after
//!   it (OrientDB's `OLetStatement` sets it in the parent context), and the `FOREACH`
//!   variable keeps its last value (`ForEachStep` sets it in the enclosing context).
//! - **Bounds**: every statement and every loop round ticks the query's watch, and a loop
//!   checks the deadline and the cancellation before each round, so `WHILE (true) {}` stops
//!   at the query's timeout (or when its client goes away) with an error naming the loop and
//!   where it is; what loops keep in variables is charged to the memory budget.
//! - `COMMIT RETRY n [ELSE { ... } [AND CONTINUE | AND FAIL] | ELSE CONTINUE | ELSE FAIL]`
//!   (`OSqlScriptExecutor.executeInternal`, `RetryStep.internalStart`): the statements since
//!   `BEGIN` run up to n times in all while the commit conflicts; then the ELSE statements
//!   run and the script fails with the conflict (FAIL, the default) or goes on (CONTINUE).
//!   BEGIN must be in the same block as the COMMIT for a retry (otherwise the conflict is
//!   the error). The transaction under RETRY answers nothing, as RetryStep does; the
//!   variables are not reset between attempts (`OScriptExecutionTest.testCommitRetry`
//!   counts the attempts in a variable).

use basalt_engine::{Document, Value};
use tracing::{debug, error, info, warn};

use super::eval::{self, Ctx};
use super::rows::{Res, Row};
use super::{backoff, select, QueryError, Script};
use crate::sql::ast::{
    CommitElse, ConsoleStatement, Expr, ForEachBlock, IfBlock, IntArg, LetValue, Span, Statement, WhileBlock,
};

/// Where result rows go as they are found.
pub(super) type RowOut<'a> = dyn FnMut(&Row) -> Res<()> + 'a;

/// How a block ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    /// It ran to its end.
    Done,
    /// A `RETURN` ended the script; the result holds its rows.
    Returned,
    /// The last SELECT's rows went to the caller as they were found.
    Streamed,
}

/// What to do after one statement.
enum Step {
    Next,
    Jump(usize),
    Flow(Flow),
}

/// Where a block's statements are, to tell blocks apart (BEGIN and COMMIT RETRY).
fn block_key(statements: &[Statement]) -> usize {
    statements.as_ptr() as usize
}

/// A row `{operation: <name>}` and the given properties, as OrientDB's script statements answer.
fn operation_row(name: &str, extra: &[(&str, Value)]) -> Row {
    let mut d = Document::new().with("operation", Value::String(name.into()));
    for (k, v) in extra {
        d.set(*k, v.clone());
    }
    Row::doc(d)
}

/// A loop's stop (timeout, cancellation, budget) named with the loop and where it is.
fn at_block(keyword: &str, span: Span, e: QueryError) -> QueryError {
    let place = format!("{keyword} at line {}, column {}", span.line, span.column);
    match e {
        QueryError::Timeout(m) => QueryError::Timeout(format!("{place}: {m}")),
        QueryError::Cancelled(m) => QueryError::Cancelled(format!("{place}: {m}")),
        QueryError::Budget(m) => QueryError::Budget(format!("{place}: {m}")),
        other => other,
    }
}

impl Script<'_> {
    /// Runs the statements of one block; `stream` (the top level only) takes the rows of a
    /// last SELECT outside a transaction as they are found.
    pub(super) fn block(
        &mut self,
        statements: &[Statement],
        result: &mut Vec<Row>,
        mut stream: Option<&mut RowOut<'_>>,
    ) -> Res<Flow> {
        let key = block_key(statements);
        let last = statements.len().saturating_sub(1);
        let mut pc = 0;
        while let Some(s) = statements.get(pc) {
            self.watch.tick()?;
            if let (Some(out), Statement::Select(sel), true, true) = (stream.as_mut(), s, pc == last, self.tx.is_none())
            {
                // The result goes out as it is found: nothing is collected.
                self.with_env(|env| {
                    select::select_into(env, None, sel, self.req.limit, &mut |row| {
                        out(&row)?;
                        Ok(true)
                    })
                })?;
                return Ok(Flow::Streamed);
            }
            let default_limit = if stream.is_some() && pc == last { self.req.limit } else { None };
            let step = self.line(s, pc, key, result, default_limit)?;
            self.settle(result);
            match step {
                Step::Next => pc += 1,
                Step::Jump(at) => pc = at,
                Step::Flow(f) => return Ok(f),
            }
        }
        Ok(Flow::Done)
    }

    /// Runs one statement of a block at `pc`.
    fn line(
        &mut self,
        s: &Statement,
        pc: usize,
        key: usize,
        result: &mut Vec<Row>,
        default_limit: Option<usize>,
    ) -> Res<Step> {
        match s {
            Statement::Begin => {
                if self.tx.is_some() {
                    return Err(QueryError::Invalid("BEGIN: a transaction is already open".into()));
                }
                self.begin(pc, key);
                *result = vec![operation_row("begin", &[])];
            }
            Statement::Commit { retry, otherwise } => {
                return self.commit(*retry, otherwise.as_deref(), (pc, key), result)
            }
            Statement::Rollback => {
                if self.tx.take().is_none() {
                    return Err(QueryError::Invalid("ROLLBACK without BEGIN".into()));
                }
                *result = vec![operation_row("rollback", &[])];
            }
            Statement::Sleep(n) => *result = vec![self.sleep_statement(n)?],
            Statement::Console(c) => *result = vec![self.console(c)?],
            Statement::Let { name, value } => {
                match value {
                    LetValue::Statement(inner) => {
                        let rows = self.statement(inner, None)?;
                        let v = Value::List(rows.iter().map(Row::to_value).collect());
                        self.set_var(&name.name, v)?;
                        self.statement_vars.insert(name.name.clone());
                    }
                    LetValue::Expr(e) => {
                        let v = self.with_env(|env| eval::eval(env, &Ctx::default(), e))?;
                        self.set_var(&name.name, v)?;
                        self.statement_vars.remove(&name.name);
                    }
                }
                result.clear();
            }
            Statement::Return(e) => {
                *result = self.returned(e.as_ref())?;
                return Ok(Step::Flow(Flow::Returned));
            }
            Statement::If(b) => return self.if_block(b, result),
            Statement::While(b) => return self.while_block(b, result),
            Statement::ForEach(b) => return self.foreach_block(b, result),
            other => *result = self.statement(other, default_limit)?,
        }
        Ok(Step::Next)
    }

    /// `COMMIT [RETRY n [ELSE ...]]`: commits the open transaction. With RETRY (BEGIN in
    /// this block), a conflict re-runs the statements since BEGIN, n attempts in all; when
    /// the last conflicts too, the ELSE statements run and the script fails with the
    /// conflict (`FAIL`, the default) or goes on (`CONTINUE`), as `RetryStep.internalStart`
    /// does. A transaction under RETRY answers nothing (RetryStep's result), a plain COMMIT
    /// `{operation: "commit"}`.
    fn commit(
        &mut self,
        retry: Option<u32>,
        otherwise: Option<&CommitElse>,
        at: (usize, usize),
        result: &mut Vec<Row>,
    ) -> Res<Step> {
        let Some(open) = self.tx.take() else {
            return Err(QueryError::Invalid("COMMIT without BEGIN".into()));
        };
        let (pc, key) = at;
        let retrying = retry.is_some() && open.begin_at != usize::MAX && open.begin_block == key;
        let e = match self.db.commit(&open.tx) {
            Ok(c) => {
                self.watch.pause(true);
                // The statements' rows give way to COMMIT's: only the variables are resolved.
                let read_back = self.committed(&c, &mut Vec::new());
                self.watch.pause(false);
                read_back?;
                self.retries.remove(&(key, pc));
                *result = if retrying { Vec::new() } else { vec![operation_row("commit", &[])] };
                return Ok(Step::Next);
            }
            Err(e @ basalt_engine::Error::Conflict { .. }) if retrying => e,
            Err(e) => return Err(e.into()),
        };
        let n = retry.unwrap_or(1);
        let left = self.retries.entry((key, pc)).or_insert(n.saturating_sub(1));
        if *left > 0 {
            *left -= 1;
            backoff(n.saturating_sub(*left));
            // The variables stay as the failed attempt left them: OrientDB's testCommitRetry
            // counts its attempts in one.
            let begin_at = open.begin_at;
            self.begin(begin_at, key);
            result.clear();
            return Ok(Step::Jump(begin_at + 1));
        }
        // Every attempt conflicted: the next run of this COMMIT (in a loop) starts afresh.
        self.retries.remove(&(key, pc));
        result.clear();
        let Some(otherwise) = otherwise else { return Err(e.into()) };
        match self.block(&otherwise.body, result, None)? {
            Flow::Done => {}
            f => return Ok(Step::Flow(f)),
        }
        if otherwise.fail {
            return Err(e.into());
        }
        result.clear();
        Ok(Step::Next)
    }

    /// `IF (cond) { ... }`: the body's result when the condition holds, else nothing.
    fn if_block(&mut self, b: &IfBlock, result: &mut Vec<Row>) -> Res<Step> {
        result.clear();
        if !self.with_env(|env| eval::test(env, &Ctx::default(), &b.condition))? {
            return Ok(Step::Next);
        }
        match self.block(&b.body, result, None)? {
            Flow::Done => Ok(Step::Next),
            f => Ok(Step::Flow(f)),
        }
    }

    /// `WHILE (cond) { ... }`: rounds while the condition holds, each after a look at the
    /// deadline and the cancellation; nothing as its result unless a RETURN ends the script.
    fn while_block(&mut self, b: &WhileBlock, result: &mut Vec<Row>) -> Res<Step> {
        loop {
            self.watch.check().map_err(|e| at_block("WHILE", b.span, e))?;
            result.clear();
            if !self.with_env(|env| eval::test(env, &Ctx::default(), &b.condition))? {
                return Ok(Step::Next);
            }
            match self.block(&b.body, result, None).map_err(|e| at_block("WHILE", b.span, e))? {
                Flow::Done => {}
                f => return Ok(Step::Flow(f)),
            }
        }
    }

    /// `FOREACH ($x IN expr) { ... }`: the body once per item (a list's items, or the one
    /// value; none for null), with `$x` set to it.
    fn foreach_block(&mut self, b: &ForEachBlock, result: &mut Vec<Row>) -> Res<Step> {
        let source = self.with_env(|env| eval::eval(env, &Ctx::default(), &b.source))?;
        for item in eval::items(source) {
            self.watch.check().map_err(|e| at_block("FOREACH", b.span, e))?;
            self.set_var(&b.variable.name, item)?;
            self.statement_vars.remove(&b.variable.name);
            result.clear();
            match self.block(&b.body, result, None).map_err(|e| at_block("FOREACH", b.span, e))? {
                Flow::Done => {}
                f => return Ok(Step::Flow(f)),
            }
        }
        result.clear();
        Ok(Step::Next)
    }

    /// `SLEEP n`: sleeps (cut short by the deadline or the cancellation) and answers
    /// OrientDB's row.
    fn sleep_statement(&mut self, n: &IntArg) -> Res<Row> {
        let ms = match n {
            IntArg::Value(v) => *v,
            IntArg::Parameter(p) => self.with_env(|env| Ok(eval::parameter(env, p)?.as_i64().unwrap_or(0)))?,
        };
        self.sleep(std::time::Duration::from_millis(ms.clamp(0, super::MAX_SLEEP_MS) as u64))?;
        let millis = super::rows::int_value(ms);
        Ok(operation_row("sleep", &[("result", Value::String("OK".into())), ("millis", millis)]))
    }

    /// `CONSOLE.<level> message`: logs the message through `tracing` at the level's
    /// severity (`output` as information, where OrientDB prints to its standard output).
    fn console(&mut self, c: &ConsoleStatement) -> Res<Row> {
        let v = self.with_env(|env| eval::eval(env, &Ctx::default(), &c.message))?;
        let msg = if v.is_null() { "null".to_string() } else { super::ops::value_text(&v) };
        let level = c.level.name.to_ascii_lowercase();
        match level.as_str() {
            "log" | "output" => info!(target: "basalt::sql::console", "{msg}"),
            "error" => error!(target: "basalt::sql::console", "{msg}"),
            "warn" => warn!(target: "basalt::sql::console", "{msg}"),
            "debug" => debug!(target: "basalt::sql::console", "{msg}"),
            _ => {
                return Err(eval::invalid_at(
                    c.level.span,
                    format!("CONSOLE: unsupported log level '{}'; use log, output, error, warn or debug", c.level.name),
                ))
            }
        }
        Ok(operation_row("console", &[("level", Value::String(c.level.name.clone())), ("message", Value::String(msg))]))
    }

    /// The rows `RETURN expr` answers (see the module docs).
    fn returned(&mut self, e: Option<&Expr>) -> Res<Vec<Row>> {
        let Some(e) = e else { return Ok(vec![Row::value(Value::Null)]) };
        let rows_of_statement = matches!(e, Expr::Variable(v) if self.statement_vars.contains(&v.name));
        let v = self.with_env(|env| eval::eval(env, &Ctx::default(), e))?;
        self.with_env(|env| {
            let mut rows = Vec::new();
            let items = match v {
                Value::List(items) if rows_of_statement => items,
                other => vec![other],
            };
            for item in items {
                match item {
                    Value::Link(r) if !r.is_temporary() => env.value_rows(Value::Link(r), &mut rows)?,
                    Value::Embedded(d) => rows.push(Row::doc(d)),
                    other => rows.push(Row::value(other)),
                }
            }
            Ok(rows)
        })
    }
}
