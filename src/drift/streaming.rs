//! Streaming change detectors for a stream of errors or values: Page-Hinkley and ADWIN.
//!
//! Both follow river (`river.drift.PageHinkley`, `river.drift.ADWIN`, 0.26) operation for
//! operation, so they flag drift at the same positions on the same stream (tested on
//! streams exported by `tests/fixtures/drift/make_fixtures.py`). Like river, a detector
//! that flagged drift starts afresh on its next update. Their state is plain data,
//! serialisable with serde (JSON), so a PHP worker can store it between requests.
//!
//! Non-finite inputs (NaN, ±inf) are ignored: `update` returns `false` and the state is
//! unchanged.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which changes of the mean [`PageHinkley`] watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageHinkleyMode {
    /// Increases only (e.g. a rising error rate).
    Up,
    /// Decreases only.
    Down,
    /// Both directions.
    #[default]
    Both,
}

/// Settings of a [`PageHinkley`] detector, named as in the literature; the defaults are
/// river's. `{}` is valid JSON; unknown fields are refused.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PageHinkleyParams {
    /// Observations before a change may be flagged (default 30).
    pub min_instances: u64,
    /// Magnitude of changes that are tolerated, `delta` (default 0.005).
    pub delta: f64,
    /// Detection threshold `lambda` (default 50).
    pub threshold: f64,
    /// Forgetting factor `alpha` applied to the cumulative sums (default `1 - 1e-4`).
    pub alpha: f64,
    /// Direction(s) of change to detect (default both).
    pub mode: PageHinkleyMode,
}

impl Default for PageHinkleyParams {
    fn default() -> Self {
        PageHinkleyParams {
            min_instances: 30,
            delta: 0.005,
            threshold: 50.0,
            alpha: 1.0 - 0.0001,
            mode: PageHinkleyMode::Both,
        }
    }
}

impl PageHinkleyParams {
    fn validate(&self) -> Result<()> {
        if !(self.delta.is_finite() && self.delta >= 0.0) {
            return Err(Error::InvalidArgument(format!(
                "page-hinkley delta must be finite and >= 0, got {}",
                self.delta
            )));
        }
        if !(self.threshold.is_finite() && self.threshold > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "page-hinkley threshold (lambda) must be finite and > 0, got {}",
                self.threshold
            )));
        }
        if !(self.alpha > 0.0 && self.alpha <= 1.0) {
            return Err(Error::InvalidArgument(format!(
                "page-hinkley alpha must be in (0, 1], got {}",
                self.alpha
            )));
        }
        Ok(())
    }
}

/// The Page-Hinkley test (Page 1954): cumulative deviations of each value from the running
/// mean, less `delta`, faded by `alpha`; drift when a sum strays more than `threshold`
/// from its extreme.
///
/// ```
/// use tenantml::drift::{PageHinkley, PageHinkleyParams};
/// let mut ph = PageHinkley::new(PageHinkleyParams::default())?;
/// let mut at = None;
/// for i in 0..2000 {
///     let x = if i < 1000 { (i % 2) as f64 } else { 5.0 + (i % 4) as f64 };
///     if ph.update(x) {
///         at = Some(i);
///         break;
///     }
/// }
/// assert!(at.unwrap() >= 1000);
/// // The state travels as JSON between requests.
/// let restored = PageHinkley::from_json(&ph.to_json()?)?;
/// assert_eq!(restored, ph);
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageHinkley {
    params: PageHinkleyParams,
    n: f64,
    mean: f64,
    sum_increase: f64,
    sum_decrease: f64,
    /// Minimum of `sum_increase`; `f64::MAX` stands for river's `+inf` (JSON has no
    /// infinity, and the sums are finite, so the comparisons are the same).
    min_increase: f64,
    max_decrease: f64,
    drift_detected: bool,
}

