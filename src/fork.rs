//! Noticing fork(): a pthread_atfork child handler bumps a generation counter, so that a
//! client can tell, with one atomic load, that it is now in a child process.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

static GENERATION: AtomicU64 = AtomicU64::new(0);

extern "C" fn in_child() {
    // Only async-signal-safe work here: one atomic add.
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// Registers the handler once per process (children inherit it).
pub fn watch() {
    static ONCE: Once = Once::new();
    // SAFETY: pthread_atfork with a handler that only does an atomic add (async-signal-safe,
    // as a child handler must be); registered once.
    ONCE.call_once(|| unsafe {
        libc::pthread_atfork(None, None, Some(in_child));
    });
}

/// How many forks lie between the first process and this one.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}
