//! `uuid()`, `decimal()`, `date()`, `sysdate()`, `format()` and the `.format()` method, as
//! OrientDB's `core/src/main/java/com/orientechnologies/orient/core/sql/functions/misc/`
//! (`OSQLFunctionUUID`, `OSQLFunctionDate`, `OSQLFunctionSysdate`), `math/OSQLFunctionDecimal`,
//! `text/OSQLFunctionFormat` and `sql/method/misc/OSQLMethodFormat` define them.
//!
//! Dates: Basalt keeps datetimes as UTC milliseconds, and the database time zone is UTC.
//! Patterns are Java's `SimpleDateFormat` letters `y M d H h k K m s S a E Z X z` with `'quoted'`
//! text (see `datefmt.rs`); a time zone argument may be `UTC`, `GMT`, `Z` or an offset
//! (`+02:00`, `GMT-5`). Text formats are Java's `String.format` for `%s %S %d %f %x %X %o %b
//! %c %n %%` with flags `- 0 + , space`, width and precision.
//!
//! `date()` and `sysdate()` read the clock at each call: OrientDB's new executor
//! (`sql/parser/OFunctionCall.java`) makes a fresh function instance, and so a fresh `new
//! Date()`, for every evaluation (`OSQLFunctionFactoryTemplate.createFunction`).
//!
//! Not done: named time zones (`Europe/Rome`: Basalt has no zone database, and refuses them
//! rather than fall back to GMT as Java does); `decimal()` answers a DOUBLE (Basalt has no
//! DECIMAL value), so about 16 significant digits, not BigDecimal's all; `String.format`'s
//! `%e`, `%g`, `%h`, `%t` and argument indexes (`%1$s`) are refused, naming them.

use basalt_engine::json::parse_datetime;
use basalt_engine::Value;

use super::datefmt::{format_pattern, parse_pattern, zone_offset_ms};
use super::ops::value_text;
use super::rows::{show, Res};
use crate::query::QueryError;

/// `uuid()`: a random (version 4) UUID in its usual text form (`OSQLFunctionUUID.java`
/// answers `UUID.randomUUID().toString()`).
pub(crate) fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// `decimal(x)` (`math/OSQLFunctionDecimal.java`): a number, or a string read as one; null
/// for anything else or a string that is not a number (see the module's note on precision).
pub(crate) fn decimal(v: Value) -> Value {
    match v {
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()).map_or(Value::Null, Value::Double),
        Value::Byte(_) | Value::Short(_) | Value::Int(_) | Value::Long(_) | Value::Float(_) | Value::Double(_) => {
            v.as_f64().map_or(Value::Null, Value::Double)
        }
        _ => Value::Null,
    }
}

/// The clock, in UTC milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn text_arg(v: &Value, what: &str) -> Res<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(QueryError::Invalid(format!("{what} must be a string, not {}", show(other)))),
    }
}

/// `sysdate([format [, zone]])`: now, or now as text in that pattern.
pub(crate) fn sysdate(args: &[Value]) -> Res<Value> {
    let now = now_ms();
    match args {
        [] => Ok(Value::DateTime(now)),
        [fmt, rest @ ..] => {
            let zone = match rest.first() {
                Some(z) => zone_offset_ms(&value_text(z))?,
                None => 0,
            };
            Ok(Value::String(format_pattern(now, &text_arg(fmt, "sysdate()'s format")?, zone)?))
        }
    }
}

/// `date([text [, format [, zone]]])`: now; a number of milliseconds; or text read in the
/// pattern given (without one, `yyyy-MM-dd[ HH:mm:ss[.SSS]]`).
pub(crate) fn date(args: &[Value]) -> Res<Value> {
    let Some(first) = args.first() else { return Ok(Value::DateTime(now_ms())) };
    match first {
        Value::Null => return Ok(Value::Null),
        Value::DateTime(_) => return Ok(first.clone()),
        Value::String(_) => {}
        n => match n.as_i64() {
            Some(ms) if !matches!(n, Value::Bool(_)) => return Ok(Value::DateTime(ms)),
            _ => return Err(QueryError::Invalid(format!("date() cannot read {} as a date", show(n)))),
        },
    }
    let text = value_text(first);
    let zone = match args.get(2) {
        Some(z) => zone_offset_ms(&value_text(z))?,
        None => 0,
    };
    let ms = match args.get(1) {
        None => parse_datetime(&text),
        Some(f) => parse_pattern(&text, &text_arg(f, "date()'s format")?, zone)?,
    };
    // OSQLFunctionDate's message.
    ms.map(Value::DateTime).ok_or_else(|| {
        let pattern = args.get(1).map_or("yyyy-MM-dd HH:mm:ss".to_string(), value_text);
        QueryError::Invalid(format!("Error on formatting date '{text}' using the format: {pattern}"))
    })
}

