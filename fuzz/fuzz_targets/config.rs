//! Configuration input: `Config::set` with any key and value (the keys of config::KEYS (pirsch::fuzzing::keys()) are
//! picked by the first line, or the line itself is the key), `TrustedProxies::parse`,
//! `ClientIpHeader::parse`. Never a panic; a refused value leaves the config unchanged and
//! names the key; an accepted one is what the value says; an accepted base_url makes a client
//! (BaseUrl::parse with the config's own allow_insecure_http) or is refused there in words.
//!
//! Input: line 0 the key (a number n picks KEYS[n]), the rest the value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pirsch::fuzzing::{keys, Config};
use pirsch::fuzzing::{ClientIpHeader, TrustedProxies};

fn snapshot(c: &Config) -> String {
    format!(
        "{:?} {:?} {} {} {} {:?} {:?} {:?} {:?} {:?} {} {} {:?}",
        c.base_url,
        c.timeout,
        c.max_retries,
        c.queue_capacity,
        c.batch_size,
        c.flush_interval,
        c.shutdown_timeout,
        c.max_item_age,
        c.trusted_proxies,
        c.client_ip_header,
        c.forward_proxy_headers,
        c.allow_insecure_http,
        c.log_level
    )
}

fn number(v: &str) -> Option<u64> {
    v.trim().parse().ok()
}

fuzz_target!(|data: &[u8]| {
    let keys = keys();
    let text = String::from_utf8_lossy(data);
    let (key_line, value) = text.split_once('\n').unwrap_or((&text, ""));
    let key = match key_line.trim().parse::<usize>() {
        Ok(n) => keys[n % keys.len()],
        Err(_) => key_line,
    };

    if key == "ca_file" {
        // Read at set time: a fuzzed path could be /dev/zero or a FIFO. Operator input, and
        // a file system is no parser: left out here.
        return;
    }
    let mut c = Config::default();
    if value.len() % 2 == 1 {
        // Some inputs start from a changed config, so that "unchanged" means something.
        let _ = c.set("trusted_proxies", "10.0.0.0/8");
        let _ = c.set("timeout_ms", "1234");
    }
    let before = snapshot(&c);
    match c.set(key, value) {
        Err(e) => {
            assert_eq!(snapshot(&c), before, "a refused {key}={value:?} changed the config");
            assert!(!e.message.is_empty());
            if keys.contains(&key) {
                assert!(e.message.contains(key), "{key}: {}", e.message);
            }
        }
        Ok(()) => {
            assert!(keys.contains(&key), "unknown key {key:?} accepted");
            let ms = |d: std::time::Duration| d.as_millis() as u64;
            match key {
                "timeout_ms" => assert_eq!(Some(ms(c.timeout)), number(value)),
                "max_retries" => assert_eq!(Some(c.max_retries as u64), number(value)),
                "queue_capacity" => assert_eq!(Some(c.queue_capacity as u64), number(value)),
                "batch_size" => assert_eq!(Some(c.batch_size as u64), number(value)),
                "flush_interval_ms" => assert_eq!(Some(ms(c.flush_interval)), number(value)),
                "shutdown_timeout_ms" => assert_eq!(Some(ms(c.shutdown_timeout)), number(value)),
                "max_item_age_ms" => assert_eq!(Some(ms(c.max_item_age)), number(value)),
                "trusted_proxies" => assert_eq!(Some(&c.trusted_proxies), TrustedProxies::parse(value).ok().as_ref()),
                "client_ip_header" => assert_eq!(Some(c.client_ip_header), ClientIpHeader::parse(value).ok()),
                "proxy" => {
                    // A proxy's password is a secret from then on (the userinfo as the URL
                    // parser sees it: up to the authority's last @), and an authority without
                    // an @ has none after it either (a password cut at a / ? or #).
                    if let Ok(uri) = value.trim().parse::<http::Uri>() {
                        let authority = uri.authority().map(|a| a.as_str()).unwrap_or("");
                        let after = value.trim().split_once("://").map(|x| x.1).unwrap_or("");
                        let beyond = after.strip_prefix(authority).unwrap_or(after);
                        assert!(
                            authority.contains('@') || !beyond.contains('@'),
                            "a userinfo outside the authority: {value:?}"
                        );
                        if let Some((userinfo, _)) = authority.rsplit_once('@') {
                            if let Some((_, pw)) = userinfo.split_once(':') {
                                // A password with [ or ] can be remade by its own
                                // replacement ("[redacted]"): scrub is one pass (left alone).
                                if pw.trim().len() >= 6 && !pw.contains(['[', ']']) {
                                    let shown = pirsch::fuzzing::scrub(value);
                                    assert!(!shown.contains(pw.trim()), "proxy password kept in {shown:?}");
                                }
                            }
                        }
                    }
                }
                "base_url" => {
                    // What pirsch_client_new does with it: accepted, or refused in words.
                    let b = pirsch::fuzzing::BaseUrl::parse(&c.base_url, true)
                        .expect("set accepted a base_url that does not parse");
                    let full = format!("{}/api/v1/hit", b.url);
                    assert!(full.parse::<http::Uri>().is_ok(), "{full:?}");
                }
                _ => {}
            }
        }
    }

    // The list and header parsers on every value.
    if let Ok(t) = TrustedProxies::parse(value) {
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let addr = item.split_once('/').map(|x| x.0).unwrap_or(item).trim();
            let ip: std::net::IpAddr = addr.parse().expect("an accepted item is an address");
            assert!(t.contains(ip), "{item:?} accepted but does not contain its own address");
        }
        assert_eq!(t.is_empty(), value.split(',').all(|s| s.trim().is_empty()));
    }
    if let Ok(h) = ClientIpHeader::parse(value) {
        assert_eq!(ClientIpHeader::parse(h.name()).ok(), Some(h));
        assert_eq!(value.trim().to_ascii_lowercase().replace('_', "-"), h.name());
    }
});
