//! Fitting a [`SeriesPrior`] to data: [`SeriesPrior::scaled_to`] for one tenant's first
//! observations, [`SeriesPrior::estimate`] for a population of tenants.

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

/// Robust handling of spikes. The fence is Tukey's inner fence on the log scale,
/// `exp(q75 + 1.5 IQR)` of the log ratios of the positive observations to their expected
/// shape: log scale because the ratios are multiplicative, so a tenant whose shape differs
/// from the prior spreads its log ratios widely and is left alone, while a tenant of the
/// prior's shape gets a tight fence (about 1.9x the level at 25 % noise, which Gamma noise
/// exceeds in 0.2 % of periods). Of the observations above the fence, the `max(1, n/20)`
/// highest become missing (a lone spike does not count at all) and the rest are capped at
/// the fence. Nothing is trimmed from below: outages and zeros are usage, and trimming zeros
/// would bias sparse counts. Needs 4 positive observations, else nothing is touched.
struct Spikes {
    /// Ratio of each observation to its expected shape (NaN where not positive).
    ratio: Vec<f64>,
    /// The fence (infinite when nothing is touched).
    fence: f64,
    /// The observations above the fence in index order, each with whether it is dropped
    /// (else capped).
    above: Vec<(usize, bool)>,
}

impl Spikes {
    /// `shape(i)` is the expected shape of period `i`, `growth[i]` its trend factor.
    fn find(observed: &[f64], shape: impl Fn(usize) -> f64, growth: &[f64]) -> Spikes {
        let n = observed.len();
        let growth = &growth[..n];
        let mut ratio = vec![f64::NAN; n];
        // The positive ratios' bit patterns: for positive floats (infinity included) they
        // order as the numbers do, and integer selection is cheaper than `total_cmp`.
        let mut positive = Vec::with_capacity(n);
        let mut present = 0;
        for i in 0..n {
            let (v, s) = (observed[i], shape(i));
            present += usize::from(!v.is_nan());
            if v > 0.0 && s > 0.0 {
                let r = v / (s * growth[i]);
                ratio[i] = r;
                positive.push(r.to_bits());
            }
        }
        let none = |ratio| Spikes {
            ratio,
            fence: f64::INFINITY,
            above: Vec::new(),
        };
        let n = positive.len();
        if n < 4 {
            return none(ratio);
        }
        // Two order statistics by selection (this runs on every blended forecast, so no sort).
        let rank = |p: f64| ((n - 1) as f64 * p).round() as usize;
        let (r25, r75) = (rank(0.25), rank(0.75));
        let (_, &mut q75, _) = positive.select_nth_unstable(r75);
        let q25 = *positive[..=r75].select_nth_unstable(r25).1;
        let (q25, q75) = (f64::from_bits(q25).ln(), f64::from_bits(q75).ln());
        let fence = (q75 + 1.5 * (q75 - q25)).exp();
        // The largest ratios above the fence (ties: later index first) are dropped.
        let mut ranked: Vec<(f64, usize)> = ratio
            .iter()
            .enumerate()
            .filter(|(_, &r)| r > fence)
            .map(|(i, &r)| (r, i))
            .collect();
        if ranked.is_empty() {
            return none(ratio);
        }
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
        let drop = (present / 20).max(1);
        let mut above: Vec<(usize, bool)> = ranked
            .iter()
            .enumerate()
            .map(|(rank, &(_, i))| (i, rank < drop))
            .collect();
        above.sort_unstable_by_key(|a| a.0);
        Spikes {
            ratio,
            fence,
            above,
        }
    }

