//! Operators on values: comparisons with OrientDB's conversions, the CONTAINS family,
//! arithmetic with OrientDB's typing, LIKE, and the text form of values.
//!
//! Comparison rules: numbers compare by value across widths; a link compares with a string
//! holding a RID, a datetime with a date string or a number of milliseconds, a number with a
//! numeric string; a one-element list (such as a subquery's single row) compares as its
//! element, and a one-field row as its value. `=` and the order operators are false when
//! either side is null; `<>` is true when exactly one side is null.

use std::cmp::Ordering;

use basalt_engine::json::parse_datetime;
use basalt_engine::{Rid, Value};

use super::eval::items;
use super::rows::{int_value, show, Res};
use crate::query::QueryError;
use crate::sql::ast::{ArithmeticOp, CompareOp, ContainsOp, Expr};

/// A one-field projection as its value, a one-item list as its item.
fn unwrap_single(v: &Value) -> &Value {
    match v {
        Value::Embedded(d) if d.len() == 1 => d.iter().next().map(|(_, v)| v).unwrap_or(v),
        Value::List(items) | Value::Set(items) if items.len() == 1 => unwrap_single(&items[0]),
        _ => v,
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::List(_) | Value::Set(_) | Value::Map(_) | Value::Embedded(_))
}

/// Compares two values with OrientDB's conversions; `None` when they do not compare (a
/// null, or kinds that do not convert).
pub(crate) fn cmp_values(a: &Value, b: &Value) -> Option<Ordering> {
    let (a, b) = if is_scalar(a) != is_scalar(b) { (unwrap_single(a), unwrap_single(b)) } else { (a, b) };
    if a.is_null() || b.is_null() {
        return None;
    }
    match (a, b) {
        (Value::Link(r), Value::String(s)) => Rid::parse(s).map(|x| r.cmp(&x)),
        (Value::String(s), Value::Link(r)) => Rid::parse(s).map(|x| x.cmp(r)),
        (Value::DateTime(d), Value::String(s)) => parse_datetime(s).map(|x| d.cmp(&x)),
        (Value::String(s), Value::DateTime(d)) => parse_datetime(s).map(|x| x.cmp(d)),
        (Value::DateTime(d), n) if n.is_number() => Some(Value::Long(*d).total_cmp(n)),
        (n, Value::DateTime(d)) if n.is_number() => Some(n.total_cmp(&Value::Long(*d))),
        (Value::String(s), n) if n.is_number() => s.trim().parse::<f64>().ok().map(|x| Value::Double(x).total_cmp(n)),
        (n, Value::String(s)) if n.is_number() => s.trim().parse::<f64>().ok().map(|x| n.total_cmp(&Value::Double(x))),
        (Value::Bool(x), Value::String(s)) => s.parse::<bool>().ok().map(|y| x.cmp(&y)),
        (Value::String(s), Value::Bool(y)) => s.parse::<bool>().ok().map(|x| x.cmp(y)),
        (x, y) if x.is_number() && y.is_number() => Some(x.total_cmp(y)),
        (x, y) if std::mem::discriminant(x) == std::mem::discriminant(y) => Some(x.total_cmp(y)),
        (Value::List(_) | Value::Set(_), Value::List(_) | Value::Set(_)) => Some(a.total_cmp(b)),
        _ => None,
    }
}

/// Equality as `=` sees it.
pub(crate) fn values_eq(a: &Value, b: &Value) -> bool {
    cmp_values(a, b) == Some(Ordering::Equal)
}

