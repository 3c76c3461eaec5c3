//! Forecast baselines and metrics against statsforecast/utilsforecast, their NaN and
//! short-history rules by hand, split-conformal intervals and the fallback profile.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use serde_json::Value;
use tenantml::forecast::baselines::{Baseline, MAX_HORIZON};
use tenantml::forecast::conformal::Conformal;
use tenantml::forecast::fallback::FallbackProfile;
use tenantml::forecast::metrics::{
    coverage, mae, mape, mase, mase_scale, rmse, smape, ForecastMetrics,
};
use tenantml::Error;

const NAN: f64 = f64::NAN;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

fn assert_vec_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(close(*g, *w, tol), "{what}[{i}]: got {g}, want {w}");
    }
}

fn invalid<T: std::fmt::Debug>(r: tenantml::Result<T>) -> String {
    match r {
        Err(Error::InvalidArgument(msg)) => msg,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(NAN))
        .collect()
}

/// Fixtures from tests/fixtures/forecast/make_baselines.py (statsforecast 2.1.1,
/// utilsforecast 0.2.17).
fn reference() -> Value {
    serde_json::from_str(include_str!("fixtures/forecast/baselines.json")).unwrap()
}

fn baseline_for(alias: &str, case: &Value) -> Baseline {
    let window = case["window"].as_u64().unwrap() as usize;
    let seasons = case["seasons"].as_u64().unwrap() as usize;
    match alias {
        "naive" => Baseline::Naive,
        "seasonal_naive_24" => Baseline::SeasonalNaive { period: 24 },
        "seasonal_naive_168" => Baseline::SeasonalNaive { period: 168 },
        "window_average" => Baseline::WindowAverage { window },
        "seasonal_window_average_24" => Baseline::SeasonalAverage {
            period: 24,
            seasons: Some(seasons),
        },
        other => panic!("unknown alias {other}"),
    }
}

#[test]
fn forecasts_match_statsforecast_where_it_has_a_value() {
    let reference = reference();
    let mut compared = 0;
    for case in reference["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let history = floats(&case["history"]);
        let horizon = case["horizon"].as_u64().unwrap() as usize;
        for (alias, want) in case["forecasts"].as_object().unwrap() {
            let want = floats(want);
            let got = baseline_for(alias, case)
                .forecast(&history, horizon)
                .unwrap();
            assert_eq!(got.len(), horizon);
            for (h, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(g.is_finite(), "{name}/{alias}[{h}] is {g}");
                if !w.is_nan() {
                    assert!(close(*g, *w, 1e-9), "{name}/{alias}[{h}]: {g} vs {w}");
                    compared += 1;
                }
            }
        }
    }
    // 5 models × 200 + 5 × 48 + 3 × 12 (two short-history forecasts are all NaN there).
    assert_eq!(compared, 1276);
}

#[test]
fn short_history_gives_numbers_where_statsforecast_gives_nan() {
    let reference = reference();
    let case = &reference["cases"][1];
    assert_eq!(case["name"], "short");
    let history = floats(&case["history"]);
    let n = history.len();
    assert_eq!(n, 40);
    // statsforecast leaves both of these NaN on 40 values.
    assert!(floats(&case["forecasts"]["seasonal_naive_168"])[0].is_nan());
    assert!(floats(&case["forecasts"]["seasonal_window_average_24"])[0].is_nan());

    // Steps 1..=12 fall in phases of the 168 season never observed: the naive value.
    let f = Baseline::SeasonalNaive { period: 168 }
        .forecast(&history, 12)
        .unwrap();
    assert_eq!(f, vec![history[n - 1]; 12]);
    // Three days asked for, less than two available: phase r averages index 16 + r and,
    // for r >= 8, index r - 8.
    let f = Baseline::SeasonalAverage {
        period: 24,
        seasons: Some(3),
    }
    .forecast(&history, 12)
    .unwrap();
    for (r, v) in f.iter().enumerate() {
        let want = if r >= 8 {
            (history[16 + r] + history[r - 8]) / 2.0
        } else {
            history[16 + r]
        };
        assert!(close(*v, want, 1e-12), "phase {r}: {v} vs {want}");
    }
    // A window longer than the history averages all of it.
    let f = Baseline::WindowAverage { window: 100 }
        .forecast(&history, 2)
        .unwrap();
    let mean = history.iter().sum::<f64>() / n as f64;
    assert_vec_close(&f, &[mean, mean], 1e-12, "window 100");
}

