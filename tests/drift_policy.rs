//! The retraining policy: one test per trigger, their combination, state round trips
//! between "requests", and bad input.

use tenantml::drift::{PolicyInput, PolicyState, RetrainDecision, RetrainPolicy, RetrainReason};

const DAY: i64 = 24 * 3600;
const T0: i64 = 1_790_000_000;

/// Only the trigger under test is on.
fn only(json: &str) -> RetrainPolicy {
    let off = r#"{"consecutive_drift_reports": 0, "retrain_on_error_drift": false,
                 "max_error_increase_pct": null, "max_model_age_secs": null}"#;
    let mut p: serde_json::Value = serde_json::from_str(off).unwrap();
    let on: serde_json::Value = serde_json::from_str(json).unwrap();
    for (k, v) in on.as_object().unwrap() {
        p[k] = v.clone();
    }
    RetrainPolicy::from_json(&p.to_string()).unwrap()
}

/// Runs the policy as PHP would: state through JSON between evaluations.
fn run(policy: &RetrainPolicy, inputs: &[PolicyInput]) -> (Vec<RetrainDecision>, PolicyState) {
    let mut json = PolicyState::default().to_json().unwrap();
    let mut out = Vec::new();
    for input in inputs {
        let state = PolicyState::from_json(&json).unwrap();
        let (d, next) = policy.decide(&state, input).unwrap();
        json = next.to_json().unwrap();
        out.push(d);
    }
    (out, PolicyState::from_json(&json).unwrap())
}

fn report(drift: Option<bool>) -> PolicyInput {
    PolicyInput {
        dataset_drift: drift,
        ..PolicyInput::new(T0 + DAY, T0)
    }
}

