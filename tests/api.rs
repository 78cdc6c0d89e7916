//! The whole API through the C ABI: every field, validation before the network, the
//! spoof-safe client IP, request headers, events, sessions and reading statistics.

mod common;
use common::*;
use pirsch::ffi::*;
use serde_json::{json, Value};
use std::ffi::{c_char, CStr};
use std::ptr;

fn all_fields() -> HitData {
    let mut h = HitData::page("https://example.com/every/field?x=1", "198.51.100.1");
    for (f, v) in [
        ("user_agent", "UA-1"),
        ("accept_language", "AL-2"),
        ("sec_ch_ua", "CHUA-3"),
        ("sec_ch_ua_mobile", "?4"),
        ("sec_ch_ua_platform", "PLAT-5"),
        ("sec_ch_ua_platform_version", "PV-6"),
        ("sec_ch_width", "7"),
        ("sec_ch_viewport_width", "8"),
        ("title", "Title \"9\" ünïcode"),
        ("referrer", "https://ref.example/10"),
    ] {
        h = h.set(f, v);
    }
    h.screen_width = 1111;
    h.screen_height = 2222;
    h.disable_bot_filter = true;
    h.tag("t1", "v1").tag("t2", "v2")
}

fn event_opts(name: *const c_char, meta: &[pirsch_kv]) -> pirsch_event_options {
    pirsch_event_options {
        struct_size: std::mem::size_of::<pirsch_event_options>(),
        name,
        duration_seconds: 33,
        meta: if meta.is_empty() {
            ptr::null()
        } else {
            meta.as_ptr()
        },
        meta_len: meta.len(),
        non_interactive: true,
    }
}

#[test]
fn every_field_reaches_the_api_exactly() {
    let s = Standin::start();
    let c = TestClient::oauth(&s);
    let h = all_fields();
    assert_eq!(c.hit(&h), PIRSCH_OK, "{}", last_error());
    let name = cstr("ev-name");
    let (mk, mv) = (cstr("mk"), cstr("mv"));
    let meta = [pirsch_kv {
        key: mk.as_ptr(),
        value: mv.as_ptr(),
    }];
    let ev = event_opts(name.as_ptr(), &meta);
    unsafe {
        assert_eq!(
            pirsch_event(c.0, &ev, &h.opts()),
            PIRSCH_OK,
            "{}",
            last_error()
        );
        assert_eq!(
            pirsch_session(c.0, &h.opts()),
            PIRSCH_OK,
            "{}",
            last_error()
        );
    }
    let expected_hit = json!({
        "url": "https://example.com/every/field?x=1", "ip": "198.51.100.1",
        "user_agent": "UA-1", "accept_language": "AL-2", "sec_ch_ua": "CHUA-3", "sec_ch_ua_mobile": "?4",
        "sec_ch_ua_platform": "PLAT-5", "sec_ch_ua_platform_version": "PV-6", "sec_ch_width": "7",
        "sec_ch_viewport_width": "8", "title": "Title \"9\" ünïcode", "referrer": "https://ref.example/10",
        "screen_width": 1111, "screen_height": 2222, "disable_bot_filter": true,
        "tags": {"t1": "v1", "t2": "v2"}
    });
    let hit = &s.bodies("hit")[0];
    for (k, v) in expected_hit.as_object().unwrap() {
        assert_eq!(&hit[k], v, "hit field {k}");
    }
    assert_eq!(
        hit.as_object().unwrap().len(),
        expected_hit.as_object().unwrap().len(),
        "no other fields: {hit}"
    );

    let event = &s.bodies("event")[0];
    let mut expected_event = expected_hit.clone();
    let e = expected_event.as_object_mut().unwrap();
    e.insert("event_name".into(), json!("ev-name"));
    e.insert("event_duration".into(), json!(33));
    e.insert("event_meta".into(), json!({"mk": "mv"}));
    e.insert("non_interactive".into(), json!(true));
    for (k, v) in e.iter() {
        assert_eq!(&event[k], v, "event field {k}");
    }
    assert_eq!(event.as_object().unwrap().len(), e.len(), "{event}");

    let session = &s.bodies("session")[0];
    let expected_session = json!({
        "ip": "198.51.100.1", "user_agent": "UA-1", "sec_ch_ua": "CHUA-3", "sec_ch_ua_mobile": "?4",
        "sec_ch_ua_platform": "PLAT-5", "sec_ch_ua_platform_version": "PV-6", "sec_ch_width": "7",
        "sec_ch_viewport_width": "8", "disable_bot_filter": true
    });
    assert_eq!(session, &expected_session);
}

