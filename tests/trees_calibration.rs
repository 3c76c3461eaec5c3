//! Probability calibration: agreement with scikit-learn, hand-computed PAV answers, the
//! least-squares optimality of isotonic fits, Platt recovering known parameters, lower
//! Brier score and ECE after calibration, quality measures, serialisation and bad input.

use rand::{rngs::StdRng, Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use tenantml::trees::calibration::{
    brier_score, expected_calibration_error, log_loss, reliability_table, Calibrator,
};
use tenantml::trees::format::{decode, encode, ModelMetadata};
use tenantml::Error;

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn isotonic_knots(c: &Calibrator) -> (&[f64], &[f64]) {
    match c {
        Calibrator::Isotonic { x, y } => (x, y),
        other => panic!("expected isotonic, got {other:?}"),
    }
}

fn platt_params(c: &Calibrator) -> (f64, f64) {
    match c {
        Calibrator::Platt { a, b } => (*a, *b),
        other => panic!("expected Platt, got {other:?}"),
    }
}

/// Labels drawn from `P(y = 1) = sigmoid(true_logit)`.
fn bernoulli(rng: &mut StdRng, logits: &[f64]) -> Vec<f64> {
    logits
        .iter()
        .map(|&z| f64::from(u8::from(rng.gen::<f64>() < sigmoid(z))))
        .collect()
}

#[derive(serde::Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    method: String,
    scores: Vec<f64>,
    labels: Vec<f64>,
    weights: Option<Vec<f64>>,
    #[serde(default)]
    x_thresholds: Vec<f64>,
    #[serde(default)]
    y_thresholds: Vec<f64>,
    #[serde(default)]
    a: f64,
    #[serde(default)]
    b: f64,
    query: Vec<f64>,
    expected: Vec<f64>,
}

/// Fixtures from tests/fixtures/calibration/gen_sklearn.py (scikit-learn 1.9.1).
#[test]
fn agrees_with_scikit_learn() {
    let text = include_str!("fixtures/calibration/sklearn_calibration.json");
    let fixture: Fixture = serde_json::from_str(text).unwrap();
    assert_eq!(fixture.cases.len(), 5);
    for case in &fixture.cases {
        let w = case.weights.as_deref();
        let (cal, tol) = match case.method.as_str() {
            "isotonic" => {
                let cal = Calibrator::fit_isotonic(&case.scores, &case.labels, w).unwrap();
                let (x, y) = isotonic_knots(&cal);
                assert_eq!(x, case.x_thresholds.as_slice(), "{}", case.name);
                assert_eq!(y.len(), case.y_thresholds.len(), "{}", case.name);
                for (got, want) in y.iter().zip(&case.y_thresholds) {
                    assert!((got - want).abs() < 1e-12, "{}: {got} vs {want}", case.name);
                }
                (cal, 1e-12)
            }
            _ => {
                let cal = Calibrator::fit_platt(&case.scores, &case.labels, w).unwrap();
                let (a, b) = platt_params(&cal);
                // scikit-learn stops L-BFGS at a gradient of 1e-6, we stop Newton at 1e-5.
                assert!(
                    (a - case.a).abs() < 1e-5,
                    "{}: a {a} vs {}",
                    case.name,
                    case.a
                );
                assert!(
                    (b - case.b).abs() < 1e-5,
                    "{}: b {b} vs {}",
                    case.name,
                    case.b
                );
                (cal, 1e-6)
            }
        };
        for (&q, &want) in case.query.iter().zip(&case.expected) {
            let got = cal.apply(q);
            assert!(
                (got - want).abs() < tol,
                "{} at {q}: {got} vs {want}",
                case.name
            );
        }
    }
}

