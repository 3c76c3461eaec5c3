//! Synthetic tenants: whole populations of usage series with varied shapes, trend changes,
//! anomalies and gaps, for training the global model, for tests and for evaluation.

use rand::distributions::WeightedIndex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal, Poisson};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::series::{check_grid, invalid, normalised, SeriesPrior};
use crate::error::Result;

const DAY: f64 = 86_400.0;
/// Most values one call may generate (count × len): 200 million, 1.6 GB of f64.
const MAX_TOTAL_VALUES: usize = 200_000_000;

/// A family of daily shapes; each tenant rotates and jitters its family's base curve.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProfileFamily {
    /// B2B office hours: morning ramp, lunch dip, afternoon peak (as `saas_default`).
    BusinessHours,
    /// Consumer apps: low mornings, peak around 20:00-21:00.
    EveningConsumer,
    /// Machine-to-machine or global traffic: flat around the clock.
    Flat,
    /// Batch jobs: a moderate baseline with a large bump at 01:00-04:00.
    NightBatch,
    /// Two shifts (logistics, factories): peaks at 06:00-08:00 and 14:00-16:00. Only the
    /// held-out population uses it, so evaluation sees a shape training never did.
    SplitShift,
}

impl ProfileFamily {
    fn base_daily(self) -> Vec<f64> {
        match self {
            ProfileFamily::BusinessHours => SeriesPrior::saas_default().daily_profile,
            ProfileFamily::EveningConsumer => normalised(&[
                0.50, 0.35, 0.25, 0.20, 0.20, 0.25, 0.40, 0.60, 0.75, 0.80, 0.85, 0.90, 1.00, 0.95,
                0.90, 0.90, 1.00, 1.20, 1.50, 1.90, 2.20, 2.10, 1.60, 0.90,
            ]),
            ProfileFamily::Flat => vec![1.0; 24],
            ProfileFamily::NightBatch => normalised(&[
                0.70, 2.50, 3.50, 3.00, 1.80, 0.70, 0.60, 0.60, 0.60, 0.60, 0.60, 0.60, 0.60, 0.60,
                0.60, 0.60, 0.60, 0.60, 0.60, 0.60, 0.60, 0.60, 0.60, 0.60,
            ]),
            ProfileFamily::SplitShift => normalised(&[
                0.20, 0.20, 0.20, 0.30, 0.60, 1.20, 2.00, 2.20, 1.80, 1.20, 1.00, 1.00, 1.10, 1.40,
                2.00, 2.20, 1.70, 1.00, 0.60, 0.40, 0.30, 0.25, 0.20, 0.20,
            ]),
        }
    }
}

/// One family in the population mix with its weekend-to-weekday ratio range.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FamilyWeight {
    /// The daily shape family.
    pub family: ProfileFamily,
    /// Relative frequency in the population (weights need not sum to 1).
    pub weight: f64,
    /// Saturday and Sunday level relative to a weekday, uniform in `[min, max]`.
    pub weekend_ratio: [f64; 2],
}

/// The distributions a population of tenants is drawn from. Ranges `[min, max]` are
/// uniform; rates are Poisson rates of events.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PopulationSettings {
    /// Median tenant level (mean usage per period); levels are log-normal around it.
    pub level_median: f64,
    /// Standard deviation of the natural log of the level.
    pub level_log_sd: f64,
    /// Tenants below this level produce integer counts (Poisson), above it real values.
    pub count_level_below: f64,
    /// The shape families and their weights.
    pub families: Vec<FamilyWeight>,
    /// Each tenant's daily curve is rotated by a uniform whole number of hours in ±this.
    pub peak_shift_hours: u8,
    /// Standard deviation of the log jitter of each hourly and weekday multiplier.
    pub profile_jitter: f64,
    /// Independent noise CV range.
    pub noise_cv: [f64; 2],
    /// Range of the persistent factor's autocorrelation at a lag of one **hour**; a tenant
    /// on another grid gets `phi^(frequency / 3600)` per period, so the drift lasts the
    /// same wall-clock time whatever the frequency.
    pub persistence: [f64; 2],
    /// CV range of the persistent factor.
    pub persistent_cv: [f64; 2],
    /// Mean of the (normal) trend per day of each trend segment.
    pub trend_mean: f64,
    /// Standard deviation of the trend per day of each trend segment.
    pub trend_sd: f64,
    /// Rate of trend change points per year (the log trend is piecewise linear).
    pub trend_changes_per_year: f64,
    /// Rate of anomalies per week.
    pub anomalies_per_week: f64,
    /// Relative weights of spike, dip and level shift anomalies.
    pub anomaly_mix: [f64; 3],
    /// Multiplier range of a spike.
    pub spike_factor: [f64; 2],
    /// Multiplier range of a dip (outage or partial outage).
    pub dip_factor: [f64; 2],
    /// Multiplier range of a permanent level shift (a customer gained or lost).
    pub shift_factor: [f64; 2],
    /// Duration range of spikes and dips in hours (at least one period).
    pub anomaly_hours: [f64; 2],
    /// Rate of missing stretches (NaN) per week.
    pub gaps_per_week: f64,
    /// Duration range of a missing stretch in hours (at least one period).
    pub gap_hours: [f64; 2],
    /// Fixed UTC offsets the tenants' local clocks are drawn from (uniformly).
    pub utc_offsets_seconds: Vec<i32>,
}

