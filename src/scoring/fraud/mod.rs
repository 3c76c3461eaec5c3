//! Real-time fraud scoring of single transactions.
//!
//! A [`FraudScorer`] answers, for one [`Transaction`] and the customer's recent history
//! (passed by the caller; the library keeps no state between calls), a risk score in
//! `[0, 1]`, a [`Decision`] (approve / review / decline by configurable thresholds), the
//! rules that fired and, on request, the top reasons — together with the model name,
//! version and [`Regime`](crate::scoring::Regime) that produced the answer.
//!
//! - [`types`]: transactions as plain numbers and dictionary codes ([`Schema`]), history
//!   views ([`History`]: a slice, or parallel columns for C callers), answer types.
//! - [`features`]: amount, time-of-day, velocity, novelty and failure features, computed in
//!   one pass without allocation ([`BASE_FEATURES`] lists their stable names).
//! - [`rules`]: the JSON-configured rule engine, the fallback and a source of features.
//! - [`generator`]: synthetic transactions with planted fraud, for a day-1 (cold-start)
//!   model and for evaluation.
//! - [`params`]: [`FraudParams`], the fitting settings (JSON).
//! - [`scorer`]: [`FraudScorer`] itself: fit, cold start, rules-only mode, score, explain,
//!   model files.
//!
//! # Calling from C (shape of the future ABI)
//! The hot path, [`FraudScorer::score_with`], takes a `#[repr(C)]` [`Transaction`], a
//! [`HistoryColumns`] borrowed from the caller's parallel arrays (amounts, timestamps,
//! payment methods, countries, outcomes) and a caller-owned [`FeatureScratch`], and returns
//! a plain [`ScoreSummary`] (score, decision, regime, rule-hit bit mask): no allocation once
//! the scratch is warm. Model name and version are read once from the scorer.
//!
//! # Unknown values and errors
//! Strings the schema does not know map to code 0 ("unknown"), which is always accepted.
//! A code above its dictionary's size (codes from another schema), an outcome code other
//! than 0/1, a NaN, infinite or negative amount, or a timestamp outside 1970..2200 — in the
//! scored transaction or any history row — is [`Error::InvalidArgument`](crate::Error).

pub mod features;
pub mod generator;
pub mod params;
pub mod rules;
pub mod scorer;
pub mod types;

pub use features::{
    compute_facts, compute_facts_capped, describe_feature, Facts, FeatureScratch, VelocityWindow,
    BASE_FEATURES, N_BASE_FEATURES,
};
pub use generator::{FraudPattern, GeneratorSettings, PatternMix, SyntheticData};
pub use rules::{Rule, RuleKind, RulesConfig, MAX_RULES};
pub use scorer::{FraudParams, FraudScorer, FRAUD_SCORER_KIND};
pub use types::{
    Decision, Dictionary, FraudScore, History, HistoryColumns, Outcome, PastTransaction, Schema,
    ScoreSummary, Transaction, MAX_TIMESTAMP, MIN_TIMESTAMP, UNKNOWN_CODE,
};
