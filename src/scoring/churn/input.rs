//! What the caller knows about one tenant: activity, subscription, billing and support
//! history. Every part is optional; a part that is absent (`None`, or missing from the
//! JSON) makes its features NaN, while a part given as empty (`[]`) means "known: nothing
//! happened" and gives zeros.
//!
//! Times are Unix seconds (UTC). Events need not be sorted.
//!
//! ```
//! use tenantml::scoring::churn::TenantHistory;
//! let json = r#"{
//!     "id": "acme",
//!     "events": [{"at": 1736121600, "amount": 3.0}, {"at": 1736208000, "amount": 1.5}],
//!     "subscription": {"plan": "pro", "started_at": 1730000000, "seats": 12, "monthly_price": 240},
//!     "failed_payments": [],
//!     "tickets": [{"at": 1736000000, "severity": 2}]
//! }"#;
//! let tenant = TenantHistory::from_json(json)?;
//! assert_eq!(tenant.events.as_ref().map(|e| e.len()), Some(2));
//! // The same tenant from plain slices (as a C caller passes them).
//! let same = TenantHistory::new("acme")
//!     .with_events(&[1736121600, 1736208000], &[3.0, 1.5])?
//!     .with_failed_payments(&[])
//!     .with_tickets(&[1736000000], Some(&[2.0]))?;
//! assert_eq!(same.events, tenant.events);
//! # Ok::<(), tenantml::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Seconds per day.
pub const DAY: i64 = 86_400;

/// One usage event: something the tenant did, with an amount (API calls, documents,
/// minutes; 1 when there is nothing to measure).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageEvent {
    /// When, in Unix seconds.
    pub at: i64,
    /// How much, finite and >= 0 (default 1).
    #[serde(default = "one")]
    pub amount: f64,
}

fn one() -> f64 {
    1.0
}

/// Daily usage totals: `values[i]` is the usage of the UTC day starting at
/// `start + i * 86400`. NaN means "not recorded" (skipped), 0 means "no usage".
///
/// A day counts as one event at its last second, so it is seen only by observations at or
/// after the end of the day (no partial-day leakage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyUsage {
    /// Start of the first day, Unix seconds (a multiple of 86400 for UTC days).
    pub start: i64,
    /// One total per day; JSON `null` is read as NaN.
    #[serde(with = "nan_as_null")]
    pub values: Vec<f64>,
}

/// Subscription facts; each is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Subscription {
    /// Plan code, e.g. `pro` (descriptive; not a model feature).
    pub plan: Option<String>,
    /// When the subscription (tenure) started, Unix seconds.
    pub started_at: Option<i64>,
    /// Seats paid for, >= 0.
    pub seats: Option<f64>,
    /// Monthly price in the caller's currency, >= 0.
    pub monthly_price: Option<f64>,
    /// Usage included in the plan per 30 days, in the units of the event amounts, > 0.
    pub plan_allowance: Option<f64>,
}

/// One support ticket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupportTicket {
    /// When it was opened, Unix seconds.
    pub at: i64,
    /// Optional severity (the caller's scale, higher is worse).
    #[serde(default)]
    pub severity: Option<f64>,
}

/// Everything known about one tenant. See the [module docs](self) for absent vs empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantHistory {
    /// The caller's tenant id (carried into scores and trigger decisions).
    pub id: String,
    /// Timestamped usage events.
    pub events: Option<Vec<UsageEvent>>,
    /// Daily usage totals (used together with `events` when both are given).
    pub daily: Option<DailyUsage>,
    /// Subscription facts.
    pub subscription: Option<Subscription>,
    /// Failed payment attempts, Unix seconds.
    pub failed_payments: Option<Vec<i64>>,
    /// Support tickets.
    pub tickets: Option<Vec<SupportTicket>>,
    /// When the tenant churned (cancelled), if it did: used only to build training labels
    /// ([`labels`](super::labels)), never as a feature.
    pub churned_at: Option<i64>,
}

impl TenantHistory {
    /// A tenant with an id and nothing known yet.
    pub fn new(id: impl Into<String>) -> TenantHistory {
        TenantHistory {
            id: id.into(),
            ..TenantHistory::default()
        }
    }

    /// Parses one tenant from JSON (unknown fields are an error) and validates it.
    pub fn from_json(json: &str) -> Result<TenantHistory> {
        let t: TenantHistory =
            serde_json::from_str(json).map_err(|e| Error::Parse(format!("tenant: {e}")))?;
        t.validate()?;
        Ok(t)
    }

    /// Parses a JSON array of tenants, validating each.
    pub fn many_from_json(json: &str) -> Result<Vec<TenantHistory>> {
        let ts: Vec<TenantHistory> =
            serde_json::from_str(json).map_err(|e| Error::Parse(format!("tenants: {e}")))?;
        for t in &ts {
            t.validate()?;
        }
        Ok(ts)
    }