#[test]
fn losses_match_utilsforecast() {
    let reference = reference();
    let period = reference["mase_seasonality"].as_u64().unwrap() as usize;
    let mut compared = 0;
    for case in reference["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let history = floats(&case["history"]);
        let actual = floats(&case["actual"]);
        let scale = mase_scale(&history, period).unwrap();
        for (alias, losses) in case["losses"].as_object().unwrap() {
            let forecast = floats(&case["forecasts"][alias]);
            let want = |k: &str| losses[k].as_f64().unwrap();
            let what = format!("{name}/{alias}");
            assert!(
                close(mae(&actual, &forecast).unwrap(), want("mae"), 1e-9),
                "{what}"
            );
            assert!(
                close(rmse(&actual, &forecast).unwrap(), want("rmse"), 1e-9),
                "{what}"
            );
            assert!(
                close(smape(&actual, &forecast).unwrap(), want("smape"), 1e-9),
                "{what}"
            );
            assert!(
                close(mape(&actual, &forecast).unwrap(), want("mape"), 1e-9),
                "{what}"
            );
            assert!(close(
                mape(&actual, &forecast).unwrap(),
                want("mape_nonzero"),
                1e-9
            ));
            let m = mase(&actual, &forecast, scale).unwrap();
            assert!(close(m, want("mase"), 1e-9), "{what}: mase {m}");
            let all = ForecastMetrics::compute(&actual, &forecast, Some(scale)).unwrap();
            assert!(close(all.mase.unwrap(), want("mase"), 1e-9), "{what}");
            assert!(close(all.mape.unwrap(), want("mape"), 1e-9), "{what}");
            assert_eq!(all.n, actual.len());
            compared += 1;
        }
    }
    assert_eq!(compared, 13);
    // The zeros case really has zero actuals (mape skips them, smape does not).
    let zeros = floats(&reference["cases"][2]["actual"]);
    assert!(zeros.iter().filter(|v| **v == 0.0).count() > 5);
}

#[test]
fn nan_rules_by_hand() {
    // Naive: last present value.
    assert_eq!(
        Baseline::Naive.forecast(&[1.0, 2.0, NAN], 2).unwrap(),
        [2.0, 2.0]
    );
    // Seasonal naive, period 3: same phase from the most recent season where it is present.
    let h = [1.0, 2.0, 3.0, 4.0, NAN, 6.0, NAN, 8.0];
    let f = Baseline::SeasonalNaive { period: 3 }
        .forecast(&h, 4)
        .unwrap();
    assert_eq!(f, [6.0, 4.0, 8.0, 6.0]);
    // A phase never present takes the naive value (6).
    let h = [NAN, 5.0, 9.0, NAN, 6.0, NAN];
    let f = Baseline::SeasonalNaive { period: 3 }
        .forecast(&h, 3)
        .unwrap();
    assert_eq!(f, [6.0, 6.0, 9.0]);
    // Seasonal average, period 2: phase 0 = indices 6 (NaN), 4, 2, 0; phase 1 = 7, 5, 3 (NaN), 1.
    let h = [1.0, 10.0, 3.0, NAN, 5.0, 30.0, NAN, 50.0];
    let avg = |seasons| {
        Baseline::SeasonalAverage { period: 2, seasons }
            .forecast(&h, 3)
            .unwrap()
    };
    assert_eq!(avg(None), [3.0, 30.0, 3.0]);
    assert_eq!(avg(Some(2)), [5.0, 40.0, 5.0]);
    // Last season only: phase 0 missing there -> seasonal naive value (index 4).
    assert_eq!(avg(Some(1)), [5.0, 50.0, 5.0]);
    // Window average over present values; an all-missing window falls back to naive.
    let h = [1.0, NAN, 3.0, NAN];
    let w = |window| Baseline::WindowAverage { window }.forecast(&h, 1).unwrap()[0];
    assert_eq!((w(3), w(2), w(1), w(10)), (3.0, 3.0, 3.0, 2.0));
    // Seasonal naive on less than a season: observed phases keep their place.
    let f = Baseline::SeasonalNaive { period: 5 }
        .forecast(&[1.0, 2.0], 6)
        .unwrap();
    assert_eq!(f, [2.0, 2.0, 2.0, 1.0, 2.0, 2.0]);
}

