//! Page views, events and session keep-alives: what they hold, how they are checked
//! (`prepare`), the client address (`client_ip`), the request headers they come from
//! (`headers`), and the JSON the API takes (`json`). The blocking and the queued paths both
//! build their request bodies here.

pub(crate) mod client_ip;
pub(crate) mod headers;
mod json;
mod prepare;

pub(crate) use prepare::Rules;

use crate::error::{truncate, Error, Result};
use std::borrow::Cow;

/// Longest string field accepted: larger than any real request header.
pub(crate) const MAX_FIELD_BYTES: usize = 8 * 1024;
/// Tag and metadata limits from the Pirsch documentation.
pub(crate) const MAX_TAGS: usize = 20;
pub(crate) const MAX_TAG_CHARS: usize = 50;

/// A page view as the caller describes it. Strings are borrowed where possible; `None` or an
/// empty string means "not sent".
#[derive(Clone, Debug, Default)]
pub struct Hit<'a> {
    pub url: Option<Cow<'a, str>>,
    /// The visitor's address (the peer that connected; `Rules::prepare` resolves the visitor's address from it).
    pub ip: Option<Cow<'a, str>>,
    pub user_agent: Option<Cow<'a, str>>,
    pub accept_language: Option<Cow<'a, str>>,
    pub sec_ch_ua: Option<Cow<'a, str>>,
    pub sec_ch_ua_mobile: Option<Cow<'a, str>>,
    pub sec_ch_ua_platform: Option<Cow<'a, str>>,
    pub sec_ch_ua_platform_version: Option<Cow<'a, str>>,
    pub sec_ch_width: Option<Cow<'a, str>>,
    pub sec_ch_viewport_width: Option<Cow<'a, str>>,
    pub title: Option<Cow<'a, str>>,
    pub referrer: Option<Cow<'a, str>>,
    /// Legacy proxy fields, sent only with `forward_proxy_headers`.
    pub cf_connecting_ip: Option<Cow<'a, str>>,
    pub x_forwarded_for: Option<Cow<'a, str>>,
    pub forwarded: Option<Cow<'a, str>>,
    pub x_real_ip: Option<Cow<'a, str>>,
    pub screen_width: i32,
    pub screen_height: i32,
    pub disable_bot_filter: bool,
    pub tags: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// The caller's own time (RFC 3339 or epoch milliseconds); None: now.
    pub time: Option<Cow<'a, str>>,
}

/// What makes a page view an event.
#[derive(Clone, Debug, Default)]
pub struct Event<'a> {
    pub name: Option<Cow<'a, str>>,
    pub duration_seconds: u32,
    pub meta: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub non_interactive: bool,
}

/// The three kinds of item the API takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Hit,
    Event,
    Session,
}

impl Kind {
    pub fn path(self) -> &'static str {
        match self {
            Kind::Hit => "/api/v1/hit",
            Kind::Event => "/api/v1/event",
            Kind::Session => "/api/v1/session",
        }
    }

    pub fn batch_path(self) -> &'static str {
        match self {
            Kind::Hit => "/api/v1/hit/batch",
            Kind::Event => "/api/v1/event/batch",
            Kind::Session => "/api/v1/session/batch",
        }
    }

    /// How the kind is called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Hit => "page view",
            Kind::Event => "event",
            Kind::Session => "session keep-alive",
        }
    }
}

pub(crate) fn present<'b>(v: &'b Option<Cow<'_, str>>) -> Option<&'b str> {
    v.as_deref().filter(|s| !s.is_empty())
}

fn check_len(field: &str, v: Option<&str>) -> Result<()> {
    match v {
        Some(s) if s.len() > MAX_FIELD_BYTES => Err(Error::invalid(format!(
            "{field} is {} bytes long; at most {MAX_FIELD_BYTES} bytes are accepted",
            s.len()
        ))),
        _ => Ok(()),
    }
}

