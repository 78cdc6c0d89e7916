//! Byte scans on the enqueue path: sixteen bytes at a time with SSE2 on x86-64, eight
//! (a word) elsewhere. Each finds the first byte that needs attention; blocks without one
//! are skipped with a few operations.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Nonzero when some byte of `x` is below `n` (n <= 128). Exact as a yes/no answer.
#[inline]
fn has_less(x: u64, n: u8) -> bool {
    (x.wrapping_sub(ONES * n as u64) & !x & HIGHS) != 0
}

/// Nonzero when some byte of `x` equals `b`. Exact as a yes/no answer.
#[inline]
fn has_byte(x: u64, b: u8) -> bool {
    let y = x ^ (ONES * b as u64);
    (y.wrapping_sub(ONES) & !y & HIGHS) != 0
}

#[inline]
fn word(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Sixteen bytes at a time with SSE2 (part of every x86-64 CPU): the index of the first
/// byte at or after `at` whose bit is set in `flags(block)` and for which `exact` holds.
/// The last partial block is read as the slice's last 16 bytes, its earlier bytes masked
/// off. Err(b.len()) when there is no such byte; Err(at) when the slice is shorter than 16
/// bytes and the caller must look at it another way.
#[cfg(target_arch = "x86_64")]
#[inline]
fn find_sse2(
    b: &[u8],
    mut at: usize,
    flags: impl Fn(std::arch::x86_64::__m128i) -> u32,
    exact: impl Fn(&[u8], usize) -> bool,
) -> Result<usize, usize> {
    use std::arch::x86_64::*;
    while at + 16 <= b.len() {
        // SAFETY: at + 16 <= b.len(); an unaligned load of 16 bytes inside the slice.
        let v = unsafe { _mm_loadu_si128(b.as_ptr().add(at) as *const __m128i) };
        let mut m = flags(v);
        while m != 0 {
            let i = at + m.trailing_zeros() as usize;
            if exact(b, i) {
                return Ok(i);
            }
            m &= m - 1;
        }
        at += 16;
    }
    if at >= b.len() || b.len() < 16 {
        return Err(at);
    }
    let base = b.len() - 16;
    // SAFETY: base + 16 == b.len(). (Copying the tail into a padded block instead stalls
    // on store forwarding, and most strings here are short.)
    let v = unsafe { _mm_loadu_si128(b.as_ptr().add(base) as *const __m128i) };
    let mut m = flags(v) >> (at - base);
    while m != 0 {
        let i = at + m.trailing_zeros() as usize;
        if exact(b, i) {
            return Ok(i);
        }
        m &= m - 1;
    }
    Err(b.len())
}

/// The index of the first byte at or after `from` for which `hit(word)` may be true,
/// word by word, then `exact` byte by byte; `b.len()` when there is none.
#[inline]
fn find(
    b: &[u8],
    mut at: usize,
    hit: impl Fn(u64) -> bool,
    exact: impl Fn(&[u8], usize) -> bool,
) -> usize {
    while at + 8 <= b.len() {
        if hit(word(b, at)) {
            for i in at..at + 8 {
                if exact(b, i) {
                    return i;
                }
            }
        }
        at += 8;
    }
    (at..b.len()).find(|&i| exact(b, i)).unwrap_or(b.len())
}

/// The first byte at or after `from` that a JSON string must escape: `"`, `\` or a C0 control.
pub fn json_escape(b: &[u8], from: usize) -> usize {
    let from = from.min(b.len());
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY (this closure and the one in has_space_or_control): SSE2 is part of the
        // x86-64 baseline.
        let flags = |v: __m128i| unsafe {
            let ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let slash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            _mm_movemask_epi8(_mm_or_si128(ctl, _mm_or_si128(quote, slash))) as u32
        };
        match find_sse2(b, from, flags, |_, _| true) {
            Ok(i) => i,
            // Under 16 bytes: a byte at a time, by table.
            Err(at) => (at..b.len())
                .find(|&i| ESCAPE[b[i] as usize])
                .unwrap_or(b.len()),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    json_escape_swar(b, from)
}

/// The bytes a JSON string must escape.
const ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// json_escape, a word at a time (other CPUs; tested everywhere).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn json_escape_swar(b: &[u8], from: usize) -> usize {
    find(
        b,
        from,
        |w| has_less(w, 0x20) || has_byte(w, b'"') || has_byte(w, b'\\'),
        |b, i| ESCAPE[b[i] as usize],
    )
}

/// `b` as text when it is UTF-8. ASCII, by far the most common, is recognised sixteen bytes
/// at a time; anything else goes through the full check.
pub fn utf8(b: &[u8]) -> Result<&str, std::str::Utf8Error> {
    #[cfg(target_arch = "x86_64")]
    let ascii = {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of the x86-64 baseline. The flag of a byte is its high bit.
        let flags = |v: __m128i| unsafe { _mm_movemask_epi8(v) as u32 };
        match find_sse2(b, 0, flags, |_, _| true) {
            Ok(_) => false,
            Err(at) => find(b, at, |w| w & HIGHS != 0, |b, i| b[i] >= 0x80) == b.len(),
        }
    };
    #[cfg(not(target_arch = "x86_64"))]
    let ascii = b.is_ascii();
    if ascii {
        // SAFETY: ASCII is UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(b) })
    } else {
        std::str::from_utf8(b)
    }
}

/// Whether `b` (UTF-8) holds a space or a control character: C0, DEL or C1 (U+0080..U+009F,
/// encoded as 0xC2 0x80..0x9F).
pub fn has_space_or_control(b: &[u8]) -> bool {
    let exact = |b: &[u8], i: usize| {
        b[i] <= b' ' || b[i] == 0x7f || (b[i] == 0xc2 && matches!(b.get(i + 1), Some(0x80..=0x9f)))
    };
    #[cfg(target_arch = "x86_64")]
    let from = {
        use std::arch::x86_64::*;
        let flags = |v: __m128i| unsafe {
            let low = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x20)), v);
            let del = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f));
            let c2 = _mm_cmpeq_epi8(v, _mm_set1_epi8(0xc2u8 as i8));
            _mm_movemask_epi8(_mm_or_si128(low, _mm_or_si128(del, c2))) as u32
        };
        match find_sse2(b, 0, flags, exact) {
            Ok(_) => return true,
            Err(tail) => tail,
        }
    };
    #[cfg(not(target_arch = "x86_64"))]
    let from = 0;
    find(
        b,
        from,
        |w| has_less(w, 0x21) || has_byte(w, 0x7f) || has_byte(w, 0xc2),
        exact,
    ) < b.len()
}

