//! Anomaly cleaning must not erase a weekly cycle: with daily and weekly seasonality a value
//! is judged against the same hour on other weeks, in fitting and on the forecast path.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use tenantml::data::series::{Series, SeriesOptions};
use tenantml::forecast::predictor::{ForecastParams, UsagePredictor};

const HOUR: i64 = 3600;
/// Monday 2024-01-01T00:00:00Z.
const START: i64 = 1_704_067_200;

/// Busy weekday office hours (100), quiet weekend office hours (45), nights (10); 5 % noise,
/// no trend: a flat level, so within one hour of the day the weekend values sit far from
/// the weekday median.
fn office(weeks: usize, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0, 0.05).unwrap();
    (0..weeks * 168)
        .map(|t| {
            let (hour, day) = (t % 24, (t / 24) % 7);
            let level = match ((8..18).contains(&hour), day >= 5) {
                (true, false) => 100.0,
                (true, true) => 45.0,
                (false, _) => 10.0,
            };
            level * (1.0 + noise.sample(&mut rng))
        })
        .collect()
}

fn hourly(values: &[f64], start: i64) -> Series {
    let t: Vec<i64> = (0..values.len() as i64).map(|i| start + i * HOUR).collect();
    Series::new(&t, values, &SeriesOptions::default()).unwrap()
}

#[test]
fn weekends_are_not_cleaned_into_weekdays() {
    let v = office(8, 3);
    let mut params = ForecastParams::default();
    params.model.gbdt.rounds = 60;
    params.model.forest.trees = 15;
    // The day first (the main period), as detection orders them on many office series.
    params.seasonal_periods = Some(vec![24, 168]);
    let p = UsagePredictor::fit(&[hourly(&v, START)], &params).unwrap();
    assert_eq!(p.periods(), [24, 168]);
    // Judged within the day, the weekend office hours (16 of 56 per hour) were anomalies.
    let cleaned = p.summary().anomalies_cleaned;
    assert!(cleaned < v.len() / 20, "{cleaned} values cleaned");

    // The forecast path from the last two weeks (ending on a Sunday at midnight) of a
    // mature tenant: Monday noon is busy, and so is the next Saturday's noon quiet.
    let window = &v[v.len() - 336..];
    let start = START + (v.len() - 336) as i64 * HOUR;
    let f = p
        .forecast_values_aged(start, window, 6 * 24, &[80.0], 56.0)
        .unwrap();
    assert_eq!(f.regime.name(), "model");
    let monday_noon = f.points[12].forecast;
    let saturday_noon = f.points[5 * 24 + 12].forecast;
    assert!(
        (monday_noon - 100.0).abs() < 15.0,
        "Monday noon {monday_noon:.1}"
    );
    assert!(
        (saturday_noon - 45.0).abs() < 12.0,
        "Saturday noon {saturday_noon:.1}"
    );
}
