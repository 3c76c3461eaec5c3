//! Random forests: many deep trees, each grown on a bootstrap sample of the rows with a fresh
//! random subset of features tried at every split, averaged. Trees share one binning of the
//! data and the leaf-wise grower of [`grower`](super::grower); with gradients `-w*y` and
//! hessians `w` and no L2 penalty, a Newton leaf value is the weighted mean target of its
//! rows, which is exactly a regression (or, on 0/1 targets, probability) tree's leaf.

use ndarray::ArrayView2;
use rand::seq::index::sample;
use rand::{rngs::StdRng, Rng, SeedableRng};
use rand_distr::{Distribution, Poisson};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::binning::{BinMapper, BinnedData};
use super::compiled::{check_batch, check_row, CompiledTrees};
use super::grower::{grow, GrowRules};
use super::split::SplitRules;
use super::tree::Tree;
use crate::error::{Error, Result};

/// Rows per parallel task in batch prediction.
const PREDICT_CHUNK: usize = 1024;

/// What a forest predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForestTask {
    /// A real-valued target; the prediction is the mean of the trees' leaf means.
    #[default]
    Regression,
    /// 0/1 targets; the prediction is the mean of the trees' leaf shares of 1s, a
    /// probability in [0, 1].
    Binary,
}

/// How many features each split may try, drawn afresh at every node.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FeaturesRepr", into = "FeaturesRepr")]
pub enum FeaturesPerSplit {
    /// This share of the features (at least one), in (0, 1]; serialised as a number.
    Fraction(f64),
    /// The square root of the number of features (at least one); serialised as `"sqrt"`.
    Sqrt,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum FeaturesRepr {
    Fraction(f64),
    Name(String),
}

impl TryFrom<FeaturesRepr> for FeaturesPerSplit {
    type Error = String;

    fn try_from(r: FeaturesRepr) -> std::result::Result<Self, String> {
        match r {
            FeaturesRepr::Fraction(f) => Ok(FeaturesPerSplit::Fraction(f)),
            FeaturesRepr::Name(s) if s == "sqrt" => Ok(FeaturesPerSplit::Sqrt),
            FeaturesRepr::Name(s) => Err(format!(
                "features_per_split: expected a fraction in (0, 1] or \"sqrt\", got \"{s}\""
            )),
        }
    }
}

impl From<FeaturesPerSplit> for FeaturesRepr {
    fn from(f: FeaturesPerSplit) -> Self {
        match f {
            FeaturesPerSplit::Fraction(v) => FeaturesRepr::Fraction(v),
            FeaturesPerSplit::Sqrt => FeaturesRepr::Name("sqrt".into()),
        }
    }
}

impl FeaturesPerSplit {
    /// Features per split out of `n_features` (scikit-learn's rounding: down, at least 1).
    pub fn count(self, n_features: usize) -> usize {
        let k = match self {
            FeaturesPerSplit::Fraction(f) => (f * n_features as f64) as usize,
            FeaturesPerSplit::Sqrt => (n_features as f64).sqrt() as usize,
        };
        k.clamp(1, n_features.max(1))
    }
}

/// Which rows each tree sees, and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bootstrap {
    /// `sample_fraction * n` draws with replacement, as scikit-learn does; a row drawn
    /// twice counts twice.
    #[default]
    Sample,
    /// Each row counts a Poisson(`sample_fraction`) number of times, drawn independently
    /// per row (the online-bagging approximation of the bootstrap).
    Poisson,
    /// No resampling: every row once, or with `sample_fraction < 1` that share of the rows
    /// drawn without replacement (subsampling).
    None,
}

