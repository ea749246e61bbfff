//! Where rows come from: a statement's target (class, cluster, RIDs, subquery, parameter,
//! variable), with index selection for class targets, and `EXPLAIN`'s account of it.
//!
//! Index selection: the WHERE (or one member of its top-level AND) must be `p = c`,
//! `p IN [c, ...]`, a range (`<`, `<=`, `>`, `>=`, `BETWEEN`, two of them on the same
//! property merge) with `p` the first property of an index covering the class and `c`
//! constant (literals, parameters). Preference: equality on a unique single-property index,
//! then equality, then IN, then ranges. The index only proposes candidates: the whole WHERE
//! is still applied to each, so the result is the one a full scan gives. Constants are
//! converted to the property's declared type first; on an undeclared property the index
//! finds values of the constant's own kind (a numeric string does not find a number).

use std::ops::Bound;

use basalt_engine::index::{Index, Key};
use basalt_engine::{Document, Record, Rid, Value};

use super::eval::{invalid_at, items, variable, Ctx, Env};
use super::functions::constant;
use super::rows::{int_value, Res, Row};
use super::txview::TxView;
use crate::query::QueryError;
use crate::sql::ast::{CompareOp, Expr, Ident, Projection, SelectStatement, Statement, Target};

/// How an index is read.
#[derive(Debug, Clone)]
pub(crate) enum Lookup {
    /// Keys equal to one value.
    Eq(Value),
    /// Keys equal to any of the values.
    In(Vec<Value>),
    /// Keys between two bounds.
    Range(Bound<Value>, Bound<Value>),
}

/// The index a class target reads, and why.
#[derive(Debug, Clone)]
pub(crate) struct IndexChoice {
    /// The index's name.
    pub index: String,
    /// How it is read.
    pub lookup: Lookup,
    /// The conditions it answers, as text.
    pub conditions: Vec<String>,
}

/// A class named by a statement, checked against the schema; `None` if only the open
/// transaction knows it.
pub(crate) fn class_name(env: &Env<'_>, c: &Ident) -> Res<Option<String>> {
    match env.snap.schema().class(&c.name) {
        Some(def) => Ok(Some(def.name.clone())),
        None if env.tx_schema_changed => Ok(None),
        None => Err(invalid_at(c.span, format!("class '{}' not found", c.name))),
    }
}

/// Records of a class (with subclasses).
pub(crate) fn class_count(env: &Env<'_>, c: &Ident) -> Res<u64> {
    match class_name(env, c)? {
        Some(name) => {
            let stored = env.snap.count(&name, true)?;
            let delta = env.tx_view.map(|v| v.count_delta(env.snap, &name)).unwrap_or(0);
            Ok(stored.saturating_add_signed(delta))
        }
        None => Ok(0),
    }
}

/// The id of a cluster named by a statement (by name or number).
pub(crate) fn cluster_id(env: &Env<'_>, c: &Ident) -> Res<i32> {
    let schema = env.snap.schema();
    if let Some(def) = schema.clusters.values().find(|d| d.name.eq_ignore_ascii_case(&c.name)) {
        return Ok(def.id);
    }
    match c.name.parse::<i32>() {
        Ok(id) if schema.clusters.contains_key(&id) => Ok(id),
        _ => Err(invalid_at(c.span, format!("cluster '{}' not found", c.name))),
    }
}

fn flip(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::Le => CompareOp::Ge,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::Ge => CompareOp::Le,
        other => other,
    }
}

