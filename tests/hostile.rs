//! A server written to misbehave (raw sockets, scripted answers) against the real C ABI:
//! truncated and non-UTF-8 answers, echoes of the request, redirects, odd tokens, a token
//! endpoint that hangs or refuses for good, huge error bodies, absurd Retry-After dates,
//! answers that drip a byte at a time, promise absurd lengths, break their chunking, never
//! end, or carry megabytes of headers, and connections reset in the middle of a batch.
//! Each test bounds time (and, where a server could make it grow, memory), and checks what
//! the library says and what it sends.

mod common;
use common::*;
use pirsch::ffi::*;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as the hostile server read it.
#[derive(Clone, Debug)]
struct Req {
    path: String,
    head: String,
    body: String,
}

/// What the server does with a request.
enum Answer {
    /// Writes these bytes, then closes the connection.
    Raw(Vec<u8>),
    /// Waits this long, then closes without a word.
    Hang(Duration),
    /// Writes these bytes one at a time, this long apart (a slow loris in reverse).
    Drip(Vec<u8>, Duration),
    /// Writes these bytes, then filler for ever (until the client goes away).
    Endless(Vec<u8>),
    /// Resets the connection (RST, not FIN) without answering.
    Reset,
}

type Script = dyn Fn(&Req) -> Answer + Send + Sync;

struct Hostile {
    url: String,
    seen: Arc<Mutex<Vec<Req>>>,
    /// While above zero, each request is reset after half its body has been read.
    cut_mid_body: Arc<AtomicU32>,
}

/// Closes with an RST: SO_LINGER on, zero seconds.
fn reset(conn: TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    unsafe {
        libc::setsockopt(
            conn.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(conn);
}

impl Hostile {
    fn start(script: impl Fn(&Req) -> Answer + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let seen2 = seen.clone();
        let cut_mid_body = Arc::new(AtomicU32::new(0));
        let cut2 = cut_mid_body.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let (seen, script, cut) = (seen2.clone(), script.clone(), cut2.clone());
                std::thread::spawn(move || serve(conn, &seen, &*script, &cut));
            }
        });
        Hostile {
            url,
            seen,
            cut_mid_body,
        }
    }

    fn requests(&self, path: &str) -> Vec<Req> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|r| r.path.starts_with(path))
            .cloned()
            .collect()
    }
}

fn serve(mut conn: TcpStream, seen: &Mutex<Vec<Req>>, script: &Script, cut: &AtomicU32) {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let cut_now = cut
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    while buf.len() < head_end + if cut_now { len / 2 } else { len } {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    if cut_now {
        return reset(conn);
    }
    let mut first = head.lines().next().unwrap_or("").split(' ').skip(1);
    let req = Req {
        path: first.next().unwrap_or("").to_string(),
        head: head.clone(),
        body: String::from_utf8_lossy(&buf[head_end..head_end + len]).into_owned(),
    };
    seen.lock().unwrap().push(req.clone());
    match script(&req) {
        Answer::Raw(bytes) => {
            let _ = conn.write_all(&bytes);
            let _ = conn.flush();
        }
        Answer::Hang(d) => std::thread::sleep(d),
        Answer::Drip(bytes, every) => {
            for b in bytes {
                if conn.write_all(&[b]).is_err() {
                    return;
                }
                std::thread::sleep(every);
            }
        }
        Answer::Endless(head) => {
            let filler = vec![b'x'; 64 * 1024];
            if conn.write_all(&head).is_ok() {
                while conn.write_all(&filler).is_ok() {}
            }
        }
        Answer::Reset => reset(conn),
    }
}

/// A complete answer with a JSON (or any) body.
fn answer(status: &str, extra_headers: &str, body: &[u8]) -> Answer {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    Answer::Raw(out)
}

fn token_answer(token: &str, expires_at: &str) -> Answer {
    let body = serde_json::json!({ "access_token": token, "expires_at": expires_at }).to_string();
    answer(
        "200 OK",
        "Content-Type: application/json\r\n",
        body.as_bytes(),
    )
}

fn future() -> &'static str {
    "2999-01-01T00:00:00Z"
}

