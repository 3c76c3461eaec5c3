//! C ABI of usage forecasting (`tenantml::forecast`): fit a predictor on one or many
//! series, forecast with intervals and the regime that answered, the rule-based fallback,
//! backtests, and save/load as bytes or files.
//!
//! Series cross as parallel arrays of UTC unix seconds (`int64_t`) and values (`double`,
//! NaN = missing) in any order; duplicates are merged by the parameters' `duplicates`
//! policy (default: summed). Several series are passed back to back with their lengths.

use std::ffi::c_char;

use super::model::{slice_arg, TmlBytes};
use super::TmlStatus;
use super::{
    borrow, bytes_out, free_handle, guard, handle_out, optional_str_arg, out, str_arg, string_out,
};
use crate::data::series::{Series, SeriesOptions};
use crate::error::{Error, Result};
use crate::forecast::backtest::{backtest, BacktestOptions};
use crate::forecast::handover::Regime;
use crate::forecast::predict::{fallback_forecast, Forecast};
use crate::forecast::predictor::{ForecastParams, UsagePredictor};

/// A fitted usage predictor. Opaque; free with `tml_forecaster_free`. Forecasts may run on
/// many threads at once; `tml_forecaster_set_metadata_json` needs exclusive use.
pub struct TmlForecaster {
    pub(crate) predictor: UsagePredictor,
}

/// Which regime answered a forecast.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TmlRegime {
    /// The fitted model alone.
    Model = 0,
    /// The cold-start prior alone (no history yet).
    ColdStartPrior = 1,
    /// A blend of model and prior during the hand-over.
    Blended = 2,
    /// The rule-based fallback.
    Fallback = 3,
}

impl From<Regime> for TmlRegime {
    fn from(r: Regime) -> Self {
        match r {
            Regime::Model => TmlRegime::Model,
            Regime::ColdStartPrior => TmlRegime::ColdStartPrior,
            Regime::Blended => TmlRegime::Blended,
            Regime::Fallback => TmlRegime::Fallback,
        }
    }
}

/// Splits back-to-back points into series. `lengths` NULL with `n_series` 0 means one
/// series of every point (none when there are no points).
///
/// # Safety
/// Pointers as documented on the exported functions.
unsafe fn series_args(
    timestamps: *const i64,
    values: *const f64,
    n_points: usize,
    lengths: *const usize,
    n_series: usize,
    options: &SeriesOptions,
) -> Result<Vec<Series>> {
    let t = slice_arg(timestamps, n_points, "timestamps")?;
    let v = slice_arg(values, n_points, "values")?;
    let lengths: Vec<usize> = if lengths.is_null() && n_series == 0 {
        if n_points == 0 {
            Vec::new()
        } else {
            vec![n_points]
        }
    } else {
        slice_arg(lengths, n_series, "series_lengths")?.to_vec()
    };
    let total = lengths
        .iter()
        .try_fold(0usize, |a, &l| a.checked_add(l))
        .ok_or_else(|| Error::InvalidArgument("series lengths overflow".into()))?;
    if total != n_points {
        return Err(Error::InvalidArgument(format!(
            "series lengths add up to {total} but {n_points} points were given"
        )));
    }
    let mut out = Vec::with_capacity(lengths.len());
    let mut at = 0;
    for (i, &len) in lengths.iter().enumerate() {
        let s = Series::new(&t[at..at + len], &v[at..at + len], options)
            .map_err(|e| Error::InvalidArgument(format!("series {i}: {e}")))?;
        out.push(s);
        at += len;
    }
    Ok(out)
}

fn params_arg(json: Option<&str>) -> Result<ForecastParams> {
    match json {
        Some(json) => ForecastParams::from_json(json),
        None => Ok(ForecastParams::default()),
    }
}

