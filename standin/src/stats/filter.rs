//! The query parameters of the statistics endpoints: parsing, validation, and
//! the filters that decide which records count.

use super::record::{Event, Record, UTM};
use super::session::Session;
use crate::items::Errors;
use crate::timeutil::{civil_from_days, days_from_civil, parse_date};
use crate::urlenc::query_pairs;

/// Grouping of the time series (visitor, duration/session, duration/page).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Day,
    Week,
    Month,
    Year,
}

impl Scale {
    /// The first day of the bucket that holds `day` (weeks start on Monday).
    pub fn bucket(self, day: i64) -> i64 {
        match self {
            Scale::Day => day,
            // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays.
            Scale::Week => day - (day + 3).rem_euclid(7),
            Scale::Month => {
                let (y, m, _) = civil_from_days(day);
                days_from_civil(y, m, 1)
            }
            Scale::Year => {
                let (y, _, _) = civil_from_days(day);
                days_from_civil(y, 1, 1)
            }
        }
    }

    /// The first day of the bucket after the one that starts on `start`.
    pub fn next(self, start: i64) -> i64 {
        match self {
            Scale::Day => start + 1,
            Scale::Week => start + 7,
            Scale::Month => {
                let (y, m, _) = civil_from_days(start);
                if m == 12 {
                    days_from_civil(y + 1, 1, 1)
                } else {
                    days_from_civil(y, m + 1, 1)
                }
            }
            Scale::Year => {
                let (y, _, _) = civil_from_days(start);
                days_from_civil(y + 1, 1, 1)
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Asc,
    Desc,
}

/// Options of the list endpoints.
#[derive(Debug, Default)]
pub struct ListOpts {
    pub offset: usize,
    /// None: all rows.
    pub limit: Option<usize>,
    pub sort: Option<String>,
    pub direction: Option<Dir>,
    /// Case-insensitive substring of the row's main field.
    pub search: Option<String>,
}

/// Which records count. Every list holds the accepted values of one
/// parameter (repeating the parameter adds values); an empty list accepts all.
#[derive(Debug, Default)]
pub struct Filter {
    pub path: Vec<String>,
    pub pattern: Vec<String>,
    pub entry_path: Vec<String>,
    pub exit_path: Vec<String>,
    pub event: Vec<String>,
    pub event_meta_key: Vec<String>,
    /// meta_<key>=<value>: (key, accepted values).
    pub meta: Vec<(String, Vec<String>)>,
    pub language: Vec<String>,
    pub country: Vec<String>,
    pub region: Vec<String>,
    pub city: Vec<String>,
    pub referrer: Vec<String>,
    pub referrer_name: Vec<String>,
    pub os: Vec<String>,
    pub browser: Vec<String>,
    pub platform: Vec<String>,
    pub screen_class: Vec<String>,
    /// utm_source, utm_medium, utm_campaign, utm_content, utm_term.
    pub utm: [Vec<String>; 5],
    /// tag=<key>: records that have one of these tag keys (and the keys tag/details breaks down).
    pub tag: Vec<String>,
    /// tag_<key>=<value>: (key, accepted values).
    pub tags: Vec<(String, Vec<String>)>,
}

/// Everything a statistics request asks for.
#[derive(Debug)]
pub struct Params {
    /// First and last day (days since the epoch, UTC), both included. 0 when not required.
    pub from: i64,
    pub to: i64,
    pub scale: Scale,
    /// Active visitors: the last this many seconds.
    pub start: i64,
    pub include_time_on_page: bool,
    pub funnel_id: Option<String>,
    pub list: ListOpts,
    pub filter: Filter,
}

/// Default and largest `start` of the active endpoint, in seconds.
pub const ACTIVE_DEFAULT: i64 = 600;
pub const ACTIVE_MAX: i64 = 3600;

fn add(list: &mut Vec<(String, Vec<String>)>, key: &str, value: String) {
    match list.iter_mut().find(|(k, _)| k == key) {
        Some((_, vals)) => vals.push(value),
        None => list.push((key.to_string(), vec![value])),
    }
}

fn number(v: &str) -> Option<u64> {
    if v.is_empty() || !v.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// Parses and validates a statistics query. `dates`: id, from and to are required
/// (all endpoints but active and the funnel list, which need only id).
pub fn parse(query: &str, dates: bool) -> Result<Params, Errors> {
    let pairs = query_pairs(query);
    // Scalars: the first non-empty value counts.
    let scalar = |name: &str| {
        pairs
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    };
    let mut errs: Errors = Vec::new();
    if scalar("id").is_none() {
        errs.push(("id".into(), "id is required".into()));
    }
    let mut date = |name: &str| -> i64 {
        if !dates {
            return 0;
        }
        match scalar(name) {
            None => {
                errs.push((name.into(), format!("{name} is required")));
                0
            }
            Some(s) => parse_date(s).unwrap_or_else(|| {
                errs.push((name.into(), format!("{name} must be a date YYYY-MM-DD")));
                0
            }),
        }
    };
    let from = date("from");
    let to = date("to");
    let scale = match scalar("scale") {
        None | Some("day") => Scale::Day,
        Some("week") => Scale::Week,
        Some("month") => Scale::Month,
        Some("year") => Scale::Year,
        Some(_) => {
            errs.push((
                "scale".into(),
                "scale must be day, week, month or year".into(),
            ));
            Scale::Day
        }
    };
    let mut count = |name: &str| -> Option<u64> {
        let v = scalar(name)?;
        let n = number(v);
        if n.is_none() {
            errs.push((
                name.into(),
                format!("{name} must be a non-negative integer"),
            ));
        }
        n
    };
    let offset = count("offset").unwrap_or(0);
    let limit = count("limit").filter(|&l| l > 0);
    let start = match scalar("start") {
        None => ACTIVE_DEFAULT,
        Some(v) => match number(v) {
            Some(0) => ACTIVE_DEFAULT,
            Some(n) => n.min(ACTIVE_MAX as u64) as i64,
            None => {
                errs.push(("start".into(), "start must be a number of seconds".into()));
                ACTIVE_DEFAULT
            }
        },
    };
    let direction = match scalar("direction") {
        None => None,
        Some(d) if d.eq_ignore_ascii_case("asc") => Some(Dir::Asc),
        Some(d) if d.eq_ignore_ascii_case("desc") => Some(Dir::Desc),
        Some(_) => {
            errs.push(("direction".into(), "direction must be asc or desc".into()));
            None
        }
    };
    let mut filter = Filter::default();
    for (k, v) in &pairs {
        if v.is_empty() {
            continue;
        }
        let v = v.clone();
        let list = match k.as_str() {
            "path" => &mut filter.path,
            "pattern" => &mut filter.pattern,
            "entry_path" => &mut filter.entry_path,
            "exit_path" => &mut filter.exit_path,
            "event" => &mut filter.event,
            "event_meta_key" => &mut filter.event_meta_key,
            "language" => &mut filter.language,
            "country" => &mut filter.country,
            "region" => &mut filter.region,
            "city" => &mut filter.city,
            "referrer" => &mut filter.referrer,
            "referrer_name" => &mut filter.referrer_name,
            "os" => &mut filter.os,
            "browser" => &mut filter.browser,
            "platform" => &mut filter.platform,
            "screen_class" => &mut filter.screen_class,
            "tag" => &mut filter.tag,
            k => {
                if let Some(i) = UTM.iter().position(|u| *u == k) {
                    &mut filter.utm[i]
                } else if let Some(key) = k.strip_prefix("meta_").filter(|k| !k.is_empty()) {
                    add(&mut filter.meta, key, v);
                    continue;
                } else if let Some(key) = k.strip_prefix("tag_").filter(|k| !k.is_empty()) {
                    add(&mut filter.tags, key, v);
                    continue;
                } else {
                    continue; // unknown parameters are ignored, like the API does
                }
            }
        };
        list.push(v);
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    if dates && to < from {
        return Err(vec![("to".into(), "to must not be before from".into())]);
    }
    Ok(Params {
        from,
        to,
        scale,
        start,
        include_time_on_page: matches!(scalar("include_avg_time_on_page"), Some("true" | "1")),
        funnel_id: scalar("funnel_id").map(str::to_string),
        list: ListOpts {
            offset: offset as usize,
            limit: limit.map(|l| l as usize),
            sort: scalar("sort").map(str::to_string),
            direction,
            search: scalar("search").map(str::to_string),
        },
        filter,
    })
}

/// Whether `s` matches the glob `pat` as a whole: `*` is any run of characters
/// (also '/'), `?` any one character, everything else itself.
pub fn glob(pat: &str, s: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let (mut i, mut j) = (0, 0);
    // Where the last '*' was and which text position it is matched up to.
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

fn any(list: &[String], v: &str) -> bool {
    list.is_empty() || list.iter().any(|x| x == v)
}

fn any_ci(list: &[String], v: &str) -> bool {
    list.is_empty() || list.iter().any(|x| x.eq_ignore_ascii_case(v))
}

fn has_pairs(pairs: &[(Box<str>, Box<str>)], wanted: &[(String, Vec<String>)]) -> bool {
    wanted.iter().all(|(k, vals)| {
        pairs
            .iter()
            .any(|(pk, pv)| **pk == **k && vals.iter().any(|v| **v == **pv))
    })
}

impl Filter {
    /// The filters on the record itself (page, client, tags).
    pub fn record_ok(&self, r: &Record) -> bool {
        let p = &r.page;
        let c = &r.client;
        any(&self.path, &p.path)
            && (self.pattern.is_empty() || self.pattern.iter().any(|g| glob(g, &p.path)))
            && any_ci(&self.language, &c.language)
            // Nothing is located: a location filter matches nothing.
            && self.country.is_empty()
            && self.region.is_empty()
            && self.city.is_empty()
            && any(&self.referrer, &p.referrer)
            && any(&self.referrer_name, &p.referrer_name)
            && any_ci(&self.os, c.os)
            && any_ci(&self.browser, c.browser)
            && any_ci(&self.platform, c.platform.name())
            && any_ci(&self.screen_class, c.screen_class)
            && (0..UTM.len()).all(|i| any(&self.utm[i], &p.utm[i]))
            && (self.tag.is_empty() || r.tags.iter().any(|(k, _)| self.tag.iter().any(|t| **t == **k)))
            && has_pairs(&r.tags, &self.tags)
    }

    /// The filters on the record's session (entry and exit page).
    pub fn session_ok(&self, s: &Session) -> bool {
        any(&self.entry_path, s.entry) && any(&self.exit_path, s.exit)
    }

    /// Whether any filter is about events (event, event_meta_key, meta_*).
    pub fn on_events(&self) -> bool {
        !self.event.is_empty() || !self.event_meta_key.is_empty() || !self.meta.is_empty()
    }

    /// The event filters on an event.
    pub fn event_ok(&self, e: &Event) -> bool {
        any(&self.event, &e.name)
            && (self.event_meta_key.is_empty()
                || e.meta
                    .iter()
                    .any(|(k, _)| self.event_meta_key.iter().any(|m| **m == **k)))
            && has_pairs(&e.meta, &self.meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("/blog/*", "/blog/a/b"));
        assert!(glob("/blog/*", "/blog/"));
        assert!(!glob("/blog/*", "/blog"));
        assert!(glob("/a?c", "/abc"));
        assert!(!glob("/a?c", "/ac"));
        assert!(glob("*", ""));
        assert!(glob("/a", "/a"));
        assert!(!glob("/a", "/ab"), "no wildcard: the whole path");
        assert!(glob("*/x*y", "/q/x/1/y"));
        assert!(!glob("*/x*y", "/q/x/1/y/z"));
        assert!(glob("/é*", "/été"));
    }

    #[test]
    fn scales() {
        let d = |s: &str| parse_date(s).unwrap();
        assert_eq!(Scale::Week.bucket(d("2026-11-26")), d("2026-11-23")); // Thu -> Mon
        assert_eq!(Scale::Week.bucket(d("2026-11-23")), d("2026-11-23"));
        assert_eq!(Scale::Week.bucket(d("2026-11-22")), d("2026-11-16")); // Sun
        assert_eq!(Scale::Month.bucket(d("2024-02-29")), d("2024-02-01"));
        assert_eq!(Scale::Year.bucket(d("2024-02-29")), d("2024-01-01"));
        assert_eq!(Scale::Month.next(d("2026-12-01")), d("2027-01-01"));
        assert_eq!(Scale::Year.next(d("2026-01-01")), d("2027-01-01"));
        assert_eq!(Scale::Week.next(d("2026-11-23")), d("2026-11-30"));
    }

    fn errs(q: &str, dates: bool) -> Vec<String> {
        parse(q, dates)
            .unwrap_err()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    #[test]
    fn parsing() {
        // What the Go SDK sends when nothing optional is set.
        let go = "id=d&from=2026-01-01&to=2026-01-31&scale=&tz=&platform=&custom_metric_key=\
                  &custom_metric_type=&offset=0&limit=0&sort=&direction=&search=\
                  &include_avg_time_on_page=false";
        let p = parse(go, true).unwrap();
        assert_eq!((p.to - p.from, p.scale), (30, Scale::Day));
        assert_eq!((p.list.offset, p.list.limit), (0, None));
        assert!(p.list.sort.is_none() && p.list.search.is_none() && !p.include_time_on_page);
        assert!(!p.filter.on_events() && p.filter.platform.is_empty());

        let p = parse(
            "id=d&from=2026-01-01&to=2026-01-01&path=%2Fa&path=/b+c&meta_plan=pro&meta_plan=team\
             &tag_author=Ann&tag=author&utm_source=x&unknown=1&scale=month&limit=5&offset=2\
             &direction=ASC&start=99999&include_avg_time_on_page=true",
            true,
        )
        .unwrap();
        assert_eq!(p.filter.path, ["/a", "/b c"]);
        assert_eq!(
            p.filter.meta,
            [(
                "plan".to_string(),
                vec!["pro".to_string(), "team".to_string()]
            )]
        );
        assert_eq!(
            p.filter.tags,
            [("author".to_string(), vec!["Ann".to_string()])]
        );
        assert_eq!(p.filter.tag, ["author"]);
        assert_eq!(p.filter.utm[0], ["x"]);
        assert!(p.filter.on_events());
        assert_eq!(
            (p.scale, p.list.limit, p.list.offset),
            (Scale::Month, Some(5), 2)
        );
        assert_eq!(
            (p.list.direction, p.start, p.include_time_on_page),
            (Some(Dir::Asc), ACTIVE_MAX, true)
        );

        assert_eq!(errs("from=x", true), ["id", "from", "to"]);
        assert_eq!(errs("id=1&from=2026-01-02&to=2026-01-01", true), ["to"]);
        assert_eq!(
            errs(
                "id=1&from=2026-01-01&to=2026-01-01&scale=hour&limit=-1&offset=x&direction=up",
                true
            ),
            ["scale", "offset", "limit", "direction"]
        );
        assert_eq!(errs("id=1&start=ten", false), ["start"]);
        assert!(parse("id=1", false).is_ok(), "active needs no dates");
        assert_eq!(parse("id=1&start=60", false).unwrap().start, 60);
    }
}
