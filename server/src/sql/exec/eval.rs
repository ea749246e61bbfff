//! Expressions and conditions: the [`Env`] of one statement (snapshot, parameters, script
//! variables, subquery cache, nesting guard, the query's [`Watch`]), the [`Ctx`] of one row (current record, LET
//! values, parent context, depth, aggregate results, MATCH bindings), and [`eval`] / [`test`].
//!
//! Operators (comparisons, arithmetic, LIKE) are in `ops.rs`.

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::rc::Rc;

use basalt_engine::{Document, Record, Rid, Snapshot, Value};

use super::control::{rows_bytes, Watch};
use super::ops::{arithmetic, cmp_values, compare, contains, values_eq};
use super::rows::{int_value, truthy, Data, Res, Row};
use super::{functions, MAX_COLLECTION_ITEMS, MAX_EXEC_STACK_BYTES, MAX_SUBQUERY_DEPTH};
use crate::query::{Params, QueryError};
use crate::sql::ast::{
    ArithmeticOp, CompareOp, ContainsOp, Expr, Ident, Literal, Member, Parameter, RecordAttribute, Span, Statement,
};

/// Everything one statement's evaluation shares.
pub(crate) struct Env<'e> {
    /// The read view.
    pub snap: &'e Snapshot<'e>,
    /// Statement parameters.
    pub params: &'e Params,
    /// Script variables (`LET` at script level), without `$`.
    pub vars: &'e HashMap<String, Value>,
    /// The open transaction changed the schema: classes the snapshot lacks may exist there.
    pub tx_schema_changed: bool,
    /// Fields the open transaction gives records it updated (an UPDATE builds on them).
    pub tx_updates: Option<&'e HashMap<Rid, Document>>,
    /// What the open transaction wrote, as its reads see it (`txview.rs`).
    pub tx_view: Option<&'e super::txview::TxView>,
    /// The query's cancellation, deadlines and memory budget.
    pub watch: &'e Watch,
    /// Stack address when the statement started, for the depth guard.
    stack_base: usize,
    /// Subqueries being evaluated, nested.
    nesting: Cell<usize>,
    /// Results of subqueries that do not depend on the row, by statement address; `None`
    /// marks a correlated subquery.
    cache: RefCell<HashMap<usize, Option<Rc<Vec<Row>>>>>,
    /// The `$stack` of each row TRAVERSE produced (its record first, back to the start
    /// record), by the address of the row's record, which is kept alive here so that the
    /// address names no other record while the statement runs.
    stacks: RefCell<HashMap<usize, Traversed>>,
}

/// A TRAVERSE row's record (held so its address stays unique) and its `$stack`.
type Traversed = (Rc<Record>, Rc<[Rid]>);

/// The address of a local in the current frame: how deep the stack is.
#[inline(never)]
fn stack_address() -> usize {
    let marker = 0u8;
    std::ptr::addr_of!(marker) as usize
}

