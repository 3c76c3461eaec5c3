//! Grows one tree leaf-wise (best-first, as LightGBM does): always split the open leaf with
//! the largest gain until `max_leaves`. Rows of each leaf stay a contiguous range of one
//! index buffer, so a split is a stable partition of that range, and each split builds the
//! histogram of the smaller child only (the larger is parent minus smaller).

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::SeedableRng;

use super::binning::{BinnedData, MISSING_BIN};
use super::histogram::Histogram;
use super::split::{NodeStats, Split, SplitRules};
use super::tree::{Node, Tree};

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
    hist: Histogram,
    split: Option<Split>,
}

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
    let n_bins = |f: usize| data.mappers()[f].n_bins();
    let mut root_stats = NodeStats::default();
    for &r in rows.iter() {
        root_stats.grad += grad[r as usize];
        root_stats.hess += hess[r as usize];
    }
    root_stats.count = rows.len() as u32;
    let mut nodes = vec![leaf_node(&rules.split, &root_stats)];
    let mut root_hist = Histogram::new(data.n_features());
    root_hist.build(data, rows, grad, hess, features);
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
    let root_split = if can_split(0, &root_stats) {
        rules
            .split
            .best_split(&root_hist, &root_stats, &node_features(), n_bins)
    } else {
        None
    };
    let mut open = vec![OpenLeaf {
        node: 0,
        start: 0,
        end: rows.len(),
        depth: 0,
        hist: root_hist,
        split: root_split,
    }];
    let mut scratch = Vec::new();
    while open.len() < rules.max_leaves {
        // The open leaf with the largest gain; ties go to the earliest node (deterministic).
        let Some(best) = open
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.split.map(|s| (i, s.gain, l.node)))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.2.cmp(&a.2)))
            .map(|(i, _, _)| i)
        else {
            break;
        };
        let leaf = open.swap_remove(best);
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
        nodes.push(leaf_node(&rules.split, &split.left));
        nodes.push(leaf_node(&rules.split, &split.right));
        let parent = &mut nodes[leaf.node];
        parent.feature = split.feature as u32;
        parent.bin = split.bin;
        parent.threshold = data.mappers()[split.feature].upper_bound(split.bin);
        parent.default_left = split.default_left;
        parent.left = left_id as u32;
        parent.right = right_id as u32;
        parent.gain = split.gain;

        // Build the smaller child's histograms; the larger one's are the parent's minus them.
        let left_smaller = split.left.count <= split.right.count;
        let (small_range, small_stats) = if left_smaller {
            (leaf.start..mid, split.left)
        } else {
            (mid..leaf.end, split.right)
        };
        let mut small = Histogram::new(data.n_features());
        small.build(data, &rows[small_range], grad, hess, features);
        let mut large = leaf.hist;
        large.subtract_in_place(&small, features);
        let large_stats = if left_smaller {
            split.right
        } else {
            split.left
        };
        let depth = leaf.depth + 1;
        let mut find = |hist: &Histogram, stats: &NodeStats| {
            if can_split(depth, stats) {
                rules
                    .split
                    .best_split(hist, stats, &node_features(), n_bins)
            } else {
                None
            }
        };
        let small_split = find(&small, &small_stats);
        let large_split = find(&large, &large_stats);
        let (left_hist, left_split, right_hist, right_split) = if left_smaller {
            (small, small_split, large, large_split)
        } else {
            (large, large_split, small, small_split)
        };
        open.push(OpenLeaf {
            node: left_id,
            start: leaf.start,
            end: mid,
            depth,
            hist: left_hist,
            split: left_split,
        });
        open.push(OpenLeaf {
            node: right_id,
            start: mid,
            end: leaf.end,
            depth,
            hist: right_hist,
            split: right_split,
        });
    }
    let mut leaves: Vec<LeafRows> = open
        .iter()
        .map(|l| LeafRows {
            node: l.node,
            start: l.start,
            end: l.end,
        })
        .collect();
    leaves.sort_by_key(|l| l.start);
    (Tree { nodes }, leaves)
}

fn leaf_node(rules: &SplitRules, stats: &NodeStats) -> Node {
    Node {
        feature: 0,
        threshold: f64::INFINITY,
        bin: 0,
        default_left: true,
        left: 0,
        right: 0,
        value: rules.leaf_value(stats),
        gain: 0.0,
        cover: stats.hess,
    }
}

