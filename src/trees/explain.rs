//! Exact per-prediction explanations of tree ensembles (path-dependent TreeSHAP, Lundberg et
//! al. 2018, Algorithm 2) and the reason codes built from them.
//!
//! A feature's contribution is its Shapley value for the game "the model's expected output
//! when only the features in S are known", where an unknown feature's split is averaged
//! over both children in proportion to their training covers. Contributions add up exactly:
//! `expected_value + sum(contributions) == raw prediction`.
//!
//! Contributions are in the units of the ensemble's *raw* output: the margin before the
//! objective's transform. For log-loss they are log-odds, for Poisson log-rates; the
//! probability itself is not additive in features, so reasons rank features by their
//! push on the margin, which orders them the same way as their push on the probability.

use serde::{Deserialize, Serialize};

use super::gbdt::Gbdt;
use super::tree::Tree;
use crate::error::{Error, Result};

/// Feature index of the path's root element, which stands for no feature.
const NO_FEATURE: u32 = u32::MAX;

/// One tree node, flattened for the explanation walk.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ExplainNode {
    threshold: f64,
    /// Share of the node's cover that goes left, and right (both 0 for leaves).
    left_share: f64,
    right_share: f64,
    /// Leaf output (unused for splits).
    value: f64,
    feature: u32,
    /// Absolute indices of the children in the flat node array; `left == 0` for leaves
    /// (index 0 is the first tree's root, never a child).
    left: u32,
    right: u32,
    default_left: bool,
}

impl ExplainNode {
    #[inline]
    fn is_leaf(&self) -> bool {
        self.left == 0
    }

    /// The child the row goes to first, then the other one, with their cover shares.
    #[inline]
    fn hot_cold(&self, value: f64) -> (usize, f64, usize, f64) {
        let left = if value.is_nan() {
            self.default_left
        } else {
            value <= self.threshold
        };
        if left {
            (
                self.left as usize,
                self.left_share,
                self.right as usize,
                self.right_share,
            )
        } else {
            (
                self.right as usize,
                self.right_share,
                self.left as usize,
                self.left_share,
            )
        }
    }
}

/// One element of the feature path (the paper's `m`): a feature, the share of the
/// unconditioned weight that reaches this far (`zero`), whether the row itself takes this
/// branch (`one`, always 0 or 1), and the permutation weight of subsets of each size.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct PathElement {
    zero: f64,
    one: f64,
    weight: f64,
    feature: u32,
}

/// Reusable working memory for [`TreeExplainer::contributions_with`], so the hot path does
/// not allocate. One per thread; it grows on first use to the explainer's need.
#[derive(Debug, Clone, Default)]
pub struct ExplainScratch {
    path: Vec<PathElement>,
    hot: HotSums,
}

/// Unwound-sum recurrences of a leaf's hot path elements, run side by side.
#[derive(Debug, Clone, Default)]
struct HotSums {
    zero: Vec<f64>,
    next: Vec<f64>,
    total: Vec<f64>,
}

impl ExplainScratch {
    /// An empty scratch; the first explanation sizes it.
    pub fn new() -> ExplainScratch {
        ExplainScratch::default()
    }
}

