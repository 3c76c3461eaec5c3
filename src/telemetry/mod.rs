//! Host-wide metrics and their Prometheus text exposition (format 0.0.4).
//!
//! A [`Telemetry`] holds prediction counts and latency histograms per model and outcome,
//! drift scores, the model versions in use and a count of records it had to drop. It lives
//! on the heap of this process ([`Telemetry::in_process`]) or in a memory-mapped file every
//! process on the host maps ([`Telemetry::shared`]), so one page shows the whole host
//! whichever php-fpm worker serves it.
//!
//! The prediction paths (usage forecasts, fraud scores, churn scores) record into the
//! process-global recorder ([`global`]) without the caller passing anything: an in-process
//! store until [`install`] or [`install_shared`] replaces it. Each prediction call records
//! one observation; batch paths record one per row (each row is scored by the one-row path).
//!
//! ```
//! use std::time::Duration;
//! use tenantml::telemetry::{self, Telemetry};
//! let metrics = Telemetry::in_process();
//! metrics.record_prediction("fraud-eu", "model", Duration::from_micros(3))?;
//! metrics.set_model_version("fraud-eu", 7)?;
//! let page = telemetry::render_page(&metrics, None)?;
//! assert!(page.contains("tenantml_predictions_total{model=\"fraud-eu\",outcome=\"model\"} 1"));
//! assert!(page.contains("tenantml_model_version_in_use{model=\"fraud-eu\"} 7"));
//! // A Laravel route (or any HTTP handler) serves `page` with this Content-Type:
//! assert!(telemetry::CONTENT_TYPE.starts_with("text/plain; version=0.0.4"));
//! # Ok::<(), tenantml::Error>(())
//! ```

mod render;
mod slot;
mod table;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicPtr;
use std::sync::atomic::Ordering::*;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Deserialize;

pub use render::{breaker_metrics, render_breakers};
pub use slot::{LATENCY_BUCKETS, MAX_LABEL_LEN};
pub use table::{LAYOUT_VERSION, MAX_CAPACITY};

use crate::breaker::BreakerStore;
use crate::drift::DriftReport;
use crate::error::{Error, Result};
use slot::{Family, Key};
use table::Backing;

/// Content-Type header to serve the exposition with.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Series an in-process store holds.
pub const DEFAULT_CAPACITY: u32 = 1024;

/// Where and how the shared metrics file is created.
///
/// ```
/// use tenantml::telemetry::TelemetryOptions;
/// let o: TelemetryOptions = serde_json::from_str(r#"{"path": "/tmp/m.shm"}"#).unwrap();
/// assert_eq!(o.capacity, 1024);
/// assert_eq!(o.mode, 0o660);
/// assert_eq!(TelemetryOptions::default().path.to_str(), Some("/dev/shm/tenantml-metrics.shm"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryOptions {
    /// The file; `/dev/shm/tenantml-metrics.shm` (memory-backed) by default. Its directory
    /// is created if missing.
    pub path: PathBuf,
    /// Number of series (one per model and outcome, per model and drift feature, ...) when
    /// the file is created (an existing file keeps its own), at most [`MAX_CAPACITY`].
    pub capacity: u32,
    /// Permission bits of a new file (0660: the web server's group can share it).
    pub mode: u32,
}

impl Default for TelemetryOptions {
    fn default() -> Self {
        TelemetryOptions {
            path: PathBuf::from("/dev/shm/tenantml-metrics.shm"),
            capacity: DEFAULT_CAPACITY,
            mode: 0o660,
        }
    }
}

impl TelemetryOptions {
    /// Defaults, at another path.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        TelemetryOptions {
            path: path.into(),
            ..Default::default()
        }
    }

    fn validate(&self) -> Result<()> {
        check_capacity(self.capacity)?;
        if self.path.as_os_str().is_empty() || self.path.file_name().is_none() {
            return Err(Error::InvalidArgument(format!(
                "the metrics path must name a file, got {:?}",
                self.path
            )));
        }
        if self.mode > 0o777 {
            return Err(Error::InvalidArgument(format!(
                "mode must be permission bits (at most 0o777), got {:o}",
                self.mode
            )));
        }
        Ok(())
    }
}

