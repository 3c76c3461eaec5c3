//! Hourly usage series shared by the forecasting suites.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use tenantml::data::series::{Series, SeriesOptions};

pub const HOUR: i64 = 3600;
/// Monday 2024-01-01T00:00:00Z.
pub const START: i64 = 1_704_067_200;

/// Hourly usage with a business-day rhythm, a weekly cycle, noise and a slow trend; the
/// first values of a longer series equal those of a shorter one (same seed).
pub fn usage(days: usize, level: f64, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0, 0.08).unwrap();
    (0..days * 24)
        .map(|t| {
            let hour = t % 24;
            let day = (t / 24) % 7;
            let daily = if (8..18).contains(&hour) { 1.6 } else { 0.5 };
            let weekly = if day >= 5 { 0.4 } else { 1.0 };
            let trend = 1.0 + 0.002 * (t / 24) as f64;
            level * daily * weekly * trend * (1.0 + noise.sample(&mut rng))
        })
        .collect()
}

/// `values` as an hourly series from `start`.
pub fn series(values: &[f64], start: i64) -> Series {
    let t: Vec<i64> = (0..values.len() as i64).map(|i| start + i * HOUR).collect();
    let options = SeriesOptions {
        frequency: Some(HOUR),
        ..SeriesOptions::default()
    };
    Series::new(&t, values, &options).unwrap()
}
