//! The sender: takes batches off the queue and delivers them through a `Sink`.
//!
//! Its rules:
//! - a full batch goes at once; a partial one after flush_interval, or at once while a flush
//!   or shutdown waits;
//! - a batch that fails with something that may pass later is tried again after a backoff,
//!   **without holding back the batches behind it**: up to `MAX_RETRYING` batches wait for
//!   their turn while fresh ones go out. Everything pauses only when the API asked for it
//!   (Retry-After), the credentials failed, or two requests in a row failed (the API is
//!   down: one request per backoff then, not one per batch);
//! - a batch the API refuses for its content is split in halves until the refused items
//!   stand alone, and those are dropped (dropped_rejected);
//! - items older than max_item_age are dropped before a try (dropped_expired);
//! - at the shutdown deadline everything left is dropped (dropped_shutdown).
//!
//! Time comes from a `Clock`, so that the unit tests below run these rules against an
//! in-memory sink without sleeping.

use super::batch::Batch;
use super::state::{DropReason, Queue, KINDS};
use super::{QueueHandle, Settings};
use crate::api::Outcome;
use crate::backoff::QUEUE;
use crate::error::Error;
use crate::item::Kind;
use crate::log::{Level, Log};
use crate::log_at;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Condvar, MutexGuard};
use std::time::{Duration, Instant};

/// Where batches go: the API in production.
pub(crate) trait Sink {
    /// Sends one batch request (`body` is a JSON array of `kind` items); `deadline` cuts
    /// the request short while shutting down.
    fn post_batch(&self, kind: Kind, body: &[u8], deadline: Option<Instant>) -> Outcome;
}

/// The sender's time: the real clock, or a virtual one in tests.
pub(crate) trait Clock {
    fn now(&self) -> Instant;
    /// Waits on `cv` until `until` (None: until notified).
    fn wait<'a>(
        &self,
        cv: &Condvar,
        q: MutexGuard<'a, Queue>,
        until: Option<Instant>,
    ) -> MutexGuard<'a, Queue>;
}

impl Sink for crate::api::Api {
    fn post_batch(&self, kind: Kind, body: &[u8], deadline: Option<Instant>) -> Outcome {
        crate::api::Api::post_batch(self, kind, body, deadline)
    }
}

pub(crate) struct RealClock;

impl Clock for RealClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wait<'a>(
        &self,
        cv: &Condvar,
        q: MutexGuard<'a, Queue>,
        until: Option<Instant>,
    ) -> MutexGuard<'a, Queue> {
        match until {
            Some(t) => {
                let left = t.saturating_duration_since(Instant::now());
                cv.wait_timeout(q, left)
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
            None => cv.wait(q).unwrap_or_else(|p| p.into_inner()),
        }
    }
}

/// At most this many batches wait to be tried again while fresh ones go out; then the
/// sender waits for them (and the queue fills, counting its refusals).
const MAX_RETRYING: usize = 4;

/// The least the sender pauses once two requests in a row have failed.
const MIN_PAUSE: Duration = Duration::from_millis(100);

/// The longest a server's Retry-After may pause the sender.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// A batch off the queue that is not finished: split off, or waiting to be tried again.
struct Pending {
    kind: Kind,
    batch: Batch,
    attempt: u32,
    due: Instant,
}

/// What the sender does next.
enum Step {
    Send(Pending),
    /// Shutdown: everything left was dropped; the sender ends.
    Stop,
}

/// The sender's own state (outside the lock).
struct Sender<'a, S: Sink, C: Clock> {
    queue: &'a QueueHandle,
    sink: &'a S,
    settings: &'a Settings,
    log: &'a Log,
    clock: &'a C,
    /// Split halves (at the front, due now) and batches to try again.
    pending: VecDeque<Pending>,
    /// Nothing is sent before this (Retry-After, failed credentials, the API down).
    paused_until: Option<Instant>,
    /// Requests that failed in a row, whichever batch they carried.
    failures_in_a_row: u32,
}