const SECRET: &str = "hostile-test-secret-0123456789";
const KEY: &str = "pa_hostile_test_key_abcdef";

/// Messages the library logged, from any thread.
static LOGGED: Mutex<Vec<String>> = Mutex::new(Vec::new());

unsafe extern "C" fn collect(_ud: *mut c_void, _level: c_int, msg: *const c_char) {
    let m = CStr::from_ptr(msg).to_string_lossy().into_owned();
    LOGGED.lock().unwrap().push(m);
}

fn client(url: &str, id: &str, secret: &str, extra: &[(&str, &str)]) -> TestClient {
    let mut settings = vec![("base_url", url), ("log_level", "debug")];
    settings.extend_from_slice(extra);
    let cfg = config_of(&settings);
    unsafe {
        assert_eq!(
            pirsch_config_set_logger(cfg, Some(collect), std::ptr::null_mut()),
            PIRSCH_OK
        );
        let c = pirsch_client_new(cstr(id).as_ptr(), cstr(secret).as_ptr(), cfg);
        pirsch_config_free(cfg);
        assert!(!c.is_null(), "client_new: {}", last_error());
        TestClient(c)
    }
}

fn page(i: usize) -> HitData {
    HitData::page(&format!("https://example.com/hostile/{i}"), "198.51.100.1")
}

#[test]
fn a_2xx_is_delivered_however_its_body_reads() {
    // Cut short (Content-Length promises more), and not UTF-8: both were once taken for a
    // network error, and the batch was sent again and again.
    for body in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"ok\":"[..],
        &b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\n\xff\xfe\xfd\xfc"[..],
    ] {
        let body = body.to_vec();
        let h = Hostile::start(move |_| Answer::Raw(body.clone()));
        let c = client(
            &h.url,
            "",
            KEY,
            &[("max_retries", "3"), ("flush_interval_ms", "20")],
        );
        assert_eq!(c.hit(&page(0)), PIRSCH_OK, "{}", last_error());
        assert_eq!(
            h.requests("/api/v1/hit").len(),
            1,
            "a delivered page view is not sent again"
        );
        for i in 0..10 {
            assert_eq!(c.enqueue(&page(i)), PIRSCH_OK);
        }
        assert_eq!(c.flush(5000), PIRSCH_OK, "{}", last_error());
        std::thread::sleep(Duration::from_millis(300));
        let s = c.stats();
        assert_eq!((s.sent, s.retries), (10, 0), "{}", show(&s));
        assert_eq!(
            h.requests("/api/v1/hit/batch").len(),
            1,
            "one batch, no duplicates"
        );
    }
}

#[test]
fn an_error_status_keeps_its_meaning_with_an_unreadable_body() {
    let h = Hostile::start(|_| answer("400 Bad Request", "", b"\xff\xfe{\"error\":[\"no\"]}"));
    let c = client(&h.url, "", KEY, &[("max_retries", "2")]);
    assert_eq!(c.hit(&page(0)), PIRSCH_ERR_HTTP);
    assert!(last_error().contains("HTTP 400"), "{}", last_error());
    assert_eq!(h.requests("/api/v1/hit").len(), 1, "a 400 is not retried");
}

