//! The client-IP walk (`resolve_client_ip`) with random peers, proxy headers, trusted lists
//! and each `ClientIpHeader`. It must never panic; the result is the peer whenever the peer
//! is not a trusted proxy; the result is never an address that appears only in a header
//! other than the configured one; and it equals a reference model written from the contract
//! (../shared/DESIGN.md, "Client IP").
//!
//! Input, one field a line: 0 `trusted_proxies|client_ip_header` (a name that does not parse
//! picks one of the four by its length), 1 peer, 2 CF-Connecting-IP, 3 X-Forwarded-For,
//! 4 Forwarded, 5 X-Real-IP (a missing line is an absent header).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pirsch::fuzzing::{resolve_client_ip, ClientIpHeader, ProxyHeaders, TrustedProxies};
use pirsch_fuzz::{addresses_in, canonical, lines, model_forwarded_for, model_parse_ip, model_walk};

const FALLBACK_TRUSTED: &str = "10.0.0.0/8, 192.168.0.0/16, ::1, fd00::/8, 127.0.0.1";

fuzz_target!(|data: &[u8]| {
    let l: Vec<String> = lines(data).iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect();
    let field = |i: usize| l.get(i).map(String::as_str);
    let settings = field(0).unwrap_or("");
    let (trusted_text, which_text) = settings.split_once('|').unwrap_or((settings, ""));
    let trusted = TrustedProxies::parse(trusted_text)
        .unwrap_or_else(|_| TrustedProxies::parse(FALLBACK_TRUSTED).unwrap());
    let which = ClientIpHeader::parse(which_text).unwrap_or(
        [
            ClientIpHeader::XForwardedFor,
            ClientIpHeader::Forwarded,
            ClientIpHeader::XRealIp,
            ClientIpHeader::CfConnectingIp,
        ][which_text.len() % 4],
    );
    let peer = field(1).unwrap_or("");
    let headers = ProxyHeaders {
        cf_connecting_ip: field(2),
        x_forwarded_for: field(3),
        forwarded: field(4),
        x_real_ip: field(5),
    };

    let got = resolve_client_ip(peer, &headers, &trusted, which);

    let Some(peer_ip) = model_parse_ip(peer) else {
        assert_eq!(got, None, "a peer that is no address gives nothing");
        return;
    };
    let got = got.expect("a peer that is an address gives an address");
    assert_eq!(canonical(got), got, "IPv4-mapped addresses come out as IPv4");
    let peer_trusted = !trusted.is_empty() && trusted.contains(peer_ip);
    if !peer_trusted {
        assert_eq!(got, peer_ip, "an untrusted peer is the visitor, whatever it sends");
        return;
    }
    let configured = match which {
        ClientIpHeader::XForwardedFor => headers.x_forwarded_for,
        ClientIpHeader::Forwarded => headers.forwarded,
        ClientIpHeader::XRealIp => headers.x_real_ip,
        ClientIpHeader::CfConnectingIp => headers.cf_connecting_ip,
    };
    if got != peer_ip {
        let seen = configured.map(addresses_in).unwrap_or_default();
        assert!(
            seen.contains(&got),
            "{got} is not in the configured header ({}: {configured:?}); other headers: {headers:?}",
            which.name()
        );
    }
    // The reference model.
    let want = match which {
        ClientIpHeader::XForwardedFor => configured
            .and_then(|h| model_walk(&h.split(',').collect::<Vec<_>>(), &trusted)),
        ClientIpHeader::Forwarded => {
            configured.and_then(|h| model_walk(&model_forwarded_for(h), &trusted))
        }
        ClientIpHeader::XRealIp | ClientIpHeader::CfConnectingIp => {
            configured.and_then(model_parse_ip)
        }
    }
    .unwrap_or(peer_ip);
    assert_eq!(got, want, "model; peer {peer:?}, {}: {configured:?}", which.name());
});