impl<'e> Env<'e> {
    /// An environment over a snapshot.
    pub fn new(
        snap: &'e Snapshot<'e>,
        params: &'e Params,
        vars: &'e HashMap<String, Value>,
        watch: &'e Watch,
    ) -> Env<'e> {
        Env {
            snap,
            params,
            vars,
            tx_schema_changed: false,
            tx_updates: None,
            tx_view: None,
            watch,
            stack_base: stack_address(),
            nesting: Cell::new(0),
            cache: RefCell::new(HashMap::new()),
            stacks: RefCell::new(HashMap::new()),
        }
    }

    /// Fails cleanly when evaluation went too deep for the thread's stack, and counts a
    /// unit of work for the query's [`Watch`] (cancellation and timeouts).
    #[inline]
    pub fn guard(&self) -> Res<()> {
        if stack_address().abs_diff(self.stack_base) > MAX_EXEC_STACK_BYTES {
            return Err(QueryError::Invalid("the query is nested too deeply to evaluate".into()));
        }
        self.watch.tick()
    }

    /// Counts a unit of work (a loop iteration) for the query's [`Watch`].
    #[inline]
    pub fn tick(&self) -> Res<()> {
        self.watch.tick()
    }

    /// Reads a record (absent: `None`).
    pub fn load(&self, rid: Rid) -> Res<Option<Record>> {
        if let Some(seen) = self.tx_view.and_then(|v| v.get(rid)) {
            return Ok(seen.cloned());
        }
        if rid.is_temporary() {
            return Ok(None);
        }
        Ok(self.snap.get(rid)?)
    }

    /// Runs a read statement used as a value, caching it when it does not depend on the row.
    pub fn subquery(&self, ctx: &Ctx<'_>, s: &Statement) -> Res<Rc<Vec<Row>>> {
        let key = s as *const Statement as usize;
        let cached = self.cache.borrow().get(&key).cloned();
        if let Some(Some(rows)) = cached {
            return Ok(rows);
        }
        let depth = self.nesting.get();
        if depth >= MAX_SUBQUERY_DEPTH {
            return Err(QueryError::Invalid(format!("subqueries nest deeper than {MAX_SUBQUERY_DEPTH} levels")));
        }
        self.guard()?;
        self.nesting.set(depth + 1);
        let result = super::run_read(self, Some(ctx), s, None);
        self.nesting.set(depth);
        let rows = Rc::new(result?);
        // A subquery naming no variable cannot see the row it is evaluated for.
        let cacheable = match cached {
            None => !s.to_string().contains('$'),
            Some(_) => false,
        };
        if cached.is_none() {
            self.cache.borrow_mut().insert(key, cacheable.then(|| rows.clone()));
        }
        if !cacheable {
            // The rows live as long as the caller uses them; what it keeps of them is
            // charged again where it is kept (a sorted row, a group, a LET value).
            self.watch.release(rows_bytes(&rows));
        }
        Ok(rows)
    }

    /// Records the `$stack` of a TRAVERSE row (see [`Env::stack_of`]).
    pub fn set_stack(&self, record: &Rc<Record>, stack: Rc<[Rid]>) {
        let key = Rc::as_ptr(record) as usize;
        self.stacks.borrow_mut().insert(key, (record.clone(), stack));
    }

    /// The `$stack` of a row TRAVERSE produced: its record, its parent, ... the start
    /// record (OrientDB's `DepthFirstTraverseStep` metadata); `None` for any other row.
    pub fn stack_of(&self, row: &Row) -> Option<Rc<[Rid]>> {
        let super::rows::Data::Record(r) = &row.data else { return None };
        self.stacks.borrow().get(&(Rc::as_ptr(r) as usize)).map(|(_, s)| s.clone())
    }

    /// Rows for a value used as a source (`FROM $x`, `expand()`, a parameter): links are
    /// loaded (missing records skipped), lists flattened, documents become projections.
    pub fn value_rows(&self, v: Value, out: &mut Vec<Row>) -> Res<()> {
        self.guard()?;
        match v {
            Value::Null => {}
            Value::List(items) | Value::Set(items) => {
                for i in items {
                    self.tick()?;
                    self.value_rows(i, out)?;
                }
            }
            Value::Link(rid) => {
                if let Some(r) = self.load(rid)? {
                    out.push(Row::record(r));
                }
            }
            Value::String(s) if Rid::parse(&s).is_some_and(|r| !r.is_temporary()) => {
                if let Some(r) = Rid::parse(&s).map(|r| self.load(r)).transpose()?.flatten() {
                    out.push(Row::record(r));
                }
            }
            Value::Embedded(d) => out.push(Row::doc(d)),
            Value::Map(m) => out.push(Row::doc(m.into_iter().collect())),
            other => out.push(Row::value(other)),
        }
        if out.len() > MAX_COLLECTION_ITEMS {
            return Err(too_many());
        }
        Ok(())
    }

    /// A value as a row to evaluate conditions against (filters, CONTAINS (...)).
    pub fn value_row(&self, v: &Value) -> Res<Row> {
        Ok(match v {
            Value::Link(rid) => match self.load(*rid)? {
                Some(r) => Row::record(r),
                None => Row::value(v.clone()),
            },
            Value::Embedded(d) => Row::doc(d.clone()),
            Value::Map(m) => Row::doc(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            other => Row::value(other.clone()),
        })
    }
}

/// The error for a collection over [`MAX_COLLECTION_ITEMS`].
pub(crate) fn too_many() -> QueryError {
    QueryError::Invalid(format!(
        "the query builds a collection of more than {MAX_COLLECTION_ITEMS} items; narrow it down (WHERE, LIMIT)"
    ))
}

/// Aggregate results of a group, by the address of their call in the AST.
pub(crate) type AggValues = HashMap<usize, Value>;

/// What one evaluation sees besides the environment.
#[derive(Clone, Copy, Default)]
pub(crate) struct Ctx<'a> {
    /// The current row.
    pub row: Option<&'a Row>,
    /// `LET` values of this row.
    pub lets: &'a [(String, Value)],
    /// The enclosing query's context (`$parent`).
    pub parent: Option<&'a Ctx<'a>>,
    /// `$depth` (TRAVERSE WHILE, MATCH while).
    pub depth: Option<i64>,
    /// Aggregate results, in a grouped projection.
    pub aggs: Option<&'a AggValues>,
    /// MATCH bindings so far (`$matched`).
    pub matched: Option<&'a [(String, Value)]>,
}

