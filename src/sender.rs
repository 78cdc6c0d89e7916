//! Background delivery: a bounded queue that enqueue never waits on for long, and one sender
//! thread per client per process that sends batches in order, retries by outcome, splits
//! refused batches, and counts every item until it is sent or dropped for a reason.

use crate::client::Core;
use crate::error::{Error, ErrorKind};
use crate::log::{Level, RateLog};
use crate::log_at;
use crate::payload::Kind;
use crate::process::ProcessState;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Upper bound of one batch request's JSON.
pub const MAX_BATCH_BYTES: usize = 500 * 1024;

/// One queued item: its JSON object (with `time`) and when it was queued.
pub struct Item {
    pub seq: u64,
    pub json: Box<[u8]>,
    pub queued_at: Instant,
}

/// Counters; all but the last three change under the queue lock, so that
/// `enqueued == sent + dropped_* + queue_depth + in_flight` holds whenever they are read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub enqueued: u64,
    pub sent: u64,
    pub batches: u64,
    pub retries: u64,
    pub dropped_queue_full: u64,
    pub dropped_rejected: u64,
    pub dropped_expired: u64,
    pub dropped_shutdown: u64,
    pub queue_depth: u64,
    pub in_flight: u64,
    pub token_refreshes: u64,
    pub forks_detected: u64,
}

impl Stats {
    pub fn invariant_holds(&self) -> bool {
        self.enqueued
            == self.sent
                + self.dropped_queue_full
                + self.dropped_rejected
                + self.dropped_expired
                + self.dropped_shutdown
                + self.queue_depth
                + self.in_flight
    }
}

/// Why items were dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drop {
    QueueFull,
    Rejected,
    Expired,
    Shutdown,
}

pub struct Queue {
    kinds: [VecDeque<Item>; 3],
    next_seq: u64,
    /// Lowest sequence number of the batch being sent, if any.
    in_flight_min_seq: Option<u64>,
    pub stats: Stats,
    /// Raised by pirsch_flush: send partial batches now.
    pub flush_waiters: u32,
    pub closing: bool,
    /// pirsch_free's deadline for delivering what is left.
    pub shutdown_deadline: Option<Instant>,
    pub sender_running: bool,
}

fn kind_index(k: Kind) -> usize {
    match k {
        Kind::Hit => 0,
        Kind::Event => 1,
        Kind::Session => 2,
    }
}

const KINDS: [Kind; 3] = [Kind::Hit, Kind::Event, Kind::Session];

impl Queue {
    pub fn new() -> Queue {
        Queue {
            kinds: [VecDeque::new(), VecDeque::new(), VecDeque::new()],
            next_seq: 0,
            in_flight_min_seq: None,
            stats: Stats::default(),
            flush_waiters: 0,
            closing: false,
            shutdown_deadline: None,
            sender_running: false,
        }
    }

    /// Room for a few thousand items, so that enqueue rarely reallocates. Called when the
    /// sender starts: a client used only for blocking calls never pays for a queue.
    pub fn reserve(&mut self, capacity: usize) {
        let pre = capacity.min(4096);
        self.kinds[0].reserve(pre);
        self.kinds[1].reserve(pre / 8);
        self.kinds[2].reserve(pre / 8);
    }

    fn depth(&self) -> usize {
        self.kinds.iter().map(|q| q.len()).sum()
    }

    /// The lowest sequence number not yet sent or dropped (`next_seq` when none).
    pub fn lowest_pending(&self) -> u64 {
        let mut low = self.in_flight_min_seq.unwrap_or(u64::MAX);
        for q in &self.kinds {
            if let Some(front) = q.front() {
                low = low.min(front.seq);
            }
        }
        low.min(self.next_seq)
    }

    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn oldest_front(&self) -> Option<(usize, Instant)> {
        self.kinds
            .iter()
            .enumerate()
            .filter_map(|(i, q)| q.front().map(|f| (i, f.queued_at)))
            .min_by_key(|(_, t)| *t)
    }

    /// Counts `n` drops; returns the new total for that reason.
    fn count_drop(&mut self, why: Drop, n: u64) -> u64 {
        let counter = match why {
            Drop::QueueFull => &mut self.stats.dropped_queue_full,
            Drop::Rejected => &mut self.stats.dropped_rejected,
            Drop::Expired => &mut self.stats.dropped_expired,
            Drop::Shutdown => &mut self.stats.dropped_shutdown,
        };
        *counter += n;
        *counter
    }
}