/// `(property, lookup)` if a condition can be answered by an index on the property.
fn indexable(env: &Env<'_>, e: &Expr) -> Res<Option<(String, Lookup)>> {
    Ok(match e {
        Expr::Compare { op, left, right } => {
            let (field, value, op) = match (&**left, &**right) {
                (Expr::Field(f), other) => (f, other, *op),
                (other, Expr::Field(f)) => (f, other, flip(*op)),
                _ => return Ok(None),
            };
            let Some(v) = constant(env, value)? else { return Ok(None) };
            let lookup = match op {
                CompareOp::Eq => Lookup::Eq(v),
                CompareOp::Lt => Lookup::Range(Bound::Unbounded, Bound::Excluded(v)),
                CompareOp::Le => Lookup::Range(Bound::Unbounded, Bound::Included(v)),
                CompareOp::Gt => Lookup::Range(Bound::Excluded(v), Bound::Unbounded),
                CompareOp::Ge => Lookup::Range(Bound::Included(v), Bound::Unbounded),
                _ => return Ok(None),
            };
            Some((field.name.clone(), lookup))
        }
        Expr::In { left, right, negated: false } => match (&**left, constant(env, right)?) {
            (Expr::Field(f), Some(v)) => Some((f.name.clone(), Lookup::In(items(v)))),
            _ => None,
        },
        Expr::Between { value, low, high } => match (&**value, constant(env, low)?, constant(env, high)?) {
            (Expr::Field(f), Some(lo), Some(hi)) => {
                Some((f.name.clone(), Lookup::Range(Bound::Included(lo), Bound::Included(hi))))
            }
            _ => None,
        },
        _ => None,
    })
}

/// Converts a lookup's values to the property's declared type; `None` when one cannot be
/// (then nothing matches).
fn conform(env: &Env<'_>, class: &str, property: &str, lookup: Lookup) -> Option<Lookup> {
    let props = env.snap.schema().properties_of(class);
    let Some(p) = props.get(&property.to_lowercase()) else { return Some(lookup) };
    let conv = |v: Value| basalt_engine::convert::coerce(v, p.ty, p.linked_type).ok();
    let bound = |b: Bound<Value>| -> Option<Bound<Value>> {
        Some(match b {
            Bound::Included(v) => Bound::Included(conv(v)?),
            Bound::Excluded(v) => Bound::Excluded(conv(v)?),
            Bound::Unbounded => Bound::Unbounded,
        })
    };
    Some(match lookup {
        Lookup::Eq(v) => Lookup::Eq(conv(v)?),
        Lookup::In(vs) => Lookup::In(vs.into_iter().filter_map(conv).collect()),
        Lookup::Range(lo, hi) => Lookup::Range(bound(lo)?, bound(hi)?),
    })
}

fn tighter(a: Bound<Value>, b: Bound<Value>, lower: bool) -> Bound<Value> {
    let val = |x: &Bound<Value>| match x {
        Bound::Included(v) | Bound::Excluded(v) => Some(v.clone()),
        Bound::Unbounded => None,
    };
    match (val(&a), val(&b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(x), Some(y)) => {
            let o = x.total_cmp(&y);
            let a_wins = if lower { o.is_gt() } else { o.is_lt() };
            if o.is_eq() {
                if matches!(a, Bound::Excluded(_)) {
                    a
                } else {
                    b
                }
            } else if a_wins {
                a
            } else {
                b
            }
        }
    }
}

