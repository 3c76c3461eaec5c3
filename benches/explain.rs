//! TreeSHAP on the fraud-scoring shape: one row of a 300-tree x 31-leaf GBDT on 30
//! features, alone and with the top-3 reasons the product asks for (budget: under 1 ms per
//! call from PHP). Run: `cargo bench --bench explain`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use tenantml::trees::explain::{top_reasons, ExplainScratch, ReasonDirection, TreeExplainer};
use tenantml::trees::gbdt::{Gbdt, GbdtParams};

const FEATURES: usize = 30;

#[path = "../tests/common/friedman.rs"]
mod friedman;

fn data(n: usize) -> (Array2<f64>, Vec<f64>) {
    friedman::friedman(n, FEATURES, 1, 2.0)
}

fn explain(c: &mut Criterion) {
    let (x, y) = data(20_000);
    let params = GbdtParams {
        rounds: 300,
        ..Default::default()
    };
    let model = Gbdt::fit(x.view(), &y, None, None, &params).unwrap();
    let explainer = TreeExplainer::for_gbdt(&model).unwrap();
    let names: Vec<String> = (0..FEATURES).map(|i| format!("x{i}")).collect();
    let rows: Vec<Vec<f64>> = (0..64).map(|r| x.row(r).to_vec()).collect();
    let mut scratch = ExplainScratch::new();
    let mut phi = vec![0.0; FEATURES];
    let mut group = c.benchmark_group("explain");
    let mut r = 0;
    group.bench_function("contributions/300_trees_31_leaves_30_features", |b| {
        b.iter(|| {
            r = (r + 1) % rows.len();
            explainer
                .contributions_with(black_box(&rows[r]), &mut phi, &mut scratch)
                .unwrap()
        })
    });
    group.bench_function("top3_reasons/300_trees_31_leaves_30_features", |b| {
        b.iter(|| {
            r = (r + 1) % rows.len();
            let row = black_box(&rows[r]);
            explainer
                .contributions_with(row, &mut phi, &mut scratch)
                .unwrap();
            top_reasons(&phi, row, &names, 3, ReasonDirection::Increasing).unwrap()
        })
    });
    group.bench_function("predict_row/300_trees (for scale)", |b| {
        b.iter(|| {
            r = (r + 1) % rows.len();
            model.predict_row(black_box(&rows[r])).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, explain);
criterion_main!(benches);
