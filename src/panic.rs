//! Panics inside the library must not print (a library prints only when asked to). A
//! process-wide hook keeps the default behaviour for panics outside the library; threads
//! inside a library call (or the library's own threads) are marked so the hook stays quiet.
//! Catching the panic is the caller's job (`ffi`'s guard, the sender's loop).

use std::cell::Cell;

thread_local! {
    static IN_LIBRARY: Cell<bool> = const { Cell::new(false) };
}

fn install_hook() {
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

/// Marks a thread of the library's own (the sender) for good.
pub(crate) fn mark_library_thread() {
    install_hook();
    IN_LIBRARY.with(|f| f.set(true));
}

/// Runs `body` as library code: a panic in it does not print. Returns what catch_unwind
/// returns.
pub(crate) fn quietly<R>(body: impl FnOnce() -> R) -> std::thread::Result<R> {
    install_hook();
    let was_inside = IN_LIBRARY.with(|f| f.replace(true));
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    IN_LIBRARY.with(|f| f.set(was_inside));
    out
}

/// Unmarks this thread (the unit tests run the sender on theirs, and then assert).
#[cfg(test)]
pub(crate) fn unmark_library_thread() {
    IN_LIBRARY.with(|f| f.set(false));
}
