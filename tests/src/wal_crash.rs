//! What the WAL crash test and its child (`wal-crash-child`) must agree on: the log's id
//! and segment size, and the payload of every entry the child appends.

use basalt_wal::LogId;

/// The log id of the crash test's log.
pub const LOG: LogId = LogId(0xC4A5_4C4A_5400);
/// Small segments, so rolls (segment creation, sealing) happen while the child is killed.
pub const SEGMENT_BYTES_MAX: u64 = 64 << 10;

/// The payload of the `counter`-th entry of `thread` in `round`: a readable prefix naming
/// all three, then filler bytes from a small generator seeded by them; mostly under 400
/// bytes, one in 16 between 4 and 20 KiB, so a batch spans pages and a kill can land inside
/// its write.
pub fn payload(round: u64, thread: u64, counter: u64) -> Vec<u8> {
    let mut out = format!("round {round} thread {thread} counter {counter};").into_bytes();
    let mut x =
        round.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (thread << 48) ^ counter.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    let filler = if x.is_multiple_of(16) { 4096 + (x >> 8) % 16384 } else { x % 373 } as usize;
    for _ in 0..filler {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push((x >> 24) as u8);
    }
    out
}

/// Parses the `round R thread T counter C;` prefix of a payload.
pub fn parse_payload(bytes: &[u8]) -> Option<(u64, u64, u64)> {
    let end = bytes.iter().position(|b| *b == b';')?;
    let text = std::str::from_utf8(&bytes[..end]).ok()?;
    let words: Vec<&str> = text.split(' ').collect();
    match words[..] {
        ["round", r, "thread", t, "counter", c] => Some((r.parse().ok()?, t.parse().ok()?, c.parse().ok()?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_what_made_them() {
        let p = payload(3, 7, 11);
        assert_eq!(parse_payload(&p), Some((3, 7, 11)));
        assert_eq!(p, payload(3, 7, 11), "deterministic");
        assert_ne!(p, payload(3, 7, 12));
        assert_eq!(parse_payload(b"no prefix"), None);
    }
}
