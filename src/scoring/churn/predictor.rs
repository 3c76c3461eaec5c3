//! [`ChurnPredictor`]: a calibrated boosting classifier over the churn
//! [`features`](super::features), fitted on the tenant's own labelled history or on synthetic tenants
//! (cold start), with the days-inactive rule as its fallback and as a rules-only mode.
//!
//! ```
//! use tenantml::scoring::churn::{ChurnPredictor, GeneratorSettings, TenantHistory, DAY};
//! use tenantml::scoring::Regime;
//! let mut settings = GeneratorSettings::training();
//! settings.tenants = 300;
//! let predictor = ChurnPredictor::cold_start(&settings, 7)?;
//! let as_of = settings.start + 200 * DAY;
//! let quiet = TenantHistory::new("quiet").with_events(&[as_of - 40 * DAY], &[5.0])?;
//! let score = predictor.predict(&quiet, as_of)?;
//! assert_eq!(score.regime, Regime::ColdStart);
//! assert!((0.0..=1.0).contains(&score.probability));
//! let back = ChurnPredictor::from_bytes(&predictor.to_bytes()?)?;
//! assert_eq!(back.predict(&quiet, as_of)?, score);
//! # Ok::<(), tenantml::Error>(())
//! ```

use std::path::Path;

use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::features::{churn_features, feature_names, FEATURE_NAMES, N_FEATURES};
use super::generator::{generate, GeneratorSettings};
use super::input::TenantHistory;
use super::labels::{build_rows, LabelSpec};
use super::rule::InactivityRule;
use super::score::{describe_feature, ChurnScore, TenantFacts};
use crate::drift::ModelReference;
use crate::error::{Error, Result};
use crate::scoring::{ReasonSource, Regime, ScoreReason};
use crate::trees::explain::ReasonDirection;
use crate::trees::format::{self, ModelMetadata, Validate};
use crate::trees::gbdt::GbdtParams;
use crate::trees::model::{parse_with_model, Calibration, Model, ModelKind, ModelParams, Task};
use crate::trees::monotone::by_name;

/// Features along which the churn probability may only rise (monotone constraints of the
/// boosting model), applied when `model.gbdt.monotone_constraints` is left empty: another
/// failed payment never makes a tenant look safer. Give one value per feature (in
/// [`FEATURE_NAMES`] order) to set others, or all zeros for none.
pub const MONOTONE_UP: [&str; 2] = ["failed_payments_30d", "failed_payments_90d"];

/// Smallest contribution (log-odds) for a feature to be listed as a reason: below it (odds
/// raised by under 5 %) a "reason" only adds noise, e.g. "no activity for 0 days" on an
/// active tenant. So a low-risk tenant may get fewer than `k` reasons, or none.
pub const MIN_REASON_LOG_ODDS: f64 = 0.05;

/// The model file kind of a churn predictor.
pub const PREDICTOR_KIND: &str = "churn-predictor";

/// How a [`ChurnPredictor`] is fitted and answers. Every field has a default, so `{}` is
/// valid JSON; unknown fields are refused.
///
/// ```
/// use tenantml::scoring::churn::ChurnParams;
/// let p = ChurnParams::from_json(r#"{"horizon_days": 60, "inactivity_threshold_days": 21}"#)?;
/// assert_eq!(p.top_reasons, 3);
/// assert!(ChurnParams::from_json(r#"{"horizon": 60}"#).is_err());
/// assert!(ChurnParams::from_json(r#"{"horizon_days": 0}"#).is_err());
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChurnParams {
    /// Model name carried by every score.
    pub name: String,
    /// Model version carried by every score.
    pub version: u64,
    /// Horizon of the probability, days (labels must be built with the same).
    pub horizon_days: u32,
    /// The tree model (default: boosting, 300 rounds at 0.03, 7 leaves, Platt calibration
    /// on a 20% holdout, the probability non-decreasing in the [`MONOTONE_UP`] features).
    /// Task and feature names are set by the predictor.
    pub model: ModelParams,
    /// Reasons per score.
    pub top_reasons: usize,
    /// Threshold of the days-inactive rule (the fallback and the `inactive_flag`).
    pub inactivity_threshold_days: f64,
    /// Seed of every random choice.
    pub seed: u64,
}

impl Default for ChurnParams {
    fn default() -> Self {
        ChurnParams {
            name: "churn".into(),
            version: 1,
            horizon_days: 30,
            model: ModelParams {
                task: Task::Binary,
                model: ModelKind::Gbdt,
                gbdt: GbdtParams {
                    rounds: 300,
                    learning_rate: 0.03,
                    max_leaves: 7,
                    min_samples_leaf: 20,
                    lambda_l2: 1.0,
                    feature_fraction: 0.8,
                    ..GbdtParams::default()
                },
                calibration: Calibration::Platt,
                ..ModelParams::default()
            },
            top_reasons: 3,
            inactivity_threshold_days: 14.0,
            seed: 42,
        }
    }
}

