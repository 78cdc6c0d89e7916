//! The endpoints' figures, from items as the API receives them.

use serde_json::{json, Value};

use super::*;
use crate::items::parse_fields;
use crate::timeutil::parse_date;

/// 2026-11-26 10:00:00 UTC.
fn t0() -> i64 {
    parse_date("2026-11-26").unwrap() * 86_400 + 10 * 3600
}

const DAY_Q: &str = "id=d&from=2026-11-26&to=2026-11-26";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

struct S(Store);

impl S {
    fn new() -> S {
        S(Store::default())
    }
    /// A page view (`event` None) or event at `time`, visitor = hash of ip and user agent.
    fn add(&mut self, time: i64, item: Value) -> &mut S {
        let raw = item.to_string();
        let f = parse_fields(&raw).unwrap();
        let ip = item["ip"].as_str().unwrap_or("");
        let ua = item["user_agent"].as_str().unwrap_or("");
        let visitor = {
            use std::hash::{DefaultHasher, Hash, Hasher};
            let mut h = DefaultHasher::new();
            ip.hash(&mut h);
            ua.hash(&mut h);
            h.finish()
        };
        self.0
            .push(facts(&f, item.get("event_name").is_some(), time, visitor));
        self
    }
    fn view(&mut self, time: i64, ip: &str, url: &str) -> &mut S {
        self.add(
            time,
            json!({"url": format!("https://example.com{url}"), "ip": ip}),
        )
    }
    fn get(&self, ep: &str, q: &str) -> Value {
        self.get_at(ep, q, t0())
    }
    fn get_at(&self, ep: &str, q: &str, now: i64) -> Value {
        let e = endpoint(ep);
        let body = answer(&self.0, e, q, now).unwrap_or_else(|r| panic!("{ep}?{q}: {r:?}"));
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{ep}: {e}: {body}"))
    }
    fn refused(&self, ep: &str, q: &str) -> Refusal {
        let e = endpoint(ep);
        answer(&self.0, e, q, t0()).unwrap_err()
    }
}

/// "page" is /api/v1/statistics/page; a path that starts with '/' is taken as it is.
fn endpoint(ep: &str) -> Endpoint {
    let path = if ep.starts_with('/') {
        ep.to_string()
    } else {
        format!("/api/v1/statistics/{ep}")
    };
    Endpoint::from_path(&path).unwrap_or_else(|| panic!("no endpoint {path}"))
}

fn q(extra: &str) -> String {
    format!("{DAY_Q}&{extra}")
}

/// Two visitors view /a, the first also /b a minute later.
fn two_on_a() -> S {
    let mut s = S::new();
    s.view(t0(), "10.0.0.1", "/a")
        .view(t0() + 5, "10.0.0.2", "/a")
        .view(t0() + 60, "10.0.0.1", "/b");
    s
}

