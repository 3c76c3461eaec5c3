//! Breaker settings: JSON-friendly, validated, and hashed so that every worker sharing a
//! breaker can tell whether it runs the same settings.

use serde::{Deserialize, Serialize};

use super::fnv1a;
use crate::error::{Error, Result};

/// Largest count-based window: the ring of outcomes lives in a fixed-size shared slot.
pub const MAX_COUNT_WINDOW: u32 = 1024;
/// Largest time-based window in seconds.
pub const MAX_TIME_WINDOW_SECONDS: u32 = 3600;
/// A time window is split into at most this many buckets.
pub const MAX_TIME_BUCKETS: u32 = 64;
/// Most probe calls a half-open breaker can let through at once.
pub const MAX_HALF_OPEN_PERMITS: u32 = 16;

/// Which recent calls the failure-rate and slow-call-rate rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SlidingWindow {
    /// The last `size` recorded calls.
    Count {
        /// Number of calls, 1..=1024.
        size: u32,
    },
    /// The calls of the last `seconds` seconds, kept in at most 64 buckets of
    /// `ceil(seconds / 64)` seconds each.
    Time {
        /// Window length, 1..=3600.
        seconds: u32,
    },
}

impl SlidingWindow {
    /// Bucket count and width in nanoseconds of a time window.
    pub(crate) fn time_buckets(seconds: u32) -> (u32, u64) {
        let buckets = seconds.min(MAX_TIME_BUCKETS);
        let width_s = seconds.div_ceil(buckets);
        (buckets, u64::from(width_s) * 1_000_000_000)
    }
}

/// Settings of one circuit breaker.
///
/// The defaults are the platform's rule today: open after 5 consecutive failures, stay open
/// 60 s, then let one probe through (half-open). Rate rules are off until a threshold is set.
///
/// ```
/// use tenantml::breaker::BreakerConfig;
/// let cfg: BreakerConfig = serde_json::from_str(
///     r#"{"failure_rate_threshold": 0.5, "sliding_window": {"kind": "time", "seconds": 30}}"#,
/// ).unwrap();
/// cfg.validate().unwrap();
/// assert_eq!(cfg.consecutive_failure_threshold, 5);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerConfig {
    /// Open after this many failures in a row; 0 turns the rule off.
    pub consecutive_failure_threshold: u32,
    /// Open when the failure rate in the window reaches this share (0 < x <= 1).
    ///
    /// The rate rules are checked when a failed or slow call is recorded: a fast success
    /// never opens a breaker (and keeps the hot path free of window scans).
    pub failure_rate_threshold: Option<f64>,
    /// A call that takes at least this long (milliseconds) counts as slow.
    pub slow_call_duration_ms: Option<f64>,
    /// Open when the share of slow calls in the window reaches this (0 < x <= 1).
    pub slow_call_rate_threshold: Option<f64>,
    /// The window the rate rules look at.
    pub sliding_window: SlidingWindow,
    /// Rates count only once the window holds at least this many calls.
    pub minimum_calls: u32,
    /// Probes let through in half-open; that many successes close the breaker.
    pub half_open_permits: u32,
    /// A probe not recorded within this time is given to another caller, so a worker that
    /// died mid-probe cannot wedge the breaker.
    pub probe_lease_ms: u64,
    /// How long the breaker stays open before letting probes through.
    pub open_wait_ms: u64,
    /// Each consecutive opening (without a successful close between) multiplies the wait.
    pub backoff_multiplier: f64,
    /// Upper bound of the open wait once backoff applies.
    pub max_open_wait_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            consecutive_failure_threshold: 5,
            failure_rate_threshold: None,
            slow_call_duration_ms: None,
            slow_call_rate_threshold: None,
            sliding_window: SlidingWindow::Count { size: 100 },
            minimum_calls: 10,
            half_open_permits: 1,
            probe_lease_ms: 30_000,
            open_wait_ms: 60_000,
            backoff_multiplier: 1.0,
            max_open_wait_ms: 600_000,
        }
    }
}

fn check_rate(name: &str, value: Option<f64>) -> Result<()> {
    match value {
        Some(v) if !(v > 0.0 && v <= 1.0) => Err(Error::InvalidArgument(format!(
            "{name} must be in (0, 1], got {v}"
        ))),
        _ => Ok(()),
    }
}

