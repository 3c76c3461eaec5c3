//! Churn prediction per tenant: the probability that a tenant churns within a horizon
//! (e.g. 30 days), with reasons, from whatever history the caller has.
//!
//! - [`input`]: the tenant's history (activity, subscription, billing, support), from JSON
//!   or plain slices.
//! - [`features`]: named features as of an observation time, with no look-ahead.
//! - [`labels`]: training rows from raw histories and churn dates, without leakage.
//! - [`rule`]: the days-inactive rule, the fallback (same answer type).
//! - [`score`]: [`ChurnScore`], the answer, and readable reason texts.
//! - [`generator`]: synthetic tenants for cold start and evaluation.
//! - [`predictor`]: [`ChurnPredictor`], the calibrated model with rule fallback, cold start
//!   and model files.
//! - [`triggers`]: retention actions from scores, with cool-downs the caller keeps.
//!
//! Everything here is plain Rust values and JSON; nothing knows about FFI or PHP.

pub mod features;
pub mod generator;
pub mod input;
pub mod labels;
pub mod predictor;
pub mod rule;
pub mod score;
pub mod triggers;

pub use features::{
    churn_features, churn_features_into, feature_index, feature_names, FEATURE_NAMES, N_FEATURES,
};
pub use generator::{generate, ChurnPatterns, GeneratorSettings, SyntheticData};
pub use input::{DailyUsage, Subscription, SupportTicket, TenantHistory, UsageEvent, DAY};
pub use labels::{build_rows, LabelSpec, LabeledRows};
pub use predictor::{
    ChurnFitSummary, ChurnParams, ChurnPredictor, MIN_REASON_LOG_ODDS, PREDICTOR_KIND,
};
pub use rule::{InactivityRule, RULE_NAME};
pub use score::{describe_feature, ChurnScore, TenantFacts};
pub use triggers::{
    Band, CooldownState, SuppressedDecision, TriggerDecision, TriggerOutcome, TriggerPolicy,
    TriggerRule,
};
