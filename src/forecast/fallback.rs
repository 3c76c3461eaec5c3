//! The forecast of last resort, the rule the platform uses today when no model can be used:
//! the historical average times an hour-of-day multiplier times a day-of-week multiplier.
//!
//! Fitting (`NaN` values are missing periods and skipped everywhere):
//! - `level` = mean of the present values;
//! - hour multiplier = mean of the present values at that local hour / `level`, and the same
//!   per weekday;
//! - an hour or weekday never observed gets multiplier 1 (no evidence either way);
//! - each set is then rescaled (the observed entries only) so that it averages exactly 1 over
//!   its 24 hours / 7 days. The mean of the 168 predictions of a week is then `level`.
//!   On a history made of whole weeks without gaps the raw multipliers already average 1 and
//!   nothing changes, so this is the platform's rule; on uneven histories (a partial week, a
//!   gap) it stops the over-represented days from shifting the weekly total;
//! - a `level` of 0 (an all-zero history) gives multipliers of 1 and a prediction of 0.
//!
//! The rule is meant for non-negative usage. With negative values the multipliers are still
//! the ratios above, but the rescaling is skipped when the observed multipliers do not sum to
//! a positive number.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const HOURS: usize = 24;
const WEEKDAYS: usize = 7;

/// Historical level with hour-of-day and day-of-week multipliers.
///
/// ```
/// use tenantml::forecast::fallback::FallbackProfile;
/// // Two days (Monday, Tuesday) of hourly usage: 1 at night, 3 from 08:00 to 19:59.
/// let values: Vec<f64> = (0..48).map(|i| if (8..20).contains(&(i % 24)) { 3.0 } else { 1.0 }).collect();
/// let hours: Vec<u8> = (0..48).map(|i| (i % 24) as u8).collect();
/// let weekdays: Vec<u8> = (0..48).map(|i| (i / 24) as u8).collect();
/// let p = FallbackProfile::fit(&values, &hours, &weekdays)?;
/// assert_eq!(p.level(), 2.0);
/// assert_eq!(p.predict(9, 0), 3.0);
/// assert_eq!(p.predict(3, 0), 1.0);
/// assert_eq!(p.predict(9, 4), 3.0); // Friday never seen: weekday multiplier 1
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(try_from = "FallbackData", into = "FallbackData")]
pub struct FallbackProfile {
    level: f64,
    hour_multipliers: Vec<f64>,
    weekday_multipliers: Vec<f64>,
    observations: usize,
}

/// The serialised form, validated on the way in.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FallbackData {
    level: f64,
    hour_multipliers: Vec<f64>,
    weekday_multipliers: Vec<f64>,
    observations: usize,
}

impl From<FallbackProfile> for FallbackData {
    fn from(p: FallbackProfile) -> Self {
        FallbackData {
            level: p.level,
            hour_multipliers: p.hour_multipliers,
            weekday_multipliers: p.weekday_multipliers,
            observations: p.observations,
        }
    }
}

impl TryFrom<FallbackData> for FallbackProfile {
    type Error = Error;
    fn try_from(d: FallbackData) -> Result<Self> {
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        if d.hour_multipliers.len() != HOURS
            || d.weekday_multipliers.len() != WEEKDAYS
            || !d.level.is_finite()
            || !finite(&d.hour_multipliers)
            || !finite(&d.weekday_multipliers)
        {
            return Err(Error::Parse(
                "fallback profile: needs a finite level, 24 finite hour and 7 finite weekday multipliers"
                    .into(),
            ));
        }
        Ok(FallbackProfile {
            level: d.level,
            hour_multipliers: d.hour_multipliers,
            weekday_multipliers: d.weekday_multipliers,
            observations: d.observations,
        })
    }
}