impl<'a> Ctx<'a> {
    /// This context with another current row.
    pub fn with_row(&self, row: &'a Row) -> Ctx<'a> {
        Ctx { row: Some(row), ..*self }
    }
}

/// A semantic error located in the source.
pub(crate) fn invalid_at(span: Span, msg: impl std::fmt::Display) -> QueryError {
    if span.line == 0 {
        QueryError::Invalid(msg.to_string())
    } else {
        QueryError::Invalid(format!("{span}: {msg}"))
    }
}

/// A decoding failure of a stored record.
pub(crate) fn decode_error(rid: Rid, e: impl std::fmt::Display) -> QueryError {
    QueryError::Invalid(format!("record {rid} cannot be read: {e}"))
}

/// A field of a stored record; `out_<label>` / `in_<label>` of a vertex give its edges.
pub(crate) fn record_field(r: &Record, name: &str) -> Res<Option<Value>> {
    let bag = name
        .strip_prefix("out_")
        .map(|l| (basalt_engine::Direction::Out, l))
        .or_else(|| name.strip_prefix("in_").map(|l| (basalt_engine::Direction::In, l)));
    if let Some((dir, label)) = bag {
        if r.kind() == basalt_engine::RecordKind::Vertex {
            let bags = r.bags().map_err(|e| decode_error(r.rid, e))?;
            let mut found = false;
            let mut links = Vec::new();
            for b in bags.iter().filter(|b| b.direction == dir && b.label.eq_ignore_ascii_case(label)) {
                found = true;
                links.extend(b.links.iter().map(|(e, _)| Value::Link(*e)));
            }
            if found {
                return Ok(Some(Value::List(links)));
            }
        }
    }
    r.field(name).map_err(|e| decode_error(r.rid, e))
}

/// A field of a row (`None`: not defined).
pub(crate) fn row_field(env: &Env<'_>, row: &Row, name: &str) -> Res<Option<Value>> {
    match &row.data {
        Data::Record(r) => record_field(r, name),
        Data::Doc(d) => Ok(d.get(name).cloned()),
        Data::Pending(p) => Ok(p.fields.get(name).cloned()),
        Data::Match(b) => Ok(b.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())),
        Data::Value(v) => value_field(env, v, name),
    }
}

/// A field of a value: of the linked record, of a document or map, or of each element.
pub(crate) fn value_field(env: &Env<'_>, v: &Value, name: &str) -> Res<Option<Value>> {
    Ok(match v {
        Value::Link(rid) => match env.load(*rid)? {
            Some(r) => record_field(&r, name)?,
            None => None,
        },
        Value::Embedded(d) => d.get(name).cloned(),
        Value::Map(m) => m.get(name).cloned(),
        Value::List(items) | Value::Set(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                env.tick()?;
                if let Some(x) = value_field(env, i, name)? {
                    out.push(x);
                }
            }
            Some(Value::List(out))
        }
        _ => None,
    })
}

/// A record attribute of a row.
pub(crate) fn row_attribute(env: &Env<'_>, row: &Row, a: RecordAttribute) -> Res<Value> {
    match &row.data {
        Data::Record(r) => Ok(record_attribute(r, a)),
        Data::Pending(p) => Ok(match a {
            RecordAttribute::Rid => Value::Link(p.rid),
            RecordAttribute::Class => Value::String(p.class.clone()),
            RecordAttribute::Version => Value::Int(0),
            RecordAttribute::Type => Value::String("d".into()),
            RecordAttribute::Size => Value::Int(0),
            RecordAttribute::This => row.to_value(),
            RecordAttribute::Fields => Value::List(p.fields.names().map(|n| Value::String(n.into())).collect()),
        }),
        Data::Doc(d) => Ok(match a {
            RecordAttribute::Rid => d.get("@rid").cloned().unwrap_or(Value::Null),
            RecordAttribute::Class => d.get("@class").cloned().unwrap_or(Value::Null),
            RecordAttribute::Version => d.get("@version").cloned().unwrap_or(Value::Int(0)),
            RecordAttribute::Type => Value::String("d".into()),
            RecordAttribute::Size => Value::Int(0),
            RecordAttribute::This => row.to_value(),
            RecordAttribute::Fields => Value::List(d.names().map(|n| Value::String(n.into())).collect()),
        }),
        Data::Match(_) => Ok(match a {
            RecordAttribute::This => row.to_value(),
            RecordAttribute::Type => Value::String("d".into()),
            _ => Value::Null,
        }),
        Data::Value(v) => value_attribute(env, v, a),
    }
}

