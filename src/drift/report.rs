//! Per-feature and dataset-level drift reports under a JSON [`DriftConfig`].

use std::collections::BTreeMap;

use ndarray::{ArrayView1, ArrayView2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::chi2::chi2_categorical;
use super::distance::{
    jensen_shannon_sorted, js_counts, population_std, psi_counts, psi_sorted, wasserstein_sorted,
    WASSERSTEIN_MIN_STD,
};
use super::ks::{asymptotic_p_value, ks_2samp_sorted, KsMethod};
use super::reference::{
    no_values, summarise, FeatureKind, FeatureSchema, ReferenceColumn, ReferenceFeature,
    ReferenceSample,
};
use super::sample::{align_counts, sorted_finite, CategoryCounts};
use crate::error::{Error, Result};

/// A drift test. Numeric features can use `ks`, `psi`, `wasserstein`,
/// `jensen_shannon`; categorical ones `chi2`, `psi`, `jensen_shannon`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftTest {
    /// Two-sample Kolmogorov-Smirnov; drift when `p < p_value_threshold`.
    Ks,
    /// Population stability index on reference-quantile bins (categories for categorical
    /// features); drift when `psi >= psi_threshold`.
    Psi,
    /// Wasserstein-1 distance normalised by the reference standard deviation; drift when
    /// it is `>= wasserstein_threshold`.
    Wasserstein,
    /// Jensen-Shannon distance (natural log) on the PSI bins or the categories; drift
    /// when it is `>= jensen_shannon_threshold`.
    JensenShannon,
    /// Chi-squared test of independence on category counts; drift when
    /// `p < p_value_threshold`.
    Chi2,
}

impl DriftTest {
    fn allowed_for(self, kind: FeatureKind) -> bool {
        match kind {
            FeatureKind::Numeric => self != DriftTest::Chi2,
            FeatureKind::Categorical => matches!(
                self,
                DriftTest::Chi2 | DriftTest::Psi | DriftTest::JensenShannon
            ),
        }
    }

    fn has_p_value(self) -> bool {
        matches!(self, DriftTest::Ks | DriftTest::Chi2)
    }
}

/// How drift is judged. Every field has a default (Evidently's thresholds), so `{}` is
/// valid JSON; unknown fields are refused.
///
/// ```
/// use tenantml::drift::{DriftConfig, DriftTest};
/// let c = DriftConfig::from_json(r#"{"numeric_test": "psi", "bonferroni": true}"#)?;
/// assert_eq!(c.numeric_test, DriftTest::Psi);
/// assert_eq!(c.categorical_test, DriftTest::Chi2);
/// assert!(DriftConfig::from_json(r#"{"alpha": 0.01}"#).is_err());
/// assert!(DriftConfig::from_json(r#"{"numeric_test": "chi2"}"#).is_err());
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DriftConfig {
    /// Test for numeric features (default `ks`).
    pub numeric_test: DriftTest,
    /// Test for categorical features (default `chi2`).
    pub categorical_test: DriftTest,
    /// Per-feature overrides by feature name.
    pub feature_tests: BTreeMap<String, DriftTest>,
    /// Significance level for `ks` and `chi2` (default 0.05).
    pub p_value_threshold: f64,
    /// Divide `p_value_threshold` by the number of features (Bonferroni correction for
    /// testing many features at once; default false).
    pub bonferroni: bool,
    /// PSI at or above which a feature drifted (default 0.1).
    pub psi_threshold: f64,
    /// Normalised Wasserstein distance at or above which a feature drifted (default 0.1).
    pub wasserstein_threshold: f64,
    /// Jensen-Shannon distance at or above which a feature drifted (default 0.1).
    pub jensen_shannon_threshold: f64,
    /// Quantile bins of the reference for numeric PSI and Jensen-Shannon (default 10).
    pub bins: usize,
    /// Share of drifted features at or above which the dataset drifted (default 0.5).
    pub drift_share: f64,
}