#[test]
fn secrets_never_reach_messages_or_the_log_even_when_a_server_echoes_them() {
    // The token endpoint refuses and echoes the request body (with the client secret).
    let h = Hostile::start(|r| {
        let echo = serde_json::json!({ "error": [format!("you sent {} with {}", r.body, r.head)] })
            .to_string();
        answer("401 Unauthorized", "", echo.as_bytes())
    });
    let c = client(&h.url, "hostile-client", SECRET, &[("max_retries", "0")]);
    assert_eq!(c.hit(&page(0)), PIRSCH_ERR_AUTH);
    let msg = last_error();
    assert!(
        h.requests("/api/v1/token")[0].body.contains(SECRET),
        "the echo holds the secret"
    );
    assert!(msg.contains("you sent") && !msg.contains(SECRET), "{msg}");
    // An access key goes out as the bearer token; a 400 echoing the headers shows it.
    let c = client(&h.url, "", KEY, &[("max_retries", "0")]);
    assert_ne!(c.hit(&page(1)), PIRSCH_OK);
    let msg = last_error();
    assert!(msg.contains("Bearer") && !msg.contains(KEY), "{msg}");
    drop(c);
    let logged = LOGGED.lock().unwrap().clone();
    for m in &logged {
        assert!(!m.contains(SECRET) && !m.contains(KEY), "logged: {m}");
    }
    // A password in base_url is refused, and not repeated in the message.
    let (rc, msg) = try_setting("base_url", "https://user:hunter2pw@api.example.com");
    assert_eq!(rc, PIRSCH_ERR_INVALID_ARGUMENT);
    assert!(
        msg.contains("user name or password") && !msg.contains("hunter2pw"),
        "{msg}"
    );
}

#[test]
fn huge_error_bodies_are_cut() {
    let big = "x".repeat(4 << 20);
    let body =
        serde_json::json!({ "error": [big.clone()], "validation": { "url": big } }).to_string();
    let h = Hostile::start(move |_| answer("400 Bad Request", "", body.as_bytes()));
    let c = client(&h.url, "", KEY, &[]);
    assert_eq!(c.hit(&page(0)), PIRSCH_ERR_HTTP);
    let msg = last_error();
    assert!(
        msg.len() <= 2048 && msg.contains("bytes cut"),
        "{} bytes",
        msg.len()
    );
}

#[test]
fn absurd_retry_after_dates_are_ignored() {
    let h = Hostile::start(|_| {
        answer(
            "503 Service Unavailable",
            "Retry-After: Wed, 21 Oct 9999999999999999 07:28:00 GMT\r\n",
            b"{}",
        )
    });
    let c = client(
        &h.url,
        "",
        KEY,
        &[("max_retries", "1"), ("timeout_ms", "1000")],
    );
    assert_eq!(c.hit(&page(0)), PIRSCH_ERR_HTTP, "{}", last_error());
    assert_eq!(h.requests("/api/v1/hit").len(), 2);
}

#[test]
fn a_token_that_expired_by_our_clock_is_used_for_a_while() {
    let h = Hostile::start(|r| {
        if r.path.starts_with("/api/v1/token") {
            token_answer(
                "tok-from-a-server-whose-clock-is-behind",
                "2001-01-01T00:00:00Z",
            )
        } else {
            answer("200 OK", "", b"")
        }
    });
    let c = client(&h.url, "hostile-client", SECRET, &[]);
    for i in 0..20 {
        assert_eq!(c.hit(&page(i)), PIRSCH_OK, "{}", last_error());
    }
    assert_eq!(
        h.requests("/api/v1/token").len(),
        1,
        "one token, not one per page view"
    );
}

#[test]
fn a_token_that_cannot_be_sent_is_an_auth_failure_and_loses_nothing() {
    for token in ["abc\r\nX-Injected: 1", "tökén-non-ascii", "with space"] {
        let t = token.to_string();
        let h = Hostile::start(move |r| {
            if r.path.starts_with("/api/v1/token") {
                token_answer(&t, future())
            } else {
                answer("200 OK", "", b"")
            }
        });
        let c = client(
            &h.url,
            "hostile-client",
            SECRET,
            &[("max_retries", "0"), ("flush_interval_ms", "20")],
        );
        assert_eq!(
            c.hit(&page(0)),
            PIRSCH_ERR_AUTH,
            "{token:?}: {}",
            last_error()
        );
        assert!(last_error().contains("cannot be sent"), "{}", last_error());
        for i in 0..3 {
            assert_eq!(c.enqueue(&page(i)), PIRSCH_OK);
        }
        std::thread::sleep(Duration::from_millis(500));
        let s = c.stats();
        assert_eq!(
            s.dropped_rejected,
            0,
            "{token:?}: the API never saw them: {}",
            show(&s)
        );
        assert_eq!(s.sent, 0);
        assert!(
            h.requests("/api/v1/hit").is_empty(),
            "nothing was sent with such a token"
        );
    }
    // An access key that could not be sent is refused when the client is made.
    assert!(try_client("", "pa_bad\nkey", &[]).is_none());
    assert!(last_error().contains("cannot be sent"), "{}", last_error());
}