impl BreakerConfig {
    /// Parses JSON; missing keys take their defaults, unknown keys are an error.
    pub fn from_json(json: &str) -> Result<Self> {
        let config: BreakerConfig = serde_json::from_str(json)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every setting against its documented range.
    pub fn validate(&self) -> Result<()> {
        let invalid = |msg: String| Err(Error::InvalidArgument(msg));
        check_rate("failure_rate_threshold", self.failure_rate_threshold)?;
        check_rate("slow_call_rate_threshold", self.slow_call_rate_threshold)?;
        match self.slow_call_duration_ms {
            Some(ms) if !(ms.is_finite() && ms > 0.0) => {
                return invalid(format!(
                    "slow_call_duration_ms must be a positive number, got {ms}"
                ))
            }
            None if self.slow_call_rate_threshold.is_some() => {
                return invalid(
                    "slow_call_rate_threshold needs slow_call_duration_ms to say what is slow"
                        .into(),
                )
            }
            _ => {}
        }
        match self.sliding_window {
            SlidingWindow::Count { size } if size == 0 || size > MAX_COUNT_WINDOW => {
                return invalid(format!(
                    "sliding_window.size must be in 1..={MAX_COUNT_WINDOW}, got {size}"
                ))
            }
            SlidingWindow::Time { seconds }
                if seconds == 0 || seconds > MAX_TIME_WINDOW_SECONDS =>
            {
                return invalid(format!(
                    "sliding_window.seconds must be in 1..={MAX_TIME_WINDOW_SECONDS}, got {seconds}"
                ))
            }
            _ => {}
        }
        if self.minimum_calls == 0 {
            return invalid("minimum_calls must be at least 1".into());
        }
        if let SlidingWindow::Count { size } = self.sliding_window {
            if self.minimum_calls > size && self.has_rate_rule() {
                return invalid(format!(
                    "minimum_calls ({}) exceeds the count window size ({size}), so the rate rules could never fire",
                    self.minimum_calls
                ));
            }
        }
        if self.half_open_permits == 0 || self.half_open_permits > MAX_HALF_OPEN_PERMITS {
            return invalid(format!(
                "half_open_permits must be in 1..={MAX_HALF_OPEN_PERMITS}, got {}",
                self.half_open_permits
            ));
        }
        if self.probe_lease_ms == 0 {
            return invalid("probe_lease_ms must be at least 1".into());
        }
        if self.open_wait_ms == 0 {
            return invalid("open_wait_ms must be at least 1".into());
        }
        if !(self.backoff_multiplier.is_finite() && self.backoff_multiplier >= 1.0) {
            return invalid(format!(
                "backoff_multiplier must be a finite number >= 1, got {}",
                self.backoff_multiplier
            ));
        }
        if self.max_open_wait_ms < self.open_wait_ms {
            return invalid(format!(
                "max_open_wait_ms ({}) must be >= open_wait_ms ({})",
                self.max_open_wait_ms, self.open_wait_ms
            ));
        }
        // Times travel through 40-bit millisecond fields of the shared slot.
        const MAX_MS: u64 = 1 << 36;
        if self.max_open_wait_ms > MAX_MS || self.probe_lease_ms > MAX_MS {
            return invalid(format!("waits and leases must be at most {MAX_MS} ms"));
        }
        Ok(())
    }

    pub(crate) fn has_rate_rule(&self) -> bool {
        self.failure_rate_threshold.is_some() || self.slow_call_rate_threshold.is_some()
    }

    /// How long to stay open after the `openings`-th consecutive opening (1-based).
    pub(crate) fn open_wait_ms_for(&self, openings: u32) -> u64 {
        let exponent = openings.saturating_sub(1) as i32;
        let wait = self.open_wait_ms as f64 * self.backoff_multiplier.powi(exponent);
        if wait >= self.max_open_wait_ms as f64 {
            self.max_open_wait_ms
        } else {
            wait as u64
        }
    }

    /// Threshold in nanoseconds at or above which a call is slow.
    pub(crate) fn slow_call_ns(&self) -> Option<u64> {
        self.slow_call_duration_ms.map(|ms| (ms * 1e6) as u64)
    }

    /// Fixed-width encoding stored in a shared slot, so another process can adopt it.
    pub(crate) fn to_words(&self) -> [u64; CONFIG_WORDS] {
        let opt = |v: Option<f64>| v.map_or(u64::MAX, f64::to_bits);
        let (kind, size) = match self.sliding_window {
            SlidingWindow::Count { size } => (0u64, size),
            SlidingWindow::Time { seconds } => (1u64, seconds),
        };
        [
            u64::from(self.consecutive_failure_threshold),
            opt(self.failure_rate_threshold),
            opt(self.slow_call_duration_ms),
            opt(self.slow_call_rate_threshold),
            (kind << 32) | u64::from(size),
            u64::from(self.minimum_calls),
            u64::from(self.half_open_permits),
            self.probe_lease_ms,
            self.open_wait_ms,
            self.backoff_multiplier.to_bits(),
            self.max_open_wait_ms,
        ]
    }

    /// Inverse of [`to_words`](Self::to_words); the result is validated.
    pub(crate) fn from_words(w: &[u64; CONFIG_WORDS]) -> Result<Self> {
        let opt = |v: u64| (v != u64::MAX).then(|| f64::from_bits(v));
        let narrow = |v: u64| {
            u32::try_from(v).map_err(|_| Error::StoreCorrupt("config field out of range".into()))
        };
        let size = narrow(w[4] & 0xFFFF_FFFF)?;
        let sliding_window = match w[4] >> 32 {
            0 => SlidingWindow::Count { size },
            1 => SlidingWindow::Time { seconds: size },
            other => {
                return Err(Error::StoreCorrupt(format!(
                    "unknown sliding window kind {other} in stored config"
                )))
            }
        };
        let config = BreakerConfig {
            consecutive_failure_threshold: narrow(w[0])?,
            failure_rate_threshold: opt(w[1]),
            slow_call_duration_ms: opt(w[2]),
            slow_call_rate_threshold: opt(w[3]),
            sliding_window,
            minimum_calls: narrow(w[5])?,
            half_open_permits: narrow(w[6])?,
            probe_lease_ms: w[7],
            open_wait_ms: w[8],
            backoff_multiplier: f64::from_bits(w[9]),
            max_open_wait_ms: w[10],
        };
        config
            .validate()
            .map_err(|e| Error::StoreCorrupt(format!("stored config is invalid: {e}")))?;
        Ok(config)
    }

    /// FNV-1a over the encoded settings: equal settings give equal hashes in every process.
    pub fn hash(&self) -> u64 {
        let h = fnv1a(self.to_words().iter().flat_map(|w| w.to_le_bytes()));
        // Zero marks "no config" in a slot.
        h.max(1)
    }
}

/// Number of `u64` words of an encoded config.
pub(crate) const CONFIG_WORDS: usize = 11;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_platform_rule() {
        let c = BreakerConfig::default();
        assert_eq!(c.consecutive_failure_threshold, 5);
        assert_eq!(c.open_wait_ms, 60_000);
        assert_eq!(c.half_open_permits, 1);
        c.validate().unwrap();
    }

