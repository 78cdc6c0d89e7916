//! pirsch_client_shared: one client per name per process, reference-counted, and with
//! deliver_at_exit=true delivered at exit() (checked in a child process that just returns).

mod common;
use common::*;
use pirsch::ffi::*;
use serde_json::json;
use std::process::{Command, Stdio};
use std::time::Duration;

fn shared(name: &str, id: &str, secret: &str, settings: &[(&str, &str)]) -> *mut pirsch_client {
    let cfg = config_of(settings);
    let c = unsafe {
        pirsch_client_shared(
            cstr(name).as_ptr(),
            cstr(id).as_ptr(),
            cstr(secret).as_ptr(),
            cfg,
        )
    };
    unsafe { pirsch_config_free(cfg) };
    c
}

fn enqueue(c: *mut pirsch_client, url: &str) -> pirsch_result {
    let h = HitData::page(url, "198.51.100.5");
    unsafe { pirsch_hit_enqueue(c, &h.opts()) }
}

fn stats(c: *mut pirsch_client) -> pirsch_stats {
    let mut s: pirsch_stats = unsafe { std::mem::zeroed() };
    s.struct_size = std::mem::size_of::<pirsch_stats>();
    assert_eq!(unsafe { pirsch_stats(c, &mut s) }, PIRSCH_OK);
    s
}

#[test]
fn one_client_per_name_counted_by_reference() {
    let s = Standin::start();
    let settings = [("base_url", s.url.as_str()), ("flush_interval_ms", "20")];
    let a = shared("refs", "", ACCESS_KEY, &settings);
    assert!(!a.is_null(), "{}", last_error());
    let b = shared("refs", "", ACCESS_KEY, &[]);
    assert_eq!(a, b, "the same client for the same name");
    assert_eq!(enqueue(a, "https://example.com/shared/1"), PIRSCH_OK);
    assert_eq!(stats(b).enqueued, 1);
    // Another name is another client; the same name with other credentials is refused.
    let other = shared("other", "", ACCESS_KEY, &settings);
    assert!(!other.is_null() && other != a);
    let bad = shared("refs", "", "pa_someone_else", &settings);
    assert!(bad.is_null());
    assert_eq!(pirsch_last_error_code(), PIRSCH_ERR_INVALID_ARGUMENT);
    assert!(
        last_error().contains("other credentials"),
        "{}",
        last_error()
    );
    assert!(shared("", "", ACCESS_KEY, &settings).is_null());
    assert!(last_error().contains("1 to 64 bytes"), "{}", last_error());
    // Two references: the first free leaves it working, the second frees it (delivering).
    unsafe { pirsch_free(a) };
    assert_eq!(enqueue(b, "https://example.com/shared/2"), PIRSCH_OK);
    unsafe { pirsch_free(b) };
    let urls: Vec<String> = s
        .bodies("hit")
        .iter()
        .map(|b| b["url"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        urls.len(),
        2,
        "delivered when the last reference went: {urls:?}"
    );
    // The name is free again: a new client.
    let c = shared("refs", "", ACCESS_KEY, &settings);
    assert!(!c.is_null());
    assert_eq!(stats(c).enqueued, 0, "a new client");
    unsafe { pirsch_free(c) };
    unsafe { pirsch_free(other) };
}

/// A deliver_at_exit client outlives its references: taken again after the last one went back
/// (the next PHP request of a worker), it is the same client with the same queue.
#[test]
fn a_client_kept_until_exit_is_taken_again_after_its_last_reference() {
    let s = Standin::start();
    let settings = [
        ("base_url", s.url.as_str()),
        ("flush_interval_ms", "60000"),
        ("deliver_at_exit", "true"),
    ];
    let a = shared("kept", "", ACCESS_KEY, &settings);
    assert!(!a.is_null(), "{}", last_error());
    assert_eq!(enqueue(a, "https://example.com/kept/1"), PIRSCH_OK);
    unsafe { pirsch_free(a) };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let b = shared("kept", "", ACCESS_KEY, &[]);
        tx.send(b as usize).unwrap();
    });
    let b = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("pirsch_client_shared returned (it spun forever before)")
        as *mut pirsch_client;
    assert_eq!(b, a, "the same client");
    assert_eq!(stats(b).enqueued, 1, "with its queue");
    assert_eq!(stats(b).sent, 0, "kept, not freed: nothing delivered yet");
    unsafe { pirsch_free(b) };
    // One free too many is ignored (the count never wraps around).
    unsafe { pirsch_free(b) };
    let c = shared("kept", "", ACCESS_KEY, &[]);
    assert_eq!(c, a);
    unsafe { pirsch_free(c) };
}

/// The child: a shared client whose queue would wait a minute, 25 page views, and a normal
/// exit without pirsch_free.
#[test]
fn shared_child() {
    let Ok(base) = std::env::var("PIRSCH_SHARED_CHILD") else {
        return;
    };
    let at_exit = std::env::var("AT_EXIT").unwrap();
    let c = shared(
        "exit",
        "",
        ACCESS_KEY,
        &[
            ("base_url", &base),
            ("flush_interval_ms", "60000"),
            ("deliver_at_exit", &at_exit),
        ],
    );
    assert!(!c.is_null());
    for i in 0..25 {
        assert_eq!(
            enqueue(c, &format!("https://example.com/exit-{at_exit}/{i}")),
            PIRSCH_OK
        );
    }
}

#[test]
fn deliver_at_exit_delivers_what_is_queued_when_the_process_exits() {
    let s = Standin::start();
    for at_exit in ["true", "false"] {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "shared_child", "--test-threads=1"])
            .env("PIRSCH_SHARED_CHILD", &s.url)
            .env("AT_EXIT", at_exit)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(out.success());
        std::thread::sleep(Duration::from_millis(200));
        let n = s
            .bodies("hit")
            .iter()
            .filter(|b| {
                b["url"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("/exit-{at_exit}/"))
            })
            .count();
        let expect = if at_exit == "true" { 25 } else { 0 };
        assert_eq!(n, expect, "deliver_at_exit={at_exit}");
    }
    let _ = json!(null);
}