impl ChurnParams {
    /// Parses and checks JSON parameters.
    pub fn from_json(json: &str) -> Result<ChurnParams> {
        let p: ChurnParams =
            parse_with_model(json, "churn parameters", |p: &mut ChurnParams| &mut p.model)?;
        p.check()?;
        Ok(p)
    }

    /// Checks the values.
    pub fn check(&self) -> Result<()> {
        if self.horizon_days == 0 {
            return Err(Error::InvalidArgument(
                "horizon_days must be at least 1".into(),
            ));
        }
        if self.model.task != Task::Binary {
            return Err(Error::InvalidArgument(
                "a churn model is a binary classifier (model.task must be \"binary\")".into(),
            ));
        }
        if !self.model.feature_names.is_empty() && self.model.feature_names != feature_names() {
            return Err(Error::InvalidArgument(
                "model.feature_names is set by the churn predictor; leave it empty".into(),
            ));
        }
        InactivityRule::new(self.inactivity_threshold_days).map(|_| ())
    }

    fn rule(&self) -> InactivityRule {
        InactivityRule {
            threshold_days: self.inactivity_threshold_days,
        }
    }
}

/// How the fit went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChurnFitSummary {
    /// Training rows.
    pub rows: usize,
    /// Positive rows (churned within the horizon).
    pub positives: usize,
    /// Rows left out as censored, already churned or not started (label builder only).
    pub excluded: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    #[serde(with = "format::json_field")]
    params: ChurnParams,
    #[serde(with = "format::json_field")]
    regime: Regime,
    #[serde(with = "format::json_field")]
    summary: ChurnFitSummary,
}

/// A churn model with its rule fallback (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct ChurnPredictor {
    stored: Stored,
    model: Option<Model>,
    metadata: ModelMetadata,
}

impl ChurnPredictor {
    /// Fits on raw histories: rows from [`build_rows`] with `spec` (whose horizon must be
    /// `params.horizon_days`), answering with [`Regime::Model`].
    pub fn fit(
        tenants: &[TenantHistory],
        spec: &LabelSpec,
        params: &ChurnParams,
    ) -> Result<ChurnPredictor> {
        if spec.horizon_days != params.horizon_days {
            return Err(Error::InvalidArgument(format!(
                "the label spec's horizon is {} days but the parameters' is {}",
                spec.horizon_days, params.horizon_days
            )));
        }
        let rows = build_rows(tenants, spec)?;
        let mut p = ChurnPredictor::fit_rows(rows.features.view(), &rows.labels, params)?;
        p.stored.summary.excluded = rows.censored + rows.already_churned + rows.not_started;
        Ok(p)
    }

    /// Fits on ready rows: [`N_FEATURES`] columns in [`FEATURE_NAMES`] order (NaN =
    /// missing) and 0/1 labels, both classes present.
    pub fn fit_rows(x: ArrayView2<f64>, y: &[f64], params: &ChurnParams) -> Result<ChurnPredictor> {
        params.check()?;
        if x.ncols() != N_FEATURES {
            return Err(Error::InvalidArgument(format!(
                "churn rows have {N_FEATURES} features, got {}",
                x.ncols()
            )));
        }
        if x.nrows() != y.len() {
            return Err(Error::InvalidArgument(format!(
                "{} rows but {} labels",
                x.nrows(),
                y.len()
            )));
        }
        if let Some(v) = y.iter().find(|v| **v != 0.0 && **v != 1.0) {
            return Err(Error::InvalidArgument(format!(
                "labels must be 0 or 1, got {v}"
            )));
        }
        let positives = y.iter().filter(|v| **v == 1.0).count();
        if positives == 0 || positives == y.len() {
            return Err(Error::InvalidArgument(format!(
                "need both churned and retained rows to fit, got {positives} churned of {}",
                y.len()
            )));
        }
        let mut model_params = params.model.clone();
        model_params.feature_names = feature_names();
        if model_params.gbdt.monotone_constraints.is_empty() {
            model_params.gbdt.monotone_constraints =
                by_name(&model_params.feature_names, &MONOTONE_UP, &[]);
        }
        model_params.seed = Some(model_params.seed.unwrap_or(params.seed));
        let model = Model::fit(x, y, None, None, &model_params)?;
        let mut metadata = ModelMetadata {
            name: Some(params.name.clone()),
            version: Some(params.version),
            feature_names: feature_names(),
            training_metrics: model.metadata().training_metrics.clone(),
            ..ModelMetadata::default()
        };
        metadata.training_metrics.insert(
            "train_positive_rate".into(),
            positives as f64 / y.len() as f64,
        );
        // Stored for drift checks; a feature with no finite value leaves none stored.
        if let Some(reference) = ModelReference::of_model_if_any(&model, x, params.seed)? {
            reference.store_in(&mut metadata)?;
        }
        Ok(ChurnPredictor {
            stored: Stored {
                params: params.clone(),
                regime: Regime::Model,
                summary: ChurnFitSummary {
                    rows: y.len(),
                    positives,
                    excluded: 0,
                },
            },
            model: Some(model),
            metadata,
        })
    }