/// Whether the authority part of an http(s) URL (after `//`) is plain enough to send as it
/// is: a lowercase ASCII host name or IPv4 address, maybe a port of at most 5 digits. Anything
/// else (user:password@, upper case, non-ASCII, IPv6, odd characters) goes to the full parser.
fn plain_authority(authority: &[u8]) -> bool {
    let (host, port) = match authority.iter().rposition(|&b| b == b':') {
        Some(i) => (&authority[..i], Some(&authority[i + 1..])),
        None => (authority, None),
    };
    if host.is_empty() || host[0] == b'.' || host[0] == b'-' {
        return false;
    }
    if !host
        .iter()
        .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return false;
    }
    // An xn-- label is punycode for the full parser to check (found by fuzzing: the fast path
    // sent https://xn--a.example/, which the WHATWG parser refuses). Rare: only hosts with a
    // hyphen are looked at.
    if host.contains(&b'-') && host.split(|&b| b == b'.').any(|l| l.starts_with(b"xn--")) {
        return false;
    }
    // The last label that is not empty (a host may end in dots).
    let Some(end) = host.iter().rposition(|&b| b != b'.') else {
        return false;
    };
    let last = host[..end]
        .iter()
        .rposition(|&b| b == b'.')
        .map_or(0, |i| i + 1);
    // A host whose last label starts with a digit may be an IPv4 address to the parser
    // (0x7f.1, 1.2.3, 1.2.3.999): only a dotted quad as Rust writes it stays plain.
    if host[last].is_ascii_digit()
        && std::str::from_utf8(host)
            .ok()
            .and_then(|h| h.parse::<std::net::Ipv4Addr>().ok())
            .is_none()
    {
        return false;
    }
    match port {
        None => true,
        Some(p) => {
            !p.is_empty()
                && p.len() <= 5
                && p.iter().all(u8::is_ascii_digit)
                && p.iter().fold(0u32, |n, &d| n * 10 + (d - b'0') as u32) <= 65535
        }
    }
}