#[test]
fn empty_and_zero_fields_are_left_out() {
    let s = Standin::start();
    let c = TestClient::oauth(&s);
    let h = HitData::page("https://example.com/min", "198.51.100.1")
        .set("user_agent", "")
        .set("title", "");
    assert_eq!(c.hit(&h), PIRSCH_OK);
    assert_eq!(
        s.bodies("hit")[0],
        json!({"url": "https://example.com/min", "ip": "198.51.100.1"})
    );
}

#[test]
fn invalid_items_are_refused_before_the_network_naming_the_field() {
    let s = Standin::start();
    let c = TestClient::oauth(&s);
    let long = "x".repeat(8 * 1024 + 1);
    let k51 = "k".repeat(51);
    let base = || HitData::page("https://example.com/", "198.51.100.1");
    let mut cases: Vec<(HitData, &str)> = vec![
        (
            HitData::default().set("ip", "198.51.100.1"),
            "url is required",
        ),
        (
            base().set("url", "ftp://example.com/"),
            "absolute http(s) URL",
        ),
        (base().set("url", "/relative/path"), "absolute http(s) URL"),
        (
            base().set("url", "example.com/page"),
            "absolute http(s) URL",
        ),
        (base().set("url", "https:///nohost"), "has no host"),
        (base().set("url", "https://example.com/a b"), "spaces"),
        (base().set("ip", "300.1.2.3"), "not an IP address"),
        (base().set("title", &long), "title is 8193 bytes"),
        (base().set("user_agent", &long), "user_agent is 8193 bytes"),
        (base().set("referrer", &long), "referrer"),
        (
            base().set("url", &format!("https://example.com/{long}")),
            "url is",
        ),
        (base().tag("", "v"), "empty key"),
        (base().tag("a", "1").tag("a", "2"), "given twice"),
        (base().tag(&k51, "v"), "longer than 50"),
        (base().tag("k", &k51), "longer than 50"),
    ];
    let mut many = base();
    for i in 0..21 {
        many = many.tag(&format!("k{i}"), "v");
    }
    cases.push((many, "at most 20"));
    let mut neg = base();
    neg.screen_width = -1;
    cases.push((neg, "must not be negative"));
    for (h, needle) in &cases {
        assert_eq!(
            c.hit(h),
            PIRSCH_ERR_INVALID_ARGUMENT,
            "expected refusal containing {needle:?}"
        );
        let msg = last_error();
        assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
    }

    // Events: name required, metadata limits.
    let h = base();
    let names = [cstr(""), cstr("ok")];
    let (a, b, one, two) = (cstr("a"), cstr("a"), cstr("1"), cstr("2"));
    let dup = [
        pirsch_kv {
            key: a.as_ptr(),
            value: one.as_ptr(),
        },
        pirsch_kv {
            key: b.as_ptr(),
            value: two.as_ptr(),
        },
    ];
    let keys: Vec<_> = (0..21).map(|i| cstr(&format!("m{i}"))).collect();
    let too_many: Vec<pirsch_kv> = keys
        .iter()
        .map(|k| pirsch_kv {
            key: k.as_ptr(),
            value: one.as_ptr(),
        })
        .collect();
    let null_value = [pirsch_kv {
        key: a.as_ptr(),
        value: ptr::null(),
    }];
    unsafe {
        assert_eq!(
            pirsch_event(c.0, &event_opts(ptr::null(), &[]), &h.opts()),
            PIRSCH_ERR_INVALID_ARGUMENT
        );
        assert!(last_error().contains("event name is required"));
        assert_eq!(
            pirsch_event(c.0, &event_opts(names[0].as_ptr(), &[]), &h.opts()),
            PIRSCH_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            pirsch_event(c.0, &event_opts(names[1].as_ptr(), &dup), &h.opts()),
            PIRSCH_ERR_INVALID_ARGUMENT
        );
        assert!(
            last_error().contains("event meta key \"a\" is given twice"),
            "{}",
            last_error()
        );
        assert_eq!(
            pirsch_event(c.0, &event_opts(names[1].as_ptr(), &too_many), &h.opts()),
            PIRSCH_ERR_INVALID_ARGUMENT
        );
        assert!(
            last_error().contains("meta has 21 entries"),
            "{}",
            last_error()
        );
        assert_eq!(
            pirsch_event(c.0, &event_opts(names[1].as_ptr(), &null_value), &h.opts()),
            PIRSCH_ERR_NULL_ARGUMENT
        );
        assert!(
            last_error().contains("meta[0].value is NULL"),
            "{}",
            last_error()
        );
        let mut bad_len = event_opts(names[1].as_ptr(), &[]);
        bad_len.meta_len = 2;
        assert_eq!(
            pirsch_event(c.0, &bad_len, &h.opts()),
            PIRSCH_ERR_NULL_ARGUMENT
        );
        // A session needs no url, but an ip.
        assert_eq!(
            pirsch_session(c.0, &HitData::default().set("user_agent", "x").opts()),
            PIRSCH_ERR_INVALID_ARGUMENT
        );
        assert!(
            last_error().contains("ip is required for a session"),
            "{}",
            last_error()
        );
    }
    let counters = s.counters();
    assert_eq!(
        counters["requests"], 0,
        "nothing was sent, not even a token request: {counters}"
    );
}

