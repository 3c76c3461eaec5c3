//! [`RowCursor`]: feature rows for recursive forecasting, one period at a time, carrying
//! the expanding statistics along instead of re-reading the whole history per step.

use super::spec::{check_values, FeatureBuilder};
use super::windows::{Ewm, Expanding};
use crate::error::{Error, Result};

/// Incremental [`FeatureBuilder::row`]: O(lookback + windows) per step instead of a pass
/// over the whole history.
///
/// ```
/// use tenantml::features::FeatureSpec;
/// let b = FeatureSpec::for_frequency(3600, &[]).unwrap().compile().unwrap();
/// let history: Vec<f64> = (0..400).map(|i| (i % 24) as f64).collect();
/// let mut cursor = b.cursor(&history, 0).unwrap();
/// let (mut a, mut r) = (vec![0.0; b.len()], vec![0.0; b.len()]);
/// cursor.push(3.5).unwrap(); // e.g. the forecast of period 400
/// cursor.row(&mut a).unwrap(); // features of period 401
/// let mut longer = history.clone();
/// longer.push(3.5);
/// b.row(&longer, 0, &mut r).unwrap();
/// assert!(a.iter().zip(&r).all(|(x, y)| x.to_bits() == y.to_bits()));
/// ```
#[derive(Clone, Debug)]
pub struct RowCursor<'a> {
    builder: &'a FeatureBuilder,
    history: Vec<f64>,
    start: i64,
    expanding: Expanding,
    ewms: Vec<Ewm>,
}

impl<'a> RowCursor<'a> {
    pub(super) fn new(
        builder: &'a FeatureBuilder,
        history: Vec<f64>,
        start: i64,
        expanding: Expanding,
        ewms: Vec<Ewm>,
    ) -> RowCursor<'a> {
        RowCursor {
            builder,
            history,
            start,
            expanding,
            ewms,
        }
    }

    /// Appends the value of the next period (`NaN` = missing; infinite is rejected).
    pub fn push(&mut self, value: f64) -> Result<()> {
        check_values(&[value])?;
        self.builder.timestamp(self.start, self.history.len() + 1)?;
        self.history.push(value);
        self.expanding.push(value);
        self.ewms.iter_mut().for_each(|e| e.push(value));
        Ok(())
    }

    /// Features of the period after the history so far; `out.len()` must be `len()`.
    pub fn row(&self, out: &mut [f64]) -> Result<()> {
        let b = self.builder;
        if out.len() != b.len() {
            return Err(Error::InvalidArgument(format!(
                "output row has {} slots, the spec has {} features",
                out.len(),
                b.len()
            )));
        }
        let ts = b.timestamp(self.start, self.history.len())?;
        b.finish_row(&self.history, ts, &self.expanding, &self.ewms, out);
        Ok(())
    }

    /// The builder this cursor makes rows for.
    pub fn builder(&self) -> &FeatureBuilder {
        self.builder
    }

    /// The history so far (the initial values plus everything pushed).
    pub fn history(&self) -> &[f64] {
        &self.history
    }
}
