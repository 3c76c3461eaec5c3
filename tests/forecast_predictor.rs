//! UsagePredictor end to end: accuracy against seasonal naive, determinism, persistence,
//! regimes, interval coverage, global models and bad input.

mod common;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tenantml::data::series::{Series, SeriesOptions};
use tenantml::forecast::backtest::{backtest, BacktestOptions};
use tenantml::forecast::baselines::Baseline;
use tenantml::forecast::handover::Regime;
use tenantml::forecast::metrics::mae;
use tenantml::forecast::predict::fallback_forecast;
use tenantml::forecast::predictor::{ForecastParams, UsagePredictor};
use tenantml::Error;

use common::usage::{series, usage, HOUR, START};

fn quick_params() -> ForecastParams {
    let mut p = ForecastParams::default();
    p.model.gbdt.rounds = 80;
    p.model.forest.trees = 20;
    p
}

#[test]
fn beats_seasonal_naive_on_a_weekly_pattern() {
    let v = usage(70, 100.0, 1);
    let (train, test) = v.split_at(v.len() - 48);
    let p = UsagePredictor::fit(&[series(train, START)], &quick_params()).unwrap();
    assert!(p.periods().contains(&24) && p.periods().contains(&168));
    let f = p
        .forecast(&series(train, START), 48, &[80.0, 95.0])
        .unwrap();
    assert_eq!(f.regime, Regime::Model);
    assert_eq!(f.points.len(), 48);
    assert_eq!(f.points[0].timestamp, START + train.len() as i64 * HOUR);
    let model_mae = mae(test, &f.values()).unwrap();
    let naive = Baseline::SeasonalNaive { period: 24 }
        .forecast(train, 48)
        .unwrap();
    let naive_mae = mae(test, &naive).unwrap();
    assert!(
        model_mae < naive_mae,
        "model MAE {model_mae} vs seasonal naive {naive_mae}"
    );
    for p in &f.points {
        assert!(p.lower[0] <= p.forecast && p.forecast <= p.upper[0]);
        assert!(p.lower[1] <= p.lower[0] && p.upper[1] >= p.upper[0]);
    }
}

#[test]
fn same_seed_same_forecast_and_bytes_round_trip() {
    let v = usage(40, 20.0, 2);
    let s = series(&v, START);
    let a = UsagePredictor::fit(std::slice::from_ref(&s), &quick_params()).unwrap();
    let b = UsagePredictor::fit(std::slice::from_ref(&s), &quick_params()).unwrap();
    let fa = a.forecast(&s, 30, &[90.0]).unwrap();
    assert_eq!(fa, b.forecast(&s, 30, &[90.0]).unwrap());

    let bytes = a.to_bytes().unwrap();
    let back = UsagePredictor::from_bytes(&bytes).unwrap();
    assert_eq!(fa, back.forecast(&s, 30, &[90.0]).unwrap());
    assert_eq!(back.feature_spec(), a.feature_spec());

    for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
        assert!(matches!(
            UsagePredictor::from_bytes(&bytes[..cut]),
            Err(Error::BadModelFile(_))
        ));
    }
    let mut flipped = bytes.clone();
    let at = bytes.len() / 3;
    flipped[at] ^= 0x10;
    assert!(matches!(
        UsagePredictor::from_bytes(&flipped),
        Err(Error::BadModelFile(_))
    ));
    // A tree model file is not a predictor.
    let tree_bytes = a.model().to_bytes().unwrap();
    let err = UsagePredictor::from_bytes(&tree_bytes)
        .unwrap_err()
        .to_string();
    assert!(err.contains("tree-model"), "{err}");
}

