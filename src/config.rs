//! Client configuration: string keys and values, so that new options never change the ABI.

use crate::error::{Error, Result};
use crate::ip::{ClientIpHeader, TrustedProxies};
use crate::log::{Level, Logger};
use std::time::Duration;

/// Which roots TLS certificates are checked against (`tls_roots`). Verification itself can
/// never be turned off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsRoots {
    /// Mozilla's roots, built in (the default: the same on every machine).
    Bundled,
    /// The operating system's store (SSL_CERT_FILE, or the distribution's bundle file).
    System,
    /// Both.
    Both,
}

impl TlsRoots {
    pub fn parse(value: &str) -> Result<TlsRoots> {
        match value.trim().to_ascii_lowercase().as_str() {
            "bundled" | "webpki" | "mozilla" => Ok(TlsRoots::Bundled),
            "system" | "os" => Ok(TlsRoots::System),
            "both" => Ok(TlsRoots::Both),
            _ => Err(Error::invalid(format!(
                "config tls_roots: {:?} is not bundled, system or both (certificates are always verified; to trust a private CA add it with ca_file)",
                crate::payload::truncate(value, 40)
            ))),
        }
    }
}

/// Which HTTP proxy requests to the API go through (`proxy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxySetting {
    /// The environment, by curl's rules: `https_proxy`/`HTTPS_PROXY` for an https API,
    /// lowercase `http_proxy` only for a plain-http one (uppercase HTTP_PROXY is what CGI
    /// fills from a request's `Proxy:` header: "httpoxy"), then `all_proxy`/`ALL_PROXY`;
    /// `no_proxy`/`NO_PROXY` exempt hosts. The default.
    Environment,
    /// No proxy, whatever the environment says (`proxy=none`).
    Off,
    /// This proxy (`http://[user:password@]host:port` or `https://...`).
    Url(String),
}

impl ProxySetting {
    pub fn parse(value: &str) -> Result<ProxySetting> {
        let v = value.trim();
        match v.to_ascii_lowercase().as_str() {
            "none" | "off" | "direct" => return Ok(ProxySetting::Off),
            "" | "env" | "environment" => return Ok(ProxySetting::Environment),
            _ => {}
        }
        crate::transport::check_proxy_url(v)?;
        Ok(ProxySetting::Url(v.to_string()))
    }
}

/// 16 MiB of queued JSON: about 40,000 typical page views, and a worker's queue stays within
/// a few tens of MB however large the headers visitors send.
pub(crate) const DEFAULT_QUEUE_MAX_BYTES: usize = 16 << 20;

/// Everything a client can be configured with. Defaults are those of the design contract.
#[derive(Clone)]
pub struct Config {
    pub base_url: String,
    pub timeout: Duration,
    pub max_retries: u32,
    pub queue_capacity: usize,
    /// Bound on the bytes of the queued items' JSON (visitors choose header sizes).
    pub queue_max_bytes: usize,
    pub batch_size: usize,
    pub flush_interval: Duration,
    pub shutdown_timeout: Duration,
    pub max_item_age: Duration,
    pub proxy: ProxySetting,
    pub tls_roots: TlsRoots,
    /// A PEM file of extra trusted roots (checked when set, read when a client is made).
    pub ca_file: Option<String>,
    pub trusted_proxies: TrustedProxies,
    pub client_ip_header: ClientIpHeader,
    pub forward_proxy_headers: bool,
    pub allow_insecure_http: bool,
    pub log_level: Level,
    pub logger: Option<Logger>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            base_url: "https://api.pirsch.io".into(),
            timeout: Duration::from_millis(5000),
            max_retries: 2,
            queue_capacity: 10_000,
            queue_max_bytes: DEFAULT_QUEUE_MAX_BYTES,
            batch_size: 100,
            flush_interval: Duration::from_millis(1000),
            shutdown_timeout: Duration::from_millis(2000),
            max_item_age: Duration::from_millis(3_600_000),
            proxy: ProxySetting::Environment,
            tls_roots: TlsRoots::Bundled,
            ca_file: None,
            trusted_proxies: TrustedProxies::default(),
            client_ip_header: ClientIpHeader::default(),
            forward_proxy_headers: false,
            allow_insecure_http: false,
            log_level: Level::Warn,
            logger: None,
        }
    }
}

