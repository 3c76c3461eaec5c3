//! Series preparation shared by fitting and forecasting: anomaly cleaning, per-series
//! scaling, the frequency and seasonal periods of a panel, and how many synthetic tenants a
//! fit adds.

use super::params::ForecastParams;
use super::transform::series_scale;
use crate::data::series::Series;
use crate::error::{Error, Result};
use crate::features::anomaly::{clean, detect_anomalies, AnomalyMethod, CleanMode};
use crate::features::seasonality::{detect_seasonality, SeasonalityOptions};

/// The natural seasonal periods of a frequency: a day and a week, when they are whole
/// numbers of periods above 1.
pub fn natural_periods(frequency: i64) -> Vec<usize> {
    [86_400i64, 7 * 86_400]
        .iter()
        .filter(|&&s| s % frequency == 0 && s / frequency >= 2)
        .map(|&s| (s / frequency) as usize)
        .collect()
}

/// The seasonal period anomalies are judged in: the longest of the series' periods, so
/// that with a weekly cycle a value is compared with the same hour on other weeks. Judged
/// within the day instead, the quiet weekend hours of a busy weekday hour stood out, and on
/// the forecast path (two weeks of history, 14 values per phase) they were "cleaned" into
/// weekday values before the lags saw them. 1 without periods.
pub(crate) fn cleaning_period(periods: &[usize]) -> usize {
    periods.iter().copied().max().unwrap_or(1).max(1)
}

/// A series cleaned of anomalies (if asked) and scaled, kept with its scale.
pub(crate) struct Prepared {
    pub values: Vec<f64>,
    pub start: i64,
    pub scale: f64,
    pub cleaned: usize,
}

/// Cleans (when asked) and scales a series. With `tail`, only the last `tail` values are
/// checked for anomalies, against each other: a forecast needs its recent lags clean, and
/// checking a whole year of history on every request would cost more than the forecast.
pub(crate) fn prepare(
    values: &[f64],
    start: i64,
    anomaly: Option<&AnomalyMethod>,
    period: usize,
    tail: Option<usize>,
) -> Result<Prepared> {
    let from = tail.map_or(0, |t| values.len().saturating_sub(t));
    let mut v = values.to_vec();
    let cleaned = clean_anomalies(&mut v[from..], anomaly, period)?;
    let scale = series_scale(&v);
    for x in &mut v {
        *x /= scale;
    }
    Ok(Prepared {
        values: v,
        start,
        scale,
        cleaned,
    })
}

/// Replaces anomalies in `values` (by the phase median with a usable period, else by
/// interpolation) and says how many were replaced.
fn clean_anomalies(
    values: &mut [f64],
    anomaly: Option<&AnomalyMethod>,
    period: usize,
) -> Result<usize> {
    let Some(method) = anomaly else {
        return Ok(0);
    };
    // A phase needs a few values of its own before a value can stand out in it. With fewer
    // than three seasons of a seasonal series nothing is cleaned: pooled over the season (or
    // over a shorter period), the seasonal peaks and quiet days themselves look anomalous
    // (two weeks of business-hours usage had every weekday peak flagged), and cleaning
    // would erase the very pattern the model needs.
    if (period >= 2 && values.len() < 3 * period)
        || values.iter().filter(|x| !x.is_nan()).count() < 8
    {
        return Ok(0);
    }
    let p = (period >= 2).then_some(period);
    let flags = detect_anomalies(values, method, p)?;
    let cleaned = flags.iter().filter(|&&f| f).count();
    if cleaned > 0 {
        let mode = match p {
            Some(period) => CleanMode::SeasonalMedian { period },
            None => CleanMode::Interpolate,
        };
        let replaced = clean(values, &flags, mode)?;
        values.copy_from_slice(&replaced);
    }
    Ok(cleaned)
}

pub(crate) fn resolve_frequency(series: &[Series], params: &ForecastParams) -> Result<i64> {
    let f = match (params.frequency, series.first()) {
        (Some(f), _) => f,
        (None, Some(s)) => s.frequency(),
        (None, None) => {
            return Err(Error::InvalidArgument(
                "no series to fit and no frequency given".into(),
            ))
        }
    };
    check_frequency(
        series,
        f,
        "all series of a global model share one frequency",
    )?;
    Ok(f)
}

