//! The blocking path through the C ABI, against the stand-in: auth, errors, retries, the
//! boundary rules.

mod common;
use common::*;
use pirsch::ffi::*;
use serde_json::json;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn oauth_one_token_for_100_hits_from_4_threads() {
    let s = Standin::start();
    let c = Arc::new(TestClient::oauth(&s));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let h = HitData::page(&format!("https://example.com/t{t}/p{i}"), "203.0.113.7");
                    assert_eq!(c.hit(&h), PIRSCH_OK, "{}", last_error());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(s.token_requests(), 1);
    let mut urls: Vec<String> = s
        .bodies("hit")
        .iter()
        .map(|b| b["url"].as_str().unwrap().to_string())
        .collect();
    urls.sort();
    urls.dedup();
    assert_eq!(urls.len(), 100);
    assert!(s.items().iter().all(|i| i["auth"] == "token"));
}

#[test]
fn expired_token_is_renewed_once_and_the_hit_arrives_once() {
    let s = Standin::start();
    let c = TestClient::oauth(&s);
    assert_eq!(
        c.hit(&HitData::page("https://example.com/first", "203.0.113.7")),
        PIRSCH_OK
    );
    s.post("/_standin/expire_tokens", json!({}));
    assert_eq!(
        c.hit(&HitData::page("https://example.com/second", "203.0.113.7")),
        PIRSCH_OK,
        "{}",
        last_error()
    );
    assert_eq!(s.token_requests(), 2);
    let seconds = s
        .bodies("hit")
        .iter()
        .filter(|b| b["url"] == "https://example.com/second")
        .count();
    assert_eq!(seconds, 1);
    assert_eq!(s.counters()["by_status"]["401"], 1);
}

#[test]
fn concurrent_401s_are_answered_by_one_renewal() {
    let s = Standin::start();
    let c = Arc::new(TestClient::oauth(&s));
    assert_eq!(
        c.hit(&HitData::page("https://example.com/warm", "203.0.113.7")),
        PIRSCH_OK
    );
    // The next 4 requests are held 100 ms, so that all 4 threads send the expired token
    // and get their 401s together.
    s.post("/_standin/expire_tokens", json!({}));
    s.fault(json!({"path_prefix": "/api/v1/hit", "delay_ms": 100, "count": 4}));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                c.hit(&HitData::page(
                    &format!("https://example.com/r{t}"),
                    "203.0.113.7",
                ))
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), PIRSCH_OK);
    }
    assert_eq!(
        s.token_requests(),
        2,
        "one renewal for all threads that saw the 401"
    );
    assert_eq!(s.bodies("hit").len(), 5);
}

#[test]
fn access_key_is_the_bearer_token_and_no_token_is_requested() {
    let s = Standin::start();
    let c = TestClient::new(&s, "", ACCESS_KEY, &[]);
    assert_eq!(
        c.hit(&HitData::page("https://example.com/k", "203.0.113.7")),
        PIRSCH_OK,
        "{}",
        last_error()
    );
    assert_eq!(s.token_requests(), 0);
    let items = s.items();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["auth"], "access_key");
}

#[test]
fn wrong_secret_is_an_auth_error_that_helps_and_hides_the_secret() {
    let s = Standin::start();
    let c = TestClient::new(&s, CLIENT_ID, "wrong-secret-abc123", &[]);
    assert_eq!(
        c.hit(&HitData::page("https://example.com/x", "203.0.113.7")),
        PIRSCH_ERR_AUTH
    );
    let msg = last_error();
    assert!(msg.contains("401"), "{msg}");
    assert!(msg.contains("client id and secret"), "{msg}");
    assert!(!msg.contains("wrong-secret-abc123"), "secret leaked: {msg}");
    assert_eq!(s.count("/api/v1/hit"), 0);
    assert_eq!(s.token_requests(), 1, "an auth failure is not retried");

    let k = TestClient::new(&s, "", "pa_revoked_key_999", &[]);
    assert_eq!(
        k.hit(&HitData::page("https://example.com/x", "203.0.113.7")),
        PIRSCH_ERR_AUTH
    );
    let msg = last_error();
    assert!(
        msg.contains("access key") && !msg.contains("pa_revoked_key_999"),
        "{msg}"
    );
}

