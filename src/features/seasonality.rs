//! Seasonality: the autocorrelation of a series with gaps, and its dominant seasonal periods
//! with their strength.
//!
//! The detected periods pick the lags and seasonal baselines of a forecast (24 and 168 for
//! an hourly series with a daily and a weekly cycle; 7 for a daily one).
//!
//! # Method
//! 1. A least-squares line (on the present values) is subtracted, so a trend does not
//!    swamp the autocorrelation.
//! 2. Candidates come from the autocorrelation function (local maxima above a significance
//!    bound, by default `2 / sqrt(m)` for `m` present values: the first six by lag and the
//!    six highest) and from the periodogram (its six highest peaks that top their
//!    neighbours within two resolution bins, so a strong cycle's side lobes do not count;
//!    each gives the highest autocorrelation peak within 5 % of `1 / frequency`, or the
//!    nearest whole lag if there is none, kept if its autocorrelation is above the bound
//!    too). Each is then moved to a neighbouring lag (±1) if that has a higher strength,
//!    since noise can shift a peak by a step. Callers who know the natural periods of
//!    their frequency can pass them instead ([`SeasonalityOptions::candidates`]). Periods
//!    run from 2 to `max_period` (default `n / 3`: one cycle is lost to the moving average
//!    below, two remain to compare).
//! 3. Candidates are kept one at a time, greedily, as in an additive decomposition
//!    (described below), while the best remaining one reaches
//!    [`SeasonalityOptions::min_strength`] and its phase means pass a significance test
//!    (the F test of a one-way analysis of variance by phase, at 1e-5, with Paulson's
//!    approximation of the F quantile): a long period has many phase means, which fit
//!    noise well enough to reach a modest strength by chance. (When the strongest fails
//!    the test, the strongest candidate that passes it is taken instead.)
//!
//! # Strength
//! For a period `p`: the series minus its centred moving average of length `p` (a `2 x p`
//! average for even `p`, as in classical decomposition) is the detrended series `d`; the
//! seasonal component is the mean of `d` per phase (`t mod p`) and the remainder `r` is `d`
//! minus it. The strength is the share of `d`'s variance the phase means explain, adjusted
//! for the `q` means fitted (like an adjusted R², so pure noise scores about 0 for any
//! period):
//!
//! `strength = max(0, 1 - (SS(r) / (m - q)) / (SS(d) / (m - 1)))`
//!
//! with `SS` the sum of squared deviations from the mean over the `m` present values.
//!
//! # Selection, harmonics and multiples
//! Each round scores every remaining candidate on what the periods kept so far leave
//! unexplained (the phase means at each kept period are subtracted from the candidate's `d`
//! first) and keeps the strongest; its reported strength is that added strength. So a
//! multiple of a kept period (48 or 168 after 24) is reported only if it adds at least
//! `min_strength` beyond it: with a daily and a weekly cycle, 168 reports how much the
//! weekly cycle explains beyond the daily one, and 48, 72, ... add nothing and are dropped.
//!
//! A multiple always explains at least as much as its divisors (its phase means can
//! reproduce theirs), so it would win the first round and absorb them. Hence the one rule
//! on top: when the strongest candidate `q` has a divisor `b` among the candidates whose
//! phase means explain at least a quarter as much of `q`'s detrended series as `q`'s own
//! (the strength of `b` measured on `q`'s `d`, against a quarter of `q`'s, and at least
//! `min_strength`), the best such divisor is kept first (and so on down). A weaker divisor
//! stays inside its multiple and is not reported: the 12-hour harmonic of an ordinary
//! daily profile, but also a daily cycle much weaker than a weekly one (with daily
//! amplitude 2 and weekly 10 only 168 is reported; its strength then includes the daily
//! ripple). Pass `candidates` and read the strengths if that matters.
//!
//! Cost: one FFT of the next power of two above `n + max_period`, and `O(n)` per candidate
//! and round (at most 18 candidates, each first compared with its two neighbours).

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

use crate::data::series::first_infinite;
use crate::error::{Error, Result};

