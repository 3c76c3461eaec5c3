//! Losses for gradient boosting: gradients and hessians of each loss with respect to the raw
//! score, the constant that starts boosting, and the link from raw score to prediction.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What the boosted trees minimise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum Objective {
    /// Regression, L2.
    SquaredError,
    /// Regression, L1 (robust to outliers; gradient is the residual's sign).
    AbsoluteError,
    /// Regression, L2 near zero and L1 beyond `delta`.
    Huber {
        /// Residual size where the loss turns linear.
        delta: f64,
    },
    /// Counts (usage): log link, predictions are positive rates.
    Poisson,
    /// Binary classification: log link on the odds, predictions are probabilities.
    LogLoss,
}

/// Hessians below this are floored so a leaf value never divides by (almost) zero
/// (log-loss rows predicted with near certainty, Poisson rows with tiny rates).
const MIN_HESSIAN: f64 = 1e-16;

impl Objective {
    /// Checks that targets suit the loss: finite everywhere, 0/1 for log-loss, >= 0 for
    /// Poisson.
    pub fn check_targets(&self, y: &[f64]) -> Result<()> {
        for (i, &v) in y.iter().enumerate() {
            let ok = v.is_finite()
                && match self {
                    Objective::LogLoss => v == 0.0 || v == 1.0,
                    Objective::Poisson => v >= 0.0,
                    _ => true,
                };
            if !ok {
                let expected = match self {
                    Objective::LogLoss => "0 or 1",
                    Objective::Poisson => "a finite count >= 0",
                    _ => "a finite number",
                };
                return Err(Error::InvalidArgument(format!(
                    "target {i} must be {expected} for {}, got {v}",
                    self.name()
                )));
            }
        }
        if matches!(self, Objective::Huber { delta } if !(delta.is_finite() && *delta > 0.0)) {
            return Err(Error::InvalidArgument(
                "huber delta must be a positive number".into(),
            ));
        }
        Ok(())
    }

