//! [`FraudScorer`]: a calibrated boosting classifier over the transaction features and the
//! rule hits, with a cold-start variant fitted on synthetic data and a rules-only fallback,
//! all answering with the same types.
//!
//! ```
//! use tenantml::scoring::fraud::{FraudScorer, GeneratorSettings, Transaction};
//! use tenantml::scoring::Regime;
//! // A tenant with no labelled fraud: a day-1 model from synthetic data.
//! let settings = GeneratorSettings::training().with_customers(300);
//! let scorer = FraudScorer::cold_start(&settings, 7)?;
//! assert_eq!(scorer.regime(), Regime::ColdStart);
//! let schema = scorer.schema();
//! let t0 = 1_767_900_000;
//! let mut history: Vec<Transaction> = (1..=5)
//!     .map(|d| Transaction { customer: 1, payment_method: 11, ..Transaction::new(t0 - d * 86_400, 30.0) })
//!     .collect();
//! for h in history.iter_mut() {
//!     h.country = schema.countries.code("DE");
//!     h.ip_country = h.country;
//! }
//! let usual = Transaction { amount: 35.0, timestamp: t0, ..history[0] };
//! let burst: Vec<Transaction> = (1..=8)
//!     .map(|i| Transaction { amount: 1.0, timestamp: t0 - 20 * i, payment_method: 99, outcome: 1, ..usual })
//!     .chain(history.iter().copied())
//!     .collect();
//! let testing = Transaction { amount: 1.0, payment_method: 99, ..usual };
//! let calm = scorer.score(&usual, history.as_slice())?;
//! let risky = scorer.explain(&testing, burst.as_slice(), 3)?;
//! assert!(risky.score > calm.score, "{} vs {}", risky.score, calm.score);
//! assert!(!risky.reasons.is_empty());
//! # Ok::<(), tenantml::Error>(())
//! ```

use std::cell::RefCell;
use std::path::Path;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::features::{
    check_inputs, clock_of, compute_facts, compute_facts_capped, describe_feature, Facts,
    FeatureScratch, BASE_FEATURES, N_BASE_FEATURES,
};
use super::generator::GeneratorSettings;
use super::rules::RulesConfig;
use super::types::{
    check_amount_time, check_thresholds, Decision, FraudScore, History, Schema, ScoreSummary,
    Transaction,
};
use crate::drift::ModelReference;
use crate::error::{Error, Result};
use crate::features::calendar::LocalClock;
use crate::scoring::{ReasonSource, Regime, ScoreReason};
use crate::trees::explain::ReasonDirection;
use crate::trees::format::{self, ModelMetadata, Validate};
use crate::trees::model::{Model, Task};

use super::params::default_monotone;
pub use super::params::FraudParams;

/// The model file kind of a fraud scorer.
pub const FRAUD_SCORER_KIND: &str = "fraud-scorer";

/// What a scorer stores besides its tree model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Stored {
    #[serde(with = "format::json_field")]
    schema: Schema,
    #[serde(with = "format::json_field")]
    rules: RulesConfig,
    feature_names: Vec<String>,
    review_at: f64,
    decline_at: f64,
    history_cap: u64,
    regime: Regime,
    name: String,
    version: u64,
}

#[derive(Serialize, Deserialize)]
struct ScorerFile {
    stored: Stored,
    /// The tree model as its own checked file; `None` in rules-only mode.
    model: Option<Vec<u8>>,
}

/// Feature names of a rule set: the base features, then `rule_<code>` per rule.
fn feature_names(rules: &RulesConfig) -> Vec<String> {
    BASE_FEATURES
        .iter()
        .map(|s| s.to_string())
        .chain(rules.rules().iter().map(|r| format!("rule_{}", r.code)))
        .collect()
}

thread_local! {
    static SCRATCH: RefCell<FeatureScratch> = RefCell::new(FeatureScratch::new());
}

/// A fraud scorer: model (tenant data or cold start) or rules only.
#[derive(Debug, Clone)]
pub struct FraudScorer {
    stored: Stored,
    model: Option<Model>,
    clock: LocalClock,
    metadata: ModelMetadata,
}

impl PartialEq for FraudScorer {
    fn eq(&self, other: &Self) -> bool {
        self.stored == other.stored && self.model == other.model
    }
}

