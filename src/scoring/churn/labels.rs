//! Training rows from raw histories: for each tenant and observation date, the features as
//! of that date and whether the tenant churned within the horizon after it.
//!
//! # Rules (no leakage, no bias from censoring)
//! For an observation time `obs` and horizon `h` days:
//! - the features are [`churn_features`](super::churn_features) as of `obs`: records strictly before `obs` only;
//! - the label is 1 when the tenant's `churned_at` is in `(obs, obs + h]`, else 0;
//! - a tenant that had churned at or before `obs` is left out (it cannot churn again);
//! - a tenant whose subscription starts after `obs` is left out (it did not exist yet);
//! - every row whose horizon runs past `data_end` is left out (censored): the data cannot
//!   say whether the tenant churned later in the horizon, and keeping only the churners
//!   found so far would inflate the churn rate. Pick observation dates at least `h` days
//!   before the end of your data.
//!
//! ```
//! use tenantml::scoring::churn::{build_rows, LabelSpec, TenantHistory, DAY};
//! let obs = 1_736_121_600;
//! let stays = TenantHistory::new("a").with_events(&[obs - DAY], &[1.0])?;
//! let leaves = TenantHistory::new("b").with_events(&[obs - 20 * DAY], &[1.0])?
//!     .with_churned_at(Some(obs + 10 * DAY));
//! let spec = LabelSpec { observation_dates: vec![obs], horizon_days: 30, data_end: obs + 60 * DAY };
//! let rows = build_rows(&[stays, leaves], &spec)?;
//! assert_eq!(rows.labels, vec![0.0, 1.0]);
//! # Ok::<(), tenantml::Error>(())
//! ```

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::features::{churn_features_into, N_FEATURES};
use super::input::{TenantHistory, DAY};
use crate::error::{Error, Result};

/// Where and how far to look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelSpec {
    /// Observation times, Unix seconds.
    pub observation_dates: Vec<i64>,
    /// Horizon in days (> 0): churn within `(obs, obs + horizon]` is a positive.
    pub horizon_days: u32,
    /// The end of the data (Unix seconds): churn is known up to here.
    pub data_end: i64,
}

impl LabelSpec {
    /// Checks the horizon and that at least one observation date leaves a full horizon.
    pub fn check(&self) -> Result<()> {
        if self.horizon_days == 0 {
            return Err(Error::InvalidArgument(
                "horizon_days must be at least 1".into(),
            ));
        }
        if self.observation_dates.is_empty() {
            return Err(Error::InvalidArgument("no observation dates".into()));
        }
        let h = i64::from(self.horizon_days) * DAY;
        if self
            .observation_dates
            .iter()
            .all(|&o| o + h > self.data_end)
        {
            return Err(Error::InvalidArgument(format!(
                "every observation date is less than {} days before data_end {}: all rows \
                 would be censored",
                self.horizon_days, self.data_end
            )));
        }
        Ok(())
    }
}

/// Rows built by [`build_rows`], with what was left out.
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledRows {
    /// Features, one row per kept (tenant, observation) pair, [`N_FEATURES`] columns.
    pub features: Array2<f64>,
    /// 1 = churned within the horizon.
    pub labels: Vec<f64>,
    /// The tenant (index into the input) of each row.
    pub tenant_index: Vec<usize>,
    /// The observation time of each row.
    pub observed_at: Vec<i64>,
    /// Pairs left out because the tenant had already churned.
    pub already_churned: usize,
    /// Pairs left out because the tenant had not started yet.
    pub not_started: usize,
    /// Pairs left out because the horizon ran past the end of the data.
    pub censored: usize,
}

impl LabeledRows {
    /// Share of positive rows (NaN when empty).
    pub fn positive_rate(&self) -> f64 {
        self.labels.iter().sum::<f64>() / self.labels.len() as f64
    }
}

/// Builds training rows; see the [module docs](self). Errors: an invalid spec, an invalid
/// tenant.
pub fn build_rows(tenants: &[TenantHistory], spec: &LabelSpec) -> Result<LabeledRows> {
    spec.check()?;
    let h = i64::from(spec.horizon_days) * DAY;
    let mut data = Vec::new();
    let mut out = LabeledRows {
        features: Array2::zeros((0, N_FEATURES)),
        labels: Vec::new(),
        tenant_index: Vec::new(),
        observed_at: Vec::new(),
        already_churned: 0,
        not_started: 0,
        censored: 0,
    };
    let mut row = [0.0; N_FEATURES];
    for (i, t) in tenants.iter().enumerate() {
        for &obs in &spec.observation_dates {
            if obs.saturating_add(h) > spec.data_end {
                out.censored += 1;
                continue;
            }
            if t.churned_at.is_some_and(|c| c <= obs) {
                out.already_churned += 1;
                continue;
            }
            if t.started_at().is_some_and(|s| s > obs) {
                out.not_started += 1;
                continue;
            }
            churn_features_into(t, obs, &mut row)?;
            data.extend_from_slice(&row);
            out.labels.push(f64::from(u8::from(
                t.churned_at.is_some_and(|c| c <= obs + h),
            )));
            out.tenant_index.push(i);
            out.observed_at.push(obs);
        }
    }
    out.features = Array2::from_shape_vec((out.labels.len(), N_FEATURES), data)
        .expect("rows times features values");
    Ok(out)
}
