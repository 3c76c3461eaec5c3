//! The retraining policy: turns drift reports, streaming-detector alarms, backtest errors
//! and model age into a retrain decision with reasons.
//!
//! php-fpm workers keep nothing between requests, so the policy keeps nothing either:
//! the caller passes the [`PolicyState`] in and stores the one it gets back (as JSON).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// When to retrain. Every field has a default, so `{}` is valid JSON; unknown fields are
/// refused. A trigger set to 0 / `false` / `null` is off.
///
/// ```
/// use tenantml::drift::{PolicyInput, PolicyState, RetrainPolicy};
/// let policy = RetrainPolicy::from_json(r#"{"consecutive_drift_reports": 2}"#)?;
/// let mut state = PolicyState::default();
/// let mut input = PolicyInput::new(1_700_000_000, 1_699_900_000);
/// input.dataset_drift = Some(true);
/// let (first, s) = policy.decide(&state, &input)?;
/// let (second, s) = policy.decide(&s, &input)?;
/// assert!(!first.retrain && second.retrain);
/// state = PolicyState::from_json(&s.to_json()?)?; // stored between requests
/// assert_eq!(state.consecutive_drift, 0); // the count restarts after a retrain decision
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrainPolicy {
    /// Retrain when the dataset-level drift flag was raised this many evaluations in a row
    /// (default 3; 0 turns the trigger off).
    pub consecutive_drift_reports: u32,
    /// Retrain when a streaming detector fired on the model's error stream (default true).
    pub retrain_on_error_drift: bool,
    /// Retrain when the backtest error exceeds the stored baseline by more than this many
    /// percent (default 20; `null` turns it off).
    pub max_error_increase_pct: Option<f64>,
    /// Retrain when the model is older than this many seconds (default 30 days; `null`
    /// turns it off).
    pub max_model_age_secs: Option<u64>,
}

impl Default for RetrainPolicy {
    fn default() -> Self {
        RetrainPolicy {
            consecutive_drift_reports: 3,
            retrain_on_error_drift: true,
            max_error_increase_pct: Some(20.0),
            max_model_age_secs: Some(30 * 24 * 3600),
        }
    }
}

/// What the policy remembers between evaluations; the caller stores it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyState {
    /// Evaluations in a row whose dataset-level drift flag was raised (reset by a clean
    /// report and by a retrain decision).
    pub consecutive_drift: u32,
    /// Evaluations so far.
    pub evaluations: u64,
    /// Retrain decisions so far.
    pub retrain_decisions: u64,
    /// The last decision.
    pub last_decision: Option<RetrainDecision>,
}

impl PolicyState {
    /// As JSON.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string(self)?)
    }

    /// From [`PolicyState::to_json`]'s output.
    pub fn from_json(json: &str) -> Result<Self> {
        super::from_json_object(json, "policy state")
    }
}

/// What happened since the last evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    /// Now, in Unix seconds.
    pub now: i64,
    /// When the model in use was trained, in Unix seconds.
    pub model_trained_at: i64,
    /// The latest report's dataset-level drift flag; `None` if no report was made since
    /// the last evaluation (the consecutive count is then left as it is).
    #[serde(default)]
    pub dataset_drift: Option<bool>,
    /// Whether a streaming detector fired on the error stream since the last evaluation.
    #[serde(default)]
    pub error_drift_detected: bool,
    /// The latest backtest error (any loss where lower is better), if one was run.
    #[serde(default)]
    pub backtest_error: Option<f64>,
    /// The error stored with the model at training time.
    #[serde(default)]
    pub baseline_error: Option<f64>,
}

impl PolicyInput {
    /// An input with only the clock and the model's training time set.
    pub fn new(now: i64, model_trained_at: i64) -> Self {
        PolicyInput {
            now,
            model_trained_at,
            dataset_drift: None,
            error_drift_detected: false,
            backtest_error: None,
            baseline_error: None,
        }
    }
}

