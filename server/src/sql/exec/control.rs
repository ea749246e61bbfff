//! The [`Watch`] over one query: its cancellation token, its deadlines (the request's
//! timeout and the innermost `TIMEOUT` clause of a SELECT) and its memory budget; and the
//! byte estimates the budget counts.
//!
//! Promises:
//! - **Cheap checks.** Every loop of the executor calls [`Watch::tick`]: one `Cell`
//!   increment, and every [`CHECK_EVERY`] ticks a look at the token and the clock. A tick
//!   costs a few nanoseconds of work between checks, and no stretch of work between two
//!   ticks is long (a row, a comparison, a graph step), so a cancelled or timed-out query
//!   stops within milliseconds.
//! - **Counted memory.** What a query holds while it runs (sorted and grouped rows,
//!   DISTINCT sets, subquery results and LET values, collected results) is charged with
//!   [`Watch::charge`] and given back with [`Watch::release`]; a charge over the budget
//!   fails with [`QueryError::Budget`] naming the budget and how to raise it. The sizes are
//!   estimates, on the generous side (heap bytes plus the allocator's per-block overhead),
//!   so that the process's real memory stays near the budget and not over it.
//! - `TIMEOUT n [RETURN | EXCEPTION]` (OrientDB's `OTimeout`, `core/.../sql/parser/OTimeout.java`;
//!   the executor's `AccumulatingTimeoutStep.java` fails with "Timeout expired" unless the
//!   strategy is `RETURN`, which ends the result there): the clause's deadline is checked like
//!   the request's; when a `RETURN` clause fires, its SELECT answers the rows it has.

use std::cell::Cell;
use std::time::{Duration, Instant};

use basalt_engine::Value;

use super::rows::{Data, Res, Row};
use crate::query::{CancelToken, LimitSource, QueryError, QueryLimits};

/// Ticks between two looks at the token and the clock (a power of two: a mask tests it).
pub const CHECK_EVERY: u32 = 256;
const _: () = assert!(CHECK_EVERY.is_power_of_two());

/// Bytes the allocator and the container spend per heap block beyond its contents.
const BLOCK_OVERHEAD: usize = 16;

/// An armed `TIMEOUT` clause.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clause {
    /// The SELECT it belongs to (its address).
    key: usize,
    /// When it fires.
    deadline: Instant,
    /// The `TIMEOUT` as written, in milliseconds.
    ms: i64,
    /// `RETURN`: answer the rows found so far instead of failing.
    returns: bool,
}

/// The limits and the state of one running query (one request).
pub(crate) struct Watch {
    /// Cancelled when the client goes away.
    cancel: CancelToken,
    /// The limits it runs under.
    limits: QueryLimits,
    /// When the request's timeout fires.
    deadline: Option<Instant>,
    /// Ticks since the start.
    ticks: Cell<u32>,
    /// The innermost `TIMEOUT` clause in force (the earliest, when they nest).
    clause: Cell<Option<Clause>>,
    /// The clause that fired, for its SELECT to recognise.
    fired: Cell<Option<usize>>,
    /// Bytes charged now.
    held: Cell<usize>,
    /// Checks are paused: a write committed, and its answer must not fail after that.
    paused: Cell<bool>,
}

impl Watch {
    /// A watch starting now.
    pub fn new(limits: &QueryLimits, cancel: &CancelToken) -> Watch {
        Watch {
            cancel: cancel.clone(),
            limits: *limits,
            deadline: limits.timeout.map(|t| Instant::now() + t),
            ticks: Cell::new(0),
            clause: Cell::new(None),
            fired: Cell::new(None),
            held: Cell::new(0),
            paused: Cell::new(false),
        }
    }

    /// Counts a unit of work; every [`CHECK_EVERY`] units, fails if the query was cancelled
    /// or a deadline passed.
    #[inline]
    pub fn tick(&self) -> Res<()> {
        let t = self.ticks.get().wrapping_add(1);
        self.ticks.set(t);
        if t & (CHECK_EVERY - 1) == 0 {
            self.check()
        } else {
            Ok(())
        }
    }

    /// Fails if the query was cancelled or a deadline passed.
    pub fn check(&self) -> Res<()> {
        if self.paused.get() {
            return Ok(());
        }
        if self.cancel.is_cancelled() {
            return Err(QueryError::Cancelled("the query was cancelled: its client went away".into()));
        }
        let now = Instant::now();
        if self.deadline.is_some_and(|d| now >= d) {
            return Err(self.timeout_error());
        }
        if let Some(c) = self.clause.get().filter(|c| now >= c.deadline) {
            self.fired.set(Some(c.key));
            let advice = if c.returns {
                "raise the TIMEOUT"
            } else {
                "raise the TIMEOUT, or write TIMEOUT n RETURN to answer the rows found by then"
            };
            return Err(QueryError::Timeout(format!(
                "the SELECT ran longer than its TIMEOUT {} (milliseconds) and was stopped; {advice}",
                c.ms
            )));
        }
        Ok(())
    }

