//! Input cleaning shared by the tests: sorting, the non-finite policy, category counts.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A copy of `x` sorted ascending. Errors if `x` is empty or holds a non-finite value
/// (the stand-alone statistics refuse them; the report drops and counts them instead).
pub(crate) fn sorted_clean(x: &[f64], label: &str) -> Result<Vec<f64>> {
    if x.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "the {label} sample is empty"
        )));
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "the {label} sample has a non-finite value ({}) at index {i}",
            x[i]
        )));
    }
    let mut v = x.to_vec();
    v.sort_unstable_by(f64::total_cmp);
    Ok(v)
}

/// The finite values of `x`, sorted, and how many were dropped.
pub(crate) fn sorted_finite(x: impl Iterator<Item = f64>) -> (Vec<f64>, u64) {
    let mut dropped = 0u64;
    let mut v: Vec<f64> = x
        .filter(|v| {
            let ok = v.is_finite();
            dropped += u64::from(!ok);
            ok
        })
        .collect();
    v.sort_unstable_by(f64::total_cmp);
    (v, dropped)
}

/// How often each category (a finite `f64` code) occurs, sorted by category.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryCounts {
    /// Distinct category codes, ascending.
    pub categories: Vec<f64>,
    /// `counts[i]` is the number of occurrences of `categories[i]`.
    pub counts: Vec<u64>,
}

impl CategoryCounts {
    /// Counts the categories of a sorted, finite sample.
    pub(crate) fn from_sorted(sorted: &[f64]) -> Self {
        let mut c = CategoryCounts::default();
        for &v in sorted {
            match c.categories.last() {
                Some(&last) if last == v => *c.counts.last_mut().expect("parallel vectors") += 1,
                _ => {
                    c.categories.push(v);
                    c.counts.push(1);
                }
            }
        }
        c
    }

    /// Counts the categories of any sample. Errors on an empty sample or a non-finite value.
    ///
    /// ```
    /// use tenantml::drift::CategoryCounts;
    /// let c = CategoryCounts::from_values(&[2.0, 1.0, 2.0])?;
    /// assert_eq!(c.categories, vec![1.0, 2.0]);
    /// assert_eq!(c.counts, vec![1, 2]);
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn from_values(x: &[f64]) -> Result<Self> {
        Ok(Self::from_sorted(&sorted_clean(x, "categorical")?))
    }

    /// Total number of observations.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Checks the invariants (same lengths, strictly increasing finite categories).
    pub(crate) fn validate(&self) -> Result<()> {
        if self.categories.len() != self.counts.len() {
            return Err(Error::InvalidArgument(format!(
                "category counts: {} categories but {} counts",
                self.categories.len(),
                self.counts.len()
            )));
        }
        if self.categories.iter().any(|c| !c.is_finite())
            || self.categories.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(Error::InvalidArgument(
                "category counts: categories must be finite and strictly increasing".into(),
            ));
        }
        Ok(())
    }
}

/// Aligns two category count tables over the union of their categories.
pub(crate) fn align_counts(a: &CategoryCounts, b: &CategoryCounts) -> (Vec<f64>, Vec<f64>) {
    let (mut i, mut j) = (0, 0);
    let (mut ca, mut cb) = (Vec::new(), Vec::new());
    while i < a.categories.len() || j < b.categories.len() {
        let ka = a.categories.get(i).copied();
        let kb = b.categories.get(j).copied();
        match (ka, kb) {
            (Some(x), Some(y)) if x == y => {
                ca.push(a.counts[i] as f64);
                cb.push(b.counts[j] as f64);
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => {
                ca.push(a.counts[i] as f64);
                cb.push(0.0);
                i += 1;
            }
            (Some(_), None) => {
                ca.push(a.counts[i] as f64);
                cb.push(0.0);
                i += 1;
            }
            _ => {
                ca.push(0.0);
                cb.push(b.counts[j] as f64);
                j += 1;
            }
        }
    }
    (ca, cb)
}
