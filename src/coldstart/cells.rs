//! The cells a tenant's observations are summed into when the prior is scaled to it
//! ([`SeriesPrior::scaled_to`]): spikes found and made robust, and the sums per hour of the
//! week (or per period on grids that are not hour-aligned), with the trend factor of each
//! period. This runs on every blended or cold-start forecast, so each step is one pass.

use super::series::{hour_weekday, SeriesPrior};

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
pub(super) fn growth_to_end(rate: f64, len: usize) -> Vec<f64> {
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
pub(super) struct Grid {
    pub start: i64,
    pub frequency: i64,
    pub len: usize,
    pub offset: i32,
    pub slots: Option<Vec<u8>>,
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
pub(super) struct Cells {
    pub sum: Vec<f64>,
    pub growth: Vec<f64>,
    pub count: Vec<f64>,
    pub hour: Vec<u8>,
    pub weekday: Vec<u8>,
}

impl Cells {
    /// The observations made robust against spikes ([`Spikes`]) and summed per cell, in one
    /// pass over the periods after the spike search.
    /// `shape` is [`Cells::shape`] of the prior.
    pub(super) fn robust_sums(
        grid: &Grid,
        observed: &[f64],
        growth: &[f64],
        shape: &[f64],
    ) -> Cells {
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
    pub(super) fn hour_totals(
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
    pub(super) fn totals_by<const K: usize>(
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
    pub(super) fn shape(prior: &SeriesPrior, grid: &Grid) -> Vec<f64> {
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
    pub(super) fn ratio_of_sums(&self, shape: &[f64]) -> f64 {
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

#[cfg(test)]
mod tests {
    use super::super::series::week_slots;
    use super::*;

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