#[test]
fn redirects_are_never_followed_and_say_where_they_point() {
    let h = Hostile::start(|r| {
        if r.path.starts_with("/api/v1/token") {
            answer(
                "307 Temporary Redirect",
                "Location: https://elsewhere.example/api/v1/token\r\n",
                b"",
            )
        } else {
            answer(
                "301 Moved Permanently",
                "Location: https://elsewhere.example/api/v1/hit\r\n",
                b"",
            )
        }
    });
    let c = client(&h.url, "", KEY, &[("max_retries", "2")]);
    assert_eq!(c.hit(&page(0)), PIRSCH_ERR_HTTP);
    let msg = last_error();
    assert!(
        msg.contains("elsewhere.example") && msg.contains("never followed"),
        "{msg}"
    );
    assert_eq!(
        h.requests("/api/v1/hit").len(),
        1,
        "not retried, not followed"
    );
    let c = client(&h.url, "hostile-client", SECRET, &[("max_retries", "2")]);
    assert_eq!(c.hit(&page(1)), PIRSCH_ERR_AUTH);
    assert!(last_error().contains("redirected"), "{}", last_error());
    assert_eq!(h.requests("/api/v1/token").len(), 1);
}

#[test]
fn a_permanent_401_does_not_hammer_the_token_endpoint() {
    let h = Hostile::start(|r| {
        if r.path.starts_with("/api/v1/token") {
            token_answer("tok-that-the-api-refuses", future())
        } else {
            answer("401 Unauthorized", "", b"{\"error\":[\"unauthorized\"]}")
        }
    });
    let c = client(&h.url, "hostile-client", SECRET, &[("max_retries", "0")]);
    let start = Instant::now();
    let mut calls = 0;
    while start.elapsed() < Duration::from_millis(1500) {
        assert_eq!(c.hit(&page(calls)), PIRSCH_ERR_AUTH);
        calls += 1;
    }
    let tokens = h.requests("/api/v1/token").len();
    // Before: two token requests per call (thousands a second). Now: the first, one renewal
    // after the 401, and then at most one a second.
    assert!(
        calls > 100 && tokens <= 4,
        "{calls} calls made {tokens} token requests"
    );
}

