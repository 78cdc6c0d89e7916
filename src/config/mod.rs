//! Client configuration: string keys and values, so that new options never change the ABI.

use crate::error::{Error, Result};
pub(crate) mod endpoint;
mod keys;

pub(crate) use keys::KEYS;

use crate::item::client_ip::{ClientIpHeader, TrustedProxies};
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
                crate::error::truncate(value, 40)
            ))),
        }
    }
}

/// When queued items are written (`spool_sync`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpoolSync {
    /// Only at pirsch_free (what is left) and when the queue is full.
    Shutdown,
    /// Also every flush interval: kill -9 loses at most one interval.
    Interval,
    /// Every item before enqueue returns (write-ahead): kill -9 loses nothing queued.
    Always,
}

impl SpoolSync {
    pub fn parse(value: &str) -> Option<SpoolSync> {
        match value.trim().to_ascii_lowercase().as_str() {
            "shutdown" => Some(SpoolSync::Shutdown),
            "interval" => Some(SpoolSync::Interval),
            "always" => Some(SpoolSync::Always),
            _ => None,
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
        endpoint::check_proxy_url(v)?;
        Ok(ProxySetting::Url(v.to_string()))
    }
}

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
    /// The spool directory (None: no spool).
    pub spool_dir: Option<String>,
    pub spool_sync: SpoolSync,
    pub spool_max_bytes: u64,
    /// pirsch_client_shared: live until exit(), then deliver.
    pub deliver_at_exit: bool,
}

impl Default for Config {
    /// The defaults of the keys table (those of the design contract).
    fn default() -> Self {
        let mut c = Config {
            base_url: String::new(),
            timeout: Duration::ZERO,
            max_retries: 0,
            queue_capacity: 0,
            queue_max_bytes: 0,
            batch_size: 0,
            flush_interval: Duration::ZERO,
            shutdown_timeout: Duration::ZERO,
            max_item_age: Duration::ZERO,
            proxy: ProxySetting::Environment,
            tls_roots: TlsRoots::Bundled,
            ca_file: None,
            trusted_proxies: TrustedProxies::default(),
            client_ip_header: ClientIpHeader::default(),
            forward_proxy_headers: false,
            allow_insecure_http: false,
            log_level: Level::Warn,
            logger: None,
            spool_dir: None,
            spool_sync: SpoolSync::Interval,
            spool_max_bytes: 0,
            deliver_at_exit: false,
        };
        for key in KEYS {
            // Valid by construction: config::tests checks every default.
            let _ = c.set(key.name, key.default);
        }
        c
    }
}

/// A spool directory must exist and be a directory this process can write to.
fn check_spool_dir(dir: &str) -> Result<()> {
    let path = std::path::Path::new(dir);
    if !path.is_absolute() {
        return Err(Error::invalid(format!(
            "config spool_dir: {:?} is not an absolute path; give one, e.g. /var/spool/pirsch",
            crate::error::truncate(dir, 200)
        )));
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(Error::invalid(format!(
                "config spool_dir: {dir:?} is not a directory"
            )))
        }
        Err(e) => {
            return Err(Error::invalid(format!(
                "config spool_dir: {dir:?} cannot be used: {e}; create it, writable by the user the server runs as"
            )))
        }
    }
    let c = std::ffi::CString::new(dir)
        .map_err(|_| Error::invalid("config spool_dir holds a NUL byte"))?;
    // SAFETY: access() on a NUL-terminated path.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } != 0 {
        return Err(Error::invalid(format!(
            "config spool_dir: {dir:?} is not writable by this process (uid {}); give the server's user write access to it",
            // SAFETY: getuid cannot fail.
            unsafe { libc::getuid() }
        )));
    }
    Ok(())
}

