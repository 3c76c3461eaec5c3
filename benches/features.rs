//! Feature matrix for a year of hourly data, and one forecast-step row with a year of history.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use rand::{rngs::StdRng, Rng, SeedableRng};
use tenantml::features::spec::FeatureSpec;

fn year_hourly() -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(42);
    (0..8760)
        .map(|i| {
            if rng.gen::<f64>() < 0.02 {
                f64::NAN
            } else {
                100.0
                    + 30.0 * (i as f64 * std::f64::consts::TAU / 24.0).sin()
                    + rng.gen_range(-5.0..5.0)
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let values = year_hourly();
    let start = 1_640_995_200; // 2022-01-01T00:00:00Z
    let mut spec = FeatureSpec::for_frequency(3600, &[24, 168]).unwrap();
    spec.time_zone = Some("Europe/Berlin".into());
    let b = spec.compile().unwrap();
    c.bench_function("features_matrix_8760_hourly", |bch| {
        bch.iter(|| b.matrix(black_box(&values), start).unwrap())
    });
    let mut out = vec![0.0; b.len()];
    c.bench_function("features_row_year_history", |bch| {
        bch.iter(|| b.row(black_box(&values), start, &mut out).unwrap())
    });
    let cursor = b.cursor(&values, start).unwrap();
    c.bench_function("features_cursor_row_year_history", |bch| {
        bch.iter(|| black_box(&cursor).row(&mut out).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
