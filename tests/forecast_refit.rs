//! UsagePredictor::refit: the final model fitted again on new data, everything chosen at
//! fit time kept.

mod common;

use tenantml::data::series::{Series, SeriesOptions};
use tenantml::forecast::handover::Regime;
use tenantml::forecast::predictor::{ForecastParams, UsagePredictor};
use tenantml::Error;

use common::usage::{series, usage, START};

/// Small models and few calibration windows: the fit stays fast.
fn small_params() -> ForecastParams {
    let mut p = ForecastParams::default();
    p.model.gbdt.rounds = 30;
    p.model.forest.trees = 10;
    p.calibration_windows = Some(6);
    p
}

/// Half widths of the model's intervals (upper minus forecast), per point and level. The
/// tenant is aged a year so the model answers alone: a blend with the cold-start prior
/// would mix in the prior's widths, which `refit` re-estimates.
fn half_widths(p: &UsagePredictor, history: &Series) -> Vec<Vec<f64>> {
    let f = (p.forecast_values_aged(history.start(), history.values(), 24, &[80.0, 95.0], 365.0))
        .unwrap();
    assert_eq!(f.regime, Regime::Model);
    (f.points.iter())
        .map(|pt| pt.upper.iter().map(|u| u - pt.forecast).collect())
        .collect()
}

#[test]
fn refit_on_the_same_series_is_the_same_predictor() {
    let s = series(&usage(35, 20.0, 1), START);
    let mut params = small_params();
    params.direct_steps = 3;
    let fitted = UsagePredictor::fit(std::slice::from_ref(&s), &params).unwrap();
    let refitted = fitted.refit(std::slice::from_ref(&s)).unwrap();
    let levels = [80.0, 95.0];
    assert_eq!(
        fitted.forecast(&s, 48, &levels).unwrap(),
        refitted.forecast(&s, 48, &levels).unwrap()
    );
    assert_eq!(refitted.summary(), fitted.summary());
    assert_eq!(refitted.metadata(), fitted.metadata());
    assert_eq!(
        refitted.model().to_bytes().unwrap(),
        fitted.model().to_bytes().unwrap()
    );
    // Same data, same seed: the whole file is the same, byte for byte.
    assert_eq!(refitted.to_bytes().unwrap(), fitted.to_bytes().unwrap());
}

#[test]
fn refit_on_more_data_changes_the_model_and_keeps_the_choices() {
    let five_weeks = series(&usage(35, 20.0, 2), START);
    let seven_weeks = series(&usage(49, 20.0, 2), START);
    assert_eq!(
        &seven_weeks.values()[..five_weeks.len()],
        five_weeks.values()
    );
    let mut fitted =
        UsagePredictor::fit(std::slice::from_ref(&five_weeks), &small_params()).unwrap();
    fitted.metadata_mut().version = Some(7);
    let refitted = fitted.refit(std::slice::from_ref(&seven_weeks)).unwrap();

    let (before, after) = (fitted.summary(), refitted.summary());
    assert!(
        after.rows > before.rows,
        "{} -> {}",
        before.rows,
        after.rows
    );
    assert_eq!(after.series, 1);
    assert_eq!(after.calibration_windows, before.calibration_windows);
    assert!(after.calibration_windows > 0);
    assert_eq!(after.transform_scores, before.transform_scores);
    assert_eq!(after.seasonal_naive_mae, before.seasonal_naive_mae);
    assert_eq!(refitted.transform(), fitted.transform());
    assert_eq!(refitted.periods(), fitted.periods());
    assert_eq!(refitted.feature_spec(), fitted.feature_spec());
    assert_eq!(refitted.params(), fitted.params());

    // The model changed: so do the forecasts from the same history.
    let f_before = fitted.forecast(&seven_weeks, 24, &[80.0]).unwrap();
    let f_after = refitted.forecast(&seven_weeks, 24, &[80.0]).unwrap();
    assert_ne!(f_before.values(), f_after.values());
    // The conformal calibration is kept: same half widths of the model's intervals from
    // the same history (they depend on the calibration and the history's scale, not on
    // the model).
    for history in [&five_weeks, &seven_weeks] {
        let (a, b) = (
            half_widths(&fitted, history),
            half_widths(&refitted, history),
        );
        for (wa, wb) in a.iter().flatten().zip(b.iter().flatten()) {
            assert!((wa - wb).abs() <= 1e-9 * wa.abs().max(1.0), "{wa} vs {wb}");
        }
    }
    // Hand-over schedule and baseline combination kept; prior re-estimated.
    let info = |p: &UsagePredictor| -> serde_json::Value {
        serde_json::from_str(&p.info_json().unwrap()).unwrap()
    };
    let (i_before, i_after) = (info(&fitted), info(&refitted));
    for key in [
        "handover_schedule",
        "baseline_combination",
        "calibrated_steps",
    ] {
        assert_eq!(i_after[key], i_before[key], "{key}");
    }
    assert_ne!(refitted.prior(), fitted.prior());

    // Metadata: name, version and training metrics kept, the drift reference is the new
    // model's.
    assert_eq!(
        refitted.name_and_version(),
        (fitted.params().name.clone(), 7)
    );
    assert_eq!(
        refitted.metadata().training_metrics,
        fitted.metadata().training_metrics
    );
    let reference = refitted
        .drift_reference()
        .unwrap()
        .expect("a new reference");
    assert_ne!(Some(reference), fitted.drift_reference().unwrap());
}

