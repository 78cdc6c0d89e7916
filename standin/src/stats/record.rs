//! What the stand-in keeps of each accepted page view and event for the
//! statistics endpoints, and the bounded store that holds it.
//!
//! Values shared by many records (the client's language, browser, OS, screen;
//! the page's path, title, referrer and UTM parameters) are kept once and
//! shared, so a record costs about 80 bytes plus its tags and event data.

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;
use std::sync::Arc;

use super::ua::{self, Platform};
use crate::items::{as_str, get, Fields, Shallow};
use crate::urlenc::{query_pairs, url_host, url_path, url_query};

/// At most this many records are kept; the oldest (by arrival) go first.
pub const MAX_RECORDS: usize = 1_000_000;

/// The client side of a record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Client {
    /// Primary subtag of the first Accept-Language tag, lowercased ("de").
    pub language: Box<str>,
    pub browser: &'static str,
    pub browser_version: Box<str>,
    pub os: &'static str,
    pub os_version: Box<str>,
    pub platform: Platform,
    pub screen_class: &'static str,
}

/// The page side of a record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Page {
    pub path: Box<str>,
    pub title: Box<str>,
    /// The `referrer` field, or else the URL's `ref` query parameter.
    pub referrer: Box<str>,
    /// The referrer's host name, or the referrer itself when it is not a URL.
    pub referrer_name: Box<str>,
    /// utm_source, utm_medium, utm_campaign, utm_content, utm_term.
    pub utm: [Box<str>; 5],
}

pub const UTM: [&str; 5] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
];

pub type Pairs = Box<[(Box<str>, Box<str>)]>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub name: Box<str>,
    pub duration: u64,
    /// Sorted by key.
    pub meta: Pairs,
}

/// One page view or event.
#[derive(Debug, Clone)]
pub struct Record {
    /// Unix seconds (UTC).
    pub time: i64,
    /// Hash of ip and user agent.
    pub visitor: u64,
    pub client: Arc<Client>,
    pub page: Arc<Page>,
    /// Sorted by key.
    pub tags: Pairs,
    /// None for a page view.
    pub event: Option<Box<Event>>,
}

impl Record {
    pub fn is_event(&self) -> bool {
        self.event.is_some()
    }
}

/// A record before its shared parts are looked up in the store.
#[derive(Debug, Clone)]
pub struct Facts {
    pub time: i64,
    pub visitor: u64,
    pub client: Client,
    pub page: Page,
    pub tags: Pairs,
    pub event: Option<Box<Event>>,
}

/// Screen class of a screen width in pixels; "" when absent or not positive.
pub fn screen_class(width: i128) -> &'static str {
    match width {
        w if w >= 2560 => "XXL",
        w if w >= 1920 => "XL",
        w if w >= 1280 => "L",
        w if w >= 1024 => "M",
        w if w >= 768 => "S",
        w if w > 0 => "XS",
        _ => "",
    }
}

/// "de-DE,de;q=0.9,en;q=0.8" -> "de". "" when there is no usable tag.
pub fn language(accept_language: &str) -> String {
    let first = accept_language.split(',').next().unwrap_or("");
    let tag = first.split(';').next().unwrap_or("").trim();
    let primary = tag.split(['-', '_']).next().unwrap_or("");
    if primary.is_empty() || !primary.chars().all(|c| c.is_ascii_alphabetic()) {
        return String::new();
    }
    primary.to_ascii_lowercase()
}

fn pairs_of(v: Option<&Shallow<'_>>) -> Pairs {
    let mut out: Vec<(Box<str>, Box<str>)> = match v {
        Some(Shallow::Map { pairs, .. }) => pairs
            .iter()
            .map(|(k, v)| (Box::from(k.as_ref()), Box::from(v.as_ref())))
            .collect(),
        _ => Vec::new(),
    };
    // JSON objects may repeat keys: the last wins, as for fields.
    out.reverse();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|later, kept| later.0 == kept.0);
    out.into_boxed_slice()
}