    /// Fits on synthetic tenants drawn with `settings` and `seed` (see
    /// [`generator`](super::generator)) with default parameters, answering with
    /// [`Regime::ColdStart`]: a working model before the tenant base has any churn labels.
    pub fn cold_start(settings: &GeneratorSettings, seed: u64) -> Result<ChurnPredictor> {
        let params = ChurnParams {
            horizon_days: settings.horizon_days,
            seed,
            ..ChurnParams::default()
        };
        ChurnPredictor::cold_start_with(settings, seed, &params)
    }

    /// [`ChurnPredictor::cold_start`] with given parameters (their horizon must be the
    /// settings').
    pub fn cold_start_with(
        settings: &GeneratorSettings,
        seed: u64,
        params: &ChurnParams,
    ) -> Result<ChurnPredictor> {
        let data = generate(settings, seed)?;
        let mut p = ChurnPredictor::fit(&data.tenants, &data.spec, params)?;
        p.stored.regime = Regime::ColdStart;
        Ok(p)
    }

    /// No model: every score comes from the days-inactive rule ([`Regime::Fallback`]).
    pub fn rules_only(params: &ChurnParams) -> Result<ChurnPredictor> {
        params.check()?;
        Ok(ChurnPredictor {
            stored: Stored {
                params: params.clone(),
                regime: Regime::Fallback,
                summary: ChurnFitSummary::default(),
            },
            model: None,
            metadata: ModelMetadata {
                name: Some(params.name.clone()),
                version: Some(params.version),
                feature_names: feature_names(),
                ..ModelMetadata::default()
            },
        })
    }

    /// Scores a tenant as of `as_of` with `params.top_reasons` reasons.
    pub fn predict(&self, tenant: &TenantHistory, as_of: i64) -> Result<ChurnScore> {
        self.predict_with_reasons(tenant, as_of, self.stored.params.top_reasons)
    }

    /// Scores a tenant with up to `k` reasons (0: none, the fastest): the features pushing
    /// churn up most, each by at least [`MIN_REASON_LOG_ODDS`].
    pub fn predict_with_reasons(
        &self,
        tenant: &TenantHistory,
        as_of: i64,
        k: usize,
    ) -> Result<ChurnScore> {
        let f = churn_features(tenant, as_of)?;
        self.predict_features(&tenant.id, &f, as_of, k)
    }

    /// Scores a computed feature row (e.g. one a C caller passes as a flat array).
    pub fn predict_features(
        &self,
        tenant_id: &str,
        features: &[f64; N_FEATURES],
        as_of: i64,
        k: usize,
    ) -> Result<ChurnScore> {
        let started = std::time::Instant::now();
        let label = crate::telemetry::model_label(self.metadata.name.as_deref(), "churn");
        let rule = self.stored.params.rule();
        let horizon = self.stored.params.horizon_days;
        let Some(model) = &self.model else {
            let score = rule.score_features(tenant_id, features, as_of, horizon);
            crate::telemetry::record_since(label, self.stored.regime.as_str(), started);
            return Ok(score);
        };
        let probability = model.predict_row(features)?;
        let reasons = if k == 0 {
            Vec::new()
        } else {
            model
                .reasons(features, k, ReasonDirection::Increasing)?
                .into_iter()
                .filter(|r| r.contribution >= MIN_REASON_LOG_ODDS)
                .map(|r| ScoreReason {
                    description: describe_feature(&r.name, r.value),
                    code: r.name,
                    weight: r.contribution,
                    source: ReasonSource::Model,
                })
                .collect()
        };
        let facts = TenantFacts::from_features(features);
        let (name, version) = self.name_and_version();
        crate::telemetry::record_since(label, self.stored.regime.as_str(), started);
        Ok(ChurnScore {
            tenant_id: tenant_id.to_string(),
            probability,
            regime: self.stored.regime,
            model_name: name,
            model_version: version,
            horizon_days: horizon,
            as_of,
            inactive_flag: rule.fires(facts.days_inactive.unwrap_or(f64::NAN)),
            reasons,
            facts,
        })
    }

