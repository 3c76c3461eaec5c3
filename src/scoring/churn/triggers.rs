//! Retention triggers: a JSON policy that maps churn scores (probability bands, reasons,
//! tenant facts) to actions such as `csm_call`, `discount_offer` or `onboarding_email`,
//! with a cool-down per action so a tenant is not contacted twice within a period.
//!
//! The library keeps no state between calls: the cool-down state (when each action last
//! fired for each tenant) is a [`CooldownState`] the caller stores (e.g. as JSON in a
//! cache or a column), passes in, and gets back updated. Decisions come back as structured
//! values for the application to dispatch as jobs or notifications.
//!
//! # Policy
//! ```json
//! {
//!   "bands": [{"name": "low", "min": 0.0}, {"name": "medium", "min": 0.3},
//!             {"name": "high", "min": 0.5}, {"name": "critical", "min": 0.7}],
//!   "rules": [
//!     {"action": "csm_call", "min_probability": 0.7, "min_seats": 10, "cooldown_days": 30}
//!   ]
//! }
//! ```
//! A rule fires for a score when every condition it states holds; a condition on a fact the
//! score does not know (e.g. `min_seats` without seats) does not hold. Conditions:
//! `min_probability` / `max_probability` (inclusive / exclusive), `bands` (any of),
//! `reasons_any` (any reason code of the score), `min_seats`, `max_seats`,
//! `min_tenure_days`, `max_tenure_days`, `min_days_inactive`, `max_active_days_30d`,
//! `max_volume_change_30d` (e.g. -0.3: usage down at least 30%), `regimes` (any of). Every
//! rule that holds fires (several actions per tenant are possible), unless its action fired
//! for that tenant less than `cooldown_days` ago.
//!
//! ```
//! use tenantml::scoring::churn::{CooldownState, TriggerPolicy};
//! let policy = TriggerPolicy::default_policy();
//! assert!(TriggerPolicy::from_json(r#"{"rules": [{"action": "x", "cooldown_days": -1}]}"#).is_err());
//! let state = CooldownState::from_json("{}")?;
//! assert!(state.last_fired.is_empty());
//! # let _ = policy;
//! # Ok::<(), tenantml::Error>(())
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::input::DAY;
use super::score::ChurnScore;
use crate::error::{Error, Result};
use crate::scoring::Regime;

/// A number as text: whole numbers without decimals, others with two.
fn num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A named probability band: scores at or above `min` (and below the next band's `min`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// Band name, e.g. `high`.
    pub name: String,
    /// Lowest probability of the band.
    pub min: f64,
}

/// One rule: conditions and the action they trigger (see the [module docs](self)).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TriggerRule {
    /// Action name the application dispatches, e.g. `csm_call` (letters, digits, `_`, `-`).
    pub action: String,
    /// Days before the action may fire again for the same tenant (>= 0; 0: every time).
    pub cooldown_days: f64,
    /// Probability at least this.
    pub min_probability: Option<f64>,
    /// Probability below this.
    pub max_probability: Option<f64>,
    /// The score's band is one of these.
    pub bands: Option<Vec<String>>,
    /// At least one of the score's reason codes is one of these.
    pub reasons_any: Option<Vec<String>>,
    /// At least this many seats.
    pub min_seats: Option<f64>,
    /// At most this many seats.
    pub max_seats: Option<f64>,
    /// Tenure at least this many days.
    pub min_tenure_days: Option<f64>,
    /// Tenure at most this many days.
    pub max_tenure_days: Option<f64>,
    /// Inactive for at least this many days.
    pub min_days_inactive: Option<f64>,
    /// Active on at most this many of the last 30 days.
    pub max_active_days_30d: Option<f64>,
    /// 30-day usage change (share) at most this.
    pub max_volume_change_30d: Option<f64>,
    /// The score's regime is one of these.
    pub regimes: Option<Vec<Regime>>,
}

/// Bands and rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerPolicy {
    /// Probability bands, ascending `min`, the first at 0 (default: low 0, medium 0.3, high
    /// 0.5, critical 0.7).
    #[serde(default = "default_bands")]
    pub bands: Vec<Band>,
    /// The rules, in the order decisions are listed.
    pub rules: Vec<TriggerRule>,
}

