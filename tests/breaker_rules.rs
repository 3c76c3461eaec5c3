//! Failure-rate and slow-call rules over count and time windows, with a fake clock.

use std::time::Duration;

use tenantml::breaker::{BreakerConfig, Outcome, SlidingWindow, State};

mod common;
use common::fake::*;

// ---- failure rate -----------------------------------------------------------------------

#[test]
fn failure_rate_over_a_count_window() {
    let (_clock, b) = setup(only_rates(SlidingWindow::Count { size: 10 }, 10, 0.5));
    for _ in 0..5 {
        assert_eq!(succeed(&b), None);
    }
    for _ in 0..4 {
        assert_eq!(fail(&b), None);
    }
    let w = b.snapshot().window;
    assert_eq!((w.calls, w.failures, w.failure_rate), (9, 4, None));
    // 10 calls, 5 failures: 50% reaches the threshold.
    assert_eq!(fail(&b), t(State::Closed, State::Open));
}

#[test]
fn failure_rate_respects_minimum_calls() {
    let (_clock, b) = setup(only_rates(SlidingWindow::Count { size: 20 }, 10, 0.5));
    for n in 1..=9 {
        assert_eq!(
            fail(&b),
            None,
            "only {n} calls, 100% failures but below minimum_calls"
        );
    }
    assert_eq!(b.snapshot().window.failure_rate, None);
    assert_eq!(fail(&b), t(State::Closed, State::Open));
}

#[test]
fn the_count_window_slides() {
    let (_clock, b) = setup(only_rates(SlidingWindow::Count { size: 4 }, 4, 0.75));
    // F F S S -> 50%
    fail(&b);
    fail(&b);
    succeed(&b);
    succeed(&b);
    assert_eq!(b.snapshot().window.failure_rate, Some(0.5));
    // S S F F -> 50% (the first two failures slid out)
    assert_eq!(fail(&b), None);
    assert_eq!(fail(&b), None);
    let w = b.snapshot().window;
    assert_eq!((w.calls, w.failures), (4, 2));
    // S F F F -> 75%
    assert_eq!(fail(&b), t(State::Closed, State::Open));
}

#[test]
fn the_count_window_holds_the_last_n_calls_only() {
    let (_clock, b) = setup(only_rates(SlidingWindow::Count { size: 10 }, 10, 0.5));
    for _ in 0..4 {
        fail(&b);
    }
    for _ in 0..100 {
        succeed(&b);
    }
    let w = b.snapshot().window;
    assert_eq!((w.calls, w.failures, w.failure_rate), (10, 0, Some(0.0)));
    for _ in 0..4 {
        assert_eq!(fail(&b), None);
    }
    assert_eq!(fail(&b), t(State::Closed, State::Open));
}

#[test]
fn failure_rate_over_a_time_window_ages_out_old_buckets() {
    let (clock, b) = setup(only_rates(SlidingWindow::Time { seconds: 10 }, 4, 0.5));
    fail(&b);
    fail(&b);
    fail(&b);
    assert_eq!(b.snapshot().window.calls, 3);
    clock.advance(ms(9_999));
    assert_eq!(b.snapshot().window.calls, 3, "still inside the window");
    clock.advance(ms(1));
    assert_eq!(
        b.snapshot().window.calls,
        0,
        "ten seconds later they are gone"
    );

    // Had they stayed, S + F would be 5 calls with 80% failures.
    assert_eq!(succeed(&b), None);
    assert_eq!(fail(&b), None);
    assert_eq!(fail(&b), None);
    assert_eq!(b.state(), State::Closed);
    let w = b.snapshot().window;
    assert_eq!((w.calls, w.failures, w.failure_rate), (3, 2, None));
    // 4 calls, 3 failures.
    assert_eq!(fail(&b), t(State::Closed, State::Open));
}

#[test]
fn time_window_buckets_are_ceil_n_over_64_seconds_wide() {
    // 128 s -> 64 buckets of 2 s. The fake clock starts at 1 s (bucket 0).
    let (clock, b) = setup(only_rates(SlidingWindow::Time { seconds: 128 }, 100, 0.5));
    fail(&b);
    clock.advance(ms(1_000)); // t = 2 s, bucket 1
    fail(&b);
    clock.advance(ms(125_999)); // t = 127.999 s, bucket 63: both still in
    assert_eq!(b.snapshot().window.calls, 2);
    clock.advance(ms(1)); // t = 128 s, bucket 64: bucket 0 has left
    assert_eq!(b.snapshot().window.calls, 1);
    clock.advance(ms(2_000)); // bucket 65: bucket 1 has left
    assert_eq!(b.snapshot().window.calls, 0);
    // One lap later the same bucket index starts from zero.
    succeed(&b);
    assert_eq!(b.snapshot().window.calls, 1);
}

#[test]
fn time_window_of_one_hour_keeps_recent_calls() {
    let (clock, b) = setup(only_rates(SlidingWindow::Time { seconds: 3600 }, 5, 0.5));
    for _ in 0..4 {
        fail(&b);
        clock.advance(Duration::from_secs(600));
    }
    assert_eq!(b.snapshot().window.calls, 4);
    assert_eq!(fail(&b), t(State::Closed, State::Open));
}