#[test]
fn baselines_refuse_bad_input() {
    let ok = [1.0, 2.0, 3.0];
    let msg = invalid(Baseline::Naive.forecast(&[], 1));
    assert!(msg.contains("empty"), "{msg}");
    let msg = invalid(Baseline::SeasonalNaive { period: 2 }.forecast(&[NAN, NAN], 1));
    assert!(msg.contains("missing"), "{msg}");
    invalid(Baseline::Naive.forecast(&[1.0, f64::INFINITY], 1));
    let msg = invalid(Baseline::Naive.forecast(&ok, 0));
    assert!(msg.contains("horizon"), "{msg}");
    invalid(Baseline::Naive.forecast(&ok, MAX_HORIZON + 1));
    assert_eq!(Baseline::Naive.forecast(&ok, 5).unwrap().len(), 5);
    let msg = invalid(Baseline::SeasonalNaive { period: 0 }.forecast(&ok, 1));
    assert!(msg.contains("period"), "{msg}");
    invalid(
        Baseline::SeasonalAverage {
            period: 0,
            seasons: None,
        }
        .forecast(&ok, 1),
    );
    invalid(
        Baseline::SeasonalAverage {
            period: 2,
            seasons: Some(0),
        }
        .forecast(&ok, 1),
    );
    invalid(Baseline::WindowAverage { window: 0 }.forecast(&ok, 1));
    // A huge period is not an allocation: only the phases the horizon reaches are computed.
    let f = Baseline::SeasonalNaive { period: usize::MAX }
        .forecast(&ok, 2)
        .unwrap();
    assert_eq!(f, [3.0, 3.0]);
}

