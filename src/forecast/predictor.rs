//! [`UsagePredictor`]: a global tree-ensemble forecaster for usage series, fitted on one or
//! many tenants, with conformal intervals and a cold-start prior.
//!
//! # Fitting
//! 1. Each series is cleaned of anomalies (robust MAD per phase of the longest seasonal
//!    period, i.e. the same hour of the week when there is a weekly cycle, replaced by the
//!    phase median; at least three seasons needed) so a spike does not poison the lags, and
//!    divided by its scale (the mean absolute present value), so one model serves small and
//!    large tenants alike. A forecast cleans its last four seasons the same way.
//! 2. Seasonal periods are detected per series among the natural ones of the frequency (a
//!    day and a week); the features ([`FeatureSpec`]) and the seasonal base follow them.
//! 3. With `transform: null` (the default) both target transforms are backtested on rolling
//!    origins at the end of the series and the seasonal difference is kept unless the level
//!    scored clearly better (a lower scaled MAE per window by more than one standard error:
//!    trees cannot extrapolate a level outside the training range); the
//!    residuals of the kept one calibrate the conformal intervals per horizon step, and the
//!    same windows, forecast from shortened histories, learn the cold-start hand-over
//!    schedule ([`handover`](super::handover)).
//! 4. The final model (boosting + forest blend by default) is fitted on every row.
//! 5. A cold-start prior ([`SeriesPrior`]) is estimated from the training series: their mean
//!    daily and weekly profiles, median level and level spread. When there is little real
//!    data (`synthetic_tenants`), synthetic histories drawn from that prior join the training
//!    set so the model has seen short and varied histories.
//! 6. [`UsagePredictor::refit`] redoes 1, 4 and 5 on new data, keeping the rest (a cheap retrain).
//!
//! Forecasting is in [`predict`](super::predict).

use serde::{Deserialize, Serialize};

use super::calibrate::{calibrate, clearly_better, Combination, Residuals, WindowPlan};
use super::conformal::Conformal;
use super::engine::TargetRule;
use super::handover::HandoverPoint;
use super::prepare::{check_frequency, cleaning_period, detect_periods, resolve_frequency};
use super::schedule::learn_schedule;
use super::training::{fit_final, model_params, TrainingSet};
use super::transform::TargetTransform;
use crate::coldstart::SeriesPrior;
use crate::data::series::Series;
use crate::error::{Error, Result};
use crate::features::spec::{FeatureBuilder, FeatureSpec};
use crate::trees::format::{self, ModelMetadata, Validate};
use crate::trees::model::Model;

pub(crate) use super::params::check_levels;
pub use super::params::ForecastParams;
pub use super::prepare::natural_periods;

/// The model file kind of a usage predictor.
pub const PREDICTOR_KIND: &str = "usage-predictor";
/// Longest forecast horizon accepted, in periods (about 11 years of hourly data).
pub const MAX_HORIZON: usize = 100_000;

/// How the fit went, stored with the predictor and reported by `info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitSummary {
    /// Real series fitted on.
    pub series: usize,
    /// Synthetic histories added.
    pub synthetic_series: usize,
    /// Training rows of the final model.
    pub rows: usize,
    /// Anomalies cleaned before fitting.
    pub anomalies_cleaned: usize,
    /// Rolling-origin windows behind the intervals.
    pub calibration_windows: usize,
    /// Backtest scaled MAE of each transform tried (name, MAE), and of seasonal naive.
    pub transform_scores: Vec<(String, f64)>,
    /// The seasonal-naive baseline's scaled MAE on the same windows.
    pub seasonal_naive_mae: Option<f64>,
}

/// What a fitted predictor stores (the model separately, as its own file bytes).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Stored {
    #[serde(with = "format::json_field")]
    pub params: ForecastParams,
    #[serde(with = "format::json_field")]
    pub spec: FeatureSpec,
    pub frequency: i64,
    pub periods: Vec<usize>,
    pub main_period: usize,
    pub transform: TargetTransform,
    #[serde(with = "format::json_field")]
    pub conformal: Option<Conformal>,
    #[serde(with = "format::json_field")]
    pub prior: SeriesPrior,
    /// Standard deviation of the log levels of the training series.
    pub level_spread: f64,
    pub nonnegative: bool,
    /// The learned hand-over schedule (empty: the fixed rule).
    pub handover: Vec<HandoverPoint>,
    /// The model's combination with a baseline, chosen on the calibration windows.
    #[serde(with = "format::json_field")]
    pub combination: Combination,
    #[serde(with = "format::json_field")]
    pub summary: FitSummary,
}

