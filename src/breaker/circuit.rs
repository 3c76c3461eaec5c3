//! The breaker itself: `allow` hands out permits, `record` feeds outcomes back, and every
//! state change is one compare-and-swap on the slot's control word.

use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::clock::Clock;
use super::config::BreakerConfig;
use super::slot::{Slot, FLAG_FAILURE, FLAG_RECORDED, FLAG_SLOW};
use super::state::{
    pack_last_transition, unpack_last_transition, Cause, Control, State, Transition, EPOCH_MASK,
};
use super::store::SlotRef;
use crate::error::Error;

const NS_PER_MS: u64 = 1_000_000;

/// Result of a guarded call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The call did what was asked.
    Success,
    /// The call failed; it counts towards opening the breaker.
    Failure,
}

/// Leave to make one call, from [`Breaker::allow`]; hand it back to [`Breaker::record`].
///
/// A permit remembers when it was issued (so `record` can measure the call), the breaker
/// period it belongs to (results from an earlier period are ignored) and, in half-open, the
/// probe lease it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permit {
    /// Monotonic nanoseconds when the call was allowed.
    pub started_ns: u64,
    pub(crate) epoch: u64,
    pub(crate) lease: Option<u8>,
    /// A transition this `allow` caused (open -> half-open), for logging.
    pub transition: Option<Transition>,
}

impl Permit {
    /// Rebuilds a permit that crossed the C ABI. An out-of-range lease index is rejected.
    pub(crate) fn from_parts(started_ns: u64, epoch: u32, lease: u32) -> Result<Permit, Error> {
        let lease = match lease {
            0 => None,
            n if n <= super::config::MAX_HALF_OPEN_PERMITS => Some((n - 1) as u8),
            n => {
                return Err(Error::InvalidArgument(format!(
                    "permit lease {n} is out of range; pass the permit allow() returned"
                )))
            }
        };
        if u64::from(epoch) > EPOCH_MASK {
            return Err(Error::InvalidArgument(
                "permit was rejected or already recorded; record only a permit allow() granted, once"
                    .into(),
            ));
        }
        Ok(Permit {
            started_ns,
            epoch: u64::from(epoch),
            lease,
            transition: None,
        })
    }

    /// Period tag, for the C ABI.
    pub(crate) fn epoch_u32(&self) -> u32 {
        self.epoch as u32
    }

    /// Probe lease as the C ABI numbers it: 0 none, n = lease n - 1.
    pub(crate) fn lease_u32(&self) -> u32 {
        self.lease.map_or(0, |i| u32::from(i) + 1)
    }
}

/// Why `allow` said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    /// State that refused the call.
    pub state: State,
    /// When to try again; `None` while forced open (only a reset lets calls through).
    pub retry_after: Option<Duration>,
    /// A transition this `allow` caused before it was refused.
    pub transition: Option<Transition>,
}

/// Another caller changed the control word between our read and our swap.
struct LostRace;

/// What a guarded call gives the fallback.
#[derive(Debug)]
pub enum CallError<E> {
    /// The breaker did not let the call run.
    Rejected(Rejected),
    /// The call ran and failed.
    Failed(E),
}

/// One named circuit breaker, backed by a slot of a [`BreakerStore`](super::BreakerStore).
/// Cheap to call from many threads at once (`Send + Sync`, lock-free).
pub struct Breaker {
    name: String,
    config: BreakerConfig,
    slow_call_ns: Option<u64>,
    slot: SlotRef,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Breaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Breaker")
            .field("name", &self.name)
            .field("state", &self.state())
            .finish()
    }
}

impl Breaker {
    pub(crate) fn new(
        name: String,
        config: BreakerConfig,
        slot: SlotRef,
        clock: Arc<dyn Clock>,
    ) -> Breaker {
        Breaker {
            name,
            slow_call_ns: config.slow_call_ns(),
            config,
            slot,
            clock,
        }
    }

    /// The breaker's name in its store.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The settings in force (the stored ones, when the breaker was opened adopting them).
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    fn control(&self) -> Control {
        Control(self.slot.control.load(Acquire))
    }

    /// Current state (moves open -> half-open only when a caller asks to pass).
    pub fn state(&self) -> State {
        self.control().state()
    }