/// A comparison operator applied to two values.
pub(crate) fn compare(op: CompareOp, l: &Value, r: &Value, e: &Expr) -> Res<bool> {
    Ok(match op {
        CompareOp::Eq => values_eq(l, r),
        CompareOp::Ne => match (l.is_null(), r.is_null()) {
            (true, true) => false,
            (true, false) | (false, true) => true,
            _ => !values_eq(l, r),
        },
        CompareOp::Lt => cmp_values(l, r) == Some(Ordering::Less),
        CompareOp::Le => matches!(cmp_values(l, r), Some(Ordering::Less | Ordering::Equal)),
        CompareOp::Gt => cmp_values(l, r) == Some(Ordering::Greater),
        CompareOp::Ge => matches!(cmp_values(l, r), Some(Ordering::Greater | Ordering::Equal)),
        CompareOp::Like => match (unwrap_single(l), r) {
            (Value::String(s), Value::String(p)) => like(s, p),
            (Value::List(items) | Value::Set(items), Value::String(p)) => {
                items.iter().any(|i| matches!(i, Value::String(s) if like(s, p)))
            }
            (Value::Null, _) | (_, Value::Null) => false,
            (other, Value::String(p)) => like(&value_text(other), p),
            _ => false,
        },
        CompareOp::Matches => match (unwrap_single(l), r) {
            (Value::String(s), Value::String(p)) => super::regex::matches(s, p).map_err(|why| {
                QueryError::Invalid(format!("in `{e}`: the regular expression '{p}' is not supported: {why}"))
            })?,
            _ => false,
        },
    })
}

/// The CONTAINS family with a value on the right.
pub(crate) fn contains(op: ContainsOp, l: Value, r: &Value) -> bool {
    match op {
        ContainsOp::Contains => items(l).iter().any(|x| values_eq(x, r)),
        ContainsOp::ContainsAll => {
            let have = items(l);
            items(r.clone()).iter().all(|x| have.iter().any(|h| values_eq(h, x)))
        }
        ContainsOp::ContainsAny => {
            let have = items(l);
            items(r.clone()).iter().any(|x| have.iter().any(|h| values_eq(h, x)))
        }
        ContainsOp::ContainsKey => {
            let key = value_text(r);
            match l {
                Value::Map(m) => m.contains_key(&key),
                Value::Embedded(d) => d.get(&key).is_some(),
                _ => false,
            }
        }
        ContainsOp::ContainsValue => match l {
            Value::Map(m) => m.values().any(|v| values_eq(v, r)),
            Value::Embedded(d) => d.iter().any(|(_, v)| values_eq(v, r)),
            _ => false,
        },
        ContainsOp::ContainsText => match (&l, r) {
            (Value::String(s), Value::String(t)) => s.contains(t.as_str()),
            _ => false,
        },
    }
}

/// A value as text (concatenation, `asString()`): strings as they are, others in their
/// JSON form without quotes.
pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Link(r) => r.to_string(),
        Value::DateTime(ms) => basalt_engine::json::format_datetime(*ms),
        Value::Float(f) => f.to_string(),
        Value::Double(d) => {
            if d.fract() == 0.0 && d.abs() < 1e15 {
                format!("{d:.1}")
            } else {
                d.to_string()
            }
        }
        other => basalt_engine::json::to_json(other).to_string(),
    }
}

fn is_small_int(v: &Value) -> bool {
    matches!(v, Value::Byte(_) | Value::Short(_) | Value::Int(_))
}

