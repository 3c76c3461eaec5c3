//! Out-of-sample residuals for conformal intervals and for choosing the target transform.
//!
//! A calibration model is fitted on every series cut `span = H + (K - 1) * step` periods
//! before its end (with its direct step models, if any); it then forecasts `H` steps the way
//! the final predictor will (recursively, or direct first) from `K` rolling origins inside
//! that span, each time from the true history before the origin (no refit), and the scaled
//! residuals `actual - forecast` are collected per horizon step. Series too short to keep
//! `min_train` periods before their first origin contribute training rows but no window.
//!
//! On the same windows the model is combined with the naive and the seasonal-naive forecast
//! (`w * model + (1 - w) * baseline`, `w` in 0, 0.1, ..., 1); the combination with the lowest
//! absolute error is kept (the model alone on a tie), and the residuals are those of the kept
//! combination. The seasonal naive here is the seasonal base of the target transform
//! ([`combined_baseline`]): where the last season is missing, the older season's value is
//! moved by the level change since then. A smooth series whose last value is hard to beat
//! thus leans on it, while the model keeps its place wherever it helps.

use serde::{Deserialize, Serialize};

use super::baselines::Baseline;
use super::engine::{fit_step_models, forecast_steps, ScaledSeries, TargetRule};
use crate::error::Result;
use crate::features::spec::FeatureBuilder;
use crate::trees::model::{Model, ModelParams};

/// Rolling-origin settings for calibration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WindowPlan {
    pub horizon: usize,
    pub windows: usize,
    pub step: usize,
    pub min_train: usize,
    /// Share of each series (0..1) kept before its first origin, so the calibration model
    /// learns from most of the data.
    pub min_train_share: f64,
    /// At most this many series give windows (the first ones), bounding the cost on large
    /// panels.
    pub max_series: usize,
    /// Whether a combination with a baseline may be chosen (else the model alone).
    pub combine_baselines: bool,
}

/// What calibration measured, and the model that was measured.
#[derive(Debug)]
pub(crate) struct Residuals {
    /// `by_step[h - 1]`: scaled residuals at step `h`.
    pub by_step: Vec<Vec<f64>>,
    /// Mean absolute scaled residual over every step and window.
    pub mae: f64,
    /// Mean absolute scaled residual of each window (NaN for a window without a present
    /// actual value), in the order of `origins`.
    pub window_mae: Vec<f64>,
    /// The same as `mae` for the seasonal-naive baseline on the same windows.
    pub baseline_mae: f64,
    /// Number of forecast windows.
    pub windows: usize,
    /// The window origins of each series (empty for series without windows).
    pub origins: Vec<Vec<usize>>,
    /// The calibration model (fitted on the data before each series' first origin).
    pub model: Model,
    /// Its direct step models (empty for a recursive forecaster).
    pub direct: Vec<Model>,
    /// The combination with a baseline that calibrated best.
    pub combination: Combination,
}

/// The origins (indices into the series) of the windows a series of length `n` gives.
pub(crate) fn origins(n: usize, plan: &WindowPlan) -> Vec<usize> {
    let mut out = Vec::new();
    let keep = plan
        .min_train
        .max((n as f64 * plan.min_train_share).ceil() as usize);
    for k in 0..plan.windows {
        let back = plan.horizon + k * plan.step;
        if n < back || n - back < keep {
            break;
        }
        out.push(n - back);
    }
    out.reverse();
    out
}

