//! Fitting a [`SeriesPrior`] to data: [`SeriesPrior::scaled_to`] for one tenant's first
//! observations, [`SeriesPrior::estimate`] for a population of tenants.

use super::cells::{growth_to_end, Cells, Grid};
use super::series::{
    check_grid, hour_weekday, invalid, normalised, week_slots, SeriesPrior, DAILY_SHRINK_DAYS,
    MAX_LEN, WEEKLY_SHRINK_WEEKS,
};
use crate::error::Result;

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

impl SeriesPrior {
    /// Adapts the prior to what a tenant has shown (`observed`, NaN = missing period).
    ///
    /// - **Level** is always the tenant's own (a population level says nothing about one
    ///   tenant's scale): the ratio of sums of observed over expected shape at the same
    ///   periods. Against spikes, observations whose ratio to their expected shape lies
    ///   above Tukey's inner fence on the log scale, `exp(q75 + 1.5·IQR)` of the log
    ///   ratios, are left out (the highest 5 %, at least one) or capped at the fence (the
    ///   rest); profiles below use the same robust copy. Low values are kept: outages and
    ///   zeros are usage. The returned `level` is the level at the end of the
    ///   observations (`start + observed.len()·frequency`) under the prior's trend, so
    ///   `expected(start + observed.len() * frequency, ..)` continues where the tenant is.
    /// - **Profiles** are shrunk toward the prior: the daily multiplier of an hour becomes
    ///   `(n·own + k·prior) / (n + k)`, with `n` the observed days at that hour and
    ///   `k` = [`DAILY_SHRINK_DAYS`] (7); the weekly multiplier likewise with `n` the observed
    ///   occurrences of that weekday and `k` = [`WEEKLY_SHRINK_WEEKS`] (4); then renormalised
    ///   to mean 1. The daily profile is only updated for periods of at most an hour and the
    ///   weekly one for periods of at most a day (each period counts for the hour and
    ///   weekday of its midpoint); longer periods update the level only.
    /// - No present observation returns the prior unchanged; all observations 0 give level
    ///   0 with the prior's profiles. Trend and noise are kept from the prior.
    ///
    /// Errors: invalid prior, `frequency <= 0`, more than [`MAX_LEN`] values, negative or
    /// infinite observations.
    ///
    /// ```
    /// use tenantml::coldstart::SeriesPrior;
    /// let prior = SeriesPrior::saas_default();
    /// let monday = 4 * 86_400; // 1970-01-05 00:00 UTC
    /// // A tenant three times as busy as the prior, seen for one week.
    /// let tenant = SeriesPrior { level: 300.0, ..prior.clone() };
    /// let seen = tenant.sample(monday, 3600, 168, 0, 1)?;
    /// let adapted = prior.scaled_to(&seen, monday, 3600, 0)?;
    /// assert!((adapted.level / 300.0 - 1.0).abs() < 0.1);
    /// // Forecast the next day from where the tenant is now.
    /// let next_day = adapted.expected(monday + 168 * 3600, 3600, 24, 0)?;
    /// assert_eq!(next_day.len(), 24);
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn scaled_to(
        &self,
        observed: &[f64],
        start: i64,
        frequency: i64,
        utc_offset_seconds: i32,
    ) -> Result<SeriesPrior> {
        self.validate()?;
        check_grid(start, frequency, observed.len().max(1), utc_offset_seconds)?;
        check_values(observed)?;
        let len = observed.len();
        if !observed.iter().any(|v| !v.is_nan()) {
            return Ok(self.clone());
        }
        let mut out = self.clone();
        if observed.iter().all(|v| v.is_nan() || *v == 0.0) {
            out.level = 0.0;
            return Ok(out);
        }
        // This runs on every blended or cold-start forecast: on an hour-aligned grid the
        // periods are summed once per hour of the week, and the rest works on 168 cells.
        let grid = Grid {
            start,
            frequency,
            len,
            offset: utc_offset_seconds,
            slots: week_slots(start, frequency, len, utc_offset_seconds),
        };
        Ok(self.scaled_on(observed, &grid, out))
    }

