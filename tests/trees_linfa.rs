//! The `linfa` feature: tenantml's tree models fitted and used through linfa's traits agree
//! bit for bit with the direct API, take the dataset's weights and feature names, survive a
//! wrong input shape without panicking, and work inside linfa's own cross-validation.
#![cfg(feature = "linfa")]

mod common;

use linfa::prelude::*;
use ndarray::{s, Array1, Array2, Axis, Ix1};
use tenantml::trees::forest::{Forest, ForestParams, ForestTask};
use tenantml::trees::gbdt::{Gbdt, GbdtParams};
use tenantml::trees::model::{Model, ModelKind, ModelParams, Task};
use tenantml::Error;

use common::friedman::friedman;

fn data(n: usize, seed: u64) -> (Array2<f64>, Array1<f64>) {
    let (x, y) = friedman(n, 10, seed, 1.0);
    (x, Array1::from(y))
}

fn direct_predict(model: &Model, x: &Array2<f64>) -> Vec<f64> {
    let mut out = vec![0.0; x.nrows()];
    model.predict(x.view(), &mut out).unwrap();
    out
}

fn small_params(model: ModelKind) -> ModelParams {
    ModelParams {
        model,
        gbdt: GbdtParams {
            rounds: 40,
            ..Default::default()
        },
        forest: ForestParams {
            trees: 20,
            ..Default::default()
        },
        seed: Some(7),
        ..Default::default()
    }
}

#[test]
fn default_params_fit_and_predict_like_the_direct_api() {
    let (x, y) = data(1500, 1);
    let (xt, _) = data(300, 2);
    let dataset = Dataset::new(x.clone(), y.clone());
    let model = ModelParams::default().fit(&dataset).unwrap();
    let direct = Model::fit(
        x.view(),
        y.as_slice().unwrap(),
        None,
        None,
        &ModelParams::default(),
    )
    .unwrap();
    assert_eq!(model, direct);
    let via_linfa: Array1<f64> = Predict::predict(&model, &xt);
    assert_eq!(via_linfa.to_vec(), direct_predict(&direct, &xt));
    // The model learned something, so equality above is not between two constant outputs.
    let r2 = via_linfa.r2(&data(300, 2).1).unwrap();
    assert!(r2 > 0.7, "r2 {r2}");
}

#[test]
fn every_model_kind_and_task_agrees_with_the_direct_api() {
    let (x, y) = data(1200, 3);
    let labels = y.mapv(|v| f64::from(v > 14.0));
    for task in [Task::Regression, Task::Binary] {
        let target = if task == Task::Binary { &labels } else { &y };
        for kind in [ModelKind::Gbdt, ModelKind::Forest, ModelKind::Blend] {
            let params = ModelParams {
                task,
                ..small_params(kind)
            };
            let dataset = Dataset::new(x.clone(), target.clone());
            let model = params.fit(&dataset).unwrap();
            let direct =
                Model::fit(x.view(), target.as_slice().unwrap(), None, None, &params).unwrap();
            let p: Array1<f64> = Predict::predict(&model, &x);
            assert_eq!(p.to_vec(), direct_predict(&direct, &x), "{task:?} {kind:?}");
            if task == Task::Binary {
                assert!(p.iter().all(|q| (0.0..=1.0).contains(q)));
            }
        }
    }
}

#[test]
fn gbdt_and_forest_params_fit_through_linfa() {
    let (x, y) = data(1000, 4);
    let dataset = Dataset::new(x.clone(), y.clone());
    let yv = y.as_slice().unwrap();

    let gp = GbdtParams {
        rounds: 30,
        ..Default::default()
    };
    let g: Gbdt = gp.fit(&dataset).unwrap();
    let mut direct = vec![0.0; x.nrows()];
    Gbdt::fit(x.view(), yv, None, None, &gp)
        .unwrap()
        .predict(x.view(), &mut direct)
        .unwrap();
    assert_eq!(Predict::<_, Array1<f64>>::predict(&g, &x).to_vec(), direct);

    let fp = ForestParams {
        trees: 15,
        task: ForestTask::Regression,
        ..Default::default()
    };
    let f: Forest = fp.fit(&dataset).unwrap();
    Forest::fit(x.view(), yv, None, &fp)
        .unwrap()
        .predict(x.view(), &mut direct)
        .unwrap();
    assert_eq!(Predict::<_, Array1<f64>>::predict(&f, &x).to_vec(), direct);
}

