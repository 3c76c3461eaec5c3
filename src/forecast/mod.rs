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

pub mod baselines;
pub mod conformal;
pub mod fallback;
pub mod metrics;
