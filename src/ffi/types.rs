//! The `#[repr(C)]` structs of the C interface, and the opaque handles. Only layout and
//! documentation here: reading and writing them is `convert`'s job.
#![allow(non_camel_case_types)]

use crate::client::Client;
use crate::config::Config;
use std::ffi::c_char;

/// A key and a value, both NUL-terminated UTF-8 strings owned by the caller.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct pirsch_kv {
    pub key: *const c_char,
    pub value: *const c_char,
}

/// A page view: the visitor's request as the server saw it. All strings are NUL-terminated,
/// owned by the caller and only read during the call; NULL or "" means "not sent".
/// Zero-initialise it and set `struct_size = sizeof(pirsch_hit_options)`, so that a program
/// built against this header keeps working with later versions of the library.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct pirsch_hit_options {
    /// sizeof(pirsch_hit_options); 0 is refused.
    pub struct_size: usize,
    /// Required (not for sessions): the full URL, e.g. "https://example.com/path?q=1".
    pub url: *const c_char,
    /// Required: the address of the peer that connected to your server. With
    /// `trusted_proxies` set and this peer inside them, the visitor's address is taken
    /// from the one proxy field named by `client_ip_header` (x-forwarded-for by default)
    /// instead; the other three are never read for the address.
    pub ip: *const c_char,
    pub user_agent: *const c_char,
    pub accept_language: *const c_char,
    pub sec_ch_ua: *const c_char,
    pub sec_ch_ua_mobile: *const c_char,
    pub sec_ch_ua_platform: *const c_char,
    pub sec_ch_ua_platform_version: *const c_char,
    pub sec_ch_width: *const c_char,
    pub sec_ch_viewport_width: *const c_char,
    pub title: *const c_char,
    pub referrer: *const c_char,
    /// Proxy headers as received (CF-Connecting-IP, X-Forwarded-For, Forwarded, X-Real-IP).
    /// Only the one named by `client_ip_header` is read, and only when `ip` is a trusted
    /// proxy; sent on only with `forward_proxy_headers`.
    pub cf_connecting_ip: *const c_char,
    pub x_forwarded_for: *const c_char,
    pub forwarded: *const c_char,
    pub x_real_ip: *const c_char,
    /// Screen size in pixels; 0 = not sent.
    pub screen_width: i32,
    pub screen_height: i32,
    pub disable_bot_filter: bool,
    /// Up to 20 tags (keys and values up to 50 characters, keys unique and non-empty).
    pub tags: *const pirsch_kv,
    pub tags_len: usize,
    /// When it happened, for importing logs: RFC 3339 ("2026-11-30T10:00:00Z", any offset,
    /// optional fraction) or Unix epoch milliseconds as digits ("1764496800000"). NULL or ""
    /// = now. Refused (PIRSCH_ERR_INVALID_ARGUMENT) more than 60 s in the future or older
    /// than `max_item_age_ms` (1 hour by default; raise it, up to 30 days, to import older
    /// logs). Queued items keep it; a blocking call with a time goes to the batch endpoint.
    pub time: *const c_char,
}

/// What makes a page view an event. Strings as in `pirsch_hit_options`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct pirsch_event_options {
    /// sizeof(pirsch_event_options); 0 is refused.
    pub struct_size: usize,
    /// Required: the event's name, e.g. "signup".
    pub name: *const c_char,
    /// How long the event lasted, in seconds; 0 = not sent.
    pub duration_seconds: u32,
    /// Up to 20 metadata entries (same limits as tags).
    pub meta: *const pirsch_kv,
    pub meta_len: usize,
    pub non_interactive: bool,
}

/// Counters of the background queue (`pirsch_*_enqueue`) of one client in this process.
/// Declare it as `struct pirsch_stats` (the function pirsch_stats has the plain name).
/// At every moment: enqueued == sent + dropped_queue_full + dropped_rejected +
/// dropped_expired + dropped_shutdown + spooled + queue_depth + in_flight. Blocking calls
/// are not counted here. After fork() a child's counters start from zero.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct pirsch_stats {
    /// sizeof(struct pirsch_stats), set by the caller; 0 is refused.
    pub struct_size: usize,
    /// Items handed to an enqueue function that passed validation (queue-full ones included).
    pub enqueued: u64,
    /// Items the API accepted (a 2xx for the request that carried them).
    pub sent: u64,
    /// Batch requests made, retries included.
    pub batches: u64,
    /// Batch requests that were tried again (network errors, 408, 429, 5xx, 401).
    pub retries: u64,
    /// Refused by enqueue because the queue was full.
    pub dropped_queue_full: u64,
    /// Refused by the API (4xx), after splitting batches down to the refused items.
    pub dropped_rejected: u64,
    /// Not delivered within max_item_age_ms.
    pub dropped_expired: u64,
    /// Still queued when pirsch_free's shutdown_timeout_ms ran out.
    pub dropped_shutdown: u64,
    /// Waiting in the queue now.
    pub queue_depth: u64,
    /// In the batch being sent now.
    pub in_flight: u64,
    /// Access tokens obtained by this process.
    pub token_refreshes: u64,
    /// How many fork()s this client has been carried through into this process.
    pub forks_detected: u64,
    /// Written to the spool (`spool_dir`) instead of being dropped: at pirsch_free, or when
    /// the queue was full. Part of the invariant above (added to its right side).
    pub spooled: u64,
    /// Items of spool files (of this process or another) that this process delivered.
    pub unspooled: u64,
    /// Items of spool files that the API refused or that were older than max_item_age_ms.
    pub spool_dropped: u64,
    /// Spool problems: a write that failed (full disk, read-only directory), a full spool
    /// (spool_max_bytes), a damaged, foreign or newer-format file. Each kind is logged once.
    pub spool_errors: u64,
}

/// A configuration under construction. Not thread-safe: one thread at a time.
pub struct pirsch_config {
    pub(crate) inner: Config,
}

/// A client. Thread-safe: share one per process among all threads.
pub struct pirsch_client {
    pub(crate) inner: Client,
}
