//! Grows one tree leaf-wise (best-first, as LightGBM does): always split the open leaf with
//! the largest gain until `max_leaves`. Rows of each leaf stay a contiguous range of one
//! index buffer, so a split is a stable partition of that range, and each split builds the
//! histogram of the smaller child only (the larger is parent minus smaller). Nodes under
//! [`HIST_MIN_ROWS`] rows have no histograms: their splits come from their rows, so deep
//! trees (random forests) cost in proportion to rows, not to nodes times bins.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::SeedableRng;

use super::binning::BinnedData;
use super::histogram::Histogram;
use super::monotone::Bounds;
use super::split::{NodeStats, Split, SplitRules};
use pass::{Pass, Plan, Side};

mod partition;
mod pass;
#[cfg(test)]
mod tests;
use super::tree::{Node, Tree};
use partition::partition;

/// Shape limits and split rules of one tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GrowRules {
    /// Most leaves (>= 2).
    pub max_leaves: usize,
    /// Deepest level (root = 0); 0 means no limit.
    pub max_depth: usize,
    /// What a split must satisfy.
    pub split: SplitRules,
    /// Features each node's split search may try, drawn afresh per node from the features
    /// the tree may use (random forests); 0 means all of them.
    pub features_per_split: usize,
    /// Seed of the per-node feature draws.
    pub seed: u64,
}

/// The training rows a leaf ended up with: `rows[start..end]` of the buffer passed to
/// [`grow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafRows {
    /// Leaf node index in the tree.
    pub node: usize,
    /// Start of the leaf's range in the row buffer.
    pub start: usize,
    /// End (exclusive).
    pub end: usize,
}

struct OpenLeaf {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    /// Output bounds from monotone splits above.
    bounds: Bounds,
    /// Kept only while the leaf may still split and is big enough to want one.
    hist: Option<Histogram>,
    split: Option<Split>,
}

/// The open leaves: those that may split in a max-heap by gain (ties to the lowest node id,
/// so growth is deterministic), the others aside. A linear scan for the best leaf made deep
/// trees quadratic in their number of leaves.
#[derive(Default)]
struct Open {
    heap: BinaryHeap<ByGain>,
    done: Vec<OpenLeaf>,
}

struct ByGain(OpenLeaf);

impl ByGain {
    fn key(&self) -> (f64, usize) {
        (
            self.0.split.map_or(f64::NEG_INFINITY, |s| s.gain),
            self.0.node,
        )
    }
}

impl Ord for ByGain {
    fn cmp(&self, other: &Self) -> Ordering {
        let ((ga, na), (gb, nb)) = (self.key(), other.key());
        ga.total_cmp(&gb).then(nb.cmp(&na))
    }
}

impl PartialOrd for ByGain {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ByGain {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ByGain {}

impl Open {
    fn len(&self) -> usize {
        self.heap.len() + self.done.len()
    }

    fn push(&mut self, leaf: OpenLeaf) {
        if leaf.split.is_some() {
            self.heap.push(ByGain(leaf));
        } else {
            self.done.push(leaf);
        }
    }