/// (client_ip_header, peer, cf-connecting-ip, x-forwarded-for, forwarded, x-real-ip, expected ip)
/// Only the configured header is read, and only from a trusted peer: 6.6.6.6 is a visitor's forgery.
#[rustfmt::skip]
const IP_CASES: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
    ("x-forwarded-for", "203.0.113.5", "", "", "", "", "203.0.113.5"),
    ("forwarded", "203.0.113.5", "", "", "", "", "203.0.113.5"),
    ("x-real-ip", "203.0.113.5", "", "", "", "", "203.0.113.5"),
    ("cf-connecting-ip", "203.0.113.5", "", "", "", "", "203.0.113.5"),
    ("x-forwarded-for", "203.0.113.5", "", "1.1.1.1", "", "", "203.0.113.5"),
    ("forwarded", "203.0.113.5", "", "1.1.1.1", "", "", "203.0.113.5"),
    ("x-real-ip", "203.0.113.5", "", "1.1.1.1", "", "", "203.0.113.5"),
    ("cf-connecting-ip", "203.0.113.5", "", "1.1.1.1", "", "", "203.0.113.5"),
    ("x-forwarded-for", "203.0.113.5", "1.1.1.1", "", "", "", "203.0.113.5"),
    ("forwarded", "203.0.113.5", "1.1.1.1", "", "", "", "203.0.113.5"),
    ("x-real-ip", "203.0.113.5", "1.1.1.1", "", "", "", "203.0.113.5"),
    ("cf-connecting-ip", "203.0.113.5", "1.1.1.1", "", "", "", "203.0.113.5"),
    ("x-forwarded-for", "203.0.113.5", "", "", "for=1.1.1.1", "", "203.0.113.5"),
    ("forwarded", "203.0.113.5", "", "", "for=1.1.1.1", "", "203.0.113.5"),
    ("x-real-ip", "203.0.113.5", "", "", "for=1.1.1.1", "", "203.0.113.5"),
    ("cf-connecting-ip", "203.0.113.5", "", "", "for=1.1.1.1", "", "203.0.113.5"),
    ("x-forwarded-for", "203.0.113.5", "", "", "", "1.1.1.1", "203.0.113.5"),
    ("forwarded", "203.0.113.5", "", "", "", "1.1.1.1", "203.0.113.5"),
    ("x-real-ip", "203.0.113.5", "", "", "", "1.1.1.1", "203.0.113.5"),
    ("cf-connecting-ip", "203.0.113.5", "", "", "", "1.1.1.1", "203.0.113.5"),
    ("x-forwarded-for", "11.0.0.1", "", "10.0.0.9", "", "", "11.0.0.1"),
    ("forwarded", "11.0.0.1", "", "10.0.0.9", "", "", "11.0.0.1"),
    ("x-real-ip", "11.0.0.1", "", "10.0.0.9", "", "", "11.0.0.1"),
    ("cf-connecting-ip", "11.0.0.1", "", "10.0.0.9", "", "", "11.0.0.1"),
    ("x-forwarded-for", "203.0.113.5:5555", "", "1.1.1.1", "", "", "203.0.113.5"),
    ("forwarded", "203.0.113.5:5555", "", "1.1.1.1", "", "", "203.0.113.5"),
    ("x-real-ip", "203.0.113.5:5555", "", "1.1.1.1", "", "", "203.0.113.5"),
    ("cf-connecting-ip", "203.0.113.5:5555", "", "1.1.1.1", "", "", "203.0.113.5"),
    ("x-forwarded-for", "[2001:db8::5]:80", "", "1.1.1.1", "", "", "2001:db8::5"),
    ("forwarded", "[2001:db8::5]:80", "", "1.1.1.1", "", "", "2001:db8::5"),
    ("x-real-ip", "[2001:db8::5]:80", "", "1.1.1.1", "", "", "2001:db8::5"),
    ("cf-connecting-ip", "[2001:db8::5]:80", "", "1.1.1.1", "", "", "2001:db8::5"),
    ("x-forwarded-for", "2001:db8::5", "", "", "", "", "2001:db8::5"),
    ("forwarded", "2001:db8::5", "", "", "", "", "2001:db8::5"),
    ("x-real-ip", "2001:db8::5", "", "", "", "", "2001:db8::5"),
    ("cf-connecting-ip", "2001:db8::5", "", "", "", "", "2001:db8::5"),
    ("x-forwarded-for", "10.0.0.1", "", "198.51.100.7", "", "", "198.51.100.7"),
    ("x-forwarded-for", "10.0.0.1", "", "1.1.1.1, 198.51.100.7", "", "", "198.51.100.7"),
    ("x-forwarded-for", "10.0.0.1", "", "198.51.100.7, 10.0.0.2", "", "", "198.51.100.7"),
    ("x-forwarded-for", "10.0.0.1", "", "198.51.100.7, 10.0.0.2, 192.168.1.1", "", "", "198.51.100.7"),
    ("x-forwarded-for", "10.0.0.1", "", "10.0.0.3, 10.0.0.2", "", "", "10.0.0.3"),
    ("x-forwarded-for", "10.0.0.1", "", "198.51.100.7, garbage", "", "", "10.0.0.1"),
    ("x-forwarded-for", "10.0.0.1", "", "garbage, 198.51.100.7", "", "", "198.51.100.7"),
    ("x-forwarded-for", "10.0.0.1", "", "198.51.100.7:4711", "", "", "198.51.100.7"),
    ("x-forwarded-for", "10.0.0.1", "", "2001:db8::7", "", "", "2001:db8::7"),
    ("x-forwarded-for", "10.0.0.1", "", "[2001:db8::7]:443", "", "", "2001:db8::7"),
    ("x-forwarded-for", "10.0.0.1", "", "::ffff:198.51.100.7", "", "", "198.51.100.7"),
    ("x-forwarded-for", "10.0.0.1", "", " 198.51.100.13 ", "", "", "198.51.100.13"),
    ("x-forwarded-for", "10.0.0.1", "", "", "", "", "10.0.0.1"),
    ("x-forwarded-for", "fd00::1", "", "198.51.100.11", "", "", "198.51.100.11"),
    ("x-forwarded-for", "::ffff:10.0.0.1", "", "198.51.100.12", "", "", "198.51.100.12"),
    ("x-forwarded-for", "127.0.0.1", "", "198.51.100.14", "", "", "198.51.100.14"),
    ("cf-connecting-ip", "10.0.0.1", "198.51.100.8", "198.51.100.7", "", "", "198.51.100.8"),
    ("x-forwarded-for", "10.0.0.1", "198.51.100.8", "198.51.100.7", "", "", "198.51.100.7"),
    ("cf-connecting-ip", "10.0.0.1", "not-an-ip", "198.51.100.7", "", "", "10.0.0.1"),
    ("x-forwarded-for", "10.0.0.1", "not-an-ip", "198.51.100.7", "", "", "198.51.100.7"),
    ("forwarded", "10.0.0.1", "", "", "for=198.51.100.9", "", "198.51.100.9"),
    ("x-forwarded-for", "10.0.0.1", "", "", "for=198.51.100.9", "", "10.0.0.1"),
    ("forwarded", "10.0.0.1", "", "", "for=\"[2001:db8:cafe::17]:4711\"", "", "2001:db8:cafe::17"),
    ("x-forwarded-for", "10.0.0.1", "", "", "for=\"[2001:db8:cafe::17]:4711\"", "", "10.0.0.1"),
    ("forwarded", "10.0.0.1", "", "", "for=198.51.100.9;proto=https;by=10.0.0.1", "", "198.51.100.9"),
    ("x-forwarded-for", "10.0.0.1", "", "", "for=198.51.100.9;proto=https;by=10.0.0.1", "", "10.0.0.1"),
    ("forwarded", "10.0.0.1", "", "", "for=198.51.100.9, for=10.0.0.5", "", "198.51.100.9"),
    ("x-forwarded-for", "10.0.0.1", "", "", "for=198.51.100.9, for=10.0.0.5", "", "10.0.0.1"),
    ("forwarded", "10.0.0.1", "", "", "for=_hidden, for=198.51.100.9", "", "198.51.100.9"),
    ("x-forwarded-for", "10.0.0.1", "", "", "for=_hidden, for=198.51.100.9", "", "10.0.0.1"),
    ("forwarded", "10.0.0.1", "", "", "for=198.51.100.9, for=_hidden", "", "10.0.0.1"),
    ("x-forwarded-for", "10.0.0.1", "", "", "for=198.51.100.9, for=_hidden", "", "10.0.0.1"),
    ("forwarded", "10.0.0.1", "", "", "For=\"198.51.100.9\"", "", "198.51.100.9"),
    ("x-forwarded-for", "10.0.0.1", "", "", "For=\"198.51.100.9\"", "", "10.0.0.1"),
    ("forwarded", "10.0.0.1", "", "", "for=unknown", "", "10.0.0.1"),
    ("x-forwarded-for", "10.0.0.1", "", "", "for=unknown", "", "10.0.0.1"),
    ("forwarded", "10.0.0.1", "", "198.51.100.7", "for=198.51.100.9", "", "198.51.100.9"),
    ("x-forwarded-for", "10.0.0.1", "", "198.51.100.7", "for=198.51.100.9", "", "198.51.100.7"),
    ("x-real-ip", "10.0.0.1", "", "", "", "198.51.100.10", "198.51.100.10"),
    ("x-forwarded-for", "10.0.0.1", "", "", "", "198.51.100.10", "10.0.0.1"),
    ("x-real-ip", "10.0.0.1", "", "", "", "garbage", "10.0.0.1"),
    ("x-forwarded-for", "10.0.0.1", "", "", "", "garbage", "10.0.0.1"),
    ("x-real-ip", "10.0.0.1", "", "", "for=_x", "198.51.100.10", "198.51.100.10"),
    ("forwarded", "10.0.0.1", "", "", "for=_x", "198.51.100.10", "10.0.0.1"),
    ("x-forwarded-for", "10.0.0.1", "6.6.6.6", "198.51.100.7", "", "", "198.51.100.7"),
    ("x-forwarded-for", "10.0.0.1", "6.6.6.6", "6.6.6.6, 198.51.100.7", "for=6.6.6.6", "6.6.6.6", "198.51.100.7"),
    ("x-real-ip", "10.0.0.1", "", "6.6.6.6", "", "198.51.100.10", "198.51.100.10"),
    ("x-real-ip", "10.0.0.1", "", "", "for=6.6.6.6", "198.51.100.10", "198.51.100.10"),
    ("x-real-ip", "10.0.0.1", "6.6.6.6", "6.6.6.6", "for=6.6.6.6", "", "10.0.0.1"),
    ("forwarded", "10.0.0.1", "6.6.6.6", "6.6.6.6", "", "6.6.6.6", "10.0.0.1"),
    ("cf-connecting-ip", "10.0.0.1", "", "6.6.6.6", "for=6.6.6.6", "6.6.6.6", "10.0.0.1"),
];

