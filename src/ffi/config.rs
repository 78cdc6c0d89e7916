//! Entry points for configurations: pirsch_config_new, _set, _set_logger, _free.

use super::boundary::{fallible, guard};
use super::convert::{null, utf8};
use super::result::pirsch_result;
use super::types::pirsch_config;
use crate::config::Config;
use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::Arc;

/// Creates a configuration holding the defaults. Free it with pirsch_config_free (a client
/// made from it does not keep it). Returns NULL only if memory is exhausted.
///
/// @return A new configuration (free with pirsch_config_free), or NULL if memory is exhausted.
#[no_mangle]
pub extern "C" fn pirsch_config_new() -> *mut pirsch_config {
    guard(|| {
        Box::into_raw(Box::new(pirsch_config {
            inner: Config::default(),
        }))
    })
}

/// Sets one option by name; values are strings ("5000", "true", "https://..."). Returns
/// PIRSCH_OK, PIRSCH_ERR_NULL_ARGUMENT, PIRSCH_ERR_INVALID_UTF8, or
/// PIRSCH_ERR_INVALID_ARGUMENT for an unknown key or a bad value, with a message naming the
/// key and what it accepts (the config is then unchanged). Copies what it keeps; does not
/// block. The keys:
/// CONFIG-KEYS
///
/// @param cfg The configuration to change.
/// @param key One of the keys listed above.
/// @param value Its value as text.
/// @return PIRSCH_OK, PIRSCH_ERR_NULL_ARGUMENT, PIRSCH_ERR_INVALID_UTF8 or PIRSCH_ERR_INVALID_ARGUMENT.
/// @par Threads
/// A configuration is used by one thread at a time.
#[no_mangle]
pub unsafe extern "C" fn pirsch_config_set(
    cfg: *mut pirsch_config,
    key: *const c_char,
    value: *const c_char,
) -> pirsch_result {
    fallible(|| {
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
///
/// @param cfg The configuration to change.
/// @param log The callback, or NULL to remove it.
/// @param userdata Passed to every call of `log`, untouched.
/// @return PIRSCH_OK or PIRSCH_ERR_NULL_ARGUMENT (cfg NULL).
#[no_mangle]
pub unsafe extern "C" fn pirsch_config_set_logger(
    cfg: *mut pirsch_config,
    log: Option<unsafe extern "C" fn(userdata: *mut c_void, level: c_int, message: *const c_char)>,
    userdata: *mut c_void,
) -> pirsch_result {
    struct UserData(*mut c_void);
    // SAFETY: the caller promises the callback and its userdata are thread-safe (the
    // contract above); the library only passes the pointer back to the callback.
    unsafe impl Send for UserData {}
    unsafe impl Sync for UserData {}
    fallible(|| {
        let cfg = cfg.as_mut().ok_or_else(|| null("cfg"))?;
        cfg.inner.logger = log.map(|f| {
            let ud = UserData(userdata);
            Arc::new(move |level: crate::log::Level, msg: &str| {
                let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
                let ud = &ud;
                // SAFETY: the caller's callback with its own userdata and a NUL-terminated
                // message that lives for the call; the log gate keeps it from being called
                // after pirsch_free returned.
                unsafe { f(ud.0, level as c_int, c.as_ptr()) };
            }) as crate::log::Logger
        });
        Ok(())
    })
}

/// Frees a configuration. NULL is a no-op.
///
/// @param cfg The configuration to free, or NULL.
#[no_mangle]
pub unsafe extern "C" fn pirsch_config_free(cfg: *mut pirsch_config) {
    guard(|| {
        if !cfg.is_null() {
            drop(Box::from_raw(cfg));
        }
    })
}
