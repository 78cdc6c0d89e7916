//! A caller's own `time` on page views, events and sessions (importing logs): RFC 3339 or
//! epoch milliseconds, checked against the clock and max_item_age_ms, kept by the queue and
//! sent through the batch endpoint by the blocking calls.

mod common;
use common::*;
use pirsch::ffi::*;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn epoch_ms(ago: Duration) -> u64 {
    (SystemTime::now() - ago)
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// "2026-..T..:..:...mmmZ" for a time `ago`, as the library writes it.
fn rfc3339(ms: u64) -> String {
    let out = std::process::Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("@{}.{:03}", ms / 1000, ms % 1000),
            "+%Y-%m-%dT%H:%M:%S.%3NZ",
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn queued_and_blocking_items_keep_the_callers_time() {
    let s = Standin::start();
    let c = TestClient::new(&s, CLIENT_ID, CLIENT_SECRET, &[("flush_interval_ms", "20")]);
    let ten_min = epoch_ms(Duration::from_secs(600));
    let twenty_min = epoch_ms(Duration::from_secs(1200));
    // Epoch milliseconds, queued.
    let a = HitData::page("https://example.com/import/a", "198.51.100.1")
        .set("time", &ten_min.to_string());
    assert_eq!(c.enqueue(&a), PIRSCH_OK, "{}", last_error());
    // RFC 3339 with an offset, queued.
    let offset = {
        let t = rfc3339(twenty_min);
        // 10:00:00.000Z written as 12:00:00.000+02:00
        let out = std::process::Command::new("date")
            .args(["-d", &t, "+%Y-%m-%dT%H:%M:%S.%3N+02:00"])
            .env("TZ", "Etc/GMT-2")
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let b = HitData::page("https://example.com/import/b", "198.51.100.2").set("time", &offset);
    assert_eq!(c.enqueue(&b), PIRSCH_OK, "{}", last_error());
    // Blocking, with a time: through the batch endpoint.
    let d = HitData::page("https://example.com/import/d", "198.51.100.4")
        .set("time", &ten_min.to_string());
    assert_eq!(c.hit(&d), PIRSCH_OK, "{}", last_error());
    // Without a time: now.
    let e = HitData::page("https://example.com/import/e", "198.51.100.5");
    assert_eq!(c.enqueue(&e), PIRSCH_OK);
    assert_eq!(c.flush(5000), PIRSCH_OK);

    let items = s.items();
    let find = |url: &str| {
        items
            .iter()
            .find(|i| i["body"]["url"] == url)
            .unwrap_or_else(|| panic!("{url} arrived: {items:?}"))
            .clone()
    };
    assert_eq!(
        find("https://example.com/import/a")["body"]["time"],
        rfc3339(ten_min)
    );
    assert_eq!(
        find("https://example.com/import/b")["body"]["time"],
        rfc3339(twenty_min),
        "the offset is converted to UTC"
    );
    let blocking = find("https://example.com/import/d");
    assert_eq!(blocking["body"]["time"], rfc3339(ten_min));
    assert_eq!(
        blocking["batch"], true,
        "a blocking call with a time is a batch of one"
    );
    let now = find("https://example.com/import/e")["body"]["time"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(now > rfc3339(epoch_ms(Duration::from_secs(60))), "{now}");
}

#[test]
fn times_the_api_would_not_take_are_refused_with_the_reason() {
    let s = Standin::start();
    let c = TestClient::new(&s, "", ACCESS_KEY, &[]);
    let try_time = |t: &str| {
        let h = HitData::page("https://example.com/t", "198.51.100.1").set("time", t);
        (c.enqueue(&h), last_error())
    };
    let future = (epoch_ms(Duration::ZERO) + 5 * 60_000).to_string();
    let (rc, msg) = try_time(&future);
    assert_eq!(rc, PIRSCH_ERR_INVALID_ARGUMENT);
    assert!(msg.contains("in the future"), "{msg}");
    let skew = (epoch_ms(Duration::ZERO) + 20_000).to_string();
    assert_eq!(try_time(&skew).0, PIRSCH_OK, "a little clock skew is taken");
    let old = epoch_ms(Duration::from_secs(2 * 3600)).to_string();
    let (rc, msg) = try_time(&old);
    assert_eq!(rc, PIRSCH_ERR_INVALID_ARGUMENT);
    assert!(msg.contains("max_item_age_ms"), "{msg}");
    for bad in ["yesterday", "2026-13-01T00:00:00Z", "12:00", "-5"] {
        let (rc, msg) = try_time(bad);
        assert_eq!(rc, PIRSCH_ERR_INVALID_ARGUMENT, "{bad}");
        assert!(msg.contains("RFC 3339"), "{bad}: {msg}");
    }
    // Importing a day-old log: raise max_item_age_ms.
    let importer = TestClient::new(&s, "", ACCESS_KEY, &[("max_item_age_ms", "172800000")]);
    let day_old = epoch_ms(Duration::from_secs(24 * 3600)).to_string();
    let h = HitData::page("https://example.com/day-old", "198.51.100.1").set("time", &day_old);
    assert_eq!(importer.enqueue(&h), PIRSCH_OK, "{}", last_error());
    assert_eq!(importer.flush(5000), PIRSCH_OK);
    assert_eq!(importer.stats().sent, 1);
    // Events and sessions take it too.
    let ev_name = cstr("import");
    let ev = pirsch_event_options {
        struct_size: std::mem::size_of::<pirsch_event_options>(),
        name: ev_name.as_ptr(),
        duration_seconds: 0,
        meta: std::ptr::null(),
        meta_len: 0,
        non_interactive: false,
    };
    let h = HitData::page("https://example.com/ev", "198.51.100.1").set("time", &day_old);
    assert_eq!(
        unsafe { pirsch_event_enqueue(importer.0, &ev, &h.opts()) },
        PIRSCH_OK
    );
    assert_eq!(
        unsafe { pirsch_session_enqueue(importer.0, &h.opts()) },
        PIRSCH_OK
    );
    assert_eq!(importer.flush(5000), PIRSCH_OK);
    let want = rfc3339(day_old.parse().unwrap());
    assert_eq!(s.bodies("event")[0]["time"], want);
    assert_eq!(s.bodies("session")[0]["time"], want);
}

#[test]
fn a_caller_built_against_the_older_struct_is_not_read_past_its_end() {
    let s = Standin::start();
    let c = TestClient::new(&s, "", ACCESS_KEY, &[("flush_interval_ms", "20")]);
    let h = HitData::page("https://example.com/old-struct", "198.51.100.1").set("time", "garbage");
    let mut o = h.opts();
    // The struct as it was before `time`: the field is not read (it would be refused).
    o.struct_size = std::mem::offset_of!(pirsch_hit_options, time);
    assert_eq!(
        unsafe { pirsch_hit_enqueue(c.0, &o) },
        PIRSCH_OK,
        "{}",
        last_error()
    );
    o.struct_size = std::mem::size_of::<pirsch_hit_options>();
    assert_eq!(
        unsafe { pirsch_hit_enqueue(c.0, &o) },
        PIRSCH_ERR_INVALID_ARGUMENT
    );
}
