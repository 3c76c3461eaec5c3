//! Drift reports, reference samples and prediction drift: values agree with the scipy
//! fixtures and the stand-alone statistics; flags, Bonferroni, layouts, NaN handling,
//! bad input and JSON round trips.

use ndarray::{Array2, ShapeBuilder};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde_json::Value;
use tenantml::drift::{
    drift_report, ks_2samp, prediction_drift, psi, DriftConfig, DriftReport, DriftTest,
    FeatureKind, FeatureSchema, KsMethod, ReferenceColumn, ReferenceSample,
};

fn stats_fixtures() -> Value {
    serde_json::from_str(include_str!("fixtures/drift/stats.json")).unwrap()
}

fn vec_f64(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn column(x: &[f64]) -> Array2<f64> {
    Array2::from_shape_vec((x.len(), 1), x.to_vec()).unwrap()
}

/// 4 numeric features (two shifted) and 2 categorical (one shifted).
fn data(n: usize, shifted: bool, seed: u64) -> Array2<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let normal = Normal::new(0.0, 1.0).unwrap();
    Array2::from_shape_fn((n, 6), |(_, j)| {
        let s = if shifted { 1.0 } else { 0.0 };
        match j {
            0 => normal.sample(&mut rng),
            1 => normal.sample(&mut rng) + 0.5 * s,
            2 => 10.0 + 2.0 * normal.sample(&mut rng) * (1.0 + s),
            3 => rng.gen_range(0.0..1.0),
            4 => f64::from(rng.gen_range(0u8..3)),
            _ => {
                if rng.gen_bool(if shifted { 0.6 } else { 0.3 }) {
                    1.0
                } else {
                    0.0
                }
            }
        }
    })
}

fn schema() -> FeatureSchema {
    let names = ["a", "b", "c", "d", "plan", "flag"]
        .map(String::from)
        .to_vec();
    FeatureSchema::new(names, &[4, 5]).unwrap()
}

#[test]
fn report_values_match_scipy_fixtures() {
    let fx = stats_fixtures();
    let ks = DriftConfig::default();
    for case in fx["ks"].as_array().unwrap() {
        let (a, b) = (vec_f64(&case["reference"]), vec_f64(&case["current"]));
        let schema = FeatureSchema::numeric(vec!["x".into()]).unwrap();
        let r = drift_report(column(&a).view(), column(&b).view(), &schema, &ks).unwrap();
        let f = &r.features[0];
        let p = case["p_value"].as_f64().unwrap();
        assert!(
            (f.p_value.unwrap() - p).abs() <= 1e-8 * p + 1e-14,
            "{}",
            case["name"]
        );
        assert_eq!(f.drifted, p < 0.05);
    }
    for case in fx["distances"].as_array().unwrap() {
        let (a, b) = (vec_f64(&case["reference"]), vec_f64(&case["current"]));
        let schema = FeatureSchema::numeric(vec!["x".into()]).unwrap();
        for (test, key) in [
            (DriftTest::Psi, "psi"),
            (DriftTest::Wasserstein, "wasserstein_normalized"),
            (DriftTest::JensenShannon, "jensen_shannon"),
        ] {
            let config = DriftConfig {
                numeric_test: test,
                bins: case["bins"].as_u64().unwrap() as usize,
                ..Default::default()
            };
            let r = drift_report(column(&a).view(), column(&b).view(), &schema, &config).unwrap();
            let want = case[key].as_f64().unwrap();
            let got = r.features[0].statistic;
            assert!(
                (got - want).abs() <= 1e-10 * want.abs() + 1e-14,
                "{} {key}: {got} vs {want}",
                case["name"]
            );
            assert_eq!(r.features[0].p_value, None);
        }
    }
    for case in fx["categorical"].as_array().unwrap() {
        let (a, b) = (vec_f64(&case["reference"]), vec_f64(&case["current"]));
        let schema = FeatureSchema::new(vec!["cat".into()], &[0]).unwrap();
        let r = drift_report(
            column(&a).view(),
            column(&b).view(),
            &schema,
            &DriftConfig::default(),
        )
        .unwrap();
        let f = &r.features[0];
        assert_eq!(
            (f.kind, f.test),
            (FeatureKind::Categorical, DriftTest::Chi2)
        );
        let want = case["chi2_p_value"].as_f64().unwrap();
        assert!(
            (f.p_value.unwrap() - want).abs() <= 1e-10 * want + 1e-300,
            "{}",
            case["name"]
        );
    }
}

