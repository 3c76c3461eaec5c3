//! Time series input for the forecaster: (timestamp, value) points laid on a regular UTC grid.
//!
//! Everything here works in UTC unix seconds. Timestamps arrive as integers or as ISO 8601 /
//! RFC 3339 strings with an explicit offset ([`parse_timestamp`]); a local time without offset
//! is refused because it is ambiguous across daylight-saving changes. Working in UTC makes a
//! DST change a non-event: `2022-03-27T01:59:59+01:00` and `2022-03-27T03:00:00+02:00` are one
//! second apart, and an hourly series has neither a duplicated nor a skipped hour.
//!
//! [`Series::new`] turns raw points into a regular series under a documented policy:
//!
//! - **Unsorted input** is sorted by timestamp (stable, so duplicates keep their input order).
//! - **Duplicate timestamps** are merged by [`DuplicatePolicy`] (default: summed, since usage
//!   counts reported twice for one period add up) or rejected.
//! - **Frequency** is given ([`SeriesOptions::frequency`]) or inferred as the most common
//!   positive difference between consecutive distinct timestamps, which a few gaps do not
//!   disturb. Every timestamp must then lie on the grid `start + k * frequency`; one that does
//!   not is an error naming it (a regular series cannot hold it without inventing values).
//! - **Gaps** (periods with no observation) become NaN and are listed in the
//!   [`SeriesReport`]; they are never zero-filled. A NaN value in the input means "observed as
//!   missing" and is treated exactly like a gap. Infinite values are an error.
//!
//! Positions in error messages are 0-based indices into the caller's arrays.
//!
//! Calendar months and years are not fixed lengths in seconds, so monthly data is out of
//! scope here; daily data given as local midnights with a DST offset change (23- or 25-hour
//! days) is off the UTC grid and is refused: give daily data as UTC days, and the tenant's
//! time zone to the calendar features ([`crate::features::calendar`]).

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Earliest accepted timestamp: 0000-01-01T00:00:00Z.
pub const MIN_TIMESTAMP: i64 = -62_167_219_200;
/// Latest accepted timestamp: 9999-12-31T23:59:59Z.
pub const MAX_TIMESTAMP: i64 = 253_402_300_799;
/// The longest regular grid [`Series::new`] builds (first to last timestamp, gaps included),
/// which guards against a unit mistake (milliseconds for seconds) allocating gigabytes. Ten
/// million periods is over a thousand years of hourly data or nineteen years of minutes.
pub const MAX_SERIES_LEN: usize = 10_000_000;

// ---------------------------------------------------------------------------------------------
// Timestamps
// ---------------------------------------------------------------------------------------------

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400; // [0, 399]
    let mp = i64::from((month + 9) % 12); // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A cursor over the bytes of a timestamp string.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Exactly `n` ASCII digits as a number, or `None` (without consuming anything).
    fn digits(&mut self, n: usize) -> Option<u32> {
        let slice = self.bytes.get(self.pos..self.pos + n)?;
        if !slice.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.pos += n;
        Some(
            slice
                .iter()
                .fold(0, |acc, d| acc * 10 + u32::from(d - b'0')),
        )
    }
}

const SHAPE: &str = "is not a timestamp (expected unix seconds, YYYY-MM-DD, or \
                     YYYY-MM-DDTHH:MM[:SS[.fff]] followed by Z or an offset like +01:00)";