#[test]
fn refit_refuses_another_frequency_naming_both() {
    let fitted =
        UsagePredictor::fit(&[series(&usage(21, 20.0, 3), START)], &small_params()).unwrap();
    let t: Vec<i64> = (0..60).map(|i| START + i * 86_400).collect();
    let v: Vec<f64> = (0..60).map(|i| 100.0 + (i % 7) as f64).collect();
    let daily = Series::new(&t, &v, &SeriesOptions::default()).unwrap();
    assert_eq!(daily.frequency(), 86_400);
    let hourly = series(&usage(21, 20.0, 3), START);
    let err = fitted.refit(&[hourly, daily]).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("86400") && message.contains("3600") && message.contains("series 1"),
        "{message}"
    );
}

#[test]
fn refit_on_nothing_errors() {
    // Even with synthetic tenants on (the default adds 16 histories to data under two
    // weeks), a refit without series would be a model of generic synthetic data.
    for synthetic in [None, Some(0)] {
        let mut params = small_params();
        params.synthetic_tenants = synthetic;
        let fitted = UsagePredictor::fit(&[series(&usage(21, 20.0, 4), START)], &params).unwrap();
        let err = fitted.refit(&[]).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
        assert!(err.to_string().contains("nothing to refit"), "{err}");
    }
}

#[test]
fn a_refit_predictor_saves_and_loads() {
    let mut params = small_params();
    params.direct_steps = 3;
    let fitted = UsagePredictor::fit(&[series(&usage(28, 50.0, 5), START)], &params).unwrap();
    let grown = series(&usage(35, 50.0, 5), START);
    let mut refitted = fitted.refit(std::slice::from_ref(&grown)).unwrap();
    refitted.metadata_mut().version = Some(2);
    let expected = refitted.forecast(&grown, 30, &[80.0, 95.0]).unwrap();
    assert_eq!(expected.model_version, 2);

    let back = UsagePredictor::from_bytes(&refitted.to_bytes().unwrap()).unwrap();
    assert_eq!(back.forecast(&grown, 30, &[80.0, 95.0]).unwrap(), expected);
    assert_eq!(back.summary(), refitted.summary());
    assert_eq!(
        back.drift_reference().unwrap(),
        refitted.drift_reference().unwrap()
    );

    let dir = common::ScratchDir::new("forecast-refit");
    let path = dir.path().join("usage.tml");
    refitted.save(&path).unwrap();
    let loaded = UsagePredictor::load(&path).unwrap();
    assert_eq!(
        loaded.forecast(&grown, 30, &[80.0, 95.0]).unwrap(),
        expected
    );
}
