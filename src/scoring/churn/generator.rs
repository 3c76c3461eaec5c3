//! Synthetic tenants with churn, for cold start and for evaluation. Every random choice
//! comes from the seed, so the same settings and seed give the same tenants.
//!
//! # The simulation
//! Each tenant gets a plan (starter, pro, business, enterprise: seats, price per seat, a
//! usage allowance), a start date (many before the simulated period, some during it) and an
//! engagement level (log-normal). Each day it has `Poisson(rate)` sessions, each an event
//! with a log-normal amount; the rate is engagement × `seats^0.7` × `usage_scale`, times a
//! weekend factor, times 0.35 in holiday weeks, times a gamma(k, 1/k) day factor when
//! `burstiness` is `Some(k)` (smaller k: burstier usage). Support tickets and failed
//! payments arrive at low background rates for everyone.
//!
//! About `churn_rate` of the tenants churn during the period (less engaged and younger
//! tenants more often), each by one of the [`ChurnPatterns`]:
//! - **silent**: usage fades linearly over 20–70 days to a trickle, then they cancel;
//! - **loud**: usage stops at once, 0–12 days before they cancel;
//! - **payment**: a failed renewal and its dunning retries (2–4 failed payments 3–7 days
//!   apart), the subscription cancelled for non-payment 1–7 days after the last; usage
//!   only a little lower;
//! - **support**: a burst of severe support tickets in the 40 days before cancelling, usage
//!   somewhat lower (the pattern [`GeneratorSettings::training`] lacks).
//!
//! Some tenants who stay have a dip (`recovering_dips`): usage falls to 5–30% for 10–35
//! days and comes back — it looks like fading, and the days-inactive rule cannot tell.
//!
//! [`GeneratorSettings::training`] is what cold start trains on; [`GeneratorSettings::held_out`]
//! is the same world (use other seeds); the `shifted_*` and [`GeneratorSettings::novel_pattern`]
//! variants change one thing; [`GeneratorSettings::event_log`] is the realistic log: burstier
//! usage, more holiday weeks and dips, every pattern.
//!
//! ```
//! use tenantml::scoring::churn::{generate, GeneratorSettings};
//! let mut s = GeneratorSettings::training();
//! s.tenants = 50;
//! let a = generate(&s, 7)?;
//! assert_eq!(a.tenants.len(), 50);
//! assert_eq!(a.tenants, generate(&s, 7)?.tenants);
//! # Ok::<(), tenantml::Error>(())
//! ```

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Gamma, LogNormal, Poisson};
use serde::{Deserialize, Serialize};

use super::input::{Subscription, SupportTicket, TenantHistory, UsageEvent, DAY};
use super::labels::LabelSpec;
use crate::error::{Error, Result};

/// 2025-01-06T00:00:00Z, a Monday: the default start of the simulated period.
pub const DEFAULT_START: i64 = 1_736_121_600;

/// Relative weights of the churn patterns (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChurnPatterns {
    /// Slow fade, then cancel.
    pub silent: f64,
    /// Sudden stop, then cancel.
    pub loud: f64,
    /// Failed payments, then involuntary cancel.
    pub payment: f64,
    /// Support-ticket burst, then cancel.
    pub support: f64,
}

impl Default for ChurnPatterns {
    fn default() -> Self {
        ChurnPatterns {
            silent: 0.5,
            loud: 0.35,
            // About 23% of churn involuntary (failed payments), within the 20-40% that
            // subscription businesses report.
            payment: 0.25,
            support: 0.0,
        }
    }
}

/// How synthetic tenants are drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneratorSettings {
    /// Tenants to draw.
    pub tenants: usize,
    /// Length of the simulated period in days (at least 150).
    pub days: u32,
    /// Start of the period, Unix seconds.
    pub start: i64,
    /// Approximate share of tenants churning during the period, in [0, 0.9].
    pub churn_rate: f64,
    /// Weights of the churn patterns (not all zero).
    pub patterns: ChurnPatterns,
    /// Multiplier of session rates (> 0).
    pub usage_scale: f64,
    /// Median event amount (> 0).
    pub amount_scale: f64,
    /// Gamma shape of the day-to-day rate factor; `None` is plain Poisson.
    pub burstiness: Option<f64>,
    /// Rate factor on Saturdays and Sundays, in [0, 1].
    pub weekend_factor: f64,
    /// First days (offsets from `start`) of holiday weeks.
    pub holiday_weeks: Vec<u32>,
    /// Share of staying tenants with a temporary dip, in [0, 1].
    pub recovering_dips: f64,
    /// Days between observation dates of the label spec (first one at day 90).
    pub observation_every_days: u32,
    /// Horizon of the label spec, days.
    pub horizon_days: u32,
}

