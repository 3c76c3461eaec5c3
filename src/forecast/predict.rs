//! Forecasting with a fitted [`UsagePredictor`]: the model's recursive forecast, the
//! cold-start prior and the hand-over between them, the rule-based fallback, and intervals.
//!
//! # Intervals
//! - **Model**: split-conformal half-widths per horizon step from the out-of-sample
//!   residuals collected when fitting ([`Conformal`]), in scaled units, times the tenant's
//!   scale; when the training series were too short for any calibration window, the
//!   prior's relative width below around the model's forecast.
//! - **Prior**: `z * expected * sqrt(noise_cv^2 + spread^2 / (1 + days))`, where `z` is the
//!   normal quantile of the level, `spread` the population's log-level spread (how little a
//!   tenant's level is known before it shows any data) and `days` the days of history.
//! - **Blend**: both half-widths weighted like the forecasts.
//! - **Fallback**: the conformal quantile of the rule's in-sample absolute residuals.
//!
//! Lower bounds are clamped at 0 when the training data had no negative value.

use serde::{Deserialize, Serialize};

use super::calibrate::combined_baseline;
use super::conformal::Conformal;
use super::engine::{forecast_steps, TargetRule};
use super::fallback::FallbackProfile;
use super::handover::{regime_for, scheduled_weight, Regime};
use super::predictor::{check_levels, UsagePredictor, MAX_HORIZON};
use super::prepare::{cleaning_period, prepare};
use crate::data::series::{first_infinite, Series, MAX_TIMESTAMP, MIN_TIMESTAMP};
use crate::error::{Error, Result};
use crate::features::calendar::LocalClock;

/// One forecast period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastPoint {
    /// The period's timestamp (UTC unix seconds).
    pub timestamp: i64,
    /// The point forecast.
    pub forecast: f64,
    /// Lower bound per requested level, in the order of [`Forecast::levels`].
    pub lower: Vec<f64>,
    /// Upper bound per requested level.
    pub upper: Vec<f64>,
}

/// A forecast and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// The model's name.
    pub model_name: String,
    /// The model's version.
    pub model_version: u64,
    /// The regime that answered.
    pub regime: Regime,
    /// The model's share in a blend (1 for the model alone, 0 for the prior or the fallback).
    pub model_weight: f64,
    /// Days of observed history behind the answer.
    pub history_days: f64,
    /// Interval levels in percent.
    pub levels: Vec<f64>,
    /// One point per period, in time order.
    pub points: Vec<ForecastPoint>,
}

impl Forecast {
    /// The point forecasts alone.
    pub fn values(&self) -> Vec<f64> {
        self.points.iter().map(|p| p.forecast).collect()
    }
}

/// The standard normal quantile `z` with `P(|Z| <= z) = level / 100` (Acklam's rational
/// approximation, relative error below 1.2e-9).
pub fn two_sided_z(level_percent: f64) -> f64 {
    let p = 0.5 + level_percent / 200.0;
    normal_quantile(p)
}

fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

pub(crate) fn check_horizon(horizon: usize) -> Result<()> {
    if horizon == 0 || horizon > MAX_HORIZON {
        return Err(Error::InvalidArgument(format!(
            "horizon must be in 1..={MAX_HORIZON} periods, got {horizon}"
        )));
    }
    Ok(())
}

/// The grid from `start` over `periods` periods must stay within the years 0000-9999.
fn check_span(start: i64, periods: usize, frequency: i64) -> Result<()> {
    let end = i64::try_from(periods)
        .ok()
        .and_then(|p| p.checked_mul(frequency))
        .and_then(|d| start.checked_add(d));
    match end {
        Some(end) if start >= MIN_TIMESTAMP && end <= MAX_TIMESTAMP => Ok(()),
        _ => Err(Error::InvalidArgument(format!(
            "a history starting at {start} with {periods} periods of {frequency} s (forecast \
             included) leaves the years 0000-9999"
        ))),
    }
}

fn history_days(values: &[f64], frequency: i64) -> f64 {
    let present = values.iter().filter(|v| !v.is_nan()).count();
    present as f64 * frequency as f64 / 86_400.0
}

/// Point forecast and half-widths (one per level) for each step.
struct Path {
    forecast: Vec<f64>,
    half: Vec<Vec<f64>>,
}

impl UsagePredictor {
    /// Forecasts `horizon` periods after `history` at the interval `levels` (percent; empty
    /// means the fitted defaults). The history must have the predictor's frequency.
    pub fn forecast(&self, history: &Series, horizon: usize, levels: &[f64]) -> Result<Forecast> {
        if history.frequency() != self.stored.frequency {
            return Err(Error::InvalidArgument(format!(
                "the history has frequency {} s but the predictor was fitted on {} s",
                history.frequency(),
                self.stored.frequency
            )));
        }
        self.forecast_values(history.start(), history.values(), horizon, levels)
    }

