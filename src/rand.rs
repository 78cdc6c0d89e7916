//! A small PRNG for retry jitter (no security use).

use std::cell::Cell;

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let addr = &t as *const u64 as u64;
    (t ^ addr.rotate_left(32) ^ std::process::id() as u64) | 1
}

/// A number in `0..n` (0 when n is 0).
pub fn below(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    STATE.with(|s| {
        // xorshift64*
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    })
}