/// Why the policy says to retrain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "trigger", rename_all = "snake_case", deny_unknown_fields)]
pub enum RetrainReason {
    /// The dataset drifted in `count` consecutive reports (`required` configured).
    ConsecutiveDrift {
        /// Reports in a row with dataset drift.
        count: u32,
        /// The configured number.
        required: u32,
    },
    /// A streaming detector fired on the error stream.
    ErrorStreamDrift,
    /// The backtest error is more than the allowed percentage above the baseline.
    ErrorAboveBaseline {
        /// The backtest error.
        error: f64,
        /// The stored baseline.
        baseline: f64,
        /// `100 (error - baseline) / baseline`.
        increase_pct: f64,
        /// The configured limit.
        max_increase_pct: f64,
    },
    /// The model is older than allowed.
    ModelAge {
        /// Seconds since training.
        age_secs: u64,
        /// The configured limit.
        max_age_secs: u64,
    },
}

/// The policy's answer: retrain or not, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrainDecision {
    /// Whether to retrain (at least one reason).
    pub retrain: bool,
    /// Every trigger that fired.
    pub reasons: Vec<RetrainReason>,
    /// When the decision was made (the input's `now`).
    pub at: i64,
}

impl RetrainPolicy {
    /// Parses and validates a JSON policy.
    pub fn from_json(json: &str) -> Result<Self> {
        let p: RetrainPolicy = super::from_json_object(json, "retrain policy")?;
        p.validate()?;
        Ok(p)
    }

    /// Checks the fields' domains.
    pub fn validate(&self) -> Result<()> {
        if let Some(pct) = self.max_error_increase_pct {
            if !(pct.is_finite() && pct >= 0.0) {
                return Err(Error::InvalidArgument(format!(
                    "retrain policy: max_error_increase_pct must be finite and >= 0, got {pct}"
                )));
            }
        }
        Ok(())
    }

    /// Evaluates the triggers on `input`, returning the decision and the new state (which
    /// records the decision). Errors on a clock before the training time, or a non-finite
    /// or negative error, or a baseline that is not positive.
    pub fn decide(
        &self,
        state: &PolicyState,
        input: &PolicyInput,
    ) -> Result<(RetrainDecision, PolicyState)> {
        self.validate()?;
        if input.now < input.model_trained_at {
            return Err(Error::InvalidArgument(format!(
                "retrain policy: now ({}) is before the model's training time ({})",
                input.now, input.model_trained_at
            )));
        }
        let mut next = state.clone();
        let mut reasons = Vec::new();
        match input.dataset_drift {
            Some(true) => next.consecutive_drift = next.consecutive_drift.saturating_add(1),
            Some(false) => next.consecutive_drift = 0,
            None => {}
        }
        let required = self.consecutive_drift_reports;
        if required > 0 && next.consecutive_drift >= required {
            reasons.push(RetrainReason::ConsecutiveDrift {
                count: next.consecutive_drift,
                required,
            });
        }
        if self.retrain_on_error_drift && input.error_drift_detected {
            reasons.push(RetrainReason::ErrorStreamDrift);
        }
        if let (Some(limit), Some(error), Some(baseline)) = (
            self.max_error_increase_pct,
            input.backtest_error,
            input.baseline_error,
        ) {
            if !(error.is_finite() && error >= 0.0) {
                return Err(Error::InvalidArgument(format!(
                    "retrain policy: backtest_error must be finite and >= 0, got {error}"
                )));
            }
            if !(baseline.is_finite() && baseline > 0.0) {
                return Err(Error::InvalidArgument(format!(
                    "retrain policy: baseline_error must be finite and > 0, got {baseline}"
                )));
            }
            let increase_pct = 100.0 * (error - baseline) / baseline;
            if increase_pct > limit {
                reasons.push(RetrainReason::ErrorAboveBaseline {
                    error,
                    baseline,
                    increase_pct,
                    max_increase_pct: limit,
                });
            }
        }
        if let Some(max_age_secs) = self.max_model_age_secs {
            let age_secs = (input.now - input.model_trained_at) as u64;
            if age_secs > max_age_secs {
                reasons.push(RetrainReason::ModelAge {
                    age_secs,
                    max_age_secs,
                });
            }
        }
        let decision = RetrainDecision {
            retrain: !reasons.is_empty(),
            reasons,
            at: input.now,
        };
        next.evaluations += 1;
        if decision.retrain {
            next.retrain_decisions += 1;
            next.consecutive_drift = 0;
        }
        next.last_decision = Some(decision.clone());
        Ok((decision, next))
    }
}
