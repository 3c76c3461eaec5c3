//! [`SeriesPrior`]: what a tenant's usage series looks like before (or while) we know it.
//!
//! The model is multiplicative:
//! `value(t) = level · shape(t) · growth(t) · persistent(t) · noise(t)`, optionally drawn
//! as a Poisson count around that mean.
//! - `shape(t)` is the mean of `daily_profile[local hour] · weekly_profile[local weekday]`
//!   over the period `[t, t + frequency)`. The profile is a step function of the local
//!   hour: a sub-hourly period inside one hour gets that hour's multiplier unchanged (no
//!   interpolation), so the mean of the four quarter-hours of an hour equals the hourly
//!   value and hourly and sub-hourly tenants describe the same demand. Longer periods average
//!   the step function exactly, so for a daily period starting at local midnight the daily
//!   profile cancels out (it has mean 1) and only the weekly profile matters.
//! - `growth(t) = (1 + trend_per_day)^(days since start)`, compounded, measured at the start
//!   of the period; `level` is therefore the mean at the `start` passed to the call.
//! - `persistent(t)` is an optional stationary AR(1) process in log space with mean 1
//!   (`persistence`, `persistent_cv`): real usage drifts for hours, not independently per
//!   period, and lag features only help when the synthetic data has that memory.
//! - `noise(t)` is independent Gamma noise with mean 1 and coefficient of variation
//!   `noise_cv`. Gamma rather than log-normal because it is non-negative, has mean exactly
//!   1 for every CV, and mixed with Poisson counts gives the negative binomial, the usual
//!   model of over-dispersed counts.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Gamma, Normal, Poisson};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Longest series the generators and estimators accept, in periods (10 million, i.e. 19
/// years of minutes): anything longer is a unit mistake, not a request.
pub const MAX_LEN: usize = 10_000_000;

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;
/// Seconds from the Monday 00:00 before the epoch to the epoch (1970-01-01 was a Thursday).
const EPOCH_FROM_MONDAY: i64 = 3 * DAY;

/// Observed days per hour of day at which the tenant's own daily profile and the prior's
/// weigh the same in [`SeriesPrior::scaled_to`] (weight of the tenant: n / (n + k)).
pub const DAILY_SHRINK_DAYS: f64 = 7.0;
/// Observed occurrences of a weekday (i.e. weeks) at which the tenant's weekly profile and
/// the prior's weigh the same in [`SeriesPrior::scaled_to`].
pub const WEEKLY_SHRINK_WEEKS: f64 = 4.0;

/// The shape, scale, trend and noise of a tenant's usage: the prior of the cold start, the
/// truth of a synthetic tenant, and what a tenant's first observations update.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SeriesPrior {
    /// Mean usage per period at the start of a generated window (before trend); 0 is valid.
    pub level: f64,
    /// 24 multipliers by local hour (0..23), mean 1.
    pub daily_profile: Vec<f64>,
    /// 7 multipliers by local weekday (0 = Monday), mean 1.
    pub weekly_profile: Vec<f64>,
    /// Relative growth per day, compounded (0.002 is +0.2 % a day); must be > -1.
    pub trend_per_day: f64,
    /// Coefficient of variation of the independent per-period Gamma noise (0 = none).
    pub noise_cv: f64,
    /// Lag-one autocorrelation (per period) of the persistent log-AR(1) factor, in [0, 1).
    #[serde(default)]
    pub persistence: f64,
    /// Stationary coefficient of variation of the persistent factor (0 = off).
    #[serde(default)]
    pub persistent_cv: f64,
    /// Draw integer counts: each value is Poisson with the noisy mean. Meant for small
    /// levels (requests or jobs per period in the tens), where rounding matters and zeros
    /// are frequent; at large levels it adds only sqrt(mean) of extra noise.
    #[serde(default)]
    pub counts: bool,
}