/// Fits a predictor on `n_points` points (`timestamps`, `values`) forming `n_series` series
/// of `series_lengths[i]` points each, back to back; `series_lengths` NULL and `n_series` 0
/// mean one series. With no points at all, `params_json` must give `frequency` and
/// `synthetic_tenants` (a model learnt from the cold-start prior alone). `params_json`
/// (NULL = defaults) is a `ForecastParams` object, e.g. `{"time_zone":"Europe/Berlin"}`.
///
/// # Safety
/// Every non-NULL pointer points to as many readable values as stated; `out_forecaster` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn tml_forecaster_fit(
    timestamps: *const i64,
    values: *const f64,
    n_points: usize,
    series_lengths: *const usize,
    n_series: usize,
    params_json: *const c_char,
    out_forecaster: *mut *mut TmlForecaster,
) -> TmlStatus {
    guard(|| {
        out(out_forecaster, "out_forecaster")?;
        let params = params_arg(optional_str_arg(params_json, "params_json")?)?;
        let series = series_args(
            timestamps,
            values,
            n_points,
            series_lengths,
            n_series,
            &params.series_options(None),
        )?;
        let predictor = UsagePredictor::fit(&series, &params)?;
        handle_out(
            TmlForecaster { predictor },
            out_forecaster,
            "out_forecaster",
        )
    })
}

/// Fits the final model of `forecaster` again on new series (the same layout as
/// `tml_forecaster_fit`, of the predictor's frequency) and writes a new handle to
/// `out_forecaster`; `forecaster` stays valid. Parameters, features, seasonal periods,
/// target transform, intervals, baseline combination and hand-over are kept from the fit;
/// anomaly cleaning, the cold-start prior and the model are redone (`UsagePredictor::refit`):
/// the periodic retrain on grown data. No points at all is `TML_STATUS_INVALID_ARGUMENT`.
///
/// # Safety
/// `forecaster` is NULL or a live handle; every other non-NULL pointer points to as many
/// readable values as stated; `out_forecaster` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_forecaster_refit(
    forecaster: *const TmlForecaster,
    timestamps: *const i64,
    values: *const f64,
    n_points: usize,
    series_lengths: *const usize,
    n_series: usize,
    out_forecaster: *mut *mut TmlForecaster,
) -> TmlStatus {
    guard(|| {
        out(out_forecaster, "out_forecaster")?;
        let p = &borrow(forecaster, "forecaster")?.predictor;
        // The frequency is inferred (unless the fit's parameters fixed it), so data of
        // another frequency is refused by name rather than read as a grid full of gaps.
        let options = p.params().series_options(None);
        let series = series_args(
            timestamps,
            values,
            n_points,
            series_lengths,
            n_series,
            &options,
        )?;
        let predictor = p.refit(&series)?;
        handle_out(
            TmlForecaster { predictor },
            out_forecaster,
            "out_forecaster",
        )
    })
}

/// Releases a predictor. NULL is ignored.
///
/// # Safety
/// `forecaster` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn tml_forecaster_free(forecaster: *mut TmlForecaster) {
    free_handle(forecaster)
}

/// Output arrays of a forecast, all sized by the caller.
struct Outputs {
    timestamps: *mut i64,
    forecast: *mut f64,
    lower: *mut f64,
    upper: *mut f64,
    regime: *mut TmlRegime,
    model_weight: *mut f64,
}

/// Writes `f` into the caller's arrays: `horizon` timestamps and forecasts, and
/// `horizon * n_levels` bounds, row-major by step (step 0's levels first).
///
/// # Safety
/// Non-NULL pointers point to that many writable values.
unsafe fn write_forecast(f: &Forecast, n_levels: usize, o: &Outputs) -> Result<()> {
    let h = f.points.len();
    let ts = std::slice::from_raw_parts_mut(non_null(o.timestamps, "out_timestamps")?, h);
    let fc = std::slice::from_raw_parts_mut(non_null(o.forecast, "out_forecast")?, h);
    for (i, p) in f.points.iter().enumerate() {
        ts[i] = p.timestamp;
        fc[i] = p.forecast;
    }
    if n_levels > 0 {
        let n = h * n_levels;
        let lo = std::slice::from_raw_parts_mut(non_null(o.lower, "out_lower")?, n);
        let up = std::slice::from_raw_parts_mut(non_null(o.upper, "out_upper")?, n);
        for (i, p) in f.points.iter().enumerate() {
            lo[i * n_levels..(i + 1) * n_levels].copy_from_slice(&p.lower);
            up[i * n_levels..(i + 1) * n_levels].copy_from_slice(&p.upper);
        }
    }
    if !o.regime.is_null() {
        *o.regime = f.regime.into();
    }
    if !o.model_weight.is_null() {
        *o.model_weight = f.model_weight;
    }
    Ok(())
}

