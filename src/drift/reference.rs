//! Reference statistics stored with a model: a bounded, deterministic summary of each
//! training feature, so drift can be checked later without the training data.

use ndarray::{ArrayView1, ArrayView2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::sample::{sorted_finite, CategoryCounts};
use crate::error::{Error, Result};

/// Default bound on the values kept per numeric feature by [`ReferenceSample::new`].
pub const DEFAULT_REFERENCE_SIZE: usize = 2_000;

/// Most distinct categories a categorical feature may have (beyond that, the feature is
/// better treated as numeric or hashed).
pub const MAX_CATEGORIES: usize = 10_000;

/// Whether a feature is compared as numbers or as category codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// A continuous or ordinal value.
    Numeric,
    /// A category code (any finite `f64`; equal values are one category).
    Categorical,
}

/// Names and kinds of the columns of a feature matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSchema {
    names: Vec<String>,
    kinds: Vec<FeatureKind>,
}

impl FeatureSchema {
    /// A schema from column names and the indices of the categorical columns.
    ///
    /// ```
    /// use tenantml::drift::{FeatureKind, FeatureSchema};
    /// let s = FeatureSchema::new(vec!["amount".into(), "country".into()], &[1])?;
    /// assert_eq!(s.kinds(), &[FeatureKind::Numeric, FeatureKind::Categorical]);
    /// assert!(FeatureSchema::new(vec!["a".into()], &[3]).is_err());
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn new(names: Vec<String>, categorical: &[usize]) -> Result<Self> {
        if names.is_empty() {
            return Err(Error::InvalidArgument(
                "the feature schema has no features".into(),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
            return Err(Error::InvalidArgument(format!(
                "feature name '{dup}' appears twice"
            )));
        }
        let mut kinds = vec![FeatureKind::Numeric; names.len()];
        for &i in categorical {
            let k = kinds.get_mut(i).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "categorical feature index {i} is out of range for {} features",
                    names.len()
                ))
            })?;
            *k = FeatureKind::Categorical;
        }
        Ok(FeatureSchema { names, kinds })
    }

    /// A schema of numeric features only.
    pub fn numeric(names: Vec<String>) -> Result<Self> {
        Self::new(names, &[])
    }

    /// Column names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Column kinds.
    pub fn kinds(&self) -> &[FeatureKind] {
        &self.kinds
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Always false: a schema has at least one feature.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub(crate) fn check_matrix(&self, m: &ArrayView2<f64>, label: &str) -> Result<()> {
        if m.ncols() != self.len() {
            return Err(Error::InvalidArgument(format!(
                "the {label} matrix has {} feature columns, the schema {}",
                m.ncols(),
                self.len()
            )));
        }
        if m.nrows() == 0 {
            return Err(Error::InvalidArgument(format!(
                "the {label} matrix has no rows"
            )));
        }
        Ok(())
    }
}

/// The reference summary of one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReferenceColumn {
    /// A numeric feature: at most the size bound of its finite values, as evenly spaced
    /// order statistics (always including the minimum and maximum), sorted ascending.
    Numeric {
        /// The kept values, ascending.
        values: Vec<f64>,
        /// Finite values the summary was built from.
        count: u64,
        /// Non-finite values dropped.
        missing: u64,
    },
    /// A categorical feature: every category's count (exact, not subsampled).
    Categorical {
        /// Counts per category.
        counts: CategoryCounts,
        /// Non-finite values dropped.
        missing: u64,
    },
}

impl ReferenceColumn {
    /// Summarises a numeric sample keeping at most `max_size` values (`>= 2`).
    /// Errors if no finite value is left.
    ///
    /// ```
    /// use tenantml::drift::ReferenceColumn;
    /// let x: Vec<f64> = (0..10_000).map(f64::from).collect();
    /// let c = ReferenceColumn::numeric(&x, 101)?;
    /// let ReferenceColumn::Numeric { values, count, .. } = &c else { unreachable!() };
    /// assert_eq!((values.len(), *count), (101, 10_000));
    /// assert_eq!((values[0], values[50], values[100]), (0.0, 5_000.0, 9_999.0));
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn numeric(x: &[f64], max_size: usize) -> Result<Self> {
        Self::numeric_from(x.iter().copied(), max_size, "numeric")
    }

