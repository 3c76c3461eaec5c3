//! Cold-start priors and synthetic tenants: hand-computed expectations, noise statistics,
//! adaptation to a tenant, population estimation and the population generator.

use tenantml::coldstart::{
    synthetic_tenants, AnomalyKind, PopulationSettings, ProfileFamily, SeriesPrior,
};
use tenantml::Error;

/// Monday 1970-01-05 00:00 UTC.
const MONDAY: i64 = 4 * 86_400;
const H: i64 = 3600;

fn flat(level: f64) -> SeriesPrior {
    SeriesPrior {
        level,
        daily_profile: vec![1.0; 24],
        weekly_profile: vec![1.0; 7],
        trend_per_day: 0.0,
        noise_cv: 0.0,
        persistence: 0.0,
        persistent_cv: 0.0,
        counts: false,
    }
}

fn is_invalid<T: std::fmt::Debug>(r: tenantml::Result<T>) -> bool {
    matches!(r, Err(Error::InvalidArgument(_)))
}

fn argmax(v: &[f64]) -> usize {
    (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap()
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum()
}

fn rotated(p: &[f64], by: usize) -> Vec<f64> {
    (0..p.len())
        .map(|h| p[(h + p.len() - by) % p.len()])
        .collect()
}

#[test]
fn saas_default_has_the_business_shape() {
    let p = SeriesPrior::saas_default();
    p.validate().unwrap();
    let d = &p.daily_profile;
    let w = &p.weekly_profile;
    assert!((d.iter().sum::<f64>() / 24.0 - 1.0).abs() < 1e-12);
    assert!((w.iter().sum::<f64>() / 7.0 - 1.0).abs() < 1e-12);
    assert!((9..=11).contains(&argmax(d)), "peak at {}", argmax(d));
    assert!(d[3] < 0.2 * d[10], "nights are low");
    assert!(d[12] < d[11] && d[12] < d[14], "lunch dip");
    assert!(d[7] > d[5] && d[8] > d[7], "morning ramp");
    assert!(d[19] < d[17] && d[19] > d[3], "evening tail");
    let weekday = w[..5].iter().sum::<f64>() / 5.0;
    let weekend = (w[5] + w[6]) / 2.0;
    assert!(
        (0.3..=0.4).contains(&(weekend / weekday)),
        "{}",
        weekend / weekday
    );
}

#[test]
fn validate_rejects_bad_priors() {
    let ok = SeriesPrior::saas_default();
    let cases: Vec<SeriesPrior> = vec![
        SeriesPrior {
            level: -1.0,
            ..ok.clone()
        },
        SeriesPrior {
            level: f64::NAN,
            ..ok.clone()
        },
        SeriesPrior {
            level: f64::INFINITY,
            ..ok.clone()
        },
        SeriesPrior {
            daily_profile: vec![1.0; 23],
            ..ok.clone()
        },
        SeriesPrior {
            weekly_profile: vec![1.0; 8],
            ..ok.clone()
        },
        SeriesPrior {
            daily_profile: vec![2.0; 24],
            ..ok.clone()
        },
        SeriesPrior {
            weekly_profile: {
                let mut w = vec![1.0; 7];
                w[0] = f64::NAN;
                w
            },
            ..ok.clone()
        },
        SeriesPrior {
            daily_profile: {
                let mut d = vec![1.0; 24];
                d[0] = -1.0;
                d[1] = 3.0;
                d
            },
            ..ok.clone()
        },
        SeriesPrior {
            noise_cv: -0.1,
            ..ok.clone()
        },
        SeriesPrior {
            noise_cv: f64::NAN,
            ..ok.clone()
        },
        SeriesPrior {
            trend_per_day: -1.0,
            ..ok.clone()
        },
        SeriesPrior {
            persistence: 1.0,
            ..ok.clone()
        },
        SeriesPrior {
            persistent_cv: -1.0,
            ..ok.clone()
        },
    ];
    for (i, p) in cases.iter().enumerate() {
        assert!(is_invalid(p.validate()), "case {i} accepted");
        assert!(
            is_invalid(p.expected(MONDAY, 3600, 10, 0)),
            "case {i} expected"
        );
        assert!(
            is_invalid(p.sample(MONDAY, 3600, 10, 0, 1)),
            "case {i} sample"
        );
    }
    assert!(SeriesPrior { level: 0.0, ..ok }.validate().is_ok());
}

#[test]
fn bad_grid_arguments_are_invalid() {
    let p = SeriesPrior::saas_default();
    assert!(is_invalid(p.expected(MONDAY, 0, 10, 0)));
    assert!(is_invalid(p.expected(MONDAY, -3600, 10, 0)));
    assert!(is_invalid(p.expected(MONDAY, 3600, 0, 0)));
    assert!(is_invalid(p.sample(MONDAY, 3600, 0, 0, 1)));
    assert!(is_invalid(p.sample(MONDAY, 60, 10_000_001, 0, 1)));
    assert!(is_invalid(p.expected(MONDAY, 3600, 10, 100 * 3600)));
    assert!(is_invalid(p.expected(i64::MAX - 10, 3600, 10, 0)));
    assert!(is_invalid(p.scaled_to(&[1.0], MONDAY, 0, 0)));
    assert!(is_invalid(p.scaled_to(
        &[1.0, f64::INFINITY],
        MONDAY,
        3600,
        0
    )));
    assert!(is_invalid(p.scaled_to(&[1.0, -2.0], MONDAY, 3600, 0)));
    assert!(is_invalid(SeriesPrior::estimate(&[], 3600, 0)));
    assert!(is_invalid(SeriesPrior::estimate(
        &[(&[0.0, 0.0][..], MONDAY)],
        3600,
        0
    )));
    assert!(is_invalid(SeriesPrior::estimate(
        &[(&[1.0][..], MONDAY)],
        0,
        0
    )));
    let s = PopulationSettings::training();
    assert!(is_invalid(synthetic_tenants(&s, 0, 10, MONDAY, 3600, 1)));
    assert!(is_invalid(synthetic_tenants(&s, 1, 0, MONDAY, 3600, 1)));
    assert!(is_invalid(synthetic_tenants(&s, 1, 10, MONDAY, 0, 1)));
    assert!(is_invalid(synthetic_tenants(
        &s, 1, 20_000_000, MONDAY, 60, 1
    )));
    assert!(is_invalid(synthetic_tenants(
        &s, 100, 5_000_000, MONDAY, 60, 1
    )));
}

#[test]
fn expected_matches_hand_computed_values() {
    let p = SeriesPrior {
        trend_per_day: 0.0,
        ..SeriesPrior::saas_default()
    };
    let (d, w) = (&p.daily_profile, &p.weekly_profile);
    let e = p.expected(MONDAY, 3600, 48, 0).unwrap();
    assert!((e[0] - 100.0 * d[0] * w[0]).abs() < 1e-9);
    assert!((e[10] - 100.0 * d[10] * w[0]).abs() < 1e-9);
    assert!((e[30] - 100.0 * d[6] * w[1]).abs() < 1e-9);
    // UTC+1: Monday 00:00 UTC is 01:00 local; UTC-1: Sunday 23:00 local.
    let plus = p.expected(MONDAY, 3600, 1, 3600).unwrap();
    assert!((plus[0] - 100.0 * d[1] * w[0]).abs() < 1e-9);
    let minus = p.expected(MONDAY, 3600, 1, -3600).unwrap();
    assert!((minus[0] - 100.0 * d[23] * w[6]).abs() < 1e-9);
    // Sub-hourly is stepwise: each quarter of hour 10 has hour 10's value.
    let q = p.expected(MONDAY + 10 * H, 900, 4, 0).unwrap();
    for v in &q {
        assert!((v - e[10]).abs() < 1e-9);
    }
    // A 90-minute period from 00:00 averages hour 0 and half of hour 1.
    let long = p.expected(MONDAY, 5400, 1, 0).unwrap();
    assert!((long[0] - 100.0 * w[0] * (d[0] + 0.5 * d[1]) / 1.5).abs() < 1e-9);
    // Daily periods at local midnight see only the weekly profile.
    let daily = p.expected(MONDAY - 3600, 86_400, 14, 3600).unwrap();
    for (i, v) in daily.iter().enumerate() {
        assert!((v - 100.0 * w[i % 7]).abs() < 1e-9, "day {i}: {v}");
    }
    // A whole week of hours has the level as its mean; trend compounds per day.
    let week = p.expected(MONDAY + 5 * H, 3600, 168, 0).unwrap();
    assert!((week.iter().sum::<f64>() / 168.0 - 100.0).abs() < 1e-9);
    let g = SeriesPrior {
        trend_per_day: 0.01,
        ..flat(50.0)
    };
    let e = g.expected(0, 3600, 49, 0).unwrap();
    assert!((e[0] - 50.0).abs() < 1e-12);
    assert!((e[24] - 50.5).abs() < 1e-9);
    assert!((e[48] - 50.0 * 1.01 * 1.01).abs() < 1e-9);
    assert!((e[12] - 50.0 * 1.01f64.sqrt()).abs() < 1e-9);
}

#[test]
fn sampling_is_deterministic_and_unbiased() {
    let p = SeriesPrior {
        persistence: 0.8,
        persistent_cv: 0.1,
        ..SeriesPrior::saas_default()
    };
    let a = p.sample(MONDAY, 3600, 500, 0, 42).unwrap();
    let b = p.sample(MONDAY, 3600, 500, 0, 42).unwrap();
    let c = p.sample(MONDAY, 3600, 500, 0, 43).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a.iter().all(|v| v.is_finite() && *v >= 0.0));
    let e = p.expected(MONDAY, 3600, 168, 0).unwrap();
    for counts in [false, true] {
        let q = SeriesPrior {
            counts,
            level: if counts { 5.0 } else { 100.0 },
            ..p.clone()
        };
        let e: Vec<f64> = e.iter().map(|v| v * q.level / 100.0).collect();
        let n = 2000;
        let mut sum = vec![0.0; 168];
        for seed in 0..n {
            let s = q.sample(MONDAY, 3600, 168, 0, seed).unwrap();
            if counts {
                assert!(s.iter().all(|v| v.fract() == 0.0));
            }
            for (acc, v) in sum.iter_mut().zip(&s) {
                *acc += v;
            }
        }
        let total: f64 = sum.iter().sum::<f64>() / n as f64;
        let want: f64 = e.iter().sum();
        assert!(
            (total / want - 1.0).abs() < 0.01,
            "counts={counts}: {total} vs {want}"
        );
        // Per period: relative standard error is about 0.27 / sqrt(2000) = 0.6 % for the
        // real values; the tolerance is ~8 standard errors (counts: Poisson adds more).
        let tol = if counts { 0.25 } else { 0.05 };
        for h in 0..168 {
            let m = sum[h] / n as f64;
            assert!(
                (m - e[h]).abs() <= tol * e[h] + 0.05,
                "counts={counts} h={h}: {m} vs {}",
                e[h]
            );
        }
    }
    // Noise CV close to the prior's.
    let q = SeriesPrior {
        noise_cv: 0.3,
        ..flat(10.0)
    };
    let s = q.sample(0, 60, 100_000, 0, 5).unwrap();
    let m = s.iter().sum::<f64>() / s.len() as f64;
    let sd = (s.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / s.len() as f64).sqrt();
    assert!((m - 10.0).abs() < 0.05, "{m}");
    assert!((sd / m - 0.3).abs() < 0.01, "{}", sd / m);
}

