//! Usage forecasting end to end: a global predictor fitted on a small panel of synthetic
//! hourly tenants whose clock is Europe/Berlin, 24-hour forecasts with 80% and 95% intervals
//! for a mature tenant, a tenant with one day of data and a new tenant with none (each says
//! which regime answered), the rule-based fallback, a short backtest against the baselines,
//! and the predictor saved to bytes and a file and read back.
//!
//! ```text
//! cargo run --release --example forecast_usage
//! ```

use std::time::Instant;

use tenantml::coldstart::{synthetic_tenants, PopulationSettings};
use tenantml::data::series::{format_timestamp, Series, SeriesOptions};
use tenantml::forecast::backtest::{backtest, BacktestOptions, BacktestReport};
use tenantml::forecast::predict::fallback_forecast;
use tenantml::forecast::{Forecast, ForecastParams, UsagePredictor};

const HOUR: i64 = 3600;
/// 2024-01-01T00:00:00Z; eight weeks from here stay in Berlin's winter time (UTC+1).
const START: i64 = 1_704_067_200;
const WEEKS: usize = 8;
const ZONE: &str = "Europe/Berlin";
const LEVELS: [f64; 2] = [80.0, 95.0];

/// An hourly series from a start and one value per hour (NaN = missing).
fn hourly(start: i64, values: &[f64]) -> tenantml::Result<Series> {
    let timestamps: Vec<i64> = (0..values.len() as i64).map(|i| start + i * HOUR).collect();
    let options = SeriesOptions {
        frequency: Some(HOUR),
        ..SeriesOptions::default()
    };
    Series::new(&timestamps, values, &options)
}

/// Prints a forecast's regime and every `every`-th period with its two intervals.
fn print_forecast(title: &str, f: &Forecast, every: usize) {
    println!(
        "\n{title}: regime {}, model weight {:.2}, {:.1} days of history ({} v{})",
        f.regime.name(),
        f.model_weight,
        f.history_days,
        f.model_name,
        f.model_version
    );
    println!(
        "  {:<22} {:>9} {:>21} {:>21}",
        "timestamp (UTC)", "forecast", "80%", "95%"
    );
    for p in f.points.iter().step_by(every) {
        println!(
            "  {:<22} {:>9.1} [{:>8.1}, {:>8.1}] [{:>8.1}, {:>8.1}]",
            format_timestamp(p.timestamp),
            p.forecast,
            p.lower[0],
            p.upper[0],
            p.lower[1],
            p.upper[1]
        );
    }
}

/// The backtest's metrics, one row per method (the model first).
fn print_backtest(report: &BacktestReport) {
    println!(
        "\n  {:<22} {:>9} {:>9} {:>8} {:>7} {:>7} {:>7}",
        "method", "MAE", "RMSE", "sMAPE%", "MASE", "cov80", "cov95"
    );
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}", 100.0 * v));
    for m in &report.methods {
        println!(
            "  {:<22} {:>9.2} {:>9.2} {:>8.1} {:>7} {:>7} {:>7}",
            m.name,
            m.metrics.mae,
            m.metrics.rmse,
            100.0 * m.metrics.smape,
            m.metrics
                .mase
                .map_or("-".to_string(), |v| format!("{v:.3}")),
            pct(m.coverage.first().map(|c| c.1)),
            pct(m.coverage.get(1).map(|c| c.1)),
        );
    }
}

fn main() -> tenantml::Result<()> {
    // Tenants on Berlin's clock: the population's shapes are drawn in local time (UTC+1 in
    // winter), and the predictor's calendar features read the same clock through the IANA
    // zone, daylight saving included.
    let settings = PopulationSettings {
        utc_offsets_seconds: vec![3600],
        ..PopulationSettings::training()
    };
    let len = WEEKS * 7 * 24;
    // 12 tenants to train on, 3 more the predictor never sees.
    let tenants = synthetic_tenants(&settings, 15, len, START, HOUR, 7)?;
    let panel: Vec<Series> = tenants
        .iter()
        .map(|t| hourly(t.start, &t.values))
        .collect::<tenantml::Result<_>>()?;
    let (train, unseen) = panel.split_at(12);

    let mut params = ForecastParams {
        name: "usage-hourly".into(),
        version: 3,
        time_zone: Some(ZONE.into()),
        levels: LEVELS.to_vec(),
        seed: 1,
        ..ForecastParams::default()
    };
    // Small ensembles so the example runs in seconds; the defaults are 200 rounds and 100
    // trees.
    params.model.gbdt.rounds = 60;
    params.model.forest.trees = 20;

    let started = Instant::now();
    let predictor = UsagePredictor::fit(train, &params)?;
    let summary = predictor.summary();
    println!(
        "fitted on {} tenants x {WEEKS} weeks in {:.2} s: {} rows, {} anomalies cleaned, \
         transform {}, periods {:?}",
        summary.series,
        started.elapsed().as_secs_f64(),
        summary.rows,
        summary.anomalies_cleaned,
        predictor.transform().name(),
        predictor.periods()
    );

    // A mature tenant: eight weeks of its own history, so the model answers alone.
    let mature = &unseen[0];
    let f = predictor.forecast(mature, 24, &LEVELS)?;
    print_forecast("mature tenant, next 24 hours", &f, 1);

    // One day of data: the hand-over schedule weighs the model against the cold-start prior
    // (the prior scaled to the tenant's first day); the weight and regime are printed.
    let young = hourly(unseen[1].start(), &unseen[1].values()[..24])?;
    let f = predictor.forecast(&young, 24, &LEVELS)?;
    print_forecast("tenant with 1 day of data (every 3rd hour)", &f, 3);

    // No data at all: the prior alone, from the first period to forecast.
    let f = predictor.forecast_values(mature.end() + HOUR, &[], 24, &LEVELS)?;
    print_forecast("new tenant without data (every 3rd hour)", &f, 3);

    // The platform's rule, for when no model can be used (none fitted yet, a bad file):
    // average x local hour-of-day x day-of-week multipliers.
    let f = fallback_forecast(mature, 24, &LEVELS, Some(ZONE), "rules", 1)?;
    print_forecast(
        "fallback rule for the mature tenant (every 3rd hour)",
        &f,
        3,
    );

    // Rolling-origin backtest: 3 windows of 24 hours at the end of 4 tenants, the model
    // beside the fallback rule and the baselines on the same windows.
    let options = BacktestOptions {
        horizon: 24,
        windows: 3,
        levels: LEVELS.to_vec(),
        ..BacktestOptions::default()
    };
    let started = Instant::now();
    let report = backtest(&train[..4], &params, &options)?;
    println!(
        "\nbacktest: {} windows of {} hours, transform {}, {:.2} s",
        report.windows.len(),
        options.horizon,
        report.transform,
        started.elapsed().as_secs_f64()
    );
    print_backtest(&report);

    // Bytes for a database or object store, or a file written atomically.
    let bytes = predictor.to_bytes()?;
    let from_bytes = UsagePredictor::from_bytes(&bytes)?;
    let path = std::env::temp_dir().join(format!("forecast_usage-{}.tml", std::process::id()));
    predictor.save(&path)?;
    let from_file = UsagePredictor::load(&path)?;
    let _ = std::fs::remove_file(&path);
    let before = predictor.forecast(mature, 24, &LEVELS)?;
    assert_eq!(from_bytes.forecast(mature, 24, &LEVELS)?, before);
    assert_eq!(from_file.forecast(mature, 24, &LEVELS)?, before);
    println!(
        "\nsaved {} bytes; the predictor read back from bytes and from a file forecasts the same",
        bytes.len()
    );
    Ok(())
}