    /// Calls `add(i, value)` with each observation as the level and profiles see it:
    /// skipped when missing or dropped, at the fence (times its shape and growth) when
    /// capped, else unchanged.
    fn for_each_robust(
        &self,
        observed: &[f64],
        shape: impl Fn(usize) -> f64,
        growth: &[f64],
        mut add: impl FnMut(usize, f64),
    ) {
        let n = observed.len();
        let (ratio, growth) = (&self.ratio[..n], &growth[..n]);
        let mut above = self.above.iter();
        for i in 0..n {
            let v = if ratio[i] > self.fence {
                match above.next() {
                    Some(&(_, false)) => self.fence * shape(i) * growth[i],
                    _ => continue,
                }
            } else {
                observed[i]
            };
            if !v.is_nan() {
                add(i, v);
            }
        }
    }
}

/// Robust copy of the observations against spikes ([`Spikes`]), on any grid: the reference
/// of [`Cells::robust_sums`].
#[cfg(test)]
fn winsorised(observed: &[f64], shape: &[f64], growth: &[f64]) -> Vec<f64> {
    let spikes = Spikes::find(observed, |i| shape[i], growth);
    let mut out = vec![f64::NAN; observed.len()];
    spikes.for_each_robust(observed, |i| shape[i], growth, |i, v| out[i] = v);
    out
}

/// Ratio of sums: the level that makes `shape * growth` match the present values in total.
/// `growth[i] = exp(rate * (i - len))`, by repeated multiplication from the end: one `exp`
/// instead of one per period, and four interleaved chains (each multiplying by `step^4`) so
/// the multiplications do not wait on each other; the relative drift stays near `len / 4`
/// ulps.
fn growth_to_end(rate: f64, len: usize) -> Vec<f64> {
    let step = (-rate).exp();
    let mut growth = vec![1.0; len];
    let mut power = 1.0;
    for g in growth.iter_mut().rev().take(4) {
        power *= step;
        *g = power;
    }
    let step4 = power;
    for i in (0..len.saturating_sub(4)).rev() {
        growth[i] = growth[i + 4] * step4;
    }
    growth
}

/// The grid a tenant was observed on; `slots` when each period lies within one local hour.
struct Grid {
    start: i64,
    frequency: i64,
    len: usize,
    offset: i32,
    slots: Option<Vec<u8>>,
}

/// The hour of the day of each cell of the hour-of-week table.
const SLOT_HOUR: [u8; 168] = {
    let mut table = [0; 168];
    let mut c = 0;
    while c < 168 {
        table[c] = (c % 24) as u8;
        c += 1;
    }
    table
};

/// The weekday (0 = Monday) of each cell of the hour-of-week table.
const SLOT_WEEKDAY: [u8; 168] = {
    let mut table = [0; 168];
    let mut c = 0;
    while c < 168 {
        table[c] = (c / 24) as u8;
        c += 1;
    }
    table
};

/// Observations summed per cell: per hour of the week on a slotted grid (168 cells), else
/// per period (one cell each, in order, so the sums are those of a loop over the periods).
/// Missing values count in no cell.
struct Cells {
    sum: Vec<f64>,
    growth: Vec<f64>,
    count: Vec<f64>,
    hour: Vec<u8>,
    weekday: Vec<u8>,
}

impl Cells {
    /// The observations made robust against spikes ([`Spikes`]) and summed per cell, in one
    /// pass over the periods after the spike search.
    /// `shape` is [`Cells::shape`] of the prior.
    fn robust_sums(grid: &Grid, observed: &[f64], growth: &[f64], shape: &[f64]) -> Cells {
        let mut cells = Cells::empty(grid);
        match &grid.slots {
            Some(slots) => {
                // Indexed by a u8 slot, so the lookups need no bounds checks.
                let mut table = [0.0; 256];
                table[..168].copy_from_slice(shape);
                let slots = &slots[..observed.len()];
                let shape = |i: usize| table[slots[i] as usize];
                let spikes = Spikes::find(observed, shape, growth);
                let (sum, grown, count) = (&mut cells.sum, &mut cells.growth, &mut cells.count);
                let (sum, grown, count) = (&mut sum[..168], &mut grown[..168], &mut count[..168]);
                spikes.for_each_robust(observed, shape, growth, |i, v| {
                    let s = slots[i] as usize;
                    sum[s] += v;
                    grown[s] += growth[i];
                    count[s] += 1.0;
                });
            }
            None => {
                let spikes = Spikes::find(observed, |i| shape[i], growth);
                spikes.for_each_robust(
                    observed,
                    |i| shape[i],
                    growth,
                    |i, v| {
                        (cells.sum[i], cells.growth[i], cells.count[i]) = (v, growth[i], 1.0);
                    },
                );
            }
        }
        cells
    }