// ---- slow calls -------------------------------------------------------------------------

fn slow_config() -> BreakerConfig {
    BreakerConfig {
        consecutive_failure_threshold: 0,
        slow_call_duration_ms: Some(100.0),
        slow_call_rate_threshold: Some(0.5),
        sliding_window: SlidingWindow::Count { size: 4 },
        minimum_calls: 4,
        ..Default::default()
    }
}

#[test]
fn slow_call_rate_measured_from_the_permit() {
    let (clock, b) = setup(slow_config());
    let timed = |took: u64| {
        let p = permit(&b);
        clock.advance(ms(took));
        b.record(&p, Outcome::Success, None)
    };
    assert_eq!(timed(100), None); // slow: at the limit counts
    assert_eq!(timed(99), None); // fast
    assert_eq!(timed(250), None); // slow, 3 calls < minimum
    let s = b.snapshot();
    assert_eq!(s.totals.slow_calls, 2);
    assert_eq!((s.window.calls, s.window.slow_calls), (3, 2));
    // 4 calls, 3 slow: 75% >= 50%, although every call succeeded.
    assert_eq!(timed(100), t(State::Closed, State::Open));
    assert_eq!(b.snapshot().totals.failures, 0);
}

#[test]
fn slow_call_rate_with_an_explicit_duration() {
    let (clock, b) = setup(slow_config());
    let p = permit(&b);
    clock.advance(Duration::from_secs(10));
    // Measured it would be slow; the caller says it took 50 ms.
    assert_eq!(b.record(&p, Outcome::Success, Some(ms(50))), None);
    let p = permit(&b);
    assert_eq!(
        b.record(&p, Outcome::Failure, Some(Duration::from_micros(99_999))),
        None
    );
    assert_eq!(b.snapshot().totals.slow_calls, 0);
    // And the other way round: no time passes, the caller reports 100 ms.
    let p = permit(&b);
    assert_eq!(b.record(&p, Outcome::Success, Some(ms(100))), None);
    assert_eq!(b.snapshot().totals.slow_calls, 1);
    // 4 calls, 2 slow -> 50%.
    let p = permit(&b);
    assert_eq!(
        b.record(&p, Outcome::Success, Some(Duration::from_secs(3600))),
        t(State::Closed, State::Open)
    );
    assert_eq!(b.snapshot().totals.slow_calls, 2);
}

#[test]
fn slow_calls_are_counted_even_without_a_slow_rate_rule() {
    let (_clock, b) = setup(BreakerConfig {
        slow_call_duration_ms: Some(10.0),
        ..Default::default()
    });
    for _ in 0..20 {
        let p = permit(&b);
        assert_eq!(b.record(&p, Outcome::Success, Some(ms(11))), None);
    }
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().totals.slow_calls, 20);
}

#[test]
fn a_slow_probe_fails_only_when_a_slow_rate_rule_is_set() {
    let (clock, b) = setup(slow_config());
    // Trip through the slow rule.
    for _ in 0..4 {
        let p = permit(&b);
        b.record(&p, Outcome::Success, Some(ms(500)));
    }
    assert_eq!(b.state(), State::Open);
    clock.advance(Duration::from_secs(60));
    let probe = permit(&b);
    assert_eq!(
        b.record(&probe, Outcome::Success, Some(ms(500))),
        t(State::HalfOpen, State::Open),
        "a slow probe is a failed probe under a slow-call rule"
    );

    // Without a slow-call rate rule a slow probe is just a success.
    let (clock, b) = setup(BreakerConfig {
        slow_call_duration_ms: Some(100.0),
        ..Default::default()
    });
    trip(&b);
    clock.advance(Duration::from_secs(60));
    let probe = permit(&b);
    clock.advance(Duration::from_secs(2));
    assert_eq!(
        b.record(&probe, Outcome::Success, None),
        t(State::HalfOpen, State::Closed)
    );
    assert_eq!(b.snapshot().totals.slow_calls, 1);
}

#[test]
fn failure_and_slow_rules_together() {
    let (_clock, b) = setup(BreakerConfig {
        consecutive_failure_threshold: 3,
        failure_rate_threshold: Some(0.8),
        slow_call_duration_ms: Some(100.0),
        slow_call_rate_threshold: Some(0.6),
        sliding_window: SlidingWindow::Count { size: 5 },
        minimum_calls: 5,
        ..Default::default()
    });
    let rec = |o: Outcome, d: u64| {
        let p = permit(&b);
        b.record(&p, o, Some(ms(d)))
    };
    assert_eq!(rec(Outcome::Failure, 1), None);
    assert_eq!(rec(Outcome::Failure, 1), None);
    assert_eq!(rec(Outcome::Success, 200), None);
    assert_eq!(rec(Outcome::Failure, 200), None);
    let w = b.snapshot().window;
    assert_eq!((w.calls, w.failures, w.slow_calls), (4, 3, 2));
    // Fifth call, a slow success: failures 3/5 = 60% < 80%, but slow 3/5 = 60%.
    assert_eq!(rec(Outcome::Success, 100), t(State::Closed, State::Open));
}
