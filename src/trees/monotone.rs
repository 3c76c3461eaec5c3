//! Monotone constraints of boosting (LightGBM's "basic" method): a feature with direction
//! `+1` may only raise a tree's output as it grows, `-1` only lower it, `0` is free.
//!
//! Each node carries output [`Bounds`]. A split on a constrained feature is accepted only
//! when its children's outputs (clamped to the node's bounds) follow the direction; the
//! children then inherit the node's bounds cut at the midpoint of their two outputs, so
//! every leaf below the lower side stays under every leaf below the upper side, however
//! deep the tree grows. Leaf values are clamped to their bounds. Each tree is then
//! monotone in the feature, so their sum is too. Missing values go to their learned side
//! and are not ordered against present ones.

use super::split::{NodeStats, SplitRules};
use crate::error::{Error, Result};

/// The range a node's output (Newton leaf value) must stay in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Lowest allowed output.
    pub lo: f64,
    /// Highest allowed output.
    pub hi: f64,
}

impl Bounds {
    /// No bounds. (A function, not an associated constant: cbindgen would put this
    /// internal type into the C header.)
    pub const fn none() -> Bounds {
        Bounds {
            lo: f64::NEG_INFINITY,
            hi: f64::INFINITY,
        }
    }

    /// Whether either side is finite (the node is under a constrained split).
    #[inline]
    pub fn is_bounded(&self) -> bool {
        self.lo > f64::NEG_INFINITY || self.hi < f64::INFINITY
    }

    /// `v` clamped into the bounds.
    #[inline]
    pub fn clamp(&self, v: f64) -> f64 {
        v.max(self.lo).min(self.hi)
    }

    /// The output of a node with totals `s`: the Newton step clamped into the bounds.
    #[inline]
    pub fn leaf_value(&self, rules: &SplitRules, s: &NodeStats) -> f64 {
        self.clamp(rules.leaf_value(s))
    }

    /// The bounds of the (left, right) children of a split in direction `dir` whose
    /// children's outputs are `left` and `right`: for a constrained split, cut at their
    /// midpoint; otherwise the node's own.
    pub fn children(&self, dir: i8, left: f64, right: f64) -> (Bounds, Bounds) {
        let mid = 0.5 * (left + right);
        let lower = Bounds {
            lo: self.lo,
            hi: self.hi.min(mid),
        };
        let upper = Bounds {
            lo: self.lo.max(mid),
            hi: self.hi,
        };
        match dir {
            d if d > 0 => (lower, upper),
            d if d < 0 => (upper, lower),
            _ => (*self, *self),
        }
    }
}

/// What limits one node's split search: its output bounds and the directions per feature
/// (empty: none constrained).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits<'a> {
    /// The node's output bounds.
    pub bounds: Bounds,
    /// Direction per feature index (`-1`, `0`, `+1`), or empty.
    pub monotone: &'a [i8],
}

impl Limits<'_> {
    /// No limits at all.
    pub const fn none() -> Limits<'static> {
        Limits {
            bounds: Bounds::none(),
            monotone: &[],
        }
    }

    /// The direction of feature `f` (0 when unconstrained).
    #[inline]
    pub fn direction(&self, f: usize) -> i8 {
        self.monotone.get(f).copied().unwrap_or(0)
    }
}

/// Loss reduction term of a node with totals `s` whose output is `w` instead of its Newton
/// step: `-(2 G w + (H + lambda) w^2)`, which is `G^2 / (H + lambda)` at the Newton step.
#[inline]
pub fn score_at(rules: &SplitRules, s: &NodeStats, w: f64) -> f64 {
    -(2.0 * s.grad * w + (s.hess + rules.lambda_l2) * w * w)
}

/// Constraints for the features `names`: `1` for those in `up`, `-1` for those in `down`,
/// `0` for the rest.
pub fn by_name(names: &[String], up: &[&str], down: &[&str]) -> Vec<i8> {
    names
        .iter()
        .map(|n| {
            if up.contains(&n.as_str()) {
                1
            } else if down.contains(&n.as_str()) {
                -1
            } else {
                0
            }
        })
        .collect()
}

