//! Functions (`out('x')`, `ifnull(a, b)`, `count(x)` over a collection, ...) and methods
//! (`.size()`, `.toLowerCase()`, `.out('x')` on a record or a list of them).
//!
//! Names resolve case-insensitively. Graph steps follow a vertex's link bags through
//! [`basalt_engine::Snapshot::neighbours`]; applied to a list they step from every element and
//! concatenate (OrientDB's semantics: parallel edges repeat a neighbour). Aggregates in a
//! projection are computed by `select.rs`; here they apply to a collection argument.
//! This module dispatches by name; the statistics functions live in `functions_stat.rs`, the
//! collection functions in `functions_coll.rs`, `uuid`/`decimal`/`date`/`sysdate`/`format` in
//! `functions_misc.rs` (date patterns in `datefmt.rs`).

use basalt_engine::{Direction, Rid, Value};

use super::eval::{eval, invalid_at, items, literal, test, too_many, value_field, Ctx, Env};
use super::functions_coll::{self as coll, is_coll_aggregate};
use super::functions_misc as misc;
use super::functions_stat::{is_stat, stat_arity, Stat};
use super::ops::{cmp_values, value_text};
use super::rows::{dedup_values, int_value, show, Res};
use super::MAX_COLLECTION_ITEMS;
use crate::query::QueryError;
use crate::sql::ast::{Expr, FunctionCall};

/// The graph functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GraphFn {
    /// `out()`: vertices at the end of outgoing edges.
    Out,
    /// `in()`.
    In,
    /// `both()`.
    Both,
    /// `outE()`: outgoing edges.
    OutE,
    /// `inE()`.
    InE,
    /// `bothE()`.
    BothE,
    /// `outV()`: an edge's `out` vertex.
    OutV,
    /// `inV()`.
    InV,
    /// `bothV()`.
    BothV,
}

impl GraphFn {
    /// Looks a graph function up by name (any case).
    pub fn parse(name: &str) -> Option<GraphFn> {
        Some(match name.to_ascii_lowercase().as_str() {
            "out" => GraphFn::Out,
            "in" => GraphFn::In,
            "both" => GraphFn::Both,
            "oute" => GraphFn::OutE,
            "ine" => GraphFn::InE,
            "bothe" => GraphFn::BothE,
            "outv" => GraphFn::OutV,
            "inv" => GraphFn::InV,
            "bothv" => GraphFn::BothV,
            _ => return None,
        })
    }

    /// The step that walks this one backwards (for MATCH patterns bound at their far end).
    pub fn inverse(self) -> GraphFn {
        match self {
            GraphFn::Out => GraphFn::In,
            GraphFn::In => GraphFn::Out,
            GraphFn::Both => GraphFn::Both,
            GraphFn::OutE => GraphFn::OutV,
            GraphFn::InE => GraphFn::InV,
            GraphFn::BothE => GraphFn::BothV,
            GraphFn::OutV => GraphFn::OutE,
            GraphFn::InV => GraphFn::InE,
            GraphFn::BothV => GraphFn::BothE,
        }
    }
}

/// One graph step from a record, appending what it reaches.
pub(crate) fn step(env: &Env<'_>, rid: Rid, f: GraphFn, labels: &[String], out: &mut Vec<Value>) -> Res<()> {
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let (dir, edges) = match f {
        GraphFn::Out => (Some(Direction::Out), false),
        GraphFn::In => (Some(Direction::In), false),
        GraphFn::Both => (None, false),
        GraphFn::OutE => (Some(Direction::Out), true),
        GraphFn::InE => (Some(Direction::In), true),
        GraphFn::BothE => (None, true),
        GraphFn::OutV | GraphFn::InV | GraphFn::BothV => {
            let Some(r) = env.load(rid)? else { return Ok(()) };
            if let Some((o, i)) = r.edge_ends().map_err(|e| super::eval::decode_error(rid, e))? {
                if f != GraphFn::InV {
                    out.push(Value::Link(o));
                }
                if f != GraphFn::OutV {
                    out.push(Value::Link(i));
                }
            }
            return Ok(());
        }
    };
    env.tick()?;
    for (edge, other) in env.neighbours(rid, dir, &labels)? {
        out.push(Value::Link(if edges { edge } else { other }));
    }
    if out.len() > MAX_COLLECTION_ITEMS {
        return Err(too_many());
    }
    Ok(())
}