#[test]
fn totals_pages_and_a_path_filter() {
    let s = two_on_a();
    let t = s.get("total", DAY_Q);
    assert_eq!(t["visitors"], 2);
    assert_eq!(t["views"], 3);
    assert_eq!(t["sessions"], 2);
    assert_eq!(t["bounces"], 1, "10.0.0.2 saw one page");
    assert_eq!(t["bounce_rate"], 0.5);
    assert_eq!(
        (t["cr"].as_f64(), t["custom_metric_total"].as_f64()),
        (Some(0.0), Some(0.0))
    );

    let p = s.get("page", DAY_Q);
    assert_eq!(p[0]["path"], "/a");
    assert_eq!(
        (p[0]["views"].as_u64(), p[0]["visitors"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(p[0]["relative_visitors"], 1.0);
    assert_eq!(p[0]["relative_views"], 0.6667);
    assert_eq!(p[0]["bounces"], 1);
    assert_eq!(p[1]["path"], "/b");
    assert_eq!(p[1]["views"], 1);
    assert_eq!(p.as_array().unwrap().len(), 2);

    let t = s.get("total", &q("path=/b"));
    assert_eq!(
        (t["views"].as_u64(), t["visitors"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(t["bounces"], 0, "the session of /b saw two pages");
    let t = s.get("total", &q("path=/b&path=%2Fa"));
    assert_eq!(t["views"], 3, "repeated parameter: any of the values");
    let t = s.get("total", &q("pattern=/*"));
    assert_eq!(t["views"], 3);
    let t = s.get("total", &q("pattern=/b*"));
    assert_eq!(t["views"], 1);
    // Outside the range.
    let t = s.get("total", "id=d&from=2026-11-27&to=2026-11-30");
    assert_eq!(t["views"], 0);
}

#[test]
fn visitor_series_and_scales() {
    let mut s = two_on_a();
    s.view(t0() + 86_400 * 7, "10.0.0.3", "/c");
    let v = s.get("visitor", "id=d&from=2026-11-25&to=2026-12-03");
    assert_eq!(v.as_array().unwrap().len(), 9);
    assert_eq!(v[1]["day"], "2026-11-26T00:00:00Z");
    assert_eq!(
        (v[1]["visitors"].as_u64(), v[1]["views"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(
        (v[1]["sessions"].as_u64(), v[1]["bounces"].as_u64()),
        (Some(2), Some(1))
    );
    assert!(v[1]["week"].is_null() && v[1]["month"].is_null());
    assert_eq!(v[0]["views"], 0);
    assert_eq!(v[8]["views"], 1);

    let w = s.get("visitor", "id=d&from=2026-11-25&to=2026-12-03&scale=week");
    assert_eq!(w.as_array().unwrap().len(), 2);
    assert_eq!(w[0]["week"], "2026-11-23T00:00:00Z");
    assert!(w[0]["day"].is_null());
    assert_eq!(
        (w[0]["views"].as_u64(), w[1]["views"].as_u64()),
        (Some(3), Some(1))
    );
    let m = s.get("visitor", "id=d&from=2026-11-25&to=2026-12-03&scale=month");
    assert_eq!(m[0]["month"], "2026-11-01T00:00:00Z");
    assert_eq!(m[1]["month"], "2026-12-01T00:00:00Z");
    assert_eq!(
        (m[0]["visitors"].as_u64(), m[1]["visitors"].as_u64()),
        (Some(2), Some(1))
    );
    let y = s.get("visitor", "id=d&from=2026-11-25&to=2026-12-03&scale=year");
    assert_eq!(
        (y[0]["year"].as_str(), y[0]["visitors"].as_u64()),
        (Some("2026-01-01T00:00:00Z"), Some(3))
    );
    let big = s.get("visitor", "id=d&from=2020-01-01&to=2026-01-01");
    assert_eq!(big.as_array().unwrap().len(), 366);
    assert_eq!(
        s.refused("visitor", &q("scale=hour")),
        Refusal::Invalid(vec![(
            "scale".into(),
            "scale must be day, week, month or year".into()
        )])
    );
}

#[test]
fn entry_exit_and_durations() {
    let mut s = two_on_a();
    // 10.0.0.1 comes back 2 hours later: a second session /c -> /a (30 s).
    s.view(t0() + 7200, "10.0.0.1", "/c")
        .view(t0() + 7230, "10.0.0.1", "/a");
    let e = s.get("page/entry", DAY_Q);
    assert_eq!(e.as_array().unwrap().len(), 2);
    let a = &e[0];
    assert_eq!(
        (a["path"].as_str(), a["entries"].as_u64()),
        (Some("/a"), Some(2))
    );
    assert_eq!(
        (a["visitors"].as_u64(), a["sessions"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(a["entry_rate"], 0.6667, "2 of 3 sessions");
    assert_eq!(
        a["average_time_spent_seconds"], 0,
        "only with include_avg_time_on_page"
    );
    assert_eq!(
        (e[1]["path"].as_str(), e[1]["entries"].as_u64()),
        (Some("/c"), Some(1))
    );
    let x = s.get("page/exit", DAY_Q);
    let paths: Vec<_> = x
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["path"].as_str().unwrap(), r["exits"].as_u64().unwrap()))
        .collect();
    assert_eq!(paths, [("/a", 2), ("/b", 1)]);
    assert!(x[0].get("average_time_spent_seconds").is_none());

    // Time on page: /a 60 s (then /b), /c 30 s; the last page of a session has none.
    let p = s.get("page", &q("include_avg_time_on_page=true"));
    let a = p
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "/a")
        .unwrap();
    assert_eq!(a["average_time_spent_seconds"], 60);
    let e = s.get("page/entry", &q("include_avg_time_on_page=true"));
    assert_eq!(e[0]["average_time_spent_seconds"], 60);
    let d = s.get("duration/page", DAY_Q);
    assert_eq!(d[0]["day"], "2026-11-26T00:00:00Z");
    assert_eq!(d[0]["average_time_spent_seconds"], 45, "(60 + 30) / 2");
    // Sessions: 60 s and 30 s; the bounced one has no duration.
    let d = s.get("duration/session", DAY_Q);
    assert_eq!(d[0]["average_time_spent_seconds"], 45);
    assert_eq!(d[0]["path"], "");
    let d = s.get(
        "duration/session",
        "id=d&from=2026-11-20&to=2026-11-26&scale=week",
    );
    assert_eq!(d.as_array().unwrap().len(), 2);
    assert_eq!(
        (
            d[1]["week"].as_str(),
            d[1]["average_time_spent_seconds"].as_i64()
        ),
        (Some("2026-11-23T00:00:00Z"), Some(45))
    );

    // Session filters.
    let t = s.get("total", &q("entry_path=/c"));
    assert_eq!(
        (t["sessions"].as_u64(), t["views"].as_u64()),
        (Some(1), Some(2))
    );
    let t = s.get("total", &q("exit_path=/a"));
    assert_eq!(
        (t["sessions"].as_u64(), t["visitors"].as_u64()),
        (Some(2), Some(2))
    );
}

#[test]
fn utm_referrer_language_and_devices() {
    let mut s = S::new();
    s.add(t0(), json!({"url": "https://e.com/?utm_source=x&utm_medium=m%20m&utm_campaign=c&utm_content=k&utm_term=t",
        "ip": "1", "user_agent": CHROME, "accept_language": "de-DE,de;q=0.9", "screen_width": 1920,
        "referrer": "https://www.google.com/search?q=x"}));
    s.add(
        t0() + 1,
        json!({"url": "https://e.com/?utm_source=x", "ip": "2", "user_agent": IPHONE,
        "accept_language": "en-US", "screen_width": 390, "sec_ch_ua_mobile": "?1"}),
    );
    s.add(
        t0() + 2,
        json!({"url": "https://e.com/?ref=newsletter", "ip": "3", "user_agent": "curl/8"}),
    );
    let u = s.get("utm/source", DAY_Q);
    assert_eq!(
        u,
        json!([{"visitors": 2, "relative_visitors": 0.6667, "utm_source": "x"}])
    );
    assert_eq!(s.get("utm/medium", DAY_Q)[0]["utm_medium"], "m m");
    assert_eq!(s.get("utm/campaign", DAY_Q)[0]["utm_campaign"], "c");
    assert_eq!(s.get("utm/content", DAY_Q)[0]["utm_content"], "k");
    assert_eq!(s.get("utm/term", DAY_Q)[0]["utm_term"], "t");
    assert_eq!(s.get("total", &q("utm_source=x"))["visitors"], 2);
    assert_eq!(s.get("total", &q("utm_term=t"))["visitors"], 1);

    let r = s.get("referrer", DAY_Q);
    assert_eq!(r.as_array().unwrap().len(), 2);
    assert_eq!(r[0]["referrer"], "https://www.google.com/search?q=x");
    assert_eq!(r[0]["referrer_name"], "www.google.com");
    assert_eq!(
        (r[1]["referrer"].as_str(), r[1]["referrer_name"].as_str()),
        (Some("newsletter"), Some("newsletter"))
    );
    assert_eq!(
        (
            r[1]["visitors"].as_u64(),
            r[1]["bounces"].as_u64(),
            r[1]["bounce_rate"].as_f64()
        ),
        (Some(1), Some(1), Some(1.0))
    );
    assert_eq!(
        s.get("total", &q("referrer_name=www.google.com"))["visitors"],
        1
    );

    let l = s.get("language", DAY_Q);
    assert_eq!(
        l,
        json!([{"visitors": 1, "relative_visitors": 0.3333, "language": "de"},
                         {"visitors": 1, "relative_visitors": 0.3333, "language": "en"}])
    );
    assert_eq!(
        s.get("total", &q("language=DE"))["visitors"],
        1,
        "case-insensitive"
    );

    let b = s.get("browser", DAY_Q);
    let names: Vec<_> = b
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["browser"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Chrome", "Other", "Safari"]);
    let bv = s.get("browser/version", &q("browser=Chrome"));
    assert_eq!(
        bv,
        json!([{"visitors": 1, "relative_visitors": 1.0, "browser": "Chrome", "browser_version": "120"}])
    );
    let o = s.get("os/version", DAY_Q);
    let o: Vec<_> = o
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["os"].as_str().unwrap(), r["os_version"].as_str().unwrap()))
        .collect();
    assert_eq!(o, [("Other", ""), ("Windows", "10"), ("iOS", "17.1")]);
    assert_eq!(s.get("os", &q("os=ios"))[0]["os"], "iOS");
    let p = s.get("platform", DAY_Q);
    assert_eq!(
        p,
        json!({"platform_desktop": 1, "platform_mobile": 1, "platform_unknown": 1,
        "relative_platform_desktop": 0.3333, "relative_platform_mobile": 0.3333, "relative_platform_unknown": 0.3333})
    );
    assert_eq!(s.get("total", &q("platform=mobile"))["visitors"], 1);
    let sc = s.get("screen", DAY_Q);
    let sc: Vec<_> = sc
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["screen_class"].as_str().unwrap())
        .collect();
    assert_eq!(sc, ["XL", "XS"]);
    assert_eq!(s.get("total", &q("screen_class=XS"))["visitors"], 1);

    // No locations, no keywords, no goals: always empty, and a location filter matches nothing.
    for ep in ["country", "region", "city", "keywords", "goals"] {
        assert_eq!(s.get(ep, DAY_Q), json!([]), "{ep}");
    }
    assert_eq!(s.get("total", &q("country=de"))["visitors"], 0);
}

#[test]
fn events() {
    let mut s = two_on_a();
    let ev = |ip: &str, name: &str, meta: Value, d: u64| json!({"url": "https://example.com/a", "ip": ip, "event_name": name, "event_meta": meta, "event_duration": d});
    s.add(
        t0() + 10,
        ev("10.0.0.1", "signup", json!({"plan": "pro", "src": "ad"}), 4),
    )
    .add(
        t0() + 20,
        ev("10.0.0.1", "signup", json!({"plan": "team"}), 2),
    )
    .add(t0() + 30, ev("10.0.0.2", "download", json!({}), 0));
    let e = s.get("events", DAY_Q);
    assert_eq!(e.as_array().unwrap().len(), 2);
    assert_eq!(e[0]["name"], "download", "1 visitor each: by name");
    let su = &e[1];
    assert_eq!(
        (
            su["name"].as_str(),
            su["count"].as_u64(),
            su["visitors"].as_u64()
        ),
        (Some("signup"), Some(2), Some(1))
    );
    assert_eq!(su["views"], 2);
    assert_eq!(su["average_duration_seconds"], 3);
    assert_eq!(su["meta_keys"], json!(["plan", "src"]));
    assert_eq!(su["cr"], 0.5, "1 of 2 visitors");
    assert_eq!(su["meta_value"], "");
    let e = s.get("events", &q("event=signup&meta_plan=team"));
    assert_eq!(
        (e[0]["count"].as_u64(), e.as_array().unwrap().len()),
        (Some(1), 1)
    );
    let e = s.get("events", &q("sort=count"));
    assert_eq!(e[0]["name"], "signup");

    assert_eq!(
        s.get("event/meta", &q("event=signup")),
        json!([]),
        "needs event_meta_key"
    );
    let m = s.get("event/meta", &q("event=signup&event_meta_key=plan"));
    let vals: Vec<_> = m
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["meta_value"].as_str().unwrap())
        .collect();
    assert_eq!(vals, ["pro", "team"]);
    assert!(m[0]["meta_keys"].is_null());

    let l = s.get("event/list", DAY_Q);
    assert_eq!(l.as_array().unwrap().len(), 3);
    assert_eq!(
        l[0],
        json!({"name": "download", "meta": {}, "visitors": 1, "count": 1})
    );
    assert_eq!(l[1]["meta"], json!({"plan": "pro", "src": "ad"}));

    assert_eq!(s.get("event/page", DAY_Q), json!([]), "needs event");
    let p = s.get("event/page", &q("event=signup"));
    assert_eq!(
        (
            p[0]["path"].as_str(),
            p[0]["views"].as_u64(),
            p[0]["visitors"].as_u64()
        ),
        (Some("/a"), Some(2), Some(1))
    );

    // An event filter keeps the page views of the sessions with that event.
    let t = s.get("total", &q("event=signup"));
    assert_eq!(
        (
            t["visitors"].as_u64(),
            t["views"].as_u64(),
            t["cr"].as_f64()
        ),
        (Some(1), Some(2), Some(0.5))
    );
    let t = s.get("total", &q("event=nothing"));
    assert_eq!(
        (t["visitors"].as_u64(), t["cr"].as_f64()),
        (Some(0), Some(0.0))
    );
    let v = s.get("visitor", &q("event_meta_key=src"));
    assert_eq!(
        (v[0]["visitors"].as_u64(), v[0]["cr"].as_f64()),
        (Some(1), Some(0.5))
    );
    // Events never count as page views.
    assert_eq!(s.get("total", DAY_Q)["views"], 3);
}

#[test]
fn tags_and_hours() {
    let mut s = S::new();
    let tagged = |ip: &str, tags: Value| json!({"url": "https://e.com/p", "ip": ip, "tags": tags});
    s.add(t0(), tagged("1", json!({"author": "Ann", "kind": "post"})))
        .add(t0() + 1, tagged("2", json!({"author": "Bob"})))
        .add(t0() + 2, tagged("2", json!({"author": "Bob"})))
        .add(t0() + 3600 * 5, tagged("3", json!({})));
    let k = s.get("tags", DAY_Q);
    assert_eq!(
        k,
        json!([
            {"key": "author", "value": "", "visitors": 2, "views": 3, "relative_visitors": 0.6667, "relative_views": 0.75},
            {"key": "kind", "value": "", "visitors": 1, "views": 1, "relative_visitors": 0.3333, "relative_views": 0.25}
        ])
    );
    assert_eq!(s.get("tag/details", DAY_Q), json!([]), "needs tag");
    let d = s.get("tag/details", &q("tag=author"));
    let d: Vec<_> = d
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["value"].as_str().unwrap(), r["views"].as_u64().unwrap()))
        .collect();
    assert_eq!(d, [("Ann", 1), ("Bob", 2)], "1 visitor each: by value");
    assert_eq!(s.get("total", &q("tag_author=Bob"))["views"], 2);
    assert_eq!(
        s.get("total", &q("tag_author=Bob&tag_author=Ann"))["views"],
        3
    );
    assert_eq!(
        s.get("total", &q("tag_author=Ann&tag_kind=post"))["views"],
        1
    );
    assert_eq!(
        s.get("total", &q("tag_author=Bob&tag_kind=post"))["views"],
        0
    );

    let h = s.get("hours", DAY_Q);
    assert_eq!(h.as_array().unwrap().len(), 24);
    assert_eq!(
        (
            h[10]["hour"].as_u64(),
            h[10]["visitors"].as_u64(),
            h[10]["views"].as_u64()
        ),
        (Some(10), Some(2), Some(3))
    );
    assert_eq!(
        (h[15]["visitors"].as_u64(), h[15]["bounces"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(h[0]["views"], 0);
}

#[test]
fn growth_and_active() {
    let mut s = two_on_a();
    s.view(t0() - 86_400, "10.0.0.9", "/a");
    let g = s.get("growth", DAY_Q);
    assert_eq!(g["visitors_growth"], 1.0, "2 against 1");
    assert_eq!(g["views_growth"], 2.0, "3 against 1");
    assert_eq!(g["sessions_growth"], 1.0);
    assert_eq!(g["bounces_growth"], -0.5, "bounce rate 0.5 against 1");
    assert_eq!(g["time_spent_growth"], 1.0, "60 s against none");
    assert_eq!(g["cr_growth"], 0.0);
    let g = s.get("growth", "id=d&from=2026-11-27&to=2026-11-28");
    assert_eq!(g["visitors_growth"], -1.0, "none against 3");

    let now = t0() + 60;
    let a = s.get_at("active", "id=d&start=30", now);
    assert_eq!(
        a,
        json!({"stats": [{"path": "/b", "title": "", "visitors": 1}], "countries": [], "visitors": 1})
    );
    let a = s.get_at(
        "active",
        "id=d&from=0001-01-01&to=0001-01-01&start=600",
        now,
    );
    assert_eq!(a["visitors"], 2);
    assert_eq!(
        a["stats"][0],
        json!({"path": "/a", "title": "", "visitors": 2})
    );
    let a = s.get_at("active", "id=d", now + 3600);
    assert_eq!(a["visitors"], 0, "600 s by default");
    let a = s.get_at("active", "id=d&start=100000", now + 3000);
    assert_eq!(a["visitors"], 2, "at most an hour, which covers it");
    let a = s.get_at("active", "id=d&start=100000", now + 3700);
    assert_eq!(a["visitors"], 0, "at most an hour");
}

#[test]
fn list_options() {
    let mut s = S::new();
    for (i, path) in ["/x", "/y", "/y", "/z", "/z", "/z", "/blog/a"]
        .iter()
        .enumerate()
    {
        s.view(t0() + i as i64, &format!("ip{i}"), path);
    }
    let paths = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["path"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(paths(s.get("page", DAY_Q)), ["/z", "/y", "/blog/a", "/x"]);
    assert_eq!(paths(s.get("page", &q("limit=2"))), ["/z", "/y"]);
    assert_eq!(
        paths(s.get("page", &q("limit=2&offset=1"))),
        ["/y", "/blog/a"]
    );
    assert_eq!(
        paths(s.get("page", &q("offset=0&limit=0"))).len(),
        4,
        "0: no limit"
    );
    assert_eq!(
        paths(s.get("page", &q("sort=visitors&direction=asc"))),
        ["/blog/a", "/x", "/y", "/z"]
    );
    assert_eq!(
        paths(s.get("page", &q("sort=path"))),
        ["/blog/a", "/x", "/y", "/z"]
    );
    assert_eq!(
        paths(s.get("page", &q("sort=path&direction=desc"))),
        ["/z", "/y", "/x", "/blog/a"]
    );
    assert_eq!(paths(s.get("page", &q("search=BLOG"))), ["/blog/a"]);
    assert_eq!(
        paths(s.get("page", &q("search=/&limit=1&offset=1"))),
        ["/y"]
    );
    match s.refused("page", &q("sort=bogus")) {
        Refusal::Invalid(e) => assert_eq!(e[0].0, "sort"),
        r => panic!("{r:?}"),
    }
    // Unknown parameters are ignored.
    assert_eq!(
        s.get(
            "total",
            &q("whatever=1&tz=Europe/Berlin&custom_metric_type=float")
        )["views"],
        7
    );
}

#[test]
fn funnels_and_validation() {
    let s = S::new();
    assert_eq!(
        s.refused("funnel", DAY_Q),
        Refusal::Invalid(vec![("funnel_id".into(), "funnel_id is required".into())])
    );
    assert_eq!(
        s.refused("funnel", &q("funnel_id=f1")),
        Refusal::NotFound("funnel not found")
    );
    assert_eq!(s.get("/api/v1/funnel", "id=d"), json!([]));
    match s.refused("/api/v1/funnel", "") {
        Refusal::Invalid(e) => assert_eq!(e[0].0, "id"),
        r => panic!("{r:?}"),
    }
    match s.refused("total", "id=d&from=2026-11-27&to=2026-11-26") {
        Refusal::Invalid(e) => assert_eq!(e[0].0, "to"),
        r => panic!("{r:?}"),
    }
    match s.refused("active", "from=x") {
        Refusal::Invalid(e) => assert_eq!(e, [("id".to_string(), "id is required".to_string())]),
        r => panic!("{r:?}"),
    }
    // Every statistics path answers.
    for (path, _) in STATISTICS {
        let q = q("funnel_id=");
        if *path != "funnel" {
            s.get(path, &q);
        }
    }
    assert!(Endpoint::from_path("/api/v1/statistics/nope").is_none());
    assert!(Endpoint::from_path("/api/v1/statistics/").is_none());
}

#[test]
fn event_only_sessions_do_not_bounce() {
    let mut s = S::new();
    s.view(t0(), "1", "/a");
    s.add(
        t0() + 1,
        json!({"url": "https://example.com/a", "ip": "1", "event_name": "e"}),
    );
    s.add(
        t0(),
        json!({"url": "https://example.com/a", "ip": "2", "event_name": "e"}),
    );
    let p = s.get("event/page", &q("event=e"));
    assert_eq!(
        (p[0]["visitors"].as_u64(), p[0]["sessions"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(p[0]["bounces"], 1, "only the session with one page view");
    assert_eq!(p[0]["bounce_rate"], 0.5);
    assert_eq!(
        s.get("total", DAY_Q)["visitors"],
        1,
        "events are not page views"
    );
}
