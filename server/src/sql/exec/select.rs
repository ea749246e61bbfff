//! SELECT: rows from the target, `LET` per row, `WHERE`, then one of four shapes —
//! whole records, projections, `expand()`, or aggregates (with or without `GROUP BY`) —
//! then `UNWIND`, `DISTINCT`, `ORDER BY`, `SKIP`, `LIMIT`. MATCH reuses the [`Pipeline`]
//! for its `RETURN`.
//!
//! Streaming: a SELECT without ORDER BY or aggregates hands its rows on as it reads its
//! target, and stops reading once SKIP + LIMIT rows passed; ORDER BY with LIMIT keeps the
//! first SKIP + LIMIT rows in a bounded heap (see `tail.rs`). What is kept counts against
//! the query's memory budget (`control.rs`); every row read counts a tick of its watch.
//! `ORDER BY` keys come from the projection when they name one of its aliases, else from
//! the row before projection (so a row may be sorted by a field it does not return).

use std::collections::BTreeMap;

use basalt_engine::{Document, Value};

use super::control::{row_bytes, value_bytes};
use super::eval::{eval, test, AggValues, Ctx, Env};
use super::functions::{is_aggregate, is_count_star};
use super::functions_coll::Coll;
use super::functions_stat::Stat;
use super::plan;
use super::rows::{int_value, Data, OrdValue, Res, Row};
use super::tail::Tail;
use crate::query::QueryError;
use crate::sql::ast::{
    AliasedExpr, Expr, FunctionCall, Ident, IntArg, LetItem, Member, OrderItem, Projection, SelectStatement,
    SortDirection, Target,
};

/// An aggregate's running state.
#[derive(Debug, Clone)]
pub(crate) struct Acc {
    kind: &'static str,
    count: i64,
    int_sum: i128,
    float_sum: f64,
    floats: bool,
    best: Option<Value>,
    values: Vec<Value>,
    /// The state of a statistics function (`functions_stat.rs`), which then does the work.
    stat: Option<Stat>,
    /// The state of a collection function used as an aggregate (`functions_coll.rs`).
    coll: Option<Coll>,
}

impl Acc {
    /// A fresh accumulator for `count`, `sum`, `min`, `max`, `avg`, `list`, `set`, a
    /// statistics function or a collection function.
    pub fn new(name: &str) -> Acc {
        let lower = name.to_ascii_lowercase();
        let (stat, coll) = (Stat::new(&lower), Coll::new(&lower));
        let kind = match lower.as_str() {
            "count" => "count",
            "sum" => "sum",
            "min" => "min",
            "max" => "max",
            "list" => "list",
            "set" => "set",
            _ => "avg",
        };
        Acc { kind, count: 0, int_sum: 0, float_sum: 0.0, floats: false, best: None, values: Vec::new(), stat, coll }
    }

    /// Whether it keeps the values it is given (`list()`, `set()`, `median()`, `unionAll()`
    /// ...): they count against the memory budget.
    pub fn keeps_values(&self) -> bool {
        self.kind == "list"
            || self.kind == "set"
            || self.coll.is_some()
            || self.stat.as_ref().is_some_and(Stat::keeps_values)
    }

    /// Whether it still needs `percentile()`'s quantiles (taken from the first row).
    pub fn wants_quantiles(&self) -> bool {
        self.stat.as_ref().is_some_and(Stat::wants_quantiles)
    }

    /// Sets `percentile()`'s quantiles.
    pub fn set_quantiles(&mut self, args: &[Value]) -> Res<()> {
        match &mut self.stat {
            Some(s) => s.set_quantiles(args),
            None => Ok(()),
        }
    }

    /// Counts a row (`count(*)`).
    pub fn add_row(&mut self) {
        self.count += 1;
    }

