//! ORDER BY: a stable sort that a cancelled query can leave at any point, and the bounded
//! heap that `ORDER BY ... [SKIP s] LIMIT n` keeps instead of every row.
//!
//! Both order rows by their sort keys ([`Value::total_cmp`], each key ascending or
//! descending), ties by arrival: the order a full stable sort gives. [`TopN`] holds at most
//! `n` rows (the `n` first in that order), so a LIMIT over any number of rows needs memory
//! for `n` rows only. [`sort`] sorts runs of [`RUN`] rows with the standard stable sort and
//! merges them pairwise, calling `tick` between runs and every [`RUN`] merged rows, so a
//! sort stops within a few milliseconds of a cancellation.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use basalt_engine::Value;

use super::rows::Res;
use crate::sql::ast::SortDirection;

/// Rows sorted in one piece before the merges.
pub const RUN: usize = 1024;

/// Compares two rows' sort keys under the directions.
pub(crate) fn compare_keys(a: &[Value], b: &[Value], dirs: &[SortDirection]) -> Ordering {
    for ((x, y), d) in a.iter().zip(b).zip(dirs) {
        let o = x.total_cmp(y);
        let o = if *d == SortDirection::Desc { o.reverse() } else { o };
        if o.is_ne() {
            return o;
        }
    }
    Ordering::Equal
}

/// An entry of the heap: keys, arrival number, the row.
struct Entry<'d, T> {
    keys: Vec<Value>,
    seq: u64,
    item: T,
    dirs: &'d [SortDirection],
}

impl<T> Entry<'_, T> {
    fn order(&self, other: &Self) -> Ordering {
        compare_keys(&self.keys, &other.keys, self.dirs).then(self.seq.cmp(&other.seq))
    }
}

impl<T> PartialEq for Entry<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.order(other).is_eq()
    }
}

impl<T> Eq for Entry<'_, T> {}

impl<T> PartialOrd for Entry<'_, T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Entry<'_, T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order(other)
    }
}

/// The first `n` rows in sort order among all pushed (a max-heap of the kept rows: the
/// last kept row is on top, and goes when a row sorting before it arrives).
pub(crate) struct TopN<'d, T> {
    /// The kept rows.
    heap: BinaryHeap<Entry<'d, T>>,
    /// How many to keep.
    n: usize,
    /// Rows pushed so far (the arrival number of the next).
    seq: u64,
    /// The ORDER BY directions.
    dirs: &'d [SortDirection],
}

