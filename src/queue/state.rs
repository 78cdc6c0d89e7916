//! The queue's locked state: batches waiting per kind, the counters, and what flush and
//! shutdown wait for.

use super::batch::{Batch, Spooled, MAX_BATCH_BYTES};
use super::Settings;
use crate::item::Kind;
use std::collections::VecDeque;
use std::time::Instant;

/// Spent batches kept for reuse: enough for one being filled, one in flight and one waiting.
const SPARE_BATCHES: usize = 3;

/// Counters; all but the last three change under the queue lock, so that
/// `enqueued == sent + dropped_* + queue_depth + in_flight` holds whenever they are read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stats {
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
    /// Written to the spool instead of being dropped (part of the invariant).
    pub spooled: u64,
    /// Items of spool files (this process's or another's) delivered from here.
    pub unspooled: u64,
    /// Items of spool files the API refused or that were too old when read back.
    pub spool_dropped: u64,
    /// Spool problems: writes that failed, a full spool, damaged or foreign files.
    pub spool_errors: u64,
}

impl Stats {
    #[cfg(test)]
    pub(crate) fn invariant_holds(&self) -> bool {
        self.enqueued
            == self.sent
                + self.dropped_queue_full
                + self.dropped_rejected
                + self.dropped_expired
                + self.dropped_shutdown
                + self.spooled
                + self.queue_depth
                + self.in_flight
    }
}

/// Why items were dropped (each reason has its counter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DropReason {
    QueueFull,
    Rejected,
    Expired,
    Shutdown,
}

pub(crate) struct Queue {
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
    /// The most `queued_bytes` ever was.
    pub(super) peak_bytes: usize,
    next_seq: u64,
    /// The first sequence number of each batch taken off the queue and not yet finished
    /// (the one being sent, and those waiting to be tried again): what flush waits for.
    in_flight_firsts: Vec<u64>,
    pub(super) stats: Stats,
    /// Raised by pirsch_flush: send partial batches now.
    pub(super) flush_waiters: u32,
    pub(super) closing: bool,
    /// pirsch_free's deadline for delivering what is left.
    pub(super) shutdown_deadline: Option<Instant>,
    pub(super) sender_running: bool,
    /// The sender is writing what is left to the spool at shutdown: pirsch_free waits for
    /// that past its deadline (local disk, about a microsecond per item), or the process
    /// that exits right after it would lose what it was told is spooled.
    pub(super) spooling: bool,
    /// Whether (and until when) the sender sleeps on `wake`: enqueue wakes it only when it
    /// would otherwise sleep past something it must do.
    pub(super) sender_asleep: Asleep,
}

/// The sender's sleep, as enqueue sees it (under the lock).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Asleep {
    /// Working, or about to look at the queue again under the lock: nothing to wake.
    Awake,
    /// Until this time, then it looks at the queue again.
    Until(std::time::Instant),
    /// Until woken.
    Forever,
}

pub(super) fn kind_index(k: Kind) -> usize {
    match k {
        Kind::Hit => 0,
        Kind::Event => 1,
        Kind::Session => 2,
    }
}

pub(super) const KINDS: [Kind; 3] = [Kind::Hit, Kind::Event, Kind::Session];

impl Queue {
    pub(super) fn new() -> Queue {
        Queue {
            kinds: [VecDeque::new(), VecDeque::new(), VecDeque::new()],
            spare: Vec::new(),
            avg_item: 0,
            capacity: usize::MAX,
            queued_bytes: 0,
            peak_bytes: 0,
            next_seq: 0,
            in_flight_firsts: Vec::new(),
            stats: Stats::default(),
            flush_waiters: 0,
            closing: false,
            shutdown_deadline: None,
            sender_running: false,
            spooling: false,
            sender_asleep: Asleep::Awake,
        }
    }

