//! HTTP to the API: one pooled keep-alive agent per client, errors mapped to result codes.

use crate::error::{Error, ErrorKind, Result};
use std::collections::HashMap;
use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex};
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
        assert!(t.elapsed() < Duration::from_millis(50));
        assert_eq!(started.load(Ordering::SeqCst), 1);
        // Another host has its own lookup.
        assert!(r
            .resolve_key("other.example:443", Duration::from_secs(5))
            .is_err());
        assert_eq!(started.load(Ordering::SeqCst), 2);
    }
}

/// Checks a proxy URL (`proxy` setting or environment): http or https, a host, nothing
/// else. Its password is remembered as a secret (never printed). Errors never echo it.
pub fn check_proxy_url(url: &str) -> Result<ureq::Proxy> {
    let bad = |why: &str| {
        Error::invalid(format!(
            "proxy: {why}; give http://host:port or https://host:port (with user:password@ if the proxy needs it), none, or leave it unset to follow the environment (https_proxy, http_proxy, no_proxy)"
        ))
    };
    // A raw # ends the host for the URL parser: in `http://u:#pw@proxy:3128` the password went
    // unseen (never registered as a secret) and the host was "u" (found by fuzzing).
    if url.contains('#') {
        return Err(bad(
            "a # is not allowed (in a password, percent-encode it as %23)",
        ));
    }
    let uri: http::Uri = url.parse().map_err(|_| bad("not a URL"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(bad("only http:// and https:// proxies are supported"));
    }
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    // An @ that the parser did not see in the authority: a password with / or ? in it, taken
    // for the path (http://u:pw/x@proxy had host "u" and its password unregistered; found by
    // fuzzing).
    if url
        .split_once("://")
        .is_some_and(|(_, rest)| rest.contains('@'))
        && !authority.as_str().contains('@')
    {
        return Err(bad(
            "the user name or password holds a / or ? (percent-encode them as %2F and %3F)",
        ));
    }
    if let Some((userinfo, _)) = authority.as_str().rsplit_once('@') {
        if let Some((_, password)) = userinfo.split_once(':') {
            crate::error::register_secret(password);
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    ureq::Proxy::new(url).map_err(|_| bad("not a proxy URL ureq accepts"))
}

/// Whether `host` is exempt from the proxy by a `no_proxy` list (curl's rules: `*` for every
/// host; names match themselves and their subdomains, a leading dot ignored; addresses and
/// CIDR ranges match addresses).
pub fn no_proxy_matches(list: &str, host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let ip = host.parse::<std::net::IpAddr>().ok();
    for entry in list
        .split([',', ' '])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        if entry == "*" {
            return true;
        }
        if let Some(ip) = ip {
            let e = entry.trim_start_matches('[').trim_end_matches(']');
            if let Ok(range) = crate::ip::TrustedProxies::parse(e) {
                if range.contains(ip) {
                    return true;
                }
            }
            continue;
        }
        let name = entry
            .trim_start_matches('.')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let name = match name.rsplit_once(':') {
            Some((n, port)) if port.bytes().all(|b| b.is_ascii_digit()) => n.to_string(),
            _ => name,
        };
        if !name.is_empty() && (host == name || host.ends_with(&format!(".{name}"))) {
            return true;
        }
    }
    false
}

/// The proxy for requests to `base`, decided once when a client is made (never in a child
/// after fork(): reading the environment there is not safe).
pub fn choose_proxy(
    setting: &crate::config::ProxySetting,
    base: &BaseUrl,
) -> Result<Option<ureq::Proxy>> {
    use crate::config::ProxySetting;
    match setting {
        ProxySetting::Off => Ok(None),
        ProxySetting::Url(url) => check_proxy_url(url).map(Some),
        ProxySetting::Environment => {
            let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
            let chosen = if base.is_http {
                // Never uppercase HTTP_PROXY: CGI sets HTTP_PROXY from a request's Proxy: header.
                env("http_proxy")
            } else {
                env("https_proxy").or_else(|| env("HTTPS_PROXY"))
            }
            .or_else(|| env("all_proxy"))
            .or_else(|| env("ALL_PROXY"));
            let Some(url) = chosen else { return Ok(None) };
            let host = base
                .url
                .parse::<http::Uri>()
                .ok()
                .and_then(|u| u.host().map(str::to_string))
                .unwrap_or_default();
            if let Some(list) = env("no_proxy").or_else(|| env("NO_PROXY")) {
                if no_proxy_matches(&list, &host) {
                    return Ok(None);
                }
            }
            check_proxy_url(url.trim()).map(Some).map_err(|mut e| {
                e.message = format!("the proxy in the environment (https_proxy, http_proxy or all_proxy) is unusable: {}", e.message).into();
                e
            })
        }
    }
}

/// The certificates of a PEM file of trusted roots (`ca_file`).
pub fn read_ca_file(path: &str) -> Result<Vec<ureq::tls::Certificate<'static>>> {
    let pem = std::fs::read(path).map_err(|e| {
        Error::invalid(format!(
            "config ca_file: cannot read {path:?}: {e}; give a PEM file of CA certificates"
        ))
    })?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        if let Ok(ureq::tls::PemItem::Certificate(c)) = item {
            certs.push(c);
        }
    }
    if certs.is_empty() {
        return Err(Error::invalid(format!(
            "config ca_file: {path:?} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(certs)
}

/// Where Linux distributions keep the system's trust store, as one PEM bundle.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Arch, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL, CentOS
    "/etc/ssl/ca-bundle.pem",             // openSUSE
    "/etc/pki/tls/cacert.pem",            // OpenELEC
    "/etc/ssl/cert.pem",                  // Alpine, macOS, BSDs
];

/// The roots to check the API's certificate against, decided when a client is made.
pub fn root_certs(config: &crate::config::Config) -> Result<ureq::tls::RootCerts> {
    use crate::config::TlsRoots;
    if config.tls_roots == TlsRoots::Bundled && config.ca_file.is_none() {
        return Ok(ureq::tls::RootCerts::WebPki);
    }
    let mut certs: Vec<ureq::tls::Certificate<'static>> = Vec::new();
    if matches!(config.tls_roots, TlsRoots::Bundled | TlsRoots::Both) {
        certs.extend(
            webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|c| ureq::tls::Certificate::from_der(c.as_ref())),
        );
    }
    if matches!(config.tls_roots, TlsRoots::System | TlsRoots::Both) {
        let from_env = std::env::var("SSL_CERT_FILE")
            .ok()
            .filter(|p| !p.is_empty());
        let path = from_env
            .clone()
            .or_else(|| SYSTEM_BUNDLES.iter().find(|p| std::path::Path::new(p).exists()).map(|p| p.to_string()))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "tls_roots=system: no system trust store found (looked in {}); install ca-certificates, set SSL_CERT_FILE, or use tls_roots=bundled",
                    SYSTEM_BUNDLES.join(", ")
                ))
            })?;
        let system = read_ca_file(&path).map_err(|mut e| {
            e.message = format!(
                "tls_roots=system: the trust store {path:?} is unusable: {}",
                e.message
            )
            .into();
            e
        })?;
        certs.extend(system);
    }
    if let Some(path) = &config.ca_file {
        certs.extend(read_ca_file(path)?);
    }
    Ok(ureq::tls::RootCerts::Specific(Arc::new(certs)))
}

