//! Anomalies in a usage history: flags by z-score, IQR fences or robust MAD, optionally
//! within each seasonal phase, and cleaning of the flagged values before fitting so that a
//! spike does not poison the lags and rolling statistics built on it.
//!
//! Values are a regular series where NaN marks a missing period; NaN is never flagged and
//! never used in a statistic.
//!
//! # Seasonal context
//! With a `period`, each value is scored against the values of its own phase (`t mod
//! period`: the same hour on the other days for hourly data with period 24), so a busy
//! afternoon is not an anomaly merely because nights are quiet. Without one, every value is
//! scored against the whole series. Statistics are not detrended: for a strongly trending
//! series, detect on a detrended copy.
//!
//! A group (the series, or one phase) with fewer than 3 present values flags nothing.
//!
//! ```
//! use tenantml::features::anomaly::{clean, detect_anomalies, AnomalyMethod, CleanMode};
//! // Four days of hourly usage: quiet nights, busy days, one spike on day 3 at 03:00.
//! let mut x: Vec<f64> = (0..96)
//!     .map(|t| if t % 24 < 8 { 1.0 } else { 10.0 } + (t % 5) as f64 * 0.1)
//!     .collect();
//! x[51] = 40.0;
//! let flags = detect_anomalies(&x, &AnomalyMethod::default(), Some(24))?;
//! assert_eq!(flags.iter().filter(|&&f| f).count(), 1);
//! assert!(flags[51]);
//! let cleaned = clean(&x, &flags, CleanMode::SeasonalMedian { period: 24 })?;
//! assert!(cleaned[51] < 2.0);
//! # Ok::<(), tenantml::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::data::series::first_infinite;
use crate::error::{Error, Result};

/// Iglewicz & Hoaglin's constant in the modified z-score `0.6745 (x - median) / MAD`:
/// the 0.75 quantile of the standard normal, so `MAD / 0.6745` (= 1.4826 MAD) estimates
/// the standard deviation of normal data.
pub const MODIFIED_Z_CONSTANT: f64 = 0.6745;
/// When the MAD is 0 (more than half the values are equal) the modified z-score uses the
/// mean absolute deviation around the median scaled by this constant (`sqrt(pi / 2)`, its
/// consistency factor for normal data) instead, as IBM SPSS does.
pub const MEAN_AD_CONSTANT: f64 = 1.253314;

/// How a value is judged anomalous. Serialised with a `method` tag, e.g.
/// `{"method": "mad", "threshold": 3.5}`.
///
/// ```
/// use tenantml::features::anomaly::AnomalyMethod;
/// let m: AnomalyMethod = serde_json::from_str(r#"{"method": "iqr", "k": 3.0}"#)?;
/// assert_eq!(m, AnomalyMethod::Iqr { k: 3.0 });
/// let json = serde_json::to_string(&AnomalyMethod::default())?;
/// assert_eq!(json, r#"{"method":"mad","threshold":3.5}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum AnomalyMethod {
    /// `|x - mean| / std > threshold`, with the sample standard deviation (ddof = 1).
    /// Usual threshold 3.0. Sensitive to the anomalies themselves (they inflate the std).
    #[serde(rename = "zscore")]
    ZScore {
        /// Flag beyond this many standard deviations.
        threshold: f64,
    },
    /// Tukey's fences: `x < Q1 - k IQR` or `x > Q3 + k IQR`, quartiles interpolated
    /// linearly (numpy's default). Usual `k` 1.5 (3.0 for "far out").
    Iqr {
        /// Fence distance in interquartile ranges.
        k: f64,
    },
    /// Iglewicz & Hoaglin's modified z-score `|0.6745 (x - median) / MAD| > threshold`,
    /// MAD = median of `|x - median|` (unscaled; `MAD / 0.6745` = 1.4826 MAD is the normal
    /// consistent sigma, so this is `|x - median| / (1.4826 MAD)`). Usual threshold 3.5.
    /// When MAD = 0, `1.253314 * mean |x - median|` replaces `MAD / 0.6745`; when that is
    /// 0 too (all values equal) nothing is flagged.
    Mad {
        /// Flag beyond this modified z-score.
        threshold: f64,
    },
}

