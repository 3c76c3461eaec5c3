//! [`ForecastParams`]: how a [`UsagePredictor`](super::UsagePredictor) is fitted, as Rust
//! values or JSON (the C ABI, PHP and the CLI pass it as JSON).

use serde::{Deserialize, Serialize};

use crate::data::series::{DuplicatePolicy, SeriesOptions};
use crate::error::{Error, Result};
use crate::features::anomaly::AnomalyMethod;
use crate::features::spec::FeatureSpec;
use crate::trees::forest::ForestParams;
use crate::trees::gbdt::GbdtParams;
use crate::trees::model::{parse_with_model, ModelKind, ModelParams};

use super::transform::TargetTransform;

/// Most steps [`ForecastParams::direct_steps`] may ask for (a week of hourly data).
pub const MAX_DIRECT_STEPS: usize = 168;

/// How a [`UsagePredictor`](super::UsagePredictor) is fitted. Every field has a default, so
/// `{}` is valid JSON; unknown fields are refused.
///
/// ```
/// use tenantml::forecast::predictor::ForecastParams;
/// let p = ForecastParams::from_json(r#"{"time_zone": "Europe/Berlin", "levels": [90]}"#)?;
/// assert_eq!(p.handover_days, 14.0);
/// assert!(ForecastParams::from_json(r#"{"horizon": 3}"#).is_err());
/// // `model` is laid over the forecasting defaults (a boosting + forest blend).
/// let p = ForecastParams::from_json(r#"{"model": {"gbdt": {"rounds": 50}}}"#)?;
/// assert_eq!(p.model.model, ForecastParams::default().model.model);
/// assert_eq!(p.model.gbdt.rounds, 50);
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForecastParams {
    /// Model name carried by every forecast.
    pub name: String,
    /// Model version carried by every forecast (the caller's, e.g. the registry's).
    pub version: u64,
    /// Seconds per period; `None` takes the series' (inferred) frequency.
    pub frequency: Option<i64>,
    /// How duplicate timestamps are merged when raw points are turned into series (the C,
    /// PHP and CLI inputs); see [`DuplicatePolicy`].
    pub duplicates: DuplicatePolicy,
    /// IANA time zone of the tenants' clock for calendar features (e.g. `Europe/Berlin`);
    /// `None` is UTC.
    pub time_zone: Option<String>,
    /// Holiday dates (`YYYY-MM-DD`, local) for the holiday feature.
    pub holidays: Vec<String>,
    /// Seasonal periods in periods; `None` detects them among a day and a week.
    pub seasonal_periods: Option<Vec<usize>>,
    /// The feature set; `None` derives it from the frequency and the periods.
    pub features: Option<FeatureSpec>,
    /// The tree ensemble's settings (default: boosting + forest blend).
    pub model: ModelParams,
    /// The target transform; `None` chooses between `level` and `seasonal_difference` by
    /// backtest, `level` only when clearly better (`difference` only when asked for).
    pub transform: Option<TargetTransform>,
    /// Interval levels in percent, used when a forecast does not name its own.
    pub levels: Vec<f64>,
    /// Forecast strategy for the first steps: 0 (the default) forecasts every step
    /// recursively with the one-step model; `D > 0` also fits one direct model per step
    /// 2..=D, each predicting its step straight from the features at the forecast origin
    /// (with the target period's calendar), so errors do not compound over the first `D`
    /// steps; later steps continue recursively from them. Fitting costs about `D` times
    /// as much (calibration included); at most [`MAX_DIRECT_STEPS`].
    pub direct_steps: usize,
    /// Steps calibrated by conformal residuals; `None` is the shortest seasonal period (24
    /// for hourly data, 7 for daily), at most 168. Further steps widen as `sqrt(h / H)`.
    pub calibration_horizon: Option<usize>,
    /// Rolling origins per series for calibration and transform choice, half a
    /// calibration horizon apart, all within the last 20% of each series; `None` aims at
    /// about 2,000 residuals per step across the series (between 4 and 60 per series).
    pub calibration_windows: Option<usize>,
    /// Anomaly cleaning before fitting and forecasting, within each phase of the longest
    /// seasonal period (three seasons at least; a forecast from two weeks of an hourly
    /// series with a weekly cycle is not cleaned); `None` turns it off.
    pub anomaly: Option<AnomalyMethod>,
    /// Combine the model with the naive or seasonal-naive forecast when that scored better
    /// on the calibration windows (`w * model + (1 - w) * baseline`, `w` chosen there, 0
    /// possible; see the predictor's `baseline_combination` info); `false` keeps the model
    /// alone.
    pub combine_baselines: bool,
    /// Learn the hand-over schedule from backtests on the training series (see
    /// [`handover`](super::handover)); `false` uses the fixed `handover_days` rule.
    pub learn_handover: bool,
    /// Days of history after which the model alone answers under the fixed rule (used when
    /// `learn_handover` is off or nothing could be learned).
    pub handover_days: f64,
    /// Synthetic histories drawn from the prior and added to training; `None` adds 16 when
    /// the real data is under 2 series-weeks (a young platform), else none. They train the
    /// model but never calibrate the intervals.
    pub synthetic_tenants: Option<usize>,
    /// Seed of every random choice.
    pub seed: u64,
}