    /// The probability alone for a computed feature row: the flat hot path (no reasons, no
    /// score record), counted in telemetry like every prediction.
    pub fn probability(&self, features: &[f64; N_FEATURES]) -> Result<f64> {
        let started = std::time::Instant::now();
        let probability = match &self.model {
            Some(model) => model.predict_row(features)?,
            None => {
                let facts = TenantFacts::from_features(features);
                let days = facts.days_inactive.unwrap_or(f64::NAN);
                self.stored.params.rule().score_days(days)
            }
        };
        let label = crate::telemetry::model_label(self.metadata.name.as_deref(), "churn");
        crate::telemetry::record_since(label, self.stored.regime.as_str(), started);
        Ok(probability)
    }

    /// Scores many tenants as of one time (in parallel), with `params.top_reasons` reasons
    /// each. The first invalid tenant fails the batch, naming it.
    pub fn predict_batch(&self, tenants: &[TenantHistory], as_of: i64) -> Result<Vec<ChurnScore>> {
        tenants.par_iter().map(|t| self.predict(t, as_of)).collect()
    }

    /// The fitted tree model (`None` in rules-only mode).
    pub fn model(&self) -> Option<&Model> {
        self.model.as_ref()
    }

    /// The regime scores come with.
    pub fn regime(&self) -> Regime {
        self.stored.regime
    }

    /// The parameters.
    pub fn params(&self) -> &ChurnParams {
        &self.stored.params
    }

    /// The horizon in days.
    pub fn horizon_days(&self) -> u32 {
        self.stored.params.horizon_days
    }

    /// The fallback rule.
    pub fn rule(&self) -> InactivityRule {
        self.stored.params.rule()
    }

    /// How the fit went.
    pub fn summary(&self) -> &ChurnFitSummary {
        &self.stored.summary
    }

    /// Name and version carried by scores (from the metadata, which the caller may change
    /// with [`ChurnPredictor::metadata_mut`]).
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

    /// A JSON summary: kind, name, version, regime, horizon, features, fit summary, rule.
    pub fn info_json(&self) -> Result<String> {
        let (name, version) = self.name_and_version();
        Ok(serde_json::to_string(&serde_json::json!({
            "kind": PREDICTOR_KIND,
            "name": name,
            "version": version,
            "regime": self.stored.regime,
            "horizon_days": self.stored.params.horizon_days,
            "features": FEATURE_NAMES,
            "summary": self.stored.summary,
            "inactivity_threshold_days": self.stored.params.inactivity_threshold_days,
            "training_metrics": self.metadata.training_metrics,
        }))?)
    }

    /// The predictor file's bytes (kind [`PREDICTOR_KIND`]), the tree model nested as its
    /// own checked file.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let file = PredictorFile {
            stored: self.stored.clone(),
            model: self.model.as_ref().map(Model::to_bytes).transpose()?,
        };
        format::encode(PREDICTOR_KIND, &file, &self.metadata)
    }

    /// Reads a predictor from file bytes; anything but an intact churn predictor is
    /// [`Error::BadModelFile`].
    pub fn from_bytes(bytes: &[u8]) -> Result<ChurnPredictor> {
        let (file, metadata): (PredictorFile, ModelMetadata) =
            format::decode(PREDICTOR_KIND, bytes)?;
        let model = file.model.as_deref().map(Model::from_bytes).transpose()?;
        if let Some(m) = &model {
            if m.feature_names() != feature_names().as_slice() {
                return Err(Error::BadModelFile(format!(
                    "the model's features ({}) are not this library's churn features ({})",
                    m.feature_names().join(","),
                    FEATURE_NAMES.join(",")
                )));
            }
            if m.task() != Task::Binary {
                return Err(Error::BadModelFile("the churn model is not binary".into()));
            }
        }
        Ok(ChurnPredictor {
            stored: file.stored,
            model,
            metadata,
        })
    }

    /// Writes the predictor file atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        format::save(path, &self.to_bytes()?)
    }

    /// Reads a predictor file.
    pub fn load(path: impl AsRef<Path>) -> Result<ChurnPredictor> {
        ChurnPredictor::from_bytes(&format::load(path)?)
    }
}

#[derive(Serialize, Deserialize)]
struct PredictorFile {
    stored: Stored,
    model: Option<Vec<u8>>,
}

impl Validate for PredictorFile {
    fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::BadModelFile(m));
        self.stored
            .params
            .check()
            .map_err(|e| Error::BadModelFile(format!("stored parameters: {e}")))?;
        match (self.stored.regime, self.model.is_some()) {
            (Regime::Fallback, true) => bad("a rules-only predictor with a model".into()),
            (Regime::Model | Regime::ColdStart, false) => {
                bad("a model predictor without its model".into())
            }
            _ => Ok(()),
        }
    }
}
