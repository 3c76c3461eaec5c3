//! Churn features of one tenant as of an observation time `as_of`.
//!
//! Only records strictly before `as_of` count, so a feature never sees the future. A window
//! of `w` days is `[as_of - w * 86400, as_of)`: an event exactly 7 days before `as_of` is in
//! the 7-day window, one a second earlier is not. Day `k` before `as_of` (k = 0, 1, ...) is
//! `[as_of - (k + 1) * 86400, as_of - k * 86400)`; "active days" counts those days with at
//! least one activity record.
//!
//! A part of the history the caller did not give (no activity source, no subscription
//! field, no payment or ticket list) makes its features NaN, which the tree model treats as
//! missing; a part given empty makes them 0.
//!
//! | name | meaning |
//! |---|---|
//! | `days_since_last_activity` | days from the last activity record to `as_of` (NaN: never active or unknown) |
//! | `active_days_{7,30,90}d` | days with activity in the window |
//! | `events_{7,30,90}d` | activity records in the window |
//! | `volume_{7,30,90}d` | sum of amounts in the window |
//! | `volume_slope_30d` | least-squares slope of daily volume over the last 30 days (units per day) |
//! | `volume_slope_30d_rel` | that slope times 30 over the 30-day mean daily volume (change over the window as a share of the level; NaN when the mean is 0) |
//! | `volume_ratio_30d` | volume of the last 30 days over the 30 before (NaN when those are 0) |
//! | `usage_vs_allowance` | 30-day volume over the plan's 30-day allowance |
//! | `seats`, `monthly_price` | subscription facts |
//! | `failed_payments_{30,90}d` | failed payments in the window |
//! | `tickets_{30,90}d` | support tickets in the window |
//! | `tenure_days` | days from the subscription start to `as_of` |
//!
//! ```
//! use tenantml::scoring::churn::{churn_features, feature_index, TenantHistory, DAY};
//! let as_of = 1_736_121_600;
//! let tenant = TenantHistory::new("t").with_events(&[as_of - 3 * DAY, as_of - 10 * DAY], &[2.0, 5.0])?;
//! let f = churn_features(&tenant, as_of)?;
//! assert_eq!(f[feature_index("days_since_last_activity").unwrap()], 3.0);
//! assert_eq!(f[feature_index("volume_30d").unwrap()], 7.0);
//! assert!(f[feature_index("seats").unwrap()].is_nan()); // no subscription given
//! # Ok::<(), tenantml::Error>(())
//! ```

use super::input::{TenantHistory, DAY};
use crate::error::{Error, Result};

/// Stable feature names, in column order.
pub const FEATURE_NAMES: [&str; N_FEATURES] = [
    "days_since_last_activity",
    "active_days_7d",
    "active_days_30d",
    "active_days_90d",
    "events_7d",
    "events_30d",
    "events_90d",
    "volume_7d",
    "volume_30d",
    "volume_90d",
    "volume_slope_30d",
    "volume_slope_30d_rel",
    "volume_ratio_30d",
    "usage_vs_allowance",
    "seats",
    "monthly_price",
    "failed_payments_30d",
    "failed_payments_90d",
    "tickets_30d",
    "tickets_90d",
    "tenure_days",
];

/// Number of churn features.
pub const N_FEATURES: usize = 21;

/// The column of a feature name.
pub fn feature_index(name: &str) -> Option<usize> {
    FEATURE_NAMES.iter().position(|n| *n == name)
}

/// Feature names as owned strings (for model parameters).
pub fn feature_names() -> Vec<String> {
    FEATURE_NAMES.iter().map(|s| s.to_string()).collect()
}

/// Longest window looked at, in days (60 for the ratio's two halves, 90 for counts).
const HORIZON_DAYS: usize = 90;

/// Day index before `as_of` of a record at `at < as_of` (0 = the last 24 hours).
#[inline]
fn day_before(as_of: i64, at: i64) -> i64 {
    as_of.saturating_sub(at).saturating_sub(1) / DAY
}

/// The features of `tenant` as of `as_of`; see the [module docs](self).
///
/// Errors: invalid tenant values (see [`TenantHistory::validate`]), or `as_of` before the
/// subscription's start.
pub fn churn_features(tenant: &TenantHistory, as_of: i64) -> Result<[f64; N_FEATURES]> {
    let mut out = [f64::NAN; N_FEATURES];
    churn_features_into(tenant, as_of, &mut out)?;
    Ok(out)
}

