//! Fraud scoring without a model: feature values on hand-made histories, rule
//! configurations, decisions and input checks.

use tenantml::features::calendar::LocalClock;
use tenantml::scoring::fraud::{
    compute_facts, Decision, FeatureScratch, FraudScorer, HistoryColumns, RulesConfig, Schema,
    Transaction, BASE_FEATURES, MAX_TIMESTAMP,
};
use tenantml::scoring::{ReasonSource, Regime};
use tenantml::Error;

/// 2026-01-07T12:00:00Z, a Wednesday.
const T: i64 = 1_767_787_200;

fn schema() -> Schema {
    Schema::new(
        &["EUR", "USD"],
        &["DE", "FR", "US"],
        &["books", "games"],
        None,
    )
    .unwrap()
}

fn txn(dt: i64, amount: f64) -> Transaction {
    Transaction {
        customer: 1,
        payment_method: 10,
        currency: 1,
        country: 1,
        ip_country: 1,
        category: 1,
        ..Transaction::new(T + dt, amount)
    }
}

fn features(t: &Transaction, history: &[Transaction]) -> Vec<f64> {
    let scorer = FraudScorer::rules_only(RulesConfig::default(), schema()).unwrap();
    scorer.features(t, history).unwrap()
}

fn feature(row: &[f64], name: &str) -> f64 {
    row[BASE_FEATURES.iter().position(|n| *n == name).unwrap()]
}

#[test]
fn empty_history_counts_only_the_transaction_itself() {
    let row = features(&txn(0, 42.0), &[]);
    for w in ["10m", "1h", "24h"] {
        assert_eq!(feature(&row, &format!("count_{w}")), 1.0);
        assert_eq!(feature(&row, &format!("sum_{w}")), 42.0);
    }
    assert_eq!(feature(&row, "history_length"), 0.0);
    assert_eq!(feature(&row, "new_payment_method"), 1.0);
    assert_eq!(feature(&row, "new_country"), 1.0);
    assert_eq!(feature(&row, "failed_24h"), 0.0);
    assert_eq!(feature(&row, "method_uses"), 0.0);
    for missing in [
        "amount_zscore",
        "amount_to_median",
        "seconds_since_previous",
        "method_age_hours",
    ] {
        assert!(feature(&row, missing).is_nan(), "{missing}");
    }
    assert!((feature(&row, "log_amount") - 43f64.ln()).abs() < 1e-12);
}

#[test]
fn one_earlier_transaction() {
    let row = features(&txn(0, 30.0), &[txn(-7_200, 10.0)]);
    assert_eq!(feature(&row, "history_length"), 1.0);
    assert_eq!(feature(&row, "amount_to_median"), 3.0);
    assert!(feature(&row, "amount_zscore").is_nan(), "needs two rows");
    assert_eq!(feature(&row, "seconds_since_previous"), 7_200.0);
    assert_eq!(feature(&row, "count_1h"), 1.0);
    assert_eq!(feature(&row, "count_24h"), 2.0);
    assert_eq!(feature(&row, "sum_24h"), 40.0);
    assert_eq!(feature(&row, "new_payment_method"), 0.0);
    assert_eq!(feature(&row, "method_uses"), 1.0);
    assert_eq!(feature(&row, "method_age_hours"), 2.0);
    assert_eq!(feature(&row, "new_country"), 0.0);
    assert_eq!(feature(&row, "country_mismatch"), 0.0);
}

#[test]
fn velocity_windows_are_half_open_at_their_edges() {
    // Exactly 10 min / 1 h / 24 h before: outside that window; one second later: inside.
    let history = [
        txn(-600, 1.0),
        txn(-599, 2.0),
        txn(-3_600, 4.0),
        txn(-3_599, 8.0),
        txn(-86_400, 16.0),
        txn(-86_399, 32.0),
    ];
    let row = features(&txn(0, 100.0), &history);
    assert_eq!(feature(&row, "count_10m"), 2.0); // -599 and the transaction
    assert_eq!(feature(&row, "sum_10m"), 102.0);
    assert_eq!(feature(&row, "count_1h"), 4.0); // -600, -599, -3599, itself
    assert_eq!(feature(&row, "sum_1h"), 111.0);
    assert_eq!(feature(&row, "count_24h"), 6.0); // all but -86400
    assert_eq!(feature(&row, "sum_24h"), 147.0);
    assert_eq!(feature(&row, "history_length"), 6.0);
    assert_eq!(feature(&row, "seconds_since_previous"), 599.0);
}

