//! Fraud scoring from a PHP-like caller's point of view: a cold-start scorer for a tenant
//! without labelled fraud, strings encoded once with the scorer's schema, a few
//! transactions scored with reasons, the rules-only fallback answering the same type, and
//! the scorer saved to bytes and loaded back.
//!
//! Run: `cargo run --release --example fraud_scoring`

use tenantml::scoring::fraud::{FraudScorer, GeneratorSettings, Outcome, RulesConfig, Transaction};

fn main() -> tenantml::Result<()> {
    // Day 1: no labels yet, so a model fitted on synthetic data.
    let scorer = FraudScorer::cold_start(&GeneratorSettings::training(), 42)?;
    let schema = scorer.schema().clone();
    let (eur, de, ng) = (
        schema.currencies.code("EUR"),
        schema.countries.code("DE"),
        schema.countries.code("NG"),
    );
    let groceries = schema.categories.code("groceries");
    println!(
        "scorer '{}' v{} ({}), {} features, unknown country 'XX' -> code {}",
        scorer.name(),
        scorer.version(),
        scorer.regime().as_str(),
        scorer.feature_names().len(),
        schema.countries.code("XX")
    );

    // A customer's last month, as the application's database returns it.
    let now = 1_768_000_000; // 2026-01-09T23:06:40Z
    let card = 7_001;
    let usual = Transaction {
        amount: 42.0,
        timestamp: now,
        customer: 501,
        payment_method: card,
        currency: eur,
        country: de,
        ip_country: de,
        category: groceries,
        outcome: Outcome::Succeeded as u32,
    };
    let history: Vec<Transaction> = (1..=30)
        .map(|d| Transaction {
            amount: 25.0 + (d % 5) as f64 * 9.0,
            timestamp: now - d * 86_400 + (d % 3) * 3_600,
            ..usual
        })
        .collect();

    let stolen_card = Transaction {
        amount: 480.0,
        payment_method: 9_999,
        country: ng,
        ip_country: ng,
        ..usual
    };
    let mut burst = history.clone();
    for i in 1..=6 {
        burst.push(Transaction {
            amount: 1.0,
            timestamp: now - 40 * i,
            payment_method: 8_888,
            outcome: (i % 2) as u32,
            ..usual
        });
    }
    let card_test = Transaction {
        amount: 1.0,
        payment_method: 8_888,
        ..usual
    };

    for (what, txn, hist) in [
        ("usual groceries", usual, &history),
        (
            "new card from abroad, 10x the median",
            stolen_card,
            &history,
        ),
        ("seventh 1.00 charge in 4 minutes", card_test, &burst),
    ] {
        let answer = scorer.explain(&txn, hist.as_slice(), 3)?;
        println!(
            "\n{what}: score {:.3} -> {} ({} {} v{})",
            answer.score,
            answer.decision.as_str(),
            answer.regime.as_str(),
            answer.model_name,
            answer.model_version
        );
        for r in &answer.reasons {
            println!("  {:<28} {:>7.3}  {}", r.code, r.weight, r.description);
        }
    }

    // The fallback: the platform's rules, same answer type.
    let rules = FraudScorer::rules_only(RulesConfig::default(), schema)?;
    let answer = rules.explain(&card_test, burst.as_slice(), 3)?;
    println!(
        "\nrules only: {}",
        serde_json::to_string_pretty(&answer).expect("plain data")
    );

    let bytes = scorer.to_bytes()?;
    let loaded = FraudScorer::from_bytes(&bytes)?;
    assert_eq!(
        loaded.score(&card_test, burst.as_slice())?,
        scorer.score(&card_test, burst.as_slice())?
    );
    println!("\nsaved and reloaded: {} bytes", bytes.len());
    Ok(())
}
