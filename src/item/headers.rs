//! Which request headers a page view needs, and the referrer a URL carries in its query.

/// A request header that libpirsch reads. Everything else (cookies above all) is ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderField {
    UserAgent,
    AcceptLanguage,
    SecChUa,
    SecChUaMobile,
    SecChUaPlatform,
    SecChUaPlatformVersion,
    SecChWidth,
    SecChViewportWidth,
    Referer,
    CfConnectingIp,
    XForwardedFor,
    Forwarded,
    XRealIp,
}

impl HeaderField {
    /// How many there are (the enum's values are 0..COUNT).
    pub(crate) const COUNT: usize = 13;

    /// Matches a header name case-insensitively (surrounding whitespace ignored). The
    /// wanted names are told apart by length and first letter, so at most one comparison
    /// is made.
    pub fn from_name(name: &[u8]) -> Option<HeaderField> {
        let name = trim_ascii(name);
        let (want, field) = match (name.len(), name.first()? | 0x20) {
            (10, b'u') => ("user-agent", HeaderField::UserAgent),
            (15, b'a') => ("accept-language", HeaderField::AcceptLanguage),
            (9, b's') => ("sec-ch-ua", HeaderField::SecChUa),
            (16, b's') => ("sec-ch-ua-mobile", HeaderField::SecChUaMobile),
            (18, b's') => ("sec-ch-ua-platform", HeaderField::SecChUaPlatform),
            (26, b's') => (
                "sec-ch-ua-platform-version",
                HeaderField::SecChUaPlatformVersion,
            ),
            (12, b's') => ("sec-ch-width", HeaderField::SecChWidth),
            (21, b's') => ("sec-ch-viewport-width", HeaderField::SecChViewportWidth),
            (7, b'r') => ("referer", HeaderField::Referer),
            (16, b'c') => ("cf-connecting-ip", HeaderField::CfConnectingIp),
            (15, b'x') => ("x-forwarded-for", HeaderField::XForwardedFor),
            (9, b'f') => ("forwarded", HeaderField::Forwarded),
            (9, b'x') => ("x-real-ip", HeaderField::XRealIp),
            _ => return None,
        };
        crate::scan::eq_ignore_case(name, want.as_bytes()).then_some(field)
    }

    /// from_name for a NUL-terminated name: most request headers are ruled out by their
    /// first byte, before the name is measured.
    ///
    /// # Safety
    /// `name` points to a NUL-terminated string.
    #[inline]
    pub unsafe fn from_c_name(name: *const std::ffi::c_char) -> Option<HeaderField> {
        let first = *(name as *const u8);
        // Every wanted name starts with one of these letters (or padding).
        if matches!(first | 0x20, b'u' | b'a' | b's' | b'r' | b'c' | b'x' | b'f')
            || first.is_ascii_whitespace()
        {
            HeaderField::from_name(std::ffi::CStr::from_ptr(name).to_bytes())
        } else {
            None
        }
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    match (b.first(), b.last()) {
        (Some(f), Some(l)) if !f.is_ascii_whitespace() && !l.is_ascii_whitespace() => b,
        _ => b.trim_ascii(),
    }
}

/// Query parameters that carry a referrer, in order of preference.
pub const REFERRER_PARAMS: [&str; 5] = ["ref", "referer", "referrer", "source", "utm_source"];

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `application/x-www-form-urlencoded` text ('+' is a space, %XX a byte).
pub fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// The referrer a URL's query names (`?ref=...`, `utm_source=...`, ...), decoded.
pub fn referrer_from_url(url: &str) -> Option<String> {
    let query = url.split('#').next()?.split_once('?')?.1;
    let mut best: Option<(usize, String)> = None;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = String::from_utf8_lossy(&percent_decode(k)).to_ascii_lowercase();
        if let Some(rank) = REFERRER_PARAMS.iter().position(|p| *p == key) {
            let value = String::from_utf8_lossy(&percent_decode(v))
                .trim()
                .to_string();
            if !value.is_empty() && best.as_ref().map(|(r, _)| rank < *r).unwrap_or(true) {
                best = Some((rank, value));
            }
        }
    }
    best.map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_case_insensitively() {
        assert_eq!(
            HeaderField::from_name(b"USER-agent"),
            Some(HeaderField::UserAgent)
        );
        assert_eq!(
            HeaderField::from_name(b"Sec-CH-UA-Platform-Version"),
            Some(HeaderField::SecChUaPlatformVersion)
        );
        assert_eq!(HeaderField::from_name(b"Cookie"), None);
        use HeaderField as H;
        let all = [
            ("user-agent", H::UserAgent),
            ("accept-language", H::AcceptLanguage),
            ("sec-ch-ua", H::SecChUa),
            ("sec-ch-ua-mobile", H::SecChUaMobile),
            ("sec-ch-ua-platform", H::SecChUaPlatform),
            ("sec-ch-ua-platform-version", H::SecChUaPlatformVersion),
            ("sec-ch-width", H::SecChWidth),
            ("sec-ch-viewport-width", H::SecChViewportWidth),
            ("referer", H::Referer),
            ("cf-connecting-ip", H::CfConnectingIp),
            ("x-forwarded-for", H::XForwardedFor),
            ("forwarded", H::Forwarded),
            ("x-real-ip", H::XRealIp),
        ];
        for (i, (_, f)) in all.iter().enumerate() {
            assert!(!all[..i].iter().any(|(_, g)| g == f));
            assert!((*f as usize) < HeaderField::COUNT);
        }
        assert_eq!(
            HeaderField::from_name(b"x-forwarded-for "),
            Some(HeaderField::XForwardedFor)
        );
        // Both matchers, on every wanted name in other case and padded, and on near misses.
        let mut cases: Vec<(String, Option<HeaderField>)> = Vec::new();
        for (n, f) in all {
            cases.push((n.to_string(), Some(f)));
            cases.push((n.to_uppercase(), Some(f)));
            cases.push((format!(" {n}\t"), Some(f)));
            // Padding that makes the length another wanted name's.
            for pad in 1..=12 {
                cases.push((format!("{n}{}", " ".repeat(pad)), Some(f)));
            }
            cases.push((n[..n.len() - 1].to_string(), None));
            cases.push((format!("{n}x"), None));
            cases.push((format!("{n} x"), None));
        }
        for n in [
            "",
            " ",
            "Accept",
            "Cookie",
            "Connection",
            "sec-ch",
            "x-",
            "Host",
            "\u{e9}",
        ] {
            cases.push((n.to_string(), None));
        }
        for (n, want) in &cases {
            let c = std::ffi::CString::new(n.as_str()).unwrap();
            assert_eq!(HeaderField::from_name(n.as_bytes()), *want, "{n:?}");
            assert_eq!(
                unsafe { HeaderField::from_c_name(c.as_ptr()) },
                *want,
                "{n:?}"
            );
        }
    }

    #[test]
    fn referrer_from_the_query() {
        assert_eq!(
            referrer_from_url("https://a.example/?utm_source=news&ref=Hacker+News").as_deref(),
            Some("Hacker News")
        );
        assert_eq!(
            referrer_from_url("https://a.example/?source=tw%C3%BCtter#ref=x").as_deref(),
            Some("twütter")
        );
        assert_eq!(
            referrer_from_url("https://a.example/?REF=x%2"),
            Some("x%2".to_string())
        );
        assert_eq!(referrer_from_url("https://a.example/?q=1"), None);
        assert_eq!(referrer_from_url("https://a.example/?ref="), None);
        assert_eq!(referrer_from_url("https://a.example/"), None);
    }
}