impl SeriesPrior {
    /// A business-hours B2B SaaS tenant: quiet nights, a morning ramp to a 10:00 peak, a
    /// lunch dip, a second afternoon peak and an evening tail; weekends at about 35 % of a
    /// weekday. Level 100 per period, +0.1 % a day, 25 % noise.
    pub fn saas_default() -> SeriesPrior {
        // Hours 0..23, relative units; normalised to mean 1 below.
        let daily = [
            0.20, 0.15, 0.12, 0.12, 0.15, 0.25, 0.50, 1.00, 1.60, 2.00, 2.15, 2.05, 1.60, 1.75,
            1.95, 1.90, 1.70, 1.35, 0.95, 0.70, 0.55, 0.45, 0.35, 0.25,
        ];
        let weekly = [1.0, 1.02, 1.02, 1.0, 0.92, 0.35, 0.33];
        SeriesPrior {
            level: 100.0,
            daily_profile: normalised(&daily),
            weekly_profile: normalised(&weekly),
            trend_per_day: 0.001,
            noise_cv: 0.25,
            persistence: 0.0,
            persistent_cv: 0.0,
            counts: false,
        }
    }

    /// Checks every field (lengths, finiteness, signs, profile means) so that a prior read
    /// from JSON fails here with a clear message instead of producing NaN later.
    pub fn validate(&self) -> Result<()> {
        if !self.level.is_finite() || self.level < 0.0 {
            return Err(invalid(format!(
                "level must be finite and >= 0, got {}",
                self.level
            )));
        }
        check_profile("daily_profile", &self.daily_profile, 24)?;
        check_profile("weekly_profile", &self.weekly_profile, 7)?;
        if !self.trend_per_day.is_finite() || self.trend_per_day <= -1.0 {
            return Err(invalid(format!(
                "trend_per_day must be finite and > -1, got {}",
                self.trend_per_day
            )));
        }
        if !self.noise_cv.is_finite() || self.noise_cv < 0.0 || self.noise_cv > 10.0 {
            return Err(invalid(format!(
                "noise_cv must be in [0, 10], got {}",
                self.noise_cv
            )));
        }
        if !self.persistence.is_finite() || !(0.0..1.0).contains(&self.persistence) {
            return Err(invalid(format!(
                "persistence must be in [0, 1), got {}",
                self.persistence
            )));
        }
        if !self.persistent_cv.is_finite() || !(0.0..=10.0).contains(&self.persistent_cv) {
            return Err(invalid(format!(
                "persistent_cv must be in [0, 10], got {}",
                self.persistent_cv
            )));
        }
        Ok(())
    }

    /// Expected value (no noise) of each period: `level · shape · growth` (module docs);
    /// hour and weekday come from the fixed `utc_offset_seconds`.
    ///
    /// ```
    /// use tenantml::coldstart::SeriesPrior;
    /// let prior = SeriesPrior { trend_per_day: 0.0, ..SeriesPrior::saas_default() };
    /// // One week of hours from Monday 1970-01-05 00:00 UTC: the mean is the level.
    /// let week = prior.expected(4 * 86_400, 3600, 168, 0)?;
    /// let mean = week.iter().sum::<f64>() / 168.0;
    /// assert!((mean - 100.0).abs() < 1e-9);
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn expected(
        &self,
        start: i64,
        frequency: i64,
        len: usize,
        utc_offset_seconds: i32,
    ) -> Result<Vec<f64>> {
        self.validate()?;
        check_grid(start, frequency, len, utc_offset_seconds)?;
        // A forecast asks for a few periods: no week table for them on an aligned grid.
        let mut out = match week_slots(start, frequency, len, utc_offset_seconds) {
            Some(slots) => self.shape_at(&slots),
            None => self.shape(start, frequency, len, utc_offset_seconds),
        };
        let rate = self.trend_per_day.ln_1p() * frequency as f64 / DAY as f64;
        for (i, v) in out.iter_mut().enumerate() {
            *v *= self.level * (rate * i as f64).exp();
        }
        Ok(out)
    }

    /// A random realisation of [`expected`](Self::expected) with the prior's noise (module
    /// docs); deterministic for a seed.
    pub fn sample(
        &self,
        start: i64,
        frequency: i64,
        len: usize,
        utc_offset_seconds: i32,
        seed: u64,
    ) -> Result<Vec<f64>> {
        let mut values = self.expected(start, frequency, len, utc_offset_seconds)?;
        let mut rng = StdRng::seed_from_u64(seed);
        self.add_noise(&mut values, &mut rng);
        Ok(values)
    }

    /// Mean of the weekly step function over each period, without level or trend. Inputs
    /// are assumed checked.
    /// [`SeriesPrior::shape`] on a grid given by its [`week_slots`].
    pub(crate) fn shape_at(&self, slots: &[u8]) -> Vec<f64> {
        slots
            .iter()
            .map(|&s| self.daily_profile[s as usize % 24] * self.weekly_profile[s as usize / 24])
            .collect()
    }