/// Forecasts into the caller's arrays (see `tml_forecaster_forecast`).
///
/// # Safety
/// As [`write_forecast`].
unsafe fn forecast_into(
    p: &UsagePredictor,
    start: i64,
    history: &[f64],
    horizon: usize,
    levels: &[f64],
    tenant_days: f64,
    outputs: &Outputs,
) -> Result<()> {
    // No levels asked: compute one (cheap) rather than the defaults, and write none.
    let asked: &[f64] = if levels.is_empty() { &[50.0] } else { levels };
    let f = p.forecast_values_aged(start, history, horizon, asked, tenant_days)?;
    write_forecast(&f, levels.len(), outputs)
}

fn non_null<T>(p: *mut T, what: &'static str) -> Result<*mut T> {
    if p.is_null() {
        Err(Error::NullPointer(what))
    } else {
        Ok(p)
    }
}

/// The history as the predictor's grid: (start, values); an empty history starts at
/// `first_timestamp`.
///
/// # Safety
/// As [`slice_arg`].
pub(crate) unsafe fn history_arg(
    p: &UsagePredictor,
    timestamps: *const i64,
    values: *const f64,
    n_points: usize,
    first_timestamp: i64,
) -> Result<(i64, Vec<f64>)> {
    if n_points == 0 {
        return Ok((first_timestamp, Vec::new()));
    }
    let t = slice_arg(timestamps, n_points, "timestamps")?;
    let v = slice_arg(values, n_points, "values")?;
    let s = Series::new(t, v, &p.params().series_options(Some(p.frequency())))?;
    Ok((s.start(), s.values().to_vec()))
}

/// Forecasts `horizon` periods after a history of `n_points` points (any order). With no
/// points (a tenant with no data yet) the forecast starts at `first_timestamp` and comes from
/// the cold-start prior; otherwise `first_timestamp` is ignored. Writes `horizon` values to
/// `out_timestamps` and `out_forecast`, and, for `n_levels` levels (percent, e.g. 80 and
/// 95), `horizon * n_levels` bounds to `out_lower` and `out_upper` (step-major: step 0's
/// levels first; both may be NULL when `n_levels` is 0). `out_regime` and
/// `out_model_weight` may be NULL. `tenant_days` is how many days of data the tenant has
/// in all when the history passed is only its recent window (0: unknown); the larger of it
/// and the history's own length picks the regime (model, blended or cold-start prior).
///
/// # Safety
/// Every non-NULL pointer points to as many values as stated (readable inputs, writable
/// outputs); `forecaster` is a live handle.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn tml_forecaster_forecast(
    forecaster: *const TmlForecaster,
    timestamps: *const i64,
    values: *const f64,
    n_points: usize,
    first_timestamp: i64,
    horizon: usize,
    levels: *const f64,
    n_levels: usize,
    tenant_days: f64,
    out_timestamps: *mut i64,
    out_forecast: *mut f64,
    out_lower: *mut f64,
    out_upper: *mut f64,
    out_regime: *mut TmlRegime,
    out_model_weight: *mut f64,
) -> TmlStatus {
    guard(|| {
        let p = &borrow(forecaster, "forecaster")?.predictor;
        let levels = slice_arg(levels, n_levels, "levels")?;
        let (start, history) = history_arg(p, timestamps, values, n_points, first_timestamp)?;
        forecast_into(
            p,
            start,
            &history,
            horizon,
            levels,
            tenant_days,
            &Outputs {
                timestamps: out_timestamps,
                forecast: out_forecast,
                lower: out_lower,
                upper: out_upper,
                regime: out_regime,
                model_weight: out_model_weight,
            },
        )
    })
}