impl Default for GeneratorSettings {
    fn default() -> Self {
        GeneratorSettings::training()
    }
}

impl GeneratorSettings {
    /// The training world (what cold start fits on).
    pub fn training() -> GeneratorSettings {
        GeneratorSettings {
            tenants: 1500,
            days: 300,
            start: DEFAULT_START,
            churn_rate: 0.35,
            patterns: ChurnPatterns::default(),
            usage_scale: 1.0,
            amount_scale: 10.0,
            burstiness: Some(4.0),
            weekend_factor: 0.4,
            holiday_weeks: vec![210],
            recovering_dips: 0.15,
            observation_every_days: 30,
            horizon_days: 30,
        }
    }

    /// The same world as [`training`](Self::training); evaluate with seeds not trained on.
    pub fn held_out() -> GeneratorSettings {
        GeneratorSettings::training()
    }

    /// Fewer churners: 12% instead of 35%.
    pub fn shifted_churn_rate() -> GeneratorSettings {
        GeneratorSettings {
            churn_rate: 0.12,
            ..GeneratorSettings::training()
        }
    }

    /// Heavier users: 4× the sessions and 8× the amounts.
    pub fn shifted_usage_scale() -> GeneratorSettings {
        GeneratorSettings {
            usage_scale: 4.0,
            amount_scale: 80.0,
            ..GeneratorSettings::training()
        }
    }

    /// Most churners follow the support-ticket pattern, which training never shows.
    pub fn novel_pattern() -> GeneratorSettings {
        GeneratorSettings {
            patterns: ChurnPatterns {
                silent: 0.2,
                loud: 0.2,
                payment: 0.0,
                support: 0.6,
            },
            ..GeneratorSettings::training()
        }
    }

    /// The realistic event log: burstier usage, two holiday periods, more recovering dips,
    /// every churn pattern.
    pub fn event_log() -> GeneratorSettings {
        GeneratorSettings {
            patterns: ChurnPatterns {
                silent: 0.4,
                loud: 0.25,
                payment: 0.15,
                support: 0.2,
            },
            burstiness: Some(1.2),
            weekend_factor: 0.25,
            holiday_weeks: vec![84, 203, 210, 217],
            recovering_dips: 0.3,
            ..GeneratorSettings::training()
        }
    }

    /// Checks every field.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidArgument(format!("generator settings: {m}")));
        if self.tenants == 0 {
            return bad("tenants must be at least 1".into());
        }
        if self.days < 150 {
            return bad(format!("days must be at least 150, got {}", self.days));
        }
        if !(0.0..=0.9).contains(&self.churn_rate) {
            return bad(format!(
                "churn_rate must be in [0, 0.9], got {}",
                self.churn_rate
            ));
        }
        let p = &self.patterns;
        let w = [p.silent, p.loud, p.payment, p.support];
        if w.iter().any(|v| !(v.is_finite() && *v >= 0.0)) || w.iter().sum::<f64>() <= 0.0 {
            return bad("pattern weights must be >= 0 and not all 0".into());
        }
        for (name, v) in [
            ("usage_scale", self.usage_scale),
            ("amount_scale", self.amount_scale),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(format!("{name} must be > 0, got {v}"));
            }
        }
        if let Some(k) = self.burstiness {
            if !(k.is_finite() && k > 0.0) {
                return bad(format!("burstiness must be > 0, got {k}"));
            }
        }
        if !(0.0..=1.0).contains(&self.weekend_factor)
            || !(0.0..=1.0).contains(&self.recovering_dips)
        {
            return bad("weekend_factor and recovering_dips must be in [0, 1]".into());
        }
        if self.observation_every_days == 0 || self.horizon_days == 0 {
            return bad("observation_every_days and horizon_days must be at least 1".into());
        }
        if 90 + self.horizon_days > self.days {
            return bad("days must leave room for a 90-day history and the horizon".into());
        }
        Ok(())
    }

    /// Observation dates every `observation_every_days` from day 90, each leaving a full
    /// horizon before the end; with the end as `data_end`.
    pub fn label_spec(&self) -> LabelSpec {
        let last = self.days - self.horizon_days;
        LabelSpec {
            observation_dates: (90..=last)
                .step_by(self.observation_every_days as usize)
                .map(|d| self.start + i64::from(d) * DAY)
                .collect(),
            horizon_days: self.horizon_days,
            data_end: self.start + i64::from(self.days) * DAY,
        }
    }
}

