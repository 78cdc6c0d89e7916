//! pirsch_hit_options_from_headers: a thin wrapper that points a pirsch_hit_options at the
//! caller's own strings (the header matching itself is `item::headers`).

use super::boundary::fallible;
use super::convert::{null, read_versioned, utf8, write_versioned};
use super::result::pirsch_result;
use super::types::{pirsch_hit_options, pirsch_kv};
use crate::item::headers::{referrer_from_url, HeaderField as H};
use std::cell::RefCell;
use std::ffi::{c_char, CStr};
use std::ptr;

thread_local! {
    /// Strings pirsch_hit_options_from_headers had to build (joined lists, a decoded
    /// referrer); valid until this thread's next call of it. Reused, so it rarely allocates.
    static HEADER_SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Fills `*out` from a request as a server sees it, without copying: the URL, the address of
/// the peer that connected (`peer_ip`), and the raw request headers (`headers[0..headers_len]`,
/// names matched case-insensitively). Sets `url`, `ip`, `user_agent`, `accept_language`,
/// the six `sec_ch_*` fields, `referrer` and the four proxy fields (NULL when a header is
/// absent); leaves `struct_size`, `title`, the screen size, `disable_bot_filter` and `tags`
/// as they were, and reads/writes only the first `out->struct_size` bytes (set it first).
/// Repeated X-Forwarded-For and Forwarded lines are joined in order; without a Referer the
/// referrer is taken from the URL's `ref`, `referer`, `referrer`, `source` or `utm_source`
/// query parameter. Cookies and all other headers are ignored.
/// Ownership: the strings point into the caller's memory (`url`, `peer_ip`, the header
/// values), which must outlive the use of `*out`; a joined list or a decoded referrer lives
/// in a per-thread buffer of the library that stays valid until this thread's next call of
/// this function. No client is needed; does not block. Returns PIRSCH_OK,
/// PIRSCH_ERR_NULL_ARGUMENT (out, url, or a header's name or value is NULL),
/// PIRSCH_ERR_INVALID_ARGUMENT (struct_size 0) or PIRSCH_ERR_INVALID_UTF8 (url); on failure
/// `*out` is unchanged.
///
/// @param out The page view to fill (struct_size set).
/// @param url The request's full URL.
/// @param peer_ip The address of the peer that connected.
/// @param headers The request headers, or NULL when headers_len is 0.
/// @param headers_len How many headers.
/// @return PIRSCH_OK, PIRSCH_ERR_NULL_ARGUMENT, _INVALID_ARGUMENT or _INVALID_UTF8.
#[no_mangle]
pub unsafe extern "C" fn pirsch_hit_options_from_headers(
    out: *mut pirsch_hit_options,
    url: *const c_char,
    peer_ip: *const c_char,
    headers: *const pirsch_kv,
    headers_len: usize,
) -> pirsch_result {
    fallible(|| {
        let mut o: pirsch_hit_options = read_versioned(out, "out", "pirsch_hit_options")?;
        let url_str = utf8(url, "url")?.ok_or_else(|| null("url"))?;
        if headers_len > 0 && headers.is_null() {
            return Err(null(&format!("headers (with headers_len {headers_len})")));
        }
        let list: &[pirsch_kv] = if headers_len == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(headers, headers_len)
        };
        let found = Found::collect(list)?;
        let built = found.build(url_str);
        o.url = url;
        o.ip = peer_ip;
        o.user_agent = found.get(H::UserAgent);
        o.accept_language = found.get(H::AcceptLanguage);
        o.sec_ch_ua = found.get(H::SecChUa);
        o.sec_ch_ua_mobile = found.get(H::SecChUaMobile);
        o.sec_ch_ua_platform = found.get(H::SecChUaPlatform);
        o.sec_ch_ua_platform_version = found.get(H::SecChUaPlatformVersion);
        o.sec_ch_width = found.get(H::SecChWidth);
        o.sec_ch_viewport_width = found.get(H::SecChViewportWidth);
        o.referrer = built.referrer;
        o.cf_connecting_ip = found.get(H::CfConnectingIp);
        o.x_forwarded_for = built.x_forwarded_for;
        o.forwarded = built.forwarded;
        o.x_real_ip = found.get(H::XRealIp);
        write_versioned(out, &o);
        Ok(())
    })
}

