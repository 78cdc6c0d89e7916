//! HTTP to the API: one pooled keep-alive agent per client, errors mapped to result codes.

use crate::config::endpoint::BaseUrl;
use crate::error::{Error, ErrorKind, Result};
use std::collections::HashMap;
use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};
use ureq::http;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

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

/// The most of an answer read for `pirsch_request` (statistics can be large).
pub(crate) const MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;
/// The most read of an answer to a page view, event, session or token request: only the
/// status matters there, and a little text for the error message. Keeps a hostile server's
/// endless body from costing more than this per calling thread.
pub(crate) const MAX_SMALL_RESPONSE_BYTES: u64 = 64 * 1024;

/// Looks a host name up (`host:port`); getaddrinfo in production.
type Lookup = dyn Fn(&str) -> std::io::Result<Vec<SocketAddr>> + Send + Sync;

/// What is known of one `host:port`.
#[derive(Clone)]
enum Known {
    Found(Instant, ResolvedSocketAddrs),
    /// The lookup failed (no such host, or DNS down): callers fail at once for a while.
    Failed(Instant),
}

#[derive(Default)]
struct DnsState {
    known: HashMap<String, Known>,
    /// Lookups on their thread, with when they started: one per host at a time.
    inflight: HashMap<String, Instant>,
}

/// Resolves host names once a minute instead of on every request (ureq's own resolver looks
/// the host up for every request and, with a timeout set, on a new thread each time). During
/// a DNS outage it keeps one lookup thread per host at most: other callers wait for that
/// lookup within their own timeout, and a failure is remembered for NEGATIVE_TTL.
struct CachingResolver {
    state: Arc<(Mutex<DnsState>, Condvar)>,
    lookup: Arc<Lookup>,
}

impl std::fmt::Debug for CachingResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CachingResolver")
    }
}

impl Default for CachingResolver {
    fn default() -> Self {
        CachingResolver::with_lookup(Arc::new(|key: &str| {
            key.to_socket_addrs().map(|i| i.collect())
        }))
    }
}

const DNS_TTL: Duration = Duration::from_secs(60);
const NEGATIVE_TTL: Duration = Duration::from_secs(5);

impl CachingResolver {
    fn with_lookup(lookup: Arc<Lookup>) -> CachingResolver {
        CachingResolver {
            state: Arc::new((Mutex::new(DnsState::default()), Condvar::new())),
            lookup,
        }
    }

    /// The addresses of `key` (`host:port`), waiting at most `wait`.
    fn resolve_key(
        &self,
        key: &str,
        wait: Duration,
    ) -> std::result::Result<ResolvedSocketAddrs, bool> {
        let give_up = Instant::now() + wait;
        let (lock, cond) = &*self.state;
        let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut started = false;
        loop {
            let inflight = st.inflight.contains_key(key);
            match st.known.get(key) {
                Some(Known::Found(at, addrs)) if at.elapsed() < DNS_TTL => return Ok(addrs.clone()),
                // A failure is fresh, or it is the outcome of the lookup this caller started.
                Some(Known::Failed(at))
                    if at.elapsed() < NEGATIVE_TTL || (started && !inflight) =>
                {
                    return Err(false)
                }
                _ => {}
            }
            if !inflight {
                // This caller starts the lookup, on a thread of its own (getaddrinfo cannot be
                // interrupted); the thread records the outcome for everyone, however late.
                st.inflight.insert(key.to_string(), Instant::now());
                drop(st);
                let spawned = self.spawn_lookup(key);
                st = lock.lock().unwrap_or_else(|p| p.into_inner());
                if !spawned {
                    st.inflight.remove(key);
                    return Err(false);
                }
                started = true;
                continue;
            }
            let left = give_up.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(true);
            }
            st = cond
                .wait_timeout(st, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Looks `key` up on a new thread, which records the outcome and wakes the waiters.
    fn spawn_lookup(&self, key: &str) -> bool {
        let (state, lookup, owned) = (self.state.clone(), self.lookup.clone(), key.to_string());
        std::thread::Builder::new()
            .name("pirsch-dns".into())
            .spawn(move || {
                let found = lookup(&owned);
                let known = match found {
                    Ok(list) if !list.is_empty() => {
                        let mut addrs = ResolvedSocketAddrs::from_fn(|_| {
                            SocketAddr::new(
                                std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                                0,
                            )
                        });
                        for addr in list.into_iter().take(16) {
                            addrs.push(addr);
                        }
                        Known::Found(Instant::now(), addrs)
                    }
                    _ => Known::Failed(Instant::now()),
                };
                let (lock, cond) = &*state;
                let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
                st.inflight.remove(&owned);
                st.known.insert(owned, known);
                drop(st);
                cond.notify_all();
            })
            .is_ok()
    }
}

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
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
        {
            let mut out = self.empty();
            out.push(SocketAddr::new(ip, port));
            return Ok(out);
        }
        match self.resolve_key(&format!("{host}:{port}"), *timeout.after) {
            Ok(addrs) => Ok(addrs),
            Err(true) => Err(ureq::Error::Timeout(timeout.reason)),
            Err(false) => Err(ureq::Error::HostNotFound),
        }
    }
}