/// A lag's autocorrelation needs at least this many pairs of present values; below, NaN.
const MIN_PAIRS: usize = 2;
/// A divisor of the strongest candidate is kept first when its phase means explain at
/// least this share of what the candidate's own explain (module documentation).
const DIVISOR_SHARE: f64 = 0.25;
/// Normal quantile of the significance test on a period's phase means (upper 1e-5).
const SIGNIFICANCE_Z: f64 = 4.265;
/// Candidates taken from each source (first ACF peaks, highest ACF peaks, periodogram).
const CANDIDATES_PER_SOURCE: usize = 6;

/// Settings of [`detect_seasonality`].
///
/// ```
/// use tenantml::features::seasonality::SeasonalityOptions;
/// let hourly = SeasonalityOptions { candidates: Some(vec![24, 168]), ..Default::default() };
/// assert_eq!(hourly.min_strength, 0.1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SeasonalityOptions {
    /// Longest period considered. `None` means `n / 3`; a larger value than `n / 2` means
    /// `n / 2` (a period is only credible when the series holds several full cycles).
    pub max_period: Option<usize>,
    /// Smallest strength, in `[0, 1)`, for a period to be reported. Default 0.1.
    pub min_strength: f64,
    /// Autocorrelation a candidate must exceed, in `(0, 1)`; `None` means `2 / sqrt(m)`
    /// for `m` present values (the approximate 95 % bound of white noise).
    pub acf_threshold: Option<f64>,
    /// Periods to test instead of searching the autocorrelation and periodogram, e.g. the
    /// natural periods of the frequency (24 and 168 for hourly data, 7 and 30 for daily).
    /// Each must be at least 2; those above the longest period are skipped.
    pub candidates: Option<Vec<usize>>,
}

impl Default for SeasonalityOptions {
    fn default() -> Self {
        SeasonalityOptions {
            max_period: None,
            min_strength: 0.1,
            acf_threshold: None,
            candidates: None,
        }
    }
}

/// One detected seasonal period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeasonalPeriod {
    /// Period in steps of the series (24 for a daily cycle in hourly data).
    pub period: usize,
    /// Strength in `[0, 1]` as defined in the [module documentation](self): the strength
    /// this period adds beyond the stronger periods reported before it.
    pub strength: f64,
    /// Autocorrelation of the linearly detrended series at lag `period`.
    pub acf: f64,
}

/// Autocorrelation at lags `0..=max_lag` of a series where NaN marks a missing value
/// (index = lag, `acf[0] = 1`).
///
/// Pairwise complete: lag `k` uses only the pairs `(x[t], x[t+k])` where both are present,
/// around the mean `x̄` of all present values,
///
/// `acf[k] = (Σ (x[t] - x̄)(x[t+k] - x̄) / m_k) / (Σ (x[t] - x̄)² / m_0)`
///
/// with `m_k` the number of complete pairs at lag `k` (statsmodels'
/// `acf(x, adjusted=True, missing="conservative")`). The per-lag normalisation keeps gaps
/// from shrinking the correlation; it also means a value can slightly exceed 1 in magnitude
/// at long lags. A lag with fewer than 2 complete pairs is NaN; a constant series has NaN at
/// every lag but 0. Computed with an FFT, `O(n log n)` whatever `max_lag`.
///
/// Errors: an empty series, an infinite value, no present value, or `max_lag >= n`.
///
/// ```
/// use tenantml::features::seasonality::autocorrelation;
/// let x: Vec<f64> = (0..48).map(|t| if t % 4 < 2 { 1.0 } else { -1.0 }).collect();
/// let acf = autocorrelation(&x, 4)?;
/// assert_eq!(acf[0], 1.0);
/// assert!((acf[2] + 1.0).abs() < 1e-9 && (acf[4] - 1.0).abs() < 1e-9);
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn autocorrelation(values: &[f64], max_lag: usize) -> Result<Vec<f64>> {
    check_values(values)?;
    if max_lag >= values.len() {
        return Err(Error::InvalidArgument(format!(
            "max_lag ({max_lag}) must be below the series length ({})",
            values.len()
        )));
    }
    Ok(Correlogram::new(values, max_lag, false).acf)
}