    /// Forecasts from a history on the predictor's grid: `values[i]` is the period at
    /// `start + i * frequency` (NaN = missing). `values` may be empty: a tenant with no data
    /// yet, whose forecast starts at `start` and comes from the cold-start prior.
    pub fn forecast_values(
        &self,
        start: i64,
        values: &[f64],
        horizon: usize,
        levels: &[f64],
    ) -> Result<Forecast> {
        self.forecast_weighted(start, values, horizon, levels, None)
    }

    /// [`UsagePredictor::forecast_values`] with the hand-over weight forced to `weight` in
    /// `[0, 1]` (0 = the prior alone, 1 = the model alone) instead of the schedule's: for
    /// evaluating the regimes side by side. `None` follows the schedule.
    pub fn forecast_weighted(
        &self,
        start: i64,
        values: &[f64],
        horizon: usize,
        levels: &[f64],
        weight: Option<f64>,
    ) -> Result<Forecast> {
        self.forecast_inner(start, values, horizon, levels, weight, 0.0)
    }

    /// [`UsagePredictor::forecast_values`] for a caller that passes only a tenant's recent
    /// window (enough for the lags, and faster): `tenant_days` is how many days of data
    /// the tenant has in all, and the larger of it and the window's own length decides
    /// the regime, so a mature tenant forecast from its last two weeks is answered by the
    /// model, not blended with the cold-start prior. 0 means unknown (the window's length
    /// alone, as [`UsagePredictor::forecast_values`]).
    ///
    /// ```
    /// # use tenantml::data::series::{Series, SeriesOptions};
    /// # use tenantml::forecast::predictor::{ForecastParams, UsagePredictor};
    /// # let t: Vec<i64> = (0..672).map(|i| 1_699_999_200 + i * 3600).collect();
    /// # let v: Vec<f64> = (0..672).map(|i| 10.0 + 5.0 * ((i % 24) as f64 / 24.0 * 6.283).sin()).collect();
    /// # let mut params = ForecastParams::default();
    /// # params.model.gbdt.rounds = 30;
    /// # params.model.forest.trees = 10;
    /// # let predictor = UsagePredictor::fit(&[Series::new(&t, &v, &SeriesOptions::default())?], &params)?;
    /// // Only the last two days are passed; the tenant has a year of data.
    /// let window = &v[v.len() - 48..];
    /// let start = t[t.len() - 48];
    /// let young = predictor.forecast_values(start, window, 24, &[80.0])?;
    /// let mature = predictor.forecast_values_aged(start, window, 24, &[80.0], 365.0)?;
    /// assert_eq!(young.history_days, 2.0);
    /// assert_eq!((mature.history_days, mature.regime.name()), (365.0, "model"));
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn forecast_values_aged(
        &self,
        start: i64,
        values: &[f64],
        horizon: usize,
        levels: &[f64],
        tenant_days: f64,
    ) -> Result<Forecast> {
        self.forecast_inner(start, values, horizon, levels, None, tenant_days)
    }

    fn forecast_inner(
        &self,
        start: i64,
        values: &[f64],
        horizon: usize,
        levels: &[f64],
        weight: Option<f64>,
        tenant_days: f64,
    ) -> Result<Forecast> {
        if !(tenant_days.is_finite() && tenant_days >= 0.0) {
            return Err(Error::InvalidArgument(format!(
                "the tenant's days of data must be finite and >= 0, got {tenant_days}"
            )));
        }
        let started = std::time::Instant::now();
        // Forced weights are evaluations (the hand-over schedule learnt when fitting), not
        // predictions served: they are not recorded.
        let served = weight.is_none();
        check_horizon(horizon)?;
        if let Some(w) = weight {
            if !(0.0..=1.0).contains(&w) {
                return Err(Error::InvalidArgument(format!(
                    "a forced model weight must be in [0, 1], got {w}"
                )));
            }
            if w > 0.0 && !values.iter().any(|v| !v.is_nan()) {
                return Err(Error::InvalidArgument(
                    "the model needs at least one present history value".into(),
                ));
            }
        }
        check_levels(levels)?;
        check_span(start, values.len() + horizon, self.stored.frequency)?;
        if let Some(i) = first_infinite(values) {
            return Err(Error::InvalidArgument(format!(
                "history value {i} is infinite (use NaN for a missing value)"
            )));
        }
        let levels: Vec<f64> = if levels.is_empty() {
            self.stored.params.levels.clone()
        } else {
            levels.to_vec()
        };
        let freq = self.stored.frequency;
        let days = history_days(values, freq).max(tenant_days);
        let weight = weight.unwrap_or_else(|| {
            scheduled_weight(
                &self.stored.handover,
                days,
                self.stored.params.handover_days,
            )
        });
        let prior = || self.prior_path(start, values, horizon, &levels, days);
        let (regime, weight, path) = if weight <= 0.0 {
            (Regime::ColdStartPrior, 0.0, prior()?)
        } else {
            match self.model_path(start, values, horizon, &levels) {
                Ok(model) if weight >= 1.0 => (Regime::Model, 1.0, model),
                Ok(model) => (regime_for(weight), weight, blend(&model, &prior()?, weight)),
                // The model could not answer (a non-finite step): the platform's rule.
                Err(_) => {
                    let f =
                        fallback_path(self.builder_clock(), start, values, freq, horizon, &levels)?;
                    (Regime::Fallback, 0.0, f)
                }
            }
        };
        let forecast = self.assemble(start, values.len(), regime, weight, days, levels, path);
        if served {
            let model = crate::telemetry::model_label(self.metadata.name.as_deref(), "usage");
            crate::telemetry::record_since(model, regime.name(), started);
        }
        Ok(forecast)
    }