#[test]
fn report_flags_the_shifted_features_and_the_dataset() {
    let reference = data(5000, false, 1);
    let current = data(3000, true, 2);
    // A strict level, so that a 1-in-20 false alarm on an unshifted feature is unlikely.
    let config = DriftConfig {
        p_value_threshold: 0.001,
        ..Default::default()
    };
    let r = drift_report(reference.view(), current.view(), &schema(), &config).unwrap();
    let drifted: Vec<bool> = r.features.iter().map(|f| f.drifted).collect();
    assert_eq!(drifted, [false, true, true, false, false, true]);
    assert_eq!(r.n_drifted, 3);
    assert_eq!(r.share_drifted, 0.5);
    assert!(r.dataset_drift);
    assert_eq!(r.features[0].ks_method, Some(KsMethod::Exact));
    assert_eq!(r.features[4].ks_method, None);
    // Each entry is the stand-alone statistic on that column.
    let ks = ks_2samp(&reference.column(1).to_vec(), &current.column(1).to_vec()).unwrap();
    assert_eq!(r.features[1].statistic, ks.statistic);
    assert_eq!(r.features[1].p_value, Some(ks.p_value));
    // Same data, no drift.
    let again = data(3000, false, 3);
    let r = drift_report(reference.view(), again.view(), &schema(), &config).unwrap();
    assert!(!r.dataset_drift, "{r:?}");
    // A stricter share.
    let strict = DriftConfig {
        drift_share: 0.6,
        ..config
    };
    let r = drift_report(reference.view(), current.view(), &schema(), &strict).unwrap();
    assert!(!r.dataset_drift && r.n_drifted == 3);
}

