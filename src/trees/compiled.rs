//! Inference compiled into one flat array of small nodes: no pointer chasing beyond array
//! indices, no allocation per call, and batches walked tree by tree over blocks of rows so
//! a tree stays in cache while it scores the block.

use super::tree::Tree;

/// 16 bytes: a split, or a leaf (`feature == LEAF`, `threshold` = leaf value).
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
struct FlatNode {
    threshold: f64,
    feature: u32,
    /// Left child's absolute index, with the top bit set when missing values go left. The
    /// right child always follows the left one.
    left: u32,
}

const LEAF: u32 = u32::MAX;
const DEFAULT_LEFT: u32 = 1 << 31;
/// Rows scored together per pass over the trees.
const BLOCK: usize = 64;

/// All trees of an ensemble, flattened; predicts the sum of tree outputs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompiledTrees {
    nodes: Vec<FlatNode>,
    roots: Vec<u32>,
}

impl CompiledTrees {
    /// Flattens `trees`, laying each node's children side by side.
    pub fn new(trees: &[Tree]) -> CompiledTrees {
        let mut nodes = Vec::with_capacity(trees.iter().map(|t| t.nodes.len()).sum());
        let mut roots = Vec::with_capacity(trees.len());
        for tree in trees {
            roots.push(nodes.len() as u32);
            nodes.push(FlatNode {
                threshold: 0.0,
                feature: LEAF,
                left: 0,
            });
            // (source node, flat slot) pairs still to fill; children get adjacent slots.
            let mut pending = vec![(0usize, nodes.len() - 1)];
            while let Some((src, slot)) = pending.pop() {
                let n = &tree.nodes[src];
                if n.is_leaf() {
                    nodes[slot] = FlatNode {
                        threshold: n.value,
                        feature: LEAF,
                        left: 0,
                    };
                    continue;
                }
                let left = nodes.len();
                nodes.push(FlatNode {
                    threshold: 0.0,
                    feature: LEAF,
                    left: 0,
                });
                nodes.push(FlatNode {
                    threshold: 0.0,
                    feature: LEAF,
                    left: 0,
                });
                nodes[slot] = FlatNode {
                    threshold: n.threshold,
                    feature: n.feature,
                    left: left as u32 | if n.default_left { DEFAULT_LEFT } else { 0 },
                };
                pending.push((n.left as usize, left));
                pending.push((n.right as usize, left + 1));
            }
        }
        CompiledTrees { nodes, roots }
    }

    /// Walks one tree from `root` to its leaf; `step(node, value)` picks the next index.
    #[inline(always)]
    fn walk(&self, root: u32, row: &[f64], step: impl Fn(&FlatNode, f64) -> usize) -> f64 {
        let mut i = root as usize;
        loop {
            let n = &self.nodes[i];
            if n.feature == LEAF {
                return n.threshold;
            }
            i = step(n, row[n.feature as usize]);
        }
    }

    /// One row: a branch rather than arithmetic on the comparison, so the CPU runs ahead on
    /// its guess instead of waiting for each comparison.
    #[inline]
    fn tree_output(&self, root: u32, row: &[f64]) -> f64 {
        self.walk(root, row, |n, v| {
            let left = (n.left & !DEFAULT_LEFT) as usize;
            if v <= n.threshold || (v.is_nan() && n.left & DEFAULT_LEFT != 0) {
                left
            } else {
                left + 1
            }
        })
    }

    /// Batches: no data-dependent branch, so the CPU overlaps independent rows of a block
    /// instead of paying for mispredictions (the branchy walk is faster for one row, this
    /// one for batches; both measured with `cargo bench --bench gbdt`).
    #[inline]
    fn tree_output_branchless(&self, root: u32, row: &[f64]) -> f64 {
        self.walk(root, row, |n, v| {
            let go_left = v <= n.threshold || (v.is_nan() && n.left & DEFAULT_LEFT != 0);
            (n.left & !DEFAULT_LEFT) as usize + usize::from(!go_left)
        })
    }

    /// `init` plus the tree outputs for one row, added in tree order exactly as
    /// [`add_batch`](Self::add_batch) does, so single-row and batch answers are bit-equal.
    /// The caller checks the row's length.
    #[inline]
    pub fn row_sum(&self, init: f64, row: &[f64]) -> f64 {
        self.roots
            .iter()
            .fold(init, |acc, &r| acc + self.tree_output(r, row))
    }

    /// Adds the sum of tree outputs of each row of `rows` (row-major, `n_features` per row)
    /// to `out`.
    pub fn add_batch(&self, rows: &[f64], n_features: usize, out: &mut [f64]) {
        for (block_rows, block_out) in rows.chunks(BLOCK * n_features).zip(out.chunks_mut(BLOCK)) {
            for &root in &self.roots {
                for (row, o) in block_rows
                    .chunks_exact(n_features)
                    .zip(block_out.iter_mut())
                {
                    *o += self.tree_output_branchless(root, row);
                }
            }
        }
    }
}