/// A fitted usage forecaster (see the [module docs](self) and [`predict`](super::predict)).
///
/// ```
/// use tenantml::data::series::{Series, SeriesOptions};
/// use tenantml::forecast::predictor::{ForecastParams, UsagePredictor};
/// // Four weeks of hourly usage with a daily rhythm.
/// let t: Vec<i64> = (0..672).map(|i| 1_700_000_000 / 3600 * 3600 + i * 3600).collect();
/// let v: Vec<f64> = (0..672).map(|i| 10.0 + 5.0 * ((i % 24) as f64 / 24.0 * 6.283).sin()).collect();
/// let series = Series::new(&t, &v, &SeriesOptions::default())?;
/// let mut params = ForecastParams::default();
/// params.model.gbdt.rounds = 30;
/// params.model.forest.trees = 10;
/// let predictor = UsagePredictor::fit(&[series.clone()], &params)?;
/// let forecast = predictor.forecast(&series, 24, &[80.0])?;
/// assert_eq!(forecast.points.len(), 24);
/// // The model, or a blend with the prior while the learned hand-over is not complete.
/// assert!(matches!(forecast.regime.name(), "model" | "blended"));
/// assert!((forecast.points[0].forecast - v[0]).abs() < 2.0);
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug)]
pub struct UsagePredictor {
    pub(crate) stored: Stored,
    pub(crate) builder: FeatureBuilder,
    pub(crate) model: Model,
    /// Direct models of steps 2..=`direct_steps` (empty: recursive only).
    pub(crate) direct: Vec<Model>,
    pub(crate) metadata: ModelMetadata,
}

