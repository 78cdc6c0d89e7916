//! The C boundary: converts and checks arguments, catches panics, records the last error,
//! and delegates to the Rust core. Nothing here knows HTTP or JSON.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

use crate::client::Client;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::payload::{Event, Hit, Kind, MAX_TAGS};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;

/// A result code: 0 (`PIRSCH_OK`) or one of the `PIRSCH_ERR_*` values. Values are
/// append-only and never reused.
pub type pirsch_result = i32;

/// Success.
pub const PIRSCH_OK: pirsch_result = 0;
/// A required pointer was NULL.
pub const PIRSCH_ERR_NULL_ARGUMENT: pirsch_result = 1;
/// A missing or invalid field, an unknown config key, or a bad config value.
pub const PIRSCH_ERR_INVALID_ARGUMENT: pirsch_result = 2;
/// A string that must be UTF-8 (a URL, a key) was not.
pub const PIRSCH_ERR_INVALID_UTF8: pirsch_result = 3;
/// The credentials were refused, or no token could be obtained with them.
pub const PIRSCH_ERR_AUTH: pirsch_result = 4;
/// The API answered with a non-2xx status that retries did not overcome.
pub const PIRSCH_ERR_HTTP: pirsch_result = 5;
/// Connect, TLS, DNS or connection reset.
pub const PIRSCH_ERR_NETWORK: pirsch_result = 6;
/// A request or flush deadline passed.
pub const PIRSCH_ERR_TIMEOUT: pirsch_result = 7;
/// Enqueue refused: the bounded queue is full.
pub const PIRSCH_ERR_QUEUE_FULL: pirsch_result = 8;
/// The client is shutting down.
pub const PIRSCH_ERR_CLOSED: pirsch_result = 9;
/// An internal bug was caught at the boundary; the host process keeps running.
pub const PIRSCH_ERR_PANIC: pirsch_result = 99;

/// Log levels passed to the logger callback.
pub const PIRSCH_LOG_ERROR: c_int = 1;
pub const PIRSCH_LOG_WARN: c_int = 2;
pub const PIRSCH_LOG_INFO: c_int = 3;
pub const PIRSCH_LOG_DEBUG: c_int = 4;

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
/// dropped_expired + dropped_shutdown + queue_depth + in_flight. Blocking calls are not
/// counted here. After fork() a child's counters start from zero.
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
}

/// A configuration under construction. Not thread-safe: one thread at a time.
pub struct pirsch_config {
    inner: Config,
}

/// A client. Thread-safe: share one per process among all threads.
pub struct pirsch_client {
    inner: Client,
}

// ---------------------------------------------------------------------------------------
// The boundary rules, written once.

thread_local! {
    /// The thread's last error message, NUL-terminated (empty: no error). Reused, so that
    /// an error on a hot path (a full queue) does not allocate.
    static LAST_ERROR: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static IN_LIBRARY: Cell<bool> = const { Cell::new(false) };
    /// Strings pirsch_hit_options_from_headers had to build (joined lists, a decoded
    /// referrer); valid until this thread's next call of it. Reused, so it rarely allocates.
    static HEADER_SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Stores the message pirsch_last_error returns: without secrets, cut to
/// MAX_MESSAGE_BYTES, and in a buffer that never keeps more than a few KB of capacity
/// (a huge message once must not cost every thread that memory for good). A fixed text of
/// the library's own holds no secret and is short: it is stored as it is (the queue-full
/// refusal is one, on the hot path of an outage).
fn set_last_error(message: &Cow<'static, str>) {
    let message = match message {
        Cow::Borrowed(fixed) => Cow::Borrowed(*fixed),
        Cow::Owned(built) => crate::error::presentable(built),
    };
    LAST_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        e.clear();
        if e.capacity() > 2 * crate::error::MAX_MESSAGE_BYTES {
            e.shrink_to(crate::error::MAX_MESSAGE_BYTES + 1);
        }
        e.extend(message.bytes().map(|b| if b == 0 { b' ' } else { b }));
        e.push(0);
    });
}

fn clear_last_error() {
    LAST_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        if e.len() > 1 {
            e.clear();
            e.push(0);
        }
    });
}

/// Marks a thread of the library's own (the sender): a panic there is caught and must not
/// print either.
pub(crate) fn mark_library_thread() {
    install_panic_hook();
    IN_LIBRARY.with(|f| f.set(true));
}