#[test]
fn baselines_have_stable_names_and_json() {
    let b = Baseline::SeasonalAverage {
        period: 168,
        seasons: Some(4),
    };
    assert_eq!(b.name(), "seasonal_average_168x4");
    let json = serde_json::to_string(&b).unwrap();
    assert_eq!(
        json,
        r#"{"kind":"seasonal_average","period":168,"seasons":4}"#
    );
    assert_eq!(serde_json::from_str::<Baseline>(&json).unwrap(), b);
    let n: Baseline = serde_json::from_str(r#"{"kind":"naive"}"#).unwrap();
    assert_eq!(n, Baseline::Naive);
    let s: Baseline = serde_json::from_str(r#"{"kind":"seasonal_naive","period":24}"#).unwrap();
    assert_eq!(s.name(), "seasonal_naive_24");
    assert_eq!(
        Baseline::WindowAverage { window: 24 }.name(),
        "window_average_24"
    );
    assert_eq!(
        Baseline::SeasonalAverage {
            period: 24,
            seasons: None
        }
        .name(),
        "seasonal_average_24"
    );
    assert_eq!(Baseline::standard_set(&[]), vec![Baseline::Naive]);
    assert_eq!(Baseline::standard_set(&[0, 7, 7]).len(), 4);
}

#[test]
fn metrics_by_hand_with_missing_and_zero_values() {
    let a = [2.0, NAN, 0.0, 4.0, 5.0];
    let f = [1.0, 3.0, 1.0, 4.0, NAN];
    // Complete pairs: (2,1), (0,1), (4,4).
    assert!(close(mae(&a, &f).unwrap(), 2.0 / 3.0, 1e-15));
    assert!(close(rmse(&a, &f).unwrap(), (2.0f64 / 3.0).sqrt(), 1e-15));
    // mape skips the zero actual: (1/2 + 0) / 2.
    assert!(close(mape(&a, &f).unwrap(), 0.25, 1e-15));
    // smape: 1/3, 1, 0 -> 4/9.
    assert!(close(smape(&a, &f).unwrap(), 4.0 / 9.0, 1e-15));
    assert_eq!(smape(&[0.0], &[0.0]).unwrap(), 0.0);
    assert!(close(mase(&a, &f, 2.0).unwrap(), 1.0 / 3.0, 1e-15));
    // Scale: pairs 2 apart (3,1)->2, (NaN,5) skipped, (1,7)->6 -> 4.
    assert_eq!(mase_scale(&[3.0, NAN, 1.0, 5.0, 7.0], 2).unwrap(), 4.0);
    let m = ForecastMetrics::compute(&a, &f, None).unwrap();
    assert_eq!((m.n, m.mase), (3, None));
    // All actuals zero: mape is undefined.
    invalid(mape(&[0.0, 0.0], &[1.0, 2.0]));
    let m = ForecastMetrics::compute(&[0.0, 0.0], &[1.0, 0.0], Some(0.0)).unwrap();
    assert_eq!((m.mape, m.mase, m.smape), (None, None, 0.5));
    let json = serde_json::to_value(m).unwrap();
    assert_eq!(json["mape"], Value::Null);
    // Coverage: bounds inclusive, NaN triples skipped.
    let c = coverage(
        &[1.0, 2.0, 3.0, NAN, 10.0],
        &[1.0, 0.0, 3.5, 0.0, 0.0],
        &[1.0, 1.0, 4.0, 1.0, NAN],
    );
    assert!(close(c.unwrap(), 1.0 / 3.0, 1e-15));
}

#[test]
fn metrics_refuse_bad_input() {
    let msg = invalid(mae(&[1.0, 2.0], &[1.0]));
    assert!(msg.contains("2") && msg.contains("1"), "{msg}");
    invalid(rmse(&[], &[]));
    let msg = invalid(smape(&[NAN, 1.0], &[1.0, NAN]));
    assert!(msg.contains("NaN"), "{msg}");
    invalid(mae(&[f64::INFINITY], &[1.0]));
    invalid(mase(&[1.0], &[1.0], 0.0));
    invalid(mase(&[1.0], &[1.0], NAN));
    invalid(mase(&[1.0], &[1.0], -1.0));
    invalid(mase_scale(&[1.0, 2.0], 0));
    invalid(mase_scale(&[1.0, 2.0], 2));
    invalid(mase_scale(&[1.0, NAN, 3.0], 1));
    invalid(ForecastMetrics::compute(&[1.0], &[1.0], Some(-2.0)));
    invalid(coverage(&[1.0], &[2.0], &[0.0]));
    invalid(coverage(&[1.0], &[0.0], &[2.0, 3.0]));
    invalid(coverage(&[NAN], &[0.0], &[2.0]));
}

fn normal_samples(n: usize, sigma: f64, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let normal = Normal::new(0.0, sigma).unwrap();
    (0..n).map(|_| normal.sample(&mut rng)).collect()
}

#[test]
fn conformal_widths_and_coverage_on_normal_residuals() {
    let sigmas = [1.0, 2.0, 3.5];
    let residuals: Vec<Vec<f64>> = sigmas
        .iter()
        .enumerate()
        .map(|(h, &s)| normal_samples(2000, s, 10 + h as u64))
        .collect();
    let c = Conformal::fit(&residuals).unwrap();
    assert_eq!(c.steps(), 3);
    for (h, &s) in sigmas.iter().enumerate() {
        let step = h + 1;
        assert_eq!(c.residual_count(step), 2000);
        for (level, z) in [(0.8, 1.2815516), (0.95, 1.9599640)] {
            let w = c.half_width(step, level);
            assert!(
                (w / (z * s) - 1.0).abs() < 0.05,
                "step {step} level {level}: {w} vs {}",
                z * s
            );
            assert!(c.guaranteed(step, level));
            // Fresh samples from the same distribution are covered at about the level.
            let fresh = normal_samples(20_000, s, 100 + h as u64);
            let inside = fresh.iter().filter(|r| r.abs() <= w).count() as f64;
            let cov = inside / fresh.len() as f64;
            assert!(
                (cov - level).abs() < 0.02,
                "step {step} level {level}: {cov}"
            );
        }
    }
    // Beyond the calibrated steps: last width times sqrt(h / H).
    let w3 = c.half_width(3, 0.8);
    assert!(close(c.half_width(12, 0.8), 2.0 * w3, 1e-15));
    assert_eq!(c.residual_count(12), 0);
    assert!(!c.guaranteed(12, 0.8));
}

#[test]
fn conformal_rank_borrowing_and_missing_residuals() {
    // 19 residuals 1..=19 (mixed signs) and NaNs that are skipped.
    let mut r: Vec<f64> = (1..=19)
        .map(|i| if i % 3 == 0 { -(i as f64) } else { i as f64 })
        .collect();
    r.extend([NAN, NAN]);
    let c = Conformal::fit(&[r]).unwrap();
    assert_eq!(c.residual_count(1), 19);
    assert_eq!(c.half_width(1, 0.5), 10.0); // ceil(20 × 0.5) = 10
    assert_eq!(c.half_width(1, 0.95), 19.0); // ceil(20 × 0.95) = 19, exact despite rounding
    assert!(c.guaranteed(1, 0.95));
    assert_eq!(c.half_width(1, 0.96), 19.0); // rank 20 > 19: the maximum, not guaranteed
    assert!(!c.guaranteed(1, 0.96));

    // Step 2 has 5 residuals (< 20): it pools steps 1 and 3; steps 1 and 3 keep their own.
    let c = Conformal::fit(&[vec![1.0; 30], vec![100.0; 5], vec![-3.0; 30]]).unwrap();
    assert_eq!(c.residual_count(2), 5);
    assert_eq!(c.half_width(1, 0.99), 1.0);
    assert_eq!(c.half_width(3, 0.99), 3.0);
    // Pool of 65 sorted: 30 × 1, 30 × 3, 5 × 100; rank ceil(66 × 0.5) = 33 -> 3.
    assert_eq!(c.half_width(2, 0.5), 3.0);
    assert_eq!(c.half_width(2, 0.95), 100.0); // rank 63
                                              // A step with no residual at all borrows too.
    let c = Conformal::fit(&[vec![2.0; 25], vec![NAN; 4]]).unwrap();
    assert_eq!((c.residual_count(2), c.half_width(2, 0.8)), (0, 2.0));

    let (lo, hi) = c.interval(&[10.0, NAN, 10.0], 0.8).unwrap();
    assert_eq!(lo[0], 8.0);
    assert!(lo[1].is_nan() && hi[1].is_nan());
    assert!(close(hi[2], 10.0 + 2.0 * 1.5f64.sqrt(), 1e-15));
}

#[test]
fn conformal_serde_round_trip_and_bad_input() {
    let residuals = vec![normal_samples(50, 1.0, 1), normal_samples(3, 2.0, 2)];
    let c = Conformal::fit(&residuals).unwrap();
    let json = serde_json::to_string(&c).unwrap();
    let back: Conformal = serde_json::from_str(&json).unwrap();
    assert_eq!(back, c);
    for step in 1..5 {
        assert_eq!(back.half_width(step, 0.9), c.half_width(step, 0.9));
    }
    // Damaged serialised forms are refused, not trusted.
    for bad in [
        r#"{"abs_residuals":[],"own_counts":[]}"#,
        r#"{"abs_residuals":[[1.0,-2.0]],"own_counts":[2]}"#,
        r#"{"abs_residuals":[[]],"own_counts":[0]}"#,
        r#"{"abs_residuals":[[1.0]],"own_counts":[1,2]}"#,
    ] {
        assert!(serde_json::from_str::<Conformal>(bad).is_err(), "{bad}");
    }

    let msg = invalid(Conformal::fit(&[]));
    assert!(msg.contains("no horizon"), "{msg}");
    let msg = invalid(Conformal::fit(&[vec![NAN; 3], vec![]]));
    assert!(msg.contains("missing"), "{msg}");
    invalid(Conformal::fit(&[vec![1.0, f64::NEG_INFINITY]]));
    for level in [0.0, 1.0, NAN, -0.5, 1.5] {
        assert!(c.half_width(1, level).is_nan(), "level {level}");
        invalid(c.try_half_width(1, level));
        assert!(!c.guaranteed(1, level));
    }
    assert!(c.half_width(0, 0.8).is_nan());
    let msg = invalid(c.try_half_width(0, 0.8));
    assert!(msg.contains("step 0"), "{msg}");
    invalid(c.interval(&[1.0], 1.0));
}

/// (hour, weekday) of period i of a history starting on a Monday at midnight.
fn calendar(len: usize, first: usize) -> (Vec<u8>, Vec<u8>) {
    let hours = (first..first + len).map(|i| (i % 24) as u8).collect();
    let days = (first..first + len).map(|i| ((i / 24) % 7) as u8).collect();
    (hours, days)
}

#[test]
fn fallback_profile_by_hand() {
    // level 5; hour 0: (2+6)/2 = 4 -> 0.8, hour 1: 6 -> 1.2; Monday 3 -> 0.6, Tuesday 7 -> 1.4.
    let p = FallbackProfile::fit(
        &[2.0, 4.0, 6.0, 8.0, NAN],
        &[0, 1, 0, 1, 5],
        &[0, 0, 1, 1, 2],
    )
    .unwrap();
    assert_eq!((p.level(), p.observations()), (5.0, 4));
    assert!(close(p.predict(0, 0), 2.4, 1e-15));
    assert!(close(p.predict(1, 1), 8.4, 1e-15));
    // Hour 5 only had a NaN and Sunday nothing: multiplier 1.
    assert_eq!(p.hour_multipliers()[5], 1.0);
    assert!(close(p.predict(5, 6), 5.0, 1e-15));
    // Uneven days: Monday 3 / 4 = 0.75, Tuesday 6 / 4 = 1.5, rescaled by 2 / 2.25 so the
    // week averages 1: 2/3 and 4/3.
    let p = FallbackProfile::fit(&[2.0, 4.0, 6.0], &[0, 1, 0], &[0, 0, 1]).unwrap();
    assert!(close(p.weekday_multipliers()[0], 2.0 / 3.0, 1e-15));
    assert!(close(p.weekday_multipliers()[1], 4.0 / 3.0, 1e-15));
    assert!(close(p.predict(0, 0), 8.0 / 3.0, 1e-15));
    let (h, d): (Vec<u8>, Vec<u8>) = (0..168).map(|i| ((i % 24) as u8, (i / 24) as u8)).unzip();
    let week = p.predict_many(&h, &d).unwrap();
    assert!(close(week.iter().sum::<f64>() / 168.0, p.level(), 1e-12));
    // Zero level works.
    let p = FallbackProfile::fit(&[0.0; 30], &[3; 30], &[2; 30]).unwrap();
    assert_eq!((p.predict(3, 2), p.predict(4, 5)), (0.0, 0.0));
}

#[test]
fn fallback_on_whole_weeks_is_the_plain_rule_and_on_gaps_keeps_the_weekly_mean() {
    let values: Vec<f64> = (0..2 * 168)
        .map(|i| 10.0 + (i % 24) as f64 + 3.0 * ((i / 24) % 7) as f64 + (i % 5) as f64)
        .collect();
    let (h, d) = calendar(values.len(), 0);
    let p = FallbackProfile::fit(&values, &h, &d).unwrap();
    let level = values.iter().sum::<f64>() / values.len() as f64;
    assert!(close(p.level(), level, 1e-15));
    // Raw ratios, no rescaling needed: hour 7 and Wednesday.
    let at = |f: &dyn Fn(usize) -> bool| {
        let v: Vec<f64> = (0..values.len())
            .filter(|&i| f(i))
            .map(|i| values[i])
            .collect();
        v.iter().sum::<f64>() / v.len() as f64 / level
    };
    assert!(close(p.hour_multipliers()[7], at(&|i| i % 24 == 7), 1e-12));
    assert!(close(
        p.weekday_multipliers()[2],
        at(&|i| (i / 24) % 7 == 2),
        1e-12
    ));
    // 10 days with a gap, starting on a Thursday at 05:00: weekly mean of predictions = level.
    let mut values: Vec<f64> = (0..240)
        .map(|i| 5.0 + (i % 24) as f64 * 0.5 + (i % 7) as f64)
        .collect();
    values[50..90].iter_mut().for_each(|v| *v = NAN);
    let (h, d) = calendar(values.len(), 3 * 24 + 5);
    let p = FallbackProfile::fit(&values, &h, &d).unwrap();
    let (wh, wd) = calendar(168, 0);
    let week = p.predict_many(&wh, &wd).unwrap();
    assert!(close(week.iter().sum::<f64>() / 168.0, p.level(), 1e-12));
    assert!(close(p.hour_multipliers().iter().sum::<f64>(), 24.0, 1e-12));
    assert!(close(
        p.weekday_multipliers().iter().sum::<f64>(),
        7.0,
        1e-12
    ));
}

#[test]
fn fallback_serde_and_bad_input() {
    let p = FallbackProfile::fit(&[1.0, 3.0], &[0, 1], &[0, 0]).unwrap();
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<FallbackProfile>(&json).unwrap(), p);
    let short = json.replacen("[", "[1.0,", 1); // 25 hour multipliers
    assert!(serde_json::from_str::<FallbackProfile>(&short).is_err());

    let msg = invalid(FallbackProfile::fit(&[NAN, NAN], &[0, 1], &[0, 0]));
    assert!(msg.contains("missing"), "{msg}");
    invalid(FallbackProfile::fit(&[], &[], &[]));
    invalid(FallbackProfile::fit(&[1.0], &[0, 1], &[0]));
    invalid(FallbackProfile::fit(&[1.0], &[24], &[0]));
    invalid(FallbackProfile::fit(&[1.0], &[0], &[7]));
    invalid(FallbackProfile::fit(&[f64::INFINITY], &[0], &[0]));
    assert!(p.predict(24, 0).is_nan() && p.predict(0, 7).is_nan());
    invalid(p.predict_many(&[24], &[0]));
    invalid(p.predict_many(&[1, 2], &[0]));
}