/// Exact path-dependent TreeSHAP for any additive ensemble of [`Tree`]s whose raw output is
/// `base_score + sum(tree outputs)`: a GBDT's margin, or a random forest whose tree values
/// are already divided by the number of trees (with base 0).
///
/// Unknown features are averaged over a split's children by cover share:
/// `cover(child) / (cover(left) + cover(right))` (the node's own cover in a fitted tree).
/// A split whose children both have zero cover sends half of the weight each way, and a
/// child with zero cover is never reached except by rows that go there themselves.
///
/// ```
/// use ndarray::Array2;
/// use tenantml::trees::explain::TreeExplainer;
/// use tenantml::trees::gbdt::{Gbdt, GbdtParams};
/// let x = Array2::from_shape_fn((200, 3), |(i, j)| ((i * (j + 3)) % 17) as f64);
/// let y: Vec<f64> = x.rows().into_iter().map(|r| 2.0 * r[0] - r[1]).collect();
/// let params = GbdtParams { rounds: 50, min_samples_leaf: 2, ..Default::default() };
/// let model = Gbdt::fit(x.view(), &y, None, None, &params)?;
/// let explainer = TreeExplainer::for_gbdt(&model)?;
/// let row = [10.0, 3.0, 5.0];
/// let mut contributions = [0.0; 3];
/// let expected = explainer.contributions(&row, &mut contributions)?;
/// let total = expected + contributions.iter().sum::<f64>();
/// // Squared error: the raw margin is the prediction itself.
/// assert!((total - model.predict_row(&row)?).abs() < 1e-9);
/// assert!(contributions[0] > 0.0, "a large x0 pushes the prediction up");
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TreeExplainer {
    nodes: Vec<ExplainNode>,
    /// Root of each tree that has at least one split; single leaves only shift the
    /// expected value.
    roots: Vec<u32>,
    expected_value: f64,
    n_features: usize,
    /// Path elements one explanation needs at most: paths of all depths stacked.
    scratch_len: usize,
    /// Deepest leaf, and per path length `d + 1` (row `d`, `max_depth + 1` wide) the
    /// factors `(d + 1) / (i + 1)`, `(d - i) / (d + 1)` and `(d + 1) / (d - i)` of the
    /// unwound sums: multiplications instead of divisions on the hot loop's critical path.
    max_depth: usize,
    up: Vec<f64>,
    down: Vec<f64>,
    cold: Vec<f64>,
}

impl TreeExplainer {
    /// Flattens `trees`, precomputing cover shares, the expected value and the deepest
    /// path. Fails on a malformed tree (empty, child index out of range or reached twice,
    /// split feature `>= n_features`, negative or non-finite cover).
    pub fn new(trees: &[Tree], base_score: f64, n_features: usize) -> Result<TreeExplainer> {
        let bad = |t: usize, msg: String| Err(Error::InvalidArgument(format!("tree {t}: {msg}")));
        let mut nodes: Vec<ExplainNode> = Vec::new();
        let mut roots = Vec::new();
        let mut expected_value = base_score;
        let mut max_depth = 0usize;
        for (t, tree) in trees.iter().enumerate() {
            let src = &tree.nodes;
            if src.is_empty() {
                return bad(t, "has no nodes".into());
            }
            if let Some(i) = src
                .iter()
                .position(|n| !(n.cover >= 0.0 && n.cover.is_finite()))
            {
                return bad(t, format!("node {i} has cover {}", src[i].cover));
            }
            if src[0].is_leaf() {
                expected_value += src[0].value;
                continue;
            }
            let offset = nodes.len();
            roots.push(offset as u32);
            let mut seen = vec![false; src.len()];
            // (node, its depth, share of the unconditioned weight reaching it)
            let mut pending = vec![(0usize, 0usize, 1.0f64)];
            seen[0] = true;
            nodes.extend(src.iter().map(|_| ExplainNode {
                threshold: 0.0,
                left_share: 0.0,
                right_share: 0.0,
                value: 0.0,
                feature: NO_FEATURE,
                left: 0,
                right: 0,
                default_left: false,
            }));
            while let Some((i, depth, reach)) = pending.pop() {
                let n = &src[i];
                let flat = &mut nodes[offset + i];
                if n.is_leaf() {
                    flat.value = n.value;
                    expected_value += reach * n.value;
                    max_depth = max_depth.max(depth);
                    continue;
                }
                let (l, r) = (n.left as usize, n.right as usize);
                for c in [l, r] {
                    if c >= src.len() || c == 0 || seen[c] {
                        return bad(t, format!("node {i} has a bad child index {c}"));
                    }
                    seen[c] = true;
                }
                if n.feature as usize >= n_features {
                    return bad(
                        t,
                        format!("node {i} splits on feature {} of {n_features}", n.feature),
                    );
                }
                let total = src[l].cover + src[r].cover;
                let (ls, rs) = if total > 0.0 {
                    (src[l].cover / total, src[r].cover / total)
                } else {
                    (0.5, 0.5)
                };
                *flat = ExplainNode {
                    threshold: n.threshold,
                    left_share: ls,
                    right_share: rs,
                    value: 0.0,
                    feature: n.feature,
                    left: (offset + l) as u32,
                    right: (offset + r) as u32,
                    default_left: n.default_left,
                };
                pending.push((l, depth + 1, reach * ls));
                pending.push((r, depth + 1, reach * rs));
            }
        }
        let width = max_depth + 1;
        let table = |f: fn(f64, f64) -> f64| -> Vec<f64> {
            (0..width * width)
                .map(|k| f((k / width) as f64, (k % width) as f64))
                .collect()
        };
        Ok(TreeExplainer {
            nodes,
            roots,
            expected_value,
            n_features,
            // A node at depth d keeps its path (at most d + 1 elements) right after its
            // parent's, so depths 0..=D stack up to (D + 1)(D + 2) / 2 elements.
            scratch_len: (max_depth + 1) * (max_depth + 2) / 2,
            max_depth,
            up: table(|d, i| (d + 1.0) / (i + 1.0)),
            down: table(|d, i| (d - i) / (d + 1.0)),
            cold: table(|d, i| if i < d { (d + 1.0) / (d - i) } else { 0.0 }),
        })
    }