#[test]
fn views_and_strided_targets_fit_like_owned_arrays() {
    let (x, y) = data(800, 5);
    let params = small_params(ModelKind::Gbdt);
    let owned = params.fit(&Dataset::new(x.clone(), y.clone())).unwrap();
    // Targets taken from a column of a wider matrix are not contiguous.
    let mut wide = Array2::zeros((y.len(), 2));
    wide.column_mut(1).assign(&y);
    let view = DatasetView::new(x.view(), wide.column(1));
    assert!(view.targets().as_slice().is_none());
    assert_eq!(params.fit(&view).unwrap(), owned);
}

#[test]
fn dataset_weights_are_passed_through() {
    let (x, y) = data(1000, 6);
    let w32: Array1<f32> = (0..1000).map(|i| 0.25 + (i % 7) as f32).collect();
    let w64: Vec<f64> = w32.iter().map(|&v| f64::from(v)).collect();
    let params = small_params(ModelKind::Blend);
    let weighted = params
        .fit(&Dataset::new(x.clone(), y.clone()).with_weights(w32))
        .unwrap();
    let direct = Model::fit(x.view(), y.as_slice().unwrap(), Some(&w64), None, &params).unwrap();
    assert_eq!(weighted, direct);
    let unweighted = params.fit(&Dataset::new(x.clone(), y.clone())).unwrap();
    assert_ne!(weighted, unweighted);
}

/// The data of `zero_weight_rows_are_ignored`: 1000 rows on a coarse grid (so every fit
/// gets the same bins) and the same plus 200 copies of rows with the absurd target 1000
/// and weight 0.
fn padded_with_zero_weights() -> (Dataset<f64, f64, Ix1>, Dataset<f64, f64, Ix1>) {
    let (x, y) = data(1000, 8);
    let x = x.mapv(|v| (v * 40.0).round() / 40.0);
    let extra = x.slice(s![..200, ..]);
    let all_x = ndarray::concatenate(Axis(0), &[x.view(), extra]).unwrap();
    let all_y: Array1<f64> = y.iter().copied().chain([1000.0; 200]).collect();
    let weights: Array1<f32> = (0..1200).map(|i| f32::from(u8::from(i < 1000))).collect();
    (
        Dataset::new(x, y),
        Dataset::new(all_x, all_y).with_weights(weights),
    )
}

#[test]
fn zero_weight_rows_are_ignored_by_boosting() {
    let (subset, padded) = padded_with_zero_weights();
    // Zero-weight rows still count towards `min_samples_leaf` (as rows, like LightGBM's
    // min_data_in_leaf), so the rule is relaxed to compare like with like.
    let mut params = small_params(ModelKind::Gbdt);
    params.gbdt.min_samples_leaf = 1;
    let a: Array1<f64> = Predict::predict(&params.fit(&subset).unwrap(), subset.records());
    let b: Array1<f64> = Predict::predict(&params.fit(&padded).unwrap(), subset.records());
    // Equal up to the order of floating-point sums over the histograms.
    let worst = a
        .iter()
        .zip(&b)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-9, "worst difference {worst}");
}

#[test]
fn zero_weight_rows_are_ignored_by_the_forest() {
    let (subset, padded) = padded_with_zero_weights();
    let params = ForestParams {
        trees: 30,
        seed: 3,
        ..Default::default()
    };
    // Bootstraps are drawn over all 1200 rows, so the padded forest is another random
    // forest on the same rows: close in quality, not equal tree for tree.
    let (test_x, test_y) = data(500, 9);
    let test_x = test_x.mapv(|v| (v * 40.0).round() / 40.0);
    let a: Array1<f64> = Predict::predict(&params.fit(&subset).unwrap(), &test_x);
    let b: Array1<f64> = Predict::predict(&params.fit(&padded).unwrap(), &test_x);
    let (mae_a, mae_b) = (
        a.mean_absolute_error(&test_y).unwrap(),
        b.mean_absolute_error(&test_y).unwrap(),
    );
    assert!(b.iter().all(|&p| p < 40.0), "a target of 1000 leaked in");
    assert!(
        (mae_b - mae_a).abs() < 0.1 * mae_a,
        "MAE {mae_a} on the subset, {mae_b} padded"
    );
}