/// The dominant seasonal periods of a series (NaN = missing), strongest first (ties: the
/// shorter period first). See the [module documentation](self) for the method and the
/// definition of strength. A series without seasonality gives an empty list.
///
/// Errors: an empty series, an infinite value, fewer than 4 present values or 4 values in
/// all, `min_strength` outside `[0, 1)`, `acf_threshold` outside `(0, 1)`, `max_period` or a
/// candidate below 2.
///
/// ```
/// use tenantml::features::seasonality::{detect_seasonality, SeasonalityOptions};
/// // Two weeks of a daily pattern in a daily series: a weekly cycle.
/// let x: Vec<f64> = (0..84).map(|t| [5.0, 6.0, 6.5, 6.0, 7.0, 2.0, 1.0][t % 7]).collect();
/// let found = detect_seasonality(&x, &SeasonalityOptions::default())?;
/// assert_eq!(found[0].period, 7);
/// assert!(found[0].strength > 0.9);
/// assert_eq!(found.len(), 1); // 14, 21, 28: multiples that add nothing
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn detect_seasonality(
    values: &[f64],
    options: &SeasonalityOptions,
) -> Result<Vec<SeasonalPeriod>> {
    check_values(values)?;
    let n = values.len();
    let present = values.iter().filter(|v| !v.is_nan()).count();
    if n < 4 || present < 4 {
        return Err(Error::InvalidArgument(format!(
            "seasonality needs at least 4 values with 4 present (got {n} with {present} present)"
        )));
    }
    if !(0.0..1.0).contains(&options.min_strength) {
        return Err(Error::InvalidArgument(format!(
            "min_strength must be in [0, 1), got {}",
            options.min_strength
        )));
    }
    if let Some(t) = options.acf_threshold {
        if !(t > 0.0 && t < 1.0) {
            return Err(Error::InvalidArgument(format!(
                "acf_threshold must be in (0, 1), got {t}"
            )));
        }
    }
    if options.max_period.is_some_and(|p| p < 2) {
        return Err(Error::InvalidArgument(
            "max_period must be at least 2".into(),
        ));
    }
    if let Some(c) = &options.candidates {
        if let Some(bad) = c.iter().find(|&&p| p < 2) {
            return Err(Error::InvalidArgument(format!(
                "candidate periods must be at least 2, got {bad}"
            )));
        }
    }
    let limit = options.max_period.map_or(n / 3, |p| p.min(n / 2));
    // One lag past the limit tells whether the limit itself is a local maximum.
    let max_lag = (limit + 1).min(n - 1);
    let detrended = detrend_linear(values);
    let gram = Correlogram::new(&detrended, max_lag, true);
    let acf = &gram.acf;
    let bound = options
        .acf_threshold
        .unwrap_or(2.0 / (present as f64).sqrt());

    let mut candidates: Vec<usize> = match &options.candidates {
        Some(c) => c.iter().copied().filter(|&p| p <= limit).collect(),
        None => {
            let peaks: Vec<usize> = (2..=limit)
                .filter(|&k| acf[k] > bound && is_peak(acf, k))
                .collect();
            let mut c: Vec<usize> = peaks.iter().copied().take(CANDIDATES_PER_SOURCE).collect();
            let mut by_acf = peaks;
            by_acf.sort_by(|&a, &b| acf[b].total_cmp(&acf[a]).then(a.cmp(&b)));
            c.extend(by_acf.into_iter().take(CANDIDATES_PER_SOURCE));
            c.extend(gram.periodogram_candidates(limit, bound));
            c
        }
    };
    candidates.sort_unstable();
    candidates.dedup();

    // Greedy additive decomposition: each round scores the remaining candidates on what
    // the kept periods leave unexplained and keeps the strongest (or a strong divisor of it).
    let sums = PrefixSums::new(values);
    let search = options.candidates.is_none();
    let mut pool: Vec<Candidate> = Vec::with_capacity(candidates.len());
    for k in candidates {
        // Noise moves an autocorrelation peak by a step (23 for 24): a found candidate
        // gives way to a neighbour with a higher strength.
        // (Scored on the candidate's own detrended series: a moving average one step
        // longer or shorter removes the same trend.)
        let mut detrended = sums.detrend(values, k);
        let lags = if search { k - 1..=k + 1 } else { k..=k };
        let best = lags
            .filter(|&j| j >= 2 && j <= limit && !pool.iter().any(|c| c.period == j))
            .map(|j| (j, strength(&detrended, j)))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        if let Some((period, _)) = best {
            if period != k {
                detrended = sums.detrend(values, period);
            }
            let (_, initial_ss) = strength_and_ss(&detrended, period);
            pool.push(Candidate {
                period,
                detrended,
                initial_ss,
            });
        }
    }
    let mut found: Vec<SeasonalPeriod> = Vec::new();
    while !pool.is_empty() {
        let scores: Vec<f64> = pool.iter().map(Candidate::strength).collect();
        let mut best = (0..pool.len())
            .max_by(|&a, &b| {
                scores[a]
                    .total_cmp(&scores[b])
                    .then(pool[b].period.cmp(&pool[a].period))
            })
            .expect("pool is not empty");
        // A multiple absorbs its divisors' cycles; prefer a divisor strong on its own.
        // A multiple absorbs its divisors' cycles: prefer a divisor that explains at least
        // a quarter as much of the multiple's detrended series as the multiple itself.
        let top = best;
        let floor = options.min_strength.max(DIVISOR_SHARE * scores[top]);
        loop {
            let q = pool[best].period;
            let divisor = (0..pool.len())
                .filter(|&i| {
                    let b = pool[i].period;
                    b < q && q.is_multiple_of(b)
                })
                .map(|i| (i, strength(&pool[top].detrended, pool[i].period)))
                .filter(|&(_, within)| within >= floor)
                .max_by(|a, b| a.1.total_cmp(&b.1));
            match divisor {
                Some((i, _)) => best = i,
                None => break,
            }
        }
        let s = scores[best];
        if s < options.min_strength || s <= 0.0 || !pool[best].significant() {
            // The best is not credible; a weaker one is not either, except a significant
            // one the best hid only by noise: try the others before stopping.
            match (0..pool.len())
                .filter(|&i| scores[i] >= options.min_strength && pool[i].significant())
                .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
            {
                Some(i) => best = i,
                None => break,
            }
        }
        let s = scores[best];
        let kept = pool.swap_remove(best);
        let p = kept.period;
        // Each candidate's own phase means at the kept period: its detrended series
        // differs from the kept one's (another moving average), so a shared pattern would
        // leave the difference behind as spurious structure.
        for other in pool.iter_mut() {
            let pattern = phase_means(&other.detrended, p);
            subtract_pattern(&mut other.detrended, &pattern);
        }
        found.push(SeasonalPeriod {
            period: p,
            strength: s,
            acf: acf[p],
        });
    }
    found.sort_by(|a, b| {
        b.strength
            .total_cmp(&a.strength)
            .then(a.period.cmp(&b.period))
    });
    Ok(found)
}