    /// The explainer of a fitted GBDT's raw margin.
    pub fn for_gbdt(model: &Gbdt) -> Result<TreeExplainer> {
        TreeExplainer::new(model.trees(), model.base_score(), model.n_features())
    }

    /// The raw output expected before any feature is known: `base_score` plus, per tree,
    /// the cover-weighted mean of its leaf values.
    pub fn expected_value(&self) -> f64 {
        self.expected_value
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Writes each feature's contribution to the raw output for `row` into `out` (one per
    /// feature) and returns the expected value, so that
    /// `expected + sum(out) == raw prediction` up to rounding. NaN inputs take each split's
    /// missing-value direction, as prediction does. Allocates a scratch; see
    /// [`contributions_with`](Self::contributions_with) for the allocation-free form.
    pub fn contributions(&self, row: &[f64], out: &mut [f64]) -> Result<f64> {
        self.contributions_with(row, out, &mut ExplainScratch::new())
    }

    /// [`contributions`](Self::contributions) with caller-owned working memory: no
    /// allocation once `scratch` has been used with this explainer.
    pub fn contributions_with(
        &self,
        row: &[f64],
        out: &mut [f64],
        scratch: &mut ExplainScratch,
    ) -> Result<f64> {
        if row.len() != self.n_features {
            return Err(Error::InvalidArgument(format!(
                "row has {} features, the model {}",
                row.len(),
                self.n_features
            )));
        }
        if out.len() != self.n_features {
            return Err(Error::InvalidArgument(format!(
                "output holds {} contributions for {} features",
                out.len(),
                self.n_features
            )));
        }
        if scratch.path.len() < self.scratch_len {
            scratch
                .path
                .resize(self.scratch_len, PathElement::default());
        }
        let hot = &mut scratch.hot;
        if hot.zero.len() < self.max_depth {
            for v in [&mut hot.zero, &mut hot.next, &mut hot.total] {
                v.resize(self.max_depth, 0.0);
            }
        }
        out.fill(0.0);
        let mut walk = Walk {
            ex: self,
            row,
            phi: out,
            hot,
        };
        for &root in &self.roots {
            walk.recurse(root as usize, &mut scratch.path, 0, 1.0, 1.0, NO_FEATURE);
        }
        Ok(self.expected_value)
    }
}

/// One row's explanation in progress.
struct Walk<'a> {
    ex: &'a TreeExplainer,
    row: &'a [f64],
    phi: &'a mut [f64],
    hot: &'a mut HotSums,
}