#[test]
fn client_ip_cannot_be_forged() {
    let s = Standin::start();
    let clients: Vec<(&str, TestClient)> = [
        "x-forwarded-for",
        "forwarded",
        "x-real-ip",
        "cf-connecting-ip",
    ]
    .into_iter()
    .map(|header| {
        let c = TestClient::new(
            &s,
            "",
            ACCESS_KEY,
            &[
                (
                    "trusted_proxies",
                    "10.0.0.0/8, 192.168.0.0/16, 127.0.0.1, fd00::/8",
                ),
                ("client_ip_header", header),
            ],
        );
        (header, c)
    })
    .collect();
    for (i, (header, peer, cf, xff, fwd, real, _)) in IP_CASES.iter().enumerate() {
        let c = &clients.iter().find(|(h, _)| h == header).unwrap().1;
        let h = HitData::page(&format!("https://example.com/ip/{i}"), peer)
            .set("cf_connecting_ip", cf)
            .set("x_forwarded_for", xff)
            .set("forwarded", fwd)
            .set("x_real_ip", real);
        assert_eq!(c.hit(&h), PIRSCH_OK, "case {i}: {}", last_error());
    }
    let got = s.bodies("hit");
    assert_eq!(got.len(), IP_CASES.len());
    for (i, case) in IP_CASES.iter().enumerate() {
        let body = got
            .iter()
            .find(|b| b["url"] == format!("https://example.com/ip/{i}"))
            .unwrap();
        assert_eq!(body["ip"], case.6, "case {i}: {case:?}");
        assert!(
            body.get("x_forwarded_for").is_none(),
            "proxy headers are not forwarded by default"
        );
    }
}