/// Parses one timestamp; the error is the reason, to be prefixed with the value.
fn parse_reason(text: &str) -> std::result::Result<i64, String> {
    let s = text.trim();
    // Unix seconds: an optional minus sign and digits only (a date always has dashes).
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        let t: i64 = s
            .parse()
            .map_err(|_| "is out of range for unix seconds".to_string())?;
        check_range(t)?;
        return Ok(t);
    }

    let mut c = Cursor {
        bytes: s.as_bytes(),
        pos: 0,
    };
    let shape = || SHAPE.to_string();
    let year = c.digits(4).ok_or_else(shape)?;
    if !c.eat(b'-') {
        return Err(shape());
    }
    let month = c.digits(2).ok_or_else(shape)?;
    if !c.eat(b'-') {
        return Err(shape());
    }
    let day = c.digits(2).ok_or_else(shape)?;
    let year = i64::from(year);
    if !(1..=12).contains(&month) {
        return Err(format!("has month {month}"));
    }
    let month_days = days_in_month(year, month);
    if day < 1 || day > month_days {
        return Err(format!(
            "has day {day}, but {year:04}-{month:02} has {month_days} days"
        ));
    }
    let days = days_from_civil(year, month, day);
    if c.peek().is_none() {
        // Date only: midnight UTC, for daily data.
        return Ok(days * 86_400);
    }

    if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
        return Err(shape());
    }
    let hour = c.digits(2).ok_or_else(shape)?;
    if !c.eat(b':') {
        return Err(shape());
    }
    let minute = c.digits(2).ok_or_else(shape)?;
    let mut second = 0;
    if c.eat(b':') {
        second = c.digits(2).ok_or_else(shape)?;
        if c.eat(b'.') || c.eat(b',') {
            // Fractional seconds are accepted and dropped: the grid is whole seconds, and
            // dropping the fraction rounds down (towards the start of the period).
            let start = c.pos;
            while c.peek().is_some_and(|b| b.is_ascii_digit()) {
                c.pos += 1;
            }
            if c.pos == start {
                return Err(shape());
            }
        }
    }
    if hour > 23 {
        return Err(format!("has hour {hour}"));
    }
    if minute > 59 {
        return Err(format!("has minute {minute}"));
    }
    if second > 59 {
        return Err(format!("has second {second}"));
    }

    let offset = match c.peek() {
        None => {
            return Err(
                "has no UTC offset or 'Z': a local time is ambiguous across \
                        daylight-saving changes, so add the offset (e.g. +01:00) or Z for UTC"
                    .to_string(),
            )
        }
        Some(b'Z' | b'z') => {
            c.pos += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            c.pos += 1;
            let oh = c.digits(2).ok_or_else(shape)?;
            // +HH:MM, +HHMM, or +HH alone (PostgreSQL's timestamptz output).
            let om = if c.eat(b':') {
                c.digits(2).ok_or_else(shape)?
            } else if c.peek().is_none() {
                0
            } else {
                c.digits(2).ok_or_else(shape)?
            };
            if om > 59 || oh > 18 || (oh == 18 && om > 0) {
                return Err(format!(
                    "has offset {}{oh:02}:{om:02}, outside -18:00..+18:00",
                    sign as char
                ));
            }
            let secs = i64::from(oh * 3600 + om * 60);
            if sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        Some(_) => return Err(shape()),
    };
    if c.peek().is_some() {
        return Err(shape());
    }
    let t = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset;
    check_range(t)?;
    Ok(t)
}

fn check_range(t: i64) -> std::result::Result<(), String> {
    if (MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&t) {
        Ok(())
    } else {
        Err("is outside the years 0000-9999 in UTC (milliseconds instead of seconds?)".into())
    }
}

/// Parses a timestamp into UTC unix seconds.
///
/// Accepted: integer unix seconds (`"1704067200"`); RFC 3339 / ISO 8601 date-times with `Z` or
/// an offset (`2024-01-01T00:00:00Z`, `2022-03-27T03:00:00+02:00`; `+0200` and PostgreSQL's
/// `+02` also accepted),
/// optionally with fractional seconds (dropped, rounding down), with a space or `t` instead of
/// `T`, or without seconds (`2024-01-01T09:30Z`); and a bare date (`2024-01-01`), read as
/// midnight UTC for daily data. A date-time without offset is an error, because a local time is
/// ambiguous across daylight-saving changes. Years 0000 to 9999; leap seconds are refused.
///
/// ```
/// use tenantml::data::series::parse_timestamp;
/// assert_eq!(parse_timestamp("2024-01-01T00:00:00Z")?, 1_704_067_200);
/// assert_eq!(
///     parse_timestamp("2022-03-27T03:00:00+02:00")?,
///     parse_timestamp("2022-03-27T01:00:00Z")?
/// );
/// assert!(parse_timestamp("2024-01-01T00:00:00").is_err()); // no offset
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn parse_timestamp(text: &str) -> Result<i64> {
    parse_reason(text).map_err(|reason| Error::Parse(format!("timestamp '{text}' {reason}")))
}