#[test]
fn pav_by_hand() {
    // 1, 0 pool to 0.5; then 1, 0 pool to 0.5 and join that block; 1 stays.
    let cal =
        Calibrator::fit_isotonic(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1.0, 0.0, 1.0, 0.0, 1.0], None)
            .unwrap();
    assert_eq!(
        isotonic_knots(&cal),
        (&[1.0, 4.0, 5.0][..], &[0.5, 0.5, 1.0][..])
    );
    assert_eq!(cal.apply(0.0), 0.5);
    assert_eq!(cal.apply(2.5), 0.5);
    assert_eq!(cal.apply(4.5), 0.75);
    assert_eq!(cal.apply(9.0), 1.0);

    // Ties first: score 1 has weights 1 (positive) and 3 (negative) -> 0.25 with weight 4;
    // score 2 (negative, weight 1) violates and pools to 1/5.
    let cal = Calibrator::fit_isotonic(
        &[3.0, 1.0, 2.0, 1.0],
        &[1.0, 1.0, 0.0, 0.0],
        Some(&[1.0, 1.0, 1.0, 3.0]),
    )
    .unwrap();
    let (x, y) = isotonic_knots(&cal);
    assert_eq!(x, &[1.0, 2.0, 3.0]);
    assert!((y[0] - 0.2).abs() < 1e-15 && (y[1] - 0.2).abs() < 1e-15 && y[2] == 1.0);
    assert!((cal.apply(2.5) - 0.6).abs() < 1e-15);

    // Zero weights do not count: the middle point is ignored.
    let cal = Calibrator::fit_isotonic(&[1.0, 2.0, 3.0], &[0.0, 1.0, 1.0], Some(&[1.0, 0.0, 1.0]))
        .unwrap();
    assert_eq!(isotonic_knots(&cal), (&[1.0, 3.0][..], &[0.0, 1.0][..]));
}

fn weighted_sse(scores: &[f64], labels: &[f64], w: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    (0..scores.len())
        .map(|i| w[i] * (labels[i] - f(scores[i])).powi(2))
        .sum()
}

/// The isotonic fit is the weighted least-squares projection onto monotone functions of
/// the score: it is monotone, and no monotone alternative (random ones, and small monotone
/// perturbations of the fit itself) has a lower weighted squared error.
#[test]
fn isotonic_is_the_least_squares_monotone_fit() {
    let mut rng = StdRng::seed_from_u64(7);
    for trial in 0..20 {
        let n = rng.gen_range(5..120);
        let scores: Vec<f64> = (0..n).map(|_| (rng.gen::<f64>() * 20.0).round()).collect();
        let labels = bernoulli(
            &mut rng,
            &scores.iter().map(|s| s / 5.0 - 2.0).collect::<Vec<_>>(),
        );
        if labels.iter().all(|&y| y == labels[0]) {
            continue;
        }
        let w: Vec<f64> = (0..n).map(|_| rng.gen_range(0.1..3.0)).collect();
        let cal = Calibrator::fit_isotonic(&scores, &labels, Some(&w)).unwrap();

        let mut unique = scores.clone();
        unique.sort_by(f64::total_cmp);
        unique.dedup();
        let fit: Vec<f64> = unique.iter().map(|&u| cal.apply(u)).collect();
        assert!(
            fit.windows(2).all(|p| p[0] <= p[1]),
            "trial {trial}: not monotone"
        );
        let at = |g: &[f64]| {
            let g = g.to_vec();
            let unique = unique.clone();
            move |s: f64| g[unique.iter().position(|&u| u == s).unwrap()]
        };
        let best = weighted_sse(&scores, &labels, &w, at(&fit));
        let check = |g: Vec<f64>, what: &str| {
            assert!(g.windows(2).all(|p| p[0] <= p[1]));
            let sse = weighted_sse(&scores, &labels, &w, at(&g));
            assert!(best <= sse + 1e-12, "trial {trial}, {what}: {best} > {sse}");
        };
        for _ in 0..50 {
            let mut g: Vec<f64> = unique.iter().map(|_| rng.gen()).collect();
            g.sort_by(f64::total_cmp);
            check(g, "random monotone");
        }
        for k in 0..unique.len() {
            for t in [1e-3, -1e-3] {
                let g: Vec<f64> = (0..unique.len())
                    .map(|j| fit[j] + if j >= k { t } else { 0.0 })
                    .collect();
                if g.windows(2).all(|p| p[0] <= p[1]) {
                    check(g, "step perturbation");
                }
            }
        }
        for factor in [0.99, 1.01] {
            check(fit.iter().map(|v| v * factor).collect(), "scaled");
        }
    }
}

