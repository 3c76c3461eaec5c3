//! Probability calibration of a binary classifier's raw scores, and measures of how well
//! probabilities are calibrated.
//!
//! Boosted trees rank well but their probabilities are often too confident (or, with strong
//! regularisation, too timid). A [`Calibrator`] fitted on held-out scores and labels maps a
//! raw score to a probability that matches observed frequencies: Platt scaling (a logistic
//! curve, two parameters, good with little data) or isotonic regression (any monotone
//! curve, needs more data).
//!
//! Calibrators take **raw scores** (margins, e.g. a GBDT's log-odds), not probabilities;
//! for probabilities, pass their logit `ln(p / (1 - p))` instead.

use serde::{Deserialize, Serialize};

use super::format::Validate;
use crate::error::{Error, Result};

/// A fitted map from a raw score to a probability.
///
/// ```
/// use tenantml::trees::calibration::Calibrator;
/// // Scores of an overconfident model: the true log-odds are a third of them.
/// let scores = [-6.0, -3.0, -3.0, 0.0, 0.0, 3.0, 3.0, 6.0];
/// let labels = [0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0];
/// let platt = Calibrator::fit_platt(&scores, &labels, None)?;
/// let p = platt.apply(3.0);
/// assert!(p > 0.5 && p < 0.95);
/// let iso = Calibrator::fit_isotonic(&scores, &labels, None)?;
/// assert!(iso.apply(-6.0) <= iso.apply(0.0) && iso.apply(0.0) <= iso.apply(6.0));
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Calibrator {
    /// Scores are already probabilities: returned unchanged.
    Identity,
    /// Platt's (1999) sign convention: `p = 1 / (1 + exp(a * s + b))`, so a useful model has
    /// `a < 0`.
    Platt {
        /// Slope (negative when higher scores mean the positive class).
        a: f64,
        /// Intercept.
        b: f64,
    },
    /// A non-decreasing piecewise-linear curve through `(x[i], y[i])`, flat beyond the ends
    /// (scikit-learn's `IsotonicRegression(out_of_bounds="clip")`).
    Isotonic {
        /// Strictly increasing scores.
        x: Vec<f64>,
        /// Non-decreasing probabilities in `[0, 1]`.
        y: Vec<f64>,
    },
}

/// Platt's Newton iterations stop when the gradient is this small (per unit of mean
/// weight, so scaling all weights does not change the answer) — Lin, Lin & Weng's value.
const PLATT_GRAD_TOL: f64 = 1e-5;
const PLATT_MAX_ITER: usize = 100;
const PLATT_MIN_STEP: f64 = 1e-10;
/// Ridge on the Hessian's diagonal keeping the Newton system solvable when every score is
/// the same (Lin, Lin & Weng).
const PLATT_SIGMA: f64 = 1e-12;