/// A local maximum of the autocorrelation: above the previous lag and not below the next
/// (a missing or NaN next lag does not count against it).
fn is_peak(acf: &[f64], k: usize) -> bool {
    acf[k] > acf[k - 1]
        && acf
            .get(k + 1)
            .is_none_or(|&next| next.is_nan() || acf[k] >= next)
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
    if values.iter().all(|v| v.is_nan()) {
        return Err(Error::InvalidArgument(
            "every value is missing (NaN)".into(),
        ));
    }
    Ok(())
}

/// The series minus its least-squares line over the present values (NaN stays NaN).
fn detrend_linear(values: &[f64]) -> Vec<f64> {
    let (mut m, mut st, mut sx) = (0.0, 0.0, 0.0);
    for (t, &x) in values.iter().enumerate() {
        if !x.is_nan() {
            m += 1.0;
            st += t as f64;
            sx += x;
        }
    }
    let (tm, xm) = (st / m, sx / m);
    let (mut stt, mut stx) = (0.0, 0.0);
    for (t, &x) in values.iter().enumerate() {
        if !x.is_nan() {
            let dt = t as f64 - tm;
            stt += dt * dt;
            stx += dt * (x - xm);
        }
    }
    let slope = if stt > 0.0 { stx / stt } else { 0.0 };
    values
        .iter()
        .enumerate()
        .map(|(t, &x)| x - xm - slope * (t as f64 - tm))
        .collect()
}