/// A graph step from every record in a value (a link, or a list of them).
pub(crate) fn step_value(env: &Env<'_>, v: &Value, f: GraphFn, labels: &[String], out: &mut Vec<Value>) -> Res<()> {
    match v {
        Value::Link(r) => step(env, *r, f, labels, out),
        Value::List(items) | Value::Set(items) => {
            for i in items {
                env.tick()?;
                step_value(env, i, f, labels, out)?;
            }
            Ok(())
        }
        Value::Embedded(d) => match d.get("@rid").and_then(Value::as_rid) {
            Some(r) => step(env, r, f, labels, out),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The edge labels given to a graph function (strings, or lists of strings).
pub(crate) fn labels(env: &Env<'_>, ctx: &Ctx<'_>, args: &[Expr]) -> Res<Vec<String>> {
    let mut out = Vec::new();
    for a in args {
        for v in items(eval(env, ctx, a)?) {
            match v {
                Value::String(s) => out.push(s),
                other => {
                    return Err(QueryError::Invalid(format!(
                        "edge labels must be strings, not {} {} (in `{a}`)",
                        other.type_name(),
                        show(&other)
                    )))
                }
            }
        }
    }
    Ok(out)
}

/// Whether a call is an aggregate when it appears in a projection: the statistics
/// functions always (OrientDB's `aggregateResults()` is true for them), the others with one
/// argument (`OSQLFunctionMathAbstract` and `OSQLFunctionMultiValueAbstract`).
pub(crate) fn is_aggregate(call: &FunctionCall) -> bool {
    let name = call.name.name.to_ascii_lowercase();
    let n = call.args.len();
    if is_stat(&name) {
        let (min, max) = stat_arity(&name);
        return n >= min && n <= max;
    }
    n == 1
        && (matches!(name.as_str(), "count" | "sum" | "min" | "max" | "avg" | "list" | "set")
            || is_coll_aggregate(&name))
}

/// A statistics function over its first argument's values (outside a grouped projection).
fn stat_call(env: &Env<'_>, ctx: &Ctx<'_>, call: &FunctionCall, name: &str) -> Res<Value> {
    let (min, max) = stat_arity(name);
    arity(call, min, max)?;
    let vals = args(env, ctx, call)?;
    let Some(mut s) = Stat::new(name) else { return Ok(Value::Null) };
    if s.wants_quantiles() {
        s.set_quantiles(&vals[1..])?;
    }
    s.add(&vals[0])?;
    Ok(s.finish())
}

fn arity(call: &FunctionCall, min: usize, max: usize) -> Res<()> {
    let n = call.args.len();
    if n < min || n > max {
        let expected = if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(invalid_at(
            call.name.span,
            format!("{}() takes {expected} argument(s), {n} given", call.name.name),
        ));
    }
    Ok(())
}

/// An error of a function's work, placed at the call.
fn at(call: &FunctionCall, e: QueryError) -> QueryError {
    match e {
        QueryError::Invalid(m) => invalid_at(call.name.span, format!("{}(): {m}", call.name.name)),
        other => other,
    }
}

fn args(env: &Env<'_>, ctx: &Ctx<'_>, call: &FunctionCall) -> Res<Vec<Value>> {
    call.args.iter().map(|a| eval(env, ctx, a)).collect()
}

/// Aggregate functions applied to a collection (outside a grouped projection).
pub(crate) fn fold(name: &str, values: Vec<Value>) -> Res<Value> {
    let values: Vec<Value> = values.into_iter().filter(|v| !v.is_null()).collect();
    Ok(match name {
        "count" => int_value(values.len() as i64),
        "min" => values.into_iter().min_by(|a, b| a.total_cmp(b)).unwrap_or(Value::Null),
        "max" => values.into_iter().max_by(|a, b| a.total_cmp(b)).unwrap_or(Value::Null),
        "sum" | "avg" => {
            let mut acc = super::select::Acc::new(if name == "sum" { "sum" } else { "avg" });
            for v in &values {
                acc.add(v)?;
            }
            acc.finish()
        }
        _ => Value::Null,
    })
}

/// A function call.
pub(crate) fn call(env: &Env<'_>, ctx: &Ctx<'_>, call: &FunctionCall) -> Res<Value> {
    let key = call as *const FunctionCall as usize;
    if let Some(v) = ctx.aggs.and_then(|a| a.get(&key)) {
        return Ok(v.clone());
    }
    let name = call.name.name.to_ascii_lowercase();
    if let Some(f) = GraphFn::parse(&name) {
        let labels = labels(env, ctx, &call.args)?;
        let mut out = Vec::new();
        if let Some(rid) = ctx.row.and_then(|r| r.rid()) {
            step(env, rid, f, &labels, &mut out)?;
        }
        return Ok(Value::List(out));
    }
    match name.as_str() {
        "count" | "sum" | "min" | "max" | "avg" => {
            arity(call, 1, usize::MAX)?;
            if matches!(call.args.first(), Some(Expr::Star)) {
                return Err(invalid_at(call.name.span, "count(*) counts rows: use it in a projection"));
            }
            let vals = args(env, ctx, call)?;
            let vals = if vals.len() == 1 { items(vals.into_iter().next().unwrap_or(Value::Null)) } else { vals };
            fold(&name, vals)
        }
        "distinct" => {
            Err(invalid_at(call.name.span, "distinct() may only be used as a projection: SELECT distinct(x) FROM ..."))
        }
        "expand" => Err(invalid_at(call.name.span, "expand() may only be used as the only projection of a SELECT")),
        "ifnull" => {
            arity(call, 2, 3)?;
            let a = eval(env, ctx, &call.args[0])?;
            if a.is_null() {
                eval(env, ctx, &call.args[1])
            } else if call.args.len() == 3 {
                eval(env, ctx, &call.args[2])
            } else {
                Ok(a)
            }
        }
        "coalesce" => {
            // OSQLFunctionCoalesce.java: 1 to 1000 arguments, the first not null.
            arity(call, 1, 1000)?;
            for a in &call.args {
                let v = eval(env, ctx, a)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            Ok(Value::Null)
        }
        "if" => {
            arity(call, 2, 3)?;
            if test(env, ctx, &call.args[0])? {
                eval(env, ctx, &call.args[1])
            } else if call.args.len() == 3 {
                eval(env, ctx, &call.args[2])
            } else {
                Ok(Value::Null)
            }
        }
        "first" | "last" => {
            arity(call, 1, 1)?;
            let v = eval(env, ctx, &call.args[0])?;
            Ok(match v {
                Value::List(i) | Value::Set(i) => {
                    if name == "first" { i.into_iter().next() } else { i.into_iter().last() }.unwrap_or(Value::Null)
                }
                other => other,
            })
        }
        "union" => {
            arity(call, 1, usize::MAX)?;
            let mut out = Vec::new();
            for v in args(env, ctx, call)? {
                out.extend(items(v));
                if out.len() > MAX_COLLECTION_ITEMS {
                    return Err(too_many());
                }
            }
            Ok(Value::List(dedup_values(out)))
        }
        "unionall" => {
            arity(call, 1, usize::MAX)?;
            coll::union_all(args(env, ctx, call)?)
        }
        "intersect" => {
            arity(call, 1, usize::MAX)?;
            coll::intersect(args(env, ctx, call)?)
        }
        "difference" => {
            arity(call, 2, usize::MAX)?;
            coll::difference(args(env, ctx, call)?)
        }
        "symmetricdifference" => {
            arity(call, 1, usize::MAX)?;
            coll::symmetric_difference(args(env, ctx, call)?)
        }
        n if is_stat(n) => stat_call(env, ctx, call, n),
        "uuid" => {
            arity(call, 0, 0)?;
            Ok(Value::String(misc::uuid_v4()))
        }
        "decimal" => {
            arity(call, 1, 1)?;
            Ok(misc::decimal(eval(env, ctx, &call.args[0])?))
        }
        "set" | "list" => {
            arity(call, 1, usize::MAX)?;
            let mut out = Vec::new();
            for v in args(env, ctx, call)? {
                out.extend(items(v));
            }
            Ok(if name == "set" { Value::Set(dedup_values(out)) } else { Value::List(out) })
        }
        "abs" => {
            arity(call, 1, 1)?;
            Ok(match eval(env, ctx, &call.args[0])? {
                Value::Double(d) => Value::Double(d.abs()),
                Value::Float(f) => Value::Float(f.abs()),
                v => match v.as_i64() {
                    Some(i) => int_value(i.saturating_abs()),
                    None if v.is_null() => Value::Null,
                    None => return Err(invalid_at(call.name.span, format!("abs() needs a number, not {}", show(&v)))),
                },
            })
        }
        "sysdate" => {
            arity(call, 0, 2)?;
            misc::sysdate(&args(env, ctx, call)?).map_err(|e| at(call, e))
        }
        "date" => {
            arity(call, 0, 3)?;
            misc::date(&args(env, ctx, call)?).map_err(|e| at(call, e))
        }
        "format" => {
            arity(call, 1, usize::MAX)?;
            let vals = args(env, ctx, call)?;
            let fmt = value_text(&vals[0]);
            Ok(Value::String(misc::java_format(&fmt, &vals[1..]).map_err(|e| at(call, e))?))
        }
        _ => match super::functions_more::call(env, ctx, call, &name, &|min, max| arity(call, min, max)) {
            Some(result) => result,
            None => Err(invalid_at(call.name.span, unknown("function", &call.name.name, &function_names()))),
        },
    }
}

/// The graph steps and aggregates: both functions (`out('x')`) and methods (`.out('x')`).
const STEPS_AND_AGGREGATES: &[&str] =
    &["out", "in", "both", "outE", "inE", "bothE", "outV", "inV", "bothV", "count", "sum", "min", "max", "avg"];

/// The other functions [`call`] knows, spelled as OrientDB's documentation does.
const FUNCTIONS_ONLY: &[&str] = &[
    "distinct",
    "expand",
    "ifnull",
    "coalesce",
    "if",
    "first",
    "last",
    "unionAll",
    "union",
    "intersect",
    "difference",
    "symmetricDifference",
    "mode",
    "median",
    "percentile",
    "variance",
    "stddev",
    "uuid",
    "decimal",
    "set",
    "list",
    "abs",
    "sysdate",
    "date",
    "format",
];

/// The other methods [`method`] knows.
const METHODS_ONLY: &[&str] = &[
    "size",
    "length",
    "toLowerCase",
    "toUpperCase",
    "trim",
    "asString",
    "asInteger",
    "asLong",
    "asFloat",
    "asDouble",
    "asDecimal",
    "asBoolean",
    "asDate",
    "asDatetime",
    "asSet",
    "asList",
    "keys",
    "values",
    "field",
    "left",
    "right",
    "substring",
    "indexOf",
    "charAt",
    "replace",
    "append",
    "prefix",
    "split",
    "type",
    "toJSON",
    "format",
];

/// Every function name: the list an unknown name's error picks its suggestions from (a unit
/// test checks each one is known).
pub(crate) fn function_names() -> Vec<&'static str> {
    STEPS_AND_AGGREGATES.iter().chain(FUNCTIONS_ONLY).chain(super::functions_more::NAMES).copied().collect()
}

/// Every method name, for the same purpose.
pub(crate) fn method_names() -> Vec<&'static str> {
    STEPS_AND_AGGREGATES.iter().chain(METHODS_ONLY).copied().collect()
}

/// "unknown function 'cout'; the nearest known: count(), out()".
fn unknown(what: &str, name: &str, known: &[&str]) -> String {
    let dot = if what == "method" { "." } else { "" };
    let near = nearest(name, known);
    let near: Vec<String> = near.iter().map(|n| format!("{dot}{n}()")).collect();
    format!("unknown {what} '{dot}{name}()'; the nearest known: {}", near.join(", "))
}

/// The (at most three) known names closest to `name`, ignoring case: by the edit distance to
/// the closest beginning of each (so `toUper` is one edit from `toUpperCase` cut short), then
/// by the distance to the whole name.
pub(crate) fn nearest<'a>(name: &str, known: &[&'a str]) -> Vec<&'a str> {
    let name = name.to_ascii_lowercase();
    let mut scored: Vec<(usize, usize, &str)> = known
        .iter()
        .map(|k| {
            let (prefix, whole) = edit_distances(&name, &k.to_ascii_lowercase());
            (prefix, whole, *k)
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.2 == b.2);
    scored.into_iter().take(3).map(|(_, _, k)| k).collect()
}

