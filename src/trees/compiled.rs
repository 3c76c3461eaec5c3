//! Inference compiled into one flat array of small nodes: no pointer chasing beyond array
//! indices, no allocation per call. Leaves point to themselves, so a walk can take a fixed
//! number of steps (the tree's depth) without asking whether it has arrived; several walks
//! then run in lockstep with no data-dependent branch, and the CPU overlaps them instead
//! of waiting on each node load or paying for each mispredicted turn.

use rayon::prelude::*;

use super::tree::Tree;
use crate::error::{Error, Result};

/// 16 bytes. A split, or a leaf: threshold `+inf`, missing values left, left child itself,
/// so every step from a leaf stays on it.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
struct FlatNode {
    threshold: f64,
    feature: u32,
    /// Left child's absolute index, with the top bit set when missing values go left. The
    /// right child always follows the left one.
    left: u32,
}

const DEFAULT_LEFT: u32 = 1 << 31;
/// Set when the left child is a leaf (a leaf's children are itself).
const LEFT_LEAF: u32 = 1 << 30;
/// Set when the right child is a leaf.
const RIGHT_LEAF: u32 = 1 << 29;
const INDEX: u32 = RIGHT_LEAF - 1;
/// Rows scored together per pass over the trees: their values stay in L1 meanwhile; a
/// multiple of `LANES` so no run is short (48 to 96 measured alike).
const BLOCK: usize = 96;
/// Walks advanced in lockstep: enough independent loads to hide a cache hit's latency.
const LANES: usize = 6;
/// Trees walked side by side on one row. More than a batch's row lanes: one row leaves
/// registers to spare, and a dozen walks hide the node loads' latency better (measured:
/// 6, 8, 12, 16 lanes took 3.5, 3.1, 2.8, 3.0 us per row on 300 trees; a batch is fastest
/// with 6 row lanes).
const TREE_LANES: usize = 12;
/// Rows from which a batch is split across threads.
const PARALLEL_MIN_ROWS: usize = 4 * BLOCK;

/// All trees of an ensemble, flattened; predicts the sum of tree outputs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompiledTrees {
    nodes: Vec<FlatNode>,
    /// Leaf outputs by node index (0 for splits).
    values: Vec<f64>,
    roots: Vec<u32>,
    /// Steps from each root to its deepest leaf.
    depths: Vec<u32>,
    /// The roots in runs of `TREE_LANES` (single-row walks), the last run padded with a leaf
    /// whose output is never added, so every walk has all lanes.
    lane_roots: Vec<[u32; TREE_LANES]>,
    /// Per run of `lane_roots`, the deepest of its trees.
    group_depths: Vec<u32>,
    /// Rows must hold more values than the highest feature a split reads.
    min_row_len: usize,
}

impl CompiledTrees {
    /// Flattens `trees`, laying each node's children side by side.
    pub fn new(trees: &[Tree]) -> CompiledTrees {
        let total = trees.iter().map(|t| t.nodes.len()).sum::<usize>() + 1;
        let mut c = CompiledTrees {
            nodes: Vec::with_capacity(total),
            values: Vec::with_capacity(total),
            roots: Vec::with_capacity(trees.len()),
            depths: Vec::with_capacity(trees.len()),
            lane_roots: Vec::new(),
            group_depths: Vec::new(),
            min_row_len: 0,
        };
        // Node 0: the padding lanes' leaf.
        let pad = c.push_slots(1);
        c.nodes[pad].left = pad as u32 | DEFAULT_LEFT | LEFT_LEAF | RIGHT_LEAF;
        for tree in trees {
            let root = c.push_slots(1);
            c.roots.push(root as u32);
            let mut depth = 0;
            // (source node, flat slot, depth) still to fill; children get adjacent slots.
            let mut pending = vec![(0usize, root, 0u32)];
            while let Some((src, slot, d)) = pending.pop() {
                let n = &tree.nodes[src];
                depth = depth.max(d);
                if n.is_leaf() {
                    c.nodes[slot] = FlatNode {
                        threshold: f64::INFINITY,
                        feature: 0,
                        left: slot as u32 | DEFAULT_LEFT | LEFT_LEAF | RIGHT_LEAF,
                    };
                    c.values[slot] = n.value;
                    continue;
                }
                let left = c.push_slots(2);
                c.nodes[slot] = FlatNode {
                    threshold: n.threshold,
                    feature: n.feature,
                    left: left as u32
                        | if n.default_left { DEFAULT_LEFT } else { 0 }
                        | if tree.nodes[n.left as usize].is_leaf() {
                            LEFT_LEAF
                        } else {
                            0
                        }
                        | if tree.nodes[n.right as usize].is_leaf() {
                            RIGHT_LEAF
                        } else {
                            0
                        },
                };
                c.min_row_len = c.min_row_len.max(n.feature as usize + 1);
                pending.push((n.left as usize, left, d + 1));
                pending.push((n.right as usize, left + 1, d + 1));
            }
            c.depths.push(depth);
        }
        assert!(
            c.nodes.len() <= INDEX as usize,
            "too many tree nodes to compile"
        );
        c.lane_roots = c
            .roots
            .chunks(TREE_LANES)
            .map(|g| std::array::from_fn(|k| g.get(k).copied().unwrap_or(pad as u32)))
            .collect();
        c.group_depths = c
            .depths
            .chunks(TREE_LANES)
            .map(|g| g.iter().copied().max().unwrap_or(0))
            .collect();
        c
    }