    /// [`SeriesPrior::scaled_to`] after its checks, `out` a copy of the prior.
    fn scaled_on(&self, observed: &[f64], grid: &Grid, mut out: SeriesPrior) -> SeriesPrior {
        let (frequency, len) = (grid.frequency, grid.len);
        let rate = self.trend_per_day.ln_1p() * frequency as f64 / DAY as f64;
        let growth = growth_to_end(rate, len);
        let shape = Cells::shape(self, grid);
        let cells = Cells::robust_sums(grid, observed, &growth, &shape);
        let level0 = cells.ratio_of_sums(&shape);

        // Evidence in days at an hour (daily profile) and occurrences of a weekday (weekly).
        let hour_days = frequency as f64 / HOUR as f64;
        let weekday_days = frequency as f64 / DAY as f64;
        if frequency <= HOUR && level0 > 0.0 {
            let [num, den, days] = cells.hour_totals(grid, &self.weekly_profile, level0, hour_days);
            out.daily_profile = shrink(&self.daily_profile, &num, &den, &days, DAILY_SHRINK_DAYS);
        }
        if frequency <= DAY && level0 > 0.0 {
            let flat = vec![1.0; 7];
            let daily_only = SeriesPrior {
                weekly_profile: flat,
                ..out.clone()
            };
            let daily_shape = Cells::shape(&daily_only, grid);
            let [num, den, days] = cells.totals_by::<7>(&cells.weekday, |c| {
                [
                    cells.sum[c],
                    level0 * daily_shape[c] * cells.growth[c],
                    weekday_days * cells.count[c],
                ]
            });
            out.weekly_profile =
                shrink(&self.weekly_profile, &num, &den, &days, WEEKLY_SHRINK_WEEKS);
        }
        out.level = cells.ratio_of_sums(&Cells::shape(&out, grid));
        out
    }

    /// Estimates a prior from many series `(values, start)` on one grid: each series is
    /// divided by its own mean, and the daily and weekly profiles are fitted jointly to the
    /// pooled normalised values (alternating means, so a tenant seen only on weekdays does
    /// not bias the hours). `level` is the median tenant mean; `trend_per_day` the median
    /// of per-tenant growth between the first and the last 7 days (tenants of at least 14
    /// days, else 0); `noise_cv` the median per-tenant CV of value / fitted, which lumps
    /// independent and persistent noise together (`persistent_cv` = 0); `counts` is set
    /// when every value is an integer. Series that are empty, all missing or all zero carry
    /// no shape and are skipped. The daily profile needs periods of at most an hour and the
    /// weekly one periods of at most a day; otherwise they are flat.
    ///
    /// Errors: `frequency <= 0`, no usable series, a series longer than [`MAX_LEN`],
    /// negative or infinite values.
    pub fn estimate(
        series: &[(&[f64], i64)],
        frequency: i64,
        utc_offset_seconds: i32,
    ) -> Result<SeriesPrior> {
        let mut usable = Vec::new();
        for (values, start) in series {
            check_grid(*start, frequency, values.len().max(1), utc_offset_seconds)?;
            check_values(values)?;
            let (sum, n) = values
                .iter()
                .filter(|v| !v.is_nan())
                .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
            if n > 0 && sum > 0.0 {
                usable.push((*values, *start, sum / n as f64));
            }
        }
        if usable.is_empty() {
            return Err(invalid(
                "estimate needs at least one series with a positive value".to_string(),
            ));
        }
        // Pooled sums of normalised values per hour of week (midpoint of each period).
        let (mut num, mut cnt) = ([0.0; 168], [0.0; 168]);
        for (values, start, mean) in &usable {
            for (i, y) in values.iter().enumerate().filter(|(_, y)| !y.is_nan()) {
                let t = start + i as i64 * frequency + frequency / 2;
                let (h, w) = hour_weekday(t, utc_offset_seconds);
                num[w * 24 + h] += y / mean;
                cnt[w * 24 + h] += 1.0;
            }
        }
        let (mut daily, mut weekly) = (vec![1.0; 24], vec![1.0; 7]);
        for _ in 0..10 {
            if frequency <= HOUR {
                let mut next = daily.clone();
                for (h, d) in next.iter_mut().enumerate() {
                    let n: f64 = (0..7).map(|w| num[w * 24 + h]).sum();
                    let e: f64 = (0..7).map(|w| cnt[w * 24 + h] * weekly[w]).sum();
                    if e > 0.0 {
                        *d = n / e;
                    }
                }
                daily = normalised(&next);
            }
            if frequency <= DAY {
                let mut next = weekly.clone();
                for (w, x) in next.iter_mut().enumerate() {
                    let n: f64 = (0..24).map(|h| num[w * 24 + h]).sum();
                    let e: f64 = (0..24).map(|h| cnt[w * 24 + h] * daily[h]).sum();
                    if e > 0.0 {
                        *x = n / e;
                    }
                }
                weekly = normalised(&next);
            }
        }
        let mut prior = SeriesPrior {
            level: median(usable.iter().map(|u| u.2).collect()),
            daily_profile: daily,
            weekly_profile: weekly,
            trend_per_day: 0.0,
            noise_cv: 0.0,
            persistence: 0.0,
            persistent_cv: 0.0,
            counts: usable
                .iter()
                .all(|u| u.0.iter().all(|v| v.is_nan() || v.fract() == 0.0)),
        };
        let per_day = (DAY as f64 / frequency as f64).max(1.0);
        let week = (7.0 * per_day).round() as usize;
        let mut trends = Vec::new();
        let mut cvs = Vec::new();
        for (values, start, mean) in &usable {
            let mut trend = 0.0;
            if frequency <= DAY && values.len() >= 2 * week {
                let first = present_mean(&values[..week]);
                let last = present_mean(&values[values.len() - week..]);
                let days = (values.len() - week) as f64 / per_day;
                if let (Some(a), Some(b)) = (first, last) {
                    if a > 0.0 && b > 0.0 {
                        trend = (b / a).powf(1.0 / days) - 1.0;
                        trends.push(trend);
                    }
                }
            }
            let shape = prior.shape(*start, frequency, values.len(), utc_offset_seconds);
            let rate = trend.ln_1p() * frequency as f64 / DAY as f64;
            let centre = values.len() as f64 / 2.0;
            let ratios: Vec<f64> = values
                .iter()
                .zip(&shape)
                .enumerate()
                .filter(|(_, (y, s))| !y.is_nan() && **s > 0.0)
                .map(|(i, (y, s))| y / (mean * s * (rate * (i as f64 - centre)).exp()))
                .collect();
            if ratios.len() >= 2 {
                let m = ratios.iter().sum::<f64>() / ratios.len() as f64;
                let var = ratios.iter().map(|r| (r - m) * (r - m)).sum::<f64>()
                    / (ratios.len() - 1) as f64;
                if m > 0.0 {
                    cvs.push(var.sqrt() / m);
                }
            }
        }
        if !trends.is_empty() {
            prior.trend_per_day = median(trends).clamp(-0.5, 1.0);
        }
        if !cvs.is_empty() {
            prior.noise_cv = median(cvs).min(10.0);
        }
        prior.validate()?;
        Ok(prior)
    }
}

