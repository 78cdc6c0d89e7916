//! HTTP to the API: one pooled keep-alive agent per client, errors mapped to result codes.

use crate::error::{Error, ErrorKind, Result};
use std::collections::HashMap;
use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};
use ureq::http;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// A checked base URL: `https://host[:port][/prefix]`, or `http://` for loopback hosts.
#[derive(Clone, Debug)]
pub struct BaseUrl {
    pub url: String,
    pub is_loopback: bool,
    pub is_http: bool,
}

fn host_is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

impl BaseUrl {
    /// Parses `url`; plain http is refused for non-loopback hosts unless `allow_insecure_http`.
    pub fn parse(url: &str, allow_insecure_http: bool) -> Result<BaseUrl> {
        let url = url.trim().trim_end_matches('/');
        // Checked on the text, before any parsing, so that a password is never echoed, even
        // one with '#', '/' or a space in it, which a URL parser takes for the end of the
        // host: `https://user:#pw@api.pirsch.io` parsed as host "user" (found by fuzzing).
        if url.contains('@') {
            return Err(Error::invalid(
                "base_url must not hold a user name or password (user:password@host): libpirsch authenticates with its client id and secret or access key, and would print the password in every network error; remove the part before the @",
            ));
        }
        if url.contains('#') {
            return Err(Error::invalid(format!(
                "base_url {url:?} must not have a fragment (#...)"
            )));
        }
        let uri: http::Uri = url.parse().map_err(|_| {
            Error::invalid(format!(
                "base_url {url:?} is not a URL; use e.g. https://api.pirsch.io"
            ))
        })?;
        let is_http = match uri.scheme_str() {
            Some("https") => false,
            Some("http") => true,
            _ => {
                return Err(Error::invalid(format!(
                    "base_url {url:?} must start with https:// (or http:// for a local server)"
                )))
            }
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Error::invalid(format!("base_url {url:?} has no host")))?;
        if uri.query().is_some() {
            return Err(Error::invalid(format!(
                "base_url {url:?} must not have a query"
            )));
        }
        let is_loopback = host_is_loopback(host);
        if is_http && !is_loopback && !allow_insecure_http {
            return Err(Error::invalid(format!(
                "base_url {url:?} uses plain http to a host that is not loopback, which would send credentials unencrypted; use https://, or set allow_insecure_http=true if you really mean it"
            )));
        }
        Ok(BaseUrl {
            url: url.to_string(),
            is_loopback,
            is_http,
        })
    }
}

/// What the API answered.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// The body as text (invalid UTF-8 replaced): the status counts, not how the body reads.
    pub body: String,
    pub retry_after_ms: Option<u64>,
    /// Why the body is incomplete (cut short, reset), when it is: a 2xx is still delivered.
    pub body_error: Option<Error>,
    /// Where a 3xx answer points (never followed), cut to 200 bytes.
    pub location: Option<String>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// `Retry-After`: delay seconds or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<u64> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs.saturating_mul(1000));
    }
    let when = crate::time::parse_http_date(v)?;
    Some(
        when.duration_since(SystemTime::now())
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
    )
}

const MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;

/// Resolves host names once a minute instead of on every request. ureq's own resolver looks
/// the host up for every request, pooled connection or not, and with a timeout set it does
/// so on a new thread: that cost more than the rest of a request to a loopback API.
#[derive(Debug, Default)]
struct CachingResolver {
    cache: Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>,
}

const DNS_TTL: Duration = Duration::from_secs(60);

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &http::Uri,
        _config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> std::result::Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().ok_or(ureq::Error::HostNotFound)?;
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("http") {
                80
            } else {
                443
            });
        let mut out = self.empty();
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
        {
            out.push(SocketAddr::new(ip, port));
            return Ok(out);
        }
        let key = format!("{host}:{port}");
        if let Some((at, addrs)) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            if at.elapsed() < DNS_TTL {
                return Ok(addrs.clone());
            }
        }
        // getaddrinfo cannot be interrupted: run it on a thread and stop waiting at the deadline.
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let lookup = key.clone();
        std::thread::Builder::new()
            .name("pirsch-dns".into())
            .spawn(move || {
                let _ = tx.send(lookup.to_socket_addrs().map(|i| i.collect::<Vec<_>>()));
            })
            .map_err(ureq::Error::Io)?;
        let found = match rx.recv_timeout(*timeout.after) {
            Ok(Ok(found)) => found,
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                return Err(ureq::Error::Timeout(timeout.reason))
            }
            Ok(Err(_)) => return Err(ureq::Error::HostNotFound),
            Err(_) => return Err(ureq::Error::Timeout(timeout.reason)),
        };
        for addr in found.into_iter().take(16) {
            out.push(addr);
        }
        if out.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (Instant::now(), out.clone()));
        Ok(out)
    }
}