impl FraudScorer {
    /// Fits on labelled transactions (any order; `labels[i]` is whether `transactions[i]`
    /// was fraud). Each transaction's history is its customer's earlier transactions
    /// (ties in time: earlier in the input first), the last `history_cap` of them.
    pub fn fit(
        transactions: &[Transaction],
        labels: &[bool],
        schema: Schema,
        params: &FraudParams,
    ) -> Result<FraudScorer> {
        FraudScorer::fit_as(transactions, labels, schema, params, Regime::Model)
    }

    /// A cold-start scorer for a tenant without labelled fraud: fitted on synthetic data
    /// from `settings` with `seed` (see [`generator`](super::generator)), answering with
    /// [`Regime::ColdStart`]. Its schema is the generator's
    /// ([`GeneratorSettings::schema`]); encode the tenant's strings with it.
    pub fn cold_start(settings: &GeneratorSettings, seed: u64) -> Result<FraudScorer> {
        let data = settings.clone().with_seed(seed).generate()?;
        let mut params = FraudParams {
            name: "fraud-cold-start".to_string(),
            ..FraudParams::default()
        };
        params.model.seed = Some(seed);
        FraudScorer::fit_as(
            &data.transactions,
            &data.labels,
            data.schema,
            &params,
            Regime::ColdStart,
        )
    }

    /// A scorer that only runs `rules` ([`Regime::Fallback`]): the score is the combined
    /// rule score and the decision follows the rules' own thresholds. The schema checks
    /// codes and gives the time zone of the night-time rule.
    pub fn rules_only(rules: RulesConfig, schema: Schema) -> Result<FraudScorer> {
        let clock = clock_of(&schema)?;
        let stored = Stored {
            feature_names: feature_names(&rules),
            review_at: rules.review_at(),
            decline_at: rules.decline_at(),
            history_cap: 100,
            regime: Regime::Fallback,
            name: rules.name().to_string(),
            version: rules.version(),
            schema,
            rules,
        };
        Ok(FraudScorer {
            metadata: metadata_of(&stored),
            stored,
            model: None,
            clock,
        })
    }

    fn fit_as(
        transactions: &[Transaction],
        labels: &[bool],
        schema: Schema,
        params: &FraudParams,
        regime: Regime,
    ) -> Result<FraudScorer> {
        if transactions.len() != labels.len() {
            return Err(Error::InvalidArgument(format!(
                "{} transactions but {} labels",
                transactions.len(),
                labels.len()
            )));
        }
        check_thresholds(params.review_at, params.decline_at)?;
        if params.history_cap == 0 {
            return Err(Error::InvalidArgument(
                "history_cap must be at least 1".into(),
            ));
        }
        if params.name.is_empty() {
            return Err(Error::InvalidArgument("the scorer's name is empty".into()));
        }
        let positives = labels.iter().filter(|&&l| l).count();
        if positives == 0 || positives == labels.len() {
            return Err(Error::InvalidArgument(format!(
                "fitting needs both fraud and legitimate transactions, got {positives} fraud \
                 of {}",
                labels.len()
            )));
        }
        let clock = clock_of(&schema)?;
        let mut scorer = FraudScorer::rules_only(params.rules.clone(), schema)?;
        scorer.clock = clock;
        let names = scorer.stored.feature_names.clone();
        let n_features = names.len();
        let mut x = vec![0.0; transactions.len() * n_features];
        let mut scratch = FeatureScratch::new();
        for_each_with_history(transactions, params.history_cap, |i, txn, history| {
            check_amount_time(txn.amount, txn.timestamp, &format!("transaction {i}"))?;
            scorer.stored.schema.check_codes(txn)?;
            let facts = compute_facts(txn, history, &scorer.clock, &mut scratch);
            scorer.write_row(&facts, &mut x[i * n_features..(i + 1) * n_features]);
            Ok(())
        })?;
        let x = Array2::from_shape_vec((transactions.len(), n_features), x)
            .expect("rows x features values");
        let y: Vec<f64> = labels.iter().map(|&l| f64::from(u8::from(l))).collect();
        let mut model_params = params.model.clone();
        model_params.task = Task::Binary;
        if model_params.gbdt.monotone_constraints.is_empty() {
            model_params.gbdt.monotone_constraints = default_monotone(&params.rules, &names);
        }
        model_params.feature_names = names;
        let mut model = Model::fit(x.view(), &y, None, None, &model_params)?;
        let meta = model.metadata_mut();
        meta.name = Some(params.name.clone());
        meta.version = Some(params.version);
        let s = &mut scorer.stored;
        s.review_at = params.review_at;
        s.decline_at = params.decline_at;
        s.history_cap = params.history_cap as u64;
        s.regime = regime;
        s.name = params.name.clone();
        s.version = params.version;
        scorer.metadata = metadata_of(s);
        scorer.metadata.training_metrics = model.metadata().training_metrics.clone();
        scorer
            .metadata
            .training_metrics
            .insert("rows".into(), y.len() as f64);
        scorer
            .metadata
            .training_metrics
            .insert("fraud_rate".into(), positives as f64 / y.len() as f64);
        // Stored for drift checks; a feature with no finite value leaves none stored.
        let seed = model_params.seed.unwrap_or(0);
        if let Some(reference) = ModelReference::of_model_if_any(&model, x.view(), seed)? {
            reference.store_in(&mut scorer.metadata)?;
        }
        scorer.model = Some(model);
        Ok(scorer)
    }

