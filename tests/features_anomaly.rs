//! Anomaly flags on planted spikes and dips in a seasonal series, with and without the
//! seasonal context; constant series, gaps, cleaning and bad input.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use tenantml::features::anomaly::{clean, detect_anomalies, AnomalyMethod, CleanMode};

const METHODS: [AnomalyMethod; 3] = [
    AnomalyMethod::ZScore { threshold: 3.0 },
    AnomalyMethod::Iqr { k: 1.5 },
    AnomalyMethod::Mad { threshold: 3.5 },
];

/// Four weeks of hourly usage: quiet nights, ordinary days and one busy hour (14:00) a day.
fn seasonal(seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0, 2.0).unwrap();
    (0..28 * 24)
        .map(|t| {
            let level = match t % 24 {
                0..=6 => 5.0,
                14 => 120.0,
                _ => 30.0,
            };
            level + noise.sample(&mut rng)
        })
        .collect()
}

/// Positions and values of the planted anomalies: night and evening spikes, a missing
/// busy hour (dip) and a morning drop.
const PLANTED: [(usize, f64); 4] = [
    (3 * 24 + 2, 45.0),
    (10 * 24 + 20, 70.0),
    (15 * 24 + 14, 40.0),
    (20 * 24 + 10, 0.0),
];

fn planted(seed: u64) -> Vec<f64> {
    let mut x = seasonal(seed);
    for (t, v) in PLANTED {
        x[t] = v;
    }
    x
}

/// Normal noise alone flags about 0.3 % (z > 3), 0.7 % (IQR 1.5) and 0.05 % (MAD 3.5) of
/// values asymptotically; medians, MADs and quartiles of 28-value groups are noisy, so
/// small groups flag more.
fn allowed_percent(method: &AnomalyMethod) -> usize {
    match method {
        AnomalyMethod::Iqr { .. } => 4,
        _ => 2,
    }
}

fn count(flags: &[bool]) -> usize {
    flags.iter().filter(|&&f| f).count()
}

#[test]
fn planted_spikes_and_dips_are_found_by_every_method_with_few_false_flags() {
    for seed in 0..3 {
        let x = planted(seed);
        for method in METHODS {
            let flags = detect_anomalies(&x, &method, Some(24)).unwrap();
            for (t, _) in PLANTED {
                assert!(flags[t], "{method:?} seed {seed}: missed t = {t}");
            }
            let false_flags = count(&flags) - PLANTED.len();
            assert!(
                false_flags * 100 <= allowed_percent(&method) * x.len(),
                "{method:?} seed {seed}: {false_flags} false flags"
            );
        }
    }
}

#[test]
fn clean_seasonal_data_is_not_flagged_with_the_period_but_is_without_it() {
    let x = seasonal(42);
    for method in METHODS {
        let with = count(&detect_anomalies(&x, &method, Some(24)).unwrap());
        assert!(
            with * 100 <= allowed_percent(&method) * x.len(),
            "{method:?}: {with}"
        );
    }
    // Without the seasonal context every busy hour looks like a spike to the z-score
    // (one hour a day far above the rest of the day and the night).
    let zscore = AnomalyMethod::ZScore { threshold: 3.0 };
    let flags = detect_anomalies(&x, &zscore, None).unwrap();
    let busy_hours_flagged = (0..28).filter(|d| flags[d * 24 + 14]).count();
    assert!(busy_hours_flagged >= 25, "{busy_hours_flagged} of 28");
    let with = count(&detect_anomalies(&x, &zscore, Some(24)).unwrap());
    assert!(
        count(&flags) > 10 * with.max(1),
        "{} vs {with}",
        count(&flags)
    );
    // And the planted night spike (45 among values up to 120) goes unnoticed.
    let flags = detect_anomalies(&planted(42), &zscore, None).unwrap();
    assert!(!flags[PLANTED[0].0]);
}