impl Default for PopulationSettings {
    fn default() -> Self {
        PopulationSettings::training()
    }
}

impl PopulationSettings {
    /// The population the library trains and tunes on: mostly business-hours tenants,
    /// moderate noise, a trend change twice a year, an anomaly every three weeks.
    pub fn training() -> Self {
        let fam = |family, weight, lo, hi| FamilyWeight {
            family,
            weight,
            weekend_ratio: [lo, hi],
        };
        PopulationSettings {
            level_median: 200.0,
            level_log_sd: 1.5,
            count_level_below: 30.0,
            families: vec![
                fam(ProfileFamily::BusinessHours, 0.5, 0.25, 0.45),
                fam(ProfileFamily::EveningConsumer, 0.2, 1.0, 1.3),
                fam(ProfileFamily::Flat, 0.15, 0.9, 1.05),
                fam(ProfileFamily::NightBatch, 0.15, 0.8, 1.0),
            ],
            peak_shift_hours: 1,
            profile_jitter: 0.1,
            noise_cv: [0.1, 0.35],
            persistence: [0.5, 0.9],
            persistent_cv: [0.05, 0.2],
            trend_mean: 0.0005,
            trend_sd: 0.002,
            trend_changes_per_year: 2.0,
            anomalies_per_week: 0.3,
            anomaly_mix: [0.5, 0.3, 0.2],
            spike_factor: [2.0, 6.0],
            dip_factor: [0.0, 0.4],
            shift_factor: [0.6, 1.6],
            anomaly_hours: [1.0, 4.0],
            gaps_per_week: 0.05,
            gap_hours: [1.0, 12.0],
            utc_offsets_seconds: vec![0, 3600, 7200, -18_000, -28_800],
        }
    }

    /// The population for **evaluation only**: other family mixes (including
    /// [`ProfileFamily::SplitShift`], which training lacks), larger peak shifts and noise,
    /// twice the trend-change, anomaly and gap rates, other time zones (+5:30, +9).
    /// Never tune anything on it, or its scores stop measuring generalisation.
    pub fn held_out() -> Self {
        let fam = |family, weight, lo, hi| FamilyWeight {
            family,
            weight,
            weekend_ratio: [lo, hi],
        };
        PopulationSettings {
            level_median: 80.0,
            level_log_sd: 2.0,
            count_level_below: 30.0,
            families: vec![
                fam(ProfileFamily::BusinessHours, 0.3, 0.15, 0.6),
                fam(ProfileFamily::EveningConsumer, 0.2, 1.1, 1.5),
                fam(ProfileFamily::Flat, 0.1, 0.85, 1.1),
                fam(ProfileFamily::NightBatch, 0.1, 0.6, 1.1),
                fam(ProfileFamily::SplitShift, 0.3, 0.5, 0.8),
            ],
            peak_shift_hours: 2,
            profile_jitter: 0.15,
            noise_cv: [0.15, 0.5],
            persistence: [0.7, 0.95],
            persistent_cv: [0.1, 0.3],
            trend_mean: 0.001,
            trend_sd: 0.003,
            trend_changes_per_year: 4.0,
            anomalies_per_week: 0.6,
            anomaly_mix: [0.4, 0.3, 0.3],
            spike_factor: [2.0, 10.0],
            dip_factor: [0.0, 0.5],
            shift_factor: [0.5, 2.0],
            anomaly_hours: [1.0, 8.0],
            gaps_per_week: 0.1,
            gap_hours: [1.0, 24.0],
            utc_offsets_seconds: vec![0, 19_800, 32_400, -21_600, 3600],
        }
    }

