//! Distances between a reference and a current sample: PSI, Wasserstein-1 and
//! Jensen-Shannon, for numeric samples and for category counts.

use super::sample::{align_counts, sorted_clean, CategoryCounts};
use crate::error::{Error, Result};

/// The proportion that replaces an empty bin's 0 in [`psi`] (Evidently's choice), so the
/// logarithm stays finite: an empty bin on one side contributes `(p - 1e-4) ln(p / 1e-4)`.
pub const PSI_EPSILON: f64 = 1e-4;

/// Default number of quantile bins for [`psi`] and the numeric Jensen-Shannon distance.
pub const DEFAULT_BINS: usize = 10;

/// The `q`-quantile of a sorted sample, numpy's default (`method="linear"`) including its
/// two-sided interpolation formula, so bin edges match `np.quantile` bit for bit.
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = (pos.floor() as usize).min(sorted.len() - 1);
    let hi = (lo + 1).min(sorted.len() - 1);
    let t = pos - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// Interior bin edges: the reference's `i / bins` quantiles for `i = 1..bins`,
/// duplicates removed. Bin `k` holds the values with exactly `k` edges `<= value`.
pub(crate) fn quantile_edges(reference_sorted: &[f64], bins: usize) -> Vec<f64> {
    let mut edges: Vec<f64> = (1..bins)
        .map(|i| quantile_sorted(reference_sorted, i as f64 / bins as f64))
        .collect();
    edges.dedup();
    edges
}

/// Counts of a sorted sample in the bins defined by `edges`.
pub(crate) fn bin_counts_sorted(sorted: &[f64], edges: &[f64]) -> Vec<f64> {
    let mut counts = Vec::with_capacity(edges.len() + 1);
    let mut start = 0;
    for &e in edges {
        let end = start + sorted[start..].partition_point(|&v| v < e);
        counts.push((end - start) as f64);
        start = end;
    }
    counts.push((sorted.len() - start) as f64);
    counts
}

fn check_bins(bins: usize) -> Result<()> {
    if bins < 2 {
        return Err(Error::InvalidArgument(format!(
            "bins must be at least 2, got {bins}"
        )));
    }
    Ok(())
}

/// PSI between two count vectors over the same bins.
pub(crate) fn psi_counts(reference: &[f64], current: &[f64]) -> f64 {
    let (nr, nc) = (reference.iter().sum::<f64>(), current.iter().sum::<f64>());
    reference
        .iter()
        .zip(current)
        .map(|(&r, &c)| {
            let pr = if r == 0.0 { PSI_EPSILON } else { r / nr };
            let pc = if c == 0.0 { PSI_EPSILON } else { c / nc };
            (pc - pr) * (pc / pr).ln()
        })
        .sum()
}

pub(crate) fn psi_sorted(reference: &[f64], current: &[f64], bins: usize) -> f64 {
    let edges = quantile_edges(reference, bins);
    psi_counts(
        &bin_counts_sorted(reference, &edges),
        &bin_counts_sorted(current, &edges),
    )
}

/// Population stability index of `current` against `reference`:
/// `sum_k (c_k - r_k) ln(c_k / r_k)` over the proportions `r_k`, `c_k` in `bins` bins
/// whose interior edges are the reference's `1/bins, 2/bins, ...` quantiles (numpy's
/// linear interpolation; duplicate edges merged, so constant stretches make fewer bins).
/// A value equal to an edge falls in the bin above it. A proportion of exactly 0 is
/// replaced by [`PSI_EPSILON`].
///
/// Common reading: below 0.1 stable, 0.1 to 0.25 some shift, above 0.25 a major shift.
///
/// ```
/// use tenantml::drift::psi;
/// let r: Vec<f64> = (0..1000).map(f64::from).collect();
/// assert!(psi(&r, &r, 10)? < 1e-12);
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn psi(reference: &[f64], current: &[f64], bins: usize) -> Result<f64> {
    check_bins(bins)?;
    let a = sorted_clean(reference, "reference")?;
    let b = sorted_clean(current, "current")?;
    Ok(psi_sorted(&a, &b, bins))
}

/// PSI between two category count tables over the union of their categories.
pub fn psi_categorical(reference: &CategoryCounts, current: &CategoryCounts) -> Result<f64> {
    let (r, c) = checked_align(reference, current)?;
    Ok(psi_counts(&r, &c))
}

fn checked_align(
    reference: &CategoryCounts,
    current: &CategoryCounts,
) -> Result<(Vec<f64>, Vec<f64>)> {
    reference.validate()?;
    current.validate()?;
    if reference.total() == 0 || current.total() == 0 {
        return Err(Error::InvalidArgument("category counts are empty".into()));
    }
    Ok(align_counts(reference, current))
}

