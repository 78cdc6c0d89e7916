//! pirsch_hit_options_from_headers: a thin wrapper that points a pirsch_hit_options at the
//! caller's own strings (the header matching itself is `item::headers`).

use super::boundary::fallible;
use super::convert::{null, read_versioned, utf8, write_versioned};
use super::result::pirsch_result;
use super::types::{pirsch_hit_options, pirsch_kv};
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
#[no_mangle]
pub unsafe extern "C" fn pirsch_hit_options_from_headers(
    out: *mut pirsch_hit_options,
    url: *const c_char,
    peer_ip: *const c_char,
    headers: *const pirsch_kv,
    headers_len: usize,
) -> pirsch_result {
    use crate::item::headers::{referrer_from_url, HeaderField as H};
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
        // The first value of each single-valued header, by HeaderField.
        let mut single: [*const c_char; H::COUNT] = [ptr::null(); H::COUNT];
        let (mut xff, mut fwd): (Vec<&[u8]>, Vec<&[u8]>) = (Vec::new(), Vec::new());
        let (mut xff_first, mut fwd_first) = (ptr::null(), ptr::null());
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
                H::XForwardedFor => {
                    if xff.is_empty() {
                        xff_first = kv.value;
                    }
                    xff.push(CStr::from_ptr(kv.value).to_bytes());
                }
                H::Forwarded => {
                    if fwd.is_empty() {
                        fwd_first = kv.value;
                    }
                    fwd.push(CStr::from_ptr(kv.value).to_bytes());
                }
                _ => {
                    let slot = &mut single[field as usize];
                    if slot.is_null() {
                        *slot = kv.value;
                    }
                }
            }
        }
        let get = |f: H| single[f as usize];
        let referer = get(H::Referer);
        let has_referer = !referer.is_null() && *referer != 0;
        // Build what has to be built, then take pointers (the buffer does not move after).
        let (xff_ptr, fwd_ptr, ref_ptr) = HEADER_SCRATCH.with(|scratch| {
            let mut buf = scratch.borrow_mut();
            buf.clear();
            let push_joined = |parts: &[&[u8]], buf: &mut Vec<u8>| -> usize {
                let at = buf.len();
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        buf.extend_from_slice(b", ");
                    }
                    buf.extend_from_slice(p);
                }
                buf.push(0);
                at
            };
            let xff_at = (xff.len() > 1).then(|| push_joined(&xff, &mut buf));
            let fwd_at = (fwd.len() > 1).then(|| push_joined(&fwd, &mut buf));
            let ref_at = if has_referer {
                None
            } else {
                referrer_from_url(url_str).map(|r| {
                    let at = buf.len();
                    buf.extend(r.bytes().filter(|b| *b != 0));
                    buf.push(0);
                    at
                })
            };
            let base = buf.as_ptr() as *const c_char;
            let at = |o: Option<usize>| o.map(|o| base.add(o));
            (
                at(xff_at).unwrap_or(xff_first),
                at(fwd_at).unwrap_or(fwd_first),
                at(ref_at),
            )
        });
        o.url = url;
        o.ip = peer_ip;
        o.user_agent = get(H::UserAgent);
        o.accept_language = get(H::AcceptLanguage);
        o.sec_ch_ua = get(H::SecChUa);
        o.sec_ch_ua_mobile = get(H::SecChUaMobile);
        o.sec_ch_ua_platform = get(H::SecChUaPlatform);
        o.sec_ch_ua_platform_version = get(H::SecChUaPlatformVersion);
        o.sec_ch_width = get(H::SecChWidth);
        o.sec_ch_viewport_width = get(H::SecChViewportWidth);
        o.referrer = if has_referer {
            referer
        } else {
            ref_ptr.unwrap_or(ptr::null())
        };
        o.cf_connecting_ip = get(H::CfConnectingIp);
        o.x_forwarded_for = xff_ptr;
        o.forwarded = fwd_ptr;
        o.x_real_ip = get(H::XRealIp);
        write_versioned(out, &o);
        Ok(())
    })
}
