//! RFC 3339 timestamps (UTC) without a date crate: the API needs only "parse expires_at"
//! and "stamp a queued item".

use std::cell::Cell;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

thread_local! {
    static ANCHOR: Cell<Option<(Instant, SystemTime)>> = const { Cell::new(None) };
}

/// The current monotonic time and wall-clock time, for stamping a queued item with one clock
/// read: the wall-clock time is derived from a per-thread anchor that is read again once a
/// second, so a step of the system clock shows within a second.
pub fn now_for_queue() -> (Instant, SystemTime) {
    let now = Instant::now();
    ANCHOR.with(|a| match a.get() {
        Some((at, wall)) if now.saturating_duration_since(at) < Duration::from_secs(1) => {
            (now, wall + (now - at))
        }
        _ => {
            let wall = SystemTime::now();
            a.set(Some((now, wall)));
            (now, wall)
        }
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats a time as `2026-11-26T14:15:32.123Z` (years 0-9999).
#[cfg(any(test, feature = "fuzzing"))]
pub fn format_rfc3339_millis(t: SystemTime) -> String {
    String::from_utf8_lossy(&rfc3339_millis_bytes(t)).into_owned()
}

/// The same, into a fixed buffer: every queued item is stamped, so no formatter machinery.
pub fn rfc3339_millis_bytes(t: SystemTime) -> [u8; 24] {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (y, mo, da) = civil_from_days(secs.div_euclid(86400));
    let s = secs.rem_euclid(86400) as u32;
    let mut b = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (0..width).rev() {
            b[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y.clamp(0, 9999) as u32);
    put(5, 2, mo);
    put(8, 2, da);
    put(11, 2, s / 3600);
    put(14, 2, (s / 60) % 60);
    put(17, 2, s % 60);
    put(20, 3, d.subsec_millis());
    b
}

thread_local! {
    /// The last second formatted on this thread, and its text.
    static LAST_SECOND: std::cell::Cell<(u64, [u8; 24])> = const { std::cell::Cell::new((u64::MAX, [0; 24])) };
}

/// rfc3339_millis_bytes, formatting the date and time of day once per second per thread:
/// within a second only the milliseconds change.
pub fn rfc3339_millis_cached(t: SystemTime) -> [u8; 24] {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    LAST_SECOND.with(|last| {
        let (secs, mut b) = last.get();
        if secs != d.as_secs() {
            b = rfc3339_millis_bytes(t);
            last.set((d.as_secs(), b));
            return b;
        }
        let ms = d.subsec_millis();
        b[20] = b'0' + (ms / 100) as u8;
        b[21] = b'0' + (ms / 10 % 10) as u8;
        b[22] = b'0' + (ms % 10) as u8;
        b
    })
}

/// Parses an RFC 3339 timestamp (`Z` or a numeric offset, optional fraction).
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[13] != b':'
        || b[16] != b':'
        || !(1..=12).contains(&mo)
        || d == 0
        || d > 31
        || h > 23
        || mi > 59
        || se > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos: u64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + (b[i] - b'0') as u64;
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start).min(9)..9 {
            nanos *= 10;
        }
    }
    let offset: i64 = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = num(i + 1..i + 3)? as i64;
            let om = num(i + 4..i + 6)? as i64;
            let o = oh * 3600 + om * 60;
            if *sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y as i64, mo, d);
    let secs = days
        .checked_mul(86400)?
        .checked_add((h * 3600 + mi * 60 + se) as i64)?
        .checked_sub(offset)?;
    UNIX_EPOCH
        .checked_add(Duration::from_secs(u64::try_from(secs).ok()?))?
        .checked_add(Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cached_stamp_is_the_stamp() {
        let base = 1_795_702_532_000u64;
        // Within a second, across seconds, back in time, and across a day.
        for ms in [
            0, 1, 9, 10, 99, 100, 999, 1000, 1001, 500, 86_399_999, 86_400_000, 7, 3_600_123,
        ] {
            let t = UNIX_EPOCH + Duration::from_millis(base + ms);
            assert_eq!(
                rfc3339_millis_cached(t),
                rfc3339_millis_bytes(t),
                "+{ms} ms"
            );
        }
    }

    #[test]
    fn round_trip() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_702_532_123);
        let s = format_rfc3339_millis(t);
        assert_eq!(s, "2026-11-26T14:15:32.123Z");
        assert_eq!(parse_rfc3339(&s), Some(t));
    }

    #[test]
    fn offsets_and_garbage() {
        let z = parse_rfc3339("2026-11-26T14:15:32Z").unwrap();
        assert_eq!(parse_rfc3339("2026-11-26T15:15:32+01:00"), Some(z));
        assert_eq!(parse_rfc3339("2026-11-26T13:15:32-01:00"), Some(z));
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z").map(|_| ()), Some(()));
        for bad in [
            "",
            "2026-11-26",
            "2026-13-01T00:00:00Z",
            "2026-11-26T14:15:32",
            "2026-11-26T14:15:32.Z",
            "x026-11-26T14:15:32Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}

/// Parses an IMF-fixdate HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`), as in `Retry-After`.
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    let day: u32 = parts[1].parse().ok()?;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == parts[2])? as u32 + 1;
    // Four digits, as RFC 9110 writes it: anything else is not a date (and would overflow).
    if parts[3].len() != 4 || !parts[3].bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let year: i64 = parts[3].parse().ok()?;
    let hms: Vec<u32> = parts[4]
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if hms.len() != 3 || hms[0] > 23 || hms[1] > 59 || hms[2] > 60 || day == 0 || day > 31 {
        return None;
    }
    let secs = days_from_civil(year, month, day)
        .checked_mul(86400)?
        .checked_add((hms[0] * 3600 + hms[1] * 60 + hms[2]) as i64)?;
    UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(secs).ok()?))
}

#[cfg(test)]
mod http_date_tests {
    #[test]
    fn http_date() {
        let t = super::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(t, super::parse_rfc3339("2015-10-21T07:28:00Z").unwrap());
        assert!(super::parse_http_date("soon").is_none());
        // Found by a probe: a huge year overflowed (a panic with overflow checks on).
        for bad in [
            "Wed, 21 Oct 9999999999999999 07:28:00 GMT",
            "Wed, 21 Oct -999 07:28:00 GMT",
            "Wed, 21 Oct 99999 07:28:00 GMT",
            "Wed, 99 Oct 2015 07:28:00 GMT",
            "Wed, 21 Oct 2015 99:28:00 GMT",
            "Wed, 21 Oct 2015 07:28:4294967295 GMT",
        ] {
            assert!(super::parse_http_date(bad).is_none(), "{bad}");
        }
        assert!(super::parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT").is_some());
        assert!(super::parse_rfc3339("9999-12-31T23:59:59+23:59").is_some());
        assert!(super::parse_rfc3339("0000-01-01T00:00:00Z").is_none());
    }
}
