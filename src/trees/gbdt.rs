//! Gradient boosting: each round fits a tree to the loss's gradients (Newton leaf values)
//! and adds it, scaled by the learning rate, to the running scores.

use ndarray::ArrayView2;
use rand::seq::index::sample;
use rand::{rngs::StdRng, Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::binning::{BinMapper, BinnedData};
use super::compiled::{check_batch, check_row, CompiledTrees};
use super::grower::{grow_monotone, GrowRules};
use super::objective::{renew_leaves_to_median, Objective};
use super::split::SplitRules;
use super::tree::Tree;
use crate::error::{Error, Result};

/// Boosting settings. Defaults follow LightGBM's (31 leaves, learning rate 0.1, 20 rows
/// per leaf, 255 bins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GbdtParams {
    /// The loss.
    pub objective: Objective,
    /// Boosting rounds (trees), at least 1.
    pub rounds: usize,
    /// Shrinkage applied to every tree, in (0, 1].
    pub learning_rate: f64,
    /// Most leaves per tree, at least 2.
    pub max_leaves: usize,
    /// Deepest level per tree; 0 means no limit.
    pub max_depth: usize,
    /// Fewest rows per leaf.
    pub min_samples_leaf: u32,
    /// Least hessian per leaf.
    pub min_child_weight: f64,
    /// L2 penalty on leaf values.
    pub lambda_l2: f64,
    /// Least loss reduction for a split.
    pub min_split_gain: f64,
    /// Share of features each tree may use, in (0, 1].
    pub feature_fraction: f64,
    /// Share of rows each tree is fitted on, in (0, 1].
    pub bagging_fraction: f64,
    /// Bins per feature, 2..=255.
    pub max_bins: usize,
    /// Stop when the validation loss has not improved for this many rounds, and keep the
    /// best round's trees. Without a validation set, `validation_fraction` of the rows is
    /// held out for it.
    pub early_stopping_rounds: Option<usize>,
    /// Internal holdout share for early stopping without a validation set, in (0, 0.5].
    pub validation_fraction: f64,
    /// Seed of every random choice (bagging, feature sampling, holdout, binning sample).
    pub seed: u64,
    /// Monotone constraint per feature: `1` the prediction never falls as the feature
    /// rises, `-1` never rises, `0` free (see [`monotone`](super::monotone)). Empty (the
    /// default) constrains nothing; otherwise one value per feature. Not with the
    /// absolute-error objective, whose leaf renewal would undo it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub monotone_constraints: Vec<i8>,
}

impl Default for GbdtParams {
    fn default() -> Self {
        GbdtParams {
            objective: Objective::SquaredError,
            rounds: 100,
            learning_rate: 0.1,
            max_leaves: 31,
            max_depth: 0,
            min_samples_leaf: 20,
            min_child_weight: 1e-3,
            lambda_l2: 0.0,
            min_split_gain: 0.0,
            feature_fraction: 1.0,
            bagging_fraction: 1.0,
            max_bins: 255,
            early_stopping_rounds: None,
            validation_fraction: 0.1,
            seed: 0,
            monotone_constraints: Vec::new(),
        }
    }
}