/// Levenshtein distances from `a` to the closest prefix of `b` and to the whole of `b`, over
/// characters (names are short: quadratic is fine).
fn edit_distances(a: &str, b: &str) -> (usize, usize) {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    (row.iter().copied().min().unwrap_or(0), row[b.len()])
}

fn int_arg(env: &Env<'_>, ctx: &Ctx<'_>, call: &FunctionCall, i: usize) -> Res<i64> {
    let v = eval(env, ctx, &call.args[i])?;
    v.as_i64().ok_or_else(|| {
        invalid_at(
            call.name.span,
            format!(".{}() needs a whole number as argument {}, not {}", call.name.name, i + 1, show(&v)),
        )
    })
}

fn str_arg(env: &Env<'_>, ctx: &Ctx<'_>, call: &FunctionCall, i: usize) -> Res<String> {
    Ok(value_text(&eval(env, ctx, &call.args[i])?))
}

/// Applies a string method to a value, or to each element of a list.
fn per_string(v: Value, f: &dyn Fn(&str) -> Value) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::String(s) => f(&s),
        Value::List(items) | Value::Set(items) => Value::List(items.into_iter().map(|i| per_string(i, f)).collect()),
        other => f(&value_text(&other)),
    }
}

fn convert(v: Value, target: &str, call: &FunctionCall) -> Res<Value> {
    use basalt_engine::PropertyType as T;
    let ty = match target {
        "asinteger" => T::Integer,
        "aslong" => T::Long,
        "asfloat" => T::Float,
        "asdouble" | "asdecimal" => T::Double,
        "asboolean" => T::Boolean,
        _ => T::Datetime,
    };
    let v = match (&v, ty) {
        (Value::Double(_) | Value::Float(_), T::Integer | T::Long) => {
            Value::Long(v.as_f64().unwrap_or_default().trunc() as i64)
        }
        _ => v,
    };
    basalt_engine::convert::coerce(v, ty, None)
        .map_err(|why| invalid_at(call.name.span, format!(".{}(): {why}", call.name.name)))
}