/// Stable partition of `rows` by the split; returns the number of rows going left.
fn partition(
    rows: &mut [u32],
    codes: &[u8],
    bin: u8,
    default_left: bool,
    scratch: &mut Vec<u32>,
) -> usize {
    scratch.clear();
    let mut n_left = 0;
    for i in 0..rows.len() {
        let r = rows[i];
        let code = codes[r as usize];
        let left = if code == MISSING_BIN {
            default_left
        } else {
            code <= bin
        };
        if left {
            rows[n_left] = r;
            n_left += 1;
        } else {
            scratch.push(r);
        }
    }
    rows[n_left..].copy_from_slice(scratch);
    n_left
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn rules(max_leaves: usize) -> GrowRules {
        GrowRules {
            max_leaves,
            max_depth: 0,
            split: SplitRules {
                lambda_l2: 0.0,
                min_child_weight: 0.0,
                min_samples_leaf: 1,
                min_split_gain: 0.0,
            },
            features_per_split: 0,
            seed: 0,
        }
    }

    #[test]
    fn grows_best_first_and_reports_leaf_rows() {
        // y = 0 for x < 4, 10 for 4..8, 11 for x >= 8: the big gap splits first.
        let x: Vec<f64> = (0..12).map(f64::from).collect();
        let y: Vec<f64> = x
            .iter()
            .map(|&v| {
                if v < 4.0 {
                    0.0
                } else if v < 8.0 {
                    10.0
                } else {
                    11.0
                }
            })
            .collect();
        let data = BinnedData::fit(
            Array2::from_shape_vec((12, 1), x.clone()).unwrap().view(),
            255,
            0,
        )
        .unwrap();
        let grad: Vec<f64> = y.iter().map(|v| -v).collect();
        let hess = vec![1.0; 12];
        let mut rows: Vec<u32> = (0..12).collect();
        let (tree, leaves) = grow(&data, &mut rows, &grad, &hess, &[0], &rules(3));
        assert_eq!(tree.n_leaves(), 3);
        assert_eq!(tree.nodes[0].threshold, 3.5);
        for (i, &v) in x.iter().enumerate() {
            assert_eq!(tree.predict_row(&[v]), y[i], "x={v}");
            assert_eq!(tree.predict_binned(&data, i), y[i]);
        }
        let covered: usize = leaves.iter().map(|l| l.end - l.start).sum();
        assert_eq!(covered, 12);
        for l in &leaves {
            for &r in &rows[l.start..l.end] {
                assert_eq!(tree.nodes[l.node].value, y[r as usize]);
            }
        }
    }

    #[test]
    fn depth_and_leaf_limits_hold() {
        let x: Vec<f64> = (0..64).map(f64::from).collect();
        let data = BinnedData::fit(
            Array2::from_shape_vec((64, 1), x.clone()).unwrap().view(),
            255,
            0,
        )
        .unwrap();
        let grad: Vec<f64> = x.iter().map(|v| -(v * v)).collect();
        let hess = vec![1.0; 64];
        let mut rows: Vec<u32> = (0..64).collect();
        let (tree, _) = grow(
            &data,
            &mut rows,
            &grad,
            &hess,
            &[0],
            &GrowRules {
                max_depth: 2,
                ..rules(31)
            },
        );
        assert_eq!(tree.n_leaves(), 4);
        let mut rows: Vec<u32> = (0..64).collect();
        let (tree, _) = grow(&data, &mut rows, &grad, &hess, &[0], &rules(7));
        assert_eq!(tree.n_leaves(), 7);
    }
}

#[cfg(test)]
mod sampling_tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn per_split_sampling_limits_each_node_and_is_seeded() {
        // Only feature 2 carries signal; with one feature per split, some nodes must settle
        // for a noise feature, and the same seed grows the same tree.
        let n = 400;
        let x = Array2::from_shape_fn((n, 4), |(i, j)| {
            if j == 2 {
                i as f64
            } else {
                ((i as u64 * 2_654_435_761 + j as u64 * 97) % 1009) as f64
            }
        });
        let data = BinnedData::fit(x.view(), 255, 0).unwrap();
        let grad: Vec<f64> = (0..n).map(|i| -x[[i, 2]]).collect();
        let hess = vec![1.0; n];
        let rules = |seed| GrowRules {
            max_leaves: 16,
            max_depth: 0,
            split: SplitRules {
                lambda_l2: 0.0,
                min_child_weight: 0.0,
                min_samples_leaf: 5,
                min_split_gain: 0.0,
            },
            features_per_split: 1,
            seed,
        };
        let features = [0, 1, 2, 3];
        let grow_with = |seed| {
            let mut rows: Vec<u32> = (0..n as u32).collect();
            grow(&data, &mut rows, &grad, &hess, &features, &rules(seed)).0
        };
        let a = grow_with(7);
        assert_eq!(a, grow_with(7));
        let used: std::collections::BTreeSet<u32> = a
            .nodes
            .iter()
            .filter(|nd| !nd.is_leaf())
            .map(|nd| nd.feature)
            .collect();
        assert!(
            used.len() > 1,
            "one feature per split should mix features: {used:?}"
        );
        let mut rows: Vec<u32> = (0..n as u32).collect();
        let all = grow(
            &data,
            &mut rows,
            &grad,
            &hess,
            &features,
            &GrowRules {
                features_per_split: 0,
                ..rules(7)
            },
        )
        .0;
        assert!(all
            .nodes
            .iter()
            .filter(|nd| !nd.is_leaf())
            .all(|nd| nd.feature == 2));
    }
}
