//! The rule engine: hand-written fraud rules with thresholds from JSON, each with a reason
//! code and a weight. It is the fallback when no model can answer, usable alone
//! ([`FraudScorer::rules_only`](super::FraudScorer::rules_only)), and its hits are features
//! of the model.
//!
//! # Combination
//! The rule score is `1 - prod(1 - weight_i)` over the rules that fired: each rule is read
//! as an independent chance that the transaction is fraud, so one rule of weight 0.5 gives
//! 0.5, two give 0.75, and no rule gives 0. The score is in `[0, 1)` for weights below 1 and
//! reaches 1 when a rule of weight 1 fires.
//!
//! # Configuration
//! ```json
//! {
//!   "name": "platform-rules", "version": 3,
//!   "review_at": 0.3, "decline_at": 0.7,
//!   "rules": [
//!     {"type": "amount_over", "limit": 1000, "weight": 0.35},
//!     {"type": "velocity_count", "window": "10m", "max_count": 3, "weight": 0.5,
//!      "code": "card_testing"}
//!   ]
//! }
//! ```
//! Rule types and their parameters (all thresholds are finite and >= 0):
//!
//! | type | parameters | fires when |
//! |---|---|---|
//! | `amount_over` | `limit` | amount > limit |
//! | `amount_over_median` | `factor`, `min_history` | at least `min_history` earlier rows and amount > factor x their median |
//! | `night_time` | `from_hour`, `to_hour` (0..=23) | local hour in `[from_hour, to_hour)`, wrapping past midnight when `from_hour > to_hour` |
//! | `velocity_count` | `window` (`10m`, `1h`, `24h`), `max_count` | transactions in the window (this one included) > max_count |
//! | `velocity_sum` | `window`, `max_sum` | amount in the window (this one included) > max_sum |
//! | `new_method_foreign` | none | new payment method and (card country != IP country, or a country new for the customer) |
//! | `failed_attempts` | `min_count` | failed attempts in the last 24 hours >= min_count |
//!
//! Every rule has a `weight` in (0, 1] and an optional `code` (default: the type name;
//! codes must be distinct, of letters, digits and `_`). Unknown fields, unknown types and
//! parameters a type does not take are errors.
//!
//! # Hard rules
//! A rule may also carry `"action": "review"` or `"action": "decline"`: when it fires, the
//! decision is at least that, whatever the score (the model's or the rules'). This is how a
//! platform keeps a policy the model must not overrule ("every payment over 5,000 is
//! reviewed"); the score itself is unchanged. No default rule is hard.

use serde::{Deserialize, Serialize};

use super::features::{Facts, VelocityWindow};
use super::types::Decision;
use crate::error::{Error, Result};
use json::ConfigSpec;

mod json;

/// Most rules in one configuration (rule hits travel as bits of a `u64`).
pub const MAX_RULES: usize = 64;

/// What a rule tests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RuleKind {
    /// Amount above a limit.
    AmountOver {
        /// The limit.
        limit: f64,
    },
    /// Amount above a multiple of the customer's median.
    AmountOverMedian {
        /// The multiple.
        factor: f64,
        /// Fewest earlier rows for the rule to apply.
        min_history: u32,
    },
    /// Local hour in `[from_hour, to_hour)` (wrapping).
    NightTime {
        /// First hour, 0..=23.
        from_hour: u8,
        /// First hour after the range, 0..=23.
        to_hour: u8,
    },
    /// More than `max_count` transactions in the window.
    VelocityCount {
        /// The window.
        window: VelocityWindow,
        /// Largest count that does not fire.
        max_count: u32,
    },
    /// More than `max_sum` spent in the window.
    VelocitySum {
        /// The window.
        window: VelocityWindow,
        /// Largest sum that does not fire.
        max_sum: f64,
    },
    /// New payment method together with a foreign or new country.
    NewMethodForeign,
    /// At least `min_count` failed attempts in 24 hours.
    FailedAttempts {
        /// Fewest failures that fire.
        min_count: u32,
    },
}

/// One configured rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Stable reason code.
    pub code: String,
    /// Weight in (0, 1].
    pub weight: f64,
    /// The test.
    pub kind: RuleKind,
    /// For a hard rule, the least decision it imposes when it fires (review or decline).
    pub action: Option<Decision>,
}

