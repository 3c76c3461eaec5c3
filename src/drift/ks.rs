//! The two-sample Kolmogorov-Smirnov test, as `scipy.stats.ks_2samp(x, y,
//! method="auto")` computes it (two-sided alternative).

use serde::{Deserialize, Serialize};

use super::sample::sorted_clean;
use super::special::kstwo_sf;
use crate::error::Result;

/// Largest sample size for which [`ks_2samp`] attempts the exact p-value (scipy's
/// `MAX_AUTO_N`); above it the asymptotic one is used.
pub const KS_MAX_EXACT_N: usize = 10_000;

/// Most lattice points the exact recursion for unequal sample sizes may visit (about
/// `2 D m n`, some 20 ms); beyond it [`ks_2samp`] uses the asymptotic p-value.
pub const KS_MAX_EXACT_CELLS: u64 = 20_000_000;

/// How a Kolmogorov-Smirnov p-value was computed (scipy's `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KsMethod {
    /// The exact null distribution of the two-sample statistic (no ties assumed).
    Exact,
    /// `kstwo.sf(D, round(m n / (m + n)))`, Smirnov's large-sample approximation.
    Asymptotic,
}

/// The outcome of a two-sample Kolmogorov-Smirnov test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KsResult {
    /// `D = sup |F_ref(x) - F_cur(x)|` over the pooled values.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Which method produced the p-value.
    pub method: KsMethod,
}

/// Two-sided two-sample Kolmogorov-Smirnov test.
///
/// Like scipy's `method="auto"`: the exact p-value when both samples have at most
/// [`KS_MAX_EXACT_N`] values (for equal sizes by the closed-form reflection sum, otherwise
/// by a banded lattice-path recursion in probabilities), else — or if the exact
/// computation fails numerically — the asymptotic `kstwo` p-value with
/// `n = round(m n / (m + n))`. One departure from scipy bounds the cost: for unequal
/// sizes the exact recursion visits about `2 D m n` lattice points, so when that exceeds
/// [`KS_MAX_EXACT_CELLS`] (a large statistic on large samples, where the p-value is tiny
/// either way) the asymptotic p-value is used; [`KsResult::method`] always says which. Ties are allowed (the statistic handles them as scipy does;
/// the exact null distribution assumes none, as scipy's does).
///
/// Errors: an empty sample or a NaN value is [`Error::InvalidArgument`](crate::Error).
///
/// ```
/// use tenantml::drift::{ks_2samp, KsMethod};
/// let r = ks_2samp(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0])?;
/// assert_eq!(r.statistic, 1.0);
/// assert!((r.p_value - 0.0079365).abs() < 1e-7);
/// assert_eq!(r.method, KsMethod::Exact);
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn ks_2samp(reference: &[f64], current: &[f64]) -> Result<KsResult> {
    let a = sorted_clean(reference, "reference")?;
    let b = sorted_clean(current, "current")?;
    Ok(ks_2samp_sorted(&a, &b))
}

/// [`ks_2samp`] on samples already sorted ascending, non-empty and free of NaN.
pub(crate) fn ks_2samp_sorted(a: &[f64], b: &[f64]) -> KsResult {
    let d = ks_statistic_sorted(a, b);
    let (n1, n2) = (a.len(), b.len());
    if n1.max(n2) <= KS_MAX_EXACT_N {
        if let Some((d_exact, p)) = exact_p_value(n1 as u64, n2 as u64, d) {
            return KsResult {
                statistic: d_exact,
                p_value: p,
                method: KsMethod::Exact,
            };
        }
    }
    KsResult {
        statistic: d,
        p_value: asymptotic_p_value(n1, n2, d),
        method: KsMethod::Asymptotic,
    }
}

/// `sup |F_a - F_b|` with right-continuous empirical CDFs, evaluated at every pooled value.
pub(crate) fn ks_statistic_sorted(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut d: f64 = 0.0;
    while i < a.len() && j < b.len() {
        let v = if a[i] <= b[j] { a[i] } else { b[j] };
        while i < a.len() && a[i] <= v {
            i += 1;
        }
        while j < b.len() && b[j] <= v {
            j += 1;
        }
        d = d.max((i as f64 / n1 - j as f64 / n2).abs());
    }
    // Once one sample is exhausted its CDF is 1 and the gap only shrinks.
    d.min(1.0)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// scipy's `_attempt_exact_2kssamp` (two-sided): `d` is snapped to the lattice `h / lcm`,
/// then `P(D >= d)` is computed exactly. `None` if the computation is not trustworthy.
fn exact_p_value(n1: u64, n2: u64, d: f64) -> Option<(f64, f64)> {
    let g = gcd(n1, n2);
    let lcm = (n1 / g) * n2;
    let h = (d * lcm as f64).round_ties_even() as u64;
    let d = h as f64 / lcm as f64;
    if h == 0 {
        return Some((d, 1.0));
    }
    let p = if n1 == n2 {
        prob_outside_square(n1, h)
    } else {
        let m = n1.max(n2);
        let cells = (m + 1).saturating_mul(2 * h * g / m + 1);
        if cells > KS_MAX_EXACT_CELLS {
            return None;
        }
        prob_outside_band(n1, n2, g, h)
    };
    (p.is_finite() && (0.0..=1.0).contains(&p)).then_some((d, p))
}

/// `P(D_{n,n} >= h/n) = 2 (C(2n, n-h) - C(2n, n-2h) + ...) / C(2n, n)`, evaluated as a
/// Horner-like product so that no term cancels (scipy's `_compute_prob_outside_square`).
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let mut p = 0.0;
    let mut k = n / h;
    loop {
        let mut p1 = 1.0;
        for j in 0..h {
            p1 = (n as f64 - (k * h) as f64 - j as f64) * p1
                / (n as f64 + (k * h) as f64 + j as f64 + 1.0);
        }
        p = p1 * (1.0 - p);
        if k == 0 {
            break;
        }
        k -= 1;
    }
    2.0 * p
}