impl GbdtParams {
    fn validate(&self) -> Result<()> {
        let fail = |msg: String| Err(Error::InvalidArgument(msg));
        let unit = |name: &str, v: f64, hi: f64| -> Result<()> {
            if v.is_finite() && v > 0.0 && v <= hi {
                Ok(())
            } else {
                Err(Error::InvalidArgument(format!(
                    "{name} must be in (0, {hi}], got {v}"
                )))
            }
        };
        if self.rounds == 0 {
            return fail("rounds must be at least 1, got 0".into());
        }
        unit("learning_rate", self.learning_rate, 1.0)?;
        unit("feature_fraction", self.feature_fraction, 1.0)?;
        unit("bagging_fraction", self.bagging_fraction, 1.0)?;
        unit("validation_fraction", self.validation_fraction, 0.5)?;
        if self.max_leaves < 2 {
            return fail(format!(
                "max_leaves must be at least 2, got {}",
                self.max_leaves
            ));
        }
        if !(2..=255).contains(&self.max_bins) {
            return fail(format!(
                "max_bins must be in 2..=255, got {}",
                self.max_bins
            ));
        }
        for (name, v) in [
            ("min_child_weight", self.min_child_weight),
            ("lambda_l2", self.lambda_l2),
            ("min_split_gain", self.min_split_gain),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return fail(format!("{name} must be a finite number >= 0, got {v}"));
            }
        }
        if self.early_stopping_rounds == Some(0) {
            return fail("early_stopping_rounds must be at least 1 when given".into());
        }
        super::monotone::check(&self.monotone_constraints, None)?;
        if self.objective == Objective::AbsoluteError
            && self.monotone_constraints.iter().any(|&d| d != 0)
        {
            return fail(
                "monotone_constraints do not work with the absolute_error objective".into(),
            );
        }
        Ok(())
    }

    fn grow_rules(&self) -> GrowRules {
        GrowRules {
            max_leaves: self.max_leaves,
            max_depth: self.max_depth,
            split: SplitRules {
                lambda_l2: self.lambda_l2,
                min_child_weight: self.min_child_weight,
                min_samples_leaf: self.min_samples_leaf.max(1),
                min_split_gain: self.min_split_gain,
            },
            features_per_split: 0,
            seed: self.seed,
        }
    }
}

/// A fitted gradient-boosted ensemble.
///
/// ```
/// use ndarray::Array2;
/// use tenantml::trees::gbdt::{Gbdt, GbdtParams};
/// let x = Array2::from_shape_fn((200, 2), |(i, j)| ((i * (j + 3)) % 17) as f64);
/// let y: Vec<f64> = x.rows().into_iter().map(|r| 2.0 * r[0] - r[1]).collect();
/// let model = Gbdt::fit(x.view(), &y, None, None, &GbdtParams { rounds: 50, min_samples_leaf: 2, ..Default::default() })?;
/// let p = model.predict_row(&[10.0, 3.0])?;
/// assert!((p - 17.0).abs() < 2.0);
/// # Ok::<(), tenantml::Error>(())
/// ```
// Persisted through `GbdtParts` so the compiled trees are rebuilt (after validation) on load
// instead of being trusted from a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "GbdtParts", try_from = "GbdtParts")]
pub struct Gbdt {
    params: GbdtParams,
    base_score: f64,
    trees: Vec<Tree>,
    mappers: Vec<BinMapper>,
    importance_gain: Vec<f64>,
    importance_splits: Vec<u32>,
    best_round: Option<usize>,
    train_loss: Vec<f64>,
    valid_loss: Vec<f64>,
    compiled: CompiledTrees,
}

fn check_matrix(x: &ArrayView2<f64>, n_targets: usize, what: &str) -> Result<()> {
    if x.nrows() == 0 || x.ncols() == 0 {
        return Err(Error::InvalidArgument(format!(
            "{what} is empty ({} rows x {} features)",
            x.nrows(),
            x.ncols()
        )));
    }
    if x.nrows() != n_targets {
        return Err(Error::InvalidArgument(format!(
            "{what} has {} rows but {n_targets} targets",
            x.nrows()
        )));
    }
    Ok(())
}

impl Gbdt {
    /// Fits on rows `x` (NaN = missing) and targets `y`, with optional sample weights and an
    /// optional validation set for early stopping.
    pub fn fit(
        x: ArrayView2<f64>,
        y: &[f64],
        weights: Option<&[f64]>,
        valid: Option<(ArrayView2<f64>, &[f64])>,
        params: &GbdtParams,
    ) -> Result<Gbdt> {
        Gbdt::fit_with_progress(x, y, weights, valid, params, &|_, _| {})
    }

