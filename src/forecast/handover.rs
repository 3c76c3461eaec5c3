//! Which regime answers a forecast, and how the answer hands over from the cold-start prior
//! to the tenant's own model as history accumulates.
//!
//! # Schedule
//! The forecast is `w * model + (1 - w) * prior`, with interval half-widths combined the
//! same way, where `w` depends on `d`, the days of observed history (present periods ×
//! period length / 86 400):
//!
//! - `d = 0`: `w = 0`, the prior alone ([`Regime::ColdStartPrior`]): the model needs lags.
//! - **Learned schedule** (the default): when fitting, the predictor backtests the prior and
//!   a model that has not seen the windows on its own training series, from histories cut to
//!   1, 2, 3, 5, 7, 10, 14, 21 and 28 days, and keeps for each length the weight (0, 0.1,
//!   ..., 1) with the lowest scale-free absolute error, made non-decreasing in `d`. Between
//!   those lengths `w` is interpolated linearly; below the first length it rises linearly
//!   from 0; past the last length it rises linearly from the last weight to 1 over as many
//!   days again.
//! - **Fixed schedule** (`learn_handover: false`, or nothing could be learned because the
//!   series are too short): `w = min(1, d / handover_days)`.
//!
//! `w = 1` is the [`Regime::Model`]; `0 < w < 1` is [`Regime::Blended`]. The prior is the
//! population's profile scaled to what the tenant has shown ([`crate::coldstart`]).

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

/// One learned point of the hand-over schedule: the model's weight after `days` of history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HandoverPoint {
    /// Days of history.
    pub days: f64,
    /// The model's weight in `[0, 1]`.
    pub weight: f64,
}

/// History lengths (days) at which the schedule is learned.
pub const SCHEDULE_DAYS: [f64; 9] = [1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 14.0, 21.0, 28.0];

/// The model's weight after `history_days` under a learned `schedule` (see the [module
/// docs](self)); an empty schedule falls back to [`model_weight`] with `handover_days`.
///
/// ```
/// use tenantml::forecast::handover::{scheduled_weight, HandoverPoint};
/// let s = [
///     HandoverPoint { days: 1.0, weight: 0.4 },
///     HandoverPoint { days: 3.0, weight: 0.8 },
/// ];
/// assert_eq!(scheduled_weight(&s, 0.0, 14.0), 0.0);
/// assert_eq!(scheduled_weight(&s, 0.5, 14.0), 0.2);
/// assert!((scheduled_weight(&s, 2.0, 14.0) - 0.6).abs() < 1e-12);
/// assert!((scheduled_weight(&s, 4.5, 14.0) - 0.9).abs() < 1e-12);
/// assert_eq!(scheduled_weight(&s, 6.0, 14.0), 1.0);
/// assert_eq!(scheduled_weight(&[], 7.0, 14.0), 0.5);
/// ```
pub fn scheduled_weight(schedule: &[HandoverPoint], history_days: f64, handover_days: f64) -> f64 {
    if history_days.is_nan() || history_days <= 0.0 {
        return 0.0;
    }
    let (Some(first), Some(last)) = (schedule.first(), schedule.last()) else {
        return model_weight(history_days, handover_days);
    };
    if history_days <= first.days {
        return first.weight * history_days / first.days;
    }
    if history_days >= last.days {
        let ramp = ((history_days - last.days) / last.days.max(1e-9)).min(1.0);
        return (last.weight + (1.0 - last.weight) * ramp).clamp(0.0, 1.0);
    }
    let i = schedule.partition_point(|p| p.days <= history_days);
    let (a, b) = (schedule[i - 1], schedule[i]);
    let t = (history_days - a.days) / (b.days - a.days);
    (a.weight + t * (b.weight - a.weight)).clamp(0.0, 1.0)
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
