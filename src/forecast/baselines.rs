//! Simple reference forecasts that every model forecast is reported next to: a model that
//! cannot beat the seasonal naive forecast is not worth its cost.
//!
//! On a complete history (no `NaN`) and when the history is long enough, each baseline gives
//! exactly what statsforecast (Nixtla) gives:
//!
//! | here | statsforecast |
//! |---|---|
//! | [`Baseline::Naive`] | `Naive()` |
//! | [`Baseline::SeasonalNaive`] `{ period }` | `SeasonalNaive(season_length=period)` |
//! | [`Baseline::SeasonalAverage`] `{ period, seasons: Some(w) }` | `SeasonalWindowAverage(season_length=period, window_size=w)` |
//! | [`Baseline::WindowAverage`] `{ window }` | `WindowAverage(window_size=window)` |
//!
//! Where we differ by design (statsforecast needs complete series, we treat `NaN` as a
//! missing period):
//! - **naive** repeats the last *present* value;
//! - **seasonal naive** forecasts each phase with the value of the same phase in the most
//!   recent season where it is present (on a complete history, the last season);
//! - **seasonal average** averages the present values of the phase over the last `seasons`
//!   seasons (seasons counted back from the end of the history, aligned like
//!   statsforecast's reshape), or over all seasons when `seasons` is `None`;
//! - **window average** averages the present values among the last `window` values.
//!
//! And on short histories, where statsforecast returns `NaN` (or `NaN` for the phases it
//! has not seen), every baseline here still returns a number:
//! - a window or seasonal average with less history than it asks for averages what there is;
//! - a phase with no present value in the averaged seasons takes the seasonal naive value,
//!   and a phase never present at all takes the naive value (the last present value).
//!
//! So a baseline only fails on bad input: an empty or all-missing history, an infinite value,
//! a zero period/window/season count, a zero horizon or one above [`MAX_HORIZON`].

use serde::{Deserialize, Serialize};

use crate::data::series::first_infinite;
use crate::error::{Error, Result};

/// Largest horizon (in periods) any forecast accepts: far beyond a useful forecast (1141
/// years of hourly periods), it catches garbage sizes before they become allocations.
pub const MAX_HORIZON: usize = 10_000_000;

/// A baseline forecasting rule, serialisable so reports and settings can name it.
///
/// ```
/// use tenantml::forecast::baselines::Baseline;
/// let history = [1.0, 2.0, 3.0, 10.0, 20.0, 30.0];
/// let f = Baseline::SeasonalNaive { period: 3 }.forecast(&history, 4)?;
/// assert_eq!(f, vec![10.0, 20.0, 30.0, 10.0]);
/// let f = Baseline::SeasonalAverage { period: 3, seasons: None }.forecast(&history, 2)?;
/// assert_eq!(f, vec![5.5, 11.0]);
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Baseline {
    /// The last present value, repeated.
    Naive,
    /// The value of the same phase in the most recent season where it is present.
    SeasonalNaive {
        /// Season length in periods (e.g. 24 or 168 for hourly data).
        period: usize,
    },
    /// The mean of the present values of the same phase over the last `seasons` seasons.
    SeasonalAverage {
        /// Season length in periods.
        period: usize,
        /// How many of the most recent seasons to average; `None` = all of the history.
        seasons: Option<usize>,
    },
    /// The mean of the present values among the last `window` values, repeated.
    WindowAverage {
        /// Window length in periods.
        window: usize,
    },
}

impl Baseline {
    /// A stable snake_case name for reports and JSON keys: `naive`, `seasonal_naive_24`,
    /// `seasonal_average_168` (all seasons), `seasonal_average_168x4` (last 4 seasons),
    /// `window_average_24`.
    pub fn name(&self) -> String {
        match *self {
            Baseline::Naive => "naive".to_string(),
            Baseline::SeasonalNaive { period } => format!("seasonal_naive_{period}"),
            Baseline::SeasonalAverage {
                period,
                seasons: None,
            } => format!("seasonal_average_{period}"),
            Baseline::SeasonalAverage {
                period,
                seasons: Some(w),
            } => format!("seasonal_average_{period}x{w}"),
            Baseline::WindowAverage { window } => format!("window_average_{window}"),
        }
    }

