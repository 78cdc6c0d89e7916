//! From what the caller gave to what is sent: validation, the client address resolved
//! through trusted proxies, the URL normalised. A `Prepared` item can only be made by
//! `Rules::prepare`, so JSON is never written for an item that was not checked.

use super::client_ip::{resolve_client_ip, ClientIpHeader, ProxyHeaders, TrustedProxies};
use super::json::{write_item, BodyOptions};
use super::{Event, Hit, Kind};
use crate::error::{Error, ErrorKind, Result};
use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How far in the future a caller's own `time` may be (clock skew between machines).
pub(crate) const MAX_FUTURE_SKEW: Duration = Duration::from_secs(60);

/// The settings that shape what is sent for an item (from the client's config).
#[derive(Clone, Debug, Default)]
pub(crate) struct Rules {
    pub trusted_proxies: TrustedProxies,
    pub client_ip_header: ClientIpHeader,
    pub forward_proxy_headers: bool,
    /// How old a caller's own `time` may be (max_item_age_ms); zero: no bound.
    pub max_item_age: Duration,
}

/// An item that passed validation, with what to send instead of its own fields.
pub(crate) struct Prepared<'r, 'h, 'a> {
    rules: &'r Rules,
    kind: Kind,
    hit: &'h Hit<'a>,
    event: Option<&'h Event<'a>>,
    /// The client address, when it differs from `hit.ip` as given.
    ip: Option<Cow<'h, str>>,
    /// The normalised URL, when it differs from `hit.url` as given.
    url: Option<String>,
    /// The caller's own time, checked.
    time: Option<SystemTime>,
}

/// Parses a caller's `time`: RFC 3339, or Unix epoch milliseconds as digits.
pub(crate) fn parse_own_time(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    if !s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_digit()) {
        return UNIX_EPOCH.checked_add(Duration::from_millis(s.parse().ok()?));
    }
    crate::time::parse_rfc3339(s)
}

impl Rules {
    /// The address to send: the peer that connected, or, when the peer is a trusted proxy,
    /// the visitor the `client_ip_header` names. Borrowed when the peer already is that
    /// address. None when the item has no ip (validation names the missing field).
    fn client_ip<'h>(&self, hit: &'h Hit<'_>) -> Result<Option<Cow<'h, str>>> {
        let peer = match hit.ip.as_deref().filter(|s| !s.is_empty()) {
            Some(p) => p,
            None => return Ok(None),
        };
        // The common case, parsed once: a plain IPv4 peer whose proxy headers are not believed.
        if let Ok(v4) = peer.parse::<std::net::Ipv4Addr>() {
            if !self.trusted_proxies.contains(std::net::IpAddr::V4(v4)) {
                return Ok(Some(Cow::Borrowed(peer)));
            }
        }
        let headers = ProxyHeaders {
            cf_connecting_ip: hit.cf_connecting_ip.as_deref(),
            x_forwarded_for: hit.x_forwarded_for.as_deref(),
            forwarded: hit.forwarded.as_deref(),
            x_real_ip: hit.x_real_ip.as_deref(),
        };
        match resolve_client_ip(peer, &headers, &self.trusted_proxies, self.client_ip_header) {
            // The peer as given, already in canonical form: nothing to replace.
            Some(ip)
                if peer.parse::<std::net::IpAddr>().ok() == Some(ip)
                    && !peer.contains("::ffff:") =>
            {
                Ok(Some(Cow::Borrowed(peer)))
            }
            Some(ip) => Ok(Some(Cow::Owned(ip.to_string()))),
            None => Err(Error::invalid(format!(
                "ip {:?} is not an IP address",
                crate::error::truncate(peer, 60)
            ))),
        }
    }

    /// Validates an item of `kind` (an event needs `event`).
    pub fn prepare<'r, 'h, 'a>(
        &'r self,
        kind: Kind,
        hit: &'h Hit<'a>,
        event: Option<&'h Event<'a>>,
    ) -> Result<Prepared<'r, 'h, 'a>> {
        let ip = self.client_ip(hit)?;
        let url = hit.validate(kind)?;
        if kind == Kind::Event {
            event
                .ok_or_else(|| {
                    Error::new(ErrorKind::NullArgument, "an event needs its event options")
                })?
                .validate()?;
        }
        let time = match super::present(&hit.time) {
            None => None,
            Some(t) => Some(self.check_time(t, SystemTime::now())?),
        };
        Ok(Prepared {
            rules: self,
            kind,
            hit,
            event,
            ip,
            url,
            time,
        })
    }

    /// A caller's own time, if it is one the API takes: not in the future beyond the skew,
    /// not older than max_item_age.
    fn check_time(&self, t: &str, now: SystemTime) -> Result<SystemTime> {
        let shown = crate::error::truncate(t, 40);
        let at = parse_own_time(t).ok_or_else(|| {
            Error::invalid(format!(
                "time {shown:?} is neither RFC 3339 (e.g. \"2026-11-30T10:00:00Z\") nor epoch milliseconds (e.g. \"1764496800000\")"
            ))
        })?;
        if let Ok(ahead) = at.duration_since(now) {
            if ahead > MAX_FUTURE_SKEW {
                return Err(Error::invalid(format!(
                    "time {shown:?} is {} s in the future (at most {} s of clock skew is taken); check the clock or the time zone",
                    ahead.as_secs(),
                    MAX_FUTURE_SKEW.as_secs()
                )));
            }
        } else if let Ok(age) = now.duration_since(at) {
            if !self.max_item_age.is_zero() && age > self.max_item_age {
                return Err(Error::invalid(format!(
                    "time {shown:?} is {} s old, older than max_item_age_ms={}; raise max_item_age_ms (up to 30 days) to import older items",
                    age.as_secs(),
                    self.max_item_age.as_millis()
                )));
            }
        }
        Ok(at)
    }
}

impl Prepared<'_, '_, '_> {
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The caller's own time, when it gave one.
    pub fn own_time(&self) -> Option<SystemTime> {
        self.time
    }

    /// Appends the item's JSON object to `out`, with `time` (RFC 3339) for a queued item.
    pub fn write_json(&self, out: &mut Vec<u8>, time: Option<&str>) {
        let opts = BodyOptions {
            forward_proxy_headers: self.rules.forward_proxy_headers,
            time,
            ip: self.ip.as_deref(),
            url: self.url.as_deref(),
        };
        write_item(out, self.kind, self.hit, self.event, opts);
    }
}
