//! pirsch_client_shared: one client per name per process, owned by the library. A lock-free
//! table (fork() may copy it while another thread is inside: no lock to inherit); entries are
//! published by compare-and-swap and never freed (a client whose last reference goes is
//! freed, its entry unpublished and left: a few dozen bytes), so that a thread that read an
//! entry never reads freed memory.

use super::boundary::{clear_last_error, guard, set_last_error};
use super::convert::utf8;
use super::result::{code_of, pirsch_result, PIRSCH_ERR_INVALID_ARGUMENT};
use super::types::{pirsch_client, pirsch_config};
use crate::client::Client;
use crate::error::{Error, Result};
use std::ffi::c_char;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Once;

/// How many names a process may share clients under.
const SLOTS: usize = 32;

struct Entry {
    name: Box<str>,
    /// A hash of the credentials: the same name with other credentials is refused.
    fingerprint: u64,
    client: *mut pirsch_client,
    refs: AtomicUsize,
    deliver_at_exit: bool,
}

static TABLE: [AtomicPtr<Entry>; SLOTS] = [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];

fn fingerprint(id: &str, secret: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes().chain([0]).chain(secret.bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// At exit(): every shared client made with deliver_at_exit delivers what it holds (or
/// spools it) within its shutdown_timeout_ms. The memory is kept: a thread still running
/// gets PIRSCH_ERR_CLOSED from an enqueue, never a freed client.
extern "C" fn at_exit() {
    let _ = crate::panic::quietly(|| {
        for slot in &TABLE {
            let e = slot.load(Ordering::Acquire);
            // SAFETY: entries are never freed while published (see pirsch_free_shared).
            if let Some(e) = unsafe { e.as_ref() } {
                if e.deliver_at_exit {
                    // SAFETY: a published entry's client is valid until its entry is removed.
                    unsafe { &(*e.client).inner }.shutdown();
                }
            }
        }
    });
}

fn find(name: &str) -> Option<&'static Entry> {
    TABLE.iter().find_map(|slot| {
        // SAFETY: as in at_exit.
        unsafe { slot.load(Ordering::Acquire).as_ref() }.filter(|e| &*e.name == name)
    })
}

unsafe fn shared(
    name: *const c_char,
    client_id: *const c_char,
    client_secret: *const c_char,
    cfg: *const pirsch_config,
) -> Result<*mut pirsch_client> {
    let name = utf8(name, "name")?.unwrap_or("");
    if name.is_empty() || name.len() > 64 {
        return Err(Error::invalid(
            "name must be 1 to 64 bytes, e.g. \"default\" (one shared client per name)",
        ));
    }
    let id = utf8(client_id, "client_id")?.unwrap_or("");
    let secret = utf8(client_secret, "client_secret")?.unwrap_or("");
    let print = fingerprint(id.trim(), secret.trim());
    loop {
        if let Some(e) = find(name) {
            if e.fingerprint != print {
                return Err(Error::invalid(format!(
                    "a shared client named {name:?} exists in this process with other credentials; use another name"
                )));
            }
            // A reference only while there is one: at 0 the client is being freed, and the
            // name is about to be free again. A deliver_at_exit client is never freed before
            // exit, so it may be taken again at 0 (a PHP request after the last one ended).
            let keep = e.deliver_at_exit;
            let taken = e
                .refs
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n > 0 || keep).then_some(n + 1)
                })
                .is_ok();
            if taken {
                return Ok(e.client);
            }
            std::thread::yield_now();
            continue;
        }
        let config = cfg.as_ref().map(|c| c.inner.clone()).unwrap_or_default();
        let deliver_at_exit = config.deliver_at_exit;
        let client = Box::into_raw(Box::new(pirsch_client {
            inner: Client::new(id, secret, config)?,
        }));
        let entry = Box::into_raw(Box::new(Entry {
            name: name.into(),
            fingerprint: print,
            client,
            refs: AtomicUsize::new(1),
            deliver_at_exit,
        }));
        // Published in the first free slot, unless another thread published the name first.
        let mut placed = false;
        for slot in &TABLE {
            if find(name).is_some() {
                break;
            }
            if slot
                .compare_exchange(
                    std::ptr::null_mut(),
                    entry,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
            {
                placed = true;
                break;
            }
        }
        if placed {
            if deliver_at_exit {
                static AT_EXIT: Once = Once::new();
                // SAFETY: at_exit is a plain extern "C" function of this library, which is
                // never unmapped (-z nodelete).
                AT_EXIT.call_once(|| unsafe {
                    libc::atexit(at_exit);
                });
            }
            return Ok(client);
        }
        // Lost a race for the name (or the table is full): undo and look again.
        // SAFETY: both were made above and never published.
        drop(Box::from_raw(entry));
        drop(Box::from_raw(client));
        if find(name).is_none() {
            return Err(Error::invalid(format!(
                "too many shared clients in this process (at most {SLOTS} names)"
            )));
        }
    }
}

