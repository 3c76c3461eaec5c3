//! Window statistics over past values only, as O(1)-per-step running states.
//!
//! Row `t` of a feature matrix sees `values[..t]`; a rolling window of length `w` at row `t`
//! covers `values[t-w..t]` (clipped at 0). Missing values (`NaN`) are skipped: the statistic is
//! that of the present values, `NaN` when none is present (and the std needs two).
//!
//! Every state here can be advanced one row at a time (for the whole matrix) or rebuilt at an
//! arbitrary row from the history alone (for one forecast step), with bit-identical results:
//! the rolling moments are recomputed exactly (two passes) at rows that are multiples of `w`
//! and updated incrementally in between, and a rebuild replays that same schedule. The
//! recompute bounds the drift of the running sums; the sums are also taken around the
//! window mean of the last recompute, which avoids the catastrophic cancellation of a raw
//! sum of squares on large levels with small variation; a constant window (min == max)
//! returns its exact mean and a std of exactly 0.
//!
//! The rolling quantile keeps the window's present values in a sorted buffer (as integer
//! keys in `f64::total_cmp` order): each step finds the leaving value by binary search and
//! slides the entering one to its place, costing the distance between their ranks, which is
//! cheap for windows up to a few hundred periods. The buffer's ends are the rolling minimum
//! and maximum, so no separate monotone deques are needed.

/// Running mean/variance of a rolling window (sums of deviations from a pivot `k`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Moments {
    k: f64,
    s: f64,
    q: f64,
    n: usize,
}

impl Moments {
    /// Exact moments of the window of row `t`: `values[t-w..t]`.
    pub(crate) fn recompute(values: &[f64], t: usize, w: usize) -> Moments {
        let win = &values[t.saturating_sub(w)..t];
        let (mut sum, mut n) = (0.0, 0usize);
        for &x in win.iter().filter(|x| !x.is_nan()) {
            sum += x;
            n += 1;
        }
        let k = if n == 0 { 0.0 } else { sum / n as f64 };
        let (mut s, mut q) = (0.0, 0.0);
        for &x in win.iter().filter(|x| !x.is_nan()) {
            let d = x - k;
            s += d;
            q += d * d;
        }
        Moments { k, s, q, n }
    }

    /// Moments of row `t` from those of row `t - 1` (or a recompute when `t % w == 0`).
    #[inline]
    pub(crate) fn advance(&mut self, values: &[f64], t: usize, w: usize) {
        self.advance_known(values, t, w, t.is_multiple_of(w));
    }

    /// [`Moments::advance`] with `recompute == t.is_multiple_of(w)` supplied by the caller
    /// (the matrix keeps a countdown instead of dividing every row).
    #[inline]
    pub(crate) fn advance_known(&mut self, values: &[f64], t: usize, w: usize, recompute: bool) {
        if recompute {
            *self = Moments::recompute(values, t, w);
            return;
        }
        let x = values[t - 1];
        if !x.is_nan() {
            if self.n == 0 {
                // An empty window: pivot on the value itself (the sums stay small).
                *self = Moments {
                    k: x,
                    s: 0.0,
                    q: 0.0,
                    n: 0,
                };
            }
            let d = x - self.k;
            self.s += d;
            self.q += d * d;
            self.n += 1;
        }
        if t > w {
            let y = values[t - 1 - w];
            if !y.is_nan() {
                let d = y - self.k;
                self.s -= d;
                self.q -= d * d;
                self.n -= 1;
                if self.n == 0 {
                    (self.s, self.q) = (0.0, 0.0);
                }
            }
        }
    }

    /// Moments of row `t` rebuilt from the history: the same arithmetic as advancing row by
    /// row from row 0, so the result is bit-identical. O(w).
    pub(crate) fn at(values: &[f64], t: usize, w: usize) -> Moments {
        let t0 = t - t % w;
        let mut m = Moments::recompute(values, t0, w);
        for s in t0 + 1..=t {
            m.advance(values, s, w);
        }
        m
    }

