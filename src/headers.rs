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
    /// Matches a header name case-insensitively.
    pub fn from_name(name: &[u8]) -> Option<HeaderField> {
        const NAMES: [(&str, HeaderField); 13] = [
            ("user-agent", HeaderField::UserAgent),
            ("accept-language", HeaderField::AcceptLanguage),
            ("sec-ch-ua", HeaderField::SecChUa),
            ("sec-ch-ua-mobile", HeaderField::SecChUaMobile),
            ("sec-ch-ua-platform", HeaderField::SecChUaPlatform),
            (
                "sec-ch-ua-platform-version",
                HeaderField::SecChUaPlatformVersion,
            ),
            ("sec-ch-width", HeaderField::SecChWidth),
            ("sec-ch-viewport-width", HeaderField::SecChViewportWidth),
            ("referer", HeaderField::Referer),
            ("cf-connecting-ip", HeaderField::CfConnectingIp),
            ("x-forwarded-for", HeaderField::XForwardedFor),
            ("forwarded", HeaderField::Forwarded),
            ("x-real-ip", HeaderField::XRealIp),
        ];
        let name = trim_ascii(name);
        // eq_ignore_case compares lengths first: most names are ruled out by that alone.
        NAMES
            .iter()
            .find(|(n, _)| crate::scan::eq_ignore_case(name, n.as_bytes()))
            .map(|(_, f)| *f)
    }

    /// Whether a header name that starts with byte `b` can be one of these (or may be
    /// padded with whitespace).
    pub fn may_start_with(b: u8) -> bool {
        matches!(b | 0x20, b'u' | b'a' | b's' | b'r' | b'c' | b'x' | b'f')
            || b.is_ascii_whitespace()
    }

    /// Headers that may legitimately arrive several times and are joined with ", ".
    pub fn is_list(self) -> bool {
        matches!(self, HeaderField::XForwardedFor | HeaderField::Forwarded)
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
        let all = [
            "user-agent",
            "accept-language",
            "sec-ch-ua",
            "sec-ch-ua-mobile",
            "sec-ch-ua-platform",
            "sec-ch-ua-platform-version",
            "sec-ch-width",
            "sec-ch-viewport-width",
            "referer",
            "cf-connecting-ip",
            "x-forwarded-for",
            "forwarded",
            "x-real-ip",
        ];
        let found: Vec<_> = all
            .iter()
            .map(|n| HeaderField::from_name(n.to_uppercase().as_bytes()).expect(n))
            .collect();
        for n in all {
            assert!(
                HeaderField::may_start_with(n.as_bytes()[0])
                    && HeaderField::may_start_with(n.to_uppercase().as_bytes()[0]),
                "{n}"
            );
        }
        assert!(!HeaderField::may_start_with(b'H') && !HeaderField::may_start_with(0));
        for (i, f) in found.iter().enumerate() {
            assert!(!found[..i].contains(f), "{} matched twice", all[i]);
        }
        assert_eq!(
            HeaderField::from_name(b"x-forwarded-for "),
            Some(HeaderField::XForwardedFor)
        );
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
