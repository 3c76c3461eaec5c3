//! The user-facing tree model: every task x kind fits, predicts the same in batch and one
//! row at a time, round-trips through its file bit-exactly, explains additively, and
//! refuses bad input and bad files with clear errors.

mod common;

use common::friedman::friedman;
use ndarray::{Array2, ArrayView2};
use rand::{rngs::StdRng, Rng, SeedableRng};
use tenantml::trees::explain::ReasonDirection;
use tenantml::trees::metrics::{log_loss, mae, rmse};
use tenantml::trees::model::{Model, ModelParams};
use tenantml::Error;

fn params(json: &str) -> ModelParams {
    ModelParams::from_json(json).unwrap()
}

/// Rare-ish positives driven by two features, with a missing-value pattern.
fn binary(n: usize, seed: u64) -> (Array2<f64>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let x = Array2::from_shape_fn((n, 6), |(_, j)| {
        let v: f64 = rng.gen();
        if j == 5 && v < 0.1 {
            f64::NAN
        } else {
            v
        }
    });
    let y = x
        .rows()
        .into_iter()
        .map(|r| {
            let logit = 6.0 * r[0] - 4.0 * r[1] - 2.0 + if r[5].is_nan() { 1.0 } else { 0.0 };
            f64::from(rng.gen::<f64>() < 1.0 / (1.0 + (-logit).exp()))
        })
        .collect();
    (x, y)
}

fn predict_all(model: &Model, x: ArrayView2<f64>) -> Vec<f64> {
    let mut out = vec![0.0; x.nrows()];
    model.predict(x, &mut out).unwrap();
    out
}

const SMALL: &str = r#""gbdt": {"rounds": 40, "min_samples_leaf": 5}, "forest": {"trees": 15, "min_samples_leaf": 3}"#;

