//! TreeSHAP explanations: agreement with Shapley values enumerated by brute force, additivity
//! on fitted models (with missing values), malformed trees and bad input, and reason codes.

use ndarray::Array2;
use rand::{rngs::StdRng, Rng, SeedableRng};
use tenantml::trees::explain::{
    top_reasons, ExplainScratch, Reason, ReasonDirection, TreeExplainer,
};
use tenantml::trees::gbdt::{Gbdt, GbdtParams};
use tenantml::trees::objective::Objective;
use tenantml::trees::tree::{Node, Tree};
use tenantml::Error;

mod common;

fn leaf(value: f64, cover: f64) -> Node {
    Node {
        feature: 0,
        threshold: 0.0,
        bin: 0,
        default_left: false,
        left: 0,
        right: 0,
        value,
        gain: 0.0,
        cover,
    }
}

fn split(feature: u32, threshold: f64, default_left: bool, left: u32, right: u32) -> Node {
    Node {
        feature,
        threshold,
        bin: 0,
        default_left,
        left,
        right,
        value: 0.0,
        gain: 1.0,
        cover: 0.0,
    }
}

/// A random tree of depth <= `max_depth` on `n_features` features (features may repeat
/// along a path), with random leaf values and covers; about one leaf in eight has zero
/// cover, so whole zero-cover subtrees occur too. A node's cover is its children's sum.
fn random_tree(rng: &mut StdRng, n_features: usize, max_depth: usize) -> Tree {
    fn grow(rng: &mut StdRng, nodes: &mut Vec<Node>, f: usize, depth_left: usize) -> usize {
        let at = nodes.len();
        nodes.push(leaf(0.0, 0.0));
        if depth_left == 0 || (at > 0 && rng.gen::<f64>() < 0.25) {
            let cover = if rng.gen::<f64>() < 0.125 {
                0.0
            } else {
                rng.gen_range(1.0..20.0_f64).round()
            };
            nodes[at] = leaf(rng.gen_range(-3.0..3.0), cover);
            return at;
        }
        let l = grow(rng, nodes, f, depth_left - 1);
        let r = grow(rng, nodes, f, depth_left - 1);
        let mut n = split(
            rng.gen_range(0..f as u32),
            rng.gen::<f64>(),
            rng.gen(),
            l as u32,
            r as u32,
        );
        n.cover = nodes[l].cover + nodes[r].cover;
        nodes[at] = n;
        at
    }
    let mut nodes = Vec::new();
    grow(rng, &mut nodes, n_features, max_depth);
    Tree { nodes }
}

fn random_row(rng: &mut StdRng, n_features: usize, nan_rate: f64) -> Vec<f64> {
    (0..n_features)
        .map(|_| {
            if rng.gen::<f64>() < nan_rate {
                f64::NAN
            } else {
                rng.gen()
            }
        })
        .collect()
}

/// Algorithm 1 of the paper: E[f(x) | x_S] along the tree, where a split on a feature
/// outside `known` averages its children by cover share (half each when both are 0).
fn conditional_expectation(tree: &Tree, node: usize, row: &[f64], known: u32) -> f64 {
    let n = &tree.nodes[node];
    if n.is_leaf() {
        return n.value;
    }
    let (l, r) = (n.left as usize, n.right as usize);
    if known & (1 << n.feature) != 0 {
        let v = row[n.feature as usize];
        let left = if v.is_nan() {
            n.default_left
        } else {
            v <= n.threshold
        };
        return conditional_expectation(tree, if left { l } else { r }, row, known);
    }
    let (cl, cr) = (tree.nodes[l].cover, tree.nodes[r].cover);
    let (wl, wr) = if cl + cr > 0.0 {
        (cl / (cl + cr), cr / (cl + cr))
    } else {
        (0.5, 0.5)
    };
    wl * conditional_expectation(tree, l, row, known)
        + wr * conditional_expectation(tree, r, row, known)
}

