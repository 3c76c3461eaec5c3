//! The model side of a forecast: training rows from scaled series, and multi-step
//! prediction — recursive (each step's forecast is fed back as history for the next), or
//! direct for the first steps (one model per step, from the features at the origin).
//!
//! A direct model for step `h` learns, for every target period `u`, from the feature row of
//! the origin `t = u - h + 1` (built from `values[..t]` only) whose calendar columns are
//! replaced by those of `u`, and its target's base is taken from `values[..t]` too
//! ([`TargetRule::origin_base`]). For `h = 1` this is exactly the one-step model's row
//! and base, so the one-step model doubles as the first direct model.

use ndarray::{Array2, ArrayView2};

use super::transform::{last_present, seasonal_base, seasonal_base_from, TargetTransform};
use crate::drift::ModelReference;
use crate::error::{Error, Result};
use crate::features::cursor::RowCursor;
use crate::features::spec::FeatureBuilder;
use crate::trees::model::{Model, ModelParams};

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
    /// The base of the target at index `u` from the values before the origin `t <= u` only
    /// ([`seasonal_base_from`]): the seasonal base's seasons at or after `t` are passed over
    /// (not counted as missing ones), and the last present value is the last one before `t`.
    /// Equal to [`TargetRule::base`] when `u == t`.
    fn origin_base(&self, values: &[f64], t: usize, u: usize) -> f64 {
        match self.transform {
            TargetTransform::Level => 0.0,
            TargetTransform::SeasonalDifference => {
                seasonal_base_from(values, t, u, self.period, self.lookback)
            }
            TargetTransform::Difference => last_present(values, t),
        }
    }

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
    direct_training_rows(builder, series, rule, 1)
}

/// Training rows of the direct model for step `h` (see the [module docs](self)): every
/// period `u` with a present value whose origin `u - h + 1` has a present value before it
/// and a base. `h = 1` gives the one-step rows.
pub(crate) fn direct_training_rows(
    builder: &FeatureBuilder,
    series: &[ScaledSeries<'_>],
    rule: TargetRule,
    h: usize,
) -> Result<(Array2<f64>, Vec<f64>)> {
    let k = builder.len();
    let calendar = builder.calendar_columns();
    let mut x: Vec<f64> = Vec::new();
    let mut y: Vec<f64> = Vec::new();
    for s in series {
        let matrix = builder.matrix(s.values, s.start)?;
        let Some(first) = s.values.iter().position(|v| !v.is_nan()) else {
            continue;
        };
        // Origins need a present value before them: t > first.
        for u in (first + h)..s.values.len() {
            let v = s.values[u];
            if v.is_nan() {
                continue;
            }
            let t = u + 1 - h;
            let base = rule.origin_base(s.values, t, u);
            if base.is_nan() {
                continue;
            }
            let at = x.len();
            x.extend_from_slice(&matrix[t * k..(t + 1) * k]);
            if h > 1 {
                let row = &mut x[at..at + k];
                row[calendar.clone()].copy_from_slice(&matrix[u * k..u * k + calendar.end]);
            }
            y.push(v - base);
        }
    }
    if y.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "no training rows{}: every series needs at least two present values",
            if h > 1 {
                format!(" for direct step {h}")
            } else {
                String::new()
            }
        )));
    }
    let rows = y.len();
    let x = Array2::from_shape_vec((rows, k), x)
        .map_err(|e| Error::InvalidArgument(format!("training matrix: {e}")))?;
    Ok((x, y))
}

