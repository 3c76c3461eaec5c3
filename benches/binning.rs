//! Binning a 50,000 x 30 matrix of seeded random values into 255 bins per feature: the
//! one-off cost `Gbdt::fit` pays before its first round. Run: `cargo bench --bench binning`.

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use rand::{rngs::StdRng, Rng, SeedableRng};
use tenantml::trees::binning::BinnedData;

fn binning(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let x = Array2::from_shape_fn((50_000, 30), |_| rng.gen::<f64>());
    let data = BinnedData::fit(x.view(), 255, 0).unwrap();
    let mut group = c.benchmark_group("binning");
    group.sample_size(20);
    group.bench_function("fit/50000x30/255_bins", |b| {
        b.iter(|| BinnedData::fit(x.view(), 255, 0).unwrap())
    });
    group.bench_function("with_mappers/50000x30/255_bins", |b| {
        b.iter(|| BinnedData::with_mappers(x.view(), data.mappers()).unwrap())
    });
    group.finish();
}

criterion_group!(benches, binning);
criterion_main!(benches);
