//! The estimator applications fit and ship: a task (regression or binary), an ensemble
//! (boosting, forest, or a blend of both with weights learned on held-out data), optional
//! probability calibration, feature names, explanations and the model file.
//!
//! ```
//! use ndarray::Array2;
//! use tenantml::trees::model::{Model, ModelParams};
//! let x = Array2::from_shape_fn((400, 3), |(i, j)| ((i * (j + 5)) % 23) as f64);
//! let y: Vec<f64> = x.rows().into_iter().map(|r| r[0] * 2.0 + r[1]).collect();
//! let params: ModelParams = serde_json::from_str(
//!     r#"{"model": "blend", "gbdt": {"rounds": 60, "min_samples_leaf": 3}, "forest": {"trees": 20}}"#,
//! )?;
//! let model = Model::fit(x.view(), &y, None, None, &params)?;
//! // Row 2 of the data: 2 * 10 + 12 = 32.
//! let p = model.predict_row(&[10.0, 12.0, 14.0])?;
//! assert!((p - 32.0).abs() < 4.0, "{p}");
//! let bytes = model.to_bytes()?;
//! assert_eq!(Model::from_bytes(&bytes)?.predict_row(&[10.0, 12.0, 14.0])?, p);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use ndarray::{Array2, ArrayView2, Axis};
use rand::seq::index::sample;
use rand::{rngs::StdRng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::calibration::Calibrator;
use super::compiled::{check_batch, check_row};
use super::explain::{top_reasons, Reason, ReasonDirection, TreeExplainer};
use super::forest::{Forest, ForestParams, ForestTask};
use super::format::{self, ModelMetadata, Validate};
use super::gbdt::{Gbdt, GbdtParams};
use super::metrics;
use super::objective::{sigmoid, Objective};
use crate::error::{Error, Result};

/// The envelope kind tag of tree models.
pub const MODEL_KIND: &str = "tree-model";

/// What the model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// A number (usage, amount).
    #[default]
    Regression,
    /// The probability that a 0/1 target is 1 (fraud, churn).
    Binary,
}

/// Which ensemble answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Gradient boosting.
    #[default]
    Gbdt,
    /// Random forest.
    Forest,
    /// Boosting and forest averaged with a weight learned on held-out data.
    Blend,
}

/// How binary probabilities are calibrated on held-out data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Calibration {
    /// Probabilities as the ensemble gives them.
    #[default]
    None,
    /// A logistic curve on the log-odds (smooth; suits small held-out sets).
    Platt,
    /// A monotone step curve (flexible; wants a few thousand held-out rows).
    Isotonic,
}

/// Everything [`Model::fit`] needs to know; every field has a default, so `{}` is valid JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelParams {
    /// Regression or binary.
    pub task: Task,
    /// Boosting, forest or blend.
    pub model: ModelKind,
    /// Boosting settings (`objective` defaults to squared error for regression and is
    /// log-loss for binary).
    pub gbdt: GbdtParams,
    /// Forest settings (`task` follows the model's task).
    pub forest: ForestParams,
    /// Calibration of binary probabilities.
    pub calibration: Calibration,
    /// Share of the rows held out to learn blend weights and calibration when no validation
    /// set is given, in (0, 0.5].
    pub holdout_fraction: f64,
    /// Column names, in order; empty means `f0`, `f1`, ...
    pub feature_names: Vec<String>,
    /// When given, the seed of every random choice (overrides the ensembles' own seeds).
    pub seed: Option<u64>,
}

impl Default for ModelParams {
    fn default() -> Self {
        ModelParams {
            task: Task::Regression,
            model: ModelKind::Gbdt,
            gbdt: GbdtParams::default(),
            forest: ForestParams::default(),
            calibration: Calibration::None,
            holdout_fraction: 0.2,
            feature_names: Vec::new(),
            seed: None,
        }
    }
}

impl ModelParams {
    /// Parses JSON parameters (unknown fields are an error, naming the field).
    pub fn from_json(json: &str) -> Result<ModelParams> {
        serde_json::from_str(json).map_err(|e| Error::Parse(format!("model parameters: {e}")))
    }