impl Default for DriftConfig {
    fn default() -> Self {
        DriftConfig {
            numeric_test: DriftTest::Ks,
            categorical_test: DriftTest::Chi2,
            feature_tests: BTreeMap::new(),
            p_value_threshold: 0.05,
            bonferroni: false,
            psi_threshold: 0.1,
            wasserstein_threshold: 0.1,
            jensen_shannon_threshold: 0.1,
            bins: 10,
            drift_share: 0.5,
        }
    }
}

impl DriftConfig {
    /// Parses and validates a JSON configuration.
    pub fn from_json(json: &str) -> Result<Self> {
        let c: DriftConfig = super::from_json_object(json, "drift config")?;
        c.validate()?;
        Ok(c)
    }

    /// Checks every field's domain and that each test suits its feature kind.
    pub fn validate(&self) -> Result<()> {
        let bad =
            |what: &str, v: f64| Error::InvalidArgument(format!("drift config: {what}, got {v}"));
        if !(self.p_value_threshold > 0.0 && self.p_value_threshold < 1.0) {
            return Err(bad(
                "p_value_threshold must be in (0, 1)",
                self.p_value_threshold,
            ));
        }
        for (name, v) in [
            ("psi_threshold", self.psi_threshold),
            ("wasserstein_threshold", self.wasserstein_threshold),
            ("jensen_shannon_threshold", self.jensen_shannon_threshold),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(bad(&format!("{name} must be finite and > 0"), v));
            }
        }
        if !(self.drift_share > 0.0 && self.drift_share <= 1.0) {
            return Err(bad("drift_share must be in (0, 1]", self.drift_share));
        }
        if self.bins < 2 {
            return Err(bad("bins must be at least 2", self.bins as f64));
        }
        if !self.numeric_test.allowed_for(FeatureKind::Numeric) {
            return Err(Error::InvalidArgument(
                "drift config: numeric_test cannot be chi2 (use ks, psi, wasserstein or jensen_shannon)".into(),
            ));
        }
        if !self.categorical_test.allowed_for(FeatureKind::Categorical) {
            return Err(Error::InvalidArgument(format!(
                "drift config: categorical_test cannot be {:?} (use chi2, psi or jensen_shannon)",
                self.categorical_test
            )));
        }
        Ok(())
    }

    /// Every per-feature override must name a feature of the data (a typo would otherwise
    /// silently fall back to the default test).
    fn check_overrides(&self, names: &[String]) -> Result<()> {
        if let Some(unknown) = self.feature_tests.keys().find(|k| !names.contains(k)) {
            return Err(Error::InvalidArgument(format!(
                "drift config: feature_tests names '{unknown}', which is not a feature of the data"
            )));
        }
        Ok(())
    }

    fn test_for(&self, name: &str, kind: FeatureKind) -> Result<DriftTest> {
        let t = match self.feature_tests.get(name) {
            Some(&t) => t,
            None => match kind {
                FeatureKind::Numeric => self.numeric_test,
                FeatureKind::Categorical => self.categorical_test,
            },
        };
        if !t.allowed_for(kind) {
            return Err(Error::InvalidArgument(format!(
                "drift config: test {t:?} does not apply to {kind:?} feature '{name}'"
            )));
        }
        Ok(t)
    }
}

/// The verdict on one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDrift {
    /// Feature name.
    pub name: String,
    /// Numeric or categorical.
    pub kind: FeatureKind,
    /// The test applied.
    pub test: DriftTest,
    /// The test's statistic (KS `D`, chi-squared, PSI, normalised Wasserstein or
    /// Jensen-Shannon distance).
    pub statistic: f64,
    /// The p-value, for `ks` and `chi2`.
    pub p_value: Option<f64>,
    /// How the KS p-value was computed.
    pub ks_method: Option<KsMethod>,
    /// The threshold applied (for p-values after any Bonferroni correction).
    pub threshold: f64,
    /// Whether the feature drifted.
    pub drifted: bool,
    /// Reference values compared (after dropping non-finite ones and bounding).
    pub n_reference: u64,
    /// Current values compared.
    pub n_current: u64,
    /// Non-finite reference values dropped.
    pub missing_reference: u64,
    /// Non-finite current values dropped.
    pub missing_current: u64,
    /// The current sample's effective size when its KS p-value was corrected for
    /// autocorrelation ([`DriftReport::for_time_ordered`]); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_current_effective: Option<u64>,
}