/// Synthetic tenants and the label spec that fits them.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticData {
    /// The tenants, `churned_at` set for churners.
    pub tenants: Vec<TenantHistory>,
    /// Observation dates, horizon and end of the data.
    pub spec: LabelSpec,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Pattern {
    Silent,
    Loud,
    Payment,
    Support,
}

/// (seats range, price per seat, allowance per seat per 30 days in median amounts, weight)
const PLANS: [(&str, u32, u32, f64, f64, f64); 4] = [
    ("starter", 1, 3, 20.0, 120.0, 0.4),
    ("pro", 3, 15, 30.0, 100.0, 0.3),
    ("business", 10, 50, 40.0, 90.0, 0.2),
    ("enterprise", 40, 200, 45.0, 80.0, 0.1),
];

/// Draws tenants (see the [module docs](self)).
pub fn generate(settings: &GeneratorSettings, seed: u64) -> Result<SyntheticData> {
    settings.check()?;
    let tenants = (0..settings.tenants)
        .map(|i| {
            let mut rng = StdRng::seed_from_u64(
                seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    ^ (i as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9),
            );
            tenant(settings, i, &mut rng)
        })
        .collect();
    Ok(SyntheticData {
        tenants,
        spec: settings.label_spec(),
    })
}

fn pick_pattern(p: &ChurnPatterns, rng: &mut StdRng) -> Pattern {
    let w = [p.silent, p.loud, p.payment, p.support];
    let mut u = rng.gen::<f64>() * w.iter().sum::<f64>();
    for (k, pattern) in [
        Pattern::Silent,
        Pattern::Loud,
        Pattern::Payment,
        Pattern::Support,
    ]
    .into_iter()
    .enumerate()
    {
        if u < w[k] {
            return pattern;
        }
        u -= w[k];
    }
    Pattern::Silent
}