impl Calibrator {
    /// Platt scaling: fits `a`, `b` of `p = 1 / (1 + exp(a * s + b))` by maximum likelihood
    /// against Platt's smoothed targets `(N+ + 1) / (N+ + 2)` for positives and
    /// `1 / (N- + 2)` for negatives (which keep `a` finite even when the scores separate
    /// the classes), with Newton's method and a backtracking line search as in Lin, Lin &
    /// Weng (2007), "A note on Platt's probabilistic outputs for support vector machines".
    /// With weights, `N+` and `N-` are the classes' weight sums.
    ///
    /// `scores` are raw margins; `labels` are 0 or 1; weights, if given, are finite and
    /// non-negative. Both classes must be present: a calibrator learns how often each
    /// score turns out positive, which one class alone cannot tell.
    pub fn fit_platt(scores: &[f64], labels: &[f64], weights: Option<&[f64]>) -> Result<Self> {
        let (prior1, prior0) = check_fit_inputs(scores, labels, weights)?;
        let w = |i: usize| weights.map_or(1.0, |w| w[i]);
        // Newton's steps do not depend on the scores' scale, but the gradient tolerance and
        // the Hessian ridge do: fitting on scores divided by their largest magnitude makes
        // tiny or huge margins converge like unit ones (scikit-learn rescales likewise).
        let scale = scores.iter().fold(0.0f64, |m, s| m.max(s.abs()));
        let scale = if scale > 0.0 { scale } else { 1.0 };
        let score = |i: usize| scores[i] / scale;
        let hi = (prior1 + 1.0) / (prior1 + 2.0);
        let lo = 1.0 / (prior0 + 2.0);
        let target = |i: usize| if labels[i] == 1.0 { hi } else { lo };
        let objective = |a: f64, b: f64| -> f64 {
            (0..scores.len())
                .map(|i| {
                    let z = a * score(i) + b;
                    // -log-likelihood of target t at p = 1/(1+e^z), written so neither
                    // exp can overflow.
                    let t = target(i);
                    w(i) * if z >= 0.0 {
                        t * z + (-z).exp().ln_1p()
                    } else {
                        (t - 1.0) * z + z.exp().ln_1p()
                    }
                })
                .sum()
        };
        let tol = PLATT_GRAD_TOL * (prior0 + prior1) / scores.len() as f64;

        let mut a = 0.0;
        let mut b = ((prior0 + 1.0) / (prior1 + 1.0)).ln();
        let mut fval = objective(a, b);
        for _ in 0..PLATT_MAX_ITER {
            let (mut h11, mut h22, mut h21) = (PLATT_SIGMA, PLATT_SIGMA, 0.0);
            let (mut g1, mut g2) = (0.0, 0.0);
            for i in 0..scores.len() {
                let s = score(i);
                let p = platt_prob(a, b, s);
                let d2 = w(i) * p * (1.0 - p);
                h11 += s * s * d2;
                h22 += d2;
                h21 += s * d2;
                let d1 = w(i) * (target(i) - p);
                g1 += s * d1;
                g2 += d1;
            }
            if g1.abs() < tol && g2.abs() < tol {
                break;
            }
            let det = h11 * h22 - h21 * h21;
            let da = -(h22 * g1 - h21 * g2) / det;
            let db = -(-h21 * g1 + h11 * g2) / det;
            let gd = g1 * da + g2 * db;
            let mut step = 1.0;
            while step >= PLATT_MIN_STEP {
                let (na, nb) = (a + step * da, b + step * db);
                let nf = objective(na, nb);
                if nf < fval + 1e-4 * step * gd {
                    (a, b, fval) = (na, nb, nf);
                    break;
                }
                step /= 2.0;
            }
            if step < PLATT_MIN_STEP {
                // No descent along Newton's direction: at the optimum within rounding.
                break;
            }
        }
        let a = a / scale;
        if !(a.is_finite() && b.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "Platt scaling diverged (a = {a}, b = {b}); are the scores on a sane scale?"
            )));
        }
        Ok(Calibrator::Platt { a, b })
    }

    /// Isotonic regression: the non-decreasing function of the score closest to the labels
    /// in weighted least squares, by pool-adjacent-violators. Equal scores are pooled first
    /// (their weighted mean label), and only the ends of each constant stretch are kept.
    /// Inputs and errors as for [`Calibrator::fit_platt`].
    pub fn fit_isotonic(scores: &[f64], labels: &[f64], weights: Option<&[f64]>) -> Result<Self> {
        check_fit_inputs(scores, labels, weights)?;
        let w = |i: usize| weights.map_or(1.0, |w| w[i]);
        let mut order: Vec<usize> = (0..scores.len()).filter(|&i| w(i) > 0.0).collect();
        order.sort_by(|&i, &j| scores[i].total_cmp(&scores[j]));

        // Unique scores with their summed weight and weighted label sum.
        let mut xs: Vec<f64> = Vec::new();
        let mut sums: Vec<(f64, f64)> = Vec::new();
        for &i in &order {
            if xs.last() == Some(&scores[i]) {
                let last = sums.last_mut().expect("pushed with xs");
                last.0 += w(i) * labels[i];
                last.1 += w(i);
            } else {
                xs.push(scores[i]);
                sums.push((w(i) * labels[i], w(i)));
            }
        }

        // Blocks as (weighted label sum, weight, first unique index); a new point merges
        // backwards while it does not exceed the block before it, so block means end up
        // strictly increasing.
        let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(xs.len());
        for (k, &(wy, wt)) in sums.iter().enumerate() {
            let mut cur = (wy, wt, k);
            while let Some(&prev) = blocks.last() {
                if prev.0 / prev.1 < cur.0 / cur.1 {
                    break;
                }
                blocks.pop();
                cur = (prev.0 + cur.0, prev.1 + cur.1, prev.2);
            }
            blocks.push(cur);
        }

        let mut x = Vec::with_capacity(2 * blocks.len());
        let mut y = Vec::with_capacity(2 * blocks.len());
        for (b, &(wy, wt, first)) in blocks.iter().enumerate() {
            let last = blocks.get(b + 1).map_or(xs.len(), |next| next.2) - 1;
            let v = (wy / wt).clamp(0.0, 1.0);
            x.push(xs[first]);
            y.push(v);
            if last > first {
                x.push(xs[last]);
                y.push(v);
            }
        }
        Ok(Calibrator::Isotonic { x, y })
    }

    /// The calibrated probability of one raw score (NaN stays NaN).
    #[inline]
    pub fn apply(&self, score: f64) -> f64 {
        match self {
            Calibrator::Identity => score,
            Calibrator::Platt { a, b } => platt_prob(*a, *b, score),
            Calibrator::Isotonic { x, y } => {
                // A hand-built or unvalidated curve may be empty or ragged: answer NaN or
                // use the common length rather than panic.
                let n = x.len().min(y.len());
                if score.is_nan() || n == 0 {
                    return f64::NAN;
                }
                let (x, last) = (&x[..n], n - 1);
                if score <= x[0] {
                    return y[0];
                }
                if score >= x[last] {
                    return y[last];
                }
                let k = x.partition_point(|&v| v <= score);
                let (x0, x1, y0, y1) = (x[k - 1], x[k], y[k - 1], y[k]);
                y0 + (y1 - y0) * ((score - x0) / (x1 - x0))
            }
        }
    }

    /// Replaces each raw score by its calibrated probability.
    pub fn apply_all(&self, scores: &mut [f64]) {
        for s in scores {
            *s = self.apply(*s);
        }
    }
}

