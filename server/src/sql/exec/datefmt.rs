//! Java `SimpleDateFormat` patterns over UTC milliseconds, for `date()`, `sysdate()` and
//! `.format()` (OrientDB hands their patterns to `java.text.SimpleDateFormat`).
//!
//! Letters: `y` year (`yy` two digits), `M` month (`MMM` `Jan`, `MMMM` `January`), `d` day,
//! `H` hour 0-23, `k` 1-24, `h` 1-12, `K` 0-11, `m` minute, `s` second, `S` milliseconds,
//! `a` `AM`/`PM`, `E` day name (`EEE` `Mon`, `EEEE` `Monday`), `Z` `+0000`, `X` `Z` or
//! `+00` / `+0000` / `+00:00`, `z` `UTC` or `GMT+hh:mm`; `'text'` is literal and `''` a quote.
//! Other letters are refused, naming them. Parsing reads numbers of any length unless the next
//! element is a number too (then exactly the letters' count, as Java does), and is
//! case-insensitive for names.

use crate::query::QueryError;

use super::rows::Res;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const DAY_MS: i64 = 86_400_000;

/// One element of a pattern.
#[derive(Debug, PartialEq)]
enum Part {
    /// Literal text.
    Text(String),
    /// A letter repeated `n` times.
    Field(char, usize),
}

fn parts(pattern: &str) -> Res<Vec<Part>> {
    let mut out = Vec::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    let text = |out: &mut Vec<Part>, c: char| match out.last_mut() {
        Some(Part::Text(t)) => t.push(c),
        _ => out.push(Part::Text(c.to_string())),
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                text(&mut out, '\'');
                i += 2;
                continue;
            }
            // Quoted text up to the closing quote; '' inside it is a quote.
            i += 1;
            loop {
                match (chars.get(i), chars.get(i + 1)) {
                    (None, _) => {
                        return Err(QueryError::Invalid(format!("date pattern '{pattern}' has an unclosed quote")))
                    }
                    (Some('\''), Some('\'')) => {
                        text(&mut out, '\'');
                        i += 2;
                    }
                    (Some('\''), _) => break,
                    (Some(&ch), _) => {
                        text(&mut out, ch);
                        i += 1;
                    }
                }
            }
            i += 1;
        } else if c.is_ascii_alphabetic() {
            if !"yMdHkhKmsSaEZXz".contains(c) {
                return Err(QueryError::Invalid(format!(
                    "date pattern '{pattern}': the letter '{c}' is not supported (use y M d H h k K m s S a E Z X z)"
                )));
            }
            let n = chars[i..].iter().take_while(|&&x| x == c).count();
            out.push(Part::Field(c, n));
            i += n;
        } else {
            text(&mut out, c);
            i += 1;
        }
    }
    Ok(out)
}

/// Days since 1970-01-01 of a civil date (the proleptic Gregorian calendar).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

/// A time zone's offset from UTC: `UTC`, `GMT`, `Z`, or `[UTC|GMT]±h[h][[:]mm]`.
pub(crate) fn zone_offset_ms(name: &str) -> Res<i64> {
    let n = name.trim();
    let upper = n.to_ascii_uppercase();
    let rest = upper.strip_prefix("UTC").or_else(|| upper.strip_prefix("GMT")).unwrap_or(&upper);
    if rest.is_empty() || rest == "Z" {
        return Ok(0);
    }
    offset(rest).ok_or_else(|| {
        QueryError::Invalid(format!(
            "time zone '{n}' is not supported: use UTC, GMT or an offset such as +02:00 (Basalt has no zone database)"
        ))
    })
}

/// `±hh[[:]mm]` or `±h` in milliseconds.
fn offset(s: &str) -> Option<i64> {
    let (sign, digits) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || digits.len() > 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (h, m) = if digits.len() <= 2 { (&digits[..], "0") } else { digits.split_at(digits.len() - 2) };
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 18 && m < 60).then_some(sign * (h * 3_600_000 + m * 60_000))
}

fn num(v: i64, n: usize) -> String {
    format!("{v:0n$}")
}

fn zone_text(zone_ms: i64, colon: bool) -> String {
    let sign = if zone_ms < 0 { '-' } else { '+' };
    let m = zone_ms.abs() / 60_000;
    if colon {
        format!("{sign}{:02}:{:02}", m / 60, m % 60)
    } else {
        format!("{sign}{:02}{:02}", m / 60, m % 60)
    }
}

