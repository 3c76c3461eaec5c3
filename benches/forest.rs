//! Random forest fit and prediction on Friedman #1, 50,000 x 30 (the shape of the
//! scikit-learn comparison). One fit of 100 trees takes about half a minute, so the fit runs
//! 10 samples; filter it out for a quick run: `cargo bench --bench forest -- predict`.
//! Run: `cargo bench --bench forest`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use tenantml::trees::forest::{Forest, ForestParams};

#[path = "../tests/common/friedman.rs"]
mod friedman;

fn data() -> (Array2<f64>, Vec<f64>) {
    friedman::friedman(50_000, 30, 1, 2.0)
}

fn forest(c: &mut Criterion) {
    let (x, y) = data();
    // Default settings (five rows per leaf); scikit-learn's fully grown trees
    // (`min_samples_leaf: 1`) take minutes per fit with today's grower.
    let params = ForestParams::default();
    let mut group = c.benchmark_group("forest");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(300));
    group.bench_function("fit/50000x30/100_trees", |b| {
        b.iter(|| Forest::fit(x.view(), &y, None, &params).unwrap())
    });
    let model = Forest::fit(x.view(), &y, None, &params).unwrap();
    let batch = x.slice(ndarray::s![..10_000, ..]);
    let mut out = vec![0.0; 10_000];
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("predict_batch/10000_rows/100_trees", |b| {
        b.iter(|| model.predict(batch, &mut out).unwrap())
    });
    let row: Vec<f64> = x.row(7).to_vec();
    group.bench_function("predict_row/100_trees", |b| {
        b.iter(|| black_box(model.predict_row(black_box(&row)).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, forest);
criterion_main!(benches);