#[test]
fn validation_error_is_reported_in_words_and_never_repeated() {
    let s = Standin::start();
    let c = TestClient::oauth(&s);
    s.fault(json!({"path_prefix": "/api/v1/hit", "reject_url_contains": "refuse-me"}));
    assert_eq!(
        c.hit(&HitData::page(
            "https://example.com/refuse-me",
            "203.0.113.7"
        )),
        PIRSCH_ERR_HTTP
    );
    let msg = last_error();
    assert!(msg.contains("400"), "{msg}");
    assert!(msg.contains("url: url refused by stand-in fault"), "{msg}");
    assert_eq!(s.count("/api/v1/hit"), 1, "a 400 is never repeated");
}

#[test]
fn a_503_is_tried_again_and_delivered_once() {
    let s = Standin::start();
    let c = TestClient::oauth(&s);
    s.fault(json!({"path_prefix": "/api/v1/hit", "status": 503, "count": 1}));
    assert_eq!(
        c.hit(&HitData::page("https://example.com/retry", "203.0.113.7")),
        PIRSCH_OK,
        "{}",
        last_error()
    );
    assert_eq!(s.count("/api/v1/hit"), 2);
    assert_eq!(s.bodies("hit").len(), 1);
}

#[test]
fn persistent_503_gives_up_after_max_retries_with_the_status() {
    let s = Standin::start();
    let c = TestClient::new(&s, CLIENT_ID, CLIENT_SECRET, &[("max_retries", "1")]);
    s.fault(json!({"path_prefix": "/api/v1/hit", "status": 503}));
    assert_eq!(
        c.hit(&HitData::page("https://example.com/down", "203.0.113.7")),
        PIRSCH_ERR_HTTP
    );
    let msg = last_error();
    assert!(msg.contains("503") && msg.contains("2 tries"), "{msg}");
    assert_eq!(s.count("/api/v1/hit"), 2);
}

#[test]
fn a_stalled_server_times_out_within_timeout_times_tries() {
    let s = Standin::start();
    let c = TestClient::new(
        &s,
        "",
        ACCESS_KEY,
        &[("timeout_ms", "300"), ("max_retries", "1")],
    );
    s.fault(json!({"path_prefix": "/api/v1/hit", "delay_ms": 5000}));
    let start = Instant::now();
    assert_eq!(
        c.hit(&HitData::page("https://example.com/stall", "203.0.113.7")),
        PIRSCH_ERR_TIMEOUT
    );
    let took = start.elapsed();
    // 2 tries of 300 ms and one backoff of at most 100 ms (about 0.7 s), with slack for a
    // loaded machine: what matters is that it does not wait for the API's 5 s.
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    assert!(took >= Duration::from_millis(600), "took {took:?}");
    assert!(last_error().contains("timeout_ms"), "{}", last_error());
}