impl<'d, T> TopN<'d, T> {
    /// Keeps the first `n` rows.
    pub fn new(n: usize, dirs: &'d [SortDirection]) -> TopN<'d, T> {
        TopN { heap: BinaryHeap::new(), n, seq: 0, dirs }
    }

    /// Offers a row; answers the row that is no longer kept (this one, or the one it
    /// displaced), if any.
    pub fn push(&mut self, keys: Vec<Value>, item: T) -> Option<(Vec<Value>, T)> {
        let e = Entry { keys, seq: self.seq, item, dirs: self.dirs };
        self.seq += 1;
        if self.heap.len() < self.n {
            self.heap.push(e);
            return None;
        }
        match self.heap.peek() {
            Some(top) if e < *top => {
                let out = self.heap.pop().map(|x| (x.keys, x.item));
                self.heap.push(e);
                out
            }
            _ => Some((e.keys, e.item)),
        }
    }

    /// The kept rows in sort order.
    pub fn into_sorted(self, tick: &mut dyn FnMut() -> Res<()>) -> Res<Vec<(Vec<Value>, T)>> {
        let mut heap = self.heap;
        let mut out = Vec::with_capacity(heap.len());
        while let Some(e) = heap.pop() {
            tick()?;
            out.push((e.keys, e.item));
        }
        out.reverse();
        Ok(out)
    }
}

/// Sorts rows by their keys, stably, calling `tick` as it goes (an error from it stops the
/// sort and is returned).
pub(crate) fn sort<T>(
    items: Vec<(Vec<Value>, T)>,
    dirs: &[SortDirection],
    tick: &mut dyn FnMut() -> Res<()>,
) -> Res<Vec<(Vec<Value>, T)>> {
    let n = items.len();
    let cmp = |a: &(Vec<Value>, T), b: &(Vec<Value>, T)| compare_keys(&a.0, &b.0, dirs);
    let mut items = items;
    for run in items.chunks_mut(RUN) {
        tick()?;
        run.sort_by(cmp);
    }
    if n <= RUN {
        return Ok(items);
    }
    // Merge runs of width w pairwise into a new vector until one run is left.
    let mut width = RUN;
    let mut src: Vec<Option<(Vec<Value>, T)>> = items.into_iter().map(Some).collect();
    while width < n {
        let mut dst: Vec<Option<(Vec<Value>, T)>> = Vec::with_capacity(n);
        let mut start = 0;
        while start < n {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut i, mut j) = (start, mid);
            while i < mid || j < end {
                if (i + j) % RUN == 0 {
                    tick()?;
                }
                // Equal keys take the left run first: the merge stays stable.
                let take_left = j >= end
                    || (i < mid
                        && match (&src[i], &src[j]) {
                            (Some(a), Some(b)) => cmp(a, b) != Ordering::Greater,
                            _ => true,
                        });
                let at = if take_left { &mut i } else { &mut j };
                dst.push(src[*at].take());
                *at += 1;
            }
            start = end;
        }
        src = dst;
        width *= 2;
    }
    Ok(src.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;
    use crate::query::QueryError;

    fn key(v: i64) -> Vec<Value> {
        vec![Value::Long(v)]
    }

    fn no_tick() -> impl FnMut() -> Res<()> {
        || Ok(())
    }

    /// The model: the standard stable sort of every row, then SKIP and LIMIT.
    fn model(rows: &[(i64, i64)], dirs: &[SortDirection], skip: usize, limit: usize) -> Vec<(i64, usize)> {
        let mut all: Vec<(Vec<Value>, usize)> =
            rows.iter().enumerate().map(|(i, (a, b))| (vec![Value::Long(*a), Value::Long(*b)], i)).collect();
        all.sort_by(|x, y| compare_keys(&x.0, &y.0, dirs));
        all.into_iter().skip(skip).take(limit).map(|(k, i)| (k[0].as_i64().unwrap_or(0), i)).collect()
    }

    proptest! {
        #[test]
        fn top_n_gives_the_rows_of_the_full_sort(
            rows in prop::collection::vec((0i64..20, 0i64..5), 0..400),
            skip in 0usize..30,
            limit in 0usize..50,
            desc in any::<(bool, bool)>(),
        ) {
            let dirs = [
                if desc.0 { SortDirection::Desc } else { SortDirection::Asc },
                if desc.1 { SortDirection::Desc } else { SortDirection::Asc },
            ];
            let mut top = TopN::new(skip + limit, &dirs);
            let mut dropped = 0;
            for (i, (a, b)) in rows.iter().enumerate() {
                if top.push(vec![Value::Long(*a), Value::Long(*b)], i).is_some() {
                    dropped += 1;
                }
            }
            prop_assert_eq!(dropped, rows.len().saturating_sub(skip + limit));
            let got: Vec<(i64, usize)> = top
                .into_sorted(&mut no_tick())
                .unwrap()
                .into_iter()
                .skip(skip)
                .take(limit)
                .map(|(k, i)| (k[0].as_i64().unwrap_or(0), i))
                .collect();
            prop_assert_eq!(got, model(&rows, &dirs, skip, limit));
        }

        #[test]
        fn the_cancellable_sort_is_the_stable_sort(
            rows in prop::collection::vec((0i64..50, 0i64..3), 0..5000),
            desc in any::<bool>(),
        ) {
            let dirs = [if desc { SortDirection::Desc } else { SortDirection::Asc }, SortDirection::Asc];
            let items: Vec<(Vec<Value>, usize)> =
                rows.iter().enumerate().map(|(i, (a, b))| (vec![Value::Long(*a), Value::Long(*b)], i)).collect();
            let got: Vec<(i64, usize)> = sort(items, &dirs, &mut no_tick())
                .unwrap()
                .into_iter()
                .map(|(k, i)| (k[0].as_i64().unwrap_or(0), i))
                .collect();
            prop_assert_eq!(got, model(&rows, &dirs, 0, usize::MAX));
        }
    }

    #[test]
    fn a_sort_stops_when_its_tick_fails() {
        let items: Vec<(Vec<Value>, usize)> = (0..100_000).rev().map(|i| (key(i), 0)).collect();
        let mut ticks = 0;
        let mut tick = || {
            ticks += 1;
            if ticks > 10 {
                Err(QueryError::Cancelled("stop".into()))
            } else {
                Ok(())
            }
        };
        let err = sort(items, &[SortDirection::Asc], &mut tick).unwrap_err();
        assert!(matches!(err, QueryError::Cancelled(_)));
        assert_eq!(ticks, 11, "the sort stopped at the first failed tick");
    }

    #[test]
    fn top_n_keeps_n_rows_whatever_arrives() {
        let mut top = TopN::new(5, &[SortDirection::Asc]);
        for i in (0..200_000i64).rev() {
            top.push(key(i), ());
            assert!(top.heap.len() <= 5);
        }
        let got: Vec<i64> =
            top.into_sorted(&mut no_tick()).unwrap().into_iter().map(|(k, _)| k[0].as_i64().unwrap_or(-1)).collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
    }
}