/// Parses many timestamps; an error names the 0-based position and the value, e.g.
/// `timestamp 17: '2024-13-01T00:00:00Z' has month 13`.
pub fn parse_timestamps(texts: &[&str]) -> Result<Vec<i64>> {
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            parse_reason(text)
                .map_err(|reason| Error::Parse(format!("timestamp {i}: '{text}' {reason}")))
        })
        .collect()
}

/// Formats UTC unix seconds as RFC 3339 with `Z`, e.g. `2024-01-01T00:00:00Z` (the form the
/// forecast output uses). Values outside the years 0000-9999 are formatted all the same.
///
/// ```
/// use tenantml::data::series::format_timestamp;
/// assert_eq!(format_timestamp(951_822_000), "2000-02-29T11:00:00Z");
/// ```
pub fn format_timestamp(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

// ---------------------------------------------------------------------------------------------
// Options and report
// ---------------------------------------------------------------------------------------------

/// What to do with several observations for the same timestamp.
///
/// Missing (NaN) observations are ignored when merging; a timestamp whose observations are
/// all missing stays missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicatePolicy {
    /// Add them up (the default): usage is usually reported as counts, and two reports for
    /// one period (two workers, a retried flush) add up to the period's usage.
    #[default]
    Sum,
    /// Their mean: for gauges (level, temperature, queue length) read twice.
    Mean,
    /// The last one in input order: for corrections that replace an earlier report.
    Last,
    /// Refuse the input with an error naming the timestamp.
    Reject,
}

/// How [`Series::new`] reads its input. In JSON: `{"frequency": 3600, "duplicates": "sum",
/// "max_gap_periods": 48}`, every field optional, unknown fields refused.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeriesOptions {
    /// The period in seconds (3600 for hourly, 86400 for daily); `None` infers it from the
    /// data. When given, it overrides inference, and must be positive.
    pub frequency: Option<i64>,
    /// How duplicate timestamps are merged (default: summed).
    pub duplicates: DuplicatePolicy,
    /// The longest run of missing periods accepted; a longer gap is an error naming its start
    /// and length (a gap that long usually means a unit mistake or a dormant tenant whose
    /// history should be cut by the caller). `None` (the default) accepts any gap up to
    /// [`MAX_SERIES_LEN`]. Gaps are reported in [`SeriesReport::gaps`] either way.
    pub max_gap_periods: Option<usize>,
}

/// A run of consecutive missing periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// The first missing period's timestamp (UTC unix seconds).
    pub start: i64,
    /// How many consecutive periods are missing.
    pub periods: usize,
}

/// What [`Series::new`] did to the input, for logs and for the caller to check.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SeriesReport {
    /// Whether the input was out of order and had to be sorted.
    pub sorted: bool,
    /// How many input rows were merged into another row with the same timestamp (input rows
    /// minus distinct timestamps).
    pub duplicates_merged: usize,
    /// Runs of missing periods, in time order: periods without an observation, and periods
    /// observed as NaN.
    pub gaps: Vec<Gap>,
    /// The total number of missing periods (the sum of the gaps' lengths).
    pub missing_periods: usize,
    /// The period in seconds.
    pub frequency: i64,
    /// Whether the frequency was inferred (rather than given in the options).
    pub inferred_frequency: bool,
}

// ---------------------------------------------------------------------------------------------
// Series
// ---------------------------------------------------------------------------------------------