/// Picks the index for a class target and its WHERE, if one applies.
pub(crate) fn choose_index(env: &Env<'_>, class: &str, where_clause: Option<&Expr>) -> Res<Option<IndexChoice>> {
    let Some(w) = where_clause else { return Ok(None) };
    let indexes = env.snap.indexes_of(class);
    if indexes.is_empty() {
        return Ok(None);
    }
    let conjuncts: Vec<&Expr> = match w {
        Expr::And(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut best: Option<(u8, IndexChoice)> = None;
    let mut ranges: Vec<(u8, IndexChoice)> = Vec::new();
    for c in conjuncts {
        let Some((prop, lookup)) = indexable(env, c)? else { continue };
        for idx in &indexes {
            if !idx.def.fields.first().is_some_and(|f| f.eq_ignore_ascii_case(&prop)) {
                continue;
            }
            let lookup = conform(env, class, &prop, lookup.clone()).unwrap_or(Lookup::In(Vec::new()));
            let score = match &lookup {
                Lookup::Eq(_) if idx.def.unique && idx.def.fields.len() == 1 => 0,
                Lookup::Eq(_) => 1,
                Lookup::In(_) => 2,
                Lookup::Range(..) => 3,
            };
            let choice = IndexChoice { index: idx.def.name.clone(), lookup, conditions: vec![c.to_string()] };
            if let (Lookup::Range(lo, hi), Some((_, prev))) =
                (&choice.lookup, ranges.iter_mut().find(|(_, r)| r.index == choice.index))
            {
                if let Lookup::Range(plo, phi) = &prev.lookup {
                    prev.lookup =
                        Lookup::Range(tighter(plo.clone(), lo.clone(), true), tighter(phi.clone(), hi.clone(), false));
                    prev.conditions.push(c.to_string());
                }
                continue;
            }
            if score == 3 {
                ranges.push((score, choice));
            } else if best.as_ref().is_none_or(|(s, _)| score < *s) {
                best = Some((score, choice));
            }
        }
    }
    if best.is_none() {
        best = ranges.into_iter().next();
    }
    Ok(best.map(|(_, c)| c))
}

/// The records an index lookup proposes, in key order, each once.
pub(crate) fn lookup_rids(index: &Index, lookup: &Lookup) -> Vec<Rid> {
    let one = |v: &Value| {
        if index.def.fields.len() == 1 {
            index.get(&Key::new(vec![v.clone()]))
        } else {
            index.get_prefix(std::slice::from_ref(v))
        }
    };
    let mut rids = match lookup {
        Lookup::Eq(v) => return one(v),
        Lookup::In(vs) => vs.iter().flat_map(one).collect::<Vec<Rid>>(),
        Lookup::Range(lo, hi) => {
            let key = |b: &Bound<Value>| match b {
                Bound::Included(v) => Bound::Included(Key::new(vec![v.clone()])),
                Bound::Excluded(v) => Bound::Excluded(Key::new(vec![v.clone()])),
                Bound::Unbounded => Bound::Unbounded,
            };
            index.range(key(lo), key(hi)).map(|(_, r)| r).collect()
        }
    };
    let mut seen = std::collections::HashSet::new();
    rids.retain(|r| seen.insert(*r));
    rids
}

/// A stored record as the open transaction leaves it (`None`: it deleted it).
fn overlaid(env: &Env<'_>, r: Record) -> Option<Record> {
    match env.tx_view.and_then(|v| v.get(r.rid)) {
        None => Some(r),
        Some(seen) => seen.cloned(),
    }
}

/// A class scan inside a transaction that touched the class (`txview.rs`): the stored
/// records as the transaction leaves them, then the ones it created.
fn scan_with_tx(env: &Env<'_>, view: &TxView, class: &str, f: &mut dyn FnMut(Row) -> Res<bool>) -> Res<()> {
    for r in env.snap.scan(class, true)? {
        env.tick()?;
        let Some(r) = overlaid(env, r?) else { continue };
        if !f(Row::record(r))? {
            return Ok(());
        }
    }
    for r in view.created_in(env.snap, class) {
        env.tick()?;
        if !f(Row::record(r.clone()))? {
            break;
        }
    }
    Ok(())
}

/// Hands every row of a target to `f` (until it returns false). For a class target with an
/// applicable index, only the index's candidates; the caller applies the WHERE.
pub(crate) fn for_each_source(
    env: &Env<'_>,
    ctx: &Ctx<'_>,
    target: &Target,
    where_clause: Option<&Expr>,
    f: &mut dyn FnMut(Row) -> Res<bool>,
) -> Res<()> {
    match target {
        Target::Class(c) => {
            let Some(class) = class_name(env, c)? else { return Ok(()) };
            if let Some(view) = env.tx_view.filter(|v| v.touches(env.snap, &class)) {
                return scan_with_tx(env, view, &class, f);
            }
            if let Some(choice) = choose_index(env, &class, where_clause)? {
                let Some(index) = env.snap.index(&choice.index) else { return Ok(()) };
                let schema = env.snap.schema();
                for rid in lookup_rids(index, &choice.lookup) {
                    env.tick()?;
                    let Some(r) = env.load(rid)? else { continue };
                    if schema.is_subclass_of(&r.class, &class) && !f(Row::record(r))? {
                        break;
                    }
                }
                return Ok(());
            }
            for r in env.snap.scan(&class, true)? {
                env.tick()?;
                if !f(Row::record(r?))? {
                    break;
                }
            }
            Ok(())
        }
        Target::Cluster(c) => {
            let id = cluster_id(env, c)?;
            for r in env.snap.scan_cluster(id) {
                env.tick()?;
                let Some(r) = overlaid(env, r?) else { continue };
                if !f(Row::record(r))? {
                    break;
                }
            }
            Ok(())
        }
        Target::Rid(r) => {
            if let Some(rec) = env.load(Rid::new(r.cluster, r.position))? {
                f(Row::record(rec))?;
            }
            Ok(())
        }
        Target::Rids(rids) => {
            for r in rids {
                env.tick()?;
                if let Some(rec) = env.load(Rid::new(r.cluster, r.position))? {
                    if !f(Row::record(rec))? {
                        break;
                    }
                }
            }
            Ok(())
        }
        Target::Subquery(s) => {
            let rows = env.subquery(ctx, s)?;
            for r in rows.iter() {
                env.tick()?;
                if !f(r.clone())? {
                    break;
                }
            }
            Ok(())
        }
        Target::Metadata(m) => {
            f(super::metadata::metadata_row(env, m)?)?;
            Ok(())
        }
        Target::Index(i) => super::metadata::for_each_entry(env, i, f),
        Target::Parameter(p) => {
            let value = super::eval::parameter(env, p)?;
            // A string is a class name (OSelectExecutionPlanner.handleInputParamAsTarget).
            // (Basalt's JSON parameters spell RIDs as strings: those stay RIDs.)
            if let Value::String(class) = &value {
                if Rid::parse(class).is_none() {
                    let class = Target::Class(Ident { name: class.clone(), span: p.span() });
                    return for_each_source(env, ctx, &class, where_clause, f);
                }
            }
            let mut rows = Vec::new();
            env.value_rows(value, &mut rows)?;
            for r in rows {
                env.tick()?;
                if !f(r)? {
                    break;
                }
            }
            Ok(())
        }
        Target::Variable(v) => {
            let mut rows = Vec::new();
            env.value_rows(variable(env, ctx, v)?, &mut rows)?;
            for r in rows {
                env.tick()?;
                if !f(r)? {
                    break;
                }
            }
            Ok(())
        }
    }
}

/// How a target is read, for EXPLAIN: (target, fetch step, index, index conditions,
/// estimated rows).
fn describe_target(
    env: &Env<'_>,
    target: &Target,
    where_clause: Option<&Expr>,
) -> Res<(String, String, Option<IndexChoice>, u64)> {
    Ok(match target {
        Target::Class(c) => {
            let Some(class) = class_name(env, c)? else {
                return Ok((format!("class {}", c.name), "class created by the open transaction".into(), None, 0));
            };
            match choose_index(env, &class, where_clause)? {
                Some(choice) => {
                    let n = env.snap.index(&choice.index).map(|i| lookup_rids(i, &choice.lookup).len()).unwrap_or(0);
                    let fetch = format!("FETCH FROM INDEX {} ({})", choice.index, choice.conditions.join(" AND "));
                    (format!("class {class}"), fetch, Some(choice), n as u64)
                }
                None => {
                    let n = env.snap.count(&class, true)?;
                    (format!("class {class}"), format!("full scan of class {class}"), None, n)
                }
            }
        }
        Target::Cluster(c) => {
            let id = cluster_id(env, c)?;
            (
                format!("cluster {}", c.name),
                format!("full scan of cluster {} ({id})", c.name),
                None,
                env.snap.cluster_count(id),
            )
        }
        Target::Rid(r) => (format!("record #{}:{}", r.cluster, r.position), "FETCH RECORD".into(), None, 1),
        Target::Rids(r) => (format!("{} records", r.len()), "FETCH RECORDS".into(), None, r.len() as u64),
        Target::Subquery(s) => ("subquery".into(), format!("RUN SUBQUERY ({s})"), None, 0),
        Target::Parameter(p) => (format!("parameter {p}"), "READ PARAMETER".into(), None, 0),
        Target::Variable(v) => (format!("variable ${}", v.name), "READ VARIABLE".into(), None, 0),
        Target::Metadata(m) => (format!("metadata:{}", m.name), "FETCH METADATA".into(), None, 1),
        Target::Index(i) => {
            let n = env.snap.index(&i.name).map(|x| x.len()).unwrap_or(0);
            (format!("index:{}", i.name), format!("FETCH FROM INDEX {}", i.name), None, n as u64)
        }
    })
}

/// EXPLAIN: the plan of a statement, without running it.
pub(crate) fn explain(env: &Env<'_>, s: &Statement) -> Res<Document> {
    let mut d = Document::new();
    d.set("operation", Value::String("explain".into()));
    d.set("statement", Value::String(s.to_string()));
    let (target, where_clause, extra): (Option<&Target>, Option<&Expr>, Vec<String>) = match s {
        Statement::Select(sel) => (sel.from.as_ref(), sel.where_clause.as_ref(), select_steps(sel)),
        Statement::Update(u) => (Some(&u.target), u.where_clause.as_ref(), vec!["UPDATE each record".into()]),
        Statement::Delete(x) => (Some(&x.target), x.where_clause.as_ref(), vec!["DELETE each record".into()]),
        Statement::DeleteVertex(x) => (Some(&x.target), x.where_clause.as_ref(), vec!["DELETE each vertex".into()]),
        Statement::Traverse(t) => (Some(&t.target), None, {
            let strategy = match t.strategy {
                Some(crate::sql::ast::TraverseStrategy::BreadthFirst) => "BREADTH_FIRST",
                _ => "DEPTH_FIRST",
            };
            vec![format!("TRAVERSE {strategy}")]
        }),
        _ => (None, None, vec![format!("RUN {}", super::statement_name(s))]),
    };
    let mut steps = Vec::new();
    let count_only = matches!(s, Statement::Select(sel) if sel.where_clause.is_none()
        && sel.group_by.is_empty() && sel.let_items.is_empty()
        && matches!(sel.from, Some(Target::Class(_)))
        && matches!(sel.projections.as_slice(), [Projection::Expr(a)] if super::functions::is_count_star(&a.expr)));
    match target {
        Some(t) => {
            let (what, fetch, choice, rows) = describe_target(env, t, where_clause)?;
            d.set("target", Value::String(what));
            if count_only {
                d.set("fetch", Value::String("class record count (no scan)".into()));
                steps.push("COUNT RECORDS OF CLASS".to_string());
            } else {
                d.set("fetch", Value::String(fetch.clone()));
                steps.push(fetch);
            }
            match &choice {
                Some(c) => {
                    d.set("index", Value::String(c.index.clone()));
                    d.set("indexCondition", Value::String(c.conditions.join(" AND ")));
                }
                None => {
                    d.set("index", Value::Null);
                    d.set("indexCondition", Value::Null);
                }
            }
            d.set("estimatedRows", int_value(rows as i64));
        }
        None => {
            d.set("target", Value::Null);
            d.set("index", Value::Null);
        }
    }
    if let Some(w) = where_clause {
        d.set("filter", Value::String(w.to_string()));
        steps.push(format!("FILTER WHERE {w}"));
    }
    steps.extend(extra);
    d.set("steps", Value::List(steps.iter().map(|s| Value::String(s.clone())).collect()));
    d.set(
        "executionPlanAsString",
        Value::String(steps.iter().map(|s| format!("+ {s}")).collect::<Vec<_>>().join("\n")),
    );
    Ok(d)
}

fn select_steps(s: &SelectStatement) -> Vec<String> {
    let mut steps = Vec::new();
    if !s.let_items.is_empty() {
        steps.push(format!("LET ({} items, per row)", s.let_items.len()));
    }
    if !s.group_by.is_empty() {
        let keys: Vec<String> = s.group_by.iter().map(|g| g.to_string()).collect();
        steps.push(format!("GROUP BY {}", keys.join(", ")));
    }
    if !s.projections.is_empty() {
        let items: Vec<String> = s.projections.iter().map(|p| p.to_string()).collect();
        steps.push(format!("PROJECT {}", items.join(", ")));
    }
    if s.distinct {
        steps.push("DISTINCT".into());
    }
    if !s.order_by.is_empty() {
        let keys: Vec<String> = s.order_by.iter().map(|o| o.to_string()).collect();
        steps.push(format!("ORDER BY {}", keys.join(", ")));
    }
    if let Some(n) = &s.skip {
        steps.push(format!("SKIP {n}"));
    }
    if let Some(n) = &s.limit {
        steps.push(format!("LIMIT {n}"));
    }
    steps
}

/// Text for a missing-feature error.
pub(crate) fn unsupported(what: &str) -> QueryError {
    QueryError::Invalid(format!("{what}: not supported by Basalt yet"))
}