impl Walk<'_> {
    /// Algorithm 2's RECURSE. `buf[..depth]` holds the parent's path; this node's path is
    /// built right after it, at `buf[depth..=2 * depth]`, so children never disturb it.
    fn recurse(
        &mut self,
        node: usize,
        buf: &mut [PathElement],
        depth: usize,
        zero: f64,
        one: f64,
        feature: u32,
    ) {
        let (parent, path) = buf.split_at_mut(depth);
        path[..depth].copy_from_slice(parent);
        extend(path, depth, zero, one, feature);
        let n = self.ex.nodes[node];
        if n.is_leaf() {
            self.leaf_contributions(path, depth, n.value);
            return;
        }
        let (hot, hot_share, cold, cold_share) = n.hot_cold(self.row[n.feature as usize]);
        let mut depth = depth;
        let (mut in_zero, mut in_one) = (1.0, 1.0);
        // A feature already on the path is taken off and re-entered with the product of
        // both splits' fractions, so each feature appears once (the paper's UNWIND step).
        if let Some(k) = path[1..=depth].iter().position(|e| e.feature == n.feature) {
            let k = k + 1;
            in_zero = path[k].zero;
            in_one = path[k].one;
            unwind(path, depth, k);
            depth -= 1;
        }
        // A branch that neither the row nor the unconditioned average reaches adds
        // nothing, and its all-zero weights would divide by zero when unwound.
        let hot_zero = hot_share * in_zero;
        if hot_zero != 0.0 || in_one != 0.0 {
            self.recurse(hot, path, depth + 1, hot_zero, in_one, n.feature);
        }
        let cold_zero = cold_share * in_zero;
        if cold_zero != 0.0 {
            self.recurse(cold, path, depth + 1, cold_zero, 0.0, n.feature);
        }
    }

    /// Every path feature's share of a leaf's value: for element `i`, the total weight of
    /// the path with `i` unwound, times `(one - zero) * value`.
    ///
    /// `one` is 0 or 1. For a branch the row does not take (`one == 0`) the unwound sum is
    /// `cold_sum / zero` with `cold_sum` shared by all such elements, so each contributes
    /// `-cold_sum * value`, computed once per leaf (the exact shortcut of Fast TreeSHAP v1,
    /// Yang 2021). The row's own branches need an O(depth) recurrence each; they run side
    /// by side, since each one alone would wait on its own chain of multiplications.
    #[inline]
    fn leaf_contributions(&mut self, path: &[PathElement], depth: usize, value: f64) {
        if depth == 0 {
            return;
        }
        let row = depth * (self.ex.max_depth + 1);
        let up = &self.ex.up[row..row + depth];
        let down = &self.ex.down[row..row + depth];
        let hot = &mut *self.hot;
        let mut n_hot = 0;
        for el in &path[1..=depth] {
            if el.one != 0.0 {
                hot.zero[n_hot] = el.zero;
                n_hot += 1;
            }
        }
        let cold_sum: f64 = if n_hot < depth {
            let cold = &self.ex.cold[row..row + depth];
            path[..depth]
                .iter()
                .zip(cold)
                .map(|(e, c)| e.weight * c)
                .sum()
        } else {
            0.0
        };
        let (zero, next, total) = (
            &hot.zero[..n_hot],
            &mut hot.next[..n_hot],
            &mut hot.total[..n_hot],
        );
        next.fill(path[depth].weight);
        total.fill(0.0);
        for i in (0..depth).rev() {
            let (a, b, w_i) = (up[i], down[i], path[i].weight);
            for ((nx, t), z) in next.iter_mut().zip(total.iter_mut()).zip(zero) {
                let w = *nx * a;
                *t += w;
                *nx = w_i - w * (z * b);
            }
        }
        let mut h = 0;
        for el in &path[1..=depth] {
            let share = if el.one != 0.0 {
                h += 1;
                total[h - 1] * (1.0 - el.zero)
            } else {
                -cold_sum
            };
            self.phi[el.feature as usize] += share * value;
        }
    }
}

/// Algorithm 2's EXTEND: adds element `depth` and updates the subset-size weights.
#[inline]
fn extend(path: &mut [PathElement], depth: usize, zero: f64, one: f64, feature: u32) {
    path[depth] = PathElement {
        zero,
        one,
        weight: if depth == 0 { 1.0 } else { 0.0 },
        feature,
    };
    let inv = 1.0 / (depth + 1) as f64;
    for i in (0..depth).rev() {
        path[i + 1].weight += one * path[i].weight * (i + 1) as f64 * inv;
        path[i].weight = zero * path[i].weight * (depth - i) as f64 * inv;
    }
}

/// Algorithm 2's UNWIND: removes element `k` from a path of `depth + 1` elements, undoing
/// its EXTEND.
#[inline]
fn unwind(path: &mut [PathElement], depth: usize, k: usize) {
    let PathElement { zero, one, .. } = path[k];
    let d1 = (depth + 1) as f64;
    let mut next = path[depth].weight;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let w = path[i].weight;
            path[i].weight = next * d1 / ((i + 1) as f64 * one);
            next = w - path[i].weight * zero * (depth - i) as f64 / d1;
        } else {
            path[i].weight = path[i].weight * d1 / (zero * (depth - i) as f64);
        }
    }
    for i in k..depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero = path[i + 1].zero;
        path[i].one = path[i + 1].one;
    }
}

