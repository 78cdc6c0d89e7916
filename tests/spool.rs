//! The durable spool through the C ABI, with real processes: what a client could not deliver
//! before pirsch_free, or that found its queue full, is delivered by the next client with the
//! same API target and credentials; kill -9 in each spool_sync mode loses at most what the
//! mode allows; damaged, foreign and newer files; a full spool; two processes racing to
//! claim the same files.
//!
//! The child processes are this test binary again (`spool_child`, which does nothing unless
//! PIRSCH_SPOOL_CHILD is set).

mod common;
use common::*;
use pirsch::ffi::*;
use serde_json::json;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn spool_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "pirsch-spool-{name}-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ (std::ptr::addr_of!(name) as u128)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn spool_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "spool"))
        .collect();
    v.sort();
    v
}

fn client(s: &Standin, dir: &Path, extra: &[(&str, &str)]) -> TestClient {
    let mut settings = vec![
        ("spool_dir", dir.to_str().unwrap()),
        ("flush_interval_ms", "100"),
        ("shutdown_timeout_ms", "300"),
    ];
    settings.extend_from_slice(extra);
    TestClient::new(s, "", ACCESS_KEY, &settings)
}

fn page(tag: &str, i: usize) -> HitData {
    HitData::page(&format!("https://example.com/{tag}/{i}"), "198.51.100.7")
}

/// How often each URL under /{tag}/ reached the stand-in.
fn received(s: &Standin, tag: &str) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for b in s.bodies("hit") {
        let url = b["url"].as_str().unwrap_or("").to_string();
        if url.contains(&format!("/{tag}/")) {
            *m.entry(url).or_insert(0) += 1;
        }
    }
    m
}

/// Waits until `cond` holds (up to 15 s).
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(15);
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A client that claims and delivers the spool: it queues one page view of its own (which
/// starts its sender) and waits until `expect` spooled items went out.
fn deliver_spool(s: &Standin, dir: &Path, expect: u64) -> pirsch_stats {
    let c = client(s, dir, &[]);
    assert_eq!(c.enqueue(&page("marker", 0)), PIRSCH_OK, "{}", last_error());
    wait_for(&format!("{expect} unspooled"), || {
        c.stats().unspooled >= expect
    });
    assert_eq!(c.flush(5000), PIRSCH_OK);
    std::thread::sleep(Duration::from_millis(300));
    c.stats()
}

/// pirsch_free with shutdown_timeout_ms 0 and 100,000 page views queued (writing them takes
/// longer than the 100 ms of grace): it returns only once they are on disk, so a process
/// that exits right after loses none of them.
#[test]
fn what_pirsch_free_spools_is_on_disk_when_it_returns() {
    let s = Standin::start();
    let dir = spool_dir("exit");
    s.fault(json!({"path_prefix": "/api/v1/", "status": 503}));
    let n = 100_000;
    let w = child(
        "exiter",
        &s,
        &dir,
        &[("N", &n.to_string()), ("TAG", "exit")],
    );
    let out = w.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("FREED"), "{said}");
    s.clear_faults();
    deliver_spool(&s, &dir, n as u64);
    let got = received(&s, "exit");
    assert_eq!(
        got.len(),
        n,
        "{} of {n} page views arrived ({said})",
        got.len()
    );
    assert!(got.values().all(|&k| k == 1), "each once");
}