/// A regular time series in UTC: a start, a period, and one value per period, NaN where the
/// period is missing.
///
/// ```
/// use tenantml::data::series::{Series, SeriesOptions};
/// // Hourly usage, unsorted, 02:00 reported twice, 03:00 missing.
/// let series = Series::from_strings(
///     &[
///         "2024-01-01T01:00:00Z",
///         "2024-01-01T00:00:00Z",
///         "2024-01-01T02:00:00Z",
///         "2024-01-01T03:00:00+01:00", // 02:00 UTC again
///         "2024-01-01T04:00:00Z",
///     ],
///     &[2.0, 1.0, 3.0, 4.0, 5.0],
///     &SeriesOptions::default(),
/// )?;
/// assert_eq!(series.frequency(), 3600);
/// assert_eq!(series.start(), 1_704_067_200);
/// let v = series.values();
/// assert_eq!(&v[..3], &[1.0, 2.0, 7.0]); // duplicates summed
/// assert!(v[3].is_nan()); // the gap stays missing
/// assert_eq!(v[4], 5.0);
/// let report = series.report();
/// assert!(report.sorted);
/// assert_eq!(report.duplicates_merged, 1);
/// assert_eq!(report.missing_periods, 1);
/// assert_eq!(series.to_points().len(), 4);
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    start: i64,
    frequency: i64,
    values: Vec<f64>,
    report: SeriesReport,
}

impl Series {
    /// Builds a regular series from UTC unix seconds and values (see the [module
    /// docs](self) for the policy). Errors: empty input, lengths that differ, an infinite
    /// value, a timestamp outside the years 0000-9999, a duplicate under
    /// [`DuplicatePolicy::Reject`], a frequency that is not positive or cannot be inferred
    /// (one distinct timestamp), a timestamp off the grid, a gap over
    /// [`SeriesOptions::max_gap_periods`], or a grid longer than [`MAX_SERIES_LEN`].
    pub fn new(timestamps: &[i64], values: &[f64], options: &SeriesOptions) -> Result<Series> {
        check_lengths(timestamps.len(), values.len())?;
        check_frequency(options.frequency)?;
        check_points(timestamps, values)?;
        let rows: Vec<usize> = (0..timestamps.len()).collect();
        build(&rows, timestamps, values, options, None)
    }

    /// Like [`Series::new`], parsing the timestamps with [`parse_timestamps`].
    pub fn from_strings(
        timestamps: &[&str],
        values: &[f64],
        options: &SeriesOptions,
    ) -> Result<Series> {
        check_lengths(timestamps.len(), values.len())?;
        Series::new(&parse_timestamps(timestamps)?, values, options)
    }

    /// The first period's timestamp (UTC unix seconds).
    pub fn start(&self) -> i64 {
        self.start
    }

    /// The last period's timestamp (UTC unix seconds).
    pub fn end(&self) -> i64 {
        self.timestamp(self.values.len() - 1)
    }

    /// The period in seconds.
    pub fn frequency(&self) -> i64 {
        self.frequency
    }

    /// The number of periods from first to last, missing ones included.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Always false: a series has at least one period.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// One value per period; NaN marks a missing period.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The timestamp of period `i`, `start + i * frequency`. Any `i` is allowed, so
    /// `timestamp(len() + h - 1)` is the timestamp of forecast step `h`.
    pub fn timestamp(&self, i: usize) -> i64 {
        self.start + i as i64 * self.frequency
    }

    /// The timestamps of all periods, missing ones included, in order.
    pub fn timestamps(&self) -> impl ExactSizeIterator<Item = i64> + '_ {
        (0..self.values.len()).map(|i| self.timestamp(i))
    }

    /// What was done to the input.
    pub fn report(&self) -> &SeriesReport {
        &self.report
    }

    /// The observed points as (timestamp, value), without the missing periods.
    pub fn to_points(&self) -> Vec<(i64, f64)> {
        self.values
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_nan())
            .map(|(i, &v)| (self.timestamp(i), v))
            .collect()
    }
}

fn check_lengths(n_timestamps: usize, n_values: usize) -> Result<()> {
    if n_timestamps != n_values {
        return Err(Error::InvalidArgument(format!(
            "{n_timestamps} timestamps but {n_values} values; a series needs one value per \
             timestamp"
        )));
    }
    if n_timestamps == 0 {
        return Err(Error::InvalidArgument(
            "the series is empty: at least one (timestamp, value) point is needed".into(),
        ));
    }
    Ok(())
}

