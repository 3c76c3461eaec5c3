//! The model side of a forecast: training rows from scaled series, and recursive
//! multi-step prediction that feeds each step's forecast back as history for the next.

use ndarray::Array2;

use super::transform::{last_present, seasonal_base, TargetTransform};
use crate::error::{Error, Result};
use crate::features::spec::FeatureBuilder;
use crate::trees::model::Model;

/// One series as the engine sees it: already cleaned and divided by its scale.
pub(crate) struct ScaledSeries<'a> {
    pub values: &'a [f64],
    pub start: i64,
}

/// How targets are formed: the transform and the seasonal base's period and lookback.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TargetRule {
    pub transform: TargetTransform,
    pub period: usize,
    pub lookback: usize,
}

impl TargetRule {
    fn base(&self, values: &[f64], t: usize) -> f64 {
        match self.transform {
            TargetTransform::Level => 0.0,
            TargetTransform::SeasonalDifference => {
                seasonal_base(values, t, self.period, self.lookback)
            }
            TargetTransform::Difference => last_present(values, t),
        }
    }
}

/// Feature rows and targets of every period that has a present value, at least one present
/// value before it, and (for the seasonal difference) a base.
pub(crate) fn training_rows(
    builder: &FeatureBuilder,
    series: &[ScaledSeries<'_>],
    rule: TargetRule,
) -> Result<(Array2<f64>, Vec<f64>)> {
    let k = builder.len();
    let mut x: Vec<f64> = Vec::new();
    let mut y: Vec<f64> = Vec::new();
    for s in series {
        let matrix = builder.matrix(s.values, s.start)?;
        let mut seen_present = false;
        for (t, &v) in s.values.iter().enumerate() {
            if v.is_nan() {
                continue;
            }
            if !seen_present {
                seen_present = true;
                continue;
            }
            let base = rule.base(s.values, t);
            if base.is_nan() {
                continue;
            }
            x.extend_from_slice(&matrix[t * k..(t + 1) * k]);
            y.push(v - base);
        }
    }
    if y.is_empty() {
        return Err(Error::InvalidArgument(
            "no training rows: every series needs at least two present values".into(),
        ));
    }
    let rows = y.len();
    let x = Array2::from_shape_vec((rows, k), x)
        .map_err(|e| Error::InvalidArgument(format!("training matrix: {e}")))?;
    Ok((x, y))
}

/// Forecasts `horizon` periods after `history` (scaled units), feeding each forecast back.
/// `floor` (0 for non-negative usage) clamps every step.
pub(crate) fn recursive(
    builder: &FeatureBuilder,
    model: &Model,
    rule: TargetRule,
    history: &[f64],
    start: i64,
    horizon: usize,
    floor: Option<f64>,
) -> Result<Vec<f64>> {
    // The cursor keeps the expanding statistics, so a step costs O(lookback), not O(history).
    let mut cursor = builder.cursor(history, start)?;
    let mut row = vec![0.0; builder.len()];
    let mut out = Vec::with_capacity(horizon);
    for _ in 0..horizon {
        cursor.row(&mut row)?;
        let buffer = cursor.history();
        let mut base = rule.base(buffer, buffer.len());
        if base.is_nan() {
            base = 0.0;
        }
        let mut next = model.predict_row(&row)? + base;
        if let Some(f) = floor {
            next = next.max(f);
        }
        if !next.is_finite() {
            return Err(Error::InvalidArgument(format!(
                "the model produced a non-finite forecast ({next}) at step {}",
                out.len() + 1
            )));
        }
        cursor.push(next)?;
        out.push(next);
    }
    Ok(out)
}
