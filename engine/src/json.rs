//! Values to and from JSON, in OrientDB's conventions: links as `"#9:1"` strings, datetimes
//! as `"yyyy-MM-dd HH:mm:ss"` (UTC), binary as base64. Also the date and base64 helpers.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::value::{Document, Value};

/// A value as JSON.
pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Byte(_) | Value::Short(_) | Value::Int(_) | Value::Long(_) => Json::from(v.as_i64().unwrap_or_default()),
        Value::Float(f) => float_json(f64::from(*f)),
        Value::Double(d) => float_json(*d),
        Value::String(s) => Json::String(s.clone()),
        Value::Binary(b) => Json::String(base64_encode(b)),
        Value::DateTime(ms) => Json::String(format_datetime(*ms)),
        Value::Link(r) => Json::String(r.to_string()),
        Value::List(items) | Value::Set(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        Value::Embedded(d) => document_to_json(d),
    }
}

fn float_json(f: f64) -> Json {
    serde_json::Number::from_f64(f).map(Json::Number).unwrap_or(Json::Null)
}

/// A document's fields as a JSON object, in field order.
pub fn document_to_json(d: &Document) -> Json {
    let mut m = serde_json::Map::new();
    for (k, v) in d.iter() {
        m.insert(k.to_string(), to_json(v));
    }
    Json::Object(m)
}

/// A JSON value as a field value: integers as INTEGER when they fit, else LONG; other
/// numbers as DOUBLE; objects as maps. Strings stay strings (the schema turns them into
/// links or datetimes where a property says so).
pub fn from_json(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                i32::try_from(i).map(Value::Int).unwrap_or(Value::Long(i))
            } else {
                Value::Double(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => Value::String(s.clone()),
        Json::Array(a) => Value::List(a.iter().map(from_json).collect()),
        Json::Object(o) => {
            let m: BTreeMap<String, Value> = o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect();
            Value::Map(m)
        }
    }
}

/// A JSON object as a document, skipping OrientDB's `@`-attributes (`@rid`, `@class`, ...).
pub fn document_from_json(o: &serde_json::Map<String, Json>) -> Document {
    o.iter().filter(|(k, _)| !k.starts_with('@')).map(|(k, v)| (k.clone(), from_json(v))).collect()
}

// ---- dates (proleptic Gregorian, UTC) ----

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats milliseconds since the epoch as `yyyy-MM-dd HH:mm:ss` (with `.SSS` when the
/// milliseconds are not zero).
pub fn format_datetime(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, milli) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    if milli == 0 {
        format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}")
    } else {
        format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{milli:03}")
    }
}

/// Parses `yyyy-MM-dd`, `yyyy-MM-dd HH:mm[:ss[.SSS]]`, or the same with `T` and an optional
/// trailing `Z`, as UTC.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: i64 = dp.next()?.parse().ok()?;
    let d: i64 = dp.next()?.parse().ok()?;
    if dp.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, m, d) * 86_400_000;
    if let Some(t) = time {
        let (hms, frac) = match t.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (t, None),
        };
        let mut tp = hms.split(':');
        let h: i64 = tp.next()?.parse().ok()?;
        let mi: i64 = tp.next()?.parse().ok()?;
        let sec: i64 = match tp.next() {
            Some(x) => x.parse().ok()?,
            None => 0,
        };
        if tp.next().is_some() || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        ms += (h * 3600 + mi * 60 + sec) * 1000;
        if let Some(f) = frac {
            let digits: String = f.chars().take(3).collect();
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let scale = [100, 10, 1][digits.len() - 1];
            ms += digits.parse::<i64>().ok()? * scale;
        }
    }
    Some(ms)
}

// ---- base64 (standard alphabet, padded) ----

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes bytes as standard padded base64.
pub fn base64_encode(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 (padding optional); `None` on any other character.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = B64.iter().position(|x| *x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Rid;

    #[test]
    fn datetimes_round_trip() {
        assert_eq!(format_datetime(0), "1970-01-01 00:00:00");
        assert_eq!(parse_datetime("1970-01-02"), Some(86_400_000));
        for s in ["2024-02-29 23:59:59", "1965-05-01 12:00:00", "2026-11-24 22:51:12.250", "0001-01-01 00:00:00"] {
            assert_eq!(format_datetime(parse_datetime(s).unwrap()), s);
        }
        assert_eq!(parse_datetime("2026-11-24T10:00:00Z"), parse_datetime("2026-11-24 10:00:00"));
        assert_eq!(parse_datetime("2026-13-01"), None);
        assert_eq!(parse_datetime("yesterday"), None);
    }

    #[test]
    fn base64_round_trips() {
        for b in [&b""[..], b"f", b"fo", b"foo", b"foob", b"\x00\xff\x10"] {
            assert_eq!(base64_decode(&base64_encode(b)).unwrap(), b);
        }
        assert_eq!(base64_encode(b"foob"), "Zm9vYg==");
        assert_eq!(base64_decode("Zm9v!"), None);
    }

    #[test]
    fn json_conventions() {
        assert_eq!(to_json(&Value::Link(Rid::new(9, 1))), Json::String("#9:1".into()));
        assert_eq!(from_json(&serde_json::json!(5)), Value::Int(5));
        assert_eq!(from_json(&serde_json::json!(5_000_000_000i64)), Value::Long(5_000_000_000));
        assert_eq!(from_json(&serde_json::json!(1.5)), Value::Double(1.5));
        let d = document_from_json(serde_json::json!({"@rid": "#1:1", "a": [1, "x"]}).as_object().unwrap());
        assert_eq!(d.names().collect::<Vec<_>>(), vec!["a"]);
    }
}
