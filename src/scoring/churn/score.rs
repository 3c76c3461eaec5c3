//! [`ChurnScore`], the answer every churn path gives (model, cold start or the inactivity
//! rule), and the readable text of each feature reason.

use serde::{Deserialize, Serialize};

use super::features::{feature_index, N_FEATURES};
use crate::scoring::{Regime, ScoreReason};

/// A churn probability for one tenant, where it came from and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnScore {
    /// The caller's tenant id.
    pub tenant_id: String,
    /// Probability of churning within `horizon_days` after `as_of`, in [0, 1] (for the rule,
    /// a monotone score in [0, 1]; see [`InactivityRule`](super::InactivityRule)).
    pub probability: f64,
    /// Which path answered.
    pub regime: Regime,
    /// Model name (`inactivity-rule` for the rule).
    pub model_name: String,
    /// Model version.
    pub model_version: u64,
    /// The horizon the probability is for, in days.
    pub horizon_days: u32,
    /// The observation time, Unix seconds.
    pub as_of: i64,
    /// Whether the days-inactive rule fires (inactive for at least its threshold), whatever
    /// the regime: the flag the platform used before the model.
    pub inactive_flag: bool,
    /// The strongest reasons pushing the probability up, strongest first.
    pub reasons: Vec<ScoreReason>,
    /// A few facts about the tenant that retention triggers test.
    pub facts: TenantFacts,
}

/// Facts about a tenant as of the score's time (`None` when unknown).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantFacts {
    /// Days since the last activity (for a tenant never active: days since the start).
    pub days_inactive: Option<f64>,
    /// Days since the subscription started.
    pub tenure_days: Option<f64>,
    /// Seats.
    pub seats: Option<f64>,
    /// Monthly price.
    pub monthly_price: Option<f64>,
    /// Days with activity in the last 30 days.
    pub active_days_30d: Option<f64>,
    /// Change of the 30-day volume against the 30 days before, as a share (-0.6 = down 60%).
    pub volume_change_30d: Option<f64>,
}

fn known(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

impl TenantFacts {
    /// The facts in a feature row.
    pub fn from_features(f: &[f64; N_FEATURES]) -> TenantFacts {
        let get = |name: &str| known(f[feature_index(name).expect("a churn feature")]);
        let tenure = get("tenure_days");
        TenantFacts {
            days_inactive: get("days_since_last_activity").or_else(|| {
                // Known activity, none ever: inactive since the start.
                if get("events_90d").is_some() {
                    tenure
                } else {
                    None
                }
            }),
            tenure_days: tenure,
            seats: get("seats"),
            monthly_price: get("monthly_price"),
            active_days_30d: get("active_days_30d"),
            volume_change_30d: get("volume_ratio_30d").map(|r| r - 1.0),
        }
    }
}

fn plural(n: f64, word: &str) -> String {
    if n == 1.0 {
        format!("1 {word}")
    } else {
        format!("{n:.0} {word}s")
    }
}

/// Readable text of a feature value, e.g. "no activity for 21 days" or "usage down 60% vs
/// previous 30 days".
pub fn describe_feature(name: &str, value: f64) -> String {
    if value.is_nan() {
        return match name {
            "days_since_last_activity" => "no recorded activity".into(),
            "volume_ratio_30d" => "no usage in the 30 days before the last 30".into(),
            "volume_slope_30d" | "volume_slope_30d_rel" => "no usage in the last 30 days".into(),
            _ => format!("{} unknown", name.replace('_', " ")),
        };
    }
    let window = |n: &str| {
        n.rsplit('_')
            .next()
            .unwrap_or("")
            .trim_end_matches('d')
            .to_string()
    };
    match name {
        "days_since_last_activity" => format!("no activity for {}", plural(value.floor(), "day")),
        n if n.starts_with("active_days_") => {
            format!("active on {value:.0} of the last {} days", window(n))
        }
        n if n.starts_with("events_") => {
            format!(
                "{} in the last {} days",
                plural(value, "usage event"),
                window(n)
            )
        }
        n if n.starts_with("volume_")
            && n.ends_with('d')
            && !n.contains("slope")
            && !n.contains("ratio") =>
        {
            format!("usage volume {value:.1} in the last {} days", window(n))
        }
        "volume_slope_30d" => format!("daily usage trend {value:+.2} per day over 30 days"),
        "volume_slope_30d_rel" => {
            let pct = (value * 100.0).round();
            if pct < 0.0 {
                format!("usage trending down {:.0}% over the last 30 days", -pct)
            } else {
                format!("usage trending up {pct:.0}% over the last 30 days")
            }
        }
        "volume_ratio_30d" => {
            let pct = ((value - 1.0) * 100.0).round();
            if pct < 0.0 {
                format!("usage down {:.0}% vs previous 30 days", -pct)
            } else {
                format!("usage up {pct:.0}% vs previous 30 days")
            }
        }
        "usage_vs_allowance" => {
            let pct = value * 100.0;
            if pct > 0.0 && pct < 1.0 {
                format!("using {pct:.1}% of the plan allowance")
            } else {
                format!("using {pct:.0}% of the plan allowance")
            }
        }
        "seats" => plural(value, "seat"),
        "monthly_price" => format!("monthly price {value:.2}"),
        n if n.starts_with("failed_payments_") => {
            format!(
                "{} in the last {} days",
                plural(value, "failed payment"),
                window(n)
            )
        }
        n if n.starts_with("tickets_") => {
            format!(
                "{} in the last {} days",
                plural(value, "support ticket"),
                window(n)
            )
        }
        "tenure_days" => format!("customer for {}", plural(value.floor(), "day")),
        other => format!("{other} = {value}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_read_naturally() {
        assert_eq!(
            describe_feature("days_since_last_activity", 21.4),
            "no activity for 21 days"
        );
        assert_eq!(
            describe_feature("volume_ratio_30d", 0.4),
            "usage down 60% vs previous 30 days"
        );
        assert_eq!(
            describe_feature("failed_payments_30d", 1.0),
            "1 failed payment in the last 30 days"
        );
        assert_eq!(
            describe_feature("active_days_7d", 2.0),
            "active on 2 of the last 7 days"
        );
        assert_eq!(
            describe_feature("volume_90d", 3.0),
            "usage volume 3.0 in the last 90 days"
        );
        assert_eq!(describe_feature("seats", f64::NAN), "seats unknown");
    }
}