#[test]
fn scaled_to_recovers_the_level() {
    let truth = SeriesPrior {
        level: 200.0,
        ..SeriesPrior::saas_default()
    };
    let prior = SeriesPrior::saas_default();
    for (days, tol) in [(1usize, 0.15), (7, 0.06)] {
        let n = days * 24;
        for seed in 0..5 {
            let mut obs = truth.sample(MONDAY, 3600, n, 0, seed).unwrap();
            let want = 200.0 * 1.001f64.powf(days as f64);
            let got = prior.scaled_to(&obs, MONDAY, 3600, 0).unwrap();
            assert!(
                (got.level / want - 1.0).abs() < tol,
                "{days}d seed {seed}: {}",
                got.level
            );
            got.validate().unwrap();
            // A 50x spike in the busiest hour and some gaps barely move it.
            obs[10] *= 50.0;
            obs[3] = f64::NAN;
            obs[15] = f64::NAN;
            let spiked = prior.scaled_to(&obs, MONDAY, 3600, 0).unwrap();
            assert!(
                (spiked.level / want - 1.0).abs() < tol,
                "spike {days}d: {}",
                spiked.level
            );
        }
    }
    // No observation: unchanged. All zero: level 0, profiles kept.
    assert_eq!(prior.scaled_to(&[], MONDAY, 3600, 0).unwrap(), prior);
    assert_eq!(
        prior.scaled_to(&[f64::NAN; 5], MONDAY, 3600, 0).unwrap(),
        prior
    );
    let zero = prior
        .scaled_to(&[0.0, f64::NAN, 0.0], MONDAY, 3600, 0)
        .unwrap();
    assert_eq!(zero.level, 0.0);
    assert_eq!(zero.daily_profile, prior.daily_profile);
    // A flat prior fed constant data at 15-minute periods: level is that constant.
    let f = flat(1.0).scaled_to(&[7.0; 96], MONDAY, 900, 0).unwrap();
    assert!((f.level - 7.0).abs() < 1e-9);
    // Daily data: level from the weekly shape only.
    let daily = truth.sample(MONDAY, 86_400, 28, 0, 9).unwrap();
    let d = prior.scaled_to(&daily, MONDAY, 86_400, 0).unwrap();
    assert!(
        (d.level / (200.0 * 1.001f64.powi(28)) - 1.0).abs() < 0.1,
        "{}",
        d.level
    );
    assert_eq!(d.daily_profile, prior.daily_profile);
}