    fn builder_clock(&self) -> &LocalClock {
        self.builder.clock()
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        &self,
        start: i64,
        n: usize,
        regime: Regime,
        weight: f64,
        days: f64,
        levels: Vec<f64>,
        path: Path,
    ) -> Forecast {
        let (model_name, model_version) = self.name_and_version();
        let floor = self.stored.nonnegative;
        let points = (0..path.forecast.len())
            .map(|h| {
                let f = path.forecast[h];
                let lower = path.half[h]
                    .iter()
                    .map(|w| if floor { (f - w).max(0.0) } else { f - w })
                    .collect();
                let upper = path.half[h].iter().map(|w| f + w).collect();
                ForecastPoint {
                    timestamp: start + (n + h) as i64 * self.stored.frequency,
                    forecast: f,
                    lower,
                    upper,
                }
            })
            .collect();
        Forecast {
            model_name,
            model_version,
            regime,
            model_weight: weight,
            history_days: days,
            levels,
            points,
        }
    }

    fn model_path(
        &self,
        start: i64,
        values: &[f64],
        horizon: usize,
        levels: &[f64],
    ) -> Result<Path> {
        let s = &self.stored;
        // Only the recent history feeds the lags and windows; cleaning it (not a whole year)
        // keeps a forecast in microseconds.
        let cleaning = cleaning_period(&s.periods);
        let tail = (s.spec.lookback() + 1).max(4 * cleaning);
        let prepared = prepare(
            values,
            start,
            s.params.anomaly.as_ref(),
            cleaning,
            Some(tail),
        )?;
        let rule = TargetRule {
            transform: s.transform,
            period: s.main_period,
            lookback: s.spec.seasonal_lookback.max(1),
        };
        let floor = s.nonnegative.then_some(0.0);
        let scaled = forecast_steps(
            &self.builder,
            &self.model,
            &self.direct,
            rule,
            &prepared.values,
            start,
            horizon,
            floor,
        )?;
        let mut scaled = scaled;
        let c = s.combination;
        if let (Some(baseline), true) = (c.baseline, c.model_weight < 1.0) {
            let base = combined_baseline(baseline, &prepared.values, horizon)?;
            for (f, b) in scaled.iter_mut().zip(base) {
                if !b.is_nan() {
                    *f = c.model_weight * *f + (1.0 - c.model_weight) * b;
                }
            }
        }
        // Without calibration windows (too little data when fitting), the prior's relative
        // uncertainty stands in for the conformal widths.
        let relative = match s.conformal {
            Some(_) => f64::NAN,
            None => (s.prior.noise_cv.powi(2)
                + s.level_spread.powi(2) / (1.0 + history_days(values, s.frequency)))
            .sqrt(),
        };
        let half = (1..=horizon)
            .map(|h| {
                let f = scaled[h - 1] * prepared.scale;
                levels
                    .iter()
                    .map(|&l| match &s.conformal {
                        Some(c) => c.half_width(h, l / 100.0) * prepared.scale,
                        None => two_sided_z(l) * f.abs() * relative,
                    })
                    .collect()
            })
            .collect();
        Ok(Path {
            forecast: scaled.iter().map(|v| v * prepared.scale).collect(),
            half,
        })
    }

    fn prior_path(
        &self,
        start: i64,
        values: &[f64],
        horizon: usize,
        levels: &[f64],
        days: f64,
    ) -> Result<Path> {
        let s = &self.stored;
        let freq = s.frequency;
        let first = start + values.len() as i64 * freq;
        let offset = self.builder.clock().offset_seconds(first);
        let prior = if values.iter().any(|v| !v.is_nan()) {
            s.prior.scaled_to(values, start, freq, offset)?
        } else {
            s.prior.clone()
        };
        let expected = prior.expected(first, freq, horizon, offset)?;
        let relative = (prior.noise_cv.powi(2) + s.level_spread.powi(2) / (1.0 + days)).sqrt();
        let z: Vec<f64> = levels.iter().map(|&l| two_sided_z(l)).collect();
        let half = expected
            .iter()
            .map(|e| z.iter().map(|z| z * e.abs() * relative).collect())
            .collect();
        Ok(Path {
            forecast: expected,
            half,
        })
    }
}