    /// (mean, std with ddof = 1); `min == max` (a constant window) gives the exact answer.
    /// `recip[n]` is `1 / n` for every count up to the window length (multiplying by it
    /// instead of dividing keeps divisions out of the per-row path).
    #[inline]
    pub(crate) fn mean_std(&self, min: f64, max: f64, recip: &[f64]) -> (f64, f64) {
        if self.n == 0 {
            return (f64::NAN, f64::NAN);
        }
        if min == max {
            return (min, if self.n < 2 { f64::NAN } else { 0.0 });
        }
        let shift = self.s * recip[self.n];
        let mean = self.k + shift;
        if self.n < 2 {
            return (mean, f64::NAN);
        }
        let var = ((self.q - self.s * shift) * recip[self.n - 1]).max(0.0);
        (mean, var.sqrt())
    }
}

/// Minimum and maximum of the present values of `win` (`NaN` when none), ordered by
/// `total_cmp` like [`SortedWindow::min_max`] so both agree on the sign of a zero.
pub(crate) fn min_max(win: &[f64]) -> (f64, f64) {
    let mut present = win.iter().copied().filter(|x| !x.is_nan());
    let Some(first) = present.next() else {
        return (f64::NAN, f64::NAN);
    };
    present.fold((first, first), |(lo, hi), x| {
        let lo = if x.total_cmp(&lo).is_lt() { x } else { lo };
        let hi = if x.total_cmp(&hi).is_gt() { x } else { hi };
        (lo, hi)
    })
}

/// A key whose integer order is `f64::total_cmp`'s order (so -0.0 sorts before 0.0).
#[inline]
fn key(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    b ^ (((b >> 63) as u64) >> 1) as i64
}

/// How many keys of the sorted `v` are below `k` (`partition_point(|e| e < k)`), by a
/// branchless four-way search: each round probes three independent positions, so a
/// window of 168 takes three dependent rounds plus a short linear count instead of eight
/// dependent binary-search steps (this search is the hot spot of the feature matrix).
#[inline]
fn rank_below(v: &[i64], k: i64) -> usize {
    // Invariant: everything before `base` is below `k`, everything from `base + n` on is not.
    let (mut base, mut n) = (0usize, v.len());
    while n > 8 {
        let q = n / 4;
        let c = (v[base + q] < k) as usize
            + (v[base + 2 * q] < k) as usize
            + (v[base + 3 * q] < k) as usize;
        base += c * q;
        n = if c == 3 { n - 3 * q } else { q };
    }
    base + v[base..base + n]
        .iter()
        .map(|&e| (e < k) as usize)
        .sum::<usize>()
}

/// The value of a [`key`] (the map is an involution).
#[inline]
fn unkey(k: i64) -> f64 {
    f64::from_bits((k ^ (((k >> 63) as u64) >> 1) as i64) as u64)
}

/// Rolling quantile from a sorted buffer of the window's present values (as integer keys,
/// so the binary searches compare integers).
#[derive(Clone, Debug, Default)]
pub(crate) struct SortedWindow {
    sorted: Vec<i64>,
}

impl SortedWindow {
    /// The window of row `t` (`values[t-w..t]`, clipped at 0) built from scratch: the same
    /// contents [`SortedWindow::advance`] reaches row by row.
    pub(crate) fn at(values: &[f64], t: usize, w: usize) -> SortedWindow {
        let mut sorted: Vec<i64> = values[t.saturating_sub(w)..t]
            .iter()
            .filter(|x| !x.is_nan())
            .map(|&x| key(x))
            .collect();
        sorted.sort_unstable();
        SortedWindow { sorted }
    }

    /// Moves from row `t - 1` to row `t`: binary-search insert and remove, and when one value
    /// replaces another only the elements between their positions move.
    pub(crate) fn advance(&mut self, values: &[f64], t: usize, w: usize) {
        let old = if t > w { values[t - 1 - w] } else { f64::NAN };
        let new = values[t - 1];
        let v = &mut self.sorted;
        match (old.is_nan(), new.is_nan()) {
            (true, true) => {}
            (true, false) => {
                let k = key(new);
                let i = rank_below(v, k);
                v.insert(i, k);
            }
            (false, true) => {
                let i = rank_below(v, key(old));
                v.remove(i);
            }
            (false, false) => {
                let (ko, kn) = (key(old), key(new));
                // Insertion-sort step: find the old value, then slide the new one from its
                // slot to its place (cost = distance between the two ranks).
                let mut j = rank_below(v, ko);
                if kn > ko {
                    while j + 1 < v.len() && v[j + 1] < kn {
                        v[j] = v[j + 1];
                        j += 1;
                    }
                } else {
                    while j > 0 && v[j - 1] > kn {
                        v[j] = v[j - 1];
                        j -= 1;
                    }
                }
                v[j] = kn;
            }
        }
    }