#[cfg(test)]
mod resolver_tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn one_lookup_per_host_while_dns_hangs_and_failures_are_remembered() {
        let started = Arc::new(AtomicUsize::new(0));
        let release = Arc::new((Mutex::new(false), Condvar::new()));
        let (s2, r2) = (started.clone(), release.clone());
        let r = Arc::new(CachingResolver::with_lookup(Arc::new(move |_key: &str| {
            s2.fetch_add(1, Ordering::SeqCst);
            let (m, c) = &*r2;
            let mut go = m.lock().unwrap();
            while !*go {
                go = c.wait(go).unwrap();
            }
            Err(std::io::Error::other("no such host"))
        })));
        // 60 calls while the lookup hangs: each times out on its own bound, one thread looks.
        let t0 = Instant::now();
        let calls: Vec<_> = (0..60)
            .map(|_| {
                let r = r.clone();
                std::thread::spawn(move || {
                    r.resolve_key("api.example:443", Duration::from_millis(200))
                })
            })
            .collect();
        for c in calls {
            assert_eq!(c.join().unwrap().unwrap_err(), true, "a timeout");
        }
        assert!(t0.elapsed() < Duration::from_secs(3));
        assert_eq!(
            started.load(Ordering::SeqCst),
            1,
            "one lookup in flight per host"
        );
        // The lookup ends in failure: the next calls fail at once, without a new lookup.
        {
            let (m, c) = &*release;
            *m.lock().unwrap() = true;
            c.notify_all();
        }
        std::thread::sleep(Duration::from_millis(50));
        let t = Instant::now();
        assert_eq!(
            r.resolve_key("api.example:443", Duration::from_secs(5))
                .unwrap_err(),
            false
        );
        // At once, not after the 5 s allowed (a lookup still ending may take a moment).
        assert!(t.elapsed() < Duration::from_secs(1));
        assert_eq!(started.load(Ordering::SeqCst), 1);
        // Another host has its own lookup.
        assert!(r
            .resolve_key("other.example:443", Duration::from_secs(5))
            .is_err());
        assert_eq!(started.load(Ordering::SeqCst), 2);
    }
}

/// ureq's default chain with our plain-TCP transport: a CONNECT proxy (it opens its own
/// connection), else `LeanTcpConnector`, then TLS with rustls for https.
fn connector() -> impl ureq::unversioned::transport::Connector<()> {
    use ureq::unversioned::transport::{ConnectProxyConnector, Connector, RustlsConnector};
    ().chain(ConnectProxyConnector::default())
        .chain(super::connector::LeanTcpConnector)
        .chain(RustlsConnector::default())
}