/// Panics inside the library must not print (a library prints only when asked to) and must
/// not unwind into C. The hook keeps the default behaviour for panics outside the library.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_LIBRARY.with(|f| f.get()) {
                previous(info);
            }
        }));
    });
}

/// The value an entry point returns when it caught a panic.
trait PanicValue {
    fn panic_value() -> Self;
}
impl PanicValue for pirsch_result {
    fn panic_value() -> Self {
        PIRSCH_ERR_PANIC
    }
}
impl<T> PanicValue for *mut T {
    fn panic_value() -> Self {
        std::ptr::null_mut()
    }
}
impl<T> PanicValue for *const T {
    fn panic_value() -> Self {
        std::ptr::null()
    }
}
impl PanicValue for () {
    fn panic_value() -> Self {}
}

/// Runs an entry point's body: panics become the return type's panic value and a message.
fn guard<R: PanicValue>(body: impl FnOnce() -> R) -> R {
    install_panic_hook();
    let was_inside = IN_LIBRARY.with(|f| f.replace(true));
    let out = catch_unwind(AssertUnwindSafe(body));
    IN_LIBRARY.with(|f| f.set(was_inside));
    out.unwrap_or_else(|_| {
        set_last_error(&Cow::Borrowed("internal error: libpirsch caught a panic (a bug; please report it). The call did nothing."));
        R::panic_value()
    })
}

/// Runs a fallible entry point: clears the last error, records the new one, returns its code.
fn run(body: impl FnOnce() -> Result<()>) -> pirsch_result {
    guard(|| {
        clear_last_error();
        match body() {
            Ok(()) => PIRSCH_OK,
            Err(e) => {
                set_last_error(&e.message);
                e.kind.code()
            }
        }
    })
}

fn null(what: &str) -> Error {
    Error::new(ErrorKind::NullArgument, format!("{what} is NULL"))
}

unsafe fn as_ref<'a, T>(p: *const T, what: &str) -> Result<&'a T> {
    p.as_ref().ok_or_else(|| null(what))
}

