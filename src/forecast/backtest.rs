//! Rolling-origin backtesting: the model against the built-in baselines on the same windows.
//!
//! For each series, `windows` origins are placed at the end, `step` periods apart, the last
//! one `horizon` periods before the series' end. Without `refit` one predictor is fitted on
//! every series cut before its first origin and forecasts every window from the true history
//! before the window's origin; with `refit` a predictor is fitted per window on the data
//! before that window's origin (slower, closer to production retraining).
//!
//! Metrics pool every (series, window, step) point: MAE, RMSE, MAPE, sMAPE on the raw values,
//! MASE on values divided by each series' in-sample seasonal-naive MAE (the history before
//! its first origin, main period), and the empirical coverage of each interval level.

use serde::{Deserialize, Serialize};

use super::baselines::Baseline;
use super::metrics::{coverage, mase_scale, ForecastMetrics};
use super::predict::{check_horizon, fallback_forecast};
use super::predictor::{check_levels, ForecastParams, UsagePredictor};
use crate::data::series::{Series, SeriesOptions};
use crate::error::{Error, Result};

/// How to backtest. `{"horizon": 24}` is enough in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BacktestOptions {
    /// Periods forecast from each origin.
    pub horizon: usize,
    /// Origins per series.
    pub windows: usize,
    /// Periods between origins; `None` is the horizon (windows that tile the end).
    pub step: Option<usize>,
    /// Refit the predictor at every origin.
    pub refit: bool,
    /// Interval levels in percent whose coverage is measured.
    pub levels: Vec<f64>,
}

impl Default for BacktestOptions {
    fn default() -> Self {
        BacktestOptions {
            horizon: 24,
            windows: 4,
            step: None,
            refit: false,
            levels: vec![80.0, 95.0],
        }
    }
}

/// One method's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodScore {
    /// `model`, `fallback_rule`, `naive`, `seasonal_naive_24`, ...
    pub name: String,
    /// Pooled accuracy.
    pub metrics: ForecastMetrics,
    /// (level, share of actual values inside the interval), for methods with intervals.
    pub coverage: Vec<(f64, f64)>,
}

/// One window of one series, for plots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestWindow {
    /// Index of the series in the input.
    pub series: usize,
    /// Timestamps of the forecast periods.
    pub timestamps: Vec<i64>,
    /// Actual values (NaN where missing).
    pub actual: Vec<f64>,
    /// The model's forecast.
    pub forecast: Vec<f64>,
    /// Lower bound of the first level.
    pub lower: Vec<f64>,
    /// Upper bound of the first level.
    pub upper: Vec<f64>,
}

/// The result of [`backtest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestReport {
    /// The options used.
    pub options: BacktestOptions,
    /// The model first, then the fallback rule and the baselines.
    pub methods: Vec<MethodScore>,
    /// Every window.
    pub windows: Vec<BacktestWindow>,
    /// The transform the (last) fitted predictor chose.
    pub transform: String,
    /// The seasonal periods used.
    pub periods: Vec<usize>,
}

impl BacktestReport {
    /// The score of a method by name.
    pub fn method(&self, name: &str) -> Option<&MethodScore> {
        self.methods.iter().find(|m| m.name == name)
    }
}

struct Collector {
    actual: Vec<f64>,
    forecast: Vec<f64>,
    scaled_actual: Vec<f64>,
    scaled_forecast: Vec<f64>,
    lower: Vec<Vec<f64>>,
    upper: Vec<Vec<f64>>,
}

impl Collector {
    fn new(levels: usize) -> Self {
        Collector {
            actual: Vec::new(),
            forecast: Vec::new(),
            scaled_actual: Vec::new(),
            scaled_forecast: Vec::new(),
            lower: vec![Vec::new(); levels],
            upper: vec![Vec::new(); levels],
        }
    }

    fn push(&mut self, actual: &[f64], forecast: &[f64], scale: f64) {
        self.actual.extend_from_slice(actual);
        self.forecast.extend_from_slice(forecast);
        self.scaled_actual.extend(actual.iter().map(|a| a / scale));
        self.scaled_forecast
            .extend(forecast.iter().map(|f| f / scale));
    }

    fn score(&self, name: String, levels: &[f64]) -> Result<MethodScore> {
        let mut metrics = ForecastMetrics::compute(&self.actual, &self.forecast, None)?;
        metrics.mase =
            Some(ForecastMetrics::compute(&self.scaled_actual, &self.scaled_forecast, None)?.mae);
        let coverage = if self.lower[0].is_empty() {
            Vec::new()
        } else {
            levels
                .iter()
                .enumerate()
                .map(|(i, &l)| Ok((l, coverage(&self.actual, &self.lower[i], &self.upper[i])?)))
                .collect::<Result<Vec<_>>>()?
        };
        Ok(MethodScore {
            name,
            metrics,
            coverage,
        })
    }
}