    /// Room for the batches a full queue holds, so that enqueue rarely reallocates. Called
    /// when the sender starts: a client used only for blocking calls never pays for a queue.
    pub(super) fn reserve(&mut self, capacity: usize, batch_size: usize) {
        self.capacity = capacity;
        // Capped: a huge queue_capacity with tiny batches must not reserve megabytes.
        let batches = (capacity.div_ceil(batch_size.max(1)) + 1).min(1024);
        self.kinds[0].reserve(batches);
        self.spare.reserve(SPARE_BATCHES);
    }

    pub(super) fn depth(&self) -> usize {
        self.stats.queue_depth as usize
    }

    /// Whether an item of `len` bytes finds room (queue_capacity and queue_max_bytes). An
    /// item larger than queue_max_bytes alone still goes into an empty queue.
    pub(super) fn has_room(&self, settings: &Settings, len: usize) -> bool {
        self.depth() < settings.queue_capacity
            && (self.queued_bytes == 0 || self.queued_bytes + len < settings.queue_max_bytes)
    }

    /// Whether the queue is below both bounds (there may be room for a small item).
    pub(super) fn below_bounds(&self, settings: &Settings) -> bool {
        self.depth() < settings.queue_capacity && self.queued_bytes < settings.queue_max_bytes
    }

    /// The lowest sequence number not yet sent or dropped (`next_seq` when none).
    pub(super) fn lowest_pending(&self) -> u64 {
        let mut low = self
            .in_flight_firsts
            .iter()
            .copied()
            .min()
            .unwrap_or(u64::MAX);
        for q in &self.kinds {
            if let Some(first) = q.front().and_then(Batch::first) {
                low = low.min(first.seq);
            }
        }
        low.min(self.next_seq)
    }

    pub(super) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    pub(super) fn oldest_front(&self) -> Option<(usize, Instant)> {
        self.kinds
            .iter()
            .enumerate()
            .filter_map(|(i, q)| q.front().and_then(Batch::first).map(|f| (i, f.queued_at)))
            .min_by_key(|(_, t)| *t)
    }

    /// The kind whose front batch is full (it reached batch_size, or a newer batch was
    /// opened after it), the oldest such first.
    pub(super) fn full_front(&self, batch_size: usize) -> Option<usize> {
        (0..self.kinds.len())
            .filter(|&i| {
                self.kinds[i].len() > 1
                    || self.kinds[i].front().is_some_and(|b| b.len() >= batch_size)
            })
            .min_by_key(|&i| self.kinds[i][0].first().map(|m| m.queued_at))
    }

    /// Appends an item to the open batch of its kind, opening a new one when that is full.
    /// Returns whether a batch became ready to send (full, or closed by a newer one).
    pub(super) fn push(
        &mut self,
        idx: usize,
        json: &[u8],
        queued_at: Instant,
        batch_size: usize,
        spooled: Option<Spooled>,
    ) -> bool {
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
        if let Some(m) = batch.items.last_mut() {
            m.spooled = spooled;
        }
        self.queued_bytes += batch.body.len() - before;
        self.peak_bytes = self.peak_bytes.max(self.queued_bytes);
        self.stats.queue_depth += 1;
        ready || batch.len() >= batch_size
    }

    /// Takes the oldest batch of a kind off the queue; its items are now in flight.
    pub(super) fn take(&mut self, idx: usize) -> Option<Batch> {
        let batch = self.kinds[idx].pop_front()?;
        let n = batch.len() as u64;
        self.stats.queue_depth -= n;
        self.queued_bytes = self.queued_bytes.saturating_sub(batch.body.len());
        self.stats.in_flight += n;
        self.track(&batch);
        Some(batch)
    }

    /// Takes every queued batch off the queue (shutdown); their items are no longer
    /// counted as queued.
    pub(super) fn take_all(&mut self) -> Vec<(Kind, Batch)> {
        let mut out = Vec::new();
        for (idx, q) in self.kinds.iter_mut().enumerate() {
            for b in q.drain(..) {
                self.stats.queue_depth -= b.len() as u64;
                out.push((KINDS[idx], b));
            }
        }
        self.queued_bytes = 0;
        out
    }