impl PageHinkley {
    /// A fresh detector. Errors on parameters outside their domain.
    pub fn new(params: PageHinkleyParams) -> Result<Self> {
        params.validate()?;
        Ok(Self::fresh(params))
    }

    fn fresh(params: PageHinkleyParams) -> Self {
        PageHinkley {
            params,
            n: 0.0,
            mean: 0.0,
            sum_increase: 0.0,
            sum_decrease: 0.0,
            min_increase: f64::MAX,
            max_decrease: -1.0,
            drift_detected: false,
        }
    }

    /// Adds one value; returns whether drift is detected at this value.
    #[inline]
    pub fn update(&mut self, x: f64) -> bool {
        if !x.is_finite() {
            return false;
        }
        if self.drift_detected {
            *self = Self::fresh(self.params);
        }
        let p = &self.params;
        self.n += 1.0;
        self.mean += (1.0 / self.n) * (x - self.mean);
        let dev = x - self.mean;
        self.sum_increase = p.alpha * self.sum_increase + dev - p.delta;
        self.sum_decrease = p.alpha * self.sum_decrease + dev + p.delta;
        if self.sum_increase < self.min_increase {
            self.min_increase = self.sum_increase;
        }
        if self.sum_decrease > self.max_decrease {
            self.max_decrease = self.sum_decrease;
        }
        if self.n >= p.min_instances as f64 {
            let up = self.sum_increase - self.min_increase > p.threshold;
            let down = self.max_decrease - self.sum_decrease > p.threshold;
            self.drift_detected = match p.mode {
                PageHinkleyMode::Up => up,
                PageHinkleyMode::Down => down,
                PageHinkleyMode::Both => up || down,
            };
        }
        self.drift_detected
    }

    /// Whether the last update detected drift.
    pub fn drift_detected(&self) -> bool {
        self.drift_detected
    }

    /// Values seen since the detector (re)started.
    pub fn n(&self) -> u64 {
        self.n as u64
    }

    /// Running mean since the detector (re)started.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The current test statistics `(increase, decrease)`; drift when one exceeds the
    /// threshold (and `min_instances` values were seen).
    pub fn statistics(&self) -> (f64, f64) {
        if self.n == 0.0 {
            return (0.0, 0.0);
        }
        (
            self.sum_increase - self.min_increase,
            self.max_decrease - self.sum_decrease,
        )
    }

    /// The settings.
    pub fn params(&self) -> &PageHinkleyParams {
        &self.params
    }

    /// The state as JSON.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string(self)?)
    }

    /// A detector from [`PageHinkley::to_json`]'s output; validates the settings.
    pub fn from_json(json: &str) -> Result<Self> {
        let ph: PageHinkley = serde_json::from_str(json)?;
        ph.params.validate()?;
        Ok(ph)
    }
}

/// Settings of an [`Adwin`] detector; the defaults are river's. `{}` is valid JSON;
/// unknown fields are refused.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdwinParams {
    /// Confidence `delta` of the cut test, in (0, 1) (default 0.002).
    pub delta: f64,
    /// Check for cuts every `clock` updates (default 32).
    pub clock: u32,
    /// Buckets per row before the two oldest are merged into the next row (default 5).
    pub max_buckets: u32,
    /// Smallest length of either sub-window at a cut (default 5).
    pub min_window_length: u32,
    /// Values before any cut is checked (default 10).
    pub grace_period: u32,
}

impl Default for AdwinParams {
    fn default() -> Self {
        AdwinParams {
            delta: 0.002,
            clock: 32,
            max_buckets: 5,
            min_window_length: 5,
            grace_period: 10,
        }
    }
}

impl AdwinParams {
    fn validate(&self) -> Result<()> {
        if !(self.delta > 0.0 && self.delta < 1.0) {
            return Err(Error::InvalidArgument(format!(
                "adwin delta must be in (0, 1), got {}",
                self.delta
            )));
        }
        if self.clock == 0 || self.max_buckets == 0 {
            return Err(Error::InvalidArgument(format!(
                "adwin clock and max_buckets must be >= 1, got {} and {}",
                self.clock, self.max_buckets
            )));
        }
        Ok(())
    }
}