    /// The baselines reported by default next to a model, given the detected seasonal
    /// periods: naive; per period, seasonal naive and the seasonal average of the last 4
    /// seasons; and the window average over the shortest period (omitted without periods).
    /// Zero and repeated periods are ignored.
    ///
    /// ```
    /// use tenantml::forecast::baselines::Baseline;
    /// let names: Vec<String> = Baseline::standard_set(&[24, 168]).iter().map(|b| b.name()).collect();
    /// assert_eq!(names, ["naive", "seasonal_naive_24", "seasonal_average_24x4",
    ///     "seasonal_naive_168", "seasonal_average_168x4", "window_average_24"]);
    /// ```
    pub fn standard_set(periods: &[usize]) -> Vec<Baseline> {
        let mut seen: Vec<usize> = Vec::new();
        let mut out = vec![Baseline::Naive];
        for &p in periods {
            if p == 0 || seen.contains(&p) {
                continue;
            }
            seen.push(p);
            out.push(Baseline::SeasonalNaive { period: p });
            out.push(Baseline::SeasonalAverage {
                period: p,
                seasons: Some(4),
            });
        }
        if let Some(&w) = seen.iter().min() {
            out.push(Baseline::WindowAverage { window: w });
        }
        out
    }

    /// Checks the rule's own parameters (non-zero period, window and season count).
    pub fn validate(&self) -> Result<()> {
        let bad = match *self {
            Baseline::Naive => None,
            Baseline::SeasonalNaive { period } | Baseline::SeasonalAverage { period, .. }
                if period == 0 =>
            {
                Some("period must be at least 1")
            }
            Baseline::SeasonalAverage {
                seasons: Some(0), ..
            } => Some("seasons must be at least 1 (or None for all)"),
            Baseline::WindowAverage { window: 0 } => Some("window must be at least 1"),
            _ => None,
        };
        match bad {
            Some(msg) => Err(Error::InvalidArgument(format!("{}: {msg}", self.name()))),
            None => Ok(()),
        }
    }

    /// Forecasts the `horizon` periods after `history` (oldest first, `NaN` = missing), with
    /// the NaN and short-history rules of the module documentation.
    pub fn forecast(&self, history: &[f64], horizon: usize) -> Result<Vec<f64>> {
        self.validate()?;
        let last = check_history(history, &self.name())?;
        if horizon == 0 || horizon > MAX_HORIZON {
            return Err(Error::InvalidArgument(format!(
                "{}: horizon must be between 1 and {MAX_HORIZON}, got {horizon}",
                self.name()
            )));
        }
        Ok(match *self {
            Baseline::Naive => vec![last; horizon],
            Baseline::WindowAverage { window } => {
                let from = history.len().saturating_sub(window);
                vec![mean_present(history[from..].iter().copied()).unwrap_or(last); horizon]
            }
            Baseline::SeasonalNaive { period } => tile(period, horizon, |r| {
                seasonal_naive(history, period, r, last)
            }),
            Baseline::SeasonalAverage { period, seasons } => tile(period, horizon, |r| {
                let n = history.len();
                let take = seasons.unwrap_or(usize::MAX);
                mean_present(phase_positions(n, period, r).take(take).map(|i| history[i]))
                    .unwrap_or_else(|| seasonal_naive(history, period, r, last))
            }),
        })
    }
}

/// Validates a history and returns its last present value.
fn check_history(history: &[f64], name: &str) -> Result<f64> {
    if history.is_empty() {
        return Err(Error::InvalidArgument(format!("{name}: empty history")));
    }
    if let Some(i) = first_infinite(history) {
        return Err(Error::InvalidArgument(format!(
            "{name}: infinite value at index {i} of the history"
        )));
    }
    history
        .iter()
        .rev()
        .copied()
        .find(|v| !v.is_nan())
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{name}: every value of the history is missing (NaN)"
            ))
        })
}

/// Indices of the history (newest first) in the phase of forecast step `r + 1`, `r + 1 + period`, ...
fn phase_positions(n: usize, period: usize, r: usize) -> impl Iterator<Item = usize> {
    // The newest index in that phase is n - period + r (when it exists); then every period back.
    let newest = (n + r).checked_sub(period);
    std::iter::successors(newest, move |&i| i.checked_sub(period))
}

/// The value of the phase in the most recent season where it is present, else `last`.
fn seasonal_naive(history: &[f64], period: usize, r: usize, last: f64) -> f64 {
    phase_positions(history.len(), period, r)
        .map(|i| history[i])
        .find(|v| !v.is_nan())
        .unwrap_or(last)
}

fn mean_present(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (mut sum, mut n) = (0.0, 0usize);
    for v in values.filter(|v| !v.is_nan()) {
        sum += v;
        n += 1;
    }
    (n > 0).then(|| sum / n as f64)
}

/// One value per phase (for the phases the horizon reaches), repeated over the horizon.
fn tile(period: usize, horizon: usize, phase_value: impl Fn(usize) -> f64) -> Vec<f64> {
    let phases: Vec<f64> = (0..period.min(horizon)).map(phase_value).collect();
    (0..horizon).map(|h| phases[h % period]).collect()
}