#[test]
fn platt_recovers_known_parameters() {
    let mut rng = StdRng::seed_from_u64(42);
    let normal = Normal::new(0.0, 2.0).unwrap();
    let (a_true, b_true) = (-1.5, 0.3);
    let scores: Vec<f64> = (0..20_000).map(|_| normal.sample(&mut rng)).collect();
    let logits: Vec<f64> = scores.iter().map(|s| -(a_true * s + b_true)).collect();
    let labels = bernoulli(&mut rng, &logits);
    let (a, b) = platt_params(&Calibrator::fit_platt(&scores, &labels, None).unwrap());
    assert!((a - a_true).abs() < 0.05, "a = {a}");
    assert!((b - b_true).abs() < 0.05, "b = {b}");

    // The same data on tiny and huge scales gives the same curve.
    for scale in [1e-8, 1e6] {
        let scaled: Vec<f64> = scores.iter().map(|s| s * scale).collect();
        let (sa, sb) = platt_params(&Calibrator::fit_platt(&scaled, &labels, None).unwrap());
        assert!(
            (sa * scale / a - 1.0).abs() < 1e-6,
            "scale {scale}: a = {sa}"
        );
        assert!((sb - b).abs() < 1e-6, "scale {scale}: b = {sb}");
    }

    // Integer weights act like repeated rows.
    let w: Vec<f64> = (0..scores.len()).map(|i| (i % 3) as f64).collect();
    let (wa, wb) = platt_params(&Calibrator::fit_platt(&scores, &labels, Some(&w)).unwrap());
    let (mut rs, mut rl) = (Vec::new(), Vec::new());
    for i in 0..scores.len() {
        for _ in 0..i % 3 {
            rs.push(scores[i]);
            rl.push(labels[i]);
        }
    }
    let (ra, rb) = platt_params(&Calibrator::fit_platt(&rs, &rl, None).unwrap());
    assert!((wa - ra).abs() < 1e-6 && (wb - rb).abs() < 1e-6);
}

#[test]
fn platt_stays_finite_on_separable_scores() {
    let scores = [-2.0, -1.0, 1.0, 2.0];
    let labels = [0.0, 0.0, 1.0, 1.0];
    let cal = Calibrator::fit_platt(&scores, &labels, None).unwrap();
    let (a, b) = platt_params(&cal);
    assert!(a.is_finite() && a < 0.0 && b.is_finite());
    // Smoothed targets: 3/4 for positives, 1/4 for negatives; never 0 or 1.
    assert!(cal.apply(2.0) < 0.8 && cal.apply(-2.0) > 0.2);
}

/// An overconfident model (scores three times the true log-odds) is fixed by calibrating
/// on one half and measuring on the other.
#[test]
fn calibration_lowers_brier_and_ece() {
    let mut rng = StdRng::seed_from_u64(3);
    let normal = Normal::new(0.0, 1.5).unwrap();
    let n = 8000;
    let truth: Vec<f64> = (0..2 * n).map(|_| normal.sample(&mut rng)).collect();
    let labels = bernoulli(&mut rng, &truth);
    let scores: Vec<f64> = truth.iter().map(|z| 3.0 * z).collect();
    let (fit_s, test_s) = scores.split_at(n);
    let (fit_y, test_y) = labels.split_at(n);

    let raw: Vec<f64> = test_s.iter().map(|&s| sigmoid(s)).collect();
    let raw_brier = brier_score(&raw, test_y, None).unwrap();
    let raw_ece = expected_calibration_error(&raw, test_y, 10).unwrap();
    let raw_loss = log_loss(&raw, test_y).unwrap();

    let platt = Calibrator::fit_platt(fit_s, fit_y, None).unwrap();
    let (a, _) = platt_params(&platt);
    assert!((a + 1.0 / 3.0).abs() < 0.03, "a = {a}");
    let iso = Calibrator::fit_isotonic(fit_s, fit_y, None).unwrap();
    for cal in [platt, iso] {
        let mut p = test_s.to_vec();
        cal.apply_all(&mut p);
        let brier = brier_score(&p, test_y, None).unwrap();
        let ece = expected_calibration_error(&p, test_y, 10).unwrap();
        let loss = log_loss(&p, test_y).unwrap();
        assert!(brier < raw_brier, "{cal:?}: brier {brier} vs {raw_brier}");
        assert!(ece < raw_ece / 2.0, "ece {ece} vs {raw_ece}");
        assert!(loss < raw_loss, "log loss {loss} vs {raw_loss}");
    }
}