/// One row of ADWIN's exponential histogram: buckets of `2^row` values each, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    totals: Vec<f64>,
    variances: Vec<f64>,
}

/// ADWIN, ADaptive WINdowing (Bifet & Gavaldà 2007): a window kept as an exponential
/// histogram, cut whenever two sub-windows have means further apart than the Hoeffding-
/// Bernstein bound allows; a cut is a detected change. Memory is
/// `O(max_buckets * log(width))`; cuts are checked every `clock` updates.
///
/// ```
/// use tenantml::drift::{Adwin, AdwinParams};
/// let mut adwin = Adwin::new(AdwinParams::default())?;
/// let detections: Vec<usize> = (0..2000)
///     .filter(|&i| adwin.update(if i < 1000 { 0.1 } else { 0.9 } + 0.01 * (i % 3) as f64))
///     .collect();
/// assert!(!detections.is_empty() && detections[0] >= 1000);
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adwin {
    params: AdwinParams,
    total: f64,
    variance: f64,
    width: f64,
    tick: u64,
    n_detections: u64,
    drift_detected: bool,
    rows: Vec<Row>,
}

impl Adwin {
    /// A fresh detector. Errors on parameters outside their domain.
    pub fn new(params: AdwinParams) -> Result<Self> {
        params.validate()?;
        Ok(Self::fresh(params))
    }

    fn fresh(params: AdwinParams) -> Self {
        Adwin {
            params,
            total: 0.0,
            variance: 0.0,
            width: 0.0,
            tick: 0,
            n_detections: 0,
            drift_detected: false,
            rows: vec![Row::default()],
        }
    }

    /// Adds one value; returns whether a change was detected (the window was cut).
    pub fn update(&mut self, x: f64) -> bool {
        if !x.is_finite() {
            return false;
        }
        if self.drift_detected {
            *self = Self::fresh(self.params);
        }
        self.insert(x);
        self.drift_detected = self.detect_change();
        self.drift_detected
    }

    fn insert(&mut self, x: f64) {
        self.rows[0].totals.push(x);
        self.rows[0].variances.push(0.0);
        self.width += 1.0;
        let mut inc = 0.0;
        if self.width > 1.0 {
            let d = x - self.total / (self.width - 1.0);
            inc = (self.width - 1.0) * d * d / self.width;
        }
        self.variance += inc;
        self.total += x;
        self.compress();
    }

    fn compress(&mut self) {
        let full = self.params.max_buckets as usize + 1;
        let mut i = 0;
        while self.rows[i].totals.len() == full {
            let n1 = (1u64 << i) as f64;
            let row = &mut self.rows[i];
            let (t0, t1) = (row.totals[0], row.totals[1]);
            let (v0, v1) = (row.variances[0], row.variances[1]);
            row.totals.drain(..2);
            row.variances.drain(..2);
            let (mu0, mu1) = (t0 / n1, t1 / n1);
            let merged_var = v0 + v1 + n1 * 0.5 * (mu0 - mu1) * (mu0 - mu1);
            if i + 1 == self.rows.len() {
                self.rows.push(Row::default());
            }
            self.rows[i + 1].totals.push(t0 + t1);
            self.rows[i + 1].variances.push(merged_var);
            if self.rows[i + 1].totals.len() <= self.params.max_buckets as usize {
                break;
            }
            i += 1;
        }
    }

    /// Drops the oldest bucket.
    fn delete_oldest(&mut self) {
        let last = self.rows.len() - 1;
        let n = (1u64 << last) as f64;
        let (u, v) = (self.rows[last].totals[0], self.rows[last].variances[0]);
        let mu = u / n;
        self.width -= n;
        self.total -= u;
        let mu_window = self.total / self.width;
        self.variance -=
            v + n * self.width * (mu - mu_window) * (mu - mu_window) / (n + self.width);
        self.rows[last].totals.remove(0);
        self.rows[last].variances.remove(0);
        if self.rows[last].totals.is_empty() && last > 0 {
            self.rows.pop();
        }
    }

