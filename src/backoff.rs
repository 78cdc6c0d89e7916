//! How long to wait before trying again: every policy of the library, in one table.

use std::time::Duration;

/// Exponential backoff: `base` doubled per attempt up to `cap`, with jitter.
pub(crate) struct Backoff {
    base_ms: u64,
    cap_ms: u64,
    jitter: Jitter,
}

enum Jitter {
    /// Random in [0, ceiling] (spreads many clients the most).
    Full,
    /// Random in [ceiling/2, ceiling] (never much shorter than asked).
    Half,
    /// Exactly the ceiling.
    None,
}

/// The queue's batches (the design contract: 500 ms x 2^n, full jitter, cap 30 s).
pub(crate) const QUEUE: Backoff = Backoff {
    base_ms: 500,
    cap_ms: 30_000,
    jitter: Jitter::Full,
};

/// A blocking call's retries: short, since the caller waits (100 ms x 2^n, cap 6.4 s).
pub(crate) const BLOCKING: Backoff = Backoff {
    base_ms: 100,
    cap_ms: 6_400,
    jitter: Jitter::Half,
};

/// After the API refused the credentials: not asked again for 1 s, 2 s, ... 60 s.
pub(crate) const CREDENTIALS_REFUSED: Backoff = Backoff {
    base_ms: 1_000,
    cap_ms: 60_000,
    jitter: Jitter::None,
};

impl Backoff {
    /// The wait before try `attempt + 1` (attempt 0: after the first failure).
    pub fn wait(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base_ms
            .saturating_mul(1u64 << attempt.min(20))
            .min(self.cap_ms);
        Duration::from_millis(match self.jitter {
            Jitter::Full => crate::rand::below(ceiling + 1),
            Jitter::Half => ceiling / 2 + crate::rand::below(ceiling / 2 + 1),
            Jitter::None => ceiling,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_policy_stays_in_its_bounds() {
        for attempt in [0, 1, 5, 30, u32::MAX] {
            let ceiling =
                |b: &Backoff| b.base_ms.saturating_mul(1 << attempt.min(20)).min(b.cap_ms);
            for _ in 0..100 {
                assert!(QUEUE.wait(attempt).as_millis() as u64 <= ceiling(&QUEUE));
                let w = BLOCKING.wait(attempt).as_millis() as u64;
                assert!(ceiling(&BLOCKING) / 2 <= w && w <= ceiling(&BLOCKING));
            }
            assert_eq!(
                CREDENTIALS_REFUSED.wait(attempt).as_millis() as u64,
                ceiling(&CREDENTIALS_REFUSED)
            );
        }
        assert_eq!(CREDENTIALS_REFUSED.wait(0), Duration::from_secs(1));
        assert_eq!(CREDENTIALS_REFUSED.wait(6), Duration::from_secs(60));
        assert!(QUEUE.wait(99).as_millis() <= 30_000);
    }
}