    /// (minimum, maximum) of the window (`NaN` when empty): the ends of the buffer, in the
    /// same `total_cmp` order as [`min_max`].
    #[inline]
    pub(crate) fn min_max(&self) -> (f64, f64) {
        match (self.sorted.first(), self.sorted.last()) {
            (Some(&lo), Some(&hi)) => (unkey(lo), unkey(hi)),
            _ => (f64::NAN, f64::NAN),
        }
    }

    /// The `q` quantile (linear interpolation, as pandas), `NaN` when empty.
    pub(crate) fn quantile(&self, q: f64) -> f64 {
        let n = self.sorted.len();
        if n == 0 {
            return f64::NAN;
        }
        let (lo, frac) = quantile_position(q, n);
        if frac == 0.0 {
            unkey(self.sorted[lo])
        } else {
            interpolate(unkey(self.sorted[lo]), unkey(self.sorted[lo + 1]), frac)
        }
    }
}

fn quantile_position(q: f64, n: usize) -> (usize, f64) {
    let pos = q * (n - 1) as f64;
    // pos >= 0, so the cast truncates to the floor (no libm call).
    let lo = (pos as usize).min(n - 1);
    (lo, pos - lo as f64)
}

fn interpolate(a: f64, b: f64, frac: f64) -> f64 {
    a + (b - a) * frac
}

/// The `q` quantile of the present values of `win`, equal bit for bit to
/// [`SortedWindow::quantile`] on the same window. `scratch` is reused storage.
pub(crate) fn quantile_of(win: &[f64], q: f64, scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    scratch.extend(win.iter().copied().filter(|x| !x.is_nan()));
    let n = scratch.len();
    if n == 0 {
        return f64::NAN;
    }
    let (lo, frac) = quantile_position(q, n);
    let (_, &mut a, right) = scratch.select_nth_unstable_by(lo, |x, y| x.total_cmp(y));
    if frac == 0.0 {
        return a;
    }
    let b = right
        .iter()
        .copied()
        .min_by(|x, y| x.total_cmp(y))
        .expect("frac > 0 implies lo + 1 < n");
    interpolate(a, b, frac)
}

/// Exponentially weighted mean, seeded with the first present value and skipping missing
/// values (pandas `ewm(alpha, adjust=False, ignore_na=True)`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ewm {
    alpha: f64,
    value: f64,
}

impl Ewm {
    /// A state that has seen nothing yet.
    pub(crate) fn new(alpha: f64) -> Ewm {
        Ewm {
            alpha,
            value: f64::NAN,
        }
    }

    /// Takes one more value (a missing one leaves the state unchanged).
    #[inline]
    pub(crate) fn push(&mut self, x: f64) {
        if x.is_nan() {
            return;
        }
        self.value = if self.value.is_nan() {
            x
        } else {
            (1.0 - self.alpha) * self.value + self.alpha * x
        };
    }

    /// The current mean, `NaN` before the first present value.
    pub(crate) fn get(&self) -> f64 {
        self.value
    }

    /// [`Ewm::push`] of every value of `values` into every state of `lanes` (and into
    /// `expanding`), with the same results bit for bit. Once all states have a value the
    /// update needs no test of the state, so each value costs the states one multiply and
    /// one add on their chains, which run side by side: a long history waits on these
    /// chains, not on the number of instructions.
    pub(crate) fn push_lanes<const L: usize>(
        lanes: &mut [Ewm; L],
        mut expanding: Option<&mut Expanding>,
        values: &[f64],
    ) {
        let mut rest = values;
        while lanes.iter().any(|e| e.value.is_nan()) {
            let Some((&x, tail)) = rest.split_first() else {
                return;
            };
            lanes.iter_mut().for_each(|e| e.push(x));
            if let Some(e) = expanding.as_deref_mut() {
                e.push(x);
            }
            rest = tail;
        }
        let keep: [f64; L] = std::array::from_fn(|k| 1.0 - lanes[k].alpha);
        let take: [f64; L] = std::array::from_fn(|k| lanes[k].alpha);
        let mut value: [f64; L] = std::array::from_fn(|k| lanes[k].value);
        let mut sum = expanding.as_deref().map_or(0.0, |e| e.sum);
        let mut n = 0;
        for &x in rest {
            if x.is_nan() {
                continue;
            }
            for k in 0..L {
                value[k] = keep[k] * value[k] + take[k] * x;
            }
            sum += x;
            n += 1;
        }
        for (e, v) in lanes.iter_mut().zip(value) {
            e.value = v;
        }
        if let Some(e) = expanding {
            (e.sum, e.n) = (sum, e.n + n);
        }
    }
}

