//! Circuit breaker: closed -> open -> half-open -> closed/open, with consecutive-failure,
//! failure-rate and slow-call rules over count or time windows, expiring probe leases,
//! exponential backoff, manual force-open/disable/reset, and state that every process on a
//! host can share through a memory-mapped file.
//!
//! ```
//! use tenantml::breaker::{BreakerConfig, BreakerStore, Outcome, State};
//! let store = BreakerStore::in_process(); // or BreakerStore::shared(&options)? for the host
//! let breaker = store.breaker("ml-service", BreakerConfig::default())?;
//! for _ in 0..5 {
//!     let permit = breaker.allow().unwrap();
//!     breaker.record(&permit, Outcome::Failure, None);
//! }
//! assert_eq!(breaker.state(), State::Open);
//! assert!(breaker.allow().is_err());
//! # Ok::<(), tenantml::Error>(())
//! ```
//!
//! Design: each breaker is one fixed-size slot of atomics (the private `slot` module). Its state, epoch,
//! backoff count and reopen time are packed into one control word, so every transition is a
//! single compare-and-swap checked against [`State::can_become`]. Counters and window
//! entries carry the epoch they were written in; a transition starts a new epoch, which
//! empties windows without anyone clearing memory. The hot path (`allow` + `record` on a
//! closed breaker) is a clock read and a few uncontended atomic operations, with no lock
//! and no allocation.

mod circuit;
mod clock;
mod config;
pub(crate) mod shared;
mod slot;
mod state;
mod store;

pub use circuit::{
    Breaker, BreakerSnapshot, CallError, LastTransition, Outcome, Permit, Rejected, Totals,
    WindowSnapshot,
};
pub use clock::{Clock, FakeClock, MonotonicClock};
pub use config::{
    BreakerConfig, SlidingWindow, MAX_COUNT_WINDOW, MAX_HALF_OPEN_PERMITS, MAX_TIME_BUCKETS,
    MAX_TIME_WINDOW_SECONDS,
};
pub use shared::{SharedStoreOptions, LAYOUT_VERSION, MAX_CAPACITY};
pub use slot::MAX_NAME_LEN;
pub use state::{Cause, State, Transition};
pub use store::{BreakerStore, OnConfigMismatch};

/// 64-bit FNV-1a: a stable hash (same value in every process and build) for config hashes,
/// slot placement and the store header checksum. Not for adversarial input.
pub(crate) fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
