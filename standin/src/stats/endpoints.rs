//! The figures of each statistics endpoint, computed from the kept records.
//!
//! Every request goes the same way: the records of the requested time range
//! are grouped into sessions ([`Window`]), the filters pick the page views and
//! events that count ([`Selection`]), and the endpoint groups and counts them.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::filter::{Params, Scale};
use super::record::{Record, Store, UTM};
use super::session::{Item, Window};
use super::table::{object, ratio, Table, V};
use super::{Endpoint, Refusal};
use crate::timeutil::format_day;

const DAY: i64 = 86_400;
/// Most rows of a time series.
pub const MAX_SERIES: usize = 366;

/// The page views and events of a window that pass the filters.
pub struct Selection<'w, 'a> {
    pub w: &'w Window<'a>,
    /// Page views (indices into `w.items`).
    pub views: Vec<usize>,
    /// Events.
    pub events: Vec<usize>,
    /// With event filters: the page views as if there were none (for conversion rates).
    pub without_event_filters: Option<Vec<usize>>,
}

impl<'w, 'a> Selection<'w, 'a> {
    /// Page views count when they pass the record and session filters and, with event
    /// filters, when their session has an event that passes all filters. Events count
    /// when they pass all filters.
    pub fn new(w: &'w Window<'a>, p: &Params) -> Selection<'w, 'a> {
        let f = &p.filter;
        let base_ok = |it: &Item| f.record_ok(it.rec) && f.session_ok(w.session(it));
        let mut views = Vec::new();
        let mut events = Vec::new();
        for (i, it) in w.items.iter().enumerate() {
            match &it.rec.event {
                None if base_ok(it) => views.push(i),
                Some(e) if f.event_ok(e) && base_ok(it) => events.push(i),
                _ => {}
            }
        }
        let mut without_event_filters = None;
        if f.on_events() {
            let with_event: HashSet<usize> = events.iter().map(|&i| w.items[i].session).collect();
            let all = views.clone();
            views.retain(|&i| with_event.contains(&w.items[i].session));
            without_event_filters = Some(all);
        }
        Selection {
            w,
            views,
            events,
            without_event_filters,
        }
    }

    fn base(&self) -> &[usize] {
        self.without_event_filters.as_deref().unwrap_or(&self.views)
    }

    fn item(&self, i: usize) -> &Item<'a> {
        &self.w.items[i]
    }

    fn sum(&self, idx: &[usize]) -> Acc<'a> {
        let mut acc = Acc::default();
        for &i in idx {
            acc.add(self.item(i));
        }
        acc
    }

    /// Groups items under the keys `keys` gives for each (none, one or several).
    fn group<K: Ord>(
        &self,
        idx: &[usize],
        mut keys: impl FnMut(&Item<'a>, &mut Vec<K>),
    ) -> BTreeMap<K, Acc<'a>> {
        let mut out: BTreeMap<K, Acc<'a>> = BTreeMap::new();
        let mut buf = Vec::new();
        for &i in idx {
            let it = self.item(i);
            keys(it, &mut buf);
            for k in buf.drain(..) {
                out.entry(k).or_default().add(it);
            }
        }
        out
    }
}

/// What a group of items adds up to.
#[derive(Default)]
pub struct Acc<'a> {
    visitors: HashSet<u64>,
    sessions: HashSet<usize>,
    /// Items (page views or events).
    count: usize,
    entries: usize,
    exits: usize,
    time_on_page: (i64, i64),
    event_duration: u64,
    /// The latest non-empty title (time, title).
    title: Option<(i64, &'a str)>,
    meta_keys: BTreeSet<&'a str>,
}

impl<'a> Acc<'a> {
    fn add(&mut self, it: &Item<'a>) {
        let r: &'a Record = it.rec;
        self.visitors.insert(r.visitor);
        self.sessions.insert(it.session);
        self.count += 1;
        self.entries += it.entry as usize;
        self.exits += it.exit as usize;
        if let Some(t) = it.time_on_page {
            self.time_on_page.0 += t;
            self.time_on_page.1 += 1;
        }
        let title: &'a str = &r.page.title;
        if !title.is_empty() && self.title.is_none_or(|(t, _)| r.time >= t) {
            self.title = Some((r.time, title));
        }
        if let Some(e) = &r.event {
            self.event_duration += e.duration;
            self.meta_keys.extend(e.meta.iter().map(|(k, _)| &**k));
        }
    }