/// Autocorrelation (and optionally the periodogram) of a series with gaps, by FFT.
struct Correlogram {
    acf: Vec<f64>,
    /// `|D_j|²` of the mean-centred series (gaps as 0) for `j in 0..=nfft/2`.
    power: Vec<f64>,
    nfft: usize,
    n: usize,
}

impl Correlogram {
    fn new(values: &[f64], max_lag: usize, keep_power: bool) -> Self {
        let n = values.len();
        let (sum, count) = values
            .iter()
            .filter(|v| !v.is_nan())
            .fold((0.0, 0usize), |(s, c), &v| (s + v, c + 1));
        let mean = sum / count as f64;
        // Padding to n + max_lag keeps the circular correlation from wrapping.
        let nfft = (n + max_lag).next_power_of_two().max(2);
        // Deviations in the real part, the presence mask in the imaginary part: one FFT
        // transforms both.
        let mut re = vec![0.0; nfft];
        let mut im = vec![0.0; nfft];
        let mut ss0 = 0.0;
        for (t, &v) in values.iter().enumerate() {
            if !v.is_nan() {
                re[t] = v - mean;
                im[t] = 1.0;
                ss0 += (v - mean) * (v - mean);
            }
        }
        let twiddles = twiddles(nfft);
        fft(&mut re, &mut im, &twiddles, false);
        let mut pd = vec![0.0; nfft];
        let mut pm = vec![0.0; nfft];
        for j in 0..nfft {
            let k = (nfft - j) % nfft;
            let (dr, di) = ((re[j] + re[k]) / 2.0, (im[j] - im[k]) / 2.0);
            let (mr, mi) = ((im[j] + im[k]) / 2.0, (re[k] - re[j]) / 2.0);
            pd[j] = dr * dr + di * di;
            pm[j] = mr * mr + mi * mi;
        }
        let power = if keep_power {
            pd[..=nfft / 2].to_vec()
        } else {
            Vec::new()
        };
        // Both power spectra are real and even, so one inverse FFT returns both
        // autocorrelation sums.
        fft(&mut pd, &mut pm, &twiddles, true);
        let scale = 1.0 / nfft as f64;
        let c0 = ss0 / count as f64;
        let mut acf = Vec::with_capacity(max_lag + 1);
        acf.push(1.0);
        for k in 1..=max_lag {
            let pairs = (pm[k] * scale).round();
            acf.push(if pairs < MIN_PAIRS as f64 || c0 <= 0.0 {
                f64::NAN
            } else {
                pd[k] * scale / pairs / c0
            });
        }
        Correlogram {
            acf,
            power,
            nfft,
            n,
        }
    }

