//! Churn features on hand-made histories, the label builder (leakage, censoring), the
//! inactivity rule and bad input. Model tests are in scoring_churn_model.rs, triggers in
//! scoring_churn_triggers.rs.

use tenantml::scoring::churn::{
    build_rows, churn_features, feature_index, generate, GeneratorSettings, InactivityRule,
    LabelSpec, Subscription, SupportTicket, TenantHistory, UsageEvent, DAY, N_FEATURES,
};
use tenantml::scoring::{ReasonSource, Regime};
use tenantml::Error;

const T: i64 = 1_736_121_600;

fn f(values: &[f64; N_FEATURES], name: &str) -> f64 {
    values[feature_index(name).unwrap_or_else(|| panic!("no feature {name}"))]
}

fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

#[test]
fn windows_include_their_start_and_exclude_as_of() {
    let at = [
        T - 7 * DAY,     // in 7d
        T - 7 * DAY - 1, // just outside 7d
        T - 30 * DAY,    // in 30d
        T - 30 * DAY - 1,
        T - 90 * DAY, // in 90d
        T - 90 * DAY - 1,
        T,           // at as_of: not yet seen
        T + 5 * DAY, // future
    ];
    let amount = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];
    let t = TenantHistory::new("w").with_events(&at, &amount).unwrap();
    let v = churn_features(&t, T).unwrap();
    assert_eq!(f(&v, "events_7d"), 1.0);
    assert_eq!(f(&v, "events_30d"), 3.0);
    assert_eq!(f(&v, "events_90d"), 5.0);
    assert_eq!(f(&v, "volume_7d"), 1.0);
    assert_eq!(f(&v, "volume_30d"), 7.0);
    assert_eq!(f(&v, "volume_90d"), 31.0);
    // Days before as_of: T-7d is day 6, T-7d-1 day 7, T-30d day 29, T-30d-1 day 30,
    // T-90d day 89 and T-90d-1 day 90 (outside every window).
    assert_eq!(f(&v, "active_days_7d"), 1.0);
    assert_eq!(f(&v, "active_days_30d"), 3.0);
    assert_eq!(f(&v, "active_days_90d"), 5.0);
    assert_eq!(f(&v, "days_since_last_activity"), 7.0);
}

#[test]
fn known_empty_activity_is_zero_and_unknown_activity_is_nan() {
    let sub = Subscription {
        started_at: Some(T - 10 * DAY),
        seats: Some(4.0),
        monthly_price: Some(99.0),
        plan_allowance: Some(50.0),
        ..Subscription::default()
    };
    let empty = TenantHistory::new("e")
        .with_events(&[], &[])
        .unwrap()
        .with_subscription(sub.clone())
        .unwrap()
        .with_failed_payments(&[])
        .with_tickets(&[], None)
        .unwrap();
    let v = churn_features(&empty, T).unwrap();
    assert!(f(&v, "days_since_last_activity").is_nan(), "never active");
    for name in ["events_7d", "events_90d", "volume_30d", "active_days_30d"] {
        assert_eq!(f(&v, name), 0.0, "{name}");
    }
    assert_eq!(f(&v, "volume_slope_30d"), 0.0);
    assert!(f(&v, "volume_slope_30d_rel").is_nan());
    assert!(f(&v, "volume_ratio_30d").is_nan());
    assert_eq!(f(&v, "usage_vs_allowance"), 0.0);
    assert_eq!(f(&v, "failed_payments_30d"), 0.0);
    assert_eq!(f(&v, "tickets_90d"), 0.0);
    assert_eq!(f(&v, "tenure_days"), 10.0);
    assert_eq!(f(&v, "seats"), 4.0);
    assert_eq!(f(&v, "monthly_price"), 99.0);

    // Nothing given: every feature missing, none pretending to be 0.
    let unknown = churn_features(&TenantHistory::new("u"), T).unwrap();
    assert!(unknown.iter().all(|x| x.is_nan()), "{unknown:?}");
    // Subscription only: activity features and the allowance ratio stay missing.
    let sub_only = TenantHistory::new("s").with_subscription(sub).unwrap();
    let v = churn_features(&sub_only, T).unwrap();
    assert!(f(&v, "events_30d").is_nan() && f(&v, "usage_vs_allowance").is_nan());
    assert!(f(&v, "failed_payments_30d").is_nan() && f(&v, "tickets_30d").is_nan());
    assert_eq!(f(&v, "seats"), 4.0);
}