/// Expanding mean of the present values seen so far.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Expanding {
    sum: f64,
    n: usize,
}

impl Expanding {
    /// Takes one more value (a missing one is skipped).
    #[inline]
    pub(crate) fn push(&mut self, x: f64) {
        if !x.is_nan() {
            self.sum += x;
            self.n += 1;
        }
    }

    /// The mean so far, `NaN` before the first present value.
    pub(crate) fn get(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.sum / self.n as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ewm_lanes_equal_one_push_at_a_time() {
        use rand::{rngs::StdRng, Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(11);
        let alphas = [0.5, 0.1, 0.03, 1.0];
        for case in 0..200 {
            let n = rng.gen_range(0..60);
            // Missing values at the start (every state NaN), in the middle, or everywhere.
            let values: Vec<f64> = (0..n)
                .map(|i| {
                    let missing =
                        i < case % 7 || rng.gen_bool(if case % 5 == 0 { 1.0 } else { 0.2 });
                    if missing {
                        f64::NAN
                    } else {
                        rng.gen_range(-50.0..50.0)
                    }
                })
                .collect();
            let mut one: [Ewm; 4] = std::array::from_fn(|k| Ewm::new(alphas[k]));
            let mut one_expanding = Expanding::default();
            for &x in &values {
                one.iter_mut().for_each(|e| e.push(x));
                one_expanding.push(x);
            }
            let mut lanes: [Ewm; 4] = std::array::from_fn(|k| Ewm::new(alphas[k]));
            let mut expanding = Expanding::default();
            Ewm::push_lanes(&mut lanes, Some(&mut expanding), &values);
            for (a, b) in one.iter().zip(&lanes) {
                assert_eq!(a.get().to_bits(), b.get().to_bits(), "case {case}");
            }
            assert_eq!(one_expanding.get().to_bits(), expanding.get().to_bits());
            // Continuing from a state that has seen values.
            let more = [1.5, f64::NAN, -2.0];
            one.iter_mut()
                .for_each(|e| more.iter().for_each(|&x| e.push(x)));
            Ewm::push_lanes(&mut lanes, None, &more);
            for (a, b) in one.iter().zip(&lanes) {
                assert_eq!(
                    a.get().to_bits(),
                    b.get().to_bits(),
                    "case {case}, continued"
                );
            }
        }
    }

    #[test]
    fn rank_below_agrees_with_partition_point() {
        use rand::{rngs::StdRng, Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(7);
        for n in 0..300 {
            let mut v: Vec<i64> = (0..n).map(|_| rng.gen_range(-20..20)).collect();
            v.sort_unstable();
            for k in -22..22 {
                assert_eq!(
                    rank_below(&v, k),
                    v.partition_point(|&e| e < k),
                    "n {n} k {k}"
                );
            }
        }
    }

    #[test]
    fn quantile_paths_agree() {
        let values = [
            3.0,
            f64::NAN,
            1.0,
            7.0,
            7.0,
            -2.0,
            f64::NAN,
            4.5,
            0.0,
            -0.0,
            9.0,
        ];
        for w in 2..6 {
            let mut sw = SortedWindow::default();
            let mut scratch = Vec::new();
            for t in 1..=values.len() {
                sw.advance(&values, t, w);
                for q in [0.0, 0.1, 0.5, 0.9, 1.0] {
                    let a = sw.quantile(q);
                    let b = quantile_of(&values[t.saturating_sub(w)..t], q, &mut scratch);
                    assert_eq!(a.to_bits(), b.to_bits(), "w={w} t={t} q={q}");
                }
            }
        }
    }
}