    /// Adds a value (nulls are skipped; lists add their elements except for `count`).
    pub fn add(&mut self, v: &Value) -> Res<()> {
        if let Some(s) = &mut self.stat {
            return s.add(v);
        }
        if let Some(c) = &mut self.coll {
            return c.add(v);
        }
        match v {
            Value::Null => Ok(()),
            Value::List(items) | Value::Set(items) if self.kind != "count" => {
                for i in items {
                    self.add(i)?;
                }
                Ok(())
            }
            _ if self.kind == "count" => {
                self.count += 1;
                Ok(())
            }
            _ if self.kind == "list" || self.kind == "set" => {
                self.values.push(v.clone());
                if self.values.len() > super::MAX_COLLECTION_ITEMS {
                    return Err(super::eval::too_many());
                }
                Ok(())
            }
            _ if self.kind == "min" || self.kind == "max" => {
                let replace = match &self.best {
                    None => true,
                    Some(b) if self.kind == "min" => v.total_cmp(b).is_lt(),
                    Some(b) => v.total_cmp(b).is_gt(),
                };
                if replace {
                    self.best = Some(v.clone());
                }
                Ok(())
            }
            _ => {
                self.count += 1;
                match v.as_i64() {
                    Some(i) if !matches!(v, Value::DateTime(_)) => {
                        self.int_sum += i128::from(i);
                        self.float_sum += i as f64;
                    }
                    _ => match v {
                        Value::Float(_) | Value::Double(_) => {
                            self.floats = true;
                            self.float_sum += v.as_f64().unwrap_or_default();
                        }
                        other => {
                            return Err(QueryError::Invalid(format!(
                                "{}() needs numbers, not {} {}",
                                self.kind,
                                other.type_name(),
                                super::rows::show(other)
                            )))
                        }
                    },
                }
                Ok(())
            }
        }
    }

    /// The aggregate's value.
    pub fn finish(&self) -> Value {
        if let Some(s) = &self.stat {
            return s.finish();
        }
        if let Some(c) = &self.coll {
            return c.finish();
        }
        match self.kind {
            "count" => int_value(self.count),
            "min" | "max" => self.best.clone().unwrap_or(Value::Null),
            "list" => Value::List(self.values.clone()),
            "set" => Value::Set(super::rows::dedup_values(self.values.clone())),
            _ if self.count == 0 => Value::Null,
            "sum" if self.floats => Value::Double(self.float_sum),
            "sum" => match i64::try_from(self.int_sum) {
                Ok(i) => int_value(i),
                Err(_) => Value::Double(self.int_sum as f64),
            },
            _ => Value::Double(self.float_sum / self.count as f64),
        }
    }
}

/// Collects the aggregate calls of an expression (not inside subqueries).
fn collect_aggregates<'q>(e: &'q Expr, out: &mut Vec<&'q FunctionCall>) {
    match e {
        Expr::Call(c) if is_aggregate(c) => out.push(c),
        Expr::Call(c) => c.args.iter().for_each(|a| collect_aggregates(a, out)),
        Expr::MethodCall { target, call } => {
            collect_aggregates(target, out);
            call.args.iter().for_each(|a| collect_aggregates(a, out));
        }
        Expr::Member { target, .. } | Expr::Negate(target) | Expr::Not(target) => collect_aggregates(target, out),
        Expr::Index { target, index: other }
        | Expr::Filter { target, condition: other }
        | Expr::Arithmetic { left: target, right: other, .. }
        | Expr::Compare { left: target, right: other, .. }
        | Expr::In { left: target, right: other, .. }
        | Expr::Contains { left: target, right: other, .. }
        | Expr::ContainsCondition { left: target, condition: other, .. } => {
            collect_aggregates(target, out);
            collect_aggregates(other, out);
        }
        Expr::Between { value, low, high } => {
            collect_aggregates(value, out);
            collect_aggregates(low, out);
            collect_aggregates(high, out);
        }
        Expr::IsNull { value, .. } | Expr::IsDefined { value, .. } | Expr::InstanceOf { value, .. } => {
            collect_aggregates(value, out)
        }
        Expr::And(items) | Expr::Or(items) | Expr::Array(items) => {
            items.iter().for_each(|i| collect_aggregates(i, out))
        }
        Expr::Map(entries) => entries.iter().for_each(|en| collect_aggregates(&en.value, out)),
        _ => {}
    }
}

/// The name a projection gets without `AS`: the field path as written, else the canonical
/// text of the expression (`count(*)`, `in('sung_by').size()`).
pub(crate) fn default_alias(e: &Expr) -> String {
    match e {
        Expr::Field(f) => f.name.clone(),
        Expr::Attribute(a) => format!("@{}", a.name()),
        Expr::Variable(v) => format!("${}", v.name),
        Expr::Member { target, member } => {
            let t = default_alias(target);
            match member {
                Member::Field(f) => format!("{t}.{}", f.name),
                Member::Attribute(a) => format!("{t}.@{}", a.name()),
                Member::Variable(v) => format!("{t}.${}", v.name),
            }
        }
        other => other.to_string(),
    }
}