/// Probability that a uniformly random monotone lattice path from `(0, 0)` to `(m, n)`
/// reaches a point with `|x n - y m| >= h g`, i.e. `P(D >= h / lcm)`.
///
/// Walks the path as a Markov chain (from `(x, y)` the next step goes right with
/// probability `(m - x) / (m + n - x - y)`), one column at a time over the band of allowed
/// `y`, and adds up the probability that flows out of the band. Every value stays in
/// `[0, 1]` (no binomial coefficients, no overflow) and the p-value is a sum of positive
/// terms, so tiny p-values keep their relative precision. `O(m * band)` multiply-adds
/// with `band ~ 2 d n` (the reciprocals `1 / (m + n - x - y)` are tabulated once).
fn prob_outside_band(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (mi, ni, lim) = (m as i64, n as i64, (h * g) as i64);
    // Allowed y in column x: x n - lim < y m < x n + lim.
    let band = |x: i64| -> (i64, i64) {
        let lo = (x * ni - lim).div_euclid(mi) + 1;
        let hi = (x * ni + lim - 1).div_euclid(mi);
        (lo.max(0), hi.min(ni))
    };
    let total = m + n;
    // inv[s] = 1 / (remaining steps) at a point with x + y = s.
    let inv: Vec<f64> = (0..=total)
        .map(|s| 1.0 / (total - s).max(1) as f64)
        .collect();
    let nf = n as f64;
    let mut prev = vec![0.0f64; n as usize + 1];
    let mut cur = vec![0.0f64; n as usize + 1];
    let (lo0, hi0) = band(0);
    if lo0 > 0 || hi0 < 0 {
        return 1.0;
    }
    let mut out = 0.0;
    prev[0] = 1.0;
    for y in 1..=hi0 as usize {
        prev[y] = prev[y - 1] * (nf - (y - 1) as f64) * inv[y - 1];
    }
    if hi0 < ni {
        let y = hi0 as usize;
        out += prev[y] * (nf - y as f64) * inv[y];
    }
    let (mut plo, mut phi) = (lo0 as usize, hi0 as usize);
    for x in 1..=mi {
        let (lo, hi) = band(x);
        let xu = x as usize;
        let right = (m - (x as u64 - 1)) as f64;
        if lo > hi {
            // Every path still inside leaves now.
            for y in plo..=phi {
                out += prev[y] * right * inv[xu - 1 + y];
            }
            return out.min(1.0);
        }
        let (lo, hi) = (lo as usize, hi as usize);
        // Rightward moves out of the band (below it: y < lo).
        for y in plo..lo.min(phi + 1) {
            out += prev[y] * right * inv[xu - 1 + y];
        }
        let mut below = 0.0;
        for y in lo..=hi {
            let from_left = if y >= plo && y <= phi {
                prev[y] * right * inv[xu - 1 + y]
            } else {
                0.0
            };
            let from_below = if y > lo {
                below * (nf - (y - 1) as f64) * inv[xu + y - 1]
            } else {
                0.0
            };
            below = from_left + from_below;
            cur[y] = below;
        }
        if hi < n as usize {
            out += cur[hi] * (nf - hi as f64) * inv[xu + hi];
        }
        std::mem::swap(&mut prev, &mut cur);
        (plo, phi) = (lo, hi);
    }
    out.min(1.0)
}

/// scipy's asymptotic branch: `kstwo.sf(d, round(m n / (m + n)))`.
pub(crate) fn asymptotic_p_value(n1: usize, n2: usize, d: f64) -> f64 {
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let en = (m * n / (m + n)).round_ties_even().max(1.0);
    kstwo_sf(d, en as u64).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The band recursion agrees with the closed form where both apply (m == n).
    #[test]
    fn band_matches_square_formula() {
        for (n, h) in [(5u64, 5u64), (10, 3), (37, 9), (200, 21)] {
            let square = prob_outside_square(n, h);
            let band = prob_outside_band(n, n, n, h);
            assert!(
                (square - band).abs() < 1e-12,
                "n={n} h={h}: {square} vs {band}"
            );
        }
    }

    #[test]
    fn statistic_with_ties() {
        let d = ks_statistic_sorted(&[1.0, 1.0, 2.0, 3.0], &[1.0, 2.0, 2.0, 2.0]);
        assert!((d - 0.25).abs() < 1e-15);
    }
}