/// A whole number within the key's range (from the keys table).
fn parse_u64(key: &str, value: &str) -> Result<u64> {
    let (min, max) = KEYS
        .iter()
        .find(|k| k.name == key)
        .and_then(|k| k.range)
        .unwrap_or((0, u64::MAX));
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
        match key {
            "base_url" => {
                let v = value.trim().trim_end_matches('/');
                endpoint::BaseUrl::parse(v, true)?;
                self.base_url = v.to_string();
            }
            "timeout_ms" => self.timeout = Duration::from_millis(parse_u64(key, value)?),
            "max_retries" => self.max_retries = parse_u64(key, value)? as u32,
            "queue_capacity" => self.queue_capacity = parse_u64(key, value)? as usize,
            "queue_max_bytes" => self.queue_max_bytes = parse_u64(key, value)? as usize,
            "batch_size" => self.batch_size = parse_u64(key, value)? as usize,
            "flush_interval_ms" => {
                self.flush_interval = Duration::from_millis(parse_u64(key, value)?)
            }
            "shutdown_timeout_ms" => {
                self.shutdown_timeout = Duration::from_millis(parse_u64(key, value)?)
            }
            "max_item_age_ms" => self.max_item_age = Duration::from_millis(parse_u64(key, value)?),
            "proxy" => self.proxy = ProxySetting::parse(value)?,
            "tls_roots" => self.tls_roots = TlsRoots::parse(value)?,
            "ca_file" => {
                let path = value.trim();
                self.ca_file = if path.is_empty() {
                    None
                } else {
                    endpoint::read_ca_file(path)?;
                    Some(path.to_string())
                };
            }
            "trusted_proxies" => self.trusted_proxies = TrustedProxies::parse(value)?,
            "client_ip_header" => self.client_ip_header = ClientIpHeader::parse(value)?,
            "forward_proxy_headers" => self.forward_proxy_headers = parse_bool(key, value)?,
            "allow_insecure_http" => self.allow_insecure_http = parse_bool(key, value)?,
            "spool_dir" => {
                let dir = value.trim();
                self.spool_dir = if dir.is_empty() {
                    None
                } else {
                    check_spool_dir(dir)?;
                    Some(dir.to_string())
                };
            }
            "spool_sync" => {
                self.spool_sync = SpoolSync::parse(value).ok_or_else(|| {
                    Error::invalid(format!(
                        "config spool_sync: {:?} is not shutdown, interval or always",
                        crate::error::truncate(value, 40)
                    ))
                })?
            }
            "spool_max_bytes" => self.spool_max_bytes = parse_u64(key, value)?,
            "deliver_at_exit" => self.deliver_at_exit = parse_bool(key, value)?,
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
                    KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
                )))
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_in_the_table_is_accepted_and_is_the_default() {
        let defaults = Config::default();
        for key in KEYS {
            let mut c = Config::default();
            assert!(c.set(key.name, key.default).is_ok(), "{}", key.name);
            if let Some((min, max)) = key.range {
                let d: u64 = key.default.parse().unwrap();
                assert!(min <= d && d <= max, "{}", key.name);
                assert!(c.set(key.name, &(max + 1).to_string()).is_err());
                let e = c.set(key.name, "x").unwrap_err();
                assert!(
                    e.message.contains(&format!("from {min} to {max}")),
                    "{}",
                    e.message
                );
            }
        }
        assert_eq!(defaults.base_url, "https://api.pirsch.io");
        assert_eq!(defaults.timeout, Duration::from_millis(5000));
        assert_eq!(defaults.max_retries, 2);
        assert_eq!(
            (defaults.queue_capacity, defaults.batch_size),
            (10_000, 100)
        );
        assert_eq!(defaults.queue_max_bytes, 16 << 20);
        assert_eq!(defaults.flush_interval, Duration::from_millis(1000));
        assert_eq!(defaults.shutdown_timeout, Duration::from_millis(2000));
        assert_eq!(defaults.max_item_age, Duration::from_millis(3_600_000));
        assert_eq!(defaults.proxy, ProxySetting::Environment);
        assert_eq!(defaults.tls_roots, TlsRoots::Bundled);
        assert!(defaults.ca_file.is_none() && defaults.trusted_proxies.is_empty());
        assert_eq!(defaults.client_ip_header, ClientIpHeader::XForwardedFor);
        assert!(!defaults.forward_proxy_headers && !defaults.allow_insecure_http);
        assert_eq!(defaults.log_level, Level::Warn);
        let e = Config::default().set("nope", "1").unwrap_err();
        assert!(
            e.message.contains("timeout_ms, max_retries"),
            "{}",
            e.message
        );
    }

    /// The README's table of keys is the keys table. `PIRSCH_BLESS=1 cargo test` rewrites it.
    #[test]
    fn the_readme_table_is_the_keys_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let head = "| key | default | meaning |\n|---|---|---|\n";
        let start = readme.find(head).expect("the README has the table of keys") + head.len();
        let end = start
            + readme[start..]
                .find("\n\n")
                .expect("a blank line after the table")
            + 1;
        let table: String = KEYS
            .iter()
            .map(|k| format!("| `{}` | {} | {} |\n", k.name, k.shown_default, k.help))
            .collect();
        if readme[start..end] != table {
            if std::env::var_os("PIRSCH_BLESS").is_some() {
                std::fs::write(
                    path,
                    format!("{}{table}{}", &readme[..start], &readme[end..]),
                )
                .unwrap();
            } else {
                panic!("README.md's table of keys differs from src/config/keys.rs; run PIRSCH_BLESS=1 cargo test --lib config");
            }
        }
    }
}