/// The one-step model and the direct models for steps 2..=`direct_steps` (empty for a
/// recursive forecaster), fitted on the same series. Step models are fitted in turn (each
/// fit is parallel inside); the seed of step `h` is the base seed plus `h - 1`. With
/// `keep_reference`, also the drift reference of the one-step model's training features
/// (scaled units; rows with every feature present), without the calendar columns (functions of the clock, which "drift" as
/// time passes whatever the data does) and without predictions (the model's are in the
/// target transform's units).
pub(crate) fn fit_step_models(
    builder: &FeatureBuilder,
    series: &[ScaledSeries<'_>],
    rule: TargetRule,
    params: &ModelParams,
    direct_steps: usize,
    keep_reference: bool,
) -> Result<StepModels> {
    let (x, y) = training_rows(builder, series, rule)?;
    let one_step = Model::fit(ArrayView2::from(&x), &y, None, None, params)?;
    let rows = y.len();
    // A feature with no finite training value (a weekly lag on a series shorter than a
    // week) cannot be summarised: such a model stores no reference rather than failing.
    let reference = keep_reference
        .then(|| {
            let data = builder.calendar_columns().end;
            let names = &one_step.feature_names()[data..];
            let x = super::drift::complete_rows(x.slice(ndarray::s![.., data..]));
            ModelReference::of_features(x.view(), names, params.seed.unwrap_or(0)).ok()
        })
        .flatten();
    drop((x, y));
    let mut direct = Vec::new();
    for h in 2..=direct_steps {
        let (x, y) = direct_training_rows(builder, series, rule, h)?;
        let mut p = params.clone();
        p.seed = params.seed.map(|s| s.wrapping_add(h as u64 - 1));
        direct.push(Model::fit(ArrayView2::from(&x), &y, None, None, &p)?);
    }
    Ok(StepModels {
        one_step,
        direct,
        rows,
        reference,
    })
}

/// What [`fit_step_models`] fitted.
pub(crate) struct StepModels {
    pub one_step: Model,
    pub direct: Vec<Model>,
    /// Training rows of the one-step model.
    pub rows: usize,
    pub reference: Option<ModelReference>,
}

/// Forecasts `horizon` periods after `history` (scaled units): the first
/// `direct.len() + 1` steps by the step models from the origin's features when `direct` is
/// not empty, the rest recursively from the history extended by those forecasts.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forecast_steps(
    builder: &FeatureBuilder,
    model: &Model,
    direct: &[Model],
    rule: TargetRule,
    history: &[f64],
    start: i64,
    horizon: usize,
    floor: Option<f64>,
) -> Result<Vec<f64>> {
    let mut cursor = builder.cursor(history, start)?;
    let mut out = Vec::with_capacity(horizon);
    if !direct.is_empty() {
        let n = history.len();
        let mut row = vec![0.0; builder.len()];
        cursor.row(&mut row)?;
        let calendar = builder.calendar_columns();
        let frequency = builder.spec().frequency;
        for h in 1..=(direct.len() + 1).min(horizon) {
            let step_model = if h == 1 { model } else { &direct[h - 2] };
            if h > 1 {
                let ts = start + (n + h - 1) as i64 * frequency;
                builder.calendar_at(ts, &mut row[calendar.clone()]);
            }
            let mut base = rule.origin_base(history, n, n + h - 1);
            if base.is_nan() {
                base = 0.0;
            }
            out.push(finish_step(step_model.predict_row(&row)? + base, floor, h)?);
        }
        for &v in &out {
            cursor.push(v)?;
        }
    }
    recursive_from(cursor, model, rule, horizon, floor, out)
}

fn finish_step(value: f64, floor: Option<f64>, step: usize) -> Result<f64> {
    let value = floor.map_or(value, |f| value.max(f));
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::InvalidArgument(format!(
            "the model produced a non-finite forecast ({value}) at step {step}"
        )))
    }
}