    /// These parameters with the fields of a JSON object laid over them: each key given
    /// replaces its value, except `gbdt` and `forest`, whose keys replace one by one. This is
    /// how a predictor's `"model"` settings apply to its own defaults, so
    /// `{"gbdt": {"rounds": 50}}` changes the rounds and keeps, say, a churn model's binary
    /// task and calibration. Unknown fields are an error, naming the field.
    ///
    /// ```
    /// use tenantml::trees::model::{Calibration, ModelParams, Task};
    /// let mut base = ModelParams::default();
    /// base.task = Task::Binary;
    /// base.calibration = Calibration::Platt;
    /// base.gbdt.learning_rate = 0.03;
    /// let p = base.overlay(&serde_json::json!({"gbdt": {"rounds": 50}}))?;
    /// assert_eq!((p.task, p.calibration, p.gbdt.rounds, p.gbdt.learning_rate),
    ///            (Task::Binary, Calibration::Platt, 50, 0.03));
    /// assert!(base.overlay(&serde_json::json!({"gbdt": {"round": 50}})).is_err());
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn overlay(&self, value: &serde_json::Value) -> Result<ModelParams> {
        let serde_json::Value::Object(given) = value else {
            return Err(Error::Parse(format!(
                "model parameters must be a JSON object, got {value}"
            )));
        };
        let mut merged = serde_json::to_value(self)?;
        let target = merged
            .as_object_mut()
            .expect("parameters serialise to an object");
        for (key, v) in given {
            match (key.as_str(), target.get_mut(key), v) {
                (
                    "gbdt" | "forest",
                    Some(serde_json::Value::Object(inner)),
                    serde_json::Value::Object(over),
                ) => {
                    inner.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                _ => {
                    target.insert(key.clone(), v.clone());
                }
            }
        }
        serde_json::from_value(merged).map_err(|e| Error::Parse(format!("model parameters: {e}")))
    }

    /// The members' parameters made consistent with the task and seed.
    fn resolved(&self) -> Result<(GbdtParams, ForestParams)> {
        if !(self.holdout_fraction.is_finite()
            && self.holdout_fraction > 0.0
            && self.holdout_fraction <= 0.5)
        {
            return Err(Error::InvalidArgument(format!(
                "holdout_fraction must be in (0, 0.5], got {}",
                self.holdout_fraction
            )));
        }
        if self.task == Task::Regression && self.calibration != Calibration::None {
            return Err(Error::InvalidArgument(
                "calibration applies to binary models only (task is regression)".into(),
            ));
        }
        let mut gbdt = self.gbdt.clone();
        match (self.task, gbdt.objective) {
            (Task::Binary, Objective::SquaredError | Objective::LogLoss) => {
                gbdt.objective = Objective::LogLoss
            }
            (Task::Binary, other) => {
                return Err(Error::InvalidArgument(format!(
                    "a binary model boosts log_loss; objective {} is for regression",
                    other.name()
                )))
            }
            (Task::Regression, Objective::LogLoss) => {
                return Err(Error::InvalidArgument(
                    "objective log_loss needs task \"binary\"".into(),
                ))
            }
            (Task::Regression, _) => {}
        }
        let mut forest = self.forest.clone();
        forest.task = match self.task {
            Task::Regression => ForestTask::Regression,
            Task::Binary => ForestTask::Binary,
        };
        if let Some(seed) = self.seed {
            gbdt.seed = seed;
            forest.seed = seed;
        }
        Ok((gbdt, forest))
    }
}

/// Parses a predictor's JSON settings whose `"model"` object is laid over the predictor's own
/// default model parameters ([`ModelParams::overlay`]) rather than over the tree engine's.
/// `what` names the settings in errors.
pub(crate) fn parse_with_model<T: serde::de::DeserializeOwned>(
    json: &str,
    what: &str,
    model: impl FnOnce(&mut T) -> &mut ModelParams,
) -> Result<T> {
    let parse = |e: serde_json::Error| Error::Parse(format!("{what}: {e}"));
    let mut value: serde_json::Value = serde_json::from_str(json).map_err(parse)?;
    let given = value.as_object_mut().and_then(|o| o.remove("model"));
    let mut out: T = serde_json::from_value(value).map_err(parse)?;
    if let Some(given) = given {
        let m = model(&mut out);
        *m = m.overlay(&given)?;
    }
    Ok(out)
}

/// Contributions of each feature to one prediction: `expected_value + sum(contributions)`
/// is the explained score.
///
/// The score is the prediction itself for regression; for binary models it is the
/// log-odds of the (uncalibrated) boosting probability, the probability of a forest, and
/// for a blend the probability, with the boosting part linearised at the row (so a blend's
/// binary contributions rank features faithfully but add up only approximately).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The average score over the training data (per the trees' covers).
    pub expected_value: f64,
    /// One value per feature, in column order.
    pub contributions: Vec<f64>,
}

