//! The statistics functions `mode`, `median`, `percentile`, `variance` and `stddev`, as
//! running aggregates: over the rows of a projection (`select.rs` holds one [`Stat`] per
//! call and group) or over a collection argument outside one (`functions.rs` folds it).
//!
//! They follow OrientDB's `core/src/main/java/com/orientechnologies/orient/core/sql/functions/stat/`:
//! - A number is added; a collection (list, set, or a map's values) adds each element, nulls
//!   skipped; any other single value is ignored (OrientDB tests `instanceof Number`). A
//!   non-number inside a collection is an error (OrientDB fails on its `(Number)` cast).
//!   `mode` counts any value, not only numbers.
//! - No values give null, for all five.
//! - `variance` is the population variance (`m2 / n`, Welford's running sums as in
//!   `OSQLFunctionVariance.java`), and null for fewer than two values; `stddev` is its
//!   square root (`OSQLFunctionStandardDeviation.java`).
//! - `percentile(x, q1 [, q2 ...])` sorts the values and reads position `q * (n + 1)`,
//!   interpolating linearly; below the first position it answers the smallest value as it
//!   was given, at or past the last the largest (so a single value `10` gives `10`, not
//!   `10.0`); otherwise a DOUBLE. Several quantiles give a list
//!   (`OSQLFunctionPercentile.java`). `median(x)` is `percentile(x, 0.5)`
//!   (`OSQLFunctionMedian.java`).
//! - `mode` answers the list of the most frequent values, in the order they reached the
//!   top count (`OSQLFunctionMode.java`).

use std::collections::BTreeMap;

use basalt_engine::Value;

use super::rows::{show, OrdValue, Res};
use super::MAX_COLLECTION_ITEMS;
use crate::query::QueryError;

/// The running state of one statistics aggregate.
#[derive(Debug, Clone)]
pub(crate) enum Stat {
    /// `mode(x)`.
    Mode {
        /// How often each value was seen.
        seen: BTreeMap<OrdValue, u64>,
        /// The highest count so far.
        max: u64,
        /// The values with that count, in the order they reached it.
        top: Vec<Value>,
    },
    /// `percentile(x, q...)` and `median(x)`.
    Percentile {
        /// The quantiles, set from the first row's arguments (as OrientDB does).
        quantiles: Option<Vec<f64>>,
        /// The numbers seen.
        values: Vec<Value>,
    },
    /// `variance(x)` and `stddev(x)`.
    Variance {
        /// Whether to answer the square root.
        stddev: bool,
        /// How many numbers were seen.
        n: u64,
        /// Their running mean.
        mean: f64,
        /// The running sum of squared differences from the mean.
        m2: f64,
    },
}

/// Whether `name` (lower case) is a statistics function.
pub(crate) fn is_stat(name: &str) -> bool {
    matches!(name, "mode" | "median" | "percentile" | "variance" | "stddev")
}

/// The arguments a statistics function takes: (min, max).
pub(crate) fn stat_arity(name: &str) -> (usize, usize) {
    if name == "percentile" {
        (2, usize::MAX)
    } else {
        (1, 1)
    }
}

impl Stat {
    /// A fresh state for a statistics function (`name` in lower case), or `None` if it is
    /// not one.
    pub fn new(name: &str) -> Option<Stat> {
        Some(match name {
            "mode" => Stat::Mode { seen: BTreeMap::new(), max: 0, top: Vec::new() },
            "median" => Stat::Percentile { quantiles: Some(vec![0.5]), values: Vec::new() },
            "percentile" => Stat::Percentile { quantiles: None, values: Vec::new() },
            "variance" | "stddev" => Stat::Variance { stddev: name == "stddev", n: 0, mean: 0.0, m2: 0.0 },
            _ => return None,
        })
    }

    /// Whether it still needs its quantiles (`percentile` before its first row).
    pub fn wants_quantiles(&self) -> bool {
        matches!(self, Stat::Percentile { quantiles: None, .. })
    }

    /// Sets the quantiles from `percentile`'s arguments after the first (OrientDB reads each
    /// argument's text as a double).
    pub fn set_quantiles(&mut self, args: &[Value]) -> Res<()> {
        let mut qs = Vec::with_capacity(args.len());
        for a in args {
            let q = match a {
                Value::String(s) => s.trim().parse::<f64>().ok(),
                other => other.as_f64(),
            };
            match q {
                Some(q) if q.is_finite() => qs.push(q),
                _ => {
                    return Err(QueryError::Invalid(format!(
                        "percentile() needs numbers as quantiles, not {}",
                        show(a)
                    )))
                }
            }
        }
        if let Stat::Percentile { quantiles, .. } = self {
            *quantiles = Some(qs);
        }
        Ok(())
    }