    pub(crate) fn shape(&self, start: i64, frequency: i64, len: usize, offset: i32) -> Vec<f64> {
        let table = WeekTable::new(&self.daily_profile, &self.weekly_profile);
        let first = start + offset as i64 + EPOCH_FROM_MONDAY;
        (0..len)
            .map(|i| table.mean(first + i as i64 * frequency, frequency))
            .collect()
    }

    /// Multiplies `means` in place by the persistent and the Gamma noise, then draws Poisson
    /// counts if `counts`.
    pub(crate) fn add_noise(&self, means: &mut [f64], rng: &mut StdRng) {
        let gamma = (self.noise_cv > 0.0).then(|| {
            let shape = 1.0 / (self.noise_cv * self.noise_cv);
            Gamma::new(shape, 1.0 / shape).expect("validated noise_cv")
        });
        let log_sd = (1.0 + self.persistent_cv * self.persistent_cv).ln().sqrt();
        let phi = self.persistence;
        let innovation = Normal::new(0.0, log_sd * (1.0 - phi * phi).sqrt()).expect("finite sd");
        let mut z = if log_sd > 0.0 {
            Normal::new(0.0, log_sd).expect("finite").sample(rng)
        } else {
            0.0
        };
        let correction = -0.5 * log_sd * log_sd;
        for m in means.iter_mut() {
            if log_sd > 0.0 {
                *m *= (z + correction).exp();
                z = phi * z + innovation.sample(rng);
            }
            if let Some(g) = &gamma {
                *m *= g.sample(rng);
            }
            if self.counts {
                *m = poisson(*m, rng);
            }
        }
    }
}

/// Poisson draw with mean `lambda` (0 for a zero mean, which rand_distr rejects).
fn poisson(lambda: f64, rng: &mut StdRng) -> f64 {
    if lambda <= 0.0 {
        return 0.0;
    }
    Poisson::new(lambda)
        .map(|d| d.sample(rng))
        .unwrap_or(lambda.round())
}

/// The 168 hour-of-week multipliers and their running integral, for O(1) period means.
pub(crate) struct WeekTable {
    hours: [f64; 168],
    /// `prefix[i]` = integral (in hour units) of the first `i` hours of the week.
    prefix: [f64; 169],
}

impl WeekTable {
    pub(crate) fn new(daily: &[f64], weekly: &[f64]) -> WeekTable {
        let mut hours = [0.0; 168];
        let mut prefix = [0.0; 169];
        for (i, h) in hours.iter_mut().enumerate() {
            *h = daily[i % 24] * weekly[i / 24];
            prefix[i + 1] = prefix[i] + *h;
        }
        WeekTable { hours, prefix }
    }

    /// Mean over `[u, u + len)`, `u` in seconds since a local Monday 00:00.
    fn mean(&self, u: i64, len: i64) -> f64 {
        let r = u.rem_euclid(WEEK);
        let h = (r / HOUR) as usize;
        if r % HOUR + len <= HOUR {
            return self.hours[h];
        }
        let end = u + len;
        let weeks = end.div_euclid(WEEK) - u.div_euclid(WEEK);
        let total = self.prefix[168];
        (weeks as f64 * total + self.integral(end.rem_euclid(WEEK)) - self.integral(r))
            * HOUR as f64
            / len as f64
    }

    /// Integral in hour units from the start of the week to `r` seconds into it.
    fn integral(&self, r: i64) -> f64 {
        let h = (r / HOUR) as usize;
        self.prefix[h] + self.hours[h.min(167)] * (r % HOUR) as f64 / HOUR as f64
    }
}

/// The local hour of the week (0 = Monday 00:00) of every period of a grid, when each
/// period lies within one local hour (the period divides an hour and the grid is aligned to
/// it); `None` otherwise. The shape at slot `s` is then `daily[s % 24] * weekly[s / 24]`, as
/// [`SeriesPrior::shape`] computes it, without a division per period.
pub(crate) fn week_slots(start: i64, frequency: i64, len: usize, offset: i32) -> Option<Vec<u8>> {
    let r = (start + offset as i64 + EPOCH_FROM_MONDAY).rem_euclid(WEEK);
    if frequency <= 0 || HOUR % frequency != 0 || r % frequency != 0 {
        return None;
    }
    // Walk the hours of the week instead of dividing per period.
    let per_hour = (HOUR / frequency) as usize;
    let (mut slot, mut within) = ((r / HOUR) as u8, ((r % HOUR) / frequency) as usize);
    let mut slots = vec![0u8; len];
    for s in slots.iter_mut() {
        *s = slot;
        within += 1;
        if within == per_hour {
            within = 0;
            slot = if slot == 167 { 0 } else { slot + 1 };
        }
    }
    Some(slots)
}