/// Forest settings. Defaults follow scikit-learn's forests (100 trees with no leaf or depth
/// limit, bootstrap samples of n draws, every feature tried per split for regression and the
/// square root of them for binary classification) except for `min_samples_leaf`: 5, as R's
/// randomForest uses for regression, instead of 1. On Friedman #1 (50,000 x 30) that gave
/// the same held-out error as scikit-learn's fully grown trees with a sixth of the leaves,
/// so models are six times smaller and faster to fit and to load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForestParams {
    /// Regression or binary classification.
    pub task: ForestTask,
    /// Number of trees, at least 1.
    pub trees: usize,
    /// Most leaves per tree: 0 (no limit) or at least 2.
    pub max_leaves: usize,
    /// Deepest level per tree; 0 means no limit.
    pub max_depth: usize,
    /// Fewest distinct training rows per leaf, at least 1 (1 grows trees until leaves are
    /// pure, as scikit-learn does).
    pub min_samples_leaf: u32,
    /// Features tried per split; `None` picks the task's default (all of them for
    /// regression, the square root for binary).
    pub features_per_split: Option<FeaturesPerSplit>,
    /// How each tree's rows are resampled.
    pub bootstrap: Bootstrap,
    /// Share of the rows each tree draws (see [`Bootstrap`]), in (0, 1].
    pub sample_fraction: f64,
    /// Bins per feature, 2..=255.
    pub max_bins: usize,
    /// Seed of every random choice (binning sample, bootstraps, per-split features).
    pub seed: u64,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            task: ForestTask::Regression,
            trees: 100,
            max_leaves: 0,
            max_depth: 0,
            min_samples_leaf: 5,
            features_per_split: None,
            bootstrap: Bootstrap::Sample,
            sample_fraction: 1.0,
            max_bins: 255,
            seed: 0,
        }
    }
}

impl ForestParams {
    fn validate(&self) -> Result<()> {
        let fail = |msg: String| Err(Error::InvalidArgument(msg));
        if self.trees == 0 {
            return fail("trees: expected at least 1, got 0".into());
        }
        if self.max_leaves == 1 {
            return fail("max_leaves: expected 0 (no limit) or at least 2, got 1".into());
        }
        if self.min_samples_leaf == 0 {
            return fail("min_samples_leaf: expected at least 1, got 0".into());
        }
        let unit = |v: f64| v.is_finite() && v > 0.0 && v <= 1.0;
        if !unit(self.sample_fraction) {
            return fail(format!(
                "sample_fraction: expected a number in (0, 1], got {}",
                self.sample_fraction
            ));
        }
        if let Some(FeaturesPerSplit::Fraction(f)) = self.features_per_split {
            if !unit(f) {
                return fail(format!(
                    "features_per_split: expected a fraction in (0, 1] or \"sqrt\", got {f}"
                ));
            }
        }
        if !(2..=255).contains(&self.max_bins) {
            return fail(format!("max_bins: expected 2..=255, got {}", self.max_bins));
        }
        Ok(())
    }

    /// The features-per-split rule in effect (the task's default when unset).
    pub fn features_rule(&self) -> FeaturesPerSplit {
        self.features_per_split.unwrap_or(match self.task {
            ForestTask::Regression => FeaturesPerSplit::Fraction(1.0),
            ForestTask::Binary => FeaturesPerSplit::Sqrt,
        })
    }

    fn grow_rules(&self, n_features: usize, seed: u64) -> GrowRules {
        let k = self.features_rule().count(n_features);
        GrowRules {
            max_leaves: if self.max_leaves == 0 {
                usize::MAX
            } else {
                self.max_leaves
            },
            max_depth: self.max_depth,
            split: SplitRules {
                lambda_l2: 0.0,
                // Only rows with positive weight are grown on, so a non-empty child always
                // has positive hessian and a finite mean.
                min_child_weight: 0.0,
                min_samples_leaf: self.min_samples_leaf,
                min_split_gain: 0.0,
            },
            features_per_split: if k >= n_features { 0 } else { k },
            seed,
        }
    }
}

/// A fitted random forest.
///
/// ```
/// use ndarray::Array2;
/// use tenantml::trees::forest::{Forest, ForestParams, ForestTask};
/// let x = Array2::from_shape_fn((300, 2), |(i, j)| ((i * (j + 3)) % 17) as f64);
/// let y: Vec<f64> = x.rows().into_iter().map(|r| 2.0 * r[0] - r[1]).collect();
/// let model = Forest::fit(x.view(), &y, None, &ForestParams { trees: 30, ..Default::default() })?;
/// assert!((model.predict_row(&[10.0, 3.0])? - 17.0).abs() < 2.0);
/// assert!(model.oob_score().unwrap() > 0.9);
///
/// let labels: Vec<f64> = y.iter().map(|&v| f64::from(v > 10.0)).collect();
/// let params = ForestParams { task: ForestTask::Binary, trees: 30, ..Default::default() };
/// let clf = Forest::fit(x.view(), &labels, None, &params)?;
/// assert!(clf.predict_row(&[15.0, 1.0])? > 0.5);
/// # Ok::<(), tenantml::Error>(())
/// ```
// Not serde: persisted by the model file format, which rebuilds `compiled` (from_parts).
#[derive(Debug, Clone, PartialEq)]
pub struct Forest {
    params: ForestParams,
    trees: Vec<Tree>,
    mappers: Vec<BinMapper>,
    importance_gain: Vec<f64>,
    importance_splits: Vec<u32>,
    oob_predictions: Option<Vec<f64>>,
    oob_score: Option<f64>,
    compiled: CompiledTrees,
}