fn every_model() -> Vec<(String, Model, Array2<f64>)> {
    let (rx, ry) = friedman(1500, 7, 1, 1.0);
    let (bx, by) = binary(1500, 2);
    let mut models = Vec::new();
    for kind in ["gbdt", "forest", "blend"] {
        let p = params(&format!(r#"{{"model": "{kind}", {SMALL}}}"#));
        models.push((
            format!("regression {kind}"),
            Model::fit(rx.view(), &ry, None, None, &p).unwrap(),
            rx.clone(),
        ));
        for calibration in ["none", "platt", "isotonic"] {
            let p = params(&format!(
                r#"{{"task": "binary", "model": "{kind}", "calibration": "{calibration}", {SMALL}}}"#
            ));
            models.push((
                format!("binary {kind} {calibration}"),
                Model::fit(bx.view(), &by, None, None, &p).unwrap(),
                bx.clone(),
            ));
        }
    }
    models
}

#[test]
fn batch_and_row_agree_and_files_round_trip_bit_exactly() {
    for (name, model, x) in every_model() {
        let batch = predict_all(&model, x.view());
        for (r, row) in x.rows().into_iter().enumerate().take(200) {
            let one = model.predict_row(row.as_slice().unwrap()).unwrap();
            assert_eq!(one.to_bits(), batch[r].to_bits(), "{name} row {r}");
        }
        if name.starts_with("binary") {
            assert!(batch.iter().all(|p| (0.0..=1.0).contains(p)), "{name}");
        }
        let bytes = model.to_bytes().unwrap();
        let back = Model::from_bytes(&bytes).unwrap();
        let again = predict_all(&back, x.view());
        assert!(
            batch
                .iter()
                .zip(&again)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{name}"
        );
        assert_eq!(
            back.to_bytes().unwrap(),
            bytes,
            "{name}: re-encoding is stable"
        );
        assert_eq!(back.feature_names(), model.feature_names());
    }
}

#[test]
fn explanations_add_up_to_the_prediction() {
    for (name, model, x) in every_model() {
        let binary = name.starts_with("binary");
        let blend = name.contains("blend");
        let calibrated = !name.ends_with("none") && binary;
        if calibrated {
            continue; // calibration is a monotone map after the trees; not additive
        }
        for row in x.rows().into_iter().take(50) {
            let row = row.as_slice().unwrap();
            let e = model.explain(row).unwrap();
            let total = e.expected_value + e.contributions.iter().sum::<f64>();
            let p = model.predict_row(row).unwrap();
            let explained = if binary && name.contains("gbdt") {
                1.0 / (1.0 + (-total).exp())
            } else {
                total
            };
            if binary && blend {
                // Linearised boosting part: close, not exact.
                assert!((explained - p).abs() < 0.15, "{name}: {explained} vs {p}");
            } else {
                assert!((explained - p).abs() < 1e-9, "{name}: {explained} vs {p}");
            }
        }
    }
}

#[test]
fn reasons_name_the_driving_features() {
    let (x, y) = friedman(2000, 7, 3, 0.5);
    let names: Vec<String> = ["a", "b", "c", "d", "e", "noise1", "noise2"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let p = ModelParams {
        feature_names: names.clone(),
        ..params(r#"{"gbdt": {"rounds": 80}}"#)
    };
    let model = Model::fit(x.view(), &y, None, None, &p).unwrap();
    // x3 (weight 10) high pushes the prediction up the most for this row.
    let row = [0.5, 0.5, 0.5, 0.99, 0.5, 0.5, 0.5];
    let up = model.reasons(&row, 2, ReasonDirection::Increasing).unwrap();
    assert_eq!(up[0].name, "d");
    assert_eq!(up[0].value, 0.99);
    assert!(up.iter().all(|r| r.contribution > 0.0));
    let importance = model.importance_gain();
    assert!((importance.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert!(importance[5] < importance[3] && importance[6] < importance[3]);
}

#[test]
fn blend_is_no_worse_than_its_members_on_the_data_it_was_weighted_on() {
    let (x, y) = friedman(3000, 10, 4, 2.0);
    let (vx, vy) = friedman(1000, 10, 5, 2.0);
    let fit = |kind: &str| {
        Model::fit(
            x.view(),
            &y,
            None,
            Some((vx.view(), &vy)),
            &params(&format!(r#"{{"model": "{kind}", {SMALL}}}"#)),
        )
        .unwrap()
    };
    let errors: Vec<f64> = ["gbdt", "forest", "blend"]
        .iter()
        .map(|k| rmse(&vy, &predict_all(&fit(k), vx.view())))
        .collect();
    assert!(errors[2] <= errors[0].min(errors[1]) + 1e-9, "{errors:?}");
    let blend = fit("blend");
    assert!((0.0..=1.0).contains(&blend.gbdt_weight()));
    assert!(blend.metadata().training_metrics.contains_key("valid_rmse"));
    let m = blend.metadata().training_metrics["valid_mae"];
    assert!((m - mae(&vy, &predict_all(&blend, vx.view()))).abs() < 1e-9);

    let (bx, by) = binary(4000, 6);
    let (bvx, bvy) = binary(2000, 7);
    let losses: Vec<f64> = ["gbdt", "forest", "blend"]
        .iter()
        .map(|k| {
            let p = params(&format!(r#"{{"task": "binary", "model": "{k}", {SMALL}}}"#));
            let m = Model::fit(bx.view(), &by, None, Some((bvx.view(), &bvy)), &p).unwrap();
            log_loss(&bvy, &predict_all(&m, bvx.view()))
        })
        .collect();
    assert!(losses[2] <= losses[0].min(losses[1]) + 1e-6, "{losses:?}");
}

#[test]
fn same_seed_same_model() {
    let (x, y) = friedman(800, 6, 8, 1.0);
    let p = params(&format!(r#"{{"model": "blend", "seed": 11, {SMALL}}}"#));
    let a = Model::fit(x.view(), &y, None, None, &p).unwrap();
    let b = Model::fit(x.view(), &y, None, None, &p).unwrap();
    assert!(a.to_bytes().unwrap() == b.to_bytes().unwrap());
}

fn err<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn bad_parameters_and_data_are_refused_with_the_reason() {
    let (x, y) = friedman(100, 5, 9, 1.0);
    let fit = |json: &str| Model::fit(x.view(), &y, None, None, &params(json));
    assert!(err(ModelParams::from_json(r#"{"taks": "binary"}"#)).contains("unknown field `taks`"));
    assert!(err(ModelParams::from_json(r#"{"task": "multiclass"}"#)).contains("unknown variant"));
    assert!(err(ModelParams::from_json("{not json")).contains("parse error"));
    assert!(err(fit(r#"{"calibration": "platt"}"#)).contains("binary models only"));
    assert!(err(fit(r#"{"task": "binary"}"#)).contains("0 or 1"));
    assert!(err(fit(r#"{"gbdt": {"objective": {"name": "log_loss"}}}"#)).contains("binary"));
    assert!(err(fit(r#"{"holdout_fraction": 0.9}"#)).contains("holdout_fraction"));
    assert!(err(fit(r#"{"gbdt": {"rounds": 0}}"#)).contains("rounds"));
    assert!(err(fit(r#"{"feature_names": ["a"]}"#)).contains("1 feature names for 5"));
    assert!(err(fit(r#"{"feature_names": ["a","b","c","d","a"]}"#)).contains("twice"));
    let mut bad_y = y.clone();
    bad_y[3] = f64::NAN;
    assert!(err(Model::fit(
        x.view(),
        &bad_y,
        None,
        None,
        &ModelParams::default()
    ))
    .contains("target 3"));
    assert!(err(Model::fit(
        x.view(),
        &y[1..],
        None,
        None,
        &ModelParams::default()
    ))
    .contains("rows"));
    let empty = Array2::<f64>::zeros((0, 5));
    assert!(err(Model::fit(
        empty.view(),
        &[],
        None,
        None,
        &ModelParams::default()
    ))
    .contains("empty"));
    let model = Model::fit(
        x.view(),
        &y,
        None,
        None,
        &params(r#"{"gbdt": {"rounds": 5}}"#),
    )
    .unwrap();
    assert!(err(model.predict_row(&[1.0; 4])).contains("row has 4 features, the model 5"));
    assert!(err(model.explain(&[1.0; 6])).contains("6 features"));
    let mut out = vec![0.0; 3];
    assert!(err(model.predict(x.view(), &mut out)).contains("output holds 3"));
}

#[test]
fn damaged_and_foreign_files_are_bad_model_files() {
    let (x, y) = friedman(300, 5, 10, 1.0);
    let model = Model::fit(
        x.view(),
        &y,
        None,
        None,
        &params(&format!(r#"{{"model": "blend", {SMALL}}}"#)),
    )
    .unwrap();
    let bytes = model.to_bytes().unwrap();
    let is_bad = |b: &[u8]| matches!(Model::from_bytes(b), Err(Error::BadModelFile(_)));
    assert!(is_bad(b""));
    assert!(is_bad(b"garbage that is not a model at all"));
    for cut in (0..bytes.len()).step_by(97) {
        assert!(is_bad(&bytes[..cut]), "truncated at {cut}");
    }
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x10;
    assert!(is_bad(&flipped));
    let other = tenantml::trees::format::encode("scale", &1.5f64, &Default::default()).unwrap();
    assert!(err(Model::from_bytes(&other)).contains("scale"));
}

#[test]
fn metadata_travels_with_the_file() {
    let (x, y) = friedman(300, 5, 12, 1.0);
    let mut model = Model::fit(
        x.view(),
        &y,
        None,
        None,
        &params(r#"{"gbdt": {"rounds": 5}}"#),
    )
    .unwrap();
    model
        .metadata_mut()
        .update_from_json(r#"{"name": "usage-tenant-7", "version": 3, "extra": {"owner": "ops"}}"#)
        .unwrap();
    let err = model
        .metadata_mut()
        .update_from_json(r#"{"nam": "x"}"#)
        .unwrap_err();
    assert!(matches!(err, Error::Parse(_)), "{err}");
    let dir = common::ScratchDir::new("model-file");
    let path = dir.path().join("m.tml");
    model.save(&path).unwrap();
    let back = Model::load(&path).unwrap();
    assert_eq!(back.metadata().name.as_deref(), Some("usage-tenant-7"));
    assert_eq!(back.metadata().version, Some(3));
    assert_eq!(
        back.metadata().feature_names,
        ["f0", "f1", "f2", "f3", "f4"]
    );
    assert_eq!(back.metadata().library_version, tenantml::VERSION);
    assert_eq!(back.metadata().extra["owner"], "ops");
}