impl Default for AnomalyMethod {
    /// Robust MAD with Iglewicz & Hoaglin's threshold 3.5.
    fn default() -> Self {
        AnomalyMethod::Mad { threshold: 3.5 }
    }
}

impl AnomalyMethod {
    fn check(&self) -> Result<()> {
        let (name, v) = match *self {
            AnomalyMethod::ZScore { threshold } => ("zscore threshold", threshold),
            AnomalyMethod::Iqr { k } => ("iqr k", k),
            AnomalyMethod::Mad { threshold } => ("mad threshold", threshold),
        };
        if v > 0.0 && v.is_finite() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "{name} must be positive and finite, got {v}"
            )))
        }
    }

    /// Flags the anomalous members of `group` (present values only), writing into `flags`
    /// at the matching `index`.
    /// `work` is a scratch buffer reused across groups (no allocation per phase on the
    /// forecast path).
    fn flag_group(&self, group: &[f64], index: &[usize], flags: &mut [bool], work: &mut Vec<f64>) {
        let m = group.len();
        if m < 3 {
            return;
        }
        // Generic, not `dyn`: this loop runs over every value of every forecast request.
        fn mark(group: &[f64], index: &[usize], flags: &mut [bool], test: impl Fn(f64) -> bool) {
            for (&v, &i) in group.iter().zip(index) {
                if test(v) {
                    flags[i] = true;
                }
            }
        }
        match *self {
            AnomalyMethod::ZScore { threshold } => {
                let mean = group.iter().sum::<f64>() / m as f64;
                let var = group.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1) as f64;
                let sd = var.sqrt();
                if sd > 0.0 {
                    mark(group, index, flags, |v| (v - mean).abs() / sd > threshold);
                }
            }
            AnomalyMethod::Iqr { k } => {
                work.clear();
                work.extend_from_slice(group);
                work.sort_by(f64::total_cmp);
                let (q1, q3) = (quantile(work, 0.25), quantile(work, 0.75));
                let (lo, hi) = (q1 - k * (q3 - q1), q3 + k * (q3 - q1));
                mark(group, index, flags, |v| v < lo || v > hi);
            }
            AnomalyMethod::Mad { threshold } => {
                work.clear();
                work.extend_from_slice(group);
                let (med, mad) = median_and_mad(work);
                let sigma = if mad > 0.0 {
                    mad / MODIFIED_Z_CONSTANT
                } else {
                    MEAN_AD_CONSTANT * group.iter().map(|v| (v - med).abs()).sum::<f64>() / m as f64
                };
                if sigma > 0.0 {
                    mark(group, index, flags, |v| (v - med).abs() / sigma > threshold);
                }
            }
        }
    }
}

/// What [`clean`] puts in place of a flagged value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum CleanMode {
    /// NaN: the value becomes a gap, skipped by every feature.
    Missing,
    /// The median of the unflagged present values of the same phase (`t mod period`);
    /// NaN if the phase has none.
    SeasonalMedian {
        /// Seasonal period in steps, at least 1 and at most the series length.
        period: usize,
    },
    /// Linear interpolation between the nearest unflagged present values on either side;
    /// the nearest one's value at the series' ends; NaN if there is none at all. Blind to
    /// seasonality: a flagged busy hour is filled from its quieter neighbours, so prefer
    /// [`CleanMode::SeasonalMedian`] for strongly seasonal series.
    Interpolate,
}