    /// [`Gbdt::fit`], calling `progress(rounds_done, rounds)` after every round (for progress
    /// bars; early stopping may end before `rounds`). Fitting runs on a rayon pool thread, so
    /// `progress` is called from there.
    pub fn fit_with_progress(
        x: ArrayView2<f64>,
        y: &[f64],
        weights: Option<&[f64]>,
        valid: Option<(ArrayView2<f64>, &[f64])>,
        params: &GbdtParams,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Gbdt> {
        // Run on a pool thread: called from outside the pool, every parallel part of a tree
        // would be handed to the pool and waited for, and the serial parts between them
        // would run on a third thread while both workers sleep.
        rayon::scope(|_| Gbdt::fit_in_pool(x, y, weights, valid, params, progress))
    }

    fn fit_in_pool(
        x: ArrayView2<f64>,
        y: &[f64],
        weights: Option<&[f64]>,
        valid: Option<(ArrayView2<f64>, &[f64])>,
        params: &GbdtParams,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Gbdt> {
        params.validate()?;
        check_matrix(&x, y.len(), "training data")?;
        super::monotone::check(&params.monotone_constraints, Some(x.ncols()))?;
        params.objective.check_targets(y)?;
        if let Some(w) = weights {
            if w.len() != y.len() {
                return Err(Error::InvalidArgument(format!(
                    "{} weights for {} rows",
                    w.len(),
                    y.len()
                )));
            }
            if let Some((i, v)) = w
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
            {
                return Err(Error::InvalidArgument(format!(
                    "weight {i} must be a finite number >= 0, got {v}"
                )));
            }
            if w.iter().sum::<f64>() <= 0.0 {
                return Err(Error::InvalidArgument("weights sum to zero".into()));
            }
        }
        if let Some((vx, vy)) = &valid {
            check_matrix(vx, vy.len(), "validation data")?;
            if vx.ncols() != x.ncols() {
                return Err(Error::InvalidArgument(format!(
                    "validation data has {} features, training data {}",
                    vx.ncols(),
                    x.ncols()
                )));
            }
            params.objective.check_targets(vy)?;
        }

        let data = BinnedData::fit(x, params.max_bins, params.seed)?;
        let mut rng = StdRng::seed_from_u64(params.seed);
        let n = y.len();
        // Rows that trees are fitted on; with early stopping and no validation set, a seeded
        // holdout is left out and scored like a validation set.
        let mut train_rows: Vec<u32> = (0..n as u32).collect();
        let mut holdout: Vec<u32> = Vec::new();
        if params.early_stopping_rounds.is_some() && valid.is_none() {
            let k = ((n as f64 * params.validation_fraction).round() as usize)
                .clamp(1, n.saturating_sub(1).max(1));
            if n < 2 {
                return Err(Error::InvalidArgument(
                    "early stopping without a validation set needs at least 2 rows".into(),
                ));
            }
            let mut picked: Vec<u32> = sample(&mut rng, n, k)
                .into_iter()
                .map(|i| i as u32)
                .collect();
            picked.sort_unstable();
            let mut is_holdout = vec![false; n];
            for &r in &picked {
                is_holdout[r as usize] = true;
            }
            train_rows.retain(|&r| !is_holdout[r as usize]);
            holdout = picked;
        }
        let train_y: Vec<f64>;
        let train_w: Option<Vec<f64>>;
        let (base_y, base_w): (&[f64], Option<&[f64]>) = if holdout.is_empty() {
            (y, weights)
        } else {
            train_y = train_rows.iter().map(|&r| y[r as usize]).collect();
            train_w = weights.map(|w| train_rows.iter().map(|&r| w[r as usize]).collect());
            (&train_y, train_w.as_deref())
        };
        let base_score = params.objective.initial_score(base_y, base_w);

        let valid_data = match &valid {
            Some((vx, _)) => Some(BinnedData::with_mappers(vx.view(), data.mappers())?),
            None => None,
        };
        let mut scores = vec![base_score; n];
        let mut valid_scores = valid
            .as_ref()
            .map_or_else(Vec::new, |(_, vy)| vec![base_score; vy.len()]);
        let mut grad = vec![0.0; n];
        let mut hess = vec![0.0; n];
        let rules = params.grow_rules();
        let n_features = x.ncols();
        let all_features: Vec<usize> = (0..n_features).collect();
        let mut model = Gbdt {
            params: params.clone(),
            base_score,
            trees: Vec::with_capacity(params.rounds),
            mappers: data.mappers().to_vec(),
            importance_gain: vec![0.0; n_features],
            importance_splits: vec![0; n_features],
            best_round: None,
            train_loss: Vec::new(),
            valid_loss: Vec::new(),
            compiled: CompiledTrees::default(),
        };
        let mut best: Option<(usize, f64)> = None;
        let mut rows = Vec::with_capacity(train_rows.len());
        for round in 0..params.rounds {
            params
                .objective
                .gradients(y, &scores, weights, &mut grad, &mut hess);
            rows.clear();
            if params.bagging_fraction < 1.0 {
                rows.extend(
                    train_rows
                        .iter()
                        .copied()
                        .filter(|_| rng.gen::<f64>() < params.bagging_fraction),
                );
                if rows.is_empty() {
                    rows.push(train_rows[0]);
                }
            } else {
                rows.extend_from_slice(&train_rows);
            }
            let features = if params.feature_fraction < 1.0 {
                let k = ((n_features as f64 * params.feature_fraction).ceil() as usize)
                    .clamp(1, n_features);
                let mut f: Vec<usize> = sample(&mut rng, n_features, k).into_vec();
                f.sort_unstable();
                f
            } else {
                all_features.clone()
            };
            let (mut tree, leaves) = grow_monotone(
                &data,
                &mut rows,
                &grad,
                &hess,
                &features,
                &rules,
                &params.monotone_constraints,
            );
            if params.objective == Objective::AbsoluteError {
                renew_leaves_to_median(&mut tree, &leaves, &rows, y, &scores, weights);
            }
            tree.scale(params.learning_rate);
            if params.bagging_fraction < 1.0 || !holdout.is_empty() {
                scores
                    .par_iter_mut()
                    .enumerate()
                    .with_min_len(4096)
                    .for_each(|(r, s)| *s += tree.predict_binned(&data, r));
            } else {
                for leaf in &leaves {
                    let value = tree.nodes[leaf.node].value;
                    for &r in &rows[leaf.start..leaf.end] {
                        scores[r as usize] += value;
                    }
                }
            }
            for node in tree.nodes.iter().filter(|n| !n.is_leaf()) {
                model.importance_gain[node.feature as usize] += node.gain;
                model.importance_splits[node.feature as usize] += 1;
            }
            model.train_loss.push(loss_on(
                &params.objective,
                y,
                &scores,
                weights,
                &train_rows,
                holdout.is_empty(),
            ));
            let stopping_loss = if let (Some(vd), Some((_, vy))) = (&valid_data, &valid) {
                for (r, s) in valid_scores.iter_mut().enumerate() {
                    *s += tree.predict_binned(vd, r);
                }
                Some(params.objective.loss(vy, &valid_scores, None))
            } else if !holdout.is_empty() {
                Some(loss_on(
                    &params.objective,
                    y,
                    &scores,
                    weights,
                    &holdout,
                    false,
                ))
            } else {
                None
            };
            model.trees.push(tree);
            progress(round + 1, params.rounds);
            if let Some(l) = stopping_loss {
                model.valid_loss.push(l);
                if best.is_none_or(|(_, b)| l < b) {
                    best = Some((round, l));
                }
                if let (Some(patience), Some((best_round, _))) =
                    (params.early_stopping_rounds, best)
                {
                    if round - best_round >= patience {
                        break;
                    }
                }
            }
        }
        if let (Some(_), Some((best_round, _))) = (params.early_stopping_rounds, best) {
            model.trees.truncate(best_round + 1);
            model.best_round = Some(best_round);
        }
        model.compiled = CompiledTrees::new(&model.trees);
        Ok(model)
    }

    /// Prediction for one row (probability for log-loss, rate for Poisson).
    pub fn predict_row(&self, row: &[f64]) -> Result<f64> {
        check_row(row.len(), self.n_features())?;
        Ok(self.params.objective.transform(self.raw_row(row)))
    }

    #[inline]
    fn raw_row(&self, row: &[f64]) -> f64 {
        self.compiled.row_sum(self.base_score, row)
    }

    /// Predictions for every row of `x`, written into `out`.
    pub fn predict(&self, x: ArrayView2<f64>, out: &mut [f64]) -> Result<()> {
        check_batch(x.nrows(), x.ncols(), out.len(), self.n_features())?;
        let x = x.as_standard_layout();
        let rows = x.as_slice().expect("standard layout is contiguous");
        out.fill(self.base_score);
        self.compiled.add_batch(rows, self.n_features(), out);
        for o in out.iter_mut() {
            *o = self.params.objective.transform(*o);
        }
        Ok(())
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.mappers.len()
    }

    /// The raw score boosting started from.
    pub fn base_score(&self) -> f64 {
        self.base_score
    }

    /// The trees, in boosting order.
    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }

    /// Settings used to fit.
    pub fn params(&self) -> &GbdtParams {
        &self.params
    }

    /// Total split gain per feature.
    pub fn importance_gain(&self) -> &[f64] {
        &self.importance_gain
    }

    /// Number of splits per feature.
    pub fn importance_splits(&self) -> &[u32] {
        &self.importance_splits
    }

    /// Training loss after each round (on the rows trees were fitted on).
    pub fn train_loss(&self) -> &[f64] {
        &self.train_loss
    }

    /// Validation (or holdout) loss after each round, when there was one.
    pub fn valid_loss(&self) -> &[f64] {
        &self.valid_loss
    }

    /// The round early stopping kept (0-based), when it was on.
    pub fn best_round(&self) -> Option<usize> {
        self.best_round
    }
}

/// The stored form of a [`Gbdt`]: everything but the compiled trees.
#[derive(Serialize, Deserialize)]
struct GbdtParts {
    #[serde(with = "super::format::json_field")]
    params: GbdtParams,
    base_score: f64,
    trees: Vec<Tree>,
    mappers: Vec<BinMapper>,
    importance_gain: Vec<f64>,
    importance_splits: Vec<u32>,
    best_round: Option<usize>,
    train_loss: Vec<f64>,
    valid_loss: Vec<f64>,
}

impl From<Gbdt> for GbdtParts {
    fn from(g: Gbdt) -> Self {
        GbdtParts {
            params: g.params,
            base_score: g.base_score,
            trees: g.trees,
            mappers: g.mappers,
            importance_gain: g.importance_gain,
            importance_splits: g.importance_splits,
            best_round: g.best_round,
            train_loss: g.train_loss,
            valid_loss: g.valid_loss,
        }
    }
}

impl TryFrom<GbdtParts> for Gbdt {
    type Error = Error;