impl Rule {
    /// Whether the rule fires on these facts.
    #[inline]
    pub fn fires(&self, f: &Facts) -> bool {
        match self.kind {
            RuleKind::AmountOver { limit } => f.amount > limit,
            RuleKind::AmountOverMedian {
                factor,
                min_history,
            } => f.history_len >= min_history as usize && f.amount > factor * f.median,
            RuleKind::NightTime { from_hour, to_hour } => {
                let h = f.local_hour;
                if from_hour <= to_hour {
                    (from_hour..to_hour).contains(&h)
                } else {
                    h >= from_hour || h < to_hour
                }
            }
            RuleKind::VelocityCount { window, max_count } => f.count[window.index()] > max_count,
            RuleKind::VelocitySum { window, max_sum } => f.sum[window.index()] > max_sum,
            RuleKind::NewMethodForeign => {
                f.new_payment_method() && (f.country_mismatch == Some(true) || f.new_country)
            }
            RuleKind::FailedAttempts { min_count } => f.failed_24h >= min_count,
        }
    }

    /// Readable text of a hit on these facts, e.g. "7 transactions in the last hour
    /// (limit 6)".
    pub fn describe(&self, f: &Facts) -> String {
        match self.kind {
            RuleKind::AmountOver { limit } => {
                format!("amount {:.2} is over the limit {limit:.2}", f.amount)
            }
            RuleKind::AmountOverMedian { factor, .. } => format!(
                "amount {:.2} is over {factor}x the customer's median {:.2}",
                f.amount, f.median
            ),
            RuleKind::NightTime { from_hour, to_hour } => format!(
                "local time {:02}:{:02} is in the night hours {from_hour:02}:00-{to_hour:02}:00",
                f.local_hour, f.local_minute
            ),
            RuleKind::VelocityCount { window, max_count } => format!(
                "{} transactions in the last {} (limit {max_count})",
                f.count[window.index()],
                window.text()
            ),
            RuleKind::VelocitySum { window, max_sum } => format!(
                "{:.2} spent in the last {} (limit {max_sum:.2})",
                f.sum[window.index()],
                window.text()
            ),
            RuleKind::NewMethodForeign => {
                if f.country_mismatch == Some(true) {
                    "new payment method with a card country that differs from the IP country"
                        .to_string()
                } else {
                    "new payment method from a country new for this customer".to_string()
                }
            }
            RuleKind::FailedAttempts { min_count } => format!(
                "{} failed attempts in the last 24 hours (limit {min_count})",
                f.failed_24h
            ),
        }
    }
}

/// A validated rule configuration. Parse it with [`RulesConfig::from_json`] (or serde).
///
/// ```
/// use tenantml::scoring::fraud::RulesConfig;
/// let rules = RulesConfig::from_json(
///     r#"{"rules": [{"type": "amount_over", "limit": 500, "weight": 0.6}]}"#,
/// )?;
/// assert_eq!(rules.rules()[0].code, "amount_over");
/// let err = RulesConfig::from_json(r#"{"rules": [{"type": "moon_phase", "weight": 0.1}]}"#);
/// assert!(err.unwrap_err().to_string().contains("moon_phase"));
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ConfigSpec", into = "ConfigSpec")]
pub struct RulesConfig {
    name: String,
    version: u64,
    review_at: f64,
    decline_at: f64,
    rules: Vec<Rule>,
}

impl Default for RulesConfig {
    /// The default rules, mirroring a typical platform's hand-written ones (see
    /// [`RulesConfig::DEFAULT_JSON`]).
    fn default() -> Self {
        RulesConfig::from_json(RulesConfig::DEFAULT_JSON).expect("the default rules are valid")
    }
}

