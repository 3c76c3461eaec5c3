//! Row pieces that read the history directly: lags, seasonal means, differences, ratios,
//! and the calendar encodings (precomputed sin/cos tables, no trigonometry per row).
//!
//! Both `FeatureBuilder::matrix` and `FeatureBuilder::row` call these same functions, which
//! is what makes a forecast-step row bit-identical to the matrix row.

use super::calendar::{days_in_month, LocalTime};
use std::f64::consts::TAU;

/// Number of date (not hour) calendar features.
pub(crate) const DATE_FEATURES: usize = 11;

/// Sin/cos of every position of each calendar cycle.
#[derive(Clone, Debug)]
pub(crate) struct CalendarTables {
    /// (fractional hour, sin, cos) of each minute of the day.
    minute_of_day: Vec<(f64, f64, f64)>,
    dow: [(f64, f64); 7],
    /// `dom[n - 28][d - 1]`: day `d` of a month of `n` days.
    dom: [[(f64, f64); 31]; 4],
    month: [(f64, f64); 12],
    woy: [(f64, f64); 53],
}

fn angle(i: usize, n: usize) -> (f64, f64) {
    let a = TAU * i as f64 / n as f64;
    (a.sin(), a.cos())
}

impl CalendarTables {
    pub(crate) fn new(with_hour: bool) -> CalendarTables {
        let minute_of_day = if with_hour {
            (0..1440)
                .map(|m| {
                    let (s, c) = angle(m, 1440);
                    ((m / 60) as f64 + (m % 60) as f64 / 60.0, s, c)
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut dom = [[(0.0, 0.0); 31]; 4];
        for (k, row) in dom.iter_mut().enumerate() {
            for (d, v) in row.iter_mut().enumerate().take(28 + k) {
                *v = angle(d, 28 + k);
            }
        }
        CalendarTables {
            minute_of_day,
            dow: std::array::from_fn(|i| angle(i, 7)),
            dom,
            month: std::array::from_fn(|i| angle(i, 12)),
            woy: std::array::from_fn(|i| angle(i, 53)),
        }
    }

    /// cal_hour (fractional with minutes), cal_hour_sin, cal_hour_cos from the seconds
    /// since local midnight.
    #[inline]
    pub(crate) fn hour(&self, second_of_day: i64, out: &mut [f64]) {
        let minute = (second_of_day / 60) as usize;
        let (h, s, c) = self.minute_of_day[minute];
        out[0] = h;
        out[1] = s;
        out[2] = c;
    }

    /// The date features (cal_dow .. cal_holiday) of a local day.
    pub(crate) fn date(&self, lt: &LocalTime, holidays: &[i64]) -> [f64; DATE_FEATURES] {
        let wd = usize::from(lt.weekday);
        let dim = days_in_month(i64::from(lt.year), u32::from(lt.month)) as usize;
        let dom = self.dom[dim - 28][usize::from(lt.day) - 1];
        let month = self.month[usize::from(lt.month) - 1];
        let woy = self.woy[usize::from(lt.iso_week) - 1];
        let holiday = holidays.binary_search(&lt.days_since_epoch).is_ok();
        [
            wd as f64,
            self.dow[wd].0,
            self.dow[wd].1,
            dom.0,
            dom.1,
            month.0,
            month.1,
            woy.0,
            woy.1,
            f64::from(u8::from(wd >= 5)),
            f64::from(u8::from(holiday)),
        ]
    }
}

/// `values[t - k]`, `NaN` before the start (a missing value stays `NaN`).
#[inline]
pub(crate) fn lag(values: &[f64], t: usize, k: usize) -> f64 {
    if k <= t {
        values[t - k]
    } else {
        f64::NAN
    }
}

/// Mean of the present values among `values[t - p], values[t - 2p], .., values[t - lp]`.
#[inline]
pub(crate) fn seasonal_mean(values: &[f64], t: usize, p: usize, l: usize, recip: &[f64]) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for j in 1..=l {
        let Some(i) = t.checked_sub(j * p) else { break };
        let x = values[i];
        if !x.is_nan() {
            sum += x;
            n += 1;
        }
    }
    if n == 0 {
        f64::NAN
    } else {
        sum * recip[n]
    }
}

/// `recip[n] = 1 / n` for `n` in `0..=max` (`recip[0]` unused, NaN).
pub(crate) fn reciprocals(max: usize) -> Vec<f64> {
    (0..=max)
        .map(|n| 1.0 / n as f64)
        .map(|r| if r.is_finite() { r } else { f64::NAN })
        .collect()
}

/// `a / b`, `NaN` when `b` is zero (or either is missing) rather than an infinity.
#[inline]
pub(crate) fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        f64::NAN
    } else {
        a / b
    }
}
