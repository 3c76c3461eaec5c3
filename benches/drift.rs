//! Drift detection hot paths (budgets in issue 6): a full report on 10,000 x 30 reference
//! vs 10,000 x 30 current (< 20 ms; KS, PSI and Wasserstein configurations, and against a
//! stored 2,000-per-feature ReferenceSample), KS alone on one 10,000 vs 10,000 column,
//! and one streaming update of Page-Hinkley (< 100 ns) and ADWIN (amortised).
//! Run: `cargo bench --bench drift`. The data is `drift_data` below (seeded N(0, 1), every
//! third current column shifted), or, when `TENANTML_DRIFT_DATA` names a directory, its
//! `reference.csv` and `current.csv` (plain numbers, no header) — how
//! benches/compare/drift_compare.py times tenantml on exactly the data it gives scipy.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use tenantml::drift::{
    drift_report, ks_2samp, Adwin, AdwinParams, DriftConfig, DriftTest, FeatureSchema, PageHinkley,
    PageHinkleyParams, ReferenceSample,
};

const ROWS: usize = 10_000;
const COLS: usize = 30;

/// Reference N(0, 1) columns; in the current data every third column is shifted by 0.1 j/30.
fn drift_data() -> (Array2<f64>, Array2<f64>) {
    let mut rng = StdRng::seed_from_u64(7);
    let n = Normal::new(0.0, 1.0).unwrap();
    let reference = Array2::from_shape_fn((ROWS, COLS), |_| n.sample(&mut rng));
    let current = Array2::from_shape_fn((ROWS, COLS), |(_, j)| {
        n.sample(&mut rng)
            + if j % 3 == 0 {
                0.1 * j as f64 / 30.0
            } else {
                0.0
            }
    });
    (reference, current)
}

fn read_csv(path: &std::path::Path) -> Array2<f64> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|v| v.trim().parse().unwrap()).collect())
        .collect();
    let cols = rows[0].len();
    Array2::from_shape_vec((rows.len(), cols), rows.concat()).unwrap()
}

fn bench(c: &mut Criterion) {
    let (reference, current) = match std::env::var_os("TENANTML_DRIFT_DATA") {
        Some(dir) => {
            let dir = std::path::PathBuf::from(dir);
            (
                read_csv(&dir.join("reference.csv")),
                read_csv(&dir.join("current.csv")),
            )
        }
        None => drift_data(),
    };
    let cols = reference.ncols();
    let schema = FeatureSchema::numeric((0..cols).map(|j| format!("f{j}")).collect()).unwrap();
    let mut g = c.benchmark_group("drift_report_10k_x_30");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    for (label, test) in [
        ("ks", DriftTest::Ks),
        ("psi", DriftTest::Psi),
        ("wasserstein", DriftTest::Wasserstein),
    ] {
        let config = DriftConfig {
            numeric_test: test,
            ..Default::default()
        };
        g.bench_function(label, |b| {
            b.iter(|| {
                drift_report(
                    black_box(reference.view()),
                    black_box(current.view()),
                    &schema,
                    &config,
                )
                .unwrap()
            })
        });
    }
    let stored = ReferenceSample::new(reference.view(), &schema).unwrap();
    let config = DriftConfig::default();
    g.bench_function("ks_vs_stored_reference_sample", |b| {
        b.iter(|| stored.report(black_box(current.view()), &config).unwrap())
    });
    g.finish();

    let (a, b) = (reference.column(0).to_vec(), current.column(0).to_vec());
    c.bench_function("ks_2samp_10k_vs_10k", |bch| {
        bch.iter(|| ks_2samp(black_box(&a), black_box(&b)).unwrap())
    });
    let (a9, b9) = (
        reference.column(0).to_vec(),
        current.column(3).slice(ndarray::s![..9_000]).to_vec(),
    );
    c.bench_function("ks_2samp_10k_vs_9k", |bch| {
        bch.iter(|| ks_2samp(black_box(&a9), black_box(&b9)).unwrap())
    });

    let stream: Vec<f64> = {
        let mut rng = StdRng::seed_from_u64(8);
        let n = Normal::new(0.0, 1.0).unwrap();
        (0..4096).map(|_| n.sample(&mut rng)).collect()
    };
    let mut ph = PageHinkley::new(PageHinkleyParams::default()).unwrap();
    let mut i = 0usize;
    c.bench_function("page_hinkley_update", |b| {
        b.iter(|| {
            i = (i + 1) & 4095;
            ph.update(black_box(stream[i]))
        })
    });
    let mut adwin = Adwin::new(AdwinParams::default()).unwrap();
    c.bench_function("adwin_update", |b| {
        b.iter(|| {
            i = (i + 1) & 4095;
            adwin.update(black_box(stream[i]))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