    /// Usage events from parallel slices of times and amounts (replacing any events).
    pub fn with_events(mut self, at: &[i64], amount: &[f64]) -> Result<TenantHistory> {
        if at.len() != amount.len() {
            return Err(Error::InvalidArgument(format!(
                "{} event times but {} amounts",
                at.len(),
                amount.len()
            )));
        }
        self.events = Some(
            at.iter()
                .zip(amount)
                .map(|(&at, &amount)| UsageEvent { at, amount })
                .collect(),
        );
        self.validate()?;
        Ok(self)
    }

    /// A daily usage series (replacing any).
    pub fn with_daily(mut self, start: i64, values: &[f64]) -> Result<TenantHistory> {
        self.daily = Some(DailyUsage {
            start,
            values: values.to_vec(),
        });
        self.validate()?;
        Ok(self)
    }

    /// Subscription facts (replacing any).
    pub fn with_subscription(mut self, subscription: Subscription) -> Result<TenantHistory> {
        self.subscription = Some(subscription);
        self.validate()?;
        Ok(self)
    }

    /// Failed payment times (replacing any); an empty slice means "none failed".
    pub fn with_failed_payments(mut self, at: &[i64]) -> TenantHistory {
        self.failed_payments = Some(at.to_vec());
        self
    }

    /// Support tickets from times and optional severities (replacing any); an empty slice
    /// means "no tickets". NaN severities are read as unknown.
    pub fn with_tickets(mut self, at: &[i64], severity: Option<&[f64]>) -> Result<TenantHistory> {
        if let Some(s) = severity {
            if s.len() != at.len() {
                return Err(Error::InvalidArgument(format!(
                    "{} ticket times but {} severities",
                    at.len(),
                    s.len()
                )));
            }
        }
        self.tickets = Some(
            at.iter()
                .enumerate()
                .map(|(i, &at)| SupportTicket {
                    at,
                    severity: severity.map(|s| s[i]).filter(|v| !v.is_nan()),
                })
                .collect(),
        );
        Ok(self)
    }

    /// The churn (cancellation) time, for training labels.
    pub fn with_churned_at(mut self, at: Option<i64>) -> TenantHistory {
        self.churned_at = at;
        self
    }

    /// Checks the values: event amounts finite and >= 0, daily values >= 0 or NaN, seats,
    /// price and allowance finite and >= 0 (allowance > 0). Unsorted times are fine.
    pub fn validate(&self) -> Result<()> {
        let who = || {
            if self.id.is_empty() {
                String::from("tenant")
            } else {
                format!("tenant '{}'", self.id)
            }
        };
        if let Some(events) = &self.events {
            if let Some((i, e)) = events
                .iter()
                .enumerate()
                .find(|(_, e)| !(e.amount.is_finite() && e.amount >= 0.0))
            {
                return Err(Error::InvalidArgument(format!(
                    "{}: event {i} has amount {}; amounts must be finite and >= 0",
                    who(),
                    e.amount
                )));
            }
        }
        if let Some(d) = &self.daily {
            if let Some((i, v)) = d
                .values
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.is_nan() || (v.is_finite() && **v >= 0.0)))
            {
                return Err(Error::InvalidArgument(format!(
                    "{}: daily value {i} is {v}; daily usage must be >= 0 (NaN for unknown)",
                    who()
                )));
            }
        }
        if let Some(s) = &self.subscription {
            for (name, v) in [("seats", s.seats), ("monthly_price", s.monthly_price)] {
                if let Some(v) = v {
                    if !(v.is_finite() && v >= 0.0) {
                        return Err(Error::InvalidArgument(format!(
                            "{}: {name} is {v}; it must be finite and >= 0",
                            who()
                        )));
                    }
                }
            }
            if let Some(a) = s.plan_allowance {
                if !(a.is_finite() && a > 0.0) {
                    return Err(Error::InvalidArgument(format!(
                        "{}: plan_allowance is {a}; it must be finite and > 0",
                        who()
                    )));
                }
            }
        }
        Ok(())
    }

    /// When the tenure started, if known.
    pub fn started_at(&self) -> Option<i64> {
        self.subscription.as_ref().and_then(|s| s.started_at)
    }

    /// Whether any activity source (events or daily series) was given.
    pub fn has_activity(&self) -> bool {
        self.events.is_some() || self.daily.is_some()
    }

    /// Every activity record as `(time, amount)`: the events, then each recorded day of
    /// the daily series as one record at the day's last second. Zero-usage days are left
    /// out (they are not activity).
    pub fn activity(&self) -> impl Iterator<Item = (i64, f64)> + '_ {
        let events = self.events.iter().flatten().map(|e| (e.at, e.amount));
        let daily = self.daily.iter().flat_map(|d| {
            d.values
                .iter()
                .enumerate()
                .filter(|(_, v)| **v > 0.0)
                .map(move |(i, v)| {
                    let end = (i as i64).saturating_add(1).saturating_mul(DAY);
                    (d.start.saturating_add(end).saturating_sub(1), *v)
                })
        });
        events.chain(daily)
    }
}

/// `Vec<f64>` with NaN written as JSON `null` and `null` read back as NaN.
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        let opt: Vec<Option<f64>> = v.iter().map(|x| (!x.is_nan()).then_some(*x)).collect();
        opt.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let opt: Vec<Option<f64>> = Vec::deserialize(d)?;
        Ok(opt.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
    }
}
