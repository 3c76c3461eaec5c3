//! Features of one transaction against the customer's history, computed in one pass over
//! the history with no allocation (a reused [`FeatureScratch`] holds the amounts for the
//! median).
//!
//! # Conventions
//! - **No look-ahead**: history rows with a timestamp after the scored transaction are
//!   ignored. Rows at the same second count as earlier.
//! - **Order does not matter**: every feature is a count, sum, minimum or set test over
//!   the rows, so an unsorted history gives the same values as a sorted one.
//! - **Velocity windows** are half-open, `(t - w, t]`: a row exactly 10 minutes before the
//!   scored transaction is *not* in the 10-minute window (it is in the 1-hour window). The
//!   counts and sums **include the scored transaction itself**, so a first transaction has
//!   `count_10m = 1` and `sum_10m = amount`.
//! - `failed_24h` counts failed history rows in the same half-open 24-hour window.
//! - Missing values are NaN (the trees route them by their learned missing direction):
//!   `amount_zscore` with fewer than 2 earlier rows, `amount_to_median` and
//!   `seconds_since_previous` with none, `method_age_hours` for a new method,
//!   `country_mismatch` when either country is unknown.
//! - Hour and weekday are local to the schema's time zone (UTC without one), as sin/cos
//!   pairs so 23:59 sits next to 00:00.

use std::f64::consts::TAU;

use super::types::{check_amount_time, History, Schema, Transaction, UNKNOWN_CODE};
use crate::error::{Error, Result};
use crate::features::calendar::LocalClock;

/// Names of the base features, in column order (rule hits follow as `rule_<code>`).
pub const BASE_FEATURES: [&str; 21] = [
    "log_amount",
    "amount_zscore",
    "amount_to_median",
    "hour_sin",
    "hour_cos",
    "weekday_sin",
    "weekday_cos",
    "count_10m",
    "sum_10m",
    "count_1h",
    "sum_1h",
    "count_24h",
    "sum_24h",
    "seconds_since_previous",
    "new_payment_method",
    "method_uses",
    "method_age_hours",
    "country_mismatch",
    "new_country",
    "failed_24h",
    "history_length",
];

/// Number of base features.
pub const N_BASE_FEATURES: usize = BASE_FEATURES.len();

/// A velocity window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum VelocityWindow {
    /// The last 10 minutes.
    #[serde(rename = "10m")]
    Minutes10,
    /// The last hour.
    #[serde(rename = "1h")]
    Hour1,
    /// The last 24 hours.
    #[serde(rename = "24h")]
    Hours24,
}

impl VelocityWindow {
    /// Every window, shortest first (the index of [`Facts::count`]). A function rather
    /// than an associated constant: cbindgen exports associated constants and would put
    /// this Rust-only type into the C header.
    pub const fn all() -> [VelocityWindow; 3] {
        [
            VelocityWindow::Minutes10,
            VelocityWindow::Hour1,
            VelocityWindow::Hours24,
        ]
    }

    /// Length in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            VelocityWindow::Minutes10 => 600,
            VelocityWindow::Hour1 => 3_600,
            VelocityWindow::Hours24 => 86_400,
        }
    }

    /// Position in [`VelocityWindow::all`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Readable span, e.g. "10 minutes".
    pub fn text(self) -> &'static str {
        match self {
            VelocityWindow::Minutes10 => "10 minutes",
            VelocityWindow::Hour1 => "hour",
            VelocityWindow::Hours24 => "24 hours",
        }
    }

    /// Name as in JSON: `10m`, `1h`, `24h`.
    pub fn as_str(self) -> &'static str {
        match self {
            VelocityWindow::Minutes10 => "10m",
            VelocityWindow::Hour1 => "1h",
            VelocityWindow::Hours24 => "24h",
        }
    }
}

