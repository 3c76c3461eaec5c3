//! Usage forecasting hot paths on one year of hourly data (budgets in DESIGN.md): fitting
//! the final model alone (`UsagePredictor::refit` of a predictor fitted once with default
//! parameters, everything chosen at fit time kept; < 1 s), model selection by backtest
//! (`UsagePredictor::fit`: transform chosen, intervals calibrated, hand-over learned and the
//! final model fitted; < 10 s), one forecast step and a day of forecast steps from a year
//! of history, and laying two weeks of timestamped points on the grid.
//! Run: `cargo bench --bench forecast`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use tenantml::data::series::{Series, SeriesOptions};
use tenantml::forecast::{ForecastParams, UsagePredictor};

const START: i64 = 1_704_067_200;

fn year() -> Series {
    let mut rng = StdRng::seed_from_u64(1);
    let noise = Normal::new(0.0, 0.1).unwrap();
    let values: Vec<f64> = (0..8760)
        .map(|t| {
            let hour = t % 24;
            let day = (t / 24) % 7;
            let daily = if (8..18).contains(&hour) { 1.6 } else { 0.5 };
            let weekly = if day >= 5 { 0.4 } else { 1.0 };
            100.0 * daily * weekly * (1.0 + t as f64 / 8760.0) * (1.0 + noise.sample(&mut rng))
        })
        .collect();
    let t: Vec<i64> = (0..8760).map(|i| START + i * 3600).collect();
    Series::new(&t, &values, &SeriesOptions::default()).unwrap()
}

fn forecast(c: &mut Criterion) {
    let series = year();
    let predictor =
        UsagePredictor::fit(std::slice::from_ref(&series), &ForecastParams::default()).unwrap();
    let mut group = c.benchmark_group("forecast");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("fit/one_year_hourly/final_model", |b| {
        b.iter(|| {
            predictor
                .refit(black_box(std::slice::from_ref(&series)))
                .unwrap()
        })
    });
    group.bench_function("fit/one_year_hourly/model_selection", |b| {
        b.iter(|| {
            UsagePredictor::fit(
                black_box(std::slice::from_ref(&series)),
                &ForecastParams::default(),
            )
            .unwrap()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("forecast");
    group.bench_function("one_step/one_year_history", |b| {
        b.iter(|| {
            predictor
                .forecast_values(START, black_box(series.values()), 1, &[80.0])
                .unwrap()
        })
    });
    let two_weeks = &series.values()[series.len() - 336..];
    let two_weeks_start = series.timestamp(series.len() - 336);
    group.bench_function("one_step/two_weeks_history", |b| {
        b.iter(|| {
            predictor
                .forecast_values(two_weeks_start, black_box(two_weeks), 1, &[80.0])
                .unwrap()
        })
    });
    // The production path: the recent window of a tenant with a year of data (model regime).
    group.bench_function("one_step/two_weeks_of_a_one_year_tenant", |b| {
        b.iter(|| {
            predictor
                .forecast_values_aged(two_weeks_start, black_box(two_weeks), 1, &[80.0], 365.0)
                .unwrap()
        })
    });
    // What a history of (timestamp, value) costs before the forecast: sorting, merging and
    // laying it on the grid (the native path of PHP's forecast() when its timestamps are
    // not unix seconds one period apart).
    let stamps: Vec<i64> = (0..336).map(|i| two_weeks_start + i * 3600).collect();
    let options = SeriesOptions {
        frequency: Some(3600),
        ..SeriesOptions::default()
    };
    group.bench_function("history/two_weeks_of_timestamps_to_grid", |b| {
        b.iter(|| Series::new(black_box(&stamps), two_weeks, &options).unwrap())
    });
    group.bench_function("24_steps/one_year_history", |b| {
        b.iter(|| {
            predictor
                .forecast_values(START, black_box(series.values()), 24, &[80.0, 95.0])
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, forecast);
criterion_main!(benches);
