//! Feature engineering for usage series: the inputs of the forecasting models.
//!
//! A series is a `&[f64]` on a regular time grid (one value per period, oldest first)
//! where `NaN` marks a missing period. Gaps stay `NaN`: nothing here zero-fills them, and
//! every statistic skips missing values rather than treating them as zero.
//!
//! - [`calendar`]: [`LocalClock`], the tenant's IANA time zone with its offsets precomputed,
//!   so hour-of-day follows the local clock across DST changes;
//! - [`spec`]: [`FeatureSpec`] (serialisable, stored with a model) and [`FeatureBuilder`],
//!   which turns a series into a feature matrix ([`FeatureBuilder::matrix`]) or one
//!   forecast-step row ([`FeatureBuilder::row`], bit-identical to the matrix row);
//! - [`seasonality`]: autocorrelation and the dominant seasonal periods with their strength
//!   (feed them to [`FeatureSpec::for_frequency`]);
//! - [`anomaly`]: z-score, IQR and robust MAD flags, optionally per seasonal phase, and
//!   cleaning of flagged values before fitting so anomalies do not poison lags.
//!
//! # Features
//!
//! Row `t` describes period `t` (timestamp `start + t * frequency`) and reads only
//! `values[..t]`: no feature ever sees the value it helps predict. Columns, in order
//! (`{k}` a lag, `{w}` a window, `{q}` the window quantile in percent, `{a}` an EWM alpha,
//! `{p}` a seasonal period, `{L}` the seasonal lookback):
//!
//! | name | value at row `t` |
//! |------|------------------|
//! | `cal_hour` | local hour of day, with minutes as a fraction (intraday frequencies only) |
//! | `cal_hour_sin`, `cal_hour_cos` | minute of the local day on a 1440-minute circle (intraday only) |
//! | `cal_dow` | local weekday, 0 = Monday .. 6 = Sunday |
//! | `cal_dow_sin`, `cal_dow_cos` | weekday on a 7-day circle |
//! | `cal_dom_sin`, `cal_dom_cos` | (day of month - 1) / days in that month, on a circle |
//! | `cal_month_sin`, `cal_month_cos` | (month - 1) / 12 on a circle |
//! | `cal_woy_sin`, `cal_woy_cos` | (ISO 8601 week - 1) / 53 on a circle |
//! | `cal_weekend` | 1 on local Saturday and Sunday, else 0 |
//! | `cal_holiday` | 1 when the local date is one of the spec's holidays, else 0 |
//! | `lag_{k}` | `values[t - k]` (`NaN` if missing or before the start) |
//! | `roll_mean_{w}`, `roll_std_{w}` | mean and std (ddof = 1) of the present values of `values[t-w..t]` |
//! | `roll_min_{w}`, `roll_max_{w}` | their minimum and maximum |
//! | `roll_q{q}_{w}` | their quantile, linear interpolation (`q50` = median) |
//! | `expanding_mean` | mean of all present values of `values[..t]` |
//! | `ewm_{a}` | EWM of `values[..t]`, seeded with the first present value, gaps skipped |
//! | `seas_mean_{p}x{L}` | mean of the present values among `values[t - j*p]`, `j = 1..=L` |
//! | `diff_1_2` | `lag_1 - lag_2` |
//! | `diff_1_{p}` | `lag_1 - lag_{p}` (`values[t-1] - values[t-p]`) |
//! | `ratio_1_mean_{w}` | `lag_1 / roll_mean_{w}` (`NaN` when the mean is 0) |
//!
//! Groups come in that order, each in the order of its spec list. Statistics are `NaN` when
//! no value is present (the std needs two); the EWM matches pandas
//! `ewm(alpha, adjust=False, ignore_na=True)` on the shifted series. With hourly defaults
//! (lags 1, 2, 3, 24, 48, 168; windows 24, 168; alphas 0.05, 0.3; seasons 24, 168 over 4
//! seasons) that is 40 features; daily defaults give 33.
//!
//! ```
//! use tenantml::features::FeatureSpec;
//! let mut spec = FeatureSpec::for_frequency(3600, &[24, 168]).unwrap();
//! spec.time_zone = Some("Europe/Berlin".into());
//! let builder = spec.compile().unwrap();
//! let values: Vec<f64> = (0..500).map(|i| 10.0 + (i % 24) as f64).collect();
//! let m = builder.matrix(&values, 1_640_995_200).unwrap();
//! assert_eq!(m.len(), values.len() * builder.len());
//! let mut next = vec![0.0; builder.len()];
//! builder.row(&values, 1_640_995_200, &mut next).unwrap(); // features of period 500
//! ```

pub mod anomaly;
pub mod calendar;
pub mod cursor;
mod lags;
pub mod seasonality;
pub mod spec;
mod windows;

pub use calendar::{LocalClock, LocalTime};
pub use cursor::RowCursor;
pub use spec::{FeatureBuilder, FeatureSpec};