/// What the features and rules know about one transaction in its history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Facts {
    /// The scored amount.
    pub amount: f64,
    /// History rows at or before the transaction.
    pub history_len: usize,
    /// Mean and standard deviation of earlier amounts (population), when there are some.
    pub mean: f64,
    /// Standard deviation of earlier amounts (0 with one row).
    pub std: f64,
    /// Median of earlier amounts; NaN without history.
    pub median: f64,
    /// Local hour 0..=23 and minute.
    pub local_hour: u8,
    /// Local minute 0..=59.
    pub local_minute: u8,
    /// Local weekday, 0 = Monday.
    pub weekday: u8,
    /// Transactions in each window of [`VelocityWindow::all`], the scored one included.
    pub count: [u32; 3],
    /// Amount in each window, the scored one included.
    pub sum: [f64; 3],
    /// Seconds since the latest earlier row.
    pub seconds_since_previous: Option<i64>,
    /// Earlier rows with the same payment method.
    pub method_uses: u32,
    /// Seconds since the payment method's first earlier use.
    pub method_age_seconds: Option<i64>,
    /// Card country differs from IP country (`None` when either is unknown).
    pub country_mismatch: Option<bool>,
    /// The card country is unknown or absent from the earlier rows.
    pub new_country: bool,
    /// Failed earlier rows in the last 24 hours.
    pub failed_24h: u32,
}

impl Facts {
    /// The payment method has no earlier row.
    pub fn new_payment_method(&self) -> bool {
        self.method_uses == 0
    }

    /// Writes the base features, in [`BASE_FEATURES`] order, into `out[..N_BASE_FEATURES]`.
    pub fn write_features(&self, out: &mut [f64]) {
        let hour = f64::from(self.local_hour) + f64::from(self.local_minute) / 60.0;
        let (hs, hc) = (TAU * hour / 24.0).sin_cos();
        let (ws, wc) = (TAU * f64::from(self.weekday) / 7.0).sin_cos();
        let zscore = if self.history_len >= 2 {
            // A floor on the spread keeps a customer who always pays the same from
            // producing infinite z-scores.
            (self.amount - self.mean) / self.std.max(0.05 * self.mean.abs() + 0.01)
        } else {
            f64::NAN
        };
        let ratio = if self.history_len >= 1 {
            self.amount / self.median.max(0.01)
        } else {
            f64::NAN
        };
        let bool_f = |b: bool| if b { 1.0 } else { 0.0 };
        let values: [f64; N_BASE_FEATURES] = [
            self.amount.ln_1p(),
            zscore,
            ratio,
            hs,
            hc,
            ws,
            wc,
            f64::from(self.count[0]),
            self.sum[0],
            f64::from(self.count[1]),
            self.sum[1],
            f64::from(self.count[2]),
            self.sum[2],
            self.seconds_since_previous.map_or(f64::NAN, |s| s as f64),
            bool_f(self.new_payment_method()),
            f64::from(self.method_uses),
            self.method_age_seconds
                .map_or(f64::NAN, |s| s as f64 / 3_600.0),
            self.country_mismatch.map_or(f64::NAN, bool_f),
            bool_f(self.new_country),
            f64::from(self.failed_24h),
            self.history_len as f64,
        ];
        out[..N_BASE_FEATURES].copy_from_slice(&values);
    }
}

/// Reusable working memory for [`compute_facts`]: after the first call with a given history
/// length, computing features allocates nothing. One per thread.
#[derive(Debug, Clone, Default)]
pub struct FeatureScratch {
    amounts: Vec<f64>,
    /// (timestamp, row) of the rows kept under a history cap.
    kept: Vec<(i64, usize)>,
    pub(crate) row: Vec<f64>,
}

impl FeatureScratch {
    /// An empty scratch.
    pub fn new() -> FeatureScratch {
        FeatureScratch::default()
    }
}

