//! Entry points for clients: creating and freeing one, the six send functions (blocking and
//! queued), pirsch_request, flush and the counters.

use super::boundary::{clear_last_error, fallible, guard, set_last_error};
use super::convert::{
    client_ref, event_from_c, hit_from_c, null, read_versioned, utf8, write_versioned,
};
use super::result::pirsch_result;
use super::types::{
    pirsch_client, pirsch_config, pirsch_event_options, pirsch_hit_options, pirsch_queue_stats,
    pirsch_stats,
};
use crate::client::Client;
use crate::item::Kind;
use std::ffi::{c_char, CString};
use std::ptr;

/// Creates a client. Credentials: an access key (client_id NULL or "", client_secret
/// "pa_...") or an OAuth client id and secret. `cfg` may be NULL for the defaults; it is
/// copied, not consumed. Does no network I/O (the token is requested on first use).
/// Returns NULL when the credentials cannot work or the config is invalid (e.g. plain http
/// to a remote host); pirsch_last_error() says why. Free with pirsch_free.
///
/// @param client_id An OAuth client id, or NULL/"" with an access key.
/// @param client_secret The OAuth client's secret, or an access key (pa_...).
/// @param cfg The configuration, or NULL for the defaults (copied; free it when you like).
/// @return A new client (free with pirsch_free), or NULL: see pirsch_last_error_code().
/// @par Threads
/// The client is thread-safe: share one per process among all threads.
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
                set_last_error(super::result::code_of(e.kind), &e.message);
                std::ptr::null_mut()
            }
        }
    })
}

/// Frees a client: stops accepting, delivers what is queued for up to
/// `shutdown_timeout_ms` (a request still in progress at that deadline is cut off; only a
/// TCP connect or TLS handshake in progress can add up to 100 ms; a call of the logger
/// callback that has not returned, up to 2 s more), writes the rest to the spool
/// (spool_dir: it returns only once that is written, about 2 us per queued page view) or
/// counts it as dropped_shutdown, then releases everything, and gives the queue's memory
/// back to the system when it held a megabyte or more. Once it
/// returns, the logger callback is never called again for this client, so its userdata may
/// be freed. The client must not be used after, nor concurrently with, this call. NULL is a
/// no-op. For a client from pirsch_client_shared, gives back one reference (see there).
///
/// @param client The client to free, or NULL.
/// @par Blocking
/// Up to `shutdown_timeout_ms` (2 s by default) while queued items are delivered.
#[no_mangle]
pub unsafe extern "C" fn pirsch_free(client: *mut pirsch_client) {
    guard(|| {
        if !client.is_null() && !super::shared::release(client) {
            let held_much = (*client).inner.held_much();
            drop(Box::from_raw(client));
            if held_much {
                // The queue's memory is free now, but the allocator would keep it.
                crate::process::return_free_memory();
            }
        }
    })
}