#[test]
fn retry_after_longer_than_the_timeout_is_reported_not_waited_for() {
    let s = Standin::start();
    let c = TestClient::new(&s, "", ACCESS_KEY, &[("timeout_ms", "1000")]);
    s.fault(json!({"path_prefix": "/api/v1/hit", "status": 429, "retry_after": "30", "count": 1}));
    let start = Instant::now();
    assert_eq!(
        c.hit(&HitData::page("https://example.com/rl", "203.0.113.7")),
        PIRSCH_ERR_HTTP
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(
        last_error().contains("429") && last_error().contains("wait 30 s"),
        "{}",
        last_error()
    );
}

#[test]
fn sequential_hits_reuse_one_keep_alive_connection() {
    let s = Standin::start();
    // The test's own control connection is opened (and pooled) first.
    assert_eq!(s.counters()["connections"], 1);
    let c = TestClient::oauth(&s);
    for i in 0..20 {
        assert_eq!(
            c.hit(&HitData::page(
                &format!("https://example.com/{i}"),
                "203.0.113.7"
            )),
            PIRSCH_OK
        );
    }
    assert_eq!(
        s.counters()["connections"],
        2,
        "the token request and 20 hits over one connection"
    );
}

#[test]
fn boundary_refusals_each_have_their_code_and_send_nothing() {
    let s = Standin::start();
    let c = TestClient::oauth(&s);
    let good = HitData::page("https://example.com/", "203.0.113.7");
    unsafe {
        // NULL client, NULL options.
        assert_eq!(
            pirsch_hit(ptr::null_mut(), &good.opts()),
            PIRSCH_ERR_NULL_ARGUMENT
        );
        assert!(last_error().contains("client is NULL"));
        assert_eq!(pirsch_hit(c.0, ptr::null()), PIRSCH_ERR_NULL_ARGUMENT);
        assert!(last_error().contains("hit is NULL"));
        // struct_size 0.
        let mut o = good.opts();
        o.struct_size = 0;
        assert_eq!(pirsch_hit(c.0, &o), PIRSCH_ERR_INVALID_ARGUMENT);
        assert!(last_error().contains("struct_size"), "{}", last_error());
        // Non-UTF-8 URL.
        let bad = b"https://example.com/\xff\xfe\0";
        let mut o = good.opts();
        o.url = bad.as_ptr() as *const c_char;
        assert_eq!(pirsch_hit(c.0, &o), PIRSCH_ERR_INVALID_UTF8);
        assert!(last_error().contains("hit->url"), "{}", last_error());
        // Missing url, missing ip, empty strings count as missing.
        assert_eq!(
            c.hit(&HitData::default().set("ip", "1.2.3.4")),
            PIRSCH_ERR_INVALID_ARGUMENT
        );
        assert!(last_error().contains("url is required"), "{}", last_error());
        assert_eq!(
            c.hit(&HitData::page("https://example.com/", "")),
            PIRSCH_ERR_INVALID_ARGUMENT
        );
        assert!(last_error().contains("ip is required"), "{}", last_error());
        assert_eq!(
            c.hit(&HitData::page("https://example.com/", "not-an-ip")),
            PIRSCH_ERR_INVALID_ARGUMENT
        );
        assert!(
            last_error().contains("not an IP address"),
            "{}",
            last_error()
        );
        // A non-UTF-8 header value is converted, not refused.
        let ua = b"Mozilla \xff\0";
        let mut o = good.opts();
        o.user_agent = ua.as_ptr() as *const c_char;
        o.url = c"https://example.com/lossy".as_ptr();
        assert_eq!(pirsch_hit(c.0, &o), PIRSCH_OK, "{}", last_error());
        assert_eq!(last_error(), "", "success clears the last error");
    }
    // Only the lossy hit (and its token) went out.
    assert_eq!(s.count("/api/v1/hit"), 1);
    assert_eq!(s.bodies("hit")[0]["user_agent"], "Mozilla \u{fffd}");
}

#[test]
fn an_older_smaller_struct_is_read_only_as_far_as_its_size() {
    let s = Standin::start();
    let c = TestClient::oauth(&s);
    let h = HitData::page("https://example.com/old", "203.0.113.7")
        .set("user_agent", "UA")
        .set("title", "T");
    let mut o = h.opts();
    // Pretend the caller's struct ends right after user_agent.
    o.struct_size = std::mem::offset_of!(pirsch_hit_options, accept_language);
    assert_eq!(
        unsafe { pirsch_hit(c.0, &o) },
        PIRSCH_OK,
        "{}",
        last_error()
    );
    let b = &s.bodies("hit")[0];
    assert_eq!(b["user_agent"], "UA");
    assert!(
        b.get("title").is_none(),
        "fields past struct_size are not read: {b}"
    );
}

#[test]
fn config_refusals() {
    let cfg = pirsch_config_new();
    unsafe {
        assert_eq!(
            pirsch_config_set(cfg, cstr("colour").as_ptr(), cstr("blue").as_ptr()),
            PIRSCH_ERR_INVALID_ARGUMENT
        );
        assert!(
            last_error().contains("unknown config key \"colour\"")
                && last_error().contains("timeout_ms"),
            "{}",
            last_error()
        );
        assert_eq!(
            pirsch_config_set(cfg, cstr("timeout_ms").as_ptr(), cstr("soon").as_ptr()),
            PIRSCH_ERR_INVALID_ARGUMENT
        );
        assert!(
            last_error().contains("timeout_ms") && last_error().contains("whole number"),
            "{}",
            last_error()
        );
        assert_eq!(
            pirsch_config_set(cfg, cstr("max_retries").as_ptr(), cstr("99").as_ptr()),
            PIRSCH_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            pirsch_config_set(cfg, cstr("log_level").as_ptr(), cstr("loud").as_ptr()),
            PIRSCH_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            pirsch_config_set(
                cfg,
                cstr("allow_insecure_http").as_ptr(),
                cstr("maybe").as_ptr()
            ),
            PIRSCH_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            pirsch_config_set(cfg, cstr("base_url").as_ptr(), cstr("ftp://x").as_ptr()),
            PIRSCH_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            pirsch_config_set(
                ptr::null_mut(),
                cstr("timeout_ms").as_ptr(),
                cstr("1").as_ptr()
            ),
            PIRSCH_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            pirsch_config_set(cfg, ptr::null(), cstr("1").as_ptr()),
            PIRSCH_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            pirsch_config_set(
                cfg,
                b"time\xffout\0".as_ptr() as *const c_char,
                cstr("1").as_ptr()
            ),
            PIRSCH_ERR_INVALID_UTF8
        );

        // Plain http to a remote host is refused at client creation...
        assert_eq!(
            pirsch_config_set(
                cfg,
                cstr("base_url").as_ptr(),
                cstr("http://api.example.com").as_ptr()
            ),
            PIRSCH_OK
        );
        let c = pirsch_client_new(cstr("").as_ptr(), cstr(ACCESS_KEY).as_ptr(), cfg);
        assert!(c.is_null());
        assert!(
            last_error().contains("plain http") && last_error().contains("allow_insecure_http"),
            "{}",
            last_error()
        );
        // ... unless asked for.
        assert_eq!(
            pirsch_config_set(
                cfg,
                cstr("allow_insecure_http").as_ptr(),
                cstr("true").as_ptr()
            ),
            PIRSCH_OK
        );
        let c = pirsch_client_new(cstr("").as_ptr(), cstr(ACCESS_KEY).as_ptr(), cfg);
        assert!(!c.is_null(), "{}", last_error());
        pirsch_free(c);

        // Credentials that cannot work.
        for (id, secret, needle) in [
            ("", "", "no credentials"),
            ("some-id", "", "without its client secret"),
            ("", "not-a-key", "starts with pa_"),
        ] {
            let c = pirsch_client_new(cstr(id).as_ptr(), cstr(secret).as_ptr(), ptr::null());
            assert!(c.is_null());
            assert!(
                last_error().contains(needle),
                "{id}/{secret}: {}",
                last_error()
            );
        }
        let c = pirsch_client_new(ptr::null(), ptr::null(), ptr::null());
        assert!(c.is_null());
        pirsch_config_free(cfg);
        pirsch_config_free(ptr::null_mut());
        pirsch_free(ptr::null_mut());
    }
}

#[test]
fn strerror_covers_every_code() {
    for code in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 99, 12345, -1] {
        let s = unsafe { CStr::from_ptr(pirsch_strerror(code)) }
            .to_str()
            .unwrap();
        assert!(!s.is_empty());
    }
    assert_eq!(
        unsafe { CStr::from_ptr(pirsch_strerror(PIRSCH_ERR_QUEUE_FULL)) }
            .to_str()
            .unwrap(),
        "the queue is full"
    );
}