/// Fits the calibration model and collects residuals; `None` when no series is long enough
/// for one window.
pub(crate) fn calibrate(
    builder: &FeatureBuilder,
    series: &[ScaledSeries<'_>],
    rule: TargetRule,
    params: &ModelParams,
    direct_steps: usize,
    plan: &WindowPlan,
    floor: Option<f64>,
) -> Result<Option<Residuals>> {
    let cuts: Vec<Vec<usize>> = series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if i < plan.max_series {
                origins(s.values.len(), plan)
            } else {
                Vec::new()
            }
        })
        .collect();
    if cuts.iter().all(|c| c.is_empty()) {
        return Ok(None);
    }
    let truncated: Vec<ScaledSeries<'_>> = series
        .iter()
        .zip(&cuts)
        .map(|(s, c)| ScaledSeries {
            values: &s.values[..c.first().copied().unwrap_or(s.values.len())],
            start: s.start,
        })
        .collect();
    let fitted = fit_step_models(builder, &truncated, rule, params, direct_steps, false)?;
    let (model, direct) = (fitted.one_step, fitted.direct);
    let baselines = [
        Baseline::Naive,
        Baseline::SeasonalNaive {
            period: rule.period.max(1),
        },
    ];
    // (step, actual, model, naive, seasonal naive) of every scored point.
    let mut points: Vec<(usize, f64, f64, f64, f64)> = Vec::new();
    // The window of each point.
    let mut point_window: Vec<usize> = Vec::new();
    let mut windows = 0usize;
    for (s, cut) in series.iter().zip(&cuts) {
        for &origin in cut {
            let history = &s.values[..origin];
            let forecast = forecast_steps(
                builder,
                &model,
                &direct,
                rule,
                history,
                s.start,
                plan.horizon,
                floor,
            )?;
            let naive = combined_baseline(baselines[0], history, plan.horizon)?;
            let seasonal = combined_baseline(baselines[1], history, plan.horizon)?;
            for h in 0..plan.horizon {
                let actual = s.values[origin + h];
                if !actual.is_nan() {
                    points.push((h, actual, forecast[h], naive[h], seasonal[h]));
                    point_window.push(windows);
                }
            }
            windows += 1;
        }
    }
    if points.is_empty() {
        return Ok(None);
    }
    let combination = if plan.combine_baselines {
        choose_combination(&points, &baselines)
    } else {
        Chosen {
            index: 0,
            model_weight: 1.0,
        }
    };
    let mut by_step = vec![Vec::new(); plan.horizon];
    let (mut abs_sum, mut base_sum) = (0.0, 0.0);
    let mut window_sums = vec![(0.0, 0usize); windows];
    for (&(h, actual, m, naive, seasonal), &w) in points.iter().zip(&point_window) {
        let r = actual - combination.apply(m, [naive, seasonal][combination.index]);
        by_step[h].push(r);
        abs_sum += r.abs();
        base_sum += (actual - seasonal).abs();
        window_sums[w].0 += r.abs();
        window_sums[w].1 += 1;
    }
    let window_mae = (window_sums.iter())
        .map(|&(sum, n)| if n == 0 { f64::NAN } else { sum / n as f64 })
        .collect();
    let count = points.len() as f64;
    Ok(Some(Residuals {
        by_step,
        mae: abs_sum / count,
        window_mae,
        baseline_mae: base_sum / count,
        windows,
        origins: cuts,
        model,
        direct,
        combination: Combination {
            baseline: (combination.model_weight < 1.0).then_some(baselines[combination.index]),
            model_weight: combination.model_weight,
        },
    }))
}

/// Whether `a` (residuals on the same windows as `b`, from another target transform)
/// calibrated better than `b` beyond the noise of the windows: its mean absolute residual
/// per window is lower by more than one standard error of the mean per-window difference
/// ([`clearly_lower`]). With fewer than two windows to compare, whether its mean absolute
/// residual is lower.
pub(crate) fn clearly_better(a: &Residuals, b: &Residuals) -> bool {
    clearly_lower(&a.window_mae, &b.window_mae).unwrap_or(a.mae < b.mae)
}

/// Whether the paired values `a` are lower than `b` by more than one standard error of the
/// mean difference (pairs with a NaN left out); `None` for fewer than two pairs or lengths
/// that differ.
fn clearly_lower(a: &[f64], b: &[f64]) -> Option<bool> {
    if a.len() != b.len() {
        return None;
    }
    let d: Vec<f64> = (a.iter().zip(b))
        .map(|(x, y)| x - y)
        .filter(|d| d.is_finite())
        .collect();
    if d.len() < 2 {
        return None;
    }
    let n = d.len() as f64;
    let mean = d.iter().sum::<f64>() / n;
    let variance = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some(mean + (variance / n).sqrt() < 0.0)
}

