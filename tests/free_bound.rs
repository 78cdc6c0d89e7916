//! pirsch_free's bound with a batch request in progress. A test binary of its own: it counts
//! the process's sender threads, which other tests running beside it would change.

mod common;
use common::*;
use pirsch::ffi::*;
use serde_json::json;
use std::time::{Duration, Instant};

/// A batch request already in progress when pirsch_free begins (started with the full
/// timeout_ms) is interrupted at the shutdown deadline: pirsch_free keeps its bound, and the
/// sender thread is gone when it returns (so the queue's memory goes with the client).
#[test]
fn free_interrupts_a_batch_request_in_progress_at_the_deadline() {
    let s = Standin::start();
    s.fault(json!({"path_prefix": "/api/v1/hit/batch", "delay_ms": 20_000}));
    for timeout_ms in [0u64, 1000] {
        let c = TestClient::new(
            &s,
            "",
            ACCESS_KEY,
            &[
                ("flush_interval_ms", "10"),
                ("timeout_ms", "30000"),
                ("shutdown_timeout_ms", &timeout_ms.to_string()),
            ],
        );
        for i in 0..20 {
            assert_eq!(
                c.enqueue(&HitData::page(
                    &format!("https://example.com/q/{i}"),
                    "198.51.100.1"
                )),
                PIRSCH_OK
            );
        }
        let waited = Instant::now();
        while c.stats().in_flight == 0 && waited.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(c.stats().in_flight > 0, "a batch request is in progress");
        std::thread::sleep(Duration::from_millis(50));
        let senders = || {
            std::fs::read_dir("/proc/self/task")
                .unwrap()
                .filter(|t| {
                    let comm = t.as_ref().unwrap().path().join("comm");
                    std::fs::read_to_string(comm).unwrap_or_default().trim() == "pirsch-sender"
                })
                .count()
        };
        let before = senders();
        let start = Instant::now();
        drop(c);
        let took = start.elapsed();
        assert!(
            took < Duration::from_millis(timeout_ms + 1000),
            "pirsch_free took {took:?} with shutdown_timeout_ms={timeout_ms} (the bound plus at most 100 ms; the test allows 1 s for a loaded machine)"
        );
        assert!(
            senders() < before,
            "the sender thread ended before pirsch_free returned"
        );
    }
}