/// What the enqueue side and the sender share.
pub struct Shared {
    pub queue: Mutex<Queue>,
    /// Wakes the sender: work arrived, a flush was asked for, or shutdown.
    pub wake: Condvar,
    /// Wakes flush and shutdown waiters: a batch was finished.
    pub done: Condvar,
    /// Per process, like every lock a child must not inherit.
    pub rate_log: RateLog,
    /// Raised when the queue is at queue_capacity, lowered when the sender takes a batch:
    /// while it is up, enqueue checks for room before building the item's JSON.
    pub full: AtomicBool,
}

impl Shared {
    pub fn new() -> Shared {
        Shared {
            queue: Mutex::new(Queue::new()),
            wake: Condvar::new(),
            done: Condvar::new(),
            rate_log: RateLog::default(),
            full: AtomicBool::new(false),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Adds one item. Never waits on the network: the lock is only ever held for queue
/// bookkeeping, never while a request is in progress.
pub fn enqueue(
    core: &Core,
    shared: &Shared,
    kind: Kind,
    json: Box<[u8]>,
    queued_at: Instant,
) -> Result<(), Error> {
    let mut q = shared.lock();
    if q.closing {
        return Err(Error::new(
            ErrorKind::Closed,
            "the client is shutting down (pirsch_free was called); the item was not queued",
        ));
    }
    q.stats.enqueued += 1;
    let depth = q.depth();
    if depth >= core.config.queue_capacity {
        return Err(drop_full(core, shared, q));
    }
    let seq = q.next_seq;
    q.next_seq += 1;
    q.kinds[kind_index(kind)].push_back(Item {
        seq,
        json,
        queued_at,
    });
    q.stats.queue_depth += 1;
    if depth + 1 >= core.config.queue_capacity {
        shared.full.store(true, Ordering::Relaxed);
    }
    // Wake the sender only when it has something new to decide: the first item (it may be
    // sleeping without a deadline) or a full batch.
    let wake = depth == 0 || (depth + 1) % core.config.batch_size == 0;
    drop(q);
    if wake {
        shared.wake.notify_one();
    }
    Ok(())
}

/// Counts an item that found the queue full (the lock is held) as dropped.
fn drop_full(core: &Core, shared: &Shared, mut q: MutexGuard<'_, Queue>) -> Error {
    shared.full.store(true, Ordering::Relaxed);
    q.count_drop(Drop::QueueFull, 1);
    let total = q.stats.dropped_queue_full;
    drop(q);
    shared.rate_log.note(&core.log, "queue_full", Level::Warn, || {
        format!(
            "the queue is full ({} items): page views are being dropped (dropped_queue_full={total}); the API is slow or unreachable, or queue_capacity is too small",
            core.config.queue_capacity
        )
    });
    Error::new(
        ErrorKind::QueueFull,
        format!("the queue is full ({} items; queue_capacity); the item was dropped and counted in dropped_queue_full", core.config.queue_capacity),
    )
}

/// While the queue is full, drops and counts a valid item before its JSON is built (the
/// expensive part), so that a stalled API costs the request path as little as possible.
/// Ok when there is room (or the client is closing: enqueue then says so).
pub fn refuse_if_full(core: &Core, shared: &Shared) -> Result<(), Error> {
    if !shared.full.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut q = shared.lock();
    if q.closing || q.depth() < core.config.queue_capacity {
        return Ok(());
    }
    q.stats.enqueued += 1;
    Err(drop_full(core, shared, q))
}

/// Waits until everything queued before the call is sent or dropped, or the timeout.
pub fn flush(shared: &Shared, timeout: Duration) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    let mut q = shared.lock();
    let target = q.next_seq();
    if q.lowest_pending() >= target {
        return Ok(());
    }
    q.flush_waiters += 1;
    shared.wake.notify_one();
    let result = loop {
        if q.lowest_pending() >= target {
            break Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            let left = q.stats.queue_depth + q.stats.in_flight;
            break Err(Error::new(
                ErrorKind::Timeout,
                format!("flush timed out after {} ms with {left} items not yet delivered (they stay queued)", timeout.as_millis()),
            ));
        }
        q = shared
            .done
            .wait_timeout(q, deadline - now)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    };
    q.flush_waiters -= 1;
    result
}

/// Full-jitter exponential backoff: random in [0, min(cap, 500 ms * 2^n)].
fn backoff(attempt: u32) -> Duration {
    let ceiling = 500u64.saturating_mul(1u64 << attempt.min(16)).min(30_000);
    Duration::from_millis(crate::rand::below(ceiling + 1))
}

/// The sender thread: its loop, with a panic (a bug) caught so that nothing is left
/// counted as in flight forever and the next enqueue starts a new sender.
pub fn run(core: Arc<Core>, state: Arc<ProcessState>) {
    crate::ffi::mark_library_thread();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_loop(&core, &state)));
    if result.is_err() {
        let mut q = state.shared.lock();
        let lost = q.stats.queue_depth + q.stats.in_flight;
        for k in q.kinds.iter_mut() {
            k.clear();
        }
        q.stats.queue_depth = 0;
        q.stats.in_flight = 0;
        state.shared.full.store(false, Ordering::Relaxed);
        q.in_flight_min_seq = None;
        q.count_drop(Drop::Shutdown, lost);
        q.sender_running = false;
        drop(q);
        *state.sender.lock().unwrap_or_else(|p| p.into_inner()) = None;
        state.sender_started.store(false, Ordering::Release);
        state.shared.done.notify_all();
        log_at!(core.log, Level::Error, "internal error: the sender thread panicked (a bug; please report it); {lost} items were dropped and counted as dropped_shutdown");
    }
}

