//! Cold-start hand-over, measured: a global predictor fitted on synthetic tenants drawn with
//! `PopulationSettings::training()`, scored on tenants drawn with the held-out settings and
//! seeds (never used for tuning): MASE of the prior, the model and the scheduled blend per
//! length of history, forecasting the next 7 days.
//!
//! ```text
//! cargo run --release --example coldstart_eval [-- TRAIN_TENANTS EVAL_TENANTS]
//! ```

use std::time::Instant;

use tenantml::coldstart::{synthetic_tenants, PopulationSettings};
use tenantml::data::series::{Series, SeriesOptions};
use tenantml::forecast::evaluate::{evaluate_handover, EvalTenant};
use tenantml::forecast::predictor::{ForecastParams, UsagePredictor};

const HOUR: i64 = 3600;
const START: i64 = 1_704_067_200;

fn main() -> tenantml::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n_train = args.first().copied().unwrap_or(40);
    let n_eval = args.get(1).copied().unwrap_or(30);
    let days = 98usize;
    let train = synthetic_tenants(
        &PopulationSettings::training(),
        n_train,
        91 * 24,
        START,
        HOUR,
        1,
    )?;
    let series: Vec<Series> = train
        .iter()
        .map(|t| {
            let ts: Vec<i64> = (0..t.values.len() as i64)
                .map(|i| t.start + i * HOUR)
                .collect();
            Series::new(
                &ts,
                &t.values,
                &SeriesOptions {
                    frequency: Some(HOUR),
                    ..Default::default()
                },
            )
        })
        .collect::<tenantml::Result<_>>()?;
    let started = Instant::now();
    let predictor = UsagePredictor::fit(&series, &ForecastParams::default())?;
    println!(
        "fitted on {n_train} training tenants x 91 days in {:.2} s (transform {}, periods {:?})",
        started.elapsed().as_secs_f64(),
        predictor.transform().name(),
        predictor.periods()
    );
    let held_out = synthetic_tenants(
        &PopulationSettings::held_out(),
        n_eval,
        days * 24,
        START,
        HOUR,
        20_261_127,
    )?;
    let tenants: Vec<EvalTenant<'_>> = held_out
        .iter()
        .map(|t| EvalTenant {
            start: t.start,
            values: &t.values,
        })
        .collect();
    let rows = evaluate_handover(
        &predictor,
        &tenants,
        91 * 24,
        168,
        &[0.0, 1.0, 3.0, 7.0, 14.0, 28.0, 90.0],
    )?;
    println!("held-out tenants: {n_eval}, horizon 168 h; MASE (lower is better)");
    println!(
        "{:>6} {:>7} {:>8} {:>8} {:>10} {:>10}",
        "days", "weight", "prior", "model", "scheduled", "snaive24"
    );
    let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
    for r in rows {
        println!(
            "{:>6} {:>7.2} {:>8.3} {:>8} {:>10.3} {:>10}",
            r.history_days,
            r.model_weight,
            r.prior,
            f(r.model),
            r.scheduled,
            f(r.seasonal_naive)
        );
    }
    Ok(())
}
