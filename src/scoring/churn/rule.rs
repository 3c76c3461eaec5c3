//! The days-inactive rule: the platform's old churn signal, kept as the fallback (and
//! usable alone). It returns the same [`ChurnScore`] as the model, with
//! [`Regime::Fallback`].
//!
//! # How the score is derived
//! With `d` the days inactive (days since the last activity; for a tenant whose activity
//! is known but who was never active, days since the subscription started) and `t` the
//! threshold, the score is a logistic ramp centred on the threshold:
//!
//! `score = 1 / (1 + exp(-(d - t) / (t / 4)))`
//!
//! so it is about 0.12 at `t / 2`, 0.5 at `t` and 0.98 at `2 t`. It is strictly increasing
//! in `d`, so tenants rank by inactivity and ROC/PR AUC can be computed; it is *not* a
//! calibrated probability. When `d` is unknown (no activity data and no start date) the
//! score is 0.5 (no evidence either way) and the reason says so. The rule "fires"
//! ([`ChurnScore::inactive_flag`]) when `d >= t`.
//!
//! ```
//! use tenantml::scoring::churn::{InactivityRule, TenantHistory, DAY};
//! use tenantml::scoring::Regime;
//! let rule = InactivityRule::new(14.0)?;
//! let as_of = 1_736_121_600;
//! let tenant = TenantHistory::new("t").with_events(&[as_of - 21 * DAY], &[1.0])?;
//! let s = rule.score(&tenant, as_of, 30)?;
//! assert_eq!(s.regime, Regime::Fallback);
//! assert!(s.inactive_flag && s.probability > 0.8);
//! assert_eq!(s.reasons[0].description, "no activity for 21 days (rule threshold 14)");
//! # Ok::<(), tenantml::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use super::features::{churn_features, N_FEATURES};
use super::input::TenantHistory;
use super::score::{ChurnScore, TenantFacts};
use crate::error::{Error, Result};
use crate::scoring::{ReasonSource, Regime, ScoreReason};

/// The model name the rule's scores carry.
pub const RULE_NAME: &str = "inactivity-rule";

/// The days-inactive rule (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InactivityRule {
    /// Days of inactivity at which the rule fires (score 0.5), > 0.
    pub threshold_days: f64,
}

impl Default for InactivityRule {
    fn default() -> Self {
        InactivityRule {
            threshold_days: 14.0,
        }
    }
}

impl InactivityRule {
    /// A rule with the given threshold (finite, > 0 days).
    pub fn new(threshold_days: f64) -> Result<InactivityRule> {
        let r = InactivityRule { threshold_days };
        r.check()?;
        Ok(r)
    }

    /// Checks the threshold.
    pub fn check(&self) -> Result<()> {
        if !(self.threshold_days.is_finite() && self.threshold_days > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "inactivity threshold_days must be finite and > 0, got {}",
                self.threshold_days
            )));
        }
        Ok(())
    }

    /// The score for `days_inactive` (NaN: unknown, 0.5).
    pub fn score_days(&self, days_inactive: f64) -> f64 {
        if days_inactive.is_nan() {
            return 0.5;
        }
        let t = self.threshold_days;
        1.0 / (1.0 + (-(days_inactive - t) / (t / 4.0)).exp())
    }

    /// Whether the rule fires for `days_inactive`.
    pub fn fires(&self, days_inactive: f64) -> bool {
        days_inactive >= self.threshold_days
    }

    /// Scores a tenant as of `as_of`.
    pub fn score(
        &self,
        tenant: &TenantHistory,
        as_of: i64,
        horizon_days: u32,
    ) -> Result<ChurnScore> {
        let f = churn_features(tenant, as_of)?;
        Ok(self.score_features(&tenant.id, &f, as_of, horizon_days))
    }

    /// Scores a computed feature row.
    pub fn score_features(
        &self,
        tenant_id: &str,
        features: &[f64; N_FEATURES],
        as_of: i64,
        horizon_days: u32,
    ) -> ChurnScore {
        let facts = TenantFacts::from_features(features);
        let d = facts.days_inactive.unwrap_or(f64::NAN);
        let probability = self.score_days(d);
        let (code, description) = if d.is_nan() {
            (
                "rule:no_activity_data",
                "no activity data and no start date: inactivity unknown".to_string(),
            )
        } else {
            (
                "rule:days_inactive",
                format!(
                    "no activity for {} days (rule threshold {})",
                    d.floor(),
                    self.threshold_days
                ),
            )
        };
        let p = probability.clamp(1e-12, 1.0 - 1e-12);
        ChurnScore {
            tenant_id: tenant_id.to_string(),
            probability,
            regime: Regime::Fallback,
            model_name: RULE_NAME.into(),
            model_version: 1,
            horizon_days,
            as_of,
            inactive_flag: self.fires(d),
            reasons: vec![ScoreReason {
                code: code.into(),
                description,
                weight: (p / (1.0 - p)).ln(),
                source: ReasonSource::Rule,
            }],
            facts,
        }
    }
}