    /// Base features then rule hits, into `row`.
    #[inline]
    fn write_row(&self, facts: &Facts, row: &mut [f64]) -> (u64, f64) {
        facts.write_features(row);
        let (hits, rule_score) = self.stored.rules.evaluate(facts);
        for (i, v) in row[N_BASE_FEATURES..].iter_mut().enumerate() {
            *v = if hits & (1 << i) != 0 { 1.0 } else { 0.0 };
        }
        (hits, rule_score)
    }

    /// The hot path: checks the inputs, computes the features in `scratch` and scores,
    /// without allocating once `scratch` has seen a history this long. Use one scratch per
    /// thread.
    pub fn score_with<H: History + ?Sized>(
        &self,
        txn: &Transaction,
        history: &H,
        scratch: &mut FeatureScratch,
    ) -> Result<ScoreSummary> {
        let started = std::time::Instant::now();
        check_inputs(&self.stored.schema, txn, history)?;
        let cap = self.stored.history_cap as usize;
        let facts = compute_facts_capped(txn, history, &self.clock, cap, scratch);
        let mut row = std::mem::take(&mut scratch.row);
        row.resize(self.stored.feature_names.len(), 0.0);
        let (rule_hits, rule_score) = self.write_row(&facts, &mut row);
        let score = match &self.model {
            Some(m) => m.predict_row(&row),
            None => Ok(rule_score),
        };
        scratch.row = row;
        let score = score?.clamp(0.0, 1.0);
        let model = crate::telemetry::model_label(Some(&self.stored.name), "fraud");
        crate::telemetry::record_since(model, self.stored.regime.as_str(), started);
        Ok(ScoreSummary {
            score,
            decision: self.stored.rules.enforce(
                Decision::from_score(score, self.stored.review_at, self.stored.decline_at),
                rule_hits,
            ),
            regime: self.stored.regime,
            rule_hits,
            rule_score,
        })
    }

    /// Scores one transaction against the customer's recent history (any order, without
    /// the transaction itself; later rows are ignored), without reasons.
    ///
    /// Inputs are checked: a NaN, infinite or negative amount, a timestamp outside
    /// 1970..2200, an outcome code other than 0/1 or a dictionary code beyond the schema is
    /// [`Error::InvalidArgument`]. Code 0 (unknown) is always accepted.
    pub fn score<H: History + ?Sized>(&self, txn: &Transaction, history: &H) -> Result<FraudScore> {
        let s = SCRATCH.with(|s| self.score_with(txn, history, &mut s.borrow_mut()))?;
        Ok(self.answer(&s, Vec::new()))
    }

    fn answer(&self, s: &ScoreSummary, reasons: Vec<ScoreReason>) -> FraudScore {
        FraudScore {
            score: s.score,
            decision: s.decision,
            regime: s.regime,
            model_name: self.stored.name.clone(),
            model_version: self.stored.version,
            rule_hits: self.stored.rules.hit_codes(s.rule_hits),
            reasons,
        }
    }