/// How far a fit has come: `done` of `total` boosting rounds (`stage` "gbdt") or forest
/// trees ("forest").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FitProgress {
    /// "gbdt" or "forest".
    pub stage: &'static str,
    /// Steps finished.
    pub done: usize,
    /// Steps planned (boosting may stop early).
    pub total: usize,
}

/// A fitted model.
#[derive(Debug)]
pub struct Model {
    stored: StoredModel,
    metadata: ModelMetadata,
    explainers: OnceLock<Vec<TreeExplainer>>,
}

/// The fitted content of a model.
#[derive(Debug, Clone, PartialEq)]
struct StoredModel {
    task: Task,
    kind: ModelKind,
    feature_names: Vec<String>,
    gbdt: Option<Gbdt>,
    forest: Option<Forest>,
    /// Weight of the boosting member (1 for boosting alone, 0 for a forest alone).
    gbdt_weight: f64,
    calibrator: Option<Calibrator>,
}

/// The payload of a model file: the model with the forest in its stored form.
#[derive(Serialize, Deserialize)]
struct ModelFile {
    task: Task,
    kind: ModelKind,
    feature_names: Vec<String>,
    gbdt: Option<Gbdt>,
    forest: Option<ForestFile>,
    gbdt_weight: f64,
    calibrator: Option<Calibrator>,
}

/// A forest without its compiled trees (rebuilt, after checks, by `Forest::from_parts`).
#[derive(Serialize, Deserialize)]
struct ForestFile {
    #[serde(with = "format::json_field")]
    params: ForestParams,
    trees: Vec<super::tree::Tree>,
    mappers: Vec<super::binning::BinMapper>,
    importance_gain: Vec<f64>,
    importance_splits: Vec<u32>,
    oob_score: Option<f64>,
}

impl From<&StoredModel> for ModelFile {
    fn from(m: &StoredModel) -> Self {
        ModelFile {
            task: m.task,
            kind: m.kind,
            feature_names: m.feature_names.clone(),
            gbdt: m.gbdt.clone(),
            forest: m.forest.as_ref().map(|f| ForestFile {
                params: f.params().clone(),
                trees: f.trees().to_vec(),
                mappers: f.mappers().to_vec(),
                importance_gain: f.importance_gain().to_vec(),
                importance_splits: f.importance_splits().to_vec(),
                oob_score: f.oob_score(),
            }),
            gbdt_weight: m.gbdt_weight,
            calibrator: m.calibrator.clone(),
        }
    }
}

impl Clone for Model {
    fn clone(&self) -> Self {
        Model {
            stored: self.stored.clone(),
            metadata: self.metadata.clone(),
            explainers: OnceLock::new(),
        }
    }
}

impl PartialEq for Model {
    fn eq(&self, other: &Self) -> bool {
        self.stored == other.stored
    }
}

fn default_names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("f{i}")).collect()
}

