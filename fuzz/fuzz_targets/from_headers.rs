//! A request as a server sees it, through the real C entry point
//! `pirsch_hit_options_from_headers`, then read, validated and written as JSON exactly as
//! `pirsch_hit` / `pirsch_hit_enqueue` do (`hit_from_c`, `Rules::prepare`,
//! `Prepared::write_json`, through `pirsch::fuzzing::prepared_json`). The JSON is parsed back with serde_json and compared, field by
//! field, with a reference model of what the contract says must be sent. Refused inputs must
//! give an error code, never a panic (the entry point turns a panic into PIRSCH_ERR_PANIC,
//! which fails here).
//!
//! Input, one field a line (text seeds in fuzz/corpus/from_headers):
//!   0: settings `trusted_proxies|client_ip_header|flags` (flags: f forward_proxy_headers,
//!      s a session keep-alive instead of a page view, e an event (named by the title
//!      line, with the tags as its metadata too, and a duration of 7 s), i non_interactive,
//!      n peer NULL, b disable_bot_filter, u url NULL)
//!   1: url   2: peer address   3: title   4: `width height`   5: tags `k=v&k=v`
//!   6..: headers `Name: value` (everything up to the first NUL, as C sees it)
#![no_main]

use libfuzzer_sys::fuzz_target;
use pirsch::ffi::{self, pirsch_event_options, pirsch_hit_options, pirsch_kv};
use pirsch::fuzzing::{self as inside, ClientIpHeader, Config, Kind, TrustedProxies};
use pirsch_fuzz::{c_bytes, canonical, lines, model_forwarded_for, model_parse_ip, model_walk};
use serde_json::{Map, Value};
use std::ffi::CString;
use std::net::IpAddr;

const MAX_FIELD_BYTES: usize = 8 * 1024;

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Header name as matched: ASCII whitespace around it ignored, ASCII letters without case.
fn norm_name(b: &[u8]) -> Vec<u8> {
    b.trim_ascii().to_ascii_lowercase()
}

fn pct_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'+' {
            out.push(b' ');
        } else if b[i] == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            let h = (b[i + 1] as char).to_digit(16).unwrap() as u8;
            let l = (b[i + 2] as char).to_digit(16).unwrap() as u8;
            out.push(h * 16 + l);
            i += 2;
        } else {
            out.push(b[i]);
        }
        i += 1;
    }
    out
}

/// The referrer named in the URL's query (ref, referer, referrer, source, utm_source, in
/// that order of preference; the first of a name wins), decoded, trimmed, NULs dropped.
fn model_query_referrer(url: &str) -> Option<String> {
    const NAMES: [&str; 5] = ["ref", "referer", "referrer", "source", "utm_source"];
    let before_fragment = url.split('#').next().unwrap_or("");
    let query = before_fragment.split_once('?')?.1;
    let mut best: Option<(usize, String)> = None;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = lossy(&pct_decode(k)).to_ascii_lowercase();
        let Some(rank) = NAMES.iter().position(|n| *n == key) else {
            continue;
        };
        let value = lossy(&pct_decode(v)).trim().to_string();
        if !value.is_empty() && best.as_ref().is_none_or(|(r, _)| rank < *r) {
            best = Some((rank, value));
        }
    }
    best.map(|(_, v)| v.replace('\0', ""))
}

/// The page URL as sent, or None when it must be refused. The contract (issue 12, defect
/// 15): an absolute http(s) URL without space or control characters (C0, DEL, C1) and with
/// a host; a plain one (lower-case `http`, a host of lower-case ASCII letters, digits, dots
/// and dashes not starting with a dot or dash, no xn-- label, a last label that is no number
/// unless the host is a dotted quad; a port up to 65535) is sent as given;
/// anything else as the WHATWG parser (the url crate) normalises it, without user name and
/// password, and refused where that parser refuses it or finds no http(s) host.
fn model_url(url: &str) -> Option<String> {
    let rest = if url.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("https://")) {
        &url[8..]
    } else if url.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("http://")) {
        &url[7..]
    } else {
        return None;
    };
    if url.chars().any(|c| c <= ' ' || c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c)) {
        return None;
    }
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or("");
    if authority.is_empty() {
        return None;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let plain_host = !host.is_empty()
        && !host.starts_with(['.', '-'])
        && host.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        // A number as the last label makes an IPv4 address of it (only a dotted quad is
        // plain), an xn-- label is punycode: both for the full parser.
        && (!host.rsplit('.').find(|l| !l.is_empty()).unwrap_or(host).starts_with(|c: char| c.is_ascii_digit())
            || host.parse::<std::net::Ipv4Addr>().is_ok())
        && !host.split('.').any(|l| l.starts_with("xn--"));
    let plain_port = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u32>().unwrap() <= 65535);
    if plain_host && plain_port && url.starts_with("http") {
        // The fast path is a shortcut, not another contract: what it sends as given, the
        // full parser takes too, with the same host.
        let full = url::Url::parse(url);
        assert!(
            full.as_ref().is_ok_and(|u| u.host_str() == Some(host)),
            "sent as given, but the WHATWG parser says {:?} for {url:?}",
            full.map(|u| u.host_str().map(str::to_string))
        );
        return Some(url.to_string());
    }
    let mut parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return None;
    }
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    Some(parsed.into())
}

