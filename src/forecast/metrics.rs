//! Forecast accuracy measures, defined as utilsforecast (Nixtla) defines them, so the numbers
//! the library reports for its model and for the baselines can be compared with the
//! literature and checked against a reference.
//!
//! Conventions shared by every function here:
//! - a pair (or triple) where any value is `NaN` is a missing period and is skipped; the
//!   statistic is taken over the pairs left;
//! - lengths must match, at least one pair must be left, and infinite values are rejected
//!   (`Error::InvalidArgument`);
//! - relative measures are fractions, not percent: a MAPE of `0.12` means 12 %.
//!
//! | measure | per pair | zero handling |
//! |---|---|---|
//! | [`mae`] | `\|a - f\|` | - |
//! | [`rmse`] | `(a - f)²`, root of the mean | - |
//! | [`mape`] | `\|a - f\| / \|a\|` | pairs with `a == 0` skipped (utilsforecast turns them into NaN, which its mean skips) |
//! | [`smape`] | `\|a - f\| / (\|a\| + \|f\|)`, in `[0, 1]` | `0` when `a == f == 0` (as utilsforecast) |
//! | [`mase`] | `\|a - f\| / scale` | `scale` from [`mase_scale`]; must be positive |

use serde::{Deserialize, Serialize};

use crate::data::series::first_infinite;
use crate::error::{Error, Result};

/// Checks two aligned series and returns their complete pairs.
fn pairs(actual: &[f64], forecast: &[f64], what: &str) -> Result<Vec<(f64, f64)>> {
    if actual.len() != forecast.len() {
        return Err(Error::InvalidArgument(format!(
            "{what}: actual has {} values but forecast has {}",
            actual.len(),
            forecast.len()
        )));
    }
    if actual.is_empty() {
        return Err(Error::InvalidArgument(format!("{what}: no values")));
    }
    let mut out = Vec::with_capacity(actual.len());
    for (i, (&a, &f)) in actual.iter().zip(forecast).enumerate() {
        if a.is_infinite() || f.is_infinite() {
            return Err(Error::InvalidArgument(format!(
                "{what}: infinite value at index {i} (actual {a}, forecast {f})"
            )));
        }
        if !a.is_nan() && !f.is_nan() {
            out.push((a, f));
        }
    }
    if out.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "{what}: no index where both actual and forecast are present (all pairs have a NaN)"
        )));
    }
    Ok(out)
}

fn mean(sum: f64, n: usize) -> f64 {
    sum / n as f64
}

/// Mean absolute error over the complete pairs: the headline error in the series' own unit.
///
/// ```
/// use tenantml::forecast::metrics::mae;
/// assert_eq!(mae(&[1.0, f64::NAN, 4.0], &[2.0, 9.0, 4.0])?, 0.5);
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn mae(actual: &[f64], forecast: &[f64]) -> Result<f64> {
    let p = pairs(actual, forecast, "mae")?;
    Ok(mean(p.iter().map(|(a, f)| (a - f).abs()).sum(), p.len()))
}

/// Root mean squared error over the complete pairs: penalises the large misses that cause
/// throttling or over-provisioning more than MAE does.
pub fn rmse(actual: &[f64], forecast: &[f64]) -> Result<f64> {
    let p = pairs(actual, forecast, "rmse")?;
    Ok(mean(p.iter().map(|(a, f)| (a - f).powi(2)).sum(), p.len()).sqrt())
}

/// Mean absolute percentage error as a fraction, `mean(|a - f| / |a|)`, over the complete
/// pairs whose actual is not zero (a zero actual has no relative error; utilsforecast turns
/// it into NaN and its mean skips it, which is the same). Errors when every present actual
/// is zero.
///
/// ```
/// use tenantml::forecast::metrics::mape;
/// // The zero actual is skipped: (0.1 + 0.5) / 2.
/// assert!((mape(&[10.0, 0.0, 2.0], &[9.0, 3.0, 3.0])? - 0.3).abs() < 1e-12);
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn mape(actual: &[f64], forecast: &[f64]) -> Result<f64> {
    let p = pairs(actual, forecast, "mape")?;
    let terms: Vec<f64> = p
        .iter()
        .filter(|(a, _)| *a != 0.0)
        .map(|(a, f)| (a - f).abs() / a.abs())
        .collect();
    if terms.is_empty() {
        return Err(Error::InvalidArgument(
            "mape: every present actual is zero, the relative error is undefined".into(),
        ));
    }
    Ok(mean(terms.iter().sum(), terms.len()))
}

/// Symmetric MAPE as utilsforecast defines it: `mean(|a - f| / (|a| + |f|))`, a fraction in
/// `[0, 1]` (not the `[0, 2]` variant with the halved denominator); a pair where both are zero
/// counts as a perfect `0`. Usable on series with zeros, unlike [`mape`].
///
/// ```
/// use tenantml::forecast::metrics::smape;
/// assert!((smape(&[0.0, 0.0, 3.0], &[0.0, 2.0, 1.0])? - 0.5).abs() < 1e-12);
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn smape(actual: &[f64], forecast: &[f64]) -> Result<f64> {
    let p = pairs(actual, forecast, "smape")?;
    let sum: f64 = p
        .iter()
        .map(|(a, f)| {
            let d = a.abs() + f.abs();
            if d == 0.0 {
                0.0
            } else {
                (a - f).abs() / d
            }
        })
        .sum();
    Ok(mean(sum, p.len()))
}