fn check_capacity(capacity: u32) -> Result<()> {
    if capacity == 0 || capacity > MAX_CAPACITY {
        return Err(Error::InvalidArgument(format!(
            "capacity must be in 1..={MAX_CAPACITY}, got {capacity}"
        )));
    }
    Ok(())
}

/// A table of metric series: in-process or shared through a file. Cheap to clone (clones
/// share the table); `Send + Sync`; every update is a few atomic adds.
#[derive(Clone)]
pub struct Telemetry {
    backing: Arc<Backing>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.backing.path() {
            Some(p) => write!(f, "Telemetry({})", p.display()),
            None => f.write_str("Telemetry(in-process)"),
        }
    }
}

fn check_label(what: &str, value: &str, may_be_empty: bool) -> Result<()> {
    if (value.is_empty() && !may_be_empty) || value.len() > MAX_LABEL_LEN || value.contains('\0') {
        return Err(Error::InvalidArgument(format!(
            "{what} must be {}..={MAX_LABEL_LEN} bytes without NUL, got {} bytes",
            u8::from(!may_be_empty),
            value.len()
        )));
    }
    Ok(())
}

impl Telemetry {
    /// Series private to this process, [`DEFAULT_CAPACITY`] of them.
    pub fn in_process() -> Telemetry {
        Telemetry::with_capacity(DEFAULT_CAPACITY).expect("the default capacity is valid")
    }

    /// Series private to this process, at most `capacity` of them.
    pub fn with_capacity(capacity: u32) -> Result<Telemetry> {
        check_capacity(capacity)?;
        Ok(Telemetry {
            backing: Arc::new(Backing::heap(capacity as usize)),
        })
    }

    /// Series shared by every process on the host through a memory-mapped file (created if
    /// missing; a foreign, truncated or damaged file is [`Error::StoreCorrupt`]).
    pub fn shared(options: &TelemetryOptions) -> Result<Telemetry> {
        Ok(Telemetry {
            backing: Arc::new(Backing::open(options)?),
        })
    }

    /// The file behind a shared table.
    pub fn path(&self) -> Option<&Path> {
        self.backing.path()
    }

    /// Most series the table holds.
    pub fn capacity(&self) -> usize {
        self.backing.capacity()
    }

    /// Records that were dropped because the table was full.
    pub fn dropped(&self) -> u64 {
        self.backing.dropped().load(Relaxed)
    }

    fn slot(&self, key: &Key<'_>) -> Result<&slot::MetricSlot> {
        self.backing.find_or_claim(key).map_err(|_| {
            self.backing.dropped().fetch_add(1, Relaxed);
            Error::StoreFull {
                capacity: self.capacity(),
            }
        })
    }

    /// Counts one prediction of `model` answered by `outcome` (e.g. `model`, `cold_start`,
    /// `fallback`) that took `latency`. Labels are 1..=64 bytes; a full table is
    /// [`Error::StoreFull`] (and counted in `tenantml_telemetry_dropped_total`).
    pub fn record_prediction(&self, model: &str, outcome: &str, latency: Duration) -> Result<()> {
        check_label("model", model, false)?;
        check_label("outcome", outcome, false)?;
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.slot(&Key {
            family: Family::Prediction,
            model,
            label: outcome,
        })?
        .observe(ns);
        Ok(())
    }

    /// Sets the version of `model` in use (shown as `tenantml_model_version_in_use`).
    pub fn set_model_version(&self, model: &str, version: u64) -> Result<()> {
        self.set_gauge(Family::ModelVersion, model, "", version as f64)
    }

