//! The JSON the API takes for one item, written straight into a byte buffer (the blocking
//! path's request body, or the queue's open batch).

use super::{present, Event, Hit, Kind};
use std::borrow::Cow;

/// Appends `s` as a JSON string: runs that need no escaping are copied whole.
pub(crate) fn write_json_string(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let mut start = 0;
    loop {
        let i = crate::scan::json_escape(b, start);
        out.extend_from_slice(&b[start..i]);
        let Some(&c) = b.get(i) else { break };
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(c >> 4) as usize],
                    HEX[(c & 15) as usize],
                ]);
            }
        }
        start = i + 1;
    }
    out.push(b'"');
}

/// Writes JSON objects field by field.
struct ObjectWriter<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> ObjectWriter<'o> {
    fn new(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        ObjectWriter { out, first: true }
    }

    #[inline]
    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    #[inline]
    fn string(&mut self, k: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.key(k);
            write_json_string(self.out, v);
        }
    }

    fn int(&mut self, k: &str, v: i64) {
        if v != 0 {
            self.key(k);
            self.out.extend_from_slice(v.to_string().as_bytes());
        }
    }

    #[inline]
    fn flag(&mut self, k: &str, v: bool) {
        if v {
            self.key(k);
            self.out.extend_from_slice(b"true");
        }
    }

    fn map(&mut self, k: &str, pairs: &[(Cow<'_, str>, Cow<'_, str>)]) {
        if pairs.is_empty() {
            return;
        }
        self.key(k);
        self.out.push(b'{');
        for (i, (pk, pv)) in pairs.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            write_json_string(self.out, pk);
            self.out.push(b':');
            write_json_string(self.out, pv);
        }
        self.out.push(b'}');
    }

    fn finish(self) {
        self.out.push(b'}');
    }
}

/// Options that shape the JSON but are not part of the item.
#[derive(Clone, Copy, Default)]
pub(crate) struct BodyOptions<'t> {
    pub forward_proxy_headers: bool,
    /// `time` of a batch item (RFC 3339).
    pub time: Option<&'t str>,
    /// The resolved client address, sent instead of `hit.ip`.
    pub ip: Option<&'t str>,
    /// The normalised URL, sent instead of `hit.url` (see `check_url`).
    pub url: Option<&'t str>,
}

/// Appends the JSON object of one item to `out`. Only `Prepared::write_json` calls it (for
/// validated items); the unit tests too.
pub(crate) fn write_item(
    out: &mut Vec<u8>,
    kind: Kind,
    hit: &Hit<'_>,
    event: Option<&Event<'_>>,
    opts: BodyOptions<'_>,
) {
    let mut w = ObjectWriter::new(out);
    if kind != Kind::Session {
        w.string("url", opts.url.or(present(&hit.url)));
    }
    w.string("ip", opts.ip.or(present(&hit.ip)));
    w.string("user_agent", present(&hit.user_agent));
    if kind != Kind::Session {
        w.string("accept_language", present(&hit.accept_language));
    }
    w.string("sec_ch_ua", present(&hit.sec_ch_ua));
    w.string("sec_ch_ua_mobile", present(&hit.sec_ch_ua_mobile));
    w.string("sec_ch_ua_platform", present(&hit.sec_ch_ua_platform));
    w.string(
        "sec_ch_ua_platform_version",
        present(&hit.sec_ch_ua_platform_version),
    );
    w.string("sec_ch_width", present(&hit.sec_ch_width));
    w.string("sec_ch_viewport_width", present(&hit.sec_ch_viewport_width));
    if kind != Kind::Session {
        w.string("title", present(&hit.title));
        w.string("referrer", present(&hit.referrer));
        w.int("screen_width", hit.screen_width as i64);
        w.int("screen_height", hit.screen_height as i64);
        if opts.forward_proxy_headers {
            w.string("cf_connecting_ip", present(&hit.cf_connecting_ip));
            w.string("x_forwarded_for", present(&hit.x_forwarded_for));
            w.string("forwarded", present(&hit.forwarded));
            w.string("x_real_ip", present(&hit.x_real_ip));
        }
        w.map("tags", &hit.tags);
    }
    w.flag("disable_bot_filter", hit.disable_bot_filter);
    if let (Kind::Event, Some(ev)) = (kind, event) {
        w.string("event_name", present(&ev.name));
        w.int("event_duration", ev.duration_seconds as i64);
        w.map("event_meta", &ev.meta);
        w.flag("non_interactive", ev.non_interactive);
    }
    w.string("time", opts.time);
    w.finish();
}