/// Which contributions [`top_reasons`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonDirection {
    /// Features pushing the prediction up (positive contributions), largest first.
    Increasing,
    /// Features pushing the prediction down (negative contributions), most negative first.
    Decreasing,
    /// Both, by absolute size.
    Both,
}

/// One reason code: a feature, the row's value of it, and its contribution to the raw
/// output (log-odds for log-loss).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// Feature index.
    pub feature: usize,
    /// Feature name.
    pub name: String,
    /// The row's input value (NaN when missing).
    pub value: f64,
    /// Contribution to the raw output, in the model's margin units.
    pub contribution: f64,
}

/// The `k` features that move the prediction most in `direction`, largest magnitude first
/// (ties by lower feature index). Zero (and NaN) contributions are never listed, so fewer
/// than `k` reasons come back when fewer features moved the prediction that way.
///
/// `row` and `names` must have one entry per contribution; `names` may also be empty, and
/// then features are named `f0`, `f1`, ... Any other length is an
/// [`Error::InvalidArgument`].
pub fn top_reasons(
    contributions: &[f64],
    row: &[f64],
    names: &[String],
    k: usize,
    direction: ReasonDirection,
) -> Result<Vec<Reason>> {
    let n = contributions.len();
    if row.len() != n {
        return Err(Error::InvalidArgument(format!(
            "row has {} values for {n} contributions",
            row.len()
        )));
    }
    if !names.is_empty() && names.len() != n {
        return Err(Error::InvalidArgument(format!(
            "{} names for {n} contributions (give one per feature, or none)",
            names.len()
        )));
    }
    let strength = |c: f64| match direction {
        ReasonDirection::Increasing => c,
        ReasonDirection::Decreasing => -c,
        ReasonDirection::Both => c.abs(),
    };
    let mut picked: Vec<(f64, usize)> = contributions
        .iter()
        .enumerate()
        .map(|(i, &c)| (strength(c), i))
        .filter(|&(s, _)| s > 0.0)
        .collect();
    picked.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    picked.truncate(k);
    Ok(picked
        .into_iter()
        .map(|(_, i)| Reason {
            feature: i,
            name: names.get(i).cloned().unwrap_or_else(|| format!("f{i}")),
            value: row[i],
            contribution: contributions[i],
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(elements: &[(f64, f64, u32)]) -> Vec<PathElement> {
        let mut path = vec![PathElement::default(); elements.len()];
        for (d, &(zero, one, feature)) in elements.iter().enumerate() {
            extend(&mut path, d, zero, one, feature);
        }
        path
    }

    #[test]
    fn unwind_undoes_extend_at_every_position() {
        let elements = [
            (1.0, 1.0, NO_FEATURE),
            (0.3, 1.0, 4),
            (0.6, 0.0, 2),
            (0.25, 1.0, 7),
            (0.9, 0.0, 1),
        ];
        for k in 1..elements.len() {
            let mut path = path_of(&elements);
            unwind(&mut path, elements.len() - 1, k);
            let mut rest = elements.to_vec();
            rest.remove(k);
            let expected = path_of(&rest);
            for (a, b) in path.iter().zip(&expected) {
                assert_eq!(a.feature, b.feature, "removing {k}");
                assert!(
                    (a.weight - b.weight).abs() < 1e-12,
                    "removing {k}: {a:?} {b:?}"
                );
                assert_eq!((a.zero, a.one), (b.zero, b.one));
            }
        }
    }

    #[test]
    fn weights_of_a_full_path_sum_to_one_when_every_branch_is_taken() {
        // With zero == one == 1 every subset reaches the leaf, and the permutation
        // weights over subset sizes are a probability distribution.
        let path = path_of(&[(1.0, 1.0, NO_FEATURE), (1.0, 1.0, 0), (1.0, 1.0, 1)]);
        let total: f64 = path.iter().map(|e| e.weight).sum();
        assert!((total - 1.0).abs() < 1e-12, "{path:?}");
    }
}