fn check_names(names: &[String], n_features: usize) -> Result<()> {
    if names.len() != n_features {
        return Err(Error::InvalidArgument(format!(
            "{} feature names for {n_features} features",
            names.len()
        )));
    }
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(Error::InvalidArgument(format!("feature name {i} is empty")));
        }
        if names[..i].contains(name) {
            return Err(Error::InvalidArgument(format!(
                "feature name '{name}' appears twice"
            )));
        }
    }
    Ok(())
}

fn take_rows(x: &ArrayView2<f64>, rows: &[usize]) -> Array2<f64> {
    x.select(Axis(0), rows)
}

#[inline]
fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).ln()
}

/// The boosting weight minimising the held-out loss of `w * a + (1 - w) * b`.
fn learn_blend_weight(task: Task, a: &[f64], b: &[f64], y: &[f64]) -> f64 {
    match task {
        // Squared error is quadratic in w: the minimiser in closed form, clipped to [0, 1].
        Task::Regression => {
            let (mut num, mut den) = (0.0, 0.0);
            for ((&pa, &pb), &t) in a.iter().zip(b).zip(y) {
                num += (pa - pb) * (t - pb);
                den += (pa - pb) * (pa - pb);
            }
            if den > 0.0 {
                (num / den).clamp(0.0, 1.0)
            } else {
                0.5
            }
        }
        // Log-loss of a mixture of probabilities is convex in w: golden-section search.
        Task::Binary => {
            let loss = |w: f64| {
                let p: Vec<f64> = a
                    .iter()
                    .zip(b)
                    .map(|(pa, pb)| w * pa + (1.0 - w) * pb)
                    .collect();
                metrics::log_loss(y, &p)
            };
            let ratio = (5f64.sqrt() - 1.0) / 2.0;
            let (mut lo, mut hi) = (0.0, 1.0);
            for _ in 0..40 {
                let m1 = hi - ratio * (hi - lo);
                let m2 = lo + ratio * (hi - lo);
                if loss(m1) <= loss(m2) {
                    hi = m2;
                } else {
                    lo = m1;
                }
            }
            (lo + hi) / 2.0
        }
    }
}

/// Rows the ensembles are fitted on (x, y, weights), and the held-out rows, if any.
type FitSplit<'a> = (
    ArrayView2<'a, f64>,
    &'a [f64],
    Option<&'a [f64]>,
    Option<(ArrayView2<'a, f64>, &'a [f64])>,
);

impl Model {
    /// Fits on rows `x` (NaN = missing) and targets `y` (0/1 for binary), with optional
    /// sample weights and validation set.
    ///
    /// The validation set serves boosting's early stopping (when enabled), the blend weight
    /// and the calibration. Without one, a blend or a calibrated model holds out
    /// `holdout_fraction` of the rows (seeded) for those, and fits the ensembles on the rest.
    pub fn fit(
        x: ArrayView2<f64>,
        y: &[f64],
        weights: Option<&[f64]>,
        valid: Option<(ArrayView2<f64>, &[f64])>,
        params: &ModelParams,
    ) -> Result<Model> {
        Model::fit_with_progress(x, y, weights, valid, params, &|_| {})
    }

