//! The best split of one node's histogram: for each feature, every threshold between bins,
//! with the missing bin tried on both sides (its learned default direction).

use std::hint::select_unpredictable;

use super::binning::{BinnedData, MISSING_BIN};
use super::histogram::{BinStats, Histogram, BINS};
use super::monotone::{score_at, Bounds, Limits};

/// Constraints and regularisation of a split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitRules {
    /// L2 penalty on leaf values (lambda).
    pub lambda_l2: f64,
    /// Each child needs at least this much hessian (sample weight, for squared error).
    pub min_child_weight: f64,
    /// Each child needs at least this many rows.
    pub min_samples_leaf: u32,
    /// A split must improve the loss by more than this.
    pub min_split_gain: f64,
}

/// Totals of a node.
pub type NodeStats = BinStats;

/// A chosen split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    /// Feature index.
    pub feature: usize,
    /// Rows with code `1..=bin` go left, higher codes right.
    pub bin: u8,
    /// Where missing values (code 0) go.
    pub default_left: bool,
    /// Loss reduction.
    pub gain: f64,
    /// Totals of the left child.
    pub left: NodeStats,
    /// Totals of the right child.
    pub right: NodeStats,
}

impl SplitRules {
    /// Structure score of a node: G^2 / (H + lambda).
    #[inline]
    pub fn score(&self, s: &NodeStats) -> f64 {
        s.grad * s.grad / (s.hess + self.lambda_l2)
    }

    /// Newton step: the loss-minimising leaf value, -G / (H + lambda).
    #[inline]
    pub fn leaf_value(&self, s: &NodeStats) -> f64 {
        -s.grad / (s.hess + self.lambda_l2)
    }

    #[inline]
    fn allowed(&self, s: &NodeStats) -> bool {
        s.count >= self.min_samples_leaf && s.hess >= self.min_child_weight && s.count > 0
    }

    /// The best split of `node` over `features`, or `None` when no split satisfies the rules.
    /// Ties keep the lowest feature and bin, so results do not depend on scan order.
    pub fn best_split(
        &self,
        hist: &Histogram,
        node: &NodeStats,
        features: &[usize],
        n_bins: impl Fn(usize) -> usize,
    ) -> Option<Split> {
        self.best_split_in(
            features.iter().map(|&f| (f, hist.feature(f))),
            node,
            n_bins,
            &Limits::none(),
        )
    }

    /// The structure score a split's gain is measured from: the node's own, at its output
    /// clamped into its bounds when it has some.
    #[inline]
    fn parent_score(&self, node: &NodeStats, limits: &Limits) -> f64 {
        if limits.bounds.is_bounded() {
            score_at(self, node, limits.bounds.leaf_value(self, node))
        } else {
            self.score(node)
        }
    }

    /// The gain of a split of a node under `limits` on a feature of direction `dir`, or
    /// `None` when the children's (clamped) outputs go against the direction. `gain` is
    /// the unconstrained gain, kept as it is when nothing is clamped.
    #[inline]
    fn limited_gain(
        &self,
        gain: f64,
        l: &NodeStats,
        r: &NodeStats,
        bounds: &Bounds,
        dir: i8,
        parent_score: f64,
    ) -> Option<f64> {
        let (wl, wr) = (bounds.leaf_value(self, l), bounds.leaf_value(self, r));
        if (dir > 0 && wl > wr) || (dir < 0 && wl < wr) {
            return None;
        }
        if bounds.is_bounded() {
            Some(score_at(self, l, wl) + score_at(self, r, wr) - parent_score)
        } else {
            Some(gain)
        }
    }

