//! The JSON form of a rule configuration and its strict validation (see the parent
//! module's table of rule types).

use serde::{Deserialize, Serialize};

use super::{Rule, RuleKind, RulesConfig, MAX_RULES};
use crate::scoring::fraud::features::VelocityWindow;
use crate::scoring::fraud::types::{check_thresholds, Decision};

/// The JSON form of a configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigSpec {
    #[serde(default = "default_name")]
    name: String,
    #[serde(default = "default_version")]
    version: u64,
    #[serde(default = "default_review")]
    review_at: f64,
    #[serde(default = "default_decline")]
    decline_at: f64,
    rules: Vec<RuleSpec>,
}

fn default_name() -> String {
    "rules".to_string()
}
fn default_version() -> u64 {
    1
}
fn default_review() -> f64 {
    0.3
}
fn default_decline() -> f64 {
    0.7
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RuleType {
    AmountOver,
    AmountOverMedian,
    NightTime,
    VelocityCount,
    VelocitySum,
    NewMethodForeign,
    FailedAttempts,
}

impl RuleType {
    fn name(self) -> &'static str {
        match self {
            RuleType::AmountOver => "amount_over",
            RuleType::AmountOverMedian => "amount_over_median",
            RuleType::NightTime => "night_time",
            RuleType::VelocityCount => "velocity_count",
            RuleType::VelocitySum => "velocity_sum",
            RuleType::NewMethodForeign => "new_method_foreign",
            RuleType::FailedAttempts => "failed_attempts",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    #[serde(rename = "type")]
    kind: Option<RuleType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    weight: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    limit: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    factor: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min_history: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from_hour: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to_hour: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    window: Option<VelocityWindow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_sum: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    action: Option<Decision>,
}

impl RuleSpec {
    /// The parameters given, by name.
    fn given(&self) -> Vec<&'static str> {
        let mut g = Vec::new();
        for (name, present) in [
            ("limit", self.limit.is_some()),
            ("factor", self.factor.is_some()),
            ("min_history", self.min_history.is_some()),
            ("from_hour", self.from_hour.is_some()),
            ("to_hour", self.to_hour.is_some()),
            ("window", self.window.is_some()),
            ("max_count", self.max_count.is_some()),
            ("max_sum", self.max_sum.is_some()),
            ("min_count", self.min_count.is_some()),
        ] {
            if present {
                g.push(name);
            }
        }
        g
    }

    fn into_rule(self, index: usize) -> std::result::Result<Rule, String> {
        let kind_type = self
            .kind
            .ok_or_else(|| format!("rule {index}: missing field `type`"))?;
        let tname = kind_type.name();
        let at = format!("rule {index} ({tname})");
        let expected: &[&str] = match kind_type {
            RuleType::AmountOver => &["limit"],
            RuleType::AmountOverMedian => &["factor", "min_history"],
            RuleType::NightTime => &["from_hour", "to_hour"],
            RuleType::VelocityCount => &["window", "max_count"],
            RuleType::VelocitySum => &["window", "max_sum"],
            RuleType::NewMethodForeign => &[],
            RuleType::FailedAttempts => &["min_count"],
        };
        let given = self.given();
        if let Some(extra) = given.iter().find(|g| !expected.contains(g)) {
            return Err(format!(
                "{at}: `{extra}` is not a parameter of this rule type (it takes: {})",
                if expected.is_empty() {
                    "none".to_string()
                } else {
                    expected.join(", ")
                }
            ));
        }
        if let Some(missing) = expected.iter().find(|e| !given.contains(e)) {
            return Err(format!("{at}: missing parameter `{missing}`"));
        }
        let threshold = |name: &str, v: Option<f64>| -> std::result::Result<f64, String> {
            let v = v.expect("checked present");
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(format!(
                    "{at}: `{name}` must be a finite number >= 0, got {v}"
                ))
            }
        };
        let hour = |name: &str, v: Option<u8>| -> std::result::Result<u8, String> {
            let v = v.expect("checked present");
            if v <= 23 {
                Ok(v)
            } else {
                Err(format!("{at}: `{name}` must be an hour 0..=23, got {v}"))
            }
        };
        let kind = match kind_type {
            RuleType::AmountOver => RuleKind::AmountOver {
                limit: threshold("limit", self.limit)?,
            },
            RuleType::AmountOverMedian => RuleKind::AmountOverMedian {
                factor: threshold("factor", self.factor)?,
                min_history: self.min_history.expect("checked present"),
            },
            RuleType::NightTime => {
                let from_hour = hour("from_hour", self.from_hour)?;
                let to_hour = hour("to_hour", self.to_hour)?;
                if from_hour == to_hour {
                    return Err(format!(
                        "{at}: from_hour and to_hour are both {from_hour}: an empty range"
                    ));
                }
                RuleKind::NightTime { from_hour, to_hour }
            }
            RuleType::VelocityCount => RuleKind::VelocityCount {
                window: self.window.expect("checked present"),
                max_count: self.max_count.expect("checked present"),
            },
            RuleType::VelocitySum => RuleKind::VelocitySum {
                window: self.window.expect("checked present"),
                max_sum: threshold("max_sum", self.max_sum)?,
            },
            RuleType::NewMethodForeign => RuleKind::NewMethodForeign,
            RuleType::FailedAttempts => RuleKind::FailedAttempts {
                min_count: self.min_count.expect("checked present"),
            },
        };
        let weight = self
            .weight
            .ok_or_else(|| format!("{at}: missing field `weight`"))?;
        if !(weight.is_finite() && weight > 0.0 && weight <= 1.0) {
            return Err(format!("{at}: `weight` must be in (0, 1], got {weight}"));
        }
        let code = self.code.unwrap_or_else(|| tname.to_string());
        if code.is_empty()
            || code.len() > 64
            || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!(
                "{at}: code '{code}' must be 1..=64 letters, digits or '_'"
            ));
        }
        if self.action == Some(Decision::Approve) {
            return Err(format!(
                "{at}: `action` is \"review\" or \"decline\" (a rule cannot approve)"
            ));
        }
        Ok(Rule {
            code,
            weight,
            kind,
            action: self.action,
        })
    }
}