/// A method applied to a value.
pub(crate) fn method(env: &Env<'_>, ctx: &Ctx<'_>, target: Value, call: &FunctionCall) -> Res<Value> {
    let name = call.name.name.to_ascii_lowercase();
    if let Some(f) = GraphFn::parse(&name) {
        let labels = labels(env, ctx, &call.args)?;
        let mut out = Vec::new();
        step_value(env, &target, f, &labels, &mut out)?;
        return Ok(Value::List(out));
    }
    let none = |min: usize, max: usize| arity(call, min, max);
    match name.as_str() {
        "size" => {
            none(0, 0)?;
            Ok(int_value(match &target {
                Value::Null => 0,
                Value::List(i) | Value::Set(i) => i.len() as i64,
                Value::Map(m) => m.len() as i64,
                Value::Embedded(d) => d.len() as i64,
                _ => 1,
            }))
        }
        "length" => {
            none(0, 0)?;
            Ok(match &target {
                Value::Null => Value::Null,
                Value::String(s) => int_value(s.chars().count() as i64),
                Value::List(i) | Value::Set(i) => int_value(i.len() as i64),
                other => int_value(value_text(other).chars().count() as i64),
            })
        }
        "tolowercase" => {
            // OrientDB's executor passes `.tolowercase(Locale.ENGLISH)` its argument and the method
            // ignores it (OSQLMethodToLowerCase always uses Locale.ENGLISH).
            none(0, 1)?;
            Ok(per_string(target, &|s| Value::String(s.to_lowercase())))
        }
        "touppercase" => {
            // OrientDB's executor passes `.touppercase(Locale.ENGLISH)` its argument and the method
            // ignores it (OSQLMethodToUpperCase always uses Locale.ENGLISH).
            none(0, 1)?;
            Ok(per_string(target, &|s| Value::String(s.to_uppercase())))
        }
        "trim" => {
            none(0, 0)?;
            Ok(per_string(target, &|s| Value::String(s.trim().to_string())))
        }
        "asstring" => {
            none(0, 0)?;
            Ok(match target {
                Value::Null => Value::Null,
                other => Value::String(value_text(&other)),
            })
        }
        "asinteger" | "aslong" | "asfloat" | "asdouble" | "asdecimal" | "asboolean" | "asdate" | "asdatetime" => {
            none(0, 0)?;
            match target {
                Value::String(ref s) if !matches!(name.as_str(), "asdate" | "asdatetime" | "asboolean") => {
                    match s.trim().parse::<f64>() {
                        Ok(f) => convert(Value::Double(f), &name, call),
                        Err(_) => Ok(Value::Null),
                    }
                }
                Value::List(_) | Value::Set(_) => {
                    Err(invalid_at(call.name.span, format!(".{}() needs a single value, not a list", call.name.name)))
                }
                other => convert(other, &name, call),
            }
        }
        "asset" => {
            none(0, 0)?;
            Ok(Value::Set(dedup_values(items(target))))
        }
        "aslist" => {
            none(0, 0)?;
            Ok(Value::List(items(target)))
        }
        "keys" => {
            none(0, 0)?;
            Ok(match target {
                Value::Map(m) => Value::List(m.into_keys().map(Value::String).collect()),
                Value::Embedded(d) => Value::List(d.names().map(|n| Value::String(n.into())).collect()),
                _ => Value::List(Vec::new()),
            })
        }
        "values" => {
            none(0, 0)?;
            Ok(match target {
                Value::Map(m) => Value::List(m.into_values().collect()),
                Value::Embedded(d) => Value::List(d.into_fields().into_iter().map(|(_, v)| v).collect()),
                _ => Value::List(Vec::new()),
            })
        }
        "field" => {
            none(1, 1)?;
            let f = str_arg(env, ctx, call, 0)?;
            Ok(value_field(env, &target, &f)?.unwrap_or(Value::Null))
        }
        "left" | "right" => {
            none(1, 1)?;
            let n = int_arg(env, ctx, call, 0)?.max(0) as usize;
            let right = name == "right";
            Ok(per_string(target, &|s| {
                let len = s.chars().count();
                let skip = if right { len.saturating_sub(n) } else { 0 };
                Value::String(s.chars().skip(skip).take(n).collect())
            }))
        }
        "substring" => {
            none(1, 2)?;
            let from = int_arg(env, ctx, call, 0)?.max(0) as usize;
            let to = if call.args.len() == 2 { Some(int_arg(env, ctx, call, 1)?.max(0) as usize) } else { None };
            Ok(per_string(target, &|s| {
                let end = to.unwrap_or(usize::MAX);
                Value::String(s.chars().skip(from).take(end.saturating_sub(from)).collect())
            }))
        }
        "indexof" => {
            none(1, 1)?;
            let needle = str_arg(env, ctx, call, 0)?;
            Ok(match target {
                Value::String(s) => int_value(s.find(&needle).map(|b| s[..b].chars().count() as i64).unwrap_or(-1)),
                Value::List(i) | Value::Set(i) => {
                    let n = eval(env, ctx, &call.args[0])?;
                    int_value(
                        i.iter().position(|x| cmp_values(x, &n).is_some_and(|o| o.is_eq())).map_or(-1, |p| p as i64),
                    )
                }
                _ => Value::Null,
            })
        }
        "charat" => {
            none(1, 1)?;
            let n = int_arg(env, ctx, call, 0)?;
            Ok(per_string(target, &|s| {
                usize::try_from(n)
                    .ok()
                    .and_then(|n| s.chars().nth(n))
                    .map(|c| Value::String(c.to_string()))
                    .unwrap_or(Value::Null)
            }))
        }
        "replace" => {
            none(2, 2)?;
            let (a, b) = (str_arg(env, ctx, call, 0)?, str_arg(env, ctx, call, 1)?);
            Ok(per_string(target, &|s| Value::String(if a.is_empty() { s.to_string() } else { s.replace(&a, &b) })))
        }
        "append" | "prefix" => {
            none(1, 1)?;
            let a = str_arg(env, ctx, call, 0)?;
            let prefix = name == "prefix";
            Ok(per_string(target, &|s| Value::String(if prefix { format!("{a}{s}") } else { format!("{s}{a}") })))
        }
        "split" => {
            none(1, 1)?;
            let sep = str_arg(env, ctx, call, 0)?;
            Ok(match target {
                Value::String(s) if !sep.is_empty() => {
                    Value::List(s.split(sep.as_str()).map(|p| Value::String(p.to_string())).collect())
                }
                Value::String(s) => Value::List(vec![Value::String(s)]),
                _ => Value::Null,
            })
        }
        "type" => {
            none(0, 0)?;
            Ok(Value::String(target.type_name().to_string()))
        }
        "tojson" => {
            none(0, 0)?;
            Ok(Value::String(basalt_engine::json::to_json(&target).to_string()))
        }
        "format" => {
            none(1, 2)?;
            let vals = args(env, ctx, call)?;
            misc::format_method(target, &vals).map_err(|e| at(call, e))
        }
        "count" | "sum" | "min" | "max" | "avg" if call.args.is_empty() => fold(&name, items(target)),
        _ => Err(invalid_at(call.name.span, unknown("method", &call.name.name, &method_names()))),
    }
}