struct Input<'a> {
    trusted_text: String,
    which_text: String,
    flags: String,
    url: Option<&'a [u8]>,
    peer: Option<&'a [u8]>,
    title: &'a [u8],
    screen: (i32, i32),
    tags: Vec<(&'a [u8], &'a [u8])>,
    headers: Vec<(&'a [u8], &'a [u8])>,
}

fn read_input(data: &[u8]) -> Input<'_> {
    let l = lines(data);
    let field = |i: usize| l.get(i).copied();
    let settings = lossy(field(0).unwrap_or(b""));
    let mut parts = settings.splitn(3, '|');
    let trusted_text = parts.next().unwrap_or("").to_string();
    let which_text = parts.next().unwrap_or("").to_string();
    let flags = parts.next().unwrap_or("").to_string();
    let screen_text = lossy(field(4).unwrap_or(b""));
    let mut nums = screen_text.split_whitespace().map(|n| n.parse::<i32>().unwrap_or(0));
    let screen = (nums.next().unwrap_or(0), nums.next().unwrap_or(0));
    let tags = match field(5) {
        Some(t) if !t.is_empty() => t
            .split(|b| *b == b'&')
            .map(|kv| match kv.iter().position(|b| *b == b'=') {
                Some(i) => (c_bytes(&kv[..i]), c_bytes(&kv[i + 1..])),
                None => (c_bytes(kv), &b""[..]),
            })
            .collect(),
        _ => Vec::new(),
    };
    let headers = l
        .iter()
        .skip(6)
        .map(|h| match h.iter().position(|b| *b == b':') {
            Some(i) => (c_bytes(&h[..i]), c_bytes(&h[i + 1..])),
            None => (c_bytes(h), &b""[..]),
        })
        .collect();
    Input {
        url: if flags.contains('u') { None } else { Some(c_bytes(field(1).unwrap_or(b""))) },
        peer: if flags.contains('n') { None } else { field(2).map(c_bytes) },
        title: c_bytes(field(3).unwrap_or(b"")),
        trusted_text,
        which_text,
        flags,
        screen,
        tags,
        headers,
    }
}

/// What must happen: an error (and whether a UTF-8 problem may be its cause), or this JSON.
enum Expected {
    Refused { utf8: bool, why: String },
    Sent(Map<String, Value>),
}