/// Rejects infinite and negative values (NaN is a missing period, allowed).
fn check_values(values: &[f64]) -> Result<()> {
    if values.len() > MAX_LEN {
        return Err(invalid(format!(
            "{} values exceed the maximum of {MAX_LEN} periods",
            values.len()
        )));
    }
    // -inf is negative; NaN compares false to both.
    let bad = |v: f64| v < 0.0 || v == f64::INFINITY;
    // A pass without branches first (it vectorises): this runs on every blended or
    // cold-start forecast.
    let (mut negative, mut infinite) = (false, false);
    for &v in values {
        negative |= v < 0.0;
        infinite |= v == f64::INFINITY;
    }
    if !(negative | infinite) {
        return Ok(());
    }
    let i = values.iter().position(|&v| bad(v)).expect("a bad value");
    Err(invalid(format!(
        "value {} at index {i} is not a usage (finite, >= 0, or NaN for missing)",
        values[i]
    )))
}

/// Shrinks the observed multipliers `num / den` toward `prior` with weights n / (n + k).
fn shrink(prior: &[f64], num: &[f64], den: &[f64], n: &[f64], k: f64) -> Vec<f64> {
    let mixed: Vec<f64> = (0..prior.len())
        .map(|i| {
            if den[i] > 0.0 && n[i] > 0.0 {
                (n[i] * num[i] / den[i] + k * prior[i]) / (n[i] + k)
            } else {
                prior[i]
            }
        })
        .collect();
    normalised(&mixed)
}

fn present_mean(values: &[f64]) -> Option<f64> {
    let (s, n) = values
        .iter()
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| s / n as f64)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_per_hour_of_week_agree_with_cells_per_period() {
        let prior = SeriesPrior::saas_default();
        let monday = 4 * 86_400;
        let tenant = SeriesPrior {
            level: 250.0,
            trend_per_day: 0.01,
            ..prior.clone()
        };
        for (frequency, len, offset) in [(3600, 336, 0), (1800, 1000, 3600), (900, 50, -7200)] {
            let mut seen = tenant.sample(monday, frequency, len, offset, 7).unwrap();
            seen[3] = f64::NAN;
            seen[len / 2] *= 20.0;
            let mut grid = Grid {
                start: monday,
                frequency,
                len,
                offset,
                slots: week_slots(monday, frequency, len, offset),
            };
            assert!(grid.slots.is_some());
            let fast = prior.scaled_on(&seen, &grid, prior.clone());
            grid.slots = None;
            let slow = prior.scaled_on(&seen, &grid, prior.clone());
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(1.0);
            assert!(
                close(fast.level, slow.level),
                "{} vs {}",
                fast.level,
                slow.level
            );
            assert!(fast
                .daily_profile
                .iter()
                .zip(&slow.daily_profile)
                .all(|(a, b)| close(*a, *b)));
            assert!(fast
                .weekly_profile
                .iter()
                .zip(&slow.weekly_profile)
                .all(|(a, b)| close(*a, *b)));
        }
    }
}