    /// Whether it keeps the values it is given (all but `variance` and `stddev`).
    pub fn keeps_values(&self) -> bool {
        !matches!(self, Stat::Variance { .. })
    }

    /// Adds one row's value (see the module's rules).
    pub fn add(&mut self, v: &Value) -> Res<()> {
        match v {
            Value::List(items) | Value::Set(items) => items.iter().try_for_each(|i| self.add_element(i)),
            Value::Map(m) => m.values().try_for_each(|i| self.add_element(i)),
            single => self.add_single(single),
        }
    }

    /// A value given on its own: numbers count, others are ignored (except by `mode`).
    fn add_single(&mut self, v: &Value) -> Res<()> {
        match self {
            Stat::Mode { .. } => self.add_element(v),
            _ if is_number(v) => self.add_element(v),
            _ => Ok(()),
        }
    }

    /// An element of a collection: a number, or null (skipped); `mode` takes anything.
    fn add_element(&mut self, v: &Value) -> Res<()> {
        if v.is_null() {
            return Ok(());
        }
        match self {
            Stat::Mode { seen, max, top } => {
                let count = seen.entry(OrdValue(v.clone())).or_insert(0);
                *count += 1;
                if *count > *max {
                    *max = *count;
                    top.clear();
                    top.push(v.clone());
                } else if *count == *max {
                    top.push(v.clone());
                }
                if seen.len() > MAX_COLLECTION_ITEMS {
                    return Err(super::eval::too_many());
                }
            }
            Stat::Percentile { .. } | Stat::Variance { .. } if !is_number(v) => {
                return Err(QueryError::Invalid(format!(
                    "{}() needs numbers, not {} {}",
                    self.name(),
                    v.type_name(),
                    show(v)
                )))
            }
            Stat::Percentile { values, .. } => {
                values.push(v.clone());
                if values.len() > MAX_COLLECTION_ITEMS {
                    return Err(super::eval::too_many());
                }
            }
            Stat::Variance { n, mean, m2, .. } => {
                let x = v.as_f64().unwrap_or_default();
                *n += 1;
                let next = *mean + (x - *mean) / *n as f64;
                *m2 += (x - *mean) * (x - next);
                *mean = next;
            }
        }
        Ok(())
    }

    fn name(&self) -> &'static str {
        match self {
            Stat::Mode { .. } => "mode",
            Stat::Percentile { .. } => "percentile",
            Stat::Variance { stddev: true, .. } => "stddev",
            Stat::Variance { .. } => "variance",
        }
    }

    /// The aggregate's value.
    pub fn finish(&self) -> Value {
        match self {
            Stat::Mode { top, .. } if top.is_empty() => Value::Null,
            Stat::Mode { top, .. } => Value::List(top.clone()),
            Stat::Percentile { values, .. } if values.is_empty() => Value::Null,
            Stat::Percentile { quantiles, values } => {
                let mut sorted = values.clone();
                sorted.sort_by(|a, b| a.as_f64().unwrap_or_default().total_cmp(&b.as_f64().unwrap_or_default()));
                match quantiles.as_deref() {
                    Some([q]) => quantile(&sorted, *q),
                    Some(qs) => Value::List(qs.iter().map(|q| quantile(&sorted, *q)).collect()),
                    None => Value::Null,
                }
            }
            Stat::Variance { n, m2, stddev, .. } if *n > 1 => {
                let var = m2 / *n as f64;
                Value::Double(if *stddev { var.sqrt() } else { var })
            }
            Stat::Variance { .. } => Value::Null,
        }
    }
}

/// Whether a value is a number (OrientDB's `instanceof Number`).
fn is_number(v: &Value) -> bool {
    matches!(v, Value::Byte(_) | Value::Short(_) | Value::Int(_) | Value::Long(_) | Value::Float(_) | Value::Double(_))
}