/// The headers of a request that a page view uses, pointing into the caller's memory.
struct Found<'a> {
    /// The first value of each single-valued header, by HeaderField.
    single: [*const c_char; H::COUNT],
    /// Every X-Forwarded-For and Forwarded line, in order.
    xff: Vec<&'a [u8]>,
    fwd: Vec<&'a [u8]>,
}

/// What had to be built (or NULL / the caller's own string when nothing had to be).
struct Built {
    x_forwarded_for: *const c_char,
    forwarded: *const c_char,
    referrer: *const c_char,
}

impl<'a> Found<'a> {
    /// Picks the headers that matter from `list` (names matched case-insensitively).
    ///
    /// SAFETY: each key and value is NULL (refused) or a NUL-terminated string that lives
    /// for `'a` (the C contract of pirsch_hit_options_from_headers).
    unsafe fn collect(list: &'a [pirsch_kv]) -> crate::error::Result<Found<'a>> {
        let mut found = Found {
            single: [ptr::null(); H::COUNT],
            xff: Vec::new(),
            fwd: Vec::new(),
        };
        for (i, kv) in list.iter().enumerate() {
            if kv.key.is_null() {
                return Err(null(&format!("headers[{i}].key")));
            }
            if kv.value.is_null() {
                return Err(null(&format!("headers[{i}].value")));
            }
            // Most names are ruled out within a byte or two, without measuring them.
            let Some(field) = H::from_c_name(kv.key) else {
                continue;
            };
            match field {
                H::XForwardedFor => found.xff.push(CStr::from_ptr(kv.value).to_bytes()),
                H::Forwarded => found.fwd.push(CStr::from_ptr(kv.value).to_bytes()),
                _ => {
                    let slot = &mut found.single[field as usize];
                    if slot.is_null() {
                        *slot = kv.value;
                    }
                }
            }
        }
        Ok(found)
    }

    fn get(&self, field: H) -> *const c_char {
        self.single[field as usize]
    }

    /// Joins repeated list headers and finds a referrer in the URL when there is no
    /// Referer, in this thread's scratch buffer (which does not move until the next call).
    fn build(&self, url: &str) -> Built {
        let referer = self.get(H::Referer);
        // SAFETY: a non-NULL value is a NUL-terminated string (collect's contract).
        let has_referer = !referer.is_null() && unsafe { *referer } != 0;
        // A single line is the caller's own string (its pointer as given).
        let first = |lines: &[&[u8]]| {
            lines
                .first()
                .map_or(ptr::null(), |l| l.as_ptr() as *const c_char)
        };
        HEADER_SCRATCH.with(|scratch| {
            let mut buf = scratch.borrow_mut();
            buf.clear();
            let xff_at = (self.xff.len() > 1).then(|| push_joined(&self.xff, &mut buf));
            let fwd_at = (self.fwd.len() > 1).then(|| push_joined(&self.fwd, &mut buf));
            let ref_at = if has_referer {
                None
            } else {
                referrer_from_url(url).map(|r| {
                    let at = buf.len();
                    buf.extend(r.bytes().filter(|b| *b != 0));
                    buf.push(0);
                    at
                })
            };
            // Pointers are taken only now: the buffer does not move after the last push.
            let base = buf.as_ptr() as *const c_char;
            // SAFETY: each offset is inside `buf`, at the start of a NUL-terminated string.
            let at = |o: Option<usize>| o.map(|o| unsafe { base.add(o) });
            Built {
                x_forwarded_for: at(xff_at).unwrap_or_else(|| first(&self.xff)),
                forwarded: at(fwd_at).unwrap_or_else(|| first(&self.fwd)),
                referrer: if has_referer {
                    referer
                } else {
                    at(ref_at).unwrap_or(ptr::null())
                },
            }
        })
    }
}

/// Appends `parts` joined by ", " and a NUL; returns where the string starts.
fn push_joined(parts: &[&[u8]], buf: &mut Vec<u8>) -> usize {
    let at = buf.len();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            buf.extend_from_slice(b", ");
        }
        buf.extend_from_slice(p);
    }
    buf.push(0);
    at
}