/// The MASE denominator: the in-sample mean absolute error of the seasonal naive forecast,
/// `mean |y[t] - y[t - period]|` over the pairs where both values are present (`period = 1`
/// gives the naive scale). The same as utilsforecast's `mase` scale on a complete series.
/// Can be `0` for a perfectly periodic history, which [`mase`] then refuses.
///
/// ```
/// use tenantml::forecast::metrics::mase_scale;
/// assert_eq!(mase_scale(&[1.0, 5.0, 2.0, 7.0], 2)?, 1.5);
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn mase_scale(insample: &[f64], period: usize) -> Result<f64> {
    if period == 0 {
        return Err(Error::InvalidArgument(
            "mase_scale: period must be at least 1".into(),
        ));
    }
    if let Some(i) = first_infinite(insample) {
        return Err(Error::InvalidArgument(format!(
            "mase_scale: infinite value at index {i}"
        )));
    }
    let (mut sum, mut n) = (0.0, 0usize);
    for t in period..insample.len() {
        let d = insample[t] - insample[t - period];
        if !d.is_nan() {
            sum += d.abs();
            n += 1;
        }
    }
    if n == 0 {
        return Err(Error::InvalidArgument(format!(
            "mase_scale: no pair of present values {period} periods apart in {} values",
            insample.len()
        )));
    }
    Ok(mean(sum, n))
}

/// Mean absolute scaled error, `mae(actual, forecast) / scale`: below 1 the forecast beats
/// the in-sample seasonal naive forecast whose error is `scale` (see [`mase_scale`]).
/// `scale` must be finite and positive.
pub fn mase(actual: &[f64], forecast: &[f64], scale: f64) -> Result<f64> {
    if !(scale.is_finite() && scale > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "mase: the scale must be finite and positive, got {scale}"
        )));
    }
    Ok(mae(actual, forecast)? / scale)
}

/// Fraction of the present actuals that fall inside `[lower, upper]` (bounds inclusive):
/// compare it with the nominal level of a prediction interval. Triples with any NaN are
/// skipped; a present triple with `lower > upper` is an error.
///
/// ```
/// use tenantml::forecast::metrics::coverage;
/// let c = coverage(&[1.0, 5.0, f64::NAN], &[0.0, 0.0, 0.0], &[2.0, 4.0, 1.0])?;
/// assert_eq!(c, 0.5);
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn coverage(actual: &[f64], lower: &[f64], upper: &[f64]) -> Result<f64> {
    if actual.len() != lower.len() || actual.len() != upper.len() {
        return Err(Error::InvalidArgument(format!(
            "coverage: lengths differ (actual {}, lower {}, upper {})",
            actual.len(),
            lower.len(),
            upper.len()
        )));
    }
    let (mut inside, mut n) = (0usize, 0usize);
    for i in 0..actual.len() {
        let (a, lo, hi) = (actual[i], lower[i], upper[i]);
        if a.is_nan() || lo.is_nan() || hi.is_nan() {
            continue;
        }
        if a.is_infinite() {
            return Err(Error::InvalidArgument(format!(
                "coverage: infinite actual at index {i}"
            )));
        }
        if lo > hi {
            return Err(Error::InvalidArgument(format!(
                "coverage: lower bound {lo} above upper bound {hi} at index {i}"
            )));
        }
        n += 1;
        if lo <= a && a <= hi {
            inside += 1;
        }
    }
    if n == 0 {
        return Err(Error::InvalidArgument(
            "coverage: no index where actual, lower and upper are all present".into(),
        ));
    }
    Ok(inside as f64 / n as f64)
}

/// The accuracy of one forecast, reported side by side for the model and each baseline.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct ForecastMetrics {
    /// Mean absolute error ([`mae`]).
    pub mae: f64,
    /// Root mean squared error ([`rmse`]).
    pub rmse: f64,
    /// MAPE as a fraction ([`mape`]); `None` when every present actual is zero.
    pub mape: Option<f64>,
    /// Symmetric MAPE as a fraction in `[0, 1]` ([`smape`]).
    pub smape: f64,
    /// MASE ([`mase`]); `None` when no scale was given or the scale is zero.
    pub mase: Option<f64>,
    /// Number of complete (actual, forecast) pairs the measures are taken over.
    pub n: usize,
}

impl ForecastMetrics {
    /// All measures at once. `mase_scale` is the in-sample seasonal naive error from
    /// [`mase_scale`]; `Some(0.0)` (a perfectly periodic history) gives `mase: None`, a
    /// negative or non-finite scale is an error.
    ///
    /// ```
    /// use tenantml::forecast::metrics::ForecastMetrics;
    /// let m = ForecastMetrics::compute(&[2.0, 4.0], &[3.0, 4.0], Some(2.0))?;
    /// assert_eq!((m.mae, m.mase, m.n), (0.5, Some(0.25), 2));
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn compute(actual: &[f64], forecast: &[f64], mase_scale: Option<f64>) -> Result<Self> {
        let p = pairs(actual, forecast, "forecast metrics")?;
        let mae = mae(actual, forecast)?;
        let mape = if p.iter().any(|(a, _)| *a != 0.0) {
            Some(mape(actual, forecast)?)
        } else {
            None
        };
        let mase = match mase_scale {
            None => None,
            Some(0.0) => None,
            Some(s) => Some(mase(actual, forecast, s)?),
        };
        Ok(ForecastMetrics {
            mae,
            rmse: rmse(actual, forecast)?,
            mape,
            smape: smape(actual, forecast)?,
            mase,
            n: p.len(),
        })
    }
}
