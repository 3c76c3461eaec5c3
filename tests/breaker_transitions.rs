//! One test per transition of the circuit breaker, driven by a fake clock (in the style of
//! resilience4j's `CircuitBreakerStateMachineTest`): nothing sleeps and nothing depends on how
//! fast the machine is. Rate rules, the API surface and validation have suites of their own.

use std::time::Duration;

use tenantml::breaker::{BreakerConfig, Outcome, SlidingWindow, State};
use tenantml::Error;

mod common;
use common::fake::*;

// ---- closed -> open: consecutive failures -----------------------------------------------

#[test]
fn defaults_trip_after_exactly_five_consecutive_failures() {
    let (_clock, b) = setup(BreakerConfig::default());
    assert_eq!(b.state(), State::Closed);
    for n in 1..=4 {
        assert_eq!(fail(&b), None, "failure {n} must not trip");
        assert_eq!(b.state(), State::Closed);
        assert_eq!(b.snapshot().consecutive_failures, n);
    }
    assert_eq!(fail(&b), t(State::Closed, State::Open));
    assert_eq!(b.state(), State::Open);
    let s = b.snapshot();
    assert_eq!(s.transitions, 1);
    assert_eq!(s.consecutive_openings, 1);
    assert_eq!(s.consecutive_failures, 0, "only counted while closed");
    assert_eq!(s.totals.failures, 5);
}

#[test]
fn a_success_resets_the_failure_run() {
    let (_clock, b) = setup(BreakerConfig::default());
    for _ in 0..4 {
        assert_eq!(fail(&b), None);
    }
    assert_eq!(succeed(&b), None);
    assert_eq!(b.snapshot().consecutive_failures, 0);
    for _ in 0..4 {
        assert_eq!(fail(&b), None);
    }
    assert_eq!(b.state(), State::Closed);
    assert_eq!(fail(&b), t(State::Closed, State::Open));
}

#[test]
fn custom_consecutive_threshold() {
    let (_clock, b) = setup(BreakerConfig {
        consecutive_failure_threshold: 1,
        ..Default::default()
    });
    assert_eq!(fail(&b), t(State::Closed, State::Open));
}

#[test]
fn consecutive_threshold_zero_never_trips() {
    let (_clock, b) = setup(BreakerConfig {
        consecutive_failure_threshold: 0,
        ..Default::default()
    });
    for _ in 0..1000 {
        assert_eq!(fail(&b), None);
    }
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().totals.failures, 1000);
    assert_eq!(b.snapshot().transitions, 0);
}

// ---- open: rejections ---------------------------------------------------------------------