    /// Summarises a categorical sample. Errors if no finite value is left or there are
    /// more than [`MAX_CATEGORIES`] categories.
    pub fn categorical(x: &[f64]) -> Result<Self> {
        Self::categorical_from(x.iter().copied(), "categorical")
    }

    pub(crate) fn numeric_from(
        x: impl Iterator<Item = f64>,
        max_size: usize,
        name: &str,
    ) -> Result<Self> {
        if max_size < 2 {
            return Err(Error::InvalidArgument(format!(
                "the reference size bound must be at least 2, got {max_size}"
            )));
        }
        let (sorted, missing) = sorted_finite(x);
        if sorted.is_empty() {
            return Err(no_values(name, "reference"));
        }
        let count = sorted.len() as u64;
        Ok(ReferenceColumn::Numeric {
            values: order_statistics(sorted, max_size),
            count,
            missing,
        })
    }

    pub(crate) fn categorical_from(x: impl Iterator<Item = f64>, name: &str) -> Result<Self> {
        let (sorted, missing) = sorted_finite(x);
        if sorted.is_empty() {
            return Err(no_values(name, "reference"));
        }
        let counts = CategoryCounts::from_sorted(&sorted);
        check_categories(&counts, name)?;
        Ok(ReferenceColumn::Categorical { counts, missing })
    }

    /// The feature kind.
    pub fn kind(&self) -> FeatureKind {
        match self {
            ReferenceColumn::Numeric { .. } => FeatureKind::Numeric,
            ReferenceColumn::Categorical { .. } => FeatureKind::Categorical,
        }
    }

    /// Non-finite values dropped when the summary was built.
    pub fn missing(&self) -> u64 {
        match self {
            ReferenceColumn::Numeric { missing, .. }
            | ReferenceColumn::Categorical { missing, .. } => *missing,
        }
    }

    /// Values the tests compare against (kept values, or the categories' total count).
    pub fn len(&self) -> usize {
        match self {
            ReferenceColumn::Numeric { values, .. } => values.len(),
            ReferenceColumn::Categorical { counts, .. } => counts.total() as usize,
        }
    }

    /// True if the summary holds no values (never for one built by this module).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn validate(&self, name: &str) -> Result<()> {
        match self {
            ReferenceColumn::Numeric { values, .. } => {
                if values.is_empty()
                    || values.iter().any(|v| !v.is_finite())
                    || values.windows(2).any(|w| w[0] > w[1])
                {
                    return Err(Error::Parse(format!(
                        "reference feature '{name}': values must be non-empty, finite and sorted"
                    )));
                }
            }
            ReferenceColumn::Categorical { counts, .. } => {
                counts.validate()?;
                if counts.total() == 0 {
                    return Err(Error::Parse(format!(
                        "reference feature '{name}' has no counts"
                    )));
                }
            }
        }
        Ok(())
    }
}

fn check_categories(counts: &CategoryCounts, name: &str) -> Result<()> {
    if counts.categories.len() > MAX_CATEGORIES {
        return Err(Error::InvalidArgument(format!(
            "feature '{name}' has {} categories, more than {MAX_CATEGORIES}",
            counts.categories.len()
        )));
    }
    Ok(())
}

pub(crate) fn no_values(name: &str, which: &str) -> Error {
    Error::InvalidArgument(format!(
        "feature '{name}': the {which} sample has no finite values"
    ))
}

/// Evenly spaced order statistics: positions `round(i (n - 1) / (k - 1))`, `i = 0..k`.
fn order_statistics(sorted: Vec<f64>, k: usize) -> Vec<f64> {
    let n = sorted.len();
    if n <= k {
        return sorted;
    }
    (0..k)
        .map(|i| sorted[((i as f64) * (n - 1) as f64 / (k - 1) as f64).round() as usize])
        .collect()
}

/// One named feature of a [`ReferenceSample`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceFeature {
    /// Feature name.
    pub name: String,
    /// Its summary.
    pub column: ReferenceColumn,
}

