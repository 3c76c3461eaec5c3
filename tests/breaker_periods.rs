//! Periods (epochs): stale permits, and the 16-bit period counter wrapping round.

use std::time::Duration;

use tenantml::breaker::{Breaker, BreakerConfig, Outcome, Permit, SlidingWindow, State};

mod common;
use common::fake::*;

// ---- periods (epochs) -------------------------------------------------------------------

#[test]
fn a_stale_permit_from_before_a_trip_does_not_affect_the_new_period() {
    let (clock, b) = setup(BreakerConfig::default());
    let stale_ok = permit(&b);
    let stale_fail: Vec<Permit> = (0..10).map(|_| permit(&b)).collect();
    trip(&b);
    clock.advance(Duration::from_secs(60));
    let probe = permit(&b);
    // The old call finishes now: in half-open it must not close the breaker...
    assert_eq!(b.record(&stale_ok, Outcome::Success, None), None);
    assert_eq!(b.state(), State::HalfOpen);
    // ... nor re-open it.
    assert_eq!(b.record(&stale_fail[0], Outcome::Failure, None), None);
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(
        b.record(&probe, Outcome::Success, None),
        t(State::HalfOpen, State::Closed)
    );
    // In the new closed period, old failures do not join the run.
    for p in &stale_fail[1..] {
        assert_eq!(b.record(p, Outcome::Failure, None), None);
    }
    let s = b.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!(s.consecutive_failures, 0);
    // ... but they are in the totals.
    assert_eq!(s.totals.failures, 5 + 10);
    assert_eq!(s.totals.successes, 2);
}

#[test]
fn a_stale_permit_does_not_enter_the_new_window() {
    let (_clock, b) = setup(BreakerConfig {
        failure_rate_threshold: Some(0.5),
        sliding_window: SlidingWindow::Count { size: 4 },
        minimum_calls: 1,
        consecutive_failure_threshold: 0,
        ..Default::default()
    });
    let old = permit(&b);
    b.force_open();
    b.reset();
    assert_eq!(b.record(&old, Outcome::Failure, None), None);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().window.calls, 0);
}

// ---- the 16-bit period counter wrapping round ---------------------------------------------

/// Moves a closed breaker `n` periods on without any other effect.
fn skip_periods(b: &Breaker, n: u32) {
    for _ in 0..n {
        assert_eq!(b.reset(), None);
    }
}

#[test]
fn a_wrapped_period_counter_does_not_wedge_half_open() {
    // Periods: 0 closed, 1 open, 2 half-open (probe succeeds), 3 closed. Then 65533 resets
    // and a trip make the next half-open period number 65538 = 2 (mod 65536): the old
    // period's "succeeded" probe lease must not be taken for this one's.
    let (clock, b) = setup(BreakerConfig::default());
    trip(&b);
    clock.advance(Duration::from_secs(60));
    let probe = permit(&b);
    assert_eq!(
        b.record(&probe, Outcome::Success, None),
        t(State::HalfOpen, State::Closed)
    );
    skip_periods(&b, 65_533);
    assert_eq!(succeed(&b), None);
    trip(&b);
    clock.advance(Duration::from_secs(60));
    let probe = b
        .allow()
        .expect("the probe is handed out, not refused forever");
    assert_eq!(probe.transition, t(State::Open, State::HalfOpen));
    assert_eq!(
        b.record(&probe, Outcome::Success, None),
        t(State::HalfOpen, State::Closed)
    );
}

#[test]
fn a_wrapped_period_counter_needs_every_probe_again() {
    let (clock, b) = setup(BreakerConfig {
        half_open_permits: 2,
        ..Default::default()
    });
    trip(&b);
    clock.advance(Duration::from_secs(60));
    let (p1, p2) = (permit(&b), permit(&b));
    assert_eq!(b.record(&p1, Outcome::Success, None), None);
    assert_eq!(
        b.record(&p2, Outcome::Success, None),
        t(State::HalfOpen, State::Closed)
    );
    skip_periods(&b, 65_533);
    assert_eq!(succeed(&b), None);
    trip(&b);
    clock.advance(Duration::from_secs(60));
    let p1 = permit(&b);
    assert_eq!(
        b.record(&p1, Outcome::Success, None),
        None,
        "one of two probes"
    );
    assert_eq!(b.state(), State::HalfOpen);
    let p2 = permit(&b);
    assert_eq!(
        b.record(&p2, Outcome::Success, None),
        t(State::HalfOpen, State::Closed)
    );
}

#[test]
fn a_wrapped_period_counter_does_not_revive_an_old_failure_run() {
    // Period 0 ends with a run of 5 failures; 65536 periods later the run starts from zero.
    let (clock, b) = setup(BreakerConfig::default());
    trip(&b);
    clock.advance(Duration::from_secs(60));
    let probe = permit(&b);
    b.record(&probe, Outcome::Success, None);
    skip_periods(&b, 65_533);
    assert_eq!(b.snapshot().consecutive_failures, 0);
    for n in 1..=4 {
        assert_eq!(fail(&b), None, "failure {n} of a fresh run");
    }
    assert_eq!(fail(&b), t(State::Closed, State::Open));
}
