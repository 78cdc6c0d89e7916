//! Reading statistics through the C ABI: the query pirsch_statistics builds from a
//! pirsch_filter (checked, percent-encoded), and real figures from the stand-in, which
//! computes them from the page views it received.

mod common;
use common::*;
use pirsch::ffi::*;
use serde_json::Value;
use std::ffi::{c_char, CStr, CString};
use std::ptr;

/// Owned strings behind a pirsch_filter.
#[derive(Default)]
struct F {
    strings: Vec<CString>,
    lists: Vec<Vec<*const c_char>>,
}

impl F {
    fn s(&mut self, v: &str) -> *const c_char {
        self.strings.push(cstr(v));
        self.strings.last().unwrap().as_ptr()
    }
    fn list(&mut self, vs: &[&str]) -> pirsch_strings {
        let ptrs: Vec<*const c_char> = vs.iter().map(|v| self.s(v)).collect();
        self.lists.push(ptrs);
        let l = self.lists.last().unwrap();
        pirsch_strings {
            items: l.as_ptr(),
            len: l.len(),
        }
    }
}

fn filter() -> pirsch_filter {
    let mut f: pirsch_filter = unsafe { std::mem::zeroed() };
    f.struct_size = std::mem::size_of::<pirsch_filter>();
    f
}

fn take(p: *mut c_char) -> String {
    assert!(!p.is_null());
    let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string();
    unsafe { pirsch_string_free(p) };
    s
}

fn path_of(which: pirsch_statistic, f: &pirsch_filter) -> Result<String, (pirsch_result, String)> {
    let mut out = ptr::null_mut();
    match unsafe { pirsch_statistics_path(which, f, &mut out) } {
        PIRSCH_OK => Ok(take(out)),
        rc => {
            assert!(out.is_null());
            Err((rc, last_error()))
        }
    }
}

fn get(
    c: &TestClient,
    which: pirsch_statistic,
    f: &pirsch_filter,
) -> Result<Value, (pirsch_result, String)> {
    let mut out = ptr::null_mut();
    match unsafe { pirsch_statistics(c.0, which, f, &mut out) } {
        PIRSCH_OK => Ok(serde_json::from_str(&take(out)).unwrap()),
        rc => {
            assert!(out.is_null());
            Err((rc, last_error()))
        }
    }
}

fn today() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn the_filter_becomes_a_checked_encoded_query() {
    let mut o = F::default();
    let mut f = filter();
    f.domain_id = o.s("dom/1");
    f.from = o.s("2026-11-01");
    f.to = o.s("2026-11-30");
    f.path = o.list(&["/a b", "/ü"]);
    let kv = [pirsch_kv {
        key: o.s("author"),
        value: o.s("Jane & co"),
    }];
    f.tags = kv.as_ptr();
    f.tags_len = 1;
    f.limit = 5;
    f.sort = o.s("views");
    assert_eq!(
        path_of(PIRSCH_STATISTIC_PAGES, &f).unwrap(),
        "/api/v1/statistics/page?id=dom%2F1&from=2026-11-01&to=2026-11-30&path=%2Fa%20b&path=%2F%C3%BC&tag_author=Jane%20%26%20co&limit=5&sort=views"
    );
    // Errors name the field and what to do.
    let err = |which, f: &pirsch_filter| path_of(which, f).unwrap_err();
    assert_eq!(
        err(PIRSCH_STATISTIC_COUNT, &f).0,
        PIRSCH_ERR_INVALID_ARGUMENT
    );
    assert!(err(-1, &f).1.contains("PIRSCH_STATISTIC_*"));
    assert!(err(PIRSCH_STATISTIC_EVENT_PAGES, &f)
        .1
        .contains("filter->event"));
    let mut g = f;
    g.to = o.s("2026-10-01");
    assert!(err(PIRSCH_STATISTIC_TOTAL, &g).1.contains("before"));
    let mut g = f;
    g.struct_size = 0;
    assert!(err(PIRSCH_STATISTIC_TOTAL, &g).1.contains("struct_size"));
    let mut g = f;
    g.path.len = 3;
    g.path.items = ptr::null();
    assert_eq!(err(PIRSCH_STATISTIC_TOTAL, &g).0, PIRSCH_ERR_NULL_ARGUMENT);
    let bad = [0xffu8, 0];
    let bad_ptrs = [bad.as_ptr() as *const c_char];
    let mut g = f;
    g.event = pirsch_strings {
        items: bad_ptrs.as_ptr(),
        len: 1,
    };
    let (rc, msg) = err(PIRSCH_STATISTIC_TOTAL, &g);
    assert_eq!(rc, PIRSCH_ERR_INVALID_UTF8);
    assert!(msg.contains("filter->event.items[0]"), "{msg}");
    assert_eq!(
        unsafe { pirsch_statistics_path(0, ptr::null(), &mut ptr::null_mut()) },
        PIRSCH_ERR_NULL_ARGUMENT
    );
    // An older caller's struct (up to `start`) still works.
    let mut g = f;
    g.struct_size = std::mem::offset_of!(pirsch_filter, path);
    assert_eq!(
        path_of(PIRSCH_STATISTIC_TOTAL, &g).unwrap(),
        "/api/v1/statistics/total?id=dom%2F1&from=2026-11-01&to=2026-11-30"
    );
}

