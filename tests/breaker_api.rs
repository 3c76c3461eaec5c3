//! Snapshots, `call`/`guard`, settings validation and names, with a fake clock.

use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tenantml::breaker::{
    BreakerConfig, BreakerStore, CallError, FakeClock, OnConfigMismatch, Outcome, SlidingWindow,
    State, MAX_NAME_LEN,
};
use tenantml::Error;

mod common;
use common::fake::*;

// ---- snapshot ---------------------------------------------------------------------------

#[test]
fn snapshot_fields_after_a_scenario() {
    let config = BreakerConfig {
        failure_rate_threshold: Some(0.9),
        slow_call_duration_ms: Some(200.0),
        sliding_window: SlidingWindow::Count { size: 20 },
        minimum_calls: 4,
        ..Default::default()
    };
    let (clock, b) = setup(config.clone());
    let fresh = serde_json::to_value(b.snapshot()).unwrap();
    assert_eq!(
        fresh,
        json!({
            "name": "dependency",
            "state": "closed",
            "consecutive_failures": 0,
            "consecutive_openings": 0,
            "retry_after_ms": null,
            "window": {"calls": 0, "failures": 0, "slow_calls": 0, "failure_rate": null, "slow_call_rate": null},
            "totals": {"successes": 0, "failures": 0, "slow_calls": 0, "rejected": 0},
            "transitions": 0,
            "last_transition": null,
            "config_hash": format!("{:016x}", config.hash()),
        })
    );

    succeed(&b);
    let p = permit(&b);
    clock.advance(ms(300));
    b.record(&p, Outcome::Success, None);
    fail(&b);
    fail(&b);
    let closed = serde_json::to_value(b.snapshot()).unwrap();
    assert_eq!(closed["consecutive_failures"], 2);
    assert_eq!(
        closed["window"],
        json!({"calls": 4, "failures": 2, "slow_calls": 1, "failure_rate": 0.5, "slow_call_rate": 0.25})
    );

    fail(&b);
    fail(&b);
    fail(&b); // five in a row (the rate is 5/7, below 0.9)
    clock.advance(Duration::from_secs(20));
    let _ = b.allow();
    let _ = b.allow();
    clock.advance(ms(1500));
    let snap = b.snapshot();
    assert_eq!(
        serde_json::to_value(&snap).unwrap(),
        json!({
            "name": "dependency",
            "state": "open",
            "consecutive_failures": 0,
            "consecutive_openings": 1,
            "retry_after_ms": 38_500,
            "window": {"calls": 0, "failures": 0, "slow_calls": 0, "failure_rate": null, "slow_call_rate": null},
            "totals": {"successes": 2, "failures": 5, "slow_calls": 1, "rejected": 2},
            "transitions": 1,
            "last_transition": {"from": "closed", "to": "open", "age_ms": 21_500},
            "config_hash": format!("{:016x}", config.hash()),
        })
    );

    clock.advance(Duration::from_secs(60));
    let probe = permit(&b);
    clock.advance(ms(10));
    assert_eq!(b.snapshot().last_transition.unwrap().age_ms, 10);
    b.record(&probe, Outcome::Success, None);
    let s = serde_json::to_value(b.snapshot()).unwrap();
    assert_eq!(s["state"], "closed");
    assert_eq!(s["transitions"], 3);
    assert_eq!(
        s["last_transition"],
        json!({"from": "half_open", "to": "closed", "age_ms": 0})
    );
    assert_eq!(s["totals"]["successes"], 3);
}

#[test]
fn store_snapshots_list_every_breaker_by_name() {
    let clock = Arc::new(FakeClock::new());
    let store = BreakerStore::in_process().with_clock(clock.clone());
    let b = store.breaker("zeta", BreakerConfig::default()).unwrap();
    let a = store.breaker("alpha", BreakerConfig::default()).unwrap();
    trip(&b);
    succeed(&a);
    let snaps = store.snapshots().unwrap();
    let names: Vec<&str> = snaps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["alpha", "zeta"]);
    assert_eq!(snaps[0].totals.successes, 1);
    assert_eq!(snaps[1].state, State::Open);
    assert_eq!(snaps[1], b.snapshot());
}

// ---- call / guard -----------------------------------------------------------------------