/// Errors when a series is not of `frequency` seconds, naming both and `why`.
pub(crate) fn check_frequency(series: &[Series], frequency: i64, why: &str) -> Result<()> {
    match series
        .iter()
        .enumerate()
        .find(|(_, s)| s.frequency() != frequency)
    {
        Some((i, s)) => Err(Error::InvalidArgument(format!(
            "series {i} has frequency {} s, expected {frequency} s ({why})",
            s.frequency()
        ))),
        None => Ok(()),
    }
}

/// Periods found in at least a third of the series (up to 50 examined), strongest first;
/// the natural daily period when none is found and the data is sub-daily.
pub(crate) fn detect_periods(series: &[Series], frequency: i64) -> Result<Vec<usize>> {
    let natural = natural_periods(frequency);
    if natural.is_empty() {
        return Ok(vec![1]);
    }
    let options = SeasonalityOptions {
        candidates: Some(natural.clone()),
        ..SeasonalityOptions::default()
    };
    let mut votes = vec![(0usize, 0.0f64); natural.len()];
    let mut examined = 0;
    for s in series.iter().take(50) {
        let present = s.values().iter().filter(|v| !v.is_nan()).count();
        if present < 4 {
            continue;
        }
        examined += 1;
        for found in detect_seasonality(s.values(), &options)? {
            if let Some(i) = natural.iter().position(|&p| p == found.period) {
                votes[i].0 += 1;
                votes[i].1 += found.strength;
            }
        }
    }
    let mut kept: Vec<(usize, f64)> = natural
        .iter()
        .zip(&votes)
        .filter(|(_, (n, _))| examined > 0 && *n * 3 >= examined)
        .map(|(&p, &(_, strength))| (p, strength))
        .collect();
    kept.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut periods: Vec<usize> = kept.into_iter().map(|(p, _)| p).collect();
    if periods.is_empty() {
        periods.push(natural[0]);
    }
    Ok(periods)
}

pub(crate) fn synthetic_count(series: &[Series], frequency: i64, params: &ForecastParams) -> usize {
    if let Some(n) = params.synthetic_tenants {
        return n;
    }
    let week = (7 * 86_400 / frequency).max(1) as usize;
    let weeks: usize = series.iter().map(|s| s.len() / week).sum();
    if weeks < 2 {
        16
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hourly business-hours usage with quiet weekends, small deterministic noise.
    fn office(days: usize) -> Vec<f64> {
        (0..days * 24)
            .map(|t| {
                let (hour, day) = (t % 24, (t / 24) % 7);
                let daily = if (8..18).contains(&hour) { 1.6 } else { 0.5 };
                let weekly = if day >= 5 { 0.4 } else { 1.0 };
                100.0 * daily * weekly * (1.0 + 0.05 * ((t * 7919 % 13) as f64 / 13.0 - 0.5))
            })
            .collect()
    }

    fn clean_copy(values: &[f64], method: &AnomalyMethod, period: usize) -> (Vec<f64>, usize) {
        let mut copy = values.to_vec();
        let n = clean_anomalies(&mut copy, Some(method), period).unwrap();
        (copy, n)
    }

    #[test]
    fn fewer_than_three_seasons_are_not_cleaned_but_three_are() {
        let mad = AnomalyMethod::default();
        // Two weeks of a weekly pattern: pooled, every weekday peak would look anomalous.
        let short = office(14);
        let (cleaned, n) = clean_copy(&short, &mad, 168);
        assert_eq!((n, cleaned), (0, short.clone()));
        // Three weeks with one planted spike: only the spike goes.
        let mut long = office(21);
        long[200] *= 8.0;
        let (cleaned, n) = clean_copy(&long, &mad, 168);
        assert_eq!(n, 1);
        assert!(cleaned[200] < long[200] / 4.0);
        assert!((0..long.len())
            .filter(|&t| t != 200)
            .all(|t| cleaned[t] == long[t]));
        // A series without seasonality is cleaned against all of its values.
        let mut flat: Vec<f64> = (0..50).map(|t| 10.0 + (t % 5) as f64 * 0.1).collect();
        flat[30] = 90.0;
        assert_eq!(clean_copy(&flat, &mad, 1).1, 1);
    }
}
