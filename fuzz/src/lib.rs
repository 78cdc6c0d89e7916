//! Helpers shared by the fuzz targets: reading an input as text fields, and the reference
//! models' view of IP addresses (written from the contract, not from src/item/client_ip.rs).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The input cut into lines (`\n`); a missing line is None. Bytes, not text: the targets
/// decide what must be UTF-8.
pub fn lines(data: &[u8]) -> Vec<&[u8]> {
    data.split(|b| *b == b'\n').collect()
}

/// What a C caller can pass: the bytes up to the first NUL.
pub fn c_bytes(b: &[u8]) -> &[u8] {
    match b.iter().position(|c| *c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// IPv4-mapped IPv6 is the IPv4 address it carries (the contract says the same of proxies).
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// Every address that can be read anywhere in `text`, however it is written there: each
/// maximal run of `[0-9A-Fa-f.:]` parsed as an address, or as IPv4 with a `:port`. Generous
/// on purpose: "the result appears in this header" must not miss a spelling the library
/// accepts (`1.2.3.4:80`, `[::1]:80`, `"for=..."`, `::ffff:1.2.3.4`).
pub fn addresses_in(text: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    let is_ip_char = |c: char| c.is_ascii_hexdigit() || c == '.' || c == ':';
    for run in text.split(|c: char| !is_ip_char(c)).filter(|r| !r.is_empty()) {
        if let Ok(ip) = run.parse::<IpAddr>() {
            out.push(canonical(ip));
        } else if let Some((host, port)) = run.rsplit_once(':') {
            if let (Ok(ip), true) = (
                host.parse::<std::net::Ipv4Addr>(),
                port.bytes().all(|b| b.is_ascii_digit()),
            ) {
                out.push(IpAddr::V4(ip));
            }
        }
    }
    out
}

/// A plain address as the contract's simplest spelling: trimmed, nothing else around it.
pub fn plain_ip(s: &str) -> Option<IpAddr> {
    s.trim().parse::<IpAddr>().ok().map(canonical)
}

/// One address as proxies write it: `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]`, `[::1]:80`,
/// optionally in double quotes, surrounding whitespace ignored.
pub fn model_parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"').trim();
    if let Some(rest) = s.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || (after.len() > 1
                && after.starts_with(':')
                && after[1..].bytes().all(|b| b.is_ascii_digit()));
        if !port_ok {
            return None;
        }
        return inner.parse::<Ipv6Addr>().ok().map(|v| canonical(IpAddr::V6(v)));
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    let (host, port) = s.rsplit_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

/// Walks a chain from the right: the first untrusted address; an unreadable entry stops the
/// walk with nothing; all trusted gives the leftmost.
pub fn model_walk(entries: &[&str], trusted: &pirsch::fuzzing::TrustedProxies) -> Option<IpAddr> {
    let mut leftmost = None;
    for e in entries.iter().rev() {
        let ip = model_parse_ip(e)?;
        if !trusted.contains(ip) {
            return Some(ip);
        }
        leftmost = Some(ip);
    }
    leftmost
}


/// The `for=` values of an RFC 7239 `Forwarded` header, in order.
pub fn model_forwarded_for(h: &str) -> Vec<&str> {
    h.split(',')
        .flat_map(|e| e.split(';'))
        .filter_map(|p| p.split_once('='))
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
        .map(|(_, v)| v.trim())
        .collect()
}