    /// The error of the request's timeout: which one and how to raise it.
    pub fn timeout_error(&self) -> QueryError {
        let ms = self.limits.timeout.map(|t| t.as_millis()).unwrap_or(0);
        let how = match self.limits.timeout_source {
            LimitSource::Server => {
                "raise timeout_ms in [query] of basalt.toml for every query, or send the header \
                 X-Basalt-Timeout-Ms (the console: SET timeout <ms>) for one request"
            }
            LimitSource::Request => {
                "raise the header X-Basalt-Timeout-Ms (the console: SET timeout <ms>), up to max_timeout_ms \
                 in [query] of basalt.toml"
            }
        };
        QueryError::Timeout(format!(
            "the query ran longer than its timeout of {ms} ms and was stopped; narrow it (WHERE, LIMIT) or {how}"
        ))
    }

    /// Arms a SELECT's `TIMEOUT` clause; returns what to restore with [`leave`](Self::leave).
    /// An enclosing clause that fires earlier stays in force.
    pub fn enter(&self, key: usize, ms: i64, returns: bool) -> Option<Clause> {
        let prev = self.clause.get();
        let mine = Clause { key, deadline: Instant::now() + Duration::from_millis(ms.max(0) as u64), ms, returns };
        let next = match prev {
            Some(p) if p.deadline <= mine.deadline => p,
            _ => mine,
        };
        self.clause.set(Some(next));
        prev
    }

    /// Restores the clause in force before [`enter`](Self::enter).
    pub fn leave(&self, prev: Option<Clause>) {
        self.clause.set(prev);
    }

    /// Whether `e` is the firing of the `TIMEOUT ... RETURN` clause of the SELECT `key`; if
    /// so the clause is disarmed, so that the SELECT can finish with the rows it has.
    pub fn returns_on(&self, key: usize, e: &QueryError) -> bool {
        let mine = matches!(e, QueryError::Timeout(_))
            && self.fired.get() == Some(key)
            && self.clause.get().is_some_and(|c| c.key == key && c.returns);
        if mine {
            self.fired.set(None);
            self.clause.set(None);
        }
        mine
    }

    /// Charges `bytes` to the budget; fails once the query holds more than its budget.
    pub fn charge(&self, bytes: usize) -> Res<()> {
        let held = self.held.get().saturating_add(bytes);
        self.held.set(held);
        if held > self.limits.memory_budget_bytes {
            return Err(self.budget_error());
        }
        Ok(())
    }

    /// Gives back bytes charged earlier.
    pub fn release(&self, bytes: usize) {
        self.held.set(self.held.get().saturating_sub(bytes));
    }

    /// Bytes charged now.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.held.get()
    }

    /// Sets what the query holds (after a statement, to what the script keeps: whatever a
    /// failed or stopped evaluation charged and dropped is forgotten). It never fails: what
    /// is held is held; the next charge over the budget fails.
    pub fn settle(&self, bytes: usize) {
        self.held.set(bytes);
    }

    /// Pauses (true) or resumes (false) the timeout and cancellation checks: between a
    /// commit and the end of its statement's answer, a write that was applied must not be
    /// answered as failed.
    pub fn pause(&self, paused: bool) {
        self.paused.set(paused);
    }

    /// The error of an exceeded budget: the budget and how to raise it.
    pub fn budget_error(&self) -> QueryError {
        let budget = self.limits.memory_budget_bytes;
        let how = match self.limits.budget_source {
            LimitSource::Server => {
                "raise memory_budget_bytes in [query] of basalt.toml for every query, or send the header \
                 X-Basalt-Memory-Budget-Bytes for one request"
            }
            LimitSource::Request => {
                "raise the header X-Basalt-Memory-Budget-Bytes, up to max_memory_budget_bytes in [query] of \
                 basalt.toml"
            }
        };
        QueryError::Budget(format!(
            "the query needs more memory than its budget of {budget} bytes ({:.1} MiB) for sorted, grouped or \
             DISTINCT rows, subquery results, LET values and collected results; narrow it (WHERE, LIMIT, fewer \
             fields, ORDER BY with LIMIT) or {how}",
            budget as f64 / f64::from(1u32 << 20)
        ))
    }
}

/// Estimated bytes a value occupies (its slot plus what it owns on the heap).
pub(crate) fn value_bytes(v: &Value) -> usize {
    std::mem::size_of::<Value>() + heap_bytes(v)
}

/// Bytes a value owns on the heap.
fn heap_bytes(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len() + BLOCK_OVERHEAD,
        Value::Binary(b) => b.len() + BLOCK_OVERHEAD,
        Value::List(items) | Value::Set(items) => items.iter().map(value_bytes).sum::<usize>() + BLOCK_OVERHEAD,
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| k.len() + BLOCK_OVERHEAD + std::mem::size_of::<String>() + value_bytes(v) + 16)
            .sum::<usize>(),
        Value::Embedded(d) => fields_bytes(d.iter()),
        _ => 0,
    }
}