    /// Asks to make one call.
    pub fn allow(&self) -> Result<Permit, Rejected> {
        let now = self.clock.now_ns();
        let now_ms = now / NS_PER_MS;
        let mut transition = None;
        loop {
            let c = self.control();
            let reject = |retry_after: Option<Duration>| {
                self.slot.rejected.fetch_add(1, Relaxed);
                Err(Rejected {
                    state: c.state(),
                    retry_after,
                    transition,
                })
            };
            match c.state() {
                State::Closed | State::Disabled => {
                    return Ok(Permit {
                        started_ns: now,
                        epoch: c.epoch(),
                        lease: None,
                        transition,
                    })
                }
                State::ForcedOpen => return reject(None),
                State::Open => {
                    if now_ms < c.until_ms() {
                        return reject(Some(Duration::from_millis(c.until_ms() - now_ms)));
                    }
                    let half_open = c.next(State::HalfOpen, c.openings(), 0);
                    if let Some(t) = self.transition(c, half_open, Cause::Automatic, now) {
                        transition = Some(t);
                    }
                }
                State::HalfOpen => {
                    match self.slot.acquire_lease(
                        self.config.half_open_permits,
                        c.epoch(),
                        now_ms,
                        self.config.probe_lease_ms,
                    ) {
                        Ok(index) => {
                            return Ok(Permit {
                                started_ns: now,
                                epoch: c.epoch(),
                                lease: Some(index as u8),
                                transition,
                            })
                        }
                        Err(wait_ms) => return reject(Some(Duration::from_millis(wait_ms))),
                    }
                }
            }
        }
    }

    /// Reports how the call went. `duration` overrides the time measured from the permit.
    /// Returns the transition this outcome caused, if any.
    pub fn record(
        &self,
        permit: &Permit,
        outcome: Outcome,
        duration: Option<Duration>,
    ) -> Option<Transition> {
        let failed = outcome == Outcome::Failure;
        let mut now = None;
        let slow = self.slow_call_ns.is_some_and(|limit| {
            let took = match duration {
                Some(d) => d.as_nanos().min(u128::from(u64::MAX)) as u64,
                None => {
                    let t = self.clock.now_ns();
                    now = Some(t);
                    t.saturating_sub(permit.started_ns)
                }
            };
            took >= limit
        });
        let totals = if failed {
            &self.slot.failures
        } else {
            &self.slot.successes
        };
        totals.fetch_add(1, Relaxed);
        if slow {
            self.slot.slow_calls.fetch_add(1, Relaxed);
        }
        let c = self.control();
        if c.epoch() != permit.epoch {
            // The breaker moved on since this call was allowed.
            return None;
        }
        match c.state() {
            State::Closed => self.record_closed(c, failed, slow, now),
            State::HalfOpen => self.record_probe(c, permit, failed, slow, now),
            State::Open | State::ForcedOpen | State::Disabled => None,
        }
    }

    fn record_closed(
        &self,
        c: Control,
        failed: bool,
        slow: bool,
        now: Option<u64>,
    ) -> Option<Transition> {
        let epoch = c.epoch();
        let mut trip = false;
        if failed {
            let run = self.slot.add_consecutive_failure(epoch);
            let threshold = self.config.consecutive_failure_threshold;
            trip = threshold > 0 && run >= u64::from(threshold);
        } else {
            self.slot.clear_consecutive(epoch);
        }
        let mut now = now;
        if self.config.has_rate_rule() {
            let t = *now.get_or_insert_with(|| self.clock.now_ns());
            let flags = FLAG_RECORDED
                | if failed { FLAG_FAILURE } else { 0 }
                | if slow { FLAG_SLOW } else { 0 };
            self.slot
                .push_window(self.config.sliding_window, epoch, t, flags);
            if !trip && (failed || slow) {
                trip = self.rates_exceeded(epoch, t);
            }
        }
        if !trip {
            return None;
        }
        let now = now.unwrap_or_else(|| self.clock.now_ns());
        self.open(c, 1, now)
    }

    fn rates_exceeded(&self, epoch: u64, now: u64) -> bool {
        let counts = self
            .slot
            .window_counts(self.config.sliding_window, epoch, now);
        if counts.calls < u64::from(self.config.minimum_calls) {
            return false;
        }
        let (failure_rate, slow_rate) = counts.rates();
        self.config
            .failure_rate_threshold
            .is_some_and(|t| failure_rate >= t)
            || self
                .config
                .slow_call_rate_threshold
                .is_some_and(|t| slow_rate >= t)
    }