#[test]
fn scaled_to_moves_the_profile_only_with_enough_days() {
    let prior = SeriesPrior::saas_default();
    // This tenant peaks 6 hours later (16:00).
    let truth = SeriesPrior {
        daily_profile: rotated(&prior.daily_profile, 6),
        level: 40.0,
        ..prior.clone()
    };
    let peak = argmax(&truth.daily_profile);
    let one_day = truth.sample(MONDAY, 3600, 24, 0, 3).unwrap();
    let a = prior.scaled_to(&one_day, MONDAY, 3600, 0).unwrap();
    let apart = distance(&prior.daily_profile, &truth.daily_profile);
    // One day weighs 1 / (1 + 7): a small step toward the tenant.
    let moved = distance(&a.daily_profile, &prior.daily_profile);
    assert!(moved > 0.0 && moved < 0.3 * apart, "{moved} of {apart}");
    let weeks = truth.sample(MONDAY, 3600, 24 * 14, 0, 3).unwrap();
    let b = prior.scaled_to(&weeks, MONDAY, 3600, 0).unwrap();
    assert!(
        (argmax(&b.daily_profile) as i64 - peak as i64).abs() <= 1,
        "{}",
        argmax(&b.daily_profile)
    );
    assert!(
        distance(&b.daily_profile, &truth.daily_profile)
            < distance(&b.daily_profile, &prior.daily_profile)
    );
    // Two weeks weigh 14 / (14 + 7): most of the way.
    assert!(distance(&b.daily_profile, &prior.daily_profile) > 0.5 * apart);
    assert!((b.daily_profile.iter().sum::<f64>() / 24.0 - 1.0).abs() < 1e-9);
    // A weekly difference (busy weekends) needs weeks, not days.
    let weekend = SeriesPrior {
        weekly_profile: vec![1.0; 7],
        ..truth.clone()
    };
    let eight_weeks = weekend.sample(MONDAY, 3600, 24 * 56, 0, 4).unwrap();
    let c = prior.scaled_to(&eight_weeks, MONDAY, 3600, 0).unwrap();
    assert!(c.weekly_profile[6] > 0.6, "{:?}", c.weekly_profile);
    let d = prior
        .scaled_to(&eight_weeks[..24 * 7], MONDAY, 3600, 0)
        .unwrap();
    assert!(d.weekly_profile[6] < c.weekly_profile[6]);
}