/// The alias of a projection item.
pub(crate) fn alias_of(a: &AliasedExpr) -> String {
    a.alias.as_ref().map(|i| i.name.clone()).unwrap_or_else(|| default_alias(&a.expr))
}

/// Sets a projected value, renaming a repeated alias `name2`, `name3`, ... as OrientDB does.
fn put(d: &mut Document, name: String, v: Value) {
    if d.get(&name).is_none() {
        d.set(name, v);
        return;
    }
    let mut n = 2;
    while d.get(&format!("{name}{n}")).is_some() {
        n += 1;
    }
    d.set(format!("{name}{n}"), v);
}

/// Every field of a row (for `*` beside other projections).
fn all_fields(row: &Row, d: &mut Document) -> Res<()> {
    match &row.data {
        Data::Record(r) => {
            let fields = r.fields().map_err(|e| super::eval::decode_error(r.rid, e))?;
            for (k, v) in fields.into_fields() {
                d.set(k, v);
            }
            for b in r.bags().map_err(|e| super::eval::decode_error(r.rid, e))? {
                let name = b.field_name();
                d.set(name, Value::List(b.links.iter().map(|(e, _)| Value::Link(*e)).collect()));
            }
        }
        Data::Doc(x) => x.iter().for_each(|(k, v)| d.set(k, v.clone())),
        Data::Pending(p) => p.fields.iter().for_each(|(k, v)| d.set(k, v.clone())),
        Data::Match(b) => b.iter().for_each(|(k, v)| d.set(k.clone(), v.clone())),
        Data::Value(v) => d.set("value", v.clone()),
    }
    Ok(())
}

/// Resolves `SKIP` / `LIMIT` arguments.
pub(crate) fn int_arg(env: &Env<'_>, a: Option<&IntArg>, what: &str) -> Res<Option<i64>> {
    match a {
        None => Ok(None),
        Some(IntArg::Value(v)) => Ok(Some(*v)),
        Some(IntArg::Parameter(p)) => {
            let v = super::eval::parameter(env, p)?;
            v.as_i64().map(Some).ok_or_else(|| {
                QueryError::Invalid(format!("{what} must be a whole number, not {}", super::rows::show(&v)))
            })
        }
    }
}

/// The limit in effect: the statement's (`-1`: none), else the request's default.
pub(crate) fn limit_of(env: &Env<'_>, a: Option<&IntArg>, default: Option<usize>) -> Res<Option<usize>> {
    Ok(match int_arg(env, a, "LIMIT")? {
        Some(n) if n >= 0 => Some(n as usize),
        Some(_) => None,
        None => default,
    })
}

/// The shape of the output.
enum Shape<'q> {
    /// The rows themselves.
    Whole,
    /// `expand(x)`.
    Expand(&'q Expr),
    /// Projected documents.
    Project,
    /// Aggregates (grouped or not) over these calls.
    Aggregate(Vec<&'q FunctionCall>),
}

/// Everything after the source: LET, WHERE, projections, grouping, ordering, paging.
pub(crate) struct Pipeline<'q> {
    /// The projections (empty: whole rows).
    pub projections: &'q [Projection],
    /// `DISTINCT`.
    pub distinct: bool,
    /// `LET` items.
    pub let_items: &'q [LetItem],
    /// `WHERE`.
    pub where_clause: Option<&'q Expr>,
    /// `GROUP BY`.
    pub group_by: &'q [Expr],
    /// `ORDER BY`.
    pub order_by: &'q [OrderItem],
    /// `UNWIND`.
    pub unwind: &'q [Ident],
    /// `SKIP`.
    pub skip: usize,
    /// `LIMIT`.
    pub limit: Option<usize>,
    /// The SELECT whose `TIMEOUT ... RETURN` ends the source early (its address).
    pub timeout_key: Option<usize>,
}

/// One group: its first row with that row's LET values, and its accumulators.
type Group = (Option<(Row, Vec<(String, Value)>)>, Vec<Acc>);

/// The groups of a GROUP BY (or the one group of aggregates without it).
#[derive(Default)]
struct Groups {
    /// The groups, in the order their first rows came.
    list: Vec<Group>,
    /// Where each key's group is.
    index: BTreeMap<Vec<OrdValue>, usize>,
    /// Bytes charged for them.
    bytes: usize,
}