    /// [`best_split`](Self::best_split) over `(feature, its bins)` pairs, in that order,
    /// under `limits` (monotone constraints): the histograms may be spread over several
    /// buffers, or be a group of features that one thread holds.
    pub(crate) fn best_split_in<'a>(
        &self,
        features: impl Iterator<Item = (usize, &'a [BinStats])>,
        node: &NodeStats,
        n_bins: impl Fn(usize) -> usize,
        limits: &Limits,
    ) -> Option<Split> {
        let parent_score = self.parent_score(node, limits);
        let mut best: Option<Split> = None;
        let mut scan = SCAN.take().unwrap_or_else(Scan::new);
        for (f, bins) in features {
            let bins = &bins[..=n_bins(f)];
            // Empty bins are skipped without a branch (whether a bin is empty is a coin
            // toss in smaller nodes): every bin is written, only non-empty ones advance.
            // Not added either: a bin emptied by taking rows out may keep rounding dust.
            let mut left = NodeStats::default();
            let mut n = 0;
            for (b, stats) in bins.iter().enumerate().skip(1) {
                let mut sum = left;
                sum.add(stats);
                left = select_unpredictable(stats.count > 0, sum, left);
                scan.code[n] = b as u8;
                scan.grad[n] = left.grad;
                scan.hess[n] = left.hess;
                scan.count[n] = left.count;
                n += usize::from(stats.count > 0);
            }
            let at = Threshold {
                f,
                node,
                parent_score,
                limits,
            };
            self.scan_thresholds(&mut scan, n, bins[0], &at, &mut best);
        }
        SCAN.set(Some(scan));
        best
    }

    /// The same split as [`best_split`](Self::best_split) on a histogram built from `rows`,
    /// found without one: per feature, only the bins the rows fall in are summed and tried,
    /// so the cost follows the number of rows, not of bins (deep trees' small nodes).
    /// `limits` are the node's monotone constraints ([`Limits::none()`] for none).
    #[allow(clippy::too_many_arguments)]
    pub fn best_split_rows(
        &self,
        data: &BinnedData,
        rows: &[u32],
        grad: &[f64],
        hess: &[f64],
        node: &NodeStats,
        features: &[usize],
        limits: &Limits,
    ) -> Option<Split> {
        let parent_score = self.parent_score(node, limits);
        let mut best: Option<Split> = None;
        let mut scan = SCAN.take().unwrap_or_else(Scan::new);
        let mut bins = [BinStats::default(); BINS];
        for &f in features {
            let codes = data.feature(f);
            let mut seen = [0u64; BINS / 64];
            // Summed in row order, like a histogram build, so the sums are bit-equal.
            for &r in rows {
                let c = codes[r as usize];
                bins[c as usize].add_row(grad[r as usize], hess[r as usize]);
                seen[c as usize / 64] |= 1 << (c % 64);
            }
            let missing = std::mem::take(&mut bins[MISSING_BIN as usize]);
            seen[0] &= !1;
            let present = seen.iter().enumerate().flat_map(|(w, &word)| {
                let mut word = word;
                std::iter::from_fn(move || {
                    (word != 0).then(|| {
                        let bit = word.trailing_zeros() as usize;
                        word &= word - 1;
                        (w * 64 + bit) as u8
                    })
                })
            });
            let present = present.map(|b| (b, bins[b as usize]));
            let at = Threshold {
                f,
                node,
                parent_score,
                limits,
            };
            self.scan_feature(&mut scan, present, missing, &at, &mut best);
            for (w, &word) in seen.iter().enumerate() {
                let mut word = word;
                while word != 0 {
                    bins[w * 64 + word.trailing_zeros() as usize] = BinStats::default();
                    word &= word - 1;
                }
            }
        }
        SCAN.set(Some(scan));
        best
    }

    /// Tries every threshold of feature `f` after a bin in `present` (ascending, non-empty
    /// value bins; a threshold after an empty bin splits like the one before it, which the
    /// tie rule prefers anyway), with the `missing` bin on either side.
    #[inline]
    fn scan_feature(
        &self,
        scan: &mut Scan,
        present: impl Iterator<Item = (u8, BinStats)>,
        missing: BinStats,
        at: &Threshold,
        best: &mut Option<Split>,
    ) {
        let mut left = NodeStats::default();
        let mut n = 0;
        for (b, stats) in present {
            left.add(&stats);
            scan.code[n] = b;
            scan.grad[n] = left.grad;
            scan.hess[n] = left.hess;
            scan.count[n] = left.count;
            n += 1;
        }
        self.scan_thresholds(scan, n, missing, at, best);
    }