/// The hot path of `tml_forecaster_forecast` for a history already on the predictor's grid:
/// `values[i]` is the period at `start + i * frequency` (NaN = missing), so no timestamps
/// cross and nothing is sorted. With `n_values` 0 the forecast starts at `start` (cold
/// start). Outputs as `tml_forecaster_forecast`.
///
/// # Safety
/// As `tml_forecaster_forecast`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn tml_forecaster_forecast_grid(
    forecaster: *const TmlForecaster,
    start: i64,
    values: *const f64,
    n_values: usize,
    horizon: usize,
    levels: *const f64,
    n_levels: usize,
    tenant_days: f64,
    out_timestamps: *mut i64,
    out_forecast: *mut f64,
    out_lower: *mut f64,
    out_upper: *mut f64,
    out_regime: *mut TmlRegime,
    out_model_weight: *mut f64,
) -> TmlStatus {
    guard(|| {
        let p = &borrow(forecaster, "forecaster")?.predictor;
        let levels = slice_arg(levels, n_levels, "levels")?;
        let history = slice_arg(values, n_values, "values")?;
        forecast_into(
            p,
            start,
            history,
            horizon,
            levels,
            tenant_days,
            &Outputs {
                timestamps: out_timestamps,
                forecast: out_forecast,
                lower: out_lower,
                upper: out_upper,
                regime: out_regime,
                model_weight: out_model_weight,
            },
        )
    })
}

/// Like `tml_forecaster_forecast`, returning the whole forecast as JSON (`model_name`,
/// `model_version`, `regime`, `model_weight`, `history_days`, `levels`, and `points` with
/// `timestamp`, `forecast`, `lower`, `upper`). `levels` NULL with `n_levels` 0 means the
/// fitted default levels. Free the string with `tml_string_free`.
///
/// # Safety
/// As `tml_forecaster_forecast`; `out_json` is writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn tml_forecaster_forecast_json(
    forecaster: *const TmlForecaster,
    timestamps: *const i64,
    values: *const f64,
    n_points: usize,
    first_timestamp: i64,
    horizon: usize,
    levels: *const f64,
    n_levels: usize,
    tenant_days: f64,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let p = &borrow(forecaster, "forecaster")?.predictor;
        out(out_json, "out_json")?;
        let levels = slice_arg(levels, n_levels, "levels")?;
        let (start, history) = history_arg(p, timestamps, values, n_points, first_timestamp)?;
        let f = p.forecast_values_aged(start, &history, horizon, levels, tenant_days)?;
        string_out(serde_json::to_string(&f)?, out_json, "out_json")
    })
}

/// The platform's rule without any model: historical average × local hour-of-day ×
/// day-of-week multipliers, with intervals from the rule's own residuals. `frequency` 0
/// infers it; `time_zone` NULL is UTC. Outputs as `tml_forecaster_forecast`, without the
/// regime and weight (this is the fallback regime by definition).
///
/// # Safety
/// As `tml_forecaster_forecast`; `time_zone` is NULL or a NUL-terminated string.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn tml_forecast_fallback(
    timestamps: *const i64,
    values: *const f64,
    n_points: usize,
    frequency: i64,
    time_zone: *const c_char,
    horizon: usize,
    levels: *const f64,
    n_levels: usize,
    out_timestamps: *mut i64,
    out_forecast: *mut f64,
    out_lower: *mut f64,
    out_upper: *mut f64,
) -> TmlStatus {
    guard(|| {
        let tz = optional_str_arg(time_zone, "time_zone")?;
        let levels = slice_arg(levels, n_levels, "levels")?;
        let options = SeriesOptions {
            frequency: (frequency != 0).then_some(frequency),
            ..SeriesOptions::default()
        };
        let t = slice_arg(timestamps, n_points, "timestamps")?;
        let v = slice_arg(values, n_points, "values")?;
        let history = Series::new(t, v, &options)?;
        let f = fallback_forecast(&history, horizon, levels, tz, "fallback", 0)?;
        write_forecast(
            &f,
            n_levels,
            &Outputs {
                timestamps: out_timestamps,
                forecast: out_forecast,
                lower: out_lower,
                upper: out_upper,
                regime: std::ptr::null_mut(),
                model_weight: std::ptr::null_mut(),
            },
        )
    })
}