    /// Checks every field so that settings read from JSON fail with a clear message.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("level_median", self.level_median),
            ("count_level_below", self.count_level_below),
        ];
        for (name, v) in positive {
            if !v.is_finite() || v < 0.0 || (name == "level_median" && v == 0.0) {
                return Err(invalid(format!(
                    "{name} must be finite and positive, got {v}"
                )));
            }
        }
        let rates = [
            ("level_log_sd", self.level_log_sd, 10.0),
            ("profile_jitter", self.profile_jitter, 2.0),
            ("trend_sd", self.trend_sd, 0.1),
            (
                "trend_changes_per_year",
                self.trend_changes_per_year,
                1000.0,
            ),
            ("anomalies_per_week", self.anomalies_per_week, 1000.0),
            ("gaps_per_week", self.gaps_per_week, 1000.0),
        ];
        for (name, v, max) in rates {
            if !v.is_finite() || !(0.0..=max).contains(&v) {
                return Err(invalid(format!("{name} must be in [0, {max}], got {v}")));
            }
        }
        if !self.trend_mean.is_finite() || self.trend_mean.abs() > 0.1 {
            return Err(invalid(format!(
                "trend_mean must be in [-0.1, 0.1], got {}",
                self.trend_mean
            )));
        }
        let ranges = [
            ("noise_cv", self.noise_cv, 0.0, 10.0),
            ("persistence", self.persistence, 0.0, 0.999),
            ("persistent_cv", self.persistent_cv, 0.0, 10.0),
            ("spike_factor", self.spike_factor, 0.0, 1e6),
            ("dip_factor", self.dip_factor, 0.0, 1e6),
            ("shift_factor", self.shift_factor, 0.0, 1e6),
            ("anomaly_hours", self.anomaly_hours, 0.0, 1e6),
            ("gap_hours", self.gap_hours, 0.0, 1e6),
        ];
        for (name, [lo, hi], min, max) in ranges {
            if !(lo.is_finite() && hi.is_finite() && min <= lo && lo <= hi && hi <= max) {
                return Err(invalid(format!(
                    "{name} must be a range [min, max] within [{min}, {max}], got [{lo}, {hi}]"
                )));
            }
        }
        if self.anomaly_mix.iter().any(|w| !w.is_finite() || *w < 0.0)
            || self.anomaly_mix.iter().sum::<f64>() <= 0.0
        {
            return Err(invalid(
                "anomaly_mix needs finite weights >= 0 with a positive sum".into(),
            ));
        }
        if self.families.is_empty()
            || self
                .families
                .iter()
                .any(|f| !f.weight.is_finite() || f.weight < 0.0)
            || self.families.iter().map(|f| f.weight).sum::<f64>() <= 0.0
        {
            return Err(invalid(
                "families needs finite weights >= 0 with a positive sum".into(),
            ));
        }
        for f in &self.families {
            let [lo, hi] = f.weekend_ratio;
            if !(lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo <= hi && hi <= 100.0) {
                return Err(invalid(format!(
                    "weekend_ratio of {:?} must be a range in [0, 100]",
                    f.family
                )));
            }
        }
        if self.utc_offsets_seconds.is_empty()
            || self.utc_offsets_seconds.iter().any(|o| o.abs() > 26 * 3600)
        {
            return Err(invalid(
                "utc_offsets_seconds needs offsets within +-26 hours".into(),
            ));
        }
        Ok(())
    }
}

/// What kind of anomaly an [`AnomalyEvent`] is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// A short burst above normal.
    Spike,
    /// A short drop below normal (outage).
    Dip,
    /// A lasting change of level from `start` to the end of the series.
    LevelShift,
}

