//! The result codes of the C interface and their static texts: one table, from which
//! `PIRSCH_ERR_*`, `pirsch_strerror` and the core's `ErrorKind` codes all come.

use crate::error::ErrorKind;
use std::ffi::{c_char, c_int, CStr};

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

/// Log level of a message passed to the logger callback: an error.
pub const PIRSCH_LOG_ERROR: c_int = 1;
/// Log level: a warning (the default `log_level`).
pub const PIRSCH_LOG_WARN: c_int = 2;
/// Log level: information.
pub const PIRSCH_LOG_INFO: c_int = 3;
/// Log level: debugging detail.
pub const PIRSCH_LOG_DEBUG: c_int = 4;

/// Every code with its `ErrorKind` (none for `PIRSCH_OK`) and its `pirsch_strerror` text.
const CODES: [(pirsch_result, Option<ErrorKind>, &CStr); 11] = [
    (PIRSCH_OK, None, c"success"),
    (
        PIRSCH_ERR_NULL_ARGUMENT,
        Some(ErrorKind::NullArgument),
        c"a required pointer was NULL",
    ),
    (
        PIRSCH_ERR_INVALID_ARGUMENT,
        Some(ErrorKind::InvalidArgument),
        c"invalid argument",
    ),
    (
        PIRSCH_ERR_INVALID_UTF8,
        Some(ErrorKind::InvalidUtf8),
        c"a string was not valid UTF-8",
    ),
    (
        PIRSCH_ERR_AUTH,
        Some(ErrorKind::Auth),
        c"authentication failed",
    ),
    (
        PIRSCH_ERR_HTTP,
        Some(ErrorKind::Http),
        c"the API answered with an error",
    ),
    (
        PIRSCH_ERR_NETWORK,
        Some(ErrorKind::Network),
        c"network error",
    ),
    (PIRSCH_ERR_TIMEOUT, Some(ErrorKind::Timeout), c"timed out"),
    (
        PIRSCH_ERR_QUEUE_FULL,
        Some(ErrorKind::QueueFull),
        c"the queue is full",
    ),
    (
        PIRSCH_ERR_CLOSED,
        Some(ErrorKind::Closed),
        c"the client is shutting down",
    ),
    (
        PIRSCH_ERR_PANIC,
        Some(ErrorKind::Panic),
        c"internal error in libpirsch (a bug; please report it)",
    ),
];

/// The C code of an error kind.
pub(crate) fn code_of(kind: ErrorKind) -> pirsch_result {
    CODES
        .iter()
        .find(|(_, k, _)| *k == Some(kind))
        .map(|(code, _, _)| *code)
        .unwrap_or(PIRSCH_ERR_PANIC)
}

/// A short static description of a result code ("unknown result code" for values this
/// version does not know). Never NULL; do not free.
///
/// @param code A #pirsch_result.
/// @return A static string (never NULL; do not free).
#[no_mangle]
pub extern "C" fn pirsch_strerror(code: pirsch_result) -> *const c_char {
    CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, _, text)| *text)
        .unwrap_or(c"unknown result code")
        .as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_code_and_text() {
        let kinds = [
            ErrorKind::NullArgument,
            ErrorKind::InvalidArgument,
            ErrorKind::InvalidUtf8,
            ErrorKind::Auth,
            ErrorKind::Http,
            ErrorKind::Network,
            ErrorKind::Timeout,
            ErrorKind::QueueFull,
            ErrorKind::Closed,
            ErrorKind::Panic,
        ];
        let mut codes: Vec<_> = kinds.iter().map(|k| code_of(*k)).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), kinds.len());
        assert_eq!(code_of(ErrorKind::Panic), 99);
        let text = |c| {
            unsafe { CStr::from_ptr(pirsch_strerror(c)) }
                .to_str()
                .unwrap()
        };
        assert_eq!(text(PIRSCH_ERR_QUEUE_FULL), "the queue is full");
        assert_eq!(text(12345), "unknown result code");
    }
}