/// Local hour of day (0..23) and weekday (0 = Monday) of the instant `t` under `offset`.
pub(crate) fn hour_weekday(t: i64, offset: i32) -> (usize, usize) {
    let r = (t + offset as i64 + EPOCH_FROM_MONDAY).rem_euclid(WEEK);
    (((r % DAY) / HOUR) as usize, (r / DAY) as usize)
}

/// Rejects bad grids: non-positive frequency, zero or absurd length, offsets beyond ±26 h,
/// or a grid whose end overflows i64 seconds.
pub(crate) fn check_grid(start: i64, frequency: i64, len: usize, offset: i32) -> Result<()> {
    if frequency <= 0 {
        return Err(invalid(format!(
            "frequency must be > 0 seconds, got {frequency}"
        )));
    }
    if len == 0 {
        return Err(invalid("len must be > 0".to_string()));
    }
    if len > MAX_LEN {
        return Err(invalid(format!(
            "len {len} exceeds the maximum of {MAX_LEN} periods"
        )));
    }
    if (offset as i64).abs() > 26 * HOUR {
        return Err(invalid(format!(
            "utc_offset_seconds {offset} is beyond +-26 hours"
        )));
    }
    (len as i64)
        .checked_mul(frequency)
        .and_then(|span| span.checked_add(start))
        .and_then(|end| end.checked_add(2 * WEEK))
        .and_then(|end| start.checked_sub(2 * WEEK).map(|_| end))
        .map(|_| ())
        .ok_or_else(|| invalid("start + len * frequency overflows".to_string()))
}

fn check_profile(name: &str, profile: &[f64], len: usize) -> Result<()> {
    if profile.len() != len {
        return Err(invalid(format!(
            "{name} must have {len} values, got {}",
            profile.len()
        )));
    }
    if let Some(v) = profile.iter().find(|v| !v.is_finite() || **v < 0.0) {
        return Err(invalid(format!(
            "{name} values must be finite and >= 0, got {v}"
        )));
    }
    let mean = profile.iter().sum::<f64>() / len as f64;
    if (mean - 1.0).abs() > 1e-6 {
        return Err(invalid(format!("{name} must have mean 1, got {mean}")));
    }
    Ok(())
}

/// `values` scaled to mean 1 (all ones if they sum to zero).
pub(crate) fn normalised(values: &[f64]) -> Vec<f64> {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    if mean > 0.0 && mean.is_finite() {
        values.iter().map(|v| v / mean).collect()
    } else {
        vec![1.0; values.len()]
    }
}

pub(crate) fn invalid(message: String) -> Error {
    Error::InvalidArgument(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn week_slots_give_the_shape_and_hours_of_the_general_path() {
        let prior = SeriesPrior::saas_default();
        let len = 400;
        for frequency in [300, 900, 1800, 3600] {
            for start in [0, 1_711_846_800, 1_711_846_800 + 1800, -86_400 * 3] {
                for offset in [0, 3600, -5 * 3600, 5 * 3600 + 1800] {
                    let general = prior.shape(start, frequency, len, offset);
                    let Some(slots) = week_slots(start, frequency, len, offset) else {
                        // Only grids not aligned to their period fall back.
                        assert_ne!((start + offset as i64).rem_euclid(frequency), 0);
                        continue;
                    };
                    let fast = prior.shape_at(&slots);
                    assert!(general
                        .iter()
                        .zip(&fast)
                        .all(|(a, b)| a.to_bits() == b.to_bits()));
                    for (i, &s) in slots.iter().enumerate() {
                        let mid = start + i as i64 * frequency + frequency / 2;
                        let (h, w) = hour_weekday(mid, offset);
                        assert_eq!((s as usize % 24, s as usize / 24), (h, w));
                    }
                }
            }
        }
        // Periods longer than an hour, or not dividing it, take the general path.
        assert!(week_slots(0, 7200, 10, 0).is_none());
        assert!(week_slots(0, 2400, 10, 0).is_none());
        assert!(week_slots(60, 3600, 10, 0).is_none());
    }
}
