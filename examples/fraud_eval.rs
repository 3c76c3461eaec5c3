//! Fraud scoring evaluation: a model trained on synthetic data from the frozen generator
//! (training seeds; revised once since the freeze, see `scoring::fraud::generator`), compared with the default rules alone on held-out seeds and on shifted
//! settings the model never saw (5x amounts, a fifth of the fraud rate, and the slow-drip
//! pattern that training lacks).
//!
//! Run: `cargo run --release --example fraud_eval`

use std::time::Instant;

use tenantml::scoring::fraud::{
    FraudParams, FraudScorer, GeneratorSettings, RulesConfig, SyntheticData,
};
use tenantml::trees::calibration::{brier_score, expected_calibration_error, reliability_table};
use tenantml::trees::metrics::{average_precision, roc_auc};

/// Training seeds (the held-out and shifted sets use seeds 1001 and up).
const TRAIN_SEEDS: [u64; 2] = [1, 2];

fn main() -> tenantml::Result<()> {
    let mut train = GeneratorSettings::training().generate()?;
    for &seed in &TRAIN_SEEDS[1..] {
        let more = GeneratorSettings::training().with_seed(seed).generate()?;
        // Keep customers distinct across seeds.
        let offset = 1_000_000 * seed;
        train.transactions.extend(more.transactions.iter().map(|t| {
            let mut t = *t;
            t.customer += offset;
            t
        }));
        train.labels.extend(more.labels);
        train.patterns.extend(more.patterns);
    }
    let started = Instant::now();
    let params = FraudParams::default();
    let scorer = FraudScorer::fit(
        &train.transactions,
        &train.labels,
        train.schema.clone(),
        &params,
    )?;
    let fit_time = started.elapsed();
    let rules = FraudScorer::rules_only(RulesConfig::default(), train.schema.clone())?;
    println!(
        "trained on seeds {TRAIN_SEEDS:?}: {} transactions, fraud rate {:.4}, fit {:.1} s",
        train.transactions.len(),
        train.fraud_rate(),
        fit_time.as_secs_f64()
    );
    println!();
    println!(
        "| data set | rows | fraud rate | ROC AUC model | ROC AUC rules | PR AUC model | PR AUC rules | Brier model | Brier rules | ECE model | mean p | observed |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let sets = [
        ("held-out (seed 1001)", GeneratorSettings::held_out()),
        ("amounts x5 (seed 2001)", GeneratorSettings::amount_shift()),
        (
            "fraud rate 0.2% (seed 3001)",
            GeneratorSettings::rate_shift(),
        ),
        (
            "slow drip, unseen (seed 4001)",
            GeneratorSettings::slow_drip(),
        ),
    ];
    let mut held_out_p = None;
    let mut decisions = Vec::new();
    for (name, settings) in sets {
        let data = settings.generate()?;
        let (p, r) = evaluate(&scorer, &rules, &data)?;
        let y = data.labels_f64();
        let mean_p = p.iter().sum::<f64>() / p.len() as f64;
        println!(
            "| {name} | {} | {:.4} | {:.3} | {:.3} | {:.3} | {:.3} | {:.5} | {:.5} | {:.4} | {:.4} | {:.4} |",
            y.len(),
            data.fraud_rate(),
            roc_auc(&y, &p),
            roc_auc(&y, &r),
            average_precision(&y, &p),
            average_precision(&y, &r),
            brier_score(&p, &y, None)?,
            brier_score(&r, &y, None)?,
            expected_calibration_error(&p, &y, 10)?,
            mean_p,
            data.fraud_rate(),
        );
        decisions.push((
            name,
            flagged(&p, &y, scorer.thresholds().0),
            flagged(&r, &y, rules.thresholds().0),
        ));
        if held_out_p.is_none() {
            held_out_p = Some((p, y));
        }
    }
    println!();
    println!(
        "Decisions at the default thresholds (model: review at {:.2}; rules: review at {:.2}): \
         share of fraud flagged (review or decline) and of legitimate transactions flagged:",
        scorer.thresholds().0,
        rules.thresholds().0
    );
    println!();
    println!("| data set | fraud flagged, model | fraud flagged, rules | legit flagged, model | legit flagged, rules |");
    println!("|---|---|---|---|---|");
    for (name, (mf, ml), (rf, rl)) in decisions {
        println!("| {name} | {mf:.3} | {rf:.3} | {ml:.4} | {rl:.4} |");
    }
    let (p, y) = held_out_p.expect("held-out evaluated");
    println!();
    println!("Reliability of the model on the held-out set (10 equal-width bins):");
    println!();
    println!("| bin | rows | mean predicted | observed rate |");
    println!("|---|---|---|---|");
    for b in reliability_table(&p, &y, 10)? {
        if b.count > 0 {
            println!(
                "| {:.1}-{:.1} | {} | {:.4} | {:.4} |",
                b.lower, b.upper, b.count, b.mean_predicted, b.observed_rate
            );
        }
    }
    Ok(())
}

/// Shares of fraud and of legitimate rows with a score at or above `review_at`.
fn flagged(score: &[f64], y: &[f64], review_at: f64) -> (f64, f64) {
    let (mut fraud, mut fraud_hit, mut legit, mut legit_hit) = (0.0, 0.0, 0.0, 0.0);
    for (&s, &l) in score.iter().zip(y) {
        let hit = f64::from(u8::from(s >= review_at));
        if l > 0.5 {
            fraud += 1.0;
            fraud_hit += hit;
        } else {
            legit += 1.0;
            legit_hit += hit;
        }
    }
    (fraud_hit / fraud, legit_hit / legit)
}

/// Model probabilities and rule scores for every transaction of `data`.
fn evaluate(
    scorer: &FraudScorer,
    rules: &FraudScorer,
    data: &SyntheticData,
) -> tenantml::Result<(Vec<f64>, Vec<f64>)> {
    let p = scorer.score_dataset(&data.transactions)?;
    let r = rules.score_dataset(&data.transactions)?;
    Ok((
        p.iter().map(|s| s.score).collect(),
        r.iter().map(|s| s.score).collect(),
    ))
}