/// `+ - * / %` as OrientDB's `OMathExpression.Operator` computes them
/// (`core/src/main/java/com/orientechnologies/orient/core/sql/parser/OMathExpression.java`):
/// - nulls: `+` returns the other operand (null only when both are); `-` returns the left
///   number for `n - null` and `0 - n` for `null - n`; `*`, `/` and `%` with a null are null;
/// - integers stay integers (INTEGER while they fit, else LONG), a FLOAT with integers gives
///   a FLOAT, a DOUBLE anywhere gives a DOUBLE; `/` of two integers is exact when it divides
///   evenly and a DOUBLE otherwise (`7 / 2` is `3.5`);
/// - `+` with a string concatenates; datetimes move by milliseconds.
pub(crate) fn arithmetic(op: ArithmeticOp, l: Value, r: Value, e: &Expr) -> Res<Value> {
    match (op, l.is_null(), r.is_null()) {
        (_, true, true) => return Ok(Value::Null),
        (ArithmeticOp::Add, true, false) => return Ok(r),
        (ArithmeticOp::Add, false, true) => return Ok(l),
        (ArithmeticOp::Sub, false, true) if l.is_number() => return Ok(l),
        (ArithmeticOp::Sub, true, false) if r.is_number() => return arithmetic(op, Value::Int(0), r, e),
        (_, true, _) | (_, _, true) => return Ok(Value::Null),
        _ => {}
    }
    if op == ArithmeticOp::Add && (matches!(l, Value::String(_)) || matches!(r, Value::String(_))) {
        return Ok(Value::String(format!("{}{}", value_text(&l), value_text(&r))));
    }
    let fail = |why: &str| {
        QueryError::Invalid(format!(
            "in `{e}`: {why} ({} {} and {} {})",
            l.type_name(),
            show(&l),
            r.type_name(),
            show(&r)
        ))
    };
    if let (Value::DateTime(ms), Some(n)) = (&l, r.as_i64()) {
        return match op {
            ArithmeticOp::Add => Ok(Value::DateTime(ms.saturating_add(n))),
            ArithmeticOp::Sub => Ok(Value::DateTime(ms.saturating_sub(n))),
            _ => Err(fail("a datetime only adds or subtracts milliseconds")),
        };
    }
    if let (Value::DateTime(a), Value::DateTime(b)) = (&l, &r) {
        if op == ArithmeticOp::Sub {
            return Ok(Value::Long(a.saturating_sub(*b)));
        }
    }
    if let (Value::List(a), Value::List(b)) = (&l, &r) {
        if op == ArithmeticOp::Add {
            return Ok(Value::List(a.iter().chain(b.iter()).cloned().collect()));
        }
    }
    if !l.is_number() || !r.is_number() {
        return Err(fail("arithmetic needs numbers"));
    }
    if let (Some(a), Some(b)) = (l.as_i64(), r.as_i64()) {
        let small = is_small_int(&l) && is_small_int(&r);
        let v = match op {
            ArithmeticOp::Add => a.checked_add(b),
            ArithmeticOp::Sub => a.checked_sub(b),
            ArithmeticOp::Mul => a.checked_mul(b),
            ArithmeticOp::Div | ArithmeticOp::Mod if b == 0 => return Err(fail("division by zero")),
            ArithmeticOp::Div if a.checked_rem(b) != Some(0) => return Ok(Value::Double(a as f64 / b as f64)),
            ArithmeticOp::Div => a.checked_div(b),
            ArithmeticOp::Mod => a.checked_rem(b),
        };
        let v = v.ok_or_else(|| fail("the result does not fit a LONG"))?;
        return Ok(if small { int_value(v) } else { Value::Long(v) });
    }
    let (a, b) = (l.as_f64().unwrap_or(f64::NAN), r.as_f64().unwrap_or(f64::NAN));
    let v = match op {
        ArithmeticOp::Add => a + b,
        ArithmeticOp::Sub => a - b,
        ArithmeticOp::Mul => a * b,
        ArithmeticOp::Div | ArithmeticOp::Mod if b == 0.0 => return Err(fail("division by zero")),
        ArithmeticOp::Div => a / b,
        ArithmeticOp::Mod => a % b,
    };
    let double = matches!(l, Value::Double(_)) || matches!(r, Value::Double(_));
    Ok(if double { Value::Double(v) } else { Value::Float(v as f32) })
}

/// SQL LIKE: `%` matches any run of characters, `_` and `?` one character, `\` escapes the
/// next one; case-sensitive. Linear in practice (greedy with one backtrack point).
pub(crate) fn like(s: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Any,
        One,
        Char(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        toks.push(match c {
            '%' => Tok::Any,
            '_' | '?' => Tok::One,
            '\\' => Tok::Char(chars.next().unwrap_or('\\')),
            c => Tok::Char(c),
        });
    }
    let text: Vec<char> = s.chars().collect();
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < text.len() {
        match toks.get(pi) {
            Some(Tok::Any) => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(Tok::One) => {
                ti += 1;
                pi += 1;
            }
            Some(Tok::Char(c)) if *c == text[ti] => {
                ti += 1;
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[pi..].iter().all(|t| *t == Tok::Any)
}
