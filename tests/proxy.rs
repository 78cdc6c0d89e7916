//! The proxy setting and the environment's proxies, by curl's rules (one test: the
//! environment is per process, and nothing else in this binary may read it meanwhile).

mod common;
use common::*;
use pirsch::ffi::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// A proxy that records the request line it gets and answers 502.
struct FakeProxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl FakeProxy {
    fn start() -> FakeProxy {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", l.local_addr().unwrap().port());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(mut c) = c else { return };
                // The request line may come in pieces: read until its end.
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(2).any(|w| w == b"\r\n") {
                    match c.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                s2.lock()
                    .unwrap()
                    .push(head.lines().next().unwrap_or("").to_string());
                let _ = c.write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        FakeProxy { url, seen }
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

const VARS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

fn with_env<T>(vars: &[(&str, &str)], f: impl FnOnce() -> T) -> T {
    for v in VARS {
        std::env::remove_var(v);
    }
    for (k, v) in vars {
        std::env::set_var(k, v);
    }
    let out = f();
    for v in VARS {
        std::env::remove_var(v);
    }
    out
}

fn hit_through(base_url: &str, extra: &[(&str, &str)]) -> pirsch_result {
    let mut settings = vec![
        ("base_url", base_url),
        ("max_retries", "0"),
        ("timeout_ms", "2000"),
    ];
    settings.extend_from_slice(extra);
    let c = try_client("", ACCESS_KEY, &settings).unwrap_or_else(|| panic!("{}", last_error()));
    c.hit(&HitData::page(
        "https://example.com/proxied",
        "198.51.100.1",
    ))
}

#[test]
fn proxies_follow_curls_rules_and_httpoxy_is_ignored() {
    let s = Standin::start();
    let p = FakeProxy::start();
    let direct = s.url.clone();

    // httpoxy: uppercase HTTP_PROXY (CGI's HTTP_ header for a request's Proxy:) is never read.
    let rc = with_env(&[("HTTP_PROXY", &p.url)], || hit_through(&direct, &[]));
    assert_eq!(rc, PIRSCH_OK, "{}", last_error());
    assert!(p.take().is_empty(), "uppercase HTTP_PROXY was used");

    // Lowercase http_proxy is, for a plain-http API...
    let rc = with_env(&[("http_proxy", &p.url)], || hit_through(&direct, &[]));
    assert_ne!(rc, PIRSCH_OK);
    let seen = p.take();
    assert!(
        seen.iter()
            .any(|l| l.contains("/api/v1/hit") || l.starts_with("CONNECT 127.0.0.1")),
        "{seen:?}"
    );
    // ... unless no_proxy exempts the host, or proxy=none says no.
    let rc = with_env(
        &[("http_proxy", &p.url), ("NO_PROXY", "localhost,127.0.0.1")],
        || hit_through(&direct, &[]),
    );
    assert_eq!(rc, PIRSCH_OK, "{}", last_error());
    let rc = with_env(&[("http_proxy", &p.url), ("ALL_PROXY", &p.url)], || {
        hit_through(&direct, &[("proxy", "none")])
    });
    assert_eq!(rc, PIRSCH_OK, "{}", last_error());
    assert!(p.take().is_empty());

    // An https API goes through HTTPS_PROXY with CONNECT (the proxy never sees the request).
    let rc = with_env(&[("HTTPS_PROXY", &p.url)], || {
        hit_through("https://api.pirsch.invalid", &[])
    });
    assert_eq!(rc, PIRSCH_ERR_NETWORK, "{}", last_error());
    let seen = p.take();
    assert_eq!(
        seen,
        vec!["CONNECT api.pirsch.invalid:443 HTTP/1.1".to_string()]
    );

    // The explicit setting wins over the environment; its password never shows.
    let with_pw = p.url.replace("http://", "http://user:pr0xy-passw0rd@");
    let rc = with_env(&[], || {
        hit_through("https://api.pirsch.invalid", &[("proxy", &with_pw)])
    });
    assert_eq!(rc, PIRSCH_ERR_NETWORK);
    assert!(!last_error().contains("pr0xy-passw0rd"), "{}", last_error());
    assert_eq!(p.take().len(), 1);
    let (rc, msg) = try_setting("proxy", "socks5://u:s0cks-pw@h:1080");
    assert_eq!(rc, PIRSCH_ERR_INVALID_ARGUMENT);
    assert!(msg.contains("proxy") && !msg.contains("s0cks-pw"), "{msg}");
}