impl UsagePredictor {
    /// Fits a global predictor on one or many series of the same frequency (see the [module
    /// docs](self)). `series` may be empty when `params.frequency` is given and synthetic
    /// tenants are asked for: the model then learns from the prior alone (a platform with
    /// no data yet).
    ///
    /// Errors: series of different frequencies, no series and no synthetic tenants, fewer
    /// than two present values in all, invalid parameters.
    pub fn fit(series: &[Series], params: &ForecastParams) -> Result<UsagePredictor> {
        params.check()?;
        let frequency = resolve_frequency(series, params)?;
        let periods = match &params.seasonal_periods {
            Some(p) => p.clone(),
            None => detect_periods(series, frequency)?,
        };
        let main_period = periods.first().copied().unwrap_or(1);
        let spec = match &params.features {
            Some(spec) => spec.clone(),
            None => {
                let mut spec = FeatureSpec::for_frequency(frequency, &periods)?;
                spec.time_zone = params.time_zone.clone();
                spec.holidays = params.holidays.clone();
                spec
            }
        };
        if spec.frequency != frequency {
            return Err(Error::InvalidArgument(format!(
                "the feature spec is for frequency {} s but the series are {} s",
                spec.frequency, frequency
            )));
        }
        let builder = spec.compile()?;
        let set = TrainingSet::build(
            series,
            frequency,
            &builder,
            params,
            cleaning_period(&periods),
        )?;
        let scaled = set.scaled();
        let floor = set.floor();
        let model_params = model_params(params, &builder);
        let shortest = periods.iter().copied().min().unwrap_or(1);
        let horizon = params
            .calibration_horizon
            .unwrap_or_else(|| shortest.clamp(1, 168));
        let plan = WindowPlan {
            horizon,
            windows: params
                .calibration_windows
                .unwrap_or_else(|| (2000 / series.len().max(1)).clamp(4, 60)),
            step: (horizon / 2).max(1),
            min_train: (2 * shortest).max(2 * horizon).max(8),
            min_train_share: 0.8,
            // Synthetic series (after the real ones) train but never calibrate.
            max_series: series.len().min(200),
            combine_baselines: params.combine_baselines,
        };
        let lookback = spec.seasonal_lookback.max(1);
        let candidates = match params.transform {
            Some(t) => vec![t],
            // The plain difference is not a default candidate: recursively summed increments
            // drift, and on one short series the backtest picked it by chance.
            None => vec![TargetTransform::Level, TargetTransform::SeasonalDifference],
        };
        let mut best: Option<(TargetTransform, Option<Residuals>)> = None;
        let mut transform_scores = Vec::new();
        for transform in candidates {
            let rule = TargetRule {
                transform,
                period: main_period,
                lookback,
            };
            let residuals = calibrate(
                &builder,
                &scaled,
                rule,
                &model_params,
                params.direct_steps,
                &plan,
                floor,
            )?;
            let score = residuals.as_ref().map(|r| r.mae);
            if let Some(s) = score {
                transform_scores.push((transform.name().to_string(), s));
            }
            // The seasonal difference (tried last) is kept unless the level calibrated
            // clearly better: trees cannot extrapolate a level outside the range they were
            // trained on, while the seasonal difference falls back to the seasonal naive.
            let better = match (&best, &residuals) {
                (None, _) => true,
                (Some((_, Some(b))), Some(r)) => !clearly_better(b, r),
                _ => false,
            };
            if better {
                best = Some((transform, residuals));
            }
        }
        let (transform, residuals) = best.expect("at least one transform candidate");
        let conformal = match &residuals {
            Some(r) => Some(Conformal::fit(&r.by_step)?),
            None => None,
        };
        let rule = TargetRule {
            transform,
            period: main_period,
            lookback,
        };
        let mut summary = FitSummary {
            series: 0,
            synthetic_series: 0,
            rows: 0,
            anomalies_cleaned: 0,
            calibration_windows: residuals.as_ref().map_or(0, |r| r.windows),
            transform_scores,
            seasonal_naive_mae: residuals.as_ref().map(|r| r.baseline_mae),
        };
        let mut metadata = ModelMetadata {
            name: Some(params.name.clone()),
            version: Some(params.version),
            feature_names: builder.spec().names(),
            ..ModelMetadata::default()
        };
        if let Some(r) = &residuals {
            metadata
                .training_metrics
                .insert("calibration_scaled_mae".into(), r.mae);
            metadata
                .training_metrics
                .insert("seasonal_naive_scaled_mae".into(), r.baseline_mae);
        }
        let (model, direct) = fit_final(
            &builder,
            &set,
            rule,
            &model_params,
            params.direct_steps,
            &mut summary,
            &mut metadata,
        )?;
        let mut predictor = UsagePredictor {
            stored: Stored {
                params: params.clone(),
                spec,
                frequency,
                periods,
                main_period,
                transform,
                conformal,
                prior: set.prior,
                level_spread: set.level_spread,
                nonnegative: set.nonnegative,
                handover: Vec::new(),
                combination: residuals
                    .as_ref()
                    .map_or_else(Combination::default, |r| r.combination),
                summary,
            },
            builder,
            model,
            direct,
            metadata,
        };
        if let (true, Some(mut r)) = (params.learn_handover, residuals) {
            // The schedule is learnt with the models that have not seen the windows.
            std::mem::swap(&mut predictor.model, &mut r.model);
            std::mem::swap(&mut predictor.direct, &mut r.direct);
            let learned = learn_schedule(&predictor, series, &r.origins, horizon);
            std::mem::swap(&mut predictor.model, &mut r.model);
            std::mem::swap(&mut predictor.direct, &mut r.direct);
            predictor.stored.handover = learned?;
        }
        Ok(predictor)
    }

