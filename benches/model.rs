//! The user-facing tree model: loading a 300-tree model from bytes (budget < 2 ms), writing
//! it, and one prediction and one explanation through `Model`.
//! Run: `cargo bench --bench model`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tenantml::trees::explain::ReasonDirection;
use tenantml::trees::model::{Model, ModelParams};

#[path = "../tests/common/friedman.rs"]
mod friedman;

fn model(c: &mut Criterion) {
    let (x, y) = friedman::friedman(20_000, 30, 3, 2.0);
    let params = ModelParams::from_json(r#"{"gbdt": {"rounds": 300}}"#).unwrap();
    let model = Model::fit(x.view(), &y, None, None, &params).unwrap();
    let bytes = model.to_bytes().unwrap();
    eprintln!("300-tree, 31-leaf model file: {} bytes", bytes.len());
    let mut group = c.benchmark_group("model");
    group.bench_function("from_bytes/300_trees", |b| {
        b.iter(|| Model::from_bytes(black_box(&bytes)).unwrap())
    });
    group.bench_function("to_bytes/300_trees", |b| {
        b.iter(|| model.to_bytes().unwrap())
    });
    let row: Vec<f64> = x.row(11).to_vec();
    group.bench_function("predict_row/300_trees", |b| {
        b.iter(|| black_box(model.predict_row(black_box(&row)).unwrap()))
    });
    group.bench_function("reasons_top3/300_trees", |b| {
        b.iter(|| {
            model
                .reasons(black_box(&row), 3, ReasonDirection::Increasing)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, model);
criterion_main!(benches);