/// The six send functions: blocking or queued, one kind of item.
unsafe fn submit(
    client: *mut pirsch_client,
    kind: Kind,
    event: *const pirsch_event_options,
    hit: *const pirsch_hit_options,
    queued: bool,
) -> pirsch_result {
    fallible(|| {
        let client = client_ref(client)?;
        let event = if kind == Kind::Event {
            Some(event_from_c(event)?)
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
///
/// @param client The client.
/// @param hit The page view (struct_size set).
/// @return PIRSCH_OK or an error code (see above).
/// @par Blocking
/// Yes: do not call it where the visitor waits; use pirsch_hit_enqueue there.
#[no_mangle]
pub unsafe extern "C" fn pirsch_hit(
    client: *mut pirsch_client,
    hit: *const pirsch_hit_options,
) -> pirsch_result {
    submit(client, Kind::Hit, ptr::null(), hit, false)
}

/// Sends an event (`event`) on the page view `hit` and waits, like pirsch_hit. `event->name` is
/// required. Both structs are only read during the call.
///
/// @param client The client.
/// @param event The event (struct_size set; name required).
/// @param hit The page view the event happened on.
/// @return PIRSCH_OK or an error code, as pirsch_hit.
/// @par Blocking
/// Yes, like pirsch_hit.
#[no_mangle]
pub unsafe extern "C" fn pirsch_event(
    client: *mut pirsch_client,
    event: *const pirsch_event_options,
    hit: *const pirsch_hit_options,
) -> pirsch_result {
    submit(client, Kind::Event, event, hit, false)
}

/// Keeps the visitor's session alive without a page view, and waits, like pirsch_hit. Uses
/// `ip`, `user_agent`, the sec_ch_* fields and `disable_bot_filter` of `hit`; `url` is not
/// needed. Send the same values as with the visitor's page views.
///
/// @param client The client.
/// @param hit The visitor (ip, user_agent, sec_ch_*).
/// @return PIRSCH_OK or an error code, as pirsch_hit.
/// @par Blocking
/// Yes, like pirsch_hit.
#[no_mangle]
pub unsafe extern "C" fn pirsch_session(
    client: *mut pirsch_client,
    hit: *const pirsch_hit_options,
) -> pirsch_result {
    submit(client, Kind::Session, ptr::null(), hit, false)
}

/// Any API call, e.g. method "GET" and path "/api/v1/statistics/visitor?id=...&from=...&to=...".
/// `json_body` is sent as the request body (NULL for none). BLOCKS like pirsch_hit, with the
/// same token handling and retries. On PIRSCH_OK, `*response_out` is the response body
/// (usually JSON), a NUL-terminated string the caller owns and frees with
/// pirsch_string_free; on failure `*response_out` is set to NULL. `response_out` may be
/// NULL to discard the body. Access keys can only write: reading statistics needs an OAuth
/// client.
///
/// @param client The client.
/// @param method "GET", "POST", "PUT", "DELETE" or "PATCH".
/// @param path_and_query The path under the base URL, starting with /, with its query.
/// @param json_body The request body (JSON), or NULL.
/// @param response_out Receives the response body (free with pirsch_string_free), or NULL to discard it.
/// @return PIRSCH_OK, or an error code as pirsch_hit.
/// @par Blocking
/// Yes.
#[no_mangle]
pub unsafe extern "C" fn pirsch_request(
    client: *mut pirsch_client,
    method: *const c_char,
    path_and_query: *const c_char,
    json_body: *const c_char,
    response_out: *mut *mut c_char,
) -> pirsch_result {
    if !response_out.is_null() {
        *response_out = std::ptr::null_mut();
    }
    fallible(|| {
        let client = client_ref(client)?;
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
///
/// @param s A string the library returned, or NULL.
#[no_mangle]
pub unsafe extern "C" fn pirsch_string_free(s: *mut c_char) {
    guard(|| {
        if !s.is_null() {
            drop(CString::from_raw(s));
        }
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
///
/// @param client The client.
/// @param hit The page view (struct_size set); copied.
/// @return PIRSCH_OK, or PIRSCH_ERR_NULL_ARGUMENT, _INVALID_ARGUMENT, _INVALID_UTF8 (refused, nothing queued), _QUEUE_FULL, _CLOSED.
/// @par Blocking
/// Never on the network.
#[no_mangle]
pub unsafe extern "C" fn pirsch_hit_enqueue(
    client: *mut pirsch_client,
    hit: *const pirsch_hit_options,
) -> pirsch_result {
    submit(client, Kind::Hit, ptr::null(), hit, true)
}

/// Queues an event (`event` on the page view `hit`), like pirsch_hit_enqueue.
///
/// @param client The client.
/// @param event The event (struct_size set; name required); copied.
/// @param hit The page view the event happened on; copied.
/// @return As pirsch_hit_enqueue.
/// @par Blocking
/// Never on the network.
#[no_mangle]
pub unsafe extern "C" fn pirsch_event_enqueue(
    client: *mut pirsch_client,
    event: *const pirsch_event_options,
    hit: *const pirsch_hit_options,
) -> pirsch_result {
    submit(client, Kind::Event, event, hit, true)
}

/// Queues a session keep-alive, like pirsch_hit_enqueue.
///
/// @param client The client.
/// @param hit The visitor (ip, user_agent, sec_ch_*); copied.
/// @return As pirsch_hit_enqueue.
/// @par Blocking
/// Never on the network.
#[no_mangle]
pub unsafe extern "C" fn pirsch_session_enqueue(
    client: *mut pirsch_client,
    hit: *const pirsch_hit_options,
) -> pirsch_result {
    submit(client, Kind::Session, ptr::null(), hit, true)
}

/// Waits (BLOCKS up to `timeout_ms`) until everything this process queued before the call
/// is sent or dropped for a counted reason, and asks the sender not to wait for full
/// batches meanwhile. Returns PIRSCH_OK, PIRSCH_ERR_TIMEOUT (items stay queued and are
/// still delivered later) or PIRSCH_ERR_NULL_ARGUMENT.
///
/// @param client The client.
/// @param timeout_ms How long to wait at most, in milliseconds.
/// @return PIRSCH_OK when everything queued before the call was sent or dropped, PIRSCH_ERR_TIMEOUT when time ran out (the items are still delivered later), or PIRSCH_ERR_NULL_ARGUMENT.
/// @par Blocking
/// Up to `timeout_ms`.
#[no_mangle]
pub unsafe extern "C" fn pirsch_flush(
    client: *mut pirsch_client,
    timeout_ms: u32,
) -> pirsch_result {
    fallible(|| client_ref(client)?.flush(std::time::Duration::from_millis(timeout_ms as u64)))
}

/// Copies the client's queue counters into `*out`: the same as pirsch_client_stats, under
/// the name it had first (kept for compatibility; in C++ the struct cannot be named
/// `pirsch_stats` beside this function, so new code uses pirsch_client_stats and
/// `pirsch_queue_stats`).
///
/// @param client The client.
/// @param out Receives the counters; set out->struct_size first.
/// @return As pirsch_client_stats.
/// @deprecated Kept for compatibility; use pirsch_client_stats.
#[no_mangle]
pub unsafe extern "C" fn pirsch_stats(
    client: *const pirsch_client,
    out: *mut pirsch_stats,
) -> pirsch_result {
    pirsch_client_stats(client, out)
}

/// Copies the client's queue counters into `*out`. Set `out->struct_size =
/// sizeof(pirsch_queue_stats)` first; only that many bytes are written. Does not block
/// (beyond a short lock). Returns PIRSCH_OK, PIRSCH_ERR_NULL_ARGUMENT or
/// PIRSCH_ERR_INVALID_ARGUMENT (struct_size 0).
///
/// @param client The client.
/// @param out Receives the counters; set out->struct_size first.
/// @return PIRSCH_OK, PIRSCH_ERR_NULL_ARGUMENT or PIRSCH_ERR_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn pirsch_client_stats(
    client: *const pirsch_client,
    out: *mut pirsch_queue_stats,
) -> pirsch_result {
    fallible(|| {
        let client = client_ref(client)?;
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
        o.spooled = s.spooled;
        o.unspooled = s.unspooled;
        o.spool_dropped = s.spool_dropped;
        o.spool_errors = s.spool_errors;
        write_versioned(out, &o);
        Ok(())
    })
}