    /// Fits the final model again on `series` (e.g. the same tenants with more data), keeping
    /// everything chosen at fit time: parameters, features, frequency, seasonal periods,
    /// target transform, conformal intervals, baseline combination and hand-over schedule.
    /// Anomaly cleaning, the cold-start prior and level spread, the synthetic histories
    /// (same seed, as many as the new series call for) and the final models with their
    /// drift reference are redone from `series`. Name, version and training metrics of the
    /// metadata are kept (bump the version with [`UsagePredictor::metadata_mut`]).
    ///
    /// Use it for the periodic retrain on grown data: it costs one model fit, where
    /// [`UsagePredictor::fit`] also backtests the transforms and calibrates. When drift
    /// says the series have changed, run `fit` again instead: the transform and the
    /// intervals kept here were chosen and calibrated on the original data.
    ///
    /// Errors: no series (a refit on synthetic histories alone would forget the tenants), a
    /// series whose frequency differs from the predictor's, fewer than two present values
    /// in all.
    ///
    /// ```
    /// use tenantml::data::series::{Series, SeriesOptions};
    /// use tenantml::forecast::{ForecastParams, UsagePredictor};
    /// let hourly = |hours: i64| -> tenantml::Result<Series> {
    ///     let t: Vec<i64> = (0..hours).map(|i| 1_704_067_200 + i * 3600).collect();
    ///     let v: Vec<f64> = (0..hours).map(|i| if (8..18).contains(&(i % 24)) { 20.0 } else { 4.0 }).collect();
    ///     Series::new(&t, &v, &SeriesOptions::default())
    /// };
    /// let mut params = ForecastParams::default();
    /// params.model.gbdt.rounds = 30;
    /// params.model.forest.trees = 10;
    /// let predictor = UsagePredictor::fit(&[hourly(21 * 24)?], &params)?;
    /// // A week later: retrain on four weeks, keeping the transform and the intervals.
    /// let mut retrained = predictor.refit(&[hourly(28 * 24)?])?;
    /// retrained.metadata_mut().version = Some(2);
    /// assert_eq!(retrained.transform(), predictor.transform());
    /// assert!(retrained.summary().rows > predictor.summary().rows);
    /// assert_eq!(retrained.forecast(&hourly(28 * 24)?, 24, &[80.0])?.points.len(), 24);
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn refit(&self, series: &[Series]) -> Result<UsagePredictor> {
        let s = &self.stored;
        if series.is_empty() {
            return Err(Error::InvalidArgument(
                "nothing to refit: give the series to fit the model on again".into(),
            ));
        }
        let why = "the predictor's; fit a new predictor for another frequency";
        check_frequency(series, s.frequency, why)?;
        let cleaning = cleaning_period(&s.periods);
        let set = TrainingSet::build(series, s.frequency, &self.builder, &s.params, cleaning)?;
        let rule = TargetRule {
            transform: s.transform,
            period: s.main_period,
            lookback: s.spec.seasonal_lookback.max(1),
        };
        let mut summary = s.summary.clone();
        let mut metadata = self.metadata.clone();
        let (model, direct) = fit_final(
            &self.builder,
            &set,
            rule,
            &model_params(&s.params, &self.builder),
            s.params.direct_steps,
            &mut summary,
            &mut metadata,
        )?;
        Ok(UsagePredictor {
            stored: Stored {
                prior: set.prior,
                level_spread: set.level_spread,
                nonnegative: set.nonnegative,
                summary,
                ..s.clone()
            },
            builder: self.builder.clone(),
            model,
            direct,
            metadata,
        })
    }

    /// Seconds per period.
    pub fn frequency(&self) -> i64 {
        self.stored.frequency
    }

    /// The seasonal periods used (the first is the main one).
    pub fn periods(&self) -> &[usize] {
        &self.stored.periods
    }

    /// The target transform kept.
    pub fn transform(&self) -> TargetTransform {
        self.stored.transform
    }

    /// The feature set (stored with the model).
    pub fn feature_spec(&self) -> &FeatureSpec {
        &self.stored.spec
    }

    /// The parameters it was fitted with.
    pub fn params(&self) -> &ForecastParams {
        &self.stored.params
    }

    /// How the fit went.
    pub fn summary(&self) -> &FitSummary {
        &self.stored.summary
    }

    /// The cold-start prior estimated from the training series.
    pub fn prior(&self) -> &SeriesPrior {
        &self.stored.prior
    }

    /// The underlying tree model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Name and version carried by forecasts (the metadata's, which the caller may change
    /// with [`UsagePredictor::metadata_mut`]).
    pub fn name_and_version(&self) -> (String, u64) {
        (
            self.metadata.name.clone().unwrap_or_default(),
            self.metadata.version.unwrap_or(0),
        )
    }

    /// Stored metadata.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// Stored metadata, to change name, version or extra sections before saving.
    pub fn metadata_mut(&mut self) -> &mut ModelMetadata {
        &mut self.metadata
    }

