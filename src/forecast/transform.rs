//! Per-series scaling and target transforms: what lets one global model serve tenants whose
//! usage differs by orders of magnitude, and lets it learn deviations from a seasonal
//! baseline rather than the baseline itself.
//!
//! Each series is divided by its scale (the mean absolute present value of the history the
//! model sees), so features and targets are in "multiples of this tenant's usual usage".
//! The target is then that scaled value ([`TargetTransform::Level`]), its difference from
//! the seasonal base ([`TargetTransform::SeasonalDifference`]: the most recent present value
//! at the same phase within `lookback` seasons, else the last present value), or its
//! difference from the last present value ([`TargetTransform::Difference`], for series whose
//! level wanders outside the range seen in training, which trees cannot extrapolate). Which
//! one suits the data is chosen by backtest when the predictor is fitted.

use serde::{Deserialize, Serialize};

/// What the model learns to predict, in scaled units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetTransform {
    /// The scaled value itself.
    Level,
    /// The scaled value minus the seasonal base (see the [module docs](self)).
    SeasonalDifference,
    /// The scaled value minus the last present value before it.
    Difference,
}

impl TargetTransform {
    /// The name used in reports and metadata.
    pub fn name(self) -> &'static str {
        match self {
            TargetTransform::Level => "level",
            TargetTransform::SeasonalDifference => "seasonal_difference",
            TargetTransform::Difference => "difference",
        }
    }
}

/// The scale of a series: the mean absolute present value, or 1 when there is none or it is
/// 0 (an all-zero tenant stays all zero in scaled units instead of dividing by zero).
pub fn series_scale(values: &[f64]) -> f64 {
    // Without a branch (this runs on every forecast): a missing value adds +0, which leaves
    // a sum of absolute values unchanged.
    let (mut sum, mut count) = (0.0, 0usize);
    for v in values {
        sum += if v.is_nan() { 0.0 } else { v.abs() };
        count += usize::from(!v.is_nan());
    }
    let scale = if count == 0 { 0.0 } else { sum / count as f64 };
    if scale > 0.0 && scale.is_finite() {
        scale
    } else {
        1.0
    }
}

/// The last present value before index `t`, or NaN.
pub fn last_present(values: &[f64], t: usize) -> f64 {
    values[..t]
        .iter()
        .rev()
        .find(|v| !v.is_nan())
        .copied()
        .unwrap_or(f64::NAN)
}

/// The seasonal base for index `t` of `values` (which must hold at least `t` values):
/// the most recent present value at `t - k * period` for `k` in `1..=lookback`, else the
/// last present value before `t`, else NaN.
pub fn seasonal_base(values: &[f64], t: usize, period: usize, lookback: usize) -> f64 {
    if period > 0 {
        for k in 1..=lookback.max(1) {
            let Some(i) = t.checked_sub(k * period) else {
                break;
            };
            if !values[i].is_nan() {
                return values[i];
            }
        }
    }
    last_present(values, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_skips_missing_and_guards_zero() {
        assert_eq!(series_scale(&[2.0, f64::NAN, -4.0]), 3.0);
        assert_eq!(series_scale(&[0.0, 0.0]), 1.0);
        assert_eq!(series_scale(&[f64::NAN]), 1.0);
        assert_eq!(series_scale(&[]), 1.0);
    }

    #[test]
    fn base_prefers_the_latest_present_season_then_the_last_value() {
        let nan = f64::NAN;
        let v = [1.0, 2.0, 3.0, nan, 5.0, 6.0];
        // t = 5, period 2: v[3] is missing, v[1] = 2 is present.
        assert_eq!(seasonal_base(&v, 5, 2, 2), 2.0);
        // lookback 1 only sees v[3] (missing): falls back to the last present value, v[4].
        assert_eq!(seasonal_base(&v, 5, 2, 1), 5.0);
        // No season fits before t = 1: last present value.
        assert_eq!(seasonal_base(&v, 1, 2, 4), 1.0);
        assert!(seasonal_base(&v, 0, 2, 4).is_nan());
        assert!(seasonal_base(&[nan, nan], 2, 1, 1).is_nan());
    }
}
