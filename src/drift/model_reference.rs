//! The drift reference a fitted model carries in its file: a bounded summary of its
//! training features and of its own predictions on them, kept in the model metadata under
//! [`MODEL_REFERENCE_KEY`] so any model file (whatever its kind) can be checked for drift
//! later, without the training data.

use ndarray::{Array2, ArrayView2, Axis};
use rand::seq::index::sample;
use rand::{rngs::StdRng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::{
    prediction_drift, DriftConfig, DriftReport, FeatureDrift, FeatureSchema, ReferenceColumn,
    ReferenceSample,
};
use crate::error::{Error, Result};
use crate::trees::format::ModelMetadata;
use crate::trees::model::Model;

/// Metadata `extra` key under which a model file stores its [`ModelReference`].
pub const MODEL_REFERENCE_KEY: &str = "drift_reference";

/// Values kept per numeric feature in a model's stored reference: a few KB of JSON per
/// feature (about 4.5 KB for the fraud scorer's). A KS test against 500 order statistics
/// and 3,000 independent current rows sees a shift of a fifth of a standard deviation
/// (D ≈ 0.08 against a critical 0.066 at 5 %), not a tenth (D ≈ 0.04).
pub const MODEL_REFERENCE_SIZE: usize = 500;

/// Training rows a model's reference is summarised from, at most: a seeded random sample
/// beyond that (order statistics of 20,000 rows sit within about 1% of the full data's,
/// and a large fit should not pay a sort of every column).
pub const MODEL_REFERENCE_ROWS: usize = 20_000;

/// Rows the reference predictions are computed on, at most.
pub const MODEL_REFERENCE_PREDICTIONS: usize = 2_000;

/// What a fitted model keeps for drift checks.
///
/// ```
/// use ndarray::Array2;
/// use tenantml::drift::{DriftConfig, FeatureSchema, ModelReference};
/// use tenantml::trees::format::ModelMetadata;
/// let train = Array2::from_shape_fn((1000, 2), |(i, j)| ((i * 7 + j * 3) % 100) as f64);
/// let predictions: Vec<f64> = (0..1000).map(|i| (i % 10) as f64 / 10.0).collect();
/// let schema = FeatureSchema::numeric(vec!["a".into(), "b".into()])?;
/// let reference = ModelReference::build(train.view(), &schema, &predictions)?;
/// let mut meta = ModelMetadata::default();
/// reference.store_in(&mut meta)?;
/// let back = ModelReference::from_metadata(&meta)?.expect("stored");
/// let shifted = train.mapv(|v| v + 40.0);
/// assert!(back.report(shifted.view(), &DriftConfig::default())?.dataset_drift);
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelReference {
    /// The training features, in the model's column order.
    pub features: ReferenceSample,
    /// The model's predictions (scores, probabilities, forecasts) on its training rows;
    /// `None` for a model that has none (e.g. a rules-only scorer).
    pub predictions: Option<ReferenceColumn>,
}

impl ModelReference {
    /// Summarises training features and predictions with [`MODEL_REFERENCE_SIZE`] values
    /// per numeric column. `predictions` may be empty (no prediction reference kept).
    pub fn build(
        data: ArrayView2<f64>,
        schema: &FeatureSchema,
        predictions: &[f64],
    ) -> Result<Self> {
        let features = ReferenceSample::with_max_size(data, schema, MODEL_REFERENCE_SIZE)?;
        let predictions = if predictions.is_empty() {
            None
        } else {
            Some(ReferenceColumn::numeric(predictions, MODEL_REFERENCE_SIZE)?)
        };
        Ok(ModelReference {
            features,
            predictions,
        })
    }

    /// The reference of a fitted tree model: its training rows `x` (at most
    /// [`MODEL_REFERENCE_ROWS`] of them, a sample drawn with `seed`) summarised under the
    /// model's feature names, and its own predictions on up to
    /// [`MODEL_REFERENCE_PREDICTIONS`] of those rows (probabilities for a classifier).
    /// Every feature is treated as numeric. Errors if a column has no finite value.
    ///
    /// ```
    /// use ndarray::Array2;
    /// use tenantml::drift::ModelReference;
    /// use tenantml::trees::model::{Model, ModelParams};
    /// let x = Array2::from_shape_fn((300, 2), |(i, j)| ((i * 13 + j * 7) % 50) as f64);
    /// let y: Vec<f64> = (0..300).map(|i| x[[i, 0]] * 2.0).collect();
    /// let params = ModelParams::from_json(r#"{"gbdt": {"rounds": 20}, "forest": {"trees": 5}}"#)?;
    /// let mut model = Model::fit(x.view(), &y, None, None, &params)?;
    /// let reference = ModelReference::of_model(&model, x.view(), 1)?;
    /// reference.store_in(model.metadata_mut())?; // saved with the model from now on
    /// assert_eq!(reference.features.features().len(), 2);
    /// assert!(reference.predictions.is_some());
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn of_model(model: &Model, x: ArrayView2<f64>, seed: u64) -> Result<Self> {
        if x.ncols() != model.n_features() {
            return Err(Error::InvalidArgument(format!(
                "the training matrix has {} columns, the model {} features",
                x.ncols(),
                model.n_features()
            )));
        }
        let rows = sampled_rows(x, MODEL_REFERENCE_ROWS, seed);
        let features = summarise_numeric(rows.view(), model.feature_names())?;
        let n = rows.nrows().min(MODEL_REFERENCE_PREDICTIONS);
        let mut predictions = vec![0.0; n];
        model.predict(rows.slice(ndarray::s![..n, ..]), &mut predictions)?;
        let predictions = ReferenceColumn::numeric(&predictions, MODEL_REFERENCE_SIZE).ok();
        Ok(ModelReference {
            features,
            predictions,
        })
    }

    /// The reference of numeric training features `x` (columns named by `names`) without
    /// predictions: at most [`MODEL_REFERENCE_ROWS`] rows (a sample drawn with `seed`),
    /// [`MODEL_REFERENCE_SIZE`] values per feature. Errors if a column has no finite value.
    pub fn of_features(x: ArrayView2<f64>, names: &[String], seed: u64) -> Result<Self> {
        let rows = sampled_rows(x, MODEL_REFERENCE_ROWS, seed);
        Ok(ModelReference {
            features: summarise_numeric(rows.view(), names)?,
            predictions: None,
        })
    }

    /// [`ModelReference::of_model`] stored in the model's own metadata (so it travels in
    /// the model file). Returns `false`, storing nothing, when the reference cannot be
    /// built because a feature has no finite training value: fitting must not fail for it.
    pub fn attach(model: &mut Model, x: ArrayView2<f64>, seed: u64) -> Result<bool> {
        match ModelReference::of_model_if_any(model, x, seed)? {
            Some(reference) => {
                reference.store_in(model.metadata_mut())?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// [`ModelReference::of_model`], or `None` when a feature has no finite training value
    /// (nothing to summarise); other errors are errors.
    pub fn of_model_if_any(model: &Model, x: ArrayView2<f64>, seed: u64) -> Result<Option<Self>> {
        match ModelReference::of_model(model, x, seed) {
            Ok(reference) => Ok(Some(reference)),
            Err(Error::InvalidArgument(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes this reference into `meta.extra[MODEL_REFERENCE_KEY]`, replacing any.
    pub fn store_in(&self, meta: &mut ModelMetadata) -> Result<()> {
        meta.extra
            .insert(MODEL_REFERENCE_KEY.to_string(), serde_json::to_value(self)?);
        Ok(())
    }

    /// The reference a model file's metadata holds: `Ok(None)` when it holds none (a
    /// file written before references were stored, or a rules-only model), an error
    /// when the stored section is malformed.
    pub fn from_metadata(meta: &ModelMetadata) -> Result<Option<Self>> {
        let Some(value) = meta.extra.get(MODEL_REFERENCE_KEY) else {
            return Ok(None);
        };
        let r: ModelReference = serde_json::from_value(value.clone())
            .map_err(|e| Error::Parse(format!("stored drift reference: {e}")))?;
        // Re-validate through the checked constructors' rules.
        let features = ReferenceSample::from_json(&r.features.to_json()?)?;
        if let Some(p) = &r.predictions {
            p.validate("prediction")?;
        }
        Ok(Some(ModelReference {
            features,
            predictions: r.predictions,
        }))
    }

    /// Drift of current feature rows (the model's column order) against the reference.
    pub fn report(&self, current: ArrayView2<f64>, config: &DriftConfig) -> Result<DriftReport> {
        self.features.report(current, config)
    }

    /// Drift of recent predictions against the stored ones; an error when the model
    /// stored no predictions.
    pub fn prediction_drift(&self, recent: &[f64], config: &DriftConfig) -> Result<FeatureDrift> {
        let reference = self.predictions.as_ref().ok_or_else(|| {
            Error::InvalidArgument("this model stored no reference predictions".into())
        })?;
        prediction_drift(reference, recent, config)
    }
}

fn summarise_numeric(rows: ArrayView2<f64>, names: &[String]) -> Result<ReferenceSample> {
    let schema = FeatureSchema::numeric(names.to_vec())?;
    ReferenceSample::with_max_size(rows, &schema, MODEL_REFERENCE_SIZE)
}

/// At most `max` rows of `x`, a random sample (seeded) in random order when there are
/// more, all of them in order otherwise. Random, not evenly spaced: a stride can alias
/// with a seasonal period of time-ordered rows.
fn sampled_rows(x: ArrayView2<f64>, max: usize, seed: u64) -> Array2<f64> {
    if x.nrows() <= max {
        return x.to_owned();
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let picked = sample(&mut rng, x.nrows(), max).into_vec();
    x.select(Axis(0), &picked)
}

impl ModelReference {
    /// As JSON (`{"features": {...}, "predictions": {...} | null}`).
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string(self)?)
    }

    /// Reads [`ModelReference::to_json`]'s output, or a bare [`ReferenceSample`] JSON
    /// (then without predictions), checking every summary as [`ReferenceSample::from_json`]
    /// does.
    ///
    /// ```
    /// use ndarray::array;
    /// use tenantml::drift::{FeatureSchema, ModelReference, ReferenceSample};
    /// let schema = FeatureSchema::numeric(vec!["x".into()])?;
    /// let sample = ReferenceSample::new(array![[1.0], [2.0], [3.0]].view(), &schema)?;
    /// let r = ModelReference::from_json(&sample.to_json()?)?;
    /// assert!(r.predictions.is_none());
    /// assert_eq!(ModelReference::from_json(&r.to_json()?)?, r);
    /// assert!(ModelReference::from_json("{\"features\": 3}").is_err());
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn from_json(json: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Error::Parse(format!("drift reference: {e}")))?;
        let bare = value
            .as_object()
            .is_some_and(|o| o.contains_key("max_per_feature"));
        if bare {
            return Ok(ModelReference {
                features: ReferenceSample::from_json(json)?,
                predictions: None,
            });
        }
        let mut meta = ModelMetadata::default();
        meta.extra.insert(MODEL_REFERENCE_KEY.to_string(), value);
        Ok(Self::from_metadata(&meta)?.expect("just stored"))
    }
}