    /// Periods of the periodogram's highest peaks: for each, the highest local maximum of
    /// the autocorrelation within 5 % (at least 1 step) of `1 / frequency`, or the nearest
    /// whole lag if there is none, kept if its autocorrelation is above `bound`.
    fn periodogram_candidates(&self, limit: usize, bound: f64) -> Vec<usize> {
        let nfft = self.nfft as f64;
        let p = &self.power;
        // Frequencies j / nfft whose period nfft / j lies in [2, limit].
        let j_min = ((nfft / limit as f64).ceil() as usize).max(1);
        let j_max = self.nfft / 2 - 1;
        // A peak must top its neighbours within two resolution bins (`nfft / n` padded
        // bins each), which rules out the side lobes that a strong cycle leaks around it.
        let w = 2 * self.nfft.div_ceil(self.n);
        let mut peaks: Vec<usize> = (j_min.max(1)..=j_max)
            .filter(|&j| {
                p[j] > p[j - 1]
                    && p[j] >= p[j + 1]
                    && (j.saturating_sub(w)..=(j + w).min(p.len() - 1)).all(|i| p[i] <= p[j])
            })
            .collect();
        peaks.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
        let acf = &self.acf;
        let mut out = Vec::new();
        for j in peaks.into_iter().take(CANDIDATES_PER_SOURCE) {
            let period = nfft / j as f64;
            let reach = (0.05 * period).max(1.0);
            let lo = ((period - reach).floor() as usize).max(2);
            let hi = ((period + reach).ceil() as usize).min(limit);
            let nearest = (period.round() as usize).clamp(lo, hi);
            let local_max = (lo..=hi)
                .filter(|&k| is_peak(acf, k))
                .max_by(|&a, &b| acf[a].total_cmp(&acf[b]));
            let k = local_max.unwrap_or(nearest);
            if acf[k] > bound {
                out.push(k);
            }
        }
        out
    }
}

/// `exp(-2πik/n)` for `k < n/2`.
fn twiddles(n: usize) -> Vec<(f64, f64)> {
    (0..n / 2)
        .map(|k| {
            let a = -2.0 * PI * k as f64 / n as f64;
            (a.cos(), a.sin())
        })
        .collect()
}

/// In-place iterative radix-2 FFT (`n` a power of two); the inverse is unscaled.
fn fft(re: &mut [f64], im: &mut [f64], twiddles: &[(f64, f64)], inverse: bool) {
    let n = re.len();
    let mut j = 0;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let sign = if inverse { -1.0 } else { 1.0 };
    let mut len = 2;
    while len <= n {
        let half = len / 2;
        let stride = n / len;
        for start in (0..n).step_by(len) {
            for k in 0..half {
                let (c, s) = twiddles[k * stride];
                let s = sign * s;
                let (a, b) = (start + k, start + k + half);
                let vr = re[b] * c - im[b] * s;
                let vi = re[b] * s + im[b] * c;
                re[b] = re[a] - vr;
                im[b] = im[a] - vi;
                re[a] += vr;
                im[a] += vi;
            }
        }
        len <<= 1;
    }
}

/// Running sums of the present values and of their count, for moving averages.
struct PrefixSums {
    sum: Vec<f64>,
    count: Vec<f64>,
}

impl PrefixSums {
    fn new(values: &[f64]) -> Self {
        let n = values.len();
        let mut sum = Vec::with_capacity(n + 1);
        let mut count = Vec::with_capacity(n + 1);
        let (mut s, mut c) = (0.0, 0.0);
        sum.push(s);
        count.push(c);
        for &v in values {
            if !v.is_nan() {
                s += v;
                c += 1.0;
            }
            sum.push(s);
            count.push(c);
        }
        PrefixSums { sum, count }
    }

    /// Centred moving average of length `p` (`2 x p` for even `p`) over the present
    /// values; NaN at the edges and where less than half the window's weight is present.
    fn moving_average(&self, values: &[f64], p: usize, t: usize) -> f64 {
        let n = values.len();
        let h = p / 2;
        if t < h || t + h >= n {
            return f64::NAN;
        }
        let mut sum = self.sum[t + h + 1] - self.sum[t - h];
        let mut weight = self.count[t + h + 1] - self.count[t - h];
        if p.is_multiple_of(2) {
            for e in [values[t - h], values[t + h]] {
                if !e.is_nan() {
                    sum -= 0.5 * e;
                    weight -= 0.5;
                }
            }
        }
        if weight >= p as f64 / 2.0 {
            sum / weight
        } else {
            f64::NAN
        }
    }