/// The facts of a valid page view (`event` false) or event item.
pub fn facts(fields: &Fields<'_>, event: bool, time: i64, visitor: u64) -> Facts {
    let s = |name: &str| as_str(get(fields, name)).unwrap_or("");
    let url = s("url");
    let query = query_pairs(url_query(url));
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map_or("", |(_, v)| v.as_str())
    };
    let referrer = match s("referrer").trim() {
        "" => param("ref").trim(),
        r => r,
    };
    let referrer_name = if referrer.is_empty() {
        String::new()
    } else {
        url_host(referrer).unwrap_or_else(|| referrer.to_string())
    };
    let agent = ua::classify(
        s("user_agent"),
        s("sec_ch_ua_mobile"),
        s("sec_ch_ua_platform"),
        s("sec_ch_ua_platform_version"),
    );
    let width = match get(fields, "screen_width") {
        Some(Shallow::Int(w)) => *w,
        _ => 0,
    };
    let page = Page {
        path: url_path(url).into(),
        title: s("title").into(),
        referrer: referrer.into(),
        referrer_name: referrer_name.into(),
        utm: UTM.map(|k| Box::from(param(k))),
    };
    let client = Client {
        language: language(s("accept_language")).into(),
        browser: agent.browser,
        browser_version: agent.browser_version.into(),
        os: agent.os,
        os_version: agent.os_version.into(),
        platform: agent.platform,
        screen_class: screen_class(width),
    };
    let event = event.then(|| {
        Box::new(Event {
            name: s("event_name").into(),
            duration: match get(fields, "event_duration") {
                Some(Shallow::Int(d)) => u64::try_from(*d).unwrap_or(0),
                _ => 0,
            },
            meta: pairs_of(get(fields, "event_meta")),
        })
    });
    Facts {
        time,
        visitor,
        client,
        page,
        tags: pairs_of(get(fields, "tags")),
        event,
    }
}

/// Values kept once and shared by the records that have them.
struct Interner<T>(HashSet<Arc<T>>);

impl<T: Hash + Eq> Interner<T> {
    fn get(&mut self, v: T) -> Arc<T> {
        if let Some(a) = self.0.get(&v) {
            return Arc::clone(a);
        }
        let a = Arc::new(v);
        self.0.insert(Arc::clone(&a));
        a
    }
    /// Forgets the values no record uses any more.
    fn prune(&mut self) {
        self.0.retain(|a| Arc::strong_count(a) > 1);
    }
}

/// The records behind the statistics, oldest first.
pub struct Store {
    records: VecDeque<Record>,
    clients: Interner<Client>,
    pages: Interner<Page>,
    max: usize,
}

impl Default for Store {
    fn default() -> Self {
        Store::with_capacity(MAX_RECORDS)
    }
}

impl Store {
    pub fn with_capacity(max: usize) -> Store {
        Store {
            records: VecDeque::new(),
            clients: Interner(HashSet::new()),
            pages: Interner(HashSet::new()),
            max: max.max(1),
        }
    }

    pub fn push(&mut self, f: Facts) {
        if self.records.len() >= self.max {
            // Drop the oldest hundredth at once, then forget what only they used.
            let n = (self.max / 100).max(1).min(self.records.len());
            self.records.drain(..n);
            self.prune();
        }
        let rec = Record {
            time: f.time,
            visitor: f.visitor,
            client: self.clients.get(f.client),
            page: self.pages.get(f.page),
            tags: f.tags,
            event: f.event,
        };
        self.records.push_back(rec);
    }

