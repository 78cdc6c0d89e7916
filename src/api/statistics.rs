//! The statistics endpoints: which path each statistic has, what it needs, and the query a
//! filter becomes (checked, percent-encoded, in a fixed order). No I/O here.

use crate::error::{Error, Result};
use std::fmt::Write as _;

/// What a statistic needs beyond the domain id.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Needs {
    /// from and to.
    Dates,
    /// from, to and at least one event.
    Event,
    /// from, to, an event and an event meta key.
    EventMeta,
    /// from, to and funnel_id.
    Funnel,
    /// neither dates nor anything else (active visitors use `start`).
    Nothing,
}

/// Every statistic, in the order of the PIRSCH_STATISTIC_* values: its name (the constant's
/// suffix), its path under /api/v1/ and what it needs.
const STATISTICS: [(&str, &str, Needs); 35] = [
    ("VISITORS", "statistics/visitor", Needs::Dates),
    ("TOTAL", "statistics/total", Needs::Dates),
    ("PAGES", "statistics/page", Needs::Dates),
    ("ENTRY_PAGES", "statistics/page/entry", Needs::Dates),
    ("EXIT_PAGES", "statistics/page/exit", Needs::Dates),
    (
        "SESSION_DURATION",
        "statistics/duration/session",
        Needs::Dates,
    ),
    ("TIME_ON_PAGE", "statistics/duration/page", Needs::Dates),
    ("UTM_SOURCE", "statistics/utm/source", Needs::Dates),
    ("UTM_MEDIUM", "statistics/utm/medium", Needs::Dates),
    ("UTM_CAMPAIGN", "statistics/utm/campaign", Needs::Dates),
    ("UTM_CONTENT", "statistics/utm/content", Needs::Dates),
    ("UTM_TERM", "statistics/utm/term", Needs::Dates),
    ("CONVERSION_GOALS", "statistics/goals", Needs::Dates),
    ("EVENTS", "statistics/events", Needs::Dates),
    ("EVENT_METADATA", "statistics/event/meta", Needs::EventMeta),
    ("LIST_EVENTS", "statistics/event/list", Needs::Dates),
    ("EVENT_PAGES", "statistics/event/page", Needs::Event),
    ("FUNNEL", "statistics/funnel", Needs::Funnel),
    ("GROWTH", "statistics/growth", Needs::Dates),
    ("ACTIVE_VISITORS", "statistics/active", Needs::Nothing),
    ("TIME_OF_DAY", "statistics/hours", Needs::Dates),
    ("LANGUAGES", "statistics/language", Needs::Dates),
    ("REFERRER", "statistics/referrer", Needs::Dates),
    ("KEYWORDS", "statistics/keywords", Needs::Dates),
    ("OS", "statistics/os", Needs::Dates),
    ("OS_VERSIONS", "statistics/os/version", Needs::Dates),
    ("BROWSER", "statistics/browser", Needs::Dates),
    (
        "BROWSER_VERSIONS",
        "statistics/browser/version",
        Needs::Dates,
    ),
    ("PLATFORM", "statistics/platform", Needs::Dates),
    ("SCREEN", "statistics/screen", Needs::Dates),
    ("COUNTRY", "statistics/country", Needs::Dates),
    ("REGION", "statistics/region", Needs::Dates),
    ("CITY", "statistics/city", Needs::Dates),
    ("TAG_KEYS", "statistics/tags", Needs::Dates),
    ("TAGS", "statistics/tag/details", Needs::Dates),
];

/// How many statistics there are (PIRSCH_STATISTIC_COUNT).
pub(crate) const COUNT: usize = STATISTICS.len();

/// The list filters, in the order they are sent; each value repeats the parameter.
pub(crate) const LISTS: [&str; 21] = [
    "path",
    "pattern",
    "entry_path",
    "exit_path",
    "event",
    "event_meta_key",
    "language",
    "country",
    "region",
    "city",
    "referrer",
    "referrer_name",
    "os",
    "browser",
    "screen_class",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "tag",
];

/// A statistics filter as the caller gave it (checked by `path`).
#[derive(Default)]
pub(crate) struct Filter<'a> {
    pub domain_id: Option<&'a str>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub tz: Option<&'a str>,
    pub scale: Option<&'a str>,
    pub start: u32,
    /// The values of each of `LISTS`, in that order.
    pub lists: [Vec<&'a str>; 21],
    pub platform: Option<&'a str>,
    pub event_meta: Vec<(&'a str, &'a str)>,
    pub tags: Vec<(&'a str, &'a str)>,
    pub custom_metric_key: Option<&'a str>,
    pub custom_metric_type: Option<&'a str>,
    pub include_avg_time_on_page: bool,
    pub offset: u32,
    pub limit: u32,
    pub sort: Option<&'a str>,
    pub direction: Option<&'a str>,
    pub search: Option<&'a str>,
    pub funnel_id: Option<&'a str>,
}