/// Figures are by UTC day: a test that sends page views and then asks for "today" waits
/// when midnight is under 30 s away, so that both happen on the same day.
fn clear_of_midnight() {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let left = 86_400 - secs % 86_400;
    if left < 30 {
        std::thread::sleep(std::time::Duration::from_secs(left + 1));
    }
}

#[test]
fn figures_computed_from_what_was_sent() {
    clear_of_midnight();
    let s = Standin::start();
    let writer = TestClient::new(&s, "", ACCESS_KEY, &[]);
    for (url, ip) in [
        ("https://example.com/a", "198.51.100.1"),
        ("https://example.com/a", "198.51.100.2"),
        ("https://example.com/b", "198.51.100.1"),
    ] {
        let h = HitData::page(url, ip).set(
            "user_agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
        );
        assert_eq!(writer.hit(&h), PIRSCH_OK, "{}", last_error());
    }
    let reader = TestClient::oauth(&s);
    let mut o = F::default();
    let mut f = filter();
    let day = today();
    f.domain_id = o.s("standin-domain-1");
    f.from = o.s(&day);
    f.to = o.s(&day);
    let total = get(&reader, PIRSCH_STATISTIC_TOTAL, &f).unwrap();
    assert_eq!(total["visitors"], 2, "{total}");
    assert_eq!(total["views"], 3, "{total}");
    let pages = get(&reader, PIRSCH_STATISTIC_PAGES, &f).unwrap();
    let a = pages
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == "/a")
        .unwrap();
    assert_eq!(
        (a["views"].as_u64(), a["visitors"].as_u64()),
        (Some(2), Some(2)),
        "{pages}"
    );
    let days = get(&reader, PIRSCH_STATISTIC_VISITORS, &f).unwrap();
    assert_eq!(
        days[0]["day"].as_str().unwrap().get(..10),
        Some(day.as_str()),
        "{days}"
    );
    assert_eq!(days[0]["views"], 3, "{days}");
    let mut domains = ptr::null_mut();
    assert_eq!(
        unsafe { pirsch_domains(reader.0, &mut domains) },
        PIRSCH_OK,
        "{}",
        last_error()
    );
    let domains: Value = serde_json::from_str(&take(domains)).unwrap();
    assert_eq!(domains[0]["id"], "standin-domain-1");
    // An access key cannot read; a bad filter sends nothing.
    let (rc, msg) = get(&writer, PIRSCH_STATISTIC_TOTAL, &f).unwrap_err();
    assert_eq!(rc, PIRSCH_ERR_HTTP, "{msg}");
    let before = s.counters()["requests"].clone();
    let mut g = f;
    g.scale = o.s("fortnight");
    let (rc, msg) = get(&reader, PIRSCH_STATISTIC_VISITORS, &g).unwrap_err();
    assert_eq!(rc, PIRSCH_ERR_INVALID_ARGUMENT);
    assert!(msg.contains("day, week, month, year"), "{msg}");
    assert_eq!(s.counters()["requests"], before, "nothing sent");
    let mut out = ptr::null_mut();
    assert_eq!(
        unsafe { pirsch_funnels(reader.0, ptr::null(), &mut out) },
        PIRSCH_ERR_NULL_ARGUMENT
    );
}