#[test]
fn without_trusted_proxies_headers_are_ignored_and_forwarding_is_opt_in() {
    let s = Standin::start();
    let plain = TestClient::new(&s, "", ACCESS_KEY, &[]);
    let h = HitData::page("https://example.com/a", "10.0.0.1")
        .set("x_forwarded_for", "198.51.100.7")
        .set("x_real_ip", "198.51.100.8");
    assert_eq!(plain.hit(&h), PIRSCH_OK);
    let fwd = TestClient::new(
        &s,
        "",
        ACCESS_KEY,
        &[
            ("forward_proxy_headers", "true"),
            ("trusted_proxies", "10.0.0.0/8"),
        ],
    );
    let h2 = HitData::page("https://example.com/b", "10.0.0.1")
        .set("x_forwarded_for", "198.51.100.7")
        .set("cf_connecting_ip", "")
        .set("forwarded", "for=198.51.100.7")
        .set("x_real_ip", "198.51.100.8");
    assert_eq!(fwd.hit(&h2), PIRSCH_OK);
    let got = s.bodies("hit");
    assert_eq!(got[0]["ip"], "10.0.0.1");
    assert!(got[0].get("x_forwarded_for").is_none());
    assert_eq!(got[1]["ip"], "198.51.100.7");
    assert_eq!(got[1]["x_forwarded_for"], "198.51.100.7");
    assert_eq!(got[1]["forwarded"], "for=198.51.100.7");
    assert_eq!(got[1]["x_real_ip"], "198.51.100.8");
    assert!(got[1].get("cf_connecting_ip").is_none());

    let cfg = pirsch_config_new();
    unsafe {
        assert_eq!(
            pirsch_config_set(
                cfg,
                cstr("trusted_proxies").as_ptr(),
                cstr("10.0.0.0/33").as_ptr()
            ),
            PIRSCH_ERR_INVALID_ARGUMENT
        );
        assert!(last_error().contains("10.0.0.0/33"), "{}", last_error());
        assert_eq!(
            pirsch_config_set(
                cfg,
                cstr("trusted_proxies").as_ptr(),
                cstr("proxy.local").as_ptr()
            ),
            PIRSCH_ERR_INVALID_ARGUMENT
        );
        pirsch_config_free(cfg);
    }
}