fn model(inp: &Input<'_>, kind: Kind, trusted: &TrustedProxies, which: ClientIpHeader) -> Expected {
    let refuse = |utf8: bool, why: &str| Expected::Refused { utf8, why: why.to_string() };
    let Some(url_b) = inp.url else { unreachable!("NULL url is checked by the caller") };
    let Ok(url) = std::str::from_utf8(url_b) else { unreachable!("checked by the caller") };
    // The first value of each header, and the X-Forwarded-For / Forwarded lines joined.
    let first = |name: &str| -> Option<&[u8]> {
        inp.headers.iter().find(|(n, _)| norm_name(n) == name.as_bytes()).map(|(_, v)| *v)
    };
    let joined = |name: &str| -> Option<String> {
        let vals: Vec<&[u8]> = inp
            .headers
            .iter()
            .filter(|(n, _)| norm_name(n) == name.as_bytes())
            .map(|(_, v)| *v)
            .collect();
        (!vals.is_empty()).then(|| lossy(&vals.join(&b", "[..])))
    };
    let ua = |name: &str| first(name).map(lossy);
    let referrer = match first("referer") {
        Some(r) if !r.is_empty() => Some(lossy(r)),
        _ => model_query_referrer(url),
    };
    let xff = joined("x-forwarded-for");
    let fwd = joined("forwarded");
    let cf = ua("cf-connecting-ip");
    let xri = ua("x-real-ip");
    let title = lossy(inp.title);
    let mut strings: Vec<(&str, Option<String>)> = vec![
        ("user_agent", ua("user-agent")),
        ("accept_language", ua("accept-language")),
        ("sec_ch_ua", ua("sec-ch-ua")),
        ("sec_ch_ua_mobile", ua("sec-ch-ua-mobile")),
        ("sec_ch_ua_platform", ua("sec-ch-ua-platform")),
        ("sec_ch_ua_platform_version", ua("sec-ch-ua-platform-version")),
        ("sec_ch_width", ua("sec-ch-width")),
        ("sec_ch_viewport_width", ua("sec-ch-viewport-width")),
        ("title", Some(title)),
        ("referrer", referrer),
        ("cf_connecting_ip", cf.clone()),
        ("x_forwarded_for", xff.clone()),
        ("forwarded", fwd.clone()),
        ("x_real_ip", xri.clone()),
    ];
    for (_, v) in strings.iter_mut() {
        if v.as_deref() == Some("") {
            *v = None;
        }
    }

    // Refusals, in no particular order: only "refused or not" and the kind of code count.
    let mut refusals: Vec<(bool, &str)> = Vec::new();
    let peer = match inp.peer {
        None | Some(b"") => {
            refusals.push((false, "no ip"));
            None
        }
        Some(p) => match std::str::from_utf8(p) {
            Err(_) => {
                refusals.push((true, "ip not UTF-8"));
                None
            }
            Ok(p) => match model_parse_ip(p) {
                None => {
                    refusals.push((false, "ip not an address"));
                    None
                }
                Some(ip) => Some(ip),
            },
        },
    };
    if kind != Kind::Session {
        if url.is_empty() {
            refusals.push((false, "no url"));
        } else if url.len() > MAX_FIELD_BYTES {
            refusals.push((false, "url too long"));
        } else if model_url(url).is_none() {
            refusals.push((false, "url not an absolute http(s) URL"));
        }
    } else if url.len() > MAX_FIELD_BYTES {
        refusals.push((false, "url too long"));
    }
    for (name, v) in &strings {
        if v.as_ref().is_some_and(|v| v.len() > MAX_FIELD_BYTES) {
            refusals.push((false, name));
        }
    }
    if inp.screen.0 < 0 || inp.screen.1 < 0 {
        refusals.push((false, "negative screen"));
    }
    if inp.tags.len() > 20 {
        refusals.push((false, "too many tags"));
    }
    let mut tags = Map::new();
    // The event's metadata are the tags again: the same rules, checked a second time.
    let rounds = if kind == Kind::Event { 2 } else { 1 };
    for (i, (k, v)) in inp.tags.iter().enumerate().cycle().take(inp.tags.len() * rounds) {
        let Ok(k) = std::str::from_utf8(k) else {
            refusals.push((true, "tag key not UTF-8"));
            continue;
        };
        let v = lossy(v);
        if k.is_empty() || k.chars().count() > 50 || v.chars().count() > 50 {
            refusals.push((false, "tag size"));
        }
        if inp.tags[..i].iter().any(|(k2, _)| *k2 == k.as_bytes()) {
            refusals.push((false, "tag twice"));
        }
        tags.insert(k.to_string(), Value::String(v));
    }
    let event_name = lossy(inp.title);
    if kind == Kind::Event {
        if event_name.is_empty() {
            refusals.push((false, "no event name"));
        } else if event_name.len() > MAX_FIELD_BYTES {
            refusals.push((false, "event name too long"));
        }
        if inp.tags.len() > 20 {
            refusals.push((false, "too much meta"));
        }
    }
    if let Some((utf8, why)) = refusals.first() {
        return refuse(refusals.iter().any(|r| r.0) || *utf8, why);
    }

    // The visitor's address: the peer, unless it is a trusted proxy; then only the one
    // configured header.
    let peer = peer.unwrap();
    let ip = if trusted.is_empty() || !trusted.contains(peer) {
        peer
    } else {
        let found = match which {
            ClientIpHeader::XForwardedFor => xff
                .as_deref()
                .and_then(|h| model_walk(&h.split(',').collect::<Vec<_>>(), trusted)),
            ClientIpHeader::Forwarded => fwd
                .as_deref()
                .and_then(|h| model_walk(&model_forwarded_for(h), trusted)),
            ClientIpHeader::XRealIp => xri.as_deref().and_then(model_parse_ip),
            ClientIpHeader::CfConnectingIp => cf.as_deref().and_then(model_parse_ip),
        };
        found.unwrap_or(peer)
    };

    let mut m = Map::new();
    let put = |m: &mut Map<String, Value>, k: &str, v: &Option<String>| {
        if let Some(v) = v {
            m.insert(k.to_string(), Value::String(v.clone()));
        }
    };
    let get = |k: &str| strings.iter().find(|(n, _)| *n == k).unwrap().1.clone();
    m.insert("ip".into(), Value::String(ip.to_string()));
    put(&mut m, "user_agent", &get("user_agent"));
    for k in [
        "sec_ch_ua",
        "sec_ch_ua_mobile",
        "sec_ch_ua_platform",
        "sec_ch_ua_platform_version",
        "sec_ch_width",
        "sec_ch_viewport_width",
    ] {
        put(&mut m, k, &get(k));
    }
    if kind != Kind::Session {
        m.insert("url".into(), Value::String(model_url(url).unwrap()));
        for k in ["accept_language", "title", "referrer"] {
            put(&mut m, k, &get(k));
        }
        if inp.screen.0 != 0 {
            m.insert("screen_width".into(), inp.screen.0.into());
        }
        if inp.screen.1 != 0 {
            m.insert("screen_height".into(), inp.screen.1.into());
        }
        if inp.flags.contains('f') {
            for k in ["cf_connecting_ip", "x_forwarded_for", "forwarded", "x_real_ip"] {
                put(&mut m, k, &get(k));
            }
        }
        if !tags.is_empty() {
            m.insert("tags".into(), Value::Object(tags));
        }
    }
    if inp.flags.contains('b') {
        m.insert("disable_bot_filter".into(), Value::Bool(true));
    }
    if kind == Kind::Event {
        m.insert("event_name".into(), Value::String(event_name));
        m.insert("event_duration".into(), 7.into());
        if let Some(Value::Object(t)) = m.get("tags").cloned() {
            m.insert("event_meta".into(), Value::Object(t));
        }
        if inp.flags.contains('i') {
            m.insert("non_interactive".into(), Value::Bool(true));
        }
    }
    Expected::Sent(m)
}

