//! The collection functions `unionAll`, `intersect`, `difference` and
//! `symmetricDifference`: in-line over their arguments, and — for `unionAll`, `intersect`
//! and `symmetricDifference` with one argument in a projection — as aggregates over the rows
//! ([`Coll`], held by `select.rs`), as OrientDB's `OSQLFunctionMultiValueAbstract.java`
//! makes any of them with one argument an aggregate.
//!
//! They follow `core/src/main/java/com/orientechnologies/orient/core/sql/functions/coll/`:
//! - `unionAll` (`OSQLFunctionUnionAll.java`) keeps duplicates and skips nulls; as an
//!   aggregate it flattens nested lists (`OMultiValue.add`).
//! - `intersect` (`OSQLFunctionIntersect.java`): the values of the first argument that are
//!   in every other one, without duplicates; a null argument after the first gives the empty
//!   list, a null first argument the empty list too. As an aggregate a null row is skipped.
//! - `difference` (`OSQLFunctionDifference.java`): the values of the first argument in none
//!   of the others, without duplicates; a null first argument gives null.
//! - `symmetricDifference` (`OSQLFunctionSymmetricDifference.java`): the values that occur
//!   exactly once over all arguments (a value seen twice, even in one argument, is out for
//!   good); a null first argument gives null, a null later one counts as a null value.
//!
//! OrientDB answers these as Java `HashSet`s, in no order; Basalt keeps the order in which
//! the values were first seen. Values are equal as [`Value::total_cmp`] says (so `1` and
//! `1L` are one value, where Java's `Integer` and `Long` differ). A list or set argument
//! gives its elements; any other value, a map included, is one element.

use basalt_engine::Value;

use super::eval::too_many;
use super::rows::{dedup_values, OrdValue, Res};
use super::MAX_COLLECTION_ITEMS;

/// Whether `name` (lower case) is a collection function that aggregates with one argument.
pub(crate) fn is_coll_aggregate(name: &str) -> bool {
    matches!(name, "unionall" | "intersect" | "symmetricdifference")
}

/// The elements a value contributes: a list's or set's, else the value itself.
fn elements(v: Value) -> Vec<Value> {
    match v {
        Value::List(i) | Value::Set(i) => i,
        other => vec![other],
    }
}

/// Whether `x` is among `set` (sorted [`OrdValue`]s).
fn contains(set: &std::collections::BTreeSet<OrdValue>, x: &Value) -> bool {
    set.contains(&OrdValue(x.clone()))
}

fn to_set(v: Vec<Value>) -> std::collections::BTreeSet<OrdValue> {
    v.into_iter().map(OrdValue).collect()
}

fn bounded(v: &[Value]) -> Res<()> {
    if v.len() > MAX_COLLECTION_ITEMS {
        return Err(too_many());
    }
    Ok(())
}

/// `unionAll(a, b, ...)`: every element of every argument, nulls skipped.
pub(crate) fn union_all(args: Vec<Value>) -> Res<Value> {
    let mut out = Vec::new();
    for v in args.into_iter().filter(|v| !v.is_null()) {
        out.extend(elements(v));
        bounded(&out)?;
    }
    Ok(Value::List(out))
}

/// `intersect(a, b, ...)`.
pub(crate) fn intersect(args: Vec<Value>) -> Res<Value> {
    let mut it = args.into_iter();
    let first = it.next().unwrap_or(Value::Null);
    if first.is_null() {
        return Ok(Value::List(Vec::new()));
    }
    let mut acc = elements(first);
    for v in it {
        if v.is_null() {
            return Ok(Value::List(Vec::new()));
        }
        let other = to_set(elements(v));
        acc = dedup_values(acc.into_iter().filter(|x| contains(&other, x)).collect());
    }
    Ok(Value::List(acc))
}

/// `difference(a, b, ...)`.
pub(crate) fn difference(args: Vec<Value>) -> Res<Value> {
    let mut it = args.into_iter();
    let first = it.next().unwrap_or(Value::Null);
    if first.is_null() {
        return Ok(Value::Null);
    }
    let mut acc = dedup_values(elements(first));
    for v in it {
        let other = to_set(elements(v));
        acc.retain(|x| !contains(&other, x));
    }
    Ok(Value::Set(acc))
}

/// `symmetricDifference(a, b, ...)`.
pub(crate) fn symmetric_difference(args: Vec<Value>) -> Res<Value> {
    if args.first().is_none_or(Value::is_null) {
        return Ok(Value::Null);
    }
    let mut s = SymDiff::default();
    for v in args {
        s.add_all(elements(v))?;
    }
    Ok(s.finish())
}

/// The running state of `symmetricDifference`.
#[derive(Debug, Clone, Default)]
pub(crate) struct SymDiff {
    /// Values seen once so far, in the order first seen.
    accepted: Vec<Value>,
    /// Values seen more than once.
    rejected: std::collections::BTreeSet<OrdValue>,
}

impl SymDiff {
    fn add_all(&mut self, items: Vec<Value>) -> Res<()> {
        for x in items {
            if contains(&self.rejected, &x) {
                continue;
            }
            match self.accepted.iter().position(|a| a.total_cmp(&x).is_eq()) {
                Some(at) => {
                    self.accepted.remove(at);
                    self.rejected.insert(OrdValue(x));
                }
                None => self.accepted.push(x),
            }
            bounded(&self.accepted)?;
            if self.rejected.len() > MAX_COLLECTION_ITEMS {
                return Err(too_many());
            }
        }
        Ok(())
    }