#[test]
fn blocking_calls_keep_their_own_bound_while_the_token_endpoint_hangs() {
    let h = Hostile::start(|r| {
        if r.path.starts_with("/api/v1/token") {
            Answer::Hang(Duration::from_secs(8))
        } else {
            answer("200 OK", "", b"")
        }
    });
    let c = Arc::new(client(
        &h.url,
        "hostile-client",
        SECRET,
        &[("timeout_ms", "1000"), ("max_retries", "0")],
    ));
    let threads: Vec<_> = (0..6)
        .map(|i| {
            let c = c.clone();
            std::thread::spawn(move || {
                let t = Instant::now();
                let rc = c.hit(&page(i));
                (rc, t.elapsed())
            })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    for t in threads {
        let (rc, took) = t.join().unwrap();
        assert_eq!(rc, PIRSCH_ERR_TIMEOUT);
        slowest = slowest.max(took);
    }
    // Before: 1, 2, 3, 4, 5 and 6 s, one after the other behind one token request. Now
    // about 1 s each, side by side (the bound leaves room for a loaded machine).
    assert!(
        slowest < Duration::from_millis(3500),
        "the slowest call took {slowest:?}"
    );
}

#[test]
fn a_short_lived_token_is_renewed_before_it_expires() {
    // 4 s to live by our clock: renewed halfway (after 2 s), never used past its expiry.
    let issued = Arc::new(Mutex::new(0u32));
    let i2 = issued.clone();
    let h = Hostile::start(move |r| {
        if r.path.starts_with("/api/v1/token") {
            *i2.lock().unwrap() += 1;
            let exp = std::time::SystemTime::now() + Duration::from_secs(4);
            let stamp = rfc3339(exp);
            token_answer("short-lived-token", &stamp)
        } else if r.head.contains("Bearer short-lived-token") {
            answer("200 OK", "", b"")
        } else {
            answer("401 Unauthorized", "", b"{}")
        }
    });
    let c = client(&h.url, "hostile-client", SECRET, &[("max_retries", "0")]);
    for i in 0..6 {
        assert_eq!(c.hit(&page(i)), PIRSCH_OK, "{}", last_error());
        std::thread::sleep(Duration::from_millis(700));
    }
    let tokens = *issued.lock().unwrap();
    assert!(
        (2..=4).contains(&tokens),
        "{tokens} tokens for 4.2 s of 4 s tokens renewed halfway"
    );
}

/// The peak resident set of this process, in KiB, since the last `reset_peak`.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn reset_peak() {
    // Linux: writing 5 to clear_refs resets VmHWM to the current RSS.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}

#[test]
fn an_answer_that_drips_is_cut_at_the_timeout() {
    // The status line never completes: one byte every 200 ms.
    let h = Hostile::start(|_| {
        Answer::Drip(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n".to_vec(),
            Duration::from_millis(200),
        )
    });
    let c = client(
        &h.url,
        "",
        KEY,
        &[("timeout_ms", "800"), ("max_retries", "1")],
    );
    let t = Instant::now();
    assert_eq!(c.hit(&page(0)), PIRSCH_ERR_TIMEOUT, "{}", last_error());
    let took = t.elapsed();
    // Two attempts of 800 ms and the backoff between them; a per-read timeout would never
    // fire while bytes keep coming.
    assert!(took < Duration::from_millis(3500), "took {took:?}");
    assert!(last_error().contains("timeout_ms=800"), "{}", last_error());

    // A 2xx status that arrived whole, then a body that drips: delivered, not sent again.
    let h = Hostile::start(|_| {
        let mut a = b"HTTP/1.1 202 Accepted\r\nContent-Length: 4000\r\n\r\n".to_vec();
        a.extend(std::iter::repeat(b'x').take(4000));
        Answer::Drip(a, Duration::from_millis(5))
    });
    // Its head takes about 250 ms to drip in; timeout_ms leaves room for a loaded machine.
    // The body would take 20 s: the call does not wait for it.
    let c = client(
        &h.url,
        "",
        KEY,
        &[("timeout_ms", "3000"), ("max_retries", "3")],
    );
    let t = Instant::now();
    assert_eq!(c.hit(&page(1)), PIRSCH_OK, "{}", last_error());
    assert!(
        t.elapsed() < Duration::from_millis(6000),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(h.requests("/api/v1/hit").len(), 1, "delivered once");
}

#[test]
fn absurd_lengths_and_endless_bodies_cost_bounded_time_and_memory() {
    // A 2xx promising 90 TB and closing after two bytes: delivered, once.
    let h = Hostile::start(|_| {
        Answer::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\n{}".to_vec())
    });
    let c = client(&h.url, "", KEY, &[("max_retries", "3")]);
    assert_eq!(c.hit(&page(0)), PIRSCH_OK, "{}", last_error());
    assert_eq!(h.requests("/api/v1/hit").len(), 1);
    // A Content-Length that is no number at all: no answer could be read; retried, and said.
    let h = Hostile::start(|_| {
        Answer::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 1e99\r\n\r\n{}".to_vec())
    });
    let c = client(&h.url, "", KEY, &[("max_retries", "1")]);
    let t = Instant::now();
    assert_eq!(c.hit(&page(0)), PIRSCH_ERR_NETWORK, "{}", last_error());
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(last_error().contains(&h.url), "{}", last_error());

    // 503s whose bodies never end, to 16 threads at once. Only a little of each body is
    // read (the status is what counts): before, up to 32 MiB per call were held.
    let h = Hostile::start(|_| {
        Answer::Endless(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\n".to_vec(),
        )
    });
    let c = Arc::new(client(
        &h.url,
        "",
        KEY,
        &[("timeout_ms", "3000"), ("max_retries", "1")],
    ));
    reset_peak();
    let before = peak_kib();
    let t = Instant::now();
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let c = c.clone();
            std::thread::spawn(move || c.hit(&page(i)))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), PIRSCH_ERR_HTTP, "{}", last_error());
    }
    let grew_mib = peak_kib().saturating_sub(before) / 1024;
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(grew_mib < 64, "the peak grew by {grew_mib} MiB");
}