/// Shapley values of v(S) = base + sum over trees of E[tree(x) | x_S], by enumerating
/// every subset; also returns v(empty set).
fn brute_force_shap(trees: &[Tree], base: f64, row: &[f64]) -> (Vec<f64>, f64) {
    let m = row.len();
    assert!(m <= 10);
    let v = |s: u32| -> f64 {
        base + trees
            .iter()
            .map(|t| conditional_expectation(t, 0, row, s))
            .sum::<f64>()
    };
    let values: Vec<f64> = (0..1u32 << m).map(v).collect();
    let fact = |k: usize| (1..=k).map(|i| i as f64).product::<f64>();
    let mut phi = vec![0.0; m];
    for (i, p) in phi.iter_mut().enumerate() {
        for s in 0..1u32 << m {
            if s & (1 << i) != 0 {
                continue;
            }
            let size = s.count_ones() as usize;
            let w = fact(size) * fact(m - size - 1) / fact(m);
            *p += w * (values[(s | 1 << i) as usize] - values[s as usize]);
        }
    }
    (phi, values[0])
}

fn assert_close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs())),
        "{what}: {a} vs {b}"
    );
}

fn explain(explainer: &TreeExplainer, row: &[f64]) -> (Vec<f64>, f64) {
    let mut out = vec![f64::NAN; row.len()];
    let expected = explainer.contributions(row, &mut out).unwrap();
    (out, expected)
}

fn check_against_brute_force(trees: &[Tree], base: f64, row: &[f64], what: &str) {
    let explainer = TreeExplainer::new(trees, base, row.len()).unwrap();
    let (phi, expected) = explain(&explainer, row);
    let (want, want_expected) = brute_force_shap(trees, base, row);
    assert_close(
        expected,
        want_expected,
        1e-9,
        &format!("{what}: expected value"),
    );
    assert_close(
        explainer.expected_value(),
        want_expected,
        1e-9,
        &format!("{what}: expected_value()"),
    );
    for (i, (a, b)) in phi.iter().zip(&want).enumerate() {
        assert_close(*a, *b, 1e-9, &format!("{what}: feature {i}"));
    }
}

#[test]
fn random_hand_built_trees_match_brute_force() {
    for seed in 0..300 {
        let mut rng = StdRng::seed_from_u64(seed);
        // Few features on deep trees force repeated features along paths.
        let m = rng.gen_range(1..=6);
        let n_trees = rng.gen_range(1..=3);
        let trees: Vec<Tree> = (0..n_trees)
            .map(|_| {
                let depth = rng.gen_range(0..=6);
                random_tree(&mut rng, m, depth)
            })
            .collect();
        let base = rng.gen_range(-1.0..1.0);
        for r in 0..4 {
            let row = random_row(&mut rng, m, 0.2);
            check_against_brute_force(&trees, base, &row, &format!("seed {seed} row {r}"));
        }
    }
}

#[test]
fn small_fitted_models_match_brute_force() {
    for seed in 0..12 {
        let mut rng = StdRng::seed_from_u64(1000 + seed);
        let m = 6;
        let mut x = Array2::from_shape_fn((300, m), |_| rng.gen::<f64>());
        let objective = if seed % 2 == 0 {
            Objective::SquaredError
        } else {
            Objective::LogLoss
        };
        let y: Vec<f64> = x
            .rows()
            .into_iter()
            .map(|r| {
                let s = 3.0 * r[0].max(0.2) * r[1].min(0.8) - r[2] + rng.gen::<f64>();
                match objective {
                    Objective::LogLoss => f64::from(s > 0.3),
                    _ => s,
                }
            })
            .collect();
        // Missing values after the targets, so splits learn a direction for them.
        x.mapv_inplace(|v| if rng.gen::<f64>() < 0.1 { f64::NAN } else { v });
        let params = GbdtParams {
            objective,
            rounds: 8,
            max_leaves: 8,
            min_samples_leaf: 5,
            seed,
            ..Default::default()
        };
        let model = Gbdt::fit(x.view(), &y, None, None, &params).unwrap();
        for r in 0..5 {
            let row = random_row(&mut rng, m, 0.15);
            check_against_brute_force(
                model.trees(),
                model.base_score(),
                &row,
                &format!("seed {seed} row {r}"),
            );
        }
    }
}