/// The name of a statistic ("VISITORS"), or None for a value out of range.
pub(crate) fn name(which: i32) -> Option<&'static str> {
    usize::try_from(which)
        .ok()
        .and_then(|i| STATISTICS.get(i))
        .map(|s| s.0)
}

/// Appends `s` percent-encoded: RFC 3986 unreserved characters as they are, every other
/// byte as %XX.
fn encode(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn given(v: Option<&str>) -> Option<&str> {
    v.filter(|s| !s.is_empty())
}

/// A date YYYY-MM-DD with a month and a day that exist in some year.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) || !digits(5..7) {
        return false;
    }
    if !digits(8..10) {
        return false;
    }
    let month: u32 = s[5..7].parse().unwrap_or(0);
    let day: u32 = s[8..10].parse().unwrap_or(0);
    let longest = match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => 0,
    };
    (1..=longest).contains(&day)
}

fn one_of(what: &str, v: Option<&str>, allowed: &[&str]) -> Result<()> {
    match given(v) {
        Some(v) if !allowed.contains(&v) => Err(Error::invalid(format!(
            "filter->{what} {:?} is not one of {}",
            crate::error::truncate(v, 40),
            allowed.join(", ")
        ))),
        _ => Ok(()),
    }
}

/// The path and query of statistic `which` for `f`: "/api/v1/statistics/...?id=...".
pub(crate) fn path(which: i32, f: &Filter<'_>) -> Result<String> {
    let (_, endpoint, needs) = usize::try_from(which)
        .ok()
        .and_then(|i| STATISTICS.get(i))
        .copied()
        .ok_or_else(|| {
            Error::invalid(format!(
                "statistic {which} is not one of the PIRSCH_STATISTIC_* values (0 to {})",
                COUNT - 1
            ))
        })?;
    let stat = name(which).unwrap_or("");
    let id = given(f.domain_id).ok_or_else(|| {
        Error::invalid(
            "filter->domain_id is required: the id of the domain (pirsch_domains lists them)",
        )
    })?;
    if needs != Needs::Nothing {
        for (what, v) in [("from", f.from), ("to", f.to)] {
            match given(v) {
                None => {
                    return Err(Error::invalid(format!(
                        "filter->{what} is required for PIRSCH_STATISTIC_{stat}: a date YYYY-MM-DD"
                    )))
                }
                Some(d) if !is_date(d) => {
                    return Err(Error::invalid(format!(
                        "filter->{what} {:?} is not a date YYYY-MM-DD",
                        crate::error::truncate(d, 40)
                    )))
                }
                _ => {}
            }
        }
    }
    if let (Some(from), Some(to)) = (given(f.from), given(f.to)) {
        if needs == Needs::Nothing && !(is_date(from) && is_date(to)) {
            return Err(Error::invalid(
                "filter->from and filter->to must be dates YYYY-MM-DD",
            ));
        }
        if to < from {
            return Err(Error::invalid(format!(
                "filter->to {to} is before filter->from {from}"
            )));
        }
    }
    let event = &f.lists[4];
    let meta_key = &f.lists[5];
    match needs {
        Needs::Event | Needs::EventMeta if event.iter().all(|e| e.is_empty()) => {
            return Err(Error::invalid(format!(
                "PIRSCH_STATISTIC_{stat} needs the event's name in filter->event"
            )))
        }
        Needs::EventMeta if meta_key.iter().all(|k| k.is_empty()) => {
            return Err(Error::invalid(
                "PIRSCH_STATISTIC_EVENT_METADATA needs the metadata key in filter->event_meta_key",
            ))
        }
        Needs::Funnel if given(f.funnel_id).is_none() => {
            return Err(Error::invalid(
                "PIRSCH_STATISTIC_FUNNEL needs filter->funnel_id (pirsch_funnels lists them)",
            ))
        }
        _ => {}
    }
    one_of("scale", f.scale, &["day", "week", "month", "year"])?;
    one_of("platform", f.platform, &["desktop", "mobile", "unknown"])?;
    one_of(
        "custom_metric_type",
        f.custom_metric_type,
        &["integer", "float"],
    )?;
    one_of("direction", f.direction, &["asc", "desc"])?;
    for (what, pairs) in [("event_meta", &f.event_meta), ("tags", &f.tags)] {
        if pairs.iter().any(|(k, _)| k.is_empty()) {
            return Err(Error::invalid(format!("filter->{what} has an empty key")));
        }
    }

    let mut q = String::with_capacity(128);
    q.push_str("/api/v1/");
    q.push_str(endpoint);
    q.push_str("?id=");
    encode(&mut q, id);
    let param = |q: &mut String, name: &str, v: &str| {
        q.push('&');
        q.push_str(name);
        q.push('=');
        encode(q, v);
    };
    for (name, v) in [
        ("from", f.from),
        ("to", f.to),
        ("tz", f.tz),
        ("scale", f.scale),
    ] {
        if let Some(v) = given(v) {
            param(&mut q, name, v);
        }
    }
    if f.start > 0 {
        param(&mut q, "start", &f.start.to_string());
    }
    for (name, values) in LISTS.iter().zip(&f.lists) {
        for v in values.iter().filter(|v| !v.is_empty()) {
            param(&mut q, name, v);
        }
    }
    if let Some(p) = given(f.platform) {
        param(&mut q, "platform", p);
    }
    for (prefix, pairs) in [("meta_", &f.event_meta), ("tag_", &f.tags)] {
        for (k, v) in pairs.iter() {
            q.push('&');
            q.push_str(prefix);
            encode(&mut q, k);
            q.push('=');
            encode(&mut q, v);
        }
    }
    for (name, v) in [
        ("custom_metric_key", f.custom_metric_key),
        ("custom_metric_type", f.custom_metric_type),
    ] {
        if let Some(v) = given(v) {
            param(&mut q, name, v);
        }
    }
    if f.include_avg_time_on_page {
        param(&mut q, "include_avg_time_on_page", "true");
    }
    if f.offset > 0 {
        param(&mut q, "offset", &f.offset.to_string());
    }
    if f.limit > 0 {
        param(&mut q, "limit", &f.limit.to_string());
    }
    for (name, v) in [
        ("sort", f.sort),
        ("direction", f.direction),
        ("search", f.search),
        ("funnel_id", f.funnel_id),
    ] {
        if let Some(v) = given(v) {
            param(&mut q, name, v);
        }
    }
    Ok(q)
}

