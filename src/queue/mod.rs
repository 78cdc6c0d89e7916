//! Background delivery: a bounded queue that enqueue never waits on for long, and a sender
//! thread that sends its batches through a `Sink` (the API in production, memory in the unit
//! tests), retries by outcome, splits refused batches, and counts every item until it is
//! sent or dropped for a reason.
//!
//! - `batch`: one batch request in the making (its body, grown item by item);
//! - `state`: the locked state (batches per kind, counters, what flush waits for);
//! - this file: the handle the client holds (enqueue, refuse early, flush, counters);
//! - `sender`: the sender's loop and its rules.

mod batch;

pub(crate) use batch::Spooled;
pub(crate) mod sender;
mod state;

pub(crate) use state::Stats;

use crate::error::{Error, ErrorKind};
use crate::item::Kind;
use crate::log::{Level, Log, RateLog};
use state::{kind_index, Asleep, DropReason, Queue};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The queue's share of the configuration.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub batch_size: usize,
    pub flush_interval: Duration,
    pub max_item_age: Duration,
    pub queue_capacity: usize,
    pub queue_max_bytes: usize,
}

/// The queue of one client in one process: what the enqueue side and the sender share.
pub(crate) struct QueueHandle {
    queue: Mutex<Queue>,
    /// Wakes the sender: work arrived, a flush was asked for, or shutdown.
    wake: Condvar,
    /// Wakes flush and shutdown waiters: a batch was finished.
    done: Condvar,
    /// Per process, like every lock a child must not inherit.
    rate_log: RateLog,
    /// Raised when the queue is at a bound, lowered when the sender takes a batch: while it
    /// is up, enqueue checks for room before building the item's JSON.
    full: AtomicBool,
    /// Batch requests made, and those that were tries again (outside the lock).
    batches: AtomicU64,
    retries: AtomicU64,
}

/// Why an item was not queued.
pub(crate) enum Refusal {
    /// pirsch_free was called.
    Closed,
    /// The queue was full; the item is counted: this is the new dropped_queue_full.
    Full(u64),
}