/// Rolling-origin backtest of `params_json` (as `tml_forecaster_fit`) on the given series
/// with `options_json` (NULL = defaults; e.g. `{"horizon":24,"windows":4,"refit":false,
/// "levels":[80,95]}`): the model, the fallback rule and the baselines side by side, as
/// JSON (see `BacktestReport` in the Rust docs). Free with `tml_string_free`.
///
/// # Safety
/// As `tml_forecaster_fit`; `out_json` is writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn tml_forecast_backtest_json(
    timestamps: *const i64,
    values: *const f64,
    n_points: usize,
    series_lengths: *const usize,
    n_series: usize,
    params_json: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        out(out_json, "out_json")?;
        let params = params_arg(optional_str_arg(params_json, "params_json")?)?;
        let options: BacktestOptions = match optional_str_arg(options_json, "options_json")? {
            Some(json) => serde_json::from_str(json)
                .map_err(|e| Error::Parse(format!("backtest options: {e}")))?,
            None => BacktestOptions::default(),
        };
        let series = series_args(
            timestamps,
            values,
            n_points,
            series_lengths,
            n_series,
            &params.series_options(None),
        )?;
        let report = backtest(&series, &params, &options)?;
        string_out(serde_json::to_string(&report)?, out_json, "out_json")
    })
}

/// A JSON summary of the predictor (name, version, frequency, periods, transform, features,
/// fit summary, prior). Free with `tml_string_free`.
///
/// # Safety
/// `forecaster` is a live handle; `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_forecaster_info_json(
    forecaster: *const TmlForecaster,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let p = &borrow(forecaster, "forecaster")?.predictor;
        out(out_json, "out_json")?;
        string_out(p.info_json()?, out_json, "out_json")
    })
}

/// Sets metadata saved with the predictor (`name`, `version`, `created_at`,
/// `training_metrics`, `extra`); forecasts carry the new name and version.
///
/// # Safety
/// `forecaster` is a live handle used by no other thread during the call; `json` is a
/// NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn tml_forecaster_set_metadata_json(
    forecaster: *mut TmlForecaster,
    json: *const c_char,
) -> TmlStatus {
    guard(|| {
        let f = forecaster
            .as_mut()
            .ok_or(Error::NullPointer("forecaster"))?;
        let json = str_arg(json, "json")?;
        f.predictor.metadata_mut().update_from_json(json)
    })
}

/// The predictor file's bytes; release with `tml_bytes_free(bytes.data, bytes.len)`.
///
/// # Safety
/// `forecaster` is a live handle; `out_bytes` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_forecaster_to_bytes(
    forecaster: *const TmlForecaster,
    out_bytes: *mut TmlBytes,
) -> TmlStatus {
    guard(|| {
        let p = &borrow(forecaster, "forecaster")?.predictor;
        bytes_out(out_bytes, "out_bytes", || p.to_bytes())
    })
}

/// Reads a predictor from `len` bytes; a truncated, corrupted, foreign or newer file is
/// `TML_STATUS_BAD_MODEL_FILE`.
///
/// # Safety
/// `data` points to `len` readable bytes; `out_forecaster` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_forecaster_from_bytes(
    data: *const u8,
    len: usize,
    out_forecaster: *mut *mut TmlForecaster,
) -> TmlStatus {
    guard(|| {
        out(out_forecaster, "out_forecaster")?;
        let bytes = slice_arg(data, len, "data")?;
        let predictor = UsagePredictor::from_bytes(bytes)?;
        handle_out(
            TmlForecaster { predictor },
            out_forecaster,
            "out_forecaster",
        )
    })
}

/// Writes the predictor file atomically (temporary file, fsync, rename).
///
/// # Safety
/// `forecaster` is a live handle; `path` is a NUL-terminated UTF-8 path.
#[no_mangle]
pub unsafe extern "C" fn tml_forecaster_save(
    forecaster: *const TmlForecaster,
    path: *const c_char,
) -> TmlStatus {
    guard(|| {
        let p = &borrow(forecaster, "forecaster")?.predictor;
        p.save(str_arg(path, "path")?)
    })
}

/// Reads a predictor file.
///
/// # Safety
/// `path` is a NUL-terminated UTF-8 path; `out_forecaster` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_forecaster_load(
    path: *const c_char,
    out_forecaster: *mut *mut TmlForecaster,
) -> TmlStatus {
    guard(|| {
        out(out_forecaster, "out_forecaster")?;
        let predictor = UsagePredictor::load(str_arg(path, "path")?)?;
        handle_out(
            TmlForecaster { predictor },
            out_forecaster,
            "out_forecaster",
        )
    })
}