    #[test]
    fn words_round_trip() {
        let c = BreakerConfig {
            failure_rate_threshold: Some(0.25),
            slow_call_duration_ms: Some(150.5),
            slow_call_rate_threshold: Some(0.8),
            sliding_window: SlidingWindow::Time { seconds: 120 },
            backoff_multiplier: 2.0,
            ..Default::default()
        };
        let back = BreakerConfig::from_words(&c.to_words()).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.hash(), c.hash());
        assert_ne!(BreakerConfig::default().hash(), c.hash());
    }

    #[test]
    fn invalid_settings_are_named() {
        let cases = [
            (
                r#"{"failure_rate_threshold": 1.5}"#,
                "failure_rate_threshold must be in (0, 1], got 1.5",
            ),
            (
                r#"{"failure_rate_threshold": 0}"#,
                "failure_rate_threshold must be in (0, 1], got 0",
            ),
            (
                r#"{"sliding_window": {"kind": "count", "size": 0}}"#,
                "sliding_window.size must be in 1..=1024, got 0",
            ),
            (
                r#"{"sliding_window": {"kind": "time", "seconds": 0}}"#,
                "sliding_window.seconds must be in 1..=3600, got 0",
            ),
            (
                r#"{"half_open_permits": 0}"#,
                "half_open_permits must be in 1..=16, got 0",
            ),
            (r#"{"open_wait_ms": 0}"#, "open_wait_ms must be at least 1"),
            (
                r#"{"backoff_multiplier": 0.5}"#,
                "backoff_multiplier must be a finite number >= 1, got 0.5",
            ),
            (
                r#"{"slow_call_rate_threshold": 0.5}"#,
                "slow_call_rate_threshold needs slow_call_duration_ms",
            ),
            (
                r#"{"minimum_calls": 0}"#,
                "minimum_calls must be at least 1",
            ),
        ];
        for (json, expected) in cases {
            let err = BreakerConfig::from_json(json).unwrap_err().to_string();
            assert!(err.contains(expected), "{json}: {err}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_json_are_parse_errors() {
        for json in [r#"{"treshold": 5}"#, "{", r#"{"open_wait_ms": -1}"#] {
            assert!(
                matches!(BreakerConfig::from_json(json), Err(Error::Parse(_))),
                "{json}"
            );
        }
    }

    #[test]
    fn backoff_grows_and_caps() {
        let c = BreakerConfig {
            open_wait_ms: 1000,
            backoff_multiplier: 2.0,
            max_open_wait_ms: 5000,
            ..Default::default()
        };
        let waits: Vec<u64> = (1..=5).map(|n| c.open_wait_ms_for(n)).collect();
        assert_eq!(waits, [1000, 2000, 4000, 5000, 5000]);
    }

    #[test]
    fn time_buckets_cover_the_window() {
        assert_eq!(SlidingWindow::time_buckets(10), (10, 1_000_000_000));
        assert_eq!(SlidingWindow::time_buckets(3600), (64, 57_000_000_000));
    }
}
