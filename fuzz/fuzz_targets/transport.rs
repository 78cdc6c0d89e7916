//! What the transport and config/endpoint.rs read from configuration and from servers: `BaseUrl::parse`,
//! `parse_retry_after` (a server header) and `describe_api_error` (a server body, whose text
//! ends up in pirsch_last_error and the log). Never a panic; an accepted base URL is safe
//! (https, or http to loopback or with allow_insecure_http; no user:password@; no query) and
//! makes valid request URIs; Retry-After in seconds is exact; a description is bounded in
//! length however large the body (~20 KB, 2 KiB once made presentable) and never carries a
//! registered secret.
//!
//! Input: the first byte picks the parser (and a flag or status), the rest is the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pirsch::fuzzing::{presentable, register_secret};
use pirsch::fuzzing::{describe_api_error, parse_retry_after, BaseUrl};

const SECRET: &str = "pa_FuzzSecretKey0123456789";
/// 20 validation fields of two server texts (300 bytes, a cut note) and 20 error texts,
/// with their separators and the status line.
const MAX_DESCRIPTION: usize = 64 + 12 + 20 * (2 * 336 + 2) + 19 * 2 + 2 + 7 + 20 * 336 + 19 * 2;

fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map(|x| x.1).unwrap_or("");
    rest.split(['/', '?', '#']).next().unwrap_or("")
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let text = text.as_ref();
    match sel % 3 {
        0 => {
            let insecure = sel & 0x80 != 0;
            let b = match BaseUrl::parse(text, insecure) {
                Ok(b) => b,
                Err(e) => {
                    // A URL with an @ may hold a password: its refusal echoes nothing of it.
                    if text.contains('@') {
                        let fixed = BaseUrl::parse("https://u:p@h", false).unwrap_err().message;
                        assert_eq!(e.message, fixed, "{text:?}");
                    }
                    return;
                }
            };
            assert_eq!(b.url, text.trim().trim_end_matches('/'));
            let lower = b.url.to_ascii_lowercase();
            assert!(lower.starts_with("https://") || lower.starts_with("http://"), "{text:?}");
            assert_eq!(b.is_http, !lower.starts_with("https://"));
            if b.is_http && !insecure {
                // Plain http only to a loopback host (refused for any other without the flag).
                let uri: http::Uri = b.url.parse().expect("an accepted base_url parses");
                let host = uri.host().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
                let loopback = host.eq_ignore_ascii_case("localhost")
                    || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
                assert!(loopback, "plain http to {text:?}");
            }
            assert!(!authority(&b.url).contains('@'), "userinfo accepted: {text:?}");
            assert!(!b.url.contains(['?', '#']), "query or fragment accepted: {text:?}");
            for path in ["/api/v1/hit", "/api/v1/token", "/api/v1/event/batch"] {
                let full = format!("{}{path}", b.url);
                let uri: http::Uri = full
                    .parse()
                    .unwrap_or_else(|e| panic!("base_url {text:?} accepted, but {full:?}: {e}"));
                assert!(uri.host().is_some_and(|h| !h.is_empty()));
                assert!(uri.path().ends_with(path), "{full:?} -> path {:?}", uri.path());
            }
        }
        1 => {
            let got = parse_retry_after(text);
            let t = text.trim();
            if let Ok(secs) = t.parse::<u64>() {
                assert_eq!(got, Some(secs.saturating_mul(1000)));
            } else if got.is_some() {
                assert!(pirsch::fuzzing::parse_http_date(t).is_some(), "{text:?}");
            }
        }
        _ => {
            register_secret(SECRET);
            let status = (sel as u16 / 3) * 7 + 95 + (rest.first().copied().unwrap_or(0) as u16 % 7);
            let d = describe_api_error(status, text);
            assert!(d.starts_with(&format!("HTTP {status}")), "{d}");
            assert!(d.len() <= MAX_DESCRIPTION, "{} bytes", d.len());
            let p = presentable(&d);
            assert!(p.len() <= 2048, "{} bytes presented", p.len());
            assert!(!p.contains(SECRET), "the secret in {p:?}");
            // Nor its first part (a cut across it): a prefix of the secret may show only as
            // often as the body has it on its own (bodies without escapes, so that the
            // count in the body is the count in the decoded text).
            if !text.contains('\\') {
                for k in 8..SECRET.len() {
                    let prefix = &SECRET[..k];
                    let alone = text.match_indices(prefix).filter(|(i, _)| !text[*i..].starts_with(SECRET)).count();
                    let shown = p.matches(prefix).count();
                    assert!(shown <= alone, "{k} bytes of the secret shown: {p:?}");
                }
            }
        }
    }
});
