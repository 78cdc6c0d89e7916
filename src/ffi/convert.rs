//! Reading what C callers pass: versioned structs (only `struct_size` bytes), strings that
//! must be UTF-8 and header values that may not be, key/value pairs; and writing versioned
//! structs back.
//!
//! SAFETY, for every function here: the C contract (pirsch.h) is that each pointer is NULL
//! or valid for what it points to (a NUL-terminated string; a struct whose first field,
//! `struct_size`, says how many of its bytes the caller has; `len` array elements) for the
//! duration of the call. NULL is always checked before use; nothing is kept past the call
//! except by copying; lifetimes `'a` returned are those of the caller's memory.

use super::types::{pirsch_client, pirsch_event_options, pirsch_hit_options, pirsch_kv};
use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::item::{Event, Hit, MAX_TAGS};
use std::borrow::Cow;
use std::ffi::{c_char, CStr};

pub(super) fn null(what: &str) -> Error {
    Error::new(ErrorKind::NullArgument, format!("{what} is NULL"))
}

/// The object behind a non-NULL pointer.
pub(super) unsafe fn as_ref<'a, T>(p: *const T, what: &str) -> Result<&'a T> {
    p.as_ref().ok_or_else(|| null(what))
}

/// Copies a caller's versioned struct: only the first `struct_size` bytes are read (an older
/// caller's smaller struct leaves the newer fields zero); 0 is refused.
pub(super) unsafe fn read_versioned<T: Copy>(
    p: *const T,
    what: &str,
    type_name: &str,
) -> Result<T> {
    if p.is_null() {
        return Err(null(what));
    }
    let size = std::ptr::read_unaligned(p as *const usize);
    if size < std::mem::size_of::<usize>() {
        return Err(Error::invalid(format!(
            "{what}->struct_size is {size}; set it to sizeof({type_name}) (zero-initialise the struct first)"
        )));
    }
    let mut out = std::mem::MaybeUninit::<T>::zeroed();
    let n = covered(size, std::mem::size_of::<T>());
    std::ptr::copy_nonoverlapping(p as *const u8, out.as_mut_ptr() as *mut u8, n);
    Ok(out.assume_init())
}

/// Writes back a struct read with `read_versioned`: only the caller's `struct_size` bytes.
pub(super) unsafe fn write_versioned<T: Copy>(p: *mut T, value: &T) {
    let n = covered(
        std::ptr::read_unaligned(p as *const usize),
        std::mem::size_of::<T>(),
    );
    std::ptr::copy_nonoverlapping(value as *const T as *const u8, p as *mut u8, n);
}

/// How many bytes of a versioned struct to read or write: up to `struct_size`, but never part
/// of a pointer (a size that ends inside one stops before it).
fn covered(struct_size: usize, ours: usize) -> usize {
    if struct_size >= ours {
        ours
    } else {
        struct_size - struct_size % std::mem::align_of::<*const u8>()
    }
}

/// A string that must be UTF-8 (URLs, keys, config).
pub(super) unsafe fn utf8<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    crate::scan::utf8(CStr::from_ptr(p).to_bytes())
        .map(Some)
        .map_err(|e| {
            Error::new(
                ErrorKind::InvalidUtf8,
                format!(
                "{what} is not valid UTF-8 (bad byte at offset {}); percent-encode or convert it",
                e.valid_up_to()
            ),
            )
        })
}

/// A header value: converted lossily when it is not UTF-8.
pub(super) unsafe fn lossy<'a>(p: *const c_char) -> Option<Cow<'a, str>> {
    if p.is_null() {
        None
    } else {
        let b = CStr::from_ptr(p).to_bytes();
        // ASCII is checked sixteen bytes at a time; the lossy copy is only for bad bytes.
        Some(match crate::scan::utf8(b) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(b),
        })
    }
}

/// `len` key/value pairs (tags, metadata): keys must be UTF-8, values may not be.
unsafe fn pairs<'a>(
    p: *const pirsch_kv,
    len: usize,
    what: &str,
) -> Result<Vec<(Cow<'a, str>, Cow<'a, str>)>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(null(&format!("{what} (with {what}_len {len})")));
    }
    if len > MAX_TAGS {
        return Err(Error::invalid(format!(
            "{what} has {len} entries; the API takes at most {MAX_TAGS}"
        )));
    }
    let mut out = Vec::with_capacity(len);
    for (i, kv) in std::slice::from_raw_parts(p, len).iter().enumerate() {
        let key = utf8(kv.key, &format!("{what}[{i}].key"))?
            .ok_or_else(|| null(&format!("{what}[{i}].key")))?;
        let value = lossy(kv.value).ok_or_else(|| null(&format!("{what}[{i}].value")))?;
        out.push((Cow::Borrowed(key), value));
    }
    Ok(out)
}

/// Reads a caller's page view as the send functions do (also used by the fuzz targets).
#[inline]
pub(crate) unsafe fn hit_from_c<'a>(p: *const pirsch_hit_options) -> Result<Hit<'a>> {
    let o: pirsch_hit_options = read_versioned(p, "hit", "pirsch_hit_options")?;
    Ok(Hit {
        url: utf8(o.url, "hit->url")?.map(Cow::Borrowed),
        ip: utf8(o.ip, "hit->ip")?.map(Cow::Borrowed),
        user_agent: lossy(o.user_agent),
        accept_language: lossy(o.accept_language),
        sec_ch_ua: lossy(o.sec_ch_ua),
        sec_ch_ua_mobile: lossy(o.sec_ch_ua_mobile),
        sec_ch_ua_platform: lossy(o.sec_ch_ua_platform),
        sec_ch_ua_platform_version: lossy(o.sec_ch_ua_platform_version),
        sec_ch_width: lossy(o.sec_ch_width),
        sec_ch_viewport_width: lossy(o.sec_ch_viewport_width),
        title: lossy(o.title),
        referrer: lossy(o.referrer),
        cf_connecting_ip: lossy(o.cf_connecting_ip),
        x_forwarded_for: lossy(o.x_forwarded_for),
        forwarded: lossy(o.forwarded),
        x_real_ip: lossy(o.x_real_ip),
        screen_width: o.screen_width,
        screen_height: o.screen_height,
        disable_bot_filter: o.disable_bot_filter,
        tags: pairs(o.tags, o.tags_len, "tags")?,
        time: utf8(o.time, "hit->time")?.map(Cow::Borrowed),
    })
}

/// Reads a caller's event as the send functions do (also used by the fuzz targets).
#[inline]
pub(crate) unsafe fn event_from_c<'a>(p: *const pirsch_event_options) -> Result<Event<'a>> {
    let o: pirsch_event_options = read_versioned(p, "event", "pirsch_event_options")?;
    Ok(Event {
        name: lossy(o.name),
        duration_seconds: o.duration_seconds,
        meta: pairs(o.meta, o.meta_len, "meta")?,
        non_interactive: o.non_interactive,
    })
}

pub(super) unsafe fn client_ref<'a>(c: *const pirsch_client) -> Result<&'a Client> {
    Ok(&as_ref(c, "client")?.inner)
}