fn record_attribute(r: &Record, a: RecordAttribute) -> Value {
    match a {
        RecordAttribute::Rid | RecordAttribute::This => Value::Link(r.rid),
        RecordAttribute::Class => Value::String(r.class.to_string()),
        RecordAttribute::Version => int_value(i64::from(r.version)),
        RecordAttribute::Type => Value::String("d".into()),
        RecordAttribute::Size => int_value(r.body.len() as i64),
        RecordAttribute::Fields => {
            let mut names: Vec<Value> = match r.fields() {
                Ok(d) => d.names().map(|n| Value::String(n.into())).collect(),
                Err(_) => Vec::new(),
            };
            if let Ok(bags) = r.bags() {
                names.extend(bags.iter().map(|b| Value::String(b.field_name())));
            }
            Value::List(names)
        }
    }
}

/// A record attribute of a value (of the linked record; of each element of a list).
pub(crate) fn value_attribute(env: &Env<'_>, v: &Value, a: RecordAttribute) -> Res<Value> {
    Ok(match v {
        Value::Link(rid) => match env.load(*rid)? {
            Some(r) => record_attribute(&r, a),
            None if a == RecordAttribute::Rid => v.clone(),
            None => Value::Null,
        },
        Value::List(items) | Value::Set(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                env.tick()?;
                out.push(value_attribute(env, i, a)?);
            }
            Value::List(out)
        }
        Value::Embedded(d) => row_attribute(env, &Row::doc(d.clone()), a)?,
        _ if a == RecordAttribute::This => v.clone(),
        _ => Value::Null,
    })
}

/// A literal's value (integers are INTEGER when they fit, as in OrientDB).
pub(crate) fn literal(l: &Literal) -> Value {
    match l {
        Literal::Null => Value::Null,
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Integer(i) => int_value(*i),
        Literal::Float(f) => Value::Double(*f),
        Literal::String(s) => Value::String(s.clone()),
        Literal::Rid(r) => Value::Link(Rid::new(r.cluster, r.position)),
    }
}

/// A parameter's bound value.
pub(crate) fn parameter(env: &Env<'_>, p: &Parameter) -> Res<Value> {
    match p {
        Parameter::Positional { index, span } => env.params.positional.get(*index).cloned().ok_or_else(|| {
            invalid_at(
                *span,
                format!(
                    "positional parameter ?{} has no value ({} positional parameters were given)",
                    index,
                    env.params.positional.len()
                ),
            )
        }),
        Parameter::Named { name, span } => env
            .params
            .named
            .get(name)
            .cloned()
            .or_else(|| name.parse::<usize>().ok().and_then(|i| env.params.positional.get(i).cloned()))
            .ok_or_else(|| invalid_at(*span, format!("parameter :{name} has no value"))),
    }
}

/// A `$variable`.
pub(crate) fn variable(env: &Env<'_>, ctx: &Ctx<'_>, name: &Ident) -> Res<Value> {
    let n = name.name.as_str();
    match n.to_ascii_lowercase().as_str() {
        "current" | "this" | "currentmatch" => return Ok(ctx.row.map(Row::to_value).unwrap_or(Value::Null)),
        "depth" => {
            let d = ctx.depth.or_else(|| ctx.row.and_then(|r| r.depth).map(i64::from));
            return Ok(d.map(int_value).unwrap_or(Value::Null));
        }
        "parent" => return Ok(ctx.parent.and_then(|p| p.row).map(Row::to_value).unwrap_or(Value::Null)),
        "matched" if ctx.matched.is_some() => {
            let m = ctx.matched.unwrap_or_default();
            return Ok(Value::Map(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()));
        }
        _ => {}
    }
    let mut c = Some(ctx);
    while let Some(x) = c {
        if let Some((_, v)) = x.lets.iter().rev().find(|(k, _)| k == n) {
            return Ok(v.clone());
        }
        c = x.parent;
    }
    if let Some(v) = env.vars.get(n) {
        return Ok(v.clone());
    }
    Err(invalid_at(name.span, format!("unknown variable ${n}")))
}