/// Copies a caller's versioned struct: only the first `struct_size` bytes are read (an older
/// caller's smaller struct leaves the newer fields zero); 0 is refused.
unsafe fn read_versioned<T: Copy>(p: *const T, what: &str, type_name: &str) -> Result<T> {
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
unsafe fn write_versioned<T: Copy>(p: *mut T, value: &T) {
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
unsafe fn utf8<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>> {
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
unsafe fn lossy<'a>(p: *const c_char) -> Option<Cow<'a, str>> {
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

/// Reads a caller's page view as the send functions do (public for the fuzz targets only).
#[doc(hidden)]
#[inline]
pub unsafe fn hit_from_c<'a>(p: *const pirsch_hit_options) -> Result<Hit<'a>> {
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
    })
}

/// Reads a caller's event as the send functions do (public for the fuzz targets only).
#[doc(hidden)]
#[inline]
pub unsafe fn event_from_c<'a>(p: *const pirsch_event_options) -> Result<Event<'a>> {
    let o: pirsch_event_options = read_versioned(p, "ev", "pirsch_event_options")?;
    Ok(Event {
        name: lossy(o.name),
        duration_seconds: o.duration_seconds,
        meta: pairs(o.meta, o.meta_len, "meta")?,
        non_interactive: o.non_interactive,
    })
}

unsafe fn client_ref<'a>(c: *const pirsch_client) -> Result<&'a Client> {
    Ok(&as_ref(c, "client")?.inner)
}

// ---------------------------------------------------------------------------------------
// Entry points.

/// The version of the loaded library, e.g. "0.1.0". Static; never NULL; do not free.
#[no_mangle]
pub extern "C" fn pirsch_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// A short static description of a result code ("unknown result code" for values this
/// version does not know). Never NULL; do not free.
#[no_mangle]
pub extern "C" fn pirsch_strerror(code: pirsch_result) -> *const c_char {
    let s: &'static CStr = match code {
        PIRSCH_OK => c"success",
        PIRSCH_ERR_NULL_ARGUMENT => c"a required pointer was NULL",
        PIRSCH_ERR_INVALID_ARGUMENT => c"invalid argument",
        PIRSCH_ERR_INVALID_UTF8 => c"a string was not valid UTF-8",
        PIRSCH_ERR_AUTH => c"authentication failed",
        PIRSCH_ERR_HTTP => c"the API answered with an error",
        PIRSCH_ERR_NETWORK => c"network error",
        PIRSCH_ERR_TIMEOUT => c"timed out",
        PIRSCH_ERR_QUEUE_FULL => c"the queue is full",
        PIRSCH_ERR_CLOSED => c"the client is shutting down",
        PIRSCH_ERR_PANIC => c"internal error in libpirsch (a bug; please report it)",
        _ => c"unknown result code",
    };
    s.as_ptr()
}

/// What went wrong in this thread's last failed call, in words: the cause and what to do,
/// with the HTTP status and the API's own message where there was one. Never contains a
/// secret or a token. "" when the last call succeeded. Never NULL. The string belongs to the
/// library and stays valid until this thread's next pirsch_ call.
#[no_mangle]
pub extern "C" fn pirsch_last_error() -> *const c_char {
    guard(|| {
        LAST_ERROR.with(|e| {
            let e = e.borrow();
            if e.is_empty() {
                c"".as_ptr()
            } else {
                e.as_ptr() as *const c_char
            }
        })
    })
}

/// Creates a configuration holding the defaults. Free it with pirsch_config_free (a client
/// made from it does not keep it). Returns NULL only if memory is exhausted.
#[no_mangle]
pub extern "C" fn pirsch_config_new() -> *mut pirsch_config {
    guard(|| {
        Box::into_raw(Box::new(pirsch_config {
            inner: Config::default(),
        }))
    })
}

/// Sets one option by name; values are strings ("5000", "true", "https://..."). See the
/// README for the keys. Returns PIRSCH_OK, PIRSCH_ERR_NULL_ARGUMENT,
/// PIRSCH_ERR_INVALID_UTF8, or PIRSCH_ERR_INVALID_ARGUMENT for an unknown key or a bad value
/// (the config is then unchanged). Does not block.
#[no_mangle]
pub unsafe extern "C" fn pirsch_config_set(
    cfg: *mut pirsch_config,
    key: *const c_char,
    value: *const c_char,
) -> pirsch_result {
    run(|| {
        let cfg = cfg.as_mut().ok_or_else(|| null("cfg"))?;
        let key = utf8(key, "key")?.ok_or_else(|| null("key"))?;
        let value = utf8(value, &format!("value of {key}"))?
            .ok_or_else(|| null(&format!("value of {key}")))?;
        cfg.inner.set(key, value)
    })
}

/// Sends the library's log messages to `log(userdata, level, message)` instead of nowhere.
/// `level` is one of PIRSCH_LOG_*; messages above the `log_level` option are not sent.
/// `message` is valid only during the call. The callback may be called from any thread,
/// including the client's background thread, so it must be thread-safe, must not block
/// for long and must not call pirsch_free. `userdata` is passed through untouched and must
/// stay valid until pirsch_free of every client made from this config has returned (after
/// that, the callback is never called). `log` NULL removes the logger.
#[no_mangle]
pub unsafe extern "C" fn pirsch_config_set_logger(
    cfg: *mut pirsch_config,
    log: Option<unsafe extern "C" fn(userdata: *mut c_void, level: c_int, message: *const c_char)>,
    userdata: *mut c_void,
) -> pirsch_result {
    struct UserData(*mut c_void);
    // The caller promises the callback and its userdata are thread-safe (documented above).
    unsafe impl Send for UserData {}
    unsafe impl Sync for UserData {}
    run(|| {
        let cfg = cfg.as_mut().ok_or_else(|| null("cfg"))?;
        cfg.inner.logger = log.map(|f| {
            let ud = UserData(userdata);
            Arc::new(move |level: crate::log::Level, msg: &str| {
                let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
                let ud = &ud;
                unsafe { f(ud.0, level as c_int, c.as_ptr()) };
            }) as crate::log::Logger
        });
        Ok(())
    })
}

/// Frees a configuration. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn pirsch_config_free(cfg: *mut pirsch_config) {
    guard(|| {
        if !cfg.is_null() {
            drop(Box::from_raw(cfg));
        }
    })
}