/// The keys `set` knows, for error messages.
pub const KEYS: &[&str] = &[
    "base_url",
    "timeout_ms",
    "max_retries",
    "queue_capacity",
    "queue_max_bytes",
    "batch_size",
    "flush_interval_ms",
    "shutdown_timeout_ms",
    "max_item_age_ms",
    "proxy",
    "tls_roots",
    "ca_file",
    "trusted_proxies",
    "client_ip_header",
    "forward_proxy_headers",
    "allow_insecure_http",
    "log_level",
];

fn parse_u64(key: &str, value: &str, min: u64, max: u64) -> Result<u64> {
    let v: u64 = value.trim().parse().map_err(|_| {
        Error::invalid(format!(
            "config {key}: {value:?} is not a whole number; give a value from {min} to {max}"
        ))
    })?;
    if v < min || v > max {
        return Err(Error::invalid(format!(
            "config {key}: {v} is out of range; give a value from {min} to {max}"
        )));
    }
    Ok(v)
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Error::invalid(format!(
            "config {key}: {value:?} is not a boolean; use true or false"
        ))),
    }
}

impl Config {
    /// Sets one option from its string form. Unknown keys and bad values are errors that
    /// name the key and say what is accepted; the config is unchanged on error.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        const DAY_MS: u64 = 86_400_000;
        match key {
            "base_url" => {
                let v = value.trim().trim_end_matches('/');
                crate::transport::BaseUrl::parse(v, true)?;
                self.base_url = v.to_string();
            }
            "timeout_ms" => {
                self.timeout = Duration::from_millis(parse_u64(key, value, 1, 600_000)?)
            }
            "max_retries" => self.max_retries = parse_u64(key, value, 0, 10)? as u32,
            "queue_capacity" => {
                self.queue_capacity = parse_u64(key, value, 1, 10_000_000)? as usize
            }
            "queue_max_bytes" => {
                self.queue_max_bytes = parse_u64(key, value, 65_536, 1 << 32)? as usize
            }
            "batch_size" => self.batch_size = parse_u64(key, value, 1, 1000)? as usize,
            "flush_interval_ms" => {
                self.flush_interval = Duration::from_millis(parse_u64(key, value, 1, DAY_MS)?)
            }
            "shutdown_timeout_ms" => {
                self.shutdown_timeout = Duration::from_millis(parse_u64(key, value, 0, DAY_MS)?)
            }
            "max_item_age_ms" => {
                self.max_item_age = Duration::from_millis(parse_u64(key, value, 1, 30 * DAY_MS)?)
            }
            "proxy" => self.proxy = ProxySetting::parse(value)?,
            "tls_roots" => self.tls_roots = TlsRoots::parse(value)?,
            "ca_file" => {
                let path = value.trim();
                self.ca_file = if path.is_empty() {
                    None
                } else {
                    crate::transport::read_ca_file(path)?;
                    Some(path.to_string())
                };
            }
            "trusted_proxies" => self.trusted_proxies = TrustedProxies::parse(value)?,
            "client_ip_header" => self.client_ip_header = ClientIpHeader::parse(value)?,
            "forward_proxy_headers" => self.forward_proxy_headers = parse_bool(key, value)?,
            "allow_insecure_http" => self.allow_insecure_http = parse_bool(key, value)?,
            "log_level" => {
                self.log_level = Level::parse(value).ok_or_else(|| {
                    Error::invalid(format!(
                    "config log_level: {value:?} is not a level; use error, warn, info or debug"
                ))
                })?
            }
            _ => {
                return Err(Error::invalid(format!(
                    "unknown config key {key:?}; known keys: {}",
                    KEYS.join(", ")
                )))
            }
        }
        Ok(())
    }
}