pub struct Transport {
    agent: ureq::Agent,
    base: BaseUrl,
    timeout: Duration,
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
        max_body: u64,
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
            // Secrets out before the cut: a cut secret would no longer be recognised.
            .map(|v| crate::payload::truncate(&crate::error::scrub(&v), 200).to_string());
        // Read as bytes: a 2xx whose body is cut short or not UTF-8 was still delivered (sending
        // it again would duplicate it), and an error status keeps its meaning either way.
        let mut bytes = Vec::new();
        let mut reader = resp
            .into_body()
            .into_with_config()
            .limit(max_body)
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
mod proxy_tests {
    use super::*;

    #[test]
    fn no_proxy_follows_curl() {
        assert!(no_proxy_matches("*", "api.pirsch.io"));
        assert!(no_proxy_matches("example.com, pirsch.io", "api.pirsch.io"));
        assert!(no_proxy_matches(".pirsch.io", "api.pirsch.io"));
        assert!(no_proxy_matches("api.pirsch.io:443", "API.pirsch.io"));
        assert!(!no_proxy_matches("rsch.io", "api.pirsch.io"));
        assert!(!no_proxy_matches("", "api.pirsch.io"));
        assert!(no_proxy_matches("10.0.0.0/8 127.0.0.1", "127.0.0.1"));
        assert!(no_proxy_matches("::1", "[::1]"));
        assert!(!no_proxy_matches("10.0.0.0/8", "11.0.0.1"));
    }

    #[test]
    fn proxy_urls_are_checked_without_echoing_passwords() {
        assert!(check_proxy_url("http://proxy.example:3128").is_ok());
        assert!(check_proxy_url("https://u:pw@proxy.example:443").is_ok());
        for bad in [
            "ftp://proxy.example",
            "socks5://proxy.example:1080",
            "http://",
            "not a url",
        ] {
            assert!(check_proxy_url(bad).is_err(), "{bad}");
        }
        let e = check_proxy_url("ftp://user:sup3rs3cret-pw@proxy.example").unwrap_err();
        assert!(!e.message.contains("sup3rs3cret"), "{}", e.message);
        // Found by fuzz/ (config): a # in the password hid it from the parser, unregistered.
        let e = check_proxy_url("http://user:#hash3d-secret@proxy.example:3128").unwrap_err();
        assert!(
            e.message.contains("%23") && !e.message.contains("hash3d"),
            "{}",
            e.message
        );
        assert!(check_proxy_url("http://user:%23hash3d-secret@proxy.example:3128").is_ok());
        for bad in [
            "http://user:secret/6@proxy.example:6256",
            "http://user:sec?ret6@proxy.example:6256",
        ] {
            let e = check_proxy_url(bad).unwrap_err();
            assert!(
                e.message.contains("%2F") && !e.message.contains("ret6"),
                "{}",
                e.message
            );
        }
        assert!(!crate::error::scrub("x %23hash3d-secret y").contains("hash3d"));
    }
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
            assert!(
                e.message.contains("user name or password"),
                "{url}: {}",
                e.message
            );
            assert!(
                !e.message.contains("pw") && !e.message.contains("p w"),
                "{}",
                e.message
            );
        }
        let e = BaseUrl::parse("https://api.pirsch.io#x", false).unwrap_err();
        assert!(e.message.contains("fragment"), "{}", e.message);
        assert!(BaseUrl::parse("https://api.pirsch.io/", false).is_ok());
        assert!(BaseUrl::parse("http://[::1]:8080/prefix", false).is_ok());
    }
}