#[test]
fn feature_split_twice_on_a_path_matches_brute_force() {
    // x0 <= 0.5 then x0 <= 0.2 on the left, x1 on the right, then x0 again below x1.
    let nodes = vec![
        split(0, 0.5, true, 1, 2),
        split(0, 0.2, false, 3, 4),
        split(1, 0.5, false, 5, 6),
        leaf(1.0, 10.0),
        leaf(2.0, 30.0),
        split(0, 0.8, true, 7, 8),
        leaf(-4.0, 25.0),
        leaf(5.0, 5.0),
        leaf(7.0, 15.0),
    ];
    let trees = [Tree { nodes }];
    for row in [
        [0.1, 0.3],
        [0.3, 0.9],
        [0.9, 0.1],
        [0.6, 0.2],
        [f64::NAN, 0.2],
        [f64::NAN, f64::NAN],
    ] {
        check_against_brute_force(&trees, 0.5, &row, &format!("{row:?}"));
    }
}

#[test]
fn zero_cover_children_are_guarded() {
    // The right subtree of the root was never reached in training, and its own split has
    // no cover on either side.
    let nodes = vec![
        split(0, 0.5, false, 1, 2),
        leaf(1.0, 10.0),
        split(1, 0.5, true, 3, 4),
        leaf(8.0, 0.0),
        leaf(-2.0, 0.0),
    ];
    let trees = [Tree { nodes }];
    let explainer = TreeExplainer::new(&trees, 0.0, 2).unwrap();
    assert_eq!(
        explainer.expected_value(),
        1.0,
        "unreached leaves weigh nothing"
    );
    for row in [[0.2, 0.2], [0.7, 0.2], [0.7, 0.9], [0.7, f64::NAN]] {
        let (phi, _) = explain(&explainer, &row);
        assert!(phi.iter().all(|p| p.is_finite()), "{row:?}: {phi:?}");
        check_against_brute_force(&trees, 0.0, &row, &format!("{row:?}"));
    }
}

#[test]
fn single_leaf_trees_only_shift_the_expected_value() {
    let trees = [
        Tree {
            nodes: vec![leaf(2.5, 100.0)],
        },
        Tree {
            nodes: vec![split(1, 0.0, false, 1, 2), leaf(-1.0, 1.0), leaf(1.0, 3.0)],
        },
    ];
    let explainer = TreeExplainer::new(&trees, 1.0, 3).unwrap();
    assert_close(
        explainer.expected_value(),
        1.0 + 2.5 + 0.5,
        1e-15,
        "expected",
    );
    let (phi, _) = explain(&explainer, &[9.0, -1.0, 9.0]);
    assert_eq!(phi[0], 0.0);
    assert_eq!(phi[2], 0.0);
    assert_close(phi[1], -1.5, 1e-15, "the only split's feature takes all");
    let empty = TreeExplainer::new(&[], 0.25, 2).unwrap();
    let (phi, expected) = explain(&empty, &[1.0, 2.0]);
    assert_eq!((phi, expected), (vec![0.0, 0.0], 0.25));
}

fn raw(model: &Gbdt, row: &[f64]) -> f64 {
    model.base_score()
        + model
            .trees()
            .iter()
            .map(|t| t.predict_row(row))
            .sum::<f64>()
}