pub(crate) fn wasserstein_sorted(u: &[f64], v: &[f64]) -> f64 {
    let (nu, nv) = (u.len() as f64, v.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut sum = 0.0;
    let mut prev: Option<f64> = None;
    let (mut fu, mut fv) = (0.0f64, 0.0f64);
    while i < u.len() || j < v.len() {
        let x = match (u.get(i), v.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => unreachable!(),
        };
        if let Some(p) = prev {
            sum += (fu - fv).abs() * (x - p);
        }
        while i < u.len() && u[i] <= x {
            i += 1;
        }
        while j < v.len() && v[j] <= x {
            j += 1;
        }
        fu = i as f64 / nu;
        fv = j as f64 / nv;
        prev = Some(x);
    }
    sum
}

/// Wasserstein-1 (earth mover's) distance between the empirical distributions,
/// `integral |F_ref(x) - F_cur(x)| dx` (`scipy.stats.wasserstein_distance`), in the
/// feature's units.
///
/// ```
/// use tenantml::drift::wasserstein;
/// assert_eq!(wasserstein(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0])?, 5.0);
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn wasserstein(reference: &[f64], current: &[f64]) -> Result<f64> {
    let a = sorted_clean(reference, "reference")?;
    let b = sorted_clean(current, "current")?;
    Ok(wasserstein_sorted(&a, &b))
}

/// Smallest standard deviation [`wasserstein_normalized`] divides by (Evidently's floor),
/// so a constant reference does not divide by zero.
pub const WASSERSTEIN_MIN_STD: f64 = 1e-3;

pub(crate) fn population_std(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    (x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

/// [`wasserstein`] divided by the reference's population standard deviation (`ddof = 0`),
/// floored at [`WASSERSTEIN_MIN_STD`]: a unit-free distance, Evidently's
/// `wasserstein_distance_norm` (default drift threshold 0.1).
pub fn wasserstein_normalized(reference: &[f64], current: &[f64]) -> Result<f64> {
    let a = sorted_clean(reference, "reference")?;
    let b = sorted_clean(current, "current")?;
    Ok(wasserstein_sorted(&a, &b) / population_std(&a).max(WASSERSTEIN_MIN_STD))
}

/// Jensen-Shannon distance between two (unnormalised) non-negative weight vectors with
/// natural logarithms: `sqrt((KL(p || m) + KL(q || m)) / 2)`, `m = (p + q) / 2`, after each
/// vector is scaled to sum to 1 (`scipy.spatial.distance.jensenshannon`). Between 0 and
/// `sqrt(ln 2)`.
///
/// ```
/// use tenantml::drift::jensen_shannon;
/// let d = jensen_shannon(&[0.5, 0.5], &[0.9, 0.1])?;
/// assert!((d - 0.318982).abs() < 1e-6);
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> Result<f64> {
    if p.len() != q.len() || p.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "jensen_shannon needs two non-empty vectors of one length, got {} and {}",
            p.len(),
            q.len()
        )));
    }
    if p.iter().chain(q).any(|v| !v.is_finite() || *v < 0.0) {
        return Err(Error::InvalidArgument(
            "jensen_shannon weights must be finite and non-negative".into(),
        ));
    }
    let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    if sp == 0.0 || sq == 0.0 {
        return Err(Error::InvalidArgument(
            "jensen_shannon weights sum to zero".into(),
        ));
    }
    Ok(js_unchecked(p, q, sp, sq))
}

fn js_unchecked(p: &[f64], q: &[f64], sp: f64, sq: f64) -> f64 {
    let kl = |a: f64, m: f64| if a > 0.0 { a * (a / m).ln() } else { 0.0 };
    let mut js = 0.0;
    for (&a, &b) in p.iter().zip(q) {
        let (a, b) = (a / sp, b / sq);
        let m = 0.5 * (a + b);
        js += kl(a, m) + kl(b, m);
    }
    (0.5 * js).max(0.0).sqrt()
}

pub(crate) fn js_counts(r: &[f64], c: &[f64]) -> f64 {
    js_unchecked(r, c, r.iter().sum(), c.iter().sum())
}

pub(crate) fn jensen_shannon_sorted(reference: &[f64], current: &[f64], bins: usize) -> f64 {
    let edges = quantile_edges(reference, bins);
    js_counts(
        &bin_counts_sorted(reference, &edges),
        &bin_counts_sorted(current, &edges),
    )
}

/// Jensen-Shannon distance between two numeric samples, on their histograms over shared
/// bins: the same reference-quantile bins as [`psi`] (no epsilon needed: empty bins
/// contribute 0).
pub fn jensen_shannon_numeric(reference: &[f64], current: &[f64], bins: usize) -> Result<f64> {
    check_bins(bins)?;
    let a = sorted_clean(reference, "reference")?;
    let b = sorted_clean(current, "current")?;
    Ok(jensen_shannon_sorted(&a, &b, bins))
}

/// Jensen-Shannon distance between two category count tables (union of categories).
pub fn jensen_shannon_categorical(
    reference: &CategoryCounts,
    current: &CategoryCounts,
) -> Result<f64> {
    let (r, c) = checked_align(reference, current)?;
    Ok(js_counts(&r, &c))
}