/// Checks constraint values (each -1, 0 or 1) and, when given, their count against the
/// number of features.
pub fn check(monotone: &[i8], n_features: Option<usize>) -> Result<()> {
    if let Some((i, v)) = monotone
        .iter()
        .enumerate()
        .find(|(_, v)| !(-1..=1).contains(*v))
    {
        return Err(Error::InvalidArgument(format!(
            "monotone_constraints[{i}] must be -1, 0 or 1, got {v}"
        )));
    }
    match n_features {
        Some(n) if !monotone.is_empty() && monotone.len() != n => {
            Err(Error::InvalidArgument(format!(
                "monotone_constraints has {} values for {n} features (give one per feature, \
                 or none)",
                monotone.len()
            )))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trees::gbdt::{Gbdt, GbdtParams};
    use crate::trees::objective::Objective;
    use ndarray::Array2;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn children_cut_at_the_midpoint_in_the_constraint_direction() {
        let b = Bounds { lo: -1.0, hi: 3.0 };
        let (l, r) = b.children(1, 0.0, 2.0);
        assert_eq!(
            (l, r),
            (Bounds { lo: -1.0, hi: 1.0 }, Bounds { lo: 1.0, hi: 3.0 })
        );
        let (l, r) = b.children(-1, 2.0, 0.0);
        assert_eq!(
            (l, r),
            (Bounds { lo: 1.0, hi: 3.0 }, Bounds { lo: -1.0, hi: 1.0 })
        );
        assert_eq!(b.children(0, 0.0, 2.0), (b, b));
        assert!(!Bounds::none().is_bounded() && b.is_bounded());
        assert_eq!(b.clamp(7.0), 3.0);
    }

    #[test]
    fn score_at_the_newton_step_is_the_structure_score() {
        let rules = SplitRules {
            lambda_l2: 1.0,
            min_child_weight: 0.0,
            min_samples_leaf: 1,
            min_split_gain: 0.0,
        };
        let s = NodeStats {
            grad: -6.0,
            hess: 2.0,
            count: 2,
        };
        let w = rules.leaf_value(&s);
        assert!((score_at(&rules, &s, w) - rules.score(&s)).abs() < 1e-12);
        assert!(score_at(&rules, &s, 0.5 * w) < rules.score(&s));
    }

    #[test]
    fn bad_constraints_are_refused() {
        assert!(check(&[1, 0, -1], Some(3)).is_ok());
        assert!(check(&[], Some(3)).is_ok());
        assert!(check(&[2], None).is_err());
        assert!(check(&[1, 0], Some(3)).is_err());
    }

    /// y rises with x0 but wiggles (a sine on top) and depends on x1; with x0 constrained
    /// up, every prediction along an x0 grid (at several x1) must not fall, while the free
    /// fit follows the wiggle down.
    fn fit_wiggle(monotone: Vec<i8>, objective: Objective) -> Gbdt {
        let n = 2_000;
        let mut rng = StdRng::seed_from_u64(5);
        let x = Array2::from_shape_fn((n, 2), |(_, j)| {
            if j == 0 {
                rng.gen_range(0.0..6.0)
            } else if rng.gen::<f64>() < 0.05 {
                f64::NAN
            } else {
                rng.gen_range(-1.0..1.0)
            }
        });
        let y: Vec<f64> = x
            .rows()
            .into_iter()
            .map(|r| {
                let f = 0.5 * r[0] + 1.5 * (2.0 * r[0]).sin() + r[1].max(0.0);
                match objective {
                    Objective::LogLoss => f64::from(u8::from(f > 1.2)),
                    _ => f,
                }
            })
            .collect();
        let params = GbdtParams {
            objective,
            rounds: 80,
            max_leaves: 15,
            min_samples_leaf: 5,
            monotone_constraints: monotone,
            ..GbdtParams::default()
        };
        Gbdt::fit(x.view(), &y, None, None, &params).unwrap()
    }

    fn largest_drop(model: &Gbdt) -> f64 {
        let mut drop = 0.0f64;
        for x1 in [-0.9, -0.2, 0.3, 0.8, f64::NAN] {
            let mut last = f64::NEG_INFINITY;
            for i in 0..=240 {
                let p = model.predict_row(&[i as f64 * 0.025, x1]).unwrap();
                drop = drop.max(last - p);
                last = p;
            }
        }
        drop
    }

    #[test]
    fn a_constrained_fit_is_monotone_where_the_free_fit_is_not() {
        for objective in [Objective::SquaredError, Objective::LogLoss] {
            let free = fit_wiggle(Vec::new(), objective);
            assert!(
                largest_drop(&free) > 0.1,
                "{objective:?}: the data set should wiggle"
            );
            let up = fit_wiggle(vec![1, 0], objective);
            assert!(
                largest_drop(&up) <= 1e-12,
                "{objective:?}: {}",
                largest_drop(&up)
            );
            // Still a fit: predictions rise over the range.
            let (lo, hi) = (
                up.predict_row(&[0.1, 0.0]).unwrap(),
                up.predict_row(&[5.9, 0.0]).unwrap(),
            );
            assert!(hi > lo + 0.3, "{objective:?}: {lo} .. {hi}");
            // The same seed gives the same model; a round trip keeps the constraints.
            assert_eq!(up, fit_wiggle(vec![1, 0], objective));
            let bytes = postcard::to_allocvec(&up).unwrap();
            let back: Gbdt = postcard::from_bytes(&bytes).unwrap();
            assert_eq!(back, up);
            assert_eq!(back.params().monotone_constraints, vec![1, 0]);
        }
        // Decreasing: the mirror image.
        let n = 500;
        let x = Array2::from_shape_fn((n, 1), |(i, _)| i as f64 / 50.0);
        let y: Vec<f64> = (0..n)
            .map(|i| -(i as f64 / 50.0) + (i as f64 / 10.0).sin())
            .collect();
        let params = GbdtParams {
            rounds: 40,
            min_samples_leaf: 3,
            monotone_constraints: vec![-1],
            ..GbdtParams::default()
        };
        let m = Gbdt::fit(x.view(), &y, None, None, &params).unwrap();
        let p: Vec<f64> = (0..n)
            .map(|i| m.predict_row(&[i as f64 / 50.0]).unwrap())
            .collect();
        assert!(p.windows(2).all(|w| w[1] <= w[0] + 1e-12));
    }

    #[test]
    fn parameters_without_constraints_still_parse_and_bad_ones_fail() {
        let p: GbdtParams = serde_json::from_str(r#"{"rounds": 3}"#).unwrap();
        assert!(p.monotone_constraints.is_empty());
        assert!(!serde_json::to_string(&p).unwrap().contains("monotone"));
        let x = Array2::from_shape_fn((40, 2), |(i, j)| (i * (j + 1)) as f64);
        let y: Vec<f64> = (0..40).map(f64::from).collect();
        let fit = |m: Vec<i8>, objective| {
            let params = GbdtParams {
                objective,
                rounds: 2,
                min_samples_leaf: 2,
                monotone_constraints: m,
                ..GbdtParams::default()
            };
            Gbdt::fit(x.view(), &y, None, None, &params)
        };
        assert!(fit(vec![1, 0], Objective::SquaredError).is_ok());
        assert!(fit(vec![1], Objective::SquaredError).is_err());
        assert!(fit(vec![1, 3], Objective::SquaredError).is_err());
        assert!(fit(vec![1, -128], Objective::SquaredError).is_err());
        assert!(fit(vec![1, 0], Objective::AbsoluteError).is_err());
    }
}
