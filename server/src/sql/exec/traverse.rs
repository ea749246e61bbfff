//! TRAVERSE: from the target's records, follow fields (`out_followed_by`, `in`, `*` for
//! every link) or graph functions (`out('x')`), depth first (OrientDB's default) or breadth
//! first, each record once, the start records included at depth 0.
//!
//! `MAXDEPTH n` stops expanding at depth n; `WHILE cond` is evaluated on every record
//! reached (with `$depth`): a record failing it is neither returned nor expanded. Both
//! strategies follow OrientDB's executor (`core/src/main/java/com/orientechnologies/orient/
//! core/sql/executor/DepthFirstTraverseStep.java` and `BreadthFirstTraverseStep.java`): a
//! record is marked traversed when it is discovered, so every child of an expanded record
//! is taken at the depth below it, and `MAXDEPTH 2` reaches every record within two hops
//! with either strategy. They differ in order: depth first expands the last-discovered
//! record next. Both walk an explicit list or queue: no recursion, whatever the graph.
//! Each row's `$stack` (its record, its parent, ... the start record) is noted in the
//! [`Env`] for `traversedElement()` and its kin (`functions_more.rs`).

use std::collections::{HashSet, VecDeque};

use basalt_engine::{Rid, Value};

use super::control::row_bytes;
use super::eval::{eval, test, Ctx, Env};
use super::plan::for_each_source;
use super::rows::{Data, Res, Row};
use super::select::{int_arg, limit_of};
use crate::query::QueryError;
use crate::sql::ast::{Projection, TraverseStatement, TraverseStrategy};

/// How many start records depth first takes onto its list at a time (OrientDB's
/// `DepthFirstTraverseStep.fetchNextEntryPoints` takes "a max batch of 100").
const DEPTH_FIRST_ROOT_BATCH: usize = 100;

/// Appends every record link in a value.
fn links(v: &Value, out: &mut Vec<Rid>) {
    match v {
        Value::Link(r) => out.push(*r),
        Value::List(items) | Value::Set(items) => items.iter().for_each(|i| links(i, out)),
        Value::Map(m) => m.values().for_each(|i| links(i, out)),
        _ => {}
    }
}

/// What a record leads to.
fn children(env: &Env<'_>, base: &Ctx<'_>, row: &Row, projections: &[Projection]) -> Res<Vec<Rid>> {
    let mut out = Vec::new();
    for p in projections {
        match p {
            Projection::All => {
                if let Data::Record(r) = &row.data {
                    let fields = r.fields().map_err(|e| super::eval::decode_error(r.rid, e))?;
                    fields.iter().for_each(|(_, v)| links(v, &mut out));
                    for b in r.bags().map_err(|e| super::eval::decode_error(r.rid, e))? {
                        out.extend(b.links.iter().map(|(e, _)| *e));
                    }
                }
            }
            Projection::Expr(a) => links(&eval(env, &base.with_row(row), &a.expr)?, &mut out),
        }
    }
    Ok(out)
}