#[test]
fn calibrated_probabilities_are_monotone_and_in_range() {
    let mut rng = StdRng::seed_from_u64(11);
    let scores: Vec<f64> = (0..500).map(|_| rng.gen_range(-5.0..5.0)).collect();
    let labels = bernoulli(&mut rng, &scores);
    let grid: Vec<f64> = (-800..=800).map(|i| f64::from(i) / 100.0).collect();
    for cal in [
        Calibrator::fit_platt(&scores, &labels, None).unwrap(),
        Calibrator::fit_isotonic(&scores, &labels, None).unwrap(),
    ] {
        let mut out = grid.clone();
        cal.apply_all(&mut out);
        assert!(out.windows(2).all(|p| p[0] <= p[1]), "{cal:?}");
        assert!(out.iter().all(|p| (0.0..=1.0).contains(p)));
        assert!(grid.iter().zip(&out).all(|(&s, &p)| cal.apply(s) == p));
        assert!(cal.apply(f64::NAN).is_nan());
        assert!(cal.apply(f64::INFINITY) <= 1.0 && cal.apply(f64::NEG_INFINITY) >= 0.0);
    }
    assert_eq!(Calibrator::Identity.apply(0.3), 0.3);
    // A hand-built empty curve answers NaN instead of panicking.
    let empty = Calibrator::Isotonic {
        x: vec![],
        y: vec![],
    };
    assert!(empty.apply(1.0).is_nan());
}

#[test]
fn serde_round_trips_and_validation() {
    let cals = [
        Calibrator::Identity,
        Calibrator::Platt { a: -0.7, b: 0.1 },
        Calibrator::fit_isotonic(&[1.0, 2.0, 3.0], &[0.0, 1.0, 1.0], None).unwrap(),
    ];
    for cal in &cals {
        let json = serde_json::to_string(cal).unwrap();
        assert_eq!(&serde_json::from_str::<Calibrator>(&json).unwrap(), cal);
        let bytes = encode("calibrator", cal, &ModelMetadata::default()).unwrap();
        let (back, _): (Calibrator, _) = decode("calibrator", &bytes).unwrap();
        assert_eq!(&back, cal);
    }
    let broken = [
        Calibrator::Platt {
            a: f64::NAN,
            b: 0.0,
        },
        Calibrator::Isotonic {
            x: vec![1.0, 2.0],
            y: vec![0.6, 0.4],
        },
        Calibrator::Isotonic {
            x: vec![2.0, 1.0],
            y: vec![0.4, 0.6],
        },
        Calibrator::Isotonic {
            x: vec![1.0],
            y: vec![1.5],
        },
        Calibrator::Isotonic {
            x: vec![1.0, 2.0],
            y: vec![0.5],
        },
        Calibrator::Isotonic {
            x: vec![],
            y: vec![],
        },
    ];
    for cal in &broken {
        let bytes = encode("calibrator", cal, &ModelMetadata::default()).unwrap();
        assert!(
            matches!(decode::<Calibrator>("calibrator", &bytes), Err(Error::BadModelFile(m)) if m.starts_with("calibrator")),
            "{cal:?}"
        );
    }
}