/// How a forecast combines the model with a baseline: `w * model + (1 - w) * baseline`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Combination {
    /// The baseline, `None` for the model alone.
    pub baseline: Option<Baseline>,
    /// The model's weight in `[0, 1]`.
    pub model_weight: f64,
}

/// The forecast of `baseline` as a combination uses it: the seasonal naive's values from a
/// season older than the last one (the last is missing) are moved by the level change since
/// then, as the seasonal base of the target transform is
/// ([`seasonal_base_from`](super::transform::seasonal_base_from)); the other baselines as
/// they are.
pub(crate) fn combined_baseline(
    baseline: Baseline,
    history: &[f64],
    horizon: usize,
) -> Result<Vec<f64>> {
    let mut forecast = baseline.forecast(history, horizon)?;
    if let Baseline::SeasonalNaive { period } = baseline {
        let n = history.len();
        let seasons = n / period.max(1) + 2;
        for (h, f) in forecast.iter_mut().enumerate() {
            let v = super::transform::seasonal_base_from(history, n, n + h, period, seasons);
            if !v.is_nan() {
                *f = v;
            }
        }
    }
    Ok(forecast)
}

impl Default for Combination {
    fn default() -> Self {
        Combination {
            baseline: None,
            model_weight: 1.0,
        }
    }
}

struct Chosen {
    index: usize,
    model_weight: f64,
}

impl Chosen {
    fn apply(&self, model: f64, baseline: f64) -> f64 {
        if self.model_weight >= 1.0 || baseline.is_nan() {
            model
        } else {
            self.model_weight * model + (1.0 - self.model_weight) * baseline
        }
    }
}

