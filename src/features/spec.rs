//! `FeatureSpec`: which features a forecasting model uses, serialisable and stored with it.
//!
//! The spec is plain data (serde JSON, unknown fields rejected) so a saved model rebuilds
//! exactly the features it was trained on; [`FeatureSpec::compile`] turns it into a
//! [`FeatureBuilder`] (time zone loaded, holidays parsed) that computes them. The feature
//! names and their order are a function of the spec only, documented in [`crate::features`].

use super::calendar::{date_from_days, parse_date, LocalClock};
use super::cursor::RowCursor;
use super::lags::{lag, ratio, reciprocals, seasonal_mean, CalendarTables, DATE_FEATURES};
use super::windows::{min_max, quantile_of, Ewm, Expanding, Moments, SortedWindow};
use crate::data::series::first_infinite;
use crate::error::{Error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Rows below which a feature matrix is filled on one thread (a block's start-up, which
/// replays the expanding states over the rows before it, must stay small beside its work).
const MATRIX_BLOCK_MIN_ROWS: usize = 2048;
/// At most this many blocks (threads) per feature matrix.
const MATRIX_MAX_BLOCKS: usize = 8;

/// Seconds in a day: frequencies below it get hour-of-day features.
pub(crate) const DAY: i64 = 86_400;

/// Which features to compute from a series; see [`crate::features`] for the names.
///
/// ```
/// use tenantml::features::spec::FeatureSpec;
/// let spec = FeatureSpec::for_frequency(3600, &[24, 168]).unwrap();
/// assert_eq!(spec.lags, vec![1, 2, 3, 24, 48, 168]);
/// assert!(spec.len() >= 30);
/// let json = serde_json::to_string(&spec).unwrap();
/// let back: FeatureSpec = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, spec);
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FeatureSpec {
    /// Seconds per period (3600 for hourly data).
    pub frequency: i64,
    /// Lags in periods: `lag_k` at row `t` is `values[t - k]`.
    pub lags: Vec<usize>,
    /// Rolling window lengths in periods; each gives mean, std, min, max, quantile and a ratio.
    pub windows: Vec<usize>,
    /// The quantile of the rolling windows, in [0, 1] (0.5 = rolling median).
    pub window_quantile: f64,
    /// Smoothing factors of the exponentially weighted means, in (0, 1].
    pub ewm_alphas: Vec<f64>,
    /// Seasonal periods (e.g. 24 and 168 for hourly data): seasonal means and differences.
    pub seasonal_periods: Vec<usize>,
    /// How many past seasons the seasonal rolling mean averages (same hour on previous days).
    pub seasonal_lookback: usize,
    /// IANA time zone of the calendar features (`None` = UTC).
    pub time_zone: Option<String>,
    /// Holidays as local dates "YYYY-MM-DD".
    pub holidays: Vec<String>,
}

impl Default for FeatureSpec {
    /// The hourly defaults with daily and weekly seasonality.
    fn default() -> Self {
        FeatureSpec::for_frequency(3600, &[24, 168]).expect("valid defaults")
    }
}

fn sorted_unique(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v.dedup();
    v
}

impl FeatureSpec {
    /// Defaults from the frequency and the detected seasonal periods (empty = the usual ones).
    ///
    /// Intraday data (a frequency dividing a day, with `d` periods per day): lags 1, 2, 3, d,
    /// 2d, 7d (hourly: 1, 2, 3, 24, 48, 168), windows d and 7d, seasons d and 7d. Daily data:
    /// lags 1, 7, 14, 30, windows 7 and 30, season 7. Anything else: lags 1, 2, 3, windows 4
    /// and 12. Every detected period is also a lag and a season. EWM alphas 0.05 and 0.3,
    /// median windows, 4 seasons of lookback, UTC, no holidays.
    pub fn for_frequency(frequency: i64, seasonal_periods: &[usize]) -> Result<FeatureSpec> {
        if frequency <= 0 {
            return Err(Error::InvalidArgument(format!(
                "frequency must be positive seconds, got {frequency}"
            )));
        }
        if let Some(p) = seasonal_periods.iter().find(|&&p| p < 2) {
            return Err(Error::InvalidArgument(format!(
                "seasonal period must be at least 2, got {p}"
            )));
        }
        let (lags, windows, seasons): (Vec<usize>, Vec<usize>, Vec<usize>) =
            if frequency < DAY && DAY % frequency == 0 {
                let d = (DAY / frequency) as usize;
                (
                    vec![1, 2, 3, d, 2 * d, 7 * d],
                    vec![d, 7 * d],
                    vec![d, 7 * d],
                )
            } else if frequency == DAY {
                (vec![1, 7, 14, 30], vec![7, 30], vec![7])
            } else {
                (vec![1, 2, 3], vec![4, 12], vec![])
            };
        let seasons = if seasonal_periods.is_empty() {
            seasons
        } else {
            sorted_unique(seasonal_periods.to_vec())
        };
        let lags = sorted_unique(lags.into_iter().chain(seasons.iter().copied()).collect());
        let spec = FeatureSpec {
            frequency,
            lags,
            windows: sorted_unique(windows.into_iter().filter(|&w| w >= 2).collect()),
            window_quantile: 0.5,
            ewm_alphas: vec![0.05, 0.3],
            seasonal_periods: seasons,
            seasonal_lookback: 4,
            time_zone: None,
            holidays: Vec::new(),
        };
        spec.validate_sizes()?;
        Ok(spec)
    }

    /// Checks the spec without loading the time zone or parsing holidays (see `compile`).
    fn validate_sizes(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidArgument(m));
        if self.frequency <= 0 {
            return bad(format!(
                "frequency must be positive seconds, got {}",
                self.frequency
            ));
        }
        if self.lags.contains(&0) {
            return bad("lag 0 would read the value being predicted".into());
        }
        if let Some(w) = self.windows.iter().find(|&&w| w < 2) {
            return bad(format!(
                "rolling window must be at least 2 periods, got {w}"
            ));
        }
        if !(0.0..=1.0).contains(&self.window_quantile) {
            return bad(format!(
                "window_quantile must be in [0, 1], got {}",
                self.window_quantile
            ));
        }
        if let Some(a) = self.ewm_alphas.iter().find(|a| !(**a > 0.0 && **a <= 1.0)) {
            return bad(format!("ewm alpha must be in (0, 1], got {a}"));
        }
        if let Some(p) = self.seasonal_periods.iter().find(|&&p| p < 2) {
            return bad(format!("seasonal period must be at least 2, got {p}"));
        }
        if !self.seasonal_periods.is_empty() && self.seasonal_lookback == 0 {
            return bad("seasonal_lookback must be at least 1".into());
        }
        // Keep the lookback (and the bytes a row reads) sane: ten years of minutes.
        const MAX: usize = 10 * 366 * 24 * 60;
        if self.lookback() > MAX {
            return bad(format!("lookback of {} periods is absurd", self.lookback()));
        }
        for (what, v) in [("lags", &self.lags), ("windows", &self.windows)] {
            if sorted_unique(v.clone()).len() != v.len() {
                return bad(format!("{what} contain duplicates (names would repeat)"));
            }
        }
        if sorted_unique(self.seasonal_periods.clone()).len() != self.seasonal_periods.len() {
            return bad("seasonal_periods contain duplicates".into());
        }
        let mut alphas = self.ewm_alphas.clone();
        alphas.sort_by(f64::total_cmp);
        alphas.dedup();
        if alphas.len() != self.ewm_alphas.len() {
            return bad("ewm_alphas contain duplicates".into());
        }
        Ok(())
    }

    /// Checks every field: sizes, ranges, the time zone name and the holiday dates.
    pub fn validate(&self) -> Result<()> {
        self.compile().map(|_| ())
    }

    /// Whether the calendar features include the hour of day (intraday frequencies).
    pub(crate) fn has_hour(&self) -> bool {
        self.frequency < DAY
    }

    /// The feature names, in column order; stable for a given spec.
    pub fn names(&self) -> Vec<String> {
        let mut n: Vec<String> = Vec::with_capacity(self.len());
        if self.has_hour() {
            n.extend(["cal_hour", "cal_hour_sin", "cal_hour_cos"].map(String::from));
        }
        n.extend(
            [
                "cal_dow",
                "cal_dow_sin",
                "cal_dow_cos",
                "cal_dom_sin",
                "cal_dom_cos",
                "cal_month_sin",
                "cal_month_cos",
                "cal_woy_sin",
                "cal_woy_cos",
                "cal_weekend",
                "cal_holiday",
            ]
            .map(String::from),
        );
        n.extend(self.lags.iter().map(|l| format!("lag_{l}")));
        let q = (self.window_quantile * 10_000.0).round() / 100.0;
        for w in &self.windows {
            for s in ["mean", "std", "min", "max"] {
                n.push(format!("roll_{s}_{w}"));
            }
            n.push(format!("roll_q{q}_{w}"));
        }
        n.push("expanding_mean".into());
        n.extend(self.ewm_alphas.iter().map(|a| format!("ewm_{a}")));
        let l = self.seasonal_lookback;
        n.extend(
            self.seasonal_periods
                .iter()
                .map(|p| format!("seas_mean_{p}x{l}")),
        );
        n.push("diff_1_2".into());
        n.extend(self.seasonal_periods.iter().map(|p| format!("diff_1_{p}")));
        n.extend(self.windows.iter().map(|w| format!("ratio_1_mean_{w}")));
        n
    }

    /// Number of features (columns).
    pub fn len(&self) -> usize {
        let cal = if self.has_hour() { 14 } else { 11 };
        cal + self.lags.len()
            + 6 * self.windows.len()
            + 1
            + self.ewm_alphas.len()
            + 2 * self.seasonal_periods.len()
            + 1
    }

    /// Never true (the calendar features are always there); for clippy's `len` convention.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Furthest past distance (periods) a non-expanding feature reads; history beyond it
    /// only feeds the expanding mean and the EWMs.
    pub fn lookback(&self) -> usize {
        let l = self.seasonal_lookback;
        self.lags
            .iter()
            .chain(&self.windows)
            .copied()
            .chain(self.seasonal_periods.iter().map(|p| p.saturating_mul(l)))
            .chain(self.seasonal_periods.iter().copied())
            .chain([2])
            .max()
            .unwrap_or(2)
    }

    /// Validates the spec, loads the time zone and parses the holidays.
    pub fn compile(&self) -> Result<FeatureBuilder> {
        self.validate_sizes()?;
        let clock = LocalClock::new(self.time_zone.as_deref())?;
        let mut holidays = self
            .holidays
            .iter()
            .map(|h| parse_date(h))
            .collect::<Result<Vec<i64>>>()?;
        holidays.sort_unstable();
        holidays.dedup();
        Ok(FeatureBuilder::new(self.clone(), clock, holidays))
    }
}

/// A compiled [`FeatureSpec`]: the spec, its clock and holidays, ready to compute features.
#[derive(Clone, Debug)]
pub struct FeatureBuilder {
    spec: FeatureSpec,
    clock: LocalClock,
    holidays: Vec<i64>,
    tables: CalendarTables,
    /// `1 / n` for every count a window or seasonal mean can have.
    recip: Vec<f64>,
    len: usize,
    layout: Layout,
}

/// Column offsets of each feature group.
#[derive(Clone, Copy, Debug)]
struct Layout {
    lags: usize,
    windows: usize,
    expanding: usize,
    ewm: usize,
    seasonal: usize,
    diffs: usize,
    ratios: usize,
}

/// Running state of one rolling window in `matrix`.
struct WindowState {
    w: usize,
    /// Rows until the next exact recompute of the moments (`t % w == 0`).
    countdown: usize,
    moments: Moments,
    /// Present values of the window in order: quantile, minimum and maximum.
    sorted: SortedWindow,
}

pub(super) fn check_values(values: &[f64]) -> Result<()> {
    match first_infinite(values) {
        Some(i) => Err(Error::InvalidArgument(format!(
            "value {i} is infinite (use NaN for a missing period)"
        ))),
        None => Ok(()),
    }
}

impl FeatureBuilder {
    fn new(spec: FeatureSpec, clock: LocalClock, holidays: Vec<i64>) -> FeatureBuilder {
        let cal = if spec.has_hour() { 3 } else { 0 } + DATE_FEATURES;
        let lags = cal;
        let windows = lags + spec.lags.len();
        let expanding = windows + 5 * spec.windows.len();
        let ewm = expanding + 1;
        let seasonal = ewm + spec.ewm_alphas.len();
        let diffs = seasonal + spec.seasonal_periods.len();
        let ratios = diffs + 1 + spec.seasonal_periods.len();
        let len = ratios + spec.windows.len();
        debug_assert_eq!(len, spec.len());
        FeatureBuilder {
            tables: CalendarTables::new(spec.has_hour()),
            recip: reciprocals(
                (spec.windows.iter().copied().max().unwrap_or(0)).max(spec.seasonal_lookback),
            ),
            spec,
            clock,
            holidays,
            len,
            layout: Layout {
                lags,
                windows,
                expanding,
                ewm,
                seasonal,
                diffs,
                ratios,
            },
        }
    }

    /// The spec this builder was compiled from (to store with the model).
    pub fn spec(&self) -> &FeatureSpec {
        &self.spec
    }

    /// The tenant's clock, shared with anything else that needs local hours (e.g. fallbacks).
    pub fn clock(&self) -> &LocalClock {
        &self.clock
    }

    /// Number of features per row.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true; for clippy's `len` convention.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Timestamp of period `t`, or an error when it overflows.
    pub(super) fn timestamp(&self, start: i64, t: usize) -> Result<i64> {
        i64::try_from(t)
            .ok()
            .and_then(|t| t.checked_mul(self.spec.frequency))
            .and_then(|d| start.checked_add(d))
            .ok_or_else(|| Error::InvalidArgument(format!("timestamp of period {t} overflows")))
    }

    /// The columns that describe the row's own period (hour, weekday, date, holiday): the
    /// only ones a direct multi-step model takes from the target period instead of the
    /// forecast origin. They come first in every row.
    pub(crate) fn calendar_columns(&self) -> std::ops::Range<usize> {
        0..self.layout.lags
    }

    /// The calendar columns of period `ts` into `out` (`calendar_columns().len()` values),
    /// equal to those of the matrix row of that period.
    pub(crate) fn calendar_at(&self, ts: i64, out: &mut [f64]) {
        let local = ts + i64::from(self.clock.offset_seconds(ts));
        let (days, sod) = (local.div_euclid(DAY), local.rem_euclid(DAY));
        let date = self.tables.date(&date_from_days(days), &self.holidays);
        self.fill_calendar(sod, &date, out);
    }

    /// Calendar columns of a row.
    #[inline]
    fn fill_calendar(&self, second_of_day: i64, date: &[f64; DATE_FEATURES], row: &mut [f64]) {
        let off = if self.spec.has_hour() {
            self.tables.hour(second_of_day, &mut row[..3]);
            3
        } else {
            0
        };
        row[off..off + DATE_FEATURES].copy_from_slice(date);
    }

    /// Lags, seasonal means and differences: read straight from the history.
    #[inline]
    fn fill_direct(&self, values: &[f64], t: usize, row: &mut [f64]) {
        let l = &self.layout;
        for (o, &k) in row[l.lags..].iter_mut().zip(&self.spec.lags) {
            *o = lag(values, t, k);
        }
        let lb = self.spec.seasonal_lookback;
        let lag1 = lag(values, t, 1);
        row[l.diffs] = lag1 - lag(values, t, 2);
        for (i, &p) in self.spec.seasonal_periods.iter().enumerate() {
            row[l.seasonal + i] = seasonal_mean(values, t, p, lb, &self.recip);
            row[l.diffs + 1 + i] = lag1 - lag(values, t, p);
        }
    }

    /// Ratios of lag 1 to the rolling means (already in the row).
    #[inline]
    fn fill_ratios(&self, values: &[f64], t: usize, row: &mut [f64]) {
        let l = &self.layout;
        let lag1 = lag(values, t, 1);
        for i in 0..self.spec.windows.len() {
            row[l.ratios + i] = ratio(lag1, row[l.windows + 5 * i]);
        }
    }

    /// The feature matrix, row-major `values.len() x len()`: row `t` describes period `t`
    /// (timestamp `start + t * frequency`) from `values[..t]` only; `NaN` where a feature
    /// lacks history. Values must be finite or `NaN` (missing). Series of 4096 periods and
    /// more are filled in blocks on rayon's pool (bit-identical to one sequential pass).
    pub fn matrix(&self, values: &[f64], start: i64) -> Result<Vec<f64>> {
        if values.is_empty() {
            return Err(Error::InvalidArgument(
                "feature matrix of an empty series".into(),
            ));
        }
        check_values(values)?;
        self.timestamp(start, values.len())?;
        let m = self.len;
        let mut out = vec![0.0; values.len() * m];
        // Long series are cut into blocks filled in parallel: each block rebuilds its
        // running states at its first row from the history, by the same arithmetic as the
        // sequential pass, so the matrix is bit-identical however it is cut.
        // The cut depends on the length only, never on the machine's thread count.
        let blocks = (values.len() / MATRIX_BLOCK_MIN_ROWS).clamp(1, MATRIX_MAX_BLOCKS);
        let rows_per_block = values.len().div_ceil(blocks);
        out.par_chunks_mut(rows_per_block * m)
            .enumerate()
            .for_each(|(b, chunk)| self.fill_rows(values, start, b * rows_per_block, chunk));
        Ok(out)
    }

    /// Rows `t0 .. t0 + out.len() / len()` of [`FeatureBuilder::matrix`], into `out`.
    fn fill_rows(&self, values: &[f64], start: i64, t0: usize, out: &mut [f64]) {
        let (m, l, q) = (self.len, self.layout, self.spec.window_quantile);
        let mut wins: Vec<WindowState> = (self.spec.windows.iter())
            .map(|&w| WindowState {
                w,
                countdown: w - t0 % w,
                moments: Moments::at(values, t0, w),
                sorted: SortedWindow::at(values, t0, w),
            })
            .collect();
        let (mut expanding, mut ewms) = self.pass_unchecked(&values[..t0]);
        let (mut hint, mut day, mut date) = (0usize, i64::MIN, [0.0; DATE_FEATURES]);
        let mut ts = start + t0 as i64 * self.spec.frequency;
        for (t, row) in (t0..).zip(out.chunks_exact_mut(m)) {
            if t > t0 {
                let x = values[t - 1];
                for s in wins.iter_mut() {
                    s.countdown -= 1;
                    let recompute = s.countdown == 0;
                    if recompute {
                        s.countdown = s.w;
                    }
                    s.moments.advance_known(values, t, s.w, recompute);
                    s.sorted.advance(values, t, s.w);
                }
                ewms.iter_mut().for_each(|e| e.push(x));
                expanding.push(x);
                ts += self.spec.frequency;
            }
            let local = self.clock.local_seconds_hinted(ts, &mut hint);
            let (days, sod) = (local.div_euclid(DAY), local.rem_euclid(DAY));
            if days != day {
                day = days;
                date = self.tables.date(&date_from_days(days), &self.holidays);
            }
            self.fill_calendar(sod, &date, row);
            self.fill_direct(values, t, row);
            for (i, s) in wins.iter().enumerate() {
                let (lo, hi) = s.sorted.min_max();
                let (mean, std) = s.moments.mean_std(lo, hi, &self.recip);
                row[l.windows + 5 * i..l.windows + 5 * i + 5].copy_from_slice(&[
                    mean,
                    std,
                    lo,
                    hi,
                    s.sorted.quantile(q),
                ]);
            }
            row[l.expanding] = expanding.get();
            for (o, e) in row[l.ewm..].iter_mut().zip(&ewms) {
                *o = e.get();
            }
            self.fill_ratios(values, t, row);
        }
    }

    /// Features of the period right after `history` (index `history.len()`, timestamp
    /// `start + history.len() * frequency`) from `history` only, bit-identical to that row of
    /// [`FeatureBuilder::matrix`]; this is what recursive forecasting calls once per step.
    /// `out.len()` must be `len()`. Cost: O(lookback + windows) plus one pass over the
    /// history for the expanding mean and the EWMs (~30-40 µs for a year of hourly data,
    /// bound by the EWM recurrence); for many steps in a row use
    /// [`FeatureBuilder::cursor`], which carries those states along (~2 µs per row).
    pub fn row(&self, history: &[f64], start: i64, out: &mut [f64]) -> Result<()> {
        if out.len() != self.len {
            return Err(Error::InvalidArgument(format!(
                "output row has {} slots, the spec has {} features",
                out.len(),
                self.len
            )));
        }
        let ts = self.timestamp(start, history.len())?;
        let (expanding, ewms) = self.pass(history)?;
        self.finish_row(history, ts, &expanding, &ewms, out);
        Ok(())
    }

    /// One pass over the history for the expanding mean and the EWMs, up to four EWMs at a
    /// time: fixed-size lanes keep the states in registers and their dependency chains
    /// overlap. Rejects infinite values first.
    fn pass(&self, history: &[f64]) -> Result<(Expanding, Vec<Ewm>)> {
        check_values(history)?;
        Ok(self.pass_unchecked(history))
    }

    /// [`FeatureBuilder::pass`] on values already checked to be finite or NaN.
    fn pass_unchecked(&self, history: &[f64]) -> (Expanding, Vec<Ewm>) {
        let alphas = &self.spec.ewm_alphas;
        let mut expanding = Expanding::default();
        let mut ewms = Vec::with_capacity(alphas.len());
        for c in 0..alphas.len().div_ceil(4).max(1) {
            let lane = |k: usize| alphas.get(4 * c + k).copied().unwrap_or(1.0);
            let mut e: [Ewm; 4] = std::array::from_fn(|k| Ewm::new(lane(k)));
            let expanding = (c == 0).then_some(&mut expanding);
            Ewm::push_lanes(&mut e, expanding, history);
            ewms.extend(e.into_iter().take(alphas.len().saturating_sub(4 * c)));
        }
        (expanding, ewms)
    }

    /// The row of period `history.len()` at timestamp `ts`, given the expanding states.
    pub(super) fn finish_row(
        &self,
        history: &[f64],
        ts: i64,
        expanding: &Expanding,
        ewms: &[Ewm],
        out: &mut [f64],
    ) {
        let (t, l) = (history.len(), self.layout);
        for (o, e) in out[l.ewm..].iter_mut().zip(ewms) {
            *o = e.get();
        }
        self.calendar_at(ts, out);
        self.fill_direct(history, t, out);
        let mut scratch = Vec::new();
        for (i, &w) in self.spec.windows.iter().enumerate() {
            let win = &history[t.saturating_sub(w)..t];
            let (lo, hi) = min_max(win);
            let (mean, std) = Moments::at(history, t, w).mean_std(lo, hi, &self.recip);
            let qv = quantile_of(win, self.spec.window_quantile, &mut scratch);
            out[l.windows + 5 * i..l.windows + 5 * i + 5].copy_from_slice(&[mean, std, lo, hi, qv]);
        }
        out[l.expanding] = expanding.get();
        self.fill_ratios(history, t, out);
    }

    /// A [`RowCursor`] over a copy of `history`, for recursive forecasting: each step
    /// appends the previous forecast and asks for the next row without re-reading the whole
    /// history (the expanding states are carried along). Rows equal [`FeatureBuilder::row`]
    /// bit for bit.
    pub fn cursor(&self, history: &[f64], start: i64) -> Result<RowCursor<'_>> {
        self.timestamp(start, history.len())?;
        let (expanding, ewms) = self.pass(history)?;
        Ok(RowCursor::new(
            self,
            history.to_vec(),
            start,
            expanding,
            ewms,
        ))
    }
}
