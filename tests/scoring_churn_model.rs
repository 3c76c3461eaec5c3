//! ChurnPredictor: accuracy against the rule and calibration on held-out synthetic
//! tenants, reasons, regimes, determinism, model files and their corruption.

use std::sync::OnceLock;

use tenantml::scoring::churn::{
    build_rows, churn_features, feature_names, generate, ChurnParams, ChurnPredictor,
    GeneratorSettings, InactivityRule, LabelSpec, Subscription, TenantHistory, DAY,
    MIN_REASON_LOG_ODDS, N_FEATURES, PREDICTOR_KIND,
};
use tenantml::scoring::{ReasonSource, Regime};
use tenantml::trees::calibration::brier_score;
use tenantml::trees::format;
use tenantml::trees::metrics::roc_auc;
use tenantml::Error;

fn settings() -> GeneratorSettings {
    GeneratorSettings {
        tenants: 800,
        ..GeneratorSettings::training()
    }
}

fn fast_params() -> ChurnParams {
    let mut p = ChurnParams::default();
    p.model.gbdt.rounds = 150;
    p.model.gbdt.learning_rate = 0.06;
    p
}

/// One cold-start predictor shared by the tests (seed 1).
fn predictor() -> &'static ChurnPredictor {
    static P: OnceLock<ChurnPredictor> = OnceLock::new();
    P.get_or_init(|| ChurnPredictor::cold_start_with(&settings(), 1, &fast_params()).unwrap())
}

#[test]
fn model_beats_the_rule_and_is_calibrated_on_held_out_tenants() {
    let data = generate(&GeneratorSettings::held_out(), 77).unwrap();
    let rows = build_rows(&data.tenants, &data.spec).unwrap();
    let mut p = vec![0.0; rows.labels.len()];
    predictor()
        .model()
        .unwrap()
        .predict(rows.features.view(), &mut p)
        .unwrap();
    let rule = InactivityRule::default();
    let rule_scores: Vec<f64> = rows
        .features
        .rows()
        .into_iter()
        .map(|r| {
            let mut f = [0.0; N_FEATURES];
            f.iter_mut().zip(r.iter()).for_each(|(a, b)| *a = *b);
            rule.score_features("", &f, 0, 30).probability
        })
        .collect();
    let auc_model = roc_auc(&rows.labels, &p);
    let auc_rule = roc_auc(&rows.labels, &rule_scores);
    assert!(
        auc_model > auc_rule + 0.05,
        "model AUC {auc_model:.3} vs rule {auc_rule:.3}"
    );
    // Calibration: the mean probability matches the churn rate, and the Brier score beats
    // always answering the churn rate.
    let rate = rows.positive_rate();
    let mean_p = p.iter().sum::<f64>() / p.len() as f64;
    assert!(
        (mean_p - rate).abs() < 0.015,
        "mean p {mean_p:.4} vs rate {rate:.4}"
    );
    let brier = brier_score(&p, &rows.labels, None).unwrap();
    let constant = brier_score(&vec![rate; p.len()], &rows.labels, None).unwrap();
    assert!(
        brier < constant,
        "Brier {brier:.4} vs constant {constant:.4}"
    );
}

#[test]
fn scores_say_where_they_came_from_and_why() {
    let pred = predictor();
    assert_eq!(pred.regime(), Regime::ColdStart);
    let s = settings();
    let as_of = s.start + 200 * DAY;
    let sub = Subscription {
        plan: Some("pro".into()),
        started_at: Some(as_of - 300 * DAY),
        seats: Some(8.0),
        monthly_price: Some(240.0),
        plan_allowance: Some(8000.0),
    };
    // Daily sessions for 90 days, then silence for the last 25.
    let at: Vec<i64> = (25..90).map(|k| as_of - k * DAY - 3600).collect();
    let quiet = TenantHistory::new("quiet")
        .with_events(&at, &vec![10.0; at.len()])
        .unwrap()
        .with_subscription(sub.clone())
        .unwrap()
        .with_failed_payments(&[])
        .with_tickets(&[], None)
        .unwrap();
    let at: Vec<i64> = (0..90).map(|k| as_of - k * DAY - 3600).collect();
    let busy = TenantHistory::new("busy")
        .with_events(&at, &vec![10.0; at.len()])
        .unwrap()
        .with_subscription(sub)
        .unwrap()
        .with_failed_payments(&[])
        .with_tickets(&[], None)
        .unwrap();
    let q = pred.predict(&quiet, as_of).unwrap();
    let b = pred.predict(&busy, as_of).unwrap();
    assert!(
        q.probability > b.probability + 0.05,
        "{} vs {}",
        q.probability,
        b.probability
    );
    assert_eq!(q.regime, Regime::ColdStart);
    assert_eq!((q.model_name.as_str(), q.model_version), ("churn", 1));
    assert_eq!(q.horizon_days, 30);
    assert!(q.inactive_flag && !b.inactive_flag);
    assert!(!q.reasons.is_empty() && q.reasons.len() <= 3);
    let names = feature_names();
    for r in &q.reasons {
        assert_eq!(r.source, ReasonSource::Model);
        assert!(names.contains(&r.code), "{}", r.code);
        assert!(
            r.weight >= MIN_REASON_LOG_ODDS,
            "reasons push churn up, visibly"
        );
        assert!(!r.description.is_empty());
    }
    assert!(
        q.reasons
            .iter()
            .any(|r| r.description == "no activity for 25 days"
                || r.code.starts_with("active_days")
                || r.code.starts_with("events_")),
        "{:?}",
        q.reasons
    );
    // The busy tenant's reasons, if any, clear the same bar (no "no activity for 0 days").
    assert!(
        b.reasons.iter().all(|r| r.weight >= MIN_REASON_LOG_ODDS),
        "{:?}",
        b.reasons
    );
    // Without reasons, the same probability.
    let bare = pred.predict_with_reasons(&quiet, as_of, 0).unwrap();
    assert!(bare.reasons.is_empty());
    assert_eq!(bare.probability, q.probability);
    // Batch equals one by one.
    let batch = pred
        .predict_batch(&[quiet.clone(), busy.clone()], as_of)
        .unwrap();
    assert_eq!(batch, vec![q.clone(), b]);
    // A JSON round trip of the score.
    let json = serde_json::to_string(&q).unwrap();
    assert_eq!(
        serde_json::from_str::<tenantml::scoring::churn::ChurnScore>(&json).unwrap(),
        q
    );
    // Bad input in a batch names the tenant.
    let young = TenantHistory::new("young")
        .with_subscription(Subscription {
            started_at: Some(as_of + DAY),
            ..Subscription::default()
        })
        .unwrap();
    let err = pred.predict_batch(&[quiet, young], as_of).unwrap_err();
    assert!(err.to_string().contains("'young'"), "{err}");
}

