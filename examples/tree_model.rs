//! Fit a fraud-style binary model (boosting + forest blend, isotonic calibration), explain
//! one prediction with reason codes, and round-trip the model file.
//!
//! `cargo run --release --example tree_model`

use ndarray::Array2;
use rand::{rngs::StdRng, Rng, SeedableRng};
use tenantml::trees::explain::ReasonDirection;
use tenantml::trees::metrics::roc_auc;
use tenantml::trees::model::{Model, ModelParams};

fn main() -> Result<(), tenantml::Error> {
    // Synthetic transactions: log-amount, hour of day, transactions in the last hour, a new
    // payment method flag and a country mismatch flag; fraud is rare and driven by them.
    let mut rng = StdRng::seed_from_u64(7);
    let n = 20_000;
    let x = Array2::from_shape_fn((n, 5), |(_, j)| match j {
        0 => rng.gen_range(1.0..8.0),
        1 => rng.gen_range(0.0..24.0f64).floor(),
        2 => f64::from(rng.gen_range(0..6u8)),
        _ => f64::from(rng.gen::<f64>() < 0.1),
    });
    let y: Vec<f64> = x
        .rows()
        .into_iter()
        .map(|r| {
            let night = if r[1] < 5.0 { 1.0 } else { 0.0 };
            let logit: f64 = -6.0 + 0.5 * r[0] + 0.6 * r[2] + 1.5 * r[3] + 1.8 * r[4] + night;
            f64::from(rng.gen::<f64>() < 1.0 / (1.0 + (-logit).exp()))
        })
        .collect();

    let params = ModelParams::from_json(
        r#"{
            "task": "binary",
            "model": "blend",
            "calibration": "isotonic",
            "gbdt": {"rounds": 200, "learning_rate": 0.05},
            "forest": {"trees": 50, "min_samples_leaf": 5},
            "feature_names": ["log_amount", "hour", "tx_last_hour", "new_method", "country_mismatch"],
            "seed": 1
        }"#,
    )?;
    let model = Model::fit(x.view(), &y, None, None, &params)?;
    println!(
        "fitted a {:?} model: boosting weight {:.2}, held-out metrics {:?}",
        model.kind(),
        model.gbdt_weight(),
        model.metadata().training_metrics
    );

    let mut p = vec![0.0; n];
    model.predict(x.view(), &mut p)?;
    println!("training AUC {:.3}", roc_auc(&y, &p));

    let risky = [7.5, 3.0, 5.0, 1.0, 1.0];
    println!("risk of {risky:?}: {:.3}", model.predict_row(&risky)?);
    for reason in model.reasons(&risky, 3, ReasonDirection::Increasing)? {
        println!(
            "  {} = {} pushes the score up by {:.3}",
            reason.name, reason.value, reason.contribution
        );
    }

    let bytes = model.to_bytes()?;
    let loaded = Model::from_bytes(&bytes)?;
    assert_eq!(loaded.predict_row(&risky)?, model.predict_row(&risky)?);
    println!(
        "model file: {} bytes, reloaded with identical predictions",
        bytes.len()
    );
    Ok(())
}
