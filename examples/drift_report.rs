//! Drift detection from the platform's point of view: reference statistics stored with a
//! model at training time, a drift report on this week's features (as a table and as
//! JSON), prediction drift, a Page-Hinkley detector on the error stream persisted between
//! "requests", and the retraining policy turning all of it into a decision.
//!
//! Run: `cargo run --release --example drift_report`

use ndarray::Array2;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use tenantml::drift::{
    prediction_drift, DriftConfig, FeatureSchema, PageHinkley, PageHinkleyParams, PolicyInput,
    PolicyState, ReferenceColumn, ReferenceSample, RetrainPolicy,
};

/// Daily usage features of tenants: requests, p95 latency, error share, plan (0..3), region (0..4).
fn features(rows: usize, week: u32, rng: &mut StdRng) -> Array2<f64> {
    let n = Normal::new(0.0f64, 1.0).unwrap();
    let growth = 1.0 + 0.15 * week as f64;
    Array2::from_shape_fn((rows, 5), |(_, j)| match j {
        0 => (6.0 + 0.8 * n.sample(rng)).exp() * growth,
        1 => 120.0 + 15.0 * n.sample(rng),
        2 => rng.gen_range(0.0..0.02),
        3 => f64::from(rng.gen_range(0u8..if week > 0 { 4 } else { 3 })),
        _ => f64::from(rng.gen_range(0u8..4)),
    })
}

fn main() -> tenantml::Result<()> {
    let mut rng = StdRng::seed_from_u64(2026);
    let schema = FeatureSchema::new(
        [
            "requests",
            "latency_p95_ms",
            "error_share",
            "plan",
            "region",
        ]
        .map(String::from)
        .to_vec(),
        &[3, 4],
    )?;

    // Training time: keep bounded reference statistics (and reference predictions) with the model.
    let train = features(20_000, 0, &mut rng);
    let reference = ReferenceSample::new(train.view(), &schema)?;
    let stored = reference.to_json()?;
    let predictions: Vec<f64> = train.column(0).iter().map(|r| r.ln() * 1.1).collect();
    let stored_predictions =
        serde_json::to_string(&ReferenceColumn::numeric(&predictions, 2_000)?)?;
    println!(
        "stored reference statistics: {} bytes (20,000 training rows)",
        stored.len() + stored_predictions.len()
    );

    // Weeks later: this week's rows against the stored statistics.
    let config = DriftConfig::from_json(r#"{"bonferroni": true, "drift_share": 0.4}"#)?;
    let reference = ReferenceSample::from_json(&stored)?;
    let this_week = features(3_000, 2, &mut rng);
    let report = reference.report(this_week.view(), &config)?;
    println!(
        "\n{:<16} {:<12} {:<15} {:>10} {:>10} {:>10}  drifted",
        "feature", "kind", "test", "statistic", "p-value", "threshold"
    );
    for f in &report.features {
        let p = f.p_value.map_or("-".to_string(), |p| format!("{p:.3e}"));
        println!(
            "{:<16} {:<12} {:<15} {:>10.4} {:>10} {:>10.4}  {}",
            f.name,
            format!("{:?}", f.kind).to_lowercase(),
            format!("{:?}", f.test).to_lowercase(),
            f.statistic,
            p,
            f.threshold,
            if f.drifted { "yes" } else { "no" }
        );
    }
    println!(
        "dataset drift: {} ({} of {} features, share {:.2} >= {:.2})",
        report.dataset_drift,
        report.n_drifted,
        report.features.len(),
        report.share_drifted,
        report.drift_share
    );
    println!(
        "report JSON: {} bytes, starts {}...",
        report.to_json()?.len(),
        &report.to_json()?[..90]
    );

    let recent: Vec<f64> = this_week.column(0).iter().map(|r| r.ln() * 1.1).collect();
    let reference_predictions: ReferenceColumn = serde_json::from_str(&stored_predictions)?;
    let pd = prediction_drift(&reference_predictions, &recent, &DriftConfig::default())?;
    println!(
        "prediction drift: {} (KS D = {:.3}, p = {:.2e})",
        pd.drifted,
        pd.statistic,
        pd.p_value.unwrap_or(f64::NAN)
    );

    // The absolute error stream, one request at a time; the detector state lives in PHP between requests.
    let mut state = PageHinkley::new(PageHinkleyParams {
        mode: tenantml::drift::PageHinkleyMode::Up,
        // Tolerate mean shifts under 0.5 so noise alone does not fire.
        delta: 0.5,
        ..Default::default()
    })?
    .to_json()?;
    let noise = Normal::new(0.0f64, 1.0).unwrap();
    let mut fired_at = None;
    for i in 0..3_000 {
        let mut ph = PageHinkley::from_json(&state)?;
        let error = (if i < 2_000 { 2.0 } else { 4.0 } + noise.sample(&mut rng)).abs();
        if ph.update(error) && fired_at.is_none() {
            fired_at = Some(i);
        }
        state = ph.to_json()?;
    }
    println!(
        "page-hinkley on the error stream fired at request {fired_at:?} (errors doubled at 2000)"
    );

    // The retraining policy, its state also kept by the caller.
    let policy = RetrainPolicy::from_json(
        r#"{"consecutive_drift_reports": 2, "max_error_increase_pct": 25}"#,
    )?;
    let mut policy_state = PolicyState::default();
    let trained_at = 1_790_000_000;
    for (day, drift) in [(1, report.dataset_drift), (2, report.dataset_drift)] {
        let input = PolicyInput {
            dataset_drift: Some(drift),
            error_drift_detected: fired_at.is_some() && day == 2,
            backtest_error: Some(2.9),
            baseline_error: Some(2.5),
            ..PolicyInput::new(trained_at + day * 86_400, trained_at)
        };
        let (decision, next) = policy.decide(&policy_state, &input)?;
        policy_state = next;
        println!(
            "day {day}: retrain = {}, reasons = {}",
            decision.retrain,
            serde_json::to_string(&decision.reasons)?
        );
    }
    Ok(())
}
