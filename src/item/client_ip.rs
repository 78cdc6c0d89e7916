//! Choosing the visitor's IP address so that it cannot be forged: proxy headers are believed
//! only when the peer that connected is a trusted proxy, and then only the one header those
//! proxies write (`client_ip_header`).

use crate::error::{Error, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A set of CIDR ranges (`trusted_proxies`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrustedProxies {
    ranges: Vec<(IpAddr, u8)>,
}

/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is the IPv4 address it carries.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

fn prefix_matches(net: IpAddr, bits: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits as u32)
            };
            (u32::from(n) & mask) == (u32::from(a) & mask)
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits as u32)
            };
            (u128::from(n) & mask) == (u128::from(a) & mask)
        }
        _ => false,
    }
}

impl TrustedProxies {
    /// Parses a comma-separated list of CIDRs or single addresses (`10.0.0.0/8, ::1`).
    pub fn parse(list: &str) -> Result<TrustedProxies> {
        let mut ranges = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (addr, bits) = match item.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (item, None),
            };
            let bad = || {
                Error::invalid(format!(
                    "config trusted_proxies: {item:?} is not an IP address or CIDR range (e.g. 10.0.0.0/8, 127.0.0.1, fd00::/8)"
                ))
            };
            let ip = canonical(addr.trim().parse::<IpAddr>().map_err(|_| bad())?);
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                Some(b) => b
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(bad)?,
                None => max,
            };
            ranges.push((ip, bits));
        }
        Ok(TrustedProxies { ranges })
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.ranges
            .iter()
            .any(|&(net, bits)| prefix_matches(net, bits, ip))
    }
}

/// Parses one address as proxies write it: `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]`,
/// `[::1]:80`, optionally quoted. Obfuscated identifiers (`_x`, `unknown`) and garbage give None.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"').trim();
    if s.is_empty() {
        return None;
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        if !(after.is_empty()
            || (after.starts_with(':')
                && after[1..].bytes().all(|b| b.is_ascii_digit())
                && after.len() > 1))
        {
            return None;
        }
        return inner
            .parse::<Ipv6Addr>()
            .ok()
            .map(|v6| canonical(IpAddr::V6(v6)));
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    // IPv4 with a port.
    let (host, port) = s.rsplit_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The proxy headers of one request, as received.
#[derive(Clone, Copy, Default, Debug)]
pub struct ProxyHeaders<'a> {
    pub cf_connecting_ip: Option<&'a str>,
    pub x_forwarded_for: Option<&'a str>,
    pub forwarded: Option<&'a str>,
    pub x_real_ip: Option<&'a str>,
}

/// Walks a proxy chain (client first, nearest proxy last) from the right: the first address
/// that is not a trusted proxy is the client. An unparsable entry ends the walk, since what is
/// left of it cannot be vouched for. A chain made only of trusted addresses gives its first.
fn walk_chain<'a>(
    entries: impl DoubleEndedIterator<Item = &'a str>,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let mut leftmost = None;
    for entry in entries.rev() {
        let ip = parse_ip(entry)?;
        if !trusted.contains(ip) {
            return Some(ip);
        }
        leftmost = Some(ip);
    }
    leftmost
}

/// The `for=` values of an RFC 7239 `Forwarded` header, in order.
fn forwarded_for(header: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for element in header.split(',') {
        for pair in element.split(';') {
            if let Some((k, v)) = pair.split_once('=') {
                if k.trim().eq_ignore_ascii_case("for") {
                    out.push(v.trim());
                }
            }
        }
    }
    out
}

/// The one header the trusted proxies write (`client_ip_header`), like nginx's
/// `real_ip_header`. Only that header is read for the visitor's address: a visitor can send
/// any of the others, and only the one a proxy overwrites or appends to can be believed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientIpHeader {
    /// `X-Forwarded-For`, a list walked right to left past trusted hops (the default).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded`: its `for=` values, walked like X-Forwarded-For.
    Forwarded,
    /// `X-Real-IP`: one address, as nginx's `proxy_set_header X-Real-IP $remote_addr` writes.
    XRealIp,
    /// `CF-Connecting-IP`: one address, as Cloudflare writes it.
    CfConnectingIp,
}

impl ClientIpHeader {
    pub const NAMES: &'static str = "x-forwarded-for, forwarded, x-real-ip or cf-connecting-ip";

    /// Parses a header name (any case; `_` for `-` accepted).
    pub fn parse(value: &str) -> Result<ClientIpHeader> {
        let v = value.trim().to_ascii_lowercase().replace('_', "-");
        Ok(match v.as_str() {
            "x-forwarded-for" => ClientIpHeader::XForwardedFor,
            "forwarded" => ClientIpHeader::Forwarded,
            "x-real-ip" => ClientIpHeader::XRealIp,
            "cf-connecting-ip" => ClientIpHeader::CfConnectingIp,
            _ => {
                return Err(Error::invalid(format!(
                    "config client_ip_header: {:?} is not a header libpirsch reads the visitor's address from; name the one your trusted proxies write: {}",
                    crate::error::truncate(value, 60),
                    Self::NAMES
                )))
            }
        })
    }