/// The `q` quantile of sorted, non-empty numbers (`OSQLFunctionPercentile.evaluate`).
fn quantile(sorted: &[Value], q: f64) -> Value {
    assert!(!sorted.is_empty(), "a quantile of no values");
    let n = sorted.len() as f64;
    let pos = q * (n + 1.0);
    if pos < 1.0 {
        return sorted[0].clone();
    }
    if pos >= n {
        return sorted[sorted.len() - 1].clone();
    }
    let at = pos.floor();
    let i = at as usize;
    let (lower, upper) = (sorted[i - 1].as_f64().unwrap_or_default(), sorted[i].as_f64().unwrap_or_default());
    Value::Double(lower + (pos - at) * (upper - lower))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, quantiles: &[f64], rows: &[Value]) -> Value {
        let mut s = Stat::new(name).unwrap();
        if s.wants_quantiles() {
            s.set_quantiles(&quantiles.iter().map(|q| Value::Double(*q)).collect::<Vec<_>>()).unwrap();
        }
        for r in rows {
            s.add(r).unwrap();
        }
        s.finish()
    }

    fn ints(v: &[i32]) -> Vec<Value> {
        v.iter().map(|i| Value::Int(*i)).collect()
    }

    /// OSQLFunctionVarianceTest: testEmpty, testVariance, testVariance1, testVariance2.
    #[test]
    fn variance_is_the_population_variance() {
        assert_eq!(run("variance", &[], &[]), Value::Null);
        assert_eq!(run("variance", &[], &ints(&[4, 7, 15, 3])), Value::Double(22.1875));
        assert_eq!(run("variance", &[], &ints(&[4, 7])), Value::Double(2.25));
        assert_eq!(run("variance", &[], &ints(&[15, 3])), Value::Double(36.0));
        // n > 1 ? m2 / n : null
        assert_eq!(run("variance", &[], &ints(&[5])), Value::Null);
        assert_eq!(run("stddev", &[], &ints(&[15, 3])), Value::Double(6.0));
    }

    /// OSQLFunctionPercentileTest, every case.
    #[test]
    fn percentile_follows_orientdb() {
        assert_eq!(run("percentile", &[0.5], &[]), Value::Null);
        assert_eq!(run("percentile", &[0.25], &ints(&[10])), Value::Int(10));
        assert_eq!(run("percentile", &[0.75], &ints(&[10])), Value::Int(10));
        assert_eq!(run("percentile", &[0.5], &ints(&[1, 2, 3, 4, 5])), Value::Double(3.0));
        let with_nulls = [Value::Null, Value::Int(1), Value::Int(2), Value::Null, Value::Int(3), Value::Int(4)];
        let mut with_nulls = with_nulls.to_vec();
        with_nulls.extend([Value::Null, Value::Int(5)]);
        assert_eq!(run("percentile", &[0.5], &with_nulls), Value::Double(3.0));
        assert_eq!(run("percentile", &[0.5], &ints(&[1, 2, 4, 5])), Value::Double(3.0));
        assert_eq!(run("percentile", &[0.25], &ints(&[1, 2, 3, 4, 5])), Value::Double(1.5));
        assert_eq!(run("percentile", &[0.75], &ints(&[1, 2, 3, 4, 5])), Value::Double(4.5));
        assert_eq!(
            run("percentile", &[0.25, 0.75], &ints(&[1, 2, 3, 4, 5])),
            Value::List(vec![Value::Double(1.5), Value::Double(4.5)])
        );
        assert_eq!(run("median", &[], &[Value::List(ints(&[5, 1, 4, 2, 3]))]), Value::Double(3.0));
    }

    /// OSQLFunctionModeTest: testEmpty, testSingleMode, testMultiMode, testMultiValue.
    #[test]
    fn mode_lists_the_most_frequent_values() {
        assert_eq!(run("mode", &[], &[]), Value::Null);
        assert_eq!(run("mode", &[], &ints(&[1, 2, 3, 3, 3, 2])), Value::List(ints(&[3])));
        assert_eq!(run("mode", &[], &ints(&[1, 2, 3, 3, 3, 2, 2])), Value::List(ints(&[3, 2])));
        let a = Value::List(vec![Value::Int(1), Value::Int(2), Value::Null, Value::Int(3), Value::Int(4)]);
        let b = Value::List(vec![Value::Int(1), Value::Int(1), Value::Int(1), Value::Int(2), Value::Null]);
        assert_eq!(run("mode", &[], &[a, b]), Value::List(ints(&[1])));
    }

    #[test]
    fn a_non_number_in_a_collection_is_an_error_and_alone_is_ignored() {
        let mut s = Stat::new("variance").unwrap();
        s.add(&Value::String("x".into())).unwrap();
        let err = s.add(&Value::List(vec![Value::String("x".into())])).unwrap_err();
        assert!(err.to_string().contains("variance() needs numbers"), "{err}");
        let mut p = Stat::new("percentile").unwrap();
        assert!(p.set_quantiles(&[Value::String("half".into())]).is_err());
        assert!(p.set_quantiles(&[Value::String("0.5".into())]).is_ok());
    }
}