/// Checks the scored transaction and every history row (amounts, timestamps, outcome and
/// country codes against the schema).
pub fn check_inputs<H: History + ?Sized>(
    schema: &Schema,
    txn: &Transaction,
    history: &H,
) -> Result<()> {
    check_amount_time(txn.amount, txn.timestamp, "transaction")?;
    schema.check_codes(txn)?;
    for i in 0..history.len() {
        let p = history.get(i);
        let in_range =
            (super::types::MIN_TIMESTAMP..super::types::MAX_TIMESTAMP).contains(&p.timestamp);
        if !(p.amount.is_finite() && p.amount >= 0.0 && in_range) {
            check_amount_time(p.amount, p.timestamp, &format!("history row {i}"))?;
        }
        if p.outcome > 1 {
            return Err(Error::InvalidArgument(format!(
                "history row {i}: outcome code {} is neither 0 (succeeded) nor 1 (failed)",
                p.outcome
            )));
        }
        if !schema.countries.is_valid(p.country) {
            return Err(Error::InvalidArgument(format!(
                "history row {i}: country code {} is not in the schema (0..={})",
                p.country,
                schema.countries.len()
            )));
        }
    }
    Ok(())
}

/// The facts of `txn` against `history` (inputs assumed checked by [`check_inputs`]).
///
/// ```
/// use tenantml::features::calendar::LocalClock;
/// use tenantml::scoring::fraud::{compute_facts, FeatureScratch, Transaction};
/// let t0 = 1_700_000_000;
/// let history = [Transaction::new(t0 - 600, 10.0), Transaction::new(t0 - 599, 20.0)];
/// let facts = compute_facts(
///     &Transaction::new(t0, 30.0),
///     history.as_slice(),
///     &LocalClock::utc(),
///     &mut FeatureScratch::new(),
/// );
/// // (t0 - 600, t0]: the row exactly 10 minutes old is outside; the scored one counts.
/// assert_eq!(facts.count[0], 2);
/// assert_eq!(facts.sum[0], 50.0);
/// assert_eq!(facts.median, 15.0);
/// ```
pub fn compute_facts<H: History + ?Sized>(
    txn: &Transaction,
    history: &H,
    clock: &LocalClock,
    scratch: &mut FeatureScratch,
) -> Facts {
    compute_facts_capped(txn, history, clock, usize::MAX, scratch)
}