/// One injected anomaly: the periods `start..start + len` are multiplied by `factor`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AnomalyEvent {
    /// Spike, dip or level shift.
    pub kind: AnomalyKind,
    /// Index of the first affected period.
    pub start: usize,
    /// Number of affected periods (to the end of the series for a level shift).
    pub len: usize,
    /// Multiplier applied to the expected value.
    pub factor: f64,
}

/// A generated tenant with the truth it was drawn from, so evaluations can compare
/// estimates with what generated the data.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct SyntheticTenant {
    /// Stable identifier `synthetic-{seed}-{index}`.
    pub id: String,
    /// UTC unix seconds of `values[0]`.
    pub start: i64,
    /// Seconds per period.
    pub frequency: i64,
    /// The observed series (NaN = missing period; serde_json writes NaN as `null`, so
    /// a tenant with gaps does not read back from JSON).
    pub values: Vec<f64>,
    /// The prior it was drawn from; `trend_per_day` is the first trend segment's.
    pub prior: SeriesPrior,
    /// The fixed UTC offset of the tenant's local clock (pass it to the prior's methods).
    pub utc_offset_seconds: i32,
    /// The daily shape family.
    pub family: ProfileFamily,
    /// Trend change points: (period index, trend per day from there on).
    pub trend_changes: Vec<(usize, f64)>,
    /// Injected anomalies, in order of start.
    pub anomalies: Vec<AnomalyEvent>,
    /// Noise-free truth: level · shape · piecewise trend · anomalies, without gaps.
    pub expected: Vec<f64>,
}

/// Draws `count` tenants of `len` periods from `settings`. Deterministic for a seed; each
/// tenant uses its own seed derived from `(seed, index)`, so asking for more tenants keeps
/// the earlier ones identical. Generated in parallel (rayon); the result does not depend on
/// the thread count.
///
/// ```
/// use tenantml::coldstart::{synthetic_tenants, PopulationSettings};
/// let tenants = synthetic_tenants(&PopulationSettings::training(), 3, 24 * 14, 0, 3600, 7)?;
/// assert_eq!(tenants.len(), 3);
/// assert_eq!(tenants[0].values.len(), 24 * 14);
/// # Ok::<(), tenantml::Error>(())
/// ```
///
/// Errors: invalid settings, `count` 0, a bad grid (see [`SeriesPrior::expected`]), or
/// more than 200 million values in total.
pub fn synthetic_tenants(
    settings: &PopulationSettings,
    count: usize,
    len: usize,
    start: i64,
    frequency: i64,
    seed: u64,
) -> Result<Vec<SyntheticTenant>> {
    settings.validate()?;
    check_grid(start, frequency, len, 0)?;
    if count == 0 {
        return Err(invalid("count must be > 0".into()));
    }
    if count.checked_mul(len).is_none_or(|n| n > MAX_TOTAL_VALUES) {
        return Err(invalid(format!(
            "count * len must be at most {MAX_TOTAL_VALUES} values, got {count} * {len}"
        )));
    }
    (0..count)
        .into_par_iter()
        .map(|i| tenant(settings, i, len, start, frequency, seed))
        .collect()
}

/// SplitMix64 finaliser: a well-mixed 64-bit hash used to derive per-tenant seeds.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn uniform(rng: &mut StdRng, [lo, hi]: [f64; 2]) -> f64 {
    if hi > lo {
        rng.gen_range(lo..hi)
    } else {
        lo
    }
}

fn poisson_count(rng: &mut StdRng, mean: f64) -> usize {
    if mean <= 0.0 {
        return 0;
    }
    Poisson::new(mean)
        .map(|d| d.sample(rng) as usize)
        .unwrap_or(0)
}