fn check_additivity(objective: Objective, seed: u64) {
    let (mut x, y) = common::friedman::friedman(2000, 10, seed, 1.0);
    let mut rng = StdRng::seed_from_u64(seed);
    x.mapv_inplace(|v| if rng.gen::<f64>() < 0.1 { f64::NAN } else { v });
    let median = {
        let mut s = y.clone();
        s.sort_by(f64::total_cmp);
        s[s.len() / 2]
    };
    let y: Vec<f64> = match objective {
        Objective::LogLoss => y.iter().map(|&v| f64::from(v > median)).collect(),
        _ => y,
    };
    let params = GbdtParams {
        objective,
        rounds: 100,
        seed,
        ..Default::default()
    };
    let model = Gbdt::fit(x.view(), &y, None, None, &params).unwrap();
    let explainer = TreeExplainer::for_gbdt(&model).unwrap();
    let mut scratch = ExplainScratch::new();
    let mut phi = vec![0.0; 10];
    for r in 0..300 {
        let row: Vec<f64> = if r < 200 {
            x.row(r).to_vec()
        } else {
            random_row(&mut rng, 10, 0.3)
        };
        let expected = explainer
            .contributions_with(&row, &mut phi, &mut scratch)
            .unwrap();
        let total = expected + phi.iter().sum::<f64>();
        let what = format!("{objective:?} seed {seed} row {r}");
        assert_close(total, raw(&model, &row), 1e-9, &what);
        assert_close(
            objective.transform(total),
            model.predict_row(&row).unwrap(),
            1e-9,
            &what,
        );
        if r < 200 {
            let size = |p: &[f64]| p.iter().map(|v| v.abs()).sum::<f64>();
            assert!(
                size(&phi[5..]) < size(&phi[..5]),
                "{what}: the five noise features outweigh the signal: {phi:?}"
            );
        }
    }
}

#[test]
fn additivity_on_fitted_squared_error_models_with_missing_values() {
    for seed in 0..3 {
        check_additivity(Objective::SquaredError, seed);
    }
}

#[test]
fn additivity_on_fitted_log_loss_models_with_missing_values() {
    for seed in 0..3 {
        check_additivity(Objective::LogLoss, seed);
    }
}

#[test]
fn additivity_on_deep_trees_repeating_one_feature() {
    // A chain 12 deep alternating two features: split 2d has leaf 2d + 1 on its left and
    // the next split on its right, so every feature is split on six times.
    let mut rng = StdRng::seed_from_u64(7);
    let mut nodes = Vec::new();
    let depth = 12;
    for d in 0..depth {
        let at = nodes.len() as u32;
        nodes.push(split((d % 2) as u32, rng.gen(), rng.gen(), at + 1, at + 2));
        nodes.push(leaf(rng.gen_range(-1.0..1.0), rng.gen_range(1.0..10.0)));
        if d == depth - 1 {
            nodes.push(leaf(rng.gen_range(-1.0..1.0), rng.gen_range(1.0..10.0)));
        }
    }
    for i in (0..nodes.len()).rev() {
        if !nodes[i].is_leaf() {
            let (l, r) = (nodes[i].left as usize, nodes[i].right as usize);
            nodes[i].cover = nodes[l].cover + nodes[r].cover;
        }
    }
    let trees = [Tree { nodes }];
    let explainer = TreeExplainer::new(&trees, 0.0, 2).unwrap();
    for _ in 0..200 {
        let row = random_row(&mut rng, 2, 0.2);
        let (phi, expected) = explain(&explainer, &row);
        assert_close(
            expected + phi[0] + phi[1],
            trees[0].predict_row(&row),
            1e-9,
            "sum",
        );
    }
    check_against_brute_force(&trees, 0.0, &[0.5, 0.5], "chain");
}

#[test]
fn scratch_is_reused_across_explainers_of_different_depths() {
    let mut rng = StdRng::seed_from_u64(3);
    let shallow = [random_tree(&mut rng, 4, 1)];
    let deep = [random_tree(&mut rng, 4, 7)];
    let mut scratch = ExplainScratch::new();
    let row = random_row(&mut rng, 4, 0.0);
    for trees in [&shallow[..], &deep[..], &shallow[..]] {
        let explainer = TreeExplainer::new(trees, 0.0, 4).unwrap();
        let mut with = vec![0.0; 4];
        explainer
            .contributions_with(&row, &mut with, &mut scratch)
            .unwrap();
        assert_eq!(with, explain(&explainer, &row).0);
    }
}

#[test]
fn wrong_lengths_are_invalid_arguments() {
    let trees = [Tree {
        nodes: vec![split(1, 0.0, false, 1, 2), leaf(-1.0, 1.0), leaf(1.0, 3.0)],
    }];
    let explainer = TreeExplainer::new(&trees, 0.0, 3).unwrap();
    let mut out = vec![0.0; 3];
    for (row, out_len) in [
        (vec![0.0; 2], 3),
        (vec![0.0; 4], 3),
        (vec![0.0; 3], 2),
        (vec![0.0; 3], 4),
    ] {
        let mut out = vec![0.0; out_len];
        let err = explainer.contributions(&row, &mut out).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    }
    assert!(explainer.contributions(&[0.0; 3], &mut out).is_ok());
}

