//! Which regime answers a forecast, and how the answer hands over from the cold-start prior
//! to the tenant's own model as history accumulates.
//!
//! # Schedule
//! With `d` days of observed history (present periods × period length / 86 400) and the
//! predictor's `handover_days` `D` (default 14), the model's weight is
//!
//! ```text
//! w(d) = 0                      when d = 0 (no data: the prior answers alone)
//! w(d) = min(1, d / D)          otherwise
//! ```
//!
//! and the forecast is `w * model + (1 - w) * prior`, with interval half-widths combined the
//! same way. `w = 1` is the [`Regime::Model`]; `0 < w < 1` is [`Regime::Blended`];
//! `w = 0` is [`Regime::ColdStartPrior`]. The prior is the population's profile scaled to what
//! the tenant has shown ([`crate::coldstart`]), so after one day it already carries the
//! tenant's level while the model still lacks the lags it was trained with.

use serde::{Deserialize, Serialize};

/// Where a forecast came from (DESIGN.md: "Every answer says where it came from").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// The fitted model alone.
    Model,
    /// The cold-start prior alone (the tenant has no history yet).
    ColdStartPrior,
    /// A weighted blend of the model and the prior, during the hand-over.
    Blended,
    /// The rule-based fallback (historical average × hour-of-day × day-of-week multipliers),
    /// used when no model can be used.
    Fallback,
}

impl Regime {
    /// The name used in results, logs and the C ABI (`model`, `cold_start_prior`, `blended`,
    /// `fallback`).
    pub fn name(self) -> &'static str {
        match self {
            Regime::Model => "model",
            Regime::ColdStartPrior => "cold_start_prior",
            Regime::Blended => "blended",
            Regime::Fallback => "fallback",
        }
    }
}

/// The model's weight after `history_days` days of data (see the [module docs](self)).
///
/// ```
/// use tenantml::forecast::handover::model_weight;
/// assert_eq!(model_weight(0.0, 14.0), 0.0);
/// assert_eq!(model_weight(7.0, 14.0), 0.5);
/// assert_eq!(model_weight(90.0, 14.0), 1.0);
/// ```
pub fn model_weight(history_days: f64, handover_days: f64) -> f64 {
    if history_days.is_nan() || history_days <= 0.0 {
        return 0.0;
    }
    if handover_days.is_nan() || handover_days <= 0.0 {
        return 1.0;
    }
    (history_days / handover_days).min(1.0)
}

/// The regime a weight means.
pub fn regime_for(weight: f64) -> Regime {
    if weight >= 1.0 {
        Regime::Model
    } else if weight <= 0.0 {
        Regime::ColdStartPrior
    } else {
        Regime::Blended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_monotone_and_bounded() {
        let mut last = 0.0;
        for d in 0..60 {
            let w = model_weight(d as f64 * 0.5, 14.0);
            assert!((0.0..=1.0).contains(&w));
            assert!(w >= last);
            last = w;
        }
        assert_eq!(model_weight(f64::NAN, 14.0), 0.0);
        assert_eq!(model_weight(1.0, 0.0), 1.0);
        assert_eq!(regime_for(0.0), Regime::ColdStartPrior);
        assert_eq!(regime_for(0.3), Regime::Blended);
        assert_eq!(regime_for(1.0), Regime::Model);
    }
}