    /// Empty cells of a grid, with their hours and weekdays.
    fn empty(grid: &Grid) -> Cells {
        let n = if grid.slots.is_some() { 168 } else { grid.len };
        let (hour, weekday) = match grid.slots {
            Some(_) => (SLOT_HOUR.to_vec(), SLOT_WEEKDAY.to_vec()),
            None => (0..n)
                .map(|c| {
                    let mid = grid.start + c as i64 * grid.frequency + grid.frequency / 2;
                    let (h, w) = hour_weekday(mid, grid.offset);
                    (h as u8, w as u8)
                })
                .unzip(),
        };
        Cells {
            sum: vec![0.0; n],
            growth: vec![0.0; n],
            count: vec![0.0; n],
            hour,
            weekday,
        }
    }

    /// The two-step reference of [`Cells::robust_sums`]: sums of already robust values.
    #[cfg(test)]
    fn sum(grid: &Grid, values: &[f64], growth: &[f64]) -> Cells {
        let mut cells = Cells::empty(grid);
        for (i, (&v, &g)) in values.iter().zip(growth).enumerate() {
            let c = grid.slots.as_ref().map_or(i, |slots| slots[i] as usize);
            if !v.is_nan() {
                cells.sum[c] += v;
                cells.growth[c] += g;
                cells.count[c] += 1.0;
            }
        }
        cells
    }

    /// Per hour of the day, the totals of the cells' sums, of `level0 * weekly[weekday] *
    /// growth` and of `hour_days * count`, each cell added in order.
    fn hour_totals(
        &self,
        grid: &Grid,
        weekly: &[f64],
        level0: f64,
        hour_days: f64,
    ) -> [[f64; 24]; 3] {
        if grid.slots.is_none() {
            return self.totals_by::<24>(&self.hour, |c| {
                let w = self.weekday[c] as usize;
                [
                    self.sum[c],
                    level0 * weekly[w] * self.growth[c],
                    hour_days * self.count[c],
                ]
            });
        }
        // The slotted table is seven rows of 24 hours: a row adds to all 24 totals at once.
        let mut totals = [[0.0; 24]; 3];
        for (w, &weekly) in weekly.iter().enumerate().take(7) {
            let row = w * 24..(w + 1) * 24;
            let (sum, growth, count) = (
                &self.sum[row.clone()],
                &self.growth[row.clone()],
                &self.count[row],
            );
            let expected = level0 * weekly;
            let [num, den, days] = &mut totals;
            for h in 0..24 {
                num[h] += sum[h];
                den[h] += expected * growth[h];
                days[h] += hour_days * count[h];
            }
        }
        totals
    }

    /// Per key (an hour or a weekday of each cell, below `K`), the totals of the three
    /// `terms` of its cells, added in cell order. Empty cells are included: their sums,
    /// growth and count are zeros, so their terms add nothing (the profiles are finite).
    /// A run of cells with one key is summed in registers: the slotted table has 24 cells of
    /// a weekday in a row, and adding each to the table in memory made every addition wait
    /// for the store of the one before.
    fn totals_by<const K: usize>(
        &self,
        keys: &[u8],
        mut terms: impl FnMut(usize) -> [f64; 3],
    ) -> [[f64; K]; 3] {
        let mut totals = [[0.0; K]; 3];
        let mut c = 0;
        while c < keys.len() {
            let k = keys[c] as usize;
            let mut run = [totals[0][k], totals[1][k], totals[2][k]];
            while c < keys.len() && keys[c] as usize == k {
                let t = terms(c);
                for (r, t) in run.iter_mut().zip(t) {
                    *r += t;
                }
                c += 1;
            }
            (totals[0][k], totals[1][k], totals[2][k]) = (run[0], run[1], run[2]);
        }
        totals
    }