#[test]
fn failed_attempts_count_in_the_last_24_hours_only() {
    let mut h = vec![
        txn(-60, 1.0),
        txn(-120, 1.0),
        txn(-86_400, 1.0),
        txn(-30, 1.0),
    ];
    for t in &mut h[..3] {
        t.outcome = 1;
    }
    let row = features(&txn(0, 1.0), &h);
    assert_eq!(feature(&row, "failed_24h"), 2.0);
}

#[test]
fn unsorted_history_gives_the_same_features_as_sorted() {
    let sorted: Vec<Transaction> = (1..=40)
        .map(|i| {
            let mut t = txn(-i * 450, (i % 7) as f64 * 3.0 + 1.0);
            t.payment_method = 10 + (i as u64 % 3);
            t.country = 1 + (i as u32 % 2);
            t
        })
        .collect();
    let mut shuffled = sorted.clone();
    shuffled.reverse();
    shuffled.swap(3, 17);
    shuffled.swap(0, 29);
    let t = txn(0, 12.0);
    let a = features(&t, &sorted);
    let b = features(&t, &shuffled);
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-9 * x.abs().max(1.0) || (x.is_nan() && y.is_nan()),
            "{}: {x} vs {y}",
            BASE_FEATURES.get(i).unwrap_or(&"rule")
        );
    }
}

#[test]
fn later_transactions_are_ignored_and_same_second_ones_count() {
    let past = vec![txn(-300, 5.0), txn(-5_000, 7.0)];
    let mut with_future = past.clone();
    with_future.push(txn(1, 1_000.0));
    with_future.push(txn(600, 2_000.0));
    let t = txn(0, 9.0);
    let a = features(&t, &past);
    let b = features(&t, &with_future);
    assert_eq!(format!("{a:?}"), format!("{b:?}"), "no look-ahead");
    let mut same_second = past.clone();
    same_second.push(txn(0, 3.0));
    let c = features(&t, &same_second);
    assert_eq!(feature(&c, "count_10m"), feature(&a, "count_10m") + 1.0);
    assert_eq!(feature(&c, "seconds_since_previous"), 0.0);
}

#[test]
fn median_zscore_and_novelty() {
    let mut h: Vec<Transaction> = [10.0, 20.0, 30.0, 40.0]
        .iter()
        .enumerate()
        .map(|(i, &a)| txn(-(i as i64 + 1) * 86_400 * 2, a))
        .collect();
    h[0].payment_method = 11;
    let mut t = txn(0, 100.0);
    t.payment_method = 12;
    t.country = 2;
    t.ip_country = 3;
    let row = features(&t, &h);
    assert_eq!(feature(&row, "amount_to_median"), 4.0); // median of 10..40 is 25
    let std = 125f64.sqrt(); // population std of 10, 20, 30, 40
    assert!((feature(&row, "amount_zscore") - 75.0 / std).abs() < 1e-9);
    assert_eq!(feature(&row, "new_payment_method"), 1.0);
    assert_eq!(feature(&row, "new_country"), 1.0);
    assert_eq!(feature(&row, "country_mismatch"), 1.0);
    t.ip_country = 0; // unknown: no opinion
    assert!(feature(&features(&t, &h), "country_mismatch").is_nan());
}

#[test]
fn hour_and_weekday_follow_the_schema_time_zone() {
    let mut s = schema();
    s.time_zone = Some("America/New_York".into());
    let ny = FraudScorer::rules_only(RulesConfig::default(), s).unwrap();
    let utc = FraudScorer::rules_only(RulesConfig::default(), schema()).unwrap();
    let t = txn(0, 1.0); // 12:00 UTC = 07:00 in New York (EST)
    let hour = |row: &[f64]| {
        let a = feature(row, "hour_sin").atan2(feature(row, "hour_cos"));
        (a.rem_euclid(std::f64::consts::TAU) * 24.0 / std::f64::consts::TAU).round()
    };
    assert_eq!(hour(&utc.features(&t, &[][..]).unwrap()), 12.0);
    assert_eq!(hour(&ny.features(&t, &[][..]).unwrap()), 7.0);
    let wd = utc.features(&t, &[][..]).unwrap();
    let w = feature(&wd, "weekday_sin").atan2(feature(&wd, "weekday_cos"));
    assert_eq!(
        (w.rem_euclid(std::f64::consts::TAU) * 7.0 / std::f64::consts::TAU).round(),
        2.0
    );
}