#[test]
fn estimate_recovers_the_generating_profile() {
    let truth = SeriesPrior::saas_default();
    let series: Vec<Vec<f64>> = (0..50)
        .map(|i| {
            let level = 5.0 * 1.15f64.powi(i);
            let p = SeriesPrior {
                level,
                ..truth.clone()
            };
            p.sample(MONDAY + i as i64 * H, 3600, 24 * 28, 0, 1000 + i as u64)
                .unwrap()
        })
        .collect();
    let refs: Vec<(&[f64], i64)> = series
        .iter()
        .enumerate()
        .map(|(i, s)| (&s[..], MONDAY + i as i64 * H))
        .collect();
    let est = SeriesPrior::estimate(&refs, 3600, 0).unwrap();
    est.validate().unwrap();
    for h in 0..24 {
        assert!(
            (est.daily_profile[h] - truth.daily_profile[h]).abs() < 0.05,
            "hour {h}: {:?}",
            est.daily_profile
        );
    }
    for w in 0..7 {
        assert!(
            (est.weekly_profile[w] - truth.weekly_profile[w]).abs() < 0.03,
            "day {w}: {:?}",
            est.weekly_profile
        );
    }
    assert!(
        (est.trend_per_day - 0.001).abs() < 0.002,
        "{}",
        est.trend_per_day
    );
    assert!((est.noise_cv - 0.25).abs() < 0.05, "{}", est.noise_cv);
    let levels: Vec<f64> = (0..50).map(|i| 5.0 * 1.15f64.powi(i)).collect();
    assert!(
        est.level > levels[20] && est.level < levels[30],
        "{}",
        est.level
    );
    assert!(!est.counts);
}