    #[cfg(any(test, feature = "fuzzing"))]
    pub fn name(self) -> &'static str {
        match self {
            ClientIpHeader::XForwardedFor => "x-forwarded-for",
            ClientIpHeader::Forwarded => "forwarded",
            ClientIpHeader::XRealIp => "x-real-ip",
            ClientIpHeader::CfConnectingIp => "cf-connecting-ip",
        }
    }
}

/// The visitor's address: the peer, unless the peer is a trusted proxy, in which case the
/// one header named by `which` is read (a list walked to the first untrusted address); the
/// other proxy headers are never read. The peer when that header is absent or names nothing
/// usable. None when the peer itself is not an IP address.
pub fn resolve_client_ip(
    peer: &str,
    headers: &ProxyHeaders<'_>,
    trusted: &TrustedProxies,
    which: ClientIpHeader,
) -> Option<IpAddr> {
    let peer = parse_ip(peer)?;
    if trusted.is_empty() || !trusted.contains(peer) {
        return Some(peer);
    }
    let found = match which {
        ClientIpHeader::XForwardedFor => headers
            .x_forwarded_for
            .and_then(|h| walk_chain(h.split(','), trusted)),
        ClientIpHeader::Forwarded => headers
            .forwarded
            .and_then(|h| walk_chain(forwarded_for(h).into_iter(), trusted)),
        ClientIpHeader::XRealIp => headers.x_real_ip.and_then(|h| parse_ip(h.trim())),
        ClientIpHeader::CfConnectingIp => headers.cf_connecting_ip.and_then(|h| parse_ip(h.trim())),
    };
    Some(found.unwrap_or(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(which: &str, peer: &str, h: ProxyHeaders<'_>) -> String {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let which = ClientIpHeader::parse(which).unwrap();
        resolve_client_ip(peer, &h, &trusted, which)
            .unwrap()
            .to_string()
    }

    /// Every header a visitor could add, each naming a forged address.
    fn forged<'a>() -> ProxyHeaders<'a> {
        ProxyHeaders {
            cf_connecting_ip: Some("6.6.6.6"),
            x_forwarded_for: Some("6.6.6.6"),
            forwarded: Some("for=6.6.6.6"),
            x_real_ip: Some("6.6.6.6"),
        }
    }

    #[test]
    fn only_the_configured_header_is_read() {
        // The proxy appends to X-Forwarded-For; the visitor's own CF-Connecting-IP is ignored.
        let h = ProxyHeaders {
            x_forwarded_for: Some("6.6.6.6, 198.51.100.7"),
            ..forged()
        };
        assert_eq!(resolve("x-forwarded-for", "10.0.0.1", h), "198.51.100.7");
        // The proxy sets only X-Real-IP: a visitor-sent X-Forwarded-For or Forwarded loses.
        let h = ProxyHeaders {
            x_real_ip: Some("198.51.100.10"),
            ..forged()
        };
        assert_eq!(resolve("x-real-ip", "10.0.0.1", h), "198.51.100.10");
        let h = ProxyHeaders {
            forwarded: Some("for=6.6.6.6, for=198.51.100.9"),
            ..forged()
        };
        assert_eq!(resolve("forwarded", "10.0.0.1", h), "198.51.100.9");
        let h = ProxyHeaders {
            cf_connecting_ip: Some("198.51.100.8"),
            ..forged()
        };
        assert_eq!(resolve("CF_Connecting_IP", "10.0.0.1", h), "198.51.100.8");
        // The configured header absent: the proxy itself, never another header.
        for which in [
            "x-forwarded-for",
            "forwarded",
            "x-real-ip",
            "cf-connecting-ip",
        ] {
            let mut h = forged();
            match which {
                "x-forwarded-for" => h.x_forwarded_for = None,
                "forwarded" => h.forwarded = None,
                "x-real-ip" => h.x_real_ip = None,
                _ => h.cf_connecting_ip = None,
            }
            assert_eq!(resolve(which, "10.0.0.1", h), "10.0.0.1", "{which}");
            // An untrusted peer is the visitor, whatever it sends.
            assert_eq!(
                resolve(which, "203.0.113.5", forged()),
                "203.0.113.5",
                "{which}"
            );
        }
        // A single-address header that is not one address gives the proxy.
        let h = ProxyHeaders {
            x_real_ip: Some("6.6.6.6, 198.51.100.10"),
            ..Default::default()
        };
        assert_eq!(resolve("x-real-ip", "10.0.0.1", h), "10.0.0.1");
    }

    #[test]
    fn header_names_are_checked() {
        assert_eq!(
            ClientIpHeader::parse(" X-Forwarded-For ").unwrap(),
            ClientIpHeader::XForwardedFor
        );
        assert_eq!(ClientIpHeader::default().name(), "x-forwarded-for");
        let e = ClientIpHeader::parse("x-client-ip").unwrap_err();
        assert!(e.message.contains("x-real-ip"), "{}", e.message);
    }
}