    pub fn records(&self) -> &VecDeque<Record> {
        &self.records
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn clear(&mut self) {
        *self = Store::with_capacity(self.max);
    }

    /// Keeps only the records for which `keep` is true.
    pub fn retain(&mut self, keep: impl FnMut(&Record) -> bool) {
        self.records.retain(keep);
        self.prune();
    }

    fn prune(&mut self) {
        self.clients.prune();
        self.pages.prune();
    }

    #[cfg(test)]
    pub fn shared_values(&self) -> (usize, usize) {
        (self.clients.0.len(), self.pages.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::parse_fields;

    #[test]
    fn small_parsers() {
        assert_eq!(language("de-DE,de;q=0.9,en;q=0.8"), "de");
        assert_eq!(language(" EN_us "), "en");
        assert_eq!(language("*"), "");
        assert_eq!(language(""), "");
        assert_eq!(screen_class(2560), "XXL");
        assert_eq!(screen_class(1920), "XL");
        assert_eq!(screen_class(1919), "L");
        assert_eq!(screen_class(1024), "M");
        assert_eq!(screen_class(800), "S");
        assert_eq!(screen_class(320), "XS");
        assert_eq!(screen_class(0), "");
    }

    #[test]
    fn facts_of_an_event() {
        let raw = r#"{"url":"https://e.com/p/q?utm_source=news&utm_medium=mail&ref=ignored#x",
            "ip":"1","user_agent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0",
            "accept_language":"fr-CH, fr;q=0.9","title":"T","referrer":"https://Search.example/?q=1",
            "screen_width":1280,"tags":{"b":"2","a":"1","b":"3"},
            "event_name":"signup","event_duration":7,"event_meta":{"plan":"pro"}}"#;
        let f = parse_fields(raw).unwrap();
        let x = facts(&f, true, 100, 9);
        assert_eq!(&*x.page.path, "/p/q");
        assert_eq!(&*x.page.title, "T");
        assert_eq!(&*x.page.referrer, "https://Search.example/?q=1");
        assert_eq!(&*x.page.referrer_name, "search.example");
        assert_eq!(&*x.page.utm[0], "news");
        assert_eq!(&*x.page.utm[1], "mail");
        assert_eq!(&*x.page.utm[2], "");
        assert_eq!(&*x.client.language, "fr");
        assert_eq!(
            (x.client.browser, &*x.client.browser_version),
            ("Firefox", "121")
        );
        assert_eq!(
            (x.client.os, x.client.platform),
            ("Linux", Platform::Desktop)
        );
        assert_eq!(x.client.screen_class, "L");
        let tags: Vec<_> = x.tags.iter().map(|(k, v)| (&**k, &**v)).collect();
        assert_eq!(tags, [("a", "1"), ("b", "3")]);
        let e = x.event.unwrap();
        assert_eq!((&*e.name, e.duration), ("signup", 7));
        assert_eq!(&*e.meta[0].1, "pro");

        let f = parse_fields(r#"{"url":"https://e.com/?ref=newsletter","ip":"1"}"#).unwrap();
        let x = facts(&f, false, 0, 0);
        assert_eq!(
            (&*x.page.referrer, &*x.page.referrer_name),
            ("newsletter", "newsletter")
        );
        assert!(x.event.is_none() && x.tags.is_empty());
        assert_eq!((x.client.browser, x.client.screen_class), ("", ""));
    }

    #[test]
    fn store_is_bounded_and_shares_values() {
        let mut s = Store::with_capacity(200);
        let f = parse_fields(r#"{"url":"https://e.com/a","ip":"1"}"#).unwrap();
        let g = parse_fields(r#"{"url":"https://e.com/b","ip":"1"}"#).unwrap();
        for i in 0..150 {
            s.push(facts(&f, false, i, 1));
        }
        assert_eq!(s.shared_values(), (1, 1));
        for i in 150..250 {
            s.push(facts(&g, false, i, 1));
        }
        assert!(s.len() <= 200);
        // The oldest went first.
        assert_eq!(s.records().back().unwrap().time, 249);
        assert!(s.records().front().unwrap().time >= 50);
        s.retain(|r| &*r.page.path == "/b");
        assert_eq!(s.len(), 100);
        assert_eq!(s.shared_values(), (1, 1), "/a is forgotten");
        s.clear();
        assert_eq!((s.len(), s.shared_values()), (0, (0, 0)));
    }
}