impl<'q> Pipeline<'q> {
    fn shape(&self) -> Res<Shape<'q>> {
        let exprs: Vec<&'q AliasedExpr> = self
            .projections
            .iter()
            .filter_map(|p| match p {
                Projection::Expr(a) => Some(a),
                Projection::All => None,
            })
            .collect();
        if exprs.is_empty() {
            return Ok(Shape::Whole);
        }
        let expand = |a: &'q AliasedExpr| match &a.expr {
            Expr::Call(c) if c.name.name.eq_ignore_ascii_case("expand") => Some(c),
            _ => None,
        };
        if let Some(c) = exprs.iter().find_map(|a| expand(a)) {
            if self.projections.len() != 1 || c.args.len() != 1 {
                return Err(super::eval::invalid_at(
                    c.name.span,
                    "expand() takes one argument and must be the only projection",
                ));
            }
            return Ok(Shape::Expand(&c.args[0]));
        }
        let mut aggs = Vec::new();
        for a in &exprs {
            collect_aggregates(&a.expr, &mut aggs);
        }
        if !aggs.is_empty() || !self.group_by.is_empty() {
            return Ok(Shape::Aggregate(aggs));
        }
        Ok(Shape::Project)
    }

    /// Projects one row.
    fn project(&self, env: &Env<'_>, ctx: &Ctx<'_>, row: &Row) -> Res<Document> {
        let mut d = Document::new();
        for p in self.projections {
            match p {
                Projection::All => all_fields(row, &mut d)?,
                Projection::Expr(a) => {
                    let (expr, alias) = match &a.expr {
                        // distinct(x) projects x; the rows are made distinct afterwards.
                        Expr::Call(c) if c.name.name.eq_ignore_ascii_case("distinct") && c.args.len() == 1 => {
                            (&c.args[0], alias_of(a))
                        }
                        e => (e, alias_of(a)),
                    };
                    let v = eval(env, ctx, expr)?;
                    put(&mut d, alias, v);
                }
            }
        }
        Ok(d)
    }

    /// Sort keys of a row: a projected value when the key names a projection alias (its
    /// default alias text in `names`), else the key evaluated on the row.
    fn order_keys(&self, env: &Env<'_>, ctx: &Ctx<'_>, doc: Option<&Document>, names: &[String]) -> Res<Vec<Value>> {
        let mut keys = Vec::with_capacity(self.order_by.len());
        for (o, name) in self.order_by.iter().zip(names) {
            keys.push(match doc.and_then(|d| d.get(name)) {
                Some(v) => v.clone(),
                None => eval(env, ctx, &o.expr)?,
            });
        }
        Ok(keys)
    }

    fn lets(&self, env: &Env<'_>, ctx: &Ctx<'_>) -> Res<Vec<(String, Value)>> {
        let mut lets: Vec<(String, Value)> = Vec::with_capacity(self.let_items.len());
        for l in self.let_items {
            let v = eval(env, &Ctx { lets: &lets, ..*ctx }, &l.value)?;
            lets.push((l.name.name.clone(), v));
        }
        Ok(lets)
    }

    /// Runs the pipeline over the rows `source` hands it (it stops when the handler
    /// returns false) and collects the result, charged to the query's budget (the caller
    /// owns that charge with the rows).
    pub fn run(
        &self,
        env: &Env<'_>,
        parent: Option<&Ctx<'_>>,
        source: impl FnOnce(&mut dyn FnMut(Row) -> Res<bool>) -> Res<()>,
    ) -> Res<Vec<Row>> {
        let mut rows = Vec::new();
        self.run_into(env, parent, source, &mut |row| {
            env.watch.charge(row_bytes(&row))?;
            rows.push(row);
            Ok(true)
        })?;
        Ok(rows)
    }

    /// Runs the pipeline, handing each result row to `sink` as soon as it is known (it
    /// stops when the sink returns false): without ORDER BY or GROUP BY, while the source
    /// is still being read.
    pub fn run_into(
        &self,
        env: &Env<'_>,
        parent: Option<&Ctx<'_>>,
        source: impl FnOnce(&mut dyn FnMut(Row) -> Res<bool>) -> Res<()>,
        sink: &mut dyn FnMut(Row) -> Res<bool>,
    ) -> Res<()> {
        let shape = self.shape()?;
        let distinct = self.distinct
            || self.projections.iter().any(|p| {
                matches!(p, Projection::Expr(AliasedExpr { expr: Expr::Call(c), .. })
                    if c.name.name.eq_ignore_ascii_case("distinct") && c.args.len() == 1)
            });
        let base = Ctx { parent, ..Ctx::default() };
        let names: Vec<String> = self.order_by.iter().map(|o| default_alias(&o.expr)).collect();
        let dirs: Vec<SortDirection> = self.order_by.iter().map(|o| o.direction).collect();
        let mut tail = Tail::new(&dirs, self.unwind, distinct, self.skip, self.limit);
        if tail.full() {
            return Ok(());
        }
        let mut groups = Groups::default();

        let mut handle = |row: Row| -> Res<bool> {
            env.tick()?;
            let lets = self.lets(env, &Ctx { row: Some(&row), ..base })?;
            let ctx = Ctx { row: Some(&row), lets: &lets, ..base };
            if let Some(w) = self.where_clause {
                if !test(env, &ctx, w)? {
                    return Ok(true);
                }
            }
            match &shape {
                Shape::Aggregate(aggs) => {
                    self.group(env, &ctx, aggs, &mut groups, &row, &lets)?;
                    Ok(true)
                }
                Shape::Expand(x) => {
                    let v = eval(env, &ctx, x)?;
                    let mut rows = Vec::new();
                    env.value_rows(v, &mut rows)?;
                    for r in rows {
                        let keys = self.order_keys(env, &Ctx { row: Some(&r), ..base }, None, &names)?;
                        if !tail.push(env, (keys, r), sink)? {
                            return Ok(false);
                        }
                    }
                    Ok(true)
                }
                Shape::Whole => {
                    let keys = self.order_keys(env, &ctx, None, &names)?;
                    tail.push(env, (keys, row.clone()), sink)
                }
                Shape::Project => {
                    let d = self.project(env, &ctx, &row)?;
                    let keys = self.order_keys(env, &ctx, Some(&d), &names)?;
                    tail.push(env, (keys, Row::doc(d)), sink)
                }
            }
        };
        match source(&mut handle) {
            // `TIMEOUT n RETURN` fired: the rows so far are the result.
            Err(e) if self.timeout_key.is_some_and(|k| env.watch.returns_on(k, &e)) => {}
            other => other?,
        }

        if let Shape::Aggregate(aggs) = &shape {
            if groups.list.is_empty() && self.group_by.is_empty() {
                groups.list.push((None, aggs.iter().map(|c| Acc::new(&c.name.name)).collect()));
            }
            for (first, accs) in &groups.list {
                env.tick()?;
                let values: AggValues =
                    aggs.iter().zip(accs).map(|(c, a)| (*c as *const FunctionCall as usize, a.finish())).collect();
                let empty = Row::doc(Document::new());
                let (row, lets) = match first {
                    Some((r, l)) => (r, l.as_slice()),
                    None => (&empty, &[][..]),
                };
                let ctx = Ctx { row: Some(row), lets, aggs: Some(&values), ..base };
                let d = self.project(env, &ctx, row)?;
                let keys = self.order_keys(env, &ctx, Some(&d), &names)?;
                if !tail.push(env, (keys, Row::doc(d)), sink)? {
                    break;
                }
            }
            env.watch.release(groups.bytes);
        }
        tail.finish(env, sink)
    }

    /// Adds a row to its group (a new group is charged to the budget, as are the values
    /// `list()` and `set()` keep).
    fn group(
        &self,
        env: &Env<'_>,
        ctx: &Ctx<'_>,
        aggs: &[&FunctionCall],
        groups: &mut Groups,
        row: &Row,
        lets: &[(String, Value)],
    ) -> Res<()> {
        let mut key = Vec::with_capacity(self.group_by.len());
        for g in self.group_by {
            key.push(OrdValue(eval(env, ctx, self.group_expr(g))?));
        }
        let at = match groups.index.get(&key) {
            Some(i) => *i,
            None => {
                let bytes = key.iter().map(|k| value_bytes(&k.0)).sum::<usize>()
                    + row_bytes(row)
                    + lets.iter().map(|(n, v)| n.len() + value_bytes(v)).sum::<usize>()
                    + 64 * (aggs.len() + 2);
                env.watch.charge(bytes)?;
                groups.bytes += bytes;
                groups.list.push((None, aggs.iter().map(|c| Acc::new(&c.name.name)).collect()));
                groups.index.insert(key, groups.list.len() - 1);
                groups.list.len() - 1
            }
        };
        let group = &mut groups.list[at];
        for (acc, call) in group.1.iter_mut().zip(aggs) {
            if is_star_call(call) {
                acc.add_row();
            } else {
                let v = eval(env, ctx, &call.args[0])?;
                if acc.wants_quantiles() {
                    let quantiles = call.args[1..].iter().map(|a| eval(env, ctx, a)).collect::<Res<Vec<_>>>()?;
                    acc.set_quantiles(&quantiles)?;
                }
                if acc.keeps_values() {
                    let bytes = value_bytes(&v);
                    env.watch.charge(bytes)?;
                    groups.bytes += bytes;
                }
                acc.add(&v)?;
            }
        }
        if group.0.is_none() {
            group.0 = Some((row.clone(), lets.to_vec()));
        }
        Ok(())
    }

    /// A GROUP BY key naming a projection alias groups by that projection.
    fn group_expr<'x>(&'x self, g: &'x Expr) -> &'x Expr {
        if let Expr::Field(f) = g {
            for p in self.projections {
                if let Projection::Expr(a) = p {
                    if a.alias.as_ref().is_some_and(|x| x.name == f.name) {
                        let mut aggs = Vec::new();
                        collect_aggregates(&a.expr, &mut aggs);
                        if aggs.is_empty() {
                            return &a.expr;
                        }
                    }
                }
            }
        }
        g
    }
}