/// The `.format(pattern [, zone])` method: a date (or each date of a list) in a date
/// pattern, anything else through [`java_format`].
pub(crate) fn format_method(target: Value, args: &[Value]) -> Res<Value> {
    let fmt = args.first().map(value_text).unwrap_or_default();
    let zone = match args.get(1) {
        Some(z) => zone_offset_ms(&value_text(z))?,
        None => 0,
    };
    match target {
        Value::Null => Ok(Value::Null),
        Value::DateTime(ms) => Ok(Value::String(format_pattern(ms, &fmt, zone)?)),
        Value::List(items) if !items.is_empty() && items.iter().all(|i| matches!(i, Value::DateTime(_))) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                if let Value::DateTime(ms) = i {
                    out.push(Value::String(format_pattern(ms, &fmt, zone)?));
                }
            }
            Ok(Value::List(out))
        }
        other => Ok(Value::String(java_format(&fmt, &[other])?)),
    }
}

/// One `%` specifier of a format.
#[derive(Debug, Default)]
struct Spec {
    /// `-`: pad on the right.
    left: bool,
    /// `0`: pad numbers with zeros.
    zero: bool,
    /// `+`: a sign on positive numbers.
    plus: bool,
    /// ` `: a space before positive numbers.
    space: bool,
    /// `,`: group thousands.
    group: bool,
    /// The minimum width.
    width: usize,
    /// The precision.
    precision: Option<usize>,
}

/// Java's `String.format(fmt, args)` for the conversions the module names.
pub(crate) fn java_format(fmt: &str, args: &[Value]) -> Res<String> {
    let mut out = String::new();
    let mut next = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.left = true,
                '0' => spec.zero = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                ',' => spec.group = true,
                _ => break,
            }
            chars.next();
        }
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            spec.width = spec.width.saturating_mul(10).saturating_add(d as usize).min(10_000);
            chars.next();
        }
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = 0usize;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                p = p.saturating_mul(10).saturating_add(d as usize).min(10_000);
                chars.next();
            }
            spec.precision = Some(p);
        }
        let conv = chars.next().ok_or_else(|| bad_format(fmt, "it ends inside a % specifier"))?;
        let body = match conv {
            '$' => return Err(bad_format(fmt, "argument indexes (%1$s) are not supported")),
            '%' => "%".to_string(),
            'n' => "\n".to_string(),
            _ => {
                let v = next.next().ok_or_else(|| bad_format(fmt, &format!("no argument is left for %{conv}")))?;
                convert(conv, &spec, v, fmt)?
            }
        };
        out.push_str(&pad(body, &spec, matches!(conv, 'd' | 'f' | 'x' | 'X' | 'o')));
    }
    Ok(out)
}

fn bad_format(fmt: &str, why: &str) -> QueryError {
    QueryError::Invalid(format!("format '{fmt}': {why}"))
}