fn blend(model: &Path, prior: &Path, w: f64) -> Path {
    let mix = |a: f64, b: f64| w * a + (1.0 - w) * b;
    Path {
        forecast: model
            .forecast
            .iter()
            .zip(&prior.forecast)
            .map(|(&a, &b)| mix(a, b))
            .collect(),
        half: model
            .half
            .iter()
            .zip(&prior.half)
            .map(|(a, b)| a.iter().zip(b).map(|(&a, &b)| mix(a, b)).collect())
            .collect(),
    }
}

fn fallback_path(
    clock: &LocalClock,
    start: i64,
    values: &[f64],
    frequency: i64,
    horizon: usize,
    levels: &[f64],
) -> Result<Path> {
    let local = |i: usize| clock.local(start + i as i64 * frequency);
    let (hours, weekdays): (Vec<u8>, Vec<u8>) = (0..values.len())
        .map(|i| {
            let t = local(i);
            (t.hour, t.weekday)
        })
        .unzip();
    let profile = FallbackProfile::fit(values, &hours, &weekdays)?;
    let residuals: Vec<f64> = (0..values.len())
        .filter(|&i| !values[i].is_nan())
        .map(|i| values[i] - profile.predict(hours[i], weekdays[i]))
        .collect();
    let conformal = Conformal::fit(&[residuals])?;
    let n = values.len();
    let forecast: Vec<f64> = (0..horizon)
        .map(|h| {
            let t = local(n + h);
            profile.predict(t.hour, t.weekday)
        })
        .collect();
    let widths: Vec<f64> = levels
        .iter()
        .map(|l| conformal.half_width(1, l / 100.0))
        .collect();
    Ok(Path {
        forecast,
        half: vec![widths; horizon],
    })
}

/// The platform's rule when no model can be used: the historical average times the local
/// hour-of-day and day-of-week multipliers ([`FallbackProfile`]), flagged
/// [`Regime::Fallback`]. Needs at least one present value.
///
/// ```
/// use tenantml::data::series::{Series, SeriesOptions};
/// use tenantml::forecast::predict::fallback_forecast;
/// let t: Vec<i64> = (0..48).map(|i| i * 3600).collect();
/// let v: Vec<f64> = (0..48).map(|i| if i % 24 < 12 { 1.0 } else { 3.0 }).collect();
/// let series = Series::new(&t, &v, &SeriesOptions::default())?;
/// let f = fallback_forecast(&series, 24, &[80.0], None, "rules", 1)?;
/// assert_eq!(f.regime.name(), "fallback");
/// assert!(f.points[0].forecast < f.points[12].forecast);
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn fallback_forecast(
    history: &Series,
    horizon: usize,
    levels: &[f64],
    time_zone: Option<&str>,
    model_name: &str,
    model_version: u64,
) -> Result<Forecast> {
    check_horizon(horizon)?;
    check_levels(levels)?;
    check_span(
        history.start(),
        history.len() + horizon,
        history.frequency(),
    )?;
    let clock = LocalClock::new(time_zone)?;
    let values = history.values();
    let path = fallback_path(
        &clock,
        history.start(),
        values,
        history.frequency(),
        horizon,
        levels,
    )?;
    let nonnegative = values.iter().all(|v| v.is_nan() || *v >= 0.0);
    let n = values.len();
    let points = (0..horizon)
        .map(|h| {
            let f = path.forecast[h];
            ForecastPoint {
                timestamp: history.timestamp(n + h),
                forecast: f,
                lower: path.half[h]
                    .iter()
                    .map(|w| if nonnegative { (f - w).max(0.0) } else { f - w })
                    .collect(),
                upper: path.half[h].iter().map(|w| f + w).collect(),
            }
        })
        .collect();
    Ok(Forecast {
        model_name: model_name.to_string(),
        model_version,
        regime: Regime::Fallback,
        model_weight: 0.0,
        history_days: history_days(values, history.frequency()),
        levels: levels.to_vec(),
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_matches_the_normal_table() {
        assert!((two_sided_z(95.0) - 1.959964).abs() < 1e-6);
        assert!((two_sided_z(80.0) - 1.281552).abs() < 1e-6);
        assert!((two_sided_z(99.9) - 3.290527).abs() < 1e-6);
        assert!((normal_quantile(0.01) + 2.326348).abs() < 1e-6);
    }
}