fn run_loop(core: &Arc<Core>, state: &Arc<ProcessState>) {
    let core: &Core = core;
    let state: &ProcessState = state;
    let shared = &state.shared;
    let mut body = Vec::new();
    loop {
        let batch = {
            let mut q = shared.lock();
            loop {
                let depth = q.depth();
                if q.closing
                    && (depth == 0
                        || q.shutdown_deadline
                            .map(|d| Instant::now() >= d)
                            .unwrap_or(false))
                {
                    // Whatever is left can no longer be delivered in time.
                    let left: u64 = q.kinds.iter().map(|k| k.len() as u64).sum();
                    if left > 0 {
                        for k in q.kinds.iter_mut() {
                            k.clear();
                        }
                        q.stats.queue_depth -= left;
                        q.count_drop(Drop::Shutdown, left);
                    }
                    q.sender_running = false;
                    drop(q);
                    shared.done.notify_all();
                    // Never call the user's logger with the queue locked.
                    if left > 0 {
                        log_at!(core.log, Level::Warn, "shutdown: {left} queued items could not be delivered within shutdown_timeout_ms (dropped_shutdown)");
                    }
                    return;
                }
                if let Some((idx, oldest)) = q.oldest_front() {
                    let full = q.kinds[idx].len() >= core.config.batch_size;
                    let due = oldest.elapsed() >= core.config.flush_interval;
                    if full || due || q.flush_waiters > 0 || q.closing {
                        let batch = take_batch(&mut q, idx, core.config.batch_size);
                        if q.depth() < core.config.queue_capacity {
                            shared.full.store(false, Ordering::Relaxed);
                        }
                        break batch;
                    }
                    let wait = core.config.flush_interval.saturating_sub(oldest.elapsed());
                    q = shared
                        .wake
                        .wait_timeout(q, wait)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                } else {
                    q = shared.wake.wait(q).unwrap_or_else(|p| p.into_inner());
                }
            }
        };
        deliver(core, state, batch.0, batch.1, &mut body);
        let mut q = shared.lock();
        q.in_flight_min_seq = None;
        drop(q);
        shared.done.notify_all();
    }
}

/// Takes up to `max` items of one kind (and at most MAX_BATCH_BYTES of JSON) off the queue.
fn take_batch(q: &mut Queue, idx: usize, max: usize) -> (Kind, Vec<Item>) {
    let mut items = Vec::with_capacity(max.min(q.kinds[idx].len()));
    let mut bytes = 2;
    while items.len() < max {
        match q.kinds[idx].front() {
            Some(front) if items.is_empty() || bytes + front.json.len() + 1 <= MAX_BATCH_BYTES => {
                bytes += front.json.len() + 1;
                items.push(q.kinds[idx].pop_front().unwrap());
            }
            _ => break,
        }
    }
    let n = items.len() as u64;
    q.stats.queue_depth -= n;
    q.stats.in_flight += n;
    q.in_flight_min_seq = items.first().map(|i| i.seq);
    (KINDS[idx], items)
}

/// Ends `n` in-flight items: sent, or dropped for a reason. Returns the new total of that
/// outcome's counter.
fn finish(state: &ProcessState, items: Vec<Item>, outcome: Option<Drop>) -> u64 {
    let n = items.len() as u64;
    drop(items);
    let mut q = state.shared.lock();
    q.stats.in_flight -= n;
    match outcome {
        None => {
            q.stats.sent += n;
            q.stats.sent
        }
        Some(why) => q.count_drop(why, n),
    }
}

enum Outcome {
    Sent,
    /// Try the same request again after at least this long.
    Retry(Option<Duration>, Error),
    /// The API refused the content of the batch: split it (or drop a single item).
    Refused(Error),
    /// Refused for a reason splitting cannot fix: drop the batch.
    Drop(Error),
}

/// The longest a server's Retry-After may hold the sender (it holds every kind of item).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

