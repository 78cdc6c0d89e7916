//! Re-exports for the fuzz targets in fuzz/ (built with the `fuzzing` feature only): the
//! parsers of network and configuration input, and the path from a C struct to the JSON.

pub use crate::api::transport::{describe_api_error, parse_retry_after};
pub use crate::config::endpoint::BaseUrl;
pub use crate::config::Config;
pub use crate::error::{presentable, register_secret, scrub, Error, ErrorKind};
pub use crate::item::client_ip::{resolve_client_ip, ClientIpHeader, ProxyHeaders, TrustedProxies};
pub use crate::item::{Event, Hit, Kind};
pub use crate::time::{format_rfc3339_millis, parse_http_date, parse_rfc3339};

/// Reads a caller's page view as the send functions do.
///
/// # Safety
/// `p` is NULL or points to a `pirsch_hit_options` whose strings live for `'a`.
pub unsafe fn hit_from_c<'a>(p: *const crate::ffi::pirsch_hit_options) -> Result<Hit<'a>, Error> {
    crate::ffi::hit_from_c(p)
}

/// Reads a caller's event as the send functions do.
///
/// # Safety
/// As `hit_from_c`.
pub unsafe fn event_from_c<'a>(
    p: *const crate::ffi::pirsch_event_options,
) -> Result<Event<'a>, Error> {
    crate::ffi::event_from_c(p)
}

/// Checks an item and writes its JSON as a client with `config` does (no time stamp).
pub fn prepared_json(
    config: &Config,
    kind: Kind,
    hit: &Hit<'_>,
    event: Option<&Event<'_>>,
) -> Result<Vec<u8>, Error> {
    let rules = crate::item::Rules {
        trusted_proxies: config.trusted_proxies.clone(),
        client_ip_header: config.client_ip_header,
        forward_proxy_headers: config.forward_proxy_headers,
        max_item_age: config.max_item_age,
    };
    let item = rules.prepare(kind, hit, event)?;
    let mut out = Vec::new();
    item.write_json(&mut out, None);
    Ok(out)
}

/// The C result code of an error kind.
pub fn code_of(kind: ErrorKind) -> i32 {
    crate::ffi::code_of(kind)
}

/// The configuration keys.
pub fn keys() -> Vec<&'static str> {
    crate::config::KEYS.iter().map(|k| k.name).collect()
}