#[test]
fn call_and_guard_with_fallbacks() {
    let (clock, b) = setup(BreakerConfig::default());
    assert_eq!(b.call(|| Ok::<_, String>(42), |_e| -1), 42);
    let seen = Cell::new(None);
    let value = b.call(
        || Err::<i32, _>("boom".to_string()),
        |e| {
            match e {
                CallError::Failed(msg) => seen.set(Some(msg)),
                CallError::Rejected(r) => panic!("not rejected yet: {r:?}"),
            }
            -1
        },
    );
    assert_eq!(value, -1);
    assert_eq!(seen.take().as_deref(), Some("boom"));
    for _ in 0..4 {
        assert!(matches!(
            b.guard(|| Err::<(), _>(7u8)),
            Err(CallError::Failed(7))
        ));
    }
    assert_eq!(b.state(), State::Open);

    // Open: the function is not run, the fallback hears why.
    let ran = Cell::new(false);
    let value = b.call(
        || {
            ran.set(true);
            Ok::<_, ()>(1)
        },
        |e| match e {
            CallError::Rejected(r) => {
                assert_eq!(r.state, State::Open);
                assert_eq!(r.retry_after, Some(Duration::from_secs(60)));
                0
            }
            CallError::Failed(()) => panic!("should not run"),
        },
    );
    assert_eq!(value, 0);
    assert!(!ran.get());
    match b.guard(|| Ok::<_, ()>(1)) {
        Err(CallError::Rejected(r)) => assert_eq!(r.state, State::Open),
        other => panic!("{other:?}"),
    }

    // guard measures the call with the breaker's clock.
    clock.advance(Duration::from_secs(60));
    assert_eq!(b.guard(|| Ok::<_, ()>("probe")).unwrap(), "probe");
    assert_eq!(b.state(), State::Closed);
    let s = b.snapshot();
    assert_eq!(s.totals.successes, 2);
    assert_eq!(s.totals.failures, 5);
    assert_eq!(s.totals.rejected, 2);
}

#[test]
fn guard_counts_slow_calls_with_the_breaker_clock() {
    let (clock, b) = setup(BreakerConfig {
        slow_call_duration_ms: Some(1000.0),
        ..Default::default()
    });
    b.guard(|| {
        clock.advance(Duration::from_secs(2));
        Ok::<_, ()>(())
    })
    .unwrap();
    b.guard(|| Ok::<_, ()>(())).unwrap();
    assert_eq!(b.snapshot().totals.slow_calls, 1);
}

// ---- validation -------------------------------------------------------------------------