fn tenant(s: &GeneratorSettings, index: usize, rng: &mut StdRng) -> TenantHistory {
    let days = s.days as i64;
    // Plan and subscription.
    let mut u = rng.gen::<f64>();
    let plan = PLANS
        .iter()
        .find(|p| {
            u -= p.5;
            u < 0.0
        })
        .unwrap_or(&PLANS[0]);
    let seats = f64::from(rng.gen_range(plan.1..=plan.2));
    let price = (seats * plan.3).round();
    let allowance = seats * plan.4 * s.amount_scale;
    let start_day: i64 = rng.gen_range(-700..days - 40);
    let engagement: f64 = LogNormal::new(0.0, 0.5).expect("valid").sample(rng);

    // Churn: less engaged and younger tenants churn more often.
    let young = start_day > 0;
    let propensity = engagement.powf(-0.8) / 1.083 * if young { 1.3 } else { 0.95 };
    let first_churn_day = 60.max(start_day + 14);
    let churn_day = (first_churn_day < days
        && rng.gen::<f64>() < (s.churn_rate * propensity).min(0.95))
    .then(|| rng.gen_range(first_churn_day..days));
    let pattern = churn_day.map(|_| pick_pattern(&s.patterns, rng));

    // The rate multiplier per day from the pattern, or a recovering dip.
    let mut multiplier = vec![1.0f64; days as usize];
    let mut failed = Vec::new();
    let mut tickets = Vec::new();
    match (churn_day, pattern) {
        (Some(c), Some(p)) => {
            for m in multiplier.iter_mut().skip(c as usize) {
                *m = 0.0;
            }
            match p {
                Pattern::Silent => {
                    let fade: i64 = rng.gen_range(20..=70);
                    for d in (c - fade).max(0)..c {
                        multiplier[d as usize] = 1.0 - 0.92 * (d - (c - fade)) as f64 / fade as f64;
                    }
                }
                Pattern::Loud => {
                    let stop = c - rng.gen_range(0..=12);
                    for d in stop.max(0)..c {
                        multiplier[d as usize] = 0.0;
                    }
                }
                Pattern::Payment => {
                    let level = rng.gen_range(0.6..1.0);
                    for d in (c - 30).max(0)..c {
                        multiplier[d as usize] = level;
                    }
                    // A failed renewal, retried every few days until the subscription is
                    // cancelled for non-payment (how billing providers' dunning runs).
                    let attempts = rng.gen_range(2..=4);
                    let gap = rng.gen_range(3..=7);
                    let last = c - rng.gen_range(1..=7);
                    for k in (0..attempts).rev() {
                        let d = last - gap * k;
                        if d >= start_day {
                            failed.push(s.start + d * DAY + rng.gen_range(0..DAY));
                        }
                    }
                }
                Pattern::Support => {
                    for d in (c - 20).max(0)..c {
                        multiplier[d as usize] = 0.7;
                    }
                    for _ in 0..rng.gen_range(2..=5) {
                        let d = c - rng.gen_range(1..=40);
                        tickets.push(SupportTicket {
                            at: s.start + d * DAY + rng.gen_range(0..DAY),
                            severity: Some(f64::from(rng.gen_range(3..=4))),
                        });
                    }
                }
            }
        }
        _ => {
            if rng.gen::<f64>() < s.recovering_dips {
                let from: i64 = rng.gen_range(start_day.max(0)..days);
                let len: i64 = rng.gen_range(10..=35);
                let level = rng.gen_range(0.05..0.3);
                for d in from..(from + len).min(days) {
                    multiplier[d as usize] = level;
                }
            }
        }
    }

    // Background failed payments (about one a year) and tickets (about one per 45 days,
    // more with more seats), before the churn day.
    let end = churn_day.unwrap_or(days);
    let first_day = start_day.max(0);
    let ticket_rate = seats.powf(0.3) / 45.0;
    let amount = LogNormal::new(s.amount_scale.ln(), 0.6).expect("valid");
    let day_factor = s.burstiness.map(|k| Gamma::new(k, 1.0 / k).expect("valid"));
    let base = s.usage_scale * 0.8 * seats.powf(0.7) * engagement;
    let mut events = Vec::new();
    for d in first_day..end {
        if rng.gen::<f64>() < 1.0 / 365.0 {
            failed.push(s.start + d * DAY + rng.gen_range(0..DAY));
        }
        if rng.gen::<f64>() < ticket_rate {
            tickets.push(SupportTicket {
                at: s.start + d * DAY + rng.gen_range(0..DAY),
                severity: Some(f64::from(rng.gen_range(1..=4))),
            });
        }
        let weekday = d.rem_euclid(7);
        let mut rate = base * multiplier[d as usize];
        if weekday >= 5 {
            rate *= s.weekend_factor;
        }
        if s.holiday_weeks
            .iter()
            .any(|&h| (i64::from(h)..i64::from(h) + 7).contains(&d))
        {
            rate *= 0.35;
        }
        if let Some(g) = &day_factor {
            rate *= g.sample(rng);
        }
        if rate <= 0.0 {
            continue;
        }
        let n = Poisson::new(rate).expect("positive rate").sample(rng) as u64;
        for _ in 0..n {
            events.push(UsageEvent {
                at: s.start + d * DAY + rng.gen_range(0..DAY),
                amount: (amount.sample(rng) * 100.0).round() / 100.0,
            });
        }
    }
    TenantHistory {
        id: format!("tenant-{index}"),
        events: Some(events),
        daily: None,
        subscription: Some(Subscription {
            plan: Some(plan.0.to_string()),
            started_at: Some(s.start + start_day * DAY),
            seats: Some(seats),
            monthly_price: Some(price),
            plan_allowance: Some(allowance),
        }),
        failed_payments: Some(failed),
        tickets: Some(tickets),
        churned_at: churn_day.map(|c| s.start + c * DAY + rng.gen_range(0..DAY)),
    }
}