/// [`churn_features`] written into a caller's buffer of [`N_FEATURES`] values.
pub fn churn_features_into(tenant: &TenantHistory, as_of: i64, out: &mut [f64]) -> Result<()> {
    if out.len() != N_FEATURES {
        return Err(Error::InvalidArgument(format!(
            "feature buffer has {} slots for {N_FEATURES} features",
            out.len()
        )));
    }
    tenant.validate()?;
    if let Some(start) = tenant.started_at() {
        if as_of < start {
            return Err(Error::InvalidArgument(format!(
                "tenant '{}': as_of {as_of} is before the subscription started ({start})",
                tenant.id
            )));
        }
    }
    out.fill(f64::NAN);

    if tenant.has_activity() {
        let mut daily = [0.0f64; HORIZON_DAYS];
        let mut events_per_day = [0u32; HORIZON_DAYS];
        let mut last: Option<i64> = None;
        for (at, amount) in tenant.activity() {
            if at >= as_of {
                continue;
            }
            last = Some(last.map_or(at, |l| l.max(at)));
            let k = day_before(as_of, at);
            if k < HORIZON_DAYS as i64 {
                daily[k as usize] += amount;
                events_per_day[k as usize] += 1;
            }
        }
        out[0] = last.map_or(f64::NAN, |l| as_of.saturating_sub(l) as f64 / DAY as f64);
        for (j, w) in [7usize, 30, 90].into_iter().enumerate() {
            out[1 + j] = events_per_day[..w].iter().filter(|&&c| c > 0).count() as f64;
            out[4 + j] = events_per_day[..w].iter().map(|&c| f64::from(c)).sum();
            out[7 + j] = daily[..w].iter().sum();
        }
        let (slope, mean) = slope_and_mean(&daily[..30]);
        out[10] = slope;
        out[11] = if mean > 0.0 {
            slope * 30.0 / mean
        } else {
            f64::NAN
        };
        let previous: f64 = daily[30..60].iter().sum();
        out[12] = if previous > 0.0 {
            out[8] / previous
        } else {
            f64::NAN
        };
    }
    if let Some(s) = &tenant.subscription {
        if let Some(a) = s.plan_allowance {
            out[13] = out[8] / a; // NaN when activity is unknown
        }
        out[14] = s.seats.unwrap_or(f64::NAN);
        out[15] = s.monthly_price.unwrap_or(f64::NAN);
        if let Some(start) = s.started_at {
            out[20] = as_of.saturating_sub(start) as f64 / DAY as f64;
        }
    }
    if let Some(p) = &tenant.failed_payments {
        let (a, b) = window_counts(p.iter().copied(), as_of);
        out[16] = a;
        out[17] = b;
    }
    if let Some(t) = &tenant.tickets {
        let (a, b) = window_counts(t.iter().map(|t| t.at), as_of);
        out[18] = a;
        out[19] = b;
    }
    Ok(())
}

/// Counts of times in the 30- and 90-day windows before `as_of`.
fn window_counts(times: impl Iterator<Item = i64>, as_of: i64) -> (f64, f64) {
    let (mut a, mut b) = (0.0, 0.0);
    for at in times.filter(|&at| at < as_of) {
        let k = day_before(as_of, at);
        if k < 30 {
            a += 1.0;
        }
        if k < 90 {
            b += 1.0;
        }
    }
    (a, b)
}

/// Least-squares slope (per day, forward in time) and mean of daily volumes given newest
/// first (`v[k]` is k days before `as_of`).
fn slope_and_mean(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    // Time runs backwards in k: t = -k.
    let t_mean = -(n - 1.0) / 2.0;
    let y_mean = v.iter().sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (k, &y) in v.iter().enumerate() {
        let dt = -(k as f64) - t_mean;
        num += dt * (y - y_mean);
        den += dt * dt;
    }
    (num / den, y_mean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_counted() {
        for (i, n) in FEATURE_NAMES.iter().enumerate() {
            assert!(!FEATURE_NAMES[..i].contains(n), "{n}");
        }
    }

    #[test]
    fn slope_of_a_rising_line_is_its_step() {
        // Newest first: 29, 28, ..., 0 grows by 1 per day forward in time.
        let v: Vec<f64> = (0..30).map(|k| (29 - k) as f64).collect();
        let (s, m) = slope_and_mean(&v);
        assert!((s - 1.0).abs() < 1e-12, "{s}");
        assert!((m - 14.5).abs() < 1e-12);
    }
}