/// Input rows sorted and merged by timestamp.
struct Merged {
    /// Distinct timestamps, ascending.
    timestamps: Vec<i64>,
    /// Their merged values.
    values: Vec<f64>,
    /// Whether sorting was needed.
    sorted: bool,
    /// For each distinct timestamp, the first input row that had it (for error messages).
    first_rows: Vec<usize>,
}

/// Sorts and merges the rows `rows` (indices into `timestamps` / `values`, in input order).
fn sort_and_merge(
    rows: &[usize],
    timestamps: &[i64],
    values: &[f64],
    policy: DuplicatePolicy,
) -> Result<Merged> {
    // Strictly increasing timestamps (the usual case) make every point its own group.
    if rows.windows(2).all(|w| timestamps[w[0]] < timestamps[w[1]]) {
        let value = |r: usize| match (policy, values[r]) {
            (_, v) if v.is_nan() => f64::NAN,
            (DuplicatePolicy::Last, v) => v,
            // As the loop below: a sum (or mean) of one value, which turns -0 into +0.
            (_, v) => 0.0 + v,
        };
        return Ok(Merged {
            timestamps: rows.iter().map(|&r| timestamps[r]).collect(),
            values: rows.iter().map(|&r| value(r)).collect(),
            sorted: false,
            first_rows: rows.to_vec(),
        });
    }
    let sorted = rows.windows(2).any(|w| timestamps[w[0]] > timestamps[w[1]]);
    let mut order = rows.to_vec();
    if sorted {
        order.sort_by_key(|&r| timestamps[r]); // stable: duplicates keep input order
    }
    let mut ts = Vec::with_capacity(order.len());
    let mut vs = Vec::with_capacity(order.len());
    let mut first_rows = Vec::with_capacity(order.len());
    let mut i = 0;
    while i < order.len() {
        let t = timestamps[order[i]];
        let mut j = i + 1;
        while j < order.len() && timestamps[order[j]] == t {
            j += 1;
        }
        let group = &order[i..j];
        if group.len() > 1 && policy == DuplicatePolicy::Reject {
            return Err(Error::InvalidArgument(format!(
                "duplicate timestamp {} ({t}) at positions {} and {} (duplicates: reject)",
                format_timestamp(t),
                group[0],
                group[1]
            )));
        }
        let mut observed = group.iter().map(|&r| values[r]).filter(|v| !v.is_nan());
        let value = match policy {
            DuplicatePolicy::Last => observed.next_back().unwrap_or(f64::NAN),
            DuplicatePolicy::Sum | DuplicatePolicy::Mean | DuplicatePolicy::Reject => {
                let (sum, n) = observed.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
                match n {
                    0 => f64::NAN,
                    _ if policy == DuplicatePolicy::Mean => sum / n as f64,
                    _ => sum,
                }
            }
        };
        ts.push(t);
        vs.push(value);
        first_rows.push(group[0]);
        i = j;
    }
    Ok(Merged {
        timestamps: ts,
        values: vs,
        sorted,
        first_rows,
    })
}

/// Counts the steps between consecutive distinct (sorted) timestamps.
fn count_steps(ts: &[i64], counts: &mut HashMap<i64, usize>) {
    for w in ts.windows(2) {
        *counts.entry(w[1] - w[0]).or_default() += 1;
    }
}

/// The most common step; ties go to the smallest. `None` when there are no steps.
fn most_common(counts: &HashMap<i64, usize>) -> Option<i64> {
    counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(&d, _)| d)
}

/// The most common positive difference between consecutive distinct (sorted) timestamps; ties
/// go to the smallest. `None` for a single timestamp.
fn infer_frequency(ts: &[i64]) -> Option<i64> {
    let mut counts = HashMap::new();
    count_steps(ts, &mut counts);
    most_common(&counts)
}

