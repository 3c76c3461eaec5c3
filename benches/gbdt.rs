//! Gradient boosting fit and prediction on Friedman-style data (the shape of issue 3's
//! comparison: 50,000 x 30; here smaller sizes keep `cargo bench` quick).
//! Run: `cargo bench --bench gbdt`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use tenantml::trees::gbdt::{Gbdt, GbdtParams};

#[path = "../tests/common/friedman.rs"]
mod friedman;

fn data() -> (Array2<f64>, Vec<f64>) {
    friedman::friedman(50_000, 30, 1, 2.0)
}

fn gbdt(c: &mut Criterion) {
    let (x, y) = data();
    let mut group = c.benchmark_group("gbdt");
    group.sample_size(10);
    group.bench_function("fit/50000x30/100_rounds_31_leaves", |b| {
        b.iter(|| {
            Gbdt::fit(
                x.view(),
                &y,
                None,
                None,
                &GbdtParams {
                    rounds: 100,
                    ..Default::default()
                },
            )
            .unwrap()
        })
    });
    let model = Gbdt::fit(
        x.view(),
        &y,
        None,
        None,
        &GbdtParams {
            rounds: 300,
            ..Default::default()
        },
    )
    .unwrap();
    let batch = x.slice(ndarray::s![..10_000, ..]);
    let mut out = vec![0.0; 10_000];
    group.bench_function("predict_batch/10000_rows/300_trees", |b| {
        b.iter(|| model.predict(batch, &mut out).unwrap())
    });
    // Distinct rows in turn: one row again and again lets the branch predictor learn its
    // path through every tree, which real traffic never allows.
    let rows: Vec<Vec<f64>> = (0..1024).map(|i| x.row(i * 37).to_vec()).collect();
    let mut next = 0;
    group.bench_function("predict_row/300_trees/1024_rows", |b| {
        b.iter(|| {
            next = (next + 1) % rows.len();
            black_box(model.predict_row(black_box(&rows[next])).unwrap())
        })
    });
    group.bench_function("predict_row_walk/300_trees/1024_rows", |b| {
        b.iter(|| {
            next = (next + 1) % rows.len();
            black_box(
                model
                    .trees()
                    .iter()
                    .map(|t| t.predict_row(black_box(&rows[next])))
                    .sum::<f64>(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, gbdt);
criterion_main!(benches);
