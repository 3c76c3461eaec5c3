//! The data side of fitting, shared by [`UsagePredictor::fit`] and
//! [`UsagePredictor::refit`]: the training set (cleaned and scaled real series, the
//! population prior, the synthetic cold-start histories) and the final step models with
//! what they leave in the fit summary and the metadata.
//!
//! [`UsagePredictor::fit`]: super::predictor::UsagePredictor::fit
//! [`UsagePredictor::refit`]: super::predictor::UsagePredictor::refit

use super::engine::{fit_step_models, ScaledSeries, TargetRule};
use super::params::ForecastParams;
use super::predictor::FitSummary;
use super::prepare::{prepare, synthetic_count, Prepared};
use crate::coldstart::SeriesPrior;
use crate::data::series::Series;
use crate::drift::MODEL_REFERENCE_KEY;
use crate::error::{Error, Result};
use crate::features::spec::FeatureBuilder;
use crate::trees::format::ModelMetadata;
use crate::trees::model::{Model, ModelParams};

/// Everything the models learn from: the real series first (the calibration windows only
/// use those), then the synthetic histories, all cleaned and scaled.
pub(crate) struct TrainingSet {
    pub prepared: Vec<Prepared>,
    pub real: usize,
    pub synthetic: usize,
    pub anomalies_cleaned: usize,
    pub prior: SeriesPrior,
    /// Standard deviation of the log levels of the real series.
    pub level_spread: f64,
    /// Whether every real value is non-negative (forecasts are then floored at 0).
    pub nonnegative: bool,
}

impl TrainingSet {
    /// Cleans and scales `series` (of `frequency`, already checked), estimates the
    /// population prior and level spread from them and adds the synthetic histories
    /// [`synthetic_count`] asks for (drawn with `params.seed`). Errors when nothing is
    /// left to fit.
    pub fn build(
        series: &[Series],
        frequency: i64,
        builder: &FeatureBuilder,
        params: &ForecastParams,
        cleaning_period: usize,
    ) -> Result<TrainingSet> {
        let nonnegative = series
            .iter()
            .all(|s| s.values().iter().all(|v| v.is_nan() || *v >= 0.0));
        let anomaly = params.anomaly.as_ref();
        let mut prepared = Vec::with_capacity(series.len());
        for s in series {
            prepared.push(prepare(
                s.values(),
                s.start(),
                anomaly,
                cleaning_period,
                None,
            )?);
        }
        let anomalies_cleaned = prepared.iter().map(|p| p.cleaned).sum();
        let clock_offset = builder
            .clock()
            .offset_seconds(series.first().map_or(0, |s| s.start()));
        let (prior, level_spread) =
            super::prior::population_prior(series, frequency, clock_offset)?;

        let count = synthetic_count(series, frequency, params);
        let synthetic = super::prior::draw_synthetic(
            &prior,
            series,
            frequency,
            clock_offset,
            count,
            params.seed,
        )?;
        for (start, values) in &synthetic {
            prepared.push(prepare(values, *start, anomaly, cleaning_period, None)?);
        }
        if prepared.is_empty() {
            return Err(Error::InvalidArgument(
                "nothing to fit: give at least one series, or synthetic_tenants with a frequency"
                    .into(),
            ));
        }
        Ok(TrainingSet {
            prepared,
            real: series.len(),
            synthetic: synthetic.len(),
            anomalies_cleaned,
            prior,
            level_spread,
            nonnegative,
        })
    }

    /// The series as the engine takes them.
    pub fn scaled(&self) -> Vec<ScaledSeries<'_>> {
        (self.prepared.iter())
            .map(|p| ScaledSeries {
                values: &p.values,
                start: p.start,
            })
            .collect()
    }

    /// Forecasts are floored at 0 when every training value was non-negative.
    pub fn floor(&self) -> Option<f64> {
        self.nonnegative.then_some(0.0)
    }
}

/// The tree model's parameters: `params.model` with the feature names of `builder` and,
/// unless set there, the forecast's seed.
pub(crate) fn model_params(params: &ForecastParams, builder: &FeatureBuilder) -> ModelParams {
    let mut model_params = params.model.clone();
    model_params.feature_names = builder.spec().names();
    if model_params.seed.is_none() {
        model_params.seed = Some(params.seed);
    }
    model_params
}

/// The final one-step and direct models, fitted on every row of `set`. Records the
/// training set's counts in `summary` (series, synthetic series, rows, anomalies cleaned;
/// the calibration fields are left alone) and replaces the drift reference in `metadata`
/// by the new models' (removing the old one when the new models have none).
pub(crate) fn fit_final(
    builder: &FeatureBuilder,
    set: &TrainingSet,
    rule: TargetRule,
    model_params: &ModelParams,
    direct_steps: usize,
    summary: &mut FitSummary,
    metadata: &mut ModelMetadata,
) -> Result<(Model, Vec<Model>)> {
    let models = fit_step_models(
        builder,
        &set.scaled(),
        rule,
        model_params,
        direct_steps,
        true,
    )?;
    summary.series = set.real;
    summary.synthetic_series = set.synthetic;
    summary.rows = models.rows;
    summary.anomalies_cleaned = set.anomalies_cleaned;
    match &models.reference {
        Some(reference) => reference.store_in(metadata)?,
        None => {
            metadata.extra.remove(MODEL_REFERENCE_KEY);
        }
    }
    Ok((models.one_step, models.direct))
}
