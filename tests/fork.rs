//! fork(): a client created before fork() works in the child, the parent's items are
//! delivered once, by the parent, and the child never deadlocks on an inherited lock.
//! (One test per binary: fork() in a process with other test threads would copy them mid-way.)

mod common;
use common::*;
use pirsch::ffi::*;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Forks; the child runs `body` and exits with its result (1 on panic). Returns the pid.
fn fork_child(body: impl FnOnce() -> bool) -> libc::pid_t {
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(false);
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    pid
}

/// Waits for a child; a child that does not finish within `limit` is killed and reported hung.
fn wait_child(pid: libc::pid_t, limit: Duration) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let mut status = 0;
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
                Ok(())
            } else {
                Err(format!("child {pid} failed (status {status})"))
            };
        }
        if start.elapsed() > limit {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            unsafe { libc::waitpid(pid, &mut status, 0) };
            return Err(format!("child {pid} hung for {limit:?} and was killed"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn page(tag: &str, i: usize) -> HitData {
    HitData::page(
        &format!("https://example.com/fork/{tag}/{i}"),
        "198.51.100.1",
    )
}

#[test]
fn children_after_fork_deliver_their_own_items_once_and_never_hang() {
    let s = Standin::start();
    // Batches take 150 ms, so that forks happen while the sender is mid-request.
    s.fault(json!({"path_prefix": "/api/v1/hit/batch", "delay_ms": 150}));
    let c = Arc::new(TestClient::new(
        &s,
        CLIENT_ID,
        CLIENT_SECRET,
        &[("batch_size", "50"), ("flush_interval_ms", "20")],
    ));
    for i in 0..100 {
        assert_eq!(c.enqueue(&page("parent", i)), PIRSCH_OK);
    }
    // A thread keeps enqueuing while the forks happen.
    let busy = Arc::new(AtomicBool::new(true));
    let producer = {
        let (c, busy) = (c.clone(), busy.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while busy.load(Ordering::Relaxed) {
                assert_eq!(c.enqueue(&page("thread", n)), PIRSCH_OK);
                n += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            n
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    let mut children = Vec::new();
    for k in 0..3 {
        let c = c.clone();
        children.push(fork_child(move || {
            let tag = format!("child{k}");
            for i in 0..50 {
                if c.enqueue(&page(&tag, i)) != PIRSCH_OK {
                    return false;
                }
            }
            let rc = c.flush(20_000);
            let st = c.stats();
            rc == PIRSCH_OK
                && st.sent == 50
                && st.enqueued == 50
                && st.forks_detected == 1
                && invariant(&st)
        }));
        std::thread::sleep(Duration::from_millis(30));
    }
    let results: Vec<_> = children
        .into_iter()
        .map(|pid| wait_child(pid, Duration::from_secs(30)))
        .collect();
    busy.store(false, Ordering::Relaxed);
    let from_thread = producer.join().unwrap();
    assert_eq!(c.flush(30_000), PIRSCH_OK, "{}", last_error());
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    let st = c.stats();
    assert_eq!(st.sent, 100 + from_thread as u64, "{}", show(&st));
    assert_eq!(st.forks_detected, 0);

    let hits = arrivals(&s, "hit");
    assert!(hits.values().all(|n| *n == 1), "every item exactly once");
    assert_eq!(hits.len(), 100 + from_thread + 3 * 50);
    for k in 0..3 {
        assert_eq!(
            hits.keys()
                .filter(|u| u.contains(&format!("/child{k}/")))
                .count(),
            50
        );
    }
    // A child that forks again still works.
    let c2 = c.clone();
    let pid = fork_child(move || {
        let inner = fork_child(|| true);
        wait_child(inner, Duration::from_secs(10)).is_ok()
            && c2.enqueue(&page("late", 0)) == PIRSCH_OK
            && c2.flush(10_000) == PIRSCH_OK
    });
    assert_eq!(wait_child(pid, Duration::from_secs(20)), Ok(()));
    assert_eq!(
        arrivals(&s, "hit").get("https://example.com/fork/late/0"),
        Some(&1)
    );
}