    /// The prior's shape of each cell.
    fn shape(prior: &SeriesPrior, grid: &Grid) -> Vec<f64> {
        match &grid.slots {
            Some(_) => {
                let mut shape = Vec::with_capacity(168);
                for w in &prior.weekly_profile {
                    shape.extend(prior.daily_profile.iter().map(|d| d * w));
                }
                shape
            }
            None => prior.shape(grid.start, grid.frequency, grid.len, grid.offset),
        }
    }

    /// Observed over expected (shape times growth) over the present cells; over the growth
    /// alone when the shape is zero there, 0 when nothing is present.
    fn ratio_of_sums(&self, shape: &[f64]) -> f64 {
        // Empty cells add zeros (see `totals_by`), so every cell is summed without a filter.
        let (mut num, mut den, mut g) = (0.0, 0.0, 0.0);
        for ((&sum, &growth), &shape) in self.sum.iter().zip(&self.growth).zip(shape) {
            num += sum;
            den += shape * growth;
            g += growth;
        }
        if den > 0.0 {
            num / den
        } else if g > 0.0 {
            num / g
        } else {
            0.0
        }
    }
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

    #[test]
    fn robust_sums_equal_the_two_step_reference() {
        let prior = SeriesPrior::saas_default();
        let monday = 4 * 86_400;
        let tenant = SeriesPrior {
            level: 40.0,
            trend_per_day: -0.02,
            ..prior.clone()
        };
        for (frequency, len, offset) in [(3600, 336, 0), (1800, 500, 3600), (7200, 100, 0)] {
            let mut seen = tenant.sample(monday, frequency, len, offset, 11).unwrap();
            // Spikes of several sizes (some dropped, some capped), a gap and zeros.
            for (k, i) in (5..len).step_by(23).enumerate() {
                seen[i] *= 3.0 + k as f64;
            }
            seen[7] = f64::NAN;
            seen[8] = 0.0;
            let grid = Grid {
                start: monday,
                frequency,
                len,
                offset,
                slots: week_slots(monday, frequency, len, offset),
            };
            assert_eq!(grid.slots.is_some(), frequency <= 3600);
            let growth = growth_to_end(-0.001, len);
            let shape = match &grid.slots {
                Some(slots) => prior.shape_at(slots),
                None => prior.shape(monday, frequency, len, offset),
            };
            let robust = winsorised(&seen, &shape, &growth);
            let capped = robust
                .iter()
                .zip(&seen)
                .filter(|(r, s)| r.to_bits() != s.to_bits())
                .count();
            assert!(capped >= 3, "the spikes must be touched ({capped})");
            let reference = Cells::sum(&grid, &robust, &growth);
            let fused = Cells::robust_sums(&grid, &seen, &growth, &Cells::shape(&prior, &grid));
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fused.sum), bits(&reference.sum));
            assert_eq!(bits(&fused.growth), bits(&reference.growth));
            assert_eq!(bits(&fused.count), bits(&reference.count));
            assert_eq!(fused.hour, reference.hour);
            assert_eq!(fused.weekday, reference.weekday);
        }
    }

    #[test]
    fn growth_matches_exp_at_every_length() {
        for rate in [0.0, 1e-4, -3e-5, 0.01] {
            for len in (0..9).chain([100, 10_000]) {
                let g = growth_to_end(rate, len);
                assert_eq!(g.len(), len);
                for (i, v) in g.iter().enumerate() {
                    let exact = (rate * (i as f64 - len as f64)).exp();
                    assert!(
                        (v / exact - 1.0).abs() < 1e-12,
                        "rate {rate} len {len} i {i}"
                    );
                }
            }
        }
    }
}
