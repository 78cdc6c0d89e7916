//! Client configuration: string keys and values, so that new options never change the ABI.

use crate::error::{Error, Result};
use crate::ip::{ClientIpHeader, TrustedProxies};
use crate::log::{Level, Logger};
use std::time::Duration;

/// Everything a client can be configured with. Defaults are those of the design contract.
#[derive(Clone)]
pub struct Config {
    pub base_url: String,
    pub timeout: Duration,
    pub max_retries: u32,
    pub queue_capacity: usize,
    pub batch_size: usize,
    pub flush_interval: Duration,
    pub shutdown_timeout: Duration,
    pub max_item_age: Duration,
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
            batch_size: 100,
            flush_interval: Duration::from_millis(1000),
            shutdown_timeout: Duration::from_millis(2000),
            max_item_age: Duration::from_millis(3_600_000),
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
    "batch_size",
    "flush_interval_ms",
    "shutdown_timeout_ms",
    "max_item_age_ms",
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
