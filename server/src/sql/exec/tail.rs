//! The end of the SELECT pipeline: what a projected row goes through before the caller's
//! sink gets it — UNWIND, DISTINCT, ORDER BY, SKIP and LIMIT, in that order.
//!
//! Without ORDER BY, rows go on to the sink as they come (SKIP and LIMIT counted on the
//! way, and the source stops once LIMIT rows went), so nothing is collected: a large result
//! streams. With ORDER BY and LIMIT, a [`TopN`] heap keeps the first SKIP + LIMIT rows
//! only; with ORDER BY alone every row is kept and sorted at the end. Kept rows and the
//! DISTINCT set are charged to the query's memory budget, and given back as they leave.

use std::collections::BTreeSet;
use std::rc::Rc;

use basalt_engine::{Document, Value};

use super::control::{keyed_bytes, value_bytes};
use super::eval::Env;
use super::rows::{Data, OrdValue, Res, Row};
use super::sort::{self, TopN};
use crate::sql::ast::{Ident, SortDirection};

/// A row with its sort keys.
pub(crate) type Keyed = (Vec<Value>, Row);

/// Where rows wait for the sink.
enum Order<'d> {
    /// No ORDER BY: straight on, after `skip` more rows, `left` more at most.
    Stream { skip: usize, left: Option<usize> },
    /// ORDER BY without LIMIT: every row, sorted at the end.
    All(Vec<Keyed>),
    /// ORDER BY with LIMIT: the first SKIP + LIMIT rows.
    Top(TopN<'d, Row>),
}

/// The pipeline's end for one run.
pub(crate) struct Tail<'d> {
    /// `UNWIND` fields.
    unwind: &'d [Ident],
    /// DISTINCT: what was seen.
    seen: Option<BTreeSet<OrdValue>>,
    /// Rows waiting.
    order: Order<'d>,
    /// The ORDER BY directions.
    dirs: &'d [SortDirection],
    /// `SKIP`.
    skip: usize,
    /// `LIMIT`.
    limit: Option<usize>,
    /// Bytes this tail charged and still holds.
    held: usize,
}

impl<'d> Tail<'d> {
    /// A tail for `dirs` (empty: no ORDER BY).
    pub fn new(
        dirs: &'d [SortDirection],
        unwind: &'d [Ident],
        distinct: bool,
        skip: usize,
        limit: Option<usize>,
    ) -> Tail<'d> {
        let order = match (dirs.is_empty(), limit) {
            (true, _) => Order::Stream { skip, left: limit },
            (false, Some(l)) => Order::Top(TopN::new(l.saturating_add(skip), dirs)),
            (false, None) => Order::All(Vec::new()),
        };
        Tail { unwind, seen: distinct.then(BTreeSet::new), order, dirs, skip, limit, held: 0 }
    }

    /// Whether the tail takes no more rows (LIMIT reached without ORDER BY).
    pub fn full(&self) -> bool {
        matches!(self.order, Order::Stream { left: Some(0), .. })
    }

    /// Takes a projected row; false once no more rows are wanted.
    pub fn push(&mut self, env: &Env<'_>, keyed: Keyed, sink: &mut dyn FnMut(Row) -> Res<bool>) -> Res<bool> {
        if self.unwind.is_empty() {
            return self.push_one(env, keyed, sink);
        }
        for k in unwind(keyed, self.unwind, env)? {
            if !self.push_one(env, k, sink)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn push_one(&mut self, env: &Env<'_>, (keys, row): Keyed, sink: &mut dyn FnMut(Row) -> Res<bool>) -> Res<bool> {
        if let Some(seen) = &mut self.seen {
            let key = distinct_key(&row);
            let bytes = value_bytes(&key) + 32;
            if !seen.insert(OrdValue(key)) {
                return Ok(true);
            }
            env.watch.charge(bytes)?;
            self.held += bytes;
        }
        match &mut self.order {
            Order::Stream { skip, left } => {
                if *skip > 0 {
                    *skip -= 1;
                    return Ok(true);
                }
                match left {
                    Some(0) => return Ok(false),
                    Some(l) => *l -= 1,
                    None => {}
                }
                Ok(sink(row)? && *left != Some(0))
            }
            Order::All(rows) => {
                let bytes = keyed_bytes(&keys, &row);
                env.watch.charge(bytes)?;
                self.held += bytes;
                rows.push((keys, row));
                Ok(true)
            }
            Order::Top(top) => {
                let bytes = keyed_bytes(&keys, &row);
                env.watch.charge(bytes)?;
                self.held += bytes;
                if let Some((k, r)) = top.push(keys, row) {
                    let out = keyed_bytes(&k, &r);
                    env.watch.release(out);
                    self.held -= out;
                }
                Ok(true)
            }
        }
    }

    /// Sorts what was kept and hands it to the sink; gives back what the tail held.
    pub fn finish(self, env: &Env<'_>, sink: &mut dyn FnMut(Row) -> Res<bool>) -> Res<()> {
        let mut tick = || env.tick();
        let sorted = match self.order {
            Order::Stream { .. } => {
                env.watch.release(self.held);
                return Ok(());
            }
            Order::All(rows) => sort::sort(rows, self.dirs, &mut tick)?,
            Order::Top(top) => top.into_sorted(&mut tick)?,
        };
        let mut held = self.held;
        let mut rows = sorted.into_iter().skip(self.skip).map(|(_, r)| r);
        let wanted = self.limit.unwrap_or(usize::MAX);
        for r in rows.by_ref().take(wanted) {
            env.tick()?;
            // The sink charges what it keeps: this row is no longer the tail's.
            let bytes = keyed_bytes(&[], &r).min(held);
            env.watch.release(bytes);
            held -= bytes;
            if !sink(r)? {
                break;
            }
        }
        env.watch.release(held);
        Ok(())
    }
}

/// What DISTINCT compares: the record id of records, the content of projections.
fn distinct_key(r: &Row) -> Value {
    match &r.data {
        Data::Record(_) | Data::Pending(_) => Value::Link(r.rid().unwrap_or_default()),
        other => Row { data: other.clone(), depth: None }.to_value(),
    }
}

/// UNWIND: one row per element of each named list field.
fn unwind(row: Keyed, fields: &[Ident], env: &Env<'_>) -> Res<Vec<Keyed>> {
    let mut rows = vec![row];
    for f in fields {
        let mut next = Vec::with_capacity(rows.len());
        for (keys, row) in rows {
            let Data::Doc(d) = &row.data else {
                next.push((keys, row));
                continue;
            };
            match d.get(&f.name) {
                Some(Value::List(items) | Value::Set(items)) => {
                    for i in items {
                        env.tick()?;
                        // Copy the other fields only: the list itself is not copied per element.
                        let copy: Document = d
                            .iter()
                            .map(|(k, v)| (k.to_string(), if k == f.name { i.clone() } else { v.clone() }))
                            .collect();
                        next.push((keys.clone(), Row { data: Data::Doc(Rc::new(copy)), depth: row.depth }));
                    }
                }
                _ => next.push((keys, row)),
            }
        }
        rows = next;
    }
    Ok(rows)
}