    fn record_probe(
        &self,
        c: Control,
        permit: &Permit,
        failed: bool,
        slow: bool,
        now: Option<u64>,
    ) -> Option<Transition> {
        let index = usize::from(permit.lease?);
        if index >= self.config.half_open_permits as usize {
            return None;
        }
        let epoch = c.epoch();
        let started_ms = permit.started_ns / NS_PER_MS;
        let lease_ms = self.config.probe_lease_ms;
        let probe_failed = failed || (slow && self.config.slow_call_rate_threshold.is_some());
        let now = now.unwrap_or_else(|| self.clock.now_ns());
        if probe_failed {
            // A probe whose lease was handed to another caller no longer speaks for the breaker.
            if !self.slot.owns_lease(index, epoch, started_ms, lease_ms) {
                return None;
            }
            return self.open(c, c.openings() + 1, now);
        }
        if self.slot.complete_lease(index, epoch, started_ms, lease_ms)
            && self
                .slot
                .all_leases_succeeded(self.config.half_open_permits, epoch)
        {
            return self.transition(c, c.next(State::Closed, 0, 0), Cause::Automatic, now);
        }
        None
    }

    fn open(&self, c: Control, openings: u32, now: u64) -> Option<Transition> {
        let openings = openings.min(super::state::MAX_OPENINGS);
        let until_ms = now / NS_PER_MS + self.config.open_wait_ms_for(openings);
        self.transition(
            c,
            c.next(State::Open, openings, until_ms),
            Cause::Automatic,
            now,
        )
    }

    /// The one place a breaker changes state: checked against the transition table, then
    /// one compare-and-swap. `Err` means another caller moved the breaker first.
    fn try_transition(
        &self,
        from: Control,
        to: Control,
        cause: Cause,
        now: u64,
    ) -> Result<Option<Transition>, LostRace> {
        let (from_state, to_state) = (from.state(), to.state());
        if !from_state.can_become(to_state, cause) {
            debug_assert!(false, "illegal transition {from_state} -> {to_state}");
            return Ok(None);
        }
        self.slot
            .control
            .compare_exchange(from.0, to.0, AcqRel, Acquire)
            .map_err(|_| LostRace)?;
        self.slot.retire_epoch(from.epoch());
        if from_state == to_state {
            // A manual operation that only started a new period (e.g. reset while closed).
            return Ok(None);
        }
        let t = Transition {
            from: from_state,
            to: to_state,
        };
        self.slot.transitions.fetch_add(1, Relaxed);
        self.slot
            .last_transition
            .store(pack_last_transition(t, now / NS_PER_MS), Release);
        Ok(Some(t))
    }

    /// An automatic transition; losing the race is fine, the winner reports it.
    fn transition(&self, from: Control, to: Control, cause: Cause, now: u64) -> Option<Transition> {
        self.try_transition(from, to, cause, now).ok().flatten()
    }

    /// A manual transition always lands, whatever other callers do meanwhile.
    fn manual(&self, to: State) -> Option<Transition> {
        let now = self.clock.now_ns();
        loop {
            let c = self.control();
            if let Ok(t) = self.try_transition(c, c.next(to, 0, 0), Cause::Manual, now) {
                return t;
            }
        }
    }

    /// Rejects every call until [`reset`](Self::reset).
    pub fn force_open(&self) -> Option<Transition> {
        self.manual(State::ForcedOpen)
    }

    /// Lets every call through and never trips, until [`reset`](Self::reset).
    pub fn disable(&self) -> Option<Transition> {
        self.manual(State::Disabled)
    }

    /// Back to closed with empty windows and no backoff history.
    pub fn reset(&self) -> Option<Transition> {
        self.manual(State::Closed)
    }