fn default_bands() -> Vec<Band> {
    [
        ("low", 0.0),
        ("medium", 0.3),
        ("high", 0.5),
        ("critical", 0.7),
    ]
    .into_iter()
    .map(|(name, min)| Band {
        name: name.into(),
        min,
    })
    .collect()
}

/// When each action last fired for each tenant: `last_fired[tenant][action]` = Unix
/// seconds. Serialises as `{"last_fired": {"t1": {"csm_call": 1736121600}}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CooldownState {
    /// Tenant id → action → last fired time.
    pub last_fired: BTreeMap<String, BTreeMap<String, i64>>,
}

impl CooldownState {
    /// Parses a state; `{}` is the empty state.
    pub fn from_json(json: &str) -> Result<CooldownState> {
        serde_json::from_str(json).map_err(|e| Error::Parse(format!("cool-down state: {e}")))
    }

    /// The state as JSON.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string(self)?)
    }
}

/// An action to take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerDecision {
    /// Tenant id.
    pub tenant_id: String,
    /// Action name.
    pub action: String,
    /// Why: the rule's conditions that held, and the score's top reason.
    pub reason: String,
    /// The score's band.
    pub band: String,
    /// The score's probability.
    pub probability: f64,
    /// The score's reason codes.
    pub reason_codes: Vec<String>,
    /// When it fired (the evaluation time), Unix seconds.
    pub fired_at: i64,
}

/// An action whose rule held but whose cool-down had not run out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuppressedDecision {
    /// Tenant id.
    pub tenant_id: String,
    /// Action name.
    pub action: String,
    /// When it last fired.
    pub last_fired_at: i64,
    /// When it may fire again.
    pub next_allowed_at: i64,
}

/// What [`TriggerPolicy::evaluate`] returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerOutcome {
    /// Actions to dispatch.
    pub decisions: Vec<TriggerDecision>,
    /// Actions held back by their cool-down.
    pub suppressed: Vec<SuppressedDecision>,
    /// The new state to store (fired actions recorded; entries whose cool-down has run out
    /// are dropped to keep it small).
    pub state: CooldownState,
}

impl TriggerPolicy {
    /// The policy used when none is configured:
    /// - `csm_call` (cool-down 30 days): probability >= 0.7 and at least 10 seats;
    /// - `discount_offer` (60 days): probability >= 0.5 and a price or usage-drop reason
    ///   (`monthly_price`, `usage_vs_allowance`, `volume_ratio_30d`, `volume_slope_30d`,
    ///   `volume_slope_30d_rel`);
    /// - `payment_recovery_email` (7 days): probability >= 0.3 and a failed-payment reason;
    /// - `onboarding_email` (14 days): tenure under 30 days and active on at most 5 of the
    ///   last 30 days.
    pub fn default_policy() -> TriggerPolicy {
        let reasons = |r: &[&str]| Some(r.iter().map(|s| s.to_string()).collect());
        TriggerPolicy {
            bands: default_bands(),
            rules: vec![
                TriggerRule {
                    action: "csm_call".into(),
                    cooldown_days: 30.0,
                    min_probability: Some(0.7),
                    min_seats: Some(10.0),
                    ..TriggerRule::default()
                },
                TriggerRule {
                    action: "discount_offer".into(),
                    cooldown_days: 60.0,
                    min_probability: Some(0.5),
                    reasons_any: reasons(&[
                        "monthly_price",
                        "usage_vs_allowance",
                        "volume_ratio_30d",
                        "volume_slope_30d",
                        "volume_slope_30d_rel",
                    ]),
                    ..TriggerRule::default()
                },
                TriggerRule {
                    action: "payment_recovery_email".into(),
                    cooldown_days: 7.0,
                    min_probability: Some(0.3),
                    reasons_any: reasons(&["failed_payments_30d", "failed_payments_90d"]),
                    ..TriggerRule::default()
                },
                TriggerRule {
                    action: "onboarding_email".into(),
                    cooldown_days: 14.0,
                    max_tenure_days: Some(30.0),
                    max_active_days_30d: Some(5.0),
                    ..TriggerRule::default()
                },
            ],
        }
    }

    /// Parses and checks a policy: invalid JSON, unknown fields, empty or repeated action
    /// names, negative or non-finite cool-downs, probabilities outside [0, 1], unknown band
    /// names and unordered bands are errors naming the rule.
    pub fn from_json(json: &str) -> Result<TriggerPolicy> {
        let p: TriggerPolicy =
            serde_json::from_str(json).map_err(|e| Error::Parse(format!("trigger policy: {e}")))?;
        p.check()?;
        Ok(p)
    }

