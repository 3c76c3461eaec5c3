//! Usage forecasting: what a tenant will use in the coming periods, how sure we are, and
//! what to answer when no model can be used.
//!
//! A series is a `&[f64]` on a regular time grid (one value per period, oldest first) where
//! `NaN` marks a missing period; everything here skips missing periods instead of treating
//! them as zero.
//!
//! - [`baselines`]: naive, seasonal naive, seasonal and window averages, the reference
//!   forecasts every model forecast is reported next to (statsforecast's definitions, made
//!   NaN-aware);
//! - [`metrics`]: MAE, RMSE, MAPE, sMAPE, MASE and interval coverage (utilsforecast's
//!   definitions), and [`metrics::ForecastMetrics`] to report them side by side;
//! - [`conformal`]: prediction intervals per horizon step by split-conformal calibration on
//!   out-of-sample (backtest) residuals;
//! - [`fallback`]: the platform's rule when no model can be used, the historical average
//!   times an hour-of-day and a day-of-week multiplier.
//! - [`predictor`]: [`UsagePredictor`], a global tree-ensemble forecaster (boosting +
//!   forest blend on the features of [`crate::features::spec`]) fitted on one or many
//!   series with per-series scaling, anomaly cleaning, a target transform chosen by
//!   backtest, conformal intervals and a cold-start prior;
//! - [`predict`]: forecasting with it, recursively, with the regime that answered
//!   ([`handover`]: model, cold-start prior, blended, fallback) and
//!   [`predict::fallback_forecast`];
//! - [`backtest`]: rolling-origin cross-validation of the model beside the fallback rule
//!   and the baselines;
//! - [`evaluate`]: the cold-start hand-over measured per length of history;
//! - [`transform`]: per-series scaling and target transforms.
//!
//! ```
//! use tenantml::data::series::{Series, SeriesOptions};
//! use tenantml::forecast::{ForecastParams, UsagePredictor};
//! // Three weeks of hourly usage: busy days, quiet nights.
//! let t: Vec<i64> = (0..504).map(|i| 1_704_067_200 + i * 3600).collect();
//! let v: Vec<f64> = (0..504).map(|i| if (8..18).contains(&(i % 24)) { 20.0 } else { 4.0 }).collect();
//! let history = Series::new(&t, &v, &SeriesOptions::default())?;
//! let mut params = ForecastParams::default();
//! params.model.gbdt.rounds = 30; // small, to keep the example fast
//! params.model.forest.trees = 10;
//! let predictor = UsagePredictor::fit(&[history.clone()], &params)?;
//! let forecast = predictor.forecast(&history, 24, &[80.0, 95.0])?;
//! // The model, or a blend with the prior while the learned hand-over is not complete.
//! assert!(matches!(forecast.regime.name(), "model" | "blended"));
//! let noon = &forecast.points[12];
//! assert!(noon.forecast > 10.0 && noon.lower[0] <= noon.forecast && noon.forecast <= noon.upper[0]);
//! // A new tenant with no data yet is answered by the cold-start prior.
//! let new = predictor.forecast_values(history.end() + 3600, &[], 24, &[80.0])?;
//! assert_eq!(new.regime.name(), "cold_start_prior");
//! # Ok::<(), tenantml::Error>(())
//! ```
//!
//! Reporting baselines side by side, scaled by the in-sample seasonal naive error:
//!
//! ```
//! use tenantml::forecast::baselines::Baseline;
//! use tenantml::forecast::metrics::{mase_scale, ForecastMetrics};
//! let series: Vec<f64> = (0..24 * 14).map(|t| 10.0 + (t % 24) as f64).collect();
//! let (history, actual) = series.split_at(series.len() - 24);
//! let scale = mase_scale(history, 24)?; // 0 here: a perfectly daily series
//! for baseline in Baseline::standard_set(&[24]) {
//!     let forecast = baseline.forecast(history, actual.len())?;
//!     let m = ForecastMetrics::compute(actual, &forecast, Some(scale))?;
//!     if baseline == (Baseline::SeasonalNaive { period: 24 }) {
//!         assert_eq!(m.mae, 0.0);
//!     }
//! }
//! # Ok::<(), tenantml::Error>(())
//! ```

pub mod backtest;
pub mod baselines;
mod calibrate;
pub mod conformal;
mod drift;
mod engine;
pub mod evaluate;
pub mod fallback;
pub mod handover;
pub mod metrics;
pub mod params;
pub mod predict;
pub mod predictor;
mod prepare;
mod prior;
mod schedule;
mod training;
pub mod transform;

pub use handover::Regime;
pub use predict::{Forecast, ForecastPoint};
pub use predictor::{ForecastParams, UsagePredictor};