/// Creates a client. Credentials: an access key (client_id NULL or "", client_secret
/// "pa_...") or an OAuth client id and secret. `cfg` may be NULL for the defaults; it is
/// copied, not consumed. Does no network I/O (the token is requested on first use).
/// Returns NULL when the credentials cannot work or the config is invalid (e.g. plain http
/// to a remote host); pirsch_last_error() says why. Free with pirsch_free.
#[no_mangle]
pub unsafe extern "C" fn pirsch_client_new(
    client_id: *const c_char,
    client_secret: *const c_char,
    cfg: *const pirsch_config,
) -> *mut pirsch_client {
    guard(|| {
        clear_last_error();
        let made = (|| {
            let id = utf8(client_id, "client_id")?.unwrap_or("");
            let secret = utf8(client_secret, "client_secret")?.unwrap_or("");
            let config = cfg.as_ref().map(|c| c.inner.clone()).unwrap_or_default();
            Client::new(id, secret, config)
        })();
        match made {
            Ok(client) => Box::into_raw(Box::new(pirsch_client { inner: client })),
            Err(e) => {
                set_last_error(&e.message);
                std::ptr::null_mut()
            }
        }
    })
}

/// Frees a client: stops accepting, delivers what is queued for up to
/// `shutdown_timeout_ms` (blocking that long, plus at most half a second for a request in
/// progress), counts the rest as dropped_shutdown, then releases everything. Once it
/// returns, the logger callback is never called again for this client, so its userdata may
/// be freed. The client must not be used after, nor concurrently with, this call. NULL is a
/// no-op.
#[no_mangle]
pub unsafe extern "C" fn pirsch_free(client: *mut pirsch_client) {
    guard(|| {
        if !client.is_null() {
            drop(Box::from_raw(client));
        }
    })
}

/// The six send functions: blocking or queued, one kind of item.
unsafe fn submit(
    c: *mut pirsch_client,
    kind: Kind,
    ev: *const pirsch_event_options,
    hit: *const pirsch_hit_options,
    queued: bool,
) -> pirsch_result {
    run(|| {
        let client = client_ref(c)?;
        let event = if kind == Kind::Event {
            Some(event_from_c(ev)?)
        } else {
            None
        };
        let hit = hit_from_c(hit)?;
        if queued {
            client.enqueue(kind, &hit, event.as_ref())
        } else {
            client.send(kind, &hit, event.as_ref())
        }
    })
}

/// Sends a page view and waits until the API has accepted it (BLOCKS: up to timeout_ms per
/// try, 1 + max_retries tries). Network errors, 408, 429 and 5xx are tried again; nothing
/// else is. Returns PIRSCH_OK, or PIRSCH_ERR_NULL_ARGUMENT, _INVALID_ARGUMENT, _INVALID_UTF8
/// (nothing sent), _AUTH, _HTTP, _NETWORK, _TIMEOUT; pirsch_last_error() says why.
/// `hit` is only read during the call.
#[no_mangle]
pub unsafe extern "C" fn pirsch_hit(
    c: *mut pirsch_client,
    hit: *const pirsch_hit_options,
) -> pirsch_result {
    submit(c, Kind::Hit, ptr::null(), hit, false)
}

/// Sends an event (`ev`) on the page view `hit` and waits, like pirsch_hit. `ev->name` is
/// required. Both structs are only read during the call.
#[no_mangle]
pub unsafe extern "C" fn pirsch_event(
    c: *mut pirsch_client,
    ev: *const pirsch_event_options,
    hit: *const pirsch_hit_options,
) -> pirsch_result {
    submit(c, Kind::Event, ev, hit, false)
}

/// Keeps the visitor's session alive without a page view, and waits, like pirsch_hit. Uses
/// `ip`, `user_agent`, the sec_ch_* fields and `disable_bot_filter` of `hit`; `url` is not
/// needed. Send the same values as with the visitor's page views.
#[no_mangle]
pub unsafe extern "C" fn pirsch_session(
    c: *mut pirsch_client,
    hit: *const pirsch_hit_options,
) -> pirsch_result {
    submit(c, Kind::Session, ptr::null(), hit, false)
}

/// Any API call, e.g. method "GET" and path "/api/v1/statistics/visitor?id=...&from=...&to=...".
/// `json_body` is sent as the request body (NULL for none). BLOCKS like pirsch_hit, with the
/// same token handling and retries. On PIRSCH_OK, `*response_out` is the response body
/// (usually JSON), a NUL-terminated string the caller owns and frees with
/// pirsch_string_free; on failure `*response_out` is set to NULL. `response_out` may be
/// NULL to discard the body. Access keys can only write: reading statistics needs an OAuth
/// client.
#[no_mangle]
pub unsafe extern "C" fn pirsch_request(
    c: *mut pirsch_client,
    method: *const c_char,
    path_and_query: *const c_char,
    json_body: *const c_char,
    response_out: *mut *mut c_char,
) -> pirsch_result {
    if !response_out.is_null() {
        *response_out = std::ptr::null_mut();
    }
    run(|| {
        let client = client_ref(c)?;
        let method = utf8(method, "method")?.ok_or_else(|| null("method"))?;
        let path = utf8(path_and_query, "path_and_query")?.ok_or_else(|| null("path_and_query"))?;
        let body = utf8(json_body, "json_body")?;
        let text = client.request(method, path, body)?;
        if !response_out.is_null() {
            let c = CString::new(text.replace('\0', "")).unwrap_or_default();
            *response_out = c.into_raw();
        }
        Ok(())
    })
}

