//! Tests of the grower: leaf-wise order, limits, per-split feature sampling, deep trees.

use super::*;
use ndarray::Array2;
use rand::{Rng, SeedableRng};

fn rules(max_leaves: usize) -> GrowRules {
    GrowRules {
        max_leaves,
        max_depth: 0,
        split: SplitRules {
            lambda_l2: 0.0,
            min_child_weight: 0.0,
            min_samples_leaf: 1,
            min_split_gain: 0.0,
        },
        features_per_split: 0,
        seed: 0,
    }
}

#[test]
fn grows_best_first_and_reports_leaf_rows() {
    // y = 0 for x < 4, 10 for 4..8, 11 for x >= 8: the big gap splits first.
    let x: Vec<f64> = (0..12).map(f64::from).collect();
    let y: Vec<f64> = x
        .iter()
        .map(|&v| {
            if v < 4.0 {
                0.0
            } else if v < 8.0 {
                10.0
            } else {
                11.0
            }
        })
        .collect();
    let data = BinnedData::fit(
        Array2::from_shape_vec((12, 1), x.clone()).unwrap().view(),
        255,
        0,
    )
    .unwrap();
    let grad: Vec<f64> = y.iter().map(|v| -v).collect();
    let hess = vec![1.0; 12];
    let mut rows: Vec<u32> = (0..12).collect();
    let (tree, leaves) = grow(&data, &mut rows, &grad, &hess, &[0], &rules(3));
    assert_eq!(tree.n_leaves(), 3);
    assert_eq!(tree.nodes[0].threshold, 3.5);
    for (i, &v) in x.iter().enumerate() {
        assert_eq!(tree.predict_row(&[v]), y[i], "x={v}");
        assert_eq!(tree.predict_binned(&data, i), y[i]);
    }
    let covered: usize = leaves.iter().map(|l| l.end - l.start).sum();
    assert_eq!(covered, 12);
    for l in &leaves {
        for &r in &rows[l.start..l.end] {
            assert_eq!(tree.nodes[l.node].value, y[r as usize]);
        }
    }
}

#[test]
fn depth_and_leaf_limits_hold() {
    let x: Vec<f64> = (0..64).map(f64::from).collect();
    let data = BinnedData::fit(
        Array2::from_shape_vec((64, 1), x.clone()).unwrap().view(),
        255,
        0,
    )
    .unwrap();
    let grad: Vec<f64> = x.iter().map(|v| -(v * v)).collect();
    let hess = vec![1.0; 64];
    let mut rows: Vec<u32> = (0..64).collect();
    let (tree, _) = grow(
        &data,
        &mut rows,
        &grad,
        &hess,
        &[0],
        &GrowRules {
            max_depth: 2,
            ..rules(31)
        },
    );
    assert_eq!(tree.n_leaves(), 4);
    let mut rows: Vec<u32> = (0..64).collect();
    let (tree, _) = grow(&data, &mut rows, &grad, &hess, &[0], &rules(7));
    assert_eq!(tree.n_leaves(), 7);
}

#[test]
fn per_split_sampling_limits_each_node_and_is_seeded() {
    // Only feature 2 carries signal; with one feature per split, some nodes must settle
    // for a noise feature, and the same seed grows the same tree.
    let n = 400;
    let x = Array2::from_shape_fn((n, 4), |(i, j)| {
        if j == 2 {
            i as f64
        } else {
            ((i as u64 * 2_654_435_761 + j as u64 * 97) % 1009) as f64
        }
    });
    let data = BinnedData::fit(x.view(), 255, 0).unwrap();
    let grad: Vec<f64> = (0..n).map(|i| -x[[i, 2]]).collect();
    let hess = vec![1.0; n];
    let rules = |seed| GrowRules {
        max_leaves: 16,
        max_depth: 0,
        split: SplitRules {
            lambda_l2: 0.0,
            min_child_weight: 0.0,
            min_samples_leaf: 5,
            min_split_gain: 0.0,
        },
        features_per_split: 1,
        seed,
    };
    let features = [0, 1, 2, 3];
    let grow_with = |seed| {
        let mut rows: Vec<u32> = (0..n as u32).collect();
        grow(&data, &mut rows, &grad, &hess, &features, &rules(seed)).0
    };
    let a = grow_with(7);
    assert_eq!(a, grow_with(7));
    let used: std::collections::BTreeSet<u32> = a
        .nodes
        .iter()
        .filter(|nd| !nd.is_leaf())
        .map(|nd| nd.feature)
        .collect();
    assert!(
        used.len() > 1,
        "one feature per split should mix features: {used:?}"
    );
    let mut rows: Vec<u32> = (0..n as u32).collect();
    let all = grow(
        &data,
        &mut rows,
        &grad,
        &hess,
        &features,
        &GrowRules {
            features_per_split: 0,
            ..rules(7)
        },
    )
    .0;
    assert!(all
        .nodes
        .iter()
        .filter(|nd| !nd.is_leaf())
        .all(|nd| nd.feature == 2));
}

/// Rows around the histogram threshold exercise every path: built histograms,
/// subtraction, rows taken out of a parent, and row-based searches.
fn deep(n: usize, seed: u64, threads: usize) -> (Tree, Vec<LeafRows>, Vec<u32>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let x = Array2::from_shape_fn((n, 4), |(_, f)| {
        if f == 3 && rng.gen::<f64>() < 0.1 {
            f64::NAN
        } else {
            rng.gen::<f64>()
        }
    });
    let data = BinnedData::fit(x.view(), 255, 0).unwrap();
    let grad: Vec<f64> = (0..n)
        .map(|i| -(x[[i, 0]] * 10.0).sin() - x[[i, 1]] + rng.gen::<f64>())
        .collect();
    let hess: Vec<f64> = (0..n).map(|i| 0.5 + x[[i, 2]]).collect();
    let rules = GrowRules {
        max_leaves: n,
        max_depth: 0,
        split: SplitRules {
            lambda_l2: 0.1,
            min_child_weight: 0.0,
            min_samples_leaf: 1,
            min_split_gain: 0.0,
        },
        features_per_split: 2,
        seed,
    };
    let mut rows: Vec<u32> = (0..n as u32).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let (tree, leaves) =
        pool.install(|| grow(&data, &mut rows, &grad, &hess, &[0, 1, 2, 3], &rules));
    for l in &leaves {
        let mut s = NodeStats::default();
        for &r in &rows[l.start..l.end] {
            assert_eq!(
                tree.predict_binned(&data, r as usize),
                tree.nodes[l.node].value
            );
            s.add_row(grad[r as usize], hess[r as usize]);
        }
        let want = rules.split.leaf_value(&s);
        assert!((tree.nodes[l.node].value - want).abs() < 1e-9 * (1.0 + want.abs()));
    }
    (tree, leaves, rows, grad)
}

#[test]
fn deep_trees_are_consistent_and_thread_count_independent() {
    for (n, seed) in [(3000, 1), (700, 2), (257, 3)] {
        let (tree, leaves, rows, _) = deep(n, seed, 1);
        assert!(
            tree.n_leaves() > n / 4,
            "{} leaves for {n} rows",
            tree.n_leaves()
        );
        assert_eq!(leaves.iter().map(|l| l.end - l.start).sum::<usize>(), n);
        let (tree2, leaves2, rows2, _) = deep(n, seed, 2);
        assert_eq!((tree, leaves, rows), (tree2, leaves2, rows2));
    }
}
