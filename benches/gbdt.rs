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
    let row: Vec<f64> = x.row(7).to_vec();
    group.bench_function("predict_row/300_trees", |b| {
        b.iter(|| black_box(model.predict_row(black_box(&row)).unwrap()))
    });
    group.bench_function("predict_row_walk/300_trees", |b| {
        b.iter(|| {
            black_box(
                model
                    .trees()
                    .iter()
                    .map(|t| t.predict_row(black_box(&row)))
                    .sum::<f64>(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, gbdt);
criterion_main!(benches);