#[test]
fn populations_are_deterministic_and_prefix_stable() {
    let s = PopulationSettings::training();
    let a = synthetic_tenants(&s, 6, 24 * 30, MONDAY, 3600, 11).unwrap();
    let b = synthetic_tenants(&s, 6, 24 * 30, MONDAY, 3600, 11).unwrap();
    let more = synthetic_tenants(&s, 9, 24 * 30, MONDAY, 3600, 11).unwrap();
    let other = synthetic_tenants(&s, 6, 24 * 30, MONDAY, 3600, 12).unwrap();
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for i in 0..6 {
        assert_eq!(bits(&a[i].values), bits(&b[i].values));
        assert_eq!(bits(&a[i].values), bits(&more[i].values));
        assert_eq!(a[i].prior, more[i].prior);
        assert_eq!(a[i].id, more[i].id);
        assert_ne!(bits(&a[i].values), bits(&other[i].values));
    }
    let ids: std::collections::HashSet<_> = more.iter().map(|t| t.id.clone()).collect();
    assert_eq!(ids.len(), 9);
}

#[test]
fn populations_are_well_formed() {
    for s in [
        PopulationSettings::training(),
        PopulationSettings::held_out(),
    ] {
        let tenants = synthetic_tenants(&s, 200, 24 * 91, MONDAY, 3600, 3).unwrap();
        let (mut gaps, mut anomalies, mut counts) = (0, 0, 0);
        for t in &tenants {
            t.prior.validate().unwrap();
            assert_eq!(t.values.len(), 24 * 91);
            assert_eq!(t.expected.len(), 24 * 91);
            assert!(t
                .values
                .iter()
                .all(|v| v.is_nan() || (v.is_finite() && *v >= 0.0)));
            gaps += t.values.iter().filter(|v| v.is_nan()).count();
            anomalies += t.anomalies.len();
            if t.prior.counts {
                counts += 1;
                assert!(t.values.iter().all(|v| v.is_nan() || v.fract() == 0.0));
            }
            for a in &t.anomalies {
                assert!(a.len >= 1 && a.start + a.len <= t.values.len());
                if a.kind == AnomalyKind::LevelShift {
                    assert_eq!(a.start + a.len, t.values.len());
                }
            }
            assert!(s.utc_offsets_seconds.contains(&t.utc_offset_seconds));
            // Without trend changes or anomalies the truth is the prior's expectation.
            if t.trend_changes.is_empty() && t.anomalies.is_empty() {
                let e = t
                    .prior
                    .expected(t.start, t.frequency, t.values.len(), t.utc_offset_seconds)
                    .unwrap();
                for (x, y) in e.iter().zip(&t.expected) {
                    assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0));
                }
            }
        }
        assert!(gaps > 0 && anomalies > 0 && counts > 0 && counts < 200);
        let has_split = tenants
            .iter()
            .any(|t| t.family == ProfileFamily::SplitShift);
        let held_out = s == PopulationSettings::held_out();
        assert_eq!(has_split, held_out);
    }
}