    /// The series minus its moving average of length `p`.
    fn detrend(&self, values: &[f64], p: usize) -> Vec<f64> {
        (0..values.len())
            .map(|t| values[t] - self.moving_average(values, p, t))
            .collect()
    }
}

/// Mean of the present values per phase `t mod p` (NaN for a phase without any).
fn phase_means(r: &[f64], p: usize) -> Vec<f64> {
    let mut sum = vec![0.0; p];
    let mut count = vec![0usize; p];
    for chunk in r.chunks(p) {
        for (i, &v) in chunk.iter().enumerate() {
            if !v.is_nan() {
                sum[i] += v;
                count[i] += 1;
            }
        }
    }
    sum.iter()
        .zip(&count)
        .map(|(s, &c)| if c > 0 { s / c as f64 } else { f64::NAN })
        .collect()
}

/// `r[t] -= pattern[t mod pattern.len()]` for present values (a phase without a mean is
/// left alone).
fn subtract_pattern(r: &mut [f64], pattern: &[f64]) {
    for chunk in r.chunks_mut(pattern.len()) {
        for (v, m) in chunk.iter_mut().zip(pattern) {
            if !m.is_nan() {
                *v -= m;
            }
        }
    }
}

/// A candidate period and its series detrended by the moving average of that length, from
/// which the phase means at each kept period are subtracted as periods are kept.
struct Candidate {
    period: usize,
    detrended: Vec<f64>,
    /// Sum of squares of `detrended` before any pattern was subtracted.
    initial_ss: f64,
}

impl Candidate {
    /// [`strength`], or 0 once the kept periods have explained all but a rounding error of
    /// the variance (the ratio of two rounding errors means nothing).
    fn strength(&self) -> f64 {
        let (s, ss) = strength_and_ss(&self.detrended, self.period);
        if ss <= 1e-12 * self.initial_ss {
            0.0
        } else {
            s
        }
    }
}

impl Candidate {
    /// Whether the phase means explain more than noise would: the F statistic of the
    /// one-way analysis of variance by phase exceeds its upper 1e-5 quantile (Paulson's
    /// approximation). Guards long periods, whose many phase means fit noise easily.
    fn significant(&self) -> bool {
        let d = &self.detrended;
        let p = self.period;
        let mut sum = vec![0.0; p];
        let mut count = vec![0usize; p];
        let mut sq = 0.0;
        for chunk in d.chunks(p) {
            for ((v, s), c) in chunk.iter().zip(sum.iter_mut()).zip(count.iter_mut()) {
                if !v.is_nan() {
                    *s += v;
                    *c += 1;
                    sq += v * v;
                }
            }
        }
        let m: usize = count.iter().sum();
        let q = count.iter().filter(|&&c| c > 0).count();
        if q < 2 || m <= q {
            return false;
        }
        let total: f64 = sum.iter().sum();
        let between: f64 = sum
            .iter()
            .zip(&count)
            .filter(|(_, &c)| c > 0)
            .map(|(s, &c)| s * s / c as f64)
            .sum::<f64>()
            - total * total / m as f64;
        let within = (sq - total * total / m as f64 - between).max(0.0);
        let (d1, d2) = ((q - 1) as f64, (m - q) as f64);
        if within <= 0.0 {
            return between > 0.0;
        }
        (between / d1) / (within / d2) > f_quantile(d1, d2, SIGNIFICANCE_Z)
    }
}

/// Upper quantile of the F(d1, d2) distribution at the standard normal quantile `z`, by
/// Paulson's (1942) normal approximation of `F^(1/3)`.
fn f_quantile(d1: f64, d2: f64, z: f64) -> f64 {
    let (e1, e2) = (2.0 / (9.0 * d1), 2.0 / (9.0 * d2));
    let (a, b) = (1.0 - e2, 1.0 - e1);
    let qa = a * a - z * z * e2;
    let disc = a * a * b * b - qa * (b * b - z * z * e1);
    if qa <= 0.0 || disc < 0.0 {
        return f64::INFINITY;
    }
    let u = (a * b + disc.sqrt()) / qa;
    u * u * u
}