/// Runs a TRAVERSE.
pub(crate) fn traverse(
    env: &Env<'_>,
    parent: Option<&Ctx<'_>>,
    t: &TraverseStatement,
    default_limit: Option<usize>,
) -> Res<Vec<Row>> {
    let max_depth = match int_arg(env, t.max_depth.as_ref(), "MAXDEPTH")? {
        Some(n) if n < 0 => return Err(QueryError::Invalid(format!("MAXDEPTH must not be negative (got {n})"))),
        Some(n) => Some(n.min(i64::from(u32::MAX)) as u32),
        None => None,
    };
    let limit = limit_of(env, t.limit.as_ref(), default_limit)?.unwrap_or(usize::MAX);
    if limit == 0 {
        return Ok(Vec::new());
    }
    let base = Ctx { parent, ..Ctx::default() };
    // Bytes of the walk's own state (roots, queue or stack, visited set), charged to the
    // budget while it runs and given back at the end.
    let extra = std::cell::Cell::new(0usize);
    let hold = |n: usize| -> Res<()> {
        env.watch.charge(n)?;
        extra.set(extra.get() + n);
        Ok(())
    };
    let mut roots = Vec::new();
    for_each_source(env, &base, &t.target, None, &mut |row| {
        if let Some(r) = row.rid() {
            hold(48)?;
            roots.push(r);
        }
        Ok(true)
    })?;

    let mut visited: HashSet<Rid> = HashSet::new();
    let mut out: Vec<Row> = Vec::new();
    // Loads a reached record, notes its `$stack` (for traversedElement()) and checks WHILE;
    // `None` if it is not returned.
    let admit = |rid: Rid, depth: u32, parent: Option<&Row>| -> Res<Option<Row>> {
        let Some(r) = env.load(rid)? else { return Ok(None) };
        let record = std::rc::Rc::new(r);
        let above = parent.and_then(|p| env.stack_of(p));
        let stack: Vec<Rid> = std::iter::once(rid).chain(above.iter().flat_map(|s| s.iter().copied())).collect();
        hold(8 * stack.len())?;
        env.set_stack(&record, stack.into());
        let row = Row { data: Data::Record(record), depth: Some(depth) };
        if let Some(w) = &t.while_condition {
            let ctx = Ctx { row: Some(&row), depth: Some(i64::from(depth)), ..base };
            if !test(env, &ctx, w)? {
                return Ok(None);
            }
        }
        Ok(Some(row))
    };
    let expands = |depth: u32| max_depth.is_none_or(|m| depth < m);
    // The result is charged to the budget (the caller owns that charge with the rows), as
    // is each record id the walk has seen or queued.
    let push = |out: &mut Vec<Row>, row: Row| -> Res<bool> {
        env.watch.charge(row_bytes(&row))?;
        out.push(row);
        Ok(out.len() < limit)
    };

    match t.strategy.unwrap_or(TraverseStrategy::DepthFirst) {
        TraverseStrategy::BreadthFirst => {
            let mut queue: VecDeque<(Rid, u32, Option<Row>)> = VecDeque::new();
            for r in roots {
                if visited.insert(r) {
                    queue.push_back((r, 0, None));
                }
            }
            while let Some((rid, depth, parent)) = queue.pop_front() {
                env.tick()?;
                let Some(row) = admit(rid, depth, parent.as_ref())? else { continue };
                let next = if expands(depth) { children(env, &base, &row, &t.projections)? } else { Vec::new() };
                if !push(&mut out, row.clone())? {
                    break;
                }
                hold(48 * next.len())?;
                for c in next {
                    if visited.insert(c) {
                        queue.push_back((c, depth + 1, Some(row.clone())));
                    }
                }
            }
        }
        TraverseStrategy::DepthFirst => {
            // OrientDB's DepthFirstTraverseStep: the entry points are a list whose head is
            // expanded next. Start records go to its end, in batches of at most
            // DEPTH_FIRST_ROOT_BATCH taken while it is empty; the records a record leads to
            // go to its head, one by one, so the last one found is expanded first. A record
            // counts as traversed when it is *discovered* (put on the list, or refused there
            // by WHILE), not when it is expanded, so no record is reached twice.
            let mut entry: VecDeque<Row> = VecDeque::new();
            let mut roots = roots.into_iter().peekable();
            'walk: loop {
                if entry.is_empty() {
                    if roots.peek().is_none() {
                        break;
                    }
                    while entry.len() < DEPTH_FIRST_ROOT_BATCH {
                        let Some(r) = roots.next() else { break };
                        if visited.insert(r) {
                            if let Some(row) = admit(r, 0, None)? {
                                entry.push_back(row);
                            }
                        }
                    }
                    continue;
                }
                env.tick()?;
                let Some(row) = entry.pop_front() else { break };
                let depth = row.depth.unwrap_or(0);
                let next = if expands(depth) { children(env, &base, &row, &t.projections)? } else { Vec::new() };
                let parent = row.clone();
                if !push(&mut out, row)? {
                    break 'walk;
                }
                hold(48 * next.len())?;
                for c in next {
                    if visited.insert(c) {
                        if let Some(child) = admit(c, depth + 1, Some(&parent))? {
                            entry.push_front(child);
                        }
                    }
                }
            }
        }
    }
    env.watch.release(extra.get());
    Ok(out)
}