    fn finish(&self) -> Value {
        Value::Set(self.accepted.clone())
    }
}

/// The running state of a collection function used as an aggregate.
#[derive(Debug, Clone)]
pub(crate) enum Coll {
    /// `unionAll(x)`: every element of every row (None before the first non-null row).
    UnionAll(Option<Vec<Value>>),
    /// `intersect(x)`: what every row so far holds (None before the first non-null row).
    Intersect(Option<Vec<Value>>),
    /// `symmetricDifference(x)` (None before the first non-null row).
    SymmetricDifference(Option<SymDiff>),
}

impl Coll {
    /// A fresh state, or `None` if `name` (lower case) is not an aggregating collection function.
    pub fn new(name: &str) -> Option<Coll> {
        Some(match name {
            "unionall" => Coll::UnionAll(None),
            "intersect" => Coll::Intersect(None),
            "symmetricdifference" => Coll::SymmetricDifference(None),
            _ => return None,
        })
    }

    /// Adds one row's value; a null row is skipped by all three.
    pub fn add(&mut self, v: &Value) -> Res<()> {
        if v.is_null() {
            return Ok(());
        }
        match self {
            Coll::UnionAll(acc) => {
                let acc = acc.get_or_insert_with(Vec::new);
                flatten_into(v, acc);
                bounded(acc)
            }
            Coll::Intersect(acc) => {
                let next = match acc.take() {
                    None => elements(v.clone()),
                    Some(prev) => {
                        let other = to_set(elements(v.clone()));
                        dedup_values(prev.into_iter().filter(|x| contains(&other, x)).collect())
                    }
                };
                *acc = Some(next);
                Ok(())
            }
            Coll::SymmetricDifference(s) => s.get_or_insert_with(SymDiff::default).add_all(elements(v.clone())),
        }
    }

    /// The aggregate's value: null when no row gave a value.
    pub fn finish(&self) -> Value {
        match self {
            Coll::UnionAll(Some(v)) => Value::List(v.clone()),
            Coll::Intersect(Some(v)) => Value::Set(dedup_values(v.clone())),
            Coll::SymmetricDifference(Some(s)) => s.finish(),
            _ => Value::Null,
        }
    }
}

/// Appends a value's elements, flattening nested lists and sets (`OMultiValue.add`).
fn flatten_into(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::List(items) | Value::Set(items) => items.iter().for_each(|i| flatten_into(i, out)),
        other => out.push(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(v: &[i32]) -> Value {
        Value::List(v.iter().map(|i| Value::Int(*i)).collect())
    }

    fn sorted(v: Value) -> Vec<i64> {
        let (Value::Set(items) | Value::List(items)) = v else { panic!("not a collection: {v:?}") };
        let mut out: Vec<i64> = items.iter().map(|i| i.as_i64().unwrap()).collect();
        out.sort();
        out
    }

    /// SQLFunctionDifferenceTest.testExecute.
    #[test]
    fn difference_follows_orientdb() {
        let a = ints(&[1, 2, 3, 4, 5, 1]);
        let b = ints(&[3, 5, 6, 7, 0, 1, 3, 3, 6]);
        let c = ints(&[2, 2, 8, 9]);
        assert_eq!(sorted(difference(vec![a.clone(), b.clone(), c]).unwrap()), vec![4]);
        assert_eq!(sorted(difference(vec![a, b]).unwrap()), vec![2, 4]);
        assert_eq!(difference(vec![Value::Null, ints(&[1])]).unwrap(), Value::Null);
    }

    /// SQLFunctionSymmetricDifferenceTest.testExecute and testOperator.
    #[test]
    fn symmetric_difference_follows_orientdb() {
        let a = ints(&[1, 2, 3, 4, 5, 1]);
        let b = ints(&[3, 5, 6, 7, 0, 1, 3, 3, 6]);
        let c = ints(&[2, 2, 8, 9]);
        assert_eq!(sorted(symmetric_difference(vec![a, b, c]).unwrap()), vec![0, 4, 7, 8, 9]);
        let mut agg = Coll::new("symmetricdifference").unwrap();
        for i in [1, 2, 3, 1, 4, 5, 2, 2, 1, 1] {
            agg.add(&Value::Int(i)).unwrap();
        }
        assert_eq!(sorted(agg.finish()), vec![3, 4, 5]);
    }

    #[test]
    fn intersect_in_line_and_aggregated() {
        assert_eq!(sorted(intersect(vec![ints(&[1, 2, 3, 2]), ints(&[2, 3, 4])]).unwrap()), vec![2, 3]);
        assert_eq!(intersect(vec![ints(&[1]), Value::Null]).unwrap(), Value::List(Vec::new()));
        let mut agg = Coll::new("intersect").unwrap();
        assert_eq!(agg.finish(), Value::Null);
        for v in [ints(&[1, 2, 3]), Value::Null, ints(&[3, 2, 9])] {
            agg.add(&v).unwrap();
        }
        assert_eq!(sorted(agg.finish()), vec![2, 3]);
    }

    #[test]
    fn union_all_keeps_duplicates() {
        let mut agg = Coll::new("unionall").unwrap();
        for v in [Value::Int(1), Value::Null, ints(&[1, 2]), Value::List(vec![ints(&[3])])] {
            agg.add(&v).unwrap();
        }
        assert_eq!(agg.finish(), ints(&[1, 1, 2, 3]));
        assert_eq!(union_all(vec![ints(&[1]), Value::Null, Value::Int(1)]).unwrap(), ints(&[1, 1]));
    }
}