/// Strength of period `p` on the detrended (and possibly already de-seasonalised) series
/// `d`: the share of its variance the phase means explain, adjusted for their number. One
/// pass: `SS(d) = Σd² - (Σd)²/m` and `SS(r) = Σd² - Σ_phase (Σ_phase d)² / m_phase` (`d`
/// is centred near 0, so the differences lose no precision that matters).
fn strength(d: &[f64], p: usize) -> f64 {
    strength_and_ss(d, p).0
}

/// [`strength`] and `SS(d)`.
fn strength_and_ss(d: &[f64], p: usize) -> (f64, f64) {
    let mut sum = vec![0.0; p];
    let mut count = vec![0usize; p];
    let mut sq = 0.0;
    for chunk in d.chunks(p) {
        for ((v, s), c) in chunk.iter().zip(sum.iter_mut()).zip(count.iter_mut()) {
            if !v.is_nan() {
                *s += v;
                *c += 1;
                sq += v * v;
            }
        }
    }
    let m: usize = count.iter().sum();
    let q = count.iter().filter(|&&c| c > 0).count();
    let total: f64 = sum.iter().sum();
    let explained: f64 = sum
        .iter()
        .zip(&count)
        .filter(|(_, &c)| c > 0)
        .map(|(s, &c)| s * s / c as f64)
        .sum();
    let ss_before = sq - total * total / m.max(1) as f64;
    let ss_after = (sq - explained).max(0.0);
    if ss_before <= 0.0 || m <= q + 1 {
        return (0.0, ss_before.max(0.0));
    }
    let s = 1.0 - (ss_after / (m - q) as f64) / (ss_before / (m - 1) as f64);
    (s.clamp(0.0, 1.0), ss_before)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft_autocorrelation_matches_the_direct_sum() {
        let x: Vec<f64> = (0..101)
            .map(|t| {
                if t % 7 == 3 {
                    f64::NAN
                } else {
                    ((t * 37 % 11) as f64).sin() + 0.1 * t as f64
                }
            })
            .collect();
        let acf = autocorrelation(&x, 50).unwrap();
        let present: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
        let mean = present.iter().sum::<f64>() / present.len() as f64;
        let c0 = present.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / present.len() as f64;
        for (k, a) in acf.iter().enumerate() {
            let pairs: Vec<(f64, f64)> = (0..x.len() - k)
                .map(|t| (x[t], x[t + k]))
                .filter(|(a, b)| !a.is_nan() && !b.is_nan())
                .collect();
            let ck = pairs
                .iter()
                .map(|(a, b)| (a - mean) * (b - mean))
                .sum::<f64>()
                / pairs.len() as f64;
            assert!((a - ck / c0).abs() < 1e-10, "lag {k}: {a} vs {}", ck / c0);
        }
    }

    #[test]
    fn paulson_f_quantiles_are_close_to_the_exact_ones() {
        // scipy.stats.f.ppf(1 - 1e-4, d1, d2)
        for (d1, d2, exact) in [
            (23.0, 1300.0, 2.5161),
            (167.0, 1000.0, 1.5157),
            (6.0, 350.0, 4.8042),
        ] {
            let approx = f_quantile(d1, d2, 3.719);
            assert!(
                (approx / exact - 1.0).abs() < 0.05,
                "{d1} {d2}: {approx} vs {exact}"
            );
        }
    }

    #[test]
    fn moving_average_of_even_period_removes_the_cycle() {
        let x: Vec<f64> = (0..40)
            .map(|t| t as f64 + [1.0, -1.0, 2.0, -2.0][t % 4])
            .collect();
        let sums = PrefixSums::new(&x);
        let ma: Vec<f64> = (0..x.len())
            .map(|t| sums.moving_average(&x, 4, t))
            .collect();
        assert!(ma[0].is_nan() && ma[39].is_nan());
        for (t, m) in ma.iter().enumerate().take(38).skip(2) {
            assert!((m - t as f64).abs() < 1e-12);
        }
    }
}