/// The process's client named `name`, made on the first call from `client_id`,
/// `client_secret` and `cfg` (as pirsch_client_new), and the same client on every later call
/// in this process and its forked children, whatever their thread. Later calls must give
/// the same credentials (their `cfg` is ignored). Each call takes a reference, which
/// pirsch_free gives back; when the last one goes the client is freed (with delivery), unless
/// the config said `deliver_at_exit=true`: then it lives until the process exits, and at
/// exit() delivers what it holds (or spools it) within shutdown_timeout_ms. For runtimes
/// that load the library again and again (PHP FFI per request, plugins): one client, one
/// queue, one sender per worker. Returns NULL on failure (pirsch_last_error and
/// pirsch_last_error_code say why). Does no network I/O.
///
/// @param name The client's name in this process, 1 to 64 bytes, e.g. "default".
/// @param client_id As pirsch_client_new.
/// @param client_secret As pirsch_client_new.
/// @param cfg As pirsch_client_new; used by the call that makes the client only.
/// @return The process's client of that name (give the reference back with pirsch_free), or NULL: see pirsch_last_error_code().
/// @par Threads
/// Any thread, and forked children.
#[no_mangle]
pub unsafe extern "C" fn pirsch_client_shared(
    name: *const c_char,
    client_id: *const c_char,
    client_secret: *const c_char,
    cfg: *const pirsch_config,
) -> *mut pirsch_client {
    guard(|| {
        clear_last_error();
        match shared(name, client_id, client_secret, cfg) {
            Ok(c) => c,
            Err(e) => {
                let code: pirsch_result = code_of(e.kind);
                set_last_error(
                    if code == 0 {
                        PIRSCH_ERR_INVALID_ARGUMENT
                    } else {
                        code
                    },
                    &e.message,
                );
                std::ptr::null_mut()
            }
        }
    })
}

/// For pirsch_free: gives back a reference when `client` is a shared client. Returns false
/// when it is not one (pirsch_free then frees it as usual).
pub(super) fn release(client: *mut pirsch_client) -> bool {
    for slot in &TABLE {
        let p = slot.load(Ordering::Acquire);
        // SAFETY: as in at_exit.
        let Some(e) = (unsafe { p.as_ref() }) else {
            continue;
        };
        if e.client != client {
            continue;
        }
        let left = match e
            .refs
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        {
            Ok(n) => n - 1,
            Err(_) => return true, // more frees than references: ignored, never a wrap
        };
        if left == 0 && !e.deliver_at_exit {
            // The last reference: unpublished, then freed (with delivery).
            if slot
                .compare_exchange(p, std::ptr::null_mut(), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                // SAFETY: unpublished by this thread, and no reference remains (a reference
                // is only taken while the count is above 0). The entry itself is leaked.
                unsafe { drop(Box::from_raw(e.client)) };
            }
        }
        return true;
    }
    false
}
