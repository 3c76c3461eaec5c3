//! Learning the hand-over schedule when fitting (see [`handover`](super::handover)): the
//! prior and a model that has not seen the evaluation windows, forecast from histories cut
//! to each length of [`SCHEDULE_DAYS`], blended at weights 0, 0.1, ..., 1.

use super::handover::{HandoverPoint, SCHEDULE_DAYS};
use super::predictor::UsagePredictor;
use super::transform::series_scale;
use crate::data::series::Series;
use crate::error::Result;

/// At most this many series and origins per series are used, bounding the cost.
const MAX_SERIES: usize = 30;
const MAX_ORIGINS: usize = 2;
const GRID: usize = 10;

/// The learned schedule, empty when no window fits. `predictor` must carry the calibration
/// model (fitted before each series' first origin), `origins[i]` the window origins of
/// `series[i]`.
pub(crate) fn learn_schedule(
    predictor: &UsagePredictor,
    series: &[Series],
    origins: &[Vec<usize>],
    horizon: usize,
) -> Result<Vec<HandoverPoint>> {
    let freq = predictor.frequency();
    let mut schedule: Vec<HandoverPoint> = Vec::new();
    for days in SCHEDULE_DAYS {
        let len = (days * 86_400.0 / freq as f64).round() as usize;
        if len == 0 {
            continue;
        }
        // Error of each blend weight, summed over windows in units of each series' scale.
        let mut error = [0.0f64; GRID + 1];
        let mut windows = 0usize;
        for (s, cuts) in series.iter().zip(origins).take(MAX_SERIES) {
            let values = s.values();
            for &origin in cuts.iter().rev().take(MAX_ORIGINS) {
                if origin < len || origin + horizon > values.len() {
                    continue;
                }
                let history = &values[origin - len..origin];
                if history.iter().all(|v| v.is_nan()) {
                    continue;
                }
                let start = s.timestamp(origin - len);
                let model = predictor.forecast_weighted(start, history, horizon, &[], Some(1.0))?;
                let prior = predictor.forecast_weighted(start, history, horizon, &[], Some(0.0))?;
                let scale = series_scale(&values[..origin]);
                for (h, &actual) in values[origin..origin + horizon].iter().enumerate() {
                    if actual.is_nan() {
                        continue;
                    }
                    let (m, p) = (model.points[h].forecast, prior.points[h].forecast);
                    for (g, e) in error.iter_mut().enumerate() {
                        let w = g as f64 / GRID as f64;
                        *e += (actual - (w * m + (1.0 - w) * p)).abs() / scale;
                    }
                }
                windows += 1;
            }
        }
        if windows == 0 {
            break;
        }
        // The lowest error; on a tie, the heavier model weight.
        let best = (0..=GRID)
            .rev()
            .min_by(|&a, &b| error[a].total_cmp(&error[b]))
            .expect("grid is not empty");
        let mut weight = best as f64 / GRID as f64;
        if let Some(last) = schedule.last() {
            weight = weight.max(last.weight);
        }
        schedule.push(HandoverPoint { days, weight });
    }
    Ok(schedule)
}
