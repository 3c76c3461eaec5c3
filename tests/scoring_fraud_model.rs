//! Fraud scoring with a model: fitting, determinism, calibration, model vs rules, reasons,
//! model files.

use std::sync::OnceLock;

use tenantml::scoring::fraud::{
    Decision, FraudParams, FraudScore, FraudScorer, GeneratorSettings, HistoryColumns, RulesConfig,
    SyntheticData, Transaction, FRAUD_SCORER_KIND,
};
use tenantml::scoring::{ReasonSource, Regime};
use tenantml::trees::metrics::roc_auc;
use tenantml::trees::model::{Model, ModelParams};
use tenantml::Error;

fn small(settings: GeneratorSettings) -> GeneratorSettings {
    settings.with_customers(400)
}

fn params() -> FraudParams {
    let mut p = FraudParams::default();
    p.model.gbdt.rounds = 120;
    p.model.gbdt.learning_rate = 0.1;
    p
}

fn trained() -> &'static (SyntheticData, FraudScorer) {
    static CELL: OnceLock<(SyntheticData, FraudScorer)> = OnceLock::new();
    CELL.get_or_init(|| {
        let data = small(GeneratorSettings::training()).generate().unwrap();
        let scorer = FraudScorer::fit(
            &data.transactions,
            &data.labels,
            data.schema.clone(),
            &params(),
        )
        .unwrap();
        (data, scorer)
    })
}

fn held_out() -> &'static SyntheticData {
    static CELL: OnceLock<SyntheticData> = OnceLock::new();
    CELL.get_or_init(|| small(GeneratorSettings::held_out()).generate().unwrap())
}

#[test]
fn the_generator_is_deterministic_and_seeds_differ() {
    let s = GeneratorSettings::training().with_customers(60);
    let a = s.generate().unwrap();
    assert_eq!(a, s.generate().unwrap());
    let b = s.clone().with_seed(2).generate().unwrap();
    assert_ne!(a.transactions, b.transactions);
    // Grouped per customer, in time order.
    for w in a.transactions.windows(2) {
        assert!(
            w[0].customer < w[1].customer
                || (w[0].customer == w[1].customer && w[0].timestamp <= w[1].timestamp)
        );
    }
    let rate = GeneratorSettings::training()
        .with_customers(300)
        .generate()
        .unwrap()
        .fraud_rate();
    assert!((0.008..0.013).contains(&rate), "fraud rate {rate}");
    assert!(GeneratorSettings::training()
        .with_fraud_rate(0.7)
        .generate()
        .is_err());
}

#[test]
fn a_hard_rule_floors_the_model_decision_without_changing_its_score() {
    let data = GeneratorSettings::training()
        .with_customers(120)
        .generate()
        .unwrap();
    let mut soft = params();
    soft.model.gbdt.rounds = 30;
    soft.rules = RulesConfig::from_json(
        r#"{"rules": [{"type": "amount_over", "limit": 0, "weight": 0.2}]}"#,
    )
    .unwrap();
    let mut hard = soft.clone();
    hard.rules = RulesConfig::from_json(
        r#"{"rules": [{"type": "amount_over", "limit": 0, "weight": 0.2, "action": "review"}]}"#,
    )
    .unwrap();
    let fit = |p: &FraudParams| {
        FraudScorer::fit(&data.transactions, &data.labels, data.schema.clone(), p).unwrap()
    };
    let (soft, hard) = (fit(&soft), fit(&hard));
    // Every transaction has a positive amount, so the hard rule fires on all of them.
    let mut approved_by_the_model = 0;
    for i in 1..200 {
        let (txn, history) = (&data.transactions[i], &data.transactions[..i]);
        let history: Vec<_> = history
            .iter()
            .filter(|h| h.customer == txn.customer)
            .copied()
            .collect();
        let a = soft.score(txn, &history[..]).unwrap();
        let b = hard.score(txn, &history[..]).unwrap();
        assert_eq!(a.score, b.score);
        assert_ne!(b.decision, Decision::Approve);
        approved_by_the_model += usize::from(a.decision == Decision::Approve);
    }
    assert!(approved_by_the_model > 100);
}