#[test]
fn columns_and_slices_give_the_same_facts() {
    let h = [txn(-30, 3.0), txn(-4_000, 8.0), txn(-90_000, 1.0)];
    let amounts: Vec<f64> = h.iter().map(|t| t.amount).collect();
    let times: Vec<i64> = h.iter().map(|t| t.timestamp).collect();
    let methods: Vec<u64> = h.iter().map(|t| t.payment_method).collect();
    let countries: Vec<u32> = h.iter().map(|t| t.country).collect();
    let outcomes: Vec<u32> = vec![1, 0, 0];
    let cols = HistoryColumns::new(&amounts, &times, &methods, &countries, &outcomes).unwrap();
    let mut h2 = h;
    h2[0].outcome = 1;
    let clock = LocalClock::utc();
    let mut s = FeatureScratch::new();
    let a = compute_facts(&txn(0, 5.0), &cols, &clock, &mut s);
    let b = compute_facts(&txn(0, 5.0), h2.as_slice(), &clock, &mut s);
    assert_eq!(a, b);
    assert_eq!(a.failed_24h, 1);
}

fn parse_err(json: &str) -> String {
    match RulesConfig::from_json(json) {
        Err(Error::Parse(m)) => m,
        other => panic!("expected a parse error for {json}, got {other:?}"),
    }
}