/// splitmix64's finaliser: decorrelates seeds that differ in a few bits (tree indices).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// How many times each of `n` rows is in one tree's sample.
fn draw_counts(params: &ForestParams, n: usize, rng: &mut StdRng) -> Vec<u32> {
    let draws = ((n as f64 * params.sample_fraction).round() as usize).clamp(1, n);
    match params.bootstrap {
        Bootstrap::Sample => {
            let mut counts = vec![0u32; n];
            for _ in 0..draws {
                counts[rng.gen_range(0..n)] += 1;
            }
            counts
        }
        Bootstrap::Poisson => {
            let poisson = Poisson::new(params.sample_fraction).expect("validated rate");
            (0..n).map(|_| poisson.sample(rng) as u32).collect()
        }
        Bootstrap::None if draws == n => vec![1; n],
        Bootstrap::None => {
            let mut counts = vec![0u32; n];
            for r in sample(rng, n, draws) {
                counts[r] = 1;
            }
            counts
        }
    }
}

/// One tree: its bootstrap, growth, and its predictions for the rows it did not see.
fn fit_tree(
    data: &BinnedData,
    y: &[f64],
    weights: Option<&[f64]>,
    params: &ForestParams,
    index: usize,
) -> (Tree, Vec<(u32, f64)>) {
    let n = y.len();
    // Each tree's randomness depends only on (seed, index): trees can be grown in any
    // order on any number of threads with the same result.
    let seed = mix(params.seed ^ mix(index as u64));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut counts = draw_counts(params, n, &mut rng);
    let weight = |r: usize| weights.map_or(1.0, |w| w[r]);
    let mut grad = vec![0.0; n];
    let mut hess = vec![0.0; n];
    let mut rows: Vec<u32> = Vec::with_capacity(n);
    for (r, &c) in counts.iter().enumerate() {
        let w = f64::from(c) * weight(r);
        if w > 0.0 {
            rows.push(r as u32);
            grad[r] = -w * y[r];
            hess[r] = w;
        }
    }
    if rows.is_empty() {
        // A tiny sample can miss every row of positive weight; fitting those rows once keeps
        // the tree's value a finite mean. They are then in-bag, not out-of-bag.
        for r in (0..n).filter(|&r| weight(r) > 0.0) {
            counts[r] = 1;
            rows.push(r as u32);
            grad[r] = -weight(r) * y[r];
            hess[r] = weight(r);
        }
    }
    let features: Vec<usize> = (0..data.n_features()).collect();
    let rules = params.grow_rules(data.n_features(), mix(seed));
    let (tree, _) = grow(data, &mut rows, &grad, &hess, &features, &rules);
    let oob = (0..n)
        .filter(|&r| counts[r] == 0)
        .map(|r| (r as u32, tree.predict_binned(data, r)))
        .collect();
    (tree, oob)
}

fn check_inputs(
    x: &ArrayView2<f64>,
    y: &[f64],
    weights: Option<&[f64]>,
    task: ForestTask,
) -> Result<()> {
    let fail = |msg: String| Err(Error::InvalidArgument(msg));
    if x.nrows() == 0 || x.ncols() == 0 {
        return fail(format!(
            "training data is empty ({} rows x {} features)",
            x.nrows(),
            x.ncols()
        ));
    }
    if x.nrows() != y.len() {
        return fail(format!(
            "training data has {} rows but {} targets",
            x.nrows(),
            y.len()
        ));
    }
    let bad_target = match task {
        ForestTask::Regression => y.iter().position(|v| !v.is_finite()),
        ForestTask::Binary => y.iter().position(|&v| v != 0.0 && v != 1.0),
    };
    if let Some(i) = bad_target {
        let expected = match task {
            ForestTask::Regression => "a finite number",
            ForestTask::Binary => "0 or 1 (task binary)",
        };
        return fail(format!("target {i}: expected {expected}, got {}", y[i]));
    }
    if let Some(w) = weights {
        if w.len() != y.len() {
            return fail(format!("weights: {} for {} rows", w.len(), y.len()));
        }
        if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return fail(format!(
                "weight {i}: expected a finite number >= 0, got {}",
                w[i]
            ));
        }
        if w.iter().sum::<f64>() <= 0.0 {
            return fail("weights: expected a positive sum, got 0".into());
        }
    }
    Ok(())
}