fuzz_target!(|data: &[u8]| {
    let inp = read_input(data);
    // The client's settings: a list that does not parse is simply not set (config/mod.rs has
    // its own target).
    let mut config = Config::default();
    let _ = config.set("trusted_proxies", &inp.trusted_text);
    let _ = config.set("client_ip_header", &inp.which_text);
    config.forward_proxy_headers = inp.flags.contains('f');
    let trusted = config.trusted_proxies.clone();
    let which = config.client_ip_header;
    let kind = if inp.flags.contains('s') {
        Kind::Session
    } else if inp.flags.contains('e') {
        Kind::Event
    } else {
        Kind::Hit
    };

    // The C call, with C strings as a server module would pass them.
    let cs = |b: &[u8]| CString::new(b).unwrap();
    let url_c = inp.url.map(cs);
    let peer_c = inp.peer.map(cs);
    let title_c = cs(inp.title);
    let tag_c: Vec<(CString, CString)> = inp.tags.iter().map(|(k, v)| (cs(k), cs(v))).collect();
    let tag_kv: Vec<pirsch_kv> =
        tag_c.iter().map(|(k, v)| pirsch_kv { key: k.as_ptr(), value: v.as_ptr() }).collect();
    let hdr_c: Vec<(CString, CString)> =
        inp.headers.iter().map(|(k, v)| (cs(k), cs(v))).collect();
    let hdr_kv: Vec<pirsch_kv> =
        hdr_c.iter().map(|(k, v)| pirsch_kv { key: k.as_ptr(), value: v.as_ptr() }).collect();
    let mut o: pirsch_hit_options = unsafe { std::mem::zeroed() };
    o.struct_size = std::mem::size_of::<pirsch_hit_options>();
    o.title = title_c.as_ptr();
    o.screen_width = inp.screen.0;
    o.screen_height = inp.screen.1;
    o.disable_bot_filter = inp.flags.contains('b');
    o.tags = if tag_kv.is_empty() { std::ptr::null() } else { tag_kv.as_ptr() };
    o.tags_len = tag_kv.len();
    let ptr = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    let rc = unsafe {
        ffi::pirsch_hit_options_from_headers(
            &mut o,
            ptr(&url_c),
            ptr(&peer_c),
            if hdr_kv.is_empty() { std::ptr::null() } else { hdr_kv.as_ptr() },
            hdr_kv.len(),
        )
    };
    let url_utf8 = inp.url.map(|u| std::str::from_utf8(u).is_ok());
    let want_rc = match url_utf8 {
        None => ffi::PIRSCH_ERR_NULL_ARGUMENT,
        Some(false) => ffi::PIRSCH_ERR_INVALID_UTF8,
        Some(true) => ffi::PIRSCH_OK,
    };
    assert_eq!(rc, want_rc, "pirsch_hit_options_from_headers");
    if rc != ffi::PIRSCH_OK {
        // "On failure *out is unchanged."
        assert!(o.url.is_null() && o.ip.is_null() && o.user_agent.is_null());
        assert_eq!(o.title, title_c.as_ptr());
        let e = unsafe { std::ffi::CStr::from_ptr(ffi::pirsch_last_error()) };
        assert!(!e.to_bytes().is_empty(), "a failure without a message");
        return;
    }
    assert_eq!(o.url, ptr(&url_c), "url points at the caller's string");
    assert_eq!(o.ip, ptr(&peer_c), "ip points at the caller's peer");
    assert_eq!(o.title, title_c.as_ptr(), "title left as it was");

    // As the send functions read, check and write it.
    let mut ev: pirsch_event_options = unsafe { std::mem::zeroed() };
    ev.struct_size = std::mem::size_of::<pirsch_event_options>();
    ev.name = title_c.as_ptr();
    ev.duration_seconds = 7;
    ev.meta = o.tags;
    ev.meta_len = o.tags_len;
    ev.non_interactive = inp.flags.contains('i');
    let written: Result<Vec<u8>, inside::Error> = (|| {
        let event = if kind == Kind::Event { Some(unsafe { inside::event_from_c(&ev)? }) } else { None };
        let hit = unsafe { inside::hit_from_c(&o)? };
        inside::prepared_json(&config, kind, &hit, event.as_ref())
    })();
    let expected = model(&inp, kind, &trusted, which);
    match (written, expected) {
        (Err(e), Expected::Refused { utf8, why }) => {
            let code = inside::code_of(e.kind);
            assert!(
                code == ffi::PIRSCH_ERR_INVALID_ARGUMENT
                    || (utf8 && code == ffi::PIRSCH_ERR_INVALID_UTF8),
                "refused ({why}) with code {code}: {}",
                e.message
            );
            assert!(!e.message.is_empty());
        }
        (Err(e), Expected::Sent(m)) => {
            panic!("refused ({}) what the model sends: {m:?}", e.message)
        }
        (Ok(json), Expected::Refused { why, .. }) => panic!(
            "sent what the model refuses ({why}): {}",
            String::from_utf8_lossy(&json)
        ),
        (Ok(json), Expected::Sent(want)) => {
            let got: Value = serde_json::from_slice(&json).unwrap_or_else(|e| {
                panic!("not JSON ({e}): {}", String::from_utf8_lossy(&json))
            });
            let Value::Object(mut got) = got else { panic!("not an object") };
            // The address may be spelled as the peer gave it (e.g. upper-case IPv6): compare
            // addresses, and require a bare address.
            let ip_text = got.remove("ip").and_then(|v| v.as_str().map(str::to_string));
            let ip_text = ip_text.expect("no ip in the JSON");
            let ip: IpAddr = ip_text
                .parse()
                .unwrap_or_else(|_| panic!("ip {ip_text:?} is not a bare address"));
            let mut want = want;
            let want_ip = want.remove("ip").unwrap();
            assert_eq!(canonical(ip), ip, "an IPv4-mapped address is sent as IPv4");
            assert_eq!(ip.to_string(), want_ip.as_str().unwrap(), "ip");
            for (k, v) in &want {
                assert_eq!(got.get(k), Some(v), "field {k}");
            }
            for k in got.keys() {
                assert!(want.contains_key(k), "unexpected field {k}: {:?}", got[k]);
            }
        }
    }
});