#[test]
fn constant_series_flags_nothing() {
    for method in METHODS {
        for period in [None, Some(1), Some(7)] {
            let flags = detect_anomalies(&[4.0; 50], &method, period).unwrap();
            assert_eq!(count(&flags), 0, "{method:?} {period:?}");
        }
    }
    // MAD = 0 with one outlier: the mean-absolute-deviation fallback still flags it; the
    // z-score and the IQR fences (IQR = 0) do too, without dividing by zero.
    let mut x = vec![4.0; 50];
    x[17] = 9.0;
    for method in METHODS {
        let flags = detect_anomalies(&x, &method, None).unwrap();
        assert_eq!(count(&flags), 1, "{method:?}");
        assert!(flags[17]);
    }
}

#[test]
fn missing_values_are_never_flagged_nor_counted() {
    let mut x = planted(7);
    for t in (5..x.len()).step_by(9) {
        if !PLANTED.iter().any(|&(p, _)| p == t) {
            x[t] = f64::NAN;
        }
    }
    for method in METHODS {
        let flags = detect_anomalies(&x, &method, Some(24)).unwrap();
        for (t, v) in x.iter().enumerate() {
            assert!(!(v.is_nan() && flags[t]), "{method:?}: NaN flagged at {t}");
        }
        for (t, _) in PLANTED {
            assert!(flags[t], "{method:?}: missed {t}");
        }
    }
    // Too few present values in a group: nothing flagged.
    let x = [1.0, f64::NAN, 100.0, f64::NAN];
    assert_eq!(
        count(&detect_anomalies(&x, &AnomalyMethod::default(), None).unwrap()),
        0
    );
    let all_missing = [f64::NAN; 10];
    assert_eq!(
        count(&detect_anomalies(&all_missing, &AnomalyMethod::default(), None).unwrap()),
        0
    );
}

#[test]
fn cleaning_replaces_only_the_flagged_values() {
    let mut x = planted(3);
    x[100] = f64::NAN;
    let flags = detect_anomalies(&x, &AnomalyMethod::default(), Some(24)).unwrap();
    assert!(count(&flags) >= PLANTED.len());
    for mode in [
        CleanMode::Missing,
        CleanMode::SeasonalMedian { period: 24 },
        CleanMode::Interpolate,
    ] {
        let cleaned = clean(&x, &flags, mode).unwrap();
        assert_eq!(cleaned.len(), x.len());
        for t in 0..x.len() {
            if flags[t] {
                assert_ne!(cleaned[t].to_bits(), x[t].to_bits(), "{mode:?} t = {t}");
            } else {
                assert_eq!(cleaned[t].to_bits(), x[t].to_bits(), "{mode:?} t = {t}");
            }
        }
        match mode {
            CleanMode::Missing => {
                assert!(flags.iter().zip(&cleaned).all(|(&f, v)| !f || v.is_nan()))
            }
            _ => {
                // The replacement is ordinary for its hour: nothing left to flag there.
                let again =
                    detect_anomalies(&cleaned, &AnomalyMethod::default(), Some(24)).unwrap();
                for (t, _) in PLANTED {
                    // Interpolation does not know the daily cycle: the busy hour filled in
                    // from its ordinary neighbours is still unusual for 14:00.
                    let busy_hour = t % 24 == 14;
                    if mode == CleanMode::Interpolate && busy_hour {
                        assert!(again[t]);
                    } else {
                        assert!(!again[t], "{mode:?}: t = {t} still anomalous");
                    }
                }
            }
        }
    }
    // Seasonal median of the same hour; interpolation between neighbours.
    let median = clean(&x, &flags, CleanMode::SeasonalMedian { period: 24 }).unwrap();
    assert!((median[15 * 24 + 14] - 120.0).abs() < 2.0);
    assert!((median[3 * 24 + 2] - 5.0).abs() < 2.0);
    let t = 10 * 24 + 20;
    let interpolated = clean(&x, &flags, CleanMode::Interpolate).unwrap();
    assert!(!flags[t - 1] && !flags[t + 1]);
    assert_eq!(interpolated[t], (x[t - 1] + x[t + 1]) / 2.0);
}