fn classify(
    core: &Core,
    result: Result<crate::transport::Response, Error>,
    credentials_are_key: bool,
) -> Outcome {
    match result {
        Ok(resp) if resp.is_success() => Outcome::Sent,
        Ok(resp) => {
            let err = core.http_error("batch", &resp);
            match resp.status {
                408 | 429 | 500 | 502 | 503 | 504 => {
                    Outcome::Retry(resp.retry_after_ms.map(Duration::from_millis), err)
                }
                400 | 413 | 422 => Outcome::Refused(err),
                _ => Outcome::Drop(err),
            }
        }
        Err(e) if e.kind == ErrorKind::Auth && credentials_are_key => {
            Outcome::Retry(Some(Duration::from_secs(60)), e)
        }
        Err(e) if e.kind == ErrorKind::Auth => Outcome::Retry(None, e),
        Err(e) if e.is_retryable() => {
            Outcome::Retry(e.retry_after_ms.map(Duration::from_millis), e)
        }
        Err(e) if e.kind == ErrorKind::Http => Outcome::Retry(None, e), // token endpoint 5xx etc.
        Err(e) => Outcome::Drop(e),
    }
}

/// Delivers a batch: retries what can succeed later, splits what the API refuses, and
/// stops at the shutdown deadline. Every item ends sent or counted as dropped.
/// `body` is the sender's reused request buffer.
fn deliver(
    core: &Core,
    state: &ProcessState,
    kind: Kind,
    mut items: Vec<Item>,
    body: &mut Vec<u8>,
) {
    let is_key = core.credentials.is_access_key();
    let mut attempt = 0u32;
    loop {
        // Drop what is too old to be worth sending.
        let now = Instant::now();
        let fresh =
            |i: &Item| now.saturating_duration_since(i.queued_at) < core.config.max_item_age;
        if !items.iter().all(fresh) {
            let (keep, old): (Vec<Item>, Vec<Item>) = items.into_iter().partition(fresh);
            items = keep;
            let expired = old.len();
            let total = finish(state, old, Some(Drop::Expired));
            state.shared.rate_log.note(&core.log, "expired", Level::Warn, || {
                format!("{expired} items were older than max_item_age_ms and were dropped (dropped_expired={total})")
            });
        }
        if items.is_empty() {
            return;
        }
        let deadline = state.shared.lock().shutdown_deadline;
        if let Some(d) = deadline {
            if Instant::now() >= d {
                finish(state, items, Some(Drop::Shutdown));
                return;
            }
        }
        body.clear();
        body.reserve(items.iter().map(|i| i.json.len() + 1).sum::<usize>() + 2);
        body.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&item.json);
        }
        body.push(b']');
        state.batches.fetch_add(1, Ordering::Relaxed);
        let result = core.send_authed(state, "POST", kind.batch_path(), Some(body), deadline);
        match classify(core, result, is_key) {
            Outcome::Sent => {
                let n = items.len();
                finish(state, items, None);
                if attempt > 0 {
                    log_at!(
                        core.log,
                        Level::Info,
                        "a batch of {n} went through after {attempt} retries"
                    );
                }
                return;
            }
            Outcome::Refused(err) if items.len() > 1 => {
                log_at!(
                    core.log,
                    Level::Debug,
                    "the API refused a batch of {}; splitting it: {}",
                    items.len(),
                    err.message
                );
                let second = items.split_off(items.len() / 2);
                deliver(core, state, kind, items, body);
                deliver(core, state, kind, second, body);
                return;
            }
            Outcome::Refused(err) | Outcome::Drop(err) => {
                let n = items.len();
                let total = finish(state, items, Some(Drop::Rejected));
                state.shared.rate_log.note(&core.log, "rejected", Level::Warn, || {
                    format!("the API refused {n} {}(s), which were dropped (dropped_rejected={total}): {}", kind.noun(), err.message)
                });
                return;
            }
            Outcome::Retry(min_wait, err) => {
                let wait = backoff(attempt).max(min_wait.unwrap_or_default().min(MAX_RETRY_AFTER));
                attempt = attempt.saturating_add(1);
                state.retries.fetch_add(1, Ordering::Relaxed);
                let retries = state.retries.load(Ordering::Relaxed);
                state.shared.rate_log.note(&core.log, "retry", Level::Warn, || {
                    format!("delivering a batch of {} failed, trying again in {} ms (retries so far: {retries}): {}", items.len(), wait.as_millis(), err.message)
                });
                // Sleep, but wake at once for shutdown.
                let until = Instant::now() + wait;
                let mut q = state.shared.lock();
                loop {
                    let now = Instant::now();
                    let stop_at = q.shutdown_deadline.map(|d| d.min(until)).unwrap_or(until);
                    if now >= stop_at {
                        break;
                    }
                    q = state
                        .shared
                        .wake
                        .wait_timeout(q, stop_at - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
    }
}
