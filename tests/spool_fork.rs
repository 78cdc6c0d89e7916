//! fork() with a spool: a child that uses a client inherited from its parent closes its copies
//! of the parent's spool files, so that the parent's lock goes when the parent frees the
//! client, not when the last child exits. (One test per binary: fork() in a process with
//! other test threads would copy them mid-way.)

mod common;
use common::*;
use pirsch::ffi::*;
use serde_json::json;
use std::time::{Duration, Instant};

#[test]
fn a_child_does_not_keep_the_parents_spool_locked() {
    let s = Standin::start();
    s.fault(json!({"path_prefix": "/api/v1/hit/batch", "status": 503}));
    let dir = std::env::temp_dir().join(format!("pirsch-spool-fork-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let settings = [
        ("spool_dir", dir.to_str().unwrap()),
        ("spool_sync", "always"),
        ("flush_interval_ms", "50"),
        ("shutdown_timeout_ms", "100"),
    ];
    let parent = TestClient::new(&s, "", ACCESS_KEY, &settings);
    for i in 0..30 {
        let h = HitData::page(&format!("https://example.com/parent/{i}"), "198.51.100.2");
        assert_eq!(parent.enqueue(&h), PIRSCH_OK);
    }
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // The child uses the inherited client (its own queue and spool from now on), then
        // lives on for a while.
        let h = HitData::page("https://example.com/child/0", "198.51.100.3");
        let rc = parent.enqueue(&h);
        std::thread::sleep(Duration::from_secs(4));
        unsafe { libc::_exit(if rc == PIRSCH_OK { 0 } else { 1 }) };
    }
    std::thread::sleep(Duration::from_millis(500));
    drop(parent); // the 30 stay in the parent's spool file, which is unlocked now
    s.clear_faults();
    let next = TestClient::new(&s, "", ACCESS_KEY, &settings);
    let h = HitData::page("https://example.com/next/0", "198.51.100.4");
    assert_eq!(next.enqueue(&h), PIRSCH_OK);
    let start = Instant::now();
    while next.stats().unspooled < 30 {
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "the parent's file is still locked while the child lives: {}",
            show(&next.stats())
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child: {status}"
    );
    drop(next);
    let _ = std::fs::remove_dir_all(&dir);
}