/// Bytes of named fields held in a vector.
fn fields_bytes<'a>(fields: impl Iterator<Item = (&'a str, &'a Value)>) -> usize {
    fields.map(|(k, v)| k.len() + BLOCK_OVERHEAD + std::mem::size_of::<String>() + value_bytes(v)).sum::<usize>()
        + BLOCK_OVERHEAD
}

/// Estimated bytes a row occupies.
pub(crate) fn row_bytes(r: &Row) -> usize {
    let own = match &r.data {
        Data::Record(rec) => rec.body.len() + rec.class.len() + 64 + 2 * BLOCK_OVERHEAD,
        Data::Doc(d) => fields_bytes(d.iter()) + BLOCK_OVERHEAD,
        Data::Pending(p) => fields_bytes(p.fields.iter()) + p.class.len() + 64,
        Data::Match(b) => fields_bytes(b.iter().map(|(k, v)| (k.as_str(), v))) + BLOCK_OVERHEAD,
        Data::Value(v) => heap_bytes(v),
    };
    std::mem::size_of::<Row>() + own
}

/// Estimated bytes of rows in a vector.
pub(crate) fn rows_bytes(rows: &[Row]) -> usize {
    rows.iter().map(row_bytes).sum()
}

/// Estimated bytes of a row with its sort keys.
pub(crate) fn keyed_bytes(keys: &[Value], row: &Row) -> usize {
    keys.iter().map(value_bytes).sum::<usize>() + BLOCK_OVERHEAD + row_bytes(row) + 8
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn limits(timeout_ms: Option<u64>, budget: usize) -> QueryLimits {
        QueryLimits {
            timeout: timeout_ms.map(Duration::from_millis),
            memory_budget_bytes: budget,
            ..QueryLimits::default()
        }
    }

    #[test]
    fn a_cancelled_token_stops_within_one_check_interval() {
        let token = CancelToken::new();
        let w = Watch::new(&limits(None, 1 << 20), &token);
        for _ in 0..(CHECK_EVERY * 3) {
            w.tick().unwrap();
        }
        token.cancel();
        let mut ticks = 0;
        let err = loop {
            ticks += 1;
            if let Err(e) = w.tick() {
                break e;
            }
            assert!(ticks <= CHECK_EVERY, "still running {ticks} ticks after the cancel");
        };
        assert!(matches!(err, QueryError::Cancelled(_)), "{err}");
    }

    #[test]
    fn a_passed_deadline_fails_naming_the_timeout_and_how_to_raise_it() {
        let w = Watch::new(&limits(Some(0), 1 << 20), &CancelToken::new());
        let err = (0..=CHECK_EVERY).find_map(|_| w.tick().err()).expect("the timeout fires");
        let text = err.to_string();
        assert!(matches!(err, QueryError::Timeout(_)));
        assert!(text.contains("timeout of 0 ms") && text.contains("timeout_ms in [query]"), "{text}");
        assert!(text.contains("X-Basalt-Timeout-Ms"), "{text}");
    }

    #[test]
    fn a_return_clause_is_recognised_by_its_select_only() {
        let w = Watch::new(&limits(None, 1 << 20), &CancelToken::new());
        let prev = w.enter(7, 0, true);
        let err = w.check().unwrap_err();
        assert!(err.to_string().contains("TIMEOUT 0"), "{err}");
        assert!(!w.returns_on(8, &err), "another SELECT's clause");
        assert!(w.returns_on(7, &err));
        w.check().unwrap();
        w.leave(prev);
        // EXCEPTION: the error is not taken for a RETURN.
        let prev = w.enter(9, 0, false);
        let err = w.check().unwrap_err();
        assert!(!w.returns_on(9, &err));
        w.leave(prev);
    }

    #[test]
    fn charges_over_the_budget_fail_naming_it() {
        let w = Watch::new(&limits(None, 1000), &CancelToken::new());
        w.charge(600).unwrap();
        w.release(200);
        w.charge(500).unwrap();
        assert_eq!(w.held(), 900);
        let err = w.charge(200).unwrap_err();
        assert!(matches!(err, QueryError::Budget(_)));
        assert!(err.to_string().contains("budget of 1000 bytes"), "{err}");
        assert!(err.to_string().contains("memory_budget_bytes"), "{err}");
        w.settle(10);
        assert_eq!(w.held(), 10);
        // Paused checks let a committed write finish its answer.
        let w = Watch::new(&limits(Some(0), 1000), &CancelToken::new());
        w.pause(true);
        w.check().unwrap();
        w.pause(false);
        assert!(w.check().is_err());
    }

    #[test]
    fn estimates_grow_with_content() {
        let small = value_bytes(&Value::String("a".into()));
        let big = value_bytes(&Value::String("a".repeat(1000)));
        assert!(big >= small + 999);
        let list = Value::List(vec![Value::String("a".repeat(1000)); 10]);
        assert!(value_bytes(&list) >= 10 * big);
        let doc = basalt_engine::Document::new().with("x", list.clone());
        assert!(row_bytes(&Row::doc(doc)) > value_bytes(&list));
    }
}