    fn push_slots(&mut self, k: usize) -> usize {
        let at = self.nodes.len();
        for _ in 0..k {
            self.nodes.push(FlatNode {
                threshold: f64::INFINITY,
                feature: 0,
                left: 0,
            });
            self.values.push(0.0);
        }
        at
    }

    /// One step of a walk: the child of node `i` that `row` goes to (a leaf's is itself),
    /// and 1 if that child is a leaf: the parent knows, so a walk stops on arriving rather
    /// than one step later. Without `NAN` the row must hold no NaN: a plain comparison then decides, and leaves
    /// (threshold `+inf`) keep every value on their left, themselves.
    #[inline(always)]
    fn step<const NAN: bool>(&self, i: u32, row: &[f64]) -> (u32, u32) {
        debug_assert!((i as usize) < self.nodes.len());
        // SAFETY: walks start at roots and follow `left` (+1), which `new` set to slots it
        // pushed; every split's feature is below `min_row_len`, which the public entry
        // points assert `row` reaches. The bounds checks cost a quarter of a step.
        let n = unsafe { self.nodes.get_unchecked(i as usize) };
        debug_assert!((n.feature as usize) < row.len());
        let v = unsafe { *row.get_unchecked(n.feature as usize) };
        let right = if NAN {
            // `|` and `&`, not `||` and `&&`: short-circuits compile to branches, which
            // mispredict on half the nodes.
            !((v <= n.threshold) | (v.is_nan() & (n.left & DEFAULT_LEFT != 0)))
        } else {
            v > n.threshold
        };
        let leaf = (n.left >> (LEFT_LEAF.trailing_zeros() - u32::from(right))) & 1;
        ((n.left & INDEX) + u32::from(right), leaf)
    }

    /// Advances every walk in `at` (lane `k` on `row(k)`) until all stand on leaves: at
    /// most `depth` steps, fewer when the lanes' paths are all short. A fixed number of
    /// lanes lets the compiler keep them all in registers.
    #[inline(always)]
    fn walk_lanes<'a, const NAN: bool, const K: usize>(
        &self,
        at: &mut [u32; K],
        depth: u32,
        row: impl Fn(usize) -> &'a [f64],
    ) {
        for _ in 0..depth {
            let mut arrived = 1;
            for (k, a) in at.iter_mut().enumerate() {
                let (next, leaf) = self.step::<NAN>(*a, row(k));
                arrived &= leaf;
                *a = next;
            }
            if arrived == 1 {
                break;
            }
        }
    }

    /// `init` plus the tree outputs for one row, added in tree order exactly as
    /// [`add_batch`](Self::add_batch) does, so single-row and batch answers are bit-equal.
    ///
    /// # Panics
    ///
    /// If `row` is shorter than the features the trees split on (callers check its length
    /// against the model's features).
    #[inline]
    pub fn row_sum(&self, init: f64, row: &[f64]) -> f64 {
        assert!(row.len() >= self.min_row_len, "row too short for the trees");
        if row.iter().any(|v| v.is_nan()) {
            self.row_sum_with::<true>(init, row)
        } else {
            self.row_sum_with::<false>(init, row)
        }
    }

    fn row_sum_with<const NAN: bool>(&self, init: f64, row: &[f64]) -> f64 {
        let mut acc = init;
        // One row, `TREE_LANES` trees walked side by side; their outputs are still added in
        // tree order.
        for ((roots, &depth), trees) in self
            .lane_roots
            .iter()
            .zip(&self.group_depths)
            .zip(self.roots.chunks(TREE_LANES))
        {
            let mut at = *roots;
            self.walk_lanes::<NAN, TREE_LANES>(&mut at, depth, |_| row);
            for &a in &at[..trees.len()] {
                acc += self.values[a as usize];
            }
        }
        acc
    }

    /// Adds the sum of tree outputs of each row of `rows` (row-major, `n_features` per row)
    /// to `out`. Large batches are shared among threads by blocks of rows; each row's sum
    /// is the same whichever thread computes it.
    ///
    /// # Panics
    ///
    /// If `n_features` is below the features the trees split on.
    pub fn add_batch(&self, rows: &[f64], n_features: usize, out: &mut [f64]) {
        assert!(
            n_features >= self.min_row_len,
            "rows too short for the trees"
        );
        let block = |(block_rows, block_out): (&[f64], &mut [f64])| {
            self.add_block(block_rows, n_features, block_out)
        };
        if out.len() >= PARALLEL_MIN_ROWS {
            rows.par_chunks(BLOCK * n_features)
                .zip(out.par_chunks_mut(BLOCK))
                .for_each(block);
        } else {
            rows.chunks(BLOCK * n_features)
                .zip(out.chunks_mut(BLOCK))
                .for_each(block);
        }
    }

    /// Up to `BLOCK` rows: trees in the outer loop so each stays in cache for the block,
    /// rows walked `LANES` at a time in lockstep (a short last run repeats its last row).
    fn add_block(&self, rows: &[f64], n_features: usize, out: &mut [f64]) {
        let lanes: Vec<(&[f64], bool)> = rows
            .chunks(LANES * n_features)
            .map(|r| (r, r.iter().any(|v| v.is_nan())))
            .collect();
        for (&root, &depth) in self.roots.iter().zip(&self.depths) {
            for (&(lane_rows, nan), lane_out) in lanes.iter().zip(out.chunks_mut(LANES)) {
                let n = lane_out.len();
                let row = |k: usize| {
                    let k = k.min(n - 1);
                    &lane_rows[k * n_features..(k + 1) * n_features]
                };
                let mut at = [root; LANES];
                if nan {
                    self.walk_lanes::<true, LANES>(&mut at, depth, row);
                } else {
                    self.walk_lanes::<false, LANES>(&mut at, depth, row);
                }
                for (o, &a) in lane_out.iter_mut().zip(at.iter()) {
                    *o += self.values[a as usize];
                }
            }
        }
    }
}