/// A constant expression's value, without a row (for index lookups and UPSERT keys);
/// `None` if it reads the row.
pub(crate) fn constant(env: &Env<'_>, e: &Expr) -> Res<Option<Value>> {
    Ok(match e {
        Expr::Literal(l) => Some(literal(l)),
        Expr::Parameter(p) => Some(super::eval::parameter(env, p)?),
        Expr::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                match constant(env, i)? {
                    Some(v) => out.push(v),
                    None => return Ok(None),
                }
            }
            Some(Value::List(out))
        }
        Expr::Negate(inner) => match constant(env, inner)? {
            Some(v) => Some(super::ops::arithmetic(crate::sql::ast::ArithmeticOp::Sub, Value::Int(0), v, e)?),
            None => None,
        },
        Expr::Arithmetic { op, left, right } => match (constant(env, left)?, constant(env, right)?) {
            (Some(a), Some(b)) => Some(super::ops::arithmetic(*op, a, b, e)?),
            _ => None,
        },
        _ => None,
    })
}

/// Whether an expression is a literal `*` or `count(*)`.
pub(crate) fn is_count_star(e: &Expr) -> bool {
    matches!(e, Expr::Call(c) if c.name.name.eq_ignore_ascii_case("count") && matches!(c.args.as_slice(), [Expr::Star]))
}
