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

pub mod baselines;
pub mod conformal;
pub mod fallback;
pub mod metrics;