/// Runs the sender until shutdown. A panic (a bug) is caught: everything queued and pending
/// is counted as dropped_shutdown, so that nothing stays counted as in flight for ever.
/// Returns false after a panic (the client may start a new sender).
pub(crate) fn run_sender<S: Sink, C: Clock>(
    queue: &QueueHandle,
    sink: &S,
    settings: &Settings,
    log: &Log,
    clock: &C,
) -> bool {
    crate::panic::mark_library_thread();
    let mut sender = Sender {
        queue,
        sink,
        settings,
        log,
        clock,
        pending: VecDeque::new(),
        paused_until: None,
        failures_in_a_row: 0,
    };
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sender.run_loop()));
    if ran.is_ok() {
        return true;
    }
    let mut q = queue.lock();
    let lost = q.clear() + q.stats.in_flight;
    q.stats.in_flight = 0;
    q.untrack_all();
    q.count_drop(DropReason::Shutdown, lost);
    q.sender_running = false;
    drop(q);
    queue.full.store(false, Ordering::Relaxed);
    queue.done.notify_all();
    log_at!(log, Level::Error, "internal error: the sender thread panicked (a bug; please report it); {lost} items were dropped and counted as dropped_shutdown");
    false
}

impl<S: Sink, C: Clock> Sender<'_, S, C> {
    fn run_loop(&mut self) {
        loop {
            match self.next_step() {
                Step::Stop => return,
                Step::Send(p) => self.attempt(p),
            }
            self.queue.done.notify_all();
        }
    }

    /// Waits for the next thing to do, under the lock.
    fn next_step(&mut self) -> Step {
        let mut q = self.queue.lock();
        loop {
            let now = self.clock.now();
            let past_deadline = q.shutdown_deadline.is_some_and(|d| now >= d);
            if q.closing && (past_deadline || (q.depth() == 0 && self.pending.is_empty())) {
                self.stop(q);
                return Step::Stop;
            }
            let mut wake_at = q.shutdown_deadline;
            let paused = self.paused_until.filter(|t| *t > now);
            if let Some(until) = paused {
                wake_at = earliest(wake_at, Some(until));
            } else {
                // Split halves and batches due again come first (the oldest items).
                if let Some(i) = self.due_pending(now) {
                    let p = self.pending.remove(i).expect("a pending batch");
                    return Step::Send(p);
                }
                if self.pending.len() < MAX_RETRYING {
                    if let Some((kind, batch)) = self.take_ready(&mut q, now) {
                        return Step::Send(Pending {
                            kind,
                            batch,
                            attempt: 0,
                            due: now,
                        });
                    }
                    wake_at = earliest(wake_at, self.flush_due(&q));
                }
                wake_at = earliest(wake_at, self.pending.iter().map(|p| p.due).min());
            }
            q = self.clock.wait(&self.queue.wake, q, wake_at);
        }
    }

    /// The pending batch due first, if its time has come.
    fn due_pending(&self, now: Instant) -> Option<usize> {
        let (i, p) = self.pending.iter().enumerate().min_by_key(|(_, p)| p.due)?;
        (p.due <= now).then_some(i)
    }

    /// A batch ready to go: a full one of any kind (the oldest first), or the oldest partial
    /// one once it is due (flush_interval), or at once while a flush or shutdown waits.
    fn take_ready(&self, q: &mut Queue, now: Instant) -> Option<(Kind, Batch)> {
        let (oldest_idx, oldest) = q.oldest_front()?;
        let urgent = now.saturating_duration_since(oldest) >= self.settings.flush_interval
            || q.flush_waiters > 0
            || q.closing;
        let idx = q
            .full_front(self.settings.batch_size)
            .or(urgent.then_some(oldest_idx))?;
        let batch = q.take(idx)?;
        if q.below_bounds(self.settings) {
            self.queue.full.store(false, Ordering::Relaxed);
        }
        Some((KINDS[idx], batch))
    }

    /// When the oldest partial batch becomes due.
    fn flush_due(&self, q: &Queue) -> Option<Instant> {
        q.oldest_front()
            .map(|(_, oldest)| oldest + self.settings.flush_interval)
    }

    /// Shutdown: drops whatever is left (queued and pending), says so, and ends.
    fn stop(&mut self, mut q: MutexGuard<'_, Queue>) {
        let mut left = q.clear();
        for p in self.pending.drain(..) {
            let n = p.batch.len() as u64;
            q.stats.in_flight -= n;
            q.untrack(&p.batch);
            left += n;
        }
        if left > 0 {
            q.count_drop(DropReason::Shutdown, left);
        }
        q.sender_running = false;
        drop(q);
        self.queue.done.notify_all();
        // Never call the user's logger with the queue locked.
        if left > 0 {
            log_at!(self.log, Level::Warn, "shutdown: {left} queued items could not be delivered within shutdown_timeout_ms (dropped_shutdown)");
        }
    }

    /// One try of one batch, and what follows from its outcome.
    fn attempt(&mut self, mut p: Pending) {
        self.drop_expired(&mut p.batch);
        if p.batch.len() == 0 {
            self.finish(p.batch, None);
            return;
        }
        let deadline = self.queue.lock().shutdown_deadline;
        if deadline.is_some_and(|d| self.clock.now() >= d) {
            self.finish(p.batch, Some(DropReason::Shutdown));
            return;
        }
        self.queue.batches.fetch_add(1, Ordering::Relaxed);
        p.batch.body.push(b']');
        let outcome = self.sink.post_batch(p.kind, &p.batch.body, deadline);
        p.batch.body.pop();
        match outcome {
            Outcome::Sent => {
                self.failures_in_a_row = 0;
                let (n, attempt) = (p.batch.len(), p.attempt);
                self.finish(p.batch, None);
                if attempt > 0 {
                    log_at!(
                        self.log,
                        Level::Info,
                        "a batch of {n} went through after {attempt} retries"
                    );
                }
            }
            Outcome::Split(err) if p.batch.len() > 1 => {
                self.failures_in_a_row = 0;
                log_at!(
                    self.log,
                    Level::Debug,
                    "the API refused a batch of {}; splitting it: {}",
                    p.batch.len(),
                    err.message
                );
                self.split(p);
            }
            Outcome::Split(err) | Outcome::Drop(err) => {
                self.failures_in_a_row = 0;
                let n = p.batch.len();
                let total = self.finish(p.batch, Some(DropReason::Rejected));
                let noun = p.kind.noun();
                self.queue.rate_log.note(self.log, "rejected", Level::Warn, || {
                    format!("the API refused {n} {noun}(s), which were dropped (dropped_rejected={total}): {}", err.message)
                });
            }
            Outcome::Retry { after, error } => self.retry_later(p, after, error),
        }
    }

    /// Puts a failed batch aside until its backoff has passed; pauses everything when the
    /// API asked for it, the credentials failed, or the API seems down.
    fn retry_later(&mut self, mut p: Pending, after: Option<Duration>, error: Error) {
        self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
        let after = after.map(|a| a.min(MAX_RETRY_AFTER));
        let wait = QUEUE.wait(p.attempt).max(after.unwrap_or_default());
        let now = self.clock.now();
        if after.is_some() || self.failures_in_a_row >= 2 {
            let pause = QUEUE
                .wait(self.failures_in_a_row - 1)
                .max(MIN_PAUSE)
                .max(after.unwrap_or_default());
            self.paused_until = Some(now + pause);
        }
        p.attempt = p.attempt.saturating_add(1);
        p.due = now + wait;
        self.queue.retries.fetch_add(1, Ordering::Relaxed);
        let retries = self.queue.retries.load(Ordering::Relaxed);
        self.queue.rate_log.note(self.log, "retry", Level::Warn, || {
            format!("delivering a batch of {} failed, trying again in {} ms (retries so far: {retries}): {}", p.batch.len(), wait.as_millis(), error.message)
        });
        self.pending.push_back(p);
    }

    /// Replaces a refused batch by its two halves, tried next (before anything else).
    fn split(&mut self, p: Pending) {
        let half = p.batch.len() / 2;
        let first = p.batch.subset(|i, _| i < half);
        let second = p.batch.subset(|i, _| i >= half);
        let unkept = {
            let mut q = self.queue.lock();
            q.untrack(&p.batch);
            q.track(&first);
            q.track(&second);
            q.recycle(p.batch)
        };
        drop(unkept);
        let now = self.clock.now();
        for batch in [second, first] {
            self.pending.push_front(Pending {
                kind: p.kind,
                batch,
                attempt: p.attempt,
                due: now,
            });
        }
    }

    /// Drops (and counts) the items older than max_item_age.
    fn drop_expired(&self, batch: &mut Batch) {
        let now = self.clock.now();
        let max_age = self.settings.max_item_age;
        let fresh = |queued_at: Instant| now.saturating_duration_since(queued_at) < max_age;
        if batch.items.iter().all(|m| fresh(m.queued_at)) {
            return;
        }
        let keep = batch.subset(|_, m| fresh(m.queued_at));
        let expired = batch.len() - keep.len();
        let old = std::mem::replace(batch, keep);
        let (total, unkept) = {
            let mut q = self.queue.lock();
            q.stats.in_flight -= expired as u64;
            q.untrack(&old);
            q.track(batch);
            let unkept = q.recycle(old);
            (q.count_drop(DropReason::Expired, expired as u64), unkept)
        };
        drop(unkept);
        self.queue.rate_log.note(self.log, "expired", Level::Warn, || {
            format!("{expired} items were older than max_item_age_ms and were dropped (dropped_expired={total})")
        });
    }

    /// Ends an in-flight batch: sent (`None`), or dropped for a reason; keeps it for reuse.
    /// Returns the new total of that outcome's counter.
    fn finish(&self, batch: Batch, outcome: Option<DropReason>) -> u64 {
        let n = batch.len() as u64;
        let mut q = self.queue.lock();
        q.untrack(&batch);
        q.stats.in_flight -= n;
        let total = match outcome {
            None => {
                q.stats.sent += n;
                q.stats.sent
            }
            Some(why) => q.count_drop(why, n),
        };
        let unkept = q.recycle(batch);
        drop(q);
        drop(unkept);
        total
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    //! The sender's rules against an in-memory sink and a virtual clock: no sleeps, no
    //! sockets. (The same rules through the real API stand-in: tests/queue.rs.)
    use super::*;
    use crate::error::ErrorKind;
    use crate::queue::Stats;
    use std::cell::{Cell, RefCell};

    struct TestClock {
        start: Instant,
        now: Cell<Instant>,
    }

    impl TestClock {
        fn new() -> TestClock {
            let t = Instant::now();
            TestClock {
                start: t,
                now: Cell::new(t),
            }
        }

        fn elapsed(&self) -> Duration {
            self.now.get() - self.start
        }
    }

    impl Clock for TestClock {
        fn now(&self) -> Instant {
            self.now.get()
        }

        fn wait<'a>(
            &self,
            _cv: &Condvar,
            q: MutexGuard<'a, Queue>,
            until: Option<Instant>,
        ) -> MutexGuard<'a, Queue> {
            let until = until.expect("the sender would wait for ever: nothing to do, not closing");
            if until > self.now.get() {
                self.now.set(until);
            }
            q
        }
    }

    /// One request the sink received: when (virtual time since the start) and which items.
    #[derive(Debug)]
    struct Call {
        at: Duration,
        items: Vec<u64>,
    }

    type Script = Box<dyn FnMut(usize, &[u64]) -> Outcome>;

    struct MemorySink<'c> {
        clock: &'c TestClock,
        script: RefCell<Script>,
        calls: RefCell<Vec<Call>>,
    }

    impl Sink for MemorySink<'_> {
        fn post_batch(&self, _kind: Kind, body: &[u8], _deadline: Option<Instant>) -> Outcome {
            let items: Vec<u64> = serde_json::from_slice::<Vec<serde_json::Value>>(body)
                .expect("a JSON array")
                .iter()
                .map(|v| v["n"].as_u64().unwrap())
                .collect();
            let n = self.calls.borrow().len();
            let outcome = (self.script.borrow_mut())(n, &items);
            self.calls.borrow_mut().push(Call {
                at: self.clock.elapsed(),
                items,
            });
            outcome
        }
    }

    fn settings() -> Settings {
        Settings {
            batch_size: 10,
            flush_interval: Duration::from_secs(1),
            max_item_age: Duration::from_secs(3600),
            queue_capacity: 10_000,
            queue_max_bytes: 1 << 20,
        }
    }

    fn fail(status: u16) -> Outcome {
        Outcome::Retry {
            after: None,
            error: Error::new(ErrorKind::Http, format!("HTTP {status}")).with_status(status),
        }
    }

    /// Queues items 0..n, closes the queue with a deadline `deadline` ahead (virtual),
    /// runs the sender to its end, and returns the calls and the counters.
    fn deliver(
        n: u64,
        settings: Settings,
        deadline: Duration,
        script: impl FnMut(usize, &[u64]) -> Outcome + 'static,
    ) -> (Vec<Call>, Stats, Duration) {
        let clock = TestClock::new();
        let queue = QueueHandle::new();
        for i in 0..n {
            let json = format!("{{\"n\":{i}}}");
            assert!(queue
                .enqueue(&settings, Kind::Hit, json.as_bytes(), clock.now())
                .is_ok());
        }
        {
            let mut q = queue.lock();
            q.closing = true;
            q.shutdown_deadline = Some(clock.now() + deadline);
        }
        let sink = MemorySink {
            clock: &clock,
            script: RefCell::new(Box::new(script)),
            calls: RefCell::new(Vec::new()),
        };
        let log = Log::new(Level::Error, None);
        assert!(
            run_sender(&queue, &sink, &settings, &log, &clock),
            "no panic"
        );
        let stats = queue.stats();
        assert!(stats.invariant_holds(), "{stats:?}");
        assert_eq!((stats.queue_depth, stats.in_flight), (0, 0), "{stats:?}");
        assert_eq!(queue.lock().lowest_pending(), n, "flush would return");
        (sink.calls.into_inner(), stats, clock.elapsed())
    }

    #[test]
    fn a_failed_batch_does_not_hold_back_the_ones_behind_it() {
        // The first request fails once (a 500, no Retry-After); the rest pass.
        let (calls, stats, _) = deliver(50, settings(), Duration::from_secs(60), |n, _| {
            if n == 0 {
                fail(500)
            } else {
                Outcome::Sent
            }
        });
        assert_eq!((stats.sent, stats.retries, stats.batches), (50, 1, 6));
        // The four batches behind the failed one went out at once, before its retry.
        let order: Vec<u64> = calls.iter().map(|c| c.items[0]).collect();
        assert_eq!(order, [0, 10, 20, 30, 40, 0]);
        assert!(calls[1..5].iter().all(|c| c.at == Duration::ZERO));
    }

    #[test]
    fn retry_after_pauses_everything() {
        let (calls, stats, _) = deliver(30, settings(), Duration::from_secs(60), |n, _| {
            if n == 0 {
                Outcome::Retry {
                    after: Some(Duration::from_secs(7)),
                    error: Error::new(ErrorKind::Http, "HTTP 503").with_status(503),
                }
            } else {
                Outcome::Sent
            }
        });
        assert_eq!((stats.sent, stats.retries), (30, 1));
        assert!(
            calls[1..].iter().all(|c| c.at >= Duration::from_secs(7)),
            "{calls:?}"
        );
    }

    #[test]
    fn two_failures_in_a_row_pause_everything() {
        // The API is down for its first six requests.
        let (calls, stats, _) = deliver(100, settings(), Duration::from_secs(600), |n, _| {
            if n < 6 {
                fail(502)
            } else {
                Outcome::Sent
            }
        });
        assert_eq!((stats.sent, stats.retries), (100, 6));
        // One failure lets the next batch go at once; the second one pauses the sender.
        assert_eq!(calls[1].at, Duration::ZERO);
        assert!(calls[2].at >= MIN_PAUSE, "{calls:?}");
        for w in calls[1..7].windows(2) {
            assert!(
                w[1].at > w[0].at,
                "one request per pause while down: {calls:?}"
            );
        }
    }

    #[test]
    fn refused_batches_split_down_to_the_refused_items() {
        let bad = [3u64, 4, 17];
        let (calls, stats, _) =
            deliver(20, settings(), Duration::from_secs(60), move |_, items| {
                if items.iter().any(|i| bad.contains(i)) {
                    Outcome::Split(Error::invalid("HTTP 400: validation"))
                } else {
                    Outcome::Sent
                }
            });
        assert_eq!(
            (stats.sent, stats.dropped_rejected, stats.retries),
            (17, 3, 0)
        );
        let sent: Vec<u64> = calls
            .iter()
            .filter(|c| !c.items.iter().any(|i| bad.contains(i)))
            .flat_map(|c| c.items.clone())
            .collect();
        let mut expected: Vec<u64> = (0..20).filter(|i| !bad.contains(i)).collect();
        let mut got = sent.clone();
        got.sort();
        expected.sort();
        assert_eq!(got, expected, "each good item sent once");
        // Halves go before anything else: the first batch is settled before the second.
        let first_of_second = calls.iter().position(|c| c.items.contains(&10)).unwrap();
        assert!(calls[..first_of_second]
            .iter()
            .all(|c| c.items.iter().all(|i| *i < 10)));
    }

    #[test]
    fn items_too_old_are_dropped_before_a_try() {
        let mut s = settings();
        s.max_item_age = Duration::from_secs(10);
        let (calls, stats, _) = deliver(25, s, Duration::from_secs(120), |_, _| fail(503));
        assert_eq!((stats.sent, stats.dropped_expired), (0, 25), "{stats:?}");
        assert!(
            calls.iter().all(|c| c.at < Duration::from_secs(10)),
            "{calls:?}"
        );
    }

    #[test]
    fn the_shutdown_deadline_ends_everything_in_time() {
        // Retry-After far beyond the deadline: everything left is dropped at the deadline.
        let (calls, stats, took) = deliver(40, settings(), Duration::from_secs(5), |_, _| {
            Outcome::Retry {
                after: Some(Duration::from_secs(3600)),
                error: Error::new(ErrorKind::Http, "HTTP 429").with_status(429),
            }
        });
        assert_eq!(calls.len(), 1);
        assert_eq!((stats.sent, stats.dropped_shutdown), (0, 40), "{stats:?}");
        assert_eq!(took, Duration::from_secs(5));
    }

    #[test]
    fn at_most_max_retrying_batches_wait_while_fresh_ones_go() {
        // Every request for items below 50 fails twice; the others pass.
        let mut failed = std::collections::HashMap::new();
        let (calls, stats, _) = deliver(
            100,
            settings(),
            Duration::from_secs(600),
            move |_, items| {
                let tries = failed.entry(items[0]).or_insert(0);
                *tries += 1;
                if items[0] < 50 && *tries <= 2 {
                    fail(500)
                } else {
                    Outcome::Sent
                }
            },
        );
        assert_eq!(stats.sent, 100);
        // Never more than MAX_RETRYING distinct batches failed and not yet through.
        let mut open = std::collections::HashSet::new();
        let mut most = 0;
        let mut seen = std::collections::HashMap::new();
        for c in &calls {
            let n = seen.entry(c.items[0]).or_insert(0);
            *n += 1;
            if c.items[0] < 50 && *n <= 2 {
                open.insert(c.items[0]);
            } else {
                open.remove(&c.items[0]);
            }
            most = most.max(open.len());
        }
        assert!(most <= MAX_RETRYING, "{most} batches waiting at once");
    }

    #[test]
    fn a_panicking_sink_loses_nothing_uncounted() {
        let clock = TestClock::new();
        let queue = QueueHandle::new();
        let s = settings();
        for i in 0..15 {
            let json = format!("{{\"n\":{i}}}");
            assert!(queue
                .enqueue(&s, Kind::Hit, json.as_bytes(), clock.now())
                .is_ok());
        }
        queue.lock().closing = true;
        let sink = MemorySink {
            clock: &clock,
            script: RefCell::new(Box::new(|_, _| panic!("a bug in the sink"))),
            calls: RefCell::new(Vec::new()),
        };
        let log = Log::new(Level::Error, None);
        assert!(
            !run_sender(&queue, &sink, &s, &log, &clock),
            "the panic is reported"
        );
        let stats = queue.stats();
        assert!(stats.invariant_holds(), "{stats:?}");
        assert_eq!(stats.dropped_shutdown, 15);
        assert_eq!(queue.lock().lowest_pending(), 15);
    }
}