fn tenant(
    s: &PopulationSettings,
    index: usize,
    len: usize,
    start: i64,
    frequency: i64,
    seed: u64,
) -> Result<SyntheticTenant> {
    let mut rng = StdRng::seed_from_u64(mix(seed ^ mix(index as u64)));
    let jitter = Normal::new(0.0, s.profile_jitter).map_err(|e| invalid(e.to_string()))?;
    let weights = WeightedIndex::new(s.families.iter().map(|f| f.weight))
        .map_err(|e| invalid(format!("family weights: {e}")))?;
    let fam = &s.families[weights.sample(&mut rng)];

    let base = fam.family.base_daily();
    let shift = rng.gen_range(-(s.peak_shift_hours as i64)..=s.peak_shift_hours as i64);
    let daily: Vec<f64> = (0..24)
        .map(|h| base[(h as i64 - shift).rem_euclid(24) as usize] * jitter.sample(&mut rng).exp())
        .collect();
    let weekend = uniform(&mut rng, fam.weekend_ratio);
    let weekly: Vec<f64> = (0..7)
        .map(|d| if d >= 5 { weekend } else { 1.0 } * (0.5 * jitter.sample(&mut rng)).exp())
        .collect();
    let level =
        s.level_median * (s.level_log_sd * rng.sample::<f64, _>(rand_distr::StandardNormal)).exp();
    let trend = Normal::new(s.trend_mean, s.trend_sd).map_err(|e| invalid(e.to_string()))?;
    let draw_trend = |rng: &mut StdRng| trend.sample(rng).clamp(-0.05, 0.05);
    let prior = SeriesPrior {
        level,
        daily_profile: normalised(&daily),
        weekly_profile: normalised(&weekly),
        trend_per_day: draw_trend(&mut rng),
        noise_cv: uniform(&mut rng, s.noise_cv),
        persistence: uniform(&mut rng, s.persistence).powf(frequency as f64 / 3600.0),
        persistent_cv: uniform(&mut rng, s.persistent_cv),
        counts: level < s.count_level_below,
    };
    let offset = s.utc_offsets_seconds[rng.gen_range(0..s.utc_offsets_seconds.len())];

    let days = len as f64 * frequency as f64 / DAY;
    let mut trend_changes: Vec<(usize, f64)> =
        (0..poisson_count(&mut rng, s.trend_changes_per_year * days / 365.0))
            .map(|_| (rng.gen_range(0..len), draw_trend(&mut rng)))
            .collect();
    trend_changes.sort_by_key(|c| c.0);

    let periods = |hours: f64| ((hours * 3600.0 / frequency as f64).round() as usize).max(1);
    let kinds =
        WeightedIndex::new(s.anomaly_mix).map_err(|e| invalid(format!("anomaly_mix: {e}")))?;
    let mut anomalies: Vec<AnomalyEvent> =
        (0..poisson_count(&mut rng, s.anomalies_per_week * days / 7.0))
            .map(|_| {
                let at = rng.gen_range(0..len);
                let (kind, range) = match kinds.sample(&mut rng) {
                    0 => (AnomalyKind::Spike, s.spike_factor),
                    1 => (AnomalyKind::Dip, s.dip_factor),
                    _ => (AnomalyKind::LevelShift, s.shift_factor),
                };
                let factor = uniform(&mut rng, range);
                let n = match kind {
                    AnomalyKind::LevelShift => len - at,
                    _ => periods(uniform(&mut rng, s.anomaly_hours)).min(len - at),
                };
                AnomalyEvent {
                    kind,
                    start: at,
                    len: n,
                    factor,
                }
            })
            .collect();
    anomalies.sort_by_key(|a| a.start);

    let mut expected = prior.shape(start, frequency, len, offset);
    let step = frequency as f64 / DAY;
    let (mut log_growth, mut rate, mut next) = (0.0f64, prior.trend_per_day.ln_1p(), 0);
    for (i, v) in expected.iter_mut().enumerate() {
        while next < trend_changes.len() && trend_changes[next].0 == i {
            rate = trend_changes[next].1.ln_1p();
            next += 1;
        }
        *v *= level * log_growth.exp();
        log_growth += rate * step;
    }
    for a in &anomalies {
        for v in &mut expected[a.start..a.start + a.len] {
            *v *= a.factor;
        }
    }
    let mut values = expected.clone();
    prior.add_noise(&mut values, &mut rng);
    for _ in 0..poisson_count(&mut rng, s.gaps_per_week * days / 7.0) {
        let at = rng.gen_range(0..len);
        let n = periods(uniform(&mut rng, s.gap_hours)).min(len - at);
        values[at..at + n].iter_mut().for_each(|v| *v = f64::NAN);
    }
    Ok(SyntheticTenant {
        id: format!("synthetic-{seed}-{index}"),
        start,
        frequency,
        values,
        prior,
        utc_offset_seconds: offset,
        family: fam.family,
        trend_changes,
        anomalies,
        expected,
    })
}