    /// Short name, as in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Objective::SquaredError => "squared_error",
            Objective::AbsoluteError => "absolute_error",
            Objective::Huber { .. } => "huber",
            Objective::Poisson => "poisson",
            Objective::LogLoss => "log_loss",
        }
    }

    /// The best constant raw score: where boosting starts.
    pub fn initial_score(&self, y: &[f64], w: Option<&[f64]>) -> f64 {
        let weight = |i: usize| w.map_or(1.0, |w| w[i]);
        let total: f64 = (0..y.len()).map(weight).sum();
        let mean = (0..y.len()).map(|i| weight(i) * y[i]).sum::<f64>() / total;
        match self {
            Objective::SquaredError | Objective::Huber { .. } => mean,
            Objective::AbsoluteError => weighted_median(y, w),
            Objective::Poisson => mean.max(1e-12).ln(),
            Objective::LogLoss => {
                let p = mean.clamp(1e-12, 1.0 - 1e-12);
                (p / (1.0 - p)).ln()
            }
        }
    }

    /// Fills gradients and hessians of the loss at raw scores `score`, times the weights.
    /// Large inputs are shared among threads; every row's values are the same either way.
    pub fn gradients(
        &self,
        y: &[f64],
        score: &[f64],
        w: Option<&[f64]>,
        grad: &mut [f64],
        hess: &mut [f64],
    ) {
        let piece = |start: usize, grad: &mut [f64], hess: &mut [f64]| {
            for (i, (g_out, h_out)) in grad.iter_mut().zip(hess.iter_mut()).enumerate() {
                let i = start + i;
                let (g, h) = self.gradient(y[i], score[i]);
                let wi = w.map_or(1.0, |w| w[i]);
                *g_out = g * wi;
                *h_out = h * wi;
            }
        };
        let n = y.len();
        if n >= 2 * PIECE {
            grad[..n]
                .par_chunks_mut(PIECE)
                .zip(hess[..n].par_chunks_mut(PIECE))
                .enumerate()
                .for_each(|(k, (g, h))| piece(k * PIECE, g, h));
        } else {
            piece(0, &mut grad[..n], &mut hess[..n]);
        }
    }

    #[inline]
    fn gradient(&self, y: f64, s: f64) -> (f64, f64) {
        match *self {
            Objective::SquaredError => (s - y, 1.0),
            Objective::AbsoluteError => ((s - y).signum() * f64::from(u8::from(s != y)), 1.0),
            Objective::Huber { delta } => ((s - y).clamp(-delta, delta), 1.0),
            Objective::Poisson => {
                let mu = s.exp();
                (mu - y, mu.max(MIN_HESSIAN))
            }
            Objective::LogLoss => {
                let p = sigmoid(s);
                (p - y, (p * (1.0 - p)).max(MIN_HESSIAN))
            }
        }
    }

    /// Raw score to prediction: identity, `exp` (Poisson) or the logistic (log-loss).
    #[inline]
    pub fn transform(&self, raw: f64) -> f64 {
        match self {
            Objective::Poisson => raw.exp(),
            Objective::LogLoss => sigmoid(raw),
            _ => raw,
        }
    }

    /// Mean loss at raw scores (for early stopping and training curves). Summed by pieces
    /// of fixed size, then the pieces in order, so the result does not depend on the
    /// number of threads.
    pub fn loss(&self, y: &[f64], score: &[f64], w: Option<&[f64]>) -> f64 {
        let piece = |k: usize| {
            let mut total = 0.0;
            let mut weight_sum = 0.0;
            for i in k * PIECE..((k + 1) * PIECE).min(y.len()) {
                let wi = w.map_or(1.0, |w| w[i]);
                total += wi * self.row_loss(y[i], score[i]);
                weight_sum += wi;
            }
            (total, weight_sum)
        };
        let pieces = y.len().div_ceil(PIECE);
        let sums: Vec<(f64, f64)> = if pieces >= 2 {
            (0..pieces).into_par_iter().map(piece).collect()
        } else {
            (0..pieces).map(piece).collect()
        };
        let (total, weight_sum) = sums
            .iter()
            .fold((0.0, 0.0), |(t, s), (pt, ps)| (t + pt, s + ps));
        total / weight_sum
    }

    #[inline]
    fn row_loss(&self, yi: f64, s: f64) -> f64 {
        match *self {
            Objective::SquaredError => (s - yi).powi(2),
            Objective::AbsoluteError => (s - yi).abs(),
            Objective::Huber { delta } => {
                let r = (s - yi).abs();
                if r <= delta {
                    0.5 * r * r
                } else {
                    delta * (r - 0.5 * delta)
                }
            }
            // Poisson deviance up to a term constant in the score.
            Objective::Poisson => s.exp() - yi * s,
            // log(1 + e^s) - y s, computed without overflow.
            Objective::LogLoss => s.max(0.0) + (-s.abs()).exp().ln_1p() - yi * s,
        }
    }
}

/// Rows per piece when gradients and losses are shared among threads.
const PIECE: usize = 8 * 1024;

#[inline]
pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn weighted_median(y: &[f64], w: Option<&[f64]>) -> f64 {
    let mut pairs: Vec<(f64, f64)> = y
        .iter()
        .enumerate()
        .map(|(i, &v)| (v, w.map_or(1.0, |w| w[i])))
        .collect();
    weighted_median_of_pairs(&mut pairs)
}

/// The smallest value whose cumulative weight reaches half the total (pairs are `(value,
/// weight)`, reordered); 0 for no pairs.
pub(crate) fn weighted_median_of_pairs(pairs: &mut [(f64, f64)]) -> f64 {
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let half = pairs.iter().map(|p| p.1).sum::<f64>() / 2.0;
    let mut acc = 0.0;
    for (v, wi) in pairs.iter() {
        acc += wi;
        if acc >= half {
            return *v;
        }
    }
    pairs.last().map_or(0.0, |p| p.0)
}

