//! The cold-start side of fitting: the population prior estimated from the training series,
//! and the synthetic histories drawn from it.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

use crate::coldstart::{synthetic_tenants, PopulationSettings, SeriesPrior};
use crate::data::series::Series;
use crate::error::Result;

/// Spread of log levels assumed when fewer than 3 series show one: a new tenant's level is
/// then known only to within a factor of about e.
pub const DEFAULT_LEVEL_SPREAD: f64 = 1.0;
/// Length of each synthetic history, in days.
pub const SYNTHETIC_DAYS: i64 = 56;

/// The prior a new tenant starts from (population profiles, median level) and the standard
/// deviation of the training series' log levels.
pub(crate) fn population_prior(
    series: &[Series],
    frequency: i64,
    utc_offset: i32,
) -> Result<(SeriesPrior, f64)> {
    let usable: Vec<(&[f64], i64)> = series
        .iter()
        .filter(|s| s.values().iter().any(|v| !v.is_nan()))
        .map(|s| (s.values(), s.start()))
        .collect();
    if usable.is_empty() {
        return Ok((SeriesPrior::saas_default(), DEFAULT_LEVEL_SPREAD));
    }
    let prior = SeriesPrior::estimate(&usable, frequency, utc_offset)?;
    let logs: Vec<f64> = usable
        .iter()
        .filter_map(|(v, _)| {
            let (s, n) = v
                .iter()
                .filter(|x| !x.is_nan())
                .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
            let level = s / n as f64;
            (level > 0.0).then(|| level.ln())
        })
        .collect();
    let spread = if logs.len() < 3 {
        DEFAULT_LEVEL_SPREAD
    } else {
        let mean = logs.iter().sum::<f64>() / logs.len() as f64;
        (logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (logs.len() - 1) as f64).sqrt()
    };
    Ok((prior, spread))
}

/// `count` synthetic histories of [`SYNTHETIC_DAYS`] days as (start, values): from the
/// estimated prior with levels spread like the population's when there is real data,
/// otherwise from [`PopulationSettings::training`].
pub(crate) fn draw_synthetic(
    prior: &SeriesPrior,
    series: &[Series],
    frequency: i64,
    utc_offset: i32,
    count: usize,
    seed: u64,
) -> Result<Vec<(i64, Vec<f64>)>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let len = ((SYNTHETIC_DAYS * 86_400) / frequency).max(2) as usize;
    // Start on a whole day so the synthetic calendar lines up with the real one.
    let start = series
        .iter()
        .map(|s| s.start())
        .min()
        .unwrap_or(1_704_067_200);
    let start = start - start.rem_euclid(frequency);
    if series.is_empty() {
        let tenants = synthetic_tenants(
            &PopulationSettings::training(),
            count,
            len,
            start,
            frequency,
            seed,
        )?;
        return Ok(tenants.into_iter().map(|t| (t.start, t.values)).collect());
    }
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_c01d);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let z: f64 = StandardNormal.sample(&mut rng);
        let mut p = prior.clone();
        p.level = prior.level * (0.5 * z).exp();
        out.push((
            start,
            p.sample(
                start,
                frequency,
                len,
                utc_offset,
                seed.wrapping_add(i as u64 + 1),
            )?,
        ));
    }
    Ok(out)
}
