//! [`FraudParams`]: how a [`FraudScorer`](super::FraudScorer) is fitted.

use serde::{Deserialize, Serialize};

use super::rules::{RuleKind, RulesConfig};
use crate::error::Result;
use crate::trees::gbdt::GbdtParams;
use crate::trees::model::{parse_with_model, Calibration, ModelKind, ModelParams, Task};
use crate::trees::monotone::by_name;

/// Base features along which the fraud probability may only rise (monotone constraints
/// of the boosting model), applied when `model.gbdt.monotone_constraints` is left empty:
/// an amount further above the customer's usual, or more spent in a window, never looks
/// safer. The hits of amount and spend rules ([`RuleKind::AmountOver`],
/// [`RuleKind::AmountOverMedian`], [`RuleKind::VelocitySum`]) are constrained the same
/// way. Not the amount itself, since card testing is many tiny amounts. Give one value per
/// feature (base features, then rule hits) to set others, or all zeros for none.
pub const MONOTONE_UP: [&str; 5] = [
    "amount_zscore",
    "amount_to_median",
    "sum_10m",
    "sum_1h",
    "sum_24h",
];

/// The default constraints of a model over `names` (base features, then `rules`' hits):
/// `1` for [`MONOTONE_UP`] and for the hits of amount and spend rules, `0` elsewhere.
pub(crate) fn default_monotone(rules: &RulesConfig, names: &[String]) -> Vec<i8> {
    let amount_rules: Vec<String> = rules
        .rules()
        .iter()
        .filter(|r| {
            matches!(
                r.kind,
                RuleKind::AmountOver { .. }
                    | RuleKind::AmountOverMedian { .. }
                    | RuleKind::VelocitySum { .. }
            )
        })
        .map(|r| format!("rule_{}", r.code))
        .collect();
    let mut up: Vec<&str> = MONOTONE_UP.to_vec();
    up.extend(amount_rules.iter().map(String::as_str));
    by_name(names, &up, &[])
}

/// How to fit a [`FraudScorer`](super::FraudScorer); every field has a default, so `{}` is valid JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FraudParams {
    /// The tree model (the task is always binary). Default: boosting, 300 rounds of 15
    /// leaves at learning rate 0.05, Platt calibration on a 20% hold-out, seed 0, and the
    /// probability non-decreasing in the [`MONOTONE_UP`] features.
    pub model: ModelParams,
    /// The rules whose hits become features (and whose codes appear in answers).
    pub rules: RulesConfig,
    /// Fraud probability at or above which a transaction is reviewed (default 0.15).
    pub review_at: f64,
    /// Fraud probability at or above which a transaction is declined (default 0.5).
    pub decline_at: f64,
    /// Most earlier transactions of the customer used as history when fitting (default
    /// 100); pass up to this many recent transactions when scoring.
    pub history_cap: usize,
    /// The scorer's name, in every answer (default `fraud`).
    pub name: String,
    /// The scorer's version, in every answer (default 1).
    pub version: u64,
}

impl Default for FraudParams {
    fn default() -> Self {
        FraudParams {
            model: ModelParams {
                task: Task::Binary,
                model: ModelKind::Gbdt,
                gbdt: GbdtParams {
                    rounds: 300,
                    learning_rate: 0.05,
                    max_leaves: 15,
                    min_samples_leaf: 20,
                    ..Default::default()
                },
                calibration: Calibration::Platt,
                seed: Some(0),
                ..Default::default()
            },
            rules: RulesConfig::default(),
            review_at: 0.15,
            decline_at: 0.5,
            history_cap: 100,
            name: "fraud".to_string(),
            version: 1,
        }
    }
}

impl FraudParams {
    /// Parses JSON parameters (unknown fields are errors).
    pub fn from_json(json: &str) -> Result<FraudParams> {
        parse_with_model(json, "fraud parameters", |p: &mut FraudParams| &mut p.model)
    }
}