impl RulesConfig {
    /// The default configuration: a card-testing velocity rule, an hourly velocity rule, a
    /// daily spend limit, an absolute amount limit, an amount-spike rule, new method plus
    /// foreign country, repeated failures and night hours.
    pub const DEFAULT_JSON: &'static str = r#"{
  "name": "default-rules",
  "version": 1,
  "review_at": 0.3,
  "decline_at": 0.7,
  "rules": [
    {"type": "amount_over", "code": "amount_over_limit", "limit": 1000, "weight": 0.35},
    {"type": "amount_over_median", "code": "amount_spike", "factor": 5, "min_history": 3, "weight": 0.3},
    {"type": "night_time", "from_hour": 0, "to_hour": 5, "weight": 0.1},
    {"type": "velocity_count", "code": "velocity_10m", "window": "10m", "max_count": 3, "weight": 0.5},
    {"type": "velocity_count", "code": "velocity_1h", "window": "1h", "max_count": 6, "weight": 0.4},
    {"type": "velocity_sum", "code": "spend_24h", "window": "24h", "max_sum": 2000, "weight": 0.3},
    {"type": "new_method_foreign", "weight": 0.5},
    {"type": "failed_attempts", "min_count": 3, "weight": 0.5}
  ]
}"#;

    /// Parses and validates a configuration; every problem is [`Error::Parse`] naming the
    /// rule and the field.
    pub fn from_json(json: &str) -> Result<RulesConfig> {
        let spec: ConfigSpec =
            serde_json::from_str(json).map_err(|e| Error::Parse(format!("fraud rules: {e}")))?;
        RulesConfig::try_from(spec).map_err(|e| Error::Parse(format!("fraud rules: {e}")))
    }

    /// The configuration as JSON (parses back to the same value).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&ConfigSpec::from(self.clone())).expect("plain data")
    }

    /// The rules, in order (rule `i` is bit `i` of [`ScoreSummary::rule_hits`]).
    ///
    /// [`ScoreSummary::rule_hits`]: super::ScoreSummary::rule_hits
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Name of the rule set (the model name in rules-only mode).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Version of the rule set.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Rule score at or above which a transaction is reviewed.
    pub fn review_at(&self) -> f64 {
        self.review_at
    }

    /// Rule score at or above which a transaction is declined.
    pub fn decline_at(&self) -> f64 {
        self.decline_at
    }

    /// Bit mask of the rules that fire and the combined score `1 - prod(1 - w)`.
    #[inline]
    pub fn evaluate(&self, facts: &Facts) -> (u64, f64) {
        let mut hits = 0u64;
        // s + w (1 - s) is 1 - prod(1 - w) accumulated so that one hit gives its weight
        // exactly.
        let mut score = 0.0;
        for (i, r) in self.rules.iter().enumerate() {
            if r.fires(facts) {
                hits |= 1 << i;
                score += r.weight * (1.0 - score);
            }
        }
        (hits, score)
    }

    /// The decision for a rule score under this configuration's thresholds.
    pub fn decide(&self, score: f64) -> Decision {
        Decision::from_score(score, self.review_at, self.decline_at)
    }

    /// `decision` raised to what the hard rules among `hits` impose (see the [module
    /// docs](self)): decline if a firing rule says decline, else at least review if one
    /// says review.
    #[inline]
    pub fn enforce(&self, decision: Decision, hits: u64) -> Decision {
        if hits == 0 {
            return decision;
        }
        let imposed = (self.rules.iter().enumerate())
            .filter(|(i, _)| hits & (1 << i) != 0)
            .filter_map(|(_, r)| r.action)
            .max_by_key(|d| *d as u32);
        match imposed {
            Some(d) if (d as u32) > (decision as u32) => d,
            _ => decision,
        }
    }

    /// Codes of the rules whose bit is set in `hits`.
    pub fn hit_codes(&self, hits: u64) -> Vec<String> {
        self.rules
            .iter()
            .enumerate()
            .filter(|(i, _)| hits & (1 << i) != 0)
            .map(|(_, r)| r.code.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(hour: u8) -> Facts {
        Facts {
            amount: 10.0,
            history_len: 0,
            mean: f64::NAN,
            std: f64::NAN,
            median: f64::NAN,
            local_hour: hour,
            local_minute: 0,
            weekday: 0,
            count: [1; 3],
            sum: [10.0; 3],
            seconds_since_previous: None,
            method_uses: 0,
            method_age_seconds: None,
            country_mismatch: None,
            new_country: true,
            failed_24h: 0,
        }
    }

    #[test]
    fn night_ranges_wrap_past_midnight() {
        let rule = |from_hour, to_hour| Rule {
            code: "n".into(),
            weight: 0.1,
            action: None,
            kind: RuleKind::NightTime { from_hour, to_hour },
        };
        let fired = |r: &Rule| (0..24).filter(|&h| r.fires(&facts(h))).collect::<Vec<u8>>();
        assert_eq!(fired(&rule(0, 5)), vec![0, 1, 2, 3, 4]);
        assert_eq!(fired(&rule(22, 2)), vec![0, 1, 22, 23]);
    }

    #[test]
    fn the_median_rule_needs_history_and_the_foreign_rule_a_new_method() {
        let spike = Rule {
            code: "s".into(),
            weight: 0.3,
            action: None,
            kind: RuleKind::AmountOverMedian {
                factor: 2.0,
                min_history: 0,
            },
        };
        // No history: the median is NaN and comparisons with NaN are false.
        assert!(!spike.fires(&facts(12)));
        let foreign = Rule {
            code: "f".into(),
            weight: 0.5,
            action: None,
            kind: RuleKind::NewMethodForeign,
        };
        assert!(foreign.fires(&facts(12)), "new method, new country");
        let mut known = facts(12);
        known.method_uses = 2;
        assert!(!foreign.fires(&known));
    }

    #[test]
    fn more_than_64_rules_are_refused() {
        let rules: Vec<String> = (0..65)
            .map(|i| {
                format!(r#"{{"type": "amount_over", "code": "r{i}", "limit": {i}, "weight": 0.1}}"#)
            })
            .collect();
        let json = format!(r#"{{"rules": [{}]}}"#, rules.join(","));
        assert!(RulesConfig::from_json(&json)
            .unwrap_err()
            .to_string()
            .contains("64"));
    }
}