#[test]
fn malformed_trees_are_refused() {
    let cases: Vec<(&str, Vec<Node>, usize)> = vec![
        ("no nodes", vec![], 2),
        (
            "feature out of range",
            vec![split(2, 0.0, false, 1, 2), leaf(0.0, 1.0), leaf(0.0, 1.0)],
            2,
        ),
        (
            "child out of range",
            vec![split(0, 0.0, false, 1, 5), leaf(0.0, 1.0), leaf(0.0, 1.0)],
            2,
        ),
        (
            "child reached twice",
            vec![split(0, 0.0, false, 1, 1), leaf(0.0, 1.0)],
            2,
        ),
        (
            "child is the root",
            vec![
                split(0, 0.0, false, 1, 2),
                leaf(0.0, 1.0),
                split(1, 0.0, false, 3, 0),
                leaf(0.0, 1.0),
            ],
            2,
        ),
        (
            "negative cover",
            vec![split(0, 0.0, false, 1, 2), leaf(0.0, -1.0), leaf(0.0, 1.0)],
            2,
        ),
    ];
    for (what, nodes, m) in cases {
        let err = TreeExplainer::new(&[Tree { nodes }], 0.0, m).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{what}: {err}");
    }
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("x{i}")).collect()
}

fn features(reasons: &[Reason]) -> Vec<usize> {
    reasons.iter().map(|r| r.feature).collect()
}

#[test]
fn top_reasons_order_and_direction() {
    let phi = [0.5, -2.0, 0.0, 1.5, -0.5, 0.5, f64::NAN];
    let row = [10.0, 20.0, 30.0, 40.0, f64::NAN, 60.0, 70.0];
    let names = names(7);
    let up = top_reasons(&phi, &row, &names, 3, ReasonDirection::Increasing).unwrap();
    assert_eq!(features(&up), [3, 0, 5], "largest first, ties by index");
    assert_eq!(up[0].name, "x3");
    assert_eq!((up[0].value, up[0].contribution), (40.0, 1.5));
    let down = top_reasons(&phi, &row, &names, 3, ReasonDirection::Decreasing).unwrap();
    assert_eq!(features(&down), [1, 4], "only the negative ones");
    assert!(down[1].value.is_nan());
    let both = top_reasons(&phi, &row, &names, 4, ReasonDirection::Both).unwrap();
    assert_eq!(
        features(&both),
        [1, 3, 0, 4],
        "by absolute size, ties by index"
    );
    let all = top_reasons(&phi, &row, &names, 100, ReasonDirection::Both).unwrap();
    assert_eq!(features(&all), [1, 3, 0, 4, 5], "zero and NaN never listed");
    assert!(top_reasons(&phi, &row, &names, 0, ReasonDirection::Both)
        .unwrap()
        .is_empty());
}

#[test]
fn top_reasons_names_are_one_per_feature_or_none() {
    let phi = [0.0, 1.0];
    let row = [1.0, 2.0];
    let unnamed = top_reasons(&phi, &row, &[], 1, ReasonDirection::Both).unwrap();
    assert_eq!(unnamed[0].name, "f1");
    for bad in [names(1), names(3)] {
        let err = top_reasons(&phi, &row, &bad, 1, ReasonDirection::Both).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    }
    let err = top_reasons(&phi, &[1.0], &names(2), 1, ReasonDirection::Both).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
}

#[test]
fn reasons_round_trip_through_json() {
    let reason = Reason {
        feature: 4,
        name: "amount".into(),
        value: 120.5,
        contribution: -0.25,
    };
    let json = serde_json::to_string(&reason).unwrap();
    assert_eq!(serde_json::from_str::<Reason>(&json).unwrap(), reason);
    let dir: ReasonDirection = serde_json::from_str("\"decreasing\"").unwrap();
    assert_eq!(dir, ReasonDirection::Decreasing);
}