pub struct Transport {
    agent: ureq::Agent,
    base: BaseUrl,
    timeout: Duration,
}

impl Transport {
    pub fn new(base: BaseUrl, timeout: Duration) -> Transport {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .max_idle_connections(16)
            .max_idle_connections_per_host(8)
            .max_idle_age(Duration::from_secs(50))
            .user_agent(concat!("libpirsch/", env!("CARGO_PKG_VERSION")))
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::new(),
            CachingResolver::default(),
        );
        Transport {
            agent,
            base,
            timeout,
        }
    }

    pub fn base(&self) -> &BaseUrl {
        &self.base
    }

    /// Sends one request; `Ok` for any HTTP answer, `Err` when none came.
    pub fn send(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<&[u8]>,
        bearer: Option<&str>,
        deadline: Option<Instant>,
    ) -> Result<Response> {
        let url = format!("{}{}", self.base.url, path_and_query);
        let method = http::Method::from_bytes(method.as_bytes())
            .map_err(|_| Error::invalid(format!("{method:?} is not an HTTP method")))?;
        let mut req = http::Request::builder().method(method).uri(&url);
        if let Some(token) = bearer {
            req = req.header("Authorization", format!("Bearer {token}"));
        }
        if body.is_some() {
            req = req.header("Content-Type", "application/json");
        }
        req = req.header("Accept", "application/json");
        let req = req.body(body.unwrap_or(&[])).map_err(|_| {
            Error::invalid(format!(
                "{:?} is not a valid request path",
                crate::payload::truncate(path_and_query, 200)
            ))
        })?;
        let req = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        "the shutdown deadline passed before the request could be sent",
                    ));
                }
                self.agent
                    .configure_request(req)
                    .timeout_global(Some(left.min(self.timeout)))
                    .build()
            }
            None => req,
        };
        let resp = self.agent.run(req).map_err(|e| self.map_error(e))?;
        let status = resp.status().as_u16();
        let retry_after_ms = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let location = resp
            .headers()
            .get("location")
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            .map(|v| crate::payload::truncate(&v, 200).to_string());
        // Read as bytes: a 2xx whose body is cut short or not UTF-8 was still delivered (sending
        // it again would duplicate it), and an error status keeps its meaning either way.
        let mut bytes = Vec::new();
        let mut reader = resp
            .into_body()
            .into_with_config()
            .limit(MAX_RESPONSE_BYTES)
            .reader();
        let body_error = reader
            .read_to_end(&mut bytes)
            .err()
            .map(|e| self.io_error(e));
        let body = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        Ok(Response {
            status,
            body,
            retry_after_ms,
            body_error,
            location,
        })
    }

    fn timeout_error(&self) -> Error {
        Error::new(
            ErrorKind::Timeout,
            format!("the API at {} did not answer within timeout_ms={}; check the network, or raise timeout_ms", self.base.url, self.timeout.as_millis()),
        )
    }

    fn io_error(&self, e: std::io::Error) -> Error {
        let ureq_timeout = e
            .get_ref()
            .and_then(|i| i.downcast_ref::<ureq::Error>())
            .is_some_and(|i| matches!(i, ureq::Error::Timeout(_)));
        if ureq_timeout
            || matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            )
        {
            return self.timeout_error();
        }
        Error::new(
            ErrorKind::Network,
            format!("reading the answer of {} failed: {e}", self.base.url),
        )
    }

    fn map_error(&self, e: ureq::Error) -> Error {
        let base = &self.base.url;
        match e {
            ureq::Error::Timeout(_) => self.timeout_error(),
            ureq::Error::HostNotFound => Error::new(ErrorKind::Network, format!("the host of {base} could not be resolved (DNS); check base_url and the network")),
            ureq::Error::ConnectionFailed => Error::new(ErrorKind::Network, format!("could not connect to {base}; is the API reachable from here?")),
            ureq::Error::Io(io) => {
                if io.kind() == std::io::ErrorKind::TimedOut {
                    self.timeout_error()
                } else {
                    Error::new(ErrorKind::Network, format!("network error talking to {base}: {io}"))
                }
            }
            ureq::Error::Tls(msg) => Error::new(ErrorKind::Network, format!("TLS error talking to {base}: {msg}")),
            ureq::Error::Rustls(err) => Error::new(ErrorKind::Network, format!("TLS error talking to {base}: {err}")),
            ureq::Error::BadUri(_) | ureq::Error::Http(_) => Error::invalid(format!("the request to {base} could not be built; check base_url and the path")),
            other => Error::new(ErrorKind::Network, format!("HTTP error talking to {base}: {other}")),
        }
    }
}

