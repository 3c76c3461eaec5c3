//! A fitted regression tree: nodes in one vector (children by index), predicting on raw
//! feature values or on bin codes with the same result.

use serde::{Deserialize, Serialize};

use super::binning::{BinnedData, MISSING_BIN};

/// One node. Leaves have `left == right == 0` (the root is never a child).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Split feature (internal nodes).
    pub feature: u32,
    /// Values `<= threshold` go left (the bin's upper bound).
    pub threshold: f64,
    /// The same threshold as a bin code: codes `1..=bin` go left.
    pub bin: u8,
    /// Where missing values go.
    pub default_left: bool,
    /// Left child index.
    pub left: u32,
    /// Right child index.
    pub right: u32,
    /// Leaf output (already scaled by the learning rate), or the node's value if it were a
    /// leaf (kept for explanations).
    pub value: f64,
    /// Loss reduction of the split (0 for leaves).
    pub gain: f64,
    /// Sum of hessians of the training rows that reached the node (the cover, for TreeSHAP).
    pub cover: f64,
}

impl Node {
    /// Whether the node is a leaf.
    #[inline]
    pub fn is_leaf(&self) -> bool {
        self.left == 0
    }

    #[inline]
    fn goes_left(&self, value: f64) -> bool {
        if value.is_nan() {
            self.default_left
        } else {
            value <= self.threshold
        }
    }
}

/// A tree: `nodes[0]` is the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// All nodes, parents before children.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// Output for one row of raw features.
    #[inline]
    pub fn predict_row(&self, row: &[f64]) -> f64 {
        let mut i = 0;
        loop {
            let n = &self.nodes[i];
            if n.is_leaf() {
                return n.value;
            }
            i = if n.goes_left(row[n.feature as usize]) {
                n.left
            } else {
                n.right
            } as usize;
        }
    }

    /// Output for row `r` of binned data (same result as on the raw values).
    #[inline]
    pub fn predict_binned(&self, data: &BinnedData, r: usize) -> f64 {
        let mut i = 0;
        loop {
            let n = &self.nodes[i];
            if n.is_leaf() {
                return n.value;
            }
            let code = data.feature(n.feature as usize)[r];
            let left = if code == MISSING_BIN {
                n.default_left
            } else {
                code <= n.bin
            };
            i = if left { n.left } else { n.right } as usize;
        }
    }

    /// Number of leaves.
    pub fn n_leaves(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_leaf()).count()
    }

    /// Multiplies every node value (leaf outputs are learning-rate scaled after growth).
    pub(crate) fn scale(&mut self, factor: f64) {
        for n in &mut self.nodes {
            n.value *= factor;
        }
    }
}
