//! The best split of one node's histogram: for each feature, every threshold between bins,
//! with the missing bin tried on both sides (its learned default direction).

use super::binning::MISSING_BIN;
use super::histogram::{BinStats, Histogram};

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
        let parent_score = self.score(node);
        let mut best: Option<Split> = None;
        for &f in features {
            let bins = hist.feature(f);
            let missing = bins[MISSING_BIN as usize];
            let last = n_bins(f); // codes 1..=last hold values
            let mut left = NodeStats::default();
            for (b, stats) in bins.iter().enumerate().take(last + 1).skip(1) {
                left.add(stats);
                // Threshold after the last value bin only makes sense to isolate missing values.
                if b == last && missing.count == 0 {
                    break;
                }
                let right = node.sub(&left).sub(&missing);
                let mut consider = |l: NodeStats, r: NodeStats, default_left: bool| {
                    if !self.allowed(&l) || !self.allowed(&r) {
                        return;
                    }
                    let gain = self.score(&l) + self.score(&r) - parent_score;
                    if gain > self.min_split_gain && best.is_none_or(|s| gain > s.gain) {
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
                    // No missing values seen: send future ones where most of the weight went.
                    let default_left = left.hess >= right.hess;
                    consider(left, right, default_left);
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