#[test]
fn rule_configs_are_parsed_strictly() {
    assert!(parse_err("{not json").contains("fraud rules"));
    let m = parse_err(r#"{"rules": [{"type": "moon_phase", "weight": 0.2}]}"#);
    assert!(m.contains("moon_phase"), "{m}");
    let m = parse_err(r#"{"rules": [{"type": "amount_over", "limit": -5, "weight": 0.2}]}"#);
    assert!(m.contains("limit") && m.contains(">= 0"), "{m}");
    let m = parse_err(
        r#"{"rules": [{"type": "velocity_sum", "window": "1h", "max_sum": -1, "weight": 0.2}]}"#,
    );
    assert!(m.contains("max_sum"), "{m}");
    let m = parse_err(
        r#"{"rules": [{"type": "velocity_count", "window": "1h", "max_count": -3, "weight": 0.2}]}"#,
    );
    assert!(
        m.contains("max_count") || m.contains("invalid value"),
        "{m}"
    );
    let m = parse_err(
        r#"{"rules": [{"type": "amount_over", "limit": 5, "weight": 0.2, "colour": 1}]}"#,
    );
    assert!(m.contains("colour"), "{m}");
    let m = parse_err(r#"{"rules": [], "treshold": 1}"#);
    assert!(m.contains("treshold"), "{m}");
    let m = parse_err(
        r#"{"rules": [{"type": "amount_over", "limit": 5, "window": "1h", "weight": 0.2}]}"#,
    );
    assert!(m.contains("window") && m.contains("not a parameter"), "{m}");
    let m = parse_err(r#"{"rules": [{"type": "amount_over", "weight": 0.2}]}"#);
    assert!(m.contains("missing parameter `limit`"), "{m}");
    let m = parse_err(r#"{"rules": [{"type": "amount_over", "limit": 5, "weight": 1.5}]}"#);
    assert!(m.contains("weight"), "{m}");
    let m = parse_err(r#"{"rules": [{"type": "amount_over", "limit": 5}]}"#);
    assert!(m.contains("weight"), "{m}");
    let m = parse_err(
        r#"{"rules": [{"type": "velocity_count", "window": "5m", "max_count": 3, "weight": 0.2}]}"#,
    );
    assert!(m.contains("5m"), "{m}");
    let m = parse_err(
        r#"{"rules": [{"type": "failed_attempts", "min_count": 2, "weight": 0.2},
                      {"type": "failed_attempts", "min_count": 4, "weight": 0.3}]}"#,
    );
    assert!(m.contains("twice"), "{m}");
    let m = parse_err(r#"{"review_at": 0.8, "decline_at": 0.5, "rules": []}"#);
    assert!(m.contains("review_at"), "{m}");
    let m = parse_err(
        r#"{"rules": [{"type": "night_time", "from_hour": 24, "to_hour": 5, "weight": 0.2}]}"#,
    );
    assert!(m.contains("from_hour"), "{m}");
}

#[test]
fn the_default_rules_round_trip_through_json() {
    let rules = RulesConfig::default();
    assert_eq!(rules.rules().len(), 8);
    assert_eq!(RulesConfig::from_json(&rules.to_json()).unwrap(), rules);
    let via_serde: RulesConfig = serde_json::from_str(RulesConfig::DEFAULT_JSON).unwrap();
    assert_eq!(via_serde, rules);
}

fn one_rule(json_rule: &str) -> FraudScorer {
    let json = format!(r#"{{"review_at": 0.3, "decline_at": 0.7, "rules": [{json_rule}]}}"#);
    FraudScorer::rules_only(RulesConfig::from_json(&json).unwrap(), schema()).unwrap()
}

#[test]
fn each_rule_fires_on_its_condition() {
    let over = one_rule(r#"{"type": "amount_over", "limit": 100, "weight": 0.4}"#);
    assert_eq!(over.score(&txn(0, 100.0), &[][..]).unwrap().score, 0.0);
    let s = over.score(&txn(0, 100.01), &[][..]).unwrap();
    assert_eq!(
        (s.score, s.rule_hits.clone()),
        (0.4, vec!["amount_over".to_string()])
    );

    let spike =
        one_rule(r#"{"type": "amount_over_median", "factor": 3, "min_history": 2, "weight": 0.5}"#);
    let h = [txn(-9_000, 10.0), txn(-8_000, 10.0)];
    assert_eq!(
        spike.score(&txn(0, 31.0), &h[..1]).unwrap().score,
        0.0,
        "too little history"
    );
    assert_eq!(spike.score(&txn(0, 31.0), &h[..]).unwrap().score, 0.5);
    assert_eq!(spike.score(&txn(0, 30.0), &h[..]).unwrap().score, 0.0);

    // 22:00-05:00 wraps past midnight; T is 12:00 UTC.
    let night = one_rule(r#"{"type": "night_time", "from_hour": 22, "to_hour": 5, "weight": 0.2}"#);
    assert_eq!(night.score(&txn(0, 1.0), &[][..]).unwrap().score, 0.0);
    assert_eq!(
        night.score(&txn(11 * 3_600, 1.0), &[][..]).unwrap().score,
        0.2
    ); // 23:00
    assert_eq!(
        night.score(&txn(16 * 3_600, 1.0), &[][..]).unwrap().score,
        0.2
    ); // 04:00
    assert_eq!(
        night.score(&txn(17 * 3_600, 1.0), &[][..]).unwrap().score,
        0.0
    ); // 05:00

    let burst =
        one_rule(r#"{"type": "velocity_count", "window": "10m", "max_count": 2, "weight": 0.6}"#);
    let two = [txn(-100, 1.0), txn(-600, 1.0)];
    assert_eq!(
        burst.score(&txn(0, 1.0), &two[..]).unwrap().score,
        0.0,
        "2 in the window"
    );
    let three = [txn(-100, 1.0), txn(-599, 1.0)];
    assert_eq!(burst.score(&txn(0, 1.0), &three[..]).unwrap().score, 0.6);

    let spend =
        one_rule(r#"{"type": "velocity_sum", "window": "24h", "max_sum": 50, "weight": 0.3}"#);
    assert_eq!(
        spend
            .score(&txn(0, 30.0), &[txn(-80_000, 20.0)][..])
            .unwrap()
            .score,
        0.0
    );
    assert_eq!(
        spend
            .score(&txn(0, 30.0), &[txn(-80_000, 21.0)][..])
            .unwrap()
            .score,
        0.3
    );

    let foreign = one_rule(r#"{"type": "new_method_foreign", "weight": 0.5}"#);
    let known = [txn(-5_000, 1.0)];
    let mut t = txn(0, 1.0);
    assert_eq!(foreign.score(&t, &known[..]).unwrap().score, 0.0);
    t.payment_method = 99;
    assert_eq!(
        foreign.score(&t, &known[..]).unwrap().score,
        0.0,
        "home country"
    );
    t.ip_country = 3;
    assert_eq!(
        foreign.score(&t, &known[..]).unwrap().score,
        0.5,
        "IP abroad"
    );

    let failed = one_rule(r#"{"type": "failed_attempts", "min_count": 2, "weight": 0.7}"#);
    let mut f = [txn(-50, 1.0), txn(-40, 1.0)];
    f[0].outcome = 1;
    assert_eq!(failed.score(&txn(0, 1.0), &f[..]).unwrap().score, 0.0);
    f[1].outcome = 1;
    assert_eq!(failed.score(&txn(0, 1.0), &f[..]).unwrap().score, 0.7);
}

#[test]
fn hard_rules_impose_at_least_their_action() {
    let json = r#"{"review_at": 0.3, "decline_at": 0.7, "rules": [
        {"type": "amount_over", "limit": 5000, "weight": 0.1, "action": "review"},
        {"type": "failed_attempts", "min_count": 1, "weight": 0.1, "action": "decline"},
        {"type": "night_time", "from_hour": 0, "to_hour": 6, "weight": 0.1}]}"#;
    let rules = RulesConfig::from_json(json).unwrap();
    assert_eq!(RulesConfig::from_json(&rules.to_json()).unwrap(), rules);
    let scorer = FraudScorer::rules_only(rules, schema()).unwrap();
    // A weight of 0.1 alone would approve; the hard rule makes it a review.
    let big = scorer.score(&txn(0, 6000.0), &[][..]).unwrap();
    assert_eq!((big.score, big.decision), (0.1, Decision::Review));
    // Decline wins over review.
    let mut failed = txn(-600, 3.0);
    failed.outcome = 1;
    let both = scorer.score(&txn(0, 6000.0), &[failed][..]).unwrap();
    assert_eq!(both.decision, Decision::Decline);
    // A hard rule never lowers a decision, and a soft one imposes nothing.
    let calm = scorer.score(&txn(0, 10.0), &[][..]).unwrap();
    assert_eq!(calm.decision, Decision::Approve);
    // Rules cannot approve.
    let err = RulesConfig::from_json(
        r#"{"rules": [{"type": "amount_over", "limit": 1, "weight": 0.1, "action": "approve"}]}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("action"), "{err}");
    assert!(RulesConfig::from_json(
        r#"{"rules": [{"type": "amount_over", "limit": 1, "weight": 0.1, "action": "block"}]}"#
    )
    .is_err());
}

#[test]
fn rule_weights_combine_as_independent_chances_and_decide_by_threshold() {
    let json = r#"{"review_at": 0.3, "decline_at": 0.7, "rules": [
        {"type": "amount_over", "limit": 100, "weight": 0.5},
        {"type": "failed_attempts", "min_count": 1, "weight": 0.5},
        {"type": "velocity_count", "window": "1h", "max_count": 1, "weight": 0.2}]}"#;
    let scorer = FraudScorer::rules_only(RulesConfig::from_json(json).unwrap(), schema()).unwrap();
    assert_eq!(scorer.regime(), Regime::Fallback);
    let calm = scorer.score(&txn(0, 10.0), &[][..]).unwrap();
    assert_eq!((calm.score, calm.decision), (0.0, Decision::Approve));
    let one = scorer.score(&txn(0, 500.0), &[][..]).unwrap();
    assert_eq!((one.score, one.decision), (0.5, Decision::Review));
    let mut failed = txn(-7_200, 3.0);
    failed.outcome = 1;
    let two = scorer.score(&txn(0, 500.0), &[failed][..]).unwrap();
    assert_eq!((two.score, two.decision), (0.75, Decision::Decline));
    let recent = txn(-60, 3.0);
    let low = scorer.score(&txn(0, 10.0), &[recent][..]).unwrap();
    assert_eq!((low.score, low.decision), (0.2, Decision::Approve));
    assert_eq!(low.model_name, "rules");
    let explained = scorer.explain(&txn(0, 500.0), &[failed][..], 1).unwrap();
    assert_eq!(explained.reasons.len(), 1, "k heaviest rule hits");
    assert_eq!(explained.reasons[0].source, ReasonSource::Rule);
    assert!(explained.reasons[0].code.starts_with("rule:"));
}

fn invalid(scorer: &FraudScorer, t: &Transaction, h: &[Transaction]) -> String {
    match scorer.score(t, h) {
        Err(Error::InvalidArgument(m)) => m,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[test]
fn bad_inputs_are_clear_errors() {
    let s = FraudScorer::rules_only(RulesConfig::default(), schema()).unwrap();
    for amount in [f64::NAN, f64::INFINITY, -0.01] {
        assert!(invalid(&s, &txn(0, amount), &[]).contains("amount"));
    }
    assert!(invalid(&s, &Transaction::new(-1, 1.0), &[]).contains("timestamp"));
    assert!(invalid(&s, &Transaction::new(MAX_TIMESTAMP, 1.0), &[]).contains("timestamp"));
    let mut t = txn(0, 1.0);
    t.country = 4; // three countries known
    assert!(invalid(&s, &t, &[]).contains("country code 4"));
    let mut t = txn(0, 1.0);
    t.currency = 3;
    assert!(invalid(&s, &t, &[]).contains("currency"));
    let mut t = txn(0, 1.0);
    t.category = 9;
    assert!(invalid(&s, &t, &[]).contains("category"));
    let mut h = txn(-10, 1.0);
    h.outcome = 7;
    assert!(invalid(&s, &txn(0, 1.0), &[h]).contains("outcome"));
    assert!(invalid(&s, &txn(0, 1.0), &[txn(-10, f64::NAN)]).contains("history row 0"));
    // Unknown (code 0) is always accepted.
    let mut t = txn(0, 1.0);
    (t.currency, t.country, t.ip_country, t.category) = (0, 0, 0, 0);
    assert!(s.score(&t, &[][..]).is_ok());
    assert_eq!(schema().countries.code("ZZ"), 0, "unknown strings map to 0");
}