/// Anomaly flags for a series (NaN = missing, never flagged), one per value, by `method`
/// and, with `period`, within each seasonal phase (see the [module documentation](self)).
///
/// Errors: an empty series, an infinite value, a threshold or `k` that is not positive and
/// finite, a period of 0 or longer than the series.
///
/// ```
/// use tenantml::features::anomaly::{detect_anomalies, AnomalyMethod};
/// let x = [10.0, 11.0, 9.0, 10.0, f64::NAN, 10.5, 95.0, 9.5];
/// let flags = detect_anomalies(&x, &AnomalyMethod::Iqr { k: 1.5 }, None)?;
/// assert_eq!(flags, [false, false, false, false, false, false, true, false]);
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn detect_anomalies(
    values: &[f64],
    method: &AnomalyMethod,
    period: Option<usize>,
) -> Result<Vec<bool>> {
    check_values(values)?;
    method.check()?;
    let p = check_period(period.unwrap_or(1), values.len())?;
    let mut flags = vec![false; values.len()];
    let mut group = Vec::with_capacity(values.len() / p + 1);
    let mut index = Vec::with_capacity(values.len() / p + 1);
    let mut work = Vec::with_capacity(group.capacity());
    for phase in 0..p {
        group.clear();
        index.clear();
        for t in (phase..values.len()).step_by(p) {
            if !values[t].is_nan() {
                group.push(values[t]);
                index.push(t);
            }
        }
        method.flag_group(&group, &index, &mut flags, &mut work);
    }
    Ok(flags)
}

/// A copy of `values` with every flagged value replaced as `mode` says; unflagged values
/// (NaN included) are copied unchanged. Replacements use only unflagged present values.
///
/// Errors: `flags` of another length than `values`, an infinite value, a period of 0 or
/// longer than the series.
///
/// ```
/// use tenantml::features::anomaly::{clean, CleanMode};
/// let x = [1.0, 2.0, 50.0, 4.0];
/// let flags = [false, false, true, false];
/// assert_eq!(clean(&x, &flags, CleanMode::Interpolate)?, [1.0, 2.0, 3.0, 4.0]);
/// assert!(clean(&x, &flags, CleanMode::Missing)?[2].is_nan());
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn clean(values: &[f64], flags: &[bool], mode: CleanMode) -> Result<Vec<f64>> {
    if flags.len() != values.len() {
        return Err(Error::InvalidArgument(format!(
            "{} flags for {} values",
            flags.len(),
            values.len()
        )));
    }
    if let Some(i) = first_infinite(values) {
        return Err(Error::InvalidArgument(format!(
            "value {i} is infinite (use NaN for a missing value)"
        )));
    }
    let usable = |t: usize| !flags[t] && !values[t].is_nan();
    let mut out = values.to_vec();
    match mode {
        CleanMode::Missing => {
            for (o, &f) in out.iter_mut().zip(flags) {
                if f {
                    *o = f64::NAN;
                }
            }
        }
        CleanMode::SeasonalMedian { period } => {
            let p = check_period(period, values.len())?;
            for phase in 0..p {
                if !(phase..values.len()).step_by(p).any(|t| flags[t]) {
                    continue;
                }
                let mut same: Vec<f64> = (phase..values.len())
                    .step_by(p)
                    .filter(|&t| usable(t))
                    .map(|t| values[t])
                    .collect();
                same.sort_by(f64::total_cmp);
                let med = if same.is_empty() {
                    f64::NAN
                } else {
                    quantile(&same, 0.5)
                };
                for t in (phase..values.len()).step_by(p) {
                    if flags[t] {
                        out[t] = med;
                    }
                }
            }
        }
        CleanMode::Interpolate => {
            let n = values.len();
            // Nearest usable index at or before each t, scanning forward; after, backward.
            let mut last = None;
            let prev: Vec<Option<usize>> = (0..n)
                .map(|t| {
                    if usable(t) {
                        last = Some(t);
                    }
                    last
                })
                .collect();
            let mut next = None;
            for t in (0..n).rev() {
                if usable(t) {
                    next = Some(t);
                }
                if flags[t] {
                    out[t] = match (prev[t], next) {
                        (Some(a), Some(b)) => {
                            let w = (t - a) as f64 / (b - a) as f64;
                            values[a] + w * (values[b] - values[a])
                        }
                        (Some(a), None) => values[a],
                        (None, Some(b)) => values[b],
                        (None, None) => f64::NAN,
                    };
                }
            }
        }
    }
    Ok(out)
}