impl Validate for Calibrator {
    fn validate(&self) -> Result<()> {
        let fail = |msg: String| Err(Error::BadModelFile(format!("calibrator: {msg}")));
        match self {
            Calibrator::Identity => Ok(()),
            Calibrator::Platt { a, b } if !(a.is_finite() && b.is_finite()) => {
                fail(format!("Platt parameters a = {a}, b = {b} are not finite"))
            }
            Calibrator::Platt { .. } => Ok(()),
            Calibrator::Isotonic { x, y } => {
                if x.is_empty() || x.len() != y.len() {
                    return fail(format!("{} knots but {} values", x.len(), y.len()));
                }
                if !x.iter().all(|v| v.is_finite()) || x.windows(2).any(|p| p[0] >= p[1]) {
                    return fail("knots are not finite and strictly increasing".into());
                }
                if !y.iter().all(|v| (0.0..=1.0).contains(v)) || y.windows(2).any(|p| p[0] > p[1]) {
                    return fail("values are not non-decreasing probabilities".into());
                }
                Ok(())
            }
        }
    }
}

#[inline]
fn platt_prob(a: f64, b: f64, s: f64) -> f64 {
    let z = a * s + b;
    // Two forms so exp never overflows.
    if z >= 0.0 {
        let e = (-z).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + z.exp())
    }
}

/// Returns the weight sums of the positive and negative class.
fn check_fit_inputs(scores: &[f64], labels: &[f64], weights: Option<&[f64]>) -> Result<(f64, f64)> {
    let fail = |msg: String| Err(Error::InvalidArgument(msg));
    if scores.is_empty() {
        return fail("no scores to calibrate on".into());
    }
    check_labels(scores.len(), labels)?;
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return fail(format!("score {i} is {}; scores must be finite", scores[i]));
    }
    if let Some(w) = weights {
        if w.len() != scores.len() {
            return fail(format!("{} scores but {} weights", scores.len(), w.len()));
        }
        if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return fail(format!(
                "weight {i} is {}; weights must be finite and >= 0",
                w[i]
            ));
        }
    }
    let (mut pos, mut neg) = (0.0, 0.0);
    for (i, &y) in labels.iter().enumerate() {
        let wi = weights.map_or(1.0, |w| w[i]);
        if y == 1.0 {
            pos += wi;
        } else {
            neg += wi;
        }
    }
    if pos <= 0.0 || neg <= 0.0 {
        let only = if pos > 0.0 { "positive" } else { "negative" };
        return fail(format!(
            "only {only} labels (with non-zero weight): calibration learns how often each \
             score is positive, which needs examples of both classes"
        ));
    }
    Ok((pos, neg))
}

fn check_labels(n: usize, labels: &[f64]) -> Result<()> {
    if labels.len() != n {
        return Err(Error::InvalidArgument(format!(
            "{n} scores or probabilities but {} labels",
            labels.len()
        )));
    }
    if let Some(i) = labels.iter().position(|&y| y != 0.0 && y != 1.0) {
        return Err(Error::InvalidArgument(format!(
            "label {i} is {}; labels must be 0 or 1",
            labels[i]
        )));
    }
    Ok(())
}