    fn detect_change(&mut self) -> bool {
        let mut detected = false;
        self.tick += 1;
        let min_len = self.params.min_window_length as f64;
        if self.tick.is_multiple_of(self.params.clock as u64)
            && self.width > self.params.grace_period as f64
        {
            let mut reduce = true;
            while reduce {
                reduce = false;
                let (mut n0, mut n1) = (0.0f64, self.width);
                let (mut u0, mut u1) = (0.0f64, self.total);
                'rows: for idx in (0..self.rows.len()).rev() {
                    let size = (1u64 << idx) as f64;
                    let len = self.rows[idx].totals.len();
                    for k in 0..len {
                        n0 += size;
                        n1 -= size;
                        let t = self.rows[idx].totals[k];
                        u0 += t;
                        u1 -= t;
                        if idx == 0 && k == len - 1 {
                            break 'rows;
                        }
                        let diff = u0 / n0 - u1 / n1;
                        if n1 >= min_len && n0 >= min_len && self.cut(n0, n1, diff, min_len) {
                            reduce = true;
                            detected = true;
                            if self.width > 0.0 {
                                self.delete_oldest();
                                break 'rows;
                            }
                        }
                    }
                }
            }
        }
        if detected {
            self.n_detections += 1;
        }
        detected
    }

    fn cut(&self, n0: f64, n1: f64, diff: f64, min_len: f64) -> bool {
        let delta_prime = (2.0 * self.width.ln() / self.params.delta).ln();
        let m_recip = 1.0 / (n0 - min_len + 1.0) + 1.0 / (n1 - min_len + 1.0);
        let eps = (2.0 * m_recip * (self.variance / self.width) * delta_prime).sqrt()
            + 2.0 / 3.0 * delta_prime * m_recip;
        diff.abs() > eps
    }

    /// Whether the last update detected a change.
    pub fn drift_detected(&self) -> bool {
        self.drift_detected
    }

    /// Number of values in the window.
    pub fn width(&self) -> u64 {
        self.width as u64
    }

    /// Sum of the values in the window.
    pub fn total(&self) -> f64 {
        self.total
    }

    /// Mean of the window (0 when empty), river's `estimation`.
    pub fn estimation(&self) -> f64 {
        if self.width == 0.0 {
            0.0
        } else {
            self.total / self.width
        }
    }

    /// Sum of squared deviations from the mean within the window (river's `variance`).
    pub fn variance(&self) -> f64 {
        self.variance
    }

    /// Changes detected since the detector (re)started; as in river, the count restarts
    /// with the detector after a detection, so it is 0 or 1.
    pub fn n_detections(&self) -> u64 {
        self.n_detections
    }

    /// The settings.
    pub fn params(&self) -> &AdwinParams {
        &self.params
    }

    /// The state as JSON.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string(self)?)
    }

    /// A detector from [`Adwin::to_json`]'s output; validates settings and the window.
    pub fn from_json(json: &str) -> Result<Self> {
        let a: Adwin = serde_json::from_str(json)?;
        a.params.validate()?;
        let mut width = 0.0;
        for (i, r) in a.rows.iter().enumerate() {
            if r.totals.len() != r.variances.len()
                || r.totals.len() > a.params.max_buckets as usize
                || i >= 63
            {
                return Err(Error::Parse("adwin state: malformed bucket rows".into()));
            }
            width += (r.totals.len() as f64) * (1u64 << i) as f64;
        }
        if a.rows.is_empty() || width != a.width {
            return Err(Error::Parse(format!(
                "adwin state: buckets hold {width} values but width is {}",
                a.width
            )));
        }
        Ok(a)
    }
}