#[test]
fn open_rejects_with_retry_after_and_counts_rejections() {
    let (clock, b) = setup(BreakerConfig::default());
    trip(&b);
    let r = rejected(&b);
    assert_eq!(r.state, State::Open);
    assert_eq!(r.retry_after, Some(Duration::from_secs(60)));
    assert_eq!(r.transition, None);

    clock.advance(Duration::from_secs(10));
    let r = rejected(&b);
    assert_eq!(r.retry_after, Some(Duration::from_secs(50)));
    clock.advance(ms(49_250));
    assert_eq!(rejected(&b).retry_after, Some(ms(750)));

    let s = b.snapshot();
    assert_eq!(s.totals.rejected, 3);
    assert_eq!(s.retry_after_ms, Some(750));
    assert_eq!(s.state, State::Open);
    assert_eq!(s.transitions, 1, "rejections are not transitions");

    let err = b.rejection_error(&r);
    assert_eq!(err.code(), 200);
    match err {
        Error::CircuitOpen { name, retry_after } => {
            assert_eq!(name, "dependency");
            assert_eq!(retry_after, Some(Duration::from_secs(50)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn half_open_only_after_the_full_wait() {
    let (clock, b) = setup(BreakerConfig::default());
    trip(&b);
    clock.advance(ms(59_999));
    let r = rejected(&b);
    assert_eq!(r.state, State::Open);
    assert_eq!(r.retry_after, Some(ms(1)));
    assert_eq!(b.state(), State::Open);

    clock.advance(ms(1));
    // The state only moves when someone asks to pass.
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.snapshot().retry_after_ms, Some(0));
    let p = permit(&b);
    assert_eq!(p.transition, t(State::Open, State::HalfOpen));
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.snapshot().transitions, 2);
    assert_eq!(b.snapshot().retry_after_ms, None);
}

// ---- half-open --------------------------------------------------------------------------

#[test]
fn a_successful_probe_closes_the_breaker() {
    let (clock, b) = setup(BreakerConfig::default());
    trip(&b);
    clock.advance(Duration::from_secs(60));
    let probe = permit(&b);
    // One probe by default: a second caller is refused while it is out.
    let r = rejected(&b);
    assert_eq!(r.state, State::HalfOpen);
    assert_eq!(
        r.retry_after,
        Some(Duration::from_secs(30)),
        "until the probe lease expires"
    );
    assert_eq!(r.transition, None);

    clock.advance(ms(250));
    assert_eq!(
        b.record(&probe, Outcome::Success, None),
        t(State::HalfOpen, State::Closed)
    );
    assert_eq!(b.state(), State::Closed);
    let s = b.snapshot();
    assert_eq!(s.transitions, 3);
    assert_eq!(s.consecutive_openings, 0);
    assert_eq!(s.consecutive_failures, 0);
    // Fully closed again: calls flow and five more failures are needed.
    for _ in 0..4 {
        assert_eq!(fail(&b), None);
    }
    assert_eq!(fail(&b), t(State::Closed, State::Open));
    assert_eq!(rejected(&b).retry_after, Some(Duration::from_secs(60)));
}

#[test]
fn a_failed_probe_reopens_with_backoff_up_to_the_cap() {
    let (clock, b) = setup(BreakerConfig {
        open_wait_ms: 1000,
        backoff_multiplier: 2.0,
        max_open_wait_ms: 5000,
        ..Default::default()
    });
    trip(&b);
    let expected_waits = [1000, 2000, 4000, 5000, 5000, 5000];
    for (i, &wait) in expected_waits.iter().enumerate() {
        let openings = i as u32 + 1;
        let s = b.snapshot();
        assert_eq!(s.state, State::Open);
        assert_eq!(s.consecutive_openings, openings);
        assert_eq!(s.retry_after_ms, Some(wait), "opening {openings}");
        assert_eq!(rejected(&b).retry_after, Some(ms(wait)));
        clock.advance(ms(wait - 1));
        assert_eq!(rejected(&b).retry_after, Some(ms(1)), "opening {openings}");
        clock.advance(ms(1));
        let probe = permit(&b);
        assert_eq!(probe.transition, t(State::Open, State::HalfOpen));
        assert_eq!(
            b.snapshot().consecutive_openings,
            openings,
            "kept in half-open"
        );
        assert_eq!(
            b.record(&probe, Outcome::Failure, None),
            t(State::HalfOpen, State::Open)
        );
    }
    // A successful probe forgets the backoff: the next trip waits the base time again.
    clock.advance(ms(5000));
    let probe = permit(&b);
    assert_eq!(
        b.record(&probe, Outcome::Success, None),
        t(State::HalfOpen, State::Closed)
    );
    trip(&b);
    assert_eq!(b.snapshot().consecutive_openings, 1);
    assert_eq!(rejected(&b).retry_after, Some(ms(1000)));
}

#[test]
fn non_integer_backoff_multiplier() {
    let (clock, b) = setup(BreakerConfig {
        open_wait_ms: 1000,
        backoff_multiplier: 1.5,
        max_open_wait_ms: 3000,
        ..Default::default()
    });
    trip(&b);
    for wait in [1000, 1500, 2250, 3000, 3000] {
        assert_eq!(rejected(&b).retry_after, Some(ms(wait)));
        clock.advance(ms(wait));
        let probe = permit(&b);
        assert_eq!(
            b.record(&probe, Outcome::Failure, None),
            t(State::HalfOpen, State::Open)
        );
    }
}

#[test]
fn openings_counter_saturates() {
    let (clock, b) = setup(BreakerConfig {
        open_wait_ms: 1,
        backoff_multiplier: 2.0,
        max_open_wait_ms: 64,
        ..Default::default()
    });
    trip(&b);
    for _ in 0..40 {
        clock.advance(ms(64));
        let probe = permit(&b);
        assert_eq!(
            b.record(&probe, Outcome::Failure, None),
            t(State::HalfOpen, State::Open)
        );
    }
    let s = b.snapshot();
    assert_eq!(s.consecutive_openings, 31);
    assert_eq!(s.retry_after_ms, Some(64));
    assert_eq!(s.transitions, 1 + 2 * 40);
}

#[test]
fn three_half_open_permits_need_three_successes() {
    let (clock, b) = setup(BreakerConfig {
        half_open_permits: 3,
        probe_lease_ms: 1000,
        ..Default::default()
    });
    trip(&b);
    clock.advance(Duration::from_secs(60));
    let p1 = permit(&b);
    assert_eq!(p1.transition, t(State::Open, State::HalfOpen));
    clock.advance(ms(100));
    let p2 = permit(&b);
    clock.advance(ms(100));
    let p3 = permit(&b);
    assert_eq!((p2.transition, p3.transition), (None, None));

    // A fourth caller is refused while three probes are out, until the first lease ends.
    let r = rejected(&b);
    assert_eq!(r.state, State::HalfOpen);
    assert_eq!(r.retry_after, Some(ms(800)));

    assert_eq!(b.record(&p2, Outcome::Success, None), None);
    assert_eq!(b.state(), State::HalfOpen);
    // A finished probe does not free its permit for someone else.
    assert_eq!(rejected(&b).retry_after, Some(ms(800)));
    assert_eq!(b.record(&p1, Outcome::Success, None), None);
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(
        rejected(&b).retry_after,
        Some(ms(1000)),
        "p3's lease remains"
    );
    assert_eq!(
        b.record(&p3, Outcome::Success, None),
        t(State::HalfOpen, State::Closed)
    );
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().totals.rejected, 3);
}

#[test]
fn one_failed_probe_of_several_reopens_and_the_others_are_ignored() {
    let (clock, b) = setup(BreakerConfig {
        half_open_permits: 3,
        ..Default::default()
    });
    trip(&b);
    clock.advance(Duration::from_secs(60));
    let probes = [permit(&b), permit(&b), permit(&b)];
    assert_eq!(b.record(&probes[0], Outcome::Success, None), None);
    assert_eq!(
        b.record(&probes[1], Outcome::Failure, None),
        t(State::HalfOpen, State::Open)
    );
    assert_eq!(b.snapshot().consecutive_openings, 2);
    // The last probe reports after the reopening: counted, but it cannot close anything.
    assert_eq!(b.record(&probes[2], Outcome::Success, None), None);
    assert_eq!(b.state(), State::Open);
    let s = b.snapshot();
    assert_eq!(s.totals.successes, 2);
    assert_eq!(s.totals.failures, 6);
    assert_eq!(s.transitions, 3);
}

#[test]
fn an_expired_probe_lease_goes_to_the_next_caller_and_the_late_result_is_ignored() {
    for late in [Outcome::Success, Outcome::Failure] {
        let (clock, b) = setup(BreakerConfig {
            probe_lease_ms: 1000,
            ..Default::default()
        });
        trip(&b);
        clock.advance(Duration::from_secs(60));
        let stuck = permit(&b); // this worker dies or hangs
        clock.advance(ms(999));
        assert_eq!(rejected(&b).retry_after, Some(ms(1)));
        clock.advance(ms(1));
        let fresh = permit(&b);
        assert_eq!(fresh.transition, None, "still the same half-open period");
        assert_eq!(b.state(), State::HalfOpen);

        // The original holder finally answers: it no longer speaks for the breaker.
        assert_eq!(b.record(&stuck, late, None), None, "{late:?}");
        assert_eq!(b.state(), State::HalfOpen, "{late:?}");
        // ... and the lease is still the new holder's.
        assert!(b.allow().is_err());

        assert_eq!(
            b.record(&fresh, Outcome::Success, None),
            t(State::HalfOpen, State::Closed)
        );
        assert_eq!(
            b.snapshot().totals.successes + b.snapshot().totals.failures,
            7
        );
    }
}

#[test]
fn a_late_probe_whose_lease_nobody_took_still_counts() {
    let (clock, b) = setup(BreakerConfig {
        probe_lease_ms: 1000,
        ..Default::default()
    });
    trip(&b);
    clock.advance(Duration::from_secs(60));
    let slow = permit(&b);
    clock.advance(Duration::from_secs(5));
    assert_eq!(
        b.record(&slow, Outcome::Success, None),
        t(State::HalfOpen, State::Closed)
    );
}

#[test]
fn an_expired_lease_is_reclaimed_by_a_later_probe_that_fails() {
    let (clock, b) = setup(BreakerConfig {
        probe_lease_ms: 500,
        ..Default::default()
    });
    trip(&b);
    clock.advance(Duration::from_secs(60));
    let stuck = permit(&b);
    clock.advance(ms(500));
    let fresh = permit(&b);
    assert_eq!(
        b.record(&fresh, Outcome::Failure, None),
        t(State::HalfOpen, State::Open)
    );
    assert_eq!(b.record(&stuck, Outcome::Success, None), None);
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.snapshot().consecutive_openings, 2);
}

// ---- manual operations ------------------------------------------------------------------

#[test]
fn force_open_rejects_everything_until_reset() {
    let (clock, b) = setup(BreakerConfig::default());
    let before = permit(&b);
    assert_eq!(b.force_open(), t(State::Closed, State::ForcedOpen));
    assert_eq!(b.state(), State::ForcedOpen);
    let r = rejected(&b);
    assert_eq!(
        (r.state, r.retry_after, r.transition),
        (State::ForcedOpen, None, None)
    );
    assert_eq!(b.snapshot().retry_after_ms, None);
    clock.advance(Duration::from_secs(86_400));
    assert_eq!(
        rejected(&b).retry_after,
        None,
        "time does not end a forced opening"
    );
    // A call allowed before is counted, and changes nothing.
    assert_eq!(b.record(&before, Outcome::Success, None), None);
    assert_eq!(b.state(), State::ForcedOpen);
    // Forcing again is not a transition.
    assert_eq!(b.force_open(), None);
    assert_eq!(b.snapshot().transitions, 1);
    let err = b.rejection_error(&r);
    assert!(err.to_string().contains("until reset"), "{err}");

    assert_eq!(b.reset(), t(State::ForcedOpen, State::Closed));
    assert_eq!(succeed(&b), None);
    let s = b.snapshot();
    assert_eq!(s.transitions, 2);
    assert_eq!(s.totals.rejected, 2);
    assert_eq!(s.totals.successes, 2);
}

#[test]
fn force_open_from_open_and_half_open() {
    let (clock, b) = setup(BreakerConfig::default());
    trip(&b);
    assert_eq!(b.force_open(), t(State::Open, State::ForcedOpen));
    clock.advance(Duration::from_secs(120));
    assert_eq!(rejected(&b).retry_after, None);
    b.reset();
    trip(&b);
    clock.advance(Duration::from_secs(60));
    let probe = permit(&b);
    assert_eq!(b.force_open(), t(State::HalfOpen, State::ForcedOpen));
    assert_eq!(
        b.record(&probe, Outcome::Success, None),
        None,
        "probe of an old period"
    );
    assert_eq!(b.state(), State::ForcedOpen);
}

#[test]
fn disable_lets_everything_through_and_never_trips() {
    let (clock, b) = setup(only_rates(SlidingWindow::Count { size: 10 }, 1, 0.1));
    assert_eq!(b.disable(), t(State::Closed, State::Disabled));
    for _ in 0..1000 {
        assert_eq!(fail(&b), None);
        let p = permit(&b);
        clock.advance(Duration::from_secs(1));
        assert_eq!(b.record(&p, Outcome::Failure, None), None);
    }
    let s = b.snapshot();
    assert_eq!(s.state, State::Disabled);
    assert_eq!(s.totals.failures, 2000);
    assert_eq!(s.transitions, 1);
    assert_eq!(b.disable(), None);
    // Failures while disabled leave nothing behind.
    assert_eq!(b.reset(), t(State::Disabled, State::Closed));
    assert_eq!(b.snapshot().window.calls, 0);
    assert_eq!(
        fail(&b),
        t(State::Closed, State::Open),
        "one failure: 100% of 1 call"
    );
}

#[test]
fn disable_from_open_and_forced_open() {
    let (_clock, b) = setup(BreakerConfig::default());
    trip(&b);
    assert_eq!(b.disable(), t(State::Open, State::Disabled));
    assert_eq!(succeed(&b), None);
    assert_eq!(b.force_open(), t(State::Disabled, State::ForcedOpen));
    assert_eq!(b.disable(), t(State::ForcedOpen, State::Disabled));
    assert_eq!(b.snapshot().transitions, 4);
    assert_eq!(b.snapshot().consecutive_openings, 0);
}

#[test]
fn reset_closes_empties_windows_and_forgets_backoff() {
    let (clock, b) = setup(BreakerConfig {
        failure_rate_threshold: Some(0.5),
        sliding_window: SlidingWindow::Count { size: 10 },
        minimum_calls: 10,
        open_wait_ms: 1000,
        backoff_multiplier: 2.0,
        max_open_wait_ms: 100_000,
        ..Default::default()
    });
    trip(&b);
    for _ in 0..3 {
        clock.advance(Duration::from_secs(100));
        let probe = permit(&b);
        b.record(&probe, Outcome::Failure, None);
    }
    assert_eq!(b.snapshot().consecutive_openings, 4);
    assert_eq!(b.reset(), t(State::Open, State::Closed));
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.consecutive_openings, s.retry_after_ms),
        (State::Closed, 0, None)
    );
    trip(&b);
    assert_eq!(
        rejected(&b).retry_after,
        Some(ms(1000)),
        "backoff forgotten"
    );

    // Reset empties the window and the failure run.
    b.reset();
    for _ in 0..4 {
        fail(&b);
    }
    for _ in 0..5 {
        succeed(&b);
    }
    let w = b.snapshot().window;
    assert_eq!(
        (w.calls, w.failures),
        (9, 4),
        "one failure away from 50% of 10 calls"
    );
    b.reset();
    let s = b.snapshot();
    assert_eq!(
        (s.window.calls, s.window.failures, s.consecutive_failures),
        (0, 0, 0)
    );
    for _ in 0..4 {
        assert_eq!(fail(&b), None, "the window and the run start empty");
    }
    assert_eq!(b.snapshot().consecutive_failures, 4);
    // Resetting a closed breaker starts a new period but is not a transition.
    let transitions = b.snapshot().transitions;
    assert_eq!(b.reset(), None);
    assert_eq!(b.snapshot().transitions, transitions);
    assert_eq!(b.snapshot().consecutive_failures, 0);
    for _ in 0..4 {
        assert_eq!(fail(&b), None);
    }
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn reset_from_half_open_ignores_the_probe() {
    let (clock, b) = setup(BreakerConfig::default());
    trip(&b);
    clock.advance(Duration::from_secs(60));
    let probe = permit(&b);
    assert_eq!(b.reset(), t(State::HalfOpen, State::Closed));
    assert_eq!(b.record(&probe, Outcome::Failure, None), None);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().consecutive_failures, 0);
}