#[test]
fn one_event() {
    let t = TenantHistory::new("one")
        .with_events(&[T - 36 * 3600], &[2.5])
        .unwrap();
    let v = churn_features(&t, T).unwrap();
    assert_eq!(f(&v, "days_since_last_activity"), 1.5);
    assert_eq!(f(&v, "events_7d"), 1.0);
    assert_eq!(f(&v, "active_days_7d"), 1.0);
    assert_eq!(f(&v, "volume_90d"), 2.5);
    // One event on day 1 of 30 (newest first), nothing the 30 days before.
    assert!(f(&v, "volume_ratio_30d").is_nan());
    assert!(f(&v, "volume_slope_30d") > 0.0);
}

#[test]
fn ratio_and_slope_of_a_decline() {
    // 100 units over days 30..60 before as_of, 40 units over the last 30 days.
    let mut at = Vec::new();
    let mut amount = Vec::new();
    for k in 0..60 {
        at.push(T - k * DAY - 3600);
        amount.push(if k < 30 { 40.0 / 30.0 } else { 100.0 / 30.0 });
    }
    let t = TenantHistory::new("d").with_events(&at, &amount).unwrap();
    let v = churn_features(&t, T).unwrap();
    assert!((f(&v, "volume_ratio_30d") - 0.4).abs() < 1e-12);
    assert!(
        f(&v, "volume_slope_30d").abs() < 1e-12,
        "flat within the last 30 days"
    );
    assert_eq!(
        tenantml::scoring::churn::describe_feature("volume_ratio_30d", f(&v, "volume_ratio_30d")),
        "usage down 60% vs previous 30 days"
    );

    // A linear fade: day k before as_of has 30 - k units, i.e. +1 per day forward in time.
    let at: Vec<i64> = (0..30).map(|k| T - k * DAY - 60).collect();
    let amount: Vec<f64> = (0..30).map(|k| (30 - k) as f64).collect();
    let rising = TenantHistory::new("r").with_events(&at, &amount).unwrap();
    let v = churn_features(&rising, T).unwrap();
    assert!((f(&v, "volume_slope_30d") - 1.0).abs() < 1e-9);
    // Change over the window (30 units) relative to the mean level (15.5).
    assert!((f(&v, "volume_slope_30d_rel") - 30.0 / 15.5).abs() < 1e-9);
}

#[test]
fn payments_tickets_allowance_and_tenure() {
    let t = TenantHistory::new("p")
        .with_events(&[T - DAY], &[30.0])
        .unwrap()
        .with_failed_payments(&[T - 2 * DAY, T - 30 * DAY, T - 30 * DAY - 1, T + DAY])
        .with_tickets(
            &[T - 89 * DAY, T - 91 * DAY, T],
            Some(&[3.0, f64::NAN, 1.0]),
        )
        .unwrap()
        .with_subscription(Subscription {
            started_at: Some(T - 400 * DAY),
            plan_allowance: Some(120.0),
            ..Subscription::default()
        })
        .unwrap();
    let v = churn_features(&t, T).unwrap();
    assert_eq!(f(&v, "failed_payments_30d"), 2.0);
    assert_eq!(f(&v, "failed_payments_90d"), 3.0);
    assert_eq!(f(&v, "tickets_30d"), 0.0);
    assert_eq!(f(&v, "tickets_90d"), 1.0);
    assert_eq!(f(&v, "usage_vs_allowance"), 0.25);
    assert_eq!(f(&v, "tenure_days"), 400.0);
    assert!(f(&v, "seats").is_nan());
    assert_eq!(t.tickets.as_ref().unwrap()[1].severity, None);
}