#[test]
fn what_pirsch_free_cannot_deliver_is_spooled_and_delivered_by_the_next_client() {
    let s = Standin::start();
    let dir = spool_dir("handover");
    s.fault(json!({"path_prefix": "/api/v1/hit/batch", "status": 503}));
    let before = std::time::SystemTime::now();
    {
        let c = client(&s, &dir, &[("spool_sync", "shutdown")]);
        for i in 0..40 {
            assert_eq!(c.enqueue(&page("handover", i)), PIRSCH_OK);
        }
        std::thread::sleep(Duration::from_millis(300));
        let st = c.stats();
        assert_eq!((st.spooled, st.sent), (0, 0), "{}", show(&st));
    } // pirsch_free: the API is down; the 40 go to the spool.
    let files = spool_files(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "readable by the owner only");
    let bytes = std::fs::read(&files[0]).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains(ACCESS_KEY), "no secret in the spool");
    std::thread::sleep(Duration::from_millis(1100));
    s.clear_faults();
    let st = deliver_spool(&s, &dir, 40);
    assert_eq!(
        (st.unspooled, st.spool_dropped, st.spool_errors),
        (40, 0, 0),
        "{}",
        show(&st)
    );
    let got = received(&s, "handover");
    assert_eq!(got.len(), 40);
    assert!(got.values().all(|n| *n == 1), "once each: {got:?}");
    // In order, and with the time they were queued at (not the time of delivery).
    let bodies: Vec<_> = s
        .bodies("hit")
        .into_iter()
        .filter(|b| b["url"].as_str().unwrap().contains("/handover/"))
        .collect();
    let order: Vec<usize> = bodies
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
    assert_eq!(order, (0..40).collect::<Vec<_>>());
    let queued = rfc3339(before);
    let delivered_after = rfc3339(std::time::SystemTime::now() - Duration::from_millis(900));
    for b in &bodies {
        let t = b["time"].as_str().unwrap();
        assert!(t >= queued.as_str() && t < delivered_after.as_str(), "{t}");
    }
    assert!(spool_files(&dir).is_empty(), "the delivered file is gone");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_full_queue_spills_into_the_spool_up_to_spool_max_bytes() {
    let s = Standin::start();
    let dir = spool_dir("overflow");
    s.fault(json!({"path_prefix": "/api/v1/hit/batch", "delay_ms": 3000}));
    let c = client(
        &s,
        &dir,
        &[
            ("queue_capacity", "10"),
            ("spool_max_bytes", "65536"),
            ("spool_sync", "shutdown"),
        ],
    );
    let mut refused = 0;
    for i in 0..1000 {
        match c.enqueue(&page("overflow", i)) {
            PIRSCH_OK => {}
            PIRSCH_ERR_QUEUE_FULL => refused += 1,
            rc => panic!("{rc}: {}", last_error()),
        }
    }
    let st = c.stats();
    assert!(invariant(&st), "{}", show(&st));
    // ~120 bytes a record: some 540 fit in 64 KiB; the rest is refused as before.
    assert!(st.spooled > 350 && st.spooled < 700, "{}", show(&st));
    assert_eq!(st.dropped_queue_full, refused);
    assert!(refused > 250 && st.spool_errors >= 1, "{}", show(&st));
    drop(c);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The child process: a client with a spool whose API never accepts; queues N page views,
/// says READY, and waits to be killed.
#[test]
fn spool_child() {
    let Ok(role) = std::env::var("PIRSCH_SPOOL_CHILD") else {
        return;
    };
    let dir = std::env::var("SPOOL_DIR").unwrap();
    let base = std::env::var("BASE_URL").unwrap();
    let n: usize = std::env::var("N").unwrap().parse().unwrap();
    let tag = std::env::var("TAG").unwrap();
    let mut settings = vec![
        ("base_url", base.as_str()),
        ("spool_dir", dir.as_str()),
        ("flush_interval_ms", "100"),
    ];
    if role == "exiter" {
        // Queues N, frees the client with no time to deliver, and exits at once: what
        // pirsch_free said it spooled must be on disk by then.
        settings.push(("spool_sync", "shutdown"));
        settings.push(("shutdown_timeout_ms", "0"));
        settings.push(("queue_capacity", "1000000"));
        settings.push(("queue_max_bytes", "1073741824"));
        settings.push(("spool_max_bytes", "1073741824"));
        let c = try_client("", ACCESS_KEY, &settings).expect("client");
        // A browser's page view: about 400 bytes of JSON, 40 MB for 100,000.
        let ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        for i in 0..n {
            let p = page(&tag, i)
                .set("user_agent", ua)
                .set("accept_language", "en-US,en;q=0.9")
                .set(
                    "referrer",
                    "https://news.example.com/some/article/that/linked/here",
                )
                .set(
                    "title",
                    "A page with a title of a typical length, about sixty chars",
                );
            assert_eq!(c.enqueue(&p), PIRSCH_OK);
        }
        let start = Instant::now();
        drop(c); // pirsch_free
        println!("FREED in {} ms", start.elapsed().as_millis());
        // No destructors, no atexit handlers: as a crash right after would.
        unsafe { libc::_exit(0) };
    }
    if role == "writer" {
        let sync = std::env::var("SPOOL_SYNC").unwrap();
        settings.push(("spool_sync", Box::leak(sync.into_boxed_str())));
        let c = try_client("", ACCESS_KEY, &settings).expect("client");
        for i in 0..n {
            assert_eq!(c.enqueue(&page(&tag, i)), PIRSCH_OK);
        }
        // Six flush intervals: spool_sync=interval has written everything by now, even on a
        // loaded machine (it writes every interval).
        std::thread::sleep(Duration::from_millis(1200));
        println!("READY");
        std::thread::sleep(Duration::from_secs(60));
    } else {
        // A claimer: delivers what it can claim, then prints how much.
        let c = try_client("", ACCESS_KEY, &settings).expect("client");
        assert_eq!(c.enqueue(&page("claimer", 0)), PIRSCH_OK);
        let mut last = (0, Instant::now());
        while last.1.elapsed() < Duration::from_millis(1500) {
            let u = c.stats().unspooled;
            if u != last.0 {
                last = (u, Instant::now());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        println!("UNSPOOLED {}", last.0);
    }
}

fn child(role: &str, s: &Standin, dir: &Path, vars: &[(&str, &str)]) -> std::process::Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "spool_child", "--nocapture", "--test-threads=1"])
        .env("PIRSCH_SPOOL_CHILD", role)
        .env("SPOOL_DIR", dir)
        .env("BASE_URL", &s.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Runs a writer child until READY, then kills it with SIGKILL.
fn kill_writer(s: &Standin, dir: &Path, sync: &str, tag: &str, n: usize) {
    let n = n.to_string();
    let mut w = child(
        "writer",
        s,
        dir,
        &[("SPOOL_SYNC", sync), ("N", &n), ("TAG", tag)],
    );
    let mut out = BufReader::new(w.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the writer ended early"
        );
        if line.contains("READY") {
            break;
        }
    }
    w.kill().unwrap(); // SIGKILL
    w.wait().unwrap();
}

#[test]
fn kill_9_loses_at_most_what_the_mode_allows() {
    let s = Standin::start();
    s.fault(json!({"path_prefix": "/api/v1/hit/batch", "status": 503}));
    for (sync, expect) in [("always", 120), ("interval", 120), ("shutdown", 0)] {
        let dir = spool_dir(sync);
        kill_writer(&s, &dir, sync, sync, 120);
        s.clear_faults();
        let c = client(&s, &dir, &[]);
        assert_eq!(c.enqueue(&page("marker", 1)), PIRSCH_OK);
        if expect > 0 {
            wait_for(&format!("{sync}: {expect} unspooled"), || {
                c.stats().unspooled >= expect
            });
        } else {
            std::thread::sleep(Duration::from_millis(800));
        }
        assert_eq!(c.flush(5000), PIRSCH_OK);
        let st = c.stats();
        assert_eq!(st.unspooled, expect, "{sync}: {}", show(&st));
        let got = received(&s, sync);
        assert_eq!(got.len() as u64, expect, "{sync}");
        assert!(got.values().all(|n| *n == 1), "{sync}: once each");
        drop(c);
        assert!(
            spool_files(&dir).is_empty(),
            "{sync}: {:?}",
            spool_files(&dir)
        );
        std::fs::remove_dir_all(&dir).unwrap();
        s.fault(json!({"path_prefix": "/api/v1/hit/batch", "status": 503}));
    }
}

#[test]
fn two_processes_racing_to_claim_deliver_each_item_once() {
    let s = Standin::start();
    let dir = spool_dir("race");
    s.fault(json!({"path_prefix": "/api/v1/hit/batch", "status": 503}));
    for w in 0..3 {
        kill_writer(&s, &dir, "always", &format!("race{w}"), 300);
    }
    assert_eq!(spool_files(&dir).len(), 3);
    s.clear_faults();
    let mut claimers: Vec<_> = (0..2)
        .map(|_| child("claimer", &s, &dir, &[("N", "0"), ("TAG", "x")]))
        .collect();
    let mut total = 0u64;
    for c in claimers.iter_mut() {
        let mut out = String::new();
        std::io::Read::read_to_string(c.stdout.as_mut().unwrap(), &mut out).unwrap();
        c.wait().unwrap();
        let n: u64 = out
            .lines()
            .find_map(|l| l.split("UNSPOOLED ").nth(1))
            .expect("a count")
            .trim()
            .parse()
            .unwrap();
        total += n;
    }
    assert_eq!(total, 900, "between them, every spooled item once");
    for w in 0..3 {
        let got = received(&s, &format!("race{w}"));
        assert_eq!(got.len(), 300);
        assert!(got.values().all(|n| *n == 1), "once each");
    }
    assert!(spool_files(&dir).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

// The file format, written here from its description in src/spool/format.rs, so that the
// test also pins the format down.

fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn record(out: &mut Vec<u8>, id: u64, wall_ms: u64, json: &[u8]) {
    let mut p = vec![1u8, 0u8];
    p.extend_from_slice(&id.to_le_bytes());
    p.extend_from_slice(&wall_ms.to_le_bytes());
    p.extend_from_slice(json);
    out.extend_from_slice(&(p.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32(&p).to_le_bytes());
    out.extend_from_slice(&p);
}

fn spool_file(version: u32, items: std::ops::Range<u64>, tag: &str) -> Vec<u8> {
    let mut b = b"PIRSCHSP".to_vec();
    b.extend_from_slice(&version.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    for id in items {
        let json = json!({"url": format!("https://example.com/{tag}/{id}"), "ip": "198.51.100.9",
            "user_agent": "Mozilla/5.0", "time": rfc3339(std::time::SystemTime::now())});
        record(&mut b, id, now, json.to_string().as_bytes());
    }
    b
}

/// The name a client with these credentials gives its files: found by letting it write one.
fn target_prefix(s: &Standin, dir: &Path) -> String {
    s.fault(json!({"path_prefix": "/api/v1/hit/batch", "status": 503}));
    {
        let c = client(s, dir, &[("spool_sync", "always")]);
        assert_eq!(c.enqueue(&page("probe", 0)), PIRSCH_OK);
    }
    let f = spool_files(dir).pop().expect("a spool file");
    let name = f.file_name().unwrap().to_str().unwrap().to_string();
    std::fs::remove_file(&f).unwrap();
    s.clear_faults();
    name.split('.').next().unwrap().to_string()
}

#[test]
fn damaged_foreign_and_newer_files_never_stop_delivery() {
    let s = Standin::start();
    let dir = spool_dir("damaged");
    let prefix = target_prefix(&s, &dir);
    // A good file with a flipped byte in its 3rd record and its last record cut short.
    let mut damaged = spool_file(1, 1..11, "damaged");
    let one = (damaged.len() - 16) / 10;
    damaged[16 + 2 * one + 40] ^= 0x55;
    damaged.truncate(damaged.len() - 5);
    std::fs::write(dir.join(format!("{prefix}.1.1000.0.spool")), &damaged).unwrap();
    // Not a spool file at all, and one from a newer libpirsch: left alone.
    std::fs::write(
        dir.join(format!("{prefix}.2.1001.0.spool")),
        b"{\"hello\": 1}",
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("{prefix}.3.1002.0.spool")),
        spool_file(9, 1..4, "newer"),
    )
    .unwrap();
    let st = deliver_spool(&s, &dir, 8);
    assert_eq!(st.unspooled, 8, "{}", show(&st));
    assert!(st.spool_errors >= 3, "{}", show(&st));
    let got = received(&s, "damaged");
    let mut ids: Vec<u64> = got
        .keys()
        .map(|u| u.rsplit('/').next().unwrap().parse().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, [1, 2, 4, 5, 6, 7, 8, 9], "the good records, once each");
    assert!(received(&s, "newer").is_empty());
    let left = spool_files(&dir);
    assert_eq!(
        left.len(),
        2,
        "the foreign and the newer file stay: {left:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_spool_dir_that_cannot_be_used_is_refused_with_a_reason() {
    for (dir, why) in [
        ("relative/dir", "absolute"),
        ("/nonexistent/pirsch-spool", "create it"),
        ("/etc/hostname", "not a directory"),
    ] {
        let (rc, msg) = try_setting("spool_dir", dir);
        assert_eq!(rc, PIRSCH_ERR_INVALID_ARGUMENT);
        assert!(msg.contains(why), "{dir}: {msg}");
    }
    let (rc, msg) = try_setting("spool_sync", "sometimes");
    assert_eq!(rc, PIRSCH_ERR_INVALID_ARGUMENT);
    assert!(msg.contains("shutdown, interval or always"), "{msg}");
}

#[test]
fn the_code_of_the_last_error_says_why_client_new_returned_null() {
    assert!(try_client("", "not-a-key", &[]).is_none());
    assert_eq!(
        pirsch_last_error_code(),
        PIRSCH_ERR_AUTH,
        "{}",
        last_error()
    );
    assert!(try_client("", ACCESS_KEY, &[("base_url", "http://example.com")]).is_none());
    assert_eq!(pirsch_last_error_code(), PIRSCH_ERR_INVALID_ARGUMENT);
    let (rc, _) = try_setting("timeout_ms", "5");
    assert_eq!(rc, PIRSCH_OK);
    assert_eq!(pirsch_last_error_code(), PIRSCH_OK);
}

/// A full disk: the spool on a 64 KiB tmpfs (mounted for the test; root only). Writes that
/// fail are counted in spool_errors and the items refused as without a spool; the caller is
/// never blocked; what was written is delivered later, the torn last record skipped.
#[test]
fn a_full_disk_is_counted_and_what_was_written_still_arrives() {
    let dir = spool_dir("fulldisk");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs"])
        .arg(&dir)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (needs root): the full-disk case is not checked"
        );
        return;
    }
    let s = Standin::start();
    s.fault(json!({"path_prefix": "/api/v1/hit/batch", "status": 503}));
    let st = {
        let c = client(
            &s,
            &dir,
            &[
                ("queue_capacity", "10"),
                ("spool_max_bytes", "1073741824"),
                ("spool_sync", "shutdown"),
            ],
        );
        let t = Instant::now();
        let mut refused = 0;
        for i in 0..2000 {
            match c.enqueue(&page("fulldisk", i)) {
                PIRSCH_OK => {}
                PIRSCH_ERR_QUEUE_FULL => refused += 1,
                rc => panic!("{rc}: {}", last_error()),
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "never blocked: {:?}",
            t.elapsed()
        );
        let st = c.stats();
        assert!(invariant(&st), "{}", show(&st));
        assert_eq!(st.dropped_queue_full, refused);
        assert!(
            refused > 0 && st.spooled > 100 && st.spool_errors > 0,
            "{}",
            show(&st)
        );
        st
    };
    s.clear_faults();
    // Those spooled at overflow arrive (the queued ones found the disk full at shutdown).
    let later = deliver_spool(&s, &dir, st.spooled);
    assert_eq!(later.unspooled, st.spooled, "{}", show(&later));
    let got = received(&s, "fulldisk");
    assert!(got.values().all(|n| *n == 1));
    let _ = Command::new("umount").arg(&dir).status();
    let _ = std::fs::remove_dir_all(&dir);
}