impl From<Rule> for RuleSpec {
    fn from(r: Rule) -> Self {
        let mut s = RuleSpec {
            code: Some(r.code),
            weight: Some(r.weight),
            action: r.action,
            ..Default::default()
        };
        s.kind = Some(match r.kind {
            RuleKind::AmountOver { limit } => {
                s.limit = Some(limit);
                RuleType::AmountOver
            }
            RuleKind::AmountOverMedian {
                factor,
                min_history,
            } => {
                s.factor = Some(factor);
                s.min_history = Some(min_history);
                RuleType::AmountOverMedian
            }
            RuleKind::NightTime { from_hour, to_hour } => {
                s.from_hour = Some(from_hour);
                s.to_hour = Some(to_hour);
                RuleType::NightTime
            }
            RuleKind::VelocityCount { window, max_count } => {
                s.window = Some(window);
                s.max_count = Some(max_count);
                RuleType::VelocityCount
            }
            RuleKind::VelocitySum { window, max_sum } => {
                s.window = Some(window);
                s.max_sum = Some(max_sum);
                RuleType::VelocitySum
            }
            RuleKind::NewMethodForeign => RuleType::NewMethodForeign,
            RuleKind::FailedAttempts { min_count } => {
                s.min_count = Some(min_count);
                RuleType::FailedAttempts
            }
        });
        s
    }
}

impl TryFrom<ConfigSpec> for RulesConfig {
    type Error = String;

    fn try_from(spec: ConfigSpec) -> std::result::Result<Self, String> {
        if spec.rules.len() > MAX_RULES {
            return Err(format!(
                "{} rules, at most {MAX_RULES} are supported",
                spec.rules.len()
            ));
        }
        check_thresholds(spec.review_at, spec.decline_at).map_err(|e| e.to_string())?;
        if spec.name.is_empty() {
            return Err("name is empty".into());
        }
        let mut rules: Vec<Rule> = Vec::with_capacity(spec.rules.len());
        for (i, r) in spec.rules.into_iter().enumerate() {
            let rule = r.into_rule(i)?;
            if rules.iter().any(|o| o.code == rule.code) {
                return Err(format!(
                    "rule {i}: code '{}' is used twice (give each rule its own `code`)",
                    rule.code
                ));
            }
            rules.push(rule);
        }
        Ok(RulesConfig {
            name: spec.name,
            version: spec.version,
            review_at: spec.review_at,
            decline_at: spec.decline_at,
            rules,
        })
    }
}

impl From<RulesConfig> for ConfigSpec {
    fn from(c: RulesConfig) -> Self {
        ConfigSpec {
            name: c.name,
            version: c.version,
            review_at: c.review_at,
            decline_at: c.decline_at,
            rules: c.rules.into_iter().map(RuleSpec::from).collect(),
        }
    }
}