unsafe extern "C" fn collect_log(userdata: *mut c_void, level: c_int, message: *const c_char) {
    let sink = &*(userdata as *const std::sync::Mutex<Vec<(i32, String)>>);
    sink.lock().unwrap().push((
        level,
        CStr::from_ptr(message).to_string_lossy().into_owned(),
    ));
}

#[test]
fn logger_receives_messages_at_its_level_and_never_a_secret() {
    let s = Standin::start();
    let sink: &'static std::sync::Mutex<Vec<(i32, String)>> =
        Box::leak(Box::new(std::sync::Mutex::new(Vec::new())));
    let cfg = config(&s, &[("log_level", "debug")]);
    unsafe {
        assert_eq!(
            pirsch_config_set_logger(cfg, Some(collect_log), sink as *const _ as *mut c_void),
            PIRSCH_OK
        );
        let c = pirsch_client_new(cstr(CLIENT_ID).as_ptr(), cstr(CLIENT_SECRET).as_ptr(), cfg);
        pirsch_config_free(cfg);
        let h = HitData::page("https://example.com/log", "203.0.113.7");
        assert_eq!(pirsch_hit(c, &h.opts()), PIRSCH_OK);
        s.post("/_standin/expire_tokens", json!({}));
        assert_eq!(pirsch_hit(c, &h.opts()), PIRSCH_OK);
        pirsch_free(c);
    }
    let logs = sink.lock().unwrap();
    assert!(
        logs.iter()
            .any(|(l, m)| *l == PIRSCH_LOG_INFO && m.contains("401")),
        "{logs:?}"
    );
    assert!(logs.iter().all(|(_, m)| !m.contains(CLIENT_SECRET)));
}

