//! Synthetic population generation and prior adaptation.
//! Budget: 200 tenants x 1 year hourly well under a second in release.
//! Run: `cargo bench --bench coldstart -- --quick`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tenantml::coldstart::{synthetic_tenants, PopulationSettings, SeriesPrior};

const MONDAY: i64 = 4 * 86_400;

fn generation(c: &mut Criterion) {
    let mut group = c.benchmark_group("coldstart");
    group.sample_size(10);
    let settings = PopulationSettings::training();
    group.bench_function("synthetic_tenants_200x8760_hourly", |b| {
        b.iter(|| synthetic_tenants(&settings, 200, 8760, MONDAY, 3600, black_box(7)).unwrap())
    });
    let prior = SeriesPrior::saas_default();
    group.bench_function("sample_8760_hourly", |b| {
        b.iter(|| prior.sample(MONDAY, 3600, 8760, 0, black_box(7)).unwrap())
    });
    let observed = prior.sample(MONDAY, 3600, 24 * 28, 0, 1).unwrap();
    group.bench_function("scaled_to_4_weeks_hourly", |b| {
        b.iter(|| {
            prior
                .scaled_to(black_box(&observed), MONDAY, 3600, 0)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, generation);
criterion_main!(benches);
