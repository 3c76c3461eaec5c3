//! Prediction intervals by split-conformal calibration: the interval at level `L` around a
//! point forecast `h` steps ahead is `forecast ± w`, where `w` is the finite-sample
//! `L`-quantile of the absolute out-of-sample residuals observed at step `h` in backtests.
//! No distributional assumption: if future errors are exchangeable with the calibration
//! residuals, the interval covers the actual with probability at least `L`.
//!
//! Rules (all documented on the items too):
//! - **quantile**: with `n` sorted absolute residuals `r(1) <= ... <= r(n)`, the half width is
//!   `r(k)` with `k = ceil((n + 1) L)`. When `k > n` (too few residuals for that level, e.g.
//!   `n < 19` at 95 %) the largest residual is used: the interval is still useful but no
//!   longer guaranteed; [`Conformal::guaranteed`] tells which case applies.
//! - **sparse steps**: a step with fewer than [`MIN_RESIDUALS_PER_STEP`] present residuals
//!   borrows those of its nearest steps (both sides at distance 1, then 2, ...) until it has
//!   enough or has taken every step. Steps with enough residuals use only their own.
//! - **beyond the calibrated steps**: step `h > H` (the last calibrated step) uses the width
//!   at `H` times `sqrt(h / H)`, the random-walk growth of errors with the horizon.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Fewest residuals a step calibrates on by itself; sparser steps borrow from neighbours.
/// 20 is the smallest sample whose finite-sample 95 % quantile exists (`ceil(21 × 0.95) = 20`).
pub const MIN_RESIDUALS_PER_STEP: usize = 20;

/// Tolerance on `(n + 1) L` before rounding it up, so that e.g. `20 × 0.95`, which is
/// `19.000000000000004` in floating point, selects rank 19 as the exact arithmetic does.
const RANK_TOLERANCE: f64 = 1e-9;

/// Calibrated interval half widths per horizon step, from backtest residuals.
///
/// Serialisable (it travels with the fitted model); deserialisation re-checks the contents.
///
/// ```
/// use tenantml::forecast::conformal::Conformal;
/// // 99 residuals 1..=99 (signs do not matter) at step 1.
/// let step1: Vec<f64> = (1..=99).map(|i| if i % 2 == 0 { i as f64 } else { -(i as f64) }).collect();
/// let c = Conformal::fit(&[step1])?;
/// assert_eq!(c.half_width(1, 0.8), 80.0); // rank ceil(100 × 0.8) = 80
/// assert_eq!(c.half_width(4, 0.8), 160.0); // beyond step 1: × sqrt(4 / 1)
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(try_from = "ConformalData", into = "ConformalData")]
pub struct Conformal {
    /// Per step, the sorted absolute residuals it calibrates on (its own plus borrowed ones).
    abs_residuals: Vec<Vec<f64>>,
    /// Per step, how many present residuals were its own.
    own_counts: Vec<usize>,
}

/// The serialised form: the same fields, validated on the way in.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConformalData {
    abs_residuals: Vec<Vec<f64>>,
    own_counts: Vec<usize>,
}

impl From<Conformal> for ConformalData {
    fn from(c: Conformal) -> Self {
        ConformalData {
            abs_residuals: c.abs_residuals,
            own_counts: c.own_counts,
        }
    }
}

impl TryFrom<ConformalData> for Conformal {
    type Error = Error;
    fn try_from(d: ConformalData) -> Result<Self> {
        if d.abs_residuals.is_empty() || d.abs_residuals.len() != d.own_counts.len() {
            return Err(Error::Parse(format!(
                "conformal: {} steps of residuals but {} counts (need the same, at least 1)",
                d.abs_residuals.len(),
                d.own_counts.len()
            )));
        }
        let mut abs_residuals = d.abs_residuals;
        for (h, step) in abs_residuals.iter_mut().enumerate() {
            if step.is_empty() || step.iter().any(|r| !(r.is_finite() && *r >= 0.0)) {
                return Err(Error::Parse(format!(
                    "conformal: step {} needs at least one finite non-negative residual",
                    h + 1
                )));
            }
            step.sort_by(f64::total_cmp);
        }
        Ok(Conformal {
            abs_residuals,
            own_counts: d.own_counts,
        })
    }
}