/// Reference statistics for every feature of a model's training data, small enough to
/// store in the model file: per numeric feature at most `max_per_feature` values (default
/// [`DEFAULT_REFERENCE_SIZE`], about 16 KB per feature), evenly spaced order statistics
/// of the training values (deterministic: the same data gives the same sample); per
/// categorical feature the exact category counts.
///
/// Tests against a bounded numeric summary treat its values as a reference sample of
/// that size: the KS p-value is that of a 2,000-value sample (a little less powerful
/// than the full data, never over-confident), and PSI bins are the summary's quantiles,
/// which match the full data's to within `1 / max_per_feature`.
///
/// ```
/// use ndarray::array;
/// use tenantml::drift::{DriftConfig, FeatureSchema, ReferenceSample};
/// let train = array![[1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [4.0, 1.0], [5.0, 0.0]];
/// let schema = FeatureSchema::new(vec!["x".into(), "flag".into()], &[1])?;
/// let reference = ReferenceSample::new(train.view(), &schema)?;
/// let stored = reference.to_json()?; // kept with the model
/// let reference = ReferenceSample::from_json(&stored)?;
/// let today = array![[6.0, 1.0], [7.0, 1.0], [8.0, 1.0], [9.0, 1.0], [10.0, 1.0]];
/// let report = reference.report(today.view(), &DriftConfig::default())?;
/// assert!(report.features[0].drifted);
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceSample {
    max_per_feature: usize,
    features: Vec<ReferenceFeature>,
}

impl ReferenceSample {
    /// Summarises `data` (rows x features, any memory layout) with the default bound.
    pub fn new(data: ArrayView2<f64>, schema: &FeatureSchema) -> Result<Self> {
        Self::with_max_size(data, schema, DEFAULT_REFERENCE_SIZE)
    }

    /// Summarises `data` keeping at most `max_per_feature` values per numeric feature.
    pub fn with_max_size(
        data: ArrayView2<f64>,
        schema: &FeatureSchema,
        max_per_feature: usize,
    ) -> Result<Self> {
        schema.check_matrix(&data, "reference")?;
        let features = (0..schema.len())
            .into_par_iter()
            .map(|j| {
                let name = &schema.names()[j];
                let column = summarise(data.column(j), schema.kinds()[j], max_per_feature, name)?;
                Ok(ReferenceFeature {
                    name: name.clone(),
                    column,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ReferenceSample {
            max_per_feature,
            features,
        })
    }

    /// The per-feature summaries, in column order.
    pub fn features(&self) -> &[ReferenceFeature] {
        &self.features
    }

    /// The bound on values kept per numeric feature.
    pub fn max_per_feature(&self) -> usize {
        self.max_per_feature
    }

    /// The schema these statistics were built for.
    pub fn schema(&self) -> FeatureSchema {
        FeatureSchema {
            names: self.features.iter().map(|f| f.name.clone()).collect(),
            kinds: self.features.iter().map(|f| f.column.kind()).collect(),
        }
    }

    /// As JSON.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string(self)?)
    }

    /// From [`ReferenceSample::to_json`]'s output; checks every summary (sorted finite
    /// values within the bound, consistent category counts).
    pub fn from_json(json: &str) -> Result<Self> {
        let s: ReferenceSample = serde_json::from_str(json)?;
        if s.features.is_empty() || s.max_per_feature < 2 {
            return Err(Error::Parse(
                "reference sample: no features or a bound below 2".into(),
            ));
        }
        for f in &s.features {
            f.column.validate(&f.name)?;
            if let ReferenceColumn::Numeric { values, .. } = &f.column {
                if values.len() > s.max_per_feature {
                    return Err(Error::Parse(format!(
                        "reference feature '{}' holds {} values, above its bound {}",
                        f.name,
                        values.len(),
                        s.max_per_feature
                    )));
                }
            }
        }
        Ok(s)
    }

    pub(crate) fn from_parts(max_per_feature: usize, features: Vec<ReferenceFeature>) -> Self {
        ReferenceSample {
            max_per_feature,
            features,
        }
    }
}

pub(crate) fn summarise(
    col: ArrayView1<f64>,
    kind: FeatureKind,
    max: usize,
    name: &str,
) -> Result<ReferenceColumn> {
    match kind {
        FeatureKind::Numeric => ReferenceColumn::numeric_from(col.iter().copied(), max, name),
        FeatureKind::Categorical => ReferenceColumn::categorical_from(col.iter().copied(), name),
    }
}