    /// A JSON summary: name, version, frequency, periods, transform, feature names, fit
    /// summary, prior, interval calibration.
    pub fn info_json(&self) -> Result<String> {
        let (name, version) = self.name_and_version();
        let value = serde_json::json!({
            "kind": PREDICTOR_KIND,
            "name": name,
            "version": version,
            "library_version": crate::VERSION,
            "frequency": self.stored.frequency,
            "periods": self.stored.periods,
            "transform": self.stored.transform.name(),
            "time_zone": self.stored.spec.time_zone,
            "features": self.stored.spec.names(),
            "calibrated_steps": self.stored.conformal.as_ref().map_or(0, |c| c.steps()),
            "handover_days": self.stored.params.handover_days,
            "handover_schedule": self.stored.handover,
            "baseline_combination": self.stored.combination,
            "summary": self.stored.summary,
            "prior": self.stored.prior,
        });
        Ok(serde_json::to_string(&value)?)
    }

    /// The predictor file's bytes (the envelope of [`format`](mod@format), kind
    /// [`PREDICTOR_KIND`]), the tree model nested as its own checked file.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let file = PredictorFile {
            stored: self.stored.clone(),
            model: self.model.to_bytes()?,
            direct: (self.direct.iter())
                .map(Model::to_bytes)
                .collect::<Result<_>>()?,
        };
        format::encode(PREDICTOR_KIND, &file, &self.metadata)
    }

    /// Reads a predictor from file bytes; anything but an intact usage predictor is
    /// [`Error::BadModelFile`].
    pub fn from_bytes(bytes: &[u8]) -> Result<UsagePredictor> {
        let (file, metadata): (PredictorFile, ModelMetadata) =
            format::decode(PREDICTOR_KIND, bytes)?;
        let model = Model::from_bytes(&file.model)?;
        let direct = (file.direct.iter())
            .map(|b| Model::from_bytes(b))
            .collect::<Result<Vec<_>>>()?;
        if direct.len() != file.stored.params.direct_steps.saturating_sub(1) {
            return Err(Error::BadModelFile(format!(
                "{} direct step models stored for direct_steps = {}",
                direct.len(),
                file.stored.params.direct_steps
            )));
        }
        let builder = file
            .stored
            .spec
            .compile()
            .map_err(|e| Error::BadModelFile(format!("stored feature spec: {e}")))?;
        if let Some(m) =
            (std::iter::once(&model).chain(&direct)).find(|m| m.n_features() != builder.len())
        {
            return Err(Error::BadModelFile(format!(
                "the model takes {} features but the feature spec makes {}",
                m.n_features(),
                builder.len()
            )));
        }
        Ok(UsagePredictor {
            stored: file.stored,
            builder,
            model,
            direct,
            metadata,
        })
    }

    /// Writes the predictor file atomically.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        format::save(path, &self.to_bytes()?)
    }

    /// Reads a predictor file.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<UsagePredictor> {
        UsagePredictor::from_bytes(&format::load(path)?)
    }
}

#[derive(Serialize, Deserialize)]
struct PredictorFile {
    stored: Stored,
    model: Vec<u8>,
    direct: Vec<Vec<u8>>,
}

impl Validate for PredictorFile {
    fn validate(&self) -> Result<()> {
        let s = &self.stored;
        let bad = |m: String| Err(Error::BadModelFile(m));
        if s.frequency <= 0 || s.frequency != s.spec.frequency {
            return bad(format!(
                "frequency {} does not match its feature spec",
                s.frequency
            ));
        }
        if s.main_period == 0 || !(s.level_spread.is_finite() && s.level_spread >= 0.0) {
            return bad("seasonal period or level spread out of range".into());
        }
        if !(0.0..=1.0).contains(&s.combination.model_weight) {
            return bad("baseline combination weight out of range".into());
        }
        if let Some(b) = &s.combination.baseline {
            b.validate()
                .map_err(|e| Error::BadModelFile(format!("stored baseline: {e}")))?;
        }
        let mut last_day = 0.0;
        for p in &s.handover {
            let ordered = p.days > last_day && p.days.is_finite();
            if !ordered || !(0.0..=1.0).contains(&p.weight) {
                return bad("hand-over schedule out of order or out of range".into());
            }
            last_day = p.days;
        }
        s.prior
            .validate()
            .map_err(|e| Error::BadModelFile(format!("stored prior: {e}")))?;
        s.params
            .check()
            .map_err(|e| Error::BadModelFile(format!("stored parameters: {e}")))
    }
}