/// Case-insensitive ASCII equality where `lower` is already lowercase: letters compare
/// without case, every other byte exactly.
pub fn eq_ignore_case(input: &[u8], lower: &[u8]) -> bool {
    if input.len() != lower.len() {
        return false;
    }
    let mut at = 0;
    while at + 8 <= input.len() {
        if to_lower(word(input, at)) != word(lower, at) {
            return false;
        }
        at += 8;
    }
    input[at..]
        .iter()
        .zip(&lower[at..])
        .all(|(a, b)| a.to_ascii_lowercase() == *b)
}

/// ASCII A-Z to a-z in each byte of a word; every other byte unchanged.
#[inline]
fn to_lower(x: u64) -> u64 {
    let heptets = x & !HIGHS;
    let ge_a = heptets.wrapping_add(ONES * (0x80 - b'A') as u64);
    let gt_z = heptets.wrapping_add(ONES * (0x7f - b'Z') as u64);
    let upper = (ge_a ^ gt_z) & !x & HIGHS;
    x | (upper >> 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slow_escape(b: &[u8], from: usize) -> usize {
        (from..b.len())
            .find(|&i| b[i] < 0x20 || b[i] == b'"' || b[i] == b'\\')
            .unwrap_or(b.len())
    }

    #[test]
    fn scans_agree_with_byte_loops() {
        let alphabet: &[u8] = b"aZ09-_ /\"\\\x00\x1f\x20\x21\x7f\x80\xc2\x9f\xa0\xff";
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..40 {
            for _ in 0..400 {
                let s: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        if seed % 3 == 0 {
                            alphabet[(seed >> 8) as usize % alphabet.len()]
                        } else {
                            b'a' + (seed >> 16) as u8 % 26
                        }
                    })
                    .collect();
                for from in [0, len / 2, len] {
                    assert_eq!(
                        json_escape(&s, from),
                        slow_escape(&s, from),
                        "{s:?} from {from}"
                    );
                    assert_eq!(
                        json_escape_swar(&s, from),
                        slow_escape(&s, from),
                        "{s:?} from {from}"
                    );
                }
                let slow = s.iter().enumerate().any(|(i, &c)| {
                    c <= b' '
                        || c == 0x7f
                        || (c == 0xc2 && matches!(s.get(i + 1), Some(0x80..=0x9f)))
                });
                assert_eq!(has_space_or_control(&s), slow, "{s:?}");
                assert_eq!(utf8(&s).ok(), std::str::from_utf8(&s).ok(), "{s:?}");
                let lower = s.to_ascii_lowercase();
                assert!(eq_ignore_case(&s, &lower), "{s:?}");
                let mut other = lower.clone();
                if let Some(c) = other.last_mut() {
                    *c ^= 0x01;
                    assert_eq!(
                        eq_ignore_case(&s, &other),
                        s.to_ascii_lowercase() == other,
                        "{s:?}"
                    );
                }
            }
        }
        // A byte that only differs in bit 0x20 from a non-letter must not match.
        assert!(!eq_ignore_case(b"user\ragent-user", b"user-agent-user"));
        assert!(!eq_ignore_case(b"x\rforwarded", b"x-forwarded"));
        assert!(eq_ignore_case(b"X-FORWARDED-FOR", b"x-forwarded-for"));
    }
}