#[test]
fn bonferroni_divides_the_threshold() {
    // One feature with p between 0.05/6 and 0.05: drifted without correction only.
    let fx = stats_fixtures();
    let case = fx["ks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "asymp_small_current")
        .unwrap();
    let p = case["p_value"].as_f64().unwrap();
    assert!(p < 0.05 && p > 0.05 / 6.0, "fixture p = {p}");
    let (a, b) = (vec_f64(&case["reference"]), vec_f64(&case["current"]));
    let n = b.len();
    // Six copies of the feature, so the correction divides by 6.
    let reference = Array2::from_shape_fn((a.len(), 6), |(i, _)| a[i]);
    let current = Array2::from_shape_fn((n, 6), |(i, _)| b[i]);
    let schema = FeatureSchema::numeric((0..6).map(|i| format!("f{i}")).collect()).unwrap();
    let plain = drift_report(
        reference.view(),
        current.view(),
        &schema,
        &DriftConfig::default(),
    )
    .unwrap();
    assert!(plain
        .features
        .iter()
        .all(|f| f.drifted && f.threshold == 0.05));
    let config = DriftConfig {
        bonferroni: true,
        ..Default::default()
    };
    let corrected = drift_report(reference.view(), current.view(), &schema, &config).unwrap();
    assert!(corrected
        .features
        .iter()
        .all(|f| !f.drifted && (f.threshold - 0.05 / 6.0).abs() < 1e-17));
    assert!(corrected.bonferroni && !corrected.dataset_drift);
}

#[test]
fn row_major_and_column_major_give_the_same_report() {
    let reference = data(800, false, 4);
    let current = data(600, true, 5);
    let mut ref_f = Array2::zeros((800, 6).f());
    ref_f.assign(&reference);
    let mut cur_f = Array2::zeros((600, 6).f());
    cur_f.assign(&current);
    let config = DriftConfig::default();
    let a = drift_report(reference.view(), current.view(), &schema(), &config).unwrap();
    let b = drift_report(ref_f.view(), cur_f.view(), &schema(), &config).unwrap();
    assert_eq!(a, b);
}

#[test]
fn non_finite_values_are_dropped_and_counted() {
    let mut reference = data(1000, false, 6);
    let mut current = data(700, false, 7);
    let clean = drift_report(
        reference.view(),
        current.view(),
        &schema(),
        &DriftConfig::default(),
    )
    .unwrap();
    reference[[3, 0]] = f64::NAN;
    reference[[10, 0]] = f64::INFINITY;
    current[[5, 0]] = f64::NAN;
    current[[6, 4]] = f64::NAN;
    let r = drift_report(
        reference.view(),
        current.view(),
        &schema(),
        &DriftConfig::default(),
    )
    .unwrap();
    let f = &r.features[0];
    assert_eq!(
        (
            f.missing_reference,
            f.missing_current,
            f.n_reference,
            f.n_current
        ),
        (2, 1, 998, 699)
    );
    assert_eq!(
        (r.features[4].missing_current, r.features[4].n_current),
        (1, 699)
    );
    assert_eq!(r.features[1], clean.features[1]);
    // Nothing finite left is an error naming the feature.
    current.column_mut(2).fill(f64::NAN);
    let e = drift_report(
        reference.view(),
        current.view(),
        &schema(),
        &DriftConfig::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("feature 'c': the current sample has no finite values"),
        "{e}"
    );
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let reference = data(100, false, 8);
    let current = data(100, false, 9);
    let config = DriftConfig::default();
    let five = FeatureSchema::numeric((0..5).map(|i| format!("f{i}")).collect()).unwrap();
    let e = drift_report(reference.view(), current.view(), &five, &config).unwrap_err();
    assert!(
        e.to_string()
            .contains("reference matrix has 6 feature columns, the schema 5"),
        "{e}"
    );
    let narrow = current.slice(ndarray::s![.., ..5]).to_owned();
    let e = drift_report(reference.view(), narrow.view(), &schema(), &config).unwrap_err();
    assert!(
        e.to_string()
            .contains("current matrix has 5 feature columns, the schema 6"),
        "{e}"
    );
    let empty = Array2::<f64>::zeros((0, 6));
    let e = drift_report(reference.view(), empty.view(), &schema(), &config).unwrap_err();
    assert!(e.to_string().contains("current matrix has no rows"), "{e}");
    let e = DriftConfig::from_json(r#"{"p_value_threshold": 0.05, "thresold": 1}"#).unwrap_err();
    assert_eq!(e.code(), 3);
    assert!(e.to_string().contains("unknown field `thresold`"), "{e}");
    let e = DriftConfig::from_json(r#"{"p_value_threshold": 1.5}"#).unwrap_err();
    assert!(
        e.to_string()
            .contains("p_value_threshold must be in (0, 1)"),
        "{e}"
    );
    let e = DriftConfig::from_json(r#"{"categorical_test": "ks"}"#).unwrap_err();
    assert!(e.to_string().contains("categorical_test cannot be"), "{e}");
    let mut c = DriftConfig::default();
    c.feature_tests
        .insert("plan".into(), DriftTest::Wasserstein);
    let e = drift_report(reference.view(), current.view(), &schema(), &c).unwrap_err();
    assert!(
        e.to_string()
            .contains("does not apply to Categorical feature 'plan'"),
        "{e}"
    );
    let mut c = DriftConfig::default();
    c.feature_tests.insert("palm".into(), DriftTest::Psi);
    let e = drift_report(reference.view(), current.view(), &schema(), &c).unwrap_err();
    assert!(
        e.to_string()
            .contains("feature_tests names 'palm', which is not a feature"),
        "{e}"
    );
    let stored = ReferenceSample::new(reference.view(), &schema()).unwrap();
    assert!(stored.report(current.view(), &c).is_err());
    let e = FeatureSchema::new(vec!["a".into(), "a".into()], &[]).unwrap_err();
    assert!(e.to_string().contains("'a' appears twice"), "{e}");
    assert!(FeatureSchema::numeric(vec![]).is_err());
}

#[test]
fn feature_overrides_pick_the_test() {
    let reference = data(1000, false, 10);
    let current = data(1000, true, 11);
    let mut c = DriftConfig::default();
    c.feature_tests.insert("c".into(), DriftTest::Psi);
    c.feature_tests
        .insert("flag".into(), DriftTest::JensenShannon);
    let r = drift_report(reference.view(), current.view(), &schema(), &c).unwrap();
    assert_eq!(r.features[2].test, DriftTest::Psi);
    let p = psi(
        &reference.column(2).to_vec(),
        &current.column(2).to_vec(),
        10,
    )
    .unwrap();
    assert_eq!(r.features[2].statistic, p);
    assert_eq!(r.features[5].test, DriftTest::JensenShannon);
    assert!(r.features[5].drifted && r.features[5].threshold == 0.1);
}

#[test]
fn reference_sample_is_bounded_deterministic_and_round_trips() {
    let train = data(20_000, false, 12);
    let s = ReferenceSample::new(train.view(), &schema()).unwrap();
    for f in s.features() {
        match &f.column {
            ReferenceColumn::Numeric { values, count, .. } => {
                assert_eq!((values.len(), *count), (2000, 20_000));
                assert!(values.windows(2).all(|w| w[0] <= w[1]));
                let col = train.column(s.features().iter().position(|g| g.name == f.name).unwrap());
                let min = col.iter().copied().fold(f64::INFINITY, f64::min);
                assert_eq!(values[0], min);
            }
            ReferenceColumn::Categorical { counts, .. } => assert_eq!(counts.total(), 20_000),
        }
    }
    assert_eq!(s, ReferenceSample::new(train.view(), &schema()).unwrap());
    let json = s.to_json().unwrap();
    assert!(json.len() < 6 * 2000 * 25, "{} bytes", json.len());
    let back = ReferenceSample::from_json(&json).unwrap();
    assert_eq!(back, s);
    assert_eq!(back.schema(), schema());
    // The stored sample still sees the drift the full data sees.
    let current = data(3000, true, 13);
    let from_sample = s.report(current.view(), &DriftConfig::default()).unwrap();
    let full = drift_report(
        train.view(),
        current.view(),
        &schema(),
        &DriftConfig::default(),
    )
    .unwrap();
    let flags = |r: &DriftReport| r.features.iter().map(|f| f.drifted).collect::<Vec<_>>();
    assert_eq!(flags(&from_sample), flags(&full));
    assert_eq!(
        from_sample.features[4], full.features[4],
        "categorical counts are exact"
    );
    // Below the bound, a stored sample gives exactly the full report.
    let small = data(1500, false, 14);
    let s = ReferenceSample::new(small.view(), &schema()).unwrap();
    let a = s.report(current.view(), &DriftConfig::default()).unwrap();
    let b = drift_report(
        small.view(),
        current.view(),
        &schema(),
        &DriftConfig::default(),
    )
    .unwrap();
    assert_eq!(a, b);
    // Tampered files are refused.
    let bad = json.replacen("\"values\":[", "\"values\":[1e300,", 1);
    assert!(ReferenceSample::from_json(&bad)
        .unwrap_err()
        .to_string()
        .contains("sorted"));
    let bad = json.replacen("\"max_per_feature\":2000", "\"max_per_feature\":10", 1);
    assert!(ReferenceSample::from_json(&bad)
        .unwrap_err()
        .to_string()
        .contains("above its bound"));
    assert!(ReferenceSample::from_json(&json.replacen('{', "{\"extra\":1,", 1)).is_err());
    assert!(ReferenceSample::with_max_size(small.view(), &schema(), 1).is_err());
}

#[test]
fn report_json_round_trips() {
    let r = drift_report(
        data(500, false, 15).view(),
        data(400, true, 16).view(),
        &schema(),
        &DriftConfig::default(),
    )
    .unwrap();
    let json = r.to_json().unwrap();
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["features"][0]["test"], "ks");
    assert_eq!(v["features"][0]["kind"], "numeric");
    assert_eq!(v["features"][4]["test"], "chi2");
    assert_eq!(v["features"][0]["ks_method"], "exact");
    let back: DriftReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
}

#[test]
fn prediction_drift_uses_the_stored_reference_predictions() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(17);
    let reference: Vec<f64> = (0..5000)
        .map(|_| rng.gen_range(0.0..1.0f64).powi(2))
        .collect();
    let stored = ReferenceColumn::numeric(&reference, 2000).unwrap();
    let same: Vec<f64> = (0..400)
        .map(|_| rng.gen_range(0.0..1.0f64).powi(2))
        .collect();
    let shifted: Vec<f64> = (0..400)
        .map(|_| rng.gen_range(0.0..1.0f64).powf(1.5))
        .collect();
    let config = DriftConfig::default();
    let a = prediction_drift(&stored, &same, &config).unwrap();
    let b = prediction_drift(&stored, &shifted, &config).unwrap();
    assert_eq!(a.name, "prediction");
    assert!(!a.drifted && b.drifted, "{a:?} {b:?}");
    assert_eq!(b.n_reference, 2000);
    // Class labels compare as categories.
    let labels = ReferenceColumn::categorical(&[0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]).unwrap();
    let d = prediction_drift(&labels, &[1.0; 50], &config).unwrap();
    assert_eq!(d.test, DriftTest::Chi2);
    assert!(d.drifted);
    assert!(prediction_drift(&stored, &[], &config).is_err());
}

#[test]
fn a_tree_model_carries_its_reference_unless_a_feature_is_never_finite() {
    use tenantml::drift::{ModelReference, MODEL_REFERENCE_KEY};
    use tenantml::trees::model::{Model, ModelParams};
    let x = Array2::from_shape_fn((400, 3), |(i, j)| ((i * 31 + j * 17) % 97) as f64);
    let y: Vec<f64> = (0..400).map(|i| x[[i, 0]] + x[[i, 2]]).collect();
    let params =
        ModelParams::from_json(r#"{"gbdt": {"rounds": 10}, "forest": {"trees": 4}}"#).unwrap();
    let mut model = Model::fit(x.view(), &y, None, None, &params).unwrap();
    assert!(ModelReference::attach(&mut model, x.view(), 0).unwrap());
    let back = Model::from_bytes(&model.to_bytes().unwrap()).unwrap();
    let reference = ModelReference::from_metadata(back.metadata())
        .unwrap()
        .expect("saved with the model");
    assert_eq!(reference.features.features().len(), 3);
    assert!(reference.predictions.is_some());
    // The same seed gives the same reference.
    assert_eq!(
        ModelReference::of_model(&model, x.view(), 0).unwrap(),
        reference
    );
    // Wrong width is refused; a never-finite column leaves nothing stored.
    assert!(ModelReference::of_model(&model, x.slice(ndarray::s![.., ..2]), 0).is_err());
    let mut holes = x.clone();
    holes.column_mut(1).fill(f64::NAN);
    let mut other = Model::fit(holes.view(), &y, None, None, &params).unwrap();
    assert!(!ModelReference::attach(&mut other, holes.view(), 0).unwrap());
    assert!(!other.metadata().extra.contains_key(MODEL_REFERENCE_KEY));
}

#[test]
fn a_large_training_set_is_summarised_from_a_seeded_sample() {
    use tenantml::drift::{ModelReference, ReferenceColumn, MODEL_REFERENCE_ROWS};
    use tenantml::trees::model::{Model, ModelParams};
    let n = MODEL_REFERENCE_ROWS * 2;
    let x = Array2::from_shape_fn((n, 1), |(i, _)| (i % 1000) as f64);
    let y: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
    let params =
        ModelParams::from_json(r#"{"gbdt": {"rounds": 3}, "forest": {"trees": 2}}"#).unwrap();
    let model = Model::fit(x.view(), &y, None, None, &params).unwrap();
    let a = ModelReference::of_model(&model, x.view(), 1).unwrap();
    assert_eq!(a, ModelReference::of_model(&model, x.view(), 1).unwrap());
    let ReferenceColumn::Numeric { values, count, .. } = &a.features.features()[0].column else {
        panic!("numeric");
    };
    assert_eq!(*count as usize, MODEL_REFERENCE_ROWS);
    // The sample's order statistics follow the uniform 0..999 closely.
    let median = values[values.len() / 2];
    assert!((median - 500.0).abs() < 25.0, "{median}");
}
