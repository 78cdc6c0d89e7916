//! What a client holds per process: the API (connections, the token), the queue and its
//! sender thread. A child after fork() gets fresh ones and never touches the parent's, whose
//! locks may have been held by a thread that does not exist in the child. `ForkLocal` is the
//! one place that reasons about that.

use crate::api::Api;
use crate::queue::QueueHandle;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// One client's state in one process.
pub(crate) struct ProcessState {
    /// The fork generation this state belongs to (see `fork::generation`).
    pub generation: u64,
    pub api: Api,
    pub queue: QueueHandle,
    pub sender: Mutex<Option<JoinHandle<()>>>,
    /// Set once the sender runs (a fast check before taking the `sender` lock).
    pub sender_started: AtomicBool,
    pub forks_detected: u64,
    /// This process's spool files (`spool_dir`), if any.
    pub spool: Option<crate::spool::Spool>,
}

/// A value per process: the current process's `ProcessState`, made afresh in a child.
pub(crate) struct ForkLocal {
    /// An `Arc<ProcessState>` turned into a raw pointer. Replaced in a child after fork();
    /// the parent's is then left alone and never dropped (its locks may be held).
    current: AtomicPtr<ProcessState>,
}

impl ForkLocal {
    pub fn new(state: ProcessState) -> ForkLocal {
        ForkLocal {
            current: AtomicPtr::new(Arc::into_raw(Arc::new(state)) as *mut ProcessState),
        }
    }

    /// This process's state; in a child after fork(), a fresh one made by `fresh` (given
    /// the number of forks the inherited state had seen) and `on_fork` called once with the
    /// inherited state (of which it may only read atomics and close descriptors).
    pub fn get(
        &self,
        fresh: impl Fn(u64, u64) -> ProcessState,
        on_fork: impl FnOnce(&ProcessState),
    ) -> &ProcessState {
        let generation = crate::fork::generation();
        let mut on_fork = Some(on_fork);
        loop {
            let p = self.current.load(Ordering::Acquire);
            // SAFETY: every pointer stored in `current` came from Arc::into_raw, and states
            // are released only by `Drop` (for the current one) or never (inherited ones),
            // so `p` is valid for as long as `self` is borrowed.
            let st = unsafe { &*p };
            if st.generation == generation {
                return st;
            }
            // Only plain fields of the inherited state are read; its locks are never touched.
            let raw = Arc::into_raw(Arc::new(fresh(generation, st.forks_detected + 1)))
                as *mut ProcessState;
            match self
                .current
                .compare_exchange(p, raw, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    if let Some(f) = on_fork.take() {
                        f(st);
                    }
                }
                // SAFETY: `raw` came from Arc::into_raw just above and was never shared.
                Err(_) => drop(unsafe { Arc::from_raw(raw) }),
            }
        }
    }

    /// The state without fork handling: for `Drop`, which must leave an inherited state
    /// alone. None in a child that never used the client.
    pub fn get_if_current(&self) -> Option<&ProcessState> {
        let p = self.current.load(Ordering::Acquire);
        // SAFETY: as in `get`.
        let st = unsafe { &*p };
        (st.generation == crate::fork::generation()).then_some(st)
    }

    /// A strong reference to `state` (which must have come from this holder), for a
    /// thread that may outlive the borrow.
    pub fn share(&self, state: &ProcessState) -> Arc<ProcessState> {
        let p = state as *const ProcessState;
        // SAFETY: `state` was handed out by `get`, so `p` came from Arc::into_raw and the
        // holder still owns one strong reference: adding one and taking it is sound.
        unsafe {
            Arc::increment_strong_count(p);
            Arc::from_raw(p)
        }
    }
}

impl Drop for ForkLocal {
    fn drop(&mut self) {
        let p = self.current.load(Ordering::Acquire);
        // SAFETY: the pointer came from Arc::into_raw in this process or a parent; in a
        // child the inherited state is dropped here only if it is the child's own (the
        // generation matches), since a parent's state may hold locks that can never be
        // released. An inherited one is leaked on purpose.
        let st = unsafe { &*p };
        if st.generation == crate::fork::generation() {
            drop(unsafe { Arc::from_raw(p) });
        }
    }
}

/// Gives memory the allocator holds free back to the system: after pirsch_free of a client
/// whose queue held megabytes (100,000 queued page views are about 40 MB), glibc would keep
/// them in its heap, resident, for ever. A heap walk: called only then, never per item.
pub(crate) fn return_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