impl FallbackProfile {
    /// Fits the profile. `hours[i]` and `weekdays[i]` are the local hour (0..=23) and weekday
    /// (0 = Monday ..= 6) of period `i`; the caller computes them with its clock, so time
    /// zones and DST are its concern. Errors: mismatched lengths, no values, an hour or
    /// weekday out of range, an infinite value, or every value missing.
    pub fn fit(values: &[f64], hours: &[u8], weekdays: &[u8]) -> Result<FallbackProfile> {
        if values.len() != hours.len() || values.len() != weekdays.len() {
            return Err(Error::InvalidArgument(format!(
                "fallback profile: lengths differ (values {}, hours {}, weekdays {})",
                values.len(),
                hours.len(),
                weekdays.len()
            )));
        }
        if values.is_empty() {
            return Err(Error::InvalidArgument("fallback profile: no values".into()));
        }
        let mut hour_sum = [0.0; HOURS];
        let mut hour_n = [0usize; HOURS];
        let mut day_sum = [0.0; WEEKDAYS];
        let mut day_n = [0usize; WEEKDAYS];
        let (mut sum, mut n) = (0.0, 0usize);
        for (i, ((&v, &h), &d)) in values.iter().zip(hours).zip(weekdays).enumerate() {
            if usize::from(h) >= HOURS || usize::from(d) >= WEEKDAYS {
                return Err(Error::InvalidArgument(format!(
                    "fallback profile: hour {h} / weekday {d} at index {i} out of range (0..=23, 0..=6)"
                )));
            }
            if v.is_infinite() {
                return Err(Error::InvalidArgument(format!(
                    "fallback profile: infinite value at index {i}"
                )));
            }
            if v.is_nan() {
                continue;
            }
            sum += v;
            n += 1;
            hour_sum[usize::from(h)] += v;
            hour_n[usize::from(h)] += 1;
            day_sum[usize::from(d)] += v;
            day_n[usize::from(d)] += 1;
        }
        if n == 0 {
            return Err(Error::InvalidArgument(
                "fallback profile: every value is missing (NaN)".into(),
            ));
        }
        let level = sum / n as f64;
        Ok(FallbackProfile {
            level,
            hour_multipliers: multipliers(&hour_sum, &hour_n, level),
            weekday_multipliers: multipliers(&day_sum, &day_n, level),
            observations: n,
        })
    }

    /// The expected value at a local hour and weekday: `level × hour × weekday multiplier`.
    /// `NaN` when the hour is above 23 or the weekday above 6 (use
    /// [`FallbackProfile::predict_many`] for an error instead).
    pub fn predict(&self, hour: u8, weekday: u8) -> f64 {
        match (
            self.hour_multipliers.get(usize::from(hour)),
            self.weekday_multipliers.get(usize::from(weekday)),
        ) {
            (Some(h), Some(d)) => self.level * h * d,
            _ => f64::NAN,
        }
    }

    /// Predictions for aligned local hours and weekdays (e.g. of the forecast periods).
    pub fn predict_many(&self, hours: &[u8], weekdays: &[u8]) -> Result<Vec<f64>> {
        if hours.len() != weekdays.len() {
            return Err(Error::InvalidArgument(format!(
                "fallback profile: {} hours but {} weekdays",
                hours.len(),
                weekdays.len()
            )));
        }
        hours
            .iter()
            .zip(weekdays)
            .map(|(&h, &d)| {
                let p = self.predict(h, d);
                if p.is_nan() {
                    Err(Error::InvalidArgument(format!(
                        "fallback profile: hour {h} / weekday {d} out of range (0..=23, 0..=6)"
                    )))
                } else {
                    Ok(p)
                }
            })
            .collect()
    }

    /// Mean of the present values of the history.
    pub fn level(&self) -> f64 {
        self.level
    }

    /// The 24 multipliers by local hour (index 0 = 00:00-00:59), averaging 1.
    pub fn hour_multipliers(&self) -> &[f64] {
        &self.hour_multipliers
    }

    /// The 7 multipliers by weekday (index 0 = Monday), averaging 1.
    pub fn weekday_multipliers(&self) -> &[f64] {
        &self.weekday_multipliers
    }

    /// How many present values the profile was fitted on.
    pub fn observations(&self) -> usize {
        self.observations
    }
}

/// Bucket mean / level, 1 for unseen buckets, observed ones rescaled so the set averages 1.
fn multipliers(sums: &[f64], counts: &[usize], level: f64) -> Vec<f64> {
    if level == 0.0 {
        return vec![1.0; sums.len()];
    }
    let mut m: Vec<f64> = sums
        .iter()
        .zip(counts)
        .map(|(s, &c)| if c == 0 { 1.0 } else { s / c as f64 / level })
        .collect();
    let seen_sum: f64 = m
        .iter()
        .zip(counts)
        .filter(|(_, &c)| c > 0)
        .map(|(v, _)| v)
        .sum();
    let seen = counts.iter().filter(|&&c| c > 0).count();
    if seen_sum > 0.0 && seen_sum.is_finite() {
        let factor = seen as f64 / seen_sum;
        for (v, &c) in m.iter_mut().zip(counts) {
            if c > 0 {
                *v *= factor;
            }
        }
    }
    m
}