#[test]
fn direct_steps_forecast_the_first_steps_and_persist() {
    let v = usage(42, 50.0, 5);
    let (train, test) = v.split_at(v.len() - 24);
    let s = series(train, START);
    let mut params = quick_params();
    params.model.gbdt.rounds = 40;
    params.model.forest.trees = 10;
    params.direct_steps = 6;
    let direct = UsagePredictor::fit(std::slice::from_ref(&s), &params).unwrap();
    params.direct_steps = 0;
    let recursive = UsagePredictor::fit(std::slice::from_ref(&s), &params).unwrap();
    let fd = direct.forecast(&s, 24, &[80.0]).unwrap();
    let fr = recursive.forecast(&s, 24, &[80.0]).unwrap();
    assert_eq!(fd.points.len(), 24);
    assert!(fd
        .points
        .iter()
        .all(|p| p.forecast.is_finite() && p.lower[0] <= p.upper[0]));
    // The direct steps answer differently from the recursive ones.
    assert!((1..6).any(|h| fd.points[h].forecast != fr.points[h].forecast));
    // Both track the held-out day about equally well (within 25% of each other's MAE).
    let err = |f: &tenantml::forecast::Forecast| {
        let p: Vec<f64> = f.points.iter().map(|p| p.forecast).collect();
        mae(test, &p).unwrap()
    };
    let (ed, er) = (err(&fd), err(&fr));
    assert!(
        ed < 1.25 * er && er < 1.25 * ed,
        "direct {ed} recursive {er}"
    );
    // The direct models are saved with the predictor.
    let back = UsagePredictor::from_bytes(&direct.to_bytes().unwrap()).unwrap();
    assert_eq!(back.forecast(&s, 24, &[80.0]).unwrap(), fd);
    // Bounded, and validated.
    let err = ForecastParams::from_json(r#"{"direct_steps": 169}"#)
        .and_then(|p| UsagePredictor::fit(std::slice::from_ref(&s), &p).map(|_| ()))
        .unwrap_err();
    assert!(err.to_string().contains("direct_steps"), "{err}");
}

#[test]
fn every_history_length_has_a_regime() {
    // A global model on 12 tenants of different sizes.
    let tenants: Vec<Series> = (0..12)
        .map(|i| series(&usage(60, 5.0 * (i + 1) as f64, 100 + i as u64), START))
        .collect();
    let mut params = quick_params();
    params.name = "usage-global".into();
    params.version = 7;
    let p = UsagePredictor::fit(&tenants, &params).unwrap();
    let info: serde_json::Value = serde_json::from_str(&p.info_json().unwrap()).unwrap();
    assert!(!info["handover_schedule"].as_array().unwrap().is_empty());
    let new = usage(90, 40.0, 999);
    let at = START + 60 * 24 * HOUR;
    for days in [0usize, 1, 7, 90] {
        let f = p
            .forecast_values(at, &new[..days * 24], 24, &[80.0])
            .unwrap();
        // A learned weight of 0 leaves the answer to the prior (scaled to the tenant).
        let expected = match f.model_weight {
            w if w <= 0.0 => Regime::ColdStartPrior,
            w if w >= 1.0 => Regime::Model,
            _ => Regime::Blended,
        };
        assert!(days > 0 || f.model_weight == 0.0);
        assert_eq!(f.regime, expected, "{days} days, weight {}", f.model_weight);
        assert_eq!(f.model_name, "usage-global");
        assert_eq!(f.model_version, 7);
        assert_eq!(f.points.len(), 24);
        assert_eq!(f.points[0].timestamp, at + (days * 24) as i64 * HOUR);
        assert!(f
            .points
            .iter()
            .all(|p| p.forecast.is_finite() && p.forecast >= 0.0));
        assert!((f.history_days - days as f64).abs() < 1e-9);
    }
    assert_eq!(
        p.forecast_values(at, &new, 24, &[]).unwrap().regime,
        Regime::Model
    );
    // The fixed rule blends over the first `handover_days` days.
    params.learn_handover = false;
    let fixed = UsagePredictor::fit(&tenants, &params).unwrap();
    for (days, regime) in [
        (1usize, Regime::Blended),
        (7, Regime::Blended),
        (14, Regime::Model),
    ] {
        let f = fixed
            .forecast_values(at, &new[..days * 24], 24, &[80.0])
            .unwrap();
        assert_eq!(f.regime, regime, "{days} days");
    }
    // After a week the level is the tenant's own (40 x ~1 on average), not the population's.
    let week = p.forecast_values(at, &new[..7 * 24], 168, &[]).unwrap();
    let mean = week.values().iter().sum::<f64>() / 168.0;
    assert!((20.0..60.0).contains(&mean), "mean forecast {mean}");
}

#[test]
fn fallback_says_so_and_follows_the_clock() {
    let v = usage(21, 10.0, 3);
    let s = series(&v, START);
    let f = fallback_forecast(&s, 24, &[80.0], None, "rules", 1).unwrap();
    assert_eq!(f.regime, Regime::Fallback);
    // 21 days end on a Monday 00:00: business hours are busier than the night.
    assert!(f.points[10].forecast > 2.0 * f.points[2].forecast);
    // In New York (UTC-5 in January) the busy hours move five hours later in UTC.
    let ny = fallback_forecast(&s, 24, &[80.0], Some("America/New_York"), "rules", 1).unwrap();
    assert!(ny.points.iter().all(|p| p.forecast.is_finite()));
    assert!(fallback_forecast(&s, 24, &[80.0], Some("Mars/Olympus"), "rules", 1).is_err());
}

#[test]
fn intervals_cover_their_level_on_held_out_windows() {
    let tenants: Vec<Series> = (0..10)
        .map(|i| series(&usage(56, 10.0 + 3.0 * i as f64, 300 + i as u64), START))
        .collect();
    let options = BacktestOptions {
        horizon: 24,
        windows: 5,
        step: Some(24),
        refit: false,
        levels: vec![80.0, 95.0],
    };
    let report = backtest(&tenants, &quick_params(), &options).unwrap();
    let model = report.method("model").unwrap();
    assert!(model.metrics.n >= 1000, "{} points", model.metrics.n);
    let c80 = model.coverage[0].1;
    let c95 = model.coverage[1].1;
    eprintln!(
        "coverage over {} points: 80% -> {c80:.3}, 95% -> {c95:.3}",
        model.metrics.n
    );
    assert!((0.75..=0.85).contains(&c80), "80% interval covered {c80}");
    assert!((0.90..=1.0).contains(&c95), "95% interval covered {c95}");
    assert!(report.method("seasonal_naive_24").is_some());
    assert!(report.method("naive").is_some());
    assert!(report.method("fallback_rule").is_some());
}

#[test]
fn history_with_gaps_and_unsorted_duplicates_forecasts() {
    let v = usage(30, 10.0, 4);
    let p = UsagePredictor::fit(&[series(&v, START)], &quick_params()).unwrap();
    // Shuffle, duplicate one hour (split in two halves that sum), drop 30 hours.
    let mut rng = StdRng::seed_from_u64(5);
    let mut points: Vec<(i64, f64)> = v
        .iter()
        .enumerate()
        .filter(|(i, _)| !(100..130).contains(i))
        .map(|(i, &x)| (START + i as i64 * HOUR, x))
        .collect();
    let (t0, x0) = points[5];
    points[5].1 = x0 / 2.0;
    points.push((t0, x0 / 2.0));
    for i in (1..points.len()).rev() {
        points.swap(i, rng.gen_range(0..=i));
    }
    let (t, x): (Vec<i64>, Vec<f64>) = points.into_iter().unzip();
    let messy = Series::new(&t, &x, &SeriesOptions::default()).unwrap();
    let clean = series(&v, START);
    let a = p.forecast(&messy, 24, &[80.0]).unwrap();
    let b = p.forecast(&clean, 24, &[80.0]).unwrap();
    assert_eq!(a.points[0].timestamp, b.points[0].timestamp);
    let diff = mae(&a.values(), &b.values()).unwrap();
    assert!(diff < 1.0, "gap changed the forecast by {diff}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let v = usage(20, 10.0, 6);
    let s = series(&v, START);
    let p = UsagePredictor::fit(std::slice::from_ref(&s), &quick_params()).unwrap();
    let msg = |r: Result<_, Error>| {
        r.map(|_: tenantml::forecast::predict::Forecast| ())
            .unwrap_err()
            .to_string()
    };
    assert!(msg(p.forecast(&s, 0, &[80.0])).contains("horizon"));
    assert!(msg(p.forecast(&s, 10_000_000, &[80.0])).contains("horizon"));
    assert!(msg(p.forecast(&s, 5, &[100.0])).contains("levels"));
    assert!(msg(p.forecast(&s, 5, &[f64::NAN])).contains("levels"));
    assert!(msg(p.forecast_values(START, &[1.0, f64::INFINITY], 5, &[])).contains("infinite"));
    for days in [f64::NAN, f64::INFINITY, -1.0] {
        let r = p.forecast_values_aged(START, &v, 5, &[], days);
        assert!(msg(r).contains("days of data"), "{days}");
    }
    assert!(msg(p.forecast_values(i64::MAX - 10, &[], 5, &[])).contains("0000-9999"));
    assert!(msg(p.forecast_values(i64::MIN, &[1.0], 5, &[])).contains("0000-9999"));
    let daily = Series::new(
        &[0, 86_400, 172_800],
        &[1.0, 2.0, 3.0],
        &SeriesOptions::default(),
    )
    .unwrap();
    assert!(msg(p.forecast(&daily, 5, &[])).contains("frequency"));
    assert!(UsagePredictor::fit(&[], &ForecastParams::default()).is_err());
    let one = series(&[5.0], START);
    let mut params = quick_params();
    params.synthetic_tenants = Some(0);
    assert!(UsagePredictor::fit(&[one], &params).is_err());
    let nan = series(&[f64::NAN; 48], START);
    let err = UsagePredictor::fit(&[nan], &params)
        .unwrap_err()
        .to_string();
    assert!(err.contains("present values"), "{err}");
    assert!(ForecastParams::from_json(r#"{"levels":[0]}"#).is_err());
    assert!(ForecastParams::from_json("{not json").is_err());
}

#[test]
fn a_platform_with_no_data_starts_from_synthetic_tenants() {
    let mut params = quick_params();
    params.frequency = Some(HOUR);
    params.synthetic_tenants = Some(8);
    let p = UsagePredictor::fit(&[], &params).unwrap();
    assert_eq!(p.summary().synthetic_series, 8);
    let f = p.forecast_values(START, &[], 24, &[80.0]).unwrap();
    assert_eq!(f.regime, Regime::ColdStartPrior);
    let f = p
        .forecast_values(START, &usage(3, 10.0, 7), 24, &[80.0])
        .unwrap();
    assert_eq!(f.regime, Regime::Blended);
}

#[test]
fn too_short_to_calibrate_still_gives_finite_intervals() {
    // Ten hours: no calibration window fits, synthetic tenants fill the training set.
    let v: Vec<f64> = (0..10).map(|i| 5.0 + (i % 3) as f64).collect();
    let p = UsagePredictor::fit(&[series(&v, START)], &quick_params()).unwrap();
    assert_eq!(p.summary().calibration_windows, 0);
    assert!(p.summary().synthetic_series > 0);
    let f = p.forecast(&series(&v, START), 6, &[80.0, 95.0]).unwrap();
    for pt in &f.points {
        assert!(
            pt.upper.iter().chain(&pt.lower).all(|b| b.is_finite()),
            "{pt:?}"
        );
        assert!(pt.lower[1] <= pt.lower[0] && pt.upper[0] <= pt.upper[1]);
    }
}

#[test]
fn the_predictor_file_carries_a_drift_reference_of_its_features() {
    use tenantml::drift::DriftConfig;
    let v = usage(35, 20.0, 4);
    let p = UsagePredictor::fit(&[series(&v, START)], &quick_params()).unwrap();
    let reference = p.drift_reference().unwrap().expect("stored at fit");
    let names: Vec<String> = reference
        .features
        .features()
        .iter()
        .map(|f| f.name.clone())
        .collect();
    // The data features; calendar ones follow the clock and are left out.
    let data: Vec<String> = p
        .feature_spec()
        .names()
        .into_iter()
        .filter(|n| !n.starts_with("cal_"))
        .collect();
    assert_eq!(names, data);
    // Forecast-model outputs are in the target transform's units: no prediction reference.
    assert!(reference.predictions.is_none());
    let back = UsagePredictor::from_bytes(&p.to_bytes().unwrap()).unwrap();
    assert_eq!(back.drift_reference().unwrap(), Some(reference));

    let config = DriftConfig::default();
    // Three more weeks of the same tenant (another seed, ten times the level).
    let same = usage(21, 200.0, 9);
    let report = p
        .feature_drift(&series(&same, START + 35 * 24 * HOUR), &config)
        .unwrap();
    assert!(!report.dataset_drift, "{}", report.to_json().unwrap());
    // The business-day rhythm is gone: flat usage with noise.
    let flat: Vec<f64> = usage(21, 20.0, 9)
        .iter()
        .enumerate()
        .map(|(i, _)| 20.0 + (i % 5) as f64 * 0.1)
        .collect();
    let report = p.feature_drift(&series(&flat, START), &config).unwrap();
    assert!(report.dataset_drift && report.share_drifted > 0.5);

    let daily_series = Series::new(
        &[START, START + 86_400],
        &[1.0, 2.0],
        &SeriesOptions::default(),
    )
    .unwrap();
    let err = p
        .feature_drift(&daily_series, &config)
        .unwrap_err()
        .to_string();
    assert!(err.contains("frequency"), "{err}");
}

#[test]
fn a_predictor_without_a_reference_says_so() {
    use tenantml::drift::{DriftConfig, MODEL_REFERENCE_KEY};
    let v = usage(35, 20.0, 4);
    let mut p = UsagePredictor::fit(&[series(&v, START)], &quick_params()).unwrap();
    p.metadata_mut().extra.remove(MODEL_REFERENCE_KEY);
    let err = p
        .feature_drift(&series(&v, START), &DriftConfig::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no drift reference"), "{err}");
    // A damaged section is a parse error, not a silent "none".
    p.metadata_mut().extra.insert(
        MODEL_REFERENCE_KEY.into(),
        serde_json::json!({"features": 3}),
    );
    assert!(matches!(p.drift_reference(), Err(Error::Parse(_))));
}

#[test]
fn a_baseline_that_calibrates_better_is_combined_unless_turned_off() {
    let combination = |params: &ForecastParams| {
        let v = usage(21, 10.0, 21);
        let p = UsagePredictor::fit(&[series(&v, START)], params).unwrap();
        let info: serde_json::Value = serde_json::from_str(&p.info_json().unwrap()).unwrap();
        info["baseline_combination"].clone()
    };
    // Three weeks of a clean weekly rhythm: last week's values calibrate better than a
    // model fitted on two and a half weeks.
    let chosen = combination(&quick_params());
    assert!(chosen["model_weight"].as_f64().unwrap() < 1.0, "{chosen}");
    assert!(chosen["baseline"].is_object(), "{chosen}");
    let mut alone = quick_params();
    alone.combine_baselines = false;
    let chosen = combination(&alone);
    assert_eq!(chosen["model_weight"].as_f64(), Some(1.0), "{chosen}");
    assert!(chosen["baseline"].is_null(), "{chosen}");
}