    /// Runs `f` under the breaker; on rejection or failure the fallback answers.
    ///
    /// ```
    /// use tenantml::breaker::{BreakerConfig, BreakerStore, CallError};
    /// let store = BreakerStore::in_process();
    /// let breaker = store.breaker("pricing-api", BreakerConfig::default()).unwrap();
    /// let price = breaker.call(
    ///     || Err::<f64, &str>("timeout"),
    ///     |e: CallError<&str>| match e {
    ///         CallError::Failed(_) => 9.99,   // the call ran and failed
    ///         CallError::Rejected(_) => 9.99, // the breaker is open
    ///     },
    /// );
    /// assert_eq!(price, 9.99);
    /// ```
    pub fn call<T, E>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
        fallback: impl FnOnce(CallError<E>) -> T,
    ) -> T {
        self.guard(f).unwrap_or_else(fallback)
    }

    /// Runs `f` under the breaker and says why it did not answer.
    pub fn guard<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, CallError<E>> {
        let permit = self.allow().map_err(CallError::Rejected)?;
        match f() {
            Ok(value) => {
                self.record(&permit, Outcome::Success, None);
                Ok(value)
            }
            Err(e) => {
                self.record(&permit, Outcome::Failure, None);
                Err(CallError::Failed(e))
            }
        }
    }

    /// The error a rejection becomes at API edges.
    pub fn rejection_error(&self, rejected: &Rejected) -> Error {
        Error::CircuitOpen {
            name: self.name.clone(),
            retry_after: rejected.retry_after,
        }
    }

    /// State, counters and last transition, as seen now.
    pub fn snapshot(&self) -> BreakerSnapshot {
        snapshot_of(
            &self.slot,
            self.name.clone(),
            &self.config,
            self.clock.now_ns(),
        )
    }
}

/// Everything observable about one breaker; serialises to the JSON the C ABI and CLI give.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakerSnapshot {
    /// Breaker name.
    pub name: String,
    /// Current state.
    pub state: State,
    /// Failures in a row in the current closed period.
    pub consecutive_failures: u64,
    /// Openings since the last successful close (drives the backoff).
    pub consecutive_openings: u32,
    /// Milliseconds until an open breaker lets probes through.
    pub retry_after_ms: Option<u64>,
    /// The sliding window of the current closed period.
    pub window: WindowSnapshot,
    /// Counters since the store was created.
    pub totals: Totals,
    /// Number of state changes.
    pub transitions: u64,
    /// The most recent state change.
    pub last_transition: Option<LastTransition>,
    /// Hash of the settings, hex.
    pub config_hash: String,
}

/// Sliding-window view.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WindowSnapshot {
    /// Calls in the window.
    pub calls: u64,
    /// Failed calls in the window.
    pub failures: u64,
    /// Slow calls in the window.
    pub slow_calls: u64,
    /// Failure share, once `minimum_calls` is reached.
    pub failure_rate: Option<f64>,
    /// Slow-call share, once `minimum_calls` is reached.
    pub slow_call_rate: Option<f64>,
}

/// Lifetime counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Calls recorded as successes.
    pub successes: u64,
    /// Calls recorded as failures.
    pub failures: u64,
    /// Calls at or over the slow-call duration (successes or failures).
    pub slow_calls: u64,
    /// Calls refused by `allow`.
    pub rejected: u64,
}

/// A past transition and how long ago it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LastTransition {
    /// State before.
    pub from: State,
    /// State after.
    pub to: State,
    /// Milliseconds since it happened.
    pub age_ms: u64,
}

pub(crate) fn snapshot_of(
    slot: &Slot,
    name: String,
    config: &BreakerConfig,
    now_ns: u64,
) -> BreakerSnapshot {
    let c = Control(slot.control.load(Acquire));
    let now_ms = now_ns / NS_PER_MS;
    let counts = if c.state() == State::Closed && config.has_rate_rule() {
        slot.window_counts(config.sliding_window, c.epoch(), now_ns)
    } else {
        Default::default()
    };
    let (failure_rate, slow_rate) = counts.rates();
    let rated = counts.calls >= u64::from(config.minimum_calls);
    BreakerSnapshot {
        name,
        state: c.state(),
        consecutive_failures: if c.state() == State::Closed {
            slot.consecutive_in(c.epoch())
        } else {
            0
        },
        consecutive_openings: c.openings(),
        retry_after_ms: (c.state() == State::Open).then(|| c.until_ms().saturating_sub(now_ms)),
        window: WindowSnapshot {
            calls: counts.calls,
            failures: counts.failures,
            slow_calls: counts.slow,
            failure_rate: rated.then_some(failure_rate),
            slow_call_rate: rated.then_some(slow_rate),
        },
        totals: Totals {
            successes: slot.successes.load(Relaxed),
            failures: slot.failures.load(Relaxed),
            slow_calls: slot.slow_calls.load(Relaxed),
            rejected: slot.rejected.load(Relaxed),
        },
        transitions: slot.transitions.load(Relaxed),
        last_transition: unpack_last_transition(slot.last_transition.load(Acquire)).map(
            |(t, at_ms)| LastTransition {
                from: t.from,
                to: t.to,
                age_ms: now_ms.saturating_sub(at_ms),
            },
        ),
        config_hash: format!("{:016x}", config.hash()),
    }
}