impl Default for ForecastParams {
    fn default() -> Self {
        ForecastParams {
            name: "usage".into(),
            version: 1,
            frequency: None,
            duplicates: DuplicatePolicy::Sum,
            time_zone: None,
            holidays: Vec::new(),
            seasonal_periods: None,
            features: None,
            model: default_model_params(),
            transform: None,
            levels: vec![80.0, 95.0],
            direct_steps: 0,
            calibration_horizon: None,
            calibration_windows: None,
            anomaly: Some(AnomalyMethod::default()),
            combine_baselines: true,
            learn_handover: true,
            handover_days: 14.0,
            synthetic_tenants: None,
            seed: 42,
        }
    }
}

fn default_model_params() -> ModelParams {
    ModelParams {
        model: ModelKind::Blend,
        gbdt: GbdtParams {
            rounds: 200,
            learning_rate: 0.05,
            max_leaves: 31,
            min_samples_leaf: 10,
            ..GbdtParams::default()
        },
        // Unbounded trees grow to thousands of leaves and twenty-odd levels on a year of
        // hourly data, and every forecast step walks all of them. At depth 14 the compare
        // panels (benches/compare) and the cold-start evaluation score within 0.3 % of
        // unbounded trees, fitting takes under half the time and a step ~2 us less. 50
        // trees instead of 100 (in the blend with boosting) score within 0.5 % again, fit
        // the forest in half the time and take another ~1.3 us off a step.
        forest: ForestParams {
            trees: 50,
            max_depth: 14,
            ..ForestParams::default()
        },
        ..ModelParams::default()
    }
}

impl ForecastParams {
    /// Parses JSON parameters; unknown fields are an error naming the field.
    pub fn from_json(json: &str) -> Result<ForecastParams> {
        let p: ForecastParams =
            parse_with_model(json, "forecast parameters", |p: &mut ForecastParams| {
                &mut p.model
            })?;
        p.check()?;
        Ok(p)
    }

    /// How raw points become a series for this predictor: its frequency (when fitted, the
    /// fitted one) and duplicate policy.
    pub fn series_options(&self, frequency: Option<i64>) -> SeriesOptions {
        SeriesOptions {
            frequency: frequency.or(self.frequency),
            duplicates: self.duplicates,
            ..SeriesOptions::default()
        }
    }

    pub(crate) fn check(&self) -> Result<()> {
        check_levels(&self.levels)?;
        if !(self.handover_days.is_finite() && self.handover_days >= 0.0) {
            return Err(Error::InvalidArgument(format!(
                "handover_days must be finite and >= 0, got {}",
                self.handover_days
            )));
        }
        if self.calibration_windows == Some(0) {
            return Err(Error::InvalidArgument(
                "calibration_windows must be at least 1".into(),
            ));
        }
        if let Some(f) = self.frequency {
            if f <= 0 {
                return Err(Error::InvalidArgument(format!(
                    "frequency must be positive seconds, got {f}"
                )));
            }
        }
        if self.direct_steps > MAX_DIRECT_STEPS {
            return Err(Error::InvalidArgument(format!(
                "direct_steps must be at most {MAX_DIRECT_STEPS} (one model per step), got {}",
                self.direct_steps
            )));
        }
        if self.calibration_horizon == Some(0) {
            return Err(Error::InvalidArgument(
                "calibration_horizon must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// Levels are percentages strictly between 0 and 100.
pub(crate) fn check_levels(levels: &[f64]) -> Result<()> {
    if let Some(l) = levels.iter().find(|l| !(**l > 0.0 && **l < 100.0)) {
        return Err(Error::InvalidArgument(format!(
            "interval levels are percentages in (0, 100), got {l}"
        )));
    }
    Ok(())
}