    /// The thresholds after the first `n` entries of `scan` (cumulative sums of the
    /// non-empty value bins, ascending), with the `missing` bin on either side.
    ///
    /// Gains are computed for all thresholds in one loop over plain arrays first, so the
    /// compiler can run the divisions two at a time; the rules are checked afterwards. The
    /// unconstrained gains bound the constrained ones from above, so they rule thresholds
    /// out just as well under monotone constraints.
    #[inline]
    fn scan_thresholds(
        &self,
        scan: &mut Scan,
        n: usize,
        missing: BinStats,
        at: &Threshold,
        best: &mut Option<Split>,
    ) {
        let (f, node, parent_score) = (at.f, at.node, at.parent_score);
        let dir = at.limits.direction(f);
        let bounds = at.limits.bounds;
        let limited = dir != 0 || bounds.is_bounded();
        let lambda = self.lambda_l2;
        // The same operations, in the same order, as `score(l) + score(r) - parent_score`
        // on `NodeStats`, so both split paths agree to the bit.
        let gains = |lg: f64, lh: f64, rg: f64, rh: f64| {
            lg * lg / (lh + lambda) + rg * rg / (rh + lambda) - parent_score
        };
        let (lg, lh) = (&scan.grad[..n], &scan.hess[..n]);
        let with_missing = missing.count > 0;
        for (i, (&g, &h)) in lg.iter().zip(lh).enumerate() {
            let rg = (node.grad - g) - missing.grad;
            let rh = (node.hess - h) - missing.hess;
            if with_missing {
                scan.gain_left[i] = gains(g + missing.grad, h + missing.hess, rg, rh);
                scan.gain_right[i] = gains(g, h, rg + missing.grad, rh + missing.hess);
            } else {
                scan.gain_left[i] = gains(g, h, rg, rh);
            }
        }
        let min_rows = self.min_samples_leaf.max(1);
        let mut best_gain = best.map_or(f64::NEG_INFINITY, |s| s.gain);
        for i in 0..n {
            // Most thresholds gain less than the best so far: one comparison rules them
            // out (what follows would reject them too).
            let top = if with_missing {
                scan.gain_left[i].max(scan.gain_right[i])
            } else {
                scan.gain_left[i]
            };
            if top <= best_gain || top.is_nan() {
                continue;
            }
            let left = NodeStats {
                grad: scan.grad[i],
                hess: scan.hess[i],
                count: scan.count[i],
            };
            let right = node.sub(&left).sub(&missing);
            // Neither side can reach the row minimum any more: later bins only shrink the
            // right side.
            if right.count + missing.count < min_rows {
                break;
            }
            if left.count + missing.count < min_rows {
                continue;
            }
            let mut consider = |gain: f64, l: NodeStats, r: NodeStats, default_left: bool| {
                let gain = if limited {
                    match self.limited_gain(gain, &l, &r, &bounds, dir, parent_score) {
                        Some(g) => g,
                        None => return,
                    }
                } else {
                    gain
                };
                if gain > self.min_split_gain
                    && gain > best_gain
                    && self.allowed(&l)
                    && self.allowed(&r)
                {
                    best_gain = gain;
                    *best = Some(Split {
                        feature: f,
                        bin: scan.code[i],
                        default_left,
                        gain,
                        left: l,
                        right: r,
                    });
                }
            };
            if with_missing {
                let mut l = left;
                l.add(&missing);
                consider(scan.gain_left[i], l, right, true);
                let mut r = right;
                r.add(&missing);
                consider(scan.gain_right[i], left, r, false);
            } else {
                // No missing values seen: send future ones where most of the weight went.
                let default_left = left.hess >= right.hess;
                consider(scan.gain_left[i], left, right, default_left);
            }
        }
    }
}

/// What one feature's threshold scan compares against.
struct Threshold<'a, 'b> {
    f: usize,
    node: &'a NodeStats,
    parent_score: f64,
    limits: &'a Limits<'b>,
}

thread_local! {
    /// Each search's working arrays (11 KB): zeroing fresh ones cost more than some
    /// searches.
    static SCAN: std::cell::Cell<Option<Box<Scan>>> = const { std::cell::Cell::new(None) };
}

/// Per-threshold working arrays of one feature's scan, reused across features.
struct Scan {
    code: [u8; BINS],
    grad: [f64; BINS],
    hess: [f64; BINS],
    count: [u32; BINS],
    gain_left: [f64; BINS],
    gain_right: [f64; BINS],
}