    /// Sets `tenantml_drift_score{model, feature}` to each feature's statistic and
    /// `tenantml_drift_detected{model}` to 1 if the dataset drifted, else 0.
    ///
    /// ```
    /// use ndarray::Array2;
    /// use tenantml::drift::{drift_report, DriftConfig, FeatureSchema};
    /// use tenantml::telemetry::{render_page, Telemetry};
    /// let reference = Array2::from_shape_fn((300, 1), |(i, _)| (i % 50) as f64);
    /// let current = Array2::from_shape_fn((300, 1), |(i, _)| (i % 50) as f64 + 40.0);
    /// let schema = FeatureSchema::numeric(vec!["amount".into()])?;
    /// let report = drift_report(reference.view(), current.view(), &schema, &DriftConfig::default())?;
    /// let metrics = Telemetry::in_process();
    /// metrics.record_drift("fraud-eu", &report)?;
    /// let page = render_page(&metrics, None)?;
    /// assert!(page.contains("tenantml_drift_detected{model=\"fraud-eu\"} 1"));
    /// assert!(page.contains("tenantml_drift_score{model=\"fraud-eu\",feature=\"amount\"} 0."));
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn record_drift(&self, model: &str, report: &DriftReport) -> Result<()> {
        check_label("model", model, false)?;
        for f in &report.features {
            check_label("feature name", &f.name, false)?;
        }
        for f in &report.features {
            self.set_gauge(Family::DriftScore, model, &f.name, f.statistic)?;
        }
        let detected = if report.dataset_drift { 1.0 } else { 0.0 };
        self.set_gauge(Family::DriftDetected, model, "", detected)
    }

    fn set_gauge(&self, family: Family, model: &str, label: &str, value: f64) -> Result<()> {
        check_label("model", model, false)?;
        self.slot(&Key {
            family,
            model,
            label,
        })?
        .set_gauge(value);
        Ok(())
    }

    /// The infallible path the prediction code uses: over-long labels are cut at a
    /// character boundary, and a full table counts a drop instead of failing a prediction.
    #[inline]
    pub(crate) fn observe_prediction(&self, model: &str, outcome: &str, latency_ns: u64) {
        let key = Key {
            family: Family::Prediction,
            model: clip(model),
            label: clip(outcome),
        };
        match self.backing.find_or_claim(&key) {
            Ok(slot) => slot.observe(latency_ns),
            Err(_) => {
                self.backing.dropped().fetch_add(1, Relaxed);
            }
        }
    }
}

fn clip(label: &str) -> &str {
    if label.len() <= MAX_LABEL_LEN {
        return label;
    }
    let mut end = MAX_LABEL_LEN;
    while !label.is_char_boundary(end) {
        end -= 1;
    }
    &label[..end]
}

static INSTALLED: AtomicPtr<Telemetry> = AtomicPtr::new(std::ptr::null_mut());
static DEFAULT: OnceLock<Telemetry> = OnceLock::new();
/// Every recorder ever installed: replaced ones stay reachable (and alive) here.
static INSTALLING: Mutex<Vec<&'static Telemetry>> = Mutex::new(Vec::new());

/// The process-global recorder the prediction paths write to: the last one
/// [`install`]ed, else an in-process store made on first use.
#[inline]
pub fn global() -> &'static Telemetry {
    let installed = INSTALLED.load(Acquire);
    if installed.is_null() {
        DEFAULT.get_or_init(Telemetry::in_process)
    } else {
        // SAFETY: installed pointers come from Box::leak and are never freed.
        unsafe { &*installed }
    }
}

/// Makes `telemetry` the process-global recorder. A replaced recorder stays alive (other
/// threads may still be recording into it), so install once per process, not per request.
pub fn install(telemetry: Telemetry) -> &'static Telemetry {
    let mut installed = INSTALLING.lock().unwrap_or_else(|p| p.into_inner());
    let leaked: &'static Telemetry = Box::leak(Box::new(telemetry));
    installed.push(leaked);
    INSTALLED.store(leaked as *const Telemetry as *mut Telemetry, Release);
    leaked
}