    fn visitors(&self) -> usize {
        self.visitors.len()
    }

    fn sessions(&self) -> usize {
        self.sessions.len()
    }

    fn bounces(&self, w: &Window) -> usize {
        self.sessions
            .iter()
            .filter(|&&s| w.sessions[s].bounced())
            .count()
    }

    fn bounce_rate(&self, w: &Window) -> f64 {
        ratio(self.bounces(w) as f64, self.sessions() as f64)
    }

    fn avg_time_on_page(&self) -> i64 {
        match self.time_on_page {
            (_, 0) => 0,
            (sum, n) => sum / n,
        }
    }

    fn avg_event_duration(&self) -> i64 {
        match self.count {
            0 => 0,
            n => (self.event_duration / n as u64) as i64,
        }
    }

    fn title(&self) -> V {
        V::s(self.title.map_or("", |(_, t)| t))
    }
}

fn rel(part: usize, whole: usize) -> V {
    V::F(ratio(part as f64, whole as f64))
}

fn day_of(time: i64) -> i64 {
    time.div_euclid(DAY)
}

/// The first days of the buckets of the requested range (at most MAX_SERIES).
fn buckets(p: &Params) -> Vec<i64> {
    let mut out = Vec::new();
    let mut b = p.scale.bucket(p.from);
    while b <= p.to && out.len() < MAX_SERIES {
        out.push(b);
        b = p.scale.next(b);
    }
    out
}

/// The day/week/month/year fields of a series row: the scale's set, the others null.
fn date_fields(scale: Scale, start: i64) -> Vec<V> {
    [Scale::Day, Scale::Week, Scale::Month, Scale::Year]
        .iter()
        .map(|&s| {
            if s == scale {
                V::S(format_day(start))
            } else {
                V::Null
            }
        })
        .collect()
}

const VISITOR_FIELDS: &[&str] = &[
    "day",
    "week",
    "month",
    "year",
    "visitors",
    "views",
    "sessions",
    "bounces",
    "bounce_rate",
    "cr",
    "custom_metric_avg",
    "custom_metric_total",
];

const HOUR_FIELDS: &[&str] = &[
    "hour",
    "visitors",
    "views",
    "sessions",
    "bounces",
    "bounce_rate",
    "cr",
    "custom_metric_avg",
    "custom_metric_total",
];

const TOTAL_FIELDS: &[&str] = &[
    "visitors",
    "views",
    "sessions",
    "bounces",
    "bounce_rate",
    "cr",
    "custom_metric_avg",
    "custom_metric_total",
];

/// visitors, views, sessions, bounces, bounce_rate, cr, custom_metric_avg, custom_metric_total.
fn summary_values(w: &Window, acc: Option<&Acc>, base: Option<&Acc>, events: bool) -> Vec<V> {
    let empty = Acc::default();
    let a = acc.unwrap_or(&empty);
    let cr = match (events, base) {
        (true, Some(b)) => rel(a.visitors(), b.visitors()),
        _ => V::F(0.0),
    };
    vec![
        V::u(a.visitors()),
        V::u(a.count),
        V::u(a.sessions()),
        V::u(a.bounces(w)),
        V::F(a.bounce_rate(w)),
        cr,
        V::F(0.0),
        V::F(0.0),
    ]
}

const TIME_FIELDS: &[&str] = &[
    "day",
    "week",
    "month",
    "year",
    "path",
    "title",
    "average_time_spent_seconds",
];