fn check_probabilities(p: &[f64], labels: &[f64]) -> Result<()> {
    if p.is_empty() {
        return Err(Error::InvalidArgument("no probabilities to score".into()));
    }
    check_labels(p.len(), labels)?;
    if let Some(i) = p.iter().position(|v| !(0.0..=1.0).contains(v)) {
        return Err(Error::InvalidArgument(format!(
            "probability {i} is {}; probabilities must be in [0, 1]",
            p[i]
        )));
    }
    Ok(())
}

/// Mean squared difference between probabilities and 0/1 labels, optionally weighted
/// (lower is better; 0.25 is what always answering 0.5 scores).
pub fn brier_score(p: &[f64], labels: &[f64], weights: Option<&[f64]>) -> Result<f64> {
    check_probabilities(p, labels)?;
    let (mut sum, mut total) = (0.0, 0.0);
    for i in 0..p.len() {
        let w = match weights {
            Some(w) if w.len() != p.len() => {
                return Err(Error::InvalidArgument(format!(
                    "{} probabilities but {} weights",
                    p.len(),
                    w.len()
                )))
            }
            Some(w) if !(w[i].is_finite() && w[i] >= 0.0) => {
                return Err(Error::InvalidArgument(format!(
                    "weight {i} is {}; weights must be finite and >= 0",
                    w[i]
                )))
            }
            Some(w) => w[i],
            None => 1.0,
        };
        sum += w * (p[i] - labels[i]).powi(2);
        total += w;
    }
    if total <= 0.0 {
        return Err(Error::InvalidArgument("all weights are zero".into()));
    }
    Ok(sum / total)
}

/// Mean negative log-likelihood of 0/1 labels, with probabilities clipped to
/// `[1e-15, 1 - 1e-15]` so one confident mistake gives a large but finite loss.
pub fn log_loss(p: &[f64], labels: &[f64]) -> Result<f64> {
    check_probabilities(p, labels)?;
    const EPS: f64 = 1e-15;
    let sum: f64 = p
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = p.clamp(EPS, 1.0 - EPS);
            -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
        })
        .sum();
    Ok(sum / p.len() as f64)
}

/// One row of a [`reliability_table`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lowest probability of the bin (inclusive).
    pub lower: f64,
    /// Highest probability of the bin (exclusive, except 1.0 in the last bin).
    pub upper: f64,
    /// Rows whose probability falls in the bin.
    pub count: usize,
    /// Mean probability of those rows.
    pub mean_predicted: f64,
    /// Share of those rows that are positive.
    pub observed_rate: f64,
}

/// Groups probabilities into `n_bins` equal-width bins over `[0, 1]` and compares each
/// bin's mean probability with its positive rate; a calibrated model has them close.
/// Empty bins are left out (as scikit-learn's `calibration_curve` does).
pub fn reliability_table(p: &[f64], labels: &[f64], n_bins: usize) -> Result<Vec<ReliabilityBin>> {
    check_probabilities(p, labels)?;
    if n_bins == 0 {
        return Err(Error::InvalidArgument("n_bins must be at least 1".into()));
    }
    let mut acc = vec![(0usize, 0.0, 0.0); n_bins];
    for (&pi, &y) in p.iter().zip(labels) {
        let b = ((pi * n_bins as f64) as usize).min(n_bins - 1);
        acc[b].0 += 1;
        acc[b].1 += pi;
        acc[b].2 += y;
    }
    Ok(acc
        .into_iter()
        .enumerate()
        .filter(|(_, (count, _, _))| *count > 0)
        .map(|(b, (count, sum_p, sum_y))| ReliabilityBin {
            lower: b as f64 / n_bins as f64,
            upper: (b + 1) as f64 / n_bins as f64,
            count,
            mean_predicted: sum_p / count as f64,
            observed_rate: sum_y / count as f64,
        })
        .collect())
}

/// Expected calibration error: the row-weighted mean of `|mean predicted - observed rate|`
/// over the bins of [`reliability_table`] (0 is perfect).
pub fn expected_calibration_error(p: &[f64], labels: &[f64], n_bins: usize) -> Result<f64> {
    let table = reliability_table(p, labels, n_bins)?;
    let gap: f64 = table
        .iter()
        .map(|b| b.count as f64 * (b.mean_predicted - b.observed_rate).abs())
        .sum();
    Ok(gap / p.len() as f64)
}