    /// [`score`](Self::score) with the top reasons: for a model, the `k` features that push
    /// the fraud score up most (TreeSHAP on the boosting log-odds, with readable text such
    /// as "7 transactions in the last hour"), then every rule that fired; in rules-only
    /// mode, the `k` heaviest rules that fired.
    pub fn explain<H: History + ?Sized>(
        &self,
        txn: &Transaction,
        history: &H,
        k: usize,
    ) -> Result<FraudScore> {
        let mut scratch = FeatureScratch::new();
        let summary = self.score_with(txn, history, &mut scratch)?;
        let cap = self.stored.history_cap as usize;
        let facts = compute_facts_capped(txn, history, &self.clock, cap, &mut scratch);
        let rules = self.stored.rules.rules();
        let mut hits: Vec<ScoreReason> = rules
            .iter()
            .enumerate()
            .filter(|(i, _)| summary.rule_hits & (1 << i) != 0)
            .map(|(_, r)| ScoreReason {
                code: format!("rule:{}", r.code),
                description: r.describe(&facts),
                weight: r.weight,
                source: ReasonSource::Rule,
            })
            .collect();
        let reasons = match &self.model {
            None => {
                hits.sort_by(|a, b| b.weight.total_cmp(&a.weight));
                hits.truncate(k);
                hits
            }
            Some(model) => {
                let row = scratch.row.clone();
                let mut reasons: Vec<ScoreReason> = model
                    .reasons(&row, k, ReasonDirection::Increasing)?
                    .into_iter()
                    .map(|r| ScoreReason {
                        code: r.name.clone(),
                        description: self.describe(r.feature, &facts, summary.rule_hits),
                        weight: r.contribution,
                        source: ReasonSource::Model,
                    })
                    .collect();
                reasons.extend(hits);
                reasons
            }
        };
        Ok(self.answer(&summary, reasons))
    }

    /// Readable text of feature `index` (base feature or rule hit) for these facts.
    fn describe(&self, index: usize, facts: &Facts, hits: u64) -> String {
        if index < N_BASE_FEATURES {
            return describe_feature(index, facts);
        }
        let i = index - N_BASE_FEATURES;
        let rule = &self.stored.rules.rules()[i];
        if hits & (1 << i) != 0 {
            rule.describe(facts)
        } else {
            format!("rule {} did not fire", rule.code)
        }
    }

    /// The feature row of a transaction (names in [`feature_names`](Self::feature_names)).
    pub fn features<H: History + ?Sized>(
        &self,
        txn: &Transaction,
        history: &H,
    ) -> Result<Vec<f64>> {
        let mut scratch = FeatureScratch::new();
        self.score_with(txn, history, &mut scratch)?;
        Ok(scratch.row)
    }

    /// Scores a whole data set the way [`fit`](Self::fit) sees it: each transaction
    /// against its customer's earlier ones (the last `history_cap`). Answers are in input
    /// order. For evaluation and batch back-scoring.
    pub fn score_dataset(&self, transactions: &[Transaction]) -> Result<Vec<ScoreSummary>> {
        let mut out = vec![None; transactions.len()];
        let mut scratch = FeatureScratch::new();
        for_each_with_history(
            transactions,
            self.stored.history_cap as usize,
            |i, txn, history| {
                out[i] = Some(self.score_with(txn, history, &mut scratch)?);
                Ok(())
            },
        )?;
        Ok(out
            .into_iter()
            .map(|s| s.expect("every row scored"))
            .collect())
    }

    /// Which regime answers.
    pub fn regime(&self) -> Regime {
        self.stored.regime
    }

    /// The scorer's name.
    pub fn name(&self) -> &str {
        &self.stored.name
    }

    /// The scorer's version.
    pub fn version(&self) -> u64 {
        self.stored.version
    }

    /// Renames the scorer (e.g. before saving it to a registry).
    pub fn set_name(&mut self, name: &str, version: u64) -> Result<()> {
        if name.is_empty() {
            return Err(Error::InvalidArgument("the scorer's name is empty".into()));
        }
        self.stored.name = name.to_string();
        self.stored.version = version;
        self.metadata.name = Some(name.to_string());
        self.metadata.version = Some(version);
        Ok(())
    }

    /// The dictionaries and time zone.
    pub fn schema(&self) -> &Schema {
        &self.stored.schema
    }

    /// The rules.
    pub fn rules(&self) -> &RulesConfig {
        &self.stored.rules
    }

    /// Feature names in column order: [`BASE_FEATURES`], then `rule_<code>` per rule.
    pub fn feature_names(&self) -> &[String] {
        &self.stored.feature_names
    }