/// Frees a string returned by the library (pirsch_request's body). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn pirsch_string_free(s: *mut c_char) {
    guard(|| {
        if !s.is_null() {
            drop(CString::from_raw(s));
        }
    })
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
    use crate::headers::{referrer_from_url, HeaderField as H};
    run(|| {
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

/// Queues a page view for the background sender and returns at once: validates and copies
/// `hit` (which the caller may free or reuse right after), stamps it with the current time,
/// and never waits on the network, DNS, a token request or a lock held during a request.
/// The first call starts the client's sender thread in this process (also in a child after
/// fork()). Returns PIRSCH_OK, the validation errors of pirsch_hit (nothing queued),
/// PIRSCH_ERR_QUEUE_FULL (queue_capacity items or queue_max_bytes of JSON queued; counted in
/// dropped_queue_full) or
/// PIRSCH_ERR_CLOSED (pirsch_free has begun). Delivery outcomes show in pirsch_stats and
/// the log, never here.
#[no_mangle]
pub unsafe extern "C" fn pirsch_hit_enqueue(
    c: *mut pirsch_client,
    hit: *const pirsch_hit_options,
) -> pirsch_result {
    submit(c, Kind::Hit, ptr::null(), hit, true)
}

/// Queues an event (`ev` on the page view `hit`), like pirsch_hit_enqueue.
#[no_mangle]
pub unsafe extern "C" fn pirsch_event_enqueue(
    c: *mut pirsch_client,
    ev: *const pirsch_event_options,
    hit: *const pirsch_hit_options,
) -> pirsch_result {
    submit(c, Kind::Event, ev, hit, true)
}

/// Queues a session keep-alive, like pirsch_hit_enqueue.
#[no_mangle]
pub unsafe extern "C" fn pirsch_session_enqueue(
    c: *mut pirsch_client,
    hit: *const pirsch_hit_options,
) -> pirsch_result {
    submit(c, Kind::Session, ptr::null(), hit, true)
}

/// Waits (BLOCKS up to `timeout_ms`) until everything this process queued before the call
/// is sent or dropped for a counted reason, and asks the sender not to wait for full
/// batches meanwhile. Returns PIRSCH_OK, PIRSCH_ERR_TIMEOUT (items stay queued and are
/// still delivered later) or PIRSCH_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn pirsch_flush(c: *mut pirsch_client, timeout_ms: u32) -> pirsch_result {
    run(|| client_ref(c)?.flush(std::time::Duration::from_millis(timeout_ms as u64)))
}

/// Copies the client's queue counters into `*out`. Set `out->struct_size =
/// sizeof(struct pirsch_stats)` first; only that many bytes are written. Does not block (beyond a
/// short lock). Returns PIRSCH_OK, PIRSCH_ERR_NULL_ARGUMENT or PIRSCH_ERR_INVALID_ARGUMENT
/// (struct_size 0).
#[no_mangle]
pub unsafe extern "C" fn pirsch_stats(
    c: *const pirsch_client,
    out: *mut pirsch_stats,
) -> pirsch_result {
    run(|| {
        let client = client_ref(c)?;
        let mut o: pirsch_stats = read_versioned(out, "out", "pirsch_stats")?;
        let s = client.stats();
        o.enqueued = s.enqueued;
        o.sent = s.sent;
        o.batches = s.batches;
        o.retries = s.retries;
        o.dropped_queue_full = s.dropped_queue_full;
        o.dropped_rejected = s.dropped_rejected;
        o.dropped_expired = s.dropped_expired;
        o.dropped_shutdown = s.dropped_shutdown;
        o.queue_depth = s.queue_depth;
        o.in_flight = s.in_flight;
        o.token_refreshes = s.token_refreshes;
        o.forks_detected = s.forks_detected;
        write_versioned(out, &o);
        Ok(())
    })
}