/// GET /api/v1/funnel?id=: the funnels of a domain.
pub(crate) fn funnels_path(domain_id: &str) -> Result<String> {
    if domain_id.is_empty() {
        return Err(Error::invalid(
            "domain_id is required: the id of the domain (pirsch_domains lists them)",
        ));
    }
    let mut q = String::from("/api/v1/funnel?id=");
    encode(&mut q, domain_id);
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> Filter<'static> {
        Filter {
            domain_id: Some("dom 1"),
            from: Some("2026-11-01"),
            to: Some("2026-11-30"),
            ..Default::default()
        }
    }

    #[test]
    fn every_statistic_has_a_distinct_path_and_name() {
        let mut paths: Vec<_> = STATISTICS.iter().map(|s| s.1).collect();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), COUNT);
        assert_eq!(name(0), Some("VISITORS"));
        assert_eq!(name(34), Some("TAGS"));
        assert_eq!(name(35), None);
        assert_eq!(name(-1), None);
    }

    #[test]
    fn a_filter_becomes_an_encoded_query_in_a_fixed_order() {
        let mut f = filter();
        f.tz = Some("Europe/Berlin");
        f.lists[0] = vec!["/a b", "/ü?&="];
        f.lists[4] = vec!["sign up"];
        f.event_meta = vec![("plan x", "pro+")];
        f.tags = vec![("author", "Jane Doe")];
        f.limit = 10;
        f.include_avg_time_on_page = true;
        f.direction = Some("asc");
        assert_eq!(
            path(2, &f).unwrap(),
            "/api/v1/statistics/page?id=dom%201&from=2026-11-01&to=2026-11-30&tz=Europe%2FBerlin\
             &path=%2Fa%20b&path=%2F%C3%BC%3F%26%3D&event=sign%20up&meta_plan%20x=pro%2B\
             &tag_author=Jane%20Doe&include_avg_time_on_page=true&limit=10&direction=asc"
        );
    }

    #[test]
    fn what_a_statistic_needs_is_checked_with_the_reason() {
        let err = |which: i32, f: &Filter| path(which, f).unwrap_err().message;
        assert!(err(35, &filter()).contains("0 to 34"));
        assert!(err(0, &Filter::default()).contains("domain_id is required"));
        let mut f = filter();
        f.from = None;
        assert!(err(0, &f).contains("filter->from is required for PIRSCH_STATISTIC_VISITORS"));
        f.from = Some("2026-02-30");
        assert!(err(0, &f).contains("not a date"));
        f.from = Some("2026-12-01");
        assert!(err(0, &f).contains("before"));
        assert!(err(16, &filter()).contains("filter->event"));
        let mut f = filter();
        f.lists[4] = vec!["signup"];
        assert!(err(14, &f).contains("event_meta_key"));
        assert!(path(16, &f).is_ok());
        assert!(err(17, &filter()).contains("funnel_id"));
        let mut f = filter();
        f.scale = Some("hour");
        assert!(err(0, &f).contains("day, week, month, year"));
        // Active visitors need no dates.
        let f = Filter {
            domain_id: Some("d"),
            start: 600,
            ..Default::default()
        };
        assert_eq!(
            path(19, &f).unwrap(),
            "/api/v1/statistics/active?id=d&start=600"
        );
        assert_eq!(funnels_path("a/b").unwrap(), "/api/v1/funnel?id=a%2Fb");
    }
}