#[test]
fn quality_measures_by_hand() {
    let p = [0.1, 0.9, 0.8, 0.3];
    let y = [0.0, 1.0, 0.0, 1.0];
    let brier = (0.01 + 0.01 + 0.64 + 0.49) / 4.0;
    assert!((brier_score(&p, &y, None).unwrap() - brier).abs() < 1e-15);
    let weighted = (0.01 + 0.01 + 0.64 * 2.0) / 4.0;
    let w = [1.0, 1.0, 2.0, 0.0];
    assert!((brier_score(&p, &y, Some(&w)).unwrap() - weighted).abs() < 1e-15);

    let ll = -(0.9f64.ln() + 0.9f64.ln() + 0.2f64.ln() + 0.3f64.ln()) / 4.0;
    assert!((log_loss(&p, &y).unwrap() - ll).abs() < 1e-15);
    let clipped = log_loss(&[0.0], &[1.0]).unwrap();
    assert!(clipped.is_finite() && (clipped + 1e-15f64.ln()).abs() < 1e-9);

    // Bins of width 0.5: [0.1, 0.3] -> one positive of two; [0.8, 0.9] -> one of two.
    let table = reliability_table(&p, &y, 2).unwrap();
    assert_eq!(table.len(), 2);
    assert_eq!(
        (table[0].lower, table[0].upper, table[0].count),
        (0.0, 0.5, 2)
    );
    assert!((table[0].mean_predicted - 0.2).abs() < 1e-15);
    assert_eq!(table[0].observed_rate, 0.5);
    assert!((table[1].mean_predicted - 0.85).abs() < 1e-12);
    let ece = expected_calibration_error(&p, &y, 2).unwrap();
    assert!((ece - (0.3 + 0.35) / 2.0).abs() < 1e-12);

    // Empty bins are left out; 1.0 lands in the last bin.
    let table = reliability_table(&[0.05, 1.0], &[0.0, 1.0], 10).unwrap();
    assert_eq!(table.len(), 2);
    assert_eq!((table[1].lower, table[1].upper), (0.9, 1.0));
    assert_eq!(
        expected_calibration_error(&[0.05, 1.0], &[0.0, 1.0], 10).unwrap(),
        0.025
    );
}

fn invalid(r: tenantml::Result<impl std::fmt::Debug>) -> String {
    match r {
        Err(Error::InvalidArgument(m)) => m,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[test]
fn bad_input_is_refused_with_clear_messages() {
    type Fit = fn(&[f64], &[f64], Option<&[f64]>) -> tenantml::Result<Calibrator>;
    let fits: [Fit; 2] = [Calibrator::fit_platt, Calibrator::fit_isotonic];
    let s = [0.0, 1.0, 2.0];
    let y = [0.0, 1.0, 1.0];
    for fit in fits {
        assert!(invalid(fit(&[], &[], None)).contains("no scores"));
        assert!(invalid(fit(&s, &y[..2], None)).contains("3 scores or probabilities but 2 labels"));
        assert!(invalid(fit(&[0.0, f64::NAN, 1.0], &y, None)).contains("score 1 is NaN"));
        assert!(invalid(fit(&[0.0, f64::INFINITY, 1.0], &y, None)).contains("finite"));
        assert!(invalid(fit(&s, &[0.0, 2.0, 1.0], None)).contains("label 1 is 2"));
        assert!(invalid(fit(&s, &[0.0, 0.5, 1.0], None)).contains("0 or 1"));
        let one = invalid(fit(&s, &[1.0, 1.0, 1.0], None));
        assert!(
            one.contains("only positive") && one.contains("both classes"),
            "{one}"
        );
        assert!(invalid(fit(&s, &[0.0; 3], None)).contains("only negative"));
        assert!(invalid(fit(&s, &y, Some(&[1.0, 1.0]))).contains("3 scores but 2 weights"));
        assert!(invalid(fit(&s, &y, Some(&[1.0, -1.0, 1.0]))).contains("weight 1 is -1"));
        assert!(invalid(fit(&s, &y, Some(&[0.0, 1.0, 1.0]))).contains("only positive"));
    }
    assert!(invalid(brier_score(&[], &[], None)).contains("no probabilities"));
    assert!(invalid(brier_score(&[1.2], &[1.0], None)).contains("[0, 1]"));
    assert!(invalid(brier_score(&[0.2], &[1.0], Some(&[0.0]))).contains("zero"));
    assert!(invalid(brier_score(&[0.2], &[1.0], Some(&[1.0, 1.0]))).contains("weights"));
    assert!(invalid(log_loss(&[f64::NAN], &[1.0])).contains("[0, 1]"));
    assert!(invalid(reliability_table(&[0.5], &[1.0], 0)).contains("n_bins"));
    assert!(invalid(expected_calibration_error(&[0.5], &[3.0], 5)).contains("labels"));
}