/// Page statistics of the items `idx` grouped by path (page and event/page).
fn pages(s: &Selection, idx: &[usize], p: &Params) -> Table {
    let mut t = Table::new(
        &[
            "path",
            "title",
            "visitors",
            "views",
            "sessions",
            "bounces",
            "relative_visitors",
            "relative_views",
            "bounce_rate",
            "average_time_spent_seconds",
        ],
        "path",
    );
    let all = s.sum(idx);
    for (path, a) in s.group(idx, |it, k| k.push(&*it.rec.page.path)) {
        t.push(vec![
            V::s(path),
            a.title(),
            V::u(a.visitors()),
            V::u(a.count),
            V::u(a.sessions()),
            V::u(a.bounces(s.w)),
            rel(a.visitors(), all.visitors()),
            rel(a.count, all.count),
            V::F(a.bounce_rate(s.w)),
            V::I(if p.include_time_on_page {
                a.avg_time_on_page()
            } else {
                0
            }),
        ]);
    }
    t
}

/// Visitor statistics grouped by values of the record (language, browser, ...).
/// Records for which `dims` gives None (an empty value) are left out.
fn meta(
    s: &Selection,
    fields: &'static [&'static str],
    dims: impl for<'r> Fn(&'r Record) -> Option<Vec<&'r str>>,
) -> Table {
    let mut t = Table::new(fields, fields[2]);
    let total = s.sum(&s.views).visitors();
    for (vals, a) in s.group(&s.views, |it, k| k.extend(dims(it.rec))) {
        let mut row = vec![V::u(a.visitors()), rel(a.visitors(), total)];
        row.extend(vals.into_iter().map(V::s));
        t.push(row);
    }
    t
}

fn nonempty(v: &str) -> Option<&str> {
    (!v.is_empty()).then_some(v)
}

fn events_table(s: &Selection, breakdown: Option<&[String]>, base_visitors: usize) -> Table {
    let mut t = Table::new(
        &[
            "name",
            "visitors",
            "views",
            "count",
            "cr",
            "average_duration_seconds",
            "meta_keys",
            "meta_value",
        ],
        // A breakdown's rows differ in their value.
        if breakdown.is_some() {
            "meta_value"
        } else {
            "name"
        },
    );
    let groups = s.group(&s.events, |it, k| {
        let e = it.rec.event.as_deref().expect("an event");
        match breakdown {
            None => k.push((&*e.name, "")),
            Some(keys) => k.extend(
                e.meta
                    .iter()
                    .filter(|(mk, _)| keys.iter().any(|x| **x == **mk))
                    .map(|(_, v)| (&*e.name, &**v)),
            ),
        }
    });
    for ((name, value), a) in groups {
        let keys = match breakdown {
            None => V::Raw(serde_json::to_string(&a.meta_keys).unwrap_or_else(|_| "[]".into())),
            Some(_) => V::Null,
        };
        t.push(vec![
            V::s(name),
            V::u(a.visitors()),
            V::u(a.count),
            V::u(a.count),
            rel(a.visitors(), base_visitors),
            V::I(a.avg_event_duration()),
            keys,
            V::s(value),
        ]);
    }
    t
}

fn tags_table(s: &Selection, keys: Option<&[String]>) -> Table {
    let mut t = Table::new(
        &[
            "key",
            "value",
            "visitors",
            "views",
            "relative_visitors",
            "relative_views",
        ],
        // The details' rows differ in their value.
        if keys.is_some() { "value" } else { "key" },
    );
    let all = s.sum(&s.views);
    let groups = s.group(&s.views, |it, k| {
        for (tk, tv) in it.rec.tags.iter() {
            match keys {
                None => k.push((&**tk, "")),
                Some(keys) if keys.iter().any(|x| **x == **tk) => k.push((&**tk, &**tv)),
                Some(_) => {}
            }
        }
    });
    for ((key, value), a) in groups {
        t.push(vec![
            V::s(key),
            V::s(value),
            V::u(a.visitors()),
            V::u(a.count),
            rel(a.visitors(), all.visitors()),
            rel(a.count, all.count),
        ]);
    }
    t
}

/// Average session duration (seconds) of the sessions of `idx` that have more than one item.
fn avg_session_duration<'a>(
    w: &Window<'a>,
    sessions: impl IntoIterator<Item = usize>,
) -> (i64, i64) {
    let mut sum = 0;
    let mut n = 0;
    for s in sessions {
        let s = &w.sessions[s];
        if s.items > 1 {
            sum += s.duration();
            n += 1;
        }
    }
    (sum, n)
}