#[test]
fn every_invalid_setting_is_rejected_by_the_store() {
    let base = BreakerConfig::default;
    let cases: Vec<(BreakerConfig, &str)> = vec![
        (
            BreakerConfig {
                failure_rate_threshold: Some(0.0),
                ..base()
            },
            "failure_rate_threshold",
        ),
        (
            BreakerConfig {
                failure_rate_threshold: Some(-0.5),
                ..base()
            },
            "failure_rate_threshold",
        ),
        (
            BreakerConfig {
                failure_rate_threshold: Some(1.0001),
                ..base()
            },
            "failure_rate_threshold",
        ),
        (
            BreakerConfig {
                failure_rate_threshold: Some(f64::NAN),
                ..base()
            },
            "failure_rate_threshold",
        ),
        (
            BreakerConfig {
                failure_rate_threshold: Some(f64::INFINITY),
                ..base()
            },
            "failure_rate_threshold",
        ),
        (
            BreakerConfig {
                slow_call_duration_ms: Some(10.0),
                slow_call_rate_threshold: Some(0.0),
                ..base()
            },
            "slow_call_rate_threshold",
        ),
        (
            BreakerConfig {
                slow_call_duration_ms: Some(10.0),
                slow_call_rate_threshold: Some(2.0),
                ..base()
            },
            "slow_call_rate_threshold",
        ),
        (
            BreakerConfig {
                slow_call_rate_threshold: Some(0.5),
                ..base()
            },
            "slow_call_rate_threshold needs slow_call_duration_ms",
        ),
        (
            BreakerConfig {
                slow_call_duration_ms: Some(0.0),
                ..base()
            },
            "slow_call_duration_ms",
        ),
        (
            BreakerConfig {
                slow_call_duration_ms: Some(-1.0),
                ..base()
            },
            "slow_call_duration_ms",
        ),
        (
            BreakerConfig {
                slow_call_duration_ms: Some(f64::NAN),
                ..base()
            },
            "slow_call_duration_ms",
        ),
        (
            BreakerConfig {
                slow_call_duration_ms: Some(f64::INFINITY),
                ..base()
            },
            "slow_call_duration_ms",
        ),
        (
            BreakerConfig {
                sliding_window: SlidingWindow::Count { size: 0 },
                ..base()
            },
            "sliding_window.size",
        ),
        (
            BreakerConfig {
                sliding_window: SlidingWindow::Count { size: 1025 },
                ..base()
            },
            "sliding_window.size",
        ),
        (
            BreakerConfig {
                sliding_window: SlidingWindow::Time { seconds: 0 },
                ..base()
            },
            "sliding_window.seconds",
        ),
        (
            BreakerConfig {
                sliding_window: SlidingWindow::Time { seconds: 3601 },
                ..base()
            },
            "sliding_window.seconds",
        ),
        (
            BreakerConfig {
                minimum_calls: 0,
                ..base()
            },
            "minimum_calls",
        ),
        (
            BreakerConfig {
                failure_rate_threshold: Some(0.5),
                sliding_window: SlidingWindow::Count { size: 10 },
                minimum_calls: 11,
                ..base()
            },
            "minimum_calls (11) exceeds the count window size (10)",
        ),
        (
            BreakerConfig {
                slow_call_duration_ms: Some(5.0),
                slow_call_rate_threshold: Some(0.5),
                sliding_window: SlidingWindow::Count { size: 10 },
                minimum_calls: 11,
                ..base()
            },
            "minimum_calls (11) exceeds the count window size (10)",
        ),
        (
            BreakerConfig {
                half_open_permits: 0,
                ..base()
            },
            "half_open_permits",
        ),
        (
            BreakerConfig {
                half_open_permits: 17,
                ..base()
            },
            "half_open_permits",
        ),
        (
            BreakerConfig {
                probe_lease_ms: 0,
                ..base()
            },
            "probe_lease_ms",
        ),
        (
            BreakerConfig {
                open_wait_ms: 0,
                ..base()
            },
            "open_wait_ms",
        ),
        (
            BreakerConfig {
                backoff_multiplier: 0.99,
                ..base()
            },
            "backoff_multiplier",
        ),
        (
            BreakerConfig {
                backoff_multiplier: 0.0,
                ..base()
            },
            "backoff_multiplier",
        ),
        (
            BreakerConfig {
                backoff_multiplier: f64::NAN,
                ..base()
            },
            "backoff_multiplier",
        ),
        (
            BreakerConfig {
                backoff_multiplier: f64::INFINITY,
                ..base()
            },
            "backoff_multiplier",
        ),
        (
            BreakerConfig {
                open_wait_ms: 10_000,
                max_open_wait_ms: 9_999,
                ..base()
            },
            "max_open_wait_ms (9999) must be >= open_wait_ms (10000)",
        ),
        (
            BreakerConfig {
                max_open_wait_ms: (1 << 36) + 1,
                ..base()
            },
            "waits and leases must be at most",
        ),
        (
            BreakerConfig {
                probe_lease_ms: (1 << 36) + 1,
                ..base()
            },
            "waits and leases must be at most",
        ),
    ];
    let store = BreakerStore::in_process();
    for (i, (config, expected)) in cases.into_iter().enumerate() {
        let name = format!("bad-{i}");
        match store.breaker(&name, config.clone()) {
            Err(Error::InvalidArgument(msg)) => {
                assert!(
                    msg.contains(expected),
                    "case {i} {config:?}: {msg:?} lacks {expected:?}"
                )
            }
            Err(other) => panic!("case {i} {config:?}: wrong error {other:?}"),
            Ok(_) => panic!("case {i} {config:?} was accepted"),
        }
        assert_eq!(config.validate().unwrap_err().code(), 1);
        // The same settings as JSON (NaN and infinities have no JSON form).
        let text = serde_json::to_string(&config).unwrap();
        if serde_json::from_str::<BreakerConfig>(&text).ok().as_ref() == Some(&config) {
            assert!(
                BreakerConfig::from_json(&text).is_err(),
                "case {i} through JSON: {text}"
            );
        }
    }
    assert!(
        store.snapshots().unwrap().is_empty(),
        "no slot is taken by a refused config"
    );
}