#[test]
fn broken_chunking_keeps_the_status_meaning() {
    // A chunk size that is no hex number, after a complete 202 status: delivered once.
    let h = Hostile::start(|_| {
        Answer::Raw(
            b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
                .to_vec(),
        )
    });
    let c = client(&h.url, "", KEY, &[("max_retries", "3")]);
    assert_eq!(c.hit(&page(0)), PIRSCH_OK, "{}", last_error());
    assert_eq!(h.requests("/api/v1/hit").len(), 1);
    // A chunk that claims more than it holds, on a 400: refused, not retried.
    let h = Hostile::start(|_| {
        Answer::Raw(
            b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\nffffffffff\r\n{\"error\":"
                .to_vec(),
        )
    });
    let c = client(&h.url, "", KEY, &[("max_retries", "3")]);
    assert_eq!(c.hit(&page(0)), PIRSCH_ERR_HTTP, "{}", last_error());
    assert!(last_error().contains("HTTP 400"), "{}", last_error());
    assert_eq!(h.requests("/api/v1/hit").len(), 1);
}

#[test]
fn megabytes_of_headers_are_refused_in_bounded_time_and_memory() {
    let h = Hostile::start(|_| {
        let mut a = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..40_000 {
            a.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "y".repeat(100)).as_bytes());
        }
        a.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        Answer::Raw(a)
    });
    let c = client(
        &h.url,
        "",
        KEY,
        &[("timeout_ms", "3000"), ("max_retries", "1")],
    );
    let t = Instant::now();
    let rc = c.hit(&page(0));
    // 4.5 MB of headers: no answer the library can read, so it cannot know the status.
    assert_eq!(rc, PIRSCH_ERR_NETWORK, "{}", last_error());
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    let msg = last_error();
    assert!(msg.len() <= 2048 && msg.contains(&h.url), "{msg}");
}

#[test]
fn connections_reset_mid_batch_lose_nothing_and_keep_the_books_exact() {
    // The first two requests are reset half-way through their body; then every third one
    // after its whole body, before any answer.
    let n = Arc::new(Mutex::new(0u32));
    let accepted = Arc::new(Mutex::new(Vec::<String>::new()));
    let (n2, acc2) = (n.clone(), accepted.clone());
    let h = Hostile::start(move |r| {
        let mut n = n2.lock().unwrap();
        *n += 1;
        if *n % 3 == 1 {
            return Answer::Reset;
        }
        let items: Vec<serde_json::Value> = serde_json::from_str(&r.body).unwrap();
        let mut acc = acc2.lock().unwrap();
        for it in items {
            acc.push(it["url"].as_str().unwrap().to_string());
        }
        answer("202 Accepted", "", b"")
    });
    h.cut_mid_body.store(2, Ordering::SeqCst);
    let c = client(
        &h.url,
        "",
        KEY,
        &[
            ("batch_size", "25"),
            ("flush_interval_ms", "20"),
            ("max_retries", "5"),
        ],
    );
    for i in 0..200 {
        assert_eq!(c.enqueue(&page(i)), PIRSCH_OK, "{}", last_error());
    }
    assert_eq!(c.flush(30_000), PIRSCH_OK, "{}", last_error());
    let s = c.stats();
    assert!(invariant(&s), "{}", show(&s));
    assert_eq!(s.sent, 200, "{}", show(&s));
    assert!(s.retries >= 3, "{}", show(&s));
    let mut got = accepted.lock().unwrap().clone();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 200, "every page view accepted, each once");
    assert_eq!(accepted.lock().unwrap().len(), 200, "no duplicates");
}