/// The frequency at which distinct sorted timestamps form a regular series by themselves
/// (with gaps): their most common step, when there are at least two steps, that step makes up
/// at least half of them, and every step is a multiple of it. `None` for irregular or too short
/// input.
fn regular_frequency(ts: &[i64]) -> Option<i64> {
    if ts.len() < 3 {
        return None;
    }
    let f = infer_frequency(ts)?;
    let steps = ts.len() - 1;
    let hits = ts.windows(2).filter(|w| w[1] - w[0] == f).count();
    (2 * hits >= steps && ts.windows(2).all(|w| (w[1] - w[0]) % f == 0)).then_some(f)
}

/// Checks every timestamp's range and every value's finiteness (NaN allowed).
/// The index of the first infinite value, if any. A pass without branches comes first (it
/// vectorises, and forecasts run these checks on every request); the search only runs when
/// there is something to find.
///
/// ```
/// use tenantml::data::series::first_infinite;
/// assert_eq!(first_infinite(&[1.0, f64::NAN, f64::NEG_INFINITY, f64::INFINITY]), Some(2));
/// assert_eq!(first_infinite(&[1.0, f64::NAN]), None);
/// ```
pub fn first_infinite(values: &[f64]) -> Option<usize> {
    let any = values.iter().fold(false, |any, v| any | v.is_infinite());
    if any {
        values.iter().position(|v| v.is_infinite())
    } else {
        None
    }
}

fn check_points(timestamps: &[i64], values: &[f64]) -> Result<()> {
    for (r, (&t, &v)) in timestamps.iter().zip(values).enumerate() {
        check_range(t)
            .map_err(|reason| Error::InvalidArgument(format!("timestamp {r}: {t} {reason}")))?;
        if v.is_infinite() {
            return Err(Error::InvalidArgument(format!(
                "value {r} (at {}) is {v}; values must be finite, or NaN for a missing \
                 observation",
                format_timestamp(t)
            )));
        }
    }
    Ok(())
}

fn check_frequency(frequency: Option<i64>) -> Result<()> {
    match frequency {
        Some(f) if f <= 0 => Err(Error::InvalidArgument(format!(
            "frequency {f} s: the period must be a positive number of seconds"
        ))),
        _ => Ok(()),
    }
}

