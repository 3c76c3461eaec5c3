//! Pearson's chi-squared test of independence, for categorical features.

use serde::{Deserialize, Serialize};

use super::sample::{align_counts, CategoryCounts};
use super::special::chi2_sf;
use crate::error::{Error, Result};

/// The outcome of a chi-squared test of independence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Chi2Result {
    /// Pearson's statistic `sum (observed - expected)^2 / expected`.
    pub statistic: f64,
    /// Upper tail of the chi-squared distribution with `dof` degrees of freedom.
    pub p_value: f64,
    /// `(rows - 1) (columns - 1)`.
    pub dof: usize,
}

/// Chi-squared test of independence on an `r x c` contingency table of counts, without
/// Yates' continuity correction (`scipy.stats.chi2_contingency(table, correction=False)`).
/// Every row and column must have a positive total (scipy refuses zero expected
/// frequencies too). With one degree-of-freedom-less table (a single row or column) the
/// statistic is 0 and the p-value 1, as in scipy.
///
/// ```
/// use tenantml::drift::chi2_contingency;
/// let r = chi2_contingency(&[vec![4.0, 2.0, 0.0], vec![1.0, 1.0, 4.0]])?;
/// assert!((r.statistic - 6.133333).abs() < 1e-6);
/// assert!((r.p_value - 0.0465762).abs() < 1e-7);
/// assert_eq!(r.dof, 2);
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn chi2_contingency(table: &[Vec<f64>]) -> Result<Chi2Result> {
    let rows = table.len();
    let cols = table.first().map_or(0, Vec::len);
    if rows == 0 || cols == 0 {
        return Err(Error::InvalidArgument("contingency table is empty".into()));
    }
    if table.iter().any(|r| r.len() != cols) {
        return Err(Error::InvalidArgument(
            "contingency table rows differ in length".into(),
        ));
    }
    if table.iter().flatten().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(Error::InvalidArgument(
            "contingency table counts must be finite and non-negative".into(),
        ));
    }
    let row_sums: Vec<f64> = table.iter().map(|r| r.iter().sum()).collect();
    let col_sums: Vec<f64> = (0..cols)
        .map(|j| table.iter().map(|r| r[j]).sum())
        .collect();
    if row_sums.iter().chain(&col_sums).any(|s| *s == 0.0) {
        return Err(Error::InvalidArgument(
            "contingency table has a row or column of zeros (zero expected frequency)".into(),
        ));
    }
    let total: f64 = row_sums.iter().sum();
    let dof = (rows - 1) * (cols - 1);
    if dof == 0 {
        return Ok(Chi2Result {
            statistic: 0.0,
            p_value: 1.0,
            dof,
        });
    }
    let mut stat = 0.0;
    for (r, rs) in table.iter().zip(&row_sums) {
        for (o, cs) in r.iter().zip(&col_sums) {
            let e = rs * cs / total;
            stat += (o - e) * (o - e) / e;
        }
    }
    Ok(Chi2Result {
        statistic: stat,
        p_value: chi2_sf(stat, dof as f64),
        dof,
    })
}

/// Chi-squared test that the reference and current samples come from the same category
/// distribution: the `2 x K` table of counts over the union of categories (a category
/// absent from both never appears).
pub fn chi2_categorical(
    reference: &CategoryCounts,
    current: &CategoryCounts,
) -> Result<Chi2Result> {
    reference.validate()?;
    current.validate()?;
    if reference.total() == 0 || current.total() == 0 {
        return Err(Error::InvalidArgument("category counts are empty".into()));
    }
    let (r, c) = align_counts(reference, current);
    chi2_contingency(&[r, c])
}