/// [`compute_facts`] over at most the `cap` most recent history rows at or before the
/// transaction (ties in time: the later in the input counts as more recent), as a scorer
/// fitted with `history_cap = cap` saw them when training. A caller passing more rows
/// gets the same features as one passing exactly the last `cap`.
///
/// ```
/// use tenantml::features::calendar::LocalClock;
/// use tenantml::scoring::fraud::{compute_facts_capped, FeatureScratch, Transaction};
/// let t0 = 1_700_000_000;
/// let history: Vec<Transaction> =
///     (1..=5).map(|i| Transaction::new(t0 - 100 * i, 10.0 * i as f64)).collect();
/// let clock = LocalClock::utc();
/// let mut scratch = FeatureScratch::new();
/// let facts = compute_facts_capped(&Transaction::new(t0, 1.0), history.as_slice(), &clock, 2, &mut scratch);
/// assert_eq!((facts.history_len, facts.mean), (2, 15.0)); // the two newest: 10 and 20
/// ```
pub fn compute_facts_capped<H: History + ?Sized>(
    txn: &Transaction,
    history: &H,
    clock: &LocalClock,
    cap: usize,
    scratch: &mut FeatureScratch,
) -> Facts {
    let t = txn.timestamp;
    let capped = history.len() > cap;
    if capped {
        // Only then pay for ranking the rows by time.
        let kept = &mut scratch.kept;
        kept.clear();
        kept.extend((0..history.len()).filter_map(|i| {
            let ts = history.get(i).timestamp;
            (ts <= t).then_some((ts, i))
        }));
        if kept.len() > cap {
            let cut = kept.len() - cap;
            kept.select_nth_unstable(cut);
            kept.drain(..cut);
        }
        kept.sort_unstable_by_key(|&(_, i)| i);
    }
    let amounts = &mut scratch.amounts;
    amounts.clear();
    let mut count = [1u32; 3];
    let mut sum = [txn.amount; 3];
    let (mut total, mut total_sq) = (0.0, 0.0);
    let mut latest: Option<i64> = None;
    let mut method_uses = 0u32;
    let mut method_first: Option<i64> = None;
    let mut country_seen = false;
    let mut failed_24h = 0u32;
    let rows = if capped {
        scratch.kept.len()
    } else {
        history.len()
    };
    for r in 0..rows {
        let p = history.get(if capped { scratch.kept[r].1 } else { r });
        if p.timestamp > t {
            continue; // no look-ahead
        }
        let age = t - p.timestamp;
        amounts.push(p.amount);
        total += p.amount;
        total_sq += p.amount * p.amount;
        latest = Some(latest.map_or(p.timestamp, |l: i64| l.max(p.timestamp)));
        for (k, w) in VelocityWindow::all().iter().enumerate() {
            if age < w.seconds() {
                count[k] += 1;
                sum[k] += p.amount;
            }
        }
        if p.payment_method == txn.payment_method {
            method_uses += 1;
            method_first = Some(method_first.map_or(p.timestamp, |f: i64| f.min(p.timestamp)));
        }
        if p.country == txn.country && txn.country != UNKNOWN_CODE {
            country_seen = true;
        }
        if p.outcome == 1 && age < VelocityWindow::Hours24.seconds() {
            failed_24h += 1;
        }
    }
    let n = amounts.len();
    let (mean, std, median) = if n == 0 {
        (f64::NAN, f64::NAN, f64::NAN)
    } else {
        let mean = total / n as f64;
        let var = (total_sq / n as f64 - mean * mean).max(0.0);
        let mid = n / 2;
        let (_, &mut hi, _) = amounts.select_nth_unstable_by(mid, f64::total_cmp);
        let median = if n % 2 == 1 {
            hi
        } else {
            // The lower middle is the largest of the lower half.
            let lo = amounts[..mid]
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max);
            (lo + hi) / 2.0
        };
        (mean, var.sqrt(), median)
    };
    let local = clock.local(t);
    let country_mismatch = if txn.country == UNKNOWN_CODE || txn.ip_country == UNKNOWN_CODE {
        None
    } else {
        Some(txn.country != txn.ip_country)
    };
    Facts {
        amount: txn.amount,
        history_len: n,
        mean,
        std,
        median,
        local_hour: local.hour,
        local_minute: local.minute,
        weekday: local.weekday,
        count,
        sum,
        seconds_since_previous: latest.map(|l| t - l),
        method_uses,
        method_age_seconds: method_first.map(|f| t - f),
        country_mismatch,
        new_country: !country_seen,
        failed_24h,
    }
}