fn convert(conv: char, spec: &Spec, v: &Value, fmt: &str) -> Res<String> {
    let mismatch = || bad_format(fmt, &format!("%{conv} cannot format {} {}", v.type_name(), show(v)));
    if v.is_null() && conv != 'b' {
        return Ok("null".to_string());
    }
    Ok(match conv {
        's' | 'S' => {
            let t = value_text(v);
            let t = match spec.precision {
                Some(p) => t.chars().take(p).collect(),
                None => t,
            };
            if conv == 'S' {
                t.to_uppercase()
            } else {
                t
            }
        }
        'b' => match v {
            Value::Null => "false".into(),
            Value::Bool(b) => b.to_string(),
            _ => "true".into(),
        },
        'c' => match v {
            Value::String(s) if s.chars().count() == 1 => s.clone(),
            other => match other.as_i64().and_then(|i| u32::try_from(i).ok()).and_then(char::from_u32) {
                Some(c) if !matches!(other, Value::Float(_) | Value::Double(_)) => c.to_string(),
                _ => return Err(mismatch()),
            },
        },
        'd' | 'x' | 'X' | 'o' => {
            let i = match v {
                Value::Byte(_) | Value::Short(_) | Value::Int(_) | Value::Long(_) => v.as_i64().unwrap_or_default(),
                _ => return Err(mismatch()),
            };
            match conv {
                'd' => signed(i.unsigned_abs().to_string(), i < 0, spec),
                // Java prints a negative int's two's complement in its own width.
                'x' => unsigned_bits(v, i, |u| format!("{u:x}")),
                'X' => unsigned_bits(v, i, |u| format!("{u:X}")),
                _ => unsigned_bits(v, i, |u| format!("{u:o}")),
            }
        }
        'f' => {
            let f = match v {
                Value::Float(_) | Value::Double(_) => v.as_f64().unwrap_or_default(),
                _ => return Err(mismatch()),
            };
            if !f.is_finite() {
                return Ok(if f.is_nan() {
                    "NaN".into()
                } else if f > 0.0 {
                    "Infinity".into()
                } else {
                    "-Infinity".into()
                });
            }
            let digits = format!("{:.*}", spec.precision.unwrap_or(6), f.abs());
            signed(digits, f.is_sign_negative() && f != 0.0, spec)
        }
        other => return Err(bad_format(fmt, &format!("%{other} is not supported (use %s, %d, %f, %x, %o, %b, %c)"))),
    })
}

fn unsigned_bits(v: &Value, i: i64, f: impl Fn(u64) -> String) -> String {
    let bits = match v {
        Value::Byte(_) => u64::from(i as u8),
        Value::Short(_) => u64::from(i as u16),
        Value::Int(_) => u64::from(i as u32),
        _ => i as u64,
    };
    f(bits)
}

/// A number's digits with its sign and thousands groups.
fn signed(digits: String, negative: bool, spec: &Spec) -> String {
    let digits = if spec.group { group_thousands(&digits) } else { digits };
    let sign = if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    if spec.zero && !spec.left && spec.width > sign.len() + digits.chars().count() {
        let zeros = spec.width - sign.len() - digits.chars().count();
        return format!("{sign}{}{digits}", "0".repeat(zeros));
    }
    format!("{sign}{digits}")
}

fn group_thousands(digits: &str) -> String {
    let (int, frac) = match digits.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (digits, None),
    };
    let mut out = String::new();
    for (k, c) in int.chars().enumerate() {
        if k > 0 && (int.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

fn pad(body: String, spec: &Spec, numeric: bool) -> String {
    let n = body.chars().count();
    if n >= spec.width || (numeric && spec.zero && !spec.left) {
        return body;
    }
    let fill = " ".repeat(spec.width - n);
    if spec.left {
        body + &fill
    } else {
        fill + &body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_format_conversions() {
        let f = |fmt: &str, args: &[Value]| java_format(fmt, args).unwrap();
        assert_eq!(f("%d - %s (%s)", &[Value::Int(3), Value::String("x".into()), Value::Null]), "3 - x (null)");
        assert_eq!(f("%5d|%-5d|%05d", &[Value::Int(42), Value::Int(42), Value::Int(-42)]), "   42|42   |-0042");
        assert_eq!(
            f("%.2f %,d %+d", &[Value::Double(1.23456), Value::Long(1234567), Value::Int(5)]),
            "1.23 1,234,567 +5"
        );
        assert_eq!(f("%x %X %o", &[Value::Int(-1), Value::Int(255), Value::Int(8)]), "ffffffff FF 10");
        assert_eq!(
            f(
                "%.3s%S %b %c%%%n",
                &[Value::String("abcdef".into()), Value::String("q".into()), Value::Null, Value::Int(65)]
            ),
            "abcQ false A%\n"
        );
        assert!(java_format("%d", &[Value::Double(2.5)]).is_err());
        assert!(java_format("%s %s", &[Value::Int(1)]).is_err());
        assert!(java_format("%e", &[Value::Double(1.0)]).is_err());
        let err = java_format("%1$s", &[Value::Int(1)]).unwrap_err();
        assert!(err.to_string().contains("argument indexes"), "{err}");
    }

    #[test]
    fn uuid_is_version_4() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        assert_ne!(u, uuid_v4());
    }
}