/// Continues `out` recursively up to `horizon` steps from the cursor (whose history already
/// ends with `out`). The cursor keeps the expanding statistics, so a step costs
/// O(lookback), not O(history).
fn recursive_from(
    mut cursor: RowCursor<'_>,
    model: &Model,
    rule: TargetRule,
    horizon: usize,
    floor: Option<f64>,
    mut out: Vec<f64>,
) -> Result<Vec<f64>> {
    let mut row = vec![0.0; cursor.builder().len()];
    while out.len() < horizon {
        cursor.row(&mut row)?;
        let buffer = cursor.history();
        let mut base = rule.base(buffer, buffer.len());
        if base.is_nan() {
            base = 0.0;
        }
        let next = finish_step(model.predict_row(&row)? + base, floor, out.len() + 1)?;
        cursor.push(next)?;
        out.push(next);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::spec::FeatureSpec;
    use crate::trees::model::ModelKind;

    const START: i64 = 1_704_067_200;

    fn wave(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let missing = i % 37 == 5;
                if missing {
                    f64::NAN
                } else {
                    2.0 + ((i % 24) as f64 * 0.26).sin() + 0.01 * (i % 7) as f64
                }
            })
            .collect()
    }

    fn builder() -> FeatureBuilder {
        FeatureSpec::for_frequency(3600, &[24])
            .unwrap()
            .compile()
            .unwrap()
    }

    const RULE: TargetRule = TargetRule {
        transform: TargetTransform::SeasonalDifference,
        period: 24,
        lookback: 2,
    };

    #[test]
    fn direct_rows_see_only_the_origin_history_and_the_target_calendar() {
        let b = builder();
        let values = wave(300);
        let h = 5;
        let series = [ScaledSeries {
            values: &values,
            start: START,
        }];
        let (x, y) = direct_training_rows(&b, &series, RULE, h).unwrap();
        let (k, cal) = (b.len(), b.calendar_columns());
        // Rebuild every row from a history perturbed from the origin on: the row and the
        // target's base must not move (no look-ahead past the origin).
        let mut row = 0;
        let first = values.iter().position(|v| !v.is_nan()).unwrap();
        for u in (first + h)..values.len() {
            if values[u].is_nan() {
                continue;
            }
            let t = u + 1 - h;
            let mut perturbed = values.clone();
            for v in &mut perturbed[t..] {
                *v = 1e3;
            }
            let mut expected = vec![0.0; k];
            b.row(&perturbed[..t], START, &mut expected).unwrap();
            let mut calendar = vec![0.0; cal.len()];
            b.calendar_at(START + u as i64 * 3600, &mut calendar);
            expected[cal.clone()].copy_from_slice(&calendar);
            let got = x.row(row).to_vec();
            assert!(
                got.iter()
                    .zip(&expected)
                    .all(|(a, e)| a.to_bits() == e.to_bits()),
                "u={u}"
            );
            let base = RULE.origin_base(&perturbed, t, u);
            assert_eq!(y[row].to_bits(), (values[u] - base).to_bits(), "u={u}");
            row += 1;
        }
        assert_eq!(row, y.len());
    }

    #[test]
    fn origin_base_equals_the_one_step_base_at_the_origin() {
        let values = wave(200);
        for rule in [
            RULE,
            TargetRule {
                transform: TargetTransform::Difference,
                ..RULE
            },
        ] {
            for t in 1..200 {
                let (a, b) = (rule.origin_base(&values, t, t), rule.base(&values, t));
                assert!(a.to_bits() == b.to_bits(), "t={t}");
            }
        }
        // Seasons at or after the origin are unknown: the base falls back to an earlier
        // season, else the last value before the origin.
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let rule = TargetRule {
            transform: TargetTransform::SeasonalDifference,
            period: 2,
            lookback: 2,
        };
        assert_eq!(rule.origin_base(&v, 3, 5), 2.0); // season 3 is at the origin: season 1
        assert_eq!(rule.origin_base(&v, 3, 6), 3.0); // season 4 is after it: season 2
        let none = TargetRule {
            lookback: 1,
            ..rule
        };
        assert_eq!(none.origin_base(&v, 3, 5), 3.0); // no season before it: the last value
    }

    #[test]
    fn direct_forecast_steps_use_their_own_models_then_continue_recursively() {
        let b = builder();
        let values = wave(400);
        let series = [ScaledSeries {
            values: &values,
            start: START,
        }];
        let mut params = ModelParams {
            model: ModelKind::Gbdt,
            seed: Some(3),
            ..ModelParams::default()
        };
        params.gbdt.rounds = 20;
        let StepModels {
            one_step: one,
            direct,
            rows,
            ..
        } = fit_step_models(&b, &series, RULE, &params, 4, false).unwrap();
        assert_eq!(direct.len(), 3);
        assert!(rows > 300);
        let history = &values[..350];
        let f = forecast_steps(&b, &one, &direct, RULE, history, START, 8, None).unwrap();
        assert_eq!(f.len(), 8);
        // Step 3 by hand: the origin row with the calendar of period 352, model 3.
        let mut row = vec![0.0; b.len()];
        b.row(history, START, &mut row).unwrap();
        let cal = b.calendar_columns();
        b.calendar_at(START + 352 * 3600, &mut row[cal]);
        let step3 = direct[1].predict_row(&row).unwrap() + RULE.origin_base(history, 350, 352);
        assert_eq!(f[2].to_bits(), step3.to_bits());
        // Step 5 is recursive from the history extended by steps 1..4.
        let mut extended = history.to_vec();
        extended.extend_from_slice(&f[..4]);
        b.row(&extended, START, &mut row).unwrap();
        let step5 = one.predict_row(&row).unwrap() + RULE.base(&extended, 354);
        assert_eq!(f[4].to_bits(), step5.to_bits());
        // Without direct models every step is recursive, and step 1 is the same either way.
        let r = forecast_steps(&b, &one, &[], RULE, history, START, 8, None).unwrap();
        assert_eq!(r[0].to_bits(), f[0].to_bits());
        assert_ne!(r[2].to_bits(), f[2].to_bits());
    }
}