    /// The queued items not yet in the spool, oldest batch first, for `write`.
    pub(super) fn not_spooled(&self) -> impl Iterator<Item = (Kind, &Batch, usize)> {
        self.kinds.iter().enumerate().flat_map(|(idx, q)| {
            q.iter().flat_map(move |b| {
                (0..b.len())
                    .filter(move |&i| b.items[i].spooled.is_none())
                    .map(move |i| (KINDS[idx], b, i))
            })
        })
    }

    /// Notes where queued items went in the spool (by sequence number).
    pub(super) fn mark_spooled(&mut self, marks: &[(u64, Spooled)]) {
        let mut marks = marks.iter().peekable();
        for q in self.kinds.iter_mut() {
            for b in q.iter_mut() {
                for m in b.items.iter_mut() {
                    if let Some((_, sp)) = marks.peek().filter(|(seq, _)| *seq == m.seq) {
                        m.spooled = Some(*sp);
                        marks.next();
                    }
                }
            }
        }
    }

    /// Drops everything queued; returns how many items that was.
    pub(super) fn clear(&mut self) -> u64 {
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
    pub(super) fn recycle(&mut self, mut batch: Batch) -> Option<Batch> {
        if self.spare.len() < SPARE_BATCHES && batch.body.capacity() <= 2 * MAX_BATCH_BYTES {
            batch.clear();
            self.spare.push(batch);
            None
        } else {
            Some(batch)
        }
    }

    /// Notes a batch as in flight (taken off the queue, or a part of one split off).
    pub(super) fn track(&mut self, batch: &Batch) {
        if let Some(m) = batch.first() {
            self.in_flight_firsts.push(m.seq);
        }
    }

    /// Forgets an in-flight batch (sent, dropped, or replaced by its parts).
    pub(super) fn untrack(&mut self, batch: &Batch) {
        if let Some(m) = batch.first() {
            if let Some(i) = self.in_flight_firsts.iter().position(|s| *s == m.seq) {
                self.in_flight_firsts.swap_remove(i);
            }
        }
    }

    /// Forgets every in-flight batch (the sender is gone).
    pub(super) fn untrack_all(&mut self) {
        self.in_flight_firsts.clear();
    }

    /// Counts `n` drops; returns the new total for that reason.
    pub(super) fn count_drop(&mut self, why: DropReason, n: u64) -> u64 {
        let counter = match why {
            DropReason::QueueFull => &mut self.stats.dropped_queue_full,
            DropReason::Rejected => &mut self.stats.dropped_rejected,
            DropReason::Expired => &mut self.stats.dropped_expired,
            DropReason::Shutdown => &mut self.stats.dropped_shutdown,
        };
        *counter += n;
        *counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_opens_a_batch_per_batch_size_and_per_max_bytes() {
        let t = Instant::now();
        let mut q = Queue::new();
        let small = br#"{"x":1}"#;
        let ready: Vec<bool> = (0..7).map(|_| q.push(0, small, t, 3, None)).collect();
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
        assert_eq!(q.in_flight_firsts, [0]);
        assert_eq!(q.lowest_pending(), 0);
        assert!(q.recycle(first).is_none());
        assert_eq!(q.spare.len(), 1);
        // Big items: a batch never passes MAX_BATCH_BYTES, but one item always fits.
        let big = vec![b'1'; MAX_BATCH_BYTES / 2];
        let mut q = Queue::new();
        q.push(1, &big, t, 100, None);
        q.push(1, &big, t, 100, None);
        let huge = vec![b'2'; MAX_BATCH_BYTES + 10];
        q.push(1, &huge, t, 100, None);
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
        q.push(0, &[b'x'; 400], t, 1000, None);
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
