//! Helpers for the fake-clock breaker suites.

use std::sync::Arc;
use std::time::Duration;

use tenantml::breaker::{
    Breaker, BreakerConfig, BreakerStore, FakeClock, Outcome, Permit, Rejected, SlidingWindow,
    State, Transition,
};

pub fn setup(config: BreakerConfig) -> (Arc<FakeClock>, Breaker) {
    let clock = Arc::new(FakeClock::new());
    let store = BreakerStore::in_process().with_clock(clock.clone());
    let breaker = store.breaker("dependency", config).expect("valid config");
    (clock, breaker)
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn t(from: State, to: State) -> Option<Transition> {
    Some(Transition { from, to })
}

/// allow + record; panics when the breaker refuses the call.
pub fn call(b: &Breaker, outcome: Outcome) -> Option<Transition> {
    let permit = b
        .allow()
        .unwrap_or_else(|r| panic!("expected a permit, got {r:?}"));
    b.record(&permit, outcome, None)
}

pub fn fail(b: &Breaker) -> Option<Transition> {
    call(b, Outcome::Failure)
}

pub fn succeed(b: &Breaker) -> Option<Transition> {
    call(b, Outcome::Success)
}

pub fn permit(b: &Breaker) -> Permit {
    b.allow()
        .unwrap_or_else(|r| panic!("expected a permit, got {r:?}"))
}

pub fn rejected(b: &Breaker) -> Rejected {
    match b.allow() {
        Ok(p) => panic!("expected a rejection, got {p:?}"),
        Err(r) => r,
    }
}

/// As many failures as the consecutive threshold; checks that the last one trips.
pub fn trip(b: &Breaker) {
    for _ in 0..b.config().consecutive_failure_threshold - 1 {
        assert_eq!(fail(b), None);
    }
    assert_eq!(fail(b), t(State::Closed, State::Open));
    assert_eq!(b.state(), State::Open);
}

pub fn only_rates(window: SlidingWindow, minimum_calls: u32, threshold: f64) -> BreakerConfig {
    BreakerConfig {
        consecutive_failure_threshold: 0,
        failure_rate_threshold: Some(threshold),
        sliding_window: window,
        minimum_calls,
        ..Default::default()
    }
}
