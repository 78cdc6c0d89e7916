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

/// A batch request in the making: its body as it will be sent, less the closing `]` (`[`,
/// then the items' JSON objects separated by `,`), and each item's sequence number, queue
/// time and end offset. Items are copied into the open batch of their kind as they are
/// enqueued, so the sender sends the body as it is and nothing is allocated per item; spent
/// batches are kept for reuse.
pub struct Batch {
    body: Vec<u8>,
    items: Vec<Meta>,
}

#[derive(Clone, Copy)]
struct Meta {
    seq: u64,
    queued_at: Instant,
    /// Offset in `body` just past this item's JSON.
    end: u32,
}

impl Batch {
    fn with_capacity(bytes: usize, items: usize) -> Batch {
        let mut body = Vec::with_capacity(bytes);
        body.push(b'[');
        Batch {
            body,
            items: Vec::with_capacity(items),
        }
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether `json` fits under MAX_BATCH_BYTES (an empty batch takes anything).
    fn fits(&self, json: &[u8]) -> bool {
        self.items.is_empty() || self.body.len() + json.len() + 2 <= MAX_BATCH_BYTES
    }

    fn push(&mut self, seq: u64, queued_at: Instant, json: &[u8]) {
        if !self.items.is_empty() {
            self.body.push(b',');
        }
        self.body.extend_from_slice(json);
        self.items.push(Meta {
            seq,
            queued_at,
            end: self.body.len() as u32,
        });
    }

    /// Item `i`'s JSON.
    fn item(&self, i: usize) -> &[u8] {
        let start = if i == 0 {
            1
        } else {
            self.items[i - 1].end as usize + 1
        };
        &self.body[start..self.items[i].end as usize]
    }

    fn first(&self) -> Option<&Meta> {
        self.items.first()
    }

    /// A new batch with the items `keep` picks, copied (sized to fit them exactly).
    fn subset(&self, keep: impl Fn(usize, &Meta) -> bool) -> Batch {
        let picked: Vec<usize> = (0..self.items.len())
            .filter(|&i| keep(i, &self.items[i]))
            .collect();
        let bytes = picked
            .iter()
            .map(|&i| self.item(i).len() + 1)
            .sum::<usize>()
            + 2;
        let mut out = Batch::with_capacity(bytes, picked.len());
        for i in picked {
            let m = self.items[i];
            out.push(m.seq, m.queued_at, self.item(i));
        }
        out
    }

    fn clear(&mut self) {
        self.body.truncate(1);
        self.items.clear();
    }
}

/// Spent batches kept for reuse: enough for one being filled, one in flight and one waiting.
const SPARE_BATCHES: usize = 3;

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
    /// Per kind, the batches waiting, oldest first; the last one may still be filling.
    kinds: [VecDeque<Batch>; 3],
    /// Spent batches, emptied, for reuse (at most SPARE_BATCHES).
    spare: Vec<Batch>,
    /// The typical item's JSON size (a moving average), to size new batches by.
    avg_item: usize,
    /// queue_capacity: no batch holds more items than this.
    capacity: usize,
    /// Bytes of the queued batches' bodies (the items' JSON), against queue_max_bytes.
    queued_bytes: usize,
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
            spare: Vec::new(),
            avg_item: 0,
            capacity: usize::MAX,
            queued_bytes: 0,
            next_seq: 0,
            in_flight_min_seq: None,
            stats: Stats::default(),
            flush_waiters: 0,
            closing: false,
            shutdown_deadline: None,
            sender_running: false,
        }
    }

    /// Room for the batches a full queue holds, so that enqueue rarely reallocates. Called
    /// when the sender starts: a client used only for blocking calls never pays for a queue.
    pub fn reserve(&mut self, capacity: usize, batch_size: usize) {
        self.capacity = capacity;
        // Capped: a huge queue_capacity with tiny batches must not reserve megabytes.
        let batches = (capacity.div_ceil(batch_size.max(1)) + 1).min(1024);
        self.kinds[0].reserve(batches);
        self.spare.reserve(SPARE_BATCHES);
    }

    fn depth(&self) -> usize {
        self.stats.queue_depth as usize
    }

    /// Whether an item of `len` bytes finds room (queue_capacity and queue_max_bytes). An
    /// item larger than queue_max_bytes alone still goes into an empty queue.
    fn has_room(&self, config: &crate::config::Config, len: usize) -> bool {
        self.depth() < config.queue_capacity
            && (self.queued_bytes == 0 || self.queued_bytes + len + 1 <= config.queue_max_bytes)
    }

    /// Whether the queue is below both bounds (there may be room for a small item).
    fn below_bounds(&self, config: &crate::config::Config) -> bool {
        self.depth() < config.queue_capacity && self.queued_bytes < config.queue_max_bytes
    }

    /// The lowest sequence number not yet sent or dropped (`next_seq` when none).
    pub fn lowest_pending(&self) -> u64 {
        let mut low = self.in_flight_min_seq.unwrap_or(u64::MAX);
        for q in &self.kinds {
            if let Some(first) = q.front().and_then(Batch::first) {
                low = low.min(first.seq);
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
            .filter_map(|(i, q)| q.front().and_then(Batch::first).map(|f| (i, f.queued_at)))
            .min_by_key(|(_, t)| *t)
    }

    /// The kind whose front batch is full (it reached batch_size, or a newer batch was
    /// opened after it), the oldest such first.
    fn full_front(&self, batch_size: usize) -> Option<usize> {
        (0..self.kinds.len())
            .filter(|&i| {
                self.kinds[i].len() > 1
                    || self.kinds[i].front().is_some_and(|b| b.len() >= batch_size)
            })
            .min_by_key(|&i| self.kinds[i][0].first().map(|m| m.queued_at))
    }

    /// Appends an item to the open batch of its kind, opening a new one when that is full.
    /// Returns whether a batch became ready to send (full, or closed by a newer one).
    fn push(&mut self, idx: usize, json: &[u8], queued_at: Instant, batch_size: usize) -> bool {
        let seq = self.next_seq;
        self.next_seq += 1;
        let open = self.kinds[idx]
            .back()
            .is_some_and(|b| b.len() < batch_size && b.fits(json));
        self.avg_item = if self.avg_item == 0 {
            json.len()
        } else {
            self.avg_item - self.avg_item / 16 + json.len() / 16
        };
        let mut ready = false;
        if !open {
            ready = !self.kinds[idx].is_empty();
            let batch = match self.spare.pop() {
                Some(b) => b,
                None => {
                    let items = batch_size.min(self.capacity);
                    let bytes = (self.avg_item + 16).saturating_mul(items);
                    Batch::with_capacity(bytes.min(MAX_BATCH_BYTES), items)
                }
            };
            self.kinds[idx].push_back(batch);
        }
        let batch = self.kinds[idx].back_mut().expect("a batch was just opened");
        let before = batch.body.len();
        batch.push(seq, queued_at, json);
        self.queued_bytes += batch.body.len() - before;
        self.stats.queue_depth += 1;
        ready || batch.len() >= batch_size
    }

    /// Takes the oldest batch of a kind off the queue; its items are now in flight.
    fn take(&mut self, idx: usize) -> Option<Batch> {
        let batch = self.kinds[idx].pop_front()?;
        let n = batch.len() as u64;
        self.stats.queue_depth -= n;
        self.queued_bytes = self.queued_bytes.saturating_sub(batch.body.len());
        self.stats.in_flight += n;
        self.in_flight_min_seq = batch.first().map(|m| m.seq);
        Some(batch)
    }

    /// Drops everything queued; returns how many items that was.
    fn clear(&mut self) -> u64 {
        let left: u64 = self.kinds.iter().flatten().map(|b| b.len() as u64).sum();
        for k in self.kinds.iter_mut() {
            k.clear();
        }
        self.queued_bytes = 0;
        self.stats.queue_depth -= left;
        left
    }

    /// Keeps an emptied batch for reuse, unless enough are kept already; then it is handed
    /// back, to be freed once the lock is released.
    #[must_use = "free the batch after unlocking"]
    fn recycle(&mut self, mut batch: Batch) -> Option<Batch> {
        if self.spare.len() < SPARE_BATCHES && batch.body.capacity() <= 2 * MAX_BATCH_BYTES {
            batch.clear();
            self.spare.push(batch);
            None
        } else {
            Some(batch)
        }
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

/// Adds one item (its JSON is copied into the open batch of its kind). Never waits on the
/// network: the lock is only ever held for queue bookkeeping, never while a request is in
/// progress. Calls nothing of the user's: a refusal is reported by `Refused::report`.
pub fn enqueue(
    core: &Core,
    shared: &Shared,
    kind: Kind,
    json: &[u8],
    queued_at: Instant,
) -> Result<(), Refused> {
    let mut q = shared.lock();
    if q.closing {
        return Err(Refused::Closed);
    }
    q.stats.enqueued += 1;
    let depth = q.depth();
    if !q.has_room(&core.config, json.len()) {
        return Err(count_full(shared, q));
    }
    let ready = q.push(kind_index(kind), json, queued_at, core.config.batch_size);
    if !q.below_bounds(&core.config) {
        shared.full.store(true, Ordering::Relaxed);
    }
    drop(q);
    // Wake the sender only when it has something new to decide: the first item (it may be
    // sleeping without a deadline) or a batch ready to go.
    if depth == 0 || ready {
        shared.wake.notify_one();
    }
    Ok(())
}

/// Why an item was not queued.
pub enum Refused {
    /// pirsch_free was called.
    Closed,
    /// The queue was full; the item is counted, this is the new dropped_queue_full.
    Full(u64),
}

impl Refused {
    /// The caller's error, and for a full queue the warning (at most once a second). May
    /// call the user's logger, so call it holding no lock and no per-thread buffer.
    pub fn report(self, core: &Core, shared: &Shared) -> Error {
        let total =
            match self {
                Refused::Closed => return Error::new(
                    ErrorKind::Closed,
                    "the client is shutting down (pirsch_free was called); the item was not queued",
                ),
                Refused::Full(total) => total,
            };
        let (cap, max_bytes) = (core.config.queue_capacity, core.config.queue_max_bytes);
        shared.rate_log.note(&core.log, "queue_full", Level::Warn, || {
            format!(
                "the queue is full ({cap} items or {max_bytes} bytes): page views are being dropped (dropped_queue_full={total}); the API is slow or unreachable, or queue_capacity / queue_max_bytes is too small"
            )
        });
        // Fixed text: this is the hot path of an outage, and it allocates nothing.
        Error::new(
            ErrorKind::QueueFull,
            "the queue is full (queue_capacity items or queue_max_bytes bytes); the item was dropped and counted in dropped_queue_full",
        )
    }
}

/// Counts an item that found the queue full (the lock is held) as dropped.
fn count_full(shared: &Shared, mut q: MutexGuard<'_, Queue>) -> Refused {
    shared.full.store(true, Ordering::Relaxed);
    Refused::Full(q.count_drop(Drop::QueueFull, 1))
}

/// While the queue is full, drops and counts a valid item before its JSON is built (the
/// expensive part), so that a stalled API costs the request path as little as possible.
/// Ok when there is room (or the client is closing: enqueue then says so).
pub fn refuse_if_full(core: &Core, shared: &Shared) -> Result<(), Error> {
    if !shared.full.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut q = shared.lock();
    if q.closing || q.below_bounds(&core.config) {
        return Ok(());
    }
    q.stats.enqueued += 1;
    let refused = count_full(shared, q);
    Err(refused.report(core, shared))
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
        let lost = q.clear() + q.stats.in_flight;
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
                    let left = q.clear();
                    if left > 0 {
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
                if let Some((oldest_idx, oldest)) = q.oldest_front() {
                    // A full batch of any kind goes at once (the oldest first): a partial
                    // batch of another kind waiting for its interval must not hold it back.
                    // Otherwise the oldest partial batch goes when it is due.
                    let urgent = oldest.elapsed() >= core.config.flush_interval
                        || q.flush_waiters > 0
                        || q.closing;
                    let pick = q
                        .full_front(core.config.batch_size)
                        .or(urgent.then_some(oldest_idx));
                    if let Some(idx) = pick {
                        let batch = q.take(idx).expect("a batch was found");
                        if q.below_bounds(&core.config) {
                            shared.full.store(false, Ordering::Relaxed);
                        }
                        break (KINDS[idx], batch);
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
        deliver(core, state, batch.0, batch.1);
        let mut q = shared.lock();
        q.in_flight_min_seq = None;
        drop(q);
        shared.done.notify_all();
    }
}

/// Ends an in-flight batch: sent, or dropped for a reason; keeps it for reuse. Returns the
/// new total of that outcome's counter.
fn finish(state: &ProcessState, batch: Batch, outcome: Option<Drop>) -> u64 {
    let n = batch.len() as u64;
    let mut q = state.shared.lock();
    let unkept = q.recycle(batch);
    q.stats.in_flight -= n;
    let total = match outcome {
        None => {
            q.stats.sent += n;
            q.stats.sent
        }
        Some(why) => q.count_drop(why, n),
    };
    drop(q);
    drop(unkept);
    total
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
fn deliver(core: &Core, state: &ProcessState, kind: Kind, mut batch: Batch) {
    let is_key = core.credentials.is_access_key();
    let mut attempt = 0u32;
    loop {
        // Drop what is too old to be worth sending.
        let now = Instant::now();
        let fresh =
            |m: &Meta| now.saturating_duration_since(m.queued_at) < core.config.max_item_age;
        if !batch.items.iter().all(fresh) {
            let keep = batch.subset(|_, m| fresh(m));
            let expired = batch.len() - keep.len();
            let old = std::mem::replace(&mut batch, keep);
            // `old` is counted whole, then the kept items are back in flight.
            let (total, unkept) = {
                let mut q = state.shared.lock();
                q.stats.in_flight -= expired as u64;
                let unkept = q.recycle(old);
                (q.count_drop(Drop::Expired, expired as u64), unkept)
            };
            drop(unkept);
            state.shared.rate_log.note(&core.log, "expired", Level::Warn, || {
                format!("{expired} items were older than max_item_age_ms and were dropped (dropped_expired={total})")
            });
        }
        if batch.items.is_empty() {
            let unkept = state.shared.lock().recycle(batch);
            drop(unkept);
            return;
        }
        let deadline = state.shared.lock().shutdown_deadline;
        if let Some(d) = deadline {
            if Instant::now() >= d {
                finish(state, batch, Some(Drop::Shutdown));
                return;
            }
        }
        state.batches.fetch_add(1, Ordering::Relaxed);
        batch.body.push(b']');
        let result = core.send_authed(
            state,
            "POST",
            kind.batch_path(),
            Some(&batch.body),
            deadline,
            crate::transport::MAX_SMALL_RESPONSE_BYTES,
        );
        batch.body.pop();
        match classify(core, result, is_key) {
            Outcome::Sent => {
                let n = batch.len();
                finish(state, batch, None);
                if attempt > 0 {
                    log_at!(
                        core.log,
                        Level::Info,
                        "a batch of {n} went through after {attempt} retries"
                    );
                }
                return;
            }
            Outcome::Refused(err) if batch.len() > 1 => {
                log_at!(
                    core.log,
                    Level::Debug,
                    "the API refused a batch of {}; splitting it: {}",
                    batch.len(),
                    err.message
                );
                let half = batch.len() / 2;
                let first = batch.subset(|i, _| i < half);
                let second = batch.subset(|i, _| i >= half);
                let unkept = state.shared.lock().recycle(batch);
                drop(unkept);
                deliver(core, state, kind, first);
                deliver(core, state, kind, second);
                return;
            }
            Outcome::Refused(err) | Outcome::Drop(err) => {
                let n = batch.len();
                let total = finish(state, batch, Some(Drop::Rejected));
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
                    format!("delivering a batch of {} failed, trying again in {} ms (retries so far: {retries}): {}", batch.len(), wait.as_millis(), err.message)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &Batch) -> Vec<serde_json::Value> {
        let mut body = b.body.clone();
        body.push(b']');
        serde_json::from_slice(&body).expect("a batch body is a JSON array")
    }

    #[test]
    fn a_batch_is_its_request_body_and_splits_by_item() {
        let t = Instant::now();
        let mut b = Batch::with_capacity(8, 2);
        assert!(parse(&b).is_empty());
        for i in 0..5u64 {
            b.push(i, t, format!("{{\"n\":{i},\"s\":\"a,b\"}}").as_bytes());
        }
        let all = parse(&b);
        assert_eq!(all.len(), 5);
        for (i, whole) in all.iter().enumerate() {
            assert_eq!(whole["n"], i as u64);
            let one: serde_json::Value = serde_json::from_slice(b.item(i)).unwrap();
            assert_eq!(&one, whole);
        }
        let odd = b.subset(|_, m| m.seq % 2 == 1);
        assert_eq!(parse(&odd), vec![all[1].clone(), all[3].clone()]);
        assert_eq!(odd.items.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 3]);
        let none = b.subset(|_, _| false);
        assert!(none.items.is_empty() && parse(&none).is_empty());
        b.clear();
        assert!(parse(&b).is_empty() && b.first().is_none());
    }

    #[test]
    fn the_queue_opens_a_batch_per_batch_size_and_per_max_bytes() {
        let t = Instant::now();
        let mut q = Queue::new();
        let small = br#"{"x":1}"#;
        let ready: Vec<bool> = (0..7).map(|_| q.push(0, small, t, 3)).collect();
        // The third item fills the first batch; the fourth opens a second one.
        assert_eq!(ready, [false, false, true, true, false, true, true]);
        assert_eq!(
            q.kinds[0].iter().map(Batch::len).collect::<Vec<_>>(),
            [3, 3, 1]
        );
        assert_eq!(q.depth(), 7);
        assert_eq!(q.lowest_pending(), 0);
        let first = q.take(0).unwrap();
        assert_eq!((q.depth(), q.stats.in_flight), (4, 3));
        assert_eq!(q.in_flight_min_seq, Some(0));
        assert_eq!(q.lowest_pending(), 0);
        assert!(q.recycle(first).is_none());
        assert_eq!(q.spare.len(), 1);
        // Big items: a batch never passes MAX_BATCH_BYTES, but one item always fits.
        let big = vec![b'1'; MAX_BATCH_BYTES / 2];
        let mut q = Queue::new();
        q.push(1, &big, t, 100);
        q.push(1, &big, t, 100);
        let huge = vec![b'2'; MAX_BATCH_BYTES + 10];
        q.push(1, &huge, t, 100);
        assert_eq!(
            q.kinds[1].iter().map(Batch::len).collect::<Vec<_>>(),
            [1, 1, 1]
        );
        assert!(q.kinds[1]
            .iter()
            .take(2)
            .all(|b| b.body.len() < MAX_BATCH_BYTES));
        assert_eq!(q.clear(), 3);
        assert_eq!(q.depth(), 0);
        // A small queue with a large batch_size sizes its batches by the queue.
        let mut q = Queue::new();
        q.reserve(10, 1000);
        q.push(0, &[b'x'; 400], t, 1000);
        let b = &q.kinds[0][0];
        assert!(
            b.items.capacity() <= 10 && b.body.capacity() <= 10 * 500,
            "{}",
            b.body.capacity()
        );
        // A split half is sized for its own items.
        let mut big = Batch::with_capacity(0, 0);
        for i in 0..100 {
            big.push(i, t, &[b'y'; 400]);
        }
        let half = big.subset(|i, _| i < 50);
        assert!(half.body.capacity() <= 50 * 401 + 2 && half.len() == 50);
    }
}