/// Drift per feature and for the dataset as a whole; serialisable as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// One entry per feature, in column order.
    pub features: Vec<FeatureDrift>,
    /// Number of features that drifted.
    pub n_drifted: usize,
    /// `n_drifted / features.len()`.
    pub share_drifted: f64,
    /// The configured share at or above which the dataset drifted.
    pub drift_share: f64,
    /// Whether the dataset drifted (`share_drifted >= drift_share`).
    pub dataset_drift: bool,
    /// Whether p-value thresholds were Bonferroni-corrected.
    pub bonferroni: bool,
}

impl DriftReport {
    /// The KS verdicts redone for a current sample whose rows are consecutive periods of a
    /// series (e.g. the features of a tenant's last weeks), where neighbouring rows are
    /// far from independent: a weekly rolling minimum barely changes from one hour to the
    /// next, and 336 hourly rows of it carry about two weeks' worth of information. Each
    /// KS feature's current size is replaced by its effective size
    /// `n (1 - r) / (1 + r)` (`r` its lag-1 autocorrelation in `current`, clamped to
    /// `[0, 1)`; at least 2), its p-value recomputed with Smirnov's asymptotic
    /// distribution, and the dataset verdict redone. Other tests are unchanged.
    /// `current` is the matrix the report was computed from (rows in time order).
    ///
    /// ```
    /// use ndarray::Array2;
    /// use tenantml::drift::{drift_report, DriftConfig, FeatureSchema};
    /// // A slow wave: the current window sits on one side of the reference's range.
    /// let wave = |t: usize| (t as f64 / 40.0).sin();
    /// let reference = Array2::from_shape_fn((2000, 1), |(t, _)| wave(t));
    /// let current = Array2::from_shape_fn((120, 1), |(t, _)| wave(t + 20));
    /// let schema = FeatureSchema::numeric(vec!["slow".into()])?;
    /// let report = drift_report(reference.view(), current.view(), &schema, &DriftConfig::default())?;
    /// assert!(report.features[0].drifted); // as if 120 independent draws
    /// let fair = report.for_time_ordered(current.view())?;
    /// assert!(!fair.features[0].drifted); // a few effective draws: no evidence
    /// assert!(fair.features[0].n_current_effective.unwrap() < 10);
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn for_time_ordered(mut self, current: ArrayView2<f64>) -> Result<DriftReport> {
        if current.ncols() != self.features.len() {
            return Err(Error::InvalidArgument(format!(
                "the current matrix has {} columns, the report {} features",
                current.ncols(),
                self.features.len()
            )));
        }
        for (j, f) in self.features.iter_mut().enumerate() {
            if f.test != DriftTest::Ks {
                continue;
            }
            let r = lag1_autocorrelation(current.column(j)).clamp(0.0, 0.999);
            let n = f.n_current as f64;
            let effective = (n * (1.0 - r) / (1.0 + r)).round().clamp(2.0, n.max(2.0)) as u64;
            let p = asymptotic_p_value(f.n_reference as usize, effective as usize, f.statistic);
            f.p_value = Some(p);
            f.ks_method = Some(KsMethod::Asymptotic);
            f.drifted = p < f.threshold;
            f.n_current_effective = Some(effective);
        }
        self.n_drifted = self.features.iter().filter(|f| f.drifted).count();
        self.share_drifted = self.n_drifted as f64 / self.features.len() as f64;
        self.dataset_drift = self.share_drifted >= self.drift_share;
        Ok(self)
    }

    /// As JSON.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string(self)?)
    }
}