    /// `(review_at, decline_at)`.
    pub fn thresholds(&self) -> (f64, f64) {
        (self.stored.review_at, self.stored.decline_at)
    }

    /// Changes the decision thresholds (`0 <= review_at <= decline_at <= 1`).
    pub fn set_thresholds(&mut self, review_at: f64, decline_at: f64) -> Result<()> {
        check_thresholds(review_at, decline_at)?;
        self.stored.review_at = review_at;
        self.stored.decline_at = decline_at;
        Ok(())
    }

    /// The tree model (`None` in rules-only mode).
    pub fn model(&self) -> Option<&Model> {
        self.model.as_ref()
    }

    /// Name, version and training metrics stored with the scorer.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// The scorer file's bytes (envelope kind [`FRAUD_SCORER_KIND`]), the tree model nested
    /// as its own checked file.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let file = ScorerFile {
            stored: self.stored.clone(),
            model: self.model.as_ref().map(Model::to_bytes).transpose()?,
        };
        format::encode(FRAUD_SCORER_KIND, &file, &self.metadata)
    }

    /// Reads a scorer from file bytes; anything but an intact fraud scorer is
    /// [`Error::BadModelFile`].
    pub fn from_bytes(bytes: &[u8]) -> Result<FraudScorer> {
        let (file, metadata): (ScorerFile, ModelMetadata) =
            format::decode(FRAUD_SCORER_KIND, bytes)?;
        let model = file.model.as_deref().map(Model::from_bytes).transpose()?;
        if let Some(m) = &model {
            if m.feature_names() != file.stored.feature_names.as_slice() {
                return Err(Error::BadModelFile(
                    "the tree model's features differ from the scorer's".into(),
                ));
            }
            if m.task() != Task::Binary {
                return Err(Error::BadModelFile("the tree model is not binary".into()));
            }
        }
        let clock = clock_of(&file.stored.schema)
            .map_err(|e| Error::BadModelFile(format!("stored time zone: {e}")))?;
        Ok(FraudScorer {
            stored: file.stored,
            model,
            clock,
            metadata,
        })
    }

    /// Writes the scorer file atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        format::save(path, &self.to_bytes()?)
    }

    /// Reads a scorer file.
    pub fn load(path: impl AsRef<Path>) -> Result<FraudScorer> {
        FraudScorer::from_bytes(&format::load(path)?)
    }
}

fn metadata_of(s: &Stored) -> ModelMetadata {
    ModelMetadata {
        name: Some(s.name.clone()),
        version: Some(s.version),
        feature_names: s.feature_names.clone(),
        ..Default::default()
    }
}

impl Validate for ScorerFile {
    fn validate(&self) -> Result<()> {
        let s = &self.stored;
        let bad = |m: String| Err(Error::BadModelFile(m));
        check_thresholds(s.review_at, s.decline_at)
            .map_err(|e| Error::BadModelFile(e.to_string()))?;
        if s.feature_names != feature_names(&s.rules) {
            return bad("feature names do not match the base features and rules".into());
        }
        if (s.regime == Regime::Fallback) != self.model.is_none() {
            return bad(format!(
                "regime {} with{} a model",
                s.regime.as_str(),
                if self.model.is_some() { "" } else { "out" }
            ));
        }
        if s.name.is_empty() || s.history_cap == 0 {
            return bad("empty name or zero history cap".into());
        }
        Ok(())
    }
}

/// Calls `f(index, transaction, history)` for every transaction, with the history being
/// its customer's earlier transactions (by time, ties in input order), the last `cap`.
fn for_each_with_history(
    transactions: &[Transaction],
    cap: usize,
    mut f: impl FnMut(usize, &Transaction, &[Transaction]) -> Result<()>,
) -> Result<()> {
    let mut order: Vec<usize> = (0..transactions.len()).collect();
    order.sort_by_key(|&i| (transactions[i].customer, transactions[i].timestamp, i));
    let sorted: Vec<Transaction> = order.iter().map(|&i| transactions[i]).collect();
    let mut start = 0;
    for (j, txn) in sorted.iter().enumerate() {
        if j > 0 && sorted[j - 1].customer != txn.customer {
            start = j;
        }
        let from = start.max(j.saturating_sub(cap));
        f(order[j], txn, &sorted[from..j])?;
    }
    Ok(())
}
