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
//! - at the shutdown deadline everything left is dropped (dropped_shutdown), or, with a
//!   spool, written there (spooled);
//! - with a spool: queued items are also written every flush interval (`spool_sync=interval`),
//!   acked there once done, and spool files left by earlier clients are claimed and
//!   delivered, one batch of them for each batch of the queue while both have work.
//!
//! Time comes from a `Clock`, so that the unit tests below run these rules against an
//! in-memory sink without sleeping.

use super::batch::{Batch, Spooled};
use super::state::{Asleep, DropReason, Queue, KINDS};
use super::{QueueHandle, Settings};
use crate::api::Outcome;
use crate::backoff::QUEUE;
use crate::error::Error;
use crate::item::Kind;
use crate::log::{Level, Log};
use crate::log_at;
use crate::spool::{Claim, Spool, SpoolSync, ToWrite};
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

/// A batch off the queue (or out of a spool file) that is not finished: split off, or
/// waiting to be tried again.
struct Pending {
    kind: Kind,
    batch: Batch,
    attempt: u32,
    due: Instant,
    /// Items of a claimed spool file (their `seq` is their record id there), not of the
    /// queue: counted as unspooled / spool_dropped, and acked in that file.
    from_spool: bool,
}

/// What the sender does next.
enum Step {
    Send(Pending),
    /// Write the queued items not yet in the spool (spool_sync=interval).
    WriteSpool,
    /// Look for spool files to deliver.
    Scan,
    /// Shutdown: what is left was written to the spool or dropped; the sender ends.
    Stop,
}