/// The baseline and model weight (0, 0.1, ..., 1) with the lowest absolute error over the
/// calibration points; ties go to the heavier model weight, so the model alone wins unless
/// a baseline helps.
fn choose_combination(points: &[(usize, f64, f64, f64, f64)], baselines: &[Baseline; 2]) -> Chosen {
    let mut best = Chosen {
        index: 0,
        model_weight: 1.0,
    };
    let mut best_error = f64::INFINITY;
    for index in 0..baselines.len() {
        for g in (0..=10).rev() {
            let candidate = Chosen {
                index,
                model_weight: g as f64 / 10.0,
            };
            let error: f64 = points
                .iter()
                .map(|&(_, a, m, n, s)| (a - candidate.apply(m, [n, s][index])).abs())
                .sum();
            // The first candidate (the model alone) is taken as is: a tolerance scaled by an
            // infinite error would be NaN and refuse every candidate.
            if !best_error.is_finite() || error < best_error - 1e-12 * best_error.max(1.0) {
                best_error = error;
                best = candidate;
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASELINES: [Baseline; 2] = [Baseline::Naive, Baseline::SeasonalNaive { period: 24 }];

    #[test]
    fn a_baseline_that_beats_the_model_is_chosen() {
        // (step, actual, model, naive, seasonal naive): the seasonal naive is exact.
        let points: Vec<_> = (0..20)
            .map(|i| {
                let a = i as f64;
                (0, a, a + 1.0, a - 2.0, a)
            })
            .collect();
        let chosen = choose_combination(&points, &BASELINES);
        assert_eq!((chosen.index, chosen.model_weight), (1, 0.0));
    }

    #[test]
    fn a_blend_is_chosen_when_errors_cancel() {
        // The model is 1 above and the naive 1 below: half of each is exact.
        let points: Vec<_> = (0..20)
            .map(|i| {
                let a = i as f64;
                (0, a, a + 1.0, a - 1.0, a + 5.0)
            })
            .collect();
        let chosen = choose_combination(&points, &BASELINES);
        assert_eq!(chosen.index, 0);
        assert!((chosen.model_weight - 0.5).abs() < 1e-12);
    }

    #[test]
    fn the_model_alone_wins_ties_and_when_best() {
        let exact: Vec<_> = (0..20)
            .map(|i| {
                let a = i as f64;
                (0, a, a, a + 1.0, a - 1.0)
            })
            .collect();
        let chosen = choose_combination(&exact, &BASELINES);
        assert_eq!(chosen.model_weight, 1.0);
        let all_equal: Vec<_> = (0..5).map(|i| (0, i as f64, 0.0, 0.0, 0.0)).collect();
        assert_eq!(choose_combination(&all_equal, &BASELINES).model_weight, 1.0);
    }

    #[test]
    fn the_combined_seasonal_naive_carries_a_level_change_over_a_missing_season() {
        let nan = f64::NAN;
        let seasonal = Baseline::SeasonalNaive { period: 4 };
        // A complete history: the seasonal naive as it is.
        let full = [0.0, 1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 3.0];
        assert_eq!(
            combined_baseline(seasonal, &full, 6).unwrap(),
            seasonal.forecast(&full, 6).unwrap()
        );
        // The last season is half missing after the level rose by 8: its missing phases
        // come from the season before, 8 higher; the present ones as they are.
        let history = [0.0, 1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 3.0, nan, nan, 10.0, 11.0];
        assert_eq!(
            seasonal.forecast(&history, 5).unwrap(),
            vec![0.0, 1.0, 10.0, 11.0, 0.0]
        );
        assert_eq!(
            combined_baseline(seasonal, &history, 5).unwrap(),
            vec![8.0, 9.0, 10.0, 11.0, 8.0]
        );
        // Other baselines are left alone.
        assert_eq!(
            combined_baseline(Baseline::Naive, &history, 2).unwrap(),
            vec![11.0, 11.0]
        );
    }

    #[test]
    fn lower_only_beyond_the_noise_of_the_windows() {
        // Lower in every window by 1 (no spread): clearly lower.
        assert_eq!(
            clearly_lower(&[1.0, 2.0, 3.0], &[2.0, 3.0, 4.0]),
            Some(true)
        );
        // Lower on average by 0.25 but with differences -2, 1.5, -1, 0.5: the standard
        // error (about 0.8) is larger than the gain.
        assert_eq!(
            clearly_lower(&[1.0, 4.5, 2.0, 3.5], &[3.0, 3.0, 3.0, 3.0]),
            Some(false)
        );
        // Higher: never.
        assert_eq!(
            clearly_lower(&[2.0, 3.0, 4.0], &[1.0, 2.0, 3.0]),
            Some(false)
        );
        // Windows without points (NaN) are left out; too few pairs or unequal lengths say
        // nothing.
        assert_eq!(
            clearly_lower(&[1.0, f64::NAN, 2.0], &[2.0, 1.0, 3.0]),
            Some(true)
        );
        assert_eq!(clearly_lower(&[1.0, f64::NAN], &[2.0, 1.0]), None);
        assert_eq!(clearly_lower(&[1.0, 2.0], &[2.0, 3.0, 4.0]), None);
    }

    #[test]
    fn origins_stay_inside_the_series() {
        let plan = WindowPlan {
            horizon: 24,
            windows: 4,
            step: 12,
            min_train: 48,
            min_train_share: 0.5,
            max_series: 10,
            combine_baselines: true,
        };
        assert_eq!(origins(200, &plan), vec![140, 152, 164, 176]);
        // Only windows leaving 48 periods of training.
        assert_eq!(origins(90, &plan), vec![54, 66]);
        assert!(origins(60, &plan).is_empty());
        // ... and half of the series.
        assert_eq!(origins(120, &plan), vec![60, 72, 84, 96]);
        assert_eq!(origins(110, &plan), vec![62, 74, 86]);
    }
}