/// Checks that `url` is an absolute http(s) URL with a valid host (and port), and returns
/// the URL to send when it must differ from what was given: a user name or password is
/// removed (never sent: a privacy leak), a non-ASCII host is IDNA-encoded, the host is
/// lower-cased, a default port dropped. Plain URLs (the common case) are checked by a fast
/// scan of the host; the rest by the WHATWG URL parser.
pub fn check_url(url: &str) -> Result<Option<String>> {
    let b = url.as_bytes();
    let rest = if b.len() >= 8 && b[..8].eq_ignore_ascii_case(b"https://") {
        &b[8..]
    } else if b.len() >= 7 && b[..7].eq_ignore_ascii_case(b"http://") {
        &b[7..]
    } else {
        return Err(Error::invalid(format!(
            "url {:?} is not an absolute http(s) URL; give the full URL of the page, e.g. https://example.com/path",
            truncate(url, 100)
        )));
    };
    if crate::scan::has_space_or_control(b) {
        return Err(Error::invalid(
            "url contains spaces or control characters; percent-encode them",
        ));
    }
    let end = rest
        .iter()
        .position(|&c| matches!(c, b'/' | b'?' | b'#' | b'\\'))
        .unwrap_or(rest.len());
    if end == 0 {
        return Err(Error::invalid(format!(
            "url {:?} has no host",
            truncate(url, 100)
        )));
    }
    if plain_authority(&rest[..end]) && b[..4].eq(b"http") {
        return Ok(None);
    }
    let mut parsed = url::Url::parse(url).map_err(|e| {
        Error::invalid(format!(
            "url {:?} is not a valid URL ({e}); give the full URL of the page, e.g. https://example.com/path",
            truncate(url, 100)
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid(format!(
            "url {:?} has no host",
            truncate(url, 100)
        )));
    }
    // Credentials in a page's URL are never sent on.
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    let out: String = parsed.into();
    Ok((out != url).then_some(out))
}

fn check_pairs(field: &str, pairs: &[(Cow<'_, str>, Cow<'_, str>)]) -> Result<()> {
    if pairs.len() > MAX_TAGS {
        return Err(Error::invalid(format!(
            "{field} has {} entries; the API takes at most {MAX_TAGS}",
            pairs.len()
        )));
    }
    for (i, (k, v)) in pairs.iter().enumerate() {
        if k.is_empty() {
            return Err(Error::invalid(format!(
                "{field}[{i}] has an empty key; every key needs a name"
            )));
        }
        if k.chars().count() > MAX_TAG_CHARS {
            return Err(Error::invalid(format!(
                "{field} key {:?} is longer than {MAX_TAG_CHARS} characters",
                truncate(k, 60)
            )));
        }
        if v.chars().count() > MAX_TAG_CHARS {
            return Err(Error::invalid(format!(
                "{field} value of {k:?} is longer than {MAX_TAG_CHARS} characters"
            )));
        }
        if pairs[..i].iter().any(|(k2, _)| k2 == k) {
            return Err(Error::invalid(format!(
                "{field} key {k:?} is given twice; keys must be unique"
            )));
        }
    }
    Ok(())
}

impl<'a> Hit<'a> {
    /// Checks everything the API would refuse, so that a bad item never costs a request.
    /// Returns the URL to send instead of `url` when it had to be normalised (see check_url).
    pub fn validate(&self, kind: Kind) -> Result<Option<String>> {
        let mut url = None;
        if kind != Kind::Session {
            match present(&self.url) {
                None => {
                    return Err(Error::invalid(format!(
                        "url is required for a {}; set hit->url",
                        kind.noun()
                    )))
                }
                Some(u) => {
                    check_len("url", Some(u))?;
                    url = check_url(u)?;
                }
            }
        } else if let Some(u) = present(&self.url) {
            check_len("url", Some(u))?;
        }
        // The address itself is checked where it is resolved (`Core::client_ip`).
        if present(&self.ip).is_none() {
            return Err(Error::invalid(format!(
                "ip is required for a {}; set hit->ip to the visitor's address",
                kind.noun()
            )));
        }
        for (name, v) in self.string_fields() {
            check_len(name, v)?;
        }
        if self.screen_width < 0 || self.screen_height < 0 {
            return Err(Error::invalid(
                "screen_width and screen_height must not be negative",
            ));
        }
        check_pairs("tags", &self.tags)?;
        Ok(url)
    }

    fn string_fields(&self) -> [(&'static str, Option<&str>); 14] {
        [
            ("user_agent", present(&self.user_agent)),
            ("accept_language", present(&self.accept_language)),
            ("sec_ch_ua", present(&self.sec_ch_ua)),
            ("sec_ch_ua_mobile", present(&self.sec_ch_ua_mobile)),
            ("sec_ch_ua_platform", present(&self.sec_ch_ua_platform)),
            (
                "sec_ch_ua_platform_version",
                present(&self.sec_ch_ua_platform_version),
            ),
            ("sec_ch_width", present(&self.sec_ch_width)),
            (
                "sec_ch_viewport_width",
                present(&self.sec_ch_viewport_width),
            ),
            ("title", present(&self.title)),
            ("referrer", present(&self.referrer)),
            ("cf_connecting_ip", present(&self.cf_connecting_ip)),
            ("x_forwarded_for", present(&self.x_forwarded_for)),
            ("forwarded", present(&self.forwarded)),
            ("x_real_ip", present(&self.x_real_ip)),
        ]
    }
}

impl<'a> Event<'a> {
    pub fn validate(&self) -> Result<()> {
        match present(&self.name) {
            None => return Err(Error::invalid("event name is required; set ev->name")),
            Some(n) => check_len("event name", Some(n))?,
        }
        check_pairs("event meta", &self.meta)
    }
}

#[cfg(test)]
mod tests {
    use super::json::*;
    use super::*;

    fn hit() -> Hit<'static> {
        Hit {
            url: Some("https://example.com/a?b=\"c\"".into()),
            ip: Some("10.1.2.3".into()),
            user_agent: Some("UA".into()),
            screen_width: 1920,
            tags: vec![("k\"".into(), "v\n".into()), ("a".into(), "".into())],
            ..Default::default()
        }
    }

    #[test]
    fn json_strings_match_serde() {
        for s in [
            "",
            "plain",
            "q\"uote",
            "back\\slash",
            "\n\r\t\u{1}\u{1f}\u{7f}",
            "é ü 日本 😀",
            "a\"b\\c\u{8}d\u{c}",
            "</script>",
        ] {
            let mut out = Vec::new();
            write_json_string(&mut out, s);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(s)
                    .unwrap()
                    .replace("\\b", "\\u0008")
                    .replace("\\f", "\\u000c")
            );
        }
    }

    #[test]
    fn json_is_valid_and_complete() {
        let mut out = Vec::new();
        let ev = Event {
            name: Some("signup".into()),
            duration_seconds: 3,
            meta: vec![("plan".into(), "pro".into())],
            non_interactive: true,
        };
        write_item(
            &mut out,
            Kind::Event,
            &hit(),
            Some(&ev),
            BodyOptions {
                time: Some("2026-11-26T14:15:32.123Z"),
                ..Default::default()
            },
        );
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["url"], "https://example.com/a?b=\"c\"");
        assert_eq!(v["screen_width"], 1920);
        assert!(v.get("screen_height").is_none());
        assert_eq!(v["tags"]["k\""], "v\n");
        assert_eq!(v["tags"]["a"], "");
        assert_eq!(v["event_name"], "signup");
        assert_eq!(v["event_duration"], 3);
        assert_eq!(v["event_meta"]["plan"], "pro");
        assert_eq!(v["non_interactive"], true);
        assert_eq!(v["time"], "2026-11-26T14:15:32.123Z");
    }

    #[test]
    fn validation_names_the_field() {
        let mut h = hit();
        h.url = None;
        assert!(h
            .validate(Kind::Hit)
            .unwrap_err()
            .message
            .contains("url is required"));
        assert!(h.validate(Kind::Session).is_ok());
        let mut h = hit();
        h.url = Some("example.com/x".into());
        assert!(h
            .validate(Kind::Hit)
            .unwrap_err()
            .message
            .contains("absolute"));
        let mut h = hit();
        h.tags.push(("a".into(), "x".into()));
        assert!(h.validate(Kind::Hit).unwrap_err().message.contains("twice"));
        let mut h = hit();
        h.title = Some("x".repeat(MAX_FIELD_BYTES + 1).into());
        assert!(h.validate(Kind::Hit).unwrap_err().message.contains("title"));
    }
}