impl Conformal {
    /// Calibrates on out-of-sample residuals: `residuals_by_step[h - 1]` holds the residuals
    /// (`actual - forecast`, any sign, `NaN` = missing and skipped) of forecasts made `h`
    /// steps ahead. Steps with few residuals borrow from their neighbours (module docs).
    ///
    /// Errors: no steps, an infinite residual, or no present residual at all.
    pub fn fit(residuals_by_step: &[Vec<f64>]) -> Result<Conformal> {
        if residuals_by_step.is_empty() {
            return Err(Error::InvalidArgument(
                "conformal: no horizon steps given".into(),
            ));
        }
        let mut own: Vec<Vec<f64>> = Vec::with_capacity(residuals_by_step.len());
        for (h, step) in residuals_by_step.iter().enumerate() {
            if let Some(r) = step.iter().find(|r| r.is_infinite()) {
                return Err(Error::InvalidArgument(format!(
                    "conformal: infinite residual {r} at step {}",
                    h + 1
                )));
            }
            own.push(
                step.iter()
                    .filter(|r| !r.is_nan())
                    .map(|r| r.abs())
                    .collect(),
            );
        }
        if own.iter().all(Vec::is_empty) {
            return Err(Error::InvalidArgument(
                "conformal: every residual is missing (NaN)".into(),
            ));
        }
        let steps = own.len();
        let mut abs_residuals = Vec::with_capacity(steps);
        for h in 0..steps {
            let mut pool = own[h].clone();
            let mut d = 1;
            while pool.len() < MIN_RESIDUALS_PER_STEP && d < steps {
                if let Some(left) = h.checked_sub(d) {
                    pool.extend_from_slice(&own[left]);
                }
                if let Some(right) = own.get(h + d) {
                    pool.extend_from_slice(right);
                }
                d += 1;
            }
            pool.sort_by(f64::total_cmp);
            abs_residuals.push(pool);
        }
        Ok(Conformal {
            abs_residuals,
            own_counts: own.iter().map(Vec::len).collect(),
        })
    }

    /// Number of calibrated horizon steps `H` (the length of the residual list given to
    /// [`Conformal::fit`]).
    pub fn steps(&self) -> usize {
        self.abs_residuals.len()
    }

    /// How many present residuals step `step` (1-based) had of its own; 0 beyond `H`.
    pub fn residual_count(&self, step: usize) -> usize {
        step.checked_sub(1)
            .and_then(|i| self.own_counts.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// The half width of the interval at level `level` (e.g. `0.8`), `step` steps ahead
    /// (1-based): `forecast ± half_width` covers the actual with probability `level`.
    /// Finite-sample conformal quantile, largest residual when there are too few, `sqrt`
    /// growth beyond the calibrated steps (module docs). Returns `NaN` when `step` is 0 or
    /// `level` is not strictly between 0 and 1; [`Conformal::try_half_width`] says why.
    pub fn half_width(&self, step: usize, level: f64) -> f64 {
        self.try_half_width(step, level).unwrap_or(f64::NAN)
    }

    /// [`Conformal::half_width`] with an error instead of `NaN` for a zero step or a level
    /// outside `(0, 1)`.
    pub fn try_half_width(&self, step: usize, level: f64) -> Result<f64> {
        check_level(level)?;
        if step == 0 {
            return Err(Error::InvalidArgument(
                "conformal: steps are 1-based, step 0 does not exist".into(),
            ));
        }
        let last = self.steps();
        if step <= last {
            Ok(quantile(&self.abs_residuals[step - 1], level))
        } else {
            let w = quantile(&self.abs_residuals[last - 1], level);
            Ok(w * (step as f64 / last as f64).sqrt())
        }
    }

    /// Whether the half width at `step` and `level` carries the finite-sample guarantee:
    /// the step is calibrated and its `ceil((n + 1) L)` rank exists. `false` for invalid input.
    /// For a step that borrowed residuals, `n` counts the pool, and the guarantee further
    /// assumes the neighbouring steps' errors are alike.
    pub fn guaranteed(&self, step: usize, level: f64) -> bool {
        if check_level(level).is_err() || step == 0 || step > self.steps() {
            return false;
        }
        let n = self.abs_residuals[step - 1].len();
        rank(n, level) <= n
    }

    /// Lower and upper bounds around a point forecast whose element `i` is `i + 1` steps
    /// ahead. A `NaN` forecast gives `NaN` bounds.
    ///
    /// ```
    /// use tenantml::forecast::conformal::Conformal;
    /// let c = Conformal::fit(&[vec![1.0; 30], vec![-2.0; 30]])?;
    /// let (lo, hi) = c.interval(&[10.0, 10.0], 0.9)?;
    /// assert_eq!((lo, hi), (vec![9.0, 8.0], vec![11.0, 12.0]));
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn interval(&self, forecast: &[f64], level: f64) -> Result<(Vec<f64>, Vec<f64>)> {
        check_level(level)?;
        let widths: Vec<f64> = (1..=forecast.len())
            .map(|h| self.try_half_width(h, level))
            .collect::<Result<_>>()?;
        let lower = forecast.iter().zip(&widths).map(|(f, w)| f - w).collect();
        let upper = forecast.iter().zip(&widths).map(|(f, w)| f + w).collect();
        Ok((lower, upper))
    }
}

fn check_level(level: f64) -> Result<()> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "conformal: level must be strictly between 0 and 1 (e.g. 0.8), got {level}"
        )))
    }
}

/// The 1-based rank `ceil((n + 1) L)` of the conformal quantile (at least 1).
fn rank(n: usize, level: f64) -> usize {
    (((n + 1) as f64 * level - RANK_TOLERANCE).ceil() as usize).max(1)
}

/// The conformal quantile of a sorted, non-empty sample; its maximum when the rank exceeds it.
fn quantile(sorted: &[f64], level: f64) -> f64 {
    let k = rank(sorted.len(), level).min(sorted.len());
    sorted[k - 1]
}