/// Formats UTC milliseconds in a pattern, in the zone `zone_ms` east of UTC.
pub(crate) fn format_pattern(ms: i64, pattern: &str, zone_ms: i64) -> Res<String> {
    let local = ms.saturating_add(zone_ms);
    let (y, mo, d) = civil_from_days(local.div_euclid(DAY_MS));
    let t = local.rem_euclid(DAY_MS);
    let (h, mi, s, milli) = (t / 3_600_000, t / 60_000 % 60, t / 1000 % 60, t % 1000);
    let weekday = (local.div_euclid(DAY_MS) + 3).rem_euclid(7) as usize; // 1970-01-01 was a Thursday.
    let mut out = String::new();
    for p in parts(pattern)? {
        let (c, n) = match p {
            Part::Text(t) => {
                out.push_str(&t);
                continue;
            }
            Part::Field(c, n) => (c, n),
        };
        out.push_str(&match c {
            'y' if n == 2 => num(y.rem_euclid(100), 2),
            'y' => num(y, n),
            'M' if n >= 4 => MONTHS[(mo - 1) as usize].to_string(),
            'M' if n == 3 => MONTHS[(mo - 1) as usize][..3].to_string(),
            'M' => num(mo, n),
            'd' => num(d, n),
            'H' => num(h, n),
            'k' => num(if h == 0 { 24 } else { h }, n),
            'h' => num(if h % 12 == 0 { 12 } else { h % 12 }, n),
            'K' => num(h % 12, n),
            'm' => num(mi, n),
            's' => num(s, n),
            'S' => num(milli, n),
            'a' => (if h < 12 { "AM" } else { "PM" }).to_string(),
            'E' if n >= 4 => DAYS[weekday].to_string(),
            'E' => DAYS[weekday][..3].to_string(),
            'Z' => zone_text(zone_ms, false),
            'X' if zone_ms == 0 => "Z".to_string(),
            'X' if n == 1 => zone_text(zone_ms, false)[..3].to_string(),
            'X' => zone_text(zone_ms, n >= 3),
            _ if zone_ms == 0 => "UTC".to_string(),
            _ => format!("GMT{}", zone_text(zone_ms, true)),
        });
    }
    Ok(out)
}

/// The fields read from a text.
#[derive(Debug)]
struct Fields {
    /// Year.
    y: i64,
    /// Month 1-12.
    mo: i64,
    /// Day 1-31.
    d: i64,
    /// Hour 0-23 (or 1-12 with `pm`).
    h: i64,
    /// Whether an `a` field said PM.
    pm: Option<bool>,
    /// Minute.
    mi: i64,
    /// Second.
    s: i64,
    /// Milliseconds.
    milli: i64,
    /// A zone read from the text.
    zone: Option<i64>,
}

/// Reads a text in a pattern (in the zone `zone_ms` unless the text names one); `None` if it
/// does not match.
pub(crate) fn parse_pattern(text: &str, pattern: &str, zone_ms: i64) -> Res<Option<i64>> {
    let parts = parts(pattern)?;
    let mut f = Fields { y: 1970, mo: 1, d: 1, h: 0, pm: None, mi: 0, s: 0, milli: 0, zone: None };
    let mut rest = text;
    for (k, p) in parts.iter().enumerate() {
        let next_numeric = matches!(parts.get(k + 1), Some(Part::Field(c, n)) if is_numeric(*c, *n));
        match p {
            Part::Text(t) => match rest.strip_prefix(t.as_str()) {
                Some(r) => rest = r,
                None => return Ok(None),
            },
            Part::Field(c, n) if is_numeric(*c, *n) => {
                let width = if next_numeric { *n } else { usize::MAX };
                let len = rest.bytes().take(width).take_while(u8::is_ascii_digit).count();
                let Ok(v) = rest[..len].parse::<i64>() else { return Ok(None) };
                rest = &rest[len..];
                match c {
                    'y' if *n == 2 && len <= 2 => f.y = 2000 + v, // Java's 80-20 window, taken as 2000-2099.
                    'y' => f.y = v,
                    'M' => f.mo = v,
                    'd' => f.d = v,
                    'H' | 'h' | 'K' => f.h = v,
                    'k' => f.h = v % 24,
                    'm' => f.mi = v,
                    's' => f.s = v,
                    _ => f.milli = v,
                }
            }
            Part::Field(c, _) => match read_name(*c, rest, &mut f) {
                Some(r) => rest = r,
                None => return Ok(None),
            },
        }
    }
    if let Some(pm) = f.pm {
        f.h = f.h % 12 + if pm { 12 } else { 0 };
    }
    let valid = (1..=12).contains(&f.mo) && (1..=31).contains(&f.d) && f.h < 24 && f.mi < 60 && f.s < 60;
    if !valid || !rest.is_empty() || f.y.abs() > 1_000_000 {
        return Ok(None);
    }
    let day = days_from_civil(f.y, f.mo, f.d);
    let local = day * DAY_MS + f.h * 3_600_000 + f.mi * 60_000 + f.s * 1000 + f.milli;
    Ok(Some(local - f.zone.unwrap_or(zone_ms)))
}

