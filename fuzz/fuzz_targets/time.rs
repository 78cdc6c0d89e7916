//! The two date parsers fed from the network: RFC 3339 (`expires_at` of a token answer) and
//! IMF-fixdate HTTP dates (`Retry-After`). Never a panic (overflow checks are on in fuzz
//! builds), and what parses is the date written: checked against the library's own
//! formatter (a different algorithm, civil_from_days) and across the two parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pirsch::fuzzing::{format_rfc3339_millis, parse_http_date, parse_rfc3339};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn millis(t: SystemTime) -> SystemTime {
    let d = t.duration_since(UNIX_EPOCH).unwrap();
    UNIX_EPOCH + Duration::from_millis(d.as_millis() as u64)
}

/// `YYYY-MM-DDTHH:MM:SS[.fff...]Z` with a real calendar date and second < 60: the text the
/// formatter must give back (separator T, fraction cut or padded to milliseconds).
fn strict_utc(s: &str) -> Option<(u32, String)> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let p = s.get(r)?;
        p.bytes().all(|c| c.is_ascii_digit()).then(|| p.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') || !matches!(*b.last()?, b'Z' | b'z') {
        return None;
    }
    let (y, mo, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (h, mi, se) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let frac = &s[19..s.len() - 1];
    let ms = if frac.is_empty() {
        "000".to_string()
    } else {
        let f = frac.strip_prefix('.')?;
        if f.is_empty() || !f.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        format!("{:0<3}", &f[..f.len().min(3)])
    };
    Some((y, format!("{}T{}.{ms}Z", &s[..10], &s[11..19])))
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let s = s.as_ref();

    // RFC 3339.
    let t = parse_rfc3339(s);
    if let Some(t) = t {
        let text = format_rfc3339_millis(t);
        if !text.starts_with("9999") {
            assert_eq!(parse_rfc3339(&text), Some(millis(t)), "{s:?} -> {text}");
        }
    }
    if let Some((year, want)) = strict_utc(s) {
        match t {
            Some(t) => assert_eq!(format_rfc3339_millis(t), want, "{s:?}"),
            None => assert!(year < 1970, "{s:?} refused"),
        }
    }
    // A numeric offset is the same instant as Z moved by it.
    if s.len() > 6 && s.is_char_boundary(s.len() - 6) {
        let (head, off) = s.split_at(s.len() - 6);
        let ob = off.as_bytes();
        if matches!(ob[0], b'+' | b'-') && ob[3] == b':' && ob[1..].iter().enumerate().all(|(i, c)| i == 2 || c.is_ascii_digit()) {
            let secs = off[1..3].parse::<u64>().unwrap() * 3600 + off[4..6].parse::<u64>().unwrap() * 60;
            if let (Some(t), Some(z)) = (t, parse_rfc3339(&format!("{head}Z"))) {
                let want = if ob[0] == b'+' { z.checked_sub(Duration::from_secs(secs)) } else { z.checked_add(Duration::from_secs(secs)) };
                assert_eq!(Some(t), want, "{s:?}");
            }
        }
    }

    // HTTP dates: what parses is the same instant as the RFC 3339 spelling of its parts.
    let h = parse_http_date(s);
    let parts: Vec<&str> = s.split_whitespace().collect();
    if let Some(h) = h {
        assert_eq!(parts.len(), 6, "{s:?}");
        assert_eq!(parts[5], "GMT");
        const MONTHS: [&str; 12] =
            ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let mo = MONTHS.iter().position(|m| *m == parts[2]).expect("a month") + 1;
        let day: u32 = parts[1].parse().unwrap();
        let hms: Vec<u32> = parts[4].split(':').map(|x| x.parse().unwrap()).collect();
        assert!(parts[3].len() == 4 && day >= 1 && day <= 31 && hms.len() == 3);
        let rfc = format!(
            "{}-{mo:02}-{day:02}T{:02}:{:02}:{:02}Z",
            parts[3], hms[0], hms[1], hms[2]
        );
        assert_eq!(parse_rfc3339(&rfc), Some(h), "{s:?} vs {rfc}");
    } else if parts.len() == 6 && parts[5] == "GMT" {
        // A well-formed date after 1970 must parse.
        const MONTHS: [&str; 12] =
            ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let ok_day = parts[1].len() == 2 && parts[1].bytes().all(|c| c.is_ascii_digit());
        let ok_year = parts[3].len() == 4 && parts[3].bytes().all(|c| c.is_ascii_digit());
        let hms: Vec<&str> = parts[4].split(':').collect();
        let ok_time = hms.len() == 3 && hms.iter().all(|x| x.len() == 2 && x.bytes().all(|c| c.is_ascii_digit()));
        if ok_day && ok_year && ok_time && MONTHS.contains(&parts[2]) {
            let (y, d): (u32, u32) = (parts[3].parse().unwrap(), parts[1].parse().unwrap());
            let (hh, mm, ss): (u32, u32, u32) = (hms[0].parse().unwrap(), hms[1].parse().unwrap(), hms[2].parse().unwrap());
            if y >= 1970 && (1..=31).contains(&d) && hh < 24 && mm < 60 && ss < 61 {
                panic!("{s:?} is a date and was refused");
            }
        }
    }
});