/// Readable text for a base feature's value in these facts (the model's reason texts).
pub fn describe_feature(index: usize, facts: &Facts) -> String {
    let money = |v: f64| format!("{v:.2}");
    match BASE_FEATURES.get(index).copied().unwrap_or("") {
        "log_amount" => format!("amount {}", money(facts.amount)),
        "amount_zscore" => {
            let z = (facts.amount - facts.mean) / facts.std.max(0.05 * facts.mean.abs() + 0.01);
            if z.is_finite() {
                format!(
                    "amount {} is {z:.1} standard deviations from the customer's mean {}",
                    money(facts.amount),
                    money(facts.mean)
                )
            } else {
                "too few earlier transactions to compare the amount with".to_string()
            }
        }
        "amount_to_median" => {
            if facts.history_len == 0 {
                "no earlier transactions to compare the amount with".to_string()
            } else {
                format!(
                    "amount {} is {:.1}x the customer's median {}",
                    money(facts.amount),
                    facts.amount / facts.median.max(0.01),
                    money(facts.median)
                )
            }
        }
        "hour_sin" | "hour_cos" => format!(
            "local time {:02}:{:02}",
            facts.local_hour, facts.local_minute
        ),
        "weekday_sin" | "weekday_cos" => {
            const DAYS: [&str; 7] = [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            ];
            format!("on a {}", DAYS[usize::from(facts.weekday % 7)])
        }
        "count_10m" | "count_1h" | "count_24h" => {
            let w = VelocityWindow::all()[(index - 7) / 2];
            let n = facts.count[w.index()];
            format!(
                "{n} transaction{} in the last {}",
                if n == 1 { "" } else { "s" },
                w.text()
            )
        }
        "sum_10m" | "sum_1h" | "sum_24h" => {
            let w = VelocityWindow::all()[(index - 8) / 2];
            format!(
                "{} spent in the last {}",
                money(facts.sum[w.index()]),
                w.text()
            )
        }
        "seconds_since_previous" => match facts.seconds_since_previous {
            None => "first transaction of this customer".to_string(),
            Some(s) if s < 3_600 => format!("{} s after the previous transaction", s),
            Some(s) if s < 2 * 86_400 => {
                format!(
                    "{:.1} hours after the previous transaction",
                    s as f64 / 3_600.0
                )
            }
            Some(s) => format!(
                "{:.0} days after the previous transaction",
                s as f64 / 86_400.0
            ),
        },
        "new_payment_method" | "method_uses" | "method_age_hours" => {
            match facts.method_age_seconds {
                None => "payment method not seen before for this customer".to_string(),
                Some(age) => format!(
                    "payment method used {} time{} before, first {:.1} hours ago",
                    facts.method_uses,
                    if facts.method_uses == 1 { "" } else { "s" },
                    age as f64 / 3_600.0
                ),
            }
        }
        "country_mismatch" => match facts.country_mismatch {
            Some(true) => "card country differs from the IP address's country".to_string(),
            Some(false) => "card country matches the IP address's country".to_string(),
            None => "card or IP country unknown".to_string(),
        },
        "new_country" => {
            if facts.new_country {
                "country not seen before for this customer".to_string()
            } else {
                "country seen before for this customer".to_string()
            }
        }
        "failed_24h" => format!(
            "{} failed attempt{} in the last 24 hours",
            facts.failed_24h,
            if facts.failed_24h == 1 { "" } else { "s" }
        ),
        "history_length" => format!(
            "{} earlier transaction{} on record",
            facts.history_len,
            if facts.history_len == 1 { "" } else { "s" }
        ),
        _ => format!("feature {index}"),
    }
}

/// The clock of a schema's time zone.
pub(crate) fn clock_of(schema: &Schema) -> Result<LocalClock> {
    LocalClock::new(schema.time_zone.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts_of(amounts: &[f64]) -> Facts {
        let t0 = 1_700_000_000;
        let history: Vec<Transaction> = amounts
            .iter()
            .enumerate()
            .map(|(i, &a)| Transaction::new(t0 - 100_000 - i as i64, a))
            .collect();
        compute_facts(
            &Transaction::new(t0, 1.0),
            history.as_slice(),
            &LocalClock::utc(),
            &mut FeatureScratch::new(),
        )
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(facts_of(&[5.0]).median, 5.0);
        assert_eq!(facts_of(&[9.0, 1.0, 5.0]).median, 5.0);
        assert_eq!(facts_of(&[9.0, 1.0, 5.0, 3.0]).median, 4.0);
        assert_eq!(facts_of(&[2.0, 2.0, 2.0, 8.0, 8.0, 8.0]).median, 5.0);
        assert!(facts_of(&[]).median.is_nan());
    }

    #[test]
    fn a_constant_customer_gets_a_finite_zscore() {
        let f = facts_of(&[10.0, 10.0, 10.0]);
        let mut row = [0.0; N_BASE_FEATURES];
        f.write_features(&mut row);
        assert_eq!(f.std, 0.0);
        assert!(row[1].is_finite() && row[1] < 0.0, "{}", row[1]);
    }

    #[test]
    fn every_base_feature_has_its_own_description() {
        let f = facts_of(&[10.0, 20.0]);
        for (i, name) in BASE_FEATURES.iter().enumerate() {
            assert!(!describe_feature(i, &f).starts_with("feature "), "{name}");
        }
    }
}