    /// [`Model::fit`], reporting progress (boosting rounds, then forest trees) for progress
    /// bars.
    pub fn fit_with_progress(
        x: ArrayView2<f64>,
        y: &[f64],
        weights: Option<&[f64]>,
        valid: Option<(ArrayView2<f64>, &[f64])>,
        params: &ModelParams,
        progress: &(dyn Fn(FitProgress) + Sync),
    ) -> Result<Model> {
        let (gbdt_params, forest_params) = params.resolved()?;
        let names = if params.feature_names.is_empty() {
            default_names(x.ncols())
        } else {
            params.feature_names.clone()
        };
        check_names(&names, x.ncols())?;
        if x.nrows() != y.len() {
            return Err(Error::InvalidArgument(format!(
                "training data has {} rows but {} targets",
                x.nrows(),
                y.len()
            )));
        }
        let needs_held_out =
            params.model == ModelKind::Blend || params.calibration != Calibration::None;
        let owned_split;
        let (fit_x, fit_y, fit_w, held_out): FitSplit = match (&valid, needs_held_out) {
            (None, true) => {
                let n = y.len();
                if n < 10 {
                    return Err(Error::InvalidArgument(format!(
                        "a blend or calibrated model without a validation set needs at least 10 rows, got {n}"
                    )));
                }
                let k = ((n as f64 * params.holdout_fraction).round() as usize).clamp(1, n - 1);
                let mut rng = StdRng::seed_from_u64(gbdt_params.seed ^ 0x5eed_b1e7);
                let mut is_held = vec![false; n];
                for i in sample(&mut rng, n, k) {
                    is_held[i] = true;
                }
                let fit_rows: Vec<usize> = (0..n).filter(|&i| !is_held[i]).collect();
                let held_rows: Vec<usize> = (0..n).filter(|&i| is_held[i]).collect();
                owned_split = (
                    take_rows(&x, &fit_rows),
                    fit_rows.iter().map(|&i| y[i]).collect::<Vec<f64>>(),
                    weights.map(|w| fit_rows.iter().map(|&i| w[i]).collect::<Vec<f64>>()),
                    take_rows(&x, &held_rows),
                    held_rows.iter().map(|&i| y[i]).collect::<Vec<f64>>(),
                );
                (
                    owned_split.0.view(),
                    &owned_split.1,
                    owned_split.2.as_deref(),
                    Some((owned_split.3.view(), &owned_split.4)),
                )
            }
            _ => (
                x.view(),
                y,
                weights,
                valid.as_ref().map(|(vx, vy)| (vx.view(), *vy)),
            ),
        };

        let gbdt = match params.model {
            ModelKind::Gbdt | ModelKind::Blend => Some(Gbdt::fit_with_progress(
                fit_x,
                fit_y,
                fit_w,
                // Boosting sees a validation set only when the caller gave one: the
                // internal holdout is kept clean for the blend weight and calibration.
                valid.as_ref().map(|(vx, vy)| (vx.view(), *vy)),
                &gbdt_params,
                &|done, total| {
                    progress(FitProgress {
                        stage: "gbdt",
                        done,
                        total,
                    })
                },
            )?),
            ModelKind::Forest => None,
        };
        let forest = match params.model {
            ModelKind::Forest | ModelKind::Blend => Some(Forest::fit_with_progress(
                fit_x,
                fit_y,
                fit_w,
                &forest_params,
                &|done, total| {
                    progress(FitProgress {
                        stage: "forest",
                        done,
                        total,
                    })
                },
            )?),
            ModelKind::Gbdt => None,
        };
        let mut stored = StoredModel {
            task: params.task,
            kind: params.model,
            feature_names: names,
            gbdt,
            forest,
            gbdt_weight: match params.model {
                ModelKind::Gbdt => 1.0,
                ModelKind::Forest => 0.0,
                ModelKind::Blend => 0.5,
            },
            calibrator: None,
        };
        let mut metrics_out = BTreeMap::new();
        if let Some((hx, hy)) = held_out {
            if params.task == Task::Binary {
                params
                    .gbdt
                    .objective
                    .check_targets(hy)
                    .or_else(|_| Objective::LogLoss.check_targets(hy))?;
            }
            let mut member_preds = Vec::new();
            for member in [
                stored.gbdt.as_ref().map(Member::Gbdt),
                stored.forest.as_ref().map(Member::Forest),
            ]
            .into_iter()
            .flatten()
            {
                let mut p = vec![0.0; hy.len()];
                member.predict(hx.view(), &mut p)?;
                member_preds.push(p);
            }
            if params.model == ModelKind::Blend {
                stored.gbdt_weight =
                    learn_blend_weight(params.task, &member_preds[0], &member_preds[1], hy);
                metrics_out.insert("blend_gbdt_weight".to_string(), stored.gbdt_weight);
            }
            let mut p: Vec<f64> = if member_preds.len() == 2 {
                let w = stored.gbdt_weight;
                member_preds[0]
                    .iter()
                    .zip(&member_preds[1])
                    .map(|(a, b)| w * a + (1.0 - w) * b)
                    .collect()
            } else {
                member_preds.pop().expect("one member")
            };
            if params.task == Task::Binary {
                let scores: Vec<f64> = p.iter().map(|&q| logit(q)).collect();
                stored.calibrator = match params.calibration {
                    Calibration::None => None,
                    Calibration::Platt => Some(Calibrator::fit_platt(&scores, hy, None)?),
                    Calibration::Isotonic => Some(Calibrator::fit_isotonic(&scores, hy, None)?),
                };
                if let Some(c) = &stored.calibrator {
                    p = scores.iter().map(|&s| c.apply(s)).collect();
                }
                for (name, v) in [
                    ("valid_auc", metrics::roc_auc(hy, &p)),
                    ("valid_logloss", metrics::log_loss(hy, &p)),
                ] {
                    if v.is_finite() {
                        metrics_out.insert(name.to_string(), v);
                    }
                }
            } else {
                metrics_out.insert("valid_mae".to_string(), metrics::mae(hy, &p));
                metrics_out.insert("valid_rmse".to_string(), metrics::rmse(hy, &p));
            }
        }
        let metadata = ModelMetadata {
            feature_names: stored.feature_names.clone(),
            training_metrics: metrics_out,
            ..Default::default()
        };
        Ok(Model {
            stored,
            metadata,
            explainers: OnceLock::new(),
        })
    }

