//! What a client holds per process: connections, the token, the queue and its sender. A
//! child process after fork() gets fresh ones and never touches the parent's, whose locks
//! may have been held by a thread that does not exist in the child.

use crate::auth::TokenCache;
use crate::client::Core;
use crate::sender::Shared;
use crate::transport::Transport;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Mutex;
use std::thread::JoinHandle;

pub struct ProcessState {
    /// The fork generation this state belongs to (see `fork::generation`).
    pub generation: u64,
    pub transport: Transport,
    pub tokens: TokenCache,
    pub shared: Shared,
    pub sender: Mutex<Option<JoinHandle<()>>>,
    pub sender_started: AtomicBool,
    pub batches: AtomicU64,
    pub retries: AtomicU64,
    pub forks_detected: u64,
}

impl ProcessState {
    pub fn new(core: &Core, generation: u64, forks_detected: u64) -> ProcessState {
        ProcessState {
            generation,
            transport: Transport::new(
                core.base.clone(),
                core.config.timeout,
                core.proxy.clone(),
                core.roots.clone(),
            ),
            tokens: TokenCache::new(core.credentials.clone()),
            shared: Shared::new(),
            sender: Mutex::new(None),
            sender_started: AtomicBool::new(false),
            batches: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            forks_detected,
        }
    }
}
