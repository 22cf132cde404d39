//! Where a request is scored: on the async worker that read it, or on tokio's blocking pool.
//!
//! Handing a request to the blocking pool (`spawn_blocking`) and back costs two thread
//! wake-ups: tens of microseconds, and more in the latency tail when the cores are busy, while
//! a small model scores one row in a few microseconds. So a model whose recent requests scored
//! fast is scored inline, on the worker; a model that is slow, or not measured yet, goes to the
//! blocking pool, where it cannot hold up the other connections of a worker and where the
//! request timeout answers 504 while it runs. A model that suddenly turns slow blocks a worker
//! for one request: that request's time sends the model back to the pool.
//!
//! The estimate is per byte of request body, so one model's 1-row and 100-row requests are
//! judged each by its own size.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A request whose estimated scoring time is under this is scored inline: long enough for a
/// 100-row request to a small ONNX model (about 150 µs), short enough that the other
/// connections of the worker wait at most that long.
pub(crate) const INLINE_BELOW: Duration = Duration::from_micros(250);

/// A body larger than this always goes to the blocking pool, whatever the estimate.
pub(crate) const INLINE_MAX_BODY: usize = 64 << 10;

/// Bodies are counted as at least this many bytes, so that the fixed cost of a request is not
/// spread over a handful of bytes.
const MIN_BYTES: f64 = 256.0;

/// A model's recent scoring time per body byte.
#[derive(Debug)]
pub(crate) struct ScoringPace {
    /// Nanoseconds per byte as `f64` bits; NaN until the first request is measured.
    ns_per_byte: AtomicU64,
}

impl Default for ScoringPace {
    fn default() -> Self {
        ScoringPace {
            ns_per_byte: AtomicU64::new(f64::NAN.to_bits()),
        }
    }
}

impl ScoringPace {
    /// Whether a request of `body_len` bytes is expected to score in under [`INLINE_BELOW`].
    pub(crate) fn inline(&self, body_len: usize) -> bool {
        let rate = f64::from_bits(self.ns_per_byte.load(Ordering::Relaxed));
        body_len <= INLINE_MAX_BODY
            && rate * (body_len as f64).max(MIN_BYTES) < INLINE_BELOW.as_nanos() as f64
    }

    /// Records that a request of `body_len` bytes took `took` to score. A slower rate replaces
    /// the estimate at once; a faster one moves it an eighth of the way, so one fast request
    /// does not bring a slow model inline.
    pub(crate) fn record(&self, body_len: usize, took: Duration) {
        let rate = took.as_nanos() as f64 / (body_len as f64).max(MIN_BYTES);
        let old = f64::from_bits(self.ns_per_byte.load(Ordering::Relaxed));
        let new = if old.is_nan() || rate >= old {
            rate
        } else {
            old - (old - rate) / 8.0
        };
        self.ns_per_byte.store(new.to_bits(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unmeasured_or_slow_model_is_not_scored_inline() {
        let pace = ScoringPace::default();
        assert!(!pace.inline(100));
        // 10 µs per 256 bytes: a body of n KiB is estimated at 40 µs per KiB.
        pace.record(100, Duration::from_micros(10));
        assert!(pace.inline(100));
        let kib = |us: u64| (us / 40) as usize * 1024;
        assert!(pace.inline(kib(INLINE_BELOW.as_micros() as u64) - 1024));
        assert!(!pace.inline(kib(INLINE_BELOW.as_micros() as u64) + 1024));
        assert!(!pace.inline(INLINE_MAX_BODY + 1));
        // One slow request sends it back to the pool at once ...
        pace.record(100, Duration::from_millis(2));
        assert!(!pace.inline(100));
        // ... and it takes a run of fast ones to come back.
        let mut fast = 0;
        while !pace.inline(100) {
            pace.record(100, Duration::from_micros(10));
            fast += 1;
            assert!(fast < 100);
        }
        assert!(fast > 10, "{fast}");
    }
}