#[test]
fn interpolation_skips_gaps_and_holds_the_ends() {
    let x = [50.0, 1.0, f64::NAN, 3.0, 90.0, 5.0, 60.0];
    let flags = [true, false, false, false, true, false, true];
    let y = clean(&x, &flags, CleanMode::Interpolate).unwrap();
    assert_eq!(y[0], 1.0);
    assert!(y[2].is_nan());
    assert_eq!(y[4], 4.0);
    assert_eq!(y[6], 5.0);
    // Neighbours across a gap: t = 3 flagged, nearest usable are 1 and 5.
    let flags = [false, false, false, true, false, false, false];
    let x = [0.0, 1.0, f64::NAN, 70.0, f64::NAN, 5.0, 6.0];
    assert_eq!(clean(&x, &flags, CleanMode::Interpolate).unwrap()[3], 3.0);
    // Nothing usable at all.
    let y = clean(&[1.0, 2.0], &[true, true], CleanMode::Interpolate).unwrap();
    assert!(y.iter().all(|v| v.is_nan()));
    let y = clean(
        &[1.0, 2.0],
        &[true, true],
        CleanMode::SeasonalMedian { period: 1 },
    )
    .unwrap();
    assert!(y.iter().all(|v| v.is_nan()));
}

#[test]
fn methods_and_modes_serialise_with_a_tag() {
    for method in METHODS {
        let json = serde_json::to_string(&method).unwrap();
        let back: AnomalyMethod = serde_json::from_str(&json).unwrap();
        assert_eq!(back, method);
    }
    assert_eq!(
        serde_json::to_string(&AnomalyMethod::ZScore { threshold: 3.0 }).unwrap(),
        r#"{"method":"zscore","threshold":3.0}"#
    );
    let m: AnomalyMethod = serde_json::from_str(r#"{"method": "mad", "threshold": 3.5}"#).unwrap();
    assert_eq!(m, AnomalyMethod::default());
    let c: CleanMode =
        serde_json::from_str(r#"{"mode": "seasonal_median", "period": 24}"#).unwrap();
    assert_eq!(c, CleanMode::SeasonalMedian { period: 24 });
}

#[test]
fn bad_input_is_rejected() {
    let x = seasonal(1);
    for bad in [
        AnomalyMethod::ZScore { threshold: 0.0 },
        AnomalyMethod::Iqr { k: -1.0 },
        AnomalyMethod::Mad {
            threshold: f64::NAN,
        },
        AnomalyMethod::Mad {
            threshold: f64::INFINITY,
        },
    ] {
        let e = detect_anomalies(&x, &bad, None).unwrap_err();
        assert_eq!(e.code(), 1, "{bad:?}");
    }
    let ok = AnomalyMethod::default();
    assert!(detect_anomalies(&x, &ok, Some(0)).is_err());
    assert!(detect_anomalies(&x, &ok, Some(x.len() + 1)).is_err());
    assert!(detect_anomalies(&x, &ok, Some(x.len())).is_ok());
    assert!(detect_anomalies(&[], &ok, None).is_err());
    assert!(detect_anomalies(&[1.0, f64::INFINITY, 2.0], &ok, None).is_err());
    let flags = vec![false; x.len()];
    assert!(clean(&x, &flags[1..], CleanMode::Missing).is_err());
    assert!(clean(&x, &flags, CleanMode::SeasonalMedian { period: 0 }).is_err());
    assert!(clean(
        &x,
        &flags,
        CleanMode::SeasonalMedian {
            period: x.len() + 1
        }
    )
    .is_err());
    assert!(clean(&[f64::NEG_INFINITY], &[false], CleanMode::Missing).is_err());
}
