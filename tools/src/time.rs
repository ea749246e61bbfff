//! Times and log bounds as operators type them: `--until`, `--from` and `--to` take an LSN (all
//! digits) or a time, RFC 3339 (`2026-12-07T14:05:00Z`, `2026-12-07T16:05:00.25+02:00`) or
//! `YYYY-MM-DD HH:MM:SS[.ffffff]` in UTC. Times are unix microseconds, the unit of an entry's
//! commit time (`basalt_engine::TxEntry::commit_time_us`).

use serde::Serialize;

/// A bound on the log: an LSN, or a time (unix microseconds, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Bound {
    /// An LSN.
    Lsn(u64),
    /// A time, unix microseconds.
    TimeUs(u64),
}

impl std::str::FromStr for Bound {
    type Err = String;

    fn from_str(s: &str) -> Result<Bound, String> {
        let s = s.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return s.parse().map(Bound::Lsn).map_err(|e| format!("LSN '{s}': {e}"));
        }
        parse_time_us(s).map(Bound::TimeUs)
    }
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::Lsn(l) => write!(f, "LSN {l}"),
            Bound::TimeUs(t) => f.write_str(&format_time_us(*t)),
        }
    }
}

/// Parses an RFC 3339 time or `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC) into unix microseconds.
pub fn parse_time_us(s: &str) -> Result<u64, String> {
    let bad = |why: &str| {
        format!("'{s}' is not a time ({why}); give RFC 3339 (2026-12-07T14:05:00Z) or 'YYYY-MM-DD HH:MM:SS' (UTC)")
    };
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad("expected YYYY-MM-DD HH:MM:SS"));
    }
    let num = |from: usize, to: usize| -> Result<i64, String> {
        let part = &s[from..to];
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad(&format!("'{part}' is not a number")));
        }
        part.parse::<i64>().map_err(|e| bad(&e.to_string()))
    };
    let (y, mo, d, h, mi, sec) = (num(0, 4)?, num(5, 7)?, num(8, 10)?, num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60 {
        return Err(bad("a field is out of range"));
    }
    let mut rest = &s[19..];
    let mut micros = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad("no digits after the '.'"));
        }
        let kept = &frac[..digits.min(6)];
        micros = kept.parse::<i64>().map_err(|e| bad(&e.to_string()))? * 10i64.pow(6 - kept.len() as u32);
        rest = &frac[digits..];
    }
    let offset_s = match rest {
        "" | "Z" | "z" => 0,
        o if o.len() == 6 && matches!(&o[..1], "+" | "-") && &o[3..4] == ":" => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let two = |p: &str| -> Result<i64, String> {
                p.bytes()
                    .all(|c| c.is_ascii_digit())
                    .then(|| p.parse::<i64>().ok())
                    .flatten()
                    .ok_or_else(|| bad("bad UTC offset"))
            };
            sign * (two(&o[1..3])? * 3600 + two(&o[4..6])? * 60)
        }
        other => return Err(bad(&format!("'{other}' is not a UTC offset"))),
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    if secs < 0 {
        return Err(bad("before 1970"));
    }
    Ok(secs as u64 * 1_000_000 + micros as u64)
}

/// `2026-12-07T14:05:00.123456Z`.
pub fn format_time_us(us: u64) -> String {
    let secs = us / 1_000_000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = crate::snapshot::civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z", rest / 3600, rest % 3600 / 60, rest % 60, us % 1_000_000)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of
/// `snapshot::civil_from_days`, Howard Hinnant's published algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_every_accepted_form() {
        let t = 1_796_605_323u64 * 1_000_000; // 2026-12-07T01:02:03Z
        assert_eq!(parse_time_us("2026-12-07T01:02:03Z"), Ok(t));
        assert_eq!(parse_time_us("2026-12-07 01:02:03"), Ok(t));
        assert_eq!(parse_time_us("2026-12-07T03:02:03+02:00"), Ok(t));
        assert_eq!(parse_time_us("2026-12-06T23:32:03-01:30"), Ok(t));
        assert_eq!(parse_time_us("2026-12-07T01:02:03.25Z"), Ok(t + 250_000));
        assert_eq!(parse_time_us("2026-12-07 01:02:03.1234567"), Ok(t + 123_456));
        assert_eq!(format_time_us(t + 5), "2026-12-07T01:02:03.000005Z");
        assert_eq!(parse_time_us(&format_time_us(t + 987_654)), Ok(t + 987_654));
        assert_eq!(parse_time_us("2024-02-29 00:00:00"), Ok(1_709_164_800_000_000));
        for bad in ["2026-02-30 00:00:00", "2026-12-07", "yesterday", "2026-12-07T01:02:03+0200", "2026-13-01 00:00:00"]
        {
            assert!(parse_time_us(bad).is_err(), "{bad}");
        }
        assert_eq!("42".parse::<Bound>(), Ok(Bound::Lsn(42)));
        assert_eq!("2026-12-07T01:02:03Z".parse::<Bound>(), Ok(Bound::TimeUs(t)));
    }
}