#[test]
fn a_daily_series_counts_a_day_only_once_it_is_over() {
    let start = T - 3 * DAY;
    // Days [T-3d, T-2d), [T-2d, T-d), [T-d, T), [T, T+d): 0 usage, unknown, 5, 7.
    let t = TenantHistory::new("daily")
        .with_daily(start, &[0.0, f64::NAN, 5.0, 7.0])
        .unwrap();
    let v = churn_features(&t, T).unwrap();
    assert_eq!(f(&v, "volume_7d"), 5.0);
    assert_eq!(f(&v, "active_days_7d"), 1.0);
    assert_eq!(f(&v, "days_since_last_activity"), 1.0 / DAY as f64);
    // Mid-day, the current day is not seen yet.
    let v = churn_features(&t, T + DAY / 2).unwrap();
    assert_eq!(f(&v, "volume_7d"), 5.0);
    // JSON: null is an unknown day.
    let json =
        format!(r#"{{"id": "daily", "daily": {{"start": {start}, "values": [0, null, 5, 7]}}}}"#);
    let from_json = TenantHistory::from_json(&json).unwrap();
    assert!(same(
        &churn_features(&from_json, T).unwrap(),
        &churn_features(&t, T).unwrap()
    ));
}

#[test]
fn unsorted_events_give_the_same_features() {
    let at = [
        T - 5 * DAY,
        T - 40 * DAY,
        T - DAY,
        T - 70 * DAY,
        T - 2 * DAY,
    ];
    let amount = [1.0, 2.0, 3.0, 4.0, 5.0];
    let mut pairs: Vec<(i64, f64)> = at.iter().copied().zip(amount).collect();
    let unsorted = TenantHistory::new("u").with_events(&at, &amount).unwrap();
    pairs.sort_by_key(|p| p.0);
    let (sa, sm): (Vec<i64>, Vec<f64>) = pairs.into_iter().unzip();
    let sorted = TenantHistory::new("u").with_events(&sa, &sm).unwrap();
    assert!(same(
        &churn_features(&unsorted, T).unwrap(),
        &churn_features(&sorted, T).unwrap()
    ));
}

#[test]
fn bad_input_is_refused_with_clear_errors() {
    let err = TenantHistory::new("n")
        .with_events(&[T - DAY], &[f64::NAN])
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidArgument(ref m) if m.contains("amount NaN")),
        "{err}"
    );
    let err = TenantHistory::new("n")
        .with_events(&[T - DAY, T], &[1.0])
        .unwrap_err();
    assert!(
        err.to_string().contains("2 event times but 1 amounts"),
        "{err}"
    );
    let err = TenantHistory::new("s")
        .with_subscription(Subscription {
            seats: Some(-3.0),
            ..Subscription::default()
        })
        .unwrap_err();
    assert!(err.to_string().contains("seats is -3"), "{err}");
    let err =
        TenantHistory::from_json(r#"{"id": "x", "subscription": {"seats": -1}}"#).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    let err = TenantHistory::from_json(r#"{"id": "x", "seat": 3}"#).unwrap_err();
    assert!(
        matches!(err, Error::Parse(ref m) if m.contains("unknown field `seat`")),
        "{err}"
    );
    let err =
        TenantHistory::from_json(r#"{"id": "x", "events": [{"at": "yesterday"}]}"#).unwrap_err();
    assert!(matches!(err, Error::Parse(_)), "{err}");
    // Observing a tenant before its subscription started.
    let young = TenantHistory::new("y")
        .with_subscription(Subscription {
            started_at: Some(T),
            ..Subscription::default()
        })
        .unwrap();
    let err = churn_features(&young, T - 1).unwrap_err();
    assert!(
        err.to_string().contains("before the subscription started"),
        "{err}"
    );
    assert!(churn_features(&young, T).is_ok());
    // A struct built by hand is validated when used.
    let hand = TenantHistory {
        events: Some(vec![UsageEvent {
            at: T - DAY,
            amount: -1.0,
        }]),
        ..TenantHistory::default()
    };
    assert!(churn_features(&hand, T).is_err());
    let ticket = SupportTicket {
        at: T,
        severity: None,
    };
    assert_eq!(
        serde_json::to_string(&ticket).unwrap(),
        format!(r#"{{"at":{T},"severity":null}}"#)
    );
}

#[test]
fn json_round_trip_of_a_tenant() {
    let data = generate(
        &GeneratorSettings {
            tenants: 3,
            ..GeneratorSettings::training()
        },
        5,
    )
    .unwrap();
    for t in &data.tenants {
        let json = serde_json::to_string(t).unwrap();
        assert_eq!(&TenantHistory::from_json(&json).unwrap(), t);
    }
    let many = serde_json::to_string(&data.tenants).unwrap();
    assert_eq!(TenantHistory::many_from_json(&many).unwrap(), data.tenants);
}

// ---- label builder ----

fn spec(obs: Vec<i64>, data_end: i64) -> LabelSpec {
    LabelSpec {
        observation_dates: obs,
        horizon_days: 30,
        data_end,
    }
}

#[test]
fn labels_follow_the_horizon_and_exclusions() {
    let obs = T;
    let active = |id: &str, churn: Option<i64>| {
        TenantHistory::new(id)
            .with_events(&[obs - DAY], &[1.0])
            .unwrap()
            .with_churned_at(churn)
    };
    let tenants = vec![
        active("stays", None),
        active("edge-in", Some(obs + 30 * DAY)), // last second of the horizon: positive
        active("edge-out", Some(obs + 30 * DAY + 1)), // just after: negative
        active("gone", Some(obs)),               // churned at obs: excluded
        active("future", None)
            .with_subscription(Subscription {
                started_at: Some(obs + DAY),
                ..Subscription::default()
            })
            .unwrap(),
    ];
    let rows = build_rows(&tenants, &spec(vec![obs], obs + 30 * DAY)).unwrap();
    assert_eq!(rows.labels, vec![0.0, 1.0, 0.0]);
    assert_eq!(rows.tenant_index, vec![0, 1, 2]);
    assert_eq!(rows.already_churned, 1);
    assert_eq!(rows.not_started, 1);
    assert_eq!(rows.censored, 0);
    assert_eq!(rows.features.nrows(), 3);

    // A second observation whose horizon runs one second past the data: censored.
    let rows = build_rows(&tenants, &spec(vec![obs, obs + 1], obs + 30 * DAY)).unwrap();
    assert_eq!(rows.censored, tenants.len());
    assert_eq!(rows.labels.len(), 3);
    // Every observation censored: an error, not an empty training set.
    let err = build_rows(&tenants, &spec(vec![obs + 1], obs + 30 * DAY)).unwrap_err();
    assert!(err.to_string().contains("censored"), "{err}");
    assert!(build_rows(&tenants, &spec(vec![], obs)).is_err());
}

/// Everything at or after the observation date is changed; the features are not.
#[test]
fn label_builder_does_not_leak_the_future() {
    let settings = GeneratorSettings {
        tenants: 60,
        ..GeneratorSettings::training()
    };
    let data = generate(&settings, 11).unwrap();
    let obs = data.spec.observation_dates[2];
    let one = spec(vec![obs], data.spec.data_end);
    let mut perturbed = data.tenants.clone();
    for (i, t) in perturbed.iter_mut().enumerate() {
        let events = t.events.as_mut().unwrap();
        for e in events.iter_mut().filter(|e| e.at >= obs) {
            e.amount = e.amount * 3.0 + 1.0;
            e.at += 3600;
        }
        events.push(UsageEvent {
            at: obs,
            amount: 99.0,
        });
        events.push(UsageEvent {
            at: obs + (i as i64 + 1) * DAY,
            amount: 5.0,
        });
        t.failed_payments.as_mut().unwrap().extend([obs, obs + DAY]);
        t.tickets.as_mut().unwrap().push(SupportTicket {
            at: obs,
            severity: Some(4.0),
        });
        t.daily = Some(tenantml::scoring::churn::DailyUsage {
            start: obs,
            values: vec![10.0; 20],
        });
    }
    let a = build_rows(&data.tenants, &one).unwrap();
    let b = build_rows(&perturbed, &one).unwrap();
    assert_eq!(a.labels, b.labels);
    assert!(a.labels.len() > 30);
    assert!(same(
        a.features.as_slice().unwrap(),
        b.features.as_slice().unwrap()
    ));

    // The test can fail: one event a second before obs changes the features.
    let mut touched = data.tenants.clone();
    touched[a.tenant_index[0]]
        .events
        .as_mut()
        .unwrap()
        .push(UsageEvent {
            at: obs - 1,
            amount: 1.0,
        });
    let c = build_rows(&touched, &one).unwrap();
    assert!(!same(
        a.features.as_slice().unwrap(),
        c.features.as_slice().unwrap()
    ));
}

#[test]
fn generated_data_has_churners_of_every_kind_and_is_deterministic() {
    let s = GeneratorSettings {
        tenants: 200,
        ..GeneratorSettings::event_log()
    };
    let a = generate(&s, 3).unwrap();
    let b = generate(&s, 3).unwrap();
    let c = generate(&s, 4).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.tenants, c.tenants);
    let churned = a.tenants.iter().filter(|t| t.churned_at.is_some()).count();
    assert!((30..=120).contains(&churned), "{churned} of 200 churned");
    // No usage after churning.
    for t in &a.tenants {
        if let Some(c) = t.churned_at {
            assert!(t.events.as_ref().unwrap().iter().all(|e| e.at < c));
        }
    }
    let mut bad = GeneratorSettings::training();
    bad.churn_rate = 1.5;
    assert!(generate(&bad, 1).is_err());
}

// ---- the inactivity rule ----

#[test]
fn rule_values_follow_the_documented_ramp() {
    let rule = InactivityRule::new(14.0).unwrap();
    let logistic = |x: f64| 1.0 / (1.0 + (-x).exp());
    assert!((rule.score_days(7.0) - logistic(-2.0)).abs() < 1e-12);
    assert!((rule.score_days(14.0) - 0.5).abs() < 1e-12);
    assert!((rule.score_days(28.0) - logistic(4.0)).abs() < 1e-12);
    assert_eq!(rule.score_days(f64::NAN), 0.5);
    let mut last = 0.0;
    for d in 0..100 {
        let s = rule.score_days(d as f64);
        assert!(s > last, "strictly increasing, so it ranks");
        last = s;
    }
    assert!(!rule.fires(13.9) && rule.fires(14.0));
    assert!(InactivityRule::new(0.0).is_err() && InactivityRule::new(f64::NAN).is_err());

    // A tenant inactive for 21 days.
    let t = TenantHistory::new("q")
        .with_events(&[T - 21 * DAY], &[1.0])
        .unwrap();
    let s = rule.score(&t, T, 30).unwrap();
    assert_eq!(s.regime, Regime::Fallback);
    assert_eq!(s.model_name, "inactivity-rule");
    assert!(s.inactive_flag);
    assert_eq!(s.facts.days_inactive, Some(21.0));
    assert_eq!(s.reasons[0].source, ReasonSource::Rule);
    assert_eq!(s.reasons[0].code, "rule:days_inactive");
    // Never active but known since 40 days: inactive since the start.
    let never = TenantHistory::new("n")
        .with_events(&[], &[])
        .unwrap()
        .with_subscription(Subscription {
            started_at: Some(T - 40 * DAY),
            ..Subscription::default()
        })
        .unwrap();
    let s = rule.score(&never, T, 30).unwrap();
    assert_eq!(s.facts.days_inactive, Some(40.0));
    assert!(s.inactive_flag);
    // Nothing known: 0.5 and a reason saying so.
    let s = rule.score(&TenantHistory::new("x"), T, 30).unwrap();
    assert_eq!(s.probability, 0.5);
    assert!(!s.inactive_flag);
    assert_eq!(s.reasons[0].code, "rule:no_activity_data");
}

#[test]
fn extreme_times_do_not_overflow() {
    let t = TenantHistory::new("x")
        .with_events(&[i64::MIN, i64::MAX, 0], &[1.0, 1.0, 1.0])
        .unwrap()
        .with_daily(i64::MAX - DAY, &[1.0, 2.0])
        .unwrap()
        .with_failed_payments(&[i64::MIN]);
    for as_of in [i64::MIN, 0, i64::MAX] {
        let v = churn_features(&t, as_of).unwrap();
        assert!(v.iter().all(|x| !x.is_infinite()), "{as_of}: {v:?}");
        // Saturating, not wrapping: no negative durations or counts.
        assert!(v.iter().all(|x| x.is_nan() || *x >= 0.0), "{as_of}: {v:?}");
    }
    let rows = build_rows(
        &[t],
        &LabelSpec {
            observation_dates: vec![i64::MAX, 0],
            horizon_days: 30,
            data_end: i64::MAX - 1,
        },
    )
    .unwrap();
    assert_eq!(rows.censored, 1);
}

/// The planted patterns are in the data: before cancelling, support churners open more
/// tickets and payment churners have failed payments; silent churners use less in their
/// last 30 days than in the 30 before.
#[test]
fn generated_patterns_show_before_churn() {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let only = |silent: f64, payment: f64, support: f64| GeneratorSettings {
        tenants: 300,
        patterns: tenantml::scoring::churn::ChurnPatterns {
            silent,
            loud: 0.0,
            payment,
            support,
        },
        ..GeneratorSettings::training()
    };
    // Features one day before each churner cancels, and at the same day for everyone else.
    let before_churn = |s: &GeneratorSettings, name: &str| -> (Vec<f64>, Vec<f64>) {
        let data = generate(s, 8).unwrap();
        let (mut churners, mut stayers) = (Vec::new(), Vec::new());
        for t in &data.tenants {
            let at = match t.churned_at {
                Some(c) if c - DAY > s.start + 90 * DAY => c - DAY,
                Some(_) => continue,
                None => s.start + 200 * DAY,
            };
            if t.started_at().is_some_and(|st| st > at - 60 * DAY) {
                continue;
            }
            let v = churn_features(t, at).unwrap();
            if t.churned_at.is_some() {
                churners.push(f(&v, name));
            } else {
                stayers.push(f(&v, name));
            }
        }
        (churners, stayers)
    };
    let (c, s) = before_churn(&only(0.0, 0.0, 1.0), "tickets_30d");
    assert!(c.len() > 20, "{} churners", c.len());
    assert!(
        mean(&c) > mean(&s) + 1.0,
        "tickets {} vs {}",
        mean(&c),
        mean(&s)
    );
    let (c, s) = before_churn(&only(0.0, 1.0, 0.0), "failed_payments_30d");
    assert!(
        mean(&c) >= 1.0 && mean(&s) < 0.2,
        "failed {} vs {}",
        mean(&c),
        mean(&s)
    );
    let (c, _) = before_churn(&only(1.0, 0.0, 0.0), "volume_ratio_30d");
    let fading = c.iter().filter(|r| r.is_nan() || **r < 0.8).count();
    assert!(
        fading as f64 > 0.8 * c.len() as f64,
        "{fading} of {} silent churners fade",
        c.len()
    );
}