#[test]
fn rules_only_mode_answers_with_the_rule() {
    let params = ChurnParams {
        inactivity_threshold_days: 10.0,
        ..ChurnParams::default()
    };
    let p = ChurnPredictor::rules_only(&params).unwrap();
    assert!(p.model().is_none());
    let t = TenantHistory::new("r")
        .with_events(&[1_000_000 - 10 * DAY], &[1.0])
        .unwrap();
    let s = p.predict(&t, 1_000_000).unwrap();
    assert_eq!(s.regime, Regime::Fallback);
    assert_eq!(s.probability, 0.5);
    assert!(s.inactive_flag);
    let back = ChurnPredictor::from_bytes(&p.to_bytes().unwrap()).unwrap();
    assert_eq!(back.predict(&t, 1_000_000).unwrap(), s);
}

#[test]
fn same_seed_same_bytes_and_files_round_trip() {
    let small = GeneratorSettings {
        tenants: 250,
        ..GeneratorSettings::training()
    };
    let mut params = fast_params();
    params.model.gbdt.rounds = 40;
    let a = ChurnPredictor::cold_start_with(&small, 9, &params).unwrap();
    let b = ChurnPredictor::cold_start_with(&small, 9, &params).unwrap();
    let c = ChurnPredictor::cold_start_with(&small, 10, &params).unwrap();
    let bytes = a.to_bytes().unwrap();
    assert_eq!(bytes, b.to_bytes().unwrap());
    assert_ne!(bytes, c.to_bytes().unwrap());
    assert_eq!(format::peek(&bytes).unwrap().kind, PREDICTOR_KIND);

    let back = ChurnPredictor::from_bytes(&bytes).unwrap();
    assert_eq!(back.to_bytes().unwrap(), bytes);
    let data = generate(&small, 99).unwrap();
    let as_of = data.spec.observation_dates[1];
    for t in data.tenants.iter().take(20) {
        if t.churned_at.is_some_and(|c| c <= as_of) || t.started_at().is_some_and(|s| s > as_of) {
            continue;
        }
        assert_eq!(
            a.predict(t, as_of).unwrap(),
            back.predict(t, as_of).unwrap()
        );
    }
    let dir = std::env::temp_dir().join(format!("tml-churn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("churn.tml");
    a.save(&path).unwrap();
    assert_eq!(
        ChurnPredictor::load(&path).unwrap().to_bytes().unwrap(),
        bytes
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn truncated_damaged_and_foreign_bytes_are_bad_model_files() {
    let bytes = predictor().to_bytes().unwrap();
    for cut in [0, 10, 36, bytes.len() / 2, bytes.len() - 1] {
        let err = ChurnPredictor::from_bytes(&bytes[..cut]).unwrap_err();
        assert!(matches!(err, Error::BadModelFile(_)), "cut {cut}: {err}");
    }
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    assert!(matches!(
        ChurnPredictor::from_bytes(&flipped),
        Err(Error::BadModelFile(_))
    ));
    // The nested tree model is a file of another kind.
    let tree = predictor().model().unwrap().to_bytes().unwrap();
    let err = ChurnPredictor::from_bytes(&tree).unwrap_err();
    assert!(
        matches!(err, Error::BadModelFile(ref m) if m.contains("not a 'churn-predictor'")),
        "{err}"
    );
    assert!(matches!(
        ChurnPredictor::from_bytes(b"definitely not a model"),
        Err(Error::BadModelFile(_))
    ));
}

#[test]
fn fitting_checks_its_input() {
    let s = GeneratorSettings {
        tenants: 120,
        ..GeneratorSettings::training()
    };
    let data = generate(&s, 2).unwrap();
    let mut params = fast_params();
    params.horizon_days = 60;
    let err = ChurnPredictor::fit(&data.tenants, &data.spec, &params).unwrap_err();
    assert!(err.to_string().contains("horizon"), "{err}");

    let rows = build_rows(&data.tenants, &data.spec).unwrap();
    let zeros = vec![0.0; rows.labels.len()];
    let err = ChurnPredictor::fit_rows(rows.features.view(), &zeros, &fast_params()).unwrap_err();
    assert!(
        err.to_string().contains("both churned and retained"),
        "{err}"
    );
    let narrow = rows.features.slice(ndarray::s![.., ..5]);
    assert!(ChurnPredictor::fit_rows(narrow, &rows.labels, &fast_params()).is_err());
    let mut twos = rows.labels.clone();
    twos[0] = 2.0;
    assert!(ChurnPredictor::fit_rows(rows.features.view(), &twos, &fast_params()).is_err());

    // Fitting on the tenant's own rows answers with the model regime.
    let mut small = fast_params();
    small.model.gbdt.rounds = 20;
    let own = ChurnPredictor::fit(&data.tenants, &data.spec, &small).unwrap();
    assert_eq!(own.regime(), Regime::Model);
    assert_eq!(own.summary().rows, rows.labels.len());

    // A partial `model` is laid over the churn defaults, not over the tree engine's.
    let partial = ChurnParams::from_json(r#"{"model": {"gbdt": {"rounds": 50}}}"#).unwrap();
    let defaults = ChurnParams::default();
    assert_eq!(partial.model.gbdt.rounds, 50);
    assert_eq!(partial.model.task, defaults.model.task);
    assert_eq!(partial.model.calibration, defaults.model.calibration);
    assert_eq!(
        partial.model.gbdt.learning_rate,
        defaults.model.gbdt.learning_rate
    );
    assert!(ChurnParams::from_json(r#"{"model": {"gbdt": {"roundz": 5}}}"#).is_err());
    assert!(ChurnParams::from_json(r#"{"model": 3}"#).is_err());
    let bad = ChurnParams::from_json(r#"{"model": {"task": "regression"}}"#).unwrap_err();
    assert!(bad.to_string().contains("binary"), "{bad}");
    assert!(ChurnParams::from_json(r#"{"inactivity_threshold_days": -1}"#).is_err());
    assert!(ChurnParams::from_json("{").is_err());
    let spec = LabelSpec {
        horizon_days: 0,
        ..data.spec.clone()
    };
    assert!(build_rows(&data.tenants, &spec).is_err());
}

#[test]
fn predicting_with_flat_features_matches_tenant_input() {
    let pred = predictor();
    let data = generate(&settings(), 123).unwrap();
    let as_of = data.spec.observation_dates[0];
    let t = data
        .tenants
        .iter()
        .find(|t| t.started_at().is_some_and(|s| s < as_of))
        .unwrap();
    let f = churn_features(t, as_of).unwrap();
    assert_eq!(
        pred.predict_features(&t.id, &f, as_of, 3).unwrap(),
        pred.predict(t, as_of).unwrap()
    );
    let info: serde_json::Value = serde_json::from_str(&pred.info_json().unwrap()).unwrap();
    assert_eq!(info["regime"], "cold_start");
    assert_eq!(info["features"].as_array().unwrap().len(), N_FEATURES);
}

#[test]
fn the_predictor_file_carries_a_drift_reference_of_its_features() {
    use ndarray::Array2;
    use tenantml::drift::{DriftConfig, ModelReference};
    let p = predictor();
    let reference = ModelReference::from_metadata(p.metadata())
        .unwrap()
        .expect("stored at fit");
    assert_eq!(reference.features.features().len(), N_FEATURES);
    assert!(reference.predictions.is_some());
    let back = ChurnPredictor::from_bytes(&p.to_bytes().unwrap()).unwrap();
    assert_eq!(
        ModelReference::from_metadata(back.metadata())
            .unwrap()
            .as_ref(),
        Some(&reference)
    );
    // Feature rows of other tenants from the same generator (another seed) do not drift
    // as a whole; the same rows with every tenant 60 days more silent do.
    let data = generate(&settings(), 5).unwrap();
    let rows = build_rows(&data.tenants, &data.spec).unwrap();
    let x: Array2<f64> = rows.features;
    let config = DriftConfig::default();
    let report = reference.report(x.view(), &config).unwrap();
    assert!(report.share_drifted < 0.3, "{}", report.to_json().unwrap());
    let recency = feature_names()
        .iter()
        .position(|n| n == "days_since_last_activity")
        .expect("a recency feature");
    let mut silent = x.clone();
    silent.column_mut(recency).mapv_inplace(|d| d + 60.0);
    let report = reference.report(silent.view(), &config).unwrap();
    assert!(report.features[recency].drifted);
}