/// `count(*)`.
fn is_star_call(c: &FunctionCall) -> bool {
    c.name.name.eq_ignore_ascii_case("count") && matches!(c.args.as_slice(), [Expr::Star])
}

/// Runs a SELECT and collects its rows (charged to the query's budget; the caller owns
/// that charge with the rows).
pub(crate) fn select(
    env: &Env<'_>,
    parent: Option<&Ctx<'_>>,
    s: &SelectStatement,
    default_limit: Option<usize>,
) -> Res<Vec<Row>> {
    let mut rows = Vec::new();
    select_into(env, parent, s, default_limit, &mut |row| {
        env.watch.charge(row_bytes(&row))?;
        rows.push(row);
        Ok(true)
    })?;
    Ok(rows)
}

/// Runs a SELECT, handing its rows to `sink` as they are known (see [`Pipeline::run_into`]).
pub(crate) fn select_into(
    env: &Env<'_>,
    parent: Option<&Ctx<'_>>,
    s: &SelectStatement,
    default_limit: Option<usize>,
    sink: &mut dyn FnMut(Row) -> Res<bool>,
) -> Res<()> {
    let skip = int_arg(env, s.skip.as_ref(), "SKIP")?.unwrap_or(0).max(0) as usize;
    let limit = limit_of(env, s.limit.as_ref(), default_limit)?;
    // count(*) of a whole class is the class's record count.
    if let (Some(Target::Class(c)), None, true, true, [Projection::Expr(a)]) =
        (&s.from, &s.where_clause, s.let_items.is_empty(), s.group_by.is_empty(), s.projections.as_slice())
    {
        if is_count_star(&a.expr) && skip == 0 && limit != Some(0) {
            let n = plan::class_count(env, c)?;
            let mut d = Document::new();
            d.set(alias_of(a), int_value(n as i64));
            sink(Row::doc(d))?;
            return Ok(());
        }
    }
    let key = s as *const SelectStatement as usize;
    let timeout = match &s.timeout {
        None => None,
        Some(t) => match int_arg(env, Some(&t.ms), "TIMEOUT")? {
            Some(ms) if ms >= 0 => Some((ms, t.returns())),
            other => {
                return Err(QueryError::Invalid(format!(
                    "TIMEOUT must be a number of milliseconds, 0 or more (got {})",
                    other.unwrap_or(-1)
                )))
            }
        },
    };
    let pipeline = Pipeline {
        projections: &s.projections,
        distinct: s.distinct,
        let_items: &s.let_items,
        where_clause: s.where_clause.as_ref(),
        group_by: &s.group_by,
        order_by: &s.order_by,
        unwind: &s.unwind,
        skip,
        limit,
        timeout_key: timeout.filter(|(_, returns)| *returns).map(|_| key),
    };
    let base = Ctx { parent, ..Ctx::default() };
    let armed = timeout.map(|(ms, returns)| env.watch.enter(key, ms, returns));
    let result = pipeline.run_into(
        env,
        parent,
        |f| match &s.from {
            None => {
                f(Row::doc(Document::new()))?;
                Ok(())
            }
            Some(t) => plan::for_each_source(env, &base, t, s.where_clause.as_ref(), f),
        },
        sink,
    );
    if let Some(prev) = armed {
        env.watch.leave(prev);
    }
    result
}