#[test]
fn edge_settings_are_accepted() {
    let base = BreakerConfig::default;
    let ok = [
        BreakerConfig {
            failure_rate_threshold: Some(1.0),
            ..base()
        },
        BreakerConfig {
            failure_rate_threshold: Some(f64::MIN_POSITIVE),
            ..base()
        },
        BreakerConfig {
            slow_call_duration_ms: Some(0.001),
            ..base()
        },
        BreakerConfig {
            sliding_window: SlidingWindow::Count { size: 1 },
            minimum_calls: 1,
            ..base()
        },
        BreakerConfig {
            sliding_window: SlidingWindow::Count { size: 1024 },
            ..base()
        },
        BreakerConfig {
            sliding_window: SlidingWindow::Time { seconds: 1 },
            ..base()
        },
        BreakerConfig {
            sliding_window: SlidingWindow::Time { seconds: 3600 },
            minimum_calls: 5000,
            ..base()
        },
        // minimum_calls above the window is fine while no rate rule uses it.
        BreakerConfig {
            sliding_window: SlidingWindow::Count { size: 5 },
            minimum_calls: 6,
            ..base()
        },
        BreakerConfig {
            half_open_permits: 16,
            ..base()
        },
        BreakerConfig {
            probe_lease_ms: 1,
            open_wait_ms: 1,
            max_open_wait_ms: 1,
            ..base()
        },
        BreakerConfig {
            max_open_wait_ms: 1 << 36,
            probe_lease_ms: 1 << 36,
            ..base()
        },
        BreakerConfig {
            backoff_multiplier: 1.0,
            ..base()
        },
        BreakerConfig {
            consecutive_failure_threshold: 0,
            ..base()
        },
    ];
    let store = BreakerStore::in_process();
    for (i, config) in ok.into_iter().enumerate() {
        let b = store
            .breaker(&format!("ok-{i}"), config.clone())
            .unwrap_or_else(|e| panic!("{config:?}: {e}"));
        assert_eq!(b.config(), &config);
    }
}

#[test]
fn names_must_be_1_to_64_bytes() {
    let store = BreakerStore::in_process();
    for bad in [
        String::new(),
        "x".repeat(MAX_NAME_LEN + 1),
        "é".repeat(33), // 66 bytes, 33 characters
        "nul\0inside".to_string(),
    ] {
        match store.breaker(&bad, BreakerConfig::default()) {
            Err(e @ Error::InvalidArgument(_)) => assert_eq!(e.code(), 1),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    assert_eq!(MAX_NAME_LEN, 64);
    for good in [
        "x".to_string(),
        "x".repeat(64),
        "é".repeat(32),
        "ünïcødé/api:v2 👍".to_string(),
    ] {
        let b = store.breaker(&good, BreakerConfig::default()).unwrap();
        assert_eq!(b.name(), good);
        assert_eq!(b.snapshot().name, good);
    }
    assert_eq!(store.snapshots().unwrap().len(), 4);
}

#[test]
fn the_same_name_is_the_same_breaker_and_settings_must_match() {
    let clock = Arc::new(FakeClock::new());
    let store = BreakerStore::in_process().with_clock(clock);
    let first = store.breaker("api", BreakerConfig::default()).unwrap();
    let again = store.breaker("api", BreakerConfig::default()).unwrap();
    trip(&first);
    assert_eq!(again.state(), State::Open);
    let other = BreakerConfig {
        consecutive_failure_threshold: 2,
        ..Default::default()
    };
    match store.breaker("api", other.clone()) {
        Err(e @ Error::ConfigMismatch { .. }) => {
            assert_eq!(e.code(), 201);
            if let Error::ConfigMismatch {
                name,
                stored,
                requested,
            } = e
            {
                assert_eq!(name, "api");
                assert_eq!(stored, BreakerConfig::default().hash());
                assert_eq!(requested, other.hash());
            }
        }
        res => panic!("{res:?}"),
    }
    let adopted = store
        .breaker_with("api", other, OnConfigMismatch::AdoptStored)
        .unwrap();
    assert_eq!(adopted.config(), &BreakerConfig::default());
    assert_eq!(adopted.state(), State::Open);
    // A clone of the store sees the same breakers.
    let clone = store.clone();
    assert_eq!(
        clone
            .breaker("api", BreakerConfig::default())
            .unwrap()
            .state(),
        State::Open
    );
}