#[cfg(test)]
mod url_tests {
    use super::check_url;

    #[test]
    fn urls_are_parsed_not_just_checked() {
        // Plain URLs pass as they are (the fast path).
        for ok in [
            "https://example.com/",
            "http://example.test/blog/2026/11/x?utm_source=newsletter",
            "https://example.com:8443/a",
            "https://sub-1.example.co.uk",
            "https://192.0.2.1/x",
            "https://example.com./",
        ] {
            assert_eq!(check_url(ok).unwrap(), None, "{ok}");
        }
        // Found by fuzz/ (from_headers): the fast path sent hosts the full parser refuses.
        for bad in [
            "https://1.2.3.999/",
            "https://1.2.3.256:8080/x",
            "https://xn--a.example/",
            "http://a.xn--a/",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        // ... or changes: numbers that are IPv4 addresses to it are sent as it writes them.
        assert_eq!(
            check_url("https://0x7f.1/x").unwrap().as_deref(),
            Some("https://127.0.0.1/x")
        );
        assert_eq!(
            check_url("http://1.2.3/").unwrap().as_deref(),
            Some("http://1.2.0.3/")
        );
        assert_eq!(check_url("https://a1.example.com2/").unwrap(), None);
        // Found by a probe: an invalid port, credentials sent on, a non-ASCII host unencoded.
        for bad in [
            "https://example.com:abc/",
            "https://example.com:99999/",
            "https://exa mple.com/",
            "https://[::1/",
            "https://:80/",
            "https:///path",
            "ftp://example.com/",
            "example.com/x",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        let fixed = [
            (
                "https://user:pw@example.com/a?b=1",
                "https://example.com/a?b=1",
            ),
            ("https://user@example.com/", "https://example.com/"),
            (
                "https://bücher.example/straße",
                "https://xn--bcher-kva.example/stra%C3%9Fe",
            ),
            ("https://EXAMPLE.com/Path", "https://example.com/Path"),
            // Found by fuzz/from_headers: a last label of digits behind dots is the parser's call.
            ("https://1..", "https://1../"),
            ("HTTPS://example.com:443/", "https://example.com/"),
            (
                "https://[2001:DB8::1]:8443/x",
                "https://[2001:db8::1]:8443/x",
            ),
        ];
        for (given, sent) in fixed {
            assert_eq!(check_url(given).unwrap().as_deref(), Some(sent), "{given}");
        }
    }
}
