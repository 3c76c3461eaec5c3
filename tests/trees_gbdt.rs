//! Gradient boosting: known answers, convergence, determinism, early stopping, missing
//! values, weights, every objective, and bad input.

use ndarray::{Array2, ArrayView2};
use rand::{rngs::StdRng, Rng, SeedableRng};
use tenantml::trees::gbdt::{Gbdt, GbdtParams};
use tenantml::trees::objective::Objective;
use tenantml::Error;

mod common;

use tenantml::trees::metrics::r2;

/// Friedman #1 with 10 features (5 of them noise).
fn friedman(n: usize, seed: u64, noise: f64) -> (Array2<f64>, Vec<f64>) {
    common::friedman::friedman(n, 10, seed, noise)
}

fn predict(model: &Gbdt, x: ArrayView2<f64>) -> Vec<f64> {
    let mut out = vec![0.0; x.nrows()];
    model.predict(x, &mut out).unwrap();
    out
}

fn small_params() -> GbdtParams {
    GbdtParams {
        min_samples_leaf: 1,
        min_child_weight: 0.0,
        ..Default::default()
    }
}

#[test]
fn one_stump_by_hand() {
    let x = Array2::from_shape_vec((4, 1), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    let y = [1.0, 1.0, 5.0, 5.0];
    let params = GbdtParams {
        rounds: 1,
        learning_rate: 1.0,
        max_leaves: 2,
        ..small_params()
    };
    let model = Gbdt::fit(x.view(), &y, None, None, &params).unwrap();
    let tree = &model.trees()[0];
    assert_eq!(tree.nodes.len(), 3);
    assert_eq!(tree.nodes[0].threshold, 2.5);
    assert_eq!(
        (tree.nodes[1].value, tree.nodes[2].value),
        (-2.0, 2.0),
        "leaves are residuals around the mean 3"
    );
    assert_eq!(predict(&model, x.view()), y);
    assert_eq!(model.importance_splits(), [1]);
    assert_eq!(model.importance_gain(), [16.0]);
}

#[test]
fn training_loss_decreases_every_round_and_fits_friedman() {
    let (x, y) = friedman(3000, 1, 1.0);
    let (tx, ty) = friedman(1000, 2, 0.0);
    let model = Gbdt::fit(
        x.view(),
        &y,
        None,
        None,
        &GbdtParams {
            rounds: 200,
            ..Default::default()
        },
    )
    .unwrap();
    for pair in model.train_loss().windows(2) {
        assert!(pair[1] <= pair[0] + 1e-12, "loss went up: {pair:?}");
    }
    let score = r2(&ty, &predict(&model, tx.view()));
    assert!(score > 0.9, "R^2 on held-out Friedman data: {score}");
}

#[test]
fn same_seed_same_model_other_seed_other_model() {
    let (x, y) = friedman(1000, 3, 1.0);
    let params = GbdtParams {
        rounds: 20,
        bagging_fraction: 0.7,
        feature_fraction: 0.6,
        seed: 42,
        ..Default::default()
    };
    let a = Gbdt::fit(x.view(), &y, None, None, &params).unwrap();
    let b = Gbdt::fit(x.view(), &y, None, None, &params).unwrap();
    assert_eq!(a, b);
    let c = Gbdt::fit(x.view(), &y, None, None, &GbdtParams { seed: 43, ..params }).unwrap();
    assert_ne!(a.trees(), c.trees());
}

#[test]
fn early_stopping_on_a_validation_set_keeps_the_best_round() {
    let (x, y) = friedman(500, 4, 8.0);
    let (vx, vy) = friedman(500, 5, 8.0);
    let params = GbdtParams {
        rounds: 1000,
        learning_rate: 0.3,
        early_stopping_rounds: Some(10),
        ..Default::default()
    };
    let model = Gbdt::fit(x.view(), &y, None, Some((vx.view(), &vy)), &params).unwrap();
    let best = model.best_round().expect("early stopping ran");
    assert!(best < 990, "stopped at {best}");
    assert_eq!(model.trees().len(), best + 1);
    let losses = model.valid_loss();
    assert_eq!(
        losses.len(),
        best + 11,
        "ran exactly `patience` rounds past the best"
    );
    let min = losses.iter().cloned().fold(f64::INFINITY, f64::min);
    assert_eq!(losses[best], min);
}

#[test]
fn early_stopping_with_an_internal_holdout() {
    let (x, y) = friedman(800, 6, 8.0);
    let params = GbdtParams {
        rounds: 1000,
        learning_rate: 0.3,
        early_stopping_rounds: Some(10),
        validation_fraction: 0.2,
        ..Default::default()
    };
    let model = Gbdt::fit(x.view(), &y, None, None, &params).unwrap();
    let best = model.best_round().unwrap();
    assert_eq!(model.trees().len(), best + 1);
    assert_eq!(model.valid_loss().len(), best + 11);
}

#[test]
fn missing_values_follow_their_learned_direction() {
    // Rows with a missing x0 have the high target: NaN must be routed with the high side.
    let mut rng = StdRng::seed_from_u64(7);
    let n = 400;
    let mut xs = Vec::new();
    let mut y = Vec::new();
    for i in 0..n {
        let v: f64 = rng.gen();
        if i % 4 == 0 {
            xs.push(f64::NAN);
            y.push(10.0);
        } else {
            xs.push(v);
            y.push(if v > 0.5 { 10.0 } else { 0.0 });
        }
    }
    let x = Array2::from_shape_vec((n, 1), xs).unwrap();
    let model = Gbdt::fit(
        x.view(),
        &y,
        None,
        None,
        &GbdtParams {
            rounds: 50,
            ..Default::default()
        },
    )
    .unwrap();
    assert!((model.predict_row(&[f64::NAN]).unwrap() - 10.0).abs() < 0.1);
    assert!(model.predict_row(&[0.1]).unwrap().abs() < 0.1);
    // A feature that never had missing values still answers for NaN (the heavier side).
    let x2 = Array2::from_shape_fn((n, 1), |(i, _)| i as f64);
    let y2: Vec<f64> = (0..n).map(|i| if i < 300 { 1.0 } else { 5.0 }).collect();
    let m2 = Gbdt::fit(
        x2.view(),
        &y2,
        None,
        None,
        &GbdtParams {
            rounds: 5,
            learning_rate: 1.0,
            ..Default::default()
        },
    )
    .unwrap();
    let at_nan = m2.predict_row(&[f64::NAN]).unwrap();
    assert_eq!(at_nan, m2.predict_row(&[0.0]).unwrap());
    assert!((at_nan - 1.0).abs() < 1e-9, "{at_nan}");
}

#[test]
fn integer_weights_equal_repeated_rows() {
    // Under 255 distinct values per feature, so binning (which ignores weights) gives both
    // fits the same bins.
    let (x, y) = friedman(200, 8, 1.0);
    let weights: Vec<f64> = (0..200).map(|i| (i % 3 + 1) as f64).collect();
    let mut rows = Vec::new();
    let mut ry = Vec::new();
    for (i, r) in x.rows().into_iter().enumerate() {
        for _ in 0..weights[i] as usize {
            rows.extend(r.iter().copied());
            ry.push(y[i]);
        }
    }
    let rx = Array2::from_shape_vec((ry.len(), 10), rows).unwrap();
    let params = GbdtParams {
        rounds: 10,
        ..small_params()
    };
    let weighted = Gbdt::fit(x.view(), &y, Some(&weights), None, &params).unwrap();
    let repeated = Gbdt::fit(rx.view(), &ry, None, None, &params).unwrap();
    let (a, b) = (predict(&weighted, x.view()), predict(&repeated, x.view()));
    for (p, q) in a.iter().zip(&b) {
        assert!((p - q).abs() < 1e-9, "{p} vs {q}");
    }
}

#[test]
fn log_loss_gives_calibrated_looking_probabilities() {
    let mut rng = StdRng::seed_from_u64(9);
    let n = 4000;
    let x = Array2::from_shape_fn((n, 3), |_| rng.gen::<f64>() * 2.0 - 1.0);
    let y: Vec<f64> = x
        .rows()
        .into_iter()
        .map(|r| {
            let p = 1.0 / (1.0 + (-(3.0 * r[0] - 2.0 * r[1])).exp());
            f64::from(u8::from(rng.gen::<f64>() < p))
        })
        .collect();
    let params = GbdtParams {
        objective: Objective::LogLoss,
        rounds: 100,
        learning_rate: 0.05,
        ..Default::default()
    };
    let model = Gbdt::fit(x.view(), &y, None, None, &params).unwrap();
    let p = predict(&model, x.view());
    assert!(p.iter().all(|&v| v > 0.0 && v < 1.0));
    let mean_p = p.iter().sum::<f64>() / n as f64;
    let mean_y = y.iter().sum::<f64>() / n as f64;
    assert!((mean_p - mean_y).abs() < 0.02, "{mean_p} vs {mean_y}");
    assert!(model.predict_row(&[0.9, -0.9, 0.0]).unwrap() > 0.9);
    assert!(model.predict_row(&[-0.9, 0.9, 0.0]).unwrap() < 0.1);
}

#[test]
fn every_regression_objective_learns() {
    let (x, y) = friedman(2000, 10, 1.0);
    let (tx, ty) = friedman(500, 11, 0.0);
    for objective in [
        Objective::SquaredError,
        Objective::AbsoluteError,
        Objective::Huber { delta: 2.0 },
        Objective::Poisson,
    ] {
        let params = GbdtParams {
            objective,
            rounds: 300,
            ..Default::default()
        };
        let model = Gbdt::fit(x.view(), &y, None, None, &params).unwrap();
        let score = r2(&ty, &predict(&model, tx.view()));
        assert!(score > 0.8, "{objective:?}: R^2 {score}");
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    let x = Array2::from_shape_vec((3, 1), vec![1.0, 2.0, 3.0]).unwrap();
    let ok = GbdtParams::default();
    let y = [1.0, 2.0, 3.0];
    let message = |r: Result<Gbdt, Error>| match r {
        Err(Error::InvalidArgument(m)) => m,
        other => panic!("expected InvalidArgument, got {other:?}"),
    };
    let fit = |y: &[f64], w: Option<&[f64]>, params: &GbdtParams| {
        message(Gbdt::fit(x.view(), y, w, None, params))
    };
    let empty = Array2::<f64>::zeros((0, 1));
    assert_eq!(
        message(Gbdt::fit(empty.view(), &[], None, None, &ok)),
        "training data is empty (0 rows x 1 features)"
    );
    let logloss = GbdtParams {
        objective: Objective::LogLoss,
        ..ok.clone()
    };
    // targets, weights, params, expected message
    type Case<'a> = (&'a [f64], Option<&'a [f64]>, &'a GbdtParams, &'a str);
    let cases: [Case; 8] = [
        (
            &[1.0, 2.0],
            None,
            &ok,
            "training data has 3 rows but 2 targets",
        ),
        (
            &[1.0, f64::NAN, 2.0],
            None,
            &ok,
            "target 1 must be a finite number for squared_error, got NaN",
        ),
        (
            &[1.0, f64::INFINITY, 2.0],
            None,
            &ok,
            "target 1 must be a finite number for squared_error, got inf",
        ),
        (
            &y,
            None,
            &GbdtParams {
                rounds: 0,
                ..ok.clone()
            },
            "rounds must be at least 1, got 0",
        ),
        (
            &[0.0, 1.0, 2.0],
            None,
            &logloss,
            "target 2 must be 0 or 1 for log_loss, got 2",
        ),
        (&y, Some(&[1.0]), &ok, "1 weights for 3 rows"),
        (
            &y,
            Some(&[1.0, -1.0, 1.0]),
            &ok,
            "weight 1 must be a finite number >= 0, got -1",
        ),
        (
            &y,
            None,
            &GbdtParams {
                learning_rate: 0.0,
                ..ok.clone()
            },
            "learning_rate must be in (0, 1], got 0",
        ),
    ];
    for (targets, weights, params, expected) in cases {
        assert_eq!(fit(targets, weights, params), expected);
    }
    let wide = Array2::<f64>::zeros((2, 2));
    assert_eq!(
        message(Gbdt::fit(
            x.view(),
            &y,
            None,
            Some((wide.view(), &[1.0, 2.0])),
            &ok
        )),
        "validation data has 2 features, training data 1"
    );
    let model = Gbdt::fit(x.view(), &y, None, None, &ok).unwrap();
    assert!(
        matches!(model.predict_row(&[1.0, 2.0]), Err(Error::InvalidArgument(m)) if m == "row has 2 features, the model 1")
    );
    let mut out = vec![0.0; 2];
    assert!(
        matches!(model.predict(x.view(), &mut out), Err(Error::InvalidArgument(m)) if m == "output holds 2 values for 3 rows")
    );
}

#[test]
fn params_parse_from_json_with_defaults() {
    let p: GbdtParams = serde_json::from_str(
        r#"{"objective": {"name": "huber", "delta": 1.5}, "rounds": 300, "max_leaves": 63}"#,
    )
    .unwrap();
    assert_eq!(p.objective, Objective::Huber { delta: 1.5 });
    assert_eq!((p.rounds, p.max_leaves, p.learning_rate), (300, 63, 0.1));
    assert!(serde_json::from_str::<GbdtParams>(r#"{"round": 3}"#).is_err());
}

#[test]
fn compiled_inference_equals_walking_the_trees() {
    let (mut x, y) = friedman(2000, 12, 1.0);
    for (i, v) in x.iter_mut().enumerate() {
        if i % 7 == 0 {
            *v = f64::NAN;
        }
    }
    let model = Gbdt::fit(
        x.view(),
        &y,
        None,
        None,
        &GbdtParams {
            rounds: 60,
            ..Default::default()
        },
    )
    .unwrap();
    // A column-major copy exercises the non-contiguous input path too.
    let fortran = x.t().as_standard_layout().into_owned().reversed_axes();
    let batch = predict(&model, x.view());
    let batch_f = predict(&model, fortran.view());
    for (r, row) in x.rows().into_iter().enumerate().take(500) {
        let row = row.to_vec();
        let walked = model.base_score()
            + model
                .trees()
                .iter()
                .map(|t| t.predict_row(&row))
                .sum::<f64>();
        let single = model.predict_row(&row).unwrap();
        assert!(
            (walked - single).abs() < 1e-9,
            "row {r}: {walked} vs {single}"
        );
        assert_eq!(single, batch[r], "row {r}: single vs batch");
        assert_eq!(batch[r], batch_f[r]);
    }
}

#[test]
fn absolute_error_leaves_are_residual_medians() {
    // Two groups with skewed targets: with learning rate 1 and one round, each leaf must hold
    // the group's median minus the starting median (the L1-optimal step), not a unit step.
    let x: Vec<f64> = (0..40).map(|i| f64::from(i / 20)).collect();
    let y: Vec<f64> = (0..40)
        .map(|i| {
            let base = if i < 20 { 10.0 } else { 100.0 };
            base + f64::from(i % 20).powi(2) // skewed: median != mean
        })
        .collect();
    let x = ndarray::Array2::from_shape_vec((40, 1), x).unwrap();
    let params = GbdtParams {
        objective: Objective::AbsoluteError,
        rounds: 1,
        learning_rate: 1.0,
        max_leaves: 2,
        min_samples_leaf: 1,
        ..Default::default()
    };
    let model = Gbdt::fit(x.view(), &y, None, None, &params).unwrap();
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2 - 1] // lower median: first value reaching half the weight
    };
    let low = median(&mut y[..20].to_vec());
    let high = median(&mut y[20..].to_vec());
    assert!((model.predict_row(&[0.0]).unwrap() - low).abs() < 1e-9);
    assert!((model.predict_row(&[1.0]).unwrap() - high).abs() < 1e-9);
}