fn avg(sum_n: (i64, i64)) -> i64 {
    match sum_n {
        (_, 0) => 0,
        (sum, n) => sum / n,
    }
}

/// (current - previous) / previous, rounded; 1 when only the current value is not zero.
fn growth(cur: f64, prev: f64) -> f64 {
    if prev == 0.0 {
        if cur == 0.0 {
            0.0
        } else {
            1.0
        }
    } else {
        ratio(cur - prev, prev)
    }
}

/// The figures growth compares, for the days `from..=to`.
fn period_figures(store: &Store, p: &Params, from: i64, to: i64) -> [f64; 6] {
    let w = Window::new(store.records(), from * DAY, (to + 1) * DAY);
    let s = Selection::new(&w, p);
    let a = s.sum(&s.views);
    let cr = if p.filter.on_events() {
        ratio(a.visitors() as f64, s.sum(s.base()).visitors() as f64)
    } else {
        0.0
    };
    let duration = avg(avg_session_duration(&w, a.sessions.iter().copied()));
    [
        a.visitors() as f64,
        a.count as f64,
        a.sessions() as f64,
        a.bounce_rate(&w),
        duration as f64,
        cr,
    ]
}

/// The JSON answer of an endpoint. `now`: Unix seconds (for active).
pub fn answer(store: &Store, ep: Endpoint, p: &Params, now: i64) -> Result<String, Refusal> {
    use Endpoint as E;
    match ep {
        E::Goals | E::Keywords | E::Country | E::Region | E::City | E::FunnelList => {
            return Ok("[]".into())
        }
        E::Funnel => {
            return Err(match p.funnel_id {
                None => {
                    Refusal::Invalid(vec![("funnel_id".into(), "funnel_id is required".into())])
                }
                Some(_) => Refusal::NotFound("funnel not found"),
            })
        }
        E::Growth => {
            let days = p.to - p.from + 1;
            let cur = period_figures(store, p, p.from, p.to);
            let prev = period_figures(store, p, p.from - days, p.from - 1);
            let g: Vec<V> = (0..6).map(|i| V::F(growth(cur[i], prev[i]))).collect();
            let mut values = g;
            values.extend([V::F(0.0), V::F(0.0)]);
            return Ok(object(
                &[
                    "visitors_growth",
                    "views_growth",
                    "sessions_growth",
                    "bounces_growth",
                    "time_spent_growth",
                    "cr_growth",
                    "custom_metric_avg_growth",
                    "custom_metric_total_growth",
                ],
                &values,
            ));
        }
        _ => {}
    }
    let (lo, hi) = match ep {
        E::Active => (now - p.start, now + 1),
        _ => (p.from * DAY, (p.to + 1) * DAY),
    };
    let w = Window::new(store.records(), lo, hi);
    let s = Selection::new(&w, p);
    let on_events = p.filter.on_events();
    let list = |t: Table| t.list(&p.list).map(|t| t.json()).map_err(Refusal::Invalid);
    Ok(match ep {
        E::Total => {
            let a = s.sum(&s.views);
            let b = s.sum(s.base());
            object(
                TOTAL_FIELDS,
                &summary_values(&w, Some(&a), Some(&b), on_events),
            )
        }
        E::Visitor => {
            let key = |it: &Item, k: &mut Vec<i64>| k.push(p.scale.bucket(day_of(it.rec.time)));
            let g = s.group(&s.views, key);
            let g0 = s.group(s.base(), key);
            let mut t = Table::new(VISITOR_FIELDS, "day");
            for b in buckets(p) {
                let mut row = date_fields(p.scale, b);
                row.extend(summary_values(&w, g.get(&b), g0.get(&b), on_events));
                t.push(row);
            }
            t.json()
        }
        E::Hours => {
            let key = |it: &Item, k: &mut Vec<i64>| k.push(it.rec.time.rem_euclid(DAY) / 3600);
            let g = s.group(&s.views, key);
            let g0 = s.group(s.base(), key);
            let mut t = Table::new(HOUR_FIELDS, "hour");
            for h in 0..24 {
                let mut row = vec![V::I(h)];
                row.extend(summary_values(&w, g.get(&h), g0.get(&h), on_events));
                t.push(row);
            }
            t.json()
        }
        E::SessionDuration => {
            let sessions: BTreeSet<usize> = s.views.iter().map(|&i| w.items[i].session).collect();
            let mut by_bucket: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
            for id in sessions {
                let b = p.scale.bucket(day_of(w.sessions[id].start));
                by_bucket.entry(b).or_default().push(id);
            }
            let mut t = Table::new(TIME_FIELDS, "path");
            for b in buckets(p) {
                let ids = by_bucket.remove(&b).unwrap_or_default();
                let mut row = date_fields(p.scale, b);
                row.extend([V::s(""), V::s(""), V::I(avg(avg_session_duration(&w, ids)))]);
                t.push(row);
            }
            t.json()
        }
        E::TimeOnPage => {
            let g = s.group(&s.views, |it, k| {
                k.push(p.scale.bucket(day_of(it.rec.time)))
            });
            let mut t = Table::new(TIME_FIELDS, "path");
            for b in buckets(p) {
                let mut row = date_fields(p.scale, b);
                let secs = g.get(&b).map_or(0, Acc::avg_time_on_page);
                row.extend([V::s(""), V::s(""), V::I(secs)]);
                t.push(row);
            }
            t.json()
        }
        E::Page => list(pages(&s, &s.views, p))?,
        E::EventPage if p.filter.event.is_empty() => "[]".into(),
        E::EventPage => {
            let mut t = pages(&s, &s.events, p);
            // No time on page for events.
            for r in &mut t.rows {
                r[9] = V::I(0);
            }
            list(t)?
        }
        E::Entry | E::Exit => {
            let entry = ep == E::Entry;
            let fields: &'static [&'static str] = if entry {
                &[
                    "path",
                    "title",
                    "visitors",
                    "sessions",
                    "entries",
                    "entry_rate",
                    "average_time_spent_seconds",
                ]
            } else {
                &[
                    "path",
                    "title",
                    "visitors",
                    "sessions",
                    "exits",
                    "exit_rate",
                ]
            };
            let mut t = Table::new(fields, "path");
            let sessions = s.sum(&s.views).sessions();
            for (path, a) in s.group(&s.views, |it, k| k.push(&*it.rec.page.path)) {
                let n = if entry { a.entries } else { a.exits };
                if n == 0 {
                    continue;
                }
                let mut row = vec![
                    V::s(path),
                    a.title(),
                    V::u(a.visitors()),
                    V::u(a.sessions()),
                    V::u(n),
                    rel(n, sessions),
                ];
                if entry {
                    row.push(V::I(if p.include_time_on_page {
                        a.avg_time_on_page()
                    } else {
                        0
                    }));
                }
                t.push(row);
            }
            list(t)?
        }
        E::Utm(i) => {
            let fields: &'static [&'static str] = match i {
                0 => &["visitors", "relative_visitors", "utm_source"],
                1 => &["visitors", "relative_visitors", "utm_medium"],
                2 => &["visitors", "relative_visitors", "utm_campaign"],
                3 => &["visitors", "relative_visitors", "utm_content"],
                _ => &["visitors", "relative_visitors", "utm_term"],
            };
            debug_assert_eq!(fields[2], UTM[i.min(4)]);
            list(meta(&s, fields, |r| {
                nonempty(&r.page.utm[i.min(4)]).map(|v| vec![v])
            }))?
        }
        E::Language => list(meta(
            &s,
            &["visitors", "relative_visitors", "language"],
            |r| nonempty(&r.client.language).map(|v| vec![v]),
        ))?,
        E::Os => list(meta(&s, &["visitors", "relative_visitors", "os"], |r| {
            nonempty(r.client.os).map(|v| vec![v])
        }))?,
        E::OsVersion => list(meta(
            &s,
            &["visitors", "relative_visitors", "os", "os_version"],
            |r| nonempty(r.client.os).map(|v| vec![v, &*r.client.os_version]),
        ))?,
        E::Browser => list(meta(
            &s,
            &["visitors", "relative_visitors", "browser"],
            |r| nonempty(r.client.browser).map(|v| vec![v]),
        ))?,
        E::BrowserVersion => list(meta(
            &s,
            &[
                "visitors",
                "relative_visitors",
                "browser",
                "browser_version",
            ],
            |r| nonempty(r.client.browser).map(|v| vec![v, &*r.client.browser_version]),
        ))?,
        E::Screen => list(meta(
            &s,
            &["visitors", "relative_visitors", "screen_class"],
            |r| nonempty(r.client.screen_class).map(|v| vec![v]),
        ))?,
        E::Referrer => {
            let mut t = Table::new(
                &[
                    "referrer",
                    "referrer_name",
                    "referrer_icon",
                    "visitors",
                    "sessions",
                    "relative_visitors",
                    "bounces",
                    "bounce_rate",
                ],
                "referrer",
            );
            let total = s.sum(&s.views).visitors();
            let g = s.group(&s.views, |it, k| {
                let pg = &it.rec.page;
                if !pg.referrer.is_empty() {
                    k.push((&*pg.referrer, &*pg.referrer_name));
                }
            });
            for ((r, name), a) in g {
                t.push(vec![
                    V::s(r),
                    V::s(name),
                    V::s(""),
                    V::u(a.visitors()),
                    V::u(a.sessions()),
                    rel(a.visitors(), total),
                    V::u(a.bounces(&w)),
                    V::F(a.bounce_rate(&w)),
                ]);
            }
            list(t)?
        }
        E::Platform => {
            let total = s.sum(&s.views).visitors();
            let g = s.group(&s.views, |it, k| k.push(it.rec.client.platform.name()));
            let n = |name: &str| g.get(name).map_or(0, Acc::visitors);
            let (d, m, u) = (n("desktop"), n("mobile"), n("unknown"));
            object(
                &[
                    "platform_desktop",
                    "platform_mobile",
                    "platform_unknown",
                    "relative_platform_desktop",
                    "relative_platform_mobile",
                    "relative_platform_unknown",
                ],
                &[
                    V::u(d),
                    V::u(m),
                    V::u(u),
                    rel(d, total),
                    rel(m, total),
                    rel(u, total),
                ],
            )
        }
        E::Events => list(events_table(&s, None, s.sum(s.base()).visitors()))?,
        E::EventMeta if p.filter.event.is_empty() || p.filter.event_meta_key.is_empty() => {
            "[]".into()
        }
        E::EventMeta => list(events_table(
            &s,
            Some(&p.filter.event_meta_key),
            s.sum(s.base()).visitors(),
        ))?,
        E::EventList => {
            let mut t = Table::new(&["name", "meta", "visitors", "count"], "name");
            let g = s.group(&s.events, |it, k| {
                let e = it.rec.event.as_deref().expect("an event");
                k.push((&*e.name, &e.meta));
            });
            for ((name, meta), a) in g {
                let m: serde_json::Map<String, serde_json::Value> = meta
                    .iter()
                    .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                    .collect();
                t.push(vec![
                    V::s(name),
                    V::Raw(serde_json::Value::Object(m).to_string()),
                    V::u(a.visitors()),
                    V::u(a.count),
                ]);
            }
            list(t)?
        }
        E::Tags => list(tags_table(&s, None))?,
        E::TagDetails if p.filter.tag.is_empty() => "[]".into(),
        E::TagDetails => list(tags_table(&s, Some(&p.filter.tag)))?,
        E::Active => {
            let mut t = Table::new(&["path", "title", "visitors"], "path");
            for (path, a) in s.group(&s.views, |it, k| k.push(&*it.rec.page.path)) {
                t.push(vec![V::s(path), a.title(), V::u(a.visitors())]);
            }
            let stats = list(t)?;
            let visitors = s.sum(&s.views).visitors();
            format!("{{\"stats\":{stats},\"countries\":[],\"visitors\":{visitors}}}")
        }
        E::Goals
        | E::Keywords
        | E::Country
        | E::Region
        | E::City
        | E::FunnelList
        | E::Funnel
        | E::Growth => unreachable!("answered above"),
    })
}