#[test]
fn fitting_is_deterministic_to_the_byte() {
    let data = GeneratorSettings::training()
        .with_customers(120)
        .generate()
        .unwrap();
    let mut p = params();
    p.model.gbdt.rounds = 30;
    let fit = || {
        FraudScorer::fit(&data.transactions, &data.labels, data.schema.clone(), &p)
            .unwrap()
            .to_bytes()
            .unwrap()
    };
    assert_eq!(fit(), fit());
}

#[test]
fn the_model_beats_the_rules_on_held_out_data() {
    let (data, scorer) = trained();
    let rules = FraudScorer::rules_only(RulesConfig::default(), data.schema.clone()).unwrap();
    let test = held_out();
    let y = test.labels_f64();
    let p: Vec<f64> = scorer
        .score_dataset(&test.transactions)
        .unwrap()
        .iter()
        .map(|s| s.score)
        .collect();
    let r: Vec<f64> = rules
        .score_dataset(&test.transactions)
        .unwrap()
        .iter()
        .map(|s| s.score)
        .collect();
    let (auc_model, auc_rules) = (roc_auc(&y, &p), roc_auc(&y, &r));
    assert!(
        auc_model > auc_rules + 0.03,
        "model {auc_model} rules {auc_rules}"
    );
}

#[test]
fn probabilities_are_calibrated_on_held_out_data() {
    let (_, scorer) = trained();
    let test = held_out();
    let p: Vec<f64> = scorer
        .score_dataset(&test.transactions)
        .unwrap()
        .iter()
        .map(|s| s.score)
        .collect();
    let mean = p.iter().sum::<f64>() / p.len() as f64;
    let rate = test.fraud_rate();
    assert!(
        (mean - rate).abs() < 0.35 * rate,
        "mean predicted {mean}, observed {rate}"
    );
    assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn every_answer_says_where_it_came_from() {
    let (data, scorer) = trained();
    assert_eq!(scorer.regime(), Regime::Model);
    let t = &data.transactions[5];
    let s = scorer.score(t, &data.transactions[..5]).unwrap();
    assert_eq!(
        (s.model_name.as_str(), s.model_version, s.regime),
        ("fraud", 1, Regime::Model)
    );
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<FraudScore>(&json).unwrap(), s);
    assert!(json.contains(r#""regime":"model""#), "{json}");
    let cold =
        FraudScorer::cold_start(&GeneratorSettings::training().with_customers(150), 3).unwrap();
    assert_eq!(cold.regime(), Regime::ColdStart);
    assert_eq!(
        cold.score(t, &data.transactions[..5]).unwrap().regime,
        Regime::ColdStart
    );
}

/// A customer with a calm history, then a card-testing burst on a new card.
fn burst(data: &SyntheticData) -> (Transaction, Vec<Transaction>) {
    let first = data.transactions[0];
    let customer: Vec<Transaction> = data
        .transactions
        .iter()
        .copied()
        .filter(|t| t.customer == first.customer)
        .collect();
    let last = *customer.last().unwrap();
    let mut history = customer.clone();
    for i in 1..=8 {
        history.push(Transaction {
            amount: 1.5,
            timestamp: last.timestamp + 3_600 + 30 * i,
            payment_method: 4242,
            outcome: u32::from(i % 2 == 0),
            ..last
        });
    }
    let t = Transaction {
        amount: 2.0,
        timestamp: last.timestamp + 3_600 + 300,
        payment_method: 4242,
        ..last
    };
    (t, history)
}

#[test]
fn explanations_name_the_reasons_in_words() {
    let (data, scorer) = trained();
    let (t, history) = burst(data);
    let plain = scorer.score(&t, history.as_slice()).unwrap();
    assert!(plain.reasons.is_empty(), "score gives no reasons");
    let e = scorer.explain(&t, history.as_slice(), 3).unwrap();
    assert_eq!(e.score, plain.score);
    // The burst is a home-country card test, rare in the small training set (most planted
    // tests come from abroad): the model must still rank it far above the customer's usual
    // purchase, and say why.
    let calm_t = Transaction {
        amount: t.amount * 20.0,
        payment_method: history[0].payment_method,
        ..t
    };
    let calm_h: Vec<Transaction> = history
        .iter()
        .copied()
        .filter(|h| h.payment_method != 4242)
        .collect();
    let calm = scorer.score(&calm_t, calm_h.as_slice()).unwrap();
    assert!(
        e.score > 0.05 && e.score > 20.0 * calm.score,
        "burst {} vs calm {}",
        e.score,
        calm.score
    );
    assert!(
        e.reasons
            .iter()
            .any(|r| r.code == "count_10m" || r.code == "method_age_hours"),
        "{:?}",
        e.reasons
    );
    let model: Vec<_> = e
        .reasons
        .iter()
        .filter(|r| r.source == ReasonSource::Model)
        .collect();
    assert!(!model.is_empty() && model.len() <= 3, "{:?}", e.reasons);
    assert!(model.windows(2).all(|w| w[0].weight >= w[1].weight));
    assert!(model
        .iter()
        .all(|r| r.weight > 0.0 && !r.description.is_empty()));
    let rules: Vec<_> = e
        .reasons
        .iter()
        .filter(|r| r.source == ReasonSource::Rule)
        .collect();
    assert_eq!(rules.len(), e.rule_hits.len());
    assert!(
        e.rule_hits.contains(&"velocity_10m".to_string()),
        "{:?}",
        e.rule_hits
    );
    let velocity = e
        .reasons
        .iter()
        .find(|r| r.code == "rule:velocity_10m")
        .unwrap();
    assert!(
        velocity
            .description
            .starts_with("9 transactions in the last 10 minutes"),
        "{}",
        velocity.description
    );
}

#[test]
fn columns_and_slices_score_the_same() {
    let (data, scorer) = trained();
    let (t, history) = burst(data);
    let amounts: Vec<f64> = history.iter().map(|h| h.amount).collect();
    let times: Vec<i64> = history.iter().map(|h| h.timestamp).collect();
    let methods: Vec<u64> = history.iter().map(|h| h.payment_method).collect();
    let countries: Vec<u32> = history.iter().map(|h| h.country).collect();
    let outcomes: Vec<u32> = history.iter().map(|h| h.outcome).collect();
    let cols = HistoryColumns::new(&amounts, &times, &methods, &countries, &outcomes).unwrap();
    assert_eq!(
        scorer.score(&t, &cols).unwrap(),
        scorer.score(&t, history.as_slice()).unwrap()
    );
}

#[test]
fn scorer_files_round_trip_and_refuse_damage() {
    let (data, scorer) = trained();
    let bytes = scorer.to_bytes().unwrap();
    let back = FraudScorer::from_bytes(&bytes).unwrap();
    assert_eq!(&back, scorer);
    assert_eq!(back.to_bytes().unwrap(), bytes);
    for i in [3, 40, 700] {
        let t = &data.transactions[i];
        let h = &data.transactions[i.saturating_sub(20)..i];
        assert_eq!(
            back.explain(t, h, 3).unwrap(),
            scorer.explain(t, h, 3).unwrap()
        );
    }
    let dir = std::env::temp_dir().join(format!("tml-fraud-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fraud.tml");
    scorer.save(&path).unwrap();
    assert_eq!(&FraudScorer::load(&path).unwrap(), scorer);
    std::fs::remove_dir_all(&dir).unwrap();

    let bad = |b: &[u8]| match FraudScorer::from_bytes(b) {
        Err(Error::BadModelFile(m)) => m,
        other => panic!(
            "expected BadModelFile, got {:?}",
            other.map(|s| s.name().to_string())
        ),
    };
    for cut in [0, 10, 40, bytes.len() / 2, bytes.len() - 1] {
        bad(&bytes[..cut]);
    }
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    bad(&flipped);
    // A tree model's file is not a fraud scorer.
    let x = ndarray::Array2::from_shape_fn((40, 2), |(i, j)| (i * (j + 1)) as f64);
    let y: Vec<f64> = (0..40).map(|i| i as f64).collect();
    let tree = Model::fit(x.view(), &y, None, None, &ModelParams::default()).unwrap();
    let m = bad(&tree.to_bytes().unwrap());
    assert!(m.contains(FRAUD_SCORER_KIND), "{m}");
    bad(b"definitely not a model file");

    let rules = FraudScorer::rules_only(RulesConfig::default(), data.schema.clone()).unwrap();
    let rb = rules.to_bytes().unwrap();
    assert_eq!(FraudScorer::from_bytes(&rb).unwrap(), rules);
}

#[test]
fn fit_refuses_bad_training_data() {
    let data = GeneratorSettings::training()
        .with_customers(50)
        .generate()
        .unwrap();
    let s = data.schema.clone();
    let p = params();
    let err = FraudScorer::fit(&data.transactions, &data.labels[1..], s.clone(), &p).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    let none = vec![false; data.labels.len()];
    assert!(FraudScorer::fit(&data.transactions, &none, s.clone(), &p).is_err());
    let mut broken = data.transactions.clone();
    broken[3].amount = f64::NAN;
    let err = FraudScorer::fit(&broken, &data.labels, s.clone(), &p).unwrap_err();
    assert!(err.to_string().contains("transaction"), "{err}");
    let err = FraudParams::from_json(r#"{"review_at": 0.2, "colour": 1}"#).unwrap_err();
    assert!(matches!(err, Error::Parse(_)) && err.to_string().contains("colour"));
    // A partial `model` keeps the fraud defaults it does not mention.
    let partial = FraudParams::from_json(r#"{"model": {"gbdt": {"rounds": 40}}}"#).unwrap();
    let defaults = FraudParams::default();
    assert_eq!(partial.model.gbdt.rounds, 40);
    assert_eq!(partial.model.task, defaults.model.task);
    assert_eq!(partial.model.calibration, defaults.model.calibration);
    assert_eq!(
        partial.model.gbdt.max_leaves,
        defaults.model.gbdt.max_leaves
    );
    let mut bad_thresholds = params();
    bad_thresholds.review_at = 0.9;
    bad_thresholds.decline_at = 0.1;
    assert!(FraudScorer::fit(&data.transactions, &data.labels, s, &bad_thresholds).is_err());
}

#[test]
fn a_scorer_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<FraudScorer>();
    let (data, scorer) = trained();
    let t = data.transactions[10];
    let h: Vec<Transaction> = data.transactions[..10].to_vec();
    let here = scorer.score(&t, h.as_slice()).unwrap();
    let there = std::thread::scope(|s| {
        s.spawn(|| scorer.score(&t, h.as_slice()).unwrap())
            .join()
            .unwrap()
    });
    assert_eq!(here, there);
}

#[test]
fn the_model_keeps_its_lead_when_amounts_are_five_times_larger() {
    // Relative features (ratio to the median, z-score) carry over to another amount scale;
    // the rules' absolute limits do not.
    let (data, scorer) = trained();
    let rules = FraudScorer::rules_only(RulesConfig::default(), data.schema.clone()).unwrap();
    let test = small(GeneratorSettings::amount_shift()).generate().unwrap();
    let y = test.labels_f64();
    let score = |s: &FraudScorer| -> Vec<f64> {
        s.score_dataset(&test.transactions)
            .unwrap()
            .iter()
            .map(|x| x.score)
            .collect()
    };
    let (auc_model, auc_rules) = (roc_auc(&y, &score(scorer)), roc_auc(&y, &score(&rules)));
    assert!(
        auc_model > auc_rules + 0.03,
        "model {auc_model} rules {auc_rules}"
    );
}

#[test]
fn the_scorer_file_carries_a_drift_reference_with_its_scores() {
    use tenantml::drift::{DriftConfig, ModelReference, ReferenceColumn};
    let (_, scorer) = trained();
    let reference = ModelReference::from_metadata(scorer.metadata())
        .unwrap()
        .expect("stored at fit");
    let names: Vec<&str> = reference
        .features
        .features()
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    let model = scorer.model().expect("a fitted scorer has a model");
    assert_eq!(names, model.feature_names());
    let Some(ReferenceColumn::Numeric { values, .. }) = &reference.predictions else {
        panic!(
            "risk scores are stored as numbers: {:?}",
            reference.predictions
        );
    };
    assert!(values.iter().all(|p| (0.0..=1.0).contains(p)));
    let back = FraudScorer::from_bytes(&scorer.to_bytes().unwrap()).unwrap();
    let again = ModelReference::from_metadata(back.metadata()).unwrap();
    assert_eq!(again.as_ref(), Some(&reference));
    // Scores of the very same distribution do not drift; all-high scores do.
    let config = DriftConfig::default();
    assert!(!reference.prediction_drift(values, &config).unwrap().drifted);
    let alarmed: Vec<f64> = values.iter().map(|p| (p + 0.5).min(1.0)).collect();
    assert!(
        reference
            .prediction_drift(&alarmed, &config)
            .unwrap()
            .drifted
    );
}

#[test]
fn a_longer_history_than_the_cap_scores_as_its_newest_rows() {
    let (data, scorer) = trained();
    let (t, _) = burst(data);
    // 160 rows of one customer, shuffled in time order, a few after the transaction.
    let history: Vec<Transaction> = (0..160)
        .map(|i| Transaction {
            amount: 5.0 + (i % 13) as f64,
            timestamp: t.timestamp - 3_000 * ((i * 37) % 160) as i64 + 600,
            ..t
        })
        .collect();
    let mut newest: Vec<Transaction> = history
        .iter()
        .copied()
        .filter(|h| h.timestamp <= t.timestamp)
        .collect();
    newest.sort_by_key(|h| h.timestamp);
    let newest = newest.split_off(newest.len() - 100); // the fitted history_cap
    let restore_order = |rows: &[Transaction]| -> Vec<Transaction> {
        history
            .iter()
            .copied()
            .filter(|h| rows.iter().any(|r| r.timestamp == h.timestamp))
            .collect()
    };
    let capped = scorer.score(&t, history.as_slice()).unwrap();
    let exact = scorer.score(&t, restore_order(&newest).as_slice()).unwrap();
    assert_eq!(capped.score, exact.score);
    assert_eq!(
        scorer.features(&t, history.as_slice()).unwrap(),
        scorer
            .features(&t, restore_order(&newest).as_slice())
            .unwrap()
    );
    // Uncapped, every earlier row would count.
    use tenantml::features::calendar::LocalClock;
    use tenantml::scoring::fraud::{compute_facts, compute_facts_capped, FeatureScratch};
    let (clock, mut scratch) = (LocalClock::utc(), FeatureScratch::new());
    let earlier = history
        .iter()
        .filter(|h| h.timestamp <= t.timestamp)
        .count();
    let all = compute_facts(&t, history.as_slice(), &clock, &mut scratch);
    assert_eq!((earlier > 100, all.history_len), (true, earlier));
    let cut = compute_facts_capped(&t, history.as_slice(), &clock, 100, &mut scratch);
    assert_eq!(cut.history_len, 100);
}
