//! Is a tenant's recent usage still like the data the forecaster was trained on? The
//! predictor's file carries a summary of its training features (scaled units, see
//! [`ModelReference`]); this compares the same features computed over a recent history.

use ndarray::{Array2, ArrayView2, Axis};

use super::predictor::UsagePredictor;
use super::prepare::{cleaning_period, prepare};
use crate::data::series::Series;
use crate::drift::{DriftConfig, DriftReport, ModelReference};
use crate::error::{Error, Result};

impl UsagePredictor {
    /// The drift reference stored when this predictor was fitted: `None` for a file
    /// written before references were stored, or when a training feature had no finite
    /// value (e.g. a weekly lag on series shorter than a week).
    pub fn drift_reference(&self) -> Result<Option<ModelReference>> {
        ModelReference::from_metadata(self.metadata())
    }

    /// Feature drift of `recent` (the predictor's frequency) against the training
    /// features: the same features, on the same per-series scale and anomaly cleaning as a
    /// forecast uses, one row per period (rows whose lags reach before `recent` have
    /// missing values, which the report drops and counts). Calendar features are left
    /// out: they follow the clock, so they would "drift" whenever time has moved on.
    /// Only periods with every feature present are compared, on both sides (the training
    /// reference was built the same way): the first `lookback` periods of `recent` warm
    /// the windows up, as they would have in training, so pass that much more history
    /// than the span you want checked. KS p-values use each feature's effective sample
    /// size ([`DriftReport::for_time_ordered`]): consecutive hours are not independent
    /// draws, and without it a tenant's own training data would be flagged.
    ///
    /// ```
    /// use tenantml::data::series::{Series, SeriesOptions};
    /// use tenantml::drift::DriftConfig;
    /// use tenantml::forecast::{ForecastParams, UsagePredictor};
    /// // A daily wave with `noise` (0..1) of scrambled multiplicative noise.
    /// let hourly = |days: i64, level: f64, noise: f64| -> tenantml::Result<Series> {
    ///     let ts: Vec<i64> = (0..24 * days).map(|h| 1_700_000_000 + h * 3600).collect();
    ///     let v: Vec<f64> = (0..24 * days)
    ///         .map(|h| {
    ///             let scrambled = ((h * 7919) % 101) as f64 / 100.0 - 0.5;
    ///             level * (1.0 + 0.4 * ((h % 24) as f64 / 24.0 * 6.283).sin()) * (1.0 + noise * scrambled)
    ///         })
    ///         .collect();
    ///     Series::new(&ts, &v, &SeriesOptions::default())
    /// };
    /// let mut params = ForecastParams::default();
    /// params.model.gbdt.rounds = 30;
    /// params.model.forest.trees = 10;
    /// let predictor = UsagePredictor::fit(&[hourly(28, 50.0, 0.1)?], &params)?;
    /// let config = DriftConfig::default();
    /// // Same shape at ten times the level: scaling absorbs it. Erratic usage does not.
    /// assert!(!predictor.feature_drift(&hourly(21, 500.0, 0.1)?, &config)?.dataset_drift);
    /// assert!(predictor.feature_drift(&hourly(21, 50.0, 1.6)?, &config)?.dataset_drift);
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn feature_drift(&self, recent: &Series, config: &DriftConfig) -> Result<DriftReport> {
        if recent.frequency() != self.frequency() {
            return Err(Error::InvalidArgument(format!(
                "the series has frequency {} s but the predictor was fitted on {} s",
                recent.frequency(),
                self.frequency()
            )));
        }
        self.feature_drift_values(recent.start(), recent.values(), config)
    }

    /// [`UsagePredictor::feature_drift`] of a history on the predictor's grid:
    /// `values[i]` is the period at `start + i * frequency` (NaN = missing).
    pub fn feature_drift_values(
        &self,
        start: i64,
        values: &[f64],
        config: &DriftConfig,
    ) -> Result<DriftReport> {
        let reference = self.drift_reference()?.ok_or_else(|| {
            Error::InvalidArgument("this predictor stores no drift reference".into())
        })?;
        if values.is_empty() {
            return Err(Error::InvalidArgument(
                "feature drift of an empty history".into(),
            ));
        }
        let prepared = prepare(
            values,
            start,
            self.stored.params.anomaly.as_ref(),
            cleaning_period(&self.stored.periods),
            None,
        )?;
        let matrix = self.builder.matrix(&prepared.values, start)?;
        let rows = ArrayView2::from_shape((values.len(), self.builder.len()), &matrix)
            .map_err(|e| Error::InvalidArgument(format!("feature matrix: {e}")))?;
        // The reference covers the data features (not the calendar): its columns by name.
        let names = self.builder.spec().names();
        let columns = reference
            .features
            .features()
            .iter()
            .map(|f| {
                names.iter().position(|n| *n == f.name).ok_or_else(|| {
                    Error::BadModelFile(format!(
                        "the drift reference names feature '{}', which this predictor lacks",
                        f.name
                    ))
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        let current = complete_rows(rows.select(Axis(1), &columns).view());
        if current.nrows() == 0 {
            return Err(Error::InvalidArgument(format!(
                "no period of the {} given has every feature (the windows and lags look back \
                 up to {} periods): pass a longer history",
                values.len(),
                self.builder.spec().lookback()
            )));
        }
        reference
            .report(current.view(), config)?
            .for_time_ordered(current.view())
    }
}

/// The rows of `x` with every value finite: periods whose lags and windows are all filled,
/// so that a short recent history and long training series are compared alike.
pub(crate) fn complete_rows(x: ArrayView2<f64>) -> Array2<f64> {
    let keep: Vec<usize> = (0..x.nrows())
        .filter(|&i| x.row(i).iter().all(|v| v.is_finite()))
        .collect();
    x.select(Axis(0), &keep)
}
