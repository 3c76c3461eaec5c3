//! Per-series scaling and target transforms: what lets one global model serve tenants whose
//! usage differs by orders of magnitude, and lets it learn deviations from a seasonal
//! baseline rather than the baseline itself.
//!
//! Each series is divided by its scale (the mean absolute present value of the history the
//! model sees), so features and targets are in "multiples of this tenant's usual usage".
//! The target is then that scaled value ([`TargetTransform::Level`]), its difference from
//! the seasonal base ([`TargetTransform::SeasonalDifference`]: the most recent present value
//! at the same phase within `lookback` seasons, moved by the level change since then when
//! missing values made it skip seasons, else the last present value), or its
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
/// last present value before `t`, else NaN. A value from `k >= 2` seasons back (the
/// seasons between are missing) is moved by the level change since then (see
/// [`seasonal_base_from`]).
pub fn seasonal_base(values: &[f64], t: usize, period: usize, lookback: usize) -> f64 {
    seasonal_base_from(values, t, t, period, lookback)
}

/// Most recent present values averaged to measure a level change (see
/// [`seasonal_base_from`]).
const LEVEL_CHANGE_POINTS: usize = 3;

/// The seasonal base of index `u` seen from the values before `t <= u` only: the most
/// recent present value at `i = u - k * period < t` for `k` in `1..=lookback`, else the last
/// present value before `t`, else NaN.
///
/// When missing values made it skip seasons (a more recent `k` had `u - k * period < t`), a
/// level shift since `i` would come back with that old value, so the base is moved by the
/// level change since then: the mean of `values[j] - values[j - m * period]` over the last
/// (up to three) present `j < t` that are at least a season after `i`, `m` being the most
/// whole seasons from `j` back to `i` or after (the same phase of the day, say, so the
/// change is not the daily cycle), when `values[j - m * period]` is present. Without such a
/// `j` the base stays `values[i]`.
pub fn seasonal_base_from(
    values: &[f64],
    t: usize,
    u: usize,
    period: usize,
    lookback: usize,
) -> f64 {
    if period > 0 {
        let mut skipped = false;
        for k in 1..=lookback.max(1) {
            let Some(i) = u.checked_sub(k * period) else {
                break;
            };
            if i >= t {
                continue;
            }
            if !values[i].is_nan() {
                return if skipped {
                    values[i] + level_change(values, t, i, period)
                } else {
                    values[i]
                };
            }
            skipped = true;
        }
    }
    last_present(values, t)
}

/// The mean change `values[j] - values[j - m * period]` over the last present `j` in
/// `after + period <= j < t` (at most [`LEVEL_CHANGE_POINTS`] of them, `m = (j - after) /
/// period`, `values[j - m * period]` present); 0 without any.
fn level_change(values: &[f64], t: usize, after: usize, period: usize) -> f64 {
    let (mut sum, mut count) = (0.0, 0usize);
    for j in (after + 1..t).rev() {
        if values[j].is_nan() {
            continue;
        }
        let m = (j - after) / period;
        if m == 0 {
            break;
        }
        let then = values[j - m * period];
        if !then.is_nan() {
            sum += values[j] - then;
            count += 1;
            if count == LEVEL_CHANGE_POINTS {
                break;
            }
        }
    }
    if count == 0 {
        0.0
    } else {
        sum / count as f64
    }
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
        // t = 5, period 2: v[3] is missing, v[1] = 2 is present, moved by the level change
        // since then: v[4] - v[2] = 2.
        assert_eq!(seasonal_base(&v, 5, 2, 2), 4.0);
        // lookback 1 only sees v[3] (missing): falls back to the last present value, v[4].
        assert_eq!(seasonal_base(&v, 5, 2, 1), 5.0);
        // No season fits before t = 1: last present value.
        assert_eq!(seasonal_base(&v, 1, 2, 4), 1.0);
        assert!(seasonal_base(&v, 0, 2, 4).is_nan());
        assert!(seasonal_base(&[nan, nan], 2, 1, 1).is_nan());
    }

    #[test]
    fn a_skipped_season_brings_its_value_at_the_recent_level() {
        let nan = f64::NAN;
        // Period 4: two seasons at level 0, a missing season, then 10 higher with its first
        // value missing. Phase 0 at t = 16 goes back to v[4] = 0, and the last three values
        // compared with theirs two seasons back (v[5..8]) say the level rose by 10.
        let v = [
            0.0, 1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 3.0, nan, nan, nan, nan, nan, 11.0, 12.0, 13.0,
        ];
        assert_eq!(seasonal_base(&v, 16, 4, 3), 10.0);
        // With the last season present, its value as it is.
        let mut w = v;
        w[12] = 10.5;
        assert_eq!(seasonal_base(&w, 16, 4, 3), 10.5);
        // No value a season after v[4] with a present value whole seasons back: no change.
        let x = [
            nan, nan, nan, nan, 0.0, nan, nan, nan, nan, 11.0, 12.0, 13.0,
        ];
        assert_eq!(seasonal_base(&x, 12, 4, 3), 0.0);
        // Seen from an origin: seasons at or after it are not missing ones. Phase 0 from
        // t = 12: v[8] missing, v[4] = 0, moved by v[11] - v[7] = v[10] - v[6] = 8.
        let y = [0.0, 1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 3.0, nan, nan, 10.0, 11.0];
        assert_eq!(seasonal_base(&y, 12, 4, 3), 8.0);
        // u = 14 (phase 2): v[10] is the last season before the origin, as it is.
        assert_eq!(seasonal_base_from(&y, 12, 14, 4, 3), 10.0);
        // u = 16 (phase 0): v[12] is at the origin, v[8] missing, v[4] moved by 8.
        assert_eq!(seasonal_base_from(&y, 12, 16, 4, 3), 8.0);
        // u = 13 from t = 10: v[9] missing, v[5] = 1, and nothing a season after v[5]
        // before t.
        assert_eq!(seasonal_base_from(&y, 10, 13, 4, 3), 1.0);
    }
}
