//! Time for the breaker: one monotonic source shared by every process on the host in
//! production, and a hand-driven clock for tests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A source of monotonic nanoseconds. Every process sharing a breaker must read the same
/// timeline, which `CLOCK_MONOTONIC` gives on one host (it restarts at boot, which is why the
/// shared store records the boot id).
pub trait Clock: Send + Sync {
    /// Nanoseconds since an arbitrary fixed origin; never goes backwards.
    fn now_ns(&self) -> u64;
}

/// `CLOCK_MONOTONIC`, the same value in every process of a host.
#[derive(Debug, Default, Clone, Copy)]
pub struct MonotonicClock;

impl Clock for MonotonicClock {
    #[inline]
    fn now_ns(&self) -> u64 {
        let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }
}

/// A clock that only moves when told to: every breaker transition can be tested without
/// sleeping.
///
/// ```
/// use std::time::Duration;
/// use tenantml::breaker::{Clock, FakeClock};
/// let clock = FakeClock::new();
/// clock.advance(Duration::from_secs(3));
/// assert_eq!(clock.now_ns(), 1_000_000_000 + 3_000_000_000);
/// ```
#[derive(Debug)]
pub struct FakeClock {
    now: AtomicU64,
}

impl FakeClock {
    /// Starts at one second, so "time zero" is never confused with "unset".
    pub fn new() -> Self {
        FakeClock {
            now: AtomicU64::new(1_000_000_000),
        }
    }

    /// Moves time forward.
    pub fn advance(&self, by: Duration) {
        self.now.fetch_add(by.as_nanos() as u64, Ordering::SeqCst);
    }
}

impl Default for FakeClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for FakeClock {
    fn now_ns(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now_ns(&self) -> u64 {
        (**self).now_ns()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_never_goes_back() {
        let c = MonotonicClock;
        let a = c.now_ns();
        let b = c.now_ns();
        assert!(b >= a && a > 0);
    }
}
