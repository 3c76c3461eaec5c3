//! Risk scores with reasons: fraud scoring of single transactions ([`fraud`]) and churn
//! prediction per tenant ([`churn`]), each a calibrated tree model over engineered
//! features with a rule fallback that returns the same answer type.
//!
//! Every answer says where it came from: the model name and version, and the [`Regime`]
//! that produced it.

pub mod churn;
pub mod fraud;

use serde::{Deserialize, Serialize};

/// What produced a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// A model trained on the tenant's own labelled data.
    Model,
    /// A model trained on synthetic cold-start data (the tenant had no labels of its own).
    ColdStart,
    /// The rule fallback: no model could be used.
    Fallback,
}

impl Regime {
    /// Stable lower-case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Regime::Model => "model",
            Regime::ColdStart => "cold_start",
            Regime::Fallback => "fallback",
        }
    }
}

/// Where a reason came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonSource {
    /// A feature's TreeSHAP contribution to the model's score.
    Model,
    /// A rule that fired.
    Rule,
}

/// One reason behind a score, readable by a person and stable for code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreReason {
    /// Stable machine code, e.g. `velocity_1h` or `rule:amount_over_limit`.
    pub code: String,
    /// Human-readable text, e.g. "5 transactions in the last hour".
    pub description: String,
    /// Contribution to the score: log-odds for model reasons, the rule's weight for rules.
    pub weight: f64,
    /// Model feature or rule.
    pub source: ReasonSource,
}
