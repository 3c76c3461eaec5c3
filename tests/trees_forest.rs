//! Random forests: known answers, accuracy and out-of-bag estimates on Friedman #1 and a
//! binary task, determinism (per seed and per thread count), bootstrap modes, per-split
//! feature sampling, weights, missing values, and bad input.

use ndarray::{Array2, ArrayView2};
use rand::{rngs::StdRng, Rng, SeedableRng};
use tenantml::trees::forest::{Bootstrap, FeaturesPerSplit, Forest, ForestParams, ForestTask};
use tenantml::Error;

mod common;

use tenantml::trees::metrics::r2;

/// Friedman #1 with 10 features (5 of them noise).
fn friedman(n: usize, seed: u64, noise: f64) -> (Array2<f64>, Vec<f64>) {
    common::friedman::friedman(n, 10, seed, noise)
}

fn predict(model: &Forest, x: ArrayView2<f64>) -> Vec<f64> {
    let mut out = vec![0.0; x.nrows()];
    model.predict(x, &mut out).unwrap();
    out
}

/// AUC by counting every (positive, negative) pair, ties half: slow but obviously right.
fn auc_by_pairs(y: &[f64], p: &[f64]) -> f64 {
    let (mut wins, mut pairs) = (0.0, 0.0);
    for (i, _) in y.iter().enumerate().filter(|(_, &v)| v == 1.0) {
        for (j, _) in y.iter().enumerate().filter(|(_, &v)| v == 0.0) {
            pairs += 1.0;
            wins += if p[i] > p[j] {
                1.0
            } else if p[i] == p[j] {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / pairs
}

/// Two noisy informative features and three noise features; label 1 above a curved border.
fn binary_data(n: usize, seed: u64) -> (Array2<f64>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let x = Array2::from_shape_fn((n, 5), |_| rng.gen::<f64>());
    let y = x
        .rows()
        .into_iter()
        .map(|r| {
            let z = r[0] + r[1] * r[1] + 0.3 * (rng.gen::<f64>() - 0.5);
            f64::from(z > 0.8)
        })
        .collect();
    (x, y)
}

/// Same trees, same OOB predictions bit for bit (NaN included), same score.
fn assert_same(a: &Forest, b: &Forest) {
    assert_eq!(a.trees(), b.trees());
    let bits = |m: &Forest| -> Vec<u64> {
        m.oob_predictions()
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    };
    assert_eq!(bits(a), bits(b));
    assert_eq!(a.oob_score(), b.oob_score());
}

#[test]
fn leaves_are_means_and_one_unsampled_tree_fits_exactly() {
    let x = Array2::from_shape_vec((4, 1), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    let y = [1.0, 1.0, 5.0, 5.0];
    let params = ForestParams {
        trees: 1,
        bootstrap: Bootstrap::None,
        max_leaves: 2,
        min_samples_leaf: 1,
        ..Default::default()
    };
    let model = Forest::fit(x.view(), &y, None, &params).unwrap();
    let tree = &model.trees()[0];
    assert_eq!(tree.nodes[0].threshold, 2.5);
    assert_eq!((tree.nodes[1].value, tree.nodes[2].value), (1.0, 5.0));
    assert_eq!(predict(&model, x.view()), y);
    // Every row was in the only tree's sample: no out-of-bag estimate.
    assert!(model.oob_predictions().unwrap().iter().all(|v| v.is_nan()));
    assert_eq!(model.oob_score(), None);

    // Binary: a leaf's value is its share of 1s, weighted.
    let labels = [0.0, 1.0, 1.0, 1.0];
    let stump = ForestParams {
        task: ForestTask::Binary,
        max_depth: 1,
        min_samples_leaf: 2,
        ..params
    };
    let w = [1.0, 3.0, 1.0, 1.0];
    let model = Forest::fit(x.view(), &labels, Some(&w), &stump).unwrap();
    assert_eq!(predict(&model, x.view()), [0.75, 0.75, 1.0, 1.0]);
}

#[test]
fn friedman_regression_is_accurate_and_oob_tracks_held_out() {
    let (x, y) = friedman(3000, 1, 1.0);
    let (tx, ty) = friedman(1000, 2, 1.0);
    let model = Forest::fit(x.view(), &y, None, &ForestParams::default()).unwrap();
    let held_out = r2(&ty, &predict(&model, tx.view()));
    let oob = model.oob_score().unwrap();
    assert!(held_out > 0.8, "held-out R^2 {held_out}");
    assert!(
        (oob - held_out).abs() < 0.05,
        "OOB R^2 {oob} vs held-out {held_out}"
    );
    let oob_p = model.oob_predictions().unwrap();
    assert!(oob_p.iter().all(|v| v.is_finite()));
    assert!((r2(&y, oob_p) - oob).abs() < 1e-12);
    // Feature 3 (coefficient 10) matters more than any noise feature (5..10).
    let gain = model.importance_gain();
    assert!(gain[5..].iter().all(|&g| g < gain[3]), "{gain:?}");
    assert!(model.importance_splits().iter().all(|&s| s > 0));
}

#[test]
fn binary_probabilities_rank_well_and_oob_auc_agrees() {
    let (x, y) = binary_data(3000, 5);
    let (tx, ty) = binary_data(1000, 6);
    let params = ForestParams {
        task: ForestTask::Binary,
        ..Default::default()
    };
    let model = Forest::fit(x.view(), &y, None, &params).unwrap();
    let p = predict(&model, tx.view());
    assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
    let auc = auc_by_pairs(&ty, &p);
    assert!(auc > 0.95, "held-out AUC {auc}");
    let oob = model.oob_score().unwrap();
    assert!((oob - auc).abs() < 0.03, "OOB AUC {oob} vs held-out {auc}");
    let oob_p = model.oob_predictions().unwrap();
    assert!((auc_by_pairs(&y, oob_p) - oob).abs() < 1e-12);
    let tenantml_auc = tenantml::trees::metrics::roc_auc(&ty, &p);
    assert!((tenantml_auc - auc).abs() < 1e-12);
}

#[test]
fn same_seed_same_model_other_seed_differs() {
    let (x, y) = friedman(800, 3, 1.0);
    let params = ForestParams {
        trees: 20,
        features_per_split: Some(FeaturesPerSplit::Sqrt),
        ..Default::default()
    };
    let a = Forest::fit(x.view(), &y, None, &params).unwrap();
    assert_same(&a, &Forest::fit(x.view(), &y, None, &params).unwrap());
    let other = ForestParams { seed: 1, ..params };
    assert_ne!(
        a.trees(),
        Forest::fit(x.view(), &y, None, &other).unwrap().trees()
    );
}

#[test]
fn thread_count_does_not_change_the_model() {
    // About 7,600 distinct rows per sample x 10 features: above the rows x features at which
    // histograms are built in parallel, so threads split work inside trees too.
    let (x, y) = friedman(12_000, 4, 1.0);
    let params = ForestParams {
        trees: 8,
        min_samples_leaf: 5,
        features_per_split: Some(FeaturesPerSplit::Fraction(0.5)),
        bootstrap: Bootstrap::Poisson,
        ..Default::default()
    };
    let fit_on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| Forest::fit(x.view(), &y, None, &params).unwrap())
    };
    assert_same(&fit_on(1), &fit_on(2));
}

#[test]
fn single_row_and_batch_predictions_are_bit_equal() {
    let (mut x, y) = friedman(2500, 7, 1.0);
    for i in (0..2500).step_by(7) {
        x[[i, i % 10]] = f64::NAN;
    }
    let model = Forest::fit(
        x.view(),
        &y,
        None,
        &ForestParams {
            trees: 30,
            ..Default::default()
        },
    )
    .unwrap();
    // 2500 rows: batches are scored in parallel chunks, with full 64-row blocks and a
    // partial last one.
    let batch = predict(&model, x.view());
    for (i, row) in x.rows().into_iter().enumerate() {
        let single = model.predict_row(row.as_slice().unwrap()).unwrap();
        assert_eq!(single.to_bits(), batch[i].to_bits(), "row {i}");
    }
    // Column-major input gives the same answers.
    let fortran = x.t().as_standard_layout().to_owned();
    assert_eq!(predict(&model, fortran.t()), batch);
}

#[test]
fn every_bootstrap_mode_fits_and_reports_oob_where_it_exists() {
    let (x, y) = friedman(2000, 8, 1.0);
    let (tx, ty) = friedman(500, 9, 1.0);
    for (bootstrap, fraction, has_oob) in [
        (Bootstrap::Sample, 1.0, true),
        (Bootstrap::Sample, 0.3, true),
        (Bootstrap::Poisson, 1.0, true),
        (Bootstrap::Poisson, 0.5, true),
        (Bootstrap::None, 0.6, true),
        (Bootstrap::None, 1.0, false),
    ] {
        let params = ForestParams {
            trees: 40,
            bootstrap,
            sample_fraction: fraction,
            features_per_split: Some(FeaturesPerSplit::Fraction(0.5)),
            ..Default::default()
        };
        let model = Forest::fit(x.view(), &y, None, &params).unwrap();
        let score = r2(&ty, &predict(&model, tx.view()));
        assert!(score > 0.75, "{bootstrap:?} {fraction}: R^2 {score}");
        assert_eq!(model.oob_score().is_some(), has_oob, "{bootstrap:?}");
        if let Some(oob) = model.oob_score() {
            assert!(
                (oob - score).abs() < 0.1,
                "{bootstrap:?} {fraction}: OOB {oob} vs {score}"
            );
        }
    }
}

#[test]
fn per_split_feature_sampling_changes_the_model() {
    let (x, y) = friedman(1500, 10, 1.0);
    let fit = |features| {
        let params = ForestParams {
            trees: 20,
            features_per_split: Some(features),
            ..Default::default()
        };
        Forest::fit(x.view(), &y, None, &params).unwrap()
    };
    let all = fit(FeaturesPerSplit::Fraction(1.0));
    let sqrt = fit(FeaturesPerSplit::Sqrt);
    assert_ne!(all.trees(), sqrt.trees());
    // With 3 of 10 features per split, noise features win more splits.
    let noise_share = |m: &Forest| {
        let s = m.importance_splits();
        s[5..].iter().sum::<u32>() as f64 / s.iter().sum::<u32>() as f64
    };
    assert!(
        noise_share(&sqrt) > noise_share(&all),
        "{} vs {}",
        noise_share(&sqrt),
        noise_share(&all)
    );
    // The task decides the default: sqrt for binary.
    let binary = ForestParams {
        task: ForestTask::Binary,
        ..Default::default()
    };
    assert_eq!(binary.features_rule(), FeaturesPerSplit::Sqrt);
    assert_eq!(
        ForestParams::default().features_rule(),
        FeaturesPerSplit::Fraction(1.0)
    );
}

#[test]
fn zero_weight_rows_are_ignored_and_missing_values_are_routed() {
    // Rows 0..200 carry y = x; rows 200..300 have absurd targets but weight 0.
    let n = 300;
    let x = Array2::from_shape_fn((n, 2), |(i, j)| ((i * 7 + j * 13) % 100) as f64);
    let y: Vec<f64> = (0..n)
        .map(|i| if i < 200 { x[[i, 0]] } else { 1e6 })
        .collect();
    let w: Vec<f64> = (0..n).map(|i| if i < 200 { 1.0 } else { 0.0 }).collect();
    let params = ForestParams {
        trees: 20,
        ..Default::default()
    };
    let model = Forest::fit(x.view(), &y, Some(&w), &params).unwrap();
    let p = predict(&model, x.view());
    assert!(p.iter().all(|&v| (0.0..=99.0).contains(&v)), "{p:?}");

    let mut xm = x.clone();
    for i in (0..n).step_by(3) {
        xm[[i, 1]] = f64::NAN;
    }
    let model = Forest::fit(xm.view(), &y, Some(&w), &params).unwrap();
    let p = model.predict_row(&[f64::NAN, f64::NAN]).unwrap();
    assert!(p.is_finite());
}

#[test]
fn params_round_trip_through_json() {
    let params = ForestParams {
        task: ForestTask::Binary,
        features_per_split: Some(FeaturesPerSplit::Fraction(0.25)),
        bootstrap: Bootstrap::Poisson,
        ..Default::default()
    };
    let json = serde_json::to_string(&params).unwrap();
    assert!(json.contains(r#""task":"binary""#), "{json}");
    assert!(json.contains(r#""bootstrap":"poisson""#), "{json}");
    assert_eq!(serde_json::from_str::<ForestParams>(&json).unwrap(), params);
    let parsed: ForestParams =
        serde_json::from_str(r#"{"bootstrap": "none", "features_per_split": "sqrt"}"#).unwrap();
    assert_eq!(parsed.bootstrap, Bootstrap::None);
    assert_eq!(parsed.trees, 100);
}

#[test]
fn bad_input_is_rejected_with_the_reason() {
    let (x, y) = friedman(50, 11, 0.0);
    let labels: Vec<f64> = y.iter().map(|&v| f64::from(v > 14.0)).collect();
    let ok = ForestParams {
        trees: 3,
        ..Default::default()
    };
    let binary = ForestParams {
        task: ForestTask::Binary,
        ..ok.clone()
    };
    let empty = Array2::<f64>::zeros((0, 10));
    let mut nan_y = y.clone();
    nan_y[4] = f64::NAN;
    let mut inf_y = y.clone();
    inf_y[9] = f64::INFINITY;
    let mut two = labels.clone();
    two[3] = 2.0;
    let with = |f: fn(&mut ForestParams)| {
        let mut p = ok.clone();
        f(&mut p);
        p
    };
    let cases: Vec<(&str, Result<Forest, Error>)> = vec![
        ("empty", Forest::fit(empty.view(), &[], None, &ok)),
        ("rows but", Forest::fit(x.view(), &y[..49], None, &ok)),
        ("target 4", Forest::fit(x.view(), &nan_y, None, &ok)),
        ("target 9", Forest::fit(x.view(), &inf_y, None, &ok)),
        ("0 or 1", Forest::fit(x.view(), &y, None, &binary)),
        ("target 3", Forest::fit(x.view(), &two, None, &binary)),
        (
            "trees",
            Forest::fit(x.view(), &y, None, &with(|p| p.trees = 0)),
        ),
        (
            "sample_fraction",
            Forest::fit(x.view(), &y, None, &with(|p| p.sample_fraction = 0.0)),
        ),
        (
            "sample_fraction",
            Forest::fit(x.view(), &y, None, &with(|p| p.sample_fraction = 1.5)),
        ),
        (
            "features_per_split",
            Forest::fit(
                x.view(),
                &y,
                None,
                &with(|p| p.features_per_split = Some(FeaturesPerSplit::Fraction(f64::NAN))),
            ),
        ),
        (
            "max_leaves",
            Forest::fit(x.view(), &y, None, &with(|p| p.max_leaves = 1)),
        ),
        (
            "min_samples_leaf",
            Forest::fit(x.view(), &y, None, &with(|p| p.min_samples_leaf = 0)),
        ),
        (
            "max_bins",
            Forest::fit(x.view(), &y, None, &with(|p| p.max_bins = 1)),
        ),
        ("weights", Forest::fit(x.view(), &y, Some(&[1.0; 3]), &ok)),
        (
            "weight 0",
            Forest::fit(x.view(), &y, Some(&[-1.0; 50]), &ok),
        ),
        ("weights", Forest::fit(x.view(), &y, Some(&[0.0; 50]), &ok)),
    ];
    for (needle, result) in cases {
        match result {
            Err(Error::InvalidArgument(msg)) => {
                assert!(msg.contains(needle), "{needle:?} not in {msg:?}")
            }
            other => panic!("{needle}: expected InvalidArgument, got {other:?}"),
        }
    }
    let mut nan_w = vec![1.0; 50];
    nan_w[7] = f64::NAN;
    assert!(Forest::fit(x.view(), &y, Some(&nan_w), &ok)
        .unwrap_err()
        .to_string()
        .contains("weight 7"));

    let model = Forest::fit(x.view(), &y, None, &ok).unwrap();
    let err = model.predict_row(&[0.0; 9]).unwrap_err().to_string();
    assert!(err.contains("9 features"), "{err}");
    let mut out = vec![0.0; 50];
    let narrow = Array2::<f64>::zeros((50, 11));
    assert!(model.predict(narrow.view(), &mut out).is_err());
    let mut short = vec![0.0; 49];
    assert!(model.predict(x.view(), &mut short).is_err());
}

#[test]
fn min_samples_leaf_bounds_every_leaf_and_one_grows_deeper_trees() {
    let (x, y) = friedman(1000, 12, 1.0);
    let fit = |min_samples_leaf| {
        let params = ForestParams {
            trees: 10,
            min_samples_leaf,
            ..Default::default()
        };
        Forest::fit(x.view(), &y, None, &params).unwrap()
    };
    let leaves = |m: &Forest| m.trees().iter().map(|t| t.n_leaves()).sum::<usize>();
    let (coarse, full) = (fit(5), fit(1));
    // A leaf's cover is its bootstrap count, at least one per distinct row.
    for tree in coarse.trees() {
        assert!(tree
            .nodes
            .iter()
            .filter(|n| n.is_leaf())
            .all(|n| n.cover >= 5.0));
    }
    assert!(
        leaves(&full) > 2 * leaves(&coarse),
        "{} vs {}",
        leaves(&full),
        leaves(&coarse)
    );
}

#[test]
fn each_tree_sees_the_requested_sample() {
    // A root's cover is the tree's total weight: the number of draws, unweighted.
    let (x, y) = friedman(10_000, 13, 1.0);
    let root_covers = |bootstrap, sample_fraction| -> Vec<f64> {
        let params = ForestParams {
            trees: 4,
            max_depth: 1,
            bootstrap,
            sample_fraction,
            ..Default::default()
        };
        let model = Forest::fit(x.view(), &y, None, &params).unwrap();
        model.trees().iter().map(|t| t.nodes[0].cover).collect()
    };
    assert_eq!(root_covers(Bootstrap::Sample, 0.5), [5000.0; 4]);
    assert_eq!(root_covers(Bootstrap::None, 0.3), [3000.0; 4]);
    assert_eq!(root_covers(Bootstrap::None, 1.0), [10_000.0; 4]);
    for c in root_covers(Bootstrap::Poisson, 1.0) {
        assert!((9_500.0..10_500.0).contains(&c), "{c}");
    }
    let subsample = ForestParams {
        trees: 3,
        bootstrap: Bootstrap::None,
        sample_fraction: 0.3,
        ..Default::default()
    };
    let model = Forest::fit(x.view(), &y, None, &subsample).unwrap();
    let seen_by_all = model
        .oob_predictions()
        .unwrap()
        .iter()
        .filter(|v| v.is_nan())
        .count();
    // Only rows in all three 30% subsamples lack an OOB prediction: 0.3^3 of 10,000 = 270
    // expected (standard deviation 16).
    assert!((200..350).contains(&seen_by_all), "{seen_by_all}");
}

#[test]
fn features_per_split_rounds_like_scikit_learn_and_reads_json() {
    assert_eq!(FeaturesPerSplit::Sqrt.count(30), 5);
    assert_eq!(FeaturesPerSplit::Sqrt.count(1), 1);
    assert_eq!(FeaturesPerSplit::Fraction(0.33).count(30), 9);
    assert_eq!(FeaturesPerSplit::Fraction(0.01).count(30), 1);
    assert_eq!(FeaturesPerSplit::Fraction(1.0).count(30), 30);
    let json = |f: FeaturesPerSplit| serde_json::to_string(&f).unwrap();
    assert_eq!(json(FeaturesPerSplit::Sqrt), "\"sqrt\"");
    assert_eq!(json(FeaturesPerSplit::Fraction(0.5)), "0.5");
    let err = serde_json::from_str::<ForestParams>(r#"{"features_per_split": "log"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("features_per_split"), "{err}");
    assert!(serde_json::from_str::<ForestParams>(r#"{"tres": 3}"#).is_err());
}