/// Backtests `params` on `series` (see the [module docs](self)).
///
/// Errors: a horizon of 0, no window fitting in any series (each needs room for its
/// windows plus two seasons of training), invalid levels or parameters.
pub fn backtest(
    series: &[Series],
    params: &ForecastParams,
    options: &BacktestOptions,
) -> Result<BacktestReport> {
    check_horizon(options.horizon)?;
    check_levels(&options.levels)?;
    if options.levels.is_empty() || options.windows == 0 || options.step == Some(0) {
        return Err(Error::InvalidArgument(
            "backtest needs at least one level, one window and a step of at least 1".into(),
        ));
    }
    let h = options.horizon;
    let step = options.step.unwrap_or(h);
    let span = h + (options.windows - 1) * step;
    // Origins per series, earliest first; a series needs some history before them.
    let origins: Vec<Vec<usize>> = series
        .iter()
        .map(|s| {
            let n = s.len();
            if n < span + 2 * h.max(2) {
                Vec::new()
            } else {
                (0..options.windows).map(|k| n - span + k * step).collect()
            }
        })
        .collect();
    if origins.iter().all(|o| o.is_empty()) {
        return Err(Error::InvalidArgument(format!(
            "no series is long enough for {} windows of {h} periods {step} apart plus training data",
            options.windows
        )));
    }
    let cut = |s: &Series, end: usize| -> Result<Series> {
        let t: Vec<i64> = (0..end).map(|i| s.timestamp(i)).collect();
        Series::new(
            &t,
            &s.values()[..end],
            &SeriesOptions {
                frequency: Some(s.frequency()),
                ..SeriesOptions::default()
            },
        )
    };
    let fit_at = |k: Option<usize>| -> Result<UsagePredictor> {
        let train: Vec<Series> = series
            .iter()
            .zip(&origins)
            .filter(|(_, o)| !o.is_empty())
            .map(|(s, o)| cut(s, o[k.unwrap_or(0)]))
            .collect::<Result<_>>()?;
        UsagePredictor::fit(&train, params)
    };

    let levels = &options.levels;
    let mut model = Collector::new(levels.len());
    let mut fallback = Collector::new(levels.len());
    let mut windows = Vec::new();
    let mut predictor = if options.refit {
        None
    } else {
        Some(fit_at(None)?)
    };
    let mut baselines: Vec<Baseline> = Vec::new();
    let mut base_collect: Vec<Collector> = Vec::new();
    for k in 0..options.windows {
        if options.refit {
            predictor = Some(fit_at(Some(k))?);
        }
        let p = predictor.as_ref().expect("fitted above");
        if baselines.is_empty() {
            baselines.push(Baseline::Naive);
            for &period in p.periods() {
                if period >= 2 {
                    baselines.push(Baseline::SeasonalNaive { period });
                }
            }
            let main = p.periods()[0];
            if main >= 2 {
                baselines.push(Baseline::SeasonalAverage {
                    period: main,
                    seasons: Some(4),
                });
            }
            base_collect = baselines.iter().map(|_| Collector::new(1)).collect();
        }
        let main = p.periods()[0].max(1);
        for (i, s) in series.iter().enumerate() {
            let Some(&origin) = origins[i].get(k) else {
                continue;
            };
            let first = origins[i][0];
            let scale = mase_scale(&s.values()[..first], main)
                .ok()
                .filter(|v| *v > 0.0 && v.is_finite())
                .unwrap_or(1.0);
            let history = &s.values()[..origin];
            let actual = &s.values()[origin..origin + h];
            let f = p.forecast_values(s.start(), history, h, levels)?;
            let values = f.values();
            model.push(actual, &values, scale);
            for (l, _) in levels.iter().enumerate() {
                model.lower[l].extend(f.points.iter().map(|pt| pt.lower[l]));
                model.upper[l].extend(f.points.iter().map(|pt| pt.upper[l]));
            }
            let hist_series = cut(s, origin)?;
            if let Ok(fb) = fallback_forecast(
                &hist_series,
                h,
                levels,
                p.feature_spec().time_zone.as_deref(),
                "fallback",
                0,
            ) {
                let fv = fb.values();
                fallback.push(actual, &fv, scale);
                for (l, _) in levels.iter().enumerate() {
                    fallback.lower[l].extend(fb.points.iter().map(|pt| pt.lower[l]));
                    fallback.upper[l].extend(fb.points.iter().map(|pt| pt.upper[l]));
                }
            }
            for (b, c) in baselines.iter().zip(base_collect.iter_mut()) {
                c.push(actual, &b.forecast(history, h)?, scale);
            }
            windows.push(BacktestWindow {
                series: i,
                timestamps: f.points.iter().map(|pt| pt.timestamp).collect(),
                actual: actual.to_vec(),
                forecast: values,
                lower: f.points.iter().map(|pt| pt.lower[0]).collect(),
                upper: f.points.iter().map(|pt| pt.upper[0]).collect(),
            });
        }
    }
    let p = predictor.expect("fitted above");
    let mut methods = vec![model.score("model".into(), levels)?];
    if !fallback.actual.is_empty() {
        methods.push(fallback.score("fallback_rule".into(), levels)?);
    }
    for (b, c) in baselines.iter().zip(&base_collect) {
        methods.push(c.score(b.name(), levels)?);
    }
    Ok(BacktestReport {
        options: options.clone(),
        methods,
        windows,
        transform: p.transform().name().to_string(),
        periods: p.periods().to_vec(),
    })
}
