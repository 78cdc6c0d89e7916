//! Where and how the API is reached, decided when a client is made: the base URL, the
//! proxy (setting or environment, curl's rules), and the roots TLS certificates are checked
//! against. Parsing only: the transport uses what this decides.

use crate::error::{Error, Result};
use std::sync::Arc;
use ureq::http;

/// A checked base URL: `https://host[:port][/prefix]`, or `http://` for loopback hosts.
#[derive(Clone, Debug)]
pub struct BaseUrl {
    pub url: String,
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
            is_http,
        })
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
            if let Ok(range) = crate::item::client_ip::TrustedProxies::parse(e) {
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
pub fn choose_proxy(setting: &super::ProxySetting, base: &BaseUrl) -> Result<Option<ureq::Proxy>> {
    use super::ProxySetting;
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
            check_proxy_url(url.trim()).map(Some).map_err(|e| {
                e.context("the proxy in the environment (https_proxy, http_proxy or all_proxy) is unusable")
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
pub fn root_certs(config: &super::Config) -> Result<ureq::tls::RootCerts> {
    use super::TlsRoots;
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
        let system = read_ca_file(&path).map_err(|e| {
            e.context(&format!(
                "tls_roots=system: the trust store {path:?} is unusable"
            ))
        })?;
        certs.extend(system);
    }
    if let Some(path) = &config.ca_file {
        certs.extend(read_ca_file(path)?);
    }
    Ok(ureq::tls::RootCerts::Specific(Arc::new(certs)))
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
    use super::BaseUrl;

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
