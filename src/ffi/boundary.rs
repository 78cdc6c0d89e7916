//! The rules every entry point follows, written once: panics are caught and never unwind
//! into C, the thread's last error is recorded (without secrets, bounded), and a code is
//! returned.

use super::result::{code_of, pirsch_result, PIRSCH_ERR_PANIC, PIRSCH_OK};
use crate::error::Result;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::ffi::c_char;

thread_local! {
    /// The thread's last error message, NUL-terminated (empty: no error). Reused, so that
    /// an error on a hot path (a full queue) does not allocate.
    static LAST_ERROR: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The code of the thread's last failed call (PIRSCH_OK when it succeeded).
    static LAST_CODE: Cell<pirsch_result> = const { Cell::new(PIRSCH_OK) };
}

/// Stores the message pirsch_last_error returns: without secrets, cut to
/// MAX_MESSAGE_BYTES, and in a buffer that never keeps more than a few KB of capacity
/// (a huge message once must not cost every thread that memory for good). A fixed text of
/// the library's own holds no secret and is short: it is stored as it is (the queue-full
/// refusal is one, on the hot path of an outage).
pub(super) fn set_last_error(code: pirsch_result, message: &Cow<'static, str>) {
    LAST_CODE.with(|c| c.set(code));
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

pub(super) fn clear_last_error() {
    LAST_CODE.with(|c| c.set(PIRSCH_OK));
    LAST_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        if e.len() > 1 {
            e.clear();
            e.push(0);
        }
    });
}

/// The value an entry point returns when it caught a panic.
pub(super) trait PanicValue {
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
pub(super) fn guard<R: PanicValue>(body: impl FnOnce() -> R) -> R {
    crate::panic::quietly(body).unwrap_or_else(|_| {
        set_last_error(PIRSCH_ERR_PANIC, &Cow::Borrowed("internal error: libpirsch caught a panic (a bug; please report it). The call did nothing."));
        R::panic_value()
    })
}

/// Runs a fallible entry point: clears the last error, records the new one, returns its code.
pub(super) fn fallible(body: impl FnOnce() -> Result<()>) -> pirsch_result {
    guard(|| {
        clear_last_error();
        match body() {
            Ok(()) => PIRSCH_OK,
            Err(e) => {
                let code = code_of(e.kind);
                set_last_error(code, &e.message);
                code
            }
        }
    })
}

/// What went wrong in this thread's last failed call, in words: the cause and what to do,
/// with the HTTP status and the API's own message where there was one. Never contains a
/// secret or a token. "" when the last call succeeded. Never NULL. The string belongs to the
/// library and stays valid until this thread's next pirsch_ call.
///
/// @return The message (library-owned, valid until this thread's next pirsch_ call); "" after a success.
/// @par Threads
/// Per thread: each thread sees its own last error.
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

/// The result code of this thread's last failed call (PIRSCH_OK when the last call
/// succeeded): the code pirsch_client_new and the other functions that return a pointer
/// cannot return themselves (e.g. PIRSCH_ERR_AUTH for credentials that cannot work,
/// PIRSCH_ERR_INVALID_ARGUMENT for a bad config). Does not block.
///
/// @return The #pirsch_result of this thread's last failed call, or PIRSCH_OK.
#[no_mangle]
pub extern "C" fn pirsch_last_error_code() -> pirsch_result {
    guard(|| LAST_CODE.with(|c| c.get()))
}