    fn pop_best(&mut self) -> Option<OpenLeaf> {
        self.heap.pop().map(|c| c.0)
    }
}

/// Nodes with fewer rows than this find their split from their rows
/// ([`SplitRules::best_split_rows`]) and hold no histograms: summing a few rows costs less
/// than zeroing, subtracting and scanning every bin of every feature.
pub const HIST_MIN_ROWS: usize = 256;

/// Grows a tree on `rows` (reordered in place: each leaf's rows end up contiguous) using
/// `features` only. Leaf values are Newton steps, not yet scaled by a learning rate.
pub fn grow(
    data: &BinnedData,
    rows: &mut [u32],
    grad: &[f64],
    hess: &[f64],
    features: &[usize],
    rules: &GrowRules,
) -> (Tree, Vec<LeafRows>) {
    grow_monotone(data, rows, grad, hess, features, rules, &[])
}

/// [`grow`] under monotone constraints (see [`monotone`](super::monotone)): `monotone[f]`
/// is the direction of feature `f` (-1, 0, +1), or `monotone` is empty for none. The tree's
/// output never moves against a constrained feature's direction.
pub fn grow_monotone(
    data: &BinnedData,
    rows: &mut [u32],
    grad: &[f64],
    hess: &[f64],
    features: &[usize],
    rules: &GrowRules,
    monotone: &[i8],
) -> (Tree, Vec<LeafRows>) {
    // Ascending and distinct: histogram groups and ties between features follow this order.
    let mut features = features.to_vec();
    features.sort_unstable();
    features.dedup();
    let features = &features[..];
    let mut root_stats = NodeStats::default();
    let mut unit_hess = true;
    for &r in rows.iter() {
        root_stats.grad += grad[r as usize];
        root_stats.hess += hess[r as usize];
        unit_hess &= hess[r as usize] == 1.0;
    }
    root_stats.count = rows.len() as u32;
    let mut nodes = vec![leaf_node(&rules.split, &root_stats, &Bounds::none())];
    let can_split = |depth: usize, stats: &NodeStats| {
        (rules.max_depth == 0 || depth < rules.max_depth)
            && stats.count >= 2 * rules.split.min_samples_leaf.max(1)
    };
    // Histograms always cover every allowed feature (subtraction needs them); only the split
    // search is limited to each node's draw.
    let per_split = rules.features_per_split;
    let sampling = per_split > 0 && per_split < features.len();
    let mut rng = StdRng::seed_from_u64(rules.seed);
    let mut drawn: Vec<usize> = Vec::with_capacity(features.len());
    let mut node_features = move || -> Vec<usize> {
        if sampling {
            drawn.clear();
            drawn.extend(
                sample(&mut rng, features.len(), per_split)
                    .into_iter()
                    .map(|i| features[i]),
            );
            drawn.sort_unstable();
            drawn.clone()
        } else {
            features.to_vec()
        }
    };
    let pass = Pass {
        data,
        grad,
        hess,
        rules: &rules.split,
        features,
        unit_hess,
        monotone,
    };
    // Leaves that will never split give their histograms back at once.
    let settle = |hist: &mut Option<Histogram>, split: &Option<Split>| {
        if split.is_none() {
            if let Some(h) = hist.take() {
                h.recycle();
            }
        }
    };
    let root = Side {
        rows,
        stats: root_stats,
        draw: can_split(0, &root_stats).then(&mut node_features),
        bounds: Bounds::none(),
    };
    let (mut root_hist, root_split) = if rows.len() >= HIST_MIN_ROWS {
        let mut h = Histogram::pooled(data.n_features());
        let (split, _) = pass.run(Plan::Build, &root, Some(&mut h), None, None);
        (Some(h), split)
    } else {
        let (split, _) = pass.run(Plan::None, &root, None, None, None);
        (None, split)
    };
    settle(&mut root_hist, &root_split);
    let mut open = Open::default();
    open.push(OpenLeaf {
        node: 0,
        start: 0,
        end: rows.len(),
        depth: 0,
        bounds: Bounds::none(),
        hist: root_hist,
        split: root_split,
    });
    let mut scratch = Vec::new();
    while open.len() < rules.max_leaves {
        let Some(leaf) = open.pop_best() else {
            break;
        };
        let split = leaf.split.expect("chosen leaves have a split");
        let codes = data.feature(split.feature);
        let mid = leaf.start
            + partition(
                &mut rows[leaf.start..leaf.end],
                codes,
                split.bin,
                split.default_left,
                &mut scratch,
            );
        let (left_id, right_id) = (nodes.len(), nodes.len() + 1);
        let (left_bounds, right_bounds) = leaf.bounds.children(
            monotone.get(split.feature).copied().unwrap_or(0),
            leaf.bounds.leaf_value(&rules.split, &split.left),
            leaf.bounds.leaf_value(&rules.split, &split.right),
        );
        nodes.push(leaf_node(&rules.split, &split.left, &left_bounds));
        nodes.push(leaf_node(&rules.split, &split.right, &right_bounds));
        let parent = &mut nodes[leaf.node];
        parent.feature = split.feature as u32;
        parent.bin = split.bin;
        parent.threshold = data.mappers()[split.feature].upper_bound(split.bin);
        parent.default_left = split.default_left;
        parent.left = left_id as u32;
        parent.right = right_id as u32;
        parent.gain = split.gain;

        // The larger child's histograms are the parent's minus the smaller child's: built
        // for a big smaller child, taken out row by row for a small one (no histogram of
        // its own). Children too small for histograms go without.
        let left_smaller = split.left.count <= split.right.count;
        let (small_range, small_stats, large_range, large_stats) = if left_smaller {
            (leaf.start..mid, split.left, mid..leaf.end, split.right)
        } else {
            (mid..leaf.end, split.right, leaf.start..mid, split.left)
        };
        let (small_bounds, large_bounds) = if left_smaller {
            (left_bounds, right_bounds)
        } else {
            (right_bounds, left_bounds)
        };
        let depth = leaf.depth + 1;
        // Features are drawn in a fixed order (smaller child first).
        let small = Side {
            rows: &rows[small_range.clone()],
            stats: small_stats,
            draw: can_split(depth, &small_stats).then(&mut node_features),
            bounds: small_bounds,
        };
        let large = Side {
            rows: &rows[large_range.clone()],
            stats: large_stats,
            draw: can_split(depth, &large_stats).then(&mut node_features),
            bounds: large_bounds,
        };
        let (mut small_hist, mut large_hist, small_split, large_split) = match leaf.hist {
            Some(mut parent) if large_range.len() >= HIST_MIN_ROWS => {
                if small_range.len() >= HIST_MIN_ROWS {
                    let mut h = Histogram::pooled(data.n_features());
                    let (s, l) = pass.run(
                        Plan::Build,
                        &small,
                        Some(&mut h),
                        Some(&large),
                        Some(&mut parent),
                    );
                    (Some(h), Some(parent), s, l)
                } else {
                    let (s, l) =
                        pass.run(Plan::Remove, &small, None, Some(&large), Some(&mut parent));
                    (None, Some(parent), s, l)
                }
            }
            hist => {
                if let Some(h) = hist {
                    h.recycle();
                }
                let (s, l) = pass.run(Plan::None, &small, None, Some(&large), None);
                (None, None, s, l)
            }
        };
        settle(&mut small_hist, &small_split);
        settle(&mut large_hist, &large_split);
        let small_leaf = OpenLeaf {
            node: if left_smaller { left_id } else { right_id },
            start: small_range.start,
            end: small_range.end,
            depth,
            bounds: small_bounds,
            hist: small_hist,
            split: small_split,
        };
        let large_leaf = OpenLeaf {
            node: if left_smaller { right_id } else { left_id },
            start: large_range.start,
            end: large_range.end,
            depth,
            bounds: large_bounds,
            hist: large_hist,
            split: large_split,
        };
        open.push(small_leaf);
        open.push(large_leaf);
    }
    let mut leaves: Vec<LeafRows> = open
        .heap
        .into_iter()
        .map(|c| c.0)
        .chain(open.done)
        .map(|l| {
            if let Some(h) = l.hist {
                h.recycle();
            }
            LeafRows {
                node: l.node,
                start: l.start,
                end: l.end,
            }
        })
        .collect();
    leaves.sort_by_key(|l| l.start);
    (Tree { nodes }, leaves)
}

fn leaf_node(rules: &SplitRules, stats: &NodeStats, bounds: &Bounds) -> Node {
    Node {
        feature: 0,
        threshold: f64::INFINITY,
        bin: 0,
        default_left: true,
        left: 0,
        right: 0,
        value: bounds.leaf_value(rules, stats),
        gain: 0.0,
        cover: stats.hess,
    }
}
