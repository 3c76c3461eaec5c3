//! The `/metrics` page after a few real predictions, a drift report, a model version and a
//! tripped breaker: what a Laravel route would serve. `make test-metrics` parses it with
//! the Prometheus client's parser (tests/prometheus/validate_exposition.py).
//! Run: `cargo run --release --example metrics_page`

use ndarray::Array2;
use tenantml::breaker::{BreakerConfig, BreakerStore, Outcome};
use tenantml::drift::{drift_report, DriftConfig, FeatureSchema};
use tenantml::scoring::fraud::{FraudScorer, RulesConfig, Schema, Transaction};
use tenantml::telemetry;

fn main() -> tenantml::Result<()> {
    // Predictions count into the process-global recorder by themselves.
    let mut scorer = FraudScorer::rules_only(
        RulesConfig::default(),
        Schema::new(&["EUR"], &["DE"], &["books"], None)?,
    )?;
    scorer.set_name("fraud \"eu\"\\west", 3)?;
    for i in 0..3 {
        scorer.score(&Transaction::new(1_767_787_200 + i, 42.0), &[][..])?;
    }
    let metrics = telemetry::global();
    metrics.set_model_version("fraud \"eu\"\\west", scorer.version())?;
    metrics.record_prediction(
        "pricing-api",
        "fallback",
        std::time::Duration::from_millis(120),
    )?;

    let reference = Array2::from_shape_fn((300, 2), |(i, j)| ((i * 7 + j) % 50) as f64);
    let current = Array2::from_shape_fn((300, 2), |(i, j)| {
        ((i * 7 + j) % 50) as f64 + 30.0 * j as f64
    });
    let schema = FeatureSchema::numeric(vec!["amount".into(), "velocity".into()])?;
    let report = drift_report(
        reference.view(),
        current.view(),
        &schema,
        &DriftConfig::default(),
    )?;
    metrics.record_drift("fraud \"eu\"\\west", &report)?;

    let breakers = BreakerStore::in_process();
    let breaker = breakers.breaker("ml-api", BreakerConfig::default())?;
    for _ in 0..5 {
        if let Ok(permit) = breaker.allow() {
            breaker.record(&permit, Outcome::Failure, None);
        }
    }
    print!("{}", telemetry::metrics_page(Some(&breakers))?);
    Ok(())
}