#[test]
fn consecutive_dataset_drift_triggers_after_n_in_a_row() {
    let p = only(r#"{"consecutive_drift_reports": 3}"#);
    let seq = [
        Some(true),
        Some(true),
        Some(false),
        Some(true),
        None,
        Some(true),
        Some(true),
        Some(true),
    ];
    let inputs: Vec<_> = seq.iter().map(|&d| report(d)).collect();
    let (ds, state) = run(&p, &inputs);
    let flags: Vec<bool> = ds.iter().map(|d| d.retrain).collect();
    // A clean report resets the run; a missing report (None) leaves it as it is.
    assert_eq!(
        flags,
        [false, false, false, false, false, false, true, false]
    );
    assert_eq!(
        ds[6].reasons,
        [RetrainReason::ConsecutiveDrift {
            count: 3,
            required: 3
        }]
    );
    // The count restarted after the decision.
    assert_eq!(state.consecutive_drift, 1);
    assert_eq!((state.evaluations, state.retrain_decisions), (8, 1));
    assert_eq!(state.last_decision.as_ref(), ds.last());
}

#[test]
fn error_stream_detector_triggers() {
    let p = only(r#"{"retrain_on_error_drift": true}"#);
    let quiet = PolicyInput::new(T0 + DAY, T0);
    let fired = PolicyInput {
        error_drift_detected: true,
        ..quiet.clone()
    };
    let (ds, _) = run(&p, &[quiet.clone(), fired.clone(), quiet]);
    assert_eq!(
        ds.iter().map(|d| d.retrain).collect::<Vec<_>>(),
        [false, true, false]
    );
    assert_eq!(ds[1].reasons, [RetrainReason::ErrorStreamDrift]);
    // Off means off.
    let (ds, _) = run(&only("{}"), &[fired]);
    assert!(!ds[0].retrain);
}

#[test]
fn backtest_error_above_baseline_triggers() {
    let p = only(r#"{"max_error_increase_pct": 25.0}"#);
    let with = |e: f64| PolicyInput {
        backtest_error: Some(e),
        baseline_error: Some(2.0),
        ..PolicyInput::new(T0, T0)
    };
    let (ds, _) = run(&p, &[with(2.4), with(2.5), with(2.6), with(1.0)]);
    assert_eq!(
        ds.iter().map(|d| d.retrain).collect::<Vec<_>>(),
        [false, false, true, false]
    );
    match &ds[2].reasons[..] {
        [RetrainReason::ErrorAboveBaseline {
            error,
            baseline,
            increase_pct,
            max_increase_pct,
        }] => {
            assert_eq!((*error, *baseline, *max_increase_pct), (2.6, 2.0, 25.0));
            assert!((increase_pct - 30.0).abs() < 1e-12);
        }
        other => panic!("{other:?}"),
    }
    // No backtest, no trigger.
    let (ds, _) = run(&p, &[PolicyInput::new(T0, T0)]);
    assert!(!ds[0].retrain);
}

#[test]
fn model_age_triggers() {
    let p = only(r#"{"max_model_age_secs": 604800}"#);
    let at = |days: i64, extra: i64| PolicyInput::new(T0 + days * DAY + extra, T0);
    let (ds, _) = run(&p, &[at(6, 0), at(7, 0), at(7, 1)]);
    assert_eq!(
        ds.iter().map(|d| d.retrain).collect::<Vec<_>>(),
        [false, false, true]
    );
    assert_eq!(
        ds[2].reasons,
        [RetrainReason::ModelAge {
            age_secs: 604_801,
            max_age_secs: 604_800
        }]
    );
    assert_eq!(ds[2].at, T0 + 7 * DAY + 1);
}

#[test]
fn every_fired_trigger_is_a_reason_and_defaults_apply() {
    let p = RetrainPolicy::default();
    assert_eq!(RetrainPolicy::from_json("{}").unwrap(), p);
    let input = PolicyInput {
        dataset_drift: Some(true),
        error_drift_detected: true,
        backtest_error: Some(3.0),
        baseline_error: Some(1.0),
        ..PolicyInput::new(T0 + 31 * DAY, T0)
    };
    let state = PolicyState {
        consecutive_drift: 2,
        ..Default::default()
    };
    let (d, next) = p.decide(&state, &input).unwrap();
    assert!(d.retrain);
    let triggers: Vec<String> = d
        .reasons
        .iter()
        .map(|r| {
            serde_json::to_value(r).unwrap()["trigger"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        triggers,
        [
            "consecutive_drift",
            "error_stream_drift",
            "error_above_baseline",
            "model_age"
        ]
    );
    assert_eq!(next.consecutive_drift, 0);
    // The decision is plain JSON for the platform's job queue.
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(serde_json::from_str::<RetrainDecision>(&json).unwrap(), d);
    // A young model with a clean report: no retrain, no reasons.
    let (d, _) = p
        .decide(&PolicyState::default(), &report(Some(false)))
        .unwrap();
    assert!(!d.retrain && d.reasons.is_empty());
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let p = RetrainPolicy::default();
    let s = PolicyState::default();
    let e = p.decide(&s, &PolicyInput::new(T0 - 1, T0)).unwrap_err();
    assert!(
        e.to_string().contains("before the model's training time"),
        "{e}"
    );
    let bad = PolicyInput {
        backtest_error: Some(f64::NAN),
        baseline_error: Some(1.0),
        ..PolicyInput::new(T0, T0)
    };
    assert!(p
        .decide(&s, &bad)
        .unwrap_err()
        .to_string()
        .contains("backtest_error must be finite"));
    let bad = PolicyInput {
        backtest_error: Some(1.0),
        baseline_error: Some(0.0),
        ..PolicyInput::new(T0, T0)
    };
    assert!(p
        .decide(&s, &bad)
        .unwrap_err()
        .to_string()
        .contains("baseline_error must be finite and > 0"));
    let e = RetrainPolicy::from_json(r#"{"max_age": 5}"#).unwrap_err();
    assert!(e.to_string().contains("unknown field `max_age`"), "{e}");
    let e = RetrainPolicy::from_json(r#"{"max_error_increase_pct": -1}"#).unwrap_err();
    assert!(e.to_string().contains(">= 0"), "{e}");
    assert!(PolicyState::from_json(r#"{"count": 1}"#).is_err());
    let input: PolicyInput = serde_json::from_str(r#"{"now": 5, "model_trained_at": 1}"#).unwrap();
    assert_eq!(input, PolicyInput::new(5, 1));
}