/// Opens the shared file and installs it as the global recorder, unless the global
/// recorder already maps that path (then it is kept: PHP workers call this on every
/// request, and each call must not map the file again).
pub fn install_shared(options: &TelemetryOptions) -> Result<&'static Telemetry> {
    {
        let _guard = INSTALLING.lock().unwrap_or_else(|p| p.into_inner());
        let current = global();
        if current.path() == Some(options.path.as_path()) {
            return Ok(current);
        }
    }
    Ok(install(Telemetry::shared(options)?))
}

/// Records one prediction into the global recorder; `started` is when it began. The hook
/// of the forecast, fraud and churn paths.
#[inline]
pub(crate) fn record_since(model: &str, outcome: &str, started: Instant) {
    let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    global().observe_prediction(model, outcome, ns);
}

/// The model label of a predictor: its metadata name, else the capability's name.
#[inline]
pub(crate) fn model_label<'a>(name: Option<&'a str>, capability: &'a str) -> &'a str {
    match name {
        Some(n) if !n.is_empty() => n,
        _ => capability,
    }
}

/// The whole `/metrics` page: every series of `telemetry`, then every breaker of
/// `breakers` when given.
pub fn render_page(telemetry: &Telemetry, breakers: Option<&BreakerStore>) -> Result<String> {
    let mut page = render::render_metrics(
        &telemetry.backing.values()?,
        telemetry.backing.dropped().load(Relaxed),
    );
    if let Some(store) = breakers {
        page.push_str(&breaker_metrics(store)?);
    }
    Ok(page)
}

/// [`render_page`] of the [`global`] recorder.
pub fn metrics_page(breakers: Option<&BreakerStore>) -> Result<String> {
    render_page(global(), breakers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_refuses_new_series_and_counts_the_drop() {
        let t = Telemetry::with_capacity(2).unwrap();
        t.record_prediction("a", "model", Duration::ZERO).unwrap();
        t.set_model_version("a", 3).unwrap();
        let e = t
            .record_prediction("b", "model", Duration::ZERO)
            .unwrap_err();
        assert!(matches!(e, Error::StoreFull { capacity: 2 }), "{e}");
        t.observe_prediction("c", "model", 1);
        assert_eq!(t.dropped(), 2);
        // Existing series still record.
        t.record_prediction("a", "model", Duration::ZERO).unwrap();
        let page = render_page(&t, None).unwrap();
        assert!(
            page.contains("tenantml_telemetry_dropped_total 2\n"),
            "{page}"
        );
        assert!(page.contains("tenantml_predictions_total{model=\"a\",outcome=\"model\"} 2\n"));
    }

    #[test]
    fn bad_labels_are_refused_and_long_ones_clipped_on_the_hot_path() {
        let t = Telemetry::in_process();
        for (model, outcome) in [("", "model"), ("m", ""), ("m\0", "x")] {
            assert!(matches!(
                t.record_prediction(model, outcome, Duration::ZERO),
                Err(Error::InvalidArgument(_))
            ));
        }
        let long = "é".repeat(40);
        assert!(t.set_model_version(&long, 1).is_err());
        t.observe_prediction(&long, "model", 5);
        let page = render_page(&t, None).unwrap();
        assert!(
            page.contains(&format!("model=\"{}\"", "é".repeat(32))),
            "{page}"
        );
        assert_eq!(Telemetry::with_capacity(0).unwrap_err().code(), 1);
        assert!(Telemetry::with_capacity(MAX_CAPACITY + 1).is_err());
    }

    #[test]
    fn install_shared_keeps_a_recorder_that_maps_the_same_file() {
        let dir = std::env::temp_dir().join(format!("tml-tel-install-{}", std::process::id()));
        let options = TelemetryOptions::at(dir.join("m.shm"));
        let a = install_shared(&options).unwrap() as *const Telemetry;
        let b = install_shared(&options).unwrap() as *const Telemetry;
        assert_eq!(a, b);
        assert_eq!(global().path(), Some(options.path.as_path()));
        let _ = std::fs::remove_dir_all(dir);
    }
}