/// L1 loss: a Newton step on sign gradients only moves a leaf by about one unit, so (as
/// LightGBM does) each leaf is set to the weighted median residual of its rows, the exact
/// minimiser of the absolute error within the leaf.
pub(crate) fn renew_leaves_to_median(
    tree: &mut super::tree::Tree,
    leaves: &[super::grower::LeafRows],
    rows: &[u32],
    y: &[f64],
    scores: &[f64],
    weights: Option<&[f64]>,
) {
    let mut residuals: Vec<(f64, f64)> = Vec::new();
    for leaf in leaves {
        residuals.clear();
        residuals.extend(rows[leaf.start..leaf.end].iter().map(|&r| {
            let r = r as usize;
            (y[r] - scores[r], weights.map_or(1.0, |w| w[r]))
        }));
        if !residuals.is_empty() {
            tree.nodes[leaf.node].value = weighted_median_of_pairs(&mut residuals);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_gradient(obj: Objective, y: f64, s: f64) -> f64 {
        let h = 1e-6;
        (obj.loss(&[y], &[s + h], None) - obj.loss(&[y], &[s - h], None)) / (2.0 * h)
    }

    #[test]
    fn gradients_match_the_loss_derivative() {
        let cases = [
            (Objective::SquaredError, 3.0, 1.5),
            (Objective::Huber { delta: 1.0 }, 3.0, 2.5),
            (Objective::Huber { delta: 1.0 }, 3.0, -2.0),
            (Objective::Poisson, 4.0, 0.7),
            (Objective::LogLoss, 1.0, 0.3),
            (Objective::LogLoss, 0.0, -2.0),
            (Objective::AbsoluteError, 1.0, 3.0),
        ];
        for (obj, y, s) in cases {
            let (g, _) = obj.gradient(y, s);
            let numeric = numeric_gradient(obj, y, s);
            // Squared error's loss is (s-y)^2 while its gradient is (s-y): the factor 2 is
            // absorbed in the learning rate, as LightGBM and XGBoost do.
            let expected = if obj == Objective::SquaredError {
                numeric / 2.0
            } else {
                numeric
            };
            assert!(
                (g - expected).abs() < 1e-5,
                "{obj:?} y={y} s={s}: {g} vs {expected}"
            );
        }
    }

    #[test]
    fn initial_scores_are_the_best_constants() {
        let y = [1.0, 2.0, 3.0, 10.0];
        assert_eq!(Objective::SquaredError.initial_score(&y, None), 4.0);
        assert_eq!(Objective::AbsoluteError.initial_score(&y, None), 2.0);
        assert!((Objective::Poisson.initial_score(&y, None) - 4f64.ln()).abs() < 1e-12);
        let b = [0.0, 0.0, 0.0, 1.0];
        assert!((sigmoid(Objective::LogLoss.initial_score(&b, None)) - 0.25).abs() < 1e-12);
        let w = [1.0, 1.0, 1.0, 3.0];
        assert_eq!(Objective::SquaredError.initial_score(&y, Some(&w)), 6.0);
    }

    #[test]
    fn bad_targets_are_named() {
        let err = Objective::LogLoss
            .check_targets(&[0.0, 0.5])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid argument: target 1 must be 0 or 1 for log_loss, got 0.5"
        );
        assert!(Objective::Poisson.check_targets(&[-1.0]).is_err());
        assert!(Objective::SquaredError.check_targets(&[f64::NAN]).is_err());
        assert!(Objective::SquaredError
            .check_targets(&[f64::INFINITY])
            .is_err());
        assert!(Objective::Huber { delta: 0.0 }
            .check_targets(&[1.0])
            .is_err());
    }

    #[test]
    fn logloss_is_stable_for_large_scores() {
        let l = Objective::LogLoss.loss(&[1.0, 0.0], &[800.0, -800.0], None);
        assert!(l.is_finite() && l < 1e-300);
    }
}