/// The most of one server-supplied text (an error, a validation message) kept in a message.
const MAX_SERVER_TEXT: usize = 300;

fn server_text(s: &str) -> String {
    // Secrets out before the cut: a secret across it would leave its first part, which
    // scrubbing no longer recognises (found by fuzzing).
    let s = &*crate::error::scrub(s);
    let cut = crate::payload::truncate(s, MAX_SERVER_TEXT);
    if cut.len() < s.len() {
        format!("{cut}... ({} bytes cut)", s.len() - cut.len())
    } else {
        cut.to_string()
    }
}

/// Puts the API's error JSON (`validation`, `error`) into words, each text and the whole
/// bounded (a server's text is never kept whole: it may be megabytes).
pub fn describe_api_error(status: u16, body: &str) -> String {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut out = format!("HTTP {status} {reason}").trim_end().to_string();
    let mut parts = Vec::new();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        if let Some(map) = v.get("validation").and_then(|x| x.as_object()) {
            let fields: Vec<String> = map
                .iter()
                .take(20)
                .map(|(k, m)| {
                    format!(
                        "{}: {}",
                        server_text(k),
                        m.as_str()
                            .map(server_text)
                            .unwrap_or_else(|| server_text(&m.to_string()))
                    )
                })
                .collect();
            if !fields.is_empty() {
                parts.push(format!("validation: {}", fields.join("; ")));
            }
        }
        match v.get("error") {
            Some(serde_json::Value::Array(list)) if !list.is_empty() => {
                let msgs: Vec<String> = list
                    .iter()
                    .take(20)
                    .map(|m| {
                        m.as_str()
                            .map(server_text)
                            .unwrap_or_else(|| server_text(&m.to_string()))
                    })
                    .collect();
                parts.push(format!("error: {}", msgs.join("; ")));
            }
            Some(serde_json::Value::String(s)) if !s.is_empty() => {
                parts.push(format!("error: {}", server_text(s)))
            }
            _ => {}
        }
    } else if !body.trim().is_empty() {
        parts.push(format!("body: {}", server_text(body.trim())));
    }
    if !parts.is_empty() {
        out.push_str(": ");
        out.push_str(&parts.join("; "));
    }
    out
}

#[cfg(test)]
mod base_url_tests {
    use super::{describe_api_error, BaseUrl};

    /// Found by fuzz/ (target transport): server texts were cut to 300 bytes before the
    /// secrets were scrubbed, so a secret across the cut left its first part in the message.
    #[test]
    fn a_secret_across_the_cut_leaves_nothing() {
        let secret = "pa_CutAcrossTheEdge0123456789";
        crate::error::register_secret(secret);
        for pad in 280..300 {
            let body = format!(r#"{{"error":"{}{secret}"}}"#, "x".repeat(pad));
            let d = crate::error::presentable(&describe_api_error(400, &body)).into_owned();
            assert!(!d.contains(&secret[..8]), "{pad}: {d}");
            let d = describe_api_error(502, &format!("{}{secret}", "x".repeat(pad)));
            assert!(!d.contains(&secret[..8]), "{pad}: {d}");
        }
    }

    /// Found by fuzz/ (target transport): a '#' in the password hid the userinfo from the URL
    /// parser, so `https://user:#pw@api.pirsch.io` was accepted with host "user", every
    /// request went to https://user/ and the password was printed in every network error.
    #[test]
    fn userinfo_and_fragments_are_refused_without_echo() {
        for url in [
            "https://user:#pw@api.pirsch.io",
            "https://user:pw@api.pirsch.io",
            "https://user:p/w@api.pirsch.io",
            "https://user:p w@api.pirsch.io",
            "http://user:pw?x@127.0.0.1:8080",
        ] {
            let e = BaseUrl::parse(url, true).unwrap_err();
            assert!(e.message.contains("user name or password"), "{url}: {}", e.message);
            assert!(!e.message.contains("pw") && !e.message.contains("p w"), "{}", e.message);
        }
        let e = BaseUrl::parse("https://api.pirsch.io#x", false).unwrap_err();
        assert!(e.message.contains("fragment"), "{}", e.message);
        assert!(BaseUrl::parse("https://api.pirsch.io/", false).is_ok());
        assert!(BaseUrl::parse("http://[::1]:8080/prefix", false).is_ok());
    }
}