    fn members(&self) -> impl Iterator<Item = (Member<'_>, f64)> {
        let w = self.stored.gbdt_weight;
        self.stored
            .gbdt
            .as_ref()
            .map(|g| (Member::Gbdt(g), w))
            .into_iter()
            .chain(
                self.stored
                    .forest
                    .as_ref()
                    .map(|f| (Member::Forest(f), 1.0 - w)),
            )
    }

    /// One prediction: the value (regression) or the calibrated probability (binary).
    pub fn predict_row(&self, row: &[f64]) -> Result<f64> {
        check_row(row.len(), self.n_features())?;
        let mut p = 0.0;
        for (member, w) in self.members() {
            p += w * member.predict_row(row)?;
        }
        Ok(self.calibrate(p))
    }

    #[inline]
    fn calibrate(&self, p: f64) -> f64 {
        match &self.stored.calibrator {
            Some(c) => c.apply(logit(p)),
            None => p,
        }
    }

    /// Predictions for every row of `x` (row-major or not), written into `out`.
    pub fn predict(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        check_batch(x.nrows(), x.ncols(), out.len(), self.n_features())?;
        match (&self.stored.gbdt, &self.stored.forest) {
            (Some(g), Some(f)) => {
                let w = self.stored.gbdt_weight;
                g.predict(x.view(), out)?;
                let mut other = vec![0.0; out.len()];
                f.predict(x, &mut other)?;
                for (o, b) in out.iter_mut().zip(&other) {
                    *o = w * *o + (1.0 - w) * b;
                }
            }
            (Some(g), None) => g.predict(x, out)?,
            (None, Some(f)) => f.predict(x, out)?,
            (None, None) => unreachable!("a model has at least one member"),
        }
        if self.stored.calibrator.is_some() {
            for o in out.iter_mut() {
                *o = self.calibrate(*o);
            }
        }
        Ok(())
    }

    /// Feature contributions for one row (see [`Explanation`] for their units).
    pub fn explain(&self, row: &[f64]) -> Result<Explanation> {
        check_row(row.len(), self.n_features())?;
        let explainers = match self.explainers.get() {
            Some(e) => e,
            None => {
                let built = self.build_explainers()?;
                self.explainers.get_or_init(|| built)
            }
        };
        let n = self.n_features();
        let mut expected_value = 0.0;
        let mut contributions = vec![0.0; n];
        let mut scratch = vec![0.0; n];
        let blend = explainers.len() == 2;
        for ((member, w), explainer) in self.members().zip(explainers) {
            let e = explainer.contributions(row, &mut scratch)?;
            // A binary blend mixes probabilities: the boosting member's log-odds
            // contributions are carried to probability units by the logistic's slope.
            let scale = match (blend, self.stored.task, member) {
                (true, Task::Binary, Member::Gbdt(g)) => {
                    let p = g.predict_row(row)?;
                    expected_value += w * sigmoid(e);
                    w * p * (1.0 - p)
                }
                _ => {
                    expected_value += w * e;
                    w
                }
            };
            for (c, s) in contributions.iter_mut().zip(&scratch) {
                *c += scale * s;
            }
        }
        Ok(Explanation {
            expected_value,
            contributions,
        })
    }