/// Builds one series from the rows `rows` (input order) of the input arrays, already checked
/// by [`check_points`]. `common` is a panel's frequency and whether it was inferred; without
/// it, the options' frequency is used or one is inferred.
fn build(
    rows: &[usize],
    timestamps: &[i64],
    values: &[f64],
    options: &SeriesOptions,
    common: Option<(i64, bool)>,
) -> Result<Series> {
    let Merged {
        timestamps: ts,
        values: vs,
        sorted,
        first_rows,
    } = sort_and_merge(rows, timestamps, values, options.duplicates)?;

    let given = options.frequency.map(|f| (f, false));
    let (frequency, inferred_frequency) = match common.or(given) {
        Some(known) => known,
        None => match infer_frequency(&ts) {
            Some(f) => (f, true),
            None => {
                return Err(Error::InvalidArgument(format!(
                    "cannot infer the frequency from a single timestamp ({}); give it in the \
                     options (frequency in seconds)",
                    format_timestamp(ts[0])
                )))
            }
        },
    };

    let start = ts[0];
    let last = ts[ts.len() - 1];
    let span = (last - start) / frequency;
    if span >= MAX_SERIES_LEN as i64 {
        return Err(Error::InvalidArgument(format!(
            "from {} to {} at a period of {frequency} s is {} periods, more than the limit of \
             {MAX_SERIES_LEN} (a unit mistake, or a frequency too fine?)",
            format_timestamp(start),
            format_timestamp(last),
            span as i128 + 1
        )));
    }
    // The grid index of each point. A step of exactly one period (the usual case) needs no
    // division: two integer divisions per point were most of the cost of a forecast's history.
    let mut index = Vec::with_capacity(ts.len());
    let mut at = 0usize;
    index.push(at);
    for (k, w) in ts.windows(2).enumerate() {
        let diff = w[1] - w[0];
        let periods = if diff == frequency {
            1
        } else if diff % frequency == 0 {
            diff / frequency
        } else {
            let r = first_rows[k + 1];
            return Err(Error::InvalidArgument(format!(
                "timestamp {r} ({}, {}) is off the regular grid: {diff} s after the previous \
                 timestamp, which is not a multiple of the {} period of {frequency} s{}",
                format_timestamp(w[1]),
                w[1],
                if inferred_frequency {
                    "inferred"
                } else {
                    "given"
                },
                if inferred_frequency {
                    "; give the frequency in the options if the inference is wrong"
                } else {
                    ""
                }
            )));
        };
        at += periods as usize;
        index.push(at);
    }

    let len = span as usize + 1;
    let mut grid = vec![f64::NAN; len];
    for (&i, &v) in index.iter().zip(&vs) {
        grid[i] = v;
    }

    let mut gaps = Vec::new();
    let mut i = 0;
    while i < len {
        if grid[i].is_nan() {
            let mut j = i + 1;
            while j < len && grid[j].is_nan() {
                j += 1;
            }
            gaps.push(Gap {
                start: start + i as i64 * frequency,
                periods: j - i,
            });
            i = j;
        } else {
            i += 1;
        }
    }
    if let Some(max) = options.max_gap_periods {
        if let Some(gap) = gaps.iter().find(|g| g.periods > max) {
            return Err(Error::InvalidArgument(format!(
                "a gap of {} missing periods starts at {} ({}), more than max_gap_periods = \
                 {max}",
                gap.periods,
                format_timestamp(gap.start),
                gap.start
            )));
        }
    }
    let missing_periods = gaps.iter().map(|g| g.periods).sum();
    Ok(Series {
        start,
        frequency,
        values: grid,
        report: SeriesReport {
            sorted,
            duplicates_merged: rows.len() - ts.len(),
            gaps,
            missing_periods,
            frequency,
            inferred_frequency,
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Panel
// ---------------------------------------------------------------------------------------------

/// Many series at once (one per tenant), for a global model: rows of (id, timestamp, value)
/// grouped by id into [`Series`] that share one frequency.
///
/// The id type is anything hashable and printable: `u64` tenant ids, `String` names, `&str`.
/// Every series is built under the same [`SeriesOptions`] and one frequency. When that is not
/// given, it is inferred from the *regular* series: those with at least three distinct
/// timestamps whose most common step makes up at least half of their steps and divides all of
/// them; that step is the series' own frequency. Regular series must agree; one that does not (a daily tenant in an
/// hourly panel) is an error naming it and the series it disagrees with. Irregular and short
/// series (a tenant with usage in a few scattered hours, or only one or two reports so far)
/// take the common frequency with gaps, so a tenant on its first day still has a place in the
/// panel; they must lie on its grid. With no regular series at all, the most common step
/// pooled over all series is used. Caveat: a sparse tenant whose few reports happen to be
/// evenly spaced (0h, 2h, 4h) counts as regular at that spacing; give the frequency in the
/// options when series are that sparse.
///
/// ```
/// use tenantml::data::series::{Panel, SeriesOptions};
/// let panel = Panel::new(
///     &[7u64, 7, 9, 7],
///     &[0, 3600, 0, 7200],
///     &[1.0, 2.0, 5.0, 3.0],
///     &SeriesOptions::default(),
/// )?;
/// assert_eq!(panel.ids(), &[7, 9]);
/// assert_eq!(panel.series(&7).unwrap().values(), &[1.0, 2.0, 3.0]);
/// assert_eq!(panel.series(&9).unwrap().len(), 1);
/// assert_eq!(panel.frequency(), 3600);
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Panel<K> {
    ids: Vec<K>,
    series: Vec<Series>,
    index: HashMap<K, usize>,
    frequency: i64,
}

impl<K: Clone + Eq + Hash + Display> Panel<K> {
    /// Groups the rows by id (in first-seen order) and builds one [`Series`] per id. Errors are
    /// those of [`Series::new`], prefixed with the series id; positions are rows of the
    /// combined input. Also an error: lengths that differ, no rows, regular series with
    /// different frequencies, or only single-timestamp series with no frequency given.
    pub fn new(
        ids: &[K],
        timestamps: &[i64],
        values: &[f64],
        options: &SeriesOptions,
    ) -> Result<Panel<K>> {
        if ids.len() != timestamps.len() {
            return Err(Error::InvalidArgument(format!(
                "{} series ids but {} timestamps; every row needs an id, a timestamp and a value",
                ids.len(),
                timestamps.len()
            )));
        }
        check_lengths(timestamps.len(), values.len())?;
        check_frequency(options.frequency)?;
        check_points(timestamps, values)?;
        let mut order: Vec<K> = Vec::new();
        let mut index: HashMap<K, usize> = HashMap::new();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (row, id) in ids.iter().enumerate() {
            let g = *index.entry(id.clone()).or_insert_with(|| {
                order.push(id.clone());
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[g].push(row);
        }
        let prefix = |id: &K, e: Error| match e {
            Error::InvalidArgument(m) => Error::InvalidArgument(format!("series '{id}': {m}")),
            Error::Parse(m) => Error::Parse(format!("series '{id}': {m}")),
            other => other,
        };

        // The common frequency: given, or the one every regular series shows (they must
        // agree), or failing any regular series, the most common step pooled over all series.
        let (frequency, inferred) = match options.frequency {
            Some(f) => (f, false),
            None => {
                let distinct: Vec<Vec<i64>> = groups
                    .iter()
                    .map(|rows| {
                        let mut ts: Vec<i64> = rows.iter().map(|&r| timestamps[r]).collect();
                        ts.sort_unstable();
                        ts.dedup();
                        ts
                    })
                    .collect();
                let mut agreed: Option<(i64, &K)> = None;
                for (ts, id) in distinct.iter().zip(&order) {
                    let Some(own) = regular_frequency(ts) else {
                        continue;
                    };
                    match agreed {
                        None => agreed = Some((own, id)),
                        Some((f, first)) if f != own => {
                            return Err(Error::InvalidArgument(format!(
                                "series '{id}' is regular with a period of {own} s, but series \
                                 '{first}' with {f} s; all series of a panel need the same \
                                 frequency (give it in the options if the inference is wrong)"
                            )))
                        }
                        Some(_) => {}
                    }
                }
                let mut pooled = HashMap::new();
                for ts in &distinct {
                    count_steps(ts, &mut pooled);
                }
                match agreed.map(|(f, _)| f).or_else(|| most_common(&pooled)) {
                    Some(f) => (f, true),
                    None => {
                        return Err(Error::InvalidArgument(
                            "cannot infer the frequency: every series has a single timestamp; \
                             give it in the options (frequency in seconds)"
                                .into(),
                        ))
                    }
                }
            }
        };

        let series = groups
            .iter()
            .zip(&order)
            .map(|(rows, id)| {
                build(
                    rows,
                    timestamps,
                    values,
                    options,
                    Some((frequency, inferred)),
                )
                .map_err(|e| prefix(id, e))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Panel {
            ids: order,
            series,
            index,
            frequency,
        })
    }

    /// Like [`Panel::new`], parsing the timestamps with [`parse_timestamps`].
    pub fn from_strings(
        ids: &[K],
        timestamps: &[&str],
        values: &[f64],
        options: &SeriesOptions,
    ) -> Result<Panel<K>> {
        Panel::new(ids, &parse_timestamps(timestamps)?, values, options)
    }

    /// The series of one id, if the panel has it.
    pub fn series(&self, id: &K) -> Option<&Series> {
        self.index.get(id).map(|&i| &self.series[i])
    }

    /// The ids in first-seen order.
    pub fn ids(&self) -> &[K] {
        &self.ids
    }

    /// The (id, series) pairs in first-seen order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&K, &Series)> + '_ {
        self.ids.iter().zip(&self.series)
    }

    /// The number of series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Always false: a panel has at least one series.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The period in seconds shared by every series.
    pub fn frequency(&self) -> i64 {
        self.frequency
    }
}
