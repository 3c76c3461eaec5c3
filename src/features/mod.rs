//! Feature engineering for usage series: the inputs of the forecasting models.
//!
//! A series is a `&[f64]` on a regular time grid (one value per period, oldest first)
//! where `NaN` marks a missing period. Gaps stay `NaN`: nothing here zero-fills them, and
//! every statistic skips missing values rather than treating them as zero.
//!
//! The module is planned to hold (see DESIGN.md):
//! - calendar: cyclic (sin/cos) encodings of hour, weekday, month, holidays;
//! - lags: past values at periods chosen from the frequency and the detected seasonality;
//! - windows: rolling, expanding and exponentially weighted statistics of past values;
//! - [`seasonality`]: autocorrelation and the dominant seasonal periods with their strength;
//! - [`anomaly`]: z-score, IQR and robust MAD flags, optionally per seasonal phase, and
//!   cleaning of flagged values before fitting so anomalies do not poison lags;
//! - spec: a serialisable `FeatureSpec` turning a series into a matrix with stable names.
//!
//! Available now: [`seasonality`] and [`anomaly`].

pub mod anomaly;
pub mod calendar;
mod lags;
pub mod seasonality;
pub mod spec;
mod windows;

pub use calendar::{LocalClock, LocalTime};
pub use spec::{FeatureBuilder, FeatureSpec};
