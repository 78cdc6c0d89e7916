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
    /// The key.
    pub key: *const c_char,
    /// The value.
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
    /// The User-Agent header.
    pub user_agent: *const c_char,
    /// The Accept-Language header.
    pub accept_language: *const c_char,
    /// The Sec-CH-UA client hint.
    pub sec_ch_ua: *const c_char,
    /// The Sec-CH-UA-Mobile client hint.
    pub sec_ch_ua_mobile: *const c_char,
    /// The Sec-CH-UA-Platform client hint.
    pub sec_ch_ua_platform: *const c_char,
    /// The Sec-CH-UA-Platform-Version client hint.
    pub sec_ch_ua_platform_version: *const c_char,
    /// The Sec-CH-Width client hint.
    pub sec_ch_width: *const c_char,
    /// The Sec-CH-Viewport-Width client hint.
    pub sec_ch_viewport_width: *const c_char,
    /// The page's title.
    pub title: *const c_char,
    /// The Referer header (or a referrer you determined).
    pub referrer: *const c_char,
    /// Proxy headers as received (CF-Connecting-IP, X-Forwarded-For, Forwarded, X-Real-IP).
    /// Only the one named by `client_ip_header` is read, and only when `ip` is a trusted
    /// proxy; sent on only with `forward_proxy_headers`.
    pub cf_connecting_ip: *const c_char,
    /// The X-Forwarded-For header as received (see cf_connecting_ip).
    pub x_forwarded_for: *const c_char,
    /// The Forwarded header as received (see cf_connecting_ip).
    pub forwarded: *const c_char,
    /// The X-Real-IP header as received (see cf_connecting_ip).
    pub x_real_ip: *const c_char,
    /// Screen size in pixels; 0 = not sent.
    pub screen_width: i32,
    /// Screen height in pixels; 0 = not sent.
    pub screen_height: i32,
    /// Send the item even if the API would take it for a bot's.
    pub disable_bot_filter: bool,
    /// Up to 20 tags (keys and values up to 50 characters, keys unique and non-empty).
    pub tags: *const pirsch_kv,
    /// How many entries `tags` has.
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
    /// How many entries `meta` has.
    pub meta_len: usize,
    /// The event does not count as an interaction (for the bounce rate).
    pub non_interactive: bool,
}

/// Counters of the background queue (`pirsch_*_enqueue`) of one client in this process.
/// Declare it as `pirsch_queue_stats` (or `struct pirsch_stats`: the old function
/// pirsch_stats has the plain name, which C++ cannot use for the type).
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

/// The counters of pirsch_client_stats: `struct pirsch_stats` under a name that C++ can use.
pub type pirsch_queue_stats = pirsch_stats;

/// A list of strings: `items[0..len]`, each NUL-terminated UTF-8, owned by the caller and only
/// read during the call. `len` 0 = none (then `items` may be NULL).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct pirsch_strings {
    /// The strings (may be NULL when len is 0).
    pub items: *const *const c_char,
    /// How many strings.
    pub len: usize,
}

/// Which statistics pirsch_statistics asks for, and how they are filtered. Zero-initialise it
/// and set `struct_size = sizeof(pirsch_filter)`. A NULL or "" string, a 0 number and an
/// empty list are not sent. Each list value repeats its parameter (two paths: pages on
/// either); the names of the query parameters are those of the fields. All strings are
/// owned by the caller and only read during the call.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct pirsch_filter {
    /// sizeof(pirsch_filter); 0 is refused.
    pub struct_size: usize,
    /// Required: the domain's id (pirsch_domains lists them); sent as `id`.
    pub domain_id: *const c_char,
    /// First and last day, YYYY-MM-DD, both included; required except for
    /// PIRSCH_STATISTIC_ACTIVE_VISITORS. `to` must not be before `from`.
    pub from: *const c_char,
    /// Last day, YYYY-MM-DD (see from).
    pub to: *const c_char,
    /// IANA time zone of the days, e.g. "Europe/Berlin" (default: the dashboard's).
    pub tz: *const c_char,
    /// PIRSCH_STATISTIC_VISITORS: "day", "week", "month" or "year".
    pub scale: *const c_char,
    /// PIRSCH_STATISTIC_ACTIVE_VISITORS: how many seconds back count as active.
    pub start: u32,
    /// Paths, e.g. "/pricing".
    pub path: pirsch_strings,
    /// Paths matching a regular expression.
    pub pattern: pirsch_strings,
    /// Entry paths.
    pub entry_path: pirsch_strings,
    /// Exit paths.
    pub exit_path: pirsch_strings,
    /// Event names (required for EVENT_METADATA and EVENT_PAGES).
    pub event: pirsch_strings,
    /// Event metadata keys (required for EVENT_METADATA).
    pub event_meta_key: pirsch_strings,
    /// ISO 639-1 codes, e.g. "en".
    pub language: pirsch_strings,
    /// ISO 3166-1 alpha-2 codes, lower case, e.g. "de".
    pub country: pirsch_strings,
    /// Regions.
    pub region: pirsch_strings,
    /// Cities.
    pub city: pirsch_strings,
    /// Referrers (full URLs).
    pub referrer: pirsch_strings,
    /// Referrer names, e.g. "Google".
    pub referrer_name: pirsch_strings,
    /// Operating systems, e.g. "Windows".
    pub os: pirsch_strings,
    /// Browsers, e.g. "Firefox".
    pub browser: pirsch_strings,
    /// "XXL", "XL", "L", "M", "S", "XS".
    pub screen_class: pirsch_strings,
    /// UTM sources.
    pub utm_source: pirsch_strings,
    /// UTM media.
    pub utm_medium: pirsch_strings,
    /// UTM campaigns.
    pub utm_campaign: pirsch_strings,
    /// UTM contents.
    pub utm_content: pirsch_strings,
    /// UTM terms.
    pub utm_term: pirsch_strings,
    /// Tag keys (PIRSCH_STATISTIC_TAGS: the key whose values to list).
    pub tag: pirsch_strings,
    /// "desktop", "mobile" or "unknown".
    pub platform: *const c_char,
    /// Event metadata that must match, sent as `meta_<key>=<value>`.
    pub event_meta: *const pirsch_kv,
    /// How many entries `event_meta` has.
    pub event_meta_len: usize,
    /// Tags that must match, sent as `tag_<key>=<value>`.
    pub tags: *const pirsch_kv,
    /// How many entries `tags` has.
    pub tags_len: usize,
    /// The event metadata key whose values are summed as a custom metric.
    pub custom_metric_key: *const c_char,
    /// "integer" or "float".
    pub custom_metric_type: *const c_char,
    /// Pages: include the average time on page.
    pub include_avg_time_on_page: bool,
    /// Rows to skip and to return (0 = the API's default).
    pub offset: u32,
    /// See offset.
    pub limit: u32,
    /// The field to sort by, e.g. "visitors"; `direction` "asc" or "desc".
    pub sort: *const c_char,
    /// See sort.
    pub direction: *const c_char,
    /// Only rows whose main field contains this text.
    pub search: *const c_char,
    /// PIRSCH_STATISTIC_FUNNEL: the funnel (pirsch_funnels lists them).
    pub funnel_id: *const c_char,
}