/// The sender's own state (outside the lock).
struct Sender<'a, S: Sink, C: Clock> {
    queue: &'a QueueHandle,
    sink: &'a S,
    settings: &'a Settings,
    log: &'a Log,
    clock: &'a C,
    spool: Option<&'a Spool>,
    /// Split halves (at the front, due now) and batches to try again.
    pending: VecDeque<Pending>,
    /// Nothing is sent before this (Retry-After, failed credentials, the API down).
    paused_until: Option<Instant>,
    /// Requests that failed in a row, whichever batch they carried.
    failures_in_a_row: u32,
    /// The spool file being delivered, and how far.
    claim: Option<Claim>,
    claim_pos: usize,
    /// When to look for spool files again.
    next_scan: Instant,
    /// When to write queued items to the spool again (spool_sync=interval).
    next_spool_write: Instant,
    /// Whose turn it is when the queue and a spool file both have a batch ready.
    spool_turn: bool,
    /// Has slept one flush_interval with nothing to do since the last step.
    lingered: bool,
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
    spool: Option<&Spool>,
) -> bool {
    crate::panic::mark_library_thread();
    let now = clock.now();
    let mut sender = Sender {
        queue,
        sink,
        settings,
        log,
        clock,
        spool,
        pending: VecDeque::new(),
        paused_until: None,
        failures_in_a_row: 0,
        claim: None,
        claim_pos: 0,
        next_scan: now,
        next_spool_write: now + settings.flush_interval,
        spool_turn: true,
        lingered: false,
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
            if let Some(spool) = self.spool {
                spool.emit_log();
            }
            match self.next_step() {
                Step::Stop => {
                    if let Some(spool) = self.spool {
                        spool.emit_log();
                    }
                    return;
                }
                Step::Send(p) => self.attempt(p),
                Step::WriteSpool => self.write_spool(),
                Step::Scan => self.scan(),
            }
        }
    }

    /// Waits for the next thing to do, under the lock.
    fn next_step(&mut self) -> Step {
        let mut q = self.queue.lock();
        // What the last step finished may be what a flush or pirsch_free waits for.
        if q.flush_waiters > 0 || q.closing {
            self.queue.done.notify_all();
        }
        self.lingered = false;
        loop {
            let now = self.clock.now();
            let past_deadline = q.shutdown_deadline.is_some_and(|d| now >= d);
            let only_spool_pending = self.pending.iter().all(|p| p.from_spool);
            if q.closing && (past_deadline || (q.depth() == 0 && only_spool_pending)) {
                drop(q);
                self.stop();
                return Step::Stop;
            }
            let mut wake_at = q.shutdown_deadline;
            if let Some(spool) = self.spool {
                if spool.sync() == SpoolSync::Interval && !q.closing {
                    if now >= self.next_spool_write {
                        return Step::WriteSpool;
                    }
                    wake_at = earliest(wake_at, Some(self.next_spool_write));
                }
            }
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
                    let fresh = self.ready_index(&q, now);
                    let spool_first = self.spool_turn || fresh.is_none();
                    if spool_first && !q.closing && self.spool.is_some() {
                        if self.claim_has_items() {
                            self.spool_turn = false;
                            drop(q);
                            return Step::Send(self.spool_batch(now));
                        }
                        if self.claim.is_none() && now >= self.next_scan {
                            return Step::Scan;
                        }
                    }
                    if let Some(idx) = fresh {
                        self.spool_turn = true;
                        let batch = q.take(idx).expect("a ready batch");
                        if q.below_bounds(self.settings) {
                            self.queue.full.store(false, Ordering::Relaxed);
                        }
                        return Step::Send(Pending {
                            kind: KINDS[idx],
                            batch,
                            attempt: 0,
                            due: now,
                            from_spool: false,
                        });
                    }
                    wake_at = earliest(wake_at, self.flush_due(&q));
                    if self.spool.is_some() && self.claim.is_none() && !q.closing {
                        wake_at = earliest(wake_at, Some(self.next_scan));
                    }
                }
                wake_at = earliest(wake_at, self.pending.iter().map(|p| p.due).min());
            }
            // Nothing to do and nothing due: linger for one flush_interval before sleeping
            // until woken, so that under steady traffic the first item after a batch does
            // not have to wake the sender (it will look again within the item's interval).
            let linger = wake_at.is_none() && !self.lingered;
            if linger {
                wake_at = Some(now + self.settings.flush_interval);
            }
            q.sender_asleep = wake_at.map_or(Asleep::Forever, Asleep::Until);
            q = self.clock.wait(&self.queue.wake, q, wake_at);
            q.sender_asleep = Asleep::Awake;
            self.lingered |= linger;
        }
    }

    /// The pending batch due first, if its time has come.
    fn due_pending(&self, now: Instant) -> Option<usize> {
        let (i, p) = self.pending.iter().enumerate().min_by_key(|(_, p)| p.due)?;
        (p.due <= now).then_some(i)
    }

    /// The kind whose batch is ready to go: a full one (the oldest first), or the oldest
    /// partial one once it is due (flush_interval), or at once while a flush or shutdown
    /// waits.
    fn ready_index(&self, q: &Queue, now: Instant) -> Option<usize> {
        let (oldest_idx, oldest) = q.oldest_front()?;
        let urgent = now.saturating_duration_since(oldest) >= self.settings.flush_interval
            || q.flush_waiters > 0
            || q.closing;
        q.full_front(self.settings.batch_size)
            .or(urgent.then_some(oldest_idx))
    }

    /// When the oldest partial batch becomes due.
    fn flush_due(&self, q: &Queue) -> Option<Instant> {
        q.oldest_front()
            .map(|(_, oldest)| oldest + self.settings.flush_interval)
    }

    fn claim_has_items(&self) -> bool {
        self.claim
            .as_ref()
            .is_some_and(|c| self.claim_pos < c.items.len())
    }

    /// Looks for a spool file to deliver (file I/O, outside the lock).
    fn scan(&mut self) {
        let Some(spool) = self.spool else { return };
        self.claim = spool.claim();
        self.claim_pos = 0;
        if self.claim.is_none() {
            self.next_scan = self.clock.now() + Spool::SCAN_EVERY;
        }
    }

    /// The next batch of the claimed file: consecutive items of one kind, in file order.
    fn spool_batch(&mut self, now: Instant) -> Pending {
        let claim = self.claim.as_ref().expect("a claim with items");
        let kind = claim.items[self.claim_pos].kind;
        let now_wall = crate::spool::wall_ms(std::time::SystemTime::now());
        let mut batch = Batch::with_capacity(0, self.settings.batch_size.min(64));
        while self.claim_pos < claim.items.len() && batch.len() < self.settings.batch_size {
            let it = &claim.items[self.claim_pos];
            if it.kind != kind || !batch.fits(&it.json) {
                break;
            }
            let age = Duration::from_millis(now_wall.saturating_sub(it.wall_ms));
            let queued_at = now.checked_sub(age).unwrap_or(now);
            batch.push(it.id, queued_at, &it.json);
            self.claim_pos += 1;
        }
        Pending {
            kind,
            batch,
            attempt: 0,
            due: now,
            from_spool: true,
        }
    }

    /// Ends the claim once its items are all sent or given up.
    fn maybe_release_claim(&mut self) {
        let done = !self.claim_has_items() && !self.pending.iter().any(|p| p.from_spool);
        if done {
            if let (Some(spool), Some(claim)) = (self.spool, self.claim.take()) {
                spool.release(claim);
                // More files may wait: look again at once.
                self.next_scan = self.clock.now();
            }
        }
    }

    /// spool_sync=interval: writes the queued items that are not in the spool yet (those
    /// in the queue, and those waiting here to be tried again).
    fn write_spool(&mut self) {
        let Some(spool) = self.spool else { return };
        self.next_spool_write = self.clock.now() + self.settings.flush_interval;
        let now = self.clock.now();
        let now_wall = crate::spool::wall_ms(std::time::SystemTime::now());
        let wall_of = |queued_at: Instant| {
            now_wall.saturating_sub(now.saturating_duration_since(queued_at).as_millis() as u64)
        };
        // Copied out under the lock (memcpy), written outside it.
        let mut copied: Vec<(u64, Kind, u64, Vec<u8>)> = Vec::new();
        {
            let q = self.queue.lock();
            for (kind, b, i) in q.not_spooled() {
                let m = &b.items[i];
                copied.push((m.seq, kind, wall_of(m.queued_at), b.item(i).to_vec()));
            }
        }
        let ids: Vec<u64> = copied.iter().map(|_| spool.new_id()).collect();
        let mut own: Vec<(usize, usize, u64)> = Vec::new(); // (pending, item, id)
        let mut writes: Vec<ToWrite<'_>> = copied
            .iter()
            .zip(&ids)
            .map(|((_, kind, wall, json), id)| ToWrite {
                kind: *kind,
                id: *id,
                wall_ms: *wall,
                json,
            })
            .collect();
        for (pi, p) in self.pending.iter().enumerate() {
            if p.from_spool {
                continue;
            }
            for (i, m) in p.batch.items.iter().enumerate() {
                if m.spooled.is_none() {
                    let id = spool.new_id();
                    own.push((pi, i, id));
                    writes.push(ToWrite {
                        kind: p.kind,
                        id,
                        wall_ms: wall_of(m.queued_at),
                        json: p.batch.item(i),
                    });
                }
            }
        }
        if writes.is_empty() {
            return;
        }
        let Some(seg) = spool.write(&writes) else {
            return;
        };
        drop(writes);
        let marks: Vec<(u64, Spooled)> = copied
            .iter()
            .zip(&ids)
            .map(|((seq, ..), id)| (*seq, Spooled { seg, id: *id }))
            .collect();
        self.queue.lock().mark_spooled(&marks);
        for (pi, i, id) in own {
            self.pending[pi].batch.items[i].spooled = Some(Spooled { seg, id });
        }
    }

    /// Shutdown: what is left of the queue (queued, and waiting here to be tried again) goes
    /// to the spool when there is one, else it is dropped; a claimed file is released for
    /// the next claimer (its items not yet delivered stay in it). Says so, and ends.
    fn stop(&mut self) {
        let mut left: Vec<(Kind, Batch)> = Vec::new();
        let n;
        {
            let mut q = self.queue.lock();
            q.spooling = self.spool.is_some();
            for (kind, b) in q.take_all() {
                // Counted as in flight (to the spool) until written.
                q.stats.in_flight += b.len() as u64;
                left.push((kind, b));
            }
            for p in self.pending.drain(..) {
                if p.from_spool {
                    continue;
                }
                q.untrack(&p.batch);
                left.push((p.kind, p.batch));
            }
            n = left.iter().map(|(_, b)| b.len() as u64).sum::<u64>();
        }
        // Oldest first, as they were queued (a retried batch is older than the queue).
        left.sort_by_key(|(_, b)| b.first().map(|m| m.seq));
        let mut spooled = 0u64;
        if let Some(spool) = self.spool {
            let now = self.clock.now();
            let now_wall = crate::spool::wall_ms(std::time::SystemTime::now());
            let mut writes = Vec::new();
            let mut already = 0u64;
            for (kind, b) in &left {
                for (i, m) in b.items.iter().enumerate() {
                    if m.spooled.is_some() {
                        already += 1; // in the spool already: left there, not acked
                        continue;
                    }
                    let age = now.saturating_duration_since(m.queued_at).as_millis() as u64;
                    writes.push(ToWrite {
                        kind: *kind,
                        id: spool.new_id(),
                        wall_ms: now_wall.saturating_sub(age),
                        json: b.item(i),
                    });
                }
            }
            let written = if writes.is_empty() || spool.write(&writes).is_some() {
                writes.len() as u64
            } else {
                0
            };
            spooled = already + written;
            if let Some(claim) = self.claim.take() {
                spool.release(claim);
            }
            spool.close();
        }
        let dropped = n - spooled;
        {
            let mut q = self.queue.lock();
            q.stats.in_flight -= n;
            q.stats.spooled += spooled;
            if dropped > 0 {
                q.count_drop(DropReason::Shutdown, dropped);
            }
            q.untrack_all();
            q.sender_running = false;
            q.spooling = false;
        }
        self.queue.done.notify_all();
        // Never call the user's logger with the queue locked.
        if spooled > 0 {
            log_at!(self.log, Level::Info, "shutdown: {spooled} queued items were written to the spool, for the next client to deliver (spooled)");
        }
        if dropped > 0 {
            log_at!(self.log, Level::Warn, "shutdown: {dropped} queued items could not be delivered within shutdown_timeout_ms (dropped_shutdown)");
        }
    }

    /// One try of one batch, and what follows from its outcome.
    fn attempt(&mut self, mut p: Pending) {
        self.drop_expired(&mut p);
        if p.batch.len() == 0 {
            self.finish(p, None);
            return;
        }
        let deadline = self.queue.lock().shutdown_deadline;
        if deadline.is_some_and(|d| self.clock.now() >= d) {
            if p.from_spool {
                return self.maybe_release_claim(); // left in the file for the next claimer
            }
            self.finish(p, Some(DropReason::Shutdown));
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
                self.finish(p, None);
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
                let noun = p.kind.noun();
                let total = self.finish(p, Some(DropReason::Rejected));
                self.queue
                    .rate_log
                    .note(self.log, "rejected", Level::Warn, || {
                        format!("the API refused {n} {noun}(s), which were dropped (dropped_rejected={total}): {}", err.message)
                    });
            }
            Outcome::Retry { after, error } => self.retry_later(p, after, error),
        }
    }

    /// Puts a failed batch aside until its backoff has passed; pauses everything when the
    /// API asked for it, the credentials failed, or the API seems down.
    fn retry_later(&mut self, mut p: Pending, after: Option<Duration>, error: Error) {
        let after = after.map(|a| a.min(MAX_RETRY_AFTER));
        let wait = QUEUE.wait(p.attempt).max(after.unwrap_or_default());
        let now = self.clock.now();
        if let Some(after) = after {
            // The API answered and said when to come back (Retry-After, or the access key's
            // pause): that is the pause. It is up, so its answer ends a run of failures:
            // before, a 429 after an outage paused up to 30 s when it had asked for 1 s.
            self.failures_in_a_row = 0;
            self.paused_until = Some(now + after.max(MIN_PAUSE));
        } else {
            self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
            if self.failures_in_a_row >= 2 {
                let pause = QUEUE.wait(self.failures_in_a_row - 1).max(MIN_PAUSE);
                self.paused_until = Some(now + pause);
            }
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
            if !p.from_spool {
                q.untrack(&p.batch);
                q.track(&first);
                q.track(&second);
            }
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
                from_spool: p.from_spool,
            });
        }
    }

    /// Drops (and counts) the items older than max_item_age.
    fn drop_expired(&mut self, p: &mut Pending) {
        let now = self.clock.now();
        let max_age = self.settings.max_item_age;
        let fresh = |queued_at: Instant| now.saturating_duration_since(queued_at) < max_age;
        if p.batch.items.iter().all(|m| fresh(m.queued_at)) {
            return;
        }
        let keep = p.batch.subset(|_, m| fresh(m.queued_at));
        let expired = p.batch.len() - keep.len();
        let old = std::mem::replace(&mut p.batch, keep);
        let gone: Vec<super::batch::Meta> = old
            .items
            .iter()
            .filter(|m| !fresh(m.queued_at))
            .copied()
            .collect();
        self.ack(p.from_spool, &gone);
        let (total, unkept) = {
            let mut q = self.queue.lock();
            let total = if p.from_spool {
                q.stats.spool_dropped += expired as u64;
                q.stats.spool_dropped
            } else {
                q.stats.in_flight -= expired as u64;
                q.untrack(&old);
                q.track(&p.batch);
                q.count_drop(DropReason::Expired, expired as u64)
            };
            (total, q.recycle(old))
        };
        drop(unkept);
        self.queue
            .rate_log
            .note(self.log, "expired", Level::Warn, || {
                format!("{expired} items were older than max_item_age_ms and were dropped (dropped_expired={total})")
            });
    }

    /// Marks items done in the spool: in the claimed file (items of a spool file), or in
    /// this client's own spool files (queued items written there).
    fn ack(&mut self, from_spool: bool, metas: &[super::batch::Meta]) {
        let Some(spool) = self.spool else { return };
        if from_spool {
            let ids: Vec<u64> = metas.iter().map(|m| m.seq).collect();
            if let Some(claim) = self.claim.as_mut() {
                claim.ack(&ids);
            }
            return;
        }
        let mut by_seg: Vec<(u32, Vec<u64>)> = Vec::new();
        for sp in metas.iter().filter_map(|m| m.spooled) {
            match by_seg.iter_mut().find(|(seg, _)| *seg == sp.seg) {
                Some((_, ids)) => ids.push(sp.id),
                None => by_seg.push((sp.seg, vec![sp.id])),
            }
        }
        for (seg, ids) in by_seg {
            spool.ack(seg, &ids);
        }
    }

    /// Ends a batch: sent (`None`), or dropped for a reason; keeps it for reuse. Returns the
    /// new total of that outcome's counter.
    fn finish(&mut self, p: Pending, outcome: Option<DropReason>) -> u64 {
        let n = p.batch.len() as u64;
        self.ack(p.from_spool, &p.batch.items);
        let mut q = self.queue.lock();
        let total = match (p.from_spool, outcome) {
            (true, None) => {
                q.stats.unspooled += n;
                q.stats.unspooled
            }
            (true, Some(_)) => {
                q.stats.spool_dropped += n;
                q.stats.spool_dropped
            }
            (false, None) => {
                q.untrack(&p.batch);
                q.stats.in_flight -= n;
                q.stats.sent += n;
                q.stats.sent
            }
            (false, Some(why)) => {
                q.untrack(&p.batch);
                q.stats.in_flight -= n;
                q.count_drop(why, n)
            }
        };
        let unkept = q.recycle(p.batch);
        drop(q);
        drop(unkept);
        if p.from_spool {
            self.maybe_release_claim();
        }
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
        /// pirsch_free at this (virtual) time: the queue closes, with this much to finish.
        close_at: Cell<Option<(Instant, Duration)>>,
    }

    impl TestClock {
        fn new() -> TestClock {
            let t = Instant::now();
            TestClock {
                start: t,
                now: Cell::new(t),
                close_at: Cell::new(None),
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
            let mut q = q;
            if let Some((at, grace)) = self.close_at.get() {
                if until.is_none_or(|u| u >= at) {
                    self.close_at.set(None);
                    self.now.set(self.now.get().max(at));
                    q.closing = true;
                    q.shutdown_deadline = Some(at + grace);
                    return q;
                }
            }
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
                .enqueue(&settings, Kind::Hit, json.as_bytes(), clock.now(), None)
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
        let ran = run_sender(&queue, &sink, &settings, &log, &clock, None);
        crate::panic::unmark_library_thread();
        assert!(ran, "no panic");
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
    fn a_retry_after_ends_a_run_of_failures_and_is_the_pause() {
        // Down for five requests (ever longer pauses), then a 429 asking for 1 s: the API is
        // up again and said when, so the next request goes 1 s later, not after a pause of
        // the run's length (up to 30 s).
        let (calls, stats, _) =
            deliver(100, settings(), Duration::from_secs(600), |n, _| match n {
                0..=4 => fail(503),
                5 => Outcome::Retry {
                    after: Some(Duration::from_secs(1)),
                    error: Error::new(ErrorKind::Http, "HTTP 429").with_status(429),
                },
                _ => Outcome::Sent,
            });
        assert_eq!((stats.sent, stats.retries), (100, 6));
        assert_eq!(
            calls[6].at,
            calls[5].at + Duration::from_secs(1),
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
                .enqueue(&s, Kind::Hit, json.as_bytes(), clock.now(), None)
                .is_ok());
        }
        queue.lock().closing = true;
        let sink = MemorySink {
            clock: &clock,
            script: RefCell::new(Box::new(|_, _| panic!("a bug in the sink"))),
            calls: RefCell::new(Vec::new()),
        };
        let log = Log::new(Level::Error, None);
        let ran = run_sender(&queue, &sink, &s, &log, &clock, None);
        crate::panic::unmark_library_thread();
        assert!(!ran, "the panic is reported");
        let stats = queue.stats();
        assert!(stats.invariant_holds(), "{stats:?}");
        assert_eq!(stats.dropped_shutdown, 15);
        assert_eq!(queue.lock().lowest_pending(), 15);
    }

    /// A fresh directory for a spool.
    fn spool_dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "pirsch-spool-test-{name}-{}-{}",
            std::process::id(),
            crate::rand::below(1 << 40)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn spool_in(dir: &std::path::Path, sync: SpoolSync) -> Spool {
        let log = Log::new(Level::Error, None);
        Spool::new(dir, "pirsch-test".into(), sync, 1 << 30, log)
    }

    /// Runs a sender over `queue` with `spool`; pirsch_free comes after `open_for`
    /// (virtual), with `grace` to finish.
    fn run_with_spool(
        queue: &QueueHandle,
        spool: &Spool,
        open_for: Duration,
        grace: Duration,
        script: impl FnMut(usize, &[u64]) -> Outcome + 'static,
    ) -> Vec<Call> {
        let clock = TestClock::new();
        clock.close_at.set(Some((clock.now() + open_for, grace)));
        let sink = MemorySink {
            clock: &clock,
            script: RefCell::new(Box::new(script)),
            calls: RefCell::new(Vec::new()),
        };
        let log = Log::new(Level::Error, None);
        let ran = run_sender(queue, &sink, &settings(), &log, &clock, Some(spool));
        crate::panic::unmark_library_thread();
        assert!(ran);
        sink.calls.into_inner()
    }

    fn queue_of(n: u64, first: u64) -> QueueHandle {
        let queue = QueueHandle::new();
        for i in first..first + n {
            let json = format!("{{\"n\":{i}}}");
            assert!(queue
                .enqueue(
                    &settings(),
                    Kind::Hit,
                    json.as_bytes(),
                    Instant::now(),
                    None
                )
                .is_ok());
        }
        queue
    }

    #[test]
    fn what_cannot_be_sent_before_shutdown_is_spooled_and_the_next_sender_delivers_it() {
        let dir = spool_dir("handover");
        // The API is down for the first process: everything goes to the spool at shutdown.
        let first = queue_of(25, 0);
        let spool = spool_in(&dir, SpoolSync::Shutdown);
        let calls = run_with_spool(
            &first,
            &spool,
            Duration::from_secs(3),
            Duration::ZERO,
            |_, _| fail(503),
        );
        assert!(!calls.is_empty());
        let s = first.stats();
        assert!(s.invariant_holds(), "{s:?}");
        assert_eq!((s.spooled, s.dropped_shutdown, s.sent), (25, 0, 0), "{s:?}");
        drop(spool);
        // The next process (a new queue with 5 items of its own) finds the file and sends it
        // all, in order, once; then the file is gone.
        let second = queue_of(5, 100);
        let spool = spool_in(&dir, SpoolSync::Shutdown);
        let calls = run_with_spool(
            &second,
            &spool,
            Duration::from_secs(30),
            Duration::from_secs(2),
            |_, _| Outcome::Sent,
        );
        let mut got: Vec<u64> = calls.iter().flat_map(|c| c.items.clone()).collect();
        let spooled: Vec<u64> = got.iter().copied().filter(|i| *i < 100).collect();
        assert_eq!(spooled, (0..25).collect::<Vec<_>>(), "in order, once each");
        got.sort();
        got.dedup();
        assert_eq!(got.len(), 30);
        let s = second.stats();
        assert_eq!((s.sent, s.unspooled, s.spooled), (5, 25, 0), "{s:?}");
        assert!(s.invariant_holds());
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert!(left.is_empty(), "nothing left in the spool: {left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn interval_mode_writes_queued_items_and_acks_them_once_sent() {
        let dir = spool_dir("interval");
        let queue = queue_of(30, 0);
        let spool = spool_in(&dir, SpoolSync::Interval);
        // Everything passes: the items written at the interval are acked, and the files go.
        let calls = run_with_spool(
            &queue,
            &spool,
            Duration::from_secs(30),
            Duration::from_secs(2),
            |_, _| Outcome::Sent,
        );
        assert_eq!(calls.iter().map(|c| c.items.len()).sum::<usize>(), 30);
        let s = queue.stats();
        assert_eq!((s.sent, s.spooled), (30, 0), "{s:?}");
        assert!(std::fs::read_dir(&dir).unwrap().next().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn spooled_items_too_old_are_counted_and_not_sent() {
        let dir = spool_dir("old");
        let first = queue_of(10, 0);
        let spool = spool_in(&dir, SpoolSync::Shutdown);
        run_with_spool(
            &first,
            &spool,
            Duration::from_secs(1),
            Duration::ZERO,
            |_, _| fail(503),
        );
        drop(spool);
        // Rewrite the file's items as two hours old.
        let file = std::fs::read_dir(&dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let parsed = crate::spool::format::parse(&std::fs::read(&file).unwrap()).unwrap();
        let mut b = crate::spool::format::header().to_vec();
        let old = crate::spool::wall_ms(std::time::SystemTime::now()) - 7_200_000;
        for it in &parsed.items {
            crate::spool::format::push_item(&mut b, it.kind, it.id, old, &it.json);
        }
        std::fs::write(&file, b).unwrap();
        let second = QueueHandle::new();
        let spool = spool_in(&dir, SpoolSync::Shutdown);
        let calls = run_with_spool(
            &second,
            &spool,
            Duration::from_secs(30),
            Duration::from_secs(2),
            |_, _| Outcome::Sent,
        );
        assert!(calls.is_empty(), "{calls:?}");
        let s = second.stats();
        assert_eq!((s.unspooled, s.spool_dropped), (0, 10), "{s:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