/// A row's length must equal the model's number of features.
pub(crate) fn check_row(len: usize, n_features: usize) -> Result<()> {
    if len != n_features {
        return Err(Error::InvalidArgument(format!(
            "row has {len} features, the model {n_features}"
        )));
    }
    Ok(())
}

/// A batch must have the model's features as columns and one output slot per row.
pub(crate) fn check_batch(
    n_rows: usize,
    n_cols: usize,
    out_len: usize,
    n_features: usize,
) -> Result<()> {
    if n_cols != n_features {
        return Err(Error::InvalidArgument(format!(
            "data has {n_cols} features, the model {n_features}"
        )));
    }
    if out_len != n_rows {
        return Err(Error::InvalidArgument(format!(
            "output holds {out_len} values for {n_rows} rows"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trees::binning::BinnedData;
    use crate::trees::grower::{grow, GrowRules};
    use crate::trees::split::SplitRules;
    use ndarray::Array2;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    #[test]
    fn lockstep_walks_agree_with_the_trees() {
        let mut rng = StdRng::seed_from_u64(5);
        let (n, nf) = (1000, 3);
        let x = Array2::from_shape_fn((n, nf), |_| {
            if rng.gen::<f64>() < 0.1 {
                f64::NAN
            } else {
                rng.gen::<f64>()
            }
        });
        let data = BinnedData::fit(x.view(), 255, 0).unwrap();
        // Trees of varied depth, including a lone leaf, so lanes finish at different steps.
        let mut trees = Vec::new();
        for (k, leaves) in [2, 31, 7, 200, 3, 64, 5, 2, 17, 9].into_iter().enumerate() {
            let grad: Vec<f64> = (0..n)
                .map(|i| ((i * (k + 3)) % 11) as f64 - 5.0 + x[[i, k % nf]].min(0.5))
                .collect();
            let mut rows: Vec<u32> = (0..n as u32).collect();
            let rules = GrowRules {
                max_leaves: leaves,
                max_depth: 0,
                split: SplitRules {
                    lambda_l2: 0.0,
                    min_child_weight: 0.0,
                    min_samples_leaf: 1,
                    min_split_gain: 0.0,
                },
                features_per_split: 0,
                seed: 0,
            };
            trees.push(grow(&data, &mut rows, &grad, &vec![1.0; n], &[0, 1, 2], &rules).0);
        }
        trees.push(Tree {
            nodes: vec![trees[0].nodes[1].clone()],
        });
        let compiled = CompiledTrees::new(&trees);
        let flat: Vec<f64> = x.iter().copied().collect();
        for rows in [1, 7, 64, 65, n] {
            let mut out = vec![0.5; rows];
            compiled.add_batch(&flat[..rows * nf], nf, &mut out);
            for (r, o) in out.iter().enumerate() {
                let row = x.row(r).to_vec();
                let walked = trees.iter().fold(0.5, |acc, t| acc + t.predict_row(&row));
                assert_eq!(*o, walked, "row {r} of {rows}");
                assert_eq!(*o, compiled.row_sum(0.5, &row), "row {r} of {rows}");
            }
        }
    }
}
