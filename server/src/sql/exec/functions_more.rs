//! Functions dispatched after the core set of `functions.rs`: the path functions
//! (`shortestPath`, `dijkstra`, `astar`, in `functions_path.rs`), `eval`, `interval`,
//! `indexKeySize` and `traversedElement`/`traversedVertex`/`traversedEdge`, each as OrientDB's class of that name under
//! `core/src/main/java/com/orientechnologies/orient/core/sql/functions/` defines it.

use basalt_engine::{RecordKind, Rid, Value};

use super::eval::{eval, Ctx, Env};
use super::functions_path as path;
use super::ops::{cmp_values, value_text};
use super::rows::{int_value, show, Res};
use crate::query::QueryError;
use crate::sql::ast::FunctionCall;

/// The names [`call`] knows, spelled as OrientDB's documentation does.
pub(crate) const NAMES: &[&str] = &[
    "shortestPath",
    "dijkstra",
    "astar",
    "eval",
    "interval",
    "indexKeySize",
    "traversedElement",
    "traversedVertex",
    "traversedEdge",
];

/// Runs `call` if it names one of [`NAMES`] (`name` is lower case); `None` otherwise.
/// `check` validates the argument count as `functions.rs` does for its own.
pub(crate) fn call(
    env: &Env<'_>,
    ctx: &Ctx<'_>,
    call: &FunctionCall,
    name: &str,
    check: &dyn Fn(usize, usize) -> Res<()>,
) -> Option<Res<Value>> {
    let (min, max) = match name {
        "shortestpath" => (2, 5),
        "dijkstra" | "astar" => (3, 4),
        "eval" => (1, 1),
        "interval" => (2, usize::MAX),
        "indexkeysize" => (1, 1),
        "traversedelement" | "traversedvertex" | "traversededge" => (1, 2),
        _ => return None,
    };
    Some(check(min, max).and_then(|()| run(env, ctx, call, name)))
}

fn run(env: &Env<'_>, ctx: &Ctx<'_>, call: &FunctionCall, name: &str) -> Res<Value> {
    if name == "eval" {
        return eval_text(env, ctx, &eval(env, ctx, &call.args[0])?);
    }
    let args: Vec<Value> = call.args.iter().map(|a| eval(env, ctx, a)).collect::<Res<_>>()?;
    let placed = |e: QueryError| match e {
        QueryError::Invalid(m) => super::eval::invalid_at(call.name.span, format!("{}(): {m}", call.name.name)),
        other => other,
    };
    match name {
        "shortestpath" => path::shortest_path(env, &args).map_err(placed),
        "dijkstra" => path::dijkstra(env, &args).map_err(placed),
        "astar" => path::astar(env, &args).map_err(placed),
        "interval" => Ok(interval(&args)),
        "traversedelement" | "traversedvertex" | "traversededge" => traversed(env, ctx, name, &args).map_err(placed),
        _ => Ok(index_key_size(env, &args[0])),
    }
}

/// `eval('expression')`: the text parsed as an expression and evaluated against the current
/// row (`OSQLFunctionEval`). Text that does not parse is an error; an integer division by
/// zero gives 0 (Java's `ArithmeticException`) and any other failure null, as OrientDB
/// catches them.
fn eval_text(env: &Env<'_>, ctx: &Ctx<'_>, text: &Value) -> Res<Value> {
    let text = value_text(text);
    let expr = crate::sql::parser::Parser::new(&text)
        .and_then(|p| p.parse_whole_expr())
        .map_err(|e| QueryError::Invalid(format!("eval(): cannot parse '{text}': {}", e.message)))?;
    match eval(env, ctx, &expr) {
        Ok(v) => Ok(v),
        Err(QueryError::Invalid(m)) if m.contains("division by zero") => Ok(int_value(0)),
        Err(QueryError::Invalid(_)) => Ok(Value::Null),
        Err(other) => Err(other),
    }
}

/// `interval(x, b1, b2, ...)`: the index `i - 1` of the first bound `b_i` greater than `x`,
/// -1 if none is or `x` is null (`OSQLFunctionInterval.execute`).
fn interval(args: &[Value]) -> Value {
    let first = &args[0];
    if first.is_null() {
        return int_value(-1);
    }
    for (i, bound) in args.iter().enumerate().skip(1) {
        if cmp_values(bound, first).is_some_and(|o| o.is_gt()) {
            return int_value(i as i64 - 1);
        }
    }
    int_value(-1)
}

/// `indexKeySize('name')`: how many distinct keys the index holds (Basalt indexes no null
/// key, which OrientDB adds on top); null for an unknown index (`OSQLFunctionIndexKeySize`).
fn index_key_size(env: &Env<'_>, name: &Value) -> Value {
    let Some(index) = env.snap.index(&value_text(name)) else { return Value::Null };
    let mut keys = 0i64;
    let mut last = None;
    for (key, _) in index.iter() {
        if last != Some(key) {
            keys += 1;
            last = Some(key);
        }
    }
    Value::Long(keys)
}

/// `traversedElement(begin [, items])`, `traversedVertex(...)`, `traversedEdge(...)`: records
/// of the current TRAVERSE row's `$stack`, counting only vertices or edges for the last two
/// (`OSQLFunctionTraversedElement.evaluate`). A negative `begin` counts from the row's own
/// record (-1) back towards the start; 0 and up count from the start record (0) forwards.
/// One item is a record, several a list; none found is null.
fn traversed(env: &Env<'_>, ctx: &Ctx<'_>, name: &str, args: &[Value]) -> Res<Value> {
    let whole = |v: &Value, what: &str| {
        v.as_i64().ok_or_else(|| QueryError::Invalid(format!("{what} must be a whole number, not {}", show(v))))
    };
    let begin = whole(&args[0], "the begin index")?;
    let wanted = match args.get(1) {
        Some(v) => whole(v, "the number of items")?,
        None => 1,
    };
    let Some(stack) = ctx.row.and_then(|r| env.stack_of(r)) else {
        return Err(QueryError::Invalid("it reads a TRAVERSE's path: use it on the rows of a TRAVERSE".into()));
    };
    let kind = match name {
        "traversedvertex" => Some(RecordKind::Vertex),
        "traversededge" => Some(RecordKind::Edge),
        _ => None,
    };
    // From the row's record back (negative indexes) or from the start record on.
    let order: Vec<Rid> =
        if begin < 0 { stack.iter().copied().collect() } else { stack.iter().rev().copied().collect() };
    let mut position: i64 = if begin < 0 { -1 } else { 0 };
    let mut found = Vec::new();
    for rid in order {
        env.tick()?;
        if let Some(k) = kind {
            if env.load(rid)?.is_none_or(|r| r.kind() != k) {
                continue;
            }
        }
        let reached = if begin < 0 { position <= begin } else { position >= begin };
        if reached {
            if wanted <= 1 {
                return Ok(Value::Link(rid));
            }
            found.push(Value::Link(rid));
            if found.len() as i64 >= wanted {
                break;
            }
        }
        position += if begin < 0 { -1 } else { 1 };
    }
    Ok(if found.is_empty() { Value::Null } else { Value::List(found) })
}
