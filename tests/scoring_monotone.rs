//! Cold-start models under their monotone constraints: a fraud score that does not fall as
//! the amount climbs far above the customer's usual, and a churn probability that rises
//! with failed payments far enough to trigger the payment-recovery action.

use tenantml::scoring::churn::{
    ChurnPredictor, CooldownState, GeneratorSettings as ChurnSettings, Subscription, TenantHistory,
    TriggerPolicy, DAY,
};
use tenantml::scoring::fraud::{Decision, FraudScorer, GeneratorSettings, Transaction};

#[test]
fn a_bigger_amount_on_the_usual_card_never_scores_lower() {
    // The demo's scorer: the training settings, seed 42.
    let scorer = FraudScorer::cold_start(&GeneratorSettings::training(), 42).unwrap();
    let de = scorer.schema().countries.code("DE");
    let t0 = 1_767_900_000;
    // 30 daily purchases of 17..=46 on one card at home: median 31.5.
    let history: Vec<Transaction> = (0..30)
        .map(|i| Transaction {
            customer: 1,
            payment_method: 11,
            country: de,
            ip_country: de,
            ..Transaction::new(t0 - (i + 1) * 86_400 + (i * 997) % 7_200, 17.0 + i as f64)
        })
        .collect();
    let score = |amount: f64| {
        let txn = Transaction {
            amount,
            timestamp: t0,
            category: 2,
            ..history[0]
        };
        scorer.score(&txn, history.as_slice()).unwrap()
    };
    let usual = score(35.0).score;
    let mut last = 0.0;
    for amount in [
        100.0, 200.0, 400.0, 800.0, 1_500.0, 1_890.0, 2_500.0, 5_000.0, 20_000.0,
    ] {
        let s = score(amount);
        assert!(
            s.score >= last,
            "amount {amount}: {} after {last} (a larger amount scored lower)",
            s.score
        );
        last = s.score;
    }
    let (s800, s1500, s2500) = (score(800.0), score(1_500.0), score(2_500.0));
    assert!(s800.score <= s1500.score && s1500.score <= s2500.score);
    assert!(
        s1500.score > 10.0 * usual.max(1e-3),
        "{} vs usual {usual}",
        s1500.score
    );
    assert_ne!(s1500.decision, Decision::Approve, "{s1500:?}");
    assert_ne!(s2500.decision, Decision::Approve, "{s2500:?}");
}

/// The demo's small tenant: 4 seats, 300 days old, a session on most weekdays, and the
/// failed payments `failed` days ago.
fn small_tenant(as_of: i64, failed: &[i64]) -> TenantHistory {
    let (mut at, mut amount) = (Vec::new(), Vec::new());
    for d in (1..=120i64).rev() {
        if d % 7 < 5 && d % 3 > 0 {
            at.push(as_of - d * DAY + 9 * 3_600);
            amount.push(25.0);
        }
    }
    let failed: Vec<i64> = failed.iter().map(|d| as_of - d * DAY).collect();
    TenantHistory::new(format!("failed-{}", failed.len()))
        .with_events(&at, &amount)
        .unwrap()
        .with_subscription(Subscription {
            plan: Some("starter".into()),
            started_at: Some(as_of - 300 * DAY),
            seats: Some(4.0),
            monthly_price: Some(160.0),
            plan_allowance: Some(3_600.0),
        })
        .unwrap()
        .with_failed_payments(&failed)
        .with_tickets(&[], None)
        .unwrap()
}

#[test]
fn failed_payments_raise_churn_enough_to_trigger_payment_recovery() {
    let predictor = ChurnPredictor::cold_start(&ChurnSettings::training(), 42).unwrap();
    let as_of = 1_756_684_800; // 2025-09-01
    let p = |failed: &[i64]| {
        predictor
            .predict(&small_tenant(as_of, failed), as_of)
            .unwrap()
    };
    let p0 = p(&[]);
    let ladder = [p(&[9]), p(&[2, 9]), p(&[2, 9, 16])];
    let mut last = p0.probability;
    for s in &ladder {
        assert!(s.probability >= last, "{} after {last}", s.probability);
        last = s.probability;
    }
    let p3 = &ladder[2];
    assert!(
        p3.probability >= 0.3 && p3.probability >= p0.probability + 0.25,
        "3 failed payments: p = {}, none: p = {}",
        p3.probability,
        p0.probability
    );
    let outcome = TriggerPolicy::default_policy().evaluate(
        &[p0.clone(), p3.clone()],
        &CooldownState::default(),
        as_of,
    );
    let fired: Vec<(&str, &str)> = outcome
        .decisions
        .iter()
        .map(|d| (d.tenant_id.as_str(), d.action.as_str()))
        .collect();
    assert!(
        fired.contains(&("failed-3", "payment_recovery_email")),
        "{fired:?}"
    );
    assert!(!fired.iter().any(|(t, _)| *t == "failed-0"), "{fired:?}");
}