/// The context a `$parent` chain names, if the expression is one.
fn parent_chain<'a>(ctx: &'a Ctx<'a>, e: &Expr) -> Option<&'a Ctx<'a>> {
    match e {
        Expr::Variable(v) if v.name.eq_ignore_ascii_case("parent") => ctx.parent,
        Expr::Member { target, member: Member::Variable(v) } if v.name.eq_ignore_ascii_case("parent") => {
            parent_chain(ctx, target).and_then(|c| c.parent)
        }
        _ => None,
    }
}

/// Items of a collection value; a single value is a one-item collection, null none.
pub(crate) fn items(v: Value) -> Vec<Value> {
    match v {
        Value::List(i) | Value::Set(i) => i,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// Evaluates a condition: true only for `true`.
pub(crate) fn test(env: &Env<'_>, ctx: &Ctx<'_>, e: &Expr) -> Res<bool> {
    match e {
        Expr::And(items) => {
            for i in items {
                if !test(env, ctx, i)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Expr::Or(items) => {
            for i in items {
                if test(env, ctx, i)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Expr::Not(inner) => Ok(!test(env, ctx, inner)?),
        other => Ok(truthy(&eval(env, ctx, other)?)),
    }
}

/// Whether a field path is defined on the current row (IS DEFINED).
fn defined(env: &Env<'_>, ctx: &Ctx<'_>, e: &Expr) -> Res<bool> {
    match e {
        Expr::Field(f) => match ctx.row {
            Some(r) => Ok(row_field(env, r, &f.name)?.is_some()),
            None => Ok(false),
        },
        Expr::Member { target, member: Member::Field(f) } => {
            let t = eval(env, ctx, target)?;
            Ok(value_field(env, &t, &f.name)?.is_some())
        }
        other => Ok(!eval(env, ctx, other)?.is_null()),
    }
}

/// Evaluates an expression. The arms live in their own functions so that this recursive
/// frame stays small (debug builds give every local of a function its own stack slot).
pub(crate) fn eval(env: &Env<'_>, ctx: &Ctx<'_>, e: &Expr) -> Res<Value> {
    env.guard()?;
    match e {
        Expr::Literal(l) => Ok(literal(l)),
        Expr::Parameter(p) => parameter(env, p),
        Expr::Field(f) => match ctx.row {
            Some(r) => Ok(row_field(env, r, &f.name)?.unwrap_or(Value::Null)),
            None => Ok(Value::Null),
        },
        Expr::Attribute(a) => match ctx.row {
            Some(r) => row_attribute(env, r, *a),
            None => Ok(Value::Null),
        },
        Expr::Variable(v) => variable(env, ctx, v),
        Expr::Star => Err(QueryError::Invalid("'*' is allowed only as in count(*)".into())),
        Expr::Array(items) => eval_array(env, ctx, items),
        Expr::Map(entries) => eval_map(env, ctx, entries),
        Expr::Call(call) => functions::call(env, ctx, call),
        Expr::MethodCall { target, call } => eval_method(env, ctx, target, call),
        Expr::Member { target, member } => eval_member(env, ctx, target, member),
        Expr::Index { target, index } => eval_index(env, ctx, target, index),
        Expr::Range { target, from, to, inclusive } => eval_range(env, ctx, target, from, to, *inclusive),
        Expr::Filter { target, condition } => eval_filter(env, ctx, target, condition),
        Expr::Negate(inner) => eval_arithmetic(env, ctx, ArithmeticOp::Sub, None, inner, e),
        Expr::Arithmetic { op, left, right } => eval_arithmetic(env, ctx, *op, Some(left), right, e),
        Expr::Compare { op, left, right } => eval_compare(env, ctx, *op, left, right, e),
        Expr::In { left, right, negated } => eval_in(env, ctx, left, right, *negated),
        Expr::Contains { op, left, right } => eval_contains(env, ctx, *op, left, right),
        Expr::ContainsCondition { op, left, condition } => eval_contains_condition(env, ctx, *op, left, condition),
        Expr::Between { value, low, high } => eval_between(env, ctx, value, low, high),
        Expr::IsNull { value, negated } => Ok(Value::Bool(eval(env, ctx, value)?.is_null() != *negated)),
        Expr::IsDefined { value, negated } => Ok(Value::Bool(defined(env, ctx, value)? != *negated)),
        Expr::InstanceOf { value, class } => eval_instance_of(env, ctx, value, class),
        Expr::And(_) | Expr::Or(_) | Expr::Not(_) => Ok(Value::Bool(test(env, ctx, e)?)),
        Expr::Subquery(s) => eval_subquery(env, ctx, s),
    }
}

#[inline(never)]
fn eval_array(env: &Env<'_>, ctx: &Ctx<'_>, items: &[Expr]) -> Res<Value> {
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        out.push(eval(env, ctx, i)?);
    }
    Ok(Value::List(out))
}

#[inline(never)]
fn eval_map(env: &Env<'_>, ctx: &Ctx<'_>, entries: &[crate::sql::ast::MapEntry]) -> Res<Value> {
    let mut m = std::collections::BTreeMap::new();
    for en in entries {
        m.insert(en.key.clone(), eval(env, ctx, &en.value)?);
    }
    Ok(Value::Map(m))
}

#[inline(never)]
fn eval_method(env: &Env<'_>, ctx: &Ctx<'_>, target: &Expr, call: &crate::sql::ast::FunctionCall) -> Res<Value> {
    let t = eval(env, ctx, target)?;
    functions::method(env, ctx, t, call)
}

#[inline(never)]
fn eval_member(env: &Env<'_>, ctx: &Ctx<'_>, target: &Expr, member: &Member) -> Res<Value> {
    if let Some(c) = parent_chain(ctx, target) {
        return match member {
            Member::Field(f) => eval(env, c, &Expr::Field(f.clone())),
            Member::Attribute(a) => eval(env, c, &Expr::Attribute(*a)),
            Member::Variable(v) => variable(env, c, v),
        };
    }
    if let (Expr::Variable(v), Some(row)) = (target, ctx.row) {
        if v.name.eq_ignore_ascii_case("current") {
            return match member {
                Member::Field(f) => Ok(row_field(env, row, &f.name)?.unwrap_or(Value::Null)),
                Member::Attribute(a) => row_attribute(env, row, *a),
                Member::Variable(_) => Ok(Value::Null),
            };
        }
    }
    let t = eval(env, ctx, target)?;
    match member {
        Member::Field(f) => Ok(value_field(env, &t, &f.name)?.unwrap_or(Value::Null)),
        Member::Attribute(a) => value_attribute(env, &t, *a),
        Member::Variable(_) => Ok(Value::Null),
    }
}

#[inline(never)]
fn eval_index(env: &Env<'_>, ctx: &Ctx<'_>, target: &Expr, index: &Expr) -> Res<Value> {
    let t = eval(env, ctx, target)?;
    if let Expr::Array(indexes) = index {
        return eval_indexes(env, ctx, t, indexes);
    }
    let i = eval(env, ctx, index)?;
    index_value(env, t, &i)
}

/// `target[a, b, ...]`: the value at each index, a null index making the whole null
/// (OrientDB's `OArraySingleValuesSelector.execute`).
fn eval_indexes(env: &Env<'_>, ctx: &Ctx<'_>, t: Value, indexes: &[Expr]) -> Res<Value> {
    let mut out = Vec::with_capacity(indexes.len());
    for index in indexes {
        let i = eval(env, ctx, index)?;
        if i.is_null() {
            return Ok(Value::Null);
        }
        match (&t, &i) {
            (Value::List(_) | Value::Set(_), Value::String(_)) => {
                out.push(Value::List(
                    items(t.clone()).into_iter().map(|e| index_value(env, e, &i)).collect::<Res<_>>()?,
                ));
            }
            _ => out.push(index_value(env, t.clone(), &i)?),
        }
    }
    Ok(Value::List(out))
}

/// `target[from..to]` / `target[from...to]`, with OrientDB's clamping
/// (`OArrayRangeSelector.execute`): a missing start is 0, the end is cut to the length, a
/// start past the end or after the end position gives null.
#[inline(never)]
fn eval_range(env: &Env<'_>, ctx: &Ctx<'_>, target: &Expr, from: &Expr, to: &Expr, inclusive: bool) -> Res<Value> {
    let (Value::List(all) | Value::Set(all)) = eval(env, ctx, target)? else { return Ok(Value::Null) };
    let position = |e: &Expr| -> Res<Option<i64>> {
        let v = eval(env, ctx, e)?;
        match v.as_i64() {
            Some(n) => Ok(Some(n)),
            None if v.is_null() => Ok(None),
            None => Err(QueryError::Invalid(format!("a range position must be a whole number, not {}", v.type_name()))),
        }
    };
    let start = position(from)?.unwrap_or(0);
    let Some(end) = position(to)? else { return Ok(Value::Null) };
    let end = if inclusive { end.saturating_add(1) } else { end };
    if start > end {
        return Ok(Value::Null);
    }
    let len = all.len() as i64;
    if len == 0 {
        return Ok(Value::List(all));
    }
    let start = start.max(0);
    if len < start {
        return Ok(Value::Null);
    }
    let start = start.min(len - 1);
    let end = end.min(len);
    if end < start {
        // Java's Arrays.copyOfRange refuses this; OrientDB fails the query.
        return Err(QueryError::Invalid(format!("range end {end} is before its start {start}")));
    }
    Ok(Value::List(all.into_iter().skip(start as usize).take((end - start) as usize).collect()))
}

#[inline(never)]
fn eval_filter(env: &Env<'_>, ctx: &Ctx<'_>, target: &Expr, condition: &Expr) -> Res<Value> {
    let t = eval(env, ctx, target)?;
    let mut out = Vec::new();
    for item in items(t) {
        env.tick()?;
        let row = env.value_row(&item)?;
        if test(env, &ctx.with_row(&row), condition)? {
            out.push(item);
        }
    }
    Ok(Value::List(out))
}

/// `left op right`, or `-right` without a left side.
#[inline(never)]
fn eval_arithmetic(
    env: &Env<'_>,
    ctx: &Ctx<'_>,
    op: ArithmeticOp,
    left: Option<&Expr>,
    right: &Expr,
    e: &Expr,
) -> Res<Value> {
    let l = match left {
        Some(l) => eval(env, ctx, l)?,
        None => Value::Int(0),
    };
    let r = eval(env, ctx, right)?;
    arithmetic(op, l, r, e)
}

#[inline(never)]
fn eval_compare(env: &Env<'_>, ctx: &Ctx<'_>, op: CompareOp, left: &Expr, right: &Expr, e: &Expr) -> Res<Value> {
    let l = eval(env, ctx, left)?;
    let r = eval(env, ctx, right)?;
    Ok(Value::Bool(compare(op, &l, &r, e)?))
}

/// `left [NOT] IN right`. A row of a subquery on the right matches the value of its only
/// property (or any element of it, if a collection), as OrientDB's
/// `OQueryOperatorEquals.comparesValues(Object, OResult, true)` does (a record matches its
/// RID); a one-row subquery on the left stands for its only property, record or not
/// (`OInCondition.evaluateExpression`).
#[inline(never)]
fn eval_in(env: &Env<'_>, ctx: &Ctx<'_>, left: &Expr, right: &Expr, negated: bool) -> Res<Value> {
    let l = eval(env, ctx, left)?;
    let r = items(eval(env, ctx, right)?);
    let found = match &l {
        Value::List(ls) | Value::Set(ls) => {
            let unwrapped = match ls.as_slice() {
                [one] => only_property(env, one)?,
                _ => None,
            };
            ls.iter().any(|x| r.iter().any(|y| in_eq(x, y)))
                || unwrapped.is_some_and(|p| r.iter().any(|y| values_eq(&p, y)))
        }
        _ => r.iter().any(|y| in_eq(&l, y)),
    };
    Ok(Value::Bool(found != negated))
}

/// The value of a row with exactly one property, a record's or a projection's: what
/// OrientDB's `OInCondition` and `OContainsCondition` compare a one-row subquery by.
fn only_property(env: &Env<'_>, v: &Value) -> Res<Option<Value>> {
    if let Value::Link(rid) = v {
        let Some(record) = env.load(*rid)? else { return Ok(None) };
        let fields = record.fields().map_err(|e| decode_error(*rid, e))?;
        return Ok(if fields.len() == 1 { fields.into_fields().into_iter().next().map(|(_, v)| v) } else { None });
    }
    Ok(single_property(v).cloned())
}

/// The value of a projection row with exactly one property (not a record): what OrientDB
/// compares a subquery's row by.
fn single_property(v: &Value) -> Option<&Value> {
    match v {
        Value::Embedded(d) if d.len() == 1 && d.get("@rid").is_none() => d.iter().next().map(|(_, v)| v),
        _ => None,
    }
}

/// `value = element` for IN: equal, or the element is a one-property row whose value is
/// the value or a collection holding it.
fn in_eq(value: &Value, element: &Value) -> bool {
    if values_eq(value, element) {
        return true;
    }
    match single_property(element) {
        Some(p @ (Value::List(_) | Value::Set(_))) => {
            values_eq(value, p) || items(p.clone()).iter().any(|x| values_eq(value, x))
        }
        Some(p) => values_eq(value, p),
        None => false,
    }
}

/// `left CONTAINS... right`. For `CONTAINS` with a one-element collection on the right (a
/// one-row subquery), the element's only property, or the element itself, is looked for
/// first (OrientDB's `OContainsCondition.execute`).
#[inline(never)]
fn eval_contains(env: &Env<'_>, ctx: &Ctx<'_>, op: ContainsOp, left: &Expr, right: &Expr) -> Res<Value> {
    let l = eval(env, ctx, left)?;
    let r = eval(env, ctx, right)?;
    if op == ContainsOp::Contains && matches!(l, Value::List(_) | Value::Set(_)) {
        if let Value::List(one) | Value::Set(one) = &r {
            if let [item] = one.as_slice() {
                let have = items(l.clone());
                let unwrapped = only_property(env, item)?;
                let wanted = unwrapped.iter().chain(std::iter::once(item));
                if wanted.into_iter().any(|w| have.iter().any(|h| values_eq(h, w))) {
                    return Ok(Value::Bool(true));
                }
            }
        }
    }
    Ok(Value::Bool(contains(op, l, &r)))
}

#[inline(never)]
fn eval_contains_condition(env: &Env<'_>, ctx: &Ctx<'_>, op: ContainsOp, left: &Expr, condition: &Expr) -> Res<Value> {
    let l = eval(env, ctx, left)?;
    let elements = match (op, l) {
        (ContainsOp::ContainsValue, Value::Map(m)) => m.into_values().collect(),
        (ContainsOp::ContainsValue, Value::Embedded(d)) => d.into_fields().into_iter().map(|(_, v)| v).collect(),
        (_, l) => items(l),
    };
    let all = op == ContainsOp::ContainsAll;
    for el in &elements {
        env.tick()?;
        let row = env.value_row(el)?;
        let ok = test(env, &ctx.with_row(&row), condition)?;
        if ok && !all {
            return Ok(Value::Bool(true));
        }
        if !ok && all {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(all && !elements.is_empty()))
}

#[inline(never)]
fn eval_between(env: &Env<'_>, ctx: &Ctx<'_>, value: &Expr, low: &Expr, high: &Expr) -> Res<Value> {
    let v = eval(env, ctx, value)?;
    let lo = eval(env, ctx, low)?;
    let hi = eval(env, ctx, high)?;
    let above = matches!(cmp_values(&v, &lo), Some(Ordering::Greater | Ordering::Equal));
    let below = matches!(cmp_values(&v, &hi), Some(Ordering::Less | Ordering::Equal));
    Ok(Value::Bool(above && below))
}

#[inline(never)]
fn eval_instance_of(env: &Env<'_>, ctx: &Ctx<'_>, value: &Expr, class: &Ident) -> Res<Value> {
    if env.snap.schema().class(&class.name).is_none() && !env.tx_schema_changed {
        return Err(invalid_at(class.span, format!("class '{}' not found", class.name)));
    }
    let v = eval(env, ctx, value)?;
    let cls = match &v {
        Value::Link(rid) => env.load(*rid)?.map(|r| r.class.to_string()),
        Value::Embedded(d) => d.get("@class").and_then(|c| c.as_str()).map(str::to_string),
        _ => None,
    };
    Ok(Value::Bool(cls.is_some_and(|c| env.snap.schema().is_subclass_of(&c, &class.name))))
}

#[inline(never)]
fn eval_subquery(env: &Env<'_>, ctx: &Ctx<'_>, s: &Statement) -> Res<Value> {
    let rows = env.subquery(ctx, s)?;
    Ok(Value::List(rows.iter().map(Row::to_value).collect()))
}

/// `target[index]`.
fn index_value(env: &Env<'_>, t: Value, i: &Value) -> Res<Value> {
    Ok(match (t, i) {
        (Value::List(items) | Value::Set(items), i) if i.as_i64().is_some() => {
            let n = i.as_i64().unwrap_or_default();
            let at = if n < 0 { items.len() as i64 + n } else { n };
            usize::try_from(at).ok().and_then(|a| items.into_iter().nth(a)).unwrap_or(Value::Null)
        }
        (Value::Map(m), Value::String(k)) => m.get(k).cloned().unwrap_or(Value::Null),
        (Value::Embedded(d), Value::String(k)) => d.get(k).cloned().unwrap_or(Value::Null),
        (t @ Value::Link(_), Value::String(k)) => value_field(env, &t, k)?.unwrap_or(Value::Null),
        (Value::String(s), i) if i.as_i64().is_some() => usize::try_from(i.as_i64().unwrap_or_default())
            .ok()
            .and_then(|n| s.chars().nth(n))
            .map(|c| Value::String(c.to_string()))
            .unwrap_or(Value::Null),
        _ => Value::Null,
    })
}