/// Compares the current data with a reference matrix, feature by feature (in parallel),
/// and summarises the dataset. Both matrices are rows x features in the schema's column
/// order, in any memory layout (row-major or column-major views both work). Non-finite
/// values are dropped and counted per feature; a feature with no finite value left on
/// either side is an error, as are mismatched feature counts, an invalid config and a
/// `feature_tests` entry naming no feature.
///
/// ```
/// use ndarray::Array2;
/// use tenantml::drift::{drift_report, DriftConfig, FeatureSchema};
/// let reference = Array2::from_shape_fn((500, 2), |(i, j)| ((i * 7 + j * 3) % 100) as f64);
/// let current = Array2::from_shape_fn((400, 2), |(i, j)| ((i * 7 + j * 3) % 100) as f64 + 20.0 * j as f64);
/// let schema = FeatureSchema::numeric(vec!["stable".into(), "shifted".into()])?;
/// let report = drift_report(reference.view(), current.view(), &schema, &DriftConfig::default())?;
/// assert!(!report.features[0].drifted && report.features[1].drifted);
/// assert_eq!(report.share_drifted, 0.5);
/// assert!(report.dataset_drift);
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn drift_report(
    reference: ArrayView2<f64>,
    current: ArrayView2<f64>,
    schema: &FeatureSchema,
    config: &DriftConfig,
) -> Result<DriftReport> {
    config.validate()?;
    schema.check_matrix(&reference, "reference")?;
    schema.check_matrix(&current, "current")?;
    config.check_overrides(schema.names())?;
    let alpha = corrected_alpha(config, schema.len());
    let features = (0..schema.len())
        .into_par_iter()
        .map(|j| {
            let name = &schema.names()[j];
            let kind = schema.kinds()[j];
            let column = summarise(reference.column(j), kind, usize::MAX, name)?;
            compare(name, &column, current.column(j), config, alpha)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(summarise_report(features, config))
}

impl ReferenceSample {
    /// Compares current data (rows x features in the reference's column order) with these
    /// stored statistics; see [`drift_report`].
    pub fn report(&self, current: ArrayView2<f64>, config: &DriftConfig) -> Result<DriftReport> {
        config.validate()?;
        let schema = self.schema();
        schema.check_matrix(&current, "current")?;
        config.check_overrides(schema.names())?;
        let alpha = corrected_alpha(config, self.features().len());
        let features = self
            .features()
            .par_iter()
            .enumerate()
            .map(|(j, f)| compare(&f.name, &f.column, current.column(j), config, alpha))
            .collect::<Result<Vec<_>>>()?;
        Ok(summarise_report(features, config))
    }

    /// Builds a reference sample from already summarised columns (e.g. training features
    /// plus the model's reference predictions).
    pub fn from_columns(max_per_feature: usize, features: Vec<ReferenceFeature>) -> Result<Self> {
        let s = ReferenceSample::from_parts(max_per_feature, features);
        ReferenceSample::from_json(&s.to_json()?)
    }
}

/// Prediction drift: compares a model's recent predictions with the reference
/// predictions stored with it, with the test the config names for the reference's kind
/// (numeric scores: `numeric_test`; class labels summarised with
/// [`ReferenceColumn::categorical`]: `categorical_test`). The result is named
/// `prediction`, and `feature_tests["prediction"]` overrides the test.
///
/// ```
/// use tenantml::drift::{prediction_drift, DriftConfig, ReferenceColumn};
/// let reference: Vec<f64> = (0..1000).map(|i| (i % 100) as f64 / 100.0).collect();
/// let stored = ReferenceColumn::numeric(&reference, 2000)?;
/// let recent: Vec<f64> = (0..300).map(|i| 0.3 + (i % 70) as f64 / 100.0).collect();
/// let d = prediction_drift(&stored, &recent, &DriftConfig::default())?;
/// assert!(d.drifted && d.p_value.unwrap() < 1e-6);
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn prediction_drift(
    reference: &ReferenceColumn,
    recent: &[f64],
    config: &DriftConfig,
) -> Result<FeatureDrift> {
    config.validate()?;
    reference.validate("prediction")?;
    compare(
        "prediction",
        reference,
        ArrayView1::from(recent),
        config,
        config.p_value_threshold,
    )
}

fn corrected_alpha(config: &DriftConfig, n_features: usize) -> f64 {
    if config.bonferroni {
        config.p_value_threshold / n_features as f64
    } else {
        config.p_value_threshold
    }
}

fn summarise_report(features: Vec<FeatureDrift>, config: &DriftConfig) -> DriftReport {
    let n_drifted = features.iter().filter(|f| f.drifted).count();
    let share_drifted = n_drifted as f64 / features.len() as f64;
    DriftReport {
        n_drifted,
        share_drifted,
        drift_share: config.drift_share,
        dataset_drift: share_drifted >= config.drift_share,
        bonferroni: config.bonferroni,
        features,
    }
}

/// One feature: the reference summary against the current column.
fn compare(
    name: &str,
    reference: &ReferenceColumn,
    current: ArrayView1<f64>,
    config: &DriftConfig,
    alpha: f64,
) -> Result<FeatureDrift> {
    let kind = reference.kind();
    let test = config.test_for(name, kind)?;
    let (cur, missing_current) = sorted_finite(current.iter().copied());
    if cur.is_empty() {
        return Err(no_values(name, "current"));
    }
    let mut ks_method = None;
    let (statistic, p_value) = match reference {
        ReferenceColumn::Numeric { values: r, .. } => match test {
            DriftTest::Ks => {
                let ks = ks_2samp_sorted(r, &cur);
                ks_method = Some(ks.method);
                (ks.statistic, Some(ks.p_value))
            }
            DriftTest::Psi => (psi_sorted(r, &cur, config.bins), None),
            DriftTest::Wasserstein => (
                wasserstein_sorted(r, &cur) / population_std(r).max(WASSERSTEIN_MIN_STD),
                None,
            ),
            DriftTest::JensenShannon => (jensen_shannon_sorted(r, &cur, config.bins), None),
            DriftTest::Chi2 => unreachable!("checked by test_for"),
        },
        ReferenceColumn::Categorical { counts, .. } => {
            let cur_counts = CategoryCounts::from_sorted(&cur);
            match test {
                DriftTest::Chi2 => {
                    let c = chi2_categorical(counts, &cur_counts)?;
                    (c.statistic, Some(c.p_value))
                }
                DriftTest::Psi => {
                    let (a, b) = align_counts(counts, &cur_counts);
                    (psi_counts(&a, &b), None)
                }
                DriftTest::JensenShannon => {
                    let (a, b) = align_counts(counts, &cur_counts);
                    (js_counts(&a, &b), None)
                }
                _ => unreachable!("checked by test_for"),
            }
        }
    };
    let (threshold, drifted) = match test {
        _ if test.has_p_value() => (alpha, p_value.expect("p-value tests") < alpha),
        DriftTest::Psi => (config.psi_threshold, statistic >= config.psi_threshold),
        DriftTest::Wasserstein => (
            config.wasserstein_threshold,
            statistic >= config.wasserstein_threshold,
        ),
        _ => (
            config.jensen_shannon_threshold,
            statistic >= config.jensen_shannon_threshold,
        ),
    };
    Ok(FeatureDrift {
        name: name.to_string(),
        kind,
        test,
        statistic,
        p_value,
        ks_method,
        threshold,
        drifted,
        n_reference: reference.len() as u64,
        n_current: cur.len() as u64,
        missing_reference: reference.missing(),
        missing_current,
        n_current_effective: None,
    })
}

/// Lag-1 autocorrelation of the finite values of `x` in order (0 when undefined: fewer
/// than three values or no variance).
fn lag1_autocorrelation(x: ArrayView1<f64>) -> f64 {
    let v: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    if v.len() < 3 {
        return 0.0;
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let var: f64 = v.iter().map(|a| (a - mean).powi(2)).sum();
    if var <= 0.0 {
        return 0.0;
    }
    let cov: f64 = v.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum();
    cov / var
}