#[test]
fn feature_names_come_from_the_dataset_unless_the_parameters_disagree() {
    let (x, y) = data(300, 10);
    let names: Vec<String> = (0..10).map(|i| format!("col{i}")).collect();
    let dataset = Dataset::new(x, y).with_feature_names(names.clone());
    let params = small_params(ModelKind::Gbdt);
    assert_eq!(params.fit(&dataset).unwrap().feature_names(), names);

    let same = ModelParams {
        feature_names: names.clone(),
        ..params.clone()
    };
    assert_eq!(same.fit(&dataset).unwrap().feature_names(), names);

    let mut other = names;
    other.swap(0, 1);
    let clash = ModelParams {
        feature_names: other,
        ..params
    };
    assert!(matches!(
        clash.fit(&dataset),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn unnamed_datasets_keep_the_default_names() {
    let (x, y) = data(300, 11);
    let model = small_params(ModelKind::Forest)
        .fit(&Dataset::new(x, y))
        .unwrap();
    assert_eq!(model.feature_names()[..2], ["f0", "f1"]);
}

#[test]
fn fit_errors_come_back_as_tenantml_errors() {
    let (x, y) = data(300, 12);
    // Regression targets are not 0/1 labels.
    let binary = ModelParams {
        task: Task::Binary,
        ..small_params(ModelKind::Gbdt)
    };
    let err = binary.fit(&Dataset::new(x, y)).unwrap_err();
    assert_eq!(err.code(), 1, "{err}");
    let from_linfa: Error = linfa::Error::NotEnoughSamples.into();
    assert!(matches!(from_linfa, Error::InvalidArgument(m) if m.contains("not enough samples")));
}

#[test]
fn a_wrong_input_shape_predicts_nan_instead_of_panicking() {
    let (x, y) = data(400, 13);
    let dataset = Dataset::new(x.clone(), y);
    let model = small_params(ModelKind::Blend).fit(&dataset).unwrap();
    let narrow = x.slice(s![.., ..9]).to_owned();
    let p: Array1<f64> = Predict::predict(&model, &narrow);
    assert_eq!(p.len(), 400);
    assert!(p.iter().all(|v| v.is_nan()));

    let mut short = Array1::zeros(3);
    model.predict_inplace(&x, &mut short);
    assert!(short.iter().all(|v| v.is_nan()));

    // The same call with the right shapes predicts.
    let mut right = model.default_target(&x);
    model.predict_inplace(&x, &mut right);
    assert!(right.iter().all(|v| v.is_finite()));

    let g = GbdtParams::default().fit(&dataset).unwrap();
    let p: Array1<f64> = Predict::predict(&g, &narrow);
    assert!(p.iter().all(|v| v.is_nan()));
}

#[test]
fn reversed_output_arrays_are_filled_in_row_order() {
    let (x, y) = data(300, 14);
    let model = small_params(ModelKind::Gbdt)
        .fit(&Dataset::new(x.clone(), y))
        .unwrap();
    let mut out = Array1::zeros(300);
    out.invert_axis(Axis(0));
    assert!(out.as_slice_mut().is_none());
    model.predict_inplace(&x, &mut out);
    assert_eq!(out.to_vec(), direct_predict(&model, &x));
}

#[test]
fn linfa_cross_validation_scores_our_models() {
    let (x, y) = data(1500, 15);
    let mut dataset = Dataset::new(x, y);
    let candidates = [
        small_params(ModelKind::Gbdt),
        small_params(ModelKind::Forest),
    ];
    let r2 = dataset
        .cross_validate_single(5, &candidates, |predicted, truth| predicted.r2(truth))
        .unwrap();
    assert_eq!(r2.len(), 2);
    for (params, score) in candidates.iter().zip(&r2) {
        assert!(
            *score > 0.6,
            "{:?}: cross-validated r2 {score}",
            params.model
        );
    }
}

#[test]
fn linfa_folds_and_split_feed_our_models() {
    let (x, y) = data(1000, 16);
    let dataset = Dataset::new(x, y);
    let params = small_params(ModelKind::Gbdt);
    let maes: Vec<f64> = dataset
        .fold(4)
        .into_iter()
        .map(|(train, valid)| {
            let model = params.fit(&train).unwrap();
            let predicted: Array1<f64> = Predict::predict(&model, valid.records());
            predicted.mean_absolute_error(valid.targets()).unwrap()
        })
        .collect();
    assert_eq!(maes.len(), 4);
    // Friedman #1 targets spread over about 25 units; a fitted model errs far less.
    assert!(maes.iter().all(|&m| m < 2.5), "fold MAEs {maes:?}");

    let (train, valid) = dataset.split_with_ratio(0.8);
    let model = params.fit(&train).unwrap();
    // Predicting a dataset returns it with predicted targets, another linfa idiom.
    let predicted = Predict::<_, Dataset<f64, f64, Ix1>>::predict(&model, valid.records().clone());
    let mae = predicted
        .targets()
        .mean_absolute_error(valid.targets())
        .unwrap();
    assert!(mae < 2.5, "hold-out MAE {mae}");
}