fn check_values(values: &[f64]) -> Result<()> {
    if values.is_empty() {
        return Err(Error::InvalidArgument("the series is empty".into()));
    }
    if let Some(i) = first_infinite(values) {
        return Err(Error::InvalidArgument(format!(
            "value {i} is infinite (use NaN for a missing value)"
        )));
    }
    Ok(())
}

fn check_period(period: usize, n: usize) -> Result<usize> {
    if period == 0 || period > n {
        return Err(Error::InvalidArgument(format!(
            "period must be between 1 and the series length ({n}), got {period}"
        )));
    }
    Ok(period)
}

/// The median of non-empty data and its median absolute deviation (each the mean of the two
/// middle values for an even count, as [`quantile`] at 0.5); sorts `values`.
///
/// This runs for every seasonal phase of every forecast request's history, on a dozen or
/// so values each: one sort and a merge walk over the deviations, which are the sorted
/// values read outwards from the median, beat selecting twice.
fn median_and_mad(values: &mut [f64]) -> (f64, f64) {
    sort_present(values);
    let m = values.len();
    let med = quantile(values, 0.5);
    // Deviations below the median grow leftwards from `split`, those above rightwards.
    let split = values.partition_point(|&v| v < med);
    let (mut left, mut right) = (split, split);
    let (mut lower, mut upper) = (0.0, 0.0);
    for _ in 0..=m / 2 {
        let below = (left > 0).then(|| med - values[left - 1]);
        let above = (right < m).then(|| values[right] - med);
        let next = match (below, above) {
            (Some(b), Some(a)) if b <= a => {
                left -= 1;
                b
            }
            (_, Some(a)) => {
                right += 1;
                a
            }
            (Some(b), None) => {
                left -= 1;
                b
            }
            (None, None) => unreachable!("m / 2 + 1 <= m deviations"),
        };
        lower = upper;
        upper = next;
    }
    let mad = if m % 2 == 1 {
        upper
    } else {
        lower + (upper - lower) * 0.5
    };
    (med, mad)
}

/// Sorts values without NaN. A phase of a forecast request's history holds a dozen or so:
/// a plain insertion sort on `<` is quicker there than the library's sort on `total_cmp`.
fn sort_present(values: &mut [f64]) {
    if values.len() > 32 {
        values.sort_unstable_by(f64::total_cmp);
        return;
    }
    for i in 1..values.len() {
        let v = values[i];
        let mut j = i;
        while j > 0 && v < values[j - 1] {
            values[j] = values[j - 1];
            j -= 1;
        }
        values[j] = v;
    }
}

/// Linearly interpolated quantile of sorted, non-empty data (numpy's default).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_mad_equal_the_sorted_quantiles() {
        let mut state = 7u64;
        for m in 1..60 {
            for spread in [3u64, 17, 1000] {
                let v: Vec<f64> = (0..m)
                    .map(|_| {
                        state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                        ((state >> 40) % spread) as f64 * 0.37 - 3.5
                    })
                    .collect();
                let mut sorted = v.clone();
                sorted.sort_by(f64::total_cmp);
                let med = quantile(&sorted, 0.5);
                let mut dev: Vec<f64> = v.iter().map(|x| (x - med).abs()).collect();
                dev.sort_by(f64::total_cmp);
                let mut work = v.clone();
                assert_eq!(
                    median_and_mad(&mut work),
                    (med, quantile(&dev, 0.5)),
                    "m = {m}, values {v:?}"
                );
            }
        }
    }

    #[test]
    fn quantiles_match_numpy_linear() {
        let s = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&s, 0.25), 1.75);
        assert_eq!(quantile(&s, 0.5), 2.5);
        assert_eq!(quantile(&s, 0.75), 3.25);
        assert_eq!(quantile(&[7.0], 0.5), 7.0);
    }

    #[test]
    fn mad_falls_back_to_mean_absolute_deviation() {
        // MAD is 0 (most values equal) but the outlier must still be flagged.
        let x = [5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 30.0];
        let flags = detect_anomalies(&x, &AnomalyMethod::default(), None).unwrap();
        assert_eq!(flags.iter().filter(|&&f| f).count(), 1);
        assert!(flags[7]);
    }
}
