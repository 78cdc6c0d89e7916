//! The queued path through the C ABI against the stand-in and its fault injection.

mod common;
use common::*;
use pirsch::ffi::*;
use serde_json::json;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn page(i: usize) -> HitData {
    HitData::page(&format!("https://example.com/q/{i}"), "198.51.100.1")
        .set("user_agent", "queue-test")
}

#[test]
fn items_are_batched_stamped_and_counted() {
    let s = Standin::start();
    let c = TestClient::new(&s, CLIENT_ID, CLIENT_SECRET, &[("batch_size", "100")]);
    let before = rfc3339(std::time::SystemTime::now());
    for i in 0..250 {
        assert_eq!(c.enqueue(&page(i)), PIRSCH_OK, "{}", last_error());
    }
    let name = cstr("queued-event");
    let ev = pirsch_event_options {
        struct_size: std::mem::size_of::<pirsch_event_options>(),
        name: name.as_ptr(),
        duration_seconds: 0,
        meta: ptr::null(),
        meta_len: 0,
        non_interactive: false,
    };
    unsafe {
        assert_eq!(pirsch_event_enqueue(c.0, &ev, &page(999).opts()), PIRSCH_OK);
        assert_eq!(pirsch_session_enqueue(c.0, &page(998).opts()), PIRSCH_OK);
    }
    assert_eq!(c.flush(5000), PIRSCH_OK, "{}", last_error());
    let st = c.stats();
    assert!(invariant(&st), "{}", show(&st));
    assert_eq!(
        (st.enqueued, st.sent, st.queue_depth, st.in_flight),
        (252, 252, 0, 0),
        "{}",
        show(&st)
    );
    assert_eq!(
        st.batches,
        5,
        "3 page-view batches (100, 100, 50), 1 event, 1 session: {}",
        show(&st)
    );
    let items = s.items();
    assert!(items.iter().all(|i| i["batch"] == true));
    let hits = arrivals(&s, "hit");
    assert_eq!(hits.len(), 250);
    assert!(hits.values().all(|n| *n == 1));
    let after = rfc3339(std::time::SystemTime::now());
    for b in s
        .bodies("hit")
        .iter()
        .chain(s.bodies("event").iter())
        .chain(s.bodies("session").iter())
    {
        let t = b["time"].as_str().unwrap();
        assert_eq!(t.len(), 24, "RFC 3339 UTC with milliseconds: {t}");
        assert!(
            t.ends_with('Z') && t >= before.as_str() && t <= after.as_str(),
            "{t}"
        );
    }
    assert_eq!(s.bodies("event")[0]["event_name"], "queued-event");
    assert_eq!(s.count("/api/v1/hit/batch"), 3);
    // Batches keep the order of the queue.
    let order: Vec<usize> = s
        .bodies("hit")
        .iter()
        .map(|b| {
            b["url"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn a_partial_batch_goes_out_after_flush_interval() {
    let s = Standin::start();
    let c = TestClient::new(&s, "", ACCESS_KEY, &[("flush_interval_ms", "200")]);
    for i in 0..5 {
        assert_eq!(c.enqueue(&page(i)), PIRSCH_OK);
    }
    let start = Instant::now();
    while s.bodies("hit").len() < 5 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = start.elapsed();
    assert_eq!(s.bodies("hit").len(), 5);
    assert!(took < Duration::from_millis(1000), "took {took:?}");
    assert_eq!(s.count("/api/v1/hit/batch"), 1);
}

#[test]
fn a_waiting_event_does_not_hold_back_full_batches_of_page_views() {
    // One event, then page views filling batches: the full batches go at once, the
    // event's partial batch waits for flush_interval_ms alone.
    let s = Standin::start();
    let c = TestClient::new(
        &s,
        "",
        ACCESS_KEY,
        &[("batch_size", "10"), ("flush_interval_ms", "4000")],
    );
    let name = cstr("early-event");
    let ev = pirsch_event_options {
        struct_size: std::mem::size_of::<pirsch_event_options>(),
        name: name.as_ptr(),
        duration_seconds: 0,
        meta: ptr::null(),
        meta_len: 0,
        non_interactive: false,
    };
    let start = Instant::now();
    assert_eq!(
        unsafe { pirsch_event_enqueue(c.0, &ev, &page(999).opts()) },
        PIRSCH_OK
    );
    for i in 0..30 {
        assert_eq!(c.enqueue(&page(i)), PIRSCH_OK, "{}", last_error());
    }
    while s.bodies("hit").len() < 30 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = start.elapsed();
    assert_eq!(s.bodies("hit").len(), 30);
    assert!(
        took < Duration::from_millis(2000),
        "3 full batches of page views took {took:?} behind one event (flush_interval_ms 4000)"
    );
    assert_eq!(
        s.bodies("event").len(),
        0,
        "the event waits for its interval"
    );
    assert_eq!(c.flush(5000), PIRSCH_OK);
    assert_eq!(s.bodies("event").len(), 1);
}

#[test]
fn validation_happens_at_enqueue_and_nothing_is_queued() {
    let s = Standin::start();
    let c = TestClient::new(&s, "", ACCESS_KEY, &[]);
    assert_eq!(
        c.enqueue(&HitData::page("not a url", "198.51.100.1")),
        PIRSCH_ERR_INVALID_ARGUMENT
    );
    assert!(last_error().contains("url"));
    assert_eq!(
        unsafe { pirsch_hit_enqueue(c.0, ptr::null()) },
        PIRSCH_ERR_NULL_ARGUMENT
    );
    assert_eq!(
        unsafe { pirsch_hit_enqueue(ptr::null_mut(), &page(1).opts()) },
        PIRSCH_ERR_NULL_ARGUMENT
    );
    assert_eq!(
        unsafe { pirsch_flush(ptr::null_mut(), 1) },
        PIRSCH_ERR_NULL_ARGUMENT
    );
    let mut zero: pirsch_stats = unsafe { std::mem::zeroed() };
    assert_eq!(
        unsafe { pirsch_stats(c.0, &mut zero) },
        PIRSCH_ERR_INVALID_ARGUMENT
    );
    assert_eq!(c.stats().enqueued, 0);
    assert_eq!(c.flush(100), PIRSCH_OK, "nothing to flush");
}

#[test]
fn a_refused_item_in_a_batch_is_dropped_alone() {
    let s = Standin::start();
    let c = TestClient::new(&s, CLIENT_ID, CLIENT_SECRET, &[("batch_size", "100")]);
    s.fault(json!({"path_prefix": "/api/v1/hit/batch", "reject_url_contains": "/refused"}));
    for i in 0..100 {
        let h = if i == 37 {
            HitData::page("https://example.com/refused", "198.51.100.1")
        } else {
            page(i)
        };
        assert_eq!(c.enqueue(&h), PIRSCH_OK);
    }
    assert_eq!(c.flush(10_000), PIRSCH_OK, "{}", last_error());
    let st = c.stats();
    assert_eq!((st.sent, st.dropped_rejected), (99, 1), "{}", show(&st));
    assert!(invariant(&st));
    let hits = arrivals(&s, "hit");
    assert_eq!(hits.len(), 99);
    assert!(hits.values().all(|n| *n == 1), "each delivered once");
    assert!(!hits.contains_key("https://example.com/refused"));
}

#[test]
fn other_4xx_drop_the_batch_and_5xx_429_401_are_retried() {
    let s = Standin::start();
    let c = TestClient::new(&s, CLIENT_ID, CLIENT_SECRET, &[]);
    // 503, then 429 with Retry-After 1, then an expired token: all delivered, once.
    s.fault(json!([{"path_prefix": "/api/v1/hit/batch", "status": 503, "count": 1},
                   {"path_prefix": "/api/v1/hit/batch", "status": 429, "retry_after": "1", "count": 1}]));
    assert_eq!(c.enqueue(&page(1)), PIRSCH_OK);
    let start = Instant::now();
    assert_eq!(c.flush(10_000), PIRSCH_OK, "{}", last_error());
    assert!(
        start.elapsed() >= Duration::from_millis(1000),
        "Retry-After is a minimum wait"
    );
    s.post("/_standin/expire_tokens", json!({}));
    assert_eq!(c.enqueue(&page(2)), PIRSCH_OK);
    assert_eq!(c.flush(10_000), PIRSCH_OK);
    let st = c.stats();
    assert_eq!(
        (st.sent, st.retries, st.token_refreshes),
        (2, 2, 2),
        "{}",
        show(&st)
    );
    // A 404 cannot get better by retrying: dropped as rejected.
    s.fault(json!({"path_prefix": "/api/v1/hit/batch", "status": 404, "count": 1}));
    assert_eq!(c.enqueue(&page(3)), PIRSCH_OK);
    assert_eq!(c.flush(10_000), PIRSCH_OK);
    let st = c.stats();
    assert_eq!((st.sent, st.dropped_rejected), (2, 1), "{}", show(&st));
    assert_eq!(arrivals(&s, "hit").len(), 2);
}

#[test]
fn a_full_queue_refuses_at_once_and_counts() {
    let s = Standin::start();
    let c = TestClient::new(
        &s,
        "",
        ACCESS_KEY,
        &[("queue_capacity", "10"), ("batch_size", "5")],
    );
    s.fault(json!({"path_prefix": "/api/v1/hit/batch", "delay_ms": 1500, "count": 1}));
    let mut full = 0;
    for i in 0..40 {
        let start = Instant::now();
        match c.enqueue(&page(i)) {
            PIRSCH_OK => {}
            PIRSCH_ERR_QUEUE_FULL => {
                full += 1;
                assert!(
                    start.elapsed() < Duration::from_millis(500),
                    "a full queue answers at once (not after the 1.5 s request)"
                );
            }
            rc => panic!("rc {rc}: {}", last_error()),
        }
    }
    assert!(last_error().contains("queue_capacity") || full == 0);
    // While the queue is full, a bad item is still told what is wrong with it.
    assert_eq!(
        c.enqueue(&HitData::page("not a url", "203.0.113.1")),
        PIRSCH_ERR_INVALID_ARGUMENT
    );
    assert!(last_error().contains("url"), "{}", last_error());
    let st = c.stats();
    assert!(
        full >= 25,
        "at most 10 queued + 5 in flight: {full} refused, {}",
        show(&st)
    );
    assert_eq!(st.dropped_queue_full, full);
    assert!(invariant(&st), "{}", show(&st));
    assert_eq!(c.flush(10_000), PIRSCH_OK);
    let st = c.stats();
    assert_eq!(st.sent, 40 - full, "{}", show(&st));
    assert_eq!(arrivals(&s, "hit").len() as u64, 40 - full);
    // Once the sender has made room, items are queued again.
    for i in 40..50 {
        assert_eq!(c.enqueue(&page(i)), PIRSCH_OK, "{}", last_error());
    }
    assert_eq!(c.flush(10_000), PIRSCH_OK);
    let st = c.stats();
    assert_eq!(st.sent, 50 - full, "{}", show(&st));
    assert_eq!(st.dropped_queue_full, full, "{}", show(&st));
    assert!(invariant(&st), "{}", show(&st));
}

#[test]
fn flush_times_out_while_the_api_stalls() {
    let s = Standin::start();
    let c = TestClient::new(&s, "", ACCESS_KEY, &[("timeout_ms", "3000")]);
    s.fault(json!({"path_prefix": "/api/v1/hit/batch", "delay_ms": 2500, "count": 1}));
    assert_eq!(c.enqueue(&page(1)), PIRSCH_OK);
    let start = Instant::now();
    assert_eq!(c.flush(300), PIRSCH_ERR_TIMEOUT);
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(900),
        "{took:?}"
    );
    assert!(
        last_error().contains("1 items not yet delivered"),
        "{}",
        last_error()
    );
    let st = c.stats();
    assert_eq!(st.in_flight, 1, "{}", show(&st));
    assert_eq!(c.flush(5000), PIRSCH_OK, "still delivered later");
    assert_eq!(c.stats().sent, 1);
}

#[test]
fn free_delivers_what_is_queued_and_is_bounded_when_the_api_stalls() {
    let s = Standin::start();
    let c = TestClient::new(&s, "", ACCESS_KEY, &[("flush_interval_ms", "60000")]);
    for i in 0..30 {
        assert_eq!(c.enqueue(&page(i)), PIRSCH_OK);
    }
    drop(c); // pirsch_free
    assert_eq!(
        arrivals(&s, "hit").len(),
        30,
        "pirsch_free delivered the queue"
    );

    s.fault(json!({"path_prefix": "/api/v1/hit/batch", "delay_ms": 10_000}));
    let c = TestClient::new(&s, "", ACCESS_KEY, &[("shutdown_timeout_ms", "300")]);
    for i in 100..120 {
        assert_eq!(c.enqueue(&page(i)), PIRSCH_OK);
    }
    let start = Instant::now();
    drop(c);
    let took = start.elapsed();
    assert!(
        took < Duration::from_millis(1500),
        "pirsch_free took {took:?} with shutdown_timeout_ms=300"
    );
}

#[test]
fn enqueue_after_free_began_is_refused_with_closed() {
    // The contract says the client must not be used concurrently with pirsch_free; the
    // sender itself still checks, which the stats path shows: a closing queue refuses.
    let s = Standin::start();
    let c = TestClient::new(&s, "", ACCESS_KEY, &[]);
    assert_eq!(c.enqueue(&page(1)), PIRSCH_OK);
    assert_eq!(c.flush(5000), PIRSCH_OK);
    assert_eq!(
        unsafe { CStrLossy(pirsch_strerror(PIRSCH_ERR_CLOSED)) },
        "the client is shutting down"
    );
}

#[allow(non_snake_case)]
unsafe fn CStrLossy(p: *const std::ffi::c_char) -> String {
    std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
}

#[test]
fn items_older_than_max_item_age_are_dropped_as_expired() {
    let s = Standin::start();
    let c = TestClient::new(&s, "", ACCESS_KEY, &[("max_item_age_ms", "400")]);
    s.fault(json!({"path_prefix": "/api/v1/hit/batch", "status": 503}));
    for i in 0..5 {
        assert_eq!(c.enqueue(&page(i)), PIRSCH_OK);
    }
    assert_eq!(
        c.flush(5000),
        PIRSCH_OK,
        "expired items count as done: {}",
        last_error()
    );
    let st = c.stats();
    assert_eq!((st.dropped_expired, st.sent), (5, 0), "{}", show(&st));
    assert!(st.retries >= 1);
    assert!(invariant(&st));
}

#[test]
fn nothing_lost_under_503s_an_outage_429s_and_expiring_tokens() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 12_500;
    let s = Standin::start_with(&["--token-ttl", "2"]);
    // Each failure of a batch doubles its next backoff (500 ms x 2^n, full jitter, cap 30 s),
    // so the time this takes has a long tail: a 5 s outage followed by a 429 left one batch
    // waiting up to 30 s per try and a run past 120 s. A 2 s outage keeps the tries few;
    // 500-item batches keep the requests few. The flush waits for 5 minutes, far beyond the
    // 12-25 s this takes: it fails on something lost or stuck, not on a slow draw.
    let c = Arc::new(TestClient::new(
        &s,
        CLIENT_ID,
        CLIENT_SECRET,
        &[
            ("queue_capacity", "60000"),
            ("flush_interval_ms", "50"),
            ("batch_size", "500"),
        ],
    ));
    s.fault(json!([
        {"path_prefix": "/api/v1/hit/batch", "close": true, "duration_ms": 2000, "delay_ms": 0, "probability": 1.0},
        {"path_prefix": "/api/v1/hit/batch", "status": 429, "retry_after": "1", "count": 3},
        {"path_prefix": "/api/v1/hit/batch", "status": 503, "probability": 0.3, "seed": 7}
    ]));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (c, sampling) = (c.clone(), sampling.clone());
        std::thread::spawn(move || {
            let mut samples = 0;
            while sampling.load(Ordering::Relaxed) {
                let st = c.stats();
                assert!(invariant(&st), "invariant broken: {}", show(&st));
                samples += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            samples
        })
    };
    let start = Instant::now();
    let producers: Vec<_> = (0..THREADS)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let h =
                        HitData::page(&format!("https://example.com/soak/{t}/{i}"), "198.51.100.1");
                    assert_eq!(c.enqueue(&h), PIRSCH_OK, "{}", last_error());
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    let enqueue_time = start.elapsed();
    let flushed = c.flush(300_000);
    assert_eq!(flushed, PIRSCH_OK, "{}; {}", last_error(), show(&c.stats()));
    sampling.store(false, Ordering::Relaxed);
    let samples = sampler.join().unwrap();
    let st = c.stats();
    eprintln!(
        "soak: enqueued in {enqueue_time:?}, delivered in {:?}, {samples} invariant samples, {}",
        start.elapsed(),
        show(&st)
    );
    assert_eq!(st.sent, (THREADS * PER_THREAD) as u64, "{}", show(&st));
    assert!(invariant(&st));
    assert!(
        st.retries > 0 && st.token_refreshes > 1,
        "the faults happened: {}",
        show(&st)
    );
    let hits = arrivals(&s, "hit");
    assert_eq!(hits.len(), THREADS * PER_THREAD);
    assert!(hits.values().all(|n| *n == 1), "every item exactly once");
}

unsafe extern "C" fn collect(
    userdata: *mut std::ffi::c_void,
    level: std::ffi::c_int,
    message: *const std::ffi::c_char,
) {
    let sink = &*(userdata as *const std::sync::Mutex<Vec<(i32, String)>>);
    sink.lock().unwrap().push((
        level,
        std::ffi::CStr::from_ptr(message)
            .to_string_lossy()
            .into_owned(),
    ));
}

#[test]
fn drops_are_logged_at_most_once_a_second_with_counts() {
    let s = Standin::start();
    s.fault(json!({"path_prefix": "/api/v1/hit/batch", "delay_ms": 3000, "count": 1}));
    let sink: &'static std::sync::Mutex<Vec<(i32, String)>> =
        Box::leak(Box::new(std::sync::Mutex::new(Vec::new())));
    let cfg = config(
        &s,
        &[
            ("queue_capacity", "5"),
            ("batch_size", "5"),
            ("shutdown_timeout_ms", "0"),
        ],
    );
    let c = unsafe {
        assert_eq!(
            pirsch_config_set_logger(
                cfg,
                Some(collect),
                sink as *const _ as *mut std::ffi::c_void
            ),
            PIRSCH_OK
        );
        let c = pirsch_client_new(cstr("").as_ptr(), cstr(ACCESS_KEY).as_ptr(), cfg);
        pirsch_config_free(cfg);
        TestClient(c)
    };
    let start = Instant::now();
    let mut full = 0;
    while start.elapsed() < Duration::from_millis(1500) {
        if c.enqueue(&page(full)) == PIRSCH_ERR_QUEUE_FULL {
            full += 1;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    assert!(full > 100, "{full}");
    let logs = sink.lock().unwrap().clone();
    let about_full: Vec<_> = logs
        .iter()
        .filter(|(_, m)| m.contains("queue is full"))
        .collect();
    assert!(
        (1..=2).contains(&about_full.len()),
        "{} messages for {full} drops in 1.5 s: {about_full:?}",
        about_full.len()
    );
    assert!(
        about_full
            .iter()
            .all(|(l, m)| *l == PIRSCH_LOG_WARN && m.contains("dropped_queue_full=")),
        "{about_full:?}"
    );
}

static FREED: AtomicBool = AtomicBool::new(false);
static CALLS_AFTER_FREE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

unsafe extern "C" fn watch_after_free(
    _: *mut std::ffi::c_void,
    _: std::ffi::c_int,
    _: *const std::ffi::c_char,
) {
    // Slow on purpose: free must wait for a callback in progress.
    std::thread::sleep(Duration::from_millis(20));
    if FREED.load(Ordering::SeqCst) {
        CALLS_AFTER_FREE.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn the_logger_is_never_called_after_free_returns() {
    let s = Standin::start();
    // Every request hangs: the sender is mid-request (token or batch) when free gives up on it.
    s.fault(json!({"path_prefix": "/api/v1/", "include_token": true, "delay_ms": 3000}));
    let cfg = config(
        &s,
        &[
            ("shutdown_timeout_ms", "100"),
            ("timeout_ms", "1000"),
            ("log_level", "debug"),
            ("flush_interval_ms", "1"),
        ],
    );
    unsafe {
        assert_eq!(
            pirsch_config_set_logger(cfg, Some(watch_after_free), ptr::null_mut()),
            PIRSCH_OK
        );
        let c = pirsch_client_new(cstr(CLIENT_ID).as_ptr(), cstr(CLIENT_SECRET).as_ptr(), cfg);
        pirsch_config_free(cfg);
        for i in 0..5 {
            assert_eq!(pirsch_hit_enqueue(c, &page(i).opts()), PIRSCH_OK);
        }
        std::thread::sleep(Duration::from_millis(50));
        let start = Instant::now();
        pirsch_free(c);
        FREED.store(true, Ordering::SeqCst);
        assert!(
            start.elapsed() < Duration::from_millis(1500),
            "{:?}",
            start.elapsed()
        );
    }
    // The detached request times out after this; its messages must go nowhere.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(CALLS_AFTER_FREE.load(Ordering::SeqCst), 0);
}

static CLIENT_FOR_LOGGER: std::sync::atomic::AtomicPtr<pirsch_client> =
    std::sync::atomic::AtomicPtr::new(ptr::null_mut());
static STATS_FROM_LOGGER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

unsafe extern "C" fn logger_reading_stats(
    _: *mut std::ffi::c_void,
    _: std::ffi::c_int,
    _: *const std::ffi::c_char,
) {
    let c = CLIENT_FOR_LOGGER.load(Ordering::SeqCst);
    if !c.is_null() {
        let mut st: pirsch_stats = std::mem::zeroed();
        st.struct_size = std::mem::size_of::<pirsch_stats>();
        if pirsch_stats(c, &mut st) == PIRSCH_OK {
            STATS_FROM_LOGGER.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[test]
fn a_logger_that_reads_stats_during_shutdown_does_not_deadlock() {
    let s = Standin::start();
    s.fault(json!({"path_prefix": "/api/v1/", "delay_ms": 800}));
    let cfg = config(
        &s,
        &[
            ("shutdown_timeout_ms", "100"),
            ("timeout_ms", "500"),
            ("batch_size", "2"),
            ("log_level", "warn"),
        ],
    );
    let start;
    unsafe {
        assert_eq!(
            pirsch_config_set_logger(cfg, Some(logger_reading_stats), ptr::null_mut()),
            PIRSCH_OK
        );
        let c = pirsch_client_new(cstr("").as_ptr(), cstr(ACCESS_KEY).as_ptr(), cfg);
        pirsch_config_free(cfg);
        CLIENT_FOR_LOGGER.store(c, Ordering::SeqCst);
        for i in 0..10 {
            assert_eq!(pirsch_hit_enqueue(c, &page(i).opts()), PIRSCH_OK);
        }
        std::thread::sleep(Duration::from_millis(50));
        start = Instant::now();
        pirsch_free(c);
        CLIENT_FOR_LOGGER.store(ptr::null_mut(), Ordering::SeqCst);
    }
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "pirsch_free took {:?}",
        start.elapsed()
    );
    assert!(
        STATS_FROM_LOGGER.load(Ordering::SeqCst) > 0,
        "the shutdown message reached the logger"
    );
}

static REENTRANT_CLIENT: std::sync::atomic::AtomicPtr<pirsch_client> =
    std::sync::atomic::AtomicPtr::new(ptr::null_mut());
static REENTRANT_RESULTS: std::sync::Mutex<Vec<pirsch_result>> = std::sync::Mutex::new(Vec::new());

/// A logger that, told the queue is full, enqueues another page view from inside the call.
unsafe extern "C" fn enqueue_from_logger(
    _userdata: *mut std::ffi::c_void,
    _level: std::ffi::c_int,
    message: *const std::ffi::c_char,
) {
    let message = std::ffi::CStr::from_ptr(message).to_string_lossy();
    let c = REENTRANT_CLIENT.load(Ordering::SeqCst);
    if message.contains("queue is full") && !c.is_null() {
        let client = std::mem::ManuallyDrop::new(TestClient(c));
        let rc = client.enqueue(&page(999_999));
        REENTRANT_RESULTS.lock().unwrap().push(rc);
    }
}

#[test]
fn a_logger_may_enqueue_while_the_queue_is_full() {
    let s = Standin::start();
    s.fault(json!({"path_prefix": "/api/v1/hit/batch", "delay_ms": 1500, "count": 1}));
    let cfg = config(
        &s,
        &[
            ("queue_capacity", "5"),
            ("batch_size", "5"),
            ("shutdown_timeout_ms", "0"),
        ],
    );
    let c = unsafe {
        assert_eq!(
            pirsch_config_set_logger(cfg, Some(enqueue_from_logger), ptr::null_mut()),
            PIRSCH_OK
        );
        let c = pirsch_client_new(cstr("").as_ptr(), cstr(ACCESS_KEY).as_ptr(), cfg);
        pirsch_config_free(cfg);
        TestClient(c)
    };
    REENTRANT_CLIENT.store(c.0, Ordering::SeqCst);
    let mut full = 0;
    for i in 0..100 {
        match c.enqueue(&page(i)) {
            PIRSCH_OK => {}
            PIRSCH_ERR_QUEUE_FULL => full += 1,
            rc => panic!("rc {rc}: {}", last_error()),
        }
    }
    REENTRANT_CLIENT.store(ptr::null_mut(), Ordering::SeqCst);
    assert!(full > 0);
    let nested = REENTRANT_RESULTS.lock().unwrap().clone();
    assert!(!nested.is_empty(), "the logger was told the queue is full");
    assert!(
        nested.iter().all(|rc| *rc == PIRSCH_ERR_QUEUE_FULL),
        "an enqueue from inside the logger is refused like any other, not a panic: {nested:?}"
    );
    let st = c.stats();
    assert!(invariant(&st), "{}", show(&st));
}

/// A page view whose header fields are 8 KB each (visitors choose those sizes).
fn fat_page(i: usize) -> HitData {
    let big = "x".repeat(8000);
    page(i)
        .set("user_agent", &format!("Mozilla/5.0 {big}"))
        .set("accept_language", &format!("de-DE,{}", "a".repeat(7000)))
        .set("referrer", &format!("https://ref.example/{big}"))
}

#[test]
fn the_queue_is_bounded_in_bytes_too() {
    // The API stalls; 2,000 page views of ~23 KB each would be ~46 MB queued by count alone.
    let s = Standin::start();
    s.fault(json!({"path_prefix": "/api/v1/hit/batch", "delay_ms": 3000}));
    let c = TestClient::new(
        &s,
        "",
        ACCESS_KEY,
        &[("queue_max_bytes", "1048576"), ("batch_size", "50")],
    );
    let mut full = 0u64;
    for i in 0..2000 {
        match c.enqueue(&fat_page(i)) {
            PIRSCH_OK => {}
            PIRSCH_ERR_QUEUE_FULL => full += 1,
            rc => panic!("rc {rc}: {}", last_error()),
        }
    }
    assert!(last_error().contains("queue_max_bytes"), "{}", last_error());
    let st = c.stats();
    // At most 1 MiB queued (~45 items) plus one batch in flight (50).
    assert!(st.queue_depth <= 46, "{}", show(&st));
    assert!(
        st.queue_depth + st.in_flight <= 96 && full >= 1900,
        "{full} refused: {}",
        show(&st)
    );
    assert_eq!(st.dropped_queue_full, full);
    assert!(invariant(&st), "{}", show(&st));

    // The default bound (16 MiB) holds too, where queue_capacity (10,000) alone would not.
    let d = TestClient::new(&s, "", ACCESS_KEY, &[]);
    let mut full = 0u64;
    for i in 0..2000 {
        if d.enqueue(&fat_page(i)) == PIRSCH_ERR_QUEUE_FULL {
            full += 1;
        }
    }
    let st = d.stats();
    assert!(
        full > 1000 && st.queue_depth < 800,
        "{full} refused: {}",
        show(&st)
    );
    // A bad value is refused with the range.
    let (rc, msg) = try_setting("queue_max_bytes", "100");
    assert_eq!(rc, PIRSCH_ERR_INVALID_ARGUMENT);
    assert!(msg.contains("queue_max_bytes"), "{msg}");
}