impl Forest {
    /// Fits on rows `x` (NaN = missing) and targets `y` (0/1 for [`ForestTask::Binary`]),
    /// with optional sample weights. Trees are grown in parallel on the current rayon pool;
    /// the model does not depend on the number of threads.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for invalid `params`, empty or mismatched data, targets
    /// that are not finite (or not 0/1 for a binary task), or weights that are negative,
    /// not finite, or all zero.
    pub fn fit(
        x: ArrayView2<f64>,
        y: &[f64],
        weights: Option<&[f64]>,
        params: &ForestParams,
    ) -> Result<Forest> {
        Forest::fit_with_progress(x, y, weights, params, &|_, _| {})
    }

    /// [`Forest::fit`], calling `progress(trees_done, trees)` as trees finish (from the
    /// worker threads, in completion order).
    pub fn fit_with_progress(
        x: ArrayView2<f64>,
        y: &[f64],
        weights: Option<&[f64]>,
        params: &ForestParams,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Forest> {
        params.validate()?;
        check_inputs(&x, y, weights, params.task)?;
        let data = BinnedData::fit(x, params.max_bins, params.seed)?;
        let done = std::sync::atomic::AtomicUsize::new(0);
        let grown: Vec<(Tree, Vec<(u32, f64)>)> = (0..params.trees)
            .into_par_iter()
            .map(|t| {
                let tree = fit_tree(&data, y, weights, params, t);
                let finished = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(finished, params.trees);
                tree
            })
            .collect();
        let n = y.len();
        let mut oob_sum = vec![0.0; n];
        let mut oob_count = vec![0u32; n];
        let mut trees = Vec::with_capacity(grown.len());
        // Summed in tree order, so OOB results are identical for any thread count.
        for (tree, oob) in grown {
            for (r, p) in oob {
                oob_sum[r as usize] += p;
                oob_count[r as usize] += 1;
            }
            trees.push(tree);
        }
        let oob: Vec<f64> = oob_sum
            .iter()
            .zip(&oob_count)
            .map(|(&s, &c)| if c == 0 { f64::NAN } else { s / f64::from(c) })
            .collect();
        let oob_score = match params.task {
            ForestTask::Regression => r2_where_finite(y, &oob),
            ForestTask::Binary => auc_where_finite(y, &oob),
        };
        let (gain, splits) = importances(&trees, x.ncols());
        let mut model = Forest::from_parts(
            params.clone(),
            trees,
            data.mappers().to_vec(),
            gain,
            splits,
            oob_score,
        )?;
        model.oob_predictions = Some(oob);
        Ok(model)
    }

    /// Rebuilds a fitted forest from stored parts (the model file loader), checking that
    /// they fit together. Out-of-bag predictions are not stored, only the score.
    pub(crate) fn from_parts(
        params: ForestParams,
        trees: Vec<Tree>,
        mappers: Vec<BinMapper>,
        importance_gain: Vec<f64>,
        importance_splits: Vec<u32>,
        oob_score: Option<f64>,
    ) -> Result<Forest> {
        let bad = |msg: String| Error::BadModelFile(format!("forest: {msg}"));
        params
            .validate()
            .map_err(|e| bad(format!("bad params: {e}")))?;
        let n_features = mappers.len();
        if trees.is_empty() || n_features == 0 {
            return Err(bad(format!(
                "{} trees over {n_features} features",
                trees.len()
            )));
        }
        if importance_gain.len() != n_features || importance_splits.len() != n_features {
            return Err(bad(format!(
                "importances for {}/{} features, model has {n_features}",
                importance_gain.len(),
                importance_splits.len()
            )));
        }
        for (t, tree) in trees.iter().enumerate() {
            let len = tree.nodes.len();
            let broken = tree.nodes.is_empty()
                || tree.nodes.iter().enumerate().any(|(i, nd)| {
                    !nd.is_leaf()
                        && (nd.feature as usize >= n_features
                            || nd.left as usize <= i
                            || nd.right as usize <= i
                            || nd.left as usize >= len
                            || nd.right as usize >= len)
                });
            if broken {
                return Err(bad(format!(
                    "tree {t} has a dangling child or an unknown feature"
                )));
            }
        }
        let compiled = CompiledTrees::new(&trees);
        Ok(Forest {
            params,
            trees,
            mappers,
            importance_gain,
            importance_splits,
            oob_predictions: None,
            oob_score,
            compiled,
        })
    }

    /// Prediction for one row: the mean of the trees' outputs (a probability for
    /// [`ForestTask::Binary`]). Bit-equal to the same row's [`predict`](Self::predict).
    pub fn predict_row(&self, row: &[f64]) -> Result<f64> {
        check_row(row.len(), self.n_features())?;
        // Same operations as `predict`: the tree sum from 0, then one division.
        Ok(self.compiled.row_sum(0.0, row) / self.trees.len() as f64)
    }

    /// Predictions for every row of `x`, written into `out`. From `2 * 1024` rows on,
    /// chunks of rows are scored in parallel on the current rayon pool; every answer is
    /// bit-equal to [`predict_row`](Self::predict_row)'s.
    pub fn predict(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        check_batch(x.nrows(), x.ncols(), out.len(), self.n_features())?;
        let x = x.as_standard_layout();
        let rows = x.as_slice().expect("standard layout is contiguous");
        let n_features = self.n_features();
        let n_trees = self.trees.len() as f64;
        let score = |(rows, out): (&[f64], &mut [f64])| {
            out.fill(0.0);
            self.compiled.add_batch(rows, n_features, out);
            for o in out.iter_mut() {
                *o /= n_trees;
            }
        };
        // Deep forest trees miss cache on most steps, so a batch is memory-latency bound and
        // gains from more cores; each row's sum is the same whichever chunk it lands in.
        if x.nrows() >= 2 * PREDICT_CHUNK {
            rows.par_chunks(PREDICT_CHUNK * n_features)
                .zip(out.par_chunks_mut(PREDICT_CHUNK))
                .for_each(score);
        } else {
            score((rows, out));
        }
        Ok(())
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.mappers.len()
    }

    /// The trees; each leaf holds the (weighted) mean target of its bootstrap rows, and the
    /// forest predicts their average.
    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }

    /// The per-feature binnings the trees were grown on.
    pub fn mappers(&self) -> &[BinMapper] {
        &self.mappers
    }

    /// Settings used to fit.
    pub fn params(&self) -> &ForestParams {
        &self.params
    }

    /// Total split gain (weighted squared-error reduction) per feature, over all trees.
    pub fn importance_gain(&self) -> &[f64] {
        &self.importance_gain
    }

    /// Number of splits per feature, over all trees.
    pub fn importance_splits(&self) -> &[u32] {
        &self.importance_splits
    }

    /// For each training row, the mean output of the trees that did not see it (NaN when
    /// every tree saw it). `None` for a model rebuilt from a file, which does not keep them.
    pub fn oob_predictions(&self) -> Option<&[f64]> {
        self.oob_predictions.as_deref()
    }

    /// Out-of-bag R^2 (regression) or ROC AUC (binary), unweighted as in scikit-learn, over
    /// the rows that have an out-of-bag prediction. `None` when undefined: fewer than two
    /// such rows, constant targets among them, or only one class.
    pub fn oob_score(&self) -> Option<f64> {
        self.oob_score
    }
}

fn importances(trees: &[Tree], n_features: usize) -> (Vec<f64>, Vec<u32>) {
    let mut gain = vec![0.0; n_features];
    let mut splits = vec![0u32; n_features];
    for node in trees.iter().flat_map(|t| &t.nodes).filter(|n| !n.is_leaf()) {
        gain[node.feature as usize] += node.gain;
        splits[node.feature as usize] += 1;
    }
    (gain, splits)
}

fn finite_pairs(y: &[f64], p: &[f64]) -> (Vec<f64>, Vec<f64>) {
    y.iter()
        .zip(p)
        .filter(|(_, p)| p.is_finite())
        .map(|(&y, &p)| (y, p))
        .unzip()
}

/// R^2 over rows whose prediction is finite.
fn r2_where_finite(y: &[f64], p: &[f64]) -> Option<f64> {
    let (y, p) = finite_pairs(y, p);
    if y.len() < 2 {
        return None;
    }
    Some(super::metrics::r2(&y, &p)).filter(|v| v.is_finite())
}

fn auc_where_finite(y: &[f64], p: &[f64]) -> Option<f64> {
    let (y, p) = finite_pairs(y, p);
    Some(super::metrics::roc_auc(&y, &p)).filter(|v| v.is_finite())
}