    /// Checks the policy (see [`TriggerPolicy::from_json`]).
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidArgument(format!("trigger policy: {m}")));
        if self.bands.is_empty() || self.bands[0].min != 0.0 {
            return bad("bands must start with one whose min is 0".into());
        }
        for (i, b) in self.bands.iter().enumerate() {
            if b.name.is_empty() || !(0.0..=1.0).contains(&b.min) {
                return bad(format!("band {i} needs a name and a min in [0, 1]"));
            }
            if i > 0 && b.min <= self.bands[i - 1].min {
                return bad(format!(
                    "band '{}' must have a larger min than the one before",
                    b.name
                ));
            }
            if self.bands[..i].iter().any(|o| o.name == b.name) {
                return bad(format!("band '{}' appears twice", b.name));
            }
        }
        for (i, r) in self.rules.iter().enumerate() {
            let valid_name = !r.action.is_empty()
                && r.action
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid_name {
                return bad(format!(
                    "rule {i}: action '{}' must be non-empty letters, digits, '_' or '-'",
                    r.action
                ));
            }
            if self.rules[..i].iter().any(|o| o.action == r.action) {
                return bad(format!("rule {i}: action '{}' appears twice", r.action));
            }
            if !(r.cooldown_days.is_finite() && r.cooldown_days >= 0.0) {
                return bad(format!(
                    "rule {i} ({}): cooldown_days must be finite and >= 0, got {}",
                    r.action, r.cooldown_days
                ));
            }
            for (name, v) in [
                ("min_probability", r.min_probability),
                ("max_probability", r.max_probability),
            ] {
                if let Some(v) = v {
                    if !(0.0..=1.0).contains(&v) {
                        return bad(format!(
                            "rule {i} ({}): {name} must be in [0, 1], got {v}",
                            r.action
                        ));
                    }
                }
            }
            for (name, v) in [
                ("min_seats", r.min_seats),
                ("max_seats", r.max_seats),
                ("min_tenure_days", r.min_tenure_days),
                ("max_tenure_days", r.max_tenure_days),
                ("min_days_inactive", r.min_days_inactive),
                ("max_active_days_30d", r.max_active_days_30d),
                ("max_volume_change_30d", r.max_volume_change_30d),
            ] {
                if let Some(v) = v {
                    let floor = if name == "max_volume_change_30d" {
                        -1.0
                    } else {
                        0.0
                    };
                    if !(v.is_finite() && v >= floor) {
                        return bad(format!(
                            "rule {i} ({}): {name} must be finite and >= {floor}, got {v}",
                            r.action
                        ));
                    }
                }
            }
            if let Some(bands) = &r.bands {
                if let Some(b) = bands
                    .iter()
                    .find(|b| !self.bands.iter().any(|o| &o.name == *b))
                {
                    return bad(format!("rule {i} ({}): unknown band '{b}'", r.action));
                }
            }
        }
        Ok(())
    }

    /// The band of a probability.
    pub fn band(&self, probability: f64) -> &str {
        self.bands
            .iter()
            .rev()
            .find(|b| probability >= b.min)
            .unwrap_or(&self.bands[0])
            .name
            .as_str()
    }

    /// The conditions of `rule` that hold for `score`, as text, or `None` when one fails.
    fn matches(&self, rule: &TriggerRule, score: &ChurnScore) -> Option<Vec<String>> {
        let f = &score.facts;
        let p = score.probability;
        let band = self.band(p);
        let mut why = Vec::new();
        let at_least =
            |v: Option<f64>, min: Option<f64>, what: &str, why: &mut Vec<String>| match min {
                None => true,
                Some(m) => match v {
                    Some(v) if v >= m => {
                        why.push(format!("{what} {} >= {m}", num(v)));
                        true
                    }
                    _ => false,
                },
            };
        let at_most =
            |v: Option<f64>, max: Option<f64>, what: &str, why: &mut Vec<String>| match max {
                None => true,
                Some(m) => match v {
                    Some(v) if v <= m => {
                        why.push(format!("{what} {} <= {m}", num(v)));
                        true
                    }
                    _ => false,
                },
            };
        if let Some(m) = rule.min_probability {
            if p < m {
                return None;
            }
            why.push(format!("probability {p:.2} >= {m}"));
        }
        if let Some(m) = rule.max_probability {
            if p >= m {
                return None;
            }
        }
        if let Some(bands) = &rule.bands {
            if !bands.iter().any(|b| b == band) {
                return None;
            }
            why.push(format!("band {band}"));
        }
        if let Some(codes) = &rule.reasons_any {
            let hit = score.reasons.iter().find(|r| codes.contains(&r.code))?;
            why.push(format!("reason {}", hit.description));
        }
        let ok = at_least(f.seats, rule.min_seats, "seats", &mut why)
            && at_most(f.seats, rule.max_seats, "seats", &mut why)
            && at_least(f.tenure_days, rule.min_tenure_days, "tenure days", &mut why)
            && at_most(f.tenure_days, rule.max_tenure_days, "tenure days", &mut why)
            && at_least(
                f.days_inactive,
                rule.min_days_inactive,
                "days inactive",
                &mut why,
            )
            && at_most(
                f.active_days_30d,
                rule.max_active_days_30d,
                "active days (30d)",
                &mut why,
            )
            && at_most(
                f.volume_change_30d,
                rule.max_volume_change_30d,
                "usage change (30d)",
                &mut why,
            );
        if !ok {
            return None;
        }
        if let Some(regimes) = &rule.regimes {
            if !regimes.contains(&score.regime) {
                return None;
            }
        }
        Some(why)
    }

    /// Evaluates every rule for every score at time `now` (Unix seconds), against and
    /// updating the cool-down `state`. See the [module docs](self).
    pub fn evaluate(
        &self,
        scores: &[ChurnScore],
        state: &CooldownState,
        now: i64,
    ) -> TriggerOutcome {
        let mut next = state.clone();
        let mut decisions = Vec::new();
        let mut suppressed = Vec::new();
        for score in scores {
            for rule in &self.rules {
                let Some(why) = self.matches(rule, score) else {
                    continue;
                };
                let cooldown = (rule.cooldown_days * DAY as f64).round() as i64;
                let last = state
                    .last_fired
                    .get(&score.tenant_id)
                    .and_then(|m| m.get(&rule.action))
                    .copied();
                if let Some(last) = last {
                    if now < last.saturating_add(cooldown) {
                        suppressed.push(SuppressedDecision {
                            tenant_id: score.tenant_id.clone(),
                            action: rule.action.clone(),
                            last_fired_at: last,
                            next_allowed_at: last.saturating_add(cooldown),
                        });
                        continue;
                    }
                }
                let mut reason = why.join(", ");
                if let Some(top) = score.reasons.first() {
                    if !reason.contains(&top.description) {
                        if !reason.is_empty() {
                            reason.push_str("; ");
                        }
                        reason.push_str("top reason: ");
                        reason.push_str(&top.description);
                    }
                }
                decisions.push(TriggerDecision {
                    tenant_id: score.tenant_id.clone(),
                    action: rule.action.clone(),
                    reason,
                    band: self.band(score.probability).to_string(),
                    probability: score.probability,
                    reason_codes: score.reasons.iter().map(|r| r.code.clone()).collect(),
                    fired_at: now,
                });
                next.last_fired
                    .entry(score.tenant_id.clone())
                    .or_default()
                    .insert(rule.action.clone(), now);
            }
        }
        // Forget entries whose cool-down has run out (actions of this policy only).
        for actions in next.last_fired.values_mut() {
            actions.retain(
                |action, last| match self.rules.iter().find(|r| &r.action == action) {
                    Some(r) => {
                        now < last.saturating_add((r.cooldown_days * DAY as f64).round() as i64)
                    }
                    None => true,
                },
            );
        }
        next.last_fired.retain(|_, actions| !actions.is_empty());
        TriggerOutcome {
            decisions,
            suppressed,
            state: next,
        }
    }

    /// [`TriggerPolicy::evaluate`] with the state and outcome as JSON (the shape PHP
    /// passes): `state_json` may be empty for no state.
    pub fn evaluate_json(
        &self,
        scores: &[ChurnScore],
        state_json: &str,
        now: i64,
    ) -> Result<String> {
        let state = if state_json.trim().is_empty() {
            CooldownState::default()
        } else {
            CooldownState::from_json(state_json)?
        };
        Ok(serde_json::to_string(&self.evaluate(scores, &state, now))?)
    }
}
