//! Cold start: what a tenant's usage probably looks like before it has history of its own.
//!
//! - [`SeriesPrior`] describes a usage series (level, daily and weekly profile, trend,
//!   noise), generates its expectation and random realisations, adapts to a tenant's first
//!   observations ([`SeriesPrior::scaled_to`]) and can be estimated from a population of
//!   tenants ([`SeriesPrior::estimate`]).
//! - [`synthetic_tenants`] draws whole populations of tenants with varied shapes, trend
//!   changes, anomalies and gaps, from [`PopulationSettings::training`] (for training and
//!   tuning) or [`PopulationSettings::held_out`] (for evaluation only).
//!
//! Local time is a fixed `utc_offset_seconds` (no daylight saving): callers with an IANA
//! zone pass the offset in effect for the window. All randomness is seeded; the same
//! arguments give bit-identical output.

mod cells;
mod fit;
mod population;
mod series;

pub use population::{
    synthetic_tenants, AnomalyEvent, AnomalyKind, FamilyWeight, PopulationSettings, ProfileFamily,
    SyntheticTenant,
};
pub use series::{SeriesPrior, DAILY_SHRINK_DAYS, MAX_LEN, WEEKLY_SHRINK_WEEKS};