impl QueueHandle {
    pub fn new() -> QueueHandle {
        QueueHandle {
            queue: Mutex::new(Queue::new()),
            wake: Condvar::new(),
            done: Condvar::new(),
            rate_log: RateLog::default(),
            full: AtomicBool::new(false),
            batches: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds one item (its JSON is copied into the open batch of its kind). Never waits on
    /// the network: the lock is only ever held for queue bookkeeping, never while a request
    /// is in progress. Calls nothing of the user's: a refusal is put into words by
    /// `refusal_error`.
    pub fn enqueue(
        &self,
        settings: &Settings,
        kind: Kind,
        json: &[u8],
        queued_at: Instant,
        spooled: Option<Spooled>,
    ) -> Result<(), Refusal> {
        let mut q = self.lock();
        if q.closing {
            return Err(Refusal::Closed);
        }
        q.stats.enqueued += 1;
        if !q.has_room(settings, json.len()) {
            return Err(self.count_full(q));
        }
        let ready = q.push(
            kind_index(kind),
            json,
            queued_at,
            settings.batch_size,
            spooled,
        );
        if !q.below_bounds(settings) {
            self.full.store(true, Ordering::Relaxed);
        }
        // Wake the sender only when it sleeps and would otherwise sleep past something it
        // must do: a batch ready to go, or this item's flush_interval. A sender that is awake
        // looks at the queue under this lock before it sleeps again. (A wake is a system
        // call here and a context switch there: at most one per batch under steady load.)
        let wake = match q.sender_asleep {
            Asleep::Awake => false,
            Asleep::Forever => true,
            Asleep::Until(t) => ready || queued_at + settings.flush_interval < t,
        };
        drop(q);
        if wake {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Counts an item that found the queue full (the lock is held) as dropped.
    fn count_full(&self, mut q: MutexGuard<'_, Queue>) -> Refusal {
        self.full.store(true, Ordering::Relaxed);
        Refusal::Full(q.count_drop(DropReason::QueueFull, 1))
    }

    /// An item the queue refused as full was written to the spool instead: counted as
    /// spooled, no longer as dropped.
    pub fn full_to_spooled(&self) {
        let mut q = self.lock();
        q.stats.dropped_queue_full = q.stats.dropped_queue_full.saturating_sub(1);
        q.stats.spooled += 1;
    }

    /// While the queue is full, drops and counts a valid item before its JSON is built (the
    /// expensive part), so that a stalled API costs the request path as little as possible.
    /// Ok when there is room (or the client is closing: enqueue then says so).
    pub fn refuse_if_full(&self, settings: &Settings) -> Result<(), Refusal> {
        if !self.full.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut q = self.lock();
        if q.closing || q.below_bounds(settings) {
            return Ok(());
        }
        q.stats.enqueued += 1;
        Err(self.count_full(q))
    }

    /// The caller's error for a refusal, and for a full queue the warning (at most once a
    /// second). May call the user's logger, so call it holding no lock and no per-thread
    /// buffer.
    pub fn refusal_error(&self, refusal: Refusal, settings: &Settings, log: &Log) -> Error {
        let total =
            match refusal {
                Refusal::Closed => return Error::new(
                    ErrorKind::Closed,
                    "the client is shutting down (pirsch_free was called); the item was not queued",
                ),
                Refusal::Full(total) => total,
            };
        let (cap, max_bytes) = (settings.queue_capacity, settings.queue_max_bytes);
        self.rate_log.note(log, "queue_full", Level::Warn, || {
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

    /// Waits until everything queued before the call is sent or dropped, or the timeout.
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        let mut q = self.lock();
        let target = q.next_seq();
        if q.lowest_pending() >= target {
            return Ok(());
        }
        q.flush_waiters += 1;
        self.wake.notify_one();
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
            q = self
                .done
                .wait_timeout(q, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        };
        q.flush_waiters -= 1;
        result
    }

    /// The counters (those of the queue; the client adds its own).
    pub fn stats(&self) -> Stats {
        let mut s = self.lock().stats;
        s.batches = self.batches.load(Ordering::Relaxed);
        s.retries = self.retries.load(Ordering::Relaxed);
        s
    }

    /// The most bytes of JSON the queue ever held.
    pub fn peak_bytes(&self) -> usize {
        self.lock().peak_bytes
    }

    /// Readies the queue for a sender about to start: room for a full queue's batches (a
    /// client used only for blocking calls never pays for them).
    pub fn sender_starting(&self, settings: &Settings) {
        let mut q = self.lock();
        q.reserve(settings.queue_capacity, settings.batch_size);
        q.sender_running = true;
    }

    /// The sender could not be started after all.
    pub fn sender_failed_to_start(&self) {
        self.lock().sender_running = false;
    }

    /// Stops accepting items; the sender delivers what it can until `deadline`, then drops
    /// the rest as dropped_shutdown. Waits until the sender has finished or `give_up`;
    /// returns whether it finished.
    pub fn close(&self, deadline: Instant, give_up: Instant) -> bool {
        {
            let mut q = self.lock();
            q.closing = true;
            q.shutdown_deadline = Some(deadline);
        }
        self.wake.notify_all();
        self.wait_sender(give_up)
    }

    /// Waits until the sender thread has finished, or `give_up` passed (but not while it
    /// writes what is left to the spool); whether it finished.
    pub fn wait_sender(&self, give_up: Instant) -> bool {
        let mut q = self.lock();
        while q.sender_running && (Instant::now() < give_up || q.spooling) {
            // While spooling, woken by the sender's notify when it is done.
            let left = give_up
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(10));
            q = self
                .done
                .wait_timeout(q, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        !q.sender_running
    }
}