pub struct Transport {
    agent: ureq::Agent,
    base: BaseUrl,
    timeout: Duration,
    /// The URLs of the item paths, parsed once.
    fixed: Vec<(&'static str, http::Uri)>,
}

impl Transport {
    pub fn new(
        base: BaseUrl,
        timeout: Duration,
        proxy: Option<ureq::Proxy>,
        roots: ureq::tls::RootCerts,
    ) -> Transport {
        let config = ureq::Agent::config_builder()
            .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
            // Never ureq's own reading of the environment (it takes uppercase HTTP_PROXY).
            .proxy(proxy)
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .max_idle_connections(16)
            .max_idle_connections_per_host(8)
            .max_idle_age(Duration::from_secs(50))
            .user_agent(concat!("libpirsch/", env!("CARGO_PKG_VERSION")))
            .build();
        let agent = ureq::Agent::with_parts(config, connector(), CachingResolver::default());
        let kinds = [
            crate::item::Kind::Hit,
            crate::item::Kind::Event,
            crate::item::Kind::Session,
        ];
        let fixed = kinds
            .iter()
            .flat_map(|k| [k.path(), k.batch_path()])
            .filter_map(|p| {
                let uri = http::Uri::try_from(format!("{}{p}", base.url)).ok()?;
                Some((p, uri))
            })
            .collect();
        Transport {
            agent,
            base,
            timeout,
            fixed,
        }
    }

    /// Shuts down the agent's connections, idle and in use (see Api::interrupt).
    pub fn interrupt(&self) {
        self.agent.clone().shutdown();
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
        bearer: Option<&http::HeaderValue>,
        deadline: Option<Instant>,
        max_body: u64,
    ) -> Result<Response> {
        use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
        const JSON: HeaderValue = HeaderValue::from_static("application/json");
        let method = match method {
            "POST" => http::Method::POST,
            "GET" => http::Method::GET,
            _ => http::Method::from_bytes(method.as_bytes())
                .map_err(|_| Error::invalid(format!("{method:?} is not an HTTP method")))?,
        };
        // The page view, event and session paths were parsed once (a Uri clone is a
        // reference count); others, like statistics queries, are parsed here.
        let mut req = match self.fixed.iter().find(|(p, _)| *p == path_and_query) {
            Some((_, uri)) => http::Request::builder().method(method).uri(uri.clone()),
            None => http::Request::builder()
                .method(method)
                .uri(format!("{}{}", self.base.url, path_and_query)),
        };
        if let Some(value) = bearer {
            req = req.header(AUTHORIZATION, value.clone());
        }
        if body.is_some() {
            req = req.header(CONTENT_TYPE, JSON);
        }
        req = req.header(ACCEPT, JSON);
        let req = req.body(body.unwrap_or(&[])).map_err(|_| {
            Error::invalid(format!(
                "{:?} is not a valid request path",
                crate::error::truncate(path_and_query, 200)
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
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let location = resp
            .headers()
            .get(http::header::LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            // Secrets out before the cut: a cut secret would no longer be recognised.
            .map(|v| crate::error::truncate(&crate::error::scrub(&v), 200).to_string());
        // Read as bytes: a 2xx whose body is cut short or not UTF-8 was still delivered (sending
        // it again would duplicate it), and an error status keeps its meaning either way.
        let mut bytes = Vec::new();
        let mut reader = resp.into_body().into_with_config().limit(max_body).reader();
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
                } else if io.to_string().contains("certificate") {
                    Error::new(ErrorKind::Network, format!("TLS error talking to {base}: {io}; the server's certificate is not trusted: for a private CA or TLS inspection add the CA with ca_file, or trust the system's store with tls_roots=system (verification cannot be turned off)"))
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
    let cut = crate::error::truncate(s, MAX_SERVER_TEXT);
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
mod server_text_tests {
    use super::{describe_api_error, parse_retry_after};

    /// Found by a probe: a huge year in a Retry-After date overflowed (a panic with overflow
    /// checks on); a huge number of seconds saturates.
    #[test]
    fn absurd_retry_after_values_neither_panic_nor_wrap() {
        assert!(parse_retry_after("Wed, 21 Oct 9999999999999999 07:28:00 GMT").is_none());
        assert_eq!(parse_retry_after("18446744073709551615"), Some(u64::MAX));
    }

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
}