fn kv_list(
    pairs: &[(&str, &str)],
) -> (Vec<(std::ffi::CString, std::ffi::CString)>, Vec<pirsch_kv>) {
    let owned: Vec<_> = pairs.iter().map(|(k, v)| (cstr(k), cstr(v))).collect();
    let kv = owned
        .iter()
        .map(|(k, v)| pirsch_kv {
            key: k.as_ptr(),
            value: v.as_ptr(),
        })
        .collect();
    (owned, kv)
}

unsafe fn s(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
}

#[test]
fn options_from_request_headers_point_into_the_callers_memory() {
    let (owned, kv) = kv_list(&[
        ("USER-AGENT", "Mozilla/5.0 test"),
        ("accept-language", "de-CH"),
        ("Cookie", "session=secret-cookie"),
        ("Sec-CH-UA", "\"Chromium\";v=\"131\""),
        ("sec-ch-ua-mobile", "?0"),
        ("Sec-CH-UA-Platform", "\"Linux\""),
        ("Sec-CH-UA-Platform-Version", "\"6.1\""),
        ("Sec-CH-Width", "1920"),
        ("Sec-CH-Viewport-Width", "1280"),
        ("X-Forwarded-For", "198.51.100.1, 10.0.0.9"),
        ("Authorization", "Bearer nope"),
        ("x-forwarded-for", "10.0.0.8"),
        ("Forwarded", "for=198.51.100.2"),
        ("X-Real-IP", "198.51.100.3"),
        ("CF-Connecting-IP", "198.51.100.4"),
    ]);
    let url = cstr("https://example.com/page?utm_source=newsletter&ref=Hacker%20News");
    let peer = cstr("10.0.0.1");
    let mut o: pirsch_hit_options = unsafe { std::mem::zeroed() };
    o.struct_size = std::mem::size_of::<pirsch_hit_options>();
    o.screen_width = 640;
    unsafe {
        assert_eq!(
            pirsch_hit_options_from_headers(
                &mut o,
                url.as_ptr(),
                peer.as_ptr(),
                kv.as_ptr(),
                kv.len()
            ),
            PIRSCH_OK
        );
        assert_eq!(o.url, url.as_ptr(), "url is the caller's pointer");
        assert_eq!(o.ip, peer.as_ptr());
        assert_eq!(
            o.user_agent,
            owned[0].1.as_ptr(),
            "header values are not copied"
        );
        assert_eq!(o.sec_ch_ua_platform_version, owned[6].1.as_ptr());
        assert_eq!(s(o.accept_language).unwrap(), "de-CH");
        assert_eq!(s(o.sec_ch_viewport_width).unwrap(), "1280");
        assert_eq!(
            s(o.x_forwarded_for).unwrap(),
            "198.51.100.1, 10.0.0.9, 10.0.0.8",
            "repeated lines joined in order"
        );
        assert_eq!(o.forwarded, owned[12].1.as_ptr());
        assert_eq!(o.x_real_ip, owned[13].1.as_ptr());
        assert_eq!(o.cf_connecting_ip, owned[14].1.as_ptr());
        assert_eq!(
            s(o.referrer).unwrap(),
            "Hacker News",
            "ref wins over utm_source, decoded"
        );
        assert_eq!(
            o.screen_width, 640,
            "fields not from headers are left alone"
        );
        assert!(o.title.is_null());
    }

    // Through clients that trust 10/8: each reads only its client_ip_header, and the
    // default is X-Forwarded-For (walked past the trusted 10.0.0.9).
    let st = Standin::start();
    for (header, want) in [
        ("", "198.51.100.1"),
        ("forwarded", "198.51.100.2"),
        ("x-real-ip", "198.51.100.3"),
        ("cf-connecting-ip", "198.51.100.4"),
    ] {
        let mut settings = vec![("trusted_proxies", "10.0.0.0/8")];
        if !header.is_empty() {
            settings.push(("client_ip_header", header));
        }
        let c = TestClient::new(&st, "", ACCESS_KEY, &settings);
        assert_eq!(
            unsafe { pirsch_hit(c.0, &o) },
            PIRSCH_OK,
            "{}",
            last_error()
        );
        let bodies = st.bodies("hit");
        assert_eq!(
            bodies.last().unwrap()["ip"],
            want,
            "client_ip_header {header:?}"
        );
    }
    let body = &st.bodies("hit")[0];
    assert_eq!(body["referrer"], "Hacker News");
    assert_eq!(body["user_agent"], "Mozilla/5.0 test");
    assert!(!body.to_string().contains("secret-cookie") && !body.to_string().contains("nope"));

    // A Referer header wins over the query; refusals leave *out unchanged.
    let (_o2, kv2) = kv_list(&[("Referer", "https://from.example/")]);
    unsafe {
        assert_eq!(
            pirsch_hit_options_from_headers(&mut o, url.as_ptr(), peer.as_ptr(), kv2.as_ptr(), 1),
            PIRSCH_OK
        );
        assert_eq!(s(o.referrer).unwrap(), "https://from.example/");
        assert!(o.user_agent.is_null(), "absent headers are NULL");
        let before = o.url;
        assert_eq!(
            pirsch_hit_options_from_headers(&mut o, ptr::null(), peer.as_ptr(), kv2.as_ptr(), 1),
            PIRSCH_ERR_NULL_ARGUMENT
        );
        assert_eq!(o.url, before);
        assert_eq!(
            pirsch_hit_options_from_headers(&mut o, url.as_ptr(), peer.as_ptr(), ptr::null(), 3),
            PIRSCH_ERR_NULL_ARGUMENT
        );
        let bad = [pirsch_kv {
            key: ptr::null(),
            value: ptr::null(),
        }];
        assert_eq!(
            pirsch_hit_options_from_headers(&mut o, url.as_ptr(), peer.as_ptr(), bad.as_ptr(), 1),
            PIRSCH_ERR_NULL_ARGUMENT
        );
        assert!(last_error().contains("headers[0].key"));
        assert_eq!(
            pirsch_hit_options_from_headers(
                ptr::null_mut(),
                url.as_ptr(),
                peer.as_ptr(),
                ptr::null(),
                0
            ),
            PIRSCH_ERR_NULL_ARGUMENT
        );
        let mut z: pirsch_hit_options = std::mem::zeroed();
        assert_eq!(
            pirsch_hit_options_from_headers(&mut z, url.as_ptr(), peer.as_ptr(), ptr::null(), 0),
            PIRSCH_ERR_INVALID_ARGUMENT
        );
        assert!(z.url.is_null());
        assert_eq!(
            pirsch_hit_options_from_headers(
                &mut o,
                b"https://x/\xff\0".as_ptr() as *const c_char,
                peer.as_ptr(),
                ptr::null(),
                0
            ),
            PIRSCH_ERR_INVALID_UTF8
        );
        // No headers at all: url and peer only; the referrer still comes from the query.
        assert_eq!(
            pirsch_hit_options_from_headers(&mut o, url.as_ptr(), peer.as_ptr(), ptr::null(), 0),
            PIRSCH_OK
        );
        assert_eq!(s(o.referrer).unwrap(), "Hacker News");
    }
}