    /// Explainers are built on first use, so loading a model stays cheap.
    fn build_explainers(&self) -> Result<Vec<TreeExplainer>> {
        self.members()
            .map(|(m, _)| match m {
                Member::Gbdt(g) => TreeExplainer::new(g.trees(), g.base_score(), g.n_features()),
                Member::Forest(f) => {
                    // The forest averages its trees: explain trees scaled by 1/n, whose sum
                    // is that average.
                    let scale = 1.0 / f.trees().len() as f64;
                    let trees: Vec<_> = f
                        .trees()
                        .iter()
                        .map(|t| {
                            let mut t = t.clone();
                            t.scale(scale);
                            t
                        })
                        .collect();
                    TreeExplainer::new(&trees, 0.0, f.n_features())
                }
            })
            .collect()
    }

    /// The `k` features that push this row's prediction most in `direction`, with names.
    pub fn reasons(
        &self,
        row: &[f64],
        k: usize,
        direction: ReasonDirection,
    ) -> Result<Vec<Reason>> {
        let e = self.explain(row)?;
        top_reasons(
            &e.contributions,
            row,
            &self.stored.feature_names,
            k,
            direction,
        )
    }

    /// Importance per feature: each member's split gain normalised to sum to 1, weighted by
    /// the member's blend weight.
    pub fn importance_gain(&self) -> Vec<f64> {
        let mut total = vec![0.0; self.n_features()];
        for (member, w) in self.members() {
            let gains = member.importance_gain();
            let sum: f64 = gains.iter().sum();
            if sum > 0.0 {
                for (t, g) in total.iter_mut().zip(gains) {
                    *t += w * g / sum;
                }
            }
        }
        total
    }

    /// Number of splits per feature, over every tree of every member.
    pub fn importance_splits(&self) -> Vec<u64> {
        let mut total = vec![0u64; self.n_features()];
        for (member, _) in self.members() {
            for (t, s) in total.iter_mut().zip(member.importance_splits()) {
                *t += u64::from(*s);
            }
        }
        total
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.stored.feature_names.len()
    }

    /// Feature names, in column order.
    pub fn feature_names(&self) -> &[String] {
        &self.stored.feature_names
    }

    /// Regression or binary.
    pub fn task(&self) -> Task {
        self.stored.task
    }

    /// Boosting, forest or blend.
    pub fn kind(&self) -> ModelKind {
        self.stored.kind
    }

    /// The boosting member's weight in the average (1 for boosting alone, 0 for a forest).
    pub fn gbdt_weight(&self) -> f64 {
        self.stored.gbdt_weight
    }

    /// The boosting member, if any.
    pub fn gbdt(&self) -> Option<&Gbdt> {
        self.stored.gbdt.as_ref()
    }

    /// The forest member, if any.
    pub fn forest(&self) -> Option<&Forest> {
        self.stored.forest.as_ref()
    }

    /// The calibrator of a calibrated binary model.
    pub fn calibrator(&self) -> Option<&Calibrator> {
        self.stored.calibrator.as_ref()
    }

    /// Name, version, metrics and other descriptive data saved with the model.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// Mutable metadata (set a name and version before saving).
    pub fn metadata_mut(&mut self) -> &mut ModelMetadata {
        &mut self.metadata
    }

