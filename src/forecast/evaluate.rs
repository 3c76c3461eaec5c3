//! Measuring the cold-start hand-over: MASE of the prior alone, the model alone and the
//! scheduled blend, per length of history, on tenants the predictor was not fitted on.
//!
//! Every tenant is forecast from the same origin (`origin` periods into its series) with
//! the last `days` days before it as history, for each `days` asked. The MASE scale is fixed
//! per tenant (the seasonal-naive MAE over its whole series before the origin, main period),
//! so scores are comparable across history lengths; a tenant whose scale is 0 is skipped.

use serde::{Deserialize, Serialize};

use super::baselines::Baseline;
use super::metrics::{mae, mase_scale};
use super::predictor::UsagePredictor;
use crate::error::{Error, Result};

/// One row of the hand-over table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandoverRow {
    /// Days of history before the origin.
    pub history_days: f64,
    /// The model's scheduled weight at that length.
    pub model_weight: f64,
    /// Mean MASE of the prior alone.
    pub prior: f64,
    /// Mean MASE of the model alone (`None` with no history: the model needs some).
    pub model: Option<f64>,
    /// Mean MASE of the scheduled answer (what `forecast` returns).
    pub scheduled: f64,
    /// Mean MASE of seasonal naive on the same history (`None` when the history is
    /// shorter than one season).
    pub seasonal_naive: Option<f64>,
    /// Tenants scored.
    pub tenants: usize,
}

/// A tenant for [`evaluate_handover`]: its series start and values on the predictor's grid.
pub struct EvalTenant<'a> {
    /// Timestamp of `values[0]`.
    pub start: i64,
    /// The whole series (history and the periods to forecast).
    pub values: &'a [f64],
}

/// The hand-over table (see the [module docs](self)).
pub fn evaluate_handover(
    predictor: &UsagePredictor,
    tenants: &[EvalTenant<'_>],
    origin: usize,
    horizon: usize,
    history_days: &[f64],
) -> Result<Vec<HandoverRow>> {
    let freq = predictor.frequency();
    let period = predictor.periods()[0].max(1);
    let mut rows = Vec::new();
    for &days in history_days {
        let len = (days * 86_400.0 / freq as f64).round() as usize;
        if len > origin {
            return Err(Error::InvalidArgument(format!(
                "{days} days of history do not fit before the origin ({origin} periods)"
            )));
        }
        let (mut prior, mut model, mut sched, mut naive) = (0.0, 0.0, 0.0, 0.0);
        let (mut n, mut n_naive) = (0usize, 0usize);
        let mut weight = 0.0;
        for t in tenants {
            if t.values.len() < origin + horizon {
                return Err(Error::InvalidArgument(format!(
                    "a tenant has {} periods, fewer than origin + horizon = {}",
                    t.values.len(),
                    origin + horizon
                )));
            }
            let Ok(scale) = mase_scale(&t.values[..origin], period) else {
                continue;
            };
            if scale.is_nan() || scale <= 0.0 {
                continue;
            }
            let actual = &t.values[origin..origin + horizon];
            let first = origin - len;
            let history = &t.values[first..origin];
            let start = t.start + first as i64 * freq;
            let score = |f: &[f64]| mae(actual, f).map(|m| m / scale);
            let p = predictor.forecast_weighted(start, history, horizon, &[], Some(0.0))?;
            prior += score(&p.values())?;
            if len > 0 && history.iter().any(|v| !v.is_nan()) {
                let m = predictor.forecast_weighted(start, history, horizon, &[], Some(1.0))?;
                model += score(&m.values())?;
            }
            let s = predictor.forecast_values(start, history, horizon, &[])?;
            weight = s.model_weight;
            sched += score(&s.values())?;
            if len >= period {
                let b = Baseline::SeasonalNaive { period }.forecast(history, horizon)?;
                if let Ok(v) = score(&b) {
                    naive += v;
                    n_naive += 1;
                }
            }
            n += 1;
        }
        if n == 0 {
            return Err(Error::InvalidArgument("no tenant could be scored".into()));
        }
        rows.push(HandoverRow {
            history_days: days,
            model_weight: weight,
            prior: prior / n as f64,
            model: (len > 0).then(|| model / n as f64),
            scheduled: sched / n as f64,
            seasonal_naive: (n_naive > 0).then(|| naive / n_naive as f64),
            tenants: n,
        });
    }
    Ok(rows)
}