fn request(
    c: &TestClient,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (pirsch_result, Option<String>) {
    let mut out: *mut c_char = ptr::null_mut();
    let body_c = body.map(cstr);
    let rc = unsafe {
        pirsch_request(
            c.0,
            cstr(method).as_ptr(),
            cstr(path).as_ptr(),
            body_c.as_ref().map(|b| b.as_ptr()).unwrap_or(ptr::null()),
            &mut out,
        )
    };
    let text = unsafe { s(out) };
    unsafe { pirsch_string_free(out) };
    (rc, text)
}

#[test]
fn reading_statistics_with_the_token_flow() {
    let st = Standin::start();
    let c = TestClient::oauth(&st);
    let (rc, body) = request(&c, "GET", "/api/v1/domain", None);
    assert_eq!(rc, PIRSCH_OK, "{}", last_error());
    let domains: Value = serde_json::from_str(&body.unwrap()).unwrap();
    let id = domains[0]["id"].as_str().unwrap().to_string();
    for i in 0..3 {
        assert_eq!(
            c.hit(&HitData::page(
                &format!("https://example.com/s{i}"),
                &format!("198.51.100.{i}")
            )),
            PIRSCH_OK
        );
    }
    let today = rfc3339(std::time::SystemTime::now())[..10].to_string();
    st.post("/_standin/expire_tokens", json!({}));
    let (rc, body) = request(
        &c,
        "get",
        &format!("/api/v1/statistics/visitor?id={id}&from={today}&to={today}"),
        None,
    );
    assert_eq!(rc, PIRSCH_OK, "{}", last_error());
    let days: Value = serde_json::from_str(&body.unwrap()).unwrap();
    assert_eq!(days[0]["views"], 3, "{days}");
    assert_eq!(days[0]["visitors"], 3);
    assert_eq!(
        st.token_requests(),
        2,
        "the 401 on a read renewed the token"
    );

    let (rc, body) = request(&c, "GET", "/api/v1/statistics/visitor?id=x", None);
    assert_eq!((rc, body), (PIRSCH_ERR_HTTP, None));
    assert!(
        last_error().contains("400") && last_error().contains("from"),
        "{}",
        last_error()
    );
    let (rc, _) = request(&c, "GET", "/api/v1/nope", None);
    assert_eq!(rc, PIRSCH_ERR_HTTP);
    assert!(last_error().contains("404"), "{}", last_error());
    // Bad requests are refused before the network.
    let before = st.api_requests();
    assert_eq!(
        request(&c, "FETCH", "/api/v1/domain", None).0,
        PIRSCH_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        request(&c, "GET", "api/v1/domain", None).0,
        PIRSCH_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        request(&c, "POST", "/api/v1/hit", Some("{not json")).0,
        PIRSCH_ERR_INVALID_ARGUMENT
    );
    assert!(last_error().contains("not valid JSON"));
    assert_eq!(st.api_requests(), before);
    // A POST with a body works like any other call; response_out may be NULL.
    let rc = unsafe {
        pirsch_request(
            c.0,
            cstr("POST").as_ptr(),
            cstr("/api/v1/hit").as_ptr(),
            cstr(r#"{"url":"https://example.com/raw","ip":"198.51.100.9"}"#).as_ptr(),
            ptr::null_mut(),
        )
    };
    assert_eq!(rc, PIRSCH_OK, "{}", last_error());
    assert_eq!(st.bodies("hit").len(), 4);
}

#[test]
fn an_access_key_on_a_read_endpoint_is_told_that_keys_only_write() {
    let st = Standin::start();
    let c = TestClient::new(&st, "", ACCESS_KEY, &[]);
    let (rc, body) = request(&c, "GET", "/api/v1/domain", None);
    assert_eq!(rc, PIRSCH_ERR_HTTP);
    assert!(body.is_none());
    let msg = last_error();
    assert!(
        msg.contains("403") && msg.contains("access keys can only write"),
        "{msg}"
    );
    assert!(!msg.contains(ACCESS_KEY));
}

#[test]
fn page_urls_are_parsed_credentials_never_sent_hosts_encoded() {
    let s = Standin::start();
    let c = TestClient::new(&s, "", ACCESS_KEY, &[]);
    for bad in [
        "https://example.com:abc/",
        "https://example.com:70000/",
        "https://[::1/",
    ] {
        assert_eq!(
            c.hit(&HitData::page(bad, "198.51.100.1")),
            PIRSCH_ERR_INVALID_ARGUMENT,
            "{bad}"
        );
        assert!(
            last_error().contains("not a valid URL"),
            "{bad}: {}",
            last_error()
        );
    }
    for url in [
        "https://user:s3cret@example.com/login?x=1",
        "https://bücher.example/",
    ] {
        assert_eq!(
            c.hit(&HitData::page(url, "198.51.100.1")),
            PIRSCH_OK,
            "{}",
            last_error()
        );
        assert_eq!(c.enqueue(&HitData::page(url, "198.51.100.1")), PIRSCH_OK);
    }
    assert_eq!(c.flush(5000), PIRSCH_OK);
    let mut got: Vec<String> = s
        .bodies("hit")
        .iter()
        .map(|b| b["url"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            "https://example.com/login?x=1",
            "https://example.com/login?x=1",
            "https://xn--bcher-kva.example/",
            "https://xn--bcher-kva.example/",
        ]
    );
}