fn is_numeric(c: char, n: usize) -> bool {
    !(matches!(c, 'a' | 'E' | 'Z' | 'X' | 'z') || (c == 'M' && n >= 3))
}

/// Reads a month or day name, AM/PM, or a zone; the text after it.
fn read_name<'t>(c: char, rest: &'t str, f: &mut Fields) -> Option<&'t str> {
    let starts = |name: &str| rest.get(..name.len()).is_some_and(|p| p.eq_ignore_ascii_case(name));
    match c {
        'M' => {
            for (i, m) in MONTHS.iter().enumerate() {
                for name in [*m, &m[..3]] {
                    if starts(name) {
                        f.mo = i as i64 + 1;
                        return Some(&rest[name.len()..]);
                    }
                }
            }
            None
        }
        'E' => DAYS.iter().flat_map(|d| [*d, &d[..3]]).find(|d| starts(d)).map(|d| &rest[d.len()..]),
        'a' => {
            let pm = if starts("PM") {
                true
            } else if starts("AM") {
                false
            } else {
                return None;
            };
            f.pm = Some(pm);
            Some(&rest[2..])
        }
        _ => {
            for name in ["UTC", "GMT", "Z"] {
                if starts(name) {
                    let after = &rest[name.len()..];
                    let len = after.bytes().take_while(|b| b"+-:0123456789".contains(b)).count();
                    f.zone = Some(if len == 0 { 0 } else { offset(&after[..len])? });
                    return Some(&after[len..]);
                }
            }
            let len = rest.bytes().take_while(|b| b"+-:0123456789".contains(b)).count();
            f.zone = Some(offset(&rest[..len])?);
            Some(&rest[len..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-02-29 10:11:12.345 UTC (a Thursday).
    const MS: i64 = 1_709_201_472_345;

    #[test]
    fn formats_java_patterns() {
        assert_eq!(format_pattern(MS, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", 0).unwrap(), "2024-02-29T10:11:12.345Z");
        assert_eq!(format_pattern(MS, "dd-MM-yy h:mm a EEE MMM", 0).unwrap(), "29-02-24 10:11 AM Thu Feb");
        assert_eq!(
            format_pattern(MS, "EEEE d MMMM yyyy HH:mm Z", 2 * 3_600_000).unwrap(),
            "Thursday 29 February 2024 12:11 +0200"
        );
        assert_eq!(format_pattern(0, "yyyy-MM-dd HH:mm:ss z X", 0).unwrap(), "1970-01-01 00:00:00 UTC Z");
        assert_eq!(format_pattern(MS, "'o''clock' k", 0).unwrap(), "o'clock 10");
        assert!(format_pattern(MS, "yyyy-ww", 0).is_err());
        assert!(format_pattern(MS, "'open", 0).is_err());
    }

    #[test]
    fn parses_java_patterns() {
        let p = |t: &str, f: &str| parse_pattern(t, f, 0).unwrap();
        assert_eq!(p("2024-02-29T10:11:12.345Z", "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"), Some(MS));
        assert_eq!(p("20240229101112", "yyyyMMddHHmmss"), Some(MS - 345));
        assert_eq!(p("29 feb 2024 10:11:12 +0000", "dd MMM yyyy HH:mm:ss Z"), Some(MS - 345));
        assert_eq!(p("29/02/2024 12:11:12 +02:00", "dd/MM/yyyy HH:mm:ss XXX"), Some(MS - 345));
        assert_eq!(p("10:11 PM", "hh:mm a"), Some(22 * 3_600_000 + 11 * 60_000));
        assert_eq!(p("2024-13-01", "yyyy-MM-dd"), None);
        assert_eq!(p("2024-02-29 x", "yyyy-MM-dd"), None);
        assert_eq!(parse_pattern("2024-02-29 12:11:12", "yyyy-MM-dd HH:mm:ss", 2 * 3_600_000).unwrap(), Some(MS - 345));
    }

    #[test]
    fn zones() {
        assert_eq!(zone_offset_ms("UTC").unwrap(), 0);
        assert_eq!(zone_offset_ms("GMT+2").unwrap(), 7_200_000);
        assert_eq!(zone_offset_ms("-05:30").unwrap(), -(5 * 3_600_000 + 30 * 60_000));
        assert!(zone_offset_ms("Europe/Rome").is_err());
    }

    #[test]
    fn civil_round_trip() {
        for day in [-800_000, -1, 0, 59, 19_782, 2_000_000] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }
}