    /// The model file's bytes (see [`format`](mod@format)).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut metadata = self.metadata.clone();
        metadata.feature_names = self.stored.feature_names.clone();
        format::encode(MODEL_KIND, &ModelFile::from(&self.stored), &metadata)
    }

    /// Reads a model from file bytes; anything but an intact tree model of a supported
    /// version is [`Error::BadModelFile`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        let (file, metadata): (ModelFile, ModelMetadata) = format::decode(MODEL_KIND, bytes)?;
        let forest = match file.forest {
            Some(f) => Some(Forest::from_parts(
                f.params,
                f.trees,
                f.mappers,
                f.importance_gain,
                f.importance_splits,
                f.oob_score,
            )?),
            None => None,
        };
        let stored = StoredModel {
            task: file.task,
            kind: file.kind,
            feature_names: file.feature_names,
            gbdt: file.gbdt,
            forest,
            gbdt_weight: file.gbdt_weight,
            calibrator: file.calibrator,
        };
        stored.validate()?;
        Ok(Model {
            stored,
            metadata,
            explainers: OnceLock::new(),
        })
    }

    /// Writes the model file atomically (temporary file, fsync, rename).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        format::save(path, &self.to_bytes()?)
    }

    /// Reads a model file.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        Model::from_bytes(&format::load(path)?)
    }
}

impl Validate for ModelFile {
    /// The members check themselves while decoding; what is left is how they fit together,
    /// checked once the forest is rebuilt (see `StoredModel::validate`).
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

impl StoredModel {
    fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::BadModelFile(m));
        let n = self.feature_names.len();
        if n == 0 {
            return bad("the model has no features".into());
        }
        check_names(&self.feature_names, n).map_err(|e| Error::BadModelFile(e.to_string()))?;
        let members = (self.gbdt.is_some(), self.forest.is_some());
        let expected = match self.kind {
            ModelKind::Gbdt => (true, false),
            ModelKind::Forest => (false, true),
            ModelKind::Blend => (true, true),
        };
        if members != expected {
            return bad(format!("a {:?} model with the wrong members", self.kind));
        }
        if !(0.0..=1.0).contains(&self.gbdt_weight) {
            return bad(format!("blend weight {} outside [0, 1]", self.gbdt_weight));
        }
        if let Some(g) = &self.gbdt {
            if g.n_features() != n {
                return bad(format!(
                    "boosting member has {} features, names {n}",
                    g.n_features()
                ));
            }
            let binary = g.params().objective == Objective::LogLoss;
            if binary != (self.task == Task::Binary) {
                return bad("boosting objective does not match the task".into());
            }
        }
        if let Some(f) = &self.forest {
            if f.n_features() != n {
                return bad(format!(
                    "forest member has {} features, names {n}",
                    f.n_features()
                ));
            }
            let binary = f.params().task == ForestTask::Binary;
            if binary != (self.task == Task::Binary) {
                return bad("forest task does not match the model's".into());
            }
        }
        if let Some(c) = &self.calibrator {
            if self.task != Task::Binary {
                return bad("a calibrator on a regression model".into());
            }
            c.validate()
                .map_err(|e| Error::BadModelFile(format!("calibrator: {e}")))?;
        }
        Ok(())
    }
}

/// One ensemble of a model, borrowed.
#[derive(Clone, Copy)]
enum Member<'a> {
    Gbdt(&'a Gbdt),
    Forest(&'a Forest),
}

impl Member<'_> {
    fn predict_row(&self, row: &[f64]) -> Result<f64> {
        match self {
            Member::Gbdt(g) => g.predict_row(row),
            Member::Forest(f) => f.predict_row(row),
        }
    }

    fn predict(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        match self {
            Member::Gbdt(g) => g.predict(x, out),
            Member::Forest(f) => f.predict(x, out),
        }
    }

    fn importance_gain(&self) -> &[f64] {
        match self {
            Member::Gbdt(g) => g.importance_gain(),
            Member::Forest(f) => f.importance_gain(),
        }
    }

    fn importance_splits(&self) -> &[u32] {
        match self {
            Member::Gbdt(g) => g.importance_splits(),
            Member::Forest(f) => f.importance_splits(),
        }
    }
}
