//! [linfa](https://docs.rs/linfa/0.8.1) integration (cargo feature `linfa`): tenantml's tree
//! models fit from a linfa `Dataset` and predict through linfa's `Predict`, so they drop
//! into linfa pipelines, cross-validation included.
//!
//! | parameters | `Fit::Object` | predicts |
//! |---|---|---|
//! | [`ModelParams`] | [`Model`] | value (regression) or calibrated probability (binary) |
//! | [`GbdtParams`] | [`Gbdt`] | the same, boosting alone |
//! | [`ForestParams`] | [`Forest`] | the same, forest alone |
//!
//! Records are `f64` matrices (any ndarray storage: owned, views); targets a single `f64`
//! column (0/1 for binary tasks). The dataset's sample weights are used when it has them
//! (linfa stores them as `f32`; they are widened to `f64`). A [`ModelParams`] fit takes the
//! dataset's feature names when the parameters name none; when both name them they must
//! agree.
//!
//! The models' own two-argument `predict` methods shadow linfa's `Predict::predict` in
//! method-call syntax, so call the trait by path: `Predict::predict(&model, &x)`. Generic
//! linfa code (cross-validation, composing models) needs nothing special.
//!
//! linfa's `PredictInplace` has no error path. Rather than panic inside a caller's pipeline,
//! a prediction whose input does not fit the model (wrong number of features, or a target
//! array of the wrong length) fills every output with `NaN`; `Model::predict` is the checked
//! call that says what was wrong.
//!
//! ```
//! use linfa::prelude::*;
//! use ndarray::{Array1, Array2};
//! use tenantml::trees::model::{Model, ModelKind, ModelParams};
//!
//! let x = Array2::from_shape_fn((400, 3), |(i, j)| ((i * (j + 5)) % 23) as f64);
//! let y: Array1<f64> = x.rows().into_iter().map(|r| r[0] * 2.0 + r[1]).collect();
//! let dataset = Dataset::new(x, y).with_feature_names(vec!["load", "users", "hour"]);
//!
//! let params = ModelParams { model: ModelKind::Forest, ..Default::default() };
//! let model: Model = params.fit(&dataset)?;
//! assert_eq!(model.feature_names(), ["load", "users", "hour"]);
//!
//! let predicted: Array1<f64> = Predict::predict(&model, dataset.records());
//! let mae = predicted.mean_absolute_error(dataset.targets())?;
//! assert!(mae < 2.0, "training MAE {mae}");
//!
//! // Wrong shape: no panic, no prediction.
//! let wrong: Array1<f64> = Predict::predict(&model, &Array2::<f64>::zeros((2, 5)));
//! assert!(wrong.iter().all(|p| p.is_nan()));
//! # Ok::<(), tenantml::Error>(())
//! ```

use std::borrow::Cow;

use linfa::dataset::{AsSingleTargets, DatasetBase};
use linfa::traits::{Fit, PredictInplace};
use ndarray::{Array1, ArrayBase, ArrayView2, Data, Ix2};

use super::forest::{Forest, ForestParams};
use super::gbdt::{Gbdt, GbdtParams};
use super::model::{Model, ModelParams};
use crate::error::{Error, Result};

/// What one fit needs from a linfa dataset, borrowed where the layout allows.
struct Parts<'a> {
    x: ArrayView2<'a, f64>,
    y: Cow<'a, [f64]>,
    weights: Option<Vec<f64>>,
}

fn parts<D, T>(dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Parts<'_>
where
    D: Data<Elem = f64>,
    T: AsSingleTargets<Elem = f64>,
{
    let targets = dataset.as_single_targets();
    // Targets sliced from a column of a larger array are strided: those are copied.
    let y = match targets.to_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(targets.to_vec()),
    };
    Parts {
        x: dataset.records().view(),
        y,
        weights: dataset
            .weights()
            .map(|w| w.iter().map(|&v| f64::from(v)).collect()),
    }
}

impl<D, T> Fit<ArrayBase<D, Ix2>, T, Error> for ModelParams
where
    D: Data<Elem = f64>,
    T: AsSingleTargets<Elem = f64>,
{
    type Object = Model;

    /// [`Model::fit`] on the dataset, with its weights and (when the parameters have none)
    /// its feature names; no validation set, so a blend or calibrated model holds out
    /// `holdout_fraction` of the rows as usual.
    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<Model> {
        let p = parts(dataset);
        let names = dataset.feature_names();
        let named;
        let params = if names.is_empty() || self.feature_names.as_slice() == names {
            self
        } else if self.feature_names.is_empty() {
            named = ModelParams {
                feature_names: names.to_vec(),
                ..self.clone()
            };
            &named
        } else {
            return Err(Error::InvalidArgument(format!(
                "the parameters name the features {:?}, the dataset {:?}",
                self.feature_names, names
            )));
        };
        Model::fit(p.x, &p.y, p.weights.as_deref(), None, params)
    }
}

impl<D, T> Fit<ArrayBase<D, Ix2>, T, Error> for GbdtParams
where
    D: Data<Elem = f64>,
    T: AsSingleTargets<Elem = f64>,
{
    type Object = Gbdt;

    /// [`Gbdt::fit`] on the dataset, with its weights and no validation set.
    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<Gbdt> {
        let p = parts(dataset);
        Gbdt::fit(p.x, &p.y, p.weights.as_deref(), None, self)
    }
}

impl<D, T> Fit<ArrayBase<D, Ix2>, T, Error> for ForestParams
where
    D: Data<Elem = f64>,
    T: AsSingleTargets<Elem = f64>,
{
    type Object = Forest;

    /// [`Forest::fit`] on the dataset, with its weights.
    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<Forest> {
        let p = parts(dataset);
        Forest::fit(p.x, &p.y, p.weights.as_deref(), self)
    }
}

/// Runs a checked batch prediction into `y`, or fills `y` with NaN when it fails (see the
/// module docs: linfa gives no way to report the error).
fn predict_or_nan(
    x: ArrayView2<f64>,
    y: &mut Array1<f64>,
    predict: impl FnOnce(ArrayView2<f64>, &mut [f64]) -> Result<()>,
) {
    let ok = match y.as_slice_mut() {
        Some(out) => predict(x, out).is_ok(),
        None => {
            // An owned array with reversed strides; predict into a buffer and copy.
            let mut out = vec![0.0; y.len()];
            let ok = predict(x, &mut out).is_ok();
            y.iter_mut().zip(out).for_each(|(a, b)| *a = b);
            ok
        }
    };
    if !ok {
        y.fill(f64::NAN);
    }
}

macro_rules! predict_inplace {
    ($model:ty) => {
        impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<f64>> for $model {
            /// Predictions for every row; all `NaN` when `x` has the wrong number of
            /// features or `y` the wrong length.
            fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<f64>) {
                predict_or_nan(x.view(), y, |x, out| self.predict(x, out));
            }

            fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<f64> {
                Array1::zeros(x.nrows())
            }
        }
    };
}

predict_inplace!(Model);
predict_inplace!(Gbdt);
predict_inplace!(Forest);