    /// Checks what a damaged or hostile file could get wrong before compiling the trees,
    /// whose walk trusts child and feature indices.
    fn try_from(p: GbdtParts) -> Result<Gbdt> {
        let n = p.mappers.len();
        let bad = |m: String| Err(Error::BadModelFile(format!("boosting model: {m}")));
        if n == 0 {
            return bad("no features".into());
        }
        if p.importance_gain.len() != n || p.importance_splits.len() != n {
            return bad("importance vectors do not match the features".into());
        }
        if !p.base_score.is_finite() {
            return bad(format!("base score {}", p.base_score));
        }
        if p.trees.is_empty() {
            return bad("no trees".into());
        }
        p.params
            .validate()
            .and_then(|()| super::monotone::check(&p.params.monotone_constraints, Some(n)))
            .map_err(|e| Error::BadModelFile(format!("boosting model parameters: {e}")))?;
        super::format::validate_trees(&p.trees, n)?;
        let compiled = CompiledTrees::new(&p.trees);
        Ok(Gbdt {
            params: p.params,
            base_score: p.base_score,
            trees: p.trees,
            mappers: p.mappers,
            importance_gain: p.importance_gain,
            importance_splits: p.importance_splits,
            best_round: p.best_round,
            train_loss: p.train_loss,
            valid_loss: p.valid_loss,
            compiled,
        })
    }
}

fn loss_on(
    objective: &Objective,
    y: &[f64],
    scores: &[f64],
    w: Option<&[f64]>,
    rows: &[u32],
    all: bool,
) -> f64 {
    if all {
        return objective.loss(y, scores, w);
    }
    let ys: Vec<f64> = rows.iter().map(|&r| y[r as usize]).collect();
    let ss: Vec<f64> = rows.iter().map(|&r| scores[r as usize]).collect();
    let ws: Option<Vec<f64>> = w.map(|w| rows.iter().map(|&r| w[r as usize]).collect());
    objective.loss(&ys, &ss, ws.as_deref())
}