#[test]
fn held_out_differs_from_training_and_settings_round_trip() {
    let (t, h) = (
        PopulationSettings::training(),
        PopulationSettings::held_out(),
    );
    assert_ne!(t, h);
    assert!(t
        .families
        .iter()
        .all(|f| f.family != ProfileFamily::SplitShift));
    assert!(h
        .families
        .iter()
        .any(|f| f.family == ProfileFamily::SplitShift));
    assert!(h.anomalies_per_week > t.anomalies_per_week);
    assert!(h.trend_changes_per_year > t.trend_changes_per_year);
    assert!(h.noise_cv[1] > t.noise_cv[1]);
    for s in [t, h] {
        s.validate().unwrap();
        let json = serde_json::to_string(&s).unwrap();
        let back: PopulationSettings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }
    let partial: PopulationSettings =
        serde_json::from_str(r#"{"anomalies_per_week": 1.5}"#).unwrap();
    assert_eq!(partial.anomalies_per_week, 1.5);
    assert!(serde_json::from_str::<PopulationSettings>(r#"{"bogus": 1}"#).is_err());
    let bad = [
        PopulationSettings {
            level_median: 0.0,
            ..PopulationSettings::training()
        },
        PopulationSettings {
            noise_cv: [0.5, 0.1],
            ..PopulationSettings::training()
        },
        PopulationSettings {
            families: vec![],
            ..PopulationSettings::training()
        },
        PopulationSettings {
            gaps_per_week: f64::NAN,
            ..PopulationSettings::training()
        },
        PopulationSettings {
            utc_offsets_seconds: vec![],
            ..PopulationSettings::training()
        },
    ];
    for b in bad {
        assert!(is_invalid(b.validate()));
        assert!(is_invalid(synthetic_tenants(&b, 1, 24, MONDAY, 3600, 0)));
    }
    let p = SeriesPrior::saas_default();
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<SeriesPrior>(&json).unwrap(), p);
}

#[test]
fn anomalies_and_trend_changes_shape_the_truth() {
    let s = PopulationSettings::training();
    let tenants = synthetic_tenants(&s, 200, 24 * 91, MONDAY, 3600, 5).unwrap();
    let mut checked = [0usize; 2];
    for t in &tenants {
        let plain = t
            .prior
            .expected(t.start, t.frequency, t.values.len(), t.utc_offset_seconds)
            .unwrap();
        if t.trend_changes.is_empty() && t.anomalies.len() == 1 {
            // One anomaly: the truth is the prior's expectation times its factor there.
            let a = &t.anomalies[0];
            for (i, (e, p)) in t.expected.iter().zip(&plain).enumerate() {
                let f = if (a.start..a.start + a.len).contains(&i) {
                    a.factor
                } else {
                    1.0
                };
                assert!((e - p * f).abs() <= 1e-9 * p.max(1.0), "{} at {i}", t.id);
            }
            checked[0] += 1;
        }
        if t.anomalies.is_empty() && t.trend_changes.len() == 1 {
            // Before the change the truth follows the prior; after it, the growth rate
            // between consecutive days is the new trend's.
            let (at, trend) = t.trend_changes[0];
            for (e, p) in t.expected[..at].iter().zip(&plain) {
                assert!((e - p).abs() <= 1e-9 * p.max(1.0));
            }
            if at + 48 < t.values.len() && plain[at] > 0.0 {
                let ratio = (t.expected[at + 24] / plain[at + 24]) / (t.expected[at] / plain[at]);
                let want = (1.0 + trend) / (1.0 + t.prior.trend_per_day);
                assert!((ratio - want).abs() < 1e-9, "{} {ratio} {want}", t.id);
            }
            checked[1] += 1;
        }
    }
    assert!(checked[0] > 0 && checked[1] > 0, "{checked:?}");
}

#[test]
fn populations_work_on_sub_hourly_and_daily_grids() {
    let s = PopulationSettings::held_out();
    let quarter = synthetic_tenants(&s, 20, 96 * 14, MONDAY, 900, 1).unwrap();
    let daily = synthetic_tenants(&s, 20, 365, MONDAY, 86_400, 1).unwrap();
    for t in quarter.iter().chain(&daily) {
        assert!(t.values.iter().all(|v| v.is_nan() || *v >= 0.0));
        assert!(t.expected.iter().all(|v| v.is_finite() && *v >= 0.0));
    }
    // Persistence is drawn per hour and converted to the grid's period.
    let [lo, hi] = s.persistence;
    for t in &quarter {
        let p = t.prior.persistence;
        assert!(
            p >= lo.powf(0.25) - 1e-12 && p <= hi.powf(0.25) + 1e-12,
            "{p}"
        );
    }
    for t in &daily {
        assert!(t.prior.persistence <= hi.powi(24) + 1e-12);
    }
    // Same prior on both grids: the mean of the four quarters is the hourly value.
    let p = &quarter[0].prior;
    let q = p.expected(MONDAY, 900, 96, 0).unwrap();
    let h = p.expected(MONDAY, 3600, 24, 0).unwrap();
    for i in 0..24 {
        let m = q[4 * i..4 * i + 4].iter().sum::<f64>() / 4.0;
        // Trend is measured at each period's start, so allow its within-hour drift.
        assert!((m / h[i] - 1.0).abs() < 1e-3, "{i}: {m} vs {}", h[i]);
    }
}

#[test]
fn scaled_to_handles_counts_and_sub_hourly_tenants() {
    let prior = SeriesPrior::saas_default();
    // A small count tenant: 2 events per hour on average, seen for two weeks.
    let truth = SeriesPrior {
        level: 2.0,
        counts: true,
        ..prior.clone()
    };
    let obs = truth.sample(MONDAY, 3600, 24 * 14, 0, 8).unwrap();
    assert!(obs.contains(&0.0));
    let got = prior.scaled_to(&obs, MONDAY, 3600, 0).unwrap();
    let want = 2.0 * 1.001f64.powi(14);
    assert!((got.level / want - 1.0).abs() < 0.15, "{}", got.level);
    // Sparse counts (0.5 per hour, mostly zeros): the spike guard must not bias them.
    for seed in 0..4 {
        let truth = SeriesPrior {
            level: 0.5,
            counts: true,
            ..prior.clone()
        };
        let obs = truth.sample(MONDAY, 3600, 24 * 28, 0, seed).unwrap();
        let got = prior.scaled_to(&obs, MONDAY, 3600, 0).unwrap();
        let want = 0.5 * 1.001f64.powi(28);
        assert!(
            (got.level / want - 1.0).abs() < 0.2,
            "seed {seed}: {}",
            got.level
        );
    }
    // 5-minute data, one week, 3x the level.
    let truth = SeriesPrior {
        level: 300.0,
        ..prior.clone()
    };
    let obs = truth.sample(MONDAY, 300, 12 * 24 * 7, 0, 9).unwrap();
    let got = prior.scaled_to(&obs, MONDAY, 300, 0).unwrap();
    // The level per 5-minute period is the level of the prior's own units.
    let want = 300.0 * 1.001f64.powi(7);
    assert!((got.level / want - 1.0).abs() < 0.05, "{}", got.level);
    assert!(distance(&got.daily_profile, &prior.daily_profile) < 0.5);
}