#[test]
fn host_names_are_resolved_and_unknown_hosts_are_network_errors() {
    let s = Standin::start();
    let url = format!("http://localhost:{}", s.port);
    let cfg = pirsch_config_new();
    unsafe {
        assert_eq!(
            pirsch_config_set(cfg, cstr("base_url").as_ptr(), cstr(&url).as_ptr()),
            PIRSCH_OK
        );
        let c = pirsch_client_new(cstr("").as_ptr(), cstr(ACCESS_KEY).as_ptr(), cfg);
        for i in 0..3 {
            let h = HitData::page(&format!("https://example.com/localhost/{i}"), "203.0.113.7");
            assert_eq!(pirsch_hit(c, &h.opts()), PIRSCH_OK, "{}", last_error());
        }
        pirsch_free(c);
        assert_eq!(
            pirsch_config_set(
                cfg,
                cstr("base_url").as_ptr(),
                cstr("https://no-such-host.invalid").as_ptr()
            ),
            PIRSCH_OK
        );
        assert_eq!(
            pirsch_config_set(cfg, cstr("timeout_ms").as_ptr(), cstr("2000").as_ptr()),
            PIRSCH_OK
        );
        assert_eq!(
            pirsch_config_set(cfg, cstr("max_retries").as_ptr(), cstr("0").as_ptr()),
            PIRSCH_OK
        );
        let c = pirsch_client_new(cstr("").as_ptr(), cstr(ACCESS_KEY).as_ptr(), cfg);
        let h = HitData::page("https://example.com/", "203.0.113.7");
        let rc = pirsch_hit(c, &h.opts());
        assert!(
            rc == PIRSCH_ERR_NETWORK || rc == PIRSCH_ERR_TIMEOUT,
            "rc {rc}: {}",
            last_error()
        );
        assert!(
            last_error().contains("no-such-host.invalid"),
            "{}",
            last_error()
        );
        pirsch_free(c);
        pirsch_config_free(cfg);
    }
    assert_eq!(s.bodies("hit").len(), 3);
}

#[test]
fn a_struct_size_that_ends_inside_a_pointer_never_reads_half_of_it() {
    let s = Standin::start();
    let c = TestClient::oauth(&s);
    let h = HitData::page("https://example.com/half", "203.0.113.7");
    let mut o = h.opts();
    // Ends 4 bytes into `url`: the whole pointer is left out, not half of it.
    o.struct_size = std::mem::offset_of!(pirsch_hit_options, url) + 4;
    assert_eq!(unsafe { pirsch_hit(c.0, &o) }, PIRSCH_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("url is required"), "{}", last_error());
    assert_eq!(s.count("/api/v1/hit"), 0);
}