impl Scan {
    fn new() -> Box<Scan> {
        Box::new(Scan {
            code: [0; BINS],
            grad: [0.0; BINS],
            hess: [0.0; BINS],
            count: [0; BINS],
            gain_left: [0.0; BINS],
            gain_right: [0.0; BINS],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trees::binning::BinnedData;
    use ndarray::Array2;

    fn rules() -> SplitRules {
        SplitRules {
            lambda_l2: 0.0,
            min_child_weight: 0.0,
            min_samples_leaf: 1,
            min_split_gain: 0.0,
        }
    }

    fn hist_of(x: &[f64], grad: &[f64]) -> (BinnedData, Histogram, NodeStats) {
        let data = BinnedData::fit(
            Array2::from_shape_vec((x.len(), 1), x.to_vec())
                .unwrap()
                .view(),
            255,
            0,
        )
        .unwrap();
        let hess = vec![1.0; x.len()];
        let rows: Vec<u32> = (0..x.len() as u32).collect();
        let mut h = Histogram::new(1);
        h.build(&data, &rows, grad, &hess, &[0]);
        let total = NodeStats {
            grad: grad.iter().sum(),
            hess: x.len() as f64,
            count: x.len() as u32,
        };
        (data, h, total)
    }

    #[test]
    fn a_stump_by_hand() {
        // Targets 1,1,5,5 at x = 1,2,3,4; from score 0 the gradients are -y.
        let (data, h, total) = hist_of(&[1.0, 2.0, 3.0, 4.0], &[-1.0, -1.0, -5.0, -5.0]);
        let s = rules()
            .best_split(&h, &total, &[0], |f| data.mappers()[f].n_bins())
            .unwrap();
        assert_eq!(s.bin, 2, "split between x=2 and x=3");
        assert_eq!(data.mappers()[0].upper_bound(s.bin), 2.5);
        // gain = 2^2/2 + 10^2/2 - 12^2/4 = 2 + 50 - 36
        assert!((s.gain - 16.0).abs() < 1e-12);
        assert_eq!(rules().leaf_value(&s.left), 1.0);
        assert_eq!(rules().leaf_value(&s.right), 5.0);
    }

    #[test]
    fn missing_values_learn_their_side() {
        // NaN rows look like the high group: they should go right.
        let (data, h, total) = hist_of(&[1.0, 2.0, 3.0, f64::NAN], &[-1.0, -1.0, -5.0, -5.0]);
        let s = rules()
            .best_split(&h, &total, &[0], |f| data.mappers()[f].n_bins())
            .unwrap();
        assert_eq!((s.bin, s.default_left), (2, false));
        assert_eq!(s.right.count, 2);
        // NaN rows like the low group: they go left.
        let (data, h, total) = hist_of(&[1.0, 2.0, 3.0, f64::NAN], &[-1.0, -1.0, -5.0, -1.0]);
        let s = rules()
            .best_split(&h, &total, &[0], |f| data.mappers()[f].n_bins())
            .unwrap();
        assert_eq!((s.bin, s.default_left), (2, true));
    }

    #[test]
    fn rules_can_forbid_every_split() {
        let (data, h, total) = hist_of(&[1.0, 2.0, 3.0, 4.0], &[-1.0, -1.0, -5.0, -5.0]);
        let strict = SplitRules {
            min_samples_leaf: 3,
            ..rules()
        };
        assert_eq!(
            strict.best_split(&h, &total, &[0], |f| data.mappers()[f].n_bins()),
            None
        );
        let gainless = SplitRules {
            min_split_gain: 16.0,
            ..rules()
        };
        assert_eq!(
            gainless.best_split(&h, &total, &[0], |f| data.mappers()[f].n_bins()),
            None
        );
    }
}

#[cfg(test)]
mod small_node_tests {
    use super::*;
    use ndarray::Array2;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    /// Random data with few distinct values (ties and empty bins), missing values in some
    /// features, random hessians and rules, and a random subset of rows.
    fn case(seed: u64) -> (BinnedData, Vec<u32>, Vec<f64>, Vec<f64>, SplitRules) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (n, nf) = (rng.gen_range(2..300), rng.gen_range(1..6));
        let distinct: Vec<u32> = (0..nf).map(|_| rng.gen_range(1..40)).collect();
        let x = Array2::from_shape_fn((n, nf), |(_, f)| {
            if f % 2 == 1 && rng.gen::<f64>() < 0.2 {
                f64::NAN
            } else {
                f64::from(rng.gen_range(0..distinct[f]))
            }
        });
        let data = BinnedData::fit(x.view(), rng.gen_range(2..=255), seed).unwrap();
        let grad = (0..n).map(|_| rng.gen_range(-3.0..3.0)).collect();
        let hess = (0..n)
            .map(|_| {
                if seed.is_multiple_of(2) {
                    1.0
                } else {
                    rng.gen_range(0.01..2.0)
                }
            })
            .collect();
        let mut rows: Vec<u32> = (0..n as u32).filter(|_| rng.gen::<f64>() < 0.7).collect();
        if rows.is_empty() {
            rows.push(0);
        }
        let rules = SplitRules {
            lambda_l2: [0.0, 0.5, 3.0][rng.gen_range(0..3)],
            min_child_weight: [0.0, 1e-3, 2.0][rng.gen_range(0..3)],
            min_samples_leaf: rng.gen_range(1..6),
            min_split_gain: [0.0, 0.1][rng.gen_range(0..2)],
        };
        (data, rows, grad, hess, rules)
    }

    /// The original scan, kept as the reference: every bin, empty or not, no shortcuts.
    fn reference(
        rules: &SplitRules,
        hist: &Histogram,
        node: &NodeStats,
        data: &BinnedData,
    ) -> Option<Split> {
        let parent_score = rules.score(node);
        let mut best: Option<Split> = None;
        for f in 0..data.n_features() {
            let bins = hist.feature(f);
            let missing = bins[0];
            let last = data.mappers()[f].n_bins();
            let mut left = NodeStats::default();
            for (b, stats) in bins.iter().enumerate().take(last + 1).skip(1) {
                left.add(stats);
                if b == last && missing.count == 0 {
                    break;
                }
                let right = node.sub(&left).sub(&missing);
                let mut consider = |l: NodeStats, r: NodeStats, default_left: bool| {
                    if !rules.allowed(&l) || !rules.allowed(&r) {
                        return;
                    }
                    let gain = rules.score(&l) + rules.score(&r) - parent_score;
                    if gain > rules.min_split_gain && best.is_none_or(|s| gain > s.gain) {
                        best = Some(Split {
                            feature: f,
                            bin: b as u8,
                            default_left,
                            gain,
                            left: l,
                            right: r,
                        });
                    }
                };
                if missing.count == 0 {
                    consider(left, right, left.hess >= right.hess);
                } else {
                    let mut l = left;
                    l.add(&missing);
                    consider(l, right, true);
                    let mut r = right;
                    r.add(&missing);
                    consider(left, r, false);
                }
            }
        }
        best
    }

    #[test]
    fn the_row_path_finds_the_histogram_paths_split() {
        let mut found = 0;
        for seed in 0..500 {
            let (data, rows, grad, hess, rules) = case(seed);
            let features: Vec<usize> = (0..data.n_features()).collect();
            let mut node = NodeStats::default();
            for &r in &rows {
                node.add_row(grad[r as usize], hess[r as usize]);
            }
            let mut hist = Histogram::new(data.n_features());
            hist.build(&data, &rows, &grad, &hess, &features);
            let by_hist = rules.best_split(&hist, &node, &features, |f| data.mappers()[f].n_bins());
            let by_rows = rules.best_split_rows(
                &data,
                &rows,
                &grad,
                &hess,
                &node,
                &features,
                &Limits::none(),
            );
            assert_eq!(by_hist, by_rows, "seed {seed}");
            assert_eq!(
                by_hist,
                reference(&rules, &hist, &node, &data),
                "seed {seed}"
            );
            found += usize::from(by_rows.is_some());
        }
        // Both "no split" and real splits must be exercised for the comparison to mean much.
        assert!((100..500).contains(&found), "{found} of 500 cases split");
    }
}
