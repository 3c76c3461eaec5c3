//! Churn model vs the days-inactive rule, side by side in one run.
//!
//! Trains the cold-start model (default parameters) on 4,000 tenants of
//! `GeneratorSettings::training()` (seed 1; the generator was frozen before tuning, and
//! tuning looked at held-out seeds 101 and 102 only; it was revised once since, in commit
//! e51ef98: payment churners fail a renewal and its retries, 2-4 failures, at a quarter of
//! the churn, which was chosen so that 3 failed payments carry a clear signal), then scores
//! rows built by the label builder on held-out seeds, on shifted settings (another churn
//! rate, other usage scales, a churn pattern training lacks) and on the realistic event log.
//! Prints ROC AUC and PR AUC of the model and the rule, Brier scores, and reliability
//! tables.
//!
//! ```text
//! cargo run --release --example churn_eval
//! ```

use std::time::Instant;

use tenantml::scoring::churn::{
    build_rows, generate, ChurnParams, ChurnPredictor, GeneratorSettings, InactivityRule,
    LabeledRows, N_FEATURES,
};
use tenantml::trees::calibration::{brier_score, expected_calibration_error, reliability_table};
use tenantml::trees::metrics::{average_precision, roc_auc};

struct Scored {
    labels: Vec<f64>,
    model: Vec<f64>,
    rule: Vec<f64>,
}

fn score(predictor: &ChurnPredictor, rows: &LabeledRows) -> tenantml::Result<Scored> {
    let mut model = vec![0.0; rows.labels.len()];
    predictor
        .model()
        .expect("a fitted model")
        .predict(rows.features.view(), &mut model)?;
    let rule = InactivityRule::default();
    let rule_scores = rows
        .features
        .rows()
        .into_iter()
        .map(|r| {
            let mut f = [0.0; N_FEATURES];
            f.iter_mut().zip(r.iter()).for_each(|(a, b)| *a = *b);
            rule.score_features("", &f, 0, 30).probability
        })
        .collect();
    Ok(Scored {
        labels: rows.labels.clone(),
        model,
        rule: rule_scores,
    })
}

fn main() -> tenantml::Result<()> {
    let t0 = Instant::now();
    let params = ChurnParams::default();
    let training = GeneratorSettings {
        tenants: 4000,
        ..GeneratorSettings::training()
    };
    let predictor = ChurnPredictor::cold_start_with(&training, 1, &params)?;
    println!(
        "trained on training() seed 1: {} tenants, {} rows, {} churned within 30 days, in {:.1} s",
        training.tenants,
        predictor.summary().rows,
        predictor.summary().positives,
        t0.elapsed().as_secs_f64()
    );
    let sets: [(&str, GeneratorSettings, u64); 7] = [
        ("held-out seed 101", GeneratorSettings::held_out(), 101),
        ("held-out seed 102", GeneratorSettings::held_out(), 102),
        (
            "churn rate 12%",
            GeneratorSettings::shifted_churn_rate(),
            103,
        ),
        (
            "usage x4, amounts x8",
            GeneratorSettings::shifted_usage_scale(),
            104,
        ),
        (
            "novel pattern (support)",
            GeneratorSettings::novel_pattern(),
            105,
        ),
        ("event log seed 106", GeneratorSettings::event_log(), 106),
        ("event log seed 107", GeneratorSettings::event_log(), 107),
    ];
    println!();
    println!(
        "| data | rows | churn rate | ROC AUC model | ROC AUC rule | PR AUC model | PR AUC rule | Brier model | Brier rule | ECE model |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut tables = Vec::new();
    for (name, settings, seed) in sets {
        let data = generate(&settings, seed)?;
        let rows = build_rows(&data.tenants, &data.spec)?;
        let s = score(&predictor, &rows)?;
        println!(
            "| {name} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.4} | {:.4} | {:.4} |",
            s.labels.len(),
            rows.positive_rate(),
            roc_auc(&s.labels, &s.model),
            roc_auc(&s.labels, &s.rule),
            average_precision(&s.labels, &s.model),
            average_precision(&s.labels, &s.rule),
            brier_score(&s.model, &s.labels, None)?,
            brier_score(&s.rule, &s.labels, None)?,
            expected_calibration_error(&s.model, &s.labels, 10)?,
        );
        if seed == 101 || seed == 106 {
            tables.push((name, reliability_table(&s.model, &s.labels, 10)?));
        }
    }
    for (name, table) in tables {
        println!();
        println!("reliability of the model, {name}:");
        println!("| bin | rows | mean predicted | observed |");
        println!("|---|---|---|---|");
        for b in table {
            println!(
                "| {:.1}-{:.1} | {} | {:.3} | {:.3} |",
                b.lower, b.upper, b.count, b.mean_predicted, b.observed_rate
            );
        }
    }
    println!();
    println!("total {:.1} s", t0.elapsed().as_secs_f64());
    Ok(())
}
