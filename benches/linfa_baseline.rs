//! Random forests side by side: linfa-ensemble 0.8.1's `RandomForest` and tenantml's
//! `Forest`, fitted on the same seeded data with the same number of trees.
//!
//! linfa-ensemble's forests classify only (majority vote over `usize` labels), so the task
//! is binary: Friedman #1 targets cut at their training median. Its trees draw a random
//! subset of features once per tree; ours draw the square root of the features afresh at
//! every split (scikit-learn's rule). linfa is timed with every feature per tree (its most
//! accurate setting: bagged CART trees); its accuracy with `sqrt(p)/p` of the features per
//! tree is printed too. linfa fits on one thread; ours is timed on the rayon pool and on
//! one thread. Accuracy on a held-out set is printed once, before the timings.
//!
//! Run: `cargo bench --features linfa-baseline --bench linfa_baseline`.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use linfa::prelude::*;
use linfa_ensemble::{RandomForest, RandomForestParams};
use linfa_trees::DecisionTree;
use ndarray::{Array1, Array2};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use tenantml::trees::forest::{Forest, ForestParams, ForestTask};

#[path = "../tests/common/friedman.rs"]
mod friedman;

const ROWS: usize = 5_000;
const TEST_ROWS: usize = 5_000;
const FEATURES: usize = 30;
// linfa grows 100 trees on 10,000 x 30 in about 80 s here, so both get 25 trees on 5,000
// rows to keep a run to a few minutes.
const TREES: usize = 25;

struct Data {
    x: Array2<f64>,
    labels: Array1<usize>,
    y: Vec<f64>,
    test_x: Array2<f64>,
    test_labels: Array1<usize>,
}

fn data() -> Data {
    let (x, raw) = friedman::friedman(ROWS, FEATURES, 11, 1.0);
    let (test_x, test_raw) = friedman::friedman(TEST_ROWS, FEATURES, 12, 1.0);
    let mut sorted = raw.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[ROWS / 2];
    let cut = |v: &f64| usize::from(*v > median);
    let labels: Array1<usize> = raw.iter().map(cut).collect();
    Data {
        y: labels.iter().map(|&l| l as f64).collect(),
        labels,
        test_labels: test_raw.iter().map(cut).collect(),
        x,
        test_x,
    }
}

fn ours_params() -> ForestParams {
    ForestParams {
        task: ForestTask::Binary,
        trees: TREES,
        seed: 5,
        ..Default::default()
    }
}

fn linfa_params(feature_proportion: f64) -> RandomForestParams<f64, usize, SmallRng> {
    RandomForestParams::new_fixed_rng(DecisionTree::params(), SmallRng::seed_from_u64(5))
        .ensemble_size(TREES)
        .bootstrap_proportion(1.0)
        .feature_proportion(feature_proportion)
}

fn fit_linfa(d: &Data, feature_proportion: f64) -> RandomForest<f64, usize> {
    let dataset = Dataset::new(d.x.clone(), d.labels.clone());
    linfa_params(feature_proportion).fit(&dataset).unwrap()
}

fn accuracy(predicted: impl Iterator<Item = usize>, truth: &Array1<usize>) -> f64 {
    let hits = predicted.zip(truth).filter(|(p, t)| p == *t).count();
    hits as f64 / truth.len() as f64
}

fn predict_ours(model: &Forest, x: &Array2<f64>) -> Vec<f64> {
    let mut out = vec![0.0; x.nrows()];
    model.predict(x.view(), &mut out).unwrap();
    out
}

fn one_thread() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
}

fn forests(c: &mut Criterion) {
    let d = data();
    let sqrt_share = (FEATURES as f64).sqrt().floor() / FEATURES as f64;

    // One fit of each, timed once, for the accuracy table.
    let t = Instant::now();
    let ours = Forest::fit(d.x.view(), &d.y, None, &ours_params()).unwrap();
    let ours_fit = t.elapsed();
    let ours_acc = accuracy(
        predict_ours(&ours, &d.test_x)
            .iter()
            .map(|&p| usize::from(p > 0.5)),
        &d.test_labels,
    );
    let mut linfa_models = Vec::new();
    for share in [1.0, sqrt_share] {
        let t = Instant::now();
        let model = fit_linfa(&d, share);
        let fit = t.elapsed();
        let predicted: Array1<usize> = model.predict(&d.test_x);
        linfa_models.push((
            share,
            fit,
            accuracy(predicted.into_iter(), &d.test_labels),
            model,
        ));
    }
    eprintln!(
        "\nbinary Friedman #1, {ROWS} x {FEATURES} train, {TEST_ROWS} test, {TREES} trees; held-out accuracy:"
    );
    eprintln!(
        "  tenantml Forest (sqrt features per split): {ours_acc:.4}  (one fit {:.2} s)",
        ours_fit.as_secs_f64()
    );
    for (share, fit, acc, _) in &linfa_models {
        eprintln!(
            "  linfa-ensemble RandomForest (feature_proportion {share:.3}): {acc:.4}  (one fit {:.2} s)",
            fit.as_secs_f64()
        );
    }

    let mut group = c.benchmark_group("forest_vs_linfa");
    group.sample_size(10);
    // Seconds per fit: the same iteration count per sample, not criterion's 1..=10 ramp.
    group.sampling_mode(SamplingMode::Flat);
    let label = format!("{ROWS}x{FEATURES}/{TREES}_trees");
    group.bench_function(format!("fit/tenantml/{label}"), |b| {
        b.iter(|| Forest::fit(d.x.view(), &d.y, None, &ours_params()).unwrap())
    });
    let pool = one_thread();
    group.bench_function(format!("fit/tenantml_1_thread/{label}"), |b| {
        b.iter(|| pool.install(|| Forest::fit(d.x.view(), &d.y, None, &ours_params()).unwrap()))
    });
    group.bench_function(format!("fit/linfa/{label}"), |b| {
        b.iter(|| fit_linfa(&d, 1.0))
    });

    let mut out = vec![0.0; TEST_ROWS];
    group.bench_function(format!("predict/tenantml/{TEST_ROWS}_rows"), |b| {
        b.iter(|| ours.predict(d.test_x.view(), &mut out).unwrap())
    });
    let linfa_full = &linfa_models[0].3;
    group.bench_function(format!("predict/linfa/{TEST_ROWS}_rows"), |b| {
        b.iter(|| black_box::<Array1<usize>>(linfa_full.predict(&d.test_x)))
    });
    group.finish();
}

criterion_group!(benches, forests);
criterion_main!(benches);
